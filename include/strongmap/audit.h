/*
 * strongmap/audit.h - the audit of a whole directory (docs/audit.md): each account that holds
 * a published certificate or an altSecurityIdentities value, as sm_dir_each_account() hands
 * them over, checked one at a time, with what only the whole walk can tell.
 *
 * For each account: its readiness (sm_account_status_of(); also per DC profile when there are
 * several), every published certificate's verdict, every altSecurityIdentities value linted,
 * and for each value:
 *   - duplicate: another account holds the same value (equal ignoring ASCII case, as the
 *     attribute's matching rule compares): the directory is asked which accounts hold it, and
 *     the record names them. The audit keeps 8 bytes per distinct value (a 63-bit hash and a
 *     flag "held by several accounts" in an open-addressing table, at most half full), never
 *     the values or the accounts. Every holder is flagged when the walk was first given to
 *     sm_audit_index() (a first pass: sm_dir_each_opts.values_only reads only the values);
 *     without it the first holder is audited before the duplicate is known and only later
 *     holders are flagged. A hash collision without a second holder is not reported (the
 *     directory, asked, names nobody);
 *   - stale: a certificate mapping that matches none of the account's certificates (published,
 *     and given: below), on Windows or on Samba; only for accounts with at least one (without
 *     one the audit knows nothing the value should match);
 *   - which DCs can match it: "both", "windows" (Samba ignores the value), "samba" (Windows
 *     never matches it) or "none"; and, with published certificates, whether one matches on
 *     each.
 *
 * Certificates may be given besides the published ones (sm_audit_add_certs(): a folder, a CA's
 * export), before the first account is audited. Each is matched to the account a DC would map
 * it to (the verdict's resolution: UPN, a computer's DNS name, an altSecurityIdentities value),
 * kept (its DER, bounded by SM_AUDIT_MAX_GIVEN_BYTES), and goes through the full verdict on
 * that account's record, where it counts as published ones do (sm_account_status_given()).
 * Accounts the walk does not give (one without a published certificate or a value, mapped by
 * its UPN) come from sm_audit_given_next() after it.
 *
 * A struct sm_audit is used by one thread. Records own their memory.
 */
#ifndef STRONGMAP_AUDIT_H
#define STRONGMAP_AUDIT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <strongmap/altsecid.h>
#include <strongmap/dir.h>
#include <strongmap/verdict.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SM_AUDIT_MAX_FIXES 8 /**< fixes a record lists at most */
#define SM_AUDIT_MAX_HOLDERS                                                                       \
    16 /**< holders of a duplicate value a record names (SM_MAX_ACCOUNTS) */

/** Which DCs can ever match a value, from the value alone. */
enum sm_audit_readers {
    SM_READERS_BOTH = 0, /**< "both" */
    SM_READERS_WINDOWS,  /**< "windows": Samba ignores it */
    SM_READERS_SAMBA,    /**< "samba": Windows never matches it */
    SM_READERS_NONE,     /**< "none": no certificate mapping (e.g. "Kerberos:...") or broken */
};

/** "both", "windows", "samba", "none". */
const char *sm_audit_readers_name(enum sm_audit_readers r);

/** The word for an error that kept an account from being audited: "directory_limit",
    "directory_unavailable", "directory_refused", "invalid", "out_of_memory" or "error". */
const char *sm_audit_error_name(int code);

/** One altSecurityIdentities value of an account, as the audit sees it. */
struct sm_audit_value {
    const struct sm_altsec *altsec; /**< parsed and linted (its findings) */
    enum sm_audit_readers readers;
    bool certs_known;           /**< the account has published certificates: the next two count */
    bool matches_windows;       /**< a published certificate matches it on Windows */
    bool matches_samba;         /**< ... on Samba */
    bool stale;                 /**< a certificate mapping that matches none of them */
    bool duplicate;             /**< another account holds it too (sm_audit_index()) */
    const char *const *holders; /**< with @duplicate: the other accounts' DNs */
    size_t n_holders;
};

/** One account audited. */
struct sm_audit_record {
    const struct sm_account_status *status; /**< every profile together; its last
                                                 status->n_given certificates are given ones */
    const char *const *given_sources;       /**< status->n_given: the source each came from */
    size_t n_given_skipped; /**< given for the account beyond the SM_MAX_GIVEN_CERTS evaluated
                                 (those with the latest notAfter) */
    /** with several profiles: the readiness for each alone (status->profiles' order) */
    enum sm_readiness profile_readiness[SM_MAX_PROFILES];
    size_t n_profiles;
    struct sm_audit_value *values; /**< one per status->altsec value */
    size_t n_values;
    size_t n_duplicates, n_stale, n_samba_only, n_windows_only;
    const char *fixes[SM_AUDIT_MAX_FIXES]; /**< what to do, most urgent first */
    size_t n_fixes;
};

/** Counts over the accounts audited so far. */
struct sm_audit_totals {
    uint64_t accounts, ready, at_risk, blocked, errors;
    uint64_t certificates, values;
    uint64_t duplicate_values, stale_values, samba_only_values, windows_only_values;
    uint64_t distinct_values;  /**< values the duplicate table holds */
    bool certs_given;          /**< sm_audit_add_certs() was called: the given_* count */
    uint64_t given;            /**< certificates given and read */
    uint64_t given_matched;    /**< ... that map to an account (kept for its record) */
    uint64_t given_unmatched;  /**< ... that map to none (or to one gone before its turn) */
    uint64_t given_repeated;   /**< ... given again for the same account (kept once) */
    uint64_t given_expired;    /**< ... expired at the evaluation time: left out */
    uint64_t given_unreadable; /**< inputs, or blocks of an input, that held no certificate */
};

struct sm_audit;

/** Settings of an audit. Profiles are copied; none: the engine's default. */
struct sm_audit_opts {
    const struct sm_profile *profiles;
    size_t n_profiles;
    time_t at; /**< evaluation time, 0: now */
};

/** A new audit (no account yet). 0, -EINVAL (too many profiles), -ENOMEM. */
int sm_audit_new(const struct sm_audit_opts *o, struct sm_audit **ret);

/** Free; NULL is fine. Returns NULL. */
struct sm_audit *sm_audit_free(struct sm_audit *au);

/**
 * The first pass: @acc's values (borrowed, read during the call only) into the set of values,
 * so that sm_audit_account() flags every holder of a value several accounts hold, the first
 * one too. Give it every account of the directory (sm_dir_each_account() with values_only;
 * those left out are not known to hold anything) before the first sm_audit_account(). 0,
 * -ENOMEM, -EINVAL (an account was audited already).
 */
int sm_audit_index(struct sm_audit *au, const struct sm_account *acc);

/**
 * Audit @acc (borrowed: it must outlive the record), looking up through @dir (not the handle
 * that walks the directory: strongmap/dir.h). The totals count it. 0, or -ENOMEM,
 * SM_E_DIR_DOWN, SM_E_DIR_REFUSED, SM_E_DIR_LIMIT, -EINVAL (reason in @reterr; the account
 * counts as an error in the totals).
 */
int sm_audit_account(struct sm_audit *au, struct sm_dir *dir, const struct sm_account *acc,
                     struct sm_audit_record **ret, struct sm_errinfo *reterr);

/** Free a record; NULL is fine. Returns NULL. */
struct sm_audit_record *sm_audit_record_free(struct sm_audit_record *rec);

#define SM_AUDIT_MAX_GIVEN       100000             /**< certificates given altogether */
#define SM_AUDIT_MAX_GIVEN_BYTES (64 * 1024 * 1024) /**< DER kept of those matching an account */

/** What sm_audit_add_certs() made of one input. */
struct sm_audit_certs_result {
    size_t certificates; /**< read */
    size_t expired;      /**< expired at the evaluation time: left out (no logon with them) */
    size_t matched;      /**< map to an account */
    size_t unmatched;    /**< map to none */
    size_t unreadable;   /**< blocks that held no certificate */
    struct sm_errinfo first_unreadable; /**< why the first of them is none (offset in the input) */
};

/**
 * Certificates given (the @len bytes at @buf: PEM, any number of blocks with any text around
 * them; or DER, base64 DER, a PKCS#7 bundle of at most SM_MAX_CERTS, read whole, at most
 * SM_MAX_INPUT bytes): each matched through @dir (the lookups' handle) to its account and kept
 * for that account's record. @source names the input on the records (a file's name; copied).
 * Before the first sm_audit_account().
 *
 * 0 when at least one certificate was read (blocks that held none counted in @res, which may
 * be NULL). The input is skipped, nothing kept, with SM_E_FORMAT, SM_E_CERT, SM_E_EMPTY,
 * SM_E_TOO_BIG or SM_E_TOO_MANY (reason in @reterr): the caller may go on with the next.
 * -E2BIG: SM_AUDIT_MAX_GIVEN or SM_AUDIT_MAX_GIVEN_BYTES would be passed (those before are
 * kept); -ENOMEM, SM_E_DIR_DOWN, SM_E_DIR_REFUSED; -EINVAL (NULL, or the audit has begun).
 */
int sm_audit_add_certs(struct sm_audit *au, struct sm_dir *dir, const void *buf, size_t len,
                       const char *source, struct sm_audit_certs_result *res,
                       struct sm_errinfo *reterr);

/**
 * After the walk: the next account that certificates were given for and that the walk did not
 * give, looked up by DN through @dir, into *@ret (the caller audits ret->v[0] and frees it). 1
 * with one, 0 when none is left; an account gone since is skipped (its certificates then count
 * as unmatched). Negative directory errors as sm_dir_lookup()'s.
 */
int sm_audit_given_next(struct sm_audit *au, struct sm_dir *dir, struct sm_accounts **ret,
                        struct sm_errinfo *reterr);

/** The totals so far into *@out. */
void sm_audit_totals(const struct sm_audit *au, struct sm_audit_totals *out);

/*
 * The JSON lines of an audit (docs/audit.md; openapi/strongmapd.yaml, AuditAccount and
 * AuditSummary): one object per account, one per account that could not be audited, and a
 * last line with the totals, "partial" true when the walk stopped early (@why: what stopped
 * it). SM_JSON_PRETTY indents; without it each document is one line. 0 or -ENOMEM.
 */
int sm_json_audit_record(const struct sm_audit_record *rec, unsigned flags, char **ret_json);
int sm_json_audit_error(const struct sm_account *acc, int code, const char *message, unsigned flags,
                        char **ret_json);
int sm_json_audit_summary(const struct sm_audit_totals *t, bool partial, const char *why,
                          unsigned flags, char **ret_json);

/*
 * The HTML report (lib/html_audit.c; docs/audit.md): one file, no external asset, readable
 * offline: the totals, charts as inline SVG (by status, reason, issuing CA, template, DC
 * profile), and a table with a row per account and its fix, which a small script sorts and
 * filters. The style and the script are fixed, allowed by their SHA-256 in the file's
 * Content-Security-Policy (a meta element; sm_audit_html_csp() gives the same policy for a
 * server's header). Every text from the directory or a certificate is escaped.
 *
 * Rows are written as the accounts come, to a sink of the caller's (a temporary file, say),
 * and counted for the charts; once the walk is done (or stopped), sm_audit_html_head() writes
 * the document up to the table's rows, the caller copies the rows after it, and
 * sm_audit_html_tail() ends it. A report is used by one thread.
 */

/** Where text goes: 0, or a negative code that stops the writing and is returned. */
typedef int (*sm_audit_sink)(void *ctx, const void *p, size_t len);

struct sm_audit_html_opts {
    const char *title;                 /**< NULL: "Certificate logon audit" */
    const char *source;                /**< the directory as the report names it, or NULL */
    const struct sm_profile *profiles; /**< as given to the audit (none: its default) */
    size_t n_profiles;
    time_t at;        /**< the evaluation time (0: @generated) */
    time_t generated; /**< when the report is written (0: now) */
};

struct sm_audit_html;

/** A new report (strings copied). 0, -EINVAL, -ENOMEM. */
int sm_audit_html_new(const struct sm_audit_html_opts *o, struct sm_audit_html **ret);
struct sm_audit_html *sm_audit_html_free(struct sm_audit_html *h);

/** One account's row to @rows, and into the charts. 0, -ENOMEM, or the sink's code. */
int sm_audit_html_record(struct sm_audit_html *h, const struct sm_audit_record *rec,
                         sm_audit_sink rows, void *ctx);
/** The row of an account that could not be audited (sm_json_audit_error()'s). */
int sm_audit_html_error(struct sm_audit_html *h, const struct sm_account *acc, int code,
                        const char *message, sm_audit_sink rows, void *ctx);

/** The document up to the rows: the totals @t, the charts, the table's head; @partial with
    @why (what stopped the walk) says so at the top. 0, -ENOMEM, -EINVAL, the sink's code. */
int sm_audit_html_head(struct sm_audit_html *h, const struct sm_audit_totals *t, bool partial,
                       const char *why, sm_audit_sink sink, void *ctx);
/** The document after the rows: the table's end and the script. */
int sm_audit_html_tail(struct sm_audit_html *h, sm_audit_sink sink, void *ctx);

/** The report's Content-Security-Policy (its script's and style's hashes) into @buf, for a
    server that sends the file. 0, or -ENOSPC when @size is short (256 bytes will do). */
int sm_audit_html_csp(char *buf, size_t size);

/*
 * The whole audit (lib/audit_walk.c), what `strongmap audit` and strongmapd's POST /v1/audits
 * both run: two passes over the directory through one handle (sm_dir_each_account()), the
 * values alone into the set (sm_audit_index()), then each account (--since applied) audited
 * through a second handle (sm_audit_account()); then the accounts certificates were given for
 * that the walk did not give (sm_audit_given_next(), --since applied). Each account's outcome
 * goes to the caller's @line as it comes; @tick, called before each account and at the start
 * of each pass, reports progress and may stop the walk (a signal, a cancellation, a deadline).
 */
enum sm_audit_phase {
    SM_AUDIT_INDEXING = 0, /**< the first pass: the values */
    SM_AUDIT_AUDITING,     /**< the second pass: each account audited */
    SM_AUDIT_GIVEN,        /**< after the walk: the accounts certificates were given for */
};

/** How far a walk is. */
struct sm_audit_progress {
    enum sm_audit_phase phase;
    uint64_t indexed;   /**< accounts the first pass read */
    uint64_t total;     /**< accounts the second pass audits (--since applied), final once the
                             first pass is done unless @total_partial; the accounts certificates
                             were given for come on top (@lines may pass it) */
    bool total_partial; /**< over LDAP the first pass reads only the accounts holding
                             altSecurityIdentities values (an index answers it): until the second
                             pass is done, @total counts those alone and the accounts with
                             certificates only come on top; then it is exact and this false */
    uint64_t lines;     /**< accounts handed to @line: audited, or not (errors) */
    int worst;          /**< the worst readiness of an audited account (enum sm_readiness), -1:
                             none yet */

    /* the second pass's total estimated while it is partial (sm_audit_estimated_total()) */
    uint64_t holders;      /**< accounts the first pass read that hold altSecurityIdentities values
                                (--since applied): the second pass gives each of them again */
    uint64_t holders_seen; /**< of those, the ones the second pass handed to @line so far */
};

/**
 * The second pass's total estimated while @p's total is partial (over LDAP): the share of the
 * value holders already audited (@holders_seen of @holders) taken as the share of the pass
 * done, assuming holders are spread evenly among the accounts walked: @lines * @holders /
 * @holders_seen, at least @lines. 0 when there is none: the total is exact (not partial), not
 * in the second pass, no holder to go by, or fewer than 1% of them seen yet.
 */
uint64_t sm_audit_estimated_total(const struct sm_audit_progress *p);

/** One account's outcome: @rec (borrowed, valid during the call), or NULL with @code (< 0)
    and @message (may be empty) when the account could not be audited (the walk goes on). 0, or
    a negative code that stops the walk: sm_audit_walk() returns it. */
typedef int (*sm_audit_line_fn)(void *ctx, const struct sm_account *acc,
                                const struct sm_audit_record *rec, int code, const char *message);
/** Before each account and at the start of each pass: 0 to go on, or a negative code that
    stops the walk (sm_audit_walk() returns it). */
typedef int (*sm_audit_tick_fn)(void *ctx, const struct sm_audit_progress *p);

struct sm_audit_walk_opts {
    time_t since;          /**< audit only accounts whose whenChanged is later (0: every one);
                                the first pass reads every account's values all the same */
    unsigned page_size;    /**< LDAP entries per page, 1..SM_DIR_PAGE_MAX (0: the default) */
    sm_audit_line_fn line; /**< required */
    sm_audit_tick_fn tick; /**< may be NULL */
    void *ctx;             /**< theirs */
};

/**
 * Run the audit @au (new: nothing indexed or audited yet; certificates may have been given)
 * over @walk, looking up through @lookups (for LDAP another handle than @walk: strongmap/dir.h;
 * an LDIF handle may be both). The progress at the end into *@ret (may be NULL). 0 when every
 * account was handed to @line; @line's or @tick's own negative code when one stopped it;
 * SM_E_DIR_DOWN, SM_E_DIR_REFUSED, -ENOMEM or -EINVAL, the reason in @reterr, when the
 * directory stopped it (the walk's handle, or the lookups' failing in a way every account
 * would: unavailable, refused, out of memory). Whatever stopped it, every account handed to
 * @line before is whole: a partial report.
 */
int sm_audit_walk(struct sm_audit *au, struct sm_dir *walk, struct sm_dir *lookups,
                  const struct sm_audit_walk_opts *o, struct sm_audit_progress *ret,
                  struct sm_errinfo *reterr);

/*
 * A report of an audit in one format (lib/audit_report.c; docs/audit.md): JSON lines (the
 * sm_json_audit_*() documents, one a line), CSV (RFC 4180: a header, a row per account, a last
 * line "# complete: ..." or "# partial, stopped by WHY: ..."), or the HTML report
 * (sm_audit_html_*()). Lines go to the caller's sink as they come; the HTML report's rows
 * wait in the caller's store until the totals are known (its head comes first): @rows writes
 * to it, and @replay copies what it holds to the sink it is given. A report is used by one
 * thread.
 */
enum sm_audit_format {
    SM_AUDIT_JSONL = 0, /**< "jsonl" */
    SM_AUDIT_CSV,       /**< "csv" */
    SM_AUDIT_HTML,      /**< "html" */
    SM_AUDIT__FORMATS
};

/** "jsonl", "csv", "html"; NULL for anything else. */
const char *sm_audit_format_name(enum sm_audit_format f);
/** The format named @name ("jsonl", "csv", "html"). 0, or -EINVAL. */
int sm_audit_format_parse(const char *name, enum sm_audit_format *ret);

struct sm_audit_report_opts {
    enum sm_audit_format format;
    sm_audit_sink out; /**< the report */
    void *out_ctx;
    /** HTML only: where the rows wait (both required), and the report's settings */
    sm_audit_sink rows;
    void *rows_ctx;
    int (*replay)(void *rows_ctx, sm_audit_sink sink, void *sink_ctx);
    const struct sm_audit_html_opts *html; /**< NULL: the defaults */
};

struct sm_audit_report;

/** A new report (CSV: its header written). 0, -EINVAL (a sink missing), -ENOMEM or the sink's
    code. */
int sm_audit_report_new(const struct sm_audit_report_opts *o, struct sm_audit_report **ret);
struct sm_audit_report *sm_audit_report_free(struct sm_audit_report *r);

/** One account's line (an sm_audit_line_fn's arguments). 0, -ENOMEM or the sink's code. */
int sm_audit_report_line(struct sm_audit_report *r, const struct sm_account *acc,
                         const struct sm_audit_record *rec, int code, const char *message);

/** The end: the totals @t, complete (@why NULL) or partial, stopped by @why ("SIGINT",
    "directory", ...). HTML: the head, the rows replayed, the tail. 0, -ENOMEM or the first
    sink's or @replay's code. */
int sm_audit_report_end(struct sm_audit_report *r, const struct sm_audit_totals *t,
                        const char *why);

#ifdef __cplusplus
}
#endif

#endif

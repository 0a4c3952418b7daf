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
 *   - stale: a certificate mapping that matches none of the account's published certificates,
 *     on Windows or on Samba; only for accounts with at least one published certificate (the
 *     audit knows no other);
 *   - which DCs can match it: "both", "windows" (Samba ignores the value), "samba" (Windows
 *     never matches it) or "none"; and, with published certificates, whether one matches on
 *     each.
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
    const struct sm_account_status *status; /**< every profile together */
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
    uint64_t distinct_values; /**< values the duplicate table holds */
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

#ifdef __cplusplus
}
#endif

#endif

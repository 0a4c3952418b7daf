/*
 * strongmap/events.h - the KDC event explainer: the events a Windows domain controller logs for
 * certificate logons (source Microsoft-Windows-Kerberos-Key-Distribution-Center, System log),
 * read from what Windows exports, and explained (docs/explain.md).
 *
 *   39  a weak mapping only (KB5014754)            40  as 39, certificate older than the account
 *   41  the certificate's SID is another account's  45  issuer not in NTAuth, audit (KB5057784)
 *   21  the client certificate is not valid (KB5057784 enforced: issuer not in NTAuth)
 *
 * Input: the XML of `wevtutil qe System /f:xml` or `Get-WinEvent ... | % ToXml()` (a sequence
 * of <Event> elements, or one root around them; UTF-8, or UTF-16 with a byte order mark), or the
 * text Event Viewer copies ("Copy details as text", or the message alone). Events of other IDs
 * or sources are counted and skipped. XML is read by expat with no DTD: a DOCTYPE is refused.
 *
 * Ownership: sm_kdc_events_parse() returns a result that owns every string of its events;
 * sm_events_explain() returns a result that owns its explanations and the accounts it read, and
 * borrows the events it explains: free the explanation first, then the events.
 */
#ifndef STRONGMAP_EVENTS_H
#define STRONGMAP_EVENTS_H

#include <strongmap/common.h>
#include <strongmap/dir.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SM_MAX_KDC_INPUT  (8 * 1024 * 1024) /**< bytes of one input (UTF-16: before decoding) */
#define SM_MAX_KDC_EVENTS 4096              /**< KDC events kept from one input */
#define SM_MAX_KDC_FIELD  2048              /**< bytes of one field's value */
#define SM_MAX_KDC_DEPTH  16                /**< XML element nesting, the added root included */

/** How the input was written. */
enum sm_events_format {
    SM_EVENTS_XML = 0, /**< <Event> elements */
    SM_EVENTS_TEXT,    /**< Event Viewer's text */
};

/**
 * One event, its fields as the DC printed them (trimmed; NULL when the event does not carry the
 * field). Strings are owned by the sm_kdc_events result.
 */
struct sm_kdc_event {
    unsigned id;            /**< 21, 39, 40, 41 or 45 */
    const char *level;      /**< "error", "warning", "information", or NULL when not given */
    const char *time;       /**< when it was logged, as the export writes it, or NULL */
    const char *computer;   /**< the DC that logged it, or NULL */
    const char *user;       /**< User (39, 40, 41, 45) or Username (21) */
    const char *domain;     /**< Domain (21) */
    const char *subject;    /**< Certificate Subject */
    const char *issuer;     /**< Certificate Issuer, display form (or a bare name) */
    const char *serial;     /**< Certificate Serial Number, big-endian hex */
    const char *thumbprint; /**< Certificate Thumbprint (SHA-1 of the certificate) */
    const char *issued;     /**< Certificate Issuance Time (40) */
    const char *created;    /**< Account Creation Time (40) */
    const char *user_sid;   /**< the account's SID (41) */
    const char *cert_sid;   /**< the certificate's SID (41) */
    const char *status;     /**< the chain status (21) */
    long offset;            /**< byte of the input where the event starts (after decoding) */
    unsigned line;          /**< line of the input where it starts (1-based) */
};

/** Result of sm_kdc_events_parse(). */
struct sm_kdc_events {
    const struct sm_kdc_event *v;
    size_t n;
    size_t skipped; /**< events of other IDs or sources */
    enum sm_events_format format;
};

/**
 * Read the KDC events of @len bytes of @input. 0 with (*ret)->n == 0 when the input holds
 * none. Errors, with the place in @reterr: SM_E_EMPTY, SM_E_TOO_BIG (over SM_MAX_KDC_INPUT,
 * or a field over SM_MAX_KDC_FIELD), SM_E_TOO_MANY (over SM_MAX_KDC_EVENTS), SM_E_UTF8,
 * SM_E_XML (not well-formed XML, or nested deeper than SM_MAX_KDC_DEPTH), SM_E_XML_DTD (a
 * DOCTYPE or entity declaration), -ENOMEM. Free with sm_kdc_events_free().
 */
int sm_kdc_events_parse(const char *input, size_t len, struct sm_kdc_events **ret,
                        struct sm_errinfo *reterr);

/** Free a result; NULL is fine. Returns NULL. */
struct sm_kdc_events *sm_kdc_events_free(struct sm_kdc_events *ev);

/** "xml" or "text". */
const char *sm_events_format_name(enum sm_events_format f);

/** What the directory said about the event's account. */
enum sm_explain_lookup {
    SM_EXPLAIN_NO_DIRECTORY = 0, /**< no directory was given */
    SM_EXPLAIN_FOUND,            /**< one account */
    SM_EXPLAIN_NOT_FOUND,        /**< no account of that name */
    SM_EXPLAIN_AMBIGUOUS,        /**< several accounts answer to the name */
    SM_EXPLAIN_REFUSED,          /**< the name was refused (a DN outside the base, bad text) */
    SM_EXPLAIN_OVER_LIMIT,       /**< not looked up: the input names more accounts than the
                                      caller's max_lookups */
};

/** "no_directory", "found", "not_found", "ambiguous", "refused", "over_limit". */
const char *sm_explain_lookup_name(enum sm_explain_lookup l);

/** One event explained. Strings are owned by the sm_events_explanation result. */
struct sm_event_explanation {
    const struct sm_kdc_event *event; /**< borrowed from the parsed events */
    const char *code;    /**< stable: weak_mapping, predates_account, sid_mismatch, ntauth_audit,
                              certificate_not_valid */
    const char *summary; /**< one line */
    const char *why;     /**< why the DC logged it and what it did, in words */
    /* The certificate identity in altSecurityIdentities form (NULL when the event lacks it). */
    const char *issuer_ad;       /**< the issuer in encoding order */
    const char *serial_reversed; /**< the serial's bytes reversed, sign byte kept */
    const char *issuer_serial;   /**< X509:<I>issuer<SR>serial (X509IssuerSerialNumber) */
    const char *sha1_pukey;      /**< X509:<SHA1-PUKEY>thumbprint (X509SHA1PublicKey) */
    bool from_certificate;       /**< taken from the account's published certificate (same
                                      thumbprint), not rebuilt from the event's text */
    /* The account. */
    enum sm_explain_lookup lookup;
    const struct sm_account *account; /**< when lookup == SM_EXPLAIN_FOUND */
    const char *holds;     /**< a strong value the account already holds for this certificate */
    const char *sid_owner; /**< 41: the DN of the account the certificate's SID names, or NULL */
    /* The fix. */
    const char *fix;             /**< what to do, in words */
    const char *fix_value;       /**< the strong altSecurityIdentities value to add, or NULL */
    const char *fix_command;     /**< the PowerShell that adds it, or NULL */
    const char *reissue;         /**< the lasting fix: how to re-issue, or NULL */
    struct sm_findings findings; /**< notes: sign byte added, issuer known by name only, ... */
    const char *account_key;     /**< the group it is in: the account's DN, or the name given */
    const char *ca_key;          /**< the issuing CA's group: issuer_ad, or the issuer given */
};

/** Events that share an account or an issuing CA (indexes into the explanations). */
struct sm_event_group {
    const char *key;
    const size_t *events;
    size_t n;
};

/** Result of sm_events_explain(). */
struct sm_events_explanation {
    const struct sm_event_explanation *v;
    size_t n;
    const struct sm_event_group *by_account; /**< in order of first appearance */
    size_t n_accounts;
    const struct sm_event_group *by_ca;
    size_t n_cas;
    size_t skipped;        /**< copied from the events */
    const char *directory; /**< sm_dir_kind(), or NULL without a directory */
    bool ntauth_read;      /**< the NTAuth store was read (needed for 21 and 45) */
};

/**
 * Explain @ev. @dir may be NULL: no account is looked up and the fixes say less. Each distinct
 * name (an event's account, a 41's certificate SID) is looked up once, and at most
 * @max_lookups names in all (0: no limit); the events past it are explained without their
 * account (lookup SM_EXPLAIN_OVER_LIMIT, with a note), so that one input cannot make a server
 * ask the directory thousands of times. Errors: SM_E_DIR_DOWN, SM_E_DIR_REFUSED (the directory
 * failed, with its reason in @reterr), -ENOMEM. Free with sm_events_explanation_free(), before
 * @ev.
 */
int sm_events_explain(struct sm_dir *dir, const struct sm_kdc_events *ev, size_t max_lookups,
                      struct sm_events_explanation **ret, struct sm_errinfo *reterr);

/** Free; NULL is fine. Returns NULL. */
struct sm_events_explanation *sm_events_explanation_free(struct sm_events_explanation *x);

/** The explanation as JSON (free() it): {"events": [...], "by_account": [...], "by_ca": [...]}. */
int sm_json_events(const struct sm_events_explanation *x, unsigned flags, char **ret_json);

#ifdef __cplusplus
}
#endif

#endif

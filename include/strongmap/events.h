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

#ifdef __cplusplus
}
#endif

#endif

/*
 * strongmap/altsecid.h - altSecurityIdentities: parse, match, lint (docs/mapping-rules.md 2.4).
 */
#ifndef STRONGMAP_ALTSECID_H
#define STRONGMAP_ALTSECID_H

#include <strongmap/cert.h>
#include <strongmap/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What a stored value is. */
enum sm_altsec_kind {
    SM_ALTSEC_MAPPING = 0,  /**< one of the seven certificate mapping types (see .type) */
    SM_ALTSEC_NOT_X509 = 1, /**< e.g. "Kerberos:user@REALM": not a certificate mapping */
    SM_ALTSEC_INVALID = 2,  /**< starts with X509: but never matches on Windows */
};

/** A parsed altSecurityIdentities value. Strings are owned by the object. */
struct sm_altsec {
    const char *value; /**< the value as given */
    enum sm_altsec_kind kind;
    enum sm_map_type type;      /**< valid when kind == SM_ALTSEC_MAPPING */
    bool strong;                /**< type is strong (and kind == MAPPING) */
    const char *invalid_reason; /**< when kind == SM_ALTSEC_INVALID */
    bool samba_may_match;       /**< Samba can match it although Windows never does (<I><S><SR>) */
    bool samba_strong; /**< Samba 4.24 reads it as strong: <SKI>, <SHA1-PUKEY> or <I>+<SR> */
    /* Fields as written, NULL when the tag is absent. */
    const char *issuer;          /**< <I> */
    const char *subject;         /**< <S> */
    const char *serial;          /**< <SR> */
    const char *ski;             /**< <SKI> */
    const char *sha1;            /**< <SHA1-PUKEY> */
    const char *sid;             /**< <SID> */
    const char *rfc822;          /**< <RFC822> */
    struct sm_findings findings; /**< filled by sm_altsec_lint() (and by parse for syntax) */
};

/**
 * Parse one stored value of @len bytes. Syntax problems do not fail the call: they classify the
 * value as SM_ALTSEC_INVALID with a reason. Fails only with -ENOMEM, SM_E_TOO_BIG (over
 * SM_MAX_ALTSEC_VALUE), SM_E_EMPTY or SM_E_UTF8 (text not UTF-8), reason in @reterr.
 * Free with sm_altsec_free().
 */
int sm_altsec_parse(const char *value, size_t len, struct sm_altsec **ret,
                    struct sm_errinfo *reterr);

/** Free a value; NULL is fine. Always returns NULL. */
struct sm_altsec *sm_altsec_free(struct sm_altsec *v);

/**
 * True when a Windows DC would map @cert through @v: the value equals, ignoring case, one of
 * the strings the KDC builds from the certificate.
 */
bool sm_altsec_matches(const struct sm_altsec *v, const struct sm_cert *cert);

/** Same for Samba 4.24's rules (docs/mapping-rules.md 3). */
bool sm_altsec_matches_samba(const struct sm_altsec *v, const struct sm_cert *cert);

/**
 * Lint @n values together: never-matching forms, display-order issuers, ", "
 * separators, unreversed serials, sign-byte errors, SHA1-PUKEY over the key, SKI mismatch,
 * duplicates. When @cert is given (may be NULL) each finding names the corrected value, and a
 * value that matches is reported as such. Findings are added to each value's list (linting
 * again replaces what an earlier lint added). @values must come from sm_altsec_parse().
 * Returns 0, -ENOMEM, or -E2BIG when @n exceeds SM_MAX_ALTSEC_LIST.
 */
int sm_altsec_lint(struct sm_altsec *const *values, size_t n, const struct sm_cert *cert);

#ifdef __cplusplus
}
#endif

#endif

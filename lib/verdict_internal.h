/*
 * lib/verdict_internal.h - what the parts of the verdict engine share: lib/profile.c (DC
 * profiles and update levels), lib/ntauth.c (the forest's NTAuth store), lib/verdict.c (the
 * decision), lib/remediation.c (the fix) and lib/status.c (account status).
 */
#ifndef SM_LIB_VERDICT_INTERNAL_H
#define SM_LIB_VERDICT_INTERNAL_H

#include <strongmap/verdict.h>

#include "dir_internal.h"
#include "util.h"

/* ---- lib/profile.c ---- */

/** A profile with every default resolved for one evaluation time. */
struct profile_eval {
    struct sm_profile p; /**< mode, backdating_s, update and ntauth_bypass (the phase) resolved */
    bool update_given;   /**< the update level was given, not taken from the evaluation time */
    bool san_uri_sid;    /**< the DC reads the SAN URI SID */
    bool issuer_sid;     /**< the DC honours X509IssuerSID */
    bool compat_whatif;  /**< compatibility mode evaluated: only a DC without the 2025-09-09
                              update runs it */
    bool compat_ignored; /**< mode 1 asked of a DC whose update level no longer reads it */
    bool ntauth_value_ignored; /**< AllowNtAuthPolicyBypass given but not read at that level */
};

/** @t's day as "YYYY-MM-DD" in @buf (@size bytes, 11 or more). Returns @buf. */
char *profile_day(time_t t, char *buf, size_t size);

/** Resolve @in's defaults for evaluation time @at. 0 or -EINVAL (reason in @reterr). */
int profile_resolve(const struct sm_profile *in, time_t at, struct profile_eval *out,
                    struct sm_errinfo *reterr);

/* ---- lib/ntauth.c ---- */

enum ntauth_state {
    NTAUTH_UNKNOWN = -1, /**< the store could not be read */
    NTAUTH_ABSENT = 0,   /**< the issuing CA is not in the store */
    NTAUTH_PRESENT = 1,
    NTAUTH_FORGED = 2, /**< the store holds CAs of the issuer's name, and none of them signed it */
};

/**
 * Before a verdict's lookups: should the NTAuth store be read along with the first of them
 * that reaches the directory (@along->want_store)? Yes when @dir keeps no store, or one older
 * than its TTL, or one without @cert's issuer (@cert NULL: not known yet). 0 or -ENOMEM.
 */
int ntauth_prepare(struct sm_dir *dir, const struct sm_cert *cert, struct dir_along *along);

/** After each lookup: keep the store it read along (@along->store, freed). 0 or -ENOMEM. */
int ntauth_keep(struct sm_dir *dir, struct dir_along *along);

/**
 * Is @cert's issuing CA in @dir's NTAuth store, and did it sign @cert? Answered from the store
 * read along with the verdict's lookups (@along), else from the store @dir keeps while younger
 * than its TTL (a miss only when the verdict reached the directory for nothing), else from one
 * read now. 0 with the answer in *@ret (NTAUTH_UNKNOWN when the directory cannot give the
 * store, or holds none; NTAUTH_FORGED when CAs of the issuer's name are there and none signed
 * @cert) and what the signature check found in *@sig, or -ENOMEM.
 */
int ntauth_check(struct sm_dir *dir, const struct sm_cert *cert, const struct dir_along *along,
                 enum ntauth_state *ret, enum sm_issuer_sig *sig);

/* ---- lib/sigmemo.c ---- */

/** sm_cert_signed_by(), its answers (yes or no) remembered by the two certificates' SHA-256. */
int vx_signed_by(const struct sm_cert *cert, const struct sm_cert *ca);

/** Does @ca have @cert's issuer's name, and its key identifier when both have one? */
bool vx_names_issuer(const struct sm_cert *ca, const struct sm_cert *cert);

/**
 * Which of the @n CAs @cas of @cert's issuer's name (vx_names_issuer()) signed @cert
 * (vx_signed_by())? *@sig: SM_ISSUER_SIG_VALID when one did; SM_ISSUER_SIG_NOT_CHECKED when none
 * has that name; SM_ISSUER_SIG_UNSUPPORTED when none did and one could not be told (an
 * algorithm or a key not supported); SM_ISSUER_SIG_INVALID when each one could be told and none
 * did. 0, or -ENOMEM.
 */
int vx_issuer_signed(const struct sm_cert *cert, const struct sm_cert *cas, size_t n,
                     enum sm_issuer_sig *sig);

/* ---- lib/remediation.c ---- */

/**
 * @s as one PowerShell single-quoted string: ' and the typographic quotes U+2018..U+201B are
 * doubled (PowerShell treats all five alike inside single quotes; nothing else is special
 * there), the whole wrapped in '...'. Allocated in @a; NULL on OOM.
 */
const char *ps_quote(struct arena *a, const char *s);

/** Fill @v's remediation (texts allocated in @a). 0 or -ENOMEM. */
int remediate(struct sm_verdict *v, struct arena *a);

/* ---- the evaluation (lib/verdict.c, lib/resolve.c, lib/verdict_windows.c, verdict_samba.c) ----
 */

/* Kerberos errors (RFC 4120, RFC 4556) */
#define KDC_ERR_C_PRINCIPAL_UNKNOWN      6
#define KDC_ERR_CLIENT_REVOKED           18
#define KRB_AP_ERR_BAD_INTEGRITY         31
#define KRB_ERR_GENERIC                  60
#define KDC_ERR_CLIENT_NOT_TRUSTED       62
#define KDC_ERR_CERTIFICATE_MISMATCH     66
#define KDC_ERR_INVALID_CERTIFICATE      71
#define KDC_ERR_CLIENT_NAME_MISMATCH     75
#define KDC_ERR_INCONSISTENT_KEY_PURPOSE 77

/* How the certificate's first UPN SAN relates to the account. */
enum upn_form {
    UPN_NONE = 0, /* no UPN SAN */
    UPN_EXPLICIT, /* equals userPrincipalName */
    UPN_IMPLICIT, /* equals sAMAccountName@<the account's DNS domain> */
    UPN_OTHER,    /* names something else */
};

struct verdict_impl {
    struct sm_verdict pub;
    struct arena *a;
    struct sm_keycred *keycred[SM_MAX_KEYCREDS];
    struct sm_verdict_keycred keycreds[SM_MAX_KEYCREDS];
    struct sm_accounts *owned[SM_MAX_VERDICT_LOOKUPS];
    size_t n_owned;
    struct sm_certs *owned_certs; /* a published certificate, when the input had none */
    struct sm_profile_outcome outcomes[SM_MAX_PROFILES];
};

struct ctx {
    struct verdict_impl *v;
    struct arena *a;
    struct sm_dir *dir;
    const struct sm_cert *cert;
    time_t at;
    struct sm_altsec *altsec[SM_MAX_ALTSEC]; /* the account's values, parsed, attribute order */
    size_t n_altsec;
    /* facts the same for every profile */
    const char *upn;        /* the certificate's first UPN SAN, or NULL */
    size_t n_upn;           /* UPN SANs in the certificate */
    enum upn_form upn_form; /* for the resolved account */
    const char *dns;        /* the certificate's first DNS SAN, or NULL */
    bool dns_match;         /* first label + "$" = sAMAccountName, rest = the account's domain */
    const char *acc_domain; /* the account's DNS domain (its DN's DC= parts), or NULL */
    bool keytrust_windows;  /* an NGC key credential holds the certificate's public key */
    bool keytrust_samba;    /* ... one Samba's KDC loads */
    int samba_anchored;     /* the issuer is among Samba's pkinit_anchors: 1, 0, -1 not known */
    bool samba_forged;      /* 0 because the anchors of the issuer's name did not sign it */
    /* issuer_first() (lib/verdict.c) checked the issuer before the lookups: what it found */
    bool gated, gate_ntauth, gate_samba;
    enum sm_issuer_sig gate_ws, gate_ss;
    enum ntauth_state ntauth;
    struct dir_along along; /* the NTAuth store, read along with the lookups (lib/ntauth.c) */
    bool redact; /* name no account attribute in any text (sm_verdict_input.redact_account) */
    int err;
};

enum sid_state { SID_NONE = 0, SID_MATCH, SID_MISMATCH, SID_MALFORMED };

/* lib/verdict.c: the outcome's building blocks */
const char *vx_who(const struct ctx *x, const struct sm_account *a);
void vx_reason(struct ctx *x, struct sm_reason *list, size_t *n, const char *code, const char *fmt,
               ...) SM_PRINTF(5, 6);
/* A text in the verdict's arena; NULL (and x->err set) when out of memory. */
const char *vx_printf(struct ctx *x, const char *fmt, ...) SM_PRINTF(2, 3);
#define OUT_REASON(x, o, code, ...)                                                                \
    vx_reason((x), (o)->reasons, &(o)->n_reasons, (code), __VA_ARGS__)
#define REQ_REASON(x, code, ...)                                                                   \
    vx_reason((x), (x)->v->pub.reasons, &(x)->v->pub.n_reasons, (code), __VA_ARGS__)
void vx_path(struct sm_profile_outcome *o, const char *method, enum sm_strength strength,
             enum sm_path_result result, const char *detail);
void vx_deny(struct sm_profile_outcome *o, int code);
void vx_event(struct sm_profile_outcome *o, int id, const char *level, const char *text);
enum sid_state vx_read_sid(struct ctx *x, const struct profile_eval *pe,
                           struct sm_profile_outcome *o, const struct sm_sid_carrier **ret,
                           const char **method);
void vx_sid_mismatch_reason(struct ctx *x, struct sm_profile_outcome *o,
                            const struct sm_sid_carrier *sid, bool samba);
/* The reason issuer_not_in_ntauth (a DC takes logon only from the CAs of the NTAuth store). */
void vx_not_in_ntauth_reason(struct ctx *x, struct sm_profile_outcome *o);
void vx_key_trust_paths(struct ctx *x, struct sm_profile_outcome *o, bool samba);

/* lib/resolve.c: the account, and the facts every profile shares */
bool vx_budget(struct ctx *x);
int vx_lookup(struct ctx *x, enum sm_lookup how, const char *name, const struct sm_accounts **ret,
              struct sm_errinfo *e);
const struct sm_account *vx_first(const struct sm_accounts *a);
int vx_resolve_named(struct ctx *x, const char *named, struct sm_errinfo *e);
int vx_resolve_from_cert(struct ctx *x, struct sm_errinfo *e);
int vx_account_facts(struct ctx *x, struct sm_errinfo *e);
int vx_key_trust(struct ctx *x);

/* lib/verdict_windows.c, lib/verdict_samba.c: one profile's outcome */
void vx_evaluate_windows(struct ctx *x, const struct profile_eval *pe,
                         struct sm_profile_outcome *o);
void vx_evaluate_samba(struct ctx *x, const struct profile_eval *pe, struct sm_profile_outcome *o);

#endif

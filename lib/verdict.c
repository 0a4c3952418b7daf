/*
 * lib/verdict.c - the decision a domain controller makes (spec 2, 5, 6, 7).
 *
 * Per request: certificate checks (validity 71, EKU 77, NTAuth 62), account resolution
 * (named / UPN SAN / DNS SAN / explicit mapping: 6, 75), account state (disabled: 18), then the
 * KB5014754 mapping decision in the KDC's order: strong explicit mapping, SID (malformed 60,
 * mismatch 41/66, match), weak mapping under the enforcement mode (39/40/66). Each DC profile
 * is evaluated on the same directory data; the overall outcome denies when any profile denies.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <strongmap/json.h>
#include <strongmap/verdict.h>

#include "util.h"

/* ---- profiles ------------------------------------------------------------------------- */

static const char *const profile_names[] = { "windows-2016", "windows-2019", "windows-2022",
                                             "samba" };

const char *sm_profile_name(enum sm_profile_kind kind)
{
    return (unsigned)kind < ARRAY_SIZE(profile_names) ? profile_names[kind] : "unknown";
}

void sm_profile_default(enum sm_profile_kind kind, struct sm_profile *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->kind = kind;
    ret->mode = 2;
    ret->backdating_s = kind == SM_PROFILE_SAMBA ? 0 : 600;
    ret->use_san_upn = true;
}

int sm_profile_parse(const char *name, struct sm_profile *ret)
{
    for (size_t i = 0; i < ARRAY_SIZE(profile_names); i++)
        if (strcasecmp(name, profile_names[i]) == 0) {
            sm_profile_default((enum sm_profile_kind)i, ret);
            return 0;
        }
    if (strcasecmp(name, "windows-2025") == 0) {
        sm_profile_default(SM_PROFILE_WINDOWS_2022, ret);
        return 0;
    }
    return -EINVAL;
}

const char *sm_resolution_name(enum sm_resolution r)
{
    static const char *const names[] = { NULL, "named", "upn_san", "dns_san", "explicit_mapping" };
    return (unsigned)r < ARRAY_SIZE(names) ? names[r] : NULL;
}

const char *sm_readiness_name(enum sm_readiness r)
{
    static const char *const names[] = { "ready", "at_risk", "blocked" };
    return (unsigned)r < ARRAY_SIZE(names) ? names[r] : "blocked";
}

/* ---- Kerberos errors and KDC events (spec 5, 5.1) ------------------------------------------ */

#define KDC_ERR_C_PRINCIPAL_UNKNOWN      6
#define KDC_ERR_CLIENT_REVOKED           18
#define KRB_ERR_GENERIC                  60
#define KDC_ERR_CLIENT_NOT_TRUSTED       62
#define KDC_ERR_CERTIFICATE_MISMATCH     66
#define KDC_ERR_INVALID_CERTIFICATE      71
#define KDC_ERR_CLIENT_NAME_MISMATCH     75
#define KDC_ERR_INCONSISTENT_KEY_PURPOSE 77

static struct sm_kdc_error kdc_error(int code)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        { KDC_ERR_C_PRINCIPAL_UNKNOWN, "KDC_ERR_C_PRINCIPAL_UNKNOWN" },
        { KDC_ERR_CLIENT_REVOKED, "KDC_ERR_CLIENT_REVOKED" },
        { KRB_ERR_GENERIC, "KRB_ERR_GENERIC" },
        { KDC_ERR_CLIENT_NOT_TRUSTED, "KDC_ERR_CLIENT_NOT_TRUSTED" },
        { KDC_ERR_CERTIFICATE_MISMATCH, "KDC_ERR_CERTIFICATE_MISMATCH" },
        { KDC_ERR_INVALID_CERTIFICATE, "KDC_ERR_INVALID_CERTIFICATE" },
        { KDC_ERR_CLIENT_NAME_MISMATCH, "KDC_ERR_CLIENT_NAME_MISMATCH" },
        { KDC_ERR_INCONSISTENT_KEY_PURPOSE, "KDC_ERR_INCONSISTENT_KEY_PURPOSE" },
    };
    struct sm_kdc_error e = { code, NULL };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (names[i].code == code)
            e.name = names[i].name;
    return e;
}

#define EVENT_39_TEXT                                                                              \
    "The Key Distribution Center (KDC) encountered a user certificate that was valid but could "   \
    "not be mapped to a user in a secure way (such as via explicit mapping, key trust mapping, "   \
    "or a SID). Such certificates should either be replaced or mapped directly to the user via "   \
    "explicit mapping."
#define EVENT_40_TEXT                                                                              \
    EVENT_39_TEXT " The certificate also predated the user it mapped to, so it was rejected."
#define EVENT_41_TEXT                                                                              \
    "The Key Distribution Center (KDC) encountered a user certificate that was valid but "         \
    "contained a different SID than the user to which it mapped. As a result, the request "        \
    "involving the certificate failed."

/* ---- the evaluation context ------------------------------------------------------------- */

struct verdict_impl {
    struct sm_verdict pub;
    struct arena *a;
    struct sm_accounts *owned[4];
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
    struct sm_altsec *altsec[SM_MAX_ALTSEC]; /* the account's values, parsed */
    size_t n_altsec;
    int err;
};

static void own(struct ctx *x, struct sm_accounts *acc)
{
    if (x->v->n_owned < ARRAY_SIZE(x->v->owned))
        x->v->owned[x->v->n_owned++] = acc;
    else
        sm_accounts_free(acc);
}

static void reason(struct ctx *x, struct sm_reason *list, size_t *n, const char *code,
                   const char *fmt, ...) SM_PRINTF(5, 6);

static void reason(struct ctx *x, struct sm_reason *list, size_t *n, const char *code,
                   const char *fmt, ...)
{
    if (*n >= SM_MAX_REASONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    const char *m = arena_vprintf(x->a, fmt, ap);
    va_end(ap);
    if (!m) {
        x->err = -ENOMEM;
        return;
    }
    list[*n].code = code;
    list[*n].message = m;
    (*n)++;
}

#define OUT_REASON(x, o, code, ...) reason((x), (o)->reasons, &(o)->n_reasons, (code), __VA_ARGS__)

static void path(struct sm_profile_outcome *o, const char *method, const char *strength,
                 const char *result, const char *detail)
{
    if (o->n_paths >= SM_MAX_PATHS)
        return;
    o->paths[o->n_paths++] = (struct sm_path){ method, strength, result, detail };
}

static void deny(struct sm_profile_outcome *o, int code)
{
    if (!o->kdc_error.code) /* the first failing check is what the client sees */
        o->kdc_error = kdc_error(code);
    o->allow = false;
}

/* ---- certificate facts ---------------------------------------------------------------- */

static bool name_eq(const char *a, const char *b)
{
    return a && b && strlen(a) == strlen(b) && ascii_caseeq(a, strlen(a), b, strlen(b));
}

static const char *cert_upn(const struct sm_cert *c)
{
    for (size_t i = 0; i < c->n_san; i++)
        if (c->san[i].type == SM_SAN_UPN)
            return c->san[i].value;
    return NULL;
}

/* The SID a DC of this profile reads: extension first; the URI on Windows 2019+ only. */
static const struct sm_sid_carrier *profile_sid(const struct sm_cert *c, const struct sm_profile *p,
                                                const char **method)
{
    const struct sm_sid_carrier *e = &c->sid.extension, *u = &c->sid.uri;
    if (p->kind == SM_PROFILE_SAMBA) {
        /* Samba: only the extension, and a malformed one counts as absent */
        *method = "sid_extension";
        return e->status == SM_SID_VALID ? e : NULL;
    }
    if (e->status != SM_SID_ABSENT) {
        *method = "sid_extension";
        return e;
    }
    if (p->kind != SM_PROFILE_WINDOWS_2016 && u->status != SM_SID_ABSENT) {
        *method = "sid_san_uri";
        return u;
    }
    return NULL;
}

/*
 * What the NTAuth check needs of each CA certificate in the store (subject and SKI), kept for
 * the store's exact bytes: analysing every CA certificate again for every verdict cost more
 * than the verdict's own certificate (docs/performance.md). The store is still read from the
 * directory (or its cache) each time; only this pure function of its bytes is remembered, for
 * the last store seen, process-wide.
 */
struct ntauth_ca {
    char *subject; /* RFC 4514 */
    char *ski;     /* NULL when absent */
};

static struct {
    pthread_mutex_t mu;
    uint8_t *raw; /* the store's certificates, each as a 4-byte length and the DER */
    size_t raw_len;
    struct ntauth_ca *ca;
    size_t n; /* certificates that parsed */
} ntauth_memo = { .mu = PTHREAD_MUTEX_INITIALIZER };

static void ntauth_cas_free(struct ntauth_ca *ca, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(ca[i].subject);
        free(ca[i].ski);
    }
    free(ca);
}

/* The store's bytes in the memo's key form (malloc'd), or NULL. */
static uint8_t *ntauth_key(const struct sm_account *s, size_t *ret_len)
{
    size_t len = 0;
    for (size_t i = 0; i < s->n_certs; i++)
        len += 4 + s->certs[i].len;
    uint8_t *k = malloc(len ? len : 1), *o = k;
    if (!k)
        return NULL;
    for (size_t i = 0; i < s->n_certs; i++) {
        size_t l = s->certs[i].len;
        *o++ = (uint8_t)(l >> 24);
        *o++ = (uint8_t)(l >> 16);
        *o++ = (uint8_t)(l >> 8);
        *o++ = (uint8_t)l;
        memcpy(o, s->certs[i].data, l);
        o += l;
    }
    *ret_len = len;
    return k;
}

/* Analyse the store's certificates: 0, or -ENOMEM. */
static int ntauth_parse(const struct sm_account *s, struct ntauth_ca **ret, size_t *ret_n)
{
    struct ntauth_ca *ca = calloc(s->n_certs ? s->n_certs : 1, sizeof(*ca));
    size_t n = 0;
    if (!ca)
        return -ENOMEM;
    for (size_t i = 0; i < s->n_certs; i++) {
        struct sm_certs *certs = NULL;
        struct sm_errinfo e;
        if (sm_certs_parse(s->certs[i].data, s->certs[i].len, NULL, &certs, &e) != 0)
            continue;
        const struct sm_cert *cc = &certs->certs[0];
        bool has_ski = cc->ski != NULL;
        ca[n].subject = strdup(cc->subject.rfc4514);
        ca[n].ski = has_ski ? strdup(cc->ski) : NULL;
        sm_certs_free(certs);
        if (!ca[n].subject || (has_ski && !ca[n].ski)) {
            ntauth_cas_free(ca, n + 1);
            return -ENOMEM;
        }
        n++;
    }
    *ret = ca;
    *ret_n = n;
    return 0;
}

/* Is the issuing CA in the forest's NTAuth store? -1 unknown, 0 no, 1 yes. */
static int ntauth_check(struct ctx *x)
{
    struct sm_accounts *store = NULL;
    struct sm_errinfo e;
    uint8_t *key = NULL;
    size_t klen = 0;
    int found = -1;

    if (sm_dir_ntauth(x->dir, &store, &e) != 0 || !store)
        return -1;
    if (store->n == 0 || !(key = ntauth_key(&store->v[0], &klen)))
        goto out;
    pthread_mutex_lock(&ntauth_memo.mu);
    if (!ntauth_memo.raw || ntauth_memo.raw_len != klen ||
        memcmp(ntauth_memo.raw, key, klen) != 0) {
        struct ntauth_ca *ca = NULL;
        size_t n = 0;
        if (ntauth_parse(&store->v[0], &ca, &n) != 0) {
            pthread_mutex_unlock(&ntauth_memo.mu);
            goto out;
        }
        ntauth_cas_free(ntauth_memo.ca, ntauth_memo.n);
        free(ntauth_memo.raw);
        ntauth_memo.raw = key;
        ntauth_memo.raw_len = klen;
        ntauth_memo.ca = ca;
        ntauth_memo.n = n;
        key = NULL; /* the memo owns it */
    }
    found = 0;
    for (size_t i = 0; i < ntauth_memo.n && found == 0; i++) {
        const struct ntauth_ca *ca = &ntauth_memo.ca[i];
        if (strcmp(ca->subject, x->cert->issuer.rfc4514) == 0 &&
            (!x->cert->aki || !ca->ski || strcasecmp(x->cert->aki, ca->ski) == 0))
            found = 1;
    }
    pthread_mutex_unlock(&ntauth_memo.mu);
out:
    free(key);
    sm_accounts_free(store);
    return found;
}

/* ---- account resolution (spec 5) ---------------------------------------------------------- */

static int lookup_one(struct ctx *x, enum sm_lookup how, const char *name,
                      const struct sm_account **ret, size_t *count, struct sm_errinfo *e)
{
    struct sm_accounts *acc = NULL;
    int r = sm_dir_lookup(x->dir, how, name, &acc, e);
    if (r < 0)
        return r;
    *count = acc->n;
    *ret = acc->n ? &acc->v[0] : NULL;
    own(x, acc);
    return 0;
}

static int resolve(struct ctx *x, const char *named, struct sm_errinfo *e)
{
    struct sm_verdict *v = &x->v->pub;
    const struct sm_account *acc = NULL;
    size_t n = 0;
    int r;

    if (named) {
        if ((r = lookup_one(x, SM_LOOKUP_AUTO, named, &acc, &n, e)) < 0)
            return r;
        if (n > 1)
            reason(x, v->reasons, &v->n_reasons, "ambiguous_account",
                   "%zu accounts answer to \"%s\"; the first (%s) is evaluated.", n, named,
                   acc->dn);
        v->resolution = acc ? SM_RESOLVED_NAMED : SM_RESOLVED_NONE;
        v->account = acc;
        if (!acc)
            reason(x, v->reasons, &v->n_reasons, "account_not_found",
                   "No account answers to \"%s\".", named);
        return 0;
    }
    const struct sm_cert *c = x->cert;
    const char *upn = cert_upn(c);
    if (upn) {
        if ((r = lookup_one(x, SM_LOOKUP_UPN, upn, &acc, &n, e)) < 0)
            return r;
        if (acc) {
            v->resolution = SM_RESOLVED_UPN_SAN;
            v->account = acc;
            return 0;
        }
        reason(x, v->reasons, &v->n_reasons, "upn_not_found",
               "No account has userPrincipalName %s (the certificate's UPN).", upn);
    }
    for (size_t i = 0; i < c->n_san; i++) {
        if (c->san[i].type != SM_SAN_DNS)
            continue;
        if ((r = lookup_one(x, SM_LOOKUP_DNS_HOST, c->san[i].value, &acc, &n, e)) < 0)
            return r;
        if (acc && acc->is_computer) {
            v->resolution = SM_RESOLVED_DNS_SAN;
            v->account = acc;
            return 0;
        }
    }
    /* explicit mappings: every string the KDC builds from the certificate */
    const char *values[SM_MAP__COUNT + SM_MAX_SAN];
    size_t nv = 0;
    for (size_t i = 0; i < c->n_mappings && nv < SM_MAX_ALTSEC; i++)
        values[nv++] = c->mappings[i].value;
    if (nv) {
        struct sm_accounts *found = NULL;
        if ((r = sm_dir_find_altsec(x->dir, values, nv, &found, e)) < 0)
            return r;
        if (found->n) {
            if (found->n > 1)
                reason(x, v->reasons, &v->n_reasons, "ambiguous_mapping",
                       "%zu accounts hold an altSecurityIdentities value of this certificate; "
                       "the KDC cannot tell which is meant. The first (%s) is evaluated.",
                       found->n, found->v[0].dn);
            v->resolution = SM_RESOLVED_EXPLICIT;
            v->account = &found->v[0];
        }
        own(x, found);
    }
    if (!v->account)
        reason(x, v->reasons, &v->n_reasons, "account_not_found",
               "No account matches the certificate: no UPN or DNS name that names one, and no "
               "altSecurityIdentities value that equals a string built from it.");
    return 0;
}

/* ---- the per-profile decision ------------------------------------------------------------- */

static bool type_supported(const struct sm_profile *p, enum sm_map_type t)
{
    if (t == SM_MAP_ISSUER_SID)
        return p->kind == SM_PROFILE_WINDOWS_2022;
    return true;
}

static void evaluate_profile(struct ctx *x, const struct sm_profile *p, int ntauth,
                             struct sm_profile_outcome *o)
{
    const struct sm_cert *c = x->cert;
    const struct sm_account *acc = x->v->pub.account;
    bool samba = p->kind == SM_PROFILE_SAMBA;
    char t1[SM_SID_TEXT_MAX], t2[SM_SID_TEXT_MAX];

    memset(o, 0, sizeof(*o));
    o->profile = *p;
    o->allow = true;

    /* certificate checks come first: the KDC validates before it maps */
    if (x->at < c->not_before_t || x->at > c->not_after_t) {
        deny(o, KDC_ERR_INVALID_CERTIFICATE);
        OUT_REASON(x, o, "certificate_time_invalid",
                   "The certificate is not valid at the evaluation time (%s .. %s).", c->not_before,
                   c->not_after);
    }
    if (sm_findings_has(&c->findings, "eku_not_logon")) {
        deny(o, KDC_ERR_INCONSISTENT_KEY_PURPOSE);
        OUT_REASON(x, o, "eku_not_logon",
                   "The certificate's EKU allows neither Client Authentication nor Smart Card "
                   "Logon (nor id-pkinit-KPClientAuth, anyExtendedKeyUsage).");
    }
    if (!samba && ntauth == 0) {
        deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
        OUT_REASON(x, o, "issuer_not_in_ntauth",
                   "The issuing CA (%s) is not in the forest's NTAuth store; since KB5057784 "
                   "this is required for every certificate logon, explicit mappings included.",
                   c->issuer.rfc4514);
    }
    if (!acc) {
        deny(o, KDC_ERR_C_PRINCIPAL_UNKNOWN);
        OUT_REASON(x, o, "account_not_found", "The DC finds no account for this certificate.");
        return;
    }

    /* explicit mappings held by the account */
    const struct sm_altsec *strong_match = NULL, *weak_match = NULL;
    for (size_t i = 0; i < x->n_altsec; i++) {
        const struct sm_altsec *a = x->altsec[i];
        if (a->kind == SM_ALTSEC_NOT_X509)
            continue;
        /* the parsed values die with this call: paths keep a copy owned by the verdict */
        const char *value = arena_strdup(x->a, a->value);
        if (!value) {
            x->err = -ENOMEM;
            return;
        }
        bool m, strong;
        const char *method;
        if (samba) {
            m = sm_altsec_matches_samba(a, c);
            strong = a->samba_strong;
            method = a->kind == SM_ALTSEC_MAPPING ? sm_map_type_name(a->type) : "invalid_value";
        } else {
            if (a->kind == SM_ALTSEC_INVALID) {
                path(o, "invalid_value", NULL, "unsupported", value);
                continue;
            }
            method = sm_map_type_name(a->type);
            strong = a->strong;
            if (!type_supported(p, a->type)) {
                path(o, method, "strong", "unsupported", value);
                continue;
            }
            m = sm_altsec_matches(a, c);
        }
        path(o, method, strong ? "strong" : "weak", m ? "match" : "no_match", value);
        if (m && strong && !strong_match)
            strong_match = a;
        if (m && !strong && !weak_match)
            weak_match = a;
    }

    /* implicit mappings (always weak) */
    bool upn_match = false, dns_match = false;
    const char *upn = cert_upn(c);
    if (upn && p->use_san_upn) {
        upn_match = name_eq(upn, acc->upn);
        path(o, "upn_san", "weak", upn_match ? "match" : "no_match", upn);
    } else if (upn) {
        path(o, "upn_san", "weak", "unsupported", "UseSubjectAltName = 0");
    }
    if (acc->is_computer)
        for (size_t i = 0; i < c->n_san && !dns_match; i++)
            if (c->san[i].type == SM_SAN_DNS) {
                dns_match = name_eq(c->san[i].value, acc->dns_host);
                path(o, "dns_san", "weak", dns_match ? "match" : "no_match", c->san[i].value);
            }
    bool mapped = strong_match || weak_match || upn_match || dns_match;
    if (x->v->pub.resolution == SM_RESOLVED_EXPLICIT && !mapped) {
        /* found through a value this DC does not build (X509IssuerSID before 2022) */
        deny(o, KDC_ERR_C_PRINCIPAL_UNKNOWN);
        OUT_REASON(x, o, "account_not_found",
                   "The only mapping to %s is a type this DC does not support.", acc->dn);
    }
    if (x->v->pub.resolution == SM_RESOLVED_NAMED && !mapped) {
        deny(o, KDC_ERR_CLIENT_NAME_MISMATCH);
        OUT_REASON(x, o, "name_mismatch",
                   "The certificate maps to %s neither implicitly (UPN or DNS name) nor through "
                   "an altSecurityIdentities value.",
                   acc->dn);
    }
    if (acc->has_uac && (acc->uac & SM_UAC_ACCOUNTDISABLE)) {
        deny(o, KDC_ERR_CLIENT_REVOKED);
        OUT_REASON(x, o, "account_disabled", "The account %s is disabled.", acc->dn);
    }

    /* the SID the DC reads */
    const char *sid_method = "sid_extension";
    const struct sm_sid_carrier *sid = profile_sid(c, p, &sid_method);
    int sid_state = 0; /* 0 none, 1 match, -1 mismatch, -2 malformed */
    if (sid && sid->status == SM_SID_MALFORMED) {
        sid_state = -2;
        path(o, sid_method, "strong", "malformed", sid->reason);
    } else if (sid) {
        sid_state = acc->has_sid && sm_sid_equal(&sid->sid, &acc->sid) ? 1 : -1;
        /* Samba compares the certificate's text byte for byte with its own rendering */
        if (samba && sid_state == 1 && !sid->canonical)
            sid_state = -1;
        path(o, sid_method, "strong", sid_state == 1 ? "match" : "mismatch",
             arena_strdup(x->a, sm_sid_format(&sid->sid, t1, sizeof(t1))));
    } else {
        path(o, "sid", "strong", "absent",
             p->kind == SM_PROFILE_WINDOWS_2016 && c->sid.uri.status != SM_SID_ABSENT
                 ? "Windows Server 2016 does not read the SAN URI"
             : samba && c->sid.extension.status == SM_SID_MALFORMED
                 ? "Samba ignores a malformed SID extension"
                 : NULL);
    }
    if (!o->allow)
        return; /* denied before the mapping decision: no mapping event */

    /* 1. strong explicit mapping: allow; the SID is not checked on this path (spec 5.1, 8.3) */
    if (strong_match) {
        o->mapping_strength = "strong";
        o->mapping_method = strong_match->kind == SM_ALTSEC_MAPPING
                                ? sm_map_type_name(strong_match->type)
                                : "altSecurityIdentities";
        if (sid_state == -1)
            OUT_REASON(x, o, "strong_mapping_sid_mismatch",
                       "Allowed through the strong mapping although the certificate's SID is "
                       "another account's: the KDC does not check the SID on this path "
                       "(reverse engineering, Samba); MS-PKCA reads as if it must fail.");
        return;
    }
    /* 3. the SID in the certificate */
    if (sid_state == -2) {
        deny(o, KRB_ERR_GENERIC);
        OUT_REASON(x, o, "sid_malformed",
                   "The certificate's SID (%s) is malformed: %s. The DC fails the request with "
                   "a generic error and logs no event.",
                   sid_method, sid->reason);
        return;
    }
    if (sid_state == 1) {
        o->mapping_strength = "strong";
        o->mapping_method = sid_method;
        return;
    }
    if (sid_state == -1) {
        deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
        if (!samba)
            o->event = (struct sm_event){ 41, "error", EVENT_41_TEXT };
        if (samba && !sid->canonical && acc->has_sid && sm_sid_equal(&sid->sid, &acc->sid))
            OUT_REASON(x, o, "sid_mismatch",
                       "The certificate writes the account's SID as \"%s\"; Samba compares the "
                       "text byte for byte with %s and sees another SID.",
                       sid->text, sm_sid_format(&acc->sid, t2, sizeof(t2)));
        else
            OUT_REASON(x, o, "sid_mismatch",
                       "The certificate carries SID %s but the account's objectSid is %s.",
                       sm_sid_format(&sid->sid, t1, sizeof(t1)),
                       acc->has_sid ? sm_sid_format(&acc->sid, t2, sizeof(t2)) : "(none)");
        return;
    }
    /* 4. weak mapping only */
    o->mapping_strength = "weak";
    o->mapping_method = weak_match  ? sm_map_type_name(weak_match->type)
                        : upn_match ? "upn_san"
                        : dns_match ? "dns_san"
                                    : "none";
    bool backdated_ok = !acc->has_created || c->not_before_t + p->backdating_s >= acc->created;
    if (samba) {
        if (p->mode == 0 || (p->mode == 1 && weak_match && backdated_ok))
            return;
        deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
        OUT_REASON(x, o, "weak_mapping",
                   p->mode == 2 ? "Samba in full enforcement needs a strong altSecurityIdentities "
                                  "mapping or the SID extension."
                                : "Samba in compatibility mode denies a certificate with neither "
                                  "an explicit mapping nor a SID (or one issued before the "
                                  "account existed).");
        return;
    }
    if (p->mode >= 2) {
        deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
        o->event = (struct sm_event){ 39, "error", EVENT_39_TEXT };
        OUT_REASON(x, o, "weak_mapping",
                   "The certificate maps only weakly (%s) and carries no SID the DC reads; full "
                   "enforcement denies it.",
                   o->mapping_method);
        return;
    }
    if (backdated_ok) {
        o->event = (struct sm_event){ 39, "warning", EVENT_39_TEXT };
        OUT_REASON(x, o, "weak_mapping_allowed",
                   "Compatibility mode allows the weak mapping (%s) because the account "
                   "predates the certificate; full enforcement would deny it.",
                   o->mapping_method);
        return;
    }
    deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
    o->event = (struct sm_event){ 40, "error", EVENT_40_TEXT };
    OUT_REASON(x, o, "certificate_predates_account",
               "The certificate (issued %s) predates the account by more than the %ld s "
               "backdating compensation, so compatibility mode rejects the weak mapping.",
               c->not_before, p->backdating_s);
}

/* ---- remediation (spec 7) ------------------------------------------------------------------ */

static void step(struct ctx *x, const char *fmt, ...) SM_PRINTF(2, 3);

static void step(struct ctx *x, const char *fmt, ...)
{
    struct sm_remediation *r = &x->v->pub.remediation;
    if (r->n_steps >= ARRAY_SIZE(r->steps))
        return;
    va_list ap;
    va_start(ap, fmt);
    const char *s = arena_vprintf(x->a, fmt, ap);
    va_end(ap);
    if (!s)
        x->err = -ENOMEM;
    else
        r->steps[r->n_steps++] = s;
}

static bool any_reason(const struct sm_verdict *v, const char *code)
{
    for (size_t i = 0; i < v->n_profiles; i++)
        for (size_t k = 0; k < v->profiles[i].n_reasons; k++)
            if (strcmp(v->profiles[i].reasons[k].code, code) == 0)
                return true;
    return false;
}

static void remediate(struct ctx *x)
{
    struct sm_verdict *v = &x->v->pub;
    struct sm_remediation *r = &v->remediation;
    const struct sm_cert *c = x->cert;
    const struct sm_account *acc = v->account;
    bool all_strong = true;
    for (size_t i = 0; i < v->n_profiles; i++)
        if (!v->profiles[i].allow || !v->profiles[i].mapping_strength ||
            strcmp(v->profiles[i].mapping_strength, "strong") != 0)
            all_strong = false;
    if (all_strong)
        return;

    const struct sm_mapping *isn = sm_cert_mapping(c, SM_MAP_ISSUER_SERIAL);
    const struct sm_mapping *ski = sm_cert_mapping(c, SM_MAP_SKI);
    const struct sm_mapping *sha = sm_cert_mapping(c, SM_MAP_SHA1_PUKEY);
    if (isn) {
        r->altsec_value = isn->value;
        r->altsec_value_samba = isn->samba && isn->samba_supported ? isn->samba : NULL;
    }
    size_t na = 0;
    if (ski)
        r->altsec_alternatives[na++] = ski->value;
    if (sha)
        r->altsec_alternatives[na++] = sha->value;
    r->likely_issuer = c->has_template                      ? "adcs"
                       : c->sid.uri.status != SM_SID_ABSENT ? "intune_scep"
                                                            : "other_ca";
    r->reissue_adcs = "AD CS: issue from an online template (subject built from Active "
                      "Directory, not 'supply in the request'), without "
                      "CT_FLAG_NO_SECURITY_EXTENSION (0x80000); the CA then writes the SID "
                      "extension 1.3.6.1.4.1.311.25.2.";
    r->reissue_intune_pkcs = "Intune PKCS: on the Intune Certificate Connector server set "
                             "HKLM\\Software\\Microsoft\\MicrosoftIntune\\PFXCertificateConnector "
                             "EnableSidSecurityExtension = 1 (DWORD), restart the connector, "
                             "re-issue.";
    r->reissue_scep = "Intune SCEP: add a URI SAN with the value "
                      "tag:microsoft.com,2022-09-14:sid:{{OnPremisesSecurityIdentifier}} to the "
                      "SCEP profile (Windows Server 2019 and later DCs read it; 2016 and Samba "
                      "do not), re-issue.";
    if (acc && acc->has_sid) {
        char sid[SM_SID_TEXT_MAX];
        uint8_t der[256];
        long n = sm_sid_extension_der(&acc->sid, der, sizeof(der));
        sm_sid_format(&acc->sid, sid, sizeof(sid));
        if (n > 0) {
            struct sbuf b;
            sbuf_init(&b, x->a);
            sbuf_base64(&b, der, (size_t)n);
            r->sid_extension_der_base64 = sbuf_str(&b);
        }
        r->sid_uri = arena_printf(x->a, "%s%s", SM_SID_URI_PREFIX, sid);
        r->reissue_other_ca = arena_printf(
            x->a,
            "Any other CA: add the non-critical extension %s with the DER value in "
            "sid_extension_der_base64 (the SID %s), or the SAN URI %s for Windows Server 2019+ "
            "DCs only.",
            SM_OID_SID_EXTENSION, sid, r->sid_uri);
    }

    /* why neither helps */
    if (!acc)
        r->blocked_by = "No account matches the certificate: create or name the account first.";
    else if (any_reason(v, "account_disabled"))
        r->blocked_by = "The account is disabled: no mapping or certificate helps until it is "
                        "enabled.";
    else if (any_reason(v, "issuer_not_in_ntauth"))
        r->blocked_by = "The issuing CA is not in NTAuth: publish it (certutil -dspublish -f "
                        "ca.cer NTAuthCA) before any mapping can work.";
    else if (any_reason(v, "certificate_time_invalid"))
        r->blocked_by = "The certificate is not valid at this time: re-issue it.";
    else if (any_reason(v, "eku_not_logon"))
        r->blocked_by = "The certificate's EKU does not allow logon: re-issue it with Client "
                        "Authentication or Smart Card Logon.";

    if (r->blocked_by) {
        step(x, "%s", r->blocked_by);
        return;
    }
    if (v->sid_owner)
        step(x,
             "The certificate's SID belongs to %s, not to %s: it was issued for another "
             "account. Re-issue it for the right account.",
             v->sid_owner->dn, acc->dn);
    if (any_reason(v, "sid_malformed"))
        step(x, "The certificate's SID is malformed: without a strong altSecurityIdentities "
                "value for it, every Windows DC fails the logon with error 60. Re-issue it; the "
                "mapping below works around it meanwhile.");
    if (r->altsec_value)
        step(x,
             "Quickest: add the strong mapping to %s: Set-ADUser -Identity '%s' -Add "
             "@{altSecurityIdentities='%s'} (one value per certificate; Microsoft "
             "recommends X509IssuerSerialNumber).",
             acc->dn, acc->sam ? acc->sam : acc->dn, r->altsec_value);
    if (r->altsec_value_samba)
        step(x, "For Samba DCs the value to store is %s.", r->altsec_value_samba);
    step(x, "Lasting: re-issue certificates with the account's SID (likely issuer: %s).",
         r->likely_issuer);
}

/* ---- entry points --------------------------------------------------------------------------- */

static struct verdict_impl *impl_of(struct sm_verdict *v)
{
    return (struct verdict_impl *)(void *)v;
}

struct sm_verdict *sm_verdict_free(struct sm_verdict *pub)
{
    if (!pub)
        return NULL;
    struct verdict_impl *v = impl_of(pub);
    for (size_t i = 0; i < v->n_owned; i++)
        sm_accounts_free(v->owned[i]);
    sm_certs_free(v->owned_certs);
    arena_free(v->a);
    free(v);
    return NULL;
}

static void free_altsec(struct ctx *x)
{
    for (size_t i = 0; i < x->n_altsec; i++)
        x->altsec[i] = sm_altsec_free(x->altsec[i]);
    x->n_altsec = 0;
}

int sm_verdict_evaluate(struct sm_dir *dir, const struct sm_verdict_input *in,
                        struct sm_verdict **ret, struct sm_errinfo *reterr)
{
    struct sm_profile def;
    const struct sm_profile *profiles = in->profiles;
    size_t n_profiles = in->n_profiles;
    struct ctx x;
    int r = 0;

    if (!dir) {
        errinfo_set(reterr, -1, "no directory configured");
        return -EINVAL;
    }
    if (!in->cert && !in->account) {
        errinfo_set(reterr, -1, "give a certificate, an account, or both");
        return -EINVAL;
    }
    if (n_profiles > SM_MAX_PROFILES) {
        errinfo_set(reterr, -1, "at most %d profiles", SM_MAX_PROFILES);
        return -EINVAL;
    }
    if (!profiles || n_profiles == 0) {
        sm_profile_default(SM_PROFILE_WINDOWS_2022, &def);
        profiles = &def;
        n_profiles = 1;
    }
    memset(&x, 0, sizeof(x));
    x.dir = dir;
    x.at = in->at ? in->at : time(NULL);
    x.v = calloc(1, sizeof(*x.v));
    if (!x.v || !(x.v->a = arena_new())) {
        free(x.v);
        return -ENOMEM;
    }
    x.a = x.v->a;
    struct sm_verdict *v = &x.v->pub;

    /* the named account, or the one the certificate resolves to */
    x.cert = in->cert;
    if ((r = resolve(&x, in->account, reterr)) < 0)
        goto out_fail;
    if (!x.cert) {
        /* account only: evaluate its first readable published certificate */
        const struct sm_account *acc = v->account;
        struct sm_parse_opts po = { .now = x.at };
        struct sm_errinfo e;
        for (size_t i = 0; acc && i < acc->n_certs && !x.cert; i++)
            if (sm_certs_parse(acc->certs[i].data, acc->certs[i].len, &po, &x.v->owned_certs, &e) ==
                0)
                x.cert = &x.v->owned_certs->certs[0];
        if (!x.cert) {
            errinfo_set(reterr, -1, "%s",
                        acc ? "the account publishes no certificate (userCertificate): give one"
                            : "no such account, and no certificate given");
            r = -ENOENT;
            goto out_fail;
        }
    }
    v->cert = x.cert;

    /* the certificate's SID may name another account (spec 5: say which) */
    if (v->account && x.cert->sid.status == SM_SID_VALID) {
        const struct sm_sid *s = x.cert->sid.source == SM_SID_SOURCE_EXTENSION
                                     ? &x.cert->sid.extension.sid
                                     : &x.cert->sid.uri.sid;
        if (!v->account->has_sid || !sm_sid_equal(s, &v->account->sid)) {
            char text[SM_SID_TEXT_MAX];
            const struct sm_account *owner = NULL;
            size_t n = 0;
            struct sm_errinfo e;
            if ((r = lookup_one(&x, SM_LOOKUP_SID, sm_sid_format(s, text, sizeof(text)), &owner, &n,
                                &e)) < 0) {
                if (reterr)
                    *reterr = e;
                goto out_fail;
            }
            v->sid_owner = owner;
        }
    }
    /* the account's explicit mappings, parsed once for all profiles */
    if (v->account)
        for (size_t i = 0; i < v->account->n_altsec && x.n_altsec < SM_MAX_ALTSEC; i++) {
            const char *s = v->account->altsec[i];
            struct sm_errinfo e;
            if (sm_altsec_parse(s, strlen(s), &x.altsec[x.n_altsec], &e) == 0)
                x.n_altsec++;
        }
    int ntauth = ntauth_check(&x);
    v->ntauth_known = ntauth >= 0;
    v->issuer_in_ntauth = ntauth == 1;
    if (ntauth < 0)
        reason(&x, v->reasons, &v->n_reasons, "ntauth_unknown",
               "The NTAuth store could not be read; the issuer's trust for logon is not checked.");

    v->allow = true;
    for (size_t i = 0; i < n_profiles; i++) {
        evaluate_profile(&x, &profiles[i], ntauth, &x.v->outcomes[i]);
        if (!x.v->outcomes[i].allow) {
            v->allow = false;
            if (!v->primary)
                v->primary = &x.v->outcomes[i];
        }
    }
    v->profiles = x.v->outcomes;
    v->n_profiles = n_profiles;
    if (!v->primary)
        v->primary = &x.v->outcomes[0];
    remediate(&x);
    free_altsec(&x);
    if (x.err) {
        r = x.err;
        goto out_fail_nofree;
    }
    *ret = v;
    return 0;

out_fail:
    free_altsec(&x);
out_fail_nofree:
    sm_verdict_free(&x.v->pub);
    return r;
}

/* ---- account status -------------------------------------------------------------------------- */

struct status_impl {
    struct sm_account_status pub;
    struct arena *a;
    struct sm_accounts *acc;
    struct sm_altsec *altsec[SM_MAX_ALTSEC];
    struct sm_verdict *verdicts[SM_MAX_USERCERTS];
    struct sm_certs *certs[SM_MAX_USERCERTS];
    struct sm_profile profiles[SM_MAX_PROFILES];
};

struct sm_account_status *sm_account_status_free(struct sm_account_status *pub)
{
    if (!pub)
        return NULL;
    struct status_impl *s = (struct status_impl *)(void *)pub;
    for (size_t i = 0; i < SM_MAX_ALTSEC; i++)
        sm_altsec_free(s->altsec[i]);
    for (size_t i = 0; i < SM_MAX_USERCERTS; i++) {
        sm_verdict_free(s->verdicts[i]);
        sm_certs_free(s->certs[i]);
    }
    sm_accounts_free(s->acc);
    arena_free(s->a);
    free(s);
    return NULL;
}

static void status_reason(struct status_impl *s, const char *code, const char *fmt, ...)
    SM_PRINTF(3, 4);

static void status_reason(struct status_impl *s, const char *code, const char *fmt, ...)
{
    struct sm_account_status *p = &s->pub;
    if (p->n_reasons >= SM_MAX_REASONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    const char *m = arena_vprintf(s->a, fmt, ap);
    va_end(ap);
    if (m)
        p->reasons[p->n_reasons++] = (struct sm_reason){ code, m };
}

static bool verdict_all_strong(const struct sm_verdict *v)
{
    if (!v->allow)
        return false;
    for (size_t i = 0; i < v->n_profiles; i++)
        if (!v->profiles[i].mapping_strength ||
            strcmp(v->profiles[i].mapping_strength, "strong") != 0)
            return false;
    return true;
}

int sm_account_status(struct sm_dir *dir, const char *name, const struct sm_profile *profiles,
                      size_t n_profiles, time_t at, struct sm_account_status **ret,
                      struct sm_errinfo *reterr)
{
    struct status_impl *s;
    int r;

    if (!dir || !name) {
        errinfo_set(reterr, -1, "no directory or no account name");
        return -EINVAL;
    }
    if (n_profiles > SM_MAX_PROFILES) {
        errinfo_set(reterr, -1, "at most %d profiles", SM_MAX_PROFILES);
        return -EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (!s || !(s->a = arena_new())) {
        free(s);
        return -ENOMEM;
    }
    if (!profiles || n_profiles == 0) {
        sm_profile_default(SM_PROFILE_WINDOWS_2022, &s->profiles[0]);
        n_profiles = 1;
    } else {
        memcpy(s->profiles, profiles, n_profiles * sizeof(*profiles));
    }
    s->pub.profiles = s->profiles;
    s->pub.n_profiles = n_profiles;
    if ((r = sm_dir_lookup(dir, SM_LOOKUP_AUTO, name, &s->acc, reterr)) < 0)
        goto out_fail;
    if (s->acc->n == 0) {
        s->pub.readiness = SM_BLOCKED;
        status_reason(s, "account_not_found", "No account answers to \"%s\".", name);
        *ret = &s->pub;
        return 0;
    }
    const struct sm_account *acc = &s->acc->v[0];
    s->pub.account = acc;

    /* every explicit mapping, parsed and linted together */
    size_t n = 0;
    bool strong_value = false;
    for (size_t i = 0; i < acc->n_altsec && n < SM_MAX_ALTSEC; i++) {
        struct sm_errinfo e;
        if (sm_altsec_parse(acc->altsec[i], strlen(acc->altsec[i]), &s->altsec[n], &e) == 0)
            n++;
    }
    if ((r = sm_altsec_lint(s->altsec, n, NULL)) < 0)
        goto out_fail;
    for (size_t i = 0; i < n; i++)
        if (s->altsec[i]->kind == SM_ALTSEC_MAPPING && s->altsec[i]->strong)
            strong_value = true;
    s->pub.altsec = s->altsec;
    s->pub.n_altsec = n;

    /* every published certificate, through the full verdict */
    size_t nv = 0;
    bool any_strong_cert = false, any_cert_denied = false;
    for (size_t i = 0; i < acc->n_certs && nv < SM_MAX_USERCERTS; i++) {
        struct sm_parse_opts po = { .now = at };
        struct sm_errinfo e;
        if (sm_certs_parse(acc->certs[i].data, acc->certs[i].len, &po, &s->certs[nv], &e) != 0)
            continue;
        struct sm_verdict_input in = { .cert = &s->certs[nv]->certs[0],
                                       .account = acc->dn,
                                       .profiles = s->profiles,
                                       .n_profiles = n_profiles,
                                       .at = at };
        if ((r = sm_verdict_evaluate(dir, &in, &s->verdicts[nv], reterr)) < 0)
            goto out_fail;
        if (verdict_all_strong(s->verdicts[nv]))
            any_strong_cert = true;
        if (!s->verdicts[nv]->allow)
            any_cert_denied = true;
        nv++;
    }
    s->pub.cert_verdicts = (const struct sm_verdict *const *)s->verdicts;
    s->pub.n_cert_verdicts = nv;

    bool disabled = acc->has_uac && (acc->uac & SM_UAC_ACCOUNTDISABLE);
    if (disabled) {
        s->pub.readiness = SM_BLOCKED;
        status_reason(s, "account_disabled", "The account is disabled: every logon fails.");
    } else if (any_strong_cert) {
        s->pub.readiness = SM_READY;
        status_reason(s, "strong_certificate",
                      "A published certificate maps strongly on every DC profile evaluated.");
    } else if (strong_value && nv == 0) {
        s->pub.readiness = SM_READY;
        status_reason(s, "strong_mapping",
                      "The account holds a strong altSecurityIdentities value (no published "
                      "certificate to check it against).");
    } else {
        s->pub.readiness = SM_AT_RISK;
        if (nv == 0 && !strong_value)
            status_reason(s, "no_strong_path",
                          "No strong altSecurityIdentities value and no published certificate: "
                          "a certificate for this account must carry its SID to log on.");
        if (any_cert_denied)
            status_reason(s, "published_certificate_denied",
                          "At least one published certificate would be denied.");
        if (nv && !any_cert_denied)
            status_reason(s, "weak_only",
                          "Published certificates are allowed only through weak mappings.");
    }
    *ret = &s->pub;
    return 0;

out_fail:
    sm_account_status_free(&s->pub);
    return r;
}

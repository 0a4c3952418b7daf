/*
 * lib/verdict.c - the decision a domain controller makes about a certificate, in the order the
 * DC makes it (docs/mapping-rules.md states each rule and its public source).
 *
 * Per request: the account (named by the client, or found from the certificate: explicit UPN,
 * implicit UPN sAMAccountName@domain, a computer's DNS name by MS-PKCA's host-label rule, an
 * altSecurityIdentities value), then for each DC profile on the same directory data:
 *   Windows: validity (71), EKU (77), NTAuth (62; KB5057784 for explicit mappings), account
 *            (6, 75, 18), then KB5014754's order: strong explicit mapping, SID (60, 41/66),
 *            weak mapping under the enforcement mode (39 / 40).
 *   Samba:   account (6), disabled (18), validity (31), the binding check (66; skipped in
 *            "none"), then its name check: exactly one UPN SAN naming the account (75).
 * The overall outcome denies when any profile denies. Directory lookups per verdict are
 * bounded (SM_MAX_VERDICT_LOOKUPS) whatever the certificate holds.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <strongmap/verdict.h>

#include "verdict_internal.h"

const char *sm_strength_name(enum sm_strength s)
{
    return s == SM_STRENGTH_STRONG ? "strong" : s == SM_STRENGTH_WEAK ? "weak" : NULL;
}

const char *sm_path_result_name(enum sm_path_result r)
{
    static const char *const names[] = { "match",       "no_match", "mismatch",   "malformed",
                                         "unsupported", "absent",   "not_checked" };
    return (unsigned)r < ARRAY_SIZE(names) ? names[r] : "unknown";
}

const char *sm_resolution_name(enum sm_resolution r)
{
    static const char *const names[] = {
        NULL, "named", "upn_san", "dns_san", "explicit_mapping", "implicit_upn"
    };
    return (unsigned)r < ARRAY_SIZE(names) ? names[r] : NULL;
}

/* ---- Kerberos errors and KDC events ---------------------------------------------------------- */

#define KDC_ERR_C_PRINCIPAL_UNKNOWN      6
#define KDC_ERR_CLIENT_REVOKED           18
#define KRB_AP_ERR_BAD_INTEGRITY         31
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
        { KRB_AP_ERR_BAD_INTEGRITY, "KRB_AP_ERR_BAD_INTEGRITY" },
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

/* The KDC's message texts (System log, Microsoft-Windows-Kerberos-Key-Distribution-Center). */
#define FWLINK " See https://go.microsoft.com/fwlink/?linkid=2189925 to learn more."
#define NOT_MAPPED_SECURELY                                                                        \
    "The Key Distribution Center (KDC) encountered a user certificate that was valid but could "   \
    "not be mapped to a user in a secure way (such as via explicit mapping, key trust mapping, "   \
    "or a SID)."
#define EVENT_39_TEXT                                                                              \
    NOT_MAPPED_SECURELY " Such certificates should either be replaced or mapped directly to the "  \
                        "user via explicit mapping." FWLINK
#define EVENT_40_TEXT                                                                              \
    NOT_MAPPED_SECURELY " The certificate also predated the user it mapped to, so it was "         \
                        "rejected." FWLINK
#define EVENT_41_TEXT                                                                              \
    "The Key Distribution Center (KDC) encountered a user certificate that was valid but "         \
    "contained a different SID than the user to which it mapped. As a result, the request "        \
    "involving the certificate failed." FWLINK
#define EVENT_45_TEXT                                                                              \
    "The Key Distribution Center (KDC) encountered a client certificate that was valid but did "   \
    "not chain to a root in the NTAuth store."

/* ---- the evaluation context ----------------------------------------------------------------- */

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
    enum ntauth_state ntauth;
    bool redact; /* name no account attribute in any text (sm_verdict_input.redact_account) */
    int err;
};

/* How texts name an account: its DN, or nothing the caller may not see. */
static const char *who(const struct ctx *x, const struct sm_account *a)
{
    return x->redact ? "the account" : a->dn;
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
#define REQ_REASON(x, code, ...)                                                                   \
    reason((x), (x)->v->pub.reasons, &(x)->v->pub.n_reasons, (code), __VA_ARGS__)

static void path(struct sm_profile_outcome *o, const char *method, enum sm_strength strength,
                 enum sm_path_result result, const char *detail)
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

static void event(struct sm_profile_outcome *o, int id, const char *level, const char *text)
{
    if (o->n_events >= SM_MAX_EVENTS)
        return;
    o->events[o->n_events++] = (struct sm_event){ id, level, text };
    o->event = o->events[0];
}

/* ---- names ----------------------------------------------------------------------------------- */

static bool name_eq(const char *a, const char *b)
{
    return a && b && strlen(a) == strlen(b) && ascii_caseeq(a, strlen(a), b, strlen(b));
}

/*
 * The DNS domain of the entry @dn: its DC= RDNs joined by dots ("CN=x,CN=Users,DC=example,
 * DC=com" -> "example.com"), or NULL when it has none. Directory DNs are well formed; a DC
 * value with an escaped character is not a DNS label and ends the name.
 */
static const char *dn_domain(struct arena *a, const char *dn)
{
    struct sbuf b;
    sbuf_init(&b, a);
    for (const char *p = dn; p && *p;) {
        while (*p == ' ')
            p++;
        size_t len = 0;
        while (p[len] && p[len] != ',' && p[len] != '+' && p[len] != '\\')
            len++;
        if (p[len] == '\\')
            return NULL;
        if (len > 3 && ascii_caseeq(p, 3, "dc=", 3)) {
            if (b.len)
                sbuf_putc(&b, '.');
            sbuf_put(&b, p + 3, len - 3);
        }
        p += len;
        if (*p)
            p++;
    }
    return b.len && !b.oom ? sbuf_str(&b) : NULL;
}

/* @upn ("user@domain") is the implicit UPN of @acc in @domain. */
static bool implicit_upn_of(const char *upn, const struct sm_account *acc, const char *domain)
{
    const char *at = upn ? strrchr(upn, '@') : NULL;
    return at && acc->sam && domain && strlen(acc->sam) == (size_t)(at - upn) &&
           ascii_caseeq(upn, (size_t)(at - upn), acc->sam, strlen(acc->sam)) &&
           name_eq(at + 1, domain);
}

/* MS-PKCA 3.1.5.2.1.1: @dns's first label + "$" is @acc's sAMAccountName, the rest @domain. */
static bool host_rule_of(const char *dns, const struct sm_account *acc, const char *domain)
{
    const char *dot = dns ? strchr(dns, '.') : NULL;
    size_t label = dot ? (size_t)(dot - dns) : 0;
    return dot && label && acc->sam && domain && strlen(acc->sam) == label + 1 &&
           acc->sam[label] == '$' && ascii_caseeq(dns, label, acc->sam, label) &&
           name_eq(dot + 1, domain);
}

/* ---- directory lookups (bounded) ---------------------------------------------------------------
 */

static void own(struct ctx *x, struct sm_accounts *acc)
{
    /* never reached beyond the budget: every lookup is counted before it runs */
    x->v->owned[x->v->n_owned++] = acc;
}

static bool budget(struct ctx *x)
{
    if (x->v->pub.lookups >= SM_MAX_VERDICT_LOOKUPS)
        return false;
    x->v->pub.lookups++;
    return true;
}

/* One lookup; *ret the result (owned by the verdict) or NULL when over budget. */
static int lookup(struct ctx *x, enum sm_lookup how, const char *name,
                  const struct sm_accounts **ret, struct sm_errinfo *e)
{
    struct sm_accounts *acc = NULL;
    int r;

    *ret = NULL;
    if (!budget(x))
        return 0;
    if ((r = sm_dir_lookup(x->dir, how, name, &acc, e)) < 0)
        return r;
    own(x, acc);
    *ret = acc;
    return 0;
}

static const struct sm_account *first(const struct sm_accounts *a)
{
    return a && a->n ? &a->v[0] : NULL;
}

/* The account with sAMAccountName @sam for which @rule(@name, account, its domain) holds. */
static int find_sam(struct ctx *x, const char *sam, const char *name,
                    bool (*rule)(const char *, const struct sm_account *, const char *),
                    const struct sm_account **ret, struct sm_errinfo *e)
{
    const struct sm_accounts *found;
    int r;

    *ret = NULL;
    if ((r = lookup(x, SM_LOOKUP_SAM, sam, &found, e)) < 0)
        return r;
    for (size_t i = 0; found && i < found->n && !*ret; i++)
        if (rule(name, &found->v[i], dn_domain(x->a, found->v[i].dn)))
            *ret = &found->v[i];
    return 0;
}

/* The account @upn names: userPrincipalName first, else the implicit UPN. */
static int find_by_upn(struct ctx *x, const char *upn, const struct sm_account **ret,
                       enum upn_form *form, struct sm_errinfo *e)
{
    const struct sm_accounts *found;
    const char *at = strrchr(upn, '@');
    int r;

    *ret = NULL;
    if ((r = lookup(x, SM_LOOKUP_UPN, upn, &found, e)) < 0)
        return r;
    if (first(found)) {
        if (found->n > 1)
            REQ_REASON(x, "ambiguous_account",
                       "%zu accounts have userPrincipalName %s; the first (%s) is evaluated.",
                       found->n, upn, who(x, &found->v[0]));
        *ret = first(found);
        *form = UPN_EXPLICIT;
        return 0;
    }
    if (!at || at == upn || !at[1] || (size_t)(at - upn) >= SM_MAX_NAME)
        return 0;
    char sam[SM_MAX_NAME + 1];
    memcpy(sam, upn, (size_t)(at - upn));
    sam[at - upn] = '\0';
    if (strchr(sam, '\\'))
        return 0; /* not a sAMAccountName */
    if ((r = find_sam(x, sam, upn, implicit_upn_of, ret, e)) < 0)
        return r;
    if (*ret)
        *form = UPN_IMPLICIT;
    return 0;
}

/* The computer account @dns names by the host-label rule. */
static int find_by_host(struct ctx *x, const char *dns, const struct sm_account **ret,
                        struct sm_errinfo *e)
{
    const char *dot = strchr(dns, '.');

    *ret = NULL;
    if (!dot || dot == dns || (size_t)(dot - dns) + 1 >= SM_MAX_NAME)
        return 0;
    char sam[SM_MAX_NAME + 1];
    size_t label = (size_t)(dot - dns);
    memcpy(sam, dns, label);
    sam[label] = '$';
    sam[label + 1] = '\0';
    return find_sam(x, sam, dns, host_rule_of, ret, e);
}

/* ---- account resolution ------------------------------------------------------------------------
 */

static int resolve_named(struct ctx *x, const char *named, struct sm_errinfo *e)
{
    struct sm_verdict *v = &x->v->pub;
    const struct sm_accounts *found;
    enum upn_form form;
    int r;

    if ((r = lookup(x, SM_LOOKUP_AUTO, named, &found, e)) < 0)
        return r;
    if (found && found->n > 1)
        REQ_REASON(x, "ambiguous_account",
                   "%zu accounts answer to \"%s\"; the first (%s) is evaluated.", found->n, named,
                   who(x, &found->v[0]));
    v->account = first(found);
    if (!v->account && strchr(named, '@') && !strchr(named, '=')) {
        const struct sm_account *acc;
        if ((r = find_by_upn(x, named, &acc, &form, e)) < 0) /* an implicit UPN */
            return r;
        v->account = acc;
    }
    v->resolution = v->account ? SM_RESOLVED_NAMED : SM_RESOLVED_NONE;
    if (!v->account)
        REQ_REASON(x, "account_not_found", "No account answers to \"%s\".", named);
    return 0;
}

static int resolve_from_cert(struct ctx *x, struct sm_errinfo *e)
{
    struct sm_verdict *v = &x->v->pub;
    const struct sm_cert *c = x->cert;
    const struct sm_account *acc = NULL;
    enum upn_form form = UPN_NONE;
    int r;

    if (x->upn) {
        if ((r = find_by_upn(x, x->upn, &acc, &form, e)) < 0)
            return r;
        if (acc) {
            v->resolution = form == UPN_IMPLICIT ? SM_RESOLVED_IMPLICIT_UPN : SM_RESOLVED_UPN_SAN;
            v->account = acc;
            return 0;
        }
        REQ_REASON(x, "upn_not_found",
                   "No account has the certificate's UPN %s, neither as userPrincipalName nor "
                   "as its implicit UPN (sAMAccountName@domain).",
                   x->upn);
    }
    if (x->dns) {
        if ((r = find_by_host(x, x->dns, &acc, e)) < 0)
            return r;
        if (acc) {
            v->resolution = SM_RESOLVED_DNS_SAN;
            v->account = acc;
            return 0;
        }
    }
    /* explicit mappings: every string the KDC builds from the certificate, in one search */
    const char *values[SM_MAP__COUNT + SM_MAX_SAN];
    size_t nv = 0;
    for (size_t i = 0; i < c->n_mappings && nv < SM_MAX_ALTSEC; i++)
        values[nv++] = c->mappings[i].value;
    if (nv && budget(x)) {
        struct sm_accounts *found = NULL;
        if ((r = sm_dir_find_altsec(x->dir, values, nv, &found, e)) < 0)
            return r;
        own(x, found);
        if (found->n) {
            if (found->n > 1)
                REQ_REASON(x, "ambiguous_mapping",
                           "%zu accounts hold an altSecurityIdentities value of this "
                           "certificate; the KDC cannot tell which is meant. The first (%s) is "
                           "evaluated.",
                           found->n, who(x, &found->v[0]));
            v->resolution = SM_RESOLVED_EXPLICIT;
            v->account = &found->v[0];
        }
    }
    if (!v->account)
        REQ_REASON(x, "account_not_found",
                   "No account matches the certificate: no UPN or DNS name that names one, and "
                   "no altSecurityIdentities value that equals a string built from it.");
    return 0;
}

/*
 * What the certificate's names say about the resolved account, the same for every profile;
 * and, for a computer certificate, whether dNSHostName tells another story (the 2022
 * "Certifried" attack set a computer's dNSHostName to a DC's name: the KDC must not map by it).
 */
static int account_facts(struct ctx *x, struct sm_errinfo *e)
{
    struct sm_verdict *v = &x->v->pub;
    const struct sm_account *acc = v->account;
    const struct sm_cert *c = x->cert;
    size_t n_dns = 0;

    for (size_t i = 0; i < c->n_san; i++)
        if (c->san[i].type == SM_SAN_DNS && n_dns++ > 0)
            REQ_REASON(x, "dns_san_ignored",
                       "The certificate has more than one DNS name; MS-PKCA does not say which "
                       "the KDC uses for a computer account: strongmapd uses the first (%s), not "
                       "%s.",
                       x->dns, c->san[i].value);
    if (!acc)
        return 0;
    x->acc_domain = dn_domain(x->a, acc->dn);
    if (x->upn)
        x->upn_form = name_eq(x->upn, acc->upn)                     ? UPN_EXPLICIT
                      : implicit_upn_of(x->upn, acc, x->acc_domain) ? UPN_IMPLICIT
                                                                    : UPN_OTHER;
    if (!x->dns || !acc->is_computer)
        return 0;
    x->dns_match = host_rule_of(x->dns, acc, x->acc_domain);
    if (x->dns_match && acc->dns_host && !name_eq(acc->dns_host, x->dns))
        REQ_REASON(x, "dns_host_disagrees",
                   "The certificate's DNS name %s maps to %s by its sAMAccountName, but the "
                   "account's dNSHostName is %s. The KDC goes by the sAMAccountName; check "
                   "which host the certificate was meant for.",
                   x->dns, who(x, acc), x->redact ? "another name" : acc->dns_host);
    /* another account claiming the name through dNSHostName */
    const struct sm_accounts *holders;
    int r;
    if ((r = lookup(x, SM_LOOKUP_DNS_HOST, x->dns, &holders, e)) < 0)
        return r;
    for (size_t i = 0; holders && i < holders->n; i++)
        if (strcmp(holders->v[i].dn, acc->dn) != 0)
            REQ_REASON(x, "dns_host_elsewhere",
                       "%s has dNSHostName %s, the certificate's DNS name, but the KDC maps the "
                       "certificate by sAMAccountName, not by dNSHostName. A dNSHostName copied "
                       "from another host is how the 2022 \"Certifried\" attack (CVE-2022-26923) "
                       "impersonated DCs: check who set it.",
                       x->redact ? "Another account" : holders->v[i].dn, x->dns);
    return 0;
}

/*
 * Key trust (Windows Hello for Business): the account's msDS-KeyCredentialLink values, parsed,
 * and whether one holds the certificate's public key (MS-PKCA 3.1.5.2.1.4).
 */
static int key_trust(struct ctx *x)
{
    struct sm_verdict *v = &x->v->pub;
    const struct sm_account *acc = v->account;
    size_t n = 0;

    for (size_t i = 0; acc && i < acc->n_keycreds && n < SM_MAX_KEYCREDS; i++) {
        struct sm_keycred *k = NULL;
        struct sm_errinfo e;
        int r = sm_keycred_parse(acc->keycreds[i], strlen(acc->keycreds[i]), &k, &e);
        if (r == -ENOMEM)
            return r;
        if (r < 0)
            continue; /* not even text: nothing a KDC could read either */
        bool m = k->key_kind && sm_keycred_matches(k, x->cert);
        x->v->keycred[n] = k;
        x->v->keycreds[n] = (struct sm_verdict_keycred){ k, m };
        x->keytrust_windows |= m && k->logon_key;
        x->keytrust_samba |= m && k->samba_usable;
        n++;
    }
    v->keycreds = x->v->keycreds;
    v->n_keycreds = n;
    return 0;
}

/* ---- certificate facts ----------------------------------------------------------------------- */

/* The SID a DC of this profile reads: the extension first; the URI on Windows 2019+ only. */
static const struct sm_sid_carrier *profile_sid(const struct sm_cert *c,
                                                const struct profile_eval *pe, const char **method)
{
    const struct sm_sid_carrier *ext = &c->sid.extension, *uri = &c->sid.uri;
    if (pe->p.kind == SM_PROFILE_SAMBA) {
        /* Samba: only the extension, and a malformed one counts as absent */
        *method = "sid_extension";
        return ext->status == SM_SID_VALID ? ext : NULL;
    }
    if (ext->status != SM_SID_ABSENT) {
        *method = "sid_extension";
        return ext;
    }
    if (pe->san_uri_sid && uri->status != SM_SID_ABSENT) {
        *method = "sid_san_uri";
        return uri;
    }
    return NULL;
}

enum sid_state { SID_NONE = 0, SID_MATCH, SID_MISMATCH, SID_MALFORMED };

static const char *sid_text(struct ctx *x, const struct sm_sid *s)
{
    char t[SM_SID_TEXT_MAX];
    return arena_strdup(x->a, sm_sid_format(s, t, sizeof(t)));
}

/* Read the SID this profile's DC uses and compare it with the account's (a path is added). */
static enum sid_state read_sid(struct ctx *x, const struct profile_eval *pe,
                               struct sm_profile_outcome *o, const struct sm_sid_carrier **ret,
                               const char **method)
{
    const struct sm_cert *c = x->cert;
    const struct sm_account *acc = x->v->pub.account;
    bool samba = pe->p.kind == SM_PROFILE_SAMBA;
    const struct sm_sid_carrier *sid = profile_sid(c, pe, method);
    enum sid_state st;

    *ret = sid;
    if (!pe->p.use_subject_alt_name) {
        if (c->sid.status != SM_SID_ABSENT)
            path(o, "sid", SM_STRENGTH_STRONG, SM_PATH_UNSUPPORTED,
                 "UseSubjectAltName = 0: the DC ignores it");
        return SID_NONE;
    }
    if (!sid) {
        path(o, "sid", SM_STRENGTH_STRONG, SM_PATH_ABSENT,
             !pe->san_uri_sid && c->sid.uri.status != SM_SID_ABSENT
                 ? "Windows Server 2016 does not read the SAN URI"
             : samba && c->sid.extension.status == SM_SID_MALFORMED
                 ? "Samba ignores a malformed SID extension"
             : samba && c->sid.uri.status != SM_SID_ABSENT ? "Samba does not read the SAN URI"
                                                           : NULL);
        return SID_NONE;
    }
    if (sid->status == SM_SID_MALFORMED) {
        path(o, *method, SM_STRENGTH_STRONG, SM_PATH_MALFORMED, sid->reason);
        return SID_MALFORMED;
    }
    st = acc->has_sid && sm_sid_equal(&sid->sid, &acc->sid) ? SID_MATCH : SID_MISMATCH;
    /* Samba compares the certificate's text byte for byte with its own rendering */
    if (samba && st == SID_MATCH && !sid->canonical)
        st = SID_MISMATCH;
    path(o, *method, SM_STRENGTH_STRONG, st == SID_MATCH ? SM_PATH_MATCH : SM_PATH_MISMATCH,
         sid_text(x, &sid->sid));
    return st;
}

static void sid_mismatch_reason(struct ctx *x, struct sm_profile_outcome *o,
                                const struct sm_sid_carrier *sid, bool samba)
{
    const struct sm_account *acc = x->v->pub.account;
    if (samba && !sid->canonical && acc->has_sid && sm_sid_equal(&sid->sid, &acc->sid))
        OUT_REASON(x, o, "sid_mismatch",
                   "The certificate writes the account's SID as \"%s\"; Samba compares the text "
                   "byte for byte with its own rendering (%s) and sees another SID.",
                   sid->text, x->redact ? "without leading zeros" : sid_text(x, &acc->sid));
    else if (x->redact)
        OUT_REASON(x, o, "sid_mismatch",
                   "The certificate carries SID %s, which is not the account's objectSid.",
                   sid_text(x, &sid->sid));
    else
        OUT_REASON(x, o, "sid_mismatch",
                   "The certificate carries SID %s but the account's objectSid is %s.",
                   sid_text(x, &sid->sid), acc->has_sid ? sid_text(x, &acc->sid) : "(none)");
}

/* ---- Windows ------------------------------------------------------------------------------------
 */

/* KB5057784's list of altSecurityIdentities types whose certificate must chain to NTAuth. */
static bool ntauth_subject(enum sm_map_type t)
{
    return t == SM_MAP_ISSUER_SERIAL || t == SM_MAP_SKI || t == SM_MAP_SHA1_PUKEY ||
           t == SM_MAP_ISSUER_SUBJECT || t == SM_MAP_ISSUER_SID;
}

struct matches {
    const struct sm_altsec *strong, *weak; /* first strong / weak explicit match */
    bool upn, dns;                         /* implicit mappings (weak) */
    bool key_trust;                        /* msDS-KeyCredentialLink holds the key (strong) */
};

static void key_trust_paths(struct ctx *x, struct sm_profile_outcome *o, bool samba)
{
    const struct sm_verdict *v = &x->v->pub;
    for (size_t i = 0; i < v->n_keycreds; i++) {
        const struct sm_keycred *k = v->keycreds[i].cred;
        bool usable = samba ? k->samba_usable : k->logon_key;
        path(o, "key_trust", SM_STRENGTH_STRONG,
             !usable                  ? SM_PATH_UNSUPPORTED
             : v->keycreds[i].matches ? SM_PATH_MATCH
                                      : SM_PATH_NO_MATCH,
             !k->valid   ? k->invalid_reason
             : !usable   ? (samba ? "Samba's KDC does not load this value"
                                  : "not a Windows Hello (NGC) key with an RSA public key")
             : x->redact ? NULL
                         : k->device_id);
    }
}

static void windows_explicit(struct ctx *x, const struct profile_eval *pe,
                             struct sm_profile_outcome *o, struct matches *m)
{
    const struct sm_cert *c = x->cert;
    for (size_t i = 0; i < x->n_altsec; i++) {
        const struct sm_altsec *a = x->altsec[i];
        if (a->kind == SM_ALTSEC_NOT_X509)
            continue;
        /* the parsed values die with the request: paths keep a copy owned by the verdict */
        const char *value = x->redact ? NULL : arena_strdup(x->a, a->value);
        if (!value && !x->redact) {
            x->err = -ENOMEM;
            return;
        }
        if (a->kind == SM_ALTSEC_INVALID) {
            path(o, "invalid_value", SM_STRENGTH_NONE, SM_PATH_UNSUPPORTED, value);
            continue;
        }
        const char *method = sm_map_type_name(a->type);
        if (a->type == SM_MAP_ISSUER_SID && !pe->issuer_sid) {
            path(o, method, SM_STRENGTH_STRONG, SM_PATH_UNSUPPORTED, value);
            continue;
        }
        bool hit = sm_altsec_matches(a, c);
        path(o, method, a->strong ? SM_STRENGTH_STRONG : SM_STRENGTH_WEAK,
             hit ? SM_PATH_MATCH : SM_PATH_NO_MATCH, value);
        if (hit && a->strong && !m->strong)
            m->strong = a;
        if (hit && !a->strong && !m->weak)
            m->weak = a;
    }
}

static void windows_implicit(struct ctx *x, const struct profile_eval *pe,
                             struct sm_profile_outcome *o, struct matches *m)
{
    const struct sm_account *acc = x->v->pub.account;
    if (x->upn && !pe->p.use_subject_alt_name) {
        path(o, "upn_san", SM_STRENGTH_WEAK, SM_PATH_UNSUPPORTED,
             "UseSubjectAltName = 0: the DC ignores it");
    } else if (x->upn) {
        m->upn = x->upn_form == UPN_EXPLICIT || x->upn_form == UPN_IMPLICIT;
        path(o, "upn_san", SM_STRENGTH_WEAK, m->upn ? SM_PATH_MATCH : SM_PATH_NO_MATCH,
             x->upn_form == UPN_IMPLICIT
                 ? arena_printf(x->a, "%s (the implicit UPN: sAMAccountName@domain)", x->upn)
                 : x->upn);
    }
    if (!x->dns || !acc->is_computer)
        return;
    if (!pe->p.use_subject_alt_name) {
        path(o, "dns_san", SM_STRENGTH_WEAK, SM_PATH_UNSUPPORTED,
             "UseSubjectAltName = 0: the DC ignores it");
        return;
    }
    m->dns = x->dns_match;
    path(o, "dns_san", SM_STRENGTH_WEAK, m->dns ? SM_PATH_MATCH : SM_PATH_NO_MATCH,
         arena_printf(x->a,
                      "%s (host label + \"$\" %s the sAMAccountName, the rest %s the "
                      "account's domain)",
                      x->dns, m->dns ? "is" : "is not or", m->dns ? "is" : "is not"));
}

static void profile_notes(struct ctx *x, const struct profile_eval *pe,
                          struct sm_profile_outcome *o)
{
    if (pe->compat_whatif)
        OUT_REASON(x, o, "compatibility_whatif",
                   "What-if: compatibility mode (StrongCertificateBindingEnforcement = 1) runs "
                   "only on a DC without the 2025-09-09 update (evaluated as one updated on "
                   "%s). Every DC patched since then enforces strong mapping.",
                   profile_day(x->a, pe->p.update));
    if (pe->compat_ignored)
        OUT_REASON(x, o, "compatibility_ignored",
                   "StrongCertificateBindingEnforcement = 1 is ignored: a DC with the "
                   "2025-09-09 update or later always enforces strong mapping.");
    if (pe->ntauth_value_ignored)
        OUT_REASON(x, o, "ntauth_bypass_ignored",
                   "AllowNtAuthPolicyBypass as given is not read at this update level "
                   "(KB5057784); the DC runs phase %d.",
                   pe->p.ntauth_bypass);
    if (!pe->p.use_subject_alt_name)
        OUT_REASON(x, o, "use_subject_alt_name_off",
                   "UseSubjectAltName = 0: the DC uses neither the certificate's UPN nor its SID; "
                   "only altSecurityIdentities values map it.");
}

/* Event 21 names the user (its first sentence; the DC adds the chain status). */
static const char *event21(struct ctx *x, const struct sm_account *acc)
{
    return arena_printf(x->a,
                        "The client certificate for the user %s is not valid, and resulted in a "
                        "failed smartcard logon.",
                        x->redact  ? "(the account)"
                        : acc->sam ? acc->sam
                                   : acc->dn);
}

static void evaluate_windows(struct ctx *x, const struct profile_eval *pe,
                             struct sm_profile_outcome *o)
{
    const struct sm_cert *c = x->cert;
    const struct sm_account *acc = x->v->pub.account;
    const struct sm_profile *p = &pe->p;
    enum sm_resolution res = x->v->pub.resolution;
    struct matches m = { 0 };
    bool ntauth_audit = false;

    profile_notes(x, pe, o);
    /* the account the client names first (an unknown one is 6, a disabled one 18, whatever the
       certificate), then the certificate's validity, its purpose and its issuer, then the
       mapping (docs/mapping-rules.md) */
    if (!acc) {
        deny(o, KDC_ERR_C_PRINCIPAL_UNKNOWN);
        OUT_REASON(x, o, "account_not_found", "The DC finds no account for this certificate.");
        return;
    }
    if (acc->has_uac && (acc->uac & SM_UAC_ACCOUNTDISABLE)) {
        deny(o, KDC_ERR_CLIENT_REVOKED);
        OUT_REASON(x, o, "account_disabled", "The account %s is disabled.", who(x, acc));
    }

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
    windows_explicit(x, pe, o, &m);
    windows_implicit(x, pe, o, &m);
    key_trust_paths(x, o, false);
    m.key_trust = x->keytrust_windows;
    /* NTAuth: always for implicit and SID mappings; for explicit ones since KB5057784 */
    const struct sm_altsec *em = m.strong ? m.strong : m.weak;
    if (x->ntauth == NTAUTH_ABSENT && m.key_trust) {
        path(o, "ntauth", SM_STRENGTH_NONE, SM_PATH_NOT_CHECKED,
             "key trust: the KDC ignores certificate chain errors (MS-PKCA 3.1.5.2.1.4)");
    } else if (x->ntauth == NTAUTH_ABSENT && em &&
               (ntauth_subject(em->type) || p->ntauth_bypass == 2)) {
        if (p->ntauth_bypass == 2) {
            deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
            event(o, 21, "error", event21(x, acc));
            OUT_REASON(x, o, "issuer_not_in_ntauth",
                       "The issuing CA (%s) is not in the forest's NTAuth store; since "
                       "KB5057784 a DC enforces this for altSecurityIdentities mappings too.",
                       c->issuer.rfc4514);
        } else if (p->ntauth_bypass == 1) {
            ntauth_audit = true; /* allowed, event 45 (audit) */
        } else {
            path(o, "ntauth", SM_STRENGTH_NONE, SM_PATH_NOT_CHECKED,
                 "before KB5057784 an explicit mapping skips the NTAuth check");
        }
    } else if (x->ntauth == NTAUTH_ABSENT && !em) {
        deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
        event(o, 21, "error", event21(x, acc));
        OUT_REASON(x, o, "issuer_not_in_ntauth",
                   "The issuing CA (%s) is not in the forest's NTAuth store: a DC accepts "
                   "certificate logon only from CAs published there.",
                   c->issuer.rfc4514);
    }
    bool mapped = m.strong || m.weak || m.upn || m.dns || m.key_trust;
    if (!mapped && res != SM_RESOLVED_NAMED) {
        /* found through something this DC does not use (X509IssuerSID before its update, the
           certificate's names with UseSubjectAltName = 0) */
        deny(o, KDC_ERR_C_PRINCIPAL_UNKNOWN);
        OUT_REASON(x, o, "account_not_found", "This DC does not find %s from the certificate: %s.",
                   who(x, acc),
                   !p->use_subject_alt_name ? "with UseSubjectAltName = 0 it ignores the "
                                              "certificate's names and no altSecurityIdentities "
                                              "value maps it"
                                            : "the only mapping is a type this DC does not "
                                              "support");
    }
    if (!mapped && res == SM_RESOLVED_NAMED) {
        deny(o, KDC_ERR_CLIENT_NAME_MISMATCH);
        OUT_REASON(x, o, "name_mismatch",
                   "The certificate maps to %s neither implicitly (UPN or DNS name) nor through "
                   "an altSecurityIdentities value.",
                   who(x, acc));
    }
    const struct sm_sid_carrier *sid;
    const char *sid_method = "sid";
    enum sid_state st = read_sid(x, pe, o, &sid, &sid_method);
    if (!o->allow)
        return; /* denied before the mapping decision: no mapping event */
    if (ntauth_audit) {
        event(o, 45, "warning", EVENT_45_TEXT);
        OUT_REASON(x, o, "ntauth_audit",
                   "The issuing CA (%s) is not in NTAuth. This DC only audits that for "
                   "altSecurityIdentities mappings (event 45); one with KB5057784 enforced, "
                   "the default since July 2025 and the only mode since October 2025, denies it.",
                   c->issuer.rfc4514);
    }

    /* 1. a strong explicit mapping: allow; the SID is not checked on this path */
    if (m.strong) {
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = sm_map_type_name(m.strong->type);
        if (st == SID_MISMATCH)
            OUT_REASON(x, o, "strong_mapping_sid_mismatch",
                       "Allowed through the strong mapping, although the certificate carries "
                       "another SID: the KDC checks the SID only when no strong explicit "
                       "mapping matched (MS-PKCA 3.1.5.2.1.6).");
        return;
    } /* key trust: the account holds the certificate's public key */
    if (m.key_trust) {
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = "key_trust";
        return;
    }
    /* 3. the SID in the certificate */
    if (st == SID_MALFORMED) {
        deny(o, KRB_ERR_GENERIC);
        OUT_REASON(x, o, "sid_malformed",
                   "The certificate's SID (%s) is malformed: %s. The DC fails the request with "
                   "a generic error and logs no event.",
                   sid_method, sid->reason);
        return;
    }
    if (st == SID_MATCH) {
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = sid_method;
        return;
    }
    if (st == SID_MISMATCH) {
        deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
        event(o, 41, "error", EVENT_41_TEXT);
        sid_mismatch_reason(x, o, sid, false);
        return;
    }
    /* 4. a weak mapping only */
    o->mapping_strength = SM_STRENGTH_WEAK;
    o->mapping_method = m.weak  ? sm_map_type_name(m.weak->type)
                        : m.upn ? "upn_san"
                        : m.dns ? "dns_san"
                                : "none";
    bool backdated_ok = !acc->has_created || c->not_before_t + p->backdating_s >= acc->created;
    if (p->mode >= 2) {
        deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
        event(o, 39, "error", EVENT_39_TEXT);
        OUT_REASON(x, o, "weak_mapping",
                   "The certificate maps only weakly (%s) and carries no SID the DC reads; full "
                   "enforcement denies it.",
                   o->mapping_method);
        return;
    }
    if (backdated_ok) {
        event(o, 39, "warning", EVENT_39_TEXT);
        OUT_REASON(x, o, "weak_mapping_allowed",
                   "Compatibility mode allows the weak mapping (%s) because the account "
                   "predates the certificate; full enforcement would deny it.",
                   o->mapping_method);
        return;
    }
    deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
    event(o, 40, "error", EVENT_40_TEXT);
    OUT_REASON(x, o, "certificate_predates_account",
               "The certificate (issued %s) predates the account by more than the %ld s "
               "backdating compensation, so compatibility mode rejects the weak mapping.",
               c->not_before, p->backdating_s);
}

/* ---- Samba
 * ---------------------------------------------------------------------------------------- */

/*
 * Samba 4.24's name check: exactly one UPN SAN, and it names this account (explicitly or as
 * its implicit UPN).
 */
static bool samba_name_ok(struct ctx *x)
{
    return x->n_upn == 1 && (x->upn_form == UPN_EXPLICIT || x->upn_form == UPN_IMPLICIT);
}

static void evaluate_samba(struct ctx *x, const struct profile_eval *pe,
                           struct sm_profile_outcome *o)
{
    const struct sm_cert *c = x->cert;
    const struct sm_account *acc = x->v->pub.account;
    const struct sm_profile *p = &pe->p;
    const struct sm_altsec *first_match = NULL;

    if (x->samba_anchored < 0)
        OUT_REASON(x, o, "pkinit_anchors",
                   "Samba does not use the NTAuth store: its KDC accepts certificates from the "
                   "CAs in pkinit_anchors (krb5.conf [kdc]). They were not given to strongmapd, "
                   "so it assumes the issuer is one of them.");
    if (!acc) {
        deny(o, KDC_ERR_C_PRINCIPAL_UNKNOWN);
        OUT_REASON(x, o, "account_not_found", "The DC finds no account for this certificate.");
        return;
    }
    if (acc->has_uac && (acc->uac & SM_UAC_ACCOUNTDISABLE)) {
        deny(o, KDC_ERR_CLIENT_REVOKED);
        OUT_REASON(x, o, "account_disabled", "The account %s is disabled.", who(x, acc));
        return;
    }
    key_trust_paths(x, o, true);
    if (x->samba_anchored == 0) {
        /* not validated by pkinit_anchors: only key trust lets it in, and then Samba checks no
           binding at all; its name check still applies */
        if (!x->keytrust_samba) {
            deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
            OUT_REASON(x, o, "issuer_not_anchored",
                       "The issuing CA (%s) is not among Samba's pkinit_anchors, and no "
                       "msDS-KeyCredentialLink value of the account holds the certificate's key.",
                       c->issuer.rfc4514);
            return;
        }
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = "key_trust";
        OUT_REASON(x, o, "key_trust_unanchored",
                   "The issuing CA is not among Samba's pkinit_anchors, but the account's "
                   "msDS-KeyCredentialLink holds the certificate's key: Samba accepts it without "
                   "a binding check.");
    } else {
        if (x->at < c->not_before_t || x->at > c->not_after_t) {
            deny(o, KRB_AP_ERR_BAD_INTEGRITY);
            OUT_REASON(x, o, "certificate_time_invalid",
                       "The certificate is not valid at the evaluation time (%s .. %s); Samba's "
                       "KDC answers KRB_AP_ERR_BAD_INTEGRITY (its certificate check fails).",
                       c->not_before, c->not_after);
            return;
        }
        if (x->keytrust_samba)
            OUT_REASON(x, o, "key_trust_not_used",
                       "The account's msDS-KeyCredentialLink holds the certificate's key, but "
                       "Samba looks at it only for certificates its pkinit_anchors do not "
                       "validate; this one they do.");
    }
    if (sm_findings_has(&c->findings, "eku_not_logon"))
        OUT_REASON(x, o, "eku_not_checked",
                   "Samba checks no client EKU, so the certificate's EKU does not stop it here; "
                   "a Windows DC denies it (KDC_ERR_INCONSISTENT_KEY_PURPOSE).");

    /* explicit mappings in attribute order: in full enforcement Samba considers strong values
       only and stops at the first that matches; in compatibility mode the first that matches
       decides, weak or strong */
    for (size_t i = 0; i < x->n_altsec; i++) {
        const struct sm_altsec *a = x->altsec[i];
        if (a->kind == SM_ALTSEC_NOT_X509)
            continue;
        const char *value = x->redact ? NULL : arena_strdup(x->a, a->value);
        if (!value && !x->redact) {
            x->err = -ENOMEM;
            return;
        }
        const char *method =
            a->kind == SM_ALTSEC_MAPPING ? sm_map_type_name(a->type) : "invalid_value";
        enum sm_strength strength = a->samba_strong ? SM_STRENGTH_STRONG : SM_STRENGTH_WEAK;
        if (first_match || (p->mode == 2 && !a->samba_strong)) {
            path(o, method, strength, SM_PATH_NOT_CHECKED, value);
            continue;
        }
        bool hit = sm_altsec_matches_samba(a, c);
        path(o, method, strength, hit ? SM_PATH_MATCH : SM_PATH_NO_MATCH, value);
        if (hit)
            first_match = a;
    }
    const struct sm_sid_carrier *sid;
    const char *sid_method = "sid_extension";
    enum sid_state st = read_sid(x, pe, o, &sid, &sid_method);

    /* the binding check (skipped in "none", and for key trust without an anchor) */
    if (x->samba_anchored == 0) {
        /* key trust: decided above */
    } else if (p->mode == 0) {
        OUT_REASON(x, o, "binding_not_checked",
                   "strong certificate binding enforcement = none: Samba checks neither "
                   "mappings nor the SID.");
    } else if (first_match && first_match->samba_strong) {
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = sm_map_type_name(first_match->type);
        if (st == SID_MISMATCH)
            OUT_REASON(x, o, "strong_mapping_sid_mismatch",
                       "Allowed through the strong mapping, although the certificate carries "
                       "another SID: Samba checks the SID only when no strong mapping matched.");
    } else if (st == SID_MATCH) {
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = "sid_extension";
    } else if (st == SID_MISMATCH) {
        deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
        sid_mismatch_reason(x, o, sid, true);
        return;
    } else {
        bool backdated_ok = !acc->has_created || c->not_before_t + p->backdating_s >= acc->created;
        if (p->mode == 1 && first_match && backdated_ok) {
            o->mapping_strength = SM_STRENGTH_WEAK;
            o->mapping_method = sm_map_type_name(first_match->type);
        } else {
            deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
            OUT_REASON(x, o, "weak_mapping",
                       p->mode == 2 ? "Samba in full enforcement needs a strong "
                                      "altSecurityIdentities mapping or the SID extension; it "
                                      "does not consider weak values."
                       : first_match
                           ? "Samba in compatibility mode stops at the first value that "
                             "matches; this one is weak, and the certificate was issued before "
                             "the account existed (beyond the backdating compensation)."
                           : "Samba in compatibility mode denies a certificate with neither an "
                             "explicit mapping nor a SID.");
            return;
        }
    }
    /* the name check: one UPN SAN naming this account */
    bool name_ok = samba_name_ok(x);
    path(o, "upn_san", SM_STRENGTH_NONE,
         name_ok  ? SM_PATH_MATCH
         : x->upn ? SM_PATH_NO_MATCH
                  : SM_PATH_ABSENT,
         x->n_upn > 1 ? "more than one UPN SAN" : x->upn);
    if (!name_ok) {
        deny(o, KDC_ERR_CLIENT_NAME_MISMATCH);
        OUT_REASON(x, o, "samba_upn_required",
                   "%s Samba's KDC needs exactly one UPN SAN, naming %s; altSecurityIdentities "
                   "and the SID do not replace it.",
                   x->n_upn > 1 ? "The certificate has more than one UPN SAN."
                   : x->upn     ? "The certificate's UPN SAN names another account."
                                : "The certificate has no UPN SAN.",
                   who(x, acc));
        return;
    }
    if (!o->mapping_method) {
        o->mapping_strength = SM_STRENGTH_WEAK;
        o->mapping_method = "upn_san";
    }
}

/* ---- entry points -------------------------------------------------------------------------------
 */

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
    for (size_t i = 0; i < SM_MAX_KEYCREDS; i++)
        sm_keycred_free(v->keycred[i]);
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

/* The certificate's names the resolution uses. */
static void cert_names(struct ctx *x)
{
    const struct sm_cert *c = x->cert;
    for (size_t i = 0; i < c->n_san; i++) {
        if (c->san[i].type == SM_SAN_UPN && x->n_upn++ == 0)
            x->upn = c->san[i].value;
        if (c->san[i].type == SM_SAN_DNS && !x->dns)
            x->dns = c->san[i].value;
    }
}

/* Is @c's issuer among @anchors (by subject, and key identifier when both have one)? */
static int samba_anchored(const struct sm_certs *anchors, const struct sm_cert *c)
{
    if (!anchors) /* not given: assumed, but a self-issued certificate is nobody's anchor */
        return strcmp(c->subject.rfc4514, c->issuer.rfc4514) == 0 ? 0 : -1;
    for (size_t i = 0; i < anchors->n_certs; i++) {
        const struct sm_cert *ca = &anchors->certs[i];
        if (strcmp(ca->subject.rfc4514, c->issuer.rfc4514) == 0 &&
            (!ca->ski || !c->aki || strcasecmp(ca->ski, c->aki) == 0))
            return 1;
    }
    return 0;
}

/* Account only: its first readable published certificate. */
static int published_cert(struct ctx *x, struct sm_errinfo *reterr)
{
    const struct sm_account *acc = x->v->pub.account;
    struct sm_parse_opts po = { .now = x->at };
    struct sm_errinfo e;
    for (size_t i = 0; acc && i < acc->n_certs && !x->cert; i++)
        if (sm_certs_parse(acc->certs[i].data, acc->certs[i].len, &po, &x->v->owned_certs, &e) == 0)
            x->cert = &x->v->owned_certs->certs[0];
    if (x->cert)
        return 0;
    errinfo_set(reterr, -1, "%s",
                acc ? "the account publishes no certificate (userCertificate): give one"
                    : "no such account, and no certificate given");
    return -ENOENT;
}

/* The account owning the certificate's SID, when it is another one. */
static int sid_owner(struct ctx *x, struct sm_errinfo *reterr)
{
    struct sm_verdict *v = &x->v->pub;
    const struct sm_cert *c = x->cert;
    if (!v->account || c->sid.status != SM_SID_VALID)
        return 0;
    const struct sm_sid *s =
        c->sid.source == SM_SID_SOURCE_EXTENSION ? &c->sid.extension.sid : &c->sid.uri.sid;
    if (v->account->has_sid && sm_sid_equal(s, &v->account->sid))
        return 0;
    char text[SM_SID_TEXT_MAX];
    const struct sm_accounts *owner;
    int r = lookup(x, SM_LOOKUP_SID, sm_sid_format(s, text, sizeof(text)), &owner, reterr);
    if (r < 0)
        return r;
    v->sid_owner = first(owner);
    return 0;
}

int sm_verdict_evaluate(struct sm_dir *dir, const struct sm_verdict_input *in,
                        struct sm_verdict **ret, struct sm_errinfo *reterr)
{
    struct profile_eval pe[SM_MAX_PROFILES];
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
    x.redact = in->redact_account;
    for (size_t i = 0; i < n_profiles; i++)
        if ((r = profile_resolve(&profiles[i], x.at, &pe[i], reterr)) < 0)
            return r;
    x.v = calloc(1, sizeof(*x.v));
    if (!x.v || !(x.v->a = arena_new())) {
        free(x.v);
        return -ENOMEM;
    }
    x.a = x.v->a;
    struct sm_verdict *v = &x.v->pub;

    /* the named account, or the one the certificate resolves to */
    x.cert = in->cert;
    if (x.cert)
        cert_names(&x);
    if (in->account)
        r = resolve_named(&x, in->account, reterr);
    else
        r = resolve_from_cert(&x, reterr);
    if (r < 0)
        goto out_fail;
    if (!x.cert) {
        if ((r = published_cert(&x, reterr)) < 0)
            goto out_fail;
        cert_names(&x);
    }
    v->cert = x.cert;
    v->redacted = x.redact;
    x.samba_anchored = samba_anchored(in->samba_anchors, x.cert);
    if ((r = account_facts(&x, reterr)) < 0 || (r = sid_owner(&x, reterr)) < 0 ||
        (r = key_trust(&x)) < 0)
        goto out_fail;

    /* the account's explicit mappings, parsed once for all profiles, in attribute order */
    if (v->account)
        for (size_t i = 0; i < v->account->n_altsec && x.n_altsec < SM_MAX_ALTSEC; i++) {
            const char *s = v->account->altsec[i];
            struct sm_errinfo e;
            if (sm_altsec_parse(s, strlen(s), &x.altsec[x.n_altsec], &e) == 0)
                x.n_altsec++;
        }
    bool windows = false;
    for (size_t i = 0; i < n_profiles; i++)
        windows |= profiles[i].kind != SM_PROFILE_SAMBA;
    x.ntauth = windows && budget(&x) ? ntauth_check(dir, x.cert) : NTAUTH_UNKNOWN;
    v->ntauth_known = x.ntauth != NTAUTH_UNKNOWN;
    v->issuer_in_ntauth = x.ntauth == NTAUTH_PRESENT;
    if (windows && x.ntauth == NTAUTH_UNKNOWN)
        REQ_REASON(&x, "ntauth_unknown",
                   "The NTAuth store could not be read; the issuer's trust for logon is not "
                   "checked.");

    v->allow = true;
    for (size_t i = 0; i < n_profiles; i++) {
        struct sm_profile_outcome *o = &x.v->outcomes[i];
        memset(o, 0, sizeof(*o));
        o->profile = pe[i].p;
        o->profile_update_given = pe[i].update_given;
        o->san_uri_sid = pe[i].san_uri_sid;
        o->issuer_sid_mapping = pe[i].issuer_sid;
        o->allow = true;
        if (profiles[i].kind == SM_PROFILE_SAMBA)
            evaluate_samba(&x, &pe[i], o);
        else
            evaluate_windows(&x, &pe[i], o);
        if (!o->allow) {
            v->allow = false;
            if (!v->primary)
                v->primary = o;
        }
    }
    v->profiles = x.v->outcomes;
    v->n_profiles = n_profiles;
    if (!v->primary)
        v->primary = &x.v->outcomes[0];
    if (!x.err)
        x.err = remediate(v, x.a);
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

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
#include <string.h>

#include <strongmap/verdict.h>

#include "alloc.h"
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

const char *sm_issuer_sig_name(enum sm_issuer_sig s)
{
    static const char *const names[] = { "not_checked", "valid", "invalid", "unsupported" };
    return (unsigned)s < ARRAY_SIZE(names) ? names[s] : NULL;
}

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

/* ---- the evaluation context ----------------------------------------------------------------- */

/* How texts name an account: its DN, or nothing the caller may not see. */
const char *vx_who(const struct ctx *x, const struct sm_account *a)
{
    return x->redact ? "the account" : a->dn;
}

void vx_reason(struct ctx *x, struct sm_reason *list, size_t *n, const char *code, const char *fmt,
               ...) SM_PRINTF(5, 6);

void vx_reason(struct ctx *x, struct sm_reason *list, size_t *n, const char *code, const char *fmt,
               ...)
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

const char *vx_printf(struct ctx *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    const char *s = arena_vprintf(x->a, fmt, ap);
    va_end(ap);
    if (!s)
        x->err = -ENOMEM;
    return s;
}

void vx_path(struct sm_profile_outcome *o, const char *method, enum sm_strength strength,
             enum sm_path_result result, const char *detail)
{
    if (o->n_paths >= SM_MAX_PATHS)
        return;
    o->paths[o->n_paths++] = (struct sm_path){ method, strength, result, detail };
}

void vx_deny(struct sm_profile_outcome *o, int code)
{
    if (!o->kdc_error.code) /* the first failing check is what the client sees */
        o->kdc_error = kdc_error(code);
    o->allow = false;
}

void vx_event(struct sm_profile_outcome *o, int id, const char *level, const char *text)
{
    if (o->n_events >= SM_MAX_EVENTS)
        return;
    o->events[o->n_events++] = (struct sm_event){ id, level, text };
    o->event = o->events[0];
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

static const char *sid_text(struct ctx *x, const struct sm_sid *s)
{
    char t[SM_SID_TEXT_MAX];
    return vx_printf(x, "%s", sm_sid_format(s, t, sizeof(t)));
}

/* Read the SID this profile's DC uses and compare it with the account's (a path is added). */
enum sid_state vx_read_sid(struct ctx *x, const struct profile_eval *pe,
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
            vx_path(o, "sid", SM_STRENGTH_STRONG, SM_PATH_UNSUPPORTED,
                    "UseSubjectAltName = 0: the DC ignores it");
        return SID_NONE;
    }
    if (!sid) {
        vx_path(o, "sid", SM_STRENGTH_STRONG, SM_PATH_ABSENT,
                !pe->san_uri_sid && c->sid.uri.status != SM_SID_ABSENT
                    ? "Windows Server 2016 does not read the SAN URI"
                : samba && c->sid.extension.status == SM_SID_MALFORMED
                    ? "Samba ignores a malformed SID extension"
                : samba && c->sid.uri.status != SM_SID_ABSENT ? "Samba does not read the SAN URI"
                                                              : NULL);
        return SID_NONE;
    }
    if (sid->status == SM_SID_MALFORMED) {
        vx_path(o, *method, SM_STRENGTH_STRONG, SM_PATH_MALFORMED, sid->reason);
        return SID_MALFORMED;
    }
    st = acc->has_sid && sm_sid_equal(&sid->sid, &acc->sid) ? SID_MATCH : SID_MISMATCH;
    /* Samba compares the certificate's text byte for byte with its own rendering */
    if (samba && st == SID_MATCH && !sid->canonical)
        st = SID_MISMATCH;
    vx_path(o, *method, SM_STRENGTH_STRONG, st == SID_MATCH ? SM_PATH_MATCH : SM_PATH_MISMATCH,
            sid_text(x, &sid->sid));
    return st;
}

void vx_sid_mismatch_reason(struct ctx *x, struct sm_profile_outcome *o,
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

void vx_not_in_ntauth_reason(struct ctx *x, struct sm_profile_outcome *o)
{
    OUT_REASON(x, o, "issuer_not_in_ntauth",
               "The issuing CA (%s) is not in the forest's NTAuth store: a DC accepts "
               "certificate logon only from CAs published there.",
               x->cert->issuer.rfc4514);
}

void vx_key_trust_paths(struct ctx *x, struct sm_profile_outcome *o, bool samba)
{
    const struct sm_verdict *v = &x->v->pub;
    for (size_t i = 0; i < v->n_keycreds; i++) {
        const struct sm_keycred *k = v->keycreds[i].cred;
        bool usable = samba ? k->samba_usable : k->logon_key;
        vx_path(o, "key_trust", SM_STRENGTH_STRONG,
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
    mem_free(v);
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

/*
 * Is @c's issuer among @anchors (by subject, and key identifier when both have one), and did
 * one of them sign @c? *@anchored: 1; 0 (not there, or none there of its name signed it, then
 * *@sig is SM_ISSUER_SIG_INVALID); -1 when @anchors were not given (assumed, but a self-issued
 * certificate is nobody's anchor). One that cannot be told (an algorithm not supported) counts
 * as anchored. 0 or -ENOMEM.
 */
static int samba_anchored(const struct sm_certs *anchors, const struct sm_cert *c, int *anchored,
                          enum sm_issuer_sig *sig)
{
    int r;

    *sig = SM_ISSUER_SIG_NOT_CHECKED;
    if (!anchors) {
        *anchored = strcmp(c->subject.rfc4514, c->issuer.rfc4514) == 0 ? 0 : -1;
        return 0;
    }
    if ((r = vx_issuer_signed(c, anchors->certs, anchors->n_certs, sig)) < 0)
        return r;
    *anchored = *sig == SM_ISSUER_SIG_VALID || *sig == SM_ISSUER_SIG_UNSUPPORTED ? 1 : 0;
    return 0;
}

/* What the verdict says of the signature: valid when one trusted CA signed it, ... */
static enum sm_issuer_sig sig_join(enum sm_issuer_sig a, enum sm_issuer_sig b)
{
    static const int rank[] = { [SM_ISSUER_SIG_NOT_CHECKED] = 0,
                                [SM_ISSUER_SIG_UNSUPPORTED] = 1,
                                [SM_ISSUER_SIG_INVALID] = 2,
                                [SM_ISSUER_SIG_VALID] = 3 };
    return rank[a] >= rank[b] ? a : b;
}

/*
 * sm_verdict_input.require_issuer_signature: the issuer checked before any lookup. 0 with
 * *@pass set when a CA the DCs trust signed the certificate (the verdict goes on); otherwise
 * every profile denies with the issuer's reason, no account is looked up, and @x's outcomes
 * are complete. -ENOMEM.
 */
static int issuer_first(struct ctx *x, const struct sm_verdict_input *in,
                        const struct profile_eval *pe, size_t n, bool *pass)
{
    struct sm_verdict *v = &x->v->pub;
    const struct sm_cert *c = x->cert;
    enum sm_issuer_sig ws = SM_ISSUER_SIG_NOT_CHECKED, ss = SM_ISSUER_SIG_NOT_CHECKED;
    bool windows = false, samba = false;
    int r;

    for (size_t i = 0; i < n; i++)
        *(pe[i].p.kind == SM_PROFILE_SAMBA ? &samba : &windows) = true;
    x->ntauth = NTAUTH_UNKNOWN;
    x->samba_anchored = -1;
    if (windows && (r = ntauth_check(x->dir, c, NULL, &x->ntauth, &ws)) < 0)
        return r;
    if (samba && (r = samba_anchored(in->samba_anchors, c, &x->samba_anchored, &ss)) < 0)
        return r;
    v->issuer_signature = sig_join(ws, ss);
    v->ntauth_known = x->ntauth != NTAUTH_UNKNOWN;
    v->issuer_in_ntauth = x->ntauth == NTAUTH_PRESENT;
    /* kept for the verdict that follows: the same checks are not made twice */
    x->gated = true;
    x->gate_ntauth = windows;
    x->gate_samba = samba;
    x->gate_ws = ws;
    x->gate_ss = ss;
    if ((*pass = ws == SM_ISSUER_SIG_VALID || ss == SM_ISSUER_SIG_VALID))
        return 0;

    v->allow = false;
    for (size_t i = 0; i < n; i++) {
        struct sm_profile_outcome *o = &x->v->outcomes[i];
        bool sb = pe[i].p.kind == SM_PROFILE_SAMBA;
        enum sm_issuer_sig s = sb ? ss : ws;

        memset(o, 0, sizeof(*o));
        o->profile = pe[i].p;
        o->profile_update_given = pe[i].update_given;
        o->allow = false;
        if (s == SM_ISSUER_SIG_INVALID) {
            vx_deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
            OUT_REASON(x, o, "issuer_signature_invalid",
                       "The certificate names %s as its issuer, a CA %s trusts, but that CA's "
                       "key did not sign it: it is forged, or was altered after signing.",
                       c->issuer.rfc4514, sb ? "Samba's pkinit_anchors" : "the NTAuth store");
        } else if (!sb && x->ntauth == NTAUTH_ABSENT) {
            vx_deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
            vx_not_in_ntauth_reason(x, o);
        } else if (sb && x->samba_anchored == 0) {
            vx_deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
            OUT_REASON(x, o, "issuer_not_anchored",
                       "The issuing CA (%s) is not among Samba's pkinit_anchors.",
                       c->issuer.rfc4514);
        } else {
            OUT_REASON(x, o, "issuer_not_verified",
                       "The certificate's signature could not be checked with the key of a CA "
                       "the DCs trust for logon (%s), and a certificate that proves nothing "
                       "about its holder is judged only when it can: no account was looked up.",
                       s == SM_ISSUER_SIG_UNSUPPORTED ? "its algorithm is not supported here"
                       : sb                           ? "Samba's pkinit_anchors were not given"
                                                      : "the NTAuth store could not be read");
        }
    }
    /* a self-signed certificate (Windows Hello for Business key trust) is not judged either:
       that would look the account's keys up */
    if (strcmp(c->subject.rfc4514, c->issuer.rfc4514) == 0)
        REQ_REASON(x, "key_trust_not_evaluated",
                   "A self-signed certificate maps only through key trust, which is judged for a "
                   "caller that may see account data: no account was looked up.");
    v->profiles = x->v->outcomes;
    v->n_profiles = n;
    v->primary = &x->v->outcomes[0];
    return 0;
}

/* Account only: its first readable published certificate. */
static int published_cert(struct ctx *x, struct sm_errinfo *reterr)
{
    const struct sm_account *acc = x->v->pub.account;
    struct sm_parse_opts po = { .now = x->at };
    struct sm_errinfo e;
    for (size_t i = 0; acc && i < acc->n_certs && !x->cert; i++) {
        int r = sm_certs_parse(acc->certs[i].data, acc->certs[i].len, &po, &x->v->owned_certs, &e);
        if (r == -ENOMEM) /* not "no certificate" */
            return r;
        if (r == 0)
            x->cert = &x->v->owned_certs->certs[0];
    }
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
    int r = vx_lookup(x, SM_LOOKUP_SID, sm_sid_format(s, text, sizeof(text)), &owner, reterr);
    if (r < 0)
        return r;
    v->sid_owner = vx_first(owner);
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
    x.v = mem_calloc(1, sizeof(*x.v));
    if (!x.v || !(x.v->a = arena_new())) {
        mem_free(x.v);
        return -ENOMEM;
    }
    x.a = x.v->a;
    struct sm_verdict *v = &x.v->pub;

    /* the named account, or the one the certificate resolves to; the NTAuth store read along
       with the first lookup that reaches the directory, when the kept one will not do */
    x.cert = in->cert;
    if (x.cert)
        cert_names(&x);
    bool windows = false;
    for (size_t i = 0; i < n_profiles; i++)
        windows |= profiles[i].kind != SM_PROFILE_SAMBA;
    /* a caller who may not see accounts learns from a verdict only about certificates a
       trusted CA made: else a crafted one would ask whether an account has its SID or mapping */
    if ((in->require_issuer_signature || in->redact_account) && x.cert && !in->issuer_unknown) {
        bool pass = false;
        if ((r = issuer_first(&x, in, pe, n_profiles, &pass)) < 0)
            goto out_fail;
        if (!pass) {
            v->cert = x.cert;
            v->redacted = x.redact;
            goto out_done;
        }
    }
    if (windows && !in->issuer_unknown && !x.gated &&
        (r = ntauth_prepare(dir, x.cert, &x.along)) < 0)
        goto out_fail;
    if (in->account)
        r = vx_resolve_named(&x, in->account, reterr);
    else
        r = vx_resolve_from_cert(&x, reterr);
    if (r < 0)
        goto out_fail;
    if (!x.cert) {
        if ((r = published_cert(&x, reterr)) < 0)
            goto out_fail;
        cert_names(&x);
    }
    v->cert = x.cert;
    v->redacted = x.redact;
    enum sm_issuer_sig ws = SM_ISSUER_SIG_NOT_CHECKED, ss = SM_ISSUER_SIG_NOT_CHECKED;
    if (x.gated && x.gate_samba) {
        ss = x.gate_ss; /* x.samba_anchored was set by issuer_first() */
    } else {
        x.samba_anchored = -1;
        if (!in->issuer_unknown &&
            (r = samba_anchored(in->samba_anchors, x.cert, &x.samba_anchored, &ss)) < 0)
            goto out_fail;
    }
    x.samba_forged = ss == SM_ISSUER_SIG_INVALID;
    if ((r = vx_account_facts(&x, reterr)) < 0 || (r = sid_owner(&x, reterr)) < 0 ||
        (r = vx_key_trust(&x)) < 0)
        goto out_fail;

    /* the account's explicit mappings, parsed once for all profiles, in attribute order (a
       value that is not even text is left out: no KDC reads it either) */
    if (v->account)
        for (size_t i = 0; i < v->account->n_altsec && x.n_altsec < SM_MAX_ALTSEC; i++) {
            const char *s = v->account->altsec[i];
            struct sm_errinfo e;
            r = sm_altsec_parse(s, strlen(s), &x.altsec[x.n_altsec], &e);
            if (r == -ENOMEM)
                goto out_fail;
            if (r == 0)
                x.n_altsec++;
        }
    if (x.gated && x.gate_ntauth) {
        ws = x.gate_ws; /* x.ntauth was set by issuer_first() */
    } else {
        x.ntauth = NTAUTH_UNKNOWN;
        if (windows && !in->issuer_unknown && vx_budget(&x) &&
            (r = ntauth_check(dir, x.cert, &x.along, &x.ntauth, &ws)) < 0)
            goto out_fail;
    }
    v->ntauth_known = x.ntauth != NTAUTH_UNKNOWN;
    v->issuer_in_ntauth = x.ntauth == NTAUTH_PRESENT;
    /* a Samba-only fleet: Samba's anchors; else what the NTAuth store says, or the anchors */
    v->issuer_signature = windows ? sig_join(ws, ss) : ss;
    if (windows && in->issuer_unknown)
        REQ_REASON(&x, "issuer_not_known",
                   "The issuing CA is not known: whether it is in the forest's NTAuth store "
                   "is not checked.");
    else if (windows && x.ntauth == NTAUTH_UNKNOWN)
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
            vx_evaluate_samba(&x, &pe[i], o);
        else
            vx_evaluate_windows(&x, &pe[i], o);
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
out_done:
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

/*
 * lib/preissue.c - the issuance plan (strongmap/preissue.h, docs/preissue.md): what a CA must
 * put into a certificate, and remove from the request, so that the account logs on under full
 * enforcement; and the security findings on which it must refuse.
 *
 * The request's names are checked against the directory (a SID, UPN or DNS name of another
 * account is an impersonation attempt: with "supply in the request" templates the requester
 * chooses them), the certificate as requested and as it should be issued are built as the
 * facts of certificates not issued yet (cert_plan(), lib/cert_csr.c), and the verdict engine
 * (sm_verdict_evaluate()) predicts each DC profile's answer for both. Directory lookups of the
 * name checks are bounded (SM_MAX_PREISSUE_LOOKUPS); past the bound the plan refuses.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <strongmap/preissue.h>

#include "alloc.h"
#include "cert_plan.h"
#include "util.h"

#define DAY 86400L

struct preissue_impl {
    struct sm_preissue pub;
    struct arena *a;
    struct sm_verdict *v_req, *v_iss;
    struct sm_accounts *owned[SM_MAX_PREISSUE_LOOKUPS];
    size_t n_owned;
    struct sm_preissue_change changes[SM_MAX_PREISSUE_CHANGES];
    struct sm_sid_carrier sid_ext; /* the SID extension as issued */
};

/* What one plan works with. */
struct px {
    struct preissue_impl *p;
    struct arena *a;
    struct sm_dir *dir;
    const struct sm_account *acc;
    const char *domain;   /* the account's DNS domain (its DN's DC= parts), or NULL */
    const char *implicit; /* sAMAccountName@domain, or NULL */
    bool budget_spent;    /* a name could not be checked: lookups exhausted */
    int err;
};

static void finding(struct px *x, const char *code, enum sm_severity sev, const char *fmt, ...)
    SM_PRINTF(4, 5);

static void finding(struct px *x, const char *code, enum sm_severity sev, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (findings_add(&x->p->pub.findings, x->a, code, sev, NULL, "%s", msg) < 0)
        x->err = -ENOMEM;
}

static void change(struct px *x, bool add, const char *what, const char *value, const char *reason)
{
    struct sm_preissue *pub = &x->p->pub;
    if (pub->n_changes >= SM_MAX_PREISSUE_CHANGES)
        return;
    const char *v = arena_strdup(x->a, value ? value : "");
    if (!v) {
        x->err = -ENOMEM;
        return;
    }
    x->p->changes[pub->n_changes++] = (struct sm_preissue_change){ add, what, v, reason };
}

/* The DNS domain of @dn (util.h), x->err set when out of memory. */
static const char *dn_domain(struct px *x, const char *dn)
{
    bool oom = false;
    const char *d = dn_dns_domain(x->a, dn, &oom);
    if (oom)
        x->err = -ENOMEM;
    return d;
}

/* ---- who a name belongs to ----------------------------------------------------------------- */

/* One bounded lookup: 0 with *@ret (owned by the plan, NULL when over budget or the name is
   not a valid one), or the directory's error. */
static int lookup(struct px *x, enum sm_lookup how, const char *name,
                  const struct sm_accounts **ret, struct sm_errinfo *e)
{
    struct sm_accounts *found = NULL;
    int r;

    *ret = NULL;
    if (x->p->n_owned >= SM_MAX_PREISSUE_LOOKUPS) {
        x->budget_spent = true;
        return 0;
    }
    x->p->pub.lookups++;
    r = sm_dir_lookup(x->dir, how, name, &found, e);
    if (r == -EINVAL || r == -EPERM)
        return 0; /* not a name any account can have */
    if (r < 0)
        return r;
    x->p->owned[x->p->n_owned++] = found;
    *ret = found;
    return 0;
}

static bool same_account(const struct sm_account *a, const struct sm_account *b)
{
    return a && b && strcasecmp(a->dn, b->dn) == 0;
}

/* The first account of @found other than the plan's whose DNS domain is @domain (any when
   @domain is NULL). */
static const struct sm_account *other_in(struct px *x, const struct sm_accounts *found,
                                         const char *domain)
{
    for (size_t i = 0; found && i < found->n; i++)
        if (!same_account(&found->v[i], x->acc) &&
            (!domain || name_caseeq(dn_domain(x, found->v[i].dn), domain)))
            return &found->v[i];
    return NULL;
}

/* The account other than the plan's that @upn names (userPrincipalName, else the implicit
   UPN sAMAccountName@domain), or NULL. */
static int upn_owner(struct px *x, const char *upn, const struct sm_account **ret,
                     struct sm_errinfo *e)
{
    const struct sm_accounts *found;
    const char *at = strrchr(upn, '@');
    int r;

    *ret = NULL;
    if ((r = lookup(x, SM_LOOKUP_UPN, upn, &found, e)) < 0)
        return r;
    if (found && found->n) {
        *ret = other_in(x, found, NULL);
        return 0;
    }
    if (!at || at == upn || !at[1] || (size_t)(at - upn) >= SM_MAX_NAME)
        return 0;
    char sam[SM_MAX_NAME + 1];
    memcpy(sam, upn, (size_t)(at - upn));
    sam[at - upn] = '\0';
    if (strchr(sam, '\\'))
        return 0;
    if ((r = lookup(x, SM_LOOKUP_SAM, sam, &found, e)) < 0)
        return r;
    *ret = other_in(x, found, at + 1);
    return 0;
}

/* The account other than the plan's that @dns names: by MS-PKCA's host rule (first label +
   "$" and the domain), or by dNSHostName. */
static int dns_owner(struct px *x, const char *dns, const struct sm_account **ret,
                     struct sm_errinfo *e)
{
    const struct sm_accounts *found;
    const char *dot = strchr(dns, '.');
    int r;

    *ret = NULL;
    if (dot && dot != dns && (size_t)(dot - dns) + 1 < SM_MAX_NAME) {
        char sam[SM_MAX_NAME + 1];
        size_t label = (size_t)(dot - dns);
        memcpy(sam, dns, label);
        sam[label] = '$';
        sam[label + 1] = '\0';
        if ((r = lookup(x, SM_LOOKUP_SAM, sam, &found, e)) < 0)
            return r;
        if ((*ret = other_in(x, found, dot + 1)) != NULL)
            return 0;
    }
    if ((r = lookup(x, SM_LOOKUP_DNS_HOST, dns, &found, e)) < 0)
        return r;
    *ret = other_in(x, found, NULL);
    return 0;
}

static const char *who(const struct sm_account *a)
{
    return a->sam ? a->sam : a->dn;
}

/* ---- the request, entry by entry ------------------------------------------------------------ */

static const char *sid_text(struct px *x, const struct sm_sid *s)
{
    char t[SM_SID_TEXT_MAX];
    const char *r = arena_strdup(x->a, sm_sid_format(s, t, sizeof(t)));
    if (!r)
        x->err = -ENOMEM;
    return r;
}

/* A SID the request carries (@what "extension" or "SAN URI"): keep it (true) or not. */
static int check_sid(struct px *x, const struct sm_sid_carrier *car, const char *what, bool *keep,
                     struct sm_errinfo *e)
{
    const struct sm_account *acc = x->acc;
    *keep = false;
    if (car->status == SM_SID_MALFORMED) {
        finding(x, strcmp(what, "extension") == 0 ? "sid_extension_malformed" : "sid_uri_malformed",
                SM_SEV_ERROR,
                "The request's SID %s is malformed (%s): a Windows DC that reads it fails the "
                "logon with KRB_ERR_GENERIC (60) and logs no event. Do not copy it into the "
                "certificate.",
                what, car->reason ? car->reason : "unreadable");
        return 0;
    }
    if (acc->has_sid && sm_sid_equal(&car->sid, &acc->sid)) {
        *keep = car->canonical; /* Samba compares the text: rewrite a non-canonical one */
        return 0;
    }
    const struct sm_accounts *found;
    const char *text = sid_text(x, &car->sid);
    int r;
    if (!text)
        return -ENOMEM;
    if ((r = lookup(x, SM_LOOKUP_SID, text, &found, e)) < 0)
        return r;
    const struct sm_account *owner = other_in(x, found, NULL);
    finding(x, "sid_other_account", SM_SEV_ERROR,
            "The request carries SID %s in its %s, which is not the account's%s%s%s: a "
            "requester who chooses the SID impersonates its owner (with \"supply in the "
            "request\" templates). Refuse the request, or replace the SID with the account's.",
            text, what, owner ? " but belongs to " : "", owner ? who(owner) : "",
            owner ? "" : " and names no account");
    return 0;
}

/* The SAN as it should be issued: the names the account needs first, then what is kept. */
static int plan_san(struct px *x, const struct sm_cert *req, const struct sm_san **ret,
                    size_t *ret_n, struct sm_errinfo *e)
{
    const struct sm_account *acc = x->acc;
    struct sm_preissue *pub = &x->p->pub;
    struct sm_san *san = arena_alloc(x->a, (req->n_san + 3) * sizeof(*san));
    size_t n = 0;
    bool have_upn = false, have_dns = false, have_uri = false, upn_placed = false,
         dns_placed = false;
    int r;

    if (!san)
        return -ENOMEM;
    /* the account's own names first: a Windows DC uses the first UPN and the first DNS name */
    for (size_t i = 0; i < req->n_san; i++) {
        const struct sm_san *s = &req->san[i];
        if (s->type == SM_SAN_UPN && !have_upn &&
            (name_caseeq(s->value, acc->upn) || name_caseeq(s->value, x->implicit)))
            have_upn = true;
        if (s->type == SM_SAN_DNS && !have_dns && pub->dns && name_caseeq(s->value, pub->dns))
            have_dns = true;
    }
    if (pub->upn) {
        san[n++] = (struct sm_san){ .type = SM_SAN_UPN,
                                    .value = pub->upn,
                                    .oid = "1.3.6.1.4.1.311.20.2.3" };
        upn_placed = true;
        if (!have_upn)
            change(x, true, "san_upn", pub->upn,
                   acc->is_computer ? "Samba maps a computer by a UPN SAN HOST$@realm"
                                    : "a Windows DC finds and maps the account by its UPN SAN "
                                      "(implicit mapping); Samba requires exactly one");
    }
    if (pub->dns && acc->is_computer) {
        san[n++] = (struct sm_san){ .type = SM_SAN_DNS, .value = pub->dns };
        dns_placed = true;
        if (!have_dns)
            change(x, true, "san_dns", pub->dns,
                   "a Windows DC maps a computer by its first DNS SAN (host label + \"$\" = "
                   "sAMAccountName, the rest its domain)");
    }
    for (size_t i = 0; i < req->n_san; i++) {
        const struct sm_san *s = &req->san[i];
        const struct sm_account *owner = NULL;
        size_t pl = strlen(SM_SID_URI_PREFIX);
        if (s->type == SM_SAN_UPN) {
            if (name_caseeq(s->value, acc->upn) || name_caseeq(s->value, x->implicit)) {
                if (!upn_placed) /* a computer's own UPN, kept once */
                    san[n++] = *s;
                upn_placed = true;
                continue;
            }
            if ((r = upn_owner(x, s->value, &owner, e)) < 0)
                return r;
            if (owner)
                finding(x, "upn_other_account", SM_SEV_ERROR,
                        "The request names UPN %s, which is %s's: a certificate carrying it "
                        "would log on as that account. Refuse the request.",
                        s->value, who(owner));
            change(x, false, "san_upn", s->value,
                   owner ? "the UPN of another account"
                         : "not the account's UPN: a second UPN SAN makes Samba refuse the "
                           "logon (75), and Windows reads only the first");
            continue;
        }
        if (s->type == SM_SAN_DNS) {
            if (acc->is_computer && name_caseeq(s->value, pub->dns)) {
                if (!dns_placed)
                    san[n++] = *s;
                dns_placed = true;
                continue;
            }
            if ((r = dns_owner(x, s->value, &owner, e)) < 0)
                return r;
            if (owner) {
                finding(x, "dns_other_account", SM_SEV_ERROR,
                        "The request names DNS name %s, which maps to %s: a certificate "
                        "carrying it would authenticate as that computer. Refuse the "
                        "request.",
                        s->value, who(owner));
                change(x, false, "san_dns", s->value, "the DNS name of another account");
                continue;
            }
        }
        if (s->type == SM_SAN_URI && s->value && strlen(s->value) >= pl &&
            ascii_caseeq(s->value, pl, SM_SID_URI_PREFIX, pl)) {
            struct sm_sid sid;
            bool canonical = false, keep = false;
            struct sm_sid_carrier car = { .status = SM_SID_MALFORMED, .reason = "not a SID" };
            if (sm_sid_parse(s->value + pl, strlen(s->value) - pl, &sid, &canonical, NULL) == 0)
                car = (struct sm_sid_carrier){ .status = SM_SID_VALID,
                                               .sid = sid,
                                               .canonical = canonical };
            if ((r = check_sid(x, &car, "SAN URI", &keep, e)) < 0)
                return r;
            if (keep && !have_uri) {
                have_uri = true;
                san[n++] = *s;
            } else {
                change(x, false, "san_uri", s->value,
                       keep ? "a second SID URI makes the SID unreadable (60)"
                            : "not the account's SID, or not in canonical form");
            }
            continue;
        }
        san[n++] = *s;
    }
    if (!have_uri && pub->sid_uri) {
        san[n++] = (struct sm_san){ .type = SM_SAN_URI, .value = pub->sid_uri };
        change(x, true, "san_uri", pub->sid_uri,
               "the account's SID for Windows Server 2019 and later DCs that read the SAN URI "
               "(KB5014754)");
    }
    *ret = san;
    *ret_n = n;
    return 0;
}

/*
 * The account's material: SID, its extension's DER, the URI, the UPN and DNS name it needs
 * (a computer's UPN HOST$@domain only when @computer_upn: for Samba).
 */
static int material(struct px *x, bool computer_upn)
{
    const struct sm_account *acc = x->acc;
    struct sm_preissue *pub = &x->p->pub;
    struct su_buf b;
    uint8_t der[256];

    x->domain = dn_domain(x, acc->dn);
    if (x->err)
        return x->err;
    if (acc->sam && x->domain && !(x->implicit = arena_cat(x->a, acc->sam, "@", x->domain, NULL)))
        return -ENOMEM;
    if (acc->is_computer) {
        size_t l = acc->sam ? strlen(acc->sam) : 0;
        if (l > 1 && acc->sam[l - 1] == '$' && x->domain &&
            !(pub->dns = arena_printf(x->a, "%.*s.%s", (int)(l - 1), acc->sam, x->domain)))
            return -ENOMEM;
        pub->upn = computer_upn ? x->implicit : NULL; /* what Samba maps a computer by */
    } else {
        pub->upn = acc->upn ? acc->upn : x->implicit;
    }
    if (!acc->has_sid)
        return 0;
    long n = sm_sid_extension_der(&acc->sid, der, sizeof(der));
    if (n < 0)
        return (int)n;
    pub->sid = sid_text(x, &acc->sid);
    pub->sid_uri = arena_cat(x->a, SM_SID_URI_PREFIX, pub->sid ? pub->sid : "", NULL);
    arena_buf_init(&b, x->a);
    su_buf_hex(&b, der, (size_t)n);
    pub->sid_extension_der_hex = su_buf_str(&b);
    arena_buf_init(&b, x->a);
    su_buf_base64(&b, der, (size_t)n);
    pub->sid_extension_der_base64 = su_buf_str(&b);
    if (!pub->sid || !pub->sid_uri || !pub->sid_extension_der_hex || !pub->sid_extension_der_base64)
        return -ENOMEM;
    /* the extension as AD CS writes it: non-critical, canonical text */
    struct sm_sid_carrier *c = &x->p->sid_ext;
    c->status = SM_SID_VALID;
    c->sid = acc->sid;
    c->text = pub->sid;
    c->canonical = true;
    c->count = 1;
    return 0;
}

/*
 * Other accounts holding an altSecurityIdentities value the certificate @c (as issued) will
 * match: the certificate logs on as those accounts too (a warning: their values, not the
 * request, are at fault). One lookup for every value at once.
 */
static int mapping_owners(struct px *x, const struct sm_cert *c, struct sm_errinfo *e)
{
    const char *values[SM_MAX_ALTSEC];
    struct sm_accounts *found = NULL;
    size_t n = 0;
    int r;

    for (size_t i = 0; i < c->n_mappings && n < SM_MAX_ALTSEC; i++)
        values[n++] = c->mappings[i].value;
    if (!n)
        return 0;
    if (x->p->n_owned >= SM_MAX_PREISSUE_LOOKUPS) {
        x->budget_spent = true;
        return 0;
    }
    x->p->pub.lookups++;
    if ((r = sm_dir_find_altsec(x->dir, values, n, &found, e)) < 0)
        return r;
    x->p->owned[x->p->n_owned++] = found;
    for (size_t i = 0; i < found->n; i++) {
        const struct sm_account *o = &found->v[i];
        if (same_account(o, x->acc))
            continue;
        for (size_t k = 0; k < o->n_altsec; k++)
            for (size_t m = 0; m < c->n_mappings; m++) {
                const struct sm_mapping *mp = &c->mappings[m];
                if (strcasecmp(o->altsec[k], mp->value) != 0)
                    continue;
                bool strong = sm_map_type_strong(mp->type);
                finding(x, "mapping_other_account", SM_SEV_WARNING,
                        "%s holds the altSecurityIdentities value %s (%s, %s), which this "
                        "certificate will match: a client naming %s logs on with it as that "
                        "account%s. Fix that account's value.",
                        who(o), mp->value, sm_map_type_name(mp->type), strong ? "strong" : "weak",
                        who(o),
                        strong ? ""
                               : " where weak mappings are still allowed (compatibility mode)");
            }
    }
    return 0;
}

/* ---- the plan ------------------------------------------------------------------------------ */

static bool any_samba(const struct sm_preissue_input *in)
{
    for (size_t i = 0; i < in->n_profiles; i++)
        if (in->profiles[i].kind == SM_PROFILE_SAMBA)
            return true;
    return false;
}

static int evaluate(struct px *x, const struct sm_preissue_input *in, const struct cert_plan *cp,
                    const struct sm_cert **cert, struct sm_verdict **v, struct sm_errinfo *e)
{
    int r = cert_plan(x->a, cp, cert);
    if (r < 0)
        return r;
    struct sm_verdict_input vin = {
        .cert = *cert,
        .account = in->account,
        .profiles = in->profiles,
        .n_profiles = in->n_profiles,
        .at = cp->not_before,
        .issuer_unknown = cp->issuer == NULL,
    };
    return sm_verdict_evaluate(x->dir, &vin, v, e);
}

int sm_preissue_plan(struct sm_dir *dir, const struct sm_preissue_input *in,
                     struct sm_preissue **ret, struct sm_errinfo *reterr)
{
    const struct sm_cert *req = in->request, *c_req = NULL, *c_iss = NULL;
    struct px x;
    int r;

    if (!dir || !req || !in->account || !in->account[0]) {
        errinfo_set(reterr, -1, "%s",
                    !dir   ? "no directory configured"
                    : !req ? "no request given"
                           : "give the account the certificate is for");
        return -EINVAL;
    }
    if (in->n_profiles > SM_MAX_PROFILES) {
        errinfo_set(reterr, -1, "at most %d profiles", SM_MAX_PROFILES);
        return -EINVAL;
    }
    if (in->validity_days < 0 || in->validity_days > 36500) {
        errinfo_set(reterr, -1, "the validity is 1 to 36500 days");
        return -EINVAL;
    }
    memset(&x, 0, sizeof(x));
    x.dir = dir;
    if (!(x.p = mem_calloc(1, sizeof(*x.p))) || !(x.p->a = arena_new())) {
        mem_free(x.p);
        errinfo_set(reterr, -1, "out of memory");
        return -ENOMEM;
    }
    x.a = x.p->a;
    struct sm_preissue *pub = &x.p->pub;
    time_t at = in->at ? in->at : time(NULL);
    long days = in->validity_days ? in->validity_days : 365;
    struct cert_plan cp = {
        .request = req,
        .san = req->san,
        .n_san = req->n_san,
        .sid_extension = req->sid.extension.status != SM_SID_ABSENT ? &req->sid.extension : NULL,
        .issuer = in->issuer,
        .ski = in->ski,
        .not_before = at,
        .not_after = at + days * DAY,
    };
    pub->request = req;
    pub->signature_verified = in->csr && in->csr->signature == SM_CSR_SIG_VALID;
    pub->signature_note = in->csr ? in->csr->signature_note : "no request signature given";

    /* the certificate as requested, and the account as the DC resolves the name */
    if ((r = evaluate(&x, in, &cp, &c_req, &x.p->v_req, reterr)) < 0)
        goto out_fail;
    pub->as_requested = x.p->v_req;
    pub->allow_as_requested = x.p->v_req->allow;
    pub->issued = c_req;
    x.acc = pub->account = x.p->v_req->account;
    if (!x.acc) {
        finding(&x, "account_not_found", SM_SEV_ERROR,
                "No account answers to \"%s\": there is nobody to issue the certificate for.",
                in->account);
        goto done;
    }
    if ((r = material(&x, any_samba(in))) < 0)
        goto out_fail;
    if (x.acc->has_uac && (x.acc->uac & SM_UAC_ACCOUNTDISABLE))
        finding(&x, "account_disabled", SM_SEV_ERROR,
                "The account %s is disabled: no certificate, and no SID, should be issued for "
                "it (every logon fails with KDC_ERR_CLIENT_REVOKED, 18).",
                who(x.acc));
    if (!x.acc->has_sid)
        finding(&x, "account_no_sid", SM_SEV_WARNING,
                "The account has no objectSid in the directory: no SID can be put into the "
                "certificate; it maps strongly only through an explicit altSecurityIdentities "
                "value added after issuance.");

    /* the request's SID extension, then its SAN entry by entry */
    const struct sm_sid_carrier *ext = &req->sid.extension;
    bool keep_ext = false;
    if (ext->status != SM_SID_ABSENT &&
        (r = check_sid(&x, ext, "extension", &keep_ext, reterr)) < 0)
        goto out_fail;
    if (ext->status != SM_SID_ABSENT && !keep_ext)
        change(&x, false, "sid_extension", ext->text,
               ext->status == SM_SID_MALFORMED ? "malformed: logon fails with KRB_ERR_GENERIC (60)"
                                               : "not the account's SID, or not in canonical form");
    if (ext->status == SM_SID_VALID && keep_ext && ext->critical)
        finding(&x, "sid_extension_critical", SM_SEV_WARNING,
                "The requested SID extension is marked critical; AD CS writes it non-critical. "
                "Issue it non-critical.");
    if (x.acc->has_sid && !(keep_ext && !ext->critical))
        change(&x, true, "sid_extension", pub->sid,
               "the account's SID in 1.3.6.1.4.1.311.25.2 (MS-WCCE 2.2.2.7.7.4): a strong "
               "mapping on every Windows DC and on Samba");
    const struct sm_san *san;
    size_t n_san;
    if ((r = plan_san(&x, req, &san, &n_san, reterr)) < 0)
        goto out_fail;
    if (x.budget_spent)
        finding(&x, "names_not_checked", SM_SEV_ERROR,
                "The request holds more names than %d directory lookups can check; some may "
                "belong to other accounts. Refuse it, or issue with the names of the plan only.",
                SM_MAX_PREISSUE_LOOKUPS);
    if (x.err) {
        r = x.err;
        goto out_fail;
    }

    /* the certificate as it should be issued */
    cp.san = san;
    cp.n_san = n_san;
    cp.sid_extension = x.acc->has_sid ? &x.p->sid_ext : NULL;
    if ((r = evaluate(&x, in, &cp, &c_iss, &x.p->v_iss, reterr)) < 0)
        goto out_fail;
    pub->as_issued = x.p->v_iss;
    pub->allow_as_issued = x.p->v_iss->allow;
    pub->issued = c_iss;
    if ((r = mapping_owners(&x, c_iss, reterr)) < 0)
        goto out_fail;
done:
    if (x.err) {
        r = x.err;
        goto out_fail;
    }
    pub->changes = x.p->changes;
    for (size_t i = 0; i < pub->findings.n; i++)
        pub->refuse |= pub->findings.v[i].severity == SM_SEV_ERROR;
    *ret = pub;
    return 0;

out_fail:
    if (r == -ENOMEM)
        errinfo_set(reterr, -1, "out of memory");
    sm_preissue_free(pub);
    return r;
}

struct sm_preissue *sm_preissue_free(struct sm_preissue *pub)
{
    if (!pub)
        return NULL;
    struct preissue_impl *p = (struct preissue_impl *)(void *)pub;
    sm_verdict_free(p->v_req);
    sm_verdict_free(p->v_iss);
    for (size_t i = 0; i < p->n_owned; i++)
        sm_accounts_free(p->owned[i]);
    arena_free(p->a);
    mem_free(p);
    return NULL;
}

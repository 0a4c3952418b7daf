/*
 * lib/status.c - an account's readiness for certificate logon: every altSecurityIdentities
 * value parsed and linted, every published certificate (userCertificate) through the full
 * verdict, and the certificates a caller knows from elsewhere (an audit's, from a CA's
 * export) with them, and a summary: ready, at risk or blocked.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include <strongmap/strongmap.h>

#include "alloc.h"
#include "verdict_internal.h"

const char *sm_readiness_name(enum sm_readiness r)
{
    static const char *const names[] = { "ready", "at_risk", "blocked" };
    return (unsigned)r < ARRAY_SIZE(names) ? names[r] : "blocked";
}

struct status_impl {
    struct sm_account_status pub;
    struct arena *a;
    struct sm_accounts *acc;
    struct sm_altsec *altsec[SM_MAX_ALTSEC];
    struct sm_verdict *verdicts[SM_MAX_USERCERTS + SM_MAX_GIVEN_CERTS];
    struct sm_certs *certs[SM_MAX_USERCERTS + SM_MAX_GIVEN_CERTS];
    struct sm_profile profiles[SM_MAX_PROFILES];
    int err; /* the first reason that could not be added */
};

struct sm_account_status *sm_account_status_free(struct sm_account_status *pub)
{
    if (!pub)
        return NULL;
    struct status_impl *s = (struct status_impl *)(void *)pub;
    for (size_t i = 0; i < SM_MAX_ALTSEC; i++)
        sm_altsec_free(s->altsec[i]);
    for (size_t i = 0; i < ARRAY_SIZE(s->verdicts); i++) {
        sm_verdict_free(s->verdicts[i]);
        sm_certs_free(s->certs[i]);
    }
    sm_accounts_free(s->acc);
    arena_free(s->a);
    mem_free(s);
    return NULL;
}

/* Add a reason (s->err when out of memory). */
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
    else
        s->err = -ENOMEM;
}

static bool verdict_all_strong(const struct sm_verdict *v)
{
    if (!v->allow)
        return false;
    for (size_t i = 0; i < v->n_profiles; i++)
        if (v->profiles[i].mapping_strength != SM_STRENGTH_STRONG)
            return false;
    return true;
}

/* A new status for @profiles (none: the engine's default), or NULL on -EINVAL/-ENOMEM in *@r. */
static struct status_impl *status_new(struct sm_dir *dir, const struct sm_profile *profiles,
                                      size_t n_profiles, int *r, struct sm_errinfo *reterr)
{
    struct status_impl *s;

    *r = -EINVAL;
    if (!dir) {
        errinfo_set(reterr, -1, "no directory");
        return NULL;
    }
    if (n_profiles > SM_MAX_PROFILES) {
        errinfo_set(reterr, -1, "at most %d profiles", SM_MAX_PROFILES);
        return NULL;
    }
    *r = -ENOMEM;
    s = mem_calloc(1, sizeof(*s));
    if (!s || !(s->a = arena_new())) {
        mem_free(s);
        return NULL;
    }
    if (!profiles || n_profiles == 0) {
        sm_profile_default(SM_PROFILE_WINDOWS_2022, &s->profiles[0]);
        n_profiles = 1;
    } else {
        memcpy(s->profiles, profiles, n_profiles * sizeof(*profiles));
    }
    s->pub.profiles = s->profiles;
    s->pub.n_profiles = n_profiles;
    *r = 0;
    return s;
}

static int status_fill(struct status_impl *s, struct sm_dir *dir, const struct sm_account *acc,
                       const struct sm_blob *given, size_t n_given, time_t at,
                       struct sm_errinfo *reterr);

int sm_account_status(struct sm_dir *dir, const char *name, const struct sm_profile *profiles,
                      size_t n_profiles, time_t at, struct sm_account_status **ret,
                      struct sm_errinfo *reterr)
{
    struct status_impl *s;
    int r;

    if (!name) {
        errinfo_set(reterr, -1, "no directory or no account name");
        return -EINVAL;
    }
    if (!(s = status_new(dir, profiles, n_profiles, &r, reterr)))
        return r;
    if ((r = sm_dir_lookup(dir, SM_LOOKUP_AUTO, name, &s->acc, reterr)) < 0)
        goto out_fail;
    if (s->acc->n == 0) {
        s->pub.readiness = SM_BLOCKED;
        status_reason(s, "account_not_found", "No account answers to \"%s\".", name);
        if ((r = s->err) < 0)
            goto out_fail;
        *ret = &s->pub;
        return 0;
    }
    if ((r = status_fill(s, dir, &s->acc->v[0], NULL, 0, at, reterr)) < 0)
        goto out_fail;
    *ret = &s->pub;
    return 0;

out_fail:
    sm_account_status_free(&s->pub);
    return r;
}

int sm_account_status_of(struct sm_dir *dir, const struct sm_account *acc,
                         const struct sm_profile *profiles, size_t n_profiles, time_t at,
                         struct sm_account_status **ret, struct sm_errinfo *reterr)
{
    return sm_account_status_given(dir, acc, NULL, 0, profiles, n_profiles, at, ret, reterr);
}

int sm_account_status_given(struct sm_dir *dir, const struct sm_account *acc,
                            const struct sm_blob *given, size_t n_given,
                            const struct sm_profile *profiles, size_t n_profiles, time_t at,
                            struct sm_account_status **ret, struct sm_errinfo *reterr)
{
    struct status_impl *s;
    int r;

    if (!acc || !acc->dn || n_given > SM_MAX_GIVEN_CERTS || (n_given && !given)) {
        errinfo_set(reterr, -1, "no account, or more than %d certificates given",
                    SM_MAX_GIVEN_CERTS);
        return -EINVAL;
    }
    if (!(s = status_new(dir, profiles, n_profiles, &r, reterr)))
        return r;
    if ((r = status_fill(s, dir, acc, given, n_given, at, reterr)) < 0) {
        sm_account_status_free(&s->pub);
        return r;
    }
    *ret = &s->pub;
    return 0;
}

/* One certificate (DER) through the full verdict for @acc, into s->verdicts[*nv]. A published
   one that does not parse is left out (0, *nv unchanged); a given one must parse (-EINVAL). */
static int cert_verdict(struct status_impl *s, struct sm_dir *dir, const struct sm_account *acc,
                        const struct sm_blob *der, bool given, time_t at, size_t *nv,
                        struct sm_errinfo *reterr)
{
    struct sm_parse_opts po = { .now = at };
    struct sm_errinfo e;
    int r = sm_certs_parse(der->data, der->len, &po, &s->certs[*nv], &e);
    if (r == -ENOMEM)
        return r;
    if (r != 0 && given) {
        errinfo_set(reterr, -1, "a certificate given for %s does not parse: %s", acc->dn, e.text);
        return -EINVAL;
    }
    if (r != 0)
        return 0;
    struct sm_verdict_input in = { .cert = &s->certs[*nv]->certs[0],
                                   .account = acc->dn,
                                   .profiles = s->profiles,
                                   .n_profiles = s->pub.n_profiles,
                                   .at = at };
    if ((r = sm_verdict_evaluate(dir, &in, &s->verdicts[*nv], reterr)) < 0)
        return r;
    ++*nv;
    return 0;
}

/* Everything about @acc (borrowed) into @s. 0 or a negative code; @s is the caller's. */
static int status_fill(struct status_impl *s, struct sm_dir *dir, const struct sm_account *acc,
                       const struct sm_blob *given, size_t n_given, time_t at,
                       struct sm_errinfo *reterr)
{
    int r;

    s->pub.account = acc;

    /* every explicit mapping, parsed and linted together */
    size_t n = 0;
    bool strong_value = false;
    for (size_t i = 0; i < acc->n_altsec && n < SM_MAX_ALTSEC; i++) {
        struct sm_errinfo e;
        r = sm_altsec_parse(acc->altsec[i], strlen(acc->altsec[i]), &s->altsec[n], &e);
        if (r == -ENOMEM)
            return r;
        if (r == 0) /* a value that is not even text is left out: no KDC reads it either */
            n++;
    }
    if ((r = sm_altsec_lint(s->altsec, n, NULL)) < 0)
        return r;
    for (size_t i = 0; i < n; i++)
        if (s->altsec[i]->kind == SM_ALTSEC_MAPPING && s->altsec[i]->strong)
            strong_value = true;
    s->pub.altsec = s->altsec;
    s->pub.n_altsec = n;

    /* key trust credentials (Windows Hello for Business) a Windows KDC would use */
    size_t n_keys = 0;
    for (size_t i = 0; i < acc->n_keycreds; i++) {
        struct sm_keycred *k = NULL;
        if (sm_keycred_parse(acc->keycreds[i], strlen(acc->keycreds[i]), &k, NULL) == -ENOMEM) {
            r = -ENOMEM;
            return r;
        }
        n_keys += k && k->logon_key;
        sm_keycred_free(k);
    }

    /* every published certificate, then every given one, through the full verdict */
    size_t nv = 0, n_published;
    for (size_t i = 0; i < acc->n_certs && nv < SM_MAX_USERCERTS; i++)
        if ((r = cert_verdict(s, dir, acc, &acc->certs[i], false, at, &nv, reterr)) < 0)
            return r;
    n_published = nv;
    for (size_t i = 0; i < n_given; i++)
        if ((r = cert_verdict(s, dir, acc, &given[i], true, at, &nv, reterr)) < 0)
            return r;
    bool any_strong_cert = false, strong_published = false;
    bool published_denied = false, given_denied = false;
    for (size_t i = 0; i < nv; i++) {
        bool strong = verdict_all_strong(s->verdicts[i]), denied = !s->verdicts[i]->allow;
        any_strong_cert |= strong;
        strong_published |= strong && i < n_published;
        published_denied |= denied && i < n_published;
        given_denied |= denied && i >= n_published;
    }
    s->pub.cert_verdicts = (const struct sm_verdict *const *)s->verdicts;
    s->pub.n_cert_verdicts = nv;
    s->pub.n_given = nv - n_published;

    bool disabled = acc->has_uac && (acc->uac & SM_UAC_ACCOUNTDISABLE);
    if (disabled) {
        s->pub.readiness = SM_BLOCKED;
        status_reason(s, "account_disabled", "The account is disabled: every logon fails.");
    } else if (any_strong_cert) {
        s->pub.readiness = SM_READY;
        status_reason(s, "strong_certificate", "%s maps strongly on every DC profile evaluated.",
                      strong_published ? "A published certificate"
                                       : "A certificate given (not published)");
    } else if (strong_value && nv == 0) {
        s->pub.readiness = SM_READY;
        status_reason(s, "strong_mapping",
                      "The account holds a strong altSecurityIdentities value (no published "
                      "certificate to check it against).");
    } else if (n_keys && nv == 0) {
        s->pub.readiness = SM_READY;
        status_reason(s, "key_trust",
                      "The account holds %zu Windows Hello for Business key trust credential%s "
                      "(msDS-KeyCredentialLink): a certificate with that key maps strongly.",
                      n_keys, n_keys == 1 ? "" : "s");
    } else {
        s->pub.readiness = SM_AT_RISK;
        if (nv == 0 && !strong_value && !n_keys)
            status_reason(s, "no_strong_path",
                          "No strong altSecurityIdentities value and no published certificate: "
                          "a certificate for this account must carry its SID to log on.");
        if (published_denied)
            status_reason(s, "published_certificate_denied",
                          "At least one published certificate would be denied.");
        if (given_denied)
            status_reason(s, "given_certificate_denied",
                          "At least one certificate given (not published) would be denied.");
        if (nv && !published_denied && !given_denied)
            status_reason(s, "weak_only", "%s are allowed only through weak mappings.",
                          n_published == nv ? "Published certificates"
                          : n_published     ? "The certificates, published and given,"
                                            : "The certificates given");
    }
    return s->err;
}

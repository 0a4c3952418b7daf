/*
 * lib/resolve.c - which account a certificate (or a client's name) leads a DC to, and what the
 * certificate's names say about it (docs/mapping-rules.md, "Finding the account"): explicit and
 * implicit UPN, MS-PKCA's host rule for computers (never dNSHostName), explicit mappings, key
 * trust credentials; every directory lookup counted against SM_MAX_VERDICT_LOOKUPS.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <strongmap/verdict.h>

#include "verdict_internal.h"

/* ---- names ----------------------------------------------------------------------------------- */

/* The DNS domain of @dn (util.h), x->err set when out of memory. */
static const char *dn_domain(struct ctx *x, const char *dn)
{
    bool oom = false;
    const char *d = dn_dns_domain(x->a, dn, &oom);
    if (oom)
        x->err = -ENOMEM;
    return d;
}

/* @upn ("user@domain") is the implicit UPN of @acc in @domain. */
static bool implicit_upn_of(const char *upn, const struct sm_account *acc, const char *domain)
{
    const char *at = upn ? strrchr(upn, '@') : NULL;
    return at && acc->sam && domain && strlen(acc->sam) == (size_t)(at - upn) &&
           ascii_caseeq(upn, (size_t)(at - upn), acc->sam, strlen(acc->sam)) &&
           name_caseeq(at + 1, domain);
}

/* MS-PKCA 3.1.5.2.1.1: @dns's first label + "$" is @acc's sAMAccountName, the rest @domain. */
static bool host_rule_of(const char *dns, const struct sm_account *acc, const char *domain)
{
    const char *dot = dns ? strchr(dns, '.') : NULL;
    size_t label = dot ? (size_t)(dot - dns) : 0;
    return dot && label && acc->sam && domain && strlen(acc->sam) == label + 1 &&
           acc->sam[label] == '$' && ascii_caseeq(dns, label, acc->sam, label) &&
           name_caseeq(dot + 1, domain);
}

/* ---- directory lookups (bounded) ---------------------------------------------------------------
 */

static void own(struct ctx *x, struct sm_accounts *acc)
{
    /* never reached beyond the budget: every lookup is counted before it runs */
    x->v->owned[x->v->n_owned++] = acc;
}

bool vx_budget(struct ctx *x)
{
    if (x->v->pub.lookups >= SM_MAX_VERDICT_LOOKUPS)
        return false;
    x->v->pub.lookups++;
    return true;
}

/* One lookup; *ret the result (owned by the verdict) or NULL when over budget. */
int vx_lookup(struct ctx *x, enum sm_lookup how, const char *name, const struct sm_accounts **ret,
              struct sm_errinfo *e)
{
    struct sm_accounts *acc = NULL;
    int r;

    *ret = NULL;
    if (!vx_budget(x))
        return 0;
    r = dir_lookup(x->dir, how, name, &x->along, &acc, e);
    int k = ntauth_keep(x->dir, &x->along);
    if (r < 0 || (r = k) < 0) {
        sm_accounts_free(acc);
        return r;
    }
    own(x, acc);
    *ret = acc;
    return 0;
}

const struct sm_account *vx_first(const struct sm_accounts *a)
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
    if ((r = vx_lookup(x, SM_LOOKUP_SAM, sam, &found, e)) < 0)
        return r;
    for (size_t i = 0; found && i < found->n && !*ret; i++)
        if (rule(name, &found->v[i], dn_domain(x, found->v[i].dn)))
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
    if ((r = vx_lookup(x, SM_LOOKUP_UPN, upn, &found, e)) < 0)
        return r;
    if (vx_first(found)) {
        if (found->n > 1)
            REQ_REASON(x, "ambiguous_account",
                       "%zu accounts have userPrincipalName %s; the first (%s) is evaluated.",
                       found->n, upn, vx_who(x, &found->v[0]));
        *ret = vx_first(found);
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

int vx_resolve_named(struct ctx *x, const char *named, struct sm_errinfo *e)
{
    struct sm_verdict *v = &x->v->pub;
    const struct sm_accounts *found;
    enum upn_form form;
    int r;

    if ((r = vx_lookup(x, SM_LOOKUP_AUTO, named, &found, e)) < 0)
        return r;
    if (found && found->n > 1)
        REQ_REASON(x, "ambiguous_account",
                   "%zu accounts answer to \"%s\"; the first (%s) is evaluated.", found->n, named,
                   vx_who(x, &found->v[0]));
    v->account = vx_first(found);
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

int vx_resolve_from_cert(struct ctx *x, struct sm_errinfo *e)
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
    if (nv && vx_budget(x)) {
        struct sm_accounts *found = NULL;
        r = dir_find_altsec(x->dir, values, nv, &x->along, &found, e);
        int k = ntauth_keep(x->dir, &x->along);
        if (r < 0 || (r = k) < 0) {
            sm_accounts_free(found);
            return r;
        }
        own(x, found);
        if (found->n) {
            if (found->n > 1)
                REQ_REASON(x, "ambiguous_mapping",
                           "%zu accounts hold an altSecurityIdentities value of this "
                           "certificate; the KDC cannot tell which is meant. The first (%s) is "
                           "evaluated.",
                           found->n, vx_who(x, &found->v[0]));
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
int vx_account_facts(struct ctx *x, struct sm_errinfo *e)
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
    x->acc_domain = dn_domain(x, acc->dn);
    if (x->upn)
        x->upn_form = name_caseeq(x->upn, acc->upn)                 ? UPN_EXPLICIT
                      : implicit_upn_of(x->upn, acc, x->acc_domain) ? UPN_IMPLICIT
                                                                    : UPN_OTHER;
    if (!x->dns || !acc->is_computer)
        return 0;
    x->dns_match = host_rule_of(x->dns, acc, x->acc_domain);
    if (x->dns_match && acc->dns_host && !name_caseeq(acc->dns_host, x->dns))
        REQ_REASON(x, "dns_host_disagrees",
                   "The certificate's DNS name %s maps to %s by its sAMAccountName, but the "
                   "account's dNSHostName is %s. The KDC goes by the sAMAccountName; check "
                   "which host the certificate was meant for.",
                   x->dns, vx_who(x, acc), x->redact ? "another name" : acc->dns_host);
    /* another account claiming the name through dNSHostName */
    const struct sm_accounts *holders;
    int r;
    if ((r = vx_lookup(x, SM_LOOKUP_DNS_HOST, x->dns, &holders, e)) < 0)
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
int vx_key_trust(struct ctx *x)
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

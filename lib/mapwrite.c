/*
 * lib/mapwrite.c - mapping write-back (strongmap/mapwrite.h, docs/write-back.md): the plan
 * (which value, for which account, is it safe) and the one modify that carries it out.
 *
 * The safety checks of an add, in order:
 *   1. the account: exactly one answers to the name (-ENOENT for none; "ambiguous" for more);
 *   2. the value: computed from the certificate with the KDC's rules (sm_cert_mapping()) for a
 *      strong type, then linted against the certificate (sm_altsec_lint()): a value with an
 *      error finding is refused ("lint");
 *   3. present already (the attribute's matching rule ignores case, as the KDC does): nothing
 *      to do ("present");
 *   4. another account holds it (an escaped equality search on altSecurityIdentities): refused
 *      ("duplicate"): the KDC would find two accounts and map neither, or the wrong one;
 *   5. the certificate's SID (extension or SAN URL) names another account of this directory:
 *      refused ("foreign_sid") unless the caller allows it, because a strong explicit mapping
 *      wins over the SID on the DC: the certificate would log on as this account. A SID that
 *      names no account here (another domain's, the X509IssuerSID case) is noted, not refused.
 * A removal takes the value as stored (found ignoring case) and removes exactly that one; a
 * value the account does not hold is "absent". Values of other accounts are never touched.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <strongmap/altsecid.h>
#include <strongmap/mapwrite.h>

#include "alloc.h"
#include "dir_internal.h"
#include "su_utf8.h"
#include "util.h"

#define ATTR "altSecurityIdentities"

struct mapwrite_impl {
    struct sm_mapwrite pub;
    struct arena *a;
    struct sm_accounts *acc; /* the account (pub.account points into it) */
    const char *holders[SM_MAX_ACCOUNTS];
};

static const char *const outcome_names[SM_MAPWRITE__COUNT] = {
    "would_add", "would_remove", "present", "absent", "refused", "added", "removed", "failed",
};

const char *sm_mapwrite_outcome_name(enum sm_mapwrite_outcome o)
{
    return (unsigned)o < SM_MAPWRITE__COUNT ? outcome_names[o] : "unknown";
}

const char *sm_mapwrite_op_name(enum sm_mapwrite_op op)
{
    return op == SM_MAPWRITE_REMOVE ? "remove" : "add";
}

int sm_mapwrite_type_parse(const char *name, enum sm_map_type *ret)
{
    static const enum sm_map_type strong[] = { SM_MAP_ISSUER_SERIAL, SM_MAP_SKI, SM_MAP_SHA1_PUKEY,
                                               SM_MAP_ISSUER_SID };

    for (size_t i = 0; name && i < sizeof(strong) / sizeof(strong[0]); i++)
        if (strcasecmp(name, sm_map_type_name(strong[i])) == 0) {
            *ret = strong[i];
            return 0;
        }
    return -EINVAL;
}

static struct mapwrite_impl *impl(struct sm_mapwrite *m)
{
    return (struct mapwrite_impl *)m;
}

struct sm_mapwrite *sm_mapwrite_free(struct sm_mapwrite *m)
{
    if (!m)
        return NULL;
    struct mapwrite_impl *x = impl(m);
    sm_accounts_free(x->acc);
    arena_free(x->a);
    mem_free(x);
    return NULL;
}

static void refuse(struct mapwrite_impl *x, const char *code, const char *msg)
{
    x->pub.outcome = SM_MAPWRITE_REFUSED;
    x->pub.refusal.code = code;
    x->pub.refusal.message = msg;
    x->pub.refusal.holders = x->holders;
}

static int note(struct mapwrite_impl *x, const char *code, enum sm_severity sev, const char *msg)
{
    return findings_add(&x->pub.findings, x->a, code, sev, NULL, "%s", msg);
}

/* The stored value of @acc equal to @value ignoring ASCII case, or NULL. */
static const char *held(const struct sm_account *acc, const char *value)
{
    for (size_t i = 0; i < acc->n_altsec; i++)
        if (strcasecmp(acc->altsec[i], value) == 0)
            return acc->altsec[i];
    return NULL;
}

/* Find the one account @name names into x->acc / pub.account. */
static int find_account(struct mapwrite_impl *x, struct sm_dir *dir, const char *name,
                        struct sm_errinfo *reterr)
{
    int r;

    if (!name || !name[0] || strlen(name) > SM_MAX_NAME) {
        errinfo_set(reterr, -1, "the account name is empty or longer than %d bytes", SM_MAX_NAME);
        return -EINVAL;
    }
    if ((r = sm_dir_lookup(dir, SM_LOOKUP_AUTO, name, &x->acc, reterr)) < 0)
        return r;
    if (x->acc->n == 0) {
        errinfo_set(reterr, -1, "no account answers to that name");
        return -ENOENT;
    }
    x->pub.account = &x->acc->v[0];
    x->pub.old_values = x->pub.account->altsec;
    x->pub.n_old = x->pub.account->n_altsec;
    return 0;
}

/* The value @req asks for into pub.value / type / findings, linted (add) or checked (remove). */
static int compute_value(struct mapwrite_impl *x, const struct sm_mapwrite_request *req,
                         struct sm_errinfo *reterr)
{
    struct sm_mapwrite *m = &x->pub;
    struct sm_altsec *v = NULL;
    const char *value;
    int r;

    if (req->op == SM_MAPWRITE_REMOVE && req->value) {
        size_t len = strlen(req->value);
        if (len == 0 || len > SM_MAX_ALTSEC_VALUE) {
            errinfo_set(reterr, -1, "the value is empty or longer than %d bytes",
                        SM_MAX_ALTSEC_VALUE);
            return -EINVAL;
        }
        if (!su_utf8_valid(req->value, len)) {
            errinfo_set(reterr, -1, "the value is not UTF-8");
            return -EINVAL;
        }
        if (!(m->value = arena_strdup(x->a, req->value)))
            return -ENOMEM;
        /* any value may be removed, broken ones included: its type is reported when known */
        if (sm_altsec_parse(m->value, len, &v, NULL) == 0 && v->kind == SM_ALTSEC_MAPPING) {
            m->type = v->type;
            m->type_known = true;
        }
        sm_altsec_free(v);
        return 0;
    }
    if (!req->cert) {
        errinfo_set(reterr, -1, "a certificate is needed%s",
                    req->op == SM_MAPWRITE_REMOVE ? " (or the value to remove)" : "");
        return -EINVAL;
    }
    if (!sm_map_type_strong(req->type)) {
        errinfo_set(reterr, -1, "%s is a weak mapping type: only strong types are written",
                    sm_map_type_name(req->type));
        return -EINVAL;
    }
    const struct sm_mapping *mp = sm_cert_mapping(req->cert, req->type);
    if (!mp) {
        errinfo_set(reterr, -1, "the certificate gives no %s value%s", sm_map_type_name(req->type),
                    req->type == SM_MAP_SKI          ? " (it has no subject key identifier)"
                    : req->type == SM_MAP_ISSUER_SID ? " (it carries no valid SID)"
                                                     : "");
        return -EINVAL;
    }
    value = mp->value;
    m->type = req->type;
    m->type_known = true;
    if (!(m->value = arena_strdup(x->a, value)))
        return -ENOMEM;
    if (req->op == SM_MAPWRITE_REMOVE)
        return 0;
    /* lint the value against the certificate: what the engine computes must come out clean */
    if ((r = sm_altsec_parse(value, strlen(value), &v, reterr)) < 0)
        return r;
    if ((r = sm_altsec_lint(&v, 1, req->cert)) < 0)
        goto out;
    for (size_t i = 0; i < v->findings.n && r == 0; i++) {
        const struct sm_finding *f = &v->findings.v[i];
        r = findings_add(&m->findings, x->a, f->code, f->severity, f->fix, "%s", f->message);
        if (r == 0 && f->severity == SM_SEV_ERROR && m->outcome != SM_MAPWRITE_REFUSED)
            refuse(x, "lint", "the value does not lint clean: it would not map the certificate");
    }
    if (r == 0 && v->kind != SM_ALTSEC_MAPPING)
        refuse(x, "lint", v->invalid_reason ? v->invalid_reason : "not a certificate mapping");
    if (r == 0 && !mp->samba_supported)
        r = note(x, "samba_does_not_match", SM_SEV_INFO,
                 "Samba's KDC does not match this form; Windows DCs do");
out:
    sm_altsec_free(v);
    return r;
}

/* The certificate's SID, when it carries a valid one. */
static const struct sm_sid *cert_sid(const struct sm_cert *c)
{
    if (!c || c->sid.status != SM_SID_VALID)
        return NULL;
    return c->sid.source == SM_SID_SOURCE_EXTENSION ? &c->sid.extension.sid : &c->sid.uri.sid;
}

/* The accounts other than the one planned for holding any of @values, into the refusal's
   holders (bounded by SM_MAX_ACCOUNTS). */
static int holders_of(struct mapwrite_impl *x, struct sm_dir *dir, const char *const *values,
                      size_t n, struct sm_errinfo *reterr)
{
    struct sm_mapwrite *m = &x->pub;
    struct sm_accounts *found = NULL;
    int r;

    if ((r = sm_dir_find_altsec(dir, values, n, &found, reterr)) < 0)
        return r;
    for (size_t i = 0; i < found->n; i++) {
        bool seen = name_caseeq(found->v[i].dn, m->account->dn);
        for (size_t k = 0; k < m->refusal.n_holders && !seen; k++)
            seen = name_caseeq(found->v[i].dn, x->holders[k]);
        if (seen || m->refusal.n_holders >= SM_MAX_ACCOUNTS)
            continue;
        if (!(x->holders[m->refusal.n_holders] = arena_strdup(x->a, found->v[i].dn))) {
            r = -ENOMEM;
            break;
        }
        m->refusal.n_holders++;
    }
    sm_accounts_free(found);
    return r;
}

/* Checks 4 and 5 of an add. */
static int check_others(struct mapwrite_impl *x, struct sm_dir *dir,
                        const struct sm_mapwrite_request *req, struct sm_errinfo *reterr)
{
    struct sm_mapwrite *m = &x->pub;
    const struct sm_account *acc = m->account;
    struct sm_accounts *found = NULL;
    const struct sm_sid *sid = cert_sid(req->cert);
    const char *values[SM_MAX_ALTSEC];
    size_t n = 0;
    int r;

    /* The value itself, held by another account: refused. */
    if ((r = holders_of(x, dir, &m->value, 1, reterr)) < 0)
        return r;
    if (m->refusal.n_holders) {
        refuse(x, "duplicate",
               "another account holds this value already: the KDC would not map the certificate "
               "to one account");
        return 0;
    }
    /* Another strong value the KDC builds from this certificate (Windows' forms, and Samba's
       where they differ), held by another account: that account maps the certificate strongly
       too. A logon naming either account is mapped (the KDC finds the account by the name
       first); one that leaves the KDC to search the explicit mappings finds both. Reported,
       not refused: the other value is that account's, and removing it is a decision of its
       own. */
    for (size_t i = 0; req->cert && i < req->cert->n_mappings && n + 2 <= SM_MAX_ALTSEC; i++) {
        const struct sm_mapping *mp = &req->cert->mappings[i];
        if (!sm_map_type_strong(mp->type))
            continue;
        if (mp->value && strcasecmp(mp->value, m->value) != 0)
            values[n++] = mp->value;
        if (mp->samba && strcasecmp(mp->samba, m->value) != 0)
            values[n++] = mp->samba;
    }
    if (n && (r = holders_of(x, dir, values, n, reterr)) < 0)
        return r;
    if (m->refusal.n_holders) {
        r = findings_add(&m->findings, x->a, "mapped_elsewhere", SM_SEV_WARNING, NULL,
                         "%s%s also maps this certificate strongly: a logon naming %s is mapped "
                         "too, and a logon the KDC must find the account for by the certificate "
                         "alone finds %s",
                         x->holders[0], m->refusal.n_holders > 1 ? " (and others)" : "",
                         m->refusal.n_holders > 1 ? "them" : "it",
                         m->refusal.n_holders > 1 ? "several accounts" : "two accounts");
        m->refusal.n_holders = 0;
        if (r < 0)
            return r;
    }
    if (!sid)
        return 0;
    char st[SM_SID_TEXT_MAX];
    sm_sid_format(sid, st, sizeof(st));
    if (!(m->cert_sid = arena_strdup(x->a, st)))
        return -ENOMEM;
    /* Every SID the certificate carries validly, not only the one a DC reads first (the
       extension, else the SAN URL): a DC that reads the other one (Windows reads the URL when
       the extension is absent or ignored), or a certificate whose two disagree, could still
       tie it to another account. */
    const struct sm_sid *sids[2] = { sid, NULL };
    const struct sm_sid_carrier *other =
        sid == &req->cert->sid.extension.sid ? &req->cert->sid.uri : &req->cert->sid.extension;
    if (other->status == SM_SID_VALID && !sm_sid_equal(&other->sid, sid))
        sids[1] = &other->sid;
    bool foreign = false;
    for (size_t k = 0; k < 2 && sids[k]; k++) {
        if (acc->has_sid && sm_sid_equal(&acc->sid, sids[k]))
            continue;
        foreign = true;
        sm_sid_format(sids[k], st, sizeof(st));
        found = sm_accounts_free(found);
        if ((r = sm_dir_lookup(dir, SM_LOOKUP_SID, st, &found, reterr)) < 0)
            return r;
        for (size_t i = 0; i < found->n; i++)
            if (!name_caseeq(found->v[i].dn, acc->dn) && m->refusal.n_holders < SM_MAX_ACCOUNTS) {
                const char *dn = arena_strdup(x->a, found->v[i].dn);
                if (!dn) {
                    r = -ENOMEM;
                    goto out;
                }
                x->holders[m->refusal.n_holders++] = dn;
            }
    }
    if (!foreign)
        return 0;
    if (m->refusal.n_holders && !req->allow_foreign_sid) {
        refuse(x, "foreign_sid",
               "the certificate's SID is another account's: a strong explicit mapping wins over "
               "the SID on the DC, so the certificate would log on as this account (allow it "
               "explicitly if that is meant)");
    } else if (m->refusal.n_holders) {
        m->foreign_sid_allowed = true;
        r = note(x, "foreign_sid_allowed", SM_SEV_WARNING,
                 "the certificate's SID is another account's; allowed by the caller");
        m->refusal.n_holders = 0;
    } else {
        r = note(x, "sid_not_in_directory", SM_SEV_INFO,
                 "the certificate's SID names no account of this directory (another domain's?)");
    }
out:
    sm_accounts_free(found);
    return r;
}

int sm_mapwrite_plan(struct sm_dir *dir, const struct sm_mapwrite_request *req,
                     struct sm_mapwrite **ret, struct sm_errinfo *reterr)
{
    struct mapwrite_impl *x;
    int r;

    if (!dir || !req || !ret)
        return -EINVAL;
    if (req->op != SM_MAPWRITE_ADD && req->op != SM_MAPWRITE_REMOVE)
        return -EINVAL;
    if (req->op == SM_MAPWRITE_ADD && req->value) {
        errinfo_set(reterr, -1, "an added value is computed from a certificate, not given");
        return -EINVAL;
    }
    if (!(x = mem_calloc(1, sizeof(*x))))
        return -ENOMEM;
    if (!(x->a = arena_new())) {
        mem_free(x);
        return -ENOMEM;
    }
    x->pub.op = req->op;
    x->pub.refusal.holders = x->holders;
    x->pub.outcome = req->op == SM_MAPWRITE_ADD ? SM_MAPWRITE_WOULD_ADD : SM_MAPWRITE_WOULD_REMOVE;
    if ((r = compute_value(x, req, reterr)) < 0 ||
        (r = find_account(x, dir, req->account, reterr)) < 0)
        goto out_fail;
    if (x->acc->n > 1) {
        for (size_t i = 0; i < x->acc->n && i < SM_MAX_ACCOUNTS; i++)
            x->holders[x->pub.refusal.n_holders++] = x->acc->v[i].dn;
        refuse(x, "ambiguous", "more than one account answers to that name: name it by its DN");
        goto out;
    }
    if (req->op == SM_MAPWRITE_REMOVE) {
        const char *stored = held(x->pub.account, x->pub.value);
        if (!stored)
            x->pub.outcome = SM_MAPWRITE_ABSENT;
        else
            x->pub.value = stored; /* exactly the stored value: the account's result owns it */
        goto out;
    }
    if (x->pub.outcome == SM_MAPWRITE_REFUSED)
        goto out;
    if (held(x->pub.account, x->pub.value)) {
        x->pub.outcome = SM_MAPWRITE_PRESENT;
        goto out;
    }
    if ((r = check_others(x, dir, req, reterr)) < 0)
        goto out_fail;
out:
    *ret = &x->pub;
    return 0;
out_fail:
    sm_mapwrite_free(&x->pub);
    return r;
}

/* After a failed modify: read the account again and say whether it changed. */
static const char *state_after(struct sm_dir *d, const struct sm_mapwrite *m)
{
    struct sm_accounts *now = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    const char *after = "unknown";

    if (sm_dir_lookup(d, SM_LOOKUP_DN, m->account->dn, &now, &e) < 0 || now->n != 1)
        goto out;
    bool has = held(&now->v[0], m->value) != NULL;
    bool had = m->op == SM_MAPWRITE_REMOVE;
    after = has == had && now->v[0].n_altsec == m->n_old ? "unchanged" : "changed";
out:
    sm_accounts_free(now);
    return after;
}

int sm_mapwrite_apply(struct sm_dir *wdir, struct sm_mapwrite *m, struct sm_errinfo *reterr)
{
    struct mapwrite_impl *x;
    bool add;
    int r;

    if (!wdir || !m)
        return -EINVAL;
    x = impl(m);
    if (m->outcome != SM_MAPWRITE_WOULD_ADD && m->outcome != SM_MAPWRITE_WOULD_REMOVE)
        return 0;
    if (!wdir->ops->modify_value) {
        errinfo_set(reterr, -1, "the %s directory is read-only: write-back needs LDAP",
                    sm_dir_kind(wdir));
        m->outcome = SM_MAPWRITE_FAILED;
        m->error = "the directory is read-only";
        m->after = "unchanged";
        return -EOPNOTSUPP;
    }
    add = m->outcome == SM_MAPWRITE_WOULD_ADD;
    m->applied = true;
    r = wdir->ops->modify_value(wdir, m->account->dn, add, ATTR, m->value, strlen(m->value),
                                reterr);
    if (r == 0) {
        m->outcome = add ? SM_MAPWRITE_ADDED : SM_MAPWRITE_REMOVED;
        return 0;
    }
    if (r == -EEXIST && add) {
        m->outcome = SM_MAPWRITE_PRESENT; /* added meanwhile, by someone else */
        return 0;
    }
    if (r == -ENOENT && !add) {
        m->outcome = SM_MAPWRITE_ABSENT; /* removed meanwhile */
        return 0;
    }
    if (r == -ESRCH)
        r = SM_E_DIR_REFUSED; /* the entry went away between the plan and the modify */
    m->outcome = SM_MAPWRITE_FAILED;
    if (reterr && !reterr->text[0])
        errinfo_set(reterr, -1, "%s", sm_strerror(r));
    m->error = arena_strdup(x->a, reterr ? reterr->text : sm_strerror(r));
    if (!m->error)
        m->error = sm_strerror(r);
    m->after = state_after(wdir, m);
    return r;
}

/*
 * lib/audit.c - the audit of a directory, one account at a time (strongmap/audit.h): the
 * account's status through lib/status.c (with the certificates given for it,
 * lib/audit_certs.c), and what the walk adds: duplicate values across accounts (a set of
 * 63-bit hashes of the case-folded values), stale values, and which DCs can match each value
 * (Windows' reading in lib/altsecid.c, Samba's in lib/altsecid_samba.c). The verdicts read
 * the account by DN: the copy in hand answers them (dir_known()), not the directory.
 */
#include <errno.h>
#include <string.h>

#include <strongmap/strongmap.h>

#include "alloc.h"
#include "altsecid_internal.h"
#include "audit_internal.h"
#include "dir_internal.h"
#include "su_hash.h"
#include "util.h"

#define SET_MIN_CAP 1024u
#define HASH_SEED   0x5354524f4e474d41ull /* fixed: the set is per run and never shown */
#define SET_MANY    (1ull << 63)          /* a slot's flag: held by more than one account */

struct record_impl {
    struct sm_audit_record pub;
    struct arena *a;
    struct sm_account_status *status;
};

const char *sm_audit_readers_name(enum sm_audit_readers r)
{
    static const char *const names[] = { "both", "windows", "samba", "none" };
    return (unsigned)r < ARRAY_SIZE(names) ? names[r] : "none";
}

const char *sm_audit_error_name(int code)
{
    switch (code) {
    case SM_E_DIR_LIMIT: return "directory_limit";
    case SM_E_DIR_DOWN: return "directory_unavailable";
    case SM_E_DIR_REFUSED: return "directory_refused";
    case -EINVAL: return "invalid";
    case -ENOMEM: return "out_of_memory";
    default: return "error";
    }
}

int sm_audit_new(const struct sm_audit_opts *o, struct sm_audit **ret)
{
    struct sm_audit *au;

    if (o && o->n_profiles > SM_MAX_PROFILES)
        return -EINVAL;
    if (!(au = mem_calloc(1, sizeof(*au))))
        return -ENOMEM;
    if (o && o->n_profiles) {
        memcpy(au->profiles, o->profiles, o->n_profiles * sizeof(*o->profiles));
        au->n_profiles = o->n_profiles;
    }
    au->at = o ? o->at : 0;
    *ret = au;
    return 0;
}

struct sm_audit *sm_audit_free(struct sm_audit *au)
{
    if (au) {
        mem_free(au->set);
        audit_given_free(&au->given);
        mem_free(au);
    }
    return NULL;
}

void sm_audit_totals(const struct sm_audit *au, struct sm_audit_totals *out)
{
    *out = au->totals;
    out->distinct_values = au->used;
}

struct sm_audit_record *sm_audit_record_free(struct sm_audit_record *pub)
{
    if (pub) {
        struct record_impl *r = (struct record_impl *)(void *)pub;
        sm_account_status_free(r->status);
        arena_free(r->a);
        mem_free(r);
    }
    return NULL;
}

/* ---- the set of values seen --------------------------------------------------------------- */

uint64_t audit_hash(const char *s)
{
    char buf[256];
    const uint64_t basis = su_fnv1a64(0, "", 0);
    uint64_t h = basis ^ HASH_SEED;
    size_t len = strlen(s), off = 0;
    /* in chunks: FNV-1a goes on from state h when given h ^ basis as its seed */
    while (off < len) {
        size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
        for (size_t i = 0; i < n; i++) {
            char c = s[off + i];
            buf[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
        }
        h = su_fnv1a64(h ^ basis, buf, n);
        off += n;
    }
    h &= ~SET_MANY;
    return h ? h : 1;
}

/* The slot of @h, or NULL when the set does not hold it. */
static uint64_t *set_find(const struct sm_audit *au, uint64_t h)
{
    if (!au->cap)
        return NULL;
    for (size_t i = h & (au->cap - 1);; i = (i + 1) & (au->cap - 1)) {
        if ((au->set[i] & ~SET_MANY) == h)
            return &au->set[i];
        if (au->set[i] == 0)
            return NULL;
    }
}

bool audit_held_elsewhere(const struct sm_audit *au, uint64_t h)
{
    const uint64_t *slot = set_find(au, h);
    return slot && (*slot & SET_MANY);
}

static void set_put_slot(uint64_t *set, size_t cap, uint64_t slot)
{
    size_t i = (slot & ~SET_MANY) & (cap - 1);
    while (set[i])
        i = (i + 1) & (cap - 1);
    set[i] = slot;
}

/* Add @h; when it is there already, flag it held by several accounts. 0 or -ENOMEM. */
static int set_add(struct sm_audit *au, uint64_t h)
{
    uint64_t *slot = set_find(au, h);
    if (slot) {
        *slot |= SET_MANY;
        return 0;
    }
    if ((au->used + 1) * 2 > au->cap) {
        size_t cap = au->cap ? au->cap * 2 : SET_MIN_CAP;
        uint64_t *set = mem_calloc(cap, sizeof(*set));
        if (!set)
            return -ENOMEM;
        for (size_t i = 0; i < au->cap; i++)
            if (au->set[i])
                set_put_slot(set, cap, au->set[i]);
        mem_free(au->set);
        au->set = set;
        au->cap = cap;
    }
    set_put_slot(au->set, au->cap, h);
    au->used++;
    return 0;
}

/* The account's values, each once (its own repeats are the linter's), into the set. */
static int set_add_account(struct sm_audit *au, const char *const *values, size_t n)
{
    uint64_t seen[SM_MAX_ALTSEC];
    size_t k = 0;
    int rc;

    for (size_t i = 0; i < n && k < SM_MAX_ALTSEC; i++) {
        uint64_t h = audit_hash(values[i]);
        bool repeat = false;
        for (size_t j = 0; j < k && !repeat; j++)
            repeat = seen[j] == h;
        if (repeat)
            continue;
        seen[k++] = h;
        if ((rc = set_add(au, h)) < 0)
            return rc;
    }
    return 0;
}

int sm_audit_index(struct sm_audit *au, const struct sm_account *acc)
{
    if (!au || !acc || au->totals.accounts || au->totals.errors)
        return -EINVAL;
    au->indexed = true;
    return set_add_account(au, acc->altsec, acc->n_altsec);
}

/* ---- one account -------------------------------------------------------------------------- */

static enum sm_audit_readers readers_of(const struct sm_altsec *v)
{
    struct samba_map m;
    bool windows = v->kind == SM_ALTSEC_MAPPING;
    bool samba = samba_parse(v->value, strlen(v->value), &m);
    if (windows && samba)
        return SM_READERS_BOTH;
    if (windows)
        return SM_READERS_WINDOWS;
    return samba ? SM_READERS_SAMBA : SM_READERS_NONE;
}

static void add_fix(struct record_impl *r, const char *fix)
{
    struct sm_audit_record *p = &r->pub;
    if (!fix || p->n_fixes >= SM_AUDIT_MAX_FIXES)
        return;
    for (size_t i = 0; i < p->n_fixes; i++)
        if (strcmp(p->fixes[i], fix) == 0)
            return;
    p->fixes[p->n_fixes++] = fix;
}

/* The other accounts that hold @value (the directory says). 0 or a negative code. */
static int find_holders(struct record_impl *r, struct sm_dir *dir, const char *self,
                        struct sm_audit_value *out, struct sm_errinfo *reterr)
{
    struct sm_accounts *found = NULL;
    const char *values[1] = { out->altsec->value };
    int rc = sm_dir_find_altsec(dir, values, 1, &found, reterr);

    if (rc == SM_E_DIR_LIMIT) { /* more than the lookup may return: a duplicate all the same */
        out->duplicate = true;
        return 0;
    }
    if (rc < 0)
        return rc;
    const char **h = arena_alloc(r->a, (found->n ? found->n : 1) * sizeof(*h));
    if (!h) {
        rc = -ENOMEM;
        goto out;
    }
    size_t n = 0;
    for (size_t i = 0; i < found->n && n < SM_AUDIT_MAX_HOLDERS; i++) {
        if (name_caseeq(found->v[i].dn, self))
            continue;
        if (!(h[n++] = arena_strdup(r->a, found->v[i].dn))) {
            rc = -ENOMEM;
            goto out;
        }
    }
    out->duplicate = n > 0; /* none: a hash collision, or the other value is gone */
    out->holders = h;
    out->n_holders = n;
out:
    sm_accounts_free(found);
    return rc;
}

/* The fixes of the account's status: its published certificates' remediations, in order. */
static void status_fixes(struct record_impl *r)
{
    const struct sm_account_status *s = r->status;
    for (size_t i = 0; i < s->n_cert_verdicts; i++) {
        const struct sm_verdict *v = s->cert_verdicts[i];
        bool strong = v->allow;
        for (size_t j = 0; j < v->n_profiles && strong; j++)
            strong = v->profiles[j].mapping_strength == SM_STRENGTH_STRONG;
        if (strong)
            continue;
        if (v->remediation.powershell)
            add_fix(r, v->remediation.powershell);
        else if (v->remediation.n_steps)
            add_fix(r, v->remediation.steps[0]);
    }
    for (size_t i = 0; i < s->n_reasons; i++) {
        const char *code = s->reasons[i].code;
        if (strcmp(code, "no_strong_path") == 0)
            add_fix(r, "Publish a certificate that carries the account's SID (the SID "
                       "extension), or add a strong altSecurityIdentities value "
                       "(X509IssuerSerialNumber, X509SKI or X509SHA1PublicKey).");
        else if (strcmp(code, "account_disabled") == 0)
            add_fix(r, "Enable the account, or remove its certificate mappings.");
    }
}

static int audit_values(struct sm_audit *au, struct record_impl *r, struct sm_dir *dir,
                        struct sm_errinfo *reterr)
{
    const struct sm_account_status *s = r->status;
    struct sm_audit_record *p = &r->pub;
    int rc;

    if (s->n_altsec && !(p->values = arena_alloc(r->a, s->n_altsec * sizeof(*p->values))))
        return -ENOMEM;
    p->n_values = s->n_altsec;
    for (size_t i = 0; i < s->n_altsec; i++) {
        struct sm_audit_value *v = &p->values[i];
        const struct sm_altsec *a = s->altsec[i];
        memset(v, 0, sizeof(*v));
        v->altsec = a;
        v->readers = readers_of(a);
        v->certs_known = s->n_cert_verdicts > 0;
        for (size_t j = 0; j < s->n_cert_verdicts; j++) {
            const struct sm_cert *c = s->cert_verdicts[j]->cert;
            v->matches_windows |= sm_altsec_matches(a, c);
            v->matches_samba |= sm_altsec_matches_samba(a, c);
        }
        v->stale = v->certs_known && v->readers != SM_READERS_NONE && !v->matches_windows &&
                   !v->matches_samba;
        /* a value another account holds: indexed, the set flags every holder; otherwise one
           audited earlier holds it. The account's own repeats are the linter's (finding
           "duplicate"). */
        uint64_t h = audit_hash(a->value);
        bool own_repeat = false;
        for (size_t j = 0; j < i && !own_repeat; j++)
            own_repeat = audit_hash(s->altsec[j]->value) == h;
        const uint64_t *slot = own_repeat ? NULL : set_find(au, h);
        bool candidate = slot && (!au->indexed || (*slot & SET_MANY));
        if (candidate && (rc = find_holders(r, dir, s->account->dn, v, reterr)) < 0)
            return rc;
        if (v->stale) {
            const char *fix = arena_printf(r->a,
                                           "Remove \"%s\": it matches none of the account's "
                                           "%s.",
                                           a->value,
                                           s->n_given ? "certificates, published or given"
                                                      : "published certificates");
            if (!fix)
                return -ENOMEM;
            p->n_stale++;
            add_fix(r, fix);
        }
        if (v->duplicate) {
            const char *fix =
                arena_printf(r->a, "Keep \"%s\" on one account only (%zu other%s hold%s it).",
                             a->value, v->n_holders ? v->n_holders : (size_t)1,
                             v->n_holders > 1 ? "s" : "", v->n_holders > 1 ? "" : "s");
            if (!fix)
                return -ENOMEM;
            p->n_duplicates++;
            add_fix(r, fix);
        }
        p->n_samba_only += v->readers == SM_READERS_SAMBA;
        p->n_windows_only += v->readers == SM_READERS_WINDOWS;
        for (size_t j = 0; j < a->findings.n; j++)
            if (a->findings.v[j].severity == SM_SEV_ERROR && a->findings.v[j].fix)
                add_fix(r, a->findings.v[j].fix);
    }
    /* not indexed: into the set once the account is done (its own repeats are not
       duplicates) */
    if (au->indexed)
        return 0;
    const char *values[SM_MAX_ALTSEC];
    for (size_t i = 0; i < s->n_altsec; i++)
        values[i] = s->altsec[i]->value;
    return set_add_account(au, values, s->n_altsec);
}

int sm_audit_account(struct sm_audit *au, struct sm_dir *dir, const struct sm_account *acc,
                     struct sm_audit_record **ret, struct sm_errinfo *reterr)
{
    struct record_impl *r;
    int rc = -ENOMEM;

    if (!au || !dir || !acc) {
        errinfo_set(reterr, -1, "no audit, directory or account");
        return -EINVAL;
    }
    if (!(r = mem_calloc(1, sizeof(*r))) || !(r->a = arena_new()))
        goto out_fail;
    /* the certificates given for the account count as its own */
    struct sm_blob given[SM_MAX_GIVEN_CERTS];
    const char *sources[SM_MAX_GIVEN_CERTS], **mine = NULL;
    size_t n_given;
    audit_given_freeze(au);
    audit_given_for(au, acc, given, sources, &n_given, &r->pub.n_given_skipped);
    if (n_given) {
        if (!(mine = arena_alloc(r->a, n_given * sizeof(*mine))))
            goto out_fail;
        for (size_t i = 0; i < n_given; i++)
            if (!(mine[i] = arena_strdup(r->a, sources[i])))
                goto out_fail;
    }
    r->pub.given_sources = mine;
    /* each verdict reads its account by DN: the walk's copy answers, no round trip each */
    dir_known(dir, acc);
    rc = sm_account_status_given(dir, acc, given, n_given, au->profiles, au->n_profiles, au->at,
                                 &r->status, reterr);
    if (rc < 0)
        goto out_fail;
    r->pub.status = r->status;
    r->pub.n_profiles = r->status->n_profiles;
    for (size_t i = 0; i < r->status->n_profiles; i++) {
        struct sm_account_status *one = NULL;
        if (r->status->n_profiles == 1) {
            r->pub.profile_readiness[0] = r->status->readiness;
            break;
        }
        rc = sm_account_status_given(dir, acc, given, n_given, &r->status->profiles[i], 1, au->at,
                                     &one, reterr);
        if (rc < 0)
            goto out_fail;
        r->pub.profile_readiness[i] = one->readiness;
        sm_account_status_free(one);
    }
    dir_known(NULL, NULL);
    status_fixes(r);
    if ((rc = audit_values(au, r, dir, reterr)) < 0)
        goto out_fail;

    struct sm_audit_totals *t = &au->totals;
    t->accounts++;
    t->ready += r->status->readiness == SM_READY;
    t->at_risk += r->status->readiness == SM_AT_RISK;
    t->blocked += r->status->readiness == SM_BLOCKED;
    t->certificates += r->status->n_cert_verdicts;
    t->values += r->pub.n_values;
    t->duplicate_values += r->pub.n_duplicates;
    t->stale_values += r->pub.n_stale;
    t->samba_only_values += r->pub.n_samba_only;
    t->windows_only_values += r->pub.n_windows_only;
    *ret = &r->pub;
    return 0;

out_fail:
    dir_known(NULL, NULL);
    au->totals.errors++;
    if (rc == -ENOMEM)
        errinfo_set(reterr, -1, "out of memory");
    if (r)
        sm_audit_record_free(&r->pub);
    return rc;
}

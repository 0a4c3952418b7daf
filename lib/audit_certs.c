/*
 * lib/audit_certs.c - certificates given to an audit (strongmap/audit.h): from a folder or a
 * CA's export, each matched to the account a DC would map it to (the verdict's own resolution,
 * lib/resolve.c: UPN, a computer's DNS name, an altSecurityIdentities value), and kept (its
 * DER, the account's DN) until that account is audited. A PEM bundle of any size is split into
 * its blocks here, each read by sm_certs_parse(); other inputs (DER, base64, a .p7b) are read
 * whole by it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <strongmap/strongmap.h>

#include "alloc.h"
#include "audit_internal.h"

#define STORE_MIN_CAP 64u

void audit_given_free(struct audit_given_store *g)
{
    arena_free(g->a);
    mem_free(g->v);
    memset(g, 0, sizeof(*g));
}

/* Keep @c for the account @dn. 0, -ENOMEM, -E2BIG (the store's bound). */
static int keep(struct sm_audit *au, const struct sm_cert *c, const char *dn, const char *source,
                struct sm_errinfo *reterr)
{
    struct audit_given_store *g = &au->given;

    if (g->bytes + c->der_len > SM_AUDIT_MAX_GIVEN_BYTES) {
        errinfo_set(reterr, -1,
                    "the certificates given that match an account exceed %d MiB (DER): give "
                    "fewer (a CA's export of the certificates still valid, say)",
                    SM_AUDIT_MAX_GIVEN_BYTES / (1024 * 1024));
        return -E2BIG;
    }
    if (!g->a && !(g->a = arena_new()))
        return -ENOMEM;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : STORE_MIN_CAP;
        struct audit_given *v = mem_realloc(g->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        g->v = v;
        g->cap = cap;
    }
    struct audit_given *x = &g->v[g->n];
    uint8_t *der = arena_alloc(g->a, c->der_len);
    if (!der || !(x->dn = arena_strdup(g->a, dn)))
        return -ENOMEM;
    memcpy(der, c->der, c->der_len);
    x->der = der;
    x->der_len = c->der_len;
    x->source = source;
    x->dn_hash = audit_hash(dn);
    x->not_after = c->not_after_t;
    x->visited = false;
    g->bytes += c->der_len;
    g->n++;
    return 0;
}

/* Each certificate of @certs to the account it maps to, or counted as matching none. */
static int match_certs(struct sm_audit *au, struct sm_dir *dir, const struct sm_certs *certs,
                       const char *source, struct sm_audit_certs_result *res,
                       struct sm_errinfo *reterr)
{
    struct sm_audit_totals *t = &au->totals;
    int rc = 0;

    for (size_t i = 0; i < certs->n_certs && rc == 0; i++) {
        if (t->given >= SM_AUDIT_MAX_GIVEN) {
            errinfo_set(reterr, -1, "more than %d certificates given", SM_AUDIT_MAX_GIVEN);
            return -E2BIG;
        }
        if (certs->certs[i].not_after_t < (au->at ? au->at : time(NULL))) {
            t->given++; /* no logon with it: neither a verdict nor a match for a value */
            t->given_expired++;
            res->certificates++;
            res->expired++;
            continue;
        }
        /* one profile: the account is found before the profiles differ */
        struct sm_verdict_input in = { .cert = &certs->certs[i],
                                       .profiles = au->profiles,
                                       .n_profiles = au->n_profiles ? 1 : 0,
                                       .at = au->at };
        struct sm_verdict *v = NULL;
        struct sm_errinfo e = SM_ERRINFO_INIT;
        rc = sm_verdict_evaluate(dir, &in, &v, &e);
        t->given++;
        res->certificates++;
        if (rc == SM_E_DIR_LIMIT || (rc == 0 && !v->account)) {
            /* no account, or more than a lookup may return: no account a DC would pick */
            t->given_unmatched++;
            res->unmatched++;
            rc = 0;
        } else if (rc == 0) {
            rc = keep(au, &certs->certs[i], v->account->dn, source, reterr);
            t->given_matched += rc == 0;
            res->matched += rc == 0;
        } else {
            *reterr = e;
        }
        sm_verdict_free(v);
    }
    return rc;
}

/* The first @s (@n bytes) in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *s, size_t n)
{
    while (p && (size_t)(end - p) >= n) {
        if (memcmp(p, s, n) == 0)
            return p;
        p = memchr(p + 1, s[0], (size_t)(end - p - 1));
    }
    return NULL;
}

/* The end of the line at or after @p (past its LF), or @end. */
static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl + 1 : end;
}

/* The next "-----BEGIN " at the start of a line in [p, end), or NULL. */
static const char *next_begin(const char *start, const char *p, const char *end)
{
    static const char tag[] = "-----BEGIN ";
    while (p && (size_t)(end - p) >= sizeof(tag) - 1) {
        const char *q = find(p, end, tag, sizeof(tag) - 1);
        if (!q || q == start || q[-1] == '\n')
            return q;
        p = q + 1;
    }
    return NULL;
}

/* Parse one input (a PEM block, or a whole input that is not PEM) and match its certificates.
   A block that holds no certificate is counted unreadable: the first one's reason in
   @res->first_unreadable. */
static int one_input(struct sm_audit *au, struct sm_dir *dir, const char *p, size_t len,
                     long offset, const char *source, struct sm_audit_certs_result *res,
                     struct sm_errinfo *reterr)
{
    struct sm_parse_opts po = { .now = au->at };
    struct sm_certs *certs = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int rc = sm_certs_parse(p, len, &po, &certs, &e);

    if (rc == -ENOMEM)
        return rc;
    if (rc == 0 && certs->n_errors) { /* some blocks of a bundle were no certificate */
        e.offset = certs->errors[0].offset;
        snprintf(e.text, sizeof(e.text), "%s", certs->errors[0].message);
    }
    size_t bad = rc < 0 ? 1 : certs->n_errors;
    if (bad) {
        if (!res->unreadable) {
            res->first_unreadable = e;
            if (e.offset >= 0)
                res->first_unreadable.offset = offset + e.offset;
            else
                res->first_unreadable.offset = offset;
        }
        res->unreadable += bad;
        au->totals.given_unreadable += bad;
    }
    if (rc == 0)
        rc = match_certs(au, dir, certs, source, res, reterr);
    else
        rc = 0;
    sm_certs_free(certs);
    return rc;
}

int sm_audit_add_certs(struct sm_audit *au, struct sm_dir *dir, const void *buf, size_t len,
                       const char *source, struct sm_audit_certs_result *res,
                       struct sm_errinfo *reterr)
{
    const char *p = buf, *end = p + len;
    struct sm_audit_certs_result local;
    int rc = 0;

    if (!res)
        res = &local;
    memset(res, 0, sizeof(*res));
    res->first_unreadable = (struct sm_errinfo)SM_ERRINFO_INIT;
    if (!au || !dir || (!buf && len) || !source) {
        errinfo_set(reterr, -1, "no audit, directory, input or source");
        return -EINVAL;
    }
    if (au->given.frozen) {
        errinfo_set(reterr, -1, "certificates are given before the first account is audited");
        return -EINVAL;
    }
    const char *src = NULL;
    if (!au->given.a && !(au->given.a = arena_new()))
        return -ENOMEM;
    if (!(src = arena_strdup(au->given.a, source)))
        return -ENOMEM;
    au->totals.certs_given = true;

    /* as sm_certs_parse() tells the forms apart: DER first, then PEM, else base64 */
    size_t skip = 0;
    while (skip < len && strchr(" \t\r\n", p[skip]))
        skip++;
    const char *b = skip < len && (unsigned char)p[skip] != 0x30 ? next_begin(p, p, end) : NULL;
    if (!b) {
        if (len > SM_MAX_INPUT) {
            errinfo_set(reterr, -1,
                        "larger than %d bytes and not PEM: a DER or base64 input (a .p7b) is "
                        "read whole; give PEM (openssl pkcs7 -print_certs) or split it",
                        SM_MAX_INPUT);
            au->totals.given_unreadable++;
            return SM_E_TOO_BIG;
        }
        rc = one_input(au, dir, p, len, 0, src, res, reterr);
    } else {
        /* each "-----BEGIN X-----" ... "-----END X-----" block on its own */
        while (b && rc == 0) {
            const char *e = find(b, end, "-----END ", 9);
            const char *stop = e ? line_end(e, end) : end;
            if ((size_t)(stop - b) > SM_MAX_INPUT) {
                if (!res->unreadable) {
                    res->first_unreadable.offset = (long)(b - p);
                    snprintf(res->first_unreadable.text, sizeof(res->first_unreadable.text),
                             "a PEM block larger than %d bytes (a .p7b of more than %d "
                             "certificates?): give its certificates as PEM",
                             SM_MAX_INPUT, SM_MAX_CERTS);
                }
                res->unreadable++;
                au->totals.given_unreadable++;
            } else {
                rc = one_input(au, dir, b, (size_t)(stop - b), (long)(b - p), src, res, reterr);
            }
            b = next_begin(p, stop, end);
        }
    }
    if (rc < 0)
        return rc;
    if (res->certificates == 0) {
        *reterr = res->first_unreadable;
        if (!reterr->text[0])
            errinfo_set(reterr, -1, "no certificate in it");
        return SM_E_FORMAT;
    }
    return 0;
}

/* ---- the store, read once the audit starts ------------------------------------------------ */

/* By account (hash, then DN without case), the latest notAfter first, then by bytes: 0 for
   the same certificate given twice for the same account. */
static int same_cmp(const struct audit_given *a, const struct audit_given *b)
{
    if (a->dn_hash != b->dn_hash)
        return a->dn_hash < b->dn_hash ? -1 : 1;
    int c = strcasecmp(a->dn, b->dn);
    if (c)
        return c;
    if (a->not_after != b->not_after)
        return a->not_after > b->not_after ? -1 : 1;
    if (a->der_len != b->der_len)
        return a->der_len < b->der_len ? -1 : 1;
    return memcmp(a->der, b->der, a->der_len);
}

/* same_cmp(), then by source: the copy kept is the one from the first source by name. */
static int given_cmp(const void *pa, const void *pb)
{
    const struct audit_given *a = pa, *b = pb;
    int c = same_cmp(a, b);
    return c ? c : strcmp(a->source, b->source);
}

void audit_given_freeze(struct sm_audit *au)
{
    struct audit_given_store *g = &au->given;
    if (g->frozen)
        return;
    g->frozen = true;
    if (!g->n)
        return;
    qsort(g->v, g->n, sizeof(*g->v), given_cmp);
    /* the same certificate given twice for the same account is kept once */
    size_t k = 1;
    for (size_t i = 1; i < g->n; i++) {
        if (same_cmp(&g->v[i], &g->v[k - 1]) == 0) {
            au->totals.given_matched--;
            au->totals.given_repeated++;
            continue;
        }
        g->v[k++] = g->v[i];
    }
    g->n = k;
}

/* The first of @dn's certificates in the sorted store, or g->n. */
static size_t first_of(const struct audit_given_store *g, uint64_t h, const char *dn)
{
    size_t lo = 0, hi = g->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct audit_given *x = &g->v[mid];
        int c = x->dn_hash != h ? (x->dn_hash < h ? -1 : 1) : strcasecmp(x->dn, dn);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static bool published(const struct sm_account *acc, const struct audit_given *x)
{
    for (size_t i = 0; i < acc->n_certs; i++)
        if (acc->certs[i].len == x->der_len && memcmp(acc->certs[i].data, x->der, x->der_len) == 0)
            return true;
    return false;
}

void audit_given_for(struct sm_audit *au, const struct sm_account *acc,
                     struct sm_blob der[SM_MAX_GIVEN_CERTS],
                     const char *sources[SM_MAX_GIVEN_CERTS], size_t *n, size_t *skipped)
{
    const struct audit_given_store *g = &au->given;
    uint64_t h = audit_hash(acc->dn);

    *n = *skipped = 0;
    for (size_t i = first_of(g, h, acc->dn);
         i < g->n && g->v[i].dn_hash == h && strcasecmp(g->v[i].dn, acc->dn) == 0; i++) {
        struct audit_given *x = &g->v[i];
        x->visited = true;
        if (published(acc, x))
            continue;
        if (*n == SM_MAX_GIVEN_CERTS) {
            ++*skipped;
            continue;
        }
        der[*n] = (struct sm_blob){ x->der, x->der_len };
        sources[(*n)++] = x->source;
    }
}

int sm_audit_given_next(struct sm_audit *au, struct sm_dir *dir, struct sm_accounts **ret,
                        struct sm_errinfo *reterr)
{
    struct audit_given_store *g;

    if (!au || !dir || !ret) {
        errinfo_set(reterr, -1, "no audit, directory or result");
        return -EINVAL;
    }
    audit_given_freeze(au);
    g = &au->given;
    while (g->cursor < g->n) {
        struct audit_given *x = &g->v[g->cursor];
        if (x->visited) {
            g->cursor++;
            continue;
        }
        struct sm_accounts *found = NULL;
        int rc = sm_dir_lookup(dir, SM_LOOKUP_DN, x->dn, &found, reterr);
        if (rc < 0)
            return rc;
        /* the account's certificates are done with, whether the caller audits it or not;
           when it is gone since they were matched, they match nothing */
        for (size_t i = g->cursor;
             i < g->n && g->v[i].dn_hash == x->dn_hash && strcasecmp(g->v[i].dn, x->dn) == 0; i++) {
            g->v[i].visited = true;
            if (!found->n) {
                au->totals.given_matched--;
                au->totals.given_unmatched++;
            }
        }
        if (found->n) {
            *ret = found;
            return 1;
        }
        sm_accounts_free(found);
    }
    return 0;
}

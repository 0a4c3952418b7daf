/*
 * tests/unit/test_dir_index.c - the LDIF backend's indexes (lib/dir_ldif.c) answer every
 * lookup as its scan of the entries does: a directory generated here (duplicate names in
 * several cases, non-ASCII names, accounts sharing SIDs, mappings and host names, more than
 * SM_MAX_ACCOUNTS sharing some, repeated and escaped DNs, non-account entries holding the same
 * values) is opened twice, once with its indexes and once without (dir_ldif_drop_index(): the
 * scan the backend answered with before), and every lookup kind, sm_dir_find_altsec() with one
 * to 64 values and sm_dir_ntauth() must give the same code, the same error text and the same
 * accounts in the same order, byte for byte. And the answers fetched in advance
 * (dir_prefetch()) are the lookups' own, compared in the same way.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include <cmocka.h>

#include <strongmap/dir.h>
#include <strongmap/strongmap.h>

#include "dir_internal.h"

#define N_ACCOUNTS 2400
#define N_OTHERS   300 /* groups and contacts */
#define N_POOL     40  /* shared names */
#define N_ALTSEC   300 /* mapping values */

static uint32_t rng = 0x2545f491u;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* An index into a pool of @n, the small ones far more often. */
static unsigned skewed(unsigned n)
{
    return (rnd() % n) * (rnd() % n) / n;
}

/* @s with the case of its ASCII letters changed at random (in place). */
static char *vary(char *s)
{
    for (char *p = s; *p; p++)
        if (((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) && rnd() % 3 == 0)
            *p ^= 0x20;
    return s;
}

/* ---- a growing text ------------------------------------------------------------------------ */

struct text {
    char *p;
    size_t len, cap;
};

static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(t->p ? t->p + t->len : NULL, t->cap - t->len, fmt, ap);
        va_end(ap);
        assert_true(n >= 0);
        if (t->len + (size_t)n < t->cap) {
            t->len += (size_t)n;
            return;
        }
        t->cap = 2 * (t->cap + (size_t)n + 64);
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
}

static void put_b64(struct text *t, const uint8_t *p, size_t len)
{
    static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < len ? (uint32_t)p[i + 1] << 8 : 0) |
                     (i + 2 < len ? p[i + 2] : 0);
        put(t, "%c%c%c%c", a[v >> 18 & 63], a[v >> 12 & 63], i + 1 < len ? a[v >> 6 & 63] : '=',
            i + 2 < len ? a[v & 63] : '=');
    }
}

/* ---- the directory ----------------------------------------------------------------------------
 */

static void sam_name(char *out, size_t size, unsigned i, bool shared)
{
    static const char *const odd[] = { "caf\xc3\xa9", "CAF\xc3\x89", "j.smith", "ws7$", "a" };
    if (!shared)
        snprintf(out, size, "u%05u", i);
    else if (i % 8 == 7)
        snprintf(out, size, "%s", odd[(i / 8) % 5]);
    else
        snprintf(out, size, "shared%02u", i);
}

static void altsec_value(char *out, size_t size, unsigned i)
{
    if (i % 3 == 0)
        snprintf(out, size, "X509:<I>DC=com,DC=example,CN=Issuing CA<SR>%08x", i * 2654435761u);
    else if (i % 3 == 1)
        snprintf(out, size, "X509:<SKI>%040x", i);
    else
        snprintf(out, size, "X509:<RFC822>user%u@example.com", i);
}

static size_t sid_bin(uint8_t *out, unsigned rid)
{
    struct sm_sid sid = {
        .revision = 1, .n_sub = 5, .authority = 5, .sub = { 21, 1000, 2000, 3000, rid }
    };
    return sm_sid_to_binary(&sid, out);
}

/* The DN of account @i as first written; variants of it are written and looked up. */
static void account_dn(char *out, size_t size, unsigned i)
{
    if (i % 11 == 0)
        snprintf(out, size, "CN=Smith\\, John %u,OU=People,DC=example,DC=com", i);
    else
        snprintf(out, size, "CN=Name %u,OU=People,DC=example,DC=com", i);
}

/* The same DN for the backend's normal form: case changed, spaces around separators. */
static void dn_variant(char *out, size_t size, const char *dn)
{
    size_t o = 0;
    for (const char *p = dn; *p && o + 4 < size; p++) {
        bool sep = (*p == ',' || *p == '=') && p[-1] != '\\';
        if (sep && rnd() % 4 == 0)
            out[o++] = ' ';
        out[o++] = *p;
        if (sep && rnd() % 4 == 0)
            out[o++] = ' ';
    }
    out[o] = '\0';
    vary(out);
}

static void gen(struct text *t)
{
    char name[160], dn[256];
    uint8_t sid[SM_SID_BINARY_MAX];

    put(t, "version: 1\n\ndn: DC=example,DC=com\nobjectClass: top\nobjectClass: domain\n\n");
    put(t, "dn: CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,"
           "DC=example,DC=com\nobjectClass: certificationAuthority\n\n");
    for (unsigned i = 0; i < N_ACCOUNTS + N_OTHERS; i++) {
        bool account = i < N_ACCOUNTS, computer = account && i % 6 == 0;
        if (account && i > 0 && rnd() % 30 == 0) { /* a DN written before, written otherwise */
            account_dn(name, sizeof(name), rnd() % i);
            dn_variant(dn, sizeof(dn), name);
        } else if (account) {
            account_dn(dn, sizeof(dn), i);
        } else if (rnd() % 5 == 0) { /* a group with an account's DN */
            account_dn(dn, sizeof(dn), rnd() % N_ACCOUNTS);
        } else {
            snprintf(dn, sizeof(dn), "CN=Group %u,OU=Groups,DC=example,DC=com", i);
        }
        put(t, "dn: %s\n", dn);
        if (account)
            put(t, "objectClass: top\nobjectClass: %s\n",
                computer ? "computer" : (rnd() % 2 ? "user" : "USER"));
        else
            put(t, "objectClass: %s\n", rnd() % 2 ? "group" : "contact");
        unsigned ns = rnd() % 10 == 0 ? 0 : rnd() % 15 == 0 ? 2 : 1;
        for (unsigned k = 0; k < ns; k++) {
            bool shared = rnd() % 4 == 0 || !account;
            sam_name(name, sizeof(name), shared ? skewed(N_POOL) : i, shared);
            put(t, "sAMAccountName: %s\n", vary(name));
        }
        if (rnd() % 5) {
            bool shared = rnd() % 4 == 0 || !account;
            if (shared)
                snprintf(name, sizeof(name), "shared%02u@example.com", skewed(N_POOL));
            else
                snprintf(name, sizeof(name), "u%05u@example.com", i);
            put(t, "userPrincipalName: %s\n", vary(name));
        }
        if (rnd() % 8) {
            put(t, "objectSid:: ");
            put_b64(t, sid, sid_bin(sid, rnd() % 5 == 0 ? skewed(N_POOL) : 5000 + i));
            put(t, "\n");
        }
        if (computer || rnd() % 40 == 0) {
            snprintf(name, sizeof(name), "ws%u.example.com", rnd() % 3 ? i : skewed(N_POOL));
            put(t, "dNSHostName: %s\n", vary(name));
        }
        for (unsigned k = rnd() % 4; k > 0; k--) {
            altsec_value(name, sizeof(name), skewed(N_ALTSEC));
            put(t, "altSecurityIdentities: %s\n", vary(name));
            if (rnd() % 20 == 0) /* the same value twice in one entry */
                put(t, "altSecurityIdentities: %s\n", vary(name));
        }
        put(t, "userAccountControl: %u\n\n", computer ? 4096u : 512u);
    }
}

/* ---- comparing ------------------------------------------------------------------------------ */

/* Everything an answer holds, as bytes (strings with their NUL). */
static void serialize(struct text *t, int rc, const struct sm_errinfo *e,
                      const struct sm_accounts *a)
{
    put(t, "rc %d (%s)\n", rc, rc ? e->text : "");
    for (size_t i = 0; a && i < a->n; i++) {
        const struct sm_account *x = &a->v[i];
        uint8_t sid[SM_SID_BINARY_MAX];
        put(t, "dn %s|sam %s|upn %s|dns %s|uac %d %u|computer %d|sid ", x->dn,
            x->sam ? x->sam : "-", x->upn ? x->upn : "-", x->dns_host ? x->dns_host : "-",
            x->has_uac, x->uac, x->is_computer);
        if (x->has_sid)
            put_b64(t, sid, sm_sid_to_binary(&x->sid, sid));
        for (size_t j = 0; j < x->n_altsec; j++)
            put(t, "|altsec %s", x->altsec[j]);
        for (size_t j = 0; j < x->n_certs; j++) {
            put(t, "|cert ");
            put_b64(t, x->certs[j].data, x->certs[j].len);
        }
        put(t, "\n");
    }
}

struct fx {
    struct sm_dir *idx, *scan;
    unsigned compared, one, multi, none, limit, errors;
};

static void check_same(struct fx *f, const char *what, int ri, const struct sm_errinfo *ei,
                       const struct sm_accounts *ai, int rs, const struct sm_errinfo *es,
                       const struct sm_accounts *as)
{
    struct text ti = { 0 }, ts = { 0 };
    serialize(&ti, ri, ei, ai);
    serialize(&ts, rs, es, as);
    if (ti.len != ts.len || memcmp(ti.p, ts.p, ti.len) != 0)
        fail_msg("%s: indexed\n%s\nscan\n%s", what, ti.p, ts.p);
    f->compared++;
    if (rs == SM_E_DIR_LIMIT)
        f->limit++;
    else if (rs < 0)
        f->errors++;
    else if (as->n == 0)
        f->none++;
    else if (as->n > 1)
        f->multi++;
    else
        f->one++;
    free(ti.p);
    free(ts.p);
}

static void same_lookup(struct fx *f, enum sm_lookup how, const char *name)
{
    struct sm_accounts *ai = NULL, *as = NULL;
    struct sm_errinfo ei = { 0 }, es = { 0 };
    char what[600];
    int ri = sm_dir_lookup(f->idx, how, name, &ai, &ei);
    int rs = sm_dir_lookup(f->scan, how, name, &as, &es);
    snprintf(what, sizeof(what), "lookup %s \"%s\"", sm_lookup_name(how), name);
    check_same(f, what, ri, &ei, ai, rs, &es, as);
    sm_accounts_free(ai);
    sm_accounts_free(as);
}

static void same_altsec(struct fx *f, const char *const *values, size_t n)
{
    struct sm_accounts *ai = NULL, *as = NULL;
    struct sm_errinfo ei = { 0 }, es = { 0 };
    char what[600];
    int ri = sm_dir_find_altsec(f->idx, values, n, &ai, &ei);
    int rs = sm_dir_find_altsec(f->scan, values, n, &as, &es);
    snprintf(what, sizeof(what), "find_altsec of %zu values, the first \"%s\"", n,
             n ? values[0] : "");
    check_same(f, what, ri, &ei, ai, rs, &es, as);
    sm_accounts_free(ai);
    sm_accounts_free(as);
}

/* The name in every lookup kind and in AUTO, as written and in another case. */
static void same_everywhere(struct fx *f, const char *name)
{
    char v[600];
    static const enum sm_lookup kinds[] = { SM_LOOKUP_AUTO, SM_LOOKUP_UPN, SM_LOOKUP_SAM,
                                            SM_LOOKUP_DNS_HOST };
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        same_lookup(f, kinds[k], name);
        snprintf(v, sizeof(v), "%s", name);
        same_lookup(f, kinds[k], vary(v));
    }
}

static void test_index_as_scan(void **state)
{
    (void)state;
    struct text t = { 0 };
    struct fx f = { 0 };
    char path[512], name[300], dn[600];
    struct sm_errinfo e = { 0 };

    gen(&t);
    snprintf(path, sizeof(path), "%s/sm_test_dir_index_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, t.p, t.len), (ssize_t)t.len);
    close(fd);
    int r1 = sm_dir_open_ldif(path, &f.idx, &e);
    int r2 = sm_dir_open_ldif(path, &f.scan, &e);
    unlink(path);
    free(t.p);
    if (r1 || r2)
        fail_msg("open: %d %d %s", r1, r2, e.text);
    dir_ldif_drop_index(f.scan);

    /* sAMAccountName, UPN and dNSHostName: every shared name, a sample of the others */
    for (unsigned i = 0; i < N_POOL; i++) {
        sam_name(name, sizeof(name), i, true);
        same_everywhere(&f, name);
        snprintf(dn, sizeof(dn), "EXAMPLE\\%s", name);
        same_lookup(&f, SM_LOOKUP_SAM, dn);
        snprintf(name, sizeof(name), "shared%02u@example.com", i);
        same_everywhere(&f, name);
        snprintf(name, sizeof(name), "ws%u.example.com", i);
        same_everywhere(&f, name);
    }
    for (unsigned i = 0; i < N_ACCOUNTS + N_OTHERS + 20; i += 7) {
        sam_name(name, sizeof(name), i, false);
        same_everywhere(&f, name);
        snprintf(name, sizeof(name), "u%05u@example.com", i);
        same_everywhere(&f, name);
        snprintf(name, sizeof(name), "ws%u.example.com", i);
        same_everywhere(&f, name);
    }
    same_everywhere(&f, "nobody");
    same_everywhere(&f, "caf\xc3\xa8"); /* not café: no Unicode folding either way */

    /* objectSid: shared, own, missing */
    for (unsigned rid = 0; rid < 5000 + N_ACCOUNTS + N_OTHERS + 10; rid = rid < N_POOL + 2 ? rid + 1
                                                                          : rid < 5000     ? 5000
                                                                                       : rid + 5) {
        snprintf(name, sizeof(name), "S-1-5-21-1000-2000-3000-%u", rid);
        same_lookup(&f, SM_LOOKUP_SID, name);
        same_lookup(&f, SM_LOOKUP_AUTO, name);
    }
    same_lookup(&f, SM_LOOKUP_SID, "S-1-5-21-1000-2000-3001-5001"); /* one byte off */

    /* DNs: as written, otherwise written, escaped, of groups, absent, outside the base */
    for (unsigned i = 0; i < N_ACCOUNTS + N_OTHERS; i += 3) {
        account_dn(name, sizeof(name), i);
        same_lookup(&f, SM_LOOKUP_DN, name);
        dn_variant(dn, sizeof(dn), name);
        same_lookup(&f, SM_LOOKUP_AUTO, dn);
        snprintf(name, sizeof(name), "CN=Group %u,OU=Groups,DC=example,DC=com", i);
        same_lookup(&f, SM_LOOKUP_DN, name);
    }
    same_lookup(&f, SM_LOOKUP_DN, "CN=Name 1,OU=People,DC=other,DC=com");
    same_lookup(&f, SM_LOOKUP_DN, "CN=Smith\\2C John 0,OU=People,DC=example,DC=com");

    /* altSecurityIdentities: every value alone, then sets of 2 to 64 with repeats */
    const char *vals[SM_MAX_ALTSEC];
    char buf[SM_MAX_ALTSEC][160];
    for (unsigned i = 0; i < N_ALTSEC + 5; i++) {
        altsec_value(buf[0], sizeof(buf[0]), i);
        vals[0] = vary(buf[0]);
        same_altsec(&f, vals, 1);
    }
    for (unsigned round = 0; round < 400; round++) {
        size_t n = round % 50 == 0 ? SM_MAX_ALTSEC : 2 + rnd() % 8;
        for (size_t k = 0; k < n; k++) {
            if (k > 0 && rnd() % 6 == 0) {
                /* a repeat; memmove: GCC cannot tell the index from k (-Werror=restrict) */
                memmove(buf[k], buf[rnd() % k], sizeof(buf[k]));
            } else {
                altsec_value(buf[k], sizeof(buf[k]),
                             rnd() % 2 ? skewed(N_ALTSEC) : rnd() % (N_ALTSEC + 20));
            }
            vals[k] = vary(buf[k]);
        }
        same_altsec(&f, vals, n);
    }

    /* the store, read by DN */
    struct sm_accounts *ai = NULL, *as = NULL;
    struct sm_errinfo ei = { 0 }, es = { 0 };
    int ri = sm_dir_ntauth(f.idx, &ai, &ei), rs = sm_dir_ntauth(f.scan, &as, &es);
    check_same(&f, "ntauth", ri, &ei, ai, rs, &es, as);
    assert_int_equal(as->n, 1);
    sm_accounts_free(ai);
    sm_accounts_free(as);

    /* the directory has what the comparison is about */
    print_message("%u answers compared: %u with one account, %u with several, %u with none, %u "
                  "over the limit, %u other errors\n",
                  f.compared, f.one, f.multi, f.none, f.limit, f.errors);
    assert_true(f.one >= 1000);
    assert_true(f.multi >= 100);
    assert_true(f.none >= 100);
    assert_true(f.limit >= 20);
    assert_true(f.errors >= 1);
    sm_dir_close(f.idx);
    sm_dir_close(f.scan);
}

/* Prefetch @n values of @attr on f->idx in rounds of @step (more than one batch each). */
static void prefetch(struct fx *f, const char *attr, const struct sm_blob *v, size_t n, size_t step)
{
    struct sm_errinfo e = { 0 };
    for (size_t i = 0; i < n; i += step) {
        int rc = dir_prefetch(f->idx, attr, v + i, n - i < step ? n - i : step, &e);
        if (rc)
            fail_msg("dir_prefetch %s: %d %s", attr, rc, e.text);
    }
}

/*
 * The answers fetched in advance (dir_prefetch(), the audit's batched lookups) are each
 * lookup's own: the same directory opened twice, lookups on the first answered from batches of
 * host names, SIDs and mapping values (in other cases, repeated, shared by several or more than
 * SM_MAX_ACCOUNTS accounts, absent, and values that caseIgnoreMatch would compare otherwise than
 * ASCII does, which must be left to the lookup), compared with the second's.
 */
static void test_prefetch_as_lookup(void **state)
{
    (void)state;
    enum { N = 1200 };
    static char names[N][160];
    static uint8_t sids[N][SM_SID_BINARY_MAX];
    static struct sm_blob v[N];
    struct text t = { 0 };
    struct fx f = { 0 };
    char path[512];
    struct sm_errinfo e = { 0 };
    size_t n = 0;

    rng = 0x9e3779b9u;
    gen(&t);
    snprintf(path, sizeof(path), "%s/sm_test_dir_prefetch_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, t.p, t.len), (ssize_t)t.len);
    close(fd);
    int r1 = sm_dir_open_ldif(path, &f.idx, &e);
    int r2 = sm_dir_open_ldif(path, &f.scan, &e);
    unlink(path);
    free(t.p);
    if (r1 || r2)
        fail_msg("open: %d %d %s", r1, r2, e.text);
    size_t hits0 = dir_prefetch_hits();
    assert_int_equal(dir_prefetch(f.idx, "sAMAccountName", v, 0, &e), -EINVAL);

    /* host names: shared ones, own ones, absent ones, in other cases, and not plain */
    for (unsigned i = 0; i < N - 4; i++) {
        unsigned k = i < 2 * N_POOL ? i % N_POOL : i * 3;
        snprintf(names[n], sizeof(names[n]), "ws%u.example.com", k);
        vary(names[n]);
        n++;
    }
    snprintf(names[n++], sizeof(names[0]), "ws1.example.com ");
    snprintf(names[n++], sizeof(names[0]), " ws2.example.com");
    snprintf(names[n++], sizeof(names[0]), "ws3  .example.com");
    snprintf(names[n++], sizeof(names[0]), "wsÃ©.example.com");
    for (size_t i = 0; i < n; i++)
        v[i] = (struct sm_blob){ (const uint8_t *)names[i], strlen(names[i]) };
    prefetch(&f, "dNSHostName", v, n, 100);
    size_t hits = dir_prefetch_hits();
    for (size_t i = 0; i < n; i++)
        same_lookup(&f, SM_LOOKUP_DNS_HOST, names[i]);
    assert_true(dir_prefetch_hits() - hits >= n / 2);
    for (size_t i = n - 4; i < n; i++) { /* not plain: each asks the directory */
        hits = dir_prefetch_hits();
        same_lookup(&f, SM_LOOKUP_DNS_HOST, names[i]);
        assert_true(dir_prefetch_hits() == hits);
    }

    /* SIDs: shared, own, absent (the batch of 32 has up to 16 * 32 entries: some over) */
    dir_prefetch_clear();
    n = 0;
    for (unsigned rid = 0; n < N && rid < 5000 + N_ACCOUNTS + N_OTHERS + 10;
         rid = rid < N_POOL + 2 ? rid + 1
               : rid < 5000     ? 5000
                                : rid + 3) {
        v[n] = (struct sm_blob){ sids[n], sid_bin(sids[n], rid) };
        n++;
    }
    prefetch(&f, "objectSid", v, n, 500);
    hits = dir_prefetch_hits();
    for (size_t i = 0; i < n; i++) {
        struct sm_sid sid;
        char text[SM_SID_TEXT_MAX];
        assert_int_equal(sm_sid_from_binary(v[i].data, v[i].len, &sid), 0);
        same_lookup(&f, SM_LOOKUP_SID, sm_sid_format(&sid, text, sizeof(text)));
    }
    assert_true(dir_prefetch_hits() - hits >= n / 2);

    /* mapping values, one lookup each, as the audit asks for a duplicate's holders */
    dir_prefetch_clear();
    n = 0;
    for (unsigned i = 0; i < N_ALTSEC + 5 && n < N; i++) {
        altsec_value(names[n], sizeof(names[n]), i);
        vary(names[n++]);
        if (i % 7 == 0 && n < N) { /* again, in another case */
            altsec_value(names[n], sizeof(names[n]), i);
            vary(names[n++]);
        }
    }
    for (size_t i = 0; i < n; i++)
        v[i] = (struct sm_blob){ (const uint8_t *)names[i], strlen(names[i]) };
    prefetch(&f, "altSecurityIdentities", v, n, 64);
    hits = dir_prefetch_hits();
    for (size_t i = 0; i < n; i++) {
        const char *one[1] = { names[i] };
        same_altsec(&f, one, 1);
    }
    assert_true(dir_prefetch_hits() - hits >= n / 2);
    print_message("%zu lookups answered in advance; %u answers compared: %u with one account, "
                  "%u with several, %u with none, %u over the limit\n",
                  dir_prefetch_hits() - hits0, f.compared, f.one, f.multi, f.none, f.limit);
    assert_true(f.multi >= 50);
    assert_true(f.none >= 50);
    assert_true(f.limit >= 5);

    /* a value not fetched asks the directory, another handle's lookups are not answered (one
       hit for the pair), and a clear forgets */
    hits = dir_prefetch_hits();
    same_lookup(&f, SM_LOOKUP_DNS_HOST, "ws5.example.com");
    assert_int_equal(dir_prefetch_hits(), hits);
    const char *one[1] = { names[n - 1] }; /* held by nobody: answered */
    same_altsec(&f, one, 1);
    assert_int_equal(dir_prefetch_hits(), hits + 1);
    dir_prefetch_clear();
    same_altsec(&f, one, 1);
    assert_int_equal(dir_prefetch_hits(), hits + 1);
    sm_dir_close(f.idx);
    sm_dir_close(f.scan);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_as_scan),
        cmocka_unit_test(test_prefetch_as_lookup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

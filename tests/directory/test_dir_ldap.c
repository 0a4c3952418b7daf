/*
 * tests/directory/test_dir_ldap.c - the LDAP backend (lib/dir_ldap.c) through the public sm_dir
 * API against a real slapd. Run by run.sh, which sets SM_TEST_* (URIs, CA files, the bind
 * account, the command that stops and starts slapd). Cases that stop or pause slapd come last.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <strongmap/cert.h>
#include <strongmap/dir.h>
#include <strongmap/events.h>
#include <strongmap/json.h>
#include <strongmap/keycred.h>
#include <strongmap/sid.h>
#include <strongmap/verdict.h>

#define ALICE_DN "cn=Alice Example,cn=Users,dc=example,dc=com"
#define BOB_DN   "cn=Bob Example,cn=Users,dc=example,dc=com"
#define WS01_DN  "cn=WS01,cn=Computers,dc=example,dc=com"
#define STAR_DN  "cn=Star,cn=Users,dc=example,dc=com"
#define PAREN_DN "cn=Paren,cn=Users,dc=example,dc=com"
#define DOMAIN   "S-1-5-21-1004336348-1177238915-682003330"
#define TLS_MS   1000u
/* "at once": far below every deadline in play (1 s and more), with room for a loaded machine */
#define FAST_S 0.25

/* ---- helpers ------------------------------------------------------------------------------- */

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !v[0])
        fail_msg("%s is not set: run this test through tests/directory/run.sh", name);
    return v;
}

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds of the whole process (all threads). */
static double cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void ctl(const char *what)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "%s %s", env("SM_TEST_CTL"), what);
    int st = system(cmd);
    if (st != 0)
        fail_msg("\"%s\" failed (status %d)", cmd, st);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    static uint8_t buf[4][8192];
    static int next;
    uint8_t *b = buf[next++ % 4];
    if (!f)
        fail_msg("cannot open %s", path);
    *len = fread(b, 1, sizeof(buf[0]), f);
    fclose(f);
    return b;
}

static bool blob_is_file(const struct sm_blob *b, const char *path)
{
    size_t len;
    const uint8_t *p = slurp(path, &len);
    return b->len == len && memcmp(b->data, p, len) == 0;
}

/* ldaps://, the test CA, the service account; short deadlines. */
static struct sm_ldap_config config(const char *const *uris, size_t n)
{
    struct sm_ldap_config c = {
        .uris = uris,
        .n_uris = n,
        .base = env("SM_TEST_BASE"),
        .bind_dn = env("SM_TEST_BIND_DN"),
        .password = env("SM_TEST_BIND_PW"),
        .ca_file = env("SM_TEST_CA"),
        .connect_timeout_ms = 1000,
        .op_timeout_ms = 2000,
        .tls_timeout_ms = TLS_MS,
    };
    return c;
}

static struct sm_dir *open_cfg(const struct sm_ldap_config *c)
{
    struct sm_dir *d = NULL;
    struct sm_errinfo e = { 0 };
    int rc = sm_dir_open_ldap(c, &d, &e);
    if (rc != 0)
        fail_msg("sm_dir_open_ldap: %s (%s)", sm_strerror(rc), e.text);
    assert_string_equal(sm_dir_kind(d), "ldap");
    return d;
}

static struct sm_dir *open_ldaps(void)
{
    const char *u[] = { env("SM_TEST_LDAPS_URI") };
    struct sm_ldap_config c = config(u, 1);
    return open_cfg(&c);
}

static struct sm_accounts *lookup_n(struct sm_dir *d, enum sm_lookup how, const char *name,
                                    size_t n)
{
    struct sm_accounts *a = NULL;
    struct sm_errinfo e = { 0 };
    int rc = sm_dir_lookup(d, how, name, &a, &e);
    if (rc != 0)
        fail_msg("lookup %s \"%s\": %s (%s)", sm_lookup_name(how), name, sm_strerror(rc), e.text);
    if (a->n != n)
        fail_msg("lookup %s \"%s\": %zu accounts, expected %zu", sm_lookup_name(how), name, a->n,
                 n);
    return a;
}

static void expect_one(struct sm_dir *d, enum sm_lookup how, const char *name, const char *dn)
{
    struct sm_accounts *a = lookup_n(d, how, name, 1);
    if (strcasecmp(a->v[0].dn, dn) != 0)
        fail_msg("lookup %s \"%s\" found %s, expected %s", sm_lookup_name(how), name, a->v[0].dn,
                 dn);
    sm_accounts_free(a);
}

static void expect_none(struct sm_dir *d, enum sm_lookup how, const char *name)
{
    sm_accounts_free(lookup_n(d, how, name, 0));
}

static int lookup_rc(struct sm_dir *d, const char *name, struct sm_errinfo *e)
{
    struct sm_accounts *a = NULL;
    int rc = sm_dir_lookup(d, SM_LOOKUP_SAM, name, &a, e);
    sm_accounts_free(a);
    return rc;
}

/*
 * After a failed connection pass: the next calls fail with @err, and one of three made at once
 * is answered from the backoff without an attempt. (Only "one of": on a loaded machine the first
 * 100 ms pause may pass between two calls; the pause doubles.)
 */
static bool backing_off(struct sm_dir *d, int err)
{
    bool seen = false;
    for (int i = 0; i < 3; i++) {
        struct sm_errinfo e = { 0 };
        double t0 = mono();
        assert_int_equal(lookup_rc(d, "alice", &e), err);
        assert_true(mono() - t0 < FAST_S);
        seen |= strstr(e.text, "next attempt") != NULL;
    }
    return seen;
}

static struct sm_accounts *altsec_n(struct sm_dir *d, const char *const *v, size_t nv, size_t n)
{
    struct sm_accounts *a = NULL;
    struct sm_errinfo e = { 0 };
    int rc = sm_dir_find_altsec(d, v, nv, &a, &e);
    if (rc != 0)
        fail_msg("find_altsec \"%s\": %s (%s)", v[0], sm_strerror(rc), e.text);
    if (a->n != n)
        fail_msg("find_altsec \"%s\": %zu accounts, expected %zu", v[0], a->n, n);
    return a;
}

/* ASCII case-insensitive strstr. */
static bool contains_ci(const char *hay, const char *needle)
{
    for (size_t n = strlen(needle); *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

static bool has_dn(const struct sm_accounts *a, const char *dn)
{
    for (size_t i = 0; i < a->n; i++)
        if (strcasecmp(a->v[i].dn, dn) == 0)
            return true;
    return false;
}

/* ---- configuration ------------------------------------------------------------------------- */

static void test_open_checks(void **state)
{
    (void)state;
    const char *plain[] = { env("SM_TEST_LDAP_URI") };
    const char *http[] = { "http://127.0.0.1/" };
    const char *dead[] = { env("SM_TEST_DEAD_URI") };
    struct sm_dir *d = NULL;
    struct sm_errinfo e = { 0 };
    struct sm_ldap_config c = config(plain, 1);

    /* a password must not cross ldap:// in clear */
    assert_int_equal(sm_dir_open_ldap(&c, &d, &e), -EINVAL);
    assert_non_null(strstr(e.text, "StartTLS"));
    c.starttls = true;
    c.password = "";
    assert_int_equal(sm_dir_open_ldap(&c, &d, &e), -EINVAL);
    c.password = NULL;
    assert_int_equal(sm_dir_open_ldap(&c, &d, &e), -EINVAL);
    c.password = "x";
    c.sasl_mech = "GSSAPI";
    assert_int_equal(sm_dir_open_ldap(&c, &d, &e), -EINVAL);

    c = config(http, 1);
    assert_int_equal(sm_dir_open_ldap(&c, &d, &e), -EINVAL);
    c = config(dead, 0);
    assert_int_equal(sm_dir_open_ldap(&c, &d, &e), -EINVAL);
    c = config(dead, 1);
    c.base = "not a DN";
    assert_int_equal(sm_dir_open_ldap(&c, &d, &e), -EINVAL);
    assert_null(d);

    /* lazy: opening succeeds although nothing listens */
    c = config(dead, 1);
    d = open_cfg(&c);
    sm_dir_close(d);
}

/* ---- lookups ------------------------------------------------------------------------------- */

/*
 * A client-supplied DN outside the configured base is refused, although the server holds the
 * entry and the bind may read it (GET /v1/accounts/<DN> returned that object's SID, UPN and
 * mappings). Here the base is cn=Users, and WS01 lives in cn=Computers on the same server.
 */
static void test_dn_outside_base(void **state)
{
    (void)state;
    const char *u[] = { env("SM_TEST_LDAPS_URI") };
    struct sm_ldap_config c = config(u, 1);
    c.base = "cn=Users,dc=example,dc=com";
    struct sm_dir *d = open_cfg(&c);
    struct sm_accounts *a = NULL;
    struct sm_errinfo e = { 0 };

    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_DN, WS01_DN, &a, &e), -EPERM);
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_AUTO, WS01_DN, &a, &e), -EPERM);
    assert_null(a);
    expect_one(d, SM_LOOKUP_DN, ALICE_DN, ALICE_DN); /* inside: still read */
    sm_dir_close(d);
}

static void test_lookup_forms(void **state)
{
    (void)state;
    struct sm_dir *d = open_ldaps();
    char sid[SM_SID_TEXT_MAX];

    struct sm_accounts *a = lookup_n(d, SM_LOOKUP_UPN, "alice@example.com", 1);
    const struct sm_account *al = &a->v[0];
    assert_string_equal(al->dn, ALICE_DN);
    assert_string_equal(al->sam, "alice");
    assert_string_equal(al->upn, "alice@example.com");
    assert_true(al->has_sid);
    assert_string_equal(sm_sid_format(&al->sid, sid, sizeof(sid)), DOMAIN "-1105");
    assert_true(al->has_uac);
    assert_int_equal(al->uac, 512);
    assert_true(al->has_created);
    assert_false(al->is_computer);
    assert_int_equal(al->n_altsec, 2);
    assert_int_equal(al->n_certs, 1);
    /* key trust: msDS-KeyCredentialLink comes back as the DN-Binary text */
    assert_int_equal(al->n_keycreds, 1);
    assert_true(strncmp(al->keycreds[0], "B:", 2) == 0);
    struct sm_keycred *kc = NULL;
    assert_int_equal(sm_keycred_parse(al->keycreds[0], strlen(al->keycreds[0]), &kc, NULL), 0);
    assert_true(kc->valid);
    assert_string_equal(kc->usage_name, "NGC");
    sm_keycred_free(kc);
    assert_true(blob_is_file(&al->certs[0], env("SM_TEST_ALICE_DER")));
    sm_accounts_free(a);

    expect_one(d, SM_LOOKUP_UPN, "ALICE@Example.COM", ALICE_DN);
    expect_one(d, SM_LOOKUP_SAM, "alice", ALICE_DN);
    expect_one(d, SM_LOOKUP_SAM, "EXAMPLE\\Alice", ALICE_DN);
    expect_one(d, SM_LOOKUP_SID, DOMAIN "-1105", ALICE_DN);
    expect_one(d, SM_LOOKUP_DN, "CN=alice example,CN=Users,DC=EXAMPLE,DC=com", ALICE_DN);
    expect_one(d, SM_LOOKUP_AUTO, "alice@example.com", ALICE_DN);

    a = lookup_n(d, SM_LOOKUP_SAM, "ws01$", 1);
    assert_string_equal(a->v[0].dn, WS01_DN);
    assert_true(a->v[0].is_computer);
    assert_string_equal(a->v[0].dns_host, "ws01.example.com");
    sm_accounts_free(a);
    expect_one(d, SM_LOOKUP_DNS_HOST, "WS01.example.com", WS01_DN);

    expect_none(d, SM_LOOKUP_SAM, "nobody");
    expect_none(d, SM_LOOKUP_UPN, "alice@example.co");
    expect_none(d, SM_LOOKUP_SID, DOMAIN "-9999");
    expect_none(d, SM_LOOKUP_SID, DOMAIN); /* exact match only: no prefix of a SID */
    expect_none(d, SM_LOOKUP_DN, "cn=Nobody,cn=Users,dc=example,dc=com");
    expect_none(d, SM_LOOKUP_DN, "cn=Printer,dc=example,dc=com");        /* not an account */
    expect_none(d, SM_LOOKUP_DN, "cn=x,cn=Elsewhere,dc=example,dc=com"); /* a referral */

    /* a DN outside the base is refused before any request reaches the server */
    struct sm_accounts *r = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_DN, "dc=example,dc=org", &r, &e), -EPERM);
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_DN, "cn=config", &r, &e), -EPERM);
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_DN, "garbage", &r, &e), -EINVAL);
    assert_int_equal(sm_dir_ping(d, &e), 0);
    sm_dir_close(d);
}

static void test_binary_sid(void **state)
{
    (void)state;
    struct sm_dir *d = open_ldaps();
    /* bob's RID 707340380 is the bytes 5C 28 29 2A ("\()*") and the SID holds NUL bytes */
    expect_one(d, SM_LOOKUP_SID, DOMAIN "-707340380", BOB_DN);
    expect_one(d, SM_LOOKUP_AUTO, DOMAIN "-707340380", BOB_DN);
    /* 5C 28 29 00: differs in the last byte only */
    expect_none(d, SM_LOOKUP_SID, DOMAIN "-2697308");
    sm_dir_close(d);
}

static void test_altsec(void **state)
{
    (void)state;
    struct sm_dir *d = open_ldaps();
    const char *lower[] = { "x509:<i>dc=com,dc=example,cn=example test issuing ca<sr>0a1b2c3d" };
    const char *two[] = { "X509:<SKI>f7c58be8b0c4512e32aa8a4bf9fa2ba4a7d6bbaf",
                          "X509:<RFC822>BOB@EXAMPLE.COM", "X509:<RFC822>nobody@example.com" };
    const char *none[] = { "X509:<SKI>f7c58be8b0c4512e32aa8a4bf9fa2ba4a7d6bba" };

    struct sm_accounts *a = altsec_n(d, lower, 1, 1);
    assert_string_equal(a->v[0].dn, ALICE_DN);
    sm_accounts_free(a);
    a = altsec_n(d, two, 3, 2);
    assert_true(has_dn(a, ALICE_DN) && has_dn(a, BOB_DN));
    sm_accounts_free(a);
    sm_accounts_free(altsec_n(d, none, 1, 0));
    sm_dir_close(d);
}

static void test_ntauth(void **state)
{
    (void)state;
    struct sm_dir *d = open_ldaps();
    struct sm_accounts *a = NULL;
    struct sm_errinfo e = { 0 };

    int rc = sm_dir_ntauth(d, &a, &e);
    if (rc != 0)
        fail_msg("ntauth: %s (%s)", sm_strerror(rc), e.text);
    assert_int_equal(a->n, 1);
    assert_non_null(strstr(a->v[0].dn, "NTAuthCertificates"));
    assert_int_equal(a->v[0].n_certs, 2);
    bool ca0 = blob_is_file(&a->v[0].certs[0], env("SM_TEST_CA_DER"));
    bool ca1 = blob_is_file(&a->v[0].certs[1], env("SM_TEST_CA_DER"));
    bool other0 = blob_is_file(&a->v[0].certs[0], env("SM_TEST_OTHER_CA_DER"));
    bool other1 = blob_is_file(&a->v[0].certs[1], env("SM_TEST_OTHER_CA_DER"));
    assert_true((ca0 && other1) || (ca1 && other0));
    sm_accounts_free(a);
    sm_dir_close(d);
}

/* ---- round trips: the NTAuth store kept, and read along with the account search --------- */

/* What the delaying proxy (run.sh) counted so far. */
struct trips {
    int turns, searches, store_reads;
};

static struct trips trips_now(void)
{
    struct trips t = { -1, -1, -1 };
    FILE *f = fopen(env("SM_TEST_PROXY_STATS"), "r");
    if (!f || fscanf(f, "turns=%d searches=%d store_reads=%d", &t.turns, &t.searches,
                     &t.store_reads) != 3)
        fail_msg("cannot read the proxy's counters in %s", env("SM_TEST_PROXY_STATS"));
    fclose(f);
    return t;
}

/* Add (@add) or delete the CA certificate @der to or from the test store, as cn=admin. */
static void store_change(bool add, const char *der)
{
    char path[512], cmd[1536];
    snprintf(path, sizeof(path), "%s/store-change.ldif", env("SM_TEST_TMP"));
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("cannot write %s", path);
    fprintf(f,
            "dn: %s\nchangetype: modify\n%s: cACertificate;binary\n"
            "cACertificate;binary:< file://%s\n-\n",
            env("SM_TEST_STORE_DN"), add ? "add" : "delete", der);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "ldapmodify -x -H '%s' -D '%s' -w '%s' -f '%s' >/dev/null",
             env("SM_TEST_LDAP_URI"), env("SM_TEST_ADMIN_DN"), env("SM_TEST_ADMIN_PW"), path);
    if (system(cmd) != 0)
        fail_msg("\"%s\" failed", cmd);
}

/*
 * One verdict on alice's certificate (issued by the test CA) for windows-2022; the round trips
 * and searches it cost must be @turns, @searches and @store_reads. Returns whether the issuer
 * was found in the NTAuth store.
 */
static bool verdict_trips(struct sm_dir *d, const struct sm_cert *cert, int turns, int searches,
                          int store_reads, const char *what)
{
    struct sm_profile p;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_profile_parse("windows-2022", &p, NULL), 0);
    struct sm_verdict_input in = { .cert = cert, .profiles = &p, .n_profiles = 1 };
    struct sm_verdict *v = NULL;
    struct trips t0 = trips_now();
    int rc = sm_verdict_evaluate(d, &in, &v, &e);
    if (rc != 0)
        fail_msg("%s: verdict: %s (%s)", what, sm_strerror(rc), e.text);
    struct trips t1 = trips_now();
    printf("# %s: %d round trip(s), %d search(es), %d NTAuth store read(s); issuer %s\n", what,
           t1.turns - t0.turns, t1.searches - t0.searches, t1.store_reads - t0.store_reads,
           v->issuer_in_ntauth ? "in the store" : "not in the store");
    assert_non_null(v->account);
    assert_true(v->ntauth_known);
    assert_int_equal(t1.turns - t0.turns, turns);
    assert_int_equal(t1.searches - t0.searches, searches);
    assert_int_equal(t1.store_reads - t0.store_reads, store_reads);
    bool in_store = v->issuer_in_ntauth;
    sm_verdict_free(v);
    return in_store;
}

/*
 * A cold verdict costs one round trip: the account search, with the NTAuth store's read sent
 * along when the kept store will not do (none yet, older than the TTL, or without the issuer).
 * A CA added to the store counts at once; a CA removed counts until the TTL. With the lookup
 * cache warm, a verdict costs nothing, or the store's read once the TTL has passed.
 */
static void test_ntauth_kept(void **state)
{
    (void)state;
    enum { TTL = 3 };
    const char *u[] = { env("SM_TEST_PROXY_URI") };
    struct sm_ldap_config c = config(u, 1);
    c.bind_dn = c.password = NULL; /* anonymous over ldap://: the proxy sees the messages */
    c.ca_file = NULL;
    c.ntauth_dn = env("SM_TEST_STORE_DN");
    struct sm_dir *d = open_cfg(&c);
    sm_dir_set_ntauth_ttl(d, TTL);
    size_t len;
    const uint8_t *der = slurp(env("SM_TEST_ALICE_DER"), &len);
    struct sm_certs *certs = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_certs_parse(der, len, NULL, &certs, &e), 0);
    const struct sm_cert *cert = &certs->certs[0];
    assert_int_equal(sm_dir_ping(d, &e), 0); /* connected */

    /* the store holds the other CA only: read along each time, the issuer is not in it */
    assert_false(verdict_trips(d, cert, 1, 2, 1, "first verdict"));
    assert_false(verdict_trips(d, cert, 1, 2, 1, "issuer not in the kept store"));
    store_change(true, env("SM_TEST_CA_DER"));
    assert_true(verdict_trips(d, cert, 1, 2, 1, "CA added"));
    double read_at = mono();
    assert_true(verdict_trips(d, cert, 1, 1, 0, "store kept"));
    store_change(false, env("SM_TEST_CA_DER"));
    assert_true(verdict_trips(d, cert, 1, 1, 0, "CA removed, within the TTL"));
    if (mono() - read_at >= TTL - 0.5)
        fail_msg("the machine is too slow for this test: %.2f s since the store was read",
                 mono() - read_at);
    usleep((useconds_t)((TTL + 0.2) * 1e6));
    assert_false(verdict_trips(d, cert, 1, 2, 1, "CA removed, after the TTL"));

    /* the lookup cache answers: no round trip, unless the kept store has grown old */
    store_change(true, env("SM_TEST_CA_DER"));
    struct sm_dir_cache *cache = sm_dir_cache_new(16, 60, 60);
    sm_dir_set_cache(d, cache);
    assert_true(verdict_trips(d, cert, 1, 2, 1, "lookup cache cold"));
    assert_true(verdict_trips(d, cert, 0, 0, 0, "lookup cache warm"));
    usleep((useconds_t)((TTL + 0.2) * 1e6));
    assert_true(verdict_trips(d, cert, 1, 1, 1, "lookup cache warm, store older than the TTL"));
    store_change(false, env("SM_TEST_CA_DER"));
    sm_dir_close(d);
    sm_dir_cache_free(cache);
    sm_certs_free(certs);
}

/* Cache-only mode's answer for @in on @d: its code, and the round trips and cache counters it
   cost in @trips and @st (after minus before). */
static int cache_only_verdict(struct sm_dir *d, struct sm_dir_cache *cache,
                              const struct sm_verdict_input *in, char **json, int *trips,
                              struct sm_dir_cache_stats *st)
{
    struct sm_dir_cache_stats s0, s1;
    struct sm_errinfo e = { 0 };
    struct sm_verdict *v = NULL;
    sm_dir_cache_stats(cache, &s0);
    struct trips t0 = trips_now();
    sm_dir_set_cache_only(d, true);
    int rc = sm_verdict_evaluate(d, in, &v, &e);
    sm_dir_set_cache_only(d, false);
    struct trips t1 = trips_now();
    sm_dir_cache_stats(cache, &s1);
    *trips = t1.turns - t0.turns;
    *st = (struct sm_dir_cache_stats){ .hits = s1.hits - s0.hits,
                                       .misses = s1.misses - s0.misses,
                                       .insertions = s1.insertions - s0.insertions };
    *json = NULL;
    if (rc == 0)
        assert_int_equal(sm_json_verdict(v, 0, json), 0);
    else
        assert_null(v);
    sm_verdict_free(v);
    return rc;
}

/*
 * Cache-only mode (sm_dir_set_cache_only(): strongmapd's first try on its HTTP thread). A
 * verdict the caches cannot answer fails with SM_E_DIR_WOULD_BLOCK, with no round trip and
 * nothing counted in the lookup cache's statistics (the same lookups are made again where
 * waiting is fine). Once a verdict has filled the caches, the same verdict answers in
 * cache-only mode with no round trip: the same document, its hits counted as a warm verdict's.
 * A kept NTAuth store older than the TTL sends it back to the directory.
 */
static void test_cache_only(void **state)
{
    (void)state;
    enum { TTL = 2 };
    const char *u[] = { env("SM_TEST_PROXY_URI") };
    struct sm_ldap_config c = config(u, 1);
    c.bind_dn = c.password = NULL; /* anonymous over ldap://: the proxy sees the messages */
    c.ca_file = NULL;
    c.ntauth_dn = env("SM_TEST_STORE_DN");
    struct sm_dir *d = open_cfg(&c);
    sm_dir_set_ntauth_ttl(d, TTL);
    struct sm_dir_cache *cache = sm_dir_cache_new(16, 60, 60);
    sm_dir_set_cache(d, cache);
    size_t len;
    const uint8_t *der = slurp(env("SM_TEST_ALICE_DER"), &len);
    struct sm_certs *certs = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_certs_parse(der, len, NULL, &certs, &e), 0);
    struct sm_profile p;
    assert_int_equal(sm_profile_parse("windows-2022", &p, NULL), 0);
    struct sm_verdict_input in = {
        .cert = &certs->certs[0], .profiles = &p, .n_profiles = 1, .at = time(NULL)
    };
    assert_int_equal(sm_dir_ping(d, &e), 0); /* connected */
    struct sm_dir_cache_stats st;
    char *json = NULL, *cold = NULL;
    int trips;

    /* cold: nothing asked, nothing counted */
    assert_int_equal(cache_only_verdict(d, cache, &in, &json, &trips, &st), SM_E_DIR_WOULD_BLOCK);
    assert_int_equal(trips, 0);
    assert_int_equal(st.hits + st.misses + st.insertions, 0);

    /* a verdict that may wait fills the caches; a warm one counts its hits */
    struct sm_verdict *v = NULL;
    assert_int_equal(sm_verdict_evaluate(d, &in, &v, &e), 0);
    assert_int_equal(sm_json_verdict(v, 0, &cold), 0);
    sm_verdict_free(v);
    struct sm_dir_cache_stats w0, w1;
    sm_dir_cache_stats(cache, &w0);
    assert_int_equal(sm_verdict_evaluate(d, &in, &v, &e), 0);
    sm_verdict_free(v);
    sm_dir_cache_stats(cache, &w1);
    assert_true(w1.hits > w0.hits);

    /* warm: answered in cache-only mode, the same document, the same hits, no round trip */
    assert_int_equal(cache_only_verdict(d, cache, &in, &json, &trips, &st), 0);
    assert_string_equal(json, cold);
    assert_int_equal(trips, 0);
    assert_int_equal(st.hits, w1.hits - w0.hits);
    assert_int_equal(st.misses, 0);
    free(json);

    /* the kept store grown old: back to the directory, nothing asked, nothing counted */
    usleep((useconds_t)((TTL + 0.2) * 1e6));
    assert_int_equal(cache_only_verdict(d, cache, &in, &json, &trips, &st), SM_E_DIR_WOULD_BLOCK);
    assert_int_equal(trips, 0);
    assert_int_equal(st.hits + st.misses + st.insertions, 0);

    free(cold);
    sm_dir_close(d);
    sm_dir_cache_free(cache);
    sm_certs_free(certs);
}

/*
 * strongmap explain over LDAP: an event 39 for alice whose issuer is printed by its CN only.
 * The account is found, the value comes from the certificate she publishes (the event's
 * thumbprint), and the issuer's whole name from the CA of that name in the NTAuth store.
 */
static void test_explain(void **state)
{
    (void)state;
    struct sm_dir *d = open_ldaps();
    size_t len;
    const uint8_t *der = slurp(env("SM_TEST_ALICE_DER"), &len);
    struct sm_certs *certs = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_certs_parse(der, len, NULL, &certs, &e), 0);
    const struct sm_cert *c = &certs->certs[0];
    const char *cn = NULL;
    for (size_t i = 0; i < c->issuer.n_attrs; i++)
        if (strcmp(c->issuer.attrs[i].ad_key, "CN") == 0)
            cn = c->issuer.attrs[i].value;
    assert_non_null(cn);
    char text[2048];
    snprintf(text, sizeof(text),
             "The Key Distribution Center (KDC) encountered a user certificate that was valid "
             "but could not be mapped to a user in a secure way.\nUser: alice\n"
             "Certificate Issuer: %s\nCertificate Serial Number: %s\nCertificate Thumbprint: "
             "%s\n",
             cn, c->serial, c->sha1);
    struct sm_kdc_events *ev = NULL;
    struct sm_events_explanation *x = NULL;
    assert_int_equal(sm_kdc_events_parse(text, strlen(text), &ev, &e), 0);
    int rc = sm_events_explain(d, ev, 0, &x, &e);
    if (rc != 0)
        fail_msg("explain: %s (%s)", sm_strerror(rc), e.text);
    const struct sm_event_explanation *ex = &x->v[0];
    assert_int_equal(ex->lookup, SM_EXPLAIN_FOUND);
    assert_string_equal(ex->account->sam, "alice");
    assert_true(ex->from_certificate);
    assert_string_equal(ex->fix_value, sm_cert_mapping(c, SM_MAP_ISSUER_SERIAL)->value);
    assert_true(sm_findings_has(&ex->findings, "issuer_from_ntauth"));
    assert_true(x->ntauth_read);
    assert_string_equal(x->directory, "ldap");
    sm_events_explanation_free(x);
    sm_kdc_events_free(ev);
    sm_certs_free(certs);
    sm_dir_close(d);
}

/* Filter metacharacters in names are data: only exact matches, never a wildcard or a clause. */
static void test_hostile_names(void **state)
{
    (void)state;
    struct sm_dir *d = open_ldaps();
    /* (backslashes go to UPN lookups: a SAM lookup reads "DOMAIN\\name") */
    static const char *const nothing[] = {
        "*",      "st*",    "*)(objectClass=*",      ")(", "alice)(sAMAccountName=*", "alice)",
        "(alice", "alice*", "*)(|(sAMAccountName=*",
    };

    for (size_t i = 0; i < sizeof(nothing) / sizeof(nothing[0]); i++)
        expect_none(d, SM_LOOKUP_SAM, nothing[i]);
    expect_one(d, SM_LOOKUP_SAM, "star*", STAR_DN);
    expect_one(d, SM_LOOKUP_SAM, "STAR*", STAR_DN);
    expect_one(d, SM_LOOKUP_SAM, "paren)(x", PAREN_DN);
    expect_one(d, SM_LOOKUP_UPN, "back\\slash@example.com", STAR_DN);
    expect_none(d, SM_LOOKUP_UPN, "back\\5cslash@example.com");
    expect_none(d, SM_LOOKUP_UPN, "*@example.com");
    expect_none(d, SM_LOOKUP_UPN, "*");
    expect_none(d, SM_LOOKUP_UPN, "\\");
    expect_none(d, SM_LOOKUP_UPN, "\\2a");
    expect_none(d, SM_LOOKUP_UPN, "alice\\40example.com"); /* \40 is '@' only when unescaped */
    expect_none(d, SM_LOOKUP_DNS_HOST, "*");
    expect_none(d, SM_LOOKUP_DN, "cn=*,cn=Users,dc=example,dc=com");

    const char *paren[] = { "X509:<S>CN=a)(b*" };
    const char *star[] = { "*" };
    const char *prefix[] = { "X509:<S>CN=a)(b" };
    struct sm_accounts *a = altsec_n(d, paren, 1, 1);
    assert_string_equal(a->v[0].dn, PAREN_DN);
    sm_accounts_free(a);
    sm_accounts_free(altsec_n(d, star, 1, 0));
    sm_accounts_free(altsec_n(d, prefix, 1, 0));
    sm_dir_close(d);
}

static void test_size_limit(void **state)
{
    (void)state;
    struct sm_dir *d = open_ldaps();
    const char *team16[] = { "X509:<RFC822>team16@example.com" };
    const char *team20[] = { "X509:<RFC822>team20@example.com" };
    struct sm_accounts *a = NULL;
    struct sm_errinfo e = { 0 };

    /* SM_MAX_ACCOUNTS matches: all of them, over two pages */
    sm_accounts_free(altsec_n(d, team16, 1, SM_MAX_ACCOUNTS));
    int rc = sm_dir_find_altsec(d, team20, 1, &a, &e);
    assert_int_equal(rc, SM_E_DIR_LIMIT);
    assert_null(a);
    printf("# 20 matches: %s\n", e.text);
    /* the connection is still good */
    expect_one(d, SM_LOOKUP_SAM, "alice", ALICE_DN);
    sm_dir_close(d);
}

/* ---- transports and binds ------------------------------------------------------------------ */

static void test_anonymous_plain(void **state)
{
    (void)state;
    const char *u[] = { env("SM_TEST_LDAP_URI") };
    struct sm_ldap_config c = config(u, 1);
    c.bind_dn = c.password = NULL;
    c.ca_file = NULL;
    struct sm_dir *d = open_cfg(&c);
    struct sm_errinfo e = { 0 };
    expect_one(d, SM_LOOKUP_SAM, "alice", ALICE_DN);
    assert_int_equal(sm_dir_ping(d, &e), 0);
    sm_dir_close(d);
}

static void test_starttls(void **state)
{
    (void)state;
    const char *u[] = { env("SM_TEST_LDAP_URI") };
    struct sm_ldap_config c = config(u, 1);
    c.starttls = true;
    struct sm_dir *d = open_cfg(&c);
    struct sm_errinfo e = { 0 };
    expect_one(d, SM_LOOKUP_UPN, "alice@example.com", ALICE_DN);
    assert_int_equal(sm_dir_ping(d, &e), 0);
    sm_dir_close(d);
}

static void expect_refused(const struct sm_ldap_config *c, const char *what, const char *needle)
{
    struct sm_dir *d = open_cfg(c);
    struct sm_errinfo e = { 0 };
    int rc = lookup_rc(d, "alice", &e);
    printf("# %s: %s: %s\n", what, sm_strerror(rc), e.text);
    assert_int_equal(rc, SM_E_DIR_REFUSED);
    if (!contains_ci(e.text, needle))
        fail_msg("%s: reason \"%s\" lacks \"%s\"", what, e.text, needle);
    sm_dir_close(d);
}

static void test_wrong_ca(void **state)
{
    (void)state;
    const char *ldaps[] = { env("SM_TEST_LDAPS_URI") };
    const char *plain[] = { env("SM_TEST_LDAP_URI") };
    struct sm_ldap_config c = config(ldaps, 1);

    c.ca_file = env("SM_TEST_OTHER_CA");
    expect_refused(&c, "ldaps, unrelated CA", "certificate");
    c = config(plain, 1);
    c.starttls = true;
    c.ca_file = env("SM_TEST_OTHER_CA");
    expect_refused(&c, "StartTLS, unrelated CA", "certificate");
    c = config(ldaps, 1);
    c.ca_file = "/nonexistent/ca.pem";
    expect_refused(&c, "ldaps, missing CA file", "/nonexistent/ca.pem");
}

static void test_bad_password(void **state)
{
    (void)state;
    const char *u[] = { env("SM_TEST_LDAPS_URI"), env("SM_TEST_LDAPS_URI") };
    struct sm_ldap_config c = config(u, 2);
    c.password = "Wrong-Horse-8";
    struct sm_dir *d = open_cfg(&c);
    struct sm_errinfo e = { 0 };

    int rc = lookup_rc(d, "alice", &e);
    printf("# bad password: %s\n", e.text);
    assert_int_equal(rc, SM_E_DIR_REFUSED);
    assert_true(contains_ci(e.text, "invalid credentials"));
    assert_null(strstr(e.text, "Wrong-Horse-8"));
    /* invalid credentials stop the pass: the second URI was not tried (no lockout storm) */
    assert_null(strchr(e.text, ';'));
    /* backing off: the next call fails at once, with the same reason */
    assert_true(backing_off(d, SM_E_DIR_REFUSED));
    sm_dir_close(d);

    c.password = env("SM_TEST_BIND_PW");
    c.bind_dn = "cn=nobody,cn=Users,dc=example,dc=com";
    d = open_cfg(&c);
    assert_int_equal(lookup_rc(d, "alice", &e), SM_E_DIR_REFUSED);
    sm_dir_close(d);
    /* a name that is not a DN is the server's to judge (AD takes user@domain): slapd refuses */
    c.bind_dn = "svc-strongmap@example.com";
    d = open_cfg(&c);
    assert_int_equal(lookup_rc(d, "alice", &e), SM_E_DIR_REFUSED);
    printf("# bind name that is not a DN, slapd: %s\n", e.text);
    sm_dir_close(d);
}

/* Kerberos with a client keytab (KRB5_CLIENT_KTNAME), as the daemon runs: over ldap:// (with
   the SASL security layer) and over ldaps:// (without: maxssf=0). */
static void test_gssapi(void **state)
{
    (void)state;
    const char *plain[] = { env("SM_TEST_LDAP_URI") };
    const char *tls[] = { env("SM_TEST_LDAPS_URI") };
    struct sm_errinfo e = { 0 };

    setenv("KRB5CCNAME", "MEMORY:strongmap-test", 1);
    setenv("KRB5_CLIENT_KTNAME", env("SM_TEST_KEYTAB"), 1);
    for (int i = 0; i < 2; i++) {
        struct sm_ldap_config c = config(i ? tls : plain, 1);
        c.bind_dn = c.password = NULL;
        c.sasl_mech = "GSSAPI";
        struct sm_dir *d = open_cfg(&c);
        int rc = sm_dir_ping(d, &e);
        if (rc != 0)
            fail_msg("GSSAPI over %s: %s (%s)", c.uris[0], sm_strerror(rc), e.text);
        expect_one(d, SM_LOOKUP_UPN, "alice@example.com", ALICE_DN);
        sm_dir_close(d);
    }
    unsetenv("KRB5CCNAME");
    unsetenv("KRB5_CLIENT_KTNAME");
}

/* SASL without credentials: refused at once, never a prompt (stdin is not read). */
static void test_sasl_no_credentials(void **state)
{
    (void)state;
    const char *u[] = { env("SM_TEST_LDAPS_URI") };
    struct sm_ldap_config c = config(u, 1);
    c.bind_dn = c.password = NULL;
    c.sasl_mech = "GSSAPI";
    setenv("KRB5CCNAME", "FILE:/nonexistent/ccache", 1);
    setenv("KRB5_CLIENT_KTNAME", "/nonexistent/keytab", 1);
    double t0 = mono();
    expect_refused(&c, "GSSAPI without a ticket or keytab", "SASL bind refused");
    assert_true(mono() - t0 < 2.0);
    c.sasl_mech = "DIGEST-MD5"; /* would ask for a name and a password */
    expect_refused(&c, "DIGEST-MD5 without answers", "SASL bind refused");
    unsetenv("KRB5CCNAME");
    unsetenv("KRB5_CLIENT_KTNAME");
}

static void test_ping_base(void **state)
{
    (void)state;
    const char *u[] = { env("SM_TEST_LDAPS_URI") };
    struct sm_ldap_config c = config(u, 1);
    c.base = "dc=nowhere,dc=com";
    struct sm_dir *d = open_cfg(&c);
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_dir_ping(d, &e), SM_E_DIR_REFUSED);
    printf("# ping, missing base: %s\n", e.text);
    assert_int_equal(lookup_rc(d, "alice", &e), SM_E_DIR_REFUSED);
    sm_dir_close(d);
}

/* ---- failover and deadlines ---------------------------------------------------------------- */

static void test_failover_dead(void **state)
{
    (void)state;
    const char *u[] = { env("SM_TEST_DEAD_URI"), env("SM_TEST_LDAPS_URI") };
    struct sm_ldap_config c = config(u, 2);
    struct sm_dir *d = open_cfg(&c);
    double t0 = mono();
    expect_one(d, SM_LOOKUP_SAM, "alice", ALICE_DN);
    printf("# failover past a closed port: %.3f s\n", mono() - t0);
    assert_true(mono() - t0 < 1.0);
    sm_dir_close(d);
}

static void test_dead_backoff(void **state)
{
    (void)state;
    const char *u[] = { env("SM_TEST_DEAD_URI") };
    struct sm_ldap_config c = config(u, 1);
    struct sm_dir *d = open_cfg(&c);
    struct sm_errinfo e = { 0 };

    assert_int_equal(lookup_rc(d, "alice", &e), SM_E_DIR_DOWN);
    printf("# closed port: %s\n", e.text);
    assert_true(backing_off(d, SM_E_DIR_DOWN));
    assert_int_equal(sm_dir_ping(d, &e), SM_E_DIR_DOWN);
    sm_dir_close(d);
}

/* A peer that accepts TCP and never answers the TLS handshake: the watchdog ends the attempt. */
static void test_failover_stalled(void **state)
{
    (void)state;
    const char *u[] = { env("SM_TEST_STALL_URI"), env("SM_TEST_LDAPS_URI") };
    struct sm_ldap_config c = config(u, 2);
    struct sm_dir *d = open_cfg(&c);

    double t0 = mono(), c0 = cpu();
    expect_one(d, SM_LOOKUP_SAM, "alice", ALICE_DN);
    double dt = mono() - t0, dc = cpu() - c0;
    printf("# stalled ldaps peer then a good one: failover took %.3f s (tls_timeout %u ms), "
           "CPU %.3f s\n",
           dt, TLS_MS, dc);
    assert_true(dt >= TLS_MS / 1000.0 * 0.9);
    assert_true(dt < TLS_MS / 1000.0 + 1.5);
    assert_true(dc < 0.5 * dt); /* waiting, not spinning on the non-blocking socket */
    sm_dir_close(d);
}

static void test_stalled_only(void **state)
{
    (void)state;
    const char *tls[] = { env("SM_TEST_STALL_URI") };
    const char *plain[] = { env("SM_TEST_STALL_PLAIN_URI") };
    struct sm_ldap_config c = config(tls, 1);
    struct sm_errinfo e = { 0 };

    struct sm_dir *d = open_cfg(&c);
    double t0 = mono();
    assert_int_equal(sm_dir_ping(d, &e), SM_E_DIR_DOWN);
    double dt = mono() - t0;
    printf("# stalled ldaps peer alone: %.3f s: %s\n", dt, e.text);
    assert_true(dt < TLS_MS / 1000.0 + 1.5);
    assert_non_null(strstr(e.text, "within"));
    sm_dir_close(d);

    /* StartTLS: the extended operation is never answered */
    c = config(plain, 1);
    c.starttls = true;
    c.op_timeout_ms = 3000;
    d = open_cfg(&c);
    t0 = mono();
    assert_int_equal(sm_dir_ping(d, &e), SM_E_DIR_DOWN);
    dt = mono() - t0;
    printf("# stalled StartTLS peer: %.3f s: %s\n", dt, e.text);
    assert_true(dt < TLS_MS / 1000.0 + 1.5);
    sm_dir_close(d);
}

/* ---- the server goes away (these cases stop and pause slapd: keep them last) -------------- */

static void test_server_paused(void **state)
{
    (void)state;
    const char *u[] = { env("SM_TEST_LDAPS_URI") };
    struct sm_ldap_config c = config(u, 1);
    c.op_timeout_ms = 1000;
    struct sm_dir *d = open_cfg(&c);
    struct sm_errinfo e = { 0 };

    expect_one(d, SM_LOOKUP_SAM, "alice", ALICE_DN);
    ctl("pause");
    double t0 = mono();
    int rc = lookup_rc(d, "alice", &e);
    double dt = mono() - t0;
    printf("# slapd stopped (SIGSTOP), search: %.3f s: %s\n", dt, e.text);
    assert_int_equal(rc, SM_E_DIR_DOWN);
    assert_true(dt < 2.5);
    /* reconnecting to the frozen server: TCP is accepted by the kernel, TLS never answers */
    t0 = mono();
    rc = lookup_rc(d, "alice", &e);
    dt = mono() - t0;
    printf("# slapd stopped, reconnect: %.3f s: %s\n", dt, e.text);
    ctl("resume");
    assert_int_equal(rc, SM_E_DIR_DOWN);
    assert_true(dt < TLS_MS / 1000.0 + 1.5);

    t0 = mono();
    for (rc = -1; rc != 0 && mono() - t0 < 8.0; usleep(50 * 1000))
        rc = lookup_rc(d, "alice", &e);
    printf("# slapd resumed: the handle answered again after %.3f s\n", mono() - t0);
    assert_int_equal(rc, 0);
    sm_dir_close(d);
}

static void test_server_restart(void **state)
{
    (void)state;
    const char *u[] = { env("SM_TEST_LDAPS_URI") };
    struct sm_ldap_config c = config(u, 1);
    struct sm_dir *d = open_cfg(&c);
    struct sm_errinfo e = { 0 };
    int rc, fast = 0;

    expect_one(d, SM_LOOKUP_SAM, "alice", ALICE_DN);
    ctl("stop");
    double t0 = mono();
    rc = lookup_rc(d, "alice", &e);
    double dt = mono() - t0;
    printf("# slapd killed: %.3f s: %s\n", dt, e.text);
    assert_int_equal(rc, SM_E_DIR_DOWN);
    assert_true(dt < 1.0);
    for (int i = 0; i < 5; i++) {
        t0 = mono();
        assert_int_equal(lookup_rc(d, "alice", &e), SM_E_DIR_DOWN);
        fast += mono() - t0 < FAST_S;
    }
    assert_int_equal(fast, 5);

    ctl("start");
    t0 = mono();
    int calls = 0;
    for (rc = -1; rc != 0 && mono() - t0 < 8.0; calls++) {
        rc = lookup_rc(d, "alice", &e);
        if (rc != 0)
            usleep(20 * 1000);
    }
    printf("# slapd restarted: the same handle answered after %.3f s (%d calls)\n", mono() - t0,
           calls);
    assert_int_equal(rc, 0);
    expect_one(d, SM_LOOKUP_UPN, "alice@example.com", ALICE_DN);
    sm_dir_close(d);
}

int main(void)
{
    /* libldap writes to sockets with write(): a peer that went away must not kill us */
    signal(SIGPIPE, SIG_IGN);
    alarm(120); /* a hang (a deadline not kept) fails the run instead of waiting for ctest */
    setvbuf(stdout, NULL, _IOLBF, 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_checks),
        cmocka_unit_test(test_lookup_forms),
        cmocka_unit_test(test_dn_outside_base),
        cmocka_unit_test(test_binary_sid),
        cmocka_unit_test(test_altsec),
        cmocka_unit_test(test_ntauth),
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_ntauth_kept), /* through the delaying proxy */
        cmocka_unit_test(test_cache_only),  /* and this one */
        cmocka_unit_test(test_hostile_names),
        cmocka_unit_test(test_size_limit),
        cmocka_unit_test(test_anonymous_plain),
        cmocka_unit_test(test_starttls),
        cmocka_unit_test(test_wrong_ca),
        cmocka_unit_test(test_bad_password),
        cmocka_unit_test(test_gssapi),
        cmocka_unit_test(test_sasl_no_credentials),
        cmocka_unit_test(test_ping_base),
        cmocka_unit_test(test_failover_dead),
        cmocka_unit_test(test_dead_backoff),
        cmocka_unit_test(test_failover_stalled),
        cmocka_unit_test(test_stalled_only),
        cmocka_unit_test(test_server_paused),
        cmocka_unit_test(test_server_restart),
    };
    if (getenv("SM_TEST_FILTER")) /* e.g. SM_TEST_FILTER=test_gssapi: one case */
        cmocka_set_test_filter(getenv("SM_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}

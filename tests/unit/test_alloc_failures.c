/*
 * tests/unit/test_alloc_failures.c - every allocation the engine makes, made to fail in turn.
 *
 * Each scenario is one call of a public entry point (and the release of what it returned) on
 * representative input. Run once through the allocator's trace (lib/alloc.h), it makes N
 * allocation calls and leaves nothing behind. Then, for k = 1 .. N, the same scenario runs
 * again with the k-th allocation failing, and must
 *   - return -ENOMEM (a call that succeeds anyway is a failure swallowed: a result silently
 *     missing a part; the one exception is what the API documents as optional, checked to be
 *     just that),
 *   - leave its out-parameters untouched (and, where the API promises one, give a reason),
 *   - free every block it made (the trace follows them: a leak is named with its k),
 *   - and not crash (valgrind and ASan+LSan run this test too).
 * A scenario's setup (parsing the input, opening the directory) runs outside the trace, afresh
 * for every k, so that state one run leaves (the NTAuth memo, the lookup cache) never changes
 * the next; what the call adds to such state is released inside the trace, by the scenario's
 * cleanup (sm_dir_close(), sm_dir_cache_free()), so that it counts as freed or leaked.
 *
 * Fixtures: tests/data (SM_TEST_DATA) and examples/demo.ldif (the verdict directory of
 * tests/data/dir/verdict.ldif.in, filled in by examples/make-demo.py).
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <strongmap/strongmap.h>

#include "alloc.h"
#include "su_buf.h"

#define AT_2026 1780272000 /* 2026-06-01T00:00:00Z: the time of tests/unit/test_verdict.c */

/* What an out-parameter holds before a call: it must still hold it after a failure. */
static char untouched_mark;
#define UNTOUCHED ((void *)&untouched_mark)

/* ---- fixtures ------------------------------------------------------------------------------ */

static const char *data_dir(void)
{
    const char *d = getenv("SM_TEST_DATA");
    return d ? d : "tests/data";
}

static char *slurp_path(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (!buf)
        fail_msg("out of memory");
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *ret_len = (size_t)n;
    return buf;
}

static char *slurp(const char *rel, size_t *ret_len)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", data_dir(), rel);
    return slurp_path(path, ret_len);
}

static struct sm_certs *parse_fixture(const char *rel)
{
    size_t len;
    char *buf = slurp(rel, &len);
    struct sm_certs *c = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_parse_opts po = { .now = AT_2026 };
    if (sm_certs_parse(buf, len, &po, &c, &e) != 0)
        fail_msg("%s: %s", rel, e.text);
    free(buf);
    return c;
}

/* ---- the driver ---------------------------------------------------------------------------- */

struct scenario;

/* What a scenario's setup made, outside the trace; its run and cleanup use it. */
struct fx {
    const struct scenario *s;
    struct sm_dir *dir;
    struct sm_dir_cache *cache;
    struct sm_certs *certs;                  /* a certificate the call reads */
    struct sm_certs *anchors;                /* verdicts: Samba's pkinit anchors */
    struct sm_altsec *altsec[SM_MAX_ALTSEC]; /* values the call reads */
    size_t n_altsec;
    struct sm_verdict *verdict;       /* a verdict the call renders */
    struct sm_account_status *status; /* a status the call renders */
    struct sm_csr *csr;               /* preissue: the request */
    struct sm_preissue *plan;         /* preissue: a plan the call renders */
    char *input;                      /* the call's input bytes */
    size_t input_len;
    uint64_t insertions; /* the lookup cache's, after the run */
    char digest[4096];   /* what the run returned, in words */
};

struct scenario {
    char name[160];
    /* outside the trace: make what the call needs (NULL: nothing) */
    void (*setup)(struct fx *f);
    /* in the trace: the call, its out-parameters checked, its result released; its code */
    int (*run)(struct fx *f);
    /* in the trace, after run: release what holds state the call may have added to */
    void (*cleanup)(struct fx *f);
    /* after the trace: free what setup made and cleanup did not */
    void (*teardown)(struct fx *f);
    const char *path;     /* an input fixture (or NULL) */
    const char *text;     /* a second input: a value, an account name (or NULL) */
    const char *profiles; /* verdicts: profile specifications separated by ';' (NULL: default) */
    unsigned flags;       /* per scenario (SC_*) */
    bool cache_may_skip;  /* a lookup result that cannot be cached is not an error (dir.h) */
    bool no_allocation;   /* the entry point must not allocate at all */
};

enum {
    SC_PRETTY = 1 << 0,  /* JSON: SM_JSON_PRETTY */
    SC_CACHE = 1 << 1,   /* the directory has a lookup cache */
    SC_WARM = 1 << 2,    /* the call was made once before (cache filled, NTAuth memo made) */
    SC_REDACT = 1 << 3,  /* verdict: redact_account */
    SC_ANCHORS = 1 << 4, /* verdict: Samba's anchors given (the issuing CA) */
    SC_CERT = 1 << 5,    /* lint, JSON: with the certificate */
};

/* The scenario being checked, and the failing allocation (0: none) of how many. */
static const struct scenario *cur;

static unsigned long cur_k, cur_n;

static unsigned problems, group_problems;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void problem(const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (cur_k)
        print_error("%s: allocation %lu of %lu failing: %s\n", cur->name, cur_k, cur_n, msg);
    else
        print_error("%s: %s\n", cur->name, msg);
    problems++;
}

/* Run @s once, with allocation @fail_at failing (0: none). Returns the call's code. */
static int run_once(const struct scenario *s, unsigned long fail_at, struct fx *f,
                    struct mem_trace *t)
{
    memset(f, 0, sizeof(*f));
    f->s = s;
    if (s->setup)
        s->setup(f);
    mem_trace_begin(fail_at);
    int r = s->run(f);
    if (s->cleanup)
        s->cleanup(f);
    mem_trace_end(t);
    if (s->teardown)
        s->teardown(f);
    return r;
}

static unsigned long total_runs;

/* Check @s with each of its allocations failing in turn. */
static void check(const struct scenario *s)
{
    static struct fx base, f; /* large: not on the stack */
    struct mem_trace t;

    cur = s;
    cur_k = 0;
    problems = 0;
    int r0 = run_once(s, 0, &base, &t);
    unsigned long n = cur_n = t.calls;
    if (t.live || t.overflow)
        problem("%zu blocks (%zu bytes) left without any failure", t.live, t.live_bytes);
    if (s->no_allocation && n)
        problem("%lu allocations; it must make none", n);
    unsigned long uncached = 0;
    for (unsigned long k = 1; k <= n; k++) {
        cur_k = k;
        int r = run_once(s, k, &f, &t);
        total_runs++;
        if (!t.failed)
            problem("the call made only %lu allocations this time", t.calls);
        if (t.live || t.overflow)
            problem("%zu blocks (%zu bytes) leaked", t.live, t.live_bytes);
        if (r == -ENOMEM)
            continue;
        if (r == 0 && r0 == 0 && s->cache_may_skip && f.insertions < base.insertions &&
            strcmp(f.digest, base.digest) == 0) {
            uncached++; /* only the cache's copy was not made: dir.h allows it */
            continue;
        }
        if (r == r0)
            problem("returned %d as without a failure (the failure was lost)", r);
        else
            problem("returned %d (%s), not -ENOMEM", r, sm_strerror(r));
    }
    if (uncached)
        print_message("  %-76s N = %lu (%lu answered uncached)\n", s->name, n, uncached);
    else
        print_message("  %-76s N = %lu\n", s->name, n);
    if (problems)
        print_error("%s: %u problems\n", s->name, problems);
    group_problems += problems;
}

/* The end of a test: fails when a scenario it checked had a problem. */
static void group_done(void)
{
    unsigned n = group_problems;
    group_problems = 0;
    if (n)
        fail_msg("%u problems (above)", n);
}

/* The out-parameter @out of a call that returned @r: written on success only. True when it
   holds a result to use and release. */
static bool result_ok(int r, const void *out, const char *what)
{
    if (r < 0 && out != UNTOUCHED)
        problem("%s written although the call failed with %d", what, r);
    if (r == 0 && (out == UNTOUCHED || !out))
        problem("returned 0 without writing %s", what);
    return r == 0 && out != UNTOUCHED && out;
}

/* The reason the API promises with a failure. */
static void reason(int r, const struct sm_errinfo *e)
{
    if (r < 0 && !e->text[0])
        problem("failed with %d and no reason in its sm_errinfo", r);
}

/* A JSON document the engine returned, free()d as the API says, where the trace sees it. */
static void json_free(char *json)
{
    mem_free(json);
}

/* @r and *@ret_json of a call that returns a JSON document. */
static int json_result(int r, char *const *ret_json)
{
    char *json = *ret_json;
    if (!result_ok(r, json, "*ret_json"))
        return r;
    if (json[0] != '{')
        problem("returned something else than a JSON object");
    json_free(json);
    return r;
}

/* ---- the hook itself ----------------------------------------------------------------------- */

static void test_hook(void **state)
{
    (void)state;
    struct mem_trace t;
    void *before = mem_malloc(8); /* made outside a trace: freed inside it, never counted */

    mem_trace_begin(0);
    char *a = mem_malloc(10), *b = mem_calloc(2, 3), *c = mem_strdup("x");
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    a = mem_realloc(a, 100);
    assert_non_null(a);
    mem_free(b);
    mem_free(before);
    mem_free(NULL);
    mem_trace_end(&t);
    assert_int_equal(t.calls, 4);
    assert_false(t.failed);
    assert_int_equal(t.live, 2); /* a and c */
    assert_int_equal(t.live_bytes, 102);
    mem_free(a);
    mem_free(c);

    for (unsigned long k = 1; k <= 3; k++) {
        mem_trace_begin(k);
        errno = 0;
        void *p[3] = { mem_malloc(1), mem_calloc(1, 1), mem_strdup("y") };
        for (unsigned long i = 0; i < 3; i++)
            assert_true((p[i] == NULL) == (i + 1 == k));
        assert_int_equal(errno, ENOMEM);
        for (unsigned long i = 0; i < 3; i++)
            mem_free(p[i]);
        mem_trace_end(&t);
        assert_true(t.failed);
        assert_int_equal(t.calls, 3);
        assert_int_equal(t.live, 0);
    }

    /* a failed realloc() keeps the block */
    mem_trace_begin(2);
    a = mem_malloc(4);
    assert_null(mem_realloc(a, 64));
    mem_trace_end(&t);
    assert_int_equal(t.live, 1);
    mem_free(a);
}

/* ---- certificates: input, JSON documents --------------------------------------------------- */

static void setup_input(struct fx *f)
{
    if (f->s->path)
        f->input = slurp(f->s->path, &f->input_len);
    else
        f->input_len = strlen(f->input = strdup(f->s->text));
}

static void teardown_input(struct fx *f)
{
    free(f->input);
}

static void setup_certs(struct fx *f)
{
    if (f->s->path)
        f->certs = parse_fixture(f->s->path);
}

static void teardown_certs(struct fx *f)
{
    sm_certs_free(f->certs);
}

static int run_json_certs(struct fx *f)
{
    char *json = UNTOUCHED;
    int r = sm_json_certs(f->certs, f->s->flags & SC_PRETTY ? SM_JSON_PRETTY : 0, &json);
    return json_result(r, &json);
}

static void test_json_certs(void **state)
{
    (void)state;
    static const char *const files[] = {
        "certs/chain.pem",
        "certs/all_san.pem",
        "certs/sid_both_conflict.pem",
        "certs/ed25519.pem",
        "certs/rsa_pss.pem",
        "certs/trailing_garbage.pem",
        "certs/bmp_names.pem",
        "certs/template.pem",
        "edge/bmp_lone_surr.der",
        "certs/unknown_critical.pem",
    };
    struct scenario s = { .setup = setup_certs, .run = run_json_certs, .teardown = teardown_certs };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        for (unsigned pretty = 0; pretty < 2; pretty++) {
            snprintf(s.name, sizeof(s.name), "sm_json_certs %s%s", files[i],
                     pretty ? " (pretty)" : "");
            s.path = files[i];
            s.flags = pretty ? SC_PRETTY : 0;
            check(&s);
        }
    group_done();
}

/* ---- key credentials and SIDs -------------------------------------------------------------- */

/* The first line of a fixture (keycred values). */
static char *slurp_line(const char *rel)
{
    size_t len;
    char *s = slurp(rel, &len);
    s[strcspn(s, "\r\n")] = '\0';
    return s;
}

static void setup_line(struct fx *f)
{
    f->input = slurp_line(f->s->path);
    f->input_len = strlen(f->input);
}

static int run_keycred(struct fx *f)
{
    struct sm_keycred *k = UNTOUCHED;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_keycred_parse(f->input, f->input_len, &k, &e);
    bool ok = result_ok(r, k, "*ret");
    reason(r, &e);
    if (ok)
        sm_keycred_free(k);
    return r;
}

static void test_keycred(void **state)
{
    (void)state;
    static const char *const files[] = {
        "keycred/user_bcrypt.txt",       "keycred/samba_spki.txt",
        "keycred/computer_der.txt",      "verdict/whfb_keycred_bcrypt.txt",
        "verdict/whfb_keycred_spki.txt",
    };
    struct scenario s = { .setup = setup_line, .run = run_keycred, .teardown = teardown_input };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(s.name, sizeof(s.name), "sm_keycred_parse %s", files[i]);
        s.path = files[i];
        check(&s);
    }
    static const char *const texts[] = { "B:8:00020000:CN=x", "not a key credential" };
    s.setup = setup_input;
    s.path = NULL;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        snprintf(s.name, sizeof(s.name), "sm_keycred_parse \"%s\"", texts[i]);
        s.text = texts[i];
        check(&s);
    }
    group_done();
}

#define SID_TEXT "S-1-5-21-1004336348-1177238915-682003330-1105"

static int run_sid(struct fx *f)
{
    (void)f;
    struct sm_sid sid, back;
    bool canonical;
    char text[SM_SID_TEXT_MAX];
    uint8_t bin[SM_SID_BINARY_MAX], der[256];
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_sid_parse(SID_TEXT, strlen(SID_TEXT), &sid, &canonical, &e);
    if (r < 0)
        return r;
    sm_sid_format(&sid, text, sizeof(text));
    size_t n = sm_sid_to_binary(&sid, bin);
    if ((r = sm_sid_from_binary(bin, n, &back)) < 0)
        return r;
    if (!sm_sid_equal(&sid, &back) || strcmp(text, SID_TEXT) != 0)
        problem("the SID changed on its way");
    long dl = sm_sid_extension_der(&sid, der, sizeof(der));
    return dl < 0 ? (int)dl : 0;
}

static int run_json_sid(struct fx *f)
{
    struct sm_sid sid;
    char *json = UNTOUCHED;
    assert_int_equal(sm_sid_parse(SID_TEXT, strlen(SID_TEXT), &sid, NULL, NULL), 0);
    return json_result(sm_json_sid(&sid, f->s->flags & SC_PRETTY ? SM_JSON_PRETTY : 0, &json),
                       &json);
}

static void test_sid(void **state)
{
    (void)state;
    struct scenario s = { .name = "sm_sid_parse, _format, _to_binary, _from_binary, "
                                  "_extension_der",
                          .run = run_sid,
                          .no_allocation = true };
    check(&s);
    for (unsigned pretty = 0; pretty < 2; pretty++) {
        struct scenario j = { .run = run_json_sid, .flags = pretty ? SC_PRETTY : 0 };
        snprintf(j.name, sizeof(j.name), "sm_json_sid %s%s", SID_TEXT, pretty ? " (pretty)" : "");
        check(&j);
    }
    group_done();
}

/* ---- certificates: the analysis ------------------------------------------------------------ */

static char *data_path(const char *rel)
{
    static char path[1024];
    snprintf(path, sizeof(path), "%s/%s", data_dir(), rel);
    return path;
}

static int run_certs_parse(struct fx *f)
{
    struct sm_certs *c = UNTOUCHED;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_parse_opts po = { .now = AT_2026 };
    int r = sm_certs_parse(f->input, f->input_len, &po, &c, &e);
    bool ok = result_ok(r, c, "*ret");
    reason(r, &e);
    if (ok)
        sm_certs_free(c);
    return r;
}

/* Every file of @dir (under tests/data) ending in one of @exts, sorted, into @out. */
static size_t fixtures(const char *dir, const char *const *exts, char out[][128], size_t max)
{
    DIR *d = opendir(data_path(dir));
    struct dirent *de;
    size_t n = 0;
    if (!d)
        fail_msg("cannot open %s", data_path(dir));
    while ((de = readdir(d)) && n < max) {
        size_t len = strlen(de->d_name);
        for (size_t i = 0; exts[i]; i++) {
            size_t el = strlen(exts[i]);
            if (len > el && strcmp(de->d_name + len - el, exts[i]) == 0) {
                snprintf(out[n++], 128, "%.60s/%.60s", dir, de->d_name);
                break;
            }
        }
    }
    closedir(d);
    qsort(out, n, 128, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* a PEM block that is no DER SEQUENCE; one whose SEQUENCE is no certificate (INTEGER 1) */
#define BAD_PEM      "-----BEGIN CERTIFICATE-----\nMIIBAAAA\n-----END CERTIFICATE-----\n"
#define NOT_CERT_PEM "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n"

static void test_certs_parse(void **state)
{
    (void)state;
    static const char *const exts[] = { ".pem", ".der", ".b64", NULL };
    static char files[256][128];
    static const char *const dirs[] = { "certs", "edge", "verdict", "keycred" };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        n += fixtures(dirs[i], exts, files + n, 256 - n);
    assert_true(n > 60);

    struct scenario s = { .setup = setup_input,
                          .run = run_certs_parse,
                          .teardown = teardown_input };
    for (size_t i = 0; i < n; i++) {
        snprintf(s.name, sizeof(s.name), "sm_certs_parse %s", files[i]);
        s.path = files[i];
        check(&s);
    }

    /* inputs that only fail: the error paths allocate too */
    static const struct {
        const char *name, *text;
    } bad[] = {
        { "a PEM block that is no certificate", BAD_PEM },
        { "two PEM blocks that are no certificates", BAD_PEM BAD_PEM },
        { "a PEM block whose SEQUENCE is no certificate", NOT_CERT_PEM },
        { "base64 that is no certificate", "MIIBAAAA" },
        { "text", "no certificate here" },
    };
    s.path = NULL;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(s.name, sizeof(s.name), "sm_certs_parse %s", bad[i].name);
        s.text = bad[i].text;
        check(&s);
    }
    group_done();
}

/* A block that fails (s->text) among good ones: (*ret)->errors names it. */
static void setup_mixed(struct fx *f)
{
    size_t len, blen = strlen(f->s->text);
    char *chain = slurp("certs/chain.pem", &len);
    f->input_len = blen + len;
    f->input = malloc(f->input_len + 1);
    assert_non_null(f->input);
    memcpy(f->input, f->s->text, blen);
    memcpy(f->input + blen, chain, len + 1);
    free(chain);
}

static void test_certs_parse_mixed(void **state)
{
    (void)state;
    struct scenario s = { .name = "sm_certs_parse a bad PEM block before certs/chain.pem",
                          .setup = setup_mixed,
                          .run = run_certs_parse,
                          .teardown = teardown_input,
                          .text = BAD_PEM };
    check(&s);
    snprintf(s.name, sizeof(s.name),
             "sm_certs_parse a block that is no certificate before "
             "certs/chain.pem");
    s.text = NOT_CERT_PEM;
    check(&s);
    group_done();
}

/* ---- altSecurityIdentities ----------------------------------------------------------------- */

#define ISSUER_AD "DC=com,DC=example,CN=Example Issuing CA"

/* Every kind of value: each mapping type, other prefixes, the invalid forms, Samba's case. */
static const char *const altsec_values[] = {
    "X509:<I>" ISSUER_AD "<SR>01006F5E4D3C2B1A",
    "X509:<SKI>627E29B2855E219188C9A2DEF3A97A227EA7ED4C",
    "X509:<SHA1-PUKEY>627E29B2855E219188C9A2DEF3A97A227EA7ED4C",
    "X509:<I>" ISSUER_AD "<SID>S-1-5-21-1004336348-1177238915-682003330-1105",
    "X509:<I>" ISSUER_AD "<S>DC=com,DC=example,OU=Users,CN=Alice",
    "X509:<S>DC=com,DC=example,OU=Users,CN=Alice",
    "X509:<RFC822>alice@example.com",
    "x509:<i>dc=com,dc=example,cn=example issuing ca<sr>10006f5e4d3c2b1a",
    "X509:<I>" ISSUER_AD "<SR>01006F5E4D3C2B1A",
    "Kerberos:alice@EXAMPLE.COM",
    "X509:",
    "X509:<I>" ISSUER_AD "<SR>01<SR>02",
    "X509:<SKI>ABC",
    "X509:<FOO>bar",
    "X509:<I>" ISSUER_AD "<SID>S-1-5",
    "X509:<I>CN=\"a<S>b\",DC=com<SR>1200000000AC11000000002B",
};

#define N_ALTSEC (sizeof(altsec_values) / sizeof(altsec_values[0]))

static int run_altsec_parse(struct fx *f)
{
    struct sm_altsec *v = UNTOUCHED;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_altsec_parse(f->s->text, strlen(f->s->text), &v, &e);
    bool ok = result_ok(r, v, "*ret");
    reason(r, &e);
    if (ok)
        sm_altsec_free(v);
    return r;
}

/* The values parsed (and the certificate, with SC_CERT), outside the trace. */
static void setup_altsec(struct fx *f)
{
    if (f->s->flags & SC_CERT)
        f->certs = parse_fixture("certs/sid_ext.pem");
    for (size_t i = 0; i < N_ALTSEC; i++) {
        struct sm_errinfo e;
        assert_int_equal(sm_altsec_parse(altsec_values[i], strlen(altsec_values[i]),
                                         &f->altsec[f->n_altsec++], &e),
                         0);
    }
}

static void teardown_altsec(struct fx *f)
{
    for (size_t i = 0; i < f->n_altsec; i++)
        sm_altsec_free(f->altsec[i]);
    sm_certs_free(f->certs);
}

static const struct sm_cert *fx_cert(const struct fx *f)
{
    return f->certs ? &f->certs->certs[0] : NULL;
}

static int run_altsec_lint(struct fx *f)
{
    return sm_altsec_lint(f->altsec, f->n_altsec, fx_cert(f));
}

static int run_json_altsec(struct fx *f)
{
    char *json = UNTOUCHED;
    int r = sm_altsec_lint(f->altsec, f->n_altsec, fx_cert(f));
    if (r == 0)
        r = json_result(sm_json_altsec(f->altsec, f->n_altsec, fx_cert(f),
                                       f->s->flags & SC_PRETTY ? SM_JSON_PRETTY : 0, &json),
                        &json);
    return r;
}

static void test_altsec(void **state)
{
    (void)state;
    struct scenario s = { .run = run_altsec_parse };
    for (size_t i = 0; i < N_ALTSEC; i++) {
        snprintf(s.name, sizeof(s.name), "sm_altsec_parse %.60s", altsec_values[i]);
        s.text = altsec_values[i];
        check(&s);
    }
    for (unsigned with_cert = 0; with_cert < 2; with_cert++) {
        struct scenario l = { .setup = setup_altsec,
                              .run = run_altsec_lint,
                              .teardown = teardown_altsec,
                              .flags = with_cert ? SC_CERT : 0 };
        snprintf(l.name, sizeof(l.name), "sm_altsec_lint %zu values%s", N_ALTSEC,
                 with_cert ? " with certs/sid_ext.pem" : "");
        check(&l);
        l.run = run_json_altsec;
        snprintf(l.name, sizeof(l.name), "sm_altsec_lint + sm_json_altsec %zu values%s", N_ALTSEC,
                 with_cert ? " with certs/sid_ext.pem" : "");
        check(&l);
    }
    group_done();
}

/* ---- profiles ------------------------------------------------------------------------------ */

static void digest_add(struct fx *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void digest_add(struct fx *f, const char *fmt, ...)
{
    size_t len = strlen(f->digest);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->digest + len, sizeof(f->digest) - len, fmt, ap);
    va_end(ap);
}

static int run_profile(struct fx *f)
{
    struct sm_profile p;
    char text[SM_PROFILE_TEXT_MAX];
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_profile_parse(f->s->text, &p, &e);
    if (r < 0)
        return r;
    sm_profile_format(&p, text, sizeof(text));
    digest_add(f, "%s", text);
    return 0;
}

static void test_profiles(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "windows-2022",
        "samba,mode=none",
        "windows-2019,mode=1,backdating=3600,update=2025-01-14,UseSubjectAltName=0,"
        "AllowNtAuthPolicyBypass=1",
    };
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        struct scenario p = { .run = run_profile, .text = specs[i], .no_allocation = true };
        snprintf(p.name, sizeof(p.name), "sm_profile_parse + sm_profile_format %.60s", specs[i]);
        check(&p);
    }
    group_done();
}

/* ---- the directory: lookups ---------------------------------------------------------------- */

static struct sm_dir *open_ldif(const char *path)
{
    struct sm_dir *d = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    if (sm_dir_open_ldif(path, &d, &e) != 0)
        fail_msg("%s: %s", path, e.text);
    return d;
}

/* examples/demo.ldif: tests/data/dir/verdict.ldif.in with its certificates filled in */
static struct sm_dir *open_demo(void)
{
    return open_ldif(data_path("../../examples/demo.ldif"));
}

/* The directory @ldif (under tests/data; NULL: the demo) and, with SC_CACHE, its cache. */
static void open_dir(struct fx *f, const char *ldif)
{
    f->dir = ldif ? open_ldif(data_path(ldif)) : open_demo();
    if (f->s->flags & SC_CACHE) {
        f->cache = sm_dir_cache_new(64, 600, 600);
        assert_non_null(f->cache);
        sm_dir_set_cache(f->dir, f->cache);
    }
}

/* In the trace: what the call added to the directory (NTAuth memo) and cache dies here. */
static void cleanup_dir(struct fx *f)
{
    struct sm_dir_cache_stats st;
    if (f->cache) {
        sm_dir_cache_stats(f->cache, &st);
        f->insertions = st.insertions;
    }
    f->dir = sm_dir_close(f->dir);
    f->cache = sm_dir_cache_free(f->cache);
}

static void digest_accounts(struct fx *f, const struct sm_accounts *a)
{
    digest_add(f, "%zu:", a->n);
    for (size_t i = 0; i < a->n; i++)
        digest_add(f, " %s (%zu altsec, %zu certs, %zu keycreds)", a->v[i].dn, a->v[i].n_altsec,
                   a->v[i].n_certs, a->v[i].n_keycreds);
}

/* s->text: "<how>:<name>", or "altsec:<value>|<value>...", or "ntauth:" */
static int lookup(struct fx *f)
{
    const char *spec = f->s->text, *colon = strchr(spec, ':');
    struct sm_accounts *a = UNTOUCHED;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    char buf[1024];
    int r;

    assert_non_null(colon);
    snprintf(buf, sizeof(buf), "%s", colon + 1);
    if (strncmp(spec, "altsec:", 7) == 0) {
        const char *v[8];
        size_t n = 0;
        for (char *p = buf, *save = NULL, *t; n < 8 && (t = strtok_r(p, "|", &save)); p = NULL)
            v[n++] = t;
        r = sm_dir_find_altsec(f->dir, v, n, &a, &e);
    } else if (strncmp(spec, "ntauth:", 7) == 0) {
        r = sm_dir_ntauth(f->dir, &a, &e);
    } else {
        static const char *const kinds[] = { "auto", "upn", "sam", "sid", "dns_host", "dn" };
        enum sm_lookup how = SM_LOOKUP_AUTO;
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
            if (strncmp(spec, kinds[i], strlen(kinds[i])) == 0 && spec + strlen(kinds[i]) == colon)
                how = (enum sm_lookup)i;
        r = sm_dir_lookup(f->dir, how, buf, &a, &e);
    }
    bool ok = result_ok(r, a, "*ret");
    if (ok) {
        digest_accounts(f, a);
        sm_accounts_free(a);
    }
    return r;
}

static void setup_lookup(struct fx *f)
{
    open_dir(f, f->s->path);
    if (f->s->flags & SC_WARM) { /* the cache holds the answer */
        struct fx warm = *f;
        assert_int_equal(lookup(&warm), 0);
    }
}

static void test_dir_lookup(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "auto:alice",
        "auto:alice@example.com",
        "auto:EXAMPLE\\alice",
        "auto:WS01$",
        "auto:ws01.example.com",
        "auto:j.smith", /* a dotted name that is no host: dNSHostName, then sAMAccountName */
        "auto:CN=Alice Example,CN=Users,DC=example,DC=com",
        "auto:nobody",
        "upn:bob@example.com",
        "sam:carol",
        "dns_host:ws01.example.com",
        "dn:CN=Bob Example,CN=Users,DC=example,DC=com",
        "dn:CN=Nobody,CN=Users,DC=example,DC=com",
        "altsec:X509:<SKI>627E29B2855E219188C9A2DEF3A97A227EA7ED4C",
        "altsec:X509:<RFC822>bob@example.com|x509:<ski>627e29b2855e219188c9a2def3a97a227ea7ed4c|"
        "X509:<SKI>00",
        "ntauth:",
    };
    static const char *const modes[] = { "", " (cache)", " (cache, warm)" };
    static const unsigned mode_flags[] = { 0, SC_CACHE, SC_CACHE | SC_WARM };
    for (size_t m = 0; m < 3; m++)
        for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
            struct scenario s = { .setup = setup_lookup,
                                  .run = lookup,
                                  .cleanup = cleanup_dir,
                                  .path = "dir/test.ldif",
                                  .text = specs[i],
                                  .flags = mode_flags[m],
                                  .cache_may_skip = true };
            snprintf(s.name, sizeof(s.name), "%s %.60s%s",
                     strncmp(specs[i], "altsec:", 7) == 0   ? "sm_dir_find_altsec"
                     : strncmp(specs[i], "ntauth:", 7) == 0 ? "sm_dir_ntauth"
                                                            : "sm_dir_lookup",
                     specs[i], modes[m]);
            check(&s);
        }
    struct scenario s = { .setup = setup_lookup,
                          .run = lookup,
                          .cleanup = cleanup_dir,
                          .text = "ntauth:",
                          .cache_may_skip = true };
    snprintf(s.name, sizeof(s.name), "sm_dir_ntauth examples/demo.ldif");
    check(&s);
    group_done();
}

/* ---- the directory: opening ---------------------------------------------------------------- */

static int run_open_ldif(struct fx *f)
{
    struct sm_dir *d = UNTOUCHED;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_dir_open_ldif(data_path(f->s->path), &d, &e);
    bool ok = result_ok(r, d, "*ret");
    reason(r, &e);
    if (ok)
        sm_dir_close(d);
    return r;
}

static int run_open_ldap(struct fx *f)
{
    (void)f;
    static const char *const uris[] = { "ldaps://dc1.example.com", "ldap://dc2.example.com:3389" };
    struct sm_ldap_config cfg = { .uris = uris,
                                  .n_uris = 2,
                                  .base = "DC=example,DC=com",
                                  .bind_dn = "CN=svc,CN=Users,DC=example,DC=com",
                                  .password = "secret",
                                  .ca_file = "/etc/ssl/certs/ca-certificates.crt",
                                  .starttls = true };
    struct sm_dir *d = UNTOUCHED;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_dir_open_ldap(&cfg, &d, &e);
    if (result_ok(r, d, "*ret"))
        sm_dir_close(d);
    if (r < 0)
        return r;
    cfg.bind_dn = cfg.password = NULL;
    cfg.ntauth_dn = "CN=NTAuth,DC=example,DC=com";
    d = UNTOUCHED;
    r = sm_dir_open_ldap(&cfg, &d, &e);
    if (result_ok(r, d, "*ret"))
        sm_dir_close(d);
    return r;
}

static int run_cache_new(struct fx *f)
{
    (void)f;
    struct sm_dir_cache *c = sm_dir_cache_new(1000, 60, 10);
    if (!c)
        return -ENOMEM;
    sm_dir_cache_free(c);
    return 0;
}

static void test_dir_open(void **state)
{
    (void)state;
    static const char *const files[] = { "dir/test.ldif", "dir/bad_syntax.ldif",
                                         "../../examples/demo.ldif" };
    struct scenario s = { .run = run_open_ldif };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(s.name, sizeof(s.name), "sm_dir_open_ldif %s", files[i]);
        s.path = files[i];
        check(&s);
    }
    struct scenario l = { .name = "sm_dir_open_ldap (simple bind; SASL-less anonymous)",
                          .run = run_open_ldap };
    check(&l);
    struct scenario c = { .name = "sm_dir_cache_new", .run = run_cache_new };
    check(&c);
    group_done();
}

/* ---- verdicts ------------------------------------------------------------------------------ */

static size_t profiles_of(const char *specs, struct sm_profile *out)
{
    char buf[512];
    size_t n = 0;
    if (!specs)
        return 0;
    snprintf(buf, sizeof(buf), "%s", specs);
    for (char *p = buf, *save = NULL, *t; n < SM_MAX_PROFILES && (t = strtok_r(p, ";", &save));
         p = NULL)
        assert_int_equal(sm_profile_parse(t, &out[n++], NULL), 0);
    return n;
}

static int verdict(struct fx *f, struct sm_verdict **ret)
{
    struct sm_profile profiles[SM_MAX_PROFILES];
    struct sm_verdict_input in = { .cert = fx_cert(f),
                                   .account = f->s->text,
                                   .profiles = profiles,
                                   .n_profiles = profiles_of(f->s->profiles, profiles),
                                   .at = AT_2026,
                                   .samba_anchors = f->anchors,
                                   .redact_account = f->s->flags & SC_REDACT };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    return sm_verdict_evaluate(f->dir, &in, ret, &e);
}

/* The demo directory, the certificate (s->path) and anchors; SC_WARM: the NTAuth memo made. */
static void setup_verdict(struct fx *f)
{
    open_dir(f, NULL);
    f->certs = f->s->path ? parse_fixture(f->s->path) : NULL;
    if (f->s->flags & SC_ANCHORS)
        f->anchors = parse_fixture("certs/issuing_ca.pem");
    if (f->s->flags & SC_WARM) {
        struct sm_verdict *v = NULL;
        assert_int_equal(verdict(f, &v), 0);
        sm_verdict_free(v);
    }
}

static void teardown_verdict(struct fx *f)
{
    sm_certs_free(f->certs);
    sm_certs_free(f->anchors);
    sm_verdict_free(f->verdict);
    sm_account_status_free(f->status);
    sm_dir_close(f->dir);
    sm_dir_cache_free(f->cache);
}

static int run_verdict(struct fx *f)
{
    struct sm_verdict *v = UNTOUCHED;
    int r = verdict(f, &v);
    bool ok = result_ok(r, v, "*ret");
    if (ok) {
        digest_add(f, "%s", v->allow ? "allow" : "deny");
        sm_verdict_free(v);
    }
    return r;
}

/* Verdicts: the cases of tests/unit/test_verdict.c that take different paths. */
static const struct scenario verdicts[] = {
    { .name = "SID extension, windows-2022", .path = "certs/sid_ext.pem" },
    { .name = "SID extension, NTAuth memo made", .path = "certs/sid_ext.pem", .flags = SC_WARM },
    { .name = "SID extension, lookup cache", .path = "certs/sid_ext.pem", .flags = SC_CACHE },
    { .name = "SID extension, lookup cache and memo warm",
      .path = "certs/sid_ext.pem",
      .flags = SC_CACHE | SC_WARM },
    { .name = "SID URI, windows-2019 and windows-2016",
      .path = "certs/sid_uri.pem",
      .profiles = "windows-2019;windows-2016" },
    { .name = "the fleet: windows-2022, windows-2016, samba",
      .path = "certs/upn_only.pem",
      .profiles = "windows-2022;windows-2016;samba" },
    { .name = "samba, anchors given",
      .path = "certs/sid_noncanonical.pem",
      .profiles = "samba",
      .flags = SC_ANCHORS },
    { .name = "mode 1, weak mapping allowed",
      .path = "certs/upn_only.pem",
      .profiles = "windows-2022,mode=1" },
    { .name = "SID of another account (mallory)", .path = "certs/sid_ext.pem", .text = "mallory" },
    { .name = "strong explicit mapping (henry)", .path = "certs/upn_only.pem", .text = "henry" },
    { .name = "X509IssuerSID (frank)", .path = "certs/sid_ext.pem", .text = "frank" },
    { .name = "resolved by explicit mapping", .path = "certs/v1_cert.pem" },
    { .name = "computer by DNS name", .path = "certs/computer_dns.pem" },
    { .name = "no such account", .path = "certs/sid_ext.pem", .text = "nobody-here" },
    { .name = "issuer not in NTAuth", .path = "certs/ed25519.pem" },
    { .name = "key trust, windows-2022 and samba",
      .path = "verdict/whfb.pem",
      .profiles = "windows-2022;samba" },
    { .name = "key trust, redacted", .path = "verdict/whfb.pem", .flags = SC_REDACT },
    { .name = "redacted, SID of another account",
      .path = "certs/sid_ext.pem",
      .text = "mallory",
      .flags = SC_REDACT },
    { .name = "implicit UPN", .path = "verdict/implicit_upn.pem" },
    { .name = "account only: the published certificate (henry)",
      .text = "henry",
      .profiles = "windows-2022;samba" },
    { .name = "two DNS names", .path = "verdict/computer_two_dns.pem" },
    { .name = "offline template", .path = "verdict/offline_template.pem" },
    { .name = "malformed SID extension: error 60", .path = "certs/sid_bad_oid.pem" },
    { .name = "compatibility mode before February 2025 (a what-if)",
      .path = "certs/upn_only.pem",
      .profiles = "windows-2019,update=2025-01-14" },
};

static void test_verdict(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
        struct scenario s = verdicts[i];
        snprintf(s.name, sizeof(s.name), "sm_verdict_evaluate %.100s", verdicts[i].name);
        s.setup = setup_verdict;
        s.run = run_verdict;
        s.cleanup = cleanup_dir;
        s.teardown = teardown_verdict;
        s.cache_may_skip = s.flags & SC_CACHE;
        check(&s);
    }
    group_done();
}

/* The verdict or status to render, made outside the trace. */
static void setup_rendered(struct fx *f)
{
    setup_verdict(f);
    assert_int_equal(verdict(f, &f->verdict), 0);
}

static int run_json_verdict(struct fx *f)
{
    char *json = UNTOUCHED;
    return json_result(
        sm_json_verdict(f->verdict, f->s->flags & SC_PRETTY ? SM_JSON_PRETTY : 0, &json), &json);
}

static void setup_status(struct fx *f)
{
    setup_verdict(f);
    struct sm_errinfo e = SM_ERRINFO_INIT;
    assert_int_equal(sm_account_status(f->dir, f->s->text, NULL, 0, AT_2026, &f->status, &e), 0);
}

static int run_json_status(struct fx *f)
{
    char *json = UNTOUCHED;
    return json_result(
        sm_json_account_status(f->status, f->s->flags & SC_PRETTY ? SM_JSON_PRETTY : 0, &json),
        &json);
}

static void test_json_verdict_and_status(void **state)
{
    (void)state;
    static const size_t which[] = { 0, 5, 8, 15, 16, 19 };
    for (size_t i = 0; i < sizeof(which) / sizeof(which[0]); i++)
        for (unsigned pretty = 0; pretty < 2; pretty++) {
            struct scenario s = verdicts[which[i]];
            snprintf(s.name, sizeof(s.name), "sm_json_verdict %.100s%s", verdicts[which[i]].name,
                     pretty ? " (pretty)" : "");
            s.setup = setup_rendered;
            s.run = run_json_verdict;
            s.teardown = teardown_verdict;
            s.flags |= pretty ? SC_PRETTY : 0;
            check(&s);
        }
    static const char *const accounts[] = { "alice", "henry", "kate", "gina", "nobody" };
    for (size_t i = 0; i < sizeof(accounts) / sizeof(accounts[0]); i++)
        for (unsigned pretty = 0; pretty < 2; pretty++) {
            struct scenario s = { .setup = setup_status,
                                  .run = run_json_status,
                                  .teardown = teardown_verdict,
                                  .text = accounts[i],
                                  .flags = pretty ? SC_PRETTY : 0 };
            snprintf(s.name, sizeof(s.name), "sm_json_account_status %s%s", accounts[i],
                     pretty ? " (pretty)" : "");
            check(&s);
        }
    group_done();
}

/* ---- account status ------------------------------------------------------------------------ */

static int run_status(struct fx *f)
{
    struct sm_profile profiles[SM_MAX_PROFILES];
    size_t n = profiles_of(f->s->profiles, profiles);
    struct sm_account_status *st = UNTOUCHED;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_account_status(f->dir, f->s->text, profiles, n, AT_2026, &st, &e);
    bool ok = result_ok(r, st, "*ret");
    if (ok) {
        digest_add(f, "%s", sm_readiness_name(st->readiness));
        sm_account_status_free(st);
    }
    return r;
}

static void test_account_status(void **state)
{
    (void)state;
    static const struct {
        const char *account, *profiles;
    } cases[] = {
        { "alice", NULL },  { "henry", "windows-2022;samba" },
        { "gina", NULL },   { "judy", NULL },
        { "kate", NULL },   { "bob", NULL },
        { "nobody", NULL }, { "ws01$", NULL },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct scenario s = { .setup = setup_verdict,
                              .run = run_status,
                              .cleanup = cleanup_dir,
                              .teardown = teardown_verdict,
                              .text = cases[i].account,
                              .profiles = cases[i].profiles };
        snprintf(s.name, sizeof(s.name), "sm_account_status %s%s%s", cases[i].account,
                 cases[i].profiles ? " " : "", cases[i].profiles ? cases[i].profiles : "");
        check(&s);
    }
    group_done();
}

/* ---- the audit (lib/audit.c, lib/audit_walk.c, lib/audit_report.c, the walk of lib/dir.c and
   lib/dir_ldif.c) -- */

struct audit_run {
    struct fx *f;
    struct sm_audit_report *reports[SM_AUDIT__FORMATS]; /* written nowhere */
};

static int discard(void *ctx, const void *p, size_t len)
{
    (void)ctx;
    (void)p;
    (void)len;
    return 0;
}

static int discard_replay(void *ctx, sm_audit_sink sink, void *sink_ctx)
{
    (void)ctx;
    return sink(sink_ctx, "<tr></tr>", 9);
}

static int audit_line(void *ctx, const struct sm_account *acc, const struct sm_audit_record *rec,
                      int code, const char *message)
{
    struct audit_run *a = ctx;
    char *json = UNTOUCHED;
    int r = 0;

    if (rec) {
        digest_add(a->f, "%s:%zu:%zu;", sm_readiness_name(rec->status->readiness),
                   rec->n_duplicates, rec->n_stale);
        r = json_result(sm_json_audit_record(rec, 0, &json), &json); /* its contract */
    } else {
        digest_add(a->f, "error:%d;", code);
    }
    for (size_t i = 0; i < SM_AUDIT__FORMATS && r == 0; i++)
        r = sm_audit_report_line(a->reports[i], acc, rec, code, message);
    return r;
}

/* The whole audit of the demo directory, as strongmap audit makes it (one handle: an LDIF;
   sm_audit_walk()): the certificates given (f->input, when there is one), the first pass over
   the values, the walk, and the accounts certificates were given for that the walk did not
   give, reported in every format. */
static int run_audit(struct fx *f)
{
    struct sm_profile profiles[SM_MAX_PROFILES];
    size_t n = profiles_of(f->s->profiles, profiles);
    struct sm_audit_opts o = { .profiles = profiles, .n_profiles = n, .at = AT_2026 };
    struct audit_run a = { .f = f };
    struct sm_audit_walk_opts wo = { .line = audit_line, .ctx = &a };
    struct sm_audit *au = NULL;
    struct sm_audit_totals t;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_audit_html_opts ho = { .profiles = profiles, .n_profiles = n, .source = "<LDIF>" };
    int r = 0;

    for (size_t i = 0; i < SM_AUDIT__FORMATS && r == 0; i++) {
        struct sm_audit_report_opts ro = { .format = (enum sm_audit_format)i,
                                           .out = discard,
                                           .rows = discard,
                                           .replay = discard_replay,
                                           .html = &ho };
        a.reports[i] = UNTOUCHED;
        r = sm_audit_report_new(&ro, &a.reports[i]);
        if (!result_ok(r, a.reports[i], "*ret"))
            a.reports[i] = NULL;
    }
    if (r == 0) {
        au = UNTOUCHED;
        r = sm_audit_new(&o, &au);
        if (!result_ok(r, au, "*ret"))
            au = NULL;
    }
    if (r == 0 && f->input) {
        struct sm_audit_certs_result res;
        r = sm_audit_add_certs(au, f->dir, f->input, f->input_len, "given.pem", &res, &e);
        if (r == 0)
            digest_add(f, "given:%zu:%zu:%zu;", res.certificates, res.matched, res.unmatched);
    }
    if (r == 0)
        r = sm_audit_walk(au, f->dir, f->dir, &wo, NULL, &e);
    if (r == 0) {
        char *json = UNTOUCHED;
        sm_audit_totals(au, &t);
        r = json_result(sm_json_audit_summary(&t, false, NULL, 0, &json), &json);
    }
    for (size_t i = 0; i < SM_AUDIT__FORMATS && r == 0; i++)
        r = sm_audit_report_end(a.reports[i], &t, NULL);
    for (size_t i = 0; i < SM_AUDIT__FORMATS; i++)
        sm_audit_report_free(a.reports[i]);
    sm_audit_free(au);
    return r;
}

/* The demo directory, and certificates given in one PEM bundle (f->input): two of alice's
   (her UPN; she holds no value and publishes nothing: audited after the walk), ws01$'s (its
   DNS name), one more, and a broken block. */
static void setup_audit_certs(struct fx *f)
{
    static const char *const files[] = { "certs/upn_only.pem", "certs/computer_dns.pem",
                                         "certs/sid_ext.pem", "verdict/many_dns.pem" };
    struct su_buf b;
    setup_verdict(f);
    su_buf_init(&b, NULL, NULL);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        size_t len;
        char *pem = slurp(files[i], &len);
        su_buf_put(&b, pem, len);
        free(pem);
    }
    su_buf_printf(&b, "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    assert_non_null(su_buf_str(&b));
    f->input = b.p;
    f->input_len = b.len;
}

static void teardown_audit_certs(struct fx *f)
{
    free(f->input);
    teardown_verdict(f);
}

static void test_audit(void **state)
{
    (void)state;
    static const char *const profiles[] = { NULL, "windows-2016;samba" };
    for (size_t i = 0; i < 2 * sizeof(profiles) / sizeof(profiles[0]); i++) {
        bool certs = i >= sizeof(profiles) / sizeof(profiles[0]);
        const char *p = profiles[i % (sizeof(profiles) / sizeof(profiles[0]))];
        struct scenario s = { .setup = certs ? setup_audit_certs : setup_verdict,
                              .run = run_audit,
                              .cleanup = cleanup_dir,
                              .teardown = certs ? teardown_audit_certs : teardown_verdict,
                              .profiles = p };
        snprintf(s.name, sizeof(s.name), "sm_audit_walk and its reports%s%s%s",
                 certs ? " with certificates given" : "", p ? " " : "", p ? p : "");
        check(&s);
    }
    group_done();
}

/* ---- certificate requests and issuance plans (lib/cert_csr.c, lib/preissue.c) ----------- */

static int run_csr_parse(struct fx *f)
{
    struct sm_csr *c = UNTOUCHED;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_csr_parse(f->input, f->input_len, &c, &e);
    bool ok = result_ok(r, c, "*ret");
    reason(r, &e);
    if (ok)
        sm_csr_free(c);
    return r;
}

static void test_csr_parse(void **state)
{
    (void)state;
    static const char *const exts[] = { ".pem", ".der", ".b64", NULL };
    static char files[64][128];
    size_t n = fixtures("csr", exts, files, 64);
    assert_true(n > 10);
    n += fixtures("csr/algs", exts, files + n, 64 - n); /* every signature algorithm */
    struct scenario s = { .setup = setup_input, .run = run_csr_parse, .teardown = teardown_input };
    for (size_t i = 0; i < n; i++) {
        snprintf(s.name, sizeof(s.name), "sm_csr_parse %s", files[i]);
        s.path = files[i];
        check(&s);
    }
    group_done();
}

/* Planned facts: a subject, UPN, DNS and SID URI entries, EKU and SID extensions. */
static int run_csr_planned(struct fx *f)
{
    static const uint8_t eku[] = { 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06,
                                   0x01, 0x05, 0x05, 0x07, 0x03, 0x02 };
    static const struct sm_san san[] = {
        { .type = SM_SAN_UPN, .value = "alice@example.com" },
        { .type = SM_SAN_DNS, .value = "ws01.example.com" },
        { .type = SM_SAN_URI,
          .value =
              "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-1105" },
    };
    struct sm_sid sid;
    uint8_t der[128];
    assert_int_equal(
        sm_sid_parse("S-1-5-21-1004336348-1177238915-682003330-1105", 45, &sid, NULL, NULL), 0);
    long n = sm_sid_extension_der(&sid, der, sizeof(der));
    assert_true(n > 0);
    const struct sm_csr_planned_ext exts[] = {
        { .oid = "2.5.29.37", .value = eku, .value_len = sizeof(eku) },
        { .oid = "1.3.6.1.4.1.311.25.2", .value = der, .value_len = (size_t)n },
    };
    const struct sm_csr_planned in = { .subject = "CN=Alice\\, A.,OU=Users,DC=example,DC=com",
                                       .san = san,
                                       .n_san = 3,
                                       .exts = exts,
                                       .n_exts = 2 };
    struct sm_csr *c = UNTOUCHED;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_csr_planned(&in, &c, &e);
    bool ok = result_ok(r, c, "*ret");
    (void)f;
    reason(r, &e);
    if (ok)
        sm_csr_free(c);
    return r;
}

static void test_csr_planned(void **state)
{
    (void)state;
    struct scenario s = { .name = "sm_csr_planned", .run = run_csr_planned };
    check(&s);
    group_done();
}

/* The demo directory, the request (s->path), the issuing CA; SC_WARM: a plan made before. */
static int plan(struct fx *f, struct sm_preissue **ret)
{
    struct sm_profile profiles[SM_MAX_PROFILES];
    struct sm_preissue_input in = { .request = f->csr->request,
                                    .csr = f->csr,
                                    .account = f->s->text,
                                    .profiles = profiles,
                                    .n_profiles = profiles_of(f->s->profiles, profiles),
                                    .at = AT_2026,
                                    .issuer = f->certs ? &f->certs->certs[0] : NULL };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_preissue_plan(f->dir, &in, ret, &e);
    reason(r, &e);
    return r;
}

static void setup_preissue(struct fx *f)
{
    size_t len;
    char *buf = slurp(f->s->path, &len);
    struct sm_errinfo e = SM_ERRINFO_INIT;
    open_dir(f, NULL);
    assert_int_equal(sm_csr_parse(buf, len, &f->csr, &e), 0);
    free(buf);
    if (f->s->flags & SC_ANCHORS)
        f->certs = parse_fixture("certs/issuing_ca.pem");
}

static void teardown_preissue(struct fx *f)
{
    sm_preissue_free(f->plan);
    sm_csr_free(f->csr);
    sm_certs_free(f->certs);
    sm_dir_close(f->dir);
    sm_dir_cache_free(f->cache);
}

static int run_preissue(struct fx *f)
{
    struct sm_preissue *p = UNTOUCHED;
    int r = plan(f, &p);
    if (result_ok(r, p, "*ret")) {
        digest_add(f, "%s %zu", p->refuse ? "refuse" : "issue", p->n_changes);
        sm_preissue_free(p);
    }
    return r;
}

static void setup_plan_rendered(struct fx *f)
{
    setup_preissue(f);
    assert_int_equal(plan(f, &f->plan), 0);
}

static int run_json_preissue(struct fx *f)
{
    char *json = UNTOUCHED;
    return json_result(
        sm_json_preissue(f->plan, f->s->flags & SC_PRETTY ? SM_JSON_PRETTY : 0, &json), &json);
}

static void test_preissue(void **state)
{
    (void)state;
    /* SC_ANCHORS here: the issuing CA's certificate is given (NTAuth checked) */
    static const struct scenario plans[] = {
        { .name = "rsa_upn for alice, the CA given",
          .path = "csr/rsa_upn.pem",
          .text = "alice",
          .flags = SC_ANCHORS },
        { .name = "sid_other for alice (a refusal)", .path = "csr/sid_other.pem", .text = "alice" },
        { .name = "upn_other for alice", .path = "csr/upn_other.pem", .text = "alice" },
        { .name = "all_san for alice, fleet",
          .path = "csr/all_san.pem",
          .text = "alice",
          .profiles = "windows-2016;windows-2022;samba" },
        { .name = "computer for ws01$",
          .path = "csr/computer.pem",
          .text = "ws01$",
          .profiles = "windows-2022;samba" },
        { .name = "a missing account", .path = "csr/rsa_upn.pem", .text = "nobody-here" },
    };
    for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
        struct scenario s = plans[i];
        snprintf(s.name, sizeof(s.name), "sm_preissue_plan %.100s", plans[i].name);
        s.setup = setup_preissue;
        s.run = run_preissue;
        s.cleanup = cleanup_dir;
        s.teardown = teardown_preissue;
        check(&s);
        snprintf(s.name, sizeof(s.name), "sm_json_preissue %.100s", plans[i].name);
        s.setup = setup_plan_rendered;
        s.run = run_json_preissue;
        s.cleanup = NULL;
        s.flags |= SC_PRETTY;
        check(&s);
    }
    group_done();
}

/* ---- KDC events (strongmap/events.h) ------------------------------------------------------- */

static int run_events_parse(struct fx *f)
{
    struct sm_kdc_events *ev = UNTOUCHED;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_kdc_events_parse(f->input, f->input_len, &ev, &e);
    reason(r, &e);
    if (result_ok(r, ev, "*ret")) {
        digest_add(f, "%zu events, %zu skipped", ev->n, ev->skipped);
        sm_kdc_events_free(ev);
    }
    return r;
}

/* The events read (a failure there is the run's), explained with f->dir (or none), as JSON. */
static int run_events_explain(struct fx *f)
{
    struct sm_kdc_events *ev = NULL;
    struct sm_events_explanation *x = UNTOUCHED;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    char *json = UNTOUCHED;
    int r = sm_kdc_events_parse(f->input, f->input_len, &ev, &e);
    if (r < 0)
        return r;
    r = sm_events_explain(f->dir, ev, 0, &x, &e);
    if (result_ok(r, x, "*ret")) {
        digest_add(f, "%zu explained, %zu accounts, %zu CAs", x->n, x->n_accounts, x->n_cas);
        r = json_result(sm_json_events(x, f->s->flags & SC_PRETTY ? SM_JSON_PRETTY : 0, &json),
                        &json);
        sm_events_explanation_free(x);
    }
    sm_kdc_events_free(ev);
    return r;
}

static void setup_events_dir(struct fx *f)
{
    setup_input(f);
    open_dir(f, NULL);
}

static void test_events(void **state)
{
    (void)state;
    static const char *const files[] = {
        "events/wevtutil.xml",    "events/get-winevent.xml", "events/get-winevent-utf16.xml",
        "events/eventviewer.txt", "events/messages.txt",
    };
    static const struct {
        const char *name, *text;
    } bad[] = {
        { "a DOCTYPE", "<!DOCTYPE a [<!ENTITY b \"c\">]><Event/>" },
        { "not well-formed XML", "<Event><System></Event>" },
        { "elements nested too deep", "<a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a>" },
        { "text without events", "nothing here\n" },
    };
    struct scenario s = { .setup = setup_input, .teardown = teardown_input };
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        s.path = files[i];
        s.setup = setup_input;
        s.run = run_events_parse;
        s.cleanup = NULL;
        snprintf(s.name, sizeof(s.name), "sm_kdc_events_parse %s", files[i]);
        check(&s);
        s.run = run_events_explain;
        snprintf(s.name, sizeof(s.name), "sm_events_explain %s, sm_json_events", files[i]);
        check(&s);
        s.setup = setup_events_dir;
        s.cleanup = cleanup_dir;
        s.flags = SC_PRETTY;
        snprintf(s.name, sizeof(s.name), "sm_events_explain %s (demo directory)", files[i]);
        check(&s);
        s.flags = 0;
    }
    s.path = NULL;
    s.setup = setup_input;
    s.run = run_events_parse;
    s.cleanup = NULL;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(s.name, sizeof(s.name), "sm_kdc_events_parse %s", bad[i].name);
        s.text = bad[i].text;
        check(&s);
    }
    group_done();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hook),           cmocka_unit_test(test_json_certs),
        cmocka_unit_test(test_keycred),        cmocka_unit_test(test_sid),
        cmocka_unit_test(test_certs_parse),    cmocka_unit_test(test_certs_parse_mixed),
        cmocka_unit_test(test_altsec),         cmocka_unit_test(test_profiles),
        cmocka_unit_test(test_dir_lookup),     cmocka_unit_test(test_dir_open),
        cmocka_unit_test(test_verdict),        cmocka_unit_test(test_json_verdict_and_status),
        cmocka_unit_test(test_account_status), cmocka_unit_test(test_csr_parse),
        cmocka_unit_test(test_csr_planned),    cmocka_unit_test(test_preissue),
        cmocka_unit_test(test_events),         cmocka_unit_test(test_audit),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    print_message("%lu runs with an allocation failing\n", total_runs);
    return r;
}

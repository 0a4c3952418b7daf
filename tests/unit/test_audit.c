/*
 * tests/unit/test_audit.c - the audit (lib/audit.c) over the walk of an LDIF
 * (sm_dir_each_account(), lib/dir.c and lib/dir_ldif.c): which accounts the walk gives, the
 * --since filter, stopping it; per account the stale values, the duplicates across accounts
 * (named from the directory: every holder after a first pass, sm_audit_index(); only later
 * holders without it), which DCs can match each value; the totals; and the set of values
 * growing past its first table; the whole audit (sm_audit_walk()) in every report format,
 * stopped by its tick or its line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <unistd.h>

#include <cmocka.h>

#include <strongmap/strongmap.h>

#include "su_buf.h"
#include "su_utf8.h"

#define DOMAIN "DC=example,DC=com"
#define ISSUER "DC=com,DC=example,CN=Example Issuing CA"
#define AT     1767225600 /* 2026-01-01T00:00:00Z: sid_ext.pem is valid */

static char cert_b64[8192]; /* sid_ext.pem's base64, one line */
static char cert_sha1[41];

static void load_cert(void)
{
    char path[1024], pem[8192];
    const char *base = getenv("SM_TEST_DATA");
    snprintf(path, sizeof(path), "%s/certs/sid_ext.pem", base ? base : "tests/data");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(pem, 1, sizeof(pem) - 1, f);
    fclose(f);
    pem[n] = '\0';
    /* the base64 between the armour lines, joined */
    size_t k = 0;
    for (const char *line = strchr(pem, '\n') + 1; line && *line && *line != '-';) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        assert_true(k + len < sizeof(cert_b64));
        memcpy(cert_b64 + k, line, len);
        k += len;
        line = end ? end + 1 : NULL;
    }
    cert_b64[k] = '\0';
    struct sm_certs *c = NULL;
    struct sm_parse_opts po = { .now = AT };
    assert_int_equal(sm_certs_parse(pem, n, &po, &c, NULL), 0);
    snprintf(cert_sha1, sizeof(cert_sha1), "%s", c->certs[0].sha1);
    sm_certs_free(c);
}

static struct sm_dir *open_text(const char *text)
{
    char path[512];
    struct sm_dir *d = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    snprintf(path, sizeof(path), "%s/sm_test_audit_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(text);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
    int r = sm_dir_open_ldif(path, &d, &e);
    unlink(path);
    if (r != 0)
        fail_msg("ldif: %d %s", r, e.text);
    return d;
}

/* An account entry: @extra is more "attr: value" lines. */
static void account(struct su_buf *b, const char *cn, unsigned rid, const char *extra)
{
    su_buf_printf(b,
                  "dn: CN=%s,CN=Users," DOMAIN "\n"
                  "objectClass: user\n"
                  "sAMAccountName: %s\n"
                  "userPrincipalName: %s@example.com\n"
                  "description: rid %u\n"
                  "%s\n\n",
                  cn, cn, cn, rid, extra);
}

/*
 * alice: the certificate, a value that matches it and a stale one;
 * bob: alice's stale value in other case (a duplicate) and a Samba-only value;
 * carol: disabled, a Windows-only value (X509IssuerSID); dave: "Kerberos:" only;
 * erin and a computer with nothing to audit; frank: whenChanged in 2026.
 */
static char *fixture(void)
{
    struct su_buf b;
    su_buf_init(&b, NULL, NULL);
    su_buf_printf(&b, "dn: " DOMAIN "\nobjectClass: domain\ndc: example\n\n");
    char extra[9000];
    snprintf(extra, sizeof(extra),
             "objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==\n"
             "userCertificate:: %s\n"
             "altSecurityIdentities: X509:<SHA1-PUKEY>%s\n"
             "altSecurityIdentities: X509:<SHA1-PUKEY>00112233445566778899AABBCCDDEEFF00112233\n"
             "whenChanged: 20250101000000.0Z",
             cert_b64, cert_sha1);
    account(&b, "alice", 1105, extra);
    account(&b, "bob", 1106,
            "altSecurityIdentities: x509:<sha1-pukey>00112233445566778899aabbccddeeff00112233\n"
            "altSecurityIdentities: X509:<I>" ISSUER "<S>CN=bob<SR>0102\n"
            "whenChanged: 20250601000000.0Z");
    account(&b, "carol", 1107,
            "userAccountControl: 514\n"
            "altSecurityIdentities: X509:<I>" ISSUER
            "<SID>S-1-5-21-1004336348-1177238915-682003330-1107");
    account(&b, "dave", 1108, "altSecurityIdentities: Kerberos:dave@EXAMPLE.COM");
    account(&b, "erin", 1109, "description: nothing to audit");
    su_buf_printf(&b, "dn: CN=WS01,CN=Computers," DOMAIN "\nobjectClass: computer\n"
                      "sAMAccountName: WS01$\n\n");
    account(&b, "frank", 1110,
            "altSecurityIdentities: X509:<SKI>0A0B0C0D\nwhenChanged: 20260301000000.0Z");
    assert_non_null(su_buf_str(&b));
    return b.p;
}

/* ---- the walk ------------------------------------------------------------------------------ */

struct seen {
    char dn[8][128];
    size_t n;
    size_t stop_after; /* 0: never */
};

static int collect(const struct sm_account *acc, void *ctx)
{
    struct seen *s = ctx;
    if (s->n < 8)
        snprintf(s->dn[s->n], sizeof(s->dn[0]), "%s", acc->sam ? acc->sam : "?");
    s->n++;
    return s->stop_after && s->n >= s->stop_after ? -EINTR : 0;
}

static void test_walk(void **state)
{
    (void)state;
    char *text = fixture();
    struct sm_dir *d = open_text(text);
    struct seen s = { 0 };
    struct sm_errinfo e = SM_ERRINFO_INIT;

    assert_int_equal(sm_dir_each_account(d, NULL, collect, &s, &e), 0);
    assert_int_equal(s.n, 5); /* not erin, not the computer without values, not the domain */
    assert_string_equal(s.dn[0], "alice");
    assert_string_equal(s.dn[1], "bob");
    assert_string_equal(s.dn[2], "carol");
    assert_string_equal(s.dn[3], "dave");
    assert_string_equal(s.dn[4], "frank");

    /* whenChanged later than 2025-06-01T00:00:00Z: bob's is equal, not later */
    struct sm_dir_each_opts o = { .since = 1748736000 };
    memset(&s, 0, sizeof(s));
    assert_int_equal(sm_dir_each_account(d, &o, collect, &s, &e), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.dn[0], "frank");
    o.since = 1748735999;
    memset(&s, 0, sizeof(s));
    assert_int_equal(sm_dir_each_account(d, &o, collect, &s, &e), 0);
    assert_int_equal(s.n, 2);

    /* the callback's code stops the walk and comes back as is */
    memset(&s, 0, sizeof(s));
    s.stop_after = 2;
    assert_int_equal(sm_dir_each_account(d, NULL, collect, &s, &e), -EINTR);
    assert_int_equal(s.n, 2);

    o = (struct sm_dir_each_opts){ .page_size = SM_DIR_PAGE_MAX + 1 };
    assert_int_equal(sm_dir_each_account(d, &o, collect, &s, &e), -EINVAL);
    assert_int_equal(sm_dir_each_account(d, NULL, NULL, &s, &e), -EINVAL);
    sm_dir_close(d);
    free(text);
}

/* ---- the audit ----------------------------------------------------------------------------- */

/* Check each record while its account is alive, keeping what the assertions need. */
struct check {
    struct sm_audit *au;
    struct sm_dir *d;
    size_t n;
    enum sm_readiness readiness[8];
    size_t dup[8], stale[8], samba_only[8], windows_only[8], n_values[8], n_fixes[8];
    char holder[8][128];
    bool stale_flags[8][4], match_w[8][4], match_s[8][4], known[8][4];
    enum sm_audit_readers readers[8][4];
};

static int audit_one(const struct sm_account *acc, void *ctx)
{
    struct check *c = ctx;
    struct sm_audit_record *rec = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_audit_account(c->au, c->d, acc, &rec, &e);
    if (r != 0)
        fail_msg("%s: %d %s", acc->dn, r, e.text);
    size_t i = c->n++;
    assert_true(i < 8);
    c->readiness[i] = rec->status->readiness;
    c->dup[i] = rec->n_duplicates;
    c->stale[i] = rec->n_stale;
    c->samba_only[i] = rec->n_samba_only;
    c->windows_only[i] = rec->n_windows_only;
    c->n_values[i] = rec->n_values;
    c->n_fixes[i] = rec->n_fixes;
    for (size_t j = 0; j < rec->n_values && j < 4; j++) {
        const struct sm_audit_value *v = &rec->values[j];
        c->stale_flags[i][j] = v->stale;
        c->match_w[i][j] = v->matches_windows;
        c->match_s[i][j] = v->matches_samba;
        c->known[i][j] = v->certs_known;
        c->readers[i][j] = v->readers;
        if (v->duplicate && v->n_holders)
            snprintf(c->holder[i], sizeof(c->holder[i]), "%s", v->holders[0]);
    }
    char *json = NULL;
    assert_int_equal(sm_json_audit_record(rec, 0, &json), 0);
    assert_null(strchr(json, '\n')); /* one line */
    free(json);
    sm_audit_record_free(rec);
    return 0;
}

static void test_audit(void **state)
{
    (void)state;
    char *text = fixture();
    struct check c = { .d = open_text(text) };
    struct sm_audit_opts o = { .at = AT };
    struct sm_audit_totals t;

    assert_int_equal(sm_audit_new(&o, &c.au), 0);
    assert_int_equal(sm_dir_each_account(c.d, NULL, audit_one, &c, NULL), 0);
    assert_int_equal(c.n, 5);

    /* alice: the certificate maps through the first value (Windows and Samba); the second
       matches it nowhere: stale. She is first to hold that value: no duplicate on her. */
    assert_int_equal(c.readiness[0], SM_READY);
    assert_int_equal(c.n_values[0], 2);
    assert_true(c.known[0][0] && c.match_w[0][0] && c.match_s[0][0] && !c.stale_flags[0][0]);
    assert_true(c.known[0][1] && !c.match_w[0][1] && !c.match_s[0][1] && c.stale_flags[0][1]);
    assert_int_equal(c.stale[0], 1);
    assert_int_equal(c.dup[0], 0);

    /* bob: alice's stale value in other case: a duplicate, alice named; no certificate, so
       nothing is stale; <I><S><SR> only a Samba DC may match */
    assert_int_equal(c.dup[1], 1);
    assert_string_equal(c.holder[1], "CN=alice,CN=Users," DOMAIN);
    assert_int_equal(c.stale[1], 0);
    assert_false(c.known[1][0]);
    assert_int_equal(c.readers[1][1], SM_READERS_SAMBA);
    /* Samba reads "X509:" and its tags case-sensitively: bob's lower-case copy is Windows' */
    assert_int_equal(c.readers[1][0], SM_READERS_WINDOWS);
    assert_int_equal(c.samba_only[1], 1);

    /* carol: disabled; X509IssuerSID is Windows' alone */
    assert_int_equal(c.readiness[2], SM_BLOCKED);
    assert_int_equal(c.readers[2][0], SM_READERS_WINDOWS);
    assert_int_equal(c.windows_only[2], 1);
    assert_true(c.n_fixes[2] >= 1);

    /* dave: a Kerberos value maps no certificate: at risk */
    assert_int_equal(c.readiness[3], SM_AT_RISK);
    assert_int_equal(c.readers[3][0], SM_READERS_NONE);
    assert_int_equal(c.stale[3], 0);

    sm_audit_totals(c.au, &t);
    assert_int_equal(t.accounts, 5);
    assert_int_equal(t.ready, 3); /* alice; bob and frank hold strong values */
    assert_int_equal(t.at_risk, 1);
    assert_int_equal(t.blocked, 1);
    assert_int_equal(t.errors, 0);
    assert_int_equal(t.certificates, 1);
    assert_int_equal(t.values, 7);
    assert_int_equal(t.duplicate_values, 1);
    assert_int_equal(t.stale_values, 1);
    assert_int_equal(t.samba_only_values, 1);
    assert_int_equal(t.windows_only_values, 2); /* carol's, and bob's lower-case "x509:" */
    assert_int_equal(t.distinct_values, 6);     /* bob's copy of alice's value counts once */

    char *json = NULL;
    assert_int_equal(sm_json_audit_summary(&t, true, "SIGINT", 0, &json), 0);
    assert_non_null(strstr(json, "\"partial\":true"));
    assert_non_null(strstr(json, "\"stopped_by\":\"SIGINT\""));
    assert_non_null(strstr(json, "\"duplicate_values\":1"));
    free(json);

    sm_audit_free(c.au);
    sm_dir_close(c.d);
    free(text);
}

static int index_one(const struct sm_account *acc, void *ctx)
{
    return sm_audit_index(ctx, acc);
}

/* After a first pass over the values (sm_audit_index(), the walk reading the values only),
   the first holder of a duplicate is flagged too, naming the later one. */
static void test_first_holder(void **state)
{
    (void)state;
    char *text = fixture();
    struct check c = { .d = open_text(text) };
    struct sm_audit_opts o = { .at = AT };
    struct sm_dir_each_opts values = { .values_only = true };
    struct sm_audit_totals t;

    assert_int_equal(sm_audit_new(&o, &c.au), 0);
    assert_int_equal(sm_dir_each_account(c.d, &values, index_one, c.au, NULL), 0);
    sm_audit_totals(c.au, &t);
    assert_int_equal(t.accounts, 0);
    assert_int_equal(t.distinct_values, 6);
    assert_int_equal(sm_dir_each_account(c.d, NULL, audit_one, &c, NULL), 0);
    assert_int_equal(c.n, 5);
    /* alice holds the value first: flagged now, bob named */
    assert_int_equal(c.dup[0], 1);
    assert_string_equal(c.holder[0], "CN=bob,CN=Users," DOMAIN);
    assert_int_equal(c.dup[1], 1);
    assert_string_equal(c.holder[1], "CN=alice,CN=Users," DOMAIN);
    for (size_t i = 2; i < c.n; i++)
        assert_int_equal(c.dup[i], 0);
    assert_int_equal(c.stale[0], 1); /* the rest as without the first pass */
    sm_audit_totals(c.au, &t);
    assert_int_equal(t.duplicate_values, 2);
    assert_int_equal(t.distinct_values, 6);
    /* too late for the first pass once an account is audited */
    struct sm_accounts *a = NULL;
    assert_int_equal(sm_dir_lookup(c.d, SM_LOOKUP_SAM, "alice", &a, NULL), 0);
    assert_int_equal(sm_audit_index(c.au, &a->v[0]), -EINVAL);
    sm_accounts_free(a);
    sm_audit_free(c.au);

    /* the first pass saw only alice: bob's copy is not known to it, so neither is flagged */
    assert_int_equal(sm_audit_new(&o, &c.au), 0);
    assert_int_equal(sm_dir_lookup(c.d, SM_LOOKUP_SAM, "alice", &a, NULL), 0);
    assert_int_equal(sm_audit_index(c.au, &a->v[0]), 0);
    sm_accounts_free(a);
    c.n = 0;
    memset(c.dup, 0, sizeof(c.dup));
    assert_int_equal(sm_dir_each_account(c.d, NULL, audit_one, &c, NULL), 0);
    assert_int_equal(c.dup[0] + c.dup[1], 0);
    sm_audit_free(c.au);
    sm_dir_close(c.d);
    free(text);
}

/* Certificates given (sm_audit_add_certs()): the inputs it refuses or counts unreadable, a
   given certificate the account publishes (shown once, as published), the audit begun. */
static void test_given(void **state)
{
    (void)state;
    char *text = fixture();
    struct sm_dir *d = open_text(text);
    struct sm_audit_opts o = { .at = AT };
    struct sm_audit *au = NULL;
    struct sm_audit_certs_result res;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_audit_totals t;
    char pem[sizeof(cert_b64) + 64];

    snprintf(pem, sizeof(pem), "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n",
             cert_b64);
    assert_int_equal(sm_audit_new(&o, &au), 0);
    /* not PEM, over SM_MAX_INPUT: refused as a whole; nothing in it: SM_E_FORMAT */
    size_t big = SM_MAX_INPUT + 1;
    char *junk = calloc(1, big + SM_MAX_INPUT + sizeof(pem));
    assert_non_null(junk);
    memset(junk, 'A', big);
    assert_int_equal(sm_audit_add_certs(au, d, junk, big, "big.der", &res, &e), SM_E_TOO_BIG);
    assert_int_equal(sm_audit_add_certs(au, d, "hello\n", 6, "x.txt", &res, &e), SM_E_FORMAT);
    assert_int_equal(res.unreadable, 1);
    /* PEM: a block over SM_MAX_INPUT is unreadable, the certificate after it is read */
    size_t n = (size_t)snprintf(junk, 64, "-----BEGIN CERTIFICATE-----\n");
    memset(junk + n, 'A', SM_MAX_INPUT);
    n += SM_MAX_INPUT;
    n += (size_t)sprintf(junk + n, "\n-----END CERTIFICATE-----\n%s", pem);
    assert_int_equal(sm_audit_add_certs(au, d, junk, n, "bundle.pem", &res, &e), 0);
    assert_int_equal(res.certificates, 1);
    assert_int_equal(res.matched, 1); /* alice, by her UPN */
    assert_int_equal(res.unreadable, 1);
    assert_int_equal(res.first_unreadable.offset, 0);
    assert_non_null(strstr(res.first_unreadable.text, "larger than"));
    free(junk);
    /* the same certificate again: kept once */
    assert_int_equal(sm_audit_add_certs(au, d, pem, strlen(pem), "again.pem", &res, &e), 0);
    sm_audit_totals(au, &t);
    assert_true(t.certs_given);
    assert_int_equal(t.given, 2);
    assert_int_equal(t.given_matched, 2);
    assert_int_equal(t.given_unreadable, 3);

    /* alice publishes it: her record shows it once, published */
    struct sm_accounts *a = NULL;
    struct sm_audit_record *rec = NULL;
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_SAM, "alice", &a, NULL), 0);
    assert_int_equal(sm_audit_account(au, d, &a->v[0], &rec, &e), 0);
    assert_int_equal(rec->status->n_cert_verdicts, 1);
    assert_int_equal(rec->status->n_given, 0);
    assert_int_equal(rec->n_given_skipped, 0);
    sm_audit_record_free(rec);
    sm_audit_totals(au, &t);
    assert_int_equal(t.given_matched, 1);
    assert_int_equal(t.given_repeated, 1);
    /* too late to give more; nobody is left for after the walk */
    assert_int_equal(sm_audit_add_certs(au, d, pem, strlen(pem), "late.pem", &res, &e), -EINVAL);
    struct sm_accounts *left = NULL;
    assert_int_equal(sm_audit_given_next(au, d, &left, &e), 0);
    assert_null(left);
    sm_accounts_free(a);
    sm_audit_free(au);
    sm_dir_close(d);
    free(text);
}

/* A value an account repeats is the linter's duplicate, not one across accounts. */
static void test_own_repeat(void **state)
{
    (void)state;
    struct su_buf b;
    su_buf_init(&b, NULL, NULL);
    su_buf_printf(&b, "dn: " DOMAIN "\nobjectClass: domain\n\n");
    account(&b, "gina", 1111,
            "altSecurityIdentities: X509:<SKI>0A0B0C0D\naltSecurityIdentities: X509:<SKI>0a0b0c0d");
    struct check c = { .d = open_text(su_buf_str(&b)) };
    struct sm_audit_totals t;
    assert_int_equal(sm_audit_new(NULL, &c.au), 0);
    assert_int_equal(sm_dir_each_account(c.d, NULL, audit_one, &c, NULL), 0);
    sm_audit_totals(c.au, &t);
    assert_int_equal(t.values, 2);
    assert_int_equal(t.duplicate_values, 0);
    assert_int_equal(t.distinct_values, 1);
    sm_audit_free(c.au);
    /* nor after a first pass */
    struct sm_dir_each_opts values = { .values_only = true };
    c.n = 0;
    assert_int_equal(sm_audit_new(NULL, &c.au), 0);
    assert_int_equal(sm_dir_each_account(c.d, &values, index_one, c.au, NULL), 0);
    assert_int_equal(sm_dir_each_account(c.d, NULL, audit_one, &c, NULL), 0);
    sm_audit_totals(c.au, &t);
    assert_int_equal(t.duplicate_values, 0);
    assert_int_equal(t.distinct_values, 1);
    sm_audit_free(c.au);
    sm_dir_close(c.d);
    su_buf_release(&b);
}

/* 3000 accounts with a value each, then one holding the first account's: the set grows past
   its first table (1024 slots) and still finds it; every other value is distinct. */
static void test_many(void **state)
{
    (void)state;
    enum { N = 3000 };
    struct su_buf b;
    char extra[128], cn[32];
    su_buf_init(&b, NULL, NULL);
    su_buf_printf(&b, "dn: " DOMAIN "\nobjectClass: domain\n\n");
    for (unsigned i = 0; i <= N; i++) {
        snprintf(cn, sizeof(cn), "u%u", i);
        snprintf(extra, sizeof(extra), "altSecurityIdentities: X509:<SKI>%08X", i == N ? 0u : i);
        account(&b, cn, 2000 + i, extra);
    }
    struct sm_dir *d = open_text(su_buf_str(&b));
    struct sm_audit *au = NULL;
    struct sm_audit_totals t;
    assert_int_equal(sm_audit_new(NULL, &au), 0);
    struct check *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    for (unsigned i = 0; i <= N; i++) {
        snprintf(cn, sizeof(cn), "u%u", i);
        struct sm_accounts *a = NULL;
        struct sm_audit_record *rec = NULL;
        assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_SAM, cn, &a, NULL), 0);
        assert_int_equal(a->n, 1);
        assert_int_equal(sm_audit_account(au, d, &a->v[0], &rec, NULL), 0);
        assert_int_equal(rec->n_duplicates, i == N ? 1 : 0);
        if (i == N) {
            assert_int_equal(rec->values[0].n_holders, 1);
            assert_string_equal(rec->values[0].holders[0], "CN=u0,CN=Users," DOMAIN);
        }
        sm_audit_record_free(rec);
        sm_accounts_free(a);
    }
    sm_audit_totals(au, &t);
    assert_int_equal(t.accounts, N + 1);
    assert_int_equal(t.distinct_values, N);
    assert_int_equal(t.duplicate_values, 1);
    free(c);
    sm_audit_free(au);
    sm_dir_close(d);
    su_buf_release(&b);
}

/* ---- the whole audit and its reports (sm_audit_walk(), sm_audit_report_*()) --------------- */

struct report_run {
    struct sm_audit_report *rep[SM_AUDIT__FORMATS];
    struct su_buf out[SM_AUDIT__FORMATS];
    struct su_buf rows;         /* HTML's */
    size_t ticks, stop_at_line; /* 0: never stop */
    size_t lines;
    int line_err; /* returned by the line callback at stop_at_line when set */
    enum sm_audit_phase phases_seen[8];
    size_t n_phases;
};

static int buf_sink(void *ctx, const void *p, size_t len)
{
    su_buf_put(ctx, p, len);
    return ((struct su_buf *)ctx)->oom ? -ENOMEM : 0;
}

static int buf_replay(void *ctx, sm_audit_sink sink, void *sink_ctx)
{
    struct su_buf *b = ctx;
    return b->len ? sink(sink_ctx, b->p, b->len) : 0;
}

static int rr_tick(void *ctx, const struct sm_audit_progress *p)
{
    struct report_run *r = ctx;
    r->ticks++;
    if (!r->n_phases || r->phases_seen[r->n_phases - 1] != p->phase) {
        assert_true(r->n_phases < 8);
        r->phases_seen[r->n_phases++] = p->phase;
    }
    if (p->phase == SM_AUDIT_AUDITING && r->stop_at_line && !r->line_err &&
        p->lines >= r->stop_at_line)
        return -ECANCELED;
    return 0;
}

static int rr_line(void *ctx, const struct sm_account *acc, const struct sm_audit_record *rec,
                   int code, const char *message)
{
    struct report_run *r = ctx;
    int rc = 0;
    r->lines++;
    for (size_t i = 0; i < SM_AUDIT__FORMATS && rc == 0; i++)
        rc = sm_audit_report_line(r->rep[i], acc, rec, code, message);
    if (rc == 0 && r->line_err && r->lines == r->stop_at_line)
        return r->line_err;
    return rc;
}

static void rr_open(struct report_run *r)
{
    struct sm_audit_html_opts ho = { .source = "LDIF test", .at = AT, .generated = AT };
    su_buf_init(&r->rows, NULL, NULL);
    for (size_t i = 0; i < SM_AUDIT__FORMATS; i++) {
        su_buf_init(&r->out[i], NULL, NULL);
        struct sm_audit_report_opts ro = { .format = (enum sm_audit_format)i,
                                           .out = buf_sink,
                                           .out_ctx = &r->out[i],
                                           .rows = buf_sink,
                                           .rows_ctx = &r->rows,
                                           .replay = buf_replay,
                                           .html = &ho };
        assert_int_equal(sm_audit_report_new(&ro, &r->rep[i]), 0);
    }
}

static void rr_close(struct report_run *r)
{
    for (size_t i = 0; i < SM_AUDIT__FORMATS; i++) {
        sm_audit_report_free(r->rep[i]);
        su_buf_release(&r->out[i]);
    }
    su_buf_release(&r->rows);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* The second pass's total estimated over LDAP from the share of value holders seen. */
static void test_estimated_total(void **state)
{
    (void)state;
    struct sm_audit_progress p = { .phase = SM_AUDIT_AUDITING,
                                   .total = 200,
                                   .total_partial = true,
                                   .lines = 3,
                                   .holders = 200,
                                   .holders_seen = 1 };

    assert_int_equal(sm_audit_estimated_total(&p), 0); /* under 1% of the holders seen */
    p.holders_seen = 2;
    assert_int_equal(sm_audit_estimated_total(&p), 300); /* 3 accounts for 2 holders of 200 */
    p.lines = 5;
    assert_int_equal(sm_audit_estimated_total(&p), 500);
    p.holders_seen = 3;
    assert_int_equal(sm_audit_estimated_total(&p), 333); /* 333.3, rounded */
    p.lines = 250;
    p.holders_seen = 200; /* every holder seen: what is done, at least */
    assert_int_equal(sm_audit_estimated_total(&p), 250);
    p.holders_seen = 201; /* one changed between the passes: never under what is done */
    assert_int_equal(sm_audit_estimated_total(&p), 250);
    p.holders_seen = 2;
    p.total_partial = false; /* an exact total: no estimate */
    assert_int_equal(sm_audit_estimated_total(&p), 0);
    p.total_partial = true;
    p.phase = SM_AUDIT_GIVEN;
    assert_int_equal(sm_audit_estimated_total(&p), 0);
    p.phase = SM_AUDIT_AUDITING;
    p.holders = p.holders_seen = 0; /* nobody holds a value (--since): nothing to go by */
    assert_int_equal(sm_audit_estimated_total(&p), 0);
    assert_int_equal(sm_audit_estimated_total(NULL), 0);
}

static void test_walk_report(void **state)
{
    (void)state;
    char *text = fixture();
    struct sm_dir *d = open_text(text);
    struct sm_audit_opts ao = { .at = AT };
    struct sm_audit *au = NULL;
    struct sm_audit_progress p;
    struct sm_audit_totals t;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct report_run r = { 0 };

    /* whole: every account in every format, the duplicate flagged on its first holder too */
    rr_open(&r);
    struct sm_audit_walk_opts wo = { .line = rr_line, .tick = rr_tick, .ctx = &r };
    assert_int_equal(sm_audit_new(&ao, &au), 0);
    assert_int_equal(sm_audit_walk(au, d, d, &wo, &p, &e), 0);
    assert_int_equal(p.phase, SM_AUDIT_GIVEN);
    assert_int_equal(p.indexed, 5);
    assert_int_equal(p.total, 5);
    assert_int_equal(p.lines, 5);
    assert_int_equal(p.worst, SM_BLOCKED); /* carol */
    assert_int_equal(p.holders, 5);        /* every account holds values */
    assert_int_equal(p.holders_seen, 5);
    assert_int_equal(sm_audit_estimated_total(&p), 0); /* an LDIF's total is exact */
    assert_int_equal(r.n_phases, 3);
    assert_int_equal(r.phases_seen[0], SM_AUDIT_INDEXING);
    assert_int_equal(r.phases_seen[1], SM_AUDIT_AUDITING);
    assert_int_equal(r.phases_seen[2], SM_AUDIT_GIVEN);
    assert_int_equal(r.ticks, 3 + 5 + 5); /* each pass's start, each account of both */
    sm_audit_totals(au, &t);
    for (size_t i = 0; i < SM_AUDIT__FORMATS; i++)
        assert_int_equal(sm_audit_report_end(r.rep[i], &t, NULL), 0);
    const char *jsonl = su_buf_str(&r.out[SM_AUDIT_JSONL]);
    assert_int_equal(count_lines(jsonl), 6);
    assert_non_null(strstr(jsonl, "\"sam\":\"alice\""));
    assert_non_null(strstr(jsonl, "\"duplicate\":true"));
    assert_non_null(strstr(jsonl, "{\"summary\":true,\"partial\":false,\"stopped_by\":null"));
    const char *csv = su_buf_str(&r.out[SM_AUDIT_CSV]);
    assert_int_equal(count_lines(csv), 7);
    assert_true(strncmp(csv, "dn,sam,upn,computer,", 20) == 0);
    assert_non_null(strstr(csv, "\n# complete: 5 accounts (3 ready, 1 at_risk, 1 blocked, "));
    const char *html = su_buf_str(&r.out[SM_AUDIT_HTML]);
    assert_non_null(strstr(html, "<!DOCTYPE html>"));
    assert_non_null(strstr(html, r.rows.p)); /* the rows replayed after the head */
    assert_non_null(strstr(html, "</html>"));
    rr_close(&r);
    au = sm_audit_free(au);

    /* --since: one account audited, its duplicate still known from the first pass */
    memset(&r, 0, sizeof(r));
    rr_open(&r);
    wo = (struct sm_audit_walk_opts){ .since = 1748736000, .line = rr_line, .ctx = &r };
    assert_int_equal(sm_audit_new(&ao, &au), 0);
    assert_int_equal(sm_audit_walk(au, d, d, &wo, &p, &e), 0);
    assert_int_equal(p.indexed, 5);
    assert_int_equal(p.total, 1);
    assert_int_equal(p.lines, 1);
    assert_int_equal(p.holders, 1); /* the holders --since lets through, as the total */
    assert_int_equal(p.holders_seen, 1);
    rr_close(&r);
    au = sm_audit_free(au);

    /* the tick stops it after two accounts: two whole lines, then a partial summary */
    memset(&r, 0, sizeof(r));
    rr_open(&r);
    r.stop_at_line = 2;
    wo = (struct sm_audit_walk_opts){ .line = rr_line, .tick = rr_tick, .ctx = &r };
    assert_int_equal(sm_audit_new(&ao, &au), 0);
    assert_int_equal(sm_audit_walk(au, d, d, &wo, &p, &e), -ECANCELED);
    assert_int_equal(p.lines, 2);
    assert_int_equal(p.phase, SM_AUDIT_AUDITING);
    sm_audit_totals(au, &t);
    assert_int_equal(t.accounts, 2);
    for (size_t i = 0; i < SM_AUDIT__FORMATS; i++)
        assert_int_equal(sm_audit_report_end(r.rep[i], &t, "cancelled"), 0);
    jsonl = su_buf_str(&r.out[SM_AUDIT_JSONL]);
    assert_int_equal(count_lines(jsonl), 3);
    assert_non_null(strstr(jsonl, "\"partial\":true,\"stopped_by\":\"cancelled\""));
    assert_non_null(
        strstr(su_buf_str(&r.out[SM_AUDIT_CSV]), "\n# partial, stopped by cancelled: 2"));
    assert_non_null(strstr(su_buf_str(&r.out[SM_AUDIT_HTML]), "Partial report."));
    rr_close(&r);
    au = sm_audit_free(au);

    /* the line's own error stops it and comes back as is; stopped at the first tick, nothing */
    memset(&r, 0, sizeof(r));
    rr_open(&r);
    r.stop_at_line = 3;
    r.line_err = -EIO;
    wo = (struct sm_audit_walk_opts){ .line = rr_line, .tick = rr_tick, .ctx = &r };
    assert_int_equal(sm_audit_new(&ao, &au), 0);
    assert_int_equal(sm_audit_walk(au, d, d, &wo, &p, &e), -EIO);
    assert_int_equal(r.lines, 3);
    rr_close(&r);
    au = sm_audit_free(au);

    /* bad arguments */
    struct sm_audit_report *rep = NULL;
    struct sm_audit_report_opts ro = { .format = SM_AUDIT_HTML, .out = buf_sink };
    assert_int_equal(sm_audit_report_new(&ro, &rep), -EINVAL); /* HTML without its rows */
    ro.format = SM_AUDIT__FORMATS;
    assert_int_equal(sm_audit_report_new(&ro, &rep), -EINVAL);
    assert_int_equal(sm_audit_report_new(NULL, &rep), -EINVAL);
    assert_null(sm_audit_report_free(NULL));
    assert_int_equal(sm_audit_new(&ao, &au), 0);
    wo = (struct sm_audit_walk_opts){ 0 };
    assert_int_equal(sm_audit_walk(au, d, d, &wo, NULL, NULL), -EINVAL); /* no line */
    au = sm_audit_free(au);
    enum sm_audit_format f;
    assert_int_equal(sm_audit_format_parse("csv", &f), 0);
    assert_int_equal(f, SM_AUDIT_CSV);
    assert_int_equal(sm_audit_format_parse("CSV", &f), -EINVAL);
    assert_int_equal(sm_audit_format_parse(NULL, &f), -EINVAL);
    assert_string_equal(sm_audit_format_name(SM_AUDIT_HTML), "html");
    assert_null(sm_audit_format_name(SM_AUDIT__FORMATS));
    sm_dir_close(d);
    free(text);
}

/* A code point that can make text display other than it is stored: the bidirectional
   embeddings, overrides and isolates, the marks, and the C1 controls. */
static bool is_bidi_or_c1(uint32_t cp)
{
    return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
           cp == 0x200f || cp == 0x061c || (cp >= 0x80 && cp <= 0x9f);
}

/* The HTML report (security review of 2026-12-08, finding 8): a certificate's issuer with U+202E
   (RIGHT-TO-LEFT OVERRIDE) reached the issuer chart and the Fix column's command unchanged, so
   that they displayed reversed. Every escaped text now has U+FFFD in place of each bidirectional
   control, mark and C1 control; other characters (é, Arabic letters) stay. */
static void test_html_bidi(void **state)
{
    (void)state;
    /* U+202E, then U+2066..U+2069, U+202A..U+202D, U+200E, U+200F, U+061C, U+0080, U+0085 and
       U+009F, around letters that stay */
    static const char evil[] = "\xe2\x80\xae"
                               "exe.gpj "
                               "\xe2\x81\xa6"
                               "a"
                               "\xe2\x81\xa7"
                               "b"
                               "\xe2\x81\xa8"
                               "c"
                               "\xe2\x81\xa9"
                               "\xe2\x80\xaa"
                               "\xe2\x80\xab"
                               "\xe2\x80\xac"
                               "\xe2\x80\xad"
                               "\xe2\x80\x8e"
                               "\xe2\x80\x8f"
                               "\xd8\x9c"
                               "\xc2\x80"
                               "\xc2\x85"
                               "\xc2\x9f"
                               " caf\xc3\xa9 \xd8\xa8";
    char issuer[256], fix[512], sam[128], dn[256];
    snprintf(issuer, sizeof(issuer), "CN=%s,DC=example,DC=com", evil);
    snprintf(fix, sizeof(fix),
             "Set-ADUser -Identity 'CN=mallory,CN=Users,DC=example,DC=com' -Add "
             "@{altSecurityIdentities='X509:<I>DC=com,DC=example,CN=%s<SR>01'}",
             evil);
    snprintf(sam, sizeof(sam), "mallory%s", evil);
    snprintf(dn, sizeof(dn), "CN=mallory%s,CN=Users," DOMAIN, evil);
    struct sm_cert cert = { 0 };
    cert.issuer.rfc4514 = issuer;
    struct sm_verdict v = { 0 };
    v.cert = &cert;
    const struct sm_verdict *verdicts[] = { &v };
    struct sm_account acc = { .dn = dn, .sam = sam };
    struct sm_account_status st = {
        .account = &acc, .readiness = SM_BLOCKED, .cert_verdicts = verdicts, .n_cert_verdicts = 1
    };
    struct sm_audit_record rec = { .status = &st, .fixes = { fix }, .n_fixes = 1 };
    struct sm_audit_html_opts ho = { .source = evil, .at = AT, .generated = AT };
    struct sm_audit_totals t = { .accounts = 1, .blocked = 1, .certificates = 1 };
    struct sm_audit_html *h = NULL;
    struct su_buf rows, doc;
    su_buf_init(&rows, NULL, NULL);
    su_buf_init(&doc, NULL, NULL);
    assert_int_equal(sm_audit_html_new(&ho, &h), 0);
    assert_int_equal(sm_audit_html_record(h, &rec, buf_sink, &rows), 0);
    assert_int_equal(sm_audit_html_head(h, &t, false, NULL, buf_sink, &doc), 0);
    su_buf_put(&doc, rows.p, rows.len);
    assert_int_equal(sm_audit_html_tail(h, buf_sink, &doc), 0);
    const char *html = su_buf_str(&doc);
    assert_non_null(html);
    for (size_t i = 0; i < doc.len;) {
        uint32_t cp = 0;
        size_t k = su_utf8_seq((const unsigned char *)html + i, doc.len - i, &cp);
        assert_true(k > 0);
        if (is_bidi_or_c1(cp))
            fail_msg("U+%04X at byte %zu: ...%.80s", (unsigned)cp, i, html + (i > 40 ? i - 40 : 0));
        i += k;
    }
    /* each in its place, the rest of the text as it was: the chart's label, the fix, the row */
    const char *clean = "\xef\xbf\xbd"
                        "exe.gpj \xef\xbf\xbd"
                        "a\xef\xbf\xbd"
                        "b\xef\xbf\xbd"
                        "c\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                        "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                        "\xef\xbf\xbd caf\xc3\xa9 \xd8\xa8";
    char want[512];
    snprintf(want, sizeof(want), "<g><title>CN=%s,DC=example,DC=com:", clean);
    assert_non_null(strstr(html, want));
    snprintf(want, sizeof(want),
             "<li>Set-ADUser -Identity &#39;CN=mallory,CN=Users,"
             "DC=example,DC=com&#39; -Add @{altSecurityIdentities=&#39;X509:&lt;I&gt;DC=com,"
             "DC=example,CN=%s&lt;SR&gt;01&#39;}</li>",
             clean);
    assert_non_null(strstr(html, want));
    snprintf(want, sizeof(want), "<th scope=\"row\">mallory%s</th>", clean);
    assert_non_null(strstr(html, want));
    sm_audit_html_free(h);
    su_buf_release(&rows);
    su_buf_release(&doc);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct sm_profile p[SM_MAX_PROFILES + 1] = { 0 };
    struct sm_audit_opts o = { .profiles = p, .n_profiles = SM_MAX_PROFILES + 1 };
    struct sm_audit *au = NULL;
    struct sm_audit_record *rec = NULL;
    assert_int_equal(sm_audit_new(&o, &au), -EINVAL);
    assert_int_equal(sm_audit_new(NULL, &au), 0);
    assert_int_equal(sm_audit_account(au, NULL, NULL, &rec, NULL), -EINVAL);
    assert_null(sm_audit_free(au));
    assert_null(sm_audit_record_free(NULL));
    assert_string_equal(sm_audit_readers_name(SM_READERS_SAMBA), "samba");
    assert_string_equal(sm_audit_readers_name((enum sm_audit_readers)99), "none");
}

int main(void)
{
    load_cert();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk),         cmocka_unit_test(test_audit),
        cmocka_unit_test(test_first_holder), cmocka_unit_test(test_given),
        cmocka_unit_test(test_own_repeat),   cmocka_unit_test(test_many),
        cmocka_unit_test(test_bad_input),    cmocka_unit_test(test_walk_report),
        cmocka_unit_test(test_html_bidi),    cmocka_unit_test(test_estimated_total),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

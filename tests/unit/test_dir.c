/*
 * tests/unit/test_dir.c - the directory (lib/dir.c, lib/dir_ldif.c): lookups of every kind
 * against tests/data/dir/test.ldif (made by gen.py), the LDIF parser and its errors, the
 * conversion of raw values, and the lookup cache (with a counting fake backend).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#include <cmocka.h>

#include <strongmap/dir.h>
#include <strongmap/strongmap.h>

#include "dir_internal.h"

#define SID(rid)       "S-1-5-21-1004336348-1177238915-682003330-" #rid
#define ALICE_DN       "CN=Alice Example,CN=Users,DC=example,DC=com"
#define WS01_DN        "CN=WS01,CN=Computers,DC=example,DC=com"
#define JAN_1_2024     1704067200
#define HOSTILE_SAM    "ev*l)(x\\y"
#define NTAUTH_DERIVED "CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,"

/* ---- helpers ------------------------------------------------------------------------------- */

static void data_path(char *out, size_t size, const char *rel)
{
    const char *base = getenv("SM_TEST_DATA");
    snprintf(out, size, "%s/%s", base ? base : "tests/data", rel);
}

static struct sm_dir *open_ldif(const char *rel)
{
    char path[1024];
    struct sm_dir *d = NULL;
    struct sm_errinfo e = { 0 };
    data_path(path, sizeof(path), rel);
    int r = sm_dir_open_ldif(path, &d, &e);
    if (r != 0)
        fail_msg("%s: %d %s", path, r, e.text);
    return d;
}

/* An LDIF file with @text in the temporary directory; the caller unlinks @path. */
static void write_tmp(char *path, size_t size, const char *text, size_t len)
{
    snprintf(path, size, "%s/sm_test_dir_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, len), (ssize_t)len);
    close(fd);
}

static int open_text(const char *text, size_t len, struct sm_dir **d, struct sm_errinfo *e)
{
    char path[512];
    write_tmp(path, sizeof(path), text, len);
    int r = sm_dir_open_ldif(path, d, e);
    unlink(path);
    return r;
}

static struct sm_accounts *lookup(struct sm_dir *d, enum sm_lookup how, const char *name)
{
    struct sm_accounts *a = NULL;
    struct sm_errinfo e = { 0 };
    int r = sm_dir_lookup(d, how, name, &a, &e);
    if (r != 0)
        fail_msg("lookup %s \"%s\": %d %s", sm_lookup_name(how), name, r, e.text);
    assert_non_null(a);
    return a;
}

/* The DN of the single account @name resolves to, or "" when none; checks n <= 1. */
static const char *found_dn(struct sm_dir *d, enum sm_lookup how, const char *name)
{
    static char dn[512];
    struct sm_accounts *a = lookup(d, how, name);
    assert_true(a->n <= 1);
    snprintf(dn, sizeof(dn), "%s", a->n ? a->v[0].dn : "");
    sm_accounts_free(a);
    return dn;
}

static const char *sid_text(const struct sm_account *a)
{
    static char buf[SM_SID_TEXT_MAX];
    assert_true(a->has_sid);
    return sm_sid_format(&a->sid, buf, sizeof(buf));
}

static int setup_dir(void **state)
{
    *state = open_ldif("dir/test.ldif");
    return 0;
}

static int teardown_dir(void **state)
{
    sm_dir_close(*state);
    return 0;
}

/* ---- the LDIF export ------------------------------------------------------------------------ */

static void test_open(void **state)
{
    struct sm_dir *d = *state;
    struct sm_errinfo e = { 0 };
    assert_string_equal(sm_dir_kind(d), "ldif");
    assert_string_equal(d->base, "DC=example,DC=com");
    assert_string_equal(d->ntauth_dn, NTAUTH_DERIVED "DC=example,DC=com");
    assert_int_equal(sm_dir_ping(d, &e), 0);
}

static void test_account_fields(void **state)
{
    struct sm_dir *d = *state;
    struct sm_accounts *a = lookup(d, SM_LOOKUP_UPN, "alice@example.com");
    assert_int_equal(a->n, 1);
    const struct sm_account *x = &a->v[0];
    assert_string_equal(x->dn, ALICE_DN);
    assert_string_equal(x->sam, "alice");
    assert_string_equal(x->upn, "alice@example.com");
    assert_null(x->dns_host);
    assert_string_equal(sid_text(x), SID(1105));
    assert_true(x->has_created);
    assert_int_equal(x->created, JAN_1_2024);
    assert_true(x->has_uac);
    assert_int_equal(x->uac, 512);
    assert_false(x->is_computer);
    assert_int_equal(x->n_altsec, 2);
    assert_memory_equal(x->altsec[0], "X509:<SKI>", 10);
    assert_string_equal(x->altsec[1], "X509:<I>DC=com,DC=example,CN=Example Issuing CA<S>DC=com,"
                                      "DC=example,OU=Users,CN=Alice");
    assert_int_equal(x->n_certs, 0);
    sm_accounts_free(a);

    a = lookup(d, SM_LOOKUP_SAM, "bob");
    assert_int_equal(a->n, 1);
    assert_int_equal(a->v[0].uac, 514);
    assert_true(a->v[0].uac & SM_UAC_ACCOUNTDISABLE);
    assert_int_equal(a->v[0].created, 1686817800); /* 2023-06-15T08:30:00Z */
    sm_accounts_free(a);

    a = lookup(d, SM_LOOKUP_DNS_HOST, "ws01.example.com");
    assert_int_equal(a->n, 1);
    assert_string_equal(a->v[0].dn, WS01_DN);
    assert_string_equal(a->v[0].sam, "WS01$");
    assert_string_equal(a->v[0].dns_host, "ws01.example.com");
    assert_true(a->v[0].is_computer);
    assert_int_equal(a->v[0].uac, SM_UAC_WORKSTATION_TRUST);
    assert_string_equal(sid_text(&a->v[0]), SID(1200));
    sm_accounts_free(a);

    a = lookup(d, SM_LOOKUP_SAM, "carol"); /* created after any of the fixtures' certificates */
    assert_int_equal(a->v[0].created, 1893456000);
    sm_accounts_free(a);
}

static void test_user_certificate(void **state)
{
    struct sm_dir *d = *state;
    char path[1024];
    data_path(path, sizeof(path), "certs/sid_ext.der");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t der[8192];
    size_t len = fread(der, 1, sizeof(der), f);
    fclose(f);

    /* "userCertificate;binary::" folded over continuation lines */
    struct sm_accounts *a = lookup(d, SM_LOOKUP_SAM, "dave");
    assert_int_equal(a->n, 1);
    assert_int_equal(a->v[0].n_certs, 1);
    assert_int_equal(a->v[0].certs[0].len, len);
    assert_memory_equal(a->v[0].certs[0].data, der, len);
    assert_int_equal(a->v[0].uac, 66048);
    sm_accounts_free(a);
}

static void test_auto(void **state)
{
    struct sm_dir *d = *state;
    static const struct {
        const char *name, *dn;
    } cases[] = {
        { "alice@example.com", ALICE_DN },
        { "ALICE@EXAMPLE.COM", ALICE_DN },
        { "alice", ALICE_DN },
        { "ALICE", ALICE_DN },
        { "EXAMPLE\\alice", ALICE_DN },
        { "example.com\\Alice", ALICE_DN }, /* a dotted domain before the backslash */
        { SID(1105), ALICE_DN },
        { "s-1-5-21-1004336348-1177238915-682003330-1105", ALICE_DN },
        { "S-1-5-21-01004336348-1177238915-682003330-1105", ALICE_DN }, /* binary comparison */
        { ALICE_DN, ALICE_DN },
        { "cn=alice example , CN=USERS,dc=Example,  DC=com ", ALICE_DN },
        { "ws01$", WS01_DN },
        { "WS01$", WS01_DN },
        { "ws01.example.com", WS01_DN },
        { "WS01.Example.COM", WS01_DN },
        { "EXAMPLE\\WS01$", WS01_DN },
        { SID(1200), WS01_DN },
        { "j.smith", "CN=John Smith,CN=Users,DC=example,DC=com" }, /* no dNSHostName: SAM */
        { "john.smith@example.com", "CN=John Smith,CN=Users,DC=example,DC=com" },
        { "nobody", "" },
        { "nobody@example.com", "" },
        { "nobody.example.com", "" },
        { "nobody$", "" },
        { SID(9999), "" },
        { "CN=Nobody,CN=Users,DC=example,DC=com", "" },
        { "ws01", "" }, /* the computer's sAMAccountName is WS01$ */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *dn = found_dn(d, SM_LOOKUP_AUTO, cases[i].name);
        if (strcmp(dn, cases[i].dn) != 0)
            fail_msg("auto \"%s\": \"%s\", expected \"%s\"", cases[i].name, dn, cases[i].dn);
    }
}

static void test_explicit_kinds(void **state)
{
    struct sm_dir *d = *state;
    assert_string_equal(found_dn(d, SM_LOOKUP_SAM, "EXAMPLE\\alice"), ALICE_DN);
    assert_string_equal(found_dn(d, SM_LOOKUP_SAM, "Alice"), ALICE_DN);
    assert_string_equal(found_dn(d, SM_LOOKUP_SAM, "alice@example.com"), "");
    assert_string_equal(found_dn(d, SM_LOOKUP_SAM, "ws01.example.com"), "");
    assert_string_equal(found_dn(d, SM_LOOKUP_UPN, "alice"), "");
    assert_string_equal(found_dn(d, SM_LOOKUP_UPN, "Alice@Example.Com"), ALICE_DN);
    assert_string_equal(found_dn(d, SM_LOOKUP_SID, SID(1105)), ALICE_DN);
    assert_string_equal(found_dn(d, SM_LOOKUP_DNS_HOST, "ws01.example.com"), WS01_DN);
    assert_string_equal(found_dn(d, SM_LOOKUP_DNS_HOST, "ws01"), "");
    assert_string_equal(found_dn(d, SM_LOOKUP_DNS_HOST, "j.smith"), ""); /* no SAM fallback */
    assert_string_equal(found_dn(d, SM_LOOKUP_DN, "cn=ws01,cn=computers,dc=example,dc=com"),
                        WS01_DN);
    /* "alice" in DN form is not a DN: refused */
    struct sm_accounts *none = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_DN, "alice", &none, &e), -EINVAL);
    assert_null(none);
}

static void test_not_accounts(void **state)
{
    struct sm_dir *d = *state;
    /* entries that exist but are no user or computer */
    assert_string_equal(found_dn(d, SM_LOOKUP_DN, "OU=Staff,DC=example,DC=com"), "");
    assert_string_equal(found_dn(d, SM_LOOKUP_DN, "CN=Staff,OU=Staff,DC=example,DC=com"), "");
    assert_string_equal(found_dn(d, SM_LOOKUP_DN, "DC=example,DC=com"), "");
    assert_string_equal(found_dn(d, SM_LOOKUP_DN, NTAUTH_DERIVED "DC=example,DC=com"), "");
    /* the group's sAMAccountName and SID */
    assert_string_equal(found_dn(d, SM_LOOKUP_SAM, "staff"), "");
    assert_string_equal(found_dn(d, SM_LOOKUP_SID, SID(1300)), "");
}

static void test_hostile_names(void **state)
{
    struct sm_dir *d = *state;
    static const char *const none[] = {
        "*", "*)(", "*)(objectClass=*)", "a*", "*@example.com", "ev*",   "ev\\2al)(x\\5cy", "(",
        ")", "\\",  "EXAMPLE\\*",        "*$", "*.example.com", "S-1-*",
    };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        for (int how = SM_LOOKUP_AUTO; how <= SM_LOOKUP_DN; how++) {
            struct sm_accounts *a = NULL;
            struct sm_errinfo e = { 0 };
            int r = sm_dir_lookup(d, (enum sm_lookup)how, none[i], &a, &e);
            if (r == 0 && a->n != 0)
                fail_msg("%s \"%s\" found %zu accounts", sm_lookup_name((enum sm_lookup)how),
                         none[i], a->n);
            sm_accounts_free(a);
        }
    /* found by exactly its name ("DOMAIN\" first, as the name holds a backslash) */
    const char *dn = "CN=Hostile Name,CN=Users,DC=example,DC=com";
    assert_string_equal(found_dn(d, SM_LOOKUP_SAM, "EXAMPLE\\" HOSTILE_SAM), dn);
    assert_string_equal(found_dn(d, SM_LOOKUP_AUTO, "EXAMPLE\\" HOSTILE_SAM), dn);
    assert_string_equal(found_dn(d, SM_LOOKUP_AUTO, "EXAMPLE\\EV*L)(X\\Y"), dn);
    struct sm_accounts *a = lookup(d, SM_LOOKUP_UPN, "evil@example.com");
    assert_int_equal(a->n, 1);
    assert_string_equal(a->v[0].sam, HOSTILE_SAM);
    sm_accounts_free(a);
}

static void test_invalid_names(void **state)
{
    struct sm_dir *d = *state;
    char long_name[SM_MAX_NAME + 2];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    static const struct {
        enum sm_lookup how;
        const char *name;
    } bad[] = {
        { SM_LOOKUP_AUTO, "" },
        { SM_LOOKUP_SAM, "" },
        { SM_LOOKUP_AUTO, "\xff\xfe" },
        { SM_LOOKUP_UPN, "al\xc3(ce@example.com" },
        { SM_LOOKUP_AUTO, "\xed\xa0\x80" }, /* a surrogate */
        { SM_LOOKUP_SID, "alice" },
        { SM_LOOKUP_AUTO, "S-1-5-x" },
        { SM_LOOKUP_AUTO, "S-1-" },
        { SM_LOOKUP_AUTO, "EXAMPLE\\" },
        { SM_LOOKUP_SAM, "EXAMPLE\\" },
        { (enum sm_lookup)99, "alice" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sm_accounts *a = NULL;
        struct sm_errinfo e = { 0 };
        int r = sm_dir_lookup(d, bad[i].how, bad[i].name, &a, &e);
        if (r != -EINVAL)
            fail_msg("case %zu: %d, expected -EINVAL", i, r);
        assert_null(a);
        assert_true(e.text[0] != '\0');
    }
    struct sm_accounts *a = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_AUTO, long_name, &a, &e), -EINVAL);
    assert_non_null(strstr(e.text, "512"));
    long_name[SM_MAX_NAME] = '\0'; /* exactly the limit: a valid (absent) name */
    assert_string_equal(found_dn(d, SM_LOOKUP_SAM, long_name), "");
    assert_int_equal(sm_dir_lookup(NULL, SM_LOOKUP_AUTO, "alice", &a, &e), -EINVAL);
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_AUTO, NULL, &a, &e), -EINVAL);
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_AUTO, "alice", NULL, &e), -EINVAL);
}

static void test_altsec(void **state)
{
    struct sm_dir *d = *state;
    struct sm_accounts *a = lookup(d, SM_LOOKUP_SAM, "alice");
    char strong[256], lower[256];
    snprintf(strong, sizeof(strong), "%s", a->v[0].altsec[0]);
    sm_accounts_free(a);
    for (size_t i = 0;
         (lower[i] = (char)(strong[i] >= 'A' && strong[i] <= 'Z' ? strong[i] + 32 : strong[i]));
         i++)
        ;
    struct sm_errinfo e = { 0 };

    const char *one[] = { lower }; /* "x509:<ski>627e..." */
    assert_int_equal(sm_dir_find_altsec(d, one, 1, &a, &e), 0);
    assert_int_equal(a->n, 1);
    assert_string_equal(a->v[0].dn, ALICE_DN);
    sm_accounts_free(a);

    const char *several[] = { "X509:<SKI>00", "x509:<rfc822>BOB@EXAMPLE.COM", strong };
    assert_int_equal(sm_dir_find_altsec(d, several, 3, &a, &e), 0);
    assert_int_equal(a->n, 2); /* in the export's order */
    assert_string_equal(a->v[0].dn, ALICE_DN);
    assert_string_equal(a->v[1].dn, "CN=Bob Example,CN=Users,DC=example,DC=com");
    sm_accounts_free(a);

    const char *none[] = { "X509:<SKI>", "*", "X509:*" };
    assert_int_equal(sm_dir_find_altsec(d, none, 3, &a, &e), 0);
    assert_int_equal(a->n, 0);
    sm_accounts_free(a);

    assert_int_equal(sm_dir_find_altsec(d, NULL, 0, &a, &e), 0);
    assert_int_equal(a->n, 0);
    sm_accounts_free(a);

    const char *many[SM_MAX_ALTSEC + 1];
    for (size_t i = 0; i < SM_MAX_ALTSEC + 1; i++)
        many[i] = strong;
    a = NULL;
    assert_int_equal(sm_dir_find_altsec(d, many, SM_MAX_ALTSEC + 1, &a, &e), -E2BIG);
    assert_null(a);
    assert_int_equal(sm_dir_find_altsec(d, many, SM_MAX_ALTSEC, &a, &e), 0);
    assert_int_equal(a->n, 1);
    sm_accounts_free(a);

    const char *bad[] = { strong, NULL };
    a = NULL;
    assert_int_equal(sm_dir_find_altsec(d, bad, 2, &a, &e), -EINVAL);
    bad[1] = "";
    assert_int_equal(sm_dir_find_altsec(d, bad, 2, &a, &e), -EINVAL);
    bad[1] = "X509:<S>\xff";
    assert_int_equal(sm_dir_find_altsec(d, bad, 2, &a, &e), -EINVAL);
    assert_null(a);
}

static void test_ntauth(void **state)
{
    struct sm_dir *d = *state;
    char path[1024];
    data_path(path, sizeof(path), "certs/issuing_ca.pem");
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char pem[16384];
    size_t len = fread(pem, 1, sizeof(pem) - 1, f);
    fclose(f);
    struct sm_certs *ca = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_certs_parse(pem, len, NULL, &ca, &e), 0);

    struct sm_accounts *a = NULL;
    assert_int_equal(sm_dir_ntauth(d, &a, &e), 0);
    assert_int_equal(a->n, 1);
    assert_non_null(strstr(a->v[0].dn, "cn=NTAuthCertificates"));
    assert_int_equal(a->v[0].n_certs, 1);
    assert_int_equal(a->v[0].certs[0].len, ca->certs[0].der_len);
    assert_memory_equal(a->v[0].certs[0].data, ca->certs[0].der, ca->certs[0].der_len);
    sm_accounts_free(a);
    sm_certs_free(ca);

    /* an export without the store: n == 0 */
    static const char text[] = "dn: CN=U,DC=corp,DC=test\nobjectClass: user\nsAMAccountName: u\n";
    struct sm_dir *d2 = NULL;
    assert_int_equal(open_text(text, strlen(text), &d2, &e), 0);
    assert_string_equal(d2->base, "DC=corp,DC=test");
    assert_int_equal(sm_dir_ntauth(d2, &a, &e), 0);
    assert_int_equal(a->n, 0);
    sm_accounts_free(a);
    sm_dir_close(d2);

    /* no DC= names at all: no base, no store */
    static const char text2[] = "dn: o=x\nobjectClass: organization\n";
    assert_int_equal(open_text(text2, strlen(text2), &d2, &e), 0);
    assert_null(d2->base);
    assert_int_equal(sm_dir_ntauth(d2, &a, &e), 0);
    assert_int_equal(a->n, 0);
    sm_accounts_free(a);
    sm_dir_close(d2);
}

/* ---- the LDIF parser ------------------------------------------------------------------------ */

static void test_ldif_syntax_error_file(void **state)
{
    (void)state;
    char path[1024];
    struct sm_dir *d = NULL;
    struct sm_errinfo e = { 0 };
    data_path(path, sizeof(path), "dir/bad_syntax.ldif");
    assert_int_equal(sm_dir_open_ldif(path, &d, &e), -EINVAL);
    assert_null(d);
    if (strncmp(e.text, "line 11: ", 9) != 0)
        fail_msg("error text: %s", e.text);
    assert_true(e.offset > 0);

    data_path(path, sizeof(path), "dir/does_not_exist.ldif");
    assert_int_equal(sm_dir_open_ldif(path, &d, &e), -ENOENT);
    data_path(path, sizeof(path), "dir");
    assert_int_equal(sm_dir_open_ldif(path, &d, &e), -EINVAL); /* a directory */
    write_tmp(path, sizeof(path), "", 0);                      /* larger than 64 MiB (sparse) */
    assert_int_equal(truncate(path, 65 * 1024 * 1024), 0);
    assert_int_equal(sm_dir_open_ldif(path, &d, &e), SM_E_TOO_BIG);
    unlink(path);
    assert_int_equal(sm_dir_open_ldif(NULL, &d, &e), -EINVAL);
}

static void test_ldif_syntax_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned long line;
    } bad[] = {
        { "objectClass: user\n", 1 },                           /* no dn: */
        { "version: 2\n", 1 },                                  /* unknown version */
        { "\n\n# c\n continued comment\ndn: x\nnocolon\n", 6 }, /* comment lines count */
        { "dn: x\nobjectSid:: ***\n", 2 },                      /* bad base64 */
        { "dn: x\nobjectSid:: \n", 2 },                         /* empty base64 */
        { "dn: x\nobjectSid:: QQ\n", 2 },                       /* short group */
        { "dn: x\nobjectSid:: QQ==QUFB\n", 2 },                 /* = inside */
        { "dn: x\nobjectSid:: =QQQ\n", 2 },
        { "dn: x\ncn: a\rb\n", 2 },                             /* stray CR */
        { "dn: x\nuserCertificate:< file:///etc/passwd\n", 2 }, /* URL refused */
        { " leading continuation\n", 1 },                       /* nothing to continue */
        { "dn: x\n\n continued after blank\n", 3 },             /* ditto */
        { "dn: x\r\ncn: a\r\ndn: y\r\n", 3 },                   /* CRLF; 2 dn: */
        { "dn: x\nchangetype: modify\nreplace: cn\n", 2 },      /* change records */
        { "dn: x\n: value\n", 2 },                              /* empty type */
        { "dn: x\ncn: a\n\n\n\ndn: y\nobjectClass: user\nsAMAccountName\n", 8 },
        { "dn: x\ncn: long\n  value\n\ndn: y\nbroken\n", 6 },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sm_dir *d = NULL;
        struct sm_errinfo e = { 0 };
        char want[32];
        int r = open_text(bad[i].text, strlen(bad[i].text), &d, &e);
        snprintf(want, sizeof(want), "line %lu: ", bad[i].line);
        if (r != -EINVAL || strncmp(e.text, want, strlen(want)) != 0)
            fail_msg("case %zu: %d \"%s\", expected -EINVAL at line %lu", i, r, e.text,
                     bad[i].line);
        assert_null(d);
    }
    /* a NUL byte */
    struct sm_dir *d = NULL;
    struct sm_errinfo e = { 0 };
    static const char nul[] = "dn: x\ncn: a\0b\n";
    assert_int_equal(open_text(nul, sizeof(nul) - 1, &d, &e), -EINVAL);
    assert_non_null(strstr(e.text, "line 2: NUL"));
}

static void test_ldif_forms(void **state)
{
    (void)state;
    /* CRLF, no final newline, continuation inside a DN and a value, base64 DN, comments
       between attributes, version line directly followed by a record, attribute options and
       odd case in attribute names, values with a leading colon or "<" in base64. */
    static const char text[] =
        "version: 1\r\n"
        "dn: CN=Ann,CN=Us\r\n"
        " ers,DC=ex,DC=test\r\n"
        "OBJECTCLASS: user\r\n"
        "# a comment\r\n"
        "samaccountname: a\r\n"
        " nn\r\n"
        "userPrincipalName;lang-en: ann@ex.test\r\n"
        "altSecurityIdentities:: OmNvbG9u\r\n" /* ":colon" */
        "\r\n"
        "dn:: Q049QmVuLENOPVVzZXJzLERDPWV4LERDPXRlc3Q=\r\n" /* CN=Ben,CN=Users,DC=ex,DC=test */
        "changetype: add\r\n"
        "objectClass: computer\r\n"
        "sAMAccountName: ben$\r\n"
        "userAccountControl: 8192";
    struct sm_dir *d = NULL;
    struct sm_errinfo e = { 0 };
    int r = open_text(text, strlen(text), &d, &e);
    if (r != 0)
        fail_msg("%d %s", r, e.text);
    assert_string_equal(d->base, "DC=ex,DC=test");
    struct sm_accounts *a = lookup(d, SM_LOOKUP_AUTO, "ann");
    assert_int_equal(a->n, 1);
    assert_string_equal(a->v[0].dn, "CN=Ann,CN=Users,DC=ex,DC=test");
    assert_string_equal(a->v[0].upn, "ann@ex.test");
    assert_int_equal(a->v[0].n_altsec, 1);
    assert_string_equal(a->v[0].altsec[0], ":colon");
    sm_accounts_free(a);
    a = lookup(d, SM_LOOKUP_AUTO, "ben$");
    assert_int_equal(a->n, 1);
    assert_string_equal(a->v[0].dn, "CN=Ben,CN=Users,DC=ex,DC=test");
    assert_true(a->v[0].is_computer);
    assert_int_equal(a->v[0].uac, SM_UAC_SERVER_TRUST);
    sm_accounts_free(a);
    sm_dir_close(d);

    /* empty file and comments only: no entries, no base */
    static const char *const empty[] = { "", "\n\n", "# only a comment\n", "version: 1\n" };
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        assert_int_equal(open_text(empty[i], strlen(empty[i]), &d, &e), 0);
        assert_null(d->base);
        assert_string_equal(found_dn(d, SM_LOOKUP_AUTO, "ann"), "");
        sm_dir_close(d);
    }
}

/* ---- conversion ------------------------------------------------------------------------------ */

struct conv_case {
    const char *when;
    long long created; /* -1: not accepted */
};

static void test_when_created(void **state)
{
    (void)state;
    static const struct conv_case cases[] = {
        { "20240101000000.0Z", JAN_1_2024 },
        { "20240101000000Z", JAN_1_2024 },
        { "202401010000Z", JAN_1_2024 },
        { "2024010100Z", JAN_1_2024 },
        { "20240101010000+0100", JAN_1_2024 },
        { "20231231230000-0100", JAN_1_2024 },
        { "20240101000000+01", JAN_1_2024 - 3600 },
        { "20240101000000.999Z", JAN_1_2024 },
        { "20240101003000,5-0030", JAN_1_2024 + 3600 },
        { "2024010100.5Z", JAN_1_2024 + 1800 },
        { "202401010000.5Z", JAN_1_2024 + 30 },
        { "20240229120000Z", 1709208000 },
        { "19700101000000Z", 0 },
        { "20300101000000.0Z", 1893456000 },
        { "20240101000000", -1 }, /* no time zone */
        { "20241301000000Z", -1 },
        { "20230229000000Z", -1 },
        { "20240101240000Z", -1 },
        { "20240101006000Z", -1 },
        { "2024010100000Z", -1 },
        { "20240101000000.Z", -1 },
        { "20240101000000Zjunk", -1 },
        { "20240101000000+2400", -1 },
        { "2024-01-01T00:00:00Z", -1 },
        { "2024", -1 },
    };
    struct su_buf b;
    arena_buf_init(&b, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        su_buf_printf(&b,
                      "dn: CN=t%zu,DC=x\nobjectClass: user\nsAMAccountName: t%zu\n"
                      "whenCreated: %s\n\n",
                      i, i, cases[i].when);
    struct sm_dir *d = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(open_text(b.p, b.len, &d, &e), 0);
    su_buf_release(&b);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[16];
        snprintf(name, sizeof(name), "t%zu", i);
        struct sm_accounts *a = lookup(d, SM_LOOKUP_SAM, name);
        assert_int_equal(a->n, 1);
        long long got = a->v[0].has_created ? (long long)a->v[0].created : -1;
        if (got != cases[i].created)
            fail_msg("whenCreated %s: %lld, expected %lld", cases[i].when, got, cases[i].created);
        sm_accounts_free(a);
    }
    sm_dir_close(d);
}

static void test_uac_and_strings(void **state)
{
    (void)state;
    static const struct {
        const char *uac;
        long long value; /* -1: not accepted */
        bool computer;
    } cases[] = {
        { "512", 512, false },
        { "-2147483136", 0x80000200, false }, /* AD's signed form */
        { "-2147483648", 0x80000000, false },
        { "-1", 0xffffffff, true },
        { "4294967295", 0xffffffff, true },
        { "4096", 4096, true }, /* a workstation trust without objectClass computer */
        { "8192", 8192, true },
        { "0", 0, false },
        { "4294967296", -1, false },
        { "-2147483649", -1, false },
        { "+512", -1, false },
        { "-", -1, false },
        { "512 ", -1, false },
        { "0x200", -1, false },
        { "00000000000512", -1, false },
    };
    struct su_buf b;
    arena_buf_init(&b, NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        su_buf_printf(&b,
                      "dn: CN=u%zu,DC=x\nobjectClass: user\nsAMAccountName: u%zu\n"
                      "userAccountControl: %s\n\n",
                      i, i, cases[i].uac);
    /* invalid UTF-8 and a NUL byte in values: U+FFFD; a malformed objectSid: no SID; second
       values of single-valued attributes: ignored */
    su_buf_puts(&b, "dn:: Q049YmFk/yxEQz14\n" /* "CN=bad\xff,DC=x" */
                    "objectClass: user\n"
                    "sAMAccountName: weird\n"
                    "sAMAccountName: second\n"
                    "userPrincipalName:: d2VpcmQA/0B4\n"     /* "weird\0\xff@x" */
                    "altSecurityIdentities:: WDUwOTo8Uz7/\n" /* "X509:<S>\xff" */
                    "objectSid:: AQUAAAAAAAUVAAAA\n");
    struct sm_dir *d = NULL;
    struct sm_errinfo e = { 0 };
    int r = open_text(b.p, b.len, &d, &e);
    su_buf_release(&b);
    if (r != 0)
        fail_msg("%d %s", r, e.text);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char name[16];
        snprintf(name, sizeof(name), "u%zu", i);
        struct sm_accounts *a = lookup(d, SM_LOOKUP_SAM, name);
        assert_int_equal(a->n, 1);
        long long got = a->v[0].has_uac ? (long long)a->v[0].uac : -1;
        if (got != cases[i].value || a->v[0].is_computer != cases[i].computer)
            fail_msg("userAccountControl %s: %lld computer %d", cases[i].uac, got,
                     a->v[0].is_computer);
        sm_accounts_free(a);
    }
    struct sm_accounts *a = lookup(d, SM_LOOKUP_SAM, "weird");
    assert_int_equal(a->n, 1);
    assert_string_equal(a->v[0].dn, "CN=bad\xef\xbf\xbd,DC=x");
    assert_string_equal(a->v[0].sam, "weird");
    assert_string_equal(a->v[0].upn, "weird\xef\xbf\xbd\xef\xbf\xbd@x");
    assert_string_equal(a->v[0].altsec[0], "X509:<S>\xef\xbf\xbd");
    assert_false(a->v[0].has_sid);
    assert_false(a->v[0].has_uac);
    assert_false(a->v[0].has_created);
    sm_accounts_free(a);
    assert_string_equal(found_dn(d, SM_LOOKUP_SAM, "second"), "CN=bad\xef\xbf\xbd,DC=x");
    sm_dir_close(d);
}

static void test_limit(void **state)
{
    (void)state;
    /* more than SM_MAX_ACCOUNTS accounts share a value: SM_E_DIR_LIMIT, never a partial list */
    struct su_buf b;
    arena_buf_init(&b, NULL);
    for (int i = 0; i < SM_MAX_ACCOUNTS + 1; i++)
        su_buf_printf(&b,
                      "dn: CN=c%d,DC=x\nobjectClass: user\nsAMAccountName: c%d\n"
                      "altSecurityIdentities: X509:<SKI>AA\n%s\n\n",
                      i, i, i < SM_MAX_ACCOUNTS ? "userPrincipalName: same@x" : "");
    struct sm_dir *d = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(open_text(b.p, b.len, &d, &e), 0);
    su_buf_release(&b);
    struct sm_dir_cache *c = sm_dir_cache_new(8, 60, 60);
    sm_dir_set_cache(d, c);
    struct sm_accounts *a = NULL;
    const char *v[] = { "X509:<SKI>AA" };
    assert_int_equal(sm_dir_find_altsec(d, v, 1, &a, &e), SM_E_DIR_LIMIT);
    assert_null(a);
    assert_non_null(strstr(e.text, "16"));
    a = lookup(d, SM_LOOKUP_UPN, "same@x"); /* exactly the limit */
    assert_int_equal(a->n, SM_MAX_ACCOUNTS);
    sm_accounts_free(a);
    struct sm_dir_cache_stats st;
    sm_dir_cache_stats(c, &st);
    assert_int_equal(st.insertions, 1); /* the error was not cached */
    sm_dir_close(d);
    sm_dir_cache_free(c);
}

/* ---- a fake backend: counts calls, answers by name ------------------------------------------ */

struct fake {
    struct sm_dir pub;
    int finds, reads;
    int along;             /* queries that read the NTAuth store along */
    int fail;              /* returned by find_eq when set ... */
    const char *fail_attr; /* ... for this attribute only, when set */
    int n_values;          /* altSecurityIdentities / userCertificate values emitted per entry */
};

static int fake_read(struct sm_dir *sd, const char *dn, struct raw_entries *out,
                     struct dir_store *store, struct sm_errinfo *reterr);

static int fake_find(struct sm_dir *sd, const char *attr, const struct sm_blob *values, size_t n,
                     struct raw_entries *out, struct dir_store *store, struct sm_errinfo *reterr)
{
    struct fake *f = (struct fake *)sd;
    char dn[600];
    int r;
    (void)n;
    f->finds++;
    f->along += store != NULL;
    if (f->fail && (!f->fail_attr || strcmp(attr, f->fail_attr) == 0)) {
        errinfo_set(reterr, -1, "fake failure");
        return f->fail;
    }
    if (values[0].len >= 6 && memcmp(values[0].data, "nobody", 6) == 0)
        return 0;
    snprintf(dn, sizeof(dn), "CN=%.*s,DC=fake", (int)values[0].len, (const char *)values[0].data);
    if ((r = raw_entry_begin(out, dn, strlen(dn))) < 0)
        return r;
    raw_value(out, "objectClass", "user", 4);
    raw_value(out, "sAMAccountName", values[0].data, values[0].len);
    raw_value(out, "SAMACCOUNTNAME", "second", 6); /* single-valued: ignored */
    raw_value(out, "description", "not kept", 8);
    for (int i = 0; i < f->n_values; i++) {
        raw_value(out, "altSecurityIdentities", "X509:<SKI>01", 12);
        raw_value(out, "userCertificate;binary", "\x30\x00", 2);
    }
    if (store)
        store->rc = fake_read(sd, sd->ntauth_dn, store->out, NULL, reterr);
    return 0;
}

static int fake_read(struct sm_dir *sd, const char *dn, struct raw_entries *out,
                     struct dir_store *store, struct sm_errinfo *reterr)
{
    struct fake *f = (struct fake *)sd;
    (void)reterr;
    f->reads++;
    f->along += store != NULL;
    int r = raw_entry_begin(out, dn, strlen(dn));
    if (r == 0)
        r = raw_value(out, "cACertificate", "\x30\x03\x02\x01\x01", 5);
    if (r == 0 && store)
        store->rc = fake_read(sd, sd->ntauth_dn, store->out, NULL, reterr);
    return r;
}

static int fake_ping(struct sm_dir *sd, struct sm_errinfo *reterr)
{
    (void)sd;
    errinfo_set(reterr, -1, "down");
    return SM_E_DIR_DOWN;
}

static void fake_free(struct sm_dir *sd)
{
    (void)sd; /* on the stack */
}

static const struct dir_ops fake_ops = {
    .kind = "fake", .find_eq = fake_find, .read_dn = fake_read, .ping = fake_ping, .free = fake_free
};

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    f->pub.ops = &fake_ops;
    f->pub.base = (char *)"DC=fake";
    f->pub.ntauth_dn = (char *)"CN=NTAuthCertificates,DC=fake";
}

/* The NTAuth store read along with a query: only when asked, only with a backend query. */
static void test_store_along(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    struct sm_dir_cache *c = sm_dir_cache_new(8, 60, 60);
    sm_dir_set_cache(&f.pub, c);
    struct sm_errinfo e = { 0 };
    struct sm_accounts *a = NULL;
    struct dir_along along = { .want_store = true };

    assert_int_equal(dir_lookup(&f.pub, SM_LOOKUP_SAM, "alice", &along, &a, &e), 0);
    assert_int_equal(a->n, 1);
    sm_accounts_free(a);
    assert_int_equal(f.finds, 1);
    assert_int_equal(f.along, 1);
    assert_true(along.asked);
    assert_false(along.want_store);
    assert_non_null(along.store);
    assert_int_equal(along.store->n, 1);
    assert_string_equal(along.store->v[0].dn, "CN=NTAuthCertificates,DC=fake");
    assert_int_equal(along.store->v[0].n_certs, 1);
    along.store = sm_accounts_free(along.store);

    /* answered by the cache: nothing reaches the backend, nothing is read along */
    along = (struct dir_along){ .want_store = true };
    assert_int_equal(dir_lookup(&f.pub, SM_LOOKUP_SAM, "alice", &along, &a, &e), 0);
    sm_accounts_free(a);
    assert_int_equal(f.finds, 1);
    assert_false(along.asked);
    assert_true(along.want_store);
    assert_null(along.store);

    /* not wanted: the query alone; the altSecurityIdentities search takes it along too */
    along = (struct dir_along){ 0 };
    assert_int_equal(dir_lookup(&f.pub, SM_LOOKUP_SAM, "bob", &along, &a, &e), 0);
    sm_accounts_free(a);
    assert_int_equal(f.along, 1);
    assert_true(along.asked);
    along = (struct dir_along){ .want_store = true };
    const char *v[] = { "X509:<SKI>01" };
    assert_int_equal(dir_find_altsec(&f.pub, v, 1, &along, &a, &e), 0);
    sm_accounts_free(a);
    assert_int_equal(f.along, 2);
    assert_non_null(along.store);
    sm_accounts_free(along.store);

    /* the store's own read never comes from the lookup cache */
    int reads = f.reads;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(dir_ntauth_read(&f.pub, &a, &e), 0);
        assert_int_equal(a->n, 1);
        sm_accounts_free(a);
    }
    assert_int_equal(f.reads, reads + 2);
    sm_dir_cache_free(c);
}

static void test_raw_limits(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    f.n_values = 100;
    struct sm_accounts *a = lookup(&f.pub, SM_LOOKUP_SAM, "alice");
    assert_int_equal(a->n, 1);
    assert_string_equal(a->v[0].sam, "alice");
    assert_int_equal(a->v[0].n_altsec, SM_MAX_ALTSEC);
    assert_int_equal(a->v[0].n_certs, SM_MAX_USERCERTS);
    sm_accounts_free(a);

    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_dir_ntauth(&f.pub, &a, &e), 0);
    assert_int_equal(a->n, 1);
    assert_string_equal(a->v[0].dn, "CN=NTAuthCertificates,DC=fake");
    assert_int_equal(a->v[0].n_certs, 1);
    assert_int_equal(a->v[0].certs[0].len, 5);
    sm_accounts_free(a);
    /* read by DN: the entry has no objectClass user/computer, so it is no account */
    assert_string_equal(found_dn(&f.pub, SM_LOOKUP_DN, "CN=x,DC=fake"), "");

    assert_int_equal(sm_dir_ping(&f.pub, &e), SM_E_DIR_DOWN);
    f.fail = SM_E_DIR_DOWN;
    a = NULL;
    assert_int_equal(sm_dir_lookup(&f.pub, SM_LOOKUP_AUTO, "alice", &a, &e), SM_E_DIR_DOWN);
    assert_null(a);
    assert_string_equal(e.text, "fake failure");
    assert_string_equal(sm_dir_kind(&f.pub), "fake");

    /* a dotted name: no dNSHostName, then the sAMAccountName search fails; *ret untouched */
    f.fail_attr = "sAMAccountName";
    struct sm_accounts sentinel = { 0 };
    a = &sentinel;
    assert_int_equal(sm_dir_lookup(&f.pub, SM_LOOKUP_AUTO, "nobody.example.com", &a, &e),
                     SM_E_DIR_DOWN);
    assert_ptr_equal(a, &sentinel);
    assert_int_equal(f.finds, 4);
    sm_dir_close(&f.pub);
}

/* A backend that emits @count entries with a value of @vlen bytes. */
struct bulk {
    struct sm_dir pub;
    int count;
    size_t vlen;
    int last_rc;
};

static int bulk_find(struct sm_dir *sd, const char *attr, const struct sm_blob *values, size_t n,
                     struct raw_entries *out, struct dir_store *store, struct sm_errinfo *reterr)
{
    struct bulk *b = (struct bulk *)sd;
    (void)store;
    static uint8_t big[64 * 1024 + 1];
    (void)attr, (void)values, (void)n, (void)reterr;
    memset(big, '0', sizeof(big));
    b->last_rc = 0;
    for (int i = 0; i < b->count; i++) {
        char dn[32];
        snprintf(dn, sizeof(dn), "CN=b%d", i);
        if ((b->last_rc = raw_entry_begin(out, dn, strlen(dn))) < 0)
            return b->last_rc;
        raw_value(out, "objectClass", "user", 4);
        raw_value(out, "userCertificate", big, b->vlen);
    }
    return 0;
}

static const struct dir_ops bulk_ops = {
    .kind = "bulk", .find_eq = bulk_find, .read_dn = fake_read, .ping = fake_ping, .free = fake_free
};

static void test_collector(void **state)
{
    (void)state;
    struct bulk b = { .pub.ops = &bulk_ops, .count = SM_MAX_ACCOUNTS, .vlen = 64 * 1024 };
    struct sm_accounts *a = lookup(&b.pub, SM_LOOKUP_SAM, "x");
    assert_int_equal(a->n, SM_MAX_ACCOUNTS);
    assert_int_equal(a->v[0].n_certs, 1); /* 64 KiB: kept */
    sm_accounts_free(a);
    b.vlen++;
    a = lookup(&b.pub, SM_LOOKUP_SAM, "x");
    assert_int_equal(a->v[0].n_certs, 0); /* larger: dropped */
    sm_accounts_free(a);
    b.count++;
    struct sm_errinfo e = { 0 };
    a = NULL;
    assert_int_equal(sm_dir_lookup(&b.pub, SM_LOOKUP_SAM, "x", &a, &e), SM_E_DIR_LIMIT);
    assert_int_equal(b.last_rc, SM_E_DIR_LIMIT);
    assert_null(a);
}

/* ---- the cache ------------------------------------------------------------------------------ */

static void assert_same_account(const struct sm_account *x, const struct sm_account *y)
{
    assert_string_equal(x->dn, y->dn);
    assert_string_equal(x->sam, y->sam);
    assert_true((x->upn == NULL) == (y->upn == NULL));
    if (x->upn)
        assert_string_equal(x->upn, y->upn);
    assert_int_equal(x->has_sid, y->has_sid);
    assert_true(sm_sid_equal(&x->sid, &y->sid));
    assert_int_equal(x->created, y->created);
    assert_int_equal(x->uac, y->uac);
    assert_int_equal(x->is_computer, y->is_computer);
    assert_int_equal(x->n_altsec, y->n_altsec);
    for (size_t i = 0; i < x->n_altsec; i++)
        assert_string_equal(x->altsec[i], y->altsec[i]);
    assert_int_equal(x->n_certs, y->n_certs);
    for (size_t i = 0; i < x->n_certs; i++) {
        assert_int_equal(x->certs[i].len, y->certs[i].len);
        assert_memory_equal(x->certs[i].data, y->certs[i].data, x->certs[i].len);
    }
}

static void stats(struct sm_dir_cache *c, uint64_t hits, uint64_t misses, uint64_t insertions,
                  uint64_t evictions, uint64_t expirations, size_t entries)
{
    struct sm_dir_cache_stats st;
    sm_dir_cache_stats(c, &st);
    if (st.hits != hits || st.misses != misses || st.insertions != insertions ||
        st.evictions != evictions || st.expirations != expirations || st.entries != entries)
        fail_msg("stats hits %llu misses %llu insertions %llu evictions %llu expirations %llu "
                 "entries %zu",
                 (unsigned long long)st.hits, (unsigned long long)st.misses,
                 (unsigned long long)st.insertions, (unsigned long long)st.evictions,
                 (unsigned long long)st.expirations, st.entries);
}

static void test_cache_ldif(void **state)
{
    struct sm_dir *d = *state;
    struct sm_dir_cache *c = sm_dir_cache_new(16, 60, 60);
    assert_non_null(c);
    sm_dir_set_cache(d, c);

    struct sm_accounts *a1 = lookup(d, SM_LOOKUP_AUTO, "dave");
    stats(c, 0, 1, 1, 0, 0, 1);
    struct sm_accounts *a2 = lookup(d, SM_LOOKUP_AUTO, "DAVE"); /* case folded in the key */
    stats(c, 1, 1, 1, 0, 0, 1);
    assert_int_equal(a1->n, 1);
    assert_int_equal(a2->n, 1);
    assert_ptr_not_equal(a1->v, a2->v);
    assert_same_account(&a1->v[0], &a2->v[0]);
    sm_accounts_free(a1);
    sm_accounts_free(a2);

    /* the NTAuth store and altSecurityIdentities searches go through the cache too */
    struct sm_errinfo e = { 0 };
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sm_dir_ntauth(d, &a1, &e), 0);
        assert_int_equal(a1->v[0].n_certs, 1);
        sm_accounts_free(a1);
    }
    stats(c, 2, 2, 2, 0, 0, 2);
    /* a DN read of the same store is a separate conversion of the same cached entry */
    assert_string_equal(found_dn(d, SM_LOOKUP_DN, d->ntauth_dn), "");
    stats(c, 3, 2, 2, 0, 0, 2);

    sm_dir_cache_clear(c);
    stats(c, 3, 2, 2, 0, 0, 0);
    sm_dir_set_cache(d, NULL);
    sm_dir_cache_free(c);
}

static void test_cache_hits_need_no_backend(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    struct sm_dir_cache *c = sm_dir_cache_new(16, 60, 60);
    sm_dir_set_cache(&f.pub, c);

    struct sm_accounts *a1 = lookup(&f.pub, SM_LOOKUP_SAM, "alice");
    struct sm_accounts *a2 = lookup(&f.pub, SM_LOOKUP_SAM, "EXAMPLE\\alice");
    assert_int_equal(f.finds, 1);
    assert_same_account(&a1->v[0], &a2->v[0]);
    sm_accounts_free(a1);
    sm_accounts_free(a2);
    /* other kinds of the same name are other queries */
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_UPN, "alice"));
    assert_int_equal(f.finds, 2);

    /* negative results */
    for (int i = 0; i < 3; i++) {
        a1 = lookup(&f.pub, SM_LOOKUP_SAM, "nobody");
        assert_int_equal(a1->n, 0);
        sm_accounts_free(a1);
    }
    assert_int_equal(f.finds, 3);
    stats(c, 3, 3, 3, 0, 0, 3);

    /* errors are not cached */
    f.fail = SM_E_DIR_DOWN;
    struct sm_errinfo e = { 0 };
    for (int i = 0; i < 2; i++) {
        a1 = NULL;
        assert_int_equal(sm_dir_lookup(&f.pub, SM_LOOKUP_SAM, "carol", &a1, &e), SM_E_DIR_DOWN);
        assert_null(a1);
    }
    assert_int_equal(f.finds, 5);
    stats(c, 3, 5, 3, 0, 0, 3);
    /* ... while cached answers still come while the directory is down */
    a1 = lookup(&f.pub, SM_LOOKUP_SAM, "alice");
    assert_int_equal(a1->n, 1);
    sm_accounts_free(a1);
    assert_int_equal(f.finds, 5);
    sm_dir_cache_free(c);
}

static void test_cache_negative_ttl(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    struct sm_dir_cache *c = sm_dir_cache_new(16, 60, 0); /* negative results not cached */
    sm_dir_set_cache(&f.pub, c);
    for (int i = 0; i < 2; i++) {
        sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "nobody"));
        sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "alice"));
    }
    assert_int_equal(f.finds, 3);
    stats(c, 1, 3, 1, 0, 0, 1);
    sm_dir_cache_free(c);

    c = sm_dir_cache_new(16, 0, 60); /* only negative results cached */
    sm_dir_set_cache(&f.pub, c);
    f.finds = 0;
    for (int i = 0; i < 2; i++) {
        sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "nobody"));
        sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "alice"));
    }
    assert_int_equal(f.finds, 3);
    sm_dir_cache_free(c);
}

static void test_cache_ttl(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    struct sm_dir_cache *c = sm_dir_cache_new(16, 1, 1);
    sm_dir_set_cache(&f.pub, c);
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "alice"));
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "nobody"));
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "alice"));
    stats(c, 1, 2, 2, 0, 0, 2);
    usleep(1100 * 1000);
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "alice"));
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "nobody"));
    assert_int_equal(f.finds, 4);
    stats(c, 1, 4, 4, 0, 2, 2);
    sm_dir_cache_free(c);
}

static void test_cache_lru(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    struct sm_dir_cache *c = sm_dir_cache_new(2, 60, 60);
    sm_dir_set_cache(&f.pub, c);
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "a"));
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "b"));
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "a")); /* a is now the most recent */
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "c")); /* evicts b */
    stats(c, 1, 3, 3, 1, 0, 2);
    assert_int_equal(f.finds, 3);
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "a"));
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "c"));
    assert_int_equal(f.finds, 3);
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "b")); /* gone: asked again, evicts a */
    assert_int_equal(f.finds, 4);
    stats(c, 3, 4, 4, 2, 0, 2);
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "a"));
    assert_int_equal(f.finds, 5);
    sm_dir_cache_free(c);
}

static void test_cache_disabled(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    struct sm_dir_cache *c = sm_dir_cache_new(0, 60, 60);
    assert_non_null(c);
    sm_dir_set_cache(&f.pub, c);
    for (int i = 0; i < 3; i++)
        sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "alice"));
    assert_int_equal(f.finds, 3);
    stats(c, 0, 0, 0, 0, 0, 0);
    sm_dir_cache_clear(c);
    sm_dir_cache_free(c);

    /* no cache at all */
    sm_dir_set_cache(&f.pub, NULL);
    sm_accounts_free(lookup(&f.pub, SM_LOOKUP_SAM, "alice"));
    assert_int_equal(f.finds, 4);
    struct sm_dir_cache_stats st;
    sm_dir_cache_stats(NULL, &st);
    assert_int_equal(st.entries, 0);
    sm_dir_cache_clear(NULL);
    assert_null(sm_dir_cache_free(NULL));
}

/* Several threads, each with its own handle, share one small cache. */
struct worker {
    struct sm_dir_cache *c;
    int id, failures;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    struct fake f;
    fake_init(&f);
    sm_dir_set_cache(&f.pub, w->c);
    for (int i = 0; i < 2000; i++) {
        char name[16];
        struct sm_accounts *a = NULL;
        struct sm_errinfo e;
        snprintf(name, sizeof(name), "user%d", (i * 7 + w->id) % 40);
        if (sm_dir_lookup(&f.pub, SM_LOOKUP_SAM, name, &a, &e) != 0 || a->n != 1 ||
            strcmp(a->v[0].sam, name) != 0)
            w->failures++;
        sm_accounts_free(a);
    }
    return NULL;
}

static void test_cache_threads(void **state)
{
    (void)state;
    struct sm_dir_cache *c = sm_dir_cache_new(16, 60, 60);
    pthread_t t[4];
    struct worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct worker){ c, i, 0 };
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    struct sm_dir_cache_stats st;
    sm_dir_cache_stats(c, &st);
    assert_int_equal(st.hits + st.misses, 4 * 2000);
    assert_true(st.entries <= 16);
    assert_true(st.insertions >= st.entries);
    sm_dir_cache_free(c);
}

/* ---- small things --------------------------------------------------------------------------- */

/*
 * A client-supplied DN outside the directory's base is refused, even when the entry exists
 * (issue: GET /v1/accounts/<DN outside the base> returned that object's data); inside the base
 * the DN's case and spacing do not matter.
 */
static void test_dn_outside_base(void **state)
{
    (void)state;
    static const char ldif[] = "dn: dc=example,dc=com\nobjectClass: domain\ndc: example\n\n"
                               "dn: cn=in,dc=example,dc=com\nobjectClass: user\ncn: in\n"
                               "sAMAccountName: in\n\n"
                               "dn: cn=out,o=elsewhere\nobjectClass: user\ncn: out\n"
                               "sAMAccountName: out\n\n"
                               "dn: cn=sneaky,dc=example,dc=com,o=elsewhere\nobjectClass: user\n"
                               "cn: sneaky\nsAMAccountName: sneaky\n";
    struct sm_dir *d = NULL;
    struct sm_errinfo e = { 0 };
    struct sm_accounts *a = NULL;
    assert_int_equal(open_text(ldif, sizeof(ldif) - 1, &d, &e), 0);
    assert_string_equal(found_dn(d, SM_LOOKUP_DN, "cn=in,dc=example,dc=com"),
                        "cn=in,dc=example,dc=com");
    assert_string_equal(found_dn(d, SM_LOOKUP_DN, "CN=in, DC=Example, DC=COM"),
                        "cn=in,dc=example,dc=com");
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_DN, "cn=out,o=elsewhere", &a, &e), -EPERM);
    assert_non_null(strstr(e.text, "base"));
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_AUTO, "cn=out,o=elsewhere", &a, &e), -EPERM);
    assert_int_equal(
        sm_dir_lookup(d, SM_LOOKUP_DN, "cn=sneaky,dc=example,dc=com,o=elsewhere", &a, &e), -EPERM);
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_DN, "cn=config", &a, &e), -EPERM);
    assert_int_equal(sm_dir_lookup(d, SM_LOOKUP_DN, "cn=a,,dc=example,dc=com", &a, &e), -EINVAL);
    assert_null(a);
    sm_dir_close(d);
}

static void test_misc(void **state)
{
    (void)state;
    assert_null(sm_accounts_free(NULL));
    assert_null(sm_dir_close(NULL));
    assert_string_equal(sm_dir_kind(NULL), "none");
    assert_string_equal(sm_lookup_name(SM_LOOKUP_AUTO), "auto");
    assert_string_equal(sm_lookup_name(SM_LOOKUP_UPN), "upn");
    assert_string_equal(sm_lookup_name(SM_LOOKUP_SAM), "sam");
    assert_string_equal(sm_lookup_name(SM_LOOKUP_SID), "sid");
    assert_string_equal(sm_lookup_name(SM_LOOKUP_DNS_HOST), "dns_host");
    assert_string_equal(sm_lookup_name(SM_LOOKUP_DN), "dn");
    assert_string_equal(sm_lookup_name((enum sm_lookup)42), "unknown");
    struct sm_accounts *a = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_dir_ntauth(NULL, &a, &e), -EINVAL);
    assert_int_equal(sm_dir_ping(NULL, &e), -EINVAL);
    assert_int_equal(sm_dir_find_altsec(NULL, NULL, 0, &a, &e), -EINVAL);
    assert_null(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_account_fields, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_user_certificate, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_auto, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_explicit_kinds, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_not_accounts, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_hostile_names, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_invalid_names, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_altsec, setup_dir, teardown_dir),
        cmocka_unit_test_setup_teardown(test_ntauth, setup_dir, teardown_dir),
        cmocka_unit_test(test_ldif_syntax_error_file),
        cmocka_unit_test(test_ldif_syntax_errors),
        cmocka_unit_test(test_ldif_forms),
        cmocka_unit_test(test_when_created),
        cmocka_unit_test(test_uac_and_strings),
        cmocka_unit_test(test_limit),
        cmocka_unit_test(test_store_along),
        cmocka_unit_test(test_raw_limits),
        cmocka_unit_test(test_collector),
        cmocka_unit_test_setup_teardown(test_cache_ldif, setup_dir, teardown_dir),
        cmocka_unit_test(test_cache_hits_need_no_backend),
        cmocka_unit_test(test_cache_negative_ttl),
        cmocka_unit_test(test_cache_ttl),
        cmocka_unit_test(test_cache_lru),
        cmocka_unit_test(test_cache_disabled),
        cmocka_unit_test(test_cache_threads),
        cmocka_unit_test(test_dn_outside_base),
        cmocka_unit_test(test_misc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

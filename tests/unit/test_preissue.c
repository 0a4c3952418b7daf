/*
 * tests/unit/test_preissue.c - the issuance plan (lib/preissue.c) for the requests of
 * tests/data/csr against the verdict tests' directory (tests/data/dir/verdict.ldif.in: alice
 * 1105, bob 1106 disabled, mallory 1300, ws01$ 1200; its NTAuth store holds the issuing CA).
 * Each security finding, the material, the changes and the predicted outcomes as requested and
 * as issued; the end-to-end loop with a real CA is tests/cli/test_cli.py's.
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

#include <strongmap/strongmap.h>

#include "util.h" /* su_buf_base64 for the directory's binary values */

#define SID_1105 "S-1-5-21-1004336348-1177238915-682003330-1105"
#define SID_1300 "S-1-5-21-1004336348-1177238915-682003330-1300"
#define AT       1780272000 /* 2026-06-01T00:00:00Z, as tests/unit/test_verdict.c */

static char ldif_path[256];
static struct sm_dir *dir;
static struct sm_certs *issuing_ca, *root_ca;

static char *slurp(const char *rel, size_t *len)
{
    const char *base = getenv("SM_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", base ? base : "tests/data", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static struct sm_certs *load_cert(const char *rel)
{
    size_t len;
    char *pem = slurp(rel, &len);
    struct sm_certs *c = NULL;
    struct sm_errinfo e;
    assert_int_equal(sm_certs_parse(pem, len, NULL, &c, &e), 0);
    free(pem);
    return c;
}

/* @text with @key replaced by @value (the first occurrence); frees @text. */
static char *replace(char *text, const char *key, const char *value)
{
    char *at = strstr(text, key);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(key) + strlen(value) + 1;
    char *out = malloc(n);
    assert_non_null(out);
    snprintf(out, n, "%.*s%s%s", (int)(at - text), text, value, at + strlen(key));
    free(text);
    return out;
}

static char *cert_b64(const struct sm_certs *c)
{
    struct su_buf b;
    arena_buf_init(&b, NULL);
    su_buf_base64(&b, c->certs[0].der, c->certs[0].der_len);
    char *s = strdup(su_buf_str(&b));
    su_buf_release(&b);
    return s;
}

static int setup(void **state)
{
    (void)state;
    size_t len, n1, n2;
    char *ldif = slurp("dir/verdict.ldif.in", &len);
    struct sm_certs *up = load_cert("certs/upn_only.pem");
    char *k1 = slurp("verdict/whfb_keycred_bcrypt.txt", &n1);
    char *k2 = slurp("verdict/whfb_keycred_spki.txt", &n2);
    issuing_ca = load_cert("certs/issuing_ca.pem");
    root_ca = load_cert("certs/root_ca.pem");
    char *ca64 = cert_b64(issuing_ca), *up64 = cert_b64(up);
    k1[strcspn(k1, "\n")] = '\0';
    k2[strcspn(k2, "\n")] = '\0';
    ldif = replace(ldif, "@ISSUING_CA@", ca64);
    ldif = replace(ldif, "@USERCERT_UPN_ONLY@", up64);
    ldif = replace(ldif, "@KEYCRED_BCRYPT@", k1);
    ldif = replace(ldif, "@KEYCRED_SPKI@", k2);
    snprintf(ldif_path, sizeof(ldif_path), "/tmp/sm-preissue-%ld.ldif", (long)getpid());
    FILE *f = fopen(ldif_path, "w");
    assert_non_null(f);
    fputs(ldif, f);
    fclose(f);
    free(ldif);
    free(ca64);
    free(up64);
    free(k1);
    free(k2);
    sm_certs_free(up);
    struct sm_errinfo e = { 0 };
    if (sm_dir_open_ldif(ldif_path, &dir, &e) != 0)
        fail_msg("ldif: %s", e.text);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sm_dir_close(dir);
    sm_certs_free(issuing_ca);
    sm_certs_free(root_ca);
    unlink(ldif_path);
    return 0;
}

static struct sm_csr *load_csr(const char *name)
{
    char rel[256];
    size_t len;
    snprintf(rel, sizeof(rel), "csr/%s", name);
    char *buf = slurp(rel, &len);
    struct sm_csr *c = NULL;
    struct sm_errinfo e = { 0 };
    if (sm_csr_parse(buf, len, &c, &e) != 0)
        fail_msg("%s: %s", name, e.text);
    free(buf);
    return c;
}

static const struct sm_profile *fleet(size_t *n)
{
    static struct sm_profile p[4];
    const char *names[] = { "windows-2016", "windows-2019", "windows-2022", "samba" };
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(sm_profile_parse(names[i], &p[i], NULL), 0);
    *n = 4;
    return p;
}

/* The plan of fixture @csr_name for @account on the four profiles, issued by @issuer. */
static struct sm_preissue *plan(const char *csr_name, const char *account,
                                const struct sm_cert *issuer, struct sm_csr **csr)
{
    size_t n;
    const struct sm_profile *p = fleet(&n);
    *csr = load_csr(csr_name);
    struct sm_preissue_input in = {
        .request = (*csr)->request,
        .csr = *csr,
        .account = account,
        .profiles = p,
        .n_profiles = n,
        .at = AT,
        .issuer = issuer,
    };
    struct sm_preissue *pl = NULL;
    struct sm_errinfo e = { 0 };
    if (sm_preissue_plan(dir, &in, &pl, &e) != 0)
        fail_msg("%s: %s", csr_name, e.text);
    assert_non_null(pl);
    return pl;
}

static bool has_change(const struct sm_preissue *p, bool add, const char *what, const char *value)
{
    for (size_t i = 0; i < p->n_changes; i++)
        if (p->changes[i].add == add && strcmp(p->changes[i].what, what) == 0 &&
            (!value || strcmp(p->changes[i].value, value) == 0))
            return true;
    return false;
}

static const struct sm_finding *finding(const struct sm_preissue *p, const char *code)
{
    for (size_t i = 0; i < p->findings.n; i++)
        if (strcmp(p->findings.v[i].code, code) == 0)
            return &p->findings.v[i];
    return NULL;
}

static void assert_all_allow(const struct sm_verdict *v)
{
    assert_non_null(v);
    for (size_t i = 0; i < v->n_profiles; i++)
        if (!v->profiles[i].allow)
            fail_msg("%s denies (%d, %s)", sm_profile_name(v->profiles[i].profile.kind),
                     v->profiles[i].kdc_error.code,
                     v->profiles[i].n_reasons ? v->profiles[i].reasons[0].code : "-");
    assert_true(v->allow);
}

static void test_add_sid(void **state)
{
    (void)state;
    struct sm_csr *csr;
    struct sm_preissue *p = plan("rsa_upn.pem", "alice", &issuing_ca->certs[0], &csr);
    assert_false(p->refuse);
    assert_true(p->signature_verified);
    assert_string_equal(p->account->sam, "alice");
    /* as requested: a UPN only, a weak mapping: full enforcement denies with event 39 */
    assert_false(p->allow_as_requested);
    assert_int_equal(p->as_requested->profiles[2].kdc_error.code, 66);
    assert_int_equal(p->as_requested->profiles[2].event.id, 39);
    /* as issued: the SID extension and URI: every profile allows, strongly */
    assert_true(p->allow_as_issued);
    assert_all_allow(p->as_issued);
    assert_string_equal(p->as_issued->profiles[0].mapping_method, "sid_extension");
    assert_true(has_change(p, true, "sid_extension", SID_1105));
    assert_true(has_change(p, true, "san_uri", SM_SID_URI_PREFIX SID_1105));
    assert_false(has_change(p, true, "san_upn", NULL));
    /* the material: the DER MS-WCCE describes, as `strongmap sid extension` makes it */
    struct sm_sid sid;
    uint8_t der[256];
    assert_int_equal(sm_sid_parse(SID_1105, strlen(SID_1105), &sid, NULL, NULL), 0);
    long n = sm_sid_extension_der(&sid, der, sizeof(der));
    assert_true(n > 0);
    char hex[512];
    for (long i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02X", der[i]);
    assert_string_equal(p->sid_extension_der_hex, hex);
    assert_string_equal(p->sid, SID_1105);
    assert_string_equal(p->upn, "alice@example.com");
    /* the issued facts carry both, and the request's UPN first */
    assert_int_equal(p->issued->sid.extension.status, SM_SID_VALID);
    assert_int_equal(p->issued->sid.uri.status, SM_SID_VALID);
    assert_int_equal(p->issued->san[0].type, SM_SAN_UPN);
    assert_string_equal(p->issued->issuer.ad, "DC=com,DC=example,CN=Example Issuing CA");
    assert_int_equal(p->issued->der_len, 0);
    /* frank's X509IssuerSID names alice's SID and this CA: the certificate logs on as frank
       too (strong); mallory's X509IssuerSubject names its issuer and subject (weak) */
    const struct sm_finding *f = finding(p, "mapping_other_account");
    assert_non_null(f);
    assert_int_equal(f->severity, SM_SEV_WARNING);
    size_t frank = 0, mallory = 0;
    for (size_t i = 0; i < p->findings.n; i++) {
        const char *m = p->findings.v[i].message;
        frank += strncmp(m, "frank holds", 11) == 0 && strstr(m, "X509IssuerSID, strong");
        mallory += strncmp(m, "mallory holds", 13) == 0 && strstr(m, "X509IssuerSubject, weak");
    }
    assert_int_equal(frank, 1);
    assert_int_equal(mallory, 1);
    sm_preissue_free(p);
    sm_csr_free(csr);
}

static void test_right_sid_kept(void **state)
{
    (void)state;
    struct sm_csr *csr;
    struct sm_preissue *p = plan("ec_upn_sid.pem", "alice", NULL, &csr);
    assert_false(p->refuse);
    assert_true(p->allow_as_requested); /* the request already carries alice's SID */
    assert_false(has_change(p, true, "sid_extension", NULL));
    assert_false(has_change(p, false, "sid_extension", NULL));
    assert_true(has_change(p, true, "san_uri", NULL));
    /* without the CA, NTAuth is not checked, and the verdict says so */
    bool said = false;
    for (size_t i = 0; i < p->as_issued->n_reasons; i++)
        said |= strcmp(p->as_issued->reasons[i].code, "issuer_not_known") == 0;
    assert_true(said);
    sm_preissue_free(p);
    sm_csr_free(csr);
}

static void test_sid_of_another_account(void **state)
{
    (void)state;
    struct sm_csr *csr;
    struct sm_preissue *p = plan("sid_other.pem", "alice", NULL, &csr);
    const struct sm_finding *f = finding(p, "sid_other_account");
    assert_true(p->refuse);
    assert_non_null(f);
    assert_int_equal(f->severity, SM_SEV_ERROR);
    assert_non_null(strstr(f->message, "mallory"));
    assert_non_null(strstr(f->message, SID_1300));
    assert_true(has_change(p, false, "sid_extension", SID_1300));
    assert_true(has_change(p, true, "sid_extension", SID_1105));
    /* as requested, Windows sees another account's SID: event 41 */
    assert_int_equal(p->as_requested->profiles[2].event.id, 41);
    assert_all_allow(p->as_issued);
    sm_preissue_free(p);
    sm_csr_free(csr);

    p = plan("sid_uri_other.pem", "alice", NULL, &csr);
    assert_true(p->refuse);
    assert_non_null(finding(p, "sid_other_account"));
    assert_true(has_change(p, false, "san_uri", SM_SID_URI_PREFIX SID_1300));
    for (size_t i = 0; i < p->issued->n_san; i++)
        assert_null(strstr(p->issued->san[i].value, "-1300"));
    sm_preissue_free(p);
    sm_csr_free(csr);
}

static void test_upn_and_dns_of_another_account(void **state)
{
    (void)state;
    struct sm_csr *csr;
    struct sm_preissue *p = plan("upn_other.pem", "alice", NULL, &csr);
    const struct sm_finding *f = finding(p, "upn_other_account");
    assert_true(p->refuse);
    assert_non_null(f);
    assert_non_null(strstr(f->message, "mallory"));
    assert_true(has_change(p, false, "san_upn", "mallory@example.com"));
    assert_true(has_change(p, true, "san_upn", "alice@example.com"));
    assert_string_equal(p->issued->san[0].value, "alice@example.com");
    sm_preissue_free(p);
    sm_csr_free(csr);

    p = plan("dns_other.pem", "alice", NULL, &csr);
    f = finding(p, "dns_other_account");
    assert_true(p->refuse);
    assert_non_null(f);
    assert_non_null(strstr(f->message, "ws01$"));
    assert_true(has_change(p, false, "san_dns", "ws01.example.com"));
    sm_preissue_free(p);
    sm_csr_free(csr);
}

static void test_malformed_sid(void **state)
{
    (void)state;
    struct sm_csr *csr;
    struct sm_preissue *p = plan("sid_malformed.pem", "alice", NULL, &csr);
    assert_true(p->refuse);
    assert_non_null(finding(p, "sid_extension_malformed"));
    /* Windows fails the logon with KRB_ERR_GENERIC (60); Samba ignores the extension */
    assert_int_equal(p->as_requested->profiles[2].kdc_error.code, 60);
    assert_int_equal(p->as_requested->profiles[2].event.id, 0);
    assert_true(has_change(p, false, "sid_extension", NULL));
    assert_all_allow(p->as_issued);
    sm_preissue_free(p);
    sm_csr_free(csr);
}

static void test_disabled_and_missing_account(void **state)
{
    (void)state;
    struct sm_csr *csr;
    struct sm_preissue *p = plan("disabled_bob.pem", "bob", NULL, &csr);
    assert_true(p->refuse);
    assert_non_null(finding(p, "account_disabled"));
    assert_false(p->allow_as_issued);
    assert_int_equal(p->as_issued->profiles[0].kdc_error.code, 18);
    sm_preissue_free(p);
    sm_csr_free(csr);

    p = plan("rsa_upn.pem", "nobody-here", NULL, &csr);
    assert_true(p->refuse);
    assert_null(p->account);
    assert_null(p->as_issued);
    assert_non_null(finding(p, "account_not_found"));
    char *json = NULL;
    assert_int_equal(sm_json_preissue(p, 0, &json), 0);
    assert_non_null(strstr(json, "\"account\":null"));
    free(json);
    sm_preissue_free(p);
    sm_csr_free(csr);
}

static void test_computer(void **state)
{
    (void)state;
    struct sm_csr *csr;
    struct sm_preissue *p = plan("computer.pem", "ws01$", &issuing_ca->certs[0], &csr);
    assert_false(p->refuse);
    assert_string_equal(p->dns, "ws01.example.com");
    assert_string_equal(p->upn, "ws01$@example.com");     /* for the Samba profile */
    assert_int_equal(p->issued->san[0].type, SM_SAN_UPN); /* a Samba profile is in the fleet */
    assert_string_equal(p->issued->san[0].value, "ws01$@example.com");
    assert_int_equal(p->issued->san[1].type, SM_SAN_DNS);
    assert_false(has_change(p, true, "san_dns", NULL)); /* the request had it */
    assert_all_allow(p->as_issued);
    sm_preissue_free(p);
    sm_csr_free(csr);
}

/* Without a Samba profile a computer needs no UPN: the material names none. */
static void test_computer_windows_only(void **state)
{
    (void)state;
    struct sm_csr *csr = load_csr("computer.pem");
    struct sm_preissue_input in = { .request = csr->request, .account = "ws01$", .at = AT };
    struct sm_preissue *p = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_preissue_plan(dir, &in, &p, &e), 0);
    assert_null(p->upn);
    assert_string_equal(p->dns, "ws01.example.com");
    for (size_t i = 0; i < p->issued->n_san; i++)
        assert_int_not_equal(p->issued->san[i].type, SM_SAN_UPN);
    assert_all_allow(p->as_issued);
    sm_preissue_free(p);
    sm_csr_free(csr);
}

static void test_issuer_not_in_ntauth(void **state)
{
    (void)state;
    struct sm_csr *csr;
    struct sm_preissue *p = plan("rsa_upn.pem", "alice", &root_ca->certs[0], &csr);
    assert_false(p->allow_as_issued);
    assert_int_equal(p->as_issued->profiles[2].kdc_error.code, 62);
    assert_true(p->as_issued->profiles[3].allow); /* Samba has no NTAuth store */
    sm_preissue_free(p);
    sm_csr_free(csr);
}

static void test_ed25519(void **state)
{
    (void)state;
    struct sm_csr *csr;
    struct sm_preissue *p = plan("ed25519.pem", "alice", NULL, &csr);
    assert_true(p->signature_verified); /* Nettle's Ed25519 (lib/cert_sig.c) */
    assert_null(p->signature_note);
    assert_false(p->refuse);
    assert_all_allow(p->as_issued);
    sm_preissue_free(p);
    sm_csr_free(csr);
    /* a key no library here reads: the plan is made, and says the signature is not verified */
    p = plan("algs/rsa_pss_key.pem", "alice", NULL, &csr);
    assert_false(p->signature_verified);
    assert_non_null(strstr(p->signature_note, "unsupported algorithm"));
    assert_false(p->refuse);
    assert_all_allow(p->as_issued);
    sm_preissue_free(p);
    sm_csr_free(csr);
}

/* More names than the lookups can check: the plan refuses instead of guessing. */
static void test_lookup_bound(void **state)
{
    (void)state;
    struct sm_csr *csr = load_csr("rsa_upn.pem");
    struct sm_cert req = *csr->request;
    struct sm_san san[40];
    char names[40][32];
    for (size_t i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "user%zu@example.com", i);
        san[i] = (struct sm_san){ .type = SM_SAN_UPN, .value = names[i] };
    }
    req.san = san;
    req.n_san = 40;
    struct sm_preissue_input in = { .request = &req, .account = "alice", .at = AT };
    struct sm_preissue *p = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_preissue_plan(dir, &in, &p, &e), 0);
    assert_true(p->refuse);
    assert_non_null(finding(p, "names_not_checked"));
    assert_true(p->lookups <= SM_MAX_PREISSUE_LOOKUPS);
    assert_string_equal(p->signature_note, "no request signature given");
    sm_preissue_free(p);
    sm_csr_free(csr);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct sm_csr *csr = load_csr("rsa_upn.pem");
    struct sm_preissue *p = NULL;
    struct sm_errinfo e = { 0 };
    struct sm_preissue_input in = { .request = csr->request };
    assert_int_equal(sm_preissue_plan(dir, &in, &p, &e), -EINVAL);
    assert_non_null(strstr(e.text, "account"));
    in.account = "alice";
    assert_int_equal(sm_preissue_plan(NULL, &in, &p, &e), -EINVAL);
    in.validity_days = -1;
    assert_int_equal(sm_preissue_plan(dir, &in, &p, &e), -EINVAL);
    in.validity_days = 0;
    in.n_profiles = SM_MAX_PROFILES + 1;
    assert_int_equal(sm_preissue_plan(dir, &in, &p, &e), -EINVAL);
    assert_null(p);
    assert_null(sm_preissue_free(NULL));
    sm_csr_free(csr);
}

static void test_json(void **state)
{
    (void)state;
    struct sm_csr *csr;
    struct sm_preissue *p = plan("sid_other.pem", "alice", NULL, &csr);
    char *json = NULL;
    assert_int_equal(sm_json_preissue(p, SM_JSON_PRETTY, &json), 0);
    const char *keys[] = { "\"refuse\": true", "\"sid_other_account\"",
                           "\"material\"",     "\"sid_extension_der_base64\"",
                           "\"changes\"",      "\"as_requested\"",
                           "\"as_issued\"",    "\"request\"",
                           "\"issued\"",       "\"directory_lookups\"" };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strstr(json, keys[i]))
            fail_msg("no %s in %s", keys[i], json);
    free(json);
    sm_preissue_free(p);
    sm_csr_free(csr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_sid),
        cmocka_unit_test(test_right_sid_kept),
        cmocka_unit_test(test_sid_of_another_account),
        cmocka_unit_test(test_upn_and_dns_of_another_account),
        cmocka_unit_test(test_malformed_sid),
        cmocka_unit_test(test_disabled_and_missing_account),
        cmocka_unit_test(test_computer),
        cmocka_unit_test(test_computer_windows_only),
        cmocka_unit_test(test_issuer_not_in_ntauth),
        cmocka_unit_test(test_ed25519),
        cmocka_unit_test(test_lookup_bound),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_json),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

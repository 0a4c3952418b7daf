/*
 * tests/unit/test_pkcs7.c - PKCS#7 certs-only bundles (.p7b) through sm_certs_parse(): DER,
 * base64 and PEM bundles give the certificates they carry (compared with examples/certs, which
 * tests/data/p7b/gen.sh made them from), and empty, malformed and mislabelled bundles are
 * refused with a reason.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <strongmap/cert.h>

#include "su_base64.h"

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

/* The SHA-1 thumbprint of the first certificate of @rel. */
static void sha1_of(const char *rel, char out[41])
{
    size_t len;
    char *buf = slurp(rel, &len);
    struct sm_certs *c = NULL;
    assert_int_equal(sm_certs_parse(buf, len, NULL, &c, NULL), 0);
    memcpy(out, c->certs[0].sha1, 41);
    sm_certs_free(c);
    free(buf);
}

static void check_chain(const void *buf, size_t len)
{
    char ca[41], alice[41];
    struct sm_certs *c = NULL;

    sha1_of("../../examples/certs/issuing-ca.pem", ca);
    sha1_of("../../examples/certs/alice-no-sid.pem", alice);
    assert_int_equal(sm_certs_parse(buf, len, NULL, &c, NULL), 0);
    assert_int_equal(c->n_certs, 2);
    assert_int_equal(c->n_errors, 0);
    assert_string_equal(c->certs[0].sha1, ca);
    assert_string_equal(c->certs[1].sha1, alice);
    assert_true(c->certs[0].is_ca);
    assert_false(c->certs[1].is_ca);
    sm_certs_free(c);
}

static void test_der_bundle(void **state)
{
    size_t len;
    char *buf = slurp("p7b/chain.p7b", &len);
    (void)state;
    check_chain(buf, len);
    free(buf);
}

static void test_base64_bundle(void **state)
{
    size_t len;
    char *buf = slurp("p7b/chain.p7b", &len);
    char *b64 = malloc(len * 2 + 4);
    (void)state;
    assert_non_null(b64);
    su_base64_encode((const uint8_t *)buf, len, b64);
    check_chain(b64, strlen(b64));
    free(b64);
    free(buf);
}

static void test_pem_bundle(void **state)
{
    size_t len;
    char *buf = slurp("p7b/alice-sid.p7b.pem", &len);
    char alice[41];
    struct sm_certs *c = NULL;
    (void)state;
    assert_non_null(strstr(buf, "-----BEGIN PKCS7-----"));
    sha1_of("../../examples/certs/alice-sid.pem", alice);
    assert_int_equal(sm_certs_parse(buf, len, NULL, &c, NULL), 0);
    assert_int_equal(c->n_certs, 1);
    assert_string_equal(c->certs[0].sha1, alice);
    assert_string_equal(c->format, "pem");
    sm_certs_free(c);
    free(buf);
}

static void test_empty_bundle(void **state)
{
    size_t len;
    char *buf = slurp("p7b/empty.p7b", &len);
    struct sm_certs *c = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    (void)state;
    assert_int_equal(sm_certs_parse(buf, len, NULL, &c, &e), SM_E_CERT);
    assert_non_null(strstr(e.text, "PKCS#7 bundle without certificates"));
    free(buf);
}

static void test_malformed_bundles(void **state)
{
    /* ContentInfo signedData whose SignedData is an empty SEQUENCE (no version) */
    static const uint8_t bad[] = { 0x30, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                   0x0d, 0x01, 0x07, 0x02, 0xa0, 0x02, 0x30, 0x00 };
    /* the same with content that is not [0] EXPLICIT */
    static const uint8_t bad_tag[] = { 0x30, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                       0x0d, 0x01, 0x07, 0x02, 0xa1, 0x02, 0x30, 0x00 };
    struct sm_certs *c = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    (void)state;
    assert_int_equal(sm_certs_parse(bad, sizeof(bad), NULL, &c, &e), SM_E_CERT);
    assert_non_null(strstr(e.text, "malformed PKCS#7 bundle"));
    assert_int_equal(sm_certs_parse(bad_tag, sizeof(bad_tag), NULL, &c, &e), SM_E_CERT);
    assert_non_null(strstr(e.text, "malformed PKCS#7 bundle"));
}

static void test_pem_pkcs7_label_on_a_certificate(void **state)
{
    /* a PKCS7 PEM block that holds a certificate, not a bundle: refused, not analysed */
    size_t len;
    char *pem = slurp("../../examples/certs/alice-sid.pem", &len);
    char *begin = strstr(pem, "-----BEGIN CERTIFICATE-----");
    char *end = strstr(pem, "-----END CERTIFICATE-----");
    char buf[8192];
    struct sm_certs *c = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    (void)state;
    assert_non_null(begin);
    assert_non_null(end);
    int n = snprintf(buf, sizeof(buf), "-----BEGIN PKCS7-----%.*s-----END PKCS7-----\n",
                     (int)(end - begin - 27), begin + 27);
    assert_true(n > 0 && (size_t)n < sizeof(buf));
    assert_int_equal(sm_certs_parse(buf, (size_t)n, NULL, &c, &e), SM_E_CERT);
    assert_non_null(strstr(e.text, "malformed PKCS#7 bundle"));
    free(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_der_bundle),
        cmocka_unit_test(test_base64_bundle),
        cmocka_unit_test(test_pem_bundle),
        cmocka_unit_test(test_empty_bundle),
        cmocka_unit_test(test_malformed_bundles),
        cmocka_unit_test(test_pem_pkcs7_label_on_a_certificate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_csr_sig.c - the self-signatures of requests as lib/cert_sig.c checks them
 * (Nettle, support/su_sig.c), against mbedTLS's own verdict: every fixture of tests/data/csr and
 * tests/data/csr/algs (one request per key type and signature algorithm, made by its gen.sh),
 * and variants of each with one byte changed, give the same answer as mbedtls_x509_csr_parse()
 * and mbedtls_pk_verify_ext() wherever mbedTLS can read the request. This test includes mbedTLS
 * only as that reference. Then su_sig.c's bounds, and the strict reading of ECDSA signatures.
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

#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_csr.h>

#include <strongmap/strongmap.h>

#include "su_sig.h"

enum result { R_VALID, R_BAD, R_NOT_VERIFIED, R_OTHER, R_UNKNOWN };

static const char *data_dir(void)
{
    const char *d = getenv("SM_TEST_DATA");
    return d ? d : "tests/data";
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    uint8_t *buf = malloc(256 * 1024);
    assert_non_null(buf);
    *len = fread(buf, 1, 256 * 1024 - 1, f);
    fclose(f);
    buf[*len] = '\0';
    return buf;
}

/* What the engine says of the request @p/@len. */
static enum result engine(const uint8_t *p, size_t len)
{
    struct sm_csr *c = NULL;
    struct sm_errinfo e = { 0 };
    int r = sm_csr_parse(p, len, &c, &e);
    enum result res = r == SM_E_CSR_SIGNATURE            ? R_BAD
                      : r < 0                            ? R_OTHER
                      : c->signature == SM_CSR_SIG_VALID ? R_VALID
                                                         : R_NOT_VERIFIED;
    sm_csr_free(c);
    return res;
}

/* What mbedTLS says (R_UNKNOWN when it cannot read the request or its algorithm); the DER it
   read into @der (malloc()ed) when asked. */
static enum result reference(const uint8_t *p, size_t len, uint8_t **der, size_t *der_len)
{
    mbedtls_x509_csr m;
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];
    enum result res = R_UNKNOWN;

    mbedtls_x509_csr_init(&m);
    if (mbedtls_x509_csr_parse(&m, p, len) == 0) {
        const mbedtls_md_info_t *md = mbedtls_md_info_from_type(m.sig_md);
        if (md && mbedtls_md(md, m.cri.p, m.cri.len, hash) == 0)
            res = mbedtls_pk_verify_ext(m.sig_pk, m.sig_opts, &m.pk, m.sig_md, hash,
                                        mbedtls_md_get_size(md), m.sig.p, m.sig.len) == 0
                      ? R_VALID
                      : R_BAD;
        if (der) {
            *der = malloc(m.raw.len);
            assert_non_null(*der);
            memcpy(*der, m.raw.p, m.raw.len);
            *der_len = m.raw.len;
        }
    }
    mbedtls_x509_csr_free(&m);
    return res;
}

/* The engine agrees with mbedTLS wherever mbedTLS has an answer; a VALID one only for a
   request mbedTLS finds valid or cannot read. */
static void agree(const char *what, const uint8_t *p, size_t len, enum result ref)
{
    enum result got = engine(p, len);
    if (ref == R_VALID && got != R_VALID)
        fail_msg("%s: mbedTLS verifies it, the engine says %d", what, got);
    if (ref == R_BAD && got != R_BAD && got != R_OTHER)
        fail_msg("%s: mbedTLS refuses the signature, the engine says %d", what, got);
}

/* Each fixture, then variants with one byte changed: about 32 spread over the request, and each
   of the last 16 (the signature's end). Returns the fixture's own result. */
static enum result check_fixture(const char *path, unsigned *compared)
{
    size_t len, der_len = 0;
    uint8_t *pem = read_file(path, &len), *der = NULL;
    /* mbedtls_x509_csr_parse() wants PEM NUL-terminated, its length counting the NUL */
    enum result ref = reference(pem, len + 1, &der, &der_len);
    enum result got = engine(pem, len);
    free(pem);
    agree(path, der ? der : (const uint8_t *)"", der ? der_len : 0, ref);
    if (!der)
        return got;
    (*compared)++;
    uint8_t *v = malloc(der_len);
    assert_non_null(v);
    size_t step = der_len / 32 + 1;
    for (size_t i = 0; i < der_len; i++) {
        if (i % step != 0 && i + 16 < der_len)
            continue;
        char what[2200];
        memcpy(v, der, der_len);
        v[i] ^= 0x5a;
        snprintf(what, sizeof(what), "%s with byte %zu changed", path, i);
        agree(what, v, der_len, reference(v, der_len, NULL, NULL));
    }
    free(v);
    free(der);
    return got;
}

static void test_agrees_with_mbedtls(void **state)
{
    (void)state;
    static const char *const dirs[] = { "csr", "csr/algs" };
    unsigned files = 0, compared = 0;
    for (size_t d = 0; d < 2; d++) {
        char dir[1024];
        snprintf(dir, sizeof(dir), "%s/%s", data_dir(), dirs[d]);
        DIR *dh = opendir(dir);
        struct dirent *de;
        assert_non_null(dh);
        while ((de = readdir(dh))) {
            size_t l = strlen(de->d_name);
            if (l < 5 || strcmp(de->d_name + l - 4, ".pem") != 0 ||
                strcmp(de->d_name, "many_san.pem") == 0) /* beyond SM_MAX_SAN */
                continue;
            char path[2048];
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            check_fixture(path, &compared);
            files++;
        }
        closedir(dh);
    }
    assert_true(files >= 35);
    assert_true(compared >= 30);
}

static enum result fixture_result(const char *name)
{
    char path[1024];
    size_t len;
    snprintf(path, sizeof(path), "%s/csr/algs/%s", data_dir(), name);
    uint8_t *p = read_file(path, &len);
    enum result r = engine(p, len);
    free(p);
    return r;
}

/* openssl made and verified every one of them (gen.sh) */
static void test_algorithms(void **state)
{
    (void)state;
    static const char *const valid[] = {
        "rsa_sha1.pem",
        "rsa_sha224.pem",
        "rsa_sha384.pem",
        "rsa_sha512.pem",
        "rsa3072_sha256.pem",
        "rsa_e3_sha256.pem",
        "rsa_pss_sha256_salt32.pem",
        "rsa_pss_sha384_salt48.pem",
        "rsa_pss_sha512_salt64.pem",
        "rsa_pss_sha256_salt0.pem",
        "rsa_pss_sha1_salt20.pem",
        "ec_P-224_sha224.pem",
        "ec_P-256_sha1.pem",
        "ec_P-256_sha256.pem",
        "ec_P-256_sha512.pem",
        "ec_P-384_sha384.pem",
        "ec_P-521_sha512.pem",
        "ec_secp256k1_sha256.pem",
        "ec_brainpoolP256r1_sha256.pem",
        "ed25519.pem",
        "ed448.pem",
    };
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++)
        if (fixture_result(valid[i]) != R_VALID)
            fail_msg("%s does not verify", valid[i]);
    /* an id-RSASSA-PSS key: read by neither mbedTLS 2.28 nor su_sig.c */
    assert_int_equal(fixture_result("rsa_pss_key.pem"), R_NOT_VERIFIED);
    /* PSS with MGF1 over SHA-1 and the message's hash SHA-256: Nettle's PSS has one hash for
       both, so mbedTLS decides, and mbedTLS 2.28 refuses what openssl accepts (as before) */
    assert_int_equal(fixture_result("rsa_pss_sha256_mgf1_sha1.pem"), R_BAD);
}

/* EdDSA, which mbedTLS cannot check: any bit changed in the signed part or the signature fails
   (Nettle 3.8 alone let Ed448's last octet of S change). */
static void test_eddsa_flipped(void **state)
{
    (void)state;
    static const char *const names[] = { "ed25519.pem", "ed448.pem" };
    for (size_t k = 0; k < 2; k++) {
        char path[1024];
        size_t len;
        snprintf(path, sizeof(path), "%s/csr/algs/%s", data_dir(), names[k]);
        uint8_t *pem = read_file(path, &len);
        struct sm_csr *good = NULL;
        struct sm_errinfo e = { 0 };
        assert_int_equal(sm_csr_parse(pem, len, &good, &e), 0);
        free(pem);
        size_t n = good->der_len;
        uint8_t *v = malloc(n);
        assert_non_null(v);
        for (size_t i = 0; i < n; i++)
            for (unsigned mask = 0x01; mask <= 0x80; mask = mask == 0x01 ? 0x40 : mask << 1) {
                memcpy(v, good->der, n);
                v[i] ^= (uint8_t)mask;
                if (engine(v, n) == R_VALID)
                    fail_msg("%s with byte %zu ^ 0x%02x verifies", names[k], i, mask);
            }
        free(v);
        sm_csr_free(good);
    }
}

/* An ECDSA signature whose r has a needless leading zero: mbedTLS reads it, the engine refuses
   the encoding (DER, RFC 5480 2.2.3). The request's lengths each grow by one. */
static void test_ecdsa_not_der(void **state)
{
    (void)state;
    char path[1024];
    size_t len, n;
    uint8_t *der = NULL;
    snprintf(path, sizeof(path), "%s/csr/algs/ec_P-256_sha256.pem", data_dir());
    uint8_t *pem = read_file(path, &len);
    assert_int_equal(reference(pem, len + 1, &der, &n), R_VALID);
    free(pem);
    /* 30 82 LL LL | CRI, AlgorithmIdentifier | 03 BL 00 | 30 SL 02 RL r 02 SL s */
    assert_int_equal(der[0], 0x30);
    assert_int_equal(der[1], 0x82);
    size_t sig = 0;
    for (size_t i = n - 80; i < n - 8; i++)
        if (der[i] == 0x03 && der[i + 1] == n - i - 2 && der[i + 2] == 0x00 && der[i + 3] == 0x30 &&
            der[i + 4] == n - i - 5) {
            sig = i;
            break;
        }
    assert_true(sig != 0);
    assert_int_equal(der[sig + 5], 0x02);
    uint8_t *v = malloc(n + 1);
    assert_non_null(v);
    size_t total = ((size_t)der[2] << 8 | der[3]) + 1;
    memcpy(v, der, sig + 6);
    v[2] = (uint8_t)(total >> 8);
    v[3] = (uint8_t)total;
    v[sig + 1]++;                             /* BIT STRING */
    v[sig + 4]++;                             /* Ecdsa-Sig-Value */
    v[sig + 6] = (uint8_t)(der[sig + 6] + 1); /* r's length */
    v[sig + 7] = 0x00;
    memcpy(v + sig + 8, der + sig + 7, n - sig - 7);
    assert_int_equal(reference(v, n + 1, NULL, NULL), R_VALID);
    assert_int_equal(engine(v, n + 1), R_BAD);
    free(v);
    free(der);
}

/* su_sig.c on its own: keys out of bounds, signatures of the wrong size or range. */
/* A request's answer is remembered by its bytes (lib/sigmemo.c): the same request twice is
   valid twice, and a copy with one byte of its signature changed is still refused afterwards,
   whichever came first. */
static void test_remembered(void **state)
{
    (void)state;
    char path[512];
    size_t len, der_len = 0;
    snprintf(path, sizeof(path), "%s/csr/all_san.pem", data_dir());
    uint8_t *pem = read_file(path, &len), *der = NULL;
    assert_int_equal(reference(pem, len + 1, &der, &der_len), R_VALID);
    free(pem);
    uint8_t *bad = malloc(der_len);
    assert_non_null(bad);
    memcpy(bad, der, der_len);
    bad[der_len - 1] ^= 0x01;
    assert_int_equal(engine(bad, der_len), R_BAD);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(engine(der, der_len), R_VALID);
        assert_int_equal(engine(bad, der_len), R_BAD);
    }
    free(bad);
    free(der);
}

static void test_su_sig_bounds(void **state)
{
    (void)state;
    static uint8_t n[16384 / 8 + 2], sig[16384 / 8 + 2];
    uint8_t e3[] = { 3 }, e2[] = { 2 }, e1[] = { 1 };
    const char msg[] = "message";

    memset(n, 0xff, sizeof(n)); /* odd */
    memset(sig, 0x01, sizeof(sig));
    struct su_sig_rsa k = { .n = n, .n_len = 256, .e = e3, .e_len = 1 };
    assert_int_equal(su_sig_rsa_pkcs1(&k, SU_SIG_SHA256, msg, 7, sig, 256), -EBADMSG);
    assert_int_equal(su_sig_rsa_pkcs1(&k, SU_SIG_SHA256, msg, 7, sig, 255), -EBADMSG);
    assert_int_equal(su_sig_rsa_pkcs1(&k, SU_SIG_SHA256, msg, 7, n, 256), -EBADMSG); /* s = n */
    assert_int_equal(su_sig_rsa_pkcs1(&k, (enum su_sig_hash)0, msg, 7, sig, 256), -ENOTSUP);
    assert_int_equal(su_sig_rsa_pss(&k, SU_SIG_SHA1, 20, msg, 7, sig, 256), -ENOTSUP);
    assert_int_equal(su_sig_rsa_pss(&k, SU_SIG_SHA256, 32, msg, 7, sig, 256), -EBADMSG);
    k.e = e2;
    assert_int_equal(su_sig_rsa_pkcs1(&k, SU_SIG_SHA256, msg, 7, sig, 256), -EINVAL);
    k.e = e1;
    assert_int_equal(su_sig_rsa_pkcs1(&k, SU_SIG_SHA256, msg, 7, sig, 256), -EINVAL);
    k.e = n; /* e = n */
    k.e_len = 256;
    assert_int_equal(su_sig_rsa_pkcs1(&k, SU_SIG_SHA256, msg, 7, sig, 256), -EINVAL);
    k.e = e3;
    k.e_len = 1;
    k.n_len = 16384 / 8 + 1; /* 16,392 bits */
    assert_int_equal(su_sig_rsa_pkcs1(&k, SU_SIG_SHA256, msg, 7, sig, k.n_len), -EINVAL);
    k.n_len = 16384 / 8; /* the largest */
    assert_int_equal(su_sig_rsa_pkcs1(&k, SU_SIG_SHA512, msg, 7, sig, k.n_len), -EBADMSG);
    k.n_len = 127; /* 1,016 bits */
    assert_int_equal(su_sig_rsa_pkcs1(&k, SU_SIG_SHA256, msg, 7, sig, 127), -EINVAL);
    n[255] = 0xfe; /* even */
    k.n_len = 256;
    assert_int_equal(su_sig_rsa_pkcs1(&k, SU_SIG_SHA256, msg, 7, sig, 256), -EINVAL);

    /* P-256: a point off the curve, a compressed one, r or s zero or too long */
    uint8_t point[65] = { 0x04 }, one[1] = { 1 }, zero[1] = { 0 }, big[33];
    memset(point + 1, 0x11, 64);
    memset(big, 0x01, sizeof(big));
    assert_int_equal(su_sig_ecdsa(SU_SIG_P256, point, 65, SU_SIG_SHA256, msg, 7, one, 1, one, 1),
                     -EINVAL);
    assert_int_equal(su_sig_ecdsa(SU_SIG_P256, point, 33, SU_SIG_SHA256, msg, 7, one, 1, one, 1),
                     -EINVAL);
    /* the generator of P-256 (FIPS 186-4, D.1.2.3) is on it */
    static const uint8_t g[65] = {
        0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
        0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4,
        0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a,
        0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33,
        0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5,
    };
    assert_int_equal(su_sig_ecdsa(SU_SIG_P256, g, 65, SU_SIG_SHA256, msg, 7, one, 1, one, 1),
                     -EBADMSG);
    assert_int_equal(su_sig_ecdsa(SU_SIG_P256, g, 65, SU_SIG_SHA256, msg, 7, zero, 1, one, 1),
                     -EBADMSG);
    assert_int_equal(su_sig_ecdsa(SU_SIG_P256, g, 65, SU_SIG_SHA256, msg, 7, big, 33, one, 1),
                     -EBADMSG);
    assert_int_equal(
        su_sig_ecdsa((enum su_sig_curve)0, g, 65, SU_SIG_SHA256, msg, 7, one, 1, one, 1), -ENOTSUP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agrees_with_mbedtls), cmocka_unit_test(test_algorithms),
        cmocka_unit_test(test_eddsa_flipped),       cmocka_unit_test(test_ecdsa_not_der),
        cmocka_unit_test(test_su_sig_bounds),       cmocka_unit_test(test_remembered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

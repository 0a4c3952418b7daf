/*
 * tests/unit/test_keycred.c - msDS-KeyCredentialLink values (lib/keycred.c, [MS-ADTS] 2.2.20).
 *
 * The blobs are built here from the keys of the fixture certificates (tests/data/certs): the
 * certificate's own SubjectPublicKeyInfo and RSAPublicKey bytes, or a BCRYPT_RSAKEY_BLOB made
 * from its modulus and exponent. The expected key hashes are the ones lib/cert_mbedtls.c computed
 * over the certificate's bytes, an independent path. tests/data/keycred holds values made by
 * tests/tools/keycred.py.
 *
 *   test_keycred                      the cmocka tests
 *   test_keycred --check VALUE CERT   parse VALUE, print it, exit 0 when it is a valid logon
 *                                     key (KeyID and KeyHash right) holding CERT's key
 *                                     (used by tests/tools/test_keycred_tool.py)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strongmap/cert.h>
#include <strongmap/keycred.h>

#include "su_hash.h"

#define OWNER     "CN=Alice,OU=Users,DC=example,DC=com"
#define DEVICE    "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
#define BLOB_MAX  8192
#define CREATED   133930818000000000ull /* FILETIME of 2025-05-30T12:30:00Z */
#define CREATED_S "2025-05-30T12:30:00Z"

static const uint8_t device_le[16] = { 0xe0, 0x04, 0x25, 0x3f, 0x89, 0x4f, 0xd3, 0x11,
                                       0x9a, 0x0c, 0x03, 0x05, 0xe8, 0x2c, 0x33, 0x01 };

/* ---- files and certificates ------------------------------------------------------------- */

static char *read_path(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (buf)
        buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static char *read_data(const char *rel, size_t *len)
{
    const char *dir = getenv("SM_TEST_DATA");
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", rel);
    char *buf = read_path(path, len);
    if (!buf)
        fail_msg("cannot read %s", path);
    return buf;
}

static struct sm_certs *load_path(const char *path)
{
    size_t len;
    char *pem = read_path(path, &len);
    struct sm_certs *certs = NULL;
    if (!pem || sm_certs_parse(pem, len, NULL, &certs, NULL) != 0)
        certs = NULL;
    free(pem);
    return certs;
}

static struct sm_certs *load_cert(const char *rel)
{
    const char *dir = getenv("SM_TEST_DATA");
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir ? dir : "tests/data", rel);
    struct sm_certs *c = load_path(path);
    if (!c)
        fail_msg("cannot load %s", path);
    return c;
}

/* One DER TLV at @p (definite lengths only); returns the position after it, or NULL. */
static const uint8_t *tlv(const uint8_t *p, const uint8_t *end, uint8_t *tag,
                          const uint8_t **content, size_t *len)
{
    if (end - p < 2)
        return NULL;
    *tag = p[0];
    size_t n = p[1], i = 2;
    if (n & 0x80) {
        unsigned k = n & 0x7f;
        if (k == 0 || k > 3 || (size_t)(end - p) < 2 + k)
            return NULL;
        n = 0;
        for (unsigned j = 0; j < k; j++)
            n = n << 8 | p[i++];
    }
    if (n > (size_t)(end - p) - i)
        return NULL;
    *content = p + i;
    *len = n;
    return p + i + n;
}

/* tlv() where the DER must parse: the test fails otherwise. */
static const uint8_t *tlv_ok(const uint8_t *p, const uint8_t *end, uint8_t *tag,
                             const uint8_t **content, size_t *len)
{
    const uint8_t *next = tlv(p, end, tag, content, len);
    if (!next)
        fail_msg("the certificate's DER does not parse");
    return next;
}

/* The key of a certificate, as bytes of its own DER. */
struct key {
    const uint8_t *spki, *rpk; /* SubjectPublicKeyInfo, RSAPublicKey (BIT STRING contents) */
    size_t spki_len, rpk_len;
    const uint8_t *n, *e; /* INTEGER contents (sign byte included) */
    size_t n_len, e_len;
};

static void cert_key(const struct sm_cert *c, struct key *k)
{
    const uint8_t *p = c->der, *end = c->der + c->der_len, *v, *tbs, *q;
    size_t len, tlen;
    uint8_t tag;
    memset(k, 0, sizeof(*k));
    tlv_ok(p, end, &tag, &v, &len); /* Certificate */
    tlv_ok(v, v + len, &tag, &tbs, &tlen);
    q = tbs;
    const uint8_t *tend = tbs + tlen;
    if (q[0] == 0xa0) /* version */
        q = tlv_ok(q, tend, &tag, &v, &len);
    for (int i = 0; i < 5; i++) /* serial, signature, issuer, validity, subject */
        q = tlv_ok(q, tend, &tag, &v, &len);
    k->spki = q;
    const uint8_t *after = tlv_ok(q, tend, &tag, &v, &len);
    k->spki_len = (size_t)(after - q);
    const uint8_t *alg, *bits;
    size_t alen, blen;
    const uint8_t *r = tlv_ok(v, v + len, &tag, &alg, &alen); /* AlgorithmIdentifier */
    tlv_ok(r, v + len, &tag, &bits, &blen);
    assert_int_equal(tag, 0x03);
    k->rpk = bits + 1;
    k->rpk_len = blen - 1;
    const uint8_t *s;
    size_t slen;
    if (!tlv(k->rpk, k->rpk + k->rpk_len, &tag, &s, &slen) || tag != 0x30)
        return; /* not RSA */
    const uint8_t *x = tlv_ok(s, s + slen, &tag, &k->n, &k->n_len);
    tlv_ok(x, s + slen, &tag, &k->e, &k->e_len);
}

static size_t put32(uint8_t *o, uint32_t v)
{
    o[0] = (uint8_t)v, o[1] = (uint8_t)(v >> 8), o[2] = (uint8_t)(v >> 16);
    o[3] = (uint8_t)(v >> 24);
    return 4;
}

/* BCRYPT_RSAKEY_BLOB "RSA1" of a modulus and exponent (leading zero bytes dropped). */
static size_t bcrypt_blob(uint8_t *o, const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
                          int bitlen)
{
    while (nlen && *n == 0)
        n++, nlen--;
    while (elen && *e == 0)
        e++, elen--;
    unsigned bits = (unsigned)nlen * 8;
    for (uint8_t b = n[0]; !(b & 0x80); b <<= 1)
        bits--;
    size_t i = 0;
    memcpy(o, "RSA1", 4);
    i += 4;
    i += put32(o + i, bitlen >= 0 ? (uint32_t)bitlen : bits);
    i += put32(o + i, (uint32_t)elen);
    i += put32(o + i, (uint32_t)nlen);
    i += put32(o + i, 0);
    i += put32(o + i, 0);
    memcpy(o + i, e, elen);
    memcpy(o + i + elen, n, nlen);
    return i + elen + nlen;
}

static size_t key_bcrypt(uint8_t *o, const struct key *k)
{
    return bcrypt_blob(o, k->n, k->n_len, k->e, k->e_len, -1);
}

/* ---- blobs ------------------------------------------------------------------------------ */

struct blob {
    uint8_t b[BLOB_MAX];
    size_t n;
};

static void put_entry(struct blob *bl, unsigned id, const void *v, size_t len)
{
    assert_true(bl->n + 3 + len <= BLOB_MAX);
    bl->b[bl->n++] = (uint8_t)len;
    bl->b[bl->n++] = (uint8_t)(len >> 8);
    bl->b[bl->n++] = (uint8_t)id;
    memcpy(bl->b + bl->n, v, len);
    bl->n += len;
}

static void put_version(struct blob *bl, uint32_t v)
{
    bl->n = put32(bl->b, v);
}

struct opts {
    const uint8_t *material;
    size_t mlen;
    int usage;  /* default NGC */
    int source; /* default AD */
    bool no_keyid, bad_keyid, no_keyhash, no_device;
    uint64_t created; /* default CREATED */
};

/* KeyID, KeyHash, KeyMaterial, KeyUsage, KeySource, DeviceId, KeyCreationTime. */
static void make_blob(struct blob *bl, const struct opts *o)
{
    struct blob rest = { .n = 0 };
    uint8_t u = (uint8_t)(o->usage ? o->usage : 1), s = (uint8_t)o->source, t[8];
    put_entry(&rest, 3, o->material, o->mlen);
    put_entry(&rest, 4, &u, 1);
    put_entry(&rest, 5, &s, 1);
    if (!o->no_device)
        put_entry(&rest, 6, device_le, 16);
    uint64_t c = o->created ? o->created : CREATED;
    for (int i = 0; i < 8; i++)
        t[i] = (uint8_t)(c >> (8 * i));
    put_entry(&rest, 9, t, 8);

    uint8_t h[SU_SHA256_LEN];
    put_version(bl, 0x200);
    su_sha256(o->material, o->mlen, h);
    if (o->bad_keyid)
        h[31] ^= 1;
    if (!o->no_keyid)
        put_entry(bl, 1, h, sizeof(h));
    su_sha256(rest.b, rest.n, h);
    if (!o->no_keyhash)
        put_entry(bl, 2, h, sizeof(h));
    memcpy(bl->b + bl->n, rest.b, rest.n);
    bl->n += rest.n;
}

/* "B:<n>:<HEX>:<dn>" (dn NULL: bare hex); malloc'd. */
static char *dn_binary(const uint8_t *b, size_t n, const char *dn)
{
    size_t cap = 2 * n + 64 + (dn ? strlen(dn) : 0);
    char *s = malloc(cap), *o = s;
    if (dn)
        o += sprintf(o, "B:%zu:", 2 * n);
    for (size_t i = 0; i < n; i++)
        o += sprintf(o, "%02X", b[i]);
    if (dn)
        sprintf(o, ":%s", dn);
    return s;
}

static struct sm_keycred *parse_str(const char *v)
{
    struct sm_keycred *k = NULL;
    struct sm_errinfo e;
    int r = sm_keycred_parse(v, strlen(v), &k, &e);
    if (r != 0)
        fail_msg("sm_keycred_parse(%.60s...) = %d: %s", v, r, e.text);
    return k;
}

static struct sm_keycred *parse_blob(const struct blob *bl, const char *dn)
{
    char *v = dn_binary(bl->b, bl->n, dn);
    struct sm_keycred *k = parse_str(v);
    free(v);
    return k;
}

static struct sm_keycred *parse_material(const uint8_t *m, size_t len)
{
    struct blob bl;
    struct opts o = { .material = m, .mlen = len };
    make_blob(&bl, &o);
    return parse_blob(&bl, OWNER);
}

/* ---- tests ------------------------------------------------------------------------------ */

static const char *const rsa_fixtures[] = {
    "certs/upn_only.pem",        "certs/sid_ext.pem", "certs/no_eku.pem",     "certs/kb_serial.pem",
    "certs/serial_high_bit.pem", "certs/root_ca.pem", "certs/issuing_ca.pem", "certs/all_san.pem",
    "certs/template.pem",        "certs/expired.pem",
};

static void check_match(const struct sm_keycred *k, const struct sm_cert *c, const char *kind,
                        const char *format)
{
    assert_true(k->valid);
    assert_null(k->invalid_reason);
    assert_null(k->key_error);
    assert_string_equal(k->key_kind, kind);
    assert_string_equal(k->key_format, format);
    assert_int_equal(k->key_bits, c->key_bits);
    assert_int_equal(k->exponent, 65537);
    assert_string_equal(k->spk_sha1, c->spk_sha1);
    assert_string_equal(k->spki_sha1, c->spki_sha1);
    assert_true(sm_keycred_matches(k, c));
    assert_true(k->logon_key);
    assert_true(k->key_id_ok);
    assert_true(k->key_hash_ok);
    assert_string_equal(k->key_id, k->key_material_sha256);
}

static void test_fixture_keys_bcrypt(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rsa_fixtures) / sizeof(rsa_fixtures[0]); i++) {
        struct sm_certs *cs = load_cert(rsa_fixtures[i]);
        const struct sm_cert *c = &cs->certs[0];
        assert_string_equal(c->key_type, "RSA");
        struct key key;
        cert_key(c, &key);
        uint8_t m[1024];
        size_t mlen = key_bcrypt(m, &key);
        struct sm_keycred *k = parse_material(m, mlen);
        check_match(k, c, "rsa", "bcrypt");
        assert_true(k->samba_usable);
        assert_int_equal(k->declared_bits, 2048);
        assert_string_equal(k->owner_dn, OWNER);
        assert_int_equal(k->version, 0x200);
        assert_int_equal(k->n_entries, 7);
        assert_int_equal(k->usage, SM_KEYCRED_USAGE_NGC);
        assert_string_equal(k->usage_name, "NGC");
        assert_int_equal(k->source, SM_KEYCRED_SOURCE_AD);
        assert_string_equal(k->source_name, "AD");
        assert_string_equal(k->device_id, DEVICE);
        assert_string_equal(k->created, CREATED_S);
        assert_int_equal(k->created_t, 1748608200);
        assert_null(k->last_logon);
        assert_false(k->has_custom_key_info);
        assert_int_equal(k->findings.n, 0);
        sm_keycred_free(k);
        sm_certs_free(cs);
    }
}

static void test_fixture_keys_der(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rsa_fixtures) / sizeof(rsa_fixtures[0]); i++) {
        struct sm_certs *cs = load_cert(rsa_fixtures[i]);
        const struct sm_cert *c = &cs->certs[0];
        struct key key;
        cert_key(c, &key);
        /* the certificate's own SubjectPublicKeyInfo bytes */
        struct sm_keycred *k = parse_material(key.spki, key.spki_len);
        check_match(k, c, "der", "spki");
        assert_true(k->samba_usable);
        sm_keycred_free(k);
        /* its subjectPublicKey contents: a DER RSAPublicKey, which Samba does not read */
        k = parse_material(key.rpk, key.rpk_len);
        check_match(k, c, "der", "rsapublickey");
        assert_false(k->samba_usable);
        sm_keycred_free(k);
        sm_certs_free(cs);
    }
}

static void test_not_matching(void **state)
{
    (void)state;
    struct sm_certs *a = load_cert("certs/upn_only.pem"), *b = load_cert("certs/sid_ext.pem");
    struct sm_certs *ec = load_cert("certs/ec_key.pem");
    struct key key;
    cert_key(&a->certs[0], &key);
    uint8_t m[1024];
    struct sm_keycred *k = parse_material(m, key_bcrypt(m, &key));
    assert_true(sm_keycred_matches(k, &a->certs[0]));
    assert_false(sm_keycred_matches(k, &b->certs[0]));
    assert_false(sm_keycred_matches(k, &ec->certs[0]));
    assert_false(sm_keycred_matches(NULL, &a->certs[0]));
    assert_false(sm_keycred_matches(k, NULL));
    sm_keycred_free(k);

    /* same modulus, other exponent: another key */
    static const uint8_t e3[] = { 0x03 };
    k = parse_material(m, bcrypt_blob(m, key.n, key.n_len, e3, 1, -1));
    assert_true(k->logon_key);
    assert_int_equal(k->exponent, 3);
    assert_false(sm_keycred_matches(k, &a->certs[0]));
    sm_keycred_free(k);

    /* a key with no usable material matches nothing */
    k = parse_material((const uint8_t *)"{\"version\":1}", 13);
    assert_false(sm_keycred_matches(k, &a->certs[0]));
    sm_keycred_free(k);
    sm_certs_free(a);
    sm_certs_free(b);
    sm_certs_free(ec);
}

/* RSASSA-PSS certificate: the same key bits, another algorithm identifier. */
static void test_pss_certificate(void **state)
{
    (void)state;
    struct sm_certs *cs = load_cert("certs/rsa_pss.pem");
    const struct sm_cert *c = &cs->certs[0];
    struct key key;
    cert_key(c, &key);
    uint8_t m[1024];
    struct sm_keycred *k = parse_material(m, key_bcrypt(m, &key));
    assert_true(sm_keycred_matches(k, c));
    assert_string_equal(k->spk_sha1, c->spk_sha1);
    assert_string_not_equal(k->spki_sha1, c->spki_sha1); /* rsaEncryption vs RSASSA-PSS */
    sm_keycred_free(k);
    sm_certs_free(cs);
}

/* The DER RSAPublicKey built from a BCRYPT blob: minimal INTEGERs, 00 sign byte when needed. */
static void test_der_building(void **state)
{
    (void)state;
    static const struct {
        uint8_t n[4], e[3];
        size_t nlen, elen;
        uint8_t der[16];
        size_t derlen;
        unsigned bits;
    } cases[] = {
        /* high bit set: sign byte */
        { { 0x00, 0xc0, 0xff, 0xee },
          { 0x03 },
          4,
          1,
          { 0x30, 0x09, 0x02, 0x04, 0x00, 0xc0, 0xff, 0xee, 0x02, 0x01, 0x03 },
          11,
          24 },
        /* high bit clear: none */
        { { 0x7f, 0xff },
          { 0x01, 0x00, 0x01 },
          2,
          3,
          { 0x30, 0x09, 0x02, 0x02, 0x7f, 0xff, 0x02, 0x03, 0x01, 0x00, 0x01 },
          11,
          15 },
        /* exponent with its high bit set, leading zero bytes in the BLOB's fields */
        { { 0x00, 0x00, 0x01, 0x23 },
          { 0x00, 0x80 },
          4,
          2,
          { 0x30, 0x08, 0x02, 0x02, 0x01, 0x23, 0x02, 0x02, 0x00, 0x80 },
          10,
          9 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t m[64], h[SU_SHA1_LEN];
        char hex[41];
        size_t mlen = 24 + cases[i].elen + cases[i].nlen;
        /* the BLOB keeps the leading zero bytes the case has */
        memcpy(m, "RSA1", 4);
        put32(m + 4, cases[i].bits);
        put32(m + 8, (uint32_t)cases[i].elen);
        put32(m + 12, (uint32_t)cases[i].nlen);
        put32(m + 16, 0);
        put32(m + 20, 0);
        memcpy(m + 24, cases[i].e, cases[i].elen);
        memcpy(m + 24 + cases[i].elen, cases[i].n, cases[i].nlen);
        struct sm_keycred *k = parse_material(m, mlen);
        assert_null(k->key_error);
        assert_int_equal(k->key_bits, cases[i].bits);
        su_sha1(cases[i].der, cases[i].derlen, h);
        for (int j = 0; j < SU_SHA1_LEN; j++)
            sprintf(hex + 2 * j, "%02X", h[j]);
        assert_string_equal(k->spk_sha1, hex);
        assert_true(sm_findings_has(&k->findings, "key_size"));
        sm_keycred_free(k);
    }
}

static void test_bare_hex(void **state)
{
    (void)state;
    struct sm_certs *cs = load_cert("certs/upn_only.pem");
    struct key key;
    cert_key(&cs->certs[0], &key);
    uint8_t m[1024];
    struct blob bl;
    struct opts o = { .material = m, .mlen = key_bcrypt(m, &key) };
    make_blob(&bl, &o);
    struct sm_keycred *k = parse_blob(&bl, NULL);
    assert_null(k->owner_dn);
    check_match(k, &cs->certs[0], "rsa", "bcrypt");
    sm_keycred_free(k);
    /* lower-case hex reads the same */
    char *v = dn_binary(bl.b, bl.n, OWNER);
    for (char *p = strchr(v + 2, ':') + 1; *p != ':'; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    k = parse_str(v);
    check_match(k, &cs->certs[0], "rsa", "bcrypt");
    free(v);
    sm_keycred_free(k);
    sm_certs_free(cs);
}

/* A fake 2048-bit RSA key: enough for the structure tests. */
static size_t fake_material(uint8_t *m)
{
    uint8_t n[256];
    static const uint8_t e[] = { 0x01, 0x00, 0x01 };
    for (int i = 0; i < 256; i++)
        n[i] = (uint8_t)(0x80 | (i * 37));
    return bcrypt_blob(m, n, sizeof(n), e, sizeof(e), -1);
}

static void blob_with(struct blob *bl, const struct opts *extra)
{
    static uint8_t m[512];
    struct opts o = *extra;
    o.material = m;
    o.mlen = fake_material(m);
    make_blob(bl, &o);
}

static void expect_invalid(const char *value, const char *reason)
{
    struct sm_keycred *k = parse_str(value);
    assert_false(k->valid);
    assert_false(k->logon_key);
    assert_non_null(k->invalid_reason);
    if (!strstr(k->invalid_reason, reason))
        fail_msg("reason \"%s\" lacks \"%s\"", k->invalid_reason, reason);
    sm_keycred_free(k);
}

static void expect_blob_invalid(const struct blob *bl, const char *reason)
{
    char *v = dn_binary(bl->b, bl->n, OWNER);
    expect_invalid(v, reason);
    free(v);
}

static void test_bad_text(void **state)
{
    (void)state;
    expect_invalid("garbage", "odd number of hex digits (7)");
    expect_invalid("garbage!", "not a hex digit at character 0");
    expect_invalid("B:", "not DN-Binary");
    expect_invalid("B:x:00:CN=a", "not DN-Binary");
    expect_invalid("B:8:00020000CN=a", "does not match");
    expect_invalid("B:8:00020000", "does not match");
    expect_invalid("B:6:00020000:CN=a", "does not match");
    expect_invalid("B:10:00020000:CN=a", "does not match");
    expect_invalid("B:123456789:00:CN=a", "not DN-Binary");
    expect_invalid("B:7:0002000:CN=a", "odd number of hex digits");
    expect_invalid("B:8:0002000G:CN=a", "not a hex digit at character 7");
    expect_invalid("B:8:00020000:", "without its owner DN");
    expect_invalid("B:0::CN=a", "no binary part");
    expect_invalid("000200", "shorter than its 4-byte Version");
    expect_invalid("0002000", "odd number");
    expect_invalid(" 0002000", "not a hex digit at character 0");
}

static void test_bad_blobs(void **state)
{
    (void)state;
    struct blob bl;
    struct opts o = { 0 };

    blob_with(&bl, &o);
    put32(bl.b, 0x100);
    expect_blob_invalid(&bl, "Version 0x00000100");
    put32(bl.b, 0x00020000); /* the big-endian reading */
    expect_blob_invalid(&bl, "Version 0x00020000");

    /* truncated at every length: valid only when the cut falls between entries after the
     * KeyUsage entry (offset 364), never a crash */
    blob_with(&bl, &o);
    bool boundary[BLOB_MAX] = { false };
    for (size_t pos = 4; pos < bl.n; pos += 3 + (size_t)(bl.b[pos] | bl.b[pos + 1] << 8))
        boundary[pos] = true;
    for (size_t n = 1; n < bl.n; n++) {
        char *v = dn_binary(bl.b, n, OWNER);
        struct sm_keycred *k = parse_str(v);
        assert_int_equal(k->valid, boundary[n] && n >= 364);
        assert_int_equal(k->valid, k->invalid_reason == NULL);
        assert_int_equal(k->logon_key, k->valid);
        sm_keycred_free(k);
        free(v);
    }
    struct blob t = bl;
    t.n = 4 + 35 + 35 + 2;
    expect_blob_invalid(&t, "truncated entry header");
    t.n = 4 + 35 + 35 + 10;
    expect_blob_invalid(&t, "entry 0x03 at byte 74 claims 283 bytes, 7 are left");

    /* an entry claiming more than is left */
    t = bl;
    t.b[4 + 35 + 35] = 0xff, t.b[4 + 35 + 35 + 1] = 0xff;
    expect_blob_invalid(&t, "claims 65535 bytes");

    /* identifiers outside 1-9 */
    static const uint8_t one = 1;
    for (unsigned id = 0; id < 256; id += id == 0 ? 10 : 245) {
        t = bl;
        put_entry(&t, id, &one, 1);
        expect_blob_invalid(&t, "unknown entry identifier");
    }

    /* wrong sizes for the fixed-size identifiers */
    static const struct {
        unsigned id;
        size_t len;
    } sizes[] = { { 1, 31 }, { 2, 33 }, { 4, 2 }, { 5, 0 }, { 6, 15 }, { 8, 4 }, { 9, 9 } };
    static const uint8_t zeros[64];
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        put_version(&t, 0x200);
        put_entry(&t, sizes[i].id, zeros, sizes[i].len);
        expect_blob_invalid(&t, "has the wrong size");
    }
    put_version(&t, 0x200);
    put_entry(&t, 3, zeros, 0);
    expect_blob_invalid(&t, "KeyMaterial entry at byte 4 (0 bytes) is empty");

    /* duplicates and order */
    t = bl;
    static const uint8_t ngc = 1;
    put_entry(&t, 4, &ngc, 1);
    expect_blob_invalid(&t, "duplicate KeyUsage");
    /* the last entry (KeyCreationTime) moved to the front: unsorted */
    struct blob u;
    put_version(&u, 0x200);
    size_t last = bl.n - 11;
    memcpy(u.b + 4, bl.b + last, 11);
    memcpy(u.b + 15, bl.b + 4, last - 4);
    u.n = bl.n;
    expect_blob_invalid(&u, "not sorted");

    /* missing mandatory entries */
    put_version(&t, 0x200);
    put_entry(&t, 4, &ngc, 1);
    expect_blob_invalid(&t, "no KeyMaterial");
    put_version(&t, 0x200);
    put_entry(&t, 3, zeros, 8);
    expect_blob_invalid(&t, "no KeyUsage");
    put_version(&t, 0x200);
    expect_blob_invalid(&t, "no KeyMaterial");

    /* too many entries: the walk stops after SM_MAX_KEYCRED_ENTRIES + 1 */
    put_version(&t, 0x200);
    for (int i = 0; i < SM_MAX_KEYCRED_ENTRIES + 8; i++)
        put_entry(&t, 6, zeros, 16);
    struct sm_keycred *k = parse_blob(&t, OWNER);
    assert_false(k->valid);
    assert_int_equal(k->n_entries, SM_MAX_KEYCRED_ENTRIES + 1);
    sm_keycred_free(k);

    /* CustomKeyInformation forms (2.2.20.4) */
    static const struct {
        uint8_t v[24];
        size_t len;
        const char *reason; /* NULL: well-formed */
    } ckis[] = {
        { { 1, 2 }, 2, NULL },
        { { 2, 0 }, 2, "Version is not 1" },
        { { 1, 0, 0 }, 3, "neither" },
        { { 1, 0, 0, 0, 1, 0 }, 16, NULL },
        { { 1, 0, 0, 0, 2, 0 }, 16, "FekKeyVersion" },
        { { 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0x0d, 0x0a }, 20, NULL },
        { { 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0x0d, 0x0a },
          20,
          "EncodedExtendedCKI" },
        { { 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0x0d, 0x0a },
          20,
          "EncodedExtendedCKI" },
    };
    for (size_t i = 0; i < sizeof(ckis) / sizeof(ckis[0]); i++) {
        uint8_t m[512];
        size_t mlen = fake_material(m);
        uint8_t h[SU_SHA256_LEN];
        su_sha256(m, mlen, h);
        put_version(&t, 0x200);
        put_entry(&t, 1, h, sizeof(h));
        put_entry(&t, 3, m, mlen);
        put_entry(&t, 4, &ngc, 1);
        put_entry(&t, 7, ckis[i].v, ckis[i].len);
        if (ckis[i].reason) {
            expect_blob_invalid(&t, ckis[i].reason);
            continue;
        }
        k = parse_blob(&t, OWNER);
        assert_true(k->valid);
        assert_true(k->has_custom_key_info);
        assert_int_equal(k->custom_key_flags, ckis[i].v[1]);
        assert_true(k->logon_key);
        sm_keycred_free(k);
    }
}

static void test_parse_errors(void **state)
{
    (void)state;
    struct sm_keycred *k = (struct sm_keycred *)&k; /* must stay untouched */
    struct sm_keycred *const before = k;
    struct sm_errinfo e;
    assert_int_equal(sm_keycred_parse("", 0, &k, &e), SM_E_EMPTY);
    assert_int_equal(sm_keycred_parse(NULL, 5, &k, NULL), SM_E_EMPTY);
    char *big = malloc(SM_MAX_KEYCRED_VALUE + 2);
    memset(big, '0', SM_MAX_KEYCRED_VALUE + 1);
    big[SM_MAX_KEYCRED_VALUE + 1] = '\0';
    assert_int_equal(sm_keycred_parse(big, SM_MAX_KEYCRED_VALUE + 1, &k, &e), SM_E_TOO_BIG);
    assert_non_null(strstr(e.text, "limit"));
    assert_ptr_equal(k, before);
    /* exactly at the limit: read (and invalid: no version 0x200 in zeros) */
    assert_int_equal(sm_keycred_parse(big, SM_MAX_KEYCRED_VALUE, &k, &e), 0);
    assert_false(k->valid);
    assert_non_null(strstr(k->invalid_reason, "Version 0x00000000"));
    k = sm_keycred_free(k);
    assert_null(k);
    free(big);
    k = (struct sm_keycred *)&k;
    assert_int_equal(sm_keycred_parse("B:8:00020000:CN=\0x", 18, &k, &e), SM_E_UTF8);
    assert_int_equal(sm_keycred_parse("B:8:00020000:CN=\xff", 17, &k, &e), SM_E_UTF8);
    assert_ptr_equal(k, (struct sm_keycred *)&k);
    /* a UTF-8 owner DN is kept */
    k = parse_str("B:8:00020000:CN=J\xc3\xb6rg");
    assert_string_equal(k->owner_dn, "CN=J\xc3\xb6rg");
    assert_false(k->valid); /* no KeyMaterial */
    sm_keycred_free(k);
    assert_null(sm_keycred_free(NULL));
}

static void test_keyid_keyhash(void **state)
{
    (void)state;
    struct blob bl;
    struct opts o = { .bad_keyid = true };
    blob_with(&bl, &o);
    struct sm_keycred *k = parse_blob(&bl, OWNER);
    assert_true(k->valid);
    assert_true(k->logon_key); /* KeyID identifies, the key material is what a KDC uses */
    assert_true(k->samba_usable);
    assert_false(k->key_id_ok);
    assert_true(k->key_hash_ok);
    assert_true(sm_findings_has(&k->findings, "keyid_mismatch"));
    const struct sm_finding *f = &k->findings.v[0];
    assert_string_equal(f->code, "keyid_mismatch");
    assert_string_equal(f->fix, k->key_material_sha256);
    assert_string_not_equal(k->key_id, k->key_material_sha256);
    sm_keycred_free(k);

    o = (struct opts){ .no_keyid = true, .no_keyhash = true };
    blob_with(&bl, &o);
    k = parse_blob(&bl, OWNER);
    assert_true(k->valid);
    assert_null(k->key_id);
    assert_false(k->key_id_ok);
    assert_false(k->key_hash_ok);
    assert_true(sm_findings_has(&k->findings, "keyid_missing"));
    assert_true(sm_findings_has(&k->findings, "keyhash_missing"));
    assert_true(k->samba_usable);
    sm_keycred_free(k);

    /* an entry changed after the KeyHash was computed */
    o = (struct opts){ 0 };
    blob_with(&bl, &o);
    bl.b[bl.n - 1] ^= 0x01; /* KeyCreationTime's last byte */
    k = parse_blob(&bl, OWNER);
    assert_true(k->valid);
    assert_true(k->key_id_ok);
    assert_false(k->key_hash_ok);
    assert_true(sm_findings_has(&k->findings, "keyhash_mismatch"));
    sm_keycred_free(k);
}

static void expect_key_error(const uint8_t *m, size_t len, const char *reason)
{
    struct sm_keycred *k = parse_material(m, len);
    assert_true(k->valid);
    assert_null(k->key_kind);
    assert_null(k->key_format);
    assert_non_null(k->key_error);
    if (!strstr(k->key_error, reason))
        fail_msg("key error \"%s\" lacks \"%s\"", k->key_error, reason);
    assert_false(k->logon_key);
    assert_false(k->samba_usable);
    assert_string_equal(k->spk_sha1, "");
    assert_string_equal(k->spki_sha1, "");
    assert_int_equal(k->key_bits, 0);
    assert_true(k->key_id_ok); /* the KeyID still hashes the material */
    sm_keycred_free(k);
}

static void test_key_material_errors(void **state)
{
    (void)state;
    uint8_t m[1024], t[1024];
    size_t mlen = fake_material(m);

    memcpy(t, m, mlen);
    memcpy(t, "RSA2", 4);
    expect_key_error(t, mlen, "private key");
    memcpy(t, m, mlen);
    put32(t + 16, 128);
    expect_key_error(t, mlen, "prime lengths");
    memcpy(t, m, mlen);
    put32(t + 8, 0);
    expect_key_error(t, mlen, "exponent length");
    put32(t + 8, 9);
    expect_key_error(t, mlen, "exponent length");
    memcpy(t, m, mlen);
    put32(t + 12, 2049);
    expect_key_error(t, mlen, "modulus length");
    memcpy(t, m, mlen);
    expect_key_error(t, mlen - 1, "do not add up");
    t[mlen] = 0;
    expect_key_error(t, mlen + 1, "do not add up");
    expect_key_error(m, 20, "shorter than its 24-byte header");
    /* zero modulus, zero exponent */
    static const uint8_t zero[4] = { 0 }, one[1] = { 1 };
    memcpy(t, "RSA1", 4);
    put32(t + 4, 0), put32(t + 8, 1), put32(t + 12, 4), put32(t + 16, 0), put32(t + 20, 0);
    memcpy(t + 24, one, 1), memcpy(t + 25, zero, 4);
    expect_key_error(t, 29, "modulus is zero");
    t[24] = 0, t[28] = 1;
    expect_key_error(t, 29, "exponent is zero");

    static const uint8_t tpm[] = { 'P', 'C', 'P', 'M', 0x2e, 0, 0, 0, 2, 0, 0, 0 };
    expect_key_error(tpm, sizeof(tpm), "TPM key BLOB");
    static const char fido[] = "{\"version\":1,\"authData\":\"\",\"x5c\":[]}";
    expect_key_error((const uint8_t *)fido, strlen(fido), "FIDO key material");
    static const uint8_t junk[] = { 0x42, 0x42, 0x42 };
    expect_key_error(junk, sizeof(junk), "first byte 0x42");

    /* an EC SubjectPublicKeyInfo, straight from a fixture */
    struct sm_certs *cs = load_cert("certs/ec_key.pem");
    struct key key;
    cert_key(&cs->certs[0], &key);
    expect_key_error(key.spki, key.spki_len, "algorithm 1.2.840.10045.2.1");
    sm_certs_free(cs);

    /* DER that is not strict */
    static const struct {
        uint8_t der[24];
        size_t len;
        const char *reason;
    } ders[] = {
        { { 0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x03 }, 8, "negative INTEGER" },
        { { 0x30, 0x07, 0x02, 0x02, 0x00, 0x7f, 0x02, 0x01, 0x03 }, 9, "not minimally" },
        { { 0x30, 0x06, 0x02, 0x01, 0x7f, 0x02, 0x01, 0x03, 0x00 }, 9, "not one DER SEQUENCE" },
        { { 0x30, 0x09, 0x02, 0x01, 0x7f, 0x02, 0x01, 0x03, 0x02, 0x01, 0x01 },
          11,
          "more than modulus and exponent" },
        { { 0x30, 0x80, 0x02, 0x01, 0x7f, 0x02, 0x01, 0x03, 0x00, 0x00 }, 10, "not one" },
        { { 0x30, 0x81, 0x06, 0x02, 0x01, 0x7f, 0x02, 0x01, 0x03 }, 9, "not one" },
        { { 0x30, 0x03, 0x02, 0x01, 0x7f }, 5, "expected an INTEGER" },
        { { 0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x03 }, 8, "modulus is zero" },
        /* SubjectPublicKeyInfo: parameters absent, bits with unused bits */
        { { 0x30, 0x12, 0x30, 0x0b, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
            0xf7, 0x0d, 0x01, 0x01, 0x01, 0x03, 0x03, 0x00, 0x30, 0x00 },
          20,
          "parameters are not NULL" },
        { { 0x30, 0x15, 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
            0x01, 0x01, 0x01, 0x05, 0x00, 0x03, 0x04, 0x01, 0x30, 0x00, 0x00 },
          23,
          "unused bits" },
        { { 0x30, 0x02, 0x05, 0x00 }, 4, "no AlgorithmIdentifier" },
    };
    for (size_t i = 0; i < sizeof(ders) / sizeof(ders[0]); i++)
        expect_key_error(ders[i].der, ders[i].len, ders[i].reason);
}

static void test_usages(void **state)
{
    (void)state;
    struct sm_certs *cs = load_cert("certs/upn_only.pem");
    struct key key;
    cert_key(&cs->certs[0], &key);
    uint8_t m[1024];
    size_t mlen = key_bcrypt(m, &key);
    static const struct {
        int usage;
        const char *name;
    } cases[] = {
        { 0x07, "FIDO" },    { 0x08, "FEK" },       { 0x02, "STK" }, { 0x03, "BitLockerRecovery" },
        { 0x42, "unknown" }, { 0x100, "AdminKey" }, /* 0x100: make_blob writes 0x00 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct blob bl;
        struct opts o = { .material = m, .mlen = mlen, .usage = cases[i].usage };
        make_blob(&bl, &o);
        struct sm_keycred *k = parse_blob(&bl, OWNER);
        assert_true(k->valid);
        assert_int_equal(k->usage, cases[i].usage & 0xff);
        assert_string_equal(k->usage_name, cases[i].name);
        assert_true(sm_findings_has(&k->findings, "usage_not_ngc"));
        assert_false(k->logon_key);
        assert_false(k->samba_usable);
        assert_true(sm_keycred_matches(k, &cs->certs[0])); /* key equality only */
        sm_keycred_free(k);
    }
    sm_certs_free(cs);
}

static void test_sources_and_times(void **state)
{
    (void)state;
    struct blob bl;
    /* Azure AD keys carry .NET DateTime.ToBinary() times: UTC kind, ticks since 0001 */
    uint64_t ticks = 638843634000000000ull; /* 2025-06-01T08:30:00Z */
    struct opts o = { .source = 1, .created = ticks | 0x4000000000000000ull };
    blob_with(&bl, &o);
    struct sm_keycred *k = parse_blob(&bl, OWNER);
    assert_int_equal(k->source, 1);
    assert_string_equal(k->source_name, "AzureAD");
    assert_true(sm_findings_has(&k->findings, "source_not_ad"));
    assert_string_equal(k->created, "2025-06-01T08:30:00Z");
    assert_true(k->logon_key);
    sm_keycred_free(k);

    o = (struct opts){ .source = 7 };
    blob_with(&bl, &o);
    k = parse_blob(&bl, OWNER);
    assert_string_equal(k->source_name, "unknown");
    assert_string_equal(k->created, CREATED_S);
    sm_keycred_free(k);

    static const struct {
        uint64_t ft;
        const char *text;
        long long t;
    } times[] = {
        { 1, "1601-01-01T00:00:00Z", -11644473600ll },
        { 116444736000000000ull, "1970-01-01T00:00:00Z", 0 },
        { 116444735990000000ull, "1969-12-31T23:59:59Z", -1 },
        { 2650467743990000000ull, "9999-12-31T23:59:59Z", 253402300799ll },
        { 126227808000000000ull, "2001-01-01T00:00:00Z", 978307200 },
        { 130984128000000000ull, "2016-01-28T00:00:00Z", 1453939200 },
        { 130984128000000000ull - 864000000000ull, "2016-01-27T00:00:00Z", 1453852800 },
        { 132274080000000000ull, "2020-02-29T00:00:00Z", 1582934400 },
    };
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        o = (struct opts){ .created = times[i].ft };
        blob_with(&bl, &o);
        k = parse_blob(&bl, OWNER);
        assert_string_equal(k->created, times[i].text);
        assert_int_equal(k->created_t, times[i].t);
        sm_keycred_free(k);
    }
    o = (struct opts){ .created = 2650467744000000000ull }; /* year 10000 */
    blob_with(&bl, &o);
    k = parse_blob(&bl, OWNER);
    assert_null(k->created);
    assert_int_equal(k->created_t, 0);
    assert_true(sm_findings_has(&k->findings, "time_out_of_range"));
    assert_true(k->valid);
    sm_keycred_free(k);
}

static void test_key_size(void **state)
{
    (void)state;
    uint8_t n[128], m[512];
    static const uint8_t e[] = { 0x01, 0x00, 0x01 };
    for (int i = 0; i < 128; i++)
        n[i] = (uint8_t)(0xc1 + i);
    struct sm_keycred *k = parse_material(m, bcrypt_blob(m, n, sizeof(n), e, 3, -1));
    assert_int_equal(k->key_bits, 1024);
    assert_true(sm_findings_has(&k->findings, "key_size"));
    assert_false(sm_findings_has(&k->findings, "bitlength_mismatch"));
    assert_true(k->logon_key); /* predicted usable; the size is a warning */
    sm_keycred_free(k);
    k = parse_material(m, bcrypt_blob(m, n, sizeof(n), e, 3, 2048));
    assert_int_equal(k->declared_bits, 2048);
    assert_true(sm_findings_has(&k->findings, "bitlength_mismatch"));
    sm_keycred_free(k);
}

static void test_samba_usable(void **state)
{
    (void)state;
    struct blob bl, u;
    struct opts o = { 0 };
    blob_with(&bl, &o);
    struct sm_keycred *k = parse_blob(&bl, OWNER);
    assert_true(k->samba_usable);
    sm_keycred_free(k);

    /* a second DeviceId: invalid per 2.2.20, Samba does not mind */
    u = bl;
    put_entry(&u, 6, device_le, 16);
    k = parse_blob(&u, OWNER);
    assert_false(k->valid);
    assert_true(k->samba_usable);
    assert_non_null(strstr(k->invalid_reason, "duplicate DeviceId"));
    sm_keycred_free(k);

    /* a second KeyUsage or KeyMaterial: Samba refuses the value */
    static const uint8_t ngc = 1;
    u = bl;
    put_entry(&u, 4, &ngc, 1);
    k = parse_blob(&u, OWNER);
    assert_false(k->samba_usable);
    sm_keycred_free(k);
    u = bl;
    put_entry(&u, 3, bl.b + 4 + 35 + 35 + 3, 24 + 3 + 256);
    k = parse_blob(&u, OWNER);
    assert_false(k->samba_usable);
    assert_non_null(strstr(k->invalid_reason, "duplicate KeyMaterial"));
    sm_keycred_free(k);
}

static void check_file(const char *rel, const char *format, const char *owner, bool samba,
                       const char *device)
{
    size_t len;
    char *v = read_data(rel, &len);
    while (len && (v[len - 1] == '\n' || v[len - 1] == '\r'))
        v[--len] = '\0';
    struct sm_certs *cs = load_cert("keycred/whfb.pem");
    struct sm_keycred *k = parse_str(v);
    check_match(k, &cs->certs[0], strcmp(format, "bcrypt") == 0 ? "rsa" : "der", format);
    assert_string_equal(k->owner_dn, owner);
    assert_true(k->samba_usable == samba);
    assert_string_equal(k->created, "2025-06-01T08:30:00Z");
    if (device)
        assert_string_equal(k->device_id, device);
    else
        assert_null(k->device_id);
    sm_keycred_free(k);
    sm_certs_free(cs);
    free(v);
}

/* Values tests/tools/keycred.py made (tests/data/keycred/README.md). */
static void test_tool_values(void **state)
{
    (void)state;
    check_file("keycred/user_bcrypt.txt", "bcrypt", OWNER, true, DEVICE);
    check_file("keycred/samba_spki.txt", "spki", OWNER, true, NULL);
    check_file("keycred/computer_der.txt", "rsapublickey", "CN=PC01,CN=Computers,DC=example,DC=com",
               false, DEVICE);
    size_t len;
    char *v = read_data("keycred/user_bcrypt.txt", &len);
    struct sm_keycred *k = parse_str(strtok(v, "\n"));
    assert_string_equal(k->last_logon, "2025-06-02T09:00:00Z");
    sm_keycred_free(k);
    free(v);
}

/* ---- --check mode ----------------------------------------------------------------------- */

static int check_mode(const char *value, const char *cert_path)
{
    struct sm_certs *cs = load_path(cert_path);
    struct sm_keycred *k = NULL;
    struct sm_errinfo e;
    if (!cs) {
        fprintf(stderr, "cannot load %s\n", cert_path);
        return 2;
    }
    int r = sm_keycred_parse(value, strlen(value), &k, &e);
    if (r != 0) {
        fprintf(stderr, "parse: %s\n", e.text);
        sm_certs_free(cs);
        return 1;
    }
    bool match = sm_keycred_matches(k, &cs->certs[0]);
    printf("valid=%d reason=%s kind=%s format=%s bits=%u key_error=%s usage=%s device=%s "
           "created=%s key_id_ok=%d key_hash_ok=%d logon_key=%d samba_usable=%d match=%d\n",
           k->valid, k->invalid_reason ? k->invalid_reason : "-", k->key_kind ? k->key_kind : "-",
           k->key_format ? k->key_format : "-", k->key_bits, k->key_error ? k->key_error : "-",
           k->usage_name ? k->usage_name : "-", k->device_id ? k->device_id : "-",
           k->created ? k->created : "-", k->key_id_ok, k->key_hash_ok, k->logon_key,
           k->samba_usable, match);
    int ok = k->valid && k->logon_key && k->key_id_ok && k->key_hash_ok && match;
    sm_keycred_free(k);
    sm_certs_free(cs);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--check") == 0)
        return check_mode(argv[2], argv[3]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_keys_bcrypt),
        cmocka_unit_test(test_fixture_keys_der),
        cmocka_unit_test(test_not_matching),
        cmocka_unit_test(test_pss_certificate),
        cmocka_unit_test(test_der_building),
        cmocka_unit_test(test_bare_hex),
        cmocka_unit_test(test_bad_text),
        cmocka_unit_test(test_bad_blobs),
        cmocka_unit_test(test_parse_errors),
        cmocka_unit_test(test_keyid_keyhash),
        cmocka_unit_test(test_key_material_errors),
        cmocka_unit_test(test_usages),
        cmocka_unit_test(test_sources_and_times),
        cmocka_unit_test(test_key_size),
        cmocka_unit_test(test_samba_usable),
        cmocka_unit_test(test_tool_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

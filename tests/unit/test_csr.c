/*
 * tests/unit/test_csr.c - PKCS#10 requests (lib/cert_csr.c) against the fixtures of
 * tests/data/csr (made by gen.sh with openssl req): framing, the requested facts, the SID
 * carriers, the self-signature (valid, broken, Ed25519 verified by Nettle, an id-RSASSA-PSS key
 * not verifiable; tests/unit/test_csr_sig.c has every algorithm), and hostile input.
 * Agreement with `openssl req -text` field by field is checked by tests/cli/test_cli.py.
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

#include <strongmap/strongmap.h>

#define SID_1105 "S-1-5-21-1004336348-1177238915-682003330-1105"
#define SID_1300 "S-1-5-21-1004336348-1177238915-682003330-1300"

static char *read_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("SM_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof(path), "%s/csr/%s", dir ? dir : "tests/data", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    char *buf = malloc(256 * 1024);
    assert_non_null(buf);
    size_t n = fread(buf, 1, 256 * 1024 - 1, f);
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int parse(const char *name, struct sm_csr **ret, struct sm_errinfo *e)
{
    size_t len;
    char *buf = read_fixture(name, &len);
    int r = sm_csr_parse(buf, len, ret, e);
    free(buf);
    return r;
}

static struct sm_csr *load(const char *name)
{
    struct sm_csr *c = NULL;
    struct sm_errinfo e = { 0 };
    int r = parse(name, &c, &e);
    if (r != 0)
        fail_msg("%s: %d %s", name, r, e.text);
    assert_non_null(c);
    return c;
}

static const struct sm_san *san_of(const struct sm_cert *c, enum sm_san_type t, size_t nth)
{
    for (size_t i = 0; i < c->n_san; i++)
        if (c->san[i].type == t && nth-- == 0)
            return &c->san[i];
    return NULL;
}

static void test_rsa_upn(void **state)
{
    (void)state;
    struct sm_csr *c = load("rsa_upn.pem");
    const struct sm_cert *r = c->request;
    assert_string_equal(c->format, "pem");
    assert_int_equal(c->signature, SM_CSR_SIG_VALID);
    assert_null(c->signature_note);
    assert_string_equal(c->sig_alg_oid, "1.2.840.113549.1.1.11");
    assert_string_equal(r->subject.rfc4514, "CN=Alice,OU=Users,DC=example,DC=com");
    assert_string_equal(r->subject.ad, "DC=com,DC=example,OU=Users,CN=Alice");
    assert_string_equal(r->key_type, "RSA");
    assert_int_equal(r->key_bits, 2048);
    assert_int_equal(strlen(r->spki_sha1), 40);
    assert_int_equal(r->n_san, 1);
    assert_int_equal(r->san[0].type, SM_SAN_UPN);
    assert_string_equal(r->san[0].value, "alice@example.com");
    assert_int_equal(r->sid.status, SM_SID_ABSENT);
    assert_true(r->has_eku);
    assert_int_equal(r->n_eku, 1);
    assert_string_equal(r->eku[0], "1.3.6.1.5.5.7.3.2");
    assert_true(r->has_key_usage);
    /* the challengePassword is seen and ignored; both attributes are listed */
    assert_true(c->challenge_password);
    assert_int_equal(c->n_attributes, 2);
    assert_string_equal(c->attributes[0], "1.2.840.113549.1.9.7");
    assert_string_equal(c->attributes[1], "1.2.840.113549.1.9.14");
    /* a request has no issuer, serial, thumbprint or validity: no mapping needs them */
    assert_string_equal(r->issuer.rfc4514, "");
    assert_string_equal(r->sha1, "");
    assert_null(sm_cert_mapping(r, SM_MAP_ISSUER_SERIAL));
    assert_null(sm_cert_mapping(r, SM_MAP_SHA1_PUKEY));
    assert_null(sm_cert_mapping(r, SM_MAP_ISSUER_SUBJECT));
    assert_non_null(sm_cert_mapping(r, SM_MAP_SUBJECT_ONLY));
    assert_true(sm_findings_has(&r->findings, "no_sid"));
    assert_false(sm_findings_has(&r->findings, "no_ski"));
    assert_false(sm_findings_has(&r->findings, "expired"));
    sm_csr_free(c);
}

static void test_formats(void **state)
{
    (void)state;
    struct sm_csr *pem = load("rsa_upn.pem");
    const char *names[] = { "rsa_upn.der", "rsa_upn.b64", "rsa_upn_new.pem" };
    const char *formats[] = { "der", "base64", "pem" };
    for (size_t i = 0; i < 3; i++) {
        struct sm_csr *c = load(names[i]);
        assert_string_equal(c->format, formats[i]);
        assert_int_equal(c->der_len, pem->der_len);
        assert_memory_equal(c->der, pem->der, pem->der_len);
        assert_string_equal(c->request->spki_sha1, pem->request->spki_sha1);
        sm_csr_free(c);
    }
    sm_csr_free(pem);
}

static void test_ec_sid(void **state)
{
    (void)state;
    struct sm_csr *c = load("ec_upn_sid.pem");
    const struct sm_cert *r = c->request;
    char t[SM_SID_TEXT_MAX];
    assert_int_equal(c->signature, SM_CSR_SIG_VALID);
    assert_string_equal(r->key_type, "EC");
    assert_string_equal(r->key_curve, "P-256");
    assert_int_equal(r->key_bits, 256);
    assert_int_equal(r->sid.extension.status, SM_SID_VALID);
    assert_string_equal(sm_sid_format(&r->sid.extension.sid, t, sizeof(t)), SID_1105);
    assert_int_equal(r->sid.source, SM_SID_SOURCE_EXTENSION);
    assert_int_equal(r->n_eku, 2);
    sm_csr_free(c);
}

static void test_sid_carriers(void **state)
{
    (void)state;
    char t[SM_SID_TEXT_MAX];
    struct sm_csr *c = load("sid_uri_other.pem");
    assert_int_equal(c->request->sid.uri.status, SM_SID_VALID);
    assert_string_equal(sm_sid_format(&c->request->sid.uri.sid, t, sizeof(t)), SID_1300);
    assert_int_equal(c->request->sid.source, SM_SID_SOURCE_SAN_URI);
    sm_csr_free(c);
    c = load("sid_malformed.pem");
    assert_int_equal(c->request->sid.extension.status, SM_SID_MALFORMED);
    assert_non_null(c->request->sid.extension.reason);
    assert_true(sm_findings_has(&c->request->findings, "sid_extension_malformed"));
    sm_csr_free(c);
}

static void test_all_san(void **state)
{
    (void)state;
    struct sm_csr *c = load("all_san.pem");
    const struct sm_cert *r = c->request;
    assert_int_equal(r->n_san, 9);
    assert_string_equal(san_of(r, SM_SAN_UPN, 0)->value, "alice@example.com");
    assert_string_equal(san_of(r, SM_SAN_EMAIL, 0)->value, "alice@example.com");
    assert_string_equal(san_of(r, SM_SAN_DNS, 0)->value, "alice.example.com");
    assert_string_equal(san_of(r, SM_SAN_URI, 0)->value, "https://example.com/alice");
    assert_string_equal(san_of(r, SM_SAN_IP, 0)->value, "192.0.2.7");
    assert_string_equal(san_of(r, SM_SAN_IP, 1)->value, "2001:db8::7");
    assert_string_equal(san_of(r, SM_SAN_DIRNAME, 0)->value, "CN=Alice Dir,O=Example");
    assert_string_equal(san_of(r, SM_SAN_RID, 0)->value, "1.2.3.4");
    assert_string_equal(san_of(r, SM_SAN_OTHER, 0)->oid, "1.3.6.1.4.1.99999.1");
    assert_true(r->has_template);
    assert_string_equal(r->tmpl.oid, "1.3.6.1.4.1.311.21.8.1.2.3");
    assert_int_equal(r->tmpl.major, 100);
    assert_int_equal(r->tmpl.minor, 4);
    assert_string_equal(r->tmpl.name, "User");
    assert_true(r->has_basic_constraints);
    assert_false(r->is_ca);
    assert_int_equal(r->n_exts, 6);
    assert_non_null(sm_cert_mapping(r, SM_MAP_RFC822));
    sm_csr_free(c);
}

static void test_no_extensions(void **state)
{
    (void)state;
    struct sm_csr *c = load("no_ext.pem");
    assert_int_equal(c->request->n_san, 0);
    assert_int_equal(c->request->n_exts, 0);
    assert_false(c->request->has_eku);
    assert_true(sm_findings_has(&c->request->findings, "no_san"));
    sm_csr_free(c);
}

static void test_bad_signature(void **state)
{
    (void)state;
    struct sm_csr *c = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(parse("bad_signature.pem", &c, &e), SM_E_CSR_SIGNATURE);
    assert_null(c);
    assert_non_null(strstr(e.text, "self-signature does not verify"));
    assert_string_equal(sm_strerror(SM_E_CSR_SIGNATURE),
                        "certificate request's signature does not verify");
}

static void test_ed25519(void **state)
{
    (void)state;
    struct sm_csr *c = load("ed25519.pem"), *bad = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(c->signature, SM_CSR_SIG_VALID);
    assert_null(c->signature_note);
    assert_string_equal(c->request->key_type, "Ed25519");
    assert_string_equal(c->request->san[0].value, "alice@example.com");
    /* the last byte of its signature changed */
    uint8_t *der = malloc(c->der_len);
    assert_non_null(der);
    memcpy(der, c->der, c->der_len);
    der[c->der_len - 1] ^= 0x01;
    assert_int_equal(sm_csr_parse(der, c->der_len, &bad, &e), SM_E_CSR_SIGNATURE);
    assert_null(bad);
    assert_non_null(strstr(e.text, "self-signature does not verify (Ed25519)"));
    free(der);
    sm_csr_free(c);
}

/* A key neither mbedTLS 2.28 nor Nettle reads (id-RSASSA-PSS): read, signature not verified. */
static void test_not_verified(void **state)
{
    (void)state;
    struct sm_csr *c = load("algs/rsa_pss_key.pem");
    assert_int_equal(c->signature, SM_CSR_SIG_UNSUPPORTED);
    assert_string_equal(sm_csr_signature_name(c->signature), "not_verified");
    assert_non_null(strstr(c->signature_note, "signature not verified: unsupported algorithm"));
    assert_string_equal(c->request->san[0].value, "alice@example.com");
    sm_csr_free(c);
}

static void test_too_many_san(void **state)
{
    (void)state;
    struct sm_csr *c = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(parse("many_san.pem", &c, &e), SM_E_TOO_MANY);
    assert_null(c);
    assert_non_null(strstr(e.text, "subjectAltName"));
}

/* Every prefix of a good request, and every single-byte change, fails cleanly or parses. */
static void test_truncated_and_flipped(void **state)
{
    (void)state;
    struct sm_csr *good = load("ec_upn_sid.pem");
    size_t n = good->der_len;
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    for (size_t len = 0; len < n; len++) {
        struct sm_csr *c = NULL;
        struct sm_errinfo e = { 0 };
        int r = sm_csr_parse(good->der, len, &c, &e);
        assert_true(r < 0);
        assert_null(c);
        assert_true(e.text[0] != '\0' || r == -ENOMEM);
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(buf, good->der, n);
        buf[i] ^= 0x5a;
        struct sm_csr *c = NULL;
        struct sm_errinfo e = { 0 };
        int r = sm_csr_parse(buf, n, &c, &e);
        /* a change inside the signed part must never verify */
        assert_true(r < 0 || c->signature == SM_CSR_SIG_UNSUPPORTED || i >= n - 72);
        sm_csr_free(c);
    }
    free(buf);
    sm_csr_free(good);
}

static void test_hostile_framing(void **state)
{
    (void)state;
    struct sm_csr *c = NULL;
    struct sm_errinfo e = { 0 };
    assert_int_equal(sm_csr_parse("", 0, &c, &e), SM_E_EMPTY);
    assert_int_equal(sm_csr_parse("garbage!", 8, &c, &e), SM_E_FORMAT);
    const char *cert_pem = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    assert_int_equal(sm_csr_parse(cert_pem, strlen(cert_pem), &c, &e), SM_E_FORMAT);
    const char *no_end = "-----BEGIN CERTIFICATE REQUEST-----\nMAA=\n";
    assert_int_equal(sm_csr_parse(no_end, strlen(no_end), &c, &e), SM_E_FORMAT);
    const uint8_t empty_seq[] = { 0x30, 0x00 };
    assert_int_equal(sm_csr_parse(empty_seq, sizeof(empty_seq), &c, &e), SM_E_CSR);
    /* a request whose attribute is larger than SM_MAX_CERT_DER */
    size_t big = SM_MAX_CERT_DER + 1024;
    uint8_t *huge = calloc(1, big + 8);
    assert_non_null(huge);
    huge[0] = 0x30;
    huge[1] = 0x83;
    huge[2] = (uint8_t)(big >> 16);
    huge[3] = (uint8_t)(big >> 8);
    huge[4] = (uint8_t)big;
    assert_int_equal(sm_csr_parse(huge, big + 5, &c, &e), SM_E_TOO_BIG);
    /* trailing bytes after the request */
    struct sm_csr *good = load("rsa_upn.der");
    memcpy(huge, good->der, good->der_len);
    memcpy(huge + good->der_len, "junk", 4);
    assert_int_equal(sm_csr_parse(huge, good->der_len + 4, &c, &e), SM_E_CSR);
    assert_non_null(strstr(e.text, "follow the request"));
    free(huge);
    sm_csr_free(good);
    assert_null(c);
    assert_null(sm_csr_free(NULL));
}

/* Planned facts (sm_csr_planned()) are read as the request that asks for them would be. */
static void test_planned(void **state)
{
    (void)state;
    struct sm_csr *ref = load("rsa_upn.pem"), *c = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    const struct sm_san san[] = { { .type = SM_SAN_UPN, .value = "alice@example.com" } };
    static const uint8_t eku[] = { 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06,
                                   0x01, 0x05, 0x05, 0x07, 0x03, 0x02 }; /* clientAuth */
    struct sm_csr_planned_ext exts[2] = {
        { .oid = "2.5.29.37", .value = eku, .value_len = sizeof(eku) }
    };
    struct sm_csr_planned in = { .subject = "CN=Alice,OU=Users,DC=example,DC=com",
                                 .san = san,
                                 .n_san = 1,
                                 .exts = exts,
                                 .n_exts = 1 };
    struct sm_sid sid;
    uint8_t sid_der[128];
    char t[SM_SID_TEXT_MAX];

    assert_int_equal(sm_csr_planned(&in, &c, &e), 0);
    assert_string_equal(c->format, "planned");
    assert_int_equal(c->signature, SM_CSR_SIG_NONE);
    assert_string_equal(sm_csr_signature_name(c->signature), "none");
    assert_non_null(c->signature_note);
    const struct sm_cert *r = c->request, *q = ref->request;
    assert_string_equal(r->subject.rfc4514, q->subject.rfc4514);
    assert_string_equal(r->subject.ad, q->subject.ad);
    assert_int_equal(r->n_san, 1);
    assert_int_equal(r->san[0].type, SM_SAN_UPN);
    assert_string_equal(r->san[0].value, "alice@example.com");
    assert_true(r->has_eku);
    assert_int_equal(r->n_eku, 1);
    assert_string_equal(r->eku[0], "1.3.6.1.5.5.7.3.2");
    assert_int_equal(r->sid.status, SM_SID_ABSENT);
    assert_string_equal(r->key_type, "unknown");
    assert_string_equal(r->spki_sha1, "");
    assert_non_null(sm_cert_mapping(r, SM_MAP_SUBJECT_ONLY));
    assert_true(sm_findings_has(&r->findings, "no_sid"));
    assert_int_equal(c->n_attributes, 1);
    assert_string_equal(c->attributes[0], "1.2.840.113549.1.9.14");
    sm_csr_free(c);

    /* the SID extension, critical, and a SID URI, with an empty subject */
    assert_int_equal(sm_sid_parse(SID_1105, strlen(SID_1105), &sid, NULL, NULL), 0);
    long n = sm_sid_extension_der(&sid, sid_der, sizeof(sid_der));
    assert_true(n > 0);
    exts[1] = (struct sm_csr_planned_ext){
        .oid = "1.3.6.1.4.1.311.25.2", .critical = false, .value = sid_der, .value_len = (size_t)n
    };
    const struct sm_san uri[] = {
        { .type = SM_SAN_UPN, .value = "alice@example.com" }, /* written last: after the others */
        { .type = SM_SAN_URI, .value = "tag:microsoft.com,2022-09-14:sid:" SID_1300 },
        { .type = SM_SAN_DNS, .value = "ws01.example.com" },
        { .type = SM_SAN_EMAIL, .value = "alice@example.com" },
    };
    in = (struct sm_csr_planned){ .san = uri, .n_san = 4, .exts = exts, .n_exts = 2 };
    assert_int_equal(sm_csr_planned(&in, &c, &e), 0);
    r = c->request;
    assert_string_equal(r->subject.rfc4514, "");
    assert_int_equal(r->sid.extension.status, SM_SID_VALID);
    assert_string_equal(sm_sid_format(&r->sid.extension.sid, t, sizeof(t)), SID_1105);
    assert_int_equal(r->sid.uri.status, SM_SID_VALID);
    assert_string_equal(sm_sid_format(&r->sid.uri.sid, t, sizeof(t)), SID_1300);
    assert_int_equal(r->n_san, 4);
    assert_int_equal(r->san[0].type, SM_SAN_UPN);
    assert_string_equal(r->san[0].value, "alice@example.com");
    assert_int_equal(r->san[2].type, SM_SAN_DNS);
    assert_int_equal(r->san[3].type, SM_SAN_EMAIL);
    sm_csr_free(c);

    /* escapes: a character, two hex digits; types by name, long name or OID */
    in = (struct sm_csr_planned){
        .subject = "commonName=Smith\\, J\\c3\\a9r\\C3\\B4me,2.5.4.11=Users,dc=example,DC=com"
    };
    assert_int_equal(sm_csr_planned(&in, &c, &e), 0);
    assert_string_equal(c->request->subject.rfc4514,
                        "CN=Smith\\, J\xc3\xa9r\xc3\xb4me,OU=Users,DC=example,DC=com");
    assert_string_equal(c->request->subject.ad,
                        "DC=com,DC=example,OU=Users,CN=\"Smith, J\xc3\xa9r\xc3\xb4me\"");
    sm_csr_free(c);

    /* what cannot be planned: each refused with the part at fault, *ret untouched */
    struct sm_csr *untouched = (struct sm_csr *)(uintptr_t)1;
    const struct sm_san ip[] = { { .type = SM_SAN_IP, .value = "192.0.2.1" } };
    const struct sm_san empty[] = { { .type = SM_SAN_DNS, .value = "" } };
    struct sm_csr_planned_ext bad_oid[] = { { .oid = "1.2.x", .value = eku, .value_len = 1 } };
    struct sm_csr_planned_ext no_value[] = { { .oid = "2.5.29.37" } };
    struct sm_csr_planned_ext san_ext[] = {
        { .oid = "2.5.29.17", .value = eku, .value_len = sizeof(eku) }
    };
    struct {
        struct sm_csr_planned in;
        int r;
        const char *field;
    } bad[] = {
        { { .subject = "CN" }, -EINVAL, "subject" },
        { { .subject = "CN=a+OU=b" }, -EINVAL, "subject" },
        { { .subject = "XX=a" }, -EINVAL, "subject" },
        { { .subject = "CN=a\\" }, -EINVAL, "subject" },
        { { .san = ip, .n_san = 1 }, -EINVAL, "san" },
        { { .san = empty, .n_san = 1 }, -EINVAL, "san" },
        { { .exts = bad_oid, .n_exts = 1 }, -EINVAL, "extensions" },
        { { .exts = no_value, .n_exts = 1 }, -EINVAL, "extensions" },
        { { .san = san, .n_san = 1, .exts = san_ext, .n_exts = 1 }, -EINVAL, "extensions" },
        { { .san = san, .n_san = SM_MAX_SAN + 1 }, SM_E_TOO_MANY, "san" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sm_csr *out = untouched;
        e = (struct sm_errinfo)SM_ERRINFO_INIT;
        assert_int_equal(sm_csr_planned(&bad[i].in, &out, &e), bad[i].r);
        assert_ptr_equal(out, untouched);
        assert_true(e.text[0] != '\0');
        if (bad[i].field)
            assert_string_equal(e.field, bad[i].field);
    }
    sm_csr_free(ref);
}

/* One DER TLV at *@p (short or long length up to 4 bytes): its contents' length; *@p past its
   header. Test input only: the fixture is well formed. */
static size_t tlv(const uint8_t **p)
{
    size_t len = (*p)[1], hdr = 2;
    if (len & 0x80) {
        size_t n = len & 0x7f;
        len = 0;
        for (size_t i = 0; i < n; i++)
            len = len << 8 | (*p)[2 + i];
        hdr += n;
    }
    *p += hdr;
    return len;
}

/* Planned facts with the key and the keyUsage, extKeyUsage and basicConstraints of a CA's
   template: the key is read as the request's own; the extensions as if the request asked for
   them; one of @exts wins over the same fact. */
static void test_planned_key_and_usages(void **state)
{
    (void)state;
    struct sm_csr *ref = load("rsa_upn.pem"), *c = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    const uint8_t *p = ref->der, *spki;
    size_t spki_len;

    tlv(&p);      /* CertificationRequest */
    tlv(&p);      /* CertificationRequestInfo */
    p += tlv(&p); /* version */
    p += tlv(&p); /* subject */
    spki = p;
    spki_len = tlv(&p) + (size_t)(p - spki);

    const char *eku[] = { "1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.20.2.2" };
    struct sm_csr_planned in = { .subject = "CN=alice",
                                 .spki = spki,
                                 .spki_len = spki_len,
                                 .key_usage = 0x80 | 0x20, /* digitalSignature, keyEncipherment */
                                 .eku = eku,
                                 .n_eku = 2 };
    assert_int_equal(sm_csr_planned(&in, &c, &e), 0);
    const struct sm_cert *r = c->request, *q = ref->request;
    assert_string_equal(r->key_type, q->key_type);
    assert_int_equal(r->key_bits, q->key_bits);
    assert_string_equal(r->spki_sha1, q->spki_sha1);
    assert_string_equal(r->spk_sha1, q->spk_sha1);
    assert_true(r->has_key_usage);
    assert_int_equal(r->key_usage, 0xa0);
    assert_true(r->has_eku);
    assert_int_equal(r->n_eku, 2);
    assert_string_equal(r->eku[0], eku[0]);
    assert_string_equal(r->eku[1], eku[1]);
    assert_false(r->is_ca);
    sm_csr_free(c);

    /* an extKeyUsage extension given as such wins over the purposes; decipherOnly (bit 8) is
       the second byte's first bit (0x8000); cA */
    static const uint8_t server[] = { 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06,
                                      0x01, 0x05, 0x05, 0x07, 0x03, 0x01 }; /* serverAuth */
    struct sm_csr_planned_ext x[] = {
        { .oid = "2.5.29.37", .value = server, .value_len = sizeof(server) }
    };
    in = (struct sm_csr_planned){
        .exts = x, .n_exts = 1, .eku = eku, .n_eku = 2, .key_usage = 0x8000, .is_ca = true
    };
    assert_int_equal(sm_csr_planned(&in, &c, &e), 0);
    assert_int_equal(c->request->n_eku, 1);
    assert_string_equal(c->request->eku[0], "1.3.6.1.5.5.7.3.1");
    assert_int_equal(c->request->key_usage, 0x8000);
    assert_true(c->request->is_ca);
    assert_string_equal(c->request->key_type, "unknown");
    sm_csr_free(c);

    /* refused: a key that is not one SEQUENCE, a purpose that is not an OID, bits past 8 */
    static const uint8_t not_seq[] = { 0x04, 0x01, 0x00 };
    const char *bad_eku[] = { "clientAuth" };
    struct {
        struct sm_csr_planned in;
        const char *field;
    } bad[] = {
        { { .spki = not_seq, .spki_len = sizeof(not_seq) }, "spki" },
        { { .spki = spki, .spki_len = spki_len - 1 }, "spki" },
        { { .eku = bad_eku, .n_eku = 1 }, "eku" },
        { { .key_usage = 0x100 }, "key_usage" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sm_csr *out = NULL;
        e = (struct sm_errinfo)SM_ERRINFO_INIT;
        assert_int_equal(sm_csr_planned(&bad[i].in, &out, &e), -EINVAL);
        assert_null(out);
        assert_string_equal(e.field, bad[i].field);
    }
    sm_csr_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rsa_upn),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_ec_sid),
        cmocka_unit_test(test_sid_carriers),
        cmocka_unit_test(test_all_san),
        cmocka_unit_test(test_no_extensions),
        cmocka_unit_test(test_bad_signature),
        cmocka_unit_test(test_ed25519),
        cmocka_unit_test(test_not_verified),
        cmocka_unit_test(test_too_many_san),
        cmocka_unit_test(test_truncated_and_flipped),
        cmocka_unit_test(test_hostile_framing),
        cmocka_unit_test(test_planned),
        cmocka_unit_test(test_planned_key_and_usages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

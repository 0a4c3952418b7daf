/*
 * tests/unit/test_cert.c - certificate analysis against the checked-in fixtures
 * (tests/data/certs, made by gen.sh with openssl). Field-for-field agreement with openssl is
 * checked at test time by tests/openssl/compare.py; this file checks what only strongmap
 * knows: SID carriers and reasons, AD and Samba name forms, mapping strings, findings, input
 * framing and limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <strongmap/strongmap.h>

#include "util.h" /* su_base64_decode, su_buf_base64: the decoder against the encoder */

#define SID_1105  "S-1-5-21-1004336348-1177238915-682003330-1105"
#define ISSUER_AD "DC=com,DC=example,CN=Example Issuing CA"

static char *read_fixture(const char *name, size_t *len)
{
    const char *dir = getenv("SM_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof(path), "%s/certs/%s", dir ? dir : "tests/data", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    static char buf[256 * 1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, buf, n + 1);
    *len = n;
    return copy;
}

/* Parse a fixture; evaluation time 2026-06-01 so validity findings do not depend on today. */
static struct sm_certs *load(const char *name)
{
    size_t len;
    char *buf = read_fixture(name, &len);
    struct sm_certs *c = NULL;
    struct sm_errinfo e = { 0 };
    struct sm_parse_opts o = { .now = 1780272000 };
    int r = sm_certs_parse(buf, len, &o, &c, &e);
    free(buf);
    if (r != 0)
        fail_msg("%s: %d %s", name, r, e.text);
    assert_non_null(c);
    assert_true(c->n_certs >= 1);
    return c;
}

static const char *mapping(const struct sm_cert *c, enum sm_map_type t)
{
    const struct sm_mapping *m = sm_cert_mapping(c, t);
    return m ? m->value : NULL;
}

static void test_sid_extension(void **state)
{
    (void)state;
    struct sm_certs *s = load("sid_ext.pem");
    const struct sm_cert *c = &s->certs[0];
    char t[SM_SID_TEXT_MAX];
    assert_int_equal(c->sid.status, SM_SID_VALID);
    assert_int_equal(c->sid.source, SM_SID_SOURCE_EXTENSION);
    assert_string_equal(sm_sid_format(&c->sid.extension.sid, t, sizeof(t)), SID_1105);
    assert_int_equal(c->sid.uri.status, SM_SID_ABSENT);
    assert_false(c->sid.conflict);
    assert_false(sm_findings_has(&c->findings, "no_sid"));
    assert_string_equal(c->subject.ad, "DC=com,DC=example,OU=Users,CN=Alice");
    assert_string_equal(c->issuer.ad, ISSUER_AD);
    assert_string_equal(c->subject.rfc4514, "CN=Alice,OU=Users,DC=example,DC=com");
    assert_string_equal(mapping(c, SM_MAP_ISSUER_SID), "X509:<I>" ISSUER_AD "<SID>" SID_1105);
    assert_string_equal(mapping(c, SM_MAP_ISSUER_SERIAL),
                        "X509:<I>" ISSUER_AD "<SR>01006F5E4D3C2B1A");
    char ski[128];
    snprintf(ski, sizeof(ski), "X509:<SKI>%s", c->ski);
    assert_string_equal(mapping(c, SM_MAP_SKI), ski);
    char sha[128];
    snprintf(sha, sizeof(sha), "X509:<SHA1-PUKEY>%s", c->sha1);
    assert_string_equal(mapping(c, SM_MAP_SHA1_PUKEY), sha);
    /* the SKI openssl wrote ("hash") is the SHA-1 of the key bits (RFC 5280 4.2.1.2, (1)) */
    assert_string_equal(c->ski, c->spk_sha1);
    assert_int_equal(c->n_san, 1);
    assert_int_equal(c->san[0].type, SM_SAN_UPN);
    assert_string_equal(c->san[0].value, "alice@example.com");
    assert_true(c->full_parse);
    sm_certs_free(s);
}

static void test_sid_uri_only(void **state)
{
    (void)state;
    struct sm_certs *s = load("sid_uri.pem");
    const struct sm_cert *c = &s->certs[0];
    assert_int_equal(c->sid.status, SM_SID_VALID);
    assert_int_equal(c->sid.source, SM_SID_SOURCE_SAN_URI);
    assert_int_equal(c->sid.extension.status, SM_SID_ABSENT);
    assert_true(sm_findings_has(&c->findings, "sid_uri_only"));
    assert_string_equal(mapping(c, SM_MAP_ISSUER_SID), "X509:<I>" ISSUER_AD "<SID>" SID_1105);
    sm_certs_free(s);
}

static void test_sid_both(void **state)
{
    (void)state;
    struct sm_certs *s = load("sid_both_agree.pem");
    assert_false(s->certs[0].sid.conflict);
    assert_int_equal(s->certs[0].sid.source, SM_SID_SOURCE_EXTENSION);
    assert_false(sm_findings_has(&s->certs[0].findings, "sid_conflict"));
    sm_certs_free(s);

    s = load("sid_both_conflict.pem");
    const struct sm_cert *c = &s->certs[0];
    assert_true(c->sid.conflict);
    assert_int_equal(c->sid.source, SM_SID_SOURCE_EXTENSION);
    assert_true(sm_findings_has(&c->findings, "sid_conflict"));
    /* Windows uses the extension's SID for X509IssuerSID */
    assert_string_equal(mapping(c, SM_MAP_ISSUER_SID), "X509:<I>" ISSUER_AD "<SID>" SID_1105);
    sm_certs_free(s);
}

struct malformed_case {
    const char *file;
    const char *reason_part;
};

static void test_sid_malformed(void **state)
{
    (void)state;
    static const struct malformed_case cases[] = {
        { "sid_bad_oid.pem", "type-id is 1.3.6.1.4.1.311.25.2.2" },
        { "sid_two.pem", "holds 2 SID otherNames" },
        { "sid_not_octet.pem", "not an OCTET STRING" },
        { "sid_bad_text.pem", "not a SID" },
        { "sid_empty.pem", "empty" },
        { "sid_empty_string.pem", "empty" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sm_certs *s = load(cases[i].file);
        const struct sm_cert *c = &s->certs[0];
        if (c->sid.status != SM_SID_MALFORMED || c->sid.source != SM_SID_SOURCE_EXTENSION)
            fail_msg("%s: status %d source %d", cases[i].file, c->sid.status, c->sid.source);
        if (!c->sid.extension.reason || !strstr(c->sid.extension.reason, cases[i].reason_part))
            fail_msg("%s: reason \"%s\"", cases[i].file, c->sid.extension.reason);
        assert_true(sm_findings_has(&c->findings, "sid_extension_malformed"));
        /* no X509IssuerSID without a valid SID */
        assert_null(mapping(c, SM_MAP_ISSUER_SID));
        sm_certs_free(s);
    }
}

static void test_sid_uri_malformed(void **state)
{
    (void)state;
    struct sm_certs *s = load("sid_uri_two.pem");
    assert_int_equal(s->certs[0].sid.status, SM_SID_MALFORMED);
    assert_int_equal(s->certs[0].sid.source, SM_SID_SOURCE_SAN_URI);
    assert_non_null(strstr(s->certs[0].sid.uri.reason, "2 SID URIs"));
    sm_certs_free(s);
    s = load("sid_uri_bad.pem");
    assert_int_equal(s->certs[0].sid.status, SM_SID_MALFORMED);
    assert_true(sm_findings_has(&s->certs[0].findings, "sid_uri_malformed"));
    sm_certs_free(s);
}

static void test_sid_critical_and_noncanonical(void **state)
{
    (void)state;
    struct sm_certs *s = load("sid_critical.pem");
    assert_int_equal(s->certs[0].sid.status, SM_SID_VALID);
    assert_true(s->certs[0].sid.extension.critical);
    assert_true(sm_findings_has(&s->certs[0].findings, "sid_extension_critical"));
    assert_false(sm_findings_has(&s->certs[0].findings, "unknown_critical_extension"));
    sm_certs_free(s);
    s = load("sid_noncanonical.pem");
    assert_int_equal(s->certs[0].sid.status, SM_SID_VALID);
    assert_false(s->certs[0].sid.extension.canonical);
    assert_true(sm_findings_has(&s->certs[0].findings, "sid_text_not_canonical"));
    sm_certs_free(s);
}

static void test_upn_only(void **state)
{
    (void)state;
    struct sm_certs *s = load("upn_only.pem");
    const struct sm_cert *c = &s->certs[0];
    assert_int_equal(c->sid.status, SM_SID_ABSENT);
    assert_int_equal(c->sid.source, SM_SID_SOURCE_NONE);
    assert_true(sm_findings_has(&c->findings, "no_sid"));
    assert_null(mapping(c, SM_MAP_ISSUER_SID));
    assert_non_null(mapping(c, SM_MAP_ISSUER_SERIAL));
    sm_certs_free(s);
}

static void test_computer(void **state)
{
    (void)state;
    struct sm_certs *s = load("computer_dns.pem");
    const struct sm_cert *c = &s->certs[0];
    bool dns = false;
    for (size_t i = 0; i < c->n_san; i++)
        if (c->san[i].type == SM_SAN_DNS && strcmp(c->san[i].value, "ws01.example.com") == 0)
            dns = true;
    assert_true(dns);
    assert_int_equal(c->sid.status, SM_SID_VALID);
    assert_int_equal(c->sid.extension.sid.sub[4], 1200);
    sm_certs_free(s);
}

static void test_names(void **state)
{
    (void)state;
    struct sm_certs *s = load("multivalue_rdn.pem");
    const struct sm_cert *c = &s->certs[0];
    assert_true(c->subject.multi_valued);
    assert_string_equal(c->subject.ad,
                        "DC=com,DC=example,OU=Users,CN=Bob OID.0.9.2342.19200300.100.1.1=bob");
    assert_string_equal(c->subject.rfc4514, "UID=bob+CN=Bob,OU=Users,DC=example,DC=com");
    assert_string_equal(c->subject.samba, "DC=com,DC=example,OU=Users,UID=bob+CN=Bob");
    sm_certs_free(s);

    s = load("quotes.pem");
    c = &s->certs[0];
    assert_string_equal(c->subject.ad, "DC=com,DC=example,O=\"#Hash Org\",OU=\" Sales Team \","
                                       "L=Back\\slash City,CN=\"J\xc3\xb6rg, \"\"Jr\"\" + "
                                       "Co;<x>=#\"");
    assert_string_equal(c->subject.rfc4514,
                        "CN=J\xc3\xb6rg\\, \\\"Jr\\\" \\+ Co\\;\\<x\\>=#,L=Back\\\\slash City,"
                        "OU=\\ Sales Team\\ ,O=\\#Hash Org,DC=example,DC=com");
    /* the '<' in the CN makes Samba's parser see a new tag: no name-based mapping there */
    assert_false(sm_cert_mapping(c, SM_MAP_SUBJECT_ONLY)->samba_supported);
    assert_false(sm_cert_mapping(c, SM_MAP_ISSUER_SUBJECT)->samba_supported);
    assert_true(sm_cert_mapping(c, SM_MAP_ISSUER_SERIAL)->samba_supported);
    sm_certs_free(s);

    s = load("bmp_names.pem");
    c = &s->certs[0];
    bool bmp = false;
    for (size_t i = 0; i < c->subject.n_attrs; i++)
        if (c->subject.attrs[i].asn1_tag == 30 && strcmp(c->subject.attrs[i].oid, "2.5.4.3") == 0) {
            bmp = true;
            assert_string_equal(c->subject.attrs[i].value,
                                "Zo\xc3\xab \xce\xa9 \xe6\x9d\xb1\xe4\xba\xac");
        }
    assert_true(bmp);
    sm_certs_free(s);

    s = load("teletex.pem");
    c = &s->certs[0];
    assert_non_null(strstr(c->subject.rfc4514, "CN=Ren\xc3\xa9"
                                               "e Teletex"));
    sm_certs_free(s);

    s = load("long_cn.pem");
    c = &s->certs[0];
    const struct sm_name_attr *cn = &c->subject.attrs[c->subject.n_attrs - 1];
    assert_string_equal(cn->oid, "2.5.4.3");
    assert_int_equal(strlen(cn->value), 300);
    sm_certs_free(s);

    s = load("empty_subject.pem");
    c = &s->certs[0];
    assert_int_equal(c->subject.n_attrs, 0);
    assert_string_equal(c->subject.rfc4514, "");
    assert_null(mapping(c, SM_MAP_ISSUER_SUBJECT));
    assert_null(mapping(c, SM_MAP_SUBJECT_ONLY));
    assert_true(sm_findings_has(&c->findings, "empty_subject"));
    sm_certs_free(s);
}

static void test_serials(void **state)
{
    (void)state;
    struct sm_certs *s = load("kb_serial.pem");
    const struct sm_cert *c = &s->certs[0];
    /* KB5014754's example: 2B0000000011AC0000000012 -> <SR>1200000000AC11000000002B */
    assert_string_equal(c->serial, "2B0000000011AC0000000012");
    assert_string_equal(mapping(c, SM_MAP_ISSUER_SERIAL),
                        "X509:<I>" ISSUER_AD "<SR>1200000000AC11000000002B");
    assert_null(sm_cert_mapping(c, SM_MAP_ISSUER_SERIAL)->samba);
    sm_certs_free(s);

    s = load("serial_high_bit.pem");
    c = &s->certs[0];
    assert_string_equal(c->serial, "008F1E2D3C4B5A69788796A5B4C3D2E1F0");
    assert_true(c->serial_sign_byte);
    assert_false(c->serial_negative);
    const struct sm_mapping *m = sm_cert_mapping(c, SM_MAP_ISSUER_SERIAL);
    /* Windows keeps the sign byte (trailing 00 once reversed), Samba strips it */
    assert_string_equal(m->value, "X509:<I>" ISSUER_AD "<SR>F0E1D2C3B4A5968778695A4B3C2D1E8F00");
    assert_string_equal(m->samba, "X509:<I>" ISSUER_AD "<SR>F0E1D2C3B4A5968778695A4B3C2D1E8F");
    assert_true(sm_findings_has(&c->findings, "serial_sign_byte"));
    sm_certs_free(s);
}

static void test_keys_and_partial_parse(void **state)
{
    (void)state;
    struct sm_certs *s = load("ec_key.pem");
    assert_string_equal(s->certs[0].key_type, "EC");
    assert_string_equal(s->certs[0].key_curve, "P-256");
    assert_int_equal(s->certs[0].key_bits, 256);
    sm_certs_free(s);

    s = load("ec_p384.pem");
    assert_int_equal(s->certs[0].key_bits, 384);
    sm_certs_free(s);

    s = load("ed25519.pem");
    const struct sm_cert *c = &s->certs[0];
    assert_false(c->full_parse);
    assert_non_null(c->parse_note);
    assert_string_equal(c->key_type, "Ed25519");
    assert_string_equal(c->sig_alg, "Ed25519");
    assert_int_equal(c->sid.status, SM_SID_VALID); /* every fact still read */
    assert_non_null(c->ski);
    assert_true(sm_findings_has(&c->findings, "partial_parse"));
    sm_certs_free(s);

    s = load("rsa_pss.pem");
    c = &s->certs[0];
    assert_false(c->full_parse);
    assert_string_equal(c->key_type, "RSASSA-PSS");
    assert_int_equal(c->key_bits, 2048);
    sm_certs_free(s);

    s = load("unknown_critical.pem");
    c = &s->certs[0];
    assert_true(c->full_parse); /* accepted through the extension callback */
    assert_true(sm_findings_has(&c->findings, "unknown_critical_extension"));
    sm_certs_free(s);
}

static void test_eku_and_validity(void **state)
{
    (void)state;
    struct sm_certs *s = load("eku_server_only.pem");
    assert_true(sm_findings_has(&s->certs[0].findings, "eku_not_logon"));
    sm_certs_free(s);
    s = load("eku_any.pem");
    assert_false(sm_findings_has(&s->certs[0].findings, "eku_not_logon"));
    sm_certs_free(s);
    s = load("no_eku.pem");
    assert_false(s->certs[0].has_eku);
    assert_true(sm_findings_has(&s->certs[0].findings, "no_eku"));
    sm_certs_free(s);
    s = load("sid_ext.pem");
    assert_false(sm_findings_has(&s->certs[0].findings, "eku_not_logon"));
    assert_false(sm_findings_has(&s->certs[0].findings, "expired"));
    sm_certs_free(s);
    s = load("expired.pem");
    assert_true(sm_findings_has(&s->certs[0].findings, "expired"));
    sm_certs_free(s);
    s = load("not_yet_valid.pem");
    assert_true(sm_findings_has(&s->certs[0].findings, "not_yet_valid"));
    assert_string_equal(s->certs[0].not_before, "2099-01-01T00:00:00Z");
    sm_certs_free(s);
    s = load("no_ski.pem");
    assert_null(s->certs[0].ski);
    assert_null(mapping(&s->certs[0], SM_MAP_SKI));
    assert_true(sm_findings_has(&s->certs[0].findings, "no_ski"));
    sm_certs_free(s);
}

static void test_all_san_and_template(void **state)
{
    (void)state;
    struct sm_certs *s = load("all_san.pem");
    const struct sm_cert *c = &s->certs[0];
    int seen[16] = { 0 };
    for (size_t i = 0; i < c->n_san; i++) {
        const struct sm_san *x = &c->san[i];
        seen[x->type == SM_SAN_UPN ? 15 : x->type]++;
        if (x->type == SM_SAN_IP && strchr(x->value, ':'))
            assert_string_equal(x->value, "2001:db8::7");
        if (x->type == SM_SAN_RID)
            assert_string_equal(x->value, "1.2.3.4");
    }
    assert_int_equal(seen[15], 1);           /* UPN */
    assert_int_equal(seen[SM_SAN_OTHER], 1); /* GUID otherName */
    assert_int_equal(seen[SM_SAN_EMAIL], 2);
    assert_int_equal(seen[SM_SAN_IP], 2);
    assert_int_equal(seen[SM_SAN_DIRNAME], 1);
    /* one X509RFC822 mapping per email SAN */
    size_t rfc822 = 0;
    for (size_t i = 0; i < c->n_mappings; i++)
        if (c->mappings[i].type == SM_MAP_RFC822)
            rfc822++;
    assert_int_equal(rfc822, 2);
    sm_certs_free(s);

    s = load("template.pem");
    c = &s->certs[0];
    assert_true(c->has_template);
    assert_string_equal(c->tmpl.oid, "1.3.6.1.4.1.311.21.8.1.2.3");
    assert_int_equal(c->tmpl.major, 100);
    assert_int_equal(c->tmpl.minor, 4);
    assert_string_equal(c->tmpl.name, "User");
    assert_int_equal(c->n_crl_urls, 1);
    assert_string_equal(c->crl_urls[0], "http://pki.example.com/ca.crl");
    assert_int_equal(c->n_aia_ocsp, 1);
    assert_string_equal(c->aia_issuers[0], "http://pki.example.com/ca.crt");
    sm_certs_free(s);
}

static void test_framing(void **state)
{
    (void)state;
    struct sm_certs *s = load("chain.pem");
    assert_int_equal(s->n_certs, 3);
    assert_int_equal(s->n_errors, 0);
    assert_string_equal(s->format, "pem");
    assert_true(s->certs[2].is_ca);
    sm_certs_free(s);

    s = load("sid_ext.der");
    assert_string_equal(s->format, "der");
    char sha[41];
    strcpy(sha, s->certs[0].sha1);
    sm_certs_free(s);
    s = load("sid_ext.b64");
    assert_string_equal(s->format, "base64");
    assert_string_equal(s->certs[0].sha1, sha);
    sm_certs_free(s);
    s = load("sid_ext.pem");
    assert_string_equal(s->certs[0].sha1, sha);
    sm_certs_free(s);

    s = load("trailing_garbage.der");
    assert_true(sm_findings_has(&s->certs[0].findings, "trailing_data"));
    sm_certs_free(s);
    s = load("trailing_garbage.pem");
    assert_int_equal(s->n_certs, 1);
    sm_certs_free(s);
}

static int parse_str(const char *in, size_t len, struct sm_certs **c, struct sm_errinfo *e)
{
    return sm_certs_parse(in, len, NULL, c, e);
}

/* base64 input: white space anywhere, padding only at the end, whole quanta only */
static void test_base64_input(void **state)
{
    (void)state;
    struct sm_certs *c = NULL;
    struct sm_errinfo e;
    size_t len;
    char *b64 = read_fixture("sid_ext.b64", &len);
    char *spaced = malloc(2 * len + 1);
    assert_non_null(spaced);
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        spaced[n++] = b64[i];
        if (i % 7 == 3)
            spaced[n++] = i % 2 ? '\t' : ' ';
    }
    assert_int_equal(parse_str(spaced, n, &c, &e), 0);
    assert_int_equal(c->n_certs, 1);
    assert_string_equal(c->format, "base64");
    c = sm_certs_free(c);
    free(spaced);
    free(b64);

    /* decodes (to a truncated DER): SM_E_CERT; does not decode: SM_E_FORMAT */
    assert_int_equal(parse_str("MA==", 4, &c, &e), SM_E_CERT);
    assert_int_equal(parse_str(" M A = = ", 9, &c, &e), SM_E_CERT);
    assert_int_equal(parse_str("MAA=", 4, &c, &e), SM_E_CERT);
    assert_int_equal(parse_str("MA=", 3, &c, &e), SM_E_FORMAT);      /* not whole quanta */
    assert_int_equal(parse_str("MAA", 3, &c, &e), SM_E_FORMAT);      /* no padding */
    assert_int_equal(parse_str("M===", 4, &c, &e), SM_E_FORMAT);     /* three '=' */
    assert_int_equal(parse_str("MA=A", 4, &c, &e), SM_E_FORMAT);     /* data after '=' */
    assert_int_equal(parse_str("MA==MAAA", 8, &c, &e), SM_E_FORMAT); /* data after padding */
    assert_int_equal(parse_str("MAA.", 4, &c, &e), SM_E_FORMAT);     /* not the alphabet */
    assert_int_equal(parse_str("MA-_", 4, &c, &e), SM_E_FORMAT);     /* base64url is not PEM */
    assert_null(c);
}

/* Round trips through su_buf_base64 and su_base64_decode, every length 0..300, with white
   space sprinkled in (the decoder has a four-character fast path and a per-character one). */
static void test_base64_roundtrip(void **state)
{
    (void)state;
    uint8_t in[300], out[1024];
    unsigned seed = 12345;
    for (size_t len = 0; len <= sizeof(in); len++) {
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
        struct su_buf enc;
        arena_buf_init(&enc, NULL);
        su_buf_base64(&enc, in, len);
        const char *text = su_buf_str(&enc);
        assert_non_null(text);
        char spaced[1024];
        size_t n = 0;
        for (size_t i = 0; text[i]; i++) {
            if ((seed = seed * 1103515245u + 12345u) >> 29 == 0)
                spaced[n++] = " \n\t\r"[(seed >> 16) & 3];
            spaced[n++] = text[i];
        }
        for (int pass = 0; pass < 2; pass++) {
            const char *t = pass ? spaced : text;
            size_t tl = pass ? n : strlen(text);
            assert_true(tl / 4 * 3 <= sizeof(out));
            long got = su_base64_decode(t, tl, SU_B64_SPACE, out);
            assert_int_equal(got, (long)len);
            assert_memory_equal(out, in, len);
        }
        su_buf_release(&enc);
    }
}

/* The fixtures' not_before_t/not_after_t against timegm() of their RFC 3339 text
   (su_days_from_civil() itself: tests/unit/test_support.c). */
static time_t timegm_of(const char *text)
{
    struct tm tm = { 0 };
    assert_int_equal(sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec),
                     6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

static void test_validity_times(void **state)
{
    (void)state;
    static const char *const files[] = { "sid_ext.pem", "expired.pem", "not_yet_valid.pem",
                                         "v1_cert.pem", "ed25519.pem", "rsa_pss.pem",
                                         "chain.pem" };
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        struct sm_certs *s = load(files[f]);
        for (size_t i = 0; i < s->n_certs; i++) {
            const struct sm_cert *c = &s->certs[i];
            assert_int_equal((long long)c->not_before_t, (long long)timegm_of(c->not_before));
            assert_int_equal((long long)c->not_after_t, (long long)timegm_of(c->not_after));
        }
        sm_certs_free(s);
    }
}

static void test_bad_input(void **state)
{
    (void)state;
    struct sm_certs *c = NULL;
    struct sm_errinfo e;
    assert_int_equal(parse_str("", 0, &c, &e), SM_E_EMPTY);
    assert_int_equal(parse_str("hello world!", 12, &c, &e), SM_E_FORMAT);
    assert_int_equal(parse_str("\x30\x82\xff\xff\x01", 5, &c, &e), SM_E_CERT);
    assert_int_equal(parse_str("MIIB", 4, &c, &e), SM_E_CERT); /* base64 of a truncated DER */
    const char *key = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n";
    assert_int_equal(parse_str(key, strlen(key), &c, &e), SM_E_FORMAT);
    assert_non_null(strstr(e.text, "no certificate"));
    const char *bad = "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n";
    assert_int_equal(parse_str(bad, strlen(bad), &c, &e), SM_E_FORMAT);
    const char *noend = "-----BEGIN CERTIFICATE-----\nMIIB\n";
    assert_int_equal(parse_str(noend, strlen(noend), &c, &e), SM_E_FORMAT);
    assert_null(c);

    char *big = calloc(1, SM_MAX_INPUT + 1);
    assert_non_null(big);
    assert_int_equal(parse_str(big, SM_MAX_INPUT + 1, &c, &e), SM_E_TOO_BIG);
    free(big);

    /* a good certificate among bad blocks: read, with the bad ones listed */
    size_t len;
    char *pem = read_fixture("sid_ext.pem", &len);
    size_t total = len + strlen(bad) + 1;
    char *mixed = malloc(total);
    assert_non_null(mixed);
    snprintf(mixed, total, "%s%s", bad, pem);
    assert_int_equal(parse_str(mixed, strlen(mixed), &c, &e), 0);
    assert_int_equal(c->n_certs, 1);
    assert_int_equal(c->n_errors, 1);
    assert_int_equal(c->errors[0].index, 0);
    assert_int_equal(c->certs[0].index, 1);
    c = sm_certs_free(c);

    /* more than SM_MAX_CERTS certificates */
    char *many = malloc((len + 1) * (SM_MAX_CERTS + 1) + 1);
    assert_non_null(many);
    many[0] = '\0';
    for (int i = 0; i <= SM_MAX_CERTS; i++)
        strcat(many, pem);
    assert_int_equal(parse_str(many, strlen(many), &c, &e), SM_E_TOO_MANY);
    free(many);
    free(mixed);
    free(pem);
}

/* Every single-byte corruption of a certificate is either rejected or analysed: no crash. */
static void test_corruption(void **state)
{
    (void)state;
    size_t len;
    char *der = read_fixture("sid_ext.der", &len);
    char *copy = malloc(len);
    assert_non_null(copy);
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, der, len);
        copy[i] ^= 0x5a;
        struct sm_certs *c = NULL;
        struct sm_errinfo e;
        if (sm_certs_parse(copy, len, NULL, &c, &e) == 0) {
            char *json;
            assert_int_equal(sm_json_certs(c, 0, &json), 0);
            free(json);
            sm_certs_free(c);
        }
        /* and every truncation */
        if (sm_certs_parse(der, i, NULL, &c, &e) == 0)
            sm_certs_free(c);
    }
    free(copy);
    free(der);
}

static void test_json_contract(void **state)
{
    (void)state;
    struct sm_certs *s = load("sid_ext.pem");
    char *json;
    assert_int_equal(sm_json_certs(s, 0, &json), 0);
    static const char *const keys[] = {
        "\"subject\":",
        "\"issuer\":",
        "\"serial\":",
        "\"not_before\":",
        "\"not_after\":",
        "\"sha1\":",
        "\"sha256\":",
        "\"ski\":",
        "\"san\":",
        "\"upn\":",
        "\"sid\":",
        "\"eku\":",
        "\"template\":",
        "\"mappings\":",
        "\"findings\":",
        "\"X509IssuerSerialNumber\":",
        "\"X509RFC822\":[]",
        "\"source\":\"extension\"",
        "\"status\":\"valid\"",
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (!strstr(json, keys[i]))
            fail_msg("missing %s", keys[i]);
    free(json);
    sm_certs_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sid_extension),
        cmocka_unit_test(test_sid_uri_only),
        cmocka_unit_test(test_sid_both),
        cmocka_unit_test(test_sid_malformed),
        cmocka_unit_test(test_sid_uri_malformed),
        cmocka_unit_test(test_sid_critical_and_noncanonical),
        cmocka_unit_test(test_upn_only),
        cmocka_unit_test(test_computer),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_serials),
        cmocka_unit_test(test_keys_and_partial_parse),
        cmocka_unit_test(test_eku_and_validity),
        cmocka_unit_test(test_all_san_and_template),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_base64_input),
        cmocka_unit_test(test_base64_roundtrip),
        cmocka_unit_test(test_validity_times),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_json_contract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

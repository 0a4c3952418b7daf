/*
 * tests/unit/test_altsecid.c - altSecurityIdentities parse, match, lint (docs/mapping-rules.md).
 *
 * The certificates are built by hand (struct sm_cert) so these tests depend only on util.c,
 * sid.c and altsecid.c.
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

#include <strongmap/altsecid.h>

/* ---- the certificates ------------------------------------------------------------------------ */

#define ISSUER_AD  "DC=com,DC=contoso,CN=CONTOSO-DC-CA"
#define ISSUER_RFC "CN=CONTOSO-DC-CA,DC=contoso,DC=com"
#define ALICE_AD   "DC=com,DC=contoso,CN=Users,CN=Alice"
#define ALICE_RFC  "CN=Alice,CN=Users,DC=contoso,DC=com"
#define BOB_AD     "DC=com,DC=contoso,CN=Users,CN=Bob"
#define BOB_RFC    "CN=Bob,CN=Users,DC=contoso,DC=com"
#define A_SERIAL   "2B0000000011AC0000000012"
#define A_SR       "1200000000AC11000000002B" /* KB5014754 example */
#define A_SHA1     "A1B2C3D4E5F60718293A4B5C6D7E8F9011223344"
#define A_SPKI     "0123456789ABCDEF0123456789ABCDEF01234567"
#define A_SPK      "F7C58BE8B0C4512E32AA8A4BF9FA2BA4A7D6BBAF"
#define A_SKI      "9D1E2F3A4B5C6D7E8F901A2B3C4D5E6F70819203"
#define A_SID      "S-1-5-21-1004336348-1177238915-682003330-1105"
#define B_SERIAL   "00F0000000000001" /* DER sign byte */
#define B_SR       "010000000000F000"
#define B_SHA1     "0000111122223333444455556666777788889999"

#define A_ISSUER_SERIAL "X509:<I>" ISSUER_AD "<SR>" A_SR
#define A_SKI_VALUE     "X509:<SKI>" A_SKI
#define A_SHA1_VALUE    "X509:<SHA1-PUKEY>" A_SHA1
#define A_ISSUER_SID    "X509:<I>" ISSUER_AD "<SID>" A_SID
#define A_ISSUER_SUBJ   "X509:<I>" ISSUER_AD "<S>" ALICE_AD
#define A_SUBJECT       "X509:<S>" ALICE_AD
#define A_RFC822        "X509:<RFC822>alice@contoso.com"
#define B_ISSUER_SERIAL "X509:<I>" ISSUER_AD "<SR>" B_SR

static const struct sm_mapping a_mappings[] = {
    { SM_MAP_ISSUER_SERIAL, A_ISSUER_SERIAL, NULL, true },
    { SM_MAP_SKI, A_SKI_VALUE, NULL, true },
    { SM_MAP_SHA1_PUKEY, A_SHA1_VALUE, NULL, true },
    { SM_MAP_ISSUER_SID, A_ISSUER_SID, NULL, false },
    { SM_MAP_ISSUER_SUBJECT, A_ISSUER_SUBJ, NULL, true },
    { SM_MAP_SUBJECT_ONLY, A_SUBJECT, NULL, true },
    { SM_MAP_RFC822, A_RFC822, NULL, true },
};

static const struct sm_mapping b_mappings[] = {
    { SM_MAP_ISSUER_SERIAL, B_ISSUER_SERIAL, "X509:<I>" ISSUER_AD "<SR>010000000000F0", true },
    { SM_MAP_SHA1_PUKEY, "X509:<SHA1-PUKEY>" B_SHA1, NULL, true },
    { SM_MAP_ISSUER_SUBJECT, "X509:<I>" ISSUER_AD "<S>" BOB_AD, NULL, true },
    { SM_MAP_SUBJECT_ONLY, "X509:<S>" BOB_AD, NULL, true },
};

static const struct sm_san a_san[] = {
    { SM_SAN_UPN, "alice@contoso.com", "1.3.6.1.4.1.311.20.2.3", false },
    { SM_SAN_EMAIL, "alice@contoso.com", NULL, false },
};

static struct sm_cert cert_a, cert_b;

static void build_certs(void)
{
    struct sm_cert *a = &cert_a, *b = &cert_b;

    memset(a, 0, sizeof(*a));
    a->issuer.ad = ISSUER_AD;
    a->issuer.rfc4514 = ISSUER_RFC;
    a->issuer.samba = ISSUER_AD;
    a->subject.ad = ALICE_AD;
    a->subject.rfc4514 = ALICE_RFC;
    a->subject.samba = ALICE_AD;
    a->serial = A_SERIAL;
    a->serial_sign_byte = false;
    strcpy(a->sha1, A_SHA1);
    strcpy(a->spki_sha1, A_SPKI);
    strcpy(a->spk_sha1, A_SPK);
    a->ski = A_SKI;
    a->san = a_san;
    a->n_san = sizeof(a_san) / sizeof(a_san[0]);
    a->sid.extension.status = SM_SID_VALID;
    a->sid.extension.text = A_SID;
    assert_int_equal(sm_sid_parse(A_SID, strlen(A_SID), &a->sid.extension.sid, NULL, NULL), 0);
    a->sid.source = SM_SID_SOURCE_EXTENSION;
    a->sid.status = SM_SID_VALID;
    a->mappings = a_mappings;
    a->n_mappings = sizeof(a_mappings) / sizeof(a_mappings[0]);

    memset(b, 0, sizeof(*b));
    b->issuer = a->issuer;
    b->subject.ad = BOB_AD;
    b->subject.rfc4514 = BOB_RFC;
    b->subject.samba = BOB_AD;
    b->serial = B_SERIAL;
    b->serial_sign_byte = true;
    strcpy(b->sha1, B_SHA1);
    strcpy(b->spki_sha1, "1111111111111111111111111111111111111111");
    strcpy(b->spk_sha1, "2222222222222222222222222222222222222222");
    b->ski = NULL; /* no SKI extension */
    b->mappings = b_mappings;
    b->n_mappings = sizeof(b_mappings) / sizeof(b_mappings[0]);
}

static int setup(void **state)
{
    (void)state;
    build_certs();
    return 0;
}

static struct sm_altsec *parse(const char *value)
{
    struct sm_altsec *v = NULL;
    struct sm_errinfo e = { 0 };
    int r = sm_altsec_parse(value, strlen(value), &v, &e);
    if (r != 0)
        fail_msg("parse of \"%s\" failed: %d %s", value, r, e.text);
    assert_non_null(v);
    assert_string_equal(v->value, value);
    return v;
}

/* ---- parse table --------------------------------------------------------------------------- */

#define NA -1

static const struct parse_case {
    const char *value;
    enum sm_altsec_kind kind;
    int type; /* NA unless MAPPING */
    bool strong;
    const char *reason; /* exact invalid_reason, or NULL */
    bool samba_may_match;
    bool samba_strong;
} parse_cases[] = {
    /* the seven types */
    { A_ISSUER_SERIAL, SM_ALTSEC_MAPPING, SM_MAP_ISSUER_SERIAL, true, NULL, false, true },
    { A_SKI_VALUE, SM_ALTSEC_MAPPING, SM_MAP_SKI, true, NULL, false, true },
    { A_SHA1_VALUE, SM_ALTSEC_MAPPING, SM_MAP_SHA1_PUKEY, true, NULL, false, true },
    { A_ISSUER_SID, SM_ALTSEC_MAPPING, SM_MAP_ISSUER_SID, true, NULL, false, false },
    { A_ISSUER_SUBJ, SM_ALTSEC_MAPPING, SM_MAP_ISSUER_SUBJECT, false, NULL, false, false },
    { A_SUBJECT, SM_ALTSEC_MAPPING, SM_MAP_SUBJECT_ONLY, false, NULL, false, false },
    { A_RFC822, SM_ALTSEC_MAPPING, SM_MAP_RFC822, false, NULL, false, false },
    /* header, tags and hex in any case (LDAP equality ignores case); Samba does not read it */
    { "x509:<i>" ISSUER_AD "<sr>1200000000ac11000000002b", SM_ALTSEC_MAPPING, SM_MAP_ISSUER_SERIAL,
      true, NULL, false, false },
    { "X509:<ski>" A_SKI, SM_ALTSEC_MAPPING, SM_MAP_SKI, true, NULL, false, false },
    { "X509:<Sha1-PuKey>" A_SHA1, SM_ALTSEC_MAPPING, SM_MAP_SHA1_PUKEY, true, NULL, false, false },
    { "X509:<rfc822>a@b", SM_ALTSEC_MAPPING, SM_MAP_RFC822, false, NULL, false, false },
    /* a quoted '<' stays in the name */
    { "X509:<I>DC=com,CN=\"a<S>b\"<SR>01", SM_ALTSEC_MAPPING, SM_MAP_ISSUER_SERIAL, true, NULL,
      false, true },
    /* not certificate mappings */
    { "Kerberos:alice@CONTOSO.COM", SM_ALTSEC_NOT_X509, NA, false, NULL, false, false },
    { "X509", SM_ALTSEC_NOT_X509, NA, false, NULL, false, false },
    { " X509:<SKI>AB", SM_ALTSEC_NOT_X509, NA, false, NULL, false, false },
    { "X.509:<SKI>AB", SM_ALTSEC_NOT_X509, NA, false, NULL, false, false },
    /* never match on Windows */
    { "X509:", SM_ALTSEC_INVALID, NA, false, "nothing follows \"X509:\"", false, false },
    { "X509:<SR>" A_SR, SM_ALTSEC_INVALID, NA, false,
      "<SR> without <I>: Windows writes the serial only after the issuer", true, false },
    { "X509:<I>" ISSUER_AD, SM_ALTSEC_INVALID, NA, false,
      "<I> alone is not a mapping type (X509IssuerSerialNumber adds <SR>)", true, false },
    { "X509:<I>" ISSUER_AD "<S>" ALICE_AD "<SR>" A_SR, SM_ALTSEC_INVALID, NA, false,
      "<I>, <S> and <SR> together: no Windows code path builds this value", true, true },
    { "X509:<SR>" A_SR "<I>" ISSUER_AD, SM_ALTSEC_INVALID, NA, false,
      "<SR> comes before <I>: the KDC writes <I> first, so the value never equals the string "
      "it builds",
      true, true },
    { "X509:<S>" ALICE_AD "<I>" ISSUER_AD, SM_ALTSEC_INVALID, NA, false,
      "<S> comes before <I>: the KDC writes <I> first, so the value never equals the string "
      "it builds",
      true, false },
    { "X509:<I>" ISSUER_AD "<SR>01<SR>02", SM_ALTSEC_INVALID, NA, false, "duplicate <SR> tag", true,
      true },
    { "X509:<SKI>AB<ski>CD", SM_ALTSEC_INVALID, NA, false, "duplicate <SKI> tag", false, false },
    { "X509:<FOO>bar", SM_ALTSEC_INVALID, NA, false, "unknown tag <FOO>", false, false },
    { "X509:<SKI>AB<UPN>x", SM_ALTSEC_INVALID, NA, false, "unknown tag <UPN>", false, false },
    { "X509:<I><SR>01", SM_ALTSEC_INVALID, NA, false, "empty <I> field", false, false },
    { "X509:<I>" ISSUER_AD "<SR>", SM_ALTSEC_INVALID, NA, false, "empty <SR> field", false, false },
    { "X509: <SKI>AB", SM_ALTSEC_INVALID, NA, false, "text between \"X509:\" and the first tag",
      true, true },
    { "X509:SKI>AB", SM_ALTSEC_INVALID, NA, false, "text between \"X509:\" and the first tag",
      false, false },
    { "X509:<>AB", SM_ALTSEC_INVALID, NA, false, "malformed tag right after \"X509:\"", false,
      false },
    { "X509:<SKI>ABC", SM_ALTSEC_INVALID, NA, false, "<SKI> has an odd number of hex digits (3)",
      false, false },
    { "X509:<SKI>ABCG", SM_ALTSEC_INVALID, NA, false,
      "<SKI> contains 'G', which is not a hex digit", false, false },
    { "X509:<SKI>AB CD", SM_ALTSEC_INVALID, NA, false,
      "<SKI> contains byte 0x20, which is not a hex digit", false, false },
    { "X509:<I>" ISSUER_AD "<SR>0x12", SM_ALTSEC_INVALID, NA, false,
      "<SR> contains 'x', which is not a hex digit", false, false },
    { "X509:<SHA1-PUKEY>ABCD", SM_ALTSEC_INVALID, NA, false,
      "<SHA1-PUKEY> must be 40 hex digits (a SHA-1 hash), not 4", true, true },
    { "X509:<I>" ISSUER_AD "<SID>S-1-5", SM_ALTSEC_INVALID, NA, false,
      "<SID> is not a SID: SID has no sub-authorities (at least one is required)", false, false },
    { "X509:<I>" ISSUER_AD "<SID>S-1-5-21-4294967296", SM_ALTSEC_INVALID, NA, false,
      "<SID> is not a SID: sub-authority 2 exceeds 4294967295", false, false },
    { "X509:<SKI>AB<SHA1-PUKEY>" A_SHA1, SM_ALTSEC_INVALID, NA, false,
      "the tags <SKI><SHA1-PUKEY> do not form a mapping type", true, true },
    { "X509:<S>" ALICE_AD "<RFC822>a@b", SM_ALTSEC_INVALID, NA, false,
      "the tags <S><RFC822> do not form a mapping type", true, false },
    { "X509:<SID>" A_SID, SM_ALTSEC_INVALID, NA, false, "the tags <SID> do not form a mapping type",
      false, false },
};

static void test_parse_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const struct parse_case *c = &parse_cases[i];
        struct sm_altsec *v = parse(c->value);
        if (v->kind != c->kind)
            fail_msg("\"%s\": kind %d, expected %d (%s)", c->value, v->kind, c->kind,
                     v->invalid_reason ? v->invalid_reason : "");
        if (c->kind == SM_ALTSEC_MAPPING) {
            assert_int_equal(v->type, c->type);
            assert_null(v->invalid_reason);
            assert_int_equal(v->findings.n, 0);
        }
        if (v->strong != c->strong)
            fail_msg("\"%s\": strong %d", c->value, v->strong);
        if (c->reason) {
            assert_non_null(v->invalid_reason);
            assert_string_equal(v->invalid_reason, c->reason);
            assert_true(sm_findings_has(&v->findings, "never_matches"));
            assert_int_equal(v->findings.v[0].severity, SM_SEV_ERROR);
        } else {
            assert_null(v->invalid_reason);
        }
        if (v->samba_may_match != c->samba_may_match)
            fail_msg("\"%s\": samba_may_match %d", c->value, v->samba_may_match);
        if (v->samba_strong != c->samba_strong)
            fail_msg("\"%s\": samba_strong %d", c->value, v->samba_strong);
        if (c->kind == SM_ALTSEC_NOT_X509) {
            assert_int_equal(v->findings.n, 1);
            assert_string_equal(v->findings.v[0].code, "not_certificate_mapping");
            assert_int_equal(v->findings.v[0].severity, SM_SEV_INFO);
        }
        assert_null(sm_altsec_free(v));
    }
}

static void test_parse_fields(void **state)
{
    (void)state;
    struct sm_altsec *v = parse(A_ISSUER_SERIAL);
    assert_string_equal(v->issuer, ISSUER_AD);
    assert_string_equal(v->serial, A_SR);
    assert_null(v->subject);
    assert_null(v->ski);
    assert_null(v->sha1);
    assert_null(v->sid);
    assert_null(v->rfc822);
    sm_altsec_free(v);

    v = parse(A_ISSUER_SID);
    assert_string_equal(v->issuer, ISSUER_AD);
    assert_string_equal(v->sid, A_SID);
    sm_altsec_free(v);

    v = parse("X509:<I>DC=com,CN=\"a<S>b\"<SR>01");
    assert_string_equal(v->issuer, "DC=com,CN=\"a<S>b\"");
    assert_string_equal(v->serial, "01");
    assert_null(v->subject);
    sm_altsec_free(v);

    /* An unbalanced quote does not swallow the rest of the value. */
    v = parse("X509:<I>DC=com,CN=\"a<SR>01");
    assert_int_equal(v->kind, SM_ALTSEC_MAPPING);
    assert_string_equal(v->issuer, "DC=com,CN=\"a");
    assert_string_equal(v->serial, "01");
    sm_altsec_free(v);

    /* A '<' that starts no tag is part of the value. */
    v = parse("X509:<S>CN=a<b,DC=x");
    assert_int_equal(v->kind, SM_ALTSEC_MAPPING);
    assert_string_equal(v->subject, "CN=a<b,DC=x");
    sm_altsec_free(v);

    /* Fields of an invalid value are still reported (the last of a repeated tag). */
    v = parse("X509:<I>" ISSUER_AD "<SR>01<SR>02");
    assert_string_equal(v->serial, "02");
    sm_altsec_free(v);
    v = parse("X509: <SKI>AB");
    assert_string_equal(v->ski, "AB");
    sm_altsec_free(v);

    assert_null(sm_altsec_free(NULL));
}

static void test_parse_errors(void **state)
{
    struct sm_altsec *v = (struct sm_altsec *)0x1;
    struct sm_errinfo e = { 0 };
    char *big;
    (void)state;

    assert_int_equal(sm_altsec_parse("", 0, &v, &e), SM_E_EMPTY);
    assert_ptr_equal(v, (struct sm_altsec *)0x1);
    assert_int_equal(sm_altsec_parse(NULL, 0, &v, NULL), SM_E_EMPTY);

    big = malloc(SM_MAX_ALTSEC_VALUE + 1);
    assert_non_null(big);
    memcpy(big, "X509:<SKI>", 10);
    memset(big + 10, 'A', SM_MAX_ALTSEC_VALUE + 1 - 10);
    assert_int_equal(sm_altsec_parse(big, SM_MAX_ALTSEC_VALUE + 1, &v, &e), SM_E_TOO_BIG);
    assert_string_equal(e.text,
                        "altSecurityIdentities value is 4097 bytes, more than the limit of 4096");
    assert_ptr_equal(v, (struct sm_altsec *)0x1);
    /* exactly at the limit is fine */
    assert_int_equal(sm_altsec_parse(big, SM_MAX_ALTSEC_VALUE, &v, &e), 0);
    assert_int_equal(v->kind, SM_ALTSEC_MAPPING);
    assert_int_equal(v->type, SM_MAP_SKI);
    v = sm_altsec_free(v);
    free(big);

    v = (struct sm_altsec *)0x1;
    assert_int_equal(sm_altsec_parse("X509:<S>CN=J\xc3\xb6rg\xff", 17, &v, &e), SM_E_UTF8);
    assert_int_equal(e.offset, 16);
    assert_int_equal(sm_altsec_parse("X509:<S>CN=\xc3", 12, &v, &e), SM_E_UTF8);
    assert_int_equal(e.offset, 11);
    assert_int_equal(sm_altsec_parse("X509:<S>CN=a\0b", 14, &v, &e), SM_E_UTF8);
    assert_int_equal(e.offset, 12);
    assert_ptr_equal(v, (struct sm_altsec *)0x1);

    /* valid UTF-8 names are fine, and a value need not be NUL-terminated */
    assert_int_equal(sm_altsec_parse("X509:<S>CN=J\xc3\xb6rgXXXX", 16, &v, &e), 0);
    assert_string_equal(v->subject, "CN=J\xc3\xb6rg");
    sm_altsec_free(v);
}

/* ---- matching ------------------------------------------------------------------------------ */

static const struct match_case {
    const char *value;
    int cert; /* 0 = A, 1 = B */
    bool windows, samba;
} match_cases[] = {
    { A_ISSUER_SERIAL, 0, true, true },
    { "x509:<i>dc=com,dc=contoso,cn=contoso-dc-ca<sr>1200000000ac11000000002b", 0, true, false },
    { "X509:<I>dc=com,dc=contoso,cn=contoso-dc-ca<SR>1200000000ac11000000002b", 0, true, false },
    { "X509:<I>" ISSUER_AD "<SR>1200000000ac11000000002b", 0, true, true },
    { "x509:<ski>9d1e2f3a4b5c6d7e8f901a2b3c4d5e6f70819203", 0, true, false },
    { "X509:<SKI>9d1e2f3a4b5c6d7e8f901a2b3c4d5e6f70819203", 0, true, true },
    { A_SKI_VALUE, 1, false, false }, /* B has no SKI */
    { A_SHA1_VALUE, 0, true, true },
    { "X509:<SHA1-PUKEY>a1b2c3d4e5f60718293a4b5c6d7e8f9011223344", 0, true, true },
    { "X509:<SHA1-PUKEY>" A_SPKI, 0, false, false },
    { A_ISSUER_SID, 0, true, false }, /* Samba has no X509IssuerSID */
    { A_ISSUER_SID, 1, false, false },
    { A_ISSUER_SUBJ, 0, true, true },
    { A_SUBJECT, 0, true, true },
    { A_SUBJECT, 1, false, false },
    { A_RFC822, 0, true, true },
    { "X509:<RFC822>ALICE@contoso.com", 0, true, false }, /* Samba: byte for byte */
    { "X509:<RFC822>bob@contoso.com", 0, false, false },
    /* display order, spaces: neither */
    { "X509:<I>" ISSUER_RFC "<SR>" A_SR, 0, false, false },
    { "X509:<I>DC=com, DC=contoso, CN=CONTOSO-DC-CA<SR>" A_SR, 0, false, false },
    { "X509:<I>" ISSUER_AD "<SR>" A_SERIAL, 0, false, false },
    /* Samba drops empty components and treats CR/LF as separators */
    { "X509:<I>DC=com,,DC=contoso,CN=CONTOSO-DC-CA<SR>" A_SR, 0, false, true },
    { "X509:<I>DC=com\r\nDC=contoso\nCN=CONTOSO-DC-CA<SR>" A_SR, 0, false, true },
    /* sign byte: Windows keeps it, Samba strips it */
    { B_ISSUER_SERIAL, 1, true, false },
    { "X509:<I>" ISSUER_AD "<SR>010000000000F0", 1, false, true },
    /* forms only Samba reads */
    { "X509:<I>" ISSUER_AD "<S>" ALICE_AD "<SR>" A_SR, 0, false, true },
    { "X509:<I>" ISSUER_AD "<S>" BOB_AD "<SR>" A_SR, 0, false, false },
    { "X509:<SR>" A_SR "<I>" ISSUER_AD, 0, false, true },
    { "X509:<SR>" A_SR, 0, false, true },
    { "X509:junk<SKI>" A_SKI, 0, false, true },
    { "X509:<I>" ISSUER_AD "<SR>AA<SR>" A_SR, 0, false, true }, /* last one wins */
    { "X509:<I>" ISSUER_AD "<SR>" A_SR "<SR>AA", 0, false, false },
    /* not mappings */
    { "Kerberos:alice@CONTOSO.COM", 0, false, false },
    { "X509:<FOO>x<SKI>" A_SKI, 0, false, false },
};

static void test_matching(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
        const struct match_case *c = &match_cases[i];
        const struct sm_cert *cert = c->cert ? &cert_b : &cert_a;
        struct sm_altsec *v = parse(c->value);
        if (sm_altsec_matches(v, cert) != c->windows)
            fail_msg("\"%s\" on cert %d: Windows match %d", c->value, c->cert, !c->windows);
        if (sm_altsec_matches_samba(v, cert) != c->samba)
            fail_msg("\"%s\" on cert %d: Samba match %d", c->value, c->cert, !c->samba);
        sm_altsec_free(v);
    }
}

static void test_matching_null(void **state)
{
    (void)state;
    struct sm_altsec *v = parse(A_ISSUER_SERIAL);
    assert_false(sm_altsec_matches(v, NULL));
    assert_false(sm_altsec_matches_samba(v, NULL));
    assert_false(sm_altsec_matches(NULL, &cert_a));
    assert_false(sm_altsec_matches_samba(NULL, &cert_a));
    sm_altsec_free(v);
}

/* ---- lint ------------------------------------------------------------------------------------ */

#define NOFIX  ((const char *)0)
#define ANYFIX ((const char *)1)

static const struct lint_case {
    const char *value;
    int cert; /* -1 none, 0 A, 1 B */
    const char *code;
    enum sm_severity sev;
    const char *fix;     /* exact fix, NOFIX for none, ANYFIX to skip */
    const char *message; /* substring of the message, or NULL */
    const char *absent;  /* a code that must not be raised, or NULL */
} lint_cases[] = {
    /* matches */
    { A_ISSUER_SERIAL, 0, "matches", SM_SEV_INFO, NOFIX,
      "matches this certificate on Windows (X509IssuerSerialNumber, strong); a Samba 4.24 DC "
      "matches it too",
      "weak_mapping" },
    { B_ISSUER_SERIAL, 1, "matches", SM_SEV_INFO, NOFIX,
      "Samba 4.24 does not match it: Samba expects the serial without the 00 sign byte", NULL },
    { "X509:<I>" ISSUER_AD "<SR>1200000000ac11000000002b", 0, "matches", SM_SEV_INFO, NOFIX, NULL,
      "samba_case" },
    { A_ISSUER_SID, 0, "matches", SM_SEV_INFO, NOFIX,
      "Samba 4.24 has no X509IssuerSID and ignores it", "sid_mismatch" },
    { A_ISSUER_SID, 0, "issuer_sid_support", SM_SEV_INFO, NOFIX, "Windows Server 2022", NULL },
    { A_ISSUER_SUBJ, 0, "weak_mapping", SM_SEV_WARNING, A_ISSUER_SERIAL,
      "X509IssuerSubject is a weak mapping", NULL },
    /* certificate A carries a SID: the weak value is not what decides */
    { A_ISSUER_SUBJ, 0, "weak_mapping", SM_SEV_WARNING, A_ISSUER_SERIAL,
      "This certificate carries the SID " A_SID ": if that is the account's SID", NULL },
    { "X509:<I>" ISSUER_AD "<S>" BOB_AD, 1, "weak_mapping", SM_SEV_WARNING, ANYFIX,
      "accepts it only for a certificate that also carries the account's SID", NULL },
    { A_SUBJECT, 0, "matches", SM_SEV_INFO, NOFIX, "(X509SubjectOnly, weak)", NULL },
    { "X509:<RFC822>ALICE@contoso.com", 0, "matches", SM_SEV_INFO, NOFIX,
      "Samba 4.24 does not match it", "rfc822_mismatch" },
    { "X509:<RFC822>ALICE@contoso.com", 0, "weak_mapping", SM_SEV_WARNING, A_ISSUER_SERIAL,
      "X509RFC822 is a weak mapping", NULL },
    { "x509:<ski>9d1e2f3a4b5c6d7e8f901a2b3c4d5e6f70819203", 0, "matches", SM_SEV_INFO, NOFIX,
      "Samba 4.24 ignores it: it reads \"X509:\" and the tag names case-sensitively", NULL },
    { "x509:<ski>9d1e2f3a4b5c6d7e8f901a2b3c4d5e6f70819203", 0, "samba_case", SM_SEV_WARNING,
      A_SKI_VALUE, NULL, NULL },
    /* issuer written in display order / with ", " */
    { "X509:<I>" ISSUER_RFC "<SR>" A_SR, 0, "issuer_display_order", SM_SEV_ERROR, A_ISSUER_SERIAL,
      "encoding order: " ISSUER_AD, "issuer_mismatch" },
    { "X509:<I>" ISSUER_RFC "<SR>" A_SR, 0, "issuer_display_order", SM_SEV_ERROR, A_ISSUER_SERIAL,
      NULL, "comma_space" },
    { "X509:<I>CN=CONTOSO-DC-CA, DC=contoso, DC=com<SR>" A_SR, 0, "issuer_display_order",
      SM_SEV_ERROR, A_ISSUER_SERIAL, NULL, NULL },
    { "X509:<I>CN=CONTOSO-DC-CA, DC=contoso, DC=com<SR>" A_SR, 0, "comma_space", SM_SEV_ERROR,
      A_ISSUER_SERIAL, "blanks around its \",\" separators", NULL },
    { "X509:<I>DC=com, DC=contoso, CN=CONTOSO-DC-CA<SR>" A_SR, 0, "comma_space", SM_SEV_ERROR,
      A_ISSUER_SERIAL, NULL, "issuer_display_order" },
    { "X509:<I>dc=com, dc=contoso, cn=contoso-dc-ca<SR>" A_SR, 0, "comma_space", SM_SEV_ERROR,
      A_ISSUER_SERIAL, NULL, "issuer_mismatch" },
    { "X509:<I>" ISSUER_AD "<S>" ALICE_RFC, 0, "subject_display_order", SM_SEV_ERROR, A_ISSUER_SUBJ,
      NULL, "issuer_display_order" },
    { "X509:<S>" ALICE_RFC, 0, "subject_display_order", SM_SEV_ERROR, A_SUBJECT, NULL, NULL },
    { "X509:<I>DC=org,DC=fabrikam,CN=FABRIKAM-CA<SR>" A_SR, 0, "issuer_mismatch", SM_SEV_WARNING,
      A_ISSUER_SERIAL, "which the KDC writes as \"" ISSUER_AD "\"", "issuer_display_order" },
    { "X509:<I>" ISSUER_AD "<S>" BOB_AD, 0, "subject_mismatch", SM_SEV_WARNING, A_ISSUER_SUBJ, NULL,
      "issuer_mismatch" },
    /* serials */
    { "X509:<I>" ISSUER_AD "<SR>" A_SERIAL, 0, "serial_not_reversed", SM_SEV_ERROR, A_ISSUER_SERIAL,
      "reversed: " A_SR, "serial_mismatch" },
    { "X509:<I>" ISSUER_AD "<SR>" A_SR "00", 0, "serial_extra_sign_byte", SM_SEV_ERROR,
      A_ISSUER_SERIAL, NULL, "serial_mismatch" },
    { "X509:<I>" ISSUER_AD "<SR>010000000000F0", 1, "serial_missing_sign_byte", SM_SEV_ERROR,
      B_ISSUER_SERIAL, "writes " B_SR, "serial_mismatch" },
    { "X509:<I>" ISSUER_AD "<SR>010000000000F0", 1, "samba_only", SM_SEV_INFO, NOFIX,
      "as a strong mapping", NULL },
    { "X509:<I>" ISSUER_AD "<SR>" B_SERIAL, 1, "serial_not_reversed", SM_SEV_ERROR, B_ISSUER_SERIAL,
      NULL, NULL },
    { "X509:<I>" ISSUER_AD "<SR>F0000000000001", 1, "serial_not_reversed", SM_SEV_ERROR,
      B_ISSUER_SERIAL, NULL, NULL },
    { "X509:<I>" ISSUER_AD "<SR>AABB", 0, "serial_mismatch", SM_SEV_WARNING, A_ISSUER_SERIAL,
      "serial AABB is not this certificate's serial " A_SERIAL, NULL },
    /* SHA1-PUKEY */
    { "X509:<SHA1-PUKEY>" A_SPKI, 0, "sha1_pukey_over_key", SM_SEV_WARNING, A_SHA1_VALUE,
      "thumbprint " A_SHA1, "sha1_mismatch" },
    { "X509:<SHA1-PUKEY>f7c58be8b0c4512e32aa8a4bf9fa2ba4a7d6bbaf", 0, "sha1_pukey_over_key",
      SM_SEV_WARNING, A_SHA1_VALUE, NULL, NULL },
    { "X509:<SHA1-PUKEY>" A_SKI, 0, "sha1_mismatch", SM_SEV_WARNING, A_SHA1_VALUE,
      "Subject Key Identifier", NULL },
    { "X509:<SHA1-PUKEY>FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", 0, "sha1_mismatch",
      SM_SEV_WARNING, A_SHA1_VALUE, NULL, NULL },
    /* SKI */
    { "X509:<SKI>" A_SPK, 0, "ski_mismatch", SM_SEV_WARNING, A_SKI_VALUE, "SHA-1 of the public key",
      NULL },
    { "X509:<SKI>" A_SHA1, 0, "ski_mismatch", SM_SEV_WARNING, A_SKI_VALUE, "thumbprint", NULL },
    { "X509:<SKI>ABCD", 0, "ski_mismatch", SM_SEV_WARNING, A_SKI_VALUE,
      "SKI ABCD is not this certificate's Subject Key Identifier " A_SKI, NULL },
    { A_SKI_VALUE, 1, "ski_mismatch", SM_SEV_WARNING, B_ISSUER_SERIAL,
      "no Subject Key Identifier extension", NULL },
    /* SID */
    { "X509:<I>" ISSUER_AD "<SID>S-1-5-21-1-2-3-500", 0, "sid_mismatch", SM_SEV_WARNING,
      A_ISSUER_SID, "SID S-1-5-21-1-2-3-500 is not the SID in the certificate, " A_SID, NULL },
    { A_ISSUER_SID, 1, "sid_mismatch", SM_SEV_WARNING, B_ISSUER_SERIAL, "no valid SID", NULL },
    { "X509:<I>" ISSUER_AD "<SID>S-1-5-21-01004336348-1177238915-682003330-1105", 0,
      "sid_not_canonical", SM_SEV_WARNING, A_ISSUER_SID, NULL, "sid_mismatch" },
    /* RFC822 */
    { "X509:<RFC822>bob@contoso.com", 0, "rfc822_mismatch", SM_SEV_WARNING, A_RFC822, NULL, NULL },
    { A_RFC822, 1, "rfc822_mismatch", SM_SEV_WARNING, B_ISSUER_SERIAL, "no rfc822Name", NULL },
    /* never matching forms: the fix is the certificate's value of the meant type */
    { "X509:<I>" ISSUER_AD "<S>" ALICE_AD "<SR>" A_SR, 0, "never_matches", SM_SEV_ERROR,
      A_ISSUER_SERIAL, "(a Samba DC may still match it)", NULL },
    { "X509:<I>" ISSUER_AD "<S>" ALICE_AD "<SR>" A_SR, 0, "samba_only", SM_SEV_INFO, NOFIX,
      "as a strong mapping", NULL },
    { "X509:<SR>" A_SR, 0, "never_matches", SM_SEV_ERROR, A_ISSUER_SERIAL, NULL, NULL },
    { "X509:<SR>" A_SERIAL, 0, "serial_not_reversed", SM_SEV_ERROR, A_ISSUER_SERIAL, NULL, NULL },
    { "X509:<SR>" A_SR "<I>" ISSUER_AD, 0, "never_matches", SM_SEV_ERROR, A_ISSUER_SERIAL, NULL,
      NULL },
    { "X509:<SHA1-PUKEY>ABCD", 0, "never_matches", SM_SEV_ERROR, A_SHA1_VALUE, NULL, NULL },
    { "X509:<I>" ISSUER_AD "<SID>S-1-5", 0, "never_matches", SM_SEV_ERROR, A_ISSUER_SID, NULL,
      NULL },
    { "X509:<SKI>ZZ", 1, "never_matches", SM_SEV_ERROR, B_ISSUER_SERIAL, NULL, NULL },
    /* not a certificate mapping: nothing but the info */
    { "Kerberos:alice@CONTOSO.COM", 0, "not_certificate_mapping", SM_SEV_INFO, NOFIX, NULL,
      "never_matches" },

    /* without a certificate: heuristics and derived fixes */
    { A_ISSUER_SERIAL, -1, NULL, SM_SEV_INFO, NOFIX, NULL, NULL },
    { "X509:<I>" ISSUER_RFC "<SR>" A_SR, -1, "issuer_display_order", SM_SEV_WARNING,
      A_ISSUER_SERIAL, "starting with CN=CONTOSO-DC-CA, ending with DC=com", NULL },
    { "X509:<I>CN=CONTOSO-DC-CA, DC=contoso, DC=com<SR>" A_SR, -1, "comma_space", SM_SEV_ERROR,
      A_ISSUER_SERIAL, NULL, NULL },
    { "X509:<I>CN=CONTOSO-DC-CA, DC=contoso, DC=com<SR>" A_SR, -1, "issuer_display_order",
      SM_SEV_WARNING, A_ISSUER_SERIAL, NULL, NULL },
    { "X509:<I>OU=PKI,O=Fabrikam,C=US<SR>01", -1, "issuer_display_order", SM_SEV_WARNING,
      "X509:<I>C=US,O=Fabrikam,OU=PKI<SR>01", NULL, NULL },
    { "X509:<I>CN=CA,O=\"Fabrikam, Inc.\",C=US<SR>01", -1, "issuer_display_order", SM_SEV_WARNING,
      "X509:<I>C=US,O=\"Fabrikam, Inc.\",CN=CA<SR>01", NULL, "comma_space" },
    { "X509:<S>" ALICE_RFC, -1, "subject_display_order", SM_SEV_WARNING, A_SUBJECT, NULL, NULL },
    { "X509:<S>" ALICE_RFC, -1, "weak_mapping", SM_SEV_WARNING, NOFIX, NULL, NULL },
    { "X509:<SR>" A_SR "<I>" ISSUER_AD, -1, "never_matches", SM_SEV_ERROR, A_ISSUER_SERIAL, NULL,
      NULL },
    { "X509:<SR>" A_SR "<I>" ISSUER_RFC, -1, "never_matches", SM_SEV_ERROR, A_ISSUER_SERIAL, NULL,
      NULL },
    { "X509:<I>" ISSUER_AD "<S>" ALICE_AD "<SR>" A_SR, -1, "never_matches", SM_SEV_ERROR, NOFIX,
      NULL, NULL },
    { "X509:<I>A<SID>S-1-05-1", -1, "sid_not_canonical", SM_SEV_WARNING, "X509:<I>A<SID>S-1-5-1",
      "(S-1-5-1)", NULL },
    { "x509:<ski>abcd", -1, "samba_case", SM_SEV_WARNING, "X509:<SKI>abcd", NULL, NULL },
    { "X509:<SHA1-PUKEY>" A_SPKI, -1, NULL, SM_SEV_INFO, NOFIX, NULL, NULL },
    { "Kerberos:alice@CONTOSO.COM", -1, "not_certificate_mapping", SM_SEV_INFO, NOFIX, NULL, NULL },
};

static const struct sm_finding *find(const struct sm_altsec *v, const char *code)
{
    for (size_t i = 0; i < v->findings.n; i++)
        if (strcmp(v->findings.v[i].code, code) == 0)
            return &v->findings.v[i];
    return NULL;
}

static void dump(const struct sm_altsec *v)
{
    for (size_t i = 0; i < v->findings.n; i++)
        print_message("    %s [%s] %s | fix=%s\n", v->findings.v[i].code,
                      sm_severity_name(v->findings.v[i].severity), v->findings.v[i].message,
                      v->findings.v[i].fix ? v->findings.v[i].fix : "(none)");
}

static void test_lint_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(lint_cases) / sizeof(lint_cases[0]); i++) {
        const struct lint_case *c = &lint_cases[i];
        const struct sm_cert *cert = c->cert < 0 ? NULL : c->cert ? &cert_b : &cert_a;
        struct sm_altsec *v = parse(c->value);
        assert_int_equal(sm_altsec_lint(&v, 1, cert), 0);

        if (!c->code) {
            /* no findings at all */
            if (v->findings.n != 0) {
                dump(v);
                fail_msg("\"%s\": expected no findings", c->value);
            }
            sm_altsec_free(v);
            continue;
        }
        const struct sm_finding *f = find(v, c->code);
        if (!f) {
            dump(v);
            fail_msg("\"%s\" (cert %d): no %s finding", c->value, c->cert, c->code);
        }
        if (f->severity != c->sev) {
            dump(v);
            fail_msg("\"%s\": %s has severity %d", c->value, c->code, f->severity);
        }
        if (c->fix == NOFIX && f->fix) {
            dump(v);
            fail_msg("\"%s\": %s has a fix", c->value, c->code);
        } else if (c->fix != NOFIX && c->fix != ANYFIX) {
            if (!f->fix || strcmp(f->fix, c->fix) != 0) {
                dump(v);
                fail_msg("\"%s\": %s fix \"%s\", expected \"%s\"", c->value, c->code,
                         f->fix ? f->fix : "(none)", c->fix);
            }
        }
        if (c->message && !strstr(f->message, c->message)) {
            dump(v);
            fail_msg("\"%s\": %s message lacks \"%s\"", c->value, c->code, c->message);
        }
        if (c->absent && find(v, c->absent)) {
            dump(v);
            fail_msg("\"%s\": unexpected %s", c->value, c->absent);
        }
        assert_true(strlen(f->message) > 0);
        assert_null(strchr(f->message, '\n'));
        sm_altsec_free(v);
    }
}

/* A value that matches on Windows has only the matches finding (and strength notes). */
static void test_lint_match_only(void **state)
{
    (void)state;
    struct sm_altsec *v = parse(A_ISSUER_SERIAL);
    assert_int_equal(sm_altsec_lint(&v, 1, &cert_a), 0);
    assert_int_equal(v->findings.n, 1);
    assert_string_equal(v->findings.v[0].code, "matches");
    sm_altsec_free(v);

    v = parse(A_SKI_VALUE);
    assert_int_equal(sm_altsec_lint(&v, 1, &cert_a), 0);
    assert_int_equal(v->findings.n, 1);
    sm_altsec_free(v);

    /* the issuer-serial value of cert A does not match cert B: serial mismatch only */
    v = parse(A_ISSUER_SERIAL);
    assert_int_equal(sm_altsec_lint(&v, 1, &cert_b), 0);
    assert_int_equal(v->findings.n, 1);
    assert_string_equal(v->findings.v[0].code, "serial_mismatch");
    assert_string_equal(v->findings.v[0].fix, B_ISSUER_SERIAL);
    sm_altsec_free(v);
}

/* A well-formed value whose fields each look right but which still differs gets no_match. */
static void test_lint_no_match(void **state)
{
    static const struct sm_mapping odd[] = {
        { SM_MAP_ISSUER_SERIAL, "X509:<I>" ISSUER_AD "<SR>" A_SR, NULL, true },
    };
    struct sm_cert c = cert_a;
    (void)state;
    /* a certificate whose module built no issuer-subject string (e.g. empty subject) */
    c.mappings = odd;
    c.n_mappings = 1;
    struct sm_altsec *v = parse(A_ISSUER_SUBJ);
    assert_int_equal(sm_altsec_lint(&v, 1, &c), 0);
    const struct sm_finding *f = find(v, "no_match");
    if (!f) {
        dump(v);
        fail_msg("no no_match");
    }
    assert_int_equal(f->severity, SM_SEV_WARNING);
    assert_string_equal(f->fix, A_ISSUER_SERIAL); /* issuer-serial as the fallback */
    sm_altsec_free(v);
}

static void test_lint_duplicates(void **state)
{
    struct sm_altsec *v[4];
    (void)state;
    v[0] = parse(A_ISSUER_SERIAL);
    v[1] = parse(A_SKI_VALUE);
    v[2] = parse("x509:<i>dc=com,dc=contoso,cn=contoso-dc-ca<sr>1200000000ac11000000002b");
    v[3] = parse(A_SKI_VALUE);
    assert_int_equal(sm_altsec_lint(v, 4, NULL), 0);
    assert_null(find(v[0], "duplicate"));
    assert_null(find(v[1], "duplicate"));
    const struct sm_finding *f = find(v[2], "duplicate");
    assert_non_null(f);
    assert_int_equal(f->severity, SM_SEV_WARNING);
    assert_non_null(strstr(f->message, "value #1"));
    f = find(v[3], "duplicate");
    assert_non_null(f);
    assert_non_null(strstr(f->message, "value #2"));
    for (int i = 0; i < 4; i++)
        sm_altsec_free(v[i]);
}

static void test_lint_idempotent(void **state)
{
    (void)state;
    struct sm_altsec *v = parse("X509:<I>" ISSUER_AD "<S>" ALICE_AD "<SR>" A_SR);
    assert_int_equal(v->findings.n, 1); /* never_matches from parse */
    assert_null(v->findings.v[0].fix);
    assert_int_equal(sm_altsec_lint(&v, 1, &cert_a), 0);
    size_t n = v->findings.n;
    assert_true(n >= 2);
    assert_string_equal(v->findings.v[0].fix, A_ISSUER_SERIAL);
    assert_int_equal(sm_altsec_lint(&v, 1, &cert_a), 0);
    assert_int_equal(v->findings.n, n);
    /* linting without a certificate drops what the certificate lint said */
    assert_int_equal(sm_altsec_lint(&v, 1, NULL), 0);
    assert_int_equal(v->findings.n, 1);
    assert_null(v->findings.v[0].fix);
    sm_altsec_free(v);
}

static void test_lint_arguments(void **state)
{
    struct sm_altsec *many[SM_MAX_ALTSEC_LIST + 1];
    struct sm_altsec *null_entry[1] = { NULL };
    (void)state;
    many[0] = parse(A_ISSUER_SERIAL);
    for (size_t i = 1; i < SM_MAX_ALTSEC_LIST + 1; i++)
        many[i] = many[0];
    assert_int_equal(sm_altsec_lint(many, SM_MAX_ALTSEC_LIST + 1, &cert_a), -E2BIG);
    assert_int_equal(sm_altsec_lint(null_entry, 1, NULL), -EINVAL);
    assert_int_equal(sm_altsec_lint(NULL, 0, NULL), 0);
    sm_altsec_free(many[0]);
}

/* Every value of every mapping list matches its own certificate and lints clean but for notes. */
static void test_own_mappings(void **state)
{
    (void)state;
    for (int which = 0; which < 2; which++) {
        const struct sm_cert *cert = which ? &cert_b : &cert_a;
        for (size_t i = 0; i < cert->n_mappings; i++) {
            struct sm_altsec *v = parse(cert->mappings[i].value);
            assert_int_equal(v->kind, SM_ALTSEC_MAPPING);
            assert_int_equal(v->type, cert->mappings[i].type);
            assert_true(sm_altsec_matches(v, cert));
            assert_int_equal(sm_altsec_lint(&v, 1, cert), 0);
            assert_non_null(find(v, "matches"));
            for (size_t k = 0; k < v->findings.n; k++) {
                const char *code = v->findings.v[k].code;
                if (strcmp(code, "matches") && strcmp(code, "weak_mapping") &&
                    strcmp(code, "issuer_sid_support")) {
                    dump(v);
                    fail_msg("%s: unexpected %s", cert->mappings[i].value, code);
                }
            }
            /* the Samba form stored in .samba is what Samba matches */
            if (cert->mappings[i].samba) {
                struct sm_altsec *s = parse(cert->mappings[i].samba);
                assert_true(sm_altsec_matches_samba(s, cert));
                assert_false(sm_altsec_matches(s, cert));
                sm_altsec_free(s);
            }
            sm_altsec_free(v);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_table),     cmocka_unit_test(test_parse_fields),
        cmocka_unit_test(test_parse_errors),    cmocka_unit_test(test_matching),
        cmocka_unit_test(test_matching_null),   cmocka_unit_test(test_lint_table),
        cmocka_unit_test(test_lint_match_only), cmocka_unit_test(test_lint_no_match),
        cmocka_unit_test(test_lint_duplicates), cmocka_unit_test(test_lint_idempotent),
        cmocka_unit_test(test_lint_arguments),  cmocka_unit_test(test_own_mappings),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

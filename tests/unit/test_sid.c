/*
 * tests/unit/test_sid.c - SID text, binary objectSid, the SID extension DER (docs/mapping-rules.md)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <strongmap/sid.h>

/* ---- helpers ------------------------------------------------------------------------------- */

static struct sm_sid parse_ok(const char *text, bool *canonical)
{
    struct sm_sid sid;
    struct sm_errinfo e = { 0 };
    int r = sm_sid_parse(text, strlen(text), &sid, canonical, &e);
    if (r != 0)
        fail_msg("parse of \"%s\" failed: %s", text, e.text);
    return sid;
}

static const char *fmt(const struct sm_sid *sid)
{
    static char buf[SM_SID_TEXT_MAX];
    return sm_sid_format(sid, buf, sizeof(buf));
}

/* Minimal base64 decoder for the LDIF example. */
static size_t b64_decode(const char *in, uint8_t *out, size_t outsize)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;
    for (const char *p = in; *p && *p != '='; p++) {
        const char *c = strchr(alphabet, *p);
        assert_non_null(c);
        acc = acc << 6 | (uint32_t)(c - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            assert_true(n < outsize);
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    return n;
}

/* ---- text ---------------------------------------------------------------------------------- */

static void test_round_trips(void **state)
{
    static const char *const good[] = {
        "S-1-5-21-1004336348-1177238915-682003330-1100",
        "S-1-5-21-12494900-2147801102-4061876462-500",
        "S-1-5-18",
        "S-1-1-0",
        "S-1-5-32-544",
        "S-1-0-0",
        "S-1-4294967295-4294967295",
        "S-1-0x123456789abc-1",
        "S-1-0xffffffffffff-7",
        "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        bool canonical = false;
        struct sm_sid sid = parse_ok(good[i], &canonical);
        assert_true(canonical);
        assert_string_equal(fmt(&sid), good[i]);
    }
}

static void test_fields(void **state)
{
    (void)state;
    struct sm_sid sid = parse_ok("S-1-5-21-1004336348-1177238915-682003330-1100", NULL);
    assert_int_equal(sid.revision, 1);
    assert_int_equal(sid.authority, 5);
    assert_int_equal(sid.n_sub, 5);
    assert_int_equal(sid.sub[0], 21);
    assert_int_equal(sid.sub[1], 1004336348u);
    assert_int_equal(sid.sub[4], 1100);

    sid = parse_ok("S-1-0x123456789abc-1", NULL);
    assert_true(sid.authority == UINT64_C(0x123456789abc));
    sid = parse_ok("S-1-281474976710655-1", NULL); /* 2^48 - 1 in decimal */
    assert_true(sid.authority == UINT64_C(0xffffffffffff));
    assert_true(parse_ok("S-1-5-4294967295", NULL).sub[0] == 4294967295u);
    assert_int_equal(parse_ok("S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15", NULL).n_sub, 15);
}

static void test_non_canonical(void **state)
{
    static const struct {
        const char *text, *canonical;
    } cases[] = {
        { "s-1-5-18", "S-1-5-18" },
        { "S-01-5-18", "S-1-5-18" },
        { "S-1-05-18", "S-1-5-18" },
        { "S-1-5-018", "S-1-5-18" },
        { "S-1-5-21-0001-2", "S-1-5-21-1-2" },
        { "S-1-0x5-18", "S-1-5-18" }, /* hex authority below 2^32 */
        { "S-1-0X123456789abc-1", "S-1-0x123456789abc-1" },
        { "S-1-0x123456789ABC-1", "S-1-0x123456789abc-1" }, /* Windows prints lower case */
        { "S-1-0x1000000000-1", "S-1-0x001000000000-1" },   /* not padded to 12 digits */
        { "S-1-4294967296-1", "S-1-0x000100000000-1" },     /* decimal at or above 2^32 */
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        bool canonical = true;
        struct sm_sid sid = parse_ok(cases[i].text, &canonical);
        assert_false(canonical);
        assert_string_equal(fmt(&sid), cases[i].canonical);
        parse_ok(cases[i].canonical, &canonical);
        assert_true(canonical);
    }
}

static void test_rejections(void **state)
{
    static const struct {
        const char *text;
        const char *reason;
        long offset;
    } cases[] = {
        { "", "SID text is empty", 0 },
        { "X-1-5-18", "SID does not start with \"S-\"", 0 },
        { "S1-5-18", "SID does not start with \"S-\"", 0 },
        { "S", "SID does not start with \"S-\"", 0 },
        { "S-", "revision is empty", 2 },
        { "S--1-5", "revision is empty", 2 },
        { "S-2-5-18", "SID revision 2 is not supported (only revision 1 exists)", 2 },
        { "S-0-5-18", "SID revision 0 is not supported (only revision 1 exists)", 2 },
        { "S-1", "identifier authority is missing", 3 },
        { "S-1-", "identifier authority is empty", 4 },
        { "S-1--5", "identifier authority is empty", 4 },
        { "S-1-5", "SID has no sub-authorities (at least one is required)", 5 },
        { "S-1-5-", "sub-authority 1 is empty", 6 },
        { "S-1-5--18", "sub-authority 1 is empty", 6 },
        { "S-1-5-21-", "sub-authority 2 is empty", 9 },
        { "S-1-5-+18", "'+' in sub-authority 1 is not a decimal digit", 6 },
        { "S-1-+5-18", "'+' in identifier authority is not a decimal digit", 4 },
        { "S-1-5- 18", "a space in sub-authority 1 is not a decimal digit", 6 },
        { " S-1-5-18", "SID does not start with \"S-\"", 0 },
        { "S-1-5-18 ", "a space in sub-authority 1 is not a decimal digit", 8 },
        { "S-1-5-18x", "'x' in sub-authority 1 is not a decimal digit", 8 },
        { "S-1-5-21-1-2-3x", "'x' in sub-authority 4 is not a decimal digit", 14 },
        { "S-1-5-4294967296", "sub-authority 1 exceeds 4294967295", 6 },
        { "S-1-5-21-1-99999999999999999999999", "sub-authority 3 exceeds 4294967295", 11 },
        { "S-1-281474976710656-1", "identifier authority exceeds 281474976710655", 4 },
        { "S-1-99999999999999999999999999-1", "identifier authority exceeds 281474976710655", 4 },
        { "S-1-0x-1", "hexadecimal authority has no digits after \"0x\"", 6 },
        { "S-1-0x", "hexadecimal authority has no digits after \"0x\"", 6 },
        { "S-1-0x1234567890abc-1", "hexadecimal authority has more than 12 digits", 6 },
        { "S-1-0x000000000000005-1", "hexadecimal authority has more than 12 digits", 6 },
        { "S-1-0xg-1", "'g' in hexadecimal authority is not a hex digit", 6 },
        { "S-1-5-0x10", "'x' in sub-authority 1 is not a decimal digit", 7 },
        { "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", "more than 15 sub-authorities", 42 },
        { "S-1-5-18\xc3\xa9", "byte 0xC3 in sub-authority 1 is not a decimal digit", 8 },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sm_sid sid;
        memset(&sid, 0xa5, sizeof(sid));
        struct sm_sid before = sid;
        struct sm_errinfo e = { .offset = -7 };
        bool canonical = true;
        int r = sm_sid_parse(cases[i].text, strlen(cases[i].text), &sid, &canonical, &e);
        if (r != SM_E_SID)
            fail_msg("\"%s\" was accepted", cases[i].text);
        assert_string_equal(e.text, cases[i].reason);
        if (e.offset != cases[i].offset)
            fail_msg("\"%s\": offset %ld, expected %ld", cases[i].text, e.offset, cases[i].offset);
        /* ret_ parameters are written on success only */
        assert_memory_equal(&sid, &before, sizeof(sid));
        assert_true(canonical);
    }
    /* NULL errinfo is fine */
    assert_int_equal(sm_sid_parse("S-1", 3, NULL, NULL, NULL), SM_E_SID);
    assert_int_equal(sm_sid_parse(NULL, 0, NULL, NULL, NULL), SM_E_SID);
}

static void test_embedded_nul(void **state)
{
    static const char text[] = "S-1-5-18\0-5";
    struct sm_errinfo e = { 0 };
    (void)state;
    assert_int_equal(sm_sid_parse(text, sizeof(text) - 1, NULL, NULL, &e), SM_E_SID);
    assert_string_equal(e.text, "byte 0x00 in sub-authority 1 is not a decimal digit");
    assert_int_equal(e.offset, 8);
}

static void test_length_bound(void **state)
{
    /* Not NUL-terminated: the parser must stop at len (ASan catches an overread). */
    char buf[8];
    struct sm_sid sid;
    bool canonical = false;
    (void)state;
    memcpy(buf, "S-1-5-18", 8);
    assert_int_equal(sm_sid_parse(buf, sizeof(buf), &sid, &canonical, NULL), 0);
    assert_true(canonical);
    assert_int_equal(sid.n_sub, 1);
    assert_int_equal(sid.sub[0], 18);

    /* A prefix of a longer text is parsed as that prefix only. */
    const char *longer = "S-1-5-21-1004336348-1177238915";
    assert_int_equal(sm_sid_parse(longer, 12, &sid, &canonical, NULL), 0);
    assert_string_equal(fmt(&sid), "S-1-5-21-100");
    char tail[6];
    memcpy(tail, "S-1-0x", 6);
    assert_int_equal(sm_sid_parse(tail, sizeof(tail), NULL, NULL, NULL), SM_E_SID);
}

static void test_format(void **state)
{
    struct sm_sid sid = { .revision = 1, .n_sub = 2, .authority = UINT64_C(0x1000000000) };
    char small[8];
    (void)state;
    sid.sub[0] = 21;
    sid.sub[1] = 4294967295u;
    assert_string_equal(fmt(&sid), "S-1-0x001000000000-21-4294967295");
    sid.authority = UINT64_C(4294967295);
    assert_string_equal(fmt(&sid), "S-1-4294967295-21-4294967295");
    /* Truncation stays NUL-terminated and within the buffer. */
    assert_ptr_equal(sm_sid_format(&sid, small, sizeof(small)), small);
    assert_true(strlen(small) < sizeof(small));
}

/* ---- binary ------------------------------------------------------------------------------ */

static void test_binary_ldif_example(void **state)
{
    uint8_t raw[SM_SID_BINARY_MAX], out[SM_SID_BINARY_MAX];
    struct sm_sid sid;
    static const uint8_t expect[] = { 0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x15, 0x00,
                                      0x00, 0x00, 0xdc, 0xf4, 0xdc, 0x3b, 0x83, 0x3d, 0x2b, 0x46,
                                      0x82, 0x8b, 0xa6, 0x28, 0x4c, 0x04, 0x00, 0x00 };
    (void)state;
    size_t n = b64_decode("AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoTAQAAA==", raw, sizeof(raw));
    assert_int_equal(n, 28);
    assert_memory_equal(raw, expect, sizeof(expect));
    assert_int_equal(sm_sid_from_binary(raw, n, &sid), 0);
    assert_string_equal(fmt(&sid), "S-1-5-21-1004336348-1177238915-682003330-1100");

    struct sm_sid parsed = parse_ok("S-1-5-21-1004336348-1177238915-682003330-1100", NULL);
    assert_true(sm_sid_equal(&sid, &parsed));
    assert_int_equal(sm_sid_to_binary(&parsed, out), 28);
    assert_memory_equal(out, raw, 28);
}

static void test_binary_round_trip(void **state)
{
    static const char *const texts[] = { "S-1-5-18", "S-1-0xffffffffffff-1-2",
                                         "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-4294967295" };
    (void)state;
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        uint8_t buf[SM_SID_BINARY_MAX];
        struct sm_sid a = parse_ok(texts[i], NULL), b;
        size_t n = sm_sid_to_binary(&a, buf);
        assert_int_equal(n, 8 + 4 * (size_t)a.n_sub);
        assert_int_equal(sm_sid_from_binary(buf, n, &b), 0);
        assert_true(sm_sid_equal(&a, &b));
        assert_string_equal(fmt(&b), texts[i]);
    }
    struct sm_sid big = parse_ok("S-1-0x123456789abc-1", NULL);
    uint8_t buf[SM_SID_BINARY_MAX];
    sm_sid_to_binary(&big, buf);
    static const uint8_t auth[] = { 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc };
    assert_memory_equal(buf + 2, auth, 6);
}

static void test_binary_rejections(void **state)
{
    uint8_t buf[SM_SID_BINARY_MAX + 8] = { 0x01, 0x01, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0 };
    struct sm_sid sid;
    (void)state;
    memset(&sid, 0x5a, sizeof(sid));
    struct sm_sid before = sid;

    assert_int_equal(sm_sid_from_binary(buf, 12, &sid), 0);
    assert_string_equal(fmt(&sid), "S-1-5-18");
    sid = before;
    assert_int_equal(sm_sid_from_binary(buf, 7, &sid), SM_E_SID);  /* shorter than a header */
    assert_int_equal(sm_sid_from_binary(buf, 11, &sid), SM_E_SID); /* 8 + 4 * 1 expected */
    assert_int_equal(sm_sid_from_binary(buf, 13, &sid), SM_E_SID);
    assert_int_equal(sm_sid_from_binary(NULL, 12, &sid), SM_E_SID);
    buf[0] = 2; /* revision */
    assert_int_equal(sm_sid_from_binary(buf, 12, &sid), SM_E_SID);
    buf[0] = 1;
    buf[1] = 0; /* no sub-authorities */
    assert_int_equal(sm_sid_from_binary(buf, 8, &sid), SM_E_SID);
    buf[1] = 16; /* more than 15 */
    assert_int_equal(sm_sid_from_binary(buf, 8 + 4 * 16, &sid), SM_E_SID);
    buf[1] = 15;
    assert_int_equal(sm_sid_from_binary(buf, 8 + 4 * 15, &sid), 0);
    assert_int_equal(sid.n_sub, 15);
    sid = before;
    buf[1] = 2;
    assert_int_equal(sm_sid_from_binary(buf, 8 + 4 * 3, &sid), SM_E_SID);
    assert_memory_equal(&sid, &before, sizeof(sid));
}

static void test_equal(void **state)
{
    (void)state;
    struct sm_sid a = parse_ok("S-1-5-21-1-2-3-500", NULL);
    struct sm_sid b = parse_ok("s-1-05-21-1-2-3-0500", NULL);
    assert_true(sm_sid_equal(&a, &b));
    b = parse_ok("S-1-5-21-1-2-3-501", NULL);
    assert_false(sm_sid_equal(&a, &b));
    b = parse_ok("S-1-5-21-1-2-3", NULL);
    assert_false(sm_sid_equal(&a, &b));
    b = parse_ok("S-1-0x000000000005-21-1-2-3-500", NULL);
    assert_true(sm_sid_equal(&a, &b));
    b = parse_ok("S-1-6-21-1-2-3-500", NULL);
    assert_false(sm_sid_equal(&a, &b));
    /* Unused sub-authority slots do not matter. */
    a = parse_ok("S-1-5-18", NULL);
    b = a;
    b.sub[5] = 77;
    assert_true(sm_sid_equal(&a, &b));
}

/* ---- extension DER ------------------------------------------------------------------------ */

static void test_extension_spec_bytes(void **state)
{
    /* docs/mapping-rules.md 2.5 (MS-WCCE): the DER for S-1-5-21-12494900-2147801102-4061876462-500.
     */
    static const char text[] = "S-1-5-21-12494900-2147801102-4061876462-500";
    static const uint8_t head[] = { 0x30, 0x3d, 0xa0, 0x3b, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04,
                                    0x01, 0x82, 0x37, 0x19, 0x02, 0x01, 0xa0, 0x2d, 0x04, 0x2b };
    uint8_t expect[sizeof(head) + 43], out[256];
    (void)state;
    assert_int_equal(strlen(text), 43);
    memcpy(expect, head, sizeof(head));
    memcpy(expect + sizeof(head), text, 43);

    struct sm_sid sid = parse_ok(text, NULL);
    long n = sm_sid_extension_der(&sid, out, sizeof(out));
    assert_int_equal(n, 63);
    assert_memory_equal(out, expect, sizeof(expect));

    /* Exactly large enough, then one byte short. */
    assert_int_equal(sm_sid_extension_der(&sid, out, 63), 63);
    assert_int_equal(sm_sid_extension_der(&sid, out, 62), -ENOBUFS);

    /* The extension is written with the canonical text, whatever the input spelling. */
    sid = parse_ok("s-1-5-21-012494900-2147801102-4061876462-500", NULL);
    assert_int_equal(sm_sid_extension_der(&sid, out, sizeof(out)), 63);
    assert_memory_equal(out, expect, sizeof(expect));
}

static void test_extension_library_notes_bytes(void **state)
{
    /* The SID extension as openssl 3.0 writes it from an ASN.1 config for this SID. */
    static const char text[] = "S-1-5-21-1004336348-1177238915-682003330-1105";
    static const uint8_t head[] = { 0x30, 0x3f, 0xa0, 0x3d, 0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04,
                                    0x01, 0x82, 0x37, 0x19, 0x02, 0x01, 0xa0, 0x2f, 0x04, 0x2d };
    uint8_t out[256];
    (void)state;
    struct sm_sid sid = parse_ok(text, NULL);
    assert_int_equal(sm_sid_extension_der(&sid, out, sizeof(out)), 65);
    assert_memory_equal(out, head, sizeof(head));
    assert_memory_equal(out + sizeof(head), text, 45);
}

static void test_extension_long_form(void **state)
{
    /* 15 sub-authorities of 4294967295: 170 bytes of text, every length in long form. */
    struct sm_sid sid = { .revision = 1, .n_sub = 15, .authority = 5 };
    char text[SM_SID_TEXT_MAX];
    uint8_t out[512];
    static const uint8_t head[] = { 0x30, 0x81, 0xbf, 0xa0, 0x81, 0xbc, 0x06, 0x0a,
                                    0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x19,
                                    0x02, 0x01, 0xa0, 0x81, 0xad, 0x04, 0x81, 0xaa };
    (void)state;
    for (int i = 0; i < 15; i++)
        sid.sub[i] = 4294967295u;
    sm_sid_format(&sid, text, sizeof(text));
    assert_int_equal(strlen(text), 170);
    long n = sm_sid_extension_der(&sid, out, sizeof(out));
    assert_int_equal(n, 194);
    assert_memory_equal(out, head, sizeof(head));
    assert_memory_equal(out + sizeof(head), text, 170);
    assert_int_equal(sm_sid_extension_der(&sid, out, 193), -ENOBUFS);

    /* 123 bytes of text: the inner lengths fit the short form, the outer two do not. */
    static const uint8_t head2[] = { 0x30, 0x81, 0x8e, 0xa0, 0x81, 0x8b, 0x06, 0x0a,
                                     0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x19,
                                     0x02, 0x01, 0xa0, 0x7d, 0x04, 0x7b };
    struct sm_sid s2 = { .revision = 1, .n_sub = 11, .authority = 5 };
    for (int i = 0; i < 10; i++)
        s2.sub[i] = 4294967295u;
    s2.sub[10] = 4294967;
    sm_sid_format(&s2, text, sizeof(text));
    assert_int_equal(strlen(text), 123);
    assert_int_equal(sm_sid_extension_der(&s2, out, sizeof(out)), 145);
    assert_memory_equal(out, head2, sizeof(head2));
    assert_memory_equal(out + sizeof(head2), text, 123);
}

static void test_extension_invalid(void **state)
{
    struct sm_sid sid = { .revision = 1, .n_sub = 0, .authority = 5 };
    uint8_t out[256];
    (void)state;
    assert_int_equal(sm_sid_extension_der(&sid, out, sizeof(out)), -EINVAL);
    sid.n_sub = 16;
    assert_int_equal(sm_sid_extension_der(&sid, out, sizeof(out)), -EINVAL);
    sid.n_sub = 1;
    sid.revision = 2;
    assert_int_equal(sm_sid_extension_der(&sid, out, sizeof(out)), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_non_canonical),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_embedded_nul),
        cmocka_unit_test(test_length_bound),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_binary_ldif_example),
        cmocka_unit_test(test_binary_round_trip),
        cmocka_unit_test(test_binary_rejections),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_extension_spec_bytes),
        cmocka_unit_test(test_extension_library_notes_bytes),
        cmocka_unit_test(test_extension_long_form),
        cmocka_unit_test(test_extension_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

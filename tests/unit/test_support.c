/*
 * tests/unit/test_support.c - support/'s helpers (su_*.h), which every layer shares
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
#include <time.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "su_base64.h"
#include "su_buf.h"
#include "su_clock.h"
#include "su_dec.h"
#include "su_escape.h"
#include "su_file.h"
#include "su_hash.h"
#include "su_hex.h"
#include "su_time.h"
#include "su_utf8.h"

/* ---- su_hex.h ------------------------------------------------------------------------------ */

static void test_hex_digit(void **state)
{
    (void)state;
    for (int c = -128; c < 256; c++) {
        int want = c >= '0' && c <= '9'   ? c - '0'
                   : c >= 'a' && c <= 'f' ? c - 'a' + 10
                   : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                          : -1;
        assert_int_equal(su_hex_digit(c), want);
    }
    /* a char above 0x7f, signed on this platform, is no digit */
    assert_int_equal(su_hex_digit((char)0xc1), -1);
}

static void test_hex_decode(void **state)
{
    uint8_t out[4];

    (void)state;
    assert_int_equal(su_hex_decode("00ff7Fa0", 8, out, sizeof(out)), 4);
    assert_memory_equal(out, "\x00\xff\x7f\xa0", 4);
    assert_int_equal(su_hex_decode("", 0, out, sizeof(out)), 0);
    /* odd, too long for @out, not a digit (also ':' and ' ', which no caller accepts) */
    assert_int_equal(su_hex_decode("abc", 3, out, sizeof(out)), -1);
    assert_int_equal(su_hex_decode("0011223344", 10, out, sizeof(out)), -1);
    assert_int_equal(su_hex_decode("0g", 2, out, sizeof(out)), -1);
    assert_int_equal(su_hex_decode("00:1", 4, out, sizeof(out)), -1);
    assert_int_equal(su_hex_decode("0 ", 2, out, sizeof(out)), -1);
    /* only @len characters are read: "12" of "123" */
    assert_int_equal(su_hex_decode("123", 2, out, 1), 1);
    assert_int_equal(out[0], 0x12);
}

static void test_hex_encode(void **state)
{
    static const uint8_t in[] = { 0x00, 0x1f, 0xa0, 0xff };
    uint8_t back[sizeof(in)];
    char out[2 * sizeof(in) + 1];

    (void)state;
    memset(out, 'x', sizeof(out));
    su_hex_upper(in, sizeof(in), out);
    assert_string_equal(out, "001FA0FF");
    su_hex_lower(in, sizeof(in), out);
    assert_string_equal(out, "001fa0ff");
    su_hex_upper(in, 0, out);
    assert_string_equal(out, "");
    su_hex_lower(in, sizeof(in), out);
    assert_int_equal(su_hex_decode(out, strlen(out), back, sizeof(back)), (long)sizeof(in));
    assert_memory_equal(back, in, sizeof(in));
}

/* ---- su_dec.h ------------------------------------------------------------------------------ */

static int dec(const char *s, uint64_t max, uint64_t *ret)
{
    return su_dec_u64(s, strlen(s), max, NULL, ret);
}

static void test_dec_u64(void **state)
{
    uint64_t v = 7;
    size_t used = 99;

    (void)state;
    assert_int_equal(dec("0", 0, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(dec("007", 7, &v), 0);
    assert_int_equal(v, 7);
    assert_int_equal(dec("18446744073709551615", UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    /* what strtoul() would take and this does not: blanks, signs, a base, nothing */
    v = 5;
    assert_int_equal(dec("", 10, &v), -EINVAL);
    assert_int_equal(dec(" 1", 10, &v), -EINVAL);
    assert_int_equal(dec("+1", 10, &v), -EINVAL);
    assert_int_equal(dec("-1", 10, &v), -EINVAL);
    assert_int_equal(dec("1 ", 10, &v), -EINVAL);
    assert_int_equal(dec("0x1", 10, &v), -EINVAL);
    assert_int_equal(v, 5); /* written on success only */
    /* above @max, and past 2^64 - 1: -ERANGE; junk after any number: -EINVAL */
    assert_int_equal(dec("11", 10, &v), -ERANGE);
    assert_int_equal(dec("3", 2, &v), -ERANGE); /* one digit above @max */
    assert_int_equal(dec("1", 0, &v), -ERANGE);
    assert_int_equal(dec("256", 255, &v), -ERANGE);
    assert_int_equal(dec("18446744073709551616", UINT64_MAX, &v), -ERANGE);
    assert_int_equal(dec("99999999999999999999999999", UINT64_MAX, &v), -ERANGE);
    assert_int_equal(dec("99999999999999999999999999x", UINT64_MAX, &v), -EINVAL);
    assert_int_equal(v, 5);
    /* with ret_used, anything may follow, and @len bounds the digits read */
    assert_int_equal(su_dec_u64("256K", 4, UINT64_MAX, &used, &v), 0);
    assert_int_equal(v, 256);
    assert_int_equal(used, 3);
    assert_int_equal(su_dec_u64("12345", 2, UINT64_MAX, &used, &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(used, 2);
    assert_int_equal(su_dec_u64("12345", 2, UINT64_MAX, NULL, &v), 0);
    assert_int_equal(v, 12);
    assert_int_equal(su_dec_u64("K", 1, UINT64_MAX, &used, &v), -EINVAL);
    assert_int_equal(su_dec_u64("1", 0, UINT64_MAX, &used, &v), -EINVAL);
    /* a NUL inside @len is not a digit */
    assert_int_equal(su_dec_u64("1\0002", 3, UINT64_MAX, NULL, &v), -EINVAL);
}

static void test_dec_fixed(void **state)
{
    int v = -1;

    (void)state;
    assert_true(su_dec_fixed("2026", 4, &v));
    assert_int_equal(v, 2026);
    assert_true(su_dec_fixed("09x", 2, &v));
    assert_int_equal(v, 9);
    assert_true(su_dec_fixed("999999999", 9, &v));
    assert_int_equal(v, 999999999);
    v = -1;
    assert_false(su_dec_fixed("2x", 2, &v));
    assert_false(su_dec_fixed("1", 2, &v)); /* stops at the NUL */
    assert_false(su_dec_fixed("-1", 2, &v));
    assert_int_equal(v, -1);
}

/* ---- su_base64.h --------------------------------------------------------------------------- */

static long b64(const char *s, unsigned flags, uint8_t *out)
{
    return su_base64_decode(s, strlen(s), flags, out);
}

static void test_base64(void **state)
{
    /* RFC 4648, section 10 */
    static const char *const enc[] = { "",         "Zg==",     "Zm8=",    "Zm9v",
                                       "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
    uint8_t out[64];
    char text[64];

    (void)state;
    for (size_t n = 0; n <= 6; n++) {
        su_base64_encode((const uint8_t *)"foobar", n, text);
        assert_string_equal(text, enc[n]);
        assert_int_equal(b64(enc[n], 0, out), (long)n);
        assert_memory_equal(out, "foobar", n);
    }
    su_base64_encode((const uint8_t *)"\xfb\xff", 2, text);
    assert_string_equal(text, "+/8=");
    /* white space: skipped with SU_B64_SPACE (PEM bodies), refused without */
    assert_int_equal(b64("Zm9v\r\nYmFy", SU_B64_SPACE, out), 6);
    assert_int_equal(b64(" Zm 9v\tYg = = ", SU_B64_SPACE, out), 4);
    assert_int_equal(b64("Zm9v YmFy", 0, out), -1);
    assert_int_equal(b64("Zm9v\n", 0, out), -1);
    /* not a multiple of four, padding out of place, too much of it, other alphabets */
    assert_int_equal(b64("Zm9", 0, out), -1);
    assert_int_equal(b64("Zg=", 0, out), -1);
    assert_int_equal(b64("Z===", 0, out), -1);
    assert_int_equal(b64("Zg==Zg==", 0, out), -1);
    assert_int_equal(b64("=Zg=", 0, out), -1);
    assert_int_equal(b64("Zm9-", 0, out), -1);
    assert_int_equal(b64("Zm9_", 0, out), -1);
    assert_int_equal(su_base64_decode("Zm9v\0", 5, SU_B64_SPACE, out), -1); /* a NUL */
}

/* ---- su_buf.h ------------------------------------------------------------------------------ */

static void test_buf_writes(void **state)
{
    static const uint8_t bytes[] = { 0x00, 0xfb, 0xff, 0x10 };
    struct su_buf b;
    char big[1000];

    (void)state;
    su_buf_init(&b, NULL, NULL);
    assert_string_equal(su_buf_str(&b), "");
    su_buf_puts(&b, "ab");
    su_buf_putc(&b, 'c');
    su_buf_put(&b, "d\0e", 3); /* bytes, not a string */
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.p, "abcd\0e", 7);
    su_buf_release(&b);
    assert_null(b.p);
    assert_int_equal(b.len, 0);
    /* nothing from nowhere (an empty prefetched answer, lib/dir.c): no memcpy() from NULL,
       which UBSan reports */
    su_buf_put(&b, NULL, 0);
    assert_string_equal(su_buf_str(&b), "");
    su_buf_release(&b);

    su_buf_printf(&b, "%d-%s", 42, "x");
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    su_buf_printf(&b, "[%s]", big); /* longer than its 256-byte first try */
    assert_int_equal(b.len, 4 + 2 + sizeof(big) - 1);
    assert_memory_equal(b.p, "42-x[zzz", 8);
    assert_int_equal(b.p[b.len - 1], ']');
    assert_int_equal(b.p[b.len], '\0');
    su_buf_release(&b);

    su_buf_hex(&b, bytes, sizeof(bytes));
    su_buf_putc(&b, ' ');
    su_buf_base64(&b, bytes, sizeof(bytes));
    assert_string_equal(su_buf_str(&b), "00FBFF10 APv/EA==");
    su_buf_release(&b);
    /* RFC 4648's test vectors */
    static const char *const b64[] = { "",         "Zg==",     "Zm8=",    "Zm9v",
                                       "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
    for (size_t n = 0; n <= 6; n++) {
        su_buf_base64(&b, (const uint8_t *)"foobar", n);
        assert_string_equal(su_buf_str(&b), b64[n]);
        su_buf_release(&b);
    }
}

/* An allocator that fails from its @ctx-th call on (counting from 1), else realloc()/free(). */
struct failing {
    int calls, fail_at;
};

static void *failing_alloc(void *ctx, void *p, size_t keep, size_t size)
{
    struct failing *f = ctx;
    (void)keep;
    if (size == 0) {
        free(p);
        return NULL;
    }
    if (++f->calls >= f->fail_at)
        return NULL;
    return realloc(p, size);
}

static void test_buf_oom(void **state)
{
    struct failing f = { .fail_at = 2 };
    struct su_buf b;
    char chunk[100];

    (void)state;
    memset(chunk, 'q', sizeof(chunk));
    su_buf_init(&b, failing_alloc, &f);
    su_buf_put(&b, chunk, 10); /* the first block: 64 bytes */
    assert_string_equal(su_buf_str(&b), "qqqqqqqqqq");
    su_buf_put(&b, chunk, sizeof(chunk)); /* needs the second: fails */
    assert_true(b.oom);
    assert_null(su_buf_str(&b));
    su_buf_putc(&b, 'x'); /* ignored, although it would fit */
    su_buf_printf(&b, "%s", "y");
    assert_int_equal(b.len, 10);
    assert_false(su_buf_reserve(&b, 1));
    su_buf_release(&b); /* frees through the allocator */
    assert_null(b.p);
    /* a size no allocation could give */
    su_buf_init(&b, NULL, NULL);
    assert_false(su_buf_reserve(&b, SIZE_MAX - 1));
    assert_true(b.oom);
    su_buf_release(&b);
}

/* A temporary file holding @len bytes of 'r', rewound. */
static FILE *file_of(size_t len)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    for (size_t i = 0; i < len; i++)
        fputc('r', f);
    rewind(f);
    return f;
}

static void test_buf_read(void **state)
{
    static const size_t sizes[] = { 0, 1, 63, 64, 65535, 65536, 65537, 300000 };
    struct su_buf b;

    (void)state;
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t n = sizes[i];
        FILE *f = file_of(n);

        /* up to @max: all of it */
        su_buf_init(&b, NULL, NULL);
        su_buf_puts(&b, "<");
        assert_int_equal(su_buf_read(&b, f, n), 0);
        assert_int_equal(b.len, 1 + n);
        assert_int_equal(b.p[b.len], '\0');
        assert_true(n == 0 || (b.p[1] == 'r' && b.p[n] == 'r'));
        su_buf_release(&b);
        rewind(f);
        assert_int_equal(su_buf_read(&b, f, SIZE_MAX), 0);
        assert_int_equal(b.len, n);
        su_buf_release(&b);
        /* one byte more than @max: -EFBIG, with @max bytes kept */
        if (n > 0) {
            rewind(f);
            assert_int_equal(su_buf_read(&b, f, n - 1), -EFBIG);
            assert_int_equal(b.len, n - 1);
            su_buf_release(&b);
        }
        fclose(f);
    }
    /* a read error */
    FILE *wo = fopen("/dev/null", "w");
    assert_non_null(wo);
    su_buf_init(&b, NULL, NULL);
    assert_int_equal(su_buf_read(&b, wo, 10), -EIO); /* a file open for writing only */
    su_buf_release(&b);
    fclose(wo);
}

/* ---- su_clock.h ---------------------------------------------------------------------------- */

/* The clock against clock_gettime() itself, and it never goes back. */
static void test_mono(void **state)
{
    struct timespec before, after;
    int64_t prev = su_mono_ns();

    (void)state;
    for (int i = 0; i < 1000; i++) {
        int64_t ns = su_mono_ns();
        assert_true(ns >= prev);
        prev = ns;
    }
    clock_gettime(CLOCK_MONOTONIC, &before);
    struct timespec ts = su_mono_ts();
    int64_t ns = su_mono_ns(), us = su_mono_us(), ms = su_mono_ms();
    clock_gettime(CLOCK_MONOTONIC, &after);
    int64_t lo = (int64_t)before.tv_sec * 1000000000 + before.tv_nsec;
    int64_t hi = (int64_t)after.tv_sec * 1000000000 + after.tv_nsec;
    assert_true((int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec >= lo);
    assert_true(ns >= lo && ns <= hi);
    assert_true(us >= lo / 1000 && us <= hi / 1000);
    assert_true(ms >= lo / 1000000 && ms <= hi / 1000000);
}

static void test_ts_arithmetic(void **state)
{
    struct timespec t = { .tv_sec = 10, .tv_nsec = 999999999 };
    struct timespec u;

    (void)state;
    u = su_ts_add_ms(t, 1);
    assert_int_equal(u.tv_sec, 11);
    assert_int_equal(u.tv_nsec, 999999);
    u = su_ts_add_ms(t, 2500);
    assert_int_equal(u.tv_sec, 13);
    assert_int_equal(u.tv_nsec, 499999999);
    u = su_ts_add_ms(t, 0);
    assert_int_equal(u.tv_sec, 10);
    assert_int_equal(u.tv_nsec, 999999999);
    assert_int_equal(su_ts_diff_ms(su_ts_add_ms(t, 2500), t), 2500);
    assert_int_equal(su_ts_diff_ms(t, su_ts_add_ms(t, 2500)), -2500);
    assert_int_equal(su_ts_diff_us(su_ts_add_ms(t, 2500), t), 2500000);
    /* below a second, truncated towards zero, as the copies it replaced computed it */
    struct timespec a = { .tv_sec = 5, .tv_nsec = 100 }, b = { .tv_sec = 4, .tv_nsec = 900000000 };
    assert_int_equal(su_ts_diff_ms(a, b), 1000 - 899);
    assert_int_equal(su_ts_diff_us(a, b), 1000000 - 899999);
}

/* ---- su_escape.h --------------------------------------------------------------------------- */

static const char *esc(const char *s, size_t max, unsigned flags, size_t size)
{
    static char out[256];
    assert_true(size <= sizeof(out));
    memset(out, '#', sizeof(out));
    size_t n = su_escape(s, strlen(s), max, flags, out, size);
    assert_int_equal(n, strlen(out));
    assert_true(n < size);
    return out;
}

static void test_escape(void **state)
{
    (void)state;
    /* the logs: printable ASCII kept, the rest as \xNN (the space too unless kept) */
    assert_string_equal(esc("GET", 16, 0, 68), "GET");
    assert_string_equal(esc("a b\t\x7f\xc3\xa9", 16, 0, 68), "a\\x20b\\x09\\x7f\\xc3\\xa9");
    assert_string_equal(esc("a b", 16, SU_ESC_SPACE, 68), "a b");
    /* quotes and backslashes: escaped for the access log only */
    assert_string_equal(esc("\"x\\", 16, SU_ESC_QUOTES, 68), "\\x22x\\x5c");
    assert_string_equal(esc("\"x\\", 16, 0, 68), "\"x\\");
    /* more than @max bytes: cut there, "..." */
    assert_string_equal(esc("abcdef", 3, 0, 68), "abc...");
    assert_string_equal(esc("abc", 3, 0, 68), "abc");
    assert_string_equal(esc("\x01\x02\x03\x04", 2, 0, 4 * 2 + 4), "\\x01\\x02...");
    /* more than @out holds: cut after a whole escape, "..." */
    assert_string_equal(esc("ab\x01"
                            "cd",
                            99, 0, 10),
                        "ab\\x01...");
    assert_string_equal(esc("ab\x01", 99, 0, 10), "ab\\x01");
    assert_string_equal(esc("abcdefg", 99, 0, 10), "abcdef...");
    assert_string_equal(esc("abcdef", 99, 0, 10), "abcdef");
    assert_string_equal(esc("abc", 99, 0, 4), "...");
    /* '?' in place of \xNN (configuration messages) */
    assert_string_equal(esc("a\x01\xff b", 99, SU_ESC_SPACE | SU_ESC_QMARK, 68), "a?? b");
    assert_string_equal(esc("abcdefg", 99, SU_ESC_QMARK, 9), "abcde...");
    /* the caller cut the text: "..." anyway */
    assert_string_equal(esc("abc", 99, SU_ESC_ELLIPSIS, 68), "abc...");
    assert_string_equal(esc("", 99, 0, 68), "");
    /* only @len bytes are read: a NUL inside them is escaped */
    char out[32];
    assert_int_equal(su_escape("a\0b", 3, 99, 0, out, sizeof(out)), 6);
    assert_string_equal(out, "a\\x00b");
}

/* ---- su_hash.h ----------------------------------------------------------------------------- */

static const char *hex_of(const uint8_t *p, size_t len)
{
    static char out[2 * SU_SHA256_LEN + 1];
    su_hex_lower(p, len, out);
    return out;
}

/* FIPS 180-2's examples ("abc", the 56-byte message, a million 'a'), and the empty string */
static void test_sha(void **state)
{
    static const char two_blocks[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    static char million[1000000];
    uint8_t h1[SU_SHA1_LEN], h256[SU_SHA256_LEN];

    (void)state;
    su_sha1("abc", 3, h1);
    assert_string_equal(hex_of(h1, sizeof(h1)), "a9993e364706816aba3e25717850c26c9cd0d89d");
    su_sha256("abc", 3, h256);
    assert_string_equal(hex_of(h256, sizeof(h256)),
                        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    su_sha1(two_blocks, strlen(two_blocks), h1);
    assert_string_equal(hex_of(h1, sizeof(h1)), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    su_sha256(two_blocks, strlen(two_blocks), h256);
    assert_string_equal(hex_of(h256, sizeof(h256)),
                        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    memset(million, 'a', sizeof(million));
    su_sha256(million, sizeof(million), h256);
    assert_string_equal(hex_of(h256, sizeof(h256)),
                        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    su_sha256("", 0, h256);
    assert_string_equal(hex_of(h256, sizeof(h256)),
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* The FNV authors' 64-bit FNV-1a test values, and the seed XORed into the offset basis. */
static void test_fnv1a64(void **state)
{
    (void)state;
    assert_true(su_fnv1a64(0, "", 0) == 0xcbf29ce484222325ULL);
    assert_true(su_fnv1a64(0, "a", 1) == 0xaf63dc4c8601ec8cULL);
    assert_true(su_fnv1a64(0, "foobar", 6) == 0x85944171f73967e8ULL);
    assert_true(su_fnv1a64(0xcbf29ce484222325ULL, "", 0) == 0);
    assert_true(su_fnv1a64(1, "a", 1) != su_fnv1a64(0, "a", 1));
}

/* ---- su_time.h ----------------------------------------------------------------------------- */

/* Every day of years 1 to 2200 and 9990 to 9999 against timegm(), including days past a
   month's end, which both count on into the next month. */
static void test_days_from_civil(void **state)
{
    (void)state;
    for (int y = 1; y <= 9999; y = y == 2200 ? 9990 : y + 1)
        for (int m = 1; m <= 12; m++)
            for (int d = 1; d <= 31; d++) {
                struct tm tm = { .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d };
                long long want = (long long)timegm(&tm);
                assert_int_equal(su_days_from_civil(y, (unsigned)m, (unsigned)d) * 86400, want);
            }
    assert_int_equal(su_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(su_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(su_days_from_civil(2000, 3, 1), 11017);
}

/* The days of each month are those timegm() keeps in it: day N + 1 is the 1st of the next. */
static void test_days_in_month(void **state)
{
    (void)state;
    for (int y = 1; y <= 2400; y++)
        for (unsigned m = 1; m <= 12; m++) {
            unsigned n = su_days_in_month(y, m);
            assert_in_range(n, 28, 31);
            assert_int_equal(su_days_from_civil(y, m, n + 1),
                             su_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1, 1));
        }
    assert_int_equal(su_days_in_month(1900, 2), 28);
    assert_int_equal(su_days_in_month(2000, 2), 29);
    assert_int_equal(su_days_in_month(2024, 2), 29);
    assert_int_equal(su_days_in_month(2100, 2), 28);
}

/* ---- su_utf8.h ----------------------------------------------------------------------------- */

/* Every code point encodes and decodes back (surrogates as U+FFFD), in the shortest form. */
static void test_utf8_round_trip(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp <= 0x110000; cp++) {
        char out[4];
        uint32_t back = 0xffffffff;
        size_t n = su_utf8_encode(cp, out);
        bool bad = cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff);
        size_t want = bad ? 3 : cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

        assert_int_equal(n, want);
        assert_int_equal(su_utf8_seq((const unsigned char *)out, n, &back), n);
        assert_int_equal(back, bad ? 0xfffd : cp);
        /* cut short, it is invalid */
        if (n > 1)
            assert_int_equal(su_utf8_seq((const unsigned char *)out, n - 1, &back), 0);
        assert_int_equal(su_utf8_valid(out, n), cp != 0);
    }
}

static void test_utf8_invalid(void **state)
{
    static const char *const bad[] = {
        "\x80",             /* a continuation byte alone */
        "\xbf",             /* another */
        "\xc0\x80",         /* overlong NUL */
        "\xc1\xbf",         /* overlong U+007F */
        "\xe0\x9f\xbf",     /* overlong U+07FF */
        "\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
        "\xed\xa0\x80",     /* U+D800, a surrogate */
        "\xed\xbf\xbf",     /* U+DFFF */
        "\xf4\x90\x80\x80", /* U+110000 */
        "\xf5\x80\x80\x80", /* no such lead byte */
        "\xff",
        "\xe2\x82",     /* cut short */
        "\xe2\x28\xa1", /* not a continuation byte */
    };
    uint32_t cp;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(su_utf8_seq((const unsigned char *)bad[i], strlen(bad[i]), &cp), 0);
        assert_false(su_utf8_valid(bad[i], strlen(bad[i])));
    }
    assert_true(su_utf8_valid("", 0));
    assert_true(su_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
    assert_false(su_utf8_valid("a\0b", 3)); /* a NUL is valid UTF-8, but not here */
    assert_int_equal(su_utf8_seq((const unsigned char *)"\0", 1, &cp), 1);
    assert_int_equal(cp, 0);
}

/* ---- su_file.h ----------------------------------------------------------------------------- */

/* A regular file opens, blocking; a FIFO without a writer (which open() waits for), a directory
   and a device are refused at once. */
static void test_open_regular(void **state)
{
    char dir[] = "/tmp/sm_test_support_XXXXXX", path[64], fifo[64];
    struct stat st;
    int fd;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/file", dir);
    snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    close(fd);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    fd = su_open_regular(path, &st);
    assert_true(fd >= 0);
    assert_int_equal(st.st_size, 3);
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    assert_int_equal(su_open_regular(fifo, &st), -EINVAL);
    assert_int_equal(su_open_regular(dir, &st), -EINVAL);
    assert_int_equal(su_open_regular("/dev/null", &st), -EINVAL);
    unlink(path);
    assert_int_equal(su_open_regular(path, &st), -ENOENT);
    unlink(fifo);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hex_digit),     cmocka_unit_test(test_hex_decode),
        cmocka_unit_test(test_hex_encode),    cmocka_unit_test(test_days_from_civil),
        cmocka_unit_test(test_days_in_month), cmocka_unit_test(test_dec_u64),
        cmocka_unit_test(test_dec_fixed),     cmocka_unit_test(test_mono),
        cmocka_unit_test(test_ts_arithmetic), cmocka_unit_test(test_sha),
        cmocka_unit_test(test_fnv1a64),       cmocka_unit_test(test_utf8_round_trip),
        cmocka_unit_test(test_utf8_invalid),  cmocka_unit_test(test_buf_writes),
        cmocka_unit_test(test_buf_oom),       cmocka_unit_test(test_buf_read),
        cmocka_unit_test(test_escape),        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_open_regular),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

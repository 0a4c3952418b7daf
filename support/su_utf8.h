/*
 * support/su_utf8.h - UTF-8 (RFC 3629): decoding one sequence, validating, encoding. Not
 * installed.
 */
#ifndef SM_SUPPORT_UTF8_H
#define SM_SUPPORT_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * Length (1 to 4) of the valid UTF-8 sequence at @p (@len > 0 bytes), with its code point in
 * *@cp; 0 when it is not one: a stray continuation byte, an overlong form, a surrogate, a code
 * point above U+10FFFF, or a sequence cut by @len. A NUL byte is a valid sequence (code point
 * 0). Inline: the engine runs it over every string of every certificate.
 */
static inline size_t su_utf8_seq(const unsigned char *p, size_t len, uint32_t *cp)
{
    unsigned char c = p[0];
    size_t n;
    uint32_t v, min;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        n = 2, v = c & 0x1f, min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        n = 3, v = c & 0x0f, min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

/** True when the @len bytes at @p are valid UTF-8 without a NUL. */
bool su_utf8_valid(const char *p, size_t len);

/**
 * Code point @cp as UTF-8 into @out (no NUL); U+FFFD in place of a surrogate or a value above
 * U+10FFFF. Returns the bytes written, 1 to 4.
 */
size_t su_utf8_encode(uint32_t cp, char out[4]);

#endif

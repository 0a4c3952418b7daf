/*
 * support/su_base64.c - base64 (RFC 4648, section 4: the standard alphabet, '=' padding).
 */
#include "su_base64.h"

void su_base64_encode(const uint8_t *p, size_t len, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        *out++ = tbl[v >> 18];
        *out++ = tbl[(v >> 12) & 63];
        *out++ = i + 1 < len ? tbl[(v >> 6) & 63] : '=';
        *out++ = i + 2 < len ? tbl[v & 63] : '=';
    }
    *out = '\0';
}

/* base64 alphabet value, B64_SPACE, B64_PAD or B64_BAD for each byte (generated) */
#define B64_BAD   (-1)
#define B64_SPACE (-2)
#define B64_PAD   (-3)
/* clang-format off */
static const signed char b64_value[256] = {
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -2, -2, -2, -2, -2, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1, -1, 63,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -3, -1, -1,
    -1,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, -1,
    -1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
    -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};
/* clang-format on */

long su_base64_decode(const char *text, size_t len, unsigned flags, uint8_t *out)
{
    const unsigned char *p = (const unsigned char *)text;
    uint32_t acc = 0;
    size_t o = 0, k = 0, pad = 0;

    for (size_t i = 0; i < len; i++) {
        /* four alphabet characters at a quantum boundary: the common case, in one step */
        if (k == 0 && !pad && len - i >= 4) {
            int a = b64_value[p[i]], b = b64_value[p[i + 1]], c = b64_value[p[i + 2]],
                d = b64_value[p[i + 3]];
            if ((a | b | c | d) >= 0) {
                uint32_t q = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
                out[o++] = (uint8_t)(q >> 16);
                out[o++] = (uint8_t)(q >> 8);
                out[o++] = (uint8_t)q;
                i += 3;
                continue;
            }
        }
        int v = b64_value[p[i]];
        if (v >= 0) {
            if (pad)
                return -1; /* data after padding */
            acc = acc << 6 | (uint32_t)v;
            if (++k == 4) {
                out[o++] = (uint8_t)(acc >> 16);
                out[o++] = (uint8_t)(acc >> 8);
                out[o++] = (uint8_t)acc;
                acc = 0;
                k = 0;
            }
        } else if (v == B64_PAD) {
            if (k < 2 || ++pad > 2 || k + pad > 4)
                return -1;
        } else if (v == B64_BAD || !(flags & SU_B64_SPACE)) {
            return -1; /* not base64, or white space where none may be */
        }
    }
    if (pad) {
        if (k + pad != 4)
            return -1;
        acc <<= 6 * pad;
        out[o++] = (uint8_t)(acc >> 16);
        if (pad == 1)
            out[o++] = (uint8_t)(acc >> 8);
    } else if (k) {
        return -1; /* not a multiple of four characters */
    }
    return (long)o;
}

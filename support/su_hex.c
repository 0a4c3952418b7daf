/*
 * support/su_hex.c - hex digits.
 */
#include "su_hex.h"

int su_hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long su_hex_decode(const char *s, size_t len, uint8_t *out, size_t outsize)
{
    if (len % 2 != 0 || len / 2 > outsize)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        int hi = su_hex_digit(s[i]), lo = su_hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(len / 2);
}

static void encode(const uint8_t *p, size_t len, const char digits[16], char *out)
{
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * len] = '\0';
}

void su_hex_upper(const uint8_t *p, size_t len, char *out)
{
    encode(p, len, "0123456789ABCDEF", out);
}

void su_hex_lower(const uint8_t *p, size_t len, char *out)
{
    encode(p, len, "0123456789abcdef", out);
}

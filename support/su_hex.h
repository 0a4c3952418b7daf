/*
 * support/su_hex.h - hex digits: one digit's value, decoding and encoding. Not installed.
 */
#ifndef SM_SUPPORT_HEX_H
#define SM_SUPPORT_HEX_H

#include <stddef.h>
#include <stdint.h>

/** Value of one hex digit (either case), or -1 for any other character. */
int su_hex_digit(int c);

/**
 * Decode the @len hex digits (either case) at @s into @out, which holds @outsize bytes.
 * Returns the bytes written, or -1 when @len is odd, @out is too small or a character is not
 * a hex digit (then @out may hold part of the result).
 */
long su_hex_decode(const char *s, size_t len, uint8_t *out, size_t outsize);

/** Upper-case hex of the @len bytes at @p into @out (2 * @len + 1 bytes, NUL-terminated). */
void su_hex_upper(const uint8_t *p, size_t len, char *out);
/** Lower-case hex of the @len bytes at @p into @out (2 * @len + 1 bytes, NUL-terminated). */
void su_hex_lower(const uint8_t *p, size_t len, char *out);

#endif

/*
 * support/su_base64.h - base64 (RFC 4648, section 4: the standard alphabet, '=' padding).
 * Not installed.
 */
#ifndef SM_SUPPORT_BASE64_H
#define SM_SUPPORT_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* su_base64_decode()'s flags */
enum {
    SU_B64_SPACE = 1 << 0, /* skip white space anywhere (PEM bodies); else it is invalid */
};

/** Base64 of the @len bytes at @p into @out (4 * ((@len + 2) / 3) + 1 bytes, NUL-terminated). */
void su_base64_encode(const uint8_t *p, size_t len, char *out);

/**
 * Decode the base64 at @text (@len bytes) into @out, which holds @len / 4 * 3 bytes. The
 * characters other than skipped white space must be a multiple of four, with at most two '='
 * and only at the end. Returns the bytes written, or -1 when invalid.
 */
long su_base64_decode(const char *text, size_t len, unsigned flags, uint8_t *out);

#endif

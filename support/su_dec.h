/*
 * support/su_dec.h - unsigned decimal numbers from text, strictly: ASCII digits only, no sign,
 * no blank, no base prefix (strtoul() takes all three). Not installed.
 */
#ifndef SM_SUPPORT_DEC_H
#define SM_SUPPORT_DEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * The number the digits at the start of @s (@len bytes; they need no NUL) write, at most @max.
 * With @ret_used the digits may be followed by anything, and *@ret_used is their count;
 * without it, all @len bytes must be digits (a NUL among them is not one).
 * Returns 0; -EINVAL when @s does not start with a digit, or (without @ret_used) when something
 * follows the digits; -ERANGE when the number is above @max (all its digits read first, so that
 * a number followed by junk is -EINVAL however large). Out-parameters are written on success.
 */
int su_dec_u64(const char *s, size_t len, uint64_t max, size_t *ret_used, uint64_t *ret);

/** Exactly @n (1 to 9) digits at @s into *@ret; false when one of them is not a digit. */
bool su_dec_fixed(const char *s, size_t n, int *ret);

#endif

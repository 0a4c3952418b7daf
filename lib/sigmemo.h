/*
 * lib/sigmemo.h - signature checks remembered (lib/sigmemo.c): yes or no, by the SHA-256 of what
 * was signed and of who signed it. Not installed.
 */
#ifndef SM_LIB_SIGMEMO_H
#define SM_LIB_SIGMEMO_H

#include <stdbool.h>
#include <stdint.h>

/** What was remembered for (@a, @b): 1 signed, -1 not signed, 0 not known. @b NULL: a
 *  self-signed object (a certificate request), @a its digest. */
int sigmemo_get(const uint8_t a[32], const uint8_t b[32]);
/** Remember the answer for (@a, @b), replacing what shared its slot. */
void sigmemo_put(const uint8_t a[32], const uint8_t b[32], bool yes);

#endif

/*
 * lib/hash.h - SHA-1 and SHA-256 for thumbprints and key hashes. Not installed.
 *
 * lib/hash.c is the only file that includes Nettle, whose SHA code uses the CPU's SHA
 * extensions when there are any: 6x faster than mbedTLS 2.28's portable C here
 * (docs/performance.md).
 */
#ifndef SM_LIB_HASH_H
#define SM_LIB_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SM_SHA1_LEN   20
#define SM_SHA256_LEN 32

void sm_sha1(const void *p, size_t len, uint8_t out[SM_SHA1_LEN]);
void sm_sha256(const void *p, size_t len, uint8_t out[SM_SHA256_LEN]);

#endif

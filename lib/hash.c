/*
 * lib/hash.c - SHA-1 and SHA-256 through Nettle (the only Nettle user of the engine).
 */
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "hash.h"

void sm_sha1(const void *p, size_t len, uint8_t out[SM_SHA1_LEN])
{
    struct sha1_ctx c;
    sha1_init(&c);
    sha1_update(&c, len, p);
    sha1_digest(&c, SM_SHA1_LEN, out);
}

void sm_sha256(const void *p, size_t len, uint8_t out[SM_SHA256_LEN])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, len, p);
    sha256_digest(&c, SM_SHA256_LEN, out);
}

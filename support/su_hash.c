/*
 * support/su_hash.c - SHA-1, SHA-256 and HMAC-SHA256 through Nettle (the only Nettle user),
 * FNV-1a.
 */
#include <nettle/hmac.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include <string.h>

#include "su_hash.h"

void su_sha1(const void *p, size_t len, uint8_t out[SU_SHA1_LEN])
{
    struct sha1_ctx c;
    sha1_init(&c);
    sha1_update(&c, len, p);
    sha1_digest(&c, SU_SHA1_LEN, out);
}

void su_sha256(const void *p, size_t len, uint8_t out[SU_SHA256_LEN])
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, len, p);
    sha256_digest(&c, SU_SHA256_LEN, out);
}

void su_hmac_sha256(const void *key, size_t key_len, const void *p, size_t len,
                    uint8_t out[SU_SHA256_LEN])
{
    struct hmac_sha256_ctx c;
    hmac_sha256_set_key(&c, key_len, key);
    hmac_sha256_update(&c, len, p);
    hmac_sha256_digest(&c, SU_SHA256_LEN, out);
    explicit_bzero(&c, sizeof(c)); /* the keyed state */
}

uint64_t su_fnv1a64(uint64_t seed, const void *p, size_t len)
{
    const unsigned char *b = p;
    uint64_t h = 14695981039346656037ULL ^ seed;

    for (size_t i = 0; i < len; i++)
        h = (h ^ b[i]) * 1099511628211ULL;
    return h;
}

/*
 * support/su_hash.h - hashes: SHA-1 and SHA-256 (certificate and key thumbprints, the API's
 * token hashes), HMAC-SHA256 (RFC 2104; the signatures of step-ca's webhook calls) and FNV-1a (hash
 * tables and shards). Not installed.
 *
 * support/su_hash.c is the only file that includes Nettle, whose SHA code uses the CPU's SHA
 * extensions when there are any: 6x faster than mbedTLS 2.28's portable C here
 * (docs/performance.md).
 */
#ifndef SM_SUPPORT_HASH_H
#define SM_SUPPORT_HASH_H

#include <stddef.h>
#include <stdint.h>

#define SU_SHA1_LEN   20
#define SU_SHA256_LEN 32

void su_sha1(const void *p, size_t len, uint8_t out[SU_SHA1_LEN]);
void su_sha256(const void *p, size_t len, uint8_t out[SU_SHA256_LEN]);

/** HMAC-SHA256 (RFC 2104) of the @len bytes at @p with the @key_len bytes of @key. */
void su_hmac_sha256(const void *key, size_t key_len, const void *p, size_t len,
                    uint8_t out[SU_SHA256_LEN]);

/**
 * 64-bit FNV-1a of the @len bytes at @p, started from the offset basis XOR @seed (a random
 * seed keeps a client from choosing keys that share a chain or a shard). Not a cryptographic
 * hash.
 */
uint64_t su_fnv1a64(uint64_t seed, const void *p, size_t len);

#endif

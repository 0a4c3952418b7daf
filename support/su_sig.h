/*
 * support/su_sig.h - signature verification through Nettle's hogweed (with GMP): RSA PKCS#1
 * v1.5 and RSASSA-PSS (RFC 8017), ECDSA on the NIST prime curves (FIPS 186-4), Ed25519 and
 * Ed448 (RFC 8032). Not installed.
 *
 * support/su_sig.c and su_hash.c are the only files that include Nettle. The callers read keys
 * and signatures out of their ASN.1 themselves (lib/cert_csr.c, with mbedTLS) and hand over
 * plain big-endian numbers; the message is hashed here. Each function returns 0 when the
 * signature verifies, -EBADMSG when it does not, -ENOTSUP for a combination this file does not
 * verify (a hash RSASSA-PSS is not offered with here) and -EINVAL for a key out of its bounds
 * (RSA: SU_SIG_RSA_MIN_BITS to SU_SIG_RSA_MAX_BITS, n odd, e odd, 1 < e < n; EC: a point on the
 * curve, uncompressed). GMP's allocations are its own (it aborts when out of memory).
 */
#ifndef SM_SUPPORT_SIG_H
#define SM_SUPPORT_SIG_H

#include <stddef.h>
#include <stdint.h>

#define SU_SIG_RSA_MIN_BITS 1024
#define SU_SIG_RSA_MAX_BITS 16384
#define SU_SIG_ED25519_KEY  32
#define SU_SIG_ED25519_SIG  64
#define SU_SIG_ED448_KEY    57
#define SU_SIG_ED448_SIG    114

enum su_sig_hash { SU_SIG_SHA1 = 1, SU_SIG_SHA224, SU_SIG_SHA256, SU_SIG_SHA384, SU_SIG_SHA512 };

/* the NIST prime curves (secp192r1 ... secp521r1) */
enum su_sig_curve { SU_SIG_P192 = 1, SU_SIG_P224, SU_SIG_P256, SU_SIG_P384, SU_SIG_P521 };

/* An RSA public key: modulus and public exponent, big-endian, borrowed. */
struct su_sig_rsa {
    const uint8_t *n, *e;
    size_t n_len, e_len;
};

/** RSASSA-PKCS1-v1_5 (RFC 8017, 8.2.2): @sig is exactly as long as the modulus. */
int su_sig_rsa_pkcs1(const struct su_sig_rsa *key, enum su_sig_hash hash, const void *msg,
                     size_t msg_len, const uint8_t *sig, size_t sig_len);

/**
 * RSASSA-PSS (RFC 8017, 8.1.2) with MGF1 over the same hash, and a salt of exactly @salt_len
 * bytes. SHA-256, SHA-384 and SHA-512 only (-ENOTSUP for the others).
 */
int su_sig_rsa_pss(const struct su_sig_rsa *key, enum su_sig_hash hash, size_t salt_len,
                   const void *msg, size_t msg_len, const uint8_t *sig, size_t sig_len);

/**
 * ECDSA: @point is the public key's uncompressed point (0x04, X, Y, each as long as the field),
 * @r and @s the signature's two numbers (big-endian, unsigned, at most as long as the field).
 */
int su_sig_ecdsa(enum su_sig_curve curve, const uint8_t *point, size_t point_len,
                 enum su_sig_hash hash, const void *msg, size_t msg_len, const uint8_t *r,
                 size_t r_len, const uint8_t *s, size_t s_len);

/** Ed25519 (pure, RFC 8032 5.1.7) of the @msg_len bytes at @msg. */
int su_sig_ed25519(const uint8_t key[SU_SIG_ED25519_KEY], const void *msg, size_t msg_len,
                   const uint8_t sig[SU_SIG_ED25519_SIG]);

/** Ed448 (pure, empty context, RFC 8032 5.2.7). */
int su_sig_ed448(const uint8_t key[SU_SIG_ED448_KEY], const void *msg, size_t msg_len,
                 const uint8_t sig[SU_SIG_ED448_SIG]);

#endif

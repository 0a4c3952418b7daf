/*
 * support/su_sig.c - signature verification through Nettle's hogweed: RSA (PKCS#1 v1.5, PSS),
 * ECDSA on the NIST prime curves, Ed25519 and Ed448. With su_hash.c the only Nettle user.
 *
 * Why not mbedTLS, which parses the keys: mbedTLS 2.28 takes about 712,000 instructions to
 * check an RSA-2048 signature (its bignum, and R^2 mod N computed again for every key it
 * parses); GMP's mpz_powm a fraction of that (docs/performance.md). Every check here is
 * Nettle's own: the whole PKCS#1 v1.5 encoding is compared (rsa_pkcs1_verify() with the
 * DigestInfo of RFC 8017, 9.2, note 1), 0 < s < n, 0 < r, s < q, the point on its curve.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <gmp.h>
#include <nettle/bignum.h>
#include <nettle/ecc-curve.h>
#include <nettle/ecc.h>
#include <nettle/ecdsa.h>
#include <nettle/eddsa.h>
#include <nettle/nettle-meta.h>
#include <nettle/rsa.h>
#include <nettle/sha1.h>
#include <nettle/sha2.h>

#include "su_sig.h"

#define MAX_DIGEST    SHA512_DIGEST_SIZE
#define DI_PREFIX     19 /* the longest DigestInfo prefix below */
#define MAX_FIELD     66 /* P-521's field, in bytes */
#define ARRAY_LEN_(a) (sizeof(a) / sizeof((a)[0]))

/* The hash of @msg into @out; its length, 0 for an unknown hash. */
static size_t digest(enum su_sig_hash h, const void *msg, size_t len, uint8_t out[MAX_DIGEST])
{
    static const struct nettle_hash *const hashes[] = {
        [SU_SIG_SHA1] = &nettle_sha1,     [SU_SIG_SHA224] = &nettle_sha224,
        [SU_SIG_SHA256] = &nettle_sha256, [SU_SIG_SHA384] = &nettle_sha384,
        [SU_SIG_SHA512] = &nettle_sha512,
    };
    union {
        struct sha1_ctx sha1;
        struct sha256_ctx sha256;
        struct sha512_ctx sha512;
    } c;
    const struct nettle_hash *m =
        (unsigned)h < ARRAY_LEN_(hashes) ? hashes[h] : NULL; /* NULL: unknown */

    if (!m || m->context_size > sizeof(c) || m->digest_size > MAX_DIGEST)
        return 0;
    m->init(&c);
    m->update(&c, len, msg);
    m->digest(&c, m->digest_size, out);
    return m->digest_size;
}

/* ---- RSA ------------------------------------------------------------------------------------ */

/* The key into @k (initialised here; rsa_public_key_clear() it whatever this returns). */
static int rsa_key(struct rsa_public_key *k, const struct su_sig_rsa *in)
{
    rsa_public_key_init(k);
    if (in->n_len == 0 || in->e_len == 0 || in->n_len > SU_SIG_RSA_MAX_BITS / 8 + 1 ||
        in->e_len > in->n_len)
        return -EINVAL;
    nettle_mpz_set_str_256_u(k->n, in->n_len, in->n);
    nettle_mpz_set_str_256_u(k->e, in->e_len, in->e);
    size_t bits = mpz_sizeinbase(k->n, 2);
    if (bits < SU_SIG_RSA_MIN_BITS || bits > SU_SIG_RSA_MAX_BITS || mpz_even_p(k->n) ||
        mpz_even_p(k->e) || mpz_cmp_ui(k->e, 1) <= 0 || mpz_cmp(k->e, k->n) >= 0)
        return -EINVAL;
    return rsa_public_key_prepare(k) ? 0 : -EINVAL;
}

int su_sig_rsa_pkcs1(const struct su_sig_rsa *key, enum su_sig_hash hash, const void *msg,
                     size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    /* DigestInfo DER up to the digest's OCTET STRING header (RFC 8017, 9.2, note 1) */
    static const struct {
        enum su_sig_hash hash;
        uint8_t len;
        uint8_t der[DI_PREFIX];
    } prefixes[] = {
        { SU_SIG_SHA1,
          15,
          { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
            0x14 } },
        { SU_SIG_SHA224,
          19,
          { 0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x04, 0x05, 0x00, 0x04, 0x1c } },
        { SU_SIG_SHA256,
          19,
          { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20 } },
        { SU_SIG_SHA384,
          19,
          { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30 } },
        { SU_SIG_SHA512,
          19,
          { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40 } },
    };
    uint8_t info[DI_PREFIX + MAX_DIGEST];
    struct rsa_public_key k;
    size_t i, dlen;
    mpz_t s;
    int r;

    for (i = 0; i < ARRAY_LEN_(prefixes) && prefixes[i].hash != hash; i++)
        ;
    if (i == ARRAY_LEN_(prefixes))
        return -ENOTSUP;
    if ((r = rsa_key(&k, key)) < 0)
        goto out;
    r = -EBADMSG;
    if (sig_len != k.size)
        goto out;
    memcpy(info, prefixes[i].der, prefixes[i].len);
    dlen = digest(hash, msg, msg_len, info + prefixes[i].len);
    mpz_init(s);
    nettle_mpz_set_str_256_u(s, sig_len, sig);
    if (rsa_pkcs1_verify(&k, prefixes[i].len + dlen, info, s))
        r = 0;
    mpz_clear(s);
out:
    rsa_public_key_clear(&k);
    return r;
}

int su_sig_rsa_pss(const struct su_sig_rsa *key, enum su_sig_hash hash, size_t salt_len,
                   const void *msg, size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    int (*verify)(const struct rsa_public_key *, size_t, const uint8_t *, const mpz_t);
    uint8_t d[MAX_DIGEST];
    struct rsa_public_key k;
    mpz_t s;
    int r;

    switch (hash) {
    case SU_SIG_SHA256: verify = rsa_pss_sha256_verify_digest; break;
    case SU_SIG_SHA384: verify = rsa_pss_sha384_verify_digest; break;
    case SU_SIG_SHA512: verify = rsa_pss_sha512_verify_digest; break;
    default: return -ENOTSUP;
    }
    if ((r = rsa_key(&k, key)) < 0)
        goto out;
    r = -EBADMSG;
    if (sig_len != k.size || salt_len > k.size)
        goto out;
    digest(hash, msg, msg_len, d);
    mpz_init(s);
    nettle_mpz_set_str_256_u(s, sig_len, sig);
    if (verify(&k, salt_len, d, s))
        r = 0;
    mpz_clear(s);
out:
    rsa_public_key_clear(&k);
    return r;
}

/* ---- ECDSA ---------------------------------------------------------------------------------- */

int su_sig_ecdsa(enum su_sig_curve curve, const uint8_t *point, size_t point_len,
                 enum su_sig_hash hash, const void *msg, size_t msg_len, const uint8_t *r,
                 size_t r_len, const uint8_t *s, size_t s_len)
{
    const struct ecc_curve *ecc;
    size_t field;
    switch (curve) {
    case SU_SIG_P192: ecc = nettle_get_secp_192r1(), field = 24; break;
    case SU_SIG_P224: ecc = nettle_get_secp_224r1(), field = 28; break;
    case SU_SIG_P256: ecc = nettle_get_secp_256r1(), field = 32; break;
    case SU_SIG_P384: ecc = nettle_get_secp_384r1(), field = 48; break;
    case SU_SIG_P521: ecc = nettle_get_secp_521r1(), field = MAX_FIELD; break;
    default: return -ENOTSUP;
    }
    if (point_len != 1 + 2 * field || point[0] != 0x04)
        return -EINVAL;

    struct ecc_point pub;
    struct dsa_signature sig;
    uint8_t d[MAX_DIGEST];
    size_t dlen;
    mpz_t x, y;
    int ret = -EINVAL;

    mpz_inits(x, y, NULL);
    ecc_point_init(&pub, ecc);
    dsa_signature_init(&sig);
    nettle_mpz_set_str_256_u(x, field, point + 1);
    nettle_mpz_set_str_256_u(y, field, point + 1 + field);
    if (!ecc_point_set(&pub, x, y)) /* coordinates below p, on the curve */
        goto out;
    ret = -EBADMSG;
    if (r_len == 0 || s_len == 0 || r_len > field || s_len > field)
        goto out;
    if (!(dlen = digest(hash, msg, msg_len, d))) {
        ret = -ENOTSUP;
        goto out;
    }
    nettle_mpz_set_str_256_u(sig.r, r_len, r);
    nettle_mpz_set_str_256_u(sig.s, s_len, s);
    if (ecdsa_verify(&pub, dlen, d, &sig)) /* 0 < r, s < q */
        ret = 0;
out:
    dsa_signature_clear(&sig);
    ecc_point_clear(&pub);
    mpz_clears(x, y, NULL);
    return ret;
}

/* ---- EdDSA ---------------------------------------------------------------------------------- */

/* A point's encoding (RFC 8032, 5.1.3): y, its top bit cleared, is below p = 2^255 - 19. */
static bool canonical_25519(const uint8_t b[32])
{
    if ((b[31] & 0x7f) != 0x7f || b[0] < 0xed)
        return true;
    for (size_t i = 1; i < 31; i++)
        if (b[i] != 0xff)
            return true;
    return false;
}

int su_sig_ed25519(const uint8_t key[SU_SIG_ED25519_KEY], const void *msg, size_t msg_len,
                   const uint8_t sig[SU_SIG_ED25519_SIG])
{
    if (!canonical_25519(key) || !canonical_25519(sig)) /* the key, and R */
        return -EBADMSG;
    return ed25519_sha512_verify(key, msg_len, msg, sig) ? 0 : -EBADMSG;
}

int su_sig_ed448(const uint8_t key[SU_SIG_ED448_KEY], const void *msg, size_t msg_len,
                 const uint8_t sig[SU_SIG_ED448_SIG])
{
    /* RFC 8032, 5.2.3 and 5.2.7: y < p < 2^448 leaves bits 448-454 of the key and of R zero,
       and S < L < 2^446 its last octet. Nettle 3.8 reads S without that octet: a signature
       with it changed verified. */
    if ((key[56] & 0x7f) || (sig[56] & 0x7f) || sig[113])
        return -EBADMSG;
    return ed448_shake256_verify(key, msg_len, msg, sig) ? 0 : -EBADMSG;
}

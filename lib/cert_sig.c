/*
 * lib/cert_sig.c - a signature checked by Nettle (support/su_sig.c) with the key and the
 * algorithm mbedTLS read, and EdDSA signatures, whose keys mbedTLS 2.28 cannot read at all.
 *
 * mbedTLS takes about 712,000 instructions to check one RSA-2048 signature of a key it has just
 * parsed (its bignum, and R^2 mod N made again for each key); Nettle and GMP far fewer
 * (docs/performance.md). The numbers go over as big-endian bytes: RSA's modulus and exponent,
 * the EC point uncompressed, ECDSA's r and s read from their DER SEQUENCE here, strictly (two
 * minimal non-negative INTEGERs and nothing after them). What su_sig.c does not take comes back
 * as -ENOTSUP, and the caller asks mbedtls_pk_verify_ext() as before.
 */
#include <errno.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509.h>

#include "cert_internal.h"
#include "su_sig.h"

static int hash_of(mbedtls_md_type_t md, enum su_sig_hash *h)
{
    switch (md) {
    case MBEDTLS_MD_SHA1: *h = SU_SIG_SHA1; return 0;
    case MBEDTLS_MD_SHA224: *h = SU_SIG_SHA224; return 0;
    case MBEDTLS_MD_SHA256: *h = SU_SIG_SHA256; return 0;
    case MBEDTLS_MD_SHA384: *h = SU_SIG_SHA384; return 0;
    case MBEDTLS_MD_SHA512: *h = SU_SIG_SHA512; return 0;
    default: return -ENOTSUP;
    }
}

static int rsa(const mbedtls_pk_context *pk, mbedtls_pk_type_t sig_pk, enum su_sig_hash h,
               mbedtls_md_type_t md, const void *sig_opts, const uint8_t *tbs, size_t tbs_len,
               const uint8_t *sig, size_t sig_len)
{
    uint8_t n[SU_SIG_RSA_MAX_BITS / 8], e[SU_SIG_RSA_MAX_BITS / 8];
    mbedtls_rsa_context *k = mbedtls_pk_rsa(*pk);
    size_t len = k ? mbedtls_rsa_get_len(k) : 0;
    int r;

    if (len == 0 || len > sizeof(n) ||
        mbedtls_rsa_export_raw(k, n, len, NULL, 0, NULL, 0, NULL, 0, e, len) != 0)
        return -ENOTSUP;
    size_t z = 0;
    while (z + 1 < len && e[z] == 0) /* the exponent came padded to the modulus' length */
        z++;
    struct su_sig_rsa key = { .n = n, .n_len = len, .e = e + z, .e_len = len - z };
    if (sig_pk == MBEDTLS_PK_RSA) {
        r = su_sig_rsa_pkcs1(&key, h, tbs, tbs_len, sig, sig_len);
    } else {
        const mbedtls_pk_rsassa_pss_options *o = sig_opts;
        if (!o || o->mgf1_hash_id != md || o->expected_salt_len < 0)
            return -ENOTSUP; /* Nettle's MGF1 hashes with the message's hash */
        r = su_sig_rsa_pss(&key, h, (size_t)o->expected_salt_len, tbs, tbs_len, sig, sig_len);
    }
    return r == -EINVAL ? -ENOTSUP : r;
}

/* One INTEGER of an ECDSA-Sig-Value: DER, non-negative, minimal; its magnitude in @v/@len. */
static int sig_integer(unsigned char **p, const unsigned char *end, const uint8_t **v, size_t *len)
{
    size_t l;
    if (mbedtls_asn1_get_tag(p, end, &l, MBEDTLS_ASN1_INTEGER) != 0 || l == 0)
        return -EBADMSG;
    const uint8_t *b = *p;
    *p += l;
    if ((b[0] & 0x80) || (l > 1 && b[0] == 0 && !(b[1] & 0x80)))
        return -EBADMSG; /* negative, or a needless leading zero */
    if (b[0] == 0 && l > 1) {
        b++;
        l--;
    }
    *v = b;
    *len = l;
    return 0;
}

static int ecdsa(const mbedtls_pk_context *pk, enum su_sig_hash h, const uint8_t *tbs,
                 size_t tbs_len, const uint8_t *sig, size_t sig_len)
{
    const mbedtls_ecp_keypair *k = mbedtls_pk_ec(*pk);
    uint8_t point[1 + 2 * 66];
    enum su_sig_curve curve;
    size_t plen, l, r_len, s_len;
    const uint8_t *rv, *sv;

    if (!k)
        return -ENOTSUP;
    switch (k->grp.id) {
    case MBEDTLS_ECP_DP_SECP192R1: curve = SU_SIG_P192; break;
    case MBEDTLS_ECP_DP_SECP224R1: curve = SU_SIG_P224; break;
    case MBEDTLS_ECP_DP_SECP256R1: curve = SU_SIG_P256; break;
    case MBEDTLS_ECP_DP_SECP384R1: curve = SU_SIG_P384; break;
    case MBEDTLS_ECP_DP_SECP521R1: curve = SU_SIG_P521; break;
    default: return -ENOTSUP;
    }
    if (mbedtls_ecp_point_write_binary(&k->grp, &k->Q, MBEDTLS_ECP_PF_UNCOMPRESSED, &plen, point,
                                       sizeof(point)) != 0)
        return -ENOTSUP;
    /* Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (RFC 5480, 2.2.3) */
    unsigned char *p = (unsigned char *)(uintptr_t)sig, *end = p + sig_len;
    if (mbedtls_asn1_get_tag(&p, end, &l, TAG_SEQ) != 0 || p + l != end)
        return -EBADMSG;
    if (sig_integer(&p, end, &rv, &r_len) < 0 || sig_integer(&p, end, &sv, &s_len) < 0 || p != end)
        return -EBADMSG;
    int r = su_sig_ecdsa(curve, point, plen, h, tbs, tbs_len, rv, r_len, sv, s_len);
    return r == -EINVAL ? -ENOTSUP : r;
}

int cert_sig_check(const mbedtls_pk_context *pk, mbedtls_pk_type_t sig_pk, mbedtls_md_type_t md,
                   const void *sig_opts, const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
                   size_t sig_len)
{
    mbedtls_pk_type_t type = mbedtls_pk_get_type(pk);
    enum su_sig_hash h;

    if (hash_of(md, &h) < 0)
        return -ENOTSUP;
    /* the pairs mbedtls_pk_verify_ext() accepts (mbedtls_pk_can_do()) */
    if ((sig_pk == MBEDTLS_PK_RSA || sig_pk == MBEDTLS_PK_RSASSA_PSS) && type == MBEDTLS_PK_RSA)
        return rsa(pk, sig_pk, h, md, sig_opts, tbs, tbs_len, sig, sig_len);
    if (sig_pk == MBEDTLS_PK_ECDSA && (type == MBEDTLS_PK_ECKEY || type == MBEDTLS_PK_ECDSA))
        return ecdsa(pk, h, tbs, tbs_len, sig, sig_len);
    return -ENOTSUP;
}

int cert_sig_check_eddsa(const mbedtls_x509_buf *spki, const mbedtls_x509_buf *alg,
                         const mbedtls_x509_buf *params, const mbedtls_asn1_bitstring *sig,
                         const uint8_t *tbs, size_t tbs_len)
{
    unsigned char *p = spki->p, *end = spki->p + spki->len;
    mbedtls_x509_buf key_alg, key_params;
    mbedtls_asn1_bitstring key;
    size_t l;
    bool ed448;

    if (OID_IS(alg, OID_ED25519))
        ed448 = false;
    else if (OID_IS(alg, OID_ED448))
        ed448 = true;
    else
        return -ENOTSUP;
    /* SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING } */
    if (mbedtls_asn1_get_tag(&p, end, &l, TAG_SEQ) != 0 || p + l != end ||
        mbedtls_asn1_get_alg(&p, end, &key_alg, &key_params) != 0 ||
        !(ed448 ? OID_IS(&key_alg, OID_ED448) : OID_IS(&key_alg, OID_ED25519)))
        return -ENOTSUP; /* another key: not an EdDSA signature mbedTLS could not read */
    /* RFC 8410, 3: the parameters are absent in both; the key and signature have one size */
    if (key_params.tag != 0 || params->tag != 0 || mbedtls_asn1_get_bitstring(&p, end, &key) != 0 ||
        p != end || key.unused_bits != 0 ||
        key.len != (ed448 ? SU_SIG_ED448_KEY : SU_SIG_ED25519_KEY) || sig->unused_bits != 0 ||
        sig->len != (ed448 ? SU_SIG_ED448_SIG : SU_SIG_ED25519_SIG))
        return -EBADMSG;
    return ed448 ? su_sig_ed448(key.p, tbs, tbs_len, sig->p)
                 : su_sig_ed25519(key.p, tbs, tbs_len, sig->p);
}

int sm_cert_signed_by(const struct sm_cert *cert, const struct sm_cert *ca)
{
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];
    mbedtls_x509_buf alg, params, sig;
    mbedtls_md_type_t md = MBEDTLS_MD_NONE;
    mbedtls_pk_type_t sig_pk = MBEDTLS_PK_NONE;
    void *sig_opts = NULL;
    mbedtls_x509_crt k;
    struct der in, c;
    size_t l;
    int r = -ENOTSUP;

    if (!cert || !ca || !cert->der || !ca->der)
        return -EINVAL;
    mbedtls_x509_crt_init(&k);
    /* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } (RFC
       5280, 4.1), read here: mbedTLS would refuse the whole certificate for a key it does not
       read (RSASSA-PSS, EdDSA), which has nothing to do with its issuer's signature */
    in = der_at(cert->der, cert->der_len);
    if (der_seq(&in, &c) < 0)
        return -EBADMSG;
    const unsigned char *tbs = c.p;
    if (mbedtls_asn1_get_tag(&c.p, c.end, &l, TAG_SEQ) != 0)
        return -EBADMSG;
    c.p += l;
    size_t tbs_len = (size_t)(c.p - tbs);
    if (mbedtls_x509_get_alg(&c.p, c.end, &alg, &params) != 0 ||
        mbedtls_x509_get_sig(&c.p, c.end, &sig) != 0 || c.p != c.end)
        return -EBADMSG;
    int known = mbedtls_x509_get_sig_alg(&alg, &params, &md, &sig_pk, &sig_opts);
    if (mbedtls_x509_crt_parse_der_with_ext_cb(&k, ca->der, ca->der_len, 0, cert_ext_cb, NULL) != 0)
        goto out; /* a CA key mbedTLS does not read (EdDSA: no Active Directory CA has one) */
    if (known != 0) {
        /* an EdDSA signature cannot come from the RSA or EC key mbedTLS just read */
        if (OID_IS(&alg, OID_ED25519) || OID_IS(&alg, OID_ED448))
            r = -EBADMSG;
        goto out;
    }
    if (!mbedtls_pk_can_do(&k.pk, sig_pk)) {
        r = -EBADMSG; /* a key of another kind (ECDSA for an RSA CA): not the CA's signature */
        goto out;
    }
    r = cert_sig_check(&k.pk, sig_pk, md, sig_opts, tbs, tbs_len, sig.p, sig.len);
    if (r != -ENOTSUP)
        goto out;
    /* what Nettle does not take (DSA, other curves, PSS with another MGF1 hash): mbedTLS */
    const mbedtls_md_info_t *mi = mbedtls_md_info_from_type(md);
    if (!mi || mbedtls_md(mi, tbs, tbs_len, hash) != 0)
        goto out;
    r = mbedtls_pk_verify_ext(sig_pk, sig_opts, &k.pk, md, hash, mbedtls_md_get_size(mi), sig.p,
                              sig.len) == 0
            ? 0
            : -EBADMSG;
out:
    mbedtls_free(sig_opts);
    mbedtls_x509_crt_free(&k);
    return r;
}

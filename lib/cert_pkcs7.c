/*
 * lib/cert_pkcs7.c - PKCS#7 certs-only bundles (.p7b, .p7c): the certificates of a SignedData
 * ContentInfo (RFC 2315 section 9.1, RFC 5652 section 5.1), read with mbedTLS's ASN.1 readers
 * since mbedTLS 2.28 has no PKCS#7 parser. Only the structure up to the certificates is read:
 * the signer infos of a certs-only bundle are empty, and a bundle's signature, when there is
 * one, is not what a DC judges.
 *
 *   ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER (1.2.840.113549.1.7.2),
 *                              content [0] EXPLICIT SignedData }
 *   SignedData  ::= SEQUENCE { version INTEGER, digestAlgorithms SET,
 *                              encapContentInfo SEQUENCE,
 *                              certificates [0] IMPLICIT SET OF CertificateChoices OPTIONAL,
 *                              crls [1] IMPLICIT ... OPTIONAL, signerInfos SET }
 */
#include "cert_internal.h"

#define OID_SIGNED_DATA "\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02"
#define TAG_SET         (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET)
#define TAG_CTX0        (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0)

int pkcs7_certificates(const uint8_t *p, size_t len, struct der *ret)
{
    struct der in = der_at(p, len), ci, sd;
    size_t n;
    int version;

    if (der_seq(&in, &ci) != 0 || mbedtls_asn1_get_tag(&ci.p, ci.end, &n, MBEDTLS_ASN1_OID) != 0 ||
        n != sizeof(OID_SIGNED_DATA) - 1 || memcmp(ci.p, OID_SIGNED_DATA, n) != 0)
        return 0; /* not a SignedData ContentInfo: a certificate, or something else */
    ci.p += n;
    if (mbedtls_asn1_get_tag(&ci.p, ci.end, &n, TAG_CTX0) != 0 || ci.p + n != ci.end)
        return SM_E_CERT;
    if (der_seq(&ci, &sd) != 0 || ci.p != ci.end)
        return SM_E_CERT;
    if (mbedtls_asn1_get_int(&sd.p, sd.end, &version) != 0 || version < 1 || version > 5 ||
        mbedtls_asn1_get_tag(&sd.p, sd.end, &n, TAG_SET) != 0)
        return SM_E_CERT;
    sd.p += n; /* digestAlgorithms */
    if (mbedtls_asn1_get_tag(&sd.p, sd.end, &n, TAG_SEQ) != 0)
        return SM_E_CERT;
    sd.p += n; /* encapContentInfo */
    if (sd.p < sd.end && *sd.p == TAG_CTX0) {
        if (mbedtls_asn1_get_tag(&sd.p, sd.end, &n, TAG_CTX0) != 0)
            return SM_E_CERT;
        *ret = (struct der){ sd.p, sd.p + n };
    } else {
        *ret = (struct der){ sd.p, sd.p }; /* no certificates */
    }
    return 1;
}

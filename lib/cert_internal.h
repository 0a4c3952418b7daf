/*
 * lib/cert_internal.h - what the parts of the certificate analysis share: lib/cert_mbedtls.c (the
 * mbedTLS wrapper: parsing, Names, key, validity, the fallback walk, one certificate's analysis),
 * lib/cert_ext.c (the extension parsers), lib/cert_oid.c (OID text and the OID tables),
 * lib/cert_map.c (mapping strings and findings), lib/cert_input.c (input framing) and
 * lib/cert_sig.c (signatures through Nettle, support/su_sig.c). Only these
 * files include mbedTLS (and this header).
 */
#ifndef SM_LIB_CERT_INTERNAL_H
#define SM_LIB_CERT_INTERNAL_H

#include <errno.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1.h>
#include <mbedtls/x509_crt.h>

#include <strongmap/cert.h>

#include "util.h"

#define TAG_SEQ  (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)
#define TAG_CTX0 (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0)

/*
 * Per-certificate analysis context. Only the part before @eku is zeroed when a context is made:
 * the arrays (9 KB) are read only below their counts, and zeroing them cost more than a
 * twentieth of the whole analysis.
 */
struct ctx {
    struct arena *a;
    struct sm_cert *c;
    time_t now;
    size_t n_eku, n_crl, n_aia_i, n_aia_o, n_maps;
    int err;      /* first allocation failure */
    bool planned; /* a request or a certificate not issued yet (lib/cert_csr.c): no serial,
                     thumbprint, SKI or validity of its own, maybe no issuer */
    /* collected while walking extensions */
    const char *eku[SM_MAX_LIST];
    const char *crl[SM_MAX_LIST];
    const char *aia_i[SM_MAX_LIST];
    const char *aia_o[SM_MAX_LIST];
    struct sm_mapping maps[SM_MAP__COUNT + SM_MAX_SAN];
};

#define CHECK_ALLOC(ctx, p)                                                                        \
    do {                                                                                           \
        if (!(p))                                                                                  \
            (ctx)->err = -ENOMEM;                                                                  \
    } while (0)

/* ---- reading DER ---- */

/*
 * A reading position in DER: the bytes [p, end) not read yet. mbedTLS's readers take
 * non-const pointers and never write through them; der_at() is where the const goes.
 */
struct der {
    unsigned char *p, *end;
};

static inline struct der der_at(const void *p, size_t len)
{
    unsigned char *q = (unsigned char *)(uintptr_t)p;
    return (struct der){ q, q + len };
}

/*
 * The SEQUENCE at the start of @in: 0 with *@seq its contents and @in moved past it, or -1 when
 * @in does not start with a SEQUENCE that fits in it (@in is then left anywhere in its bytes).
 * Bytes after the SEQUENCE are the caller's to check (@in->p != @in->end).
 */
static inline int der_seq(struct der *in, struct der *seq)
{
    size_t len;
    if (mbedtls_asn1_get_tag(&in->p, in->end, &len, TAG_SEQ) != 0)
        return -1;
    seq->p = in->p;
    seq->end = in->p + len;
    in->p = seq->end;
    return 0;
}

/* ---- lib/cert_pkcs7.c ---- */

/*
 * Is the DER at @p (@len bytes) a PKCS#7 SignedData ContentInfo (a .p7b bundle)? 1 with *@ret
 * the contents of its certificates SET (empty when it has none), 0 when it is not one (a
 * certificate, say), SM_E_CERT when it is one but malformed.
 */
int pkcs7_certificates(const uint8_t *p, size_t len, struct der *ret);

/* ---- lib/cert_oid.c ---- */

static inline bool oid_is(const mbedtls_x509_buf *oid, const char *der, size_t len)
{
    return oid->len == len && memcmp(oid->p, der, len) == 0;
}

#define OID_IS(oid, lit) oid_is((oid), (lit), sizeof(lit) - 1)

/* OIDs in DER (contents only). */
#define OID_SID_EXT   "\x2b\x06\x01\x04\x01\x82\x37\x19\x02"
#define OID_SID_ON    "\x2b\x06\x01\x04\x01\x82\x37\x19\x02\x01"
#define OID_UPN       "\x2b\x06\x01\x04\x01\x82\x37\x14\x02\x03"
#define OID_TMPL_V2   "\x2b\x06\x01\x04\x01\x82\x37\x15\x07"
#define OID_TMPL_NAME "\x2b\x06\x01\x04\x01\x82\x37\x14\x02"
#define OID_AIA       "\x2b\x06\x01\x05\x05\x07\x01\x01"
#define OID_AD_OCSP   "\x2b\x06\x01\x05\x05\x07\x30\x01"
#define OID_AD_CAISS  "\x2b\x06\x01\x05\x05\x07\x30\x02"
#define OID_SKI       "\x55\x1d\x0e"
#define OID_KU        "\x55\x1d\x0f"
#define OID_SAN       "\x55\x1d\x11"
#define OID_BC        "\x55\x1d\x13"
#define OID_CRLDP     "\x55\x1d\x1f"
#define OID_AKI       "\x55\x1d\x23"
#define OID_EKU       "\x55\x1d\x25"
#define OID_RSA       "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
#define OID_RSA_PSS   "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a"
#define OID_EC        "\x2a\x86\x48\xce\x3d\x02\x01"
#define OID_DSA       "\x2a\x86\x48\xce\x38\x04\x01"
#define OID_ED25519   "\x2b\x65\x70"
#define OID_ED448     "\x2b\x65\x71"

/*
 * The dotted text of the DER OID @p/@len into *@ret: static for a common OID, else in the arena;
 * with @name, also its sm_oid_name(). 0, SM_E_CERT (not a readable OID) or -ENOMEM.
 */
int oid_lookup(struct arena *a, const uint8_t *p, size_t len, const char **ret, const char **name);
/* The dotted text of @oid ("invalid-oid" when unreadable); with @name, also its sm_oid_name(). */
static inline const char *oid_dotted_name(struct arena *a, const mbedtls_x509_buf *oid,
                                          const char **name)
{
    const char *d = NULL;
    if (name)
        *name = NULL;
    if (oid_lookup(a, oid->p, oid->len, &d, name) == SM_E_CERT)
        d = arena_strdup(a, "invalid-oid");
    return d;
}

static inline const char *oid_dotted(struct arena *a, const mbedtls_x509_buf *oid)
{
    return oid_dotted_name(a, oid, NULL);
}

/* Critical extensions a Windows DC understands (CryptoAPI): anything else breaks the chain. */
bool windows_knows_critical(const char *dotted);

/* ---- lib/cert_mbedtls.c ---- */

/* The Name TLV @der/@len into @out (strings in the arena). 0, SM_E_CERT, SM_E_TOO_MANY, -ENOMEM. */
int convert_name(struct ctx *x, const uint8_t *der, size_t len, struct sm_name *out);
/*
 * Analyse the DER certificate @der (owned by the arena). Returns 0, or SM_E_CERT with the
 * reason in @e, or -ENOMEM / SM_E_TOO_MANY.
 */
int cert_analyse(struct arena *a, const uint8_t *der, size_t len, size_t trailing, time_t now,
                 struct sm_cert *c, struct sm_errinfo *e);

/* Key algorithm, size and curve from the SubjectPublicKeyInfo TLV @spki; SHA-1 of the key bits. */
void analyse_spki(struct ctx *x, const mbedtls_x509_buf *spki);
/* After walk_extensions(): the lists into the arena, the SID a Windows 2019+ DC uses. */
void cert_collect(struct ctx *x);
/* c->sid's source, status and conflict from its two carriers (the Windows 2019+ reading). */
void cert_sid_choose(struct sm_cert *c);

/* ---- lib/cert_input.c ---- */

/* The first occurrence of the string @s in [@p, @end), or NULL. */
const uint8_t *find_str(const uint8_t *p, const uint8_t *end, const char *s);
/* Decode base64 text (white space allowed anywhere) into the arena: 0, SM_E_FORMAT, -ENOMEM. */
int b64_decode(struct arena *a, const uint8_t *p, size_t len, uint8_t **ret, size_t *ret_len);

/* ---- lib/cert_ext.c ---- */

/* The SID carrier @car from the text @p/@len (extension value or URI after its prefix). */
void sid_from_text(struct ctx *x, struct sm_sid_carrier *car, const uint8_t *p, size_t len);
/* Walk the Extensions SEQUENCE: mbedTLS 2.28 leaves SKI, AKI, CRLDP, AIA, the SID undecoded. */
int walk_extensions(struct ctx *x, const mbedtls_x509_buf *v3);

/* ---- lib/cert_map.c ---- */

/* Add a finding to the certificate (message at most 511 bytes); x->err on allocation failure. */
void add_finding(struct ctx *x, const char *code, enum sm_severity sev, const char *fix,
                 const char *fmt, ...) SM_PRINTF(5, 6);
/* The altSecurityIdentities strings the KDC (and Samba) builds for x->c, into c->mappings. */
void build_mappings(struct ctx *x);
/* The findings about x->c once every fact is read; @trailing: bytes after its DER. With
   x->planned, only those about what a request carries (no SKI, validity, serial or parse). */
void cert_findings(struct ctx *x, size_t trailing);

/* ---- lib/cert_mbedtls.c ---- */

/* mbedtls_x509_crt_parse_der_with_ext_cb()'s callback: every extension is accepted (the
   analysis decodes them itself), so that an unknown critical one does not stop the parse. */
int cert_ext_cb(void *ctx, mbedtls_x509_crt const *crt, mbedtls_x509_buf const *oid, int critical,
                const unsigned char *p, const unsigned char *end);

/* ---- lib/cert_sig.c ---- */

/* The signature @sig over @tbs by @pk with the algorithm mbedTLS read (@sig_pk, @md, @sig_opts),
   checked by Nettle: 0 valid, -EBADMSG not, -ENOTSUP for a key or an algorithm su_sig.c does
   not take (then mbedtls_pk_verify_ext() decides). */
int cert_sig_check(const mbedtls_pk_context *pk, mbedtls_pk_type_t sig_pk, mbedtls_md_type_t md,
                   const void *sig_opts, const uint8_t *tbs, size_t tbs_len, const uint8_t *sig,
                   size_t sig_len);
/* An Ed25519 or Ed448 signature (RFC 8410), keys mbedTLS 2.28 does not read: the key from the
   SubjectPublicKeyInfo TLV @spki, the algorithm @alg with @params (absent: tag 0), the BIT
   STRING @sig over @tbs. 0, -EBADMSG, or -ENOTSUP when key or algorithm is not EdDSA. */
int cert_sig_check_eddsa(const mbedtls_x509_buf *spki, const mbedtls_x509_buf *alg,
                         const mbedtls_x509_buf *params, const mbedtls_asn1_bitstring *sig,
                         const uint8_t *tbs, size_t tbs_len);

#endif

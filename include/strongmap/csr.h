/*
 * strongmap/csr.h - PKCS#10 certificate requests (RFC 2986): what a request asks a CA to put
 * into a certificate, read as the certificate analysis reads a certificate.
 *
 * sm_csr_parse() takes one request as PEM ("CERTIFICATE REQUEST" or "NEW CERTIFICATE REQUEST"),
 * DER or base64 DER. The requested facts (subject in both name forms, key, SPKI SHA-1, every
 * extension of the extensionRequest attribute: SAN of every type, the SID extension and SID URI,
 * EKU, template) come as a struct sm_cert whose certificate-only fields (issuer, serial,
 * validity, thumbprints, mappings needing them) are empty. The self-signature is verified; a
 * request whose signature mbedTLS 2.28 cannot check (Ed25519) is read all the same and says so.
 * Everything in the result is owned by it and lives until sm_csr_free().
 */
#ifndef STRONGMAP_CSR_H
#define STRONGMAP_CSR_H

#include <strongmap/cert.h>
#include <strongmap/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SM_MAX_CSR_ATTRS 32 /**< attributes in one request */

/** What became of the request's self-signature. */
enum sm_csr_signature {
    SM_CSR_SIG_VALID = 0,       /**< verified with the request's own key */
    SM_CSR_SIG_UNSUPPORTED = 1, /**< not verified: mbedTLS 2.28 lacks the algorithm (Ed25519) */
    SM_CSR_SIG_NONE = 2,        /**< planned facts (sm_csr_planned()): nothing was signed */
};

/** "valid", "not_verified", "none". */
const char *sm_csr_signature_name(enum sm_csr_signature s);

/** A parsed request. Read-only for callers. */
struct sm_csr {
    const uint8_t *der; /**< the request's DER (owned) */
    size_t der_len;
    const char *format;                /**< "pem", "der" or "base64" */
    const struct sm_cert *request;     /**< the requested facts: subject, key_type, key_bits,
                                            key_curve, spki_sha1, spk_sha1, san, sid, eku, tmpl,
                                            exts, key_usage, basic constraints, findings and the
                                            mappings that need no issuer (X509SubjectOnly,
                                            X509RFC822); no issuer, serial, validity or thumbprint */
    const char *sig_alg_oid, *sig_alg; /**< the signature algorithm (dotted, and its name) */
    enum sm_csr_signature signature;
    const char *signature_note;    /**< with SM_CSR_SIG_UNSUPPORTED: "signature not verified:
                                        unsupported algorithm (...)"; else NULL */
    bool challenge_password;       /**< a challengePassword attribute was present (ignored) */
    const char *const *attributes; /**< dotted OIDs of every attribute, in request order */
    size_t n_attributes;
};

/**
 * Read one request from @buf (@len bytes, at most SM_MAX_INPUT; the DER at most
 * SM_MAX_CERT_DER). Returns 0 with *@ret set (free with sm_csr_free()), or SM_E_EMPTY,
 * SM_E_FORMAT (not PEM/DER/base64, or no request in it), SM_E_CSR (not a well-formed request),
 * SM_E_CSR_SIGNATURE (the self-signature does not verify), SM_E_TOO_BIG, SM_E_TOO_MANY (more
 * than SM_MAX_SAN SAN entries, SM_MAX_EXTENSIONS extensions, SM_MAX_CSR_ATTRS attributes or
 * SM_MAX_NAME_ATTRS name attributes), -ENOMEM; the reason in @reterr (may be NULL).
 */
int sm_csr_parse(const void *buf, size_t len, struct sm_csr **ret, struct sm_errinfo *reterr);

/** An extension planned facts ask for. Borrowed. */
struct sm_csr_planned_ext {
    const char *oid; /**< dotted, e.g. "1.3.6.1.4.1.311.25.2" */
    bool critical;
    const uint8_t *value; /**< the extnValue's contents (the extension's own DER) */
    size_t value_len;
};

/** Planned facts: what a portal means to request, without a PKCS#10 request. Borrowed. */
struct sm_csr_planned {
    const char *subject;      /**< RFC 4514, "CN=alice,OU=Users,DC=example,DC=com": most
                                   significant RDN last, one attribute per RDN, the types CN,
                                   SN, SERIALNUMBER, C, L, ST, STREET, O, OU, T, GN, DC, UID, E
                                   (or their long names) or a dotted OID, \-escapes of a
                                   character or of two hex digits; NULL or "": an empty Name */
    const struct sm_san *san; /**< subjectAltName entries: SM_SAN_UPN, _DNS, _EMAIL or _URI,
                                   each with its value (UTF-8; IA5 text for DNS, email, URI) */
    size_t n_san;
    const struct sm_csr_planned_ext *exts; /**< other extensions (the SID extension, EKU, ...) */
    size_t n_exts;
    const uint8_t *spki; /**< the public key: a SubjectPublicKeyInfo's DER (at most
                              SM_MAX_CERT_DER bytes), or NULL: no key */
    size_t spki_len;
    /* Extensions given as facts (a CA's template fields), each written only when @exts has
       no extension of its OID: */
    unsigned key_usage;     /**< keyUsage as struct sm_cert's: the BIT STRING's first byte
                                 (0x80 digitalSignature ... 0x01 encipherOnly), then 0x8000
                                 decipherOnly; 0: no keyUsage */
    const char *const *eku; /**< extKeyUsage purposes, dotted OIDs */
    size_t n_eku;           /**< 0: no extKeyUsage; at most SM_MAX_EXTENSIONS */
    bool is_ca;             /**< basicConstraints cA TRUE */
};

/**
 * The requested facts of @in, read exactly as those of a request asking for them: the
 * CertificationRequestInfo is built from @in (the subject, @in->spki or, without one, an empty
 * SubjectPublicKeyInfo, an extensionRequest with the SAN first, then @in->exts in order) and
 * goes through sm_csr_parse()'s analysis. The result's der is that CertificationRequestInfo,
 * its format "planned", its signature SM_CSR_SIG_NONE, its request's key_type "unknown" when
 * no key was given. Returns 0 with *@ret set (free with sm_csr_free()), or -EINVAL (a subject
 * that is not such a string, a SAN entry of another type or without a value, an OID that is
 * not dotted, an empty extension value, a subjectAltName both in @in->san and in @in->exts, a
 * spki that is not one DER SEQUENCE), SM_E_TOO_MANY (more
 * than SM_MAX_SAN entries or SM_MAX_EXTENSIONS extensions), SM_E_TOO_BIG (over SM_MAX_INPUT
 * bytes), SM_E_CSR (an extension the analysis cannot read), -ENOMEM; the reason in @reterr
 * (may be NULL), whose field names the part at fault ("subject", "san", "extensions").
 */
int sm_csr_planned(const struct sm_csr_planned *in, struct sm_csr **ret, struct sm_errinfo *reterr);

/** Free a request; NULL is fine. Returns NULL. */
struct sm_csr *sm_csr_free(struct sm_csr *csr);

#ifdef __cplusplus
}
#endif

#endif

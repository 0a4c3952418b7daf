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
};

/** "valid", "not_verified". */
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

/** Free a request; NULL is fine. Returns NULL. */
struct sm_csr *sm_csr_free(struct sm_csr *csr);

#ifdef __cplusplus
}
#endif

#endif

/*
 * strongmap/cert.h - certificate analysis: every fact that decides strong mapping.
 *
 * sm_certs_parse() takes PEM (one or many certificates, any surrounding text), DER (one or more
 * concatenated certificates) or base64 DER, and returns a set of analysed certificates. All
 * strings in the result are valid UTF-8 and NUL-terminated, owned by the set, and live until
 * sm_certs_free(). The structures are read-only for callers.
 */
#ifndef STRONGMAP_CERT_H
#define STRONGMAP_CERT_H

#include <time.h>

#include <strongmap/common.h>
#include <strongmap/sid.h>

#ifdef __cplusplus
extern "C" {
#endif

/** One attribute of a Name, in DER order. */
struct sm_name_attr {
    const char *oid;     /**< dotted OID */
    const char *ad_key;  /**< keyword the Windows KDC writes ("CN", "S", "OID.1.2.3") */
    const char *rfc_key; /**< keyword OpenSSL's RFC 2253 output uses ("CN", "ST", "UID", or OID) */
    const char *value;   /**< value as UTF-8; "#<hex DER>" when not a string type */
    const char *der_hex; /**< "#" + hex of the value's DER when is_string is false or rfc_hex
                              is true (the RFC 4514 form then prints it); else NULL */
    int asn1_tag;        /**< ASN.1 string tag (12 UTF8String, 19 PrintableString, 30 BMPString) */
    bool is_string;      /**< false: value is "#" + hex of the DER element */
    bool lossy;          /**< value had bytes that are not valid in its type (replaced by U+FFFD) */
    bool next_same_rdn;  /**< the next attribute belongs to the same (multi-valued) RDN */
    bool rfc_hex;        /**< the RFC 4514 form prints der_hex (type unknown to OpenSSL) */
};

/** A subject or issuer Name in every form strongmap needs. */
struct sm_name {
    const struct sm_name_attr *attrs;
    size_t n_attrs;
    size_t n_rdns;
    const char
        *rfc4514;   /**< display order, RFC 4514 escaping (= openssl -nameopt RFC2253,-esc_msb) */
    const char *ad; /**< DER order, as the Windows KDC writes it in altSecurityIdentities */
    const char *samba; /**< what Samba 4.24 expects stored: RFC 4514 parts in DER order */
    bool multi_valued; /**< has an RDN with more than one attribute */
};

/** GeneralName kinds, numbered as their context tags; UPN is the UPN otherName. */
enum sm_san_type {
    SM_SAN_OTHER = 0,
    SM_SAN_EMAIL = 1,
    SM_SAN_DNS = 2,
    SM_SAN_X400 = 3,
    SM_SAN_DIRNAME = 4,
    SM_SAN_EDIPARTY = 5,
    SM_SAN_URI = 6,
    SM_SAN_IP = 7,
    SM_SAN_RID = 8,
    SM_SAN_UPN = 100,
};

/** One SAN entry, decoded. */
struct sm_san {
    enum sm_san_type type;
    const char *value; /**< text (UTF-8), an IP in text form, an RFC 4514 name, or hex */
    const char *oid;   /**< otherName type-id, registeredID; else NULL */
    bool lossy;        /**< the encoded text was not valid in its type */
};

enum sm_sid_status {
    SM_SID_ABSENT = 0,
    SM_SID_VALID = 1,
    SM_SID_MALFORMED = 2,
};

/** "absent", "valid", "malformed". */
const char *sm_sid_status_name(enum sm_sid_status st);

/** What one SID carrier (extension or SAN URI) holds. */
struct sm_sid_carrier {
    enum sm_sid_status status;
    struct sm_sid sid;  /**< valid when status == SM_SID_VALID */
    const char *text;   /**< the SID text as found (sanitised), or NULL */
    const char *reason; /**< why it is malformed, or NULL */
    bool critical;      /**< extension marked critical */
    bool canonical;     /**< text equals the canonical rendering (Samba compares text) */
    unsigned count;     /**< SID otherNames in the extension / SID URIs in the SAN */
};

enum sm_sid_source {
    SM_SID_SOURCE_NONE = 0,
    SM_SID_SOURCE_EXTENSION = 1,
    SM_SID_SOURCE_SAN_URI = 2,
};

/** The SID as a Windows DC (2019 and later) sees it: extension first, else the URI. */
struct sm_cert_sid {
    struct sm_sid_carrier extension;
    struct sm_sid_carrier uri;
    enum sm_sid_source source; /**< the carrier a Windows 2019+ DC uses, or NONE */
    enum sm_sid_status status; /**< status of that carrier (ABSENT when none) */
    bool conflict;             /**< both carriers valid and different */
};

/** altSecurityIdentities mapping types (docs/mapping-rules.md 2.4). */
enum sm_map_type {
    SM_MAP_ISSUER_SERIAL = 0, /**< X509IssuerSerialNumber, strong */
    SM_MAP_SKI,               /**< X509SKI, strong */
    SM_MAP_SHA1_PUKEY,        /**< X509SHA1PublicKey, strong */
    SM_MAP_ISSUER_SID,        /**< X509IssuerSID, strong (Server 2022+ with Sept 2025 update) */
    SM_MAP_ISSUER_SUBJECT,    /**< X509IssuerSubject, weak */
    SM_MAP_SUBJECT_ONLY,      /**< X509SubjectOnly, weak */
    SM_MAP_RFC822,            /**< X509RFC822, weak */
    SM_MAP__COUNT
};

/** Microsoft's name of a mapping type ("X509IssuerSerialNumber"). */
const char *sm_map_type_name(enum sm_map_type t);
/** True for the strong types. */
bool sm_map_type_strong(enum sm_map_type t);

/** One altSecurityIdentities value a DC would build for a certificate. */
struct sm_mapping {
    enum sm_map_type type;
    const char *value; /**< what the Windows KDC builds (hex upper case) */
    const char *samba; /**< what Samba 4.24 matches, when it differs; else NULL */
    bool samba_supported;
};

/** One extension as found in the certificate. */
struct sm_ext {
    const char *oid;
    const char *name; /**< short name when known, else NULL */
    bool critical;
    bool understood; /**< strongmap decodes it */
};

/** Certificate template information (1.3.6.1.4.1.311.21.7 and 1.3.6.1.4.1.311.20.2). */
struct sm_template {
    const char *oid;   /**< v2 template OID or NULL */
    long major, minor; /**< -1 when absent */
    const char *name;  /**< v1 template name or NULL */
};

/** An analysed certificate. */
struct sm_cert {
    unsigned index;     /**< position in the input, from 0 */
    const uint8_t *der; /**< the certificate's DER (owned by the set) */
    size_t der_len;
    int version; /**< 1, 2 or 3 */
    struct sm_name subject, issuer;
    const char *serial;    /**< hex of the INTEGER content, sign byte kept, upper case */
    bool serial_sign_byte; /**< content starts with a 00 sign byte */
    bool serial_negative;
    const char *not_before, *not_after; /**< RFC 3339 UTC */
    time_t not_before_t, not_after_t;
    const char *key_type; /**< "RSA", "EC", "Ed25519", "Ed448", "RSASSA-PSS", "DSA", or OID */
    unsigned key_bits;
    const char *key_curve; /**< EC curve name, or NULL */
    const char *sig_alg_oid, *sig_alg;
    char sha1[41], sha256[65]; /**< thumbprints, upper-case hex */
    char spki_sha1[41];        /**< SHA-1 of the SubjectPublicKeyInfo DER */
    char spk_sha1[41];         /**< SHA-1 of the subjectPublicKey BIT STRING contents */
    const char *ski;           /**< hex of the SKI extension's key identifier, or NULL */
    const char *aki;           /**< hex of the AKI keyIdentifier, or NULL */
    const struct sm_san *san;
    size_t n_san;
    struct sm_cert_sid sid;
    bool has_eku;
    const char *const *eku; /**< dotted OIDs */
    size_t n_eku;
    bool has_key_usage;
    unsigned key_usage; /**< bit 0 = digitalSignature (0x80 of the first byte), ... */
    bool has_basic_constraints, is_ca;
    int path_len; /**< -1 when absent */
    struct sm_template tmpl;
    bool has_template;
    const char *const *crl_urls;
    size_t n_crl_urls;
    const char *const *aia_issuers;
    size_t n_aia_issuers;
    const char *const *aia_ocsp;
    size_t n_aia_ocsp;
    const struct sm_ext *exts;
    size_t n_exts;
    bool full_parse;        /**< mbedTLS parsed it whole (signature algorithm and key understood) */
    const char *parse_note; /**< why mbedTLS could not take it whole, or NULL */
    const struct sm_mapping *mappings;
    size_t n_mappings;
    struct sm_findings findings;
};

/** A block of the input that was not a certificate. */
struct sm_input_error {
    unsigned index; /**< position among the certificate blocks of the input */
    long offset;    /**< byte offset of the block in the input */
    int code;       /**< SM_E_* */
    const char *message;
};

/** Result of sm_certs_parse(). */
struct sm_certs {
    const struct sm_cert *certs;
    size_t n_certs;
    const struct sm_input_error *errors;
    size_t n_errors;
    const char *format; /**< "pem", "der" or "base64" */
};

/** Options of an analysis. A zeroed struct (or NULL) means: now, no extras. */
struct sm_parse_opts {
    time_t now; /**< evaluation time for validity findings; 0 = time(NULL) */
};

/**
 * Analyse every certificate in @buf (@len bytes).
 *
 * Returns 0 with *@ret set (free with sm_certs_free()) when at least one certificate was read;
 * blocks that failed are listed in (*ret)->errors. Returns SM_E_EMPTY, SM_E_FORMAT, SM_E_CERT,
 * SM_E_TOO_BIG, SM_E_TOO_MANY or -ENOMEM otherwise, with a one-line reason in @reterr (may be
 * NULL); *@ret is then untouched.
 */
int sm_certs_parse(const void *buf, size_t len, const struct sm_parse_opts *opts,
                   struct sm_certs **ret, struct sm_errinfo *reterr);

/** Free a result; NULL is fine. Always returns NULL. */
struct sm_certs *sm_certs_free(struct sm_certs *certs);

/**
 * Was @cert signed with @ca's key? Its signature over its TBSCertificate is checked with @ca's
 * public key, and nothing else (names, validity, extensions, revocation: the caller's). 0 yes,
 * -EBADMSG no, -ENOTSUP when it cannot be told (an algorithm or a key not supported, or either
 * certificate not one mbedTLS reads whole), -EINVAL (NULL, or a planned certificate: no DER).
 */
int sm_cert_signed_by(const struct sm_cert *cert, const struct sm_cert *ca);

/** The mapping of a given type, or NULL when the certificate cannot have it. */
const struct sm_mapping *sm_cert_mapping(const struct sm_cert *cert, enum sm_map_type type);

/** Common names for well-known OIDs (EKUs, extensions); NULL when unknown. */
const char *sm_oid_name(const char *dotted);

#ifdef __cplusplus
}
#endif

#endif

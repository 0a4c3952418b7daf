/*
 * strongmap/keycred.h - msDS-KeyCredentialLink values: Windows Hello for Business key trust.
 *
 * An account whose msDS-KeyCredentialLink holds the public key of the certificate presented is
 * mapped strongly, and certificate chain errors are ignored on that path ([MS-PKCA]
 * 3.1.5.2.1.4). sm_keycred_parse() reads one value as LDAP returns it, the DN-Binary form
 * "B:<hex digit count>:<hex>:<owner DN>" (or the bare hex), whose binary is a
 * KEYCREDENTIALLINK_BLOB ([MS-ADTS] 2.2.20), and extracts what the match needs: the SHA-1 of
 * the public key in the two forms struct sm_cert carries. sm_keycred_matches() compares.
 */
#ifndef STRONGMAP_KEYCRED_H
#define STRONGMAP_KEYCRED_H

#include <time.h>

#include <strongmap/cert.h>
#include <strongmap/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SM_MAX_KEYCRED_VALUE   (64 * 1024) /**< bytes of one value (DN-Binary text) */
#define SM_MAX_KEYCRED_ENTRIES 32          /**< KEYCREDENTIALLINK_ENTRY structures per blob */
#define SM_MAX_KEYCRED_BITS    16384       /**< RSA modulus size read from key material */

/** KeyUsage values ([MS-ADTS] 2.2.20.1, and the others DSInternals names). */
enum sm_keycred_usage {
    SM_KEYCRED_USAGE_ADMIN = 0x00, /**< admin (PIN reset) key */
    SM_KEYCRED_USAGE_NGC = 0x01,   /**< Windows Hello key: the one key trust logon uses */
    SM_KEYCRED_USAGE_STK = 0x02,   /**< device transport key */
    SM_KEYCRED_USAGE_BITLOCKER_RECOVERY = 0x03,
    SM_KEYCRED_USAGE_FIDO = 0x07, /**< FIDO2 security key; JSON key material (2.2.20.5.2) */
    SM_KEYCRED_USAGE_FEK = 0x08,  /**< file encryption key */
};

/** KeySource values. */
enum sm_keycred_source {
    SM_KEYCRED_SOURCE_AD = 0x00,
    SM_KEYCRED_SOURCE_AZURE_AD = 0x01, /**< written back by Entra Connect; times differ */
};

/**
 * One parsed msDS-KeyCredentialLink value. Strings are NUL-terminated, valid UTF-8 and owned
 * by the object (they die with sm_keycred_free()); hex is upper case. Absent entries leave
 * their field NULL (strings) or -1 (usage, source).
 */
struct sm_keycred {
    const char *owner_dn;       /**< the DN part of the DN-Binary value; NULL for bare hex */
    bool valid;                 /**< the blob is a well-formed KEYCREDENTIALLINK_BLOB (2.2.20) */
    const char *invalid_reason; /**< why not (one line), when !valid */
    uint32_t version;           /**< Version field (0x200 when valid) */
    unsigned n_entries;

    const char *key_id; /**< KeyID entry (SHA-256 of the KeyMaterial value), hex */
    bool key_id_ok;     /**< KeyID present and equal to SHA-256 of KeyMaterial */
    bool key_hash_ok;   /**< KeyHash present and equal to SHA-256 of the entries after it */
    const char *key_material_sha256; /**< SHA-256 of the KeyMaterial value (hex): the KeyID
                                          a writer should have computed */
    int usage;                       /**< KeyUsage byte (enum sm_keycred_usage), or -1 */
    const char *usage_name;    /**< "NGC", "FIDO", "FEK", "STK", "AdminKey", "BitLockerRecovery",
                                    "unknown"; NULL when absent */
    int source;                /**< KeySource byte (enum sm_keycred_source), or -1 */
    const char *source_name;   /**< "AD", "AzureAD", "unknown"; NULL when absent */
    const char *device_id;     /**< DeviceId as GUID text (lower case), or NULL */
    const char *created;       /**< KeyCreationTime, RFC 3339 UTC, or NULL */
    time_t created_t;          /**< the same in seconds; 0 when absent or out of range */
    const char *last_logon;    /**< KeyApproximateLastLogonTimeStamp, RFC 3339 UTC, or NULL */
    bool has_custom_key_info;  /**< CustomKeyInformation present */
    unsigned custom_key_flags; /**< its Flags byte (0x01 attestation, 0x02 MFA not used) */

    /* The key material. */
    const char *key_kind;   /**< "rsa" (BCRYPT_RSAKEY_BLOB), "der" (DER RSA key), or NULL when
                                 the material is absent or not understood */
    const char *key_format; /**< "bcrypt", "spki" (SubjectPublicKeyInfo), "rsapublickey"
                                 (PKCS #1), or NULL */
    const char *key_error;  /**< why the material gave no key (one line), or NULL */
    unsigned key_bits;      /**< significant bits of the modulus; 0 when no key */
    unsigned declared_bits; /**< BitLength of a BCRYPT_RSAKEY_BLOB header; else key_bits */
    uint64_t exponent;      /**< public exponent; 0 when no key */
    char spki_sha1[41];     /**< SHA-1 of the key as a DER SubjectPublicKeyInfo (rsaEncryption,
                                 NULL parameters); "" when no key. Compare sm_cert.spki_sha1 */
    char spk_sha1[41];      /**< SHA-1 of the key as a DER RSAPublicKey (the contents of a
                                 certificate's subjectPublicKey); "" when no key. Compare
                                 sm_cert.spk_sha1 */

    /* What the value is good for. */
    bool logon_key;    /**< valid, KeyUsage NGC and an RSA key was read: a key a KDC considers
                            for key trust (FIDO, FEK, STK... keys never map a certificate) */
    bool samba_usable; /**< Samba's KDC would load this value, by the checks in its source
                            (source4/kdc/db-glue.c unpack_key_credential_link_blob(),
                            librpc/ndr/ndr_keycredlink.c): version 0x200, identifiers 1-9
                            with their sizes, exactly one KeyUsage = NGC, exactly one
                            KeyMaterial it decodes (BCRYPT RSA1 with exponent up to 8 bytes
                            and no primes, or SubjectPublicKeyInfo; not a bare RSAPublicKey).
                            TPM key material (which Samba also reads) is not decoded here
                            and reads as false. Not yet checked against a running Samba. */
    struct sm_findings findings; /**< codes: keyid_mismatch, keyid_missing, keyhash_mismatch,
                                      keyhash_missing, key_size, bitlength_mismatch,
                                      source_not_ad, usage_not_ngc, time_out_of_range */
};

/**
 * Parse one msDS-KeyCredentialLink value of @len bytes: "B:<n>:<hex>:<DN>" (DN-Binary, n the
 * number of hex digits) or the bare hex of a KEYCREDENTIALLINK_BLOB.
 *
 * A value that is not a well-formed blob does not fail the call: it comes back with ->valid
 * false and ->invalid_reason (not DN-Binary, odd or bad hex, count mismatch, version other
 * than 0x200, truncated or oversized entry, entry of the wrong size for its identifier,
 * unknown identifier, duplicate identifier, entries not sorted by identifier, more than
 * SM_MAX_KEYCRED_ENTRIES entries, missing KeyMaterial or KeyUsage). Key material that gives no RSA
 * key sets ->key_error. A KeyID or KeyHash that does not match is a finding.
 *
 * Fails only with SM_E_EMPTY, SM_E_TOO_BIG (over SM_MAX_KEYCRED_VALUE), SM_E_UTF8 (the text
 * is not UTF-8 or holds a NUL) or -ENOMEM, with a one-line reason in @reterr (may be NULL);
 * *@ret is then untouched. On success *@ret is owned by the caller: sm_keycred_free().
 */
int sm_keycred_parse(const char *value, size_t len, struct sm_keycred **ret,
                     struct sm_errinfo *reterr);

/** Free a value; NULL is fine. Always returns NULL. */
struct sm_keycred *sm_keycred_free(struct sm_keycred *k);

/**
 * True when @k holds the public key of @cert: the RSA key read from the key material equals
 * the certificate's subjectPublicKey (SHA-1 of the DER RSAPublicKey, sm_cert.spk_sha1). This
 * is key equality only; whether the value counts for logon is ->logon_key. False when either
 * is NULL or has no key.
 */
bool sm_keycred_matches(const struct sm_keycred *k, const struct sm_cert *cert);

#ifdef __cplusplus
}
#endif

#endif

/*
 * strongmap/verdict.h - what a DC will do with a certificate (docs/mapping-rules.md 2 and 3):
 * allow or deny, for which account, with which Kerberos error and KDC event, why, and the fix.
 */
#ifndef STRONGMAP_VERDICT_H
#define STRONGMAP_VERDICT_H

#include <strongmap/altsecid.h>
#include <strongmap/cert.h>
#include <strongmap/dir.h>
#include <strongmap/keycred.h>

#ifdef __cplusplus
extern "C" {
#endif

enum sm_profile_kind {
    SM_PROFILE_WINDOWS_2016 = 0, /**< no SAN URI SID, no X509IssuerSID */
    SM_PROFILE_WINDOWS_2019,     /**< SAN URI SID, no X509IssuerSID */
    SM_PROFILE_WINDOWS_2022,     /**< SAN URI SID, X509IssuerSID from the 2025-09-09 update (also
                                      Windows Server 2025) */
    SM_PROFILE_SAMBA,            /**< Samba 4.24 AD DC (docs/mapping-rules.md 3) */
};

#define SM_MODE_DEFAULT     (-1) /**< the enforcement mode the DC runs by default */
#define SM_NTAUTH_DEFAULT   (-1) /**< AllowNtAuthPolicyBypass as the DC's update level sets it */
#define SM_BACKDATING_MAX   (100L * 365 * 86400) /**< seconds of backdating compensation */
#define SM_PROFILE_SPEC_MAX 256                  /**< bytes of a profile specification */
#define SM_PROFILE_TEXT_MAX 160                  /**< bytes sm_profile_format() writes at most */

/**
 * A DC model: kind plus the settings a DC administrator (or Microsoft's updates) control. Every
 * option defaults to a fully patched DC with default settings (sm_profile_default()); the
 * time-dependent defaults follow the evaluation time (the request's "at").
 */
struct sm_profile {
    enum sm_profile_kind kind;
    int mode;          /**< SM_MODE_DEFAULT, or Windows StrongCertificateBindingEnforcement 1
                            (compatibility) / 2 (full); Samba "strong certificate binding enforcement"
                            0 none / 1 compatibility / 2 full */
    long backdating_s; /**< CertificateBackdatingCompensation in seconds (Samba: its
                            minutes * 60); -1: the DC's default (Windows 600, Samba 0) */
    bool use_subject_alt_name; /**< Windows UseSubjectAltName (default 1); 0 turns off the
                                    certificate's UPN and SID: only explicit mappings remain */
    time_t update;     /**< release day (00:00 UTC) of the latest monthly update the DC runs;
                            0: every update released by the evaluation time */
    int ntauth_bypass; /**< Windows AllowNtAuthPolicyBypass (KB5057784): SM_NTAUTH_DEFAULT, 0 no
                            NTAuth check for explicit mappings, 1 audit (event 45), 2 enforce */
};

#define SM_MAX_PROFILES 8

/** Defaults for @kind: every option as a fully patched DC with default settings has it. */
void sm_profile_default(enum sm_profile_kind kind, struct sm_profile *ret);
/**
 * Parse a profile specification: a name ("windows-2016", "windows-2019", "windows-2022",
 * "windows-2025" (= windows-2022), "samba"), optionally followed by options, each
 * ",key=value": mode (or StrongCertificateBindingEnforcement; Samba: 0, 1, 2 or none,
 * compatibility, full), backdating (seconds; or CertificateBackdatingCompensation),
 * update (YYYY-MM-DD or "current"), UseSubjectAltName (0 or 1), AllowNtAuthPolicyBypass
 * (0, 1 or 2). Keys are case-insensitive. 0, or -EINVAL with the reason in @reterr (may be NULL).
 */
int sm_profile_parse(const char *spec, struct sm_profile *ret, struct sm_errinfo *reterr);
/** Canonical name of a kind. */
const char *sm_profile_name(enum sm_profile_kind kind);
/** @p as a specification sm_profile_parse() reads back (options that differ from the default
 *  only), into @buf (at least SM_PROFILE_TEXT_MAX bytes). Returns @buf. */
char *sm_profile_format(const struct sm_profile *p, char *buf, size_t size);

/** What to evaluate. */
struct sm_verdict_input {
    const struct sm_cert *cert; /**< may be NULL: the account's published certificates are used */
    const char *account;        /**< may be NULL: resolved from the certificate */
    const struct sm_profile *profiles; /**< NULL/0: windows-2022 in mode 2 */
    size_t n_profiles;
    time_t at;                            /**< evaluation time, 0 = now */
    const struct sm_certs *samba_anchors; /**< the CA certificates Samba's KDC trusts (its
                                               pkinit_anchors), or NULL: not known, assumed
                                               to include the issuer (unless the certificate
                                               is self-issued) */
    bool issuer_unknown;                  /**< a certificate not issued yet whose CA is not known
                                               (strongmap/preissue.h): NTAuth and Samba's anchors are not
                                               checked, and the verdict says so */
    bool require_issuer_signature;        /**< the caller proves nothing about the certificate (an
                                               upload): unless its signature verifies with the key of
                                               a CA the DCs trust for logon (the NTAuth store for
                                               Windows profiles, samba_anchors for Samba's), no account
                                               is looked up and every profile denies with the
                                               issuer's reason (issuer_signature_invalid,
                                               issuer_not_in_ntauth, issuer_not_anchored or
                                               issuer_not_verified) */
    bool redact_account;                  /**< the caller may not see account data (implies
                                               require_issuer_signature): the verdict then names no
                                               account attribute (DN, sAMAccountName, UPN, SID, dNSHostName,
                                               altSecurityIdentities, key credentials, creation time) in any text,
                                               path or remediation; for a certificate a trusted CA signed, the
                                               outcome, codes and events stay those of any caller */
};

/** A Kerberos error as the KDC returns it. */
struct sm_kdc_error {
    int code;         /**< 0 = none */
    const char *name; /**< "KDC_ERR_CERTIFICATE_MISMATCH" */
};

/** A KDC event the DC logs (System log, Kerberos-Key-Distribution-Center). */
struct sm_event {
    int id;            /**< 0 = none */
    const char *level; /**< "error" or "warning" */
    const char *text;
};

#define SM_MAX_EVENTS 3

/** A code and plain words (static or owned by the verdict). */
struct sm_reason {
    const char *code;
    const char *message;
};

/** How strongly a path maps a certificate (MS-PKCA's strong and weak mappings). */
enum sm_strength {
    SM_STRENGTH_NONE = 0, /**< no mapping (denied before one was reached), or not applicable */
    SM_STRENGTH_WEAK,
    SM_STRENGTH_STRONG,
};

/** "weak", "strong"; NULL for SM_STRENGTH_NONE. */
const char *sm_strength_name(enum sm_strength s);

/** What the DC found on one mapping path. */
enum sm_path_result {
    SM_PATH_MATCH = 0,
    SM_PATH_NO_MATCH,
    SM_PATH_MISMATCH,    /**< a SID that is another account's */
    SM_PATH_MALFORMED,   /**< a SID the DC cannot read */
    SM_PATH_UNSUPPORTED, /**< this DC does not use the path */
    SM_PATH_ABSENT,      /**< the certificate does not carry it */
    SM_PATH_NOT_CHECKED, /**< the DC stops before it (Samba's first match; NTAuth skipped) */
};

/** "match", "no_match", "mismatch", "malformed", "unsupported", "absent", "not_checked". */
const char *sm_path_result_name(enum sm_path_result r);

/** One mapping path examined. */
struct sm_path {
    const char *method; /**< "X509IssuerSerialNumber", "sid_extension", "upn_san", ... */
    enum sm_strength strength;
    enum sm_path_result result;
    const char *detail;
};

#define SM_MAX_PATHS   24
#define SM_MAX_REASONS 16

/** The outcome for one DC profile. */
struct sm_profile_outcome {
    struct sm_profile profile; /**< as evaluated: every default resolved (mode, backdating_s,
                                    update, ntauth_bypass) */
    bool profile_update_given; /**< profile.update was given, not the evaluation time */
    bool san_uri_sid;          /**< this DC reads the SID from the SAN URI */
    bool issuer_sid_mapping;   /**< this DC honours X509IssuerSID */
    bool allow;
    struct sm_kdc_error kdc_error;
    struct sm_event event; /**< the event tied to the outcome (events[0]), or id 0 */
    struct sm_event events[SM_MAX_EVENTS]; /**< every event the DC logs for the request */
    size_t n_events;
    enum sm_strength mapping_strength; /**< SM_STRENGTH_NONE when denied before mapping */
    const char *mapping_method;
    struct sm_path paths[SM_MAX_PATHS];
    size_t n_paths;
    struct sm_reason reasons[SM_MAX_REASONS];
    size_t n_reasons;
};

/** How the account was found. */
enum sm_resolution {
    SM_RESOLVED_NONE = 0,
    SM_RESOLVED_NAMED,        /**< the client named it (request's account) */
    SM_RESOLVED_UPN_SAN,      /**< certificate UPN = userPrincipalName */
    SM_RESOLVED_DNS_SAN,      /**< certificate DNS name: first label + "$" = sAMAccountName and the
                                   rest = the account's DNS domain (MS-PKCA 3.1.5.2.1.1) */
    SM_RESOLVED_EXPLICIT,     /**< an altSecurityIdentities value of the account matches */
    SM_RESOLVED_IMPLICIT_UPN, /**< certificate UPN = sAMAccountName@<the account's DNS domain> */
};

/** Directory lookups one verdict may cause (each a search or read; more: refused). */
#define SM_MAX_VERDICT_LOOKUPS 8

const char *sm_resolution_name(enum sm_resolution r);

/** What became of the certificate's signature, checked with the key of the CA it names. */
enum sm_issuer_sig {
    SM_ISSUER_SIG_NOT_CHECKED = 0, /**< no key of that CA known: not in the NTAuth store or the
                                        store unreadable, Samba's anchors not given, or a
                                        certificate not issued yet */
    SM_ISSUER_SIG_VALID,           /**< signed by a CA of the NTAuth store or of Samba's anchors */
    SM_ISSUER_SIG_INVALID,         /**< CAs of that name are there and none signed it: forged, or
                                        altered after signing */
    SM_ISSUER_SIG_UNSUPPORTED,     /**< an algorithm or a key that cannot be checked here */
};

/** "not_checked", "valid", "invalid", "unsupported". */
const char *sm_issuer_sig_name(enum sm_issuer_sig s);

/** The remediation: what to change so the DC allows it. */
struct sm_remediation {
    const char *altsec_value;       /**< strong value to add to the account (Windows), or NULL */
    const char *altsec_value_samba; /**< the same for Samba when it differs, or NULL */
    const char *altsec_alternatives[3]; /**< other strong values (SKI, SHA1-PUKEY) */
    const char *likely_issuer;     /**< "adcs_online", "adcs_offline", "intune_scep", "other_ca" */
    const char *likely_issuer_why; /**< what was seen, and what cannot be told from it */
    const char *reissue_adcs, *reissue_intune_pkcs, *reissue_scep, *reissue_other_ca;
    const char *sid_extension_der_base64; /**< for this account, or NULL */
    const char *sid_uri;
    const char *blocked_by; /**< why neither helps, or NULL */
    const char *powershell; /**< the command that adds altsec_value (Set-ADUser or
                                 Set-ADComputer; every value quoted), or NULL */
    const char *steps[8];   /**< ordered plain-words steps */
    size_t n_steps;
};

/** One of the account's msDS-KeyCredentialLink values (key trust), parsed. */
struct sm_verdict_keycred {
    const struct sm_keycred *cred;
    bool matches; /**< holds the public key of the certificate evaluated */
};

/** The verdict. Owned by the object; free with sm_verdict_free(). */
struct sm_verdict {
    bool allow;                               /**< overall: deny if any profile denies */
    const struct sm_profile_outcome *primary; /**< first denying profile, else the first */
    const struct sm_profile_outcome *profiles;
    size_t n_profiles;
    enum sm_resolution resolution;
    const struct sm_account *account;   /**< resolved account or NULL */
    const struct sm_account *sid_owner; /**< account owning the certificate's SID when it is
                                             another one, else NULL */
    const struct sm_cert *cert; /**< the certificate evaluated (input's or a published one) */
    struct sm_reason reasons[SM_MAX_REASONS]; /**< request-level facts (resolution, lookups) */
    size_t n_reasons;
    struct sm_remediation remediation;
    bool ntauth_known;                   /**< the NTAuth store could be read */
    bool issuer_in_ntauth;               /**< and a CA there signed the certificate */
    enum sm_issuer_sig issuer_signature; /**< VALID when a CA of the NTAuth store or of Samba's
                                              anchors signed it */
    unsigned lookups; /**< directory lookups the verdict made (<= SM_MAX_VERDICT_LOOKUPS) */
    bool redacted;    /**< made with redact_account: account, sid_owner and keycreds are for
                           the engine only and must not be shown */
    const struct sm_verdict_keycred *keycreds; /**< the account's key trust credentials */
    size_t n_keycreds;
};

/**
 * Evaluate against the directory @dir (required: accounts decide everything). @in->cert must
 * outlive the verdict. Errors: -EINVAL (no directory, neither certificate nor account, too many
 * profiles, bad account name: reason in @reterr), SM_E_DIR_DOWN / SM_E_DIR_REFUSED /
 * SM_E_DIR_LIMIT (directory), -ENOMEM. A missing account is a verdict (deny,
 * KDC_ERR_C_PRINCIPAL_UNKNOWN), not an error.
 */
int sm_verdict_evaluate(struct sm_dir *dir, const struct sm_verdict_input *in,
                        struct sm_verdict **ret, struct sm_errinfo *reterr);

struct sm_verdict *sm_verdict_free(struct sm_verdict *v);

/** Account status summary. */
enum sm_readiness {
    SM_READY = 0,   /**< a strong path exists and nothing blocks logon */
    SM_AT_RISK = 1, /**< logon depends on something weak or on some DCs */
    SM_BLOCKED = 2, /**< logon fails whatever the certificate */
};

const char *sm_readiness_name(enum sm_readiness r);

/** Status of an account (no certificate given). */
struct sm_account_status {
    const struct sm_account *account; /**< NULL when not found */
    enum sm_readiness readiness;
    struct sm_reason reasons[SM_MAX_REASONS];
    size_t n_reasons;
    struct sm_altsec *const *altsec; /**< every value parsed and linted */
    size_t n_altsec;
    const struct sm_verdict *const *cert_verdicts; /**< one per published userCertificate, then
                                                        one per certificate given */
    size_t n_cert_verdicts;
    size_t n_given; /**< the last n_given of cert_verdicts are the given certificates' */
    const struct sm_profile *profiles;
    size_t n_profiles;
};

int sm_account_status(struct sm_dir *dir, const char *name, const struct sm_profile *profiles,
                      size_t n_profiles, time_t at, struct sm_account_status **ret,
                      struct sm_errinfo *reterr);

/**
 * sm_account_status() of an account already read (sm_dir_each_account() gives them): @acc is
 * borrowed and must outlive the result; @dir answers the verdicts' lookups. Same errors.
 */
int sm_account_status_of(struct sm_dir *dir, const struct sm_account *acc,
                         const struct sm_profile *profiles, size_t n_profiles, time_t at,
                         struct sm_account_status **ret, struct sm_errinfo *reterr);

#define SM_MAX_GIVEN_CERTS 16 /**< certificates given to sm_account_status_given() */

/**
 * sm_account_status_of() with @given (DER, @n_given <= SM_MAX_GIVEN_CERTS, borrowed during the
 * call) counted as the account's certificates too: certificates known from elsewhere (a CA's
 * export) that map to it. Each goes through the full verdict for the account after the
 * published ones; a denied one makes the account at risk (reason given_certificate_denied),
 * and values that match none of them are stale. Each must parse (-EINVAL otherwise).
 */
int sm_account_status_given(struct sm_dir *dir, const struct sm_account *acc,
                            const struct sm_blob *given, size_t n_given,
                            const struct sm_profile *profiles, size_t n_profiles, time_t at,
                            struct sm_account_status **ret, struct sm_errinfo *reterr);

struct sm_account_status *sm_account_status_free(struct sm_account_status *s);

#ifdef __cplusplus
}
#endif

#endif

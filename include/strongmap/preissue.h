/*
 * strongmap/preissue.h - the issuance plan: before a CA signs a request, what the certificate
 * must carry to log on under full enforcement, and whether it may be issued at all
 * (docs/preissue.md).
 *
 * For a request (its facts: struct sm_csr's, or facts built by the caller), the account it is
 * for and DC profiles, sm_preissue_plan() gives the account (SID, UPN, enabled, computer),
 * what the request carries, the predicted verdict of each profile for the certificate AS
 * REQUESTED and AS IT SHOULD BE ISSUED (the same verdict engine, on the facts of certificates
 * not issued yet), the material to add (the SID extension's DER, the SAN URI, the UPN or DNS
 * name the account needs) and to remove, and the security findings on which a CA must refuse.
 * The plan owns everything it points to (its verdicts, accounts, texts) except the request,
 * which must outlive it; free it with sm_preissue_free().
 */
#ifndef STRONGMAP_PREISSUE_H
#define STRONGMAP_PREISSUE_H

#include <strongmap/csr.h>
#include <strongmap/verdict.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Directory lookups one plan makes to check the request's names, beyond its verdicts'. */
#define SM_MAX_PREISSUE_LOOKUPS 16
/** Changes a plan lists (SAN entries and extensions to add or remove). */
#define SM_MAX_PREISSUE_CHANGES (SM_MAX_SAN + 4)

/** What to plan for. */
struct sm_preissue_input {
    const struct sm_cert *request;     /**< the requested facts (sm_csr.request), required */
    const struct sm_csr *csr;          /**< the request itself, or NULL (its signature state is
                                            reported) */
    const char *account;               /**< the account the certificate is for (sAMAccountName,
                                            DOMAIN\\name, UPN, SID, DN or DNS host name), required */
    const struct sm_profile *profiles; /**< NULL/0: windows-2022 */
    size_t n_profiles;
    time_t at;                    /**< when the certificate is issued; 0 = now */
    long validity_days;           /**< the certificate's lifetime; 0 = 365 */
    const struct sm_cert *issuer; /**< the issuing CA's certificate, or NULL: the NTAuth check
                                       (and Samba's anchors) are not evaluated */
    const char *ski;              /**< the subject key identifier the CA will write, as
                                       uppercase hex (a caller that knows how its CA makes it:
                                       step-ca's template or its SHA-1 of the key), or NULL:
                                       not known, so no X509SKI mapping is predicted */
};

/** One change from the request to the certificate as it should be issued. */
struct sm_preissue_change {
    bool add;           /**< add, else remove */
    const char *what;   /**< "sid_extension", "san_uri", "san_upn", "san_dns" */
    const char *value;  /**< the SAN value or the SID text */
    const char *reason; /**< plain words */
};

/** The plan. Read-only for callers. */
struct sm_preissue {
    const struct sm_cert *request;    /**< the input's requested facts */
    const struct sm_account *account; /**< the account, or NULL when none answers */
    bool refuse;                      /**< a security finding: the CA must not issue */
    bool allow_as_requested;          /**< every profile allows the certificate as requested */
    bool allow_as_issued;             /**< ... as it should be issued */
    const struct sm_verdict *as_requested, *as_issued; /**< NULL when no account answers */
    const struct sm_cert *issued; /**< the facts of the certificate as it should be issued */
    bool signature_verified;      /**< the request's self-signature was verified (sm_csr) */
    const char *signature_note;   /**< why not, or NULL */
    /* the material, for this account (NULL when it has none) */
    const char *sid;                      /**< the account's SID */
    const char *sid_extension_der_hex;    /**< 1.3.6.1.4.1.311.25.2's value (MS-WCCE 2.2.2.7.7.4) */
    const char *sid_extension_der_base64; /**< the same, base64 */
    const char *sid_uri;                  /**< tag:microsoft.com,2022-09-14:sid:<SID> */
    const char *upn;                      /**< the UPN SAN the certificate must carry, or NULL */
    const char *dns;                      /**< the DNS SAN (computer accounts), or NULL */
    const struct sm_preissue_change *changes;
    size_t n_changes;
    struct sm_findings findings; /**< security findings (error: refuse) and notes */
    unsigned lookups;            /**< directory lookups of the name checks */
};

/**
 * Plan the issuance of @in->request for @in->account against the directory @dir.
 * Returns 0 with *@ret (free with sm_preissue_free()), or -EINVAL (no request, no account, too
 * many profiles: the reason in @reterr), the directory's errors (SM_E_DIR_*), -ENOMEM. An
 * account that does not exist is a plan that refuses, not an error.
 */
int sm_preissue_plan(struct sm_dir *dir, const struct sm_preissue_input *in,
                     struct sm_preissue **ret, struct sm_errinfo *reterr);

/** Free a plan; NULL is fine. Returns NULL. */
struct sm_preissue *sm_preissue_free(struct sm_preissue *p);

/**
 * The plan as JSON (strongmap preissue, and the API's document): {"account", "request",
 * "signature", "refuse", "findings", "material", "changes", "profiles": [{"profile",
 * "as_requested", "as_issued"}], ...}; *@ret_json is free()d by the caller. 0 or -ENOMEM.
 */
int sm_json_preissue(const struct sm_preissue *p, unsigned flags, char **ret_json);

#ifdef __cplusplus
}
#endif

#endif

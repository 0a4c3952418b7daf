/*
 * strongmap/mapwrite.h - mapping write-back: add one strong altSecurityIdentities value computed
 * from a certificate to an account, or remove one value, safely (docs/write-back.md).
 *
 * Two steps. sm_mapwrite_plan() reads the directory and decides: the value (computed from the
 * certificate with the KDC's rules, or given for a removal), its lint, the account's values
 * now, and the outcome: would add, would remove, nothing to do (present / absent), or refused
 * (another account holds the value; the certificate's SID names another account; the value
 * does not lint clean; the name is ambiguous). A plan is the dry run. sm_mapwrite_apply() then
 * makes the one change the plan names, with an LDAP modify of one value ("add" or "delete";
 * never "replace"), on a handle opened with a write-capable bind.
 *
 * The engine neither logs nor keeps an audit log: the caller writes the intent before
 * sm_mapwrite_apply() and the result after it (common/mapaudit.c); sm_json_mapwrite_audit()
 * makes those lines. A plan owns everything it points to; free it with sm_mapwrite_free().
 */
#ifndef STRONGMAP_MAPWRITE_H
#define STRONGMAP_MAPWRITE_H

#include <time.h>

#include <strongmap/cert.h>
#include <strongmap/dir.h>

#ifdef __cplusplus
extern "C" {
#endif

/** What to do. */
enum sm_mapwrite_op {
    SM_MAPWRITE_ADD = 0, /**< add one value computed from a certificate */
    SM_MAPWRITE_REMOVE,  /**< remove one value (given, or computed from a certificate) */
};

/** Where a plan or a write ended. */
enum sm_mapwrite_outcome {
    SM_MAPWRITE_WOULD_ADD = 0, /**< dry run: the value would be added */
    SM_MAPWRITE_WOULD_REMOVE,  /**< dry run: the value would be removed */
    SM_MAPWRITE_PRESENT,       /**< add: the account holds the value already; nothing done */
    SM_MAPWRITE_ABSENT,        /**< remove: the account does not hold the value; nothing done */
    SM_MAPWRITE_REFUSED,       /**< a safety check refused it (see refusal); nothing done */
    SM_MAPWRITE_ADDED,         /**< the value was added */
    SM_MAPWRITE_REMOVED,       /**< the value was removed */
    SM_MAPWRITE_FAILED,        /**< the directory refused or failed the modify */
    SM_MAPWRITE__COUNT
};

/** "would_add", "would_remove", "present", "absent", "refused", "added", "removed", "failed". */
const char *sm_mapwrite_outcome_name(enum sm_mapwrite_outcome o);

/** "add" or "remove". */
const char *sm_mapwrite_op_name(enum sm_mapwrite_op op);

/**
 * The strong mapping type named @name ("X509IssuerSerialNumber", "X509SKI",
 * "X509SHA1PublicKey", "X509IssuerSID"; ASCII case ignored) into *@ret. 0, or -EINVAL for
 * anything else (the weak types are never written).
 */
int sm_mapwrite_type_parse(const char *name, enum sm_map_type *ret);

/** What the caller asks for. Strings are borrowed for the duration of sm_mapwrite_plan(). */
struct sm_mapwrite_request {
    enum sm_mapwrite_op op;
    const char *account;        /**< sAMAccountName, DOMAIN\\name, UPN, SID, DN or DNS host
                                     name (at most SM_MAX_NAME bytes), required */
    const struct sm_cert *cert; /**< the certificate the value is computed from; required to
                                     add, or @value to remove */
    enum sm_map_type type;      /**< the type computed from @cert (default 0:
                                     X509IssuerSerialNumber); strong types only */
    const char *value;          /**< remove: the value itself (NULL: computed from @cert) */
    bool allow_foreign_sid;     /**< add although the certificate's SID names another account */
};

/** Why a plan refuses. */
struct sm_mapwrite_refusal {
    const char *code;           /**< "duplicate", "foreign_sid", "lint", "ambiguous" */
    const char *message;        /**< plain words */
    const char *const *holders; /**< DNs of the other accounts concerned */
    size_t n_holders;
};

/** A plan, then the write. Read-only for callers but for what sm_mapwrite_apply() sets. */
struct sm_mapwrite {
    enum sm_mapwrite_op op;
    enum sm_mapwrite_outcome outcome;
    const struct sm_account *account; /**< the account (its values as read for the plan) */
    enum sm_map_type type;            /**< the value's type (remove of a given value: as parsed,
                                           or type_known false) */
    bool type_known;
    const char *value;             /**< the value to add, or the stored value to remove */
    const char *const *old_values; /**< the account's values when planned */
    size_t n_old;
    struct sm_findings findings;        /**< the value's lint, and notes */
    struct sm_mapwrite_refusal refusal; /**< when outcome is SM_MAPWRITE_REFUSED */
    bool foreign_sid_allowed;           /**< the certificate's SID names another account, and the
                                             caller allowed it */
    const char *cert_sid;               /**< the SID the certificate carries, or NULL */
    /* set by sm_mapwrite_apply() */
    bool applied;      /**< a modify was sent */
    const char *error; /**< why the modify failed (outcome FAILED), or NULL */
    const char *after; /**< FAILED: "unchanged" when the account was read again
                            and holds what it held, "changed", or "unknown" */
};

/**
 * Plan @req against @dir (any backend). Returns 0 with *@ret (also for a refusal or a no-op),
 * -ENOENT when no account answers to the name, -EINVAL for bad input (no value can be computed
 * from the certificate for the type, a value that is not UTF-8 or too long, no certificate
 * and no value: the reason in @reterr), the directory's errors (SM_E_DIR_*), -ENOMEM.
 */
int sm_mapwrite_plan(struct sm_dir *dir, const struct sm_mapwrite_request *req,
                     struct sm_mapwrite **ret, struct sm_errinfo *reterr);

/**
 * Make the change @m plans (outcome WOULD_ADD or WOULD_REMOVE; any other outcome: nothing is
 * done, 0) on @wdir, an LDAP handle with a write-capable bind: one modify of one value. The
 * outcome becomes ADDED or REMOVED; PRESENT or ABSENT when the server says the value is there
 * already or no longer (someone else was quicker); FAILED otherwise, with the reason in @m->error
 * and @reterr, after the account is read again to say whether it changed. Returns 0, or
 * -EOPNOTSUPP (an LDIF export is read-only), SM_E_DIR_DOWN, SM_E_DIR_REFUSED (no right to
 * write, the server's constraint), -ENOMEM, -EINVAL.
 */
int sm_mapwrite_apply(struct sm_dir *wdir, struct sm_mapwrite *m, struct sm_errinfo *reterr);

/** Free; NULL is fine. Returns NULL. */
struct sm_mapwrite *sm_mapwrite_free(struct sm_mapwrite *m);

/**
 * The plan or the write as JSON (strongmap map, and the API's answer): {"operation", "apply",
 * "outcome", "account": {"dn", "sam"}, "type", "value", "old_values", "findings",
 * "refusal", ...}; *@ret_json is free()d by the caller. 0 or -ENOMEM.
 */
int sm_json_mapwrite(const struct sm_mapwrite *m, bool apply, unsigned flags, char **ret_json);

/** Who asks for a write, for the audit log. Strings borrowed. */
struct sm_mapwrite_actor {
    const char *kind;   /**< "token" (the API) or "cli" */
    const char *name;   /**< the token's name, or the user running the CLI */
    const char *client; /**< the client's address, or NULL */
};

/**
 * One audit log line (compact JSON, no newline) for @m: @phase "intent" (before the modify)
 * or "result" (after it), the operation @id that ties the two, @when, @who, the account's DN,
 * its values before, the value, the outcome and the error. *@ret_json is free()d by the
 * caller. 0 or -ENOMEM.
 */
int sm_json_mapwrite_audit(const struct sm_mapwrite *m, const char *phase, const char *id,
                           time_t when, const struct sm_mapwrite_actor *who, char **ret_json);

#ifdef __cplusplus
}
#endif

#endif

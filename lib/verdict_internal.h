/*
 * lib/verdict_internal.h - what the parts of the verdict engine share: lib/profile.c (DC
 * profiles and update levels), lib/ntauth.c (the forest's NTAuth store), lib/verdict.c (the
 * decision), lib/remediation.c (the fix) and lib/status.c (account status).
 */
#ifndef SM_LIB_VERDICT_INTERNAL_H
#define SM_LIB_VERDICT_INTERNAL_H

#include <strongmap/verdict.h>

#include "util.h"

/* ---- lib/profile.c ---- */

/** A profile with every default resolved for one evaluation time. */
struct profile_eval {
    struct sm_profile p; /**< mode, backdating_s, update and ntauth_bypass (the phase) resolved */
    bool update_given;   /**< the update level was given, not taken from the evaluation time */
    bool san_uri_sid;    /**< the DC reads the SAN URI SID */
    bool issuer_sid;     /**< the DC honours X509IssuerSID */
    bool compat_whatif;  /**< compatibility mode evaluated: only a DC without the 2025-09-09
                              update runs it */
    bool compat_ignored; /**< mode 1 asked of a DC whose update level no longer reads it */
    bool ntauth_value_ignored; /**< AllowNtAuthPolicyBypass given but not read at that level */
};

/** @t's day as "YYYY-MM-DD", allocated in @a ("?" on OOM). */
const char *profile_day(struct arena *a, time_t t);

/** Resolve @in's defaults for evaluation time @at. 0 or -EINVAL (reason in @reterr). */
int profile_resolve(const struct sm_profile *in, time_t at, struct profile_eval *out,
                    struct sm_errinfo *reterr);

/* ---- lib/ntauth.c ---- */

enum ntauth_state {
    NTAUTH_UNKNOWN = -1, /**< the store could not be read */
    NTAUTH_ABSENT = 0,   /**< the issuing CA is not in the store */
    NTAUTH_PRESENT = 1,
};

/** Is @cert's issuing CA in @dir's NTAuth store? One directory read. */
enum ntauth_state ntauth_check(struct sm_dir *dir, const struct sm_cert *cert);

/* ---- lib/remediation.c ---- */

/**
 * @s as one PowerShell single-quoted string: ' and the typographic quotes U+2018..U+201B are
 * doubled (PowerShell treats all five alike inside single quotes; nothing else is special
 * there), the whole wrapped in '...'. Allocated in @a; NULL on OOM.
 */
const char *ps_quote(struct arena *a, const char *s);

/** Fill @v's remediation (texts allocated in @a). 0 or -ENOMEM. */
int remediate(struct sm_verdict *v, struct arena *a);

#endif

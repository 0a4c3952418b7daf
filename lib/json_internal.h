/*
 * lib/json_internal.h - what the files of the engine's JSON documents share: lib/json.c (the
 * shared pieces, the altSecurityIdentities and SID documents), lib/json_cert.c (certificates),
 * lib/json_verdict.c (verdicts, account status) and lib/json_preissue.c (issuance plans). Not
 * sm_-prefixed: libstrongmap keeps these local.
 */
#ifndef SM_LIB_JSON_INTERNAL_H
#define SM_LIB_JSON_INTERNAL_H

#include <string.h>

#include <strongmap/json.h>

#include "su_jsonw.h"
#include "util.h"

/* Every document: start() sets @w up for @flags (SM_JSON_PRETTY); finish() hands the text over
   in *@ret_json (0) or returns -ENOMEM. */
static inline void start(struct su_jsonw *w, unsigned flags)
{
    su_jsonw_init(w, flags & SM_JSON_PRETTY ? SU_JSONW_PRETTY : 0, mem_buf_alloc, NULL);
}

static inline int finish(struct su_jsonw *w, char **ret_json)
{
    return su_jsonw_finish(w, ret_json, NULL);
}

/* A key that is not a literal (su_jsonw_key() takes literals). */
static inline void dyn_key(struct su_jsonw *w, const char *key)
{
    su_jsonw_keyn(w, key, strlen(key));
}

/* An array of the @n strings in @v. */
void str_array(struct su_jsonw *w, const char *const *v, size_t n);
/* "findings": [...], with a closing "findings_truncated" item when some were left out. */
void findings_json(struct su_jsonw *w, const struct sm_findings *f);
/* lib/json_cert.c: one certificate's facts as an object (also a request's, lib/json_preissue.c). */
void cert_json(struct su_jsonw *w, const struct sm_cert *c);
/* lib/json_verdict.c: an account (null for NULL), one profile's outcome, as objects. */
void account_json(struct su_jsonw *w, const struct sm_account *a);
void outcome_json(struct su_jsonw *w, const struct sm_profile_outcome *o);
/* One altSecurityIdentities value as an object; matched against @cert when not NULL. */
void altsec_json(struct su_jsonw *w, const struct sm_altsec *v, const struct sm_cert *cert);

#endif

/*
 * lib/json_preissue.c - the issuance plan document (sm_json_preissue(), strongmap/preissue.h):
 * the account, the request's facts (as a certificate's, lib/json_cert.c), its signature, the
 * security findings, the material to add, the changes, and per DC profile the outcome for the
 * certificate as requested and as it should be issued (lib/json_verdict.c's outcome objects).
 */
#include <strongmap/preissue.h>

#include "json_internal.h"
#include "util.h"

static const char *change_action(const struct sm_preissue_change *c)
{
    return c->add ? "add" : "remove";
}

static void material_json(struct su_jsonw *w, const struct sm_preissue *p)
{
    su_jsonw_key(w, "material");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "sid", p->sid);
    su_jsonw_kstr(w, "sid_extension_oid", p->sid ? SM_OID_SID_EXTENSION : NULL);
    su_jsonw_kstr(w, "sid_extension_der_hex", p->sid_extension_der_hex);
    su_jsonw_kstr(w, "sid_extension_der_base64", p->sid_extension_der_base64);
    su_jsonw_kstr(w, "san_uri", p->sid_uri);
    su_jsonw_kstr(w, "upn", p->upn);
    su_jsonw_kstr(w, "dns", p->dns);
    su_jsonw_object_end(w);
}

static void profiles_json(struct su_jsonw *w, const struct sm_preissue *p)
{
    su_jsonw_key(w, "profiles");
    su_jsonw_array_begin(w);
    for (size_t i = 0; p->as_requested && i < p->as_requested->n_profiles; i++) {
        const struct sm_profile_outcome *req = &p->as_requested->profiles[i];
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "profile", sm_profile_name(req->profile.kind));
        su_jsonw_key(w, "as_requested");
        outcome_json(w, req);
        su_jsonw_key(w, "as_issued");
        if (p->as_issued)
            outcome_json(w, &p->as_issued->profiles[i]);
        else
            su_jsonw_null(w);
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
}

int sm_json_preissue(const struct sm_preissue *p, unsigned flags, char **ret_json)
{
    struct su_jsonw w;

    start(&w, flags);
    su_jsonw_object_begin(&w);
    su_jsonw_kbool(&w, "refuse", p->refuse);
    su_jsonw_kstr(&w, "outcome_as_requested", p->allow_as_requested ? "allow" : "deny");
    su_jsonw_kstr(&w, "outcome_as_issued",
                  !p->as_issued        ? NULL
                  : p->allow_as_issued ? "allow"
                                       : "deny");
    su_jsonw_key(&w, "account");
    account_json(&w, p->account);
    su_jsonw_key(&w, "signature");
    su_jsonw_object_begin(&w);
    su_jsonw_kbool(&w, "verified", p->signature_verified);
    su_jsonw_kstr(&w, "note", p->signature_note);
    su_jsonw_object_end(&w);
    findings_json(&w, &p->findings);
    material_json(&w, p);
    su_jsonw_key(&w, "changes");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < p->n_changes; i++) {
        const struct sm_preissue_change *c = &p->changes[i];
        su_jsonw_object_begin(&w);
        su_jsonw_kstr(&w, "action", change_action(c));
        su_jsonw_kstr(&w, "what", c->what);
        su_jsonw_kstr(&w, "value", c->value);
        su_jsonw_kstr(&w, "reason", c->reason);
        su_jsonw_object_end(&w);
    }
    su_jsonw_array_end(&w);
    profiles_json(&w, p);
    su_jsonw_key(&w, "request");
    cert_json(&w, p->request);
    su_jsonw_key(&w, "issued");
    cert_json(&w, p->issued);
    su_jsonw_kint(&w, "directory_lookups",
                  (int64_t)p->lookups + (p->as_requested ? p->as_requested->lookups : 0) +
                      (p->as_issued ? p->as_issued->lookups : 0));
    su_jsonw_object_end(&w);
    return finish(&w, ret_json);
}

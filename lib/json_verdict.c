/*
 * lib/json_verdict.c - the verdict document (sm_json_verdict()) and the account status
 * document (sm_json_account_status(), whose certificates are verdicts). What the documents
 * share is in lib/json.c (lib/json_internal.h).
 */
#include <time.h>

#include <strongmap/json.h>

#include "json_internal.h"
#include "util.h"

/* ---- verdicts ------------------------------------------------------------------------------ */

static void time_json(struct su_jsonw *w, time_t t)
{
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        su_jsonw_null(w);
    else
        su_jsonw_string(w, buf);
}

void account_json(struct su_jsonw *w, const struct sm_account *a)
{
    char sid[SM_SID_TEXT_MAX];
    if (!a) {
        su_jsonw_null(w);
        return;
    }
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "dn", a->dn);
    su_jsonw_kstr(w, "sam", a->sam);
    su_jsonw_kstr(w, "upn", a->upn);
    su_jsonw_kstr(w, "sid", a->has_sid ? sm_sid_format(&a->sid, sid, sizeof(sid)) : NULL);
    su_jsonw_key(w, "created");
    if (a->has_created)
        time_json(w, a->created);
    else
        su_jsonw_null(w);
    su_jsonw_kbool(w, "enabled", !(a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE)));
    su_jsonw_kbool(w, "computer", a->is_computer);
    if (a->dns_host)
        su_jsonw_kstr(w, "dns_host_name", a->dns_host);
    su_jsonw_object_end(w);
}

static void kdc_error_json(struct su_jsonw *w, const struct sm_kdc_error *e)
{
    su_jsonw_key(w, "kdc_error");
    if (!e->code) {
        su_jsonw_null(w);
        return;
    }
    su_jsonw_object_begin(w);
    su_jsonw_kint(w, "code", e->code);
    su_jsonw_kstr(w, "name", e->name);
    su_jsonw_object_end(w);
}

static void event_obj(struct su_jsonw *w, const struct sm_event *e)
{
    su_jsonw_object_begin(w);
    su_jsonw_kint(w, "id", e->id);
    su_jsonw_kstr(w, "source", "Microsoft-Windows-Kerberos-Key-Distribution-Center");
    su_jsonw_kstr(w, "level", e->level);
    su_jsonw_kstr(w, "text", e->text);
    su_jsonw_object_end(w);
}

static void event_json(struct su_jsonw *w, const struct sm_event *e)
{
    su_jsonw_key(w, "event");
    if (!e->id)
        su_jsonw_null(w);
    else
        event_obj(w, e);
}

static void events_json(struct su_jsonw *w, const struct sm_profile_outcome *o)
{
    su_jsonw_key(w, "events");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < o->n_events; i++)
        event_obj(w, &o->events[i]);
    su_jsonw_array_end(w);
}

/* The DC settings an outcome was evaluated with, every default resolved. */
static void settings_json(struct su_jsonw *w, const struct sm_profile_outcome *o)
{
    const struct sm_profile *p = &o->profile;
    bool windows = p->kind != SM_PROFILE_SAMBA;
    char spec[SM_PROFILE_TEXT_MAX], day[16];

    su_jsonw_key(w, "settings");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "spec", sm_profile_format(p, spec, sizeof(spec)));
    if (windows) {
        struct tm tm;
        gmtime_r(&p->update, &tm);
        strftime(day, sizeof(day), "%Y-%m-%d", &tm);
        su_jsonw_kstr(w, "update", day);
        su_jsonw_kbool(w, "update_given", o->profile_update_given);
        su_jsonw_kbool(w, "use_subject_alt_name", p->use_subject_alt_name);
        su_jsonw_kint(w, "ntauth_policy_bypass", p->ntauth_bypass);
    } else {
        su_jsonw_knull(w, "update");
        su_jsonw_kbool(w, "update_given", false);
        su_jsonw_kbool(w, "use_subject_alt_name", true);
        su_jsonw_knull(w, "ntauth_policy_bypass");
    }
    su_jsonw_kbool(w, "reads_san_uri_sid", o->san_uri_sid);
    su_jsonw_kbool(w, "honours_x509_issuer_sid", o->issuer_sid_mapping);
    su_jsonw_object_end(w);
}

/* The elements of a reasons array (the caller opens and closes it). */
static void reasons_items(struct su_jsonw *w, const struct sm_reason *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "code", r[i].code);
        su_jsonw_kstr(w, "message", r[i].message);
        su_jsonw_object_end(w);
    }
}

static void reasons_json(struct su_jsonw *w, const struct sm_reason *r, size_t n)
{
    su_jsonw_key(w, "reasons");
    su_jsonw_array_begin(w);
    reasons_items(w, r, n);
    su_jsonw_array_end(w);
}

static void mapping_json(struct su_jsonw *w, const struct sm_profile_outcome *o)
{
    su_jsonw_key(w, "mapping");
    if (!o->mapping_strength) {
        su_jsonw_null(w);
        return;
    }
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "strength", sm_strength_name(o->mapping_strength));
    su_jsonw_kstr(w, "method", o->mapping_method);
    su_jsonw_object_end(w);
}

static void paths_json(struct su_jsonw *w, const struct sm_profile_outcome *o)
{
    su_jsonw_key(w, "paths");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < o->n_paths; i++) {
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "method", o->paths[i].method);
        su_jsonw_kstr(w, "strength", sm_strength_name(o->paths[i].strength));
        su_jsonw_kstr(w, "result", sm_path_result_name(o->paths[i].result));
        if (o->paths[i].detail)
            su_jsonw_kstr(w, "detail", o->paths[i].detail);
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
}

void outcome_json(struct su_jsonw *w, const struct sm_profile_outcome *o)
{
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "profile", sm_profile_name(o->profile.kind));
    su_jsonw_kint(w, "mode", o->profile.mode);
    su_jsonw_kint(w, "backdating_seconds", o->profile.backdating_s);
    settings_json(w, o);
    su_jsonw_kstr(w, "outcome", o->allow ? "allow" : "deny");
    kdc_error_json(w, &o->kdc_error);
    event_json(w, &o->event);
    events_json(w, o);
    mapping_json(w, o);
    paths_json(w, o);
    reasons_json(w, o->reasons, o->n_reasons);
    su_jsonw_object_end(w);
}

static void remediation_json(struct su_jsonw *w, const struct sm_remediation *r)
{
    su_jsonw_key(w, "remediation");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "altsecurityidentities", r->altsec_value);
    if (r->altsec_value_samba)
        su_jsonw_kstr(w, "altsecurityidentities_samba", r->altsec_value_samba);
    su_jsonw_key(w, "altsecurityidentities_alternatives");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < ARRAY_SIZE(r->altsec_alternatives); i++)
        if (r->altsec_alternatives[i])
            su_jsonw_string(w, r->altsec_alternatives[i]);
    su_jsonw_array_end(w);
    su_jsonw_key(w, "reissue");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "likely_issuer", r->likely_issuer);
    su_jsonw_kstr(w, "likely_issuer_why", r->likely_issuer_why);
    su_jsonw_kstr(w, "adcs", r->reissue_adcs);
    su_jsonw_kstr(w, "intune_pkcs", r->reissue_intune_pkcs);
    su_jsonw_kstr(w, "intune_scep", r->reissue_scep);
    su_jsonw_kstr(w, "other_ca", r->reissue_other_ca);
    su_jsonw_kstr(w, "sid_extension_der_base64", r->sid_extension_der_base64);
    su_jsonw_kstr(w, "sid_uri", r->sid_uri);
    su_jsonw_object_end(w);
    su_jsonw_kstr(w, "blocked_by", r->blocked_by);
    su_jsonw_kstr(w, "powershell", r->powershell);
    su_jsonw_key(w, "steps");
    str_array(w, r->steps, r->n_steps);
    su_jsonw_object_end(w);
}

/* The account's key trust credentials (msDS-KeyCredentialLink), and which holds the key. */
static void keycreds_json(struct su_jsonw *w, const struct sm_verdict *v)
{
    su_jsonw_key(w, "key_credentials");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < v->n_keycreds && !v->redacted; i++) {
        const struct sm_keycred *k = v->keycreds[i].cred;
        su_jsonw_object_begin(w);
        su_jsonw_kbool(w, "matches", v->keycreds[i].matches);
        su_jsonw_kbool(w, "valid", k->valid);
        su_jsonw_kstr(w, "invalid_reason", k->invalid_reason);
        su_jsonw_kstr(w, "usage", k->usage_name);
        su_jsonw_kstr(w, "source", k->source_name);
        su_jsonw_kstr(w, "device_id", k->device_id);
        su_jsonw_kstr(w, "created", k->created);
        su_jsonw_kstr(w, "key_id", k->key_id);
        su_jsonw_kstr(w, "key_format", k->key_format);
        su_jsonw_kint(w, "key_bits", k->key_bits);
        su_jsonw_kstr(w, "key_error", k->key_error);
        su_jsonw_kbool(w, "logon_key", k->logon_key);
        su_jsonw_kbool(w, "samba_usable", k->samba_usable);
        findings_json(w, &k->findings);
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
}

static void verdict_obj(struct su_jsonw *w, const struct sm_verdict *v)
{
    const struct sm_profile_outcome *p = v->primary;
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "outcome", v->allow ? "allow" : "deny");
    kdc_error_json(w, &p->kdc_error);
    event_json(w, &p->event);
    events_json(w, p);
    mapping_json(w, p);
    su_jsonw_kstr(w, "profile", sm_profile_name(p->profile.kind));
    su_jsonw_key(w, "account");
    account_json(w, v->redacted ? NULL : v->account);
    su_jsonw_kstr(w, "resolved_by", sm_resolution_name(v->resolution));
    su_jsonw_kbool(w, "account_redacted", v->redacted);
    if (v->sid_owner && !v->redacted) {
        su_jsonw_key(w, "sid_owner");
        account_json(w, v->sid_owner);
    }
    su_jsonw_key(w, "certificate");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "subject", v->cert->subject.rfc4514);
    su_jsonw_kstr(w, "issuer", v->cert->issuer.rfc4514);
    su_jsonw_kstr(w, "serial", v->cert->serial);
    su_jsonw_kstr(w, "sha1", v->cert->sha1);
    su_jsonw_object_end(w);
    paths_json(w, p); /* the primary profile's */
    /* the verdict's own reasons, then the primary profile's */
    su_jsonw_key(w, "reasons");
    su_jsonw_array_begin(w);
    reasons_items(w, v->reasons, v->n_reasons);
    reasons_items(w, p->reasons, p->n_reasons);
    su_jsonw_array_end(w);
    su_jsonw_key(w, "profiles");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < v->n_profiles; i++)
        outcome_json(w, &v->profiles[i]);
    su_jsonw_array_end(w);
    su_jsonw_key(w, "ntauth");
    su_jsonw_object_begin(w);
    su_jsonw_kbool(w, "known", v->ntauth_known);
    if (v->ntauth_known)
        su_jsonw_kbool(w, "issuer_trusted", v->issuer_in_ntauth);
    else
        su_jsonw_knull(w, "issuer_trusted");
    su_jsonw_object_end(w);
    su_jsonw_kstr(w, "issuer_signature", sm_issuer_sig_name(v->issuer_signature));
    keycreds_json(w, v);
    remediation_json(w, &v->remediation);
    su_jsonw_kint(w, "directory_lookups", v->lookups);
    su_jsonw_object_end(w);
}

int sm_json_verdict(const struct sm_verdict *v, unsigned flags, char **ret_json)
{
    struct su_jsonw w;
    start(&w, flags);
    verdict_obj(&w, v);
    return finish(&w, ret_json);
}

int sm_json_account_status(const struct sm_account_status *s, unsigned flags, char **ret_json)
{
    struct su_jsonw w;
    start(&w, flags);
    su_jsonw_object_begin(&w);
    su_jsonw_key(&w, "account");
    account_json(&w, s->account);
    su_jsonw_kstr(&w, "status", sm_readiness_name(s->readiness));
    reasons_json(&w, s->reasons, s->n_reasons);
    su_jsonw_key(&w, "altsecurityidentities");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < s->n_altsec; i++)
        altsec_json(&w, s->altsec[i], NULL);
    su_jsonw_array_end(&w);
    su_jsonw_key(&w, "certificates");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < s->n_cert_verdicts; i++)
        verdict_obj(&w, s->cert_verdicts[i]);
    su_jsonw_array_end(&w);
    su_jsonw_key(&w, "profiles");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < s->n_profiles; i++)
        su_jsonw_string(&w, sm_profile_name(s->profiles[i].kind));
    su_jsonw_array_end(&w);
    su_jsonw_object_end(&w);
    return finish(&w, ret_json);
}

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

static void time_json(struct jsonw *w, time_t t)
{
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        jsonw_null(w);
    else
        jsonw_string(w, buf);
}

void account_json(struct jsonw *w, const struct sm_account *a)
{
    char sid[SM_SID_TEXT_MAX];
    if (!a) {
        jsonw_null(w);
        return;
    }
    jsonw_object_begin(w);
    jsonw_kstr(w, "dn", a->dn);
    jsonw_kstr(w, "sam", a->sam);
    jsonw_kstr(w, "upn", a->upn);
    jsonw_kstr(w, "sid", a->has_sid ? sm_sid_format(&a->sid, sid, sizeof(sid)) : NULL);
    jsonw_key(w, "created");
    if (a->has_created)
        time_json(w, a->created);
    else
        jsonw_null(w);
    jsonw_kbool(w, "enabled", !(a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE)));
    jsonw_kbool(w, "computer", a->is_computer);
    if (a->dns_host)
        jsonw_kstr(w, "dns_host_name", a->dns_host);
    jsonw_object_end(w);
}

static void kdc_error_json(struct jsonw *w, const struct sm_kdc_error *e)
{
    jsonw_key(w, "kdc_error");
    if (!e->code) {
        jsonw_null(w);
        return;
    }
    jsonw_object_begin(w);
    jsonw_kint(w, "code", e->code);
    jsonw_kstr(w, "name", e->name);
    jsonw_object_end(w);
}

static void event_obj(struct jsonw *w, const struct sm_event *e)
{
    jsonw_object_begin(w);
    jsonw_kint(w, "id", e->id);
    jsonw_kstr(w, "source", "Microsoft-Windows-Kerberos-Key-Distribution-Center");
    jsonw_kstr(w, "level", e->level);
    jsonw_kstr(w, "text", e->text);
    jsonw_object_end(w);
}

static void event_json(struct jsonw *w, const struct sm_event *e)
{
    jsonw_key(w, "event");
    if (!e->id)
        jsonw_null(w);
    else
        event_obj(w, e);
}

static void events_json(struct jsonw *w, const struct sm_profile_outcome *o)
{
    jsonw_key(w, "events");
    jsonw_array_begin(w);
    for (size_t i = 0; i < o->n_events; i++)
        event_obj(w, &o->events[i]);
    jsonw_array_end(w);
}

/* The DC settings an outcome was evaluated with, every default resolved. */
static void settings_json(struct jsonw *w, const struct sm_profile_outcome *o)
{
    const struct sm_profile *p = &o->profile;
    bool windows = p->kind != SM_PROFILE_SAMBA;
    char spec[SM_PROFILE_TEXT_MAX], day[16];

    jsonw_key(w, "settings");
    jsonw_object_begin(w);
    jsonw_kstr(w, "spec", sm_profile_format(p, spec, sizeof(spec)));
    if (windows) {
        struct tm tm;
        gmtime_r(&p->update, &tm);
        strftime(day, sizeof(day), "%Y-%m-%d", &tm);
        jsonw_kstr(w, "update", day);
        jsonw_kbool(w, "update_given", o->profile_update_given);
        jsonw_kbool(w, "use_subject_alt_name", p->use_subject_alt_name);
        jsonw_kint(w, "ntauth_policy_bypass", p->ntauth_bypass);
    } else {
        jsonw_knull(w, "update");
        jsonw_kbool(w, "update_given", false);
        jsonw_kbool(w, "use_subject_alt_name", true);
        jsonw_knull(w, "ntauth_policy_bypass");
    }
    jsonw_kbool(w, "reads_san_uri_sid", o->san_uri_sid);
    jsonw_kbool(w, "honours_x509_issuer_sid", o->issuer_sid_mapping);
    jsonw_object_end(w);
}

/* The elements of a reasons array (the caller opens and closes it). */
static void reasons_items(struct jsonw *w, const struct sm_reason *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        jsonw_object_begin(w);
        jsonw_kstr(w, "code", r[i].code);
        jsonw_kstr(w, "message", r[i].message);
        jsonw_object_end(w);
    }
}

static void reasons_json(struct jsonw *w, const struct sm_reason *r, size_t n)
{
    jsonw_key(w, "reasons");
    jsonw_array_begin(w);
    reasons_items(w, r, n);
    jsonw_array_end(w);
}

static void mapping_json(struct jsonw *w, const struct sm_profile_outcome *o)
{
    jsonw_key(w, "mapping");
    if (!o->mapping_strength) {
        jsonw_null(w);
        return;
    }
    jsonw_object_begin(w);
    jsonw_kstr(w, "strength", sm_strength_name(o->mapping_strength));
    jsonw_kstr(w, "method", o->mapping_method);
    jsonw_object_end(w);
}

static void paths_json(struct jsonw *w, const struct sm_profile_outcome *o)
{
    jsonw_key(w, "paths");
    jsonw_array_begin(w);
    for (size_t i = 0; i < o->n_paths; i++) {
        jsonw_object_begin(w);
        jsonw_kstr(w, "method", o->paths[i].method);
        jsonw_kstr(w, "strength", sm_strength_name(o->paths[i].strength));
        jsonw_kstr(w, "result", sm_path_result_name(o->paths[i].result));
        if (o->paths[i].detail)
            jsonw_kstr(w, "detail", o->paths[i].detail);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

void outcome_json(struct jsonw *w, const struct sm_profile_outcome *o)
{
    jsonw_object_begin(w);
    jsonw_kstr(w, "profile", sm_profile_name(o->profile.kind));
    jsonw_kint(w, "mode", o->profile.mode);
    jsonw_kint(w, "backdating_seconds", o->profile.backdating_s);
    settings_json(w, o);
    jsonw_kstr(w, "outcome", o->allow ? "allow" : "deny");
    kdc_error_json(w, &o->kdc_error);
    event_json(w, &o->event);
    events_json(w, o);
    mapping_json(w, o);
    paths_json(w, o);
    reasons_json(w, o->reasons, o->n_reasons);
    jsonw_object_end(w);
}

static void remediation_json(struct jsonw *w, const struct sm_remediation *r)
{
    jsonw_key(w, "remediation");
    jsonw_object_begin(w);
    jsonw_kstr(w, "altsecurityidentities", r->altsec_value);
    if (r->altsec_value_samba)
        jsonw_kstr(w, "altsecurityidentities_samba", r->altsec_value_samba);
    jsonw_key(w, "altsecurityidentities_alternatives");
    jsonw_array_begin(w);
    for (size_t i = 0; i < ARRAY_SIZE(r->altsec_alternatives); i++)
        if (r->altsec_alternatives[i])
            jsonw_string(w, r->altsec_alternatives[i]);
    jsonw_array_end(w);
    jsonw_key(w, "reissue");
    jsonw_object_begin(w);
    jsonw_kstr(w, "likely_issuer", r->likely_issuer);
    jsonw_kstr(w, "likely_issuer_why", r->likely_issuer_why);
    jsonw_kstr(w, "adcs", r->reissue_adcs);
    jsonw_kstr(w, "intune_pkcs", r->reissue_intune_pkcs);
    jsonw_kstr(w, "intune_scep", r->reissue_scep);
    jsonw_kstr(w, "other_ca", r->reissue_other_ca);
    jsonw_kstr(w, "sid_extension_der_base64", r->sid_extension_der_base64);
    jsonw_kstr(w, "sid_uri", r->sid_uri);
    jsonw_object_end(w);
    jsonw_kstr(w, "blocked_by", r->blocked_by);
    jsonw_kstr(w, "powershell", r->powershell);
    jsonw_key(w, "steps");
    str_array(w, r->steps, r->n_steps);
    jsonw_object_end(w);
}

/* The account's key trust credentials (msDS-KeyCredentialLink), and which holds the key. */
static void keycreds_json(struct jsonw *w, const struct sm_verdict *v)
{
    jsonw_key(w, "key_credentials");
    jsonw_array_begin(w);
    for (size_t i = 0; i < v->n_keycreds && !v->redacted; i++) {
        const struct sm_keycred *k = v->keycreds[i].cred;
        jsonw_object_begin(w);
        jsonw_kbool(w, "matches", v->keycreds[i].matches);
        jsonw_kbool(w, "valid", k->valid);
        jsonw_kstr(w, "invalid_reason", k->invalid_reason);
        jsonw_kstr(w, "usage", k->usage_name);
        jsonw_kstr(w, "source", k->source_name);
        jsonw_kstr(w, "device_id", k->device_id);
        jsonw_kstr(w, "created", k->created);
        jsonw_kstr(w, "key_id", k->key_id);
        jsonw_kstr(w, "key_format", k->key_format);
        jsonw_kint(w, "key_bits", k->key_bits);
        jsonw_kstr(w, "key_error", k->key_error);
        jsonw_kbool(w, "logon_key", k->logon_key);
        jsonw_kbool(w, "samba_usable", k->samba_usable);
        findings_json(w, &k->findings);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

static void verdict_obj(struct jsonw *w, const struct sm_verdict *v)
{
    const struct sm_profile_outcome *p = v->primary;
    jsonw_object_begin(w);
    jsonw_kstr(w, "outcome", v->allow ? "allow" : "deny");
    kdc_error_json(w, &p->kdc_error);
    event_json(w, &p->event);
    events_json(w, p);
    mapping_json(w, p);
    jsonw_kstr(w, "profile", sm_profile_name(p->profile.kind));
    jsonw_key(w, "account");
    account_json(w, v->redacted ? NULL : v->account);
    jsonw_kstr(w, "resolved_by", sm_resolution_name(v->resolution));
    jsonw_kbool(w, "account_redacted", v->redacted);
    if (v->sid_owner && !v->redacted) {
        jsonw_key(w, "sid_owner");
        account_json(w, v->sid_owner);
    }
    jsonw_key(w, "certificate");
    jsonw_object_begin(w);
    jsonw_kstr(w, "subject", v->cert->subject.rfc4514);
    jsonw_kstr(w, "issuer", v->cert->issuer.rfc4514);
    jsonw_kstr(w, "serial", v->cert->serial);
    jsonw_kstr(w, "sha1", v->cert->sha1);
    jsonw_object_end(w);
    paths_json(w, p); /* the primary profile's */
    /* the verdict's own reasons, then the primary profile's */
    jsonw_key(w, "reasons");
    jsonw_array_begin(w);
    reasons_items(w, v->reasons, v->n_reasons);
    reasons_items(w, p->reasons, p->n_reasons);
    jsonw_array_end(w);
    jsonw_key(w, "profiles");
    jsonw_array_begin(w);
    for (size_t i = 0; i < v->n_profiles; i++)
        outcome_json(w, &v->profiles[i]);
    jsonw_array_end(w);
    jsonw_key(w, "ntauth");
    jsonw_object_begin(w);
    jsonw_kbool(w, "known", v->ntauth_known);
    if (v->ntauth_known)
        jsonw_kbool(w, "issuer_trusted", v->issuer_in_ntauth);
    else
        jsonw_knull(w, "issuer_trusted");
    jsonw_object_end(w);
    jsonw_kstr(w, "issuer_signature", sm_issuer_sig_name(v->issuer_signature));
    keycreds_json(w, v);
    remediation_json(w, &v->remediation);
    jsonw_kint(w, "directory_lookups", v->lookups);
    jsonw_object_end(w);
}

int sm_json_verdict(const struct sm_verdict *v, unsigned flags, char **ret_json)
{
    struct jsonw w;
    start(&w, flags);
    verdict_obj(&w, v);
    return finish(&w, ret_json);
}

int sm_json_account_status(const struct sm_account_status *s, unsigned flags, char **ret_json)
{
    struct jsonw w;
    start(&w, flags);
    jsonw_object_begin(&w);
    jsonw_key(&w, "account");
    account_json(&w, s->account);
    jsonw_kstr(&w, "status", sm_readiness_name(s->readiness));
    reasons_json(&w, s->reasons, s->n_reasons);
    jsonw_key(&w, "altsecurityidentities");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < s->n_altsec; i++)
        altsec_json(&w, s->altsec[i], NULL);
    jsonw_array_end(&w);
    jsonw_key(&w, "certificates");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < s->n_cert_verdicts; i++)
        verdict_obj(&w, s->cert_verdicts[i]);
    jsonw_array_end(&w);
    jsonw_key(&w, "profiles");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < s->n_profiles; i++)
        jsonw_string(&w, sm_profile_name(s->profiles[i].kind));
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    return finish(&w, ret_json);
}

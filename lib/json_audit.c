/*
 * lib/json_audit.c - the audit's JSON lines (strongmap/audit.h, docs/audit.md): one compact
 * object per account, the error line of an account that could not be audited, and the totals.
 * The schema is openapi/strongmapd.yaml's AuditAccount, AuditError and AuditSummary.
 */
#include <time.h>

#include <strongmap/strongmap.h>

#include "json_internal.h"
#include "util.h"

static void time_or_null(struct jsonw *w, bool has, time_t t)
{
    struct tm tm;
    char buf[32];
    if (!has || !gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        jsonw_null(w);
    else
        jsonw_string(w, buf);
}

/* The account's identity: the members every line of an account starts with. */
static void identity(struct jsonw *w, const struct sm_account *a)
{
    char sid[SM_SID_TEXT_MAX];
    jsonw_kstr(w, "dn", a->dn);
    jsonw_kstr(w, "sam", a->sam);
    jsonw_kstr(w, "upn", a->upn);
    jsonw_kstr(w, "sid", a->has_sid ? sm_sid_format(&a->sid, sid, sizeof(sid)) : NULL);
    jsonw_kbool(w, "computer", a->is_computer);
    jsonw_kbool(w, "enabled", !(a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE)));
    jsonw_key(w, "when_changed");
    time_or_null(w, a->has_changed, a->changed);
}

/* @source: the file a given certificate came from, NULL for a published one. */
static void certificate(struct jsonw *w, const struct sm_verdict *v, const char *source)
{
    jsonw_object_begin(w);
    jsonw_kstr(w, "source", source ? "given" : "published");
    jsonw_kstr(w, "file", source);
    jsonw_kstr(w, "subject", v->cert->subject.rfc4514);
    jsonw_kstr(w, "issuer", v->cert->issuer.rfc4514);
    jsonw_kstr(w, "serial", v->cert->serial);
    jsonw_kstr(w, "sha1", v->cert->sha1);
    jsonw_kstr(w, "not_after", v->cert->not_after);
    jsonw_kstr(w, "verdict", v->allow ? "allow" : "deny");
    jsonw_key(w, "profiles");
    jsonw_array_begin(w);
    for (size_t i = 0; i < v->n_profiles; i++) {
        const struct sm_profile_outcome *o = &v->profiles[i];
        jsonw_object_begin(w);
        jsonw_kstr(w, "profile", sm_profile_name(o->profile.kind));
        jsonw_kstr(w, "verdict", o->allow ? "allow" : "deny");
        jsonw_kstr(w, "mapping_strength",
                   o->mapping_strength ? sm_strength_name(o->mapping_strength) : NULL);
        jsonw_kstr(w, "kdc_error", o->kdc_error.code ? o->kdc_error.name : NULL);
        if (o->event.id)
            jsonw_kint(w, "event", o->event.id);
        else
            jsonw_knull(w, "event");
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
    jsonw_object_end(w);
}

static void value(struct jsonw *w, const struct sm_audit_value *v)
{
    static const char *const kinds[] = { "mapping", "not_x509", "invalid" };
    const struct sm_altsec *a = v->altsec;
    bool mapping = a->kind == SM_ALTSEC_MAPPING;

    jsonw_object_begin(w);
    jsonw_kstr(w, "value", a->value);
    jsonw_kstr(w, "kind", kinds[a->kind]);
    jsonw_kstr(w, "type", mapping ? sm_map_type_name(a->type) : NULL);
    jsonw_kstr(w, "strength", mapping ? (a->strong ? "strong" : "weak") : NULL);
    jsonw_kstr(w, "readers", sm_audit_readers_name(v->readers));
    if (v->certs_known) {
        jsonw_kbool(w, "matches_windows", v->matches_windows);
        jsonw_kbool(w, "matches_samba", v->matches_samba);
    } else {
        jsonw_knull(w, "matches_windows");
        jsonw_knull(w, "matches_samba");
    }
    jsonw_kbool(w, "stale", v->stale);
    jsonw_kbool(w, "duplicate", v->duplicate);
    jsonw_key(w, "holders");
    str_array(w, v->holders, v->n_holders);
    findings_json(w, &a->findings);
    jsonw_object_end(w);
}

int sm_json_audit_record(const struct sm_audit_record *rec, unsigned flags, char **ret_json)
{
    const struct sm_account_status *s = rec->status;
    struct jsonw w;

    start(&w, flags);
    jsonw_object_begin(&w);
    identity(&w, s->account);
    jsonw_kstr(&w, "status", sm_readiness_name(s->readiness));
    jsonw_key(&w, "reasons");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < s->n_reasons; i++) {
        jsonw_object_begin(&w);
        jsonw_kstr(&w, "code", s->reasons[i].code);
        jsonw_kstr(&w, "message", s->reasons[i].message);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    jsonw_key(&w, "profiles");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < rec->n_profiles; i++) {
        jsonw_object_begin(&w);
        jsonw_kstr(&w, "profile", sm_profile_name(s->profiles[i].kind));
        jsonw_kstr(&w, "status", sm_readiness_name(rec->profile_readiness[i]));
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    jsonw_key(&w, "certificates");
    jsonw_array_begin(&w);
    size_t n_published = s->n_cert_verdicts - s->n_given;
    for (size_t i = 0; i < s->n_cert_verdicts; i++)
        certificate(&w, s->cert_verdicts[i],
                    i < n_published ? NULL : rec->given_sources[i - n_published]);
    jsonw_array_end(&w);
    jsonw_kint(&w, "given_not_evaluated", (int64_t)rec->n_given_skipped);
    jsonw_key(&w, "altsecurityidentities");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < rec->n_values; i++)
        value(&w, &rec->values[i]);
    jsonw_array_end(&w);
    jsonw_kint(&w, "duplicates", (int64_t)rec->n_duplicates);
    jsonw_kint(&w, "stale", (int64_t)rec->n_stale);
    jsonw_kint(&w, "samba_only", (int64_t)rec->n_samba_only);
    jsonw_kint(&w, "windows_only", (int64_t)rec->n_windows_only);
    jsonw_key(&w, "fix");
    str_array(&w, rec->fixes, rec->n_fixes);
    jsonw_object_end(&w);
    return finish(&w, ret_json);
}

int sm_json_audit_error(const struct sm_account *acc, int code, const char *message, unsigned flags,
                        char **ret_json)
{
    struct jsonw w;
    start(&w, flags);
    jsonw_object_begin(&w);
    identity(&w, acc);
    jsonw_kstr(&w, "status", "error");
    jsonw_key(&w, "error");
    jsonw_object_begin(&w);
    jsonw_kstr(&w, "code", sm_audit_error_name(code));
    jsonw_kstr(&w, "message", message && message[0] ? message : sm_strerror(code));
    jsonw_object_end(&w);
    jsonw_object_end(&w);
    return finish(&w, ret_json);
}

int sm_json_audit_summary(const struct sm_audit_totals *t, bool partial, const char *why,
                          unsigned flags, char **ret_json)
{
    struct jsonw w;
    start(&w, flags);
    jsonw_object_begin(&w);
    jsonw_kbool(&w, "summary", true);
    jsonw_kbool(&w, "partial", partial);
    jsonw_kstr(&w, "stopped_by", partial ? why : NULL);
    jsonw_kint(&w, "accounts", (int64_t)t->accounts);
    jsonw_kint(&w, "ready", (int64_t)t->ready);
    jsonw_kint(&w, "at_risk", (int64_t)t->at_risk);
    jsonw_kint(&w, "blocked", (int64_t)t->blocked);
    jsonw_kint(&w, "errors", (int64_t)t->errors);
    jsonw_kint(&w, "certificates", (int64_t)t->certificates);
    jsonw_kint(&w, "values", (int64_t)t->values);
    jsonw_kint(&w, "duplicate_values", (int64_t)t->duplicate_values);
    jsonw_kint(&w, "stale_values", (int64_t)t->stale_values);
    jsonw_kint(&w, "samba_only_values", (int64_t)t->samba_only_values);
    jsonw_kint(&w, "windows_only_values", (int64_t)t->windows_only_values);
    jsonw_key(&w, "given");
    if (!t->certs_given) {
        jsonw_null(&w);
    } else {
        jsonw_object_begin(&w);
        jsonw_kint(&w, "certificates", (int64_t)t->given);
        jsonw_kint(&w, "matched", (int64_t)t->given_matched);
        jsonw_kint(&w, "unmatched", (int64_t)t->given_unmatched);
        jsonw_kint(&w, "repeated", (int64_t)t->given_repeated);
        jsonw_kint(&w, "expired", (int64_t)t->given_expired);
        jsonw_kint(&w, "unreadable", (int64_t)t->given_unreadable);
        jsonw_object_end(&w);
    }
    jsonw_object_end(&w);
    return finish(&w, ret_json);
}

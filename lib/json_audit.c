/*
 * lib/json_audit.c - the audit's JSON lines (strongmap/audit.h, docs/audit.md): one compact
 * object per account, the error line of an account that could not be audited, and the totals.
 * The schema is openapi/strongmapd.yaml's AuditAccount, AuditError and AuditSummary.
 */
#include <time.h>

#include <strongmap/strongmap.h>

#include "json_internal.h"
#include "util.h"

static void time_or_null(struct su_jsonw *w, bool has, time_t t)
{
    struct tm tm;
    char buf[32];
    if (!has || !gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        su_jsonw_null(w);
    else
        su_jsonw_string(w, buf);
}

/* The account's identity: the members every line of an account starts with. */
static void identity(struct su_jsonw *w, const struct sm_account *a)
{
    char sid[SM_SID_TEXT_MAX];
    su_jsonw_kstr(w, "dn", a->dn);
    su_jsonw_kstr(w, "sam", a->sam);
    su_jsonw_kstr(w, "upn", a->upn);
    su_jsonw_kstr(w, "sid", a->has_sid ? sm_sid_format(&a->sid, sid, sizeof(sid)) : NULL);
    su_jsonw_kbool(w, "computer", a->is_computer);
    su_jsonw_kbool(w, "enabled", !(a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE)));
    su_jsonw_key(w, "when_changed");
    time_or_null(w, a->has_changed, a->changed);
}

/* @source: the file a given certificate came from, NULL for a published one. */
static void certificate(struct su_jsonw *w, const struct sm_verdict *v, const char *source)
{
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "source", source ? "given" : "published");
    su_jsonw_kstr(w, "file", source);
    su_jsonw_kstr(w, "subject", v->cert->subject.rfc4514);
    su_jsonw_kstr(w, "issuer", v->cert->issuer.rfc4514);
    su_jsonw_kstr(w, "serial", v->cert->serial);
    su_jsonw_kstr(w, "sha1", v->cert->sha1);
    su_jsonw_kstr(w, "not_after", v->cert->not_after);
    su_jsonw_kstr(w, "verdict", v->allow ? "allow" : "deny");
    su_jsonw_key(w, "profiles");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < v->n_profiles; i++) {
        const struct sm_profile_outcome *o = &v->profiles[i];
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "profile", sm_profile_name(o->profile.kind));
        su_jsonw_kstr(w, "verdict", o->allow ? "allow" : "deny");
        su_jsonw_kstr(w, "mapping_strength",
                      o->mapping_strength ? sm_strength_name(o->mapping_strength) : NULL);
        su_jsonw_kstr(w, "kdc_error", o->kdc_error.code ? o->kdc_error.name : NULL);
        if (o->event.id)
            su_jsonw_kint(w, "event", o->event.id);
        else
            su_jsonw_knull(w, "event");
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
    su_jsonw_object_end(w);
}

static void value(struct su_jsonw *w, const struct sm_audit_value *v)
{
    static const char *const kinds[] = { "mapping", "not_x509", "invalid" };
    const struct sm_altsec *a = v->altsec;
    bool mapping = a->kind == SM_ALTSEC_MAPPING;

    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "value", a->value);
    su_jsonw_kstr(w, "kind", kinds[a->kind]);
    su_jsonw_kstr(w, "type", mapping ? sm_map_type_name(a->type) : NULL);
    su_jsonw_kstr(w, "strength", mapping ? (a->strong ? "strong" : "weak") : NULL);
    su_jsonw_kstr(w, "readers", sm_audit_readers_name(v->readers));
    if (v->certs_known) {
        su_jsonw_kbool(w, "matches_windows", v->matches_windows);
        su_jsonw_kbool(w, "matches_samba", v->matches_samba);
    } else {
        su_jsonw_knull(w, "matches_windows");
        su_jsonw_knull(w, "matches_samba");
    }
    su_jsonw_kbool(w, "stale", v->stale);
    su_jsonw_kbool(w, "duplicate", v->duplicate);
    su_jsonw_key(w, "holders");
    str_array(w, v->holders, v->n_holders);
    findings_json(w, &a->findings);
    su_jsonw_object_end(w);
}

int sm_json_audit_record(const struct sm_audit_record *rec, unsigned flags, char **ret_json)
{
    const struct sm_account_status *s = rec->status;
    struct su_jsonw w;

    start(&w, flags);
    su_jsonw_object_begin(&w);
    identity(&w, s->account);
    su_jsonw_kstr(&w, "status", sm_readiness_name(s->readiness));
    su_jsonw_key(&w, "reasons");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < s->n_reasons; i++) {
        su_jsonw_object_begin(&w);
        su_jsonw_kstr(&w, "code", s->reasons[i].code);
        su_jsonw_kstr(&w, "message", s->reasons[i].message);
        su_jsonw_object_end(&w);
    }
    su_jsonw_array_end(&w);
    su_jsonw_key(&w, "profiles");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < rec->n_profiles; i++) {
        su_jsonw_object_begin(&w);
        su_jsonw_kstr(&w, "profile", sm_profile_name(s->profiles[i].kind));
        su_jsonw_kstr(&w, "status", sm_readiness_name(rec->profile_readiness[i]));
        su_jsonw_object_end(&w);
    }
    su_jsonw_array_end(&w);
    su_jsonw_key(&w, "certificates");
    su_jsonw_array_begin(&w);
    size_t n_published = s->n_cert_verdicts - s->n_given;
    for (size_t i = 0; i < s->n_cert_verdicts; i++)
        certificate(&w, s->cert_verdicts[i],
                    i < n_published ? NULL : rec->given_sources[i - n_published]);
    su_jsonw_array_end(&w);
    su_jsonw_kint(&w, "given_not_evaluated", (int64_t)rec->n_given_skipped);
    su_jsonw_key(&w, "altsecurityidentities");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < rec->n_values; i++)
        value(&w, &rec->values[i]);
    su_jsonw_array_end(&w);
    su_jsonw_kint(&w, "duplicates", (int64_t)rec->n_duplicates);
    su_jsonw_kint(&w, "stale", (int64_t)rec->n_stale);
    su_jsonw_kint(&w, "samba_only", (int64_t)rec->n_samba_only);
    su_jsonw_kint(&w, "windows_only", (int64_t)rec->n_windows_only);
    su_jsonw_key(&w, "fix");
    str_array(&w, rec->fixes, rec->n_fixes);
    su_jsonw_object_end(&w);
    return finish(&w, ret_json);
}

int sm_json_audit_error(const struct sm_account *acc, int code, const char *message, unsigned flags,
                        char **ret_json)
{
    struct su_jsonw w;
    start(&w, flags);
    su_jsonw_object_begin(&w);
    identity(&w, acc);
    su_jsonw_kstr(&w, "status", "error");
    su_jsonw_key(&w, "error");
    su_jsonw_object_begin(&w);
    su_jsonw_kstr(&w, "code", sm_audit_error_name(code));
    su_jsonw_kstr(&w, "message", message && message[0] ? message : sm_strerror(code));
    su_jsonw_object_end(&w);
    su_jsonw_object_end(&w);
    return finish(&w, ret_json);
}

int sm_json_audit_summary(const struct sm_audit_totals *t, bool partial, const char *why,
                          unsigned flags, char **ret_json)
{
    struct su_jsonw w;
    start(&w, flags);
    su_jsonw_object_begin(&w);
    su_jsonw_kbool(&w, "summary", true);
    su_jsonw_kbool(&w, "partial", partial);
    su_jsonw_kstr(&w, "stopped_by", partial ? why : NULL);
    su_jsonw_kint(&w, "accounts", (int64_t)t->accounts);
    su_jsonw_kint(&w, "ready", (int64_t)t->ready);
    su_jsonw_kint(&w, "at_risk", (int64_t)t->at_risk);
    su_jsonw_kint(&w, "blocked", (int64_t)t->blocked);
    su_jsonw_kint(&w, "errors", (int64_t)t->errors);
    su_jsonw_kint(&w, "certificates", (int64_t)t->certificates);
    su_jsonw_kint(&w, "values", (int64_t)t->values);
    su_jsonw_kint(&w, "duplicate_values", (int64_t)t->duplicate_values);
    su_jsonw_kint(&w, "stale_values", (int64_t)t->stale_values);
    su_jsonw_kint(&w, "samba_only_values", (int64_t)t->samba_only_values);
    su_jsonw_kint(&w, "windows_only_values", (int64_t)t->windows_only_values);
    su_jsonw_key(&w, "given");
    if (!t->certs_given) {
        su_jsonw_null(&w);
    } else {
        su_jsonw_object_begin(&w);
        su_jsonw_kint(&w, "certificates", (int64_t)t->given);
        su_jsonw_kint(&w, "matched", (int64_t)t->given_matched);
        su_jsonw_kint(&w, "unmatched", (int64_t)t->given_unmatched);
        su_jsonw_kint(&w, "repeated", (int64_t)t->given_repeated);
        su_jsonw_kint(&w, "expired", (int64_t)t->given_expired);
        su_jsonw_kint(&w, "unreadable", (int64_t)t->given_unreadable);
        su_jsonw_object_end(&w);
    }
    su_jsonw_object_end(&w);
    return finish(&w, ret_json);
}

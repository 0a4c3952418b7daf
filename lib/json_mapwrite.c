/*
 * lib/json_mapwrite.c - the documents of mapping write-back (strongmap/mapwrite.h): the plan or
 * write as `strongmap map` prints it and the API answers it, and one audit log line.
 */
#include <stdio.h>
#include <time.h>

#include <strongmap/mapwrite.h>

#include "json_internal.h"
#include "util.h"

static void account_brief(struct su_jsonw *w, const struct sm_account *a)
{
    char st[SM_SID_TEXT_MAX];

    su_jsonw_key(w, "account");
    if (!a) {
        su_jsonw_null(w);
        return;
    }
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "dn", a->dn);
    su_jsonw_kstr(w, "sam", a->sam);
    su_jsonw_kstr(w, "upn", a->upn);
    su_jsonw_kstr(w, "sid", a->has_sid ? sm_sid_format(&a->sid, st, sizeof(st)) : NULL);
    su_jsonw_object_end(w);
}

static void refusal_json(struct su_jsonw *w, const struct sm_mapwrite *m)
{
    su_jsonw_key(w, "refusal");
    if (m->outcome != SM_MAPWRITE_REFUSED) {
        su_jsonw_null(w);
        return;
    }
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "code", m->refusal.code);
    su_jsonw_kstr(w, "message", m->refusal.message);
    su_jsonw_key(w, "holders");
    str_array(w, m->refusal.holders, m->refusal.n_holders);
    su_jsonw_object_end(w);
}

int sm_json_mapwrite(const struct sm_mapwrite *m, bool apply, unsigned flags, char **ret_json)
{
    struct su_jsonw w;

    start(&w, flags);
    su_jsonw_object_begin(&w);
    su_jsonw_kstr(&w, "operation", sm_mapwrite_op_name(m->op));
    su_jsonw_kbool(&w, "apply", apply);
    su_jsonw_kstr(&w, "outcome", sm_mapwrite_outcome_name(m->outcome));
    su_jsonw_kbool(&w, "changed",
                   m->outcome == SM_MAPWRITE_ADDED || m->outcome == SM_MAPWRITE_REMOVED);
    account_brief(&w, m->account);
    su_jsonw_kstr(&w, "type", m->type_known ? sm_map_type_name(m->type) : NULL);
    su_jsonw_kstr(&w, "value", m->value);
    su_jsonw_key(&w, "old_values");
    str_array(&w, m->old_values, m->n_old);
    su_jsonw_kstr(&w, "certificate_sid", m->cert_sid);
    su_jsonw_kbool(&w, "foreign_sid_allowed", m->foreign_sid_allowed);
    refusal_json(&w, m);
    su_jsonw_kstr(&w, "error", m->error);
    su_jsonw_kstr(&w, "after_failure", m->after);
    findings_json(&w, &m->findings);
    su_jsonw_object_end(&w);
    return finish(&w, ret_json);
}

int sm_json_mapwrite_audit(const struct sm_mapwrite *m, const char *phase, const char *id,
                           time_t when, const struct sm_mapwrite_actor *who, char **ret_json)
{
    struct su_jsonw w;
    struct tm tm;
    char t[32] = "";

    if (gmtime_r(&when, &tm))
        strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
    start(&w, 0);
    su_jsonw_object_begin(&w);
    su_jsonw_kstr(&w, "time", t);
    su_jsonw_kstr(&w, "phase", phase);
    su_jsonw_kstr(&w, "id", id);
    su_jsonw_key(&w, "actor");
    su_jsonw_object_begin(&w);
    su_jsonw_kstr(&w, "kind", who ? who->kind : NULL);
    su_jsonw_kstr(&w, "name", who ? who->name : NULL);
    su_jsonw_kstr(&w, "client", who ? who->client : NULL);
    su_jsonw_object_end(&w);
    su_jsonw_kstr(&w, "operation", sm_mapwrite_op_name(m->op));
    su_jsonw_kstr(&w, "account", m->account ? m->account->dn : NULL);
    su_jsonw_key(&w, "old_values");
    str_array(&w, m->old_values, m->n_old);
    su_jsonw_kstr(&w, "type", m->type_known ? sm_map_type_name(m->type) : NULL);
    su_jsonw_kstr(&w, "value", m->value);
    su_jsonw_kstr(&w, "outcome", sm_mapwrite_outcome_name(m->outcome));
    su_jsonw_kstr(&w, "refusal", m->outcome == SM_MAPWRITE_REFUSED ? m->refusal.code : NULL);
    su_jsonw_kbool(&w, "foreign_sid_allowed", m->foreign_sid_allowed);
    su_jsonw_kstr(&w, "error", m->error);
    su_jsonw_kstr(&w, "after_failure", m->after);
    su_jsonw_object_end(&w);
    return finish(&w, ret_json);
}

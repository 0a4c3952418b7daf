/*
 * lib/json_mapwrite.c - the documents of mapping write-back (strongmap/mapwrite.h): the plan or
 * write as `strongmap map` prints it and the API answers it, and one audit log line.
 */
#include <stdio.h>
#include <time.h>

#include <strongmap/mapwrite.h>

#include "json_internal.h"
#include "util.h"

static void account_brief(struct jsonw *w, const struct sm_account *a)
{
    char st[SM_SID_TEXT_MAX];

    jsonw_key(w, "account");
    if (!a) {
        jsonw_null(w);
        return;
    }
    jsonw_object_begin(w);
    jsonw_kstr(w, "dn", a->dn);
    jsonw_kstr(w, "sam", a->sam);
    jsonw_kstr(w, "upn", a->upn);
    jsonw_kstr(w, "sid", a->has_sid ? sm_sid_format(&a->sid, st, sizeof(st)) : NULL);
    jsonw_object_end(w);
}

static void refusal_json(struct jsonw *w, const struct sm_mapwrite *m)
{
    jsonw_key(w, "refusal");
    if (m->outcome != SM_MAPWRITE_REFUSED) {
        jsonw_null(w);
        return;
    }
    jsonw_object_begin(w);
    jsonw_kstr(w, "code", m->refusal.code);
    jsonw_kstr(w, "message", m->refusal.message);
    jsonw_key(w, "holders");
    str_array(w, m->refusal.holders, m->refusal.n_holders);
    jsonw_object_end(w);
}

int sm_json_mapwrite(const struct sm_mapwrite *m, bool apply, unsigned flags, char **ret_json)
{
    struct jsonw w;

    start(&w, flags);
    jsonw_object_begin(&w);
    jsonw_kstr(&w, "operation", sm_mapwrite_op_name(m->op));
    jsonw_kbool(&w, "apply", apply);
    jsonw_kstr(&w, "outcome", sm_mapwrite_outcome_name(m->outcome));
    jsonw_kbool(&w, "changed",
                m->outcome == SM_MAPWRITE_ADDED || m->outcome == SM_MAPWRITE_REMOVED);
    account_brief(&w, m->account);
    jsonw_kstr(&w, "type", m->type_known ? sm_map_type_name(m->type) : NULL);
    jsonw_kstr(&w, "value", m->value);
    jsonw_key(&w, "old_values");
    str_array(&w, m->old_values, m->n_old);
    jsonw_kstr(&w, "certificate_sid", m->cert_sid);
    jsonw_kbool(&w, "foreign_sid_allowed", m->foreign_sid_allowed);
    refusal_json(&w, m);
    jsonw_kstr(&w, "error", m->error);
    jsonw_kstr(&w, "after_failure", m->after);
    findings_json(&w, &m->findings);
    jsonw_object_end(&w);
    return finish(&w, ret_json);
}

int sm_json_mapwrite_audit(const struct sm_mapwrite *m, const char *phase, const char *id,
                           time_t when, const struct sm_mapwrite_actor *who, char **ret_json)
{
    struct jsonw w;
    struct tm tm;
    char t[32] = "";

    if (gmtime_r(&when, &tm))
        strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", &tm);
    jsonw_init(&w, 0);
    jsonw_object_begin(&w);
    jsonw_kstr(&w, "time", t);
    jsonw_kstr(&w, "phase", phase);
    jsonw_kstr(&w, "id", id);
    jsonw_key(&w, "actor");
    jsonw_object_begin(&w);
    jsonw_kstr(&w, "kind", who ? who->kind : NULL);
    jsonw_kstr(&w, "name", who ? who->name : NULL);
    jsonw_kstr(&w, "client", who ? who->client : NULL);
    jsonw_object_end(&w);
    jsonw_kstr(&w, "operation", sm_mapwrite_op_name(m->op));
    jsonw_kstr(&w, "account", m->account ? m->account->dn : NULL);
    jsonw_key(&w, "old_values");
    str_array(&w, m->old_values, m->n_old);
    jsonw_kstr(&w, "type", m->type_known ? sm_map_type_name(m->type) : NULL);
    jsonw_kstr(&w, "value", m->value);
    jsonw_kstr(&w, "outcome", sm_mapwrite_outcome_name(m->outcome));
    jsonw_kstr(&w, "refusal", m->outcome == SM_MAPWRITE_REFUSED ? m->refusal.code : NULL);
    jsonw_kbool(&w, "foreign_sid_allowed", m->foreign_sid_allowed);
    jsonw_kstr(&w, "error", m->error);
    jsonw_kstr(&w, "after_failure", m->after);
    jsonw_object_end(&w);
    return finish(&w, ret_json);
}

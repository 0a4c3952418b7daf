/*
 * lib/json_events.c - the KDC event explanation document (sm_json_events(), strongmap explain;
 * docs/explain.md describes it). Strings from the events were checked as UTF-8 when read.
 */
#include <strongmap/events.h>
#include <strongmap/json.h>

#include "json_internal.h"
#include "util.h"

static void fields_json(struct su_jsonw *w, const struct sm_kdc_event *e)
{
    su_jsonw_key(w, "fields");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "user", e->user);
    su_jsonw_kstr(w, "domain", e->domain);
    su_jsonw_kstr(w, "subject", e->subject);
    su_jsonw_kstr(w, "issuer", e->issuer);
    su_jsonw_kstr(w, "serial", e->serial);
    su_jsonw_kstr(w, "thumbprint", e->thumbprint);
    su_jsonw_kstr(w, "issued", e->issued);
    su_jsonw_kstr(w, "account_created", e->created);
    su_jsonw_kstr(w, "user_sid", e->user_sid);
    su_jsonw_kstr(w, "certificate_sid", e->cert_sid);
    su_jsonw_kstr(w, "chain_status", e->status);
    su_jsonw_object_end(w);
}

static void lookup_json(struct su_jsonw *w, const struct sm_event_explanation *x)
{
    const struct sm_account *a = x->account;
    char sid[SM_SID_TEXT_MAX];

    su_jsonw_key(w, "account");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "lookup", sm_explain_lookup_name(x->lookup));
    if (a) {
        su_jsonw_kstr(w, "dn", a->dn);
        su_jsonw_kstr(w, "sam", a->sam);
        su_jsonw_kstr(w, "upn", a->upn);
        su_jsonw_kstr(w, "sid", a->has_sid ? sm_sid_format(&a->sid, sid, sizeof(sid)) : NULL);
        su_jsonw_kbool(w, "enabled", !(a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE)));
        su_jsonw_kbool(w, "computer", a->is_computer);
    }
    su_jsonw_object_end(w);
}

static void event_json(struct su_jsonw *w, const struct sm_event_explanation *x, size_t index)
{
    const struct sm_kdc_event *e = x->event;

    su_jsonw_object_begin(w);
    su_jsonw_kint(w, "index", (int64_t)index);
    su_jsonw_kint(w, "id", e->id);
    su_jsonw_kstr(w, "level", e->level);
    su_jsonw_kstr(w, "time", e->time);
    su_jsonw_kstr(w, "computer", e->computer);
    su_jsonw_kint(w, "line", e->line);
    fields_json(w, e);
    su_jsonw_kstr(w, "code", x->code);
    su_jsonw_kstr(w, "summary", x->summary);
    su_jsonw_kstr(w, "why", x->why);
    su_jsonw_key(w, "certificate");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "issuer_ad", x->issuer_ad);
    su_jsonw_kstr(w, "serial_reversed", x->serial_reversed);
    su_jsonw_kstr(w, "X509IssuerSerialNumber", x->issuer_serial);
    su_jsonw_kstr(w, "X509SHA1PublicKey", x->sha1_pukey);
    su_jsonw_kbool(w, "from_published_certificate", x->from_certificate);
    su_jsonw_object_end(w);
    lookup_json(w, x);
    su_jsonw_kstr(w, "holds", x->holds);
    su_jsonw_kstr(w, "sid_owner", x->sid_owner);
    su_jsonw_key(w, "fix");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "text", x->fix);
    su_jsonw_kstr(w, "altsecurityidentities", x->fix_value);
    su_jsonw_kstr(w, "command", x->fix_command);
    su_jsonw_kstr(w, "reissue", x->reissue);
    su_jsonw_object_end(w);
    findings_json(w, &x->findings);
    su_jsonw_object_end(w);
}

static void groups_json(struct su_jsonw *w, const struct sm_event_group *g, size_t n, bool ca)
{
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < n; i++) {
        su_jsonw_object_begin(w);
        if (ca)
            su_jsonw_kstr(w, "issuer", g[i].key);
        else
            su_jsonw_kstr(w, "account", g[i].key);
        su_jsonw_key(w, "events");
        su_jsonw_array_begin(w);
        for (size_t k = 0; k < g[i].n; k++)
            su_jsonw_int(w, (int64_t)g[i].events[k]);
        su_jsonw_array_end(w);
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
}

int sm_json_events(const struct sm_events_explanation *x, unsigned flags, char **ret_json)
{
    struct su_jsonw w;
    start(&w, flags);
    su_jsonw_object_begin(&w);
    su_jsonw_key(&w, "events");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < x->n; i++)
        event_json(&w, &x->v[i], i);
    su_jsonw_array_end(&w);
    su_jsonw_key(&w, "by_account");
    groups_json(&w, x->by_account, x->n_accounts, false);
    su_jsonw_key(&w, "by_ca");
    groups_json(&w, x->by_ca, x->n_cas, true);
    su_jsonw_kint(&w, "skipped", (int64_t)x->skipped);
    su_jsonw_kstr(&w, "directory", x->directory);
    su_jsonw_kbool(&w, "ntauth_read", x->ntauth_read);
    su_jsonw_object_end(&w);
    return finish(&w, ret_json);
}

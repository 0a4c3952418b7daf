/*
 * lib/json_events.c - the KDC event explanation document (sm_json_events(), strongmap explain;
 * docs/explain.md describes it). Strings from the events were checked as UTF-8 when read.
 */
#include <strongmap/events.h>
#include <strongmap/json.h>

#include "json_internal.h"
#include "util.h"

static void fields_json(struct jsonw *w, const struct sm_kdc_event *e)
{
    jsonw_key(w, "fields");
    jsonw_object_begin(w);
    jsonw_kstr(w, "user", e->user);
    jsonw_kstr(w, "domain", e->domain);
    jsonw_kstr(w, "subject", e->subject);
    jsonw_kstr(w, "issuer", e->issuer);
    jsonw_kstr(w, "serial", e->serial);
    jsonw_kstr(w, "thumbprint", e->thumbprint);
    jsonw_kstr(w, "issued", e->issued);
    jsonw_kstr(w, "account_created", e->created);
    jsonw_kstr(w, "user_sid", e->user_sid);
    jsonw_kstr(w, "certificate_sid", e->cert_sid);
    jsonw_kstr(w, "chain_status", e->status);
    jsonw_object_end(w);
}

static void lookup_json(struct jsonw *w, const struct sm_event_explanation *x)
{
    const struct sm_account *a = x->account;
    char sid[SM_SID_TEXT_MAX];

    jsonw_key(w, "account");
    jsonw_object_begin(w);
    jsonw_kstr(w, "lookup", sm_explain_lookup_name(x->lookup));
    if (a) {
        jsonw_kstr(w, "dn", a->dn);
        jsonw_kstr(w, "sam", a->sam);
        jsonw_kstr(w, "upn", a->upn);
        jsonw_kstr(w, "sid", a->has_sid ? sm_sid_format(&a->sid, sid, sizeof(sid)) : NULL);
        jsonw_kbool(w, "enabled", !(a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE)));
        jsonw_kbool(w, "computer", a->is_computer);
    }
    jsonw_object_end(w);
}

static void event_json(struct jsonw *w, const struct sm_event_explanation *x, size_t index)
{
    const struct sm_kdc_event *e = x->event;

    jsonw_object_begin(w);
    jsonw_kint(w, "index", (int64_t)index);
    jsonw_kint(w, "id", e->id);
    jsonw_kstr(w, "level", e->level);
    jsonw_kstr(w, "time", e->time);
    jsonw_kstr(w, "computer", e->computer);
    jsonw_kint(w, "line", e->line);
    fields_json(w, e);
    jsonw_kstr(w, "code", x->code);
    jsonw_kstr(w, "summary", x->summary);
    jsonw_kstr(w, "why", x->why);
    jsonw_key(w, "certificate");
    jsonw_object_begin(w);
    jsonw_kstr(w, "issuer_ad", x->issuer_ad);
    jsonw_kstr(w, "serial_reversed", x->serial_reversed);
    jsonw_kstr(w, "X509IssuerSerialNumber", x->issuer_serial);
    jsonw_kstr(w, "X509SHA1PublicKey", x->sha1_pukey);
    jsonw_kbool(w, "from_published_certificate", x->from_certificate);
    jsonw_object_end(w);
    lookup_json(w, x);
    jsonw_kstr(w, "holds", x->holds);
    jsonw_kstr(w, "sid_owner", x->sid_owner);
    jsonw_key(w, "fix");
    jsonw_object_begin(w);
    jsonw_kstr(w, "text", x->fix);
    jsonw_kstr(w, "altsecurityidentities", x->fix_value);
    jsonw_kstr(w, "command", x->fix_command);
    jsonw_kstr(w, "reissue", x->reissue);
    jsonw_object_end(w);
    findings_json(w, &x->findings);
    jsonw_object_end(w);
}

static void groups_json(struct jsonw *w, const struct sm_event_group *g, size_t n, bool ca)
{
    jsonw_array_begin(w);
    for (size_t i = 0; i < n; i++) {
        jsonw_object_begin(w);
        if (ca)
            jsonw_kstr(w, "issuer", g[i].key);
        else
            jsonw_kstr(w, "account", g[i].key);
        jsonw_key(w, "events");
        jsonw_array_begin(w);
        for (size_t k = 0; k < g[i].n; k++)
            jsonw_int(w, (int64_t)g[i].events[k]);
        jsonw_array_end(w);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

int sm_json_events(const struct sm_events_explanation *x, unsigned flags, char **ret_json)
{
    struct jsonw w;
    start(&w, flags);
    jsonw_object_begin(&w);
    jsonw_key(&w, "events");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < x->n; i++)
        event_json(&w, &x->v[i], i);
    jsonw_array_end(&w);
    jsonw_key(&w, "by_account");
    groups_json(&w, x->by_account, x->n_accounts, false);
    jsonw_key(&w, "by_ca");
    groups_json(&w, x->by_ca, x->n_cas, true);
    jsonw_kint(&w, "skipped", (int64_t)x->skipped);
    jsonw_kstr(&w, "directory", x->directory);
    jsonw_kbool(&w, "ntauth_read", x->ntauth_read);
    jsonw_object_end(&w);
    return finish(&w, ret_json);
}

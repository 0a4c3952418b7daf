/*
 * cli/gate.c - `strongmap gate`'s verdict: asked of a running strongmapd, or given by the
 * engine, and said in one line (gate.h).
 *
 * Both ways end in struct gate_view, the few facts the line needs; gate_line() writes it. The
 * daemon's answer is parsed with Jansson (the CLI's only JSON reader, this file), duplicate
 * members refused; the engine's verdict is read from its structure, never from its JSON. It
 * fails closed: anything but a well-formed verdict whose "outcome" is "allow" is not an allow.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "gate.h"

#define MSG_VALUE 300 /* bytes of one string value quoted in a message */

/* What the line says of a verdict (strings borrowed from the verdict or the parsed answer). */
struct gate_view {
    bool allow;
    const char *profiles[SM_MAX_PROFILES]; /* every profile's name (allow) */
    size_t n_profiles;
    const char *profile; /* the first profile that denies (deny) */
    const char *subject;
    long long kdc_code; /* 0: none */
    const char *kdc_name;
    long long event_id; /* 0: none */
    const char *reason; /* the first reason's message */
};

/* @v into @b, cut to about MSG_VALUE bytes ("..." when cut); the caller prints @b through
 * text_escaped(), which shows controls as \xNN. */
static void put_value(struct su_buf *b, const char *v)
{
    size_t n = strlen(v);

    if (n <= MSG_VALUE) {
        su_buf_put(b, v, n);
        return;
    }
    su_buf_put(b, v, MSG_VALUE);
    su_buf_puts(b, "...");
}

/* One line into @msg: the outcome, the profiles, the subject and, for a deny, the Kerberos
 * error, the KDC event and the first reason. */
static enum gate_result gate_line(const struct gate_view *g, struct su_buf *msg)
{
    su_buf_puts(msg, g->allow ? "allow on " : "deny on ");
    if (g->allow) {
        for (size_t i = 0; i < g->n_profiles; i++) {
            if (i > 0)
                su_buf_puts(msg, ", ");
            put_value(msg, g->profiles[i]);
        }
    } else if (g->profile) {
        put_value(msg, g->profile);
    }
    if (g->subject) {
        su_buf_puts(msg, ": ");
        put_value(msg, g->subject);
    }
    if (g->allow)
        return GATE_ALLOW;
    if (g->kdc_code) {
        su_buf_printf(msg, ": KDC error %lld", g->kdc_code);
        if (g->kdc_name) {
            su_buf_putc(msg, ' ');
            put_value(msg, g->kdc_name);
        }
    }
    if (g->event_id)
        su_buf_printf(msg, ", KDC event %lld", g->event_id);
    if (g->reason) {
        su_buf_puts(msg, ": ");
        put_value(msg, g->reason);
    }
    return GATE_DENY;
}

/* ---- the engine's verdict --------------------------------------------------------------- */

enum gate_result gate_verdict(const struct sm_verdict *v, struct su_buf *msg)
{
    const struct sm_profile_outcome *p = v->primary;
    struct gate_view g = { .allow = v->allow,
                           .subject = v->cert ? v->cert->subject.rfc4514 : NULL };

    for (size_t i = 0; i < v->n_profiles && i < SM_MAX_PROFILES; i++)
        g.profiles[g.n_profiles++] = sm_profile_name(v->profiles[i].profile.kind);
    if (p) {
        g.profile = sm_profile_name(p->profile.kind);
        g.kdc_code = p->kdc_error.code;
        g.kdc_name = p->kdc_error.name;
        g.event_id = p->event.id;
    }
    /* the verdict's own reasons come first, then the primary profile's (as in its document) */
    if (v->n_reasons > 0)
        g.reason = v->reasons[0].message;
    else if (p && p->n_reasons > 0)
        g.reason = p->reasons[0].message;
    return gate_line(&g, msg);
}

/* ---- the daemon's verdict --------------------------------------------------------------- */

/* The string member @key of @obj, or NULL. */
static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

enum gate_result gate_judge(const char *doc, size_t len, struct su_buf *msg)
{
    json_t *root = doc ? json_loadb(doc, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const char *outcome = str_at(root, "outcome");
    const json_t *v, *profiles = json_object_get(root, "profiles");
    struct gate_view g = { .allow = outcome && strcmp(outcome, "allow") == 0 };
    enum gate_result res = GATE_UNAVAILABLE;
    size_t i;

    if (!json_is_object(root) || !outcome) {
        su_buf_puts(msg, "the answer is not a verdict document");
        goto out;
    }
    if (!g.allow && strcmp(outcome, "deny") != 0) {
        su_buf_puts(msg, "the verdict's outcome is neither allow nor deny");
        goto out;
    }
    json_array_foreach(profiles, i, v)
    {
        if (g.n_profiles < SM_MAX_PROFILES && str_at(v, "profile"))
            g.profiles[g.n_profiles++] = str_at(v, "profile");
    }
    g.profile = str_at(root, "profile");
    g.subject = str_at(json_object_get(root, "certificate"), "subject");
    v = json_object_get(root, "kdc_error");
    g.kdc_code = json_integer_value(json_object_get(v, "code"));
    g.kdc_name = str_at(v, "name");
    g.event_id = json_integer_value(json_object_get(json_object_get(root, "event"), "id"));
    g.reason = str_at(json_array_get(json_object_get(root, "reasons"), 0), "message");
    res = gate_line(&g, msg);
out:
    json_decref(root);
    return res;
}

/* ---- asking strongmapd ------------------------------------------------------------------ */

/* "key=value" into @b, NUL-terminated, its offset into *@off. */
static void put_param(struct su_buf *b, const char *key, const char *value, size_t *off)
{
    *off = b->len;
    su_buf_printf(b, "%s=%s", key, value);
    su_buf_putc(b, '\0');
}

/* The problem's detail (else its title) of an RFC 9457 answer, into @msg. */
static void put_problem(struct su_buf *msg, const struct daemon_reply *r)
{
    json_t *root = r->body ? json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    const char *text = str_at(root, "detail");

    su_buf_printf(msg, "strongmapd answered %ld", r->status);
    if (!text)
        text = str_at(root, "title");
    if (text) {
        su_buf_puts(msg, ": ");
        put_value(msg, text);
    }
    json_decref(root);
}

enum gate_result gate_ask(const struct daemon_target *t, const struct gate_query *q,
                          const char *cert, size_t len, struct su_buf *msg)
{
    struct su_buf params;
    size_t off[DAEMON_MAX_QUERY], n = 0;
    const char *query[DAEMON_MAX_QUERY];
    struct daemon_reply reply = { 0 };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    enum gate_result res;
    int r;

    su_buf_init(&params, NULL, NULL);
    for (size_t i = 0; i < q->n_profiles && i < SM_MAX_PROFILES; i++)
        put_param(&params, "profile", q->profiles[i], &off[n++]);
    if (q->account)
        put_param(&params, "account", q->account, &off[n++]);
    if (q->mode)
        put_param(&params, "mode", q->mode, &off[n++]);
    if (q->backdating)
        put_param(&params, "backdating_seconds", q->backdating, &off[n++]);
    if (q->at)
        put_param(&params, "at", q->at, &off[n++]);
    if (params.oom) {
        su_buf_release(&params);
        su_buf_puts(msg, "out of memory");
        return GATE_UNAVAILABLE;
    }
    for (size_t i = 0; i < n; i++)
        query[i] = params.p + off[i];
    /* DER starts with a SEQUENCE; anything else is sent as text (PEM, or base64 DER) */
    r = daemon_post(t, "/v1/verdict", query, n,
                    len > 0 && (unsigned char)cert[0] == 0x30 ? "application/pkix-cert"
                                                              : "application/x-pem-file",
                    cert, len, GATE_MAX_REPLY, &reply, &e);
    su_buf_release(&params);
    if (r < 0) {
        if (e.field)
            su_buf_printf(msg, "%s: ", e.field);
        su_buf_puts(msg, e.text[0] ? e.text : "no answer from strongmapd");
        return r == -EINVAL ? GATE_BAD_INPUT : GATE_UNAVAILABLE;
    }
    if (reply.status == 200) {
        res = gate_judge(reply.body, reply.len, msg);
    } else {
        put_problem(msg, &reply);
        /* the request refused for what it holds (400, 413, 415, 422 ...), not for who asked
           (401, 403), how often (429) or the server's state (5xx, 503 directory down) */
        res = reply.status >= 400 && reply.status < 500 && reply.status != 401 &&
                      reply.status != 403 && reply.status != 429
                  ? GATE_BAD_INPUT
                  : GATE_UNAVAILABLE;
    }
    daemon_reply_release(&reply);
    return res;
}

/*
 * api/decision.c - the decision log: one JSON line per verdict answered, appended with one
 * write(2) to the file of the request's runtime (opened O_APPEND by api_runtime_open_log(): the
 * runtime of a reload after a rotation writes to a new file). Lines never hold a certificate
 * body, only its SHA-1 thumbprint. Lines are ASCII: non-ASCII text (a DN from the directory) is
 * written as \u escapes, so that no U+2028 or U+0085 in a value can split a line for a log
 * reader.
 *
 *   {"time":"2026-06-01T00:00:00.123Z","request_id":"1a2b3c4d-7","client":"127.0.0.1",
 *    "token":"portal","account":"CN=alice,...","outcome":"deny","kdc_error":66,"event":39,
 *    "profile":"windows-2022","profiles":["windows-2022","samba"],
 *    "reasons":["weak_mapping"],"certificate_sha1":"0123...ABCD"}
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <strongmap/verdict.h>

#include "api_internal.h"
#include "log.h"

/* A JSON string, or null for NULL (and for text Jansson refuses, which the engine never
 * gives). */
static json_t *str_or_null(const char *s)
{
    json_t *j = s ? json_string(s) : NULL;

    return j ? j : json_null();
}

static json_t *int_or_null(int v)
{
    return v ? json_integer(v) : json_null();
}

static void now_text(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    char base[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    if (!gmtime_r(&ts.tv_sec, &tm) || !strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm))
        snprintf(base, sizeof(base), "1970-01-01T00:00:00");
    snprintf(buf, size, "%.24s.%03dZ", base, (int)(ts.tv_nsec / 1000000) % 1000);
}

static json_t *line_json(struct api_request *req, const struct sm_verdict *v)
{
    const struct sm_profile_outcome *p = v->primary;
    json_t *doc, *reasons, *profiles;
    char when[40];

    doc = json_object();
    reasons = json_array();
    profiles = json_array();
    if (!doc || !reasons || !profiles)
        goto out_fail;
    for (size_t i = 0; i < v->n_reasons; i++)
        json_array_append_new(reasons, str_or_null(v->reasons[i].code));
    for (size_t i = 0; p && i < p->n_reasons; i++)
        json_array_append_new(reasons, str_or_null(p->reasons[i].code));
    for (size_t i = 0; i < v->n_profiles; i++)
        json_array_append_new(profiles, str_or_null(sm_profile_name(v->profiles[i].profile.kind)));
    now_text(when, sizeof(when));
    if (json_object_set_new(doc, "time", json_string(when)) < 0 ||
        json_object_set_new(doc, "request_id", json_string(req->id)) < 0 ||
        json_object_set_new(doc, "client", str_or_null(req_client_ip(req))) < 0 ||
        json_object_set_new(doc, "token", str_or_null(req->token ? req->token->name : NULL)) < 0 ||
        json_object_set_new(doc, "account", str_or_null(v->account ? v->account->dn : NULL)) < 0 ||
        json_object_set_new(doc, "outcome", json_string(v->allow ? "allow" : "deny")) < 0 ||
        json_object_set_new(doc, "kdc_error", int_or_null(p ? p->kdc_error.code : 0)) < 0 ||
        json_object_set_new(doc, "event", int_or_null(p ? p->event.id : 0)) < 0 ||
        json_object_set_new(doc, "profile",
                            str_or_null(p ? sm_profile_name(p->profile.kind) : NULL)) < 0 ||
        json_object_set_new(doc, "profiles", profiles) < 0 ||
        json_object_set_new(doc, "reasons", reasons) < 0 ||
        json_object_set_new(doc, "certificate_sha1", str_or_null(v->cert ? v->cert->sha1 : NULL)) <
            0) {
        json_decref(doc);
        return NULL; /* profiles and reasons went with it (set_new takes them, also on failure) */
    }
    return doc;

out_fail:
    json_decref(doc);
    json_decref(reasons);
    json_decref(profiles);
    return NULL;
}

void decision_log(struct api_request *req, const struct sm_verdict *v)
{
    struct api_runtime *rt = req->rt;
    json_t *doc;
    char *line = NULL;
    size_t len;
    ssize_t n;
    int err = ENOMEM;

    if (rt->decision_fd < 0)
        return;
    doc = line_json(req, v);
    if (doc)
        line = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII); /* one line, ASCII only */
    json_decref(doc);
    if (line) {
        len = strlen(line);
        line[len] = '\n'; /* replaces the NUL: written by length */
        n = write(rt->decision_fd, line, len + 1);
        err = n < 0 ? errno : ENOSPC; /* a short write: the disk is full */
        free(line);
        if (n == (ssize_t)(len + 1))
            return;
    }
    metric_inc(&req->api->metrics.decision_log_errors);
    /* Once per runtime, not once per request. */
    if (!atomic_exchange(&rt->log_failed, true))
        log_warnx("decision log %s: cannot write: %s (further failures are only counted)",
                  rt->decision_log, strerror(err));
}

/*
 * api/reply.c - responses: the reply_*() calls a handler answers with and what it reads of its
 * request (req_*()). Every response carries Content-Type, Cache-Control: no-store,
 * X-Content-Type-Options: nosniff and X-Request-Id, and "Connection: close" when the request
 * was malformed or the server is shutting down. On a job thread (jobs.c) the response is kept
 * in the request and http.c queues it once the connection is resumed.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include <strongmap/common.h>

#include "api_internal.h"
#include "http_internal.h"
#include "log.h"
#include "su_escape.h"

#define CT_JSON    "application/json"
#define CT_PROBLEM "application/problem+json"

/* Served when even building a problem document fails (out of memory). */
static const char problem_503_static[] =
    "{\"type\":\"" API_PROBLEM_TYPE_BASE "unavailable\",\"title\":\"Temporarily unavailable\","
    "\"status\":503}";

/* ---- responses ---- */

const char *req_header(const struct api_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct header_count {
    const char *name;
    unsigned n;
};

static enum MHD_Result count_one(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    struct header_count *hc = cls;

    (void)kind;
    (void)value;
    if (key && strcasecmp(key, hc->name) == 0)
        hc->n++;
    return MHD_YES;
}

unsigned req_header_count(const struct api_request *req, const char *name)
{
    struct header_count hc = { name, 0 };

    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, count_one, &hc);
    return hc.n;
}

const struct api_runtime *req_runtime(const struct api_request *req)
{
    return req->rt;
}

const char *req_client_ip(const struct api_request *req)
{
    return req->cs ? req->cs->ip : "-";
}

void req_note(struct api_request *req, const char *text)
{
    su_escape(text, strlen(text), API_LOG_NOTE_MAX, SU_ESC_SPACE | SU_ESC_QUOTES, req->log_note,
              sizeof(req->log_note));
}

/*
 * Queue @body (@len bytes) with @status and the common headers. Ownership: with @owned, takes
 * @body (free()), also on failure; otherwise @body is static. Returns 0, -ENOMEM or -EIO.
 */
static int queue_response(struct api_request *req, unsigned status, const char *ctype,
                          struct MHD_Response *resp, size_t len);

static int queue(struct api_request *req, unsigned status, const char *ctype, char *body,
                 size_t len, bool owned)
{
    struct MHD_Response *resp;

    if (owned)
        resp = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    else
        resp =
            MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        if (owned)
            free(body);
        return -ENOMEM;
    }
    return queue_response(req, status, ctype, resp, len);
}

/* Queue @resp (@len bytes of body; taken) with @status and the common headers. */
static int queue_response(struct api_request *req, unsigned status, const char *ctype,
                          struct MHD_Response *resp, size_t len)
{
    int ret = 0;

    if ((ctype && MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES) ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                                req->cache_control ? req->cache_control : "no-store") != MHD_YES ||
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff") != MHD_YES ||
        MHD_add_response_header(resp, "X-Request-Id", req->id) != MHD_YES) {
        ret = -ENOMEM;
        goto out_destroy;
    }
    if (req->extra_header &&
        MHD_add_response_header(resp, req->extra_header, req->extra_value) != MHD_YES) {
        ret = -ENOMEM;
        goto out_destroy;
    }
    for (size_t i = 0; i < req->n_headers; i++) {
        if (MHD_add_response_header(resp, req->headers[i].name, req->headers[i].value) != MHD_YES) {
            ret = -ENOMEM;
            goto out_destroy;
        }
    }
    if (req->retry_after) {
        char secs[16];

        snprintf(secs, sizeof(secs), "%u", req->retry_after);
        if (MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs) != MHD_YES) {
            ret = -ENOMEM;
            goto out_destroy;
        }
    }
    /* Shutting down, or a malformed request: the client must not reuse this connection. */
    if ((req->close || atomic_load(&req->api->closing)) &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES) {
        ret = -ENOMEM;
        goto out_destroy;
    }
    if (req->deferred) {
        /* on a job thread: the connection is suspended; queued after the resume */
        req->pending = resp;
        req->pending_status = status;
        resp = NULL;
    } else if (MHD_queue_response(req->conn, status, resp) != MHD_YES) {
        ret = -EIO;
        goto out_destroy;
    }
    req->replied = true;
    req->status = status;
    req->bytes = req->head ? 0 : len;

out_destroy:
    if (resp)
        MHD_destroy_response(resp); /* the connection holds its own reference */
    return ret;
}

int reply_json(struct api_request *req, char *json)
{
    return queue(req, MHD_HTTP_OK, CT_JSON, json, strlen(json), true);
}

int reply_json_static(struct api_request *req, const char *json)
{
    return queue(req, MHD_HTTP_OK, CT_JSON, (char *)(uintptr_t)json, strlen(json), false);
}

int reply_text(struct api_request *req, const char *ctype, char *text, size_t len)
{
    return queue(req, MHD_HTTP_OK, ctype, text, len, true);
}

int reply_status(struct api_request *req, unsigned status, const struct api_header *h, size_t n,
                 char *json)
{
    int ret;

    req->headers = h;
    req->n_headers = n;
    if (json)
        ret = queue(req, status, CT_JSON, json, strlen(json), true);
    else
        ret = queue(req, status, NULL, (char *)(uintptr_t) "", 0, false);
    req->headers = NULL;
    req->n_headers = 0;
    return ret;
}

int reply_body(struct api_request *req, unsigned status, const char *ctype, const char *cache,
               const struct api_header *h, size_t n, char *body, size_t len, bool owned)
{
    int ret;

    req->headers = h;
    req->n_headers = n;
    req->cache_control = cache;
    ret = queue(req, status, ctype, body, len, owned);
    req->headers = NULL;
    req->n_headers = 0;
    req->cache_control = NULL;
    return ret;
}

int reply_shared(struct api_request *req, unsigned status, const char *ctype,
                 const struct api_header *h, size_t n, const char *body, size_t len,
                 void (*release)(void *arg), void *arg)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer_with_free_callback_cls(
        len, (void *)(uintptr_t)body, release, arg);
    int ret;

    if (!resp) {
        release(arg);
        return -ENOMEM;
    }
    req->headers = h;
    req->n_headers = n;
    ret = queue_response(req, status, ctype, resp, len);
    req->headers = NULL;
    req->n_headers = 0;
    return ret;
}

int reply_problem(struct api_request *req, enum api_problem p, const char *detail)
{
    return reply_problem_retry(req, p, detail, problem_info(p)->retry_after);
}

int reply_problem_retry(struct api_request *req, enum api_problem p, const char *detail,
                        unsigned retry_after)
{
    const struct api_problem_info *info = problem_info(p);
    char *json = NULL;
    int ret;

    ret = problem_json(p, detail, &json);
    if (ret == 0) {
        req->problem = info->code;
        req->retry_after = retry_after;
        ret = queue(req, info->status, CT_PROBLEM, json, strlen(json), true);
    }
    if (ret == -ENOMEM) {
        /* Out of memory: the static 503 needs no allocation but the response object. */
        req->problem = problem_info(API_P_UNAVAILABLE)->code;
        req->retry_after = problem_info(API_P_UNAVAILABLE)->retry_after;
        ret = queue(req, MHD_HTTP_SERVICE_UNAVAILABLE, CT_PROBLEM,
                    (char *)(uintptr_t)problem_503_static, sizeof(problem_503_static) - 1, false);
    }
    return ret;
}

int reply_error(struct api_request *req, int err, const char *detail)
{
    enum api_problem p = problem_from_error(err);

    if (p == API_P_INTERNAL)
        log_errx("request %s: unexpected error %d (%s)", req->id, err, sm_strerror(err));
    return reply_problem(req, p, detail);
}

int reply_fail(struct api_request *req, int err, const struct api_error *ae)
{
    enum api_problem p = problem_of(err, ae);
    char buf[sizeof(ae->info.text) + 64];
    const char *note, *detail = problem_detail(p, ae, buf, sizeof(buf), &note);

    if (note)
        req_note(req, note);
    if (p == API_P_INTERNAL && (!ae || ae->problem == API_P__COUNT))
        log_errx("request %s: unexpected error %d (%s)", req->id, err, sm_strerror(err));
    return reply_problem(req, p, detail);
}

/*
 * api/http.c - libmicrohttpd glue: the server's start, quiesce and stop (api.h), and a request's
 * life cycle through libmicrohttpd's callbacks: per-request state, request ids, the body cap and
 * buffer, dispatch to the route's handler, metrics and the access log. Admission is admit.c's,
 * the job pool jobs.c's, the responses reply.c's (http_internal.h: what they share).
 *
 * Request life cycle (libmicrohttpd 0.9.75):
 *   on_connection() connection opened / closed: client address, deadline (conn.c)
 *   on_uri()        request line read: allocate struct api_request (start time, id, log path),
 *                   take a reference on the current runtime settings
 *   on_access() #1  headers read: the head's size (431), framing, Host, Expect and bytes
 *                   (head.c: 400 / 417, answered at once, connection closed); route;
 *                   admission (admit.c): client certificate (403), rate limit (429), bearer
 *                   token and scope (401 / 403); Content-Length over the cap -> 413.
 *                   A refusal is answered at once when a body follows (MHD then closes without
 *                   reading it), else at the end, so that keep-alive survives (answering on the
 *                   first call makes MHD close the connection)
 *   on_access() #n  body data: keep it up to the cap; beyond the cap drop it and answer 413 at
 *                   the end (chunked uploads have no Content-Length)
 *   on_access() end dispatch to the route's handler (directory-bound routes: on the job pool,
 *                   jobs.c), or 404 / 405 / 413 / the refusal
 *   on_completed()  response sent or connection gone: metrics, access log line, free the
 *                   request, release its runtime
 * Every response carries Content-Type, Cache-Control: no-store and X-Request-Id (reply.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "api_internal.h"
#include "dirpool.h"
#include "http_internal.h"
#include "log.h"
#include "su_clock.h"
#include "su_dec.h"
#include "su_escape.h"

/* ---- small helpers ---- */

/* Strict decimal (Content-Length); 0 or -EINVAL. */
static int parse_u64(const char *s, uint64_t *ret)
{
    int r = su_dec_u64(s, strlen(s), UINT64_MAX, NULL, ret);

    /* saturate: a length past 2^64 - 1 is simply too large (libmicrohttpd accepts up to it, so
       "not a number" would leave the client waiting for a body) */
    if (r == -ERANGE) {
        *ret = UINT64_MAX;
        r = 0;
    }
    return r;
}

/* All body buffers together: max(API_BODY_MEMORY_MIN, 2 x max_body) (api.h). */
static size_t body_mem_max(const struct api_runtime *rt)
{
    return 2 * rt->max_body > API_BODY_MEMORY_MIN ? 2 * rt->max_body : API_BODY_MEMORY_MIN;
}

/* Bytes of body read before the connection is dropped: max(API_DRAIN_MIN, 4 x max_body). */
static uint64_t drain_max(const struct api_runtime *rt)
{
    uint64_t n = 4 * (uint64_t)rt->max_body;

    return n > API_DRAIN_MIN ? n : API_DRAIN_MIN;
}

/*
 * Grow the body buffer of @req to @cap bytes, within the daemon-wide budget. Returns 0, or
 * -ENOMEM (allocation failed or budget spent; the buffer is unchanged).
 */
static int body_grow(struct api *api, struct api_request *req, size_t cap)
{
    size_t delta = cap - req->body_cap;
    char *p;

    if (atomic_fetch_add(&api->body_mem, delta) + delta > body_mem_max(req->rt))
        goto out_unaccount;
    p = realloc(req->body, cap);
    if (!p)
        goto out_unaccount;
    p[req->body_len] = '\0'; /* body_len < cap */
    req->body = p;
    req->body_cap = cap;
    return 0;

out_unaccount:
    atomic_fetch_sub(&api->body_mem, delta);
    return -ENOMEM;
}

static void body_release(struct api *api, struct api_request *req)
{
    free(req->body);
    atomic_fetch_sub(&api->body_mem, req->body_cap);
    req->body = NULL;
    req->body_len = req->body_cap = 0;
}

static struct api_request *request_free(struct api_request *req)
{
    if (req) {
        if (req->pending)
            MHD_destroy_response(req->pending);
        body_release(req->api, req);
        api_runtime_unref(req->rt);
        free(req->target);
        free(req);
    }
    return NULL;
}

/* ---- request life cycle ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct api *api = cls;
    const union MHD_ConnectionInfo *ci;
    struct api_request *req;
    size_t path_len;

    ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (!ci || !ci->socket_context || !((struct api_conn *)ci->socket_context)->admitted)
        return NULL; /* out of memory, or over a connection limit: on_access() closes it */
    req = calloc(1, sizeof(*req));
    if (!req)
        return NULL;
    req->api = api;
    req->conn = conn;
    req->cs = ci->socket_context;
    req->label = API_N_ROUTES;
    req->start = su_mono_ts();
    snprintf(req->id, sizeof(req->id), "%08" PRIx32 "-%" PRIu64, api->id_prefix,
             (uint64_t)atomic_fetch_add(&api->next_id, 1) + 1);
    strcpy(req->log_method, "-");
    req->target_at = uri;
    if (!uri)
        uri = "";
    /* Kept as sent: MHD decodes the path it hands to on_access(), and "%00" would cut it. */
    req->target = strdup(uri);
    if (!req->target) {
        free(req);
        return NULL;
    }
    req->rt = runtime_get(api);
    conn_request_begins(api, req->cs);
    /* The raw request target without the query (never logged: it may carry secrets). */
    path_len = strcspn(uri, "?");
    su_escape(uri, path_len, API_LOG_PATH_MAX, SU_ESC_QUOTES, req->log_path, sizeof(req->log_path));
    atomic_fetch_add(&api->active, 1);
    return req;
}

static enum MHD_Result refuse(struct api_request *req, enum api_problem p, bool body_follows)
{
    req->denied = true;
    req->deny = (int)p;
    if (!body_follows)
        return MHD_YES;
    return reply_refusal(req) == 0 ? MHD_YES : MHD_NO;
}

static enum MHD_Result head_iter(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    return head_field(cls, key, value ? value : "") == 0 ? MHD_YES : MHD_NO;
}

/* Answer @p at once and close the connection (libmicrohttpd reads none of the body). */
static enum MHD_Result refuse_head(struct api_request *req, enum api_problem p, const char *detail)
{
    req->close = true;
    req->extra_header = NULL; /* no Allow: the request is refused as a whole */
    return reply_problem(req, p, detail) == 0 ? MHD_YES : MHD_NO;
}

/*
 * The head as a whole: its size against max_header (libmicrohttpd's pool holds it, a record
 * per header, GET argument and cookie, a copy of the cookies, and the response head), then
 * head.c's checks. Returns true when the request was answered or is to be dropped (*@ret).
 */
static bool head_refused(struct api *api, struct api_request *req, const char *method,
                         const char *version, enum MHD_Result *ret)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    const char *cookie = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Cookie");
    size_t head_size = ci ? ci->header_size : 0, cost;
    struct head_check h;
    char detail[160];
    int n;

    n = MHD_get_connection_values(
        req->conn, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND | MHD_COOKIE_KIND, NULL, NULL);
    cost = head_size + (size_t)(n > 0 ? n : 0) * API_HEAD_FIELD_COST +
           (cookie ? strlen(cookie) + 1 : 0);
    if (cost > api->cfg.header_limit) {
        /* Within the reserve but for its last KiB: answer 431 (its head fits in what is
           left). Past that libmicrohttpd may not be able to build any response: close, and
           say so in the access log. */
        if (cost > api->cfg.header_limit + API_CONN_MEMORY_RESERVE - 1024) {
            req_note(req, "request head too large to answer; closed without a response");
            *ret = MHD_NO;
            return true;
        }
        snprintf(detail, sizeof(detail),
                 "the request head needs %zu bytes (%d headers and arguments at %u bytes each "
                 "included); the limit is %zu",
                 cost, n, API_HEAD_FIELD_COST, api->cfg.header_limit);
        *ret = refuse_head(req, API_P_HEADER_TOO_LARGE, detail);
        return true;
    }
    head_begin(&h, api->head_walk ? method : NULL, head_size, method, req->target_at, req->target,
               version);
    MHD_get_connection_values(req->conn, MHD_HEADER_KIND, head_iter, &h);
    if (head_finish(&h) < 0) {
        req_note(req, h.bad);
        *ret = refuse_head(req, API_P_BAD_REQUEST, h.bad);
        return true;
    }
    if (h.expect_failed) {
        *ret = refuse_head(req, API_P_EXPECTATION_FAILED,
                           "the only expectation supported is \"Expect: 100-continue\"");
        return true;
    }
    return false;
}

/* First call: headers only. Answers a malformed head, a refusal or an over-long Content-Length
 * when a body follows; else MHD_YES, no reply. */
/* On the page's own listener ([self] listen) no other route is there: 404 for their paths. */
static void page_only(struct api_request *req, const char *url)
{
    const struct api_route *get, *post;
    bool known;

    if (req->route && req->route->scope != API_ROUTE_PAGE)
        req->route = NULL;
    if (req->route || !req->path_known)
        return;
    get = route_lookup("GET", url, &known);
    post = route_lookup("POST", url, &known);
    req->path_known =
        (get && get->scope == API_ROUTE_PAGE) || (post && post->scope == API_ROUTE_PAGE);
}

static enum MHD_Result first_call(struct api *api, struct api_request *req, const char *url,
                                  const char *method, const char *version)
{
    const char *cl, *te;
    uint64_t len = 0;
    bool have_len = false, body_follows;
    enum api_problem p;
    enum MHD_Result ret;

    req->started = true;
    req->head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    su_escape(method, strlen(method), API_LOG_METHOD_MAX, SU_ESC_QUOTES, req->log_method,
              sizeof(req->log_method));
    req->route = route_lookup(method, url, &req->path_known);
    if (api->cfg.page_only)
        page_only(req, url);
    if (req->route)
        req->label = route_index(req->route);
    if (!req->route && req->path_known) {
        route_allow(url, req->hdr_buf, sizeof(req->hdr_buf));
        req->extra_header = MHD_HTTP_HEADER_ALLOW;
        req->extra_value = req->hdr_buf;
    }
    if (head_refused(api, req, method, version, &ret))
        return ret;

    /* After head.c: Transfer-Encoding is chunked and alone, or Content-Length (one value). */
    cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && parse_u64(cl, &len) == 0)
        have_len = true;
    te = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    body_follows = (have_len && len > 0) || (!have_len && te);

    p = admit(api, req);
    if (p != API_P__COUNT)
        return refuse(req, p, body_follows);
    if (have_len && len > req->rt->max_body) {
        char detail[128];

        snprintf(detail, sizeof(detail), "the body has %" PRIu64 " bytes; the limit is %zu bytes",
                 len, req->rt->max_body);
        return reply_problem(req, API_P_BODY_TOO_LARGE, detail) == 0 ? MHD_YES : MHD_NO;
    }
    /* Size the buffer when the length is known (at most max_body here), but do not reserve
     * much for a body that has not arrived yet. */
    if (have_len && len > 0 && req->route && req->route->takes_body &&
        body_grow(api, req,
                  (size_t)(len < API_BODY_PREALLOC_MAX ? len : API_BODY_PREALLOC_MAX) + 1) < 0)
        req->body_oom = true;
    return MHD_YES;
}

/* Keep or drop @n bytes of body. Returns 0, or -E2BIG when the connection must be dropped. */
static int body_add(struct api *api, struct api_request *req, const char *data, size_t n)
{
    size_t need;

    req->body_seen += n;
    if (req->body_seen > drain_max(req->rt))
        return -E2BIG;
    if (req->body_too_large || req->body_oom || req->denied)
        return 0;
    if (req->body_seen > req->rt->max_body) {
        req->body_too_large = true;
        body_release(api, req); /* now: it will not be used */
        return 0;
    }
    if (!req->route || !req->route->takes_body)
        return 0;                 /* read and dropped: 404, 405, or a route without a body */
    need = req->body_len + n + 1; /* <= max_body + 1 */
    if (need > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap * 2 : 16 * 1024;

        if (cap < need)
            cap = need;
        if (cap > req->rt->max_body + 1)
            cap = req->rt->max_body + 1;
        if (body_grow(api, req, cap) < 0) {
            req->body_oom = true; /* 503 at the end */
            body_release(api, req);
            return 0;
        }
    }
    memcpy(req->body + req->body_len, data, n);
    req->body_len += n;
    req->body[req->body_len] = '\0';
    return 0;
}

/* The fallbacks when the route's handler, which returned @ret, did not answer. */
static int handler_done(struct api_request *req, int ret)
{
    if (req->replied)
        return 0; /* a handler may answer an error itself and return its code */
    if (ret < 0)
        return reply_error(req, ret, NULL);
    log_errx("request %s: handler returned without a response", req->id);
    return reply_problem(req, API_P_INTERNAL, NULL);
}

/* The route's handler, and the fallbacks when it did not answer. */
int run_handler(struct api_request *req)
{
    return handler_done(req, req->route->handler(req));
}

int req_verdict(const struct api_request *req, const struct sm_verdict_input *in,
                struct sm_verdict **ret, struct sm_errinfo *reterr)
{
    struct dirpool *dir = req_runtime(req)->dir;

    return req->cached_try ? dirpool_verdict_cached(dir, in, ret, reterr)
                           : dirpool_verdict(dir, in, ret, reterr);
}

/*
 * A directory-bound route's request: on this thread when the caches answer it (the route's
 * cached_first; a verdict whose lookups and NTAuth store are all cached costs less than the
 * two thread switches of the job pool), else on the job pool. True when it was handled (an
 * answer, or its job queued).
 */
static bool run_directory(struct api_request *req, int *ret)
{
    if (req->route->cached_first) {
        req->cached_try = true;
        int r = req->route->handler(req);
        req->cached_try = false;
        if (r != SM_E_DIR_WOULD_BLOCK || req->replied) {
            metric_inc(&req->api->metrics.cached_tries[0]);
            *ret = handler_done(req, r);
            return true;
        }
        metric_inc(&req->api->metrics.cached_tries[1]);
        req->retried = true;
    }
    *ret = 0;
    return jobs_submit(req);
}

/* Last call: the whole request is in; answer it. */
static int dispatch(struct api_request *req)
{
    int ret;

    if (req->denied)
        return reply_refusal(req);
    if (req->body_too_large) {
        char detail[96];

        snprintf(detail, sizeof(detail), "the body exceeds the limit of %zu bytes",
                 req->rt->max_body);
        return reply_problem(req, API_P_BODY_TOO_LARGE, detail);
    }
    if (req->body_oom)
        return reply_error(req, -ENOMEM, "too many large requests in progress; retry later");
    if (!req->route) {
        if (req->path_known)
            return reply_problem(req, API_P_METHOD_NOT_ALLOWED, NULL);
        return reply_problem(req, API_P_NOT_FOUND, NULL);
    }
    /* may wait on the directory: off libmicrohttpd's thread, which stays free for others */
    if (req->route->directory && req->api->n_job_threads && run_directory(req, &ret))
        return ret;
    return run_handler(req);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct api *api = cls;
    struct api_request *req = *con_cls;
    size_t n;

    if (!req)
        return MHD_NO; /* on_uri() ran out of memory: close the connection */
    req->conn = conn;
    if (!req->started)
        return first_call(api, req, url, method, version ? version : "");
    if (*upload_data_size != 0) {
        n = *upload_data_size;
        *upload_data_size = 0;
        return body_add(api, req, upload_data, n) == 0 ? MHD_YES : MHD_NO;
    }
    if (req->deferred) {
        /* resumed after its job: queue the response it built (none: out of memory, close) */
        if (!req->pending)
            return req->pending_status == 0 ? MHD_NO : MHD_YES;
        struct MHD_Response *resp = req->pending;
        req->pending = NULL;
        enum MHD_Result r = MHD_queue_response(conn, req->pending_status, resp);
        MHD_destroy_response(resp);
        return r;
    }
    if (req->replied)
        return MHD_YES;
    return dispatch(req) == 0 ? MHD_YES : MHD_NO;
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK: return "ok";
    case MHD_REQUEST_TERMINATED_WITH_ERROR: return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED: return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN: return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR: return "read-error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT: return "client-abort";
    }
    return "unknown";
}

/* The one access log line of a request. Never logs bodies, queries, headers or tokens: the
 * client is its address and, when it sent a valid bearer token, that token's name. */
static void access_log(const struct api_request *req, unsigned status, int64_t us,
                       enum MHD_RequestTerminationCode toe, bool cut)
{
    enum log_prio prio = LOG_PRIO_INFO;

    /* 4xx are the client's business (info); no answer at all deserves a look (warning). */
    if (status >= 500)
        prio = LOG_PRIO_ERR;
    else if (status == 0 || (status < 400 && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK))
        prio = LOG_PRIO_WARNING;
    if (!log_enabled(prio))
        return;
    log_msg(prio,
            "request id=%s client=%s%s%s method=%s path=\"%s\" status=%u bytes=%zu "
            "duration_us=%" PRId64 "%s%s%s%s%s%s%s",
            req->id, req_client_ip(req), req->token ? " token=" : "",
            req->token ? req->token->name : "", req->log_method, req->log_path, status, req->bytes,
            us, req->problem ? " problem=" : "", req->problem ? req->problem : "",
            toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? " end=" : "",
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
            : cut                                      ? "deadline"
                                                       : termination_name(toe),
            req->log_note[0] ? " note=\"" : "", req->log_note, req->log_note[0] ? "\"" : "");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct api *api = cls;
    struct api_request *req = *con_cls;
    const union MHD_ConnectionInfo *ci;
    unsigned status;
    int64_t us;
    bool cut;

    if (!req)
        return;
    *con_cls = NULL;
    us = su_ts_diff_us(su_mono_ts(), req->start);
    status = req->status;
    if (!req->replied) {
        /* Answered by libmicrohttpd itself (e.g. 431), or not at all. */
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
        if (ci)
            status = ci->http_status;
    }
    cut = atomic_load_explicit(&req->cs->cut, memory_order_relaxed);
    metrics_request(&api->metrics, req->label, status, us > 0 ? (uint64_t)us : 0);
    access_log(req, status, us, toe, cut);
    conn_request_ends(api, req->cs);
    if (req->on_done)
        req->on_done(req->on_done_arg, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && !req->head);
    request_free(req);
    atomic_fetch_sub(&api->active, 1);
}

/* A first look before libmicrohttpd sets a connection up: one over a limit is closed at once. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    struct api *api = cls;
    enum conn_admit why;

    (void)addrlen;
    why = conn_may_accept(api, addr);
    if (why == API_CONN_ADMIT)
        return MHD_YES;
    conn_refused(api, why);
    return MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct api *api = cls;
    const union MHD_ConnectionInfo *fd, *addr;

    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        conn_started(api, fd ? fd->connect_fd : -1, addr ? addr->client_addr : NULL,
                     (struct api_conn **)socket_context);
    } else {
        conn_closed(api, *socket_context);
        *socket_context = NULL;
    }
}

/*
 * libmicrohttpd's own messages (MHD_USE_ERROR_LOG), one line each. At start-up they explain a
 * failure: they are kept (joined with "; ") for api_start()'s error, which its caller reports
 * once, or logged as errors when the start succeeds after all. Once running they are mostly
 * about one client's broken request, which the access log line records too, so they are info.
 * They may name the request path, decoded (the logger writes every byte that is not printable
 * ASCII as \xNN), never header values or bodies.
 */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) LOG_PRINTF(2, 0);
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct api *api = cls;
    char buf[512];
    size_t len;

    vsnprintf(buf, sizeof(buf), fmt, ap);
    len = strlen(buf);
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' ' || buf[len - 1] == '.'))
        buf[--len] = '\0';
    if (!atomic_load(&api->running)) {
        pthread_mutex_lock(&api->start_lock);
        if (!atomic_load(&api->running)) {
            size_t used = strlen(api->start_msg);

            snprintf(api->start_msg + used, sizeof(api->start_msg) - used, "%s%s", used ? "; " : "",
                     buf);
            pthread_mutex_unlock(&api->start_lock);
            return;
        }
        pthread_mutex_unlock(&api->start_lock);
    }
    if (log_enabled(LOG_PRIO_INFO))
        log_msg(LOG_PRIO_INFO, "libmicrohttpd: %s", buf);
}

/* ---- daemon ---- */

static uint32_t random_u32(void)
{
    uint32_t v;
    struct timespec ts;

    if (getentropy(&v, sizeof(v)) == 0)
        return v;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16);
}

/* Copy a PEM text of the configuration (NULL stays NULL). -EINVAL when too long. */
static int pem_copy(const char *what, const char *pem, char **ret, struct sm_errinfo *e)
{
    size_t len;

    *ret = NULL;
    if (!pem)
        return 0;
    len = strnlen(pem, API_TLS_PEM_MAX + 1);
    if (len == 0 || len > API_TLS_PEM_MAX)
        return settings_fail(e, -EINVAL, "the TLS %s must be 1 to %u bytes of PEM", what,
                             API_TLS_PEM_MAX);
    *ret = strdup(pem);
    return *ret ? 0 : settings_fail(e, -ENOMEM, "out of memory");
}

static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Free @api before or after a failed start (MHD not running). */
static void api_free(struct api *api)
{
    jobs_stop(api);
    pthread_mutex_destroy(&api->jobs_lock);
    pthread_cond_destroy(&api->jobs_cond);
    conn_watchdog_stop(api);
    api_runtime_unref(api->rt);
    ratelimit_free(api->rl);
    conn_clients_free(api);
    free(api->tls_cert);
    free_secret(api->tls_key);
    free(api->tls_ca);
    metrics_destroy(&api->metrics);
    certcache_free(api->authz_certs);
    if (api->audits_own)
        api_audits_free(api->audits);
    pthread_mutex_destroy(&api->rt_lock);
    pthread_mutex_destroy(&api->start_lock);
    pthread_mutex_destroy(&api->conns_lock);
    pthread_cond_destroy(&api->conns_cond);
    free(api);
}

/* Check the restart-only settings and resolve their defaults into @api. */
static int config_check(struct api *api, const struct api_config *cfg, struct sm_errinfo *e)
{
    int r;

    api->idle_timeout_s = cfg->idle_timeout_s ? cfg->idle_timeout_s : API_CONN_TIMEOUT_S;
    api->request_timeout_s =
        cfg->request_timeout_s ? cfg->request_timeout_s : API_REQUEST_TIMEOUT_S;
    api->cfg.conn_limit = cfg->conn_limit ? cfg->conn_limit : API_CONN_LIMIT;
    api->cfg.header_limit = cfg->header_limit ? cfg->header_limit : API_CONN_MEMORY_LIMIT;
    if (api->idle_timeout_s > API_TIMEOUT_MAX_S || api->request_timeout_s > API_TIMEOUT_MAX_S)
        return settings_fail(e, -EINVAL, "timeouts must be 1 to %u seconds", API_TIMEOUT_MAX_S);
    if (api->cfg.conn_limit > API_CONN_LIMIT_MAX || api->cfg.conn_limit < cfg->threads ||
        cfg->per_ip_conn_limit > api->cfg.conn_limit)
        return settings_fail(e, -EINVAL,
                             "the connection limit must be %u (threads) to %u, the per-IP limit "
                             "at most that",
                             cfg->threads, API_CONN_LIMIT_MAX);
    if (api->cfg.header_limit < API_CONN_MEMORY_MIN || api->cfg.header_limit > API_CONN_MEMORY_MAX)
        return settings_fail(e, -EINVAL, "the header limit must be %u to %u bytes",
                             API_CONN_MEMORY_MIN, API_CONN_MEMORY_MAX);
    if (!cfg->tls_cert_pem != !cfg->tls_key_pem ||
        (!cfg->tls_cert_pem && (cfg->tls_client_ca_pem || cfg->tls_priorities)))
        return settings_fail(e, -EINVAL,
                             "HTTPS needs both a certificate and a key (client CAs and priorities "
                             "go with them)");
    if (cfg->tls_client_required && !cfg->tls_client_ca_pem)
        return settings_fail(e, -EINVAL,
                             "requiring client certificates needs the CAs that issue them");
    if ((r = pem_copy("certificate", cfg->tls_cert_pem, &api->tls_cert, e)) < 0 ||
        (r = pem_copy("key", cfg->tls_key_pem, &api->tls_key, e)) < 0 ||
        (r = pem_copy("client CA", cfg->tls_client_ca_pem, &api->tls_ca, e)) < 0)
        return r;
    /* Not kept: api_start()'s caller owns them (and wipes the key). */
    api->cfg.tls_cert_pem = api->cfg.tls_key_pem = api->cfg.tls_client_ca_pem = NULL;
    api->cfg.runtime = NULL;
    return 0;
}

int api_start(const struct api_config *cfg, struct api **ret_api, struct sm_errinfo *e)
{
    struct sockaddr_storage ss;
    socklen_t ss_len = sizeof(ss);
    /* MHD_USE_TURBO: libmicrohttpd reads and writes a socket before epoll says it is ready,
       where it likely is (an answer's write, a kept-alive connection's next request): one
       epoll round less per request. bench/run.py --only authz on the idle 2 cores: p99 at half
       of peak 1.21 to 1.8 ms in four runs against 1.53 to 2.2 ms in six without
       (docs/performance.md). */
    unsigned int flags =
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    struct MHD_OptionItem tls[5];
    size_t n_tls = 0;
    pthread_condattr_t ca;
    struct api *api;
    int r;

    if (cfg->listen_fd < 0)
        return settings_fail(e, -EINVAL, "no listening socket");
    if (cfg->threads < 1 || cfg->threads > API_MAX_THREADS || !cfg->runtime ||
        getsockname(cfg->listen_fd, (struct sockaddr *)&ss, &ss_len) < 0) {
        close(cfg->listen_fd);
        return settings_fail(e, -EINVAL, "1 to %u threads, a runtime and a bound socket",
                             API_MAX_THREADS);
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;

    api = calloc(1, sizeof(*api));
    if (!api) {
        close(cfg->listen_fd);
        return settings_fail(e, -ENOMEM, "out of memory");
    }
    api->cfg = *cfg;
    api->listen_fd = cfg->listen_fd;
    atomic_init(&api->running, false);
    atomic_init(&api->closing, false);
    atomic_init(&api->active, 0);
    atomic_init(&api->next_id, 0);
    api->id_prefix = random_u32();
    atomic_init(&api->body_mem, 0);
    metrics_init(&api->metrics);
    api->authz_certs = certcache_new(); /* NULL: /v1/authz analyses every header */
    pthread_mutex_init(&api->rt_lock, NULL);
    pthread_mutex_init(&api->start_lock, NULL);
    pthread_mutex_init(&api->conns_lock, NULL);
    pthread_mutex_init(&api->jobs_lock, NULL);
    pthread_cond_init(&api->jobs_cond, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&api->conns_cond, &ca);
    pthread_condattr_destroy(&ca);

    if ((r = config_check(api, cfg, e)) < 0)
        goto out_fail;
    api->audits = cfg->audits;
    if (!api->audits && (r = api_audits_new(&api->audits)) < 0) {
        settings_fail(e, r, "out of memory");
        goto out_fail;
    }
    api->audits_own = !cfg->audits;
    runtime_first(api, cfg->runtime);
    if ((r = conn_clients_init(api)) < 0) {
        settings_fail(e, r, "out of memory");
        goto out_fail;
    }
    /* head.c knows how 0.9.75 lays a parsed head out; with another version it checks the
       fields' text only */
    api->head_walk = strcmp(MHD_get_version(), "0.9.75") == 0;
    if (!api->head_walk)
        log_warnx("libmicrohttpd %s: NUL bytes and folded lines in request headers are not "
                  "checked (strongmapd knows 0.9.75)",
                  MHD_get_version());
    api->rl = ratelimit_new();
    if (!api->rl) {
        r = settings_fail(e, -ENOMEM, "out of memory");
        goto out_fail;
    }
    if (api->tls_cert) {
        flags |= MHD_USE_TLS;
        tls[n_tls++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, api->tls_cert };
        tls[n_tls++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, api->tls_key };
        tls[n_tls++] =
            (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0,
                                     (void *)(uintptr_t)(cfg->tls_priorities
                                                             ? cfg->tls_priorities
                                                             : API_TLS_PRIORITIES_DEFAULT) };
        if (api->tls_ca)
            tls[n_tls++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_TRUST, 0, api->tls_ca };
    }
    tls[n_tls] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
    if ((r = conn_watchdog_start(api)) < 0 || (r = jobs_start(api, cfg->threads)) < 0) {
        settings_fail(e, r, "cannot start its threads: %s", strerror(-r));
        goto out_fail;
    }
    flags |= MHD_ALLOW_SUSPEND_RESUME;

    /* The logger goes first so that start-up messages reach it too. The connection limits are
       conn.c's, so that a connection over them is closed at once: libmicrohttpd's own limit is
       higher (at it, it stops accepting) and it has no per-IP limit. Its memory per connection
       holds the head (header_limit) and the response head (the reserve). */
    api->mhd = MHD_start_daemon(
        flags, 0, on_accept, api, on_access, api, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, api,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)cfg->listen_fd, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)cfg->threads, MHD_OPTION_CONNECTION_LIMIT,
        api->cfg.conn_limit + API_CONN_SPARE_PER_THREAD * cfg->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, api->idle_timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        api->cfg.header_limit + API_CONN_MEMORY_RESERVE, MHD_OPTION_URI_LOG_CALLBACK, on_uri, api,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, api, MHD_OPTION_NOTIFY_CONNECTION, on_connection,
        api, MHD_OPTION_SIGPIPE_HANDLED_BY_APP, (int)1, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
    if (!api->mhd) {
        /* no thread of libmicrohttpd runs: start_msg is ours alone */
        r = settings_fail(e, -EIO, "libmicrohttpd: %s",
                          api->start_msg[0] ? api->start_msg : "it did not start");
        goto out_free;
    }
    pthread_mutex_lock(&api->start_lock);
    if (api->start_msg[0]) /* said while starting, yet it runs: an error worth logging */
        log_errx("libmicrohttpd: %s", api->start_msg);
    atomic_store(&api->running, true);
    pthread_mutex_unlock(&api->start_lock);
    *ret_api = api;
    return 0;

out_fail:
    close(cfg->listen_fd);
out_free:
    api_free(api); /* and its reference on the runtime, the caller's stays */
    return r;
}

void api_quiesce(struct api *api)
{
    MHD_socket fd;

    if (api->quiesced)
        return;
    atomic_store(&api->closing, true);
    fd = MHD_quiesce_daemon(api->mhd);
    if (fd == MHD_INVALID_SOCKET)
        return;
    api->quiesced = true;
    api->listen_fd = fd;
    /*
     * No thread polls the socket any more, but it stays open until MHD_stop_daemon() (MHD's
     * rule). Shut it down now so that new clients are refused at once instead of waiting in
     * the backlog; unless the service manager holds it too: shutdown() would stop it listening
     * for good, and the next process would get a dead socket.
     */
    if (!api->cfg.listen_shared)
        (void)shutdown(fd, SHUT_RDWR);
}

unsigned api_busy(struct api *api, unsigned *ret_connections)
{
    if (ret_connections) {
        const union MHD_DaemonInfo *di =
            MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        *ret_connections = di ? di->num_connections : 0;
    }
    return atomic_load(&api->active);
}

struct api *api_stop(struct api *api)
{
    if (!api)
        return NULL;
    jobs_stop(api);            /* resumes every suspended connection first */
    MHD_stop_daemon(api->mhd); /* every request completes (on_completed()) before it returns */
    if (api->quiesced)
        close(api->listen_fd); /* MHD leaves a quiesced socket to us */
    api_free(api);
    return NULL;
}

/*
 * api/http.c - libmicrohttpd glue: daemon start/quiesce/stop, per-request state, the body cap,
 * response helpers, request ids and the access log.
 *
 * Request life cycle (libmicrohttpd 0.9.75, see shared notes 2.3):
 *   on_uri()        request line read: allocate struct api_request (start time, id, log path)
 *   on_access() #1  headers read: route, Content-Length over the cap -> 413 at once (MHD then
 *                   closes without reading the body); otherwise answer nothing yet, so that
 *                   keep-alive survives
 *   on_access() #n  body data: keep it up to the cap; beyond the cap drop it and answer 413 at
 *                   the end (chunked uploads have no Content-Length)
 *   on_access() end dispatch to the route's handler, or 404 / 405 / 413
 *   on_completed()  response sent or connection gone: access log line, free the request
 * Every response carries Content-Type, Cache-Control: no-store and X-Request-Id.
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

#include <strongmap/common.h>

#include "api_internal.h"
#include "log.h"

#define CT_JSON    "application/json"
#define CT_PROBLEM "application/problem+json"

/* Served when even building a problem document fails (out of memory). */
static const char problem_503_static[] =
    "{\"type\":\"" API_PROBLEM_TYPE_BASE "unavailable\",\"title\":\"Temporarily unavailable\","
    "\"status\":503}";

struct api {
    struct api_config cfg;
    struct MHD_Daemon *mhd;
    int listen_fd;       /* owned; closed by MHD_stop_daemon() unless quiesced */
    bool quiesced;       /* main thread only */
    atomic_bool running; /* MHD_start_daemon() has returned */
    atomic_bool closing; /* responses carry "Connection: close" */
    atomic_uint active;  /* requests between on_uri() and on_completed() */
    atomic_uint_fast64_t next_id;
    uint32_t id_prefix;     /* random per process, so ids differ across restarts */
    uint64_t drain_max;     /* bytes of body read before the connection is dropped */
    atomic_size_t body_mem; /* bytes of body buffers allocated, all requests */
    size_t body_mem_max;    /* beyond this, requests get 503 (see API_BODY_MEMORY_MIN) */
};

/* ---- small helpers ---- */

/*
 * Copy at most @max bytes of @s (@len bytes) into @out for a log line: printable ASCII as is
 * (the space too with @space), everything else (and '"', '\\') as \xNN; "..." when cut. @out
 * has room for 4 * max + 4.
 */
static void log_escape(const char *s, size_t len, size_t max, bool space, char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;

    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (((c == ' ' && space) || (c > 0x20 && c < 0x7f)) && c != '"' && c != '\\') {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (len > max) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

/* Strict decimal (Content-Length); 0 or -EINVAL. */
static int parse_u64(const char *s, uint64_t *ret)
{
    uint64_t v = 0;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -EINVAL;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (*s)
        return -EINVAL;
    *ret = v;
    return 0;
}

static int64_t elapsed_us(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - start->tv_sec) * 1000000 + (now.tv_nsec - start->tv_nsec) / 1000;
}

/*
 * Grow the body buffer of @req to @cap bytes, within the daemon-wide budget. Returns 0, or
 * -ENOMEM (allocation failed or budget spent; the buffer is unchanged).
 */
static int body_grow(struct api *api, struct api_request *req, size_t cap)
{
    size_t delta = cap - req->body_cap;
    char *p;

    if (atomic_fetch_add(&api->body_mem, delta) + delta > api->body_mem_max)
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
        body_release(req->api, req);
        free(req->target);
        free(req);
    }
    return NULL;
}

/* ---- responses ---- */

const char *req_header(const struct api_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const struct api_config *req_config(const struct api_request *req)
{
    return &req->api->cfg;
}

void req_note(struct api_request *req, const char *text)
{
    log_escape(text, strlen(text), API_LOG_NOTE_MAX, true, req->log_note);
}

/*
 * Queue @body (@len bytes) with @status and the common headers. Ownership: with @owned, takes
 * @body (free()), also on failure; otherwise @body is static. Returns 0, -ENOMEM or -EIO.
 */
static int queue(struct api_request *req, unsigned status, const char *ctype, char *body,
                 size_t len, bool owned)
{
    struct MHD_Response *resp;
    int ret = 0;

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
    if (MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES ||
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store") != MHD_YES ||
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
    if (req->retry_after) {
        char secs[16];

        snprintf(secs, sizeof(secs), "%u", req->retry_after);
        if (MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, secs) != MHD_YES) {
            ret = -ENOMEM;
            goto out_destroy;
        }
    }
    /* Shutting down: the client must not reuse this connection. */
    if (atomic_load(&req->api->closing) &&
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES) {
        ret = -ENOMEM;
        goto out_destroy;
    }
    if (MHD_queue_response(req->conn, status, resp) != MHD_YES) {
        ret = -EIO;
        goto out_destroy;
    }
    req->replied = true;
    req->status = status;
    req->bytes = req->head ? 0 : len;

out_destroy:
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

int reply_problem(struct api_request *req, enum api_problem p, const char *detail)
{
    const struct api_problem_info *info = problem_info(p);
    char *json = NULL;
    int ret;

    ret = problem_json(p, detail, &json);
    if (ret == 0) {
        req->problem = info->code;
        req->retry_after = info->retry_after;
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

/* ---- request life cycle ---- */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    struct api *api = cls;
    struct api_request *req;
    size_t path_len;

    req = calloc(1, sizeof(*req));
    if (!req)
        return NULL; /* on_access() closes the connection */
    req->api = api;
    req->conn = conn;
    clock_gettime(CLOCK_MONOTONIC, &req->start);
    snprintf(req->id, sizeof(req->id), "%08" PRIx32 "-%" PRIu64, api->id_prefix,
             (uint64_t)atomic_fetch_add(&api->next_id, 1) + 1);
    strcpy(req->log_method, "-");
    if (!uri)
        uri = "";
    /* Kept as sent: MHD decodes the path it hands to on_access(), and "%00" would cut it. */
    req->target = strdup(uri);
    if (!req->target) {
        free(req);
        return NULL;
    }
    /* The raw request target without the query (never logged: it may carry secrets). */
    path_len = strcspn(uri, "?");
    log_escape(uri, path_len, API_LOG_PATH_MAX, false, req->log_path);
    atomic_fetch_add(&api->active, 1);
    return req;
}

/* First call: headers only. Answers only an over-long Content-Length; else MHD_YES, no reply. */
static enum MHD_Result first_call(struct api *api, struct api_request *req, const char *url,
                                  const char *method)
{
    const char *cl;
    uint64_t len = 0;
    bool have_len = false;

    req->started = true;
    req->head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    log_escape(method, strlen(method), API_LOG_METHOD_MAX, false, req->log_method);
    req->route = route_lookup(method, url, &req->path_known);
    if (!req->route && req->path_known) {
        route_allow(url, req->allow, sizeof(req->allow));
        req->extra_header = MHD_HTTP_HEADER_ALLOW;
        req->extra_value = req->allow;
    }

    cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && parse_u64(cl, &len) == 0)
        have_len = true;
    if (have_len && len > api->cfg.max_body) {
        char detail[128];

        snprintf(detail, sizeof(detail), "the body has %" PRIu64 " bytes; the limit is %zu bytes",
                 len, api->cfg.max_body);
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
    if (req->body_seen > api->drain_max)
        return -E2BIG;
    if (req->body_too_large || req->body_oom)
        return 0;
    if (req->body_seen > api->cfg.max_body) {
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
        if (cap > api->cfg.max_body + 1)
            cap = api->cfg.max_body + 1;
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

/* Last call: the whole request is in; answer it. */
static int dispatch(struct api *api, struct api_request *req)
{
    int ret;

    if (req->body_too_large) {
        char detail[96];

        snprintf(detail, sizeof(detail), "the body exceeds the limit of %zu bytes",
                 api->cfg.max_body);
        return reply_problem(req, API_P_BODY_TOO_LARGE, detail);
    }
    if (req->body_oom)
        return reply_error(req, -ENOMEM, "too many large requests in progress; retry later");
    if (!req->route) {
        if (req->path_known)
            return reply_problem(req, API_P_METHOD_NOT_ALLOWED, NULL);
        return reply_problem(req, API_P_NOT_FOUND, NULL);
    }
    ret = req->route->handler(req);
    if (req->replied)
        return 0; /* a handler may answer an error itself and return its code */
    if (ret < 0)
        return reply_error(req, ret, NULL);
    log_errx("request %s: handler returned without a response", req->id);
    return reply_problem(req, API_P_INTERNAL, NULL);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls)
{
    struct api *api = cls;
    struct api_request *req = *con_cls;
    size_t n;

    (void)version;
    if (!req)
        return MHD_NO; /* on_uri() ran out of memory: close the connection */
    req->conn = conn;
    if (!req->started)
        return first_call(api, req, url, method);
    if (*upload_data_size != 0) {
        n = *upload_data_size;
        *upload_data_size = 0;
        return body_add(api, req, upload_data, n) == 0 ? MHD_YES : MHD_NO;
    }
    if (req->replied)
        return MHD_YES;
    return dispatch(api, req) == 0 ? MHD_YES : MHD_NO;
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

/* The one access log line of a request. Never logs bodies, queries or headers. */
static void access_log(const struct api_request *req, struct MHD_Connection *conn,
                       enum MHD_RequestTerminationCode toe)
{
    unsigned status = req->status;
    enum log_prio prio = LOG_PRIO_INFO;
    const union MHD_ConnectionInfo *ci;

    if (!req->replied) {
        /* Answered by libmicrohttpd itself (e.g. 431), or not at all. */
        ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_HTTP_STATUS);
        if (ci)
            status = ci->http_status;
    }
    /* 4xx are the client's business (info); no answer at all deserves a look (warning). */
    if (status >= 500)
        prio = LOG_PRIO_ERR;
    else if (status == 0 || (status < 400 && toe != MHD_REQUEST_TERMINATED_COMPLETED_OK))
        prio = LOG_PRIO_WARNING;
    if (!log_enabled(prio))
        return;
    log_msg(prio,
            "request id=%s method=%s path=\"%s\" status=%u bytes=%zu duration_us=%" PRId64
            "%s%s%s%s%s%s%s",
            req->id, req->log_method, req->log_path, status, req->bytes, elapsed_us(&req->start),
            req->problem ? " problem=" : "", req->problem ? req->problem : "",
            toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? " end=" : "",
            toe != MHD_REQUEST_TERMINATED_COMPLETED_OK ? termination_name(toe) : "",
            req->log_note[0] ? " note=\"" : "", req->log_note, req->log_note[0] ? "\"" : "");
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct api *api = cls;
    struct api_request *req = *con_cls;

    if (!req)
        return;
    *con_cls = NULL;
    access_log(req, conn, toe);
    request_free(req);
    atomic_fetch_sub(&api->active, 1);
}

/*
 * libmicrohttpd's own messages (MHD_USE_ERROR_LOG), one line each. At start-up they explain a
 * failure (error); once running they are mostly about one client's broken request, which the
 * access log line records too, so they are info. They may name the request path (the logger
 * replaces control characters), never header values or bodies.
 */
static void on_mhd_log(void *cls, const char *fmt, va_list ap) LOG_PRINTF(2, 0);
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    const struct api *api = cls;
    enum log_prio prio = atomic_load(&api->running) ? LOG_PRIO_INFO : LOG_PRIO_ERR;
    char buf[512];

    if (!log_enabled(prio))
        return;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    log_msg(prio, "libmicrohttpd: %s", buf);
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

int api_start(const struct api_config *cfg, struct api **ret_api)
{
    struct sockaddr_storage ss;
    socklen_t ss_len = sizeof(ss);
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct api *api;

    if (cfg->listen_fd < 0)
        return -EINVAL;
    if (cfg->threads < 1 || cfg->threads > API_MAX_THREADS || cfg->max_body < API_MAX_BODY_MIN ||
        cfg->max_body > API_MAX_BODY_MAX ||
        getsockname(cfg->listen_fd, (struct sockaddr *)&ss, &ss_len) < 0) {
        close(cfg->listen_fd);
        return -EINVAL;
    }
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;

    api = calloc(1, sizeof(*api));
    if (!api) {
        close(cfg->listen_fd);
        return -ENOMEM;
    }
    api->cfg = *cfg;
    api->listen_fd = cfg->listen_fd;
    atomic_init(&api->running, false);
    atomic_init(&api->closing, false);
    atomic_init(&api->active, 0);
    atomic_init(&api->next_id, 0);
    api->id_prefix = random_u32();
    api->drain_max = 4 * (uint64_t)cfg->max_body;
    if (api->drain_max < API_DRAIN_MIN)
        api->drain_max = API_DRAIN_MIN;
    atomic_init(&api->body_mem, 0);
    api->body_mem_max = 2 * cfg->max_body;
    if (api->body_mem_max < API_BODY_MEMORY_MIN)
        api->body_mem_max = API_BODY_MEMORY_MIN;

    /* The logger goes first so that start-up messages reach it too. */
    api->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, api, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, api,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)cfg->listen_fd, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)cfg->threads, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)API_CONN_LIMIT,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)API_CONN_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_CONN_MEMORY_LIMIT,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, api, MHD_OPTION_NOTIFY_COMPLETED, on_completed, api,
        MHD_OPTION_SIGPIPE_HANDLED_BY_APP, (int)1, MHD_OPTION_END);
    if (!api->mhd) {
        free(api);
        return -EIO;
    }
    atomic_store(&api->running, true);
    *ret_api = api;
    return 0;
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
     * the backlog.
     */
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
    MHD_stop_daemon(api->mhd);
    if (api->quiesced)
        close(api->listen_fd); /* MHD leaves a quiesced socket to us */
    free(api);
    return NULL;
}

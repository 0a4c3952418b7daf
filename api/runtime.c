/*
 * api/runtime.c - the runtime (struct api_runtime, api.h): its defaults, scope and route names,
 * its decision log, its references, and the swap api_reconfigure() makes.
 *
 * A request takes a reference on the server's current runtime when its request line arrives
 * (runtime_get()) and drops it when it completes (api_runtime_unref()). api_reconfigure() swaps
 * the server's pointer under rt_lock and drops the server's reference on the old runtime; the
 * last request still using it frees it. The lock is held only for a pointer load and an
 * increment, never while anything blocks.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_internal.h"
#include "dirpool.h"
#include "log.h"
#include "mapaudit.h"

static const char *const scope_names[] = {
    "check", "account", "admin", "metrics", "issue", "write"
};
static const char *const route_names[API_ROUTE__COUNT] = {
    "inspect",  "verdict", "account", "events", "metrics",  "healthz", "readyz",
    "preissue", "hooks",   "authz",   "page",   "mappings", "audits"
};

#define N_SCOPES (sizeof(scope_names) / sizeof(scope_names[0]))

int api_runtime_new(struct api_runtime **ret)
{
    struct api_runtime *rt = calloc(1, sizeof(*rt));

    if (!rt)
        return -ENOMEM;
    rt->route_scope[API_ROUTE_INSPECT] = API_SCOPE_CHECK;
    rt->route_scope[API_ROUTE_VERDICT] = API_SCOPE_CHECK;
    rt->route_scope[API_ROUTE_ACCOUNT] = API_SCOPE_ACCOUNT;
    rt->route_scope[API_ROUTE_EVENTS] = API_SCOPE_ACCOUNT | API_SCOPE_ADMIN;
    rt->route_scope[API_ROUTE_METRICS] = API_SCOPE_METRICS | API_SCOPE_ADMIN;
    rt->route_scope[API_ROUTE_HEALTHZ] = API_SCOPE_NONE;
    rt->route_scope[API_ROUTE_READYZ] = API_SCOPE_NONE;
    rt->route_scope[API_ROUTE_PREISSUE] = API_SCOPE_ISSUE | API_SCOPE_ACCOUNT | API_SCOPE_ADMIN;
    rt->route_scope[API_ROUTE_HOOKS] = API_SCOPE_NONE; /* the webhook signature authenticates */
    rt->route_scope[API_ROUTE_AUTHZ] = API_SCOPE_CHECK;
    rt->route_scope[API_ROUTE_PAGE] = API_SCOPE_NONE; /* for people, who carry no token */
    /* it writes: never configurable; applying needs API_SCOPE_WRITE (api/h_mappings.c) */
    rt->route_scope[API_ROUTE_MAPPINGS] = API_SCOPE_WRITE | API_SCOPE_ADMIN;
    rt->route_scope[API_ROUTE_AUDITS] = API_SCOPE_ADMIN; /* every account's data */
    rt->audit_jobs = 1;
    rt->audit_ttl_s = 3600;
    rt->audit_timeout_s = 3600;
    rt->audit_max_report = API_AUDIT_REPORT_DEFAULT;
    rt->page_enabled = true;
    rt->account_data_scope = API_SCOPE_ACCOUNT | API_SCOPE_ADMIN;
    rt->max_body = API_MAX_BODY_DEFAULT;
    rt->max_certs = SM_MAX_CERTS;
    memcpy(rt->authz_header, API_AUTHZ_HEADER_DEFAULT, sizeof(API_AUTHZ_HEADER_DEFAULT));
    rt->decision_fd = -1;
    atomic_init(&rt->refs, 1); /* the caller's */
    atomic_init(&rt->log_failed, false);
    *ret = rt;
    return 0;
}

const char *api_scope_name(unsigned scope)
{
    for (size_t i = 0; i < N_SCOPES; i++)
        if (scope == 1u << i)
            return scope_names[i];
    return NULL;
}

const char *api_route_name(enum api_route_id route)
{
    return (unsigned)route < API_ROUTE__COUNT ? route_names[route] : NULL;
}

int api_scopes_parse(const char *list, unsigned *ret)
{
    unsigned v = 0;

    if (strcmp(list, "none") == 0) {
        *ret = API_SCOPE_NONE;
        return 0;
    }
    for (;;) {
        size_t len;
        bool found = false;

        list += strspn(list, " \t");
        len = strcspn(list, ", \t");
        for (size_t i = 0; i < N_SCOPES; i++) {
            if (strlen(scope_names[i]) == len && strncmp(list, scope_names[i], len) == 0) {
                v |= 1u << i;
                found = true;
            }
        }
        if (!found)
            return -EINVAL;
        list += len;
        list += strspn(list, " \t");
        if (*list == '\0')
            break;
        if (*list++ != ',')
            return -EINVAL;
    }
    *ret = v;
    return 0;
}

int settings_fail(struct sm_errinfo *e, int r, const char *fmt, ...)
{
    va_list ap;

    if (e) {
        va_start(ap, fmt);
        vsnprintf(e->text, sizeof(e->text), fmt, ap);
        va_end(ap);
    }
    return r;
}

unsigned api_burst(double rate, unsigned burst)
{
    if (burst)
        return burst;
    return rate > 1 ? (unsigned)ceil(rate) : 1;
}

int api_runtime_open_log(struct api_runtime *rt, const char *path, struct sm_errinfo *e)
{
    char *copy = strdup(path);
    int fd, r;

    if (!copy)
        return settings_fail(e, -ENOMEM, "out of memory");
    /* non-blocking: a FIFO without a reader is an error (ENXIO), not a start that never ends;
       one with a reader (a log collector) is then written to blocking, as a file is */
    fd = open(copy, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0640);
    if (fd < 0) {
        r = -errno;
        assert(r < 0); /* open() sets errno when it fails */
        settings_fail(e, r, "cannot open the decision log %s: %s", copy,
                      r == -ENXIO ? "a FIFO nothing reads" : strerror(-r));
        free(copy);
        return r;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        r = -errno;
        settings_fail(e, r, "cannot open the decision log %s: %s", copy, strerror(-r));
        close(fd);
        free(copy);
        return r;
    }
    if (rt->decision_fd >= 0)
        close(rt->decision_fd);
    free(rt->decision_log);
    rt->decision_log = copy;
    rt->decision_fd = fd;
    return 0;
}

/*
 * Each runtime opens the audit log anew (a reload reopens it: rotation), while requests of the
 * previous runtime may still write through its own; mapaudit_run()'s lock is the process's, not
 * the log's, so their writes and lines stay serialised (common/mapaudit.h).
 */
int api_runtime_open_audit(struct api_runtime *rt, const char *path, struct sm_errinfo *e)
{
    struct sm_errinfo le = SM_ERRINFO_INIT;
    struct mapaudit *log = NULL;
    int r = mapaudit_open(path, &log, &le);

    if (r < 0)
        return settings_fail(e, r, "%s", le.text);
    mapaudit_close(rt->map_audit);
    rt->map_audit = log;
    return 0;
}

struct api_runtime *api_runtime_ref(struct api_runtime *rt)
{
    atomic_fetch_add_explicit(&rt->refs, 1, memory_order_relaxed);
    return rt;
}

/* The directory's cache counters at debug level, then the directory closed. */
static void close_directory(struct dirpool *dir)
{
    struct sm_dir_cache_stats st;

    if (!dir)
        return;
    dirpool_cache_stats(dir, &st);
    log_debug("lookup cache: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " insertions, %" PRIu64
              " evictions, %" PRIu64 " expirations, %zu entries",
              st.hits, st.misses, st.insertions, st.evictions, st.expirations, st.entries);
    dirpool_close(dir);
}

struct api_runtime *api_runtime_unref(struct api_runtime *rt)
{
    void (*release)(void *);
    void *arg;

    if (!rt || atomic_fetch_sub_explicit(&rt->refs, 1, memory_order_acq_rel) != 1)
        return NULL;
    release = rt->release;
    arg = rt->release_arg;
    close_directory(rt->dir);
    sm_certs_free(rt->samba_anchors);
    sm_certs_free(rt->stepca_issuer);
    if (rt->decision_fd >= 0)
        close(rt->decision_fd);
    free(rt->decision_log);
    dirpool_close(rt->map_pool);
    dirpool_close(rt->audit_dir);
    mapaudit_close(rt->map_audit);
    api_messages_free(rt->page_messages);
    explicit_bzero(rt->tokens, sizeof(rt->tokens));
    explicit_bzero(rt->webhooks, sizeof(rt->webhooks));
    free(rt);
    if (release)
        release(arg);
    return NULL;
}

struct api_runtime *runtime_get(struct api *api)
{
    struct api_runtime *rt;

    pthread_mutex_lock(&api->rt_lock);
    rt = api_runtime_ref(api->rt);
    pthread_mutex_unlock(&api->rt_lock);
    return rt;
}

static void log_settings(const char *what, const struct api_runtime *rt)
{
    char rate[64] = "no rate limit";

    if (rt->rate_per_s > 0)
        snprintf(rate, sizeof(rate), "rate limit %g/s per client, burst %u", rt->rate_per_s,
                 api_burst(rt->rate_per_s, rt->rate_burst));
    log_info("%s: %zu tokens%s, %s, body limit %zu bytes, %u certificates per request%s%s", what,
             rt->n_tokens, rt->n_tokens ? "" : " (no authentication)", rate, rt->max_body,
             rt->max_certs, rt->decision_log ? ", decision log " : "",
             rt->decision_log ? rt->decision_log : "");
}

void runtime_first(struct api *api, struct api_runtime *rt)
{
    api->rt = api_runtime_ref(rt);
    if (rt->n_tokens || rt->rate_per_s > 0 || rt->decision_log)
        log_settings("API settings", rt);
}

void api_reconfigure(struct api *api, struct api_runtime *rt)
{
    struct api_runtime *old;

    api_runtime_ref(rt);
    pthread_mutex_lock(&api->rt_lock);
    old = api->rt;
    api->rt = rt;
    pthread_mutex_unlock(&api->rt_lock);
    api_runtime_unref(old);
    metric_inc(&api->metrics.reloads);
    log_settings("API settings replaced", rt);
}

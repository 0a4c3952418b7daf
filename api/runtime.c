/*
 * api/runtime.c - the settings a reload may change: defaults, scope names, checks, and the
 * refcounted snapshots api_reconfigure() swaps.
 *
 * A request takes a reference on the current snapshot when its request line arrives
 * (snapshot_get()) and drops it when it completes (snapshot_put()). api_reconfigure() builds
 * the new snapshot first (everything that can fail: checks, copies, opening the decision log),
 * then swaps the pointer under rt_lock and drops the server's own reference on the old one; the
 * last request still using it frees it. The lock is held only for a pointer load and an
 * increment, never while anything blocks.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_internal.h"
#include "log.h"

static const char *const scope_names[] = { "check", "account", "admin", "metrics" };
static const char *const route_names[API_ROUTE__COUNT] = { "inspect", "verdict", "account",
                                                           "metrics", "healthz", "readyz" };

#define N_SCOPES  (sizeof(scope_names) / sizeof(scope_names[0]))
#define RATE_MAX  1000000.0 /* requests per second: beyond, "unlimited" is meant */
#define BURST_MAX 1000000u

void api_runtime_init(struct api_runtime *rt)
{
    memset(rt, 0, sizeof(*rt));
    rt->route_scope[API_ROUTE_INSPECT] = API_SCOPE_CHECK;
    rt->route_scope[API_ROUTE_VERDICT] = API_SCOPE_CHECK;
    rt->route_scope[API_ROUTE_ACCOUNT] = API_SCOPE_ACCOUNT;
    rt->route_scope[API_ROUTE_METRICS] = API_SCOPE_METRICS | API_SCOPE_ADMIN;
    rt->route_scope[API_ROUTE_HEALTHZ] = API_SCOPE_NONE;
    rt->route_scope[API_ROUTE_READYZ] = API_SCOPE_NONE;
    rt->account_data_scope = API_SCOPE_ACCOUNT | API_SCOPE_ADMIN;
    rt->max_body = API_MAX_BODY_DEFAULT;
    rt->log_level = LOG_PRIO_INFO;
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

static bool token_name_ok(const char *name)
{
    size_t len = strnlen(name, API_TOKEN_NAME_MAX);

    if (len == 0 || len >= API_TOKEN_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* Is @rt within its limits? The first problem goes into @e. */
static int runtime_check(const struct api_runtime *rt, struct sm_errinfo *e)
{
    if (rt->n_tokens > API_MAX_TOKENS || (rt->n_tokens > 0 && !rt->tokens))
        return settings_fail(e, -EINVAL, "API settings: at most %d tokens", API_MAX_TOKENS);
    for (size_t i = 0; i < rt->n_tokens; i++) {
        const struct api_token *t = &rt->tokens[i];

        if (!token_name_ok(t->name))
            return settings_fail(e, -EINVAL,
                                 "API settings: token %zu: a name of 1 to %d characters "
                                 "[A-Za-z0-9._-]",
                                 i + 1, API_TOKEN_NAME_MAX - 1);
        if (t->scopes & ~(unsigned)API_SCOPE_ALL)
            return settings_fail(e, -EINVAL, "API settings: token %s: unknown scope bits", t->name);
        for (size_t k = 0; k < i; k++) {
            if (strcmp(rt->tokens[k].name, t->name) == 0)
                return settings_fail(e, -EINVAL, "API settings: token name %s given twice",
                                     t->name);
            if (memcmp(rt->tokens[k].sha256, t->sha256, sizeof(t->sha256)) == 0)
                return settings_fail(e, -EINVAL,
                                     "API settings: tokens %s and %s have the same secret",
                                     rt->tokens[k].name, t->name);
        }
    }
    for (size_t r = 0; r < API_ROUTE__COUNT; r++) {
        if (rt->route_scope[r] & ~(unsigned)API_SCOPE_ALL)
            return settings_fail(e, -EINVAL, "API settings: route %s: unknown scope bits",
                                 route_names[r]);
    }
    if (rt->account_data_scope & ~(unsigned)API_SCOPE_ALL)
        return settings_fail(e, -EINVAL, "API settings: account data: unknown scope bits");
    if (!(rt->rate_per_s >= 0 && rt->rate_per_s <= RATE_MAX) || rt->rate_burst > BURST_MAX)
        return settings_fail(e, -EINVAL,
                             "API settings: the rate must be 0 to %.0f requests per second, the "
                             "burst at most %u",
                             RATE_MAX, BURST_MAX);
    if (rt->max_body < API_MAX_BODY_MIN || rt->max_body > API_MAX_BODY_MAX)
        return settings_fail(e, -EINVAL, "API settings: the body limit must be %u to %u bytes",
                             API_MAX_BODY_MIN, API_MAX_BODY_MAX);
    if (rt->max_certs > SM_MAX_CERTS)
        return settings_fail(e, -EINVAL, "API settings: at most %d certificates per request",
                             SM_MAX_CERTS);
    if (rt->fleet.n > SM_MAX_PROFILES)
        return settings_fail(e, -EINVAL, "API settings: at most %d profiles", SM_MAX_PROFILES);
    if (rt->decision_log && !rt->decision_log[0])
        return settings_fail(e, -EINVAL, "API settings: an empty decision log path");
    return 0;
}

static struct api_snapshot *snapshot_free(struct api_snapshot *s)
{
    if (!s)
        return NULL;
    if (s->log_fd >= 0)
        close(s->log_fd);
    if (s->tokens) {
        explicit_bzero(s->tokens, s->rt.n_tokens * sizeof(*s->tokens));
        free(s->tokens);
    }
    free(s->log_path);
    free(s);
    return NULL;
}

int snapshot_new(const struct api_runtime *rt, struct api_snapshot **ret, struct sm_errinfo *e)
{
    struct api_snapshot *s;
    int r;

    if ((r = runtime_check(rt, e)) < 0)
        return r;
    s = calloc(1, sizeof(*s));
    if (!s) {
        settings_fail(e, -ENOMEM, "out of memory");
        return -ENOMEM;
    }
    s->rt = *rt;
    s->log_fd = -1;
    if (rt->n_tokens > 0) {
        s->tokens = calloc(rt->n_tokens, sizeof(*s->tokens));
        if (!s->tokens)
            goto out_nomem;
        memcpy(s->tokens, rt->tokens, rt->n_tokens * sizeof(*s->tokens));
    }
    s->rt.tokens = s->tokens;
    if (rt->decision_log) {
        s->log_path = strdup(rt->decision_log);
        if (!s->log_path)
            goto out_nomem;
        s->log_fd = open(s->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
        if (s->log_fd < 0) {
            r = -errno;
            assert(r < 0); /* open() sets errno when it fails: *ret is written on 0 only */
            settings_fail(e, r, "cannot open the decision log %s: %s", s->log_path, strerror(-r));
            snapshot_free(s);
            return r;
        }
    }
    s->rt.decision_log = s->log_path;
    s->max_certs = rt->max_certs ? rt->max_certs : SM_MAX_CERTS;
    s->burst = rt->rate_burst;
    if (s->burst == 0)
        s->burst = rt->rate_per_s > 1 ? (unsigned)ceil(rt->rate_per_s) : 1;
    s->body_mem_max = 2 * rt->max_body;
    if (s->body_mem_max < API_BODY_MEMORY_MIN)
        s->body_mem_max = API_BODY_MEMORY_MIN;
    s->drain_max = 4 * (uint64_t)rt->max_body;
    if (s->drain_max < API_DRAIN_MIN)
        s->drain_max = API_DRAIN_MIN;
    atomic_init(&s->refs, 1);
    atomic_init(&s->log_failed, false);
    *ret = s;
    return 0;

out_nomem:
    snapshot_free(s);
    settings_fail(e, -ENOMEM, "out of memory");
    return -ENOMEM;
}

struct api_snapshot *snapshot_get(struct api *api)
{
    struct api_snapshot *s;

    pthread_mutex_lock(&api->rt_lock);
    s = api->rt;
    atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
    pthread_mutex_unlock(&api->rt_lock);
    return s;
}

void snapshot_put(struct api_snapshot *s)
{
    void (*release)(void *);
    void *arg;

    if (!s || atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
        return;
    release = s->rt.release;
    arg = s->rt.release_arg;
    snapshot_free(s);
    if (release)
        release(arg);
}

static void log_settings(const char *what, const struct api_snapshot *s)
{
    char rate[64] = "no rate limit";

    if (s->rt.rate_per_s > 0)
        snprintf(rate, sizeof(rate), "rate limit %g/s per client, burst %u", s->rt.rate_per_s,
                 s->burst);
    log_info("%s: %zu tokens%s, %s, body limit %zu bytes, %u certificates per request%s%s", what,
             s->rt.n_tokens, s->rt.n_tokens ? "" : " (no authentication)", rate, s->rt.max_body,
             s->max_certs, s->log_path ? ", decision log " : "", s->log_path ? s->log_path : "");
}

int api_set_first_runtime(struct api *api, const struct api_runtime *rt, struct sm_errinfo *e)
{
    struct api_snapshot *s;
    int r;

    if ((r = snapshot_new(rt, &s, e)) < 0)
        return r;
    api->rt = s;
    if (rt->n_tokens || rt->rate_per_s > 0 || rt->decision_log)
        log_settings("API settings", s);
    return 0;
}

int api_reconfigure(struct api *api, const struct api_runtime *rt, struct sm_errinfo *e)
{
    struct api_snapshot *s, *old;
    int r;

    if ((r = snapshot_new(rt, &s, e)) < 0)
        return r;
    pthread_mutex_lock(&api->rt_lock);
    old = api->rt;
    api->rt = s;
    pthread_mutex_unlock(&api->rt_lock);
    snapshot_put(old);
    metric_inc(&api->metrics.reloads);
    log_settings("API settings replaced", s);
    return 0;
}

/*
 * api/metrics.c - counting and the Prometheus text exposition of GET /metrics.
 *
 * Names (all prefixed strongmapd_):
 *   build_info{version}                                  gauge 1
 *   http_requests_total{route,status}                    counter, answered requests
 *   http_requests_unanswered_total{route}                counter, cut or abandoned requests
 *   http_request_duration_seconds{route}                 histogram, request line to last byte
 *   http_requests_in_progress                            gauge
 *   http_connections_open / http_connections_total       gauge / counter
 *   http_connections_refused_total{limit}                counter, closed at once: over
 *                                                        "connections" or "connections_per_ip"
 *   http_request_timeouts_total                          counter, connections the watchdog cut
 *   http_rate_limited_total                              counter, 429 answers
 *   http_auth_failures_total{reason}                     counter, 401 / 403 answers
 *   verdicts_total{outcome}                              counter
 *   verdict_reasons_total{outcome,reason}                counter, reason codes of verdicts
 *   verdict_directory_lookups_total                      counter, lookups verdicts made
 *   verdict_lookup_limit_total                           counter, verdicts at the lookup limit
 *   account_statuses_total{status}                       counter
 *   authz_total{outcome}                                 counter, /v1/authz answers (allow, deny,
 *                                                        unknown: fail open, unavailable: 503)
 *   authz_certificate_cache_hits_total                   counter, /v1/authz certificates whose
 *                                                        analysis was kept (certcache.c)
 *   cached_tries_total{result}                           counter, cached_first routes tried on
 *                                                        the HTTP thread: answered, deferred
 *   mapping_writes_total{operation,outcome}              counter, applied write-back requests
 *                                                        (add, remove; added, present, refused,
 *                                                        failed, ...)
 *   directory_operations_total{op}                       counter (op: verdict, account, ping,
 *                                                        explain, preissue: an issuance plan)
 *   directory_errors_total{op,error}                     counter (error: down, refused, limit)
 *   directory_operation_duration_seconds{op}             histogram
 *   directory_cache_{hits,misses,evictions,expirations}_total, directory_cache_entries
 *   decision_log_errors_total, runtime_reloads_total     counters
 *   audit_jobs_started_total                             counter, POST /v1/audits jobs started
 *   audit_jobs_finished_total{result}                    counter, jobs ended: done, failed,
 *                                                        cancelled
 *   audit_jobs_forgotten_total{reason}                   counter, ended jobs gone from memory:
 *                                                        expired, deleted
 *   audit_jobs_running, audit_jobs_held                  gauges, jobs queued or running; jobs
 *                                                        in memory in any state
 *   audit_report_bytes                                   gauge, reports held by ended jobs
 *   audit_accounts_total                                 counter, accounts the jobs audited
 *   audit_last_duration_seconds                          gauge, the last job to end
 * Route labels are the paths of openapi/strongmapd.yaml ("/v1/accounts/{name}"), "other" for
 * requests no route matched, so label sets stay bounded whatever clients send.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strongmap/verdict.h>

#include "api_internal.h"
#include "audits.h"
#include "dirpool.h"
#include "hist.h"
#include "su_buf.h"

#ifndef SM_VERSION
#define SM_VERSION "unknown"
#endif

static uint64_t load(const atomic_uint_fast64_t *c)
{
    return atomic_load_explicit(c, memory_order_relaxed);
}

/* Write @h as the histogram @name with the label set @labels (e.g. `route="/healthz"`, or ""),
 * after a `# HELP` / `# TYPE` header when @help is not NULL. */
static void hist_render(struct su_buf *b, const char *name, const char *help, const char *labels,
                        const struct hist *h)
{
    uint64_t cum = 0, sum = load(&h->sum_us);
    const char *sep = labels[0] ? "," : "";

    if (help)
        su_buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        cum += load(&h->bucket[i]);
        su_buf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
                      (double)hist_bounds_us[i] / 1e6, (unsigned long long)cum);
    }
    cum += load(&h->bucket[HIST_BUCKETS]);
    su_buf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
                  (unsigned long long)cum);
    su_buf_printf(b, "%s_sum{%s} %.6f\n%s_count{%s} %llu\n", name, labels, (double)sum / 1e6, name,
                  labels, (unsigned long long)cum);
}

void metrics_init(struct api_metrics *m)
{
    memset(m, 0, sizeof(*m)); /* all-zero atomics are valid zero counters on this platform */
    pthread_mutex_init(&m->reasons_lock, NULL);
}

void metrics_destroy(struct api_metrics *m)
{
    pthread_mutex_destroy(&m->reasons_lock);
}

void metrics_request(struct api_metrics *m, unsigned label, unsigned status, uint64_t us)
{
    if (label > API_N_ROUTES)
        label = API_N_ROUTES;
    if (status >= METRICS_STATUS_MIN && status < METRICS_STATUS_MIN + METRICS_STATUS_N)
        metric_inc(&m->requests[label][status - METRICS_STATUS_MIN]);
    else
        metric_inc(&m->unanswered[label]);
    hist_observe(&m->latency[label], us);
}

/* Reason codes are [a-z0-9_], as the engine writes them (and the OpenAPI document says). */
static bool code_ok(const char *code)
{
    size_t len = strlen(code);

    if (len == 0 || len >= METRICS_REASON_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((code[i] >= 'a' && code[i] <= 'z') || (code[i] >= '0' && code[i] <= '9') ||
              code[i] == '_'))
            return false;
    return true;
}

static void count_reason(struct api_metrics *m, const char *code, unsigned outcome)
{
    size_t n = atomic_load_explicit(&m->n_reasons, memory_order_acquire);

    if (!code || !code_ok(code)) {
        metric_inc(&m->reasons_other[outcome]);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(m->reasons[i].code, code) == 0) {
            metric_inc(&m->reasons[i].n[outcome]);
            return;
        }
    }
    /* a code not seen yet: add it under the lock (another thread may have just done so) */
    pthread_mutex_lock(&m->reasons_lock);
    n = atomic_load_explicit(&m->n_reasons, memory_order_relaxed);
    size_t i = 0;
    while (i < n && strcmp(m->reasons[i].code, code) != 0)
        i++;
    if (i == n && n < METRICS_REASONS_MAX) {
        snprintf(m->reasons[n].code, sizeof(m->reasons[n].code), "%s", code);
        atomic_store_explicit(&m->n_reasons, n + 1, memory_order_release);
    }
    pthread_mutex_unlock(&m->reasons_lock);
    if (i < METRICS_REASONS_MAX)
        metric_inc(&m->reasons[i].n[outcome]);
    else
        metric_inc(&m->reasons_other[outcome]);
}

void metrics_verdict(struct api_metrics *m, const struct sm_verdict *v)
{
    unsigned outcome = v->allow ? 0 : 1;

    metric_inc(&m->verdicts[outcome]);
    atomic_fetch_add_explicit(&m->verdict_lookups, v->lookups, memory_order_relaxed);
    if (v->lookups >= SM_MAX_VERDICT_LOOKUPS)
        metric_inc(&m->verdict_lookup_limits);
    for (size_t i = 0; i < v->n_reasons; i++)
        count_reason(m, v->reasons[i].code, outcome);
    if (v->primary)
        for (size_t i = 0; i < v->primary->n_reasons; i++)
            count_reason(m, v->primary->reasons[i].code, outcome);
}

static void counter(struct su_buf *b, const char *name, const char *help, uint64_t v)
{
    su_buf_printf(b, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
                  (unsigned long long)v);
}

static void gauge(struct su_buf *b, const char *name, const char *help, uint64_t v)
{
    su_buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %llu\n", name, help, name, name,
                  (unsigned long long)v);
}

static void header(struct su_buf *b, const char *name, const char *type, const char *help)
{
    su_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static const char *const outcomes[2] = { "allow", "deny" };
static const char *const authz_outcomes[API_AUTHZ__COUNT] = { "allow", "deny", "unknown",
                                                              "unavailable" };

static void render_http(struct su_buf *b, struct api *api)
{
    struct api_metrics *m = &api->metrics;
    static const char *const auth_reasons[AUTH_F__COUNT] = { "missing_token", "invalid_token",
                                                             "insufficient_scope",
                                                             "client_certificate" };
    char labels[96];

    header(b, "strongmapd_http_requests_total", "counter",
           "Requests answered, by route and HTTP status.");
    for (unsigned r = 0; r <= API_N_ROUTES; r++)
        for (unsigned s = 0; s < METRICS_STATUS_N; s++) {
            uint64_t v = load(&m->requests[r][s]);
            if (v)
                su_buf_printf(b,
                              "strongmapd_http_requests_total{route=\"%s\",status=\"%u\"} %llu\n",
                              route_label(r), s + METRICS_STATUS_MIN, (unsigned long long)v);
        }
    header(b, "strongmapd_http_requests_unanswered_total", "counter",
           "Requests that ended without an answer (client gone, connection cut).");
    for (unsigned r = 0; r <= API_N_ROUTES; r++)
        su_buf_printf(b, "strongmapd_http_requests_unanswered_total{route=\"%s\"} %llu\n",
                      route_label(r), (unsigned long long)load(&m->unanswered[r]));
    header(b, "strongmapd_http_request_duration_seconds", "histogram",
           "Time from the request line to the last byte of the answer, by route.");
    for (unsigned r = 0; r <= API_N_ROUTES; r++) {
        snprintf(labels, sizeof(labels), "route=\"%s\"", route_label(r));
        hist_render(b, "strongmapd_http_request_duration_seconds", NULL, labels, &m->latency[r]);
    }
    gauge(b, "strongmapd_http_requests_in_progress", "Requests received and not yet answered.",
          atomic_load(&api->active));
    gauge(b, "strongmapd_http_connections_open", "Open client connections.",
          load(&m->connections_open));
    counter(b, "strongmapd_http_connections_total", "Client connections accepted.",
            load(&m->connections));
    header(b, "strongmapd_http_connections_refused_total", "counter",
           "Connections closed at once, unanswered, by the limit they were over.");
    su_buf_printf(b, "strongmapd_http_connections_refused_total{limit=\"connections\"} %llu\n",
                  (unsigned long long)load(&m->connections_refused[0]));
    su_buf_printf(b,
                  "strongmapd_http_connections_refused_total{limit=\"connections_per_ip\"} %llu\n",
                  (unsigned long long)load(&m->connections_refused[1]));
    counter(b, "strongmapd_http_request_timeouts_total",
            "Connections shut down because a request took longer than the request timeout.",
            load(&m->request_timeouts));
    counter(b, "strongmapd_http_rate_limited_total",
            "Requests refused with 429 by the per-client rate limit.", load(&m->rate_limited));
    header(b, "strongmapd_http_auth_failures_total", "counter",
           "Requests refused with 401 or 403, by reason.");
    for (unsigned i = 0; i < AUTH_F__COUNT; i++)
        su_buf_printf(b, "strongmapd_http_auth_failures_total{reason=\"%s\"} %llu\n",
                      auth_reasons[i], (unsigned long long)load(&m->auth_failures[i]));
}

static void render_verdicts(struct su_buf *b, struct api_metrics *m)
{
    static const char *const statuses[3] = { "ready", "at_risk", "blocked" };
    size_t n = atomic_load_explicit(&m->n_reasons, memory_order_acquire);

    header(b, "strongmapd_verdicts_total", "counter", "Verdicts answered, by outcome.");
    for (unsigned o = 0; o < 2; o++)
        su_buf_printf(b, "strongmapd_verdicts_total{outcome=\"%s\"} %llu\n", outcomes[o],
                      (unsigned long long)load(&m->verdicts[o]));
    counter(b, "strongmapd_verdict_directory_lookups_total",
            "Directory searches and reads the verdicts answered made (each at most the limit).",
            load(&m->verdict_lookups));
    counter(b, "strongmapd_verdict_lookup_limit_total",
            "Verdicts that made as many directory lookups as one verdict may (8).",
            load(&m->verdict_lookup_limits));
    header(b, "strongmapd_verdict_reasons_total", "counter",
           "Reason codes of the verdicts answered (request-level and primary profile), by "
           "outcome.");
    for (size_t i = 0; i < n; i++)
        for (unsigned o = 0; o < 2; o++) {
            uint64_t v = load(&m->reasons[i].n[o]);
            if (v)
                su_buf_printf(
                    b, "strongmapd_verdict_reasons_total{outcome=\"%s\",reason=\"%s\"} %llu\n",
                    outcomes[o], m->reasons[i].code, (unsigned long long)v);
        }
    for (unsigned o = 0; o < 2; o++) {
        uint64_t v = load(&m->reasons_other[o]);
        if (v)
            su_buf_printf(
                b, "strongmapd_verdict_reasons_total{outcome=\"%s\",reason=\"other\"} %llu\n",
                outcomes[o], (unsigned long long)v);
    }
    header(b, "strongmapd_account_statuses_total", "counter",
           "Account statuses answered, by status.");
    for (unsigned i = 0; i < 3; i++)
        su_buf_printf(b, "strongmapd_account_statuses_total{status=\"%s\"} %llu\n", statuses[i],
                      (unsigned long long)load(&m->account_statuses[i]));
    header(b, "strongmapd_authz_total", "counter",
           "/v1/authz answers, by outcome (unknown: the directory down and fail open; "
           "unavailable: the directory down and fail closed, 503).");
    for (unsigned i = 0; i < API_AUTHZ__COUNT; i++)
        su_buf_printf(b, "strongmapd_authz_total{outcome=\"%s\"} %llu\n", authz_outcomes[i],
                      (unsigned long long)load(&m->authz[i]));
    counter(b, "strongmapd_authz_certificate_cache_hits_total",
            "/v1/authz certificates whose analysis was kept from an earlier call with the same "
            "header (kept 60 s, 256 at most).",
            load(&m->authz_cert_hits));
    header(b, "strongmapd_cached_tries_total", "counter",
           "Verdict requests first tried on the HTTP thread from the directory caches: answered "
           "there, or deferred to the job pool because the directory had to be asked.");
    su_buf_printf(b, "strongmapd_cached_tries_total{result=\"answered\"} %llu\n",
                  (unsigned long long)load(&m->cached_tries[0]));
    su_buf_printf(b, "strongmapd_cached_tries_total{result=\"deferred\"} %llu\n",
                  (unsigned long long)load(&m->cached_tries[1]));
    header(b, "strongmapd_mapping_writes_total", "counter",
           "Mapping write-back requests applied (not dry runs), by operation and outcome.");
    for (unsigned op = 0; op < 2; op++)
        for (unsigned o = 0; o < SM_MAPWRITE__COUNT; o++) {
            uint64_t v = load(&m->mapping_writes[op][o]);
            if (v)
                su_buf_printf(b,
                              "strongmapd_mapping_writes_total{operation=\"%s\",outcome=\"%s\"} "
                              "%llu\n",
                              sm_mapwrite_op_name((enum sm_mapwrite_op)op),
                              sm_mapwrite_outcome_name((enum sm_mapwrite_outcome)o),
                              (unsigned long long)v);
        }
}

static void render_directory(struct su_buf *b, const struct api_runtime *rt)
{
    struct dirpool_metrics dm;
    struct sm_dir_cache_stats cs = { 0 };
    char labels[64];

    dirpool_metrics(&dm);
    if (rt->dir)
        dirpool_cache_stats(rt->dir, &cs);
    header(b, "strongmapd_directory_operations_total", "counter",
           "Directory operations (a verdict or an account status: one or more lookups, from "
           "the cache or the server; a readiness probe), by operation.");
    for (unsigned op = 0; op < DIRPOOL_OP__COUNT; op++)
        su_buf_printf(b, "strongmapd_directory_operations_total{op=\"%s\"} %llu\n",
                      dirpool_op_name(op), (unsigned long long)dm.ops[op]);
    header(b, "strongmapd_directory_errors_total", "counter",
           "Directory operations that failed, by operation and error.");
    for (unsigned op = 0; op < DIRPOOL_OP__COUNT; op++)
        for (unsigned e = 0; e < DIRPOOL_ERR__COUNT; e++)
            su_buf_printf(b, "strongmapd_directory_errors_total{op=\"%s\",error=\"%s\"} %llu\n",
                          dirpool_op_name(op), dirpool_err_name(e),
                          (unsigned long long)dm.errors[op][e]);
    header(b, "strongmapd_directory_operation_duration_seconds", "histogram",
           "Duration of directory operations, by operation.");
    for (unsigned op = 0; op < DIRPOOL_OP__COUNT; op++) {
        snprintf(labels, sizeof(labels), "op=\"%s\"", dirpool_op_name(op));
        hist_render(b, "strongmapd_directory_operation_duration_seconds", NULL, labels,
                    dirpool_latency(op));
    }
    counter(b, "strongmapd_directory_cache_hits_total", "Lookups answered by the cache.", cs.hits);
    counter(b, "strongmapd_directory_cache_misses_total", "Lookups the cache could not answer.",
            cs.misses);
    counter(b, "strongmapd_directory_cache_evictions_total", "Cache entries dropped to make room.",
            cs.evictions);
    counter(b, "strongmapd_directory_cache_expirations_total", "Cache entries expired.",
            cs.expirations);
    gauge(b, "strongmapd_directory_cache_entries", "Entries in the lookup cache.", cs.entries);
}

/* The audit jobs of POST /v1/audits: counted by their set (audits.c), under its lock. */
static void render_audits(struct su_buf *b, struct api_audits *a)
{
    static const char *const results[AUDITS_ENDS] = { "done", "failed", "cancelled" };
    struct audits_metrics m;

    audits_metrics(a, &m);
    counter(b, "strongmapd_audit_jobs_started_total", "Audit jobs started (POST /v1/audits).",
            m.started);
    header(b, "strongmapd_audit_jobs_finished_total", "counter",
           "Audit jobs ended, by result (done: the audit ran to its end; failed: the "
           "directory, the time limit, max_report or an error; cancelled: DELETE or a stop).");
    for (unsigned i = 0; i < AUDITS_ENDS; i++)
        su_buf_printf(b, "strongmapd_audit_jobs_finished_total{result=\"%s\"} %llu\n", results[i],
                      (unsigned long long)m.ended[i]);
    header(b, "strongmapd_audit_jobs_forgotten_total", "counter",
           "Ended audit jobs gone from memory with their reports, by reason (expired: the "
           "audit TTL passed, or a minute after each report was fetched; deleted: DELETE).");
    su_buf_printf(b, "strongmapd_audit_jobs_forgotten_total{reason=\"expired\"} %llu\n",
                  (unsigned long long)m.expired);
    su_buf_printf(b, "strongmapd_audit_jobs_forgotten_total{reason=\"deleted\"} %llu\n",
                  (unsigned long long)m.deleted);
    gauge(b, "strongmapd_audit_jobs_running", "Audit jobs queued or running.", m.running);
    gauge(b, "strongmapd_audit_jobs_held",
          "Audit jobs in memory, in any state (at most 4 per [audit] jobs).", m.held);
    gauge(b, "strongmapd_audit_report_bytes", "Bytes of the reports the ended audit jobs hold.",
          m.report_bytes);
    counter(b, "strongmapd_audit_accounts_total",
            "Accounts the audit jobs audited, counted as they go.", m.accounts);
    header(b, "strongmapd_audit_last_duration_seconds", "gauge",
           "Seconds from start to end of the audit job that ended last (0: none yet).");
    su_buf_printf(b, "strongmapd_audit_last_duration_seconds %.3f\n", m.last_seconds);
}

int metrics_render(struct api *api, const struct api_runtime *rt, char **ret, size_t *ret_len)
{
    struct su_buf b;

    su_buf_init(&b, NULL, NULL);
    header(&b, "strongmapd_build_info", "gauge", "The version of strongmapd.");
    su_buf_printf(&b, "strongmapd_build_info{version=\"%s\"} 1\n", SM_VERSION);
    render_http(&b, api);
    render_verdicts(&b, &api->metrics);
    render_directory(&b, rt);
    render_audits(&b, api->audits);
    counter(&b, "strongmapd_decision_log_errors_total",
            "Decision log lines that could not be "
            "written.",
            load(&api->metrics.decision_log_errors));
    counter(&b, "strongmapd_runtime_reloads_total", "Runtime settings replaced (reloads).",
            load(&api->metrics.reloads));
    if (b.oom) {
        su_buf_release(&b);
        return -ENOMEM;
    }
    *ret = b.p;
    *ret_len = b.len;
    return 0;
}

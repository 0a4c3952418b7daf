/*
 * api/audits.c - the audit jobs of POST /v1/audits (docs/audit.md): each one the engine's walk
 * (sm_audit_walk()) and its reports (sm_audit_report_*()), the code `strongmap audit` runs, on
 * a thread of its own with directory handles of its own, its reports kept in memory.
 *
 * - Bounded: at most api_runtime.audit_jobs running at once, API_AUDIT_KEEP_PER_JOB times as many
 *   held in any state; each one's reports at most audit_max_report bytes (every format
 *   together: past it the audit fails, report_too_large, and its reports are freed: nothing
 *   goes to disk), and it stops, partial, after audit_timeout_s.
 * - Its own handles: over LDAP two of the runtime's audit pool (the walk's paged search, the
 *   lookups), never a worker's; an LDIF's one shared handle serves both. Its runtime is the one
 *   its request came with, held until the audit ends: a reload changes the audits started
 *   after it, never one running (as for a request in flight).
 * - Progress: the walk's tick copies its progress and totals under the set's lock before each
 *   account, and stops the walk when the job is cancelled (DELETE, shutdown) or out of time.
 * - Kept until every report it built was fetched in full (then AUDIT_FETCHED_S more, for a
 *   retry), DELETE, or audit_ttl_s after it ended: the set's reaper thread sleeps until the
 *   first of those times and forgets the job then. Nothing survives a restart:
 *   api_audits_free() cancels what runs, joins the threads and frees every report.
 *
 * - Counted for GET /metrics (audits_metrics()): under the set's lock, at the changes it is
 *   held for anyway (a start, each tick, an end, a job forgotten).
 *
 * Locking: one mutex per set, held for list and state changes and for the copies of progress,
 * never while the directory is asked or a report written. A job's thread is joined once it
 * has ended, under the lock (it takes no lock after its last state change), before the job
 * leaves the list.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>

#include <strongmap/strongmap.h>

#include "audits.h"
#include "dirpool.h"
#include "log.h"
#include "su_clock.h"
#include "su_hex.h"

#define BUF_MIN   (64u * 1024) /* a report's first allocation */
#define ETA_GUESS 5u           /* seconds to wait when an audit's pace is not known yet */

enum audit_state { ST_QUEUED = 0, ST_RUNNING, ST_DONE, ST_FAILED, ST_CANCELLED };

static const char *const state_names[] = { "queued", "running", "done", "failed", "cancelled" };

_Static_assert(ST_CANCELLED - ST_DONE + 1 == AUDITS_ENDS, "audits_metrics.ended[]: one a state");

struct membuf {
    char *p;
    size_t len, cap;
};

struct audit_job {
    struct audit_job *next; /* in the set's list, under its lock */
    atomic_uint refs;
    struct api_audits *set;
    char id[AUDIT_ID_LEN + 1];
    struct audit_settings s;
    /* from the runtime of the request, at its start */
    struct api_runtime *rt; /* a reference while the thread runs; dropped by it */
    unsigned ttl_s, timeout_s;
    unsigned long long max_report;
    char source[API_AUDIT_SOURCE_MAX];
    atomic_bool cancel; /* read by the walk's tick without the lock */

    /* under the set's lock */
    enum audit_state state;
    bool cancel_requested, shutdown;
    time_t created, started, finished;                    /* wall clock */
    int64_t start_ms, audit_start_ms, end_ms, expires_ms; /* monotonic */
    struct sm_audit_progress progress;
    struct sm_audit_totals totals;
    const char *stopped_by; /* static text; NULL: complete */
    const char *error_code; /* static text; NULL: none */
    char error_message[sizeof(((struct sm_errinfo *)0)->text) + 64];
    const char *outcome; /* "pass", "fail", "errors"; NULL: not done */
    uint64_t counted;    /* of totals.accounts, what the set's metrics have counted */
    unsigned fetched;    /* reports sent in full (1 << format) */
    bool has_report;     /* ended with its reports */
    bool thread_started, joined;
    pthread_t thread;

    /* the reports: written by the thread alone until it ends, read only after */
    struct membuf out[SM_AUDIT__FORMATS], rows; /* rows: HTML's until the head is written */
    unsigned long long bytes;                   /* of every buffer's content */
};

struct api_audits {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* CLOCK_MONOTONIC: a job ended, an expiry moved, stopping */
    struct audit_job *jobs; /* newest first */
    bool stopping;
    pthread_t reaper; /* forgets the jobs whose time has come, at that time */
    /* what /metrics says, under the lock: jobs started, ended (done, failed, cancelled) and
       forgotten (expired, deleted), accounts audited, the last end's duration */
    uint64_t started, ended[AUDITS_ENDS], forgotten[2], accounts;
    int64_t last_ms;
};

/* ---- references and the set ---------------------------------------------------------------- */

struct audit_job *audit_job_get(struct audit_job *j)
{
    atomic_fetch_add_explicit(&j->refs, 1, memory_order_relaxed);
    return j;
}

static void job_free(struct audit_job *j)
{
    for (size_t i = 0; i < SM_AUDIT__FORMATS; i++)
        free(j->out[i].p);
    free(j->rows.p);
    api_runtime_unref(j->rt); /* only when its thread never ran */
    free(j);
}

void audit_job_put(struct audit_job *j)
{
    if (j && atomic_fetch_sub_explicit(&j->refs, 1, memory_order_acq_rel) == 1)
        job_free(j);
}

const char *audit_job_id(const struct audit_job *j)
{
    return j->id;
}

unsigned audit_job_formats(const struct audit_job *j)
{
    return j->s.formats;
}

static bool ended(const struct audit_job *j)
{
    return j->state >= ST_DONE;
}

static void reap(struct api_audits *a);

/* The reaper: each job that ended goes when its time comes, its memory freed then, not at the
   next request that looks. */
static void *reaper_main(void *arg)
{
    struct api_audits *a = arg;

    pthread_mutex_lock(&a->lock);
    while (!a->stopping) {
        int64_t next = 0, now;
        reap(a);
        for (const struct audit_job *j = a->jobs; j; j = j->next)
            if (ended(j) && (!next || j->expires_ms < next))
                next = j->expires_ms;
        now = su_mono_ms();
        if (!next) {
            pthread_cond_wait(&a->changed, &a->lock);
        } else if (next > now) {
            int64_t ms = next - now;
            struct timespec at =
                su_ts_add_ms(su_mono_ts(), ms > 86400000 ? 86400000 : (unsigned)ms);
            pthread_cond_timedwait(&a->changed, &a->lock, &at);
        }
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

int api_audits_new(struct api_audits **ret)
{
    struct api_audits *a = calloc(1, sizeof(*a));
    pthread_condattr_t ca;

    if (!a)
        return -ENOMEM;
    pthread_mutex_init(&a->lock, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&a->changed, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&a->reaper, NULL, reaper_main, a) != 0) {
        pthread_cond_destroy(&a->changed);
        pthread_mutex_destroy(&a->lock);
        free(a);
        return -EAGAIN;
    }
    *ret = a;
    return 0;
}

/* Unlink @j (its predecessor's link at @link) and drop the set's reference, its thread joined
   first. Under the lock; @j has ended. */
static void unlink_job(struct audit_job **link, struct audit_job *j)
{
    *link = j->next;
    if (j->thread_started && !j->joined) {
        pthread_join(j->thread, NULL); /* it has ended: it returns without the lock */
        j->joined = true;
    }
    audit_job_put(j);
}

/* Forget the jobs that ended and whose time has come. Under the lock. */
static void reap(struct api_audits *a)
{
    int64_t now = su_mono_ms();

    for (struct audit_job **link = &a->jobs; *link;) {
        struct audit_job *j = *link;
        if (ended(j) && now >= j->expires_ms) {
            log_info("audit %.8s...: expired, its report dropped", j->id);
            a->forgotten[0]++;
            unlink_job(link, j);
        } else {
            link = &j->next;
        }
    }
}

struct api_audits *api_audits_free(struct api_audits *a)
{
    if (!a)
        return NULL;
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    for (struct audit_job *j = a->jobs; j; j = j->next) {
        if (!ended(j)) {
            j->shutdown = true;
            atomic_store(&j->cancel, true);
        }
    }
    pthread_cond_broadcast(&a->changed);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->reaper, NULL); /* from now on no one but this thread changes the list */
    /* the jobs' threads take the lock to report their progress and end: joined without it */
    for (struct audit_job *j = a->jobs; j; j = j->next) {
        if (j->thread_started && !j->joined) {
            pthread_join(j->thread, NULL);
            j->joined = true;
        }
    }
    while (a->jobs)
        unlink_job(&a->jobs, a->jobs);
    pthread_cond_destroy(&a->changed);
    pthread_mutex_destroy(&a->lock);
    free(a);
    return NULL;
}

/* ---- the reports in memory ----------------------------------------------------------------- */

struct sink {
    struct audit_job *j;
    struct membuf *b;
};

/* Room for @n more bytes in @b, the job's budget checked: -EFBIG past it. */
static int reserve(struct audit_job *j, struct membuf *b, size_t n)
{
    if (n > j->max_report - j->bytes)
        return -EFBIG;
    if (b->cap - b->len >= n)
        return 0;
    size_t need = b->len + n, cap = b->cap ? b->cap : BUF_MIN;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (cap > j->max_report && need <= j->max_report)
        cap = (size_t)j->max_report;
    char *p = realloc(b->p, cap);
    if (!p)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

static int mem_sink(void *ctx, const void *p, size_t len)
{
    struct sink *s = ctx;
    int r = reserve(s->j, s->b, len);

    if (r < 0)
        return r;
    memcpy(s->b->p + s->b->len, p, len);
    s->b->len += len;
    s->j->bytes += len;
    return 0;
}

/* The HTML report's rows after its head, without a copy of the rows: the head (in the report's
   buffer) goes in front of them, in the rows' buffer, which becomes the report's. */
static int rows_replay(void *ctx, sm_audit_sink sink, void *sink_ctx)
{
    struct audit_job *j = ((struct sink *)ctx)->j;
    struct membuf *out = &j->out[SM_AUDIT_HTML], *rows = &j->rows;

    (void)sink;
    (void)sink_ctx;
    if (rows->cap - rows->len < out->len) {
        char *p = realloc(rows->p, rows->len + out->len + BUF_MIN);
        if (!p)
            return -ENOMEM;
        rows->p = p;
        rows->cap = rows->len + out->len + BUF_MIN;
    }
    memmove(rows->p + out->len, rows->p, rows->len);
    memcpy(rows->p, out->p, out->len);
    rows->len += out->len;
    free(out->p);
    *out = *rows;
    *rows = (struct membuf){ 0 };
    return 0;
}

/* Every buffer's spare room given back, once the reports are whole. */
static void trim(struct audit_job *j)
{
    for (size_t i = 0; i < SM_AUDIT__FORMATS; i++) {
        struct membuf *b = &j->out[i];
        if (b->len && b->cap > b->len) {
            char *p = realloc(b->p, b->len);
            if (p) {
                b->p = p;
                b->cap = b->len;
            }
        }
    }
    free(j->rows.p);
    j->rows = (struct membuf){ 0 };
}

/* Every report dropped (it grew past the budget, or the audit failed to write it). */
static void drop_reports(struct audit_job *j)
{
    for (size_t i = 0; i < SM_AUDIT__FORMATS; i++) {
        free(j->out[i].p);
        j->out[i] = (struct membuf){ 0 };
    }
    free(j->rows.p);
    j->rows = (struct membuf){ 0 };
    j->bytes = 0;
}

/* ---- the job's thread ---------------------------------------------------------------------- */

/* The accounts @j audited since it last counted them, into the set's metrics. Under the lock. */
static void count_accounts(struct audit_job *j)
{
    if (j->totals.accounts > j->counted) {
        j->set->accounts += j->totals.accounts - j->counted;
        j->counted = j->totals.accounts;
    }
}

struct run {
    struct audit_job *j;
    struct sm_audit *au;
    struct sm_audit_report *reports[SM_AUDIT__FORMATS];
    struct sink sinks[SM_AUDIT__FORMATS], rows;
    int64_t deadline_ms;
    bool auditing;
};

/* Before each account and pass: cancelled or out of time stops the walk; the progress copied. */
static int on_tick(void *ctx, const struct sm_audit_progress *p)
{
    struct run *r = ctx;
    struct audit_job *j = r->j;
    int64_t now = su_mono_ms();

    if (atomic_load_explicit(&j->cancel, memory_order_relaxed))
        return -ECANCELED;
    if (now >= r->deadline_ms)
        return -ETIMEDOUT;
    pthread_mutex_lock(&j->set->lock);
    j->progress = *p;
    sm_audit_totals(r->au, &j->totals);
    count_accounts(j);
    if (p->phase != SM_AUDIT_INDEXING && !r->auditing) {
        r->auditing = true;
        j->audit_start_ms = now;
    }
    pthread_mutex_unlock(&j->set->lock);
    return 0;
}

static int on_line(void *ctx, const struct sm_account *acc, const struct sm_audit_record *rec,
                   int code, const char *message)
{
    struct run *r = ctx;
    int rc = 0;

    for (size_t i = 0; i < SM_AUDIT__FORMATS && rc == 0; i++)
        if (r->reports[i])
            rc = sm_audit_report_line(r->reports[i], acc, rec, code, message);
    return rc;
}

static int open_reports(struct run *r)
{
    struct audit_job *j = r->j;
    struct sm_audit_html_opts ho = { .source = j->source,
                                     .profiles = j->s.profiles.v,
                                     .n_profiles = j->s.profiles.n,
                                     .at = j->s.at };
    int rc = 0;

    r->rows = (struct sink){ j, &j->rows };
    for (size_t i = 0; i < SM_AUDIT__FORMATS && rc == 0; i++) {
        if (!(j->s.formats & (1u << i)))
            continue;
        r->sinks[i] = (struct sink){ j, &j->out[i] };
        struct sm_audit_report_opts ro = { .format = (enum sm_audit_format)i,
                                           .out = mem_sink,
                                           .out_ctx = &r->sinks[i],
                                           .rows = mem_sink,
                                           .rows_ctx = &r->rows,
                                           .replay = rows_replay,
                                           .html = &ho };
        rc = sm_audit_report_new(&ro, &r->reports[i]);
    }
    return rc;
}

/* Why the walk stopped, as the report's summary and the job say it; NULL: it did not. */
static const char *stopped_by(const struct audit_job *j, int rc)
{
    switch (rc) {
    case 0: return NULL;
    case -ECANCELED: return j->shutdown ? "shutdown" : "cancelled";
    case -ETIMEDOUT: return "time_limit";
    case SM_E_DIR_DOWN:
    case SM_E_DIR_REFUSED:
    case SM_E_DIR_LIMIT: return "directory";
    default: return "error";
    }
}

/* The handles the audit walks and looks up with: two of the audit pool (LDAP), or the LDIF's
   shared one. */
static void take_handles(struct api_runtime *rt, struct sm_dir **walk, struct sm_dir **lookups)
{
    struct dirpool *pool = rt->audit_dir ? rt->audit_dir : rt->dir;

    *walk = dirpool_acquire(pool);
    *lookups = rt->audit_dir ? dirpool_acquire(pool) : *walk;
}

static void give_handles(struct api_runtime *rt, struct sm_dir *walk, struct sm_dir *lookups)
{
    struct dirpool *pool = rt->audit_dir ? rt->audit_dir : rt->dir;

    if (lookups != walk)
        dirpool_release(pool, lookups);
    dirpool_release(pool, walk);
}

static void *audit_main(void *arg)
{
    struct audit_job *j = arg;
    struct api_runtime *rt = j->rt;
    struct sm_audit_opts ao = { .profiles = j->s.profiles.v,
                                .n_profiles = j->s.profiles.n,
                                .at = j->s.at };
    struct run r = { .j = j };
    struct sm_audit_walk_opts wo = { .since = j->s.since,
                                     .page_size = j->s.page_size,
                                     .line = on_line,
                                     .tick = on_tick,
                                     .ctx = &r };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_audit_progress p = { .worst = -1 };
    struct sm_audit_totals t = { 0 };
    struct sm_dir *walk, *lookups;
    bool walked = false;
    int rc, end_rc = 0;

    pthread_mutex_lock(&j->set->lock);
    j->state = ST_RUNNING;
    j->started = time(NULL);
    j->start_ms = su_mono_ms();
    pthread_mutex_unlock(&j->set->lock);
    r.deadline_ms = j->start_ms + (int64_t)j->timeout_s * 1000;

    take_handles(rt, &walk, &lookups);
    rc = sm_audit_new(&ao, &r.au);
    if (rc == 0)
        rc = open_reports(&r);
    if (rc == 0) {
        walked = true;
        rc = sm_audit_walk(r.au, walk, lookups, &wo, &p, &e);
    }
    give_handles(rt, walk, lookups);
    if (r.au)
        sm_audit_totals(r.au, &t);
    const char *why = stopped_by(j, rc);
    /* the reports end, whole or partial, unless they grew too large or never began */
    for (size_t i = 0; walked && rc != -EFBIG && i < SM_AUDIT__FORMATS && end_rc == 0; i++)
        if (r.reports[i])
            end_rc = sm_audit_report_end(r.reports[i], &t, why);
    for (size_t i = 0; i < SM_AUDIT__FORMATS; i++)
        sm_audit_report_free(r.reports[i]);
    sm_audit_free(r.au);
    if (end_rc < 0)
        rc = end_rc; /* a report that cannot be ended is no report */
    bool reports = walked && rc != -EFBIG && end_rc == 0;
    if (reports)
        trim(j);
    else
        drop_reports(j);
    j->rt = NULL;
    api_runtime_unref(rt); /* a reload's old directory closes here when this was its last use */

    pthread_mutex_lock(&j->set->lock);
    j->progress = p;
    j->totals = t;
    j->has_report = reports;
    j->stopped_by = rc == -EFBIG ? "report_too_large" : why;
    if (rc == -ECANCELED) {
        j->state = ST_CANCELLED;
    } else if (rc < 0) {
        j->state = ST_FAILED;
        j->error_code = rc == -EFBIG       ? "report_too_large"
                        : rc == -ETIMEDOUT ? "time_limit"
                                           : sm_audit_error_name(rc);
        if (rc == -EFBIG)
            snprintf(j->error_message, sizeof(j->error_message),
                     "the reports passed [audit] max_report (%llu bytes) after %" PRIu64
                     " accounts: raise it, narrow the audit (since, format), or run strongmap "
                     "audit",
                     j->max_report, t.accounts);
        else if (rc == -ETIMEDOUT)
            snprintf(j->error_message, sizeof(j->error_message),
                     "stopped after [audit] timeout (%u s), %" PRIu64 " accounts audited: the "
                     "report is partial",
                     j->timeout_s, t.accounts);
        else
            snprintf(j->error_message, sizeof(j->error_message), "%s",
                     e.text[0] ? e.text : sm_strerror(rc));
    } else {
        j->state = ST_DONE;
        j->outcome = t.errors                                       ? "errors"
                     : j->s.fail_on >= 0 && p.worst >= j->s.fail_on ? "fail"
                                                                    : "pass";
    }
    j->finished = time(NULL);
    j->end_ms = su_mono_ms();
    j->expires_ms = j->end_ms + (int64_t)j->ttl_s * 1000;
    count_accounts(j);
    j->set->ended[j->state - ST_DONE]++;
    j->set->last_ms = j->end_ms - j->start_ms;
    pthread_cond_signal(&j->set->changed); /* the reaper: one more to forget in time */
    log_info("audit %.8s...: %s after %.1f s, %" PRIu64 " accounts%s%s%s", j->id,
             state_names[j->state], (double)(j->end_ms - j->start_ms) / 1000, t.accounts,
             j->error_code ? " (" : "", j->error_code ? j->error_message : "",
             j->error_code ? ")" : "");
    pthread_mutex_unlock(&j->set->lock); /* the last time: audits_*() join it after this */
    return NULL;
}

/* ---- starting, finding, deleting ----------------------------------------------------------- */

/* The second pass's total: exact, or while it is partial (over LDAP) the estimate from the
   share of value holders seen (sm_audit_estimated_total()); 0: neither. Under the lock. */
static uint64_t total_of(const struct audit_job *j)
{
    const struct sm_audit_progress *p = &j->progress;
    return p->total_partial ? sm_audit_estimated_total(p) : p->total;
}

/* The seconds @j may still take, from its pace so far; 0: not known. An estimate while the
   total is partial (progress.eta_estimated). Under the lock. */
static unsigned eta_of(const struct audit_job *j, int64_t now)
{
    const struct sm_audit_progress *p = &j->progress;
    uint64_t done = j->totals.accounts, total = total_of(j);

    if (j->state != ST_RUNNING || p->phase != SM_AUDIT_AUDITING || !j->audit_start_ms ||
        done == 0 || done > total || now <= j->audit_start_ms)
        return 0;
    double rate = (double)done / ((double)(now - j->audit_start_ms) / 1000);
    double eta = (double)(total - done) / rate;
    return eta > 86400 ? 86400 : (unsigned)eta;
}

/* Seconds until the first running job may end (its ETA), or until the first ended one expires
   (@ended_ones). Under the lock. */
static unsigned retry_after(struct api_audits *a, bool ended_ones)
{
    int64_t now = su_mono_ms();
    unsigned best = 0;

    for (const struct audit_job *j = a->jobs; j; j = j->next) {
        unsigned s;
        if (ended_ones && ended(j))
            s = j->expires_ms > now ? (unsigned)((j->expires_ms - now + 999) / 1000) : 1;
        else if (!ended_ones && !ended(j))
            s = eta_of(j, now) + 1;
        else
            continue;
        if (!best || s < best)
            best = s;
    }
    return best ? best : ETA_GUESS;
}

int audits_start(struct api_audits *a, struct api_runtime *rt, const struct audit_settings *s,
                 struct audit_job **ret, unsigned *ret_retry_after)
{
    unsigned char rnd[AUDIT_ID_LEN / 2];
    struct audit_job *j;
    unsigned running = 0, held = 0;
    int r;

    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -EAGAIN;
    if (!(j = calloc(1, sizeof(*j))))
        return -ENOMEM;
    atomic_init(&j->refs, 2); /* the set's, the caller's */
    atomic_init(&j->cancel, false);
    j->set = a;
    su_hex_lower(rnd, sizeof(rnd), j->id);
    j->s = *s;
    j->ttl_s = rt->audit_ttl_s;
    j->timeout_s = rt->audit_timeout_s;
    j->max_report = rt->audit_max_report;
    snprintf(j->source, sizeof(j->source), "%s",
             rt->audit_source[0] ? rt->audit_source : dirpool_kind(rt->dir));
    j->created = time(NULL);
    j->state = ST_QUEUED;

    pthread_mutex_lock(&a->lock);
    reap(a);
    for (const struct audit_job *o = a->jobs; o; o = o->next) {
        held++;
        running += !ended(o);
    }
    if (a->stopping) {
        r = -EAGAIN;
    } else if (running >= rt->audit_jobs) {
        *ret_retry_after = retry_after(a, false);
        r = -EBUSY;
    } else if (held >= rt->audit_jobs * API_AUDIT_KEEP_PER_JOB) {
        *ret_retry_after = retry_after(a, true);
        r = -ENOSPC;
    } else {
        j->rt = api_runtime_ref(rt);
        r = -pthread_create(&j->thread, NULL, audit_main, j);
        if (r == 0) {
            j->thread_started = true;
            j->next = a->jobs;
            a->jobs = j;
            a->started++;
        }
    }
    pthread_mutex_unlock(&a->lock);
    if (r < 0) {
        api_runtime_unref(j->rt);
        free(j);
        return r == -EBUSY || r == -ENOSPC ? r : -EAGAIN;
    }
    log_info("audit %.8s...: started for %s (%u formats, %zu profiles)", j->id,
             s->requester[0] ? s->requester : "a caller without a token",
             (unsigned)__builtin_popcount(s->formats), s->profiles.n);
    *ret = j;
    return 0;
}

/* @a and @b (AUDIT_ID_LEN bytes each) equal, in a time that does not tell where they differ. */
static bool same_id(const char *a, const char *b)
{
    unsigned char d = 0;

    for (size_t i = 0; i < AUDIT_ID_LEN; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

struct audit_job *audits_find(struct api_audits *a, const char *id)
{
    struct audit_job *found = NULL;

    if (strlen(id) != AUDIT_ID_LEN)
        return NULL;
    pthread_mutex_lock(&a->lock);
    reap(a);
    for (struct audit_job *j = a->jobs; j; j = j->next)
        if (same_id(j->id, id))
            found = audit_job_get(j);
    pthread_mutex_unlock(&a->lock);
    return found;
}

int audits_delete(struct api_audits *a, struct audit_job *j)
{
    int r = 0;

    pthread_mutex_lock(&a->lock);
    if (!ended(j)) {
        j->cancel_requested = true;
        atomic_store(&j->cancel, true);
    } else {
        for (struct audit_job **link = &a->jobs; *link; link = &(*link)->next) {
            if (*link == j) {
                log_info("audit %.8s...: deleted", j->id);
                a->forgotten[1]++;
                unlink_job(link, j);
                break;
            }
        }
        r = 1;
    }
    pthread_mutex_unlock(&a->lock);
    return r;
}

void audit_job_fetched(struct api_audits *a, struct audit_job *j, enum sm_audit_format f)
{
    pthread_mutex_lock(&a->lock);
    j->fetched |= 1u << f;
    if ((j->fetched & j->s.formats) == j->s.formats) {
        int64_t soon = su_mono_ms() + AUDIT_FETCHED_S * 1000;
        if (soon < j->expires_ms) {
            j->expires_ms = soon;
            pthread_cond_signal(&a->changed);
        }
    }
    pthread_mutex_unlock(&a->lock);
}

enum audit_report_state audit_job_report(struct audit_job *j, enum sm_audit_format f,
                                         const char **ret, size_t *ret_len, unsigned *ret_eta)
{
    enum audit_report_state st;

    pthread_mutex_lock(&j->set->lock);
    if (!ended(j)) {
        unsigned eta = eta_of(j, su_mono_ms());
        *ret_eta = eta ? eta : ETA_GUESS;
        st = AUDIT_REPORT_RUNNING;
    } else if (!j->has_report) {
        st = AUDIT_REPORT_NONE;
    } else if (!(j->s.formats & (1u << f))) {
        st = AUDIT_REPORT_NOT_BUILT;
    } else {
        *ret = j->out[f].p ? j->out[f].p : "";
        *ret_len = j->out[f].len;
        st = AUDIT_REPORT_READY;
    }
    pthread_mutex_unlock(&j->set->lock);
    return st;
}

void audits_metrics(struct api_audits *a, struct audits_metrics *m)
{
    *m = (struct audits_metrics){ 0 };
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    m->started = a->started;
    for (unsigned i = 0; i < AUDITS_ENDS; i++)
        m->ended[i] = a->ended[i];
    m->expired = a->forgotten[0];
    m->deleted = a->forgotten[1];
    m->accounts = a->accounts;
    m->last_seconds = (double)a->last_ms / 1000;
    for (const struct audit_job *j = a->jobs; j; j = j->next) {
        m->held++;
        if (!ended(j))
            m->running++;
        else
            m->report_bytes += j->bytes; /* written by its thread alone, which has ended */
    }
    pthread_mutex_unlock(&a->lock);
}

/* ---- the document -------------------------------------------------------------------------- */

static json_t *time_or_null(time_t t)
{
    struct tm tm;
    char buf[32];

    if (!t || !gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return json_string(buf);
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static const char *const media_types[SM_AUDIT__FORMATS] = { "application/jsonl", "text/csv",
                                                            "text/html" };

static json_t *options_json(const struct audit_job *j)
{
    json_t *o = json_object(), *profiles = json_array(), *formats = json_array();

    for (size_t i = 0; i < j->s.profiles.n; i++)
        json_array_append_new(profiles, json_string(sm_profile_name(j->s.profiles.v[i].kind)));
    for (unsigned f = 0; f < SM_AUDIT__FORMATS; f++)
        if (j->s.formats & (1u << f))
            json_array_append_new(formats, json_string(sm_audit_format_name(f)));
    json_object_set_new(o, "profiles", profiles);
    json_object_set_new(o, "at", time_or_null(j->s.at));
    json_object_set_new(o, "since", time_or_null(j->s.since));
    json_object_set_new(o, "page_size",
                        j->s.page_size ? json_integer(j->s.page_size) : json_null());
    json_object_set_new(o, "fail_on",
                        j->s.fail_on < 0 ? json_null()
                                         : json_string(sm_readiness_name(j->s.fail_on)));
    json_object_set_new(o, "formats", formats);
    return o;
}

static json_t *progress_json(const struct audit_job *j, int64_t now)
{
    static const char *const phases[] = { "indexing", "auditing", "given" };
    const struct sm_audit_progress *p = &j->progress;
    json_t *o = json_object();
    int64_t from = j->end_ms ? j->end_ms : now;
    double elapsed = j->start_ms ? (double)(from - j->start_ms) / 1000 : 0;
    double audit_s = j->audit_start_ms ? (double)(from - j->audit_start_ms) / 1000 : 0;
    unsigned eta = eta_of(j, now);

    json_object_set_new(o, "phase",
                        j->state == ST_RUNNING ? json_string(phases[p->phase]) : json_null());
    json_object_set_new(o, "indexed", json_integer((json_int_t)p->indexed));
    json_object_set_new(o, "total",
                        (p->phase == SM_AUDIT_INDEXING || p->total_partial) && !ended(j)
                            ? json_null()
                            : json_integer((json_int_t)p->total));
    json_object_set_new(o, "accounts", json_integer((json_int_t)j->totals.accounts));
    json_object_set_new(o, "elapsed_seconds", json_real(elapsed));
    json_object_set_new(o, "rate",
                        json_real(audit_s > 0 ? (double)j->totals.accounts / audit_s : 0));
    uint64_t guess = !ended(j) ? sm_audit_estimated_total(p) : 0;
    bool has_eta = j->state == ST_RUNNING && p->phase == SM_AUDIT_AUDITING && j->totals.accounts &&
                   j->totals.accounts <= total_of(j);
    json_object_set_new(o, "eta_seconds", has_eta ? json_integer(eta) : json_null());
    json_object_set_new(o, "estimated_total",
                        guess ? json_integer((json_int_t)guess) : json_null());
    json_object_set_new(o, "eta_estimated", json_boolean(has_eta && p->total_partial));
    return o;
}

static json_t *totals_json(const struct sm_audit_totals *t)
{
    json_t *o = json_object();
    const struct {
        const char *name;
        uint64_t n;
    } v[] = { { "accounts", t->accounts },
              { "ready", t->ready },
              { "at_risk", t->at_risk },
              { "blocked", t->blocked },
              { "errors", t->errors },
              { "certificates", t->certificates },
              { "values", t->values },
              { "duplicate_values", t->duplicate_values },
              { "stale_values", t->stale_values },
              { "samba_only_values", t->samba_only_values },
              { "windows_only_values", t->windows_only_values } };

    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        json_object_set_new(o, v[i].name, json_integer((json_int_t)v[i].n));
    return o;
}

static json_t *reports_json(const struct audit_job *j)
{
    json_t *a = json_array();
    char href[64];

    for (unsigned f = 0; j->has_report && f < SM_AUDIT__FORMATS; f++) {
        if (!(j->s.formats & (1u << f)))
            continue;
        snprintf(href, sizeof(href), "/v1/audits/%s?format=%s", j->id, sm_audit_format_name(f));
        json_t *r = json_object();
        json_object_set_new(r, "format", json_string(sm_audit_format_name(f)));
        json_object_set_new(r, "media_type", json_string(media_types[f]));
        json_object_set_new(r, "bytes", json_integer((json_int_t)j->out[f].len));
        json_object_set_new(r, "href", json_string(href));
        json_array_append_new(a, r);
    }
    return a;
}

int audit_job_json(struct audit_job *j, char **ret)
{
    json_t *o = json_object(), *err = json_null();
    int64_t now = su_mono_ms();
    time_t wall = time(NULL);

    pthread_mutex_lock(&j->set->lock);
    json_object_set_new(o, "id", json_string(j->id));
    json_object_set_new(o, "state", json_string(state_names[j->state]));
    json_object_set_new(o, "cancel_requested", json_boolean(j->cancel_requested));
    json_object_set_new(o, "requested_by",
                        j->s.requester[0] ? json_string(j->s.requester) : json_null());
    json_object_set_new(o, "created", time_or_null(j->created));
    json_object_set_new(o, "started", time_or_null(j->started));
    json_object_set_new(o, "finished", time_or_null(j->finished));
    json_object_set_new(o, "expires",
                        ended(j) ? time_or_null(wall + (j->expires_ms - now + 999) / 1000)
                                 : json_null());
    json_object_set_new(o, "options", options_json(j));
    json_object_set_new(o, "progress", progress_json(j, now));
    json_object_set_new(o, "totals", totals_json(&j->totals));
    json_object_set_new(o, "outcome", str_or_null(j->outcome));
    json_object_set_new(o, "partial", ended(j) ? json_boolean(j->stopped_by != NULL) : json_null());
    json_object_set_new(o, "stopped_by", str_or_null(j->stopped_by));
    if (j->error_code) {
        err = json_object();
        json_object_set_new(err, "code", json_string(j->error_code));
        json_object_set_new(err, "message", json_string(j->error_message));
    }
    json_object_set_new(o, "error", err);
    json_object_set_new(o, "reports", reports_json(j));
    pthread_mutex_unlock(&j->set->lock);
    *ret = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return *ret ? 0 : -ENOMEM;
}

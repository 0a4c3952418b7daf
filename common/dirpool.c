/*
 * common/dirpool.c - directory handles for the worker threads, the shared lookup cache, the
 * cached readiness probe, and the directory metrics of GET /metrics: every engine call made
 * on a pool's handle (dirpool_verdict(), dirpool_account_status(), dirpool_explain(), the
 * probe's sm_dir_ping()) is counted and timed here (see dirpool.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dirpool.h"
#include "hist.h"
#include "log.h"
#include "su_clock.h"

/* Directory metrics (dirpool.h), process-wide. */
static atomic_uint_fast64_t m_ops[DIRPOOL_OP__COUNT];
static atomic_uint_fast64_t m_errors[DIRPOOL_OP__COUNT][DIRPOOL_ERR__COUNT];
static struct hist m_latency[DIRPOOL_OP__COUNT];

struct dirpool {
    const char *kind;
    struct sm_dir_cache *cache; /* owned, may be NULL */
    bool shared;                /* LDIF: free[0] serves everyone */
    pthread_mutex_t lock;       /* free, n_free */
    pthread_cond_t returned;
    struct sm_dir **all; /* every handle, owned */
    struct sm_dir **free;
    size_t n_all, n_free;
    /* readiness */
    struct sm_dir *probe;        /* LDAP: own handle with short deadlines; LDIF: NULL */
    pthread_mutex_t probe_lock;  /* one probe at a time */
    pthread_mutex_t state_lock;  /* the fields below */
    bool checked;                /* a probe has finished */
    int64_t checked_ms;          /* CLOCK_MONOTONIC of its end */
    int state;                   /* its result */
    struct sm_errinfo state_err; /* and reason */
};

/* Count one operation @op that started at @t0 (su_mono_us()) and returned @r. */
static void count_op(enum dirpool_op op, int64_t t0, int r)
{
    int64_t us = su_mono_us() - t0;
    int e = -1;

    atomic_fetch_add_explicit(&m_ops[op], 1, memory_order_relaxed);
    hist_observe(&m_latency[op], us > 0 ? (uint64_t)us : 0);
    switch (r) {
    case SM_E_DIR_DOWN: e = DIRPOOL_ERR_DOWN; break;
    case SM_E_DIR_REFUSED: e = DIRPOOL_ERR_REFUSED; break;
    case SM_E_DIR_LIMIT: e = DIRPOOL_ERR_LIMIT; break;
    default: break;
    }
    if (e >= 0)
        atomic_fetch_add_explicit(&m_errors[op][e], 1, memory_order_relaxed);
}

void dirpool_metrics(struct dirpool_metrics *out)
{
    for (size_t op = 0; op < DIRPOOL_OP__COUNT; op++) {
        out->ops[op] = atomic_load_explicit(&m_ops[op], memory_order_relaxed);
        for (size_t e = 0; e < DIRPOOL_ERR__COUNT; e++)
            out->errors[op][e] = atomic_load_explicit(&m_errors[op][e], memory_order_relaxed);
    }
}

const struct hist *dirpool_latency(unsigned op)
{
    return &m_latency[op < DIRPOOL_OP__COUNT ? op : 0];
}

const char *dirpool_op_name(unsigned op)
{
    static const char *const names[DIRPOOL_OP__COUNT] = { "verdict", "account", "ping", "explain",
                                                          "preissue" };

    return op < DIRPOOL_OP__COUNT ? names[op] : "unknown";
}

const char *dirpool_err_name(unsigned err)
{
    static const char *const names[DIRPOOL_ERR__COUNT] = { "down", "refused", "limit" };

    return err < DIRPOOL_ERR__COUNT ? names[err] : "unknown";
}

static void add_handle(struct dirpool *p, struct sm_dir *h, unsigned ntauth_ttl_s)
{
    sm_dir_set_cache(h, p->cache);
    sm_dir_set_ntauth_ttl(h, ntauth_ttl_s);
    p->all[p->n_all++] = h;
    p->free[p->n_free++] = h;
}

int dirpool_open(const struct dirpool_config *cfg, struct dirpool **ret, struct sm_errinfo *reterr)
{
    bool ldif = cfg->dir->ldif != NULL;
    size_t n = ldif ? 1 : (cfg->handles ? cfg->handles : 1);
    struct dirpool *p;
    struct sm_dir *h;
    int r = -ENOMEM;

    p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->returned, NULL);
    pthread_mutex_init(&p->probe_lock, NULL);
    pthread_mutex_init(&p->state_lock, NULL);
    p->shared = ldif;
    p->kind = ldif ? "ldif" : "ldap";
    p->all = calloc(n, sizeof(*p->all));
    p->free = calloc(n, sizeof(*p->free));
    if (!p->all || !p->free)
        goto out_fail;
    if (cfg->cache_size > 0) {
        p->cache = sm_dir_cache_new(cfg->cache_size, cfg->cache_ttl_s, cfg->cache_negative_ttl_s);
        if (!p->cache)
            goto out_fail;
    }
    for (size_t i = 0; i < n; i++) {
        if ((r = opt_dir_open(cfg->dir, cfg->password, false, &h, reterr)) < 0)
            goto out_fail;
        add_handle(p, h, cfg->ntauth_ttl_s);
    }
    if (!ldif && (r = opt_dir_open(cfg->dir, cfg->password, true, &p->probe, reterr)) < 0)
        goto out_fail;
    *ret = p;
    return 0;

out_fail:
    if (r == -ENOMEM && reterr)
        snprintf(reterr->text, sizeof(reterr->text), "out of memory");
    dirpool_close(p);
    return r;
}

struct dirpool *dirpool_close(struct dirpool *p)
{
    if (!p)
        return NULL;
    for (size_t i = 0; i < p->n_all; i++)
        sm_dir_close(p->all[i]);
    sm_dir_close(p->probe);
    sm_dir_cache_free(p->cache);
    free(p->all);
    free(p->free);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->returned);
    pthread_mutex_destroy(&p->probe_lock);
    pthread_mutex_destroy(&p->state_lock);
    free(p);
    return NULL;
}

const char *dirpool_kind(const struct dirpool *p)
{
    return p->kind;
}

struct sm_dir *dirpool_acquire(struct dirpool *p)
{
    struct sm_dir *h;

    if (p->shared)
        return p->all[0];
    pthread_mutex_lock(&p->lock);
    while (p->n_free == 0)
        pthread_cond_wait(&p->returned, &p->lock);
    h = p->free[--p->n_free]; /* the most recently used: its connection is likely alive */
    pthread_mutex_unlock(&p->lock);
    return h;
}

void dirpool_release(struct dirpool *p, struct sm_dir *h)
{
    if (p->shared || !h)
        return;
    pthread_mutex_lock(&p->lock);
    p->free[p->n_free++] = h;
    pthread_cond_signal(&p->returned);
    pthread_mutex_unlock(&p->lock);
}

/* The last probe's answer if it is fresh enough (@any_age: however old). */
static bool last_state(struct dirpool *p, bool any_age, int *ret, struct sm_errinfo *reterr)
{
    bool have;

    pthread_mutex_lock(&p->state_lock);
    have = p->checked && (any_age || su_mono_ms() - p->checked_ms < DIRPOOL_READY_TTL_MS);
    if (have) {
        *ret = p->state;
        if (reterr)
            *reterr = p->state_err;
    }
    pthread_mutex_unlock(&p->state_lock);
    return have;
}

int dirpool_ready(struct dirpool *p, struct sm_errinfo *reterr)
{
    struct sm_errinfo e = { .offset = -1, .text = "" };
    struct sm_dir *h;
    bool was_checked;
    int64_t t0;
    int r, before;

    if (last_state(p, false, &r, reterr))
        return r;
    if (pthread_mutex_trylock(&p->probe_lock) != 0) {
        /* Another thread is probing: its predecessor's answer will do. */
        if (last_state(p, true, &r, reterr))
            return r;
        pthread_mutex_lock(&p->probe_lock); /* the very first probe: wait for it */
    }
    if (last_state(p, false, &r, reterr)) { /* answered while we waited */
        pthread_mutex_unlock(&p->probe_lock);
        return r;
    }
    h = p->probe ? p->probe : dirpool_acquire(p);
    t0 = su_mono_us();
    r = sm_dir_ping(h, &e);
    count_op(DIRPOOL_OP_PING, t0, r);
    if (!p->probe)
        dirpool_release(p, h);
    if (r < 0 && !e.text[0])
        snprintf(e.text, sizeof(e.text), "%s", sm_strerror(r));

    pthread_mutex_lock(&p->state_lock);
    was_checked = p->checked;
    before = p->state;
    p->checked = true;
    p->checked_ms = su_mono_ms();
    p->state = r;
    p->state_err = e;
    pthread_mutex_unlock(&p->state_lock);
    pthread_mutex_unlock(&p->probe_lock);

    if (r < 0 && (!was_checked || before == 0 || before != r))
        log_warnx("directory (%s) is not ready: %s", p->kind, e.text);
    else if (r == 0 && was_checked && before < 0)
        log_info("directory (%s) answers again", p->kind);
    if (reterr)
        *reterr = e;
    return r;
}

void dirpool_cache_clear(struct dirpool *p)
{
    if (p->cache)
        sm_dir_cache_clear(p->cache);
}

void dirpool_cache_stats(struct dirpool *p, struct sm_dir_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (p->cache)
        sm_dir_cache_stats(p->cache, out);
}

/* A failure's reason: the engine's, else the code's text. Returns @r. */
static int reason(int r, struct sm_errinfo *reterr)
{
    if (r < 0 && reterr && !reterr->text[0])
        snprintf(reterr->text, sizeof(reterr->text), "%s", sm_strerror(r));
    return r;
}

int dirpool_verdict(struct dirpool *p, const struct sm_verdict_input *in, struct sm_verdict **ret,
                    struct sm_errinfo *reterr)
{
    struct sm_dir *h = dirpool_acquire(p);
    int64_t t0 = su_mono_us();
    int r;

    r = sm_verdict_evaluate(h, in, ret, reterr);
    count_op(DIRPOOL_OP_VERDICT, t0, r);
    dirpool_release(p, h);
    return reason(r, reterr);
}

int dirpool_verdict_cached(struct dirpool *p, const struct sm_verdict_input *in,
                           struct sm_verdict **ret, struct sm_errinfo *reterr)
{
    struct sm_dir *h = NULL;
    int64_t t0;
    int r;

    if (p->shared) /* the LDIF: in memory, it never waits */
        return dirpool_verdict(p, in, ret, reterr);
    pthread_mutex_lock(&p->lock);
    if (p->n_free > 0)
        h = p->free[--p->n_free];
    pthread_mutex_unlock(&p->lock);
    if (!h)
        return SM_E_DIR_WOULD_BLOCK; /* every handle busy: not worth a wait on this thread */
    t0 = su_mono_us();
    sm_dir_set_cache_only(h, true);
    r = sm_verdict_evaluate(h, in, ret, reterr);
    sm_dir_set_cache_only(h, false);
    if (r != SM_E_DIR_WOULD_BLOCK)
        count_op(DIRPOOL_OP_VERDICT, t0, r);
    dirpool_release(p, h);
    return r == SM_E_DIR_WOULD_BLOCK ? r : reason(r, reterr);
}

int dirpool_account_status(struct dirpool *p, const char *name, const struct sm_profile *profiles,
                           size_t n_profiles, time_t at, struct sm_account_status **ret,
                           struct sm_errinfo *reterr)
{
    struct sm_dir *h = dirpool_acquire(p);
    int64_t t0 = su_mono_us();
    int r;

    r = sm_account_status(h, name, profiles, n_profiles, at, ret, reterr);
    count_op(DIRPOOL_OP_ACCOUNT, t0, r);
    dirpool_release(p, h);
    return reason(r, reterr);
}

int dirpool_explain(struct dirpool *p, const struct sm_kdc_events *ev, size_t max_lookups,
                    struct sm_events_explanation **ret, struct sm_errinfo *reterr)
{
    struct sm_dir *h = dirpool_acquire(p);
    int64_t t0 = su_mono_us();
    int r;

    r = sm_events_explain(h, ev, max_lookups, ret, reterr);
    count_op(DIRPOOL_OP_EXPLAIN, t0, r);
    dirpool_release(p, h);
    return reason(r, reterr);
}

int dirpool_preissue(struct dirpool *p, const struct sm_preissue_input *in,
                     struct sm_preissue **ret, struct sm_errinfo *reterr)
{
    struct sm_dir *h = dirpool_acquire(p);
    int64_t t0 = su_mono_us();
    int r;

    r = sm_preissue_plan(h, in, ret, reterr);
    count_op(DIRPOOL_OP_PREISSUE, t0, r);
    dirpool_release(p, h);
    return reason(r, reterr);
}

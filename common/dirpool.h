/*
 * common/dirpool.h - the directory as the HTTP handlers use it: a handle for each request in
 * progress, one lookup cache for all of them, and a readiness probe whose answer is kept for
 * DIRPOOL_READY_TTL_MS.
 *
 * A struct sm_dir serves one thread at a time (strongmap/dir.h) and the handlers run in
 * libmicrohttpd's worker threads. For LDAP the pool holds one handle per worker, opened at start
 * (connections are made lazily by the backend), all sharing one sm_dir_cache; a request takes one
 * for its duration. A worker runs one request at a time, so a free handle always exists. An LDIF
 * directory is instead one handle shared by every thread: lib/dir_ldif.c only reads its entries
 * after sm_dir_open_ldif() (queries write nothing but their own results), so concurrent queries
 * are safe, and a large export is held in memory once.
 *
 * Opened by daemon/reload.c for each runtime (struct api_runtime: before api_start(), and at
 * each reload), closed with it when no server and no request uses it any more. The pool knows
 * nothing of HTTP: it counts its operations (below) and api/metrics.c reads the counters for GET
 * /metrics through dirpool_metrics() and dirpool_latency().
 */
#ifndef SM_COMMON_DIRPOOL_H
#define SM_COMMON_DIRPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <strongmap/dir.h>
#include <strongmap/events.h>
#include <strongmap/preissue.h>
#include <strongmap/verdict.h>

#include "hist.h"
#include "options.h"

/* How long a readiness answer is reused, so that /readyz cannot hammer the directory. */
#define DIRPOOL_READY_TTL_MS 1000

struct dirpool_config {
    const struct opt_dir *dir; /* configured and checked (opt_dir_check) */
    const char *password;      /* LDAP simple bind password or NULL; not kept by the pool */
    unsigned handles;          /* LDAP: handles to open, one per worker thread */
    size_t cache_size;         /* lookup cache entries, 0: no cache */
    unsigned cache_ttl_s, cache_negative_ttl_s;
    unsigned ntauth_ttl_s; /* how long each handle keeps the NTAuth store (sm_dir_set_ntauth_ttl) */
};

struct dirpool;

/**
 * Open the directory: LDIF is read and parsed (a syntax error fails, with its line in @reterr);
 * LDAP handles are set up without connecting (a bad setting fails with -EINVAL). Returns 0,
 * -ENOMEM or what sm_dir_open_ldif() / sm_dir_open_ldap() return.
 */
int dirpool_open(const struct dirpool_config *cfg, struct dirpool **ret, struct sm_errinfo *reterr);

/** Close every handle and the cache; NULL is fine. No handle may be in use. Returns NULL. */
struct dirpool *dirpool_close(struct dirpool *p);

/** "ldif" or "ldap". */
const char *dirpool_kind(const struct dirpool *p);

/** A handle for the calling thread's exclusive use (waits while none is free). Never NULL. */
struct sm_dir *dirpool_acquire(struct dirpool *p);

/** Give back a handle from dirpool_acquire(). */
void dirpool_release(struct dirpool *p, struct sm_dir *h);

/**
 * Does the directory answer? sm_dir_ping() on a probe handle with short deadlines
 * (OPT_PROBE_TIMEOUT_MS), at most once per DIRPOOL_READY_TTL_MS: callers in between, or while a
 * probe runs, get the last answer. 0, or SM_E_DIR_DOWN / SM_E_DIR_REFUSED / -ENOMEM with the
 * reason in @reterr. A change of state is logged.
 */
int dirpool_ready(struct dirpool *p, struct sm_errinfo *reterr);

/** Lookup cache counters (all zero without a cache). */
void dirpool_cache_stats(struct dirpool *p, struct sm_dir_cache_stats *out);

/** Drop every cached lookup (after strongmapd wrote to the directory: mapping write-back). */
void dirpool_cache_clear(struct dirpool *p);

/**
 * sm_verdict_evaluate() / sm_account_status() on a handle of the pool (acquired and released
 * here), counted in the directory metrics below. Same results as those; the text of @reterr
 * says why they failed (the code's, sm_strerror(), when the engine gave none).
 */
int dirpool_verdict(struct dirpool *p, const struct sm_verdict_input *in, struct sm_verdict **ret,
                    struct sm_errinfo *reterr);
int dirpool_account_status(struct dirpool *p, const char *name, const struct sm_profile *profiles,
                           size_t n_profiles, time_t at, struct sm_account_status **ret,
                           struct sm_errinfo *reterr);
/**
 * dirpool_verdict() for a thread that must not wait: with a handle that is free now, from the
 * lookup cache and the handle's kept NTAuth store alone (sm_dir_set_cache_only()). The same
 * verdict as dirpool_verdict(), or SM_E_DIR_WOULD_BLOCK, with nothing counted, when the
 * directory would have to be asked or no handle is free: then call dirpool_verdict() where
 * waiting is fine. An LDIF pool always answers.
 */
int dirpool_verdict_cached(struct dirpool *p, const struct sm_verdict_input *in,
                           struct sm_verdict **ret, struct sm_errinfo *reterr);

/** sm_events_explain() on a handle of the pool, counted the same way. */
int dirpool_explain(struct dirpool *p, const struct sm_kdc_events *ev, size_t max_lookups,
                    struct sm_events_explanation **ret, struct sm_errinfo *reterr);

/** sm_preissue_plan() on a handle of the pool, counted the same way (op "preissue"). */
int dirpool_preissue(struct dirpool *p, const struct sm_preissue_input *in,
                     struct sm_preissue **ret, struct sm_errinfo *reterr);

/*
 * Directory metrics, for the whole process (they carry on across pools, as a reload may open a
 * new one): operations, their failures and durations. An operation is one engine call against
 * the directory: a verdict, an account status or the explanation of KDC events (one or more
 * lookups, from the cache or the server), or a readiness probe (sm_dir_ping()).
 */
enum dirpool_op {
    DIRPOOL_OP_VERDICT = 0,
    DIRPOOL_OP_ACCOUNT,
    DIRPOOL_OP_PING,
    DIRPOOL_OP_EXPLAIN,
    DIRPOOL_OP_PREISSUE,
    DIRPOOL_OP__COUNT
};
enum dirpool_err {
    DIRPOOL_ERR_DOWN = 0, /* SM_E_DIR_DOWN */
    DIRPOOL_ERR_REFUSED,  /* SM_E_DIR_REFUSED */
    DIRPOOL_ERR_LIMIT,    /* SM_E_DIR_LIMIT */
    DIRPOOL_ERR__COUNT
};

struct dirpool_metrics {
    uint64_t ops[DIRPOOL_OP__COUNT];
    uint64_t errors[DIRPOOL_OP__COUNT][DIRPOOL_ERR__COUNT];
};

/** A snapshot of the counters. */
void dirpool_metrics(struct dirpool_metrics *out);
/** The duration histogram of @op. */
const struct hist *dirpool_latency(unsigned op);
/** "verdict", "account", "ping", "explain" / "down", "refused", "limit". */
const char *dirpool_op_name(unsigned op);
const char *dirpool_err_name(unsigned err);

#endif

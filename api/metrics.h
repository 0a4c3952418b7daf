/*
 * api/metrics.h - the counters behind GET /metrics (Prometheus text format 0.0.4).
 *
 * Every counter is a 64-bit atomic updated with relaxed ordering: a request adds to a handful
 * of them (its route and status, one latency bucket, a few more for verdicts), and a scrape
 * reads them all without stopping anyone. A scrape may see one request's counters half
 * updated; Prometheus does not mind. Private to api/ (dirpool.c uses the histogram type).
 */
#ifndef SM_API_METRICS_H
#define SM_API_METRICS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Latency buckets, upper bounds in microseconds: 0.5 ms .. 5 s, then +Inf. */
#define HIST_BUCKETS 13
#define HIST_BOUNDS_US                                                                             \
    {                                                                                              \
        500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000,      \
            5000000                                                                                \
    }

/** A latency histogram: per-bucket (not cumulative) counts, the last one for +Inf. */
struct hist {
    atomic_uint_fast64_t bucket[HIST_BUCKETS + 1];
    atomic_uint_fast64_t sum_us;
};

/** Count one observation of @us microseconds. */
void hist_observe(struct hist *h, uint64_t us);

/** A growing text buffer for the exposition; on allocation failure it stops growing and
 * remembers (@failed). */
struct mbuf {
    char *p;
    size_t len, cap;
    int failed;
};

void mbuf_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Write @h as the histogram @name with the label set @labels (e.g. `route="/healthz"`, or ""),
 * after a `# HELP` / `# TYPE` header when @help is not NULL.
 */
void hist_render(struct mbuf *b, const char *name, const char *help, const char *labels,
                 const struct hist *h);

#endif

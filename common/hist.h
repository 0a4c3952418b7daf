/*
 * common/hist.h - a latency histogram that threads update without a lock: a count per bucket
 * and a sum, each a 64-bit atomic updated with relaxed ordering (a reader may see one
 * observation half counted; Prometheus does not mind).
 *
 * The API counts its request durations in it (api/metrics.c, which also renders histograms for
 * GET /metrics) and the directory pool its operation durations (common/dirpool.c). A leaf
 * module: it includes nothing of the tree.
 */
#ifndef SM_COMMON_HIST_H
#define SM_COMMON_HIST_H

#include <stdatomic.h>
#include <stdint.h>

/* Latency buckets: HIST_BUCKETS upper bounds, then +Inf. */
#define HIST_BUCKETS 13

/** The bounds in microseconds, ascending: 0.5 ms .. 5 s. */
extern const uint64_t hist_bounds_us[HIST_BUCKETS];

/** Per-bucket (not cumulative) counts, the last one for +Inf, and the sum. All zero: empty. */
struct hist {
    atomic_uint_fast64_t bucket[HIST_BUCKETS + 1];
    atomic_uint_fast64_t sum_us;
};

/** Count one observation of @us microseconds. */
void hist_observe(struct hist *h, uint64_t us);

#endif

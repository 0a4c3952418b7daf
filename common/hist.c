/*
 * common/hist.c - the lock-free latency histogram (see hist.h).
 */
#include <stddef.h>

#include "hist.h"

const uint64_t hist_bounds_us[HIST_BUCKETS] = { 500,     1000,    2500,   5000,   10000,
                                                25000,   50000,   100000, 250000, 500000,
                                                1000000, 2500000, 5000000 };

void hist_observe(struct hist *h, uint64_t us)
{
    size_t i = 0;

    while (i < HIST_BUCKETS && us > hist_bounds_us[i])
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
}

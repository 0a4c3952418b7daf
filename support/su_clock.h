/*
 * support/su_clock.h - the monotonic clock (CLOCK_MONOTONIC): now, and timespec arithmetic for
 * deadlines (pthread_cond_timedwait() with a condition variable set to that clock). Not
 * installed.
 */
#ifndef SM_SUPPORT_CLOCK_H
#define SM_SUPPORT_CLOCK_H

#include <stdint.h>
#include <time.h>

/** CLOCK_MONOTONIC now. */
struct timespec su_mono_ts(void);
/** CLOCK_MONOTONIC now, in nanoseconds. */
int64_t su_mono_ns(void);
/** CLOCK_MONOTONIC now, in microseconds. */
int64_t su_mono_us(void);
/** CLOCK_MONOTONIC now, in milliseconds. */
int64_t su_mono_ms(void);

/** @t plus @ms milliseconds (tv_nsec stays below one second). */
struct timespec su_ts_add_ms(struct timespec t, unsigned ms);
/** @a - @b in milliseconds (the part below a second truncated towards zero). */
int64_t su_ts_diff_ms(struct timespec a, struct timespec b);
/** @a - @b in microseconds (the part below a second truncated towards zero). */
int64_t su_ts_diff_us(struct timespec a, struct timespec b);

#endif

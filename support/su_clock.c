/*
 * support/su_clock.c - the monotonic clock.
 */
#include "su_clock.h"

#define NS_PER_S 1000000000L

struct timespec su_mono_ts(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

int64_t su_mono_ns(void)
{
    struct timespec t = su_mono_ts();

    return (int64_t)t.tv_sec * NS_PER_S + t.tv_nsec;
}

int64_t su_mono_us(void)
{
    return su_mono_ns() / 1000;
}

int64_t su_mono_ms(void)
{
    return su_mono_ns() / 1000000;
}

struct timespec su_ts_add_ms(struct timespec t, unsigned ms)
{
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= NS_PER_S) {
        t.tv_sec++;
        t.tv_nsec -= NS_PER_S;
    }
    return t;
}

int64_t su_ts_diff_ms(struct timespec a, struct timespec b)
{
    return (int64_t)(a.tv_sec - b.tv_sec) * 1000 + (a.tv_nsec - b.tv_nsec) / 1000000L;
}

int64_t su_ts_diff_us(struct timespec a, struct timespec b)
{
    return (int64_t)(a.tv_sec - b.tv_sec) * 1000000 + (a.tv_nsec - b.tv_nsec) / 1000L;
}

/*
 * support/su_time.h - calendar arithmetic: days since 1970-01-01, days in a month. Not
 * installed.
 */
#ifndef SM_SUPPORT_TIME_H
#define SM_SUPPORT_TIME_H

#include <stdint.h>

/**
 * Days from 1970-01-01 to the proleptic Gregorian date @y-@m-@d (@m 1-12, @d 1-31; a day past
 * the month's end counts on into the next, as timegm() does): timegm() in arithmetic.
 */
int64_t su_days_from_civil(int64_t y, unsigned m, unsigned d);

/** Days in month @m (1-12) of the proleptic Gregorian year @y: 28 to 31. */
unsigned su_days_in_month(int64_t y, unsigned m);

#endif

/*
 * support/su_time.c - calendar arithmetic.
 */
#include <assert.h>
#include <stdbool.h>

#include "su_time.h"

/*
 * The civil-from-days inverse of H. Hinnant's date algorithms: what timegm() computes, in
 * arithmetic instead of glibc's mktime machinery (two calls per certificate cost more than the
 * serial and times together).
 */
int64_t su_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);                       /* [0, 399] */
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + (int64_t)doe - 719468;
}

unsigned su_days_in_month(int64_t y, unsigned m)
{
    static const unsigned char days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

    assert(m >= 1 && m <= 12);
    return days[m - 1] + (m == 2 && leap);
}

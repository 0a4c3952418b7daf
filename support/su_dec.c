/*
 * support/su_dec.c - unsigned decimal numbers from text.
 */
#include <assert.h>
#include <errno.h>

#include "su_dec.h"

int su_dec_u64(const char *s, size_t len, uint64_t max, size_t *ret_used, uint64_t *ret)
{
    uint64_t v = 0;
    bool over = false;
    size_t i = 0;

    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (over || d > max || v > max / 10 || v * 10 > max - d)
            over = true;
        else
            v = v * 10 + d;
    }
    if (i == 0 || (!ret_used && i < len))
        return -EINVAL;
    if (over)
        return -ERANGE;
    if (ret_used)
        *ret_used = i;
    *ret = v;
    return 0;
}

bool su_dec_fixed(const char *s, size_t n, int *ret)
{
    uint64_t v;

    assert(n >= 1 && n <= 9);
    if (su_dec_u64(s, n, UINT64_MAX, NULL, &v) < 0)
        return false;
    *ret = (int)v;
    return true;
}

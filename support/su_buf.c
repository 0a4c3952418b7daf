/*
 * support/su_buf.c - a growable text buffer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "su_base64.h"
#include "su_buf.h"
#include "su_hex.h"

#define SU_BUF_FIRST 64 /* bytes of a buffer's first block */

void *su_buf_heap_alloc(void *ctx, void *p, size_t keep, size_t size)
{
    (void)ctx;
    (void)keep;
    if (size == 0) {
        free(p);
        return NULL;
    }
    return realloc(p, size);
}

void su_buf_init(struct su_buf *b, su_buf_alloc_fn *alloc, void *ctx)
{
    memset(b, 0, sizeof(*b));
    b->alloc = alloc ? alloc : su_buf_heap_alloc;
    b->ctx = ctx;
}

bool su_buf_reserve(struct su_buf *b, size_t extra)
{
    if (b->oom)
        return false;
    if (extra < b->cap - b->len)
        return true;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->oom = true;
        return false;
    }
    size_t cap = b->cap ? b->cap * 2 : SU_BUF_FIRST;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *p = b->alloc(b->ctx, b->p, b->len, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void su_buf_put(struct su_buf *b, const char *s, size_t len)
{
    if ((b->oom || len >= b->cap - b->len) && !su_buf_reserve(b, len))
        return;
    if (len) /* @s may be NULL then (an empty answer): memcpy() must not see it */
        memcpy(b->p + b->len, s, len);
    b->len += len;
    b->p[b->len] = '\0';
}

void su_buf_putc(struct su_buf *b, char c)
{
    if ((b->oom || b->cap - b->len <= 1) && !su_buf_reserve(b, 1))
        return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

void su_buf_puts(struct su_buf *b, const char *s)
{
    su_buf_put(b, s, strlen(s));
}

void su_buf_printf(struct su_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true;
        return;
    }
    if ((size_t)n < sizeof(tmp)) {
        su_buf_put(b, tmp, (size_t)n);
        return;
    }
    if (!su_buf_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void su_buf_hex(struct su_buf *b, const uint8_t *p, size_t len)
{
    if (len > SIZE_MAX / 2 || !su_buf_reserve(b, 2 * len))
        return;
    su_hex_upper(p, len, b->p + b->len);
    b->len += 2 * len;
}

void su_buf_base64(struct su_buf *b, const uint8_t *p, size_t len)
{
    size_t n = (len + 2) / 3 * 4;
    if (len > SIZE_MAX / 2 || !su_buf_reserve(b, n))
        return;
    su_base64_encode(p, len, b->p + b->len);
    b->len += n;
}

int su_buf_read(struct su_buf *b, FILE *f, size_t max)
{
    size_t start = b->len;

    for (;;) {
        /* room for one byte more than @max, to tell @max bytes from more */
        size_t got = b->len - start, left = max - got < SIZE_MAX ? max - got + 1 : SIZE_MAX;
        if (!su_buf_reserve(b, left < 65536 ? left : 65536))
            return -ENOMEM;
        size_t want = b->cap - b->len - 1;
        if (want > left)
            want = left;
        size_t n = fread(b->p + b->len, 1, want, f);
        b->len += n;
        b->p[b->len] = '\0';
        if (b->len - start > max) {
            b->len = start + max;
            b->p[b->len] = '\0';
            return -EFBIG;
        }
        if (n < want)
            return ferror(f) ? -EIO : 0;
    }
}

const char *su_buf_str(const struct su_buf *b)
{
    if (b->oom)
        return NULL;
    if (!b->p)
        return "";
    return b->p;
}

void su_buf_release(struct su_buf *b)
{
    if (b->p)
        b->alloc(b->ctx, b->p, 0, 0);
    b->p = NULL;
    b->len = b->cap = 0;
}

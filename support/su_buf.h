/*
 * support/su_buf.h - a growable NUL-terminated text buffer. Not installed.
 *
 * Writes never fail: after an allocation failure the buffer sets ->oom and ignores further
 * writes, so a caller checks once at the end (su_buf_str() is then NULL). Its storage comes
 * from an allocator the owner gives (lib/: an arena, or the engine's allocator that tests make
 * fail), else from realloc().
 */
#ifndef SM_SUPPORT_BUF_H
#define SM_SUPPORT_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/**
 * A buffer's allocator: a block of @size bytes holding the first @keep bytes of @p (NULL:
 * none), like realloc(), or NULL with @p untouched; with @size 0, release @p and return NULL.
 */
typedef void *su_buf_alloc_fn(void *ctx, void *p, size_t keep, size_t size);
/** realloc() and free() as such an allocator (@ctx unused): the default. */
void *su_buf_heap_alloc(void *ctx, void *p, size_t keep, size_t size);

struct su_buf {
    char *p;                /* the text, NUL-terminated once anything was written */
    size_t len, cap;        /* bytes written; bytes allocated */
    bool oom;               /* an allocation failed: writes are ignored */
    su_buf_alloc_fn *alloc; /* NULL: realloc() and free() */
    void *ctx;              /* @alloc's */
};

/** An empty buffer whose storage comes from @alloc (NULL: realloc() and free()). */
void su_buf_init(struct su_buf *b, su_buf_alloc_fn *alloc, void *ctx);
/** Room for @extra more bytes and the NUL; false (and ->oom) when it cannot be had. */
bool su_buf_reserve(struct su_buf *b, size_t extra);
/** @len bytes of @s (NULL when @len is 0). */
void su_buf_put(struct su_buf *b, const char *s, size_t len);
void su_buf_putc(struct su_buf *b, char c);
void su_buf_puts(struct su_buf *b, const char *s);
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void su_buf_printf(struct su_buf *b, const char *fmt, ...);
/** Upper-case hex of @len bytes. */
void su_buf_hex(struct su_buf *b, const uint8_t *p, size_t len);
/** Standard base64 (RFC 4648, with padding) of @len bytes. */
void su_buf_base64(struct su_buf *b, const uint8_t *p, size_t len);
/**
 * Append everything @f has left to read, at most @max bytes. Returns 0, -EFBIG when @f holds
 * more (what was read stays), -EIO on a read error, or -ENOMEM.
 */
int su_buf_read(struct su_buf *b, FILE *f, size_t max);
/** The text, "" when nothing was written; NULL after an allocation failure. */
const char *su_buf_str(const struct su_buf *b);
/** Give the storage back to the allocator and empty the buffer (->oom stays as it was). */
void su_buf_release(struct su_buf *b);

#endif

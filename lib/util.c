/*
 * lib/util.c - arena, buffers in an arena, UTF-8 repair, findings and error text.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <strongmap/strongmap.h>

#include "alloc.h"
#include "util.h"

/* ---- arena ---------------------------------------------------------------------------- */

#define ARENA_CHUNK 8192

struct chunk {
    struct chunk *next;
    size_t used, size;
    max_align_t data[]; /* payload */
};

struct arena {
    struct chunk *head;
};

struct arena *arena_new(void)
{
    return mem_calloc(1, sizeof(struct arena));
}

struct arena *arena_free(struct arena *a)
{
    if (!a)
        return NULL;
    for (struct chunk *c = a->head, *next; c; c = next) {
        next = c->next;
        mem_free(c);
    }
    mem_free(a);
    return NULL;
}

/* Uninitialised memory, aligned for any type. */
static void *arena_alloc_raw(struct arena *a, size_t size)
{
    const size_t align = sizeof(max_align_t);
    if (mem_fail_here())
        return NULL;
    size = (size + align - 1) & ~(align - 1);
    if (size == 0)
        size = align;
    struct chunk *c = a->head;
    if (!c || c->size - c->used < size) {
        size_t csize = size > ARENA_CHUNK / 2 ? size : ARENA_CHUNK;
        c = mem_malloc(sizeof(*c) + csize);
        if (!c)
            return NULL;
        c->size = csize;
        c->used = 0;
        /* A large one-off allocation goes behind the current chunk so the rest stays usable. */
        if (a->head && csize != ARENA_CHUNK) {
            c->next = a->head->next;
            a->head->next = c;
        } else {
            c->next = a->head;
            a->head = c;
        }
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    return p;
}

void *arena_alloc(struct arena *a, size_t size)
{
    void *p = arena_alloc_raw(a, size);
    if (p)
        memset(p, 0, size);
    return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t len)
{
    char *p = arena_alloc_raw(a, len + 1);
    if (!p)
        return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
    return arena_strndup(a, s, strlen(s));
}

char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *p = arena_alloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *arena_cat(struct arena *a, ...)
{
    va_list ap;
    size_t len = 0;
    const char *s;

    va_start(ap, a);
    while ((s = va_arg(ap, const char *)))
        len += strlen(s);
    va_end(ap);
    char *p = arena_alloc_raw(a, len + 1), *o = p;
    if (!p)
        return NULL;
    va_start(ap, a);
    while ((s = va_arg(ap, const char *))) {
        size_t n = strlen(s);
        memcpy(o, s, n);
        o += n;
    }
    va_end(ap);
    *o = '\0';
    return p;
}

char *arena_hex(struct arena *a, const uint8_t *p, size_t len)
{
    char *s = arena_alloc_raw(a, 2 * len + 1);
    if (s)
        su_hex_upper(p, len, s);
    return s;
}

char *arena_printf(struct arena *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = arena_vprintf(a, fmt, ap);
    va_end(ap);
    return p;
}

/* ---- buffers ---------------------------------------------------------------------------- */

static void *buf_arena_alloc(void *ctx, void *p, size_t keep, size_t size)
{
    char *n;
    if (size == 0)
        return NULL; /* the arena frees it */
    n = arena_alloc_raw(ctx, size);
    if (n && keep)
        memcpy(n, p, keep);
    return n;
}

void *mem_buf_alloc(void *ctx, void *p, size_t keep, size_t size)
{
    (void)ctx;
    (void)keep;
    if (size == 0) {
        mem_free(p);
        return NULL;
    }
    return mem_realloc(p, size);
}

void arena_buf_init(struct su_buf *b, struct arena *a)
{
    su_buf_init(b, a ? buf_arena_alloc : mem_buf_alloc, a);
}

/* ---- decimal ---------------------------------------------------------------------------- */

size_t dec_u64(uint64_t v, char out[20])
{
    char rev[20];
    size_t n = 0;
    do {
        rev[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = rev[n - 1 - i];
    return n;
}

/* ---- UTF-8 ---------------------------------------------------------------------------- */

void utf8_put(struct su_buf *b, uint32_t cp)
{
    char out[4];
    su_buf_put(b, out, su_utf8_encode(cp, out));
}

bool utf8_sanitize(struct su_buf *b, const char *p, size_t len)
{
    const unsigned char *u = (const unsigned char *)p;
    bool replaced = false;
    size_t start = 0, i = 0;
    while (i < len) {
        uint32_t cp;
        size_t n = su_utf8_seq(u + i, len - i, &cp);
        if (n == 0 || cp == 0) {
            su_buf_put(b, p + start, i - start);
            utf8_put(b, 0xfffd);
            replaced = true;
            i += 1;
            start = i;
            continue;
        }
        i += n;
    }
    su_buf_put(b, p + start, i - start);
    return replaced;
}

bool ascii_caseeq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return false;
    for (size_t i = 0; i < alen; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x = (unsigned char)(x + 32);
        if (y >= 'A' && y <= 'Z')
            y = (unsigned char)(y + 32);
        if (x != y)
            return false;
    }
    return true;
}

bool name_caseeq(const char *a, const char *b)
{
    return a && b && ascii_caseeq(a, strlen(a), b, strlen(b));
}

const char *dn_dns_domain(struct arena *a, const char *dn, bool *oom)
{
    struct su_buf b;
    arena_buf_init(&b, a);
    for (const char *p = dn; p && *p;) {
        while (*p == ' ')
            p++;
        size_t len = 0;
        while (p[len] && p[len] != ',' && p[len] != '+' && p[len] != '\\')
            len++;
        if (p[len] == '\\')
            return NULL;
        if (len > 3 && ascii_caseeq(p, 3, "dc=", 3)) {
            if (b.len)
                su_buf_putc(&b, '.');
            su_buf_put(&b, p + 3, len - 3);
        }
        p += len;
        if (*p)
            p++;
    }
    *oom = b.oom;
    return b.len && !b.oom ? su_buf_str(&b) : NULL;
}

/* ---- findings and errors ---------------------------------------------------------------- */

int findings_add(struct sm_findings *f, struct arena *a, const char *code, enum sm_severity sev,
                 const char *fix, const char *fmt, ...)
{
    if (f->n >= SM_MAX_FINDINGS) {
        f->truncated = true;
        return 0;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = arena_vprintf(a, fmt, ap);
    va_end(ap);
    if (!msg)
        return -ENOMEM;
    char *fixcopy = NULL;
    if (fix && !(fixcopy = arena_strdup(a, fix)))
        return -ENOMEM;
    struct sm_finding *x = &f->v[f->n++];
    x->code = code;
    x->severity = sev;
    x->message = msg;
    x->fix = fixcopy;
    return 0;
}

bool sm_findings_has(const struct sm_findings *f, const char *code)
{
    for (size_t i = 0; i < f->n; i++)
        if (strcmp(f->v[i].code, code) == 0)
            return true;
    return false;
}

const char *sm_severity_name(enum sm_severity sev)
{
    switch (sev) {
    case SM_SEV_INFO: return "info";
    case SM_SEV_WARNING: return "warning";
    case SM_SEV_ERROR: return "error";
    }
    return "error";
}

void errinfo_set(struct sm_errinfo *e, long offset, const char *fmt, ...)
{
    if (!e)
        return;
    e->offset = offset;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
    va_end(ap);
}

/*
 * lib/alloc.c - the test hook of the engine's allocator (lib/alloc.h): the traced versions of
 * malloc, calloc, realloc and free that count calls, fail the chosen one and follow the blocks
 * a trace made. The untraced path is the inline functions of the header.
 */
#include <errno.h>
#include <stdlib.h>

#include "alloc.h"

#define TRACE_MAX_LIVE 16384 /* blocks one trace follows; more sets ->overflow */

bool mem_tracing;

struct block {
    void *p;
    size_t size;
};

static struct {
    unsigned long fail_at;
    struct mem_trace st;
    struct block *live; /* the blocks made during the trace and not freed, unordered */
    size_t n;
} trace;

/* The next call: false when it is the one chosen to fail (then errno is ENOMEM). */
static bool call_ok(void)
{
    if (++trace.st.calls != trace.fail_at)
        return true;
    trace.st.failed = true;
    errno = ENOMEM;
    return false;
}

bool mem_traced_fail(void)
{
    return !call_ok();
}

static struct block *find(const void *p)
{
    for (size_t i = 0; i < trace.n; i++)
        if (trace.live[i].p == p)
            return &trace.live[i];
    return NULL;
}

static void track(void *p, size_t size)
{
    if (trace.n == TRACE_MAX_LIVE || !trace.live) {
        trace.st.overflow = true;
        return;
    }
    trace.live[trace.n++] = (struct block){ p, size };
}

static void untrack(struct block *b)
{
    *b = trace.live[--trace.n];
}

void *mem_traced_malloc(size_t size)
{
    if (!call_ok())
        return NULL;
    void *p = malloc(size);
    if (p)
        track(p, size);
    return p;
}

void *mem_traced_calloc(size_t n, size_t size)
{
    if (!call_ok())
        return NULL;
    void *p = calloc(n, size);
    if (p)
        track(p, n * size);
    return p;
}

void *mem_traced_realloc(void *old, size_t size)
{
    if (!call_ok())
        return NULL;
    struct block *b = old ? find(old) : NULL;
    void *p = realloc(old, size);
    if (!p)
        return NULL;
    if (b)
        *b = (struct block){ p, size };
    else if (!old)
        track(p, size);
    /* a block made before the trace and grown during it stays uncounted */
    return p;
}

void mem_traced_free(void *p)
{
    struct block *b = p ? find(p) : NULL;
    if (b)
        untrack(b);
    free(p);
}

void mem_trace_begin(unsigned long fail_at)
{
    free(trace.live);
    trace.live = malloc(TRACE_MAX_LIVE * sizeof(*trace.live));
    trace.n = 0;
    trace.fail_at = fail_at;
    trace.st = (struct mem_trace){ .overflow = !trace.live };
    mem_tracing = true;
}

void mem_trace_end(struct mem_trace *ret)
{
    mem_tracing = false;
    trace.st.live = trace.n;
    trace.st.live_bytes = 0;
    for (size_t i = 0; i < trace.n; i++)
        trace.st.live_bytes += trace.live[i].size;
    *ret = trace.st;
    free(trace.live);
    trace.live = NULL;
    trace.n = 0;
}

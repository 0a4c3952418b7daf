/*
 * lib/alloc.h - the engine's allocator. Every allocation lib/ makes itself goes through these
 * functions (the arenas' chunks included); allocations inside mbedTLS, libldap and Nettle do
 * not. Not installed.
 *
 * They are malloc(), calloc(), realloc(), strdup() and free(), and what they return may be
 * given to free() (the JSON documents of strongmap/json.h are freed that way). The one
 * difference is a test hook: while a trace runs (mem_trace_begin(), tests only:
 * tests/unit/test_alloc_failures.c), allocations are counted, the one chosen fails with NULL
 * and errno ENOMEM, and the blocks made and not freed are tracked, so that a test can make
 * each allocation of an entry point fail in turn and check that nothing leaks. The arenas
 * (lib/util.c) ask mem_fail_here() before each allocation from a chunk they hold, so those fail
 * in turn too. Outside a trace the cost is one test of a global flag per call.
 */
#ifndef SM_LIB_ALLOC_H
#define SM_LIB_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Set while a trace runs; written by mem_trace_begin() and mem_trace_end() only. */
extern bool mem_tracing;

void *mem_traced_malloc(size_t size);
void *mem_traced_calloc(size_t n, size_t size);
void *mem_traced_realloc(void *p, size_t size);
void mem_traced_free(void *p);
bool mem_traced_fail(void);

static inline void *mem_malloc(size_t size)
{
    return __builtin_expect(mem_tracing, 0) ? mem_traced_malloc(size) : malloc(size);
}

static inline void *mem_calloc(size_t n, size_t size)
{
    return __builtin_expect(mem_tracing, 0) ? mem_traced_calloc(n, size) : calloc(n, size);
}

static inline void *mem_realloc(void *p, size_t size)
{
    return __builtin_expect(mem_tracing, 0) ? mem_traced_realloc(p, size) : realloc(p, size);
}

static inline void mem_free(void *p)
{
    if (__builtin_expect(mem_tracing, 0))
        mem_traced_free(p);
    else
        free(p);
}

/*
 * For an allocation served from memory the engine holds already (an arena's chunk, lib/util.c):
 * true when it must fail. A trace counts it as an allocation call like the others.
 */
static inline bool mem_fail_here(void)
{
    return __builtin_expect(mem_tracing, 0) && mem_traced_fail();
}

static inline char *mem_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = mem_malloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

/* ---- tests only: one trace at a time, from one thread, with no other thread in the engine -- */

/** What a trace saw. */
struct mem_trace {
    unsigned long calls; /**< allocation calls (malloc, calloc, realloc, strdup) */
    bool failed;         /**< the call chosen to fail was made (and failed) */
    size_t live;         /**< blocks allocated during the trace and not freed */
    size_t live_bytes;   /**< their sizes */
    bool overflow;       /**< more blocks were live than the trace can follow: live is wrong */
};

/**
 * Start a trace: the @fail_at-th allocation call from now (1 for the first) fails, 0 none.
 * Blocks allocated before the trace may be freed during it (they are not counted).
 */
void mem_trace_begin(unsigned long fail_at);
/** End the trace begun last and report it in *@ret. */
void mem_trace_end(struct mem_trace *ret);

#endif

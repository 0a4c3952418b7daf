/*
 * tests/lib/fuzz_runtime.c - the runtime the API's libFuzzer targets answer with
 * (fuzz_runtime.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "dirpool.h"
#include "fuzz_runtime.h"

struct api_runtime *fuzz_runtime(const char *name, bool required)
{
    static char ldif[4096];
    struct opt_dir od = { 0 };
    struct dirpool_config dc = { 0 };
    struct sm_errinfo e = { .offset = -1, .text = "" };
    struct api_runtime *rt;
    const char *env = getenv("SM_FUZZ_LDIF");

    if (env) {
        snprintf(ldif, sizeof(ldif), "%s", env);
    } else {
        /* this file is <root>/tests/lib/fuzz_runtime.c */
        const char *tail = strstr(__FILE__, "tests/lib/fuzz_runtime.c");
        int n = tail ? (int)(tail - __FILE__) : 0;
        snprintf(ldif, sizeof(ldif), "%.*sexamples/demo.ldif", n, __FILE__);
    }
    od.ldif = ldif;
    dc.dir = &od;
    dc.handles = 1;
    dc.cache_size = 0; /* no state from one input to the next */
    if (api_runtime_new(&rt) < 0)
        abort();
    if (dirpool_open(&dc, &rt->dir, &e) < 0) {
        fprintf(stderr, "%s: no directory (%s: %s)%s\n", name, ldif, e.text,
                required ? "" : "; its routes answer 503");
        if (required)
            abort();
    }
    return rt;
}

/*
 * tests/fuzz/fuzz_config.c - libFuzzer target: strongmapd.conf (daemon/config*.c). The input is
 * read as a configuration file; each of its lines is also given as a command-line
 * "-o SECTION.KEY=VALUE" over the file's values (whether the file was accepted or not); then the
 * whole is checked and printed back (strongmapd -p). An error must be placed where its text
 * says: a line of the file (origin config, the text "fuzz.conf:LINE: ...") or the command line
 * (origin argument).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The file's error: origin config; with a line, the text begins "fuzz.conf:LINE: ". */
static void check_file_error(const struct sm_errinfo *e)
{
    char at[32];
    int n;

    if (e->origin != SM_ORIGIN_CONFIG || e->line < 0 || !e->text[0])
        abort();
    n = snprintf(at, sizeof(at), "fuzz.conf:%d: ", e->line);
    if (e->line > 0 && strncmp(e->text, at, (size_t)n) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    const char *p = (const char *)data, *end = p + size;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct cfg *c;
    char line[512];

    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    c = cfg_new();
    if (!c)
        return 0;
    if (cfg_load_string(c, "fuzz.conf", p, size, &e) < 0)
        check_file_error(&e);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

        if (len < sizeof(line) && !memchr(p, '\0', len)) {
            memcpy(line, p, len);
            line[len] = '\0';
            if (cfg_set_option(c, line, &e) < 0 && (e.origin != SM_ORIGIN_ARGUMENT || e.line))
                abort();
        }
        p = nl ? nl + 1 : end;
    }
    if (cfg_finish(c, &e) == 0)
        cfg_dump(c, devnull);
    cfg_free(c);
    return 0;
}

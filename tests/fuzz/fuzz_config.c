/*
 * tests/fuzz/fuzz_config.c - libFuzzer target: strongmapd.conf (daemon/config*.c). The input is
 * read as a configuration file; each of its lines is also given as a command-line
 * "-o SECTION.KEY=VALUE" over the file's values (whether the file was accepted or not); then the
 * whole is checked and printed back (strongmapd -p).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *devnull;
    const char *p = (const char *)data, *end = p + size;
    struct cfg_error e;
    struct cfg *c;
    char line[512];

    if (!devnull && !(devnull = fopen("/dev/null", "w")))
        abort();
    c = cfg_new();
    if (!c)
        return 0;
    (void)cfg_load_string(c, "fuzz.conf", p, size, &e);
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

        if (len < sizeof(line) && !memchr(p, '\0', len)) {
            memcpy(line, p, len);
            line[len] = '\0';
            (void)cfg_set_option(c, line, &e);
        }
        p = nl ? nl + 1 : end;
    }
    if (cfg_finish(c, &e) == 0)
        cfg_dump(c, devnull);
    cfg_free(c);
    return 0;
}

/* tests/fuzz/fuzz_altsecid.c - libFuzzer target: altSecurityIdentities parse, lint, JSON. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strongmap/strongmap.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* several values separated by newlines, linted together (duplicates, cross checks) */
    struct sm_altsec *vals[8];
    size_t n = 0;
    const char *p = (const char *)data, *end = p + size;
    while (p <= end && n < 8) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct sm_errinfo e;
        if (sm_altsec_parse(p, len, &vals[n], &e) == 0)
            n++;
        if (!nl)
            break;
        p = nl + 1;
    }
    if (sm_altsec_lint(vals, n, NULL) == 0) {
        char *json = NULL;
        if (sm_json_altsec(vals, n, NULL, 0, &json) == 0)
            free(json);
    }
    for (size_t i = 0; i < n; i++)
        sm_altsec_free(vals[i]);
    /* the SID parser on the raw input too */
    struct sm_sid sid;
    bool canonical;
    if (sm_sid_parse((const char *)data, size, &sid, &canonical, NULL) == 0) {
        uint8_t der[256];
        char text[SM_SID_TEXT_MAX];
        sm_sid_extension_der(&sid, der, sizeof(der));
        sm_sid_format(&sid, text, sizeof(text));
    }
    return 0;
}

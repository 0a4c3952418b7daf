/* tests/fuzz/fuzz_cert.c - libFuzzer target: certificate input framing, analysis and JSON. */
#include <stdint.h>
#include <stdlib.h>

#include <strongmap/strongmap.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sm_certs *certs = NULL;
    struct sm_errinfo e;
    struct sm_parse_opts o = { .now = 1780272000 };
    if (sm_certs_parse(data, size, &o, &certs, &e) != 0)
        return 0;
    char *json = NULL;
    if (sm_json_certs(certs, 0, &json) == 0)
        free(json);
    /* lint the strings this certificate produces against itself */
    for (size_t i = 0; i < certs->certs[0].n_mappings && i < 4; i++) {
        struct sm_altsec *v = NULL;
        const char *s = certs->certs[0].mappings[i].value;
        size_t n = 0;
        while (s[n])
            n++;
        if (sm_altsec_parse(s, n, &v, &e) == 0) {
            sm_altsec_lint(&v, 1, &certs->certs[0]);
            sm_altsec_free(v);
        }
    }
    sm_certs_free(certs);
    return 0;
}

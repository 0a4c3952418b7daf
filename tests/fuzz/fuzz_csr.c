/* tests/fuzz/fuzz_csr.c - libFuzzer target: certificate request framing, parsing and the
   self-signature check (lib/cert_csr.c). */
#include <stdint.h>
#include <stdlib.h>

#include <strongmap/strongmap.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sm_csr *csr = NULL;
    struct sm_errinfo e;
    if (sm_csr_parse(data, size, &csr, &e) != 0)
        return 0;
    /* the requested facts go where a certificate's go */
    char *json = NULL;
    struct sm_certs set = { .certs = csr->request, .n_certs = 1, .format = csr->format };
    if (sm_json_certs(&set, 0, &json) == 0)
        free(json);
    sm_csr_free(csr);
    return 0;
}

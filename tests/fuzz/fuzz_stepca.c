/*
 * tests/fuzz/fuzz_stepca.c - libFuzzer target: step-ca's AUTHORIZING "x509Certificate" (the
 * template's fields, api/stepca.c) read as planned facts and built into a request
 * (sm_csr_planned()), as POST /v1/hooks/step-ca/authorize does before it plans.
 *
 * Input: a JSON document; its "x509Certificate" member, else the whole document, is read.
 * Beyond crashes, leaks and sanitizer reports, the target aborts when a refusal is anything
 * but 400 bad-request with a detail, or when a template that was read builds a request whose
 * facts break their own bounds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <strongmap/csr.h>

#include "api_internal.h"
#include "stepca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_error ae = API_ERROR_INIT;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct stepca_cert *sc = NULL;
    struct sm_csr *csr = NULL;
    json_t *root = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL), *obj;
    int r;

    if (!root)
        return 0;
    obj = json_object_get(root, "x509Certificate");
    if (!json_is_object(obj))
        obj = root;
    r = stepca_cert_read(obj, &sc, &ae);
    if (r < 0) {
        if (r != -ENOMEM && (ae.problem != API_P_BAD_REQUEST || !ae.info.text[0]))
            abort();
        if (sc)
            abort();
        goto out;
    }
    if (sc->in.n_san > SM_MAX_SAN || sc->in.n_exts > SM_MAX_EXTENSIONS ||
        sc->in.n_eku > 2 * (size_t)SM_MAX_EXTENSIONS || strlen(sc->ski) >= sizeof(sc->ski))
        abort();
    r = sm_csr_planned(&sc->in, &csr, &e);
    if (r == 0) {
        if (!csr->request || csr->request->n_san > SM_MAX_SAN)
            abort();
    } else if (r != -ENOMEM && !e.text[0]) {
        abort();
    }
out:
    sm_csr_free(csr);
    stepca_cert_free(sc);
    json_decref(root);
    return 0;
}

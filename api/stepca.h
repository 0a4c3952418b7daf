/*
 * api/stepca.h - the certificate step-ca is about to sign, as its AUTHORIZING webhook sends it:
 * the template's fields, read as planned facts (api/stepca.c).
 */
#ifndef SM_API_STEPCA_H
#define SM_API_STEPCA_H

#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include <strongmap/csr.h>

#include "api_internal.h"

#define STEPCA_SKI_MAX 64 /* bytes of a subjectKeyId the template may set */

/*
 * What step-ca's "x509Certificate" says the certificate will be. Owns its buffers; the strings
 * the planned facts point to are borrowed from the JSON object it was read from, which must
 * outlive it.
 */
struct stepca_cert {
    struct sm_csr_planned in;         /* for sm_csr_planned() */
    char ski[2 * STEPCA_SKI_MAX + 1]; /* the SKI step-ca will write (uppercase hex), "" not
                                         known */
    time_t not_before, not_after;     /* 0: not given */
    /* owned */
    char *subject;
    uint8_t *spki;
    struct sm_san *san;
    struct sm_csr_planned_ext *exts;
    const char **eku;
};

/*
 * Read step-ca's "x509Certificate" object @obj (smallstep crypto's x509util.Certificate as
 * JSON, with "publicKey", "notBefore" and "notAfter") into *@ret (free with
 * stepca_cert_free()). 0, -ENOMEM, or 400 bad-request in @ae naming the member at fault.
 */
int stepca_cert_read(json_t *obj, struct stepca_cert **ret, struct api_error *ae);

/* Free; NULL is fine. Returns NULL. */
struct stepca_cert *stepca_cert_free(struct stepca_cert *sc);

#endif

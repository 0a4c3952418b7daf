/*
 * lib/cert_plan.h - a certificate not issued yet, as the verdict engine reads certificates:
 * made by lib/cert_csr.c (the certificate analysis) for lib/preissue.c, which cannot include
 * mbedTLS. Not installed.
 */
#ifndef SM_LIB_CERT_PLAN_H
#define SM_LIB_CERT_PLAN_H

#include <time.h>

#include <strongmap/cert.h>

#include "util.h"

/** What a CA would issue for a request. Everything is borrowed; see cert_plan(). */
struct cert_plan {
    const struct sm_cert *request;              /**< the requested facts (struct sm_csr) */
    const struct sm_san *san;                   /**< the subjectAltName as issued */
    size_t n_san;                               /**< 0: no subjectAltName */
    const struct sm_sid_carrier *sid_extension; /**< the SID extension as issued, or NULL */
    const struct sm_cert *issuer;               /**< the issuing CA's certificate, or NULL: not
                                                     known (no issuer name, no AKI) */
    const char *ski; /**< the SKI the CA will write (uppercase hex), or NULL: not known */
    time_t not_before, not_after;
};

/**
 * The facts of the certificate @p describes, in @a: the request's subject, key and other
 * extensions, @p's SAN (the SID URI read from it as from a certificate) and SID extension,
 * @p's issuer and validity, @p's SKI when known; no serial or thumbprint (the CA makes them),
 * so only the mappings that need none of them; the findings about what it carries. The result
 * borrows from
 * @p->request, @p->san, @p->sid_extension and @p->issuer, which must outlive it.
 * 0 or -ENOMEM.
 */
int cert_plan(struct arena *a, const struct cert_plan *p, const struct sm_cert **ret);

#endif

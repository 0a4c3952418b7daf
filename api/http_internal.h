/*
 * api/http_internal.h - private to the server's own files: http.c (libmicrohttpd glue, the
 * request life cycle), admit.c (admission), jobs.c (the job pool) and reply.c (responses).
 * Handlers do not include it: they see a request through api_internal.h only.
 */
#ifndef SM_API_HTTP_INTERNAL_H
#define SM_API_HTTP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "api_internal.h"

/* ---- http.c ---- */

/** The route's handler, and the fallbacks when it did not answer (reply_error(), 500). */
int run_handler(struct api_request *req);

/* ---- admit.c ---- */

/**
 * Who may ask what, decided on the headers: client certificate, then the rate limit (per token
 * when a valid one came, else per address), then the token's scope. Returns API_P__COUNT when
 * the request may go on, else the problem to answer; sets the WWW-Authenticate header and the
 * Retry-After the answer needs.
 */
enum api_problem admit(struct api *api, struct api_request *req);

/** Answer the refusal admit() decided (req->deny), with its detail. */
int reply_refusal(struct api_request *req);

/* ---- jobs.c ---- */

/** Start @n job threads. 0, -ENOMEM or -EAGAIN (those started are joined by jobs_stop()). */
int jobs_start(struct api *api, unsigned n);

/**
 * Run @req's handler on a job thread (api->n_job_threads > 0): its connection is suspended now
 * and resumed once the handler has answered; reply.c keeps the response until then. false,
 * with nothing done, once jobs_stop() has begun: the caller runs the handler itself.
 */
bool jobs_submit(struct api_request *req);

/** Let the job threads finish what is queued, then join them (before MHD_stop_daemon()). */
void jobs_stop(struct api *api);

#endif

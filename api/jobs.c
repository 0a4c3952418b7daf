/*
 * api/jobs.c - the job pool: routes that may wait on the directory (api_route.directory) run
 * here, one job thread per worker thread, with their connection suspended, so that a stalled
 * directory never blocks libmicrohttpd's threads (and with them /healthz and /v1/inspect). The
 * handler's response is kept in the request (reply.c) and queued by http.c after the resume.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include <microhttpd.h>

#include "api_internal.h"
#include "http_internal.h"
#include "log.h"

/* One job thread: runs directory-bound handlers, then resumes their connections. */
static void *job_main(void *arg)
{
    struct api *api = arg;

    for (;;) {
        pthread_mutex_lock(&api->jobs_lock);
        while (!api->jobs_head && !api->jobs_stop)
            pthread_cond_wait(&api->jobs_cond, &api->jobs_lock);
        struct api_request *req = api->jobs_head;
        if (!req) { /* stopping and nothing left */
            pthread_mutex_unlock(&api->jobs_lock);
            return NULL;
        }
        api->jobs_head = req->job_next;
        if (!api->jobs_head)
            api->jobs_tail = NULL;
        req->job_next = NULL;
        pthread_mutex_unlock(&api->jobs_lock);
        if (run_handler(req) < 0 && !req->replied)
            log_errx("request %s: no response could be built", req->id);
        MHD_resume_connection(req->conn);
    }
}

/*
 * Hand @req to the job pool: its connection is suspended until a job thread has run its
 * handler (the response waits in req->pending) and resumes it. Once jobs_stop() has begun, the
 * job threads may be gone: a request that arrives then on a connection still open (a graceful
 * stop under load: keep-alive connections go on sending until MHD_stop_daemon()) is refused
 * here and runs on the caller's thread; suspended, it would wait for no one, and
 * libmicrohttpd aborts when it is stopped with a suspended connection. The check, the suspend
 * and the queueing happen under one lock, so a queued request always has a job thread left
 * (they leave only with the queue empty).
 */
bool jobs_submit(struct api_request *req)
{
    struct api *api = req->api;

    pthread_mutex_lock(&api->jobs_lock);
    if (api->jobs_stop) {
        pthread_mutex_unlock(&api->jobs_lock);
        return false;
    }
    req->deferred = true;
    MHD_suspend_connection(req->conn);
    if (api->jobs_tail)
        api->jobs_tail->job_next = req;
    else
        api->jobs_head = req;
    api->jobs_tail = req;
    pthread_cond_signal(&api->jobs_cond);
    pthread_mutex_unlock(&api->jobs_lock);
    return true;
}

/* Start one job thread per worker thread (as many as the directory pool has handles). */
int jobs_start(struct api *api, unsigned n)
{
    api->job_threads = calloc(n, sizeof(*api->job_threads));
    if (!api->job_threads)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        if (pthread_create(&api->job_threads[i], NULL, job_main, api) != 0)
            return -EAGAIN; /* the ones started are joined by jobs_stop() */
        api->n_job_threads = i + 1;
    }
    return 0;
}

/* Let the job threads finish what is queued (each resumes its connection), then join them.
 * Before MHD_stop_daemon(): libmicrohttpd must not be stopped with suspended connections. */
void jobs_stop(struct api *api)
{
    pthread_mutex_lock(&api->jobs_lock);
    api->jobs_stop = true;
    pthread_cond_broadcast(&api->jobs_cond);
    pthread_mutex_unlock(&api->jobs_lock);
    for (unsigned i = 0; i < api->n_job_threads; i++)
        pthread_join(api->job_threads[i], NULL);
    api->n_job_threads = 0;
    free(api->job_threads);
    api->job_threads = NULL;
}

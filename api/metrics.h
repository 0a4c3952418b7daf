/*
 * api/metrics.h - the counters behind GET /metrics (Prometheus text format 0.0.4).
 *
 * Every counter is a 64-bit atomic updated with relaxed ordering: a request adds to a handful
 * of them (its route and status, one latency bucket, a few more for verdicts), and a scrape
 * reads them all without stopping anyone. A scrape may see one request's counters half
 * updated; Prometheus does not mind. Private to api/. The histogram type is common/hist.h,
 * shared with the directory pool, whose counters metrics.c reads through common/dirpool.h.
 */
#ifndef SM_API_METRICS_H
#define SM_API_METRICS_H

#include <stddef.h>

#include "hist.h"

/** A growing text buffer for the exposition; on allocation failure it stops growing and
 * remembers (@failed). */
struct mbuf {
    char *p;
    size_t len, cap;
    int failed;
};

void mbuf_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Write @h as the histogram @name with the label set @labels (e.g. `route="/healthz"`, or ""),
 * after a `# HELP` / `# TYPE` header when @help is not NULL.
 */
void hist_render(struct mbuf *b, const char *name, const char *help, const char *labels,
                 const struct hist *h);

#endif

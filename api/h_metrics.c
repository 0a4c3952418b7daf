/*
 * api/h_metrics.c - GET /metrics: every counter in the Prometheus text format (metrics.c).
 * Needs the "metrics" or "admin" scope by default when tokens are configured.
 */
#include <errno.h>

#include "api_internal.h"

#define CT_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

int h_metrics(struct api_request *req)
{
    char *text = NULL;
    size_t len = 0;
    int ret;

    ret = metrics_render(req->api, req->rt, &text, &len);
    if (ret < 0)
        return reply_error(req, ret, NULL);
    return reply_text(req, CT_PROMETHEUS, text, len); /* takes text */
}

/*
 * api/h_health.c - GET /healthz: liveness. Touches nothing but a static string, so it stays
 * cheap and safe under load.
 */
#include "api_internal.h"

#ifndef SM_VERSION
#define SM_VERSION "unknown"
#endif

static const char health_json[] = "{\"status\":\"ok\",\"version\":\"" SM_VERSION "\"}";

int h_health(struct api_request *req)
{
    return reply_json_static(req, health_json);
}

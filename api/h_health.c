/*
 * api/h_health.c - GET /healthz: liveness. Touches nothing but a static string, so it stays
 * cheap and safe under load. Open to anyone (probes carry no token): the version is named only
 * when the configuration asks for it (health_details).
 */
#include "api_internal.h"

#ifndef SM_VERSION
#define SM_VERSION "unknown"
#endif

static const char health_json[] = "{\"status\":\"ok\"}";
static const char health_version_json[] = "{\"status\":\"ok\",\"version\":\"" SM_VERSION "\"}";

int h_health(struct api_request *req)
{
    return reply_json_static(req,
                             req_runtime(req)->health_details ? health_version_json : health_json);
}

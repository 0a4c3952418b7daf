/*
 * api/h_ready.c - GET /readyz: can strongmapd answer verdicts? It can when a directory is
 * configured and answers (dirpool_ready(): one probe with short deadlines at most once a
 * second, whatever the number of callers). /healthz stays a liveness check that touches
 * nothing. Open to anyone: the directory's kind is named only with health_details.
 */
#include <string.h>

#include "api_internal.h"
#include "dirpool.h"

static const char ready[] = "{\"status\":\"ready\"}";
static const char ready_ldif[] =
    "{\"status\":\"ready\",\"directory\":{\"kind\":\"ldif\",\"state\":\"up\"}}";
static const char ready_ldap[] =
    "{\"status\":\"ready\",\"directory\":{\"kind\":\"ldap\",\"state\":\"up\"}}";

int h_ready(struct api_request *req)
{
    struct dirpool *dir = req_runtime(req)->dir;
    struct api_error ae = API_ERROR_INIT;
    int ret;

    if (!dir)
        ret = no_directory(&ae);
    else
        ret = dirpool_ready(dir, &ae.info);
    if (ret < 0)
        return reply_fail(req, ret, &ae);
    if (!req_runtime(req)->health_details)
        return reply_json_static(req, ready);
    return reply_json_static(req, strcmp(dirpool_kind(dir), "ldif") == 0 ? ready_ldif : ready_ldap);
}

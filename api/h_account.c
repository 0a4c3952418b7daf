/*
 * api/h_account.c - GET /v1/accounts/{name}: is an account ready for strong mapping? The same
 * document as `strongmap account` (sm_json_account_status()).
 *
 * {name} is %-decoded from the request target as sent (a literal "/" or "%2F" both belong to
 * the name, so a DN works either way; "%00" is refused). Optional query parameters: profile
 * (repeatable), mode, backdating_seconds, at (read_account()). An account that does not exist
 * is an answer, not an error: 200 with "account": null and status "blocked", as the engine
 * reports it.
 */
#include <stdlib.h>

#include <strongmap/json.h>
#include <strongmap/verdict.h>

#include "api_internal.h"
#include "dirpool.h"

int h_account(struct api_request *req)
{
    struct dirpool *dir = req_runtime(req)->dir;
    struct api_error ae = API_ERROR_INIT;
    struct sm_account_status *s = NULL;
    struct api_whatif wi;
    const char *name;
    char *path = NULL, *json = NULL;
    int ret;

    if ((ret = read_account(req, &path, &name, &wi, &ae)) < 0)
        goto out_fail;
    if (!dir) {
        ret = no_directory(&ae);
        goto out_fail;
    }
    ret = dirpool_account_status(dir, name, wi.profiles.v, wi.profiles.n, wi.at, &s, &ae.info);
    if (ret < 0)
        goto out_fail;
    if ((unsigned)s->readiness < 3)
        metric_inc(&req->api->metrics.account_statuses[s->readiness]);
    if ((ret = sm_json_account_status(s, 0, &json)) < 0)
        goto out_fail;
    ret = reply_json(req, json); /* takes json */
    goto out;

out_fail:
    ret = reply_fail(req, ret, &ae);
out:
    sm_account_status_free(s);
    free(path);
    return ret;
}

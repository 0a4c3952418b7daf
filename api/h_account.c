/*
 * api/h_account.c - GET /v1/accounts/{name}: is an account ready for strong mapping? The same
 * document as `strongmap account` (sm_json_account_status()).
 *
 * {name} is %-decoded from the request target as sent (a literal "/" or "%2F" both belong to
 * the name, so a DN works either way; "%00" is refused). Optional query parameters: profile
 * (repeatable), mode, backdating_seconds, at. An account that does not exist is an answer, not
 * an error: 200 with "account": null and status "blocked", as the engine reports it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <strongmap/json.h>
#include <strongmap/verdict.h>

#include "api_internal.h"
#include "dirpool.h"

#define ACCOUNTS_PREFIX "/v1/accounts/"

int h_account(struct api_request *req)
{
    struct dirpool *dir = req_runtime(req)->dir;
    struct sm_errinfo e = { .offset = -1, .text = "" };
    struct sm_account_status *s = NULL;
    struct api_whatif wi;
    size_t path_len = strcspn(req->target, "?"), len;
    const char *name;
    char *path, *json = NULL;
    int ret;

    path = malloc(path_len + 1);
    if (!path)
        return reply_error(req, -ENOMEM, NULL);
    if (pct_decode(req->target, path_len, false, path, &len) < 0) {
        ret = reply_problem(req, API_P_BAD_REQUEST, "account: bad %-escape or NUL in the path");
        goto out;
    }
    if (strncmp(path, ACCOUNTS_PREFIX, strlen(ACCOUNTS_PREFIX)) != 0) {
        ret = reply_problem(req, API_P_NOT_FOUND, NULL); /* e.g. an absolute-form target */
        goto out;
    }
    name = path + strlen(ACCOUNTS_PREFIX);
    if ((ret = param_name(req, "account", name, len - strlen(ACCOUNTS_PREFIX))) < 0)
        goto out;
    whatif_init(&wi);
    if ((ret = whatif_query(req, &wi, NULL)) < 0 || (ret = whatif_finish(req, &wi)) < 0)
        goto out;
    if (!dir) {
        ret = reply_no_directory(req);
        goto out;
    }

    ret = dirpool_account_status(dir, name, wi.profiles.v, wi.profiles.n, wi.at, &s, &e);
    if (ret < 0) {
        ret = reply_engine_error(req, ret, &e);
        goto out;
    }
    if ((unsigned)s->readiness < 3)
        metric_inc(&req->api->metrics.account_statuses[s->readiness]);
    ret = sm_json_account_status(s, 0, &json);
    if (ret < 0) {
        ret = reply_error(req, ret, NULL);
        goto out;
    }
    ret = reply_json(req, json); /* takes json */

out:
    sm_account_status_free(s);
    free(path);
    return ret;
}

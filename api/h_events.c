/*
 * api/h_events.c - POST /v1/events/explain: KDC events 39, 40, 41, 45 and 21 as Windows exports
 * them, explained: why the domain controller logged each, the account it names, and the fix. The
 * same document as `strongmap explain` (sm_json_events(); docs/explain.md).
 *
 * The body is the XML of `wevtutil qe ... /f:xml` or `Get-WinEvent ... | % ToXml()` (UTF-8, or
 * UTF-16 with a byte order mark), or the text Event Viewer copies, as application/xml, text/xml,
 * text/plain, application/octet-stream or without a type; or a JSON object {"events": "..."}
 * holding that text (read_events()). The body is bounded by max_body, and the engine's own
 * limits (SM_MAX_KDC_INPUT, SM_MAX_KDC_EVENTS, SM_MAX_KDC_FIELD) apply beneath it. Bad input
 * gets its 4xx before the directory is asked, also while it is down.
 *
 * Each distinct account name is looked up once, on a handle of the pool (the route runs on the
 * job pool). Without a directory, or for a caller that may not see account data
 * (api_runtime.account_data_scope), the events are explained without one: no account is looked
 * up ("lookup": "no_directory", "directory": null), and the fix names the account as the event
 * does.
 */
#include <strongmap/events.h>

#include "api_internal.h"
#include "dirpool.h"

int h_events(struct api_request *req)
{
    struct dirpool *dir = req_sees_accounts(req) ? req_runtime(req)->dir : NULL;
    struct api_error ae = API_ERROR_INIT;
    struct sm_kdc_events *ev = NULL;
    struct sm_events_explanation *x = NULL;
    char *json = NULL;
    int ret;

    if ((ret = read_events(req, &ev, &ae)) < 0)
        goto out_fail;
    if (dir)
        ret = dirpool_explain(dir, ev, req_runtime(req)->max_lookups, &x, &ae.info);
    else
        ret = sm_events_explain(NULL, ev, 0, &x, &ae.info);
    if (ret < 0 || (ret = sm_json_events(x, 0, &json)) < 0)
        goto out_fail;
    ret = reply_json(req, json); /* takes json */
    goto out;

out_fail:
    ret = reply_fail(req, ret, &ae);
out:
    sm_events_explanation_free(x); /* before the events it borrows */
    sm_kdc_events_free(ev);
    return ret;
}

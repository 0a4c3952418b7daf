/*
 * api/h_verdict.c - POST /v1/verdict: what a domain controller does with a certificate, for an
 * account, on a fleet of DC profiles; the same document as `strongmap verdict`
 * (sm_json_verdict()).
 *
 * The body is either a JSON object: "certificate" (PEM or base64 DER; the first certificate
 * is evaluated) and/or "account", then the optional "profile" (a name or an array of names),
 * "mode", "backdating_seconds" and "at"; or the certificate itself (PEM, DER or base64, the
 * media types /v1/inspect takes), with the same options in the query string (profile
 * repeatable). The second form spares the JSON parse of the PEM text, which costs Jansson
 * more than the whole verdict with a warm cache (docs/performance.md). read_verdict() checks
 * the options before the directory is touched, so bad input gets its 400 even while the
 * directory is down; unknown members and parameters are refused rather than ignored, as a
 * misspelt what-if would silently give another verdict.
 */
#include <strongmap/cert.h>
#include <strongmap/json.h>
#include <strongmap/verdict.h>

#include "api_internal.h"
#include "dirpool.h"

int h_verdict(struct api_request *req)
{
    struct dirpool *dir = req_runtime(req)->dir;
    struct api_error ae = API_ERROR_INIT;
    struct verdict_request vr;
    struct sm_verdict_input in;
    struct sm_verdict *v = NULL;
    char *json = NULL;
    int ret;

    if ((ret = read_verdict(req, &vr, &ae)) < 0)
        goto out_fail;
    if (!dir) {
        ret = no_directory(&ae);
        goto out_fail;
    }
    in = (struct sm_verdict_input){
        .cert = vr.certs ? &vr.certs->certs[0] : NULL,
        .account = vr.account,
        .profiles = vr.wi.profiles.v,
        .n_profiles = vr.wi.profiles.n,
        .at = vr.wi.at,
        .redact_account = !req_sees_accounts(req),
        .samba_anchors = req_runtime(req)->samba_anchors,
    };
    if ((ret = req_verdict(req, &in, &v, &ae.info)) == SM_E_DIR_WOULD_BLOCK)
        goto out; /* a cached try: to the job pool, nothing answered */
    if (ret < 0)
        goto out_fail;
    metrics_verdict(&req->api->metrics, v);
    decision_log(req, v);
    if ((ret = sm_json_verdict(v, 0, &json)) < 0)
        goto out_fail;
    ret = reply_json(req, json); /* takes json */
    goto out;

out_fail:
    ret = reply_fail(req, ret, &ae);
out:
    sm_verdict_free(v);
    verdict_request_free(&vr);
    return ret;
}

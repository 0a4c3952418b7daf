/*
 * api/h_preissue.c - POST /v1/preissue: the issuance plan for a certificate request, before a CA
 * signs it (docs/preissue.md); the same document as `strongmap preissue` (sm_json_preissue()).
 *
 * The body is either the request itself (PEM "CERTIFICATE REQUEST", DER or base64) with
 * "account" and the what-if options of a verdict in the query string, or a JSON object: "csr",
 * "account", then the optional "profile", "mode", "backdating_seconds", "at", "validity_days"
 * and "issuer" (the issuing CA's certificate: the NTAuth check is then made); planned facts
 * ("subject", "san", "extensions") may stand in for "csr" (api/params.c, sm_csr_planned()).
 * A request that cannot be read is 400 bad-csr, one whose self-signature does not verify 400
 * csr-signature.
 * The plan names the account (SID, UPN, enabled): the route's scope ("issue", "account" or
 * "admin" by default) is what lets a client see it, whatever account_data_scope says.
 */
#include <strongmap/csr.h>
#include <strongmap/preissue.h>

#include "api_internal.h"
#include "dirpool.h"

int h_preissue(struct api_request *req)
{
    struct dirpool *dir = req_runtime(req)->dir;
    struct api_error ae = API_ERROR_INIT;
    struct preissue_request pr;
    struct sm_preissue_input in;
    struct sm_preissue *plan = NULL;
    char *json = NULL;
    int ret;

    if ((ret = read_preissue(req, &pr, &ae)) < 0)
        goto out_fail;
    if (!dir) {
        ret = no_directory(&ae);
        goto out_fail;
    }
    in = (struct sm_preissue_input){
        .request = pr.csr->request,
        .csr = pr.csr,
        .account = pr.account,
        .profiles = pr.wi.profiles.v,
        .n_profiles = pr.wi.profiles.n,
        .at = pr.wi.at,
        .validity_days = pr.validity_days,
        .issuer = pr.issuer ? &pr.issuer->certs[0] : NULL,
    };
    ret = dirpool_preissue(dir, &in, &plan, &ae.info);
    if (ret < 0)
        goto out_fail;
    if ((ret = sm_json_preissue(plan, 0, &json)) < 0)
        goto out_fail;
    ret = reply_json(req, json); /* takes json */
    goto out;

out_fail:
    ret = reply_fail(req, ret, &ae);
out:
    sm_preissue_free(plan);
    preissue_request_free(&pr);
    return ret;
}

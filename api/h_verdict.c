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
 * more than the whole verdict with a warm cache (docs/performance.md). Options are checked
 * before the directory is touched, so bad input gets its 400 even while the directory is
 * down; unknown members and parameters are refused rather than ignored, as a misspelt what-if
 * would silently give another verdict.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <strongmap/cert.h>
#include <strongmap/json.h>
#include <strongmap/verdict.h>

#include "api_internal.h"
#include "dirpool.h"

struct verdict_req {
    const char *cert; /* borrowed from the JSON document or the body, or NULL */
    size_t cert_len;
    const char *account; /* borrowed, or NULL */
    char *query_account; /* owned: "account" from the query string */
    struct api_whatif wi;
};

static int bad(struct api_request *req, const char *detail)
{
    reply_problem(req, API_P_BAD_REQUEST, detail);
    return -EINVAL;
}

static int member(struct api_request *req, struct verdict_req *vr, const char *key, json_t *val)
{
    char detail[128];
    size_t i;
    json_t *item;

    if (strcmp(key, "certificate") == 0) {
        if (json_is_null(val))
            return 0;
        if (!json_is_string(val))
            return bad(req, "certificate: a string (PEM or base64 DER)");
        vr->cert = json_string_value(val);
        vr->cert_len = json_string_length(val);
        return 0;
    }
    if (strcmp(key, "account") == 0) {
        if (json_is_null(val))
            return 0;
        if (!json_is_string(val))
            return bad(req, "account: a string (sAMAccountName, UPN, DOMAIN\\name, SID, DN or "
                            "DNS host name)");
        vr->account = json_string_value(val);
        return param_name(req, "account", vr->account, json_string_length(val));
    }
    if (strcmp(key, "profile") == 0) {
        if (json_is_string(val))
            return whatif_profile(req, &vr->wi, json_string_value(val));
        if (!json_is_array(val) || json_array_size(val) == 0)
            return bad(req, "profile: a profile name or a non-empty array of them");
        json_array_foreach(val, i, item)
        {
            if (!json_is_string(item))
                return bad(req, "profile: a profile name or a non-empty array of them");
            if (whatif_profile(req, &vr->wi, json_string_value(item)) < 0)
                return -EINVAL;
        }
        return 0;
    }
    if (strcmp(key, "mode") == 0) {
        if (!json_is_integer(val))
            return bad(req, "mode: 1 or 2 (Samba: 0, 1 or 2)");
        return whatif_mode(req, &vr->wi, json_integer_value(val));
    }
    if (strcmp(key, "backdating_seconds") == 0) {
        if (!json_is_integer(val))
            return bad(req, "backdating_seconds: an integer number of seconds, 0 or more");
        return whatif_backdating(req, &vr->wi, json_integer_value(val));
    }
    if (strcmp(key, "at") == 0) {
        if (!json_is_string(val))
            return bad(req, "at: an RFC 3339 date-time string, e.g. 2026-06-01T00:00:00Z");
        return whatif_at(req, &vr->wi, json_string_value(val));
    }
    snprintf(detail, sizeof(detail),
             "unknown member \"%.40s\" (certificate, account, profile, mode, "
             "backdating_seconds, at)",
             key);
    return bad(req, detail);
}

/* A certificate body: options from the query string. */
static int read_raw(struct api_request *req, struct verdict_req *vr)
{
    int ret = whatif_query(req, &vr->wi, &vr->query_account);
    if (ret < 0)
        return ret; /* answered */
    vr->cert = req->body;
    vr->cert_len = req->body_len;
    vr->account = vr->query_account;
    return 0;
}

/* A JSON body: options from its members; a query string would be a second, ignored set. */
static int read_json(struct api_request *req, struct verdict_req *vr, json_t **root)
{
    const char *q = strchr(req->target, '?'), *key;
    json_t *val;
    int ret;

    if (q && q[1])
        return bad(req, "query: parameters go with a certificate body; with a JSON body, give "
                        "them as members");
    if ((ret = body_json(req, root)) < 0)
        return ret; /* answered */
    json_object_foreach(*root, key, val)
    {
        if ((ret = member(req, vr, key, val)) < 0)
            return ret;
    }
    return 0;
}

int h_verdict(struct api_request *req)
{
    struct dirpool *dir = req_runtime(req)->dir;
    struct sm_errinfo e = { .offset = -1, .text = "" };
    struct verdict_req vr = { 0 };
    struct sm_verdict_input in = { 0 };
    struct sm_certs *certs = NULL;
    struct sm_verdict *v = NULL;
    json_t *root = NULL;
    char *json = NULL;
    int ret = 0;

    whatif_init(&vr.wi);
    if (body_check_encoding(req) < 0)
        return -EINVAL; /* answered */
    if (req->body_len == 0)
        return reply_problem(req, API_P_EMPTY_BODY,
                             "send a JSON object, or a certificate (PEM or DER)"),
               -EINVAL;
    switch (body_kind(req_header(req, "Content-Type"), req->body, req->body_len)) {
    case BODY_UNSUPPORTED:
        return reply_problem(req, API_P_UNSUPPORTED_MEDIA_TYPE,
                             "send application/json, or a certificate as application/x-pem-file "
                             "or application/pkix-cert"),
               -EINVAL;
    case BODY_RAW: ret = read_raw(req, &vr); break;
    case BODY_JSON: ret = read_json(req, &vr, &root); break;
    }
    if (ret < 0)
        goto out; /* answered */
    if (!vr.cert && !vr.account) {
        ret = reply_problem(req, API_P_MISSING_FIELD,
                            "give \"certificate\" (PEM or base64 DER), \"account\", or both");
        goto out;
    }
    if ((ret = whatif_finish(req, &vr.wi)) < 0)
        goto out;
    if (vr.cert) {
        struct sm_parse_opts po = { .now = vr.wi.at };

        if (vr.cert_len == 0) {
            ret = reply_problem(req, API_P_BAD_CERTIFICATE, "certificate: empty");
            goto out;
        }
        if ((ret = parse_certs(req, vr.cert, vr.cert_len, &po, "certificate: ", &certs)) < 0)
            goto out; /* answered */
    }
    if (!dir) {
        ret = reply_no_directory(req);
        goto out;
    }

    in = (struct sm_verdict_input){
        .cert = certs ? &certs->certs[0] : NULL,
        .account = vr.account,
        .profiles = vr.wi.profiles.v,
        .n_profiles = vr.wi.profiles.n,
        .at = vr.wi.at,
        .redact_account = !req_sees_accounts(req),
        .samba_anchors = req_runtime(req)->samba_anchors,
    };
    ret = dirpool_verdict(dir, &in, &v, &e);
    if (ret < 0) {
        ret = reply_engine_error(req, ret, &e);
        goto out;
    }
    metrics_verdict(&req->api->metrics, v);
    decision_log(req, v);
    ret = sm_json_verdict(v, 0, &json);
    if (ret < 0) {
        ret = reply_error(req, ret, NULL);
        goto out;
    }
    ret = reply_json(req, json); /* takes json */

out:
    sm_verdict_free(v);
    sm_certs_free(certs);
    json_decref(root);
    free(vr.query_account);
    return ret;
}

/*
 * api/h_hooks.c - step-ca's provisioner webhooks (docs/integrations/step-ca.md):
 *
 *   POST /v1/hooks/step-ca/enrich     (kind ENRICHING) before step-ca renders the certificate
 *       template: the issuance plan of the request ("x509CertificateRequest", its DER in "raw")
 *       for the account it names; {"allow": true, "data": {"sid", "sidExtension", "sidUri",
 *       "upn", "dns", "account"}} for the template, or {"allow": false, "error": {"code",
 *       "message"}} when the request must not be issued (a security finding of the plan, or a
 *       certificate that would still be denied as it should be issued).
 *   POST /v1/hooks/step-ca/authorize  (kind AUTHORIZING) just before step-ca signs: the verdict
 *       of the certificate ("x509Certificate"): step-ca sends the template's fields, not signed
 *       yet (api/stepca.c reads them as planned facts); a caller with the DER sends it in
 *       "raw". Allowed only when every configured profile allows it.
 *
 * Each call is authenticated by its signature, not a bearer token: X-Smallstep-Webhook-ID names
 * a configured webhook (struct api_runtime.webhooks) and X-Smallstep-Signature carries the hex
 * HMAC-SHA256 of the raw body keyed with that webhook's secret (the secret step-ca prints,
 * base64-decoded). The HMAC is compared in constant time; a call without a valid signature gets
 * 401 webhook-signature before its body is parsed. The account is the query string's "account"
 * (step-ca renders the webhook URL from its template data, e.g. ?account={{ .Token.sub }}),
 * else the first UPN SAN, else the first DNS SAN, else the subject's common name.
 *
 * A well-formed call always gets 200 with "allow" (step-ca treats any status >= 400 as an error
 * and refuses the request anyway); unreadable calls get the 4xx problem of their fault.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strongmap/cert.h>
#include <strongmap/csr.h>
#include <strongmap/preissue.h>
#include <strongmap/verdict.h>

#include "api_internal.h"
#include "dirpool.h"
#include "stepca.h"
#include "su_hash.h"
#include "su_hex.h"

#define SIG_HEX_LEN (2 * SU_SHA256_LEN)

/* The signature of the call: 0, or 401 webhook-signature in @ae. */
static int check_signature(struct api_request *req, struct api_error *ae)
{
    const struct api_runtime *rt = req_runtime(req);
    const char *id = req_header(req, "X-Smallstep-Webhook-ID");
    const char *sig = req_header(req, "X-Smallstep-Signature");
    const struct api_webhook *wh = NULL;
    uint8_t want[SU_SHA256_LEN], got[SU_SHA256_LEN];
    unsigned d = 0;

    req->extra_header = "WWW-Authenticate";
    req->extra_value = "X-Smallstep-Signature realm=\"strongmapd\"";
    if (!id || !sig)
        return api_fail(ae, API_P_WEBHOOK_SIGNATURE, NULL,
                        "send X-Smallstep-Webhook-ID and X-Smallstep-Signature (hex HMAC-SHA256 "
                        "of the body with the webhook's secret)");
    for (size_t i = 0; i < rt->n_webhooks && !wh; i++)
        if (strcmp(rt->webhooks[i].id, id) == 0) /* the ID is no secret */
            wh = &rt->webhooks[i];
    if (!wh)
        return api_fail(ae, API_P_WEBHOOK_SIGNATURE, NULL,
                        "X-Smallstep-Webhook-ID names no webhook of this server");
    if (strlen(sig) != SIG_HEX_LEN ||
        su_hex_decode(sig, SIG_HEX_LEN, got, sizeof(got)) != (long)sizeof(got))
        return api_fail(ae, API_P_WEBHOOK_SIGNATURE, NULL,
                        "X-Smallstep-Signature is not 64 hex digits");
    su_hmac_sha256(wh->secret, wh->secret_len, req->body ? req->body : "", req->body_len, want);
    for (size_t i = 0; i < sizeof(want); i++)
        d |= (unsigned)(want[i] ^ got[i]);
    explicit_bzero(want, sizeof(want));
    if (d)
        return api_fail(ae, API_P_WEBHOOK_SIGNATURE, NULL,
                        "X-Smallstep-Signature does not match the body");
    req->extra_header = NULL;
    return 0;
}

/*
 * The signed body's @member object ("x509CertificateRequest", "x509Certificate": *@ret_obj)
 * and its "raw" string (*@ret_raw, NULL when absent or empty and @raw_optional), borrowed from
 * *@ret_root: json_decref() it.
 */
static int read_call(const struct api_request *req, const char *member, bool raw_optional,
                     json_t **ret_root, json_t **ret_obj, json_t **ret_raw, struct api_error *ae)
{
    json_error_t jerr;
    json_t *root =
        json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    json_t *obj, *raw;

    if (!root)
        return api_fail(ae, API_P_BAD_JSON, NULL, "line %d, column %d: %s", jerr.line, jerr.column,
                        jerr.text);
    *ret_root = root;
    obj = json_is_object(root) ? json_object_get(root, member) : NULL;
    if (!json_is_object(obj))
        return api_fail(ae, API_P_MISSING_FIELD, NULL,
                        "the body must be step-ca's webhook request with an \"%s\" object (X.509 "
                        "only)",
                        member);
    *ret_obj = obj;
    raw = json_object_get(obj, "raw");
    *ret_raw = NULL;
    if (raw && !json_is_null(raw) && !json_is_string(raw))
        return api_fail(ae, API_P_BAD_REQUEST, NULL, "%s.raw: the DER in base64", member);
    if (!json_is_string(raw) || json_string_length(raw) == 0) {
        if (raw_optional)
            return 0;
        return api_fail(ae, API_P_MISSING_FIELD, NULL,
                        "%s.raw (the request's DER, base64) is missing: the hook judges the "
                        "request step-ca received",
                        member);
    }
    *ret_raw = raw;
    return 0;
}

/* The CA step-ca signs with ([step-ca] issuer), or NULL: not known. */
static const struct sm_cert *stepca_issuer(const struct api_request *req)
{
    const struct sm_certs *c = req_runtime(req)->stepca_issuer;

    return c ? &c->certs[0] : NULL;
}

/* The account a request or certificate names: its first UPN SAN, DNS SAN, or common name. */
static const char *account_of(const struct sm_cert *c)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < c->n_san; i++)
            if (c->san[i].type == (pass == 0 ? SM_SAN_UPN : SM_SAN_DNS) && c->san[i].value[0])
                return c->san[i].value;
    for (size_t i = c->subject.n_attrs; i-- > 0;) /* the most specific CN */
        if (strcmp(c->subject.attrs[i].oid, "2.5.4.3") == 0 && c->subject.attrs[i].is_string)
            return c->subject.attrs[i].value;
    return NULL;
}

/* {"allow": false, "error": {"code": @code, "message": @message}} */
static int reply_deny(struct api_request *req, const char *code, const char *message)
{
    json_t *doc =
        json_pack("{s:b, s:{s:s, s:s}}", "allow", 0, "error", "code", code, "message", message);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    if (!text)
        return reply_error(req, -ENOMEM, NULL);
    req_note(req, code);
    return reply_json(req, text); /* takes text */
}

/*
 * The first error finding of @plan, else why a profile denies the certificate as it should be
 * issued (@as_issued: the enrich hook) or as it is (the authorize hook's template).
 */
static int reply_plan_deny(struct api_request *req, const struct sm_preissue *plan, bool as_issued)
{
    const struct sm_verdict *v = as_issued ? plan->as_issued : plan->as_requested;
    const struct sm_profile_outcome *po = v ? v->primary : NULL;
    char msg[512];

    for (size_t i = 0; i < plan->findings.n; i++)
        if (plan->findings.v[i].severity == SM_SEV_ERROR)
            return reply_deny(req, plan->findings.v[i].code, plan->findings.v[i].message);
    if (po && po->n_reasons > 0)
        snprintf(msg, sizeof(msg), "%s would deny the certificate%s: %s",
                 sm_profile_name(po->profile.kind), as_issued ? " even as it should be issued" : "",
                 po->reasons[0].message);
    else
        snprintf(msg, sizeof(msg), "a profile would deny the certificate%s",
                 as_issued ? " as it should be issued" : "");
    return reply_deny(req,
                      po && po->n_reasons ? po->reasons[0].code
                      : as_issued         ? "denied_as_issued"
                                          : "denied",
                      msg);
}

/* {"allow": true, "data": {...}}: the material the template puts into the certificate. */
static int reply_enrich(struct api_request *req, const struct sm_preissue *plan)
{
    json_t *doc = json_pack("{s:b, s:{s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}}", "allow", 1, "data",
                            "account", plan->account ? plan->account->dn : NULL, "sid", plan->sid,
                            "sidExtension", plan->sid_extension_der_base64, "sidUri", plan->sid_uri,
                            "upn", plan->upn, "dns", plan->dns);
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

    json_decref(doc);
    if (!text)
        return reply_error(req, -ENOMEM, NULL);
    return reply_json(req, text); /* takes text */
}

int h_hook_enrich(struct api_request *req)
{
    struct dirpool *dir = req_runtime(req)->dir;
    struct api_error ae = API_ERROR_INIT;
    struct api_whatif wi;
    struct sm_preissue_input in;
    struct sm_preissue *plan = NULL;
    struct sm_csr *csr = NULL;
    json_t *root = NULL, *obj = NULL, *raw = NULL;
    char *account = NULL;
    int ret;

    if ((ret = check_signature(req, &ae)) < 0 ||
        (ret = read_hook_query(req, &wi, &account, &ae)) < 0 ||
        (ret = read_call(req, "x509CertificateRequest", false, &root, &obj, &raw, &ae)) < 0 ||
        (ret = read_csr(json_string_value(raw), json_string_length(raw),
                        "x509CertificateRequest.raw", &csr, &ae)) < 0)
        goto out_fail;
    if (!dir) {
        ret = no_directory(&ae);
        goto out_fail;
    }
    in = (struct sm_preissue_input){
        .request = csr->request,
        .csr = csr,
        .account = account ? account : account_of(csr->request),
        .profiles = wi.profiles.v,
        .n_profiles = wi.profiles.n,
        .at = wi.at,
        .issuer = stepca_issuer(req),
    };
    if (!in.account) {
        ret = reply_deny(req, "no_account",
                         "the request names no account: no UPN or DNS name in its SAN and no "
                         "common name; give ?account= in the webhook's URL");
        goto out;
    }
    ret = dirpool_preissue(dir, &in, &plan, &ae.info);
    if (ret < 0)
        goto out_fail;
    if (plan->refuse || !plan->allow_as_issued)
        ret = reply_plan_deny(req, plan, true);
    else
        ret = reply_enrich(req, plan);
    goto out;

out_fail:
    ret = reply_fail(req, ret, &ae);
out:
    sm_preissue_free(plan);
    sm_csr_free(csr);
    json_decref(root);
    free(account);
    return ret;
}

/*
 * The certificate step-ca is about to sign, from the template's fields (api/stepca.c): the
 * issuance plan of those facts for the account, whose "as requested" verdict is the one of
 * this very certificate. Allowed when every profile allows it and no security finding refuses
 * it. The CA adds the issuer and the serial number when it signs, so no mapping needing them
 * is predicted, and the NTAuth check is not made (the plan notes both).
 */
static int authorize_template(struct api_request *req, json_t *obj, const char *account,
                              const struct api_whatif *wi)
{
    struct dirpool *dir = req_runtime(req)->dir;
    struct api_error ae = API_ERROR_INIT;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct stepca_cert *sc = NULL;
    struct sm_csr *csr = NULL;
    struct sm_preissue *plan = NULL;
    struct sm_preissue_input in;
    int ret;

    if ((ret = stepca_cert_read(obj, &sc, &ae)) < 0)
        goto out_fail;
    if ((ret = sm_csr_planned(&sc->in, &csr, &e)) < 0) {
        if (ret != -ENOMEM) {
            ret = api_fail(&ae, ret == SM_E_TOO_BIG ? API_P_BODY_TOO_LARGE : API_P_BAD_REQUEST,
                           NULL, "x509Certificate: %s%s%s", e.field ? e.field : "",
                           e.field ? ": " : "", e.text[0] ? e.text : sm_strerror(ret));
        }
        goto out_fail;
    }
    if (!dir) {
        ret = no_directory(&ae);
        goto out_fail;
    }
    in = (struct sm_preissue_input){
        .request = csr->request,
        .account = account ? account : account_of(csr->request),
        .profiles = wi->profiles.v,
        .n_profiles = wi->profiles.n,
        .at = sc->not_before ? sc->not_before : wi->at,
        .ski = sc->ski[0] ? sc->ski : NULL,
        .issuer = stepca_issuer(req),
    };
    if (sc->not_before && sc->not_after)
        in.validity_days = (long)((sc->not_after - sc->not_before + 86399) / 86400);
    if (in.validity_days < 1 && sc->not_before && sc->not_after)
        in.validity_days = 1;
    if (!in.account) {
        ret = reply_deny(req, "no_account",
                         "the certificate names no account: no UPN or DNS name in its SAN and no "
                         "common name; give ?account= in the webhook's URL");
        goto out;
    }
    ret = dirpool_preissue(dir, &in, &plan, &ae.info);
    if (ret < 0)
        goto out_fail;
    if (plan->as_requested) {
        metrics_verdict(&req->api->metrics, plan->as_requested);
        decision_log(req, plan->as_requested);
    }
    if (plan->refuse || !plan->allow_as_requested)
        ret = reply_plan_deny(req, plan, false);
    else
        ret = reply_json_static(req, "{\"allow\":true}");
    goto out;

out_fail:
    ret = reply_fail(req, ret, &ae);
out:
    sm_preissue_free(plan);
    sm_csr_free(csr);
    stepca_cert_free(sc);
    return ret;
}

int h_hook_authorize(struct api_request *req)
{
    const struct api_runtime *rt = req_runtime(req);
    struct api_error ae = API_ERROR_INIT;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_whatif wi;
    struct sm_verdict_input in;
    struct sm_verdict *v = NULL;
    struct sm_certs *certs = NULL;
    json_t *root = NULL, *obj = NULL, *raw = NULL;
    char *account = NULL;
    int ret;

    if ((ret = check_signature(req, &ae)) < 0 ||
        (ret = read_hook_query(req, &wi, &account, &ae)) < 0 ||
        (ret = read_call(req, "x509Certificate", true, &root, &obj, &raw, &ae)) < 0)
        goto out_fail;
    if (!raw) { /* step-ca: the template's fields, not signed yet */
        ret = authorize_template(req, obj, account, &wi);
        goto out;
    }
    ret = sm_certs_parse(json_string_value(raw), json_string_length(raw), NULL, &certs, &e);
    if (ret == 0 && certs->n_certs != 1)
        ret = SM_E_CERT;
    if (ret < 0) {
        ae.problem = ret == -ENOMEM ? API_P_UNAVAILABLE : API_P_BAD_CERTIFICATE;
        ae.info.field = "x509Certificate.raw";
        snprintf(ae.info.text, sizeof(ae.info.text), "%s",
                 e.text[0] ? e.text : "not one certificate");
        goto out_fail;
    }
    if (!rt->dir) {
        ret = no_directory(&ae);
        goto out_fail;
    }
    in = (struct sm_verdict_input){
        .cert = &certs->certs[0],
        .account = account ? account : account_of(&certs->certs[0]),
        .profiles = wi.profiles.v,
        .n_profiles = wi.profiles.n,
        .at = wi.at,
        .samba_anchors = rt->samba_anchors,
    };
    if ((ret = dirpool_verdict(rt->dir, &in, &v, &ae.info)) < 0)
        goto out_fail;
    metrics_verdict(&req->api->metrics, v);
    decision_log(req, v);
    if (v->allow) {
        ret = reply_json_static(req, "{\"allow\":true}");
    } else {
        const struct sm_profile_outcome *po = v->primary;
        char msg[512];

        snprintf(msg, sizeof(msg), "%s denies the certificate: %s",
                 po ? sm_profile_name(po->profile.kind) : "a profile",
                 po && po->n_reasons ? po->reasons[0].message : "no mapping");
        ret = reply_deny(req, po && po->n_reasons ? po->reasons[0].code : "denied", msg);
    }
    goto out;

out_fail:
    ret = reply_fail(req, ret, &ae);
out:
    sm_verdict_free(v);
    sm_certs_free(certs);
    json_decref(root);
    free(account);
    return ret;
}

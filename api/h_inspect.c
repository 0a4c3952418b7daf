/*
 * api/h_inspect.c - POST /v1/inspect: analyse certificates, answer the same JSON document as
 * `strongmap inspect` (sm_json_certs()).
 *
 * The body is PEM (one or more certificates), DER, base64 DER, or a JSON object
 * {"certificate": "<PEM or base64 DER>"}. JSON is recognised by its Content-Type
 * (application/json or any +json type) or, whatever the type, by a body that starts with '{'
 * after whitespace (PEM, DER and base64 never do).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <strongmap/cert.h>
#include <strongmap/json.h>

#include "api_internal.h"

/*
 * Take the "certificate" member of a JSON body. Returns 0 with a borrowed string in @ret,
 * @ret_len (valid while *@ret_root lives: json_decref() it), or a negative code after replying.
 */
static int json_certificate(struct api_request *req, json_t **ret_root, const char **ret,
                            size_t *ret_len)
{
    json_error_t jerr;
    json_t *root, *cert;
    char detail[256];

    root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(detail, sizeof(detail), "line %d, column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        reply_problem(req, API_P_BAD_JSON, detail);
        return -EINVAL;
    }
    cert = json_is_object(root) ? json_object_get(root, "certificate") : NULL;
    if (!json_is_string(cert)) {
        reply_problem(req, API_P_MISSING_FIELD,
                      "the body must be a JSON object with a \"certificate\" string (PEM or "
                      "base64 DER)");
        json_decref(root);
        return -EINVAL;
    }
    *ret_root = root;
    *ret = json_string_value(cert);
    *ret_len = json_string_length(cert);
    return 0;
}

int h_inspect(struct api_request *req)
{
    const char *input = req->body;
    size_t input_len = req->body_len;
    struct sm_certs *certs = NULL;
    json_t *root = NULL;
    char *json = NULL;
    int ret;

    if ((ret = body_check_encoding(req)) < 0)
        return ret; /* answered */
    if (req->body_len == 0)
        return reply_problem(req, API_P_EMPTY_BODY,
                             "send a PEM or DER certificate, or {\"certificate\": \"...\"}");
    switch (body_kind(req_header(req, "Content-Type"), req->body, req->body_len)) {
    case BODY_UNSUPPORTED:
        return reply_problem(req, API_P_UNSUPPORTED_MEDIA_TYPE,
                             "use application/x-pem-file, application/pkix-cert or "
                             "application/json");
    case BODY_JSON:
        ret = json_certificate(req, &root, &input, &input_len);
        if (ret < 0)
            return ret; /* answered */
        break;
    case BODY_RAW: break;
    }

    if ((ret = parse_certs(req, input, input_len, NULL, "", &certs)) < 0)
        goto out; /* answered */
    ret = sm_json_certs(certs, 0, &json);
    if (ret < 0) {
        ret = reply_error(req, ret, NULL);
        goto out;
    }
    ret = reply_json(req, json); /* takes json */

out:
    sm_certs_free(certs);
    json_decref(root);
    return ret;
}

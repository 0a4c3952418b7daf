/*
 * api/h_inspect.c - POST /v1/inspect: analyse certificates, answer the same JSON document as
 * `strongmap inspect` (sm_json_certs()).
 *
 * The body is PEM (one or more certificates), DER, base64 DER, or a JSON object
 * {"certificate": "<PEM or base64 DER>"} (read_inspect(): JSON is recognised by its
 * Content-Type, application/json or any +json type, or, whatever the type, by a body that
 * starts with '{' after whitespace, which PEM, DER and base64 never do).
 */
#include <strongmap/cert.h>
#include <strongmap/json.h>

#include "api_internal.h"

int h_inspect(struct api_request *req)
{
    struct api_error ae = API_ERROR_INIT;
    struct sm_certs *certs = NULL;
    char *json = NULL;
    int ret;

    if ((ret = read_inspect(req, &certs, &ae)) < 0 || (ret = sm_json_certs(certs, 0, &json)) < 0)
        ret = reply_fail(req, ret, &ae);
    else
        ret = reply_json(req, json); /* takes json */
    sm_certs_free(certs);
    return ret;
}

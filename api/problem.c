/*
 * api/problem.c - the one place that knows HTTP statuses for errors: the problem table, the
 * engine/errno code -> problem mapping, the detail of a failed request (struct api_error) and
 * the RFC 9457 body. The engine knows nothing of HTTP: it returns error codes, and this file
 * makes them problems.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include <strongmap/common.h>

#include "api_internal.h"
#include "su_utf8.h"

/* Longest detail sent to a client, in bytes. */
#define PROBLEM_DETAIL_MAX 400

/*
 * Indexed by enum api_problem; codes are documented in openapi/strongmapd.yaml. The last column
 * is the Retry-After of a 503 in seconds (0: none, the condition does not pass by itself).
 *
 * 422 marks a well-formed request that the directory's content leaves without an answer: the
 * account publishes no certificate to evaluate, or a lookup matched more than SM_MAX_ACCOUNTS
 * entries; or one that holds nothing to answer (KDC events of other IDs only). Neither is the
 * client's mistake (no 400), neither passes on a retry (no 503), and neither is a fault of
 * strongmapd (no 500).
 */
static const struct api_problem_info problems[API_P__COUNT] = {
    [API_P_NOT_FOUND] = { "not-found", 404, "Not found", 0 },
    [API_P_METHOD_NOT_ALLOWED] = { "method-not-allowed", 405, "Method not allowed", 0 },
    [API_P_BODY_TOO_LARGE] = { "body-too-large", 413, "Request body too large", 0 },
    [API_P_EMPTY_BODY] = { "empty-body", 400, "Empty request body", 0 },
    [API_P_BAD_CERTIFICATE] = { "bad-certificate", 400, "Not a readable certificate", 0 },
    [API_P_BAD_JSON] = { "bad-json", 400, "Malformed JSON", 0 },
    [API_P_MISSING_FIELD] = { "missing-field", 400, "Missing or invalid field", 0 },
    [API_P_BAD_REQUEST] = { "bad-request", 400, "Bad request", 0 },
    [API_P_UNSUPPORTED_MEDIA_TYPE] = { "unsupported-media-type", 415, "Unsupported media type", 0 },
    [API_P_NO_CERTIFICATE] = { "no-certificate", 422, "No certificate to evaluate", 0 },
    [API_P_DIRECTORY_LIMIT] = { "directory-limit", 422, "Too many directory entries", 0 },
    [API_P_INTERNAL] = { "internal", 500, "Internal error", 0 },
    [API_P_UNAVAILABLE] = { "unavailable", 503, "Temporarily unavailable", 1 },
    [API_P_NO_DIRECTORY] = { "no-directory", 503, "No directory configured", 0 },
    [API_P_DIRECTORY_UNAVAILABLE] = { "directory-unavailable", 503, "Directory unavailable", 5 },
    [API_P_DIRECTORY_REFUSED] = { "directory-refused", 503, "Directory refused access", 30 },
    [API_P_UNAUTHORIZED] = { "unauthorized", 401, "Authentication required", 0 },
    [API_P_FORBIDDEN] = { "insufficient-scope", 403, "Token lacks the scope", 0 },
    [API_P_CLIENT_CERTIFICATE] = { "client-certificate-required", 403,
                                   "Valid client certificate required", 0 },
    [API_P_RATE_LIMITED] = { "rate-limited", 429, "Too many requests", 1 },
    [API_P_TOO_MANY_CERTIFICATES] = { "too-many-certificates", 413, "Too many certificates", 0 },
    [API_P_EXPECTATION_FAILED] = { "expectation-failed", 417, "Expectation not supported", 0 },
    [API_P_HEADER_TOO_LARGE] = { "header-too-large", 431, "Request header too large", 0 },
    [API_P_BAD_CSR] = { "bad-csr", 400, "Not a readable certificate request", 0 },
    [API_P_CSR_SIGNATURE] = { "csr-signature", 400, "Certificate request signature invalid", 0 },
    [API_P_WEBHOOK_SIGNATURE] = { "webhook-signature", 401, "Webhook signature missing or invalid",
                                  0 },
    [API_P_BAD_EVENTS] = { "bad-events", 400, "Not readable KDC events", 0 },
    [API_P_TOO_MANY_EVENTS] = { "too-many-events", 413, "Too many KDC events", 0 },
    [API_P_NO_EVENTS] = { "no-events", 422, "No KDC event to explain", 0 },
    [API_P_NO_IDENTITY] = { "no-identity", 403, "No identity presented", 0 },
    /* audit jobs: the limit (Retry-After: the reply's estimate), a report asked for before the
       audit ended (RFC 9110 409: the resource's state, not the request, is at fault; 425 is for
       replayed early data, RFC 8470), a representation the client does not accept */
    [API_P_TOO_MANY_AUDITS] = { "too-many-audits", 429, "Too many audits", 5 },
    [API_P_AUDIT_NOT_DONE] = { "audit-not-done", 409, "The audit has not ended", 0 },
    [API_P_NOT_ACCEPTABLE] = { "not-acceptable", 406, "No acceptable representation", 0 },
    [API_P_NO_ACCOUNT] = { "no-account", 404, "No such account", 0 },
    [API_P_MAPPING_REFUSED] = { "mapping-refused", 409, "Mapping refused", 0 },
    [API_P_WRITE_OFF] = { "write-not-configured", 503, "Mapping write-back not configured", 0 },
    [API_P_WRITE_FAILED] = { "write-failed", 502, "Directory write failed", 0 },
    [API_P_AUDIT_LOG] = { "audit-log", 500, "Audit log unavailable", 0 },
    [API_P_WRITE_BUSY] = { "write-busy", 503, "Another write in progress", 2 },
};

const struct api_problem_info *problem_info(enum api_problem p)
{
    if ((unsigned)p >= API_P__COUNT)
        p = API_P_INTERNAL;
    return &problems[p];
}

enum api_problem problem_from_error(int err)
{
    switch (err) {
    case SM_E_EMPTY: return API_P_EMPTY_BODY;
    case SM_E_FORMAT:
    case SM_E_CERT: return API_P_BAD_CERTIFICATE;
    case SM_E_CSR: return API_P_BAD_CSR;
    case SM_E_CSR_SIGNATURE: return API_P_CSR_SIGNATURE;
    case SM_E_XML:
    case SM_E_XML_DTD: return API_P_BAD_EVENTS;
    case SM_E_TOO_BIG:
    case SM_E_TOO_MANY:
    case -E2BIG: return API_P_BODY_TOO_LARGE;
    case SM_E_SID:
    case SM_E_UTF8:
    case -EINVAL:
    case -EPERM: return API_P_BAD_REQUEST; /* sm_dir_lookup(): a DN outside the base */
    case -ENOMEM: return API_P_UNAVAILABLE;
    case -ENOENT: return API_P_NO_CERTIFICATE; /* sm_verdict_evaluate(): nothing to evaluate */
    case SM_E_DIR_DOWN: return API_P_DIRECTORY_UNAVAILABLE;
    case SM_E_DIR_REFUSED: return API_P_DIRECTORY_REFUSED;
    case SM_E_DIR_LIMIT: return API_P_DIRECTORY_LIMIT;
    default: return API_P_INTERNAL;
    }
}

enum api_problem problem_of(int err, const struct api_error *ae)
{
    if (ae && ae->problem != API_P__COUNT)
        return ae->problem;
    return problem_from_error(err);
}

const char *problem_detail(enum api_problem p, const struct api_error *ae, char *buf, size_t size,
                           const char **ret_note)
{
    const char *detail = NULL;

    *ret_note = NULL;
    if (ae && ae->info.field)
        snprintf(buf, size, "%s: %s", ae->info.field, ae->info.text);
    else if (ae && ae->info.text[0])
        snprintf(buf, size, "%s", ae->info.text);
    else
        buf = NULL;
    switch (p) {
    case API_P_DIRECTORY_UNAVAILABLE: detail = "the directory does not answer; retry later"; break;
    case API_P_DIRECTORY_REFUSED:
        detail = "the directory refused strongmapd (bind credentials, TLS trust or access rights); "
                 "the daemon's log has the reason";
        break;
    default: return buf;
    }
    *ret_note = buf;
    return detail;
}

/* Copy @in into @out (@size bytes) as printable UTF-8: control characters become ' ', invalid
 * bytes '?'; cut on a character boundary. */
static void sanitize(const char *in, char *out, size_t size)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t len = strlen(in), o = 0;

    while (len > 0) {
        uint32_t cp;
        size_t n = su_utf8_seq(p, len, &cp);
        if (n == 0 || (n == 1 && (p[0] < 0x20 || p[0] == 0x7f))) {
            if (o + 1 >= size)
                break;
            out[o++] = n == 0 ? '?' : ' ';
            n = 1;
        } else {
            if (o + n >= size)
                break;
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
        len -= n;
    }
    out[o] = '\0';
}

int problem_json(enum api_problem p, const char *detail, char **ret_json)
{
    const struct api_problem_info *info = problem_info(p);
    char type[128], safe[PROBLEM_DETAIL_MAX + 1];
    json_t *doc;
    char *text = NULL;

    snprintf(type, sizeof(type), "%s%s", API_PROBLEM_TYPE_BASE, info->code);
    /* {"type", "title", "status"[, "detail"]}, in this order. sanitize() leaves valid UTF-8,
     * which json_string() takes: only an allocation can fail. */
    doc = json_pack("{s:s, s:s, s:i}", "type", type, "title", info->title, "status",
                    (int)info->status);
    if (doc && detail) {
        sanitize(detail, safe, sizeof(safe));
        if (json_object_set_new(doc, "detail", json_string(safe)) < 0)
            goto out;
    }
    if (doc)
        text = json_dumps(doc, JSON_COMPACT);
out:
    json_decref(doc);
    if (!text)
        return -ENOMEM;
    *ret_json = text;
    return 0;
}

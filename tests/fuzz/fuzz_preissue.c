/*
 * tests/fuzz/fuzz_preissue.c - libFuzzer target: the issuance surfaces of the HTTP API through
 * their handlers (api/h_preissue.c, api/h_hooks.c and the readers they call in api/params.c:
 * read_preissue(), read_csr(), read_hook_query(); then sm_csr_parse(), the plan or the verdict,
 * the JSON rendering and reply_fail()).
 *
 * Input: byte 0 chooses the request, the rest is its query string up to the first NUL (when
 * the route takes one), then its body:
 *   bits 0-1  route: 0 POST /v1/preissue (no query), 1 POST /v1/preissue?<query>,
 *             2 POST /v1/hooks/step-ca/enrich?<query>, 3 POST /v1/hooks/step-ca/authorize?<query>
 *   bits 2-4  Content-Type: one of content_types[] (0: none)
 *   bit 5     hooks: the signature is of another body (must be 401, whatever the body)
 *   bit 6     hooks: no X-Smallstep-Webhook-ID (must be 401)
 * A hook call is signed as step-ca signs it (hex HMAC-SHA256 of the body with the webhook's
 * secret), so that the fuzzer reaches the readers behind the signature check.
 *
 * As tests/fuzz/fuzz_request.c (whose fake libmicrohttpd, tests/lib/fake_mhd.c, it shares), the
 * target aborts when a handler answers other than once, answers 5xx while the directory is
 * there, answers a body that is not JSON (a problem's "status" equal to the HTTP status), or
 * lets an unsigned or wrongly signed hook call past 401. The directory is examples/demo.ldif
 * (or SM_FUZZ_LDIF), opened once without a cache.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api_internal.h"
#include "dirpool.h"
#include "fake_mhd.h"
#include "fuzz_runtime.h"
#include "su_hash.h"
#include "su_hex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HOOK_ID "fuzz-hook"

static const char *const content_types[8] = {
    NULL,
    "application/json",
    "application/x-pem-file",
    "application/pkcs10",
    "text/plain; charset=utf-8",
    "application/octet-stream",
    "image/png",
    " APPLICATION/JSON ; charset=utf-8",
};

static struct api server;
static struct api_runtime *runtime;

static void setup(void)
{
    runtime = fuzz_runtime("fuzz_preissue", false);
    snprintf(runtime->webhooks[0].id, sizeof(runtime->webhooks[0].id), "%s", HOOK_ID);
    memcpy(runtime->webhooks[0].secret, "a webhook secret of 32 bytes....", 32);
    runtime->webhooks[0].secret_len = 32;
    runtime->n_webhooks = 1;
    metrics_init(&server.metrics);
}

/* The answer must be JSON; a problem's status the HTTP status. */
static void check_body(const struct MHD_Response *r, unsigned status)
{
    const char *ctype = fake_mhd_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    json_error_t jerr;
    json_t *doc;

    if (!ctype ||
        (strcmp(ctype, "application/json") != 0 && strcmp(ctype, "application/problem+json") != 0))
        abort();
    doc = json_loadb(r->buf, r->len, 0, &jerr);
    if (!doc)
        abort();
    if (status >= 400) {
        json_t *st = json_object_get(doc, "status");
        if (strcmp(ctype, "application/problem+json") != 0 || !json_is_integer(st) ||
            json_integer_value(st) != (json_int_t)status)
            abort();
    } else if (!json_is_object(doc)) {
        abort();
    }
    json_decref(doc);
}

/* "@prefix" + the bytes up to the first NUL; @data and @size move past them and the NUL. */
static char *make_target(const char *prefix, const uint8_t **data, size_t *size)
{
    size_t plen = strlen(prefix), n = strnlen((const char *)*data, *size);
    char *t = malloc(plen + n + 1);

    if (!t)
        return NULL;
    memcpy(t, prefix, plen);
    memcpy(t + plen, *data, n);
    t[plen + n] = '\0';
    n = n < *size ? n + 1 : n;
    *data += n;
    *size -= n;
    return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const prefixes[4] = { "/v1/preissue", "/v1/preissue?",
                                             "/v1/hooks/step-ca/enrich?",
                                             "/v1/hooks/step-ca/authorize?" };
    struct MHD_Connection conn = { 0 };
    struct api_request *req;
    uint8_t mac[SU_SHA256_LEN];
    char sig[2 * SU_SHA256_LEN + 1];
    unsigned sel, route;
    bool hook, bad_sig;
    int ret;

    if (!runtime)
        setup();
    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    route = sel & 3;
    hook = route >= 2;
    bad_sig = hook && (sel & 0x60);

    req = calloc(1, sizeof(*req));
    if (!req)
        return 0;
    req->api = &server;
    req->conn = &conn;
    req->rt = runtime;
    strcpy(req->id, "fuzz-1");
    fake_mhd_set_header(&conn, MHD_HTTP_HEADER_CONTENT_TYPE, content_types[(sel >> 2) & 7]);
    if (route == 0)
        req->target = strdup(prefixes[0]);
    else
        req->target = make_target(prefixes[route], &data, &size);
    if (!req->target)
        goto out;
    req->body = malloc(size + 1);
    if (!req->body)
        goto out;
    memcpy(req->body, data, size);
    req->body[size] = '\0';
    req->body_len = size;
    req->body_cap = size + 1;
    if (hook) {
        su_hmac_sha256(runtime->webhooks[0].secret, runtime->webhooks[0].secret_len, req->body,
                       (sel & 0x20) ? size / 2 : size, mac);
        if ((sel & 0x20) && size == 0)
            mac[0] ^= 1; /* half of nothing is nothing: another body all the same */
        su_hex_lower(mac, sizeof(mac), sig);
        fake_mhd_set_header(&conn, "X-Smallstep-Signature", sig);
        if (!(sel & 0x40))
            fake_mhd_set_header(&conn, "X-Smallstep-Webhook-ID", HOOK_ID);
    }
    ret = route == 2 ? h_hook_enrich(req) : route == 3 ? h_hook_authorize(req) : h_preissue(req);
    if (!req->replied) {
        if (ret >= 0)
            abort();
        reply_error(req, ret, NULL);
    }
    if (conn.queued != 1 || !req->replied || conn.status != req->status)
        abort();
    if (conn.status == 500 || (conn.status >= 500 && runtime->dir))
        abort();
    if (bad_sig && conn.status != 401)
        abort(); /* past the signature check without a valid signature */
    check_body(conn.response, conn.status);

out:
    fake_mhd_clear(&conn);
    free(req->body);
    free(req->target);
    free(req);
    return 0;
}

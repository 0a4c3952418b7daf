/*
 * tests/fuzz/fuzz_freeradius.c - libFuzzer target: POST /v1/hooks/freeradius through its
 * handler (api/h_freeradius.c): rlm_rest's JSON body, its attributes and their bounds, the
 * TLS-Client-Cert-* facts (SAN names, EKU OIDs encoded as DER, the SKI), the planned facts
 * (sm_csr_planned()), the issuance plan's verdicts, the answer and reply_fail().
 *
 * Input: byte 0 chooses the runtime's policy (bit 0: [authz] directory_down = fail_open), the
 * rest is the body. The libmicrohttpd boundary is tests/lib/fake_mhd.c's; the directory
 * examples/demo.ldif (found from this file's path, or SM_FUZZ_LDIF), without a cache. Beyond
 * crashes, leaks and sanitizer reports, the target aborts when the answer breaks the route's
 * contract: one answer; never a 5xx (the directory is there); 204 without a body; 200 only
 * when failing open; a 200 or 401 of application/json holds exactly "reply:Reply-Message", one
 * line of printable ASCII of at most 247 bytes that starts "strongmapd: "; anything else a
 * problem document whose status is the HTTP status.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api server;
static struct api_runtime *closed, *open;

static void setup(void)
{
    closed = fuzz_runtime("fuzz_freeradius", true);
    open = fuzz_runtime("fuzz_freeradius", true);
    open->authz_fail_open = true;
    metrics_init(&server.metrics);
}

static void check_message(const char *s)
{
    size_t len = strlen(s);

    if (len > 247 || strncmp(s, "strongmapd: ", 12) != 0)
        abort();
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            abort();
}

static void check_answer(const struct MHD_Connection *c, bool fail_open)
{
    const struct MHD_Response *r = c->response;
    const char *ctype = fake_mhd_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    json_error_t jerr;
    json_t *doc;

    if (c->queued != 1 || c->status >= 500)
        abort();
    if (c->status == 204) {
        if (r->len != 0 || ctype)
            abort();
        return;
    }
    if (c->status == 200 && !fail_open)
        abort();
    if (!ctype || !(doc = json_loadb(r->buf, r->len, 0, &jerr)))
        abort();
    if (strcmp(ctype, "application/json") == 0) {
        json_t *m = json_object_get(doc, "reply:Reply-Message");
        if ((c->status != 200 && c->status != 401) || json_object_size(doc) != 1 ||
            !json_is_string(m))
            abort();
        check_message(json_string_value(m));
    } else {
        json_t *st = json_object_get(doc, "status");
        if (strcmp(ctype, "application/problem+json") != 0 || c->status < 400 ||
            !json_is_integer(st) || json_integer_value(st) != (json_int_t)c->status)
            abort();
    }
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct MHD_Connection conn = { 0 };
    struct api_request *req;
    bool fail_open;
    int ret;

    if (!closed)
        setup();
    if (size < 1)
        return 0;
    fail_open = data[0] & 1;
    data++;
    size--;
    req = calloc(1, sizeof(*req));
    if (!req)
        return 0;
    req->api = &server;
    req->conn = &conn;
    req->rt = fail_open ? open : closed;
    strcpy(req->id, "fuzz-1");
    if (!(req->target = strdup("/v1/hooks/freeradius")) || !(req->body = malloc(size + 1)))
        goto out;
    memcpy(req->body, data, size);
    req->body[size] = '\0';
    req->body_len = size;
    ret = h_hook_freeradius(req);
    if (ret < 0 && conn.queued == 0)
        ret = reply_error(req, ret, NULL); /* as http.c does */
    (void)ret;
    check_answer(&conn, fail_open);

out:
    fake_mhd_clear(&conn);
    if (req) {
        free(req->target);
        free(req->body);
    }
    free(req);
    return 0;
}

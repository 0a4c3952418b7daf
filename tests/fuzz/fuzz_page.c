/*
 * tests/fuzz/fuzz_page.c - libFuzzer target: the status page's checks through their handlers
 * (api/h_page.c): POST /status/check's multipart/form-data reader (api/page.c,
 * read_form_file()), the certificates of the upload (PEM, DER, base64, .p7b bundles), the
 * verdict, sm_verdict_state(), and the HTML and JSON answers; POST /v1/self/check's body.
 *
 * Input: byte 0 chooses the request, the rest is its body:
 *   bit 0     route: 0 POST /status/check, 1 POST /v1/self/check
 *   bits 1-2  Content-Type: one of content_types[]
 * The libmicrohttpd boundary is tests/lib/fake_mhd.c's; the directory examples/demo.ldif
 * (found from this file's path, or SM_FUZZ_LDIF), without a cache. Beyond crashes, leaks and
 * sanitizer reports, the target aborts when an answer breaks the routes' contract: one answer,
 * never a 5xx (the directory is there); /status/check answers HTML only, always with the
 * Content-Security-Policy, and no upload can put markup in it (exactly one "<script", the
 * page's own, and no "<img", "<iframe" or "<svg"); /v1/self/check answers a JSON object with a
 * known state, or a problem document whose status is the HTTP status.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
    "multipart/form-data; boundary=XyZ",
    "multipart/form-data; boundary=\"XyZ\"",
    "application/x-pem-file",
    "application/octet-stream",
};

static struct api server;
static struct api_runtime *rt;

static void setup(void)
{
    static char ldif[4096];
    struct opt_dir od = { 0 };
    struct dirpool_config dc = { 0 };
    struct sm_errinfo e = { .offset = -1, .text = "" };
    const char *env = getenv("SM_FUZZ_LDIF");

    if (env) {
        snprintf(ldif, sizeof(ldif), "%s", env);
    } else {
        /* this file is <root>/tests/fuzz/fuzz_page.c */
        const char *tail = strstr(__FILE__, "tests/fuzz/fuzz_page.c");
        int n = tail ? (int)(tail - __FILE__) : 0;
        snprintf(ldif, sizeof(ldif), "%.*sexamples/demo.ldif", n, __FILE__);
    }
    od.ldif = ldif;
    dc.dir = &od;
    dc.handles = 1;
    dc.cache_size = 0; /* no state from one input to the next */
    if (api_runtime_new(&rt) < 0)
        abort();
    if (dirpool_open(&dc, &rt->dir, &e) < 0) {
        fprintf(stderr, "fuzz_page: no directory (%s)\n", e.text);
        abort(); /* the checks below expect verdicts */
    }
    metrics_init(&server.metrics);
}

/* Occurrences of @needle in the @len bytes at @p. */
static size_t count(const char *p, size_t len, const char *needle)
{
    size_t n = 0, l = strlen(needle);

    for (size_t i = 0; i + l <= len; i++)
        if (memcmp(p + i, needle, l) == 0)
            n++;
    return n;
}

static void check_html(const struct MHD_Connection *c)
{
    const struct MHD_Response *r = c->response;
    const char *ctype = fake_mhd_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);

    if (c->status == 404) /* the page off: never here */
        abort();
    if (!ctype || strcmp(ctype, "text/html; charset=utf-8") != 0 ||
        !fake_mhd_response_header(r, "Content-Security-Policy"))
        abort();
    if (count(r->buf, r->len, "<script") != 1 || count(r->buf, r->len, "<img") ||
        count(r->buf, r->len, "<iframe") || count(r->buf, r->len, "<svg"))
        abort();
}

static void check_json(const struct MHD_Connection *c)
{
    const struct MHD_Response *r = c->response;
    const char *ctype = fake_mhd_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    json_error_t jerr;
    json_t *doc;

    if (!ctype || !(doc = json_loadb(r->buf, r->len, 0, &jerr)))
        abort();
    if (c->status == 200) {
        const char *st = json_string_value(json_object_get(doc, "state"));
        if (strcmp(ctype, "application/json") != 0 || !st ||
            (strcmp(st, "will_work") != 0 && strcmp(st, "at_risk") != 0 &&
             strcmp(st, "will_fail") != 0))
            abort();
    } else {
        json_t *s = json_object_get(doc, "status");
        if (strcmp(ctype, "application/problem+json") != 0 || c->status < 400 ||
            !json_is_integer(s) || json_integer_value(s) != (json_int_t)c->status)
            abort();
    }
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct MHD_Connection conn = { 0 };
    struct api_request *req;
    bool json;
    int ret;

    if (!rt)
        setup();
    if (size < 1)
        return 0;
    json = data[0] & 1;
    fake_mhd_set_header(&conn, "Content-Type", content_types[(data[0] >> 1) & 3]);
    data++;
    size--;
    req = calloc(1, sizeof(*req));
    if (!req)
        return 0;
    req->api = &server;
    req->conn = &conn;
    req->rt = rt;
    strcpy(req->id, "fuzz-1");
    if (!(req->target = strdup(json ? "/v1/self/check" : "/status/check")) ||
        !(req->body = malloc(size + 1)))
        goto out;
    memcpy(req->body, data, size);
    req->body[size] = '\0';
    req->body_len = size;
    ret = json ? h_self_check(req) : h_status_check(req);
    if (ret < 0 && conn.queued == 0)
        ret = reply_error(req, ret, NULL); /* as http.c does */
    (void)ret;
    if (conn.queued != 1 || conn.status >= 500)
        abort();
    if (json)
        check_json(&conn);
    else if (ret >= 0)
        check_html(&conn);

out:
    fake_mhd_clear(&conn);
    if (req) {
        free(req->target);
        free(req->body);
    }
    free(req);
    return 0;
}

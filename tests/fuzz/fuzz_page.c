/*
 * tests/fuzz/fuzz_page.c - libFuzzer target: the status page's checks through their handlers
 * (api/h_page.c): POST /status/check's multipart/form-data reader (api/page.c,
 * read_form_file()), the certificates of the upload (PEM, DER, base64, .p7b bundles), the
 * verdict, sm_verdict_state(), and the HTML and JSON answers; POST /v1/self/check's body; and
 * the page for a caller the server knows (api/self.c): GET /status and GET /v1/self with the
 * identity header of a proxy, trusted or not, and lab mode's ?account=.
 *
 * Input: byte 0 chooses the request, the rest is its body:
 *   bit 0     route: 0 POST /status/check, 1 POST /v1/self/check
 *   bits 1-2  Content-Type: one of content_types[]
 *   bit 3     instead, who asks: bit 0 chooses GET /status (0) or GET /v1/self (1), bit 1 a
 *             trusted peer (127.0.0.1, [page] trusted_proxies) or not (127.0.0.2), bit 2 lab
 *             mode; the rest is the X-Remote-User header's value up to the first NUL (none
 *             when empty), then the query string (up to the next NUL)
 * The libmicrohttpd boundary is tests/lib/fake_mhd.c's; the directory examples/demo.ldif
 * (found from this file's path, or SM_FUZZ_LDIF), without a cache. Beyond crashes, leaks and
 * sanitizer reports, the target aborts when an answer breaks the routes' contract: one answer,
 * never a 5xx (the directory is there); /status/check answers HTML only, always with the
 * Content-Security-Policy, and no upload can put markup in it (exactly one "<script", the
 * page's own, and no "<img", "<iframe" or "<svg"); /v1/self/check answers a JSON object with a
 * known state, or a problem document whose status is the HTTP status. A caller's page and
 * GET /v1/self answer the same way; the header from a peer that is not a trusted proxy is
 * always refused (400) and never judged: no SID reaches that answer.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api_internal.h"
#include "dirpool.h"
#include "fake_mhd.h"
#include "fuzz_runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
    "multipart/form-data; boundary=XyZ",
    "multipart/form-data; boundary=\"XyZ\"",
    "application/x-pem-file",
    "application/octet-stream",
};

static struct api server;
static struct api_runtime *rt, *rt_lab;

static void setup(void)
{
    rt = fuzz_runtime("fuzz_page", true);
    rt_lab = fuzz_runtime("fuzz_page", true);
    for (struct api_runtime *r = rt; r; r = r == rt ? rt_lab : NULL) {
        size_t at;

        r->page_rate_per_s = 0; /* api_runtime_new()'s: no limit, no state across inputs */
        if (su_cidr_list_parse("127.0.0.1", &r->page_trusted_proxies, &at) < 0)
            abort();
    }
    rt_lab->page_lab_mode = true;
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

/* Who asks: GET /status or GET /v1/self with the header and query of the input (bit 3). */
static void who_asks(uint8_t how, const uint8_t *data, size_t size)
{
    struct sockaddr_in peer = { .sin_family = AF_INET };
    struct MHD_Connection conn = { 0 };
    struct api_request *req = calloc(1, sizeof(*req));
    bool json = how & 1, trusted = how & 2;
    const char *end = memchr(data, '\0', size), *q;
    char *value = NULL;
    size_t qlen;
    int ret;

    if (!req)
        return;
    value = strndup((const char *)data, end ? (size_t)(end - (const char *)data) : size);
    q = end ? end + 1 : (const char *)data + size;
    qlen = strnlen(q, (size_t)((const char *)data + size - q));
    req->api = &server;
    req->conn = &conn;
    req->rt = how & 4 ? rt_lab : rt;
    strcpy(req->id, "fuzz-1");
    peer.sin_addr.s_addr = htonl(trusted ? 0x7f000001 : 0x7f000002); /* 127.0.0.1: trusted */
    conn.client_addr = &peer;
    if (!value || !(req->target = malloc(16 + qlen)))
        goto out;
    snprintf(req->target, 16 + qlen, "%s%s%.*s", json ? "/v1/self" : "/status", qlen ? "?" : "",
             (int)qlen, q);
    if (value[0])
        fake_mhd_set_header(&conn, "X-Remote-User", value);
    ret = json ? h_self(req) : h_page(req);
    if (ret < 0 && conn.queued == 0)
        ret = reply_error(req, ret, NULL); /* as http.c does */
    if (conn.queued != 1 || conn.status >= 500)
        abort();
    if (value[0] && !trusted &&
        (conn.status != 400 || count(conn.response->buf, conn.response->len, "S-1-5-21")))
        abort(); /* a forged header: refused, never judged */
    if (json)
        check_json(&conn);
    else if (ret >= 0)
        check_html(&conn);
out:
    fake_mhd_clear(&conn);
    free(req->target);
    free(req);
    free(value);
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
    if (data[0] & 8) {
        who_asks(data[0], data + 1, size - 1);
        return 0;
    }
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

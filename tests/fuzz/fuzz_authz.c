/*
 * tests/fuzz/fuzz_authz.c - libFuzzer target: GET /v1/authz through its handler (api/h_authz.c)
 * and reader (api/authz.c): the certificate header in every proxy's form (RFC 9440, URL-encoded
 * PEM, Envoy's X-Forwarded-Client-Cert with its quoting, base64 DER), the trusted-peer test, the
 * query, then the engine, the headers and reply_fail().
 *
 * Input: byte 0 chooses the request, the rest is the header's value, cut at the first NUL, CR
 * or LF (libmicrohttpd hands a handler no value holding one):
 *   bit 0  the peer is 127.0.0.2 (not a trusted proxy) instead of 127.0.0.1
 *   bit 1  ?format=json
 *   bit 2  the header twice
 *   bit 3  no header at all (the value is ignored)
 *   bit 4  ?profile=samba&profile=windows-2016
 *
 * The libmicrohttpd boundary is tests/lib/fake_mhd.c's; the directory examples/demo.ldif (found
 * from this file's path, or SM_FUZZ_LDIF), without a cache. Beyond crashes, leaks and sanitizer
 * reports, the target aborts when the answer breaks the route's contract: one answer; never a
 * 5xx (the directory is there); a verdict (X-Strongmap-Outcome) only with 200 or 403, only from
 * the trusted peer, and its X-Strongmap-* values printable ASCII; 400 without one for a header
 * from the other peer; a body, when there is one, JSON (a problem's status the HTTP status).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api_internal.h"
#include "dirpool.h"
#include "fake_mhd.h"
#include "fuzz_runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api server;
static struct api_runtime *runtime;
static struct sockaddr_in proxy, other;

static void setup(void)
{
    size_t at;

    runtime = fuzz_runtime("fuzz_authz", true);
    if (su_cidr_list_parse("127.0.0.1 ::1", &runtime->trusted_proxies, &at) < 0)
        abort();
    metrics_init(&server.metrics);
    proxy = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
    other = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000002) };
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return false;
    return true;
}

static void check_answer(const struct MHD_Connection *c, bool trusted, bool header)
{
    static const char *const names[] = { "X-Strongmap-Outcome",   "X-Strongmap-Reason",
                                         "X-Strongmap-Kdc-Error", "X-Strongmap-Event",
                                         "X-Strongmap-Account",   "X-Strongmap-Fix" };
    const struct MHD_Response *r = c->response;
    const char *outcome = fake_mhd_response_header(r, "X-Strongmap-Outcome");
    const char *ctype = fake_mhd_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    json_error_t jerr;
    json_t *doc;

    if (c->queued != 1 || c->status >= 500)
        abort();
    if (header && !trusted && (c->status != 400 || outcome))
        abort(); /* a forged header is never judged */
    if (outcome) {
        if ((c->status != 200 && c->status != 403) ||
            (strcmp(outcome, "allow") != 0 && strcmp(outcome, "deny") != 0) ||
            (c->status == 200) != (strcmp(outcome, "allow") == 0))
            abort();
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            const char *v = fake_mhd_response_header(r, names[i]);
            if (v && !printable(v))
                abort();
        }
    } else if (c->status < 400) {
        abort(); /* 200 without an outcome */
    }
    if (r->len == 0) {
        if (ctype || !outcome)
            abort(); /* only a verdict goes without a body, and then without a type */
        return;
    }
    if (!ctype || !(doc = json_loadb(r->buf, r->len, 0, &jerr)))
        abort();
    if (c->status >= 400 && !outcome) {
        json_t *st = json_object_get(doc, "status");
        if (strcmp(ctype, "application/problem+json") != 0 || !json_is_integer(st) ||
            json_integer_value(st) != (json_int_t)c->status)
            abort();
    } else if (strcmp(ctype, "application/json") != 0 || !json_is_object(doc)) {
        abort();
    }
    json_decref(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct MHD_Connection conn = { 0 };
    struct api_request *req;
    char *value = NULL, target[96];
    unsigned sel;
    size_t n = 0;
    bool trusted, header;
    int ret;

    if (!runtime)
        setup();
    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    while (n < size && data[n] != 0 && data[n] != '\r' && data[n] != '\n')
        n++;
    trusted = !(sel & 1);
    header = !(sel & 8);
    req = calloc(1, sizeof(*req));
    value = malloc(n + 1);
    if (!req || !value)
        goto out;
    memcpy(value, data, n);
    value[n] = '\0';
    snprintf(target, sizeof(target), "/v1/authz%s%s%s", sel & 18 ? "?" : "",
             sel & 2 ? "format=json" : "",
             sel & 16 ? (sel & 2 ? "&profile=samba&profile=windows-2016"
                                 : "profile=samba&profile=windows-2016")
                      : "");
    req->api = &server;
    req->conn = &conn;
    req->rt = runtime;
    strcpy(req->id, "fuzz-1");
    if (!(req->target = strdup(target)))
        goto out;
    conn.client_addr = trusted ? (const void *)&proxy : (const void *)&other;
    if (header) {
        fake_mhd_set_header(&conn, API_AUTHZ_HEADER_DEFAULT, value);
        if (sel & 4)
            fake_mhd_set_header(&conn, API_AUTHZ_HEADER_DEFAULT, value);
    }
    ret = h_authz(req);
    if (ret < 0 && conn.queued == 0)
        ret = reply_error(req, ret, NULL); /* as http.c does */
    (void)ret;
    check_answer(&conn, trusted, header);

out:
    fake_mhd_clear(&conn);
    if (req)
        free(req->target);
    free(req);
    free(value);
    return 0;
}

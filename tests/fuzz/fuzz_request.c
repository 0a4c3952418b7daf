/*
 * tests/fuzz/fuzz_request.c - libFuzzer target: reading HTTP API requests, through the handlers
 * themselves (api/h_verdict.c, h_inspect.c, h_account.c and the readers they call in
 * api/params.c: read_verdict(), read_inspect(), read_account(), with the body's media type and
 * encoding, the verdict members, %-decoding, the what-if parameters and the certificates; then
 * the engine, the JSON rendering and reply_fail()).
 *
 * Input: byte 0 chooses the request, the rest is its body (or, for the account route, its
 * request target after "/v1/accounts/", cut at the first NUL as an HTTP target cannot hold one;
 * for route 3, the query string up to the first NUL, then the body):
 *   bits 0-1  route: 0 POST /v1/verdict, 1 POST /v1/inspect, 2 GET /v1/accounts/{name},
 *             3 POST /v1/verdict?<query> (the certificate-body form's options)
 *   bits 2-4  Content-Type: one of content_types[] (0: none)
 *   bits 5-6  Content-Encoding: none, "identity", "gzip", " Identity ; q=1"
 *   bit 7     instead: the rest is a raw request head (request line, header lines, empty line)
 *             for api/head.c, laid out in a buffer as libmicrohttpd 0.9.75 parses it in place
 *             (fuzz_head() below); the other bits are ignored
 *
 * Only the libmicrohttpd boundary is replaced: tests/lib/fake_mhd.c defines the six MHD
 * functions that api/reply.c calls for a request (header lookup, response creation, headers,
 * queueing, destruction) and records the responses, so req_header(), reply_*() and the problem
 * documents run as in the daemon (tests/unit/test_api_handlers.c uses the same fake). The
 * directory is examples/demo.ldif (found from this file's path, or SM_FUZZ_LDIF), opened once
 * through dirpool without a cache, so that verdicts and account statuses run to the end; when
 * it cannot be opened the handlers answer 503 no-directory after parsing.
 *
 * Beyond crashes, leaks and sanitizer reports, the target aborts when a handler breaks the
 * contract of api_internal.h: it must answer exactly once (or return a negative code, which
 * http.c answers with reply_error()), never 5xx when the directory is there (500 is an internal
 * error: an engine code problem.c does not know), and every body must be JSON (a problem's
 * "status" equal to the HTTP status). For a raw head it aborts when head.c accepts one that
 * must be refused: a NUL byte (but one right before a line's end, which the layout cannot always
 * show), a bare CR, a folded line, two Host headers or none in HTTP/1.1, Content-Length with
 * Transfer-Encoding, two different lengths, a transfer coding other than chunked.
 */
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

/* ---- the responses, as tests/lib/fake_mhd.c recorded them ---- */

static void check_body(const struct MHD_Response *r, unsigned status)
{
    const char *ctype = fake_mhd_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    json_error_t jerr;
    json_t *doc;

    if (!ctype ||
        (strcmp(ctype, "application/json") != 0 && strcmp(ctype, "application/problem+json") != 0))
        abort(); /* the routes fuzzed here answer JSON only */
    doc = json_loadb(r->buf, r->len, 0, &jerr);
    if (!doc)
        abort();
    if (status >= 400) {
        json_t *st = json_object_get(doc, "status");
        json_t *type = json_object_get(doc, "type");
        if (strcmp(ctype, "application/problem+json") != 0 || !json_is_integer(st) ||
            json_integer_value(st) != (json_int_t)status || !json_is_string(type) ||
            strncmp(json_string_value(type), API_PROBLEM_TYPE_BASE,
                    strlen(API_PROBLEM_TYPE_BASE)) != 0)
            abort();
    } else if (strcmp(ctype, "application/json") != 0 || !json_is_object(doc)) {
        abort();
    }
    json_decref(doc);
}

/* ---- the server's state ---- */

static const char *const content_types[8] = {
    NULL,
    "application/json",
    "application/x-pem-file",
    "application/pkix-cert",
    "text/plain; charset=utf-8",
    "application/merge-patch+json",
    "image/png",
    " APPLICATION/JSON ; charset=utf-8",
};
static const char *const content_encodings[4] = { NULL, "identity", "gzip", " Identity ; q=1" };

static struct api server;
static struct api_runtime *runtime;

static void setup(void)
{
    runtime = fuzz_runtime("fuzz_request", false);
    metrics_init(&server.metrics);
}

/* ---- one request ---- */

/* "@prefix" + the bytes up to the first NUL (an HTTP target holds none); @data and @size
   move past them and the NUL. */
static char *make_target(const char *prefix, const uint8_t **data, size_t *size)
{
    size_t plen = strlen(prefix), n = strnlen((const char *)*data, *size);
    char *t = malloc(plen + n + 1);
    if (!t)
        return NULL;
    memcpy(t, prefix, plen);
    memcpy(t + plen, *data, n);
    t[plen + n] = '\0';
    n = n < *size ? n + 1 : n; /* and the NUL */
    *data += n;
    *size -= n;
    return t;
}

/* ---- request heads (selector bit 7) ---- */

#define HEAD_FIELDS_MAX 128

/*
 * The next line of @buf from *@pos (up to @len), as libmicrohttpd 0.9.75 reads one: it ends at
 * CRLF or at a bare LF, which are overwritten with NUL; *@ret_len is its length without them.
 * NULL when no line end follows.
 */
static char *next_line(char *buf, size_t len, size_t *pos, size_t *ret_len)
{
    for (size_t i = *pos; i < len; i++) {
        if (buf[i] == '\n' || (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')) {
            char *line = buf + *pos;
            size_t skip = buf[i] == '\r' ? 2 : 1;

            *ret_len = i - *pos;
            memset(buf + i, 0, skip);
            *pos = i + skip;
            return line;
        }
    }
    return NULL;
}

/* Must head.c refuse the raw head @raw (@len bytes) for its bytes? */
static bool raw_bytes_bad(const uint8_t *raw, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (raw[i] == 0 && !(i + 1 < len && raw[i + 1] == '\n') &&
            !(i + 2 < len && raw[i + 1] == '\r' && raw[i + 2] == '\n'))
            return true; /* a NUL, but right before a line's end */
        if (raw[i] == '\r' && !(i + 1 < len && raw[i + 1] == '\n'))
            return true; /* a bare CR */
        if (i > 0 && raw[i - 1] == '\n' && (raw[i] == ' ' || raw[i] == '\t'))
            return true; /* a line starting with a blank: obs-fold */
    }
    return false;
}

static void fuzz_head(const uint8_t *data, size_t size)
{
    struct {
        char *name, *value;
    } f[HEAD_FIELDS_MAX];
    char *buf, *folded[HEAD_FIELDS_MAX], *line, *uri, *sp, *version = NULL;
    size_t pos = 0, n = 0, n_folded = 0, line_len;
    struct head_check h;
    unsigned hosts = 0, cls = 0, tes = 0;
    const char *cl = NULL;
    bool cl_differ = false, te_other = false;

    buf = malloc(size + 1);
    if (!buf)
        return;
    memcpy(buf, data, size);
    buf[size] = '\0';
    /* the request line: method, blanks, target, the last blank, version (as 0.9.75 splits it) */
    line = next_line(buf, size, &pos, &line_len);
    if (!line)
        goto out;
    sp = memchr(line, ' ', line_len);
    if (!sp || sp == line)
        goto out;
    *sp = '\0';
    uri = sp + 1;
    while (uri < line + line_len && *uri == ' ')
        uri++;
    for (char *v = line + line_len - 1; v > uri; v--) {
        if (*v == ' ') {
            version = v + 1;
            *v = '\0';
            break;
        }
    }
    if (!version || line + line_len - version != 8 ||
        (memcmp(version, "HTTP/1.1", 8) != 0 && memcmp(version, "HTTP/1.0", 8) != 0))
        goto out; /* libmicrohttpd refuses the version */
    /* the header lines, up to the empty line */
    for (;;) {
        char *colon;

        line = next_line(buf, size, &pos, &line_len);
        if (!line)
            goto out; /* no end of head: libmicrohttpd waits for more */
        if (line[0] == '\0')
            break;
        if (line[0] == ' ' || line[0] == '\t') {
            /* obs-fold: 0.9.75 appends the continuation to the previous field's name, in a
               new allocation */
            char *cont = line, *joined;

            if (n == 0 || n_folded == HEAD_FIELDS_MAX)
                goto out;
            while (*cont == ' ' || *cont == '\t')
                cont++;
            joined = malloc(strlen(f[n - 1].name) + strlen(cont) + 1);
            if (!joined)
                goto out;
            strcpy(joined, f[n - 1].name);
            strcat(joined, cont);
            f[n - 1].name = folded[n_folded++] = joined;
            continue;
        }
        colon = strchr(line, ':');
        if (!colon || n == HEAD_FIELDS_MAX)
            goto out; /* libmicrohttpd: 400 */
        *colon++ = '\0';
        while (*colon == ' ' || *colon == '\t')
            colon++;
        f[n].name = line;
        f[n].value = colon;
        n++;
    }
    head_begin(&h, buf, pos, buf, uri, uri, version);
    for (size_t i = 0; i < n; i++)
        if (head_field(&h, f[i].name, f[i].value) < 0)
            break;
    if (head_finish(&h) < 0) {
        if (!h.bad)
            abort(); /* refused without a reason */
        goto out;
    }
    /* accepted: nothing a proxy could read differently */
    if (raw_bytes_bad(data, pos))
        abort();
    for (size_t i = 0; i < n; i++) {
        if (strcasecmp(f[i].name, "Host") == 0)
            hosts++;
        if (strcasecmp(f[i].name, "Content-Length") == 0) {
            cl_differ |= cls++ > 0 && strcmp(cl, f[i].value) != 0;
            cl = f[i].value;
        }
        if (strcasecmp(f[i].name, "Transfer-Encoding") == 0) {
            tes++;
            te_other |= strcasecmp(f[i].value, "chunked") != 0;
        }
    }
    if (hosts > 1 || (hosts == 0 && strcmp(version, "HTTP/1.0") != 0) || cl_differ ||
        (cls && tes) || tes > 1 || te_other)
        abort();

out:
    for (size_t i = 0; i < n_folded; i++)
        free(folded[i]);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct MHD_Connection conn = { 0 };
    struct api_request *req;
    unsigned sel;
    int ret;

    if (!runtime)
        setup();
    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    if (sel & 0x80) {
        fuzz_head(data, size);
        return 0;
    }

    req = calloc(1, sizeof(*req));
    if (!req)
        return 0;
    req->api = &server;
    req->conn = &conn;
    req->rt = runtime;
    strcpy(req->id, "fuzz-1");
    fake_mhd_set_header(&conn, MHD_HTTP_HEADER_CONTENT_TYPE, content_types[(sel >> 2) & 7]);
    fake_mhd_set_header(&conn, MHD_HTTP_HEADER_CONTENT_ENCODING, content_encodings[(sel >> 5) & 3]);

    switch (sel & 3) {
    case 2:
        if (!(req->target = make_target("/v1/accounts/", &data, &size)))
            goto out;
        ret = h_account(req);
        break;
    default:
        /* the target as http.c keeps it (never NULL there) */
        if ((sel & 3) == 3)
            req->target = make_target("/v1/verdict?", &data, &size);
        else
            req->target = strdup((sel & 3) == 1 ? "/v1/inspect" : "/v1/verdict");
        if (!req->target)
            goto out;
        /* the body as http.c keeps it: its own buffer, NUL-terminated */
        req->body = malloc(size + 1);
        if (!req->body)
            goto out;
        memcpy(req->body, data, size);
        req->body[size] = '\0';
        req->body_len = size;
        req->body_cap = size + 1;
        ret = (sel & 3) == 1 ? h_inspect(req) : h_verdict(req);
        break;
    }
    /* http.c's dispatch(): a handler that returns an error without answering gets
       reply_error(); one that returns 0 without answering is a bug. */
    if (!req->replied) {
        if (ret >= 0)
            abort();
        reply_error(req, ret, NULL);
    }
    if (conn.queued != 1 || !req->replied || conn.status != req->status)
        abort(); /* answered twice, or not as reply.c recorded */
    if (conn.status == 500 || (conn.status >= 500 && runtime->dir))
        abort();
    check_body(conn.response, conn.status);

out:
    fake_mhd_clear(&conn);
    free(req->body);
    free(req->target);
    free(req);
    return 0;
}

/*
 * tests/unit/test_api_handlers.c - the API's handlers (api/h_*.c) without a server: each one is
 * called with a struct api_request built here, as http.c would hand it over, and answers through
 * api/reply.c into the fake libmicrohttpd of tests/lib/fake_mhd.c, which records the response.
 *
 * Every call checks the handlers' contract (api/api_internal.h): exactly one response queued,
 * with the common headers, as reply.c recorded it in the request; a JSON body, and for an error
 * an RFC 9457 problem whose status and type are the response's. The cases then check the status,
 * the problem type and the parts of the body that matter, for good input and for each kind of
 * bad input a handler refuses itself. The directory is the LDIF backend over examples/demo.ldif
 * (the verdicts of examples/certs/VERDICTS.txt); a directory that does not answer is an LDAP URI
 * on a local port bound without listening (connections are refused at once).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <strongmap/cert.h>
#include <strongmap/dir.h>

#include "api_internal.h"
#include "dirpool.h"
#include "fake_mhd.h"
#include "log.h"

#ifndef SM_EXAMPLES
#define SM_EXAMPLES "examples"
#endif

#define REQ_ID   "unit-1"
#define ALICE_DN "cn=alice,cn=Users,dc=example,dc=com"

/* ---- the server's state ---- */

static struct api server;
static int down_fd = -1;          /* a bound port nobody listens on */
static char down_uri[64];         /* ldap://127.0.0.1:<that port> */
static struct api_runtime *s_dir; /* LDIF directory, defaults */
static struct api_runtime *s_nodir, *s_down, *s_details, *s_max2, *s_tokens;

static char *slurp(const char *name, size_t *ret_len)
{
    char path[1024];
    FILE *f;
    long n;
    char *buf;

    snprintf(path, sizeof(path), "%s/%s", SM_EXAMPLES, name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (ret_len)
        *ret_len = (size_t)n;
    return buf;
}

/* A runtime with the defaults and a directory of its own over @od (NULL: none). */
static struct api_runtime *runtime(const struct opt_dir *od)
{
    struct dirpool_config dc = { .dir = od, .handles = 1 };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_runtime *rt = NULL;

    assert_int_equal(api_runtime_new(&rt), 0);
    if (od && dirpool_open(&dc, &rt->dir, &e) < 0)
        fail_msg("%s: %s", od->ldif ? od->ldif : od->uris[0], e.text);
    return rt;
}

static int setup(void **state)
{
    struct opt_dir od = { .ldif = SM_EXAMPLES "/demo.ldif" };
    struct opt_dir down = { .n_uris = 1, .base = "dc=example,dc=com" };
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t salen = sizeof(sa);
    static const struct api_token tokens[2] = {
        { .name = "checker", .sha256 = { 1 }, .scopes = API_SCOPE_CHECK },
        { .name = "auditor", .sha256 = { 2 }, .scopes = API_SCOPE_CHECK | API_SCOPE_ACCOUNT },
    };

    (void)state;
    log_set_level(LOG_PRIO_ERR); /* dirpool_ready() warns of the directory going down */
    metrics_init(&server.metrics);
    /* bound, never listening: a connection to it is refused */
    down_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(down_fd >= 0);
    assert_int_equal(bind(down_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(down_fd, (struct sockaddr *)&sa, &salen), 0);
    snprintf(down_uri, sizeof(down_uri), "ldap://127.0.0.1:%u", ntohs(sa.sin_port));
    down.uris[0] = down_uri;

    s_dir = runtime(&od);
    s_max2 = runtime(&od);
    s_max2->max_certs = 2;
    s_details = runtime(&od);
    s_details->health_details = true;
    s_tokens = runtime(&od);
    memcpy(s_tokens->tokens, tokens, sizeof(tokens));
    s_tokens->n_tokens = 2;
    s_down = runtime(&down);
    s_nodir = runtime(NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    api_runtime_unref(s_dir);
    api_runtime_unref(s_max2);
    api_runtime_unref(s_details);
    api_runtime_unref(s_tokens);
    api_runtime_unref(s_down);
    api_runtime_unref(s_nodir);
    close(down_fd);
    metrics_destroy(&server.metrics);
    return 0;
}

/* ---- one request ---- */

struct call {
    struct api_request req;
    struct MHD_Connection conn;
    int ret;               /* the handler's */
    const char *ct;        /* Content-Type of the response */
    char *text;            /* the response body, NUL-terminated */
    json_t *doc;           /* the body parsed (JSON responses) */
    const char *type_code; /* a problem's type, after API_PROBLEM_TYPE_BASE */
};

/* A request for @target (as sent, still %-encoded) on runtime @s; headers and body may follow. */
static void begin(struct call *c, struct api_runtime *s, const char *target)
{
    memset(c, 0, sizeof(*c));
    c->req.api = &server;
    c->req.conn = &c->conn;
    c->req.rt = s;
    strcpy(c->req.id, REQ_ID);
    c->req.target = strdup(target);
    assert_non_null(c->req.target);
}

static void header(struct call *c, const char *name, const char *value)
{
    fake_mhd_set_header(&c->conn, name, value);
}

/* The body as http.c keeps it: its own buffer, NUL-terminated. */
static void body(struct call *c, const void *data, size_t len)
{
    c->req.body = malloc(len + 1);
    assert_non_null(c->req.body);
    memcpy(c->req.body, data, len);
    c->req.body[len] = '\0';
    c->req.body_len = len;
    c->req.body_cap = len + 1;
}

/* Call @h and check the contract of every answer. */
static void run(struct call *c, api_handler_fn h)
{
    const struct MHD_Response *r;
    const char *retry;
    json_error_t jerr;

    c->ret = h(&c->req);
    /* exactly one response, queued on the connection, as reply.c recorded it */
    if (c->conn.queued != 1)
        fail_msg("%s: %u responses queued, want exactly one", c->req.target, c->conn.queued);
    assert_true(c->req.replied);
    assert_non_null(c->conn.response);
    assert_int_equal(c->conn.status, c->req.status);
    r = c->conn.response;
    assert_int_equal(c->req.bytes, r->len);
    c->ct = fake_mhd_response_header(r, "Content-Type");
    assert_non_null(c->ct);
    assert_string_equal(fake_mhd_response_header(r, "Cache-Control"), "no-store");
    assert_string_equal(fake_mhd_response_header(r, "X-Content-Type-Options"), "nosniff");
    assert_string_equal(fake_mhd_response_header(r, "X-Request-Id"), REQ_ID);
    assert_null(fake_mhd_response_header(r, "Connection"));
    c->text = malloc(r->len + 1);
    assert_non_null(c->text);
    memcpy(c->text, r->buf, r->len);
    c->text[r->len] = '\0';
    if (c->conn.status >= 400) {
        json_t *st, *type;

        /* an RFC 9457 problem, answered by the handler itself (not http.c's fallback) */
        assert_true(c->ret <= 0);
        assert_string_equal(c->ct, "application/problem+json");
        c->doc = json_loads(c->text, 0, &jerr);
        if (!c->doc)
            fail_msg("problem is not JSON: %s", c->text);
        st = json_object_get(c->doc, "status");
        type = json_object_get(c->doc, "type");
        assert_true(json_is_integer(st));
        assert_int_equal(json_integer_value(st), c->conn.status);
        assert_true(json_is_string(type));
        assert_memory_equal(json_string_value(type), API_PROBLEM_TYPE_BASE,
                            strlen(API_PROBLEM_TYPE_BASE));
        c->type_code = json_string_value(type) + strlen(API_PROBLEM_TYPE_BASE);
        assert_non_null(c->req.problem);
        assert_string_equal(c->req.problem, c->type_code);
        retry = fake_mhd_response_header(r, "Retry-After");
        if (c->req.retry_after) {
            char secs[16];
            snprintf(secs, sizeof(secs), "%u", c->req.retry_after);
            assert_non_null(retry);
            assert_string_equal(retry, secs);
        } else {
            assert_null(retry);
        }
    } else {
        assert_int_equal(c->conn.status, 200);
        assert_int_equal(c->ret, 0);
        assert_null(c->req.problem);
        if (strcmp(c->ct, "application/json") == 0) {
            c->doc = json_loads(c->text, 0, &jerr);
            if (!c->doc || !json_is_object(c->doc))
                fail_msg("not a JSON object: %s", c->text);
        }
    }
}

static void end(struct call *c)
{
    fake_mhd_clear(&c->conn);
    json_decref(c->doc);
    free(c->text);
    free(c->req.body);
    free(c->req.target);
}

/* begin(), the Content-Type @ct (NULL: none), the body @text (NULL: empty), run(). */
static void call(struct call *c, api_handler_fn h, struct api_runtime *s, const char *target,
                 const char *ct, const char *text)
{
    begin(c, s, target);
    header(c, "Content-Type", ct);
    if (text)
        body(c, text, strlen(text));
    run(c, h);
}

/* A JSON text built with json_pack() (free()). */
static char *jbody(const char *fmt, ...)
{
    json_error_t jerr;
    va_list ap;
    json_t *v;
    char *s;

    va_start(ap, fmt);
    v = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    if (!v)
        fail_msg("json_pack: %s", jerr.text);
    s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    assert_non_null(s);
    return s;
}

/* The member of @doc at @path: names and array indexes separated by '.' ("a.0.b"). */
static json_t *jget(json_t *doc, const char *path)
{
    char key[64];

    while (doc && *path) {
        size_t n = strcspn(path, ".");
        assert_true(n < sizeof(key));
        memcpy(key, path, n);
        key[n] = '\0';
        if (json_is_array(doc))
            doc = json_array_get(doc, strtoul(key, NULL, 10));
        else
            doc = json_object_get(doc, key);
        path += n + (path[n] == '.');
    }
    return doc;
}

static void expect_str(const struct call *c, const char *path, const char *want)
{
    json_t *v = jget(c->doc, path);

    if (!json_is_string(v))
        fail_msg("%s: not a string in %s", path, c->text);
    assert_string_equal(json_string_value(v), want);
}

static void expect_int(const struct call *c, const char *path, long long want)
{
    json_t *v = jget(c->doc, path);

    if (!json_is_integer(v))
        fail_msg("%s: not an integer in %s", path, c->text);
    assert_int_equal(json_integer_value(v), want);
}

static void expect_null(const struct call *c, const char *path)
{
    json_t *v = jget(c->doc, path);

    if (!json_is_null(v))
        fail_msg("%s: not null in %s", path, c->text);
}

static void expect_bool(const struct call *c, const char *path, bool want)
{
    json_t *v = jget(c->doc, path);

    if (!json_is_boolean(v) || json_is_true(v) != want)
        fail_msg("%s: not %s in %s", path, want ? "true" : "false", c->text);
}

static size_t array_size(const struct call *c, const char *path)
{
    json_t *v = jget(c->doc, path);

    if (!json_is_array(v))
        fail_msg("%s: not an array in %s", path, c->text);
    return json_array_size(v);
}

/* An answer of @status with the problem @code whose detail holds @detail (NULL: no check). */
static void expect_problem(const struct call *c, unsigned status, const char *code,
                           const char *detail)
{
    if (c->conn.status != status || strcmp(c->type_code ? c->type_code : "", code) != 0)
        fail_msg("want %u %s, got %u %s", status, code, c->conn.status, c->text);
    if (detail) {
        json_t *d = json_object_get(c->doc, "detail");
        if (!json_is_string(d) || !strstr(json_string_value(d), detail))
            fail_msg("detail lacks \"%s\": %s", detail, c->text);
    }
}

static void expect_ok(const struct call *c)
{
    if (c->conn.status != 200)
        fail_msg("want 200, got %u %s", c->conn.status, c->text);
    assert_string_equal(c->ct, "application/json");
}

/* ---- GET /healthz ---- */

static void test_health(void **state)
{
    struct call c;

    (void)state;
    call(&c, h_health, s_dir, "/healthz", NULL, NULL);
    expect_ok(&c);
    assert_string_equal(c.text, "{\"status\":\"ok\"}"); /* no version without health_details */
    end(&c);

    call(&c, h_health, s_details, "/healthz", NULL, NULL);
    expect_ok(&c);
    expect_str(&c, "status", "ok");
    expect_str(&c, "version", SM_VERSION);
    end(&c);

    /* liveness touches nothing: the same without a directory */
    call(&c, h_health, s_nodir, "/healthz", NULL, NULL);
    expect_ok(&c);
    end(&c);
}

/* ---- GET /readyz ---- */

static void test_ready(void **state)
{
    struct call c;

    (void)state;
    call(&c, h_ready, s_dir, "/readyz", NULL, NULL);
    expect_ok(&c);
    assert_string_equal(c.text, "{\"status\":\"ready\"}"); /* the kind only with details */
    end(&c);

    call(&c, h_ready, s_details, "/readyz", NULL, NULL);
    expect_ok(&c);
    expect_str(&c, "status", "ready");
    expect_str(&c, "directory.kind", "ldif");
    expect_str(&c, "directory.state", "up");
    end(&c);

    call(&c, h_ready, s_nodir, "/readyz", NULL, NULL);
    expect_problem(&c, 503, "no-directory", "no directory configured");
    end(&c);

    /* the reason (the server's address) goes to the access log, not to the client */
    call(&c, h_ready, s_down, "/readyz", NULL, NULL);
    expect_problem(&c, 503, "directory-unavailable", "the directory does not answer");
    assert_string_equal(fake_mhd_response_header(c.conn.response, "Retry-After"), "5");
    assert_true(c.req.log_note[0] != '\0');
    assert_null(strstr(c.text, "127.0.0.1"));
    end(&c);
}

/* ---- POST /v1/inspect ---- */

static void test_inspect_good(void **state)
{
    struct call c;
    size_t len;
    char *pem = slurp("certs/alice-sid.pem", NULL), *pem2 = slurp("certs/bob.pem", NULL);
    char *two, *json;
    struct sm_certs *certs = NULL;
    struct sm_errinfo e = { .offset = -1, .text = "" };

    (void)state;
    /* PEM, with its media type and without one (sniffed) */
    call(&c, h_inspect, s_dir, "/v1/inspect", "application/x-pem-file", pem);
    expect_ok(&c);
    assert_int_equal(array_size(&c, "certificates"), 1);
    assert_int_equal(array_size(&c, "errors"), 0);
    expect_str(&c, "certificates.0.subject", "CN=Alice,OU=Users,DC=example,DC=com");
    expect_str(&c, "certificates.0.serial", "1A2B3C4D5E6F0001");
    end(&c);
    call(&c, h_inspect, s_dir, "/v1/inspect", NULL, pem);
    expect_ok(&c);
    expect_str(&c, "certificates.0.serial", "1A2B3C4D5E6F0001");
    end(&c);

    /* two certificates */
    len = strlen(pem) + strlen(pem2) + 1;
    two = malloc(len);
    assert_non_null(two);
    snprintf(two, len, "%s%s", pem, pem2);
    call(&c, h_inspect, s_dir, "/v1/inspect", "application/x-pem-file", two);
    expect_ok(&c);
    assert_int_equal(array_size(&c, "certificates"), 2);
    expect_int(&c, "certificates.1.index", 1);
    end(&c);

    /* DER */
    assert_int_equal(sm_certs_parse(pem, strlen(pem), NULL, &certs, &e), 0);
    begin(&c, s_dir, "/v1/inspect");
    header(&c, "Content-Type", "application/pkix-cert");
    header(&c, "Content-Encoding", "identity");
    body(&c, certs->certs[0].der, certs->certs[0].der_len);
    run(&c, h_inspect);
    expect_ok(&c);
    expect_str(&c, "certificates.0.serial", "1A2B3C4D5E6F0001");
    end(&c);

    /* {"certificate": PEM}, by its media type and by its first byte */
    json = jbody("{s:s}", "certificate", pem);
    call(&c, h_inspect, s_dir, "/v1/inspect", "application/json; charset=utf-8", json);
    expect_ok(&c);
    expect_str(&c, "certificates.0.serial", "1A2B3C4D5E6F0001");
    end(&c);
    call(&c, h_inspect, s_dir, "/v1/inspect", "text/plain", json);
    expect_ok(&c);
    expect_str(&c, "certificates.0.serial", "1A2B3C4D5E6F0001");
    end(&c);

    sm_certs_free(certs);
    free(json);
    free(two);
    free(pem);
    free(pem2);
}

/* @n copies of @pem, one after the other (free()). */
static char *repeat(const char *pem, unsigned n)
{
    size_t len = strlen(pem);
    char *out = malloc(len * n + 1);

    assert_non_null(out);
    for (unsigned i = 0; i < n; i++)
        memcpy(out + i * len, pem, len);
    out[len * n] = '\0';
    return out;
}

static void test_inspect_bad(void **state)
{
    struct call c;
    char *pem = slurp("certs/alice-sid.pem", NULL), *three = repeat(pem, 3);
    char *many = repeat(pem, SM_MAX_CERTS + 1);

    (void)state;
    call(&c, h_inspect, s_dir, "/v1/inspect", "application/x-pem-file", NULL);
    expect_problem(&c, 400, "empty-body", NULL);
    end(&c);

    call(&c, h_inspect, s_dir, "/v1/inspect", "image/png", pem);
    expect_problem(&c, 415, "unsupported-media-type", "application/x-pem-file");
    end(&c);

    begin(&c, s_dir, "/v1/inspect");
    header(&c, "Content-Encoding", "gzip");
    body(&c, pem, strlen(pem));
    run(&c, h_inspect);
    expect_problem(&c, 415, "unsupported-media-type", "Content-Encoding");
    end(&c);

    call(&c, h_inspect, s_dir, "/v1/inspect", "application/json", "{\"certificate\": ");
    expect_problem(&c, 400, "bad-json", "line 1, column");
    end(&c);
    call(&c, h_inspect, s_dir, "/v1/inspect", "application/json",
         "{\"certificate\": \"a\", \"certificate\": \"b\"}");
    expect_problem(&c, 400, "bad-json", "duplicate");
    end(&c);

    call(&c, h_inspect, s_dir, "/v1/inspect", "application/json", "{\"cert\": \"x\"}");
    expect_problem(&c, 400, "missing-field", "\"certificate\"");
    end(&c);
    call(&c, h_inspect, s_dir, "/v1/inspect", "application/json", "[\"x\"]");
    expect_problem(&c, 400, "missing-field", "\"certificate\"");
    end(&c);
    call(&c, h_inspect, s_dir, "/v1/inspect", "application/json", "{\"certificate\": 5}");
    expect_problem(&c, 400, "missing-field", "\"certificate\"");
    end(&c);

    call(&c, h_inspect, s_dir, "/v1/inspect", "text/plain", "hello");
    expect_problem(&c, 400, "bad-certificate", "not PEM, DER or base64");
    end(&c);
    call(&c, h_inspect, s_dir, "/v1/inspect", "application/json", "{\"certificate\": \"hello\"}");
    expect_problem(&c, 400, "bad-certificate", NULL);
    end(&c);

    /* the runtime's limit, and the parser's own (SM_MAX_CERTS) */
    call(&c, h_inspect, s_max2, "/v1/inspect", "application/x-pem-file", three);
    expect_problem(&c, 413, "too-many-certificates",
                   "3 certificates in the request; the limit is 2");
    end(&c);
    call(&c, h_inspect, s_dir, "/v1/inspect", "application/x-pem-file", many);
    expect_problem(&c, 413, "too-many-certificates", "certificates in the request");
    end(&c);

    free(many);
    free(three);
    free(pem);
}

/* ---- POST /v1/verdict ---- */

static void test_verdict_good(void **state)
{
    struct call c;
    char *sid = slurp("certs/alice-sid.pem", NULL), *nosid = slurp("certs/alice-no-sid.pem", NULL);
    char *json;
    struct sm_certs *certs = NULL;
    struct sm_errinfo e = { .offset = -1, .text = "" };

    (void)state;
    /* JSON body, certificate only: the account is resolved from it */
    json = jbody("{s:s}", "certificate", sid);
    call(&c, h_verdict, s_dir, "/v1/verdict", "application/json", json);
    expect_ok(&c);
    expect_str(&c, "outcome", "allow");
    expect_str(&c, "profile", "windows-2022");
    expect_str(&c, "resolved_by", "upn_san");
    expect_str(&c, "account.dn", ALICE_DN);
    expect_bool(&c, "account_redacted", false);
    expect_str(&c, "mapping.method", "sid_extension");
    expect_str(&c, "certificate.serial", "1A2B3C4D5E6F0001");
    end(&c);
    free(json);

    /* every member: a named account, two profiles, a mode, a backdating and a time */
    json = jbody("{s:s, s:s, s:[s,s], s:i, s:i, s:s}", "certificate", nosid, "account", "alice",
                 "profile", "windows-2019", "samba", "mode", 1, "backdating_seconds", 0, "at",
                 "2026-06-01T00:00:00Z");
    call(&c, h_verdict, s_dir, "/v1/verdict", "application/json", json);
    expect_ok(&c);
    expect_str(&c, "resolved_by", "named");
    assert_int_equal(array_size(&c, "profiles"), 2);
    expect_str(&c, "profiles.0.profile", "windows-2019");
    expect_int(&c, "profiles.0.mode", 1);
    expect_int(&c, "profiles.0.backdating_seconds", 0);
    expect_str(&c, "profiles.0.outcome", "allow"); /* weak, allowed in compatibility mode */
    expect_int(&c, "profiles.0.event.id", 39);
    expect_str(&c, "profiles.1.profile", "samba");
    expect_int(&c, "profiles.1.mode", 1);
    expect_str(&c, "profiles.1.outcome", "deny");
    end(&c);
    free(json);

    /* null members count as absent */
    json = jbody("{s:n, s:s}", "certificate", "account", "henry");
    call(&c, h_verdict, s_dir, "/v1/verdict", "application/json", json);
    expect_ok(&c);
    expect_str(&c, "outcome", "allow");
    end(&c);
    free(json);

    /* a PEM body: options in the query string; without them the fleet's default decides */
    call(&c, h_verdict, s_dir, "/v1/verdict", "application/x-pem-file", nosid);
    expect_ok(&c);
    expect_str(&c, "outcome", "deny");
    expect_int(&c, "kdc_error.code", 66);
    expect_int(&c, "profiles.0.mode", 2);
    end(&c);
    call(&c, h_verdict, s_dir, "/v1/verdict?profile=windows-2022&mode=1&backdating_seconds=600",
         "application/x-pem-file", nosid);
    expect_ok(&c);
    expect_str(&c, "outcome", "allow");
    expect_int(&c, "profiles.0.mode", 1);
    expect_int(&c, "profiles.0.backdating_seconds", 600);
    end(&c);
    call(&c, h_verdict, s_dir, "/v1/verdict?profile=samba&profile=windows-2016", NULL, sid);
    expect_ok(&c);
    assert_int_equal(array_size(&c, "profiles"), 2);
    expect_str(&c, "profiles.0.profile", "samba");
    expect_str(&c, "profiles.1.profile", "windows-2016");
    end(&c);
    /* the account from the query (%-escapes decoded): bob is disabled */
    call(&c, h_verdict, s_dir, "/v1/verdict?account=%62ob&at=2026-06-01T00%3A00%3A00Z",
         "application/x-pem-file", sid);
    expect_ok(&c);
    expect_str(&c, "outcome", "deny");
    expect_str(&c, "resolved_by", "named");
    expect_int(&c, "kdc_error.code", 18);
    expect_str(&c, "account.sam", "bob");
    end(&c);

    /* DER */
    assert_int_equal(sm_certs_parse(sid, strlen(sid), NULL, &certs, &e), 0);
    begin(&c, s_dir, "/v1/verdict");
    header(&c, "Content-Type", "application/pkix-cert");
    body(&c, certs->certs[0].der, certs->certs[0].der_len);
    run(&c, h_verdict);
    expect_ok(&c);
    expect_str(&c, "outcome", "allow");
    end(&c);
    sm_certs_free(certs);

    /* account only: the certificate it publishes (userCertificate) */
    call(&c, h_verdict, s_dir, "/v1/verdict", "application/json", "{\"account\": \"henry\"}");
    expect_ok(&c);
    expect_str(&c, "outcome", "allow");
    expect_str(&c, "account.sam", "henry");
    expect_str(&c, "mapping.method", "X509IssuerSerialNumber");
    end(&c);
    /* ... and one that publishes none: nothing to evaluate */
    call(&c, h_verdict, s_dir, "/v1/verdict", "application/json", "{\"account\": \"alice\"}");
    expect_problem(&c, 422, "no-certificate", NULL);
    end(&c);

    free(sid);
    free(nosid);
}

struct bad_case {
    const char *target;
    const char *ct;
    const char *body; /* "@CERT": a JSON body with alice's certificate and these members */
    unsigned status;
    const char *code;
    const char *detail;
};

static void run_bad_cases(struct api_runtime *s, api_handler_fn h, const struct bad_case *cases,
                          size_t n)
{
    char *pem = slurp("certs/alice-sid.pem", NULL);

    for (size_t i = 0; i < n; i++) {
        const struct bad_case *k = &cases[i];
        struct call c;
        char *text = NULL;

        if (k->body && strncmp(k->body, "@CERT", 5) == 0) {
            json_error_t jerr;
            json_t *v = json_loads(k->body + 5, 0, &jerr);
            if (!v)
                fail_msg("case %zu: %s", i, jerr.text);
            json_object_set_new(v, "certificate", json_string(pem));
            text = json_dumps(v, JSON_COMPACT);
            json_decref(v);
        } else if (k->body && strcmp(k->body, "PEM") == 0) {
            text = strdup(pem);
        } else if (k->body) {
            text = strdup(k->body);
        }
        call(&c, h, s, k->target, k->ct, text);
        if (c.conn.status != k->status || strcmp(c.type_code ? c.type_code : "", k->code) != 0)
            fail_msg("case %zu (%s %s): want %u %s, got %u %s", i, k->target,
                     k->body ? k->body : "", k->status, k->code, c.conn.status, c.text);
        expect_problem(&c, k->status, k->code, k->detail);
        end(&c);
        free(text);
    }
    free(pem);
}

#define JSON "application/json"
#define PEM  "application/x-pem-file"

static const struct bad_case verdict_bad[] = {
    /* the body */
    { "/v1/verdict", JSON, NULL, 400, "empty-body", "send a JSON object" },
    { "/v1/verdict", "image/png", "PEM", 415, "unsupported-media-type", "application/json" },
    { "/v1/verdict", JSON, "{\"account\": ", 400, "bad-json", "line 1, column" },
    { "/v1/verdict", JSON, "{\"account\": \"a\", \"account\": \"b\"}", 400, "bad-json",
      "duplicate" },
    { "/v1/verdict", JSON, "[\"alice\"]", 400, "bad-request", "the body must be a JSON object" },
    { "/v1/verdict", JSON, "{}", 400, "missing-field", "\"certificate\"" },
    { "/v1/verdict", JSON, "{\"mode\": 1}", 400, "missing-field", "\"account\"" },
    /* the certificate */
    { "/v1/verdict", "text/plain", "hello", 400, "bad-certificate", "certificate: " },
    { "/v1/verdict", JSON, "{\"certificate\": \"hello\"}", 400, "bad-certificate",
      "certificate: " },
    { "/v1/verdict", JSON, "{\"certificate\": \"\"}", 400, "bad-certificate",
      "certificate: empty" },
    /* members of the wrong type or out of range */
    { "/v1/verdict", JSON, "{\"certificate\": 5}", 400, "bad-request", "certificate: a string" },
    { "/v1/verdict", JSON, "@CERT{\"account\": 5}", 400, "bad-request", "account: a string" },
    { "/v1/verdict", JSON, "@CERT{\"account\": \"\"}", 400, "bad-request", "account: 1 to 512" },
    { "/v1/verdict", JSON, "@CERT{\"account\": \"a\\u0001b\"}", 400, "bad-request",
      "account: 1 to 512" },
    { "/v1/verdict", JSON, "@CERT{\"profile\": []}", 400, "bad-request", "profile: a profile" },
    { "/v1/verdict", JSON, "@CERT{\"profile\": [1]}", 400, "bad-request", "profile: a profile" },
    { "/v1/verdict", JSON, "@CERT{\"profile\": 2022}", 400, "bad-request", "profile: a profile" },
    { "/v1/verdict", JSON, "@CERT{\"profile\": \"windows-2099\"}", 400, "bad-request",
      "profile: " },
    { "/v1/verdict", JSON, "@CERT{\"profile\": [\"samba\", \"windows-2099\"]}", 400, "bad-request",
      "profile: " },
    { "/v1/verdict", JSON, "@CERT{\"profile\": \"windows-2022,frobnicate=1\"}", 400, "bad-request",
      "profile: " },
    { "/v1/verdict", JSON, "@CERT{\"mode\": \"2\"}", 400, "bad-request", "mode: 1 or 2" },
    { "/v1/verdict", JSON, "@CERT{\"mode\": 3}", 400, "bad-request", "mode: 1 or 2" },
    { "/v1/verdict", JSON, "@CERT{\"mode\": 0}", 400, "bad-request", "does not suit" },
    { "/v1/verdict", JSON, "@CERT{\"backdating_seconds\": \"x\"}", 400, "bad-request",
      "backdating_seconds: an integer" },
    { "/v1/verdict", JSON, "@CERT{\"backdating_seconds\": -1}", 400, "bad-request",
      "backdating_seconds: an integer from 0" },
    { "/v1/verdict", JSON, "@CERT{\"at\": 5}", 400, "bad-request", "at: an RFC 3339" },
    { "/v1/verdict", JSON, "@CERT{\"at\": \"yesterday\"}", 400, "bad-request", "at: an RFC 3339" },
    { "/v1/verdict", JSON, "@CERT{\"acount\": \"alice\"}", 400, "bad-request",
      "unknown member \"acount\"" },
    /* a query string with a JSON body would be a second set of options */
    { "/v1/verdict?mode=1", JSON, "@CERT{}", 400, "bad-request", "query: parameters go with" },
    /* the query string of a certificate body */
    { "/v1/verdict?mode=3", PEM, "PEM", 400, "bad-request", "mode: 1 or 2" },
    { "/v1/verdict?mode=x", PEM, "PEM", 400, "bad-request", "mode: not a non-negative integer" },
    { "/v1/verdict?mode=1&mode=2", PEM, "PEM", 400, "bad-request", "mode: given twice" },
    { "/v1/verdict?profile=windows-2022&mode=0", PEM, "PEM", 400, "bad-request", "does not suit" },
    { "/v1/verdict?backdating_seconds=-1", PEM, "PEM", 400, "bad-request",
      "backdating_seconds: not a non-negative integer" },
    { "/v1/verdict?backdating_seconds=99999999999", PEM, "PEM", 400, "bad-request",
      "backdating_seconds: an integer from 0" },
    { "/v1/verdict?at=yesterday", PEM, "PEM", 400, "bad-request", "at: an RFC 3339" },
    { "/v1/verdict?at=2026-06-01T00:00:00Z&at=2026-06-02T00:00:00Z", PEM, "PEM", 400, "bad-request",
      "at: given twice" },
    { "/v1/verdict?profile=windows-2099", PEM, "PEM", 400, "bad-request", "profile: " },
    { "/v1/verdict?profile=windows-2022%2Cfrobnicate%3D1", PEM, "PEM", 400, "bad-request",
      "profile: " },
    { "/v1/verdict?profile=%zz", PEM, "PEM", 400, "bad-request", "query: bad %-escape" },
    { "/v1/verdict?account=al%00ice", PEM, "PEM", 400, "bad-request", "query: bad %-escape" },
    { "/v1/verdict?account=", PEM, "PEM", 400, "bad-request", "account: 1 to 512" },
    { "/v1/verdict?account=a&account=b", PEM, "PEM", 400, "bad-request", "account: given twice" },
    { "/v1/verdict?acount=alice", PEM, "PEM", 400, "bad-request",
      "unknown parameter \"acount\" (account, profile" },
    /* the engine's refusal: a DN outside the directory's base (-EPERM) */
    { "/v1/verdict", JSON, "@CERT{\"account\": \"cn=x,dc=other,dc=org\"}", 400, "bad-request",
      "not under the directory's base" },
    { "/v1/verdict?account=cn%3Dx%2Cdc%3Dother%2Cdc%3Dorg", PEM, "PEM", 400, "bad-request",
      "not under the directory's base" },
};

static void test_verdict_bad(void **state)
{
    (void)state;
    run_bad_cases(s_dir, h_verdict, verdict_bad, sizeof(verdict_bad) / sizeof(verdict_bad[0]));
}

static void test_verdict_encoding(void **state)
{
    struct call c;

    (void)state;
    begin(&c, s_dir, "/v1/verdict");
    header(&c, "Content-Type", JSON);
    header(&c, "Content-Encoding", "gzip");
    body(&c, "{\"account\": \"henry\"}", 20);
    run(&c, h_verdict);
    expect_problem(&c, 415, "unsupported-media-type", "Content-Encoding");
    end(&c);
}

static void test_verdict_too_many(void **state)
{
    struct call c;
    char *pem = slurp("certs/alice-sid.pem", NULL), *three = repeat(pem, 3);
    char *many = repeat(pem, SM_MAX_CERTS + 1), *json = jbody("{s:s}", "certificate", three);

    (void)state;
    call(&c, h_verdict, s_max2, "/v1/verdict", PEM, three);
    expect_problem(&c, 413, "too-many-certificates",
                   "certificate: 3 certificates in the request; the limit is 2");
    end(&c);
    call(&c, h_verdict, s_max2, "/v1/verdict", JSON, json);
    expect_problem(&c, 413, "too-many-certificates", "the limit is 2");
    end(&c);
    call(&c, h_verdict, s_dir, "/v1/verdict", PEM, many);
    expect_problem(&c, 413, "too-many-certificates", "certificates in the request");
    end(&c);
    /* within the limit: the first certificate is evaluated */
    call(&c, h_verdict, s_dir, "/v1/verdict", PEM, three);
    expect_ok(&c);
    expect_str(&c, "outcome", "allow");
    end(&c);
    free(json);
    free(many);
    free(three);
    free(pem);
}

/* Options are checked before the directory: bad input gets its 400 without one. */
static const struct bad_case verdict_nodir_bad[] = {
    { "/v1/verdict?mode=7", PEM, "PEM", 400, "bad-request", "mode: 1 or 2" },
    { "/v1/verdict", JSON, "{\"certificate\": \"hello\"}", 400, "bad-certificate", NULL },
    { "/v1/verdict", JSON, "@CERT{\"acount\": \"alice\"}", 400, "bad-request", "unknown member" },
    { "/v1/verdict", JSON, "@CERT{}", 503, "no-directory", "no directory configured" },
    { "/v1/verdict", PEM, "PEM", 503, "no-directory", "no directory configured" },
    { "/v1/verdict", JSON, "{\"account\": \"henry\"}", 503, "no-directory", NULL },
};

static void test_verdict_no_directory(void **state)
{
    (void)state;
    run_bad_cases(s_nodir, h_verdict, verdict_nodir_bad,
                  sizeof(verdict_nodir_bad) / sizeof(verdict_nodir_bad[0]));
}

static void test_verdict_directory_down(void **state)
{
    struct call c;

    (void)state;
    call(&c, h_verdict, s_down, "/v1/verdict", JSON, "{\"account\": \"henry\"}");
    expect_problem(&c, 503, "directory-unavailable", "the directory does not answer");
    assert_string_equal(fake_mhd_response_header(c.conn.response, "Retry-After"), "5");
    assert_true(c.req.log_note[0] != '\0'); /* the reason: for the log only */
    assert_null(strstr(c.text, "127.0.0.1"));
    end(&c);
}

/* Account data only for a token with the "account" (or "admin") scope once tokens are on. */
static void test_verdict_redaction(void **state)
{
    struct call c;
    char *pem = slurp("certs/alice-sid.pem", NULL);
    const struct api_token *who[3] = { NULL, &s_tokens->tokens[0], &s_tokens->tokens[1] };

    (void)state;
    for (unsigned i = 0; i < 3; i++) {
        bool sees = who[i] && (who[i]->scopes & API_SCOPE_ACCOUNT);

        begin(&c, s_tokens, "/v1/verdict");
        c.req.token = who[i];
        header(&c, "Content-Type", PEM);
        body(&c, pem, strlen(pem));
        assert_int_equal(req_sees_accounts(&c.req), sees);
        run(&c, h_verdict);
        expect_ok(&c);
        expect_str(&c, "outcome", "allow"); /* the same verdict either way */
        expect_bool(&c, "account_redacted", !sees);
        if (sees) {
            expect_str(&c, "account.dn", ALICE_DN);
        } else {
            expect_null(&c, "account");
            assert_null(strstr(c.text, ALICE_DN));
        }
        end(&c);
    }
    /* without tokens everyone sees accounts */
    call(&c, h_verdict, s_dir, "/v1/verdict", PEM, pem);
    expect_bool(&c, "account_redacted", false);
    end(&c);
    free(pem);
}

/* ---- GET /v1/accounts/{name} ---- */

static void test_account_good(void **state)
{
    struct call c;

    (void)state;
    call(&c, h_account, s_dir, "/v1/accounts/alice", NULL, NULL);
    expect_ok(&c);
    expect_str(&c, "account.sam", "alice");
    expect_str(&c, "account.dn", ALICE_DN);
    expect_str(&c, "status", "at_risk"); /* no strong path: examples/demo.ldif */
    expect_str(&c, "reasons.0.code", "no_strong_path");
    expect_str(&c, "profiles.0", "windows-2022");
    end(&c);

    /* a DN, %-encoded or with its commas as sent */
    call(&c, h_account, s_dir, "/v1/accounts/cn%3Dhenry%2Ccn%3DUsers%2Cdc%3Dexample%2Cdc%3Dcom",
         NULL, NULL);
    expect_ok(&c);
    expect_str(&c, "account.sam", "henry");
    end(&c);
    call(&c, h_account, s_dir, "/v1/accounts/cn=henry,cn=Users,dc=example,dc=com", NULL, NULL);
    expect_ok(&c);
    expect_str(&c, "account.sam", "henry");
    end(&c);

    /* an account that does not exist is an answer */
    call(&c, h_account, s_dir, "/v1/accounts/nobody-here", NULL, NULL);
    expect_ok(&c);
    expect_null(&c, "account");
    expect_str(&c, "status", "blocked");
    expect_str(&c, "reasons.0.code", "account_not_found");
    end(&c);

    /* query options */
    call(&c, h_account, s_dir, "/v1/accounts/alice?profile=samba&profile=windows-2016&mode=1", NULL,
         NULL);
    expect_ok(&c);
    assert_int_equal(array_size(&c, "profiles"), 2);
    expect_str(&c, "profiles.0", "samba");
    expect_str(&c, "profiles.1", "windows-2016");
    end(&c);
}

static const struct bad_case account_bad[] = {
    { "/v1/accounts/al%zzice", NULL, NULL, 400, "bad-request", "account: bad %-escape" },
    { "/v1/accounts/al%00ice", NULL, NULL, 400, "bad-request", "account: bad %-escape" },
    { "/v1/accounts/", NULL, NULL, 400, "bad-request", "account: 1 to 512" },
    { "/v1/accounts/a%01b", NULL, NULL, 400, "bad-request", "account: 1 to 512" },
    { "/v1/accounts/%FFalice", NULL, NULL, 400, "bad-request", "account: 1 to 512" },
    { "http://localhost/v1/accounts/alice", NULL, NULL, 404, "not-found", NULL },
    { "/v1/accounts/alice?account=bob", NULL, NULL, 400, "bad-request",
      "unknown parameter \"account\" (profile" },
    { "/v1/accounts/alice?mode=9", NULL, NULL, 400, "bad-request", "mode: 1 or 2" },
    { "/v1/accounts/alice?mode=0", NULL, NULL, 400, "bad-request", "does not suit" },
    { "/v1/accounts/alice?profile=windows-2099", NULL, NULL, 400, "bad-request", "profile: " },
    { "/v1/accounts/alice?profile=samba%2Cfrobnicate%3D1", NULL, NULL, 400, "bad-request",
      "profile: " },
    { "/v1/accounts/alice?at=soon", NULL, NULL, 400, "bad-request", "at: an RFC 3339" },
    { "/v1/accounts/alice?backdating_seconds=x", NULL, NULL, 400, "bad-request",
      "backdating_seconds: not a non-negative integer" },
    { "/v1/accounts/cn=x,dc=other,dc=org", NULL, NULL, 400, "bad-request",
      "not under the directory's base" },
    { "/v1/accounts/cn%3Dx%2Cdc%3Dother%2Cdc%3Dorg", NULL, NULL, 400, "bad-request",
      "not under the directory's base" },
};

static void test_account_bad(void **state)
{
    struct call c;
    char target[SM_MAX_NAME + 32];

    (void)state;
    run_bad_cases(s_dir, h_account, account_bad, sizeof(account_bad) / sizeof(account_bad[0]));

    /* SM_MAX_NAME bytes are a name; one more is not */
    snprintf(target, sizeof(target), "/v1/accounts/%0*d", SM_MAX_NAME, 0);
    call(&c, h_account, s_dir, target, NULL, NULL);
    expect_ok(&c);
    expect_null(&c, "account");
    end(&c);
    snprintf(target, sizeof(target), "/v1/accounts/%0*d", SM_MAX_NAME + 1, 0);
    call(&c, h_account, s_dir, target, NULL, NULL);
    expect_problem(&c, 400, "bad-request", "account: 1 to 512");
    end(&c);
}

static const struct bad_case account_nodir[] = {
    { "/v1/accounts/alice", NULL, NULL, 503, "no-directory", "no directory configured" },
    { "/v1/accounts/alice?mode=9", NULL, NULL, 400, "bad-request", "mode: 1 or 2" },
    { "/v1/accounts/", NULL, NULL, 400, "bad-request", "account: 1 to 512" },
};

static void test_account_no_directory(void **state)
{
    struct call c;

    (void)state;
    run_bad_cases(s_nodir, h_account, account_nodir,
                  sizeof(account_nodir) / sizeof(account_nodir[0]));

    call(&c, h_account, s_down, "/v1/accounts/alice", NULL, NULL);
    expect_problem(&c, 503, "directory-unavailable", "the directory does not answer");
    assert_true(c.req.log_note[0] != '\0');
    end(&c);
}

/* ---- GET /metrics ---- */

static void test_metrics(void **state)
{
    static struct api fresh; /* counters of these requests only */
    struct call c;
    char *pem = slurp("certs/alice-sid.pem", NULL);

    (void)state;
    metrics_init(&fresh.metrics);
    begin(&c, s_dir, "/metrics");
    c.req.api = &fresh;
    run(&c, h_metrics);
    assert_string_equal(c.ct, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(c.text, "strongmapd_build_info{version=\"" SM_VERSION "\"} 1\n"));
    assert_non_null(strstr(c.text, "strongmapd_verdicts_total{outcome=\"allow\"} 0\n"));
    end(&c);

    /* a verdict and an account status through the same server count */
    begin(&c, s_dir, "/v1/verdict");
    c.req.api = &fresh;
    header(&c, "Content-Type", PEM);
    body(&c, pem, strlen(pem));
    run(&c, h_verdict);
    expect_ok(&c);
    end(&c);
    begin(&c, s_dir, "/v1/accounts/alice");
    c.req.api = &fresh;
    run(&c, h_account);
    expect_ok(&c);
    end(&c);

    begin(&c, s_dir, "/metrics");
    c.req.api = &fresh;
    run(&c, h_metrics);
    assert_non_null(strstr(c.text, "strongmapd_verdicts_total{outcome=\"allow\"} 1\n"));
    assert_non_null(strstr(c.text, "strongmapd_verdicts_total{outcome=\"deny\"} 0\n"));
    assert_non_null(strstr(c.text, "strongmapd_account_statuses_total{status=\"at_risk\"} 1\n"));
    assert_non_null(strstr(c.text, "strongmapd_directory_cache_entries 0\n")); /* no cache */
    end(&c);

    metrics_destroy(&fresh.metrics);
    free(pem);
}

/* ---- POST /v1/events/explain ---- */

#define EVENT39                                                                                    \
    "The Key Distribution Center (KDC) encountered a user certificate that was valid but could "   \
    "not be mapped to a user in a secure way (such as via explicit mapping, key trust mapping, "   \
    "or a SID).\n"                                                                                 \
    "User: alice\n"                                                                                \
    "Certificate Issuer: CN=Example Issuing CA, DC=example, DC=com\n"                              \
    "Certificate Serial Number: 1A2B3C4D5E6F0010\n"
#define ALICE_VALUE "X509:<I>DC=com,DC=example,CN=Example Issuing CA<SR>10006F5E4D3C2B1A"

static void test_events_good(void **state)
{
    struct call c;
    char *json = jbody("{s:s}", "events", EVENT39);
    const struct api_token *who[2] = { &s_tokens->tokens[0], &s_tokens->tokens[1] };

    (void)state;
    call(&c, h_events, s_dir, "/v1/events/explain", "text/plain", EVENT39);
    expect_ok(&c);
    assert_int_equal(array_size(&c, "events"), 1);
    expect_int(&c, "events.0.id", 39);
    expect_str(&c, "events.0.code", "weak_mapping");
    expect_str(&c, "events.0.account.lookup", "found");
    expect_str(&c, "events.0.account.dn", ALICE_DN);
    expect_str(&c, "events.0.fix.altsecurityidentities", ALICE_VALUE);
    expect_str(&c, "directory", "ldif");
    expect_str(&c, "by_account.0.account", ALICE_DN);
    end(&c);

    /* the same as JSON; without a directory, no account is looked up */
    call(&c, h_events, s_nodir, "/v1/events/explain", NULL, json);
    expect_ok(&c);
    expect_str(&c, "events.0.account.lookup", "no_directory");
    expect_str(&c, "events.0.fix.altsecurityidentities", ALICE_VALUE);
    expect_null(&c, "directory");
    end(&c);

    /* a token outside account_data_scope: explained without the directory */
    for (unsigned i = 0; i < 2; i++) {
        bool sees = who[i]->scopes & API_SCOPE_ACCOUNT;

        begin(&c, s_tokens, "/v1/events/explain");
        c.req.token = who[i];
        header(&c, "Content-Type", "text/plain");
        body(&c, EVENT39, strlen(EVENT39));
        run(&c, h_events);
        expect_ok(&c);
        expect_str(&c, "events.0.account.lookup", sees ? "found" : "no_directory");
        assert_true((strstr(c.text, ALICE_DN) != NULL) == sees);
        end(&c);
    }
    free(json);
}

#define EVENTS "/v1/events/explain"

static const struct bad_case events_bad[] = {
    { EVENTS, "text/plain", NULL, 400, "empty-body", "send the events" },
    { EVENTS, "application/xml", "<!DOCTYPE a [<!ENTITY b \"c\">]><Event>&b;</Event>", 400,
      "bad-events", "DOCTYPE" },
    { EVENTS, "application/xml", "<Event><System>", 400, "bad-events", "not well-formed XML" },
    { EVENTS, "text/plain", "User: \xc3\x28\n", 400, "bad-events", "UTF-8" },
    { EVENTS, "text/plain", "nothing to explain\n", 422, "no-events", "no KDC event" },
    { EVENTS, JSON, "{\"events\": 1}", 400, "missing-field", "\"events\" string" },
    { EVENTS, JSON, "{\"events\": \"x\", \"mode\": 1}", 400, "bad-request",
      "unknown member \"mode\"" },
    { EVENTS, JSON, "{\"events\": \"<!DOCTYPE a><Event/>\"}", 400, "bad-events",
      "events: a DOCTYPE" },
    { EVENTS, JSON, "[1]", 400, "bad-request", "JSON object" },
    { EVENTS, "image/png", "<Event/>", 415, "unsupported-media-type", "application/xml" },
};

static void test_events_bad(void **state)
{
    struct call c;

    (void)state;
    run_bad_cases(s_dir, h_events, events_bad, sizeof(events_bad) / sizeof(events_bad[0]));
    /* bad input first, then the directory: 400 while it is down, 503 for good input */
    run_bad_cases(s_down, h_events, events_bad, sizeof(events_bad) / sizeof(events_bad[0]));
    call(&c, h_events, s_down, "/v1/events/explain", "text/plain", EVENT39);
    expect_problem(&c, 503, "directory-unavailable", "the directory does not answer");
    assert_null(strstr(c.text, "127.0.0.1"));
    end(&c);
    call(&c, h_events, s_dir, "/v1/events/explain?x=1", "text/plain", EVENT39);
    expect_problem(&c, 400, "bad-request", "query: ");
    end(&c);
}

/* ---- POST|DELETE /v1/accounts/{name}/mappings (without [write]: dry runs on the pool) ---- */

static const struct bad_case mappings_bad[] = {
    /* no token may write, and none learns whether [write] is configured */
    { "/v1/accounts/alice/mappings", "application/json", "@CERT{\"apply\": true}", 403,
      "insufficient-scope", "writing needs an authenticated token with scope write" },
    { "/v1/accounts/alice/mappings", "application/json", "{", 400, "bad-json", NULL },
    { "/v1/accounts/alice/mappings", "application/json", NULL, 400, "empty-body", NULL },
    { "/v1/accounts/alice/mappings", "application/json", "[1]", 400, "bad-request", "JSON object" },
    { "/v1/accounts/alice/mappings", "application/json", "{}", 400, "missing-field",
      "certificate" },
    { "/v1/accounts/alice/mappings", "application/json", "@CERT{\"type\": \"X509RFC822\"}", 400,
      "bad-request", "type: " },
    { "/v1/accounts/alice/mappings", "application/json", "@CERT{\"apply\": 1}", 400, "bad-request",
      "apply: " },
    { "/v1/accounts/alice/mappings", "application/json", "@CERT{\"x\": 1}", 400, "bad-request",
      "unknown member" },
    { "/v1/accounts/alice/mappings", "application/x-pem-file", "PEM", 415, "unsupported-media-type",
      NULL },
    { "/v1/accounts/alice/mappings?apply=1", "application/json", "@CERT{}", 400, "bad-request",
      "query" },
    { "/v1/accounts/%00/mappings", "application/json", "@CERT{}", 400, "bad-request", "name: " },
    { "/v1/accounts/nobody-here/mappings", "application/json", "@CERT{}", 404, "no-account", NULL },
    { "/v1/accounts/alice/mappings", "application/json", "{\"certificate\": \"not a certificate\"}",
      400, "bad-certificate", NULL },
};

/* DELETE @target with the JSON @text on @s. */
static void call_delete(struct call *c, struct api_runtime *s, const char *target, const char *text)
{
    begin(c, s, target);
    strcpy(c->req.log_method, "DELETE"); /* as http.c writes the request line's method */
    header(c, "Content-Type", "application/json");
    body(c, text, strlen(text));
    run(c, h_mappings);
}

static void test_mappings(void **state)
{
    char *pem = slurp("certs/alice-sid.pem", NULL), *text;
    struct call c;

    (void)state;
    run_bad_cases(s_dir, h_mappings, mappings_bad, sizeof(mappings_bad) / sizeof(mappings_bad[0]));
    run_bad_cases(s_nodir, h_mappings, mappings_bad, 1); /* apply: the scope first */

    /* a dry run on the read pool: alice's certificate carries her SID */
    text = jbody("{s:s, s:s}", "certificate", pem, "type", "X509SKI");
    call(&c, h_mappings, s_dir, "/v1/accounts/alice/mappings", "application/json", text);
    expect_ok(&c);
    expect_str(&c, "operation", "add");
    expect_str(&c, "outcome", "would_add");
    expect_str(&c, "account.dn", ALICE_DN);
    end(&c);
    call(&c, h_mappings, s_nodir, "/v1/accounts/alice/mappings", "application/json", text);
    expect_problem(&c, 503, "no-directory", NULL);
    end(&c);
    call(&c, h_mappings, s_down, "/v1/accounts/alice/mappings", "application/json", text);
    expect_problem(&c, 503, "directory-unavailable", NULL);
    end(&c);
    free(text);

    /* DELETE: a value alice does not hold is absent; value and certificate exclude each other */
    call_delete(&c, s_dir, "/v1/accounts/alice/mappings", "{\"value\": \"X509:<SKI>00\"}");
    expect_ok(&c);
    expect_str(&c, "operation", "remove");
    expect_str(&c, "outcome", "absent");
    end(&c);
    text = jbody("{s:s, s:s}", "certificate", pem, "value", "X509:<SKI>00");
    call_delete(&c, s_dir, "/v1/accounts/alice/mappings", text);
    expect_problem(&c, 400, "missing-field", "one of them");
    end(&c);
    free(text);
    call_delete(&c, s_dir, "/v1/accounts/alice/mappings",
                "{\"value\": \"X509:<SKI>00\", \"allow_foreign_sid\": true}");
    expect_problem(&c, 400, "bad-request", "allow_foreign_sid");
    end(&c);
    free(pem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_health),
        cmocka_unit_test(test_ready),
        cmocka_unit_test(test_inspect_good),
        cmocka_unit_test(test_inspect_bad),
        cmocka_unit_test(test_verdict_good),
        cmocka_unit_test(test_verdict_bad),
        cmocka_unit_test(test_verdict_encoding),
        cmocka_unit_test(test_verdict_too_many),
        cmocka_unit_test(test_verdict_no_directory),
        cmocka_unit_test(test_verdict_directory_down),
        cmocka_unit_test(test_verdict_redaction),
        cmocka_unit_test(test_account_good),
        cmocka_unit_test(test_account_bad),
        cmocka_unit_test(test_account_no_directory),
        cmocka_unit_test(test_mappings),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_events_good),
        cmocka_unit_test(test_events_bad),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}

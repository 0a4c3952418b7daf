/*
 * tests/fuzz/fuzz_mappings.c - libFuzzer target: mapping write-back's requests, POST and DELETE
 * /v1/accounts/{name}/mappings, through their handler (api/h_mappings.c: the account's name in
 * the target, the JSON body, the type, the certificate through read_certs(), the scope, then
 * the plan, sm_mapwrite_plan() against the directory, its JSON and reply_fail()).
 *
 * Input: byte 0 chooses the request, the rest makes its target and body:
 *   bit 0     method: POST (add) or DELETE (remove)
 *   bits 1-2  Content-Type: one of content_types[] (0: none)
 *   bits 3-5  the account: one of names[] (the demo directory's: one with a SID, mapped ones,
 *             a computer, none), or 7: the bytes up to the first NUL, as sent (%-escapes and all)
 *   bit 6     the caller: no token configured (authentication off), or the runtime with
 *             tokens and a token chosen by the input's length (admin, write, check, or none:
 *             the handler is called directly, so it also sees what admission would refuse)
 *   bit 7     the body: as given, or assembled: a length (2 bytes, big-endian) and that many
 *             bytes of DER, sent base64 as "certificate", then the rest as more members of the
 *             object ({"certificate": "...", REST}), so that mutations reach the certificate's
 *             bytes and the members apart
 *
 * Never a write: the runtimes have no write bind (struct api_runtime's map_pool NULL), so an
 * "apply" gets 503 write-not-configured at most, and no LDAP handle exists that could modify
 * anything. The scope is decided first, so an "apply" reaches that decision: only the token
 * with scope write may learn that [write] is not configured; anyone else gets 403. The
 * directory is examples/demo.ldif (or SM_FUZZ_LDIF), opened once per runtime without a cache
 * (tests/lib/fuzz_runtime.c), so dry runs run to the end: the account, the value and its lint,
 * the duplicate and SID searches.
 *
 * As tests/fuzz/fuzz_request.c (whose fake libmicrohttpd, tests/lib/fake_mhd.c, it shares), the
 * target aborts when the handler answers other than once, answers 5xx but 503
 * write-not-configured, or that to a caller without scope write (security review of
 * 2026-12-08, finding 7: it told an admin token, or anyone on a daemon without tokens, whether
 * [write] was configured), answers a body that is not JSON (a problem's "status" equal to the
 * HTTP status); and when a 200 is not a dry run's (apply false, an outcome of a plan, the
 * operation of the method), or goes to a token that may neither write nor see account data
 * (check). The seeds apply_* send an "apply" with each token and none.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api_internal.h"
#include "fake_mhd.h"
#include "fuzz_runtime.h"
#include "su_base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PREFIX "/v1/accounts/"
#define SUFFIX "/mappings"

static const char *const content_types[4] = {
    NULL,
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
};

static const char *const names[7] = {
    "alice",        "erin",        "judy", "ws01$", "cn=gina,cn=Users,dc=example,dc=com",
    "EXAMPLE\\bob", "nobody-here",
};

/* the tokens of the runtime with authentication; the secrets do not matter (no admission) */
static const struct {
    const char *name;
    unsigned scopes;
} tokens[3] = {
    { "monitor", API_SCOPE_ADMIN | API_SCOPE_METRICS },
    { "writer", API_SCOPE_WRITE },
    { "gateway", API_SCOPE_CHECK },
};

static struct api server;
static struct api_runtime *open_rt, *auth_rt; /* without tokens; with them */

static void setup(void)
{
    open_rt = fuzz_runtime("fuzz_mappings", true);
    auth_rt = fuzz_runtime("fuzz_mappings", true);
    for (size_t i = 0; i < 3; i++) {
        snprintf(auth_rt->tokens[i].name, sizeof(auth_rt->tokens[i].name), "%s", tokens[i].name);
        auth_rt->tokens[i].sha256[0] = (unsigned char)i;
        auth_rt->tokens[i].scopes = tokens[i].scopes;
    }
    auth_rt->n_tokens = 3;
    metrics_init(&server.metrics);
}

/* The answer must be JSON, a problem's status the HTTP status, 503 write-not-configured for
   @token only when it may write; a 200 a dry run's (see the top). */
static void check_body(const struct MHD_Response *r, unsigned status, bool remove,
                       const struct api_token *token)
{
    static const char *const dry[] = { "would_add", "would_remove", "present", "absent" };
    const char *ctype = fake_mhd_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    const char *outcome, *op;
    json_error_t jerr;
    json_t *doc;
    bool known = false;

    if (!ctype ||
        (strcmp(ctype, "application/json") != 0 && strcmp(ctype, "application/problem+json") != 0))
        abort();
    if (!(doc = json_loadb(r->buf, r->len, 0, &jerr)))
        abort();
    if (status >= 400) {
        json_t *st = json_object_get(doc, "status");
        if (strcmp(ctype, "application/problem+json") != 0 || !json_is_integer(st) ||
            json_integer_value(st) != (json_int_t)status)
            abort();
        const char *type = json_string_value(json_object_get(doc, "type"));
        if (status >= 500 &&
            (status != 503 || !type || strcmp(type, "/problems/write-not-configured") != 0))
            abort();
        if (status == 503 && (!token || !(token->scopes & API_SCOPE_WRITE)))
            abort(); /* told whether [write] is configured without the scope to write */
        json_decref(doc);
        return;
    }
    outcome = json_string_value(json_object_get(doc, "outcome"));
    op = json_string_value(json_object_get(doc, "operation"));
    for (size_t i = 0; outcome && i < sizeof(dry) / sizeof(dry[0]); i++)
        known |= strcmp(outcome, dry[i]) == 0;
    if (status != 200 || !json_is_object(doc) || !json_is_false(json_object_get(doc, "apply")) ||
        !known || !op || strcmp(op, remove ? "remove" : "add") != 0)
        abort();
    json_decref(doc);
}

/* The target for names[@k] (k < 7), or for the bytes before the first NUL of *@data (moved
   past them and the NUL). */
static char *make_target(unsigned k, const uint8_t **data, size_t *size)
{
    const char *name = k < 7 ? names[k] : (const char *)*data;
    size_t n = k < 7 ? strlen(name) : strnlen(name, *size);
    char *t = malloc(sizeof(PREFIX) + n + sizeof(SUFFIX));

    if (!t)
        return NULL;
    memcpy(t, PREFIX, sizeof(PREFIX) - 1);
    memcpy(t + sizeof(PREFIX) - 1, name, n);
    memcpy(t + sizeof(PREFIX) - 1 + n, SUFFIX, sizeof(SUFFIX));
    if (k == 7) {
        n = n < *size ? n + 1 : n;
        *data += n;
        *size -= n;
    }
    return t;
}

/* The assembled body (bit 7): {"certificate": "<base64 of the DER>", REST}; *@len its length. */
static char *assemble(const uint8_t *data, size_t size, size_t *len)
{
    size_t der = size >= 2 ? ((size_t)data[0] << 8 | data[1]) : 0, b64, rest;
    char *body;

    data += size >= 2 ? 2 : size;
    size -= size >= 2 ? 2 : size;
    der = der < size ? der : size;
    rest = size - der;
    b64 = (der + 2) / 3 * 4;
    if (!(body = malloc(b64 + rest + 32)))
        return NULL;
    *len = (size_t)sprintf(body, "{\"certificate\": \"");
    su_base64_encode(data, der, body + *len);
    *len += b64;
    body[(*len)++] = '"';
    if (rest) {
        body[(*len)++] = ',';
        memcpy(body + *len, data + der, rest);
        *len += rest;
    }
    body[(*len)++] = '}';
    body[*len] = '\0';
    return body;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct MHD_Connection conn = { 0 };
    struct api_request *req;
    unsigned sel;
    bool remove, authn;
    int ret;

    if (!open_rt)
        setup();
    if (size < 1)
        return 0;
    sel = data[0];
    data++;
    size--;
    remove = sel & 1;
    authn = sel & 0x40;

    if (!(req = calloc(1, sizeof(*req))))
        return 0;
    req->api = &server;
    req->conn = &conn;
    req->rt = authn ? auth_rt : open_rt;
    strcpy(req->id, "fuzz-1");
    strcpy(req->log_method, remove ? "DELETE" : "POST"); /* as http.c writes the method */
    if (authn && size % 4 < 3)
        req->token = &auth_rt->tokens[size % 4];
    fake_mhd_set_header(&conn, MHD_HTTP_HEADER_CONTENT_TYPE, content_types[(sel >> 1) & 3]);
    if (!(req->target = make_target((sel >> 3) & 7, &data, &size)))
        goto out;
    if (sel & 0x80) {
        if (!(req->body = assemble(data, size, &req->body_len)))
            goto out;
    } else {
        if (!(req->body = malloc(size + 1)))
            goto out;
        memcpy(req->body, data, size);
        req->body[size] = '\0';
        req->body_len = size;
    }
    req->body_cap = req->body_len + 1;
    ret = h_mappings(req);
    if (!req->replied) {
        if (ret >= 0)
            abort();
        reply_error(req, ret, NULL);
    }
    if (conn.queued != 1 || !req->replied || conn.status != req->status)
        abort();
    /* with tokens configured, a request without one, or with one that may neither write nor
       see account data, gets no plan */
    if (conn.status == 200 && authn &&
        (!req->token || (!(req->token->scopes & API_SCOPE_WRITE) &&
                         !(req->token->scopes & auth_rt->account_data_scope))))
        abort();
    check_body(conn.response, conn.status, remove, req->token);

out:
    fake_mhd_clear(&conn);
    free(req->body);
    free(req->target);
    free(req);
    return 0;
}

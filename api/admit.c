/*
 * api/admit.c - admission: who may ask what, decided on the request head before the handler
 * runs: the client certificate (403), the rate limit (429), the bearer token and its scope
 * (401 / 403), and the problem documents of those refusals (with WWW-Authenticate and
 * Retry-After). The connection limits are conn.c's, the head's size and form head.c's; http.c
 * calls admit() once the head is read and answers a refusal at once or at the end of the
 * request (reply_refusal()).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include "api_internal.h"
#include "http_internal.h"
#include "su_cidr.h"

/* The client certificate of a TLS connection: 0, -ENOENT (none) or -EACCES (invalid). */
static int client_cert(struct api_request *req)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);

    return auth_client_cert(ci ? ci->tls_session : NULL);
}

/* The scope names of @bits, space-separated (as RFC 6750's scope attribute), into @buf. */
static void scope_text(unsigned bits, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (unsigned b = 1; b & API_SCOPE_ALL; b <<= 1) {
        if (!(bits & b))
            continue;
        int n = snprintf(buf + len, size - len, "%s%s", len ? " " : "", api_scope_name(b));
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += (size_t)n;
    }
}

/* No tokens, or no account_data scope: everyone; else a token holding one of its scopes. */
bool req_sees_accounts(const struct api_request *req)
{
    const struct api_runtime *rt = req->rt;

    if (rt->n_tokens == 0 || rt->account_data_scope == API_SCOPE_NONE)
        return true;
    return req->token && (req->token->scopes & rt->account_data_scope);
}

int req_client_cert(const struct api_request *req, const unsigned char **ret_der, size_t *ret_len)
{
    const union MHD_ConnectionInfo *ci;

    if (!req->api->tls_ca)
        return -ENOENT; /* no client certificate asked for */
    ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return auth_client_cert_der(ci ? ci->tls_session : NULL, ret_der, ret_len);
}

bool req_trusted_peer(const struct api_request *req, const struct su_cidr_list *peers)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

    return ci && ci->client_addr && su_cidr_list_match(peers, ci->client_addr);
}

/*
 * Who may ask what, decided on the headers: client certificate, then the rate limit (per token
 * when a valid one came, else per address), then the token's scope. Returns API_P__COUNT when
 * the request may go on, else the problem to answer; sets the WWW-Authenticate header and the
 * Retry-After the answer needs.
 */
enum api_problem admit(struct api *api, struct api_request *req)
{
    const struct api_runtime *rt = req->rt;
    unsigned need = 0, retry;
    int tok = AUTH_MISSING;
    char key[API_RATE_KEY_MAX];

    if (req->route && req->route->probe && rt->route_scope[req->route->scope] == API_SCOPE_NONE)
        return API_P__COUNT; /* /healthz, /readyz open (the default): no other check either */
    if (api->tls_ca && req->route) {
        int r = client_cert(req);
        if (r == -EACCES || (r == -ENOENT && api->cfg.tls_client_required)) {
            metric_inc(&api->metrics.auth_failures[AUTH_F_CLIENT_CERT]);
            req_note(req, r == -EACCES ? "client certificate not valid" : "no client certificate");
            return API_P_CLIENT_CERTIFICATE;
        }
    }
    if (rt->n_tokens > 0 && req->route) {
        need = rt->route_scope[req->route->scope];
        tok = auth_bearer(rt, req_header(req, MHD_HTTP_HEADER_AUTHORIZATION));
        if (tok >= 0)
            req->token = &rt->tokens[tok];
    }
    if (rt->rate_per_s > 0) {
        if (req->token)
            snprintf(key, sizeof(key), "tok:%s", req->token->name);
        else
            snprintf(key, sizeof(key), "%s", req->cs->rate_key);
        if (ratelimit_take(api->rl, key, rt->rate_per_s, api_burst(rt->rate_per_s, rt->rate_burst),
                           &retry) < 0) {
            metric_inc(&api->metrics.rate_limited);
            req->retry_after = retry;
            return API_P_RATE_LIMITED;
        }
    }
    if (need == API_SCOPE_NONE)
        return API_P__COUNT;
    req->extra_header = MHD_HTTP_HEADER_WWW_AUTHENTICATE;
    req->extra_value = req->hdr_buf;
    if (tok == AUTH_MISSING) {
        metric_inc(&api->metrics.auth_failures[AUTH_F_MISSING]);
        snprintf(req->hdr_buf, sizeof(req->hdr_buf), "Bearer realm=\"strongmapd\"");
        return API_P_UNAUTHORIZED;
    }
    if (tok < 0) { /* AUTH_INVALID: auth_bearer() returns nothing else below 0 */
        metric_inc(&api->metrics.auth_failures[AUTH_F_INVALID]);
        snprintf(req->hdr_buf, sizeof(req->hdr_buf),
                 "Bearer realm=\"strongmapd\", error=\"invalid_token\"");
        return API_P_UNAUTHORIZED;
    }
    assert(req->token); /* tok >= 0: set from rt->tokens above (n_tokens > 0) */
    if (!(req->token->scopes & need)) {
        char scopes[64];

        metric_inc(&api->metrics.auth_failures[AUTH_F_SCOPE]);
        scope_text(need, scopes, sizeof(scopes));
        snprintf(req->hdr_buf, sizeof(req->hdr_buf),
                 "Bearer realm=\"strongmapd\", error=\"insufficient_scope\", scope=\"%s\"", scopes);
        return API_P_FORBIDDEN;
    }
    req->extra_header = NULL;
    return API_P__COUNT;
}

/* The detail of refusal @p. */
static void refusal_detail(const struct api_request *req, enum api_problem p, char *buf,
                           size_t size)
{
    char scopes[64];

    switch (p) {
    case API_P_UNAUTHORIZED:
        snprintf(buf, size, "%s",
                 strstr(req->hdr_buf, "invalid_token") ? "the bearer token is not valid"
                                                       : "send \"Authorization: Bearer <token>\"");
        break;
    case API_P_FORBIDDEN:
        scope_text(req->rt->route_scope[req->route->scope], scopes, sizeof(scopes));
        snprintf(buf, size, "the token lacks the scope this route needs (%s)", scopes);
        break;
    case API_P_CLIENT_CERTIFICATE:
        snprintf(buf, size, "present a client certificate issued by a CA this server trusts");
        break;
    case API_P_RATE_LIMITED:
        snprintf(buf, size, "over %g requests per second for this client; retry in %u s",
                 req->rt->rate_per_s, req->retry_after);
        break;
    default: buf[0] = '\0'; break;
    }
}

/*
 * Refuse @req with @p (401, 403, 429): at once when a body follows (libmicrohttpd then closes
 * the connection without reading it), else at the end of the request (keep-alive survives).
 */
int reply_refusal(struct api_request *req)
{
    enum api_problem p = (enum api_problem)req->deny;
    char detail[160];

    refusal_detail(req, p, detail, sizeof(detail));
    return reply_problem_retry(req, p, detail, req->retry_after);
}

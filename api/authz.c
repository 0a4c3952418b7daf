/*
 * api/authz.c - reading a GET|POST /v1/authz request: the client certificate a proxy forwards
 * in a header ([authz] header, struct api_runtime.authz_header), in the forms proxies send it,
 * believed only from a trusted peer; the query (format, profile). Like params.c, it answers
 * nothing: it fills a struct api_error.
 *
 * The forms, told apart by their first bytes (none of them can start like another):
 *   ":MIIC...:"                     RFC 9440 Client-Cert: base64 DER between colons
 *   "-----BEGIN%20CERTIFICATE..."   nginx $ssl_client_escaped_cert: URL-encoded PEM
 *   "%2D%2D%2D%2D%2DBEGIN..."       PEM URL-encoded throughout
 *   "Hash=...;Cert=\"...\""         Envoy X-Forwarded-Client-Cert: the Cert of the first
 *                                   element (the one the edge proxy set: configure it with
 *                                   forward_client_cert_details SANITIZE_SET), URL-encoded PEM
 *   "MIIC..."                       HAProxy %[ssl_c_der,base64]: base64 DER
 * Whatever the form, what it holds must be one certificate of at most API_AUTHZ_INPUT_MAX
 * bytes of text; the engine's parser (sm_certs_parse()) reads it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "su_hash.h"

/* XFCC keys (Envoy's documentation): a value that starts with one of them and '=' is XFCC. */
static const char *const xfcc_keys[] = { "By", "Hash", "Cert", "Chain", "Subject", "URI", "DNS" };

static int bad(struct api_error *ae, const char *field, const char *text)
{
    return api_fail(ae, API_P_BAD_REQUEST, field, "%s", text);
}

static bool is_xfcc(const char *v, size_t len)
{
    for (size_t i = 0; i < sizeof(xfcc_keys) / sizeof(xfcc_keys[0]); i++) {
        size_t k = strlen(xfcc_keys[i]);

        if (len > k && v[k] == '=' && strncasecmp(v, xfcc_keys[i], k) == 0)
            return true;
    }
    return false;
}

/*
 * The end of the XFCC element, pair or value that starts at @p (before @end): the first @stop
 * byte outside double quotes, or @end. NULL when a quoted string is not closed.
 */
static const char *xfcc_scan(const char *p, const char *end, char stop)
{
    bool quoted = false;

    for (; p < end; p++) {
        if (quoted && *p == '\\' && p + 1 < end)
            p++; /* \" inside quotes */
        else if (*p == '"')
            quoted = !quoted;
        else if (!quoted && *p == stop)
            return p;
    }
    return quoted ? NULL : end;
}

/*
 * The Cert value of the first element of the XFCC header @v (@len bytes) into @out (room for
 * @len + 1 bytes), unquoted but still URL-encoded: *@ret_len bytes. -EINVAL with the reason.
 */
static int xfcc_cert(const char *v, size_t len, char *out, size_t *ret_len, const char *field,
                     struct api_error *ae)
{
    const char *end = v + len, *elem_end = NULL, *p;
    unsigned elements = 0;

    for (p = v; p <= end; p++) { /* count the elements, and find where the first ends */
        const char *e = xfcc_scan(p, end, ',');

        if (!e)
            return bad(ae, field, "an X-Forwarded-Client-Cert value with an unclosed quote");
        if (++elements > API_XFCC_ELEMENTS_MAX)
            return api_fail(ae, API_P_BAD_REQUEST, field,
                            "more than %u X-Forwarded-Client-Cert elements", API_XFCC_ELEMENTS_MAX);
        if (!elem_end)
            elem_end = e;
        p = e;
    }
    for (p = v; p < elem_end;) { /* the pairs of the first element */
        const char *pair_end, *eq;
        size_t o = 0;

        while (p < elem_end && (*p == ' ' || *p == '\t'))
            p++;
        pair_end = xfcc_scan(p, elem_end, ';');
        if (!pair_end) /* cannot happen: the element's quotes are balanced */
            break;

        eq = memchr(p, '=', (size_t)(pair_end - p));
        if (eq && eq - p == 4 && strncasecmp(p, "Cert", 4) == 0) {
            const char *s = eq + 1;
            size_t n = (size_t)(pair_end - s);

            if (n >= 2 && s[0] == '"' && s[n - 1] == '"') { /* quoted: drop the quotes, \" */
                for (size_t i = 1; i + 1 < n; i++) {
                    if (s[i] == '\\' && i + 2 < n)
                        i++;
                    out[o++] = s[i];
                }
            } else {
                memcpy(out, s, n);
                o = n;
            }
            out[o] = '\0';
            *ret_len = o;
            return 0;
        }
        p = pair_end + 1;
    }
    return bad(ae, field,
               "the first X-Forwarded-Client-Cert element has no Cert (Envoy: set "
               "set_current_client_cert_details cert: true)");
}

/*
 * The certificate text the header value @v (@len bytes, blanks trimmed, not empty) carries,
 * its transport encoding undone, into the malloc'd *@ret (*@ret_len bytes).
 */
static int header_input(const char *v, size_t len, const char *field, char **ret, size_t *ret_len,
                        struct api_error *ae)
{
    char *buf = malloc(len + 1), *tmp = NULL;
    size_t n = 0;
    int r = -EINVAL;

    if (!buf)
        return -ENOMEM;
    if (v[0] == ':') { /* RFC 9440: a structured-field byte sequence */
        if (len < 3 || v[len - 1] != ':') {
            bad(ae, field, "an RFC 9440 byte sequence must be base64 between two colons");
            goto out_fail;
        }
        for (size_t i = 1; i + 1 < len; i++) {
            char c = v[i];

            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '+' || c == '/' || c == '=')) {
                bad(ae, field, "an RFC 9440 byte sequence must be base64 between two colons");
                goto out_fail;
            }
        }
        n = len - 2;
        memcpy(buf, v + 1, n);
    } else if (is_xfcc(v, len)) {
        if ((r = xfcc_cert(v, len, buf, &n, field, ae)) < 0)
            goto out_fail;
        tmp = buf; /* URL-encoded PEM: decoded below */
        if (!(buf = malloc(n + 1))) {
            r = -ENOMEM;
            goto out_fail;
        }
        if (pct_decode(tmp, n, false, buf, &n) < 0) {
            r = bad(ae, field, "a bad %-escape, or %00, in the Cert of X-Forwarded-Client-Cert");
            goto out_fail;
        }
    } else if (v[0] == '%' || (v[0] == '-' && memchr(v, '%', len))) { /* URL-encoded PEM */
        if (pct_decode(v, len, false, buf, &n) < 0) {
            r = bad(ae, field, "a bad %-escape, or %00");
            goto out_fail;
        }
    } else { /* PEM as it is, or base64 DER (HAProxy): the parser tells them apart */
        memcpy(buf, v, len);
        n = len;
    }
    buf[n] = '\0';
    if (n > API_AUTHZ_INPUT_MAX) {
        r = api_fail(ae, API_P_BAD_CERTIFICATE, field, "%zu bytes of certificate; the limit is %u",
                     n, API_AUTHZ_INPUT_MAX);
        goto out_fail;
    }
    free(tmp);
    *ret = buf;
    *ret_len = n;
    return 0;

out_fail:
    free(tmp);
    free(buf);
    return r;
}

/* The certificate of @input (@len bytes): exactly one. */
static int read_one(const char *input, size_t len, const char *field, struct sm_certs **ret,
                    struct api_error *ae)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_certs *certs = NULL;
    int r = sm_certs_parse(input, len, NULL, &certs, &e);

    if (r == SM_E_TOO_MANY || (r == 0 && certs->n_certs + certs->n_errors > 1)) {
        sm_certs_free(certs);
        return api_fail(ae, API_P_BAD_CERTIFICATE, field,
                        "more than one certificate: forward the client's own certificate only");
    }
    if (r < 0) {
        ae->problem = r == -ENOMEM ? API_P__COUNT : API_P_BAD_CERTIFICATE;
        ae->info.field = field;
        snprintf(ae->info.text, sizeof(ae->info.text), "%.300s",
                 e.text[0] ? e.text : sm_strerror(r));
        return r;
    }
    if (certs->n_certs == 0) { /* one block, and it was not a certificate */
        api_fail(ae, API_P_BAD_CERTIFICATE, field, "%.300s",
                 certs->n_errors ? certs->errors[0].message : "no certificate");
        sm_certs_free(certs);
        return SM_E_CERT;
    }
    *ret = certs;
    return 0;
}

/* The query: format=json, profile (repeatable). */
static int authz_query(const struct api_request *req, struct authz_request *ar,
                       struct api_error *ae)
{
    const char *q = strchr(req->target, '?');
    char *buf;
    int r = 0;

    if (!q || !q[1])
        return 0;
    q++;
    if (!(buf = malloc(strlen(q) + 2)))
        return -ENOMEM;
    while (*q && r == 0) {
        size_t len = strcspn(q, "&"), klen, vlen;
        const char *eq = memchr(q, '=', len);
        char *key = buf, *val;

        if (len == 0) {
            q++;
            continue;
        }
        klen = eq ? (size_t)(eq - q) : len;
        val = key + klen + 1;
        if (pct_decode(q, klen, true, key, &klen) < 0 ||
            pct_decode(eq ? eq + 1 : "", eq ? len - klen - 1 : 0, true, val, &vlen) < 0) {
            r = bad(ae, "query", "bad %-escape or NUL");
            break;
        }
        if (strcmp(key, "format") == 0) {
            if (strcmp(val, "json") != 0)
                r = bad(ae, "format", "json, or leave it out (headers only)");
            ar->json = true;
        } else if (strcmp(key, "profile") == 0) {
            if ((r = opt_profile_add(&ar->profiles, val, &ae->info)) < 0)
                ae->problem = API_P_BAD_REQUEST;
        } else {
            r = api_fail(ae, API_P_BAD_REQUEST, "query",
                         "unknown parameter \"%.40s\" (format, profile)", key);
        }
        q += len;
        if (*q == '&')
            q++;
    }
    free(buf);
    return r;
}

int read_authz(const struct api_request *req, struct authz_request *ar, struct api_error *ae)
{
    const struct api_runtime *rt = req_runtime(req);
    const char *field = rt->authz_header, *v;
    struct sm_certs *certs = NULL;
    uint8_t key[SU_SHA256_LEN];
    char *input = NULL;
    size_t len, n = 0;
    unsigned count;
    int r;

    memset(ar, 0, sizeof(*ar));
    v = req_header(req, field);
    count = req_header_count(req, field);
    /* Who sent it first: a header from a peer that is not a trusted proxy is not judged. */
    if (v && !req_trusted_peer(req, &rt->trusted_proxies))
        return api_fail(ae, API_P_BAD_REQUEST, field,
                        "sent by %s, which is not a trusted proxy ([authz] trusted_proxies)",
                        req_client_ip(req));
    if (count > 1)
        return bad(ae, field, "given more than once");
    if ((r = authz_query(req, ar, ae)) < 0)
        return r;
    if (ar->profiles.n == 0) {
        ar->profiles = rt->fleet;
        if (ar->profiles.n == 0)
            opt_profile_add(&ar->profiles, "windows-2022", NULL);
    }
    if (!v)
        return 0; /* no certificate forwarded: the client sent none */
    while (*v == ' ' || *v == '\t')
        v++;
    len = strlen(v);
    while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 0;
    /* the same header again (a proxy asks for each of its user's requests): its analysis */
    su_sha256(v, len, key);
    if ((ar->ref = certcache_get(req->api->authz_certs, key))) {
        ar->certs = certref_certs(ar->ref);
        if (!req->retried) /* counted by the cached try already */
            metric_inc(&req->api->metrics.authz_cert_hits);
        return 0;
    }
    if ((r = header_input(v, len, field, &input, &n, ae)) < 0)
        return r;
    r = read_one(input, n, field, &certs, ae);
    free(input);
    if (r == 0 && (r = certcache_add(req->api->authz_certs, key, certs, &ar->ref)) == 0)
        ar->certs = certref_certs(ar->ref);
    return r;
}

void authz_request_free(struct authz_request *ar)
{
    certref_put(ar->ref);
    memset(ar, 0, sizeof(*ar));
}

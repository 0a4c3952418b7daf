/*
 * cli/daemon_client.c - one HTTP request to a running strongmapd (daemon_client.h), through
 * libcurl. The only file of the tree that includes curl.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "daemon_client.h"
#include "su_buf.h"

#define TOKEN_MAX 4096 /* bytes of a bearer secret (api/auth.c reads no longer one) */

/* The answer being read, and whether it grew past its bound. */
struct sink {
    struct su_buf buf;
    size_t max;
    bool too_big;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    struct sink *s = arg;
    size_t len = size * n;

    if (len > s->max - s->buf.len) {
        s->too_big = true;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    su_buf_put(&s->buf, p, len);
    return s->buf.oom ? 0 : len;
}

static int fail(struct sm_errinfo *e, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct sm_errinfo *e, int r, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
    va_end(ap);
    return r;
}

/* The request's URL: @t->url's path with @path appended, and the query. */
static int build_url(const struct daemon_target *t, const char *path, const char *const *query,
                     size_t n_query, CURLU **ret, struct sm_errinfo *e)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *base = NULL, *extra = NULL, *full = NULL;
    int r = -EINVAL;

    if (!u)
        return -ENOMEM;
    e->field = "--daemon";
    e->origin = SM_ORIGIN_ARGUMENT;
    if (curl_url_set(u, CURLUPART_URL, t->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
        fail(e, r, "\"%.200s\" is not an http:// or https:// URL", t->url);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_QUERY, &extra, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_FRAGMENT, &extra, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_USER, &extra, 0) == CURLUE_OK) {
        fail(e, r, "\"%.200s\": give the URL without user, query or fragment", t->url);
        goto out;
    }
    if (curl_url_get(u, CURLUPART_PATH, &base, 0) != CURLUE_OK) {
        r = fail(e, -ENOMEM, "out of memory");
        goto out;
    }
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if (!(full = malloc(blen + strlen(path) + 1))) {
        r = fail(e, -ENOMEM, "out of memory");
        goto out;
    }
    memcpy(full, base, blen);
    strcpy(full + blen, path);
    if (curl_url_set(u, CURLUPART_PATH, full, 0) != CURLUE_OK) {
        fail(e, r, "\"%.200s\": a path that cannot be extended", t->url);
        goto out;
    }
    e->field = NULL;
    e->origin = SM_ORIGIN_INPUT;
    if (n_query > DAEMON_MAX_QUERY) {
        fail(e, r, "too many query parameters");
        goto out;
    }
    for (size_t i = 0; i < n_query; i++) {
        if (curl_url_set(u, CURLUPART_QUERY, query[i], CURLU_APPENDQUERY | CURLU_URLENCODE) !=
            CURLUE_OK) {
            r = fail(e, -ENOMEM, "out of memory");
            goto out;
        }
    }
    *ret = u;
    u = NULL;
    r = 0;
out:
    curl_free(scheme);
    curl_free(base);
    curl_free(extra);
    free(full);
    curl_url_cleanup(u);
    return r;
}

static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);

    if (!l)
        return -ENOMEM;
    *list = l;
    return 0;
}

/* The negative code for a failed transfer. */
static int transfer_error(CURLcode c, const struct sink *s)
{
    switch (c) {
    case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return -EHOSTUNREACH;
    case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
    case CURLE_OUT_OF_MEMORY: return -ENOMEM;
    case CURLE_WRITE_ERROR: return s->too_big ? -EFBIG : s->buf.oom ? -ENOMEM : -EPROTO;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT: return -EINVAL;
    default: return -EPROTO; /* TLS, the server's certificate, a broken or missing answer */
    }
}

int daemon_post(const struct daemon_target *t, const char *path, const char *const *query,
                size_t n_query, const char *ctype, const void *body, size_t len, size_t max_reply,
                struct daemon_reply *ret, struct sm_errinfo *e)
{
    struct sink sink = { .max = max_reply };
    struct curl_slist *headers = NULL;
    char line[160], errbuf[CURL_ERROR_SIZE] = "", *auth = NULL;
    size_t auth_size = 0;
    const char *ct = NULL;
    CURLU *u = NULL;
    CURL *c = NULL;
    CURLcode cc;
    long status = 0;
    int r;

    su_buf_init(&sink.buf, NULL, NULL);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return fail(e, -ENOMEM, "libcurl could not start");
    if ((r = build_url(t, path, query, n_query, &u, e)) < 0)
        goto out;
    r = -ENOMEM;
    if (!(c = curl_easy_init()))
        goto out_oom;
    snprintf(line, sizeof(line), "Content-Type: %s", ctype);
    /* no "Expect: 100-continue" round trip before the body */
    if (add_header(&headers, line) < 0 || add_header(&headers, "Expect:") < 0 ||
        add_header(&headers, "Accept: application/json") < 0)
        goto out_oom;
    if (t->token) {
        size_t tlen = strlen(t->token);
        if (tlen == 0 || tlen > TOKEN_MAX || strpbrk(t->token, " \t\r\n")) {
            r = fail(e, -EINVAL, "the token is empty, too long or holds blanks");
            e->field = "--token-file";
            goto out;
        }
        auth_size = tlen + sizeof("Authorization: Bearer ");
        if (!(auth = malloc(auth_size)))
            goto out_oom;
        snprintf(auth, auth_size, "Authorization: Bearer %s", t->token);
        /* libcurl keeps its own copy of the line until curl_slist_free_all() */
        if (add_header(&headers, auth) < 0)
            goto out_oom;
    }
    if (curl_easy_setopt(c, CURLOPT_CURLU, u) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, t->timeout_ms) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_USERAGENT, "strongmap-gate") != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) != CURLE_OK ||
        (t->cacert && curl_easy_setopt(c, CURLOPT_CAINFO, t->cacert) != CURLE_OK))
        goto out_oom;
    if ((cc = curl_easy_perform(c)) != CURLE_OK) {
        r = transfer_error(cc, &sink);
        if (r == -EFBIG)
            snprintf(e->text, sizeof(e->text), "%s: an answer over %zu bytes", t->url, max_reply);
        else
            snprintf(e->text, sizeof(e->text), "%s: %s", t->url,
                     errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto out;
    }
    if (sink.buf.oom || curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
        goto out_oom;
    *ret = (struct daemon_reply){ .status = status, .len = sink.buf.len };
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct &&
        strlen(ct) < sizeof(ret->ctype))
        strcpy(ret->ctype, ct);
    ret->body = sink.buf.p; /* taken */
    sink.buf.p = NULL;
    r = 0;
    goto out;

out_oom:
    fail(e, r, "out of memory");
out:
    if (auth) {
        explicit_bzero(auth, auth_size);
        free(auth);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    curl_url_cleanup(u);
    su_buf_release(&sink.buf);
    curl_global_cleanup();
    return r;
}

void daemon_reply_release(struct daemon_reply *r)
{
    free(r->body);
    r->body = NULL;
    r->len = 0;
}

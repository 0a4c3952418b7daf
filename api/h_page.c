/*
 * api/h_page.c - the self-service status page (docs/self-service.md): GET / and /status (the
 * page), GET /static/{name} (its style sheet and script), POST /status/check (the form without
 * JavaScript: a multipart/form-data upload answered with a whole HTML page) and
 * POST /v1/self/check (the same check for the page's script: the certificate as the body,
 * answered with JSON, errors as problem+json); GET /v1/self (JSON) and the page for a caller the
 * server knows: by the client certificate of the TLS connection, by the identity header of a
 * trusted reverse proxy, or, in lab mode only, by a typed account name (self.c).
 *
 * An upload may hold several certificates (a PEM file, a .p7b bundle of a whole chain): the
 * first that is not a CA is judged.
 *
 * The files are web/'s, compiled in (web.h); the page itself is web/status.html rendered in
 * the language Accept-Language picks (messages.c), and so is every answer but the style sheet
 * and the script: they say Content-Language and Vary: Accept-Language. Every answer carries a
 * Content-Security-Policy that allows no inline script or style and nothing from another
 * origin, and forbids framing. The page and its files are revalidated with their ETag
 * (Cache-Control: no-cache); answers to a check are never stored (no-store). Problems in JSON
 * (problem+json) stay in English, as everywhere in the API: the page's script words them from
 * their type. With [page] enabled = no, every route here answers 404.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <strongmap/cert.h>
#include <strongmap/state.h>
#include <strongmap/verdict.h>

#include "api_internal.h"
#include "su_buf.h"
#include "su_hash.h"
#include "web.h"

#define CT_HTML "text/html; charset=utf-8"

#define CSP                                                                                        \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src "        \
    "'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

/* The headers of every page answer; the ETag, when there is one, is the last. */
#define PAGE_HEADERS                                                                               \
    { "Content-Security-Policy", CSP }, { "X-Frame-Options", "DENY" },                             \
    {                                                                                              \
        "Referrer-Policy", "no-referrer"                                                           \
    }

static const struct api_header page_headers[] = { PAGE_HEADERS };
#define N_PAGE_HEADERS (sizeof(page_headers) / sizeof(page_headers[0]))

/* The headers of an answer in a language: the page's, Content-Language, Vary and room for an
   ETag. */
struct lang_headers {
    struct api_header h[N_PAGE_HEADERS + 3];
    size_t n;
};

/* The language of @req's answer (Accept-Language), with @ret's headers for it; NULL when the
   catalogues could not be made (out of memory). */
static const struct msg_lang *page_lang(const struct api_request *req, struct lang_headers *ret)
{
    const struct msg_lang *l =
        msg_negotiate(req_runtime(req)->page_messages, req_header(req, "Accept-Language"));

    if (!l)
        return NULL;
    memcpy(ret->h, page_headers, sizeof(page_headers));
    ret->h[N_PAGE_HEADERS] = (struct api_header){ "Content-Language", msg_tag(l) };
    ret->h[N_PAGE_HEADERS + 1] = (struct api_header){ "Vary", "Accept-Language" };
    ret->n = N_PAGE_HEADERS + 2;
    return l;
}

/* A file web/ serves at /static/NAME: the style sheet and the script (the page's template is
   served rendered, at / and /status only). */
static const struct web_file *web_file(const char *name)
{
    if (strstr(name, ".html"))
        return NULL;
    for (size_t i = 0; i < web_files_n; i++)
        if (strcmp(web_files[i].name, name) == 0)
            return &web_files[i];
    return NULL;
}

/* Does If-None-Match list @etag (or "*")? */
static bool not_modified(const struct api_request *req, const char *etag)
{
    const char *inm = req_header(req, "If-None-Match");
    size_t n = strlen(etag);

    if (!inm)
        return false;
    for (const char *p = inm; *p;) {
        p += strspn(p, " \t,");
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '*' || (strncmp(p, etag, n) == 0 && (p[n] == '\0' || strchr(" \t,", p[n]))))
            return true;
        p += strcspn(p, ",");
    }
    return false;
}

static int html_fail(struct api_request *req, const struct msg_lang *l,
                     const struct lang_headers *lh, int err, const struct api_error *ae,
                     const char *title_key);
static int page_take(struct api_request *req);
static int reply_page_limited(struct api_request *req, const struct msg_lang *l,
                              const struct lang_headers *lh);

/*
 * The page for a caller the server knows (self.c: a client certificate, a trusted proxy's
 * identity header) or in lab mode: the page in @l with the answer for their own account, or
 * lab mode's form, built for this request (no-store). 1 when the page as rendered will do.
 */
static int page_for_caller(struct api_request *req, const struct msg_lang *l,
                           const struct lang_headers *lh)
{
    const struct api_runtime *rt = req_runtime(req);
    struct api_error ae = API_ERROR_INIT;
    struct self_identity id;
    struct self_answer *a = NULL;
    const char *tmpl, *etag;
    char *page = NULL;
    size_t len, tmpl_len;
    int ret;

    if ((ret = self_identify(req, false, &id, &ae)) < 0)
        return html_fail(req, l, lh, ret, &ae, "problem.account_title");
    if (id.source == SELF_NONE && !rt->page_lab_mode)
        return 1;
    if (id.source != SELF_NONE) {
        if (page_take(req) < 0)
            return reply_page_limited(req, l, lh);
        if ((ret = self_answer(req, &id, &a, &ae)) < 0)
            return html_fail(req, l, lh, ret, &ae, "problem.account_title");
    }
    tmpl = msg_page(l, &tmpl_len, &etag);
    ret = self_page_html(rt, l, a,
                         rt->page_lab_mode && (id.source == SELF_NONE || id.source == SELF_LAB),
                         tmpl, tmpl_len, &page, &len);
    self_answer_free(a);
    if (ret < 0)
        return reply_fail(req, ret, NULL);
    return reply_body(req, 200, CT_HTML, NULL, lh->h, lh->n, page, len, true);
}

int h_page(struct api_request *req)
{
    const struct web_file *f;
    const struct msg_lang *l;
    const char *path = req->target, *q = strchr(path, '?'), *body, *etag;
    char name[64];
    size_t len = q ? (size_t)(q - path) : strlen(path), body_len;
    struct api_header h[N_PAGE_HEADERS + 1] = { PAGE_HEADERS };
    struct lang_headers lh;
    int r;

    if (!req_runtime(req)->page_enabled)
        return reply_problem(req, API_P_NOT_FOUND, NULL);
    if ((len == 1 && path[0] == '/') || (len == 7 && strncmp(path, "/status", 7) == 0)) {
        if (!(l = page_lang(req, &lh)))
            return reply_fail(req, -ENOMEM, NULL);
        if ((r = page_for_caller(req, l, &lh)) <= 0)
            return r;
        body = msg_page(l, &body_len, &etag); /* its ETag is the language's page's */
        lh.h[lh.n++] = (struct api_header){ "ETag", etag };
        if (not_modified(req, etag))
            return reply_body(req, 304, NULL, "no-cache", lh.h, lh.n, (char *)(uintptr_t) "", 0,
                              false);
        return reply_body(req, 200, CT_HTML, "no-cache", lh.h, lh.n, (char *)(uintptr_t)body,
                          body_len, false); /* the runtime's, which the request holds */
    }
    if (len > 8 && len - 8 < sizeof(name) && strncmp(path, "/static/", 8) == 0 &&
        memchr(path + 8, '/', len - 8) == NULL)
        snprintf(name, sizeof(name), "%.*s", (int)(len - 8), path + 8);
    else
        return reply_problem(req, API_P_NOT_FOUND, NULL);
    if (!(f = web_file(name)))
        return reply_problem(req, API_P_NOT_FOUND, NULL);
    h[N_PAGE_HEADERS] = (struct api_header){ "ETag", f->etag };
    if (not_modified(req, f->etag))
        return reply_body(req, 304, NULL, "no-cache", h, N_PAGE_HEADERS + 1, (char *)(uintptr_t) "",
                          0, false);
    return reply_body(req, 200, f->ctype, "no-cache", h, N_PAGE_HEADERS + 1,
                      (char *)(uintptr_t)f->data, f->len, false);
}

/* The certificate a person means in an upload of several (a .p7b of a whole chain): the first
   that is not a CA, else the first. */
static const struct sm_cert *their_certificate(const struct sm_certs *certs)
{
    for (size_t i = 0; i < certs->n_certs; i++)
        if (!certs->certs[i].is_ca)
            return &certs->certs[i];
    return &certs->certs[0];
}

/*
 * The HTML page of a failed check in @l, with the problem's status; @title_key NULL: an
 * upload's. A problem the page has words for is said in them; any other (a request the page
 * never sends, a proxy's header refused) keeps the API's detail, in English, for IT.
 */
static int html_fail(struct api_request *req, const struct msg_lang *l,
                     const struct lang_headers *lh, int err, const struct api_error *ae,
                     const char *title_key)
{
    enum api_problem p = problem_of(err, ae);
    const struct api_problem_info *info = problem_info(p);
    const char *detail, *title = msg_text(l, title_key ? title_key : "problem.file_title");
    char buf[sizeof(ae->info.text) + 64], *page = NULL;
    const char *note;
    size_t len;

    detail = problem_detail(p, ae, buf, sizeof(buf), &note);
    if (note)
        req_note(req, note);
    switch (p) {
    case API_P_BAD_CERTIFICATE:
    case API_P_EMPTY_BODY:
    case API_P_MISSING_FIELD: detail = msg_text(l, "problem.bad_file"); break;
    case API_P_NO_DIRECTORY:
    case API_P_DIRECTORY_UNAVAILABLE:
    case API_P_DIRECTORY_REFUSED:
    case API_P_DIRECTORY_LIMIT:
    case API_P_UNAVAILABLE:
        title = msg_text(l, "problem.unavailable_title");
        detail = msg_text(l, "problem.unavailable");
        break;
    default:
        if (!detail)
            detail = info->title;
    }
    req->problem = info->code;
    if (page_html_problem(req_runtime(req), l, title, detail, &page, &len) < 0)
        return reply_fail(req, -ENOMEM, NULL);
    return reply_body(req, info->status, CT_HTML, NULL, lh->h, lh->n, page, len, true);
}

/*
 * Take one check from the client's own bucket ([page] rate and burst, per address; IPv6 by /64;
 * a user a trusted proxy names, by that name): 0, or -EAGAIN with req->retry_after set. The page is
 * open to anyone and a check may cost a directory lookup, so its checks have a limit of their own,
 * on top of [limits] rate. Taken after the upload was read (bounded by [limits] max_body), so that
 * the refusal is a whole answer on a connection that stays usable.
 */
static int page_take(struct api_request *req)
{
    const struct api_runtime *rt = req_runtime(req);
    char key[API_RATE_KEY_MAX + 8]; /* the ratelimit table keeps API_RATE_KEY_MAX - 1: room */
    unsigned retry = 0;

    const char *user = self_proxy_user(req);

    if (rt->page_rate_per_s <= 0)
        return 0;
    if (user) { /* behind the proxy everyone shares its address: count per signed-in user */
        uint8_t h[SU_SHA256_LEN];

        su_sha256(user, strlen(user), h);
        snprintf(key, sizeof(key), "page:user:");
        for (size_t i = 0; i < 16; i++)
            snprintf(key + 10 + 2 * i, sizeof(key) - 10 - 2 * i, "%02x", h[i]);
    } else {
        snprintf(key, sizeof(key), "page:%s", req->cs->rate_key);
    }
    if (ratelimit_take(req->api->rl, key, rt->page_rate_per_s,
                       api_burst(rt->page_rate_per_s, rt->page_rate_burst), &retry) == 0)
        return 0;
    metric_inc(&req->api->metrics.rate_limited);
    req->retry_after = retry;
    return -EAGAIN;
}

/* The refusal of a check over the page's rate limit: an HTML page in @l, or (@l NULL)
   problem+json. */
static int reply_page_limited(struct api_request *req, const struct msg_lang *l,
                              const struct lang_headers *lh)
{
    char detail[160], secs[16], *page = NULL;
    struct su_buf b;
    size_t len;
    int r;

    if (!l) {
        snprintf(detail, sizeof(detail),
                 "over %g checks per second from this address; retry in %u s",
                 req_runtime(req)->page_rate_per_s, req->retry_after);
        return reply_problem_retry(req, API_P_RATE_LIMITED, detail, req->retry_after);
    }
    snprintf(secs, sizeof(secs), "%u", req->retry_after);
    su_buf_init(&b, NULL, NULL);
    msg_put(&b, l, req->retry_after == 1 ? "problem.wait_one" : "problem.wait_many", secs, NULL);
    req->problem = problem_info(API_P_RATE_LIMITED)->code;
    r = su_buf_str(&b) ? page_html_problem(req_runtime(req), l, msg_text(l, "problem.rate_title"),
                                           su_buf_str(&b), &page, &len)
                       : -ENOMEM;
    su_buf_release(&b);
    if (r < 0)
        return reply_fail(req, -ENOMEM, NULL);
    return reply_body(req, problem_info(API_P_RATE_LIMITED)->status, CT_HTML, NULL, lh->h, lh->n,
                      page, len, true);
}

int h_status_check(struct api_request *req)
{
    struct api_error ae = API_ERROR_INIT;
    struct sm_certs *certs = NULL;
    struct sm_verdict *v = NULL;
    struct sm_state_answer st;
    struct lang_headers lh;
    const struct msg_lang *l;
    const char *file;
    char *page = NULL;
    size_t len, page_len;
    int ret;

    if (!req_runtime(req)->page_enabled)
        return reply_problem(req, API_P_NOT_FOUND, NULL);
    if (!(l = page_lang(req, &lh)))
        return reply_fail(req, -ENOMEM, NULL);
    if (!req->retried && page_take(req) < 0) /* a retry took its token on its cached try */
        return reply_page_limited(req, l, &lh);
    if ((ret = read_form_file(req, "certificate", &file, &len, &ae)) < 0 ||
        (ret = read_certs(req, file, len, NULL, "certificate", &certs, &ae)) < 0 ||
        (ret = page_check(req, their_certificate(certs), &v, &st, &ae)) < 0) {
        if (ret != SM_E_DIR_WOULD_BLOCK) /* a cached try: to the job pool, nothing answered */
            ret = html_fail(req, l, &lh, ret, &ae, NULL);
        goto out;
    }
    if ((ret = page_html(req_runtime(req), l, v, &st, &page, &page_len)) < 0) {
        ret = reply_fail(req, ret, NULL);
        goto out;
    }
    ret = reply_body(req, 200, CT_HTML, NULL, lh.h, lh.n, page, page_len, true);
out:
    sm_verdict_free(v);
    sm_certs_free(certs);
    return ret;
}

int h_self_check(struct api_request *req)
{
    struct api_error ae = API_ERROR_INIT;
    struct sm_certs *certs = NULL;
    struct sm_verdict *v = NULL;
    struct sm_state_answer st;
    struct lang_headers lh;
    const struct msg_lang *l;
    char *json = NULL;
    int ret;

    if (!req_runtime(req)->page_enabled)
        return reply_problem(req, API_P_NOT_FOUND, NULL);
    if (!(l = page_lang(req, &lh)))
        return reply_fail(req, -ENOMEM, NULL);
    if (!req->retried && page_take(req) < 0) /* a retry took its token on its cached try */
        return reply_page_limited(req, NULL, NULL);
    if ((ret = read_inspect(req, &certs, &ae)) < 0 ||
        (ret = page_check(req, their_certificate(certs), &v, &st, &ae)) < 0 ||
        (ret = page_json(req_runtime(req), l, v, &st, &json)) < 0) {
        if (ret != SM_E_DIR_WOULD_BLOCK) /* a cached try: to the job pool, nothing answered */
            ret = reply_fail(req, ret, &ae);
    } else {
        ret = reply_body(req, 200, "application/json", NULL, lh.h, lh.n, json, strlen(json), true);
    }
    sm_verdict_free(v);
    sm_certs_free(certs);
    return ret;
}

int h_self(struct api_request *req)
{
    const struct api_runtime *rt = req_runtime(req);
    struct api_error ae = API_ERROR_INIT;
    struct self_identity id;
    struct self_answer *a = NULL;
    struct lang_headers lh;
    const struct msg_lang *l;
    char *json = NULL;
    int ret;

    if (!rt->page_enabled)
        return reply_problem(req, API_P_NOT_FOUND, NULL);
    if (!(l = page_lang(req, &lh)))
        return reply_fail(req, -ENOMEM, NULL);
    if ((ret = self_identify(req, true, &id, &ae)) < 0)
        return reply_fail(req, ret, &ae);
    if (id.source == SELF_NONE)
        return reply_problem(req, API_P_NO_IDENTITY,
                             rt->page_lab_mode
                                 ? "present a client certificate, come through the trusted proxy, "
                                   "or name the account (?account=, lab mode)"
                                 : "present a client certificate over HTTPS ([tls] client_ca) or "
                                   "come through the trusted proxy ([page] trusted_proxies)");
    if (page_take(req) < 0)
        return reply_page_limited(req, NULL, NULL);
    if ((ret = self_answer(req, &id, &a, &ae)) < 0 || (ret = self_json(rt, l, a, &json)) < 0)
        ret = reply_fail(req, ret, &ae);
    else
        ret = reply_body(req, 200, "application/json", NULL, lh.h, lh.n, json, strlen(json), true);
    self_answer_free(a);
    return ret;
}

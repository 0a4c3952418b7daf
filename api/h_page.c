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
 * The files are web/'s, compiled in (web.h). Every answer carries a Content-Security-Policy
 * that allows no inline script or style and nothing from another origin, and forbids framing.
 * The files are revalidated with their ETag (Cache-Control: no-cache); answers to a check are
 * never stored (no-store). With [page] enabled = no, every route here answers 404.
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

static const struct web_file *web_file(const char *name)
{
    for (size_t i = 0; i < web_n_files; i++)
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

static int html_fail(struct api_request *req, int err, const struct api_error *ae,
                     const char *title);
static int page_take(struct api_request *req);
static int reply_page_limited(struct api_request *req, bool html);

/*
 * The page for a caller the server knows (self.c: a client certificate, a trusted proxy's
 * identity header) or in lab mode: web/status.html with the answer for their own account, or
 * lab mode's form, built for this request (no-store). 1 when the static page will do.
 */
static int page_for_caller(struct api_request *req)
{
    const struct api_runtime *rt = req_runtime(req);
    const struct web_file *f = web_file("status.html");
    struct api_error ae = API_ERROR_INIT;
    struct self_identity id;
    struct self_answer *a = NULL;
    char *page = NULL;
    size_t len;
    int ret;

    if ((ret = self_identify(req, false, &id, &ae)) < 0)
        return html_fail(req, ret, &ae, "Your account could not be checked");
    if (id.source == SELF_NONE && !rt->page_lab_mode)
        return 1;
    if (id.source != SELF_NONE) {
        if (page_take(req) < 0)
            return reply_page_limited(req, true);
        if ((ret = self_answer(req, &id, &a, &ae)) < 0)
            return html_fail(req, ret, &ae, "Your account could not be checked");
    }
    ret = self_page_html(rt, a,
                         rt->page_lab_mode && (id.source == SELF_NONE || id.source == SELF_LAB),
                         (const char *)f->data, f->len, &page, &len);
    self_answer_free(a);
    if (ret < 0)
        return reply_fail(req, ret, NULL);
    return reply_body(req, 200, CT_HTML, NULL, page_headers, N_PAGE_HEADERS, page, len, true);
}

int h_page(struct api_request *req)
{
    const struct web_file *f;
    const char *path = req->target, *q = strchr(path, '?');
    char name[64];
    size_t len = q ? (size_t)(q - path) : strlen(path);
    struct api_header h[N_PAGE_HEADERS + 1] = { PAGE_HEADERS };
    int r;

    if (!req_runtime(req)->page_enabled)
        return reply_problem(req, API_P_NOT_FOUND, NULL);
    if ((len == 1 && path[0] == '/') || (len == 7 && strncmp(path, "/status", 7) == 0)) {
        if ((r = page_for_caller(req)) <= 0)
            return r;
        snprintf(name, sizeof(name), "status.html");
    } else if (len > 8 && len - 8 < sizeof(name) && strncmp(path, "/static/", 8) == 0 &&
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

/* The HTML page of a failed check, with the problem's status; @title NULL: an upload's. */
static int html_fail(struct api_request *req, int err, const struct api_error *ae,
                     const char *title)
{
    enum api_problem p = problem_of(err, ae);
    const struct api_problem_info *info = problem_info(p);
    const char *detail;
    char buf[sizeof(ae->info.text) + 64], *page = NULL;
    const char *note;
    size_t len;

    if (!title)
        title = "This file could not be checked";
    detail = problem_detail(p, ae, buf, sizeof(buf), &note);
    if (note)
        req_note(req, note);
    switch (p) {
    case API_P_BAD_CERTIFICATE:
    case API_P_EMPTY_BODY:
    case API_P_MISSING_FIELD:
        detail = "This file is not a certificate this page can read. Export the certificate as a "
                 ".cer file (DER or Base-64) and try again.";
        break;
    case API_P_NO_DIRECTORY:
    case API_P_DIRECTORY_UNAVAILABLE:
    case API_P_DIRECTORY_REFUSED:
    case API_P_DIRECTORY_LIMIT:
    case API_P_UNAVAILABLE:
        title = "The check is not available right now";
        detail = "Please try again in a few minutes. If this persists, tell your IT helpdesk.";
        break;
    default:
        if (!detail)
            detail = info->title;
    }
    req->problem = info->code;
    if (page_html_problem(title, detail, &page, &len) < 0)
        return reply_fail(req, -ENOMEM, NULL);
    return reply_body(req, info->status, CT_HTML, NULL, page_headers, N_PAGE_HEADERS, page, len,
                      true);
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

/* The refusal of a check over the page's rate limit: HTML (@html) or problem+json. */
static int reply_page_limited(struct api_request *req, bool html)
{
    char detail[160], *page = NULL;
    size_t len;

    if (!html) {
        snprintf(detail, sizeof(detail),
                 "over %g checks per second from this address; retry in %u s",
                 req_runtime(req)->page_rate_per_s, req->retry_after);
        return reply_problem_retry(req, API_P_RATE_LIMITED, detail, req->retry_after);
    }
    snprintf(detail, sizeof(detail), "Please wait %u second%s, then try again.", req->retry_after,
             req->retry_after == 1 ? "" : "s");
    req->problem = problem_info(API_P_RATE_LIMITED)->code;
    if (page_html_problem("Too many checks from this device", detail, &page, &len) < 0)
        return reply_fail(req, -ENOMEM, NULL);
    return reply_body(req, problem_info(API_P_RATE_LIMITED)->status, CT_HTML, NULL, page_headers,
                      N_PAGE_HEADERS, page, len, true);
}

int h_status_check(struct api_request *req)
{
    struct api_error ae = API_ERROR_INIT;
    struct sm_certs *certs = NULL;
    struct sm_verdict *v = NULL;
    struct sm_state_answer st;
    const char *file;
    char *page = NULL;
    size_t len, page_len;
    int ret;

    if (!req_runtime(req)->page_enabled)
        return reply_problem(req, API_P_NOT_FOUND, NULL);
    if (page_take(req) < 0)
        return reply_page_limited(req, true);
    if ((ret = read_form_file(req, "certificate", &file, &len, &ae)) < 0 ||
        (ret = read_certs(req, file, len, NULL, "certificate", &certs, &ae)) < 0 ||
        (ret = page_check(req, their_certificate(certs), &v, &st, &ae)) < 0) {
        ret = html_fail(req, ret, &ae, NULL);
        goto out;
    }
    if ((ret = page_html(req_runtime(req), v, &st, &page, &page_len)) < 0) {
        ret = reply_fail(req, ret, NULL);
        goto out;
    }
    ret = reply_body(req, 200, CT_HTML, NULL, page_headers, N_PAGE_HEADERS, page, page_len, true);
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
    char *json = NULL;
    int ret;

    if (!req_runtime(req)->page_enabled)
        return reply_problem(req, API_P_NOT_FOUND, NULL);
    if (page_take(req) < 0)
        return reply_page_limited(req, false);
    if ((ret = read_inspect(req, &certs, &ae)) < 0 ||
        (ret = page_check(req, their_certificate(certs), &v, &st, &ae)) < 0 ||
        (ret = page_json(req_runtime(req), v, &st, &json)) < 0)
        ret = reply_fail(req, ret, &ae);
    else
        ret = reply_body(req, 200, "application/json", NULL, page_headers, N_PAGE_HEADERS, json,
                         strlen(json), true);
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
    char *json = NULL;
    int ret;

    if (!rt->page_enabled)
        return reply_problem(req, API_P_NOT_FOUND, NULL);
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
        return reply_page_limited(req, false);
    if ((ret = self_answer(req, &id, &a, &ae)) < 0 || (ret = self_json(rt, a, &json)) < 0)
        ret = reply_fail(req, ret, &ae);
    else
        ret = reply_body(req, 200, "application/json", NULL, page_headers, N_PAGE_HEADERS, json,
                         strlen(json), true);
    self_answer_free(a);
    return ret;
}

/*
 * api/h_audits.c - POST /v1/audits and GET|DELETE /v1/audits/{id}: the audit of the whole
 * directory as a background job (api/audits.c, docs/audit.md). Scope "admin" by default
 * (scope.audits): a report names every account.
 *
 * POST: an empty body (every default) or a JSON object: "profile", "mode",
 * "backdating_seconds", "at" (as for a verdict), "since", "page_size" (LDAP), "fail_on"
 * ("at_risk", "blocked": the job's outcome), "format" ("jsonl", "csv", "html", or an array of
 * them: the reports built). Certificates from the server's disk (the CLI's --certs) are not
 * read for a request. 202 with Location and the job's document; 429 too-many-audits (with
 * Retry-After) when [audit] jobs run already or too many are held; 503 no-directory.
 *
 * GET: the job's document, or with ?format=jsonl|csv|html (or an Accept that prefers one of
 * their media types) the report, once the audit has ended: 409 audit-not-done before (with
 * Retry-After, the audit's ETA), 406 not-acceptable for a format it did not build. The HTML
 * report is sent with its Content-Security-Policy (sm_audit_html_csp()). DELETE: 202 and the
 * document when it cancels a running audit, 204 when it forgets one that ended. 404 for an id
 * that is not (or no longer) known.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <strongmap/strongmap.h>

#include "api_internal.h"
#include "audits.h"
#include "dirpool.h"

#define AUDITS_PREFIX "/v1/audits/"
#define ACCEPT_MAX    1024 /* bytes of an Accept field read */

/* ---- POST ---------------------------------------------------------------------------------- */

static int body_formats(json_t *val, unsigned *ret, struct api_error *ae)
{
    const char *why = "\"jsonl\", \"csv\", \"html\", or a non-empty array of them, each once";
    enum sm_audit_format f;
    unsigned v = 0;
    size_t i;
    json_t *item;

    if (json_is_string(val)) {
        if (sm_audit_format_parse(json_string_value(val), &f) < 0)
            return api_fail(ae, API_P_BAD_REQUEST, "format", "%s", why);
        *ret = 1u << f;
        return 0;
    }
    if (!json_is_array(val) || json_array_size(val) == 0)
        return api_fail(ae, API_P_BAD_REQUEST, "format", "%s", why);
    json_array_foreach(val, i, item)
    {
        if (!json_is_string(item) || sm_audit_format_parse(json_string_value(item), &f) < 0 ||
            (v & (1u << f)))
            return api_fail(ae, API_P_BAD_REQUEST, "format", "%s", why);
        v |= 1u << f;
    }
    *ret = v;
    return 0;
}

static int body_member(struct audit_settings *s, struct api_whatif *wi, const char *key,
                       json_t *val, struct api_error *ae)
{
    int r = whatif_member(wi, key, val, ae);

    if (r <= 0)
        return r;
    if (strcmp(key, "since") == 0) {
        if (json_is_null(val))
            return 0;
        if (!json_is_string(val) || opt_parse_time(json_string_value(val), &s->since) < 0)
            return api_fail(ae, API_P_BAD_REQUEST, "since",
                            "an RFC 3339 date-time string, e.g. 2026-01-01T00:00:00Z");
        return 0;
    }
    if (strcmp(key, "page_size") == 0) {
        if (!json_is_integer(val) || json_integer_value(val) < 1 ||
            json_integer_value(val) > SM_DIR_PAGE_MAX)
            return api_fail(ae, API_P_BAD_REQUEST, "page_size", "an integer, 1 to %d entries",
                            SM_DIR_PAGE_MAX);
        s->page_size = (unsigned)json_integer_value(val);
        return 0;
    }
    if (strcmp(key, "fail_on") == 0) {
        const char *v = json_is_string(val) ? json_string_value(val) : NULL;
        if (json_is_null(val))
            s->fail_on = -1;
        else if (v && strcmp(v, "at_risk") == 0)
            s->fail_on = SM_AT_RISK;
        else if (v && strcmp(v, "blocked") == 0)
            s->fail_on = SM_BLOCKED;
        else
            return api_fail(ae, API_P_BAD_REQUEST, "fail_on", "\"at_risk\", \"blocked\" or null");
        return 0;
    }
    if (strcmp(key, "format") == 0)
        return body_formats(val, &s->formats, ae);
    if (strcmp(key, "certs") == 0 || strcmp(key, "certificates") == 0)
        return api_fail(ae, API_P_BAD_REQUEST, key[4] == 's' ? "certs" : "certificates",
                        "strongmapd reads no certificate files for a request; run strongmap "
                        "audit --certs PATH where the files are (docs/audit.md)");
    return api_fail(ae, API_P_BAD_REQUEST, NULL,
                    "unknown member \"%.40s\" (profile, mode, backdating_seconds, at, since, "
                    "page_size, fail_on, format)",
                    key);
}

/* The request's settings into @s. */
static int read_settings(struct api_request *req, struct audit_settings *s, struct api_error *ae)
{
    const char *ctype = req_header(req, "Content-Type"), *q = strchr(req->target, '?'), *key;
    struct api_whatif wi;
    json_error_t jerr;
    json_t *root = NULL, *val;
    int r = 0;

    memset(s, 0, sizeof(*s));
    s->fail_on = -1;
    s->formats = 1u << SM_AUDIT_JSONL;
    whatif_start(&wi);
    if (q && q[1])
        return api_fail(ae, API_P_BAD_REQUEST, "query",
                        "this route takes no query parameters: give the options as members of "
                        "a JSON body");
    if (req->body_len) {
        if (req_header(req, "Content-Encoding"))
            return api_fail(ae, API_P_UNSUPPORTED_MEDIA_TYPE, NULL,
                            "Content-Encoding is not supported; send the body uncompressed");
        if (ctype && strncasecmp(ctype, "application/json", 16) != 0)
            return api_fail(ae, API_P_UNSUPPORTED_MEDIA_TYPE, NULL,
                            "send application/json (or no body: every default)");
        root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root)
            return api_fail(ae, API_P_BAD_JSON, NULL, "line %d, column %d: %s", jerr.line,
                            jerr.column, jerr.text);
        if (!json_is_object(root))
            r = api_fail(ae, API_P_BAD_REQUEST, NULL, "the body must be a JSON object");
        json_object_foreach(r == 0 ? root : NULL, key, val)
        {
            if ((r = body_member(s, &wi, key, val, ae)) < 0)
                break;
        }
        json_decref(root);
        if (r < 0)
            return r;
    }
    if ((r = whatif_end(req, &wi, ae)) < 0)
        return r;
    s->profiles = wi.profiles;
    s->at = wi.at ? wi.at : time(NULL);
    if (req->token)
        snprintf(s->requester, sizeof(s->requester), "%s", req->token->name);
    return 0;
}

int h_audits(struct api_request *req)
{
    const struct api_runtime *rt = req_runtime(req);
    struct api_error ae = API_ERROR_INIT;
    struct audit_settings s;
    struct audit_job *j = NULL;
    unsigned retry = 0;
    char detail[300], location[sizeof(AUDITS_PREFIX) + AUDIT_ID_LEN], *json = NULL;
    int r;

    if ((r = read_settings(req, &s, &ae)) < 0)
        return reply_fail(req, r, &ae);
    if (!rt->dir)
        return reply_fail(req, no_directory(&ae), &ae);
    if (s.page_size && strcmp(dirpool_kind(rt->dir), "ldif") == 0)
        return reply_fail(req,
                          api_fail(&ae, API_P_BAD_REQUEST, "page_size",
                                   "is for LDAP: this strongmapd reads an LDIF export"),
                          &ae);
    r = audits_start(req->api->audits, req->rt, &s, &j, &retry);
    if (r == -EBUSY || r == -ENOSPC) {
        if (r == -EBUSY)
            snprintf(detail, sizeof(detail),
                     "%u audit%s running already ([audit] jobs = %u): wait for %s to end, or "
                     "cancel it (DELETE)",
                     rt->audit_jobs, rt->audit_jobs == 1 ? " is" : "s are", rt->audit_jobs,
                     rt->audit_jobs == 1 ? "it" : "one");
        else
            snprintf(detail, sizeof(detail),
                     "%u audits are held (%u per [audit] job): fetch the reports of those that "
                     "ended, or DELETE them",
                     rt->audit_jobs * API_AUDIT_KEEP_PER_JOB, API_AUDIT_KEEP_PER_JOB);
        return reply_problem_retry(req, API_P_TOO_MANY_AUDITS, detail, retry);
    }
    if (r < 0)
        return reply_problem(req, API_P_UNAVAILABLE,
                             "cannot start an audit now (no memory or "
                             "no thread to be had)");
    snprintf(location, sizeof(location), AUDITS_PREFIX "%s", audit_job_id(j));
    const struct api_header h[] = { { "Location", location } };
    r = audit_job_json(j, &json);
    audit_job_put(j);
    if (r < 0)
        return reply_error(req, r, NULL);
    return reply_status(req, 202, h, 1, json);
}

/* ---- GET and DELETE ------------------------------------------------------------------------ */

/* The id in the request target: AUDIT_ID_LEN lower-case hex digits, else -ENOENT. */
static int read_id(const struct api_request *req, char id[AUDIT_ID_LEN + 1])
{
    size_t pre = strlen(AUDITS_PREFIX), len = strcspn(req->target, "?");

    if (len != pre + AUDIT_ID_LEN || strncmp(req->target, AUDITS_PREFIX, pre) != 0)
        return -ENOENT;
    for (size_t i = 0; i < AUDIT_ID_LEN; i++) {
        char c = req->target[pre + i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return -ENOENT;
    }
    memcpy(id, req->target + pre, AUDIT_ID_LEN);
    id[AUDIT_ID_LEN] = '\0';
    return 0;
}

/* ?format=jsonl|csv|html (*@ret -1: none), the one parameter GET takes; DELETE takes none. */
static int read_query(const struct api_request *req, bool get, int *ret, struct api_error *ae)
{
    const char *q = strchr(req->target, '?');
    enum sm_audit_format f;
    char val[8];
    size_t len;

    *ret = -1;
    if (!q || !q[1])
        return 0;
    if (!get)
        return api_fail(ae, API_P_BAD_REQUEST, "query", "DELETE takes no query parameters");
    q++;
    len = strlen(q);
    if (strncmp(q, "format=", 7) != 0 || len - 7 >= sizeof(val) ||
        pct_decode(q + 7, len - 7, true, val, &len) < 0 || sm_audit_format_parse(val, &f) < 0)
        return api_fail(ae, API_P_BAD_REQUEST, "query",
                        "format=jsonl, format=csv or format=html, the one parameter");
    *ret = (int)f;
    return 0;
}

/* The representations of a job: its document, and its reports. */
enum { REP_DOC = 0, REP_JSONL, REP_CSV, REP_HTML, REP__COUNT };

static const char *const rep_types[REP__COUNT][2] = {
    { "application/json", NULL },
    { "application/jsonl", "application/x-ndjson" },
    { "text/csv", NULL },
    { "text/html", NULL },
};

/* How well the media range @range (@len bytes: a type and subtype, the type and a star, or two
   stars) matches @type: 3 exactly, 2 its type, 1 anything, 0 not. */
static int range_match(const char *range, size_t len, const char *type)
{
    const char *slash = memchr(range, '/', len);
    size_t tlen = strcspn(type, "/");

    if (!slash)
        return 0;
    if (len == 3 && memcmp(range, "*/*", 3) == 0)
        return 1;
    if ((size_t)(slash - range) != tlen || strncasecmp(range, type, tlen) != 0)
        return 0;
    if (len == tlen + 2 && range[tlen + 1] == '*')
        return 2;
    return len == strlen(type) && strncasecmp(range, type, len) == 0 ? 3 : 0;
}

/* The q of each representation by the Accept field @field (RFC 9110 12.5.1: the most specific
   range that matches decides; no field: everything at 1), in thousandths. */
static void accept_weights(const char *field, int q[REP__COUNT])
{
    int best[REP__COUNT] = { 0 };

    for (size_t i = 0; i < REP__COUNT; i++)
        q[i] = field ? 0 : 1000;
    for (const char *p = field; p && *p && p - field < ACCEPT_MAX;) {
        size_t n = strcspn(p, ","), rlen;
        const char *semi = memchr(p, ';', n), *r = p;
        int weight = 1000;

        while (r < p + n && (*r == ' ' || *r == '\t'))
            r++;
        rlen = (size_t)((semi ? semi : p + n) - r);
        while (rlen && (r[rlen - 1] == ' ' || r[rlen - 1] == '\t'))
            rlen--;
        for (const char *a = semi; a && a < p + n;) { /* parameters: q only */
            a++;
            while (a < p + n && (*a == ' ' || *a == '\t'))
                a++;
            if (p + n - a >= 2 && (a[0] == 'q' || a[0] == 'Q') && a[1] == '=') {
                char num[8] = { 0 };
                size_t k = 0;
                for (const char *d = a + 2; d < p + n && k < sizeof(num) - 1 && *d != ';'; d++)
                    if (*d != ' ' && *d != '\t')
                        num[k++] = *d;
                char *end;
                double v = strtod(num, &end);
                weight = *end || v < 0 || v > 1 ? -1 : (int)(v * 1000 + 0.5);
            }
            a = memchr(a, ';', (size_t)(p + n - a));
        }
        for (size_t i = 0; weight >= 0 && i < REP__COUNT; i++) {
            for (size_t t = 0; t < 2 && rep_types[i][t]; t++) {
                int m = range_match(r, rlen, rep_types[i][t]);
                if (m > best[i]) {
                    best[i] = m;
                    q[i] = weight;
                }
            }
        }
        p += n + (p[n] == ',');
    }
}

struct sent {
    struct api_audits *set;
    struct audit_job *j;
    enum sm_audit_format f;
};

static void release_report(void *arg)
{
    audit_job_put(arg);
}

static void report_done(void *arg, bool whole)
{
    struct sent *s = arg;

    if (whole)
        audit_job_fetched(s->set, s->j, s->f);
    audit_job_put(s->j);
    free(s);
}

static int reply_report(struct api_request *req, struct audit_job *j, enum sm_audit_format f,
                        const char *body, size_t len)
{
    static const char *const ctypes[SM_AUDIT__FORMATS] = {
        "application/jsonl", "text/csv; charset=utf-8; header=present", "text/html; charset=utf-8"
    };
    char disposition[96], csp[320];
    struct api_header h[5] = { { "Vary", "Accept" }, { "Content-Disposition", disposition } };
    size_t n = 2;
    struct sent *s = malloc(sizeof(*s));

    if (!s)
        return reply_error(req, -ENOMEM, NULL);
    snprintf(disposition, sizeof(disposition), "%s; filename=\"strongmap-audit-%.8s.%s\"",
             f == SM_AUDIT_HTML ? "inline" : "attachment", audit_job_id(j),
             sm_audit_format_name(f));
    if (f == SM_AUDIT_HTML) {
        /* the report's own policy (its style and script by hash), and no framing */
        if (sm_audit_html_csp(csp, sizeof(csp) - 32) < 0) {
            free(s);
            return reply_error(req, -ENOMEM, NULL);
        }
        strcat(csp, "; frame-ancestors 'none'");
        h[n++] = (struct api_header){ "Content-Security-Policy", csp };
        h[n++] = (struct api_header){ "X-Frame-Options", "DENY" };
        h[n++] = (struct api_header){ "Referrer-Policy", "no-referrer" };
    }
    *s = (struct sent){ req->api->audits, audit_job_get(j), f };
    req->on_done = report_done;
    req->on_done_arg = s;
    return reply_shared(req, 200, ctypes[f], h, n, body, len, release_report, audit_job_get(j));
}

/* GET: the document, or a report. */
static int get(struct api_request *req, struct audit_job *j, int format)
{
    static const struct api_header vary[] = { { "Vary", "Accept" } };
    struct api_error ae = API_ERROR_INIT;
    const char *body = NULL;
    size_t len = 0;
    unsigned eta = 0;
    char *json = NULL, detail[200];
    int q[REP__COUNT], best = REP_DOC, wanted = -1, r;
    enum audit_report_state st[SM_AUDIT__FORMATS];

    for (unsigned f = 0; f < SM_AUDIT__FORMATS; f++)
        st[f] = audit_job_report(j, (enum sm_audit_format)f, &body, &len, &eta);
    if (format >= 0) {
        wanted = format;
    } else {
        accept_weights(req_header(req, "Accept"), q);
        best = -1;
        for (int i = 0; i < REP__COUNT; i++)
            if (q[i] > 0 && (i == REP_DOC || st[i - 1] == AUDIT_REPORT_READY) &&
                (best < 0 || q[i] > q[best]))
                best = i;
        for (int i = REP__COUNT - 1; best < 0 && i > REP_DOC; i--)
            if (q[i] > 0)
                wanted = i - 1; /* only reports not to be had are acceptable */
        if (best < 0 && wanted < 0)
            return reply_problem(req, API_P_NOT_ACCEPTABLE,
                                 "the audit's document is application/json; its reports "
                                 "application/jsonl, text/csv and text/html");
    }
    if (wanted >= 0) {
        switch (st[wanted]) {
        case AUDIT_REPORT_READY: best = wanted + 1; break;
        case AUDIT_REPORT_RUNNING:
            return reply_problem_retry(req, API_P_AUDIT_NOT_DONE,
                                       "the audit has not ended: its report comes once it has "
                                       "(state in GET without format)",
                                       eta);
        case AUDIT_REPORT_NONE:
            return reply_problem(req, API_P_AUDIT_NOT_DONE,
                                 "the audit ended without a report (its error says why)");
        case AUDIT_REPORT_NOT_BUILT:
            len = (size_t)snprintf(detail, sizeof(detail), "this audit built");
            for (unsigned f = 0; f < SM_AUDIT__FORMATS; f++)
                if (audit_job_formats(j) & (1u << f))
                    len += (size_t)snprintf(detail + len, sizeof(detail) - len, " %s",
                                            sm_audit_format_name((enum sm_audit_format)f));
            snprintf(detail + len, sizeof(detail) - len, " only (\"format\" in its POST)");
            return reply_problem(req, API_P_NOT_ACCEPTABLE, detail);
        }
    }
    if (best == REP_DOC) {
        if ((r = audit_job_json(j, &json)) < 0)
            return reply_fail(req, r, &ae);
        return reply_status(req, 200, vary, 1, json);
    }
    audit_job_report(j, (enum sm_audit_format)(best - 1), &body, &len, &eta);
    return reply_report(req, j, (enum sm_audit_format)(best - 1), body, len);
}

int h_audit(struct api_request *req)
{
    bool get_it = strcmp(req->log_method, "DELETE") != 0; /* GET or HEAD */
    struct api_error ae = API_ERROR_INIT;
    struct audit_job *j;
    char id[AUDIT_ID_LEN + 1], *json = NULL;
    int format, r;

    if (read_id(req, id) < 0 || !(j = audits_find(req->api->audits, id)))
        return reply_problem(req, API_P_NOT_FOUND,
                             "no audit with this id: it never was, it was deleted, or it "
                             "expired ([audit] ttl); none survives a restart");
    if ((r = read_query(req, get_it, &format, &ae)) < 0) {
        r = reply_fail(req, r, &ae);
    } else if (get_it) {
        r = get(req, j, format);
    } else if (audits_delete(req->api->audits, j) == 1) {
        r = reply_status(req, 204, NULL, 0, NULL);
    } else if ((r = audit_job_json(j, &json)) < 0) {
        r = reply_fail(req, r, &ae);
    } else {
        r = reply_status(req, 202, NULL, 0, json);
    }
    audit_job_put(j);
    return r;
}

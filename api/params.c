/*
 * api/params.c - reading requests for the handlers: the body's media type, JSON bodies, the
 * what-if parameters of verdicts and account statuses (profile, mode, backdating_seconds, at),
 * %-decoding of the path and query, account names, and the answer to an engine error.
 *
 * Every function that fails has answered the request already (a 4xx problem whose detail names
 * the field) and returns a negative code.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_internal.h"

/* Media types accepted for a raw (non-JSON) body, compared without parameters. */
static const char *const raw_types[] = {
    "application/x-pem-file",
    "application/pem-certificate-chain",
    "application/pkix-cert",
    "application/x-x509-ca-cert",
    "application/x-x509-user-cert",
    "application/octet-stream",
    "text/plain",
    "application/x-www-form-urlencoded", /* what `curl --data-binary @cert.pem` sends */
};

#define MEDIA_TYPE_MAX 128

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* "Type/Sub ; charset=x" -> "type/sub" in @out; false when empty or too long. */
static bool media_type(const char *ctype, char *out, size_t size)
{
    size_t len = 0;

    while (is_space(*ctype))
        ctype++;
    for (; *ctype && *ctype != ';'; ctype++) {
        if (len + 1 >= size)
            return false;
        char c = *ctype;
        out[len++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    while (len > 0 && is_space(out[len - 1]))
        len--;
    out[len] = '\0';
    return len > 0;
}

enum body_kind body_kind(const char *ctype, const char *body, size_t len)
{
    char mt[MEDIA_TYPE_MAX];
    size_t i = 0, mt_len;

    while (i < len && is_space(body[i]))
        i++;
    if (i < len && body[i] == '{')
        return BODY_JSON;
    if (!ctype || !media_type(ctype, mt, sizeof(mt)))
        return BODY_RAW; /* no type given: the engine sniffs PEM / DER / base64 */
    mt_len = strlen(mt);
    if (strcmp(mt, "application/json") == 0 ||
        (mt_len > 5 && strcmp(mt + mt_len - 5, "+json") == 0))
        return BODY_JSON;
    for (size_t k = 0; k < sizeof(raw_types) / sizeof(raw_types[0]); k++)
        if (strcmp(mt, raw_types[k]) == 0)
            return BODY_RAW;
    return BODY_UNSUPPORTED;
}

int body_check_encoding(struct api_request *req)
{
    const char *cenc = req_header(req, "Content-Encoding");
    char buf[32];

    if (cenc && !(media_type(cenc, buf, sizeof(buf)) && strcmp(buf, "identity") == 0))
        return reply_problem(req, API_P_UNSUPPORTED_MEDIA_TYPE,
                             "Content-Encoding is not supported; send the body uncompressed"),
               -EINVAL;
    return 0;
}

int body_json(struct api_request *req, json_t **ret_root)
{
    json_error_t jerr;
    json_t *root;
    char detail[256];

    if (body_check_encoding(req) < 0)
        return -EINVAL;
    if (req->body_len == 0)
        return reply_problem(req, API_P_EMPTY_BODY, "send a JSON object"), -EINVAL;
    switch (body_kind(req_header(req, "Content-Type"), req->body, req->body_len)) {
    case BODY_UNSUPPORTED:
        return reply_problem(req, API_P_UNSUPPORTED_MEDIA_TYPE, "send application/json"), -EINVAL;
    case BODY_RAW:
    case BODY_JSON: break;
    }
    root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(detail, sizeof(detail), "line %d, column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        return reply_problem(req, API_P_BAD_JSON, detail), -EINVAL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        return reply_problem(req, API_P_BAD_REQUEST, "the body must be a JSON object"), -EINVAL;
    }
    *ret_root = root;
    return 0;
}

/* ---- names and %-decoding ----------------------------------------------------------------- */

/* Valid UTF-8 without control characters? */
static bool printable_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    while (len > 0) {
        size_t n = api_utf8_seq(p, len);
        if (n == 0 || (n == 1 && (p[0] < 0x20 || p[0] == 0x7f)))
            return false;
        p += n;
        len -= n;
    }
    return true;
}

int param_name(struct api_request *req, const char *field, const char *name, size_t len)
{
    char detail[128];

    if (len == 0 || len > SM_MAX_NAME || !printable_utf8(name, len)) {
        snprintf(detail, sizeof(detail),
                 "%s: 1 to %d bytes of UTF-8 without control characters or NUL", field,
                 SM_MAX_NAME);
        return reply_problem(req, API_P_BAD_REQUEST, detail), -EINVAL;
    }
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int pct_decode(const char *s, size_t len, bool plus, char *out, size_t *ret_len)
{
    size_t o = 0;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= len)
                return -EINVAL;
            hi = hexval(s[i + 1]);
            lo = hexval(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        out[o++] = c;
    }
    out[o] = '\0';
    *ret_len = o;
    return 0;
}

/* ---- what-if parameters -------------------------------------------------------------------- */

static int bad(struct api_request *req, const char *detail)
{
    reply_problem(req, API_P_BAD_REQUEST, detail);
    return -EINVAL;
}

void whatif_init(struct api_whatif *wi)
{
    memset(wi, 0, sizeof(*wi));
    wi->w = OPT_WHATIF_NONE;
}

int whatif_profile(struct api_request *req, struct api_whatif *wi, const char *name)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    char detail[sizeof(e.text) + 16];

    if (opt_profile_add(&wi->profiles, name, &e) < 0) {
        snprintf(detail, sizeof(detail), "profile: %s", e.text);
        return bad(req, detail);
    }
    return 0;
}

int whatif_mode(struct api_request *req, struct api_whatif *wi, long long mode)
{
    if (wi->w.mode >= 0)
        return bad(req, "mode: given twice");
    if (mode < 0 || mode > 2)
        return bad(req, "mode: 1 or 2 (Samba: 0, 1 or 2)");
    wi->w.mode = (int)mode;
    return 0;
}

int whatif_backdating(struct api_request *req, struct api_whatif *wi, long long seconds)
{
    char detail[96];

    if (wi->w.backdating_s >= 0)
        return bad(req, "backdating_seconds: given twice");
    if (seconds < 0 || seconds > OPT_BACKDATING_MAX) {
        snprintf(detail, sizeof(detail), "backdating_seconds: an integer from 0 to %lld",
                 OPT_BACKDATING_MAX);
        return bad(req, detail);
    }
    wi->w.backdating_s = seconds;
    return 0;
}

int whatif_at(struct api_request *req, struct api_whatif *wi, const char *text)
{
    if (wi->at)
        return bad(req, "at: given twice");
    if (opt_parse_time(text, &wi->at) < 0)
        return bad(req, "at: an RFC 3339 date-time after 1970, e.g. 2026-06-01T00:00:00Z");
    return 0;
}

int whatif_finish(struct api_request *req, struct api_whatif *wi)
{
    const struct api_runtime *rt = req_runtime(req);
    struct sm_errinfo e = SM_ERRINFO_INIT;
    char detail[sizeof(e.text) + 16];

    if (wi->profiles.n == 0) {
        wi->profiles = rt->fleet;
        if (wi->profiles.n == 0)
            opt_profile_add(&wi->profiles, "windows-2022", NULL);
    }
    if (opt_whatif_apply(&wi->profiles, &wi->w, &e) < 0) {
        snprintf(detail, sizeof(detail), "mode: %s", e.text); /* backdating was checked already */
        return bad(req, detail);
    }
    return 0;
}

/* A decimal integer from a query string (at most 12 digits: beyond any limit here). */
static int query_int(struct api_request *req, const char *key, const char *v, long long *ret)
{
    unsigned long long n;
    char detail[96];

    if (opt_parse_ull(v, 999999999999ULL, &n) < 0) {
        snprintf(detail, sizeof(detail), "%s: not a non-negative integer", key);
        return bad(req, detail);
    }
    *ret = (long long)n;
    return 0;
}

int whatif_query(struct api_request *req, struct api_whatif *wi, char **ret_account)
{
    const char *q = strchr(req->target, '?');
    char *buf;
    int r = 0;

    if (ret_account)
        *ret_account = NULL;
    if (!q || !q[1])
        return 0;
    q++;
    buf = malloc(strlen(q) + 2); /* key and value, each NUL-terminated */
    if (!buf)
        return reply_error(req, -ENOMEM, NULL), -ENOMEM;
    while (*q && r == 0) {
        size_t len = strcspn(q, "&"), klen, vlen;
        const char *eq = memchr(q, '=', len);
        char *key = buf, *val;
        long long n;

        if (len == 0) { /* "a=1&&b=2" */
            q++;
            continue;
        }
        klen = eq ? (size_t)(eq - q) : len;
        if (pct_decode(q, klen, true, key, &klen) < 0) {
            r = bad(req, "query: bad %-escape or NUL");
            break;
        }
        val = key + klen + 1;
        if (pct_decode(eq ? eq + 1 : "", eq ? len - (size_t)(eq + 1 - q) : 0, true, val, &vlen) <
            0) {
            r = bad(req, "query: bad %-escape or NUL");
            break;
        }
        if (strcmp(key, "profile") == 0) {
            r = whatif_profile(req, wi, val);
        } else if (strcmp(key, "mode") == 0) {
            if ((r = query_int(req, key, val, &n)) == 0)
                r = whatif_mode(req, wi, n);
        } else if (strcmp(key, "backdating_seconds") == 0) {
            if ((r = query_int(req, key, val, &n)) == 0)
                r = whatif_backdating(req, wi, n);
        } else if (strcmp(key, "at") == 0) {
            r = whatif_at(req, wi, val);
        } else if (ret_account && strcmp(key, "account") == 0) {
            if (*ret_account)
                r = bad(req, "account: given twice");
            else if ((r = param_name(req, "account", val, vlen)) == 0 &&
                     !(*ret_account = strdup(val))) {
                reply_error(req, -ENOMEM, NULL);
                r = -ENOMEM;
            }
        } else {
            char detail[160];
            snprintf(detail, sizeof(detail),
                     "query: unknown parameter \"%.40s\" (%sprofile, mode, backdating_seconds, at)",
                     key, ret_account ? "account, " : "");
            r = bad(req, detail);
        }
        q += len;
        if (*q == '&')
            q++;
    }
    free(buf);
    if (r < 0 && ret_account) {
        free(*ret_account);
        *ret_account = NULL;
    }
    return r;
}

/* ---- certificates ---------------------------------------------------------------------------- */

int parse_certs(struct api_request *req, const char *input, size_t len,
                const struct sm_parse_opts *po, const char *prefix, struct sm_certs **ret)
{
    struct sm_errinfo e = { .offset = -1, .text = "" };
    struct sm_certs *certs = NULL;
    unsigned max = req->rt->max_certs;
    char detail[sizeof(e.text) + 64];
    size_t n;
    int r;

    r = sm_certs_parse(input, len, po, &certs, &e);
    if (r == SM_E_TOO_MANY) {
        snprintf(detail, sizeof(detail), "%smore than %u certificates in the request", prefix, max);
        return reply_problem(req, API_P_TOO_MANY_CERTIFICATES, detail), r;
    }
    if (r < 0) {
        if (e.text[0] && e.offset >= 0)
            snprintf(detail, sizeof(detail), "%s%s (at byte %ld)", prefix, e.text, e.offset);
        else
            snprintf(detail, sizeof(detail), "%s%s", prefix, e.text[0] ? e.text : sm_strerror(r));
        return reply_error(req, r, detail), r;
    }
    /* Blocks that were not certificates count too: each one was parsed. */
    n = certs->n_certs + certs->n_errors;
    if (n > max) {
        sm_certs_free(certs);
        snprintf(detail, sizeof(detail), "%s%zu certificates in the request; the limit is %u",
                 prefix, n, max);
        return reply_problem(req, API_P_TOO_MANY_CERTIFICATES, detail), SM_E_TOO_MANY;
    }
    *ret = certs;
    return 0;
}

/* ---- engine errors -------------------------------------------------------------------------- */

int reply_engine_error(struct api_request *req, int err, const struct sm_errinfo *e)
{
    const char *text = e && e->text[0] ? e->text : sm_strerror(err);

    /* The reason may name servers or quote their diagnostics: the log gets it, the client
     * a plain statement. */
    switch (problem_from_error(err)) {
    case API_P_DIRECTORY_UNAVAILABLE:
        req_note(req, text);
        return reply_problem(req, API_P_DIRECTORY_UNAVAILABLE,
                             "the directory does not answer; retry later");
    case API_P_DIRECTORY_REFUSED:
        req_note(req, text);
        return reply_problem(req, API_P_DIRECTORY_REFUSED,
                             "the directory refused strongmapd (bind credentials, TLS trust or "
                             "access rights); the daemon's log has the reason");
    default: return reply_error(req, err, text);
    }
}

int reply_no_directory(struct api_request *req)
{
    return reply_problem(req, API_P_NO_DIRECTORY,
                         "no directory configured: start strongmapd with --ldif or --ldap-uri");
}

/*
 * api/params.c - reading requests for the handlers: the body's media type and encoding, JSON
 * bodies, the certificates of POST /v1/inspect and /v1/verdict, the members and query
 * parameters of a verdict and of an issuance plan (POST /v1/preissue, and its certificate
 * request), the name and what-if parameters of GET /v1/accounts/{name}
 * (profile, mode, backdating_seconds, at), the what-if members of other bodies (whatif_*():
 * POST /v1/audits), %-decoding of the path and query.
 *
 * The KDC events of POST /v1/events/explain are read here too (read_events()).
 *
 * A reader answers nothing: it fills a struct api_error (the problem to answer, the field at
 * fault and the reason) and returns a negative code, and the handler answers once with
 * reply_fail(). The checks come in the order a request is read, so that the first problem is
 * the one reported, and before any directory is touched (bad input gets its 4xx even while
 * the directory is down).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <strongmap/events.h>

#include "api_internal.h"
#include "su_base64.h"
#include "su_hex.h"
#include "su_utf8.h"

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
    "application/pkcs10",                /* a certificate request (RFC 5967) */
};

/* Media types accepted for KDC events (XML or Event Viewer's text), compared the same way. */
static const char *const event_types[] = {
    "application/xml",
    "text/xml",
    "text/plain",
    "application/octet-stream",
    "application/x-www-form-urlencoded",
};

#define N_RAW_TYPES   (sizeof(raw_types) / sizeof(raw_types[0]))
#define N_EVENT_TYPES (sizeof(event_types) / sizeof(event_types[0]))

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

enum body_kind {
    BODY_RAW = 0,
    BODY_JSON,
    BODY_UNSUPPORTED,
};

/* JSON (a JSON media type, or a body starting with '{'), raw (one of the @n_raw types of @raw),
 * or an unsupported type. */
static enum body_kind body_kind(const char *ctype, const char *body, size_t len,
                                const char *const *raw, size_t n_raw)
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
    for (size_t k = 0; k < n_raw; k++)
        if (strcmp(mt, raw[k]) == 0)
            return BODY_RAW;
    return BODY_UNSUPPORTED;
}

static int vfail(struct api_error *ae, enum api_problem p, const char *field, const char *fmt,
                 va_list ap) __attribute__((format(printf, 4, 0)));

static int vfail(struct api_error *ae, enum api_problem p, const char *field, const char *fmt,
                 va_list ap)
{
    ae->problem = p;
    ae->info.field = field;
    vsnprintf(ae->info.text, sizeof(ae->info.text), fmt, ap);
    return -EINVAL;
}

int api_fail(struct api_error *ae, enum api_problem p, const char *field, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(ae, p, field, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* The same for 400 bad-request. */
static int bad(struct api_error *ae, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct api_error *ae, const char *field, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(ae, API_P_BAD_REQUEST, field, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int no_directory(struct api_error *ae)
{
    return api_fail(ae, API_P_NO_DIRECTORY, NULL,
                    "no directory configured: start strongmapd with --ldif or --ldap-uri");
}

/* ---- the body ------------------------------------------------------------------------------- */

/*
 * The body's encoding, presence and media type (raw: one of the @n_raw types of @raw): BODY_RAW
 * or BODY_JSON, or a negative code. @empty and @types are the route's advice for an empty body
 * (400 empty-body) and an unsupported type (415).
 */
static int body_read_as(const struct api_request *req, const char *const *raw, size_t n_raw,
                        const char *empty, const char *types, struct api_error *ae)
{
    const char *cenc = req_header(req, "Content-Encoding");
    enum body_kind kind;
    char buf[32];

    if (cenc && !(media_type(cenc, buf, sizeof(buf)) && strcmp(buf, "identity") == 0))
        return api_fail(ae, API_P_UNSUPPORTED_MEDIA_TYPE, NULL,
                        "Content-Encoding is not supported; send the body uncompressed");
    if (req->body_len == 0)
        return api_fail(ae, API_P_EMPTY_BODY, NULL, "%s", empty);
    kind = body_kind(req_header(req, "Content-Type"), req->body, req->body_len, raw, n_raw);
    if (kind == BODY_UNSUPPORTED)
        return api_fail(ae, API_P_UNSUPPORTED_MEDIA_TYPE, NULL, "%s", types);
    return (int)kind;
}

/* The same for a certificate body. */
static int body_read(const struct api_request *req, const char *empty, const char *types,
                     struct api_error *ae)
{
    return body_read_as(req, raw_types, N_RAW_TYPES, empty, types, ae);
}

/* The body parsed as JSON (*@ret: json_decref() it), any value. */
static int body_json(const struct api_request *req, json_t **ret, struct api_error *ae)
{
    json_error_t jerr;
    json_t *root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);

    if (!root)
        return api_fail(ae, API_P_BAD_JSON, NULL, "line %d, column %d: %s", jerr.line, jerr.column,
                        jerr.text);
    *ret = root;
    return 0;
}

/*
 * The certificates of @input (@len bytes) with @po (may be NULL), within the runtime's
 * max_certs: 413 too-many-certificates over it; else the parser's error, its problem the one
 * of its code (400 bad-certificate, 413 body-too-large, 503 when out of memory). @field names
 * the input ("certificate", or NULL for the whole body).
 */
int read_certs(const struct api_request *req, const char *input, size_t len,
               const struct sm_parse_opts *po, const char *field, struct sm_certs **ret,
               struct api_error *ae)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_certs *certs = NULL;
    unsigned max = req->rt->max_certs;
    size_t n;
    int r;

    r = sm_certs_parse(input, len, po, &certs, &e);
    if (r == SM_E_TOO_MANY) {
        api_fail(ae, API_P_TOO_MANY_CERTIFICATES, field, "more than %u certificates in the request",
                 max);
        return r;
    }
    if (r < 0) { /* the problem of the code */
        ae->info.field = field;
        if (e.text[0] && e.offset >= 0)
            snprintf(ae->info.text, sizeof(ae->info.text), "%.400s (at byte %ld)", e.text,
                     e.offset);
        else
            snprintf(ae->info.text, sizeof(ae->info.text), "%s",
                     e.text[0] ? e.text : sm_strerror(r));
        return r;
    }
    /* Blocks that were not certificates count too: each one was parsed. */
    n = certs->n_certs + certs->n_errors;
    if (n > max) {
        sm_certs_free(certs);
        api_fail(ae, API_P_TOO_MANY_CERTIFICATES, field,
                 "%zu certificates in the request; the limit is %u", n, max);
        return SM_E_TOO_MANY;
    }
    *ret = certs;
    return 0;
}

int read_inspect(const struct api_request *req, struct sm_certs **ret, struct api_error *ae)
{
    const char *input = req->body;
    size_t len = req->body_len;
    json_t *root = NULL, *cert;
    int r;

    if ((r = body_read(req, "send a PEM or DER certificate, or {\"certificate\": \"...\"}",
                       "use application/x-pem-file, application/pkix-cert or application/json",
                       ae)) < 0)
        return r;
    if (r == BODY_JSON) {
        if ((r = body_json(req, &root, ae)) < 0)
            return r;
        cert = json_is_object(root) ? json_object_get(root, "certificate") : NULL;
        if (!json_is_string(cert)) {
            json_decref(root);
            return api_fail(ae, API_P_MISSING_FIELD, NULL,
                            "the body must be a JSON object with a \"certificate\" string (PEM or "
                            "base64 DER)");
        }
        input = json_string_value(cert);
        len = json_string_length(cert);
    }
    r = read_certs(req, input, len, NULL, NULL, ret, ae);
    json_decref(root); /* the certificates own what they hold */
    return r;
}

/* ---- POST /v1/events/explain ---------------------------------------------------------------- */

/* The problem of a failed sm_kdc_events_parse() of @len bytes, with the reader's reason @e. */
static int events_fail(int r, size_t len, const char *field, const struct sm_errinfo *e,
                       struct api_error *ae)
{
    switch (r) {
    case SM_E_TOO_BIG: /* the whole input, or one value of it */
        ae->problem = len > SM_MAX_KDC_INPUT ? API_P_BODY_TOO_LARGE : API_P_BAD_EVENTS;
        break;
    case SM_E_TOO_MANY: ae->problem = API_P_TOO_MANY_EVENTS; break;
    case SM_E_UTF8:
    case SM_E_XML:
    case SM_E_XML_DTD: ae->problem = API_P_BAD_EVENTS; break;
    default: break; /* SM_E_EMPTY: empty-body; -ENOMEM: unavailable */
    }
    ae->info.field = field;
    snprintf(ae->info.text, sizeof(ae->info.text), "%s", e->text[0] ? e->text : sm_strerror(r));
    return r;
}

int read_events(const struct api_request *req, struct sm_kdc_events **ret, struct api_error *ae)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_kdc_events *ev = NULL;
    const char *input = req->body, *field = NULL, *key, *q = strchr(req->target, '?');
    size_t len = req->body_len;
    json_t *root = NULL, *val;
    int r;

    if ((r = body_read_as(req, event_types, N_EVENT_TYPES,
                          "send the events (XML or Event Viewer's text), or {\"events\": \"...\"}",
                          "send application/xml, text/plain or application/json", ae)) < 0)
        return r;
    if (q && q[1])
        return bad(ae, "query", "/v1/events/explain takes no query parameters");
    if (r == BODY_JSON) {
        if ((r = body_json(req, &root, ae)) < 0)
            return r;
        if (!json_is_object(root)) {
            r = bad(ae, NULL, "the body must be a JSON object");
            goto out;
        }
        json_object_foreach(root, key, val)
        {
            if (strcmp(key, "events") != 0) {
                r = bad(ae, NULL, "unknown member \"%.40s\" (events)", key);
                goto out;
            }
        }
        val = json_object_get(root, "events");
        if (!json_is_string(val)) {
            r = api_fail(ae, API_P_MISSING_FIELD, NULL,
                         "the body must be a JSON object with an \"events\" string (the XML or "
                         "text Windows exports)");
            goto out;
        }
        input = json_string_value(val);
        len = json_string_length(val);
        field = "events";
    }
    if ((r = sm_kdc_events_parse(input, len, &ev, &e)) < 0) {
        r = events_fail(r, len, field, &e, ae);
        goto out;
    }
    if (ev->n == 0) {
        r = api_fail(ae, API_P_NO_EVENTS, field,
                     "no KDC event 21, 39, 40, 41 or 45 in the input (%zu other event%s)",
                     ev->skipped, ev->skipped == 1 ? "" : "s");
        sm_kdc_events_free(ev);
        goto out;
    }
    *ret = ev;
out:
    json_decref(root); /* the events own copies of what they hold */
    return r;
}

/* ---- names and %-decoding ----------------------------------------------------------------- */

/* Valid UTF-8 without control characters? */
static bool printable_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    while (len > 0) {
        uint32_t cp;
        size_t n = su_utf8_seq(p, len, &cp);
        if (n == 0 || (n == 1 && (p[0] < 0x20 || p[0] == 0x7f)))
            return false;
        p += n;
        len -= n;
    }
    return true;
}

/* An account name (@len bytes) for @field (static): 1..SM_MAX_NAME bytes of printable UTF-8. */
static int check_name(const char *field, const char *name, size_t len, struct api_error *ae)
{
    if (len == 0 || len > SM_MAX_NAME || !printable_utf8(name, len))
        return bad(ae, field, "1 to %d bytes of UTF-8 without control characters or NUL",
                   SM_MAX_NAME);
    return 0;
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
            hi = su_hex_digit(s[i + 1]);
            lo = su_hex_digit(s[i + 2]);
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

static void whatif_init(struct api_whatif *wi)
{
    memset(wi, 0, sizeof(*wi));
    wi->w = OPT_WHATIF_NONE;
}

static int whatif_profile(struct api_whatif *wi, const char *name, struct api_error *ae)
{
    int r = opt_profile_add(&wi->profiles, name, &ae->info); /* field "profile" */

    if (r < 0)
        ae->problem = API_P_BAD_REQUEST;
    return r;
}

static int whatif_mode(struct api_whatif *wi, long long mode, struct api_error *ae)
{
    if (wi->w.mode >= 0)
        return bad(ae, "mode", "given twice");
    if (mode < 0 || mode > 2)
        return bad(ae, "mode", "1 or 2 (Samba: 0, 1 or 2)");
    wi->w.mode = (int)mode;
    return 0;
}

static int whatif_backdating(struct api_whatif *wi, long long seconds, struct api_error *ae)
{
    if (wi->w.backdating_s >= 0)
        return bad(ae, "backdating_seconds", "given twice");
    if (seconds < 0 || seconds > OPT_BACKDATING_MAX)
        return bad(ae, "backdating_seconds", "an integer from 0 to %lld", OPT_BACKDATING_MAX);
    wi->w.backdating_s = seconds;
    return 0;
}

static int whatif_at(struct api_whatif *wi, const char *text, struct api_error *ae)
{
    if (wi->at)
        return bad(ae, "at", "given twice");
    if (opt_parse_time(text, &wi->at) < 0)
        return bad(ae, "at", "an RFC 3339 date-time after 1970, e.g. 2026-06-01T00:00:00Z");
    return 0;
}

/* Default profiles (the fleet), then the overrides, checked against every profile. */
static int whatif_finish(const struct api_request *req, struct api_whatif *wi, struct api_error *ae)
{
    const struct api_runtime *rt = req_runtime(req);
    int r;

    if (wi->profiles.n == 0) {
        wi->profiles = rt->fleet;
        if (wi->profiles.n == 0)
            opt_profile_add(&wi->profiles, "windows-2022", NULL);
    }
    /* field "mode": backdating was checked already */
    if ((r = opt_whatif_apply(&wi->profiles, &wi->w, &ae->info)) < 0)
        ae->problem = API_P_BAD_REQUEST;
    return r;
}

/* A decimal integer from a query string (at most 12 digits: beyond any limit here). */
static int query_int(const char *field, const char *v, long long *ret, struct api_error *ae)
{
    unsigned long long n;

    if (opt_parse_ull(v, 999999999999ULL, &n) < 0)
        return bad(ae, field, "not a non-negative integer");
    *ret = (long long)n;
    return 0;
}

/*
 * The query string's profile (repeatable), mode, backdating_seconds and at; with @ret_account
 * also "account" (checked as check_name() does, a malloc'd copy for the caller, else NULL).
 */
static int whatif_query(const struct api_request *req, struct api_whatif *wi, char **ret_account,
                        struct api_error *ae)
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
        return -ENOMEM;
    while (*q && r == 0) {
        size_t len = strcspn(q, "&"), klen, vlen;
        const char *eq = memchr(q, '=', len);
        char *key = buf, *val;
        long long n = 0;

        if (len == 0) { /* "a=1&&b=2" */
            q++;
            continue;
        }
        klen = eq ? (size_t)(eq - q) : len;
        if (pct_decode(q, klen, true, key, &klen) < 0) {
            r = bad(ae, "query", "bad %%-escape or NUL");
            break;
        }
        val = key + klen + 1;
        if (pct_decode(eq ? eq + 1 : "", eq ? len - (size_t)(eq + 1 - q) : 0, true, val, &vlen) <
            0) {
            r = bad(ae, "query", "bad %%-escape or NUL");
            break;
        }
        if (strcmp(key, "profile") == 0) {
            r = whatif_profile(wi, val, ae);
        } else if (strcmp(key, "mode") == 0) {
            if ((r = query_int("mode", val, &n, ae)) == 0)
                r = whatif_mode(wi, n, ae);
        } else if (strcmp(key, "backdating_seconds") == 0) {
            if ((r = query_int("backdating_seconds", val, &n, ae)) == 0)
                r = whatif_backdating(wi, n, ae);
        } else if (strcmp(key, "at") == 0) {
            r = whatif_at(wi, val, ae);
        } else if (ret_account && strcmp(key, "account") == 0) {
            if (*ret_account)
                r = bad(ae, "account", "given twice");
            else if ((r = check_name("account", val, vlen, ae)) == 0 &&
                     !(*ret_account = strdup(val)))
                r = -ENOMEM;
        } else {
            r = bad(ae, "query",
                    "unknown parameter \"%.40s\" (%sprofile, mode, backdating_seconds, at)", key,
                    ret_account ? "account, " : "");
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

void whatif_start(struct api_whatif *wi)
{
    whatif_init(wi);
}

int whatif_member(struct api_whatif *wi, const char *key, json_t *val, struct api_error *ae)
{
    size_t i;
    json_t *item;

    if (strcmp(key, "profile") == 0) {
        if (json_is_string(val))
            return whatif_profile(wi, json_string_value(val), ae);
        if (!json_is_array(val) || json_array_size(val) == 0)
            return bad(ae, "profile", "a profile name or a non-empty array of them");
        json_array_foreach(val, i, item)
        {
            if (!json_is_string(item))
                return bad(ae, "profile", "a profile name or a non-empty array of them");
            if (whatif_profile(wi, json_string_value(item), ae) < 0)
                return -EINVAL;
        }
        return 0;
    }
    if (strcmp(key, "mode") == 0) {
        if (!json_is_integer(val))
            return bad(ae, "mode", "1 or 2 (Samba: 0, 1 or 2)");
        return whatif_mode(wi, json_integer_value(val), ae);
    }
    if (strcmp(key, "backdating_seconds") == 0) {
        if (!json_is_integer(val))
            return bad(ae, "backdating_seconds", "an integer number of seconds, 0 or more");
        return whatif_backdating(wi, json_integer_value(val), ae);
    }
    if (strcmp(key, "at") == 0) {
        if (!json_is_string(val))
            return bad(ae, "at", "an RFC 3339 date-time string, e.g. 2026-06-01T00:00:00Z");
        return whatif_at(wi, json_string_value(val), ae);
    }
    return 1;
}

int whatif_end(const struct api_request *req, struct api_whatif *wi, struct api_error *ae)
{
    return whatif_finish(req, wi, ae);
}

/* ---- POST /v1/verdict -------------------------------------------------------------------------
 */

/* One member of a JSON body. The certificate's text is borrowed from the document. */
static int verdict_member(struct verdict_request *vr, const char *key, json_t *val,
                          const char **ret_cert, size_t *ret_cert_len, struct api_error *ae)
{
    if (strcmp(key, "certificate") == 0) {
        if (json_is_null(val))
            return 0;
        if (!json_is_string(val))
            return bad(ae, "certificate", "a string (PEM or base64 DER)");
        *ret_cert = json_string_value(val);
        *ret_cert_len = json_string_length(val);
        return 0;
    }
    if (strcmp(key, "account") == 0) {
        if (json_is_null(val))
            return 0;
        if (!json_is_string(val))
            return bad(ae, "account",
                       "a string (sAMAccountName, UPN, DOMAIN\\name, SID, DN or DNS host name)");
        vr->account = json_string_value(val);
        return check_name("account", vr->account, json_string_length(val), ae);
    }
    int r = whatif_member(&vr->wi, key, val, ae);

    if (r <= 0)
        return r;
    return bad(ae, NULL,
               "unknown member \"%.40s\" (certificate, account, profile, mode, "
               "backdating_seconds, at)",
               key);
}

int read_verdict(const struct api_request *req, struct verdict_request *vr, struct api_error *ae)
{
    const char *q = strchr(req->target, '?'), *cert = NULL, *key;
    size_t cert_len = 0;
    json_t *val;
    int r;

    memset(vr, 0, sizeof(*vr));
    whatif_init(&vr->wi);
    if ((r = body_read(req, "send a JSON object, or a certificate (PEM or DER)",
                       "send application/json, or a certificate as application/x-pem-file or "
                       "application/pkix-cert",
                       ae)) < 0)
        return r;
    if (r == BODY_RAW) { /* a certificate body: options from the query string */
        if ((r = whatif_query(req, &vr->wi, &vr->query_account, ae)) < 0)
            return r;
        cert = req->body;
        cert_len = req->body_len;
        vr->account = vr->query_account;
    } else { /* a JSON body: options from its members; a query string would be a second set */
        if (q && q[1])
            return bad(ae, "query",
                       "parameters go with a certificate body; with a JSON body, give them as "
                       "members");
        if ((r = body_json(req, &vr->root, ae)) < 0)
            return r;
        if (!json_is_object(vr->root))
            return bad(ae, NULL, "the body must be a JSON object");
        json_object_foreach(vr->root, key, val)
        {
            if ((r = verdict_member(vr, key, val, &cert, &cert_len, ae)) < 0)
                return r;
        }
    }
    if (!cert && !vr->account)
        return api_fail(ae, API_P_MISSING_FIELD, NULL,
                        "give \"certificate\" (PEM or base64 DER), \"account\", or both");
    if ((r = whatif_finish(req, &vr->wi, ae)) < 0)
        return r;
    if (cert) {
        struct sm_parse_opts po = { .now = vr->wi.at };

        if (cert_len == 0)
            return api_fail(ae, API_P_BAD_CERTIFICATE, "certificate", "empty");
        return read_certs(req, cert, cert_len, &po, "certificate", &vr->certs, ae);
    }
    return 0;
}

void verdict_request_free(struct verdict_request *vr)
{
    sm_certs_free(vr->certs);
    json_decref(vr->root);
    free(vr->query_account);
    memset(vr, 0, sizeof(*vr));
}

/* ---- POST /v1/preissue ------------------------------------------------------------------------
 */

int read_csr(const char *input, size_t len, const char *field, struct sm_csr **ret,
             struct api_error *ae)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_csr_parse(input, len, ret, &e);

    if (r >= 0)
        return 0;
    switch (r) {
    case SM_E_CSR_SIGNATURE: ae->problem = API_P_CSR_SIGNATURE; break;
    case SM_E_TOO_BIG: ae->problem = API_P_BODY_TOO_LARGE; break;
    case -ENOMEM: break;                         /* 503 */
    default: ae->problem = API_P_BAD_CSR; break; /* SM_E_EMPTY, _FORMAT, _CSR, _TOO_MANY */
    }
    ae->info.field = field;
    if (e.text[0] && e.offset >= 0)
        snprintf(ae->info.text, sizeof(ae->info.text), "%.400s (at byte %ld)", e.text, e.offset);
    else
        snprintf(ae->info.text, sizeof(ae->info.text), "%s", e.text[0] ? e.text : sm_strerror(r));
    return r;
}

/* One member of a JSON body. The request's and the issuer's texts are borrowed from the
 * document. */
#define PLANNED_VALUE_MAX 2048 /* bytes of one planned SAN value */

/* The SAN keys of planned facts (the inspect document's "san" keys that a request carries). */
static const struct {
    const char *key;
    enum sm_san_type type;
} planned_san[] = {
    { "upn", SM_SAN_UPN },
    { "dns", SM_SAN_DNS },
    { "email", SM_SAN_EMAIL },
    { "uri", SM_SAN_URI },
};

/* Planned facts' "san": {"upn": [...], "dns": [...], "email": [...], "uri": [...]}. */
static int planned_san_read(json_t *san, struct sm_san **ret, size_t *n, struct api_error *ae)
{
    const char *key;
    json_t *list, *v;
    size_t i, total = 0;

    if (!json_is_object(san))
        return bad(ae, "san",
                   "an object of arrays, as the inspect document's: upn, dns, email, "
                   "uri");
    json_object_foreach(san, key, list)
    {
        size_t k = 0;
        while (k < (sizeof(planned_san) / sizeof(planned_san[0])) &&
               strcmp(key, planned_san[k].key) != 0)
            k++;
        if (k == (sizeof(planned_san) / sizeof(planned_san[0])))
            return bad(ae, "san", "\"%.40s\": only upn, dns, email and uri entries are planned",
                       key);
        if (!json_is_array(list))
            return bad(ae, "san", "\"%s\": an array of strings", key);
        total += json_array_size(list);
    }
    if (total > SM_MAX_SAN)
        return bad(ae, "san", "more than %d entries", SM_MAX_SAN);
    if (!(*ret = calloc(total ? total : 1, sizeof(**ret))))
        return -ENOMEM;
    *n = 0;
    json_object_foreach(san, key, list)
    {
        size_t k = 0;
        while (strcmp(key, planned_san[k].key) != 0)
            k++;
        json_array_foreach(list, i, v)
        {
            if (!json_is_string(v) || json_string_length(v) == 0 ||
                strlen(json_string_value(v)) != json_string_length(v) ||
                json_string_length(v) > PLANNED_VALUE_MAX)
                return bad(ae, "san",
                           "\"%s\"[%zu]: a non-empty string without NUL, at most %d "
                           "bytes",
                           key, i, PLANNED_VALUE_MAX);
            (*ret)[(*n)++] =
                (struct sm_san){ .type = planned_san[k].type, .value = json_string_value(v) };
        }
    }
    return 0;
}

/* Planned facts' "extensions": [{"oid", "critical", "value": base64 DER}]. */
static int planned_exts_read(json_t *exts, struct sm_csr_planned_ext **ret, size_t *n,
                             struct api_error *ae)
{
    json_t *x, *oid, *crit, *val;
    size_t i;

    if (!json_is_array(exts))
        return bad(ae, "extensions", "an array of {\"oid\", \"critical\", \"value\"}");
    if (json_array_size(exts) > SM_MAX_EXTENSIONS)
        return bad(ae, "extensions", "more than %d extensions", SM_MAX_EXTENSIONS);
    if (!(*ret = calloc(json_array_size(exts) + 1, sizeof(**ret))))
        return -ENOMEM;
    *n = 0;
    json_array_foreach(exts, i, x)
    {
        const char *k;
        json_t *m;
        if (!json_is_object(x))
            return bad(ae, "extensions", "[%zu]: an object", i);
        json_object_foreach(x, k, m)
        {
            if (strcmp(k, "oid") != 0 && strcmp(k, "critical") != 0 && strcmp(k, "value") != 0)
                return bad(ae, "extensions",
                           "[%zu]: unknown member \"%.40s\" (oid, critical, "
                           "value)",
                           i, k);
        }
        oid = json_object_get(x, "oid");
        crit = json_object_get(x, "critical");
        val = json_object_get(x, "value");
        if (!json_is_string(oid))
            return bad(ae, "extensions", "[%zu]: \"oid\", the dotted OID", i);
        if (crit && !json_is_boolean(crit))
            return bad(ae, "extensions", "[%zu]: \"critical\", true or false", i);
        if (!json_is_string(val) || json_string_length(val) == 0)
            return bad(ae, "extensions", "[%zu]: \"value\", the extension's DER in base64", i);
        size_t len = json_string_length(val);
        uint8_t *der = malloc(len / 4 * 3 + 3);
        long dlen;
        if (!der)
            return -ENOMEM;
        (*ret)[(*n)++] = (struct sm_csr_planned_ext){ .oid = json_string_value(oid),
                                                      .critical = crit && json_is_true(crit),
                                                      .value = der };
        if ((dlen = su_base64_decode(json_string_value(val), len, 0, der)) <= 0)
            return bad(ae, "extensions", "[%zu]: \"value\" is not base64", i);
        (*ret)[*n - 1].value_len = (size_t)dlen;
    }
    return 0;
}

/* Planned facts ("subject", "san", "extensions" in place of "csr") into pr->csr. */
static int planned_read(struct preissue_request *pr, json_t *subject, json_t *san, json_t *exts,
                        struct api_error *ae)
{
    struct sm_csr_planned in = { 0 };
    struct sm_san *entries = NULL;
    struct sm_csr_planned_ext *x = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = 0;

    if (subject && !json_is_null(subject)) {
        if (!json_is_string(subject) ||
            strlen(json_string_value(subject)) != json_string_length(subject))
            return bad(ae, "subject",
                       "a string, RFC 4514: \"CN=alice,OU=Users,DC=example,DC=com\"");
        in.subject = json_string_value(subject);
    }
    if (san && (r = planned_san_read(san, &entries, &in.n_san, ae)) < 0)
        goto out;
    in.san = entries;
    if (exts && (r = planned_exts_read(exts, &x, &in.n_exts, ae)) < 0)
        goto out;
    in.exts = x;
    if ((r = sm_csr_planned(&in, &pr->csr, &e)) < 0) {
        if (r == -ENOMEM)
            goto out;
        r = bad(ae, e.field, "%s", e.text[0] ? e.text : sm_strerror(r));
    }
out:
    for (size_t i = 0; x && i < in.n_exts; i++)
        free((void *)(uintptr_t)x[i].value);
    free(x);
    free(entries);
    return r;
}

static int preissue_member(struct preissue_request *pr, const char *key, json_t *val,
                           json_t **ret_csr, json_t **ret_issuer, struct api_error *ae)
{
    if (strcmp(key, "csr") == 0) {
        if (!json_is_string(val))
            return bad(ae, "csr", "a string (PEM, or base64 DER)");
        *ret_csr = val;
        return 0;
    }
    if (strcmp(key, "issuer") == 0) {
        if (json_is_null(val))
            return 0;
        if (!json_is_string(val))
            return bad(ae, "issuer", "the issuing CA's certificate (PEM or base64 DER)");
        *ret_issuer = val;
        return 0;
    }
    if (strcmp(key, "validity_days") == 0) {
        if (!json_is_integer(val) || json_integer_value(val) < 1 || json_integer_value(val) > 36525)
            return bad(ae, "validity_days", "an integer number of days, 1 to 36525");
        pr->validity_days = (long)json_integer_value(val);
        return 0;
    }
    if (strcmp(key, "subject") == 0 || strcmp(key, "san") == 0 || strcmp(key, "extensions") == 0)
        return 0; /* planned facts: read whole by planned_read() */
    if (strcmp(key, "account") == 0 || strcmp(key, "profile") == 0 || strcmp(key, "mode") == 0 ||
        strcmp(key, "backdating_seconds") == 0 || strcmp(key, "at") == 0) {
        /* as for a verdict */
        struct verdict_request vr = { .wi = pr->wi };
        const char *cert = NULL;
        size_t cert_len = 0;
        int r = verdict_member(&vr, key, val, &cert, &cert_len, ae);

        pr->wi = vr.wi;
        if (vr.account)
            pr->account = vr.account;
        return r;
    }
    return bad(ae, NULL,
               "unknown member \"%.40s\" (csr, account, profile, mode, backdating_seconds, at, "
               "validity_days, issuer)",
               key);
}

int read_preissue(const struct api_request *req, struct preissue_request *pr, struct api_error *ae)
{
    const char *q = strchr(req->target, '?'), *key;
    json_t *val, *csr = NULL, *issuer = NULL, *subject = NULL, *san = NULL, *exts = NULL;
    int r;

    memset(pr, 0, sizeof(*pr));
    whatif_init(&pr->wi);
    if ((r = body_read(req, "send a certificate request (PEM or DER), or {\"csr\": \"...\", ...}",
                       "send a certificate request as application/pkcs10 or "
                       "application/x-pem-file, or application/json",
                       ae)) < 0)
        return r;
    if (r == BODY_RAW) { /* a request body: options from the query string */
        if ((r = whatif_query(req, &pr->wi, &pr->query_account, ae)) < 0)
            return r;
        pr->account = pr->query_account;
    } else {
        if (q && q[1])
            return bad(ae, "query",
                       "parameters go with a request body; with a JSON body, give them as "
                       "members");
        if ((r = body_json(req, &pr->root, ae)) < 0)
            return r;
        if (!json_is_object(pr->root))
            return bad(ae, NULL, "the body must be a JSON object");
        json_object_foreach(pr->root, key, val)
        {
            if ((r = preissue_member(pr, key, val, &csr, &issuer, ae)) < 0)
                return r;
        }
        subject = json_object_get(pr->root, "subject");
        san = json_object_get(pr->root, "san");
        exts = json_object_get(pr->root, "extensions");
        if (csr && (subject || san || exts))
            return bad(ae, "csr",
                       "give the request as \"csr\" or as planned facts (\"subject\", \"san\", "
                       "\"extensions\"), not both");
        if (!csr && !subject && !san && !exts)
            return api_fail(ae, API_P_MISSING_FIELD, "csr",
                            "give the certificate request (PEM or base64 DER), or planned facts: "
                            "\"subject\", \"san\", \"extensions\"");
    }
    if (!pr->account)
        return api_fail(ae, API_P_MISSING_FIELD, "account",
                        "give the account the certificate is for (sAMAccountName, UPN, "
                        "DOMAIN\\name, SID, DN or DNS host name)");
    if ((r = whatif_finish(req, &pr->wi, ae)) < 0)
        return r;
    if (issuer) {
        struct sm_parse_opts po = { .now = pr->wi.at };

        if ((r = read_certs(req, json_string_value(issuer), json_string_length(issuer), &po,
                            "issuer", &pr->issuer, ae)) < 0)
            return r;
        if (pr->issuer->n_certs == 0)
            return api_fail(ae, API_P_BAD_CERTIFICATE, "issuer", "no certificate");
    }
    if (csr)
        return read_csr(json_string_value(csr), json_string_length(csr), "csr", &pr->csr, ae);
    if (subject || san || exts)
        return planned_read(pr, subject, san, exts, ae);
    return read_csr(req->body, req->body_len, NULL, &pr->csr, ae);
}

int read_hook_query(const struct api_request *req, struct api_whatif *wi, char **ret_account,
                    struct api_error *ae)
{
    int r;

    whatif_init(wi);
    if ((r = whatif_query(req, wi, ret_account, ae)) < 0)
        return r;
    return whatif_finish(req, wi, ae);
}

void preissue_request_free(struct preissue_request *pr)
{
    sm_csr_free(pr->csr);
    sm_certs_free(pr->issuer);
    json_decref(pr->root);
    free(pr->query_account);
    memset(pr, 0, sizeof(*pr));
}

/* ---- GET /v1/accounts/{name} ------------------------------------------------------------------
 */

#define ACCOUNTS_PREFIX "/v1/accounts/"

int read_account(const struct api_request *req, char **ret_path, const char **ret_name,
                 struct api_whatif *wi, struct api_error *ae)
{
    size_t path_len = strcspn(req->target, "?"), len;
    char *path = malloc(path_len + 1);
    int r;

    whatif_init(wi);
    if (!path)
        return -ENOMEM;
    if (pct_decode(req->target, path_len, false, path, &len) < 0) {
        r = bad(ae, "account", "bad %%-escape or NUL in the path");
        goto out_fail;
    }
    if (strncmp(path, ACCOUNTS_PREFIX, strlen(ACCOUNTS_PREFIX)) != 0) {
        ae->problem = API_P_NOT_FOUND; /* e.g. an absolute-form target: no detail */
        r = -ENOENT;
        goto out_fail;
    }
    if ((r = check_name("account", path + strlen(ACCOUNTS_PREFIX), len - strlen(ACCOUNTS_PREFIX),
                        ae)) < 0 ||
        (r = whatif_query(req, wi, NULL, ae)) < 0 || (r = whatif_finish(req, wi, ae)) < 0)
        goto out_fail;
    *ret_path = path;
    *ret_name = path + strlen(ACCOUNTS_PREFIX);
    return 0;

out_fail:
    free(path);
    return r;
}

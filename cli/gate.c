/*
 * cli/gate.c - `strongmap gate`'s verdict: asked of a running strongmapd, and judged from the
 * verdict document (gate.h).
 *
 * The CLI links no JSON parser (only api/ links Jansson), so the few members the gate reads are
 * found by a small reader of JSON text: it walks the whole document (strings, nesting to
 * DEPTH_MAX, scalars), so a truncated or malformed answer is refused rather than half read,
 * and finds members by their exact names. It fails closed: anything but a well-formed object
 * whose "outcome" is "allow" is not an allow.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gate.h"
#include "su_utf8.h"

#define DEPTH_MAX 32  /* nesting of the verdict document: 5 */
#define MSG_VALUE 300 /* bytes of one string value quoted in a message */

/* ---- reading JSON text ------------------------------------------------------------------ */

/* A value in the document: [p, end). */
struct span {
    const char *p, *end;
};

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

/* @p at '"': past the closing quote, or NULL. */
static const char *skip_string(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '"')
            return p + 1;
        if ((unsigned char)*p < 0x20)
            return NULL;
        if (*p == '\\' && ++p == end)
            return NULL;
    }
    return NULL;
}

/* Past the value at @p (after blanks), or NULL when there is none or it is malformed. */
static const char *skip_value(const char *p, const char *end, int depth)
{
    p = skip_ws(p, end);
    if (p == end || depth > DEPTH_MAX)
        return NULL;
    if (*p == '"')
        return skip_string(p, end);
    if (*p == '{' || *p == '[') {
        char close = *p == '{' ? '}' : ']';
        p = skip_ws(p + 1, end);
        if (p < end && *p == close)
            return p + 1;
        for (;;) {
            if (close == '}') {
                if (p == end || *p != '"' || !(p = skip_string(p, end)))
                    return NULL;
                p = skip_ws(p, end);
                if (p == end || *p++ != ':')
                    return NULL;
            }
            if (!(p = skip_value(p, end, depth + 1)))
                return NULL;
            p = skip_ws(p, end);
            if (p < end && *p == ',') {
                p = skip_ws(p + 1, end);
                continue;
            }
            return p < end && *p == close ? p + 1 : NULL;
        }
    }
    const char *q = p; /* a number, true, false or null */
    while (q < end && (strchr("+-.eE", *q) || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z')))
        q++;
    return q > p ? q : NULL;
}

/* Member @key of the object @obj (well formed: skip_value() passed it) into *@ret. */
static bool member(struct span obj, const char *key, struct span *ret)
{
    const char *p = skip_ws(obj.p, obj.end);
    size_t klen = strlen(key);

    if (p == obj.end || *p != '{')
        return false;
    p = skip_ws(p + 1, obj.end);
    while (p < obj.end && *p == '"') {
        const char *kend = skip_string(p, obj.end);
        bool match = (size_t)(kend - p) == klen + 2 && memcmp(p + 1, key, klen) == 0;
        const char *v = skip_ws(skip_ws(kend, obj.end) + 1, obj.end); /* past ':' */
        const char *vend = skip_value(v, obj.end, 0);
        if (match) {
            *ret = (struct span){ v, vend };
            return true;
        }
        p = skip_ws(vend, obj.end);
        if (p < obj.end && *p == ',')
            p = skip_ws(p + 1, obj.end);
    }
    return false;
}

/* Element @i of the array @arr into *@ret. */
static bool element(struct span arr, size_t i, struct span *ret)
{
    const char *p = skip_ws(arr.p, arr.end);

    if (p == arr.end || *p != '[')
        return false;
    p = skip_ws(p + 1, arr.end);
    for (size_t k = 0; p < arr.end && *p != ']'; k++) {
        const char *vend = skip_value(p, arr.end, 0);
        if (k == i) {
            *ret = (struct span){ p, vend };
            return true;
        }
        p = skip_ws(vend, arr.end);
        if (p < arr.end && *p == ',')
            p = skip_ws(p + 1, arr.end);
    }
    return false;
}

static bool is_string(struct span v)
{
    return v.p < v.end && *v.p == '"';
}

/* Four hex digits at @p into *@ret. */
static bool hex4(const char *p, const char *end, uint32_t *ret)
{
    uint32_t v = 0;

    if (end - p < 4)
        return false;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *ret = v;
    return true;
}

/*
 * The string value @v decoded into @b, at most about @max bytes ("..." when cut); nothing when
 * @v is not a string. \u escapes become UTF-8, a lone surrogate U+FFFD; the caller prints @b
 * through text_escaped(), which shows controls as \xNN.
 */
static void put_string(struct su_buf *b, struct span v, size_t max)
{
    const char *p, *end = v.end - 1; /* the closing quote */
    size_t start = b->len;
    char u8[4];

    if (!is_string(v))
        return;
    for (p = v.p + 1; p < end; p++) {
        if (b->len - start >= max) {
            su_buf_puts(b, "...");
            return;
        }
        if (*p != '\\') {
            su_buf_putc(b, *p);
            continue;
        }
        uint32_t cp, lo;
        switch (*++p) {
        case 'b': su_buf_putc(b, '\b'); break;
        case 'f': su_buf_putc(b, '\f'); break;
        case 'n': su_buf_putc(b, '\n'); break;
        case 'r': su_buf_putc(b, '\r'); break;
        case 't': su_buf_putc(b, '\t'); break;
        case 'u':
            if (!hex4(p + 1, end, &cp))
                return;
            p += 4;
            if (cp >= 0xd800 && cp <= 0xdbff && end - p > 6 && p[1] == '\\' && p[2] == 'u' &&
                hex4(p + 3, end, &lo) && lo >= 0xdc00 && lo <= 0xdfff) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
            su_buf_put(b, u8, su_utf8_encode(cp, u8)); /* a lone surrogate: U+FFFD */
            break;
        default: su_buf_putc(b, *p); break; /* \" \\ \/ */
        }
    }
}

/* ---- the verdict ------------------------------------------------------------------------ */

/* "windows-2016, windows-2022": the profiles of the document's "profiles". */
static void put_profiles(struct su_buf *b, struct span doc)
{
    struct span arr, el, name;

    if (!member(doc, "profiles", &arr))
        return;
    for (size_t i = 0; i < SM_MAX_PROFILES && element(arr, i, &el); i++) {
        if (!member(el, "profile", &name))
            continue;
        if (i > 0)
            su_buf_puts(b, ", ");
        put_string(b, name, MSG_VALUE);
    }
}

enum gate_result gate_judge(const char *doc, size_t len, struct su_buf *msg)
{
    struct span d = { doc, doc + len }, outcome, v, w;
    const char *end = doc ? skip_value(doc, d.end, 0) : NULL;

    if (!end || skip_ws(end, d.end) != d.end || *skip_ws(doc, d.end) != '{' ||
        !member(d, "outcome", &outcome) || !is_string(outcome)) {
        su_buf_puts(msg, "the answer is not a verdict document");
        return GATE_UNAVAILABLE;
    }
    bool allow = (size_t)(outcome.end - outcome.p) == 7 && memcmp(outcome.p, "\"allow\"", 7) == 0;
    bool deny = (size_t)(outcome.end - outcome.p) == 6 && memcmp(outcome.p, "\"deny\"", 6) == 0;
    if (!allow && !deny) {
        su_buf_puts(msg, "the verdict's outcome is neither allow nor deny");
        return GATE_UNAVAILABLE;
    }
    su_buf_puts(msg, allow ? "allow on " : "deny on ");
    if (allow)
        put_profiles(msg, d);
    else if (member(d, "profile", &v))
        put_string(msg, v, MSG_VALUE); /* the first profile that denies */
    if (member(d, "certificate", &v) && member(v, "subject", &w)) {
        su_buf_puts(msg, ": ");
        put_string(msg, w, MSG_VALUE);
    }
    if (allow)
        return GATE_ALLOW;
    if (member(d, "kdc_error", &v) && member(v, "code", &w)) {
        su_buf_printf(msg, ": KDC error %.*s", (int)(w.end - w.p), w.p);
        if (member(v, "name", &w)) {
            su_buf_putc(msg, ' ');
            put_string(msg, w, MSG_VALUE);
        }
    }
    if (member(d, "event", &v) && member(v, "id", &w))
        su_buf_printf(msg, ", KDC event %.*s", (int)(w.end - w.p), w.p);
    if (member(d, "reasons", &v) && element(v, 0, &w) && member(w, "message", &v)) {
        su_buf_puts(msg, ": ");
        put_string(msg, v, MSG_VALUE);
    }
    return GATE_DENY;
}

/* ---- asking strongmapd ------------------------------------------------------------------ */

/* "key=value" into @b, NUL-terminated, its offset into *@off. */
static void put_param(struct su_buf *b, const char *key, const char *value, size_t *off)
{
    *off = b->len;
    su_buf_printf(b, "%s=%s", key, value);
    su_buf_putc(b, '\0');
}

/* The problem's detail (else its title) of an RFC 9457 answer, into @msg. */
static void put_problem(struct su_buf *msg, const struct daemon_reply *r)
{
    struct span d = { r->body, r->body + r->len }, v;
    const char *end = r->body ? skip_value(r->body, d.end, 0) : NULL;

    su_buf_printf(msg, "strongmapd answered %ld", r->status);
    if (!end || skip_ws(end, d.end) != d.end)
        return;
    if ((member(d, "detail", &v) && is_string(v)) || (member(d, "title", &v) && is_string(v))) {
        su_buf_puts(msg, ": ");
        put_string(msg, v, MSG_VALUE);
    }
}

enum gate_result gate_ask(const struct daemon_target *t, const struct gate_query *q,
                          const char *cert, size_t len, struct su_buf *msg)
{
    struct su_buf params;
    size_t off[DAEMON_MAX_QUERY], n = 0;
    const char *query[DAEMON_MAX_QUERY];
    struct daemon_reply reply = { 0 };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    enum gate_result res;
    int r;

    su_buf_init(&params, NULL, NULL);
    for (size_t i = 0; i < q->n_profiles && i < SM_MAX_PROFILES; i++)
        put_param(&params, "profile", q->profiles[i], &off[n++]);
    if (q->account)
        put_param(&params, "account", q->account, &off[n++]);
    if (q->mode)
        put_param(&params, "mode", q->mode, &off[n++]);
    if (q->backdating)
        put_param(&params, "backdating_seconds", q->backdating, &off[n++]);
    if (q->at)
        put_param(&params, "at", q->at, &off[n++]);
    if (params.oom) {
        su_buf_release(&params);
        su_buf_puts(msg, "out of memory");
        return GATE_UNAVAILABLE;
    }
    for (size_t i = 0; i < n; i++)
        query[i] = params.p + off[i];
    /* DER starts with a SEQUENCE; anything else is sent as text (PEM, or base64 DER) */
    r = daemon_post(t, "/v1/verdict", query, n,
                    len > 0 && (unsigned char)cert[0] == 0x30 ? "application/pkix-cert"
                                                              : "application/x-pem-file",
                    cert, len, GATE_MAX_REPLY, &reply, &e);
    su_buf_release(&params);
    if (r < 0) {
        if (e.field)
            su_buf_printf(msg, "%s: ", e.field);
        su_buf_puts(msg, e.text[0] ? e.text : "no answer from strongmapd");
        return r == -EINVAL ? GATE_BAD_INPUT : GATE_UNAVAILABLE;
    }
    if (reply.status == 200) {
        res = gate_judge(reply.body, reply.len, msg);
    } else {
        put_problem(msg, &reply);
        /* the request refused for what it holds (400, 413, 415, 422 ...), not for who asked
           (401, 403), how often (429) or the server's state (5xx, 503 directory down) */
        res = reply.status >= 400 && reply.status < 500 && reply.status != 401 &&
                      reply.status != 403 && reply.status != 429
                  ? GATE_BAD_INPUT
                  : GATE_UNAVAILABLE;
    }
    daemon_reply_release(&reply);
    return res;
}

/*
 * support/su_jsonw.c - the streaming JSON writer (see su_jsonw.h): output identical to
 * Jansson 2.14's json_dumps() with JSON_COMPACT or JSON_INDENT(2), at a fraction of the cost (no
 * document model, no callback per fragment, no printf).
 *
 * The buffer always keeps one spare byte, so su_jsonw_finish() can terminate it without growing.
 * Each call reserves the room it needs once (the separator, the key, the value in its plain
 * form) and then writes without further checks; only escapes reserve more.
 */
#include <errno.h>
#include <string.h>

#include "su_jsonw.h"
#include "su_utf8.h"

enum {
    JW_OBJECT = 1 << 0,   /* the container is an object (else an array) */
    JW_NONEMPTY = 1 << 1, /* it has a member: the next one needs a comma */
};

/* "\n" and the indentation of SU_JSONW_MAX_DEPTH levels, two spaces each */
static const char indent[] = "\n                                                                ";
_Static_assert(sizeof(indent) == 2 + 2 * SU_JSONW_MAX_DEPTH, "indentation for SU_JSONW_MAX_DEPTH");

/* What each byte of a string needs: 0 copy, 1 escape, 2 start of a multi-byte sequence */
#define JW_16(x) x, x, x, x, x, x, x, x, x, x, x, x, x, x, x, x
/* clang-format off */
static const unsigned char byte_class[256] = {
    JW_16(1), JW_16(1), /* control characters (0x7f is not escaped) */
    ['"'] = 1, ['\\'] = 1,
    [0x80] = JW_16(2), JW_16(2), JW_16(2), JW_16(2), JW_16(2), JW_16(2), JW_16(2), JW_16(2),
};
/* clang-format on */
#undef JW_16

void su_jsonw_init(struct su_jsonw *w, unsigned flags, su_buf_alloc_fn *alloc, void *ctx)
{
    memset(w, 0, sizeof(*w));
    w->pretty = (flags & SU_JSONW_PRETTY) != 0;
    w->alloc = alloc ? alloc : su_buf_heap_alloc;
    w->ctx = ctx;
}

void su_jsonw_release(struct su_jsonw *w)
{
    if (w->p)
        w->alloc(w->ctx, w->p, 0, 0);
    w->p = NULL;
    w->len = w->cap = 0;
}

static void fail(struct su_jsonw *w, int err)
{
    if (!w->err)
        w->err = err;
}

int su_jsonw_fail(struct su_jsonw *w, int err)
{
    fail(w, err);
    return w->err;
}

static bool grow(struct su_jsonw *w, size_t extra)
{
    size_t need = w->len + extra + 1, cap = w->cap ? w->cap : 8192;
    if (need < w->len) {
        fail(w, -ENOMEM);
        return false;
    }
    while (cap < need)
        cap = cap <= SIZE_MAX / 2 ? cap * 2 : need;
    char *p = w->alloc(w->ctx, w->p, w->len, cap);
    if (!p) {
        fail(w, -ENOMEM);
        return false;
    }
    w->p = p;
    w->cap = cap;
    return true;
}

/* Room for @extra more bytes (and the spare one)? */
static inline bool reserve(struct su_jsonw *w, size_t extra)
{
    return extra < w->cap - w->len || grow(w, extra);
}

/* Copy @n bytes to @o (room reserved); short copies without a call. Returns the end. */
static inline char *copy(char *o, const char *s, size_t n)
{
    uint64_t x;
    uint32_t y;
    if (n < 4) {
        for (size_t i = 0; i < n; i++)
            o[i] = s[i];
        return o + n;
    }
    if (n < 8) { /* two 4-byte words, overlapping */
        memcpy(&y, s, 4);
        memcpy(o, &y, 4);
        memcpy(&y, s + n - 4, 4);
        memcpy(o + n - 4, &y, 4);
        return o + n;
    }
    if (n > 32) {
        memcpy(o, s, n);
        return o + n;
    }
    for (size_t i = 0; i + 8 < n; i += 8) {
        memcpy(&x, s + i, 8);
        memcpy(o + i, &x, 8);
    }
    memcpy(&x, s + n - 8, 8); /* the last 8, overlapping what was copied */
    memcpy(o + n - 8, &x, 8);
    return o + n;
}

static void put(struct su_jsonw *w, const char *s, size_t n)
{
    if (reserve(w, n))
        w->len = (size_t)(copy(w->p + w->len, s, n) - w->p);
}

/* The most a separator takes: a comma, a newline and the indentation. */
static inline size_t separator_room(const struct su_jsonw *w)
{
    return w->pretty ? 2 + 2 * (size_t)w->depth : 1;
}

/* The separator before an element of the innermost container, at the end (room reserved). */
static inline void separator(struct su_jsonw *w)
{
    uint8_t *st = &w->state[w->depth - 1];
    char *o = w->p + w->len;
    if (*st & JW_NONEMPTY)
        *o++ = ',';
    *st |= JW_NONEMPTY;
    if (w->pretty)
        o = copy(o, indent, 1 + 2 * (size_t)w->depth);
    w->len = (size_t)(o - w->p);
}

/* Before a value: its separator, and room for @room more bytes; false on error. */
static inline bool value_start(struct su_jsonw *w, size_t room)
{
    if (w->err)
        return false;
    if (w->want_value) {
        w->want_value = false;
        return reserve(w, room);
    }
    if (w->depth == 0) {
        if (w->done) {
            fail(w, -EINVAL); /* a second top-level value */
            return false;
        }
        return reserve(w, room);
    }
    if (w->state[w->depth - 1] & JW_OBJECT) {
        fail(w, -EINVAL); /* a value without a key */
        return false;
    }
    if (!reserve(w, separator_room(w) + room))
        return false;
    separator(w);
    return true;
}

/* After a value. */
static inline int value_end(struct su_jsonw *w)
{
    if (w->depth == 0)
        w->done = true;
    return w->err;
}

/* Before a member: its separator and quoted key, and room for @room more bytes. */
static inline bool member_start(struct su_jsonw *w, const char *quoted, size_t qlen, size_t room)
{
    if (w->err)
        return false;
    if (w->depth == 0 || w->want_value || !(w->state[w->depth - 1] & JW_OBJECT)) {
        fail(w, -EINVAL);
        return false;
    }
    if (!w->pretty && qlen)
        qlen--; /* no space after the colon */
    if (!reserve(w, separator_room(w) + qlen + room))
        return false;
    separator(w);
    w->len = (size_t)(copy(w->p + w->len, quoted, qlen) - w->p);
    return true;
}

/*
 * Length of the valid UTF-8 sequence of 2 to 4 bytes at @p (at most @avail bytes), or 0 when
 * invalid: Jansson's rules (no overlongs, no surrogates, nothing above U+10FFFF), which are
 * su_utf8_seq()'s. Out of line: with su_utf8_seq() inline in it, character() grows past what
 * the compiler inlines into string(), which made engine_bench --json run 2.7 % more
 * instructions (callgrind), and multi-byte characters are the rare case.
 */
static __attribute__((noinline)) size_t utf8_len(const unsigned char *p, size_t avail)
{
    uint32_t cp;
    return su_utf8_seq(p, avail, &cp);
}

/* The escape of @c (a control character, '"' or '\\') at @o; returns the end. */
static char *escape(char *o, unsigned char c)
{
    static const char hex[] = "0123456789ABCDEF";
    o[0] = '\\';
    switch (c) {
    case '"': o[1] = '"'; break;
    case '\\': o[1] = '\\'; break;
    case '\b': o[1] = 'b'; break;
    case '\f': o[1] = 'f'; break;
    case '\n': o[1] = 'n'; break;
    case '\r': o[1] = 'r'; break;
    case '\t': o[1] = 't'; break;
    default:
        memcpy(o + 1, "u00", 3);
        o[4] = hex[c >> 4];
        o[5] = hex[c & 15];
        return o + 6;
    }
    return o + 2;
}

/*
 * True when the 8 bytes in @x are all printable ASCII other than '"' and '\\' (copied as they
 * are). The usual "has a byte less than n" tests: a borrow can only flag a byte above one that
 * is flagged anyway, so there are no false positives on an all-plain word.
 */
static inline bool plain8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
    uint64_t t = ((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x;
    return (t & high) == 0;
}

/*
 * One character at *@pp, which is not known to be plain: copied (a multi-byte one after
 * validation) or escaped, at @o. Returns the end, or NULL when it is not UTF-8 or (with
 * w->err set) on allocation failure. Room for the rest of the string as it is is reserved.
 */
static inline char *character(struct su_jsonw *w, char *o, const unsigned char **pp,
                              const unsigned char *end)
{
    const unsigned char *p = *pp;
    size_t n;
    switch (byte_class[*p]) {
    case 0: *o++ = (char)*p++; break;
    case 2:
        n = utf8_len(p, (size_t)(end - p));
        if (n == 0)
            return NULL;
        while (n--)
            *o++ = (char)*p++;
        break;
    default:
        /* this escape (at most 6 bytes), the rest and the closing quote */
        w->len = (size_t)(o - w->p);
        if (!reserve(w, 6 + (size_t)(end - p - 1) + 1))
            return NULL;
        o = escape(w->p + w->len, *p++);
    }
    *pp = p;
    return o;
}

/*
 * The quoted, escaped string at the end of the buffer, where room for @len + 2 bytes is
 * reserved; the marker instead when @s is not valid UTF-8. Plain runs are checked and copied 8
 * bytes at a time, the last 1 to 7 bytes of a longer string as the 8 bytes that end there.
 */
static void string(struct su_jsonw *w, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t mark = w->len;
    char *o = w->p + w->len;
    uint64_t x;

    *o++ = '"';
    while (end - p >= 8) {
        memcpy(&x, p, 8);
        if (plain8(x)) {
            memcpy(o, &x, 8);
            o += 8;
            p += 8;
        } else if (!(o = character(w, o, &p, end))) {
            goto invalid;
        }
    }
    if (p < end && len >= 8) {
        /* the bytes before p in this word were plain, so they were copied as they are */
        memcpy(&x, end - 8, 8);
        if (plain8(x)) {
            memcpy(o + (end - p) - 8, &x, 8);
            o += end - p;
            p = end;
        }
    }
    while (p < end)
        if (!(o = character(w, o, &p, end)))
            goto invalid;
    *o++ = '"';
    w->len = (size_t)(o - w->p);
    return;

invalid:
    if (w->err)
        return;
    w->len = mark;
    put(w, "\"" SU_JSONW_NOT_UTF8 "\"", sizeof(SU_JSONW_NOT_UTF8) + 1);
}

/* An integer at the end of the buffer, where room for 20 bytes is reserved. */
static void integer(struct su_jsonw *w, int64_t v)
{
    char tmp[20], *q = tmp + sizeof(tmp); /* INT64_MIN: '-' and 19 digits */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--q = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--q = '-';
    size_t n = (size_t)(tmp + sizeof(tmp) - q);
    memcpy(w->p + w->len, q, n);
    w->len += n;
}

/* true or false at the end of the buffer, where room for 5 bytes is reserved. */
static inline void boolean(struct su_jsonw *w, bool v)
{
    if (v) {
        memcpy(w->p + w->len, "true", 4);
        w->len += 4;
    } else {
        memcpy(w->p + w->len, "false", 5);
        w->len += 5;
    }
}

/* null at the end of the buffer, where room for 4 bytes is reserved. */
static inline void null(struct su_jsonw *w)
{
    memcpy(w->p + w->len, "null", 4);
    w->len += 4;
}

int su_jsonw_finish(struct su_jsonw *w, char **ret, size_t *ret_len)
{
    if (!w->err && (w->depth || w->want_value || !w->done))
        fail(w, -EINVAL);
    if (w->err) {
        su_jsonw_release(w);
        return w->err;
    }
    w->p[w->len] = '\0'; /* the spare byte */
    *ret = w->p;
    if (ret_len)
        *ret_len = w->len;
    w->p = NULL;
    w->len = w->cap = 0;
    return 0;
}

static int begin(struct su_jsonw *w, char open, uint8_t state)
{
    if (!w->err && w->depth == SU_JSONW_MAX_DEPTH)
        fail(w, -EINVAL);
    if (!value_start(w, 1))
        return w->err;
    w->p[w->len++] = open;
    w->state[w->depth++] = state;
    return 0;
}

static int end(struct su_jsonw *w, char close, uint8_t kind)
{
    if (w->err)
        return w->err;
    if (w->depth == 0 || w->want_value || (w->state[w->depth - 1] & JW_OBJECT) != kind) {
        fail(w, -EINVAL);
        return w->err;
    }
    bool nonempty = w->state[--w->depth] & JW_NONEMPTY;
    /* Jansson: "{}" and "[]" stay on one line; otherwise the closer goes on its own line */
    size_t n = w->pretty && nonempty ? 1 + 2 * (size_t)w->depth : 0;
    if (reserve(w, n + 1)) {
        char *o = copy(w->p + w->len, indent, n);
        *o++ = close;
        w->len = (size_t)(o - w->p);
    }
    return value_end(w);
}

int su_jsonw_object_begin(struct su_jsonw *w)
{
    return begin(w, '{', JW_OBJECT);
}

int su_jsonw_object_end(struct su_jsonw *w)
{
    return end(w, '}', JW_OBJECT);
}

int su_jsonw_array_begin(struct su_jsonw *w)
{
    return begin(w, '[', 0);
}

int su_jsonw_array_end(struct su_jsonw *w)
{
    return end(w, ']', 0);
}

int su_jsonw_keyn(struct su_jsonw *w, const char *key, size_t len)
{
    if (member_start(w, "", 0, len + 2)) {
        string(w, key, len);
        put(w, ": ", w->pretty ? 2 : 1);
        w->want_value = true;
    }
    return w->err;
}

int su_jsonw_quoted_key(struct su_jsonw *w, const char *quoted, size_t qlen)
{
    if (member_start(w, quoted, qlen, 0))
        w->want_value = true;
    return w->err;
}

int su_jsonw_member_string(struct su_jsonw *w, const char *quoted, size_t qlen, const char *s)
{
    if (!s)
        return su_jsonw_member_null(w, quoted, qlen);
    size_t len = strlen(s);
    if (member_start(w, quoted, qlen, len + 2))
        string(w, s, len);
    return w->err;
}

int su_jsonw_member_int(struct su_jsonw *w, const char *quoted, size_t qlen, int64_t v)
{
    if (member_start(w, quoted, qlen, 20))
        integer(w, v);
    return w->err;
}

int su_jsonw_member_bool(struct su_jsonw *w, const char *quoted, size_t qlen, bool v)
{
    if (member_start(w, quoted, qlen, 5))
        boolean(w, v);
    return w->err;
}

int su_jsonw_member_null(struct su_jsonw *w, const char *quoted, size_t qlen)
{
    if (member_start(w, quoted, qlen, 4))
        null(w);
    return w->err;
}

int su_jsonw_stringn(struct su_jsonw *w, const char *s, size_t len)
{
    if (value_start(w, len + 2))
        string(w, s, len);
    return value_end(w);
}

int su_jsonw_int(struct su_jsonw *w, int64_t v)
{
    if (value_start(w, 20))
        integer(w, v);
    return value_end(w);
}

int su_jsonw_bool(struct su_jsonw *w, bool v)
{
    if (value_start(w, 5))
        boolean(w, v);
    return value_end(w);
}

int su_jsonw_null(struct su_jsonw *w)
{
    if (value_start(w, 4))
        null(w);
    return value_end(w);
}

/*
 * api/head.c - what strongmapd checks in a request head before anything else: the message
 * framing (RFC 9112 section 6), Host, Expect, and the bytes of the request line and field lines
 * that libmicrohttpd 0.9.75 lets through. No libmicrohttpd call here: http.c feeds the head in
 * (and tests/fuzz/fuzz_request.c does, from raw bytes laid out as libmicrohttpd lays them out).
 *
 * libmicrohttpd frames a request body itself: with a Transfer-Encoding field it reads chunks
 * when the first one says "chunked" and else reads until the connection closes; without one it
 * takes the first Content-Length. It accepts both fields together, two different lengths, and
 * transfer codings other than chunked, which a proxy in front may frame differently (request
 * smuggling). Its handler sees every field line (duplicates included), so these are refused
 * here, before any of the body is read: 400, and the connection closed.
 *
 * It also cuts a field value at a NUL byte ("Bearer tok\0junk" reads as "Bearer tok") and joins
 * an obs-fold continuation line onto the field's name; neither shows in the strings it hands
 * out. Both show in the head it parsed in place: the request line and the field lines stay
 * where they arrived, with CR, LF, the space before the version and each field's colon
 * overwritten by NUL. The walk checks that layout: the request target follows the method and
 * one space; each field line starts right where the previous line ended (one NUL for LF, two for
 * CRLF); its value follows its name, the colon and blanks; and an empty line ends the head
 * exactly where libmicrohttpd says it ends. Anything else is a NUL byte inside a line or a folded
 * line: 400. One NUL right before a line's end ("tok\0\n" next to "tok\r\n", or "tok\0\r\n" on
 * the last line, next to a longer line end) can look like part of the line end; the value then
 * reads as the bytes before it, the same as for a recipient that replaces NUL with a space
 * (RFC 9110 section 5.5) and trims the field's trailing blanks. A NUL with anything after it on
 * its line is always refused.
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"

static uintptr_t addr(const char *p)
{
    return (uintptr_t)p;
}

/* RFC 9110 section 5.6.2: token characters. */
static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Field value bytes (RFC 9110 section 5.5): VCHAR, obs-text, SP and HTAB; never CR, LF or other
 * controls (a bare CR would end the line for some recipients). */
static bool value_ok(const char *v)
{
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

/* A Host value as RFC 9112 section 3.2 and RFC 3986 allow it: reg-name, IPv4 or an IP literal,
 * with an optional port; empty is allowed. No blanks, commas or userinfo. */
static bool host_ok(const char *v)
{
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("-._~%!$&'()*+;=:[]", c) != NULL))
            return false;
    }
    return true;
}

static bool name_is(const char *name, const char *want)
{
    return strcasecmp(name, want) == 0;
}

static int bad(struct head_check *h, const char *why)
{
    if (!h->bad)
        h->bad = why;
    return -1;
}

/* The line that ends at @eol (its first NUL) is followed by @next: one NUL (LF) or two (CRLF). */
static bool follows(const struct head_check *h, const char *eol, const char *next)
{
    uintptr_t e = addr(eol), n = addr(next);

    return n < addr(h->end) && (n == e + 1 || (n == e + 2 && eol[1] == '\0'));
}

void head_begin(struct head_check *h, const char *head, size_t size, const char *method,
                const char *target_at, const char *target, const char *version)
{
    memset(h, 0, sizeof(*h));
    h->http10 = strcmp(version, "HTTP/1.0") == 0;
    h->end = head ? head + size : NULL;
    for (const char *p = method; *p; p++)
        if (!is_tchar((unsigned char)*p))
            bad(h, "the method holds a character not allowed there");
    for (const char *p = target; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            bad(h, "the request target holds a blank or a control character");
    /* The target (where the URI callback saw it: @target_at) must follow the method and one
       space, and run up to the space before the version: a NUL inside shortens the string
       libmicrohttpd hands out, extra blanks shift it. */
    if (!head || size == 0 || addr(method) != addr(head) || addr(version) <= addr(target_at) ||
        addr(version) >= addr(h->end))
        return; /* not the layout this file knows: the walk stays off */
    h->walk = true;
    if (addr(target_at) != addr(method) + strlen(method) + 1)
        bad(h, "the request line has a NUL byte or extra blanks before the target");
    else if (addr(version) - 1 - addr(target_at) != strlen(target))
        bad(h, "the request target holds a NUL byte");
    h->eol = version + strlen(version);
}

int head_field(struct head_check *h, const char *name, const char *value)
{
    const char *p;

    h->n_fields++;
    if (h->walk) {
        if (!follows(h, h->eol, name))
            return bad(h, "a header line is folded or holds a NUL byte");
        p = name + strlen(name) + 1; /* past the colon */
        while (addr(p) < addr(h->end) && (*p == ' ' || *p == '\t'))
            p++;
        if (addr(p) != addr(value))
            return bad(h, "a header line is folded or holds a NUL byte");
        h->eol = value + strlen(value);
        if (addr(h->eol) >= addr(h->end))
            return bad(h, "a header line is folded or holds a NUL byte");
    }
    if (*name == '\0')
        return bad(h, "a header field has no name");
    for (p = name; *p; p++)
        if (!is_tchar((unsigned char)*p))
            return bad(h, "a header field name holds a blank or a character not allowed there");
    if (!value_ok(value))
        return bad(h, "a header field value holds a control character");

    if (name_is(name, "Host")) {
        if (++h->n_host > 1)
            return bad(h, "more than one Host header");
        if (!host_ok(value))
            return bad(h, "the Host header is not a host name or address");
    } else if (name_is(name, "Content-Length")) {
        if (h->n_cl++ > 0 && strcmp(h->content_length, value) != 0)
            return bad(h, "Content-Length headers with different values");
        h->content_length = value;
    } else if (name_is(name, "Transfer-Encoding")) {
        if (++h->n_te > 1)
            return bad(h, "more than one Transfer-Encoding header");
        if (strcasecmp(value, "chunked") != 0)
            return bad(h, "a Transfer-Encoding other than chunked");
    } else if (name_is(name, "Expect")) {
        /* 100-continue is the one expectation there is (RFC 9110 section 10.1.1); libmicrohttpd
           answers it for HTTP/1.1, and HTTP/1.0 ignores it */
        if (h->n_expect++ > 0 || strcasecmp(value, "100-continue") != 0)
            h->expect_failed = true;
    }
    return 0;
}

int head_finish(struct head_check *h)
{
    if (h->bad)
        return -1;
    if (h->walk) {
        /* the last line's end, then the empty line: 2 to 4 NULs up to the end of the head */
        uintptr_t n = addr(h->end) - addr(h->eol);

        if (addr(h->eol) >= addr(h->end) || n < 2 || n > 4)
            return bad(h, "a header line is folded or holds a NUL byte");
        for (const char *p = h->eol; addr(p) < addr(h->end); p++)
            if (*p != '\0')
                return bad(h, "a header line is folded or holds a NUL byte");
    }
    if (h->n_te > 0 && h->n_cl > 0)
        return bad(h, "both Content-Length and Transfer-Encoding");
    if (h->n_te > 0 && h->http10)
        return bad(h, "Transfer-Encoding in an HTTP/1.0 request");
    if (h->n_host == 0 && !h->http10)
        return bad(h, "an HTTP/1.1 request without a Host header");
    return 0;
}

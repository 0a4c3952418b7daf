/*
 * api/links.c - the organisation's help on the status page (docs/self-service.md,
 * "Configuration"): [page] link's value checked and split (api_page_link_parse(), which the
 * daemon's configuration calls for each link, naming the file and line of a bad one), and the
 * help written out: the empty page's section (the organisation's helpdesk and links, rendered
 * into web/status.html once per language by messages.c), an answer's list of links, and the
 * links in the page's JSON.
 *
 * A link is the organisation's text and address, shown to anyone who reaches the page: so only
 * an absolute http:// or https:// URL with a host is taken (no javascript:, data: or relative
 * link, nothing that would run in the page's origin), without a user name or password (the page
 * is public), and of the characters RFC 3986 allows in a URI only, so that no byte of it needs
 * more than the usual escaping in an attribute. Titles are plain text. Both are written escaped.
 * Links open in the same tab: no target, so no window.opener to guard against; the page's
 * Referrer-Policy (no-referrer) keeps its address from the site the link leads to.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "su_buf.h"
#include "su_jsonw.h"
#include "su_utf8.h"

static int link_fail(struct sm_errinfo *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int link_fail(struct sm_errinfo *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A character RFC 3986 allows in a URI outside its authority: unreserved, sub-delims, and the
   gen-delims but '[' and ']' (which only an IPv6 host may hold); '%' is checked apart. */
static bool uri_char(char c)
{
    return is_alnum(c) || (c && strchr("-._~!$&'()*+,;=:/?#@%", c));
}

/* @s (@len bytes) without the blanks at either end: its start, and *@len updated. */
static const char *trim(const char *s, size_t *len)
{
    while (*len && (*s == ' ' || *s == '\t')) {
        s++;
        (*len)--;
    }
    while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
        (*len)--;
    return s;
}

/* The authority of the URL @a (@len bytes: what lies between "//" and the path): a host, a name
   or an IPv4 address or [an IPv6 address], with an optional port; no user information. */
static int check_authority(const char *a, size_t len, struct sm_errinfo *e)
{
    size_t host_len;
    const char *port;

    if (len == 0)
        return link_fail(e, "the URL has no host (http://HOST/...)");
    if (memchr(a, '@', len))
        return link_fail(e, "a user name or password in the URL (USER@ or USER:PASSWORD@): the "
                            "page is public, give the address without them");
    if (a[0] == '[') {
        const char *end = memchr(a, ']', len);

        if (!end || end == a + 1)
            return link_fail(e, "an IPv6 host is [ADDRESS], with its closing ]");
        for (const char *p = a + 1; p < end; p++)
            if (!is_hex(*p) && *p != ':' && *p != '.')
                return link_fail(e, "[%.*s] is not an IPv6 address", (int)(end - a - 1), a + 1);
        host_len = (size_t)(end - a) + 1;
    } else {
        host_len = 0;
        while (host_len < len && a[host_len] != ':') {
            char c = a[host_len];

            if (!is_alnum(c) && c != '-' && c != '.')
                return link_fail(e, "the host may hold letters, digits, '-' and '.' (a name "
                                    "in another script: its punycode form, xn--...)");
            host_len++;
        }
        if (host_len == 0)
            return link_fail(e, "the URL has no host (http://HOST/...)");
    }
    if (host_len == len)
        return 0;
    port = a + host_len;
    if (*port != ':' || len - host_len < 2 || len - host_len > 6)
        return link_fail(e, "after the host, only :PORT (1 to 65535)");
    {
        unsigned v = 0;

        for (const char *p = port + 1; p < a + len; p++) {
            if (*p < '0' || *p > '9')
                return link_fail(e, "after the host, only :PORT (1 to 65535)");
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (v == 0 || v > 65535)
            return link_fail(e, "after the host, only :PORT (1 to 65535)");
    }
    return 0;
}

/* An absolute http(s) URL of @len bytes at @u (see api_page_link_parse()). */
static int check_url(const char *u, size_t len, struct sm_errinfo *e)
{
    size_t skip, auth_len;

    if (len == 0)
        return link_fail(e, "expected TITLE | URL: the URL is empty");
    if (len > API_PAGE_LINK_URL_MAX)
        return link_fail(e, "the URL is longer than %d bytes", API_PAGE_LINK_URL_MAX);
    if (len >= 7 && strncasecmp(u, "http://", 7) == 0)
        skip = 7;
    else if (len >= 8 && strncasecmp(u, "https://", 8) == 0)
        skip = 8;
    else
        return link_fail(e, "\"%.*s\" is not an absolute http:// or https:// URL",
                         len > 40 ? 40 : (int)len, u);
    auth_len = strcspn(u + skip, "/?#");
    if (auth_len > len - skip)
        auth_len = len - skip;
    for (size_t i = 0; i < len; i++) {
        char c = u[i];
        bool bracket = (c == '[' || c == ']') && i >= skip && i < skip + auth_len;

        if ((unsigned char)c >= 0x80 && i >= skip && i < skip + auth_len)
            return link_fail(e,
                             "byte %zu of the URL is not ASCII: write a host in another "
                             "script in its punycode form (xn--...)",
                             i + 1);
        if ((unsigned char)c >= 0x80 || (!uri_char(c) && !bracket))
            return link_fail(e,
                             "byte %zu of the URL (%s) is not allowed in a URL: percent-encode "
                             "it (%%XX)",
                             i + 1,
                             (unsigned char)c >= 0x80 ? "not ASCII"
                             : c == ' '               ? "a space"
                                                      : "a character RFC 3986 does not allow");
        if (c == '%' && (i + 2 >= len || !is_hex(u[i + 1]) || !is_hex(u[i + 2])))
            return link_fail(e, "byte %zu of the URL: a %% not followed by two hexadecimal digits",
                             i + 1);
    }
    return check_authority(u + skip, auth_len, e);
}

int api_page_link_parse(const char *text, struct api_page_link *ret, struct sm_errinfo *e)
{
    const char *bar = strrchr(text, '|'), *title, *url;
    size_t title_len, url_len;
    int r;

    if (!bar)
        return link_fail(e, "expected TITLE | URL, e.g. Company Portal | "
                            "https://portal.manage.microsoft.com/");
    title_len = (size_t)(bar - text);
    title = trim(text, &title_len);
    url_len = strlen(bar + 1);
    url = trim(bar + 1, &url_len);
    if (title_len == 0)
        return link_fail(e, "expected TITLE | URL: the title is empty");
    if (title_len > API_PAGE_LINK_TITLE_MAX)
        return link_fail(e, "the title is longer than %d bytes", API_PAGE_LINK_TITLE_MAX);
    if (!su_utf8_valid(title, title_len))
        return link_fail(e, "the title is not valid UTF-8");
    for (size_t i = 0; i < title_len; i++)
        if ((unsigned char)title[i] < 0x20 || title[i] == 0x7f)
            return link_fail(e, "the title holds a control character");
    if ((r = check_url(url, url_len, e)) < 0)
        return r;
    memset(ret, 0, sizeof(*ret));
    memcpy(ret->title, title, title_len);
    memcpy(ret->url, url, url_len);
    return 0;
}

/* ---- the help, written out ---------------------------------------------------------------- */

/* Link @i of the runtime @ctx, as a list item's content. */
static void link_item(struct su_buf *b, const void *ctx, size_t i)
{
    const struct api_page_link *k = &((const struct api_runtime *)ctx)->page_links[i];

    su_buf_puts(b, "<a href=\"");
    page_escape(b, k->url);
    su_buf_puts(b, "\">");
    page_escape(b, k->title);
    su_buf_puts(b, "</a>");
}

void page_links_html(struct su_buf *b, const struct api_runtime *rt, const struct msg_lang *l)
{
    page_list_html(b, l, "links.heading", "ul", " class=\"links\"", rt->n_page_links, link_item,
                   rt);
}

bool page_has_help(const struct api_runtime *rt)
{
    return rt->page_organisation[0] || rt->page_helpdesk[0] || rt->n_page_links > 0;
}

void page_help_html(struct su_buf *b, const struct api_runtime *rt, const struct msg_lang *l)
{
    if (!page_has_help(rt))
        return;
    su_buf_puts(b, PAGE_HELP_START "<section id=\"help\" class=\"help\" "
                                   "aria-labelledby=\"help-heading\">\n<h2 id=\"help-heading\">");
    msg_html(b, l, "links.help", NULL, NULL);
    su_buf_puts(b, "</h2>\n");
    page_contact_html(b, rt, l);
    page_links_html(b, rt, l);
    su_buf_puts(b, "</section>\n" PAGE_HELP_END);
}

void page_links_json(struct su_jsonw *w, const struct api_runtime *rt)
{
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < rt->n_page_links; i++) {
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "title", rt->page_links[i].title);
        su_jsonw_kstr(w, "url", rt->page_links[i].url);
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
}

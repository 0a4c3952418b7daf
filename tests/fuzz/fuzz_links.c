/*
 * tests/fuzz/fuzz_links.c - libFuzzer target: a [page] link's value (api/links.c,
 * api_page_link_parse()), the input up to its first NUL. Refused with a reason, or taken: then
 * the title is 1..API_PAGE_LINK_TITLE_MAX bytes of UTF-8 without control characters, and the
 * URL at most API_PAGE_LINK_URL_MAX bytes, http:// or https://, with a host and no user
 * information, of RFC 3986's characters only; and written into an answer's list of links (as the
 * page's section of help writes it) it is exactly the markup around the two, escaped: no byte
 * of either may leave the href attribute or the link's text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "su_buf.h"
#include "su_utf8.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api_runtime *rt;

static void check_taken(const struct api_page_link *k)
{
    size_t tl = strlen(k->title), ul = strlen(k->url), skip, auth;

    if (tl == 0 || tl > API_PAGE_LINK_TITLE_MAX || !su_utf8_valid(k->title, tl))
        abort();
    for (size_t i = 0; i < tl; i++)
        if ((unsigned char)k->title[i] < 0x20 || k->title[i] == 0x7f)
            abort();
    if (ul > API_PAGE_LINK_URL_MAX)
        abort();
    if (strncasecmp(k->url, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(k->url, "https://", 8) == 0)
        skip = 8;
    else
        abort();
    auth = strcspn(k->url + skip, "/?#");
    if (auth == 0 || memchr(k->url + skip, '@', auth))
        abort(); /* a host, and no user information */
    for (size_t i = 0; i < ul; i++) {
        unsigned char c = (unsigned char)k->url[i];

        if (c <= 0x20 || c >= 0x7f || strchr("\"<>\\^`{|}", c))
            abort();
    }
}

/* @s escaped as page_escape() does, into @b. */
static void escaped(struct su_buf *b, const char *s)
{
    for (; *s; s++)
        switch (*s) {
        case '&': su_buf_puts(b, "&amp;"); break;
        case '<': su_buf_puts(b, "&lt;"); break;
        case '>': su_buf_puts(b, "&gt;"); break;
        case '"': su_buf_puts(b, "&quot;"); break;
        case '\'': su_buf_puts(b, "&#39;"); break;
        default: su_buf_putc(b, *s);
        }
}

static void check_html(const struct msg_lang *l)
{
    struct su_buf got, want;

    su_buf_init(&got, NULL, NULL);
    su_buf_init(&want, NULL, NULL);
    page_links_html(&got, rt, l);
    su_buf_printf(&want, "<h3>%s</h3>\n<ul class=\"links\">\n<li><a href=\"",
                  msg_text(l, "links.heading"));
    escaped(&want, rt->page_links[0].url);
    su_buf_puts(&want, "\">");
    escaped(&want, rt->page_links[0].title);
    su_buf_puts(&want, "</a></li>\n</ul>\n");
    if (!su_buf_str(&got) || !su_buf_str(&want) || strcmp(got.p, want.p) != 0)
        abort();
    su_buf_release(&got);
    su_buf_release(&want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_page_link k;
    const struct msg_lang *l;
    char *text;

    if (!rt && api_runtime_new(&rt) < 0)
        abort();
    if (!(text = malloc(size + 1)))
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (api_page_link_parse(text, &k, &e) == 0) {
        check_taken(&k);
        rt->page_links[0] = k;
        rt->n_page_links = 1;
        if (!(l = msg_negotiate(NULL, NULL)))
            abort();
        check_html(l);
        if (!page_has_help(rt))
            abort();
    } else if (!e.text[0]) {
        abort(); /* a refusal says why */
    }
    free(text);
    return 0;
}

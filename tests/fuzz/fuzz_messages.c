/*
 * tests/fuzz/fuzz_messages.c - libFuzzer target: the status page's message catalogues
 * (api/messages.c). Byte 0 chooses:
 *   even  the rest is an Accept-Language field (up to its first NUL), negotiated among the
 *         shipped languages and de-AT and pt-BR added: the answer must be one of them;
 *   odd   the rest is up to four operator's catalogues (the JSON of [page] messages files),
 *         separated by NUL bytes, each "TAG{...}": its language tag before its first '{' (the
 *         file's name: valid or not, "en" and "de" override the shipped texts), or without one
 *         fr, en, de-AT and pt-BR in turn; bit 1 of byte 0 gives them a path of 1,100 bytes as
 *         their origin instead of "fuzz". Each is refused with a reason, or added; a tag is
 *         taken exactly when it is one by RFC 5646's shape (checked here apart); every warning
 *         starts with the origin and stays short. Once all are added and finished, each language
 *         is found by its tag and used (texts formatted as plain text and as HTML with
 *         arguments, its page rendered): no text and no argument may put markup in the HTML.
 *
 * The seeds (tests/fuzz/corpus/messages) include a catalogue with 1,100 keys English does not
 * have (security review of 2026-12-08, finding 4: they overflowed a list on the stack) and
 * the long origin (finding 5: a warning's line overflowed).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_internal.h"
#include "su_buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_CATALOGUES 4
#define TAG_MAX        40   /* bytes of a tag taken from the input (a valid one has 35) */
#define LONG_ORIGIN    1100 /* bytes of the long origin */

static struct api_messages *langs;
static char long_origin[LONG_ORIGIN + 1];

static void setup(void)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    static const char at[] = "{\"state.at_risk\": \"Gef\\u00e4hrdet\"}";
    static const char br[] = "{\"state.at_risk\": \"Em risco\"}";

    if (api_messages_new(&langs, &e) < 0 ||
        api_messages_add(langs, "de-AT", at, sizeof(at) - 1, "at", NULL, NULL, &e) < 0 ||
        api_messages_add(langs, "pt-BR", br, sizeof(br) - 1, "br", NULL, NULL, &e) < 0 ||
        api_messages_finish(langs, NULL, NULL, &e) < 0)
        abort();
    memset(long_origin, 'd', LONG_ORIGIN);
    long_origin[0] = '/';
    memcpy(long_origin + LONG_ORIGIN - 8, "/fr.json", 8);
}

static void negotiate(const uint8_t *data, size_t size)
{
    char *field = malloc(size + 1);
    const char *tag;

    if (!field)
        return;
    memcpy(field, data, size);
    field[size] = '\0';
    tag = msg_tag(msg_negotiate(langs, field));
    if (strcmp(tag, "en") != 0 && strcmp(tag, "de") != 0 && strcmp(tag, "de-AT") != 0 &&
        strcmp(tag, "pt-BR") != 0)
        abort();
    free(field);
}

/* A language tag by RFC 5646's shape, as the catalogues take them: letters, then subtags of
   letters and digits, each 1 to 8 characters, at most 35 bytes. */
static bool tag_ok(const char *s)
{
    size_t n = 0, len = strlen(s);
    bool first = true;

    if (len == 0 || len > 35)
        return false;
    for (;; s++) {
        if (*s == '-' || *s == '\0') {
            if (n == 0 || n > 8)
                return false;
            if (*s == '\0')
                return true;
            first = false;
            n = 0;
            continue;
        }
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (!first && *s >= '0' && *s <= '9')))
            return false;
        n++;
    }
}

/* A warning: the origin first (or, for a shipped language no catalogue gave texts, its tag),
   then its text, bounded (MSG_LIST_MAX bytes of keys and a few words around them). */
static void warned(void *arg, const char *text)
{
    const char *origin = arg, *colon = strstr(text, ": ");
    size_t n = colon ? (size_t)(colon - text) : 0;
    char tag[TAG_MAX + 1];

    if (!colon)
        abort();
    if (n <= TAG_MAX) {
        memcpy(tag, text, n);
        tag[n] = '\0';
    }
    if (!(n == strlen(origin) && strncmp(text, origin, n) == 0) && !(n <= TAG_MAX && tag_ok(tag)))
        abort();
    if (strlen(text) > n + 520)
        abort();
}

/* @l used: texts formatted, its page rendered; no markup but the template's own. */
static void use(const struct msg_lang *l)
{
    const char *page, *etag;
    struct su_buf b;
    size_t len;

    su_buf_init(&b, NULL, NULL);
    msg_put(&b, l, "details.certificate_result", "a", "b", "c", NULL);
    msg_put(&b, l, "text.certificate", "1", NULL); /* arguments missing */
    su_buf_release(&b);
    msg_html(&b, l, "self.for_header", "strong", "<x>", NULL);
    msg_html(&b, l, "page.intro", NULL, NULL);
    for (const char *p = su_buf_str(&b); p && (p = strchr(p, '<')); p++)
        if (strncmp(p, "<strong>", 8) != 0 && strncmp(p, "</strong>", 9) != 0)
            abort(); /* markup from a text or an argument */
    su_buf_release(&b);
    page = msg_page(l, &len, &etag);
    /* the template's own tags only: one script, no markup a text brought in */
    if (strlen(page) != len || !strstr(page, "<script") || strstr(page, "<img") ||
        strstr(page, "<iframe") || strstr(strstr(page, "<script") + 1, "<script"))
        abort();
}

static void catalogues(const uint8_t *data, size_t size, const char *origin)
{
    static const char *const tags[MAX_CATALOGUES] = { "fr", "en", "de-AT", "pt-BR" };
    char added[MAX_CATALOGUES][TAG_MAX + 1], refusal[sizeof(((struct sm_errinfo *)0)->text)];
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_messages *m = NULL;
    size_t n = 0, pos = 0;
    bool cut;
    int r = 0;

    if (api_messages_new(&m, &e) < 0)
        abort();
    for (; n < MAX_CATALOGUES && r == 0 && (pos < size || n == 0); n++) {
        const uint8_t *p = data + pos, *nul = memchr(p, '\0', size - pos);
        size_t len = nul ? (size_t)(nul - p) : size - pos;
        const uint8_t *brace = memchr(p, '{', len < TAG_MAX + 1 ? len : TAG_MAX + 1);
        size_t tag_len = brace ? (size_t)(brace - p) : 0;

        if (tag_len > 0) {
            memcpy(added[n], p, tag_len);
            added[n][tag_len] = '\0';
        } else {
            strcpy(added[n], tags[n]);
        }
        e = (struct sm_errinfo)SM_ERRINFO_INIT;
        r = api_messages_add(m, added[n], (const char *)p + tag_len, len - tag_len, origin, warned,
                             (void *)(uintptr_t)origin, &e);
        if (r == -EINVAL && !e.text[0])
            abort(); /* a refusal says why */
        /* the refusal of a tag as such (comparable when the long origin does not cut it) */
        cut = (size_t)snprintf(refusal, sizeof(refusal),
                               "%s: \"%.40s\" is not a language tag (en, de, pt-BR: the file is "
                               "LANG.json)",
                               origin, added[n]) >= sizeof(refusal);
        if ((r == 0) != tag_ok(added[n]) && (r == 0 || (!cut && strcmp(e.text, refusal) == 0)))
            abort(); /* a tag taken that is none, or one refused that is */
        pos += len + 1;
    }
    if (r == 0 && api_messages_finish(m, warned, (void *)(uintptr_t)origin, &e) == 0)
        for (size_t i = 0; i < n; i++) {
            const struct msg_lang *l = msg_negotiate(m, added[i]);

            if (strcasecmp(msg_tag(l), added[i]) != 0)
                abort(); /* each language is found by its own tag */
            use(l);
        }
    api_messages_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!langs)
        setup();
    if (size < 1)
        return 0;
    if (data[0] & 1)
        catalogues(data + 1, size - 1, data[0] & 2 ? long_origin : "fuzz");
    else
        negotiate(data + 1, size - 1);
    return 0;
}

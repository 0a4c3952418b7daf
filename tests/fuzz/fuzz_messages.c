/*
 * tests/fuzz/fuzz_messages.c - libFuzzer target: the status page's message catalogues
 * (api/messages.c). Byte 0 chooses:
 *   even  the rest is an Accept-Language field (up to its first NUL), negotiated among the
 *         shipped languages and de-AT and pt-BR added: the answer must be one of them;
 *   odd   the rest is an operator's catalogue (the JSON of a [page] messages file) for "fr":
 *         refused with a reason, or added, finished and used (texts formatted as plain text
 *         and as HTML with arguments, the page rendered): no text and no argument may put
 *         markup in the HTML.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "su_buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct api_messages *langs;

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

static void catalogue(const uint8_t *data, size_t size)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_messages *m = NULL;
    const struct msg_lang *l;
    const char *page, *etag;
    struct su_buf b;
    size_t len;
    int r;

    if (api_messages_new(&m, &e) < 0)
        abort();
    r = api_messages_add(m, "fr", (const char *)data, size, "fuzz", NULL, NULL, &e);
    if (r == -EINVAL && !e.text[0])
        abort(); /* a refusal says why */
    if (r == 0 && api_messages_finish(m, NULL, NULL, &e) == 0) {
        l = msg_negotiate(m, "fr");
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
    api_messages_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!langs)
        setup();
    if (size < 1)
        return 0;
    if (data[0] & 1)
        catalogue(data + 1, size - 1);
    else
        negotiate(data + 1, size - 1);
    return 0;
}

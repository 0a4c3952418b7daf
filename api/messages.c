/*
 * api/messages.c - the status page's words in the language the browser asks for
 * (docs/self-service.md, "Languages"): the message catalogues, one flat JSON object of stable
 * keys per language (web/messages/LANG.json, compiled in; the files of an operator's [page]
 * messages directory add languages or override texts), the choice of one by Accept-Language
 * (RFC 9110 12.5.4 with RFC 4647's ranges), the texts with their placeholders, and
 * web/status.html rendered once per language and runtime.
 *
 * The shipped English catalogue defines the keys and how many placeholders each text has: %s,
 * one per argument in order (the arguments are strings), and %% for a percent sign; no other
 * conversion. Every other catalogue must have the same number of %s in each text it gives, or
 * it is refused. A key a catalogue lacks falls back to the shipped catalogue of its language,
 * else to English; a key English does not have is reported and ignored.
 *
 * The texts are kept in the Jansson documents they were parsed from, which live as long as the
 * catalogues. Once api_messages_finish() has run, nothing here is written: any number of
 * threads may read it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include <strongmap/state.h>

#include "api_internal.h"
#include "messages.h"
#include "su_buf.h"
#include "su_hash.h"
#include "web.h"

#define MSG_MAX_LANGS  32            /* languages, the shipped ones included */
#define MSG_TAG_MAX    36            /* bytes of a language tag, NUL included */
#define MSG_TEXT_MAX   2048          /* bytes of one text */
#define MSG_MAX_KEYS   1024          /* keys of the English catalogue */
#define MSG_MAX_RANGES 32            /* Accept-Language: the language ranges read */
#define MSG_LIST_MAX   400           /* bytes of the keys a warning lists */
#define MSG_NAMED_MAX  200           /* keys a warning names at most: MSG_LIST_MAX / 2 */
#define MSG_TEMPLATE   "status.html" /* web/'s template, rendered per language */

/* The keys the page's script needs (web/status.js), given to it in the page's data-messages
   attribute: tests/api/test_page.py checks that the script asks for no other. */
static const char *const js_keys[] = {
    "page.checking",       "state.will_work",    "state.at_risk",     "state.will_fail",
    "answer.result_sr",    "answer.what_to_do",  "answer.contact",    "answer.your_organisation",
    "answer.ask_it",       "details.summary",    "details.result",    "details.reason_code",
    "details.valid_until", "details.dc",         "details.allow",     "details.deny",
    "details.kdc_event",   "helpdesk.heading",   "helpdesk.label",    "helpdesk.copy",
    "helpdesk.copied",     "problem.file_title", "problem.bad_file",  "problem.unavailable_title",
    "problem.unavailable", "problem.rate_title", "problem.wait_one",  "problem.wait_many",
    "problem.failed",      "links.heading",      "page.answer_title", "helpdesk.select",
};

struct msg_lang {
    const struct api_messages *m;
    char tag[MSG_TAG_MAX]; /* as its file names it: "en", "de", "pt-BR" */
    const char **text;     /* [m->n_keys], each key's text (after api_messages_finish(): all) */
    char *origin;          /* the last file that gave texts, for its warnings (owned) */
    char *page;            /* web/status.html in this language (owned) */
    size_t page_len;
    char etag[20]; /* "\"0123456789abcdef\"" */
    char *js;      /* the value of the page's data-messages attribute, escaped (owned) */
};

struct api_messages {
    const char **keys; /* English's, sorted (strcmp()) */
    int *n_args;       /* each key's number of %s */
    size_t n_keys;
    /* key_index()'s table of the keys: a slot holds 0 (empty) or a key's index + 1; open
       addressing, linear probing, at most half full (n_slots: a power of two) */
    uint16_t *slots;
    size_t n_slots;
    struct msg_lang langs[MSG_MAX_LANGS]; /* [0]: English */
    size_t n_langs;
    json_t **docs; /* the parsed catalogues, which hold the texts */
    size_t n_docs;
    const struct api_runtime *help; /* whose organisation's help the page shows, NULL: none
                                       (borrowed until api_messages_finish()) */
    bool finished;
};

/* ---- texts ------------------------------------------------------------------------------- */

/* The number of %s in @s, or -1 when it holds another conversion or a lone % at its end. */
static int count_args(const char *s)
{
    int n = 0;

    for (; (s = strchr(s, '%')); s += 2) {
        if (s[1] == 's')
            n++;
        else if (s[1] != '%')
            return -1;
    }
    return n;
}

/*
 * The first slot of the key @key (@len bytes) in key_index()'s table: its length and its first
 * and last 8 bytes, mixed by multiplication. The keys are dotted names that differ at either
 * end ("text.subject", "why.works"), so that is enough to spread them, and it costs a few
 * instructions where a byte-by-byte hash cost what a binary search does. The keys are the
 * code's and the catalogues', never a client's.
 */
static size_t key_slot(const struct api_messages *m, const char *key, size_t len)
{
    uint64_t head = 0, tail = 0, h;

    if (len >= 8) {
        memcpy(&head, key, 8);
        memcpy(&tail, key + len - 8, 8);
    } else {
        memcpy(&head, key, len);
    }
    h = head * 0x9e3779b97f4a7c15u ^ (tail + len) * 0xc2b2ae3d27d4eb4fu;
    return (size_t)(h ^ h >> 32) & (m->n_slots - 1);
}

/* A key's index in m->keys, or -1. A hash table, not a binary search of the sorted keys: the
   status page's check looks up some 15 texts, and 8 strcmp() each were 1% of its cost. */
static int key_index(const struct api_messages *m, const char *key)
{
    if (!m->n_slots)
        return -1;
    for (size_t s = key_slot(m, key, strlen(key)); m->slots[s]; s = (s + 1) & (m->n_slots - 1))
        if (strcmp(key, m->keys[m->slots[s] - 1]) == 0)
            return m->slots[s] - 1;
    return -1;
}

/* key_index()'s table of m->keys. */
static int index_keys(struct api_messages *m)
{
    _Static_assert(MSG_MAX_KEYS < UINT16_MAX, "a slot holds an index + 1");
    for (m->n_slots = 16; m->n_slots < 2 * m->n_keys; m->n_slots *= 2)
        ;
    if (!(m->slots = calloc(m->n_slots, sizeof(*m->slots)))) {
        m->n_slots = 0;
        return -ENOMEM;
    }
    for (size_t i = 0; i < m->n_keys; i++) {
        size_t s = key_slot(m, m->keys[i], strlen(m->keys[i]));

        while (m->slots[s])
            s = (s + 1) & (m->n_slots - 1);
        m->slots[s] = (uint16_t)(i + 1);
    }
    return 0;
}

const char *msg_text(const struct msg_lang *l, const char *key)
{
    int i = key_index(l->m, key);

    /* a key the code has and English has not: the unit test finds it; show the key */
    return i >= 0 && l->text[i] ? l->text[i] : key;
}

const char *msg_text_of(const struct msg_lang *l, const char *prefix, const char *id)
{
    char key[128];
    size_t np = strlen(prefix), ni = strlen(id);
    int i;

    if (np + ni >= sizeof(key))
        return id;
    memcpy(key, prefix, np); /* snprintf() made each lookup three times as dear */
    memcpy(key + np, id, ni + 1);
    i = key_index(l->m, key);
    /* a key missing: the id, never @key, which dies with this frame (msg_text() would return
       it: scan-build) */
    return i >= 0 && l->text[i] ? l->text[i] : id;
}

const char *msg_tag(const struct msg_lang *l)
{
    return l->tag;
}

/* @s (@len bytes) into @b, escaped for HTML when @html. */
static void put_text(struct su_buf *b, const char *s, size_t len, bool html)
{
    if (!html) {
        su_buf_put(b, s, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        switch (s[i]) {
        case '&': su_buf_puts(b, "&amp;"); break;
        case '<': su_buf_puts(b, "&lt;"); break;
        case '>': su_buf_puts(b, "&gt;"); break;
        case '"': su_buf_puts(b, "&quot;"); break;
        case '\'': su_buf_puts(b, "&#39;"); break;
        default: su_buf_putc(b, s[i]);
        }
    }
}

/*
 * @fmt into @b with its %s replaced by the arguments of @ap in order (const char *, up to a
 * NULL; one missing: nothing) and %% by %; escaped for HTML when @html, each argument then in
 * <@wrap>...</@wrap> when @wrap is not NULL.
 */
static void format(struct su_buf *b, const char *fmt, bool html, const char *wrap, va_list ap)
{
    bool args = true;

    for (const char *p = fmt;;) {
        const char *pc = strchr(p, '%');

        put_text(b, p, pc ? (size_t)(pc - p) : strlen(p), html);
        if (!pc || !pc[1])
            return;
        if (pc[1] == 's') {
            const char *arg = args ? va_arg(ap, const char *) : NULL;

            args = arg != NULL;
            if (arg && wrap)
                su_buf_printf(b, "<%s>", wrap);
            if (arg)
                put_text(b, arg, strlen(arg), html);
            if (arg && wrap)
                su_buf_printf(b, "</%s>", wrap);
        } else {
            su_buf_putc(b, pc[1]); /* %% (nothing else passes count_args()) */
        }
        p = pc + 2;
    }
}

void msg_put(struct su_buf *b, const struct msg_lang *l, const char *key, ...)
{
    va_list ap;

    va_start(ap, key);
    format(b, msg_text(l, key), false, NULL, ap);
    va_end(ap);
}

void msg_html(struct su_buf *b, const struct msg_lang *l, const char *key, const char *wrap, ...)
{
    va_list ap;

    va_start(ap, wrap);
    format(b, msg_text(l, key), true, wrap, ap);
    va_end(ap);
}

/* ---- loading ----------------------------------------------------------------------------- */

/* The warning that @n keys are @what, naming the first of @keys (@n_keys of them) that fit in
   MSG_LIST_MAX bytes; none when it cannot be allocated. */
static void warn_keys(api_messages_warn_fn *warn, void *arg, const char *origin, const char *what,
                      const char *const *keys, size_t n_keys, size_t n)
{
    size_t list = 0, shown = 0;
    struct su_buf b;

    if (!warn || n == 0)
        return;
    su_buf_init(&b, NULL, NULL);
    su_buf_printf(&b, "%s: %zu key%s %s: ", origin, n, n == 1 ? "" : "s", what);
    for (; shown < n_keys && list + strlen(keys[shown]) + 2 <= MSG_LIST_MAX; shown++) {
        su_buf_printf(&b, "%s%s", shown ? ", " : "", keys[shown]);
        list += strlen(keys[shown]) + 2;
    }
    if (shown < n)
        su_buf_printf(&b, " and %zu more", n - shown);
    if (su_buf_str(&b))
        warn(arg, b.p);
    su_buf_release(&b);
}

static bool is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

/* A language tag as RFC 5646 spells one: letters, then subtags of letters and digits, each 1 to
   8 characters. */
static bool valid_tag(const char *s)
{
    size_t n = 0, len = strlen(s);
    bool first = true;

    if (len == 0 || len >= MSG_TAG_MAX)
        return false;
    for (const char *p = s;; p++) {
        if (*p == '-' || *p == '\0') {
            if (n == 0 || n > 8)
                return false;
            if (*p == '\0')
                return true;
            first = false;
            n = 0;
            continue;
        }
        if (!(first ? is_alpha(*p) : is_alnum(*p)))
            return false;
        n++;
    }
}

static int fail(struct sm_errinfo *e, const char *origin, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct sm_errinfo *e, const char *origin, const char *key, const char *fmt, ...)
{
    va_list ap;
    size_t len;

    len = (size_t)snprintf(e->text, sizeof(e->text), "%s: %s%s", origin, key ? key : "",
                           key ? ": " : "");
    if (len < sizeof(e->text)) {
        va_start(ap, fmt);
        vsnprintf(e->text + len, sizeof(e->text) - len, fmt, ap);
        va_end(ap);
    }
    e->field = NULL;
    return -EINVAL;
}

/* A text of a catalogue: a non-empty string of at most MSG_TEXT_MAX bytes, no control
   characters; its number of %s into *@ret_args. */
static int check_text(const char *origin, const char *key, json_t *v, int *ret_args,
                      struct sm_errinfo *e)
{
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);

    if (!json_is_string(v))
        return fail(e, origin, key, "not a string");
    if (len == 0 || len > MSG_TEXT_MAX)
        return fail(e, origin, key, "a text of 1 to %d bytes", MSG_TEXT_MAX);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return fail(e, origin, key, "a control character at byte %zu", i);
    if ((*ret_args = count_args(s)) < 0)
        return fail(e, origin, key, "a %% that is neither %%s (a value) nor %%%% (a percent sign)");
    return 0;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The shipped English catalogue @root: the keys and their placeholders. */
static int take_keys(struct api_messages *m, json_t *root, const char *origin, struct sm_errinfo *e)
{
    const char *key;
    json_t *v;
    size_t i = 0;
    int r;

    m->n_keys = json_object_size(root);
    if (m->n_keys == 0 || m->n_keys > MSG_MAX_KEYS)
        return fail(e, origin, NULL, "1 to %d keys", MSG_MAX_KEYS);
    m->keys = calloc(m->n_keys, sizeof(*m->keys));
    m->n_args = calloc(m->n_keys, sizeof(*m->n_args));
    m->langs[0].text = calloc(m->n_keys, sizeof(*m->langs[0].text));
    if (!m->keys || !m->n_args || !m->langs[0].text)
        return -ENOMEM;
    json_object_foreach(root, key, v) m->keys[i++] = key;
    qsort(m->keys, m->n_keys, sizeof(*m->keys), key_cmp);
    if (index_keys(m) < 0)
        return -ENOMEM;
    for (i = 0; i < m->n_keys; i++) {
        v = json_object_get(root, m->keys[i]);
        if ((r = check_text(origin, m->keys[i], v, &m->n_args[i], e)) < 0)
            return r;
        m->langs[0].text[i] = json_string_value(v);
    }
    snprintf(m->langs[0].tag, sizeof(m->langs[0].tag), "en");
    m->langs[0].m = m;
    m->n_langs = 1;
    return 0;
}

/* The language @tag (case-insensitive), added when new, into *@ret. */
static int lang_of(struct api_messages *m, const char *tag, const char *origin,
                   struct msg_lang **ret, struct sm_errinfo *e)
{
    struct msg_lang *l = NULL;

    for (size_t i = 0; i < m->n_langs; i++)
        if (strcasecmp(m->langs[i].tag, tag) == 0) {
            *ret = &m->langs[i];
            return 0;
        }
    if (m->n_langs == MSG_MAX_LANGS)
        return fail(e, origin, NULL, "more than %d languages", MSG_MAX_LANGS);
    l = &m->langs[m->n_langs];
    if (!(l->text = calloc(m->n_keys, sizeof(*l->text))))
        return -ENOMEM;
    l->m = m;
    snprintf(l->tag, sizeof(l->tag), "%s", tag);
    m->n_langs++;
    *ret = l;
    return 0;
}

static int add(struct api_messages *m, const char *tag, const char *json, size_t len,
               const char *origin, api_messages_warn_fn *warn, void *arg, struct sm_errinfo *e)
{
    const char *unknown[MSG_NAMED_MAX], *key; /* the first of them, named in the warning */
    size_t n_unknown = 0;                     /* all of them */
    json_error_t jerr;
    json_t *root, *v, **docs;
    struct msg_lang *l = NULL;
    char *copy;
    int r, n;

    if (m->finished)
        return -EINVAL;
    if (!valid_tag(tag))
        return fail(e, origin, NULL,
                    "\"%.40s\" is not a language tag (en, de, pt-BR: the file is LANG.json)", tag);
    if (len > API_MESSAGES_FILE_MAX)
        return fail(e, origin, NULL, "more than %d bytes", API_MESSAGES_FILE_MAX);
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        e->line = jerr.line;
        return fail(e, origin, NULL, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
    }
    if (!(docs = realloc(m->docs, (m->n_docs + 1) * sizeof(*docs)))) {
        json_decref(root);
        return -ENOMEM;
    }
    m->docs = docs;
    m->docs[m->n_docs++] = root;
    if (!json_is_object(root))
        return fail(e, origin, NULL, "not a JSON object of keys and texts");
    if (m->n_keys == 0) /* the shipped English: the keys */
        return take_keys(m, root, origin, e);
    if ((r = lang_of(m, tag, origin, &l, e)) < 0)
        return r;
    json_object_foreach(root, key, v)
    {
        int i = key_index(m, key);

        if (i < 0) {
            if (n_unknown < MSG_NAMED_MAX)
                unknown[n_unknown] = key;
            n_unknown++;
            continue;
        }
        if ((r = check_text(origin, key, v, &n, e)) < 0)
            return r;
        if (n != m->n_args[i])
            return fail(e, origin, key, "%d placeholder%s (%%s), where English has %d", n,
                        n == 1 ? "" : "s", m->n_args[i]);
        l->text[i] = json_string_value(v);
    }
    if (!(copy = strdup(origin)))
        return -ENOMEM;
    free(l->origin);
    l->origin = copy;
    warn_keys(warn, arg, origin, "English does not have, ignored", unknown,
              n_unknown < MSG_NAMED_MAX ? n_unknown : MSG_NAMED_MAX, n_unknown);
    return 0;
}

int api_messages_add(struct api_messages *m, const char *tag, const char *json, size_t len,
                     const char *origin, api_messages_warn_fn *warn, void *arg,
                     struct sm_errinfo *e)
{
    return add(m, tag, json, len, origin, warn, arg, e);
}

struct api_messages *api_messages_free(struct api_messages *m)
{
    if (!m)
        return NULL;
    for (size_t i = 0; i < m->n_langs; i++) {
        free(m->langs[i].text);
        free(m->langs[i].origin);
        free(m->langs[i].page);
        free(m->langs[i].js);
    }
    for (size_t i = 0; i < m->n_docs; i++)
        json_decref(m->docs[i]);
    free(m->docs);
    free(m->keys);
    free(m->n_args);
    free(m->slots);
    free(m);
    return NULL;
}

int api_messages_new(struct api_messages **ret, struct sm_errinfo *e)
{
    struct api_messages *m = calloc(1, sizeof(*m));
    char origin[64];
    int r = 0;

    if (!m)
        return -ENOMEM;
    /* English first: it defines the keys (api/CMakeLists.txt lists en.json first) */
    for (size_t i = 0; i < web_messages_n && r == 0; i++) {
        char tag[MSG_TAG_MAX];
        const char *dot = strrchr(web_messages[i].name, '.');

        snprintf(tag, sizeof(tag), "%.*s", (int)(dot - web_messages[i].name), web_messages[i].name);
        snprintf(origin, sizeof(origin), "web/messages/%s", web_messages[i].name);
        if (i == 0 && strcmp(tag, "en") != 0)
            r = fail(e, origin, NULL, "the first catalogue must be English's");
        else
            r = add(m, tag, (const char *)web_messages[i].data, web_messages[i].len, origin, NULL,
                    NULL, e);
    }
    if (r == 0 && m->n_keys == 0)
        r = fail(e, "web/messages", NULL, "no English catalogue");
    /* English has words for every sentence the engine names (lib/state.c) */
    for (int kind = SM_STATE_TEXT_WHY; r == 0 && kind <= SM_STATE_TEXT_STEP; kind++) {
        const char *prefix = kind == SM_STATE_TEXT_WHY ? "why." : "step.", *id;
        char key[128];

        for (size_t i = 0; r == 0 && (id = sm_state_text_id((enum sm_state_text)kind, i)); i++) {
            snprintf(key, sizeof(key), "%s%s", prefix, id);
            if (key_index(m, key) < 0)
                r = fail(e, "web/messages/en.json", key, "missing: lib/state.c names it");
        }
    }
    if (r < 0) {
        api_messages_free(m);
        return r;
    }
    *ret = m;
    return 0;
}

static pthread_once_t shipped_once = PTHREAD_ONCE_INIT;
static struct api_messages *shipped;

static void make_shipped(void)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_messages *m;

    if (api_messages_new(&m, &e) < 0)
        return;
    if (api_messages_finish(m, NULL, NULL, &e) < 0) {
        api_messages_free(m);
        return;
    }
    shipped = m;
}

const struct api_messages *api_messages_shipped(void)
{
    pthread_once(&shipped_once, make_shipped);
    return shipped;
}

/* ---- rendering --------------------------------------------------------------------------- */

/* The value of the page's data-messages attribute: the script's texts as a JSON object,
   escaped. */
static int js_attr(struct msg_lang *l)
{
    json_t *o = json_object();
    struct su_buf b;
    char *s;

    for (size_t i = 0; o && i < sizeof(js_keys) / sizeof(js_keys[0]); i++)
        if (json_object_set_new(o, js_keys[i], json_string(msg_text(l, js_keys[i]))) < 0) {
            json_decref(o);
            o = NULL;
        }
    s = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    if (!s)
        return -ENOMEM;
    su_buf_init(&b, NULL, NULL);
    put_text(&b, s, strlen(s), true);
    free(s);
    if (!su_buf_str(&b))
        return -ENOMEM;
    l->js = b.p;
    return 0;
}

/* web/status.html with its {{key}} (a text), {{@lang}}, {{@messages}} and {{@help}} (the
   organisation's help, api_messages_set_help()) filled in for @l. */
static int render(struct msg_lang *l, const struct web_file *tmpl, struct sm_errinfo *e)
{
    const char *p = (const char *)tmpl->data, *end = p + tmpl->len;
    uint8_t h[SU_SHA256_LEN];
    struct su_buf b;

    su_buf_init(&b, NULL, NULL);
    while (p < end) {
        const char *open = strstr(p, "{{"), *close;
        char name[64];

        if (!open) {
            su_buf_put(&b, p, (size_t)(end - p));
            break;
        }
        su_buf_put(&b, p, (size_t)(open - p));
        close = strstr(open + 2, "}}");
        if (!close || close - open - 2 >= (long)sizeof(name)) {
            su_buf_release(&b);
            return fail(e, "web/" MSG_TEMPLATE, NULL, "{{ without its }}");
        }
        snprintf(name, sizeof(name), "%.*s", (int)(close - open - 2), open + 2);
        if (strcmp(name, "@lang") == 0) {
            put_text(&b, l->tag, strlen(l->tag), true);
        } else if (strcmp(name, "@messages") == 0) {
            su_buf_puts(&b, l->js);
        } else if (strcmp(name, "@help") == 0) {
            if (l->m->help)
                page_help_html(&b, l->m->help, l);
        } else if (key_index(l->m, name) >= 0) {
            const char *t = msg_text(l, name);

            put_text(&b, t, strlen(t), true);
        } else {
            su_buf_release(&b);
            return fail(e, "web/" MSG_TEMPLATE, NULL, "{{%s}}: no such key in en.json", name);
        }
        p = close + 2;
    }
    if (!su_buf_str(&b))
        return -ENOMEM;
    l->page = b.p;
    l->page_len = b.len;
    su_sha256(l->page, l->page_len, h);
    snprintf(l->etag, sizeof(l->etag), "\"%02x%02x%02x%02x%02x%02x%02x%02x\"", h[0], h[1], h[2],
             h[3], h[4], h[5], h[6], h[7]);
    return 0;
}

void api_messages_set_help(struct api_messages *m, const struct api_runtime *rt)
{
    m->help = rt;
}

int api_messages_finish(struct api_messages *m, api_messages_warn_fn *warn, void *arg,
                        struct sm_errinfo *e)
{
    const struct web_file *tmpl = NULL;
    int r;

    if (m->finished)
        return 0;
    for (size_t i = 0; i < web_files_n; i++)
        if (strcmp(web_files[i].name, MSG_TEMPLATE) == 0)
            tmpl = &web_files[i];
    if (!tmpl)
        return fail(e, "web/" MSG_TEMPLATE, NULL, "not compiled in");
    for (size_t i = 0; i < m->n_langs; i++) {
        struct msg_lang *l = &m->langs[i];
        const char **missing = calloc(m->n_keys, sizeof(*missing));
        size_t n_missing = 0;

        if (!missing)
            return -ENOMEM;
        for (size_t k = 0; k < m->n_keys; k++)
            if (!l->text[k]) {
                missing[n_missing++] = m->keys[k];
                l->text[k] = m->langs[0].text[k];
            }
        warn_keys(warn, arg, l->origin ? l->origin : l->tag, "missing (English is used)", missing,
                  n_missing, n_missing);
        free(missing);
        if ((r = js_attr(l)) < 0 || (r = render(l, tmpl, e)) < 0)
            return r;
    }
    m->finished = true;
    return 0;
}

/* ---- the choice: Accept-Language -------------------------------------------------------- */

struct range {
    const char *s; /* "*" or a language range, not NUL-terminated */
    size_t len;
    unsigned q; /* 0..1000 */
};

/* A qvalue at @p (RFC 9110 12.4.2: 0[.ddd] or 1[.000]) into *@q (thousandths); the bytes read,
   or 0 when there is none. */
static size_t read_qvalue(const char *p, unsigned *q)
{
    size_t n = 1, digits = 0;
    unsigned v = 0;

    if (p[0] != '0' && p[0] != '1')
        return 0;
    if (p[1] == '.')
        for (n = 2; digits < 3 && p[n] >= '0' && p[n] <= '9'; n++, digits++)
            v = v * 10 + (unsigned)(p[n] - '0');
    for (; digits < 3; digits++)
        v *= 10;
    if (p[0] == '1' && v != 0)
        return 0;
    *q = p[0] == '1' ? 1000 : v;
    return n;
}

/* One element of Accept-Language at @p (after its OWS) into @r; the bytes up to its end (',' or
   the end of the field), or 0 when it is not a language range with an optional weight. */
static size_t read_element(const char *p, struct range *r)
{
    const char *s = p;
    size_t n;

    r->s = p;
    r->q = 1000;
    if (*p == '*') {
        p++;
    } else {
        for (n = 0; is_alpha(*p) && n < 8; p++, n++)
            ;
        if (n == 0)
            return 0;
        while (*p == '-') {
            for (p++, n = 0; is_alnum(*p) && n < 8; p++, n++)
                ;
            if (n == 0)
                return 0;
        }
    }
    r->len = (size_t)(p - s);
    p += strspn(p, " \t");
    if (*p == ';') {
        p++;
        p += strspn(p, " \t");
        if ((*p != 'q' && *p != 'Q') || p[1] != '=' || !(n = read_qvalue(p + 2, &r->q)))
            return 0;
        p += 2 + n;
        p += strspn(p, " \t");
    }
    if (*p != ',' && *p != '\0')
        return 0;
    return (size_t)(p - s);
}

/* Does range @r match tag @t by basic filtering (RFC 4647 3.3.1): equal, or a prefix of it
   that ends where one of its subtags does? */
static bool basic_match(const struct range *r, const char *t)
{
    return strncasecmp(t, r->s, r->len) == 0 && (t[r->len] == '\0' || t[r->len] == '-');
}

/* Is @l refused: q=0 for a range that matches it? */
static bool refused(const struct msg_lang *l, const struct range *rs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (rs[i].q == 0 && !(rs[i].len == 1 && rs[i].s[0] == '*') && basic_match(&rs[i], l->tag))
            return true;
    return false;
}

/* The catalogue range @r asks for: one whose tag is the range, else one the range matches (a
   language and a region of it), else the range made shorter subtag by subtag (RFC 4647 3.4,
   lookup: de-CH finds de). NULL: none, or only refused ones. */
static const struct msg_lang *lookup(const struct api_messages *m, const struct range *r,
                                     const struct range *rs, size_t n)
{
    struct range t = *r;

    for (size_t i = 0; i < m->n_langs; i++)
        if (strlen(m->langs[i].tag) == r->len && basic_match(r, m->langs[i].tag) &&
            !refused(&m->langs[i], rs, n))
            return &m->langs[i];
    for (size_t i = 0; i < m->n_langs; i++)
        if (basic_match(r, m->langs[i].tag) && !refused(&m->langs[i], rs, n))
            return &m->langs[i];
    while (t.len > 0) {
        while (t.len > 0 && t.s[t.len - 1] != '-')
            t.len--;
        if (t.len > 0)
            t.len--; /* the '-' */
        if (t.len >= 2 && t.s[t.len - 2] == '-')
            t.len -= 2; /* a singleton ("x") goes with the subtag after it */
        for (size_t i = 0; t.len > 0 && i < m->n_langs; i++)
            if (strlen(m->langs[i].tag) == t.len && basic_match(&t, m->langs[i].tag) &&
                !refused(&m->langs[i], rs, n))
                return &m->langs[i];
    }
    return NULL;
}

const struct msg_lang *msg_negotiate(const struct api_messages *m, const char *field)
{
    struct range rs[MSG_MAX_RANGES];
    size_t n = 0;

    if (!m && !(m = api_messages_shipped()))
        return NULL;
    for (const char *p = field; p && *p && n < MSG_MAX_RANGES;) {
        size_t len;

        p += strspn(p, " \t,");
        if (!*p)
            break;
        if ((len = read_element(p, &rs[n])) > 0) {
            p += len;
            n++;
        } else {
            p += strcspn(p, ","); /* not a language range: that element is ignored */
        }
    }
    /* by weight, the field's order among equals (insertion sort: stable) */
    for (size_t i = 1; i < n; i++)
        for (size_t k = i; k > 0 && rs[k].q > rs[k - 1].q; k--) {
            struct range t = rs[k];

            rs[k] = rs[k - 1];
            rs[k - 1] = t;
        }
    for (size_t i = 0; i < n && rs[i].q > 0; i++) {
        const struct msg_lang *l;

        if (rs[i].len == 1 && rs[i].s[0] == '*') {
            /* any language: English, unless refused, else the first that is not */
            for (size_t k = 0; k < m->n_langs; k++)
                if (!refused(&m->langs[k], rs, n))
                    return &m->langs[k];
            continue;
        }
        if ((l = lookup(m, &rs[i], rs, n)))
            return l;
    }
    return &m->langs[0]; /* none acceptable, or no field: English (RFC 9110 12.5.4 allows it) */
}

const char *msg_page(const struct msg_lang *l, size_t *ret_len, const char **ret_etag)
{
    *ret_len = l->page_len;
    *ret_etag = l->etag;
    return l->page;
}

const char *msg_js(const struct msg_lang *l)
{
    return l->js;
}

const char *msg_state_label(const struct msg_lang *l, enum sm_state s)
{
    return msg_text_of(l, "state.", sm_state_name(s));
}

const char *msg_why(const struct msg_lang *l, const struct sm_state_answer *st)
{
    return msg_text_of(l, "why.", st->why_id);
}

const char *msg_step(const struct msg_lang *l, const struct sm_state_answer *st, size_t i)
{
    return msg_text_of(l, "step.", st->step_ids[i]);
}

/*
 * tests/unit/test_messages.c - the status page's message catalogues (api/messages.c): the
 * shipped ones load, English words every sentence lib/state.c names and no other, an operator's
 * catalogue is checked (JSON, texts, placeholders, its name) and merged key by key, the
 * warnings name the keys, the texts are formatted (placeholders, escaping), and Accept-Language
 * picks among the languages there are. tests/api/test_page.py drives the same through the
 * daemon.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include <jansson.h>

#include <strongmap/state.h>

#include "api_internal.h"
#include "su_buf.h"

/* The warnings told, one per line. */
static char warned[4096];

static void warn(void *arg, const char *text)
{
    size_t n = strlen(warned);

    (void)arg;
    snprintf(warned + n, sizeof(warned) - n, "%s\n", text);
}

static struct api_messages *fresh(void)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_messages *m = NULL;

    assert_int_equal(api_messages_new(&m, &e), 0);
    warned[0] = '\0';
    return m;
}

static int add(struct api_messages *m, const char *tag, const char *json, struct sm_errinfo *e)
{
    return api_messages_add(m, tag, json, strlen(json), "test.json", warn, NULL, e);
}

static void test_shipped(void **state)
{
    const struct api_messages *m = api_messages_shipped();
    const struct msg_lang *en, *de;
    const char *page, *etag;
    size_t len;
    (void)state;
    assert_non_null(m);
    assert_ptr_equal(api_messages_shipped(), m); /* made once */
    en = msg_negotiate(NULL, NULL);
    de = msg_negotiate(m, "de");
    assert_string_equal(msg_tag(en), "en");
    assert_string_equal(msg_tag(de), "de");
    assert_string_equal(msg_text(en, "state.will_work"), "Will work");
    assert_string_equal(msg_text(de, "state.will_work"), "Funktioniert");
    assert_string_equal(msg_text(de, "no.such.key"), "no.such.key");
    /* an id without a text: the id itself, not the key built on msg_text_of()'s stack */
    static const char no_such[] = "no_such_id";
    assert_ptr_equal(msg_text_of(de, "why.", no_such), no_such);
    assert_string_equal(msg_text_of(de, "why.", "works"), msg_text(de, "why.works"));
    /* a key longer than its buffer: the id, as for one without a text */
    char long_id[200];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    assert_ptr_equal(msg_text_of(de, "why.", long_id), long_id);
    page = msg_page(de, &len, &etag);
    assert_int_equal(strlen(page), len);
    assert_non_null(strstr(page, "<html lang=\"de\">"));
    assert_null(strstr(page, "{{"));
    assert_non_null(strstr(page, "<!--self-->"));
    assert_int_equal(strlen(etag), 18);
    assert_non_null(strstr(msg_js(de), "&quot;state.will_fail&quot;:&quot;Funktioniert nicht"));
}

/* Every key of the shipped catalogues is found, with
   its own text; keys that differ in one byte from one, or are a prefix of one, are not. */
static void test_every_key(void **state)
{
    const struct api_messages *m = api_messages_shipped();
    static const char *const tags[] = { "en", "de" };
    json_error_t err;
    const char *key;
    json_t *v;
    char path[512], near[256];
    size_t n = 0;
    (void)state;

    for (size_t t = 0; t < 2; t++) {
        const struct msg_lang *l = msg_negotiate(m, tags[t]);

        snprintf(path, sizeof(path), "%s/web/messages/%s.json", SM_SOURCE_DIR, tags[t]);
        json_t *doc = json_load_file(path, 0, &err);

        assert_non_null(doc);
        assert_string_equal(msg_tag(l), tags[t]);
        json_object_foreach(doc, key, v)
        {
            size_t len = strlen(key);

            assert_string_equal(msg_text(l, key), json_string_value(v));
            assert_true(len + 2 < sizeof(near));
            snprintf(near, sizeof(near), "%sx", key);
            assert_ptr_equal(msg_text(l, near), near);
            memcpy(near, key, len - 1);
            near[len - 1] = '\0';
            if (!json_object_get(doc, near))
                assert_ptr_equal(msg_text(l, near), near);
            n++;
        }
        json_decref(doc);
    }
    assert_true(n > 200);
}

/* English has a why.ID and a step.ID for every id of lib/state.c (api_messages_new() fails
   else), and none other: no sentence left that nothing names. */
static void test_state_ids(void **state)
{
    json_error_t err;
    json_t *en = json_load_file(SM_SOURCE_DIR "/web/messages/en.json", 0, &err);
    const char *key, *id;
    json_t *v;
    size_t n = 0;
    (void)state;
    assert_non_null(en);
    json_object_foreach(en, key, v)
    {
        enum sm_state_text kind =
            strncmp(key, "why.", 4) == 0 ? SM_STATE_TEXT_WHY : SM_STATE_TEXT_STEP;
        const char *name = strchr(key, '.') + 1;
        bool found = false;

        if (strncmp(key, "why.", 4) != 0 && strncmp(key, "step.", 5) != 0)
            continue;
        for (size_t i = 0; !found && (id = sm_state_text_id(kind, i)); i++)
            found = strcmp(id, name) == 0;
        if (!found)
            fail_msg("en.json: %s names no sentence of lib/state.c", key);
        n++;
    }
    assert_true(n > 30);
    json_decref(en);
}

static void test_operator_catalogue(void **state)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_messages *m = fresh();
    const struct msg_lang *fr, *de;
    (void)state;
    assert_int_equal(add(m, "fr", "{\"state.will_work\": \"Fonctionnera\", \"x.y\": \"?\"}", &e),
                     0);
    assert_non_null(strstr(warned, "test.json: 1 key English does not have, ignored: x.y"));
    assert_int_equal(add(m, "DE", "{\"state.will_work\": \"Klappt\"}", &e), 0); /* the shipped de */
    warned[0] = '\0';
    assert_int_equal(api_messages_finish(m, warn, NULL, &e), 0);
    assert_non_null(strstr(warned, "test.json: "));
    assert_non_null(strstr(warned, " keys missing (English is used): answer.account_sr, "));
    /* one language misses keys: the shipped German has the rest */
    assert_null(strstr(strstr(warned, "keys missing") + 1, "keys missing"));
    fr = msg_negotiate(m, "fr-CA");
    de = msg_negotiate(m, "de");
    assert_string_equal(msg_tag(fr), "fr");
    assert_string_equal(msg_text(fr, "state.will_work"), "Fonctionnera");
    assert_string_equal(msg_text(fr, "state.will_fail"), "Will fail"); /* English, per key */
    assert_string_equal(msg_text(de, "state.will_work"), "Klappt");
    assert_string_equal(msg_text(de, "state.will_fail"), "Funktioniert nicht"); /* shipped */
    api_messages_free(m);
}

static void test_refused(void **state)
{
    static const struct {
        const char *tag, *json, *says;
    } cases[] = {
        { "fr", "{\"page.title\": \"x\",}", "test.json: line 1, column 20: " },
        { "fr", "[\"page.title\"]", "not a JSON object" },
        { "fr", "{\"page.title\": 1}", "page.title: not a string" },
        { "fr", "{\"page.title\": \"\"}", "page.title: a text of 1 to 2048 bytes" },
        { "fr", "{\"page.title\": \"a\\nb\"}", "page.title: a control character at byte 1" },
        { "fr", "{\"page.answer_title\": \"no value\"}",
          "0 placeholders (%s), where English has 1" },
        { "fr", "{\"page.title\": \"%s\"}", "page.title: 1 placeholder (%s), where English has 0" },
        { "fr", "{\"page.answer_title\": \"%d\"}", "neither %s (a value) nor %% (a percent sign)" },
        { "fr", "{\"page.answer_title\": \"%s %\"}", "neither %s" },
        { "fr", "{\"page.title\": \"a\", \"page.title\": \"b\"}", "duplicate object key" },
        { "fr_FR", "{}", "\"fr_FR\" is not a language tag" },
        { "", "{}", "is not a language tag" },
        { "toolongtag", "{}", "is not a language tag" },
        { "9x", "{}", "is not a language tag" },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sm_errinfo e = SM_ERRINFO_INIT;
        struct api_messages *m = fresh();

        if (add(m, cases[i].tag, cases[i].json, &e) != -EINVAL || !strstr(e.text, cases[i].says))
            fail_msg("case %zu: %s", i, e.text);
        api_messages_free(m);
    }
}

static void test_too_many(void **state)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_messages *m = fresh();
    char *big;
    int r = 0;
    (void)state;
    for (int i = 0; i < 40 && r == 0; i++) {
        char tag[16];

        snprintf(tag, sizeof(tag), "x%c%c", 'a' + i / 26, 'a' + i % 26);
        r = add(m, tag, "{}", &e);
    }
    assert_int_equal(r, -EINVAL);
    assert_non_null(strstr(e.text, "more than 32 languages"));
    api_messages_free(m);
    m = fresh();
    big = calloc(1, API_MESSAGES_FILE_MAX + 2);
    assert_non_null(big);
    memset(big, ' ', API_MESSAGES_FILE_MAX + 1);
    big[0] = '{';
    big[API_MESSAGES_FILE_MAX] = '}';
    assert_int_equal(add(m, "fr", big, &e), -EINVAL);
    assert_non_null(strstr(e.text, "more than 262144 bytes"));
    free(big);
    api_messages_free(m);
}

/* More keys English does not have than English has keys (security review of 2026-12-08,
   finding 4: their list overflowed the stack): all counted, the first named, the rest said to
   be more; the keys English has are still taken. */
static void test_many_unknown_keys(void **state)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_messages *m = fresh();
    const char *line, *more;
    size_t shown = 1, rest = 0;
    struct su_buf b;
    (void)state;
    su_buf_init(&b, NULL, NULL);
    su_buf_puts(&b, "{\"state.will_work\": \"Fonctionnera\"");
    for (int i = 0; i < 1100; i++)
        su_buf_printf(&b, ", \"zz.k%04d\": \"x\"", i);
    su_buf_puts(&b, "}");
    assert_non_null(su_buf_str(&b));
    assert_int_equal(add(m, "fr", b.p, &e), 0);
    su_buf_release(&b);
    line = strstr(warned, "test.json: 1100 keys English does not have, ignored: zz.k");
    assert_non_null(line);
    assert_ptr_equal(strchr(warned, '\n'), warned + strlen(warned) - 1); /* one line */
    for (const char *p = line; (p = strstr(p, ", zz.k")); p++)
        shown++;
    more = strstr(line, " and ");
    assert_non_null(more);
    assert_int_equal(sscanf(more, " and %zu more\n", &rest), 1);
    assert_true(shown > 10 && shown < 200);
    assert_int_equal(shown + rest, 1100);
    assert_int_equal(api_messages_finish(m, NULL, NULL, &e), 0);
    assert_string_equal(msg_text(msg_negotiate(m, "fr"), "state.will_work"), "Fonctionnera");
    api_messages_free(m);
}

/* A catalogue's path longer than a warning's line once was (security review of 2026-12-08,
   finding 5: the line's length went past its buffer): its warnings name it whole. */
static void test_long_origin(void **state)
{
    static const char json[] = "{\"state.will_work\": \"Fonctionnera\", \"x.y\": \"?\"}";
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_messages *m = fresh();
    char origin[1200], want[1300];
    (void)state;
    memset(origin, 'd', sizeof(origin));
    origin[0] = '/';
    snprintf(origin + 1000, sizeof(origin) - 1000, "/fr.json");
    assert_int_equal(api_messages_add(m, "fr", json, strlen(json), origin, warn, NULL, &e), 0);
    snprintf(want, sizeof(want), "%s: 1 key English does not have, ignored: x.y\n", origin);
    assert_string_equal(warned, want);
    warned[0] = '\0';
    assert_int_equal(api_messages_finish(m, warn, NULL, &e), 0);
    snprintf(want, sizeof(want), "%s: ", origin);
    assert_true(strncmp(warned, want, strlen(want)) == 0);
    assert_non_null(strstr(warned, " keys missing (English is used): answer.account_sr, "));
    assert_non_null(strstr(warned, " more\n"));
    api_messages_free(m);
}

static void test_format(void **state)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_messages *m = fresh();
    const struct msg_lang *l;
    struct su_buf b;
    (void)state;
    assert_int_equal(add(m, "xx",
                         "{\"details.certificate_result\": \"%s <%s> 100%% %s\","
                         " \"page.title\": \"A & B's\"}",
                         &e),
                     0);
    assert_int_equal(api_messages_finish(m, NULL, NULL, &e), 0);
    l = msg_negotiate(m, "xx");
    su_buf_init(&b, NULL, NULL);
    msg_put(&b, l, "details.certificate_result", "a<b", "c", "d", NULL);
    assert_string_equal(su_buf_str(&b), "a<b <c> 100% d");
    su_buf_release(&b);
    msg_put(&b, l, "details.certificate_result", "only", NULL); /* missing: nothing */
    assert_string_equal(su_buf_str(&b), "only <> 100% ");
    su_buf_release(&b);
    msg_html(&b, l, "details.certificate_result", "strong", "a<b", "\"q\"", "'", NULL);
    assert_string_equal(su_buf_str(&b), "<strong>a&lt;b</strong> &lt;<strong>&quot;q&quot;"
                                        "</strong>&gt; 100% <strong>&#39;</strong>");
    su_buf_release(&b);
    msg_html(&b, l, "page.title", NULL, NULL);
    assert_string_equal(su_buf_str(&b), "A &amp; B&#39;s");
    su_buf_release(&b);
    /* the page escapes it too */
    assert_non_null(strstr(msg_page(l, &(size_t){ 0 }, &(const char *){ NULL }),
                           "<title>A &amp; B&#39;s</title>"));
    api_messages_free(m);
}

static void test_negotiate(void **state)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_messages *m = fresh();
    static const struct {
        const char *field, *want;
    } cases[] = {
        { NULL, "en" },
        { "", "en" },
        { "de", "de" },
        { "de-AT", "de-AT" },      /* its own */
        { "de-CH", "de" },         /* shorter */
        { "pt", "pt-BR" },         /* a region of it */
        { "pt-PT", "en" },         /* neither pt nor pt-PT */
        { "pt-BR;q=0, pt", "en" }, /* refused */
        { "de;q=0.8, pt;q=0.9", "pt-BR" },
        { "*;q=0.1, de;q=0.2", "de" },
        { "en;q=0, *", "de" },            /* the first not refused */
        { "en;q=0, de;q=0, *", "pt-BR" }, /* de;q=0 refuses de-AT too */
        { "de , fr", "de" },
        { " \t,de", "de" },
        { "de;Q=0.5", "de" },
        { "de;q=.5", "en" },
        { "de;q=1.", "de" },
        { "de-;q=1", "en" },
        { "de--AT", "en" },
        { "a-b-c-d-e-f-g-h-i-j-k-l-m-n-o-p-q-r-s-t-u-v-w-x-y-z-de, de-AT", "de-AT" },
    };
    (void)state;
    assert_int_equal(add(m, "de-AT", "{\"state.at_risk\": \"Gefährdet (AT)\"}", &e), 0);
    assert_int_equal(add(m, "pt-BR", "{\"state.at_risk\": \"Em risco\"}", &e), 0);
    assert_int_equal(api_messages_finish(m, NULL, NULL, &e), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = msg_tag(msg_negotiate(m, cases[i].field));

        if (strcmp(got, cases[i].want) != 0)
            fail_msg("Accept-Language: %s -> %s, not %s",
                     cases[i].field ? cases[i].field : "(none)", got, cases[i].want);
    }
    api_messages_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shipped),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_state_ids),
        cmocka_unit_test(test_operator_catalogue),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_too_many),
        cmocka_unit_test(test_many_unknown_keys),
        cmocka_unit_test(test_long_origin),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_negotiate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * tests/unit/test_su_jsonw.c - the streaming JSON writer (support/su_jsonw.c): escaping, UTF-8
 * validation, layouts, errors, and byte-for-byte agreement with Jansson's json_dumps() (the
 * renderer lib/json.c replaced) on hand-made, generated and real (sm_json_certs) documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>

#include <strongmap/strongmap.h>

#include "su_jsonw.h"

#define MARKER "\"" SU_JSONW_NOT_UTF8 "\""

/* Jansson's flags for the two layouts of lib/json.c */
#define JANSSON_COMPACT (JSON_PRESERVE_ORDER | JSON_COMPACT)
#define JANSSON_PRETTY  (JSON_PRESERVE_ORDER | JSON_INDENT(2))

/* ---- helpers ------------------------------------------------------------------------------- */

static char *finish_ok(struct su_jsonw *w)
{
    char *s = NULL;
    size_t len = 0;
    int r = su_jsonw_finish(w, &s, &len);
    if (r != 0)
        fail_msg("su_jsonw_finish: %d", r);
    assert_non_null(s);
    assert_int_equal(len, strlen(s));
    return s;
}

/* One string value as a whole document. */
static char *string_doc(const char *s, size_t len)
{
    struct su_jsonw w;
    su_jsonw_init(&w, 0, NULL, NULL);
    assert_int_equal(su_jsonw_stringn(&w, s, len), 0);
    return finish_ok(&w);
}

static void assert_string_doc(const char *s, size_t len, const char *want)
{
    char *got = string_doc(s, len);
    assert_string_equal(got, want);
    free(got);
}

/* What Jansson writes for the string @s (JSON_ENCODE_ANY: a string at the top level). */
static char *jansson_string_doc(const char *s, size_t len)
{
    json_t *v = json_stringn(s, len);
    assert_non_null(v);
    char *d = json_dumps(v, JSON_ENCODE_ANY | JANSSON_COMPACT);
    json_decref(v);
    assert_non_null(d);
    return d;
}

/* Write the Jansson value @v with the writer (objects in their insertion order). */
static void write_jansson(struct su_jsonw *w, json_t *v)
{
    const char *key;
    json_t *item;
    size_t i;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        su_jsonw_object_begin(w);
        json_object_foreach(v, key, item)
        {
            su_jsonw_keyn(w, key, strlen(key));
            write_jansson(w, item);
        }
        su_jsonw_object_end(w);
        break;
    case JSON_ARRAY:
        su_jsonw_array_begin(w);
        json_array_foreach(v, i, item) write_jansson(w, item);
        su_jsonw_array_end(w);
        break;
    case JSON_STRING: su_jsonw_stringn(w, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: su_jsonw_int(w, json_integer_value(v)); break;
    case JSON_TRUE: su_jsonw_bool(w, true); break;
    case JSON_FALSE: su_jsonw_bool(w, false); break;
    case JSON_NULL: su_jsonw_null(w); break;
    default: fail_msg("unexpected JSON type %d", (int)json_typeof(v));
    }
}

/* The writer's and Jansson's renderings of @v agree, compact and pretty. */
static void assert_same_as_jansson(json_t *v)
{
    static const struct {
        unsigned jw;
        size_t jansson;
    } layouts[] = { { 0, JANSSON_COMPACT }, { SU_JSONW_PRETTY, JANSSON_PRETTY } };
    for (size_t i = 0; i < 2; i++) {
        struct su_jsonw w;
        su_jsonw_init(&w, layouts[i].jw, NULL, NULL);
        write_jansson(&w, v);
        char *got = finish_ok(&w);
        char *want = json_dumps(v, layouts[i].jansson);
        assert_non_null(want);
        assert_string_equal(got, want);
        free(got);
        free(want);
    }
}

/* ---- strings ------------------------------------------------------------------------------- */

static void test_control_characters(void **state)
{
    (void)state;
    static const char hex[] = "0123456789ABCDEF";
    for (unsigned c = 0; c < 0x20; c++) {
        char in[3] = { 'a', (char)c, 'b' }, want[16];
        switch (c) {
        case '\b': strcpy(want, "\"a\\bb\""); break;
        case '\f': strcpy(want, "\"a\\fb\""); break;
        case '\n': strcpy(want, "\"a\\nb\""); break;
        case '\r': strcpy(want, "\"a\\rb\""); break;
        case '\t': strcpy(want, "\"a\\tb\""); break;
        default: snprintf(want, sizeof(want), "\"a\\u00%c%cb\"", hex[c >> 4], hex[c & 15]);
        }
        assert_string_doc(in, sizeof(in), want);
        /* and that is what Jansson writes (upper-case hex: \u001B) */
        char *j = jansson_string_doc(in, sizeof(in));
        assert_string_equal(j, want);
        free(j);
    }
    assert_string_doc("\x1b[0m", 4, "\"\\u001B[0m\"");
    assert_string_doc("\n\n", 2, "\"\\n\\n\"");
}

static void test_quote_backslash_and_plain(void **state)
{
    (void)state;
    assert_string_doc("\"", 1, "\"\\\"\"");
    assert_string_doc("\\", 1, "\"\\\\\"");
    assert_string_doc("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
    /* not escaped: '/', DEL, the rest of printable ASCII */
    assert_string_doc("</script>", 9, "\"</script>\"");
    assert_string_doc("\x7f", 1, "\"\x7f\"");
    assert_string_doc("", 0, "\"\"");
    char all[95], want[100];
    size_t n = 0, m = 0;
    want[m++] = '"';
    for (int c = 0x20; c < 0x7f; c++) {
        all[n++] = (char)c;
        if (c == '"' || c == '\\')
            want[m++] = '\\';
        want[m++] = (char)c;
    }
    want[m++] = '"';
    want[m] = '\0';
    assert_string_doc(all, n, want);
}

static void test_utf8_passthrough(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "\xc2\x80",                     /* U+0080, the first 2-byte one */
        "Zo\xc3\xab",                   /* U+00EB */
        "\xdf\xbf",                     /* U+07FF */
        "\xe0\xa0\x80",                 /* U+0800 */
        "\xe6\x9d\xb1\xe4\xba\xac",     /* two CJK characters */
        "\xed\x9f\xbf",                 /* U+D7FF, below the surrogates */
        "\xee\x80\x80",                 /* U+E000, above them */
        "\xef\xbf\xbd",                 /* U+FFFD */
        "\xef\xbf\xbf",                 /* U+FFFF */
        "\xf0\x90\x80\x80",             /* U+10000 */
        "\xf0\x9f\x98\x80",             /* U+1F600 */
        "\xf4\x8f\xbf\xbf",             /* U+10FFFF */
        "a\xc3\xa9\"\t\xe2\x82\xac/\\", /* mixed with escapes */
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        size_t len = strlen(ok[i]);
        char *got = string_doc(ok[i], len);
        char *want = jansson_string_doc(ok[i], len);
        assert_string_equal(got, want);
        /* without escapes, the bytes are copied unchanged */
        if (!strpbrk(ok[i], "\"\\\t")) {
            assert_int_equal(strlen(got), len + 2);
            assert_memory_equal(got + 1, ok[i], len);
        }
        free(got);
        free(want);
    }
    assert_string_doc("Zo\xc3\xab \xe6\x9d\xb1", 8, "\"Zo\xc3\xab \xe6\x9d\xb1\"");
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "\x80",                 /* a lone continuation byte */
        "a\xbf",                /* another */
        "\xc0\x80",             /* overlong NUL */
        "\xc1\xbf",             /* overlong 0x7f */
        "\xc2",                 /* truncated */
        "\xc2\x41",             /* continuation missing */
        "\xe0\x80\x80",         /* overlong 3-byte */
        "\xe0\x9f\xbf",         /* overlong U+07FF */
        "\xed\xa0\x80",         /* U+D800, a surrogate */
        "\xed\xbf\xbf",         /* U+DFFF */
        "\xe2\x82",             /* truncated */
        "\xf0\x80\x80\x80",     /* overlong 4-byte */
        "\xf0\x8f\xbf\xbf",     /* overlong U+FFFF */
        "\xf4\x90\x80\x80",     /* U+110000 */
        "\xf5\x80\x80\x80",     /* lead byte above F4 */
        "\xf8\x88\x80\x80\x80", /* 5-byte form */
        "\xfe",
        "\xff",
        "\xf0\x9f\x98",              /* truncated emoji */
        "ok \"quoted\"\n then \xff", /* invalid after escapes: nothing of it is kept */
        "\xc3\xa9\xc3",              /* valid, then truncated */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t len = strlen(bad[i]);
        assert_string_doc(bad[i], len, MARKER);
        /* Jansson refuses the same strings (lib/json.c then wrote the marker) */
        json_t *v = json_stringn(bad[i], len);
        if (v)
            fail_msg("Jansson accepts bad[%zu]", i);
    }
    /* inside a document, only the value is replaced */
    struct su_jsonw w;
    su_jsonw_init(&w, 0, NULL, NULL);
    su_jsonw_object_begin(&w);
    su_jsonw_kstr(&w, "a", "x\xff");
    su_jsonw_kstr(&w, "b", "y");
    su_jsonw_object_end(&w);
    char *s = finish_ok(&w);
    assert_string_equal(s, "{\"a\":" MARKER ",\"b\":\"y\"}");
    free(s);
}

static void test_nul_bytes(void **state)
{
    (void)state;
    assert_string_doc("a\0b", 3, "\"a\\u0000b\"");
    char *j = jansson_string_doc("a\0b", 3);
    assert_string_equal(j, "\"a\\u0000b\"");
    free(j);
}

/* ---- values and layout ------------------------------------------------------------------- */

static void test_integers(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        const char *want;
    } cases[] = {
        { 0, "0" },
        { 1, "1" },
        { -1, "-1" },
        { 9, "9" },
        { 10, "10" },
        { -10, "-10" },
        { 1234567890, "1234567890" },
        { INT64_MAX, "9223372036854775807" },
        { INT64_MIN, "-9223372036854775808" },
        { INT64_MIN + 1, "-9223372036854775807" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct su_jsonw w;
        su_jsonw_init(&w, 0, NULL, NULL);
        assert_int_equal(su_jsonw_int(&w, cases[i].v), 0);
        char *s = finish_ok(&w);
        assert_string_equal(s, cases[i].want);
        free(s);
        json_t *v = json_integer(cases[i].v);
        char *j = json_dumps(v, JSON_ENCODE_ANY);
        assert_string_equal(j, cases[i].want);
        free(j);
        json_decref(v);
    }
}

/* A small document with every kind of value and nesting, written with the writer. */
static void write_sample(struct su_jsonw *w)
{
    su_jsonw_object_begin(w);
    su_jsonw_kint(w, "a", 1);
    su_jsonw_key(w, "b");
    su_jsonw_array_begin(w);
    su_jsonw_int(w, 1);
    su_jsonw_int(w, -2);
    su_jsonw_object_begin(w);
    su_jsonw_kbool(w, "t", true);
    su_jsonw_kbool(w, "f", false);
    su_jsonw_knull(w, "n");
    su_jsonw_object_end(w);
    su_jsonw_array_begin(w);
    su_jsonw_array_end(w);
    su_jsonw_object_begin(w);
    su_jsonw_object_end(w);
    su_jsonw_array_end(w);
    su_jsonw_kstr(w, "s", "x\ty");
    su_jsonw_kstr(w, "null_string", NULL);
    su_jsonw_key(w, "empty_object");
    su_jsonw_object_begin(w);
    su_jsonw_object_end(w);
    su_jsonw_key(w, "empty_array");
    su_jsonw_array_begin(w);
    su_jsonw_array_end(w);
    su_jsonw_object_end(w);
}

static void test_layouts(void **state)
{
    (void)state;
    struct su_jsonw w;
    su_jsonw_init(&w, 0, NULL, NULL);
    write_sample(&w);
    char *s = finish_ok(&w);
    assert_string_equal(s, "{\"a\":1,\"b\":[1,-2,{\"t\":true,\"f\":false,\"n\":null},[],{}],"
                           "\"s\":\"x\\ty\",\"null_string\":null,\"empty_object\":{},"
                           "\"empty_array\":[]}");
    free(s);

    su_jsonw_init(&w, SU_JSONW_PRETTY, NULL, NULL);
    write_sample(&w);
    s = finish_ok(&w);
    assert_string_equal(s, "{\n"
                           "  \"a\": 1,\n"
                           "  \"b\": [\n"
                           "    1,\n"
                           "    -2,\n"
                           "    {\n"
                           "      \"t\": true,\n"
                           "      \"f\": false,\n"
                           "      \"n\": null\n"
                           "    },\n"
                           "    [],\n"
                           "    {}\n"
                           "  ],\n"
                           "  \"s\": \"x\\ty\",\n"
                           "  \"null_string\": null,\n"
                           "  \"empty_object\": {},\n"
                           "  \"empty_array\": []\n"
                           "}");
    free(s);
}

static void test_empty_containers(void **state)
{
    (void)state;
    static const struct {
        unsigned flags;
        bool object;
        const char *want;
    } cases[] = {
        { 0, true, "{}" },
        { 0, false, "[]" },
        { SU_JSONW_PRETTY, true, "{}" },
        { SU_JSONW_PRETTY, false, "[]" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct su_jsonw w;
        su_jsonw_init(&w, cases[i].flags, NULL, NULL);
        if (cases[i].object) {
            su_jsonw_object_begin(&w);
            su_jsonw_object_end(&w);
        } else {
            su_jsonw_array_begin(&w);
            su_jsonw_array_end(&w);
        }
        char *s = finish_ok(&w);
        assert_string_equal(s, cases[i].want);
        free(s);
    }
    /* nested empties, both layouts, as Jansson writes them */
    json_t *v = json_pack("{s:{},s:[],s:[[],{},[[]]],s:{s:{}}}", "o", "a", "mix", "deep", "x");
    assert_non_null(v);
    assert_same_as_jansson(v);
    json_decref(v);
}

static void test_depth(void **state)
{
    (void)state;
    struct su_jsonw w;
    char *s;

    /* exactly SU_JSONW_MAX_DEPTH levels are fine */
    su_jsonw_init(&w, SU_JSONW_PRETTY, NULL, NULL);
    for (int i = 0; i < SU_JSONW_MAX_DEPTH; i++)
        assert_int_equal(su_jsonw_array_begin(&w), 0);
    su_jsonw_int(&w, 7);
    for (int i = 0; i < SU_JSONW_MAX_DEPTH; i++)
        assert_int_equal(su_jsonw_array_end(&w), 0);
    s = finish_ok(&w);
    json_t *v = json_loads(s, 0, NULL);
    assert_non_null(v);
    assert_same_as_jansson(v);
    json_decref(v);
    free(s);

    /* one more is an error, sticky, reported by su_jsonw_finish(); nothing leaks */
    su_jsonw_init(&w, 0, NULL, NULL);
    for (int i = 0; i < SU_JSONW_MAX_DEPTH; i++)
        assert_int_equal(su_jsonw_object_begin(&w) == 0 && su_jsonw_key(&w, "k") == 0, 1);
    assert_int_equal(su_jsonw_object_begin(&w), -EINVAL);
    assert_int_equal(su_jsonw_int(&w, 1), -EINVAL);
    assert_int_equal(su_jsonw_object_end(&w), -EINVAL);
    s = NULL;
    assert_int_equal(su_jsonw_finish(&w, &s, NULL), -EINVAL);
    assert_null(s);
}

static int misuse(void (*f)(struct su_jsonw *w))
{
    struct su_jsonw w;
    char *s = NULL;
    su_jsonw_init(&w, 0, NULL, NULL);
    f(&w);
    int r = su_jsonw_finish(&w, &s, NULL);
    assert_null(s);
    return r;
}

static void key_in_array(struct su_jsonw *w)
{
    su_jsonw_array_begin(w);
    su_jsonw_key(w, "k");
    su_jsonw_int(w, 1);
    su_jsonw_array_end(w);
}

static void value_without_key(struct su_jsonw *w)
{
    su_jsonw_object_begin(w);
    su_jsonw_int(w, 1);
    su_jsonw_object_end(w);
}

static void key_without_value(struct su_jsonw *w)
{
    su_jsonw_object_begin(w);
    su_jsonw_key(w, "k");
    su_jsonw_object_end(w);
}

static void two_keys(struct su_jsonw *w)
{
    su_jsonw_object_begin(w);
    su_jsonw_key(w, "k");
    su_jsonw_key(w, "l");
    su_jsonw_int(w, 1);
    su_jsonw_object_end(w);
}

static void wrong_end(struct su_jsonw *w)
{
    su_jsonw_object_begin(w);
    su_jsonw_array_end(w);
}

static void unbalanced_end(struct su_jsonw *w)
{
    su_jsonw_array_begin(w);
    su_jsonw_array_end(w);
    su_jsonw_array_end(w);
}

static void left_open(struct su_jsonw *w)
{
    su_jsonw_array_begin(w);
    su_jsonw_int(w, 1);
}

static void two_roots(struct su_jsonw *w)
{
    su_jsonw_int(w, 1);
    su_jsonw_int(w, 2);
}

static void nothing(struct su_jsonw *w)
{
    (void)w;
}

static void test_misuse(void **state)
{
    (void)state;
    assert_int_equal(misuse(key_in_array), -EINVAL);
    assert_int_equal(misuse(value_without_key), -EINVAL);
    assert_int_equal(misuse(key_without_value), -EINVAL);
    assert_int_equal(misuse(two_keys), -EINVAL);
    assert_int_equal(misuse(wrong_end), -EINVAL);
    assert_int_equal(misuse(unbalanced_end), -EINVAL);
    assert_int_equal(misuse(left_open), -EINVAL);
    assert_int_equal(misuse(two_roots), -EINVAL);
    assert_int_equal(misuse(nothing), -EINVAL);

    /* release without finishing */
    struct su_jsonw w;
    su_jsonw_init(&w, 0, NULL, NULL);
    su_jsonw_object_begin(&w);
    su_jsonw_kstr(&w, "a", "b");
    su_jsonw_release(&w);

    /* a caller's own failure: sticky, the first one stays, nothing is handed over */
    char *s = NULL;
    su_jsonw_init(&w, 0, NULL, NULL);
    su_jsonw_object_begin(&w);
    assert_int_equal(su_jsonw_fail(&w, -ENOMEM), -ENOMEM);
    assert_int_equal(su_jsonw_fail(&w, -EIO), -ENOMEM);
    assert_int_equal(su_jsonw_kstr(&w, "a", "b"), -ENOMEM);
    assert_int_equal(su_jsonw_object_end(&w), -ENOMEM);
    assert_int_equal(su_jsonw_finish(&w, &s, NULL), -ENOMEM);
    assert_null(s);
}

/* An allocator that counts its calls and fails after @ctx's budget of growths. */
struct counted {
    int grows, releases, budget;
};

static void *counted_alloc(void *ctx, void *p, size_t keep, size_t size)
{
    struct counted *c = ctx;
    (void)keep;
    if (size == 0) {
        c->releases++;
        free(p);
        return NULL;
    }
    if (c->grows == c->budget)
        return NULL;
    c->grows++;
    return realloc(p, size);
}

static void test_allocator(void **state)
{
    (void)state;
    static char big[20000];
    struct su_jsonw w;
    struct counted c = { .budget = 10 };
    char *s = NULL;

    memset(big, 'x', sizeof(big) - 1);
    /* the owner's allocator serves every growth; the document is handed over, not released */
    su_jsonw_init(&w, 0, counted_alloc, &c);
    su_jsonw_array_begin(&w);
    su_jsonw_string(&w, big);
    su_jsonw_string(&w, big);
    su_jsonw_array_end(&w);
    s = finish_ok(&w);
    assert_int_equal(strlen(s), 2 * (sizeof(big) + 1) + 3);
    assert_int_equal(c.grows, 3); /* 8 KiB for "[", 32 KiB, then 64 KiB */
    assert_int_equal(c.releases, 0);
    free(s);

    /* its failure is the writer's -ENOMEM, and the buffer goes back to it */
    c = (struct counted){ .budget = 1 };
    su_jsonw_init(&w, 0, counted_alloc, &c);
    su_jsonw_array_begin(&w);
    assert_int_equal(su_jsonw_string(&w, big), -ENOMEM);
    su_jsonw_array_end(&w);
    s = NULL;
    assert_int_equal(su_jsonw_finish(&w, &s, NULL), -ENOMEM);
    assert_null(s);
    assert_int_equal(c.grows, 1);
    assert_int_equal(c.releases, 1);
}

static void test_large_document(void **state)
{
    (void)state;
    /* many buffer growths; long strings with escapes at both ends */
    char big[10000];
    memset(big, 'x', sizeof(big));
    big[0] = '\n';
    big[sizeof(big) - 1] = '"';
    json_t *v = json_object(), *a = json_array();
    for (int i = 0; i < 2000; i++)
        json_array_append_new(a, json_integer(i * 7919LL - 5000000));
    json_object_set_new(v, "numbers", a);
    json_object_set_new(v, "big", json_stringn(big, sizeof(big)));
    assert_same_as_jansson(v);
    json_decref(v);
}

/* ---- agreement with Jansson -------------------------------------------------------------- */

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* A random valid UTF-8 string: controls, JSON specials, ASCII and 2- to 4-byte characters. */
static json_t *random_string(void)
{
    static const char *const pieces[] = {
        "a",
        "Z",
        " ",
        "\"",
        "\\",
        "/",
        "\x7f",
        "\n",
        "\r",
        "\t",
        "\b",
        "\f",
        "\x01",
        "\x1f",
        "\x1b",
        "\xc3\xa9",
        "\xce\xa9",
        "\xe6\x9d\xb1",
        "\xef\xbf\xbd",
        "\xf0\x9f\x98\x80",
        "\xf4\x8f\xbf\xbf",
        "CN=Alice,DC=example",
        "<SR>",
        "\0",
    };
    char buf[256];
    size_t len = 0, n = next() % 12;
    for (size_t i = 0; i < n; i++) {
        size_t k = next() % (sizeof(pieces) / sizeof(pieces[0]));
        size_t plen = pieces[k][0] ? strlen(pieces[k]) : 1; /* the last piece is a NUL */
        memcpy(buf + len, pieces[k], plen);
        len += plen;
    }
    return json_stringn(buf, len);
}

static json_t *random_value(int depth)
{
    static const json_int_t ints[] = { 0, 1, -1, 42, 65535, INT64_MAX, INT64_MIN };
    switch (next() % (depth > 0 ? 8 : 6)) {
    case 0: return random_string();
    case 1: return json_integer(ints[next() % 7]);
    case 2: return json_integer((json_int_t)next() - 0x7fffffff);
    case 3: return json_boolean(next() & 1);
    case 4: return json_null();
    case 5: return random_string();
    case 6: {
        json_t *a = json_array();
        for (uint32_t i = 0, n = next() % 5; i < n; i++)
            json_array_append_new(a, random_value(depth - 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint32_t i = 0, n = next() % 5; i < n; i++) {
            json_t *k = random_string();
            const char *key = json_string_value(k);
            if (strlen(key) == json_string_length(k)) /* keys without NUL */
                json_object_set_new(o, key, random_value(depth - 1));
            json_decref(k);
        }
        return o;
    }
    }
}

static void test_same_as_jansson_generated(void **state)
{
    (void)state;
    for (int i = 0; i < 500; i++) {
        json_t *root = json_object();
        json_object_set_new(root, "doc", random_value(5));
        json_object_set_new(root, "list", random_value(3));
        assert_same_as_jansson(root);
        json_decref(root);
    }
}

static void test_same_as_jansson_documents(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{}",
        "[]",
        "{\"a\":[],\"b\":{},\"c\":[{}],\"d\":[[],[]]}",
        ("{\"certificates\":[{\"index\":0,\"subject\":\"CN=Zo\\u00eb \\u6771\",\"san\":{\"upn\":"
         "[\"alice@example.com\"],\"dns\":[]},\"sid\":null,\"critical\":true}],\"errors\":[],"
         "\"format\":\"pem\"}"),
        "[1,-9223372036854775808,9223372036854775807,true,false,null,\"\\u0000\\u001f\\\"\"]",
        ("{\"type\":\"/problems/bad-json\",\"title\":\"Malformed JSON\",\"status\":400,"
         "\"detail\":\"line 1: '\\\\' \\\"x\\\" \\ud83d\\ude00\"}"),
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_error_t err;
        json_t *v = json_loads(docs[i], JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
        if (!v)
            fail_msg("doc %zu: %s", i, err.text);
        assert_same_as_jansson(v);
        json_decref(v);
    }
}

/*
 * The documents lib/json.c writes for every fixture equal what Jansson writes for the same
 * content (parsed back, then dumped): compact and pretty.
 */
static void test_certs_documents(void **state)
{
    (void)state;
    const char *data = getenv("SM_TEST_DATA");
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/certs", data ? data : "tests/data");
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s", dir);
    struct dirent *de;
    int checked = 0;
    while ((de = readdir(d)) != NULL) {
        size_t nlen = strlen(de->d_name);
        if (nlen < 4 || strcmp(de->d_name + nlen - 4, ".pem") != 0)
            continue;
        char path[2048];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static char buf[256 * 1024];
        size_t len = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        struct sm_certs *c = NULL;
        struct sm_parse_opts o = { .now = 1780272000 };
        if (sm_certs_parse(buf, len, &o, &c, NULL) != 0)
            continue;
        for (int pretty = 0; pretty < 2; pretty++) {
            char *mine = NULL;
            assert_int_equal(sm_json_certs(c, pretty ? SM_JSON_PRETTY : 0, &mine), 0);
            json_error_t err;
            json_t *v = json_loads(mine, 0, &err);
            if (!v)
                fail_msg("%s: %s", de->d_name, err.text);
            char *jansson = json_dumps(v, pretty ? JANSSON_PRETTY : JANSSON_COMPACT);
            assert_non_null(jansson);
            if (strcmp(mine, jansson) != 0)
                fail_msg("%s (%s): the writer and Jansson differ", de->d_name,
                         pretty ? "pretty" : "compact");
            free(jansson);
            json_decref(v);
            free(mine);
        }
        sm_certs_free(c);
        checked++;
    }
    closedir(d);
    assert_true(checked >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_quote_backslash_and_plain),
        cmocka_unit_test(test_utf8_passthrough),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_nul_bytes),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_empty_containers),
        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_misuse),
        cmocka_unit_test(test_allocator),
        cmocka_unit_test(test_large_document),
        cmocka_unit_test(test_same_as_jansson_generated),
        cmocka_unit_test(test_same_as_jansson_documents),
        cmocka_unit_test(test_certs_documents),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * lib/jsonw.h - a small streaming JSON writer: values go straight into a growing buffer, with
 * the commas, the layout and the string escaping of Jansson 2.14's json_dumps() (flags
 * JSON_COMPACT, or JSON_INDENT(2) with JSONW_PRETTY). Not installed.
 *
 * Strings: '"' and '\\' become \" and \\; \b \f \n \r \t their short escapes; other control
 * characters \u00XX (upper-case hex, as Jansson writes them); everything else, including
 * 0x7f, '/' and valid non-ASCII UTF-8, is copied unchanged. A string that is not valid UTF-8
 * (overlongs, surrogates and code points above U+10FFFF are invalid) is written as the marker
 * JSONW_NOT_UTF8 instead, never as invalid JSON.
 *
 * Layout: compact is {"a":1,"b":[1,2]}; pretty puts each member on its own line, indented by
 * two spaces per level, as "key": value, and writes empty containers as {} and [].
 *
 * Errors are sticky: every call returns 0, or the first error, after which writes are
 * ignored. -ENOMEM on allocation failure; -EINVAL on misuse (nesting deeper than
 * JSONW_MAX_DEPTH, a key outside an object, a value where a key is expected, an unbalanced
 * end). jsonw_finish() reports it once and releases the buffer.
 */
#ifndef SM_LIB_JSONW_H
#define SM_LIB_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JSONW_MAX_DEPTH 32
/** What a string that is not valid UTF-8 is written as ("\ufffd (not UTF-8)"). */
#define JSONW_NOT_UTF8 "\xef\xbf\xbd (not UTF-8)"

enum jsonw_flags {
    JSONW_PRETTY = 1 << 0, /**< newline and two spaces per level, "key": value */
};

struct jsonw {
    char *p;
    size_t len, cap;
    int err;                        /* sticky: 0, -ENOMEM or -EINVAL */
    unsigned depth;                 /* open containers */
    bool pretty;                    /* JSONW_PRETTY */
    bool want_value;                /* a key was written: the next call writes its value */
    bool done;                      /* a complete top-level value was written */
    uint8_t state[JSONW_MAX_DEPTH]; /* per open container: JW_OBJECT, JW_NONEMPTY bits */
};

void jsonw_init(struct jsonw *w, unsigned flags);
/** Free the buffer (not needed after jsonw_finish()). */
void jsonw_release(struct jsonw *w);
/**
 * The NUL-terminated document in *@ret (free() it; its length in *@ret_len when non-NULL) and
 * 0, or the sticky error (-EINVAL also when containers are still open or nothing was written).
 * The writer's buffer is handed over or freed either way.
 */
int jsonw_finish(struct jsonw *w, char **ret, size_t *ret_len);

int jsonw_object_begin(struct jsonw *w);
int jsonw_object_end(struct jsonw *w);
int jsonw_array_begin(struct jsonw *w);
int jsonw_array_end(struct jsonw *w);

/** An object member's key, any string (escaped like a value); the next call writes its value. */
int jsonw_keyn(struct jsonw *w, const char *key, size_t len);
/** A string of @len bytes (NUL bytes are written as \u0000). */
int jsonw_stringn(struct jsonw *w, const char *s, size_t len);
int jsonw_int(struct jsonw *w, int64_t v);
int jsonw_bool(struct jsonw *w, bool v);
int jsonw_null(struct jsonw *w);

/** A NUL-terminated string, or null when @s is NULL. */
static inline int jsonw_string(struct jsonw *w, const char *s)
{
    return s ? jsonw_stringn(w, s, strlen(s)) : jsonw_null(w);
}

/*
 * Keys given as string literals that need no escaping (identifiers, as all of lib/json.c's):
 * quoted at compile time, "\"key\": ", and copied as they are (the space only when pretty).
 * jsonw_key() writes the key alone; jsonw_kstr() and the others a whole member. Any other key:
 * jsonw_keyn().
 */
#define JSONW_QUOTED_KEY(k)  "\"" k "\": "
#define JSONW_KEY_ARGS(k)    JSONW_QUOTED_KEY(k), sizeof(JSONW_QUOTED_KEY(k)) - 1
#define jsonw_key(w, k)      jsonw_quoted_key((w), JSONW_KEY_ARGS(k))
#define jsonw_kstr(w, k, s)  jsonw_member_string((w), JSONW_KEY_ARGS(k), (s))
#define jsonw_kint(w, k, v)  jsonw_member_int((w), JSONW_KEY_ARGS(k), (v))
#define jsonw_kbool(w, k, v) jsonw_member_bool((w), JSONW_KEY_ARGS(k), (v))
#define jsonw_knull(w, k)    jsonw_member_null((w), JSONW_KEY_ARGS(k))

/* The functions behind those macros: @quoted is the quoted key and ": ", @qlen its length. */
int jsonw_quoted_key(struct jsonw *w, const char *quoted, size_t qlen);
/** The member; its value is null when @s is NULL. */
int jsonw_member_string(struct jsonw *w, const char *quoted, size_t qlen, const char *s);
int jsonw_member_int(struct jsonw *w, const char *quoted, size_t qlen, int64_t v);
int jsonw_member_bool(struct jsonw *w, const char *quoted, size_t qlen, bool v);
int jsonw_member_null(struct jsonw *w, const char *quoted, size_t qlen);

#endif

/*
 * support/su_jsonw.h - a small streaming JSON writer: values go straight into a growing buffer,
 * with the commas, the layout and the string escaping of Jansson 2.14's json_dumps() (flags
 * JSON_COMPACT, or JSON_INDENT(2) with SU_JSONW_PRETTY). Not installed.
 *
 * Strings: '"' and '\\' become \" and \\; \b \f \n \r \t their short escapes; other control
 * characters \u00XX (upper-case hex, as Jansson writes them); everything else, including
 * 0x7f, '/' and valid non-ASCII UTF-8, is copied unchanged. A string that is not valid UTF-8
 * (overlongs, surrogates and code points above U+10FFFF are invalid) is written as the marker
 * SU_JSONW_NOT_UTF8 instead, never as invalid JSON.
 *
 * Layout: compact is {"a":1,"b":[1,2]}; pretty puts each member on its own line, indented by
 * two spaces per level, as "key": value, and writes empty containers as {} and [].
 *
 * Errors are sticky: every call returns 0, or the first error, after which writes are
 * ignored. -ENOMEM on allocation failure; -EINVAL on misuse (nesting deeper than
 * SU_JSONW_MAX_DEPTH, a key outside an object, a value where a key is expected, an unbalanced
 * end). su_jsonw_finish() reports it once and releases the buffer.
 *
 * The buffer's storage comes from an allocator the owner gives (support/su_buf.h's kind; lib/:
 * the engine's, which tests make fail), else from realloc(). The finished document is given
 * to free(), so the allocator's blocks must be free()'s.
 */
#ifndef SM_SUPPORT_JSONW_H
#define SM_SUPPORT_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "su_buf.h"

#define SU_JSONW_MAX_DEPTH 32
/** What a string that is not valid UTF-8 is written as ("\ufffd (not UTF-8)"). */
#define SU_JSONW_NOT_UTF8 "\xef\xbf\xbd (not UTF-8)"

enum su_jsonw_flags {
    SU_JSONW_PRETTY = 1 << 0, /**< newline and two spaces per level, "key": value */
};

struct su_jsonw {
    char *p;
    size_t len, cap;
    int err;                           /* sticky: 0, -ENOMEM or -EINVAL */
    unsigned depth;                    /* open containers */
    bool pretty;                       /* SU_JSONW_PRETTY */
    bool want_value;                   /* a key was written: the next call writes its value */
    bool done;                         /* a complete top-level value was written */
    uint8_t state[SU_JSONW_MAX_DEPTH]; /* per open container: JW_OBJECT, JW_NONEMPTY bits */
    su_buf_alloc_fn *alloc;            /* the buffer's allocator */
    void *ctx;                         /* @alloc's */
};

/** An empty writer for @flags (SU_JSONW_PRETTY); its storage from @alloc (NULL: realloc()). */
void su_jsonw_init(struct su_jsonw *w, unsigned flags, su_buf_alloc_fn *alloc, void *ctx);
/** Free the buffer (not needed after su_jsonw_finish()). */
void su_jsonw_release(struct su_jsonw *w);
/**
 * Fail the document with @err (< 0), a failure of the caller's own while writing it (an
 * allocation): sticky like the writer's errors; a first error stays. Returns the error.
 */
int su_jsonw_fail(struct su_jsonw *w, int err);
/**
 * The NUL-terminated document in *@ret (free() it; its length in *@ret_len when non-NULL) and
 * 0, or the sticky error (-EINVAL also when containers are still open or nothing was written).
 * The writer's buffer is handed over or freed either way.
 */
int su_jsonw_finish(struct su_jsonw *w, char **ret, size_t *ret_len);

int su_jsonw_object_begin(struct su_jsonw *w);
int su_jsonw_object_end(struct su_jsonw *w);
int su_jsonw_array_begin(struct su_jsonw *w);
int su_jsonw_array_end(struct su_jsonw *w);

/** An object member's key, any string (escaped like a value); the next call writes its value. */
int su_jsonw_keyn(struct su_jsonw *w, const char *key, size_t len);
/** A string of @len bytes (NUL bytes are written as \u0000). */
int su_jsonw_stringn(struct su_jsonw *w, const char *s, size_t len);
int su_jsonw_int(struct su_jsonw *w, int64_t v);
int su_jsonw_bool(struct su_jsonw *w, bool v);
int su_jsonw_null(struct su_jsonw *w);

/** A NUL-terminated string, or null when @s is NULL. */
static inline int su_jsonw_string(struct su_jsonw *w, const char *s)
{
    return s ? su_jsonw_stringn(w, s, strlen(s)) : su_jsonw_null(w);
}

/*
 * Keys given as string literals that need no escaping (identifiers, as all of lib/json.c's):
 * quoted at compile time, "\"key\": ", and copied as they are (the space only when pretty).
 * su_jsonw_key() writes the key alone; su_jsonw_kstr() and the others a whole member. Any other
 * key: su_jsonw_keyn().
 */
#define SU_JSONW_QUOTED_KEY(k)  "\"" k "\": "
#define SU_JSONW_KEY_ARGS(k)    SU_JSONW_QUOTED_KEY(k), sizeof(SU_JSONW_QUOTED_KEY(k)) - 1
#define su_jsonw_key(w, k)      su_jsonw_quoted_key((w), SU_JSONW_KEY_ARGS(k))
#define su_jsonw_kstr(w, k, s)  su_jsonw_member_string((w), SU_JSONW_KEY_ARGS(k), (s))
#define su_jsonw_kint(w, k, v)  su_jsonw_member_int((w), SU_JSONW_KEY_ARGS(k), (v))
#define su_jsonw_kbool(w, k, v) su_jsonw_member_bool((w), SU_JSONW_KEY_ARGS(k), (v))
#define su_jsonw_knull(w, k)    su_jsonw_member_null((w), SU_JSONW_KEY_ARGS(k))

/* The functions behind those macros: @quoted is the quoted key and ": ", @qlen its length. */
int su_jsonw_quoted_key(struct su_jsonw *w, const char *quoted, size_t qlen);
/** The member; its value is null when @s is NULL. */
int su_jsonw_member_string(struct su_jsonw *w, const char *quoted, size_t qlen, const char *s);
int su_jsonw_member_int(struct su_jsonw *w, const char *quoted, size_t qlen, int64_t v);
int su_jsonw_member_bool(struct su_jsonw *w, const char *quoted, size_t qlen, bool v);
int su_jsonw_member_null(struct su_jsonw *w, const char *quoted, size_t qlen);

#endif

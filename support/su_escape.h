/*
 * support/su_escape.h - text from anywhere made safe for a log line or a message: printable
 * ASCII kept, every other byte escaped, cut to fit. Not installed.
 */
#ifndef SM_SUPPORT_ESCAPE_H
#define SM_SUPPORT_ESCAPE_H

#include <stddef.h>

/* su_escape()'s flags */
enum {
    SU_ESC_SPACE = 1 << 0,    /* keep ' ' (else it is escaped like a control character) */
    SU_ESC_QUOTES = 1 << 1,   /* escape '"' and '\\' too (text that a log shows in quotes) */
    SU_ESC_QMARK = 1 << 2,    /* write '?' for a byte not kept, instead of \xNN */
    SU_ESC_ELLIPSIS = 1 << 3, /* end in "..." even when all of @s fits (the caller cut it) */
};

/**
 * Copy at most @max bytes of the @len at @s into @out (@size bytes, at least 4): printable
 * ASCII as it is, any other byte (controls, DEL, bytes above 0x7f) as \xNN in lower-case hex,
 * or '?' with SU_ESC_QMARK. When @s does not all fit (more than @max bytes, or more than @out
 * holds) it is cut after a whole character or escape and ends in "...". @out is
 * NUL-terminated; returns its length. @out's size for all of @max bytes escaped:
 * 4 * @max + 4.
 */
size_t su_escape(const char *s, size_t len, size_t max, unsigned flags, char *out, size_t size);

#endif

/*
 * support/su_escape.c - text made safe for a log line or a message.
 */
#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "su_escape.h"

size_t su_escape(const char *s, size_t len, size_t max, unsigned flags, char *out, size_t size)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, room = size - 4; /* "..." and the NUL */
    bool cut = (flags & SU_ESC_ELLIPSIS) || len > max;

    assert(size >= 4);
    if (len > max)
        len = max;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        bool plain = ((c == ' ' && (flags & SU_ESC_SPACE)) || (c > 0x20 && c < 0x7f)) &&
                     !((flags & SU_ESC_QUOTES) && (c == '"' || c == '\\'));
        size_t need = plain || (flags & SU_ESC_QMARK) ? 1 : 4;

        if (o + need > room) {
            cut = true;
            break;
        }
        if (plain) {
            out[o++] = (char)c;
        } else if (flags & SU_ESC_QMARK) {
            out[o++] = '?';
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (cut) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return o;
}

/*
 * api/web.h - the status page's files (web/) and its message catalogues (web/messages/),
 * compiled in: web_files.c and web_messages.c are generated at build time by web/embed.cmake
 * (api/CMakeLists.txt). Each is a static array with a NUL after its @len bytes.
 */
#ifndef SM_API_WEB_H
#define SM_API_WEB_H

#include <stddef.h>

struct web_file {
    const char *name;          /* "status.css": served at /static/NAME; "en.json" */
    const char *ctype;         /* Content-Type */
    const unsigned char *data; /* @len bytes */
    size_t len;
    const char *etag; /* quoted: "\"0123456789abcdef\"" */
};

/* The page's files: status.html (the template api/messages.c renders for each language),
   status.css and status.js. */
extern const struct web_file web_files[];
extern const size_t web_files_n;
extern const size_t web_files_bytes;

/* The shipped message catalogues, LANG.json (en.json first). */
extern const struct web_file web_messages[];
extern const size_t web_messages_n;
extern const size_t web_messages_bytes;

#endif

/*
 * api/web.h - the status page's files (web/), compiled in: web_files.c is generated at build
 * time by web/embed.cmake (api/CMakeLists.txt). Each is a static array with a NUL after its
 * @len bytes.
 */
#ifndef SM_API_WEB_H
#define SM_API_WEB_H

#include <stddef.h>

struct web_file {
    const char *name;          /* "status.html": served at /static/NAME */
    const char *ctype;         /* Content-Type */
    const unsigned char *data; /* @len bytes */
    size_t len;
    const char *etag; /* quoted: "\"0123456789abcdef\"" */
};

extern const struct web_file web_files[];
extern const size_t web_n_files;
extern const size_t web_total_bytes;

#endif

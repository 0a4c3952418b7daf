/*
 * cli/daemon_client.h - one HTTP request to a running strongmapd, for `strongmap gate --daemon`.
 *
 * cli/daemon_client.c is the only file of the tree that includes libcurl's header. A request
 * has a deadline for the whole exchange, a bounded answer, no redirect, http and https only,
 * and the server's certificate verified (against the system's CAs or @cacert) unless the URL is
 * plain http. libcurl writes nothing to stderr: errors come back in @e only.
 */
#ifndef SM_CLI_DAEMON_CLIENT_H
#define SM_CLI_DAEMON_CLIENT_H

#include <stddef.h>

#include <strongmap/common.h>

#define DAEMON_MAX_QUERY 32 /* "key=value" parameters of one request */

/** Where and how to ask. Strings are borrowed. */
struct daemon_target {
    const char *url; /* the daemon's base URL, http://host:port or https://host[:port][/prefix] */
    const char *cacert; /* CA file to verify an https daemon against; NULL: the system's */
    const char *token;  /* bearer secret, or NULL */
    long timeout_ms;    /* the whole exchange, connection included */
};

/** The answer. @body is malloc()ed and NUL-terminated; release with daemon_reply_release(). */
struct daemon_reply {
    long status;     /* HTTP status */
    char *body;      /* NULL when there was none */
    size_t len;      /* bytes of @body, at most the request's @max_reply */
    char ctype[128]; /* Content-Type, "" when absent or longer */
};

/**
 * POST @len bytes of @body (media type @ctype) to @path ("/v1/verdict") under @t->url, with
 * the @n_query "key=value" strings of @query as its query string (values %-encoded here),
 * and read an answer of at most @max_reply bytes. Returns 0 with *@ret filled (any HTTP
 * status), or a negative code with @e's text saying why nothing usable came back: -EINVAL
 * (a URL that is not http or https, too many parameters), -ECONNREFUSED / -EHOSTUNREACH (no
 * connection), -ETIMEDOUT, -EPROTO (TLS, the server's certificate, a broken answer), -EFBIG
 * (an answer over @max_reply), -ENOMEM.
 */
int daemon_post(const struct daemon_target *t, const char *path, const char *const *query,
                size_t n_query, const char *ctype, const void *body, size_t len, size_t max_reply,
                struct daemon_reply *ret, struct sm_errinfo *e);

/** Free the body of @r; fine on a zeroed reply. */
void daemon_reply_release(struct daemon_reply *r);

#endif

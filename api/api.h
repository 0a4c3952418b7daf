/*
 * api/api.h - the HTTP API as the daemon's main() sees it: start, quiesce, drain, stop.
 *
 * Private to daemon/ and api/. No libmicrohttpd type appears here: only the files in api/ include
 * <microhttpd.h>.
 */
#ifndef SM_API_H
#define SM_API_H

#include <stddef.h>

#include "options.h"

struct dirpool;

/*
 * Limits and defaults of the HTTP layer, in one place.
 * - Request bodies: capped at --max-body (413). A body over the cap is still read (and dropped)
 *   up to max(API_DRAIN_MIN, 4 x max_body), then the connection is closed. All body buffers
 *   together may use max(API_BODY_MEMORY_MIN, 2 x max_body); beyond that requests get 503.
 *   At most API_BODY_PREALLOC_MAX is reserved up front for a declared Content-Length.
 * - Connections: API_CONN_LIMIT at once, closed after API_CONN_TIMEOUT_S idle seconds, and
 *   API_CONN_MEMORY_LIMIT bytes for the request line and headers (more: 414 / 431).
 */
#define API_MAX_BODY_DEFAULT  (256u * 1024)
#define API_MAX_BODY_MIN      1024u
#define API_MAX_BODY_MAX      (16u * 1024 * 1024)
#define API_BODY_PREALLOC_MAX (64u * 1024)
#define API_BODY_MEMORY_MIN   (32u * 1024 * 1024)
#define API_DRAIN_MIN         (64u * 1024 * 1024)
#define API_MAX_THREADS       256u
#define API_CONN_LIMIT        1024u
#define API_CONN_TIMEOUT_S    30u
#define API_CONN_MEMORY_LIMIT (64u * 1024)

/** Settings of the HTTP API; copied by api_start(). */
struct api_config {
    int listen_fd;             /**< bound, listening TCP socket (IPv4 or IPv6) */
    unsigned threads;          /**< worker threads, 1..API_MAX_THREADS */
    size_t max_body;           /**< request body cap in bytes, API_MAX_BODY_MIN..API_MAX_BODY_MAX */
    struct dirpool *dir;       /**< the directory (borrowed, outlives the server), NULL: none */
    struct opt_profiles fleet; /**< profiles of a request that names none (n 0: the engine's
                                    default, windows-2022) */
};

/*
 * Settings that a reload (SIGHUP) may change while requests are served. api_reconfigure()
 * swaps them atomically: a request uses the snapshot it started with (refcounted), so a reload
 * never fails a request in flight. Everything else in struct api_config needs a restart.
 */
enum api_scope {
    API_SCOPE_NONE = 0,         /**< open: no token needed (healthz, readyz) */
    API_SCOPE_CHECK = 1 << 0,   /**< inspect, verdict */
    API_SCOPE_ACCOUNT = 1 << 1, /**< account status */
    API_SCOPE_ADMIN = 1 << 2,   /**< anything that writes (later), metrics by default */
};

#define API_TOKEN_NAME_MAX 64

/** A bearer token as configured: only the SHA-256 of the secret is kept. */
struct api_token {
    char name[API_TOKEN_NAME_MAX]; /**< for logs and metrics; never the secret */
    unsigned char sha256[32];
    unsigned scopes; /**< enum api_scope bits */
};

/** Routes whose required scope is configurable. */
enum api_route_id {
    API_ROUTE_INSPECT = 0,
    API_ROUTE_VERDICT,
    API_ROUTE_ACCOUNT,
    API_ROUTE_METRICS,
    API_ROUTE__COUNT
};

struct api_runtime {
    const struct api_token *tokens; /**< n_tokens 0: no authentication (loopback default) */
    size_t n_tokens;
    unsigned route_scope[API_ROUTE__COUNT]; /**< required scope per route (API_SCOPE_NONE: open) */
    double rate_per_s;     /**< requests per second per client (token, else IP); 0: unlimited */
    unsigned rate_burst;   /**< token-bucket depth */
    size_t max_body;       /**< request body cap in bytes */
    unsigned max_certs;    /**< certificates per request (<= SM_MAX_CERTS) */
    struct dirpool *dir;   /**< directory (borrowed until the runtime is released), NULL: none */
    struct opt_profiles fleet;
    const char *decision_log; /**< path of the JSON-lines decision log, NULL: off */
    int log_level;         /**< syslog priority threshold (LOG_INFO, LOG_DEBUG, ...) */
};

struct api;

/**
 * Start serving on @cfg->listen_fd with a pool of @cfg->threads threads. Signals the caller
 * does not want delivered to worker threads must be blocked before this call (the threads
 * inherit the signal mask).
 *
 * Ownership: takes @cfg->listen_fd, also on failure (libmicrohttpd may or may not have closed
 * it then: the caller must neither use nor close it). Returns 0 with *@ret_api set, -EINVAL for
 * a bad configuration, -ENOMEM, or -EIO when libmicrohttpd refused to start (it logged why).
 */
int api_start(const struct api_config *cfg, struct api **ret_api);

/**
 * Stop accepting connections: the listening socket is shut down so new clients are refused,
 * requests in progress complete, and every later response carries "Connection: close".
 */
void api_quiesce(struct api *api);

/**
 * Requests in progress (request line received, response not yet sent). With
 * @ret_connections (may be NULL) also the number of open connections, idle keep-alive ones
 * included. Call from the thread that called api_start() only.
 */
unsigned api_busy(struct api *api, unsigned *ret_connections);

/** Stop the threads, close every connection and the listening socket, free @api. NULL is fine.
 * Always returns NULL. */
struct api *api_stop(struct api *api);

#endif

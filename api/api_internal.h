/*
 * api/api_internal.h - private to api/: the per-request state, the route table, the problem
 * (error -> HTTP status) table and the reply helpers handlers use.
 *
 * Handlers (h_*.c) see requests only through this header; they never call libmicrohttpd
 * directly, which keeps routes.c, problem.c and the handlers testable without a server.
 */
#ifndef SM_API_INTERNAL_H
#define SM_API_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include <strongmap/common.h>

#include "api.h"
#include "options.h"

struct MHD_Connection; /* opaque here; only http.c looks inside */

/* Longest request path / method written to the access log (longer ones are cut, "..."). */
#define API_LOG_PATH_MAX   200
#define API_LOG_METHOD_MAX 16
/* "xxxxxxxx-" + up to 20 digits + NUL */
#define API_REQUEST_ID_MAX 32
/* Longest note (an engine error's reason) added to the access log line; longer ones are cut. */
#define API_LOG_NOTE_MAX 200

struct api_route;

/*
 * One HTTP request. Created when libmicrohttpd has read the request line (URI log callback),
 * freed only in the NOTIFY_COMPLETED callback. Owned by http.c; handlers borrow it.
 */
struct api_request {
    struct api *api;             /* borrowed: the server */
    struct MHD_Connection *conn; /* borrowed: libmicrohttpd's connection */
    char id[API_REQUEST_ID_MAX]; /* X-Request-Id */
    struct timespec start;       /* CLOCK_MONOTONIC at the request line */
    /* For the access log: escaped and cut (control and non-ASCII bytes as \xNN). */
    char log_method[API_LOG_METHOD_MAX * 4 + 4];
    char log_path[API_LOG_PATH_MAX * 4 + 4];
    char log_note[API_LOG_NOTE_MAX * 4 + 4]; /* see req_note() */
    char *target; /* owned: the request target as sent (path and query, still %-encoded) */
    /* Routing, decided on the first handler call. */
    const struct api_route *route; /* NULL: no route for this path and method */
    bool path_known;               /* some route has this path (route == NULL -> 405) */
    bool started;                  /* the first handler call (headers only) is done */
    bool head;                     /* HEAD request: libmicrohttpd sends no body */
    /* Body: owned, NUL-terminated, at most api->cfg.max_body bytes. */
    char *body;
    size_t body_len, body_cap;
    uint64_t body_seen;  /* bytes received, kept or not */
    bool body_too_large; /* over the cap: data dropped, 413 at the end */
    bool body_oom;       /* no memory or body budget spent: dropped, 503 at the end */
    /* Response, for the access log. */
    bool replied;
    unsigned status;
    size_t bytes;
    const char *problem;  /* problem code of an error response, or NULL */
    unsigned retry_after; /* seconds for a Retry-After header, 0: none */
    /* One extra response header (e.g. Allow for 405); static strings or req-owned. */
    const char *extra_header, *extra_value;
    char allow[64];
};

/* ---- routes.c ---- */

/** A handler answers with one of the reply_*() calls and returns its result (0 or negative).
 * A negative return without a reply makes http.c answer with reply_error(). */
typedef int (*api_handler_fn)(struct api_request *req);

struct api_route {
    const char *method; /* "GET" routes also answer HEAD */
    const char *path;   /* exact match; a path ending in "/{name}" matches any non-empty rest,
                           "/" included (the handler reads it from req->target) */
    api_handler_fn handler;
    bool takes_body; /* the body is kept for the handler; otherwise it is read and dropped */
};

/**
 * The route for @method and @path, or NULL. *@ret_path_known tells whether any route has
 * @path (then a NULL result means 405, else 404).
 */
const struct api_route *route_lookup(const char *method, const char *path, bool *ret_path_known);

/** The methods @path answers, for an Allow header ("GET, HEAD"), into @buf. Returns @buf. */
char *route_allow(const char *path, char *buf, size_t size);

/* ---- problem.c: the one place that maps errors to HTTP statuses ---- */

enum api_problem {
    API_P_NOT_FOUND = 0,
    API_P_METHOD_NOT_ALLOWED,
    API_P_BODY_TOO_LARGE,
    API_P_EMPTY_BODY,
    API_P_BAD_CERTIFICATE,
    API_P_BAD_JSON,
    API_P_MISSING_FIELD,
    API_P_BAD_REQUEST,
    API_P_UNSUPPORTED_MEDIA_TYPE,
    API_P_NO_CERTIFICATE,
    API_P_DIRECTORY_LIMIT,
    API_P_INTERNAL,
    API_P_UNAVAILABLE,
    API_P_NO_DIRECTORY,
    API_P_DIRECTORY_UNAVAILABLE,
    API_P_DIRECTORY_REFUSED,
    API_P__COUNT
};

struct api_problem_info {
    const char *code;     /* stable identifier, last segment of the type URI */
    unsigned status;      /* HTTP status */
    const char *title;    /* short, constant summary */
    unsigned retry_after; /* Retry-After seconds, 0: none */
};

/** Base of every problem type URI; the code follows. */
#define API_PROBLEM_TYPE_BASE "/problems/"

/** The table entry of @p (static storage). */
const struct api_problem_info *problem_info(enum api_problem p);

/** The problem for an engine or errno code (SM_E_*, -ENOMEM, ...); unknown codes: internal. */
enum api_problem problem_from_error(int err);

/**
 * The RFC 9457 document for @p, with @detail (may be NULL) made safe: invalid UTF-8 and control
 * characters are replaced, and it is cut at 400 bytes. Returns 0 with *@ret_json (free()), or
 * -ENOMEM.
 */
int problem_json(enum api_problem p, const char *detail, char **ret_json);

/** Length of the valid UTF-8 sequence at @p (at most @len bytes), or 0 when invalid. */
size_t api_utf8_seq(const unsigned char *p, size_t len);

/* ---- http.c: what handlers may use ---- */

/** A request header (case-insensitive name), or NULL. Borrowed, valid during the request. */
const char *req_header(const struct api_request *req, const char *name);

/** The server's settings (directory, default profiles). */
const struct api_config *req_config(const struct api_request *req);

/**
 * Add @text to the request's access log line as note="..." (escaped, cut at API_LOG_NOTE_MAX):
 * the engine's reason for an error whose client-facing detail stays generic.
 */
void req_note(struct api_request *req, const char *text);

/** 200 with @json as application/json. Ownership: takes @json (free()), also on failure. */
int reply_json(struct api_request *req, char *json);

/** 200 with a static JSON text (never freed). */
int reply_json_static(struct api_request *req, const char *json);

/** The problem response for @p with @detail (may be NULL; copied). */
int reply_problem(struct api_request *req, enum api_problem p, const char *detail);

/** reply_problem(req, problem_from_error(err), detail). */
int reply_error(struct api_request *req, int err, const char *detail);

/* ---- params.c: reading requests; a failing function has answered (4xx) already ---- */

enum body_kind {
    BODY_RAW,
    BODY_JSON,
    BODY_UNSUPPORTED,
};

/** JSON (a JSON media type, or a body starting with '{'), raw, or an unsupported type. */
enum body_kind body_kind(const char *ctype, const char *body, size_t len);

/** Refuse a Content-Encoding other than identity (415). */
int body_check_encoding(struct api_request *req);

/** The body as a JSON object (*@ret_root: json_decref() it). 400 / 415 on failure. */
int body_json(struct api_request *req, json_t **ret_root);

/** Check an account name (@len bytes): 1..SM_MAX_NAME bytes of printable UTF-8. */
int param_name(struct api_request *req, const char *field, const char *name, size_t len);

/**
 * %-decode @s (@len bytes) into @out (room for @len + 1), '+' as a space with @plus. -EINVAL
 * (nothing answered) for a bad escape or %00.
 */
int pct_decode(const char *s, size_t len, bool plus, char *out, size_t *ret_len);

/** What-if parameters of a verdict or an account status. */
struct api_whatif {
    struct opt_profiles profiles; /* n 0: the daemon's fleet */
    struct opt_whatif w;
    time_t at; /* 0: now */
};

void whatif_init(struct api_whatif *wi);
int whatif_profile(struct api_request *req, struct api_whatif *wi, const char *name);
int whatif_mode(struct api_request *req, struct api_whatif *wi, long long mode);
int whatif_backdating(struct api_request *req, struct api_whatif *wi, long long seconds);
int whatif_at(struct api_request *req, struct api_whatif *wi, const char *text);
/** The query string's profile (repeatable), mode, backdating_seconds and at. */
int whatif_query(struct api_request *req, struct api_whatif *wi);
/** Default profiles (the fleet), then the overrides, checked against every profile. */
int whatif_finish(struct api_request *req, struct api_whatif *wi);

/**
 * Answer an engine error with its problem (problem_from_error()). Directory failures get a
 * plain detail and their reason goes to the access log only; others send @e's text.
 */
int reply_engine_error(struct api_request *req, int err, const struct sm_errinfo *e);

/** 503 no-directory. */
int reply_no_directory(struct api_request *req);

/* ---- handlers ---- */

int h_health(struct api_request *req);
int h_ready(struct api_request *req);
int h_inspect(struct api_request *req);
int h_verdict(struct api_request *req);
int h_account(struct api_request *req);

#endif

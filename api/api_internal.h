/*
 * api/api_internal.h - private to api/: the per-request state, the route table, the problem
 * (error -> HTTP status) table and the reply helpers handlers use.
 *
 * Handlers (h_*.c) see requests only through this header; they never call libmicrohttpd
 * directly, which keeps routes.c, problem.c and the handlers testable without a server.
 */
#ifndef SM_API_INTERNAL_H
#define SM_API_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include <strongmap/cert.h>
#include <strongmap/common.h>
#include <strongmap/csr.h>
#include <strongmap/mapwrite.h>
#include <strongmap/state.h>
#include <strongmap/dir.h>

#include "api.h"
#include "hist.h"
#include "messages.h"
#include "options.h"

struct MHD_Connection; /* opaque here; only the server's files (http_internal.h) look inside */
struct MHD_Daemon;
struct sm_kdc_events;
struct sm_verdict;

/* Longest request path / method written to the access log (longer ones are cut, "..."). */
#define API_LOG_PATH_MAX   200
#define API_LOG_METHOD_MAX 16
/* "xxxxxxxx-" + up to 20 digits + NUL */
#define API_REQUEST_ID_MAX 32
/* Longest note (an engine error's reason) added to the access log line; longer ones are cut. */
#define API_LOG_NOTE_MAX 200

/* One response header a handler adds (reply_status()); both strings copied when queued. */
struct api_header {
    const char *name, *value;
};

struct api_route;
struct api_conn;
struct conn_client;

/*
 * One HTTP request. Created when libmicrohttpd has read the request line (URI log callback),
 * freed only in the NOTIFY_COMPLETED callback. Owned by http.c; handlers borrow it.
 */
struct api_request {
    struct api *api;               /* borrowed: the server */
    struct MHD_Connection *conn;   /* borrowed: libmicrohttpd's connection */
    struct api_conn *cs;           /* borrowed: our state of the connection (client address) */
    struct api_runtime *rt;        /* owned reference: the runtime of this request */
    const struct api_token *token; /* authenticated token (in rt), or NULL */
    char id[API_REQUEST_ID_MAX];   /* X-Request-Id */
    struct timespec start;         /* CLOCK_MONOTONIC at the request line */
    /* For the access log: escaped and cut (control and non-ASCII bytes as \xNN). */
    char log_method[API_LOG_METHOD_MAX * 4 + 4];
    char log_path[API_LOG_PATH_MAX * 4 + 4];
    char log_note[API_LOG_NOTE_MAX * 4 + 4]; /* see req_note() */
    char *target;          /* owned: the request target as sent (path and query, still %-encoded) */
    const char *target_at; /* where libmicrohttpd had the target (compared, never read) */
    bool close;            /* the response carries "Connection: close" */
    /* Routing, decided on the first handler call. */
    const struct api_route *route; /* NULL: no route for this path and method */
    unsigned label;                /* route index for metrics (API_N_ROUTES: none) */
    bool path_known;               /* some route has this path (route == NULL -> 405) */
    bool denied;                   /* refused at the first call (401, 403, 429), answered at
                                      the end: deny, deny_retry, extra_header */
    int deny;                      /* enum api_problem */
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
    const char *cache_control; /* Cache-Control of the response (reply_body()); NULL: no-store */
    unsigned status;
    size_t bytes;
    const char *problem;  /* problem code of an error response, or NULL */
    unsigned retry_after; /* seconds for a Retry-After header, 0: none */
    /* One extra response header (Allow for 405, WWW-Authenticate for 401 / 403); static
     * strings or req-owned. */
    const char *extra_header, *extra_value;
    const struct api_header *headers; /* more headers (reply_status()), borrowed */
    size_t n_headers;
    char hdr_buf[128]; /* extra_value when built per request */
    /* Directory-bound routes run on the job pool with the connection suspended: the response
       is built there and queued by the next handler call after the resume. */
    bool deferred; /* handed to the job pool (set before suspending) */
    /* A route answered from the caches first (api_route.cached_first) runs its handler on
       libmicrohttpd's thread with cached_try set; req_verdict() then answers from the caches
       or returns SM_E_DIR_WOULD_BLOCK, which the handler returns at once, having answered and
       counted nothing. The handler then runs again on the job pool with retried set (what it
       counted per request before its verdict, it does not count again). */
    bool cached_try, retried;
    struct MHD_Response *pending; /* owned: the response to queue after the resume */
    unsigned pending_status;
    struct api_request *job_next; /* job queue link (under api->jobs_lock) */
    /* Called once when the request ends (http.c's completion), @whole when its response was
       sent in full (not for HEAD): what a handler holds for its response is released there */
    void (*on_done)(void *arg, bool whole);
    void *on_done_arg;
};

/* ---- routes.c ---- */

/** A handler answers with one of the reply_*() calls and returns its result (0 or negative).
 * A negative return without a reply makes http.c answer with reply_error(). */
typedef int (*api_handler_fn)(struct api_request *req);

struct api_route {
    const char *method; /* "GET" routes also answer HEAD */
    const char *path;   /* exact match; a path ending in a parameter ("/{name}", "/{id}")
                           matches any non-empty rest, "/" included (the handler reads it from
                           req->target); one before a last segment matches one non-empty
                           segment */
    api_handler_fn handler;
    bool takes_body;   /* the body is kept for the handler; otherwise it is read and dropped */
    bool directory;    /* may wait on the directory: runs on the job pool, off MHD's threads */
    int scope;         /* enum api_route_id: whose scope is configured (route_scope[scope]) */
    bool probe;        /* /healthz, /readyz: when open (scope none), also no client-certificate
                          check and no rate limit */
    bool cached_first; /* directory: try on libmicrohttpd's thread from the caches first
                          (api_request.cached_try); only the job pool asks the directory */
};

/*
 * May the request see account data in its answer (api_runtime.account_data_scope; admit.c)? Always
 * when authentication is off (no tokens); else only with a token holding one of its scopes.
 */
bool req_sees_accounts(const struct api_request *req);

/*
 * Is the request's peer (its TCP client address) in @peers (admit.c)? The one test of a trusted
 * proxy: /v1/authz's certificate header, and any other header only a proxy may set.
 */
bool req_trusted_peer(const struct api_request *req, const struct su_cidr_list *peers);

/*
 * The client certificate the request's TLS connection presented, once verified against the
 * client CAs (admit.c): 0 with its DER in *@ret_der (@ret_len bytes; borrowed from the TLS
 * session, valid during the request), -ENOENT when none was presented or the server asks for
 * none (plain HTTP, no [tls] client_ca), -EACCES when it does not verify.
 */
int req_client_cert(const struct api_request *req, const unsigned char **ret_der, size_t *ret_len);

/* Routes in the table (routes.c checks it); metrics label requests without a route
 * API_N_ROUTES ("other"). */
#define API_N_ROUTES 21

/** Position of @r in the route table, 0..API_N_ROUTES-1. */
unsigned route_index(const struct api_route *r);

/** The path of route @i, "other" for API_N_ROUTES. */
const char *route_label(unsigned i);

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
    API_P_UNAUTHORIZED,
    API_P_FORBIDDEN,
    API_P_CLIENT_CERTIFICATE,
    API_P_RATE_LIMITED,
    API_P_TOO_MANY_CERTIFICATES,
    API_P_EXPECTATION_FAILED,
    API_P_HEADER_TOO_LARGE,
    API_P_BAD_CSR,           /* not a readable certificate request */
    API_P_CSR_SIGNATURE,     /* a request whose self-signature does not verify */
    API_P_WEBHOOK_SIGNATURE, /* a step-ca webhook call without a valid signature */
    API_P_BAD_EVENTS,        /* KDC events that cannot be read: not XML, a DOCTYPE, not UTF-8 */
    API_P_TOO_MANY_EVENTS,   /* more KDC events than SM_MAX_KDC_EVENTS */
    API_P_NO_EVENTS,         /* a readable input without any KDC event to explain */
    API_P_NO_IDENTITY,       /* GET /v1/self: the request proves no identity (the page) */
    API_P_TOO_MANY_AUDITS,   /* POST /v1/audits: [audit] jobs running, or too many held */
    API_P_AUDIT_NOT_DONE,    /* GET /v1/audits/{id}: a report of an audit still running */
    API_P_NOT_ACCEPTABLE,    /* GET /v1/audits/{id}: no representation the client accepts */
    API_P_NO_ACCOUNT,        /* mapping write-back: no account answers to the name */
    API_P_MAPPING_REFUSED,   /* mapping write-back: a safety check refused the change */
    API_P_WRITE_OFF,         /* mapping write-back: no write bind configured ([write]) */
    API_P_WRITE_FAILED,      /* mapping write-back: the directory refused or failed the modify */
    API_P_AUDIT_LOG,         /* mapping write-back: the audit log could not be written */
    API_P_WRITE_BUSY,        /* mapping write-back: another write holds the lock too long */
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

/*
 * Why a request failed, as its reader or the engine found it: the problem to answer and the
 * detail. @info.field names the member or parameter at fault ("mode"; NULL: none), @info.text
 * says what is wrong with it: the problem's detail is "field: text", or the text alone, or
 * none. @problem API_P__COUNT: the problem of the error code (problem_from_error()). Engine
 * calls fill @info.
 */
struct api_error {
    enum api_problem problem;
    struct sm_errinfo info;
};

// clang-format off
#define API_ERROR_INIT { .problem = API_P__COUNT, .info = SM_ERRINFO_INIT }
// clang-format on

/** @ae's problem (@ae may be NULL), else the one of @err. */
enum api_problem problem_of(int err, const struct api_error *ae);

/**
 * The detail of problem @p answering @ae (may be NULL), in @buf: "field: text", the text, or
 * NULL. A directory failure's reason may name servers or quote their diagnostics: its detail
 * is a plain statement, and *@ret_note the reason, for the access log only (else NULL).
 */
const char *problem_detail(enum api_problem p, const struct api_error *ae, char *buf, size_t size,
                           const char **ret_note);

/**
 * The RFC 9457 document for @p, with @detail (may be NULL) made safe: invalid UTF-8 and control
 * characters are replaced, and it is cut at 400 bytes. Returns 0 with *@ret_json (free()), or
 * -ENOMEM.
 */
int problem_json(enum api_problem p, const char *detail, char **ret_json);

/* ---- head.c: the request head, checked before anything else ---- */

/*
 * One request head being checked: head_begin(), head_field() for every field line in order,
 * head_finish(). The pointers are libmicrohttpd's: into the head it parsed in place.
 */
struct head_check {
    const char *end; /* end of the head (with the walk) */
    const char *eol; /* where the last line seen ends: its first NUL (with the walk) */
    bool walk;       /* the head is laid out as head.c expects: check the layout */
    bool http10;     /* an HTTP/1.0 request */
    unsigned n_fields, n_host, n_cl, n_te, n_expect;
    const char *content_length; /* the first Content-Length value, or NULL */
    bool expect_failed;         /* an expectation other than 100-continue: 417 */
    const char *bad;            /* the first problem found (static text; 400), NULL: none */
};

/**
 * Start checking a head of @size bytes at @head (libmicrohttpd's request line and fields, as it
 * parsed them in place; NULL: its layout is unknown, only the text is checked), whose request
 * line has @method, the request target @target (a copy of the string that was at @target_at)
 * and @version. A problem in the request line is kept for head_finish().
 */
void head_begin(struct head_check *h, const char *head, size_t size, const char *method,
                const char *target_at, const char *target, const char *version);

/** One field line, in order. 0, or -1 when the head is refused (stop: the reason is kept). */
int head_field(struct head_check *h, const char *name, const char *value);

/**
 * The verdict: -1 with h->bad set when the head must be refused with 400 and the connection
 * closed (framing, Host, NUL bytes, folded lines, names and values of the wrong characters);
 * else 0, with h->expect_failed telling whether 417 is due.
 */
int head_finish(struct head_check *h);

/* ---- reply.c: what handlers may use ---- */

/** A request header (case-insensitive name), or NULL. Borrowed, valid during the request. */
const char *req_header(const struct api_request *req, const char *name);

/** How many times the request carries header @name (case-insensitive). */
unsigned req_header_count(const struct api_request *req, const char *name);

/** The runtime of the request (directory, default profiles, limits): req->rt. */
const struct api_runtime *req_runtime(const struct api_request *req);

/** The client's IP address as text ("-" when unknown). */
const char *req_client_ip(const struct api_request *req);

/**
 * Add @text to the request's access log line as note="..." (escaped, cut at API_LOG_NOTE_MAX):
 * the engine's reason for an error whose client-facing detail stays generic.
 */
void req_note(struct api_request *req, const char *text);

/**
 * @status with the @n headers @h, and @json (may be NULL: no body and no Content-Type) as
 * application/json. Ownership: takes @json (free()), also on failure.
 */
int reply_status(struct api_request *req, unsigned status, const struct api_header *h, size_t n,
                 char *json);

/** 200 with @json as application/json. Ownership: takes @json (free()), also on failure. */
int reply_json(struct api_request *req, char *json);

/** 200 with a static JSON text (never freed). */
int reply_json_static(struct api_request *req, const char *json);

/** 200 with @len bytes of @text as @ctype. Ownership: takes @text (free()), also on failure. */
int reply_text(struct api_request *req, const char *ctype, char *text, size_t len);

/**
 * @status with @len bytes of @body as @ctype, the @n headers @h and Cache-Control @cache
 * (NULL: no-store). Ownership: with @owned, takes @body (free()), also on failure; else @body
 * is static.
 */
int reply_body(struct api_request *req, unsigned status, const char *ctype, const char *cache,
               const struct api_header *h, size_t n, char *body, size_t len, bool owned);

/**
 * The same with @body borrowed (a large report, not copied): @release(@arg) is called once
 * libmicrohttpd is done with it, also on failure (then before this returns).
 */
int reply_shared(struct api_request *req, unsigned status, const char *ctype,
                 const struct api_header *h, size_t n, const char *body, size_t len,
                 void (*release)(void *arg), void *arg);

/** The problem response for @p with @detail (may be NULL; copied). */
int reply_problem(struct api_request *req, enum api_problem p, const char *detail);

/** The same with a Retry-After of @retry_after seconds (0: none), whatever @p's default. */
int reply_problem_retry(struct api_request *req, enum api_problem p, const char *detail,
                        unsigned retry_after);

/** reply_problem(req, problem_from_error(err), detail). */
int reply_error(struct api_request *req, int err, const char *detail);

/**
 * The one answer of a handler whose request failed: the problem and detail of @ae
 * (problem_of(), problem_detail()) for the error code @err; a directory's reason goes to the
 * access log (req_note()), an unexpected code to the error log.
 */
int reply_fail(struct api_request *req, int err, const struct api_error *ae);

/* ---- params.c: reading requests; a reader fills a struct api_error and answers nothing ---- */

/** What-if parameters of a verdict or an account status. */
struct api_whatif {
    struct opt_profiles profiles; /* n 0: the daemon's fleet */
    struct opt_whatif w;
    time_t at; /* 0: now */
};

/**
 * Fill @ae: the problem @p to answer, @field (static, or NULL) and the text of @fmt (the
 * detail is "field: text"). Returns -EINVAL.
 */
int api_fail(struct api_error *ae, enum api_problem p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* %-decode @s (@len bytes) into @out (room for @len + 1), '+' as a space with @plus. -EINVAL for
 * a bad escape or %00. */
int pct_decode(const char *s, size_t len, bool plus, char *out, size_t *ret_len);

/** 503 no-directory, for a route that needs the directory when none is configured. */
int no_directory(struct api_error *ae);

struct sm_verdict_input;
struct sm_verdict;
/**
 * The verdict a handler answers with, on the runtime's directory pool: dirpool_verdict(), or
 * on a cached try (req->cached_try) dirpool_verdict_cached(), whose SM_E_DIR_WOULD_BLOCK the
 * handler returns as it is, before it answers or counts anything (api_request.cached_try).
 */
int req_verdict(const struct api_request *req, const struct sm_verdict_input *in,
                struct sm_verdict **ret, struct sm_errinfo *reterr);

/**
 * The certificates of @input (@len bytes) with @po (may be NULL), within the runtime's
 * max_certs (413 too-many-certificates), else the parser's problem; @field names the input
 * (NULL: the body). 0 with *@ret (sm_certs_free()).
 */
int read_certs(const struct api_request *req, const char *input, size_t len,
               const struct sm_parse_opts *po, const char *field, struct sm_certs **ret,
               struct api_error *ae);

/**
 * POST /v1/inspect: the certificates of the body (PEM, DER, base64 DER, or a JSON object
 * {"certificate": "..."}) within the runtime's max_certs, into *@ret (sm_certs_free()).
 */
int read_inspect(const struct api_request *req, struct sm_certs **ret, struct api_error *ae);

/** A POST /v1/verdict request, read. */
struct verdict_request {
    struct sm_certs *certs; /* owned: the certificate input, parsed (the first is evaluated), or
                               NULL */
    const char *account;    /* borrowed from @root or @query_account, or NULL */
    char *query_account;    /* owned: "account" from the query string */
    json_t *root;           /* owned: a JSON body */
    struct api_whatif wi;   /* the profiles with the overrides applied */
};

/**
 * POST /v1/verdict: a JSON object ("certificate", "account", "profile", "mode",
 * "backdating_seconds", "at"), or a certificate body with those options in the query string.
 * On success and failure alike, free @vr with verdict_request_free().
 */
int read_verdict(const struct api_request *req, struct verdict_request *vr, struct api_error *ae);
void verdict_request_free(struct verdict_request *vr);

/** A POST /v1/preissue request, read. */
struct preissue_request {
    struct sm_csr *csr;      /* owned: the request, parsed and its signature checked */
    struct sm_certs *issuer; /* owned: the issuing CA's certificate (the first), or NULL */
    const char *account;     /* borrowed from @root or @query_account */
    char *query_account;     /* owned: "account" from the query string */
    json_t *root;            /* owned: a JSON body */
    struct api_whatif wi;    /* the profiles with the overrides applied */
    long validity_days;      /* 0: the engine's default (365) */
};

/**
 * POST /v1/preissue: a JSON object ("csr", or planned facts "subject", "san", "extensions" read
 * by sm_csr_planned(); "account", "profile", "mode", "backdating_seconds", "at",
 * "validity_days", "issuer"), or a request body (PEM, DER or base64) with "account",
 * "profile", "mode", "backdating_seconds" and "at" in the query string. On success and failure
 * alike, free @pr with preissue_request_free().
 */
int read_preissue(const struct api_request *req, struct preissue_request *pr, struct api_error *ae);
void preissue_request_free(struct preissue_request *pr);

/**
 * The query string of a step-ca webhook call (the webhook's URL, which step-ca renders from its
 * template data): "account" (*@ret_account, free() it; NULL when absent), "profile", "mode",
 * "backdating_seconds", "at"; the profiles with the overrides applied, into @wi.
 */
int read_hook_query(const struct api_request *req, struct api_whatif *wi, char **ret_account,
                    struct api_error *ae);

/**
 * A certificate request from @input (@len bytes) for @field (static, or NULL for the body):
 * 400 bad-csr, 400 csr-signature, 413 body-too-large or the code's problem, with the parser's
 * reason. 0 with *@ret (sm_csr_free()).
 */
int read_csr(const char *input, size_t len, const char *field, struct sm_csr **ret,
             struct api_error *ae);

/**
 * POST /v1/events/explain: the KDC events of the body (the XML or text Windows exports, or a
 * JSON object {"events": "..."}), parsed into *@ret (sm_kdc_events_free()); 422 no-events when
 * the input holds none.
 */
int read_events(const struct api_request *req, struct sm_kdc_events **ret, struct api_error *ae);

/**
 * GET /v1/accounts/{name}: the name %-decoded from the path (*@ret_path: free() it; *@ret_name
 * points into it) and the what-if parameters of the query string, applied to the profiles.
 */
int read_account(const struct api_request *req, char **ret_path, const char **ret_name,
                 struct api_whatif *wi, struct api_error *ae);

/*
 * The what-if members of a JSON body (struct api_whatif): whatif_start() before the members,
 * whatif_member() for each (1 when @key is none of "profile", "mode", "backdating_seconds",
 * "at", then nothing is read), whatif_end() after them (the fleet's profiles unless some were
 * named, the overrides applied and checked).
 */
void whatif_start(struct api_whatif *wi);
int whatif_member(struct api_whatif *wi, const char *key, json_t *val, struct api_error *ae);
int whatif_end(const struct api_request *req, struct api_whatif *wi, struct api_error *ae);

/* ---- authz.c: GET|POST /v1/authz's request ---- */

/* Bytes of the forwarded certificate once the header's encoding is undone (PEM or base64), and
 * the elements of an X-Forwarded-Client-Cert value. */
#define API_AUTHZ_INPUT_MAX   (32u * 1024)
#define API_XFCC_ELEMENTS_MAX 16

/** A /v1/authz request, read. */
/* ---- certcache.c: the analysed certificates of recent /v1/authz headers ---- */

struct certcache;
/** A shared analysis: the cache's and its users' (certref_put() each). */
struct certref;

/** An empty cache, or NULL when out of memory (then nothing is cached). */
struct certcache *certcache_new(void);
void certcache_free(struct certcache *c);
/** The analysis kept for the header whose SHA-256 is @key and not expired (a reference to
 * release with certref_put()), or NULL. @c NULL: NULL. */
struct certref *certcache_get(struct certcache *c, const uint8_t key[32]);
/** Keep @certs (taken, freed on failure too) for @key, replacing what shared its slot; *@ret:
 * the caller's reference. @c NULL: a reference that is not kept. 0 or -ENOMEM. */
int certcache_add(struct certcache *c, const uint8_t key[32], struct sm_certs *certs,
                  struct certref **ret);
const struct sm_certs *certref_certs(const struct certref *r);
void certref_put(struct certref *r);

struct authz_request {
    const struct sm_certs *certs; /* the one certificate forwarded (ref's); NULL: none (the
                                     client presented none) */
    struct certref *ref;          /* owned: the analysis, shared with api.authz_certs */
    struct opt_profiles profiles; /* ?profile=, else the runtime's fleet */
    bool json;                    /* ?format=json: the verdict document as the body */
};

/**
 * The certificate the configured header (api_runtime.authz_header) forwards, from a trusted
 * proxy only (else 400), in the forms api/authz.c lists, and the query (format, profile). On
 * success and failure alike, free @ar with authz_request_free().
 */
int read_authz(const struct api_request *req, struct authz_request *ar, struct api_error *ae);
void authz_request_free(struct authz_request *ar);

/** @s on one line of printable ASCII into @out (@size bytes, at least 5): runs of blanks and
 * controls as one space, a non-ASCII character as '?', cut with "..." (h_authz.c). */
void one_line(const char *s, char *out, size_t size);
/* ---- messages.c: the page's words in the caller's language (docs/self-service.md) ---- */

struct su_buf;
struct su_jsonw;

/** One language of the runtime's catalogues (api.h, struct api_messages): borrowed from it. */
struct msg_lang;

/**
 * The language for the Accept-Language field @field (NULL: none) among @m's (finished; NULL: the
 * shipped ones, api_messages_shipped(); NULL when they could not be made: out of memory):
 * the acceptable one of the highest weight (q), the field's order among equals; a range finds
 * a catalogue of its tag, else one of a region of it (de: de-AT), else its shorter forms
 * (de-CH: de); q=0 refuses what it matches; "*" is English, unless refused. None acceptable,
 * or a field that cannot be read: English.
 */
const struct msg_lang *msg_negotiate(const struct api_messages *m, const char *field);

/** The language tag of @l, as its catalogue's file names it ("en", "de"). */
const char *msg_tag(const struct msg_lang *l);

/** The text of @key in @l (English's when it has none); a key English lacks: the key itself. */
const char *msg_text(const struct msg_lang *l, const char *key);

/** msg_text() of the key @prefix@id ("why." "weak_mapping"). */
const char *msg_text_of(const struct msg_lang *l, const char *prefix, const char *id);

#if defined(__GNUC__)
#define MSG_SENTINEL __attribute__((sentinel))
#else
#define MSG_SENTINEL
#endif

/** The text of @key into @b with its %s replaced by the arguments (const char *, up to a NULL)
    in order. */
void msg_put(struct su_buf *b, const struct msg_lang *l, const char *key, ...) MSG_SENTINEL;

/** The same escaped for HTML, each argument in <@wrap>...</@wrap> when @wrap is not NULL. */
void msg_html(struct su_buf *b, const struct msg_lang *l, const char *key, const char *wrap,
              ...) MSG_SENTINEL;

/** web/status.html rendered in @l: its bytes (*@ret_len), its ETag (quoted). */
const char *msg_page(const struct msg_lang *l, size_t *ret_len, const char **ret_etag);

/** The value of the page's data-messages attribute in @l (the script's texts), escaped. */
const char *msg_js(const struct msg_lang *l);

/** A state in @l's words: "Will work", "At risk", "Will fail" (state.will_work, ...). */
const char *msg_state_label(const struct msg_lang *l, enum sm_state s);

/** The sentence of why @st, and its step @i (< @st->n_steps), in @l. */
const char *msg_why(const struct msg_lang *l, const struct sm_state_answer *st);
const char *msg_step(const struct msg_lang *l, const struct sm_state_answer *st, size_t i);

/* ---- page.c: the status page's answers (docs/self-service.md) ---- */

struct sm_state_answer;

/**
 * The file of form field @field in a multipart/form-data body, borrowed from the body: 415
 * without that media type, 400 for a form that cannot be read or without the field.
 */
int read_form_file(const struct api_request *req, const char *field, const char **ret,
                   size_t *ret_len, struct api_error *ae);

/**
 * Judge the uploaded certificate @cert with the runtime's profiles, the account redacted, and
 * classify it (sm_verdict_state(), generic): *@ret_v (sm_verdict_free()) and *@ret_st.
 */
int page_check(const struct api_request *req, const struct sm_cert *cert, struct sm_verdict **ret_v,
               struct sm_state_answer *ret_st, struct api_error *ae);

/** The JSON answer of POST /v1/self/check into *@ret (free()), its texts in @l, with @rt's
 * organisation and helpdesk. 0 or -ENOMEM. */
int page_json(const struct api_runtime *rt, const struct msg_lang *l, const struct sm_verdict *v,
              const struct sm_state_answer *st, char **ret);

/** The HTML page of the answer, and of a problem (@title and @detail: its texts), in @l, into
 * *@ret (free()). 0 or -ENOMEM. */
int page_html(const struct api_runtime *rt, const struct msg_lang *l, const struct sm_verdict *v,
              const struct sm_state_answer *st, char **ret, size_t *ret_len);
int page_html_problem(const struct api_runtime *rt, const struct msg_lang *l, const char *title,
                      const char *detail, char **ret, size_t *ret_len);

/** @s into @b with &, <, >, " and ' as character references. */
void page_escape(struct su_buf *b, const char *s);

/* The pieces of the page's answers that self.c shares, in @l. */

/** The current time as the helpdesk text says it (RFC 3339, UTC) into @buf. */
void page_time(char *buf, size_t size);
/** One DC's outcome: allow, or deny with the Kerberos error and the KDC event when @errors. */
void page_outcome(struct su_buf *b, const struct msg_lang *l, const struct sm_profile_outcome *o,
                  bool errors);
/** @st's steps as a JSON array of strings. */
void page_steps_json(struct su_jsonw *w, const struct msg_lang *l,
                     const struct sm_state_answer *st);
/** @v's outcomes as the JSON answers give them, [{"profile", "outcome", "kdc_error", "event"}],
 * the Kerberos error and the KDC event of a denial when @errors, else null. */
void page_profiles_json(struct su_jsonw *w, const struct sm_verdict *v, bool errors);
/** A row of the details for IT (<dt>@name</dt><dd>@value</dd>, escaped). */
void page_dl_row(struct su_buf *b, const char *name, const char *value);
/** The row of one DC's outcome (page_outcome()). */
void page_dl_outcome(struct su_buf *b, const struct msg_lang *l, const struct sm_profile_outcome *o,
                     bool errors);
/** What writes item @i of a list (page_list_html()) into @b: the content of its <li>. */
typedef void page_item_fn(struct su_buf *b, const void *ctx, size_t i);
/**
 * An answer's list under its heading, when @n > 0: <h3>, the text of the key @heading in @l,
 * </h3>, then <@list@attrs> ("ol", "" or "ul", " class=\"links\"") holding @n items <li>, each
 * written by @item(@b, @ctx, i). Nothing when @n is 0.
 */
void page_list_html(struct su_buf *b, const struct msg_lang *l, const char *heading,
                    const char *list, const char *attrs, size_t n, page_item_fn *item,
                    const void *ctx);
/** "What to do" and @st's steps, when it has any. */
void page_steps_html(struct su_buf *b, const struct msg_lang *l, const struct sm_state_answer *st);
/** The organisation's helpdesk ([page] organisation, helpdesk), when either is set. */
void page_contact_html(struct su_buf *b, const struct api_runtime *rt, const struct msg_lang *l);
/** The helpdesk text @text (NULL: out of memory) in the textarea @id, with its copy button. */
void page_helpdesk_html(struct su_buf *b, const struct msg_lang *l, const char *id,
                        const char *text);

/* ---- links.c: the organisation's help on the page ([page] organisation, helpdesk, link) ---- */

/* Around the empty page's help section, so that a page with an answer (which carries the same
   help) can leave it out (self.c). */
#define PAGE_HELP_START "<!--help-->"
#define PAGE_HELP_END   "<!--/help-->\n"

/** Does @rt have help to show: an organisation, a helpdesk or a link? */
bool page_has_help(const struct api_runtime *rt);
/** The empty page's section of help (h2): the helpdesk and the links, when page_has_help(). */
void page_help_html(struct su_buf *b, const struct api_runtime *rt, const struct msg_lang *l);
/** An answer's links (h3 and a list), when there are any. */
void page_links_html(struct su_buf *b, const struct api_runtime *rt, const struct msg_lang *l);
/** The links as the page's JSON gives them, [{"title", "url"}]. */
void page_links_json(struct su_jsonw *w, const struct api_runtime *rt);

/* ---- self.c: who asks the page, and the answer for their own account ---- */

enum self_source {
    SELF_NONE = 0, /* nobody known: the page's upload form only */
    SELF_CERT,     /* 1: the client certificate of the TLS connection */
    SELF_HEADER,   /* 2: [page] identity_header from [page] trusted_proxies */
    SELF_LAB,      /* lab mode ([page] lab_mode): a typed account name, proves nothing */
};

/** Who asks (self_identify()). */
struct self_identity {
    enum self_source source;
    const unsigned char *der; /* SELF_CERT: the certificate (borrowed from the session) */
    size_t der_len;
    char name[SM_MAX_NAME + 1]; /* SELF_HEADER, SELF_LAB: the account name */
};

/**
 * Who asks the page or GET /v1/self: the client certificate, else the identity header of a
 * trusted proxy, else (lab mode) ?account=. 0 with *@ret (SELF_NONE: nobody); 400 when the
 * header comes from a peer that is not a trusted proxy, comes twice or is not a name. @strict:
 * a query parameter other than account, or account without lab mode, is refused (the JSON
 * route); else ignored (the page).
 */
int self_identify(const struct api_request *req, bool strict, struct self_identity *ret,
                  struct api_error *ae);

/**
 * The identity header's value when a trusted proxy sent it (not empty, not checked further),
 * else NULL: the page's rate limit counts such a request by that name (h_page.c).
 */
const char *self_proxy_user(const struct api_request *req);

struct self_answer;

/** The answer for @id (not SELF_NONE) into *@ret (self_answer_free()). */
int self_answer(const struct api_request *req, const struct self_identity *id,
                struct self_answer **ret, struct api_error *ae);
struct self_answer *self_answer_free(struct self_answer *a);

/** GET /v1/self's document, its texts in @l, into *@ret (free()). 0 or -ENOMEM. */
int self_json(const struct api_runtime *rt, const struct msg_lang *l, const struct self_answer *a,
              char **ret);

/**
 * The page @tmpl (web/status.html rendered in @l, @tmpl_len bytes, NUL-terminated) with, at
 * its marker, lab mode's form (@lab_form) and the answer @a (may be NULL), in @l, into *@ret
 * (free()). 0, -ENOMEM, or -EINVAL when @tmpl has no marker.
 */
int self_page_html(const struct api_runtime *rt, const struct msg_lang *l,
                   const struct self_answer *a, bool lab_form, const char *tmpl, size_t tmpl_len,
                   char **ret, size_t *ret_len);

/* ---- handlers ---- */

int h_health(struct api_request *req);
int h_ready(struct api_request *req);
int h_inspect(struct api_request *req);
int h_verdict(struct api_request *req);
int h_account(struct api_request *req);
int h_events(struct api_request *req);
int h_metrics(struct api_request *req);
int h_authz(struct api_request *req);
int h_preissue(struct api_request *req);
int h_mappings(struct api_request *req);
int h_hook_enrich(struct api_request *req);
int h_hook_authorize(struct api_request *req);
int h_hook_freeradius(struct api_request *req);
int h_page(struct api_request *req);
int h_status_check(struct api_request *req);
int h_self_check(struct api_request *req);
int h_self(struct api_request *req);
int h_audits(struct api_request *req);
int h_audit(struct api_request *req);

/* ---- runtime.c: the server's runtime (struct api_runtime, api.h) ---- */

/** The runtime api_start() begins with (no other thread runs yet): a reference on @rt. */
void runtime_first(struct api *api, struct api_runtime *rt);

/** A setting api_start() refuses: @fmt's text into @e (may be NULL). Returns @r. */
int settings_fail(struct sm_errinfo *e, int r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Take a reference on the current runtime of @api (api_runtime_unref() drops it). Never
 * NULL. */
struct api_runtime *runtime_get(struct api *api);

/* ---- conn.c: connections, client addresses and the total-request-time watchdog ---- */

#define API_CLIENT_IP_MAX 48 /* IPv6 text and NUL */
#define API_RATE_KEY_MAX  72 /* "ip:" + IPv6 /64 text, or "tok:" + token name */

/** Our state of one connection (libmicrohttpd's socket context). */
struct api_conn {
    struct api_conn *prev, *next; /* in api->conns, under api->conns_lock */
    int fd;
    atomic_int_fast64_t deadline_ms; /* CLOCK_MONOTONIC; the watchdog cuts after it */
    atomic_bool cut;                 /* the watchdog shut the connection down */
    bool admitted;                   /* counted against the connection limits (else refused:
                                        shut down at once, none of its requests served) */
    char ip[API_CLIENT_IP_MAX];      /* for logs */
    char rate_key[API_RATE_KEY_MAX]; /* for the rate limiter: "ip:..." (IPv6: its /64) */
};

/* Buckets of the per-client connection counts (only with a per-IP limit). */
#define API_CONN_CLIENT_BUCKETS 1024

enum conn_admit {
    API_CONN_ADMIT = 0,
    API_CONN_OVER_LIMIT,  /* conn_limit connections are open */
    API_CONN_OVER_PER_IP, /* per_ip_conn_limit connections of this client (IPv6: /64) are open */
};

/** The per-client counts (api->cfg.per_ip_conn_limit set). 0 or -ENOMEM. */
int conn_clients_init(struct api *api);
void conn_clients_free(struct api *api);
/** Would a connection from @addr (a struct sockaddr) be admitted now? (a first, cheap look) */
enum conn_admit conn_may_accept(struct api *api, const void *addr);
/** Count a connection turned away for @why (metrics). */
void conn_refused(struct api *api, enum conn_admit why);
/**
 * A connection starts: track it (*@ret NULL when out of memory) and count it against the
 * limits; one over a limit is shut down at once (->admitted false).
 */
void conn_started(struct api *api, int fd, const void *addr, struct api_conn **ret);
/** A connection is closed (before libmicrohttpd closes its socket). */
void conn_closed(struct api *api, struct api_conn *c);
/** A request line arrived on @c / its request is complete: move the deadline. */
void conn_request_begins(struct api *api, struct api_conn *c);
void conn_request_ends(struct api *api, struct api_conn *c);
/** Start / stop the watchdog thread. */
int conn_watchdog_start(struct api *api);
void conn_watchdog_stop(struct api *api);

/* ---- ratelimit.c: token buckets per client ---- */

struct ratelimit;

struct ratelimit *ratelimit_new(void);
struct ratelimit *ratelimit_free(struct ratelimit *rl);

/**
 * Take one request from the bucket of @key (rate @rate per second, depth @burst). 0, or
 * -EAGAIN with the seconds until a request is allowed again (rounded up, >= 1) in
 * *@ret_retry_after.
 */
int ratelimit_take(struct ratelimit *rl, const char *key, double rate, unsigned burst,
                   unsigned *ret_retry_after);

/* ---- auth.c: bearer tokens and client certificates (GnuTLS) ---- */

#define AUTH_MISSING (-1) /* no "Authorization: Bearer" header */
#define AUTH_INVALID (-2) /* a bearer token that matches none */

/**
 * The token of @rt that the Authorization header @value (may be NULL) presents, "Bearer
 * <secret>" or "Basic <base64 of user:secret>" (any user): its index, or AUTH_MISSING /
 * AUTH_INVALID. Every configured token is compared, in constant time.
 */
int auth_bearer(const struct api_runtime *rt, const char *value);

/**
 * Verify the client certificate of the TLS session @session (a gnutls_session_t) against the
 * trusted CAs libmicrohttpd was given. 0 valid, -ENOENT none sent, -EACCES invalid.
 */
int auth_client_cert(void *session);

/**
 * The DER of the client certificate of @session once auth_client_cert() has verified it: 0
 * with *@ret_der (@ret_len bytes, GnuTLS's: valid while the session lives), or its error.
 */
int auth_client_cert_der(void *session, const unsigned char **ret_der, size_t *ret_len);

/* ---- decision.c ---- */

/** Append the decision log line of verdict @v (when the request's runtime has a log). */
void decision_log(struct api_request *req, const struct sm_verdict *v);

/* ---- metrics.c: the counters behind GET /metrics (Prometheus text format 0.0.4) ----
 *
 * Every counter is a 64-bit atomic updated with relaxed ordering: a request adds to a handful
 * of them (its route and status, one latency bucket, a few more for verdicts), and a scrape
 * reads them all without stopping anyone. A scrape may see one request's counters half
 * updated; Prometheus does not mind. The directory pool counts its own operations
 * (common/dirpool.h), which metrics_render() reads. */

enum auth_failure {
    AUTH_F_MISSING = 0,
    AUTH_F_INVALID,
    AUTH_F_SCOPE,
    AUTH_F_CLIENT_CERT,
    AUTH_F__COUNT
};

#define METRICS_STATUS_MIN  100
#define METRICS_STATUS_N    500 /* 100..599 */
#define METRICS_REASONS_MAX 128
#define METRICS_REASON_LEN  48

struct metrics_reason {
    char code[METRICS_REASON_LEN];
    atomic_uint_fast64_t n[2]; /* allow, deny */
};

/* /v1/authz answers, by outcome (metrics.c names them) */
enum api_authz_count {
    API_AUTHZ_ALLOW = 0,
    API_AUTHZ_DENY,
    API_AUTHZ_UNKNOWN,     /* the directory down, fail open: 200 */
    API_AUTHZ_UNAVAILABLE, /* the directory down, fail closed: 503 */
    API_AUTHZ__COUNT
};

struct api_metrics {
    atomic_uint_fast64_t requests[API_N_ROUTES + 1][METRICS_STATUS_N];
    atomic_uint_fast64_t unanswered[API_N_ROUTES + 1];
    struct hist latency[API_N_ROUTES + 1];
    atomic_uint_fast64_t connections, connections_open, request_timeouts;
    atomic_uint_fast64_t connections_refused[2]; /* over the limit, over the per-IP limit */
    atomic_uint_fast64_t rate_limited;
    atomic_uint_fast64_t auth_failures[AUTH_F__COUNT];
    atomic_uint_fast64_t verdicts[2];           /* allow, deny */
    atomic_uint_fast64_t verdict_lookups;       /* directory lookups verdicts made */
    atomic_uint_fast64_t verdict_lookup_limits; /* verdicts that used SM_MAX_VERDICT_LOOKUPS */
    atomic_uint_fast64_t account_statuses[3];
    atomic_uint_fast64_t authz[API_AUTHZ__COUNT];
    atomic_uint_fast64_t authz_cert_hits; /* /v1/authz headers whose analysis was kept */
    atomic_uint_fast64_t cached_tries[2]; /* api_route.cached_first: answered, to the jobs */
    atomic_uint_fast64_t mapping_writes[2][SM_MAPWRITE__COUNT]; /* applied: add, remove */
    atomic_uint_fast64_t decision_log_errors;
    atomic_uint_fast64_t reloads;
    /* reason codes seen, added under reasons_lock, read without it */
    pthread_mutex_t reasons_lock;
    atomic_size_t n_reasons;
    struct metrics_reason reasons[METRICS_REASONS_MAX];
    atomic_uint_fast64_t reasons_other[2];
};

void metrics_init(struct api_metrics *m);
void metrics_destroy(struct api_metrics *m);

static inline void metric_inc(atomic_uint_fast64_t *c)
{
    atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/** A request answered with @status (0: not answered) after @us microseconds. */
void metrics_request(struct api_metrics *m, unsigned label, unsigned status, uint64_t us);

/** A verdict, with its reasons. */
void metrics_verdict(struct api_metrics *m, const struct sm_verdict *v);

/** The exposition of every metric into *@ret (free()), @ret_len bytes. 0 or -ENOMEM. */
int metrics_render(struct api *api, const struct api_runtime *rt, char **ret, size_t *ret_len);

/* ---- the server (http.c, admit.c, jobs.c, reply.c) ---- */

struct api {
    struct api_config cfg; /* as given; its PEM pointers are not used after api_start() */
    struct MHD_Daemon *mhd;
    int listen_fd;       /* owned; closed by MHD_stop_daemon() unless quiesced */
    bool quiesced;       /* main thread only */
    atomic_bool running; /* MHD_start_daemon() has returned (set under start_lock) */
    /* libmicrohttpd's messages before it runs, for api_start()'s error (under start_lock) */
    pthread_mutex_t start_lock;
    char start_msg[400];
    atomic_bool closing; /* responses carry "Connection: close" */
    atomic_uint active;  /* requests between on_uri() and on_completed() */
    atomic_uint_fast64_t next_id;
    uint32_t id_prefix;     /* random per process, so ids differ across restarts */
    atomic_size_t body_mem; /* bytes of body buffers allocated, all requests */
    /* the current runtime (a reference), swapped under rt_lock */
    pthread_mutex_t rt_lock;
    struct api_runtime *rt;
    /* HTTPS: owned copies of the PEM texts (NULL: plain HTTP) */
    char *tls_cert, *tls_key, *tls_ca;
    /* connections and the watchdog */
    unsigned idle_timeout_s, request_timeout_s;
    pthread_mutex_t conns_lock;
    pthread_cond_t conns_cond;    /* wakes the watchdog to stop */
    struct api_conn *conns;       /* every open connection */
    unsigned conns_admitted;      /* connections counted against conn_limit (under conns_lock) */
    struct conn_client **clients; /* per-client counts, API_CONN_CLIENT_BUCKETS chains (under
                                     conns_lock); NULL without a per-IP limit */
    bool head_walk;               /* head.c may check the head's layout (libmicrohttpd 0.9.75) */
    bool watchdog_stop;           /* under conns_lock */
    bool watchdog_running;
    pthread_t watchdog;
    struct ratelimit *rl;
    struct api_metrics metrics;
    struct certcache *authz_certs; /* the analyses of recent /v1/authz headers (certcache.c) */
    /* job pool for directory-bound requests, so that a stalled directory never blocks
       libmicrohttpd's threads (and with them /healthz and /v1/inspect) */
    pthread_mutex_t jobs_lock;
    pthread_cond_t jobs_cond;
    struct api_request *jobs_head, *jobs_tail;
    bool jobs_stop; /* under jobs_lock */
    pthread_t *job_threads;
    unsigned n_job_threads;
    /* the audit jobs (api/audits.c): api_config's, or the server's own (@audits_own) */
    struct api_audits *audits;
    bool audits_own;
};

#endif

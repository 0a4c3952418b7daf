/*
 * api/api.h - the HTTP API as the daemon sees it: the runtime it serves with (struct
 * api_runtime), start, reconfigure (reload), quiesce, drain, stop.
 *
 * Private to daemon/ and api/. No libmicrohttpd type appears here: only the files in api/ include
 * <microhttpd.h>.
 */
#ifndef SM_API_H
#define SM_API_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include <strongmap/common.h>

#include "options.h"
#include "su_cidr.h"

struct dirpool;
struct mapaudit;
struct sm_certs;
struct sm_dir;

/*
 * Limits and defaults of the HTTP layer, in one place.
 * - Request bodies: capped at max_body (413). A body over the cap is still read (and dropped)
 *   up to max(API_DRAIN_MIN, 4 x max_body), then the connection is closed. All body buffers
 *   together may use max(API_BODY_MEMORY_MIN, 2 x max_body); beyond that requests get 503.
 *   At most API_BODY_PREALLOC_MAX is reserved up front for a declared Content-Length.
 * - Connections: API_CONN_LIMIT at once (more are closed at once, unanswered), closed after
 *   API_CONN_TIMEOUT_S idle seconds, and API_CONN_MEMORY_LIMIT bytes for the request line and
 *   headers, each header counted with API_HEAD_FIELD_COST bytes of bookkeeping (more: 431 or
 *   414), unless struct api_config says otherwise. libmicrohttpd gets API_CONN_MEMORY_RESERVE
 *   bytes more per connection, so that every request within the limit can be answered.
 * - Total request time: a request must be received and answered within API_REQUEST_TIMEOUT_S
 *   of its request line, and within idle + request timeout of the connection's start or of the
 *   previous response on it; a watchdog shuts the connection down when that passes, however
 *   the client trickles (libmicrohttpd's own timeout only counts idle time).
 */
#define API_MAX_BODY_DEFAULT      (256u * 1024)
#define API_MAX_BODY_MIN          1024u
#define API_MAX_BODY_MAX          (16u * 1024 * 1024)
#define API_BODY_PREALLOC_MAX     (16u * 1024)
#define API_BODY_MEMORY_MIN       (32u * 1024 * 1024)
#define API_DRAIN_MIN             (64u * 1024 * 1024)
#define API_MAX_THREADS           256u
#define API_CONN_LIMIT            1024u
#define API_CONN_LIMIT_MAX        65536u
#define API_CONN_TIMEOUT_S        30u
#define API_REQUEST_TIMEOUT_S     60u
#define API_TIMEOUT_MAX_S         3600u
#define API_CONN_MEMORY_LIMIT     (16u * 1024)
#define API_CONN_MEMORY_MIN       (8u * 1024)
#define API_CONN_MEMORY_MAX       (1024u * 1024)
#define API_CONN_MEMORY_RESERVE   4096u
#define API_HEAD_FIELD_COST       64u
#define API_CONN_SPARE_PER_THREAD 64u
#define API_TLS_PEM_MAX           (1024u * 1024)

/* TLS 1.3 and 1.2, ECDHE key exchange (elliptic-curve groups only: libmicrohttpd gets no DH
   parameters, and finite-field DHE would work only for clients offering RFC 7919 groups) and
   AEAD ciphers only */
#define API_TLS_PRIORITIES_DEFAULT                                                                 \
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:"      \
    "+AES-128-GCM:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-GROUP-ALL:+GROUP-EC-ALL"

/**
 * Settings of the HTTP API that need a restart; copied by api_start(). A zeroed field means
 * its default, so a caller that sets only the first three fields gets plain HTTP with the
 * limits above.
 */
struct api_config {
    int listen_fd;               /**< bound, listening TCP socket (IPv4 or IPv6) */
    bool listen_shared;          /**< the service manager holds @listen_fd too (socket
                                      activation): api_quiesce() leaves it listening, for the
                                      next process, and clients wait in its backlog meanwhile */
    unsigned threads;            /**< worker threads, 1..API_MAX_THREADS */
    struct api_runtime *runtime; /**< the runtime to start with (api_start() takes a reference
                                      of its own), so that tokens and limits apply from the
                                      first request on */

    /*
     * HTTPS. With @tls_cert_pem and @tls_key_pem (both or neither) the API speaks only HTTPS.
     * PEM texts (NUL-terminated, at most API_TLS_PEM_MAX bytes), copied by api_start(): the
     * daemon reads the files before it drops privileges. The key is wiped from memory at
     * api_stop().
     */
    const char *tls_cert_pem;      /**< server certificate, then its chain; NULL: plain HTTP */
    const char *tls_key_pem;       /**< its private key, unencrypted PEM */
    const char *tls_client_ca_pem; /**< NULL: no client certificates. Else clients are asked
                                        for one, verified against these CAs (with the TLS
                                        client purpose when the certificate has EKUs); a
                                        request that presents an invalid one gets 403
                                        client-certificate-required, except on the open routes
                                        (/healthz, /readyz) */
    bool tls_client_required;      /**< also refuse (403, same code) a request without one */
    bool page_only;                /**< a listener of the status page's own ([self] listen):
                                        every route but the page's (API_ROUTE_PAGE) answers
                                        404 not-found */
    const char *tls_priorities;    /**< GnuTLS priority string; NULL: API_TLS_PRIORITIES_DEFAULT
                                        (TLS 1.2 and 1.3) */
    struct api_audits *audits;     /**< the audit jobs (POST /v1/audits), shared by every server
                                        of the process so that each listener sees each job
                                        (borrowed: freed after api_stop() by its owner); NULL:
                                        the server keeps its own */

    /* Connection limits; 0 means the default given. */
    unsigned conn_limit;        /**< connections at once (API_CONN_LIMIT), @threads to
                                     API_CONN_LIMIT_MAX; more are closed at once, without an
                                     answer (libmicrohttpd's own limit is API_CONN_SPARE_PER_THREAD
                                     per thread higher, so that it keeps accepting) */
    unsigned per_ip_conn_limit; /**< connections at once from one client (0: no limit): an IPv4
                                     address, or the /64 of an IPv6 address, as the rate limit
                                     counts them; more are closed at once, without an answer */
    unsigned idle_timeout_s;    /**< close a connection idle this long (API_CONN_TIMEOUT_S) */
    unsigned request_timeout_s; /**< total time for one request (API_REQUEST_TIMEOUT_S), see
                                     the limits above; 1..API_TIMEOUT_MAX_S */
    size_t header_limit;        /**< bytes for the request line and headers of one request
                                     (API_CONN_MEMORY_LIMIT), API_CONN_MEMORY_MIN..MAX, with
                                     API_HEAD_FIELD_COST per header; more: 431 header-too-large
                                     (a head past the limit and the reserve: 414 or 431 from
                                     libmicrohttpd) */
};

/* Who may call a route: the scopes of bearer tokens (struct api_runtime). */
enum api_scope {
    API_SCOPE_NONE = 0,         /**< open: no token needed (healthz, readyz) */
    API_SCOPE_CHECK = 1 << 0,   /**< "check": inspect, verdict */
    API_SCOPE_ACCOUNT = 1 << 1, /**< "account": account status */
    API_SCOPE_ADMIN = 1 << 2,   /**< "admin": metrics, KDC events, issuance plans, dry runs of
                                     mapping write-back; it never writes (API_SCOPE_WRITE) */
    API_SCOPE_METRICS = 1 << 3, /**< "metrics": read /metrics only (for a Prometheus scraper) */
    API_SCOPE_ISSUE = 1 << 4,   /**< "issue": the issuance plan (CAs and portals) */
    API_SCOPE_WRITE = 1 << 5,   /**< "write": mapping write-back applied (and its dry runs); the
                                     only scope that writes to the directory, implied by none */
};

#define API_SCOPE_ALL                                                                              \
    (API_SCOPE_CHECK | API_SCOPE_ACCOUNT | API_SCOPE_ADMIN | API_SCOPE_METRICS | API_SCOPE_ISSUE | \
     API_SCOPE_WRITE)

#define API_TOKEN_NAME_MAX 64  /**< bytes of a token name, NUL included */
#define API_MAX_TOKENS     256 /**< tokens in one runtime */

/** A bearer token as configured: only the SHA-256 of the secret is kept. */
struct api_token {
    char name[API_TOKEN_NAME_MAX]; /**< for logs and metrics; never the secret. 1..63 bytes of
                                        [A-Za-z0-9._-] */
    unsigned char sha256[32];      /**< SHA-256 of the secret a client sends after "Bearer " */
    unsigned scopes;               /**< enum api_scope bits */
};

/** Routes whose required scope is configurable (/healthz and /readyz are always open). */
enum api_route_id {
    API_ROUTE_INSPECT = 0,
    API_ROUTE_VERDICT,
    API_ROUTE_ACCOUNT,
    API_ROUTE_EVENTS, /**< POST /v1/events/explain: "account" or "admin" by default (it names
                           accounts; without account_data_scope, none is looked up) */
    API_ROUTE_METRICS,
    API_ROUTE_HEALTHZ,
    API_ROUTE_READYZ,
    API_ROUTE_PREISSUE, /**< POST /v1/preissue */
    API_ROUTE_HOOKS,    /**< POST /v1/hooks/step-ca/{enrich,authorize}: signed by step-ca */
    API_ROUTE_AUTHZ,    /**< GET|POST /v1/authz (proxies) */
    API_ROUTE_PAGE,     /**< the status page: GET /, /status, /static/{name}; POST /status/check
                             and /v1/self/check (people, without a token: open by default) */
    API_ROUTE_MAPPINGS, /**< POST|DELETE /v1/accounts/{name}/mappings: mapping write-back;
                             always "write" or "admin" (not configurable); applying needs
                             "write" (api/h_mappings.c) */
    API_ROUTE_AUDITS,   /**< POST /v1/audits, GET|DELETE /v1/audits/{id}: audit jobs ("admin") */
    API_ROUTE__COUNT
};

#define API_MAX_WEBHOOKS       32  /**< step-ca webhooks in one runtime */
#define API_WEBHOOK_ID_MAX     64  /**< bytes of a webhook ID, NUL included */
#define API_WEBHOOK_SECRET_MAX 128 /**< bytes of a webhook's signing secret (decoded) */

/** A step-ca webhook: its ID (X-Smallstep-Webhook-ID) and signing secret. */
struct api_webhook {
    char id[API_WEBHOOK_ID_MAX];                  /**< 1..63 bytes of [A-Za-z0-9._-] */
    unsigned char secret[API_WEBHOOK_SECRET_MAX]; /**< the base64-decoded secret: the HMAC key */
    size_t secret_len;                            /**< 1..API_WEBHOOK_SECRET_MAX */
};

#define API_AUTHZ_HEADER_MAX     64 /**< bytes of [authz] header, NUL included */
#define API_AUTHZ_HEADER_DEFAULT "X-Client-Cert"

#define API_PAGE_TEXT_MAX 256 /**< bytes of [page] organisation and helpdesk, NUL included */

#define API_PAGE_LINKS_MAX      8   /**< [page] link: the organisation's links, at most */
#define API_PAGE_LINK_TITLE_MAX 120 /**< bytes of a link's title */
#define API_PAGE_LINK_URL_MAX   512 /**< bytes of a link's URL */

/** One of the organisation's links on the status page ([page] link = TITLE | URL). */
struct api_page_link {
    char title[API_PAGE_LINK_TITLE_MAX + 1]; /**< plain text, 1..API_PAGE_LINK_TITLE_MAX bytes
                                                  of UTF-8 without control characters */
    char url[API_PAGE_LINK_URL_MAX + 1];     /**< an absolute http:// or https:// URL with a
                                                  host and no user name or password, of RFC
                                                  3986's characters only (api_page_link_parse()) */
};

/** [page] identity_header's default */
#define API_PAGE_IDENTITY_HEADER_DEFAULT "X-Remote-User"

/* [audit]: audit jobs (api/audits.c) */
#define API_AUDIT_JOBS_MAX       16u             /**< audits running at once, at most */
#define API_AUDIT_KEEP_PER_JOB   4u              /**< audits held (any state) per job slot */
#define API_AUDIT_TTL_MAX        604800u         /**< seconds a finished audit is kept */
#define API_AUDIT_TIMEOUT_MAX    604800u         /**< seconds an audit may run */
#define API_AUDIT_REPORT_MIN     (64ull * 1024)  /**< bytes of one audit's reports, at least */
#define API_AUDIT_REPORT_MAX     (4096ull << 20) /**< ... at most */
#define API_AUDIT_REPORT_DEFAULT (64ull << 20)   /**< ... by default */
#define API_AUDIT_SOURCE_MAX     256             /**< bytes of api_runtime.audit_source */

#define API_RATE_MAX    1000000u /**< requests per second: beyond, "unlimited" is meant */
#define API_LOOKUPS_MAX 8192u    /**< [limits] lookups: two per event of SM_MAX_KDC_EVENTS */
#define API_BURST_MAX   1000000u

/*
 * The runtime: every setting a reload (SIGHUP) may change, with the directory and the files
 * they name, in one immutable, reference-counted object. Everything else in struct api_config
 * needs a restart.
 *
 * Life: api_runtime_new() allocates one with the defaults below and one reference, its
 * builder's. The builder (daemon/reload.c; a test) writes the settings, gives it its directory
 * and anchors, opens its decision log (api_runtime_open_log()), then publishes it: api_start()
 * and api_reconfigure() take a reference of their own, and the builder drops its reference when
 * it no longer needs the runtime. From publication on nobody writes it. Each request holds a
 * reference from its request line to its completion, so a reload never changes a request in
 * flight; the last reference closes the directory and the decision log and frees the rest.
 *
 * Checked once, by its builder: the values must be within the bounds each field states (the
 * daemon's configuration checks them, naming the file and line of a bad one); the API does not
 * check them again.
 *
 * Defaults: inspect, verdict and authz need "check", account status "account", /metrics "metrics"
 * or "admin", the issuance plan "issue", "account" or "admin" (the plan is account data: whoever
 * may ask for it sees it), mapping write-back "write" or "admin" (applying: "write" only, checked
 * by its handler, since "apply" is in the body), the audit jobs "admin" (a report names every
 * account), step-ca's webhooks nothing (their signature authenticates them),
 * /healthz and /readyz nothing (probes carry no token; when open they also skip the
 * client-certificate check and the rate limit). A token may use a route when its scopes hold
 * any of the route's scope bits; API_SCOPE_NONE opens the route to requests without a token.
 * Authentication is off altogether while n_tokens is 0 (the loopback default).
 *
 * What a route answers may hold account data (DN, sAMAccountName, UPN, SID, enabled state,
 * altSecurityIdentities, key credentials): only a request whose token holds one of
 * account_data_scope's bits gets it (default "account" or "admin"); any other answer is made
 * without it (a verdict with account_redacted). API_SCOPE_NONE: every caller may see it.
 */
struct api_runtime {
    /* Settings. Default: the zero value, unless said otherwise. */
    struct api_token tokens[API_MAX_TOKENS]; /**< the first n_tokens: distinct names and
                                                  secrets, valid names, known scope bits */
    size_t n_tokens;                         /**< 0..API_MAX_TOKENS; 0: no authentication */
    unsigned route_scope[API_ROUTE__COUNT];  /**< required scope per route (API_SCOPE_NONE:
                                                  open); defaults above */
    unsigned account_data_scope;             /**< scopes that see account data in answers */
    double rate_per_s;    /**< requests per second per client (token name, else IP address; IPv6
                               by /64), 0..API_RATE_MAX; 0: unlimited. /healthz and /readyz are
                               not limited */
    unsigned rate_burst;  /**< token-bucket depth, 0..API_BURST_MAX; 0: api_burst()'s */
    size_t max_body;      /**< request body cap in bytes, API_MAX_BODY_MIN..API_MAX_BODY_MAX
                               (default API_MAX_BODY_DEFAULT) */
    unsigned max_certs;   /**< certificates per request, 1..SM_MAX_CERTS (default SM_MAX_CERTS).
                               More: 413 too-many-certificates */
    unsigned max_lookups; /**< accounts one request may look up (POST /v1/events/explain's
                               events), 0..API_LOOKUPS_MAX; 0: no limit (the zero value; the
                               daemon's default is 256) */
    struct opt_profiles fleet; /**< profiles of a request that names none (n 0: the engine's
                                    default, windows-2022) */
    /** /healthz names the version and /readyz the directory kind (both answer without
        authentication); false: status only */
    bool health_details;
    /** /v1/authz: the request header a proxy forwards the client certificate in, an HTTP
        field name (default API_AUTHZ_HEADER_DEFAULT) */
    char authz_header[API_AUTHZ_HEADER_MAX];
    /** the peers whose certificate header /v1/authz believes (empty: none; the header from
        any other peer is answered 400, unjudged) */
    struct su_cidr_list trusted_proxies;
    /** /v1/authz with the directory down: 200 with outcome "unknown" (fail open) instead of
        503 directory-unavailable (fail closed, the default) */
    bool authz_fail_open;
    /** step-ca's webhooks: the first n_webhooks, distinct IDs. A call to /v1/hooks/step-ca/ must
        name one in X-Smallstep-Webhook-ID and carry the HMAC-SHA256 of its body with that
        webhook's secret in X-Smallstep-Signature; 0: every such call gets 401 */
    struct api_webhook webhooks[API_MAX_WEBHOOKS];
    size_t n_webhooks;
    /** the status page and its check (API_ROUTE_PAGE) are served (default true); false: 404 */
    bool page_enabled;
    /** the organisation's name and how to reach its helpdesk, shown in the page's answers
        (plain text, written escaped); "": not shown */
    char page_organisation[API_PAGE_TEXT_MAX];
    char page_helpdesk[API_PAGE_TEXT_MAX];
    /** the page's checks (POST /status/check, /v1/self/check) per second per client address
        (IPv6 by /64), 0..API_RATE_MAX, 0: unlimited; on top of rate_per_s, since the page is
        open to anyone and each check may cost a directory lookup */
    double page_rate_per_s;
    unsigned page_rate_burst; /**< its token-bucket depth, 0..API_BURST_MAX; 0: api_burst()'s */
    /** the header a trusted reverse proxy names the signed-in user in (identity path 2 of
        the page and GET /v1/self), an HTTP field name; "": API_PAGE_IDENTITY_HEADER_DEFAULT */
    char page_identity_header[API_AUTHZ_HEADER_MAX];
    /** the peers whose identity header the page believes (empty: none). A request that
        carries the header from any other peer is refused (400), never judged */
    struct su_cidr_list page_trusted_proxies;
    /** lab mode: the page and GET /v1/self answer for a typed account name, as for a proven
        identity (anyone may ask for any account: for a lab, never by default) */
    bool page_lab_mode;
    /** the organisation's links ([page] link), each checked by api_page_link_parse(): shown
        on the page (written escaped) and in the page's JSON */
    struct api_page_link page_links[API_PAGE_LINKS_MAX];
    size_t n_page_links; /**< 0..API_PAGE_LINKS_MAX */

    /** [audit]: the audit jobs of POST /v1/audits (api/audits.c, docs/audit.md). A job takes
        the settings of the runtime its request came with (a reload changes later jobs); the
        limit of jobs is checked against the request's runtime, over every job of the process */
    unsigned audit_jobs;                     /**< audits running at once, 1..API_AUDIT_JOBS_MAX
                                                  (default 1); API_AUDIT_KEEP_PER_JOB times as
                                                  many held in any state */
    unsigned audit_ttl_s;                    /**< a finished audit is kept this long (unless
                                                  fetched or deleted first), 1..API_AUDIT_TTL_MAX
                                                  (default 3600) */
    unsigned audit_timeout_s;                /**< an audit still running after this long stops,
                                                  its report partial, 1..API_AUDIT_TIMEOUT_MAX
                                                  (default 3600) */
    unsigned long long audit_max_report;     /**< bytes of one audit's reports in memory, every
                                                  format together, API_AUDIT_REPORT_MIN..MAX
                                                  (default API_AUDIT_REPORT_DEFAULT); more fails
                                                  the audit (report_too_large) */
    char audit_source[API_AUDIT_SOURCE_MAX]; /**< the directory as the HTML report names it
                                                  ("LDAP URI, base DN"); "": its kind */

    /* Owned: closed or freed with the runtime. */
    struct dirpool *dir;            /**< the directory, NULL: none */
    struct dirpool *audit_dir;      /**< LDAP: the audit jobs' handles, two per job (the walk's
                                         paged search, the lookups), no lookup cache, so that
                                         an audit takes none of the workers' handles nor floods
                                         their cache; NULL: none, or an LDIF (@dir's one shared
                                         handle serves) */
    struct sm_certs *samba_anchors; /**< Samba's pkinit_anchors for verdicts, NULL: not known */
    struct sm_certs *stepca_issuer; /**< the CA step-ca signs with (one), NULL: not known */
    char *decision_log;             /**< path of the JSON-lines decision log, NULL: off; set by
                                         api_runtime_open_log() */
    int decision_fd;                /**< that file (O_APPEND), -1: off */
    struct dirpool *map_pool;       /**< mapping write-back: handles with the write bind
                                         ([write]), as many as the read pool's, no lookup
                                         cache; NULL: write-back off. A write uses one under
                                         the process's write lock (mapaudit.h), a dry run
                                         one without it */
    struct mapaudit *map_audit;     /**< its audit log (common/mapaudit.h), NULL: off; set by
                                         api_runtime_open_audit() */
    /** the status page's message catalogues, finished (api/messages.h); NULL: the shipped ones */
    struct api_messages *page_messages;
    /**
     * Called once when the last reference goes (from any thread: a worker's, or the one calling
     * api_reconfigure(), api_stop() or api_runtime_unref()), e.g. to log it. NULL: nothing.
     */
    void (*release)(void *arg);
    void *release_arg;

    /* Bookkeeping, the only fields written after publication. */
    atomic_uint refs;
    atomic_bool log_failed; /* a decision log write failed (logged once per runtime) */
};

/**
 * A runtime with the defaults above (no directory, no decision log) and one reference, the
 * caller's, into *@ret. 0 or -ENOMEM.
 */
int api_runtime_new(struct api_runtime **ret);

/**
 * Open the decision log of @rt (not yet published) at @path: appended to (O_APPEND), created
 * 0640 when missing, so that a new runtime after a rotation writes a new file. 0, -ENOMEM or
 * -errno with "cannot open the decision log PATH: why" in @e (may be NULL).
 */
int api_runtime_open_log(struct api_runtime *rt, const char *path, struct sm_errinfo *e);

/**
 * Open the write-back's audit log of @rt (not yet published) at @path (common/mapaudit.h):
 * 0, or -errno / -EPERM with the reason in @e.
 */
int api_runtime_open_audit(struct api_runtime *rt, const char *path, struct sm_errinfo *e);

/** Take a reference on @rt. Returns @rt. */
struct api_runtime *api_runtime_ref(struct api_runtime *rt);

/** Drop a reference on @rt; the last one frees it (see above). NULL is fine. Returns NULL. */
struct api_runtime *api_runtime_unref(struct api_runtime *rt);

/** The token-bucket depth in force for @rate and @burst: @burst, else the rate rounded up, at
 * least 1. */
unsigned api_burst(double rate, unsigned burst);

/**
 * Parse a comma-separated list of scope names ("check,account"; "none" alone: API_SCOPE_NONE)
 * into *@ret (enum api_scope bits). 0 or -EINVAL.
 */
int api_scopes_parse(const char *list, unsigned *ret);

/** "check", "account", "admin", "metrics", "issue" for one scope bit; NULL for anything else. */
const char *api_scope_name(unsigned scope);

/**
 * Does GnuTLS accept the priority string @prio (api_config.tls_priorities)? 0, or -EINVAL
 * with a one-line reason naming where it stopped reading in @e.
 */
int api_tls_priorities_check(const char *prio, struct sm_errinfo *e);

/**
 * [page] link's value @text, "TITLE | URL" (split at the last '|', blanks around each part
 * dropped), checked into *@ret: the title 1..API_PAGE_LINK_TITLE_MAX bytes of UTF-8 without
 * control characters; the URL at most API_PAGE_LINK_URL_MAX bytes, absolute, http:// or
 * https://, a host (a name, an IPv4 address or [an IPv6 address]) with an optional port, no
 * user name or password, and only the characters RFC 3986 allows in a URI (non-ASCII
 * percent-encoded). 0, or -EINVAL with a one-line reason in @e.
 */
int api_page_link_parse(const char *text, struct api_page_link *ret, struct sm_errinfo *e);

/** "inspect", "verdict", "account", "events", "metrics", ...; NULL for anything else. */
const char *api_route_name(enum api_route_id route);

/*
 * The audit jobs of a process (api/audits.c): POST /v1/audits starts one on a thread of its
 * own, GET /v1/audits/{id} reads it, DELETE cancels or forgets it. Kept in memory only: none
 * survives a restart.
 */
struct api_audits;

/** An empty set of audit jobs into *@ret. 0 or -ENOMEM. */
int api_audits_new(struct api_audits **ret);

/**
 * Cancel every audit still running, wait for its thread (it stops after the account it is
 * auditing, or once a page of the directory it awaits has come or timed out), and free every
 * job and report. After api_stop() of every server that was given @a. NULL is fine. Returns
 * NULL.
 */
struct api_audits *api_audits_free(struct api_audits *a);

struct api;

/**
 * Start serving on @cfg->listen_fd with a pool of @cfg->threads threads. Signals the caller
 * does not want delivered to worker threads must be blocked before this call (the threads
 * inherit the signal mask). The server takes a reference on @cfg->runtime (on success only).
 *
 * Ownership: takes @cfg->listen_fd, also on failure (libmicrohttpd may or may not have closed
 * it then: the caller must neither use nor close it). Returns 0 with *@ret_api set, -EINVAL for
 * a bad configuration, -ENOMEM, -errno from opening the decision log, or -EIO when
 * libmicrohttpd refused to start (e.g. a TLS key GnuTLS cannot read); the reason is in @e
 * (may be NULL), for the caller to report: nothing is logged.
 */
int api_start(const struct api_config *cfg, struct api **ret_api, struct sm_errinfo *e);

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

/**
 * Make @rt (published: see struct api_runtime) the runtime of @api: the server takes a
 * reference on it and drops its reference on the one it replaces. Requests whose request line
 * arrives afterwards use @rt; requests in progress finish with the runtime they started with,
 * which is freed when the last of them completes (at once when none is in progress). Call from
 * one thread at a time (the daemon's main thread). Cannot fail: whatever can fails while @rt is
 * built.
 */
void api_reconfigure(struct api *api, struct api_runtime *rt);

/** Stop the threads, close every connection and the listening socket, free @api. NULL is fine.
 * Always returns NULL. */
struct api *api_stop(struct api *api);

#endif

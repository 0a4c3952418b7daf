/*
 * daemon/config.h - strongmapd's configuration: strongmapd.conf(5) read with libinih, the
 * command-line flags applied over it, checked as a whole, and printed back (-p).
 *
 * One table in config.c drives everything: for each directive its section, key, flag, type,
 * bounds, default, where it is stored, whether a reload may change it and whether its value is a
 * secret. A struct cfg is one immutable snapshot once cfg_finish() has accepted it; a reload
 * builds a new one and keeps the old one on any error.
 *
 * Order: cfg_new() (built-in defaults) -> cfg_load_file() or cfg_load_string() -> cfg_set() for
 * each command-line flag (flags win; the first flag of a repeatable directive replaces the
 * file's values) -> cfg_finish() (cross-checks, computed defaults) -> use, cfg_dump().
 *
 * Errors: the functions return 0 or a negative errno and fill a struct sm_errinfo whose text
 * names the place: "FILE:LINE: key: reason" for the file, "--flag: reason" for the command
 * line; its origin is SM_ORIGIN_ARGUMENT for the command line, else SM_ORIGIN_CONFIG with the
 * file's line (0: the file as a whole, or a default), and its field the directive's key when
 * one is at fault. Config code does not log.
 */
#ifndef SM_DAEMON_CONFIG_H
#define SM_DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <strongmap/common.h>

#include "api.h"
#include "options.h"

#ifndef CFG_DEFAULT_PATH
#define CFG_DEFAULT_PATH "/etc/strongmapd/strongmapd.conf"
#endif
#define CFG_FILE_MAX   (1024 * 1024) /* bytes of a configuration file */
#define CFG_MAX_LISTEN 16            /* listen addresses */
#define CFG_ERR_MAX    512           /* a message about the configuration (struct sm_errinfo) */

#define CFG_MAX_SELF_LISTEN 4 /* [self] listen addresses */

/* Where a value came from: a line of the file (> 0), or one of these. */
#define CFG_ORIGIN_DEFAULT 0
#define CFG_ORIGIN_CMDLINE (-1)

/* The directives, in table order (config.c). */
enum cfg_id {
    CFG_LISTEN,
    CFG_THREADS,
    CFG_USER,
    CFG_GROUP,
    CFG_ALLOW_ROOT,
    CFG_HEALTH_DETAILS,
    CFG_TLS_CERT,
    CFG_TLS_KEY,
    CFG_TLS_CLIENT_CA,
    CFG_TLS_CLIENT_REQUIRED,
    CFG_TLS_PRIORITIES,
    CFG_TOKEN,
    CFG_SCOPE_INSPECT,
    CFG_SCOPE_VERDICT,
    CFG_SCOPE_ACCOUNT,
    CFG_SCOPE_EVENTS,
    CFG_SCOPE_METRICS,
    CFG_SCOPE_HEALTHZ,
    CFG_SCOPE_READYZ,
    CFG_SCOPE_PREISSUE,
    CFG_SCOPE_HOOKS,
    CFG_SCOPE_AUTHZ,
    CFG_SCOPE_PAGE,
    CFG_SCOPE_AUDITS,
    CFG_SCOPE_ACCOUNT_DATA,
    CFG_ALLOW_UNAUTHENTICATED,
    CFG_LDIF,
    CFG_LDAP_URI,
    CFG_LDAP_BASE,
    CFG_LDAP_BIND_DN,
    CFG_LDAP_PASSWORD_FILE,
    CFG_LDAP_CA_FILE,
    CFG_LDAP_STARTTLS,
    CFG_LDAP_SASL_MECH,
    CFG_CONNECT_TIMEOUT,
    CFG_OP_TIMEOUT,
    CFG_TLS_TIMEOUT,
    CFG_NTAUTH_TTL,
    CFG_PROFILE,
    CFG_SAMBA_ANCHORS,
    CFG_MODE,
    CFG_BACKDATING,
    CFG_CACHE_SIZE,
    CFG_CACHE_TTL,
    CFG_CACHE_NEGATIVE_TTL,
    CFG_MAX_BODY,
    CFG_MAX_HEADER,
    CFG_CONNECTIONS,
    CFG_CONNECTIONS_PER_IP,
    CFG_IDLE_TIMEOUT,
    CFG_REQUEST_TIMEOUT,
    CFG_RATE,
    CFG_BURST,
    CFG_MAX_CERTS,
    CFG_LOOKUPS,
    CFG_LOG_LEVEL,
    CFG_DECISION_LOG,
    CFG_STEPCA_WEBHOOKS,
    CFG_STEPCA_ISSUER,
    CFG_AUTHZ_HEADER,
    CFG_AUTHZ_TRUSTED_PROXIES,
    CFG_AUTHZ_DIRECTORY_DOWN,
    CFG_PAGE_ENABLED,
    CFG_PAGE_ORGANISATION,
    CFG_PAGE_HELPDESK,
    CFG_PAGE_LINK,
    CFG_PAGE_RATE,
    CFG_PAGE_BURST,
    CFG_PAGE_IDENTITY_HEADER,
    CFG_PAGE_TRUSTED_PROXIES,
    CFG_PAGE_LAB_MODE,
    CFG_PAGE_MESSAGES,
    CFG_SELF_LISTEN,
    CFG_WRITE_BIND_DN,
    CFG_WRITE_PASSWORD_FILE,
    CFG_WRITE_AUDIT_LOG,
    CFG_AUDIT_JOBS,
    CFG_AUDIT_TTL,
    CFG_AUDIT_TIMEOUT,
    CFG_AUDIT_MAX_REPORT,
    CFG__COUNT
};

/** What a directive's table entry says about it (for the flag table and the help text). */
struct cfg_directive_info {
    const char *section, *key; /* "server", "listen" */
    const char *flag;          /* long option without "--" ("listen") */
    const char *arg;           /* argument name for the help ("ADDR:PORT"), NULL: no argument */
    const char *help;          /* one line */
    bool repeatable, restart;
};

/** The entry of directive @id (static storage). */
const struct cfg_directive_info *cfg_directive(enum cfg_id id);

/** One configuration. Strings are owned by it; read it, never write it after cfg_finish(). */
struct cfg {
    /* [server] */
    char *listen[CFG_MAX_LISTEN];
    size_t n_listen;
    unsigned threads; /* 0 until cfg_finish(): the online CPUs */
    char *user, *group;
    bool allow_root;
    bool health_details;
    bool page_enabled; /* [page] enabled */
    char *page_organisation, *page_helpdesk;
    char *page_link[API_PAGE_LINKS_MAX]; /* [page] link: "TITLE | URL" each, as given */
    size_t n_page_link;
    double page_rate;    /* [page] rate: checks per second per client */
    unsigned page_burst; /* [page] burst */
    /* [page] identity_header, trusted_proxies (checked by cfg_finish(): a field name, address
       blocks), lab_mode */
    char *page_identity_header, *page_trusted_proxies;
    bool page_lab_mode;
    char *page_messages; /* a directory of message catalogues (LANG.json), NULL: none */
    /* [self]: listeners of the page's own (its routes only) */
    char *self_listen[CFG_MAX_SELF_LISTEN];
    size_t n_self_listen;
    /* [tls] */
    char *tls_cert, *tls_key, *tls_client_ca, *tls_priorities;
    bool tls_client_required;
    /* [auth] */
    struct api_token tokens[API_MAX_TOKENS];
    size_t n_tokens;
    unsigned route_scope[API_ROUTE__COUNT];
    unsigned account_data_scope; /* scopes that see account data in answers */
    bool allow_unauthenticated;  /* no tokens: fine on any address, and at a reload */
    /* [directory] */
    char *ldif;
    char *ldap_uri[OPT_MAX_LDAP_URIS];
    size_t n_ldap_uri;
    char *ldap_base, *ldap_bind_dn, *ldap_password_file, *ldap_ca_file, *ldap_sasl_mech;
    bool ldap_starttls;
    unsigned connect_timeout_ms, op_timeout_ms, tls_timeout_ms;
    unsigned long long ntauth_ttl; /* seconds each handle keeps the NTAuth store */
    /* [profiles]: after cfg_finish() the fleet has mode and backdating applied */
    struct opt_profiles fleet;
    char *samba_anchors;        /* Samba's pkinit_anchors (PEM/DER certificates), or NULL */
    long long mode, backdating; /* -1: each profile's default */
    /* [cache] */
    unsigned long long cache_size, cache_ttl, cache_negative_ttl;
    /* [limits] */
    unsigned long long max_body, max_header;
    unsigned connections, connections_per_ip, idle_timeout, request_timeout;
    double rate;
    unsigned burst, max_certs;
    unsigned lookups; /* [limits] lookups */
    /* [log] */
    int log_level; /* syslog priority: 3 error, 4 warning, 6 info, 7 debug */
    char *decision_log;
    /* [write]: mapping write-back (docs/write-back.md), all three or none, with ldap_uri */
    char *write_bind_dn, *write_password_file, *write_audit_log;
    /* [audit]: POST /v1/audits */
    unsigned audit_jobs;
    unsigned long long audit_ttl, audit_timeout, audit_max_report;
    /* [step-ca] */
    char *stepca_webhooks; /* the webhooks' IDs and signing secrets (a file), or NULL */
    char *stepca_issuer;   /* the CA certificate step-ca signs with (a file), or NULL */
    /* [authz] (checked by cfg_finish(): a field name, address blocks, a policy) */
    char *authz_header, *authz_trusted_proxies, *authz_directory_down;

    /* bookkeeping */
    char *path;             /* the file read, or NULL */
    int origin[CFG__COUNT]; /* see CFG_ORIGIN_* */
    bool cmdline_set[CFG__COUNT];
    bool finished;
};

/** A configuration holding the built-in defaults, or NULL (out of memory). */
struct cfg *cfg_new(void);

/** Free @c; NULL is fine. Returns NULL. */
struct cfg *cfg_free(struct cfg *c);

/**
 * Read the file at @path (a regular file of at most CFG_FILE_MAX bytes) into @c. Relative paths
 * in it are taken relative to the file's directory. Returns 0, -errno (unreadable), -EPERM (a
 * file others may write, or another user's: fileperm.h) or -EINVAL (the first error, with its
 * line).
 */
int cfg_load_file(struct cfg *c, const char *path, struct sm_errinfo *e);

/**
 * The same from memory: @len bytes at @text (need not be NUL-terminated; a NUL byte is an
 * error), named @name in messages. Relative paths stay relative.
 */
int cfg_load_string(struct cfg *c, const char *name, const char *text, size_t len,
                    struct sm_errinfo *e);

/**
 * Apply one command-line flag: directive @id set to @value (NULL for a flag without argument:
 * "yes"). @as names the flag in messages ("--threads"). Returns 0 or -EINVAL.
 */
int cfg_set(struct cfg *c, enum cfg_id id, const char *value, const char *as, struct sm_errinfo *e);

/**
 * The same for "-o SECTION.KEY=VALUE" (or "SECTION.KEY" alone for a boolean: yes).
 */
int cfg_set_option(struct cfg *c, const char *assignment, struct sm_errinfo *e);

/**
 * Check the directives together (the directory's, TLS cert and key, mode and backdating against
 * the profiles, ...) and fill in computed defaults. Returns 0 or -EINVAL; e->origin tells
 * whether the offending value came from the command line.
 */
int cfg_finish(struct cfg *c, struct sm_errinfo *e);

/**
 * Where directive @id got its value, for a message about it: "FILE:LINE: key" or "--flag"
 * (or "key" for a default). Returns @buf.
 */
char *cfg_where(const struct cfg *c, enum cfg_id id, char *buf, size_t size);

/**
 * Place @e at directive @id of @c: its field the directive's key, its origin and line where the
 * value came from (SM_ORIGIN_ARGUMENT: the command line; SM_ORIGIN_CONFIG: a line of the file,
 * 0 for a default).
 */
void cfg_error_at(const struct cfg *c, enum cfg_id id, struct sm_errinfo *e);

/**
 * Fill @e about directive @id of @c (a file it names, a value the system refuses): the text is
 * cfg_where()'s "FILE:LINE: key" (or "--flag") followed by ": " and @fmt's, placed as
 * cfg_error_at() does. Returns @r.
 */
int cfg_fail(const struct cfg *c, enum cfg_id id, struct sm_errinfo *e, int r, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/**
 * Print @c (finished) as a configuration file: every directive with its effective value, unset
 * ones commented out. Token hashes are shown as "***"; no file a directive names is read.
 */
void cfg_dump(const struct cfg *c, FILE *f);

/** Do @a and @b hold the same value for directive @id? */
bool cfg_same(const struct cfg *a, const struct cfg *b, enum cfg_id id);

/**
 * Is @next's value of directive @id looser than @prev's, for a reload's warnings? A limit
 * (F_LIMIT in the table: a body, header or connection limit, a timeout, a cache lifetime, the
 * rate, the certificates per request) grown, or turned off where 0 means no limit; every token
 * gone; a route accepting more scopes or none; allow_unauthenticated or allow_root turned on;
 * HTTPS, client certificates, the LDAP CA file, StartTLS or the decision log turned off; more
 * plain ldap:// URIs. Anything else: false.
 */
bool cfg_looser(const struct cfg *prev, const struct cfg *next, enum cfg_id id);

/**
 * The value of directive @id in @c as configuration text (repeated values joined by ", ",
 * "(none)" when unset, secrets masked as cfg_dump() does), cut to fit @size. Returns @buf.
 */
char *cfg_value(const struct cfg *c, enum cfg_id id, char *buf, size_t size);

/** The directory settings of @c as options.h describes them (strings borrowed from @c). */
void cfg_dir(const struct cfg *c, struct opt_dir *ret);

#endif

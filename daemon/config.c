/*
 * daemon/config.c - the configuration table, the strongmapd.conf reader (libinih), the
 * command-line overrides, the cross-checks and the dump (see config.h).
 *
 * libinih (Debian's build: INI_MAX_LINE 200, inline ";" comments, multi-line values) reads the
 * lines through reader() below, which counts them (so every message has its line), strips
 * leading blanks (an indented line is an ordinary line, never a continuation of the previous
 * value), and refuses NUL bytes and lines libinih would cut.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "fileperm.h"
#include "listen.h"
#include "log.h"

#define CFG_VALUE_MAX 4096 /* bytes of one value (a path, a DN) */
#define REASON_MAX    300

enum type {
    T_LISTEN,  /* char *[]: "ADDR:PORT" (listen.h) */
    T_UINT,    /* unsigned */
    T_ULL,     /* unsigned long long */
    T_SIZE,    /* unsigned long long, bytes with an optional K or M suffix */
    T_MS,      /* unsigned milliseconds: "3" or "3s" seconds, "500ms" */
    T_OPTNUM,  /* long long, -1 when unset */
    T_DOUBLE,  /* double */
    T_BOOL,    /* bool */
    T_STR,     /* char *: printable text */
    T_PATH,    /* char *: a file; relative to the configuration file's directory */
    T_URI,     /* char *[]: ldap:// or ldaps:// */
    T_SASL,    /* char *: GSSAPI */
    T_TOKEN,   /* struct api_token[] */
    T_SCOPE,   /* unsigned: enum api_scope */
    T_PROFILE, /* struct sm_profile[] (struct opt_profiles) */
    T_LEVEL,   /* int: syslog priority */
};

struct directive {
    struct cfg_directive_info i; /* first: cfg_directive() returns a pointer to it */
    enum type type;
    bool secret;                 /* masked by cfg_dump() */
    unsigned long long min, max; /* numbers; T_STR / T_PATH: max length */
    const char *def;             /* default as text, NULL: unset */
    size_t off;                  /* the field in struct cfg */
    size_t count_off, max_n;     /* repeatable: the size_t count, the array's size */
    unsigned flags;              /* F_* */
};

#define F_REPEAT  1u
#define F_RESTART 2u
#define F_SECRET  4u
#define F_LIMIT   8u  /* a number whose larger value is looser (cfg_looser()) */
#define F_NOLIMIT 16u /* with F_LIMIT: 0 means no limit at all, the loosest */

/* clang-format off */
#define DIRECTIVE(id, sec, key, flag, arg, type, fl, lo, hi, def, field, help) \
    [id] = { { sec, key, flag, arg, help, false, ((fl) & F_RESTART) != 0 }, type, \
             ((fl) & F_SECRET) != 0, lo, hi, def, offsetof(struct cfg, field), 0, 0, fl }
#define LIST(id, sec, key, flag, arg, type, fl, def, field, count, n, help) \
    [id] = { { sec, key, flag, arg, help, true, ((fl) & F_RESTART) != 0 }, type, \
             ((fl) & F_SECRET) != 0, 0, 0, def, offsetof(struct cfg, field), \
             offsetof(struct cfg, count), n, fl }

/*
 * The directives. Bounds and defaults here are the documented ones (strongmapd.conf(5),
 * examples/strongmapd.conf); tests/system checks that both documents name every key.
 */
static const struct directive table[CFG__COUNT] = {
    LIST(CFG_LISTEN, "server", "listen", "listen", "ADDR:PORT", T_LISTEN, F_RESTART,
         "127.0.0.1:8080", listen, n_listen, CFG_MAX_LISTEN,
         "address to listen on, 127.0.0.1:8080 or [::1]:8080; repeatable"),
    DIRECTIVE(CFG_THREADS, "server", "threads", "threads", "N", T_UINT, F_RESTART, 1,
              API_MAX_THREADS, NULL, threads, "worker threads per address (default: CPUs)"),
    DIRECTIVE(CFG_USER, "server", "user", "user", "USER", T_STR, F_RESTART, 0, 255, NULL, user,
              "started as root: switch to USER once sockets and keys are open"),
    DIRECTIVE(CFG_GROUP, "server", "group", "group", "GROUP", T_STR, F_RESTART, 0, 255, NULL,
              group, "and to GROUP (default: USER's primary group)"),
    DIRECTIVE(CFG_ALLOW_ROOT, "server", "allow_root", "allow-root", NULL, T_BOOL, F_RESTART, 0,
              0, "no", allow_root, "run even as root, without user= (not recommended)"),
    DIRECTIVE(CFG_HEALTH_DETAILS, "server", "health_details", "health-details", "BOOL", T_BOOL, 0,
              0, 0, "no", health_details,
              "/healthz and /readyz (open to all) name the version and the directory kind"),

    DIRECTIVE(CFG_TLS_CERT, "tls", "cert", "tls-cert", "FILE", T_PATH, F_RESTART, 0,
              CFG_VALUE_MAX, NULL, tls_cert, "HTTPS: certificate chain (PEM)"),
    DIRECTIVE(CFG_TLS_KEY, "tls", "key", "tls-key", "FILE", T_PATH, F_RESTART, 0, CFG_VALUE_MAX,
              NULL, tls_key, "HTTPS: its private key (PEM)"),
    DIRECTIVE(CFG_TLS_CLIENT_CA, "tls", "client_ca", "tls-client-ca", "FILE", T_PATH, F_RESTART,
              0, CFG_VALUE_MAX, NULL, tls_client_ca,
              "require client certificates issued by these CAs (PEM)"),
    DIRECTIVE(CFG_TLS_CLIENT_REQUIRED, "tls", "client_required", "tls-client-required", "BOOL",
              T_BOOL, F_RESTART, 0, 0, "yes", tls_client_required,
              "with client_ca: refuse requests without a client certificate"),
    DIRECTIVE(CFG_TLS_PRIORITIES, "tls", "priorities", "tls-priorities", "STRING", T_STR,
              F_RESTART, 0, 1024, API_TLS_PRIORITIES_DEFAULT, tls_priorities,
              "GnuTLS priority string (default: TLS 1.3 and 1.2 with ECDHE and AEAD)"),

    LIST(CFG_TOKEN, "auth", "token", "token", "NAME:SHA256:SCOPES", T_TOKEN, F_SECRET, NULL,
         tokens, n_tokens, API_MAX_TOKENS,
         "bearer token: name, SHA-256 of the secret (hex), scopes; repeatable"),
    DIRECTIVE(CFG_SCOPE_INSPECT, "auth", "scope.inspect", "scope-inspect", "SCOPES", T_SCOPE, 0, 0,
              0, "check", route_scope[API_ROUTE_INSPECT],
              "scopes POST /v1/inspect accepts: none, or check, account, admin, metrics"),
    DIRECTIVE(CFG_SCOPE_VERDICT, "auth", "scope.verdict", "scope-verdict", "SCOPES", T_SCOPE, 0, 0,
              0, "check", route_scope[API_ROUTE_VERDICT], "scopes POST /v1/verdict accepts"),
    DIRECTIVE(CFG_SCOPE_ACCOUNT, "auth", "scope.account", "scope-account", "SCOPES", T_SCOPE, 0, 0,
              0, "account", route_scope[API_ROUTE_ACCOUNT],
              "scopes GET /v1/accounts/{name} accepts"),
    DIRECTIVE(CFG_SCOPE_METRICS, "auth", "scope.metrics", "scope-metrics", "SCOPES", T_SCOPE, 0,
              0, 0, "metrics,admin", route_scope[API_ROUTE_METRICS],
              "scopes GET /metrics accepts"),
    DIRECTIVE(CFG_SCOPE_HEALTHZ, "auth", "scope.healthz", "scope-healthz", "SCOPES", T_SCOPE, 0,
              0, 0, "none", route_scope[API_ROUTE_HEALTHZ],
              "scopes GET /healthz accepts (none: open to probes)"),
    DIRECTIVE(CFG_SCOPE_READYZ, "auth", "scope.readyz", "scope-readyz", "SCOPES", T_SCOPE, 0, 0,
              0, "none", route_scope[API_ROUTE_READYZ],
              "scopes GET /readyz accepts (none: open to probes)"),
    DIRECTIVE(CFG_SCOPE_ACCOUNT_DATA, "auth", "scope.account_data", "scope-account-data",
              "SCOPES", T_SCOPE, 0, 0, 0, "account,admin", account_data_scope,
              "scopes whose requests see account data (DN, SID, UPN, mappings) in verdicts"),
    DIRECTIVE(CFG_ALLOW_UNAUTHENTICATED, "auth", "allow_unauthenticated",
              "allow-unauthenticated", NULL, T_BOOL, 0, 0, 0, "no", allow_unauthenticated,
              "without tokens: serve every route to anyone, also on an address other than "
              "loopback, and accept a reload that drops every token"),

    DIRECTIVE(CFG_LDIF, "directory", "ldif", "ldif", "FILE", T_PATH, 0, 0, CFG_VALUE_MAX, NULL,
              ldif, "read the directory from an LDIF export"),
    LIST(CFG_LDAP_URI, "directory", "ldap_uri", "ldap-uri", "URI", T_URI, 0, NULL, ldap_uri,
         n_ldap_uri, OPT_MAX_LDAP_URIS, "ldap:// or ldaps:// server; repeatable, for failover"),
    DIRECTIVE(CFG_LDAP_BASE, "directory", "ldap_base", "ldap-base", "DN", T_STR, 0, 0,
              CFG_VALUE_MAX, NULL, ldap_base, "search base: the domain's DN"),
    DIRECTIVE(CFG_LDAP_BIND_DN, "directory", "ldap_bind_dn", "ldap-bind-dn", "DN", T_STR, 0, 0,
              CFG_VALUE_MAX, NULL, ldap_bind_dn, "simple bind as DN (or a UPN)"),
    DIRECTIVE(CFG_LDAP_PASSWORD_FILE, "directory", "ldap_password_file", "ldap-password-file",
              "FILE", T_PATH, 0, 0, CFG_VALUE_MAX, NULL, ldap_password_file,
              "the bind password: the file's content"),
    DIRECTIVE(CFG_LDAP_CA_FILE, "directory", "ldap_ca_file", "ldap-ca-file", "FILE", T_PATH, 0, 0,
              CFG_VALUE_MAX, NULL, ldap_ca_file, "CA bundle for ldaps:// and StartTLS"),
    DIRECTIVE(CFG_LDAP_STARTTLS, "directory", "ldap_starttls", "ldap-starttls", NULL, T_BOOL, 0,
              0, 0, "no", ldap_starttls, "StartTLS on ldap:// URIs"),
    DIRECTIVE(CFG_LDAP_SASL_MECH, "directory", "ldap_sasl_mech", "ldap-sasl-mech", "GSSAPI",
              T_SASL, 0, 0, 0, NULL, ldap_sasl_mech, "SASL bind with Kerberos"),
    DIRECTIVE(CFG_CONNECT_TIMEOUT, "directory", "connect_timeout", "ldap-connect-timeout", "TIME",
              T_MS, F_LIMIT, 100, 300000, "3s", connect_timeout_ms, "LDAP TCP connect deadline"),
    DIRECTIVE(CFG_OP_TIMEOUT, "directory", "op_timeout", "ldap-op-timeout", "TIME", T_MS,
              F_LIMIT, 100, 300000, "5s", op_timeout_ms, "LDAP operation (bind, search) deadline"),
    DIRECTIVE(CFG_TLS_TIMEOUT, "directory", "tls_timeout", "ldap-tls-timeout", "TIME", T_MS,
              F_LIMIT, 100, 300000, "5s", tls_timeout_ms, "LDAP TLS handshake deadline"),

    LIST(CFG_PROFILE, "profiles", "profile", "profile", "NAME", T_PROFILE, 0, "windows-2022",
         fleet.v, fleet.n, SM_MAX_PROFILES,
         "DC profile verdicts are made for: windows-2016, windows-2019, windows-2022, "
         "windows-2025, samba; repeatable"),
    DIRECTIVE(CFG_SAMBA_ANCHORS, "profiles", "samba_pkinit_anchors", "samba-pkinit-anchors",
              "FILE", T_PATH, 0, 0, CFG_VALUE_MAX, NULL, samba_anchors,
              "the CA certificates Samba's KDC trusts (its pkinit_anchors), PEM or DER"),
    DIRECTIVE(CFG_MODE, "profiles", "mode", "mode", "N", T_OPTNUM, 0, 0, 2, NULL, mode,
              "StrongCertificateBindingEnforcement (default: the profile's)"),
    DIRECTIVE(CFG_BACKDATING, "profiles", "backdating", "backdating", "SECONDS", T_OPTNUM, 0, 0,
              OPT_BACKDATING_MAX, NULL, backdating,
              "CertificateBackdatingCompensation (default: the profile's)"),

    DIRECTIVE(CFG_CACHE_SIZE, "cache", "size", "cache-size", "N", T_ULL, 0, 0, 10000000, "10000",
              cache_size, "directory lookups cached, 0: none"),
    DIRECTIVE(CFG_CACHE_TTL, "cache", "ttl", "cache-ttl", "SECONDS", T_ULL, F_LIMIT, 0, 86400,
              "60", cache_ttl, "seconds a lookup is cached"),
    DIRECTIVE(CFG_CACHE_NEGATIVE_TTL, "cache", "negative_ttl", "cache-negative-ttl", "SECONDS",
              T_ULL, F_LIMIT, 0, 86400, "10", cache_negative_ttl,
              "seconds a lookup that found nothing is cached"),

    DIRECTIVE(CFG_MAX_BODY, "limits", "max_body", "max-body", "BYTES", T_SIZE, F_LIMIT,
              API_MAX_BODY_MIN, API_MAX_BODY_MAX, "256K", max_body,
              "request body limit; K and M suffixes"),
    DIRECTIVE(CFG_MAX_HEADER, "limits", "max_header", "max-header", "BYTES", T_SIZE,
              F_RESTART | F_LIMIT, API_CONN_MEMORY_MIN, API_CONN_MEMORY_MAX, "16K", max_header,
              "memory for a request's line and headers"),
    DIRECTIVE(CFG_CONNECTIONS, "limits", "connections", "connections", "N", T_UINT,
              F_RESTART | F_LIMIT, 1, API_CONN_LIMIT_MAX, "1024", connections,
              "connections at once, per address"),
    DIRECTIVE(CFG_CONNECTIONS_PER_IP, "limits", "connections_per_ip", "connections-per-ip", "N",
              T_UINT, F_RESTART | F_LIMIT | F_NOLIMIT, 0, 65535, "0", connections_per_ip,
              "connections at once from one client (IPv6: its /64), 0: no limit"),
    DIRECTIVE(CFG_IDLE_TIMEOUT, "limits", "idle_timeout", "idle-timeout", "SECONDS", T_UINT,
              F_RESTART | F_LIMIT, 1, API_TIMEOUT_MAX_S, "30", idle_timeout,
              "an idle connection is closed after"),
    DIRECTIVE(CFG_REQUEST_TIMEOUT, "limits", "request_timeout", "request-timeout", "SECONDS",
              T_UINT, F_RESTART | F_LIMIT, 1, API_TIMEOUT_MAX_S, "60", request_timeout,
              "a request must arrive whole within"),
    DIRECTIVE(CFG_RATE, "limits", "rate", "rate", "PER_SECOND", T_DOUBLE, F_LIMIT | F_NOLIMIT, 0,
              1000000, "0", rate, "requests per second per client (token, else IP), 0: no limit"),
    DIRECTIVE(CFG_BURST, "limits", "burst", "burst", "N", T_UINT, 0, 0, 1000000, "0", burst,
              "token-bucket depth, 0: the rate rounded up (at least 1)"),
    DIRECTIVE(CFG_MAX_CERTS, "limits", "max_certs", "max-certs", "N", T_UINT, F_LIMIT, 1,
              SM_MAX_CERTS, "32", max_certs, "certificates in one request"),

    DIRECTIVE(CFG_LOG_LEVEL, "log", "level", "log-level", "LEVEL", T_LEVEL, 0, 0, 0, "info",
              log_level, "error, warning, info or debug"),
    DIRECTIVE(CFG_DECISION_LOG, "log", "decision_log", "decision-log", "FILE", T_PATH, 0, 0,
              CFG_VALUE_MAX, NULL, decision_log, "append one JSON line per verdict to FILE"),
};
/* clang-format on */

static const char *const level_names[] = { "error", "warning", "info", "debug" };
static const int level_prios[] = { LOG_PRIO_ERR, LOG_PRIO_WARNING, LOG_PRIO_INFO, LOG_PRIO_DEBUG };

const struct cfg_directive_info *cfg_directive(enum cfg_id id)
{
    return &table[id].i;
}

/* ---- small helpers ------------------------------------------------------------------------ */

static void *field(struct cfg *c, const struct directive *d)
{
    return (char *)c + d->off;
}

static const void *cfield(const struct cfg *c, const struct directive *d)
{
    return (const char *)c + d->off;
}

static size_t *count_of(struct cfg *c, const struct directive *d)
{
    return (size_t *)(void *)((char *)c + d->count_off);
}

static size_t ccount_of(const struct cfg *c, const struct directive *d)
{
    return *(const size_t *)(const void *)((const char *)c + d->count_off);
}

static int reason(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reason(char *err, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, REASON_MAX, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* @s (at most @max bytes of it) with anything but printable ASCII as '?', for a message. */
static const char *clean(const char *s, size_t max, char *buf, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; s[i] && i < max && o + 4 < size; i++)
        buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (strlen(s) > max && o + 4 < size) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* Strict unsigned decimal: digits only, no sign, no blank. 0, -EINVAL or -ERANGE. */
static int parse_ull(const char *s, const char **end, unsigned long long *ret)
{
    unsigned long long v = 0;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (ULLONG_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (end)
        *end = s;
    else if (*s)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* A number as the type writes it: "256K", "3s", "500ms", "12". */
static void fmt_num(enum type t, unsigned long long v, char *buf, size_t size)
{
    if (t == T_SIZE && v && v % (1024 * 1024) == 0)
        snprintf(buf, size, "%lluM", v / (1024 * 1024));
    else if (t == T_SIZE && v && v % 1024 == 0)
        snprintf(buf, size, "%lluK", v / 1024);
    else if (t == T_MS && v % 1000 == 0)
        snprintf(buf, size, "%llus", v / 1000);
    else if (t == T_MS)
        snprintf(buf, size, "%llums", v);
    else
        snprintf(buf, size, "%llu", v);
}

static int check_bounds(const struct directive *d, unsigned long long v, const char *text,
                        char *err)
{
    char lim[32], val[64];

    if (v >= d->min && v <= d->max)
        return 0;
    clean(text, 32, val, sizeof(val));
    fmt_num(d->type, v < d->min ? d->min : d->max, lim, sizeof(lim));
    return reason(err, "%s is %s the %s %s", val, v < d->min ? "below" : "above",
                  v < d->min ? "minimum" : "maximum", lim);
}

/* A number of the directive's type (T_UINT, T_ULL, T_SIZE, T_MS, T_OPTNUM), bounds checked. */
static int parse_number(const struct directive *d, const char *v, unsigned long long *ret,
                        char *err)
{
    unsigned long long n, mult = 1;
    const char *end;
    char val[64];
    int r;

    clean(v, 32, val, sizeof(val));
    r = parse_ull(v, &end, &n);
    if (r == -ERANGE)
        return reason(err, "%s is above the maximum", val);
    if (r < 0)
        return reason(err, "\"%s\" is not a number", val);
    if (d->type == T_SIZE && *end) {
        if (strcmp(end, "K") == 0 || strcmp(end, "k") == 0 || strcmp(end, "KiB") == 0)
            mult = 1024;
        else if (strcmp(end, "M") == 0 || strcmp(end, "m") == 0 || strcmp(end, "MiB") == 0)
            mult = 1024 * 1024;
        else
            return reason(err, "\"%s\" is not a size (bytes, or with a K or M suffix)", val);
    } else if (d->type == T_MS) {
        if (*end == '\0' || strcmp(end, "s") == 0)
            mult = 1000;
        else if (strcmp(end, "ms") == 0)
            mult = 1;
        else
            return reason(err, "\"%s\" is not a time (seconds, or with an s or ms suffix)", val);
    } else if (*end) {
        return reason(err, "\"%s\" is not a number", val);
    }
    if (n > ULLONG_MAX / mult)
        return reason(err, "%s is above the maximum", val);
    n *= mult;
    if ((r = check_bounds(d, n, v, err)) < 0)
        return r;
    *ret = n;
    return 0;
}

static int parse_bool(const char *v, bool *ret, char *err)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };
    char val[64];

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return reason(err, "\"%s\" is not yes or no", clean(v, 32, val, sizeof(val)));
}

static int pick(const char *v, const char *const *names, size_t n, const char *what, size_t *ret,
                char *err)
{
    char val[64], list[128] = "";

    for (size_t i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0) {
            *ret = i;
            return 0;
        }
    for (size_t i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
        strncat(list, names[i], sizeof(list) - strlen(list) - 1);
    }
    return reason(err, "unknown %s \"%s\" (%s)", what, clean(v, 32, val, sizeof(val)), list);
}

static int hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* "NAME:SHA256HEX:SCOPE[,SCOPE...]" */
static int parse_token(const char *v, struct api_token *t, char *err)
{
    const char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    size_t name_len;

    if (!c2)
        return reason(err, "expected NAME:SHA256:SCOPES, e.g. ops:<64 hex digits>:check,account");
    memset(t, 0, sizeof(*t));
    name_len = (size_t)(c1 - v);
    if (name_len == 0 || name_len >= API_TOKEN_NAME_MAX)
        return reason(err, "the name must be 1 to %d characters", API_TOKEN_NAME_MAX - 1);
    for (size_t i = 0; i < name_len; i++)
        if (!isalnum((unsigned char)v[i]) && !strchr("._-", v[i]))
            return reason(err, "the name may hold letters, digits, '.', '_' and '-' only");
    memcpy(t->name, v, name_len);
    if (c2 - c1 - 1 != 64)
        return reason(err, "the hash must be 64 hexadecimal digits: the SHA-256 of the secret "
                           "(printf %%s SECRET | sha256sum)");
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(c1[1 + 2 * i]), lo = hexval(c1[2 + 2 * i]);
        if (hi < 0 || lo < 0)
            return reason(err, "the hash must be 64 hexadecimal digits");
        t->sha256[i] = (unsigned char)(hi << 4 | lo);
    }
    if (api_scopes_parse(c2 + 1, &t->scopes) < 0 || t->scopes == API_SCOPE_NONE)
        return reason(err, "expected scopes after the hash: check, account, admin, metrics, "
                           "comma-separated");
    return 0;
}

/* ---- setting one value -------------------------------------------------------------------- */

static void clear(struct cfg *c, const struct directive *d)
{
    if (d->type == T_LISTEN || d->type == T_URI) {
        char **v = field(c, d);
        for (size_t i = 0; i < *count_of(c, d); i++)
            free(v[i]);
    }
    if (d->i.repeatable)
        *count_of(c, d) = 0;
    else if (d->type == T_STR || d->type == T_PATH || d->type == T_SASL) {
        char **s = field(c, d);
        free(*s);
        *s = NULL;
    }
}

/* A copy of @v, joined to @base when it is a relative path. NULL: out of memory. */
static char *copy_value(const struct directive *d, const char *v, const char *base)
{
    char *s;

    if (d->type != T_PATH || v[0] == '/' || !base)
        return strdup(v);
    s = malloc(strlen(base) + strlen(v) + 2);
    if (s)
        sprintf(s, "%s/%s", base, v);
    return s;
}

/*
 * Set @d to @v (text). @base: directory for relative paths, or NULL. A reason without place
 * goes into @err (REASON_MAX bytes).
 */
static int set_value(struct cfg *c, const struct directive *d, const char *v, const char *base,
                     char *err)
{
    unsigned long long n = 0;
    size_t k = 0, idx = 0;
    char val[64];
    int r;

    if (!*v)
        return reason(err, "empty value");
    if (has_control(v))
        return reason(err, "the value holds control characters");
    if (d->i.repeatable) {
        idx = *count_of(c, d);
        if (idx >= d->max_n)
            return reason(err, "given more than %zu times", d->max_n);
    }
    switch (d->type) {
    case T_UINT:
    case T_ULL:
    case T_SIZE:
    case T_MS:
    case T_OPTNUM:
        if ((r = parse_number(d, v, &n, err)) < 0)
            return r;
        if (d->type == T_ULL || d->type == T_SIZE)
            *(unsigned long long *)field(c, d) = n;
        else if (d->type == T_OPTNUM)
            *(long long *)field(c, d) = (long long)n;
        else
            *(unsigned *)field(c, d) = (unsigned)n;
        return 0;
    case T_DOUBLE: {
        char *end;
        double x;

        errno = 0;
        x = strtod(v, &end);
        if (*v < '0' || *v > '9' || *end || errno || !isfinite(x))
            return reason(err, "\"%s\" is not a number", clean(v, 32, val, sizeof(val)));
        if (x < (double)d->min || x > (double)d->max)
            return reason(err, "%s is %s the %s %llu", clean(v, 32, val, sizeof(val)),
                          x < (double)d->min ? "below" : "above",
                          x < (double)d->min ? "minimum" : "maximum",
                          x < (double)d->min ? d->min : d->max);
        *(double *)field(c, d) = x;
        return 0;
    }
    case T_BOOL: return parse_bool(v, field(c, d), err);
    case T_SCOPE:
        if (api_scopes_parse(v, field(c, d)) < 0)
            return reason(err,
                          "\"%s\" is not none, or a comma-separated list of check, "
                          "account, admin, metrics",
                          clean(v, 32, val, sizeof(val)));
        return 0;
    case T_LEVEL:
        if ((r = pick(v, level_names, 4, "level", &k, err)) < 0)
            return r;
        *(int *)field(c, d) = level_prios[k];
        return 0;
    case T_PROFILE: {
        struct sm_profile *p = (struct sm_profile *)field(c, d) + idx;

        struct sm_errinfo e = { .offset = -1 };

        if (sm_profile_parse(v, p, &e) < 0)
            return reason(err, "%s", e.text);
        break;
    }
    case T_TOKEN: {
        struct api_token *t = field(c, d), tok;

        if ((r = parse_token(v, &tok, err)) < 0)
            return r;
        for (size_t i = 0; i < idx; i++) {
            if (strcmp(t[i].name, tok.name) == 0)
                return reason(err, "the name %s is given twice", tok.name);
            if (memcmp(t[i].sha256, tok.sha256, sizeof(tok.sha256)) == 0)
                return reason(err, "%s and %s have the same hash", t[i].name, tok.name);
        }
        t[idx] = tok;
        break;
    }
    case T_LISTEN:
    case T_URI:
    case T_STR:
    case T_PATH:
    case T_SASL: {
        struct sockaddr_storage ss;
        socklen_t len;
        char *s;

        if (d->type == T_LISTEN && listen_parse(v, &ss, &len) < 0)
            return reason(err, "\"%s\" is not IPV4:PORT or [IPV6]:PORT (numeric, port 0..65535)",
                          clean(v, 64, val, sizeof(val)));
        if (d->type == T_URI && (strchr(v, ' ') || (strncasecmp(v, "ldap://", 7) != 0 &&
                                                    strncasecmp(v, "ldaps://", 8) != 0)))
            return reason(err, "\"%s\" is not an ldap:// or ldaps:// URI",
                          clean(v, 64, val, sizeof(val)));
        if (d->type == T_SASL && strcasecmp(v, "GSSAPI") != 0)
            return reason(err, "only GSSAPI is supported");
        if ((d->type == T_STR || d->type == T_PATH) && strlen(v) > d->max)
            return reason(err, "longer than %llu bytes", d->max);
        s = copy_value(d, d->type == T_SASL ? "GSSAPI" : v, base);
        if (!s)
            return reason(err, "out of memory");
        if (d->i.repeatable) {
            ((char **)field(c, d))[idx] = s;
        } else {
            char **slot = field(c, d);
            free(*slot);
            *slot = s;
        }
        break;
    }
    }
    if (d->i.repeatable)
        (*count_of(c, d))++;
    return 0;
}

/* ---- construction ------------------------------------------------------------------------- */

struct cfg *cfg_new(void)
{
    struct cfg *c = calloc(1, sizeof(*c));
    char err[REASON_MAX];

    if (!c)
        return NULL;
    c->mode = c->backdating = -1;
    for (size_t i = 0; i < CFG__COUNT; i++) {
        if (table[i].def && set_value(c, &table[i], table[i].def, NULL, err) < 0)
            return cfg_free(c); /* a bad default: only out of memory can get here */
    }
    return c;
}

struct cfg *cfg_free(struct cfg *c)
{
    if (!c)
        return NULL;
    for (size_t i = 0; i < CFG__COUNT; i++)
        clear(c, &table[i]);
    explicit_bzero(c->tokens, sizeof(c->tokens));
    free(c->path);
    free(c);
    return NULL;
}

static const struct directive *find(const char *section, const char *key)
{
    for (size_t i = 0; i < CFG__COUNT; i++)
        if (strcmp(table[i].i.section, section) == 0 && strcmp(table[i].i.key, key) == 0)
            return &table[i];
    return NULL;
}

static bool known_section(const char *section)
{
    for (size_t i = 0; i < CFG__COUNT; i++)
        if (strcmp(table[i].i.section, section) == 0)
            return true;
    return false;
}

/* ---- the file ----------------------------------------------------------------------------- */

struct parse {
    struct cfg *c;
    const char *name;    /* for messages */
    const char *base;    /* directory of relative paths, or NULL */
    const char *p, *end; /* input left */
    int lineno;          /* lines handed to libinih so far */
    int err_line;        /* first error of ours (0: none) */
    char err[CFG_ERR_MAX];
};

static void parse_error(struct parse *ps, const char *key, const char *why)
{
    char k[80];

    if (ps->err_line)
        return;
    ps->err_line = ps->lineno;
    if (key)
        snprintf(ps->err, sizeof(ps->err), "%s:%d: %s: %s", ps->name, ps->lineno,
                 clean(key, 64, k, sizeof(k)), why);
    else
        snprintf(ps->err, sizeof(ps->err), "%s:%d: %s", ps->name, ps->lineno, why);
}

/* The next line for libinih (an fgets() look-alike over memory); see the top of the file. */
static char *reader(char *str, int num, void *stream)
{
    struct parse *ps = stream;
    const char *s = ps->p, *nl;
    size_t len;
    char why[64];

    if (ps->p >= ps->end || num < 3)
        return NULL;
    nl = memchr(s, '\n', (size_t)(ps->end - s));
    len = nl ? (size_t)(nl - s) : (size_t)(ps->end - s);
    ps->p = nl ? nl + 1 : ps->end;
    ps->lineno++;
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    if (memchr(s, '\0', len)) {
        parse_error(ps, NULL, "a NUL byte");
        len = 0;
    } else if (len > (size_t)num - 2) {
        snprintf(why, sizeof(why), "the line is longer than %d bytes", num - 2);
        parse_error(ps, NULL, why);
        len = 0;
    }
    memcpy(str, s, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    return str;
}

static int on_value(void *user, const char *section, const char *key, const char *value)
{
    struct parse *ps = user;
    struct cfg *c = ps->c;
    const struct directive *d;
    char why[CFG_ERR_MAX], s[64], k[64];
    size_t id;

    if (ps->err_line)
        return 1; /* the first error is the one reported */
    if (!*section) {
        parse_error(ps, key, "outside a section ([server], [tls], ...)");
        return 0;
    }
    d = find(section, key);
    if (!d) {
        if (known_section(section))
            snprintf(why, sizeof(why), "unknown key in [%s]", section);
        else
            snprintf(why, sizeof(why), "unknown section [%s]", clean(section, 48, s, sizeof(s)));
        parse_error(ps, key, why);
        return 0;
    }
    id = (size_t)(d - table);
    if (c->origin[id] > 0 && !d->i.repeatable) {
        snprintf(why, sizeof(why), "given twice (first on line %d)", c->origin[id]);
        parse_error(ps, key, why);
        return 0;
    }
    if (d->i.repeatable && c->origin[id] <= 0)
        clear(c, d); /* the file's values replace the default */
    if (set_value(c, d, value, ps->base, why) < 0) {
        parse_error(ps, clean(key, 48, k, sizeof(k)), why);
        return 0;
    }
    if (c->origin[id] <= 0)
        c->origin[id] = ps->lineno;
    return 1;
}

/* Line @n (1-based) of @text, blanks stripped, for a syntax error message. */
static void line_at(const char *text, size_t len, int n, char *buf, size_t size)
{
    const char *p = text, *end = text + len, *nl;
    size_t l;

    for (int i = 1; i < n && p < end; i++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    nl = memchr(p, '\n', (size_t)(end - p));
    l = nl ? (size_t)(nl - p) : (size_t)(end - p);
    while (l && (*p == ' ' || *p == '\t')) {
        p++;
        l--;
    }
    if (l >= size)
        l = size - 1;
    memcpy(buf, p, l);
    buf[l] = '\0';
}

static int load(struct cfg *c, const char *name, const char *base, const char *text, size_t len,
                struct cfg_error *e)
{
    struct parse ps = { .c = c, .name = name, .base = base, .p = text, .end = text + len };
    char line[64];
    int r;

    r = ini_parse_stream(reader, &ps, on_value, &ps);
    if (r > 0 && (!ps.err_line || r < ps.err_line)) {
        line_at(text, len, r, line, sizeof(line));
        snprintf(e->text, sizeof(e->text), "%s:%d: %s", name, r,
                 line[0] == '[' ? "a section header without ']'"
                                : "expected \"key = value\", a [section] or a # comment");
        e->origin = r;
        return -EINVAL;
    }
    if (r < 0) {
        snprintf(e->text, sizeof(e->text), "%s: cannot parse (libinih error %d)", name, r);
        e->origin = CFG_ORIGIN_DEFAULT;
        return -EINVAL;
    }
    if (ps.err_line) {
        memcpy(e->text, ps.err, sizeof(e->text));
        e->origin = ps.err_line;
        return -EINVAL;
    }
    return 0;
}

int cfg_load_string(struct cfg *c, const char *name, const char *text, size_t len,
                    struct cfg_error *e)
{
    return load(c, name, NULL, text, len, e);
}

int cfg_load_file(struct cfg *c, const char *path, struct cfg_error *e)
{
    struct stat st;
    char *buf = NULL, *base = NULL, *slash;
    size_t len = 0;
    int fd, r;

    e->origin = CFG_ORIGIN_DEFAULT;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r = -errno;
        snprintf(e->text, sizeof(e->text), "cannot read %s: %s", path, strerror(-r));
        return r;
    }
    if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && strcmp(path, "/dev/null") == 0) {
        st.st_size = 0; /* -c /dev/null: the built-in defaults, explicitly */
        st.st_mode = S_IFREG;
    } else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CFG_FILE_MAX) {
        snprintf(e->text, sizeof(e->text), "%s: not a regular file of at most %d bytes", path,
                 CFG_FILE_MAX);
        r = -EINVAL;
        goto out;
    } else if ((r = fperm_check(&st, path, FPERM_CONFIG, FPERM_NO_UID, e->text, sizeof(e->text))) <
               0) {
        goto out; /* writable by others, or theirs */
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        r = -ENOMEM;
        snprintf(e->text, sizeof(e->text), "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            snprintf(e->text, sizeof(e->text), "cannot read %s: %s", path, strerror(-r));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > (size_t)st.st_size) {
            r = -EINVAL;
            snprintf(e->text, sizeof(e->text), "%s: changed while being read", path);
            goto out;
        }
    }
    free(c->path);
    c->path = strdup(path);
    slash = strrchr(path, '/');
    if (slash) {
        base = strndup(path, (size_t)(slash - path));
        if (!base || !c->path) {
            r = -ENOMEM;
            snprintf(e->text, sizeof(e->text), "%s: out of memory", path);
            goto out;
        }
    }
    r = load(c, path, base, buf, len, e);
out:
    free(base);
    free(buf);
    close(fd);
    return r;
}

/* ---- command line ------------------------------------------------------------------------- */

int cfg_set(struct cfg *c, enum cfg_id id, const char *value, const char *as, struct cfg_error *e)
{
    const struct directive *d = &table[id];
    char why[REASON_MAX];

    e->origin = CFG_ORIGIN_CMDLINE;
    if (!value) {
        if (d->type != T_BOOL) {
            snprintf(e->text, sizeof(e->text), "%s needs a value", as);
            return -EINVAL;
        }
        value = "yes";
    }
    if (c->cmdline_set[id] && !d->i.repeatable) {
        snprintf(e->text, sizeof(e->text), "%s given twice", as);
        return -EINVAL;
    }
    if (d->i.repeatable && !c->cmdline_set[id])
        clear(c, d); /* flags replace the file's values */
    if (set_value(c, d, value, NULL, why) < 0) {
        snprintf(e->text, sizeof(e->text), "%s: %s", as, why);
        return -EINVAL;
    }
    c->cmdline_set[id] = true;
    c->origin[id] = CFG_ORIGIN_CMDLINE;
    return 0;
}

int cfg_set_option(struct cfg *c, const char *assignment, struct cfg_error *e)
{
    const char *dot = strchr(assignment, '.'), *eq = strchr(assignment, '=');
    char section[32], key[48], as[128], a[80];
    const struct directive *d;
    size_t sl, kl;

    e->origin = CFG_ORIGIN_CMDLINE;
    if (!dot || (eq && eq < dot))
        goto out_bad;
    sl = (size_t)(dot - assignment);
    kl = eq ? (size_t)(eq - dot - 1) : strlen(dot + 1);
    if (sl == 0 || sl >= sizeof(section) || kl == 0 || kl >= sizeof(key))
        goto out_bad;
    memcpy(section, assignment, sl);
    section[sl] = '\0';
    memcpy(key, dot + 1, kl);
    key[kl] = '\0';
    d = find(section, key);
    if (!d) {
        snprintf(e->text, sizeof(e->text), "-o %s: no such directive",
                 clean(assignment, 64, a, sizeof(a)));
        return -EINVAL;
    }
    snprintf(as, sizeof(as), "-o %s.%s", section, key);
    return cfg_set(c, (enum cfg_id)(d - table), eq ? eq + 1 : NULL, as, e);

out_bad:
    snprintf(e->text, sizeof(e->text), "-o %s: expected SECTION.KEY=VALUE",
             clean(assignment, 64, a, sizeof(a)));
    return -EINVAL;
}

/* ---- cross-checks ------------------------------------------------------------------------- */

static bool is_set(const struct cfg *c, enum cfg_id id)
{
    const struct directive *d = &table[id];
    const void *f = cfield(c, d);

    if (d->i.repeatable)
        return ccount_of(c, d) > 0;
    switch (d->type) {
    case T_STR:
    case T_PATH:
    case T_SASL: return *(char *const *)f != NULL;
    case T_BOOL: return *(const bool *)f;
    case T_OPTNUM: return *(const long long *)f >= 0;
    default: return true;
    }
}

/* How a message names @id: "--flag" when the command line set it (or @cmdline), else its key. */
static const char *name_of(const struct cfg *c, enum cfg_id id, bool cmdline, char *buf,
                           size_t size)
{
    if (c->origin[id] == CFG_ORIGIN_CMDLINE || (cmdline && c->origin[id] == CFG_ORIGIN_DEFAULT)) {
        snprintf(buf, size, "--%s", table[id].i.flag);
        return buf;
    }
    return table[id].i.key;
}

char *cfg_where(const struct cfg *c, enum cfg_id id, char *buf, size_t size)
{
    if (c->origin[id] > 0)
        snprintf(buf, size, "%s:%d: %s", c->path ? c->path : "config", c->origin[id],
                 table[id].i.key);
    else if (c->origin[id] == CFG_ORIGIN_CMDLINE)
        snprintf(buf, size, "--%s", table[id].i.flag);
    else
        snprintf(buf, size, "%s", table[id].i.key);
    return buf;
}

/* "@a <text> @b[ <tail>]", placed at @a's origin. */
static int conflict(const struct cfg *c, enum cfg_id a, const char *text, enum cfg_id b,
                    const char *tail, struct cfg_error *e)
{
    bool cmdline = c->origin[a] == CFG_ORIGIN_CMDLINE;
    char na[64], nb[64], at[CFG_ERR_MAX / 2] = "";

    if (c->origin[a] > 0)
        snprintf(at, sizeof(at), "%s:%d: ", c->path ? c->path : "config", c->origin[a]);
    snprintf(e->text, sizeof(e->text), "%s%s %s %s%s%s", at, name_of(c, a, cmdline, na, sizeof(na)),
             text, name_of(c, b, cmdline, nb, sizeof(nb)), tail ? " " : "", tail ? tail : "");
    e->origin = c->origin[a];
    return -EINVAL;
}

static int check_directory(const struct cfg *c, struct cfg_error *e)
{
    static const enum cfg_id ldap_only[] = {
        CFG_LDAP_BASE,    CFG_LDAP_BIND_DN,  CFG_LDAP_PASSWORD_FILE,
        CFG_LDAP_CA_FILE, CFG_LDAP_STARTTLS, CFG_LDAP_SASL_MECH,
    };

    if (c->ldif && c->n_ldap_uri)
        return conflict(c, CFG_LDAP_URI, "and", CFG_LDIF, "exclude each other", e);
    for (size_t i = 0; i < sizeof(ldap_only) / sizeof(ldap_only[0]); i++)
        if (!c->n_ldap_uri && is_set(c, ldap_only[i]))
            return conflict(c, ldap_only[i], "needs", CFG_LDAP_URI, NULL, e);
    if (c->n_ldap_uri && !c->ldap_base)
        return conflict(c, CFG_LDAP_URI, "needs", CFG_LDAP_BASE, "(the domain's DN)", e);
    if (c->ldap_bind_dn && !c->ldap_password_file)
        return conflict(c, CFG_LDAP_BIND_DN, "needs", CFG_LDAP_PASSWORD_FILE, NULL, e);
    if (!c->ldap_bind_dn && c->ldap_password_file)
        return conflict(c, CFG_LDAP_PASSWORD_FILE, "needs", CFG_LDAP_BIND_DN, NULL, e);
    if (c->ldap_bind_dn && c->ldap_sasl_mech)
        return conflict(c, CFG_LDAP_SASL_MECH, "(SASL bind) cannot go with", CFG_LDAP_BIND_DN,
                        "(simple bind)", e);
    return 0;
}

static unsigned online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);

    if (n < 1)
        return 1;
    if (n > (long)API_MAX_THREADS)
        return API_MAX_THREADS;
    return (unsigned)n;
}

int cfg_finish(struct cfg *c, struct cfg_error *e)
{
    struct opt_whatif w = { .mode = (int)c->mode, .backdating_s = c->backdating };
    char why[OPT_ERR_MAX], where[CFG_ERR_MAX / 2];
    int r;

    if (c->finished)
        return 0;
    if ((r = check_directory(c, e)) < 0)
        return r;
    if (c->tls_cert && !c->tls_key)
        return conflict(c, CFG_TLS_CERT, "needs", CFG_TLS_KEY, NULL, e);
    if (c->tls_key && !c->tls_cert)
        return conflict(c, CFG_TLS_KEY, "needs", CFG_TLS_CERT, NULL, e);
    if (c->tls_client_ca && !c->tls_cert)
        return conflict(c, CFG_TLS_CLIENT_CA, "needs", CFG_TLS_CERT,
                        "(client certificates need HTTPS)", e);
    if (c->group && !c->user)
        return conflict(c, CFG_GROUP, "needs", CFG_USER, NULL, e);
    if (c->tls_priorities && api_tls_priorities_check(c->tls_priorities, why, sizeof(why)) < 0) {
        snprintf(e->text, sizeof(e->text), "%s: %s",
                 cfg_where(c, CFG_TLS_PRIORITIES, where, sizeof(where)), why);
        e->origin = c->origin[CFG_TLS_PRIORITIES];
        return -EINVAL;
    }
    if (opt_whatif_apply(&c->fleet, &w, why, sizeof(why)) < 0) {
        enum cfg_id id = c->mode >= 0 ? CFG_MODE : CFG_BACKDATING;
        snprintf(e->text, sizeof(e->text), "%s: %s", cfg_where(c, id, where, sizeof(where)), why);
        e->origin = c->origin[id];
        return -EINVAL;
    }
    if (c->threads == 0)
        c->threads = online_cpus();
    c->finished = true;
    return 0;
}

/* ---- comparing and printing --------------------------------------------------------------- */

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool cfg_same(const struct cfg *a, const struct cfg *b, enum cfg_id id)
{
    const struct directive *d = &table[id];
    const void *fa = cfield(a, d), *fb = cfield(b, d);
    size_t n;

    if (d->i.repeatable) {
        n = ccount_of(a, d);
        if (n != ccount_of(b, d))
            return false;
        for (size_t i = 0; i < n; i++) {
            if (d->type == T_LISTEN || d->type == T_URI) {
                if (!same_str(((char *const *)fa)[i], ((char *const *)fb)[i]))
                    return false;
            } else if (d->type == T_TOKEN) {
                const struct api_token *ta = fa, *tb = fb;
                if (strcmp(ta[i].name, tb[i].name) != 0 || ta[i].scopes != tb[i].scopes ||
                    memcmp(ta[i].sha256, tb[i].sha256, sizeof(ta[i].sha256)) != 0)
                    return false;
            } else {
                const struct sm_profile *pa = fa, *pb = fb;
                if (pa[i].kind != pb[i].kind)
                    return false;
            }
        }
        return true;
    }
    switch (d->type) {
    case T_STR:
    case T_PATH:
    case T_SASL: return same_str(*(char *const *)fa, *(char *const *)fb);
    case T_BOOL: return *(const bool *)fa == *(const bool *)fb;
    case T_UINT:
    case T_MS:
    case T_SCOPE: return *(const unsigned *)fa == *(const unsigned *)fb;
    case T_ULL:
    case T_SIZE: return *(const unsigned long long *)fa == *(const unsigned long long *)fb;
    case T_OPTNUM: return *(const long long *)fa == *(const long long *)fb;
    case T_DOUBLE: return *(const double *)fa == *(const double *)fb;
    case T_LEVEL: return *(const int *)fa == *(const int *)fb;
    default: return false;
    }
}

static const char *scope_text(unsigned bits, char *buf, size_t size)
{
    snprintf(buf, size, "none");
    for (unsigned i = 0, n = 0; i < 32; i++) {
        const char *name = (bits & (1u << i)) ? api_scope_name(1u << i) : NULL;
        if (name) {
            if (n++ == 0)
                buf[0] = '\0';
            strncat(buf, n > 1 ? "," : "", size - strlen(buf) - 1);
            strncat(buf, name, size - strlen(buf) - 1);
        }
    }
    return buf;
}

/* One element of @d as configuration text into @buf; false when it is unset. */
static bool value_text(const struct cfg *c, const struct directive *d, size_t i, char *buf,
                       size_t size)
{
    const void *f = cfield(c, d);
    char sc[64];

    switch (d->type) {
    case T_LISTEN:
    case T_URI: snprintf(buf, size, "%s", ((char *const *)f)[i]); return true;
    case T_TOKEN: {
        const struct api_token *t = (const struct api_token *)f + i;
        char hex[65];

        for (size_t k = 0; k < 32; k++)
            snprintf(hex + 2 * k, 3, "%02x", t->sha256[k]);
        snprintf(buf, size, "%s:%s:%s", t->name, d->secret ? "***" : hex,
                 scope_text(t->scopes, sc, sizeof(sc)));
        return true;
    }
    case T_PROFILE: sm_profile_format((const struct sm_profile *)f + i, buf, size); return true;
    case T_STR:
    case T_PATH:
    case T_SASL:
        if (!*(char *const *)f)
            return false;
        snprintf(buf, size, "%s", *(char *const *)f);
        return true;
    case T_BOOL: snprintf(buf, size, "%s", *(const bool *)f ? "yes" : "no"); return true;
    case T_UINT:
    case T_MS: fmt_num(d->type, *(const unsigned *)f, buf, size); return true;
    case T_ULL:
    case T_SIZE: fmt_num(d->type, *(const unsigned long long *)f, buf, size); return true;
    case T_OPTNUM:
        if (*(const long long *)f < 0)
            return false;
        snprintf(buf, size, "%lld", *(const long long *)f);
        return true;
    case T_DOUBLE: snprintf(buf, size, "%g", *(const double *)f); return true;
    case T_SCOPE: scope_text(*(const unsigned *)f, buf, size); return true;
    case T_LEVEL:
        for (size_t k = 0; k < 4; k++)
            if (level_prios[k] == *(const int *)f)
                snprintf(buf, size, "%s", level_names[k]);
        return true;
    }
    return false;
}

void cfg_dump(const struct cfg *c, FILE *f)
{
    const char *section = NULL;
    char buf[CFG_VALUE_MAX + 256];

    fprintf(f, "# strongmapd effective configuration: %s, then the command line\n",
            c->path ? c->path : "built-in defaults");
    fprintf(f, "# token hashes are masked (***); unset directives are commented out\n");
    for (size_t i = 0; i < CFG__COUNT; i++) {
        const struct directive *d = &table[i];
        size_t n = d->i.repeatable ? ccount_of(c, d) : 1;
        bool any = false;

        if (!section || strcmp(section, d->i.section) != 0) {
            section = d->i.section;
            fprintf(f, "\n[%s]\n", section);
        }
        for (size_t k = 0; k < n; k++) {
            if (value_text(c, d, k, buf, sizeof(buf))) {
                fprintf(f, "%s = %s\n", d->i.key, buf);
                any = true;
            }
        }
        if (!any)
            fprintf(f, "#%s =\n", d->i.key);
    }
}

void cfg_dir(const struct cfg *c, struct opt_dir *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->ldif = c->ldif;
    for (size_t i = 0; i < c->n_ldap_uri; i++)
        ret->uris[i] = c->ldap_uri[i];
    ret->n_uris = c->n_ldap_uri;
    ret->base = c->ldap_base;
    ret->bind_dn = c->ldap_bind_dn;
    ret->password_file = c->ldap_password_file;
    ret->ca_file = c->ldap_ca_file;
    ret->sasl_mech = c->ldap_sasl_mech;
    ret->starttls = c->ldap_starttls;
    ret->connect_timeout_ms = c->connect_timeout_ms;
    ret->op_timeout_ms = c->op_timeout_ms;
    ret->tls_timeout_ms = c->tls_timeout_ms;
}

/* ---- reloads: what a new configuration loosens -------------------------------------------- */

/* The value of a number directive (F_LIMIT) as a double. */
static double number(const struct cfg *c, const struct directive *d)
{
    const void *f = cfield(c, d);

    switch (d->type) {
    case T_UINT:
    case T_MS: return *(const unsigned *)f;
    case T_ULL:
    case T_SIZE: return (double)*(const unsigned long long *)f;
    case T_DOUBLE: return *(const double *)f;
    default: return 0;
    }
}

/* The token-bucket depth in force: burst, or the rate rounded up (at least 1). */
static double burst_of(const struct cfg *c)
{
    if (c->burst)
        return c->burst;
    return c->rate > 1 ? ceil(c->rate) : 1;
}

/* URIs of @c that are plain ldap:// without StartTLS. */
static size_t plain_ldap(const struct cfg *c)
{
    size_t n = 0;

    for (size_t i = 0; i < c->n_ldap_uri && !c->ldap_starttls; i++)
        n += strncasecmp(c->ldap_uri[i], "ldaps://", 8) != 0;
    return n;
}

bool cfg_looser(const struct cfg *prev, const struct cfg *next, enum cfg_id id)
{
    const struct directive *d = &table[id];

    if (cfg_same(prev, next, id))
        return false;
    if (d->flags & F_LIMIT) {
        double a = number(prev, d), b = number(next, d);

        if (d->flags & F_NOLIMIT)
            return b == 0 || (a != 0 && b > a);
        return b > a;
    }
    switch (id) {
    case CFG_TOKEN: return next->n_tokens == 0;
    case CFG_SCOPE_INSPECT:
    case CFG_SCOPE_VERDICT:
    case CFG_SCOPE_ACCOUNT:
    case CFG_SCOPE_METRICS:
    case CFG_SCOPE_HEALTHZ:
    case CFG_SCOPE_READYZ:
    case CFG_SCOPE_ACCOUNT_DATA: {
        unsigned a = *(const unsigned *)cfield(prev, d), b = *(const unsigned *)cfield(next, d);

        return (a != API_SCOPE_NONE && b == API_SCOPE_NONE) || (b & ~a) != 0;
    }
    case CFG_ALLOW_UNAUTHENTICATED:
    case CFG_ALLOW_ROOT: return *(const bool *)cfield(next, d);
    case CFG_TLS_CERT:
    case CFG_TLS_CLIENT_CA:
    case CFG_LDAP_CA_FILE:
    case CFG_DECISION_LOG: return is_set(prev, id) && !is_set(next, id);
    case CFG_TLS_CLIENT_REQUIRED: return prev->tls_client_required && !next->tls_client_required;
    case CFG_LDAP_STARTTLS: return prev->ldap_starttls && !next->ldap_starttls;
    case CFG_LDAP_URI: return plain_ldap(next) > plain_ldap(prev);
    case CFG_BURST: return next->rate > 0 && burst_of(next) > burst_of(prev);
    default: return false;
    }
}

char *cfg_value(const struct cfg *c, enum cfg_id id, char *buf, size_t size)
{
    const struct directive *d = &table[id];
    size_t n = d->i.repeatable ? ccount_of(c, d) : 1, len = 0;
    char one[CFG_VALUE_MAX + 256];

    snprintf(buf, size, "(none)");
    for (size_t k = 0; k < n && len + 1 < size; k++) {
        int w;

        if (!value_text(c, d, k, one, sizeof(one)))
            continue;
        w = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", one);
        if (w < 0)
            break;
        len += (size_t)w < size - len ? (size_t)w : size - len - 1;
    }
    return buf;
}

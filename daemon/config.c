/*
 * daemon/config.c - the directive table and the configuration's life on it: built with the
 * defaults, the command-line flags applied, the cross-checks of cfg_finish(), where a value came
 * from, the directory settings (see config.h). The other files of the configuration share
 * config_internal.h: config_value.c (a value from text, each type's syntax and bounds),
 * config_file.c (strongmapd.conf through libinih) and config_print.c (values as text, -p, and
 * the comparison of two configurations for a reload).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config.h"
#include "config_internal.h"
#include "log.h"
#include "su_cidr.h"
#include "su_utf8.h"

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
const struct directive directives[CFG__COUNT] = {
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
              "scopes POST /v1/inspect accepts: none, or check, account, admin, metrics, issue, "
              "write"),
    DIRECTIVE(CFG_SCOPE_VERDICT, "auth", "scope.verdict", "scope-verdict", "SCOPES", T_SCOPE, 0, 0,
              0, "check", route_scope[API_ROUTE_VERDICT], "scopes POST /v1/verdict accepts"),
    DIRECTIVE(CFG_SCOPE_ACCOUNT, "auth", "scope.account", "scope-account", "SCOPES", T_SCOPE, 0, 0,
              0, "account", route_scope[API_ROUTE_ACCOUNT],
              "scopes GET /v1/accounts/{name} accepts"),
    DIRECTIVE(CFG_SCOPE_EVENTS, "auth", "scope.events", "scope-events", "SCOPES", T_SCOPE, 0, 0,
              0, "account,admin", route_scope[API_ROUTE_EVENTS],
              "scopes POST /v1/events/explain accepts"),
    DIRECTIVE(CFG_SCOPE_METRICS, "auth", "scope.metrics", "scope-metrics", "SCOPES", T_SCOPE, 0,
              0, 0, "metrics,admin", route_scope[API_ROUTE_METRICS],
              "scopes GET /metrics accepts"),
    DIRECTIVE(CFG_SCOPE_HEALTHZ, "auth", "scope.healthz", "scope-healthz", "SCOPES", T_SCOPE, 0,
              0, 0, "none", route_scope[API_ROUTE_HEALTHZ],
              "scopes GET /healthz accepts (none: open to probes)"),
    DIRECTIVE(CFG_SCOPE_READYZ, "auth", "scope.readyz", "scope-readyz", "SCOPES", T_SCOPE, 0, 0,
              0, "none", route_scope[API_ROUTE_READYZ],
              "scopes GET /readyz accepts (none: open to probes)"),
    DIRECTIVE(CFG_SCOPE_PREISSUE, "auth", "scope.preissue", "scope-preissue", "SCOPES", T_SCOPE,
              0, 0, 0, "issue,account,admin", route_scope[API_ROUTE_PREISSUE],
              "scopes POST /v1/preissue accepts (the issuance plan names the account)"),
    DIRECTIVE(CFG_SCOPE_HOOKS, "auth", "scope.hooks", "scope-hooks", "SCOPES", T_SCOPE, 0, 0, 0,
              "none", route_scope[API_ROUTE_HOOKS],
              "scopes /v1/hooks/step-ca/* accept besides their signature (none: the signature)"),
    DIRECTIVE(CFG_SCOPE_AUTHZ, "auth", "scope.authz", "scope-authz", "SCOPES", T_SCOPE, 0, 0, 0,
              "check", route_scope[API_ROUTE_AUTHZ], "scopes GET|POST /v1/authz accepts"),
    DIRECTIVE(CFG_SCOPE_PAGE, "auth", "scope.page", "scope-page", "SCOPES", T_SCOPE, 0, 0, 0,
              "none", route_scope[API_ROUTE_PAGE],
              "scopes the status page and its check accept (none: open, for people)"),
    DIRECTIVE(CFG_SCOPE_AUDITS, "auth", "scope.audits", "scope-audits", "SCOPES", T_SCOPE, 0, 0,
              0, "admin", route_scope[API_ROUTE_AUDITS],
              "scopes POST /v1/audits and GET|DELETE /v1/audits/{id} accept (every account's "
              "data)"),
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
    DIRECTIVE(CFG_NTAUTH_TTL, "directory", "ntauth_ttl", "ntauth-ttl", "SECONDS", T_ULL, F_LIMIT,
              0, SM_NTAUTH_TTL_MAX, "60", ntauth_ttl,
              "seconds the NTAuth store is kept (a CA not in it is read again at once)"),

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
              API_RATE_MAX, "0", rate,
              "requests per second per client (token, else IP), 0: no limit"),
    DIRECTIVE(CFG_BURST, "limits", "burst", "burst", "N", T_UINT, 0, 0, API_BURST_MAX, "0", burst,
              "token-bucket depth, 0: the rate rounded up (at least 1)"),
    DIRECTIVE(CFG_MAX_CERTS, "limits", "max_certs", "max-certs", "N", T_UINT, F_LIMIT, 1,
              SM_MAX_CERTS, "32", max_certs, "certificates in one request"),
    DIRECTIVE(CFG_LOOKUPS, "limits", "lookups", "lookups", "N", T_UINT, F_LIMIT, 1,
              API_LOOKUPS_MAX, "256", lookups,
              "accounts one request may look up (POST /v1/events/explain)"),

    DIRECTIVE(CFG_LOG_LEVEL, "log", "level", "log-level", "LEVEL", T_LEVEL, 0, 0, 0, "info",
              log_level, "error, warning, info or debug"),
    DIRECTIVE(CFG_DECISION_LOG, "log", "decision_log", "decision-log", "FILE", T_PATH, 0, 0,
              CFG_VALUE_MAX, NULL, decision_log, "append one JSON line per verdict to FILE"),

    DIRECTIVE(CFG_AUTHZ_HEADER, "authz", "header", "authz-header", "NAME", T_STR, 0, 0,
              API_AUTHZ_HEADER_MAX - 1, API_AUTHZ_HEADER_DEFAULT, authz_header,
              "/v1/authz: the header proxies forward the client certificate in"),
    DIRECTIVE(CFG_AUTHZ_TRUSTED_PROXIES, "authz", "trusted_proxies", "authz-trusted-proxies",
              "ADDRESSES", T_STR, 0, 0, CFG_VALUE_MAX, NULL, authz_trusted_proxies,
              "addresses or CIDR blocks whose certificate header /v1/authz believes"),
    DIRECTIVE(CFG_AUTHZ_DIRECTORY_DOWN, "authz", "directory_down", "authz-directory-down",
              "POLICY", T_STR, 0, 0, 16, "fail_closed", authz_directory_down,
              "/v1/authz with the directory down: fail_closed (503) or fail_open (200 unknown)"),

    DIRECTIVE(CFG_PAGE_ENABLED, "page", "enabled", "page-enabled", "BOOL", T_BOOL, 0, 0, 0, "yes",
              page_enabled, "serve the self-service status page (/, /status, /v1/self/check)"),
    DIRECTIVE(CFG_PAGE_ORGANISATION, "page", "organisation", "page-organisation", "NAME", T_STR,
              0, 0, API_PAGE_TEXT_MAX - 1, NULL, page_organisation,
              "the organisation's name, shown in the page's answers"),
    DIRECTIVE(CFG_PAGE_HELPDESK, "page", "helpdesk", "page-helpdesk", "TEXT", T_STR, 0, 0,
              API_PAGE_TEXT_MAX - 1, NULL, page_helpdesk,
              "how to reach the helpdesk (e-mail, phone, web address), shown in the answers"),
    LIST(CFG_PAGE_LINK, "page", "link", "page-link", "TITLE|URL", T_LINK, 0, NULL, page_link,
         n_page_link, API_PAGE_LINKS_MAX,
         "a link of the organisation's on the page, \"TITLE | URL\" (http or https); "
         "repeatable"),
    DIRECTIVE(CFG_PAGE_RATE, "page", "rate", "page-rate", "PER_SECOND", T_DOUBLE,
              F_LIMIT | F_NOLIMIT, 0, API_RATE_MAX, "0.2", page_rate,
              "the page's checks per second per client (IP; IPv6 by /64), 0: no limit"),
    DIRECTIVE(CFG_PAGE_BURST, "page", "burst", "page-burst", "N", T_UINT, 0, 0, API_BURST_MAX,
              "10", page_burst, "checks a client may make at once, 0: the rate rounded up"),
    DIRECTIVE(CFG_PAGE_IDENTITY_HEADER, "page", "identity_header", "page-identity-header", "NAME",
              T_STR, 0, 0, API_AUTHZ_HEADER_MAX - 1, API_PAGE_IDENTITY_HEADER_DEFAULT,
              page_identity_header,
              "the header a trusted reverse proxy names the signed-in user in"),
    DIRECTIVE(CFG_PAGE_TRUSTED_PROXIES, "page", "trusted_proxies", "page-trusted-proxies",
              "ADDRESSES", T_STR, 0, 0, CFG_VALUE_MAX, NULL, page_trusted_proxies,
              "addresses or CIDR blocks whose identity header the page believes"),
    DIRECTIVE(CFG_PAGE_LAB_MODE, "page", "lab_mode", "page-lab-mode", "BOOL", T_BOOL, 0, 0, 0,
              "no", page_lab_mode,
              "for a test lab only: the page answers for any account name typed in"),
    DIRECTIVE(CFG_PAGE_MESSAGES, "page", "messages", "page-messages", "DIR", T_PATH, 0, 0,
              CFG_VALUE_MAX, NULL, page_messages,
              "a directory of the page's message catalogues (LANG.json): languages added, texts "
              "overridden"),

    LIST(CFG_SELF_LISTEN, "self", "listen", "self-listen", "ADDR:PORT", T_LISTEN, F_RESTART, NULL,
         self_listen, n_self_listen, CFG_MAX_SELF_LISTEN,
         "a listener of the status page's own (its routes only, no others); repeatable"),

    DIRECTIVE(CFG_STEPCA_WEBHOOKS, "step-ca", "webhooks", "stepca-webhooks", "FILE", T_PATH, 0, 0,
              CFG_VALUE_MAX, NULL, stepca_webhooks,
              "step-ca webhooks: one \"ID SECRET\" line each (the secret as step-ca prints it)"),
    DIRECTIVE(CFG_STEPCA_ISSUER, "step-ca", "issuer", "stepca-issuer", "FILE", T_PATH, 0, 0,
              CFG_VALUE_MAX, NULL, stepca_issuer,
              "the CA certificate step-ca signs with: its hooks check NTAuth and the issuer"),

    DIRECTIVE(CFG_WRITE_BIND_DN, "write", "bind_dn", "write-bind-dn", "DN", T_STR, 0, 0,
              CFG_VALUE_MAX, NULL, write_bind_dn,
              "mapping write-back: simple bind as DN, apart from the read bind (ldap_bind_dn)"),
    DIRECTIVE(CFG_WRITE_PASSWORD_FILE, "write", "password_file", "write-password-file", "FILE",
              T_PATH, 0, 0, CFG_VALUE_MAX, NULL, write_password_file,
              "the write bind's password: the file's content"),
    DIRECTIVE(CFG_WRITE_AUDIT_LOG, "write", "audit_log", "write-audit-log", "FILE", T_PATH, 0, 0,
              CFG_VALUE_MAX, NULL, write_audit_log,
              "append-only audit log of every write (JSON lines, fsync'd)"),

    DIRECTIVE(CFG_AUDIT_JOBS, "audit", "jobs", "audit-jobs", "N", T_UINT, F_LIMIT, 1,
              API_AUDIT_JOBS_MAX, "1", audit_jobs,
              "audits (POST /v1/audits) running at once; four times as many held"),
    DIRECTIVE(CFG_AUDIT_TTL, "audit", "ttl", "audit-ttl", "SECONDS", T_ULL, F_LIMIT, 1,
              API_AUDIT_TTL_MAX, "3600", audit_ttl,
              "seconds an audit that ended is kept with its reports (fetched: a minute)"),
    DIRECTIVE(CFG_AUDIT_TIMEOUT, "audit", "timeout", "audit-timeout", "SECONDS", T_ULL, F_LIMIT,
              1, API_AUDIT_TIMEOUT_MAX, "3600", audit_timeout,
              "an audit still running after this long stops, its report partial"),
    DIRECTIVE(CFG_AUDIT_MAX_REPORT, "audit", "max_report", "audit-max-report", "BYTES", T_SIZE,
              F_LIMIT, API_AUDIT_REPORT_MIN, API_AUDIT_REPORT_MAX, "64M", audit_max_report,
              "bytes of one audit's reports in memory, every format together; more fails it"),
};
/* clang-format on */

const char *const level_names[] = { "error", "warning", "info", "debug" };
const int level_prios[] = { LOG_PRIO_ERR, LOG_PRIO_WARNING, LOG_PRIO_INFO, LOG_PRIO_DEBUG };

const struct cfg_directive_info *cfg_directive(enum cfg_id id)
{
    return &directives[id].i;
}

/* ---- construction ------------------------------------------------------------------------- */

struct cfg *cfg_new(void)
{
    struct cfg *c = calloc(1, sizeof(*c));
    struct sm_errinfo e = SM_ERRINFO_INIT;

    if (!c)
        return NULL;
    c->mode = c->backdating = -1;
    for (size_t i = 0; i < CFG__COUNT; i++) {
        if (directives[i].def && set_value(c, &directives[i], directives[i].def, NULL, &e) < 0)
            return cfg_free(c); /* a bad default: only out of memory can get here */
    }
    return c;
}

struct cfg *cfg_free(struct cfg *c)
{
    if (!c)
        return NULL;
    for (size_t i = 0; i < CFG__COUNT; i++)
        clear_value(c, &directives[i]);
    explicit_bzero(c->tokens, sizeof(c->tokens));
    free(c->path);
    free(c);
    return NULL;
}

const struct directive *find_directive(const char *section, const char *key)
{
    for (size_t i = 0; i < CFG__COUNT; i++)
        if (strcmp(directives[i].i.section, section) == 0 && strcmp(directives[i].i.key, key) == 0)
            return &directives[i];
    return NULL;
}

/* ---- command line ------------------------------------------------------------------------- */

int cfg_set(struct cfg *c, enum cfg_id id, const char *value, const char *as, struct sm_errinfo *e)
{
    const struct directive *d = &directives[id];
    struct sm_errinfo ve = SM_ERRINFO_INIT;

    e->origin = SM_ORIGIN_ARGUMENT;
    e->line = 0;
    e->field = d->i.key;
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
        clear_value(c, d); /* flags replace the file's values */
    if (set_value(c, d, value, NULL, &ve) < 0) {
        snprintf(e->text, sizeof(e->text), "%s: %.299s", as, ve.text);
        return -EINVAL;
    }
    c->cmdline_set[id] = true;
    c->origin[id] = CFG_ORIGIN_CMDLINE;
    return 0;
}

int cfg_set_option(struct cfg *c, const char *assignment, struct sm_errinfo *e)
{
    const char *dot = strchr(assignment, '.'), *eq = strchr(assignment, '=');
    char section[32], key[48], as[128], a[80];
    const struct directive *d;
    size_t sl, kl;

    e->origin = SM_ORIGIN_ARGUMENT;
    e->line = 0;
    e->field = NULL;
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
    d = find_directive(section, key);
    if (!d) {
        snprintf(e->text, sizeof(e->text), "-o %s: no such directive",
                 printable(assignment, 64, a, sizeof(a)));
        return -EINVAL;
    }
    snprintf(as, sizeof(as), "-o %s.%s", section, key);
    return cfg_set(c, (enum cfg_id)(d - directives), eq ? eq + 1 : NULL, as, e);

out_bad:
    snprintf(e->text, sizeof(e->text), "-o %s: expected SECTION.KEY=VALUE",
             printable(assignment, 64, a, sizeof(a)));
    return -EINVAL;
}

/* ---- cross-checks ------------------------------------------------------------------------- */

bool has_value(const struct cfg *c, enum cfg_id id)
{
    const struct directive *d = &directives[id];
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
        snprintf(buf, size, "--%s", directives[id].i.flag);
        return buf;
    }
    return directives[id].i.key;
}

char *cfg_where(const struct cfg *c, enum cfg_id id, char *buf, size_t size)
{
    if (c->origin[id] > 0)
        snprintf(buf, size, "%s:%d: %s", c->path ? c->path : "config", c->origin[id],
                 directives[id].i.key);
    else if (c->origin[id] == CFG_ORIGIN_CMDLINE)
        snprintf(buf, size, "--%s", directives[id].i.flag);
    else
        snprintf(buf, size, "%s", directives[id].i.key);
    return buf;
}

void cfg_error_at(const struct cfg *c, enum cfg_id id, struct sm_errinfo *e)
{
    e->field = directives[id].i.key;
    e->origin = c->origin[id] == CFG_ORIGIN_CMDLINE ? SM_ORIGIN_ARGUMENT : SM_ORIGIN_CONFIG;
    e->line = c->origin[id] > 0 ? c->origin[id] : 0;
}

int cfg_fail(const struct cfg *c, enum cfg_id id, struct sm_errinfo *e, int r, const char *fmt, ...)
{
    size_t len;
    va_list ap;

    cfg_where(c, id, e->text, sizeof(e->text));
    len = strlen(e->text);
    if (len + 2 < sizeof(e->text)) {
        memcpy(e->text + len, ": ", 3);
        va_start(ap, fmt);
        vsnprintf(e->text + len + 2, sizeof(e->text) - len - 2, fmt, ap);
        va_end(ap);
    }
    cfg_error_at(c, id, e);
    return r;
}

/* "@a <text> @b[ <tail>]", placed at @a's origin. */
static int conflict(const struct cfg *c, enum cfg_id a, const char *text, enum cfg_id b,
                    const char *tail, struct sm_errinfo *e)
{
    bool cmdline = c->origin[a] == CFG_ORIGIN_CMDLINE;
    char na[64], nb[64], at[CFG_ERR_MAX / 2] = "";

    if (c->origin[a] > 0)
        snprintf(at, sizeof(at), "%s:%d: ", c->path ? c->path : "config", c->origin[a]);
    snprintf(e->text, sizeof(e->text), "%s%s %s %s%s%s", at, name_of(c, a, cmdline, na, sizeof(na)),
             text, name_of(c, b, cmdline, nb, sizeof(nb)), tail ? " " : "", tail ? tail : "");
    cfg_error_at(c, a, e);
    return -EINVAL;
}

/* [write]: all three settings or none, over LDAP, with a bind of its own. */
static int check_write(const struct cfg *c, struct sm_errinfo *e)
{
    static const enum cfg_id all[] = { CFG_WRITE_BIND_DN, CFG_WRITE_PASSWORD_FILE,
                                       CFG_WRITE_AUDIT_LOG };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (!has_value(c, all[i]))
            continue;
        if (!c->n_ldap_uri)
            return conflict(c, all[i], "needs", CFG_LDAP_URI, "(an LDIF export is read-only)", e);
        for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++)
            if (!has_value(c, all[k]))
                return conflict(c, all[i], "needs", all[k], "([write] takes all three)", e);
    }
    if (c->write_bind_dn && c->ldap_bind_dn && strcasecmp(c->write_bind_dn, c->ldap_bind_dn) == 0)
        return conflict(c, CFG_WRITE_BIND_DN, "must differ from", CFG_LDAP_BIND_DN,
                        "(the read bind stays read-only)", e);
    return 0;
}

static int check_directory(const struct cfg *c, struct sm_errinfo *e)
{
    static const enum cfg_id ldap_only[] = {
        CFG_LDAP_BASE,    CFG_LDAP_BIND_DN,  CFG_LDAP_PASSWORD_FILE,
        CFG_LDAP_CA_FILE, CFG_LDAP_STARTTLS, CFG_LDAP_SASL_MECH,
    };

    if (c->ldif && c->n_ldap_uri)
        return conflict(c, CFG_LDAP_URI, "and", CFG_LDIF, "exclude each other", e);
    for (size_t i = 0; i < sizeof(ldap_only) / sizeof(ldap_only[0]); i++)
        if (!c->n_ldap_uri && has_value(c, ldap_only[i]))
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
    return check_write(c, e);
}

/* Directive @id's value @name: an HTTP field name (RFC 9110 token). */
static int check_header_name(const struct cfg *c, enum cfg_id id, const char *name,
                             struct sm_errinfo *e)
{
    char val[80];

    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return cfg_fail(c, id, e, -EINVAL,
                            "\"%s\" is not a header name (a token: letters, digits and "
                            "!#$%%&'*+-.^_`|~)",
                            printable(name, 64, val, sizeof(val)));
    return 0;
}

/* Directive @id's value @list (may be NULL): addresses and CIDR blocks (su_cidr.h). */
static int check_proxies(const struct cfg *c, enum cfg_id id, const char *list,
                         struct sm_errinfo *e)
{
    struct su_cidr_list l;
    char val[80];
    size_t at = 0;
    int r;

    if (!list || (r = su_cidr_list_parse(list, &l, &at)) == 0)
        return 0;
    const char *s = list + at;
    int len = (int)strcspn(s, " \t,");

    if (r == -E2BIG)
        return cfg_fail(c, id, e, -EINVAL, "more than %d addresses or blocks", SU_CIDR_MAX);
    return cfg_fail(c, id, e, -EINVAL,
                    "\"%.*s\" is not an IP address or a CIDR block (10.0.0.0/8, fd00::/8; "
                    "no host bits past the prefix)",
                    len > 60 ? 60 : len, printable(s, 60, val, sizeof(val)));
}

/* [authz]: the header an HTTP field name (RFC 9110 token), the proxies address blocks
 * (su_cidr.h), the policy fail_closed or fail_open. */
static int check_authz(const struct cfg *c, struct sm_errinfo *e)
{
    char val[80];
    int r;

    if ((r = check_header_name(c, CFG_AUTHZ_HEADER, c->authz_header, e)) < 0 ||
        (r = check_proxies(c, CFG_AUTHZ_TRUSTED_PROXIES, c->authz_trusted_proxies, e)) < 0)
        return r;
    if (strcmp(c->authz_directory_down, "fail_closed") != 0 &&
        strcmp(c->authz_directory_down, "fail_open") != 0)
        return cfg_fail(c, CFG_AUTHZ_DIRECTORY_DOWN, e, -EINVAL,
                        "\"%s\" is not fail_closed or fail_open",
                        printable(c->authz_directory_down, 32, val, sizeof(val)));
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

int cfg_finish(struct cfg *c, struct sm_errinfo *e)
{
    struct opt_whatif w = { .mode = (int)c->mode, .backdating_s = c->backdating };
    struct sm_errinfo oe = SM_ERRINFO_INIT;
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
    if (c->tls_priorities && api_tls_priorities_check(c->tls_priorities, &oe) < 0)
        return cfg_fail(c, CFG_TLS_PRIORITIES, e, -EINVAL, "%s", oe.text);
    if (opt_whatif_apply(&c->fleet, &w, &oe) < 0)
        return cfg_fail(c, c->mode >= 0 ? CFG_MODE : CFG_BACKDATING, e, -EINVAL, "%s", oe.text);
    if ((r = check_authz(c, e)) < 0)
        return r;
    /* [page]: texts shown to people, in JSON too */
    if (c->page_organisation && !su_utf8_valid(c->page_organisation, strlen(c->page_organisation)))
        return cfg_fail(c, CFG_PAGE_ORGANISATION, e, -EINVAL, "not valid UTF-8");
    if (c->page_helpdesk && !su_utf8_valid(c->page_helpdesk, strlen(c->page_helpdesk)))
        return cfg_fail(c, CFG_PAGE_HELPDESK, e, -EINVAL, "not valid UTF-8");
    /* [page]: identity path 2, the header a trusted proxy sets */
    if ((r = check_header_name(c, CFG_PAGE_IDENTITY_HEADER, c->page_identity_header, e)) < 0 ||
        (r = check_proxies(c, CFG_PAGE_TRUSTED_PROXIES, c->page_trusted_proxies, e)) < 0)
        return r;
    if (c->threads == 0)
        c->threads = online_cpus();
    c->finished = true;
    return 0;
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

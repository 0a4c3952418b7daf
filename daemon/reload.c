/*
 * daemon/reload.c - the runtime of a configuration, and the reload. The runtime (struct
 * api_runtime, api/api.h) is built here, once per configuration, from its checked values: the
 * settings, the directory opened from it, the Samba anchors and the decision log it names.
 * Every server holds a reference on it, and every request; the last one frees it.
 *
 * SIGHUP: RELOADING=1 -> read the configuration again (same file, same flags), refuse it when
 * it lowers the security level (check_reload()) -> build its runtime -> api_reconfigure() every
 * server with it -> warn about each setting it loosens -> READY=1. Any error or refusal keeps
 * the running configuration and runtime (logged at warning); a changed restart-only directive
 * is logged and ignored.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "config.h"
#include "daemon_internal.h"
#include "dirpool.h"
#include "log.h"
#include "options.h"
#include "su_clock.h"

/* ---- the runtime of a configuration ------------------------------------------------------- */

/* One line naming the fleet: "windows-2022, samba". */
static void fleet_text(const struct opt_profiles *fleet, char *buf, size_t size)
{
    size_t len = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < fleet->n && len < size; i++) {
        int n = snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                         sm_profile_name(fleet->v[i].kind));
        if (n < 0)
            break;
        len += (size_t)n;
    }
}

bool write_scope_warning(const struct cfg *c, char *buf, size_t size)
{
    size_t writers = 0, admins = 0;
    const char *admin = NULL;

    if (!c->write_bind_dn)
        return false;
    for (size_t i = 0; i < c->n_tokens; i++) {
        if (c->tokens[i].scopes & API_SCOPE_WRITE)
            writers++;
        else if (c->tokens[i].scopes & API_SCOPE_ADMIN && !admins++)
            admin = c->tokens[i].name;
    }
    if (writers)
        return false;
    if (admins)
        snprintf(buf, size,
                 "[write] is configured but no [auth] token has scope write: every write is "
                 "refused (403), dry runs only. Scope admin no longer writes mappings (%zu "
                 "token%s with admin, %s%s, did before): give scope write to the token that "
                 "should write, and to no other (token = NAME:SHA256:write)",
                 admins, admins > 1 ? "s" : "", admin, admins > 1 ? " and others" : "");
    else
        snprintf(buf, size,
                 "[write] is configured but no [auth] token has scope write: every write is "
                 "refused (403), dry runs only (token = NAME:SHA256:write)");
    return true;
}

void log_directory(const struct cfg *c, unsigned handles)
{
    char warning[512];
    struct opt_dir dir, *d = &dir;
    char fleet[128];

    cfg_dir(c, d);
    if (d->ldif)
        log_info("directory: LDIF export %s", d->ldif);
    else if (d->n_uris)
        log_info("directory: LDAP %s%s%s, base %s, %s%s%s, %u connections at most", d->uris[0],
                 d->n_uris > 1 ? " and failover servers" : "", d->starttls ? " (StartTLS)" : "",
                 d->base,
                 d->bind_dn     ? "simple bind as "
                 : d->sasl_mech ? "SASL "
                                : "",
                 d->bind_dn     ? d->bind_dn
                 : d->sasl_mech ? d->sasl_mech
                                : "anonymous",
                 d->bind_dn || d->sasl_mech ? "" : " bind", handles);
    else
        log_info("no directory configured (ldif or ldap_uri): verdicts and account statuses "
                 "answer 503");
    if ((d->ldif || d->n_uris) && c->cache_size)
        log_info("lookup cache: %llu entries, %llu s (not found: %llu s)", c->cache_size,
                 c->cache_ttl, c->cache_negative_ttl);
    else if (d->ldif || d->n_uris)
        log_info("lookup cache: off");
    if (c->write_bind_dn)
        log_info("mapping write-back: bind as %s, audit log %s", c->write_bind_dn,
                 c->write_audit_log);
    if (write_scope_warning(c, warning, sizeof(warning)))
        log_warnx("%s", warning);
    fleet_text(&c->fleet, fleet, sizeof(fleet));
    log_info("default DC profiles: %s", fleet);
}

/*
 * Open the directory @c names (*@ret NULL when none), and over LDAP the audit jobs' handles
 * (*@ret_audit, [audit]; NULL otherwise): the bind password is read once, here, and
 * wiped once the handles hold their copies. On failure @e names the directive; -EINVAL means
 * LDAP settings the backend refuses (placed at ldap_uri: origin argument when a flag gave it),
 * other codes an unreadable or unparsable file (-EIO) or no memory.
 */
static int open_directory(const struct cfg *c, unsigned handles, struct dirpool **ret,
                          struct dirpool **ret_audit, struct sm_errinfo *e)
{
    struct sm_errinfo de = SM_ERRINFO_INIT;
    struct dirpool_config dc;
    struct opt_dir d;
    char *password = NULL, where[CFG_ERR_MAX / 2];
    int r;

    cfg_dir(c, &d);
    *ret = *ret_audit = NULL;
    if ((r = check_named_files(c, e)) < 0)
        return r;
    if (!opt_dir_configured(&d))
        return 0;
    if (d.password_file) {
        r = opt_read_password(d.password_file, password_check, NULL, &password, &de);
        if (r < 0) /* a file's content, not a setting: -EIO */
            return cfg_fail(c, CFG_LDAP_PASSWORD_FILE, e, r == -EINVAL ? -EIO : r, "%s", de.text);
    }
    dc = (struct dirpool_config){
        .dir = &d,
        .password = password,
        .handles = handles,
        .cache_size = (size_t)c->cache_size,
        .cache_ttl_s = (unsigned)c->cache_ttl,
        .cache_negative_ttl_s = (unsigned)c->cache_negative_ttl,
        .ntauth_ttl_s = (unsigned)c->ntauth_ttl,
    };
    r = dirpool_open(&dc, ret, &de);
    if (r == 0 && !d.ldif) {
        /* the audit jobs' handles ([audit]): two a job, the walk's and the lookups', no cache */
        struct dirpool_config ac = { .dir = &d,
                                     .password = password,
                                     .handles = 2 * c->audit_jobs,
                                     .ntauth_ttl_s = (unsigned)c->ntauth_ttl };
        if ((r = dirpool_open(&ac, ret_audit, &de)) < 0)
            *ret = dirpool_close(*ret);
    }
    password = opt_password_free(password);
    if (r < 0 && d.ldif)
        return cfg_fail(c, CFG_LDIF, e, r == -EINVAL ? -EIO : r,
                        "cannot read the LDIF export %s: %s", d.ldif,
                        de.text[0] ? de.text : sm_strerror(r));
    if (r == -EINVAL)
        snprintf(e->text, sizeof(e->text), "LDAP settings refused (%s): %.200s",
                 cfg_where(c, CFG_LDAP_URI, where, sizeof(where)), de.text);
    else if (r < 0)
        snprintf(e->text, sizeof(e->text), "cannot set up the LDAP directory: %.200s",
                 de.text[0] ? de.text : sm_strerror(r));
    if (r < 0)
        cfg_error_at(c, CFG_LDAP_URI, e);
    return r;
}

/*
 * Open the write bind of [write] (*@ret NULL when none): @handles handles of its own over the
 * same servers, base and TLS settings as the read bind, with the write bind's DN and password,
 * without a lookup cache (a plan reads what the write will change). One per worker, as the read
 * pool's: a write takes one under the process's write lock (common/mapaudit.h), a dry run one
 * without it, so that dry runs never wait for a write, nor a write for them.
 */
static int open_writer(const struct cfg *c, unsigned handles, struct dirpool **ret,
                       struct sm_errinfo *e)
{
    struct sm_errinfo de = SM_ERRINFO_INIT;
    struct dirpool_config dc;
    struct opt_dir d;
    char *password = NULL;
    int r;

    *ret = NULL;
    if (!c->write_bind_dn)
        return 0;
    cfg_dir(c, &d);
    d.bind_dn = c->write_bind_dn;
    d.password_file = c->write_password_file;
    d.sasl_mech = NULL;
    r = opt_read_password(d.password_file, password_check, NULL, &password, &de);
    if (r < 0)
        return cfg_fail(c, CFG_WRITE_PASSWORD_FILE, e, r == -EINVAL ? -EIO : r, "%s", de.text);
    dc = (struct dirpool_config){ .dir = &d, .password = password, .handles = handles };
    r = dirpool_open(&dc, ret, &de);
    password = opt_password_free(password);
    if (r < 0)
        return cfg_fail(c, CFG_WRITE_BIND_DN, e, r, "the write bind's LDAP settings: %s",
                        de.text[0] ? de.text : sm_strerror(r));
    return 0;
}

int runtime_build(const struct cfg *c, unsigned handles, struct api_runtime **ret,
                  struct sm_errinfo *e)
{
    struct api_runtime *rt;
    int r;

    if (api_runtime_new(&rt) < 0) {
        snprintf(e->text, sizeof(e->text), "out of memory");
        return -ENOMEM;
    }
    memcpy(rt->tokens, c->tokens, c->n_tokens * sizeof(c->tokens[0]));
    rt->n_tokens = c->n_tokens;
    memcpy(rt->route_scope, c->route_scope, sizeof(rt->route_scope));
    rt->route_scope[API_ROUTE_MAPPINGS] = API_SCOPE_WRITE | API_SCOPE_ADMIN; /* not configurable */
    rt->account_data_scope = c->account_data_scope;
    rt->rate_per_s = c->rate;
    rt->rate_burst = c->burst;
    rt->max_lookups = c->lookups;
    rt->max_body = (size_t)c->max_body;
    rt->max_certs = c->max_certs;
    rt->fleet = c->fleet;
    rt->health_details = c->health_details;
    rt->page_enabled = c->page_enabled;
    rt->page_rate_per_s = c->page_rate;
    rt->page_rate_burst = c->page_burst;
    snprintf(rt->page_organisation, sizeof(rt->page_organisation), "%s",
             c->page_organisation ? c->page_organisation : "");
    snprintf(rt->page_helpdesk, sizeof(rt->page_helpdesk), "%s",
             c->page_helpdesk ? c->page_helpdesk : "");
    for (size_t i = 0; i < c->n_page_link; i++) {
        struct sm_errinfo le = SM_ERRINFO_INIT;

        if (api_page_link_parse(c->page_link[i], &rt->page_links[rt->n_page_links], &le) == 0)
            rt->n_page_links++; /* checked by set_value(): always */
    }
    snprintf(rt->page_identity_header, sizeof(rt->page_identity_header), "%s",
             c->page_identity_header);
    if (c->page_trusted_proxies) {
        size_t at;

        su_cidr_list_parse(c->page_trusted_proxies, &rt->page_trusted_proxies, &at); /* checked */
    }
    rt->page_lab_mode = c->page_lab_mode;
    snprintf(rt->authz_header, sizeof(rt->authz_header), "%s", c->authz_header);
    if (c->authz_trusted_proxies) {
        size_t at;

        su_cidr_list_parse(c->authz_trusted_proxies, &rt->trusted_proxies, &at); /* checked */
    }
    rt->authz_fail_open = strcmp(c->authz_directory_down, "fail_open") == 0;
    rt->audit_jobs = c->audit_jobs;
    rt->audit_ttl_s = (unsigned)c->audit_ttl;
    rt->audit_timeout_s = (unsigned)c->audit_timeout;
    rt->audit_max_report = c->audit_max_report;
    if (c->ldif)
        snprintf(rt->audit_source, sizeof(rt->audit_source), "LDIF %s", c->ldif);
    else if (c->n_ldap_uri)
        snprintf(rt->audit_source, sizeof(rt->audit_source), "LDAP %s, base %s", c->ldap_uri[0],
                 c->ldap_base ? c->ldap_base : "?");
    if ((r = open_directory(c, handles, &rt->dir, &rt->audit_dir, e)) < 0 ||
        (r = load_samba_anchors(c, &rt->samba_anchors, e)) < 0 ||
        (r = load_stepca_issuer(c, &rt->stepca_issuer, e)) < 0 ||
        (r = load_webhooks(c, rt, e)) < 0 || (r = load_page_messages(c, rt, e)) < 0 ||
        (r = open_writer(c, handles, &rt->map_pool, e)) < 0) {
        api_runtime_unref(rt);
        return r;
    }
    *ret = rt;
    return 0;
}

int runtime_open_log(const struct cfg *c, struct api_runtime *rt, struct sm_errinfo *e)
{
    struct sm_errinfo le = SM_ERRINFO_INIT;
    int r;

    if (c->write_audit_log && (r = api_runtime_open_audit(rt, c->write_audit_log, &le)) < 0)
        return cfg_fail(c, CFG_WRITE_AUDIT_LOG, e, r, "%s", le.text);
    if (!c->decision_log)
        return 0;
    if ((r = api_runtime_open_log(rt, c->decision_log, &le)) < 0)
        return cfg_fail(c, CFG_DECISION_LOG, e, r, "%s", le.text);
    return 0;
}

/* ---- the security checks of a reload ------------------------------------------------------ */

/*
 * Does @next lower the security level of the running configuration in a way a reload must not
 * do silently? Every token dropped (unless @next says allow_unauthenticated = yes); HTTPS,
 * client certificates or their requirement dropped (restart-only settings: a reload would
 * not apply it, the next start would). Returns 0, or -EPERM with the reason in @e.
 */
static int check_reload(const struct cfg *prev, const struct cfg *next, struct sm_errinfo *e)
{
    if (next->n_tokens == 0 && !next->allow_unauthenticated &&
        (prev->n_tokens > 0 || !loopback_only)) {
        snprintf(e->text, sizeof(e->text),
                 "the new configuration has no [auth] token: every route would answer without "
                 "authentication (set allow_unauthenticated = yes if that is meant)");
        return -EPERM;
    }
    if (check_lab_mode(next, page_open_addr, e) < 0)
        return -EPERM;
    if (boot->tls_cert && !next->tls_cert) {
        snprintf(e->text, sizeof(e->text),
                 "the new configuration has no [tls] cert and key: it would serve plain HTTP "
                 "(HTTPS changes only at a restart)");
        return -EPERM;
    }
    if (boot->tls_client_ca && !next->tls_client_ca) {
        snprintf(e->text, sizeof(e->text),
                 "the new configuration has no [tls] client_ca: client certificates would no "
                 "longer be checked (that changes only at a restart)");
        return -EPERM;
    }
    if (boot->tls_client_ca && boot->tls_client_required && !next->tls_client_required) {
        snprintf(e->text, sizeof(e->text),
                 "the new configuration says client_required = no: requests without a client "
                 "certificate would be served (that changes only at a restart)");
        return -EPERM;
    }
    return 0;
}

/* Warn about each reloadable setting @next loosens against @prev (it is applied). */
static void log_loosened(const struct cfg *prev, const struct cfg *next)
{
    char where[CFG_ERR_MAX], a[256], b[256];

    for (size_t i = 0; i < CFG__COUNT; i++) {
        enum cfg_id id = (enum cfg_id)i;

        if (cfg_directive(id)->restart || !cfg_looser(prev, next, id))
            continue;
        log_warnx("reload: %s loosened: %s -> %s", cfg_where(next, id, where, sizeof(where)),
                  cfg_value(prev, id, a, sizeof(a)), cfg_value(next, id, b, sizeof(b)));
    }
}

/* ---- reload ------------------------------------------------------------------------------- */

void reload(const struct args *a)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct api_runtime *next = NULL;
    struct cfg *c = NULL;
    char state[128], where[CFG_ERR_MAX];
    const char *path = config_path(a);
    unsigned changed = 0;
    int r;

    snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)su_mono_us());
    notify(state);
    log_info("SIGHUP: reloading the configuration (%s)", path ? path : "built-in defaults");

    if (load_config(a, &c, &e) < 0) {
        log_warnx("reload failed, keeping the running configuration: %s", e.text);
        goto out;
    }
    if (check_reload(running, c, &e) < 0) {
        log_warnx("reload failed, keeping the running configuration: %s", e.text);
        cfg_free(c);
        goto out;
    }
    for (size_t i = 0; i < CFG__COUNT; i++) {
        if (!cfg_directive((enum cfg_id)i)->restart || cfg_same(boot, c, (enum cfg_id)i))
            continue;
        log_warnx("reload: %s changed%s: needs a restart, ignoring",
                  cfg_where(c, (enum cfg_id)i, where, sizeof(where)),
                  cfg_looser(boot, c, (enum cfg_id)i) ? " (looser)" : "");
        changed++;
    }
    r = runtime_build(c, boot->threads * (unsigned)n_servers, &next, &e);
    if (r == 0 && (r = runtime_open_log(c, next, &e)) < 0)
        next = api_runtime_unref(next);
    if (r < 0) {
        log_warnx("reload failed, keeping the running configuration: %s", e.text);
        cfg_free(c);
        goto out;
    }
    for (size_t i = 0; i < n_servers; i++)
        api_reconfigure(servers[i], next);
    log_loosened(running, c);
    api_runtime_unref(current);
    current = next;
    if (running != boot)
        cfg_free(running);
    running = c;
    log_set_level(c->log_level);
    log_directory(c, boot->threads * (unsigned)n_servers);
    log_info("configuration reloaded: %zu tokens%s", c->n_tokens,
             changed ? "; restart for the other changes" : "");
out:
    notify("READY=1\nSTATUS=Serving");
}

/*
 * lib/dir_ldap.c - the LDAP directory backend (OpenLDAP libldap 2.5): the handle, its searches
 * and the dir_ops. Its connection (URIs, TLS, binds, the TLS watchdog, the backoff) is
 * lib/dir_ldap_conn.c's; the two share lib/dir_ldap_internal.h and are the only files that
 * include <ldap.h>.
 *
 * One handle, one connection. A struct sm_dir from sm_dir_open_ldap() holds at most one LDAP
 * connection and must not be used by two threads at once: the daemon gives each worker its own
 * handle (measured: one connection per thread is faster than a shared one). The connection is
 * made lazily by the first call that needs it and kept; a call whose connection turns out to be
 * dead (the server closed it while idle) reconnects once and repeats the request.
 *
 * Searches: filters are built from escaped values only (ldap_bv2escaped_filter_value, binary
 * objectSid included), ask for DIR_ATTRS only, carry a time limit and a size limit of
 * SM_MAX_ACCOUNTS + 1 and use the paged-results control; search references are skipped.
 *
 * Errors: no server reachable, timeouts, a lost connection -> SM_E_DIR_DOWN; bind or TLS trust
 * refused, no access -> SM_E_DIR_REFUSED; too many entries -> SM_E_DIR_LIMIT; each with a
 * one-line reason in reterr (never the password). libldap writes to sockets with write(): the
 * process must ignore SIGPIPE (the daemon does).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "dir_ldap_internal.h"

#define DEFAULT_CONNECT_MS 3000
#define DEFAULT_OP_MS      5000
#define DEFAULT_TLS_MS     5000
#define MAX_TIMEOUT_MS     600000 /* larger settings are clamped to 10 minutes */
#define MAX_URIS           16
#define MAX_DN_LEN         4096
/*
 * Entries per page. A lookup returns at most SM_MAX_ACCOUNTS + 1 entries, so pages only matter
 * for over-limit answers; a page smaller than the limit keeps the page loop exercised by the
 * size-limit test at the cost of two round trips in that rare case.
 */
#define DIR_PAGE_SIZE  8
#define MAX_PAGES      (SM_MAX_ACCOUNTS + 2)
#define NTAUTH_PREFIX  "CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,"
#define ACCOUNT_FILTER "(|(objectClass=user)(objectClass=computer))"

static char *dir_attrs[] = DIR_ATTRS_INIT;
static char *no_attrs[] = { LDAP_NO_ATTRS, NULL };

/* ---- small helpers ---- */

static unsigned timeout_or(unsigned ms, unsigned def)
{
    if (ms == 0)
        return def;
    return ms > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS : ms;
}

static int dup_opt(const char *s, char **ret)
{
    *ret = NULL;
    if (!s)
        return 0;
    *ret = mem_strdup(s);
    return *ret ? 0 : -ENOMEM;
}

/* An attribute type name as dir.c passes it: a letter, then letters, digits and hyphens. */
static bool attr_name_ok(const char *a)
{
    if (!a || !((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z')))
        return false;
    size_t i = 0;
    for (; a[i] && i < 64; i++) {
        char c = a[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return false;
    }
    return a[i] == '\0';
}

static bool dn_ok(const char *dn)
{
    LDAPDN parsed = NULL;
    if (!dn || !dn[0] || strlen(dn) > MAX_DN_LEN)
        return false;
    if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
        return false;
    ldap_dnfree(parsed);
    return true;
}

/* ---- searching ---- */

int ldap_add_entry(LDAP *ld, LDAPMessage *e, struct raw_entries *out)
{
    BerElement *ber = NULL;
    struct berval dn, attr;
    BerVarray vals = NULL;
    char name[64]; /* an attribute name of ours, options included ("userCertificate;binary") */
    int rc = SM_E_DIR_DOWN;

    /* the entry read once, attribute after attribute, the values pointing into the message
       (ldap_get_values_len() would scan the entry from its start for each attribute) */
    if (ldap_get_dn_ber(ld, e, &ber, &dn) != LDAP_SUCCESS || !dn.bv_val)
        goto out;
    rc = raw_entry_begin(out, dn.bv_val, dn.bv_len);
    while (rc == 0) {
        if (ldap_get_attribute_ber(ld, e, ber, &attr, &vals) != LDAP_SUCCESS) {
            rc = SM_E_DIR_DOWN;
            break;
        }
        if (!attr.bv_val)
            break; /* no attribute left */
        /* a longer name is none of DIR_ATTRS: raw_value() would drop its values */
        if (attr.bv_len < sizeof(name)) {
            memcpy(name, attr.bv_val, attr.bv_len);
            name[attr.bv_len] = '\0';
            /* the options ("userCertificate;binary"): raw_value() ignores them */
            for (size_t i = 0; rc == 0 && vals && vals[i].bv_val; i++)
                rc = raw_value(out, name, vals[i].bv_val, vals[i].bv_len);
        }
        ber_memfree(vals);
        vals = NULL;
    }
out:
    ber_free(ber, 0);
    return rc;
}

/* What a search's result code means for the caller; drops the connection when it is suspect. */
static int search_error(struct ldap_dir *l, int rc, const char *diag, bool *lost,
                        struct sm_errinfo *reterr)
{
    const char *uri = l->uris[l->uri_idx];
    const char *sep = diag[0] ? ": " : "";

    switch (rc) {
    case LDAP_SIZELIMIT_EXCEEDED:
    case LDAP_ADMINLIMIT_EXCEEDED:
        errinfo_set(reterr, -1, "more than %d entries match", SM_MAX_ACCOUNTS);
        return SM_E_DIR_LIMIT;
    case LDAP_NO_MEMORY: return -ENOMEM;
    case LDAP_FILTER_ERROR:
    case LDAP_INVALID_DN_SYNTAX:
    case LDAP_PARAM_ERROR:
        errinfo_set(reterr, -1, "%s: %s%s%s", uri, ldap_err2string(rc), sep, diag);
        return -EINVAL;
    case LDAP_INSUFFICIENT_ACCESS:
    case LDAP_OPERATIONS_ERROR: /* Active Directory: "a successful bind must be completed" */
    case LDAP_INAPPROPRIATE_AUTH:
    case LDAP_STRONG_AUTH_REQUIRED:
    case LDAP_CONFIDENTIALITY_REQUIRED:
    case LDAP_UNWILLING_TO_PERFORM:
        errinfo_set(reterr, -1, "%s: search refused: %s%s%s", uri, ldap_err2string(rc), sep, diag);
        return SM_E_DIR_REFUSED;
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
        *lost = true;
        errinfo_set(reterr, -1, "%s: connection lost (%s)", uri, ldap_err2string(rc));
        drop_conn(l);
        return SM_E_DIR_DOWN;
    case LDAP_TIMEOUT:
        /*
         * A server that accepted the connection but does not answer: next time start with the
         * next URI (the caller repeats the search there at once), and once every URI has
         * stalled, back off so that requests fail fast instead of each waiting the deadline.
         */
        errinfo_set(reterr, -1, "%s: no answer within %u ms", uri, l->op_ms);
        drop_conn(l);
        l->first = (l->uri_idx + 1) % l->n_uris;
        if (++l->stalls >= l->n_uris)
            back_off(l, SM_E_DIR_DOWN, reterr ? reterr->text : "no answer");
        else
            *lost = true;
        return SM_E_DIR_DOWN;
    default:
        errinfo_set(reterr, -1, "%s: search failed: %s%s%s", uri, ldap_err2string(rc), sep, diag);
        drop_conn(l);
        return SM_E_DIR_DOWN;
    }
}

/* Send one search (@cookie non-NULL: paged, from that cookie) for at most @limit entries (more:
   the server's size limit); *@msgid. An LDAP result code. */
static int send_search(struct ldap_dir *l, const char *base, int scope, const char *filter,
                       char **attrs, struct berval *cookie, size_t limit, int *msgid)
{
    LDAPControl *pctrl = NULL, *sctrls[2] = { NULL, NULL };
    struct timeval tv = ms_to_tv(l->op_ms);
    /* a batch (dir_prefetch()) in one page; a lookup in small ones (above) */
    ber_int_t page = limit > SM_MAX_ACCOUNTS ? (ber_int_t)limit + 1 : DIR_PAGE_SIZE;

    if (cookie) {
        int rc = ldap_create_page_control(l->ld, page, cookie, 0, &pctrl);
        if (rc != LDAP_SUCCESS)
            return rc;
        sctrls[0] = pctrl;
    }
    int rc = ldap_search_ext(l->ld, base, scope, filter, attrs, 0, cookie ? sctrls : NULL, NULL,
                             &tv, (int)limit + 1, msgid);
    ldap_control_free(pctrl);
    return rc;
}

/*
 * The whole answer to search @msgid into *@res, within the operation's deadline (as
 * ldap_search_ext_s() waits: a search that times out is abandoned). LDAP_SUCCESS, or libldap's
 * error (LDAP_SERVER_DOWN, LDAP_TIMEOUT, ...).
 */
static int await_search(struct ldap_dir *l, int msgid, LDAPMessage **res)
{
    struct timeval tv = ms_to_tv(l->op_ms);
    int err = LDAP_OTHER;

    int rc = ldap_result(l->ld, msgid, LDAP_MSG_ALL, &tv, res);
    if (rc > 0)
        return LDAP_SUCCESS;
    if (rc == 0) {
        ldap_abandon_ext(l->ld, msgid, NULL, NULL);
        return LDAP_TIMEOUT;
    }
    ldap_get_option(l->ld, LDAP_OPT_RESULT_CODE, &err);
    return err == LDAP_SUCCESS ? LDAP_OTHER : err;
}

/*
 * The NTAuth store's answer to search @msgid, sent along with another search, into @out: 0
 * (also when there is no store), -ENOMEM or SM_E_DIR_DOWN. The other search's answer stands
 * either way, and a store that cannot be read is read again on its own (lib/ntauth.c).
 */
static int collect_store(struct ldap_dir *l, int msgid, struct raw_entries *out)
{
    LDAPMessage *res = NULL;
    int code = LDAP_OTHER, err = 0;

    int rc = await_search(l, msgid, &res);
    if (rc != LDAP_SUCCESS) {
        ldap_msgfree(res);
        return rc == LDAP_NO_MEMORY ? -ENOMEM : SM_E_DIR_DOWN;
    }
    for (LDAPMessage *m = ldap_first_message(l->ld, res); m; m = ldap_next_message(l->ld, m)) {
        int type = ldap_msgtype(m);
        if (type == LDAP_RES_SEARCH_ENTRY && err == 0)
            err = ldap_add_entry(l->ld, m, out);
        else if (type == LDAP_RES_SEARCH_RESULT &&
                 ldap_parse_result(l->ld, m, &code, NULL, NULL, NULL, NULL, 0) != LDAP_SUCCESS)
            code = LDAP_DECODING_ERROR;
    }
    ldap_msgfree(res);
    if (err)
        return err == -ENOMEM ? err : SM_E_DIR_DOWN;
    return code == LDAP_SUCCESS || code == LDAP_NO_SUCH_OBJECT || code == LDAP_REFERRAL
               ? 0
               : SM_E_DIR_DOWN;
}

/*
 * One search over the current connection; entries go to @out (NULL: read nothing). 0,
 * LDAP_NO_SUCH_OBJECT or LDAP_REFERRAL (the base is not on this server: the caller decides),
 * or an error. *lost is set when the connection turned out to be dead before anything was
 * read, so that the caller may reconnect and repeat. With @store, the NTAuth store's read is
 * sent right after the search's first page, before either answer is awaited: one round trip.
 */
static int search_once(struct ldap_dir *l, const char *base, int scope, const char *filter,
                       char **attrs, bool paged, struct raw_entries *out, struct dir_store *store,
                       bool *lost, struct sm_errinfo *reterr)
{
    struct berval cookie = { 0, NULL };
    size_t total = 0, limit = out ? raw_limit(out) : SM_MAX_ACCOUNTS;
    int err = 0, store_id = -1;

    *lost = false;
    if (store)
        store->rc = SM_E_DIR_DOWN; /* until it is read */
    for (int page = 0; page < MAX_PAGES; page++) {
        LDAPControl **rctrls = NULL;
        LDAPMessage *res = NULL;
        char *diag = NULL;
        int code = LDAP_SUCCESS, msgid = -1;

        int rc = send_search(l, base, scope, filter, attrs, paged ? &cookie : NULL, limit, &msgid);
        if (rc == LDAP_SUCCESS && page == 0 && store &&
            send_search(l, l->hdr.ntauth_dn, LDAP_SCOPE_BASE, "(objectClass=*)", dir_attrs, NULL,
                        SM_MAX_ACCOUNTS, &store_id) != LDAP_SUCCESS)
            store_id = -1;
        if (rc == LDAP_SUCCESS)
            rc = await_search(l, msgid, &res);
        if (rc != LDAP_SUCCESS) {
            char d[120];
            diag_of(l->ld, d, sizeof(d));
            ldap_msgfree(res);
            err = search_error(l, rc, d, lost, reterr);
            if (page > 0 || total > 0)
                *lost = false;
            goto out;
        }
        for (LDAPMessage *m = ldap_first_message(l->ld, res); m && err == 0;
             m = ldap_next_message(l->ld, m)) {
            switch (ldap_msgtype(m)) {
            case LDAP_RES_SEARCH_ENTRY:
                if (!out)
                    break;
                if (++total > limit) {
                    errinfo_set(reterr, -1, "more than %zu entries match", limit);
                    err = SM_E_DIR_LIMIT;
                    break;
                }
                err = ldap_add_entry(l->ld, m, out);
                if (err == SM_E_DIR_LIMIT)
                    errinfo_set(reterr, -1, "more than %d entries match", SM_MAX_ACCOUNTS);
                else if (err == SM_E_DIR_DOWN)
                    errinfo_set(reterr, -1, "%s: malformed entry", l->uris[l->uri_idx]);
                break;
            case LDAP_RES_SEARCH_RESULT:
                if (ldap_parse_result(l->ld, m, &code, NULL, &diag, NULL, &rctrls, 0) !=
                    LDAP_SUCCESS)
                    code = LDAP_DECODING_ERROR;
                break;
            default: /* search references (referrals are off) and intermediate responses */ break;
            }
        }
        ldap_msgfree(res);
        if (err == 0 && (code == LDAP_NO_SUCH_OBJECT || code == LDAP_REFERRAL)) {
            err = code;
        } else if (err == 0 && code != LDAP_SUCCESS) {
            char d[120];
            copy_line(d, sizeof(d), diag);
            err = search_error(l, code, d, lost, reterr);
            *lost = false;
        }
        ber_memfree(diag);
        ber_memfree(cookie.bv_val);
        cookie.bv_val = NULL;
        cookie.bv_len = 0;
        if (err == 0 && paged) {
            LDAPControl *c = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
            ber_int_t estimate = 0;
            if (c && ldap_parse_pageresponse_control(l->ld, c, &estimate, &cookie) != LDAP_SUCCESS)
                cookie.bv_len = 0;
        }
        ldap_controls_free(rctrls);
        if (err || cookie.bv_len == 0)
            goto out;
    }
    /* a server that keeps handing out cookies */
    errinfo_set(reterr, -1, "more than %d pages of results", MAX_PAGES);
    err = SM_E_DIR_LIMIT;
out:
    ber_memfree(cookie.bv_val);
    if (store_id >= 0 && l->ld) /* the connection is still there: the store's answer is due */
        store->rc = collect_store(l, store_id, store->out);
    return err;
}

/* search_once() on a connection, reconnecting once when an old connection was found dead. */
static int search(struct ldap_dir *l, const char *base, int scope, const char *filter, char **attrs,
                  bool paged, struct raw_entries *out, struct dir_store *store,
                  struct sm_errinfo *reterr)
{
    for (int attempt = 0;; attempt++) {
        bool fresh = false, lost = false;
        int rc = ensure_conn(l, &fresh, reterr);
        if (rc < 0)
            return rc;
        rc = search_once(l, base, scope, filter, attrs, paged, out, store, &lost, reterr);
        if (rc == 0)
            l->stalls = 0;
        /* repeat once on a kept connection found dead, and after each stalled server */
        if (!lost || (fresh && l->stalls == 0) || attempt >= (int)l->n_uris)
            return rc;
    }
}

/* ---- dir_ops ---- */

static int ldap_find_eq(struct sm_dir *d, const char *attr, const struct sm_blob *values, size_t n,
                        struct raw_entries *out, struct dir_store *store, struct sm_errinfo *reterr)
{
    struct ldap_dir *l = (struct ldap_dir *)d;
    struct su_buf f;
    int rc = 0;

    if (!attr_name_ok(attr) || n > SM_MAX_ALTSEC || (n && !values) || !out)
        return -EINVAL;
    if (n == 0)
        return 0;
    arena_buf_init(&f, NULL);
    su_buf_puts(&f, "(&" ACCOUNT_FILTER "(|");
    for (size_t i = 0; i < n; i++) {
        struct berval in = { .bv_len = values[i].len, .bv_val = (char *)(uintptr_t)values[i].data };
        struct berval esc = { 0, NULL };
        if (values[i].len > SM_MAX_ALTSEC_VALUE || (values[i].len && !values[i].data)) {
            errinfo_set(reterr, -1, "value %zu of %s is too long", i, attr);
            rc = -EINVAL;
            goto out;
        }
        if (ldap_bv2escaped_filter_value(&in, &esc) != 0) {
            rc = -ENOMEM;
            goto out;
        }
        su_buf_printf(&f, "(%s=", attr);
        su_buf_put(&f, esc.bv_val, esc.bv_len);
        su_buf_putc(&f, ')');
        ber_memfree(esc.bv_val);
    }
    su_buf_puts(&f, "))");
    if (!su_buf_str(&f)) {
        rc = -ENOMEM;
        goto out;
    }
    rc = search(l, l->hdr.base, LDAP_SCOPE_SUBTREE, f.p, dir_attrs, true, out, store, reterr);
    if (rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_REFERRAL) {
        errinfo_set(reterr, -1, "search base %s does not exist on %s", l->hdr.base,
                    l->uris[l->uri_idx]);
        rc = SM_E_DIR_REFUSED;
    }
out:
    su_buf_release(&f);
    return rc;
}

/* Do two AVAs name the same type and value (ASCII case folded)? */
static bool ava_eq(const LDAPAVA *a, const LDAPAVA *b)
{
    return ascii_caseeq(a->la_attr.bv_val, a->la_attr.bv_len, b->la_attr.bv_val,
                        b->la_attr.bv_len) &&
           ascii_caseeq(a->la_value.bv_val, a->la_value.bv_len, b->la_value.bv_val,
                        b->la_value.bv_len);
}

int dir_dn_within(const char *dn, const char *base)
{
    LDAPDN pdn = NULL, pbase = NULL;
    size_t nd = 0, nb = 0;
    bool within = false;
    int rc = -EINVAL;

    if (ldap_str2dn(dn, &pdn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !pdn)
        goto out;
    rc = -EPERM;
    if (ldap_str2dn(base, &pbase, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
        goto out;
    while (pdn && pdn[nd])
        nd++;
    while (pbase && pbase[nb])
        nb++;
    if (nd < nb)
        goto out;
    within = true;
    for (size_t i = 0; i < nb && within; i++) {
        LDAPRDN rd = pdn[nd - nb + i], rb = pbase[i];
        size_t k = 0;
        for (; rd[k] && rb[k]; k++)
            if (!ava_eq(rd[k], rb[k]))
                within = false;
        if (rd[k] || rb[k]) /* multi-valued RDNs of different sizes */
            within = false;
    }
    if (within)
        rc = 0;
out:
    ldap_dnfree(pdn);
    ldap_dnfree(pbase);
    return rc;
}

static int ldap_read_dn(struct sm_dir *d, const char *dn, struct raw_entries *out,
                        struct dir_store *store, struct sm_errinfo *reterr)
{
    struct ldap_dir *l = (struct ldap_dir *)d;

    if (!out)
        return -EINVAL;
    if (!dn_ok(dn)) {
        errinfo_set(reterr, -1, "not a distinguished name");
        return -EINVAL;
    }
    int rc =
        search(l, dn, LDAP_SCOPE_BASE, "(objectClass=*)", dir_attrs, false, out, store, reterr);
    if (rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_REFERRAL)
        rc = 0; /* no such entry (or not in this server's naming contexts) */
    return rc;
}

static int ldap_ping(struct sm_dir *d, struct sm_errinfo *reterr)
{
    struct ldap_dir *l = (struct ldap_dir *)d;

    int rc = search(l, l->hdr.base, LDAP_SCOPE_BASE, "(objectClass=*)", no_attrs, false, NULL, NULL,
                    reterr);
    if (rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_REFERRAL) {
        errinfo_set(reterr, -1, "search base %s is not visible on %s", l->hdr.base,
                    l->uris[l->uri_idx]);
        rc = SM_E_DIR_REFUSED;
    }
    return rc;
}

/* Releases the whole handle, struct sm_dir fields (base, ntauth_dn) included. */
static void ldap_free(struct sm_dir *d)
{
    struct ldap_dir *l = (struct ldap_dir *)d;

    if (!l)
        return;
    drop_conn(l);
    for (size_t i = 0; l->uris && i < l->n_uris; i++)
        mem_free(l->uris[i]);
    mem_free(l->uris);
    if (l->password)
        explicit_bzero(l->password, strlen(l->password));
    mem_free(l->password);
    mem_free(l->bind_dn);
    mem_free(l->sasl_mech);
    mem_free(l->ca_file);
    mem_free(l->hdr.base);
    mem_free(l->hdr.ntauth_dn);
    watchdog_destroy(&l->wd);
    mem_free(l);
}

static const struct dir_ops ldap_ops = {
    .kind = "ldap",
    .find_eq = ldap_find_eq,
    .read_dn = ldap_read_dn,
    .ping = ldap_ping,
    .free = ldap_free,
    .modify_value = ldap_modify_value,
    .each = ldap_each,
};

/* ---- opening ---- */

static int check_config(const struct sm_ldap_config *cfg, struct sm_errinfo *reterr)
{
    bool plain_uri = false;

    if (!cfg->uris || cfg->n_uris == 0 || cfg->n_uris > MAX_URIS) {
        errinfo_set(reterr, -1, "between 1 and %d LDAP URIs are needed", MAX_URIS);
        return -EINVAL;
    }
    for (size_t i = 0; i < cfg->n_uris; i++) {
        LDAPURLDesc *u = NULL;
        const char *uri = cfg->uris[i];
        if (!uri || ldap_url_parse(uri, &u) != LDAP_URL_SUCCESS) {
            errinfo_set(reterr, -1, "URI %zu is not an LDAP URL", i + 1);
            return -EINVAL;
        }
        bool ok = u->lud_scheme && (strcasecmp(u->lud_scheme, "ldap") == 0 ||
                                    strcasecmp(u->lud_scheme, "ldaps") == 0);
        plain_uri |= ok && strcasecmp(u->lud_scheme, "ldap") == 0;
        ldap_free_urldesc(u);
        if (!ok || strchr(uri, ' ')) {
            errinfo_set(reterr, -1, "URI %zu: only one ldap:// or ldaps:// URI per entry", i + 1);
            return -EINVAL;
        }
    }
    if (!dn_ok(cfg->base)) {
        errinfo_set(reterr, -1, "the search base is not a distinguished name");
        return -EINVAL;
    }
    if (cfg->ntauth_dn && !dn_ok(cfg->ntauth_dn)) {
        errinfo_set(reterr, -1, "the NTAuth DN is not a distinguished name");
        return -EINVAL;
    }
    if (cfg->bind_dn && cfg->sasl_mech) {
        errinfo_set(reterr, -1, "a simple bind DN and a SASL mechanism exclude each other");
        return -EINVAL;
    }
    /* Active Directory also takes "user@domain" and "DOMAIN\\user" as a simple bind name */
    if (cfg->bind_dn && (!cfg->bind_dn[0] || strlen(cfg->bind_dn) > MAX_DN_LEN)) {
        errinfo_set(reterr, -1, "the bind DN is empty or too long");
        return -EINVAL;
    }
    if (cfg->bind_dn && (!cfg->password || !cfg->password[0])) {
        /* an empty password makes an "unauthenticated bind", which servers treat as anonymous */
        errinfo_set(reterr, -1, "a simple bind needs a password");
        return -EINVAL;
    }
    if (!cfg->bind_dn && cfg->password) {
        errinfo_set(reterr, -1, "a password without a bind DN");
        return -EINVAL;
    }
    if (cfg->sasl_mech && !cfg->sasl_mech[0]) {
        errinfo_set(reterr, -1, "empty SASL mechanism");
        return -EINVAL;
    }
    if (cfg->bind_dn && plain_uri && !cfg->starttls) {
        errinfo_set(reterr, -1, "a simple bind over ldap:// needs StartTLS (or use ldaps://)");
        return -EINVAL;
    }
    return 0;
}

int sm_dir_open_ldap(const struct sm_ldap_config *cfg, struct sm_dir **ret,
                     struct sm_errinfo *reterr)
{
    struct ldap_dir *l = NULL;
    int rc;

    if (!cfg || !ret)
        return -EINVAL;
    rc = check_config(cfg, reterr);
    if (rc < 0)
        return rc;
    l = mem_calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->hdr.ops = &ldap_ops;
    if (watchdog_init(l) < 0) {
        mem_free(l);
        return -ENOMEM;
    }

    l->uris = mem_calloc(cfg->n_uris, sizeof(*l->uris));
    if (!l->uris)
        goto out_nomem;
    for (l->n_uris = 0; l->n_uris < cfg->n_uris; l->n_uris++)
        if (dup_opt(cfg->uris[l->n_uris], &l->uris[l->n_uris]) < 0)
            goto out_nomem;
    if (dup_opt(cfg->base, &l->hdr.base) < 0 || dup_opt(cfg->bind_dn, &l->bind_dn) < 0 ||
        dup_opt(cfg->password, &l->password) < 0 || dup_opt(cfg->sasl_mech, &l->sasl_mech) < 0 ||
        dup_opt(cfg->ca_file, &l->ca_file) < 0)
        goto out_nomem;
    if (cfg->ntauth_dn) {
        l->hdr.ntauth_dn = mem_strdup(cfg->ntauth_dn);
    } else {
        size_t len = strlen(NTAUTH_PREFIX) + strlen(cfg->base) + 1;
        l->hdr.ntauth_dn = mem_malloc(len);
        if (l->hdr.ntauth_dn)
            snprintf(l->hdr.ntauth_dn, len, "%s%s", NTAUTH_PREFIX, cfg->base);
    }
    if (!l->hdr.ntauth_dn)
        goto out_nomem;
    l->starttls = cfg->starttls;
    l->connect_ms = timeout_or(cfg->connect_timeout_ms, DEFAULT_CONNECT_MS);
    l->op_ms = timeout_or(cfg->op_timeout_ms, DEFAULT_OP_MS);
    l->tls_ms = timeout_or(cfg->tls_timeout_ms, DEFAULT_TLS_MS);
    l->wd.ms = l->tls_ms;
    l->hdr.ntauth_ttl_s = SM_NTAUTH_TTL_DEFAULT;
    *ret = &l->hdr;
    return 0;

out_nomem:
    ldap_free(&l->hdr);
    return -ENOMEM;
}

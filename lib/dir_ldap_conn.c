/*
 * lib/dir_ldap_conn.c - the LDAP backend's connection: one per handle, made on demand (the
 * configured URIs in order: TCP, TLS, bind), guarded by the TLS watchdog, with the backoff
 * after a failed pass. lib/dir_ldap.c asks for it (ensure_conn()) and drops it when a search
 * finds it dead (drop_conn()); lib/dir_ldap_internal.h is what the two share.
 *
 * Connecting tries the configured URIs in order and keeps the first that completes TCP connect,
 * TLS (ldaps:// or StartTLS; never a silent fall-back to plain text) and the bind. When every
 * URI fails the handle backs off: 100 ms after the first failure, doubling to 5 s; until then
 * calls fail at once with the last error and its reason instead of waiting on dead servers.
 * An invalid-credentials answer stops the pass early: the account is the same on every domain
 * controller, and each further attempt would count towards its lockout.
 *
 * Deadlines (as measured). LDAP_OPT_NETWORK_TIMEOUT bounds the TCP connect (per address),
 * LDAP_OPT_TIMEOUT and the per-search timeout bound each operation, but nothing in libldap
 * bounds the TLS handshake: a peer that accepts and never answers hangs it forever. So each
 * connection attempt runs a watchdog thread; the connect callback (LDAP_OPT_CONNECT_CB) hands it
 * the socket once TCP is up, and when TLS plus the bind have not finished tls_timeout_ms later it
 * shutdown()s the socket, which makes libldap fail at once. The callback's delete hook clears
 * the socket under the same lock before libldap closes it, and the thread is joined before the
 * attempt returns, so a shutdown can never hit a reused descriptor. A connection attempt thus
 * takes at most connect_timeout_ms (per address of the host) + tls_timeout_ms.
 * The connect callback also unsets the network timeout for the rest of the attempt: with it set,
 * libldap 2.5 runs the handshake on a non-blocking socket without polling, a busy loop for as
 * long as the peer stalls (measured: a full core; without it, about 2 ms of CPU per stalled
 * second). Once the connection is up, a TLS socket is made non-blocking, the state libldap leaves
 * it in by default, so that a TLS record cut short cannot block a read past an operation's
 * deadline.
 *
 * Options are all set per handle, because libldap also reads /etc/ldap/ldap.conf, ~/.ldaprc
 * and LDAP* environment variables: LDAPv3, no referral chasing, no alias dereferencing, the
 * timeouts above, TLS with REQUIRE_CERT demand against ca_file (or Debian's system bundle, as
 * libldap 2.5's GnuTLS back-end has no "system trust" default), TLS 1.2 at least, no client
 * certificate, then LDAP_OPT_X_TLS_NEWCTX (without it per-handle TLS options are ignored).
 *
 * Binds: none (anonymous), simple (bind_dn + password; refused at open over ldap:// without
 * StartTLS, as it would send the password in clear), or SASL (sasl_mech, e.g. GSSAPI with the
 * keytab named by KRB5_CLIENT_KTNAME) with an interaction callback that never prompts. GSSAPI
 * takes the service principal from the URI's host name as written (SASL_NOCANON: no reverse
 * DNS), so URIs should name domain controllers by their FQDN; over TLS the SASL security layer
 * is switched off (maxssf=0), as Active Directory refuses sign/seal inside TLS.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <sasl/sasl.h>

#include "dir_ldap_internal.h"
#include "su_clock.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS   5000
#define SYSTEM_CA_FILE   "/etc/ssl/certs/ca-certificates.crt"

/* ---- small helpers ---- */

/* ASCII case-insensitive substring test. */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

/* ---- the TLS watchdog ---- */

static int conn_add(LDAP *ld, Sockbuf *sb, LDAPURLDesc *srv, struct sockaddr *addr,
                    struct ldap_conncb *ctx)
{
    struct watchdog *w = ctx->lc_arg;
    ber_socket_t s = -1;
    (void)srv;
    (void)addr;

    ber_sockbuf_ctrl(sb, LBER_SB_OPT_GET_FD, &s);
    pthread_mutex_lock(&w->mu);
    bool running = w->running;
    pthread_mutex_unlock(&w->mu);
    /* A connection libldap opens on its own, after the first was lost, would be unbound (and
       in plain text after StartTLS): refused. connect_uri() makes every connection. */
    if (!running)
        return -1;
    /* Read ahead: libldap otherwise reads each message's header and body with separate
       read()s (docs/performance.md). The TCP layer is added after this callback, so the
       read-ahead layer goes one level up to sit above it (and below TLS). */
    if (ber_sockbuf_add_io(sb, &ber_sockbuf_io_readahead, LBER_SBIOD_LEVEL_PROVIDER + 1, NULL) != 0)
        return -1;
    /* TCP is up: the network timeout has done its job. Left set, it makes libldap run the TLS
       handshake on a non-blocking socket without polling (a busy loop for as long as a stalled
       peer lasts); unset, the handshake blocks until it ends or the watchdog shuts it down. */
    struct timeval infinite = { .tv_sec = -1, .tv_usec = 0 };
    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &infinite);
    pthread_mutex_lock(&w->mu);
    w->fd = s;
    w->tcp_up = true;
    w->armed = true;
    w->deadline = su_ts_add_ms(su_mono_ts(), w->ms);
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

/* Called before libldap closes the socket (and with sb == NULL before it frees the handle). */
static void conn_del(LDAP *ld, Sockbuf *sb, struct ldap_conncb *ctx)
{
    struct watchdog *w = ctx->lc_arg;
    (void)ld;
    (void)sb;

    pthread_mutex_lock(&w->mu);
    w->fd = -1;
    w->armed = false;
    pthread_mutex_unlock(&w->mu);
}

static void *watchdog_main(void *arg)
{
    struct watchdog *w = arg;

    pthread_mutex_lock(&w->mu);
    while (w->running) {
        if (!w->armed) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        int rc = pthread_cond_timedwait(&w->cv, &w->mu, &w->deadline);
        if (rc == ETIMEDOUT && w->running && w->armed &&
            su_ts_diff_ms(su_mono_ts(), w->deadline) >= 0) {
            if (w->fd >= 0)
                shutdown(w->fd, SHUT_RDWR);
            w->fired = true;
            w->armed = false;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static int watchdog_start(struct watchdog *w, pthread_t *thread)
{
    pthread_mutex_lock(&w->mu);
    w->running = true;
    w->armed = false;
    w->fired = false;
    w->tcp_up = false;
    pthread_mutex_unlock(&w->mu);
    int rc = pthread_create(thread, NULL, watchdog_main, w);
    if (rc != 0) {
        pthread_mutex_lock(&w->mu);
        w->running = false;
        pthread_mutex_unlock(&w->mu);
        return -rc;
    }
    return 0;
}

/* Stop and join the watchdog; true when it fired. */
static bool watchdog_stop(struct watchdog *w, pthread_t thread)
{
    pthread_mutex_lock(&w->mu);
    w->running = false;
    w->armed = false;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(thread, NULL);
    return w->fired; /* the thread has ended: no lock needed */
}

/*
 * Set up @l's watchdog and the connect callback that arms it (it must live as long as any LDAP*
 * of the handle). 0 or -ENOMEM; nothing to undo on failure.
 */
int watchdog_init(struct ldap_dir *l)
{
    pthread_condattr_t ca;
    int rc;

    l->wd.fd = -1;
    if (pthread_condattr_init(&ca) != 0)
        return -ENOMEM;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    rc = pthread_cond_init(&l->wd.cv, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -ENOMEM;
    if (pthread_mutex_init(&l->wd.mu, NULL) != 0) {
        pthread_cond_destroy(&l->wd.cv);
        return -ENOMEM;
    }
    l->conncb.lc_add = conn_add;
    l->conncb.lc_del = conn_del;
    l->conncb.lc_arg = &l->wd;
    return 0;
}

/* Undo watchdog_init(); no connection attempt may be running. */
void watchdog_destroy(struct watchdog *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
}

/* ---- connecting ---- */

/* Never prompt: every SASL question gets its default or an empty answer. */
static int sasl_no_prompt(LDAP *ld, unsigned flags, void *defaults, void *in)
{
    sasl_interact_t *it = in;
    (void)ld;
    (void)flags;
    (void)defaults;

    for (; it && it->id != SASL_CB_LIST_END; it++) {
        it->result = it->defresult ? it->defresult : "";
        it->len = (unsigned)strlen(it->result);
    }
    return LDAP_SUCCESS;
}

static bool uri_is_ldaps(const char *uri)
{
    return strncasecmp(uri, "ldaps://", 8) == 0;
}

static bool uses_tls(const struct ldap_dir *l, const char *uri)
{
    return uri_is_ldaps(uri) || l->starttls;
}

/* Set every option on @ld explicitly; a message in @why on failure. */
static int set_options(struct ldap_dir *l, LDAP *ld, const char *uri, char *why, size_t whysz)
{
    int v3 = LDAP_VERSION3, never = LDAP_DEREF_NEVER, zero = 0;
    int limit = SM_MAX_ACCOUNTS + 1, tlimit = (int)((l->op_ms + 999) / 1000);
    int demand = LDAP_OPT_X_TLS_DEMAND, tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
    struct timeval net = ms_to_tv(l->connect_ms), op = ms_to_tv(l->op_ms);
    bool tls = uses_tls(l, uri);
    const char *what = NULL;

    if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS)
        what = "protocol version";
    else if (ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS)
        what = "referrals";
    else if (ldap_set_option(ld, LDAP_OPT_DEREF, &never) != LDAP_OPT_SUCCESS)
        what = "deref";
    else if (ldap_set_option(ld, LDAP_OPT_SIZELIMIT, &limit) != LDAP_OPT_SUCCESS ||
             ldap_set_option(ld, LDAP_OPT_TIMELIMIT, &tlimit) != LDAP_OPT_SUCCESS)
        what = "limits";
    else if (ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net) != LDAP_OPT_SUCCESS ||
             ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op) != LDAP_OPT_SUCCESS)
        what = "timeouts";
    else if (ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS)
        what = "restart";
    else if (ldap_set_option(ld, LDAP_OPT_X_SASL_NOCANON, LDAP_OPT_ON) != LDAP_OPT_SUCCESS ||
             ldap_set_option(ld, LDAP_OPT_X_SASL_SECPROPS,
                             tls ? "noanonymous,noplain,maxssf=0" : "noanonymous,noplain") !=
                 LDAP_OPT_SUCCESS)
        what = "SASL options";
    else if (ldap_set_option(ld, LDAP_OPT_CONNECT_CB, &l->conncb) != LDAP_OPT_SUCCESS)
        what = "connect callback";
    if (what) {
        snprintf(why, whysz, "cannot set the %s option", what);
        return SM_E_DIR_DOWN;
    }
    if (!tls)
        return 0;
    const char *ca = l->ca_file ? l->ca_file : SYSTEM_CA_FILE;
    if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTDIR, NULL) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_CERTFILE, NULL) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_KEYFILE, NULL) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, ca) != LDAP_OPT_SUCCESS) {
        snprintf(why, whysz, "cannot set the TLS options");
        return SM_E_DIR_REFUSED;
    }
    if (ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS) {
        char diag[120];
        diag_of(ld, diag, sizeof(diag));
        snprintf(why, whysz, "TLS setup failed (CA file %s)%s%s", ca, diag[0] ? ": " : "", diag);
        return SM_E_DIR_REFUSED;
    }
    return 0;
}

/* A bind answer that no retry will change. */
static bool bind_refusal(int rc)
{
    switch (rc) {
    case LDAP_INVALID_CREDENTIALS:
    case LDAP_INVALID_DN_SYNTAX: /* a bind name this server does not take */
    case LDAP_INAPPROPRIATE_AUTH:
    case LDAP_STRONG_AUTH_REQUIRED:
    case LDAP_CONFIDENTIALITY_REQUIRED:
    case LDAP_UNWILLING_TO_PERFORM:
    case LDAP_AUTH_METHOD_NOT_SUPPORTED:
    case LDAP_INSUFFICIENT_ACCESS:
    case LDAP_AUTH_UNKNOWN:
    case LDAP_LOCAL_ERROR: /* SASL: no credentials (no ticket, no keytab) */
    case LDAP_NOT_SUPPORTED:
    case LDAP_PARAM_ERROR:
    case LDAP_PROTOCOL_ERROR: return true;
    default: return false;
    }
}

/*
 * Connect to one URI: TCP, TLS, bind. 0 with *ret set, or an error with a reason in @why and
 * *stop set when no other URI should be tried (invalid credentials).
 */
static int connect_uri(struct ldap_dir *l, const char *uri, LDAP **ret, bool *stop, char *why,
                       size_t whysz)
{
    LDAP *ld = NULL;
    pthread_t wd_thread;
    const char *stage = "connect";
    char diag[120] = "";
    int err;

    *stop = false;
    int rc = ldap_initialize(&ld, uri);
    if (rc != LDAP_SUCCESS) {
        snprintf(why, whysz, "invalid URI (%s)", ldap_err2string(rc));
        return rc == LDAP_NO_MEMORY ? -ENOMEM : -EINVAL;
    }
    err = set_options(l, ld, uri, why, whysz);
    if (err < 0)
        goto out_unbind;

    err = watchdog_start(&l->wd, &wd_thread);
    if (err < 0) {
        snprintf(why, whysz, "cannot start the TLS watchdog (%s)", strerror(-err));
        err = SM_E_DIR_DOWN;
        goto out_unbind;
    }
    rc = ldap_connect(ld);
    if (rc == LDAP_SUCCESS && l->starttls && !uri_is_ldaps(uri)) {
        stage = "StartTLS";
        rc = ldap_start_tls_s(ld, NULL, NULL);
    }
    if (rc == LDAP_SUCCESS && l->bind_dn) {
        struct berval cred = { .bv_len = strlen(l->password), .bv_val = l->password };
        stage = "bind";
        rc = ldap_sasl_bind_s(ld, l->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
    } else if (rc == LDAP_SUCCESS && l->sasl_mech) {
        stage = "SASL bind";
        rc = ldap_sasl_interactive_bind_s(ld, NULL, l->sasl_mech, NULL, NULL, LDAP_SASL_QUIET,
                                          sasl_no_prompt, NULL);
    }
    bool fired = watchdog_stop(&l->wd, wd_thread);
    if (rc == LDAP_SUCCESS && !fired) {
        Sockbuf *sb = NULL;
        /* As libldap leaves a TLS socket when a network timeout is set (see conn_add()):
           non-blocking, so that a record cut short cannot block a read past the operation's
           deadline. */
        if (uses_tls(l, uri) && ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) == LDAP_OPT_SUCCESS &&
            sb)
            ber_sockbuf_ctrl(sb, LBER_SB_OPT_SET_NONBLOCK, (void *)1);
        *ret = ld;
        return 0;
    }

    diag_of(ld, diag, sizeof(diag));
    bool tls_stage = strcmp(stage, "StartTLS") == 0 ||
                     (strcmp(stage, "connect") == 0 && uri_is_ldaps(uri) && l->wd.tcp_up);
    if (fired) {
        snprintf(why, whysz, "%s: no TLS handshake and bind within %u ms", stage, l->tls_ms);
        err = SM_E_DIR_DOWN;
    } else if (rc == LDAP_NO_MEMORY) {
        snprintf(why, whysz, "out of memory");
        err = -ENOMEM;
    } else if (tls_stage && strcmp(diag, "(unknown error code)") == 0) {
        /* libldap 2.5 with GnuTLS: its own certificate or host name check failed (both return
           -1, which gnutls_strerror() cannot name) */
        snprintf(why, whysz,
                 "%s: TLS refused: the server's certificate is not accepted (not from a CA in %s, "
                 "not for this host name, expired or not yet valid)",
                 stage, l->ca_file ? l->ca_file : SYSTEM_CA_FILE);
        err = SM_E_DIR_REFUSED;
    } else if (tls_stage && (contains_ci(diag, "certificate") || contains_ci(diag, "hostname"))) {
        snprintf(why, whysz, "%s: TLS refused: %s", stage, diag);
        err = SM_E_DIR_REFUSED;
    } else if (tls_stage && diag[0]) {
        snprintf(why, whysz, "%s: TLS handshake failed: %s", stage, diag);
        err = SM_E_DIR_DOWN;
    } else if (strcmp(stage, "connect") != 0 && bind_refusal(rc)) {
        snprintf(why, whysz, "%s refused: %s%s%s", stage, ldap_err2string(rc), diag[0] ? ": " : "",
                 diag);
        err = SM_E_DIR_REFUSED;
        *stop = rc == LDAP_INVALID_CREDENTIALS;
    } else {
        snprintf(why, whysz, "%s failed: %s%s%s", stage, ldap_err2string(rc), diag[0] ? ": " : "",
                 diag);
        err = SM_E_DIR_DOWN;
    }
out_unbind:
    ldap_unbind_ext_s(ld, NULL, NULL);
    return err;
}

void drop_conn(struct ldap_dir *l)
{
    if (l->ld)
        ldap_unbind_ext_s(l->ld, NULL, NULL);
    l->ld = NULL;
}

/* Append @s to the string in @buf, truncating at the buffer's end. */
static void append(char *buf, size_t size, const char *s)
{
    size_t len = strlen(buf);
    while (*s && len + 1 < size)
        buf[len++] = *s++;
    buf[len] = '\0';
}

/* Add "uri: why" to the reason of a connection pass ("; "-separated). */
static void reason_add(char *buf, size_t size, const char *uri, const char *why)
{
    if (buf[0])
        append(buf, size, "; ");
    append(buf, size, uri);
    append(buf, size, ": ");
    append(buf, size, why);
}

/* After a failed pass: calls fail fast with @err until the (doubling) backoff expires. */
void back_off(struct ldap_dir *l, int err, const char *reason)
{
    l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : BACKOFF_FIRST_MS;
    if (l->backoff_ms > BACKOFF_MAX_MS)
        l->backoff_ms = BACKOFF_MAX_MS;
    l->retry_at = su_ts_add_ms(su_mono_ts(), l->backoff_ms);
    l->down_err = err;
    l->first = 0; /* the next pass tries the servers in their configured order again */
    l->stalls = 0;
    copy_line(l->down_reason, sizeof(l->down_reason), reason);
}

/*
 * Make sure l->ld is a bound connection. *fresh tells whether it was made by this call. While
 * backing off after a failed pass, fail at once with the last error.
 */
int ensure_conn(struct ldap_dir *l, bool *fresh, struct sm_errinfo *reterr)
{
    char reason[sizeof(l->down_reason)] = "";
    bool refused = false;

    *fresh = false;
    if (l->ld)
        return 0;
    struct timespec now = su_mono_ts();
    if (l->backoff_ms && su_ts_diff_ms(l->retry_at, now) > 0) {
        errinfo_set(reterr, -1, "%s (next attempt in %lld ms)", l->down_reason,
                    (long long)su_ts_diff_ms(l->retry_at, now));
        return l->down_err;
    }
    for (size_t k = 0; k < l->n_uris; k++) {
        size_t i = (l->first + k) % l->n_uris;
        char why[sizeof(reason)] = "";
        LDAP *ld = NULL;
        bool stop = false;
        int rc = connect_uri(l, l->uris[i], &ld, &stop, why, sizeof(why));
        if (rc == 0) {
            l->ld = ld;
            l->uri_idx = i;
            l->backoff_ms = 0;
            *fresh = true;
            return 0;
        }
        if (rc == -ENOMEM || rc == -EINVAL) {
            errinfo_set(reterr, -1, "%s: %s", l->uris[i], why);
            return rc;
        }
        refused |= rc == SM_E_DIR_REFUSED;
        reason_add(reason, sizeof(reason), l->uris[i], why);
        if (stop)
            break;
    }
    back_off(l, refused ? SM_E_DIR_REFUSED : SM_E_DIR_DOWN, reason);
    errinfo_set(reterr, -1, "%s", reason);
    return l->down_err;
}

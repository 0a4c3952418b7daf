/*
 * lib/dir_ldap.c - the LDAP directory backend (OpenLDAP libldap 2.5). The only file that
 * includes <ldap.h>.
 *
 * One handle, one connection. A struct sm_dir from sm_dir_open_ldap() holds at most one LDAP
 * connection and must not be used by two threads at once: the daemon gives each worker its own
 * handle (measured: one connection per thread is faster than a shared one). The connection is
 * made lazily by the first call that needs it and kept; a call whose connection turns out to be
 * dead (the server closed it while idle) reconnects once and repeats the request.
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
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include <lber.h>
#include <ldap.h>
#include <sasl/sasl.h>

#include "dir_internal.h"

#define DEFAULT_CONNECT_MS 3000
#define DEFAULT_OP_MS      5000
#define DEFAULT_TLS_MS     5000
#define MAX_TIMEOUT_MS     600000 /* larger settings are clamped to 10 minutes */
#define BACKOFF_FIRST_MS   100
#define BACKOFF_MAX_MS     5000
#define MAX_URIS           16
#define MAX_DN_LEN         4096
/*
 * Entries per page. A lookup returns at most SM_MAX_ACCOUNTS + 1 entries, so pages only matter
 * for over-limit answers; a page smaller than the limit keeps the page loop exercised by the
 * size-limit test at the cost of two round trips in that rare case.
 */
#define DIR_PAGE_SIZE  8
#define MAX_PAGES      (SM_MAX_ACCOUNTS + 2)
#define SYSTEM_CA_FILE "/etc/ssl/certs/ca-certificates.crt"
#define NTAUTH_PREFIX  "CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,"
#define ACCOUNT_FILTER "(|(objectClass=user)(objectClass=computer))"

/* State shared between a connection attempt, libldap's connect callback and the watchdog. */
struct watchdog {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;                   /* socket of the current connection, -1 when none */
    bool running;             /* a connection attempt is in progress */
    bool armed;               /* TCP is up: the deadline runs */
    bool fired;               /* the watchdog shut the socket down */
    bool tcp_up;              /* the connect callback ran: TCP was established */
    struct timespec deadline; /* CLOCK_MONOTONIC */
    unsigned ms;              /* tls_timeout_ms */
};

struct ldap_dir {
    struct sm_dir hdr; /* first: dir.c sees a struct sm_dir */
    char **uris;
    size_t n_uris;
    char *bind_dn;
    char *password; /* wiped before it is freed */
    char *sasl_mech;
    char *ca_file;
    bool starttls;
    unsigned connect_ms, op_ms, tls_ms;

    LDAP *ld;       /* the connection (TLS and bind done), or NULL */
    size_t uri_idx; /* which URI ld talks to */
    size_t first;   /* URI a connection pass starts with: the one after a stalled server */
    size_t stalls;  /* operation timeouts in a row, one per URI at most before backing off */

    unsigned backoff_ms; /* 0: no failure since the last successful connect */
    struct timespec retry_at;
    int down_err; /* what calls return while backing off */
    char down_reason[sizeof(((struct sm_errinfo *)0)->text)];

    ldap_conncb conncb; /* must live as long as any LDAP* of this handle */
    struct watchdog wd;
};

static char *dir_attrs[] = DIR_ATTRS_INIT;
static char *no_attrs[] = { LDAP_NO_ATTRS, NULL };

/* ---- time ---- */

static struct timespec now_mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t;
}

static struct timespec ts_add_ms(struct timespec t, unsigned ms)
{
    t.tv_sec += ms / 1000;
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/* a - b in milliseconds */
static long long ts_diff_ms(struct timespec a, struct timespec b)
{
    return (long long)(a.tv_sec - b.tv_sec) * 1000 + (a.tv_nsec - b.tv_nsec) / 1000000L;
}

static struct timeval ms_to_tv(unsigned ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000 };
    return tv;
}

static unsigned timeout_or(unsigned ms, unsigned def)
{
    if (ms == 0)
        return def;
    return ms > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS : ms;
}

/* ---- small helpers ---- */

/* Copy @src into @dst as one line: control characters become spaces. */
static void copy_line(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < size; i++)
        dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? ' ' : src[i];
    dst[i] = '\0';
}

/* ASCII case-insensitive substring test. */
static bool contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return true;
    return false;
}

/* The server's (or libldap's) diagnostic message for the last operation, as one line. */
static void diag_of(LDAP *ld, char *buf, size_t size)
{
    char *msg = NULL;
    buf[0] = '\0';
    if (ld && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_OPT_SUCCESS && msg) {
        copy_line(buf, size, msg);
        ldap_memfree(msg);
    }
}

static int dup_opt(const char *s, char **ret)
{
    *ret = NULL;
    if (!s)
        return 0;
    *ret = strdup(s);
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
    w->deadline = ts_add_ms(now_mono(), w->ms);
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
        if (rc == ETIMEDOUT && w->running && w->armed && ts_diff_ms(now_mono(), w->deadline) >= 0) {
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
static int watchdog_init(struct ldap_dir *l)
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
static void watchdog_destroy(struct watchdog *w)
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

static void drop_conn(struct ldap_dir *l)
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
static void back_off(struct ldap_dir *l, int err, const char *reason)
{
    l->backoff_ms = l->backoff_ms ? l->backoff_ms * 2 : BACKOFF_FIRST_MS;
    if (l->backoff_ms > BACKOFF_MAX_MS)
        l->backoff_ms = BACKOFF_MAX_MS;
    l->retry_at = ts_add_ms(now_mono(), l->backoff_ms);
    l->down_err = err;
    l->first = 0; /* the next pass tries the servers in their configured order again */
    l->stalls = 0;
    copy_line(l->down_reason, sizeof(l->down_reason), reason);
}

/*
 * Make sure l->ld is a bound connection. *fresh tells whether it was made by this call. While
 * backing off after a failed pass, fail at once with the last error.
 */
static int ensure_conn(struct ldap_dir *l, bool *fresh, struct sm_errinfo *reterr)
{
    char reason[sizeof(l->down_reason)] = "";
    bool refused = false;

    *fresh = false;
    if (l->ld)
        return 0;
    struct timespec now = now_mono();
    if (l->backoff_ms && ts_diff_ms(l->retry_at, now) > 0) {
        errinfo_set(reterr, -1, "%s (next attempt in %lld ms)", l->down_reason,
                    ts_diff_ms(l->retry_at, now));
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

/* ---- searching ---- */

/* Hand one entry to dir.c: its DN, then every value (dir.c keeps those of DIR_ATTRS). */
static int add_entry(LDAP *ld, LDAPMessage *e, struct raw_entries *out)
{
    BerElement *ber = NULL;
    char *dn = ldap_get_dn(ld, e);
    if (!dn)
        return SM_E_DIR_DOWN;
    int rc = raw_entry_begin(out, dn, strlen(dn));
    ldap_memfree(dn);
    for (char *a = rc ? NULL : ldap_first_attribute(ld, e, &ber); a;
         a = ldap_next_attribute(ld, e, ber)) {
        /* the name may carry options ("userCertificate;binary"): raw_value() ignores them */
        struct berval **vals = ldap_get_values_len(ld, e, a);
        for (size_t i = 0; rc == 0 && vals && vals[i]; i++)
            rc = raw_value(out, a, vals[i]->bv_val, vals[i]->bv_len);
        ldap_value_free_len(vals);
        ldap_memfree(a);
        if (rc)
            break;
    }
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

/*
 * One search over the current connection; entries go to @out (NULL: read nothing). 0,
 * LDAP_NO_SUCH_OBJECT or LDAP_REFERRAL (the base is not on this server: the caller decides),
 * or an error. *lost is set when the connection turned out to be dead before anything was
 * read, so that the caller may reconnect and repeat.
 */
static int search_once(struct ldap_dir *l, const char *base, int scope, const char *filter,
                       char **attrs, bool paged, struct raw_entries *out, bool *lost,
                       struct sm_errinfo *reterr)
{
    LDAP *ld = l->ld;
    struct berval cookie = { 0, NULL };
    size_t total = 0;
    int err = 0;

    *lost = false;
    for (int page = 0; page < MAX_PAGES; page++) {
        LDAPControl *pctrl = NULL, *sctrls[2] = { NULL, NULL }, **rctrls = NULL;
        LDAPMessage *res = NULL;
        struct timeval tv = ms_to_tv(l->op_ms);
        char *diag = NULL;
        int code = LDAP_SUCCESS;

        if (paged) {
            int rc = ldap_create_page_control(ld, DIR_PAGE_SIZE, &cookie, 0, &pctrl);
            if (rc != LDAP_SUCCESS) {
                err = rc == LDAP_NO_MEMORY ? -ENOMEM : -EINVAL;
                goto out;
            }
            sctrls[0] = pctrl;
        }
        int rc = ldap_search_ext_s(ld, base, scope, filter, attrs, 0, paged ? sctrls : NULL, NULL,
                                   &tv, SM_MAX_ACCOUNTS + 1, &res);
        ldap_control_free(pctrl);
        if (rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_REFERRAL) {
            ldap_msgfree(res);
            err = rc;
            goto out;
        }
        if (rc != LDAP_SUCCESS) {
            char d[120];
            diag_of(ld, d, sizeof(d));
            ldap_msgfree(res);
            err = search_error(l, rc, d, lost, reterr);
            if (page > 0 || total > 0)
                *lost = false;
            goto out;
        }
        for (LDAPMessage *m = ldap_first_message(ld, res); m && err == 0;
             m = ldap_next_message(ld, m)) {
            switch (ldap_msgtype(m)) {
            case LDAP_RES_SEARCH_ENTRY:
                if (!out)
                    break;
                if (++total > SM_MAX_ACCOUNTS) {
                    errinfo_set(reterr, -1, "more than %d entries match", SM_MAX_ACCOUNTS);
                    err = SM_E_DIR_LIMIT;
                    break;
                }
                err = add_entry(ld, m, out);
                if (err == SM_E_DIR_LIMIT)
                    errinfo_set(reterr, -1, "more than %d entries match", SM_MAX_ACCOUNTS);
                else if (err == SM_E_DIR_DOWN)
                    errinfo_set(reterr, -1, "%s: malformed entry", l->uris[l->uri_idx]);
                break;
            case LDAP_RES_SEARCH_RESULT:
                if (ldap_parse_result(ld, m, &code, NULL, &diag, NULL, &rctrls, 0) != LDAP_SUCCESS)
                    code = LDAP_DECODING_ERROR;
                break;
            default: /* search references (referrals are off) and intermediate responses */ break;
            }
        }
        ldap_msgfree(res);
        if (err == 0 && code != LDAP_SUCCESS) {
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
            if (c && ldap_parse_pageresponse_control(ld, c, &estimate, &cookie) != LDAP_SUCCESS)
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
    return err;
}

/* search_once() on a connection, reconnecting once when an old connection was found dead. */
static int search(struct ldap_dir *l, const char *base, int scope, const char *filter, char **attrs,
                  bool paged, struct raw_entries *out, struct sm_errinfo *reterr)
{
    for (int attempt = 0;; attempt++) {
        bool fresh = false, lost = false;
        int rc = ensure_conn(l, &fresh, reterr);
        if (rc < 0)
            return rc;
        rc = search_once(l, base, scope, filter, attrs, paged, out, &lost, reterr);
        if (rc == 0)
            l->stalls = 0;
        /* repeat once on a kept connection found dead, and after each stalled server */
        if (!lost || (fresh && l->stalls == 0) || attempt >= (int)l->n_uris)
            return rc;
    }
}

/* ---- dir_ops ---- */

static int ldap_find_eq(struct sm_dir *d, const char *attr, const struct sm_blob *values, size_t n,
                        struct raw_entries *out, struct sm_errinfo *reterr)
{
    struct ldap_dir *l = (struct ldap_dir *)d;
    struct sbuf f;
    int rc = 0;

    if (!attr_name_ok(attr) || n > SM_MAX_ALTSEC || (n && !values) || !out)
        return -EINVAL;
    if (n == 0)
        return 0;
    sbuf_init(&f, NULL);
    sbuf_puts(&f, "(&" ACCOUNT_FILTER "(|");
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
        sbuf_printf(&f, "(%s=", attr);
        sbuf_put(&f, esc.bv_val, esc.bv_len);
        sbuf_putc(&f, ')');
        ber_memfree(esc.bv_val);
    }
    sbuf_puts(&f, "))");
    if (!sbuf_str(&f)) {
        rc = -ENOMEM;
        goto out;
    }
    rc = search(l, l->hdr.base, LDAP_SCOPE_SUBTREE, f.p, dir_attrs, true, out, reterr);
    if (rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_REFERRAL) {
        errinfo_set(reterr, -1, "search base %s does not exist on %s", l->hdr.base,
                    l->uris[l->uri_idx]);
        rc = SM_E_DIR_REFUSED;
    }
out:
    sbuf_release(&f);
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
                        struct sm_errinfo *reterr)
{
    struct ldap_dir *l = (struct ldap_dir *)d;

    if (!out)
        return -EINVAL;
    if (!dn_ok(dn)) {
        errinfo_set(reterr, -1, "not a distinguished name");
        return -EINVAL;
    }
    int rc = search(l, dn, LDAP_SCOPE_BASE, "(objectClass=*)", dir_attrs, false, out, reterr);
    if (rc == LDAP_NO_SUCH_OBJECT || rc == LDAP_REFERRAL)
        rc = 0; /* no such entry (or not in this server's naming contexts) */
    return rc;
}

static int ldap_ping(struct sm_dir *d, struct sm_errinfo *reterr)
{
    struct ldap_dir *l = (struct ldap_dir *)d;

    int rc =
        search(l, l->hdr.base, LDAP_SCOPE_BASE, "(objectClass=*)", no_attrs, false, NULL, reterr);
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
        free(l->uris[i]);
    free(l->uris);
    if (l->password)
        explicit_bzero(l->password, strlen(l->password));
    free(l->password);
    free(l->bind_dn);
    free(l->sasl_mech);
    free(l->ca_file);
    free(l->hdr.base);
    free(l->hdr.ntauth_dn);
    watchdog_destroy(&l->wd);
    free(l);
}

static const struct dir_ops ldap_ops = {
    .kind = "ldap",
    .find_eq = ldap_find_eq,
    .read_dn = ldap_read_dn,
    .ping = ldap_ping,
    .free = ldap_free,
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
    l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->hdr.ops = &ldap_ops;
    if (watchdog_init(l) < 0) {
        free(l);
        return -ENOMEM;
    }

    l->uris = calloc(cfg->n_uris, sizeof(*l->uris));
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
        l->hdr.ntauth_dn = strdup(cfg->ntauth_dn);
    } else {
        size_t len = strlen(NTAUTH_PREFIX) + strlen(cfg->base) + 1;
        l->hdr.ntauth_dn = malloc(len);
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
    *ret = &l->hdr;
    return 0;

out_nomem:
    ldap_free(&l->hdr);
    return -ENOMEM;
}

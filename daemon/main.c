/*
 * daemon/main.c - strongmapd: options, start-up order, the main loop over signal flags, and
 * the graceful shutdown.
 *
 * Start-up: parse argv -> log_init -> refuse root -> open the directory (LDIF parsed and
 * checked, LDAP handles set up; the bind password is read and wiped again) -> bind the
 * listening socket -> block the handled signals (worker threads inherit the mask) -> api_start
 * -> READY=1 -> wait.
 * SIGTERM / SIGINT: STOPPING=1 -> api_quiesce -> wait up to DRAIN_TIMEOUT_MS for requests in
 * progress -> api_stop -> close the directory -> exit 0. A second signal exits at once
 * (status 1).
 *
 * Exit status: 0 normal stop, 1 run-time failure, 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "dirpool.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "options.h"

#ifndef SM_VERSION
#define SM_VERSION "unknown"
#endif

#define DEFAULT_LISTEN   "127.0.0.1:8080"
#define DRAIN_TIMEOUT_MS 10000
#define DRAIN_POLL_MS    50
#define EXIT_USAGE       2

#define CACHE_SIZE_DEFAULT         10000
#define CACHE_SIZE_MAX             10000000
#define CACHE_TTL_DEFAULT          60
#define CACHE_NEGATIVE_TTL_DEFAULT 10
#define CACHE_TTL_MAX              86400

/*
 * Set by the handlers, read by the main loop. The handled signals are blocked in every thread
 * and only let through inside sigsuspend() (or taken with sigtimedwait()), so there is no race
 * between testing a flag and waiting.
 */
static volatile sig_atomic_t sig_stop; /* SIGTERM / SIGINT received (counted up to 2) */
static volatile sig_atomic_t sig_hup;
static sigset_t sig_handled; /* SIGTERM, SIGINT, SIGHUP */

struct options {
    const char *listen;
    unsigned threads;
    size_t max_body;
    bool verbose;
    bool allow_root;
    struct opt_dir dir;
    struct opt_profiles fleet;
    size_t cache_size;
    unsigned cache_ttl, cache_negative_ttl;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: strongmapd [options]\n"
            "Predicts whether a Windows domain controller strongly maps a client certificate\n"
            "(KB5014754), over HTTP.\n"
            "\n"
            "  -l, --listen ADDR:PORT  address to listen on: IPv4 \"127.0.0.1:8080\" or IPv6\n"
            "                          \"[::1]:8080\"; port 0 picks a free one (default %s)\n"
            "  -t, --threads N         worker threads, 1..%u (default: online CPUs)\n"
            "  -b, --max-body BYTES    request body limit, %u..%u; K and M suffixes allowed\n"
            "                          (default %u = 256K)\n"
            "      --allow-root        run even as root (not recommended)\n"
            "  -v, --verbose           debug logging\n"
            "  -V, --version           print the version and exit\n"
            "  -h, --help              print this help and exit\n"
            "\n"
            "Directory (for POST /v1/verdict, GET /v1/accounts/{name}, GET /readyz; without\n"
            "one those answer 503 and POST /v1/inspect still works):\n" OPT_DIR_USAGE
            "  --profile P             a DC profile of the fleet verdicts are made for, by\n"
            "                          default: windows-2016, windows-2019, windows-2022 (also\n"
            "                          windows-2025), samba; repeatable (default windows-2022)\n"
            "  --cache-size N          directory lookups cached, 0..%u, 0 = none (default %u)\n"
            "  --cache-ttl S           seconds a lookup is cached, 0..%u (default %u)\n"
            "  --cache-negative-ttl S  the same for lookups that found nothing (default %u)\n"
            "\n"
            "Logs go to stderr with syslog priority prefixes. SIGTERM or SIGINT stops after the\n"
            "requests in progress (at most %d s); a second signal stops at once.\n",
            DEFAULT_LISTEN, API_MAX_THREADS, API_MAX_BODY_MIN, API_MAX_BODY_MAX,
            API_MAX_BODY_DEFAULT, CACHE_SIZE_MAX, CACHE_SIZE_DEFAULT, CACHE_TTL_MAX,
            CACHE_TTL_DEFAULT, CACHE_NEGATIVE_TTL_DEFAULT, DRAIN_TIMEOUT_MS / 1000);
}

/* Strict unsigned decimal with an optional binary suffix (K, KiB, M, MiB). 0 or -EINVAL. */
static int parse_size(const char *s, bool suffixes, unsigned long long *ret)
{
    unsigned long long v, mult = 1;
    char *end;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno)
        return -EINVAL;
    if (*end && suffixes) {
        if (strcmp(end, "K") == 0 || strcmp(end, "k") == 0 || strcmp(end, "KiB") == 0)
            mult = 1024;
        else if (strcmp(end, "M") == 0 || strcmp(end, "m") == 0 || strcmp(end, "MiB") == 0)
            mult = 1024 * 1024;
        else
            return -EINVAL;
    } else if (*end) {
        return -EINVAL;
    }
    if (v > ~0ULL / mult)
        return -EINVAL;
    *ret = v * mult;
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

/* Parse argv into @opt; exits on --help, --version and usage errors. */
static void parse_args(int argc, char **argv, struct options *opt)
{
    enum {
        OPT_ALLOW_ROOT = 256,
        OPT_PROFILE,
        OPT_CACHE_SIZE,
        OPT_CACHE_TTL,
        OPT_CACHE_NEGATIVE_TTL,
    };
    static const struct option longopts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "threads", required_argument, NULL, 't' },
        { "max-body", required_argument, NULL, 'b' },
        { "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
        OPT_DIR_LONGOPTS,
        { "profile", required_argument, NULL, OPT_PROFILE },
        { "cache-size", required_argument, NULL, OPT_CACHE_SIZE },
        { "cache-ttl", required_argument, NULL, OPT_CACHE_TTL },
        { "cache-negative-ttl", required_argument, NULL, OPT_CACHE_NEGATIVE_TTL },
        { "verbose", no_argument, NULL, 'v' },
        { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    unsigned long long v;
    char err[OPT_ERR_MAX];
    int c;

    *opt = (struct options){
        .listen = DEFAULT_LISTEN,
        .threads = online_cpus(),
        .max_body = API_MAX_BODY_DEFAULT,
        .cache_size = CACHE_SIZE_DEFAULT,
        .cache_ttl = CACHE_TTL_DEFAULT,
        .cache_negative_ttl = CACHE_NEGATIVE_TTL_DEFAULT,
    };
    while ((c = getopt_long(argc, argv, "l:t:b:vVh", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': opt->listen = optarg; break;
        case 't':
            if (parse_size(optarg, false, &v) < 0 || v < 1 || v > API_MAX_THREADS) {
                fprintf(stderr, "strongmapd: --threads must be 1..%u\n", API_MAX_THREADS);
                goto out_usage;
            }
            opt->threads = (unsigned)v;
            break;
        case 'b':
            if (parse_size(optarg, true, &v) < 0 || v < API_MAX_BODY_MIN || v > API_MAX_BODY_MAX) {
                fprintf(stderr, "strongmapd: --max-body must be %u..%u bytes\n", API_MAX_BODY_MIN,
                        API_MAX_BODY_MAX);
                goto out_usage;
            }
            opt->max_body = (size_t)v;
            break;
        case OPT_ALLOW_ROOT: opt->allow_root = true; break;
        case OPT_DIR_LDIF:
        case OPT_DIR_LDAP_URI:
        case OPT_DIR_LDAP_BASE:
        case OPT_DIR_LDAP_BIND_DN:
        case OPT_DIR_LDAP_PASSWORD_FILE:
        case OPT_DIR_LDAP_CA_FILE:
        case OPT_DIR_LDAP_STARTTLS:
        case OPT_DIR_LDAP_SASL_MECH:
            if (opt_dir_set(&opt->dir, c, optarg, err, sizeof(err)) < 0)
                goto out_usage_err;
            break;
        case OPT_PROFILE:
            if (opt_profile_add(&opt->fleet, optarg, err, sizeof(err)) < 0)
                goto out_usage_err;
            break;
        case OPT_CACHE_SIZE:
            if (opt_parse_ull(optarg, CACHE_SIZE_MAX, &v) < 0) {
                fprintf(stderr, "strongmapd: --cache-size must be 0..%u\n", CACHE_SIZE_MAX);
                goto out_usage;
            }
            opt->cache_size = (size_t)v;
            break;
        case OPT_CACHE_TTL:
        case OPT_CACHE_NEGATIVE_TTL:
            if (opt_parse_ull(optarg, CACHE_TTL_MAX, &v) < 0) {
                fprintf(stderr, "strongmapd: --%s must be 0..%u seconds\n",
                        c == OPT_CACHE_TTL ? "cache-ttl" : "cache-negative-ttl", CACHE_TTL_MAX);
                goto out_usage;
            }
            if (c == OPT_CACHE_TTL)
                opt->cache_ttl = (unsigned)v;
            else
                opt->cache_negative_ttl = (unsigned)v;
            break;
        case 'v': opt->verbose = true; break;
        case 'V': printf("strongmapd %s\n", SM_VERSION); exit(0);
        case 'h': usage(stdout); exit(0);
        default: goto out_usage;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "strongmapd: unexpected argument '%s'\n", argv[optind]);
        goto out_usage;
    }
    if (opt_dir_check(&opt->dir, err, sizeof(err)) < 0)
        goto out_usage_err;
    return;

out_usage_err:
    fprintf(stderr, "strongmapd: %s\n", err);
out_usage:
    usage(stderr);
    exit(EXIT_USAGE);
}

static void on_signal(int signo)
{
    if (signo == SIGHUP)
        sig_hup = 1;
    else if (sig_stop < 2)
        sig_stop = sig_stop + 1;
}

/*
 * Ignore SIGPIPE, install flag-only handlers for SIGTERM, SIGINT and SIGHUP, and block those
 * three in this thread (threads started later inherit the block). *@ret_waitmask is the mask
 * to wait with: the old one, with the three unblocked.
 */
static void signals_init(sigset_t *ret_waitmask)
{
    static const int handled[] = { SIGTERM, SIGINT, SIGHUP };
    struct sigaction sa;

    sigemptyset(&sig_handled);
    for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
        sigaddset(&sig_handled, handled[i]);
    errno = pthread_sigmask(SIG_BLOCK, &sig_handled, ret_waitmask);
    if (errno)
        fatal("pthread_sigmask");
    for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
        sigdelset(ret_waitmask, handled[i]);

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPIPE, &sa, NULL) < 0)
        fatal("sigaction(SIGPIPE)");
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sa.sa_mask = sig_handled;
    for (size_t i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
        if (sigaction(handled[i], &sa, NULL) < 0)
            fatal("sigaction");
}

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wait for a handled signal, at most @ms milliseconds (@ms < 0: no limit). Either way the
 * signal's flag is set when this returns.
 */
static void wait_signal(const sigset_t *waitmask, int ms)
{
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };
    int signo;

    if (ms < 0) {
        (void)sigsuspend(waitmask); /* runs the handler */
        return;
    }
    signo = sigtimedwait(&sig_handled, NULL, &ts); /* takes the signal: no handler runs */
    if (signo > 0)
        on_signal(signo);
}

static void exit_now_if_insisted(void)
{
    if (sig_stop > 1) {
        log_warnx("second stop signal, exiting now without waiting for requests");
        _exit(1); /* worker threads are still running: no atexit handlers */
    }
}

/* Graceful stop: refuse new connections, let requests in progress finish, stop. */
static void shutdown_api(struct api *api, const sigset_t *waitmask)
{
    int64_t deadline = now_ms() + DRAIN_TIMEOUT_MS;
    unsigned busy, conns = 0;
    bool logged = false;
    int ret;

    ret = notify_send("STOPPING=1");
    if (ret < 0)
        log_warnx("cannot notify the service manager (NOTIFY_SOCKET): %s, ignoring",
                  strerror(-ret));
    api_quiesce(api);
    for (;;) {
        exit_now_if_insisted();
        busy = api_busy(api, &conns);
        /* Idle keep-alive connections hold no work: only requests in progress count. */
        if (busy == 0 || conns == 0)
            break;
        if (now_ms() >= deadline) {
            log_warnx("%u requests still in progress after %d s, closing them", busy,
                      DRAIN_TIMEOUT_MS / 1000);
            break;
        }
        if (!logged) {
            log_info("waiting for %u requests in progress (%u connections)", busy, conns);
            logged = true;
        }
        wait_signal(waitmask, DRAIN_POLL_MS);
    }
    api_stop(api);
}

/* One line naming the fleet: "windows-2022, samba". */
static void fleet_text(const struct opt_profiles *fleet, char *buf, size_t size)
{
    size_t len = 0;

    snprintf(buf, size, "windows-2022 (default)");
    for (size_t i = 0; i < fleet->n && len < size; i++) {
        int n = snprintf(buf + len, size - len, "%s%s", i ? ", " : "",
                         sm_profile_name(fleet->v[i].kind));
        if (n < 0)
            break;
        len += (size_t)n;
    }
}

/*
 * Open the directory of @opt, or return NULL when none is configured. The bind password is read
 * once, here, and wiped once the handles hold their copies. Exits on failure: 2 for LDAP
 * settings the backend refuses, 1 for an unreadable password file or LDIF export (with the
 * line of a syntax error).
 */
static struct dirpool *open_directory(const struct options *opt)
{
    const struct opt_dir *d = &opt->dir;
    struct sm_errinfo e = { .offset = -1, .text = "" };
    struct dirpool_config dc;
    struct dirpool *dir = NULL;
    char *password = NULL, err[OPT_ERR_MAX], fleet[128];
    int ret;

    if (!opt_dir_configured(d)) {
        log_info("no directory configured (--ldif or --ldap-uri): verdicts and account "
                 "statuses answer 503");
        return NULL;
    }
    if (d->password_file) {
        ret = opt_read_password(d->password_file, &password, err, sizeof(err));
        if (ret < 0)
            fatalx("--ldap-password-file: %s", err);
    }
    dc = (struct dirpool_config){
        .dir = d,
        .password = password,
        .handles = opt->threads,
        .cache_size = opt->cache_size,
        .cache_ttl_s = opt->cache_ttl,
        .cache_negative_ttl_s = opt->cache_negative_ttl,
    };
    ret = dirpool_open(&dc, &dir, &e);
    password = opt_password_free(password);
    if (ret < 0 && d->ldif)
        fatalx("cannot read the LDIF export %s: %s", d->ldif,
               e.text[0] ? e.text : sm_strerror(ret));
    if (ret == -EINVAL) {
        log_errx("LDAP settings refused: %s", e.text);
        exit(EXIT_USAGE);
    }
    if (ret < 0)
        fatalx("cannot set up the LDAP directory: %s", e.text[0] ? e.text : sm_strerror(ret));

    if (d->ldif)
        log_info("directory: LDIF export %s", d->ldif);
    else
        log_info("directory: LDAP %s%s%s, base %s, %s%s%s, %u connections at most", d->uris[0],
                 d->n_uris > 1 ? " and failover servers" : "", d->starttls ? " (StartTLS)" : "",
                 d->base,
                 d->bind_dn     ? "simple bind as "
                 : d->sasl_mech ? "SASL "
                                : "",
                 d->bind_dn     ? d->bind_dn
                 : d->sasl_mech ? d->sasl_mech
                                : "anonymous",
                 d->bind_dn || d->sasl_mech ? "" : " bind", opt->threads);
    if (opt->cache_size)
        log_info("lookup cache: %zu entries, %u s (not found: %u s)", opt->cache_size,
                 opt->cache_ttl, opt->cache_negative_ttl);
    else
        log_info("lookup cache: off");
    fleet_text(&opt->fleet, fleet, sizeof(fleet));
    log_info("default DC profiles: %s", fleet);
    return dir;
}

static void close_directory(struct dirpool *dir)
{
    struct sm_dir_cache_stats st;

    if (!dir)
        return;
    dirpool_cache_stats(dir, &st);
    log_debug("lookup cache: %" PRIu64 " hits, %" PRIu64 " misses, %" PRIu64 " insertions, %" PRIu64
              " evictions, %" PRIu64 " expirations, %zu entries",
              st.hits, st.misses, st.insertions, st.evictions, st.expirations, st.entries);
    dirpool_close(dir);
}

int main(int argc, char **argv)
{
    struct options opt;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct api_config cfg;
    struct api *api = NULL;
    struct dirpool *dir;
    sigset_t waitmask;
    char where[LISTEN_ADDR_TEXT_MAX], status[128];
    int fd, ret;

    parse_args(argc, argv, &opt);
    log_init(opt.verbose);

    if (geteuid() == 0 && !opt.allow_root)
        fatalx("refusing to run as root: start strongmapd as an unprivileged user "
               "(or pass --allow-root)");
    if (listen_parse(opt.listen, &addr, &addr_len) < 0) {
        fprintf(stderr, "strongmapd: bad --listen '%s': expected 127.0.0.1:8080 or [::1]:8080\n",
                opt.listen);
        usage(stderr);
        return EXIT_USAGE;
    }
    dir = open_directory(&opt);
    ret = listen_open(&addr, addr_len, &fd);
    if (ret < 0)
        fatalx("cannot listen on %s: %s", opt.listen, strerror(-ret));
    listen_format_fd(fd, where, sizeof(where));

    signals_init(&waitmask);
    cfg = (struct api_config){
        .listen_fd = fd,
        .threads = opt.threads,
        .max_body = opt.max_body,
        .dir = dir,
        .fleet = opt.fleet,
    };
    ret = api_start(&cfg, &api); /* takes fd */
    if (ret < 0)
        fatalx("cannot start the HTTP server on %s: %s", where, strerror(-ret));
    log_info("strongmapd %s listening on %s (%u threads, body limit %zu bytes)", SM_VERSION, where,
             opt.threads, opt.max_body);

    snprintf(status, sizeof(status), "READY=1\nSTATUS=Listening on %s", where);
    ret = notify_send(status);
    if (ret < 0)
        log_warnx("cannot notify the service manager (NOTIFY_SOCKET): %s, ignoring",
                  strerror(-ret));

    while (!sig_stop) {
        wait_signal(&waitmask, -1);
        if (sig_hup) {
            sig_hup = 0;
            log_info("SIGHUP: nothing to reload yet, ignoring");
        }
    }
    log_info("stop signal received, finishing requests in progress (at most %d s)",
             DRAIN_TIMEOUT_MS / 1000);
    shutdown_api(api, &waitmask);
    close_directory(dir);
    log_info("stopped");
    return 0;
}

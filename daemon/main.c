/*
 * daemon/main.c - strongmapd: arguments, the configuration, the start-up order, the main loop
 * over signal flags and the graceful shutdown. The runtime and the reload are reload.c's, the
 * files the configuration names files.c's (daemon_internal.h: what the three share).
 *
 * Start-up: parse argv -> read the configuration (strongmapd.conf, then the flags over it)
 * [-p: print it and exit; -n: check it and the files it names, "configuration OK", exit] ->
 * log level -> refuse root unless told to drop privileges (user=) or to stay (allow_root=) ->
 * take the listening sockets from the service manager (LISTEN_FDS) or bind them; no tokens on
 * one that is not loopback needs allow_unauthenticated= -> build the runtime: open the
 * directory (LDIF parsed and checked, LDAP handles set up; the bind password is read and wiped
 * again) -> read the TLS files -> drop privileges -> open the decision log (as the service
 * user) -> block the handled signals (worker threads inherit the mask) -> api_start() for each
 * socket, all with the one runtime -> READY=1 -> wait.
 *
 * SIGHUP: reload() (reload.c) reads the configuration again and makes its runtime the runtime
 * of every server, or keeps the running one. A runtime is freed when no server and no request
 * uses it any more.
 *
 * SIGTERM / SIGINT: STOPPING=1 -> api_quiesce -> wait up to DRAIN_TIMEOUT_MS for requests in
 * progress -> api_stop -> exit 0. A second signal exits at once (status 1).
 *
 * Exit status: 0 normal stop (or -n / -p success), 1 configuration or run-time failure,
 * 2 usage error (a bad flag).
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "config.h"
#include "daemon_internal.h"
#include "fileperm.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "privdrop.h"
#include "su_clock.h"

#ifndef SM_VERSION
#define SM_VERSION "unknown"
#endif

#define DRAIN_TIMEOUT_MS 10000
#define DRAIN_POLL_MS    50
#define EXIT_USAGE       2

_Static_assert(CFG_MAX_LISTEN + CFG_MAX_SELF_LISTEN <= MAX_SERVERS &&
                   LISTEN_INHERITED_MAX + CFG_MAX_SELF_LISTEN <= MAX_SERVERS,
               "a server for every socket");

/*
 * Set by the handlers, read by the main loop. The handled signals are blocked in every thread
 * and only let through inside sigsuspend() (or taken with sigtimedwait()), so there is no race
 * between testing a flag and waiting.
 */
static volatile sig_atomic_t sig_stop; /* SIGTERM / SIGINT received (counted up to 2) */
static volatile sig_atomic_t sig_hup;
static sigset_t sig_handled; /* SIGTERM, SIGINT, SIGHUP */

struct cfg *boot;
struct cfg *running;
struct api_runtime *current;
struct api *servers[MAX_SERVERS];
static struct api_audits *audits; /* the audit jobs of every server (POST /v1/audits) */
size_t n_servers;
bool loopback_only;
char page_open_addr[PAGE_OPEN_ADDR_MAX];
uid_t service_uid = FPERM_NO_UID;

/* ---- arguments ---------------------------------------------------------------------------- */

/* Short options that stand for directives. */
static const struct {
    char letter;
    enum cfg_id id;
} shorts[] = {
    { 'l', CFG_LISTEN },
    { 't', CFG_THREADS },
    { 'b', CFG_MAX_BODY },
    { 'u', CFG_USER },
};

/* @text from column @col (the cursor is one blank before it) to column @width, then a newline. */
static void print_wrapped(FILE *f, const char *text, int col, int width)
{
    int at = col;

    fputc(' ', f);
    while (*text) {
        int word = (int)strcspn(text, " ");

        if (at > col && at + 1 + word > width) {
            fprintf(f, "\n%*s", col, "");
            at = col;
        }
        fprintf(f, "%s%.*s", at > col ? " " : "", word, text);
        at += (at > col) + word;
        text += word;
        text += strspn(text, " ");
    }
    fputc('\n', f);
}

static void usage(FILE *f)
{
    const char *section = "";

    fprintf(f,
            "usage: strongmapd [-c FILE] [-n | -p] [-v] [--DIRECTIVE VALUE ...]\n"
            "                  [-o SECTION.KEY=VALUE ...]\n"
            "Predicts whether a Windows domain controller strongly maps a client certificate\n"
            "(KB5014754), over HTTP.\n"
            "\n"
            "  -c, --config FILE        configuration file (default %s when it\n"
            "                           exists, else built-in defaults): strongmapd.conf(5)\n"
            "  -n, --check              check the configuration and the files it names, print\n"
            "                           \"configuration OK\" and exit\n"
            "  -p, --print              print the effective configuration and exit\n"
            "  -o, --option S.KEY=VAL   set any directive, e.g. -o limits.rate=50\n"
            "  -v, --verbose            debug logging (log level = debug)\n"
            "  -V, --version            print the version and exit\n"
            "  -h, --help               print this help and exit\n"
            "\n"
            "Every directive is also a flag; flags win over the file (the first flag of a\n"
            "repeatable directive replaces the file's values):\n",
            CFG_DEFAULT_PATH);
    for (size_t i = 0; i < CFG__COUNT; i++) {
        const struct cfg_directive_info *d = cfg_directive((enum cfg_id)i);
        char left[64], letter[8] = "    ";

        if (strcmp(section, d->section) != 0) {
            section = d->section;
            fprintf(f, "  [%s]\n", section);
        }
        for (size_t k = 0; k < sizeof(shorts) / sizeof(shorts[0]); k++)
            if (shorts[k].id == (enum cfg_id)i)
                snprintf(letter, sizeof(letter), "-%c, ", shorts[k].letter);
        snprintf(left, sizeof(left), "%s--%s%s%s", letter, d->flag, d->arg ? " " : "",
                 d->arg ? d->arg : "");
        fprintf(f, "  %-31s", left);
        print_wrapped(f, d->help, 34, 96);
    }
    fprintf(f,
            "\n"
            "Logs go to stderr with syslog priority prefixes. SIGHUP reloads the\n"
            "configuration; SIGTERM or SIGINT stops after the requests in progress (at most\n"
            "%d s); a second signal stops at once. See strongmapd(8).\n",
            DRAIN_TIMEOUT_MS / 1000);
}

#define OPT_DIRECTIVE 0x1000 /* getopt value of directive i: OPT_DIRECTIVE + i */

static void parse_args(int argc, char **argv, struct args *a)
{
    static struct option longopts[CFG__COUNT + 8];
    static const struct option own[] = {
        { "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'n' },
        { "print", no_argument, NULL, 'p' },        { "option", required_argument, NULL, 'o' },
        { "verbose", no_argument, NULL, 'v' },      { "version", no_argument, NULL, 'V' },
        { "help", no_argument, NULL, 'h' },
    };
    size_t n = 0;
    int c;

    memset(a, 0, sizeof(*a));
    a->flags = calloc((size_t)argc + 1, sizeof(*a->flags));
    if (!a->flags)
        fatal("calloc");
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        longopts[n++] = own[i];
    for (size_t i = 0; i < CFG__COUNT; i++) {
        const struct cfg_directive_info *d = cfg_directive((enum cfg_id)i);
        longopts[n++] = (struct option){ d->flag, d->arg ? required_argument : no_argument, NULL,
                                         OPT_DIRECTIVE + (int)i };
    }
    longopts[n] = (struct option){ NULL, 0, NULL, 0 };

    while ((c = getopt_long(argc, argv, "c:npo:vVhl:t:b:u:", longopts, NULL)) != -1) {
        struct flag *f = &a->flags[a->n_flags];

        switch (c) {
        case 'c': a->config = optarg; break;
        case 'n': a->check = true; break;
        case 'p': a->print = true; break;
        case 'o':
            *f = (struct flag){ .id = FLAG_OPTION, .value = optarg };
            snprintf(f->as, sizeof(f->as), "-o");
            a->n_flags++;
            break;
        case 'v':
            *f = (struct flag){ .id = CFG_LOG_LEVEL, .value = "debug" };
            snprintf(f->as, sizeof(f->as), "-v");
            a->n_flags++;
            break;
        case 'V': printf("strongmapd %s\n", SM_VERSION); exit(0);
        case 'h': usage(stdout); exit(0);
        case '?': goto out_usage;
        default:
            if (c >= OPT_DIRECTIVE && c < OPT_DIRECTIVE + CFG__COUNT) {
                *f = (struct flag){ .id = c - OPT_DIRECTIVE, .value = optarg };
                snprintf(f->as, sizeof(f->as), "--%s", cfg_directive((enum cfg_id)f->id)->flag);
                a->n_flags++;
                break;
            }
            for (size_t k = 0; k < sizeof(shorts) / sizeof(shorts[0]); k++)
                if (c == shorts[k].letter) {
                    *f = (struct flag){ .id = (int)shorts[k].id, .value = optarg };
                    snprintf(f->as, sizeof(f->as), "-%c", c);
                    a->n_flags++;
                }
            break;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "strongmapd: unexpected argument '%s'\n", argv[optind]);
        goto out_usage;
    }
    if (a->check && a->print) {
        fprintf(stderr, "strongmapd: -n and -p exclude each other\n");
        goto out_usage;
    }
    return;

out_usage:
    usage(stderr);
    exit(EXIT_USAGE);
}

/* ---- configuration ------------------------------------------------------------------------ */

/* The file to read: -c, else the default when it exists; NULL: built-in defaults. */
const char *config_path(const struct args *a)
{
    struct stat st;

    if (a->config)
        return a->config;
    if (stat(CFG_DEFAULT_PATH, &st) == 0 || errno != ENOENT)
        return CFG_DEFAULT_PATH; /* unreadable: cfg_load_file() says why */
    return NULL;
}

/* Read and check the configuration of @a: the file, then the flags. */
int load_config(const struct args *a, struct cfg **ret, struct sm_errinfo *e)
{
    const char *path = config_path(a);
    struct cfg *c = cfg_new();
    int r = 0;

    if (!c) {
        snprintf(e->text, sizeof(e->text), "out of memory");
        e->origin = SM_ORIGIN_CONFIG;
        return -ENOMEM;
    }
    if (path && (r = cfg_load_file(c, path, e)) < 0)
        goto out;
    for (size_t i = 0; i < a->n_flags; i++) {
        const struct flag *f = &a->flags[i];
        r = f->id == FLAG_OPTION ? cfg_set_option(c, f->value, e)
                                 : cfg_set(c, (enum cfg_id)f->id, f->value, f->as, e);
        if (r < 0)
            goto out;
    }
    r = cfg_finish(c, e);
out:
    if (r < 0)
        return (cfg_free(c), r);
    *ret = c;
    return 0;
}

/* ---- signals ------------------------------------------------------------------------------ */

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

void notify(const char *state)
{
    int r = notify_send(state);

    if (r < 0)
        log_warnx("cannot notify the service manager (NOTIFY_SOCKET): %s, ignoring", strerror(-r));
}

/* Graceful stop: refuse new connections, let requests in progress finish, stop. */
static void shutdown_servers(const sigset_t *waitmask)
{
    int64_t deadline = su_mono_ms() + DRAIN_TIMEOUT_MS;
    bool logged = false;

    notify("STOPPING=1");
    for (size_t i = 0; i < n_servers; i++)
        api_quiesce(servers[i]);
    for (;;) {
        unsigned busy = 0, conns = 0;

        exit_now_if_insisted();
        for (size_t i = 0; i < n_servers; i++) {
            unsigned c = 0;
            busy += api_busy(servers[i], &c);
            conns += c;
        }
        /* Idle keep-alive connections hold no work: only requests in progress count. */
        if (busy == 0 || conns == 0)
            break;
        if (su_mono_ms() >= deadline) {
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
    for (size_t i = 0; i < n_servers; i++)
        servers[i] = api_stop(servers[i]);
}

/* ---- authentication and other security settings ------------------------------------------ */

/* 127.0.0.0/8, ::1 or ::ffff:127.0.0.0/104. */
static bool addr_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127;
    if (ss->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;

        return IN6_IS_ADDR_LOOPBACK(a) || (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

static bool is_loopback(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);

    return getsockname(fd, (struct sockaddr *)&ss, &len) == 0 && addr_loopback(&ss);
}

/*
 * Without any token every route answers anyone: fine on loopback only (the default), else
 * only when the configuration says so (allow_unauthenticated). @where names the first address
 * that is not a loopback one (NULL: all are). Returns 0, or -EPERM with the reason in @e.
 */
static int check_unauthenticated(const struct cfg *c, const char *where, struct sm_errinfo *e)
{
    if (c->n_tokens > 0 || !where || c->allow_unauthenticated)
        return 0;
    snprintf(e->text, sizeof(e->text),
             "listening on %s, not a loopback address, without any [auth] token: every route "
             "would answer anyone; add tokens, or set allow_unauthenticated = yes "
             "(--allow-unauthenticated) if that is meant",
             where);
    return -EPERM;
}

int check_lab_mode(const struct cfg *c, const char *where, struct sm_errinfo *e)
{
    if (!c->page_lab_mode || !c->page_enabled || !where || !where[0] ||
        c->route_scope[API_ROUTE_PAGE] != API_SCOPE_NONE)
        return 0;
    snprintf(e->text, sizeof(e->text),
             "[page] lab_mode answers any account name typed into the page with that account's "
             "details, and the page is open to anyone (scope.page = none) on %s, not a loopback "
             "address: require a token for the page (scope.page), listen on loopback only, or "
             "turn lab_mode off",
             where);
    return -EPERM;
}

/* ---- start-up ----------------------------------------------------------------------------- */

/* Exit for a configuration error: 2 with the usage for a bad flag, else 1. */
static void config_failed(const struct sm_errinfo *e, bool plain)
{
    if (e->origin == SM_ORIGIN_ARGUMENT) {
        fprintf(stderr, "strongmapd: %s\n", e->text);
        usage(stderr);
        exit(EXIT_USAGE);
    }
    if (plain) {
        fprintf(stderr, "strongmapd: %s\n", e->text);
        exit(1);
    }
    fatalx("%s", e->text);
}

/* -n: the files the configuration names can be read and parsed; exits. */
static void check_only(struct cfg *c)
{
    struct privdrop pd;
    struct tls_files tls;
    struct api_runtime *rt;
    struct sm_errinfo e = SM_ERRINFO_INIT;

    for (size_t i = 0; i < c->n_listen; i++) {
        struct sockaddr_storage ss;
        socklen_t len;

        if (listen_parse(c->listen[i], &ss, &len) == 0 && !addr_loopback(&ss) &&
            (check_unauthenticated(c, c->listen[i], &e) < 0 ||
             check_lab_mode(c, c->listen[i], &e) < 0))
            goto out_fail;
    }
    for (size_t i = 0; i < c->n_self_listen; i++) {
        struct sockaddr_storage ss;
        socklen_t len;

        if (listen_parse(c->self_listen[i], &ss, &len) == 0 && !addr_loopback(&ss) &&
            check_lab_mode(c, c->self_listen[i], &e) < 0)
            goto out_fail;
    }
    if (c->user) {
        struct sm_errinfo pe = SM_ERRINFO_INIT;

        if (privdrop_resolve(c->user, c->group, &pd, &pe) < 0) {
            cfg_fail(c, CFG_USER, &e, -EINVAL, "%s", pe.text);
            goto out_fail;
        }
        service_uid = pd.uid;
    }
    if (tls_files_read(c, &tls, &e) < 0)
        goto out_fail;
    tls_files_free(&tls);
    if (c->decision_log) {
        char *dirname = strdup(c->decision_log), *slash = dirname ? strrchr(dirname, '/') : NULL;
        struct stat st;

        if (slash)
            *(slash == dirname ? slash + 1 : slash) = '\0';
        if (dirname && slash && (stat(dirname, &st) < 0 || !S_ISDIR(st.st_mode))) {
            cfg_fail(c, CFG_DECISION_LOG, &e, -ENOENT, "the directory %s does not exist", dirname);
            free(dirname);
            goto out_fail;
        }
        free(dirname);
    }
    if (runtime_build(c, 1, &rt, &e) < 0) /* the directory and the anchors, as a start would */
        goto out_fail;
    api_runtime_unref(rt);
    char warning[512];
    if (write_scope_warning(c, warning, sizeof(warning)))
        fprintf(stderr, "strongmapd: warning: %s\n", warning);
    cfg_free(c);
    fprintf(stderr, "configuration OK\n");
    exit(0);

out_fail:
    fprintf(stderr, "strongmapd: %s\n", e.text);
    exit(1);
}

/* The listening sockets: from the service manager (*ret_shared true), else bound as listen=
 * says. */
static size_t open_sockets(const struct cfg *c, int *fds, bool *ret_shared)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int n = listen_inherited(fds, LISTEN_INHERITED_MAX, &e);

    if (n < 0)
        fatalx("socket activation: %s", e.text);
    *ret_shared = n > 0;
    if (n > 0) {
        log_info("socket activation: %d socket%s from the service manager (listen= is not used)", n,
                 n > 1 ? "s" : "");
        return (size_t)n;
    }
    for (size_t i = 0; i < c->n_listen; i++) {
        struct sockaddr_storage addr;
        socklen_t addr_len;
        int r;

        if (listen_parse(c->listen[i], &addr, &addr_len) < 0)
            fatalx("cannot listen on %s: not an address", c->listen[i]); /* checked before */
        if ((r = listen_open(&addr, addr_len, &fds[i])) < 0)
            fatalx("cannot listen on %s: %s", c->listen[i], strerror(-r));
    }
    return c->n_listen;
}

/* The sockets of [self] listen=, bound here also under socket activation, into @fds. */
static size_t open_self_sockets(const struct cfg *c, int *fds)
{
    for (size_t i = 0; i < c->n_self_listen; i++) {
        struct sockaddr_storage addr;
        socklen_t addr_len;
        int r;

        if (listen_parse(c->self_listen[i], &addr, &addr_len) < 0)
            fatalx("cannot listen on %s: not an address", c->self_listen[i]); /* checked */
        if ((r = listen_open(&addr, addr_len, &fds[i])) < 0)
            fatalx("cannot listen on %s: %s", c->self_listen[i], strerror(-r));
    }
    return c->n_self_listen;
}

int main(int argc, char **argv)
{
    static struct args a;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct tls_files tls;
    struct privdrop pd;
    sigset_t waitmask;
    int fds[MAX_SERVERS];
    size_t n_fds, n_main, len;
    char where[CFG_ERR_MAX / 2], status[512], addr[LISTEN_ADDR_TEXT_MAX];
    char *open_addr = NULL;
    bool drop = false, fds_shared = false;
    int r;

    log_init(false);
    /* Before any key or password is read: no core dump holds them, and no other process of
     * the same user may ptrace this one or read its /proc/<pid>/mem (root still can). */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        fatal("prctl(PR_SET_DUMPABLE)");
    parse_args(argc, argv, &a);
    if (load_config(&a, &boot, &e) < 0)
        config_failed(&e, a.check || a.print);
    if (a.print) {
        cfg_dump(boot, stdout);
        cfg_free(boot);
        free(a.flags);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (a.check) {
        free(a.flags);
        check_only(boot); /* exits */
    }
    log_set_level(boot->log_level);

    /* Root: only to drop privileges (user=), or when told to stay (allow_root=). */
    if (boot->user) {
        if (privdrop_resolve(boot->user, boot->group, &pd, &e) < 0)
            fatalx("%s: %s", cfg_where(boot, CFG_USER, where, sizeof(where)), e.text);
        service_uid = pd.uid;
        if (geteuid() == 0)
            drop = true;
        else if (geteuid() != pd.uid)
            fatalx("%s: cannot switch to user %s: not started as root",
                   cfg_where(boot, CFG_USER, where, sizeof(where)), boot->user);
    } else if (geteuid() == 0) {
        if (!boot->allow_root)
            fatalx("refusing to run as root: set user= (--user) to drop privileges once the "
                   "sockets and keys are open, or allow_root= (--allow-root)");
        log_warnx("running as root (allow_root): not recommended");
    }

    /* Everything that may need root: sockets, directory (password, LDIF), TLS files. */
    n_main = open_sockets(boot, fds, &fds_shared);
    /* the page's own listeners serve its routes only, open to people by design: they count
       neither for the loopback check nor for the warning about tokens */
    n_fds = n_main + open_self_sockets(boot, fds + n_main);
    loopback_only = true;
    for (size_t i = 0; i < n_main; i++) {
        if (is_loopback(fds[i]))
            continue;
        if (loopback_only)
            listen_format_fd(fds[i], addr, sizeof(addr));
        loopback_only = false;
    }
    if (check_unauthenticated(boot, loopback_only ? NULL : addr, &e) < 0)
        fatalx("%s", e.text);
    for (size_t i = 0; i < n_fds && !page_open_addr[0]; i++)
        if (!is_loopback(fds[i]))
            listen_format_fd(fds[i], page_open_addr, sizeof(page_open_addr));
    if (check_lab_mode(boot, page_open_addr, &e) < 0)
        fatalx("%s", e.text);
    running = boot;
    r = runtime_build(boot, boot->threads * (unsigned)n_fds, &current, &e);
    if (r == -EINVAL) { /* LDAP settings the backend refuses: a usage error when flags gave them */
        log_errx("%s", e.text);
        exit(e.origin == SM_ORIGIN_ARGUMENT ? EXIT_USAGE : 1);
    }
    if (r < 0)
        fatalx("%s", e.text);
    log_directory(boot, boot->threads * (unsigned)n_fds);
    if (tls_files_read(boot, &tls, &e) < 0)
        fatalx("%s", e.text);
    if (drop) {
        if (privdrop_apply(&pd, &e) < 0)
            fatalx("%s", e.text);
        log_info("running as user %s, group %s", pd.user, pd.group);
    }
    if (runtime_open_log(boot, current, &e) < 0)
        fatalx("%s", e.text);

    signals_init(&waitmask);
    /* one set of audit jobs for every listener, so that each sees every job */
    if (api_audits_new(&audits) < 0)
        fatalx("out of memory");
    len = (size_t)snprintf(status, sizeof(status), "READY=1\nSTATUS=Listening on ");
    for (size_t i = 0; i < n_fds; i++) {
        struct api_config cfg = {
            .listen_fd = fds[i],
            .listen_shared = fds_shared && i < n_main,
            .page_only = i >= n_main,
            .threads = boot->threads,
            .runtime = current,
            .tls_cert_pem = tls.cert,
            .tls_key_pem = tls.key,
            .tls_client_ca_pem = tls.client_ca,
            .tls_client_required = tls.client_ca && boot->tls_client_required,
            .tls_priorities = tls.cert ? boot->tls_priorities : NULL,
            .conn_limit = boot->connections,
            .per_ip_conn_limit = boot->connections_per_ip,
            .idle_timeout_s = boot->idle_timeout,
            .request_timeout_s = boot->request_timeout,
            .header_limit = (size_t)boot->max_header,
            .audits = audits,
        };

        listen_format_fd(fds[i], addr, sizeof(addr));
        if (!is_loopback(fds[i]) && !open_addr && i < n_main)
            open_addr = strdup(addr);
        r = api_start(&cfg, &servers[n_servers], &e); /* takes fds[i] */
        if (r < 0)
            fatalx("cannot start the HTTP server on %s: %s", addr,
                   e.text[0] ? e.text : strerror(-r));
        n_servers++;
        log_info("strongmapd %s listening on %s (%s%s%u threads, body limit %llu bytes)",
                 SM_VERSION, addr, i >= n_main ? "the status page only, " : "",
                 tls.cert ? "HTTPS, " : "", boot->threads, boot->max_body);
        if (len < sizeof(status))
            len +=
                (size_t)snprintf(status + len, sizeof(status) - len, "%s%s", i ? ", " : "", addr);
    }
    tls_files_free(&tls);                 /* api_start() copied them */
    if (open_addr && boot->n_tokens == 0) /* allow_unauthenticated, checked above */
        log_warnx("listening on %s, not a loopback address, without [auth] token "
                  "(allow_unauthenticated): anyone who reaches it can query the service",
                  open_addr);
    free(open_addr);
    notify(status);

    while (!sig_stop) {
        wait_signal(&waitmask, -1);
        if (sig_hup && !sig_stop) {
            sig_hup = 0;
            reload(&a);
        }
    }
    log_info("stop signal received, finishing requests in progress (at most %d s)",
             DRAIN_TIMEOUT_MS / 1000);
    shutdown_servers(&waitmask);
    audits = api_audits_free(audits); /* cancels what runs: no audit survives a restart */
    api_runtime_unref(current);       /* the servers released theirs in api_stop() */
    if (running != boot)
        cfg_free(running);
    cfg_free(boot);
    free(a.flags);
    log_info("stopped");
    return 0;
}

/*
 * daemon/main.c - strongmapd: arguments, the configuration, the start-up order, the main loop
 * over signal flags, the reload and the graceful shutdown.
 *
 * Start-up: parse argv -> read the configuration (strongmapd.conf, then the flags over it)
 * [-p: print it and exit; -n: check it and the files it names, "configuration OK", exit] ->
 * log level -> refuse root unless told to drop privileges (user=) or to stay (allow_root=) ->
 * take the listening sockets from the service manager (LISTEN_FDS) or bind them; no tokens on
 * one that is not loopback needs allow_unauthenticated= -> open the
 * directory (LDIF parsed and checked, LDAP handles set up; the bind password is read and wiped
 * again) -> read the TLS files -> drop privileges -> block the handled signals (worker threads
 * inherit the mask) -> api_start() for each socket -> READY=1 -> wait.
 *
 * SIGHUP: RELOADING=1 -> read the configuration again (same file, same flags), refuse it when
 * it lowers the security level (check_reload()) -> open its directory into a new snapshot ->
 * api_reconfigure() every server with it -> warn about each setting it loosens -> READY=1. Any
 * error or refusal keeps the running snapshot (logged at warning); a changed restart-only
 * directive is logged and ignored. A snapshot (configuration + directory) is freed when no server
 * and no request uses it any more (the runtime's release callback).
 *
 * SIGTERM / SIGINT: STOPPING=1 -> api_quiesce -> wait up to DRAIN_TIMEOUT_MS for requests in
 * progress -> api_stop -> exit 0. A second signal exits at once (status 1).
 *
 * Exit status: 0 normal stop (or -n / -p success), 1 configuration or run-time failure,
 * 2 usage error (a bad flag).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
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
#include "dirpool.h"
#include "fileperm.h"
#include "listen.h"
#include "log.h"
#include "notify.h"
#include "options.h"
#include "privdrop.h"

#ifndef SM_VERSION
#define SM_VERSION "unknown"
#endif

#define DRAIN_TIMEOUT_MS 10000
#define DRAIN_POLL_MS    50
#define EXIT_USAGE       2
#define MAX_SERVERS      16 /* one per listening socket */

_Static_assert(CFG_MAX_LISTEN <= MAX_SERVERS && LISTEN_INHERITED_MAX <= MAX_SERVERS,
               "a server for every socket");

/*
 * Set by the handlers, read by the main loop. The handled signals are blocked in every thread
 * and only let through inside sigsuspend() (or taken with sigtimedwait()), so there is no race
 * between testing a flag and waiting.
 */
static volatile sig_atomic_t sig_stop; /* SIGTERM / SIGINT received (counted up to 2) */
static volatile sig_atomic_t sig_hup;
static sigset_t sig_handled; /* SIGTERM, SIGINT, SIGHUP */

/* A directive given on the command line, applied over the file at start and at each reload. */
struct flag {
    int id;            /* enum cfg_id, or FLAG_OPTION for -o */
    const char *value; /* borrowed from argv; NULL for a flag without argument */
    char as[48];       /* how messages name it: "--threads", "-t" */
};

#define FLAG_OPTION (-1)

struct args {
    const char *config; /* -c; NULL: CFG_DEFAULT_PATH when it exists */
    bool check, print;
    struct flag *flags;
    size_t n_flags;
};

/*
 * A configuration in force and the directory opened from it. Each server's runtime holds a
 * reference (released by api/ when no request uses it any more), and the main thread holds one
 * on the current snapshot.
 */
struct snapshot {
    struct cfg *cfg;
    bool owns_cfg; /* false for the first: its cfg is `boot`, freed at exit */
    struct dirpool *dir;
    struct sm_certs *samba_anchors; /* samba_pkinit_anchors, parsed; NULL: not configured */
    atomic_uint refs;
};

static struct cfg *boot;         /* the configuration started with: restart-only settings */
static struct snapshot *current; /* the configuration in force */
static struct api *servers[MAX_SERVERS];
static size_t n_servers;
static bool loopback_only;               /* every listening socket is on a loopback address */
static uid_t service_uid = FPERM_NO_UID; /* user=, resolved: may own the files named */

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
static const char *config_path(const struct args *a)
{
    struct stat st;

    if (a->config)
        return a->config;
    if (stat(CFG_DEFAULT_PATH, &st) == 0 || errno != ENOENT)
        return CFG_DEFAULT_PATH; /* unreadable: cfg_load_file() says why */
    return NULL;
}

/* Read and check the configuration of @a: the file, then the flags. */
static int load_config(const struct args *a, struct cfg **ret, struct cfg_error *e)
{
    const char *path = config_path(a);
    struct cfg *c = cfg_new();
    int r = 0;

    if (!c) {
        snprintf(e->text, sizeof(e->text), "out of memory");
        e->origin = CFG_ORIGIN_DEFAULT;
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

/* ---- files named by the configuration ----------------------------------------------------- */

/*
 * Owner and mode of the file at @path (status @st) for what it holds (fileperm.h): a warning is
 * logged, a refusal returned (-EPERM, "@where: why" in @err).
 */
static int perm_check(const struct stat *st, const char *path, enum fperm_kind kind,
                      const char *where, char *err, size_t size)
{
    char msg[512];
    int r = fperm_check(st, path, kind, service_uid, msg, sizeof(msg));

    if (r == FPERM_WARN)
        log_warnx("%s: %s", where, msg);
    else if (r < 0)
        snprintf(err, size, "%s: %s", where, msg);
    return r < 0 ? r : 0;
}

/* The same by path, for files a library opens itself; a missing file is left to it. */
static int perm_check_path(const struct cfg *c, enum cfg_id id, const char *path,
                           enum fperm_kind kind, char *err, size_t size)
{
    char where[CFG_ERR_MAX / 2];
    struct stat st;

    if (stat(path, &st) < 0)
        return 0;
    return perm_check(&st, path, kind, cfg_where(c, id, where, sizeof(where)), err, size);
}

/* opt_read_password()'s check of the bind password file. */
static int password_check(const struct stat *st, const char *path, void *arg, char *err,
                          size_t size)
{
    (void)arg;
    return fperm_check(st, path, FPERM_SECRET, service_uid, err, size) < 0 ? -EPERM : 0;
}

/*
 * The files @c names that libraries open themselves: the LDIF export, the LDAP CA bundle, the
 * Kerberos keytab (KRB5_CLIENT_KTNAME, with GSSAPI) and the decision log (when it exists).
 */
static int check_named_files(const struct cfg *c, char *err, size_t size)
{
    const char *kt = getenv("KRB5_CLIENT_KTNAME");
    int r = 0;

    if (c->ldif)
        r = perm_check_path(c, CFG_LDIF, c->ldif, FPERM_DATA, err, size);
    if (r == 0 && c->ldap_ca_file)
        r = perm_check_path(c, CFG_LDAP_CA_FILE, c->ldap_ca_file, FPERM_DATA, err, size);
    if (r == 0 && c->ldap_sasl_mech && kt) {
        if (strncmp(kt, "FILE:", 5) == 0)
            kt += 5;
        if (kt[0] == '/')
            r = perm_check_path(c, CFG_LDAP_SASL_MECH, kt, FPERM_SECRET, err, size);
    }
    if (r == 0 && c->decision_log)
        r = perm_check_path(c, CFG_DECISION_LOG, c->decision_log, FPERM_DATA, err, size);
    return r;
}

struct tls_files {
    char *cert, *key, *client_ca; /* NUL-terminated PEM, or NULL */
    size_t key_size;
};

static void tls_files_free(struct tls_files *t)
{
    if (t->key) {
        explicit_bzero(t->key, t->key_size);
        free(t->key);
    }
    free(t->cert);
    free(t->client_ca);
    memset(t, 0, sizeof(*t));
}

/*
 * Read the PEM file of directive @id into *@ret (NUL-terminated; *@ret_size: bytes allocated).
 * @label: what it must hold ("CERTIFICATE", "PRIVATE KEY").
 */
static int read_pem(const struct cfg *c, enum cfg_id id, const char *path, const char *label,
                    char **ret, size_t *ret_size, char *err, size_t size)
{
    char where[CFG_ERR_MAX], begin[64], *buf = NULL;
    struct stat st;
    size_t len = 0, cap = 0;
    int fd, r;

    cfg_where(c, id, where, sizeof(where));
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r = -errno;
        snprintf(err, size, "%s: cannot read %s: %s", where, path, strerror(-r));
        return r;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)API_TLS_PEM_MAX) {
        snprintf(err, size, "%s: %s is not a regular file of at most %u bytes", where, path,
                 API_TLS_PEM_MAX);
        r = -EINVAL;
        goto out;
    }
    if ((r = perm_check(&st, path, id == CFG_TLS_KEY ? FPERM_SECRET : FPERM_DATA, where, err,
                        size)) < 0)
        goto out;
    cap = (size_t)st.st_size + 1;
    buf = calloc(1, cap);
    if (!buf) {
        r = -ENOMEM;
        snprintf(err, size, "%s: out of memory", where);
        goto out;
    }
    while (len < cap - 1) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            snprintf(err, size, "%s: cannot read %s: %s", where, path, strerror(-r));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
    if (strstr(buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
        snprintf(err, size, "%s: %s holds an encrypted key: give it unencrypted (mode 0600)", where,
                 path);
        r = -EINVAL;
        goto out;
    }
    if (!strstr(buf, begin) &&
        !(strcmp(label, "PRIVATE KEY") == 0 && strstr(buf, " PRIVATE KEY-----"))) {
        snprintf(err, size, "%s: %s holds no PEM %s", where, path, label);
        r = -EINVAL;
        goto out;
    }
    *ret = buf;
    *ret_size = cap;
    buf = NULL;
    r = 0;
out:
    if (buf) {
        explicit_bzero(buf, cap);
        free(buf);
    }
    close(fd);
    return r;
}

static int tls_files_read(const struct cfg *c, struct tls_files *t, char *err, size_t size)
{
    size_t ignored;
    int r = 0;

    memset(t, 0, sizeof(*t));
    if (!c->tls_cert)
        return 0;
    r = read_pem(c, CFG_TLS_CERT, c->tls_cert, "CERTIFICATE", &t->cert, &ignored, err, size);
    if (r == 0)
        r = read_pem(c, CFG_TLS_KEY, c->tls_key, "PRIVATE KEY", &t->key, &t->key_size, err, size);
    if (r == 0 && c->tls_client_ca)
        r = read_pem(c, CFG_TLS_CLIENT_CA, c->tls_client_ca, "CERTIFICATE", &t->client_ca, &ignored,
                     err, size);
    if (r < 0)
        tls_files_free(t);
    return r;
}

/* ---- snapshots: a configuration and its directory ----------------------------------------- */

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

static void log_directory(const struct cfg *c, unsigned handles)
{
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
    fleet_text(&c->fleet, fleet, sizeof(fleet));
    log_info("default DC profiles: %s", fleet);
}

/*
 * Open the directory @c names (*@ret NULL when none): the bind password is read once, here, and
 * wiped once the handles hold their copies. On failure @err names the directive; -EINVAL means
 * LDAP settings the backend refuses, other codes an unreadable or unparsable file (-EIO) or
 * no memory.
 */
/* The certificates samba_pkinit_anchors names, parsed into *@ret (NULL when not set). */
static int load_samba_anchors(const struct cfg *c, struct sm_certs **ret, char *err, size_t size)
{
    struct sm_errinfo e = { .offset = -1, .text = "" };
    char where[CFG_ERR_MAX / 2], *buf = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int r;

    *ret = NULL;
    if (!c->samba_anchors)
        return 0;
    cfg_where(c, CFG_SAMBA_ANCHORS, where, sizeof(where));
    if ((r = perm_check_path(c, CFG_SAMBA_ANCHORS, c->samba_anchors, FPERM_DATA, err, size)) < 0)
        return r;
    if (!(f = fopen(c->samba_anchors, "rb")) || !(buf = malloc(SM_MAX_INPUT + 1))) {
        r = f ? -ENOMEM : -errno;
        snprintf(err, size, "%s: %s: %s", where, c->samba_anchors, strerror(-r));
        goto out;
    }
    len = fread(buf, 1, SM_MAX_INPUT + 1, f);
    if (ferror(f) || len > SM_MAX_INPUT) {
        r = -EIO;
        snprintf(err, size, "%s: %s: %s", where, c->samba_anchors,
                 len > SM_MAX_INPUT ? "larger than 1 MiB" : "read error");
        goto out;
    }
    if ((r = sm_certs_parse(buf, len, NULL, ret, &e)) < 0) {
        snprintf(err, size, "%s: %s: %s", where, c->samba_anchors, e.text);
        r = -EIO;
        goto out;
    }
    if ((*ret)->n_errors) {
        snprintf(err, size, "%s: %s: a certificate does not parse: %s", where, c->samba_anchors,
                 (*ret)->errors[0].message);
        *ret = sm_certs_free(*ret);
        r = -EIO;
    }
out:
    free(buf);
    if (f)
        fclose(f);
    return r;
}

static int open_directory(const struct cfg *c, unsigned handles, struct dirpool **ret, char *err,
                          size_t size)
{
    struct sm_errinfo e = { .offset = -1, .text = "" };
    struct dirpool_config dc;
    struct opt_dir d;
    char *password = NULL, perr[OPT_ERR_MAX], where[CFG_ERR_MAX / 2];
    int r;

    cfg_dir(c, &d);
    *ret = NULL;
    if ((r = check_named_files(c, err, size)) < 0)
        return r;
    if (!opt_dir_configured(&d))
        return 0;
    if (d.password_file) {
        r = opt_read_password(d.password_file, password_check, NULL, &password, perr, sizeof(perr));
        if (r < 0) {
            snprintf(err, size, "%s: %s",
                     cfg_where(c, CFG_LDAP_PASSWORD_FILE, where, sizeof(where)), perr);
            return r == -EINVAL ? -EIO : r; /* a file's content, not a setting */
        }
    }
    dc = (struct dirpool_config){
        .dir = &d,
        .password = password,
        .handles = handles,
        .cache_size = (size_t)c->cache_size,
        .cache_ttl_s = (unsigned)c->cache_ttl,
        .cache_negative_ttl_s = (unsigned)c->cache_negative_ttl,
    };
    r = dirpool_open(&dc, ret, &e);
    password = opt_password_free(password);
    if (r < 0 && d.ldif) {
        snprintf(err, size, "%s: cannot read the LDIF export %s: %s",
                 cfg_where(c, CFG_LDIF, where, sizeof(where)), d.ldif,
                 e.text[0] ? e.text : sm_strerror(r));
        return r == -EINVAL ? -EIO : r;
    }
    if (r == -EINVAL)
        snprintf(err, size, "LDAP settings refused (%s): %s",
                 cfg_where(c, CFG_LDAP_URI, where, sizeof(where)), e.text);
    else if (r < 0)
        snprintf(err, size, "cannot set up the LDAP directory: %s",
                 e.text[0] ? e.text : sm_strerror(r));
    return r;
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

static void snapshot_unref(struct snapshot *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    close_directory(s->dir);
    sm_certs_free(s->samba_anchors);
    if (s->owns_cfg)
        cfg_free(s->cfg);
    free(s);
}

/* api/ calls this when a runtime built from the snapshot is no longer used (any thread). */
static void snapshot_release(void *arg)
{
    snapshot_unref(arg);
}

/* A snapshot of @c (taken: freed with the snapshot when @owns) with its directory opened. */
static int snapshot_new(struct cfg *c, bool owns, unsigned handles, struct snapshot **ret,
                        char *err, size_t size)
{
    struct snapshot *s = calloc(1, sizeof(*s));
    int r;

    if (!s) {
        snprintf(err, size, "out of memory");
        return -ENOMEM;
    }
    if ((r = open_directory(c, handles, &s->dir, err, size)) < 0) {
        free(s);
        return r;
    }
    if ((r = load_samba_anchors(c, &s->samba_anchors, err, size)) < 0) {
        close_directory(s->dir);
        free(s);
        return r;
    }
    s->cfg = c;
    s->owns_cfg = owns;
    atomic_init(&s->refs, 1); /* the caller's */
    *ret = s;
    return 0;
}

/* The runtime settings of @s for api/ (pointers into @s; api/ copies what it keeps). */
static void runtime_of(struct snapshot *s, struct api_runtime *rt)
{
    const struct cfg *c = s->cfg;

    api_runtime_init(rt);
    rt->tokens = c->tokens;
    rt->n_tokens = c->n_tokens;
    memcpy(rt->route_scope, c->route_scope, sizeof(rt->route_scope));
    rt->account_data_scope = c->account_data_scope;
    rt->rate_per_s = c->rate;
    rt->rate_burst = c->burst;
    rt->max_body = (size_t)c->max_body;
    rt->max_certs = c->max_certs;
    rt->dir = s->dir;
    rt->fleet = c->fleet;
    rt->samba_anchors = s->samba_anchors;
    rt->decision_log = c->decision_log;
    rt->log_level = c->log_level;
    rt->health_details = c->health_details;
    rt->release = snapshot_release;
    rt->release_arg = s;
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

static void notify(const char *state)
{
    int r = notify_send(state);

    if (r < 0)
        log_warnx("cannot notify the service manager (NOTIFY_SOCKET): %s, ignoring", strerror(-r));
}

/* Graceful stop: refuse new connections, let requests in progress finish, stop. */
static void shutdown_servers(const sigset_t *waitmask)
{
    int64_t deadline = now_ms() + DRAIN_TIMEOUT_MS;
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
 * that is not a loopback one (NULL: all are). Returns 0, or -EPERM with the reason in @err.
 */
static int check_unauthenticated(const struct cfg *c, const char *where, char *err, size_t size)
{
    if (c->n_tokens > 0 || !where || c->allow_unauthenticated)
        return 0;
    snprintf(err, size,
             "listening on %s, not a loopback address, without any [auth] token: every route "
             "would answer anyone; add tokens, or set allow_unauthenticated = yes "
             "(--allow-unauthenticated) if that is meant",
             where);
    return -EPERM;
}

/*
 * Does @next lower the security level of the running configuration in a way a reload must not
 * do silently? Every token dropped (unless @next says allow_unauthenticated = yes); HTTPS,
 * client certificates or their requirement dropped (restart-only settings: a reload would
 * not apply it, the next start would). Returns 0, or -EPERM with the reason in @err.
 */
static int check_reload(const struct cfg *prev, const struct cfg *next, char *err, size_t size)
{
    if (next->n_tokens == 0 && !next->allow_unauthenticated &&
        (prev->n_tokens > 0 || !loopback_only)) {
        snprintf(err, size,
                 "the new configuration has no [auth] token: every route would answer without "
                 "authentication (set allow_unauthenticated = yes if that is meant)");
        return -EPERM;
    }
    if (boot->tls_cert && !next->tls_cert) {
        snprintf(err, size,
                 "the new configuration has no [tls] cert and key: it would serve plain HTTP "
                 "(HTTPS changes only at a restart)");
        return -EPERM;
    }
    if (boot->tls_client_ca && !next->tls_client_ca) {
        snprintf(err, size,
                 "the new configuration has no [tls] client_ca: client certificates would no "
                 "longer be checked (that changes only at a restart)");
        return -EPERM;
    }
    if (boot->tls_client_ca && boot->tls_client_required && !next->tls_client_required) {
        snprintf(err, size,
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

/*
 * Make @next the runtime of every server. On a failure the servers already switched go back to
 * @prev, so that all serve the same settings. Returns 0 or the failure's code.
 */
static int install(struct snapshot *next, struct snapshot *prev, char *err, size_t size)
{
    struct api_runtime rt, old;
    size_t i;
    int r = 0;

    runtime_of(next, &rt);
    for (i = 0; i < n_servers; i++) {
        atomic_fetch_add(&next->refs, 1);
        if ((r = api_reconfigure(servers[i], &rt)) < 0) {
            atomic_fetch_sub(&next->refs, 1);
            snprintf(err, size, "the HTTP server refused the new settings: %s", strerror(-r));
            break;
        }
    }
    if (r == 0)
        return 0;
    runtime_of(prev, &old);
    while (i-- > 0) {
        atomic_fetch_add(&prev->refs, 1);
        if (api_reconfigure(servers[i], &old) < 0) {
            atomic_fetch_sub(&prev->refs, 1);
            log_errx("reload: server %zu keeps the new settings: it refused to go back", i);
        }
    }
    return r;
}

static void reload(const struct args *a)
{
    struct cfg_error e = { .text = "", .origin = 0 };
    struct snapshot *next = NULL;
    struct timespec ts;
    struct cfg *c = NULL;
    char state[128], where[CFG_ERR_MAX], err[CFG_ERR_MAX + 64];
    const char *path = config_path(a);
    unsigned changed = 0;
    int r;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    snprintf(state, sizeof(state), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    notify(state);
    log_info("SIGHUP: reloading the configuration (%s)", path ? path : "built-in defaults");

    if (load_config(a, &c, &e) < 0) {
        log_warnx("reload failed, keeping the running configuration: %s", e.text);
        goto out;
    }
    if (check_reload(current->cfg, c, err, sizeof(err)) < 0) {
        log_warnx("reload failed, keeping the running configuration: %s", err);
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
    r = snapshot_new(c, true, boot->threads * (unsigned)n_servers, &next, err, sizeof(err));
    if (r < 0) {
        log_warnx("reload failed, keeping the running configuration: %s", err);
        cfg_free(c);
        goto out;
    }
    if (install(next, current, err, sizeof(err)) < 0) {
        log_warnx("reload failed, keeping the running configuration: %s", err);
        snapshot_unref(next);
        goto out;
    }
    log_loosened(current->cfg, c);
    snapshot_unref(current);
    current = next;
    log_set_level(c->log_level);
    log_directory(c, boot->threads * (unsigned)n_servers);
    log_info("configuration reloaded: %zu tokens%s", c->n_tokens,
             changed ? "; restart for the other changes" : "");
out:
    notify("READY=1\nSTATUS=Serving");
}

/* ---- start-up ----------------------------------------------------------------------------- */

/* Exit for a configuration error: 2 with the usage for a bad flag, else 1. */
static void config_failed(const struct cfg_error *e, bool plain)
{
    if (e->origin == CFG_ORIGIN_CMDLINE) {
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
    struct dirpool *dir = NULL;
    char err[CFG_ERR_MAX + 128], where[CFG_ERR_MAX / 2];

    for (size_t i = 0; i < c->n_listen; i++) {
        struct sockaddr_storage ss;
        socklen_t len;

        if (listen_parse(c->listen[i], &ss, &len) == 0 && !addr_loopback(&ss) &&
            check_unauthenticated(c, c->listen[i], err, sizeof(err)) < 0)
            goto out_fail;
    }
    if (c->user) {
        char why[256];

        if (privdrop_resolve(c->user, c->group, &pd, why, sizeof(why)) < 0) {
            snprintf(err, sizeof(err), "%s: %s", cfg_where(c, CFG_USER, where, sizeof(where)), why);
            goto out_fail;
        }
        service_uid = pd.uid;
    }
    if (tls_files_read(c, &tls, err, sizeof(err)) < 0)
        goto out_fail;
    tls_files_free(&tls);
    if (c->decision_log) {
        char *dirname = strdup(c->decision_log), *slash = dirname ? strrchr(dirname, '/') : NULL;
        struct stat st;

        if (slash)
            *(slash == dirname ? slash + 1 : slash) = '\0';
        if (dirname && slash && (stat(dirname, &st) < 0 || !S_ISDIR(st.st_mode))) {
            snprintf(err, sizeof(err), "%s: the directory %s does not exist",
                     cfg_where(c, CFG_DECISION_LOG, where, sizeof(where)), dirname);
            free(dirname);
            goto out_fail;
        }
        free(dirname);
    }
    if (open_directory(c, 1, &dir, err, sizeof(err)) < 0)
        goto out_fail;
    dirpool_close(dir);
    struct sm_certs *anchors = NULL;
    if (load_samba_anchors(c, &anchors, err, sizeof(err)) < 0)
        goto out_fail;
    sm_certs_free(anchors);
    cfg_free(c);
    fprintf(stderr, "configuration OK\n");
    exit(0);

out_fail:
    fprintf(stderr, "strongmapd: %s\n", err);
    exit(1);
}

/* The listening sockets: from the service manager, else bound as listen= says. */
static size_t open_sockets(const struct cfg *c, int *fds)
{
    char err[256];
    int n = listen_inherited(fds, LISTEN_INHERITED_MAX, err, sizeof(err));

    if (n < 0)
        fatalx("socket activation: %s", err);
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

int main(int argc, char **argv)
{
    static struct args a;
    struct cfg_error e = { .text = "", .origin = 0 };
    struct tls_files tls;
    struct privdrop pd;
    struct api_runtime rt;
    sigset_t waitmask;
    int fds[MAX_SERVERS];
    size_t n_fds, len;
    char err[CFG_ERR_MAX + 128], where[CFG_ERR_MAX / 2], status[512], addr[LISTEN_ADDR_TEXT_MAX];
    char *open_addr = NULL;
    bool drop = false;
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
        if (privdrop_resolve(boot->user, boot->group, &pd, err, sizeof(err)) < 0)
            fatalx("%s: %s", cfg_where(boot, CFG_USER, where, sizeof(where)), err);
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
    n_fds = open_sockets(boot, fds);
    loopback_only = true;
    for (size_t i = 0; i < n_fds; i++) {
        if (is_loopback(fds[i]))
            continue;
        if (loopback_only)
            listen_format_fd(fds[i], addr, sizeof(addr));
        loopback_only = false;
    }
    if (check_unauthenticated(boot, loopback_only ? NULL : addr, err, sizeof(err)) < 0)
        fatalx("%s", err);
    r = snapshot_new(boot, false, boot->threads * (unsigned)n_fds, &current, err, sizeof(err));
    if (r == -EINVAL) { /* LDAP settings the backend refuses: a usage error when flags gave them */
        log_errx("%s", err);
        exit(boot->origin[CFG_LDAP_URI] == CFG_ORIGIN_CMDLINE ? EXIT_USAGE : 1);
    }
    if (r < 0)
        fatalx("%s", err);
    log_directory(boot, boot->threads * (unsigned)n_fds);
    if (tls_files_read(boot, &tls, err, sizeof(err)) < 0)
        fatalx("%s", err);
    if (drop) {
        if (privdrop_apply(&pd, err, sizeof(err)) < 0)
            fatalx("%s", err);
        log_info("running as user %s, group %s", pd.user, pd.group);
    }

    signals_init(&waitmask);
    runtime_of(current, &rt);
    len = (size_t)snprintf(status, sizeof(status), "READY=1\nSTATUS=Listening on ");
    for (size_t i = 0; i < n_fds; i++) {
        struct api_config cfg = {
            .listen_fd = fds[i],
            .threads = boot->threads,
            .max_body = (size_t)boot->max_body,
            .dir = current->dir,
            .fleet = boot->fleet,
            .runtime = &rt,
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
        };

        listen_format_fd(fds[i], addr, sizeof(addr));
        if (!is_loopback(fds[i]) && !open_addr)
            open_addr = strdup(addr);
        atomic_fetch_add(&current->refs, 1);      /* the server's runtime */
        r = api_start(&cfg, &servers[n_servers]); /* takes fds[i] */
        if (r < 0)
            fatalx("cannot start the HTTP server on %s: %s", addr, strerror(-r));
        n_servers++;
        log_info("strongmapd %s listening on %s (%s%u threads, body limit %llu bytes)", SM_VERSION,
                 addr, tls.cert ? "HTTPS, " : "", boot->threads, boot->max_body);
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
    snapshot_unref(current); /* the servers released theirs in api_stop() */
    cfg_free(boot);
    free(a.flags);
    log_info("stopped");
    return 0;
}

/*
 * tests/api/api_host.c - a minimal host for the HTTP API, for tests/api/test_api.py: it sets
 * every field of struct api_config and struct api_runtime from its flags and from a runtime
 * file, and builds a new runtime for api_reconfigure() on SIGHUP, so the API's security and
 * operations features are tested whatever the daemon's configuration file looks like. The
 * runtime file is checked as much as a test needs: what strongmapd's configuration refuses is
 * tested in tests/system.
 *
 *   api_host [--listen ADDR:PORT] [--threads N] [--ldif FILE] [--runtime FILE] [-v]
 *            [--tls-cert F --tls-key F [--tls-client-ca F [--tls-client-required]]
 *             [--tls-priorities S]] [--conn-limit N] [--per-ip-limit N] [--idle-timeout S]
 *            [--request-timeout S] [--header-limit BYTES] [--max-body BYTES]
 *
 * Runtime file, one setting per line ('#' comments):
 *   token NAME SHA256-HEX SCOPES     scope ROUTE SCOPES       rate PER-SECOND    burst N
 *   max_body BYTES    max_certs N    decision_log PATH        profile NAME
 *   health_details yes|no
 * SCOPES: "check,account,admin,metrics" or "none". Each runtime's release is logged
 * ("runtime N released"), so tests can see when a replaced one is freed.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api.h"
#include "dirpool.h"
#include "listen.h"
#include "log.h"
#include "options.h"
#include "su_buf.h"
#include "su_hex.h"

static unsigned generation;

static void on_release(void *arg)
{
    log_info("runtime %u released", (unsigned)(uintptr_t)arg);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct su_buf b;

    if (!f)
        fatal("%s", path);
    su_buf_init(&b, NULL, NULL);
    if (su_buf_read(&b, f, SIZE_MAX) < 0)
        fatalx("%s: cannot read it", path);
    fclose(f);
    return b.p;
}

static int route_id(const char *name)
{
    for (int r = 0; r < API_ROUTE__COUNT; r++)
        if (strcmp(api_route_name((enum api_route_id)r), name) == 0)
            return r;
    return -1;
}

/*
 * A runtime from the runtime file @path (NULL: the defaults) into *@ret, with a directory of its
 * own over @ldif (NULL: none) and @max_body unless the file sets it. 0, or -EINVAL for a bad
 * line, or the error of the directory or the decision log (@e).
 */
static int load_runtime(const char *path, const char *ldif, unsigned threads, size_t max_body,
                        struct api_runtime **ret, struct sm_errinfo *e)
{
    struct api_runtime *rt;
    char *text = NULL, *line, *save = NULL, *decision_log = NULL;
    int r;

    if (api_runtime_new(&rt) < 0)
        fatalx("out of memory");
    rt->release = on_release;
    rt->release_arg = (void *)(uintptr_t)++generation;
    rt->max_body = max_body;
    if (ldif) {
        struct opt_dir d = { .ldif = ldif };
        struct dirpool_config dc = { .dir = &d, .handles = threads, .cache_size = 100 };

        if ((r = dirpool_open(&dc, &rt->dir, e)) < 0)
            goto out;
    }
    if (path)
        text = read_file(path);
    for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
         line = strtok_r(NULL, "\n", &save)) {
        char *w[4] = { 0 }, *s2 = NULL;
        size_t n = 0;

        for (char *t = strtok_r(line, " \t", &s2); t && n < 4; t = strtok_r(NULL, " \t", &s2))
            w[n++] = t;
        if (n == 0 || w[0][0] == '#')
            continue;
        if (strcmp(w[0], "token") == 0 && n == 4) {
            struct api_token *t = &rt->tokens[rt->n_tokens];

            if (rt->n_tokens >= API_MAX_TOKENS || strlen(w[2]) != 64)
                goto out_bad;
            snprintf(t->name, sizeof(t->name), "%s", w[1]);
            if (su_hex_decode(w[2], 64, t->sha256, sizeof(t->sha256)) < 0)
                goto out_bad;
            if (api_scopes_parse(w[3], &t->scopes) < 0)
                goto out_bad;
            rt->n_tokens++;
        } else if (strcmp(w[0], "scope") == 0 && n == 3 && strcmp(w[1], "account_data") == 0) {
            if (api_scopes_parse(w[2], &rt->account_data_scope) < 0)
                goto out_bad;
        } else if (strcmp(w[0], "scope") == 0 && n == 3) {
            int route = route_id(w[1]);
            if (route < 0 || api_scopes_parse(w[2], &rt->route_scope[route]) < 0)
                goto out_bad;
        } else if (strcmp(w[0], "rate") == 0 && n == 2) {
            rt->rate_per_s = strtod(w[1], NULL);
        } else if (strcmp(w[0], "burst") == 0 && n == 2) {
            rt->rate_burst = (unsigned)strtoul(w[1], NULL, 10);
        } else if (strcmp(w[0], "max_body") == 0 && n == 2) {
            rt->max_body = strtoul(w[1], NULL, 10);
        } else if (strcmp(w[0], "max_certs") == 0 && n == 2) {
            rt->max_certs = (unsigned)strtoul(w[1], NULL, 10);
        } else if (strcmp(w[0], "decision_log") == 0 && n == 2) {
            decision_log = w[1];
        } else if (strcmp(w[0], "health_details") == 0 && n == 2) {
            rt->health_details = strcmp(w[1], "yes") == 0;
        } else if (strcmp(w[0], "profile") == 0 && n == 2) {
            if (opt_profile_add(&rt->fleet, w[1], NULL) < 0)
                goto out_bad;
        } else {
            goto out_bad;
        }
    }
    r = decision_log ? api_runtime_open_log(rt, decision_log, e) : 0;
out:
    free(text);
    if (r < 0)
        return (api_runtime_unref(rt), r);
    *ret = rt;
    return 0;

out_bad:
    snprintf(e->text, sizeof(e->text), "%s: bad line \"%s\"", path, line);
    r = -EINVAL;
    goto out;
}

int main(int argc, char **argv)
{
    enum {
        O_TLS_CERT = 256,
        O_TLS_KEY,
        O_TLS_CA,
        O_TLS_REQUIRED,
        O_TLS_PRIO,
        O_CONN_LIMIT,
        O_PER_IP,
        O_IDLE,
        O_REQ_TIMEOUT,
        O_HEADER,
        O_MAX_BODY,
        O_RUNTIME,
        O_LDIF,
    };
    static const struct option longopts[] = {
        { "listen", required_argument, NULL, 'l' },
        { "threads", required_argument, NULL, 't' },
        { "ldif", required_argument, NULL, O_LDIF },
        { "runtime", required_argument, NULL, O_RUNTIME },
        { "tls-cert", required_argument, NULL, O_TLS_CERT },
        { "tls-key", required_argument, NULL, O_TLS_KEY },
        { "tls-client-ca", required_argument, NULL, O_TLS_CA },
        { "tls-client-required", no_argument, NULL, O_TLS_REQUIRED },
        { "tls-priorities", required_argument, NULL, O_TLS_PRIO },
        { "conn-limit", required_argument, NULL, O_CONN_LIMIT },
        { "per-ip-limit", required_argument, NULL, O_PER_IP },
        { "idle-timeout", required_argument, NULL, O_IDLE },
        { "request-timeout", required_argument, NULL, O_REQ_TIMEOUT },
        { "header-limit", required_argument, NULL, O_HEADER },
        { "max-body", required_argument, NULL, O_MAX_BODY },
        { NULL, 0, NULL, 0 },
    };
    const char *listen_spec = "127.0.0.1:0", *runtime_path = NULL, *ldif = NULL;
    struct api_config cfg = { .threads = 2 };
    struct api_runtime *rt, *next;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct api *api;
    sigset_t set;
    char where[LISTEN_ADDR_TEXT_MAX], *cert = NULL, *key = NULL, *ca = NULL;
    size_t max_body = API_MAX_BODY_DEFAULT;
    bool verbose = false;
    int c, fd, r, sig;

    while ((c = getopt_long(argc, argv, "l:t:v", longopts, NULL)) != -1) {
        switch (c) {
        case 'l': listen_spec = optarg; break;
        case 't': cfg.threads = (unsigned)atoi(optarg); break;
        case 'v': verbose = true; break;
        case O_LDIF: ldif = optarg; break;
        case O_RUNTIME: runtime_path = optarg; break;
        case O_TLS_CERT: cfg.tls_cert_pem = cert = read_file(optarg); break;
        case O_TLS_KEY: cfg.tls_key_pem = key = read_file(optarg); break;
        case O_TLS_CA: cfg.tls_client_ca_pem = ca = read_file(optarg); break;
        case O_TLS_REQUIRED: cfg.tls_client_required = true; break;
        case O_TLS_PRIO: cfg.tls_priorities = optarg; break;
        case O_CONN_LIMIT: cfg.conn_limit = (unsigned)atoi(optarg); break;
        case O_PER_IP: cfg.per_ip_conn_limit = (unsigned)atoi(optarg); break;
        case O_IDLE: cfg.idle_timeout_s = (unsigned)atoi(optarg); break;
        case O_REQ_TIMEOUT: cfg.request_timeout_s = (unsigned)atoi(optarg); break;
        case O_HEADER: cfg.header_limit = strtoul(optarg, NULL, 10); break;
        case O_MAX_BODY: max_body = strtoul(optarg, NULL, 10); break;
        default: fprintf(stderr, "usage: see the comment in api_host.c\n"); return 2;
        }
    }
    log_init(verbose);
    if (max_body < API_MAX_BODY_MIN || max_body > API_MAX_BODY_MAX)
        fatalx("--max-body: %u to %u bytes", API_MAX_BODY_MIN, API_MAX_BODY_MAX);
    if (load_runtime(runtime_path, ldif, cfg.threads, max_body, &rt, &e) < 0) {
        log_errx("%s", e.text);
        return 2;
    }
    if (listen_parse(listen_spec, &addr, &addr_len) < 0)
        fatalx("bad --listen %s", listen_spec);
    if ((r = listen_open(&addr, addr_len, &fd)) < 0)
        fatalx("cannot listen on %s: %s", listen_spec, strerror(-r));
    listen_format_fd(fd, where, sizeof(where));

    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    cfg.listen_fd = fd;
    cfg.runtime = rt;
    r = api_start(&cfg, &api, &e);
    rt = api_runtime_unref(rt); /* the server holds its own reference */
    if (key)
        explicit_bzero(key, strlen(key));
    free(cert);
    free(key);
    free(ca);
    if (r < 0)
        fatalx("cannot start the API: %s", e.text[0] ? e.text : strerror(-r));
    log_info("api_host listening on %s", where);

    for (;;) {
        sig = sigwaitinfo(&set, NULL);
        if (sig == SIGHUP) {
            e = (struct sm_errinfo)SM_ERRINFO_INIT;
            r = load_runtime(runtime_path, ldif, cfg.threads, max_body, &next, &e);
            if (r < 0) {
                log_warnx("reload failed (%s), keeping the settings",
                          e.text[0] ? e.text : strerror(-r));
                continue;
            }
            api_reconfigure(api, next);
            api_runtime_unref(next);
            log_info("reloaded (runtime %u)", generation);
        } else if (sig == SIGTERM || sig == SIGINT) {
            break;
        }
    }
    api_quiesce(api);
    for (int i = 0; i < 200 && api_busy(api, NULL) > 0; i++)
        usleep(50000);
    api_stop(api);
    log_info("stopped");
    return 0;
}

/*
 * tests/api/api_host.c - a minimal host for the HTTP API, for tests/api/test_api.py: it sets
 * every field of struct api_config and struct api_runtime from its flags and from a runtime
 * file, and calls api_reconfigure() on SIGHUP, so the API's security and operations features
 * are tested whatever the daemon's configuration file looks like.
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
#include "su_hex.h"

static unsigned generation;

static void on_release(void *arg)
{
    log_info("runtime %u released", (unsigned)(uintptr_t)arg);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f)
        fatal("%s", path);
    do {
        if (len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
            if (!buf)
                fatalx("out of memory");
        }
        n = fread(buf + len, 1, cap - len - 1, f);
        len += n;
    } while (n > 0);
    fclose(f);
    buf[len] = '\0';
    return buf;
}

static int route_id(const char *name)
{
    for (int r = 0; r < API_ROUTE__COUNT; r++)
        if (strcmp(api_route_name((enum api_route_id)r), name) == 0)
            return r;
    return -1;
}

/* Read the runtime file @path into @rt (tokens into @tokens, strings into @keep). */
static int load_runtime(const char *path, struct dirpool *dir, struct api_runtime *rt,
                        struct api_token *tokens, char **keep)
{
    char *text, *line, *save = NULL;

    api_runtime_init(rt);
    rt->dir = dir;
    rt->tokens = tokens;
    rt->release = on_release;
    rt->release_arg = (void *)(uintptr_t)++generation;
    if (!path)
        return 0;
    text = read_file(path);
    *keep = text;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char *w[4] = { 0 }, *s2 = NULL;
        size_t n = 0;

        for (char *t = strtok_r(line, " \t", &s2); t && n < 4; t = strtok_r(NULL, " \t", &s2))
            w[n++] = t;
        if (n == 0 || w[0][0] == '#')
            continue;
        if (strcmp(w[0], "token") == 0 && n == 4) {
            struct api_token *t = &tokens[rt->n_tokens];

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
            int r = route_id(w[1]);
            if (r < 0 || api_scopes_parse(w[2], &rt->route_scope[r]) < 0)
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
            rt->decision_log = w[1];
        } else if (strcmp(w[0], "health_details") == 0 && n == 2) {
            rt->health_details = strcmp(w[1], "yes") == 0;
        } else if (strcmp(w[0], "profile") == 0 && n == 2) {
            if (opt_profile_add(&rt->fleet, w[1], NULL) < 0)
                goto out_bad;
        } else {
            goto out_bad;
        }
    }
    return 0;

out_bad:
    log_errx("%s: bad line \"%s\"", path, line);
    return -EINVAL;
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
    static struct api_token tokens[API_MAX_TOKENS];
    struct api_config cfg = { .threads = 2, .max_body = API_MAX_BODY_DEFAULT };
    struct api_runtime rt;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    struct dirpool *dir = NULL;
    struct api *api;
    sigset_t set;
    char where[LISTEN_ADDR_TEXT_MAX], *keep = NULL, *cert = NULL, *key = NULL, *ca = NULL;
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
        case O_MAX_BODY: cfg.max_body = strtoul(optarg, NULL, 10); break;
        default: fprintf(stderr, "usage: see the comment in api_host.c\n"); return 2;
        }
    }
    log_init(verbose);
    if (ldif) {
        static struct opt_dir d;
        struct dirpool_config dc = { .dir = &d, .handles = cfg.threads, .cache_size = 100 };

        d.ldif = ldif;
        if (dirpool_open(&dc, &dir, &e) < 0)
            fatalx("cannot read %s: %s", ldif, e.text);
    }
    if (load_runtime(runtime_path, dir, &rt, tokens, &keep) < 0)
        return 2;
    rt.max_body = cfg.max_body;
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
    cfg.runtime = &rt;
    r = api_start(&cfg, &api, &e);
    if (key)
        explicit_bzero(key, strlen(key));
    free(cert);
    free(key);
    free(ca);
    free(keep);
    keep = NULL;
    if (r < 0)
        fatalx("cannot start the API: %s", e.text[0] ? e.text : strerror(-r));
    log_info("api_host listening on %s", where);

    for (;;) {
        sig = sigwaitinfo(&set, NULL);
        if (sig == SIGHUP) {
            r = load_runtime(runtime_path, dir, &rt, tokens, &keep);
            rt.max_body = rt.max_body == API_MAX_BODY_DEFAULT ? cfg.max_body : rt.max_body;
            e = (struct sm_errinfo)SM_ERRINFO_INIT;
            if (r == 0)
                r = api_reconfigure(api, &rt, &e);
            free(keep);
            keep = NULL;
            if (r < 0)
                log_warnx("reload failed (%s), keeping the settings",
                          e.text[0] ? e.text : strerror(-r));
            else
                log_info("reloaded (runtime %u)", generation);
        } else if (sig == SIGTERM || sig == SIGINT) {
            break;
        }
    }
    api_quiesce(api);
    for (int i = 0; i < 200 && api_busy(api, NULL) > 0; i++)
        usleep(50000);
    api_stop(api);
    dirpool_close(dir);
    log_info("stopped");
    return 0;
}

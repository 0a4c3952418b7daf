/*
 * bench/engine_bench.c - strongmapd's engine in process, on one core.
 *
 *   engine_bench [--seconds S | --iterations N] [--cpu N] [--json] [--print] CERT...
 *
 * Each iteration analyses one certificate (the DER bytes, round robin over the files given)
 * with sm_certs_parse(): the whole analysis the daemon does for /v1/inspect and /v1/verdict
 * (names in three forms, serial, validity, key, thumbprints, SAN, SID extension and URI, EKU,
 * findings) including every altSecurityIdentities mapping string the KDC builds (issuer+serial,
 * SKI, SHA1-PUKEY, issuer+SID, issuer+subject, subject, RFC822). With --json each iteration
 * also renders the /v1/inspect JSON document (sm_json_certs), as the daemon does.
 *
 * The process is pinned to one CPU (--cpu, default 0) and runs for S seconds of wall time
 * (default 3), or for exactly N iterations (for callgrind: instructions per certificate).
 * Output: one JSON line,
 *   {"tool":"strongmap-engine","json":false,"certs":N,"seconds":S,"certs_per_s":R,
 *    "strings_per_cert":K,"cpu_seconds":C}
 * --print prints each certificate's X509IssuerSerialNumber, X509SKI and X509IssuerSubject
 * strings (the ones bench/sss_peer makes with libsss_certmap) instead, for a cross-check.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strongmap/cert.h>
#include <strongmap/json.h>

#include "su_buf.h"

#define MAX_CERTS 64

struct input {
    unsigned char *der[MAX_CERTS];
    size_t len[MAX_CERTS];
    size_t n;
};

static double now_s(clockid_t clk)
{
    struct timespec t;
    clock_gettime(clk, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Read @path, split it into DER certificates with the engine itself (not timed). */
static int load(const char *path, struct input *in)
{
    FILE *f = fopen(path, "rb");
    struct su_buf buf;
    struct sm_certs *certs = NULL;
    struct sm_errinfo e = { 0 };
    int r = 0;

    if (!f) {
        r = -errno;    /* before fprintf() may change errno */
        assert(r < 0); /* fopen() sets errno when it fails: main() reads in->n on 0 only */
        fprintf(stderr, "engine_bench: %s: %s\n", path, strerror(-r));
        return r;
    }
    su_buf_init(&buf, NULL, NULL);
    if ((r = su_buf_read(&buf, f, SIZE_MAX)) < 0) {
        fprintf(stderr, "engine_bench: %s: %s\n", path, strerror(-r));
        goto out;
    }
    if ((r = sm_certs_parse(buf.p, buf.len, NULL, &certs, &e)) < 0) {
        fprintf(stderr, "engine_bench: %s: %s\n", path, e.text);
        goto out;
    }
    assert(certs->n_certs > 0); /* sm_certs_parse() returns 0 with at least one: run() needs it */
    for (size_t i = 0; i < certs->n_certs; i++) {
        const struct sm_cert *c = &certs->certs[i];
        if (in->n == MAX_CERTS) {
            fprintf(stderr, "engine_bench: more than %d certificates\n", MAX_CERTS);
            r = -E2BIG;
            goto out;
        }
        if (!(in->der[in->n] = malloc(c->der_len))) {
            r = -ENOMEM;
            goto out;
        }
        memcpy(in->der[in->n], c->der, c->der_len);
        in->len[in->n++] = c->der_len;
    }
out:
    sm_certs_free(certs);
    su_buf_release(&buf);
    fclose(f);
    return r;
}

static int print_strings(const struct input *in)
{
    static const struct {
        enum sm_map_type type;
        const char *name;
    } want[] = {
        { SM_MAP_ISSUER_SERIAL, "X509IssuerSerialNumber" },
        { SM_MAP_SKI, "X509SKI" },
        { SM_MAP_ISSUER_SUBJECT, "X509IssuerSubject" },
    };
    for (size_t i = 0; i < in->n; i++) {
        struct sm_certs *certs = NULL;
        struct sm_errinfo e = { 0 };
        if (sm_certs_parse(in->der[i], in->len[i], NULL, &certs, &e) < 0) {
            fprintf(stderr, "engine_bench: %s\n", e.text);
            return -EINVAL;
        }
        for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
            const struct sm_mapping *m = sm_cert_mapping(&certs->certs[0], want[k].type);
            printf("%s\t%s\n", want[k].name, m ? m->value : "");
        }
        sm_certs_free(certs);
    }
    return 0;
}

static int run(const struct input *in, double seconds, unsigned long long max_iters, int json)
{
    unsigned long long iters = 0, strings = 0;
    struct sm_parse_opts opts = { .now = time(NULL) };
    double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID), t1;

    for (;;) {
        for (int k = 0; k < 64; k++, iters++) {
            size_t i = (size_t)(iters % in->n);
            struct sm_certs *certs = NULL;
            struct sm_errinfo e = { 0 };
            if (sm_certs_parse(in->der[i], in->len[i], &opts, &certs, &e) < 0) {
                fprintf(stderr, "engine_bench: %s\n", e.text);
                return -EINVAL;
            }
            strings += certs->certs[0].n_mappings;
            if (json) {
                char *doc = NULL;
                if (sm_json_certs(certs, 0, &doc) < 0) {
                    sm_certs_free(certs);
                    fprintf(stderr, "engine_bench: JSON rendering failed\n");
                    return -ENOMEM;
                }
                free(doc);
            }
            sm_certs_free(certs);
        }
        t1 = now_s(CLOCK_MONOTONIC);
        if (max_iters ? iters >= max_iters : t1 - t0 >= seconds)
            break;
    }
    double cpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("{\"tool\":\"strongmap-engine\",\"json\":%s,\"certs\":%llu,\"seconds\":%.3f,"
           "\"certs_per_s\":%.0f,\"strings_per_cert\":%.1f,\"cpu_seconds\":%.3f}\n",
           json ? "true" : "false", iters, t1 - t0, (double)iters / (t1 - t0),
           (double)strings / (double)iters, cpu);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: engine_bench [--seconds S | --iterations N] [--cpu N] [--json] [--print] "
            "CERT...\n");
}

int main(int argc, char **argv)
{
    struct input in = { .n = 0 };
    double seconds = 3.0;
    unsigned long long max_iters = 0;
    int cpu = 0, json = 0, print = 0, r = 0, i;

    for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--iterations") == 0 && i + 1 < argc)
            max_iters = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--cpu") == 0 && i + 1 < argc)
            cpu = atoi(argv[++i]);
        else if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--print") == 0)
            print = 1;
        else {
            usage();
            return 2;
        }
    }
    if (i == argc || seconds < 0 || cpu < 0 || cpu >= CPU_SETSIZE) {
        usage();
        return 2;
    }
    for (; i < argc; i++)
        if ((r = load(argv[i], &in)) < 0)
            goto out;
    if (print) {
        r = print_strings(&in);
        goto out;
    }
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        r = -errno;
        fprintf(stderr, "engine_bench: cannot pin to CPU %d: %s\n", cpu, strerror(-r));
        goto out;
    }
    r = run(&in, seconds, max_iters, json);
out:
    for (size_t k = 0; k < in.n; k++)
        free(in.der[k]);
    return r < 0 ? 1 : 0;
}

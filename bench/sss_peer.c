/*
 * bench/sss_peer.c - the peer: SSSD's libsss_certmap making the same AD mapping strings, in
 * process, on one core.
 *
 *   sss_peer [--mode filter|expand] [--seconds S] [--cpu N] [--print] CERT...
 *
 * CERT files are PEM (every CERTIFICATE block is used) or DER; all are read into memory first.
 * One libsss_certmap context with one rule is set up before timing:
 *
 *   match rule    <ISSUER>.*  (every certificate; the default needs digitalSignature+clientAuth)
 *   mapping rule  LDAPU1:(|(altSecurityIdentities=A)(altSecurityIdentities=B)
 *                          (altSecurityIdentities=C))   (one line, see MAP_RULE) with
 *     A  X509:<I>{issuer_dn!ad_x500}<SR>{serial_number!hex_ur}
 *     B  X509:<SKI>{subject_key_id!hex_u}
 *     C  X509:<I>{issuer_dn!ad_x500}<S>{subject_dn!ad_x500}
 *   (sss-certmap(5) of sssd 2.8: the "LDAPU1" prefix enables serial_number and subject_key_id;
 *   "ad_x500" is the DN with AD attribute names in X.500 order, most specific RDN last;
 *   "hex_ur" is upper-case hex with the bytes reversed, "hex_u" upper-case hex.)
 *
 * With this rule configured, SSSD searches AD for the user with exactly this filter.
 * Each iteration takes one certificate (round robin over all of them) and calls
 * sss_certmap_get_search_filter(), which parses the DER certificate once and expands the
 * templates, escaping each expanded value for an LDAP filter (\09 \20 \2a \28 \29 \5c \0d \0a).
 * The filter is then split into its three values and the escapes are undone, giving exactly
 *   X509:<I>issuer<SR>serial-reversed   X509:<SKI>ski   X509:<I>issuer<S>subject
 * after which the filter is freed. Splitting is unambiguous because a value can hold no raw
 * '(' or ')'.
 * --mode expand: three contexts with one rule each (the three templates alone), and per
 * certificate three sss_certmap_expand_mapping_rule() calls, which give the strings verbatim
 * but parse the certificate three times (about 3x slower): the way to get the strings
 * themselves rather than a search filter. The default is --mode filter, the fast way above.
 *
 * The process is pinned to CPU N (default 0) and loops for S seconds of wall time (default 3),
 * reading CLOCK_MONOTONIC every 64 iterations. Output: one JSON line,
 *   {"tool":"libsss_certmap","certs":N,"seconds":S,"certs_per_s":R,"strings_per_cert":3,
 *    "cpu_seconds":C}
 * where C is the process CPU time (CLOCK_PROCESS_CPUTIME_ID) spent in the loop.
 * --print prints each certificate's X509IssuerSerialNumber, X509SKI and X509IssuerSubject
 * strings (tab-separated from their names) instead, for a cross-check with bench/engine_bench.
 * A certificate libsss_certmap cannot make all three strings for (e.g. no SKI) is an error.
 * Errors: one line on stderr, exit 1; usage: exit 2.
 */
#define _GNU_SOURCE
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sss_certmap.h>

#include "su_base64.h"
#include "su_buf.h"
#include "su_hex.h"

#define MAX_FILE_BYTES (64u * 1024u * 1024u)
#define N_STRINGS      3

#define MATCH_RULE "<ISSUER>.*"
#define ITEM       "(altSecurityIdentities="
#define MAP_RULE                                                                                   \
    "LDAPU1:(|" ITEM "X509:<I>{issuer_dn!ad_x500}<SR>{serial_number!hex_ur})" ITEM                 \
    "X509:<SKI>{subject_key_id!hex_u})" ITEM                                                       \
    "X509:<I>{issuer_dn!ad_x500}<S>{subject_dn!ad_x500}))"

static const char *const expand_rules[N_STRINGS] = {
    "LDAPU1:X509:<I>{issuer_dn!ad_x500}<SR>{serial_number!hex_ur}",
    "LDAPU1:X509:<SKI>{subject_key_id!hex_u}",
    "LDAPU1:X509:<I>{issuer_dn!ad_x500}<S>{subject_dn!ad_x500}",
};

static const char *const string_names[N_STRINGS] = { "X509IssuerSerialNumber", "X509SKI",
                                                     "X509IssuerSubject" };

struct cert {
    unsigned char *der;
    size_t len;
    const char *path;
    size_t index; /* position in its file */
};

struct input {
    struct cert *v;
    size_t n, cap;
};

/* The three strings of one certificate; they live in buf, reused across iterations. */
struct strings {
    char *buf;
    size_t cap;
    const char *v[N_STRINGS];
};

static double now_s(clockid_t clk)
{
    struct timespec t;
    clock_gettime(clk, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int add_cert(struct input *in, unsigned char *der, size_t len, const char *path,
                    size_t index)
{
    if (in->n == in->cap) {
        size_t cap = in->cap ? 2 * in->cap : 16;
        struct cert *v = realloc(in->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        in->v = v;
        in->cap = cap;
    }
    in->v[in->n++] = (struct cert){ .der = der, .len = len, .path = path, .index = index };
    return 0;
}

/* Decode base64 text (white space ignored, '=' padding) into a new buffer. */
static int b64_decode(const unsigned char *s, size_t n, unsigned char **out, size_t *out_len)
{
    unsigned char *buf = malloc(n / 4 * 3 + 3);
    long len;

    if (!buf)
        return -ENOMEM;
    len = su_base64_decode((const char *)s, n, SU_B64_SPACE, buf);
    if (len <= 0) {
        free(buf);
        return -EINVAL;
    }
    *out = buf;
    *out_len = (size_t)len;
    return 0;
}

/* Read @path whole, then take its PEM CERTIFICATE blocks, or the whole file as DER. */
static int load(const char *path, struct input *in)
{
    static const char begin[] = "-----BEGIN CERTIFICATE-----", end[] = "-----END CERTIFICATE-----";
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL, *der = NULL;
    size_t len = 0, der_len = 0, index = 0;
    struct su_buf text;
    int r = 0;

    if (!f) {
        r = -errno;
        assert(r < 0); /* fopen() sets errno when it fails: main() reads in->v on 0 only */
        fprintf(stderr, "sss_peer: %s: %s\n", path, strerror(-r));
        return r;
    }
    su_buf_init(&text, NULL, NULL);
    r = su_buf_read(&text, f, MAX_FILE_BYTES);
    buf = (unsigned char *)text.p; /* free()'d below, or handed to add_cert() */
    len = text.len;
    if (r == -ENOMEM)
        goto out_nomem;
    if (r == -EFBIG) {
        fprintf(stderr, "sss_peer: %s: larger than %u bytes\n", path, MAX_FILE_BYTES);
        goto out;
    }
    if (r < 0) {
        fprintf(stderr, "sss_peer: %s: read error\n", path);
        goto out;
    }
    if (len == 0) {
        fprintf(stderr, "sss_peer: %s: empty file\n", path);
        r = -EINVAL;
        goto out;
    }

    if (!memmem(buf, len, "-----BEGIN ", 11)) {
        /* DER: hand the whole file over; libsss_certmap judges it before timing. */
        if ((r = add_cert(in, buf, len, path, 0)) < 0)
            goto out_nomem;
        buf = NULL;
        goto out;
    }
    for (const unsigned char *p = buf, *q;
         (p = memmem(p, len - (size_t)(p - buf), begin, sizeof(begin) - 1)) != NULL;
         p = q + sizeof(end) - 1) {
        p += sizeof(begin) - 1;
        if (!(q = memmem(p, len - (size_t)(p - buf), end, sizeof(end) - 1))) {
            fprintf(stderr, "sss_peer: %s: certificate %zu has no END line\n", path, index);
            r = -EINVAL;
            goto out;
        }
        if ((r = b64_decode(p, (size_t)(q - p), &der, &der_len)) == -ENOMEM)
            goto out_nomem;
        if (r < 0) {
            fprintf(stderr, "sss_peer: %s: certificate %zu: bad base64\n", path, index);
            goto out;
        }
        if ((r = add_cert(in, der, der_len, path, index++)) < 0)
            goto out_nomem;
        der = NULL;
    }
    if (index == 0) {
        fprintf(stderr, "sss_peer: %s: no PEM CERTIFICATE block\n", path);
        r = -EINVAL;
    }
    goto out;
out_nomem:
    fprintf(stderr, "sss_peer: out of memory\n");
out:
    free(der);
    free(buf);
    fclose(f);
    return r;
}

/*
 * Split the filter MAP_RULE expands to, "(|" ITEM v1 ")" ITEM v2 ")" ITEM v3 "))", into
 * s->v[], undoing the \XX escapes of sss_filter_sanitize().
 */
static int split_filter(const char *filter, struct strings *s)
{
    size_t need = strlen(filter) + 1; /* unescaped values + NULs never need more */
    const char *p = filter;
    char *o;

    if (need > s->cap) {
        char *b = realloc(s->buf, need);
        if (!b)
            return -ENOMEM;
        s->buf = b;
        s->cap = need;
    }
    o = s->buf;
    if (strncmp(p, "(|", 2) != 0)
        return -EPROTO;
    p += 2;
    for (size_t k = 0; k < N_STRINGS; k++) {
        if (strncmp(p, ITEM, sizeof(ITEM) - 1) != 0)
            return -EPROTO;
        p += sizeof(ITEM) - 1;
        s->v[k] = o;
        while (*p != ')') {
            if (*p == '\0' || *p == '(')
                return -EPROTO;
            if (*p == '\\') {
                int hi = su_hex_digit(p[1]), lo = su_hex_digit(p[1] ? p[2] : '\0');
                if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                    return -EPROTO;
                *o++ = (char)(hi << 4 | lo);
                p += 3;
            } else {
                *o++ = *p++;
            }
        }
        *o++ = '\0';
        p++;
    }
    return strcmp(p, ")") == 0 ? 0 : -EPROTO;
}

/* --mode expand: one context per string (NULL in filter mode). */
static struct sss_certmap_ctx *expand_ctx[N_STRINGS];

/* --mode expand: the three strings of @c, one sss_certmap_expand_mapping_rule() each. */
static int expand_strings(const struct cert *c, struct strings *s)
{
    size_t off[N_STRINGS], used = 0;
    for (size_t k = 0; k < N_STRINGS; k++) {
        char *v = NULL, **domains = NULL;
        int r = sss_certmap_expand_mapping_rule(expand_ctx[k], c->der, c->len, &v, &domains);
        if (r != 0) {
            fprintf(stderr, "sss_peer: %s: certificate %zu: sss_certmap_expand_mapping_rule: %s\n",
                    c->path, c->index, r == ENOENT ? "no mapping (no SKI?)" : strerror(r));
            return -r;
        }
        size_t n = strlen(v) + 1;
        if (used + n > s->cap) {
            size_t cap = 2 * (used + n);
            char *p = realloc(s->buf, cap);
            if (!p) {
                sss_certmap_free_filter_and_domains(v, domains);
                return -ENOMEM;
            }
            s->buf = p;
            s->cap = cap;
        }
        memcpy(s->buf + used, v, n);
        off[k] = used;
        used += n;
        sss_certmap_free_filter_and_domains(v, domains);
    }
    for (size_t k = 0; k < N_STRINGS; k++)
        s->v[k] = s->buf + off[k];
    return 0;
}

/* One iteration: the three strings of @c into @s (valid until the next call). */
static int make_strings(struct sss_certmap_ctx *ctx, const struct cert *c, struct strings *s)
{
    if (expand_ctx[0])
        return expand_strings(c, s);
    char *filter = NULL;
    char **domains = NULL;
    int r = sss_certmap_get_search_filter(ctx, c->der, c->len, &filter, &domains);

    if (r != 0) {
        /* ENOENT: a template had nothing to expand (no SKI, say) or the match rule failed */
        fprintf(stderr, "sss_peer: %s: certificate %zu: sss_certmap_get_search_filter: %s\n",
                c->path, c->index, r == ENOENT ? "no mapping (no SKI?)" : strerror(r));
        return -r;
    }
    if ((r = split_filter(filter, s)) < 0)
        fprintf(stderr, "sss_peer: %s: certificate %zu: unexpected filter %s\n", c->path, c->index,
                filter);
    sss_certmap_free_filter_and_domains(filter, domains);
    return r;
}

static int print_strings(struct sss_certmap_ctx *ctx, const struct input *in, struct strings *s)
{
    int r;
    for (size_t i = 0; i < in->n; i++) {
        if ((r = make_strings(ctx, &in->v[i], s)) < 0)
            return r;
        for (size_t k = 0; k < N_STRINGS; k++)
            printf("%s\t%s\n", string_names[k], s->v[k]);
    }
    return fflush(stdout) == 0 ? 0 : -EIO;
}

static int run(struct sss_certmap_ctx *ctx, const struct input *in, struct strings *s,
               double seconds, int cpu)
{
    unsigned long long iters = 0;
    cpu_set_t set;
    int r;

    /* Every certificate must give all three strings; this also warms the caches. */
    for (size_t i = 0; i < in->n; i++)
        if ((r = make_strings(ctx, &in->v[i], s)) < 0)
            return r;
    CPU_ZERO(&set);
    CPU_SET((size_t)cpu, &set);
    if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        r = -errno;
        fprintf(stderr, "sss_peer: cannot pin to CPU %d: %s\n", cpu, strerror(errno));
        return r;
    }

    double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID), t1;
    size_t i = 0;
    for (;;) {
        for (int k = 0; k < 64; k++, iters++) {
            if ((r = make_strings(ctx, &in->v[i], s)) < 0)
                return r;
            if (++i == in->n)
                i = 0;
        }
        t1 = now_s(CLOCK_MONOTONIC);
        if (t1 - t0 >= seconds)
            break;
    }
    double cpu_s = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("{\"tool\":\"libsss_certmap\",\"mode\":\"%s\",\"certs\":%llu,\"seconds\":%.3f,\"certs_"
           "per_s\":%.0f,"
           "\"strings_per_cert\":%d,\"cpu_seconds\":%.3f}\n",
           expand_ctx[0] ? "expand" : "filter", iters, t1 - t0, (double)iters / (t1 - t0),
           N_STRINGS, cpu_s);
    return fflush(stdout) == 0 ? 0 : -EIO;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: sss_peer [--mode filter|expand] [--seconds S] [--cpu N] [--print] CERT...\n");
    return 2;
}

int main(int argc, char **argv)
{
    struct input in = { .v = NULL };
    struct strings s = { .buf = NULL };
    struct sss_certmap_ctx *ctx = NULL;
    double seconds = 3.0;
    int cpu = 0, print = 0, expand = 0, r = 0, i;

    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        char *end;
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            errno = 0;
            seconds = strtod(argv[++i], &end);
            if (errno || end == argv[i] || *end || !isfinite(seconds) || seconds < 0)
                return usage();
        } else if (strcmp(argv[i], "--cpu") == 0 && i + 1 < argc) {
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (errno || end == argv[i] || *end || v < 0 || v >= CPU_SETSIZE)
                return usage();
            cpu = (int)v;
        } else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
            i++;
            if (strcmp(argv[i], "expand") == 0)
                expand = 1;
            else if (strcmp(argv[i], "filter") != 0)
                return usage();
        } else if (strcmp(argv[i], "--print") == 0) {
            print = 1;
        } else {
            return usage();
        }
    }
    if (i == argc)
        return usage();

    for (; i < argc; i++)
        if ((r = load(argv[i], &in)) < 0)
            goto out;
    if ((r = sss_certmap_init(NULL, NULL, NULL, &ctx)) != 0) {
        fprintf(stderr, "sss_peer: sss_certmap_init: %s\n", strerror(r));
        r = -r;
        goto out;
    }
    if ((r = sss_certmap_add_rule(ctx, 0, MATCH_RULE, MAP_RULE, NULL)) != 0) {
        fprintf(stderr, "sss_peer: sss_certmap_add_rule: %s\n", strerror(r));
        r = -r;
        goto out;
    }
    for (size_t k = 0; expand && k < N_STRINGS; k++) {
        if ((r = sss_certmap_init(NULL, NULL, NULL, &expand_ctx[k])) != 0 ||
            (r = sss_certmap_add_rule(expand_ctx[k], 0, MATCH_RULE, expand_rules[k], NULL)) != 0) {
            fprintf(stderr, "sss_peer: expand rule %zu: %s\n", k, strerror(r));
            r = -r;
            goto out;
        }
    }
    r = print ? print_strings(ctx, &in, &s) : run(ctx, &in, &s, seconds, cpu);
out:
    for (size_t k = 0; k < N_STRINGS; k++)
        sss_certmap_free_ctx(expand_ctx[k]);
    sss_certmap_free_ctx(ctx);
    free(s.buf);
    for (size_t k = 0; k < in.n; k++)
        free(in.v[k].der);
    free(in.v);
    return r < 0 ? 1 : 0;
}

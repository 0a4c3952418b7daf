/*
 * cli/strongmap.c - the strongmap command: the engine of strongmapd on the command line.
 *
 *   strongmap inspect [--text] [--pretty] [--at TIME] [FILE...]
 *   strongmap altsecid lint [--text] [--pretty] [--cert FILE] VALUE...
 *   strongmap sid extension [--text] [--pretty] S-1-...
 *   strongmap sid decode [--text] [--pretty] HEX|BASE64
 *
 * Output is JSON on stdout (the same documents the daemon serves); --text is for people.
 * Exit status: 0 success, 1 bad input (one line on stderr), 2 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strongmap/strongmap.h>

#include "text.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2

static const char *progname = "strongmap";

struct opts {
    bool text;
    unsigned json_flags;
    time_t at;
    const char *cert_file;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s inspect [--text] [--pretty] [--at TIME] [FILE...]\n"
            "       %s altsecid lint [--text] [--pretty] [--cert FILE] VALUE...\n"
            "       %s sid extension [--text] [--pretty] S-1-...\n"
            "       %s sid decode [--text] [--pretty] HEX|BASE64\n"
            "       %s version\n"
            "\n"
            "inspect   analyse certificates (PEM, DER or base64 DER; stdin when no FILE):\n"
            "          strong-mapping facts, the altSecurityIdentities strings a domain\n"
            "          controller builds, and findings\n"
            "altsecid  parse and lint altSecurityIdentities values (\"-\" reads values from\n"
            "          stdin, one per line); with --cert, check them against a certificate\n"
            "sid       the SID extension (DER), SAN URI, objectSid and LDAP filter for a SID,\n"
            "          or decode a binary objectSid\n"
            "\n"
            "  --text        human-readable output instead of JSON\n"
            "  --pretty      indented JSON\n"
            "  --at TIME     evaluate validity at TIME (RFC 3339, e.g. 2026-01-01T00:00:00Z)\n"
            "  --cert FILE   certificate to lint values against\n"
            "\n"
            "Exit status: 0 success, 1 bad input, 2 usage error.\n",
            progname, progname, progname, progname, progname);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Length of a valid UTF-8 sequence at @p (at most @n bytes), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0xc2 ? 0 : p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : p[0] < 0xf5 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) ||
        (p[0] == 0xf0 && p[1] < 0x90) || (p[0] == 0xf4 && p[1] > 0x8f))
        return 0;
    return len;
}

/*
 * One line on stderr; returns the exit status for bad input. Arguments may quote user input:
 * control characters and bytes that are not UTF-8 are written as \xHH so the message stays one
 * line of valid text.
 */
static int fail(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: ", progname);
    const unsigned char *p = (const unsigned char *)msg;
    size_t n = strlen(msg);
    for (size_t i = 0; i < n;) {
        size_t l = p[i] >= 0x80 ? utf8_len(p + i, n - i) : 1;
        if (p[i] < 0x20 || p[i] == 0x7f || l == 0) {
            fprintf(stderr, "\\x%02X", p[i]);
            i++;
        } else {
            fwrite(p + i, 1, l, stderr);
            i += l;
        }
    }
    fputc('\n', stderr);
    return EXIT_INPUT;
}

/* Read a whole file (or stdin for "-"/NULL), at most SM_MAX_INPUT bytes. */
static int read_input(const char *path, char **ret_buf, size_t *ret_len)
{
    FILE *f = (!path || strcmp(path, "-") == 0) ? stdin : fopen(path, "rb");
    if (!f)
        return -errno;
    size_t cap = 64 * 1024, len = 0;
    char *buf = malloc(cap + 1);
    int r = 0;
    if (!buf) {
        r = -ENOMEM;
        goto out;
    }
    for (;;) {
        if (len == cap) {
            if (cap > SM_MAX_INPUT) {
                r = SM_E_TOO_BIG;
                goto out;
            }
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                r = -ENOMEM;
                goto out;
            }
            buf = nb;
            cap *= 2;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) {
            if (ferror(f))
                r = -EIO;
            break;
        }
    }
    if (len > SM_MAX_INPUT)
        r = SM_E_TOO_BIG;
out:
    if (f != stdin)
        fclose(f);
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[len] = '\0';
    *ret_buf = buf;
    *ret_len = len;
    return 0;
}

static int parse_time(const char *s, time_t *ret)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end || (strcmp(end, "Z") != 0 && strcmp(end, "") != 0))
        return -EINVAL;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -EINVAL;
    *ret = t;
    return 0;
}

static int emit(char *json)
{
    fputs(json, stdout);
    fputc('\n', stdout);
    free(json);
    return fflush(stdout) == 0 ? 0 : EXIT_INPUT;
}

/* Parse one input; on failure print one line and return EXIT_INPUT. */
static int load_certs(const char *path, const struct opts *o, struct sm_certs **ret)
{
    char *buf = NULL;
    size_t len = 0;
    const char *name = path && strcmp(path, "-") != 0 ? path : "stdin";
    int r = read_input(path, &buf, &len);
    if (r < 0)
        return fail("%s: %s", name, sm_strerror(r));
    struct sm_parse_opts po = { .now = o->at };
    struct sm_errinfo e = { 0 };
    r = sm_certs_parse(buf, len, &po, ret, &e);
    free(buf);
    if (r < 0)
        return fail("%s: %s", name, e.text[0] ? e.text : sm_strerror(r));
    return 0;
}

static int cmd_inspect(int argc, char **argv, const struct opts *o)
{
    int nfiles = argc > 0 ? argc : 1;
    int status = 0;
    for (int i = 0; i < nfiles; i++) {
        const char *path = argc > 0 ? argv[i] : NULL;
        struct sm_certs *certs = NULL;
        int r = load_certs(path, o, &certs);
        if (r) {
            status = r;
            continue;
        }
        if (certs->n_errors) {
            status = EXIT_INPUT;
            for (size_t k = 0; k < certs->n_errors; k++)
                fprintf(stderr, "%s: %s: block %u: %s\n", progname, path ? path : "stdin",
                        certs->errors[k].index, certs->errors[k].message);
        }
        if (o->text) {
            if (nfiles > 1)
                printf("==> %s <==\n", path);
            text_certs(stdout, certs);
        } else {
            char *json;
            if (sm_json_certs(certs, o->json_flags, &json) < 0) {
                sm_certs_free(certs);
                return fail("out of memory");
            }
            emit(json);
        }
        sm_certs_free(certs);
    }
    return status;
}

static int cmd_altsecid(int argc, char **argv, const struct opts *o)
{
    if (argc < 1 || strcmp(argv[0], "lint") != 0) {
        usage(stderr);
        return EXIT_USAGE;
    }
    argc--, argv++;
    if (argc < 1) {
        fprintf(stderr, "%s: altsecid lint needs at least one VALUE\n", progname);
        return EXIT_USAGE;
    }
    struct sm_altsec **vals = calloc(SM_MAX_ALTSEC_LIST, sizeof(*vals));
    struct sm_certs *certs = NULL;
    char *stdin_buf = NULL;
    size_t n = 0;
    int status = 0;
    if (!vals)
        return fail("out of memory");
    if (o->cert_file && (status = load_certs(o->cert_file, o, &certs)) != 0)
        goto out;
    for (int i = 0; i < argc; i++) {
        char *list = argv[i];
        size_t list_len = strlen(list);
        bool from_stdin = strcmp(argv[i], "-") == 0;
        if (from_stdin) {
            int r = read_input(NULL, &stdin_buf, &list_len);
            if (r < 0) {
                status = fail("stdin: %s", sm_strerror(r));
                goto out;
            }
            list = stdin_buf;
        }
        /* one value per argument, or one per line from stdin */
        char *p = list, *end = list + list_len;
        while (p < end || (!from_stdin && p == end && list_len == 0)) {
            char *nl = from_stdin ? memchr(p, '\n', (size_t)(end - p)) : NULL;
            size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (from_stdin && len && p[len - 1] == '\r')
                len--;
            if (!(from_stdin && len == 0)) {
                if (n >= SM_MAX_ALTSEC_LIST) {
                    status = fail("more than %d values", SM_MAX_ALTSEC_LIST);
                    goto out;
                }
                struct sm_errinfo e = { 0 };
                int r = sm_altsec_parse(p, len, &vals[n], &e);
                if (r < 0) {
                    char shown[80];
                    snprintf(shown, sizeof(shown), "%.*s%s", len > 60 ? 60 : (int)len, p,
                             len > 60 ? "..." : "");
                    status = fail("\"%s\": %s", shown, e.text[0] ? e.text : sm_strerror(r));
                    goto out;
                }
                n++;
            }
            if (!nl)
                break;
            p = nl + 1;
        }
        free(stdin_buf);
        stdin_buf = NULL;
    }
    const struct sm_cert *cert = certs ? &certs->certs[0] : NULL;
    if (sm_altsec_lint(vals, n, cert) < 0) {
        status = fail("out of memory");
        goto out;
    }
    if (o->text) {
        text_altsec(stdout, vals, n, cert);
    } else {
        char *json;
        if (sm_json_altsec(vals, n, cert, o->json_flags, &json) < 0) {
            status = fail("out of memory");
            goto out;
        }
        emit(json);
    }
out:
    for (size_t i = 0; i < n; i++)
        sm_altsec_free(vals[i]);
    free(vals);
    free(stdin_buf);
    sm_certs_free(certs);
    return status;
}

static int decode_binary_sid(const char *s, struct sm_sid *sid)
{
    uint8_t buf[SM_SID_BINARY_MAX] = { 0 };
    size_t n = strlen(s), len = 0;
    /* hex (with optional \ or : separators) ... */
    bool hex = true;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdefABCDEF\\: ", s[i]))
            hex = false;
    if (hex) {
        for (size_t i = 0; i < n;) {
            if (strchr("\\: ", s[i])) {
                i++;
                continue;
            }
            if (i + 1 >= n || len >= sizeof(buf))
                return SM_E_SID;
            unsigned v;
            char two[3] = { s[i], s[i + 1], 0 };
            if (sscanf(two, "%2x", &v) != 1)
                return SM_E_SID;
            buf[len++] = (uint8_t)v;
            i += 2;
        }
        if (sm_sid_from_binary(buf, len, sid) == 0)
            return 0;
    }
    /* ... or base64, as LDIF writes objectSid:: */
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint32_t acc = 0;
    int bits = 0;
    len = 0;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *c = strchr(tbl, s[i]);
        if (!c || !s[i])
            return SM_E_SID;
        acc = acc << 6 | (uint32_t)(c - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (len >= sizeof(buf))
                return SM_E_SID;
            buf[len++] = (uint8_t)(acc >> bits);
        }
    }
    return sm_sid_from_binary(buf, len, sid);
}

static int cmd_sid(int argc, char **argv, const struct opts *o)
{
    if (argc != 2 || (strcmp(argv[0], "extension") != 0 && strcmp(argv[0], "decode") != 0)) {
        usage(stderr);
        return EXIT_USAGE;
    }
    struct sm_sid sid;
    struct sm_errinfo e = { 0 };
    if (strcmp(argv[0], "extension") == 0) {
        if (sm_sid_parse(argv[1], strlen(argv[1]), &sid, NULL, &e) < 0)
            return fail("\"%s\" is not a SID: %s", argv[1], e.text);
    } else if (decode_binary_sid(argv[1], &sid) < 0) {
        return fail("\"%s\" is not a binary objectSid (hex or base64)", argv[1]);
    }
    char *json;
    if (sm_json_sid(&sid, o->text ? 0 : o->json_flags, &json) < 0)
        return fail("out of memory");
    if (o->text) {
        text_sid(stdout, json);
        free(json);
        return 0;
    }
    return emit(json);
}

int main(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "text", no_argument, NULL, 't' },
        { "pretty", no_argument, NULL, 'p' },
        { "at", required_argument, NULL, 'a' },
        { "cert", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 },
    };
    struct opts o = { 0 };
    int c;

    if (argc > 0 && argv[0][0])
        progname = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    /* options before the subcommand; those after it are gathered below */
    while ((c = getopt_long(argc, argv, "+tpa:c:hV", long_opts, NULL)) != -1) {
        switch (c) {
        case 't': o.text = true; break;
        case 'p': o.json_flags |= SM_JSON_PRETTY; break;
        case 'a':
            if (parse_time(optarg, &o.at) < 0) {
                fprintf(stderr, "%s: --at: \"%s\" is not an RFC 3339 UTC time\n", progname, optarg);
                return EXIT_USAGE;
            }
            break;
        case 'c': o.cert_file = optarg; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("strongmap %s\n", sm_version()); return 0;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[optind];
    /* gather options after the subcommand too, keeping operands in order */
    int rest_argc = 0;
    char **rest = calloc((size_t)argc, sizeof(char *));
    if (!rest)
        return EXIT_INPUT;
    for (int i = optind + 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                rest[rest_argc++] = argv[i];
            break;
        }
        if (strcmp(a, "--text") == 0) {
            o.text = true;
        } else if (strcmp(a, "--pretty") == 0) {
            o.json_flags |= SM_JSON_PRETTY;
        } else if ((strcmp(a, "--cert") == 0 || strcmp(a, "--at") == 0) && i + 1 < argc) {
            if (a[2] == 'c') {
                o.cert_file = argv[++i];
            } else if (parse_time(argv[++i], &o.at) < 0) {
                fprintf(stderr, "%s: --at: \"%s\" is not an RFC 3339 UTC time\n", progname,
                        argv[i]);
                free(rest);
                return EXIT_USAGE;
            }
        } else if (strncmp(a, "--", 2) == 0) {
            fprintf(stderr, "%s: unknown or incomplete option %s\n", progname, a);
            free(rest);
            return EXIT_USAGE;
        } else {
            rest[rest_argc++] = argv[i];
        }
    }
    int status;
    if (strcmp(cmd, "inspect") == 0) {
        status = cmd_inspect(rest_argc, rest, &o);
    } else if (strcmp(cmd, "altsecid") == 0) {
        status = cmd_altsecid(rest_argc, rest, &o);
    } else if (strcmp(cmd, "sid") == 0) {
        status = cmd_sid(rest_argc, rest, &o);
    } else if (strcmp(cmd, "version") == 0) {
        printf("strongmap %s\n", sm_version());
        status = 0;
    } else {
        fprintf(stderr, "%s: unknown command \"%s\"\n", progname, cmd);
        usage(stderr);
        status = EXIT_USAGE;
    }
    free(rest);
    return status;
}

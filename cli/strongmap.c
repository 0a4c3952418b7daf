/*
 * cli/strongmap.c - the strongmap command: the engine of strongmapd on the command line.
 *
 *   strongmap inspect [--text] [--pretty] [--at TIME] [FILE...]
 *   strongmap altsecid lint [--text] [--pretty] [--cert FILE] VALUE...
 *   strongmap sid extension [--text] [--pretty] S-1-...
 *   strongmap sid decode [--text] [--pretty] HEX|BASE64
 *   strongmap verdict [FILE] [--account NAME] [WHAT-IF] DIRECTORY
 *   strongmap account NAME [WHAT-IF] DIRECTORY
 *   strongmap preissue --csr FILE --account NAME [WHAT-IF] DIRECTORY [--issuer FILE]
 *                      [--validity-days N] [--openssl-extfile FILE]
 *   strongmap explain [FILE|-] [DIRECTORY]
 *   strongmap gate [FILE|-] [WHAT-IF] (--daemon URL [--token-file F] [--cacert F] | DIRECTORY)
 *   strongmap map add|remove NAME ... DIRECTORY (cli/map.c: mapping write-back)
 *   strongmap audit [WHAT-IF] DIRECTORY [--format jsonl|csv|html] ... (cli/audit.c)
 *
 * Output is JSON on stdout (the same documents the daemon serves); --text is for people.
 * Exit status: 0 success (verdict: allow; account: ready), 1 bad input (one line on stderr),
 * 2 usage error, 3 verdict deny / account not ready / preissue refuse or deny, 4 directory
 * unavailable. The directory
 * flags and what-if options are those of strongmapd (daemon/options.h).
 *
 * gate is a CA's hook (EJBCA's External Command Certificate Validator rejects a certificate
 * on an exit status above 0 or on anything written to stderr): it writes to stderr only when
 * it rejects, and holds stderr closed (/dev/null) while it works so that no library can write
 * there; its messages are gathered (fail() into gate_msg) and written once at the end.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <strongmap/strongmap.h>

#include "audit.h"
#include "gate.h"
#include "map.h"
#include "options.h"
#include "su_buf.h"
#include "text.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2
#define EXIT_DENY  3 /* verdict deny, account not ready: an answer, not an error */
#define EXIT_DIR   4 /* the directory did not answer (unreachable, refused access) */

static const char *progname = "strongmap";

struct opts {
    bool text;
    unsigned json_flags;
    time_t at;
    const char *cert_file;
    /* verdict and account */
    const char *account;
    struct opt_profiles profiles; /* n 0: the engine's default, windows-2022 */
    struct opt_whatif whatif;
    struct opt_dir dir;
    const char *samba_anchors; /* --samba-anchors FILE */
    bool verdict_opts;         /* --account / --profile / --mode / --backdating given */
    /* preissue */
    const char *csr_file, *issuer_file, *extfile; /* --csr, --issuer, --openssl-extfile */
    long validity_days;                           /* --validity-days, 0: the engine's */
    bool preissue_opts;                           /* one of those given */
    bool json;                                    /* --json (preissue, explain) */
    /* gate */
    struct gate_query query; /* the what-if as given, for the daemon's query string */
    const char *daemon_url, *token_file, *cacert; /* --daemon, --token-file, --cacert */
    long timeout_s;                               /* --timeout, 0: GATE_TIMEOUT_S */
    bool gate_opts;                               /* one of those given */
    struct map_opts map;                          /* map add|remove (cli/map.h) */
    struct audit_opts audit;                      /* audit (cli/audit.h) */
};

#define GATE_TIMEOUT_S 10 /* seconds for strongmapd's answer, connection included */

/* While gate works: where fail() puts its message instead of stderr (the first one kept). */
static struct su_buf *gate_msg;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: %s inspect [--text] [--pretty] [--at TIME] [FILE...]\n"
            "       %s altsecid lint [--text] [--pretty] [--cert FILE] VALUE...\n"
            "       %s sid extension [--text] [--pretty] S-1-...\n"
            "       %s sid decode [--text] [--pretty] HEX|BASE64\n"
            "       %s verdict [FILE] [--account NAME] [WHAT-IF] DIRECTORY [--text] [--pretty]\n"
            "       %s account NAME [WHAT-IF] DIRECTORY [--text] [--pretty]\n"
            "       %s preissue --csr FILE --account NAME [WHAT-IF] DIRECTORY [--issuer FILE]\n"
            "                [--validity-days N] [--openssl-extfile FILE] [--text|--json]\n"
            "       %s explain [FILE|-] [DIRECTORY] [--text|--json] [--pretty]\n"
            "       %s gate [FILE|-] [--account NAME] [WHAT-IF] (DIRECTORY | --daemon URL\n"
            "                [--token-file FILE] [--cacert FILE] [--timeout SECONDS])\n"
            "       %s map add NAME --cert FILE [--type T] [--allow-foreign-sid] DIRECTORY\n"
            "                [--apply --audit-log FILE [--write-bind-dn DN\n"
            "                --write-password-file F]]\n"
            "       %s map remove NAME (--value V | --cert FILE [--type T]) DIRECTORY\n"
            "                [--apply ...]\n"
            "       %s audit [WHAT-IF] DIRECTORY [--format jsonl|csv|html] [--since TIME]\n"
            "                [--fail-on at_risk|blocked] [--page-size N] [--progress SECONDS]\n"
            "                [--certs FILE|FOLDER]...\n"
            "       %s version\n"
            "\n"
            "inspect   analyse certificates (PEM, DER or base64 DER; stdin when no FILE):\n"
            "          strong-mapping facts, the altSecurityIdentities strings a domain\n"
            "          controller builds, and findings\n"
            "altsecid  parse and lint altSecurityIdentities values (\"-\" reads values from\n"
            "          stdin, one per line); with --cert, check them against a certificate\n"
            "sid       the SID extension (DER), SAN URI, objectSid and LDAP filter for a SID,\n"
            "          or decode a binary objectSid\n"
            "verdict   what a domain controller does with the certificate in FILE (\"-\": stdin)\n"
            "          at logon: allow or deny, for which account, the Kerberos error and KDC\n"
            "          event, why, and the fix. With --account NAME alone, the account's\n"
            "          published certificate is evaluated\n"
            "account   is an account ready for strong mapping (ready, at_risk, blocked)?\n"
            "preissue  before a CA signs the request in FILE (PKCS#10; \"-\": stdin) for\n"
            "          --account: what the certificate must carry to log on (SID extension,\n"
            "          SAN URI, UPN), what to remove, and whether to refuse it; --issuer the\n"
            "          CA's certificate (NTAuth is checked), --openssl-extfile FILE writes an\n"
            "          extension file for openssl x509 -req / openssl ca (\"-\": stdout)\n"
            "explain   KDC events 39, 40, 41, 45 and 21 as Windows exports them (wevtutil or\n"
            "          Get-WinEvent XML, Event Viewer text; stdin when no FILE): why the DC\n"
            "          logged each and the fix, grouped by account and issuing CA; with a\n"
            "          DIRECTORY the accounts are looked up\n"
            "gate      a CA's hook before it issues the certificate in FILE (\"-\" or none:\n"
            "          stdin; EJBCA's External Command Certificate Validator): exit 0 when\n"
            "          it logs on with every profile, and one line on stdout; otherwise a\n"
            "          status above 0 and one line on stderr, which it writes to only then.\n"
            "          The verdict comes from the DIRECTORY, or from the strongmapd at\n"
            "          --daemon URL (POST /v1/verdict; --token-file: its bearer secret,\n"
            "          --cacert: the CA of its HTTPS certificate, --timeout: default 10)\n"
            "map       add the strong altSecurityIdentities value of the certificate in --cert\n"
            "          to account NAME (--type: X509IssuerSerialNumber, the default, X509SKI,\n"
            "          X509SHA1PublicKey, X509IssuerSID), or remove one value: a dry run unless\n"
            "          --apply, which writes with one LDAP modify (never a replace) and records\n"
            "          it in --audit-log; refused when another account holds the value or the\n"
            "          certificate's SID is another account's (--allow-foreign-sid); exit 3\n"
            "audit     every account with a published certificate or altSecurityIdentities:\n"
            "          status, verdicts, values linted, duplicates, stale values; one JSON\n"
            "          line (or CSV row) each and a summary, or one HTML report (docs/audit.md);\n"
            "          --since: whenChanged later than TIME; --fail-on: exit 3 when an account\n"
            "          is that or worse;\n"
            "          --page-size: LDAP entries per page (default 500); --progress: seconds\n"
            "          between progress lines on stderr (0: none; a terminal's is redrawn);\n"
            "          --certs: certificates from a file (PEM, DER, .p7b) or a folder, each\n"
            "          on the line of the account a DC maps it to (repeatable)\n"
            "\n"
            "  --text        human-readable output instead of JSON\n"
            "  --pretty      indented JSON\n"
            "  --at TIME     evaluate at TIME (RFC 3339, e.g. 2026-01-01T00:00:00Z)\n"
            "  --cert FILE   certificate to lint values against\n"
            "  --account NAME  the account to evaluate for: sAMAccountName, DOMAIN\\name, UPN,\n"
            "                SID, DN or DNS host name (default: the one the certificate names)\n"
            "\n"
            "WHAT-IF (verdict, account):\n"
            "  --profile P   DC profile: windows-2016, windows-2019, windows-2022 (also\n"
            "                windows-2025), samba; repeat for a fleet (default windows-2022).\n"
            "                Options follow as ,key=value: mode, backdating, update=YYYY-MM-DD,\n"
            "                UseSubjectAltName=0|1, AllowNtAuthPolicyBypass=0|1|2\n"
            "  --mode N      StrongCertificateBindingEnforcement for every profile: 1 or 2\n"
            "                (Samba: 0, 1 or 2; default 2)\n"
            "  --backdating S  CertificateBackdatingCompensation in seconds (default 600)\n"
            "  --samba-anchors FILE  the CA certificates Samba's KDC trusts (its\n"
            "                pkinit_anchors); without it they are assumed to include the issuer\n"
            "\n"
            "DIRECTORY (verdict, account, explain; one of --ldif, --ldap-uri):\n" OPT_DIR_USAGE "\n"
            "Exit status: 0 success (verdict: allow; account: ready), 1 bad input, 2 usage\n"
            "error, 3 verdict deny, account not ready, preissue refuse or deny as issued,\n"
            "map refused, "
            "4 directory unavailable (gate: also strongmapd unreachable or no verdict).\n",
            progname, progname, progname, progname, progname, progname, progname, progname,
            progname, progname, progname, progname, progname);
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * One line on stderr; returns the exit status for bad input. Arguments may quote user input:
 * control characters and bytes that are not UTF-8 are written as \xhh (text_escaped()) so the
 * message stays one line of valid text.
 */
static int fail(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (gate_msg) {
        if (gate_msg->len == 0)
            su_buf_puts(gate_msg, msg);
        return EXIT_INPUT;
    }
    fprintf(stderr, "%s: ", progname);
    text_escaped(stderr, msg, strlen(msg));
    fputc('\n', stderr);
    return EXIT_INPUT;
}

/* Read a whole file (or stdin for "-"/NULL), at most @max bytes. */
static int read_input(const char *path, size_t max, char **ret_buf, size_t *ret_len)
{
    FILE *f = (!path || strcmp(path, "-") == 0) ? stdin : fopen(path, "rb");
    struct su_buf b;
    int r;

    if (!f)
        return -errno;
    su_buf_init(&b, NULL, NULL);
    r = su_buf_read(&b, f, max);
    if (f != stdin)
        fclose(f);
    if (r < 0) {
        su_buf_release(&b);
        return r == -EFBIG ? SM_E_TOO_BIG : r;
    }
    *ret_buf = b.p;
    *ret_len = b.len;
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
    int r = read_input(path, SM_MAX_INPUT, &buf, &len);
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
        assert(certs); /* load_certs() returns 0 only with *ret set */
        if (certs->n_errors) {
            status = EXIT_INPUT;
            for (size_t k = 0; k < certs->n_errors; k++)
                text_printf(stderr, "%s: %s: block %u: %s\n", progname, path ? path : "stdin",
                            certs->errors[k].index, certs->errors[k].message);
        }
        if (o->text) {
            if (nfiles > 1)
                text_printf(stdout, "==> %s <==\n", path);
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
            int r = read_input(NULL, SM_MAX_INPUT, &stdin_buf, &list_len);
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
    int r;
    if (o->text) {
        if ((r = text_sid(stdout, &sid)) < 0)
            return fail("%s", sm_strerror(r));
        return 0;
    }
    if (sm_json_sid(&sid, o->json_flags, &json) < 0)
        return fail("out of memory");
    return emit(json);
}

/* ---- verdict and account --------------------------------------------------------------- */

/* Open the directory of @o; on failure print one line and return the exit status. */
static int open_dir(const struct opts *o, struct sm_dir **ret)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    char *password = NULL;
    int r;

    if (o->dir.password_file &&
        opt_read_password(o->dir.password_file, NULL, NULL, &password, &e) < 0)
        return fail("--ldap-password-file: %s", e.text);
    r = opt_dir_open(&o->dir, password, false, ret, &e);
    password = opt_password_free(password);
    if (r == 0)
        return 0;
    if (o->dir.ldif)
        return fail("%s", e.text[0] ? e.text : sm_strerror(r));
    fail("LDAP settings: %s", e.text[0] ? e.text : sm_strerror(r));
    return r == -EINVAL ? EXIT_USAGE : EXIT_INPUT;
}

/* One line for an engine error; the exit status that goes with it. */
static int dir_fail(int r, const struct sm_errinfo *e)
{
    const char *text = e->text[0] ? e->text : sm_strerror(r);

    if (r == SM_E_DIR_DOWN || r == SM_E_DIR_REFUSED) {
        fail("directory: %s", text);
        return EXIT_DIR;
    }
    return fail("%s", text);
}

/* Checks shared by verdict and account. */
static int need_dir(const struct opts *o, const char *cmd)
{
    if (opt_dir_configured(&o->dir))
        return 0;
    fprintf(stderr, "%s: %s needs a directory: --ldif FILE, or --ldap-uri URI --ldap-base DN\n",
            progname, cmd);
    return EXIT_USAGE;
}

/*
 * The verdict on @cert (NULL: the published certificate of --account) in the directory of @o;
 * on failure print one line and return the exit status. The Samba anchors and the directory
 * it opens are the caller's to free, after the verdict.
 */
static int evaluate(const struct opts *o, const struct sm_cert *cert, struct sm_certs **anchors,
                    struct sm_dir **dir, struct sm_verdict **ret)
{
    struct sm_errinfo e = { .offset = -1, .text = "" };
    int status, r;

    if (o->samba_anchors && (status = load_certs(o->samba_anchors, o, anchors)) != 0)
        return status;
    if ((status = open_dir(o, dir)) != 0)
        return status;
    struct sm_verdict_input in = {
        .cert = cert,
        .account = o->account,
        .profiles = o->profiles.v,
        .n_profiles = o->profiles.n,
        .at = o->at,
        .samba_anchors = *anchors,
    };
    if ((r = sm_verdict_evaluate(*dir, &in, ret, &e)) < 0)
        return dir_fail(r, &e);
    return 0;
}

static int cmd_verdict(int argc, char **argv, const struct opts *o)
{
    struct sm_certs *certs = NULL, *anchors = NULL;
    struct sm_verdict *v = NULL;
    struct sm_dir *dir = NULL;
    char *json;
    int status;

    if (argc > 1 || (argc == 0 && !o->account)) {
        fprintf(stderr,
                "%s: verdict needs one certificate FILE (\"-\": stdin), --account NAME, "
                "or both\n",
                progname);
        return EXIT_USAGE;
    }
    if ((status = need_dir(o, "verdict")) != 0)
        return status;
    if (argc == 1 && (status = load_certs(argv[0], o, &certs)) != 0)
        return status;
    if ((status = evaluate(o, certs ? &certs->certs[0] : NULL, &anchors, &dir, &v)) != 0)
        goto out;
    if (o->text) {
        text_verdict(stdout, v);
    } else {
        if (sm_json_verdict(v, o->json_flags, &json) < 0) {
            status = fail("out of memory");
            goto out;
        }
        if (emit(json) != 0) {
            status = EXIT_INPUT;
            goto out;
        }
    }
    status = v->allow ? 0 : EXIT_DENY;
out:
    sm_verdict_free(v);
    sm_dir_close(dir);
    sm_certs_free(certs);
    sm_certs_free(anchors);
    return status;
}

static int cmd_account(int argc, char **argv, const struct opts *o)
{
    struct sm_errinfo e = { .offset = -1, .text = "" };
    struct sm_account_status *s = NULL;
    struct sm_dir *dir = NULL;
    char *json;
    int status;

    if (argc != 1 || o->account) {
        fprintf(stderr, "%s: account takes one NAME (and no --account)\n", progname);
        return EXIT_USAGE;
    }
    if ((status = need_dir(o, "account")) != 0)
        return status;
    if ((status = open_dir(o, &dir)) != 0)
        return status;
    int r = sm_account_status(dir, argv[0], o->profiles.v, o->profiles.n, o->at, &s, &e);
    if (r < 0) {
        status = dir_fail(r, &e);
        goto out;
    }
    if (o->text) {
        text_account_status(stdout, s);
    } else {
        if (sm_json_account_status(s, o->json_flags, &json) < 0) {
            status = fail("out of memory");
            goto out;
        }
        if (emit(json) != 0) {
            status = EXIT_INPUT;
            goto out;
        }
    }
    status = s->readiness == SM_READY ? 0 : EXIT_DENY;
out:
    sm_account_status_free(s);
    sm_dir_close(dir);
    return status;
}

/* ---- explain ---------------------------------------------------------------------------- */

static int cmd_explain(int argc, char **argv, const struct opts *o)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_kdc_events *ev = NULL;
    struct sm_events_explanation *x = NULL;
    struct sm_dir *dir = NULL;
    const char *path = argc == 1 ? argv[0] : NULL;
    const char *name = path && strcmp(path, "-") != 0 ? path : "stdin";
    char *buf = NULL, *json;
    size_t len = 0;
    int status, r;

    if (argc > 1) {
        fprintf(stderr, "%s: explain reads one FILE (\"-\" or none: stdin)\n", progname);
        return EXIT_USAGE;
    }
    if ((r = read_input(path, SM_MAX_KDC_INPUT, &buf, &len)) < 0)
        return fail("%s: %s", name, sm_strerror(r));
    r = sm_kdc_events_parse(buf, len, &ev, &e);
    free(buf);
    if (r < 0)
        return fail("%s: %s", name, e.text[0] ? e.text : sm_strerror(r));
    if (ev->n == 0) {
        status = fail("%s: no KDC event 21, 39, 40, 41 or 45 in the input (%zu other events)", name,
                      ev->skipped);
        goto out;
    }
    if (opt_dir_configured(&o->dir) && (status = open_dir(o, &dir)) != 0)
        goto out;
    if ((r = sm_events_explain(dir, ev, 0, &x, &e)) < 0) { /* the admin's own input: no limit */
        status = dir_fail(r, &e);
        goto out;
    }
    if (o->text) {
        text_events(stdout, x);
        status = 0;
    } else if (sm_json_events(x, o->json_flags, &json) < 0) {
        status = fail("out of memory");
    } else {
        status = emit(json);
    }
out:
    sm_events_explanation_free(x);
    sm_kdc_events_free(ev);
    sm_dir_close(dir);
    return status;
}

/* ---- preissue --------------------------------------------------------------------------- */

/* Read the request in @path; on failure print one line and return EXIT_INPUT. */
static int load_csr(const char *path, struct sm_csr **ret)
{
    char *buf = NULL;
    size_t len = 0;
    const char *name = strcmp(path, "-") != 0 ? path : "stdin";
    int r = read_input(path, SM_MAX_INPUT, &buf, &len);
    if (r < 0)
        return fail("%s: %s", name, sm_strerror(r));
    struct sm_errinfo e = { 0 };
    r = sm_csr_parse(buf, len, ret, &e);
    free(buf);
    if (r < 0)
        return fail("%s: %s", name, e.text[0] ? e.text : sm_strerror(r));
    return 0;
}

static int write_extfile(const char *path, const struct sm_preissue *p)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!f)
        return fail("--openssl-extfile %s: %s", path, strerror(errno));
    extfile_preissue(f, p);
    if (f == stdout)
        return fflush(f) == 0 ? 0 : EXIT_INPUT;
    return fclose(f) == 0 ? 0 : fail("--openssl-extfile %s: %s", path, strerror(errno));
}

static int cmd_preissue(int argc, const struct opts *o)
{
    struct sm_errinfo e = { .offset = -1, .text = "" };
    struct sm_csr *csr = NULL;
    struct sm_certs *issuer = NULL;
    struct sm_preissue *p = NULL;
    struct sm_dir *dir = NULL;
    char *json;
    int status;

    if (argc > 0 || !o->csr_file || !o->account) {
        fprintf(stderr, "%s: preissue needs --csr FILE and --account NAME (no operands)\n",
                progname);
        return EXIT_USAGE;
    }
    if ((status = need_dir(o, "preissue")) != 0)
        return status;
    if ((status = load_csr(o->csr_file, &csr)) != 0)
        return status;
    assert(csr); /* load_csr() returns 0 only with *ret set */
    if (o->issuer_file && (status = load_certs(o->issuer_file, o, &issuer)) != 0)
        goto out;
    if ((status = open_dir(o, &dir)) != 0)
        goto out;
    struct sm_preissue_input in = {
        .request = csr->request,
        .csr = csr,
        .account = o->account,
        .profiles = o->profiles.v,
        .n_profiles = o->profiles.n,
        .at = o->at,
        .validity_days = o->validity_days,
        .issuer = issuer ? &issuer->certs[0] : NULL,
    };
    int r = sm_preissue_plan(dir, &in, &p, &e);
    if (r < 0) {
        status = dir_fail(r, &e);
        goto out;
    }
    if (o->extfile && (status = write_extfile(o->extfile, p)) != 0)
        goto out;
    if (o->extfile && strcmp(o->extfile, "-") == 0) {
        /* the extension file is the output */
    } else if (o->text) {
        text_preissue(stdout, p);
    } else {
        if (sm_json_preissue(p, o->json_flags, &json) < 0) {
            status = fail("out of memory");
            goto out;
        }
        if (emit(json) != 0) {
            status = EXIT_INPUT;
            goto out;
        }
    }
    status = !p->refuse && p->allow_as_issued ? 0 : EXIT_DENY;
out:
    sm_preissue_free(p);
    sm_dir_close(dir);
    sm_certs_free(issuer);
    sm_csr_free(csr);
    return status;
}

/* ---- gate ------------------------------------------------------------------------------- */

/* The exit status of a gate result. */
static int gate_status(enum gate_result g)
{
    switch (g) {
    case GATE_ALLOW: return 0;
    case GATE_DENY: return EXIT_DENY;
    case GATE_BAD_INPUT: return EXIT_INPUT;
    default: return EXIT_DIR;
    }
}

/* The verdict from the engine, judged as the daemon's would be. */
static int gate_local(const struct opts *o, const struct sm_cert *cert)
{
    struct sm_certs *anchors = NULL;
    struct sm_verdict *v = NULL;
    struct sm_dir *dir = NULL;
    int status;

    if ((status = evaluate(o, cert, &anchors, &dir, &v)) != 0)
        goto out;
    status = gate_status(gate_verdict(v, gate_msg));
out:
    sm_verdict_free(v);
    sm_dir_close(dir);
    sm_certs_free(anchors);
    return status;
}

/* The verdict from the strongmapd at --daemon. */
static int gate_daemon(const struct opts *o, const char *cert, size_t len)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct daemon_target t = {
        .url = o->daemon_url,
        .cacert = o->cacert,
        .timeout_ms = (o->timeout_s ? o->timeout_s : GATE_TIMEOUT_S) * 1000L,
    };
    char *token = NULL;
    int status;

    if (o->token_file && opt_read_password(o->token_file, NULL, NULL, &token, &e) < 0)
        return fail("--token-file: %s", e.text);
    t.token = token;
    status = gate_status(gate_ask(&t, &o->query, cert, len, gate_msg));
    opt_password_free(token);
    return status;
}

/*
 * Read one certificate (all of @path, at most SM_MAX_INPUT bytes, exactly one certificate and
 * no block in error) and judge it. Returns the exit status; the message is in gate_msg.
 */
static int gate_run(const char *path, const struct opts *o)
{
    const char *name = path && strcmp(path, "-") != 0 ? path : "stdin";
    struct sm_parse_opts po = { .now = o->at };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_certs *certs = NULL;
    char *buf = NULL;
    size_t len = 0;
    int status, r;

    if ((r = read_input(path, SM_MAX_INPUT, &buf, &len)) < 0)
        return fail("%s: %s", name, sm_strerror(r));
    if ((r = sm_certs_parse(buf, len, &po, &certs, &e)) < 0) {
        status = fail("%s: %s", name, e.text[0] ? e.text : sm_strerror(r));
        goto out;
    }
    if (certs->n_errors) {
        status = fail("%s: block %u: %s", name, certs->errors[0].index, certs->errors[0].message);
        goto out;
    }
    if (certs->n_certs != 1) {
        status = fail("%s: %zu certificates; the gate judges one, the one to be issued", name,
                      certs->n_certs);
        goto out;
    }
    status = o->daemon_url ? gate_daemon(o, buf, len) : gate_local(o, &certs->certs[0]);
out:
    sm_certs_free(certs);
    free(buf);
    return status;
}

static int cmd_gate(int argc, char **argv, const struct opts *o)
{
    struct su_buf msg;
    int status, saved, null_fd;

    if (argc > 1) {
        fprintf(stderr, "%s: gate reads one certificate FILE (\"-\" or none: stdin)\n", progname);
        return EXIT_USAGE;
    }
    if (!o->daemon_url && (status = need_dir(o, "gate")) != 0)
        return status;
    /* nothing reaches stderr until the verdict is known */
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved < 0 || null_fd < 0 || dup2(null_fd, STDERR_FILENO) < 0) {
        fprintf(stderr, "%s: gate: cannot hold stderr: %s\n", progname, strerror(errno));
        if (saved >= 0)
            close(saved);
        if (null_fd >= 0)
            close(null_fd);
        return EXIT_DIR;
    }
    close(null_fd);
    su_buf_init(&msg, NULL, NULL);
    gate_msg = &msg;
    status = gate_run(argc == 1 ? argv[0] : NULL, o);
    gate_msg = NULL;
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    if (msg.oom) {
        status = status ? status : EXIT_INPUT;
        fprintf(stderr, "%s: out of memory\n", progname);
    } else if (status == 0) {
        text_printf(stdout, "%s\n", su_buf_str(&msg));
        fflush(stdout);
    } else {
        fprintf(stderr, "%s: ", progname);
        text_escaped(stderr, msg.p ? msg.p : "no verdict", msg.p ? msg.len : 10);
        fputc('\n', stderr);
    }
    su_buf_release(&msg);
    return status;
}

/* ---- options ---------------------------------------------------------------------------- */

enum {
    OPT_TEXT = 't',
    OPT_PRETTY = 'p',
    OPT_AT = 'a',
    OPT_CERT = 'c',
    OPT_HELP = 'h',
    OPT_VERSION = 'V',
    OPT_ACCOUNT = 0x100,
    OPT_PROFILE,
    OPT_MODE,
    OPT_BACKDATING,
    OPT_SAMBA_ANCHORS,
    OPT_CSR,
    OPT_ISSUER,
    OPT_VALIDITY_DAYS,
    OPT_EXTFILE,
    OPT_JSON,
    OPT_DAEMON,
    OPT_TOKEN_FILE,
    OPT_CACERT,
    OPT_TIMEOUT,
};

static const struct option long_opts[] = {
    { "text", no_argument, NULL, OPT_TEXT },
    { "pretty", no_argument, NULL, OPT_PRETTY },
    { "at", required_argument, NULL, OPT_AT },
    { "cert", required_argument, NULL, OPT_CERT },
    { "help", no_argument, NULL, OPT_HELP },
    { "version", no_argument, NULL, OPT_VERSION },
    { "account", required_argument, NULL, OPT_ACCOUNT },
    { "profile", required_argument, NULL, OPT_PROFILE },
    { "mode", required_argument, NULL, OPT_MODE },
    { "backdating", required_argument, NULL, OPT_BACKDATING },
    { "samba-anchors", required_argument, NULL, OPT_SAMBA_ANCHORS },
    { "csr", required_argument, NULL, OPT_CSR },
    { "issuer", required_argument, NULL, OPT_ISSUER },
    { "validity-days", required_argument, NULL, OPT_VALIDITY_DAYS },
    { "openssl-extfile", required_argument, NULL, OPT_EXTFILE },
    { "json", no_argument, NULL, OPT_JSON },
    { "daemon", required_argument, NULL, OPT_DAEMON },
    { "token-file", required_argument, NULL, OPT_TOKEN_FILE },
    { "cacert", required_argument, NULL, OPT_CACERT },
    { "timeout", required_argument, NULL, OPT_TIMEOUT },
    OPT_DIR_LONGOPTS,
    MAP_LONGOPTS,
    AUDIT_LONGOPTS,
    { NULL, 0, NULL, 0 },
};

/*
 * Take option @id with @arg. Returns -1 to go on, or the exit status (0 after --help and
 * --version, EXIT_USAGE with a message on stderr).
 */
static int take_option(struct opts *o, int id, const char *arg)
{
    unsigned long long n;
    struct sm_errinfo e = SM_ERRINFO_INIT;

    switch (id) {
    case OPT_TEXT: o->text = true; break;
    case OPT_PRETTY: o->json_flags |= SM_JSON_PRETTY; break;
    case OPT_AT:
        if (opt_parse_time(arg, &o->at) < 0) {
            fprintf(stderr, "%s: --at: \"%s\" is not an RFC 3339 UTC time\n", progname, arg);
            return EXIT_USAGE;
        }
        o->query.at = arg;
        break;
    case OPT_CERT: o->cert_file = arg; break;
    case OPT_HELP: usage(stdout); return 0;
    case OPT_VERSION: printf("strongmap %s\n", sm_version()); return 0;
    case OPT_ACCOUNT:
        o->account = arg; /* checked by the engine, as a NAME operand is */
        o->query.account = arg;
        o->verdict_opts = true;
        break;
    case OPT_PROFILE:
        if (opt_profile_add(&o->profiles, arg, &e) < 0)
            goto out_err;
        o->query.profiles[o->query.n_profiles++] = arg; /* opt_profile_add() counted it */
        o->verdict_opts = true;
        break;
    case OPT_MODE:
        if (opt_parse_ull(arg, 2, &n) < 0) {
            fprintf(stderr, "%s: --mode: 1 or 2 (Samba: 0, 1 or 2)\n", progname);
            return EXIT_USAGE;
        }
        o->whatif.mode = (int)n;
        o->query.mode = arg;
        o->verdict_opts = true;
        break;
    case OPT_BACKDATING:
        if (opt_parse_ull(arg, OPT_BACKDATING_MAX, &n) < 0) {
            fprintf(stderr, "%s: --backdating: 0 to %lld seconds\n", progname, OPT_BACKDATING_MAX);
            return EXIT_USAGE;
        }
        o->whatif.backdating_s = (long long)n;
        o->query.backdating = arg;
        o->verdict_opts = true;
        break;
    case OPT_SAMBA_ANCHORS:
        o->samba_anchors = arg;
        o->verdict_opts = true;
        break;
    case OPT_CSR: o->csr_file = arg, o->preissue_opts = true; break;
    case OPT_ISSUER: o->issuer_file = arg, o->preissue_opts = true; break;
    case OPT_EXTFILE: o->extfile = arg, o->preissue_opts = true; break;
    case OPT_JSON: o->text = false, o->json = true; break;
    case OPT_DAEMON: o->daemon_url = arg, o->gate_opts = true; break;
    case OPT_TOKEN_FILE: o->token_file = arg, o->gate_opts = true; break;
    case OPT_CACERT: o->cacert = arg, o->gate_opts = true; break;
    case OPT_TIMEOUT:
        if (opt_parse_ull(arg, 300, &n) < 0 || n == 0) {
            fprintf(stderr, "%s: --timeout: 1 to 300 seconds\n", progname);
            return EXIT_USAGE;
        }
        o->timeout_s = (long)n;
        o->gate_opts = true;
        break;
    case OPT_VALIDITY_DAYS:
        if (opt_parse_ull(arg, 36500, &n) < 0 || n == 0) {
            fprintf(stderr, "%s: --validity-days: 1 to 36500\n", progname);
            return EXIT_USAGE;
        }
        o->validity_days = (long)n;
        o->preissue_opts = true;
        break;
    default:
        if (id >= MAP_OPT_APPLY && id <= MAP_OPT_WRITE_PASSWORD_FILE) {
            map_take_option(&o->map, id, arg);
            break;
        }
        if (id >= AUDIT_OPT_FORMAT && id <= AUDIT_OPT_CERTS) {
            if (audit_take_option(&o->audit, id, arg, &e) < 0)
                goto out_err;
            break;
        }
        if (opt_dir_set(&o->dir, id, arg, &e) < 0)
            goto out_err;
        break;
    }
    return -1;

out_err:
    fprintf(stderr, "%s: %s\n", progname, e.text);
    return EXIT_USAGE;
}

/*
 * After the options: do they suit the command? The what-if is applied to the profiles (the
 * engine's default profile when none is named). Returns -1 to go on, or EXIT_USAGE.
 */
static int check_options(struct opts *o, const char *cmd)
{
    bool gate = strcmp(cmd, "gate") == 0;
    bool dir_cmd = strcmp(cmd, "verdict") == 0 || strcmp(cmd, "account") == 0 ||
                   strcmp(cmd, "preissue") == 0 || strcmp(cmd, "map") == 0 ||
                   strcmp(cmd, "audit") == 0 || (gate && !o->daemon_url);
    struct sm_errinfo e = SM_ERRINFO_INIT;

    if (o->map.given && strcmp(cmd, "map") != 0) {
        fprintf(stderr,
                "%s: --apply, --type, --value, --allow-foreign-sid, --audit-log and the "
                "write bind are for map\n",
                progname);
        return EXIT_USAGE;
    }
    if (o->audit.given && strcmp(cmd, "audit") != 0) {
        fprintf(stderr,
                "%s: --format, --since, --fail-on, --page-size, --progress and --certs are for "
                "audit\n",
                progname);
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "audit") == 0 &&
        (o->text || o->json || o->json_flags || o->account || o->samba_anchors)) {
        fprintf(stderr,
                "%s: audit writes JSON lines, CSV or HTML (--format); --text, --json, --pretty, "
                "--account and --samba-anchors do not apply\n",
                progname);
        return EXIT_USAGE;
    }
    if (o->gate_opts && !gate) {
        fprintf(stderr, "%s: --daemon, --token-file, --cacert and --timeout are for gate\n",
                progname);
        return EXIT_USAGE;
    }
    if (gate && (o->text || o->json || o->json_flags)) {
        fprintf(stderr, "%s: gate writes one line; --text, --json and --pretty do not apply\n",
                progname);
        return EXIT_USAGE;
    }
    if (gate && o->daemon_url) {
        if (opt_dir_configured(&o->dir) || o->samba_anchors) {
            fprintf(stderr,
                    "%s: gate asks --daemon or reads the directory flags, not both "
                    "(--samba-anchors: the daemon's own)\n",
                    progname);
            return EXIT_USAGE;
        }
    }
    if (gate && !o->daemon_url && (o->token_file || o->cacert || o->timeout_s)) {
        fprintf(stderr, "%s: --token-file, --cacert and --timeout go with --daemon\n", progname);
        return EXIT_USAGE;
    }

    if (o->preissue_opts && strcmp(cmd, "preissue") != 0) {
        fprintf(stderr,
                "%s: --csr, --issuer, --validity-days and --openssl-extfile are for preissue\n",
                progname);
        return EXIT_USAGE;
    }
    if (o->json && strcmp(cmd, "preissue") != 0 && strcmp(cmd, "explain") != 0) {
        fprintf(stderr, "%s: --json is for preissue and explain\n", progname);
        return EXIT_USAGE;
    }

    if (strcmp(cmd, "explain") == 0) {
        if (o->verdict_opts || o->at) {
            fprintf(stderr, "%s: explain takes a FILE and the directory flags only\n", progname);
            return EXIT_USAGE;
        }
        if (opt_dir_configured(&o->dir) && opt_dir_check(&o->dir, &e) < 0)
            goto out_err;
        return -1;
    }

    if (!dir_cmd && !gate && (o->verdict_opts || opt_dir_configured(&o->dir))) {
        fprintf(stderr,
                "%s: --account, --profile, --mode, --backdating and the directory flags "
                "are for verdict and account\n",
                progname);
        return EXIT_USAGE;
    }
    if (!dir_cmd && !gate)
        return -1;
    if (dir_cmd && opt_dir_check(&o->dir, &e) < 0)
        goto out_err;
    /* gate --daemon: the daemon applies the what-if to the profiles named, checked here the
       same way first, or to its own default profiles */
    if (!dir_cmd && o->profiles.n == 0)
        return -1;
    if (o->profiles.n == 0 && (o->whatif.mode >= 0 || o->whatif.backdating_s >= 0))
        opt_profile_add(&o->profiles, "windows-2022", NULL);
    if (opt_whatif_apply(&o->profiles, &o->whatif, &e) < 0)
        goto out_err;
    return -1;

out_err:
    fprintf(stderr, "%s: %s\n", progname, e.text);
    return EXIT_USAGE;
}

static bool is_command(const char *word)
{
    static const char *const commands[] = { "inspect", "altsecid", "sid",     "verdict",
                                            "account", "preissue", "explain", "gate",
                                            "version", "map",      "audit" };

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(word, commands[i]) == 0)
            return true;
    return false;
}

int main(int argc, char **argv)
{
    struct opts o = { .whatif = OPT_WHATIF_NONE, .audit = AUDIT_OPTS_INIT };
    int c, r;

    if (argc > 0 && argv[0][0])
        progname = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    /* options before the subcommand; those after it are gathered below */
    while ((c = getopt_long(argc, argv, "+tpa:c:hV", long_opts, NULL)) != -1) {
        if (c == '?' || c == ':') {
            usage(stderr);
            return EXIT_USAGE;
        }
        if ((r = take_option(&o, c, optarg)) >= 0)
            return r;
    }
    if (optind >= argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[optind];
    /* EJBCA's External Command Certificate Validator runs "COMMAND TEMPFILE ARGUMENTS...": the
       certificate's file comes before "gate" (docs/integrations/ejbca.md) */
    char *first_file = NULL;
    if (optind + 1 < argc && strcmp(argv[optind + 1], "gate") == 0 && !is_command(cmd)) {
        first_file = argv[optind];
        cmd = argv[++optind];
    }
    /* gather options after the subcommand too ("--name VALUE" or "--name=VALUE"), keeping
       operands in order */
    int rest_argc = 0, status = -1;
    char **rest = calloc((size_t)argc, sizeof(char *));
    if (!rest)
        return EXIT_INPUT;
    if (first_file)
        rest[rest_argc++] = first_file;
    for (int i = optind + 1; i < argc && status < 0; i++) {
        const char *a = argv[i], *eq, *val = NULL;
        const struct option *opt = NULL;
        size_t len;

        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                rest[rest_argc++] = argv[i];
            break;
        }
        if (strncmp(a, "--", 2) != 0) {
            rest[rest_argc++] = argv[i];
            continue;
        }
        eq = strchr(a, '=');
        len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        for (const struct option *k = long_opts; k->name && !opt; k++)
            if (strlen(k->name) == len && strncmp(k->name, a + 2, len) == 0)
                opt = k;
        if (opt && opt->has_arg == required_argument)
            val = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!opt || (opt->has_arg == required_argument && !val) ||
            (opt->has_arg == no_argument && eq)) {
            fprintf(stderr, "%s: unknown or incomplete option %s\n", progname, a);
            status = EXIT_USAGE;
            break;
        }
        status = take_option(&o, opt->val, val);
    }
    if (status < 0)
        status = check_options(&o, cmd);
    if (status >= 0) {
        /* answered already: usage error, --help, --version */
    } else if (strcmp(cmd, "inspect") == 0) {
        status = cmd_inspect(rest_argc, rest, &o);
    } else if (strcmp(cmd, "altsecid") == 0) {
        status = cmd_altsecid(rest_argc, rest, &o);
    } else if (strcmp(cmd, "sid") == 0) {
        status = cmd_sid(rest_argc, rest, &o);
    } else if (strcmp(cmd, "verdict") == 0) {
        status = cmd_verdict(rest_argc, rest, &o);
    } else if (strcmp(cmd, "account") == 0) {
        status = cmd_account(rest_argc, rest, &o);
    } else if (strcmp(cmd, "preissue") == 0) {
        status = cmd_preissue(rest_argc, &o);
    } else if (strcmp(cmd, "explain") == 0) {
        status = cmd_explain(rest_argc, rest, &o);
    } else if (strcmp(cmd, "gate") == 0) {
        status = cmd_gate(rest_argc, rest, &o);
    } else if (strcmp(cmd, "map") == 0) {
        struct map_cmd mc = { .map = &o.map,
                              .dir = &o.dir,
                              .cert_file = o.cert_file,
                              .text = o.text,
                              .json_flags = o.json_flags,
                              .other_opts = o.verdict_opts || o.at };
        status = cmd_map(rest_argc, rest, &mc);
    } else if (strcmp(cmd, "audit") == 0) {
        struct audit_cmd ac = {
            .audit = &o.audit, .dir = &o.dir, .profiles = &o.profiles, .at = o.at
        };
        status = cmd_audit(rest_argc, rest, &ac);
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

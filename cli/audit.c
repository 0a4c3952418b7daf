/*
 * cli/audit.c - `strongmap audit`: every account with a published certificate or an
 * altSecurityIdentities value (docs/audit.md). The walk is the engine's (sm_audit_walk(): the
 * values first, then each account audited through a second handle, an LDAP paged search
 * keeping its connection to itself), and so is the report (sm_audit_report_*(): JSON lines, CSV
 * or HTML), the same code strongmapd's audit jobs run; this file opens the directory, reads the
 * --certs files (cli/audit_certs.c), writes the report to stdout and its progress to stderr,
 * and turns the outcome into an exit status.
 *
 * Progress goes to stderr: on a terminal one line redrawn (counts, rate, ETA), otherwise a
 * plain line every --progress seconds. SIGINT and SIGTERM stop the walk after the account
 * being audited; the output then ends with a last line that says it is partial (JSON: the
 * summary with "partial": true; CSV: a "# partial" comment), and a second signal kills at once.
 * Stopped in the first pass, the output is that last line alone.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <strongmap/strongmap.h>

#include "audit.h"
#include "su_buf.h"
#include "su_clock.h"
#include "text.h"

#define EXIT_INPUT 1
#define EXIT_USAGE 2
#define EXIT_DENY  3
#define EXIT_DIR   4

#define PROGRESS_DEFAULT_S 10
#define PROGRESS_MAX_S     86400
#define TTY_REDRAW_MS      250
#define STOPPED            (-EINTR) /* the callback's code after a signal */

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
    got_signal = sig;
}

int audit_take_option(struct audit_opts *a, int id, const char *arg, struct sm_errinfo *e)
{
    unsigned long long n;

    a->given = true;
    switch (id) {
    case AUDIT_OPT_FORMAT:
        if (strcmp(arg, "jsonl") != 0 && strcmp(arg, "csv") != 0 && strcmp(arg, "html") != 0) {
            snprintf(e->text, sizeof(e->text), "%s", "--format: jsonl, csv or html");
            return -EINVAL;
        }
        a->csv = strcmp(arg, "csv") == 0;
        a->html = strcmp(arg, "html") == 0;
        return 0;
    case AUDIT_OPT_SINCE:
        if (opt_parse_time(arg, &a->since) < 0) {
            snprintf(e->text, sizeof(e->text), "%s",
                     "--since: not an RFC 3339 time (e.g. 2026-01-01T00:00:00Z)");
            return -EINVAL;
        }
        return 0;
    case AUDIT_OPT_FAIL_ON:
        if (strcmp(arg, "at_risk") == 0)
            a->fail_on = SM_AT_RISK;
        else if (strcmp(arg, "blocked") == 0)
            a->fail_on = SM_BLOCKED;
        else {
            snprintf(e->text, sizeof(e->text), "%s", "--fail-on: at_risk or blocked");
            return -EINVAL;
        }
        return 0;
    case AUDIT_OPT_PAGE_SIZE:
        if (opt_parse_ull(arg, SM_DIR_PAGE_MAX, &n) < 0 || n == 0) {
            snprintf(e->text, sizeof(e->text), "%s", "--page-size: 1 to 1000 entries");
            return -EINVAL;
        }
        a->page_size = (unsigned)n;
        return 0;
    case AUDIT_OPT_CERTS:
        if (a->n_certs >= AUDIT_MAX_CERT_PATHS) {
            snprintf(e->text, sizeof(e->text), "--certs: at most %d times", AUDIT_MAX_CERT_PATHS);
            return -EINVAL;
        }
        a->certs[a->n_certs++] = arg;
        return 0;
    case AUDIT_OPT_PROGRESS:
        if (opt_parse_ull(arg, PROGRESS_MAX_S, &n) < 0) {
            snprintf(e->text, sizeof(e->text), "%s", "--progress: 0 (none) to 86400 seconds");
            return -EINVAL;
        }
        a->progress_s = (long)n;
        return 0;
    default: snprintf(e->text, sizeof(e->text), "%s", "unknown audit option"); return -EINVAL;
    }
}

/* ---- output --------------------------------------------------------------------------------- */

struct run {
    const struct audit_cmd *c;
    struct sm_audit *au;
    struct sm_dir *lookups; /* the second handle */
    int64_t start_us, last_ms;
    struct sm_audit_progress p; /* the walk's, as its last tick saw it */
    bool auditing;              /* in the second pass */
    bool tty;
    int err;                         /* the first write error */
    struct audit_certs_report certs; /* --certs */
    struct sm_audit_report *report;
    FILE *rows; /* --format html: the report's rows until the totals are known */
};

static int file_sink(void *ctx, const void *p, size_t len)
{
    return fwrite(p, 1, len, ctx) == len ? 0 : -EIO;
}

/* --format html: the rows kept in the temporary file, after the report's head. */
static int rows_replay(void *ctx, sm_audit_sink sink, void *sink_ctx)
{
    FILE *rows = ctx;
    char buf[65536];
    size_t n;
    int rc = 0;

    if (fflush(rows) != 0 || fseek(rows, 0, SEEK_SET) != 0)
        return -EIO;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), rows)) > 0)
        rc = sink(sink_ctx, buf, n);
    if (rc == 0 && ferror(rows))
        rc = -EIO;
    return rc;
}

/* ---- progress -------------------------------------------------------------------------------- */

static void progress(struct run *r, bool last)
{
    const struct audit_opts *o = r->c->audit;
    struct sm_audit_totals t;
    int64_t now = su_mono_ms();
    long every_ms = (o->progress_s < 0 ? PROGRESS_DEFAULT_S : o->progress_s) * 1000L;

    if (o->progress_s == 0)
        return;
    if (!last && now - r->last_ms < (r->tty ? TTY_REDRAW_MS : every_ms))
        return;
    r->last_ms = now;
    double s = (double)(su_mono_us() - r->start_us) / 1e6;
    if (!r->auditing) {
        fprintf(stderr, "%saudit: reading the values: %llu accounts, %.1f/s%s",
                r->tty ? "\r\033[K" : "", (unsigned long long)r->p.indexed,
                s > 0 ? (double)r->p.indexed / s : 0.0, r->tty && !last ? "" : "\n");
        fflush(stderr);
        return;
    }
    sm_audit_totals(r->au, &t);
    double rate = s > 0 ? (double)t.accounts / s : 0;
    uint64_t total = r->p.total;
    uint64_t guess = sm_audit_estimated_total(&r->p);
    char eta[128];
    if (guess && rate > 0) /* LDAP, the total partial: from the share of holders seen */
        snprintf(eta, sizeof(eta), "%llu of ~%llu, ETA ~%.0f s (estimated)",
                 (unsigned long long)t.accounts, (unsigned long long)guess,
                 guess > t.accounts ? (double)(guess - t.accounts) / rate : 0.0);
    else if (r->p.total_partial) /* LDAP: the first pass counted the values' holders alone */
        snprintf(eta, sizeof(eta), "%llu with values and those with certificates only",
                 (unsigned long long)total);
    else if (t.accounts > total) /* after the walk: the accounts certificates were given for */
        snprintf(eta, sizeof(eta), "%llu walked, then those certificates were given for",
                 (unsigned long long)total);
    else if (rate > 0)
        snprintf(eta, sizeof(eta), "%llu of %llu, ETA %.0f s", (unsigned long long)t.accounts,
                 (unsigned long long)total, (double)(total - t.accounts) / rate);
    else
        snprintf(eta, sizeof(eta), "%llu of %llu", (unsigned long long)t.accounts,
                 (unsigned long long)total);
    fprintf(stderr,
            "%saudit: %llu accounts (%llu ready, %llu at risk, %llu blocked, %llu errors), "
            "%.1f/s, %s%s",
            r->tty ? "\r\033[K" : "", (unsigned long long)t.accounts, (unsigned long long)t.ready,
            (unsigned long long)t.at_risk, (unsigned long long)t.blocked,
            (unsigned long long)t.errors, rate, eta, r->tty && !last ? "" : "\n");
    fflush(stderr);
}

/* ---- the walk (sm_audit_walk()) ------------------------------------------------------------- */

/* Before each account and at each pass: stop after a signal; the progress line. */
static int on_tick(void *ctx, const struct sm_audit_progress *p)
{
    struct run *r = ctx;

    if (got_signal)
        return STOPPED;
    r->p = *p;
    if (p->phase != SM_AUDIT_INDEXING && !r->auditing) { /* the first pass is done */
        progress(r, true);
        r->auditing = true;
        r->start_us = su_mono_us();
        r->last_ms = su_mono_ms();
    }
    progress(r, false);
    return 0;
}

/* Each account's line, on stdout. */
static int on_line(void *ctx, const struct sm_account *acc, const struct sm_audit_record *rec,
                   int code, const char *message)
{
    struct run *r = ctx;
    int rc = sm_audit_report_line(r->report, acc, rec, code, message);

    if (rc < 0 && !r->err)
        r->err = rc;
    if (ferror(stdout))
        r->err = -EIO;
    return r->err;
}

/* The audit's totals, with the --certs files that never reached the engine. */
static void totals(const struct run *r, struct sm_audit_totals *t)
{
    sm_audit_totals(r->au, t);
    if (r->c->audit->n_certs) {
        t->certs_given = true;
        t->given_unreadable += r->certs.files_skipped;
    }
}

/* The last line (or the HTML report's head, rows and tail): the totals, partial when @why says
   what stopped the walk. */
static void finish(struct run *r, const char *why)
{
    struct sm_audit_totals t;

    totals(r, &t);
    int rc = sm_audit_report_end(r->report, &t, why);
    if (rc < 0 && !r->err)
        r->err = rc;
    if (fflush(stdout) != 0)
        r->err = -EIO;
}

static int say(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* --certs: the certificates given, matched to their accounts before the walk. */
static int read_certs(struct run *r, struct sm_errinfo *e)
{
    const struct audit_opts *o = r->c->audit;
    const struct audit_certs_report *c = &r->certs;

    if (!o->n_certs)
        return 0;
    int rc = audit_read_certs(r->au, r->lookups, o->certs, o->n_certs, &got_signal, &r->certs, e);
    if (rc == -EINTR)
        return STOPPED;
    if (rc == 0 && o->progress_s != 0) {
        struct sm_audit_totals t;
        sm_audit_totals(r->au, &t);
        fprintf(stderr,
                "audit: --certs: %llu files, %llu certificates: %llu match an account, %llu "
                "none, %llu expired; %llu files skipped, %llu without a certificate, %llu "
                "others in folders left alone\n",
                (unsigned long long)c->files, (unsigned long long)c->certificates,
                (unsigned long long)t.given_matched, (unsigned long long)t.given_unmatched,
                (unsigned long long)t.given_expired, (unsigned long long)c->files_skipped,
                (unsigned long long)c->files_unread, (unsigned long long)c->ignored);
    }
    return rc;
}

static int say(int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fputs("strongmap: audit: ", stderr);
    text_escaped(stderr, msg, strlen(msg));
    fputc('\n', stderr);
    return status;
}

/* The report in the --format asked for, on stdout; for HTML a temporary file for its rows (the
   head comes first but needs the totals). */
static int report_start(struct run *r)
{
    const struct audit_opts *o = r->c->audit;
    const struct opt_dir *d = r->c->dir;
    char source[1024];
    struct sm_audit_html_opts ho = { .profiles = r->c->profiles->v,
                                     .n_profiles = r->c->profiles->n,
                                     .at = r->c->at,
                                     .source = source };
    struct sm_audit_report_opts ro = {
        .format = o->html  ? SM_AUDIT_HTML
                  : o->csv ? SM_AUDIT_CSV
                           : SM_AUDIT_JSONL,
        .out = file_sink,
        .out_ctx = stdout,
        .rows = file_sink,
        .replay = rows_replay,
        .html = &ho,
    };
    if (d->ldif)
        snprintf(source, sizeof(source), "LDIF %s", d->ldif);
    else
        snprintf(source, sizeof(source), "LDAP %s, base %s", d->n_uris ? d->uris[0] : "?",
                 d->base ? d->base : "?");
    if (o->html && !(r->rows = tmpfile()))
        return say(EXIT_INPUT, "a temporary file for the report's rows: %s", strerror(errno));
    ro.rows_ctx = r->rows;
    int rc = sm_audit_report_new(&ro, &r->report);
    if (rc == -EIO)
        return say(EXIT_INPUT, "cannot write the output");
    if (rc < 0)
        return say(EXIT_INPUT, "out of memory");
    return 0;
}

static int open_dirs(const struct opt_dir *d, struct sm_dir **walk, struct sm_dir **lookups)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    char *password = NULL;
    int r = 0;

    if (d->password_file && opt_read_password(d->password_file, NULL, NULL, &password, &e) < 0)
        return say(EXIT_INPUT, "--ldap-password-file: %s", e.text);
    if ((r = opt_dir_open(d, password, false, walk, &e)) == 0 && !d->ldif)
        r = opt_dir_open(d, password, false, lookups, &e);
    else if (r == 0)
        *lookups = NULL; /* an LDIF handle may be walked and asked at once */
    opt_password_free(password);
    if (r == 0)
        return 0;
    say(EXIT_INPUT, "%s", e.text[0] ? e.text : sm_strerror(r));
    return r == -EINVAL && !d->ldif ? EXIT_USAGE : EXIT_INPUT;
}

int cmd_audit(int argc, char **argv, const struct audit_cmd *c)
{
    const struct audit_opts *o = c->audit;
    struct sm_audit_opts ao = { .profiles = c->profiles->v,
                                .n_profiles = c->profiles->n,
                                .at = c->at };
    struct sm_audit_walk_opts wo = {
        .since = o->since, .page_size = o->page_size, .line = on_line, .tick = on_tick
    };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_dir *walk = NULL, *lookups = NULL;
    struct run r = { .c = c, .p.worst = -1, .tty = isatty(STDERR_FILENO) == 1 };
    struct sigaction sa, old_int, old_term;
    int status, rc;

    (void)argv;
    if (argc != 0)
        return say(EXIT_USAGE, "takes no operand: the directory flags say where to look");
    if (!opt_dir_configured(c->dir))
        return say(EXIT_USAGE, "needs a directory: --ldif FILE, or --ldap-uri URI --ldap-base DN");
    if (o->page_size && c->dir->ldif)
        return say(EXIT_USAGE, "--page-size is for LDAP (--ldap-uri)");
    if ((status = open_dirs(c->dir, &walk, &lookups)) != 0)
        goto out;
    if (sm_audit_new(&ao, &r.au) < 0) {
        status = say(EXIT_INPUT, "out of memory");
        goto out;
    }
    r.lookups = lookups ? lookups : walk;
    wo.ctx = &r;

    /* SIGINT and SIGTERM end the walk after the current account; a second one kills */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = (int)SA_RESETHAND; /* no SA_RESTART: a blocked read returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    if ((status = report_start(&r)) != 0)
        goto out_signals;
    rc = read_certs(&r, &e);
    r.start_us = su_mono_us();
    r.last_ms = su_mono_ms();
    if (rc == 0)
        rc = sm_audit_walk(r.au, walk, r.lookups, &wo, &r.p, &e);
    progress(&r, true);

    struct sm_audit_totals t;
    totals(&r, &t);
    if (got_signal) {
        finish(&r, got_signal == SIGINT ? "SIGINT" : "SIGTERM");
        say(0, "interrupted after %llu accounts: the output is partial",
            (unsigned long long)t.accounts);
        status = 128 + got_signal;
    } else if (r.err == -EIO) {
        status = say(EXIT_INPUT, "cannot write the output");
    } else if (rc < 0) {
        bool dir = rc == SM_E_DIR_DOWN || rc == SM_E_DIR_REFUSED || rc == SM_E_DIR_LIMIT;
        const char *why = e.text[0] ? e.text : sm_strerror(rc);
        finish(&r, dir ? "directory" : "error");
        status = say(rc == SM_E_DIR_DOWN || rc == SM_E_DIR_REFUSED ? EXIT_DIR : EXIT_INPUT,
                     "%s%s (the output is partial)", dir ? "directory: " : "", why);
    } else {
        finish(&r, NULL);
        if (r.err)
            status = say(EXIT_INPUT, "%s", sm_strerror(r.err));
        else if (t.errors)
            status = say(EXIT_INPUT, "%llu accounts could not be audited (status \"error\")",
                         (unsigned long long)t.errors);
        else if (o->fail_on >= 0 && r.p.worst >= o->fail_on)
            status = EXIT_DENY;
        else
            status = 0;
    }
out_signals:
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
out:
    sm_audit_report_free(r.report);
    if (r.rows)
        fclose(r.rows);
    sm_audit_free(r.au);
    sm_dir_close(lookups);
    sm_dir_close(walk);
    return status;
}

/*
 * cli/audit.c - `strongmap audit`: every account with a published certificate or an
 * altSecurityIdentities value, walked twice with sm_dir_each_account() on one directory handle
 * (an LDAP paged search keeps its connection to itself): first for the values alone
 * (sm_audit_index(): which values several accounts hold, and how many accounts there are),
 * then whole, each account audited with sm_audit_account() through a second handle and
 * written as JSON lines or CSV as it is done (docs/audit.md).
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
    uint64_t indexed; /* accounts the first pass read */
    uint64_t total;   /* accounts the second will audit (the first pass counts them) */
    bool auditing;    /* in the second pass */
    bool tty;
    int worst;                       /* the worst readiness seen, -1: none */
    int err;                         /* the first write error */
    struct sm_errinfo stop;          /* why the lookups stopped the walk */
    struct audit_certs_report certs; /* --certs */
    struct sm_audit_html *html;      /* --format html: the report */
    FILE *rows;                      /* ... its rows until the totals are known */
};

static int file_sink(void *ctx, const void *p, size_t len)
{
    return fwrite(p, 1, len, ctx) == len ? 0 : -EIO;
}

/* One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF; a field that a
   spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe. */
static void csv_field(FILE *f, const char *s, bool last)
{
    if (!s)
        s = "";
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
    if (quote)
        fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    if (quote)
        fputc('"', f);
    fputc(last ? '\n' : ',', f);
}

static void csv_header(FILE *f)
{
    fputs("dn,sam,upn,computer,enabled,status,profiles,reasons,certificates,"
          "certificates_denied,certificates_given,values,duplicates,stale,samba_only,"
          "windows_only,fix\n",
          f);
}

static void csv_record(FILE *f, const struct sm_audit_record *rec)
{
    const struct sm_account_status *s = rec->status;
    const struct sm_account *a = s->account;
    char buf[64];
    size_t denied = 0;
    struct su_buf b;

    su_buf_init(&b, NULL, NULL);
    csv_field(f, a->dn, false);
    csv_field(f, a->sam, false);
    csv_field(f, a->upn, false);
    csv_field(f, a->is_computer ? "true" : "false", false);
    csv_field(f, a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE) ? "false" : "true", false);
    csv_field(f, sm_readiness_name(s->readiness), false);
    for (size_t i = 0; i < rec->n_profiles; i++)
        su_buf_printf(&b, "%s%s=%s", i ? ";" : "", sm_profile_name(s->profiles[i].kind),
                      sm_readiness_name(rec->profile_readiness[i]));
    csv_field(f, su_buf_str(&b), false);
    su_buf_release(&b);
    su_buf_init(&b, NULL, NULL);
    for (size_t i = 0; i < s->n_reasons; i++)
        su_buf_printf(&b, "%s%s", b.len ? ";" : "", s->reasons[i].code);
    const struct {
        size_t n;
        const char *code;
    } extra[] = { { rec->n_duplicates, "duplicate_value" },
                  { rec->n_stale, "stale_value" },
                  { rec->n_samba_only, "samba_only_value" },
                  { rec->n_windows_only, "windows_only_value" } };
    for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]); i++)
        if (extra[i].n)
            su_buf_printf(&b, "%s%s", b.len ? ";" : "", extra[i].code);
    csv_field(f, su_buf_str(&b), false);
    for (size_t i = 0; i < s->n_cert_verdicts; i++)
        denied += !s->cert_verdicts[i]->allow;
    const size_t nums[] = {
        s->n_cert_verdicts, denied,       s->n_given,        rec->n_values,
        rec->n_duplicates,  rec->n_stale, rec->n_samba_only, rec->n_windows_only
    };
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        snprintf(buf, sizeof(buf), "%zu", nums[i]);
        csv_field(f, buf, false);
    }
    su_buf_release(&b);
    su_buf_init(&b, NULL, NULL);
    for (size_t i = 0; i < rec->n_fixes; i++)
        su_buf_printf(&b, "%s%s", i ? " | " : "", rec->fixes[i]);
    csv_field(f, su_buf_str(&b), true);
    su_buf_release(&b);
}

static void csv_error(FILE *f, const struct sm_account *a, int code, const char *message)
{
    csv_field(f, a->dn, false);
    csv_field(f, a->sam, false);
    csv_field(f, a->upn, false);
    csv_field(f, a->is_computer ? "true" : "false", false);
    csv_field(f, a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE) ? "false" : "true", false);
    csv_field(f, "error", false);
    csv_field(f, "", false);
    csv_field(f, sm_audit_error_name(code), false);
    for (int i = 0; i < 8; i++)
        csv_field(f, "", false);
    csv_field(f, message, true);
}

/* The JSON document @json (taken) as one line. */
static void put_json(struct run *r, int rc, char *json)
{
    if (rc < 0) {
        r->err = rc;
        return;
    }
    fputs(json, stdout);
    fputc('\n', stdout);
    free(json);
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
                r->tty ? "\r\033[K" : "", (unsigned long long)r->indexed,
                s > 0 ? (double)r->indexed / s : 0.0, r->tty && !last ? "" : "\n");
        fflush(stderr);
        return;
    }
    sm_audit_totals(r->au, &t);
    double rate = s > 0 ? (double)t.accounts / s : 0;
    char eta[96];
    if (t.accounts > r->total) /* after the walk: the accounts certificates were given for */
        snprintf(eta, sizeof(eta), "%llu walked, then those certificates were given for",
                 (unsigned long long)r->total);
    else if (rate > 0)
        snprintf(eta, sizeof(eta), "%llu of %llu, ETA %.0f s", (unsigned long long)t.accounts,
                 (unsigned long long)r->total, (double)(r->total - t.accounts) / rate);
    else
        snprintf(eta, sizeof(eta), "%llu of %llu", (unsigned long long)t.accounts,
                 (unsigned long long)r->total);
    fprintf(stderr,
            "%saudit: %llu accounts (%llu ready, %llu at risk, %llu blocked, %llu errors), "
            "%.1f/s, %s%s",
            r->tty ? "\r\033[K" : "", (unsigned long long)t.accounts, (unsigned long long)t.ready,
            (unsigned long long)t.at_risk, (unsigned long long)t.blocked,
            (unsigned long long)t.errors, rate, eta, r->tty && !last ? "" : "\n");
    fflush(stderr);
}

/* ---- the walk -------------------------------------------------------------------------------- */

static int on_account(const struct sm_account *acc, void *ctx)
{
    struct run *r = ctx;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_audit_record *rec = NULL;
    char *json = NULL;

    if (got_signal)
        return STOPPED;
    int rc = sm_audit_account(r->au, r->lookups, acc, &rec, &e);
    if (rc == SM_E_DIR_DOWN || rc == SM_E_DIR_REFUSED || rc == -ENOMEM) {
        r->stop = e; /* the lookups' directory is gone or refuses: every account would fail */
        return rc;
    }
    if (rc < 0) { /* this account alone: say so and go on */
        if (r->html) {
            int hr = sm_audit_html_error(r->html, acc, rc, e.text, file_sink, r->rows);
            r->err = hr < 0 ? hr : r->err;
        } else if (r->c->audit->csv)
            csv_error(stdout, acc, rc, e.text[0] ? e.text : sm_strerror(rc));
        else {
            int jr = sm_json_audit_error(acc, rc, e.text, 0, &json);
            put_json(r, jr, json);
        }
    } else {
        if ((int)rec->status->readiness > r->worst)
            r->worst = (int)rec->status->readiness;
        if (r->html) {
            int hr = sm_audit_html_record(r->html, rec, file_sink, r->rows);
            r->err = hr < 0 ? hr : r->err;
        } else if (r->c->audit->csv)
            csv_record(stdout, rec);
        else {
            int jr = sm_json_audit_record(rec, 0, &json);
            put_json(r, jr, json);
        }
        sm_audit_record_free(rec);
    }
    if (ferror(stdout))
        r->err = -EIO;
    progress(r, false);
    return r->err;
}

/* The first pass: the account's values into the audit's set, and the accounts counted. */
static int index_one(const struct sm_account *acc, void *ctx)
{
    struct run *r = ctx;
    time_t since = r->c->audit->since;

    if (got_signal)
        return STOPPED;
    int rc = sm_audit_index(r->au, acc);
    if (rc < 0)
        return rc;
    r->indexed++;
    r->total += !since || (acc->has_changed && acc->changed > since);
    progress(r, false);
    return 0;
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

/* The report: its head (the totals known now), the rows kept aside, its tail. */
static void html_finish(struct run *r, const struct sm_audit_totals *t, const char *why)
{
    char buf[65536];
    size_t n;
    int rc = sm_audit_html_head(r->html, t, why != NULL, why, file_sink, stdout);
    if (rc == 0 && (fflush(r->rows) != 0 || fseek(r->rows, 0, SEEK_SET) != 0))
        rc = -EIO;
    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), r->rows)) > 0)
        rc = file_sink(stdout, buf, n);
    if (rc == 0 && ferror(r->rows))
        rc = -EIO;
    if (rc == 0)
        rc = sm_audit_html_tail(r->html, file_sink, stdout);
    if (rc < 0 && !r->err)
        r->err = rc;
}

/* The last line: the totals, partial when @why says what stopped the walk. */
static void finish(struct run *r, const char *why)
{
    struct sm_audit_totals t;
    char *json = NULL;

    totals(r, &t);
    if (r->html) {
        html_finish(r, &t, why);
    } else if (r->c->audit->csv) {
        printf("# %s%s%s: %llu accounts (%llu ready, %llu at_risk, %llu blocked, %llu errors); "
               "%llu duplicate, %llu stale, %llu samba_only, %llu windows_only values",
               why ? "partial, stopped by " : "complete", why ? why : "", "",
               (unsigned long long)t.accounts, (unsigned long long)t.ready,
               (unsigned long long)t.at_risk, (unsigned long long)t.blocked,
               (unsigned long long)t.errors, (unsigned long long)t.duplicate_values,
               (unsigned long long)t.stale_values, (unsigned long long)t.samba_only_values,
               (unsigned long long)t.windows_only_values);
        if (t.certs_given)
            printf("; %llu certificates given (%llu matched, %llu unmatched, %llu repeated, %llu "
                   "expired, %llu unreadable)",
                   (unsigned long long)t.given, (unsigned long long)t.given_matched,
                   (unsigned long long)t.given_unmatched, (unsigned long long)t.given_repeated,
                   (unsigned long long)t.given_expired, (unsigned long long)t.given_unreadable);
        putchar('\n');
    } else {
        int jr = sm_json_audit_summary(&t, why != NULL, why, 0, &json);
        put_json(r, jr, json);
    }
    if (fflush(stdout) != 0)
        r->err = -EIO;
}

static int say(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* After the walk: the accounts that certificates were given for and the walk did not give
   (no published certificate, no value: mapped by their UPN, say), --since applying. */
static int given_accounts(struct run *r, struct sm_errinfo *e)
{
    time_t since = r->c->audit->since;
    struct sm_accounts *found = NULL;
    int n = 0, rc = 0;

    while (rc == 0 && (n = sm_audit_given_next(r->au, r->lookups, &found, e)) == 1) {
        const struct sm_account *acc = &found->v[0];
        if (!since || (acc->has_changed && acc->changed > since))
            rc = on_account(acc, r);
        found = sm_accounts_free(found);
    }
    return rc < 0 ? rc : n;
}

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

/* --format html: the report, and a temporary file for its rows (the head comes first but
   needs the totals). */
static int html_start(struct run *r)
{
    const struct opt_dir *d = r->c->dir;
    char source[1024];
    struct sm_audit_html_opts ho = { .profiles = r->c->profiles->v,
                                     .n_profiles = r->c->profiles->n,
                                     .at = r->c->at,
                                     .source = source };
    if (d->ldif)
        snprintf(source, sizeof(source), "LDIF %s", d->ldif);
    else
        snprintf(source, sizeof(source), "LDAP %s, base %s", d->n_uris ? d->uris[0] : "?",
                 d->base ? d->base : "?");
    if (sm_audit_html_new(&ho, &r->html) < 0)
        return say(EXIT_INPUT, "out of memory");
    if (!(r->rows = tmpfile()))
        return say(EXIT_INPUT, "a temporary file for the report's rows: %s", strerror(errno));
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
    /* the first pass reads every account's values, --since or not: a value an account
       changed lately shares with one that did not is a duplicate all the same */
    struct sm_dir_each_opts io = { .page_size = o->page_size, .values_only = true };
    struct sm_dir_each_opts wo = { .since = o->since, .page_size = o->page_size };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_dir *walk = NULL, *lookups = NULL;
    struct run r = { .c = c, .worst = -1, .tty = isatty(STDERR_FILENO) == 1 };
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
    if (o->html && (status = html_start(&r)) != 0)
        goto out;

    /* SIGINT and SIGTERM end the walk after the current account; a second one kills */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = (int)SA_RESETHAND; /* no SA_RESTART: a blocked read returns */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);

    if (o->csv)
        csv_header(stdout);
    rc = read_certs(&r, &e);
    r.start_us = su_mono_us();
    r.last_ms = su_mono_ms();
    if (rc == 0)
        rc = sm_dir_each_account(walk, &io, index_one, &r, &e);
    if (rc == 0) {
        progress(&r, true);
        r.auditing = true;
        r.start_us = su_mono_us();
        r.last_ms = su_mono_ms();
        rc = sm_dir_each_account(walk, &wo, on_account, &r, &e);
    }
    if (rc == 0)
        rc = given_accounts(&r, &e);
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
        const char *why = e.text[0] ? e.text : r.stop.text[0] ? r.stop.text : sm_strerror(rc);
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
        else if (o->fail_on >= 0 && r.worst >= o->fail_on)
            status = EXIT_DENY;
        else
            status = 0;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
out:
    sm_audit_html_free(r.html);
    if (r.rows)
        fclose(r.rows);
    sm_audit_free(r.au);
    sm_dir_close(lookups);
    sm_dir_close(walk);
    return status;
}

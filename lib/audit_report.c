/*
 * lib/audit_report.c - an audit's report in one format (strongmap/audit.h, docs/audit.md): JSON
 * lines (lib/json_audit.c's documents), CSV (written here) or the HTML report
 * (lib/html_audit.c), each line to the caller's sink as it comes. `strongmap audit` writes one
 * to its standard output, strongmapd's audit jobs to memory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <strongmap/strongmap.h>

#include "alloc.h"
#include "audit_internal.h"
#include "util.h"

struct sm_audit_report {
    enum sm_audit_format format;
    sm_audit_sink out;
    void *out_ctx;
    sm_audit_sink rows;
    void *rows_ctx;
    int (*replay)(void *rows_ctx, sm_audit_sink sink, void *sink_ctx);
    struct sm_audit_html *html; /* HTML */
};

static const char *const format_names[SM_AUDIT__FORMATS] = { "jsonl", "csv", "html" };

const char *sm_audit_format_name(enum sm_audit_format f)
{
    return (unsigned)f < SM_AUDIT__FORMATS ? format_names[f] : NULL;
}

int sm_audit_format_parse(const char *name, enum sm_audit_format *ret)
{
    for (unsigned i = 0; name && i < SM_AUDIT__FORMATS; i++) {
        if (strcmp(name, format_names[i]) == 0) {
            *ret = (enum sm_audit_format)i;
            return 0;
        }
    }
    return -EINVAL;
}

/* ---- CSV ------------------------------------------------------------------------------------ */

/* One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF; a field that a
   spreadsheet would run as a formula (=, +, -, @ first) gets a leading apostrophe. */
static void csv_field(struct su_buf *b, const char *s, bool last)
{
    if (!s)
        s = "";
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@';
    if (quote)
        su_buf_putc(b, '"');
    if (formula)
        su_buf_putc(b, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            su_buf_putc(b, '"');
        su_buf_putc(b, *p);
    }
    if (quote)
        su_buf_putc(b, '"');
    su_buf_putc(b, last ? '\n' : ',');
}

static const char csv_head[] =
    "dn,sam,upn,computer,enabled,status,profiles,reasons,certificates,certificates_denied,"
    "certificates_given,values,duplicates,stale,samba_only,windows_only,fix\n";

static void csv_identity(struct su_buf *b, const struct sm_account *a)
{
    csv_field(b, a->dn, false);
    csv_field(b, a->sam, false);
    csv_field(b, a->upn, false);
    csv_field(b, a->is_computer ? "true" : "false", false);
    csv_field(b, a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE) ? "false" : "true", false);
}

size_t audit_value_reasons(const struct sm_audit_record *rec,
                           const char *codes[AUDIT_VALUE_REASONS])
{
    const struct {
        size_t n;
        const char *code;
    } v[AUDIT_VALUE_REASONS] = { { rec->n_duplicates, "duplicate_value" },
                                 { rec->n_stale, "stale_value" },
                                 { rec->n_samba_only, "samba_only_value" },
                                 { rec->n_windows_only, "windows_only_value" } };
    size_t n = 0;

    for (size_t i = 0; i < AUDIT_VALUE_REASONS; i++)
        if (v[i].n)
            codes[n++] = v[i].code;
    return n;
}

/* The row of @rec into @b; @t is scratch for the joined fields. */
static void csv_record(struct su_buf *b, struct su_buf *t, const struct sm_audit_record *rec)
{
    const struct sm_account_status *s = rec->status;
    char num[32];
    size_t denied = 0;

    csv_identity(b, s->account);
    csv_field(b, sm_readiness_name(s->readiness), false);
    for (size_t i = 0; i < rec->n_profiles; i++)
        su_buf_printf(t, "%s%s=%s", i ? ";" : "", sm_profile_name(s->profiles[i].kind),
                      sm_readiness_name(rec->profile_readiness[i]));
    csv_field(b, t->len ? t->p : "", false);
    t->len = 0;
    for (size_t i = 0; i < s->n_reasons; i++)
        su_buf_printf(t, "%s%s", t->len ? ";" : "", s->reasons[i].code);
    const char *extra[AUDIT_VALUE_REASONS];
    for (size_t i = 0, n = audit_value_reasons(rec, extra); i < n; i++)
        su_buf_printf(t, "%s%s", t->len ? ";" : "", extra[i]);
    csv_field(b, t->len ? t->p : "", false);
    t->len = 0;
    for (size_t i = 0; i < s->n_cert_verdicts; i++)
        denied += !s->cert_verdicts[i]->allow;
    const size_t nums[] = {
        s->n_cert_verdicts, denied,       s->n_given,        rec->n_values,
        rec->n_duplicates,  rec->n_stale, rec->n_samba_only, rec->n_windows_only
    };
    for (size_t i = 0; i < ARRAY_SIZE(nums); i++) {
        snprintf(num, sizeof(num), "%zu", nums[i]);
        csv_field(b, num, false);
    }
    for (size_t i = 0; i < rec->n_fixes; i++)
        su_buf_printf(t, "%s%s", i ? " | " : "", rec->fixes[i]);
    csv_field(b, t->len ? t->p : "", true);
}

/* The row of an account that could not be audited: status "error", its code as the reasons and
   its message as the fix. */
static void csv_error(struct su_buf *b, const struct sm_account *a, int code, const char *message)
{
    csv_identity(b, a);
    csv_field(b, "error", false);
    csv_field(b, "", false);
    csv_field(b, sm_audit_error_name(code), false);
    for (int i = 0; i < 8; i++)
        csv_field(b, "", false);
    csv_field(b, message && message[0] ? message : sm_strerror(code), true);
}

/* The last line, a comment: complete or partial, the totals. */
static void csv_summary(struct su_buf *b, const struct sm_audit_totals *t, const char *why)
{
    su_buf_printf(b,
                  "# %s%s: %llu accounts (%llu ready, %llu at_risk, %llu blocked, %llu errors); "
                  "%llu duplicate, %llu stale, %llu samba_only, %llu windows_only values",
                  why ? "partial, stopped by " : "complete", why ? why : "",
                  (unsigned long long)t->accounts, (unsigned long long)t->ready,
                  (unsigned long long)t->at_risk, (unsigned long long)t->blocked,
                  (unsigned long long)t->errors, (unsigned long long)t->duplicate_values,
                  (unsigned long long)t->stale_values, (unsigned long long)t->samba_only_values,
                  (unsigned long long)t->windows_only_values);
    if (t->certs_given)
        su_buf_printf(b,
                      "; %llu certificates given (%llu matched, %llu unmatched, %llu repeated, "
                      "%llu expired, %llu unreadable)",
                      (unsigned long long)t->given, (unsigned long long)t->given_matched,
                      (unsigned long long)t->given_unmatched, (unsigned long long)t->given_repeated,
                      (unsigned long long)t->given_expired,
                      (unsigned long long)t->given_unreadable);
    su_buf_putc(b, '\n');
}

/* ---- the report ----------------------------------------------------------------------------- */

/* @b's text to the report's sink, and @b emptied. */
static int flush(struct sm_audit_report *r, struct su_buf *b)
{
    int rc = b->oom ? -ENOMEM : b->len ? r->out(r->out_ctx, b->p, b->len) : 0;
    b->len = 0;
    return rc;
}

/* A JSON document (taken) as one line. */
static int json_line(struct sm_audit_report *r, int rc, char *json)
{
    if (rc < 0)
        return rc;
    size_t len = strlen(json);
    json[len] = '\n'; /* the NUL's place: the line written at once */
    rc = r->out(r->out_ctx, json, len + 1);
    mem_free(json);
    return rc;
}

int sm_audit_report_new(const struct sm_audit_report_opts *o, struct sm_audit_report **ret)
{
    struct sm_audit_report *r;
    int rc = 0;

    if (!o || !o->out || (unsigned)o->format >= SM_AUDIT__FORMATS ||
        (o->format == SM_AUDIT_HTML && (!o->rows || !o->replay)))
        return -EINVAL;
    if (!(r = mem_calloc(1, sizeof(*r))))
        return -ENOMEM;
    r->format = o->format;
    r->out = o->out;
    r->out_ctx = o->out_ctx;
    r->rows = o->rows;
    r->rows_ctx = o->rows_ctx;
    r->replay = o->replay;
    if (o->format == SM_AUDIT_HTML) {
        struct sm_audit_html_opts none = { 0 };
        rc = sm_audit_html_new(o->html ? o->html : &none, &r->html);
    } else if (o->format == SM_AUDIT_CSV) {
        rc = r->out(r->out_ctx, csv_head, sizeof(csv_head) - 1);
    }
    if (rc < 0) {
        sm_audit_report_free(r);
        return rc;
    }
    *ret = r;
    return 0;
}

struct sm_audit_report *sm_audit_report_free(struct sm_audit_report *r)
{
    if (!r)
        return NULL;
    sm_audit_html_free(r->html);
    mem_free(r);
    return NULL;
}

int sm_audit_report_line(struct sm_audit_report *r, const struct sm_account *acc,
                         const struct sm_audit_record *rec, int code, const char *message)
{
    struct su_buf b, t;
    char *json = NULL;
    int rc;

    switch (r->format) {
    case SM_AUDIT_HTML:
        if (rec)
            return sm_audit_html_record(r->html, rec, r->rows, r->rows_ctx);
        return sm_audit_html_error(r->html, acc, code, message, r->rows, r->rows_ctx);
    case SM_AUDIT_CSV:
        arena_buf_init(&b, NULL);
        arena_buf_init(&t, NULL);
        if (rec)
            csv_record(&b, &t, rec);
        else
            csv_error(&b, acc, code, message);
        rc = t.oom ? -ENOMEM : flush(r, &b);
        su_buf_release(&t);
        su_buf_release(&b);
        return rc;
    default:
        if (rec)
            rc = sm_json_audit_record(rec, 0, &json);
        else
            rc = sm_json_audit_error(acc, code, message, 0, &json);
        return json_line(r, rc, json);
    }
}

int sm_audit_report_end(struct sm_audit_report *r, const struct sm_audit_totals *t, const char *why)
{
    struct su_buf b;
    char *json = NULL;
    int rc;

    switch (r->format) {
    case SM_AUDIT_HTML:
        rc = sm_audit_html_head(r->html, t, why != NULL, why, r->out, r->out_ctx);
        if (rc == 0)
            rc = r->replay(r->rows_ctx, r->out, r->out_ctx);
        if (rc == 0)
            rc = sm_audit_html_tail(r->html, r->out, r->out_ctx);
        return rc;
    case SM_AUDIT_CSV:
        arena_buf_init(&b, NULL);
        csv_summary(&b, t, why);
        rc = flush(r, &b);
        su_buf_release(&b);
        return rc;
    default:
        rc = sm_json_audit_summary(t, why != NULL, why, 0, &json);
        return json_line(r, rc, json);
    }
}

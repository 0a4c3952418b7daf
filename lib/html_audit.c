/*
 * lib/html_audit.c - the audit's report as one HTML file (strongmap/audit.h, docs/audit.md):
 * no external asset, readable offline and without script. The totals, and charts drawn here as
 * inline SVG (by status, reason, issuing CA, template and DC profile); then a table with a row
 * per account and its fix, which a small script sorts (a button in each column's header) and
 * filters. The style and the script are one element each, fixed text, allowed by their SHA-256
 * in the file's own Content-Security-Policy (no 'unsafe-inline'), as a server that serves the
 * file would allow them (sm_audit_html_csp()).
 *
 * Rows come as the accounts are audited and are written to the caller's sink (a temporary
 * file), the charts' counts kept here; the document's head, which needs the totals, is written
 * once they are known, then the caller copies the rows, then the tail. Every text from the
 * directory or a certificate (names, DNs, values, fixes) is escaped here, and made valid UTF-8
 * without the characters that would make it display other than it is (esc_n()).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strongmap/strongmap.h>

#include "alloc.h"
#include "audit_internal.h"
#include "su_base64.h"
#include "su_hash.h"
#include "su_utf8.h"
#include "util.h"

#define AGG_MAX     256 /* distinct labels a chart counts; the rest are "other" */
#define AGG_SHOWN   20  /* bars a chart draws; the rest are summed in one bar */
#define KEY_MAX     240 /* bytes of a label kept */
#define LABEL_CHARS 36  /* characters of a label drawn (all of it in the bar's title) */
#define CSP_HASH    64  /* 'sha256-' and 44 characters of base64 */

/* ---- the fixed parts -------------------------------------------------------------------- */

static const char style[] =
    "body{font:15px/1.45 system-ui,sans-serif;margin:0 auto;max-width:80em;padding:0 1em;"
    "color:#1a1a1a;background:#fff}"
    "h1{font-size:1.5em}h2{font-size:1.25em;margin-top:2em}"
    ".partial,.cut{border:2px solid #a4000f;background:#fff0f0;padding:.5em 1em}"
    ".cut{display:none}body:not(:has(#end)) .cut{display:block}"
    "dl.totals{display:grid;grid-template-columns:repeat(auto-fill,minmax(11em,1fr));gap:.5em}"
    "dl.totals div{border:1px solid #ccc;padding:.4em .6em}dl.totals dt{font-size:.85em}"
    "dl.totals dd{margin:0;font-size:1.4em;font-weight:600}"
    ".charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,48em),1fr));"
    "gap:1.5em}figure{margin:0}figcaption{font-weight:600}"
    "svg{width:100%;max-width:720px;height:auto}"
    "svg text{font:12px system-ui,sans-serif;fill:#1a1a1a}"
    ".ready{fill:#1b7f3b;background:#1b7f3b}.at_risk{fill:#b25e00;background:#b25e00}"
    ".blocked{fill:#a4000f;background:#a4000f}.error{fill:#555;background:#555}"
    ".allow{fill:#1b7f3b;background:#1b7f3b}.deny{fill:#a4000f;background:#a4000f}"
    ".count{fill:#3558a8;background:#3558a8}"
    ".legend span{display:inline-block;width:.8em;height:.8em;margin:0 .3em 0 1em}"
    "#controls{margin:1em 0}#controls label{margin-right:1.5em}"
    "table{border-collapse:collapse;width:100%}caption{text-align:left;margin-bottom:.5em}"
    "th,td{border:1px solid #ccc;padding:.3em .45em;vertical-align:top;text-align:left}"
    "thead th{background:#f0f0f0}th button{font:inherit;font-weight:600;background:none;"
    "border:0;padding:0;cursor:pointer;text-decoration:underline}"
    "th[aria-sort=ascending] button::after{content:' \\25B2'}"
    "th[aria-sort=descending] button::after{content:' \\25BC'}"
    "td.n{text-align:right}.dn{word-break:break-all;font-size:.85em}td:last-child{width:32%}"
    "td ul{margin:0;padding-left:1.1em}td li{word-break:break-word}"
    ".st{color:#fff;padding:0 .4em;border-radius:.2em;white-space:nowrap}"
    "button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #3558a8}";

static const char script[] =
    "(function(){\"use strict\";"
    "var t=document.getElementById(\"accounts-table\"),b=t.tBodies[0],"
    "rows=Array.prototype.slice.call(b.rows),hs=t.tHead.rows[0].cells,"
    "q=document.getElementById(\"filter\"),st=document.getElementById(\"status\"),"
    "shown=document.getElementById(\"shown\");"
    "function key(r,i){var c=r.cells[i],v=c.getAttribute(\"data-v\");"
    "return v===null?c.textContent.toLowerCase():Number(v);}"
    "function sort(i){var asc=hs[i].getAttribute(\"aria-sort\")!==\"ascending\";"
    "for(var j=0;j<hs.length;j++)hs[j].removeAttribute(\"aria-sort\");"
    "hs[i].setAttribute(\"aria-sort\",asc?\"ascending\":\"descending\");"
    "rows.sort(function(x,y){var a=key(x,i),c=key(y,i);return(a<c?-1:a>c?1:0)*(asc?1:-1);});"
    "var f=document.createDocumentFragment();"
    "rows.forEach(function(r){f.appendChild(r);});b.appendChild(f);}"
    "function filter(){var s=q.value.toLowerCase(),w=st.value,n=0;"
    "rows.forEach(function(r){var ok=(!w||r.getAttribute(\"data-status\")===w)&&"
    "(!s||r.textContent.toLowerCase().indexOf(s)>=0);r.hidden=!ok;if(ok)n++;});"
    "shown.textContent=n+\" of \"+rows.length+\" accounts shown\";}"
    "Array.prototype.forEach.call(hs,function(h,i){var x=document.createElement(\"button\");"
    "x.type=\"button\";x.textContent=h.textContent;h.textContent=\"\";h.appendChild(x);"
    "x.addEventListener(\"click\",function(){sort(i);});});"
    "q.addEventListener(\"input\",filter);st.addEventListener(\"change\",filter);"
    "document.getElementById(\"controls\").hidden=false;filter();})();";

/* 'sha256-...' of @text into @out (CSP_HASH bytes). */
static void csp_hash(const char *text, char out[CSP_HASH])
{
    uint8_t h[SU_SHA256_LEN];
    char b64[48];
    su_sha256(text, strlen(text), h);
    su_base64_encode(h, sizeof(h), b64);
    snprintf(out, CSP_HASH, "'sha256-%s'", b64);
}

int sm_audit_html_csp(char *buf, size_t size)
{
    char s[CSP_HASH], j[CSP_HASH];
    csp_hash(style, s);
    csp_hash(script, j);
    int n = snprintf(buf, size,
                     "default-src 'none'; style-src %s; script-src %s; base-uri 'none'; "
                     "form-action 'none'",
                     s, j);
    return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

/* ---- writing ------------------------------------------------------------------------------ */

struct out {
    sm_audit_sink fn;
    void *ctx;
    int err; /* the sink's first error: nothing more is written */
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->err == 0 && n)
        o->err = o->fn(o->ctx, s, n);
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void printf_(struct out *o, const char *fmt, ...) SM_PRINTF(2, 3);

static void printf_(struct out *o, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > 0)
        put(o, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* Would @cp make text display other than it is stored? The C1 controls, and Unicode's
   bidirectional formatting characters (UAX #9, 2.1-2.6; Trojan Source, CVE-2021-42574): the
   embeddings and overrides U+202A..U+202E, the isolates U+2066..U+2069, the marks U+200E,
   U+200F and U+061C. A certificate's issuer with U+202E showed reversed in a chart and a fix. */
static bool is_c1_or_bidi(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f || cp == 0x061c;
}

/*
 * @s (@len bytes) as HTML text or attribute value: & < > " ' escaped, invalid UTF-8, controls
 * (but tab and line feed; C1 too), bidirectional formatting characters and noncharacters as
 * U+FFFD. At most @chars characters, then "…" (0: all).
 */
static void esc_n(struct out *o, const char *s, size_t len, size_t chars)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, start = 0, seen = 0;

    while (i < len) {
        uint32_t cp;
        size_t k = su_utf8_seq(p + i, len - i, &cp);
        const char *rep = NULL;
        if (chars && seen++ == chars) {
            put(o, s + start, i - start);
            puts_(o, "\xe2\x80\xa6");
            return;
        }
        if (k == 0 || (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f || is_c1_or_bidi(cp) ||
            (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe)
            rep = "\xef\xbf\xbd";
        else if (cp == '&')
            rep = "&amp;";
        else if (cp == '<')
            rep = "&lt;";
        else if (cp == '>')
            rep = "&gt;";
        else if (cp == '"')
            rep = "&quot;";
        else if (cp == '\'')
            rep = "&#39;";
        if (rep) {
            put(o, s + start, i - start);
            puts_(o, rep);
            i += k ? k : 1;
            start = i;
        } else {
            i += k;
        }
    }
    put(o, s + start, i - start);
}

static void esc(struct out *o, const char *s)
{
    if (s)
        esc_n(o, s, strlen(s), 0);
}

/* ---- the charts' counts ------------------------------------------------------------------ */

struct agg_row {
    char *key;
    uint64_t n[3];
};

struct agg {
    struct agg_row v[AGG_MAX];
    size_t n;
    uint64_t other[3]; /* labels past AGG_MAX */
};

struct sm_audit_html {
    char *title, *source;
    time_t generated, at;
    struct agg reasons, issuers, templates;
    uint64_t status[4]; /* ready, at risk, blocked, error: the rows written */
    enum sm_profile_kind profile_kind[SM_MAX_PROFILES];
    uint64_t profile[SM_MAX_PROFILES][3];
    size_t n_profiles;
};

/* Count @k (its first KEY_MAX bytes, cut after a whole character) in column @col. */
static int agg_add(struct agg *a, const char *key, unsigned col)
{
    size_t len = strlen(key);
    if (len > KEY_MAX) {
        len = KEY_MAX;
        while (len && ((unsigned char)key[len] & 0xc0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < a->n; i++)
        if (strlen(a->v[i].key) == len && memcmp(a->v[i].key, key, len) == 0) {
            a->v[i].n[col]++;
            return 0;
        }
    if (a->n == AGG_MAX) {
        a->other[col]++;
        return 0;
    }
    char *k = mem_malloc(len + 1);
    if (!k)
        return -ENOMEM;
    memcpy(k, key, len);
    k[len] = '\0';
    a->v[a->n].key = k;
    memset(a->v[a->n].n, 0, sizeof(a->v[a->n].n));
    a->v[a->n++].n[col] = 1;
    return 0;
}

static void agg_free(struct agg *a)
{
    for (size_t i = 0; i < a->n; i++)
        mem_free(a->v[i].key);
    a->n = 0;
}

static char *dup_or_null(const char *s, int *err)
{
    char *d = s ? mem_strdup(s) : NULL;
    if (s && !d)
        *err = -ENOMEM;
    return d;
}

int sm_audit_html_new(const struct sm_audit_html_opts *o, struct sm_audit_html **ret)
{
    struct sm_audit_html *h;
    int err = 0;

    if (!o || o->n_profiles > SM_MAX_PROFILES)
        return -EINVAL;
    if (!(h = mem_calloc(1, sizeof(*h))))
        return -ENOMEM;
    h->title = dup_or_null(o->title ? o->title : "Certificate logon audit", &err);
    h->source = dup_or_null(o->source, &err);
    h->generated = o->generated ? o->generated : time(NULL);
    h->at = o->at ? o->at : h->generated;
    for (size_t i = 0; i < o->n_profiles; i++)
        h->profile_kind[i] = o->profiles[i].kind;
    h->n_profiles = o->n_profiles;
    if (!h->n_profiles) {
        h->profile_kind[0] = SM_PROFILE_WINDOWS_2022;
        h->n_profiles = 1;
    }
    if (err) {
        sm_audit_html_free(h);
        return err;
    }
    *ret = h;
    return 0;
}

struct sm_audit_html *sm_audit_html_free(struct sm_audit_html *h)
{
    if (h) {
        agg_free(&h->reasons);
        agg_free(&h->issuers);
        agg_free(&h->templates);
        mem_free(h->title);
        mem_free(h->source);
        mem_free(h);
    }
    return NULL;
}

/* ---- a row --------------------------------------------------------------------------------- */

static const char *const status_words[] = { "ready", "at risk", "blocked", "error" };
static const char *const status_codes[] = { "ready", "at_risk", "blocked", "error" };

/* The account's name for the row's header cell: sAMAccountName, else the DN. */
static void row_start(struct out *o, const struct sm_account *a, unsigned status)
{
    printf_(o, "<tr data-status=\"%s\"><th scope=\"row\">", status_codes[status]);
    esc(o, a->sam ? a->sam : a->upn ? a->upn : a->dn);
    puts_(o, "</th><td class=\"dn\">");
    esc(o, a->dn);
    printf_(o, "</td><td data-v=\"%u\"><span class=\"st %s\">%s</span>", status,
            status_codes[status], status_words[status]);
}

static void num_cell(struct out *o, size_t n)
{
    printf_(o, "<td class=\"n\" data-v=\"%zu\">%zu</td>", n, n);
}

int sm_audit_html_record(struct sm_audit_html *h, const struct sm_audit_record *rec,
                         sm_audit_sink rows, void *ctx)
{
    const struct sm_account_status *s = rec->status;
    struct out o = { rows, ctx, 0 };
    unsigned st = (unsigned)s->readiness <= SM_BLOCKED ? (unsigned)s->readiness : SM_BLOCKED;
    size_t denied = 0;
    int rc = 0;

    /* the charts' counts */
    h->status[st]++;
    for (size_t i = 0; i < s->n_reasons && rc == 0; i++)
        rc = agg_add(&h->reasons, s->reasons[i].code, 0);
    const char *extra[AUDIT_VALUE_REASONS];
    size_t n_extra = audit_value_reasons(rec, extra);
    for (size_t i = 0; i < n_extra && rc == 0; i++)
        rc = agg_add(&h->reasons, extra[i], 0);
    for (size_t i = 0; i < s->n_cert_verdicts && rc == 0; i++) {
        const struct sm_verdict *v = s->cert_verdicts[i];
        const struct sm_cert *c = v->cert;
        char tmpl[KEY_MAX + 48];
        denied += !v->allow;
        rc = agg_add(&h->issuers, c->issuer.rfc4514 ? c->issuer.rfc4514 : "(none)", !v->allow);
        if (!c->has_template)
            snprintf(tmpl, sizeof(tmpl), "(no template)");
        else if (c->tmpl.name)
            snprintf(tmpl, sizeof(tmpl), "%s", c->tmpl.name);
        else if (c->tmpl.major >= 0)
            snprintf(tmpl, sizeof(tmpl), "%.*s v%ld.%ld", KEY_MAX, c->tmpl.oid, c->tmpl.major,
                     c->tmpl.minor);
        else
            snprintf(tmpl, sizeof(tmpl), "%.*s", KEY_MAX, c->tmpl.oid ? c->tmpl.oid : "?");
        if (rc == 0)
            rc = agg_add(&h->templates, tmpl, !v->allow);
    }
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < rec->n_profiles && i < h->n_profiles; i++) {
        unsigned r = (unsigned)rec->profile_readiness[i];
        h->profile[i][r <= SM_BLOCKED ? r : SM_BLOCKED]++;
    }

    /* the row */
    row_start(&o, s->account, st);
    if (rec->n_profiles > 1) {
        puts_(&o, "<ul>");
        for (size_t i = 0; i < rec->n_profiles; i++)
            printf_(&o, "<li>%s: %s</li>", sm_profile_name(s->profiles[i].kind),
                    status_words[rec->profile_readiness[i] <= SM_BLOCKED ? rec->profile_readiness[i]
                                                                         : SM_BLOCKED]);
        puts_(&o, "</ul>");
    }
    puts_(&o, "</td><td>");
    for (size_t i = 0; i < s->n_reasons; i++) {
        puts_(&o, i ? ", " : "");
        esc(&o, s->reasons[i].code);
    }
    for (size_t i = 0; i < n_extra; i++) {
        puts_(&o, s->n_reasons + i ? ", " : "");
        puts_(&o, extra[i]);
    }
    puts_(&o, "</td>");
    num_cell(&o, s->n_cert_verdicts);
    num_cell(&o, denied);
    num_cell(&o, rec->n_values);
    num_cell(&o, rec->n_duplicates);
    num_cell(&o, rec->n_stale);
    puts_(&o, "<td>");
    if (rec->n_fixes) {
        puts_(&o, "<ul>");
        for (size_t i = 0; i < rec->n_fixes; i++) {
            puts_(&o, "<li>");
            esc(&o, rec->fixes[i]);
            puts_(&o, "</li>");
        }
        puts_(&o, "</ul>");
    }
    puts_(&o, "</td></tr>\n");
    return o.err;
}

int sm_audit_html_error(struct sm_audit_html *h, const struct sm_account *acc, int code,
                        const char *message, sm_audit_sink rows, void *ctx)
{
    struct out o = { rows, ctx, 0 };
    int rc;

    h->status[3]++;
    if ((rc = agg_add(&h->reasons, sm_audit_error_name(code), 0)) < 0)
        return rc;
    row_start(&o, acc, 3);
    puts_(&o, "</td><td>");
    esc(&o, sm_audit_error_name(code));
    puts_(&o, "</td>");
    for (int i = 0; i < 5; i++)
        puts_(&o, "<td class=\"n\" data-v=\"0\"></td>");
    puts_(&o, "<td><ul><li>");
    esc(&o, message && message[0] ? message : sm_strerror(code));
    puts_(&o, "</li></ul></td></tr>\n");
    return o.err;
}

/* ---- the document -------------------------------------------------------------------------- */

static void time_text(time_t t, char buf[32])
{
    struct tm tm;
    if (!gmtime_r(&t, &tm) || !strftime(buf, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, 32, "?");
}

static void total(struct out *o, const char *key, const char *words, uint64_t n)
{
    printf_(o, "<div><dt>%s</dt><dd data-k=\"%s\">%llu</dd></div>", words, key,
            (unsigned long long)n);
}

/* One bar chart: @n bars of @labels, each of @k stacked parts (@counts[i][0..k-1]) drawn in
   the classes @classes, named @names in the legend and the bars' titles. */
struct bar {
    const char *label;
    uint64_t n[3];
};

static void chart(struct out *o, const char *id, const char *caption, const struct bar *bars,
                  size_t n, unsigned k, const char *const *classes, const char *const *names)
{
    enum { W = 720, LABEL_W = 280, BAR_W = 380, ROW = 24 };
    uint64_t max = 1;
    for (size_t i = 0; i < n; i++) {
        uint64_t sum = 0;
        for (unsigned j = 0; j < k; j++)
            sum += bars[i].n[j];
        max = sum > max ? sum : max;
    }
    unsigned height = (unsigned)(n ? n : 1) * ROW + 8;
    printf_(o, "<figure><figcaption id=\"%s\">", id);
    esc(o, caption);
    printf_(o,
            "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
            "aria-labelledby=\"%s %s-d\" viewBox=\"0 0 %d %u\" width=\"%d\" height=\"%u\">"
            "<desc id=\"%s-d\">",
            id, id, W, height, W, height, id);
    if (n == 0)
        puts_(o, "nothing to count");
    for (size_t i = 0; i < n; i++) {
        puts_(o, i ? "; " : "");
        esc(o, bars[i].label);
        for (unsigned j = 0; j < k; j++)
            printf_(o, "%s %llu %s", j ? "," : ":", (unsigned long long)bars[i].n[j], names[j]);
    }
    puts_(o, "</desc>");
    if (n == 0)
        printf_(o, "<text x=\"0\" y=\"%d\">none</text>", ROW - 8);
    for (size_t i = 0; i < n; i++) {
        unsigned y = (unsigned)i * ROW;
        uint64_t sum = 0;
        double x = LABEL_W;
        puts_(o, "<g><title>");
        esc(o, bars[i].label);
        for (unsigned j = 0; j < k; j++)
            printf_(o, "%s %llu %s", j ? "," : ":", (unsigned long long)bars[i].n[j], names[j]);
        printf_(o, "</title><text x=\"0\" y=\"%u\">", y + 16);
        esc_n(o, bars[i].label, strlen(bars[i].label), LABEL_CHARS);
        puts_(o, "</text>");
        for (unsigned j = 0; j < k; j++) {
            double w = (double)bars[i].n[j] * BAR_W / (double)max;
            sum += bars[i].n[j];
            if (bars[i].n[j])
                printf_(o, "<rect class=\"%s\" x=\"%.1f\" y=\"%u\" width=\"%.1f\" height=\"16\"/>",
                        classes[j], x, y + 4, w);
            x += w;
        }
        printf_(o, "<text x=\"%.1f\" y=\"%u\">%llu</text></g>", x + 6, y + 16,
                (unsigned long long)sum);
    }
    puts_(o, "</svg>");
    if (k > 1) {
        puts_(o, "<p class=\"legend\">");
        for (unsigned j = 0; j < k; j++)
            printf_(o, "<span class=\"%s\"></span>%s", classes[j], names[j]);
        puts_(o, "</p>");
    }
    puts_(o, "</figure>\n");
}

static int bar_cmp(const void *pa, const void *pb)
{
    const struct bar *a = pa, *b = pb;
    uint64_t x = a->n[0] + a->n[1] + a->n[2], y = b->n[0] + b->n[1] + b->n[2];
    if (x != y)
        return x > y ? -1 : 1;
    return strcmp(a->label, b->label);
}

/* A chart of @a's labels, the most counted first, at most AGG_SHOWN bars. */
static int agg_chart(struct out *o, const char *id, const char *caption, const struct agg *a,
                     unsigned k, const char *const *classes, const char *const *names)
{
    struct bar *bars = mem_calloc(AGG_SHOWN + 1, sizeof(*bars));
    struct bar *all = mem_calloc(a->n ? a->n : 1, sizeof(*all));
    char more[64];
    size_t n = 0;

    if (!bars || !all) {
        mem_free(bars);
        mem_free(all);
        return -ENOMEM;
    }
    for (size_t i = 0; i < a->n; i++) {
        all[i].label = a->v[i].key;
        memcpy(all[i].n, a->v[i].n, sizeof(all[i].n));
    }
    qsort(all, a->n, sizeof(*all), bar_cmp);
    for (; n < a->n && n < AGG_SHOWN; n++)
        bars[n] = all[n];
    uint64_t rest[3] = { a->other[0], a->other[1], a->other[2] };
    size_t n_rest = a->n - n + (rest[0] + rest[1] + rest[2] ? 1 : 0);
    for (size_t i = n; i < a->n; i++)
        for (unsigned j = 0; j < 3; j++)
            rest[j] += all[i].n[j];
    if (rest[0] + rest[1] + rest[2]) {
        snprintf(more, sizeof(more), "%zu more", n_rest);
        bars[n] = (struct bar){ more, { rest[0], rest[1], rest[2] } };
        n++;
    }
    chart(o, id, caption, bars, n, k, classes, names);
    mem_free(bars);
    mem_free(all);
    return 0;
}

int sm_audit_html_head(struct sm_audit_html *h, const struct sm_audit_totals *t, bool partial,
                       const char *why, sm_audit_sink sink, void *ctx)
{
    static const char *const st_classes[] = { "ready", "at_risk", "blocked" };
    static const char *const st_names[] = { "ready", "at risk", "blocked" };
    static const char *const cert_classes[] = { "allow", "deny" };
    static const char *const cert_names[] = { "allowed", "denied" };
    static const char *const count_class[] = { "count" };
    static const char *const count_name[] = { "accounts" };
    struct out o = { sink, ctx, 0 };
    char csp[256], when[32], at[32];
    int rc;

    if (!h || !t || !sink)
        return -EINVAL;
    if ((rc = sm_audit_html_csp(csp, sizeof(csp))) < 0)
        return rc;
    time_text(h->generated, when);
    time_text(h->at, at);
    puts_(&o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta http-equiv=\"Content-Security-Policy\" content=\"");
    puts_(&o, csp); /* fixed text: no quote, ampersand or angle bracket */
    puts_(&o, "\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
              "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
    esc(&o, h->title);
    printf_(&o, ": %llu accounts%s</title>\n<style>", (unsigned long long)t->accounts,
            partial ? " (partial)" : "");
    put(&o, style, sizeof(style) - 1);
    puts_(&o, "</style>\n</head>\n<body>\n<header>\n<h1>");
    esc(&o, h->title);
    puts_(&o, "</h1>\n<p>");
    if (h->source) {
        puts_(&o, "Directory: ");
        esc(&o, h->source);
        puts_(&o, ". ");
    }
    puts_(&o, "DC profiles: ");
    for (size_t i = 0; i < h->n_profiles; i++)
        printf_(&o, "%s%s", i ? ", " : "", sm_profile_name(h->profile_kind[i]));
    printf_(&o, ". Evaluated at %s; written at <time datetime=\"%s\">%s</time>.</p>\n", at, when,
            when);
    if (partial) {
        puts_(&o, "<p class=\"partial\" id=\"partial\"><strong>Partial report.</strong> The "
                  "audit was stopped");
        if (why) {
            puts_(&o, " by ");
            esc(&o, why);
        }
        printf_(&o,
                " after %llu accounts: accounts after them were not audited, and the "
                "totals count only those listed.</p>\n",
                (unsigned long long)(t->accounts + t->errors));
    }
    puts_(&o, "<p class=\"cut\"><strong>This file is cut short:</strong> it does not end as the "
              "audit wrote it, so accounts are missing.</p>\n</header>\n<main>\n"
              "<section aria-labelledby=\"totals-h\">\n<h2 id=\"totals-h\">Totals</h2>\n"
              "<dl class=\"totals\" id=\"totals\">");
    total(&o, "accounts", "Accounts", t->accounts + t->errors);
    total(&o, "ready", "Ready", t->ready);
    total(&o, "at_risk", "At risk", t->at_risk);
    total(&o, "blocked", "Blocked", t->blocked);
    total(&o, "errors", "Not audited (errors)", t->errors);
    total(&o, "certificates", "Certificates evaluated", t->certificates);
    total(&o, "values", "altSecurityIdentities values", t->values);
    total(&o, "duplicate_values", "Duplicate values", t->duplicate_values);
    total(&o, "stale_values", "Stale values", t->stale_values);
    total(&o, "windows_only_values", "Values only Windows matches", t->windows_only_values);
    total(&o, "samba_only_values", "Values only Samba matches", t->samba_only_values);
    if (t->certs_given) {
        total(&o, "given", "Certificates given", t->given);
        total(&o, "given_unmatched", "Given, matching no account", t->given_unmatched);
    }
    puts_(&o, "</dl>\n<div class=\"charts\">\n");

    struct bar bars[SM_MAX_PROFILES + 1];
    memset(bars, 0, sizeof(bars));
    bars[0] = (struct bar){ "accounts", { h->status[0], h->status[1], h->status[2] } };
    chart(&o, "c-status", "By status", bars, 1, 3, st_classes, st_names);
    if ((rc = agg_chart(&o, "c-reason", "By reason (accounts)", &h->reasons, 1, count_class,
                        count_name)) < 0 ||
        (rc = agg_chart(&o, "c-issuer", "By issuing CA (certificates)", &h->issuers, 2,
                        cert_classes, cert_names)) < 0 ||
        (rc = agg_chart(&o, "c-template", "By template (certificates)", &h->templates, 2,
                        cert_classes, cert_names)) < 0)
        return rc;
    for (size_t i = 0; i < h->n_profiles; i++)
        bars[i] = (struct bar){ sm_profile_name(h->profile_kind[i]),
                                { h->profile[i][0], h->profile[i][1], h->profile[i][2] } };
    chart(&o, "c-profile", "By DC profile (accounts)", bars, h->n_profiles, 3, st_classes,
          st_names);
    puts_(&o, "</div>\n</section>\n<section aria-labelledby=\"accounts-h\">\n"
              "<h2 id=\"accounts-h\">Accounts</h2>\n"
              "<div id=\"controls\" hidden><p>Sort with the buttons in the column headers; "
              "filter by any text of a row, or by status.</p><label>Filter <input "
              "type=\"search\" id=\"filter\" autocomplete=\"off\"></label><label>Status "
              "<select id=\"status\"><option value=\"\">all</option><option value=\"ready\">"
              "ready</option><option value=\"at_risk\">at risk</option><option "
              "value=\"blocked\">blocked</option><option value=\"error\">error</option>"
              "</select></label><span id=\"shown\" role=\"status\"></span></div>\n"
              "<table id=\"accounts-table\">\n<caption>Every account audited, one a row, with "
              "what to do for it</caption>\n<thead><tr>");
    static const char *const cols[] = { "Account",      "DN",     "Status", "Reasons",
                                        "Certificates", "Denied", "Values", "Duplicates",
                                        "Stale",        "Fix" };
    for (size_t i = 0; i < ARRAY_SIZE(cols); i++)
        printf_(&o, "<th scope=\"col\">%s</th>", cols[i]);
    puts_(&o, "</tr></thead>\n<tbody>\n");
    return o.err;
}

int sm_audit_html_tail(struct sm_audit_html *h, sm_audit_sink sink, void *ctx)
{
    struct out o = { sink, ctx, 0 };
    if (!h || !sink)
        return -EINVAL;
    puts_(&o, "</tbody>\n</table>\n</section>\n</main>\n<footer><p>Written by strongmap audit "
              "(docs/audit.md). Names, DNs and values are the directory's and the "
              "certificates'.</p></footer>\n<p id=\"end\" hidden></p>\n<script>");
    put(&o, script, sizeof(script) - 1);
    puts_(&o, "</script>\n</body>\n</html>\n");
    return o.err;
}

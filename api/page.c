/*
 * api/page.c - the status page's answers (docs/self-service.md): one uploaded certificate
 * judged with the runtime's DC profiles, classified by sm_verdict_state(), and written as the
 * JSON of POST /v1/self/check or as the whole HTML page POST /status/check answers without
 * JavaScript; the helpdesk text both carry; the pieces of HTML self.c shares; and the
 * certificate file of a multipart/form-data upload. Every word is the message catalogue's, in
 * the language the request asked for (messages.c); codes, names of profiles, Kerberos errors
 * and the certificate's values are written as they are.
 *
 * An upload proves no possession of the certificate's key: the verdict is made with the
 * account redacted, the state with the generic words for account reasons, and nothing written
 * here names the account, its SID, its enabled state or a mapping. Nor does it prove that the
 * CA it names issued it: unless a CA the DCs trust signed it, no account is looked up at all
 * (sm_verdict_input.require_issuer_signature), so that a crafted certificate cannot ask whether
 * an account has the SID or the mapping it claims. When the reason is about
 * the account, the Kerberos errors and events are left out too, since they would tell an
 * unknown account from a disabled one.
 */
#define _GNU_SOURCE /* memmem() */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <strongmap/state.h>
#include <strongmap/verdict.h>

#include "api_internal.h"
#include "dirpool.h"
#include "su_buf.h"
#include "su_jsonw.h"

/* Bytes of a multipart boundary (RFC 2046: 1 to 70 characters). */
#define BOUNDARY_MAX 70

int page_check(const struct api_request *req, const struct sm_cert *cert, struct sm_verdict **ret_v,
               struct sm_state_answer *ret_st, struct api_error *ae)
{
    const struct api_runtime *rt = req_runtime(req);
    struct sm_verdict_input in = {
        .cert = cert,
        .profiles = rt->fleet.v,
        .n_profiles = rt->fleet.n,
        .redact_account = true,
        .require_issuer_signature = true, /* else a forged upload would be an oracle */
        .samba_anchors = rt->samba_anchors,
    };
    struct sm_verdict *v = NULL;
    int r;

    if (!rt->dir)
        return no_directory(ae);
    if ((r = req_verdict(req, &in, &v, &ae->info)) < 0)
        return r; /* SM_E_DIR_WOULD_BLOCK too: the caller returns it as it is */
    if ((r = sm_verdict_state(v, 0, true, ret_st)) < 0) {
        sm_verdict_free(v);
        return r;
    }
    *ret_v = v;
    return 0;
}

/* Does the answer show the DCs' errors and events? Not when they would tell about the
   account. */
static bool shows_errors(const struct sm_state_answer *st)
{
    return !st->account_reason;
}

/* The line of one DC in the answer's details and the helpdesk text, in @l: "allow", or "deny"
   with the Kerberos error and the KDC event when @errors. */
void page_outcome(struct su_buf *b, const struct msg_lang *l, const struct sm_profile_outcome *o,
                  bool errors)
{
    char event[16];

    su_buf_puts(b, msg_text(l, o->allow ? "details.allow" : "details.deny"));
    if (o->allow || !errors)
        return;
    if (o->kdc_error.name)
        su_buf_printf(b, ", %s", o->kdc_error.name);
    if (o->event.id) {
        snprintf(event, sizeof(event), "%d", o->event.id);
        su_buf_puts(b, ", ");
        msg_put(b, l, "details.kdc_event", event, NULL);
    }
}

/* @v (0-99) as two digits at @p */
static void two_digits(char *p, int v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
}

void page_time(char *buf, size_t size)
{
    char s[] = "YYYY-MM-DDThh:mm:ssZ"; /* strftime()'s %Y-%m-%dT%H:%M:%SZ, at a fifth of its cost */
    time_t t = time(NULL);
    struct tm tm;
    int y;

    gmtime_r(&t, &tm);
    y = (tm.tm_year + 1900) % 10000;
    two_digits(s, y / 100);
    two_digits(s + 2, y % 100);
    two_digits(s + 5, tm.tm_mon + 1);
    two_digits(s + 8, tm.tm_mday);
    two_digits(s + 11, tm.tm_hour);
    two_digits(s + 14, tm.tm_min);
    two_digits(s + 17, tm.tm_sec);
    if (size > 0) {
        size_t n = size - 1 < sizeof(s) - 1 ? size - 1 : sizeof(s) - 1;

        memcpy(buf, s, n);
        buf[n] = '\0';
    }
}

static void helpdesk_text(struct su_buf *b, const struct api_runtime *rt, const struct msg_lang *l,
                          const struct sm_verdict *v, const struct sm_state_answer *st)
{
    const struct sm_cert *c = v->cert;
    char now[32];

    su_buf_reserve(b, 1000); /* its usual size at once: one 1 KiB block, not five growths */
    page_time(now, sizeof(now));
    msg_put(b, l, "text.title", NULL);
    su_buf_putc(b, '\n');
    if (rt->page_organisation[0]) {
        msg_put(b, l, "text.organisation", rt->page_organisation, NULL);
        su_buf_putc(b, '\n');
    }
    msg_put(b, l, "text.result", msg_state_label(l, st->state), sm_state_name(st->state), NULL);
    su_buf_putc(b, '\n');
    msg_put(b, l, "text.reason", msg_why(l, st), st->code, NULL);
    su_buf_putc(b, '\n');
    if (c) {
        msg_put(b, l, "text.subject", c->subject.rfc4514, NULL);
        su_buf_putc(b, '\n');
        msg_put(b, l, "text.issuer", c->issuer.rfc4514, NULL);
        su_buf_putc(b, '\n');
        msg_put(b, l, "text.serial", c->serial, NULL);
        su_buf_putc(b, '\n');
        msg_put(b, l, "text.sha1", c->sha1, NULL);
        su_buf_putc(b, '\n');
        msg_put(b, l, "text.valid", c->not_before, c->not_after, NULL);
        su_buf_putc(b, '\n');
    }
    msg_put(b, l, "text.dcs", NULL);
    su_buf_putc(b, '\n');
    for (size_t i = 0; i < v->n_profiles; i++) {
        su_buf_puts(b, "  ");
        su_buf_puts(b, sm_profile_name(v->profiles[i].profile.kind));
        su_buf_puts(b, ": ");
        page_outcome(b, l, &v->profiles[i], shows_errors(st));
        su_buf_putc(b, '\n');
    }
    msg_put(b, l, "text.checked", now, NULL);
    su_buf_putc(b, '\n');
}

void page_steps_json(struct su_jsonw *w, const struct msg_lang *l, const struct sm_state_answer *st)
{
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < st->n_steps; i++)
        su_jsonw_string(w, msg_step(l, st, i));
    su_jsonw_array_end(w);
}

void page_profiles_json(struct su_jsonw *w, const struct sm_verdict *v, bool errors)
{
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < v->n_profiles; i++) {
        const struct sm_profile_outcome *o = &v->profiles[i];
        bool show = errors && !o->allow;

        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "profile", sm_profile_name(o->profile.kind));
        su_jsonw_kstr(w, "outcome", o->allow ? "allow" : "deny");
        su_jsonw_kstr(w, "kdc_error", show ? o->kdc_error.name : NULL);
        if (show && o->event.id)
            su_jsonw_kint(w, "event", o->event.id);
        else
            su_jsonw_knull(w, "event");
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
}

int page_json(const struct api_runtime *rt, const struct msg_lang *l, const struct sm_verdict *v,
              const struct sm_state_answer *st, char **ret)
{
    struct su_jsonw w;
    struct su_buf b;

    su_buf_init(&b, NULL, NULL);
    helpdesk_text(&b, rt, l, v, st);
    if (!su_buf_str(&b))
        return -ENOMEM;
    /* the members in the order of the Jansson document this replaced, byte for byte */
    su_jsonw_init(&w, 0, NULL, NULL);
    su_jsonw_object_begin(&w);
    su_jsonw_kstr(&w, "state", sm_state_name(st->state));
    su_jsonw_kstr(&w, "code", st->code);
    su_jsonw_kstr(&w, "why", msg_why(l, st));
    su_jsonw_key(&w, "steps");
    page_steps_json(&w, l, st);
    su_jsonw_kstr(&w, "expires", v->cert ? v->cert->not_after : NULL);
    su_jsonw_key(&w, "details");
    su_jsonw_object_begin(&w);
    su_jsonw_key(&w, "profiles");
    page_profiles_json(&w, v, shows_errors(st));
    su_jsonw_object_end(&w);
    su_jsonw_kstr(&w, "helpdesk_text", su_buf_str(&b));
    su_jsonw_kstr(&w, "organisation", rt->page_organisation[0] ? rt->page_organisation : NULL);
    su_jsonw_kstr(&w, "helpdesk", rt->page_helpdesk[0] ? rt->page_helpdesk : NULL);
    su_jsonw_key(&w, "links");
    page_links_json(&w, rt);
    su_jsonw_object_end(&w);
    su_buf_release(&b);
    return su_jsonw_finish(&w, ret, NULL);
}

void page_escape(struct su_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': su_buf_puts(b, "&amp;"); break;
        case '<': su_buf_puts(b, "&lt;"); break;
        case '>': su_buf_puts(b, "&gt;"); break;
        case '"': su_buf_puts(b, "&quot;"); break;
        case '\'': su_buf_puts(b, "&#39;"); break;
        default: su_buf_putc(b, *s);
        }
    }
}

static void html_head(struct su_buf *b, const struct msg_lang *l, const char *title)
{
    su_buf_puts(b, "<!doctype html>\n<html lang=\"");
    page_escape(b, msg_tag(l));
    su_buf_puts(b, "\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<title>");
    msg_html(b, l, "page.answer_title", NULL, title, NULL);
    su_buf_puts(b, "</title>\n"
                   "<link rel=\"stylesheet\" href=\"/static/status.css\">\n"
                   "<script src=\"/static/status.js\" defer></script>\n</head>\n<body>\n"
                   "<main id=\"main\">\n<h1>");
    msg_html(b, l, "page.title", NULL, NULL);
    su_buf_puts(b, "</h1>\n");
}

static void html_tail(struct su_buf *b, const struct msg_lang *l)
{
    su_buf_puts(b, "<p><a href=\"/status\">");
    msg_html(b, l, "page.another", NULL, NULL);
    su_buf_puts(b, "</a></p>\n</main>\n</body>\n</html>\n");
}

void page_dl_row(struct su_buf *b, const char *name, const char *value)
{
    su_buf_puts(b, "<dt>");
    page_escape(b, name);
    su_buf_puts(b, "</dt><dd>");
    page_escape(b, value);
    su_buf_puts(b, "</dd>\n");
}

void page_dl_outcome(struct su_buf *b, const struct msg_lang *l, const struct sm_profile_outcome *o,
                     bool errors)
{
    struct su_buf name, value;

    su_buf_init(&name, NULL, NULL);
    su_buf_init(&value, NULL, NULL);
    msg_put(&name, l, "details.dc", sm_profile_name(o->profile.kind), NULL);
    page_outcome(&value, l, o, errors);
    if (su_buf_str(&name) && su_buf_str(&value))
        page_dl_row(b, name.p, value.p);
    else
        b->oom = true;
    su_buf_release(&name);
    su_buf_release(&value);
}

void page_list_html(struct su_buf *b, const struct msg_lang *l, const char *heading,
                    const char *list, const char *attrs, size_t n, page_item_fn *item,
                    const void *ctx)
{
    if (!n)
        return;
    su_buf_puts(b, "<h3>");
    msg_html(b, l, heading, NULL, NULL);
    su_buf_puts(b, "</h3>\n<");
    su_buf_puts(b, list);
    su_buf_puts(b, attrs);
    su_buf_puts(b, ">\n");
    for (size_t i = 0; i < n; i++) {
        su_buf_puts(b, "<li>");
        item(b, ctx, i);
        su_buf_puts(b, "</li>\n");
    }
    su_buf_puts(b, "</");
    su_buf_puts(b, list);
    su_buf_puts(b, ">\n");
}

/* What page_steps_html() lists: the steps of @st in @l. */
struct steps {
    const struct msg_lang *l;
    const struct sm_state_answer *st;
};

static void step_item(struct su_buf *b, const void *ctx, size_t i)
{
    const struct steps *s = ctx;

    page_escape(b, msg_step(s->l, s->st, i));
}

void page_steps_html(struct su_buf *b, const struct msg_lang *l, const struct sm_state_answer *st)
{
    const struct steps s = { l, st };

    page_list_html(b, l, "answer.what_to_do", "ol", "", st->n_steps, step_item, &s);
}

void page_contact_html(struct su_buf *b, const struct api_runtime *rt, const struct msg_lang *l)
{
    if (!rt->page_helpdesk[0] && !rt->page_organisation[0])
        return;
    su_buf_puts(b, "<p class=\"contact\">");
    msg_html(b, l, "answer.contact", NULL,
             rt->page_organisation[0] ? rt->page_organisation
                                      : msg_text(l, "answer.your_organisation"),
             rt->page_helpdesk[0] ? rt->page_helpdesk : msg_text(l, "answer.ask_it"), NULL);
    su_buf_puts(b, "</p>\n");
}

void page_helpdesk_html(struct su_buf *b, const struct msg_lang *l, const char *id,
                        const char *text)
{
    su_buf_puts(b, "<h3>");
    msg_html(b, l, "helpdesk.heading", NULL, NULL);
    su_buf_printf(b, "</h3>\n<p><label for=\"%s\">", id);
    msg_html(b, l, "helpdesk.label", NULL, NULL);
    su_buf_printf(b, "</label></p>\n<textarea id=\"%s\" rows=\"10\" readonly>", id);
    if (text)
        page_escape(b, text);
    else
        b->oom = true;
    su_buf_printf(b,
                  "</textarea>\n<p><button type=\"button\" class=\"secondary copy\" "
                  "data-copy=\"%s\" data-copied=\"",
                  id);
    msg_html(b, l, "helpdesk.copied", NULL, NULL);
    su_buf_puts(b, "\" data-select=\"");
    msg_html(b, l, "helpdesk.select", NULL, NULL);
    su_buf_puts(b, "\" hidden>");
    msg_html(b, l, "helpdesk.copy", NULL, NULL);
    /* the script's confirmation, in a live region that is there before it is written */
    su_buf_puts(b, "</button><span class=\"copied\" role=\"status\"></span></p>\n");
}

int page_html(const struct api_runtime *rt, const struct msg_lang *l, const struct sm_verdict *v,
              const struct sm_state_answer *st, char **ret, size_t *ret_len)
{
    struct su_buf b, t;
    const char *label = msg_state_label(l, st->state);

    su_buf_init(&b, NULL, NULL);
    su_buf_init(&t, NULL, NULL);
    helpdesk_text(&t, rt, l, v, st);
    html_head(&b, l, label);
    su_buf_printf(&b, "<section class=\"answer state-%s\" aria-labelledby=\"state\">\n",
                  sm_state_name(st->state));
    su_buf_puts(&b, "<h2 id=\"state\"><span class=\"sr-only\">");
    msg_html(&b, l, "answer.result_sr", NULL, NULL);
    su_buf_puts(&b, " </span>");
    page_escape(&b, label);
    su_buf_puts(&b, "</h2>\n<p class=\"why\">");
    page_escape(&b, msg_why(l, st));
    su_buf_puts(&b, "</p>\n");
    page_steps_html(&b, l, st);
    page_contact_html(&b, rt, l);
    page_links_html(&b, rt, l);
    su_buf_puts(&b, "<details>\n<summary>");
    msg_html(&b, l, "details.summary", NULL, NULL);
    su_buf_puts(&b, "</summary>\n<dl>\n");
    page_dl_row(&b, msg_text(l, "details.result"), sm_state_name(st->state));
    page_dl_row(&b, msg_text(l, "details.reason_code"), st->code);
    if (v->cert)
        page_dl_row(&b, msg_text(l, "details.valid_until"), v->cert->not_after);
    for (size_t i = 0; i < v->n_profiles; i++)
        page_dl_outcome(&b, l, &v->profiles[i], shows_errors(st));
    su_buf_puts(&b, "</dl>\n</details>\n");
    page_helpdesk_html(&b, l, "helpdesk", su_buf_str(&t));
    su_buf_puts(&b, "</section>\n");
    html_tail(&b, l);
    su_buf_release(&t);
    if (!su_buf_str(&b) || t.oom) {
        su_buf_release(&b);
        return -ENOMEM;
    }
    *ret_len = b.len;
    *ret = b.p; /* the buffer's storage is realloc()'s: free() it */
    return 0;
}

int page_html_problem(const struct api_runtime *rt, const struct msg_lang *l, const char *title,
                      const char *detail, char **ret, size_t *ret_len)
{
    struct su_buf b;

    su_buf_init(&b, NULL, NULL);
    html_head(&b, l, title);
    su_buf_puts(&b, "<section class=\"answer state-error\" aria-labelledby=\"state\">\n"
                    "<h2 id=\"state\">");
    page_escape(&b, title);
    su_buf_puts(&b, "</h2>\n<p class=\"why\">");
    page_escape(&b, detail);
    su_buf_puts(&b, "</p>\n</section>\n");
    page_help_html(&b, rt, l); /* no answer: the organisation's help, as on the empty page */
    html_tail(&b, l);
    if (!su_buf_str(&b)) {
        su_buf_release(&b);
        return -ENOMEM;
    }
    *ret_len = b.len;
    *ret = b.p;
    return 0;
}

/* The boundary parameter of a multipart/form-data Content-Type @ct into @out; false when
   @ct is not that or has none. */
static bool form_boundary(const char *ct, char *out, size_t size)
{
    static const char type[] = "multipart/form-data";
    const char *p;
    size_t n;

    if (!ct || strncasecmp(ct, type, sizeof(type) - 1) != 0)
        return false;
    for (p = ct + sizeof(type) - 1; (p = strchr(p, ';'));) {
        p++;
        p += strspn(p, " \t");
        if (strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        if (*p == '"') {
            p++;
            n = strcspn(p, "\"");
            if (p[n] != '"')
                return false;
        } else {
            n = strcspn(p, " \t;");
        }
        if (n == 0 || n > BOUNDARY_MAX || n >= size)
            return false;
        memcpy(out, p, n);
        out[n] = '\0';
        return true;
    }
    return false;
}

int read_form_file(const struct api_request *req, const char *field, const char **ret,
                   size_t *ret_len, struct api_error *ae)
{
    char boundary[BOUNDARY_MAX + 1], delim[BOUNDARY_MAX + 5], want[64];
    const char *body = req->body, *end = req->body + req->body_len, *p;
    size_t dlen;

    if (!form_boundary(req_header(req, "Content-Type"), boundary, sizeof(boundary)))
        return api_fail(ae, API_P_UNSUPPORTED_MEDIA_TYPE, NULL,
                        "send the form as multipart/form-data with a boundary");
    dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
    snprintf(want, sizeof(want), "; name=\"%s\"", field);
    /* the first delimiter may start the body without its CRLF */
    if (req->body_len < dlen - 2 || memcmp(body, delim + 2, dlen - 2) != 0)
        return api_fail(ae, API_P_BAD_REQUEST, NULL, "the form does not start with its boundary");
    for (p = body + dlen - 2; p < end;) {
        const char *head, *head_end, *next;

        if (end - p >= 2 && p[0] == '-' && p[1] == '-')
            break; /* the closing delimiter */
        if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
            break;
        head = p + 2;
        head_end = memmem(head, (size_t)(end - head), "\r\n\r\n", 4);
        if (!head_end)
            break;
        next = memmem(head_end + 4, (size_t)(end - head_end - 4), delim, dlen);
        if (!next)
            break;
        /* the part's headers: only Content-Disposition's name matters */
        if (memmem(head, (size_t)(head_end - head), want, strlen(want))) {
            if (next == head_end + 4)
                return api_fail(ae, API_P_EMPTY_BODY, field, "the file is empty: choose one");
            *ret = head_end + 4;
            *ret_len = (size_t)(next - head_end - 4);
            return 0;
        }
        p = next + dlen;
    }
    return api_fail(ae, API_P_MISSING_FIELD, field, "the form carries no certificate file");
}

/*
 * api/self.c - who is asking the status page (docs/self-service.md), and the answer for their
 * own account: the JSON of GET /v1/self and the page's section for it (GET /status).
 *
 * Who, in order of trust:
 *   1. the client certificate of the TLS connection (HTTPS with [tls] client_ca; admit.c has
 *      verified it against those CAs): exactly that certificate is judged, for the account it
 *      maps to;
 *   2. the header a trusted reverse proxy names the signed-in user in ([page] identity_header,
 *      believed from [page] trusted_proxies only: from any other peer the request is refused,
 *      400, whatever else it carries, so that a forgery is never judged nor silently dropped);
 *      the account is looked up as GET /v1/accounts/{name} does (sm_account_status()), for a
 *      user name only (no SID, DN or DOMAIN\ form). A trusted proxy that sends the header
 *      terminated the user's TLS, so a certificate on its connection is its own: there the
 *      header comes first;
 *   3. only in lab mode ([page] lab_mode), an account name typed in (?account=NAME), answered
 *      as path 2 and labelled as lab mode.
 * The first that is there decides. An uploaded certificate proves nothing and is page.c's.
 *
 * Path 2 proves who the caller is, so the answer shows that account's own details (DN, SID,
 * enabled state, mappings, the published certificates, the exact fix), and nobody else's.
 * Path 1 proves possession of the certificate's key; it proves the account only when the
 * certificate maps to it strongly on some configured profile (proves_account()): else the
 * answer is an upload's (page_check()), without the account. An unknown name and a disabled
 * account get one and the same answer, without details, whatever the path: nothing tells them
 * apart from outside (lab mode, where anyone types any name, needs that most).
 *
 * The words are lib/state.c's: a certificate's state (sm_verdict_state(), not generic: the
 * caller proved who they are) and an account's readiness (sm_account_state()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <strongmap/sid.h>
#include <strongmap/state.h>
#include <strongmap/verdict.h>

#include "api_internal.h"
#include "dirpool.h"
#include "su_buf.h"
#include "su_jsonw.h"
#include "su_utf8.h"

/* Where the page's section for the caller goes in web/status.html. */
#define SELF_MARKER "<!--self-->"

static const char *const source_names[] = { NULL, "client_certificate", "proxy_header",
                                            "lab_mode" };

/* Valid UTF-8 without control characters? */
static bool printable_utf8(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    while (len > 0) {
        uint32_t cp;
        size_t n = su_utf8_seq(p, len, &cp);

        if (n == 0 || (n == 1 && (p[0] < 0x20 || p[0] == 0x7f)))
            return false;
        p += n;
        len -= n;
    }
    return true;
}

/* An account name @s (@len bytes) for @field, copied into @out (SM_MAX_NAME + 1 bytes). */
static int take_name(const char *field, const char *s, size_t len, char *out, struct api_error *ae)
{
    if (len == 0 || len > SM_MAX_NAME || !printable_utf8(s, len))
        return api_fail(ae, API_P_BAD_REQUEST, field,
                        "1 to %d bytes of UTF-8 without control characters", SM_MAX_NAME);
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

/*
 * The typed account name of the query string ("account"), into @id->name: 1 when there is
 * one, 0 when not. @strict: any other parameter, or a name without lab mode, is refused (the
 * JSON route); else they are ignored (the page).
 */
static int lab_name(const struct api_request *req, bool strict, struct self_identity *id,
                    struct api_error *ae)
{
    const struct api_runtime *rt = req_runtime(req);
    const char *q = strchr(req->target, '?');
    char buf[3 * SM_MAX_NAME + 16];
    int found = 0, r;

    if (!q)
        return 0;
    for (q++; *q;) {
        size_t len = strcspn(q, "&"), vlen;
        bool is_account = strncmp(q, "account=", 8) == 0;

        if (!is_account && len > 0 && strict)
            return api_fail(ae, API_P_BAD_REQUEST, "query",
                            "unknown parameter \"%.*s\" (account, in lab mode)",
                            (int)(len > 40 ? 40 : len), q);
        if (is_account) {
            if (!rt->page_lab_mode) {
                if (strict)
                    return api_fail(ae, API_P_BAD_REQUEST, "account",
                                    "a typed account name is answered only in lab mode "
                                    "([page] lab_mode)");
            } else if (found) {
                return api_fail(ae, API_P_BAD_REQUEST, "account", "given twice");
            } else if (len - 8 > 3 * SM_MAX_NAME ||
                       pct_decode(q + 8, len - 8, true, buf, &vlen) < 0) {
                return api_fail(ae, API_P_BAD_REQUEST, "account",
                                "too long, a bad %%-escape or NUL");
            } else {
                if ((r = take_name("account", buf, vlen, id->name, ae)) < 0)
                    return r;
                found = 1;
            }
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return found;
}

/* The identity header's name in @rt. */
static const char *identity_header(const struct api_runtime *rt)
{
    return rt->page_identity_header[0] ? rt->page_identity_header
                                       : API_PAGE_IDENTITY_HEADER_DEFAULT;
}

const char *self_proxy_user(const struct api_request *req)
{
    const struct api_runtime *rt = req_runtime(req);
    const char *v = req_header(req, identity_header(rt));

    if (!v || !v[0] || rt->page_trusted_proxies.n == 0 ||
        !req_trusted_peer(req, &rt->page_trusted_proxies))
        return NULL;
    return v;
}

int self_identify(const struct api_request *req, bool strict, struct self_identity *ret,
                  struct api_error *ae)
{
    const struct api_runtime *rt = req_runtime(req);
    const char *field = identity_header(rt), *v = req_header(req, field);
    int r;

    memset(ret, 0, sizeof(*ret));
    /* Who set the header first: from anyone but a trusted proxy it is a forgery, refused. */
    if (v && !req_trusted_peer(req, &rt->page_trusted_proxies))
        return api_fail(ae, API_P_BAD_REQUEST, field,
                        "sent by %s, which is not a trusted proxy ([page] trusted_proxies)",
                        req_client_ip(req));
    if (v && req_header_count(req, field) > 1)
        return api_fail(ae, API_P_BAD_REQUEST, field, "given more than once");
    /* A proxy that names the user terminated the user's TLS: a client certificate on its own
       connection is the proxy's (nginx's proxy_ssl_certificate), never the user's. So the
       header, when a trusted proxy sends one, comes before any certificate of that
       connection; a browser connecting directly sends no such header. */
    if (v && v[0]) { /* an empty value: the proxy signed nobody in */
        if ((r = take_name(field, v, strlen(v), ret->name, ae)) < 0)
            return r;
        /* a user name, not whatever else the directory could look up: a SID, a DN or a
           DOMAIN\ prefix (which would be dropped, so another domain's user of the same name
           would be answered for this one's) is refused, not interpreted */
        if (strchr(v, '=') || strchr(v, '\\') || strncasecmp(v, "S-1-", 4) == 0)
            return api_fail(ae, API_P_BAD_REQUEST, field,
                            "a user principal name (user@domain or user@REALM) or an account "
                            "name, not a SID, a DN or DOMAIN\\name");
        ret->source = SELF_HEADER;
        return 0;
    }
    if (req_client_cert(req, &ret->der, &ret->der_len) == 0) {
        ret->source = SELF_CERT;
        return 0;
    }
    if ((r = lab_name(req, strict, ret, ae)) < 0)
        return r;
    if (r == 1)
        ret->source = SELF_LAB;
    return 0;
}

/* ---- the answer ------------------------------------------------------------------------- */

/* One certificate judged for its holder. */
struct self_cert {
    const struct sm_verdict *v;
    struct sm_state_answer st;
};

struct self_answer {
    enum self_source source;
    bool generic; /* path 1 without proof of the account: an upload's answer (page_check()) */
    char name[SM_MAX_NAME + 1];       /* the name given (paths 2 and 3), else "" */
    const struct sm_account *account; /* the account to show, NULL: none (unknown, disabled,
                                         not resolved) */
    const char *readiness;            /* paths 2 and 3: sm_readiness_name(), else NULL */
    struct sm_state_answer st;        /* the answer on the first screen */
    struct self_cert certs[SM_MAX_USERCERTS];
    size_t n_certs;
    const struct sm_account_status *status; /* paths 2 and 3 (owned, as @owned_status) */
    struct sm_account_status *owned_status;
    struct sm_certs *owned_certs;
    struct sm_verdict *owned_verdict;
};

struct self_answer *self_answer_free(struct self_answer *a)
{
    if (!a)
        return NULL;
    sm_account_status_free(a->owned_status);
    sm_verdict_free(a->owned_verdict);
    sm_certs_free(a->owned_certs);
    free(a);
    return NULL;
}

static bool disabled(const struct sm_account *acc)
{
    return acc->has_uac && (acc->uac & SM_UAC_ACCOUNTDISABLE);
}

/*
 * Does the certificate prove that @v's account is its holder's? Only a strong mapping path that
 * matched the account on some profile does: the certificate's SID (written by the CA from the
 * requester's account), an explicit strong altSecurityIdentities value (written by IT) or key
 * trust (the account holds the key). A weak one (the UPN or DNS name, Issuer and Subject,
 * Subject, e-mail) repeats what whoever enrolled could write into the certificate ("enrollee
 * supplies subject"), and a verdict allowing it everywhere only means that every DC is in
 * compatibility mode, which is that very weakness (docs/self-service.md).
 */
static bool proves_account(const struct sm_verdict *v)
{
    /* a strong path binds the account only when a CA the DCs trust for logon made the
       certificate (a CA outside NTAuth could write any SID or serial into it), or when the
       account's own key credential holds the key the TLS handshake proved (key trust) */
    bool issued = v->issuer_signature == SM_ISSUER_SIG_VALID;

    if (!v->account)
        return false;
    for (size_t i = 0; i < v->n_profiles; i++)
        for (size_t k = 0; k < v->profiles[i].n_paths; k++) {
            const struct sm_path *p = &v->profiles[i].paths[k];

            if (p->strength == SM_STRENGTH_STRONG && p->result == SM_PATH_MATCH &&
                (issued || (p->method && strcmp(p->method, "key_trust") == 0)))
                return true;
        }
    return false;
}

/* Path 1: the presented certificate (@der, @len bytes) judged for the account it maps to, when
   it proves that account (proves_account()); else as an upload is (page_check()). */
static int answer_cert(const struct api_request *req, const unsigned char *der, size_t len,
                       struct self_answer *a, struct api_error *ae)
{
    const struct api_runtime *rt = req_runtime(req);
    struct sm_verdict_input in = {
        .profiles = rt->fleet.v,
        .n_profiles = rt->fleet.n,
        .samba_anchors = rt->samba_anchors,
    };
    int r;

    if ((r = read_certs(req, (const char *)der, len, NULL, "client certificate", &a->owned_certs,
                        ae)) < 0)
        return r;
    if (a->owned_certs->n_certs == 0) /* GnuTLS read it, the engine does not */
        return api_fail(ae, API_P_BAD_CERTIFICATE, "client certificate",
                        "the certificate presented cannot be read");
    in.cert = &a->owned_certs->certs[0];
    if ((r = dirpool_verdict(rt->dir, &in, &a->owned_verdict, &ae->info)) < 0)
        return r;
    if (proves_account(a->owned_verdict)) {
        if ((r = sm_verdict_state(a->owned_verdict, 0, false, &a->certs[0].st)) < 0)
            return r;
        a->account = a->owned_verdict->account;
    } else {
        a->owned_verdict = sm_verdict_free(a->owned_verdict);
        if ((r = page_check(req, in.cert, &a->owned_verdict, &a->certs[0].st, ae)) < 0)
            return r;
        a->generic = true;
    }
    a->certs[0].v = a->owned_verdict;
    a->n_certs = 1;
    a->st = a->certs[0].st;
    return 0;
}

/* Paths 2 and 3: the account named, as GET /v1/accounts/{name} sees it. */
static int answer_account(const struct api_request *req, struct self_answer *a,
                          struct api_error *ae)
{
    const struct api_runtime *rt = req_runtime(req);
    const struct sm_account_status *s;
    int r;

    if ((r = dirpool_account_status(rt->dir, a->name, rt->fleet.v, rt->fleet.n, 0, &a->owned_status,
                                    &ae->info)) < 0)
        return r;
    s = a->status = a->owned_status;
    if ((r = sm_account_state(s, &a->st)) < 0)
        return r;
    if (!s->account || disabled(s->account))
        return 0; /* nothing else: an unknown and a disabled account must look alike */
    a->account = s->account;
    a->readiness = sm_readiness_name(s->readiness);
    for (size_t i = 0; i < s->n_cert_verdicts && i < SM_MAX_USERCERTS; i++) {
        a->certs[a->n_certs].v = s->cert_verdicts[i];
        if ((r = sm_verdict_state(s->cert_verdicts[i], 0, false, &a->certs[a->n_certs].st)) < 0)
            return r;
        a->n_certs++;
    }
    return 0;
}

int self_answer(const struct api_request *req, const struct self_identity *id,
                struct self_answer **ret, struct api_error *ae)
{
    struct self_answer *a;
    int r;

    if (!req_runtime(req)->dir)
        return no_directory(ae);
    if (!(a = calloc(1, sizeof(*a))))
        return -ENOMEM;
    a->source = id->source;
    snprintf(a->name, sizeof(a->name), "%s", id->name);
    r = id->source == SELF_CERT ? answer_cert(req, id->der, id->der_len, a, ae)
                                : answer_account(req, a, ae);
    if (r < 0) {
        self_answer_free(a);
        return r;
    }
    *ret = a;
    return 0;
}

/* ---- the helpdesk text ------------------------------------------------------------------- */

static const char *identity_key(const struct self_answer *a)
{
    switch (a->source) {
    case SELF_CERT: return "text.identity_certificate";
    case SELF_HEADER: return "text.identity_header";
    default: return "text.identity_lab";
    }
}

/* Does the answer show the DCs' errors and events for @sc's denials? Not in an upload's
   answer when they would tell about the account (as page.c). */
static bool shows_errors(const struct self_answer *a, const struct self_cert *sc)
{
    return !(a->generic && sc->st.account_reason);
}

static void line(struct su_buf *b, const struct msg_lang *l, const char *key, const char *arg)
{
    msg_put(b, l, key, arg, NULL);
    su_buf_putc(b, '\n');
}

static void helpdesk_text(struct su_buf *b, const struct api_runtime *rt, const struct msg_lang *l,
                          const struct self_answer *a)
{
    const struct sm_account *acc = a->account;
    char now[32], sid[SM_SID_TEXT_MAX], n[24];

    page_time(now, sizeof(now));
    line(b, l, "text.title", NULL);
    if (rt->page_organisation[0])
        line(b, l, "text.organisation", rt->page_organisation);
    if (a->name[0])
        msg_put(b, l, "text.identity_named", a->name, msg_text(l, identity_key(a)), NULL);
    else
        msg_put(b, l, "text.identity", msg_text(l, identity_key(a)), NULL);
    su_buf_putc(b, '\n');
    msg_put(b, l, "text.result", msg_state_label(l, a->st.state), sm_state_name(a->st.state), NULL);
    su_buf_putc(b, '\n');
    msg_put(b, l, "text.reason", msg_why(l, &a->st), a->st.code, NULL);
    su_buf_putc(b, '\n');
    if (acc) { /* LDAP attribute names are IT's words in every language */
        line(b, l, "text.account", acc->dn);
        if (acc->sam)
            su_buf_printf(b, "sAMAccountName: %s\n", acc->sam);
        if (acc->upn)
            su_buf_printf(b, "userPrincipalName: %s\n", acc->upn);
        if (acc->has_sid)
            su_buf_printf(b, "objectSid: %s\n", sm_sid_format(&acc->sid, sid, sizeof(sid)));
        line(b, l, "text.enabled", msg_text(l, disabled(acc) ? "details.no" : "details.yes"));
        if (a->readiness)
            line(b, l, "text.readiness", a->readiness);
        for (size_t i = 0; i < acc->n_altsec; i++)
            su_buf_printf(b, "altSecurityIdentities: %s\n", acc->altsec[i]);
    }
    for (size_t i = 0; i < a->n_certs; i++) {
        const struct self_cert *sc = &a->certs[i];
        const struct sm_cert *c = sc->v->cert;

        snprintf(n, sizeof(n), "%zu", i + 1);
        msg_put(b, l, "text.certificate", n, c ? c->subject.rfc4514 : "",
                sm_state_name(sc->st.state), sc->st.code, NULL);
        su_buf_putc(b, '\n');
        if (c) {
            su_buf_puts(b, "    ");
            msg_put(b, l, "text.certificate_facts", c->issuer.rfc4514, c->serial, c->sha1,
                    c->not_before, c->not_after, NULL);
            su_buf_putc(b, '\n');
        }
        for (size_t k = 0; k < sc->v->n_profiles; k++) {
            su_buf_puts(b, "    ");
            msg_put(b, l, "details.dc", sm_profile_name(sc->v->profiles[k].profile.kind), NULL);
            su_buf_puts(b, ": ");
            page_outcome(b, l, &sc->v->profiles[k], shows_errors(a, sc));
            su_buf_putc(b, '\n');
        }
        if (a->account && !sc->v->allow && sc->v->remediation.altsec_value) {
            su_buf_puts(b, "    ");
            line(b, l, "text.fix", sc->v->remediation.altsec_value);
        }
    }
    line(b, l, "text.checked", now);
}

/* ---- JSON -------------------------------------------------------------------------------- */

/* @s as a JSON string (invalid UTF-8 with '?' for each byte above 0x7f: the directory's values
   are not checked), or null. */
static void jstr(struct su_jsonw *w, const char *s)
{
    size_t len = s ? strlen(s) : 0;
    char *copy;

    if (!s || su_utf8_valid(s, len)) {
        su_jsonw_string(w, s);
        return;
    }
    if (!(copy = strdup(s))) {
        su_jsonw_fail(w, -ENOMEM);
        return;
    }
    for (unsigned char *p = (unsigned char *)copy; *p; p++)
        if (*p >= 0x80)
            *p = '?';
    su_jsonw_stringn(w, copy, len);
    free(copy);
}

static void account_json(struct su_jsonw *w, const struct self_answer *a)
{
    const struct sm_account *acc = a->account;
    char sid[SM_SID_TEXT_MAX];

    if (!acc) {
        su_jsonw_null(w);
        return;
    }
    su_jsonw_object_begin(w);
    su_jsonw_key(w, "dn");
    jstr(w, acc->dn);
    su_jsonw_key(w, "sam");
    jstr(w, acc->sam);
    su_jsonw_key(w, "upn");
    jstr(w, acc->upn);
    su_jsonw_kstr(w, "sid", acc->has_sid ? sm_sid_format(&acc->sid, sid, sizeof(sid)) : NULL);
    su_jsonw_kbool(w, "enabled", !disabled(acc));
    su_jsonw_kstr(w, "status", a->readiness);
    su_jsonw_key(w, "mappings");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < acc->n_altsec; i++)
        jstr(w, acc->altsec[i]);
    su_jsonw_array_end(w);
    su_jsonw_object_end(w);
}

static void cert_json(struct su_jsonw *w, const struct msg_lang *l, const struct self_answer *a,
                      const struct self_cert *sc)
{
    const struct sm_verdict *v = sc->v;
    const struct sm_cert *c = v->cert;

    su_jsonw_object_begin(w);
    su_jsonw_key(w, "subject");
    jstr(w, c ? c->subject.rfc4514 : NULL);
    su_jsonw_key(w, "issuer");
    jstr(w, c ? c->issuer.rfc4514 : NULL);
    su_jsonw_key(w, "serial");
    jstr(w, c ? c->serial : NULL);
    su_jsonw_kstr(w, "sha1", c ? c->sha1 : NULL);
    su_jsonw_key(w, "expires");
    jstr(w, c ? c->not_after : NULL);
    su_jsonw_kstr(w, "state", sm_state_name(sc->st.state));
    su_jsonw_kstr(w, "code", sc->st.code);
    su_jsonw_kstr(w, "why", msg_why(l, &sc->st));
    su_jsonw_key(w, "steps");
    page_steps_json(w, l, &sc->st);
    su_jsonw_key(w, "profiles");
    page_profiles_json(w, v, shows_errors(a, sc));
    su_jsonw_key(w, "fix");
    jstr(w, a->account && !v->allow ? v->remediation.altsec_value : NULL);
    su_jsonw_object_end(w);
}

int self_json(const struct api_runtime *rt, const struct msg_lang *l, const struct self_answer *a,
              char **ret)
{
    struct su_jsonw w;
    struct su_buf b;

    su_buf_init(&b, NULL, NULL);
    helpdesk_text(&b, rt, l, a);
    if (!su_buf_str(&b))
        return -ENOMEM;
    /* the members in the order of the Jansson document this replaced, byte for byte */
    su_jsonw_init(&w, 0, NULL, NULL);
    su_jsonw_object_begin(&w);
    su_jsonw_key(&w, "identity");
    su_jsonw_object_begin(&w);
    su_jsonw_kstr(&w, "source", source_names[a->source]);
    su_jsonw_key(&w, "name");
    jstr(&w, a->name[0] ? a->name : NULL);
    su_jsonw_object_end(&w);
    su_jsonw_kbool(&w, "lab_mode", a->source == SELF_LAB);
    su_jsonw_kstr(&w, "state", sm_state_name(a->st.state));
    su_jsonw_kstr(&w, "code", a->st.code);
    su_jsonw_kstr(&w, "why", msg_why(l, &a->st));
    su_jsonw_key(&w, "steps");
    page_steps_json(&w, l, &a->st);
    su_jsonw_key(&w, "account");
    account_json(&w, a);
    su_jsonw_key(&w, "certificates");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < a->n_certs; i++)
        cert_json(&w, l, a, &a->certs[i]);
    su_jsonw_array_end(&w);
    su_jsonw_kstr(&w, "organisation", rt->page_organisation[0] ? rt->page_organisation : NULL);
    su_jsonw_kstr(&w, "helpdesk", rt->page_helpdesk[0] ? rt->page_helpdesk : NULL);
    su_jsonw_key(&w, "links");
    page_links_json(&w, rt);
    su_jsonw_kstr(&w, "helpdesk_text", su_buf_str(&b));
    su_jsonw_object_end(&w);
    su_buf_release(&b);
    return su_jsonw_finish(&w, ret, NULL);
}

/* ---- HTML -------------------------------------------------------------------------------- */

static void details_html(struct su_buf *b, const struct msg_lang *l, const struct self_answer *a)
{
    const struct sm_account *acc = a->account;
    char sid[SM_SID_TEXT_MAX], n[24];
    struct su_buf name, value;

    su_buf_init(&name, NULL, NULL);
    su_buf_init(&value, NULL, NULL);
    su_buf_puts(b, "<details>\n<summary>");
    msg_html(b, l, "details.summary", NULL, NULL);
    su_buf_puts(b, "</summary>\n<dl>\n");
    page_dl_row(b, msg_text(l, "details.result"), sm_state_name(a->st.state));
    page_dl_row(b, msg_text(l, "details.reason_code"), a->st.code);
    if (acc) { /* LDAP attribute names are IT's words in every language */
        page_dl_row(b, msg_text(l, "details.account"), acc->dn);
        if (acc->sam)
            page_dl_row(b, "sAMAccountName", acc->sam);
        if (acc->upn)
            page_dl_row(b, "userPrincipalName", acc->upn);
        if (acc->has_sid)
            page_dl_row(b, "objectSid", sm_sid_format(&acc->sid, sid, sizeof(sid)));
        page_dl_row(b, msg_text(l, "details.enabled"),
                    msg_text(l, disabled(acc) ? "details.no" : "details.yes"));
        if (a->readiness)
            page_dl_row(b, msg_text(l, "details.readiness"), a->readiness);
        for (size_t i = 0; i < acc->n_altsec; i++)
            page_dl_row(b, "altSecurityIdentities", acc->altsec[i]);
    }
    for (size_t i = 0; i < a->n_certs; i++) {
        const struct self_cert *sc = &a->certs[i];
        const struct sm_verdict *v = sc->v;

        snprintf(n, sizeof(n), "%zu", i + 1);
        su_buf_release(&name);
        su_buf_release(&value);
        msg_put(&name, l, "details.certificate", n, NULL);
        msg_put(&value, l, "details.certificate_result", sm_state_name(sc->st.state), sc->st.code,
                v->cert ? v->cert->not_after : "?", NULL);
        if (!su_buf_str(&name) || !su_buf_str(&value)) {
            b->oom = true;
            break;
        }
        page_dl_row(b, name.p, v->cert ? v->cert->subject.rfc4514 : "");
        page_dl_row(b, msg_text(l, "details.result"), value.p);
        for (size_t k = 0; k < v->n_profiles; k++)
            page_dl_outcome(b, l, &v->profiles[k], shows_errors(a, sc));
        if (acc && !v->allow && v->remediation.altsec_value)
            page_dl_row(b, msg_text(l, "details.fix"), v->remediation.altsec_value);
    }
    su_buf_release(&name);
    su_buf_release(&value);
    su_buf_puts(b, "</dl>\n</details>\n");
}

/* Who the answer is for, the first paragraph of its section. */
static void identity_html(struct su_buf *b, const struct msg_lang *l, const struct self_answer *a)
{
    su_buf_puts(b, "<p class=\"identity\">");
    switch (a->source) {
    case SELF_CERT:
        if (a->account && (a->account->sam || a->account->upn))
            msg_html(b, l, "self.for_certificate_named", "strong",
                     a->account->sam ? a->account->sam : a->account->upn, NULL);
        else
            msg_html(b, l, "self.for_certificate", NULL, NULL);
        if (a->generic) {
            su_buf_putc(b, ' ');
            msg_html(b, l, "self.certificate_unproven", NULL, NULL);
        }
        break;
    case SELF_HEADER: msg_html(b, l, "self.for_header", "strong", a->name, NULL); break;
    default:
        su_buf_puts(b, "<strong class=\"lab\">");
        msg_html(b, l, "self.lab", NULL, NULL);
        su_buf_puts(b, "</strong> ");
        msg_html(b, l, "self.for_lab", "strong", a->name, NULL);
    }
    su_buf_puts(b, "</p>\n");
}

/* The section of the answer for the caller's own account. */
static void answer_html(struct su_buf *b, const struct api_runtime *rt, const struct msg_lang *l,
                        const struct self_answer *a)
{
    struct su_buf t;

    su_buf_init(&t, NULL, NULL);
    helpdesk_text(&t, rt, l, a);
    su_buf_printf(b, "<section class=\"answer self state-%s\" aria-labelledby=\"self-state\">\n",
                  sm_state_name(a->st.state));
    su_buf_puts(b, "<h2 id=\"self-state\"><span class=\"sr-only\">");
    msg_html(b, l, a->generic ? "answer.result_sr" : "answer.account_sr", NULL, NULL);
    su_buf_puts(b, " </span>");
    page_escape(b, msg_state_label(l, a->st.state));
    su_buf_puts(b, "</h2>\n");
    /* whose answer it is, after the heading: a screen reader that jumps to the heading reads on
       from there */
    identity_html(b, l, a);
    su_buf_puts(b, "<p class=\"why\">");
    page_escape(b, msg_why(l, &a->st));
    su_buf_puts(b, "</p>\n");
    page_steps_html(b, l, &a->st);
    page_contact_html(b, rt, l);
    page_links_html(b, rt, l);
    details_html(b, l, a);
    page_helpdesk_html(b, l, "self-helpdesk", su_buf_str(&t));
    su_buf_puts(b, "</section>\n");
    su_buf_release(&t);
}

/* Lab mode's form: an account name, sent with GET (works without JavaScript). */
static void lab_form_html(struct su_buf *b, const struct msg_lang *l, const char *typed)
{
    su_buf_puts(b, "<form id=\"lab\" class=\"lab\" method=\"get\" action=\"/status\">\n"
                   "<p class=\"lab-note\"><strong class=\"lab\">");
    msg_html(b, l, "lab.title", NULL, NULL);
    su_buf_puts(b, "</strong> ");
    msg_html(b, l, "lab.note", NULL, NULL);
    su_buf_puts(b, "</p>\n<p><label for=\"account\">");
    msg_html(b, l, "lab.account", NULL, NULL);
    su_buf_printf(b,
                  "</label></p>\n"
                  "<p><input type=\"text\" id=\"account\" name=\"account\" maxlength=\"%d\" "
                  "autocomplete=\"off\" required value=\"",
                  SM_MAX_NAME);
    page_escape(b, typed ? typed : "");
    su_buf_puts(b, "\"></p>\n<p><button type=\"submit\">");
    msg_html(b, l, "lab.check", NULL, NULL);
    su_buf_puts(b, "</button></p>\n</form>\n");
}

int self_page_html(const struct api_runtime *rt, const struct msg_lang *l,
                   const struct self_answer *a, bool lab_form, const char *tmpl, size_t tmpl_len,
                   char **ret, size_t *ret_len)
{
    const char *at = tmpl_len ? strstr(tmpl, SELF_MARKER) : NULL, *end = tmpl + tmpl_len;
    const char *help = NULL, *help_end = NULL;
    struct su_buf b;

    if (!at)
        return -EINVAL; /* web/status.html lost its marker: the page's API tests say so */
    /* the answer carries the organisation's help: the empty page's section would repeat it */
    if (a && (help = strstr(at, PAGE_HELP_START)) && (help_end = strstr(help, PAGE_HELP_END)))
        help_end += strlen(PAGE_HELP_END);
    else
        help = help_end = end;
    su_buf_init(&b, NULL, NULL);
    su_buf_put(&b, tmpl, (size_t)(at - tmpl));
    if (lab_form)
        lab_form_html(&b, l, a && a->source == SELF_LAB ? a->name : NULL);
    if (a)
        answer_html(&b, rt, l, a);
    at += strlen(SELF_MARKER);
    su_buf_put(&b, at, (size_t)(help - at));
    su_buf_put(&b, help_end, (size_t)(end - help_end));
    if (!su_buf_str(&b)) {
        su_buf_release(&b);
        return -ENOMEM;
    }
    *ret_len = b.len;
    *ret = b.p; /* realloc()'s storage: free() it */
    return 0;
}

/*
 * api/h_authz.c - GET|POST /v1/authz: the verdict on the client certificate a proxy forwards
 * (read_authz(), api/authz.c), for the runtime's default DC profiles (or ?profile=), as a status
 * a proxy acts on and headers it can copy (nginx auth_request_set, Envoy
 * allowed_upstream_headers). No body, unless ?format=json asks for the verdict document.
 *
 *   200 allow, 403 deny; 200 with outcome "unknown" when the directory is down and
 *   [authz] directory_down = fail_open (else 503 directory-unavailable, the default).
 *   X-Strongmap-Outcome   allow, deny or unknown
 *   X-Strongmap-Reason    a stable code: the reason the primary profile's evaluation ended with
 *                         (weak_mapping, sid_mismatch, ...), no_client_certificate, or
 *                         directory_unavailable; none for an allow without one
 *   X-Strongmap-Kdc-Error the Kerberos error, "66 KDC_ERR_CERTIFICATE_MISMATCH"
 *   X-Strongmap-Event     the KDC event's id (39, 40, 41, ...)
 *   X-Strongmap-Account   the account's sAMAccountName (else its UPN), bytes outside printable
 *                         ASCII and '%' %-encoded; only to a caller that may see account data
 *   X-Strongmap-Fix       the first remediation step on one line, printable ASCII (a deny)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strongmap/json.h>
#include <strongmap/verdict.h>

#include "api_internal.h"
#include "dirpool.h"

#define FIX_MAX     300 /* bytes of X-Strongmap-Fix */
#define ACCOUNT_MAX (3 * SM_MAX_NAME + 1)

/* fail open: the body of ?format=json */
static const char unknown_json[] = "{\"outcome\":\"unknown\",\"reason\":\"directory_unavailable\"}";

/* The answer's headers, built in the handler's frame. */
struct authz_headers {
    struct api_header h[6];
    size_t n;
    char kdc[96], event[16], account[ACCOUNT_MAX], fix[FIX_MAX + 4];
};

static void add(struct authz_headers *ah, const char *name, const char *value)
{
    if (value && value[0])
        ah->h[ah->n++] = (struct api_header){ name, value };
}

/* Reason codes are [a-z0-9_] (metrics.c checks the same); anything else is not sent. */
static const char *code_or_null(const char *code)
{
    if (!code || !code[0])
        return NULL;
    for (const char *p = code; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return NULL;
    return code;
}

/* @s on one line of printable ASCII: runs of blanks and controls as one space, a non-ASCII
 * character as '?', cut at @size - 4 bytes with "...". */
void one_line(const char *s, char *out, size_t size)
{
    size_t o = 0;
    bool blank = false;

    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == 0x7f) {
            blank = o > 0;
            continue;
        }
        if ((*p & 0xc0) == 0x80) /* a continuation byte: its lead byte wrote the '?' */
            continue;
        if (o + (blank ? 2 : 1) > size - 4) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (blank)
            out[o++] = ' ';
        blank = false;
        out[o++] = *p < 0x7f ? (char)*p : '?';
    }
    out[o] = '\0';
}

/* @s with the bytes outside printable ASCII, and '%', %-encoded (RFC 3986). */
static void pct_encode(const char *s, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;

    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 <= size; p++) {
        if (*p > ' ' && *p < 0x7f && *p != '%') {
            out[o++] = (char)*p;
        } else {
            out[o++] = '%';
            out[o++] = hex[*p >> 4];
            out[o++] = hex[*p & 15];
        }
    }
    out[o] = '\0';
}

/* The reason the primary profile's evaluation ended with (the deny's own reason is added
 * last), else the request's. */
static const char *verdict_reason(const struct sm_verdict *v)
{
    const struct sm_profile_outcome *p = v->primary;

    if (p && p->n_reasons)
        return code_or_null(p->reasons[p->n_reasons - 1].code);
    if (!v->allow && v->n_reasons)
        return code_or_null(v->reasons[v->n_reasons - 1].code);
    return NULL;
}

static void verdict_headers(const struct api_request *req, const struct sm_verdict *v,
                            struct authz_headers *ah)
{
    const struct sm_profile_outcome *p = v->primary;
    const struct sm_account *acc = v->account;

    add(ah, "X-Strongmap-Outcome", v->allow ? "allow" : "deny");
    add(ah, "X-Strongmap-Reason", verdict_reason(v));
    if (p && p->kdc_error.code) {
        snprintf(ah->kdc, sizeof(ah->kdc), "%d %s", p->kdc_error.code,
                 p->kdc_error.name ? p->kdc_error.name : "");
        add(ah, "X-Strongmap-Kdc-Error", ah->kdc);
    }
    if (p && p->event.id) {
        snprintf(ah->event, sizeof(ah->event), "%d", p->event.id);
        add(ah, "X-Strongmap-Event", ah->event);
    }
    if (acc && !v->redacted && req_sees_accounts(req) && (acc->sam || acc->upn)) {
        pct_encode(acc->sam ? acc->sam : acc->upn, ah->account, sizeof(ah->account));
        add(ah, "X-Strongmap-Account", ah->account);
    }
    if (!v->allow && v->remediation.n_steps) {
        one_line(v->remediation.steps[0], ah->fix, sizeof(ah->fix));
        add(ah, "X-Strongmap-Fix", ah->fix);
    }
}

/* The directory did not answer: the configured policy (counted). */
static int directory_down(struct api_request *req, const struct authz_request *ar, int err,
                          struct api_error *ae)
{
    struct authz_headers ah = { .n = 0 };
    char *json = NULL;

    if (!req_runtime(req)->authz_fail_open) {
        metric_inc(&req->api->metrics.authz[API_AUTHZ_UNAVAILABLE]);
        return reply_fail(req, err, ae);
    }
    metric_inc(&req->api->metrics.authz[API_AUTHZ_UNKNOWN]);
    req_note(req, ae->info.text[0] ? ae->info.text : sm_strerror(err));
    add(&ah, "X-Strongmap-Outcome", "unknown");
    add(&ah, "X-Strongmap-Reason", "directory_unavailable");
    if (ar->json && !(json = strdup(unknown_json)))
        return reply_error(req, -ENOMEM, NULL);
    return reply_status(req, 200, ah.h, ah.n, json); /* takes json */
}

int h_authz(struct api_request *req)
{
    struct dirpool *dir = req_runtime(req)->dir;
    struct api_error ae = API_ERROR_INIT;
    struct authz_headers ah = { .n = 0 };
    struct authz_request ar;
    struct sm_verdict_input in;
    struct sm_verdict *v = NULL;
    char *json = NULL;
    int ret;

    if ((ret = read_authz(req, &ar, &ae)) < 0)
        goto out_fail;
    if (!ar.certs) { /* the client presented no certificate: nothing can map */
        metric_inc(&req->api->metrics.authz[API_AUTHZ_DENY]);
        add(&ah, "X-Strongmap-Outcome", "deny");
        add(&ah, "X-Strongmap-Reason", "no_client_certificate");
        add(&ah, "X-Strongmap-Fix", "Present a client certificate.");
        if (ar.json && !(json = strdup("{\"outcome\":\"deny\",\"reason\":"
                                       "\"no_client_certificate\"}"))) {
            ret = -ENOMEM;
            goto out_fail;
        }
        ret = reply_status(req, 403, ah.h, ah.n, json); /* takes json */
        goto out;
    }
    if (!dir) {
        ret = no_directory(&ae);
        goto out_fail;
    }
    in = (struct sm_verdict_input){
        .cert = &ar.certs->certs[0],
        .profiles = ar.profiles.v,
        .n_profiles = ar.profiles.n,
        .redact_account = !req_sees_accounts(req),
        .samba_anchors = req_runtime(req)->samba_anchors,
    };
    ret = req_verdict(req, &in, &v, &ae.info);
    if (ret == SM_E_DIR_WOULD_BLOCK)
        goto out; /* a cached try: to the job pool, nothing answered */
    if (ret == SM_E_DIR_DOWN || ret == SM_E_DIR_REFUSED) {
        ret = directory_down(req, &ar, ret, &ae);
        goto out;
    }
    if (ret < 0)
        goto out_fail;
    metrics_verdict(&req->api->metrics, v);
    metric_inc(&req->api->metrics.authz[v->allow ? API_AUTHZ_ALLOW : API_AUTHZ_DENY]);
    decision_log(req, v);
    if (ar.json && (ret = sm_json_verdict(v, 0, &json)) < 0)
        goto out_fail;
    verdict_headers(req, v, &ah);
    ret = reply_status(req, v->allow ? 200 : 403, ah.h, ah.n, json); /* takes json */
    goto out;

out_fail:
    ret = reply_fail(req, ret, &ae);
out:
    sm_verdict_free(v);
    authz_request_free(&ar);
    return ret;
}

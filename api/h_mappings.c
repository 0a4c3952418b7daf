/*
 * api/h_mappings.c - POST and DELETE /v1/accounts/{name}/mappings: mapping write-back
 * (strongmap/mapwrite.h, common/mapaudit.h, docs/write-back.md).
 *
 * Body: a JSON object {"certificate": PEM or base64 DER, "type": "X509SKI", "value": "X509:...",
 * "apply": false, "allow_foreign_sid": false}. POST adds the value computed from the
 * certificate; DELETE removes "value", or the value computed from the certificate. A dry run
 * unless "apply" is true. The route admits scope "write" or "admin" (not configurable), and the
 * handler, which alone sees "apply", decides the rest: applying needs an authenticated token
 * with scope "write" (a daemon without tokens answers dry runs only; "admin" does not imply
 * "write", so that a token given to a monitoring system cannot write), whose name the audit log
 * records with the client's address. A dry run names accounts and their values: a "write" token
 * gets it, another only when scope.account_data covers it.
 *
 * Answers: 200 with the plan or the write's document (sm_json_mapwrite()); 404 no-account;
 * 409 mapping-refused (the safety check in the detail); 502 write-failed (the directory
 * refused or failed the modify: the detail says whether the account changed, the access log
 * has the reason); 500 audit-log; 503 write-not-configured when a token with scope write applies
 * without [write] (the scope is checked first: to any other caller an apply is 403, with [write]
 * or without); 503 write-busy (Retry-After) when the write could not start: the process's write
 * lock was not had in time, or another process held the audit log's file lock (nothing written
 * or sent).
 * Every request takes a handle of its own: of the write bind's pool when [write] is configured
 * (no lookup cache), else, for a dry run, of the read pool. Only a write takes the write lock,
 * one for the process (common/mapaudit.h): a dry run that waits on a slow directory holds up no
 * write, and a write begun before a reload and one after it wait for each other. The wait is
 * bounded (MAPAUDIT_LOCK_WAIT_MS) and one write at most waits, none on a server with fewer than
 * three job threads (see write_waiters()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <strongmap/mapwrite.h>

#include "api_internal.h"
#include "dirpool.h"
#include "mapaudit.h"

#define MAPPINGS_PREFIX "/v1/accounts/"
#define MAPPINGS_SUFFIX "/mappings"

struct map_request {
    json_t *root;
    char *name; /* %-decoded */
    const char *cert, *value, *type;
    size_t cert_len;
    bool apply, allow_foreign_sid;
};

/* The account's name from the request target (as sent, %-encoded). */
static int read_name(const struct api_request *req, struct map_request *mr, struct api_error *ae)
{
    size_t path_len = strcspn(req->target, "?"), pre = strlen(MAPPINGS_PREFIX),
           post = strlen(MAPPINGS_SUFFIX), len;

    if (path_len <= pre + post || strncmp(req->target, MAPPINGS_PREFIX, pre) != 0 ||
        strncmp(req->target + path_len - post, MAPPINGS_SUFFIX, post) != 0) {
        ae->problem = API_P_NOT_FOUND; /* e.g. an absolute-form target */
        return -ENOENT;
    }
    if (req->target[path_len] == '?' && req->target[path_len + 1])
        return api_fail(ae, API_P_BAD_REQUEST, "query", "this route takes no query parameters");
    if (!(mr->name = malloc(path_len - pre - post + 1)))
        return -ENOMEM;
    if (pct_decode(req->target + pre, path_len - pre - post, false, mr->name, &len) < 0)
        return api_fail(ae, API_P_BAD_REQUEST, "name", "bad %%-escape or NUL in the path");
    mr->name[len] = '\0';
    if (len == 0 || len > SM_MAX_NAME)
        return api_fail(ae, API_P_BAD_REQUEST, "name", "1 to %d bytes", SM_MAX_NAME);
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)mr->name[i] < 0x20 || mr->name[i] == 0x7f)
            return api_fail(ae, API_P_BAD_REQUEST, "name", "control characters");
    return 0;
}

static int string_member(const char *key, json_t *val, const char **ret, size_t *ret_len,
                         struct api_error *ae)
{
    if (!json_is_string(val))
        return api_fail(ae, API_P_BAD_REQUEST, key, "must be a string");
    *ret = json_string_value(val);
    if (ret_len)
        *ret_len = json_string_length(val);
    else if (strlen(*ret) != json_string_length(val))
        return api_fail(ae, API_P_BAD_REQUEST, key, "NUL in the string");
    return 0;
}

static int read_body(const struct api_request *req, bool remove, struct map_request *mr,
                     struct api_error *ae)
{
    const char *ctype = req_header(req, "Content-Type"), *key;
    json_error_t jerr;
    json_t *val;
    int r = 0;

    if (req->body_len == 0)
        return api_fail(ae, API_P_EMPTY_BODY, NULL,
                        "send a JSON object: {\"certificate\": \"...\", \"apply\": false}");
    if (ctype && strncmp(ctype, "application/json", 16) != 0)
        return api_fail(ae, API_P_UNSUPPORTED_MEDIA_TYPE, NULL, "send application/json");
    if (req_header(req, "Content-Encoding"))
        return api_fail(ae, API_P_UNSUPPORTED_MEDIA_TYPE, NULL,
                        "Content-Encoding is not supported; send the body uncompressed");
    mr->root = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!mr->root)
        return api_fail(ae, API_P_BAD_JSON, NULL, "line %d, column %d: %s", jerr.line, jerr.column,
                        jerr.text);
    if (!json_is_object(mr->root))
        return api_fail(ae, API_P_BAD_REQUEST, NULL, "the body must be a JSON object");
    json_object_foreach(mr->root, key, val)
    {
        if (strcmp(key, "certificate") == 0)
            r = string_member("certificate", val, &mr->cert, &mr->cert_len, ae);
        else if (strcmp(key, "type") == 0)
            r = string_member("type", val, &mr->type, NULL, ae);
        else if (strcmp(key, "value") == 0 && remove)
            r = string_member("value", val, &mr->value, NULL, ae);
        else if (strcmp(key, "apply") == 0 || strcmp(key, "allow_foreign_sid") == 0) {
            if (!json_is_boolean(val))
                return api_fail(ae, API_P_BAD_REQUEST,
                                key[0] == 'a' && key[1] == 'p' ? "apply" : "allow_foreign_sid",
                                "must be true or false");
            if (strcmp(key, "apply") == 0)
                mr->apply = json_is_true(val);
            else
                mr->allow_foreign_sid = json_is_true(val);
        } else
            return api_fail(ae, API_P_BAD_REQUEST, NULL,
                            "unknown member \"%.40s\" (certificate, type, %sapply%s)", key,
                            remove ? "value, " : "", remove ? "" : ", allow_foreign_sid");
        if (r < 0)
            return r;
    }
    if (remove && mr->allow_foreign_sid)
        return api_fail(ae, API_P_BAD_REQUEST, "allow_foreign_sid", "is for adding");
    if (!remove && !mr->cert)
        return api_fail(ae, API_P_MISSING_FIELD, "certificate",
                        "the value is computed from a certificate (PEM or base64 DER)");
    if (remove && !!mr->cert == !!mr->value)
        return api_fail(ae, API_P_MISSING_FIELD, NULL,
                        "give \"value\" (the value to remove) or \"certificate\", one of them");
    if (mr->value && mr->type)
        return api_fail(ae, API_P_BAD_REQUEST, "type",
                        "goes with \"certificate\": a given value has its own type");
    return 0;
}

/*
 * The scope the request needs beyond the route's (see the top): 0, or 403 insufficient-scope in
 * @ae with the WWW-Authenticate of RFC 6750 naming scope "write", counted as admission's refusals
 * are.
 */
static int check_scope(struct api_request *req, bool apply, struct api_error *ae)
{
    const struct api_runtime *rt = req_runtime(req);
    bool writer = req->token && (req->token->scopes & API_SCOPE_WRITE);

    if (writer || (!apply && req_sees_accounts(req)))
        return 0;
    if (rt->n_tokens > 0) {
        metric_inc(&req->api->metrics.auth_failures[AUTH_F_SCOPE]);
        req->extra_header = "WWW-Authenticate";
        req->extra_value =
            "Bearer realm=\"strongmapd\", error=\"insufficient_scope\", scope=\"write\"";
    }
    if (apply)
        return api_fail(ae, API_P_FORBIDDEN, NULL,
                        "writing needs an authenticated token with scope write (scope admin does "
                        "not write)");
    return api_fail(ae, API_P_FORBIDDEN, NULL,
                    "a dry run names accounts and their values: it needs scope write, or a scope "
                    "that sees account data (scope.account_data)");
}

/* The answer to a plan or write that ended with @r (< 0) and *@m set. */
static int reply_trouble(struct api_request *req, int r, const struct sm_mapwrite *m,
                         const struct sm_errinfo *e)
{
    char detail[sizeof(e->text) + 200];

    req_note(req, e->text);
    if (m->outcome == SM_MAPWRITE_FAILED) {
        snprintf(detail, sizeof(detail),
                 "the directory did not make the change (%s); the account is %s; the audit log "
                 "and the access log have the reason",
                 r == SM_E_DIR_DOWN ? "no answer or connection lost" : "refused",
                 m->after ? m->after : "in an unknown state");
        return reply_problem(req, API_P_WRITE_FAILED, detail);
    }
    snprintf(detail, sizeof(detail), "%s", e->text);
    return reply_problem(req, API_P_AUDIT_LOG, detail);
}

static int reply_refused(struct api_request *req, const struct sm_mapwrite *m)
{
    char detail[1024];
    int n = snprintf(detail, sizeof(detail), "%s: %s", m->refusal.code, m->refusal.message);

    for (size_t i = 0; i < m->refusal.n_holders && n > 0 && (size_t)n < sizeof(detail); i++)
        n += snprintf(detail + n, sizeof(detail) - (size_t)n, "%s%s",
                      i ? "; " : " (held by: ", m->refusal.holders[i]);
    if (m->refusal.n_holders && n > 0 && (size_t)n < sizeof(detail) - 1)
        snprintf(detail + n, sizeof(detail) - (size_t)n, ")");
    return reply_problem(req, API_P_MAPPING_REFUSED, detail);
}

/*
 * How many writes may wait for the process's write lock (mapaudit_run()) while one holds it:
 * one, or none when the server has fewer than three job threads. A write stuck on a directory
 * that does not answer holds the lock and its job thread up to the [directory] deadlines, and
 * the job threads also serve the verdicts and /v1/authz: writes then take two of them at most
 * (the one stuck, the one waiting, for MAPAUDIT_LOCK_WAIT_MS), and always leave one to the other
 * routes (with a single job thread, a write in progress has it, as any request does).
 */
static unsigned write_waiters(const struct api_request *req)
{
    return req->api->n_job_threads >= 3 ? 1 : 0;
}

int h_mappings(struct api_request *req)
{
    const struct api_runtime *rt = req_runtime(req);
    /* the route answers POST and DELETE only: its method as the request line gave it */
    bool remove = strcmp(req->log_method, "DELETE") == 0;
    struct map_request mr = { 0 };
    struct sm_mapwrite_request in = { .op = remove ? SM_MAPWRITE_REMOVE : SM_MAPWRITE_ADD,
                                      .type = SM_MAP_ISSUER_SERIAL };
    struct api_error ae = API_ERROR_INIT;
    struct sm_certs *certs = NULL;
    struct sm_mapwrite *m = NULL;
    char *json = NULL, note[300];
    int ret;

    if ((ret = read_name(req, &mr, &ae)) < 0 || (ret = read_body(req, remove, &mr, &ae)) < 0)
        goto out_fail;
    if (mr.type && sm_mapwrite_type_parse(mr.type, &in.type) < 0) {
        ret = api_fail(&ae, API_P_BAD_REQUEST, "type",
                       "X509IssuerSerialNumber, X509SKI, X509SHA1PublicKey or X509IssuerSID");
        goto out_fail;
    }
    if (mr.cert) {
        if ((ret = read_certs(req, mr.cert, mr.cert_len, NULL, "certificate", &certs, &ae)) < 0)
            goto out_fail;
        if (certs->n_certs != 1) {
            ret = api_fail(&ae, API_P_BAD_REQUEST, "certificate", "one certificate, not %zu",
                           certs->n_certs);
            goto out_fail;
        }
        in.cert = &certs->certs[0];
    }
    /* the scope first: only a caller that may write learns whether [write] is configured */
    if ((ret = check_scope(req, mr.apply, &ae)) < 0)
        goto out_fail;
    if (mr.apply && !rt->map_pool) {
        ret = api_fail(&ae, API_P_WRITE_OFF, NULL,
                       "this strongmapd has no write bind ([write] in its configuration): dry "
                       "runs only");
        goto out_fail;
    }
    if (!rt->map_pool && !rt->dir) {
        ret = no_directory(&ae);
        goto out_fail;
    }
    in.account = mr.name;
    in.value = mr.value;
    in.allow_foreign_sid = mr.allow_foreign_sid;
    struct sm_mapwrite_actor who = {
        .kind = "token",
        .name = req->token ? req->token->name : NULL,
        .client = req_client_ip(req),
    };
    /* a handle of the write pool (else, for a dry run, of the read pool) for this request alone;
       mapaudit_run() takes the process's write lock for a write only */
    struct dirpool *pool = rt->map_pool ? rt->map_pool : rt->dir;
    struct sm_dir *h = dirpool_acquire(pool);
    ret = mapaudit_run(rt->map_audit, h, h, &in, mr.apply, write_waiters(req), &who, &m, &ae.info);
    dirpool_release(pool, h);
    if (ret < 0 && !m) {
        if (ret == -ENOENT)
            ae.problem = API_P_NO_ACCOUNT;
        else if (ret == -EBUSY && mr.apply)
            ae.problem = API_P_WRITE_BUSY;
        else if (ret == -EINVAL && !ae.info.field)
            ae.info.field = mr.value ? "value" : "certificate";
        goto out_fail;
    }
    /* the verdicts that follow must see the change: the read pool's cached lookups go */
    if (mr.apply && rt->dir && m->applied && strcmp(m->after ? m->after : "", "unchanged") != 0)
        dirpool_cache_clear(rt->dir);
    if (mr.apply) {
        metric_inc(&req->api->metrics.mapping_writes[m->op == SM_MAPWRITE_REMOVE][m->outcome]);
        snprintf(note, sizeof(note), "%s %s: %s", sm_mapwrite_op_name(m->op),
                 m->account ? m->account->dn : "?", sm_mapwrite_outcome_name(m->outcome));
        req_note(req, note);
    }
    if (ret < 0) {
        ret = reply_trouble(req, ret, m, &ae.info);
        goto out;
    }
    if (m->outcome == SM_MAPWRITE_REFUSED) {
        ret = reply_refused(req, m);
        goto out;
    }
    if ((ret = sm_json_mapwrite(m, mr.apply, 0, &json)) < 0)
        goto out_fail;
    ret = reply_json(req, json); /* takes json */
    goto out;

out_fail:
    ret = reply_fail(req, ret, &ae);
out:
    sm_mapwrite_free(m);
    sm_certs_free(certs);
    json_decref(mr.root);
    free(mr.name);
    return ret;
}

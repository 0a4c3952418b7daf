/*
 * api/h_freeradius.c - POST /v1/hooks/freeradius: FreeRADIUS 3.2's rlm_rest asks, during an
 * EAP-TLS authentication (the check-eap-tls virtual server, or post-auth), whether the client
 * certificate will map strongly at a domain controller (docs/integrations/freeradius.md).
 *
 * The body is rlm_rest's JSON (body = json): every attribute of the request as
 * {"Name": {"type": "string", "value": ["...", ...]}, ...}. FreeRADIUS passes what it read
 * from the certificate as TLS-Client-Cert-* attributes (serial, subject, issuer, SAN UPN,
 * email and DNS names, EKU OIDs, SKI, validity), but not the SID extension, not the SAN URI
 * and not the certificate itself. So the verdict is predicted from those facts with the
 * issuance plan's engine (strongmap/preissue.h): the facts are the certificate "as
 * requested", the same facts with the account's SID added "as it should be issued".
 *
 *   every profile allows the facts               allow: 204, no body (rlm_rest: ok)
 *   an X509SKI mapping of the account matches    allow: 204 (an explicit strong mapping; the
 *     the SKI, or an X509IssuerSerialNumber one    engine's facts carry neither the SKI nor the
 *     the issuer and serial, and the SID would     issuer and serial)
 *     be enough
 *   only the SID would make it allow             unknown: the SID cannot be seen on this path;
 *                                                  [authz] directory_down decides: fail_closed
 *                                                  401 (rlm_rest: reject), fail_open 200
 *                                                  (updated); the message points to the
 *                                                  whole-certificate path (strongmap gate)
 *   anything else denies                         deny: 401 (reject)
 *   the directory down                           the same policy: 503 (rlm_rest: fail) or 200
 * A 200 or 401 carries {"reply:Reply-Message": "strongmapd: <outcome> <code>: ..."} (one line
 * of printable ASCII, at most 247 bytes), which rlm_rest copies into the reply; the account's
 * names and the remediation go into it only for a caller that may see account data.
 *
 * Not checked on this path, and said so in the documentation: the SID (extension and SAN URI),
 * X509SHA1PublicKey mappings (the key is not passed), X509IssuerSerialNumber mappings when the
 * issuer cannot be rebuilt (issuer_serial(): FreeRADIUS's issuer is OpenSSL's one-line form
 * "/CN=...", which loses the escaping and the RDN structure an <I> string needs; the
 * Reply-Message then says so), the NTAuth store (the issuing CA's certificate is not passed)
 * and validity (FreeRADIUS's TLS layer has checked it).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <strongmap/csr.h>
#include <strongmap/preissue.h>
#include <strongmap/verdict.h>

#include "api_internal.h"
#include "dirpool.h"

#define RADIUS_ATTRS_MAX  256  /* attributes in one call */
#define RADIUS_VALUES_MAX 32   /* values of one attribute */
#define RADIUS_VALUE_MAX  4096 /* bytes of one value */
#define RADIUS_EKU_MAX    16   /* EKU OIDs */
#define REPLY_MESSAGE_MAX 248  /* Reply-Message: one RADIUS attribute (253), with room */

#define CERT_PREFIX "TLS-Client-Cert-"

/* The TLS-Client-Cert-* facts of a call, borrowed from the parsed body. */
struct radius_facts {
    const char *user_name, *ski, *serial, *issuer;
    struct sm_san san[SM_MAX_SAN];
    size_t n_san;
    const char *eku[RADIUS_EKU_MAX];
    size_t n_eku;
    unsigned n_cert_attrs; /* TLS-Client-Cert-* attributes seen */
};

/* The values of attribute @name (@attr, an rlm_rest attribute object): strings only. */
static int attr_values(const char *name, json_t *attr, json_t **ret, struct api_error *ae)
{
    json_t *values = json_is_object(attr) ? json_object_get(attr, "value") : NULL;
    size_t i;
    json_t *v;

    if (!json_is_array(values))
        return api_fail(ae, API_P_BAD_REQUEST, NULL,
                        "%.64s: not an rlm_rest attribute ({\"type\": ..., \"value\": [...]})",
                        name);
    if (json_array_size(values) > RADIUS_VALUES_MAX)
        return api_fail(ae, API_P_BAD_REQUEST, NULL, "%.64s: more than %u values", name,
                        RADIUS_VALUES_MAX);
    json_array_foreach(values, i, v)
    {
        if (json_is_string(v) && json_string_length(v) > RADIUS_VALUE_MAX)
            return api_fail(ae, API_P_BAD_REQUEST, NULL, "%.64s: a value over %u bytes", name,
                            RADIUS_VALUE_MAX);
        if (!json_is_string(v) && !json_is_number(v))
            return api_fail(ae, API_P_BAD_REQUEST, NULL,
                            "%.64s: a value that is neither a string nor a number", name);
    }
    *ret = values;
    return 0;
}

/* The first value of @values as a string, or NULL. */
static const char *first_string(json_t *values)
{
    return json_string_value(json_array_get(values, 0));
}

/* Add each string of @values to the SAN as @type. */
static int add_san(struct radius_facts *f, json_t *values, enum sm_san_type type, const char *name,
                   struct api_error *ae)
{
    size_t i;
    json_t *v;

    json_array_foreach(values, i, v)
    {
        if (!json_is_string(v) || json_string_length(v) == 0 ||
            strlen(json_string_value(v)) != json_string_length(v))
            return api_fail(ae, API_P_BAD_REQUEST, NULL, "%.64s: not a name", name);
        if (f->n_san >= SM_MAX_SAN)
            return api_fail(ae, API_P_BAD_REQUEST, NULL, "more than %u SAN names", SM_MAX_SAN);
        f->san[f->n_san++] = (struct sm_san){ .type = type, .value = json_string_value(v) };
    }
    return 0;
}

/* Read the call's attributes into @f (borrowing from @root). */
static int read_call(json_t *root, struct radius_facts *f, struct api_error *ae)
{
    const char *name, *what;
    json_t *attr, *values = NULL;
    int r;

    memset(f, 0, sizeof(*f));
    if (!json_is_object(root))
        return api_fail(ae, API_P_BAD_REQUEST, NULL, "%s",
                        "the body must be rlm_rest's JSON object of attributes (body = json)");
    if (json_object_size(root) > RADIUS_ATTRS_MAX)
        return api_fail(ae, API_P_BAD_REQUEST, NULL, "more than %u attributes", RADIUS_ATTRS_MAX);
    json_object_foreach(root, name, attr)
    {
        if ((r = attr_values(name, attr, &values, ae)) < 0)
            return r;
        if (strcmp(name, "User-Name") == 0) {
            f->user_name = first_string(values);
            continue;
        }
        if (strncmp(name, CERT_PREFIX, strlen(CERT_PREFIX)) != 0)
            continue;
        f->n_cert_attrs++;
        what = name + strlen(CERT_PREFIX);
        if (strcmp(what, "Subject-Alt-Name-Upn") == 0)
            r = add_san(f, values, SM_SAN_UPN, CERT_PREFIX "Subject-Alt-Name-Upn", ae);
        else if (strcmp(what, "Subject-Alt-Name-Email") == 0)
            r = add_san(f, values, SM_SAN_EMAIL, CERT_PREFIX "Subject-Alt-Name-Email", ae);
        else if (strcmp(what, "Subject-Alt-Name-Dns") == 0)
            r = add_san(f, values, SM_SAN_DNS, CERT_PREFIX "Subject-Alt-Name-Dns", ae);
        else if (strcmp(what, "X509v3-Subject-Key-Identifier") == 0)
            f->ski = first_string(values);
        else if (strcmp(what, "Serial") == 0)
            f->serial = first_string(values);
        else if (strcmp(what, "Issuer") == 0)
            f->issuer = first_string(values);
        else if (strcmp(what, "X509v3-Extended-Key-Usage-OID") == 0) {
            size_t i;
            json_t *v;

            json_array_foreach(values, i, v)
            {
                if (!json_is_string(v))
                    return api_fail(ae, API_P_BAD_REQUEST, NULL, "%.64s: not an OID",
                                    CERT_PREFIX "X509v3-Extended-Key-Usage-OID");
                if (f->n_eku >= RADIUS_EKU_MAX)
                    return api_fail(ae, API_P_BAD_REQUEST, NULL, "more than %u EKU OIDs",
                                    RADIUS_EKU_MAX);
                f->eku[f->n_eku++] = json_string_value(v);
            }
        }
        if (r < 0)
            return r;
    }
    if (f->n_cert_attrs == 0)
        return api_fail(ae, API_P_MISSING_FIELD, NULL, "%s",
                        "no TLS-Client-Cert-* attribute: call rest where FreeRADIUS has read the "
                        "client certificate (the check-eap-tls virtual server, or post-auth)");
    return 0;
}

/* Does an X509SKI value of @acc name the SKI FreeRADIUS passed ("AA:BB:...")? */
static bool ski_mapped(const struct sm_account *acc, const char *ski)
{
    char hex[2 * 64 + 1];
    size_t n = 0;

    if (!acc || !ski || !ski[0])
        return false;
    for (const char *p = ski; *p; p++) {
        if (*p == ':')
            continue;
        if (n + 1 >= sizeof(hex))
            return false;
        hex[n++] = *p;
    }
    hex[n] = '\0';
    for (size_t i = 0; i < acc->n_altsec; i++) {
        const char *v = acc->altsec[i];

        if (strncasecmp(v, "X509:<SKI>", 10) == 0 && strcasecmp(v + 10, hex) == 0)
            return true;
    }
    return false;
}

/*
 * The X509IssuerSerialNumber value the KDC builds for the certificate, from FreeRADIUS's issuer
 * (OpenSSL's one-line form, "/DC=com/DC=example/CN=Example CA": DER order) and serial (the
 * INTEGER's magnitude in hex), into @out; false when it cannot be rebuilt. The one-line form
 * loses the escaping and the multi-valued RDNs, so only names whose values need neither are
 * rebuilt: printable ASCII without ,+"\<>;=/# and without blanks at the ends, of the types
 * CN, O, OU, C, L, ST (S), DC, emailAddress (E). A serial whose magnitude's top bit is set had
 * a 00 sign byte in DER, which the reversed <SR> ends with; a negative serial looks positive
 * here and does not match.
 */
static bool issuer_serial(const char *issuer, const char *serial, char *out, size_t size)
{
    static const char *const keys[][2] = { { "CN", "CN" }, { "O", "O" },           { "OU", "OU" },
                                           { "C", "C" },   { "L", "L" },           { "ST", "S" },
                                           { "DC", "DC" }, { "emailAddress", "E" } };
    size_t o = 0, n;

    if (!issuer || !serial || issuer[0] != '/' || !serial[0] || (n = strlen(serial)) > 128)
        return false;
    o = (size_t)snprintf(out, size, "X509:<I>");
    for (const char *p = issuer + 1; *p;) {
        const char *eq = strchr(p, '='), *end, *key = NULL;

        if (!eq)
            return false;
        end = strchr(eq, '/');
        end = end ? end : eq + strlen(eq);
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
            if (strlen(keys[i][0]) == (size_t)(eq - p) && strncmp(p, keys[i][0], eq - p) == 0)
                key = keys[i][1];
        if (!key || end == eq + 1 || eq[1] == ' ' || end[-1] == ' ')
            return false;
        for (const char *v = eq + 1; v < end; v++)
            if (*v < 0x20 || *v > 0x7e || strchr(",+\"\\<>;=#", *v))
                return false;
        if (o + (size_t)(end - p) + 2 >= size)
            return false;
        o += (size_t)snprintf(out + o, size - o, "%s%s=%.*s", p == issuer + 1 ? "" : ",", key,
                              (int)(end - eq - 1), eq + 1);
        p = *end ? end + 1 : end;
    }
    if (o + 4 + n + 3 >= size)
        return false;
    o += (size_t)snprintf(out + o, size - o, "<SR>");
    for (size_t i = n; i > 0;) { /* the bytes reversed; an odd count has a leading nibble */
        size_t k = i >= 2 ? i - 2 : 0;

        if (!isxdigit((unsigned char)serial[k]) || !isxdigit((unsigned char)serial[i - 1]))
            return false;
        out[o++] = i - k == 2 ? (char)toupper((unsigned char)serial[k]) : '0';
        out[o++] = (char)toupper((unsigned char)serial[i - 1]);
        i = k;
    }
    if (strchr("89abcdefABCDEF", serial[0]) && n % 2 == 0) {
        out[o++] = '0';
        out[o++] = '0';
    }
    out[o] = '\0';
    return true;
}

/* Does an X509IssuerSerialNumber value of @acc equal @value (the KDC compares ignoring case)? */
static bool value_mapped(const struct sm_account *acc, const char *value)
{
    for (size_t i = 0; acc && i < acc->n_altsec; i++)
        if (strcasecmp(acc->altsec[i], value) == 0)
            return true;
    return false;
}

/* Would the SID alone make the certificate allowed: the plan adds nothing else? */
static bool sid_decides(const struct sm_preissue *plan)
{
    if (!plan->allow_as_issued)
        return false;
    for (size_t i = 0; i < plan->n_changes; i++) {
        const struct sm_preissue_change *c = &plan->changes[i];

        if (!c->add || (strcmp(c->what, "sid_extension") != 0 && strcmp(c->what, "san_uri") != 0))
            return false;
    }
    return true;
}

/* @status with {"reply:Reply-Message": "strongmapd: @outcome @code: @text"}. */
static int reply_radius(struct api_request *req, unsigned status, const char *outcome,
                        const char *code, const char *text)
{
    char line[1024], msg[REPLY_MESSAGE_MAX];
    json_t *doc;
    char *json;

    snprintf(line, sizeof(line), "strongmapd: %s %s: %s", outcome, code, text);
    one_line(line, msg, sizeof(msg));
    doc = json_pack("{s:s}", "reply:Reply-Message", msg);
    json = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!json)
        return reply_error(req, -ENOMEM, NULL);
    req_note(req, code);
    if (status == 401) {
        /* HTTP wants a challenge on every 401 (RFC 9110 15.5.2); rlm_rest reads 401 as
           reject and ignores it */
        req->extra_header = "WWW-Authenticate";
        req->extra_value = "Bearer realm=\"strongmapd\"";
    }
    return reply_status(req, status, NULL, 0, json); /* takes json */
}

/* A deny of @v: its primary profile's last reason, with the words only for whom may see them. */
static int reply_deny(struct api_request *req, const struct sm_verdict *v)
{
    const struct sm_profile_outcome *p = v->primary;
    const struct sm_reason *r = p && p->n_reasons ? &p->reasons[p->n_reasons - 1]
                                : v->n_reasons    ? &v->reasons[v->n_reasons - 1]
                                                  : NULL;
    char text[900];

    if (req_sees_accounts(req))
        snprintf(text, sizeof(text), "%s%s%s", r ? r->message : "denied",
                 v->remediation.n_steps ? " Fix: " : "",
                 v->remediation.n_steps ? v->remediation.steps[0] : "");
    else if (p && p->event.id)
        snprintf(text, sizeof(text), "%s denies it: KDC error %d %s, KDC event %d",
                 sm_profile_name(p->profile.kind), p->kdc_error.code,
                 p->kdc_error.name ? p->kdc_error.name : "", p->event.id);
    else
        snprintf(text, sizeof(text), "%s denies it: KDC error %d %s",
                 p ? sm_profile_name(p->profile.kind) : "the DC", p ? p->kdc_error.code : 0,
                 p && p->kdc_error.name ? p->kdc_error.name : "");
    return reply_radius(req, 401, "deny", r && r->code ? r->code : "denied", text);
}

/* The SID would decide, or the directory is down: [authz] directory_down decides. */
static int reply_unknown(struct api_request *req, const char *code, const char *text)
{
    bool open = req_runtime(req)->authz_fail_open;
    return reply_radius(req, open ? 200 : 401, "unknown", code, text);
}

static const char sid_text[] =
    "only the certificate's SID would map it strongly, and FreeRADIUS does not pass the SID: "
    "check the whole certificate (eap tls verify client = strongmap gate)";
static const char sid_issuer_text[] =
    "only the SID would map it strongly (FreeRADIUS passes neither it nor an issuer an "
    "<I><SR> mapping can be rebuilt from): check the whole certificate (strongmap gate)";

int h_hook_freeradius(struct api_request *req)
{
    const struct api_runtime *rt = req_runtime(req);
    struct api_error ae = API_ERROR_INIT;
    struct radius_facts f;
    struct opt_profiles profiles = rt->fleet;
    struct sm_preissue_input in;
    struct sm_preissue *plan = NULL;
    struct sm_csr *csr = NULL;
    json_error_t jerr;
    json_t *root = NULL;
    char isr[RADIUS_VALUE_MAX + 300];
    bool rebuilt;
    int ret;

    if (!(root = json_loadb(req->body ? req->body : "", req->body_len, JSON_REJECT_DUPLICATES,
                            &jerr))) {
        ret = api_fail(&ae, API_P_BAD_JSON, NULL, "line %d, column %d: %s", jerr.line, jerr.column,
                       jerr.text);
        goto out_fail;
    }
    if ((ret = read_call(root, &f, &ae)) < 0)
        goto out_fail;
    ret = sm_csr_planned(
        &(struct sm_csr_planned){ .san = f.san, .n_san = f.n_san, .eku = f.eku, .n_eku = f.n_eku },
        &csr, &ae.info);
    if (ret < 0) {
        ae.problem = ret == -ENOMEM ? API_P__COUNT : API_P_BAD_REQUEST;
        if (ae.info.field && strcmp(ae.info.field, "eku") == 0)
            ae.info.field = CERT_PREFIX "X509v3-Extended-Key-Usage-OID";
        goto out_fail;
    }
    if (!rt->dir) {
        ret = no_directory(&ae);
        goto out_fail;
    }
    if (profiles.n == 0)
        opt_profile_add(&profiles, "windows-2022", NULL);
    in = (struct sm_preissue_input){
        .request = csr->request,
        .account = f.user_name,
        .profiles = profiles.v,
        .n_profiles = profiles.n,
    };
    for (size_t i = 0; i < f.n_san; i++) /* the first UPN names the account, as for the KDC */
        if (f.san[i].type == SM_SAN_UPN) {
            in.account = f.san[i].value;
            break;
        }
    if (!in.account || !in.account[0]) {
        ret = reply_radius(req, 401, "deny", "no_account",
                           "the certificate has no UPN and the request no User-Name");
        goto out;
    }
    ret = dirpool_preissue(rt->dir, &in, &plan, &ae.info);
    if (ret == SM_E_DIR_DOWN || ret == SM_E_DIR_REFUSED) {
        if (!rt->authz_fail_open) {
            goto out_fail;
        }
        req_note(req, ae.info.text[0] ? ae.info.text : sm_strerror(ret));
        ret = reply_unknown(req, "directory_unavailable",
                            "the directory did not answer; the domain controller decides at logon");
        goto out;
    }
    if (ret < 0)
        goto out_fail;
    if (!plan->account || !plan->as_requested) {
        ret = reply_radius(req, 401, "deny", "account_not_found",
                           "no account answers to the certificate's UPN (or the User-Name)");
        goto out;
    }
    /* No decision log line and no verdict counters: the verdict of the facts is not the
       answer (an SKI mapping or the policy may decide it), and its certificate has no
       thumbprint. The access log line carries the answer's code (req_note()). */
    rebuilt = issuer_serial(f.issuer, f.serial, isr, sizeof(isr));
    if (plan->allow_as_requested ||
        ((ski_mapped(plan->account, f.ski) || (rebuilt && value_mapped(plan->account, isr))) &&
         sid_decides(plan))) {
        req_note(req, plan->allow_as_requested ? "allow" : "allow by an explicit mapping");
        ret = reply_status(req, 204, NULL, 0, NULL);
    } else if (sid_decides(plan)) {
        ret = reply_unknown(req, "sid_not_visible", rebuilt ? sid_text : sid_issuer_text);
    } else {
        ret = reply_deny(req, plan->as_requested);
    }
    goto out;

out_fail:
    ret = reply_fail(req, ret, &ae);
out:
    sm_preissue_free(plan);
    sm_csr_free(csr);
    json_decref(root);
    return ret;
}

/*
 * lib/json.c - the JSON documents of the CLI and the API, written with the streaming writer
 * of support/su_jsonw.c straight into one buffer (no document model).
 *
 * The output is byte for byte what the earlier Jansson renderer (json_dumps with
 * JSON_PRESERVE_ORDER and JSON_COMPACT or JSON_INDENT(2)) printed: same member order, same
 * escaping, same layout. Every string comes from the engine, which guarantees valid UTF-8; the
 * writer still puts a marker rather than invalid JSON. Allocation failures are sticky in the
 * writer and reported once, as -ENOMEM, by su_jsonw_finish().
 *
 * One file per document family: lib/json_cert.c the certificates, lib/json_verdict.c the
 * verdict and the account status; this file the altSecurityIdentities and SID documents and
 * the pieces every document uses (lib/json_internal.h).
 */
#include <errno.h>

#include <strongmap/json.h>

#include "json_internal.h"
#include "util.h"

void str_array(struct su_jsonw *w, const char *const *v, size_t n)
{
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < n; i++)
        su_jsonw_string(w, v[i]);
    su_jsonw_array_end(w);
}

void findings_json(struct su_jsonw *w, const struct sm_findings *f)
{
    su_jsonw_key(w, "findings");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < f->n; i++) {
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "code", f->v[i].code);
        su_jsonw_kstr(w, "severity", sm_severity_name(f->v[i].severity));
        su_jsonw_kstr(w, "message", f->v[i].message);
        if (f->v[i].fix)
            su_jsonw_kstr(w, "fix", f->v[i].fix);
        su_jsonw_object_end(w);
    }
    if (f->truncated) {
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "code", "findings_truncated");
        su_jsonw_kstr(w, "severity", "info");
        su_jsonw_kstr(w, "message", "More findings were raised than are shown.");
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
}

/* ---- altSecurityIdentities -------------------------------------------------------------- */

void altsec_json(struct su_jsonw *w, const struct sm_altsec *v, const struct sm_cert *cert)
{
    static const char *const kinds[] = { "mapping", "not_x509", "invalid" };
    bool mapping = v->kind == SM_ALTSEC_MAPPING;
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "value", v->value);
    su_jsonw_kstr(w, "kind", kinds[v->kind]);
    su_jsonw_kstr(w, "type", mapping ? sm_map_type_name(v->type) : NULL);
    su_jsonw_kstr(w, "strength", mapping ? (v->strong ? "strong" : "weak") : NULL);
    if (v->invalid_reason)
        su_jsonw_kstr(w, "invalid_reason", v->invalid_reason);
    if (v->samba_may_match)
        su_jsonw_kbool(w, "samba_may_match", true);
    const struct {
        const char *k, *v;
    } fields[] = { { "issuer", v->issuer }, { "subject", v->subject }, { "serial", v->serial },
                   { "ski", v->ski },       { "sha1", v->sha1 },       { "sid", v->sid },
                   { "rfc822", v->rfc822 } };
    su_jsonw_key(w, "fields");
    su_jsonw_object_begin(w);
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        if (fields[i].v) {
            dyn_key(w, fields[i].k);
            su_jsonw_string(w, fields[i].v);
        }
    }
    su_jsonw_object_end(w);
    if (cert) {
        su_jsonw_kbool(w, "matches", sm_altsec_matches(v, cert));
        su_jsonw_kbool(w, "matches_samba", sm_altsec_matches_samba(v, cert));
    }
    findings_json(w, &v->findings);
    su_jsonw_object_end(w);
}

int sm_json_altsec(struct sm_altsec *const *values, size_t n, const struct sm_cert *cert,
                   unsigned flags, char **ret_json)
{
    struct su_jsonw w;
    start(&w, flags);
    su_jsonw_object_begin(&w);
    su_jsonw_key(&w, "values");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < n; i++)
        altsec_json(&w, values[i], cert);
    su_jsonw_array_end(&w);
    if (cert) {
        su_jsonw_key(&w, "certificate");
        su_jsonw_object_begin(&w);
        su_jsonw_kstr(&w, "subject", cert->subject.rfc4514);
        su_jsonw_kstr(&w, "issuer", cert->issuer.rfc4514);
        su_jsonw_kstr(&w, "serial", cert->serial);
        su_jsonw_kstr(&w, "sha1", cert->sha1);
        su_jsonw_key(&w, "strong_mappings");
        su_jsonw_array_begin(&w);
        for (size_t i = 0; i < cert->n_mappings; i++)
            if (sm_map_type_strong(cert->mappings[i].type))
                su_jsonw_string(&w, cert->mappings[i].value);
        su_jsonw_array_end(&w);
        su_jsonw_object_end(&w);
    }
    su_jsonw_object_end(&w);
    return finish(&w, ret_json);
}

/* ---- SID -------------------------------------------------------------------------------- */

/* The text built in @b as a string value; @b is then emptied for the next one. */
static void buf_string(struct su_jsonw *w, struct su_buf *b)
{
    if (b->oom)
        su_jsonw_null(w); /* not written: sm_json_sid() returns -ENOMEM */
    else
        su_jsonw_stringn(w, b->p ? b->p : "", b->len);
    b->len = 0;
}

int sm_json_sid(const struct sm_sid *sid, unsigned flags, char **ret_json)
{
    char text[SM_SID_TEXT_MAX];
    uint8_t der[256], bin[SM_SID_BINARY_MAX];
    long dlen = sm_sid_extension_der(sid, der, sizeof(der));
    size_t blen = sm_sid_to_binary(sid, bin);
    struct su_jsonw w;
    struct su_buf b;
    bool oom;
    int r;

    if (dlen < 0)
        return (int)dlen;
    sm_sid_format(sid, text, sizeof(text));
    start(&w, flags);
    arena_buf_init(&b, NULL);
    su_jsonw_object_begin(&w);
    su_jsonw_kstr(&w, "sid", text);
    su_jsonw_kstr(&w, "extension_oid", SM_OID_SID_EXTENSION);
    su_buf_hex(&b, der, (size_t)dlen);
    su_jsonw_key(&w, "extension_der_hex");
    buf_string(&w, &b);
    su_buf_base64(&b, der, (size_t)dlen);
    su_jsonw_key(&w, "extension_der_base64");
    buf_string(&w, &b);
    su_buf_puts(&b, SM_OID_SID_EXTENSION " = DER:");
    for (long i = 0; i < dlen; i++)
        su_buf_printf(&b, "%s%02X", i ? ":" : "", der[i]);
    su_jsonw_key(&w, "openssl_extension_config");
    buf_string(&w, &b);
    su_buf_printf(&b, "%s%s", SM_SID_URI_PREFIX, text);
    su_jsonw_key(&w, "san_uri");
    buf_string(&w, &b);
    su_buf_hex(&b, bin, blen);
    su_jsonw_key(&w, "object_sid_hex");
    buf_string(&w, &b);
    su_buf_base64(&b, bin, blen);
    su_jsonw_key(&w, "object_sid_base64");
    buf_string(&w, &b);
    su_buf_puts(&b, "(objectSid=");
    for (size_t i = 0; i < blen; i++)
        su_buf_printf(&b, "\\%02x", bin[i]);
    su_buf_putc(&b, ')');
    su_jsonw_key(&w, "ldap_filter");
    buf_string(&w, &b);
    su_jsonw_object_end(&w);
    oom = b.oom;
    su_buf_release(&b);
    if (oom) {
        su_jsonw_release(&w);
        return -ENOMEM;
    }
    r = finish(&w, ret_json);
    return r;
}

/*
 * lib/json.c - the JSON documents of the CLI and the API, built with Jansson.
 *
 * Every string put into JSON comes from the engine, which guarantees valid UTF-8; jstr() still
 * falls back to a marker rather than letting Jansson silently drop a value. Allocation failures
 * are collected in struct jb and reported once as -ENOMEM.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <strongmap/json.h>

#include "util.h"

struct jb {
    bool oom;
};

static json_t *jstr(struct jb *jb, const char *s)
{
    if (!s)
        return json_null();
    json_t *v = json_string(s);
    if (!v)
        v = json_string("\xef\xbf\xbd (not UTF-8)");
    if (!v)
        jb->oom = true;
    return v;
}

static void set(struct jb *jb, json_t *obj, const char *key, json_t *v)
{
    if (!v || !obj || json_object_set_new(obj, key, v) != 0)
        jb->oom = true;
}

static void push(struct jb *jb, json_t *arr, json_t *v)
{
    if (!v || !arr || json_array_append_new(arr, v) != 0)
        jb->oom = true;
}

static json_t *str_array(struct jb *jb, const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        push(jb, a, jstr(jb, v[i]));
    return a;
}

static json_t *findings_json(struct jb *jb, const struct sm_findings *f)
{
    json_t *a = json_array();
    for (size_t i = 0; i < f->n; i++) {
        json_t *o = json_object();
        set(jb, o, "code", jstr(jb, f->v[i].code));
        set(jb, o, "severity", jstr(jb, sm_severity_name(f->v[i].severity)));
        set(jb, o, "message", jstr(jb, f->v[i].message));
        if (f->v[i].fix)
            set(jb, o, "fix", jstr(jb, f->v[i].fix));
        push(jb, a, o);
    }
    if (f->truncated) {
        json_t *o = json_object();
        set(jb, o, "code", jstr(jb, "findings_truncated"));
        set(jb, o, "severity", jstr(jb, "info"));
        set(jb, o, "message", jstr(jb, "More findings were raised than are shown."));
        push(jb, a, o);
    }
    return a;
}

static int dump(struct jb *jb, json_t *root, unsigned flags, char **ret_json)
{
    if (jb->oom || !root) {
        json_decref(root);
        return -ENOMEM;
    }
    size_t jf = JSON_PRESERVE_ORDER | JSON_COMPACT;
    if (flags & SM_JSON_PRETTY)
        jf = JSON_PRESERVE_ORDER | JSON_INDENT(2);
    char *s = json_dumps(root, jf);
    json_decref(root);
    if (!s)
        return -ENOMEM;
    *ret_json = s;
    return 0;
}

/* ---- certificates ---------------------------------------------------------------------- */

static json_t *name_json(struct jb *jb, const struct sm_name *n)
{
    json_t *o = json_object(), *attrs = json_array();
    set(jb, o, "rfc4514", jstr(jb, n->rfc4514));
    set(jb, o, "ad", jstr(jb, n->ad));
    set(jb, o, "samba", jstr(jb, n->samba));
    set(jb, o, "rdns", json_integer((json_int_t)n->n_rdns));
    set(jb, o, "multi_valued", json_boolean(n->multi_valued));
    for (size_t i = 0; i < n->n_attrs; i++) {
        const struct sm_name_attr *at = &n->attrs[i];
        json_t *a = json_object();
        set(jb, a, "oid", jstr(jb, at->oid));
        set(jb, a, "key", jstr(jb, at->rfc_key));
        set(jb, a, "ad_key", jstr(jb, at->ad_key));
        set(jb, a, "value", jstr(jb, at->value));
        set(jb, a, "asn1_tag", json_integer(at->asn1_tag));
        if (at->lossy)
            set(jb, a, "lossy", json_true());
        if (at->next_same_rdn)
            set(jb, a, "same_rdn_as_next", json_true());
        push(jb, attrs, a);
    }
    set(jb, o, "attributes", attrs);
    return o;
}

static json_t *carrier_json(struct jb *jb, const struct sm_sid_carrier *c, bool ext)
{
    char t[SM_SID_TEXT_MAX];
    json_t *o = json_object();
    set(jb, o, "status", jstr(jb, sm_sid_status_name(c->status)));
    set(jb, o, "value",
        c->status == SM_SID_VALID ? jstr(jb, sm_sid_format(&c->sid, t, sizeof(t))) : json_null());
    if (c->status != SM_SID_ABSENT)
        set(jb, o, "text", jstr(jb, c->text));
    if (c->reason)
        set(jb, o, "reason", jstr(jb, c->reason));
    if (ext && c->status != SM_SID_ABSENT)
        set(jb, o, "critical", json_boolean(c->critical));
    if (c->status != SM_SID_ABSENT)
        set(jb, o, "count", json_integer(c->count));
    return o;
}

static json_t *sid_json(struct jb *jb, const struct sm_cert *c)
{
    const struct sm_cert_sid *s = &c->sid;
    static const char *const sources[] = { NULL, "extension", "san_uri" };
    const struct sm_sid_carrier *used = s->source == SM_SID_SOURCE_EXTENSION ? &s->extension
                                        : s->source == SM_SID_SOURCE_SAN_URI ? &s->uri
                                                                             : NULL;
    char t[SM_SID_TEXT_MAX];
    json_t *o = json_object();
    set(jb, o, "value",
        used && used->status == SM_SID_VALID ? jstr(jb, sm_sid_format(&used->sid, t, sizeof(t)))
                                             : json_null());
    set(jb, o, "source", jstr(jb, sources[s->source]));
    set(jb, o, "status", jstr(jb, sm_sid_status_name(s->status)));
    set(jb, o, "conflict", json_boolean(s->conflict));
    /* What each DC family reads (spec 4 and 6). */
    json_t *seen = json_object();
    const struct sm_sid_carrier *e = &s->extension;
    set(jb, seen, "windows_2019_plus", jstr(jb, sources[s->source]));
    set(jb, seen, "windows_2016", jstr(jb, e->status != SM_SID_ABSENT ? "extension" : NULL));
    set(jb, seen, "samba", jstr(jb, e->status == SM_SID_VALID ? "extension" : NULL));
    set(jb, o, "used_by", seen);
    set(jb, o, "extension", carrier_json(jb, &s->extension, true));
    set(jb, o, "san_uri", carrier_json(jb, &s->uri, false));
    return o;
}

static json_t *san_json(struct jb *jb, const struct sm_cert *c)
{
    static const struct {
        enum sm_san_type t;
        const char *key;
    } keys[] = {
        { SM_SAN_UPN, "upn" },
        { SM_SAN_DNS, "dns" },
        { SM_SAN_EMAIL, "email" },
        { SM_SAN_URI, "uri" },
        { SM_SAN_IP, "ip" },
        { SM_SAN_DIRNAME, "dirname" },
        { SM_SAN_RID, "registered_id" },
        { SM_SAN_OTHER, "other" },
        { SM_SAN_X400, "x400" },
        { SM_SAN_EDIPARTY, "edi_party" },
    };
    json_t *o = json_object();
    for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
        json_t *a = json_array();
        for (size_t i = 0; i < c->n_san; i++) {
            const struct sm_san *s = &c->san[i];
            if (s->type != keys[k].t)
                continue;
            if (s->type == SM_SAN_OTHER) {
                json_t *x = json_object();
                set(jb, x, "oid", jstr(jb, s->oid));
                set(jb, x, "value", jstr(jb, s->value));
                push(jb, a, x);
            } else {
                push(jb, a, jstr(jb, s->value));
            }
        }
        /* the contract's six keys always appear; the rarer ones only when present */
        if (k >= 8 && json_array_size(a) == 0) {
            json_decref(a);
            continue;
        }
        set(jb, o, keys[k].key, a);
    }
    return o;
}

static json_t *eku_json(struct jb *jb, const struct sm_cert *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < c->n_eku; i++) {
        json_t *o = json_object();
        set(jb, o, "oid", jstr(jb, c->eku[i]));
        set(jb, o, "name", jstr(jb, sm_oid_name(c->eku[i])));
        push(jb, a, o);
    }
    return a;
}

static json_t *key_usage_json(struct jb *jb, const struct sm_cert *c)
{
    static const char *const bits[] = { "digitalSignature", "nonRepudiation", "keyEncipherment",
                                        "dataEncipherment", "keyAgreement",   "keyCertSign",
                                        "cRLSign",          "encipherOnly",   "decipherOnly" };
    if (!c->has_key_usage)
        return json_null();
    json_t *a = json_array();
    for (unsigned i = 0; i < ARRAY_SIZE(bits); i++) {
        /* bit i of the BIT STRING: byte i/8, mask 0x80 >> (i%8); stored little-endian by byte */
        unsigned mask = (0x80u >> (i % 8)) << (8 * (i / 8));
        if (c->key_usage & mask)
            push(jb, a, jstr(jb, bits[i]));
    }
    return a;
}

static json_t *mappings_json(struct jb *jb, const struct sm_cert *c, json_t **details)
{
    json_t *o = json_object(), *rfc822 = json_array();
    *details = json_array();
    for (int t = 0; t < SM_MAP__COUNT; t++)
        if (t != SM_MAP_RFC822)
            set(jb, o, sm_map_type_name(t), json_null());
    for (size_t i = 0; i < c->n_mappings; i++) {
        const struct sm_mapping *m = &c->mappings[i];
        if (m->type == SM_MAP_RFC822)
            push(jb, rfc822, jstr(jb, m->value));
        else
            set(jb, o, sm_map_type_name(m->type), jstr(jb, m->value));
        json_t *d = json_object();
        set(jb, d, "type", jstr(jb, sm_map_type_name(m->type)));
        set(jb, d, "value", jstr(jb, m->value));
        set(jb, d, "strength", jstr(jb, sm_map_type_strong(m->type) ? "strong" : "weak"));
        set(jb, d, "samba_supported", json_boolean(m->samba_supported));
        set(jb, d, "samba_value",
            m->samba_supported ? jstr(jb, m->samba ? m->samba : m->value) : json_null());
        if (m->type == SM_MAP_ISSUER_SID)
            set(jb, d, "note",
                jstr(jb, "Honoured by Windows Server 2022 and later DCs with the September "
                         "2025 update; not by Samba."));
        if (m->type == SM_MAP_SHA1_PUKEY)
            set(jb, d, "note",
                jstr(jb, "The SHA-1 thumbprint of the whole certificate, which is what DCs "
                         "compare despite the name (spec 3.1)."));
        push(jb, *details, d);
    }
    set(jb, o, "X509RFC822", rfc822);
    return o;
}

static const char *validity_status(const struct sm_cert *c)
{
    if (sm_findings_has(&c->findings, "expired"))
        return "expired";
    if (sm_findings_has(&c->findings, "not_yet_valid"))
        return "not_yet_valid";
    return "valid";
}

static json_t *cert_json(struct jb *jb, const struct sm_cert *c)
{
    json_t *o = json_object();
    set(jb, o, "index", json_integer(c->index));
    set(jb, o, "subject", jstr(jb, c->subject.rfc4514));
    set(jb, o, "issuer", jstr(jb, c->issuer.rfc4514));
    set(jb, o, "subject_ad", jstr(jb, c->subject.ad));
    set(jb, o, "issuer_ad", jstr(jb, c->issuer.ad));
    set(jb, o, "serial", jstr(jb, c->serial));
    set(jb, o, "version", json_integer(c->version));
    set(jb, o, "not_before", jstr(jb, c->not_before));
    set(jb, o, "not_after", jstr(jb, c->not_after));
    set(jb, o, "validity", jstr(jb, validity_status(c)));
    json_t *key = json_object();
    set(jb, key, "type", jstr(jb, c->key_type));
    set(jb, key, "bits", json_integer(c->key_bits));
    set(jb, key, "curve", jstr(jb, c->key_curve));
    set(jb, o, "key", key);
    json_t *sig = json_object();
    set(jb, sig, "oid", jstr(jb, c->sig_alg_oid));
    set(jb, sig, "name", jstr(jb, c->sig_alg));
    set(jb, o, "signature_algorithm", sig);
    set(jb, o, "sha1", jstr(jb, c->sha1));
    set(jb, o, "sha256", jstr(jb, c->sha256));
    set(jb, o, "spki_sha1", jstr(jb, c->spki_sha1));
    set(jb, o, "public_key_sha1", jstr(jb, c->spk_sha1));
    set(jb, o, "ski", jstr(jb, c->ski));
    set(jb, o, "aki", jstr(jb, c->aki));
    set(jb, o, "san", san_json(jb, c));
    set(jb, o, "sid", sid_json(jb, c));
    set(jb, o, "eku", eku_json(jb, c));
    set(jb, o, "eku_present", json_boolean(c->has_eku));
    set(jb, o, "key_usage", key_usage_json(jb, c));
    if (c->has_basic_constraints) {
        json_t *bc = json_object();
        set(jb, bc, "ca", json_boolean(c->is_ca));
        set(jb, bc, "path_len", c->path_len >= 0 ? json_integer(c->path_len) : json_null());
        set(jb, o, "basic_constraints", bc);
    } else {
        set(jb, o, "basic_constraints", json_null());
    }
    if (c->has_template) {
        json_t *t = json_object();
        set(jb, t, "oid", jstr(jb, c->tmpl.oid));
        set(jb, t, "major_version", c->tmpl.major >= 0 ? json_integer(c->tmpl.major) : json_null());
        set(jb, t, "minor_version", c->tmpl.minor >= 0 ? json_integer(c->tmpl.minor) : json_null());
        set(jb, t, "name", jstr(jb, c->tmpl.name));
        set(jb, o, "template", t);
    } else {
        set(jb, o, "template", json_null());
    }
    set(jb, o, "crl_urls", str_array(jb, c->crl_urls, c->n_crl_urls));
    json_t *aia = json_object();
    set(jb, aia, "ca_issuers", str_array(jb, c->aia_issuers, c->n_aia_issuers));
    set(jb, aia, "ocsp", str_array(jb, c->aia_ocsp, c->n_aia_ocsp));
    set(jb, o, "aia", aia);
    json_t *exts = json_array();
    for (size_t i = 0; i < c->n_exts; i++) {
        json_t *e = json_object();
        set(jb, e, "oid", jstr(jb, c->exts[i].oid));
        set(jb, e, "name", jstr(jb, c->exts[i].name));
        set(jb, e, "critical", json_boolean(c->exts[i].critical));
        push(jb, exts, e);
    }
    set(jb, o, "extensions", exts);
    json_t *details;
    set(jb, o, "mappings", mappings_json(jb, c, &details));
    set(jb, o, "mapping_details", details);
    set(jb, o, "findings", findings_json(jb, &c->findings));
    json_t *names = json_object();
    set(jb, names, "subject", name_json(jb, &c->subject));
    set(jb, names, "issuer", name_json(jb, &c->issuer));
    set(jb, o, "names", names);
    set(jb, o, "parsed_by", jstr(jb, c->full_parse ? "mbedtls" : "field_walk"));
    if (c->parse_note)
        set(jb, o, "parse_note", jstr(jb, c->parse_note));
    set(jb, o, "der_length", json_integer((json_int_t)c->der_len));
    return o;
}

int sm_json_certs(const struct sm_certs *certs, unsigned flags, char **ret_json)
{
    struct jb jb = { false };
    json_t *root = json_object(), *list = json_array(), *errs = json_array();
    for (size_t i = 0; i < certs->n_certs; i++)
        push(&jb, list, cert_json(&jb, &certs->certs[i]));
    for (size_t i = 0; i < certs->n_errors; i++) {
        const struct sm_input_error *e = &certs->errors[i];
        json_t *o = json_object();
        set(&jb, o, "index", json_integer(e->index));
        set(&jb, o, "offset", e->offset >= 0 ? json_integer(e->offset) : json_null());
        set(&jb, o, "code", jstr(&jb, e->code == SM_E_FORMAT ? "bad_encoding" : "bad_certificate"));
        set(&jb, o, "message", jstr(&jb, e->message));
        push(&jb, errs, o);
    }
    set(&jb, root, "certificates", list);
    set(&jb, root, "errors", errs);
    set(&jb, root, "format", jstr(&jb, certs->format));
    return dump(&jb, root, flags, ret_json);
}

/* ---- altSecurityIdentities -------------------------------------------------------------- */

static json_t *altsec_json(struct jb *jb, const struct sm_altsec *v, const struct sm_cert *cert)
{
    static const char *const kinds[] = { "mapping", "not_x509", "invalid" };
    json_t *o = json_object();
    set(jb, o, "value", jstr(jb, v->value));
    set(jb, o, "kind", jstr(jb, kinds[v->kind]));
    set(jb, o, "type",
        v->kind == SM_ALTSEC_MAPPING ? jstr(jb, sm_map_type_name(v->type)) : json_null());
    set(jb, o, "strength",
        v->kind == SM_ALTSEC_MAPPING ? jstr(jb, v->strong ? "strong" : "weak") : json_null());
    if (v->invalid_reason)
        set(jb, o, "invalid_reason", jstr(jb, v->invalid_reason));
    if (v->samba_may_match)
        set(jb, o, "samba_may_match", json_true());
    json_t *f = json_object();
    const struct {
        const char *k, *v;
    } fields[] = { { "issuer", v->issuer }, { "subject", v->subject }, { "serial", v->serial },
                   { "ski", v->ski },       { "sha1", v->sha1 },       { "sid", v->sid },
                   { "rfc822", v->rfc822 } };
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
        if (fields[i].v)
            set(jb, f, fields[i].k, jstr(jb, fields[i].v));
    set(jb, o, "fields", f);
    if (cert) {
        set(jb, o, "matches", json_boolean(sm_altsec_matches(v, cert)));
        set(jb, o, "matches_samba", json_boolean(sm_altsec_matches_samba(v, cert)));
    }
    set(jb, o, "findings", findings_json(jb, &v->findings));
    return o;
}

int sm_json_altsec(struct sm_altsec *const *values, size_t n, const struct sm_cert *cert,
                   unsigned flags, char **ret_json)
{
    struct jb jb = { false };
    json_t *root = json_object(), *list = json_array();
    for (size_t i = 0; i < n; i++)
        push(&jb, list, altsec_json(&jb, values[i], cert));
    set(&jb, root, "values", list);
    if (cert) {
        json_t *c = json_object();
        set(&jb, c, "subject", jstr(&jb, cert->subject.rfc4514));
        set(&jb, c, "issuer", jstr(&jb, cert->issuer.rfc4514));
        set(&jb, c, "serial", jstr(&jb, cert->serial));
        set(&jb, c, "sha1", jstr(&jb, cert->sha1));
        json_t *strong = json_array();
        for (size_t i = 0; i < cert->n_mappings; i++)
            if (sm_map_type_strong(cert->mappings[i].type))
                push(&jb, strong, jstr(&jb, cert->mappings[i].value));
        set(&jb, c, "strong_mappings", strong);
        set(&jb, root, "certificate", c);
    }
    return dump(&jb, root, flags, ret_json);
}

/* ---- SID -------------------------------------------------------------------------------- */

int sm_json_sid(const struct sm_sid *sid, unsigned flags, char **ret_json)
{
    struct jb jb = { false };
    char text[SM_SID_TEXT_MAX];
    uint8_t der[256], bin[SM_SID_BINARY_MAX];
    long dlen = sm_sid_extension_der(sid, der, sizeof(der));
    size_t blen = sm_sid_to_binary(sid, bin);
    struct sbuf b;
    json_t *root = json_object();
    int r;

    if (dlen < 0) {
        json_decref(root);
        return (int)dlen;
    }
    sm_sid_format(sid, text, sizeof(text));
    set(&jb, root, "sid", jstr(&jb, text));

    sbuf_init(&b, NULL);
    sbuf_hex(&b, der, (size_t)dlen);
    set(&jb, root, "extension_oid", jstr(&jb, SM_OID_SID_EXTENSION));
    set(&jb, root, "extension_der_hex", jstr(&jb, sbuf_str(&b)));
    b.len = 0;
    sbuf_base64(&b, der, (size_t)dlen);
    set(&jb, root, "extension_der_base64", jstr(&jb, sbuf_str(&b)));
    b.len = 0;
    sbuf_puts(&b, SM_OID_SID_EXTENSION " = DER:");
    for (long i = 0; i < dlen; i++)
        sbuf_printf(&b, "%s%02X", i ? ":" : "", der[i]);
    set(&jb, root, "openssl_extension_config", jstr(&jb, sbuf_str(&b)));
    b.len = 0;
    sbuf_printf(&b, "%s%s", SM_SID_URI_PREFIX, text);
    set(&jb, root, "san_uri", jstr(&jb, sbuf_str(&b)));
    b.len = 0;
    sbuf_hex(&b, bin, blen);
    set(&jb, root, "object_sid_hex", jstr(&jb, sbuf_str(&b)));
    b.len = 0;
    sbuf_base64(&b, bin, blen);
    set(&jb, root, "object_sid_base64", jstr(&jb, sbuf_str(&b)));
    b.len = 0;
    sbuf_puts(&b, "(objectSid=");
    for (size_t i = 0; i < blen; i++)
        sbuf_printf(&b, "\\%02x", bin[i]);
    sbuf_putc(&b, ')');
    set(&jb, root, "ldap_filter", jstr(&jb, sbuf_str(&b)));
    if (b.oom)
        jb.oom = true;
    sbuf_release(&b);
    r = dump(&jb, root, flags, ret_json);
    return r;
}

/* ---- verdicts ------------------------------------------------------------------------------ */

static json_t *time_json(struct jb *jb, time_t t)
{
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return jstr(jb, buf);
}

static json_t *account_json(struct jb *jb, const struct sm_account *a)
{
    char sid[SM_SID_TEXT_MAX];
    if (!a)
        return json_null();
    json_t *o = json_object();
    set(jb, o, "dn", jstr(jb, a->dn));
    set(jb, o, "sam", jstr(jb, a->sam));
    set(jb, o, "upn", jstr(jb, a->upn));
    set(jb, o, "sid",
        a->has_sid ? jstr(jb, sm_sid_format(&a->sid, sid, sizeof(sid))) : json_null());
    set(jb, o, "created", a->has_created ? time_json(jb, a->created) : json_null());
    set(jb, o, "enabled", json_boolean(!(a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE))));
    set(jb, o, "computer", json_boolean(a->is_computer));
    if (a->dns_host)
        set(jb, o, "dns_host_name", jstr(jb, a->dns_host));
    return o;
}

static json_t *kdc_error_json(struct jb *jb, const struct sm_kdc_error *e)
{
    if (!e->code)
        return json_null();
    json_t *o = json_object();
    set(jb, o, "code", json_integer(e->code));
    set(jb, o, "name", jstr(jb, e->name));
    return o;
}

static json_t *event_json(struct jb *jb, const struct sm_event *e)
{
    if (!e->id)
        return json_null();
    json_t *o = json_object();
    set(jb, o, "id", json_integer(e->id));
    set(jb, o, "source", jstr(jb, "Microsoft-Windows-Kerberos-Key-Distribution-Center"));
    set(jb, o, "level", jstr(jb, e->level));
    set(jb, o, "text", jstr(jb, e->text));
    return o;
}

static json_t *reasons_json(struct jb *jb, const struct sm_reason *r, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        set(jb, o, "code", jstr(jb, r[i].code));
        set(jb, o, "message", jstr(jb, r[i].message));
        push(jb, a, o);
    }
    return a;
}

static json_t *mapping_json(struct jb *jb, const struct sm_profile_outcome *o)
{
    if (!o->mapping_strength)
        return json_null();
    json_t *m = json_object();
    set(jb, m, "strength", jstr(jb, o->mapping_strength));
    set(jb, m, "method", jstr(jb, o->mapping_method));
    return m;
}

static json_t *outcome_json(struct jb *jb, const struct sm_profile_outcome *o)
{
    json_t *j = json_object(), *paths = json_array();
    set(jb, j, "profile", jstr(jb, sm_profile_name(o->profile.kind)));
    set(jb, j, "mode", json_integer(o->profile.mode));
    set(jb, j, "backdating_seconds", json_integer(o->profile.backdating_s));
    set(jb, j, "outcome", jstr(jb, o->allow ? "allow" : "deny"));
    set(jb, j, "kdc_error", kdc_error_json(jb, &o->kdc_error));
    set(jb, j, "event", event_json(jb, &o->event));
    set(jb, j, "mapping", mapping_json(jb, o));
    for (size_t i = 0; i < o->n_paths; i++) {
        json_t *p = json_object();
        set(jb, p, "method", jstr(jb, o->paths[i].method));
        set(jb, p, "strength", jstr(jb, o->paths[i].strength));
        set(jb, p, "result", jstr(jb, o->paths[i].result));
        if (o->paths[i].detail)
            set(jb, p, "detail", jstr(jb, o->paths[i].detail));
        push(jb, paths, p);
    }
    set(jb, j, "paths", paths);
    set(jb, j, "reasons", reasons_json(jb, o->reasons, o->n_reasons));
    return j;
}

static json_t *remediation_json(struct jb *jb, const struct sm_remediation *r)
{
    json_t *o = json_object(), *alts = json_array(), *steps = json_array();
    set(jb, o, "altsecurityidentities", jstr(jb, r->altsec_value));
    if (r->altsec_value_samba)
        set(jb, o, "altsecurityidentities_samba", jstr(jb, r->altsec_value_samba));
    for (size_t i = 0; i < ARRAY_SIZE(r->altsec_alternatives); i++)
        if (r->altsec_alternatives[i])
            push(jb, alts, jstr(jb, r->altsec_alternatives[i]));
    set(jb, o, "altsecurityidentities_alternatives", alts);
    json_t *re = json_object();
    set(jb, re, "likely_issuer", jstr(jb, r->likely_issuer));
    set(jb, re, "adcs", jstr(jb, r->reissue_adcs));
    set(jb, re, "intune_pkcs", jstr(jb, r->reissue_intune_pkcs));
    set(jb, re, "intune_scep", jstr(jb, r->reissue_scep));
    set(jb, re, "other_ca", jstr(jb, r->reissue_other_ca));
    set(jb, re, "sid_extension_der_base64", jstr(jb, r->sid_extension_der_base64));
    set(jb, re, "sid_uri", jstr(jb, r->sid_uri));
    set(jb, o, "reissue", re);
    set(jb, o, "blocked_by", jstr(jb, r->blocked_by));
    for (size_t i = 0; i < r->n_steps; i++)
        push(jb, steps, jstr(jb, r->steps[i]));
    set(jb, o, "steps", steps);
    return o;
}

static json_t *verdict_obj(struct jb *jb, const struct sm_verdict *v)
{
    const struct sm_profile_outcome *p = v->primary;
    json_t *o = json_object(), *profiles = json_array();
    set(jb, o, "outcome", jstr(jb, v->allow ? "allow" : "deny"));
    set(jb, o, "kdc_error", kdc_error_json(jb, &p->kdc_error));
    set(jb, o, "event", event_json(jb, &p->event));
    set(jb, o, "mapping", mapping_json(jb, p));
    set(jb, o, "profile", jstr(jb, sm_profile_name(p->profile.kind)));
    set(jb, o, "account", account_json(jb, v->account));
    set(jb, o, "resolved_by", jstr(jb, sm_resolution_name(v->resolution)));
    if (v->sid_owner)
        set(jb, o, "sid_owner", account_json(jb, v->sid_owner));
    json_t *cert = json_object();
    set(jb, cert, "subject", jstr(jb, v->cert->subject.rfc4514));
    set(jb, cert, "issuer", jstr(jb, v->cert->issuer.rfc4514));
    set(jb, cert, "serial", jstr(jb, v->cert->serial));
    set(jb, cert, "sha1", jstr(jb, v->cert->sha1));
    set(jb, o, "certificate", cert);
    json_t *primary = outcome_json(jb, p);
    set(jb, o, "paths", json_incref(json_object_get(primary, "paths")));
    json_decref(primary);
    json_t *reasons = reasons_json(jb, v->reasons, v->n_reasons);
    json_t *more = reasons_json(jb, p->reasons, p->n_reasons);
    if (json_array_extend(reasons, more) != 0)
        jb->oom = true;
    json_decref(more);
    set(jb, o, "reasons", reasons);
    for (size_t i = 0; i < v->n_profiles; i++)
        push(jb, profiles, outcome_json(jb, &v->profiles[i]));
    set(jb, o, "profiles", profiles);
    json_t *nt = json_object();
    set(jb, nt, "known", json_boolean(v->ntauth_known));
    set(jb, nt, "issuer_trusted",
        v->ntauth_known ? json_boolean(v->issuer_in_ntauth) : json_null());
    set(jb, o, "ntauth", nt);
    set(jb, o, "remediation", remediation_json(jb, &v->remediation));
    return o;
}

int sm_json_verdict(const struct sm_verdict *v, unsigned flags, char **ret_json)
{
    struct jb jb = { false };
    return dump(&jb, verdict_obj(&jb, v), flags, ret_json);
}

int sm_json_account_status(const struct sm_account_status *s, unsigned flags, char **ret_json)
{
    struct jb jb = { false };
    json_t *o = json_object(), *vals = json_array(), *certs = json_array(),
           *profiles = json_array();
    set(&jb, o, "account", account_json(&jb, s->account));
    set(&jb, o, "status", jstr(&jb, sm_readiness_name(s->readiness)));
    set(&jb, o, "reasons", reasons_json(&jb, s->reasons, s->n_reasons));
    for (size_t i = 0; i < s->n_altsec; i++)
        push(&jb, vals, altsec_json(&jb, s->altsec[i], NULL));
    set(&jb, o, "altsecurityidentities", vals);
    for (size_t i = 0; i < s->n_cert_verdicts; i++)
        push(&jb, certs, verdict_obj(&jb, s->cert_verdicts[i]));
    set(&jb, o, "certificates", certs);
    for (size_t i = 0; i < s->n_profiles; i++)
        push(&jb, profiles, jstr(&jb, sm_profile_name(s->profiles[i].kind)));
    set(&jb, o, "profiles", profiles);
    return dump(&jb, o, flags, ret_json);
}

/* ---- RFC 9457 ------------------------------------------------------------------------------ */

int sm_json_problem(const char *type, const char *title, int status, const char *detail,
                    unsigned flags, char **ret_json)
{
    struct jb jb = { false };
    json_t *root = json_object();
    set(&jb, root, "type", jstr(&jb, type));
    set(&jb, root, "title", jstr(&jb, title));
    set(&jb, root, "status", json_integer(status));
    if (detail) {
        /* details may quote input: never let invalid UTF-8 drop the field */
        struct sbuf b;
        sbuf_init(&b, NULL);
        utf8_sanitize(&b, detail, strlen(detail));
        set(&jb, root, "detail", jstr(&jb, sbuf_str(&b)));
        sbuf_release(&b);
    }
    return dump(&jb, root, flags, ret_json);
}

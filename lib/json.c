/*
 * lib/json.c - the JSON documents of the CLI and the API, written with the streaming writer
 * of jsonw.c straight into one buffer (no document model).
 *
 * The output is byte for byte what the earlier Jansson renderer (json_dumps with
 * JSON_PRESERVE_ORDER and JSON_COMPACT or JSON_INDENT(2)) printed: same member order, same
 * escaping, same layout. Every string comes from the engine, which guarantees valid UTF-8; the
 * writer still puts a marker rather than invalid JSON. Allocation failures are sticky in the
 * writer and reported once, as -ENOMEM, by jsonw_finish().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strongmap/json.h>

#include "jsonw.h"
#include "util.h"

static void start(struct jsonw *w, unsigned flags)
{
    jsonw_init(w, flags & SM_JSON_PRETTY ? JSONW_PRETTY : 0);
}

static int finish(struct jsonw *w, char **ret_json)
{
    return jsonw_finish(w, ret_json, NULL);
}

/* A key that is not a literal (jsonw_key() takes literals). */
static void dyn_key(struct jsonw *w, const char *key)
{
    jsonw_keyn(w, key, strlen(key));
}

static void str_array(struct jsonw *w, const char *const *v, size_t n)
{
    jsonw_array_begin(w);
    for (size_t i = 0; i < n; i++)
        jsonw_string(w, v[i]);
    jsonw_array_end(w);
}

static void findings_json(struct jsonw *w, const struct sm_findings *f)
{
    jsonw_key(w, "findings");
    jsonw_array_begin(w);
    for (size_t i = 0; i < f->n; i++) {
        jsonw_object_begin(w);
        jsonw_kstr(w, "code", f->v[i].code);
        jsonw_kstr(w, "severity", sm_severity_name(f->v[i].severity));
        jsonw_kstr(w, "message", f->v[i].message);
        if (f->v[i].fix)
            jsonw_kstr(w, "fix", f->v[i].fix);
        jsonw_object_end(w);
    }
    if (f->truncated) {
        jsonw_object_begin(w);
        jsonw_kstr(w, "code", "findings_truncated");
        jsonw_kstr(w, "severity", "info");
        jsonw_kstr(w, "message", "More findings were raised than are shown.");
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

/* ---- certificates ---------------------------------------------------------------------- */

static void name_json(struct jsonw *w, const struct sm_name *n)
{
    jsonw_object_begin(w);
    jsonw_kstr(w, "rfc4514", n->rfc4514);
    jsonw_kstr(w, "ad", n->ad);
    jsonw_kstr(w, "samba", n->samba);
    jsonw_kint(w, "rdns", (int64_t)n->n_rdns);
    jsonw_kbool(w, "multi_valued", n->multi_valued);
    jsonw_key(w, "attributes");
    jsonw_array_begin(w);
    for (size_t i = 0; i < n->n_attrs; i++) {
        const struct sm_name_attr *at = &n->attrs[i];
        jsonw_object_begin(w);
        jsonw_kstr(w, "oid", at->oid);
        jsonw_kstr(w, "key", at->rfc_key);
        jsonw_kstr(w, "ad_key", at->ad_key);
        jsonw_kstr(w, "value", at->value);
        jsonw_kint(w, "asn1_tag", at->asn1_tag);
        if (at->lossy)
            jsonw_kbool(w, "lossy", true);
        if (at->next_same_rdn)
            jsonw_kbool(w, "same_rdn_as_next", true);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
    jsonw_object_end(w);
}

/* A SID carrier; @value is its SID's text when valid (else NULL). */
static void carrier_json(struct jsonw *w, const struct sm_sid_carrier *c, const char *value,
                         bool ext)
{
    jsonw_object_begin(w);
    jsonw_kstr(w, "status", sm_sid_status_name(c->status));
    jsonw_kstr(w, "value", value);
    if (c->status != SM_SID_ABSENT)
        jsonw_kstr(w, "text", c->text);
    if (c->reason)
        jsonw_kstr(w, "reason", c->reason);
    if (ext && c->status != SM_SID_ABSENT)
        jsonw_kbool(w, "critical", c->critical);
    if (c->status != SM_SID_ABSENT)
        jsonw_kint(w, "count", c->count);
    jsonw_object_end(w);
}

static void sid_json(struct jsonw *w, const struct sm_cert *c)
{
    const struct sm_cert_sid *s = &c->sid;
    static const char *const sources[] = { NULL, "extension", "san_uri" };
    const struct sm_sid_carrier *e = &s->extension, *u = &s->uri;
    char et[SM_SID_TEXT_MAX], ut[SM_SID_TEXT_MAX];
    /* each carrier's SID text, formatted once */
    const char *ev = e->status == SM_SID_VALID ? sm_sid_format(&e->sid, et, sizeof(et)) : NULL;
    const char *uv = u->status == SM_SID_VALID ? sm_sid_format(&u->sid, ut, sizeof(ut)) : NULL;
    jsonw_key(w, "sid");
    jsonw_object_begin(w);
    jsonw_kstr(w, "value",
               s->source == SM_SID_SOURCE_EXTENSION ? ev
               : s->source == SM_SID_SOURCE_SAN_URI ? uv
                                                    : NULL);
    jsonw_kstr(w, "source", sources[s->source]);
    jsonw_kstr(w, "status", sm_sid_status_name(s->status));
    jsonw_kbool(w, "conflict", s->conflict);
    /* What each DC family reads (docs/mapping-rules.md 2.5 and 3). */
    jsonw_key(w, "used_by");
    jsonw_object_begin(w);
    jsonw_kstr(w, "windows_2019_plus", sources[s->source]);
    jsonw_kstr(w, "windows_2016", e->status != SM_SID_ABSENT ? "extension" : NULL);
    jsonw_kstr(w, "samba", e->status == SM_SID_VALID ? "extension" : NULL);
    jsonw_object_end(w);
    jsonw_key(w, "extension");
    carrier_json(w, e, ev, true);
    jsonw_key(w, "san_uri");
    carrier_json(w, u, uv, false);
    jsonw_object_end(w);
}

static void san_json(struct jsonw *w, const struct sm_cert *c)
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
    jsonw_key(w, "san");
    jsonw_object_begin(w);
    for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
        /* the contract's eight keys always appear; the rarer ones only when present */
        if (k >= 8) {
            size_t i = 0;
            while (i < c->n_san && c->san[i].type != keys[k].t)
                i++;
            if (i == c->n_san)
                continue;
        }
        dyn_key(w, keys[k].key);
        jsonw_array_begin(w);
        for (size_t i = 0; i < c->n_san; i++) {
            const struct sm_san *s = &c->san[i];
            if (s->type != keys[k].t)
                continue;
            if (s->type == SM_SAN_OTHER) {
                jsonw_object_begin(w);
                jsonw_kstr(w, "oid", s->oid);
                jsonw_kstr(w, "value", s->value);
                jsonw_object_end(w);
            } else {
                jsonw_string(w, s->value);
            }
        }
        jsonw_array_end(w);
    }
    jsonw_object_end(w);
}

static void eku_json(struct jsonw *w, const struct sm_cert *c)
{
    jsonw_key(w, "eku");
    jsonw_array_begin(w);
    for (size_t i = 0; i < c->n_eku; i++) {
        jsonw_object_begin(w);
        jsonw_kstr(w, "oid", c->eku[i]);
        jsonw_kstr(w, "name", sm_oid_name(c->eku[i]));
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

static void key_usage_json(struct jsonw *w, const struct sm_cert *c)
{
    static const char *const bits[] = { "digitalSignature", "nonRepudiation", "keyEncipherment",
                                        "dataEncipherment", "keyAgreement",   "keyCertSign",
                                        "cRLSign",          "encipherOnly",   "decipherOnly" };
    jsonw_key(w, "key_usage");
    if (!c->has_key_usage) {
        jsonw_null(w);
        return;
    }
    jsonw_array_begin(w);
    for (unsigned i = 0; i < ARRAY_SIZE(bits); i++) {
        /* bit i of the BIT STRING: byte i/8, mask 0x80 >> (i%8); stored little-endian by byte */
        unsigned mask = (0x80u >> (i % 8)) << (8 * (i / 8));
        if (c->key_usage & mask)
            jsonw_string(w, bits[i]);
    }
    jsonw_array_end(w);
}

/*
 * "mappings": one member per type, in enum order, the last mapping of the type or null; then
 * "X509RFC822", an array of them all. (The Jansson renderer set the null members first and
 * replaced them in place, so a later mapping of a type won.) Then "mapping_details".
 */
static void mappings_json(struct jsonw *w, const struct sm_cert *c)
{
    jsonw_key(w, "mappings");
    jsonw_object_begin(w);
    for (int t = 0; t < SM_MAP__COUNT; t++) {
        if (t == SM_MAP_RFC822)
            continue;
        const char *value = NULL;
        for (size_t i = 0; i < c->n_mappings; i++)
            if ((int)c->mappings[i].type == t)
                value = c->mappings[i].value;
        dyn_key(w, sm_map_type_name(t));
        jsonw_string(w, value);
    }
    /* out-of-range types all map to one name, after the known ones */
    bool unknown = false;
    const char *unknown_value = NULL;
    for (size_t i = 0; i < c->n_mappings; i++) {
        if ((unsigned)c->mappings[i].type >= SM_MAP__COUNT) {
            unknown = true;
            unknown_value = c->mappings[i].value;
        }
    }
    if (unknown) {
        dyn_key(w, sm_map_type_name(SM_MAP__COUNT));
        jsonw_string(w, unknown_value);
    }
    jsonw_key(w, "X509RFC822");
    jsonw_array_begin(w);
    for (size_t i = 0; i < c->n_mappings; i++)
        if (c->mappings[i].type == SM_MAP_RFC822)
            jsonw_string(w, c->mappings[i].value);
    jsonw_array_end(w);
    jsonw_object_end(w);

    jsonw_key(w, "mapping_details");
    jsonw_array_begin(w);
    for (size_t i = 0; i < c->n_mappings; i++) {
        const struct sm_mapping *m = &c->mappings[i];
        jsonw_object_begin(w);
        jsonw_kstr(w, "type", sm_map_type_name(m->type));
        jsonw_kstr(w, "value", m->value);
        jsonw_kstr(w, "strength", sm_map_type_strong(m->type) ? "strong" : "weak");
        jsonw_kbool(w, "samba_supported", m->samba_supported);
        if (m->samba_supported)
            jsonw_kstr(w, "samba_value", m->samba ? m->samba : m->value);
        else
            jsonw_knull(w, "samba_value");
        if (m->type == SM_MAP_ISSUER_SID)
            jsonw_kstr(w, "note",
                       "Honoured by Windows Server 2022 and later DCs with the September "
                       "2025 update; not by Samba.");
        if (m->type == SM_MAP_SHA1_PUKEY)
            jsonw_kstr(w, "note",
                       "The SHA-1 thumbprint of the whole certificate, which is what DCs "
                       "compare despite the name (docs/mapping-rules.md 6.1).");
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

static const char *validity_status(const struct sm_cert *c)
{
    if (sm_findings_has(&c->findings, "expired"))
        return "expired";
    if (sm_findings_has(&c->findings, "not_yet_valid"))
        return "not_yet_valid";
    return "valid";
}

/* An integer, or null when negative (absent). */
static void int_or_null(struct jsonw *w, int64_t v)
{
    if (v >= 0)
        jsonw_int(w, v);
    else
        jsonw_null(w);
}

static void cert_json(struct jsonw *w, const struct sm_cert *c)
{
    jsonw_object_begin(w);
    jsonw_kint(w, "index", c->index);
    jsonw_kstr(w, "subject", c->subject.rfc4514);
    jsonw_kstr(w, "issuer", c->issuer.rfc4514);
    jsonw_kstr(w, "subject_ad", c->subject.ad);
    jsonw_kstr(w, "issuer_ad", c->issuer.ad);
    jsonw_kstr(w, "serial", c->serial);
    jsonw_kint(w, "version", c->version);
    jsonw_kstr(w, "not_before", c->not_before);
    jsonw_kstr(w, "not_after", c->not_after);
    jsonw_kstr(w, "validity", validity_status(c));
    jsonw_key(w, "key");
    jsonw_object_begin(w);
    jsonw_kstr(w, "type", c->key_type);
    jsonw_kint(w, "bits", c->key_bits);
    jsonw_kstr(w, "curve", c->key_curve);
    jsonw_object_end(w);
    jsonw_key(w, "signature_algorithm");
    jsonw_object_begin(w);
    jsonw_kstr(w, "oid", c->sig_alg_oid);
    jsonw_kstr(w, "name", c->sig_alg);
    jsonw_object_end(w);
    jsonw_kstr(w, "sha1", c->sha1);
    jsonw_kstr(w, "sha256", c->sha256);
    jsonw_kstr(w, "spki_sha1", c->spki_sha1);
    jsonw_kstr(w, "public_key_sha1", c->spk_sha1);
    jsonw_kstr(w, "ski", c->ski);
    jsonw_kstr(w, "aki", c->aki);
    san_json(w, c);
    sid_json(w, c);
    eku_json(w, c);
    jsonw_kbool(w, "eku_present", c->has_eku);
    key_usage_json(w, c);
    jsonw_key(w, "basic_constraints");
    if (c->has_basic_constraints) {
        jsonw_object_begin(w);
        jsonw_kbool(w, "ca", c->is_ca);
        jsonw_key(w, "path_len");
        int_or_null(w, c->path_len);
        jsonw_object_end(w);
    } else {
        jsonw_null(w);
    }
    jsonw_key(w, "template");
    if (c->has_template) {
        jsonw_object_begin(w);
        jsonw_kstr(w, "oid", c->tmpl.oid);
        jsonw_key(w, "major_version");
        int_or_null(w, c->tmpl.major);
        jsonw_key(w, "minor_version");
        int_or_null(w, c->tmpl.minor);
        jsonw_kstr(w, "name", c->tmpl.name);
        jsonw_object_end(w);
    } else {
        jsonw_null(w);
    }
    jsonw_key(w, "crl_urls");
    str_array(w, c->crl_urls, c->n_crl_urls);
    jsonw_key(w, "aia");
    jsonw_object_begin(w);
    jsonw_key(w, "ca_issuers");
    str_array(w, c->aia_issuers, c->n_aia_issuers);
    jsonw_key(w, "ocsp");
    str_array(w, c->aia_ocsp, c->n_aia_ocsp);
    jsonw_object_end(w);
    jsonw_key(w, "extensions");
    jsonw_array_begin(w);
    for (size_t i = 0; i < c->n_exts; i++) {
        jsonw_object_begin(w);
        jsonw_kstr(w, "oid", c->exts[i].oid);
        jsonw_kstr(w, "name", c->exts[i].name);
        jsonw_kbool(w, "critical", c->exts[i].critical);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
    mappings_json(w, c);
    findings_json(w, &c->findings);
    jsonw_key(w, "names");
    jsonw_object_begin(w);
    jsonw_key(w, "subject");
    name_json(w, &c->subject);
    jsonw_key(w, "issuer");
    name_json(w, &c->issuer);
    jsonw_object_end(w);
    jsonw_kstr(w, "parsed_by", c->full_parse ? "mbedtls" : "field_walk");
    if (c->parse_note)
        jsonw_kstr(w, "parse_note", c->parse_note);
    jsonw_kint(w, "der_length", (int64_t)c->der_len);
    jsonw_object_end(w);
}

int sm_json_certs(const struct sm_certs *certs, unsigned flags, char **ret_json)
{
    struct jsonw w;
    start(&w, flags);
    jsonw_object_begin(&w);
    jsonw_key(&w, "certificates");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < certs->n_certs; i++)
        cert_json(&w, &certs->certs[i]);
    jsonw_array_end(&w);
    jsonw_key(&w, "errors");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < certs->n_errors; i++) {
        const struct sm_input_error *e = &certs->errors[i];
        jsonw_object_begin(&w);
        jsonw_kint(&w, "index", e->index);
        jsonw_key(&w, "offset");
        int_or_null(&w, e->offset);
        jsonw_kstr(&w, "code", e->code == SM_E_FORMAT ? "bad_encoding" : "bad_certificate");
        jsonw_kstr(&w, "message", e->message);
        jsonw_object_end(&w);
    }
    jsonw_array_end(&w);
    jsonw_kstr(&w, "format", certs->format);
    jsonw_object_end(&w);
    return finish(&w, ret_json);
}

/* ---- altSecurityIdentities -------------------------------------------------------------- */

static void altsec_json(struct jsonw *w, const struct sm_altsec *v, const struct sm_cert *cert)
{
    static const char *const kinds[] = { "mapping", "not_x509", "invalid" };
    bool mapping = v->kind == SM_ALTSEC_MAPPING;
    jsonw_object_begin(w);
    jsonw_kstr(w, "value", v->value);
    jsonw_kstr(w, "kind", kinds[v->kind]);
    jsonw_kstr(w, "type", mapping ? sm_map_type_name(v->type) : NULL);
    jsonw_kstr(w, "strength", mapping ? (v->strong ? "strong" : "weak") : NULL);
    if (v->invalid_reason)
        jsonw_kstr(w, "invalid_reason", v->invalid_reason);
    if (v->samba_may_match)
        jsonw_kbool(w, "samba_may_match", true);
    const struct {
        const char *k, *v;
    } fields[] = { { "issuer", v->issuer }, { "subject", v->subject }, { "serial", v->serial },
                   { "ski", v->ski },       { "sha1", v->sha1 },       { "sid", v->sid },
                   { "rfc822", v->rfc822 } };
    jsonw_key(w, "fields");
    jsonw_object_begin(w);
    for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
        if (fields[i].v) {
            dyn_key(w, fields[i].k);
            jsonw_string(w, fields[i].v);
        }
    }
    jsonw_object_end(w);
    if (cert) {
        jsonw_kbool(w, "matches", sm_altsec_matches(v, cert));
        jsonw_kbool(w, "matches_samba", sm_altsec_matches_samba(v, cert));
    }
    findings_json(w, &v->findings);
    jsonw_object_end(w);
}

int sm_json_altsec(struct sm_altsec *const *values, size_t n, const struct sm_cert *cert,
                   unsigned flags, char **ret_json)
{
    struct jsonw w;
    start(&w, flags);
    jsonw_object_begin(&w);
    jsonw_key(&w, "values");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < n; i++)
        altsec_json(&w, values[i], cert);
    jsonw_array_end(&w);
    if (cert) {
        jsonw_key(&w, "certificate");
        jsonw_object_begin(&w);
        jsonw_kstr(&w, "subject", cert->subject.rfc4514);
        jsonw_kstr(&w, "issuer", cert->issuer.rfc4514);
        jsonw_kstr(&w, "serial", cert->serial);
        jsonw_kstr(&w, "sha1", cert->sha1);
        jsonw_key(&w, "strong_mappings");
        jsonw_array_begin(&w);
        for (size_t i = 0; i < cert->n_mappings; i++)
            if (sm_map_type_strong(cert->mappings[i].type))
                jsonw_string(&w, cert->mappings[i].value);
        jsonw_array_end(&w);
        jsonw_object_end(&w);
    }
    jsonw_object_end(&w);
    return finish(&w, ret_json);
}

/* ---- SID -------------------------------------------------------------------------------- */

/* The text built in @b as a string value; @b is then emptied for the next one. */
static void buf_string(struct jsonw *w, struct sbuf *b)
{
    if (b->oom)
        jsonw_null(w); /* not written: sm_json_sid() returns -ENOMEM */
    else
        jsonw_stringn(w, b->p ? b->p : "", b->len);
    b->len = 0;
}

int sm_json_sid(const struct sm_sid *sid, unsigned flags, char **ret_json)
{
    char text[SM_SID_TEXT_MAX];
    uint8_t der[256], bin[SM_SID_BINARY_MAX];
    long dlen = sm_sid_extension_der(sid, der, sizeof(der));
    size_t blen = sm_sid_to_binary(sid, bin);
    struct jsonw w;
    struct sbuf b;
    bool oom;
    int r;

    if (dlen < 0)
        return (int)dlen;
    sm_sid_format(sid, text, sizeof(text));
    start(&w, flags);
    sbuf_init(&b, NULL);
    jsonw_object_begin(&w);
    jsonw_kstr(&w, "sid", text);
    jsonw_kstr(&w, "extension_oid", SM_OID_SID_EXTENSION);
    sbuf_hex(&b, der, (size_t)dlen);
    jsonw_key(&w, "extension_der_hex");
    buf_string(&w, &b);
    sbuf_base64(&b, der, (size_t)dlen);
    jsonw_key(&w, "extension_der_base64");
    buf_string(&w, &b);
    sbuf_puts(&b, SM_OID_SID_EXTENSION " = DER:");
    for (long i = 0; i < dlen; i++)
        sbuf_printf(&b, "%s%02X", i ? ":" : "", der[i]);
    jsonw_key(&w, "openssl_extension_config");
    buf_string(&w, &b);
    sbuf_printf(&b, "%s%s", SM_SID_URI_PREFIX, text);
    jsonw_key(&w, "san_uri");
    buf_string(&w, &b);
    sbuf_hex(&b, bin, blen);
    jsonw_key(&w, "object_sid_hex");
    buf_string(&w, &b);
    sbuf_base64(&b, bin, blen);
    jsonw_key(&w, "object_sid_base64");
    buf_string(&w, &b);
    sbuf_puts(&b, "(objectSid=");
    for (size_t i = 0; i < blen; i++)
        sbuf_printf(&b, "\\%02x", bin[i]);
    sbuf_putc(&b, ')');
    jsonw_key(&w, "ldap_filter");
    buf_string(&w, &b);
    jsonw_object_end(&w);
    oom = b.oom;
    sbuf_release(&b);
    if (oom) {
        jsonw_release(&w);
        return -ENOMEM;
    }
    r = finish(&w, ret_json);
    return r;
}

/* ---- verdicts ------------------------------------------------------------------------------ */

static void time_json(struct jsonw *w, time_t t)
{
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        jsonw_null(w);
    else
        jsonw_string(w, buf);
}

static void account_json(struct jsonw *w, const struct sm_account *a)
{
    char sid[SM_SID_TEXT_MAX];
    if (!a) {
        jsonw_null(w);
        return;
    }
    jsonw_object_begin(w);
    jsonw_kstr(w, "dn", a->dn);
    jsonw_kstr(w, "sam", a->sam);
    jsonw_kstr(w, "upn", a->upn);
    jsonw_kstr(w, "sid", a->has_sid ? sm_sid_format(&a->sid, sid, sizeof(sid)) : NULL);
    jsonw_key(w, "created");
    if (a->has_created)
        time_json(w, a->created);
    else
        jsonw_null(w);
    jsonw_kbool(w, "enabled", !(a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE)));
    jsonw_kbool(w, "computer", a->is_computer);
    if (a->dns_host)
        jsonw_kstr(w, "dns_host_name", a->dns_host);
    jsonw_object_end(w);
}

static void kdc_error_json(struct jsonw *w, const struct sm_kdc_error *e)
{
    jsonw_key(w, "kdc_error");
    if (!e->code) {
        jsonw_null(w);
        return;
    }
    jsonw_object_begin(w);
    jsonw_kint(w, "code", e->code);
    jsonw_kstr(w, "name", e->name);
    jsonw_object_end(w);
}

static void event_obj(struct jsonw *w, const struct sm_event *e)
{
    jsonw_object_begin(w);
    jsonw_kint(w, "id", e->id);
    jsonw_kstr(w, "source", "Microsoft-Windows-Kerberos-Key-Distribution-Center");
    jsonw_kstr(w, "level", e->level);
    jsonw_kstr(w, "text", e->text);
    jsonw_object_end(w);
}

static void event_json(struct jsonw *w, const struct sm_event *e)
{
    jsonw_key(w, "event");
    if (!e->id)
        jsonw_null(w);
    else
        event_obj(w, e);
}

static void events_json(struct jsonw *w, const struct sm_profile_outcome *o)
{
    jsonw_key(w, "events");
    jsonw_array_begin(w);
    for (size_t i = 0; i < o->n_events; i++)
        event_obj(w, &o->events[i]);
    jsonw_array_end(w);
}

/* The DC settings an outcome was evaluated with, every default resolved. */
static void settings_json(struct jsonw *w, const struct sm_profile_outcome *o)
{
    const struct sm_profile *p = &o->profile;
    bool windows = p->kind != SM_PROFILE_SAMBA;
    char spec[SM_PROFILE_TEXT_MAX], day[16];

    jsonw_key(w, "settings");
    jsonw_object_begin(w);
    jsonw_kstr(w, "spec", sm_profile_format(p, spec, sizeof(spec)));
    if (windows) {
        struct tm tm;
        gmtime_r(&p->update, &tm);
        strftime(day, sizeof(day), "%Y-%m-%d", &tm);
        jsonw_kstr(w, "update", day);
        jsonw_kbool(w, "update_given", o->profile_update_given);
        jsonw_kbool(w, "use_subject_alt_name", p->use_subject_alt_name);
        jsonw_kint(w, "ntauth_policy_bypass", p->ntauth_bypass);
    } else {
        jsonw_knull(w, "update");
        jsonw_kbool(w, "update_given", false);
        jsonw_kbool(w, "use_subject_alt_name", true);
        jsonw_knull(w, "ntauth_policy_bypass");
    }
    jsonw_kbool(w, "reads_san_uri_sid", o->san_uri_sid);
    jsonw_kbool(w, "honours_x509_issuer_sid", o->issuer_sid_mapping);
    jsonw_object_end(w);
}

/* The elements of a reasons array (the caller opens and closes it). */
static void reasons_items(struct jsonw *w, const struct sm_reason *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        jsonw_object_begin(w);
        jsonw_kstr(w, "code", r[i].code);
        jsonw_kstr(w, "message", r[i].message);
        jsonw_object_end(w);
    }
}

static void reasons_json(struct jsonw *w, const struct sm_reason *r, size_t n)
{
    jsonw_key(w, "reasons");
    jsonw_array_begin(w);
    reasons_items(w, r, n);
    jsonw_array_end(w);
}

static void mapping_json(struct jsonw *w, const struct sm_profile_outcome *o)
{
    jsonw_key(w, "mapping");
    if (!o->mapping_strength) {
        jsonw_null(w);
        return;
    }
    jsonw_object_begin(w);
    jsonw_kstr(w, "strength", sm_strength_name(o->mapping_strength));
    jsonw_kstr(w, "method", o->mapping_method);
    jsonw_object_end(w);
}

static void paths_json(struct jsonw *w, const struct sm_profile_outcome *o)
{
    jsonw_key(w, "paths");
    jsonw_array_begin(w);
    for (size_t i = 0; i < o->n_paths; i++) {
        jsonw_object_begin(w);
        jsonw_kstr(w, "method", o->paths[i].method);
        jsonw_kstr(w, "strength", sm_strength_name(o->paths[i].strength));
        jsonw_kstr(w, "result", sm_path_result_name(o->paths[i].result));
        if (o->paths[i].detail)
            jsonw_kstr(w, "detail", o->paths[i].detail);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

static void outcome_json(struct jsonw *w, const struct sm_profile_outcome *o)
{
    jsonw_object_begin(w);
    jsonw_kstr(w, "profile", sm_profile_name(o->profile.kind));
    jsonw_kint(w, "mode", o->profile.mode);
    jsonw_kint(w, "backdating_seconds", o->profile.backdating_s);
    settings_json(w, o);
    jsonw_kstr(w, "outcome", o->allow ? "allow" : "deny");
    kdc_error_json(w, &o->kdc_error);
    event_json(w, &o->event);
    events_json(w, o);
    mapping_json(w, o);
    paths_json(w, o);
    reasons_json(w, o->reasons, o->n_reasons);
    jsonw_object_end(w);
}

static void remediation_json(struct jsonw *w, const struct sm_remediation *r)
{
    jsonw_key(w, "remediation");
    jsonw_object_begin(w);
    jsonw_kstr(w, "altsecurityidentities", r->altsec_value);
    if (r->altsec_value_samba)
        jsonw_kstr(w, "altsecurityidentities_samba", r->altsec_value_samba);
    jsonw_key(w, "altsecurityidentities_alternatives");
    jsonw_array_begin(w);
    for (size_t i = 0; i < ARRAY_SIZE(r->altsec_alternatives); i++)
        if (r->altsec_alternatives[i])
            jsonw_string(w, r->altsec_alternatives[i]);
    jsonw_array_end(w);
    jsonw_key(w, "reissue");
    jsonw_object_begin(w);
    jsonw_kstr(w, "likely_issuer", r->likely_issuer);
    jsonw_kstr(w, "likely_issuer_why", r->likely_issuer_why);
    jsonw_kstr(w, "adcs", r->reissue_adcs);
    jsonw_kstr(w, "intune_pkcs", r->reissue_intune_pkcs);
    jsonw_kstr(w, "intune_scep", r->reissue_scep);
    jsonw_kstr(w, "other_ca", r->reissue_other_ca);
    jsonw_kstr(w, "sid_extension_der_base64", r->sid_extension_der_base64);
    jsonw_kstr(w, "sid_uri", r->sid_uri);
    jsonw_object_end(w);
    jsonw_kstr(w, "blocked_by", r->blocked_by);
    jsonw_kstr(w, "powershell", r->powershell);
    jsonw_key(w, "steps");
    str_array(w, r->steps, r->n_steps);
    jsonw_object_end(w);
}

/* The account's key trust credentials (msDS-KeyCredentialLink), and which holds the key. */
static void keycreds_json(struct jsonw *w, const struct sm_verdict *v)
{
    jsonw_key(w, "key_credentials");
    jsonw_array_begin(w);
    for (size_t i = 0; i < v->n_keycreds && !v->redacted; i++) {
        const struct sm_keycred *k = v->keycreds[i].cred;
        jsonw_object_begin(w);
        jsonw_kbool(w, "matches", v->keycreds[i].matches);
        jsonw_kbool(w, "valid", k->valid);
        jsonw_kstr(w, "invalid_reason", k->invalid_reason);
        jsonw_kstr(w, "usage", k->usage_name);
        jsonw_kstr(w, "source", k->source_name);
        jsonw_kstr(w, "device_id", k->device_id);
        jsonw_kstr(w, "created", k->created);
        jsonw_kstr(w, "key_id", k->key_id);
        jsonw_kstr(w, "key_format", k->key_format);
        jsonw_kint(w, "key_bits", k->key_bits);
        jsonw_kstr(w, "key_error", k->key_error);
        jsonw_kbool(w, "logon_key", k->logon_key);
        jsonw_kbool(w, "samba_usable", k->samba_usable);
        findings_json(w, &k->findings);
        jsonw_object_end(w);
    }
    jsonw_array_end(w);
}

static void verdict_obj(struct jsonw *w, const struct sm_verdict *v)
{
    const struct sm_profile_outcome *p = v->primary;
    jsonw_object_begin(w);
    jsonw_kstr(w, "outcome", v->allow ? "allow" : "deny");
    kdc_error_json(w, &p->kdc_error);
    event_json(w, &p->event);
    events_json(w, p);
    mapping_json(w, p);
    jsonw_kstr(w, "profile", sm_profile_name(p->profile.kind));
    jsonw_key(w, "account");
    account_json(w, v->redacted ? NULL : v->account);
    jsonw_kstr(w, "resolved_by", sm_resolution_name(v->resolution));
    jsonw_kbool(w, "account_redacted", v->redacted);
    if (v->sid_owner && !v->redacted) {
        jsonw_key(w, "sid_owner");
        account_json(w, v->sid_owner);
    }
    jsonw_key(w, "certificate");
    jsonw_object_begin(w);
    jsonw_kstr(w, "subject", v->cert->subject.rfc4514);
    jsonw_kstr(w, "issuer", v->cert->issuer.rfc4514);
    jsonw_kstr(w, "serial", v->cert->serial);
    jsonw_kstr(w, "sha1", v->cert->sha1);
    jsonw_object_end(w);
    paths_json(w, p); /* the primary profile's */
    /* the verdict's own reasons, then the primary profile's */
    jsonw_key(w, "reasons");
    jsonw_array_begin(w);
    reasons_items(w, v->reasons, v->n_reasons);
    reasons_items(w, p->reasons, p->n_reasons);
    jsonw_array_end(w);
    jsonw_key(w, "profiles");
    jsonw_array_begin(w);
    for (size_t i = 0; i < v->n_profiles; i++)
        outcome_json(w, &v->profiles[i]);
    jsonw_array_end(w);
    jsonw_key(w, "ntauth");
    jsonw_object_begin(w);
    jsonw_kbool(w, "known", v->ntauth_known);
    if (v->ntauth_known)
        jsonw_kbool(w, "issuer_trusted", v->issuer_in_ntauth);
    else
        jsonw_knull(w, "issuer_trusted");
    jsonw_object_end(w);
    keycreds_json(w, v);
    remediation_json(w, &v->remediation);
    jsonw_kint(w, "directory_lookups", v->lookups);
    jsonw_object_end(w);
}

int sm_json_verdict(const struct sm_verdict *v, unsigned flags, char **ret_json)
{
    struct jsonw w;
    start(&w, flags);
    verdict_obj(&w, v);
    return finish(&w, ret_json);
}

int sm_json_account_status(const struct sm_account_status *s, unsigned flags, char **ret_json)
{
    struct jsonw w;
    start(&w, flags);
    jsonw_object_begin(&w);
    jsonw_key(&w, "account");
    account_json(&w, s->account);
    jsonw_kstr(&w, "status", sm_readiness_name(s->readiness));
    reasons_json(&w, s->reasons, s->n_reasons);
    jsonw_key(&w, "altsecurityidentities");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < s->n_altsec; i++)
        altsec_json(&w, s->altsec[i], NULL);
    jsonw_array_end(&w);
    jsonw_key(&w, "certificates");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < s->n_cert_verdicts; i++)
        verdict_obj(&w, s->cert_verdicts[i]);
    jsonw_array_end(&w);
    jsonw_key(&w, "profiles");
    jsonw_array_begin(&w);
    for (size_t i = 0; i < s->n_profiles; i++)
        jsonw_string(&w, sm_profile_name(s->profiles[i].kind));
    jsonw_array_end(&w);
    jsonw_object_end(&w);
    return finish(&w, ret_json);
}

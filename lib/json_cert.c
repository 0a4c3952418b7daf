/*
 * lib/json_cert.c - the certificates document (sm_json_certs()): each certificate's names,
 * SAN, SID, EKU, key usage, the altSecurityIdentities strings a DC builds, and findings.
 * What the documents share is in lib/json.c (lib/json_internal.h).
 */

#include <strongmap/json.h>

#include "json_internal.h"
#include "util.h"

/* ---- certificates ---------------------------------------------------------------------- */

static void name_json(struct su_jsonw *w, const struct sm_name *n)
{
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "rfc4514", n->rfc4514);
    su_jsonw_kstr(w, "ad", n->ad);
    su_jsonw_kstr(w, "samba", n->samba);
    su_jsonw_kint(w, "rdns", (int64_t)n->n_rdns);
    su_jsonw_kbool(w, "multi_valued", n->multi_valued);
    su_jsonw_key(w, "attributes");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < n->n_attrs; i++) {
        const struct sm_name_attr *at = &n->attrs[i];
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "oid", at->oid);
        su_jsonw_kstr(w, "key", at->rfc_key);
        su_jsonw_kstr(w, "ad_key", at->ad_key);
        su_jsonw_kstr(w, "value", at->value);
        su_jsonw_kint(w, "asn1_tag", at->asn1_tag);
        if (at->lossy)
            su_jsonw_kbool(w, "lossy", true);
        if (at->next_same_rdn)
            su_jsonw_kbool(w, "same_rdn_as_next", true);
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
    su_jsonw_object_end(w);
}

/* A SID carrier; @value is its SID's text when valid (else NULL). */
static void carrier_json(struct su_jsonw *w, const struct sm_sid_carrier *c, const char *value,
                         bool ext)
{
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "status", sm_sid_status_name(c->status));
    su_jsonw_kstr(w, "value", value);
    if (c->status != SM_SID_ABSENT)
        su_jsonw_kstr(w, "text", c->text);
    if (c->reason)
        su_jsonw_kstr(w, "reason", c->reason);
    if (ext && c->status != SM_SID_ABSENT)
        su_jsonw_kbool(w, "critical", c->critical);
    if (c->status != SM_SID_ABSENT)
        su_jsonw_kint(w, "count", c->count);
    su_jsonw_object_end(w);
}

static void sid_json(struct su_jsonw *w, const struct sm_cert *c)
{
    const struct sm_cert_sid *s = &c->sid;
    static const char *const sources[] = { NULL, "extension", "san_uri" };
    const struct sm_sid_carrier *e = &s->extension, *u = &s->uri;
    char et[SM_SID_TEXT_MAX], ut[SM_SID_TEXT_MAX];
    /* each carrier's SID text, formatted once */
    const char *ev = e->status == SM_SID_VALID ? sm_sid_format(&e->sid, et, sizeof(et)) : NULL;
    const char *uv = u->status == SM_SID_VALID ? sm_sid_format(&u->sid, ut, sizeof(ut)) : NULL;
    su_jsonw_key(w, "sid");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "value",
                  s->source == SM_SID_SOURCE_EXTENSION ? ev
                  : s->source == SM_SID_SOURCE_SAN_URI ? uv
                                                       : NULL);
    su_jsonw_kstr(w, "source", sources[s->source]);
    su_jsonw_kstr(w, "status", sm_sid_status_name(s->status));
    su_jsonw_kbool(w, "conflict", s->conflict);
    /* What each DC family reads (docs/mapping-rules.md 2.5 and 3). */
    su_jsonw_key(w, "used_by");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "windows_2019_plus", sources[s->source]);
    su_jsonw_kstr(w, "windows_2016", e->status != SM_SID_ABSENT ? "extension" : NULL);
    su_jsonw_kstr(w, "samba", e->status == SM_SID_VALID ? "extension" : NULL);
    su_jsonw_object_end(w);
    su_jsonw_key(w, "extension");
    carrier_json(w, e, ev, true);
    su_jsonw_key(w, "san_uri");
    carrier_json(w, u, uv, false);
    su_jsonw_object_end(w);
}

static void san_json(struct su_jsonw *w, const struct sm_cert *c)
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
    su_jsonw_key(w, "san");
    su_jsonw_object_begin(w);
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
        su_jsonw_array_begin(w);
        for (size_t i = 0; i < c->n_san; i++) {
            const struct sm_san *s = &c->san[i];
            if (s->type != keys[k].t)
                continue;
            if (s->type == SM_SAN_OTHER) {
                su_jsonw_object_begin(w);
                su_jsonw_kstr(w, "oid", s->oid);
                su_jsonw_kstr(w, "value", s->value);
                su_jsonw_object_end(w);
            } else {
                su_jsonw_string(w, s->value);
            }
        }
        su_jsonw_array_end(w);
    }
    su_jsonw_object_end(w);
}

static void eku_json(struct su_jsonw *w, const struct sm_cert *c)
{
    su_jsonw_key(w, "eku");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < c->n_eku; i++) {
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "oid", c->eku[i]);
        su_jsonw_kstr(w, "name", sm_oid_name(c->eku[i]));
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
}

static void key_usage_json(struct su_jsonw *w, const struct sm_cert *c)
{
    static const char *const bits[] = { "digitalSignature", "nonRepudiation", "keyEncipherment",
                                        "dataEncipherment", "keyAgreement",   "keyCertSign",
                                        "cRLSign",          "encipherOnly",   "decipherOnly" };
    su_jsonw_key(w, "key_usage");
    if (!c->has_key_usage) {
        su_jsonw_null(w);
        return;
    }
    su_jsonw_array_begin(w);
    for (unsigned i = 0; i < ARRAY_SIZE(bits); i++) {
        /* bit i of the BIT STRING: byte i/8, mask 0x80 >> (i%8); stored little-endian by byte */
        unsigned mask = (0x80u >> (i % 8)) << (8 * (i / 8));
        if (c->key_usage & mask)
            su_jsonw_string(w, bits[i]);
    }
    su_jsonw_array_end(w);
}

/*
 * "mappings": one member per type, in enum order, the last mapping of the type or null; then
 * "X509RFC822", an array of them all. (The Jansson renderer set the null members first and
 * replaced them in place, so a later mapping of a type won.) Then "mapping_details".
 */
static void mappings_json(struct su_jsonw *w, const struct sm_cert *c)
{
    su_jsonw_key(w, "mappings");
    su_jsonw_object_begin(w);
    for (int t = 0; t < SM_MAP__COUNT; t++) {
        if (t == SM_MAP_RFC822)
            continue;
        const char *value = NULL;
        for (size_t i = 0; i < c->n_mappings; i++)
            if ((int)c->mappings[i].type == t)
                value = c->mappings[i].value;
        dyn_key(w, sm_map_type_name(t));
        su_jsonw_string(w, value);
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
        su_jsonw_string(w, unknown_value);
    }
    su_jsonw_key(w, "X509RFC822");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < c->n_mappings; i++)
        if (c->mappings[i].type == SM_MAP_RFC822)
            su_jsonw_string(w, c->mappings[i].value);
    su_jsonw_array_end(w);
    su_jsonw_object_end(w);

    su_jsonw_key(w, "mapping_details");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < c->n_mappings; i++) {
        const struct sm_mapping *m = &c->mappings[i];
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "type", sm_map_type_name(m->type));
        su_jsonw_kstr(w, "value", m->value);
        su_jsonw_kstr(w, "strength", sm_map_type_strong(m->type) ? "strong" : "weak");
        su_jsonw_kbool(w, "samba_supported", m->samba_supported);
        if (m->samba_supported)
            su_jsonw_kstr(w, "samba_value", m->samba ? m->samba : m->value);
        else
            su_jsonw_knull(w, "samba_value");
        if (m->type == SM_MAP_ISSUER_SID)
            su_jsonw_kstr(w, "note",
                          "Honoured by Windows Server 2022 and later DCs with the September "
                          "2025 update; not by Samba.");
        if (m->type == SM_MAP_SHA1_PUKEY)
            su_jsonw_kstr(w, "note",
                          "The SHA-1 thumbprint of the whole certificate, which is what DCs "
                          "compare despite the name (docs/mapping-rules.md 6.1).");
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
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
static void int_or_null(struct su_jsonw *w, int64_t v)
{
    if (v >= 0)
        su_jsonw_int(w, v);
    else
        su_jsonw_null(w);
}

void cert_json(struct su_jsonw *w, const struct sm_cert *c)
{
    su_jsonw_object_begin(w);
    su_jsonw_kint(w, "index", c->index);
    su_jsonw_kstr(w, "subject", c->subject.rfc4514);
    su_jsonw_kstr(w, "issuer", c->issuer.rfc4514);
    su_jsonw_kstr(w, "subject_ad", c->subject.ad);
    su_jsonw_kstr(w, "issuer_ad", c->issuer.ad);
    su_jsonw_kstr(w, "serial", c->serial);
    su_jsonw_kint(w, "version", c->version);
    su_jsonw_kstr(w, "not_before", c->not_before);
    su_jsonw_kstr(w, "not_after", c->not_after);
    su_jsonw_kstr(w, "validity", validity_status(c));
    su_jsonw_key(w, "key");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "type", c->key_type);
    su_jsonw_kint(w, "bits", c->key_bits);
    su_jsonw_kstr(w, "curve", c->key_curve);
    su_jsonw_object_end(w);
    su_jsonw_key(w, "signature_algorithm");
    su_jsonw_object_begin(w);
    su_jsonw_kstr(w, "oid", c->sig_alg_oid);
    su_jsonw_kstr(w, "name", c->sig_alg);
    su_jsonw_object_end(w);
    su_jsonw_kstr(w, "sha1", c->sha1);
    su_jsonw_kstr(w, "sha256", c->sha256);
    su_jsonw_kstr(w, "spki_sha1", c->spki_sha1);
    su_jsonw_kstr(w, "public_key_sha1", c->spk_sha1);
    su_jsonw_kstr(w, "ski", c->ski);
    su_jsonw_kstr(w, "aki", c->aki);
    san_json(w, c);
    sid_json(w, c);
    eku_json(w, c);
    su_jsonw_kbool(w, "eku_present", c->has_eku);
    key_usage_json(w, c);
    su_jsonw_key(w, "basic_constraints");
    if (c->has_basic_constraints) {
        su_jsonw_object_begin(w);
        su_jsonw_kbool(w, "ca", c->is_ca);
        su_jsonw_key(w, "path_len");
        int_or_null(w, c->path_len);
        su_jsonw_object_end(w);
    } else {
        su_jsonw_null(w);
    }
    su_jsonw_key(w, "template");
    if (c->has_template) {
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "oid", c->tmpl.oid);
        su_jsonw_key(w, "major_version");
        int_or_null(w, c->tmpl.major);
        su_jsonw_key(w, "minor_version");
        int_or_null(w, c->tmpl.minor);
        su_jsonw_kstr(w, "name", c->tmpl.name);
        su_jsonw_object_end(w);
    } else {
        su_jsonw_null(w);
    }
    su_jsonw_key(w, "crl_urls");
    str_array(w, c->crl_urls, c->n_crl_urls);
    su_jsonw_key(w, "aia");
    su_jsonw_object_begin(w);
    su_jsonw_key(w, "ca_issuers");
    str_array(w, c->aia_issuers, c->n_aia_issuers);
    su_jsonw_key(w, "ocsp");
    str_array(w, c->aia_ocsp, c->n_aia_ocsp);
    su_jsonw_object_end(w);
    su_jsonw_key(w, "extensions");
    su_jsonw_array_begin(w);
    for (size_t i = 0; i < c->n_exts; i++) {
        su_jsonw_object_begin(w);
        su_jsonw_kstr(w, "oid", c->exts[i].oid);
        su_jsonw_kstr(w, "name", c->exts[i].name);
        su_jsonw_kbool(w, "critical", c->exts[i].critical);
        su_jsonw_object_end(w);
    }
    su_jsonw_array_end(w);
    mappings_json(w, c);
    findings_json(w, &c->findings);
    su_jsonw_key(w, "names");
    su_jsonw_object_begin(w);
    su_jsonw_key(w, "subject");
    name_json(w, &c->subject);
    su_jsonw_key(w, "issuer");
    name_json(w, &c->issuer);
    su_jsonw_object_end(w);
    su_jsonw_kstr(w, "parsed_by", c->full_parse ? "mbedtls" : "field_walk");
    if (c->parse_note)
        su_jsonw_kstr(w, "parse_note", c->parse_note);
    su_jsonw_kint(w, "der_length", (int64_t)c->der_len);
    su_jsonw_object_end(w);
}

int sm_json_certs(const struct sm_certs *certs, unsigned flags, char **ret_json)
{
    struct su_jsonw w;
    start(&w, flags);
    su_jsonw_object_begin(&w);
    su_jsonw_key(&w, "certificates");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < certs->n_certs; i++)
        cert_json(&w, &certs->certs[i]);
    su_jsonw_array_end(&w);
    su_jsonw_key(&w, "errors");
    su_jsonw_array_begin(&w);
    for (size_t i = 0; i < certs->n_errors; i++) {
        const struct sm_input_error *e = &certs->errors[i];
        su_jsonw_object_begin(&w);
        su_jsonw_kint(&w, "index", e->index);
        su_jsonw_key(&w, "offset");
        int_or_null(&w, e->offset);
        su_jsonw_kstr(&w, "code", e->code == SM_E_FORMAT ? "bad_encoding" : "bad_certificate");
        su_jsonw_kstr(&w, "message", e->message);
        su_jsonw_object_end(&w);
    }
    su_jsonw_array_end(&w);
    su_jsonw_kstr(&w, "format", certs->format);
    su_jsonw_object_end(&w);
    return finish(&w, ret_json);
}

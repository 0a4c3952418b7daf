/*
 * lib/json_cert.c - the certificates document (sm_json_certs()): each certificate's names,
 * SAN, SID, EKU, key usage, the altSecurityIdentities strings a DC builds, and findings.
 * What the documents share is in lib/json.c (lib/json_internal.h).
 */

#include <strongmap/json.h>

#include "json_internal.h"
#include "util.h"

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

void cert_json(struct jsonw *w, const struct sm_cert *c)
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

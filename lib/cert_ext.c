/*
 * lib/cert_ext.c - the certificate's extensions, decoded with mbedTLS's ASN.1 readers:
 * subjectAltName and the SID (extension and SAN URI), EKU, keyUsage, basicConstraints, SKI, AKI,
 * CRL distribution points, AIA and the certificate template extensions.
 */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>

#include "cert_internal.h"
#include "names.h"

/* Text from an IA5String-ish value, sanitised; sets *lossy for non-ASCII or invalid bytes. */
static const char *ia5_text(struct arena *a, const uint8_t *p, size_t len, bool *lossy)
{
    struct su_buf b;
    arena_buf_init(&b, a);
    bool bad = false;
    for (size_t i = 0; i < len; i++)
        if (p[i] >= 0x80 || p[i] == 0)
            bad = true;
    if (bad)
        utf8_sanitize(&b, (const char *)p, len);
    else
        su_buf_put(&b, (const char *)p, len);
    if (lossy)
        *lossy = bad;
    return su_buf_str(&b);
}

/* A GeneralName directoryName ([4] EXPLICIT Name) as RFC 4514, or NULL (out of memory: also
   x->err). */
static const char *dirname_text(struct ctx *x, const uint8_t *p, size_t len)
{
    struct sm_name name;
    memset(&name, 0, sizeof(name));
    int r = convert_name(x, p, len, &name);
    if (r == -ENOMEM)
        x->err = r;
    return r == 0 ? name.rfc4514 : NULL;
}

/* ---- SAN and the SID ------------------------------------------------------------------- */

void sid_from_text(struct ctx *x, struct sm_sid_carrier *car, const uint8_t *p, size_t len)
{
    bool lossy;
    car->text = ia5_text(x->a, p, len, &lossy);
    CHECK_ALLOC(x, car->text);
    if (len == 0) {
        car->status = SM_SID_MALFORMED;
        car->reason = "the SID text is empty";
        return;
    }
    if (lossy) {
        car->status = SM_SID_MALFORMED;
        car->reason = "the SID text has bytes that are not printable ASCII";
        return;
    }
    struct sm_errinfo e;
    bool canonical;
    if (sm_sid_parse((const char *)p, len, &car->sid, &canonical, &e) < 0) {
        car->status = SM_SID_MALFORMED;
        car->reason = arena_printf(x->a, "not a SID: %s", e.text);
        CHECK_ALLOC(x, car->reason);
        return;
    }
    car->status = SM_SID_VALID;
    car->canonical = canonical;
}

static bool prefix_caseeq(const uint8_t *p, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && ascii_caseeq((const char *)p, n, prefix, n);
}

static int walk_san(struct ctx *x, const uint8_t *val, size_t vlen)
{
    struct der in = der_at(val, vlen), names;
    size_t len;
    if (der_seq(&in, &names) != 0 || in.p != in.end) {
        add_finding(x, "san_malformed", SM_SEV_ERROR, NULL,
                    "The subjectAltName extension is not a valid GeneralNames SEQUENCE.");
        return 0;
    }
    unsigned char *p = names.p, *end = names.end;
    /* count first, so the array is exact and the limit is checked before any work */
    size_t count = 0;
    for (unsigned char *q = p; q < end; count++) {
        q++;
        if (mbedtls_asn1_get_len(&q, end, &len) != 0) {
            add_finding(x, "san_malformed", SM_SEV_ERROR, NULL,
                        "The subjectAltName extension has a truncated entry.");
            return 0;
        }
        q += len;
    }
    if (count > SM_MAX_SAN)
        return SM_E_TOO_MANY;
    struct sm_san *san = arena_alloc(x->a, (count ? count : 1) * sizeof(*san));
    if (!san)
        return -ENOMEM;
    struct sm_cert *c = x->c;
    size_t i = 0;
    while (p < end) {
        int tag = *p++;
        if (mbedtls_asn1_get_len(&p, end, &len) != 0)
            break;
        unsigned char *v = p, *vend = p + len;
        p = vend;
        struct sm_san *s = &san[i];
        int kind = tag & 0x1f;
        if ((tag & 0xc0) != MBEDTLS_ASN1_CONTEXT_SPECIFIC || kind > 8) {
            add_finding(x, "san_malformed", SM_SEV_ERROR, NULL,
                        "The subjectAltName extension has an entry with tag 0x%02X.", tag);
            continue;
        }
        s->type = (enum sm_san_type)kind;
        switch (kind) {
        case SM_SAN_OTHER: {
            size_t l;
            mbedtls_x509_buf oid = { 0 };
            if (mbedtls_asn1_get_tag(&v, vend, &l, MBEDTLS_ASN1_OID) != 0) {
                s->value = arena_hex(x->a, v, (size_t)(vend - v));
                break;
            }
            oid.p = v;
            oid.len = l;
            v += l;
            s->oid = oid_dotted(x->a, &oid);
            CHECK_ALLOC(x, s->oid);
            unsigned char *inner = v;
            if (OID_IS(&oid, OID_UPN) && mbedtls_asn1_get_tag(&inner, vend, &l, TAG_CTX0) == 0 &&
                inner + l == vend) {
                int st = *inner;
                unsigned char *q = inner;
                size_t sl;
                if (mbedtls_asn1_get_tag(&q, vend, &sl, (unsigned char)st) == 0 && q + sl == vend) {
                    struct su_buf b;
                    arena_buf_init(&b, x->a);
                    bool lossy = false;
                    if (asn1_string_to_utf8(&b, st, q, sl, &lossy) == 1) {
                        s->type = SM_SAN_UPN;
                        s->value = su_buf_str(&b);
                        s->lossy = lossy;
                        if (st != MBEDTLS_ASN1_UTF8_STRING)
                            add_finding(x, "upn_not_utf8string", SM_SEV_WARNING, NULL,
                                        "The UPN otherName is encoded with ASN.1 tag %d, not "
                                        "UTF8String; a domain controller may not read it.",
                                        st);
                        break;
                    }
                }
            }
            /* any other otherName: the DER of the [0] value, hex */
            s->value = arena_hex(x->a, v, (size_t)(vend - v));
            break;
        }
        case SM_SAN_EMAIL:
        case SM_SAN_DNS:
        case SM_SAN_URI:
            s->value = ia5_text(x->a, v, len, &s->lossy);
            if (kind == SM_SAN_URI && prefix_caseeq(v, len, SM_SID_URI_PREFIX)) {
                size_t pl = strlen(SM_SID_URI_PREFIX);
                c->sid.uri.count++;
                if (c->sid.uri.count == 1)
                    sid_from_text(x, &c->sid.uri, v + pl, len - pl);
            }
            break;
        case SM_SAN_IP: {
            char buf[INET6_ADDRSTRLEN];
            if (len == 4 && inet_ntop(AF_INET, v, buf, sizeof(buf)))
                s->value = arena_strdup(x->a, buf);
            else if (len == 16 && inet_ntop(AF_INET6, v, buf, sizeof(buf)))
                s->value = arena_strdup(x->a, buf);
            else
                s->value = arena_hex(x->a, v, len);
            break;
        }
        case SM_SAN_DIRNAME:
            s->value = dirname_text(x, v, len);
            if (!s->value)
                s->value = arena_hex(x->a, v, len);
            break;
        case SM_SAN_RID: {
            mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = v };
            s->value = oid_dotted(x->a, &oid);
            s->oid = s->value;
            break;
        }
        default: s->value = arena_hex(x->a, v, len); break;
        }
        CHECK_ALLOC(x, s->value);
        i++;
    }
    c->san = san;
    c->n_san = i;
    if (c->sid.uri.count > 1) {
        c->sid.uri.status = SM_SID_MALFORMED;
        c->sid.uri.reason = arena_printf(x->a, "the SAN holds %u SID URIs", c->sid.uri.count);
        CHECK_ALLOC(x, c->sid.uri.reason);
    }
    return 0;
}

/* szOID_NTDS_CA_SECURITY_EXT: exactly SEQUENCE { [0] { OID ...25.2.1, [0] { OCTET STRING } } }. */
static void parse_sid_extension(struct ctx *x, const uint8_t *val, size_t vlen, bool critical)
{
    struct sm_sid_carrier *car = &x->c->sid.extension;
    struct der in = der_at(val, vlen), names;
    size_t len;
    unsigned found = 0;
    const uint8_t *text = NULL;
    size_t text_len = 0;

    car->critical = critical;
    car->status = SM_SID_MALFORMED;
    if (der_seq(&in, &names) != 0) {
        car->reason = "the extension value is not a SEQUENCE of GeneralName";
        return;
    }
    if (in.p != in.end) {
        car->reason = "the extension value has bytes after the SEQUENCE";
        return;
    }
    if (names.p == names.end) {
        car->reason = "the extension is empty (no SID otherName)";
        return;
    }
    unsigned char *p = names.p, *end = names.end;
    while (p < end) {
        unsigned char *q = p, *gend;
        if (mbedtls_asn1_get_tag(&q, end, &len, TAG_CTX0) != 0) {
            car->reason = arena_printf(x->a,
                                       "the extension holds a GeneralName with tag 0x%02X, "
                                       "not an otherName",
                                       *p);
            CHECK_ALLOC(x, car->reason);
            return;
        }
        gend = q + len;
        p = gend;
        if (mbedtls_asn1_get_tag(&q, gend, &len, MBEDTLS_ASN1_OID) != 0) {
            car->reason = "the otherName has no type-id OID";
            return;
        }
        mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = q };
        q += len;
        if (!OID_IS(&oid, OID_SID_ON)) {
            const char *dotted = oid_dotted(x->a, &oid);
            car->reason = dotted ? arena_printf(x->a, "the otherName type-id is %s, not %s", dotted,
                                                SM_OID_SID_OTHERNAME)
                                 : NULL;
            CHECK_ALLOC(x, car->reason);
            return;
        }
        if (mbedtls_asn1_get_tag(&q, gend, &len, TAG_CTX0) != 0 || q + len != gend) {
            car->reason = "the otherName value is not an [0] EXPLICIT element";
            return;
        }
        int inner = q < gend ? *q : -1;
        if (mbedtls_asn1_get_tag(&q, gend, &len, MBEDTLS_ASN1_OCTET_STRING) != 0) {
            car->reason = arena_printf(x->a,
                                       "the SID value has ASN.1 tag 0x%02X, not an OCTET "
                                       "STRING (0x04)",
                                       inner & 0xff);
            CHECK_ALLOC(x, car->reason);
            return;
        }
        if (q + len != gend) {
            car->reason = "the SID value has bytes after the OCTET STRING";
            return;
        }
        found++;
        text = q;
        text_len = len;
    }
    car->count = found;
    if (found > 1) {
        car->reason = arena_printf(x->a, "the extension holds %u SID otherNames", found);
        CHECK_ALLOC(x, car->reason);
        return;
    }
    sid_from_text(x, car, text, text_len);
}

/* ---- other extensions ------------------------------------------------------------------ */

static void parse_eku(struct ctx *x, const uint8_t *val, size_t vlen)
{
    struct der in = der_at(val, vlen), seq;
    size_t len;
    x->c->has_eku = true;
    if (der_seq(&in, &seq) != 0)
        goto bad;
    while (seq.p < seq.end) {
        if (mbedtls_asn1_get_tag(&seq.p, seq.end, &len, MBEDTLS_ASN1_OID) != 0)
            goto bad;
        mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = seq.p };
        seq.p += len;
        if (x->n_eku < SM_MAX_LIST) {
            x->eku[x->n_eku] = oid_dotted(x->a, &oid);
            CHECK_ALLOC(x, x->eku[x->n_eku]);
            x->n_eku++;
        }
    }
    return;
bad:
    add_finding(x, "eku_malformed", SM_SEV_ERROR, NULL,
                "The extendedKeyUsage extension is malformed.");
}

static void parse_ku(struct ctx *x, const uint8_t *val, size_t vlen)
{
    struct der in = der_at(val, vlen);
    mbedtls_asn1_bitstring bs;
    if (mbedtls_asn1_get_bitstring(&in.p, in.end, &bs) != 0) {
        add_finding(x, "key_usage_malformed", SM_SEV_ERROR, NULL,
                    "The keyUsage extension is malformed.");
        return;
    }
    unsigned ku = 0;
    for (size_t i = 0; i < bs.len && i < 2; i++)
        ku |= (unsigned)bs.p[i] << (8 * i);
    x->c->has_key_usage = true;
    x->c->key_usage = ku;
}

static void parse_bc(struct ctx *x, const uint8_t *val, size_t vlen)
{
    struct der in = der_at(val, vlen), seq;
    int ca = 0, pl = -1;
    x->c->has_basic_constraints = true;
    if (der_seq(&in, &seq) != 0)
        goto bad;
    if (seq.p < seq.end && *seq.p == MBEDTLS_ASN1_BOOLEAN &&
        mbedtls_asn1_get_bool(&seq.p, seq.end, &ca) != 0)
        goto bad;
    if (seq.p < seq.end && mbedtls_asn1_get_int(&seq.p, seq.end, &pl) != 0)
        goto bad;
    x->c->is_ca = ca != 0;
    x->c->path_len = pl;
    return;
bad:
    add_finding(x, "basic_constraints_malformed", SM_SEV_ERROR, NULL,
                "The basicConstraints extension is malformed.");
}

static void parse_ski(struct ctx *x, const uint8_t *val, size_t vlen)
{
    struct der in = der_at(val, vlen);
    size_t len;
    if (mbedtls_asn1_get_tag(&in.p, in.end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0 ||
        in.p + len != in.end || len == 0) {
        add_finding(x, "ski_malformed", SM_SEV_ERROR, NULL,
                    "The subjectKeyIdentifier extension is not an OCTET STRING.");
        return;
    }
    x->c->ski = arena_hex(x->a, in.p, len);
    CHECK_ALLOC(x, x->c->ski);
}

static void parse_aki(struct ctx *x, const uint8_t *val, size_t vlen)
{
    struct der in = der_at(val, vlen), seq;
    size_t len;
    if (der_seq(&in, &seq) != 0)
        return;
    if (mbedtls_asn1_get_tag(&seq.p, seq.end, &len, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0) == 0) {
        x->c->aki = arena_hex(x->a, seq.p, len);
        CHECK_ALLOC(x, x->c->aki);
    }
}

/* URIs out of a GeneralNames SEQUENCE's contents. */
static void collect_uris(struct ctx *x, unsigned char *p, const unsigned char *end,
                         const char **list, size_t *n)
{
    while (p < end) {
        int tag = *p++;
        size_t len;
        if (mbedtls_asn1_get_len(&p, end, &len) != 0)
            return;
        if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 6) && *n < SM_MAX_LIST) {
            list[*n] = ia5_text(x->a, p, len, NULL);
            CHECK_ALLOC(x, list[*n]);
            (*n)++;
        }
        p += len;
    }
}

static void parse_crldp(struct ctx *x, const uint8_t *val, size_t vlen)
{
    struct der in = der_at(val, vlen), points, dp;
    size_t len;
    if (der_seq(&in, &points) != 0)
        return;
    while (points.p < points.end) {
        if (der_seq(&points, &dp) != 0)
            return;
        /* distributionPoint [0] { fullName [0] GeneralNames } */
        if (mbedtls_asn1_get_tag(&dp.p, dp.end, &len, TAG_CTX0) != 0)
            continue;
        unsigned char *dpn_end = dp.p + len;
        if (mbedtls_asn1_get_tag(&dp.p, dpn_end, &len, TAG_CTX0) != 0)
            continue;
        collect_uris(x, dp.p, dp.p + len, x->crl, &x->n_crl);
    }
}

static void parse_aia(struct ctx *x, const uint8_t *val, size_t vlen)
{
    struct der in = der_at(val, vlen), descs, ad;
    size_t len;
    if (der_seq(&in, &descs) != 0)
        return;
    while (descs.p < descs.end) {
        if (der_seq(&descs, &ad) != 0)
            return;
        if (mbedtls_asn1_get_tag(&ad.p, ad.end, &len, MBEDTLS_ASN1_OID) != 0)
            continue;
        mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = ad.p };
        ad.p += len;
        if (OID_IS(&oid, OID_AD_CAISS))
            collect_uris(x, ad.p, ad.end, x->aia_i, &x->n_aia_i);
        else if (OID_IS(&oid, OID_AD_OCSP))
            collect_uris(x, ad.p, ad.end, x->aia_o, &x->n_aia_o);
    }
}

static void parse_template_v2(struct ctx *x, const uint8_t *val, size_t vlen)
{
    struct der in = der_at(val, vlen), seq;
    size_t len;
    struct sm_template *t = &x->c->tmpl;
    x->c->has_template = true;
    if (der_seq(&in, &seq) != 0)
        return;
    if (mbedtls_asn1_get_tag(&seq.p, seq.end, &len, MBEDTLS_ASN1_OID) != 0)
        return;
    mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = seq.p };
    seq.p += len;
    t->oid = oid_dotted(x->a, &oid);
    CHECK_ALLOC(x, t->oid);
    int v;
    if (seq.p < seq.end && mbedtls_asn1_get_int(&seq.p, seq.end, &v) == 0)
        t->major = v;
    if (seq.p < seq.end && mbedtls_asn1_get_int(&seq.p, seq.end, &v) == 0)
        t->minor = v;
}

static void parse_template_name(struct ctx *x, const uint8_t *val, size_t vlen)
{
    if (vlen < 2)
        return;
    struct der in = der_at(val, vlen);
    int tag = *in.p;
    size_t len;
    if (mbedtls_asn1_get_tag(&in.p, in.end, &len, (unsigned char)tag) != 0)
        return;
    struct su_buf b;
    arena_buf_init(&b, x->a);
    bool lossy;
    if (asn1_string_to_utf8(&b, tag, in.p, len, &lossy) == 1) {
        x->c->has_template = true;
        x->c->tmpl.name = su_buf_str(&b);
        CHECK_ALLOC(x, x->c->tmpl.name);
    }
}

/* Walk the Extensions SEQUENCE: mbedTLS 2.28 leaves SKI, AKI, CRLDP, AIA, the SID undecoded. */
int walk_extensions(struct ctx *x, const mbedtls_x509_buf *v3)
{
    struct sm_cert *c = x->c;
    if (!v3->p || v3->len == 0)
        return 0;
    struct der in = der_at(v3->p, v3->len), list, ext;
    size_t len;
    if (der_seq(&in, &list) != 0)
        return SM_E_CERT;
    struct sm_ext *exts = arena_alloc(x->a, SM_MAX_EXTENSIONS * sizeof(*exts));
    if (!exts)
        return -ENOMEM;
    size_t n = 0;
    bool seen_san = false;
    while (list.p < list.end) {
        int crit = 0;
        if (der_seq(&list, &ext) != 0)
            return SM_E_CERT;
        if (mbedtls_asn1_get_tag(&ext.p, ext.end, &len, MBEDTLS_ASN1_OID) != 0)
            return SM_E_CERT;
        mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = ext.p };
        ext.p += len;
        int r = mbedtls_asn1_get_bool(&ext.p, ext.end, &crit);
        if (r != 0 && r != MBEDTLS_ERR_ASN1_UNEXPECTED_TAG)
            return SM_E_CERT;
        if (mbedtls_asn1_get_tag(&ext.p, ext.end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0)
            return SM_E_CERT;
        const uint8_t *val = ext.p;
        size_t vlen = len;
        if (n >= SM_MAX_EXTENSIONS)
            return SM_E_TOO_MANY;
        struct sm_ext *e = &exts[n++];
        e->oid = oid_dotted_name(x->a, &oid, &e->name);
        CHECK_ALLOC(x, e->oid);
        if (!e->oid)
            return -ENOMEM;
        e->critical = crit != 0;
        e->understood = true;
        for (size_t k = 0; k + 1 < n; k++)
            if (strcmp(exts[k].oid, e->oid) == 0)
                add_finding(x, "duplicate_extension", SM_SEV_ERROR, NULL,
                            "Extension %s appears more than once; RFC 5280 forbids it and "
                            "Windows rejects such a certificate.",
                            e->oid);
        if (OID_IS(&oid, OID_SAN)) {
            if (seen_san)
                continue;
            seen_san = true;
            r = walk_san(x, val, vlen);
            if (r < 0)
                return r;
        } else if (OID_IS(&oid, OID_SID_EXT)) {
            if (c->sid.extension.count == 0 && c->sid.extension.status == SM_SID_ABSENT)
                parse_sid_extension(x, val, vlen, e->critical);
        } else if (OID_IS(&oid, OID_EKU)) {
            parse_eku(x, val, vlen);
        } else if (OID_IS(&oid, OID_KU)) {
            parse_ku(x, val, vlen);
        } else if (OID_IS(&oid, OID_BC)) {
            parse_bc(x, val, vlen);
        } else if (OID_IS(&oid, OID_SKI)) {
            parse_ski(x, val, vlen);
        } else if (OID_IS(&oid, OID_AKI)) {
            parse_aki(x, val, vlen);
        } else if (OID_IS(&oid, OID_CRLDP)) {
            parse_crldp(x, val, vlen);
        } else if (OID_IS(&oid, OID_AIA)) {
            parse_aia(x, val, vlen);
        } else if (OID_IS(&oid, OID_TMPL_V2)) {
            parse_template_v2(x, val, vlen);
        } else if (OID_IS(&oid, OID_TMPL_NAME)) {
            parse_template_name(x, val, vlen);
        } else {
            e->understood = false;
        }
        if (e->critical && !windows_knows_critical(e->oid))
            add_finding(x, "unknown_critical_extension", SM_SEV_ERROR, NULL,
                        "Critical extension %s is unknown to Windows: chain building fails "
                        "(CERT_TRUST_HAS_NOT_SUPPORTED_CRITICAL_EXT) and the DC rejects the "
                        "certificate.",
                        e->oid);
    }
    c->exts = exts;
    c->n_exts = n;
    return 0;
}

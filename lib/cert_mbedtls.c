/*
 * lib/cert_mbedtls.c - one certificate's analysis: the wrapper around mbedTLS's parser.
 *
 * Each certificate (framed by lib/cert_input.c) is parsed with
 * mbedtls_x509_crt_parse_der_with_ext_cb() (which accepts unknown critical extensions through
 * the callback), and every fact is then read from the same raw pieces: serial, Names, validity,
 * SubjectPublicKeyInfo and the Extensions SEQUENCE. When mbedTLS refuses a certificate whole
 * (Ed25519 or RSA-PSS keys, unsupported signature algorithms), the TBSCertificate is walked with
 * mbedTLS's own field parsers instead, so those certificates still get every fact.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <mbedtls/error.h>
#include <mbedtls/x509_crt.h>

#include <strongmap/cert.h>

#include "alloc.h"
#include "cert_internal.h"
#include "su_hash.h"
#include "names.h"
#include "util.h"

/* The pieces of a certificate every fact is read from, whichever parser produced them. */
struct view {
    const uint8_t *raw;
    size_t raw_len;
    int version;
    mbedtls_x509_buf serial;
    mbedtls_x509_buf issuer_raw, subject_raw; /* whole Name TLVs */
    mbedtls_x509_time valid_from, valid_to;
    mbedtls_x509_buf spki;   /* whole SubjectPublicKeyInfo TLV */
    mbedtls_x509_buf v3_ext; /* Extensions SEQUENCE TLV, p == NULL when absent */
    mbedtls_x509_buf sig_oid;
};

/* ---- names --------------------------------------------------------------------------- */

/*
 * Walk a Name (its whole SEQUENCE TLV): SEQUENCE OF SET OF AttributeTypeAndValue. Any value
 * type is accepted (mbedTLS's own name parser refuses NumericString, VisibleString and
 * non-string values, which openssl and Windows read); @attrs holds SM_MAX_NAME_ATTRS.
 * Returns the number of attributes, or SM_E_CERT / SM_E_TOO_MANY / -ENOMEM.
 */
static int walk_name(struct ctx *x, const uint8_t *der, size_t len, struct sm_name_attr *attrs)
{
    struct der in = der_at(der, len), name, set, atv;
    size_t l, n = 0;
    if (der_seq(&in, &name) != 0 || in.p != in.end)
        return SM_E_CERT;
    while (name.p < name.end) {
        if (mbedtls_asn1_get_tag(&name.p, name.end, &l,
                                 MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET) != 0 ||
            l == 0)
            return SM_E_CERT;
        set = (struct der){ name.p, name.p + l };
        name.p = set.end;
        while (set.p < set.end) {
            if (der_seq(&set, &atv) != 0)
                return SM_E_CERT;
            if (mbedtls_asn1_get_tag(&atv.p, atv.end, &l, MBEDTLS_ASN1_OID) != 0)
                return SM_E_CERT;
            mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = l, .p = atv.p };
            atv.p += l;
            if (atv.p >= atv.end)
                return SM_E_CERT;
            int tag = *atv.p++;
            if (mbedtls_asn1_get_len(&atv.p, atv.end, &l) != 0 || atv.p + l != atv.end)
                return SM_E_CERT;
            if (n >= SM_MAX_NAME_ATTRS)
                return SM_E_TOO_MANY;
            const char *dotted;
            int r = oid_lookup(x->a, oid.p, oid.len, &dotted, NULL);
            if (r < 0)
                return r;
            memset(&attrs[n], 0, sizeof(attrs[n]));
            if ((r = name_attr_set(x->a, &attrs[n], dotted, tag, atv.p, l)) < 0)
                return r;
            attrs[n].next_same_rdn = set.p < set.end;
            n++;
        }
    }
    return (int)n;
}

int convert_name(struct ctx *x, const uint8_t *der, size_t len, struct sm_name *out)
{
    struct sm_name_attr tmp[SM_MAX_NAME_ATTRS]; /* one walk, then a right-sized copy */
    int n = walk_name(x, der, len, tmp);
    if (n < 0)
        return n;
    struct sm_name_attr *attrs = arena_alloc(x->a, (size_t)(n ? n : 1) * sizeof(*attrs));
    if (!attrs)
        return -ENOMEM;
    memcpy(attrs, tmp, (size_t)n * sizeof(*attrs));
    out->attrs = attrs;
    out->n_attrs = (size_t)n;
    return name_render(x->a, out);
}

/* ---- key and time ---------------------------------------------------------------------- */

static unsigned int_bits(const uint8_t *p, size_t len)
{
    while (len && *p == 0)
        p++, len--;
    if (!len)
        return 0;
    unsigned bits = (unsigned)(len - 1) * 8;
    for (uint8_t b = *p; b; b >>= 1)
        bits++;
    return bits;
}

/* Key algorithm, size and curve from the SubjectPublicKeyInfo; SHA-1 of the key bits. */
void analyse_spki(struct ctx *x, const mbedtls_x509_buf *spki)
{
    struct sm_cert *c = x->c;
    struct der in = der_at(spki->p, spki->len), seq;
    size_t len;
    mbedtls_x509_buf alg, params;
    mbedtls_asn1_bitstring bits;

    c->key_type = "unknown";
    if (der_seq(&in, &seq) != 0)
        return;
    if (mbedtls_asn1_get_alg(&seq.p, seq.end, &alg, &params) != 0)
        return;
    if (mbedtls_asn1_get_bitstring(&seq.p, seq.end, &bits) != 0)
        return;
    uint8_t h[SU_SHA1_LEN];
    su_sha1(bits.p, bits.len, h);
    su_hex_upper(h, 20, c->spk_sha1);

    if (OID_IS(&alg, OID_RSA) || OID_IS(&alg, OID_RSA_PSS)) {
        c->key_type = OID_IS(&alg, OID_RSA) ? "RSA" : "RSASSA-PSS";
        unsigned char *k = bits.p, *kend = bits.p + bits.len;
        if (mbedtls_asn1_get_tag(&k, kend, &len, TAG_SEQ) == 0 &&
            mbedtls_asn1_get_tag(&k, kend, &len, MBEDTLS_ASN1_INTEGER) == 0)
            c->key_bits = int_bits(k, len);
    } else if (OID_IS(&alg, OID_EC)) {
        c->key_type = "EC";
        if (params.tag == MBEDTLS_ASN1_OID) {
            const char *curve = oid_dotted(x->a, &params);
            CHECK_ALLOC(x, curve);
            const char *nm = curve ? sm_oid_name(curve) : NULL;
            c->key_curve = nm ? nm : curve;
            if (nm && strcmp(nm, "P-256") == 0)
                c->key_bits = 256;
            else if (nm && strcmp(nm, "P-384") == 0)
                c->key_bits = 384;
            else if (nm && strcmp(nm, "P-521") == 0)
                c->key_bits = 521;
            else if (bits.len > 1)
                c->key_bits = (unsigned)(bits.len - 1) / 2 * 8;
        }
    } else if (OID_IS(&alg, OID_ED25519)) {
        c->key_type = "Ed25519";
        c->key_bits = 256;
    } else if (OID_IS(&alg, OID_ED448)) {
        c->key_type = "Ed448";
        c->key_bits = 456;
    } else if (OID_IS(&alg, OID_DSA)) {
        c->key_type = "DSA";
    } else {
        c->key_type = oid_dotted(x->a, &alg);
        CHECK_ALLOC(x, c->key_type);
    }
}

static void set_time(struct ctx *x, const mbedtls_x509_time *t, const char **text, time_t *tt)
{
    /* mbedTLS (and walk_tbs through it) bounds every field: month 1-12, day 1-31 */
    *tt = (time_t)(su_days_from_civil(t->year, (unsigned)t->mon, (unsigned)t->day) * 86400 +
                   t->hour * 3600 + t->min * 60 + t->sec);
    /* RFC 3339, "%04d-%02d-%02dT%02d:%02d:%02dZ" without printf (mbedTLS bounds every field) */
    char *s = arena_alloc(x->a, sizeof("YYYY-MM-DDTHH:MM:SSZ"));
    CHECK_ALLOC(x, s);
    if (!s)
        return;
    const int v[6] = { t->year, t->mon, t->day, t->hour, t->min, t->sec };
    static const char sep[6] = { '-', '-', 'T', ':', ':', 'Z' };
    char *o = s;
    for (int i = 0; i < 6; i++) {
        unsigned u = v[i] < 0 ? 0 : (unsigned)v[i];
        if (i == 0) {
            *o++ = (char)('0' + u / 1000 % 10);
            *o++ = (char)('0' + u / 100 % 10);
        }
        *o++ = (char)('0' + u / 10 % 10);
        *o++ = (char)('0' + u % 10);
        *o++ = sep[i];
    }
    *o = '\0';
    *text = s;
}

/* ---- the fallback walk for certificates mbedTLS refuses whole -------------------------- */

/* Skip one TLV of the given tag, recording its span. */
static int skip_tlv(unsigned char **p, const unsigned char *end, int tag, mbedtls_x509_buf *span)
{
    size_t len;
    unsigned char *start = *p;
    if (mbedtls_asn1_get_tag(p, end, &len, tag) != 0)
        return -1;
    *p += len;
    if (span) {
        span->p = start;
        span->len = (size_t)(*p - start);
    }
    return 0;
}

static int walk_tbs(const uint8_t *der, size_t der_len, struct view *v)
{
    struct der in = der_at(der, der_len), cert, tbs;
    size_t len;
    mbedtls_x509_buf alg, params;

    if (der_seq(&in, &cert) != 0 || der_seq(&cert, &tbs) != 0)
        return -1;
    unsigned char *p = tbs.p, *tbs_end = tbs.end;
    v->version = 1;
    if (mbedtls_asn1_get_tag(&p, tbs_end, &len, TAG_CTX0) == 0) {
        int ver;
        if (mbedtls_asn1_get_int(&p, p + len, &ver) != 0)
            return -1;
        v->version = ver + 1;
    }
    if (mbedtls_x509_get_serial(&p, tbs_end, &v->serial) != 0)
        return -1;
    if (mbedtls_x509_get_alg(&p, tbs_end, &alg, &params) != 0)
        return -1;
    if (skip_tlv(&p, tbs_end, TAG_SEQ, &v->issuer_raw) != 0)
        return -1;
    if (mbedtls_asn1_get_tag(&p, tbs_end, &len, TAG_SEQ) != 0)
        return -1;
    unsigned char *vend = p + len;
    if (mbedtls_x509_get_time(&p, vend, &v->valid_from) != 0 ||
        mbedtls_x509_get_time(&p, vend, &v->valid_to) != 0)
        return -1;
    if (skip_tlv(&p, tbs_end, TAG_SEQ, &v->subject_raw) != 0)
        return -1;
    v->spki.p = p;
    if (mbedtls_asn1_get_tag(&p, tbs_end, &len, TAG_SEQ) != 0)
        return -1;
    p += len;
    v->spki.len = (size_t)(p - v->spki.p);
    /* issuerUniqueID [1], subjectUniqueID [2] */
    while (p < tbs_end && (*p == 0x81 || *p == 0xa1 || *p == 0x82 || *p == 0xa2)) {
        p++;
        if (mbedtls_asn1_get_len(&p, tbs_end, &len) != 0)
            return -1;
        p += len;
    }
    if (p < tbs_end && mbedtls_x509_get_ext(&p, tbs_end, &v->v3_ext, 3) != 0)
        return -1;
    if (mbedtls_x509_get_alg(&cert.p, cert.end, &v->sig_oid, &params) != 0)
        return -1;
    v->raw = der;
    v->raw_len = (size_t)(cert.end - der);
    return 0;
}

/* ---- one certificate ------------------------------------------------------------------- */

int cert_ext_cb(void *ctx, mbedtls_x509_crt const *crt, mbedtls_x509_buf const *oid, int critical,
                const unsigned char *p, const unsigned char *end)
{
    /* Every extension is decoded by walk_extensions(); accept what mbedTLS does not know. */
    (void)ctx, (void)crt, (void)oid, (void)critical, (void)p, (void)end;
    return 0;
}

/* After walk_extensions(): the lists into the arena, the SID a Windows 2019+ DC uses. */
void cert_collect(struct ctx *x)
{
    struct sm_cert *c = x->c;
    struct arena *a = x->a;

    c->eku = x->eku;
    c->n_eku = x->n_eku;
    c->crl_urls = x->crl;
    c->n_crl_urls = x->n_crl;
    c->aia_issuers = x->aia_i;
    c->n_aia_issuers = x->n_aia_i;
    c->aia_ocsp = x->aia_o;
    c->n_aia_ocsp = x->n_aia_o;
    /* the lists live in the ctx: move them into the arena */
    const char *const **lists[] = { &c->eku, &c->crl_urls, &c->aia_issuers, &c->aia_ocsp };
    size_t counts[] = { c->n_eku, c->n_crl_urls, c->n_aia_issuers, c->n_aia_ocsp };
    for (size_t i = 0; i < ARRAY_SIZE(lists); i++) {
        const char **copy = arena_alloc(a, (counts[i] ? counts[i] : 1) * sizeof(char *));
        CHECK_ALLOC(x, copy);
        if (copy && counts[i])
            memcpy(copy, *lists[i], counts[i] * sizeof(char *));
        *lists[i] = copy;
    }

    cert_sid_choose(c);
}

void cert_sid_choose(struct sm_cert *c)
{
    /* The SID a Windows 2019+ DC uses: the extension when present (even malformed). */
    struct sm_cert_sid *s = &c->sid;
    if (s->extension.status != SM_SID_ABSENT) {
        s->source = SM_SID_SOURCE_EXTENSION;
        s->status = s->extension.status;
    } else if (s->uri.status != SM_SID_ABSENT) {
        s->source = SM_SID_SOURCE_SAN_URI;
        s->status = s->uri.status;
    }
    s->conflict = s->extension.status == SM_SID_VALID && s->uri.status == SM_SID_VALID &&
                  !sm_sid_equal(&s->extension.sid, &s->uri.sid);
}

/*
 * Analyse the DER certificate @der (owned by the arena). Returns 0, or SM_E_CERT with the
 * reason in @e, or -ENOMEM / SM_E_TOO_MANY.
 */
int cert_analyse(struct arena *a, const uint8_t *der, size_t len, size_t trailing, time_t now,
                 struct sm_cert *c, struct sm_errinfo *e)
{
    struct ctx *x = mem_malloc(sizeof(*x));
    mbedtls_x509_crt crt;
    struct view v;
    int ret;

    if (!x)
        return -ENOMEM;
    memset(x, 0, offsetof(struct ctx, eku));
    x->a = a;
    x->c = c;
    x->now = now;
    memset(&v, 0, sizeof(v));
    mbedtls_x509_crt_init(&crt);
    c->path_len = -1;
    c->tmpl.major = c->tmpl.minor = -1;

    ret = mbedtls_x509_crt_parse_der_with_ext_cb(&crt, der, len, 0, cert_ext_cb, NULL);
    if (ret == 0) {
        c->full_parse = true;
        v.raw = crt.raw.p;
        v.raw_len = crt.raw.len;
        v.version = crt.version;
        v.serial = crt.serial;
        v.issuer_raw = crt.issuer_raw;
        v.subject_raw = crt.subject_raw;
        v.valid_from = crt.valid_from;
        v.valid_to = crt.valid_to;
        v.spki = crt.pk_raw;
        v.v3_ext = crt.v3_ext;
        v.sig_oid = crt.sig_oid;
    } else {
        char msg[160];
        mbedtls_strerror(ret, msg, sizeof(msg));
        if (walk_tbs(der, len, &v) != 0) {
            errinfo_set(e, -1, "not an X.509 certificate (%s)", msg);
            ret = SM_E_CERT;
            goto out;
        }
        c->parse_note = arena_printf(a, "mbedTLS: %s", msg);
        CHECK_ALLOC(x, c->parse_note);
    }

    c->der = v.raw;
    c->der_len = v.raw_len;
    c->version = v.version;
    c->serial = arena_hex(a, v.serial.p, v.serial.len);
    CHECK_ALLOC(x, c->serial);
    c->serial_negative = v.serial.len > 0 && (v.serial.p[0] & 0x80);
    c->serial_sign_byte = v.serial.len > 1 && v.serial.p[0] == 0 && (v.serial.p[1] & 0x80);
    if ((ret = convert_name(x, v.subject_raw.p, v.subject_raw.len, &c->subject)) < 0 ||
        (ret = convert_name(x, v.issuer_raw.p, v.issuer_raw.len, &c->issuer)) < 0) {
        if (ret == SM_E_TOO_MANY)
            errinfo_set(e, -1, "a name has more than %d attributes", SM_MAX_NAME_ATTRS);
        else if (ret == SM_E_CERT)
            errinfo_set(e, -1, "the subject or issuer Name is malformed");
        goto out;
    }
    set_time(x, &v.valid_from, &c->not_before, &c->not_before_t);
    set_time(x, &v.valid_to, &c->not_after, &c->not_after_t);

    uint8_t h[SU_SHA256_LEN];
    su_sha1(v.raw, v.raw_len, h);
    su_hex_upper(h, 20, c->sha1);
    su_sha256(v.raw, v.raw_len, h);
    su_hex_upper(h, 32, c->sha256);
    su_sha1(v.spki.p, v.spki.len, h);
    su_hex_upper(h, 20, c->spki_sha1);
    analyse_spki(x, &v.spki);
    c->sig_alg_oid = oid_dotted_name(a, &v.sig_oid, &c->sig_alg);
    CHECK_ALLOC(x, c->sig_alg_oid);
    if (!c->sig_alg)
        c->sig_alg = c->sig_alg_oid;

    ret = walk_extensions(x, &v.v3_ext);
    if (ret == SM_E_TOO_MANY) {
        errinfo_set(e, -1, "more than %d extensions or %d subjectAltName entries",
                    SM_MAX_EXTENSIONS, SM_MAX_SAN);
        goto out;
    }
    if (ret == SM_E_CERT) {
        errinfo_set(e, -1, "the extensions are malformed");
        goto out;
    }
    if (ret < 0)
        goto out;
    cert_collect(x);

    /* what follows reads every string made above: not after an allocation failed */
    if (!x->err)
        build_mappings(x);
    if (!x->err)
        cert_findings(x, trailing);
    ret = x->err;
out:
    mbedtls_x509_crt_free(&crt);
    mem_free(x);
    return ret;
}

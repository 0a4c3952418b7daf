/*
 * lib/cert_csr.c - PKCS#10 certificate requests (RFC 2986, sm_csr_parse()), planned facts
 * (sm_csr_planned(): the CertificationRequestInfo a request for them would carry, written with
 * mbedTLS's ASN.1 writers and read by the same analysis) and the facts of a certificate not
 * issued yet (cert_plan(), lib/cert_plan.h).
 *
 * mbedTLS 2.28's request parser skips the attributes and checks no signature, and refuses
 * Ed25519 and RSA-PSS keys whole. So the request is walked here with mbedTLS's ASN.1 readers
 * (CertificationRequestInfo: version, Name, SubjectPublicKeyInfo, [0] attributes), the Name,
 * the key and the extensionRequest's Extensions go through the certificate analysis' own
 * readers (convert_name(), analyse_spki(), walk_extensions()), and mbedTLS's parser is used
 * for what it is good at: the key and the signature algorithm. The self-signature over the
 * CertificationRequestInfo is checked by Nettle through lib/cert_sig.c (RSA PKCS#1 v1.5 and
 * PSS, ECDSA on the NIST curves; Ed25519 and Ed448, whose keys mbedTLS cannot read), several
 * times faster than mbedTLS 2.28's RSA; what Nettle is not given (MD5, PSS with SHA-1 or another
 * MGF1 hash, other curves) is checked by mbedtls_pk_verify_ext() as before.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_csr.h>

#include <strongmap/csr.h>

#include "alloc.h"
#include "cert_internal.h"
#include "cert_plan.h"
#include "sigmemo.h"
#include "su_hash.h"
#include "util.h"

#define OID_EXT_REQUEST    "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e" /* 1.2.840.113549.1.9.14 */
#define OID_CHALLENGE_PASS "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x07" /* 1.2.840.113549.1.9.7 */
#define TAG_SET            (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET)

struct csr_impl {
    struct sm_csr pub;
    struct arena *a;
};

const char *sm_csr_signature_name(enum sm_csr_signature s)
{
    return s == SM_CSR_SIG_VALID ? "valid" : s == SM_CSR_SIG_NONE ? "none" : "not_verified";
}

/* A new analysis context for @c in @a (mem_free() it); NULL when out of memory. */
static struct ctx *ctx_new(struct arena *a, struct sm_cert *c, bool planned)
{
    struct ctx *x = mem_malloc(sizeof(*x));
    if (!x)
        return NULL;
    memset(x, 0, offsetof(struct ctx, eku));
    x->a = a;
    x->c = c;
    x->planned = planned;
    c->path_len = -1;
    c->tmpl.major = c->tmpl.minor = -1;
    return x;
}

/* ---- framing: PEM, DER, base64 ------------------------------------------------------------ */

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* The PEM block of a request in @p/@len, decoded into the arena. */
static int frame_pem(struct arena *a, const uint8_t *p, size_t len, uint8_t **der, size_t *der_len,
                     struct sm_errinfo *e)
{
    static const char *const labels[] = { "CERTIFICATE REQUEST-----",
                                          "NEW CERTIFICATE REQUEST-----" };
    const uint8_t *end = p + len, *cur = p, *body = NULL;
    const char *label = NULL;
    long off = -1;

    while (!label && (cur = find_str(cur, end, "-----BEGIN ")) != NULL) {
        const uint8_t *l = cur + 11;
        for (size_t i = 0; i < ARRAY_SIZE(labels) && !label; i++)
            if ((size_t)(end - l) >= strlen(labels[i]) &&
                memcmp(l, labels[i], strlen(labels[i])) == 0) {
                label = labels[i];
                body = l + strlen(labels[i]);
                off = (long)(cur - p);
            }
        cur = l;
    }
    if (!label) {
        errinfo_set(e, -1, "no CERTIFICATE REQUEST block in the PEM input");
        return SM_E_FORMAT;
    }
    char endmark[64] = "-----END ";
    strcat(endmark, label);
    const uint8_t *stop = find_str(body, end, endmark);
    if (!stop) {
        errinfo_set(e, off, "the PEM block has no END line");
        return SM_E_FORMAT;
    }
    const uint8_t *after = stop + strlen(endmark);
    if (find_str(after, end, "REQUEST-----")) {
        errinfo_set(e, (long)(after - p), "the input holds more than one certificate request");
        return SM_E_CSR;
    }
    int r = b64_decode(a, body, (size_t)(stop - body), der, der_len);
    if (r == SM_E_FORMAT)
        errinfo_set(e, off, "the PEM block is not valid base64");
    return r;
}

/* The request's DER from the input; *@format "pem", "der" or "base64". */
static int frame(struct arena *a, const uint8_t *p, size_t len, const uint8_t **der,
                 size_t *der_len, const char **format, struct sm_errinfo *e)
{
    size_t skip = 0;
    uint8_t *d = NULL;
    size_t dlen = 0;
    int r;

    while (skip < len && is_space(p[skip]))
        skip++;
    if (skip < len && p[skip] == 0x30) {
        *format = "der";
        d = (uint8_t *)(uintptr_t)(p + skip);
        dlen = len - skip;
    } else if (find_str(p, p + len, "-----BEGIN ")) {
        *format = "pem";
        if ((r = frame_pem(a, p, len, &d, &dlen, e)) < 0)
            return r;
    } else {
        *format = "base64";
        if ((r = b64_decode(a, p, len, &d, &dlen)) < 0) {
            if (r == SM_E_FORMAT)
                errinfo_set(e, -1, "the input is not PEM, DER or base64-encoded DER");
            return r;
        }
    }
    struct der in = der_at(d, dlen), seq;
    if (der_seq(&in, &seq) != 0) {
        errinfo_set(e, -1,
                    "not a certificate request (the outer SEQUENCE is invalid or "
                    "truncated)");
        return SM_E_CSR;
    }
    size_t l = (size_t)(in.p - d);
    if (l > SM_MAX_CERT_DER) {
        errinfo_set(e, -1, "the request is larger than %d bytes", SM_MAX_CERT_DER);
        return SM_E_TOO_BIG;
    }
    if (l != dlen) {
        errinfo_set(e, (long)l, "%zu bytes follow the request's DER encoding", dlen - l);
        return SM_E_CSR;
    }
    /* the DER is kept: copy it out of the caller's buffer */
    uint8_t *copy = arena_alloc(a, l);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, d, l);
    *der = copy;
    *der_len = l;
    return 0;
}

/* ---- the request's structure ------------------------------------------------------------- */

struct csr_view {
    mbedtls_x509_buf cri;           /* CertificationRequestInfo TLV */
    mbedtls_x509_buf subject, spki; /* whole TLVs */
    mbedtls_x509_buf ext;           /* the extensionRequest's Extensions TLV, p NULL when absent */
    mbedtls_x509_buf sig_oid, sig_params; /* sig_params.tag 0 when absent */
    mbedtls_asn1_bitstring sig;           /* the signature */
};

#define BAD(e, ...) (errinfo_set((e), -1, __VA_ARGS__), SM_E_CSR)

/* One attribute: SEQUENCE { type OID, values SET OF ANY }. */
static int read_attribute(struct ctx *x, struct sm_csr *csr, struct csr_view *v, struct der *attrs,
                          const char **oids, size_t *n, struct sm_errinfo *e)
{
    struct der attr;
    size_t len;
    if (der_seq(attrs, &attr) != 0 ||
        mbedtls_asn1_get_tag(&attr.p, attr.end, &len, MBEDTLS_ASN1_OID) != 0)
        return BAD(e, "an attribute of the request is malformed");
    mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = attr.p };
    attr.p += len;
    if (mbedtls_asn1_get_tag(&attr.p, attr.end, &len, TAG_SET) != 0 || attr.p + len != attr.end)
        return BAD(e, "an attribute of the request has no SET of values");
    if (*n >= SM_MAX_CSR_ATTRS) {
        errinfo_set(e, -1, "the request has more than %d attributes", SM_MAX_CSR_ATTRS);
        return SM_E_TOO_MANY;
    }
    if (!(oids[(*n)++] = oid_dotted(x->a, &oid)))
        return -ENOMEM;
    if (OID_IS(&oid, OID_CHALLENGE_PASS)) {
        csr->challenge_password = true; /* a secret for the CA's revocation: not read */
    } else if (OID_IS(&oid, OID_EXT_REQUEST)) {
        if (v->ext.p)
            return BAD(e, "the request has two extensionRequest attributes");
        unsigned char *p = attr.p;
        if (mbedtls_asn1_get_tag(&attr.p, attr.end, &len, TAG_SEQ) != 0 || attr.p + len != attr.end)
            return BAD(e, "the extensionRequest attribute does not hold exactly one Extensions "
                          "SEQUENCE");
        v->ext.p = p;
        v->ext.len = (size_t)(attr.end - p);
    }
    return 0;
}

/* Walk the CertificationRequestInfo at @outer->p (past it); the attributes' OIDs into @csr. */
static int walk_cri(struct ctx *x, struct sm_csr *csr, struct der *outer, struct csr_view *v,
                    struct sm_errinfo *e)
{
    struct der cri, attrs;
    size_t l;
    int ver, r;

    unsigned char *cri_start = outer->p;
    if (der_seq(outer, &cri) != 0)
        return BAD(e, "the CertificationRequestInfo is not a SEQUENCE");
    v->cri.p = cri_start;
    v->cri.len = (size_t)(outer->p - cri_start);
    if (mbedtls_asn1_get_int(&cri.p, cri.end, &ver) != 0)
        return BAD(e, "the request has no version");
    if (ver != 0)
        return BAD(e, "the request's version is %d, not 0 (v1)", ver);
    v->subject.p = cri.p;
    if (mbedtls_asn1_get_tag(&cri.p, cri.end, &l, TAG_SEQ) != 0)
        return BAD(e, "the request's subject is not a Name");
    cri.p += l;
    v->subject.len = (size_t)(cri.p - v->subject.p);
    v->spki.p = cri.p;
    if (mbedtls_asn1_get_tag(&cri.p, cri.end, &l, TAG_SEQ) != 0)
        return BAD(e, "the request has no SubjectPublicKeyInfo");
    cri.p += l;
    v->spki.len = (size_t)(cri.p - v->spki.p);
    /* attributes [0] IMPLICIT SET OF Attribute: required, may be empty */
    if (mbedtls_asn1_get_tag(&cri.p, cri.end, &l, TAG_CTX0) != 0 || cri.p + l != cri.end)
        return BAD(e, "the request's attributes are missing or followed by other data");
    attrs = (struct der){ cri.p, cri.p + l };
    const char *oids[SM_MAX_CSR_ATTRS];
    size_t n = 0;
    while (attrs.p < attrs.end)
        if ((r = read_attribute(x, csr, v, &attrs, oids, &n, e)) < 0)
            return r;
    const char **list = arena_alloc(x->a, (n ? n : 1) * sizeof(*list));
    if (!list)
        return -ENOMEM;
    memcpy(list, oids, n * sizeof(*list));
    csr->attributes = list;
    csr->n_attributes = n;
    return 0;
}

/* Walk the CertificationRequest; the attributes' OIDs into @csr. */
static int walk_csr(struct ctx *x, struct sm_csr *csr, const uint8_t *der, size_t len,
                    struct csr_view *v, struct sm_errinfo *e)
{
    struct der in = der_at(der, len), outer;
    int r;

    if (der_seq(&in, &outer) != 0)
        return BAD(e, "not a certificate request");
    if ((r = walk_cri(x, csr, &outer, v, e)) < 0)
        return r;
    if (mbedtls_asn1_get_alg(&outer.p, outer.end, &v->sig_oid, &v->sig_params) != 0)
        return BAD(e, "the request's signature algorithm is malformed");
    if (mbedtls_asn1_get_bitstring(&outer.p, outer.end, &v->sig) != 0 || outer.p != outer.end)
        return BAD(e, "the request's signature is not a BIT STRING ending the request");
    return 0;
}

/* ---- the self-signature ------------------------------------------------------------------- */

static bool unsupported(int ret)
{
    /* mbedTLS adds a low-level code to its X.509 ones */
    int high = -((-ret) & 0xff80);
    return ret == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG || high == MBEDTLS_ERR_X509_UNKNOWN_SIG_ALG ||
           high == MBEDTLS_ERR_X509_FEATURE_UNAVAILABLE;
}

static int verify(struct arena *a, struct sm_csr *csr, const struct csr_view *v,
                  struct sm_errinfo *e)
{
    mbedtls_x509_csr m;
    unsigned char hash[MBEDTLS_MD_MAX_SIZE];
    uint8_t digest[SU_SHA256_LEN];
    char msg[160];
    int ret, r = 0;

    /* a request whose self-signature verified before (a portal's check, then its CA's hook):
       the same bytes, the same answer (lib/sigmemo.c) */
    su_sha256(csr->der, csr->der_len, digest);
    if (sigmemo_get(digest, NULL) > 0) {
        csr->signature = SM_CSR_SIG_VALID;
        return 0;
    }
    mbedtls_x509_csr_init(&m);
    ret = mbedtls_x509_csr_parse_der(&m, csr->der, csr->der_len);
    if (ret != 0 && unsupported(ret)) {
        ret = cert_sig_check_eddsa(&v->spki, &v->sig_oid, &v->sig_params, &v->sig, v->cri.p,
                                   v->cri.len);
        if (ret == 0 || ret == -EBADMSG)
            goto out_checked;
        csr->signature = SM_CSR_SIG_UNSUPPORTED;
        csr->signature_note =
            arena_printf(a, "signature not verified: unsupported algorithm (%s)", csr->sig_alg);
        r = csr->signature_note ? 0 : -ENOMEM;
        goto out;
    }
    if (ret != 0) {
        mbedtls_strerror(ret, msg, sizeof(msg));
        errinfo_set(e, -1, "not a certificate request mbedTLS can read (%s)", msg);
        r = SM_E_CSR;
        goto out;
    }
    const mbedtls_md_info_t *md = mbedtls_md_info_from_type(m.sig_md);
    if (md) {
        ret = cert_sig_check(&m.pk, m.sig_pk, m.sig_md, m.sig_opts, m.cri.p, m.cri.len, m.sig.p,
                             m.sig.len);
        if (ret == 0 || ret == -EBADMSG)
            goto out_checked;
    }
    if (!md || mbedtls_md(md, m.cri.p, m.cri.len, hash) != 0) {
        csr->signature = SM_CSR_SIG_UNSUPPORTED;
        csr->signature_note =
            arena_printf(a, "signature not verified: unsupported algorithm (%s)", csr->sig_alg);
        r = csr->signature_note ? 0 : -ENOMEM;
        goto out;
    }
    ret = mbedtls_pk_verify_ext(m.sig_pk, m.sig_opts, &m.pk, m.sig_md, hash,
                                mbedtls_md_get_size(md), m.sig.p, m.sig.len);
    if (ret != 0) {
        mbedtls_strerror(ret, msg, sizeof(msg));
        errinfo_set(e, -1, "the request's self-signature does not verify (%s)", msg);
        r = SM_E_CSR_SIGNATURE;
        goto out;
    }
    csr->signature = SM_CSR_SIG_VALID;
    sigmemo_put(digest, NULL, true);
    goto out;
out_checked: /* by Nettle */
    if (ret == 0) {
        csr->signature = SM_CSR_SIG_VALID;
        sigmemo_put(digest, NULL, true);
    } else {
        errinfo_set(e, -1, "the request's self-signature does not verify (%s)", csr->sig_alg);
        r = SM_E_CSR_SIGNATURE;
    }
out:
    mbedtls_x509_csr_free(&m);
    return r;
}

/* ---- sm_csr_parse ------------------------------------------------------------------------- */

/* The request's facts; @planned: csr->der is a CertificationRequestInfo (sm_csr_planned()). */
static int analyse(struct csr_impl *impl, bool planned, struct sm_errinfo *e)
{
    struct sm_csr *csr = &impl->pub;
    struct sm_cert *c = arena_alloc(impl->a, sizeof(*c));
    struct ctx *x = c ? ctx_new(impl->a, c, true) : NULL;
    struct csr_view v;
    int r;

    if (!x)
        return -ENOMEM;
    memset(&v, 0, sizeof(v));
    if (planned) {
        struct der in = der_at(csr->der, csr->der_len);
        r = walk_cri(x, csr, &in, &v, e);
    } else {
        r = walk_csr(x, csr, csr->der, csr->der_len, &v, e);
    }
    if (r < 0)
        goto out;
    c->der = csr->der;
    c->der_len = csr->der_len;
    c->version = 3;
    c->full_parse = true;
    c->serial = "";
    c->issuer.rfc4514 = c->issuer.ad = c->issuer.samba = "";
    if ((r = convert_name(x, v.subject.p, v.subject.len, &c->subject)) < 0) {
        if (r == SM_E_TOO_MANY)
            errinfo_set(e, -1, "the subject has more than %d attributes", SM_MAX_NAME_ATTRS);
        else if (r == SM_E_CERT)
            errinfo_set(e, -1, "the subject Name is malformed");
        r = r == SM_E_CERT ? SM_E_CSR : r;
        goto out;
    }
    uint8_t h[SU_SHA1_LEN];
    su_sha1(v.spki.p, v.spki.len, h);
    su_hex_upper(h, SU_SHA1_LEN, c->spki_sha1);
    analyse_spki(x, &v.spki);
    if (planned) {
        if (v.spki.len <= 2)
            c->spki_sha1[0] = '\0'; /* no key */
    } else {
        csr->sig_alg_oid = oid_dotted_name(impl->a, &v.sig_oid, &csr->sig_alg);
        CHECK_ALLOC(x, csr->sig_alg_oid);
        if (!csr->sig_alg)
            csr->sig_alg = csr->sig_alg_oid;
    }
    c->sig_alg_oid = csr->sig_alg_oid;
    c->sig_alg = csr->sig_alg;
    if ((r = walk_extensions(x, &v.ext)) < 0) {
        if (r == SM_E_TOO_MANY)
            errinfo_set(e, -1, "more than %d requested extensions or %d subjectAltName entries",
                        SM_MAX_EXTENSIONS, SM_MAX_SAN);
        else if (r == SM_E_CERT)
            errinfo_set(e, -1, "the requested extensions are malformed");
        r = r == SM_E_CERT ? SM_E_CSR : r;
        goto out;
    }
    cert_collect(x);
    if (!x->err)
        build_mappings(x);
    if (!x->err)
        cert_findings(x, 0);
    if ((r = x->err) < 0)
        goto out;
    csr->request = c;
    if (planned) {
        csr->signature = SM_CSR_SIG_NONE;
        csr->signature_note = "planned facts: no request was signed";
        r = 0;
    } else {
        r = verify(impl->a, csr, &v, e);
    }
out:
    mem_free(x);
    return r;
}

int sm_csr_parse(const void *buf, size_t len, struct sm_csr **ret, struct sm_errinfo *reterr)
{
    struct csr_impl *impl = NULL;
    const uint8_t *der;
    size_t der_len;
    int r;

    if (len == 0) {
        errinfo_set(reterr, 0, "the input is empty");
        return SM_E_EMPTY;
    }
    if (len > SM_MAX_INPUT) {
        errinfo_set(reterr, -1, "the input is larger than %d bytes", SM_MAX_INPUT);
        return SM_E_TOO_BIG;
    }
    impl = mem_calloc(1, sizeof(*impl));
    if (!impl || !(impl->a = arena_new())) {
        r = -ENOMEM;
        goto out_fail;
    }
    if ((r = frame(impl->a, buf, len, &der, &der_len, &impl->pub.format, reterr)) < 0)
        goto out_fail;
    impl->pub.der = der;
    impl->pub.der_len = der_len;
    if ((r = analyse(impl, false, reterr)) < 0)
        goto out_fail;
    *ret = &impl->pub;
    return 0;

out_fail:
    if (r == -ENOMEM)
        errinfo_set(reterr, -1, "out of memory");
    if (impl)
        arena_free(impl->a);
    mem_free(impl);
    return r;
}

struct sm_csr *sm_csr_free(struct sm_csr *csr)
{
    if (!csr)
        return NULL;
    struct csr_impl *impl = (struct csr_impl *)(void *)csr;
    arena_free(impl->a);
    mem_free(impl);
    return NULL;
}

/* ---- planned facts (sm_csr_planned()) --------------------------------------------------- */

#define OID_SAN_DER "\x55\x1d\x11"                             /* 2.5.29.17 */
#define OID_UPN_DER "\x2b\x06\x01\x04\x01\x82\x37\x14\x02\x03" /* 1.3.6.1.4.1.311.20.2.3 */
#define OID_MAX     64                                         /* bytes of one OID's DER */

/* The DER contents of the dotted OID @s into @out; its length, or 0 when @s is not one. */
static size_t oid_encode(const char *s, uint8_t out[OID_MAX])
{
    unsigned long arcs[OID_MAX];
    size_t n = 0, len = 0;

    while (n < OID_MAX) {
        unsigned long v = 0;
        const char *start = s;
        while (*s >= '0' && *s <= '9') {
            if (v > (0xffffffffUL - 9) / 10 || (s > start && *start == '0'))
                return 0;
            v = v * 10 + (unsigned long)(*s++ - '0');
        }
        if (s == start)
            return 0;
        arcs[n++] = v;
        if (*s == '\0')
            break;
        if (*s++ != '.')
            return 0;
    }
    if (n < 2 || n >= OID_MAX || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) ||
        arcs[1] > 0xffffffffUL - 80)
        return 0;
    arcs[1] += arcs[0] * 40;
    for (size_t i = 1; i < n; i++) {
        uint8_t tmp[5];
        size_t k = 0;
        unsigned long v = arcs[i];
        do {
            tmp[k++] = (uint8_t)(v & 0x7f);
            v >>= 7;
        } while (v);
        if (len + k > OID_MAX)
            return 0;
        while (k--)
            out[len++] = (uint8_t)(tmp[k] | (k ? 0x80 : 0));
    }
    return len;
}

/* Written backwards from *@p down to @start (mbedtls_asn1_write_*); len: what was written. */
#define W(call)                                                                                    \
    do {                                                                                           \
        int w_ = (call);                                                                           \
        if (w_ < 0)                                                                                \
            return w_ == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL ? SM_E_TOO_BIG : -EINVAL;                  \
        len += (size_t)w_;                                                                         \
    } while (0)
#define WRAP(tag)                                                                                  \
    do {                                                                                           \
        W(mbedtls_asn1_write_len(p, start, len));                                                  \
        W(mbedtls_asn1_write_tag(p, start, (unsigned char)(tag)));                                 \
    } while (0)

/* Extension { extnID, critical DEFAULT FALSE, extnValue }: @len bytes of value already at *@p. */
static int write_ext(unsigned char **p, unsigned char *start, size_t len, const uint8_t *oid,
                     size_t oid_len, bool critical)
{
    WRAP(MBEDTLS_ASN1_OCTET_STRING);
    if (critical)
        W(mbedtls_asn1_write_bool(p, start, 1));
    W(mbedtls_asn1_write_oid(p, start, (const char *)oid, oid_len));
    WRAP(TAG_SEQ);
    return (int)len;
}

/* The subjectAltName extension of @in's SAN entries. */
static int write_san(unsigned char **p, unsigned char *start, const struct sm_csr_planned *in,
                     struct sm_errinfo *e)
{
    size_t len = 0;

    for (size_t i = in->n_san; i-- > 0;) {
        const struct sm_san *s = &in->san[i];
        size_t vlen = s->value ? strlen(s->value) : 0;
        if (vlen == 0) {
            errinfo_set(e, -1, "SAN entry %zu has no value", i);
            return -EINVAL;
        }
        switch (s->type) {
        case SM_SAN_UPN: {
            size_t before = len; /* the entries after this one, written already */
            W(mbedtls_asn1_write_utf8_string(p, start, s->value, vlen));
            W(mbedtls_asn1_write_len(p, start, len - before));
            W(mbedtls_asn1_write_tag(p, start, TAG_CTX0)); /* [0] EXPLICIT value */
            W(mbedtls_asn1_write_oid(p, start, OID_UPN_DER, sizeof(OID_UPN_DER) - 1));
            W(mbedtls_asn1_write_len(p, start, len - before));
            W(mbedtls_asn1_write_tag(p, start, TAG_CTX0)); /* otherName [0] IMPLICIT */
            break;
        }
        case SM_SAN_EMAIL:
        case SM_SAN_DNS:
        case SM_SAN_URI:
            W(mbedtls_asn1_write_raw_buffer(p, start, (const unsigned char *)s->value, vlen));
            /* rfc822Name [1], dNSName [2], uniformResourceIdentifier [6]: IA5String */
            W(mbedtls_asn1_write_len(p, start, vlen));
            W(mbedtls_asn1_write_tag(p, start,
                                     (unsigned char)(MBEDTLS_ASN1_CONTEXT_SPECIFIC | s->type)));
            break;
        default:
            errinfo_set(e, -1, "SAN entry %zu: only UPN, DNS, email and URI entries are planned",
                        i);
            return -EINVAL;
        }
    }
    WRAP(TAG_SEQ); /* GeneralNames */
    return write_ext(p, start, len, (const uint8_t *)OID_SAN_DER, sizeof(OID_SAN_DER) - 1, false);
}

/* Attribute types a planned subject may name, and the string type openssl req gives each. */
static const struct {
    const char *name, *alias, *oid;
    unsigned char tag;
} name_types[] = {
    { "CN", "commonName", "2.5.4.3", MBEDTLS_ASN1_UTF8_STRING },
    { "SN", "surname", "2.5.4.4", MBEDTLS_ASN1_UTF8_STRING },
    { "SERIALNUMBER", "serialNumber", "2.5.4.5", MBEDTLS_ASN1_PRINTABLE_STRING },
    { "C", "countryName", "2.5.4.6", MBEDTLS_ASN1_PRINTABLE_STRING },
    { "L", "localityName", "2.5.4.7", MBEDTLS_ASN1_UTF8_STRING },
    { "ST", "stateOrProvinceName", "2.5.4.8", MBEDTLS_ASN1_UTF8_STRING },
    { "STREET", "streetAddress", "2.5.4.9", MBEDTLS_ASN1_UTF8_STRING },
    { "O", "organizationName", "2.5.4.10", MBEDTLS_ASN1_UTF8_STRING },
    { "OU", "organizationalUnitName", "2.5.4.11", MBEDTLS_ASN1_UTF8_STRING },
    { "T", "title", "2.5.4.12", MBEDTLS_ASN1_UTF8_STRING },
    { "GN", "givenName", "2.5.4.42", MBEDTLS_ASN1_UTF8_STRING },
    { "DC", "domainComponent", "0.9.2342.19200300.100.1.25", MBEDTLS_ASN1_IA5_STRING },
    { "UID", "userId", "0.9.2342.19200300.100.1.1", MBEDTLS_ASN1_UTF8_STRING },
    { "E", "emailAddress", "1.2.840.113549.1.9.1", MBEDTLS_ASN1_IA5_STRING },
};

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/*
 * The Name of the RFC 4514 string @s (most significant RDN last; one attribute per RDN; a type
 * by its short name or dotted OID; \-escapes of a character or two hex digits), written
 * backwards. @tmp: strlen(@s) bytes for the unescaped values.
 */
static int write_name(unsigned char **p, unsigned char *start, const char *s, char *tmp,
                      struct sm_errinfo *e)
{
    size_t len = 0, n = 0;
    int r;

    e->field = "subject";
    while (s && *s) {
        const char *eq = strchr(s, '=');
        if (!eq || eq == s) {
            errinfo_set(e, -1, "\"%.120s\": an RDN is not TYPE=VALUE", s);
            return -EINVAL;
        }
        uint8_t oid[OID_MAX];
        size_t oid_len = 0, tlen = (size_t)(eq - s);
        unsigned char tag = MBEDTLS_ASN1_UTF8_STRING;
        for (size_t i = 0; i < ARRAY_SIZE(name_types) && !oid_len; i++)
            if (ascii_caseeq(s, tlen, name_types[i].name, strlen(name_types[i].name)) ||
                ascii_caseeq(s, tlen, name_types[i].alias, strlen(name_types[i].alias))) {
                oid_len = oid_encode(name_types[i].oid, oid);
                tag = name_types[i].tag;
            }
        if (!oid_len && tlen < 64) {
            char dotted[64];
            memcpy(dotted, s, tlen);
            dotted[tlen] = '\0';
            oid_len = oid_encode(dotted, oid);
        }
        if (!oid_len) {
            errinfo_set(e, -1, "\"%.*s\" is not an attribute type (CN, OU, DC, ... or an OID)",
                        (int)(tlen > 64 ? 64 : tlen), s);
            return -EINVAL;
        }
        /* the value up to an unescaped ',' */
        size_t vlen = 0;
        for (s = eq + 1; *s && *s != ','; s++) {
            if (*s == '+') {
                errinfo_set(e, -1, "a multi-valued RDN ('+') is not planned; escape it as \\+");
                return -EINVAL;
            }
            if (*s != '\\') {
                tmp[vlen++] = *s;
            } else if (hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
                tmp[vlen++] = (char)(hexval(s[1]) << 4 | hexval(s[2]));
                s += 2;
            } else if (s[1]) {
                tmp[vlen++] = *++s;
            } else {
                errinfo_set(e, -1, "the subject ends in a lone backslash");
                return -EINVAL;
            }
        }
        if (vlen == 0) {
            errinfo_set(e, -1, "an attribute of the subject has an empty value");
            return -EINVAL;
        }
        if (++n > SM_MAX_NAME_ATTRS) {
            errinfo_set(e, -1, "the subject has more than %d attributes", SM_MAX_NAME_ATTRS);
            return SM_E_TOO_MANY;
        }
        /* RelativeDistinguishedName SET { AttributeTypeAndValue SEQUENCE { type, value } };
           written first, so it lands after those the string names later */
        size_t l = 0;
        if ((r = mbedtls_asn1_write_raw_buffer(p, start, (unsigned char *)tmp, vlen)) < 0)
            return SM_E_TOO_BIG;
        l += (size_t)r;
        if ((r = mbedtls_asn1_write_len(p, start, vlen)) < 0 ||
            (l += (size_t)r, r = mbedtls_asn1_write_tag(p, start, tag)) < 0)
            return SM_E_TOO_BIG;
        l += (size_t)r;
        if ((r = mbedtls_asn1_write_oid(p, start, (const char *)oid, oid_len)) < 0)
            return SM_E_TOO_BIG;
        l += (size_t)r;
        for (int k = 0; k < 2; k++) {
            if ((r = mbedtls_asn1_write_len(p, start, l)) < 0)
                return SM_E_TOO_BIG;
            l += (size_t)r;
            if ((r = mbedtls_asn1_write_tag(p, start, k == 0 ? TAG_SEQ : TAG_SET)) < 0)
                return SM_E_TOO_BIG;
            l += (size_t)r;
        }
        len += l;
        if (*s == ',')
            s++;
    }
    e->field = NULL;
    if ((r = mbedtls_asn1_write_len(p, start, len)) < 0)
        return SM_E_TOO_BIG;
    len += (size_t)r;
    if ((r = mbedtls_asn1_write_tag(p, start, TAG_SEQ)) < 0)
        return SM_E_TOO_BIG;
    return (int)(len + (size_t)r);
}

#define OID_KU_DER  "\x55\x1d\x0f" /* 2.5.29.15 */
#define OID_EKU_DER "\x55\x1d\x25" /* 2.5.29.37 */
#define OID_BC_DER  "\x55\x1d\x13" /* 2.5.29.19 */

/* Does @in->exts hold an extension of @oid (DER contents)? */
static bool has_ext(const struct sm_csr_planned *in, const char *oid, size_t oid_len)
{
    uint8_t o[OID_MAX];
    for (size_t i = 0; i < in->n_exts; i++)
        if (in->exts[i].oid && oid_encode(in->exts[i].oid, o) == oid_len &&
            memcmp(o, oid, oid_len) == 0)
            return true;
    return false;
}

/* An extension whose value, @l bytes at *@p already, is first wrapped in a SEQUENCE if @seq. */
static int put_ext(unsigned char **p, unsigned char *start, size_t l, bool seq, const char *oid,
                   size_t oid_len, bool critical)
{
    size_t len = l;

    if (seq)
        WRAP(TAG_SEQ);
    return write_ext(p, start, len, (const uint8_t *)oid, oid_len, critical);
}

/* The keyUsage, extKeyUsage and basicConstraints @in gives as facts (those @in->exts lacks). */
static int write_fact_exts(unsigned char **p, unsigned char *start, const struct sm_csr_planned *in,
                           struct sm_errinfo *e)
{
    size_t len = 0, l;
    int r;

    if (in->is_ca && !has_ext(in, OID_BC_DER, sizeof(OID_BC_DER) - 1)) {
        if ((r = mbedtls_asn1_write_bool(p, start, 1)) < 0)
            return SM_E_TOO_BIG;
        if ((r = put_ext(p, start, (size_t)r, true, OID_BC_DER, sizeof(OID_BC_DER) - 1, true)) < 0)
            return r;
        len += (size_t)r;
    }
    if (in->n_eku && !has_ext(in, OID_EKU_DER, sizeof(OID_EKU_DER) - 1)) {
        l = 0;
        for (size_t i = in->n_eku; i-- > 0;) {
            uint8_t oid[OID_MAX];
            size_t oid_len = in->eku[i] ? oid_encode(in->eku[i], oid) : 0;
            if (!oid_len) {
                e->field = "eku";
                errinfo_set(e, -1, "extKeyUsage %zu: \"%.64s\" is not a dotted OID", i,
                            in->eku[i] ? in->eku[i] : "");
                return -EINVAL;
            }
            if ((r = mbedtls_asn1_write_oid(p, start, (const char *)oid, oid_len)) < 0)
                return SM_E_TOO_BIG;
            l += (size_t)r;
        }
        if ((r = put_ext(p, start, l, true, OID_EKU_DER, sizeof(OID_EKU_DER) - 1, false)) < 0)
            return r;
        len += (size_t)r;
    }
    if (in->key_usage && !has_ext(in, OID_KU_DER, sizeof(OID_KU_DER) - 1)) {
        /* struct sm_cert's form: the BIT STRING's first two bytes, the first one low */
        unsigned char bits[2] = { (unsigned char)(in->key_usage & 0xff),
                                  (unsigned char)(in->key_usage >> 8) };
        if (in->key_usage & ~0x80ffu) {
            e->field = "key_usage";
            errinfo_set(e, -1, "keyUsage bits beyond decipherOnly (bit 8)");
            return -EINVAL;
        }
        if ((r = mbedtls_asn1_write_named_bitstring(p, start, bits, 9)) < 0)
            return SM_E_TOO_BIG;
        if ((r = put_ext(p, start, (size_t)r, false, OID_KU_DER, sizeof(OID_KU_DER) - 1, true)) < 0)
            return r;
        len += (size_t)r;
    }
    return (int)len;
}

/* The CertificationRequestInfo of @in, written backwards to end at *@p. */
static int write_cri(unsigned char **p, unsigned char *start, const struct sm_csr_planned *in,
                     char *tmp, struct sm_errinfo *e)
{
    size_t len = 0, exts = 0;
    int r;

    if ((r = write_fact_exts(p, start, in, e)) < 0)
        return r;
    exts = (size_t)r;
    e->field = "extensions";
    for (size_t i = in->n_exts; i-- > 0;) {
        const struct sm_csr_planned_ext *x = &in->exts[i];
        uint8_t oid[OID_MAX];
        size_t oid_len = x->oid ? oid_encode(x->oid, oid) : 0;
        size_t l = 0;
        if (!oid_len) {
            errinfo_set(e, -1, "extension %zu: \"%.64s\" is not a dotted OID", i,
                        x->oid ? x->oid : "");
            return -EINVAL;
        }
        if (x->value_len == 0) {
            errinfo_set(e, -1, "extension %zu (%s) has no value", i, x->oid);
            return -EINVAL;
        }
        if (oid_len == sizeof(OID_SAN_DER) - 1 && memcmp(oid, OID_SAN_DER, oid_len) == 0 &&
            in->n_san) {
            errinfo_set(e, -1, "the subjectAltName is given twice: as \"san\" and as extension %zu",
                        i);
            return -EINVAL;
        }
        int w = mbedtls_asn1_write_raw_buffer(p, start, x->value, x->value_len);
        if (w < 0)
            return SM_E_TOO_BIG;
        l = (size_t)w;
        if ((r = write_ext(p, start, l, oid, oid_len, x->critical)) < 0)
            return r;
        exts += (size_t)r;
    }
    if (in->n_san) {
        e->field = "san";
        if ((r = write_san(p, start, in, e)) < 0)
            return r;
        exts += (size_t)r;
    }
    e->field = NULL;
    len = exts;
    if (exts) {
        WRAP(TAG_SEQ); /* Extensions */
        WRAP(TAG_SET);
        W(mbedtls_asn1_write_oid(p, start, OID_EXT_REQUEST, sizeof(OID_EXT_REQUEST) - 1));
        WRAP(TAG_SEQ); /* Attribute */
    }
    WRAP(TAG_CTX0); /* attributes */
    if (in->spki) {
        W(mbedtls_asn1_write_raw_buffer(p, start, in->spki, in->spki_len));
    } else {
        W(mbedtls_asn1_write_len(p, start, 0));
        W(mbedtls_asn1_write_tag(p, start, TAG_SEQ)); /* no SubjectPublicKeyInfo */
    }
    if ((r = write_name(p, start, in->subject, tmp, e)) < 0)
        return r;
    len += (size_t)r;
    W(mbedtls_asn1_write_int(p, start, 0));
    WRAP(TAG_SEQ);
    return (int)len;
}

#undef W
#undef WRAP

int sm_csr_planned(const struct sm_csr_planned *in, struct sm_csr **ret, struct sm_errinfo *reterr)
{
    struct sm_errinfo scratch = SM_ERRINFO_INIT, *e = reterr ? reterr : &scratch;
    struct csr_impl *impl = NULL;
    unsigned char *buf, *p;
    char *tmp;
    size_t cap = 1024;
    int r;

    if (in->n_san > SM_MAX_SAN || in->n_exts > SM_MAX_EXTENSIONS || in->n_eku > SM_MAX_EXTENSIONS) {
        e->field = in->n_san > SM_MAX_SAN          ? "san"
                   : in->n_eku > SM_MAX_EXTENSIONS ? "eku"
                                                   : "extensions";
        errinfo_set(e, -1, "more than %d SAN entries, %d extensions or %d extKeyUsage purposes",
                    SM_MAX_SAN, SM_MAX_EXTENSIONS, SM_MAX_EXTENSIONS);
        return SM_E_TOO_MANY;
    }
    /* room for everything: each value once, each TLV's header and OID well bounded */
    cap += in->subject ? 4 * strlen(in->subject) : 0;
    for (size_t i = 0; i < in->n_san; i++)
        cap += (in->san[i].value ? strlen(in->san[i].value) : 0) + 32;
    for (size_t i = 0; i < in->n_exts; i++)
        cap += in->exts[i].value_len + OID_MAX + 16;
    cap += 64 + in->n_eku * (OID_MAX + 2); /* keyUsage, basicConstraints, extKeyUsage */
    if (in->spki) {
        unsigned char *q = (unsigned char *)(uintptr_t)in->spki;
        size_t l;
        if (in->spki_len > SM_MAX_CERT_DER ||
            mbedtls_asn1_get_tag(&q, q + in->spki_len, &l, TAG_SEQ) != 0 ||
            q + l != in->spki + in->spki_len) {
            e->field = "spki";
            errinfo_set(e, -1, "the public key is not one DER SubjectPublicKeyInfo");
            return -EINVAL;
        }
        cap += in->spki_len;
    }
    if (cap > SM_MAX_INPUT) {
        errinfo_set(e, -1, "the planned request is larger than %d bytes", SM_MAX_INPUT);
        return SM_E_TOO_BIG;
    }
    impl = mem_calloc(1, sizeof(*impl));
    if (!impl || !(impl->a = arena_new()) || !(buf = arena_alloc(impl->a, cap)) ||
        !(tmp = arena_alloc(impl->a, (in->subject ? strlen(in->subject) : 0) + 1))) {
        r = -ENOMEM;
        goto out_fail;
    }
    p = buf + cap;
    if ((r = write_cri(&p, buf, in, tmp, e)) < 0) {
        if (r == SM_E_TOO_BIG)
            errinfo_set(e, -1, "the planned request is larger than %d bytes", SM_MAX_INPUT);
        goto out_fail;
    }
    impl->pub.der = p;
    impl->pub.der_len = (size_t)r;
    impl->pub.format = "planned";
    if ((r = analyse(impl, true, e)) < 0)
        goto out_fail;
    *ret = &impl->pub;
    return 0;

out_fail:
    if (r == -ENOMEM)
        errinfo_set(e, -1, "out of memory");
    if (impl)
        arena_free(impl->a);
    mem_free(impl);
    return r;
}

/* ---- a certificate not issued yet (lib/cert_plan.h) --------------------------------------- */

static const char *rfc3339(struct arena *a, time_t t)
{
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&t, &tm) || !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
        return arena_strdup(a, "");
    return arena_strdup(a, buf);
}

int cert_plan(struct arena *a, const struct cert_plan *p, const struct sm_cert **ret)
{
    struct sm_cert *c = arena_alloc(a, sizeof(*c));
    struct ctx *x;
    int r;

    if (!c)
        return -ENOMEM;
    *c = *p->request; /* subject, key, extensions: borrowed */
    memset(&c->findings, 0, sizeof(c->findings));
    c->mappings = NULL;
    c->n_mappings = 0;
    if (!(x = ctx_new(a, c, true)))
        return -ENOMEM;
    c->path_len = p->request->path_len;
    c->tmpl = p->request->tmpl;
    c->serial = "";
    c->serial_sign_byte = c->serial_negative = false;
    c->sha1[0] = c->sha256[0] = '\0';
    c->ski = p->ski;
    c->der = NULL; /* the CA makes it */
    c->der_len = 0;
    if (p->issuer) {
        c->issuer = p->issuer->subject;
        c->aki = p->issuer->ski;
    } else {
        memset(&c->issuer, 0, sizeof(c->issuer));
        c->issuer.rfc4514 = c->issuer.ad = c->issuer.samba = "";
        c->aki = NULL;
    }
    c->not_before_t = p->not_before;
    c->not_after_t = p->not_after;
    c->not_before = rfc3339(a, p->not_before);
    c->not_after = rfc3339(a, p->not_after);
    CHECK_ALLOC(x, c->not_before);
    CHECK_ALLOC(x, c->not_after);

    /* the SAN as issued, and the SID URI read from it as walk_extensions() reads one */
    c->san = p->san;
    c->n_san = p->n_san;
    memset(&c->sid, 0, sizeof(c->sid));
    for (size_t i = 0; i < p->n_san; i++) {
        const char *v = p->san[i].value;
        size_t pl = strlen(SM_SID_URI_PREFIX);
        if (p->san[i].type != SM_SAN_URI || !v || strlen(v) < pl ||
            !ascii_caseeq(v, pl, SM_SID_URI_PREFIX, pl))
            continue;
        if (++c->sid.uri.count == 1)
            sid_from_text(x, &c->sid.uri, (const uint8_t *)v + pl, strlen(v) - pl);
    }
    if (c->sid.uri.count > 1) {
        c->sid.uri.status = SM_SID_MALFORMED;
        c->sid.uri.reason = arena_printf(a, "the SAN holds %u SID URIs", c->sid.uri.count);
        CHECK_ALLOC(x, c->sid.uri.reason);
    }
    if (p->sid_extension)
        c->sid.extension = *p->sid_extension;
    cert_sid_choose(c);
    if (!x->err)
        build_mappings(x);
    if (!x->err)
        cert_findings(x, 0);
    r = x->err;
    mem_free(x);
    if (r == 0)
        *ret = c;
    return r;
}

/*
 * lib/cert.c - certificate analysis; the only file of the engine that includes mbedTLS.
 *
 * Input framing (PEM blocks, DER, base64) is found here, each certificate is parsed with
 * mbedtls_x509_crt_parse_der_with_ext_cb() (which accepts unknown critical extensions through
 * the callback), and every fact is then read from the same raw pieces: serial, Names, validity,
 * SubjectPublicKeyInfo and the Extensions SEQUENCE. When mbedTLS refuses a certificate whole
 * (Ed25519 or RSA-PSS keys, unsupported signature algorithms), the TBSCertificate is walked with
 * mbedTLS's own field parsers instead, so those certificates still get every fact.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include <strongmap/cert.h>

#include "hash.h"
#include "names.h"
#include "util.h"

#define TAG_SEQ  (MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE)
#define TAG_CTX0 (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_ASN1_CONSTRUCTED | 0)

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

/*
 * Per-certificate analysis context. Only the part before @eku is zeroed when a context is made:
 * the arrays (9 KB) are read only below their counts, and zeroing them cost more than a
 * twentieth of the whole analysis.
 */
struct ctx {
    struct arena *a;
    struct sm_cert *c;
    time_t now;
    size_t n_eku, n_crl, n_aia_i, n_aia_o, n_maps;
    int err; /* first allocation failure */
    /* collected while walking extensions */
    const char *eku[SM_MAX_LIST];
    const char *crl[SM_MAX_LIST];
    const char *aia_i[SM_MAX_LIST];
    const char *aia_o[SM_MAX_LIST];
    struct sm_mapping maps[SM_MAP__COUNT + SM_MAX_SAN];
};

#define CHECK_ALLOC(ctx, p)                                                                        \
    do {                                                                                           \
        if (!(p))                                                                                  \
            (ctx)->err = -ENOMEM;                                                                  \
    } while (0)

/* ---- small helpers ---------------------------------------------------------------------- */

/* The OIDs nearly every certificate carries, by their DER (generated, not typed). */
#define COMMON_OID(der, dotted)                                                                    \
    {                                                                                              \
        der, sizeof(der) - 1, dotted, sizeof(dotted) - 1                                           \
    }
static const struct {
    const char *der;
    size_t len;
    const char *dotted;
    size_t dlen;
} common_oids[] = {
    COMMON_OID("\x55\x04\x03", "2.5.4.3"),
    COMMON_OID("\x55\x04\x06", "2.5.4.6"),
    COMMON_OID("\x55\x04\x07", "2.5.4.7"),
    COMMON_OID("\x55\x04\x08", "2.5.4.8"),
    COMMON_OID("\x55\x04\x0a", "2.5.4.10"),
    COMMON_OID("\x55\x04\x0b", "2.5.4.11"),
    COMMON_OID("\x55\x04\x05", "2.5.4.5"),
    COMMON_OID("\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", "0.9.2342.19200300.100.1.25"),
    COMMON_OID("\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01", "1.2.840.113549.1.9.1"),
    COMMON_OID("\x55\x1d\x0e", "2.5.29.14"),
    COMMON_OID("\x55\x1d\x0f", "2.5.29.15"),
    COMMON_OID("\x55\x1d\x11", "2.5.29.17"),
    COMMON_OID("\x55\x1d\x13", "2.5.29.19"),
    COMMON_OID("\x55\x1d\x1f", "2.5.29.31"),
    COMMON_OID("\x55\x1d\x20", "2.5.29.32"),
    COMMON_OID("\x55\x1d\x23", "2.5.29.35"),
    COMMON_OID("\x55\x1d\x25", "2.5.29.37"),
    COMMON_OID("\x2b\x06\x01\x05\x05\x07\x01\x01", "1.3.6.1.5.5.7.1.1"),
    COMMON_OID("\x2b\x06\x01\x04\x01\x82\x37\x19\x02", "1.3.6.1.4.1.311.25.2"),
    COMMON_OID("\x2b\x06\x01\x04\x01\x82\x37\x15\x07", "1.3.6.1.4.1.311.21.7"),
    COMMON_OID("\x2b\x06\x01\x04\x01\x82\x37\x14\x02", "1.3.6.1.4.1.311.20.2"),
    COMMON_OID("\x2b\x06\x01\x04\x01\x82\x37\x15\x0a", "1.3.6.1.4.1.311.21.10"),
    COMMON_OID("\x2b\x06\x01\x05\x05\x07\x03\x01", "1.3.6.1.5.5.7.3.1"),
    COMMON_OID("\x2b\x06\x01\x05\x05\x07\x03\x02", "1.3.6.1.5.5.7.3.2"),
    COMMON_OID("\x2b\x06\x01\x04\x01\x82\x37\x14\x02\x02", "1.3.6.1.4.1.311.20.2.2"),
    COMMON_OID("\x2b\x06\x01\x05\x02\x03\x04", "1.3.6.1.5.2.3.4"),
    COMMON_OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0b", "1.2.840.113549.1.1.11"),
    COMMON_OID("\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01", "1.2.840.113549.1.1.1"),
    COMMON_OID("\x2a\x86\x48\xce\x3d\x04\x03\x02", "1.2.840.10045.4.3.2"),
    COMMON_OID("\x2a\x86\x48\xce\x3d\x02\x01", "1.2.840.10045.2.1"),
    COMMON_OID("\x2a\x86\x48\xce\x3d\x03\x01\x07", "1.2.840.10045.3.1.7"),
};
#undef COMMON_OID

/*
 * sm_oid_name() of each common OID, and an index of the table by a hash of the DER's length
 * and last byte (a linear scan cost more than formatting did for rare OIDs), built once.
 */
#define COMMON_OID_BUCKETS 64
static const char *common_oid_names[ARRAY_SIZE(common_oids)];
static signed char common_oid_first[COMMON_OID_BUCKETS]; /* -1: empty */
static signed char common_oid_next[ARRAY_SIZE(common_oids)];
static pthread_once_t common_oid_once = PTHREAD_ONCE_INIT;

static unsigned common_oid_bucket(size_t len, uint8_t last)
{
    return (unsigned)(len * 31u + last) % COMMON_OID_BUCKETS;
}

static void common_oid_init(void)
{
    memset(common_oid_first, -1, sizeof(common_oid_first));
    for (size_t i = ARRAY_SIZE(common_oids); i-- > 0;) {
        unsigned b = common_oid_bucket(common_oids[i].len,
                                       (uint8_t)common_oids[i].der[common_oids[i].len - 1]);
        common_oid_names[i] = sm_oid_name(common_oids[i].dotted);
        common_oid_next[i] = common_oid_first[b];
        common_oid_first[b] = (signed char)i;
    }
}

/* Index of the DER OID @p in common_oids, or -1. */
static int common_oid(const uint8_t *p, size_t len)
{
    if (len == 0)
        return -1;
    pthread_once(&common_oid_once, common_oid_init);
    for (int i = common_oid_first[common_oid_bucket(len, p[len - 1])]; i >= 0;
         i = common_oid_next[i])
        if (common_oids[i].len == len && memcmp(common_oids[i].der, p, len) == 0)
            return i;
    return -1;
}

/*
 * The dotted text of a DER OID (contents only) into @buf; its length, or -1 when the OID is
 * empty, truncated, has an arc above 2^64 - 1 or does not fit. The first subidentifier is split
 * as X.690 8.19.4 says (2.999 reads as 2.999; tests/data/edge/oid_arc_999.der). Called for every
 * name attribute, extension and EKU of every certificate: mbedtls_oid_get_numeric_string()
 * formats each arc with snprintf, a quarter of the whole analysis (docs/performance.md).
 */
static int oid_text(const uint8_t *p, size_t len, char *buf, size_t cap)
{
    size_t o = 0;
    bool first = true;
    if (len == 0 || (p[len - 1] & 0x80))
        return -1;
    for (size_t i = 0; i < len;) {
        uint64_t v = 0;
        do {
            if (v > (UINT64_MAX >> 7))
                return -1;
            v = (v << 7) | (p[i] & 0x7f);
        } while (p[i++] & 0x80);
        if (first) {
            unsigned top = v < 40 ? 0 : v < 80 ? 1 : 2;
            if (cap - o < 3)
                return -1;
            buf[o++] = (char)('0' + top);
            v -= 40u * top;
            first = false;
        }
        char digits[20];
        size_t nd = dec_u64(v, digits);
        if (cap - o < nd + 2)
            return -1;
        buf[o++] = '.';
        memcpy(buf + o, digits, nd);
        o += nd;
    }
    buf[o] = '\0';
    return (int)o;
}

/*
 * The dotted text of @oid: a static string for a common OID, else one in the arena
 * ("invalid-oid" when it cannot be read). With @name, also its sm_oid_name().
 */
/*
 * The dotted text of the DER OID @p/@len into *@ret: static for a common OID, else in the arena;
 * with @name, also its sm_oid_name(). 0, SM_E_CERT (not a readable OID) or -ENOMEM.
 */
static int oid_lookup(struct arena *a, const uint8_t *p, size_t len, const char **ret,
                      const char **name)
{
    int k = common_oid(p, len);
    if (k >= 0) {
        *ret = common_oids[k].dotted;
        if (name)
            *name = common_oid_names[k];
        return 0;
    }
    char buf[128];
    int n = oid_text(p, len, buf, sizeof(buf));
    if (n < 0)
        return SM_E_CERT;
    if (!(*ret = arena_strndup(a, buf, (size_t)n)))
        return -ENOMEM;
    if (name)
        *name = sm_oid_name(*ret);
    return 0;
}

static const char *oid_dotted_name(struct arena *a, const mbedtls_x509_buf *oid, const char **name)
{
    const char *d = NULL;
    if (name)
        *name = NULL;
    if (oid_lookup(a, oid->p, oid->len, &d, name) == SM_E_CERT)
        d = arena_strdup(a, "invalid-oid");
    return d;
}

static const char *oid_dotted(struct arena *a, const mbedtls_x509_buf *oid)
{
    return oid_dotted_name(a, oid, NULL);
}

static bool oid_is(const mbedtls_x509_buf *oid, const char *der, size_t len)
{
    return oid->len == len && memcmp(oid->p, der, len) == 0;
}

#define OID_IS(oid, lit) oid_is((oid), (lit), sizeof(lit) - 1)

/* OIDs in DER (contents only). */
#define OID_SID_EXT   "\x2b\x06\x01\x04\x01\x82\x37\x19\x02"
#define OID_SID_ON    "\x2b\x06\x01\x04\x01\x82\x37\x19\x02\x01"
#define OID_UPN       "\x2b\x06\x01\x04\x01\x82\x37\x14\x02\x03"
#define OID_TMPL_V2   "\x2b\x06\x01\x04\x01\x82\x37\x15\x07"
#define OID_TMPL_NAME "\x2b\x06\x01\x04\x01\x82\x37\x14\x02"
#define OID_AIA       "\x2b\x06\x01\x05\x05\x07\x01\x01"
#define OID_AD_OCSP   "\x2b\x06\x01\x05\x05\x07\x30\x01"
#define OID_AD_CAISS  "\x2b\x06\x01\x05\x05\x07\x30\x02"
#define OID_SKI       "\x55\x1d\x0e"
#define OID_KU        "\x55\x1d\x0f"
#define OID_SAN       "\x55\x1d\x11"
#define OID_BC        "\x55\x1d\x13"
#define OID_CRLDP     "\x55\x1d\x1f"
#define OID_AKI       "\x55\x1d\x23"
#define OID_EKU       "\x55\x1d\x25"
#define OID_RSA       "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01"
#define OID_RSA_PSS   "\x2a\x86\x48\x86\xf7\x0d\x01\x01\x0a"
#define OID_EC        "\x2a\x86\x48\xce\x3d\x02\x01"
#define OID_DSA       "\x2a\x86\x48\xce\x38\x04\x01"
#define OID_ED25519   "\x2b\x65\x70"
#define OID_ED448     "\x2b\x65\x71"

struct oid_name {
    const char *oid, *name;
};

/* Names for OIDs shown to people: EKUs, extensions, signature algorithms, curves. */
static const struct oid_name oid_names[] = {
    { "1.3.6.1.5.5.7.3.1", "serverAuth" },
    { "1.3.6.1.5.5.7.3.2", "clientAuth" },
    { "1.3.6.1.5.5.7.3.3", "codeSigning" },
    { "1.3.6.1.5.5.7.3.4", "emailProtection" },
    { "1.3.6.1.5.5.7.3.8", "timeStamping" },
    { "1.3.6.1.5.5.7.3.9", "OCSPSigning" },
    { "1.3.6.1.5.5.7.3.17", "ipsecIKE" },
    { "1.3.6.1.4.1.311.20.2.2", "smartcardLogon" },
    { "1.3.6.1.5.2.3.4", "id-pkinit-KPClientAuth" },
    { "1.3.6.1.5.2.3.5", "id-pkinit-KPKdc" },
    { "2.5.29.37.0", "anyExtendedKeyUsage" },
    { "1.3.6.1.4.1.311.10.3.4", "encryptedFileSystem" },
    { "1.3.6.1.4.1.311.10.3.12", "documentSigning" },
    { "2.5.29.14", "subjectKeyIdentifier" },
    { "2.5.29.15", "keyUsage" },
    { "2.5.29.17", "subjectAltName" },
    { "2.5.29.18", "issuerAltName" },
    { "2.5.29.19", "basicConstraints" },
    { "2.5.29.30", "nameConstraints" },
    { "2.5.29.31", "cRLDistributionPoints" },
    { "2.5.29.32", "certificatePolicies" },
    { "2.5.29.33", "policyMappings" },
    { "2.5.29.35", "authorityKeyIdentifier" },
    { "2.5.29.36", "policyConstraints" },
    { "2.5.29.37", "extKeyUsage" },
    { "2.5.29.46", "freshestCRL" },
    { "2.5.29.54", "inhibitAnyPolicy" },
    { "1.3.6.1.5.5.7.1.1", "authorityInfoAccess" },
    { "1.3.6.1.5.5.7.1.11", "subjectInfoAccess" },
    { "1.3.6.1.5.5.7.48.1.5", "ocspNoCheck" },
    { "1.3.6.1.4.1.11129.2.4.2", "ctPrecertificateSCTs" },
    { "1.3.6.1.4.1.311.25.2", "ntdsCaSecurity (SID)" },
    { "1.3.6.1.4.1.311.21.7", "certificateTemplate" },
    { "1.3.6.1.4.1.311.20.2", "enrollCertTypeExtension (template name)" },
    { "1.3.6.1.4.1.311.21.10", "applicationCertPolicies" },
    { "1.3.6.1.4.1.311.21.1", "caVersion" },
    { "1.2.840.113549.1.9.15", "smimeCapabilities" },
    { "2.16.840.1.113730.1.1", "nsCertType" },
    { "1.2.840.113549.1.1.5", "sha1WithRSAEncryption" },
    { "1.2.840.113549.1.1.11", "sha256WithRSAEncryption" },
    { "1.2.840.113549.1.1.12", "sha384WithRSAEncryption" },
    { "1.2.840.113549.1.1.13", "sha512WithRSAEncryption" },
    { "1.2.840.113549.1.1.10", "RSASSA-PSS" },
    { "1.2.840.10045.4.3.2", "ecdsa-with-SHA256" },
    { "1.2.840.10045.4.3.3", "ecdsa-with-SHA384" },
    { "1.2.840.10045.4.3.4", "ecdsa-with-SHA512" },
    { "1.2.840.10045.4.1", "ecdsa-with-SHA1" },
    { "1.3.101.112", "Ed25519" },
    { "1.3.101.113", "Ed448" },
    { "1.2.840.10040.4.3", "dsa-with-SHA1" },
    { "2.16.840.1.101.3.4.3.2", "dsa-with-SHA256" },
    { "1.2.840.10045.3.1.7", "P-256" },
    { "1.3.132.0.34", "P-384" },
    { "1.3.132.0.35", "P-521" },
    { "1.3.132.0.10", "secp256k1" },
    { "1.3.36.3.3.2.8.1.1.7", "brainpoolP256r1" },
    { "1.3.36.3.3.2.8.1.1.11", "brainpoolP384r1" },
    { "1.3.36.3.3.2.8.1.1.13", "brainpoolP512r1" },
};

/*
 * The table in strcmp order, for a binary search: sm_oid_name() runs for every extension, EKU
 * and signature of every certificate, and a linear scan cost more than the name walk itself.
 * Sorted once, at the first call, so the source table can stay grouped by kind.
 */
static const struct oid_name *oid_sorted[ARRAY_SIZE(oid_names)];
static pthread_once_t oid_sorted_once = PTHREAD_ONCE_INIT;

static int oid_name_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct oid_name *const *)a)->oid,
                  (*(const struct oid_name *const *)b)->oid);
}

static void oid_sort(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(oid_names); i++)
        oid_sorted[i] = &oid_names[i];
    qsort(oid_sorted, ARRAY_SIZE(oid_sorted), sizeof(oid_sorted[0]), oid_name_cmp);
}

const char *sm_oid_name(const char *dotted)
{
    const struct oid_name key = { .oid = dotted }, *k = &key, *const * hit;
    pthread_once(&oid_sorted_once, oid_sort);
    hit = bsearch(&k, oid_sorted, ARRAY_SIZE(oid_sorted), sizeof(oid_sorted[0]), oid_name_cmp);
    return hit ? (*hit)->name : NULL;
}

/* Critical extensions a Windows DC understands (CryptoAPI): anything else breaks the chain. */
static bool windows_knows_critical(const char *dotted)
{
    static const char *const known[] = {
        "2.5.29.14",
        "2.5.29.15",
        "2.5.29.17",
        "2.5.29.18",
        "2.5.29.19",
        "2.5.29.30",
        "2.5.29.31",
        "2.5.29.32",
        "2.5.29.33",
        "2.5.29.35",
        "2.5.29.36",
        "2.5.29.37",
        "2.5.29.54",
        "1.3.6.1.5.5.7.1.1",
        "1.3.6.1.4.1.311.21.10",
        "1.3.6.1.4.1.311.25.2",
        "1.3.6.1.4.1.311.21.7",
        "1.3.6.1.4.1.311.20.2",
    };
    for (size_t i = 0; i < ARRAY_SIZE(known); i++)
        if (strcmp(known[i], dotted) == 0)
            return true;
    return false;
}

static void add_finding(struct ctx *x, const char *code, enum sm_severity sev, const char *fix,
                        const char *fmt, ...) SM_PRINTF(5, 6);

static void add_finding(struct ctx *x, const char *code, enum sm_severity sev, const char *fix,
                        const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (findings_add(&x->c->findings, x->a, code, sev, fix, "%s", msg) < 0)
        x->err = -ENOMEM;
}

/* Text from an IA5String-ish value, sanitised; sets *lossy for non-ASCII or invalid bytes. */
static const char *ia5_text(struct arena *a, const uint8_t *p, size_t len, bool *lossy)
{
    struct sbuf b;
    sbuf_init(&b, a);
    bool bad = false;
    for (size_t i = 0; i < len; i++)
        if (p[i] >= 0x80 || p[i] == 0)
            bad = true;
    if (bad)
        utf8_sanitize(&b, (const char *)p, len);
    else
        sbuf_put(&b, (const char *)p, len);
    if (lossy)
        *lossy = bad;
    return sbuf_str(&b);
}

static const char *hex_dup(struct arena *a, const uint8_t *p, size_t len)
{
    char *s = arena_alloc(a, 2 * len + 1);
    if (s)
        hex_upper(p, len, s);
    return s;
}

/* ---- names --------------------------------------------------------------------------- */

/*
 * Walk a Name (its whole SEQUENCE TLV): SEQUENCE OF SET OF AttributeTypeAndValue. Any value
 * type is accepted (mbedTLS's own name parser refuses NumericString, VisibleString and
 * non-string values, which openssl and Windows read); @attrs holds SM_MAX_NAME_ATTRS.
 * Returns the number of attributes, or SM_E_CERT / SM_E_TOO_MANY / -ENOMEM.
 */
static int walk_name(struct ctx *x, const uint8_t *der, size_t len, struct sm_name_attr *attrs)
{
    unsigned char *p = (unsigned char *)(uintptr_t)der, *end = p + len;
    size_t l, n = 0;
    if (mbedtls_asn1_get_tag(&p, end, &l, TAG_SEQ) != 0 || p + l != end)
        return SM_E_CERT;
    while (p < end) {
        if (mbedtls_asn1_get_tag(&p, end, &l, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SET) != 0 ||
            l == 0)
            return SM_E_CERT;
        unsigned char *set_end = p + l;
        while (p < set_end) {
            if (mbedtls_asn1_get_tag(&p, set_end, &l, TAG_SEQ) != 0)
                return SM_E_CERT;
            unsigned char *atv_end = p + l;
            if (mbedtls_asn1_get_tag(&p, atv_end, &l, MBEDTLS_ASN1_OID) != 0)
                return SM_E_CERT;
            mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = l, .p = p };
            p += l;
            if (p >= atv_end)
                return SM_E_CERT;
            int tag = *p++;
            if (mbedtls_asn1_get_len(&p, atv_end, &l) != 0 || p + l != atv_end)
                return SM_E_CERT;
            if (n >= SM_MAX_NAME_ATTRS)
                return SM_E_TOO_MANY;
            const char *dotted;
            int r = oid_lookup(x->a, oid.p, oid.len, &dotted, NULL);
            if (r < 0)
                return r;
            memset(&attrs[n], 0, sizeof(attrs[n]));
            if ((r = name_attr_set(x->a, &attrs[n], dotted, tag, p, l)) < 0)
                return r;
            attrs[n].next_same_rdn = atv_end < set_end;
            n++;
            p = atv_end;
        }
    }
    return (int)n;
}

static int convert_name(struct ctx *x, const uint8_t *der, size_t len, struct sm_name *out)
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

/* A GeneralName directoryName ([4] EXPLICIT Name) as RFC 4514, or NULL. */
static const char *dirname_text(struct ctx *x, const uint8_t *p, size_t len)
{
    struct sm_name name;
    memset(&name, 0, sizeof(name));
    return convert_name(x, p, len, &name) == 0 ? name.rfc4514 : NULL;
}

/* ---- SAN and the SID ------------------------------------------------------------------- */

static void sid_from_text(struct ctx *x, struct sm_sid_carrier *car, const uint8_t *p, size_t len)
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
    unsigned char *p = (unsigned char *)(uintptr_t)val, *end = p + vlen;
    size_t len;
    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0 || p + len != end) {
        add_finding(x, "san_malformed", SM_SEV_ERROR, NULL,
                    "The subjectAltName extension is not a valid GeneralNames SEQUENCE.");
        return 0;
    }
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
                s->value = hex_dup(x->a, v, (size_t)(vend - v));
                break;
            }
            oid.p = v;
            oid.len = l;
            v += l;
            s->oid = oid_dotted(x->a, &oid);
            unsigned char *inner = v;
            if (OID_IS(&oid, OID_UPN) && mbedtls_asn1_get_tag(&inner, vend, &l, TAG_CTX0) == 0 &&
                inner + l == vend) {
                int st = *inner;
                unsigned char *q = inner;
                size_t sl;
                if (mbedtls_asn1_get_tag(&q, vend, &sl, (unsigned char)st) == 0 && q + sl == vend) {
                    struct sbuf b;
                    sbuf_init(&b, x->a);
                    bool lossy = false;
                    if (asn1_string_to_utf8(&b, st, q, sl, &lossy) == 1) {
                        s->type = SM_SAN_UPN;
                        s->value = sbuf_str(&b);
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
            s->value = hex_dup(x->a, v, (size_t)(vend - v));
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
                s->value = hex_dup(x->a, v, len);
            break;
        }
        case SM_SAN_DIRNAME:
            s->value = dirname_text(x, v, len);
            if (!s->value)
                s->value = hex_dup(x->a, v, len);
            break;
        case SM_SAN_RID: {
            mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = v };
            s->value = oid_dotted(x->a, &oid);
            s->oid = s->value;
            break;
        }
        default: s->value = hex_dup(x->a, v, len); break;
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
    unsigned char *p = (unsigned char *)(uintptr_t)val, *end = p + vlen;
    size_t len;
    unsigned found = 0;
    const uint8_t *text = NULL;
    size_t text_len = 0;

    car->critical = critical;
    car->status = SM_SID_MALFORMED;
    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0) {
        car->reason = "the extension value is not a SEQUENCE of GeneralName";
        return;
    }
    if (p + len != end) {
        car->reason = "the extension value has bytes after the SEQUENCE";
        return;
    }
    if (len == 0) {
        car->reason = "the extension is empty (no SID otherName)";
        return;
    }
    while (p < end) {
        unsigned char *q = p, *gend;
        if (mbedtls_asn1_get_tag(&q, end, &len, TAG_CTX0) != 0) {
            car->reason = arena_printf(x->a,
                                       "the extension holds a GeneralName with tag 0x%02X, "
                                       "not an otherName",
                                       *p);
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
            car->reason = arena_printf(x->a, "the otherName type-id is %s, not %s",
                                       oid_dotted(x->a, &oid), SM_OID_SID_OTHERNAME);
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
        return;
    }
    sid_from_text(x, car, text, text_len);
}

/* ---- other extensions ------------------------------------------------------------------ */

static void parse_eku(struct ctx *x, const uint8_t *val, size_t vlen)
{
    unsigned char *p = (unsigned char *)(uintptr_t)val, *end = p + vlen;
    size_t len;
    x->c->has_eku = true;
    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
        goto bad;
    end = p + len;
    while (p < end) {
        if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OID) != 0)
            goto bad;
        mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = p };
        p += len;
        if (x->n_eku < SM_MAX_LIST)
            x->eku[x->n_eku++] = oid_dotted(x->a, &oid);
    }
    return;
bad:
    add_finding(x, "eku_malformed", SM_SEV_ERROR, NULL,
                "The extendedKeyUsage extension is malformed.");
}

static void parse_ku(struct ctx *x, const uint8_t *val, size_t vlen)
{
    unsigned char *p = (unsigned char *)(uintptr_t)val, *end = p + vlen;
    mbedtls_asn1_bitstring bs;
    if (mbedtls_asn1_get_bitstring(&p, end, &bs) != 0) {
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
    unsigned char *p = (unsigned char *)(uintptr_t)val, *end = p + vlen;
    size_t len;
    int ca = 0, pl = -1;
    x->c->has_basic_constraints = true;
    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
        goto bad;
    end = p + len;
    if (p < end && *p == MBEDTLS_ASN1_BOOLEAN && mbedtls_asn1_get_bool(&p, end, &ca) != 0)
        goto bad;
    if (p < end && mbedtls_asn1_get_int(&p, end, &pl) != 0)
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
    unsigned char *p = (unsigned char *)(uintptr_t)val, *end = p + vlen;
    size_t len;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OCTET_STRING) != 0 || p + len != end ||
        len == 0) {
        add_finding(x, "ski_malformed", SM_SEV_ERROR, NULL,
                    "The subjectKeyIdentifier extension is not an OCTET STRING.");
        return;
    }
    x->c->ski = hex_dup(x->a, p, len);
    CHECK_ALLOC(x, x->c->ski);
}

static void parse_aki(struct ctx *x, const uint8_t *val, size_t vlen)
{
    unsigned char *p = (unsigned char *)(uintptr_t)val, *end = p + vlen;
    size_t len;
    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
        return;
    end = p + len;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONTEXT_SPECIFIC | 0) == 0) {
        x->c->aki = hex_dup(x->a, p, len);
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
    unsigned char *p = (unsigned char *)(uintptr_t)val, *end = p + vlen;
    size_t len;
    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
        return;
    end = p + len;
    while (p < end) {
        if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
            return;
        unsigned char *dp = p, *dpend = p + len;
        p = dpend;
        /* distributionPoint [0] { fullName [0] GeneralNames } */
        if (mbedtls_asn1_get_tag(&dp, dpend, &len, TAG_CTX0) != 0)
            continue;
        unsigned char *dpn_end = dp + len;
        if (mbedtls_asn1_get_tag(&dp, dpn_end, &len, TAG_CTX0) != 0)
            continue;
        collect_uris(x, dp, dp + len, x->crl, &x->n_crl);
    }
}

static void parse_aia(struct ctx *x, const uint8_t *val, size_t vlen)
{
    unsigned char *p = (unsigned char *)(uintptr_t)val, *end = p + vlen;
    size_t len;
    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
        return;
    end = p + len;
    while (p < end) {
        if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
            return;
        unsigned char *ad = p, *adend = p + len;
        p = adend;
        if (mbedtls_asn1_get_tag(&ad, adend, &len, MBEDTLS_ASN1_OID) != 0)
            continue;
        mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = ad };
        ad += len;
        if (OID_IS(&oid, OID_AD_CAISS))
            collect_uris(x, ad, adend, x->aia_i, &x->n_aia_i);
        else if (OID_IS(&oid, OID_AD_OCSP))
            collect_uris(x, ad, adend, x->aia_o, &x->n_aia_o);
    }
}

static void parse_template_v2(struct ctx *x, const uint8_t *val, size_t vlen)
{
    unsigned char *p = (unsigned char *)(uintptr_t)val, *end = p + vlen;
    size_t len;
    struct sm_template *t = &x->c->tmpl;
    x->c->has_template = true;
    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
        return;
    end = p + len;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_OID) != 0)
        return;
    mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = p };
    p += len;
    t->oid = oid_dotted(x->a, &oid);
    int v;
    if (p < end && mbedtls_asn1_get_int(&p, end, &v) == 0)
        t->major = v;
    if (p < end && mbedtls_asn1_get_int(&p, end, &v) == 0)
        t->minor = v;
}

static void parse_template_name(struct ctx *x, const uint8_t *val, size_t vlen)
{
    if (vlen < 2)
        return;
    unsigned char *p = (unsigned char *)(uintptr_t)val, *end = p + vlen;
    int tag = *p;
    size_t len;
    if (mbedtls_asn1_get_tag(&p, end, &len, (unsigned char)tag) != 0)
        return;
    struct sbuf b;
    sbuf_init(&b, x->a);
    bool lossy;
    if (asn1_string_to_utf8(&b, tag, p, len, &lossy) == 1) {
        x->c->has_template = true;
        x->c->tmpl.name = sbuf_str(&b);
    }
}

/* Walk the Extensions SEQUENCE: mbedTLS 2.28 leaves SKI, AKI, CRLDP, AIA, the SID undecoded. */
static int walk_extensions(struct ctx *x, const mbedtls_x509_buf *v3)
{
    struct sm_cert *c = x->c;
    if (!v3->p || v3->len == 0)
        return 0;
    unsigned char *p = v3->p, *end = v3->p + v3->len;
    size_t len;
    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
        return SM_E_CERT;
    end = p + len;
    struct sm_ext *exts = arena_alloc(x->a, SM_MAX_EXTENSIONS * sizeof(*exts));
    if (!exts)
        return -ENOMEM;
    size_t n = 0;
    bool seen_san = false;
    while (p < end) {
        unsigned char *eend;
        int crit = 0;
        if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
            return SM_E_CERT;
        eend = p + len;
        if (mbedtls_asn1_get_tag(&p, eend, &len, MBEDTLS_ASN1_OID) != 0)
            return SM_E_CERT;
        mbedtls_x509_buf oid = { .tag = MBEDTLS_ASN1_OID, .len = len, .p = p };
        p += len;
        int r = mbedtls_asn1_get_bool(&p, eend, &crit);
        if (r != 0 && r != MBEDTLS_ERR_ASN1_UNEXPECTED_TAG)
            return SM_E_CERT;
        if (mbedtls_asn1_get_tag(&p, eend, &len, MBEDTLS_ASN1_OCTET_STRING) != 0)
            return SM_E_CERT;
        const uint8_t *val = p;
        size_t vlen = len;
        p = eend;
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
static void analyse_spki(struct ctx *x, const mbedtls_x509_buf *spki)
{
    struct sm_cert *c = x->c;
    unsigned char *p = spki->p, *end = spki->p + spki->len;
    size_t len;
    mbedtls_x509_buf alg, params;
    mbedtls_asn1_bitstring bits;

    c->key_type = "unknown";
    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
        return;
    end = p + len;
    if (mbedtls_asn1_get_alg(&p, end, &alg, &params) != 0)
        return;
    if (mbedtls_asn1_get_bitstring(&p, end, &bits) != 0)
        return;
    uint8_t h[SM_SHA1_LEN];
    sm_sha1(bits.p, bits.len, h);
    hex_upper(h, 20, c->spk_sha1);

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
    }
}

static void set_time(struct ctx *x, const mbedtls_x509_time *t, const char **text, time_t *tt)
{
    /* mbedTLS (and walk_tbs through it) bounds every field: month 1-12, day 1-31 */
    *tt = (time_t)(days_from_civil(t->year, (unsigned)t->mon, (unsigned)t->day) * 86400 +
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
    unsigned char *p = (unsigned char *)(uintptr_t)der, *end = p + der_len, *tbs_end;
    size_t len;
    mbedtls_x509_buf alg, params;

    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
        return -1;
    end = p + len;
    if (mbedtls_asn1_get_tag(&p, end, &len, TAG_SEQ) != 0)
        return -1;
    tbs_end = p + len;
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
    p = tbs_end;
    if (mbedtls_x509_get_alg(&p, end, &v->sig_oid, &params) != 0)
        return -1;
    v->raw = der;
    v->raw_len = (size_t)(end - der);
    return 0;
}

/* ---- mappings and findings --------------------------------------------------------------- */

static void add_mapping(struct ctx *x, enum sm_map_type t, const char *value, const char *samba,
                        bool samba_supported)
{
    CHECK_ALLOC(x, value);
    if (x->n_maps >= ARRAY_SIZE(x->maps) || !value)
        return;
    struct sm_mapping *m = &x->maps[x->n_maps++];
    m->type = t;
    m->value = value;
    m->samba = samba && strcmp(samba, value) != 0 ? samba : NULL;
    m->samba_supported = samba_supported;
}

static void build_mappings(struct ctx *x)
{
    struct sm_cert *c = x->c;
    struct arena *a = x->a;
    const char *iss = c->issuer.ad, *sub = c->subject.ad;
    size_t slen = strlen(c->serial) / 2;
    uint8_t ser[128];
    const char *rev = NULL, *rev_samba = NULL;

    if (slen <= sizeof(ser) && hex_decode(c->serial, slen * 2, ser, sizeof(ser)) >= 0) {
        uint8_t r[128];
        for (size_t i = 0; i < slen; i++)
            r[i] = ser[slen - 1 - i];
        rev = hex_dup(a, r, slen);
        /* Samba strips the DER sign byte, which is the last byte once reversed */
        rev_samba = hex_dup(a, r, c->serial_sign_byte ? slen - 1 : slen);
    }
    /* Samba's parser starts a new tag at every '<': a name holding one can never match there */
    bool samba_iss = !strchr(c->issuer.samba, '<'), samba_sub = !strchr(c->subject.samba, '<');
    if (rev)
        add_mapping(x, SM_MAP_ISSUER_SERIAL, arena_cat(a, "X509:<I>", iss, "<SR>", rev, NULL),
                    arena_cat(a, "X509:<I>", c->issuer.samba, "<SR>", rev_samba, NULL), samba_iss);
    if (c->ski)
        add_mapping(x, SM_MAP_SKI, arena_cat(a, "X509:<SKI>", c->ski, NULL), NULL, true);
    add_mapping(x, SM_MAP_SHA1_PUKEY, arena_cat(a, "X509:<SHA1-PUKEY>", c->sha1, NULL), NULL, true);
    if (c->sid.status == SM_SID_VALID) {
        const struct sm_sid *sid =
            c->sid.source == SM_SID_SOURCE_EXTENSION ? &c->sid.extension.sid : &c->sid.uri.sid;
        char st[SM_SID_TEXT_MAX];
        sm_sid_format(sid, st, sizeof(st));
        add_mapping(x, SM_MAP_ISSUER_SID, arena_cat(a, "X509:<I>", iss, "<SID>", st, NULL), NULL,
                    false);
    }
    if (c->subject.n_attrs) {
        add_mapping(x, SM_MAP_ISSUER_SUBJECT, arena_cat(a, "X509:<I>", iss, "<S>", sub, NULL),
                    arena_cat(a, "X509:<I>", c->issuer.samba, "<S>", c->subject.samba, NULL),
                    samba_iss && samba_sub);
        add_mapping(x, SM_MAP_SUBJECT_ONLY, arena_cat(a, "X509:<S>", sub, NULL),
                    arena_cat(a, "X509:<S>", c->subject.samba, NULL), samba_sub);
    }
    for (size_t i = 0; i < c->n_san; i++)
        if (c->san[i].type == SM_SAN_EMAIL)
            add_mapping(x, SM_MAP_RFC822, arena_cat(a, "X509:<RFC822>", c->san[i].value, NULL),
                        NULL, true);
    struct sm_mapping *m = arena_alloc(a, (x->n_maps ? x->n_maps : 1) * sizeof(*m));
    CHECK_ALLOC(x, m);
    if (m)
        memcpy(m, x->maps, x->n_maps * sizeof(*m));
    c->mappings = m;
    c->n_mappings = x->n_maps;
}

static bool eku_allows_logon(const struct sm_cert *c)
{
    static const char *const logon[] = { "1.3.6.1.5.5.7.3.2", "1.3.6.1.4.1.311.20.2.2",
                                         "1.3.6.1.5.2.3.4", "2.5.29.37.0" };
    for (size_t i = 0; i < c->n_eku; i++)
        for (size_t k = 0; k < ARRAY_SIZE(logon); k++)
            if (strcmp(c->eku[i], logon[k]) == 0)
                return true;
    return false;
}

static void sid_findings(struct ctx *x)
{
    struct sm_cert *c = x->c;
    const struct sm_sid_carrier *e = &c->sid.extension, *u = &c->sid.uri;
    char t1[SM_SID_TEXT_MAX], t2[SM_SID_TEXT_MAX];

    if (e->status == SM_SID_ABSENT && u->status == SM_SID_ABSENT) {
        add_finding(x, "no_sid", SM_SEV_WARNING, NULL,
                    "The certificate carries no SID (no 1.3.6.1.4.1.311.25.2 extension, no "
                    "SAN URI " SM_SID_URI_PREFIX "...). Under full enforcement it maps only "
                    "through a strong altSecurityIdentities value (X509IssuerSerialNumber, "
                    "X509SKI, X509SHA1PublicKey) on the account; otherwise the DC denies it "
                    "with event 39.");
    }
    if (e->status == SM_SID_MALFORMED)
        add_finding(x, "sid_extension_malformed", SM_SEV_ERROR, NULL,
                    "The SID extension is malformed (%s). A Windows DC fails the logon with "
                    "KRB_ERR_GENERIC (60) and logs no event; Samba ignores the extension.",
                    e->reason);
    if (e->status == SM_SID_VALID && e->critical)
        add_finding(x, "sid_extension_critical", SM_SEV_WARNING, NULL,
                    "The SID extension is marked critical; AD CS writes it non-critical and "
                    "software that does not know it will reject the certificate.");
    if (u->status == SM_SID_MALFORMED)
        add_finding(x, "sid_uri_malformed",
                    e->status == SM_SID_ABSENT ? SM_SEV_ERROR : SM_SEV_WARNING, NULL,
                    "The SID URI in the SAN is malformed (%s).%s", u->reason,
                    e->status == SM_SID_ABSENT
                        ? " Windows Server 2019 and later DCs fail the logon with "
                          "KRB_ERR_GENERIC (60)."
                        : " Windows DCs ignore it because the SID extension takes precedence.");
    if (c->sid.conflict)
        add_finding(x, "sid_conflict", SM_SEV_ERROR, NULL,
                    "The SID extension (%s) and the SAN URI (%s) disagree. Windows uses the "
                    "extension and never reads the URI; fix the issuance so both carry the "
                    "same SID.",
                    sm_sid_format(&e->sid, t1, sizeof(t1)), sm_sid_format(&u->sid, t2, sizeof(t2)));
    if (e->status == SM_SID_ABSENT && u->status == SM_SID_VALID)
        add_finding(x, "sid_uri_only", SM_SEV_WARNING, NULL,
                    "The SID is carried only in the SAN URI: Windows Server 2019 and later DCs "
                    "use it, Windows Server 2016 DCs and Samba do not (they see no SID).");
    if ((e->status == SM_SID_VALID && !e->canonical) ||
        (e->status == SM_SID_ABSENT && u->status == SM_SID_VALID && !u->canonical))
        add_finding(x, "sid_text_not_canonical", SM_SEV_WARNING, NULL,
                    "The SID text is not in canonical form (canonical: %s). Windows compares "
                    "binary SIDs and accepts it; Samba compares the text byte for byte and "
                    "will see a different SID.",
                    sm_sid_format(e->status == SM_SID_VALID ? &e->sid : &u->sid, t1, sizeof(t1)));
}

static void findings(struct ctx *x, size_t trailing)
{
    struct sm_cert *c = x->c;

    sid_findings(x);
    if (!c->ski)
        add_finding(x, "no_ski", SM_SEV_WARNING, NULL,
                    "No subjectKeyIdentifier extension: an X509SKI mapping is impossible for "
                    "this certificate (the KDC computes no fallback); use "
                    "X509IssuerSerialNumber instead.");
    if (c->has_eku && !eku_allows_logon(c))
        add_finding(x, "eku_not_logon", SM_SEV_ERROR, NULL,
                    "The extendedKeyUsage has none of Client Authentication, Smart Card Logon, "
                    "id-pkinit-KPClientAuth or anyExtendedKeyUsage: the DC answers "
                    "KDC_ERR_INCONSISTENT_KEY_PURPOSE (77).");
    if (!c->has_eku)
        add_finding(x, "no_eku", SM_SEV_INFO, NULL,
                    "No extendedKeyUsage extension: the KDC accepts any purpose, but NPS and "
                    "VPN servers usually require Client Authentication.");
    if (c->has_key_usage && !(c->key_usage & 0x80))
        add_finding(x, "key_usage_no_signature", SM_SEV_WARNING, NULL,
                    "keyUsage lacks digitalSignature, which PKINIT and TLS client "
                    "authentication need.");
    if (c->is_ca)
        add_finding(x, "ca_certificate", SM_SEV_WARNING, NULL,
                    "This is a CA certificate (basicConstraints CA:TRUE), not an end-entity "
                    "logon certificate.");
    if (x->now < c->not_before_t)
        add_finding(x, "not_yet_valid", SM_SEV_ERROR, NULL,
                    "The certificate is not valid before %s: the DC answers "
                    "KDC_ERR_INVALID_CERTIFICATE (71).",
                    c->not_before);
    else if (x->now > c->not_after_t)
        add_finding(x, "expired", SM_SEV_ERROR, NULL,
                    "The certificate expired at %s: the DC answers KDC_ERR_INVALID_CERTIFICATE "
                    "(71).",
                    c->not_after);
    bool upn = false;
    for (size_t i = 0; i < c->n_san; i++)
        upn |= c->san[i].type == SM_SAN_UPN;
    if (!upn && !c->n_san)
        add_finding(x, "no_san", SM_SEV_INFO, NULL,
                    "No subjectAltName: the DC cannot map it implicitly (no UPN, no DNS name); "
                    "only explicit altSecurityIdentities mappings apply.");
    for (size_t i = 0; i < c->n_san; i++)
        if (c->san[i].lossy)
            add_finding(x, "san_invalid_text", SM_SEV_WARNING, NULL,
                        "SAN entry %zu has bytes that are not valid for its type; they are "
                        "shown as U+FFFD.",
                        i);
    const struct sm_name *names[2] = { &c->subject, &c->issuer };
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 0; i < names[k]->n_attrs; i++)
            if (names[k]->attrs[i].lossy)
                add_finding(x, "name_invalid_text", SM_SEV_WARNING, NULL,
                            "The %s has a value with bytes that are not valid for its string "
                            "type; they are shown as U+FFFD and a DC may render them "
                            "differently.",
                            k ? "issuer" : "subject");
    if (c->subject.n_attrs == 0)
        add_finding(x, "empty_subject", SM_SEV_INFO, NULL,
                    "The subject is empty: X509IssuerSubject and X509SubjectOnly mappings are "
                    "impossible.");
    if (c->subject.multi_valued || c->issuer.multi_valued)
        add_finding(x, "multi_valued_rdn", SM_SEV_INFO, NULL,
                    "A name has a multi-valued RDN: the KDC joins its attributes with a space, "
                    "Samba's RFC 4514 form with '+'; names built by hand often get this wrong.");
    if (c->serial_sign_byte)
        add_finding(x, "serial_sign_byte", SM_SEV_INFO, NULL,
                    "The serial number's DER encoding starts with a 00 sign byte. Windows "
                    "keeps it in <SR> (as the trailing 00 once reversed); Samba strips it. "
                    "Tools that drop it produce an X509IssuerSerialNumber that never matches "
                    "on Windows.");
    if (c->serial_negative)
        add_finding(x, "serial_negative", SM_SEV_WARNING, NULL,
                    "The serial number is negative (RFC 5280 requires a positive integer).");
    if (!c->full_parse)
        add_finding(x, "partial_parse", SM_SEV_INFO, NULL,
                    "mbedTLS cannot take this certificate whole (%s); every fact shown was read "
                    "field by field.",
                    c->parse_note);
    if (trailing)
        add_finding(x, "trailing_data", SM_SEV_WARNING, NULL,
                    "%zu bytes follow the certificate's DER encoding and were ignored.", trailing);
}

/* ---- one certificate ------------------------------------------------------------------- */

static int ext_cb(void *ctx, mbedtls_x509_crt const *crt, mbedtls_x509_buf const *oid, int critical,
                  const unsigned char *p, const unsigned char *end)
{
    /* Every extension is decoded by walk_extensions(); accept what mbedTLS does not know. */
    (void)ctx, (void)crt, (void)oid, (void)critical, (void)p, (void)end;
    return 0;
}

/*
 * Analyse the DER certificate @der (owned by the arena). Returns 0, or SM_E_CERT with the
 * reason in @e, or -ENOMEM / SM_E_TOO_MANY.
 */
static int analyse(struct arena *a, const uint8_t *der, size_t len, size_t trailing, time_t now,
                   struct sm_cert *c, struct sm_errinfo *e)
{
    struct ctx *x = malloc(sizeof(*x));
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

    ret = mbedtls_x509_crt_parse_der_with_ext_cb(&crt, der, len, 0, ext_cb, NULL);
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
    }

    c->der = v.raw;
    c->der_len = v.raw_len;
    c->version = v.version;
    c->serial = hex_dup(a, v.serial.p, v.serial.len);
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

    uint8_t h[SM_SHA256_LEN];
    sm_sha1(v.raw, v.raw_len, h);
    hex_upper(h, 20, c->sha1);
    sm_sha256(v.raw, v.raw_len, h);
    hex_upper(h, 32, c->sha256);
    sm_sha1(v.spki.p, v.spki.len, h);
    hex_upper(h, 20, c->spki_sha1);
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

    build_mappings(x);
    findings(x, trailing);
    ret = x->err;
out:
    mbedtls_x509_crt_free(&crt);
    free(x);
    return ret;
}

/* ---- input framing ---------------------------------------------------------------------- */

struct block {
    const uint8_t *der;
    size_t len, trailing;
    long offset;
    int err;
    const char *msg;
};

struct certs_impl {
    struct sm_certs pub;
    struct arena *a;
};

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Decode base64 text (white space allowed anywhere) into the arena. */
static int b64_decode(struct arena *a, const uint8_t *p, size_t len, uint8_t **ret, size_t *ret_len)
{
    uint8_t *out = arena_alloc(a, len / 4 * 3 + 3);
    if (!out)
        return -ENOMEM;
    long n = base64_decode_ws((const char *)p, len, out);
    if (n <= 0)
        return SM_E_FORMAT;
    *ret = out;
    *ret_len = (size_t)n;
    return 0;
}

/* Length of the DER element at @p (tag 0x30), or 0 when it does not fit in @len. */
static size_t der_seq_len(const uint8_t *p, size_t len)
{
    unsigned char *q = (unsigned char *)(uintptr_t)p;
    size_t l;
    if (mbedtls_asn1_get_tag(&q, q + len, &l, TAG_SEQ) != 0)
        return 0;
    return (size_t)(q - p) + l;
}

static const uint8_t *find_str(const uint8_t *p, const uint8_t *end, const char *s)
{
    size_t n = strlen(s);
    for (; p + n <= end; p++)
        if (*p == (uint8_t)s[0] && memcmp(p, s, n) == 0)
            return p;
    return NULL;
}

static int add_block(struct block *blocks, size_t *n, struct block b)
{
    if (*n >= SM_MAX_CERTS)
        return SM_E_TOO_MANY;
    blocks[(*n)++] = b;
    return 0;
}

static int split_der(const uint8_t *p, size_t len, long base, const char *what,
                     struct block *blocks, size_t *n)
{
    size_t off = 0;
    while (off < len) {
        size_t l = der_seq_len(p + off, len - off);
        if (l == 0) {
            if (*n == 0)
                return add_block(
                    blocks, n,
                    (struct block){ .offset = base + (long)off, .err = SM_E_CERT, .msg = what });
            blocks[*n - 1].trailing += len - off;
            return 0;
        }
        if (l > SM_MAX_CERT_DER)
            return SM_E_TOO_BIG;
        int r = add_block(blocks, n,
                          (struct block){ .der = p + off, .len = l, .offset = base + (long)off });
        if (r < 0)
            return r;
        off += l;
    }
    return 0;
}

static int split_pem(struct arena *a, const uint8_t *p, size_t len, struct block *blocks, size_t *n,
                     unsigned *other)
{
    const uint8_t *end = p + len, *cur = p;
    static const char *const types[] = { "CERTIFICATE-----", "X509 CERTIFICATE-----",
                                         "TRUSTED CERTIFICATE-----" };
    while ((cur = find_str(cur, end, "-----BEGIN ")) != NULL) {
        const uint8_t *label = cur + 11, *body = NULL;
        const char *type = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
            if ((size_t)(end - label) >= strlen(types[i]) &&
                memcmp(label, types[i], strlen(types[i])) == 0) {
                type = types[i];
                body = label + strlen(types[i]);
            }
        if (!type) {
            (*other)++;
            cur = label;
            continue;
        }
        long off = (long)(cur - p);
        char endmark[64];
        snprintf(endmark, sizeof(endmark), "-----END %s", type);
        const uint8_t *stop = find_str(body, end, endmark);
        if (!stop) {
            return add_block(blocks, n,
                             (struct block){ .offset = off,
                                             .err = SM_E_FORMAT,
                                             .msg = "PEM block has no END line" });
        }
        cur = stop + strlen(endmark);
        uint8_t *der;
        size_t dlen;
        int r = b64_decode(a, body, (size_t)(stop - body), &der, &dlen);
        if (r == -ENOMEM)
            return r;
        if (r < 0) {
            r = add_block(blocks, n,
                          (struct block){ .offset = off,
                                          .err = SM_E_FORMAT,
                                          .msg = "PEM block is not valid base64" });
        } else {
            size_t l = der_seq_len(der, dlen);
            if (l == 0)
                r = add_block(blocks, n,
                              (struct block){ .offset = off,
                                              .err = SM_E_CERT,
                                              .msg = "PEM block does not hold a DER SEQUENCE" });
            else if (l > SM_MAX_CERT_DER)
                return SM_E_TOO_BIG;
            else /* TRUSTED CERTIFICATE carries auxiliary data after the certificate */
                r = add_block(
                    blocks, n,
                    (struct block){ .der = der,
                                    .len = l,
                                    .offset = off,
                                    .trailing = strcmp(type, types[2]) == 0 ? 0 : dlen - l });
        }
        if (r < 0)
            return r;
    }
    return 0;
}

int sm_certs_parse(const void *buf, size_t len, const struct sm_parse_opts *opts,
                   struct sm_certs **ret, struct sm_errinfo *reterr)
{
    const uint8_t *p = buf;
    struct certs_impl *impl = NULL;
    struct block blocks[SM_MAX_CERTS];
    size_t n = 0;
    unsigned other = 0;
    const char *format;
    int r;

    if (len == 0) {
        errinfo_set(reterr, 0, "the input is empty");
        return SM_E_EMPTY;
    }
    if (len > SM_MAX_INPUT) {
        errinfo_set(reterr, -1, "the input is larger than %d bytes", SM_MAX_INPUT);
        return SM_E_TOO_BIG;
    }
    impl = calloc(1, sizeof(*impl));
    if (!impl || !(impl->a = arena_new())) {
        r = -ENOMEM;
        goto out_fail;
    }
    size_t skip = 0;
    while (skip < len && is_space(p[skip]))
        skip++;
    if (skip < len && p[skip] == 0x30) {
        format = "der";
        r = split_der(p + skip, len - skip, (long)skip,
                      "not a DER certificate (the outer SEQUENCE is invalid or truncated)", blocks,
                      &n);
    } else if (find_str(p, p + len, "-----BEGIN ")) {
        format = "pem";
        r = split_pem(impl->a, p, len, blocks, &n, &other);
        if (r == 0 && n == 0) {
            errinfo_set(reterr, -1,
                        "no certificate in the PEM input (%u PEM block%s of another type)", other,
                        other == 1 ? "" : "s");
            r = SM_E_FORMAT;
            goto out_fail;
        }
    } else {
        uint8_t *der;
        size_t dlen;
        format = "base64";
        r = b64_decode(impl->a, p, len, &der, &dlen);
        if (r == SM_E_FORMAT) {
            errinfo_set(reterr, -1, "the input is not PEM, DER or base64-encoded DER");
            goto out_fail;
        }
        if (r == 0)
            r = split_der(der, dlen, 0,
                          "the input is base64 text but does not decode to a DER certificate",
                          blocks, &n);
    }
    if (r == SM_E_TOO_MANY) {
        errinfo_set(reterr, -1, "more than %d certificates in the input", SM_MAX_CERTS);
        goto out_fail;
    }
    if (r == SM_E_TOO_BIG) {
        errinfo_set(reterr, -1, "a certificate is larger than %d bytes", SM_MAX_CERT_DER);
        goto out_fail;
    }
    if (r < 0)
        goto out_fail;
    if (n == 0) { /* never with the splitters above; a guard for errs[0] below */
        errinfo_set(reterr, -1, "the input holds no certificate");
        r = SM_E_FORMAT;
        goto out_fail;
    }

    struct sm_cert *certs = arena_alloc(impl->a, n * sizeof(*certs));
    struct sm_input_error *errs = arena_alloc(impl->a, n * sizeof(*errs));
    if (!certs || !errs) {
        r = -ENOMEM;
        goto out_fail;
    }
    time_t now = opts && opts->now ? opts->now : time(NULL);
    size_t nc = 0, ne = 0;
    struct sm_errinfo e;
    for (size_t i = 0; i < n; i++) {
        struct block *b = &blocks[i];
        int code = b->err;
        const char *msg = b->msg;
        if (!code) {
            memset(&e, 0, sizeof(e));
            struct sm_cert *c = &certs[nc];
            memset(c, 0, sizeof(*c));
            c->index = (unsigned)i;
            code = analyse(impl->a, b->der, b->len, b->trailing, now, c, &e);
            if (code == -ENOMEM) {
                r = code;
                goto out_fail;
            }
            if (code == 0) {
                nc++;
                continue;
            }
            msg = arena_strdup(impl->a, e.text);
        }
        errs[ne].index = (unsigned)i;
        errs[ne].offset = b->offset;
        errs[ne].code = code;
        errs[ne].message = msg;
        ne++;
    }
    if (nc == 0) {
        if (ne == 1)
            errinfo_set(reterr, errs[0].offset, "%s", errs[0].message);
        else
            errinfo_set(reterr, -1, "none of the %zu blocks is a certificate (first: %s)", ne,
                        errs[0].message);
        r = errs[0].code == SM_E_FORMAT ? SM_E_FORMAT : SM_E_CERT;
        goto out_fail;
    }
    impl->pub.certs = certs;
    impl->pub.n_certs = nc;
    impl->pub.errors = errs;
    impl->pub.n_errors = ne;
    impl->pub.format = format;
    *ret = &impl->pub;
    return 0;

out_fail:
    if (r == -ENOMEM)
        errinfo_set(reterr, -1, "out of memory");
    if (impl)
        arena_free(impl->a);
    free(impl);
    return r;
}

struct sm_certs *sm_certs_free(struct sm_certs *certs)
{
    if (!certs)
        return NULL;
    struct certs_impl *impl = (struct certs_impl *)(void *)certs;
    arena_free(impl->a);
    free(impl);
    return NULL;
}

const struct sm_mapping *sm_cert_mapping(const struct sm_cert *cert, enum sm_map_type type)
{
    for (size_t i = 0; i < cert->n_mappings; i++)
        if (cert->mappings[i].type == type)
            return &cert->mappings[i];
    return NULL;
}

const char *sm_sid_status_name(enum sm_sid_status st)
{
    switch (st) {
    case SM_SID_ABSENT: return "absent";
    case SM_SID_VALID: return "valid";
    case SM_SID_MALFORMED: return "malformed";
    }
    return "absent";
}

const char *sm_map_type_name(enum sm_map_type t)
{
    static const char *const names[SM_MAP__COUNT] = {
        "X509IssuerSerialNumber", "X509SKI",         "X509SHA1PublicKey", "X509IssuerSID",
        "X509IssuerSubject",      "X509SubjectOnly", "X509RFC822",
    };
    return (unsigned)t < SM_MAP__COUNT ? names[t] : "unknown";
}

bool sm_map_type_strong(enum sm_map_type t)
{
    return t == SM_MAP_ISSUER_SERIAL || t == SM_MAP_SKI || t == SM_MAP_SHA1_PUKEY ||
           t == SM_MAP_ISSUER_SID;
}

/*
 * lib/cert_oid.c - OIDs of the certificate analysis: DER OIDs to dotted text (with a hashed table
 * of the OIDs nearly every certificate carries), their names for people (sm_oid_name) and the
 * critical extensions Windows understands.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cert_internal.h"

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
 * The dotted text of the DER OID @p/@len into *@ret: static for a common OID, else in the arena;
 * with @name, also its sm_oid_name(). 0, SM_E_CERT (not a readable OID) or -ENOMEM.
 */
int oid_lookup(struct arena *a, const uint8_t *p, size_t len, const char **ret, const char **name)
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
bool windows_knows_critical(const char *dotted)
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

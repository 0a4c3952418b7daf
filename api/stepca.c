/*
 * api/stepca.c - the certificate step-ca is about to sign, from its AUTHORIZING webhook's
 * "x509Certificate" (docs/integrations/step-ca.md). step-ca calls that webhook after it has
 * rendered the certificate template and before it signs, so the call carries no DER: only the
 * template's fields (smallstep crypto's x509util.Certificate as JSON) and "publicKey" (the
 * SubjectPublicKeyInfo DER, base64), "notBefore" and "notAfter". They are read here as the
 * planned facts of the engine (sm_csr_planned()), the way step-ca turns them into a
 * certificate (x509util's Certificate.GetCertificate()):
 *
 *  - subject: a string (the common name) or an object; its RDNs in the order Go's pkix.Name
 *    encodes them (C, ST, L, STREET, postalCode, O, OU, CN, SERIALNUMBER, then extraNames),
 *    each value in an RDN of its own (Go puts several values of one type into one RDN: a
 *    difference in the subject's encoding only, not in its attributes);
 *  - a subjectAltName among "extensions" is the certificate's SAN, and the SAN fields are then
 *    ignored, as step-ca does; otherwise dnsNames, emailAddresses, uris and "sans" (types dns,
 *    email, uri, userPrincipalName, auto) make it; IP addresses and the other SAN types bear on
 *    no logon and are left out;
 *  - keyUsage, extKeyUsage with unknownExtKeyUsage, and basicConstraints, unless "extensions"
 *    has the extension itself;
 *  - the SKI: "subjectKeyId" when the template sets it, else the SHA-1 of the key's BIT STRING
 *    (x509util's generateSubjectKeyID, RFC 5280 4.2.1.2 method 1).
 *
 * The issuer and the serial number are the CA's to add at signing: no mapping that needs them
 * is predicted.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"
#include "stepca.h"
#include "su_base64.h"
#include "su_buf.h"
#include "su_hash.h"
#include "su_hex.h"

#define FIELD "x509Certificate"

static int bad(struct api_error *ae, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int bad(struct api_error *ae, const char *field, const char *fmt, ...)
{
    char text[sizeof(ae->info.text)];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    api_fail(ae, API_P_BAD_REQUEST, field, "%s", text);
    return -EINVAL;
}

/* A string without NUL. */
static bool plain_string(const json_t *v)
{
    return json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v);
}

/* x509util's MultiString: absent, null, a string or an array of strings. Their count, or -1. */
static long multi_count(const json_t *v)
{
    size_t i;
    json_t *e;

    if (!v || json_is_null(v))
        return 0;
    if (plain_string(v))
        return 1;
    if (!json_is_array(v))
        return -1;
    json_array_foreach(v, i, e)
    {
        if (!plain_string(e))
            return -1;
    }
    return (long)json_array_size(v);
}

/* The @i-th string of a MultiString @v (multi_count() checked it). */
static const char *multi_at(const json_t *v, size_t i)
{
    return json_is_string(v) ? json_string_value(v) : json_string_value(json_array_get(v, i));
}

/* x509util's convertName(): lower case, without "_". */
static bool name_is(const char *s, const char *name)
{
    for (;; s++, name++) {
        while (*s == '_')
            s++;
        if (!*s || !*name)
            return !*s && !*name;
        if ((*s | 0x20) != (*name | 0x20))
            return false;
    }
}

/* ---- the subject ------------------------------------------------------------------------ */

/* @v as an RFC 4514 attribute value: every special character escaped. */
static void put_value(struct su_buf *b, const char *v)
{
    size_t n = strlen(v);

    for (size_t i = 0; i < n; i++) {
        char ch = v[i];
        if (strchr("\"+,;<>\\=", ch) || (i == 0 && (ch == '#' || ch == ' ')) ||
            (i == n - 1 && ch == ' '))
            su_buf_putc(b, '\\');
        su_buf_putc(b, ch);
    }
}

struct rdn {
    const char *type, *value;
};

#define RDN_MAX 64 /* attributes of a subject read here (the engine's own limit is lower) */

static int subject_read(const json_t *s, struct stepca_cert *sc, struct api_error *ae)
{
    /* Go's pkix.Name.ToRDNSequence() order */
    static const struct {
        const char *key, *type;
    } order[] = {
        { "country", "C" },
        { "province", "ST" },
        { "locality", "L" },
        { "streetAddress", "STREET" },
        { "postalCode", "2.5.4.17" },
        { "organization", "O" },
        { "organizationalUnit", "OU" },
    };
    struct rdn rdn[RDN_MAX];
    size_t n = 0;
    const char *key;
    json_t *v;
    struct su_buf b;

    if (!s || json_is_null(s))
        return 0;
    su_buf_init(&b, NULL, NULL);
    if (plain_string(s)) {
        rdn[n++] = (struct rdn){ "CN", json_string_value(s) };
        goto write;
    }
    if (!json_is_object(s))
        return bad(ae, FIELD ".subject", "an object, or a string (the common name)");
    json_object_foreach((json_t *)(uintptr_t)s, key, v)
    {
        bool known = strcmp(key, "commonName") == 0 || strcmp(key, "serialNumber") == 0 ||
                     strcmp(key, "extraNames") == 0;
        for (size_t k = 0; k < sizeof(order) / sizeof(order[0]) && !known; k++)
            known = strcmp(key, order[k].key) == 0;
        if (!known)
            return bad(ae, FIELD ".subject", "unknown member \"%.40s\"", key);
    }
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        v = json_object_get(s, order[k].key);
        long c = multi_count(v);
        if (c < 0)
            return bad(ae, FIELD ".subject", "\"%s\": a string or an array of strings",
                       order[k].key);
        for (long i = 0; i < c; i++) {
            if (n == RDN_MAX)
                return bad(ae, FIELD ".subject", "more than %d attributes", RDN_MAX);
            rdn[n++] = (struct rdn){ order[k].type, multi_at(v, (size_t)i) };
        }
    }
    for (int k = 0; k < 2; k++) {
        const char *name = k == 0 ? "commonName" : "serialNumber";
        v = json_object_get(s, name);
        if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
            continue;
        if (!plain_string(v))
            return bad(ae, FIELD ".subject", "\"%s\": a string", name);
        if (n == RDN_MAX)
            return bad(ae, FIELD ".subject", "more than %d attributes", RDN_MAX);
        rdn[n++] = (struct rdn){ k == 0 ? "CN" : "SERIALNUMBER", json_string_value(v) };
    }
    v = json_object_get(s, "extraNames");
    if (v && !json_is_null(v)) {
        size_t i;
        json_t *x;
        if (!json_is_array(v))
            return bad(ae, FIELD ".subject", "\"extraNames\": an array of {\"type\", \"value\"}");
        json_array_foreach(v, i, x)
        {
            json_t *t = json_object_get(x, "type"), *val = json_object_get(x, "value");
            if (!plain_string(t) || !plain_string(val))
                return bad(ae, FIELD ".subject",
                           "\"extraNames\"[%zu]: {\"type\": a dotted OID, \"value\": a string}", i);
            if (n == RDN_MAX)
                return bad(ae, FIELD ".subject", "more than %d attributes", RDN_MAX);
            rdn[n++] = (struct rdn){ json_string_value(t), json_string_value(val) };
        }
    }
write:
    /* RFC 4514: the most significant RDN last */
    for (size_t i = n; i-- > 0;) {
        if (i != n - 1)
            su_buf_putc(&b, ',');
        su_buf_puts(&b, rdn[i].type);
        su_buf_putc(&b, '=');
        put_value(&b, rdn[i].value);
    }
    sc->subject = su_buf_str(&b) ? strdup(su_buf_str(&b)) : NULL;
    su_buf_release(&b);
    if (!sc->subject)
        return -ENOMEM;
    sc->in.subject = sc->subject;
    return 0;
}

/* ---- the subjectAltName ----------------------------------------------------------------- */

static int san_add(struct stepca_cert *sc, enum sm_san_type type, const char *value,
                   struct api_error *ae)
{
    if (!value[0])
        return 0; /* Go leaves empty names out too */
    if (sc->in.n_san == SM_MAX_SAN)
        return bad(ae, FIELD ".sans", "more than %d subject alternative names", SM_MAX_SAN);
    sc->san[sc->in.n_san++] = (struct sm_san){ .type = type, .value = value };
    return 0;
}

/* x509util's "auto" SAN type: an IP address, a URI with a scheme, an e-mail address, else DNS. */
static int san_auto(struct stepca_cert *sc, const char *v, struct api_error *ae)
{
    const char *colon = strchr(v, ':');

    if (strspn(v, "0123456789.") == strlen(v) ||
        (colon && strchr(v, '.') == NULL && strspn(v, "0123456789abcdefABCDEF:") == strlen(v)))
        return 0; /* an IP address */
    if (colon && colon != v &&
        strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789+-.") == (size_t)(colon - v))
        return san_add(sc, SM_SAN_URI, v, ae);
    if (strchr(v, '@'))
        return san_add(sc, SM_SAN_EMAIL, v, ae);
    return san_add(sc, SM_SAN_DNS, v, ae);
}

static int sans_read(json_t *obj, struct stepca_cert *sc, struct api_error *ae)
{
    static const struct {
        const char *key;
        enum sm_san_type type;
    } lists[] = { { "dnsNames", SM_SAN_DNS },
                  { "emailAddresses", SM_SAN_EMAIL },
                  { "uris", SM_SAN_URI } };
    json_t *sans = json_object_get(obj, "sans"), *s;
    size_t i;
    int r;

    for (size_t k = 0; k < sizeof(lists) / sizeof(lists[0]); k++) {
        json_t *v = json_object_get(obj, lists[k].key);
        long c = multi_count(v);
        if (c < 0)
            return bad(ae, FIELD ".sans", "\"%s\": a string or an array of strings", lists[k].key);
        for (long j = 0; j < c; j++)
            if ((r = san_add(sc, lists[k].type, multi_at(v, (size_t)j), ae)) < 0)
                return r;
    }
    if (!sans || json_is_null(sans))
        return 0;
    if (!json_is_array(sans))
        return bad(ae, FIELD ".sans", "an array of {\"type\", \"value\"}");
    json_array_foreach(sans, i, s)
    {
        json_t *t = json_object_get(s, "type"), *v = json_object_get(s, "value");
        const char *type = plain_string(t) ? json_string_value(t) : "";
        if (!json_is_object(s) || (t && !plain_string(t)) ||
            (v && !json_is_null(v) && !plain_string(v)))
            return bad(ae, FIELD ".sans", "[%zu]: {\"type\": a string, \"value\": a string}", i);
        const char *value = plain_string(v) ? json_string_value(v) : "";
        if (strcasecmp(type, "dns") == 0)
            r = san_add(sc, SM_SAN_DNS, value, ae);
        else if (strcasecmp(type, "email") == 0)
            r = san_add(sc, SM_SAN_EMAIL, value, ae);
        else if (strcasecmp(type, "uri") == 0)
            r = san_add(sc, SM_SAN_URI, value, ae);
        else if (strcasecmp(type, "userPrincipalName") == 0)
            r = san_add(sc, SM_SAN_UPN, value, ae);
        else if (!type[0] || strcasecmp(type, "auto") == 0)
            r = san_auto(sc, value, ae);
        else
            r = 0; /* ip, dn, permanentIdentifier, hardwareModuleName, registeredID, ... */
        if (r < 0)
            return r;
    }
    return 0;
}

/* ---- extensions and usages -------------------------------------------------------------- */

/* "extensions": [{"id", "critical", "value": base64}]; *@has_san when one is 2.5.29.17. */
static int exts_read(json_t *obj, struct stepca_cert *sc, bool *has_san, struct api_error *ae)
{
    json_t *exts = json_object_get(obj, "extensions"), *x;
    size_t i;

    *has_san = false;
    if (!exts || json_is_null(exts))
        return 0;
    if (!json_is_array(exts))
        return bad(ae, FIELD ".extensions", "an array of {\"id\", \"critical\", \"value\"}");
    if (json_array_size(exts) > SM_MAX_EXTENSIONS)
        return bad(ae, FIELD ".extensions", "more than %d extensions", SM_MAX_EXTENSIONS);
    json_array_foreach(exts, i, x)
    {
        json_t *id = json_object_get(x, "id"), *crit = json_object_get(x, "critical"),
               *val = json_object_get(x, "value");
        if (!plain_string(id) || (crit && !json_is_boolean(crit)) || !json_is_string(val) ||
            json_string_length(val) == 0)
            return bad(ae, FIELD ".extensions",
                       "[%zu]: {\"id\": a dotted OID, \"critical\": true or false, \"value\": "
                       "the DER in base64}",
                       i);
        size_t len = json_string_length(val);
        uint8_t *der = malloc(len / 4 * 3 + 3);
        long dlen;
        if (!der)
            return -ENOMEM;
        sc->exts[sc->in.n_exts++] = (struct sm_csr_planned_ext){ .oid = json_string_value(id),
                                                                 .critical = json_is_true(crit),
                                                                 .value = der };
        if ((dlen = su_base64_decode(json_string_value(val), len, 0, der)) <= 0)
            return bad(ae, FIELD ".extensions", "[%zu]: \"value\" is not base64", i);
        sc->exts[sc->in.n_exts - 1].value_len = (size_t)dlen;
        if (strcmp(json_string_value(id), "2.5.29.17") == 0)
            *has_san = true;
    }
    return 0;
}

static int usages_read(json_t *obj, struct stepca_cert *sc, struct api_error *ae)
{
    static const struct {
        const char *name;
        unsigned bit; /* struct sm_cert's form */
    } ku[] = {
        { "digitalSignature", 0x80 }, { "contentCommitment", 0x40 }, { "keyEncipherment", 0x20 },
        { "dataEncipherment", 0x10 }, { "keyAgreement", 0x08 },      { "certSign", 0x04 },
        { "crlSign", 0x02 },          { "encipherOnly", 0x01 },      { "decipherOnly", 0x8000 },
    };
    static const struct {
        const char *name, *oid;
    } eku[] = {
        { "any", "2.5.29.37.0" },
        { "serverAuth", "1.3.6.1.5.5.7.3.1" },
        { "clientAuth", "1.3.6.1.5.5.7.3.2" },
        { "codeSigning", "1.3.6.1.5.5.7.3.3" },
        { "emailProtection", "1.3.6.1.5.5.7.3.4" },
        { "ipsecEndSystem", "1.3.6.1.5.5.7.3.5" },
        { "ipsecTunnel", "1.3.6.1.5.5.7.3.6" },
        { "ipsecUser", "1.3.6.1.5.5.7.3.7" },
        { "timeStamping", "1.3.6.1.5.5.7.3.8" },
        { "ocspSigning", "1.3.6.1.5.5.7.3.9" },
        { "microsoftServerGatedCrypto", "1.3.6.1.4.1.311.10.3.3" },
        { "netscapeServerGatedCrypto", "2.16.840.1.113730.4.1" },
        { "microsoftCommercialCodeSigning", "1.3.6.1.4.1.311.2.1.22" },
        { "microsoftKernelCodeSigning", "1.3.6.1.4.1.311.61.1.1" },
    };
    json_t *v = json_object_get(obj, "keyUsage"), *u = json_object_get(obj, "unknownExtKeyUsage");
    long c = multi_count(v), cu;

    if (c < 0)
        return bad(ae, FIELD ".keyUsage", "a string or an array of key usage names");
    for (long i = 0; i < c; i++) {
        const char *s = multi_at(v, (size_t)i);
        size_t k = 0;
        while (k < sizeof(ku) / sizeof(ku[0]) && !name_is(s, ku[k].name))
            k++;
        if (k == sizeof(ku) / sizeof(ku[0]))
            return bad(ae, FIELD ".keyUsage", "unknown key usage \"%.40s\"", s);
        sc->in.key_usage |= ku[k].bit;
    }
    v = json_object_get(obj, "extKeyUsage");
    c = multi_count(v);
    cu = multi_count(u);
    if (c < 0 || cu < 0)
        return bad(ae, c < 0 ? FIELD ".extKeyUsage" : FIELD ".unknownExtKeyUsage",
                   "a string or an array of strings");
    if (c + cu > SM_MAX_EXTENSIONS)
        return bad(ae, FIELD ".extKeyUsage", "more than %d purposes", SM_MAX_EXTENSIONS);
    if (!(sc->eku = calloc((size_t)(c + cu) + 1, sizeof(*sc->eku))))
        return -ENOMEM;
    for (long i = 0; i < c; i++) {
        const char *s = multi_at(v, (size_t)i);
        size_t k = 0;
        while (k < sizeof(eku) / sizeof(eku[0]) && !name_is(s, eku[k].name))
            k++;
        if (k == sizeof(eku) / sizeof(eku[0]))
            return bad(ae, FIELD ".extKeyUsage", "unknown extended key usage \"%.40s\"", s);
        sc->eku[sc->in.n_eku++] = eku[k].oid;
    }
    for (long i = 0; i < cu; i++)
        sc->eku[sc->in.n_eku++] = multi_at(u, (size_t)i);
    sc->in.eku = sc->eku;
    v = json_object_get(obj, "basicConstraints");
    if (v && !json_is_null(v)) {
        json_t *ca = json_object_get(v, "isCA");
        if (!json_is_object(v) || (ca && !json_is_boolean(ca)))
            return bad(ae, FIELD ".basicConstraints", "{\"isCA\": true or false, ...}");
        sc->in.is_ca = json_is_true(ca);
    }
    return 0;
}

/* ---- the key, its SKI and the validity -------------------------------------------------- */

/* Bytes of a base64 member @key of @obj into a new buffer (*@ret, *@ret_len); absent: NULL. */
static int b64_member(json_t *obj, const char *key, const char *field, uint8_t **ret,
                      size_t *ret_len, struct api_error *ae)
{
    json_t *v = json_object_get(obj, key);
    size_t len;
    long n;

    *ret = NULL;
    *ret_len = 0;
    if (!v || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0))
        return 0;
    if (!json_is_string(v))
        return bad(ae, field, "base64");
    len = json_string_length(v);
    if (!(*ret = malloc(len / 4 * 3 + 3)))
        return -ENOMEM;
    if ((n = su_base64_decode(json_string_value(v), len, 0, *ret)) <= 0) {
        free(*ret);
        *ret = NULL;
        return bad(ae, field, "not base64");
    }
    *ret_len = (size_t)n;
    return 0;
}

/* The SHA-1 of the BIT STRING's contents of the SubjectPublicKeyInfo @spki; 0 or -1. */
static int spk_sha1(const uint8_t *spki, size_t len, char out[41])
{
    const uint8_t *p = spki, *end = spki + len;
    size_t l;

    /* SEQUENCE { AlgorithmIdentifier SEQUENCE, BIT STRING }: the engine checked the outer one */
    for (int k = 0; k < 3; k++) {
        if (end - p < 2)
            return -1;
        uint8_t tag = p[0];
        l = p[1];
        p += 2;
        if (l & 0x80) {
            size_t nb = l & 0x7f;
            if (nb == 0 || nb > 3 || (size_t)(end - p) < nb)
                return -1;
            for (l = 0; nb--; p++)
                l = l << 8 | *p;
        }
        if ((size_t)(end - p) < l)
            return -1;
        if (k == 0 && tag != 0x30)
            return -1;
        if (k == 1) { /* the algorithm: skip it */
            if (tag != 0x30)
                return -1;
            p += l;
        }
        if (k == 2) {
            uint8_t h[SU_SHA1_LEN];
            if (tag != 0x03 || l < 1)
                return -1;
            su_sha1(p + 1, l - 1, h); /* after the unused-bits byte */
            su_hex_upper(h, sizeof(h), out);
            return 0;
        }
    }
    return -1;
}

static int key_read(json_t *obj, struct stepca_cert *sc, struct api_error *ae)
{
    uint8_t *ski = NULL;
    size_t len;
    int r;

    if ((r = b64_member(obj, "publicKey", FIELD ".publicKey", &sc->spki, &sc->in.spki_len, ae)) < 0)
        return r;
    sc->in.spki = sc->spki;
    if ((r = b64_member(obj, "subjectKeyId", FIELD ".subjectKeyId", &ski, &len, ae)) < 0)
        return r;
    if (ski) {
        if (len > STEPCA_SKI_MAX) {
            free(ski);
            return bad(ae, FIELD ".subjectKeyId", "longer than %d bytes", STEPCA_SKI_MAX);
        }
        su_hex_upper(ski, len, sc->ski);
        free(ski);
    } else if (sc->spki && spk_sha1(sc->spki, sc->in.spki_len, sc->ski) < 0) {
        return bad(ae, FIELD ".publicKey", "not a SubjectPublicKeyInfo");
    }
    for (int k = 0; k < 2; k++) {
        const char *key = k == 0 ? "notBefore" : "notAfter";
        json_t *v = json_object_get(obj, key);
        time_t *t = k == 0 ? &sc->not_before : &sc->not_after;
        if (!v || json_is_null(v))
            continue;
        if (!plain_string(v) || opt_parse_time(json_string_value(v), t) < 0)
            return bad(ae, k == 0 ? FIELD ".notBefore" : FIELD ".notAfter",
                       "an RFC 3339 date-time");
    }
    if (sc->not_before && sc->not_after && sc->not_after < sc->not_before)
        return bad(ae, FIELD ".notAfter", "before notBefore");
    return 0;
}

/* ---- all of it ---------------------------------------------------------------------------- */

struct stepca_cert *stepca_cert_free(struct stepca_cert *sc)
{
    if (!sc)
        return NULL;
    for (size_t i = 0; sc->exts && i < sc->in.n_exts; i++)
        free((void *)(uintptr_t)sc->exts[i].value);
    free(sc->exts);
    free(sc->san);
    free(sc->eku);
    free(sc->spki);
    free(sc->subject);
    free(sc);
    return NULL;
}

int stepca_cert_read(json_t *obj, struct stepca_cert **ret, struct api_error *ae)
{
    struct stepca_cert *sc = calloc(1, sizeof(*sc));
    bool has_san;
    int r = -ENOMEM;

    if (!sc || !(sc->san = calloc(SM_MAX_SAN, sizeof(*sc->san))) ||
        !(sc->exts = calloc(SM_MAX_EXTENSIONS, sizeof(*sc->exts))))
        goto fail;
    if ((r = subject_read(json_object_get(obj, "subject"), sc, ae)) < 0 ||
        (r = exts_read(obj, sc, &has_san, ae)) < 0 ||
        (!has_san && (r = sans_read(obj, sc, ae)) < 0) || (r = usages_read(obj, sc, ae)) < 0 ||
        (r = key_read(obj, sc, ae)) < 0)
        goto fail;
    sc->in.san = sc->san;
    sc->in.exts = sc->exts;
    *ret = sc;
    return 0;
fail:
    stepca_cert_free(sc);
    return r;
}

/*
 * lib/keycred.c - msDS-KeyCredentialLink values (Windows Hello for Business key trust).
 * Plain C: hashing through lib/hash.c, DER read and written by the small code below.
 *
 * One file past 800 lines, because it has one job: each section below (the DN-Binary text, the
 * entries, the times, the key material, the fields) is a step of reading one value, specified
 * here, and nothing else uses them.
 *
 * The value. LDAP returns the DN-Binary syntax "B:<count>:<hex>:<DN>", count being the number
 * of hex digits ([MS-ADTS] 3.1.1.5.3.1.1.6 names its binary part a KEYCREDENTIALLINK_BLOB).
 *
 * The blob ([MS-ADTS] 2.2.20.2, public specification): a 32-bit little-endian Version that
 * MUST be KEY_CREDENTIAL_LINK_VERSION_2 (0x00000200), then KEYCREDENTIALLINK_ENTRY structures
 * (2.2.20.3: a 16-bit little-endian Length of the value, an 8-bit Identifier, the value) that
 * MUST be sorted by Identifier in increasing order. Identifiers and sizes (2.2.20.6): KeyID
 * 0x01 (32, SHA-256 of the KeyMaterial value), KeyHash 0x02 (32, SHA-256 of all the entries
 * after it), KeyMaterial 0x03 (variable), KeyUsage 0x04 (1), KeySource 0x05 (1), DeviceId 0x06
 * (16), CustomKeyInformation 0x07 (2, or the longer form of 2.2.20.4),
 * KeyApproximateLastLogonTimeStamp 0x08 (8, FILETIME), KeyCreationTime 0x09 (8, FILETIME).
 * "All keys MUST contain KeyID, KeyMaterial, and KeyUsage entries."
 *
 * Strictness. A value is ->valid when it follows those rules; a missing or wrong KeyID or
 * KeyHash is a finding instead (they identify the key, they do not carry it; Samba ignores
 * them). Every other deviation makes the value invalid, with the first reason found; the walk
 * still reads what it can so that ->samba_usable can be decided.
 *
 * Key material of a Windows Hello key (KeyUsage NGC) is a 2048-bit RSA key ([MS-PKCA]
 * 3.1.5.2.1.4 points to [MS-ADTS] 2.2.20.5.1), written in one of these forms:
 *   - BCRYPT_RSAKEY_BLOB with magic "RSA1" (BCRYPT_RSAPUBLIC_MAGIC): six little-endian ULONGs
 *     Magic, BitLength, cbPublicExp, cbModulus, cbPrime1, cbPrime2, then the exponent and the
 *     modulus, big-endian (bcrypt.h documentation). Typical of user keys written by Windows
 *     (DSInternals), and what DSInternals (so Whisker) writes for user keys.
 *   - DER RSAPublicKey (RFC 8017 A.1.1): the form 2.2.20.5.1 names, as bloodyAD's source
 *     quotes it (it calls the BCRYPT form undocumented in [MS-ADTS]); bloodyAD writes it, and
 *     DSInternals for computer keys. Samba's KDC does not read this form.
 *   - DER SubjectPublicKeyInfo: what samba-tool user keytrust writes, the DER form Samba's
 *     KDC reads.
 * A TPM key blob ("PCPM"), FIDO JSON (2.2.20.5.2) and anything else give no key (->key_error).
 *
 * KeyUsage numbers: NGC 0x01, FIDO 0x07, FEK 0x08 as DSInternals, bloodyAD and Metasploit
 * take them from 2.2.20.1; Samba's keycredlink.idl numbers FIDO 0x02 and FEK 0x03, which
 * changes nothing for key trust (only NGC counts, in Samba's KDC as here).
 *
 * Matching: the key is re-encoded as a DER RSAPublicKey (minimal INTEGERs) and hashed, which
 * is what struct sm_cert.spk_sha1 holds for an RSA certificate, and as the SubjectPublicKeyInfo
 * with rsaEncryption and NULL parameters (sm_cert.spki_sha1).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <strongmap/keycred.h>

#include "su_hash.h"
#include "util.h"

#define VERSION_2     0x00000200u
#define ID_MAX        9  /* KeyCreationTime, the highest identifier defined */
#define BCRYPT_HDR    24 /* six ULONGs */
#define MAX_EXP_BYTES 8  /* public exponents above 2^64 - 1: not supported by CNG */
#define MAX_MOD_BYTES (SM_MAX_KEYCRED_BITS / 8)
#define DER_KEY_MAX   (MAX_MOD_BYTES + MAX_EXP_BYTES + 64) /* SPKI of the largest key */
#define FILETIME_1970 116444736000000000ull                /* 100 ns units from 1601 to 1970 */
#define DOTNET_1970   621355968000000000ull                /* .NET ticks from 0001 to 1970 */
#define MAX_UNIX_TIME 253402300799ll                       /* 9999-12-31T23:59:59Z */

enum {
    KEY_ID = 1,
    KEY_HASH = 2,
    KEY_MATERIAL = 3,
    KEY_USAGE = 4,
    KEY_SOURCE = 5,
    DEVICE_ID = 6,
    CUSTOM_KEY_INFO = 7,
    LAST_LOGON = 8,
    CREATION_TIME = 9,
};

static const char *const id_names[ID_MAX + 1] = {
    "",
    "KeyID",
    "KeyHash",
    "KeyMaterial",
    "KeyUsage",
    "KeySource",
    "DeviceId",
    "CustomKeyInformation",
    "KeyApproximateLastLogonTimeStamp",
    "KeyCreationTime",
};

/* Value sizes of 2.2.20.6; 0: variable. */
static const unsigned id_sizes[ID_MAX + 1] = { 0, 32, 32, 0, 1, 1, 16, 0, 8, 8 };

static const uint8_t RSA_OID[] = {
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01
};

struct keycred_impl {
    struct sm_keycred pub;
    struct arena *arena;
};

static struct keycred_impl *impl_of(struct sm_keycred *k)
{
    return (struct keycred_impl *)((char *)k - offsetof(struct keycred_impl, pub));
}

/* One entry as found: where its value is, and where the entry ends. */
struct entry {
    const uint8_t *v;
    size_t len;
    size_t end; /* offset in the blob just after the value */
    unsigned count;
};

struct walk {
    struct sm_keycred *k;
    struct arena *a;
    const uint8_t *blob;
    size_t len;
    struct entry e[ID_MAX + 1];
    bool samba_ok; /* Samba's NDR reading of the blob succeeds */
};

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* Record the first reason the value is invalid; later ones add nothing. */
static int invalid(struct walk *w, const char *fmt, ...) SM_PRINTF(2, 3);
static int invalid(struct walk *w, const char *fmt, ...)
{
    w->k->valid = false;
    if (w->k->invalid_reason)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    w->k->invalid_reason = arena_vprintf(w->a, fmt, ap);
    va_end(ap);
    return w->k->invalid_reason ? 0 : -ENOMEM;
}

/* ---- the DN-Binary text ------------------------------------------------------------------ */

/*
 * Split "B:<count>:<hex>:<DN>" (or take all of @s as hex) and decode the hex into *@blob.
 * Returns 0 (the value may then be invalid) or -ENOMEM.
 */
static int read_text(struct walk *w, const char *s, size_t len)
{
    const char *hex = s;
    size_t nhex = len;

    if (len >= 2 && s[0] == 'B' && s[1] == ':') {
        size_t i = 2, count = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i < 10)
            count = count * 10 + (size_t)(s[i++] - '0');
        if (i == 2 || i >= len || s[i] != ':')
            return invalid(w, "not DN-Binary: \"B:\" is not followed by a digit count and ':'");
        hex = s + i + 1;
        if (count >= len - i - 1 || hex[count] != ':')
            return invalid(w, "DN-Binary count %zu does not match the hex digits", count);
        nhex = count;
        const char *dn = hex + count + 1;
        size_t dnlen = len - (size_t)(dn - s);
        if (dnlen == 0)
            return invalid(w, "DN-Binary value without its owner DN");
        if (!(w->k->owner_dn = arena_strndup(w->a, dn, dnlen)))
            return -ENOMEM;
    }
    if (nhex == 0)
        return invalid(w, "no binary part");
    if (nhex % 2)
        return invalid(w, "odd number of hex digits (%zu)", nhex);
    for (size_t i = 0; i < nhex; i++)
        if (su_hex_digit(hex[i]) < 0)
            return invalid(w, "not a hex digit at character %zu of the binary part", i);
    uint8_t *b = arena_alloc(w->a, nhex / 2);
    if (!b)
        return -ENOMEM;
    su_hex_decode(hex, nhex, b, nhex / 2);
    w->blob = b;
    w->len = nhex / 2;
    return 0;
}

/* ---- the entries ------------------------------------------------------------------------- */

/*
 * CustomKeyInformation (2.2.20.4): Version 1 and Flags, or the long form with VolType,
 * SupportsNotification, FekKeyVersion (1), KeyStrength, 10 reserved bytes and then
 * EncodedExtendedCKI structures (Version 0, Size, Size bytes) filling the rest exactly.
 */
static const char *custom_key_info_error(const uint8_t *v, size_t len)
{
    if (len < 2 || v[0] != 1)
        return "CustomKeyInformation: Version is not 1";
    if (len == 2)
        return NULL;
    if (len < 16)
        return "CustomKeyInformation: neither the 2-byte nor the long form";
    if (v[4] != 1)
        return "CustomKeyInformation: FekKeyVersion is not 1";
    for (size_t i = 16; i < len;) {
        if (len - i < 2 || v[i] != 0 || (size_t)v[i + 1] > len - i - 2)
            return "CustomKeyInformation: malformed EncodedExtendedCKI";
        i += 2 + v[i + 1];
    }
    return NULL;
}

/* Walk the entries. Returns 0 or -ENOMEM; problems make the value invalid. */
static int read_entries(struct walk *w)
{
    struct sm_keycred *k = w->k;
    int r;

    if (w->len < 4) {
        w->samba_ok = false;
        return invalid(w, "blob of %zu bytes: shorter than its 4-byte Version", w->len);
    }
    k->version = le32(w->blob);
    if (k->version != VERSION_2) {
        w->samba_ok = false;
        return invalid(w, "Version 0x%08X, not KEY_CREDENTIAL_LINK_VERSION_2 (0x00000200)",
                       (unsigned)k->version);
    }
    unsigned last = 0;
    for (size_t pos = 4; pos < w->len;) {
        if (w->len - pos < 3) {
            w->samba_ok = false;
            return invalid(w, "truncated entry header at byte %zu", pos);
        }
        size_t vlen = (size_t)w->blob[pos] | (size_t)w->blob[pos + 1] << 8;
        unsigned id = w->blob[pos + 2];
        if (vlen > w->len - pos - 3) {
            w->samba_ok = false;
            return invalid(w, "entry 0x%02X at byte %zu claims %zu bytes, %zu are left", id, pos,
                           vlen, w->len - pos - 3);
        }
        if (++k->n_entries > SM_MAX_KEYCRED_ENTRIES) {
            w->samba_ok = false; /* not Samba's limit, but nothing is read past it */
            return invalid(w, "more than %d entries", SM_MAX_KEYCRED_ENTRIES);
        }
        if (id == 0 || id > ID_MAX) {
            w->samba_ok = false;
            return invalid(w, "unknown entry identifier 0x%02X at byte %zu", id, pos);
        }
        const uint8_t *v = w->blob + pos + 3;
        const char *err = NULL;
        if (id_sizes[id] && vlen != id_sizes[id])
            err = "has the wrong size";
        else if (id == KEY_MATERIAL && vlen == 0)
            err = "is empty";
        else if (id == CUSTOM_KEY_INFO)
            err = custom_key_info_error(v, vlen);
        if (err) {
            w->samba_ok = false;
            return invalid(w, "%s entry at byte %zu (%zu bytes) %s", id_names[id], pos, vlen, err);
        }
        struct entry *e = &w->e[id];
        if (e->count++ == 0) {
            e->v = v;
            e->len = vlen;
            e->end = pos + 3 + vlen;
        } else if ((r = invalid(w, "duplicate %s entry at byte %zu", id_names[id], pos)) < 0) {
            return r;
        }
        if (id < last && (r = invalid(w, "entries not sorted by identifier: %s after %s",
                                      id_names[id], id_names[last])) < 0)
            return r;
        if (id > last)
            last = id;
        pos += 3 + vlen;
    }
    if (!w->e[KEY_MATERIAL].count && (r = invalid(w, "no KeyMaterial entry")) < 0)
        return r;
    if (!w->e[KEY_USAGE].count && (r = invalid(w, "no KeyUsage entry")) < 0)
        return r;
    return 0;
}

/* ---- times ------------------------------------------------------------------------------- */

/* RFC 3339 text of a Unix time in [1601, 9999], or NULL (out of range or no memory). */
static char *format_time(struct arena *a, int64_t t)
{
    if (t < -11644473600ll || t > MAX_UNIX_TIME)
        return NULL;
    int64_t days = (t >= 0 ? t : t - 86399) / 86400, secs = t - days * 86400;
    /* civil_from_days (H. Hinnant's algorithm), the inverse of su_days_from_civil() */
    int64_t z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
    int64_t y = yoe + era * 400 + (m <= 2);
    return arena_printf(a, "%04d-%02d-%02dT%02d:%02d:%02dZ", (int)y, (int)m, (int)d,
                        (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60));
}

/*
 * A time entry: FILETIME (100 ns since 1601) for KeySource AD; keys from Azure AD carry a
 * .NET DateTime.ToBinary() value instead (ticks since 0001 in the low 62 bits, the kind in
 * the top two; DSInternals reads them so). Returns 0 or -ENOMEM.
 */
static int read_time(struct walk *w, const struct entry *e, const char **text, time_t *tt)
{
    if (!e->count)
        return 0;
    uint64_t v = le64(e->v);
    int64_t t;
    if (w->k->source == SM_KEYCRED_SOURCE_AZURE_AD) {
        uint64_t ticks = v & 0x3fffffffffffffffull;
        t = (int64_t)(ticks / 10000000u) - (int64_t)(DOTNET_1970 / 10000000u);
    } else {
        t = (int64_t)(v / 10000000u) - (int64_t)(FILETIME_1970 / 10000000u);
    }
    if (t > MAX_UNIX_TIME || t < -11644473600ll)
        return findings_add(&w->k->findings, w->a, "time_out_of_range", SM_SEV_WARNING, NULL,
                            "A time entry (0x%016llX) is past the year 9999.",
                            (unsigned long long)v);
    if (!(*text = format_time(w->a, t)))
        return -ENOMEM;
    if (tt)
        *tt = (time_t)t;
    return 0;
}

/* ---- key material ------------------------------------------------------------------------ */

/* A positive INTEGER magnitude. */
struct bigint {
    const uint8_t *p;
    size_t len;
};

/* Strict DER: one TLV of @tag at *@p, its content in *@v and *@vlen; advances *@p. */
static bool der_get(const uint8_t **p, const uint8_t *end, uint8_t tag, const uint8_t **v,
                    size_t *vlen)
{
    const uint8_t *q = *p;
    if (end - q < 2 || q[0] != tag)
        return false;
    size_t n = q[1];
    q += 2;
    if (n == 0x81) {
        if (end - q < 1 || q[0] < 0x80)
            return false;
        n = q[0];
        q += 1;
    } else if (n == 0x82) {
        if (end - q < 2 || q[0] == 0)
            return false;
        n = (size_t)q[0] << 8 | q[1];
        q += 2;
    } else if (n >= 0x80) {
        return false; /* indefinite, or longer than any key read here */
    }
    if (n > (size_t)(end - q))
        return false;
    *v = q;
    *vlen = n;
    *p = q + n;
    return true;
}

/* A DER INTEGER that is positive and minimally encoded; its magnitude without sign byte. */
static const char *der_uint(const uint8_t **p, const uint8_t *end, struct bigint *out)
{
    const uint8_t *v;
    size_t n;
    if (!der_get(p, end, 0x02, &v, &n) || n == 0)
        return "expected an INTEGER";
    if (v[0] & 0x80)
        return "negative INTEGER";
    if (n > 1 && v[0] == 0 && !(v[1] & 0x80))
        return "INTEGER not minimally encoded";
    if (v[0] == 0 && n > 1)
        v++, n--;
    out->p = v;
    out->len = n;
    return NULL;
}

static const char *read_rsapublickey(const uint8_t *p, const uint8_t *end, struct bigint *n,
                                     struct bigint *e)
{
    const uint8_t *v;
    size_t len;
    const char *err;
    if (!der_get(&p, end, 0x30, &v, &len) || p != end)
        return "RSAPublicKey: not one DER SEQUENCE";
    const uint8_t *vend = v + len;
    if ((err = der_uint(&v, vend, n)) || (err = der_uint(&v, vend, e)))
        return err;
    if (v != vend)
        return "RSAPublicKey: more than modulus and exponent";
    return NULL;
}

/* Dotted text of an OID's content (for the message about a non-RSA key). */
static void oid_text(const uint8_t *v, size_t len, char *out, size_t outsize)
{
    size_t o = 0;
    uint64_t arc = 0;
    out[0] = '\0';
    for (size_t i = 0; i < len && i < 32 && o + 24 < outsize; i++) {
        arc = arc << 7 | (v[i] & 0x7f);
        if (v[i] & 0x80)
            continue;
        if (o == 0)
            o += (size_t)snprintf(out, outsize, "%u.%llu", arc < 80 ? (unsigned)(arc / 40) : 2,
                                  (unsigned long long)(arc < 80 ? arc % 40 : arc - 80));
        else
            o += (size_t)snprintf(out + o, outsize - o, ".%llu", (unsigned long long)arc);
        arc = 0;
    }
}

static const char *read_spki(const uint8_t *p, const uint8_t *end, struct bigint *n,
                             struct bigint *e, char *why, size_t whysize)
{
    const uint8_t *spki, *alg, *oid, *bits, *q;
    size_t len, alen, olen, blen;
    if (!der_get(&p, end, 0x30, &spki, &len) || p != end)
        return "DER key material is not one SEQUENCE";
    q = spki;
    const uint8_t *send = spki + len;
    if (!der_get(&q, send, 0x30, &alg, &alen))
        return "SubjectPublicKeyInfo: no AlgorithmIdentifier";
    const uint8_t *a = alg;
    if (!der_get(&a, alg + alen, 0x06, &oid, &olen))
        return "SubjectPublicKeyInfo: no algorithm OID";
    if (olen != sizeof(RSA_OID) - 2 || memcmp(oid, RSA_OID + 2, olen) != 0) {
        char dotted[64];
        oid_text(oid, olen, dotted, sizeof(dotted));
        snprintf(why, whysize,
                 "SubjectPublicKeyInfo of algorithm %s: key trust keys are RSA "
                 "(rsaEncryption, 1.2.840.113549.1.1.1)",
                 dotted);
        return why;
    }
    if (alg + alen - a != 2 || a[0] != 0x05 || a[1] != 0x00)
        return "SubjectPublicKeyInfo: rsaEncryption parameters are not NULL";
    if (!der_get(&q, send, 0x03, &bits, &blen) || q != send)
        return "SubjectPublicKeyInfo: no subjectPublicKey BIT STRING";
    if (blen < 1 || bits[0] != 0)
        return "SubjectPublicKeyInfo: BIT STRING with unused bits";
    return read_rsapublickey(bits + 1, bits + blen, n, e);
}

static const char *read_bcrypt(const uint8_t *m, size_t len, struct bigint *n, struct bigint *e,
                               unsigned *declared)
{
    if (len < BCRYPT_HDR)
        return "BCRYPT_RSAKEY_BLOB shorter than its 24-byte header";
    uint32_t cbexp = le32(m + 8), cbmod = le32(m + 12);
    if (memcmp(m, "RSA1", 4) != 0)
        return "BCRYPT_RSAKEY_BLOB of a private key (RSA2/RSA3): the attribute holds public "
               "keys (RSA1)";
    if (le32(m + 16) != 0 || le32(m + 20) != 0)
        return "BCRYPT_RSAKEY_BLOB with prime lengths: not a public key BLOB";
    if (cbexp == 0 || cbexp > MAX_EXP_BYTES)
        return "BCRYPT_RSAKEY_BLOB: public exponent length not 1 to 8 bytes";
    if (cbmod == 0 || cbmod > MAX_MOD_BYTES)
        return "BCRYPT_RSAKEY_BLOB: modulus length not 1 to 2048 bytes";
    if ((uint64_t)BCRYPT_HDR + cbexp + cbmod != len)
        return "BCRYPT_RSAKEY_BLOB: header lengths do not add up to the key material size";
    *declared = le32(m + 4);
    e->p = m + BCRYPT_HDR;
    e->len = cbexp;
    n->p = m + BCRYPT_HDR + cbexp;
    n->len = cbmod;
    return NULL;
}

static void strip(struct bigint *b)
{
    while (b->len && b->p[0] == 0)
        b->p++, b->len--;
}

static unsigned bit_length(const struct bigint *b)
{
    if (!b->len)
        return 0;
    unsigned bits = (unsigned)(b->len - 1) * 8;
    for (uint8_t x = b->p[0]; x; x >>= 1)
        bits++;
    return bits;
}

static size_t put_len(uint8_t *o, size_t n)
{
    if (n < 0x80) {
        o[0] = (uint8_t)n;
        return 1;
    }
    if (n < 0x100) {
        o[0] = 0x81;
        o[1] = (uint8_t)n;
        return 2;
    }
    o[0] = 0x82;
    o[1] = (uint8_t)(n >> 8);
    o[2] = (uint8_t)n;
    return 3;
}

static size_t put_uint(uint8_t *o, const struct bigint *b)
{
    bool sign = b->p[0] & 0x80;
    size_t i = 0;
    o[i++] = 0x02;
    i += put_len(o + i, b->len + sign);
    if (sign)
        o[i++] = 0x00;
    memcpy(o + i, b->p, b->len);
    return i + b->len;
}

/* DER RSAPublicKey of (n, e) into @o (DER_KEY_MAX bytes); returns its length. */
static size_t rsapublickey_der(uint8_t *o, const struct bigint *n, const struct bigint *e)
{
    uint8_t body[DER_KEY_MAX];
    size_t blen = put_uint(body, n);
    blen += put_uint(body + blen, e);
    size_t i = 0;
    o[i++] = 0x30;
    i += put_len(o + i, blen);
    memcpy(o + i, body, blen);
    return i + blen;
}

/* DER SubjectPublicKeyInfo (rsaEncryption, NULL) around an RSAPublicKey. */
static size_t spki_der(uint8_t *o, const uint8_t *rpk, size_t rlen)
{
    static const uint8_t alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
                                   0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
    uint8_t bits[DER_KEY_MAX];
    size_t b = 0;
    bits[b++] = 0x03;
    b += put_len(bits + b, rlen + 1);
    bits[b++] = 0x00;
    memcpy(bits + b, rpk, rlen);
    b += rlen;
    size_t i = 0;
    o[i++] = 0x30;
    i += put_len(o + i, sizeof(alg) + b);
    memcpy(o + i, alg, sizeof(alg));
    memcpy(o + i + sizeof(alg), bits, b);
    return i + sizeof(alg) + b;
}

/* Read the key from KeyMaterial; fills the key fields or ->key_error. Returns 0 or -ENOMEM. */
static int read_key(struct walk *w, const uint8_t *m, size_t len)
{
    struct sm_keycred *k = w->k;
    struct bigint n = { 0 }, e = { 0 };
    unsigned declared = 0;
    const char *err, *kind, *format;
    char why[160];

    if (len >= 4 &&
        (memcmp(m, "RSA1", 4) == 0 || memcmp(m, "RSA2", 4) == 0 || memcmp(m, "RSA3", 4) == 0)) {
        kind = "rsa", format = "bcrypt";
        err = read_bcrypt(m, len, &n, &e, &declared);
    } else if (m[0] == 0x30) {
        /* RSAPublicKey starts with an INTEGER, SubjectPublicKeyInfo with a SEQUENCE */
        const uint8_t *p = m, *v;
        size_t vlen;
        kind = "der";
        if (der_get(&p, m + len, 0x30, &v, &vlen) && vlen && v[0] == 0x02) {
            format = "rsapublickey";
            err = read_rsapublickey(m, m + len, &n, &e);
        } else {
            format = "spki";
            err = read_spki(m, m + len, &n, &e, why, sizeof(why));
        }
    } else if (len >= 4 && memcmp(m, "PCPM", 4) == 0) {
        err = "TPM key BLOB (PCP_KEY_BLOB_WIN8 \"PCPM\"): not decoded by strongmap";
    } else if (m[0] == '{') {
        err = "FIDO key material (JSON, [MS-ADTS] 2.2.20.5.2): no RSA key for key trust";
    } else {
        snprintf(why, sizeof(why), "unknown key material format (first byte 0x%02X)", m[0]);
        err = why;
    }
    if (!err) {
        strip(&n), strip(&e);
        if (!n.len)
            err = "the modulus is zero";
        else if (!e.len)
            err = "the public exponent is zero";
        else if (e.len > MAX_EXP_BYTES)
            err = "the public exponent is longer than 8 bytes";
        else if (n.len > MAX_MOD_BYTES)
            err = "the modulus is longer than 16384 bits";
    }
    if (err) {
        k->key_error = arena_strdup(w->a, err);
        return k->key_error ? 0 : -ENOMEM;
    }

    uint8_t rpk[DER_KEY_MAX], spki[DER_KEY_MAX], h[SU_SHA1_LEN];
    size_t rlen = rsapublickey_der(rpk, &n, &e);
    size_t slen = spki_der(spki, rpk, rlen);
    su_sha1(rpk, rlen, h);
    su_hex_upper(h, SU_SHA1_LEN, k->spk_sha1);
    su_sha1(spki, slen, h);
    su_hex_upper(h, SU_SHA1_LEN, k->spki_sha1);
    k->key_kind = kind;
    k->key_format = format;
    k->key_bits = bit_length(&n);
    k->declared_bits = strcmp(format, "bcrypt") == 0 ? declared : k->key_bits;
    for (size_t i = 0; i < e.len; i++)
        k->exponent = k->exponent << 8 | e.p[i];
    /* Samba reads BCRYPT RSA1 and SubjectPublicKeyInfo, not a bare RSAPublicKey */
    if (strcmp(format, "rsapublickey") == 0)
        w->samba_ok = false;

    int r = 0;
    if (k->key_bits != 2048)
        r = findings_add(&k->findings, w->a, "key_size", SM_SEV_WARNING, NULL,
                         "The key has %u bits; Windows Hello keys are 2048-bit RSA ([MS-PKCA] "
                         "3.1.5.2.1.4, [MS-ADTS] 2.2.20.5.1).",
                         k->key_bits);
    if (r == 0 && k->declared_bits != k->key_bits)
        r = findings_add(&k->findings, w->a, "bitlength_mismatch", SM_SEV_WARNING, NULL,
                         "The BCRYPT_RSAKEY_BLOB header says %u bits; the modulus has %u.",
                         k->declared_bits, k->key_bits);
    return r;
}

/* ---- the fields -------------------------------------------------------------------------- */

static const char *usage_name(unsigned u)
{
    switch (u) {
    case SM_KEYCRED_USAGE_ADMIN: return "AdminKey";
    case SM_KEYCRED_USAGE_NGC: return "NGC";
    case SM_KEYCRED_USAGE_STK: return "STK";
    case SM_KEYCRED_USAGE_BITLOCKER_RECOVERY: return "BitLockerRecovery";
    case SM_KEYCRED_USAGE_FIDO: return "FIDO";
    case SM_KEYCRED_USAGE_FEK: return "FEK";
    default: return "unknown";
    }
}

/* The fields of the entries read_entries() found, and findings about them. 0 or -ENOMEM. */
static int read_fields(struct walk *w)
{
    struct sm_keycred *k = w->k;
    struct arena *a = w->a;
    struct sm_findings *f = &k->findings;
    const struct entry *e = w->e;
    uint8_t h[SU_SHA256_LEN] = { 0 };
    int r = 0;

    if (e[KEY_SOURCE].count) {
        k->source = e[KEY_SOURCE].v[0];
        k->source_name = k->source == SM_KEYCRED_SOURCE_AD         ? "AD"
                         : k->source == SM_KEYCRED_SOURCE_AZURE_AD ? "AzureAD"
                                                                   : "unknown";
        if (k->source != SM_KEYCRED_SOURCE_AD &&
            (r = findings_add(f, a, "source_not_ad", SM_SEV_INFO, NULL,
                              "KeySource is %s (0x%02X), not KEY_SOURCE_AD.", k->source_name,
                              (unsigned)k->source)) < 0)
            return r;
    }
    if (e[KEY_USAGE].count) {
        k->usage = e[KEY_USAGE].v[0];
        k->usage_name = usage_name((unsigned)k->usage);
        if (k->usage != SM_KEYCRED_USAGE_NGC &&
            (r = findings_add(f, a, "usage_not_ngc", SM_SEV_INFO, NULL,
                              "KeyUsage is %s (0x%02X): only Windows Hello (NGC) keys map a "
                              "certificate by key trust.",
                              k->usage_name, (unsigned)k->usage)) < 0)
            return r;
    }
    if (e[KEY_MATERIAL].count) {
        su_sha256(e[KEY_MATERIAL].v, e[KEY_MATERIAL].len, h);
        if (!(k->key_material_sha256 = arena_hex(a, h, sizeof(h))))
            return -ENOMEM;
        if ((r = read_key(w, e[KEY_MATERIAL].v, e[KEY_MATERIAL].len)) < 0)
            return r;
    }
    if (e[KEY_ID].count) {
        if (!(k->key_id = arena_hex(a, e[KEY_ID].v, e[KEY_ID].len)))
            return -ENOMEM;
        k->key_id_ok = e[KEY_MATERIAL].count && memcmp(e[KEY_ID].v, h, sizeof(h)) == 0;
        if (!k->key_id_ok && e[KEY_MATERIAL].count &&
            (r = findings_add(f, a, "keyid_mismatch", SM_SEV_WARNING, k->key_material_sha256,
                              "KeyID is not the SHA-256 of the key material ([MS-ADTS] "
                              "2.2.20.6).")) < 0)
            return r;
    } else if ((r = findings_add(f, a, "keyid_missing", SM_SEV_WARNING, k->key_material_sha256,
                                 "There is no KeyID entry, which every key MUST have ([MS-ADTS] "
                                 "2.2.20.6).")) < 0) {
        return r;
    }
    if (e[KEY_HASH].count) {
        su_sha256(w->blob + e[KEY_HASH].end, w->len - e[KEY_HASH].end, h);
        k->key_hash_ok = memcmp(e[KEY_HASH].v, h, sizeof(h)) == 0;
        if (!k->key_hash_ok &&
            (r = findings_add(f, a, "keyhash_mismatch", SM_SEV_WARNING, NULL,
                              "KeyHash is not the SHA-256 of the entries after it: the value "
                              "was changed after it was written.")) < 0)
            return r;
    } else if ((r = findings_add(f, a, "keyhash_missing", SM_SEV_INFO, NULL,
                                 "There is no KeyHash entry (keys SHOULD have one).")) < 0) {
        return r;
    }
    if (e[DEVICE_ID].count) {
        const uint8_t *g = e[DEVICE_ID].v;
        k->device_id =
            arena_printf(a, "%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", (unsigned)le32(g),
                         (unsigned)(g[4] | g[5] << 8), (unsigned)(g[6] | g[7] << 8), g[8], g[9],
                         g[10], g[11], g[12], g[13], g[14], g[15]);
        if (!k->device_id)
            return -ENOMEM;
    }
    if (e[CUSTOM_KEY_INFO].count) {
        k->has_custom_key_info = true;
        k->custom_key_flags = e[CUSTOM_KEY_INFO].v[1];
    }
    if ((r = read_time(w, &e[CREATION_TIME], &k->created, &k->created_t)) < 0 ||
        (r = read_time(w, &e[LAST_LOGON], &k->last_logon, NULL)) < 0)
        return r;
    return 0;
}

/* ---- public functions -------------------------------------------------------------------- */

int sm_keycred_parse(const char *value, size_t len, struct sm_keycred **ret,
                     struct sm_errinfo *reterr)
{
    struct keycred_impl *x;
    struct walk w = { 0 };
    struct arena *a;

    if (!value || len == 0) {
        errinfo_set(reterr, 0, "msDS-KeyCredentialLink value is empty");
        return SM_E_EMPTY;
    }
    if (len > SM_MAX_KEYCRED_VALUE) {
        errinfo_set(reterr, SM_MAX_KEYCRED_VALUE,
                    "msDS-KeyCredentialLink value is %zu bytes, more than the limit of %d", len,
                    SM_MAX_KEYCRED_VALUE);
        return SM_E_TOO_BIG;
    }
    if (!su_utf8_valid(value, len)) {
        errinfo_set(reterr, -1, "msDS-KeyCredentialLink value is not UTF-8 or holds a NUL byte");
        return SM_E_UTF8;
    }
    if (!(a = arena_new()))
        goto out_nomem;
    if (!(x = arena_alloc(a, sizeof(*x))))
        goto out_nomem;
    x->arena = a;
    w.k = &x->pub;
    w.a = a;
    w.samba_ok = true;
    w.k->valid = true;
    w.k->usage = -1;
    w.k->source = -1;

    /* these fail only for memory; a malformed value is read as invalid, not as an error */
    if (read_text(&w, value, len) < 0)
        goto out_nomem;
    if (w.blob) {
        if (read_entries(&w) < 0 || read_fields(&w) < 0)
            goto out_nomem;
    } else {
        w.samba_ok = false;
    }
    struct sm_keycred *k = w.k;
    k->logon_key = k->valid && k->usage == SM_KEYCRED_USAGE_NGC && k->key_kind;
    /* Samba 4.24 (source4/kdc/db-glue.c): one KeyUsage, NGC; one KeyMaterial it decodes */
    k->samba_usable = w.samba_ok && w.e[KEY_USAGE].count == 1 && k->usage == SM_KEYCRED_USAGE_NGC &&
                      w.e[KEY_MATERIAL].count == 1 && k->key_kind;
    *ret = k;
    return 0;

out_nomem:
    arena_free(a);
    errinfo_set(reterr, -1, "out of memory");
    return -ENOMEM;
}

struct sm_keycred *sm_keycred_free(struct sm_keycred *k)
{
    if (k)
        arena_free(impl_of(k)->arena);
    return NULL;
}

bool sm_keycred_matches(const struct sm_keycred *k, const struct sm_cert *cert)
{
    return k && cert && k->spk_sha1[0] && cert->spk_sha1[0] &&
           strcmp(k->spk_sha1, cert->spk_sha1) == 0;
}

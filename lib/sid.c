/*
 * lib/sid.c - Windows security identifiers: text <-> structure <-> binary objectSid, and the DER
 * of the 1.3.6.1.4.1.311.25.2 extension (mapping-rules.md 2.5). Plain C, no third-party headers.
 *
 * Text syntax accepted by sm_sid_parse() (what ConvertStringSidToSid accepts, spelled out):
 *
 *   ("S" | "s") "-" revision "-" authority 1*15("-" sub-authority)
 *   revision      = decimal digits, value 1 (the only SID revision)
 *   authority     = decimal digits, value < 2^48
 *                 | ("0x" | "0X") 1*12 hex digits
 *   sub-authority = decimal digits, value < 2^32
 *
 * Leading zeros are accepted (Windows reads the numbers with wcstoul) but make the text
 * non-canonical. Signs, blanks, empty components and trailing characters are rejected. Here we
 * are stricter than a bare wcstoul loop (which skips leading blanks and takes a sign): no CA or
 * AD tool writes them, and a SID that only a lenient reader accepts is better reported as
 * malformed than silently reinterpreted. At least one sub-authority is required: Wine's
 * and ReactOS's ConvertStringSidToSid (the public reimplementations of the Windows function)
 * fail with ERROR_INVALID_SID when there are fewer than three numeric components, and every SID
 * that can appear in a certificate or on an account has a domain or well-known RID. Hexadecimal
 * sub-authorities ("0x..." after the authority) are not accepted: the header contract says
 * "decimal components", and no CA or AD tool writes them. A decimal authority of 2^32 or more
 * is accepted (up to 2^48 - 1) but is non-canonical; Wine notes that Windows' own parser
 * handles only 32-bit decimal authorities, which no AD SID exceeds.
 *
 * Canonical rendering (sm_sid_format) is what ConvertSidToStringSid produces: decimal
 * authority below 2^32, else "0x" and twelve lower-case hex digits (RtlConvertSidToUnicodeString
 * uses "0x%02hx" six times). Samba renders an authority >= 2^32 as "0x%llx" without padding;
 * authorities that large do not occur in AD, so the difference is only noted here.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <strongmap/sid.h>

#include "util.h"

#define AUTHORITY_LIMIT (UINT64_C(1) << 48)
#define AUTH_HEX_DIGITS 12
#define SUBAUTH_MAX     UINT64_C(4294967295)
#define SID_REVISION    1
#define SID_BINARY_HDR  8
/* OID 1.3.6.1.4.1.311.25.2.1, DER contents */
static const uint8_t oid_sid_othername[] = { 0x2b, 0x06, 0x01, 0x04, 0x01,
                                             0x82, 0x37, 0x19, 0x02, 0x01 };

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Describe one byte of input for an error message. */
static void describe_char(char c, char *buf, size_t size)
{
    unsigned char u = (unsigned char)c;
    if (u == ' ')
        snprintf(buf, size, "a space");
    else if (u > 0x20 && u < 0x7f)
        snprintf(buf, size, "'%c'", c);
    else
        snprintf(buf, size, "byte 0x%02X", u);
}

/* The name of a SID component for a message: @name, or "sub-authority N" when @sub > 0. */
static const char *component(char *buf, size_t size, const char *name, unsigned sub)
{
    if (!sub)
        return name;
    snprintf(buf, size, "sub-authority %u", sub);
    return buf;
}

/*
 * Read a decimal component starting at *pos, ending at '-' or the end of the text. @name (or,
 * when @sub > 0, "sub-authority @sub") names the component for messages. Fails on an empty
 * component, a non-digit, or a value above @max.
 */
static int read_decimal(const char *text, size_t len, size_t *pos, uint64_t max, const char *name,
                        unsigned sub, uint64_t *ret, struct sm_errinfo *reterr)
{
    size_t i = *pos;
    uint64_t v = 0;
    char what[32]; /* formatted only for a message: this runs for every SID read */

    if (i >= len || text[i] == '-') {
        errinfo_set(reterr, (long)i, "%s is empty", component(what, sizeof(what), name, sub));
        return SM_E_SID;
    }
    for (; i < len && text[i] != '-'; i++) {
        if (!is_digit(text[i])) {
            char d[16];
            describe_char(text[i], d, sizeof(d));
            errinfo_set(reterr, (long)i, "%s in %s is not a decimal digit", d,
                        component(what, sizeof(what), name, sub));
            return SM_E_SID;
        }
        v = v * 10 + (uint64_t)(text[i] - '0');
        if (v > max) {
            errinfo_set(reterr, (long)*pos, "%s exceeds %" PRIu64,
                        component(what, sizeof(what), name, sub), max);
            return SM_E_SID;
        }
    }
    *pos = i;
    *ret = v;
    return 0;
}

/* Hexadecimal authority after "0x": 1 to 12 hex digits. */
static int read_hex_authority(const char *text, size_t len, size_t *pos, uint64_t *ret,
                              struct sm_errinfo *reterr)
{
    size_t start = *pos, i = *pos;
    uint64_t v = 0;

    if (i >= len || text[i] == '-') {
        errinfo_set(reterr, (long)i, "hexadecimal authority has no digits after \"0x\"");
        return SM_E_SID;
    }
    for (; i < len && text[i] != '-'; i++) {
        int d = su_hex_digit(text[i]);
        if (d < 0) {
            char c[16];
            describe_char(text[i], c, sizeof(c));
            errinfo_set(reterr, (long)i, "%s in hexadecimal authority is not a hex digit", c);
            return SM_E_SID;
        }
        if (i - start >= AUTH_HEX_DIGITS) {
            errinfo_set(reterr, (long)start, "hexadecimal authority has more than %d digits",
                        AUTH_HEX_DIGITS);
            return SM_E_SID;
        }
        v = v << 4 | (uint64_t)d;
    }
    *pos = i;
    *ret = v;
    return 0;
}

int sm_sid_parse(const char *text, size_t len, struct sm_sid *ret, bool *ret_canonical,
                 struct sm_errinfo *reterr)
{
    struct sm_sid sid = { 0 };
    size_t pos = 0;
    uint64_t v;
    int r;

    if (!text || len == 0) {
        errinfo_set(reterr, 0, "SID text is empty");
        return SM_E_SID;
    }
    if (len < 2 || (text[0] != 'S' && text[0] != 's') || text[1] != '-') {
        errinfo_set(reterr, 0, "SID does not start with \"S-\"");
        return SM_E_SID;
    }
    pos = 2;

    r = read_decimal(text, len, &pos, SUBAUTH_MAX, "revision", 0, &v, reterr);
    if (r < 0)
        return r;
    if (v != SID_REVISION) {
        errinfo_set(reterr, 2, "SID revision %" PRIu64 " is not supported (only revision 1 exists)",
                    v);
        return SM_E_SID;
    }
    sid.revision = SID_REVISION;

    if (pos >= len) {
        errinfo_set(reterr, (long)pos, "identifier authority is missing");
        return SM_E_SID;
    }
    pos++; /* '-' */
    if (len - pos >= 2 && text[pos] == '0' && (text[pos + 1] == 'x' || text[pos + 1] == 'X')) {
        pos += 2;
        r = read_hex_authority(text, len, &pos, &v, reterr);
    } else {
        r = read_decimal(text, len, &pos, AUTHORITY_LIMIT - 1, "identifier authority", 0, &v,
                         reterr);
    }
    if (r < 0)
        return r;
    sid.authority = v;

    while (pos < len) {
        pos++; /* '-' */
        if (sid.n_sub == SM_SID_MAX_SUBAUTH) {
            errinfo_set(reterr, (long)pos, "more than %d sub-authorities", SM_SID_MAX_SUBAUTH);
            return SM_E_SID;
        }
        r = read_decimal(text, len, &pos, SUBAUTH_MAX, NULL, (unsigned)sid.n_sub + 1, &v, reterr);
        if (r < 0)
            return r;
        sid.sub[sid.n_sub++] = (uint32_t)v;
    }
    if (sid.n_sub == 0) {
        errinfo_set(reterr, (long)len, "SID has no sub-authorities (at least one is required)");
        return SM_E_SID;
    }

    if (ret_canonical) {
        char canon[SM_SID_TEXT_MAX];
        sm_sid_format(&sid, canon, sizeof(canon));
        *ret_canonical = strlen(canon) == len && memcmp(canon, text, len) == 0;
    }
    if (ret)
        *ret = sid;
    return 0;
}

/* Append decimal @v at *off; false (nothing written) when it would not fit with its NUL. */
static bool put_dec(char *buf, size_t size, size_t *off, char lead, uint64_t v)
{
    char d[20];
    size_t n = dec_u64(v, d);
    if (size - *off < n + 2)
        return false;
    buf[(*off)++] = lead;
    memcpy(buf + *off, d, n);
    *off += n;
    buf[*off] = '\0';
    return true;
}

char *sm_sid_format(const struct sm_sid *sid, char *buf, size_t size)
{
    size_t off = 0;

    if (size == 0)
        return buf;
    buf[0] = '\0';
    if (size < 3)
        return buf;
    buf[off++] = 'S';
    buf[off] = '\0';
    if (!put_dec(buf, size, &off, '-', sid->revision))
        return buf;
    if (sid->authority >= (UINT64_C(1) << 32)) {
        int n = snprintf(buf + off, size - off, "-0x%012" PRIx64,
                         sid->authority & (AUTHORITY_LIMIT - 1));
        if (n < 0 || (size_t)n >= size - off)
            return buf;
        off += (size_t)n;
    } else if (!put_dec(buf, size, &off, '-', sid->authority)) {
        return buf;
    }
    for (unsigned i = 0; i < sid->n_sub && i < SM_SID_MAX_SUBAUTH; i++)
        if (!put_dec(buf, size, &off, '-', sid->sub[i]))
            break;
    return buf;
}

size_t sm_sid_to_binary(const struct sm_sid *sid, uint8_t *out)
{
    if (sid->n_sub > SM_SID_MAX_SUBAUTH)
        return 0;
    out[0] = sid->revision;
    out[1] = sid->n_sub;
    for (int i = 0; i < 6; i++)
        out[2 + i] = (uint8_t)(sid->authority >> (8 * (5 - i)));
    for (unsigned i = 0; i < sid->n_sub; i++) {
        uint8_t *p = out + SID_BINARY_HDR + 4 * i;
        p[0] = (uint8_t)sid->sub[i];
        p[1] = (uint8_t)(sid->sub[i] >> 8);
        p[2] = (uint8_t)(sid->sub[i] >> 16);
        p[3] = (uint8_t)(sid->sub[i] >> 24);
    }
    return SID_BINARY_HDR + 4 * (size_t)sid->n_sub;
}

/*
 * Binary objectSid: revision, count, 6-byte big-endian authority, count little-endian uint32.
 * Revision must be 1 (IsValidSid checks it) and, as for text, at least one sub-authority is
 * required so that every parsed SID can be written and read back as text.
 */
int sm_sid_from_binary(const uint8_t *buf, size_t len, struct sm_sid *ret)
{
    struct sm_sid sid = { 0 };

    if (!buf || len < SID_BINARY_HDR)
        return SM_E_SID;
    if (buf[0] != SID_REVISION || buf[1] == 0 || buf[1] > SM_SID_MAX_SUBAUTH)
        return SM_E_SID;
    if (len != SID_BINARY_HDR + 4 * (size_t)buf[1])
        return SM_E_SID;
    sid.revision = buf[0];
    sid.n_sub = buf[1];
    for (int i = 0; i < 6; i++)
        sid.authority = sid.authority << 8 | buf[2 + i];
    for (unsigned i = 0; i < sid.n_sub; i++) {
        const uint8_t *p = buf + SID_BINARY_HDR + 4 * i;
        sid.sub[i] =
            (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    }
    *ret = sid;
    return 0;
}

bool sm_sid_equal(const struct sm_sid *a, const struct sm_sid *b)
{
    if (a->revision != b->revision || a->n_sub != b->n_sub || a->authority != b->authority)
        return false;
    if (a->n_sub > SM_SID_MAX_SUBAUTH)
        return false;
    for (unsigned i = 0; i < a->n_sub; i++)
        if (a->sub[i] != b->sub[i])
            return false;
    return true;
}

/* Size of a DER TLV with @len content bytes (lengths below 65536). */
static size_t tlv_size(size_t len)
{
    if (len < 0x80)
        return 2 + len;
    if (len < 0x100)
        return 3 + len;
    return 4 + len;
}

static uint8_t *put_header(uint8_t *p, uint8_t tag, size_t len)
{
    *p++ = tag;
    if (len < 0x80) {
        *p++ = (uint8_t)len;
    } else if (len < 0x100) {
        *p++ = 0x81;
        *p++ = (uint8_t)len;
    } else {
        *p++ = 0x82;
        *p++ = (uint8_t)(len >> 8);
        *p++ = (uint8_t)len;
    }
    return p;
}

/*
 * SEQUENCE {                              -- GeneralNames
 *   [0] IMPLICIT SEQUENCE {               -- otherName, constructed context tag 0
 *     OBJECT IDENTIFIER 1.3.6.1.4.1.311.25.2.1,
 *     [0] EXPLICIT OCTET STRING "S-1-5-..." } }
 */
long sm_sid_extension_der(const struct sm_sid *sid, uint8_t *out, size_t size)
{
    char text[SM_SID_TEXT_MAX];
    size_t tlen, octet, explicit0, other_content, other, total;
    uint8_t *p;

    if (sid->revision != SID_REVISION || sid->n_sub == 0 || sid->n_sub > SM_SID_MAX_SUBAUTH)
        return -EINVAL;
    sm_sid_format(sid, text, sizeof(text));
    tlen = strlen(text);
    octet = tlv_size(tlen);
    explicit0 = tlv_size(octet);
    other_content = tlv_size(sizeof(oid_sid_othername)) + explicit0;
    other = tlv_size(other_content);
    total = tlv_size(other);
    if (size < total)
        return -ENOBUFS;

    p = put_header(out, 0x30, other);
    p = put_header(p, 0xa0, other_content);
    p = put_header(p, 0x06, sizeof(oid_sid_othername));
    memcpy(p, oid_sid_othername, sizeof(oid_sid_othername));
    p += sizeof(oid_sid_othername);
    p = put_header(p, 0xa0, octet);
    p = put_header(p, 0x04, tlen);
    memcpy(p, text, tlen);
    p += tlen;
    return (long)(p - out);
}

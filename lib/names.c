/*
 * lib/names.c - rendering X.509 Names three ways (docs/mapping-rules.md 2.4 and 3).
 *
 * RFC 4514: display order (last RDN first), attributes of a multi-valued RDN joined by "+" in
 * reverse order too, escaping exactly as OpenSSL's "-nameopt RFC2253,-esc_msb" (so tests can
 * compare with openssl at test time): `, + " \ < > ;` anywhere, `#` first, space first or last,
 * control characters as \XX, non-string values as #<hex of DER>.
 *
 * AD: DER order, "," between RDNs, " " inside a multi-valued RDN, the KDC's keywords,
 * double quotes around values that are empty, have leading/trailing white space, or contain
 * `, + = " < > # ;` or a newline; an embedded `"` is doubled.
 *
 * Samba: Samba reverses the stored value on every comma and compares it with its
 * RFC 4514 rendering, so the value to store is the RFC 4514 string split on every comma and
 * rejoined in reverse order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"

struct keyword {
    const char *oid;
    const char *ad;  /* the Windows KDC's keyword, NULL: OID.<dotted> */
    const char *rfc; /* OpenSSL's short name, NULL: dotted OID */
};

static const struct keyword keywords[] = {
    { "2.5.4.3", "CN", "CN" },
    { "2.5.4.4", "SN", "SN" },
    { "2.5.4.5", "SERIALNUMBER", "serialNumber" },
    { "2.5.4.6", "C", "C" },
    { "2.5.4.7", "L", "L" },
    { "2.5.4.8", "S", "ST" },
    { "2.5.4.9", "STREET", "street" },
    { "2.5.4.10", "O", "O" },
    { "2.5.4.11", "OU", "OU" },
    { "2.5.4.12", "T", "title" },
    { "2.5.4.42", "G", "GN" },
    { "2.5.4.43", "I", "initials" },
    { "0.9.2342.19200300.100.1.25", "DC", "DC" },
    { "1.2.840.113549.1.9.1", "E", "emailAddress" },
    /* Known to OpenSSL only: the KDC writes OID.<dotted>. */
    { "0.9.2342.19200300.100.1.1", NULL, "UID" },
    { "0.9.2342.19200300.100.1.3", NULL, "mail" },
    { "2.5.4.13", NULL, "description" },
    { "2.5.4.15", NULL, "businessCategory" },
    { "2.5.4.16", NULL, "postalAddress" },
    { "2.5.4.17", NULL, "postalCode" },
    { "2.5.4.18", NULL, "postOfficeBox" },
    { "2.5.4.20", NULL, "telephoneNumber" },
    { "2.5.4.41", NULL, "name" },
    { "2.5.4.44", NULL, "generationQualifier" },
    { "2.5.4.45", NULL, "x500UniqueIdentifier" },
    { "2.5.4.46", NULL, "dnQualifier" },
    { "2.5.4.65", NULL, "pseudonym" },
    { "2.5.4.72", NULL, "role" },
    { "2.5.4.97", NULL, "organizationIdentifier" },
    { "1.2.840.113549.1.9.2", NULL, "unstructuredName" },
    { "1.3.6.1.4.1.311.60.2.1.1", NULL, "jurisdictionL" },
    { "1.3.6.1.4.1.311.60.2.1.2", NULL, "jurisdictionST" },
    { "1.3.6.1.4.1.311.60.2.1.3", NULL, "jurisdictionC" },
};

/* The table in strcmp order for a binary search (every attribute of every name), sorted once. */
static const struct keyword *keywords_sorted[ARRAY_SIZE(keywords)];
static pthread_once_t keywords_once = PTHREAD_ONCE_INIT;

static int keyword_cmp(const void *a, const void *b)
{
    return strcmp((*(const struct keyword *const *)a)->oid,
                  (*(const struct keyword *const *)b)->oid);
}

static void keywords_sort(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
        keywords_sorted[i] = &keywords[i];
    qsort(keywords_sorted, ARRAY_SIZE(keywords_sorted), sizeof(keywords_sorted[0]), keyword_cmp);
}

static const struct keyword *keyword_find(const char *oid)
{
    const struct keyword key = { .oid = oid }, *k = &key, *const * hit;
    pthread_once(&keywords_once, keywords_sort);
    hit = bsearch(&k, keywords_sorted, ARRAY_SIZE(keywords_sorted), sizeof(keywords_sorted[0]),
                  keyword_cmp);
    return hit ? *hit : NULL;
}

/* Bytes per character of a string type, OpenSSL's tag2nbyte: 0 = UTF-8, -1 = not a string. */
static int string_width(int tag)
{
    switch (tag) {
    case 12: return 0; /* UTF8String */
    case 18:
    case 19:
    case 20:
    case 21:
    case 22: /* Numeric, Printable, T61, Videotex, IA5 */
    case 25:
    case 26:
    case 27: /* Graphic, Visible, General */ return 1;
    case 28: return 4; /* UniversalString */
    case 30: return 2; /* BMPString */
    default: return -1;
    }
}

int asn1_string_to_utf8(struct su_buf *b, int tag, const uint8_t *p, size_t len, bool *lossy)
{
    int w = string_width(tag);
    *lossy = false;
    switch (w) {
    case 0: *lossy = utf8_sanitize(b, (const char *)p, len); return 1;
    case 1:
        /* Latin-1 (T61String is read as Latin-1, as Windows and OpenSSL do). */
        for (size_t i = 0; i < len; i++) {
            if (p[i] == 0) {
                utf8_put(b, 0xfffd);
                *lossy = true;
            } else {
                utf8_put(b, p[i]);
            }
        }
        return 1;
    case 2: {
        if (len % 2)
            *lossy = true;
        for (size_t i = 0; i + 1 < len; i += 2) {
            uint32_t c = (uint32_t)p[i] << 8 | p[i + 1];
            if (c >= 0xd800 && c <= 0xdbff && i + 3 < len) {
                uint32_t lo = (uint32_t)p[i + 2] << 8 | p[i + 3];
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    utf8_put(b, 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00));
                    i += 2;
                    continue;
                }
            }
            if (c == 0 || (c >= 0xd800 && c <= 0xdfff)) {
                c = 0xfffd;
                *lossy = true;
            }
            utf8_put(b, c);
        }
        return 1;
    }
    case 4:
        if (len % 4)
            *lossy = true;
        for (size_t i = 0; i + 3 < len; i += 4) {
            uint32_t c = (uint32_t)p[i] << 24 | (uint32_t)p[i + 1] << 16 | (uint32_t)p[i + 2] << 8 |
                         p[i + 3];
            if (c == 0 || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
                c = 0xfffd;
                *lossy = true;
            }
            utf8_put(b, c);
        }
        return 1;
    default: return 0;
    }
}

/* DER header (tag + definite length) for a re-encoded element. */
static void der_header(struct su_buf *b, int tag, size_t len)
{
    uint8_t h[6];
    size_t n = 0;
    h[n++] = (uint8_t)tag;
    if (len < 0x80) {
        h[n++] = (uint8_t)len;
    } else {
        size_t bytes = len > 0xffffff ? 4 : len > 0xffff ? 3 : len > 0xff ? 2 : 1;
        h[n++] = (uint8_t)(0x80 | bytes);
        for (size_t i = bytes; i > 0; i--)
            h[n++] = (uint8_t)(len >> (8 * (i - 1)));
    }
    su_buf_hex(b, h, n);
}

int name_attr_set(struct arena *a, struct sm_name_attr *attr, const char *oid, int tag,
                  const uint8_t *p, size_t len)
{
    const struct keyword *k = keyword_find(oid);
    struct su_buf b;
    arena_buf_init(&b, a);

    attr->oid = oid;
    attr->asn1_tag = tag;
    if (k && k->ad)
        attr->ad_key = k->ad;
    else
        attr->ad_key = arena_printf(a, "OID.%s", oid);
    attr->rfc_key = k ? k->rfc : attr->oid;
    attr->is_string = asn1_string_to_utf8(&b, tag, p, len, &attr->lossy) == 1;
    attr->rfc_hex = !k;
    /* the hex form is printed only for a type without a name or a value that is no string */
    if (attr->rfc_hex || !attr->is_string) {
        struct su_buf hex;
        arena_buf_init(&hex, a);
        su_buf_putc(&hex, '#');
        der_header(&hex, tag, len);
        su_buf_hex(&hex, p, len);
        if (!(attr->der_hex = su_buf_str(&hex)))
            return -ENOMEM;
    }
    attr->value = attr->is_string ? su_buf_str(&b) : attr->der_hex;
    if (!attr->oid || !attr->ad_key || !attr->rfc_key || !attr->value)
        return -ENOMEM;
    return 0;
}

/* ---- RFC 4514 (OpenSSL RFC2253,-esc_msb) -------------------------------------------------- */

static void rfc4514_value(struct su_buf *b, const struct sm_name_attr *attr)
{
    const char *v = attr->value;
    size_t n = strlen(v);
    /* OpenSSL (XN_FLAG_DUMP_UNKNOWN_FIELDS) and RFC 4514 2.4: a dotted type gets #<hex DER> */
    if (attr->rfc_hex) {
        su_buf_puts(b, attr->der_hex);
        return;
    }
    if (!attr->is_string) {
        su_buf_put(b, v, n);
        return;
    }
    size_t run = 0; /* start of the characters not yet written (they need no escape) */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        /*
         * OpenSSL decides first/last per character of the decoded string; for UTF8String it
         * walks bytes. Only ASCII characters are ever escaped and multi-byte sequences never
         * start or end with one, so byte positions give the same answer. As in OpenSSL, a
         * one-character value only gets the "last" rule.
         */
        bool last = i + 1 == n;
        bool first = i == 0 && !last;
        bool hex = c < 0x20 || c == 0x7f;
        bool special =
            c == ',' || c == '+' || c == '"' || c == '\\' || c == '<' || c == '>' || c == ';';
        if (c >= 0x80 ||
            (!hex && !special && !((c == '#' && first) || (c == ' ' && (first || last)))))
            continue;
        su_buf_put(b, v + run, i - run);
        run = i + 1;
        if (hex) {
            static const char digits[] = "0123456789ABCDEF";
            char e[3] = { '\\', digits[c >> 4], digits[c & 15] };
            su_buf_put(b, e, sizeof(e));
        } else {
            char e[2] = { '\\', (char)c };
            su_buf_put(b, e, sizeof(e));
        }
    }
    su_buf_put(b, v + run, n - run);
}

/* ---- AD form ----------------------------------------------------------------------------- */

static bool ad_needs_quotes(const char *v)
{
    size_t n = strlen(v);
    if (n == 0)
        return true;
    if (strchr(" \t\r\n", v[0]) || strchr(" \t\r\n", v[n - 1]))
        return true;
    return strpbrk(v, ",+=\"<>#;\n\r") != NULL;
}

static void ad_value(struct su_buf *b, const struct sm_name_attr *attr)
{
    const char *v = attr->value;
    if (!attr->is_string || !ad_needs_quotes(v)) {
        su_buf_puts(b, v);
        return;
    }
    su_buf_putc(b, '"');
    for (; *v; v++) {
        if (*v == '"')
            su_buf_putc(b, '"');
        su_buf_putc(b, *v);
    }
    su_buf_putc(b, '"');
}

int name_render(struct arena *a, struct sm_name *name)
{
    struct su_buf rfc, ad, samba;
    arena_buf_init(&rfc, a);
    arena_buf_init(&ad, a);
    arena_buf_init(&samba, a);

    name->n_rdns = 0;
    name->multi_valued = false;
    for (size_t i = 0; i < name->n_attrs; i++) {
        const struct sm_name_attr *at = &name->attrs[i];
        if (i > 0)
            su_buf_putc(&ad, name->attrs[i - 1].next_same_rdn ? ' ' : ',');
        su_buf_puts(&ad, at->ad_key);
        su_buf_putc(&ad, '=');
        ad_value(&ad, at);
        if (!at->next_same_rdn || i + 1 == name->n_attrs)
            name->n_rdns++;
        else
            name->multi_valued = true;
    }
    for (size_t k = name->n_attrs; k > 0; k--) {
        const struct sm_name_attr *at = &name->attrs[k - 1];
        if (k < name->n_attrs)
            su_buf_putc(&rfc, at->next_same_rdn ? '+' : ',');
        su_buf_puts(&rfc, at->rfc_key);
        su_buf_putc(&rfc, '=');
        rfc4514_value(&rfc, at);
    }
    const char *r = su_buf_str(&rfc);
    if (!r)
        return -ENOMEM;
    /* Samba: split on every comma (escaped or not) and reverse. */
    size_t seg_end = strlen(r);
    for (size_t i = seg_end;; i--) {
        if (i == 0 || r[i - 1] == ',') {
            su_buf_put(&samba, r + i, seg_end - i);
            if (i == 0)
                break;
            su_buf_putc(&samba, ',');
            seg_end = i - 1;
        }
    }
    name->rfc4514 = r;
    name->ad = su_buf_str(&ad);
    name->samba = su_buf_str(&samba);
    if (!name->ad || !name->samba)
        return -ENOMEM;
    return 0;
}

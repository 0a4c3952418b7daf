/*
 * lib/altsecid.c - altSecurityIdentities values: parse, classify, match (Windows and Samba),
 * lint (docs/mapping-rules.md 2.4 and 3). Plain C, no third-party headers.
 *
 * Two readers of the same string are modelled:
 *
 * Windows. The KDC builds candidate strings from the certificate ("X509:<I>issuer<SR>serial",
 * ...) and looks for an account holding an equal value; the attribute's LDAP equality rule is
 * case-insensitive. So the header "X509:", the tag names and the hex digits may be in
 * any case, and everything else must be exactly what the KDC builds: tags in the KDC's order,
 * no text before the first tag, no spaces after the RDN separators. sm_altsec_parse() reads a
 * value this way and classifies it by its set of tags; sm_altsec_matches() compares it with
 * the strings the certificate module built (cert->mappings), ignoring ASCII case. AD also folds
 * non-ASCII case; that corner is not modelled (a value differing from the built string only in
 * the case of a non-ASCII letter is predicted not to match).
 *
 * Samba 4.24 (source4/kdc/db-glue.c parse_certificate_mapping, heimdal kdc/pkinit.c
 * pk_check_certificate_binding). Samba parses the fields: the header "X509:" and the tag names
 * are compared case-sensitively; text between "X509:" and the first '<' is skipped; any '<'
 * starts a tag; a repeated tag replaces the earlier one; an unknown tag (including <SID>), an
 * empty tag or value, or bad hex makes Samba ignore the whole value. <I>/<S> are reversed on
 * every ',' (and CR/LF; empty components dropped) and compared byte for byte with Heimdal's
 * RFC 4514 rendering of the name; <SR> is hex-decoded, byte-reversed and compared with the
 * serial's magnitude (Heimdal drops the 00 sign byte); <SKI> and <SHA1-PUKEY> are hex-decoded
 * (so hex case does not matter) and compared with the SKI extension and the SHA-1 of the whole
 * certificate; <RFC822> is compared byte for byte with each rfc822Name. A value is strong for
 * Samba when it has <SKI>, <SHA1-PUKEY>, or <I> together with <SR>. sm_altsec_matches_samba()
 * re-reads the value this way each time, independent of the Windows classification.
 *
 * Uncertain points (documented, predicted as stated): we take cert->issuer.rfc4514 (OpenSSL's
 * RFC 2253 rendering) as equal to Heimdal's hx509_name_to_string(); they can differ in the
 * escaping of unusual characters. Negative serial numbers are predicted never to match on
 * Samba (Heimdal keeps a negated magnitude; no CA issues them).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <strongmap/altsecid.h>
#include <strongmap/sid.h>

#include "util.h"

#define X509_HEADER     "X509:"
#define X509_HEADER_LEN 5
#define MAX_TAGS        16 /* tags read from one value; more make it invalid */
#define TAG_NAME_MAX    16 /* longest tag-shaped "<NAME>" recognised as a tag */
#define MAX_RDNS        (2 * SM_MAX_NAME_ATTRS)
#define SHA1_HEX_LEN    40
#define SERIAL_HEX_MAX  128 /* hex digits of the longest serial compared (64 bytes) */

/* ---- tags and types ---------------------------------------------------------------------- */

enum tag { TAG_I, TAG_S, TAG_SR, TAG_SKI, TAG_SHA1, TAG_SID, TAG_RFC822, TAG__COUNT };

static const char *const tag_names[TAG__COUNT] = { "I",          "S",   "SR",    "SKI",
                                                   "SHA1-PUKEY", "SID", "RFC822" };

#define BIT(t) (1u << (t))

/* The tags of each type, in the order the KDC writes them. */
static const struct {
    enum tag tags[2];
    unsigned n;
} type_tags[SM_MAP__COUNT] = {
    [SM_MAP_ISSUER_SERIAL] = { { TAG_I, TAG_SR }, 2 },
    [SM_MAP_SKI] = { { TAG_SKI, TAG_SKI }, 1 },
    [SM_MAP_SHA1_PUKEY] = { { TAG_SHA1, TAG_SHA1 }, 1 },
    [SM_MAP_ISSUER_SID] = { { TAG_I, TAG_SID }, 2 },
    [SM_MAP_ISSUER_SUBJECT] = { { TAG_I, TAG_S }, 2 },
    [SM_MAP_SUBJECT_ONLY] = { { TAG_S, TAG_S }, 1 },
    [SM_MAP_RFC822] = { { TAG_RFC822, TAG_RFC822 }, 1 },
};

/*
 * Microsoft's names, kept here rather than calling sm_map_type_name() so that this module
 * depends only on util.c and sid.c.
 */
static const char *type_name(enum sm_map_type t)
{
    static const char *const names[SM_MAP__COUNT] = {
        [SM_MAP_ISSUER_SERIAL] = "X509IssuerSerialNumber",
        [SM_MAP_SKI] = "X509SKI",
        [SM_MAP_SHA1_PUKEY] = "X509SHA1PublicKey",
        [SM_MAP_ISSUER_SID] = "X509IssuerSID",
        [SM_MAP_ISSUER_SUBJECT] = "X509IssuerSubject",
        [SM_MAP_SUBJECT_ONLY] = "X509SubjectOnly",
        [SM_MAP_RFC822] = "X509RFC822",
    };
    if ((unsigned)t >= SM_MAP__COUNT)
        return "unknown";
    return names[t];
}

static bool type_is_strong(enum sm_map_type t)
{
    return t == SM_MAP_ISSUER_SERIAL || t == SM_MAP_SKI || t == SM_MAP_SHA1_PUKEY ||
           t == SM_MAP_ISSUER_SID;
}

/* Type of a set of tags, ignoring their order; -1 when the set is no type. */
static int type_of_set(unsigned set)
{
    for (int t = 0; t < SM_MAP__COUNT; t++) {
        unsigned want = 0;
        for (unsigned i = 0; i < type_tags[t].n; i++)
            want |= BIT(type_tags[t].tags[i]);
        if (want == set)
            return t;
    }
    return -1;
}

/* ---- the object ---------------------------------------------------------------------------- */

struct altsec_impl {
    struct sm_altsec pub;
    struct arena *arena;
    size_t n_parse_findings; /* findings added by parse; lint truncates back to this */
    int set_type;            /* type by the set of tags ignoring order, or -1 */
    unsigned bad_fields;     /* BIT(tag) of fields with a syntax error */
    bool canonical_case;     /* header "X509:" and every tag name upper case */
    bool sid_canonical;      /* <SID> text is the canonical rendering */
    struct sm_sid sid;       /* parsed <SID> when present and valid */
};

static struct altsec_impl *impl_of(struct sm_altsec *v)
{
    return (struct altsec_impl *)((char *)v - offsetof(struct altsec_impl, pub));
}

static const char **field_slot(struct sm_altsec *v, enum tag t)
{
    switch (t) {
    case TAG_I: return &v->issuer;
    case TAG_S: return &v->subject;
    case TAG_SR: return &v->serial;
    case TAG_SKI: return &v->ski;
    case TAG_SHA1: return &v->sha1;
    case TAG_SID: return &v->sid;
    case TAG_RFC822: return &v->rfc822;
    case TAG__COUNT: break;
    }
    return NULL;
}

static const char *field_of(const struct sm_altsec *v, enum tag t)
{
    switch (t) {
    case TAG_I: return v->issuer;
    case TAG_S: return v->subject;
    case TAG_SR: return v->serial;
    case TAG_SKI: return v->ski;
    case TAG_SHA1: return v->sha1;
    case TAG_SID: return v->sid;
    case TAG_RFC822: return v->rfc822;
    case TAG__COUNT: break;
    }
    return NULL;
}

/* ---- small text helpers --------------------------------------------------------------------- */

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_tag_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static bool str_caseeq(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    return ascii_caseeq(a, strlen(a), b, strlen(b));
}

/* Byte offset of the first invalid UTF-8 sequence (or NUL), or -1. */
static long utf8_bad_offset(const char *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t k = 1;
        while (k <= 4 && k <= len - i && !utf8_valid(p + i, k))
            k++;
        if (k > 4 || k > len - i)
            return (long)i;
        i += k;
    }
    return -1;
}

/* Length of a tag "<NAME>" at @s[i] (NAME: letters, digits, '-'), or 0. */
static size_t tag_at(const char *s, size_t len, size_t i)
{
    size_t j;
    if (i >= len || s[i] != '<')
        return 0;
    for (j = i + 1; j < len && j - i - 1 < TAG_NAME_MAX && is_tag_char(s[j]); j++)
        ;
    if (j == i + 1 || j >= len || s[j] != '>')
        return 0;
    return j - i + 1;
}

static int tag_lookup(const char *name, size_t len, bool *upper)
{
    for (int t = 0; t < TAG__COUNT; t++) {
        size_t n = strlen(tag_names[t]);
        if (ascii_caseeq(name, len, tag_names[t], n)) {
            *upper = memcmp(name, tag_names[t], n) == 0;
            return t;
        }
    }
    return -1;
}

/*
 * End of the field starting at @start: the next tag. In names (<I>, <S>) a '<' inside double
 * quotes belongs to the value (the KDC quotes values containing '<' or '>'); when a quote is
 * left open the field is re-read without quote handling.
 */
static size_t field_end(const char *s, size_t len, size_t start, bool quote_aware)
{
    bool inq = false;
    for (size_t i = start; i < len; i++) {
        if (quote_aware && s[i] == '"')
            inq = !inq;
        else if (!inq && s[i] == '<' && tag_at(s, len, i))
            return i;
    }
    if (inq)
        return field_end(s, len, start, false);
    return len;
}

/* ---- RDN lists (names as written in <I> and <S>) --------------------------------------------- */

struct part {
    const char *p;
    size_t len;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Split a name on the ',' separators that are outside double quotes and not backslash-escaped,
 * trimming blanks around each part. Returns the number of parts, or 0 when there are more
 * than @max. *@trimmed is set when blanks were removed.
 */
static size_t split_rdns(const char *s, size_t len, struct part *parts, size_t max, bool *trimmed)
{
    size_t n = 0, start = 0;
    bool inq = false;

    *trimmed = false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len) {
            if (s[i] == '\\' && i + 1 < len) {
                i++;
                continue;
            }
            if (s[i] == '"')
                inq = !inq;
            if (inq || s[i] != ',')
                continue;
        }
        size_t a = start, b = i;
        while (a < b && is_space(s[a]))
            a++;
        while (b > a && is_space(s[b - 1]))
            b--;
        if (a != start || b != i)
            *trimmed = true;
        if (n == max)
            return 0;
        parts[n].p = s + a;
        parts[n].len = b - a;
        n++;
        start = i + 1;
    }
    return n;
}

static void join_parts(struct sbuf *b, const struct part *parts, size_t n, bool reverse)
{
    for (size_t i = 0; i < n; i++) {
        const struct part *pt = &parts[reverse ? n - 1 - i : i];
        if (i)
            sbuf_putc(b, ',');
        sbuf_put(b, pt->p, pt->len);
    }
}

/* The attribute keyword of an RDN part ("CN" of "CN=x"), case-insensitive compare. */
static bool part_key_is(const struct part *pt, const char *key)
{
    const char *eq = memchr(pt->p, '=', pt->len);
    if (!eq)
        return false;
    size_t klen = (size_t)(eq - pt->p);
    while (klen && is_space(pt->p[klen - 1]))
        klen--;
    return ascii_caseeq(pt->p, klen, key, strlen(key));
}

/*
 * Heuristic for a name written in display order when no certificate is given: it starts with
 * CN or OU and ends with DC or C, the reverse of how AD and most CAs encode names.
 */
static bool looks_display_order(const struct part *parts, size_t n)
{
    if (n < 2)
        return false;
    return (part_key_is(&parts[0], "CN") || part_key_is(&parts[0], "OU")) &&
           (part_key_is(&parts[n - 1], "DC") || part_key_is(&parts[n - 1], "C"));
}

/*
 * @s normalised: blanks around separators removed and, when @reverse, RDN order reversed.
 * Allocated in @a; NULL on allocation failure. A name with too many RDNs is returned as is.
 */
static const char *name_rewrite(struct arena *a, const char *s, bool reverse, bool *trimmed)
{
    struct part parts[MAX_RDNS];
    struct sbuf b;
    size_t n = split_rdns(s, strlen(s), parts, MAX_RDNS, trimmed);

    sbuf_init(&b, a);
    if (n == 0)
        sbuf_puts(&b, s);
    else
        join_parts(&b, parts, n, reverse);
    return sbuf_str(&b);
}

/* ---- Windows reading: sm_altsec_parse -------------------------------------------------------- */

struct wparse {
    const char *s;
    size_t len;
    struct {
        size_t start, len;
        bool present;
    } f[TAG__COUNT];
    enum tag order[MAX_TAGS];
    size_t n_tags;
    unsigned set;
    unsigned bad_fields;
    bool canonical_case;
    bool sid_canonical;
    struct sm_sid sid;
    char reason[200];
};

static void wp_fail(struct wparse *w, const char *fmt, ...) SM_PRINTF(2, 3);

/* Keep the first reason: it is the leftmost problem in the value. */
static void wp_fail(struct wparse *w, const char *fmt, ...)
{
    if (w->reason[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
    va_end(ap);
}

static void check_hex_field(struct wparse *w, enum tag t, const char *p, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (!is_hex(p[i])) {
            unsigned char c = (unsigned char)p[i];
            w->bad_fields |= BIT(t);
            if (c > 0x20 && c < 0x7f)
                wp_fail(w, "<%s> contains '%c', which is not a hex digit", tag_names[t], c);
            else
                wp_fail(w, "<%s> contains byte 0x%02X, which is not a hex digit", tag_names[t], c);
            return;
        }
    }
    if (len % 2) {
        w->bad_fields |= BIT(t);
        wp_fail(w, "<%s> has an odd number of hex digits (%zu)", tag_names[t], len);
        return;
    }
    if (t == TAG_SHA1 && len != SHA1_HEX_LEN) {
        w->bad_fields |= BIT(t);
        wp_fail(w, "<SHA1-PUKEY> must be %d hex digits (a SHA-1 hash), not %zu", SHA1_HEX_LEN, len);
    }
}

static void check_field(struct wparse *w, enum tag t, const char *p, size_t len)
{
    if (len == 0) {
        w->bad_fields |= BIT(t);
        wp_fail(w, "empty <%s> field", tag_names[t]);
        return;
    }
    switch (t) {
    case TAG_SR:
    case TAG_SKI:
    case TAG_SHA1: check_hex_field(w, t, p, len); break;
    case TAG_SID: {
        struct sm_errinfo e = { 0 };
        if (sm_sid_parse(p, len, &w->sid, &w->sid_canonical, &e) < 0) {
            w->bad_fields |= BIT(t);
            wp_fail(w, "<SID> is not a SID: %s", e.text);
        }
        break;
    }
    case TAG_I:
    case TAG_S:
    case TAG_RFC822:
    case TAG__COUNT: break;
    }
}

static void wp_combination(struct wparse *w, int *ret_type)
{
    int t = type_of_set(w->set);

    if (t >= 0) {
        /* Two-tag types: the KDC writes <I> first. */
        if (type_tags[t].n == 2 && w->order[0] != type_tags[t].tags[0]) {
            wp_fail(w,
                    "<%s> comes before <%s>: the KDC writes <%s> first, so the value never "
                    "equals the string it builds",
                    tag_names[w->order[0]], tag_names[type_tags[t].tags[0]],
                    tag_names[type_tags[t].tags[0]]);
            *ret_type = -1;
            return;
        }
        *ret_type = t;
        return;
    }
    *ret_type = -1;
    if (w->set == (BIT(TAG_I) | BIT(TAG_S) | BIT(TAG_SR))) {
        wp_fail(w, "<I>, <S> and <SR> together: no Windows code path builds this value");
    } else if (w->set == BIT(TAG_SR)) {
        wp_fail(w, "<SR> without <I>: Windows writes the serial only after the issuer");
    } else if (w->set == BIT(TAG_I)) {
        wp_fail(w, "<I> alone is not a mapping type (X509IssuerSerialNumber adds <SR>)");
    } else {
        char list[128] = "";
        size_t off = 0;
        for (size_t i = 0; i < w->n_tags && off < sizeof(list); i++) {
            int n = snprintf(list + off, sizeof(list) - off, "<%s>", tag_names[w->order[i]]);
            if (n < 0)
                break;
            off += (size_t)n;
        }
        wp_fail(w, "the tags %s do not form a mapping type", list);
    }
}

/* Read an "X509:" value (the header is checked by the caller). */
static void wp_read(struct wparse *w, int *ret_type)
{
    const char *s = w->s;
    size_t len = w->len, pos = X509_HEADER_LEN;

    *ret_type = -1;
    w->canonical_case = memcmp(s, X509_HEADER, X509_HEADER_LEN) == 0;
    if (pos == len) {
        wp_fail(w, "nothing follows \"X509:\"");
        return;
    }
    if (!tag_at(s, len, pos)) {
        if (s[pos] == '<')
            wp_fail(w, "malformed tag right after \"X509:\"");
        else
            wp_fail(w, "text between \"X509:\" and the first tag");
        /* Skip to the first tag, as Samba does, so the fields can still be reported. */
        while (pos < len && !tag_at(s, len, pos))
            pos++;
    }
    while (pos < len) {
        size_t tl = tag_at(s, len, pos);
        bool upper = true;
        int t = tag_lookup(s + pos + 1, tl - 2, &upper);
        size_t vstart = pos + tl;
        size_t vend = field_end(s, len, vstart, t == TAG_I || t == TAG_S);

        if (t < 0) {
            wp_fail(w, "unknown tag <%.*s>", (int)(tl - 2), s + pos + 1);
            pos = vend;
            continue;
        }
        if (!upper)
            w->canonical_case = false;
        if (w->set & BIT(t))
            wp_fail(w, "duplicate <%s> tag", tag_names[t]);
        if (w->n_tags == MAX_TAGS) {
            wp_fail(w, "more than %d tags", MAX_TAGS);
            return;
        }
        w->order[w->n_tags++] = (enum tag)t;
        w->set |= BIT(t);
        w->f[t].start = vstart;
        w->f[t].len = vend - vstart;
        w->f[t].present = true;
        check_field(w, (enum tag)t, s + vstart, vend - vstart);
        pos = vend;
    }
    if (w->n_tags == 0)
        return;
    wp_combination(w, ret_type);
}

/* ---- Samba reading ---------------------------------------------------------------------- */

enum { SB_I, SB_S, SB_SR, SB_SKI, SB_SHA1, SB_RFC822, SB__COUNT };

static const char *const samba_tags[SB__COUNT] = { "I", "S", "SR", "SKI", "SHA1-PUKEY", "RFC822" };

struct samba_map {
    const char *p[SB__COUNT]; /* NULL when absent */
    size_t len[SB__COUNT];
};

static bool samba_set(struct samba_map *m, const char *tag, size_t tlen, const char *val,
                      size_t vlen)
{
    if (tlen == 0 || vlen == 0)
        return false;
    for (int k = 0; k < SB__COUNT; k++) {
        if (strlen(samba_tags[k]) != tlen || memcmp(samba_tags[k], tag, tlen) != 0)
            continue;
        if (k == SB_SR || k == SB_SKI || k == SB_SHA1) {
            if (vlen % 2)
                return false;
            for (size_t i = 0; i < vlen; i++)
                if (!is_hex(val[i]))
                    return false;
        }
        m->p[k] = val; /* a repeated tag replaces the earlier value */
        m->len[k] = vlen;
        return true;
    }
    return false;
}

/* parse_certificate_mapping() of Samba 4.24, over a byte string. */
static bool samba_parse(const char *s, size_t len, struct samba_map *m)
{
    enum { START, TAG, VALUE } state = START;
    size_t ts = 0, tl = 0, vs = 0;

    memset(m, 0, sizeof(*m));
    if (len <= X509_HEADER_LEN || memcmp(s, X509_HEADER, X509_HEADER_LEN) != 0)
        return false;
    for (size_t i = X509_HEADER_LEN; i < len; i++) {
        char c = s[i];
        switch (state) {
        case START:
            if (c == '<') {
                state = TAG;
                ts = i + 1;
            }
            break;
        case TAG:
            if (c == '>') {
                tl = i - ts;
                state = VALUE;
                vs = i + 1;
            }
            break;
        case VALUE:
            if (c == '<') {
                if (!samba_set(m, s + ts, tl, s + vs, i - vs))
                    return false;
                state = TAG;
                ts = i + 1;
            }
            break;
        }
    }
    if (state != VALUE)
        return false;
    return samba_set(m, s + ts, tl, s + vs, len - vs);
}

static bool samba_is_strong(const struct samba_map *m)
{
    return m->p[SB_SKI] || m->p[SB_SHA1] || (m->p[SB_I] && m->p[SB_SR]);
}

/*
 * Samba's reverse_dn(): components delimited by ',', CR or LF, empty ones dropped, joined by
 * ',' in reverse order. Compared with @want byte for byte.
 */
static bool samba_name_matches(const char *p, size_t len, const char *want)
{
    size_t wlen, out = 0, end = len;

    if (!want)
        return false;
    wlen = strlen(want);
    for (size_t i = len + 1; i-- > 0;) {
        if (i > 0 && p[i - 1] != ',' && p[i - 1] != '\r' && p[i - 1] != '\n')
            continue;
        /* component [i, end) */
        if (end > i) {
            size_t clen = end - i;
            if (out && (out >= wlen || want[out++] != ','))
                return false;
            if (clen > wlen - out || memcmp(want + out, p + i, clen) != 0)
                return false;
            out += clen;
        }
        if (i > 0)
            end = i - 1;
    }
    return out == wlen;
}

/* Hex of @hex's bytes in reverse order into @out (len + 1 bytes); @len is even. */
static void reverse_hex(const char *hex, size_t len, char *out)
{
    for (size_t i = 0; i < len; i += 2) {
        out[i] = hex[len - 2 - i];
        out[i + 1] = hex[len - 1 - i];
    }
    out[len] = '\0';
}

/* Certificate serial hex without the DER sign byte (what Heimdal keeps), or NULL. */
static const char *serial_magnitude(const struct sm_cert *cert)
{
    const char *s = cert->serial;
    if (!s || cert->serial_negative || strlen(s) % 2)
        return NULL;
    if (cert->serial_sign_byte && strncmp(s, "00", 2) == 0)
        s += 2;
    return s;
}

static bool samba_serial_matches(const char *p, size_t len, const struct sm_cert *cert)
{
    char rev[SERIAL_HEX_MAX + 1];
    const char *mag = serial_magnitude(cert);
    size_t mlen;

    if (!mag)
        return false;
    mlen = strlen(mag);
    if (mlen != len || mlen >= sizeof(rev))
        return false;
    reverse_hex(mag, mlen, rev);
    return ascii_caseeq(p, len, rev, mlen);
}

static bool samba_matches_map(const struct samba_map *m, const struct sm_cert *cert)
{
    if (m->p[SB_I] && !samba_name_matches(m->p[SB_I], m->len[SB_I], cert->issuer.rfc4514))
        return false;
    if (m->p[SB_S] && !samba_name_matches(m->p[SB_S], m->len[SB_S], cert->subject.rfc4514))
        return false;
    if (m->p[SB_RFC822]) {
        bool found = false;
        for (size_t i = 0; i < cert->n_san && !found; i++) {
            const struct sm_san *san = &cert->san[i];
            found = san->type == SM_SAN_EMAIL && san->value &&
                    strlen(san->value) == m->len[SB_RFC822] &&
                    memcmp(san->value, m->p[SB_RFC822], m->len[SB_RFC822]) == 0;
        }
        if (!found)
            return false;
    }
    /* Hex fields are decoded by Samba, so compare them ignoring case. */
    if (m->p[SB_SKI] &&
        (!cert->ski || !ascii_caseeq(m->p[SB_SKI], m->len[SB_SKI], cert->ski, strlen(cert->ski))))
        return false;
    if (m->p[SB_SHA1] &&
        !ascii_caseeq(m->p[SB_SHA1], m->len[SB_SHA1], cert->sha1, strlen(cert->sha1)))
        return false;
    if (m->p[SB_SR] && !samba_serial_matches(m->p[SB_SR], m->len[SB_SR], cert))
        return false;
    return true;
}

bool sm_altsec_matches_samba(const struct sm_altsec *v, const struct sm_cert *cert)
{
    struct samba_map m;

    if (!v || !cert || !v->value)
        return false;
    if (!samba_parse(v->value, strlen(v->value), &m))
        return false;
    return samba_matches_map(&m, cert);
}

/* ---- parse ------------------------------------------------------------------------------- */

static int set_field(struct altsec_impl *x, const struct wparse *w, enum tag t)
{
    const char **slot = field_slot(&x->pub, t);
    if (!w->f[t].present || !slot)
        return 0;
    *slot = arena_strndup(x->arena, w->s + w->f[t].start, w->f[t].len);
    return *slot ? 0 : -ENOMEM;
}

int sm_altsec_parse(const char *value, size_t len, struct sm_altsec **ret,
                    struct sm_errinfo *reterr)
{
    struct altsec_impl *x = NULL;
    struct arena *a = NULL;
    struct sm_altsec *v;
    struct samba_map sm;
    struct wparse w = { 0 };
    int type = -1;
    long bad;
    int r;

    if (!value || len == 0) {
        errinfo_set(reterr, 0, "altSecurityIdentities value is empty");
        return SM_E_EMPTY;
    }
    if (len > SM_MAX_ALTSEC_VALUE) {
        errinfo_set(reterr, SM_MAX_ALTSEC_VALUE,
                    "altSecurityIdentities value is %zu bytes, more than the limit of %d", len,
                    SM_MAX_ALTSEC_VALUE);
        return SM_E_TOO_BIG;
    }
    bad = utf8_bad_offset(value, len);
    if (bad >= 0) {
        errinfo_set(reterr, bad,
                    "altSecurityIdentities value is not valid UTF-8 (or holds a NUL byte) at "
                    "byte %ld",
                    bad);
        return SM_E_UTF8;
    }

    a = arena_new();
    if (!a)
        goto out_nomem;
    x = arena_alloc(a, sizeof(*x));
    if (!x)
        goto out_nomem;
    x->arena = a;
    x->set_type = -1;
    v = &x->pub;
    v->value = arena_strndup(a, value, len);
    if (!v->value)
        goto out_nomem;

    if (len < X509_HEADER_LEN ||
        !ascii_caseeq(value, X509_HEADER_LEN, X509_HEADER, X509_HEADER_LEN)) {
        v->kind = SM_ALTSEC_NOT_X509;
        r = findings_add(&v->findings, a, "not_certificate_mapping", SM_SEV_INFO, NULL,
                         "not an \"X509:\" value: the KDC ignores it for certificate logon");
        if (r < 0)
            goto out_err;
        goto out_ok;
    }

    w.s = v->value;
    w.len = len;
    wp_read(&w, &type);
    for (int t = 0; t < TAG__COUNT; t++) {
        r = set_field(x, &w, (enum tag)t);
        if (r < 0)
            goto out_err;
    }
    x->set_type = type_of_set(w.set);
    x->bad_fields = w.bad_fields;
    x->canonical_case = w.canonical_case;
    x->sid_canonical = w.sid_canonical;
    x->sid = w.sid;

    if (samba_parse(v->value, len, &sm))
        v->samba_strong = samba_is_strong(&sm);
    if (!w.reason[0] && type >= 0) {
        v->kind = SM_ALTSEC_MAPPING;
        v->type = (enum sm_map_type)type;
        v->strong = type_is_strong(v->type);
        goto out_ok;
    }
    v->kind = SM_ALTSEC_INVALID;
    if (!w.reason[0])
        snprintf(w.reason, sizeof(w.reason), "no fields after \"X509:\"");
    v->invalid_reason = arena_strdup(a, w.reason);
    if (!v->invalid_reason)
        goto out_nomem;
    /* Samba reads fields where Windows compares whole strings (docs/mapping-rules.md 3). */
    v->samba_may_match = samba_parse(v->value, len, &sm);
    r = findings_add(&v->findings, a, "never_matches", SM_SEV_ERROR, NULL,
                     "never matches on Windows: %s%s", w.reason,
                     v->samba_may_match ? " (a Samba DC may still match it)" : "");
    if (r < 0)
        goto out_err;

out_ok:
    x->n_parse_findings = v->findings.n;
    *ret = v;
    return 0;

out_nomem:
    r = -ENOMEM;
out_err:
    errinfo_set(reterr, -1, "out of memory");
    arena_free(a);
    return r;
}

struct sm_altsec *sm_altsec_free(struct sm_altsec *v)
{
    if (v)
        arena_free(impl_of(v)->arena);
    return NULL;
}

/* ---- Windows matching ---------------------------------------------------------------------- */

static const struct sm_mapping *find_mapping(const struct sm_cert *cert, enum sm_map_type t)
{
    for (size_t i = 0; i < cert->n_mappings; i++)
        if (cert->mappings[i].type == t && cert->mappings[i].value)
            return &cert->mappings[i];
    return NULL;
}

/* The built string the value equals, or NULL. */
static const struct sm_mapping *windows_match(const struct sm_altsec *v, const struct sm_cert *cert)
{
    if (!v || !cert || v->kind != SM_ALTSEC_MAPPING || !v->value)
        return NULL;
    for (size_t i = 0; i < cert->n_mappings; i++) {
        const struct sm_mapping *m = &cert->mappings[i];
        if (m->value && str_caseeq(v->value, m->value))
            return m;
    }
    return NULL;
}

bool sm_altsec_matches(const struct sm_altsec *v, const struct sm_cert *cert)
{
    return windows_match(v, cert) != NULL;
}

/* ---- lint ------------------------------------------------------------------------------- */

struct lint {
    struct arena *tmp;
    const struct sm_cert *cert;
    struct sm_altsec *v;
    struct altsec_impl *x;
    const char *fix; /* corrected full value for this value's findings, or NULL */
    size_t n_field_findings;
};

#define LINT_ADD(l, code, sev, fixv, ...)                                                          \
    do {                                                                                           \
        int r_ =                                                                                   \
            findings_add(&(l)->v->findings, (l)->x->arena, (code), (sev), (fixv), __VA_ARGS__);    \
        if (r_ < 0)                                                                                \
            return r_;                                                                             \
    } while (0)

/* The certificate's value of type @t, else its issuer-serial value (the strong default). */
static const char *cert_value(const struct sm_cert *cert, enum sm_map_type t)
{
    const struct sm_mapping *m = find_mapping(cert, t);
    if (!m)
        m = find_mapping(cert, SM_MAP_ISSUER_SERIAL);
    return m ? m->value : NULL;
}

/* The type a value was meant to be: its own, else guessed from its fields. */
static enum sm_map_type intended_type(const struct altsec_impl *x)
{
    const struct sm_altsec *v = &x->pub;
    if (v->kind == SM_ALTSEC_MAPPING)
        return v->type;
    if (x->set_type >= 0)
        return (enum sm_map_type)x->set_type;
    if (v->sid)
        return SM_MAP_ISSUER_SID;
    if (v->sha1)
        return SM_MAP_SHA1_PUKEY;
    if (v->ski)
        return SM_MAP_SKI;
    return SM_MAP_ISSUER_SERIAL;
}

/*
 * The value rewritten without a certificate: "X509:" and upper-case tags in the KDC's order,
 * names without blanks around separators and (when they look like display order) reversed,
 * the SID canonical. NULL when the value is no type or a field is malformed.
 */
static const char *derived_fix(struct lint *l)
{
    struct altsec_impl *x = l->x;
    struct sbuf b;
    int t = x->set_type;

    if (t < 0 || x->bad_fields)
        return NULL;
    sbuf_init(&b, l->tmp);
    sbuf_puts(&b, X509_HEADER);
    for (unsigned i = 0; i < type_tags[t].n; i++) {
        enum tag tag = type_tags[t].tags[i];
        const char *f = field_of(&x->pub, tag);
        if (!f)
            return NULL;
        sbuf_printf(&b, "<%s>", tag_names[tag]);
        if (tag == TAG_I || tag == TAG_S) {
            struct part parts[MAX_RDNS];
            bool trimmed;
            size_t n = split_rdns(f, strlen(f), parts, MAX_RDNS, &trimmed);
            if (n == 0)
                sbuf_puts(&b, f);
            else
                join_parts(&b, parts, n, looks_display_order(parts, n));
        } else if (tag == TAG_SID) {
            char canon[SM_SID_TEXT_MAX];
            sbuf_puts(&b, sm_sid_format(&x->sid, canon, sizeof(canon)));
        } else {
            sbuf_puts(&b, f);
        }
    }
    return sbuf_str(&b);
}

/* <I> or <S> against the certificate (or the heuristics without one). */
static int check_name(struct lint *l, enum tag t)
{
    const char *f = field_of(l->v, t);
    const struct sm_name *name = NULL;
    const char *what = t == TAG_I ? "issuer" : "subject";
    const char *order_code = t == TAG_I ? "issuer_display_order" : "subject_display_order";
    const char *norm, *rev;
    bool trimmed;

    if (!f || (l->x->bad_fields & BIT(t)))
        return 0;
    if (l->cert)
        name = t == TAG_I ? &l->cert->issuer : &l->cert->subject;
    if (name && str_caseeq(f, name->ad))
        return 0;

    norm = name_rewrite(l->tmp, f, false, &trimmed);
    if (!norm)
        return -ENOMEM;
    if (trimmed) {
        l->n_field_findings++;
        LINT_ADD(l, "comma_space", SM_SEV_ERROR, l->fix,
                 "the %s has blanks around its \",\" separators: the KDC joins the RDNs with a "
                 "bare \",\", so the value never matches",
                 what);
    }

    if (!name) {
        struct part parts[MAX_RDNS];
        bool tr;
        size_t n = split_rdns(norm, strlen(norm), parts, MAX_RDNS, &tr);
        if (looks_display_order(parts, n)) {
            l->n_field_findings++;
            LINT_ADD(l, order_code, SM_SEV_WARNING, l->fix,
                     "the %s looks written in display order (starting with %.*s, ending with "
                     "%.*s); the KDC writes the RDNs in encoding order, usually the reverse",
                     what, (int)parts[0].len, parts[0].p, (int)parts[n - 1].len, parts[n - 1].p);
        }
        return 0;
    }
    if (!name->ad || str_caseeq(norm, name->ad))
        return 0;
    rev = name_rewrite(l->tmp, name->ad, true, &trimmed);
    if (!rev)
        return -ENOMEM;
    if (str_caseeq(norm, rev) || str_caseeq(norm, name->rfc4514)) {
        l->n_field_findings++;
        LINT_ADD(l, order_code, SM_SEV_ERROR, l->fix,
                 "the %s is written in display order (RDNs reversed); the KDC writes it in "
                 "encoding order: %s",
                 what, name->ad);
        return 0;
    }
    l->n_field_findings++;
    LINT_ADD(l, t == TAG_I ? "issuer_mismatch" : "subject_mismatch", SM_SEV_WARNING, l->fix,
             "the %s \"%s\" is not this certificate's %s, which the KDC writes as \"%s\"", what, f,
             what, name->ad);
    return 0;
}

static int check_serial(struct lint *l)
{
    const struct sm_cert *cert = l->cert;
    const char *f = l->v->serial;
    char rev[SERIAL_HEX_MAX + 1], rev1[SERIAL_HEX_MAX + 1], tmp[SERIAL_HEX_MAX + 8];
    size_t slen;

    if (!cert || !f || (l->x->bad_fields & BIT(TAG_SR)) || !cert->serial)
        return 0;
    slen = strlen(cert->serial);
    if (slen % 2 || slen > SERIAL_HEX_MAX)
        return 0;
    reverse_hex(cert->serial, slen, rev);
    if (str_caseeq(f, rev))
        return 0;
    l->n_field_findings++;
    if (cert->serial_sign_byte && slen >= 2 && strncmp(cert->serial, "00", 2) == 0) {
        const char *s1 = cert->serial + 2;
        reverse_hex(s1, slen - 2, rev1);
        if (str_caseeq(f, rev1)) {
            LINT_ADD(l, "serial_missing_sign_byte", SM_SEV_ERROR, l->fix,
                     "the serial lacks the trailing 00: Windows keeps the DER sign byte of serial "
                     "%s and writes %s (the form without it is what Samba matches)",
                     cert->serial, rev);
            return 0;
        }
        if (str_caseeq(f, cert->serial) || str_caseeq(f, s1)) {
            LINT_ADD(l, "serial_not_reversed", SM_SEV_ERROR, l->fix,
                     "the serial is written in certificate order; the KDC writes its bytes "
                     "reversed: %s",
                     rev);
            return 0;
        }
    } else {
        snprintf(tmp, sizeof(tmp), "%s00", rev);
        if (str_caseeq(f, tmp)) {
            LINT_ADD(l, "serial_extra_sign_byte", SM_SEV_ERROR, l->fix,
                     "the serial ends in a 00 sign byte that serial %s does not have: the KDC "
                     "writes %s",
                     cert->serial, rev);
            return 0;
        }
        snprintf(tmp, sizeof(tmp), "00%s", cert->serial);
        if (str_caseeq(f, cert->serial) || str_caseeq(f, tmp)) {
            LINT_ADD(l, "serial_not_reversed", SM_SEV_ERROR, l->fix,
                     "the serial is written in certificate order; the KDC writes its bytes "
                     "reversed: %s",
                     rev);
            return 0;
        }
    }
    LINT_ADD(l, "serial_mismatch", SM_SEV_WARNING, l->fix,
             "serial %s is not this certificate's serial %s (written reversed: %s)", f,
             cert->serial, rev);
    return 0;
}

static int check_ski(struct lint *l)
{
    const struct sm_cert *cert = l->cert;
    const char *f = l->v->ski;

    if (!cert || !f || (l->x->bad_fields & BIT(TAG_SKI)))
        return 0;
    if (!cert->ski) {
        l->n_field_findings++;
        LINT_ADD(l, "ski_mismatch", SM_SEV_WARNING, cert_value(cert, SM_MAP_ISSUER_SERIAL),
                 "the certificate has no Subject Key Identifier extension, so the KDC builds no "
                 "X509SKI value for it (it computes no fallback): use another strong mapping");
        return 0;
    }
    if (str_caseeq(f, cert->ski))
        return 0;
    l->n_field_findings++;
    if (str_caseeq(f, cert->spk_sha1))
        LINT_ADD(l, "ski_mismatch", SM_SEV_WARNING, l->fix,
                 "the SKI is the SHA-1 of the public key, not the certificate's Subject Key "
                 "Identifier extension %s, which is what the KDC uses",
                 cert->ski);
    else if (str_caseeq(f, cert->sha1))
        LINT_ADD(l, "ski_mismatch", SM_SEV_WARNING, l->fix,
                 "the SKI is the certificate's thumbprint (that belongs in <SHA1-PUKEY>); the "
                 "certificate's Subject Key Identifier is %s",
                 cert->ski);
    else
        LINT_ADD(l, "ski_mismatch", SM_SEV_WARNING, l->fix,
                 "SKI %s is not this certificate's Subject Key Identifier %s", f, cert->ski);
    return 0;
}

static int check_sha1(struct lint *l)
{
    const struct sm_cert *cert = l->cert;
    const char *f = l->v->sha1;

    if (!cert || !f || (l->x->bad_fields & BIT(TAG_SHA1)) || !cert->sha1[0])
        return 0;
    if (str_caseeq(f, cert->sha1))
        return 0;
    l->n_field_findings++;
    if ((cert->spki_sha1[0] && str_caseeq(f, cert->spki_sha1)) ||
        (cert->spk_sha1[0] && str_caseeq(f, cert->spk_sha1))) {
        LINT_ADD(l, "sha1_pukey_over_key", SM_SEV_WARNING, l->fix,
                 "<SHA1-PUKEY> holds the SHA-1 of the public key; despite the name the KDC "
                 "(and Samba) compare the SHA-1 of the whole certificate, its thumbprint %s "
                 "(Microsoft's text says \"public key\": predicted not to match)",
                 cert->sha1);
        return 0;
    }
    if (cert->ski && str_caseeq(f, cert->ski))
        LINT_ADD(l, "sha1_mismatch", SM_SEV_WARNING, l->fix,
                 "<SHA1-PUKEY> holds the Subject Key Identifier (that belongs in <SKI>); the "
                 "KDC compares the certificate thumbprint %s",
                 cert->sha1);
    else
        LINT_ADD(l, "sha1_mismatch", SM_SEV_WARNING, l->fix,
                 "%s is not this certificate's thumbprint %s", f, cert->sha1);
    return 0;
}

static int check_sid(struct lint *l)
{
    const struct sm_cert *cert = l->cert;
    const struct sm_sid *csid;
    char a[SM_SID_TEXT_MAX], b[SM_SID_TEXT_MAX];

    if (!l->v->sid || (l->x->bad_fields & BIT(TAG_SID)))
        return 0;
    if (!l->x->sid_canonical) {
        l->n_field_findings++;
        LINT_ADD(l, "sid_not_canonical", SM_SEV_WARNING, l->fix,
                 "the SID is not written canonically (%s): the KDC compares the whole string, "
                 "so it never matches",
                 sm_sid_format(&l->x->sid, a, sizeof(a)));
    }
    if (!cert)
        return 0;
    if (cert->sid.status != SM_SID_VALID) {
        l->n_field_findings++;
        LINT_ADD(l, "sid_mismatch", SM_SEV_WARNING, cert_value(cert, SM_MAP_ISSUER_SERIAL),
                 "the certificate carries no valid SID, so the KDC builds no X509IssuerSID "
                 "value for it");
        return 0;
    }
    csid =
        cert->sid.source == SM_SID_SOURCE_SAN_URI ? &cert->sid.uri.sid : &cert->sid.extension.sid;
    if (sm_sid_equal(csid, &l->x->sid))
        return 0;
    l->n_field_findings++;
    LINT_ADD(l, "sid_mismatch", SM_SEV_WARNING, l->fix,
             "SID %s is not the SID in the certificate, %s",
             sm_sid_format(&l->x->sid, a, sizeof(a)), sm_sid_format(csid, b, sizeof(b)));
    return 0;
}

static int check_rfc822(struct lint *l)
{
    static const char prefix[] = "X509:<RFC822>";
    const size_t plen = sizeof(prefix) - 1;
    const struct sm_cert *cert = l->cert;
    const char *f = l->v->rfc822;
    bool any = false;

    if (!cert || !f)
        return 0;
    for (size_t i = 0; i < cert->n_mappings; i++) {
        const struct sm_mapping *m = &cert->mappings[i];
        if (m->type != SM_MAP_RFC822 || !m->value || strlen(m->value) < plen)
            continue;
        any = true;
        if (str_caseeq(f, m->value + plen))
            return 0;
    }
    l->n_field_findings++;
    if (!any)
        LINT_ADD(l, "rfc822_mismatch", SM_SEV_WARNING, cert_value(cert, SM_MAP_ISSUER_SERIAL),
                 "the certificate has no rfc822Name in its SAN, so the KDC builds no X509RFC822 "
                 "value for it");
    else
        LINT_ADD(l, "rfc822_mismatch", SM_SEV_WARNING, l->fix,
                 "%s is not an rfc822Name of this certificate", f);
    return 0;
}

/* Why Samba does or does not match a value Windows matches. */
static const char *samba_note(struct lint *l, bool samba_match)
{
    struct samba_map m;
    if (samba_match)
        return "a Samba 4.24 DC matches it too";
    if (l->v->type == SM_MAP_ISSUER_SID)
        return "Samba 4.24 has no X509IssuerSID and ignores it";
    if (!samba_parse(l->v->value, strlen(l->v->value), &m))
        return "Samba 4.24 ignores it: it reads \"X509:\" and the tag names case-sensitively";
    if (m.p[SB_SR] && l->cert->serial_sign_byte)
        return "Samba 4.24 does not match it: Samba expects the serial without the 00 sign byte";
    return "Samba 4.24 does not match it: Samba compares names case-sensitively in RFC 4514 form";
}

static int lint_value(struct lint *l)
{
    struct sm_altsec *v = l->v;
    struct altsec_impl *x = l->x;
    const struct sm_cert *cert = l->cert;
    const struct sm_mapping *wm = NULL;
    bool samba_match = false;
    const char *derived;
    int r;

    if (v->kind == SM_ALTSEC_NOT_X509)
        return 0;
    derived = derived_fix(l);
    if (cert) {
        wm = windows_match(v, cert);
        samba_match = sm_altsec_matches_samba(v, cert);
        l->fix = wm ? wm->value : cert_value(cert, intended_type(x));
    } else {
        l->fix = derived && strcmp(derived, v->value) != 0 ? derived : NULL;
    }

    if (v->kind == SM_ALTSEC_INVALID && l->fix) {
        for (size_t i = 0; i < v->findings.n; i++) {
            if (strcmp(v->findings.v[i].code, "never_matches") == 0) {
                char *copy = arena_strdup(x->arena, l->fix);
                if (!copy)
                    return -ENOMEM;
                v->findings.v[i].fix = copy;
            }
        }
    }

    if (wm) {
        LINT_ADD(l, "matches", SM_SEV_INFO, NULL,
                 "matches this certificate on Windows (%s, %s); %s", type_name(v->type),
                 v->strong ? "strong" : "weak", samba_note(l, samba_match));
    } else if (samba_match) {
        LINT_ADD(l, "samba_only", SM_SEV_INFO, NULL,
                 "a Samba 4.24 DC matches this certificate through it (as a %s mapping); "
                 "Windows does not",
                 v->samba_strong ? "strong" : "weak");
    }

    if (v->kind == SM_ALTSEC_MAPPING && !v->strong && cert && cert->sid.status == SM_SID_VALID)
        LINT_ADD(l, "weak_mapping", SM_SEV_WARNING, cert_value(cert, SM_MAP_ISSUER_SERIAL),
                 "%s is a weak mapping: under full enforcement (the default since February 2025, "
                 "the only mode since September 2025) it does not map a certificate on its own. "
                 "This certificate carries the SID %s: if that is the account's SID, the DC maps "
                 "it strongly through the SID and this value adds nothing; otherwise use a strong "
                 "mapping such as X509IssuerSerialNumber",
                 type_name(v->type),
                 cert->sid.source == SM_SID_SOURCE_SAN_URI ? cert->sid.uri.text
                                                           : cert->sid.extension.text);
    else if (v->kind == SM_ALTSEC_MAPPING && !v->strong)
        LINT_ADD(l, "weak_mapping", SM_SEV_WARNING,
                 cert ? cert_value(cert, SM_MAP_ISSUER_SERIAL) : NULL,
                 "%s is a weak mapping: under full enforcement (the default since February 2025, "
                 "the only mode since September 2025) a DC accepts it only for a certificate that "
                 "also carries the account's SID (which maps strongly by itself); use a strong "
                 "mapping such as X509IssuerSerialNumber",
                 type_name(v->type));
    if (v->kind == SM_ALTSEC_MAPPING && v->type == SM_MAP_ISSUER_SID)
        LINT_ADD(l, "issuer_sid_support", SM_SEV_INFO, NULL,
                 "X509IssuerSID is honoured only by Windows Server 2022 and later DCs with the "
                 "September 2025 update; Windows Server 2016/2019 DCs and Samba ignore it");

    if (!wm) {
        l->n_field_findings = 0;
        if ((r = check_name(l, TAG_I)) < 0 || (r = check_name(l, TAG_S)) < 0 ||
            (r = check_serial(l)) < 0 || (r = check_ski(l)) < 0 || (r = check_sha1(l)) < 0 ||
            (r = check_sid(l)) < 0 || (r = check_rfc822(l)) < 0)
            return r;
        if (cert && v->kind == SM_ALTSEC_MAPPING && l->n_field_findings == 0)
            LINT_ADD(l, "no_match", SM_SEV_WARNING, l->fix,
                     "does not match this certificate: the KDC builds a different string");
    }

    if (v->kind == SM_ALTSEC_MAPPING && v->type != SM_MAP_ISSUER_SID && !x->canonical_case)
        LINT_ADD(l, "samba_case", SM_SEV_WARNING,
                 wm       ? wm->value
                 : l->fix ? l->fix
                          : derived,
                 "a Samba 4.24 DC ignores this value: Samba reads \"X509:\" and the tag names "
                 "case-sensitively (Windows does not)");
    return 0;
}

int sm_altsec_lint(struct sm_altsec *const *values, size_t n, const struct sm_cert *cert)
{
    struct lint l = { 0 };
    int r = 0;

    if (n > SM_MAX_ALTSEC_LIST)
        return -E2BIG;
    for (size_t i = 0; i < n; i++)
        if (!values[i])
            return -EINVAL;
    l.tmp = arena_new();
    if (!l.tmp)
        return -ENOMEM;
    l.cert = cert;

    for (size_t i = 0; i < n; i++) {
        struct sm_altsec *v = values[i];
        struct altsec_impl *x = impl_of(v);

        /* Linting again replaces what the previous lint added. */
        v->findings.n = x->n_parse_findings;
        v->findings.truncated = false;
        for (size_t k = 0; k < v->findings.n; k++)
            if (strcmp(v->findings.v[k].code, "never_matches") == 0)
                v->findings.v[k].fix = NULL;

        l.v = v;
        l.x = x;
        l.fix = NULL;
        r = lint_value(&l);
        if (r < 0)
            goto out;
        for (size_t j = 0; j < i; j++) {
            if (str_caseeq(values[j]->value, v->value)) {
                r = findings_add(&v->findings, x->arena, "duplicate", SM_SEV_WARNING, NULL,
                                 "the same value as value #%zu (values compare ignoring case): "
                                 "keep one",
                                 j + 1);
                if (r < 0)
                    goto out;
                break;
            }
        }
    }
out:
    arena_free(l.tmp);
    return r;
}

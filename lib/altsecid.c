/*
 * lib/altsecid.c - altSecurityIdentities values: the grammar, parse and classify, match on
 * Windows (docs/mapping-rules.md 2.4). Plain C, no third-party headers.
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
 * Samba's reading is lib/altsecid_samba.c, lint lib/altsecid_lint.c.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "altsecid_internal.h"

#define MAX_TAGS     16 /* tags read from one value; more make it invalid */
#define TAG_NAME_MAX 16 /* longest tag-shaped "<NAME>" recognised as a tag */
#define SHA1_HEX_LEN 40

/* ---- tags and types ---------------------------------------------------------------------- */

const char *const tag_names[TAG__COUNT] = { "I", "S", "SR", "SKI", "SHA1-PUKEY", "SID", "RFC822" };

/* The tags of each type, in the order the KDC writes them. */
const struct type_tags type_tags[SM_MAP__COUNT] = {
    [SM_MAP_ISSUER_SERIAL] = { { TAG_I, TAG_SR }, 2 },
    [SM_MAP_SKI] = { { TAG_SKI, TAG_SKI }, 1 },
    [SM_MAP_SHA1_PUKEY] = { { TAG_SHA1, TAG_SHA1 }, 1 },
    [SM_MAP_ISSUER_SID] = { { TAG_I, TAG_SID }, 2 },
    [SM_MAP_ISSUER_SUBJECT] = { { TAG_I, TAG_S }, 2 },
    [SM_MAP_SUBJECT_ONLY] = { { TAG_S, TAG_S }, 1 },
    [SM_MAP_RFC822] = { { TAG_RFC822, TAG_RFC822 }, 1 },
};

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

/* ---- small text helpers --------------------------------------------------------------------- */

static bool is_tag_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool str_caseeq(const char *a, const char *b)
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
        while (k <= 4 && k <= len - i && !su_utf8_valid(p + i, k))
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

/* The built string the value equals, or NULL. */
const struct sm_mapping *windows_match(const struct sm_altsec *v, const struct sm_cert *cert)
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

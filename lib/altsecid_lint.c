/*
 * lib/altsecid_lint.c - lint of altSecurityIdentities values (docs/mapping-rules.md 2.4 and 3):
 * without a certificate, what makes a value never match (blanks, display order, a SID that is
 * not canonical); with one, whether Windows and Samba match it and, when not, why and the value
 * that would.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "altsecid_internal.h"

#define MAX_RDNS (2 * SM_MAX_NAME_ATTRS)

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

static void join_parts(struct su_buf *b, const struct part *parts, size_t n, bool reverse)
{
    for (size_t i = 0; i < n; i++) {
        const struct part *pt = &parts[reverse ? n - 1 - i : i];
        if (i)
            su_buf_putc(b, ',');
        su_buf_put(b, pt->p, pt->len);
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
    struct su_buf b;
    size_t n = split_rdns(s, strlen(s), parts, MAX_RDNS, trimmed);

    arena_buf_init(&b, a);
    if (n == 0)
        su_buf_puts(&b, s);
    else
        join_parts(&b, parts, n, reverse);
    return su_buf_str(&b);
}

static const struct sm_mapping *find_mapping(const struct sm_cert *cert, enum sm_map_type t)
{
    for (size_t i = 0; i < cert->n_mappings; i++)
        if (cert->mappings[i].type == t && cert->mappings[i].value)
            return &cert->mappings[i];
    return NULL;
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
 * The value rewritten without a certificate into *@ret: "X509:" and upper-case tags in the
 * KDC's order, names without blanks around separators and (when they look like display order)
 * reversed, the SID canonical; NULL when the value is no type or a field is malformed. 0 or
 * -ENOMEM.
 */
static int derived_fix(struct lint *l, const char **ret)
{
    struct altsec_impl *x = l->x;
    struct su_buf b;
    int t = x->set_type;

    *ret = NULL;
    if (t < 0 || x->bad_fields)
        return 0;
    arena_buf_init(&b, l->tmp);
    su_buf_puts(&b, X509_HEADER);
    for (unsigned i = 0; i < type_tags[t].n; i++) {
        enum tag tag = type_tags[t].tags[i];
        const char *f = field_of(&x->pub, tag);
        if (!f)
            return 0;
        su_buf_printf(&b, "<%s>", tag_names[tag]);
        if (tag == TAG_I || tag == TAG_S) {
            struct part parts[MAX_RDNS];
            bool trimmed;
            size_t n = split_rdns(f, strlen(f), parts, MAX_RDNS, &trimmed);
            if (n == 0)
                su_buf_puts(&b, f);
            else
                join_parts(&b, parts, n, looks_display_order(parts, n));
        } else if (tag == TAG_SID) {
            char canon[SM_SID_TEXT_MAX];
            su_buf_puts(&b, sm_sid_format(&x->sid, canon, sizeof(canon)));
        } else {
            su_buf_puts(&b, f);
        }
    }
    *ret = su_buf_str(&b);
    return *ret ? 0 : -ENOMEM;
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
    if ((r = derived_fix(l, &derived)) < 0)
        return r;
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

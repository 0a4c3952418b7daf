/*
 * lib/events_explain.c - what a KDC event means and what to do about it (docs/explain.md): the
 * certificate identity rebuilt in altSecurityIdentities form from the event's fields (the
 * issuer's RDNs reversed from display order into encoding order, the serial's bytes reversed
 * with the DER sign byte), or taken from the account's published certificate when its
 * thumbprint is the event's; the account looked up; the reason in words; the fix. Grouped by
 * account and by issuing CA. The texts follow docs/mapping-rules.md sections 2.7, 2.8 and 8.
 * One job past 800 lines, most of them the words of five events and their fixes: kept whole so
 * that each event's reason, the value it needs and the fix read side by side.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <strongmap/cert.h>
#include <strongmap/events.h>

#include "alloc.h"
#include "events_internal.h"
#include "verdict_internal.h"

#define MAX_RDNS    (2 * SM_MAX_NAME_ATTRS)
#define NTAUTH_HINT "certutil -dspublish -f issuing-ca.cer NTAuthCA"

/* A name looked up once for every event that gives it. */
struct lookup {
    const char *name;
    struct sm_accounts *acc; /* NULL when refused */
    const char *refused;     /* why, when refused */
};

struct impl {
    struct sm_events_explanation pub;
    struct arena *a;
    struct sm_event_explanation *v;
    struct lookup *lookups;
    size_t n_lookups;
    size_t max_lookups;          /* 0: no limit */
    struct sm_certs **published; /* certificates parsed from accounts, freed with the result */
    size_t n_published;
    struct sm_accounts *ntauth;
    struct sm_certs *ntauth_certs;
    bool ntauth_tried;
};

struct ectx {
    struct impl *x;
    struct sm_dir *dir;
    struct sm_errinfo *e;
    struct sm_event_explanation *ex;
    const struct sm_kdc_event *ev;
    const struct sm_cert *cert; /* the account's published certificate of this event */
};

const char *sm_explain_lookup_name(enum sm_explain_lookup l)
{
    switch (l) {
    case SM_EXPLAIN_NO_DIRECTORY: return "no_directory";
    case SM_EXPLAIN_FOUND: return "found";
    case SM_EXPLAIN_NOT_FOUND: return "not_found";
    case SM_EXPLAIN_AMBIGUOUS: return "ambiguous";
    case SM_EXPLAIN_REFUSED: return "refused";
    case SM_EXPLAIN_OVER_LIMIT: return "over_limit";
    }
    return "unknown";
}

#define NOTE(c, code, sev, ...)                                                                    \
    do {                                                                                           \
        int r_ = findings_add(&(c)->ex->findings, (c)->x->a, (code), (sev), NULL, __VA_ARGS__);    \
        if (r_ < 0)                                                                                \
            return r_;                                                                             \
    } while (0)

/* ---- the certificate identity --------------------------------------------------------------- */

struct part {
    const char *p;
    size_t len;
};

static bool blank(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * Split @s on @sep outside double quotes, trimming blanks. Returns the parts, 0 when more than
 * @max; *@escaped is set when a backslash escape was seen (RFC 4514 text, not the KDC's form).
 */
static size_t split(const char *s, size_t len, char sep, struct part *parts, size_t max,
                    bool *escaped)
{
    size_t n = 0, start = 0;
    bool inq = false;
    for (size_t i = 0; i <= len; i++) {
        if (i < len) {
            if (s[i] == '\\' && !inq) {
                *escaped = true;
                i++;
                continue;
            }
            if (s[i] == '"')
                inq = !inq;
            if (inq || s[i] != sep)
                continue;
        }
        size_t a = start, b = i < len ? i : len;
        while (a < b && blank(s[a]))
            a++;
        while (b > a && blank(s[b - 1]))
            b--;
        if (n == max)
            return 0;
        parts[n++] = (struct part){ s + a, b - a };
        start = i + 1;
    }
    return n;
}

static bool key_is(const struct part *pt, const char *key)
{
    const char *eq = memchr(pt->p, '=', pt->len);
    size_t klen = eq ? (size_t)(eq - pt->p) : 0;
    while (klen && blank(pt->p[klen - 1]))
        klen--;
    return eq && ascii_caseeq(pt->p, klen, key, strlen(key));
}

/*
 * The issuer as the event prints it (display order: "CN=CA, DC=example, DC=com") in the KDC's
 * altSecurityIdentities form: RDNs in encoding order joined by a bare ",", the attributes of a
 * multi-valued RDN ("A=x + B=y") joined by one space. Values keep the quoting CertNameToStr
 * gives them, which is the KDC's. NULL with a note when it cannot be read.
 */
static int issuer_to_ad(struct ectx *c, const char *issuer, const char **ret)
{
    struct part rdns[MAX_RDNS], attrs[SM_MAX_NAME_ATTRS];
    bool escaped = false;
    size_t n = split(issuer, strlen(issuer), ',', rdns, MAX_RDNS, &escaped);
    struct su_buf b;

    *ret = NULL;
    if (n == 0) {
        NOTE(c, "issuer_unreadable", SM_SEV_WARNING,
             "The issuer \"%s\" has more than %d parts: it was not rebuilt.", issuer, MAX_RDNS);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!memchr(rdns[i].p, '=', rdns[i].len)) {
            NOTE(c, "issuer_unreadable", SM_SEV_WARNING,
                 "The issuer \"%s\" is not a distinguished name (a part has no \"=\"): it was "
                 "not rebuilt.",
                 issuer);
            return 0;
        }
    /* Display order puts CN/OU first and DC/C last; a name already in encoding order stays. */
    bool reverse = !(n >= 2 && (key_is(&rdns[0], "DC") || key_is(&rdns[0], "C")) &&
                     (key_is(&rdns[n - 1], "CN") || key_is(&rdns[n - 1], "OU")));
    if (!reverse)
        NOTE(c, "issuer_in_encoding_order", SM_SEV_INFO,
             "The issuer is printed root-most first already; its order was kept.");
    arena_buf_init(&b, c->x->a);
    for (size_t i = 0; i < n; i++) {
        const struct part *r = &rdns[reverse ? n - 1 - i : i];
        size_t na = split(r->p, r->len, '+', attrs, ARRAY_SIZE(attrs), &escaped);
        if (i)
            su_buf_putc(&b, ',');
        for (size_t k = 0; k < na; k++) {
            if (k)
                su_buf_putc(&b, ' ');
            /* "CN = x": no blanks around "=" in the KDC's form */
            const char *eq = memchr(attrs[k].p, '=', attrs[k].len);
            if (!eq) {
                su_buf_put(&b, attrs[k].p, attrs[k].len);
                continue;
            }
            size_t kl = (size_t)(eq - attrs[k].p);
            while (kl && blank(attrs[k].p[kl - 1]))
                kl--;
            const char *v = eq + 1, *end = attrs[k].p + attrs[k].len;
            while (v < end && blank(*v))
                v++;
            su_buf_put(&b, attrs[k].p, kl);
            su_buf_putc(&b, '=');
            su_buf_put(&b, v, (size_t)(end - v));
        }
    }
    if (escaped)
        NOTE(c, "issuer_escaped", SM_SEV_WARNING,
             "The issuer holds backslash escapes (RFC 4514 text): the KDC quotes such values "
             "instead, so the rebuilt value may differ from the one it compares.");
    *ret = su_buf_str(&b);
    return *ret ? 0 : -ENOMEM;
}

/* Hex of @s without blanks or colons, upper case, into @out; false when not hex. */
static bool clean_hex(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (; *s; s++) {
        if (blank(*s) || *s == ':')
            continue;
        if (su_hex_digit(*s) < 0 || n + 1 >= size)
            return false;
        out[n++] = (char)(*s >= 'a' && *s <= 'f' ? *s - 'a' + 'A' : *s);
    }
    out[n] = '\0';
    return n > 0;
}

/*
 * The serial as the event prints it (big-endian hex) in <SR> form: the DER INTEGER's content
 * (a 00 sign byte before a first byte of 80 or more, no other leading zero byte), its bytes
 * reversed (docs/mapping-rules.md 2.4; the kept sign byte is point 6.2 there).
 */
static int serial_reversed(struct ectx *c, const char *serial, const char **ret)
{
    char hex[2 * 64 + 3];
    *ret = NULL;
    if (!clean_hex(serial, hex + 1, sizeof(hex) - 1)) {
        NOTE(c, "serial_unreadable", SM_SEV_WARNING,
             "The serial number \"%s\" is not hex of at most 64 bytes: no X509IssuerSerialNumber "
             "value is built from it.",
             serial);
        return 0;
    }
    char *h = hex + 1;
    if (strlen(h) % 2) /* an odd count of digits: a leading zero left out */
        *--h = '0';
    while (strlen(h) >= 4 && h[0] == '0' && h[1] == '0' && su_hex_digit(h[2]) < 8)
        h += 2;
    bool sign = su_hex_digit(h[0]) >= 8;
    struct su_buf b;
    arena_buf_init(&b, c->x->a);
    for (size_t i = strlen(h); i >= 2; i -= 2)
        su_buf_put(&b, h + i - 2, 2);
    if (sign) {
        su_buf_puts(&b, "00");
        NOTE(c, "serial_sign_byte", SM_SEV_INFO,
             "The serial's first byte is 80 or more, so its DER encoding starts with a 00 sign "
             "byte, which the KDC keeps at the end of the reversed value (docs/mapping-rules.md "
             "6.2).");
    }
    *ret = su_buf_str(&b);
    return *ret ? 0 : -ENOMEM;
}

/* ---- the directory ------------------------------------------------------------------------- */

static bool dir_error(int r)
{
    return r == SM_E_DIR_DOWN || r == SM_E_DIR_REFUSED || r == -ENOMEM;
}

/*
 * The accounts named @name, looked up once per call: 0, or 1 (*@ret NULL) when the call has
 * looked up its max_lookups names already.
 */
static int lookup(struct ectx *c, enum sm_lookup how, const char *name, const struct lookup **ret)
{
    struct impl *x = c->x;
    for (size_t i = 0; i < x->n_lookups; i++)
        if (strcasecmp(x->lookups[i].name, name) == 0) {
            *ret = &x->lookups[i];
            return 0;
        }
    *ret = NULL;
    if (x->max_lookups && x->n_lookups >= x->max_lookups)
        return 1;
    struct lookup *l = &x->lookups[x->n_lookups];
    struct sm_errinfo e = SM_ERRINFO_INIT;
    *l = (struct lookup){ .name = arena_strdup(x->a, name) };
    if (!l->name)
        return -ENOMEM;
    int r = sm_dir_lookup(c->dir, how, name, &l->acc, &e);
    if (r < 0) {
        if (dir_error(r)) {
            if (c->e)
                *c->e = e;
            return r;
        }
        l->acc = NULL;
        l->refused = arena_strdup(x->a, e.text[0] ? e.text : sm_strerror(r));
        if (!l->refused)
            return -ENOMEM;
    }
    x->n_lookups++;
    *ret = l;
    return 0;
}

/* The NTAuth store's CA certificates, read once (NULL when it cannot be read). */
static int ntauth(struct ectx *c, const struct sm_certs **ret)
{
    struct impl *x = c->x;
    *ret = NULL;
    if (!c->dir)
        return 0;
    if (!x->ntauth_tried) {
        struct sm_errinfo e = SM_ERRINFO_INIT;
        x->ntauth_tried = true;
        int r = sm_dir_ntauth(c->dir, &x->ntauth, &e);
        if (r < 0) {
            if (dir_error(r)) {
                if (c->e)
                    *c->e = e;
                return r;
            }
            x->ntauth = NULL;
        }
        if (x->ntauth && x->ntauth->n == 1 && x->ntauth->v[0].n_certs) {
            /* the CA certificates one after the other: DER concatenated */
            const struct sm_account *s = &x->ntauth->v[0];
            size_t total = 0;
            for (size_t i = 0; i < s->n_certs; i++)
                total += s->certs[i].len;
            uint8_t *buf = mem_malloc(total ? total : 1);
            if (!buf)
                return -ENOMEM;
            size_t off = 0;
            for (size_t i = 0; i < s->n_certs; i++) {
                memcpy(buf + off, s->certs[i].data, s->certs[i].len);
                off += s->certs[i].len;
            }
            r = sm_certs_parse(buf, total, NULL, &x->ntauth_certs, NULL);
            mem_free(buf);
            if (r == -ENOMEM)
                return r;
        }
        x->pub.ntauth_read = x->ntauth != NULL;
    }
    *ret = x->ntauth_certs;
    return 0;
}

/* The CA certificate in NTAuth whose subject is @ad (encoding order) or whose CN is @cn. */
static const struct sm_cert *ntauth_ca(const struct sm_certs *store, const char *ad, const char *cn)
{
    if (!store)
        return NULL;
    for (size_t i = 0; i < store->n_certs; i++) {
        const struct sm_cert *ca = &store->certs[i];
        if (ad && ca->subject.ad && strcasecmp(ca->subject.ad, ad) == 0)
            return ca;
        for (size_t k = 0; cn && k < ca->subject.n_attrs; k++)
            if (strcmp(ca->subject.attrs[k].ad_key, "CN") == 0 &&
                strcasecmp(ca->subject.attrs[k].value, cn) == 0)
                return ca;
    }
    return NULL;
}

/* The account's published certificate whose SHA-1 thumbprint is @thumb (upper-case hex). */
static int published(struct ectx *c, const struct sm_account *acc, const char *thumb,
                     const struct sm_cert **ret)
{
    struct impl *x = c->x;
    *ret = NULL;
    for (size_t i = 0; thumb && i < acc->n_certs; i++) {
        struct sm_certs *cs = NULL;
        struct sm_certs **grown =
            mem_realloc(x->published, (x->n_published + 1) * sizeof(*x->published));
        if (!grown)
            return -ENOMEM;
        x->published = grown;
        int r = sm_certs_parse(acc->certs[i].data, acc->certs[i].len, NULL, &cs, NULL);
        if (r == -ENOMEM)
            return r;
        if (r < 0 || cs->n_certs == 0 || strcmp(cs->certs[0].sha1, thumb) != 0) {
            sm_certs_free(cs);
            continue;
        }
        x->published[x->n_published++] = cs;
        *ret = &cs->certs[0];
        return 0;
    }
    return 0;
}

/* ---- one event ------------------------------------------------------------------------------ */

static const char *account_id(const struct sm_account *acc, const char *given)
{
    return acc ? (acc->sam ? acc->sam : acc->dn) : given;
}

static bool computer_name(const struct sm_account *acc, const char *given)
{
    if (acc)
        return acc->is_computer;
    size_t n = given ? strlen(given) : 0;
    return n && given[n - 1] == '$';
}

static int add_command(struct ectx *c, const char *who, bool computer)
{
    struct sm_event_explanation *ex = c->ex;
    const char *id = ps_quote(c->x->a, who), *val = ps_quote(c->x->a, ex->fix_value);
    if (!id || !val)
        return -ENOMEM;
    ex->fix_command = arena_printf(c->x->a, "%s -Identity %s -Add @{altSecurityIdentities=%s}",
                                   computer ? "Set-ADComputer" : "Set-ADUser", id, val);
    return ex->fix_command ? 0 : -ENOMEM;
}

static int reissue_text(struct ectx *c, const struct sm_account *acc)
{
    char sid[SM_SID_TEXT_MAX];
    const char *tail =
        acc && acc->has_sid
            ? arena_printf(c->x->a,
                           "any other CA: the non-critical extension %s holding %s "
                           "(strongmap sid extension %s prints its DER), or the SAN URI "
                           "%s%s for Windows Server 2019 and later DCs.",
                           SM_OID_SID_EXTENSION, sm_sid_format(&acc->sid, sid, sizeof(sid)), sid,
                           SM_SID_URI_PREFIX, sid)
            : "any other CA: the non-critical extension 1.3.6.1.4.1.311.25.2 holding the "
              "account's SID (strongmap sid extension S-1-... prints its DER).";
    if (!tail)
        return -ENOMEM;
    c->ex->reissue = arena_printf(
        c->x->a,
        "Re-issue the certificate with the account's SID: AD CS from an online template "
        "(subject built from Active Directory) without CT_FLAG_NO_SECURITY_EXTENSION; Intune "
        "PKCS with EnableSidSecurityExtension=1 on the Certificate Connector; Intune SCEP with "
        "a SAN URI attribute whose value is {{OnPremisesSecurityIdentifier}} alone (synced "
        "users and hybrid-joined devices only); %s",
        tail);
    return c->ex->reissue ? 0 : -ENOMEM;
}

/* Does the account hold a strong value for this certificate already? */
static int holds(struct ectx *c, const struct sm_account *acc)
{
    struct sm_event_explanation *ex = c->ex;
    for (size_t i = 0; i < acc->n_altsec && !ex->holds; i++) {
        const char *v = acc->altsec[i];
        if (c->cert) {
            struct sm_altsec *a = NULL;
            int r = sm_altsec_parse(v, strlen(v), &a, NULL);
            if (r == -ENOMEM)
                return r;
            if (r == 0 && a->strong && sm_altsec_matches(a, c->cert))
                ex->holds = v;
            sm_altsec_free(a);
        } else if ((ex->issuer_serial && strcasecmp(v, ex->issuer_serial) == 0) ||
                   (ex->sha1_pukey && strcasecmp(v, ex->sha1_pukey) == 0)) {
            ex->holds = v;
        }
    }
    return 0;
}

/* The identity of the certificate: from the event's text, or from the published certificate. */
static int identity(struct ectx *c, const struct sm_account *acc)
{
    struct sm_event_explanation *ex = c->ex;
    const struct sm_kdc_event *ev = c->ev;
    char thumb[41];
    bool have_thumb =
        ev->thumbprint && clean_hex(ev->thumbprint, thumb, sizeof(thumb)) && strlen(thumb) == 40;
    int r;

    if (ev->thumbprint && !have_thumb)
        NOTE(c, "thumbprint_unreadable", SM_SEV_WARNING,
             "The thumbprint \"%s\" is not 40 hex digits (SHA-1).", ev->thumbprint);
    if (have_thumb && !(ex->sha1_pukey = arena_cat(c->x->a, "X509:<SHA1-PUKEY>", thumb, NULL)))
        return -ENOMEM;
    if (ev->serial && (r = serial_reversed(c, ev->serial, &ex->serial_reversed)) < 0)
        return r;
    if (ev->issuer && strchr(ev->issuer, '=')) {
        if ((r = issuer_to_ad(c, ev->issuer, &ex->issuer_ad)) < 0)
            return r;
    } else if (ev->issuer) {
        /* a bare name: the CA of that CN in NTAuth gives the whole name */
        const struct sm_certs *store;
        if ((r = ntauth(c, &store)) < 0)
            return r;
        const struct sm_cert *ca = ntauth_ca(store, NULL, ev->issuer);
        if (ca) {
            ex->issuer_ad = ca->subject.ad;
            NOTE(c, "issuer_from_ntauth", SM_SEV_INFO,
                 "The event names the issuer by its name only (\"%s\"); its whole name, %s, is "
                 "the one of the CA certificate of that name in NTAuth.",
                 ev->issuer, ca->subject.ad);
        } else {
            NOTE(c, "issuer_name_only", SM_SEV_WARNING,
                 "The event names the issuer by its name only (\"%s\"), and no CA of that name "
                 "is known: X509IssuerSerialNumber needs the issuer's whole name in encoding "
                 "order (certutil -dump of the CA certificate shows it). X509SHA1PublicKey "
                 "needs only the thumbprint.",
                 ev->issuer);
        }
    }
    if (acc && have_thumb && (r = published(c, acc, thumb, &c->cert)) < 0)
        return r;
    if (ex->issuer_ad && ex->serial_reversed &&
        !(ex->issuer_serial =
              arena_cat(c->x->a, "X509:<I>", ex->issuer_ad, "<SR>", ex->serial_reversed, NULL)))
        return -ENOMEM;
    if (c->cert) {
        const struct sm_mapping *m = sm_cert_mapping(c->cert, SM_MAP_ISSUER_SERIAL);
        if (m && ex->issuer_serial && strcasecmp(m->value, ex->issuer_serial) != 0)
            NOTE(c, "rebuilt_differs", SM_SEV_WARNING,
                 "Rebuilt from the event's text the value is %s; the published certificate gives "
                 "%s, which is the one used.",
                 ex->issuer_serial, m->value);
        if (m) {
            ex->issuer_serial = m->value;
            ex->issuer_ad = c->cert->issuer.ad;
            const char *sr = strstr(m->value, "<SR>");
            ex->serial_reversed = sr ? sr + 4 : ex->serial_reversed;
        }
        ex->from_certificate = true;
    }
    return 0;
}

static int explain_mapping(struct ectx *c, const struct sm_account *acc, const char *who)
{
    struct sm_event_explanation *ex = c->ex;
    struct arena *a = c->x->a;
    int r;

    if (acc && (r = holds(c, acc)) < 0)
        return r;
    if ((r = reissue_text(c, acc)) < 0)
        return r;
    if (ex->holds) {
        ex->fix = arena_printf(a,
                               "The account already holds %s, a strong mapping of this "
                               "certificate: the event predates it, or the DC that logged it "
                               "had not replicated it yet. Nothing to add.",
                               ex->holds);
        return ex->fix ? 0 : -ENOMEM;
    }
    ex->fix_value = ex->issuer_serial ? ex->issuer_serial : ex->sha1_pukey;
    if (!ex->fix_value) {
        ex->fix = "No strong value can be built from this event (it lacks the issuer and serial, "
                  "or the thumbprint): take the certificate and run strongmap inspect on it, or "
                  "re-issue it with the account's SID.";
        return 0;
    }
    if (ex->fix_value == ex->sha1_pukey)
        NOTE(c, "sha1_pukey", SM_SEV_INFO,
             "X509SHA1PublicKey is the certificate's SHA-1 thumbprint as the engine predicts it "
             "(docs/mapping-rules.md 6.1); X509IssuerSerialNumber, Microsoft's recommendation, "
             "needs the issuer's whole name.");
    /* no name in the event and no account: the value, but no command to add it with */
    if ((acc || who) && (r = add_command(c, account_id(acc, who), computer_name(acc, who))) < 0)
        return r;
    ex->fix = arena_printf(a,
                           "Add the strong mapping %s to %s's altSecurityIdentities (one value "
                           "per certificate; Microsoft recommends X509IssuerSerialNumber), or "
                           "re-issue the certificate with the account's SID.",
                           ex->fix_value,
                           acc   ? acc->dn
                           : who ? who
                                 : "the account");
    return ex->fix ? 0 : -ENOMEM;
}

static int explain_sid(struct ectx *c, const struct sm_account *acc, const char *who)
{
    struct sm_event_explanation *ex = c->ex;
    struct arena *a = c->x->a;
    const struct sm_kdc_event *ev = c->ev;
    int r;

    if (c->dir && ev->cert_sid) {
        const struct lookup *l;
        if ((r = lookup(c, SM_LOOKUP_SID, ev->cert_sid, &l)) < 0)
            return r;
        if (l && l->acc && l->acc->n == 1)
            ex->sid_owner = l->acc->v[0].dn;
    }
    if (acc && (r = holds(c, acc)) < 0)
        return r;
    const char *name = acc ? acc->dn : who ? who : "the account the DC mapped it to";
    const char *owner = ex->sid_owner  ? ex->sid_owner
                        : ev->cert_sid ? arena_printf(a, "the SID %s", ev->cert_sid)
                                       : "another account";
    if (!owner)
        return -ENOMEM;
    ex->fix = arena_printf(
        a,
        "The certificate was issued for %s, not for %s: re-issue it for %s. A strong "
        "altSecurityIdentities value on %s would let this certificate log on as it (the DC "
        "checks no SID after a strong mapping): add one only if the certificate truly belongs "
        "to it, as X509IssuerSID does for another domain's SID.",
        owner, name, name, name);
    return ex->fix ? 0 : -ENOMEM;
}

static int explain_ntauth(struct ectx *c, const struct sm_account *acc)
{
    struct sm_event_explanation *ex = c->ex;
    struct arena *a = c->x->a;
    const struct sm_certs *store;
    int r;

    if ((r = ntauth(c, &store)) < 0)
        return r;
    const struct sm_cert *ca = ntauth_ca(store, ex->issuer_ad, NULL);
    if (!ca && c->cert)
        ca = ntauth_ca(store, c->cert->issuer.ad, NULL);
    /* 21 names no certificate: the account's published certificates tell which CAs it uses */
    const char *missing = NULL;
    for (size_t i = 0; !ex->issuer_ad && acc && store && i < acc->n_certs && !missing; i++) {
        struct sm_certs *cs = NULL;
        r = sm_certs_parse(acc->certs[i].data, acc->certs[i].len, NULL, &cs, NULL);
        if (r == -ENOMEM)
            return r;
        if (r == 0 && cs->n_certs && !ntauth_ca(store, cs->certs[0].issuer.ad, NULL) &&
            !(missing = arena_strdup(a, cs->certs[0].issuer.ad))) {
            sm_certs_free(cs);
            return -ENOMEM;
        }
        sm_certs_free(cs);
    }
    if (ca) {
        NOTE(c, "issuer_in_ntauth", SM_SEV_INFO,
             "NTAuth holds a CA certificate of that name now (%s): the event predates it, or the "
             "DC's copy of the store is older (certutil -pulse, or wait for its refresh).",
             ca->subject.ad);
        ex->fix = "The issuing CA is in NTAuth now: nothing to add if the DC has its copy; check "
                  "that the CA certificate in NTAuth is the one that signed the certificate.";
        return 0;
    }
    ex->fix_command = NTAUTH_HINT;
    if (missing)
        ex->fix = arena_printf(a,
                               "The account publishes a certificate from %s, which is not in "
                               "NTAuth: publish that CA's certificate in NTAuth (%s).",
                               missing, NTAUTH_HINT);
    else if (c->ev->id == 21)
        ex->fix = arena_printf(a,
                               "Read the chain status. When the issuing CA is missing from "
                               "NTAuth, publish its certificate there (%s); an expired, revoked "
                               "or unreachable-CRL certificate must be re-issued or its CRL "
                               "made reachable.",
                               NTAUTH_HINT);
    else
        ex->fix = arena_printf(a,
                               "Publish the issuing CA's certificate in NTAuth (%s)%s. Under "
                               "KB5057784 enforcement (the default since 2025-07-08) the same "
                               "logon is denied, with event 21.",
                               NTAUTH_HINT,
                               store    ? ""
                               : c->dir ? "; the store could not be read here"
                                        : "");
    return ex->fix ? 0 : -ENOMEM;
}

static const struct {
    unsigned id;
    const char *code, *summary, *why;
} meanings[] = {
    { 39, "weak_mapping", "the certificate maps to the account only weakly",
      "The certificate was valid and named the account, but only through a weak mapping (its "
      "UPN or DNS name, or a weak altSecurityIdentities value): it carries no SID, and the "
      "account holds no strong altSecurityIdentities value for it. Under full enforcement, "
      "every DC since the 2025-09-09 update, the logon was denied (KDC_ERR_CERTIFICATE_MISMATCH, "
      "66); a DC still in compatibility mode allowed it and logged the event as a warning." },
    { 40, "predates_account", "weak mapping, and the certificate is older than the account",
      "The certificate mapped only weakly, and it was issued before the account was created "
      "(beyond CertificateBackdatingCompensation): the DC, in compatibility mode, denied it "
      "(66). Only a DC without the 2025-09-09 update still runs compatibility mode; under full "
      "enforcement the same logon logs event 39." },
    { 41, "sid_mismatch", "the certificate carries another account's SID",
      "The certificate carried a SID (its 1.3.6.1.4.1.311.25.2 extension or SAN URI) that is "
      "not the SID of the account it mapped to: the DC denied the logon (66). A certificate "
      "issued for one account was presented for another." },
    { 45, "ntauth_audit", "the issuing CA is not in NTAuth (audit)",
      "The certificate was valid but its issuing CA is not in the forest's NTAuth store. "
      "KB5057784 in audit mode let the logon through and logged this event; in enforcement "
      "mode (the default since 2025-07-08, the only mode since 2025-10-14) it is denied with "
      "event 21." },
    { 21, "certificate_not_valid", "the client certificate was refused",
      "The DC found the client certificate not valid and the smart card logon failed. Since "
      "KB5057784 is enforced this is also what a certificate gets whose issuing CA is not in "
      "NTAuth, even when it is mapped explicitly; the chain status says which check failed." },
};

static int explain_one(struct ectx *c)
{
    struct sm_event_explanation *ex = c->ex;
    const struct sm_kdc_event *ev = c->ev;
    struct arena *a = c->x->a;
    const struct sm_account *acc = NULL;
    int r;

    ex->event = ev;
    for (size_t i = 0; i < ARRAY_SIZE(meanings); i++)
        if (meanings[i].id == ev->id) {
            ex->code = meanings[i].code;
            ex->summary = meanings[i].summary;
            ex->why = meanings[i].why;
        }
    if (ev->id == 21 && ev->status &&
        !(ex->why = arena_printf(a, "%s The chain status: %s", ex->why, ev->status)))
        return -ENOMEM;

    /* the account */
    const char *who = ev->user;
    if (ev->domain && ev->user && !(who = arena_printf(a, "%s\\%s", ev->domain, ev->user)))
        return -ENOMEM;
    ex->lookup = SM_EXPLAIN_NO_DIRECTORY;
    if (c->dir && who) {
        const struct lookup *l;
        if ((r = lookup(c, SM_LOOKUP_AUTO, who, &l)) < 0)
            return r;
        if (!l) {
            ex->lookup = SM_EXPLAIN_OVER_LIMIT;
            NOTE(c, "lookup_limit", SM_SEV_WARNING,
                 "\"%s\" was not looked up: this input names more than %zu accounts, the most "
                 "one request looks up. Explain the other events in another request.",
                 who, c->x->max_lookups);
        } else if (!l->acc) {
            ex->lookup = SM_EXPLAIN_REFUSED;
            NOTE(c, "lookup_refused", SM_SEV_WARNING, "The name \"%s\" was not looked up: %s", who,
                 l->refused);
        } else if (l->acc->n == 0) {
            ex->lookup = SM_EXPLAIN_NOT_FOUND;
            NOTE(c, "account_not_found", SM_SEV_WARNING,
                 "No account of the directory answers to \"%s\": the event may come from "
                 "another domain, or the account was renamed or deleted.",
                 who);
        } else if (l->acc->n > 1) {
            ex->lookup = SM_EXPLAIN_AMBIGUOUS;
            NOTE(c, "account_ambiguous", SM_SEV_WARNING, "%zu accounts answer to \"%s\".",
                 l->acc->n, who);
        } else {
            ex->lookup = SM_EXPLAIN_FOUND;
            acc = ex->account = &l->acc->v[0];
        }
    }
    if (acc && acc->has_uac && (acc->uac & SM_UAC_ACCOUNTDISABLE))
        NOTE(c, "account_disabled", SM_SEV_WARNING,
             "The account is disabled now: no mapping helps until it is enabled.");
    if (acc && ev->user_sid && acc->has_sid) {
        struct sm_sid sid;
        char text[SM_SID_TEXT_MAX];
        if (sm_sid_parse(ev->user_sid, strlen(ev->user_sid), &sid, NULL, NULL) == 0 &&
            !sm_sid_equal(&sid, &acc->sid))
            NOTE(c, "account_sid_differs", SM_SEV_WARNING,
                 "The event's account SID %s is not the SID of %s (%s): another account of the "
                 "same name?",
                 ev->user_sid, acc->dn, sm_sid_format(&acc->sid, text, sizeof(text)));
    }

    if ((r = identity(c, acc)) < 0)
        return r;
    switch (ev->id) {
    case 39:
    case 40: r = explain_mapping(c, acc, who); break;
    case 41: r = explain_sid(c, acc, who); break;
    default: r = explain_ntauth(c, acc); break;
    }
    if (r < 0)
        return r;
    ex->account_key = acc ? acc->dn : who ? who : "(no account named)";
    ex->ca_key = ex->issuer_ad ? ex->issuer_ad : ev->issuer ? ev->issuer : "(no issuer named)";
    return 0;
}

/* ---- groups -------------------------------------------------------------------------------- */

static int group(struct impl *x, bool by_ca, const struct sm_event_group **ret, size_t *ret_n)
{
    size_t n = x->pub.n, ng = 0;
    size_t *gid = mem_calloc(n ? n : 1, sizeof(*gid));
    size_t *first = mem_calloc(n ? n : 1, sizeof(*first));
    int r = -ENOMEM;
    if (!gid || !first)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const char *k = by_ca ? x->v[i].ca_key : x->v[i].account_key;
        size_t g = 0;
        while (g < ng &&
               strcasecmp(by_ca ? x->v[first[g]].ca_key : x->v[first[g]].account_key, k) != 0)
            g++;
        if (g == ng)
            first[ng++] = i;
        gid[i] = g;
    }
    struct sm_event_group *groups = arena_alloc(x->a, (ng ? ng : 1) * sizeof(*groups));
    if (!groups)
        goto out;
    for (size_t g = 0; g < ng; g++) {
        size_t cnt = 0;
        for (size_t i = first[g]; i < n; i++)
            cnt += gid[i] == g;
        size_t *idx = arena_alloc(x->a, cnt * sizeof(*idx));
        if (!idx)
            goto out;
        cnt = 0;
        for (size_t i = first[g]; i < n; i++)
            if (gid[i] == g)
                idx[cnt++] = i;
        groups[g] = (struct sm_event_group){
            .key = by_ca ? x->v[first[g]].ca_key : x->v[first[g]].account_key,
            .events = idx,
            .n = cnt,
        };
    }
    *ret = groups;
    *ret_n = ng;
    r = 0;
out:
    mem_free(gid);
    mem_free(first);
    return r;
}

/* ---- the result ---------------------------------------------------------------------------- */

struct sm_events_explanation *sm_events_explanation_free(struct sm_events_explanation *pub)
{
    if (!pub)
        return NULL;
    struct impl *x = (struct impl *)pub;
    for (size_t i = 0; i < x->n_lookups; i++)
        sm_accounts_free(x->lookups[i].acc);
    mem_free(x->lookups);
    for (size_t i = 0; i < x->n_published; i++)
        sm_certs_free(x->published[i]);
    mem_free(x->published);
    sm_accounts_free(x->ntauth);
    sm_certs_free(x->ntauth_certs);
    arena_free(x->a);
    mem_free(x);
    return NULL;
}

int sm_events_explain(struct sm_dir *dir, const struct sm_kdc_events *ev, size_t max_lookups,
                      struct sm_events_explanation **ret, struct sm_errinfo *reterr)
{
    struct impl *x = mem_calloc(1, sizeof(*x));
    int r = -ENOMEM;

    if (!x)
        return -ENOMEM;
    x->max_lookups = max_lookups;
    x->a = arena_new();
    /* at most two lookups per event: its account, and the owner of a 41's SID */
    x->lookups = mem_calloc(2 * ev->n + 1, sizeof(*x->lookups));
    x->v = x->a ? arena_alloc(x->a, (ev->n ? ev->n : 1) * sizeof(*x->v)) : NULL;
    if (!x->a || !x->lookups || !x->v)
        goto out;
    x->pub.v = x->v;
    x->pub.skipped = ev->skipped;
    x->pub.directory = dir ? sm_dir_kind(dir) : NULL;
    for (size_t i = 0; i < ev->n; i++) {
        struct ectx c = { .x = x, .dir = dir, .e = reterr, .ex = &x->v[i], .ev = &ev->v[i] };
        if ((r = explain_one(&c)) < 0)
            goto out;
        x->pub.n++;
    }
    if ((r = group(x, false, &x->pub.by_account, &x->pub.n_accounts)) < 0 ||
        (r = group(x, true, &x->pub.by_ca, &x->pub.n_cas)) < 0)
        goto out;
    *ret = &x->pub;
    return 0;
out:
    if (r == -ENOMEM)
        errinfo_set(reterr, -1, "out of memory");
    sm_events_explanation_free(&x->pub);
    return r;
}

/*
 * lib/cert_map.c - what the analysis concludes about a certificate: the altSecurityIdentities
 * strings a Windows KDC (and Samba) builds for it, and the findings; the names of mapping types
 * and SID states.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cert_internal.h"

void add_finding(struct ctx *x, const char *code, enum sm_severity sev, const char *fix,
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

/* @s, noting when it could not be made (x->err). */
static const char *checked(struct ctx *x, const char *s)
{
    CHECK_ALLOC(x, s);
    return s;
}

void build_mappings(struct ctx *x)
{
    struct sm_cert *c = x->c;
    struct arena *a = x->a;
    const char *iss = c->issuer.ad, *sub = c->subject.ad;
    size_t slen = c->serial ? strlen(c->serial) / 2 : 0;
    /* a planned certificate: no serial or thumbprint yet, and no issuer when it is not known */
    bool issuer = !x->planned || c->issuer.n_attrs > 0;
    uint8_t ser[128];
    const char *rev = NULL, *rev_samba = NULL;

    if (c->serial && (!x->planned || c->serial[0]) && slen <= sizeof(ser) &&
        su_hex_decode(c->serial, slen * 2, ser, sizeof(ser)) >= 0) {
        uint8_t r[128];
        for (size_t i = 0; i < slen; i++)
            r[i] = ser[slen - 1 - i];
        rev = checked(x, arena_hex(a, r, slen));
        /* Samba strips the DER sign byte, which is the last byte once reversed */
        rev_samba = checked(x, arena_hex(a, r, c->serial_sign_byte ? slen - 1 : slen));
    }
    /* Samba's parser starts a new tag at every '<': a name holding one can never match there */
    bool samba_iss = !strchr(c->issuer.samba, '<'), samba_sub = !strchr(c->subject.samba, '<');
    if (rev)
        add_mapping(x, SM_MAP_ISSUER_SERIAL, arena_cat(a, "X509:<I>", iss, "<SR>", rev, NULL),
                    checked(x, arena_cat(a, "X509:<I>", c->issuer.samba, "<SR>", rev_samba, NULL)),
                    samba_iss);
    if (c->ski)
        add_mapping(x, SM_MAP_SKI, arena_cat(a, "X509:<SKI>", c->ski, NULL), NULL, true);
    if (c->sha1[0])
        add_mapping(x, SM_MAP_SHA1_PUKEY, arena_cat(a, "X509:<SHA1-PUKEY>", c->sha1, NULL), NULL,
                    true);
    if (issuer && c->sid.status == SM_SID_VALID) {
        const struct sm_sid *sid =
            c->sid.source == SM_SID_SOURCE_EXTENSION ? &c->sid.extension.sid : &c->sid.uri.sid;
        char st[SM_SID_TEXT_MAX];
        sm_sid_format(sid, st, sizeof(st));
        add_mapping(x, SM_MAP_ISSUER_SID, arena_cat(a, "X509:<I>", iss, "<SID>", st, NULL), NULL,
                    false);
    }
    if (c->subject.n_attrs && issuer)
        add_mapping(
            x, SM_MAP_ISSUER_SUBJECT, arena_cat(a, "X509:<I>", iss, "<S>", sub, NULL),
            checked(x, arena_cat(a, "X509:<I>", c->issuer.samba, "<S>", c->subject.samba, NULL)),
            samba_iss && samba_sub);
    if (c->subject.n_attrs)
        add_mapping(x, SM_MAP_SUBJECT_ONLY, arena_cat(a, "X509:<S>", sub, NULL),
                    checked(x, arena_cat(a, "X509:<S>", c->subject.samba, NULL)), samba_sub);
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

void cert_findings(struct ctx *x, size_t trailing)
{
    struct sm_cert *c = x->c;

    sid_findings(x);
    if (!c->ski && !x->planned)
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
    if (x->planned)
        ; /* the CA sets the validity */
    else if (x->now < c->not_before_t)
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

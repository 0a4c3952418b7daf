/*
 * cli/text.c - human-readable output. The JSON documents are the contract; this is a view of
 * the same engine structures (struct sm_certs, sm_altsec, sm_sid, sm_verdict,
 * sm_account_status), never a parse of the documents.
 *
 * Every line goes through text_printf(): what certificates and directories bring (names, SANs,
 * DNs, account names, findings quoting them) may hold bytes a terminal acts on, so everything
 * but printable text is written as \xNN, as the daemon's logs do (these keep printable UTF-8).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "su_base64.h"
#include "su_hex.h"
#include "su_utf8.h"
#include "text.h"

/*
 * A code point a terminal acts on or that changes how the text around it reads: C0 and C1
 * controls, DEL, LINE and PARAGRAPH SEPARATOR, the bidirectional marks, embeddings, overrides
 * and isolates (Unicode UAX #9).
 */
static bool unsafe(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x061c || cp == 0x200e ||
           cp == 0x200f || (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

void text_escaped(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;

    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t l = su_utf8_seq(p + i, len - i, &cp);

        if (l == 0 || unsafe(cp)) {
            for (size_t k = 0; k < (l ? l : 1); k++)
                fprintf(f, "\\x%02x", p[i + k]);
            i += l ? l : 1;
        } else {
            fwrite(p + i, 1, l, f);
            i += l;
        }
    }
}

void text_printf(FILE *f, const char *fmt, ...)
{
    char small[512], *buf = small;
    size_t flen = strlen(fmt);
    bool newline = flen > 0 && fmt[flen - 1] == '\n';
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof(small)) {
        buf = malloc((size_t)n + 1);
        if (!buf) {
            fputs("(out of memory)\n", f);
            return;
        }
        va_start(ap, fmt);
        vsnprintf(buf, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    text_escaped(f, buf, (size_t)n - newline);
    if (newline)
        fputc('\n', f);
    if (buf != small)
        free(buf);
}

static void findings(FILE *f, const struct sm_findings *fs, const char *indent)
{
    for (size_t i = 0; i < fs->n; i++) {
        const struct sm_finding *x = &fs->v[i];
        text_printf(f, "%s[%s] %s: %s\n", indent, sm_severity_name(x->severity), x->code,
                    x->message);
        if (x->fix)
            text_printf(f, "%s    fix: %s\n", indent, x->fix);
    }
}

static const char *san_label(enum sm_san_type t)
{
    switch (t) {
    case SM_SAN_UPN: return "UPN";
    case SM_SAN_OTHER: return "otherName";
    case SM_SAN_EMAIL: return "email";
    case SM_SAN_DNS: return "DNS";
    case SM_SAN_URI: return "URI";
    case SM_SAN_IP: return "IP";
    case SM_SAN_DIRNAME: return "dirName";
    case SM_SAN_RID: return "registeredID";
    case SM_SAN_X400: return "x400";
    case SM_SAN_EDIPARTY: return "ediParty";
    }
    return "?";
}

static void carrier(FILE *f, const char *label, const struct sm_sid_carrier *c)
{
    char t[SM_SID_TEXT_MAX];
    switch (c->status) {
    case SM_SID_ABSENT: text_printf(f, "    %-10s absent\n", label); break;
    case SM_SID_VALID:
        text_printf(f, "    %-10s %s%s\n", label, sm_sid_format(&c->sid, t, sizeof(t)),
                    c->critical ? " (critical)" : "");
        break;
    case SM_SID_MALFORMED: text_printf(f, "    %-10s MALFORMED: %s\n", label, c->reason); break;
    }
}

void text_certs(FILE *f, const struct sm_certs *certs)
{
    for (size_t i = 0; i < certs->n_certs; i++) {
        const struct sm_cert *c = &certs->certs[i];
        text_printf(f, "Certificate %u\n", c->index);
        text_printf(f, "  Subject    %s\n", c->subject.rfc4514);
        text_printf(f, "  Issuer     %s\n", c->issuer.rfc4514);
        text_printf(f, "  Serial     %s\n", c->serial);
        text_printf(f, "  Validity   %s .. %s\n", c->not_before, c->not_after);
        text_printf(f, "  Key        %s %u%s%s\n", c->key_type, c->key_bits,
                    c->key_curve ? " " : "", c->key_curve ? c->key_curve : "");
        text_printf(f, "  SHA-1      %s\n", c->sha1);
        text_printf(f, "  SKI        %s\n", c->ski ? c->ski : "(none)");
        for (size_t k = 0; k < c->n_san; k++)
            text_printf(f, "  SAN        %s %s%s%s\n", san_label(c->san[k].type), c->san[k].value,
                        c->san[k].oid && c->san[k].type == SM_SAN_OTHER ? " oid " : "",
                        c->san[k].oid && c->san[k].type == SM_SAN_OTHER ? c->san[k].oid : "");
        text_printf(f, "  SID        ");
        if (c->sid.source == SM_SID_SOURCE_NONE)
            text_printf(f, "none\n");
        else
            text_printf(f, "%s from the %s\n", sm_sid_status_name(c->sid.status),
                        c->sid.source == SM_SID_SOURCE_EXTENSION ? "extension" : "SAN URI");
        carrier(f, "extension", &c->sid.extension);
        carrier(f, "SAN URI", &c->sid.uri);
        text_printf(f, "  EKU        ");
        if (!c->has_eku)
            text_printf(f, "(no extension: any purpose)");
        for (size_t k = 0; k < c->n_eku; k++) {
            const char *nm = sm_oid_name(c->eku[k]);
            text_printf(f, "%s%s", k ? ", " : "", nm ? nm : c->eku[k]);
        }
        fputc('\n', f);
        if (c->has_template)
            text_printf(f, "  Template   %s%s%s\n", c->tmpl.name ? c->tmpl.name : "",
                        c->tmpl.name && c->tmpl.oid ? " " : "", c->tmpl.oid ? c->tmpl.oid : "");
        text_printf(f, "  altSecurityIdentities a DC builds for it:\n");
        for (size_t k = 0; k < c->n_mappings; k++) {
            const struct sm_mapping *m = &c->mappings[k];
            text_printf(f, "    %-6s %-22s %s\n", sm_map_type_strong(m->type) ? "strong" : "weak",
                        sm_map_type_name(m->type), m->value);
            if (m->samba)
                text_printf(f, "    %-6s %-22s %s\n", "", "(Samba)", m->samba);
        }
        if (c->findings.n) {
            text_printf(f, "  Findings:\n");
            findings(f, &c->findings, "    ");
        }
        if (i + 1 < certs->n_certs)
            fputc('\n', f);
    }
    for (size_t i = 0; i < certs->n_errors; i++)
        text_printf(f, "Block %u: not read: %s\n", certs->errors[i].index,
                    certs->errors[i].message);
}

static void altsec_lines(FILE *f, struct sm_altsec *const *vals, size_t n,
                         const struct sm_cert *cert, const char *in)
{
    for (size_t i = 0; i < n; i++) {
        const struct sm_altsec *v = vals[i];
        text_printf(f, "%s%s\n", in, v->value);
        switch (v->kind) {
        case SM_ALTSEC_MAPPING:
            text_printf(f, "%s  %s, %s\n", in, sm_map_type_name(v->type),
                        v->strong ? "strong" : "weak");
            break;
        case SM_ALTSEC_NOT_X509: text_printf(f, "%s  not a certificate mapping\n", in); break;
        case SM_ALTSEC_INVALID:
            text_printf(f, "%s  never matches on Windows: %s\n", in, v->invalid_reason);
            break;
        }
        if (cert)
            text_printf(f, "%s  matches the certificate: Windows %s, Samba %s\n", in,
                        sm_altsec_matches(v, cert) ? "yes" : "no",
                        sm_altsec_matches_samba(v, cert) ? "yes" : "no");
        char ind[16];
        snprintf(ind, sizeof(ind), "%s  ", in);
        findings(f, &v->findings, ind);
    }
}

void text_altsec(FILE *f, struct sm_altsec *const *vals, size_t n, const struct sm_cert *cert)
{
    altsec_lines(f, vals, n, cert, "");
}

int text_sid(FILE *f, const struct sm_sid *sid)
{
    char text[SM_SID_TEXT_MAX], line[SM_SID_BINARY_MAX * 3 + 16];
    uint8_t der[256], bin[SM_SID_BINARY_MAX];
    char der_text[sizeof(der) * 3 + 32]; /* the longest of the DER's three renderings */
    long dlen = sm_sid_extension_der(sid, der, sizeof(der));
    size_t blen = sm_sid_to_binary(sid, bin), k;

    if (dlen < 0)
        return (int)dlen;
    sm_sid_format(sid, text, sizeof(text));
    text_printf(f, "%-26s %s\n", "sid", text);
    text_printf(f, "%-26s %s\n", "extension_oid", SM_OID_SID_EXTENSION);
    su_hex_upper(der, (size_t)dlen, der_text);
    text_printf(f, "%-26s %s\n", "extension_der_hex", der_text);
    su_base64_encode(der, (size_t)dlen, der_text);
    text_printf(f, "%-26s %s\n", "extension_der_base64", der_text);
    k = (size_t)snprintf(der_text, sizeof(der_text), "%s = DER:", SM_OID_SID_EXTENSION);
    for (long i = 0; i < dlen; i++)
        k += (size_t)snprintf(der_text + k, sizeof(der_text) - k, "%s%02X", i ? ":" : "", der[i]);
    text_printf(f, "%-26s %s\n", "openssl_extension_config", der_text);
    text_printf(f, "%-26s %s%s\n", "san_uri", SM_SID_URI_PREFIX, text);
    su_hex_upper(bin, blen, line);
    text_printf(f, "%-26s %s\n", "object_sid_hex", line);
    su_base64_encode(bin, blen, line);
    text_printf(f, "%-26s %s\n", "object_sid_base64", line);
    k = (size_t)snprintf(line, sizeof(line), "(objectSid=");
    for (size_t i = 0; i < blen; i++)
        k += (size_t)snprintf(line + k, sizeof(line) - k, "\\%02x", bin[i]);
    snprintf(line + k, sizeof(line) - k, ")");
    text_printf(f, "%-26s %s\n", "ldap_filter", line);
    return 0;
}

/* ---- verdicts and account statuses ---------------------------------------------------------- */

static void account_lines(FILE *f, const char *label, const struct sm_account *a)
{
    char sid[SM_SID_TEXT_MAX];

    text_printf(f, "%-12s %s\n", label, a->dn);
    text_printf(f, "%-12s sAMAccountName %s, UPN %s, SID %s, %s%s\n", "", a->sam ? a->sam : "-",
                a->upn ? a->upn : "-", a->has_sid ? sm_sid_format(&a->sid, sid, sizeof(sid)) : "-",
                a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE) ? "disabled" : "enabled",
                a->is_computer ? ", computer" : "");
}

static void reasons(FILE *f, const struct sm_reason *r, size_t n, const char *indent)
{
    for (size_t i = 0; i < n; i++)
        text_printf(f, "%s[%s] %s\n", indent, r[i].code, r[i].message);
}

/* "DENY  66 KDC_ERR_CERTIFICATE_MISMATCH, event 39 (error); weak upn_san" */
static void outcome_line(FILE *f, const struct sm_profile_outcome *o)
{
    text_printf(f, "%-5s", o->allow ? "ALLOW" : "DENY");
    if (o->kdc_error.code)
        text_printf(f, "  %d %s", o->kdc_error.code, o->kdc_error.name);
    if (o->event.id)
        text_printf(f, "%s event %d (%s)", o->kdc_error.code ? "," : " ", o->event.id,
                    o->event.level);
    if (o->mapping_strength)
        text_printf(f, "; %s %s", sm_strength_name(o->mapping_strength), o->mapping_method);
    fputc('\n', f);
}

static const char *reissue_text(const struct sm_remediation *r)
{
    if (!r->likely_issuer)
        return NULL;
    if (strcmp(r->likely_issuer, "adcs") == 0)
        return r->reissue_adcs;
    if (strcmp(r->likely_issuer, "intune_scep") == 0)
        return r->reissue_scep;
    return r->reissue_other_ca;
}

void text_verdict(FILE *f, const struct sm_verdict *v)
{
    const struct sm_profile_outcome *p = v->primary;
    const struct sm_remediation *r = &v->remediation;
    const char *reissue = reissue_text(r);

    char update[40] = "";
    if (p->profile.kind != SM_PROFILE_SAMBA) {
        struct tm tm;
        gmtime_r(&p->profile.update, &tm);
        strftime(update, sizeof(update), ", DC update %Y-%m-%d", &tm);
    }
    text_printf(f, "%-12s %s on %s (mode %d, backdating %ld s%s)\n", "Verdict",
                v->allow ? "ALLOW" : "DENY", sm_profile_name(p->profile.kind), p->profile.mode,
                p->profile.backdating_s, update);
    if (p->kdc_error.code)
        text_printf(f, "%-12s %d %s\n", "KDC error", p->kdc_error.code, p->kdc_error.name);
    for (size_t i = 0; i < p->n_events; i++)
        text_printf(f, "%-12s %d (%s): %s\n", i ? "" : "KDC event", p->events[i].id,
                    p->events[i].level, p->events[i].text);
    if (p->mapping_strength)
        text_printf(f, "%-12s %s, %s\n", "Mapping", sm_strength_name(p->mapping_strength),
                    p->mapping_method);
    if (v->account) {
        account_lines(f, "Account", v->account);
        text_printf(f, "%-12s found by %s\n", "", sm_resolution_name(v->resolution));
    } else {
        text_printf(f, "%-12s (none found)\n", "Account");
    }
    if (v->sid_owner)
        account_lines(f, "SID owner", v->sid_owner);
    if (v->n_keycreds) {
        size_t hold = 0;
        for (size_t i = 0; i < v->n_keycreds; i++)
            hold += v->keycreds[i].matches;
        text_printf(f,
                    "%-12s %zu msDS-KeyCredentialLink value%s, %zu holding this "
                    "certificate's key\n",
                    "Key trust", v->n_keycreds, v->n_keycreds == 1 ? "" : "s", hold);
    }
    text_printf(f, "%-12s %s\n", "Certificate", v->cert->subject.rfc4514);
    text_printf(f, "%-12s issuer %s, serial %s, SHA-1 %s\n", "", v->cert->issuer.rfc4514,
                v->cert->serial, v->cert->sha1);
    text_printf(f, "%-12s %s\n", "NTAuth",
                !v->ntauth_known      ? "store not read"
                : v->issuer_in_ntauth ? "the issuer is in the store"
                                      : "the issuer is NOT in the store");
    text_printf(f, "%-12s %s\n", "Signature",
                v->issuer_signature == SM_ISSUER_SIG_VALID ? "signed by the CA it names"
                : v->issuer_signature == SM_ISSUER_SIG_INVALID
                    ? "NOT signed by the CA of that name the DCs trust (forged or altered)"
                : v->issuer_signature == SM_ISSUER_SIG_UNSUPPORTED
                    ? "not checked: algorithm not supported"
                    : "not checked: no key of the issuer known");
    if (v->n_profiles > 1) {
        text_printf(f, "Profiles\n");
        for (size_t i = 0; i < v->n_profiles; i++) {
            const struct sm_profile_outcome *o = &v->profiles[i];
            text_printf(f, "  %-13s mode %d  ", sm_profile_name(o->profile.kind), o->profile.mode);
            outcome_line(f, o);
        }
    }
    text_printf(f, "Mapping paths (%s)\n", sm_profile_name(p->profile.kind));
    for (size_t i = 0; i < p->n_paths; i++) {
        const struct sm_path *x = &p->paths[i];
        const char *strength = sm_strength_name(x->strength),
                   *result = sm_path_result_name(x->result);
        text_printf(f, "  %-6s %-22s %s", strength ? strength : "-", x->method, result);
        if (x->detail)
            text_printf(f, "%*s%s", (int)(12 - strlen(result)), "", x->detail);
        fputc('\n', f);
    }
    if (v->n_reasons || p->n_reasons) {
        text_printf(f, "Reasons\n");
        reasons(f, v->reasons, v->n_reasons, "  ");
        reasons(f, p->reasons, p->n_reasons, "  ");
    }
    text_printf(f, "Remediation\n");
    if (r->blocked_by)
        text_printf(f, "  blocked by: %s\n", r->blocked_by);
    if (r->altsec_value)
        text_printf(f, "  altSecurityIdentities  %s\n", r->altsec_value);
    if (r->altsec_value_samba)
        text_printf(f, "  (Samba)                %s\n", r->altsec_value_samba);
    for (size_t i = 0; i < sizeof(r->altsec_alternatives) / sizeof(r->altsec_alternatives[0]); i++)
        if (r->altsec_alternatives[i])
            text_printf(f, "  (or)                   %s\n", r->altsec_alternatives[i]);
    for (size_t i = 0; i < r->n_steps; i++)
        text_printf(f, "  %zu. %s\n", i + 1, r->steps[i]);
    if (reissue)
        text_printf(f, "  re-issue (likely issuer: %s): %s\n", r->likely_issuer, reissue);
    if (r->sid_extension_der_base64)
        text_printf(f, "  SID extension (DER)    %s\n", r->sid_extension_der_base64);
    if (r->sid_uri)
        text_printf(f, "  SID URI                %s\n", r->sid_uri);
}

static const char *readiness_upper(enum sm_readiness r)
{
    switch (r) {
    case SM_READY: return "READY";
    case SM_AT_RISK: return "AT RISK";
    case SM_BLOCKED: return "BLOCKED";
    }
    return "?";
}

void text_account_status(FILE *f, const struct sm_account_status *s)
{
    if (s->account)
        account_lines(f, "Account", s->account);
    else
        text_printf(f, "%-12s (none found)\n", "Account");
    text_printf(f, "%-12s %s\n", "Status", readiness_upper(s->readiness));
    text_printf(f, "%-12s", "Profiles");
    for (size_t i = 0; i < s->n_profiles; i++)
        text_printf(f, "%s%s", i ? ", " : " ", sm_profile_name(s->profiles[i].kind));
    fputc('\n', f);
    if (s->n_reasons) {
        text_printf(f, "Reasons\n");
        reasons(f, s->reasons, s->n_reasons, "  ");
    }
    if (s->n_altsec) {
        text_printf(f, "altSecurityIdentities\n");
        altsec_lines(f, s->altsec, s->n_altsec, NULL, "  ");
    }
    text_printf(f, "Published certificates: %zu\n", s->n_cert_verdicts);
    for (size_t i = 0; i < s->n_cert_verdicts; i++) {
        const struct sm_verdict *v = s->cert_verdicts[i];
        text_printf(f, "  %zu. %s (serial %s)\n", i + 1, v->cert->subject.rfc4514, v->cert->serial);
        fputs("     ", f);
        outcome_line(f, v->primary);
    }
}

/*
 * cli/text_preissue.c - `strongmap preissue`: the issuance plan for people (--text), and the
 * openssl extension file that issues the certificate as planned (--openssl-extfile), for
 * `openssl x509 -req -extfile F` or `openssl ca -extfile F`.
 *
 * Both read struct sm_preissue, never its JSON. The extension file holds values from the
 * request (SAN entries); a value that openssl's configuration syntax could read as something
 * else (a newline, a control character) is left out and the file says so.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "text.h"

/* The reason that explains a denial: the first one that is not a note about the profile. */
static const char *deny_reason(const struct sm_profile_outcome *o)
{
    static const char *const notes[] = { "pkinit_anchors",           "compatibility_whatif",
                                         "compatibility_ignored",    "ntauth_bypass_ignored",
                                         "use_subject_alt_name_off", "eku_not_checked",
                                         "binding_not_checked",      "key_trust_not_used" };
    for (size_t i = 0; i < o->n_reasons; i++) {
        bool note = false;
        for (size_t k = 0; k < sizeof(notes) / sizeof(notes[0]); k++)
            note |= strcmp(o->reasons[i].code, notes[k]) == 0;
        if (!note)
            return o->reasons[i].code;
    }
    return "-";
}

/* One profile's outcome, padded to a column unless it is the @last. */
static void outcome_cell(FILE *f, const struct sm_profile_outcome *o, bool last)
{
    int width = last ? 0 : 34;
    if (!o) {
        text_printf(f, "%-*s", width, "-");
        return;
    }
    char buf[128];
    if (o->allow)
        snprintf(buf, sizeof(buf), "allow (%s, %s)", sm_strength_name(o->mapping_strength),
                 o->mapping_method ? o->mapping_method : "-");
    else if (o->event.id)
        snprintf(buf, sizeof(buf), "deny %d, event %d (%s)", o->kdc_error.code, o->event.id,
                 deny_reason(o));
    else
        snprintf(buf, sizeof(buf), "deny %d (%s)", o->kdc_error.code, deny_reason(o));
    text_printf(f, "%-*s", width, buf);
}

static const char *san_kind(enum sm_san_type t)
{
    switch (t) {
    case SM_SAN_UPN: return "UPN";
    case SM_SAN_DNS: return "DNS";
    case SM_SAN_EMAIL: return "email";
    case SM_SAN_URI: return "URI";
    case SM_SAN_IP: return "IP";
    case SM_SAN_DIRNAME: return "dirName";
    case SM_SAN_RID: return "RID";
    case SM_SAN_OTHER: return "otherName";
    default: return "other";
    }
}

static void san_lines(FILE *f, const char *label, const struct sm_cert *c)
{
    if (!c->n_san)
        text_printf(f, "%-12s (none)\n", label);
    for (size_t i = 0; i < c->n_san; i++)
        text_printf(f, "%-12s %s %s\n", i ? "" : label, san_kind(c->san[i].type), c->san[i].value);
}

void text_preissue(FILE *f, const struct sm_preissue *p)
{
    const struct sm_cert *r = p->request;
    const struct sm_account *a = p->account;
    char sid[SM_SID_TEXT_MAX];

    text_printf(f, "%-12s %s\n", "Decision",
                p->refuse       ? "REFUSE: do not issue this request (security findings)"
                : !p->as_issued ? "REFUSE: no account to issue for"
                : p->allow_as_issued
                    ? (p->n_changes ? "ISSUE with the changes below" : "ISSUE as requested")
                    : "ISSUE only with another mapping: even as planned, a "
                      "profile denies");
    if (a) {
        text_printf(f, "%-12s %s\n", "Account", a->dn);
        text_printf(f, "%-12s sAMAccountName %s, UPN %s, SID %s, %s, %s\n", "",
                    a->sam ? a->sam : "(none)", a->upn ? a->upn : "(none)",
                    a->has_sid ? sm_sid_format(&a->sid, sid, sizeof(sid)) : "(none)",
                    a->has_uac && (a->uac & SM_UAC_ACCOUNTDISABLE) ? "DISABLED" : "enabled",
                    a->is_computer ? "computer" : "user");
    } else {
        text_printf(f, "%-12s (none found)\n", "Account");
    }
    text_printf(f, "%-12s %s\n", "Request",
                r->subject.rfc4514[0] ? r->subject.rfc4514 : "(empty subject)");
    text_printf(f, "%-12s key %s %u%s%s, SPKI SHA-1 %s\n", "", r->key_type, r->key_bits,
                r->key_curve ? " " : "", r->key_curve ? r->key_curve : "", r->spki_sha1);
    text_printf(f, "%-12s signature %s\n", "",
                p->signature_verified ? "verified" : p->signature_note);
    san_lines(f, "  SAN", r);
    text_printf(f, "%-12s extension %s, SAN URI %s\n", "  SID",
                sm_sid_status_name(r->sid.extension.status), sm_sid_status_name(r->sid.uri.status));
    if (p->findings.n)
        text_printf(f, "Findings\n");
    for (size_t i = 0; i < p->findings.n; i++)
        text_printf(f, "  [%s] %s: %s\n", sm_severity_name(p->findings.v[i].severity),
                    p->findings.v[i].code, p->findings.v[i].message);
    if (p->n_changes)
        text_printf(f, "Changes\n");
    for (size_t i = 0; i < p->n_changes; i++) {
        const struct sm_preissue_change *c = &p->changes[i];
        text_printf(f, "  %-6s %-13s %s\n", c->add ? "add" : "remove", c->what, c->value);
        text_printf(f, "  %-6s %-13s (%s)\n", "", "", c->reason);
    }
    if (p->sid) {
        text_printf(f, "Material\n");
        text_printf(f, "  %-22s %s\n", "SID", p->sid);
        text_printf(f, "  %-22s %s\n", SM_OID_SID_EXTENSION, p->sid_extension_der_hex);
        text_printf(f, "  %-22s %s\n", "  (base64)", p->sid_extension_der_base64);
        text_printf(f, "  %-22s %s\n", "SAN URI", p->sid_uri);
    }
    if (p->upn)
        text_printf(f, "  %-22s %s\n", "UPN", p->upn);
    if (p->dns)
        text_printf(f, "  %-22s %s\n", "DNS", p->dns);
    if (p->as_issued)
        san_lines(f, "Issued SAN", p->issued);
    text_printf(f, "Profiles       %-34s%s\n", "as requested", "as issued");
    for (size_t i = 0; p->as_requested && i < p->as_requested->n_profiles; i++) {
        text_printf(f, "  %-13s", sm_profile_name(p->as_requested->profiles[i].profile.kind));
        outcome_cell(f, &p->as_requested->profiles[i], false);
        outcome_cell(f, p->as_issued ? &p->as_issued->profiles[i] : NULL, true);
        text_printf(f, "\n");
    }
}

/* ---- the openssl extension file ---------------------------------------------------------- */

/* @s as an openssl configuration value: '\\', '$', '#', '"' and '\'' escaped; false when it
   holds a byte the syntax cannot carry on one line. */
static bool conf_value(char *out, size_t size, const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
        if (n + 3 >= size)
            return false;
        if (strchr("\\$#\"'", *s))
            out[n++] = '\\';
        out[n++] = *s;
    }
    out[n] = '\0';
    return true;
}

/* The request marked extension @oid critical. */
static bool critical(const struct sm_cert *c, const char *oid)
{
    for (size_t i = 0; i < c->n_exts; i++)
        if (strcmp(c->exts[i].oid, oid) == 0)
            return c->exts[i].critical;
    return false;
}

int extfile_preissue(FILE *f, const struct sm_preissue *p)
{
    const struct sm_cert *c = p->issued;
    char v[2048];
    int n_ext = 0;

    fprintf(f, "# strongmap preissue: the certificate as it should be issued%s%s.\n",
            p->account && p->account->sam ? " for " : "",
            p->account && p->account->sam && conf_value(v, sizeof(v), p->account->sam) ? v : "");
    fprintf(f, "#   openssl x509 -req -in REQUEST -CA CA.pem -CAkey CA.key -extfile THIS_FILE\n"
               "#   openssl ca -in REQUEST -extfile THIS_FILE\n"
               "# It replaces the request's extensions: the SAN, EKU and key usage are written "
               "out.\n");
    fprintf(f, "basicConstraints = CA:FALSE\n"
               "subjectKeyIdentifier = hash\n"
               "authorityKeyIdentifier = keyid\n");
    if (c->has_key_usage && c->key_usage) {
        static const char *const bits[] = { "digitalSignature", "nonRepudiation", "keyEncipherment",
                                            "dataEncipherment", "keyAgreement",   "keyCertSign",
                                            "cRLSign",          "encipherOnly",   "decipherOnly" };
        fprintf(f, "keyUsage = %s", critical(c, "2.5.29.15") ? "critical," : "");
        /* bit 0 = 0x80 of the first byte ... bit 8 = 0x80 of the second */
        bool first = true;
        for (unsigned b = 0; b < 9; b++) {
            unsigned mask = b < 8 ? 0x80u >> b : 0x8000u;
            if (c->key_usage & mask) {
                fprintf(f, "%s%s", first ? "" : ", ", bits[b]);
                first = false;
            }
        }
        fputc('\n', f);
    }
    if (c->n_eku) {
        fprintf(f, "extendedKeyUsage = %s", critical(c, "2.5.29.37") ? "critical," : "");
        for (size_t i = 0; i < c->n_eku; i++)
            fprintf(f, "%s%s", i ? ", " : "", c->eku[i]);
        fputc('\n', f);
    }
    if (p->sid_extension_der_hex) {
        fprintf(f, "%s = DER:", SM_OID_SID_EXTENSION);
        for (size_t i = 0; p->sid_extension_der_hex[i]; i += 2)
            fprintf(f, "%s%.2s", i ? ":" : "", p->sid_extension_der_hex + i);
        fputc('\n', f);
    }
    if (!c->n_san)
        return 0;
    fprintf(f, "subjectAltName = @strongmap_san\n\n[strongmap_san]\n");
    for (size_t i = 0; i < c->n_san; i++) {
        const struct sm_san *s = &c->san[i];
        const char *key = NULL;
        switch (s->type) {
        case SM_SAN_UPN: key = "otherName"; break;
        case SM_SAN_DNS: key = "DNS"; break;
        case SM_SAN_EMAIL: key = "email"; break;
        case SM_SAN_URI: key = "URI"; break;
        case SM_SAN_IP: key = "IP"; break;
        case SM_SAN_RID: key = "RID"; break;
        default: break;
        }
        if (!key || s->lossy || !conf_value(v, sizeof(v), s->value)) {
            fprintf(f, "# SAN entry %zu (%s) is not reproduced here: add it by hand\n", i,
                    san_kind(s->type));
            continue;
        }
        n_ext++;
        if (s->type == SM_SAN_UPN)
            fprintf(f, "otherName.%d = 1.3.6.1.4.1.311.20.2.3;UTF8:%s\n", n_ext, v);
        else
            fprintf(f, "%s.%d = %s\n", key, n_ext, v);
    }
    return 0;
}

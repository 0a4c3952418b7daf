/* cli/text.c - human-readable output. The JSON documents are the contract; this is a view. */
#include <string.h>

#include <jansson.h>

#include "text.h"

static void findings(FILE *f, const struct sm_findings *fs, const char *indent)
{
    for (size_t i = 0; i < fs->n; i++) {
        const struct sm_finding *x = &fs->v[i];
        fprintf(f, "%s[%s] %s: %s\n", indent, sm_severity_name(x->severity), x->code, x->message);
        if (x->fix)
            fprintf(f, "%s    fix: %s\n", indent, x->fix);
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
    case SM_SID_ABSENT: fprintf(f, "    %-10s absent\n", label); break;
    case SM_SID_VALID:
        fprintf(f, "    %-10s %s%s\n", label, sm_sid_format(&c->sid, t, sizeof(t)),
                c->critical ? " (critical)" : "");
        break;
    case SM_SID_MALFORMED: fprintf(f, "    %-10s MALFORMED: %s\n", label, c->reason); break;
    }
}

void text_certs(FILE *f, const struct sm_certs *certs)
{
    for (size_t i = 0; i < certs->n_certs; i++) {
        const struct sm_cert *c = &certs->certs[i];
        fprintf(f, "Certificate %u\n", c->index);
        fprintf(f, "  Subject    %s\n", c->subject.rfc4514);
        fprintf(f, "  Issuer     %s\n", c->issuer.rfc4514);
        fprintf(f, "  Serial     %s\n", c->serial);
        fprintf(f, "  Validity   %s .. %s\n", c->not_before, c->not_after);
        fprintf(f, "  Key        %s %u%s%s\n", c->key_type, c->key_bits, c->key_curve ? " " : "",
                c->key_curve ? c->key_curve : "");
        fprintf(f, "  SHA-1      %s\n", c->sha1);
        fprintf(f, "  SKI        %s\n", c->ski ? c->ski : "(none)");
        for (size_t k = 0; k < c->n_san; k++)
            fprintf(f, "  SAN        %s %s%s%s\n", san_label(c->san[k].type), c->san[k].value,
                    c->san[k].oid && c->san[k].type == SM_SAN_OTHER ? " oid " : "",
                    c->san[k].oid && c->san[k].type == SM_SAN_OTHER ? c->san[k].oid : "");
        fprintf(f, "  SID        ");
        if (c->sid.source == SM_SID_SOURCE_NONE)
            fprintf(f, "none\n");
        else
            fprintf(f, "%s from the %s\n", sm_sid_status_name(c->sid.status),
                    c->sid.source == SM_SID_SOURCE_EXTENSION ? "extension" : "SAN URI");
        carrier(f, "extension", &c->sid.extension);
        carrier(f, "SAN URI", &c->sid.uri);
        fprintf(f, "  EKU        ");
        if (!c->has_eku)
            fprintf(f, "(no extension: any purpose)");
        for (size_t k = 0; k < c->n_eku; k++) {
            const char *nm = sm_oid_name(c->eku[k]);
            fprintf(f, "%s%s", k ? ", " : "", nm ? nm : c->eku[k]);
        }
        fputc('\n', f);
        if (c->has_template)
            fprintf(f, "  Template   %s%s%s\n", c->tmpl.name ? c->tmpl.name : "",
                    c->tmpl.name && c->tmpl.oid ? " " : "", c->tmpl.oid ? c->tmpl.oid : "");
        fprintf(f, "  altSecurityIdentities a DC builds for it:\n");
        for (size_t k = 0; k < c->n_mappings; k++) {
            const struct sm_mapping *m = &c->mappings[k];
            fprintf(f, "    %-6s %-22s %s\n", sm_map_type_strong(m->type) ? "strong" : "weak",
                    sm_map_type_name(m->type), m->value);
            if (m->samba)
                fprintf(f, "    %-6s %-22s %s\n", "", "(Samba)", m->samba);
        }
        if (c->findings.n) {
            fprintf(f, "  Findings:\n");
            findings(f, &c->findings, "    ");
        }
        if (i + 1 < certs->n_certs)
            fputc('\n', f);
    }
    for (size_t i = 0; i < certs->n_errors; i++)
        fprintf(f, "Block %u: not read: %s\n", certs->errors[i].index, certs->errors[i].message);
}

void text_altsec(FILE *f, struct sm_altsec *const *vals, size_t n, const struct sm_cert *cert)
{
    for (size_t i = 0; i < n; i++) {
        const struct sm_altsec *v = vals[i];
        fprintf(f, "%s\n", v->value);
        switch (v->kind) {
        case SM_ALTSEC_MAPPING:
            fprintf(f, "  %s, %s\n", sm_map_type_name(v->type), v->strong ? "strong" : "weak");
            break;
        case SM_ALTSEC_NOT_X509: fprintf(f, "  not a certificate mapping\n"); break;
        case SM_ALTSEC_INVALID:
            fprintf(f, "  never matches on Windows: %s\n", v->invalid_reason);
            break;
        }
        if (cert)
            fprintf(f, "  matches the certificate: Windows %s, Samba %s\n",
                    sm_altsec_matches(v, cert) ? "yes" : "no",
                    sm_altsec_matches_samba(v, cert) ? "yes" : "no");
        findings(f, &v->findings, "  ");
    }
}

void text_sid(FILE *f, const char *json)
{
    json_t *root = json_loads(json, 0, NULL);
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val)
    {
        if (json_is_string(val))
            fprintf(f, "%-26s %s\n", key, json_string_value(val));
    }
    json_decref(root);
}

/*
 * lib/remediation.c - what to change so the DC allows the certificate: the exact strong
 * altSecurityIdentities value and the PowerShell command that adds it, how to re-issue with the
 * account's SID for the CA that most likely issued the certificate, or why neither helps.
 * docs/mapping-rules.md, section 8, gives the sources of each text.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <strongmap/strongmap.h>

#include "verdict_internal.h"

/* ---- PowerShell quoting ------------------------------------------------------------------------
 */

/* Bytes of a character PowerShell reads as a single quote at @p (0: none). */
static size_t ps_single_quote(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    if (u[0] == '\'')
        return 1;
    /* U+2018 LEFT, U+2019 RIGHT, U+201A LOW-9, U+201B HIGH-REVERSED-9 SINGLE QUOTATION MARK */
    if (u[0] == 0xE2 && u[1] == 0x80 && u[2] >= 0x98 && u[2] <= 0x9B)
        return 3;
    return 0;
}

const char *ps_quote(struct arena *a, const char *s)
{
    struct su_buf b;
    arena_buf_init(&b, a);
    su_buf_putc(&b, '\'');
    for (const char *p = s; *p;) {
        size_t q = ps_single_quote(p);
        if (q) {
            su_buf_put(&b, p, q); /* doubled: the first escapes the second */
            su_buf_put(&b, p, q);
            p += q;
        } else {
            su_buf_putc(&b, *p++);
        }
    }
    su_buf_putc(&b, '\'');
    return b.oom ? NULL : su_buf_str(&b);
}

/* ---- helpers -----------------------------------------------------------------------------------
 */

struct rctx {
    struct sm_verdict *v;
    struct arena *a;
    int err;
};

static void step(struct rctx *x, const char *fmt, ...) SM_PRINTF(2, 3);

static void step(struct rctx *x, const char *fmt, ...)
{
    struct sm_remediation *r = &x->v->remediation;
    if (r->n_steps >= ARRAY_SIZE(r->steps))
        return;
    va_list ap;
    va_start(ap, fmt);
    const char *s = arena_vprintf(x->a, fmt, ap);
    va_end(ap);
    if (!s)
        x->err = -ENOMEM;
    else
        r->steps[r->n_steps++] = s;
}

static bool any_reason(const struct sm_verdict *v, const char *code)
{
    for (size_t i = 0; i < v->n_profiles; i++)
        for (size_t k = 0; k < v->profiles[i].n_reasons; k++)
            if (strcmp(v->profiles[i].reasons[k].code, code) == 0)
                return true;
    return false;
}

/* The profiles whose outcome is error @code, as "windows-2019, windows-2022"; NULL (x->err set)
   when out of memory. */
static const char *profiles_with_error(struct rctx *x, int code)
{
    struct su_buf b;
    arena_buf_init(&b, x->a);
    for (size_t i = 0; i < x->v->n_profiles; i++)
        if (x->v->profiles[i].kdc_error.code == code) {
            if (b.len)
                su_buf_puts(&b, ", ");
            su_buf_puts(&b, sm_profile_name(x->v->profiles[i].profile.kind));
        }
    if (b.oom)
        x->err = -ENOMEM;
    return b.oom ? NULL : su_buf_str(&b);
}

static bool contains_ci(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (; s && *s; s++)
        if (strncasecmp(s, word, n) == 0)
            return true;
    return false;
}

/* Does the subject look built from Active Directory (an online template's DC= path)? */
static bool subject_from_ad(const struct sm_cert *c)
{
    bool dc = false, cn = false;
    for (size_t i = 0; i < c->subject.n_attrs; i++) {
        dc |= strcmp(c->subject.attrs[i].ad_key, "DC") == 0;
        cn |= strcmp(c->subject.attrs[i].ad_key, "CN") == 0;
    }
    return dc && cn;
}

/*
 * Which CA most likely issued @c, from what can be seen. Intune PKCS, Intune SCEP through NDES
 * and manual requests all use AD CS *offline* templates, which carry the template extension
 * too: the extension alone does not mean "online template".
 */
static void likely_issuer(struct rctx *x, const struct sm_cert *c)
{
    struct sm_remediation *r = &x->v->remediation;
    const char *tmpl = c->tmpl.name ? c->tmpl.name : c->tmpl.oid;

    if (c->sid.uri.status != SM_SID_ABSENT) {
        r->likely_issuer = "intune_scep";
        r->likely_issuer_why = "The certificate carries a SID SAN URI, which Intune SCEP profiles "
                               "write; other CAs can write it too.";
    } else if (!c->has_template) {
        r->likely_issuer = "other_ca";
        r->likely_issuer_why = "No AD CS template extension: most likely a CA outside AD CS.";
    } else if (subject_from_ad(c)) {
        r->likely_issuer = "adcs_online";
        r->likely_issuer_why = arena_printf(
            x->a,
            "An AD CS template (%s) and a subject built from Active Directory (DC= path): an "
            "online template. Such a CA adds the SID extension unless the template sets "
            "CT_FLAG_NO_SECURITY_EXTENSION or the CA lacks the May 2022 update.",
            tmpl ? tmpl : "unnamed");
    } else {
        r->likely_issuer = "adcs_offline";
        bool intune = contains_ci(tmpl, "intune") || contains_ci(tmpl, "scep") ||
                      contains_ci(tmpl, "ndes") || contains_ci(tmpl, "pkcs");
        r->likely_issuer_why = arena_printf(
            x->a,
            "An AD CS template (%s) with a subject not built from Active Directory: an offline "
            "('supply in the request') template, as Intune PKCS, Intune SCEP through NDES and "
            "manual requests use. %s",
            tmpl ? tmpl : "unnamed",
            intune ? "The template's name suggests Intune or NDES."
                   : "Which of them cannot be told from the certificate.");
    }
    if (!r->likely_issuer_why)
        x->err = -ENOMEM;
}

static void reissue_texts(struct rctx *x, const struct sm_account *acc)
{
    struct sm_remediation *r = &x->v->remediation;
    r->reissue_adcs = "AD CS: issue from an online template (subject built from Active "
                      "Directory, not 'supply in the request'), without "
                      "CT_FLAG_NO_SECURITY_EXTENSION (0x80000); the CA then writes the SID "
                      "extension 1.3.6.1.4.1.311.25.2. Offline templates get no SID from the CA.";
    r->reissue_intune_pkcs =
        "Intune PKCS: on the Intune Certificate Connector (6.2406.0.1001 or later) set "
        "HKLM\\Software\\Microsoft\\MicrosoftIntune\\PFXCertificateConnector "
        "EnableSidSecurityExtension = 1 (DWORD), restart the connector, re-issue. Only users "
        "synced from Active Directory have a SID to add.";
    r->reissue_scep =
        "Intune SCEP: in the SCEP profile's subject alternative name add a URI attribute whose "
        "value is {{OnPremisesSecurityIdentifier}} alone (Intune writes "
        "tag:microsoft.com,2022-09-14:sid:<SID> itself; typing that prefix too would double it), "
        "re-issue. The variable resolves only for users synced from Active Directory and "
        "hybrid-joined devices: Entra-only devices have no on-premises SID and need an explicit "
        "mapping (altSecurityIdentities) instead. Windows Server 2019 and later DCs read the "
        "URI; 2016 and Samba do not.";
    if (!acc || !acc->has_sid || x->v->redacted) {
        r->reissue_other_ca = "Any other CA: add the non-critical extension "
                              "1.3.6.1.4.1.311.25.2 holding the account's SID, or the SAN URI "
                              "tag:microsoft.com,2022-09-14:sid:<SID> for Windows Server 2019+ "
                              "DCs only.";
        return;
    }
    char sid[SM_SID_TEXT_MAX];
    uint8_t der[256];
    long n = sm_sid_extension_der(&acc->sid, der, sizeof(der));
    sm_sid_format(&acc->sid, sid, sizeof(sid));
    if (n > 0) {
        struct su_buf b;
        arena_buf_init(&b, x->a);
        su_buf_base64(&b, der, (size_t)n);
        r->sid_extension_der_base64 = b.oom ? NULL : su_buf_str(&b);
    }
    r->sid_uri = arena_printf(x->a, "%s%s", SM_SID_URI_PREFIX, sid);
    r->reissue_other_ca = arena_printf(
        x->a,
        "Any other CA: add the non-critical extension %s with the DER value in "
        "sid_extension_der_base64 (the SID %s), or the SAN URI %s for Windows Server 2019+ "
        "DCs only.",
        SM_OID_SID_EXTENSION, sid, r->sid_uri);
    if (!r->sid_extension_der_base64 || !r->sid_uri || !r->reissue_other_ca)
        x->err = -ENOMEM;
}

static const char *issuer_blocked(const struct sm_verdict *v)
{
    if (any_reason(v, "issuer_signature_invalid"))
        return "The certificate was not signed by the CA it names (forged, or altered after "
               "signing): no mapping or account change makes a DC accept it. Use a certificate "
               "that CA really issued.";
    if (v->account || v->lookups > 0)
        return NULL;
    if (any_reason(v, "issuer_not_in_ntauth"))
        return "The issuing CA is not in NTAuth: only a certificate from a CA published there "
               "(certutil -dspublish -f ca.cer NTAuthCA) can be used for logon.";
    if (any_reason(v, "issuer_not_anchored"))
        return "The issuing CA is not among Samba's pkinit_anchors: only a certificate from a "
               "CA listed there can be used for logon.";
    if (any_reason(v, "issuer_not_verified"))
        return "The certificate's signature could not be checked with the key of a CA the DCs "
               "trust for logon, so it was not judged further.";
    return NULL;
}

static const char *blocked_by(const struct sm_verdict *v)
{
    if (!v->account)
        return "No account matches the certificate: create or name the account first.";
    if (any_reason(v, "account_disabled"))
        return "The account is disabled: no mapping or certificate helps until it is enabled.";
    if (any_reason(v, "issuer_not_in_ntauth"))
        return "The issuing CA is not in NTAuth: publish it (certutil -dspublish -f ca.cer "
               "NTAuthCA) before any mapping can work.";
    if (any_reason(v, "certificate_time_invalid"))
        return "The certificate is not valid at this time: re-issue it.";
    if (any_reason(v, "eku_not_logon") && !v->allow)
        return "The certificate's EKU does not allow logon: re-issue it with Client "
               "Authentication or Smart Card Logon.";
    return NULL;
}

int remediate(struct sm_verdict *v, struct arena *a)
{
    struct rctx x = { v, a, 0 };
    struct sm_remediation *r = &v->remediation;
    const struct sm_cert *c = v->cert;
    const struct sm_account *acc = v->account;
    bool all_strong = true;

    for (size_t i = 0; i < v->n_profiles; i++)
        if (!v->profiles[i].allow || v->profiles[i].mapping_strength != SM_STRENGTH_STRONG)
            all_strong = false;
    if (all_strong)
        return 0;
    /* a certificate its issuer did not sign, or one judged without its account (an upload
       whose signature no trusted CA's key verifies): no mapping or re-issue for it */
    if ((r->blocked_by = issuer_blocked(v))) {
        step(&x, "%s", r->blocked_by);
        return x.err;
    }

    const struct sm_mapping *isn = sm_cert_mapping(c, SM_MAP_ISSUER_SERIAL);
    const struct sm_mapping *ski = sm_cert_mapping(c, SM_MAP_SKI);
    const struct sm_mapping *sha = sm_cert_mapping(c, SM_MAP_SHA1_PUKEY);
    if (isn) {
        r->altsec_value = isn->value;
        r->altsec_value_samba = isn->samba && isn->samba_supported ? isn->samba : NULL;
    }
    size_t na = 0;
    if (ski)
        r->altsec_alternatives[na++] = ski->value;
    if (sha)
        r->altsec_alternatives[na++] = sha->value;
    likely_issuer(&x, c);
    reissue_texts(&x, acc);
    if (acc && r->altsec_value && !v->redacted) {
        const char *id = ps_quote(a, acc->sam ? acc->sam : acc->dn);
        const char *val = ps_quote(a, r->altsec_value);
        r->powershell =
            id && val ? arena_printf(a,
                                     "%s -Identity %s -Add "
                                     "@{altSecurityIdentities=%s}",
                                     acc->is_computer ? "Set-ADComputer" : "Set-ADUser", id, val)
                      : NULL;
        if (!r->powershell)
            return -ENOMEM;
    }

    if ((r->blocked_by = blocked_by(v))) {
        step(&x, "%s", r->blocked_by);
        return x.err;
    }
    if (v->sid_owner && v->redacted)
        step(&x, "The certificate's SID belongs to another account: it was issued for another "
                 "account. Re-issue it for the right account.");
    else if (v->sid_owner) {
        assert(acc); /* sid_owner() in verdict.c sets it only when there is an account */
        step(&x,
             "The certificate's SID belongs to %s, not to %s: it was issued for another "
             "account. Re-issue it for the right account.",
             v->sid_owner->dn, acc->dn);
    }
    const char *e60 = any_reason(v, "sid_malformed") ? profiles_with_error(&x, 60) : NULL;
    if (e60)
        step(&x,
             "The certificate's SID is malformed: without a strong altSecurityIdentities value "
             "for it, %s fail the logon with error 60. Re-issue it; the mapping below works "
             "around it meanwhile.",
             e60);
    if (r->altsec_value && v->redacted)
        step(&x,
             "Quickest: add the strong mapping %s to the account's altSecurityIdentities (one "
             "value per certificate; Microsoft recommends X509IssuerSerialNumber).",
             r->altsec_value);
    if (r->powershell)
        step(&x,
             "Quickest: add the strong mapping to %s: %s (one value per certificate; Microsoft "
             "recommends X509IssuerSerialNumber).",
             acc->dn, r->powershell);
    if (r->altsec_value_samba)
        step(&x, "For Samba DCs the value to store is %s.", r->altsec_value_samba);
    step(&x, "Lasting: re-issue certificates with the account's SID (likely issuer: %s). %s",
         r->likely_issuer, r->likely_issuer_why);
    return x.err;
}

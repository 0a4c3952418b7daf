/*
 * lib/verdict_windows.c - a Windows DC's decision (docs/mapping-rules.md, section 2): the account
 * (6, 18), the certificate (71, 77, NTAuth 62 with KB5057784's phases), then KB5014754's order:
 * strong explicit mapping, key trust, SID (60, 41/66), weak mapping by mode (39 / 40).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <strongmap/verdict.h>

#include "verdict_internal.h"

/* The KDC's message texts (System log, Microsoft-Windows-Kerberos-Key-Distribution-Center). */
#define FWLINK " See https://go.microsoft.com/fwlink/?linkid=2189925 to learn more."
#define NOT_MAPPED_SECURELY                                                                        \
    "The Key Distribution Center (KDC) encountered a user certificate that was valid but could "   \
    "not be mapped to a user in a secure way (such as via explicit mapping, key trust mapping, "   \
    "or a SID)."
#define EVENT_39_TEXT                                                                              \
    NOT_MAPPED_SECURELY " Such certificates should either be replaced or mapped directly to the "  \
                        "user via explicit mapping." FWLINK
#define EVENT_40_TEXT                                                                              \
    NOT_MAPPED_SECURELY " The certificate also predated the user it mapped to, so it was "         \
                        "rejected." FWLINK
#define EVENT_41_TEXT                                                                              \
    "The Key Distribution Center (KDC) encountered a user certificate that was valid but "         \
    "contained a different SID than the user to which it mapped. As a result, the request "        \
    "involving the certificate failed." FWLINK
#define EVENT_45_TEXT                                                                              \
    "The Key Distribution Center (KDC) encountered a client certificate that was valid but did "   \
    "not chain to a root in the NTAuth store."

/* ---- Windows ------------------------------------------------------------------------------------
 */

/* KB5057784's list of altSecurityIdentities types whose certificate must chain to NTAuth. */
static bool ntauth_subject(enum sm_map_type t)
{
    return t == SM_MAP_ISSUER_SERIAL || t == SM_MAP_SKI || t == SM_MAP_SHA1_PUKEY ||
           t == SM_MAP_ISSUER_SUBJECT || t == SM_MAP_ISSUER_SID;
}

struct matches {
    const struct sm_altsec *strong, *weak; /* first strong / weak explicit match */
    bool upn, dns;                         /* implicit mappings (weak) */
    bool key_trust;                        /* msDS-KeyCredentialLink holds the key (strong) */
};

static void windows_explicit(struct ctx *x, const struct profile_eval *pe,
                             struct sm_profile_outcome *o, struct matches *m)
{
    const struct sm_cert *c = x->cert;
    for (size_t i = 0; i < x->n_altsec; i++) {
        const struct sm_altsec *a = x->altsec[i];
        if (a->kind == SM_ALTSEC_NOT_X509)
            continue;
        /* the parsed values die with the request: paths keep a copy owned by the verdict */
        const char *value = x->redact ? NULL : arena_strdup(x->a, a->value);
        if (!value && !x->redact) {
            x->err = -ENOMEM;
            return;
        }
        if (a->kind == SM_ALTSEC_INVALID) {
            vx_path(o, "invalid_value", SM_STRENGTH_NONE, SM_PATH_UNSUPPORTED, value);
            continue;
        }
        const char *method = sm_map_type_name(a->type);
        if (a->type == SM_MAP_ISSUER_SID && !pe->issuer_sid) {
            vx_path(o, method, SM_STRENGTH_STRONG, SM_PATH_UNSUPPORTED, value);
            continue;
        }
        bool hit = sm_altsec_matches(a, c);
        vx_path(o, method, a->strong ? SM_STRENGTH_STRONG : SM_STRENGTH_WEAK,
                hit ? SM_PATH_MATCH : SM_PATH_NO_MATCH, value);
        if (hit && a->strong && !m->strong)
            m->strong = a;
        if (hit && !a->strong && !m->weak)
            m->weak = a;
    }
}

static void windows_implicit(struct ctx *x, const struct profile_eval *pe,
                             struct sm_profile_outcome *o, struct matches *m)
{
    const struct sm_account *acc = x->v->pub.account;
    if (x->upn && !pe->p.use_subject_alt_name) {
        vx_path(o, "upn_san", SM_STRENGTH_WEAK, SM_PATH_UNSUPPORTED,
                "UseSubjectAltName = 0: the DC ignores it");
    } else if (x->upn) {
        m->upn = x->upn_form == UPN_EXPLICIT || x->upn_form == UPN_IMPLICIT;
        vx_path(o, "upn_san", SM_STRENGTH_WEAK, m->upn ? SM_PATH_MATCH : SM_PATH_NO_MATCH,
                x->upn_form == UPN_IMPLICIT
                    ? vx_printf(x, "%s (the implicit UPN: sAMAccountName@domain)", x->upn)
                    : x->upn);
    }
    if (!x->dns || !acc->is_computer)
        return;
    if (!pe->p.use_subject_alt_name) {
        vx_path(o, "dns_san", SM_STRENGTH_WEAK, SM_PATH_UNSUPPORTED,
                "UseSubjectAltName = 0: the DC ignores it");
        return;
    }
    m->dns = x->dns_match;
    vx_path(o, "dns_san", SM_STRENGTH_WEAK, m->dns ? SM_PATH_MATCH : SM_PATH_NO_MATCH,
            vx_printf(x,
                      "%s (host label + \"$\" %s the sAMAccountName, the rest %s the "
                      "account's domain)",
                      x->dns, m->dns ? "is" : "is not or", m->dns ? "is" : "is not"));
}

static void profile_notes(struct ctx *x, const struct profile_eval *pe,
                          struct sm_profile_outcome *o)
{
    char day[16];
    if (pe->compat_whatif)
        OUT_REASON(x, o, "compatibility_whatif",
                   "What-if: compatibility mode (StrongCertificateBindingEnforcement = 1) runs "
                   "only on a DC without the 2025-09-09 update (evaluated as one updated on "
                   "%s). Every DC patched since then enforces strong mapping.",
                   profile_day(pe->p.update, day, sizeof(day)));
    if (pe->compat_ignored)
        OUT_REASON(x, o, "compatibility_ignored",
                   "StrongCertificateBindingEnforcement = 1 is ignored: a DC with the "
                   "2025-09-09 update or later always enforces strong mapping.");
    if (pe->ntauth_value_ignored)
        OUT_REASON(x, o, "ntauth_bypass_ignored",
                   "AllowNtAuthPolicyBypass as given is not read at this update level "
                   "(KB5057784); the DC runs phase %d.",
                   pe->p.ntauth_bypass);
    if (!pe->p.use_subject_alt_name)
        OUT_REASON(x, o, "use_subject_alt_name_off",
                   "UseSubjectAltName = 0: the DC uses neither the certificate's UPN nor its SID; "
                   "only altSecurityIdentities values map it.");
}

/* Event 21 names the user (its first sentence; the DC adds the chain status). */
static const char *event21(struct ctx *x, const struct sm_account *acc)
{
    return vx_printf(x,
                     "The client certificate for the user %s is not valid, and resulted in a "
                     "failed smartcard logon.",
                     x->redact  ? "(the account)"
                     : acc->sam ? acc->sam
                                : acc->dn);
}

void vx_evaluate_windows(struct ctx *x, const struct profile_eval *pe, struct sm_profile_outcome *o)
{
    const struct sm_cert *c = x->cert;
    const struct sm_account *acc = x->v->pub.account;
    const struct sm_profile *p = &pe->p;
    enum sm_resolution res = x->v->pub.resolution;
    struct matches m = { 0 };
    bool ntauth_audit = false;

    profile_notes(x, pe, o);
    /* the account the client names first (an unknown one is 6, a disabled one 18, whatever the
       certificate), then the certificate's validity, its purpose and its issuer, then the
       mapping (docs/mapping-rules.md) */
    if (!acc) {
        vx_deny(o, KDC_ERR_C_PRINCIPAL_UNKNOWN);
        OUT_REASON(x, o, "account_not_found", "The DC finds no account for this certificate.");
        return;
    }
    if (acc->has_uac && (acc->uac & SM_UAC_ACCOUNTDISABLE)) {
        vx_deny(o, KDC_ERR_CLIENT_REVOKED);
        OUT_REASON(x, o, "account_disabled", "The account %s is disabled.", vx_who(x, acc));
    }

    if (x->at < c->not_before_t || x->at > c->not_after_t) {
        vx_deny(o, KDC_ERR_INVALID_CERTIFICATE);
        OUT_REASON(x, o, "certificate_time_invalid",
                   "The certificate is not valid at the evaluation time (%s .. %s).", c->not_before,
                   c->not_after);
    }
    if (sm_findings_has(&c->findings, "eku_not_logon")) {
        vx_deny(o, KDC_ERR_INCONSISTENT_KEY_PURPOSE);
        OUT_REASON(x, o, "eku_not_logon",
                   "The certificate's EKU allows neither Client Authentication nor Smart Card "
                   "Logon (nor id-pkinit-KPClientAuth, anyExtendedKeyUsage).");
    }
    windows_explicit(x, pe, o, &m);
    windows_implicit(x, pe, o, &m);
    vx_key_trust_paths(x, o, false);
    m.key_trust = x->keytrust_windows;
    /* NTAuth: always for implicit and SID mappings; for explicit ones since KB5057784 */
    const struct sm_altsec *em = m.strong ? m.strong : m.weak;
    if ((x->ntauth == NTAUTH_ABSENT || x->ntauth == NTAUTH_FORGED) && m.key_trust) {
        vx_path(o, "ntauth", SM_STRENGTH_NONE, SM_PATH_NOT_CHECKED,
                "key trust: the KDC ignores certificate chain errors (MS-PKCA 3.1.5.2.1.4)");
    } else if (x->ntauth == NTAUTH_FORGED) {
        /* the chain does not verify: whatever the mapping, and before KB5057784 too */
        vx_deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
        vx_event(o, 21, "error", event21(x, acc));
        OUT_REASON(x, o, "issuer_signature_invalid",
                   "The certificate names %s as its issuer, a CA of the NTAuth store, but that "
                   "CA's key did not sign it: it is forged, or was altered after signing. The "
                   "DC cannot build a valid chain for it.",
                   c->issuer.rfc4514);
    } else if (x->ntauth == NTAUTH_ABSENT && em &&
               (ntauth_subject(em->type) || p->ntauth_bypass == 2)) {
        if (p->ntauth_bypass == 2) {
            vx_deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
            vx_event(o, 21, "error", event21(x, acc));
            OUT_REASON(x, o, "issuer_not_in_ntauth",
                       "The issuing CA (%s) is not in the forest's NTAuth store; since "
                       "KB5057784 a DC enforces this for altSecurityIdentities mappings too.",
                       c->issuer.rfc4514);
        } else if (p->ntauth_bypass == 1) {
            ntauth_audit = true; /* allowed, event 45 (audit) */
        } else {
            vx_path(o, "ntauth", SM_STRENGTH_NONE, SM_PATH_NOT_CHECKED,
                    "before KB5057784 an explicit mapping skips the NTAuth check");
        }
    } else if (x->ntauth == NTAUTH_ABSENT && !em) {
        vx_deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
        vx_event(o, 21, "error", event21(x, acc));
        vx_not_in_ntauth_reason(x, o);
    }
    bool mapped = m.strong || m.weak || m.upn || m.dns || m.key_trust;
    if (!mapped && res != SM_RESOLVED_NAMED) {
        /* found through something this DC does not use (X509IssuerSID before its update, the
           certificate's names with UseSubjectAltName = 0) */
        vx_deny(o, KDC_ERR_C_PRINCIPAL_UNKNOWN);
        OUT_REASON(x, o, "account_not_found", "This DC does not find %s from the certificate: %s.",
                   vx_who(x, acc),
                   !p->use_subject_alt_name ? "with UseSubjectAltName = 0 it ignores the "
                                              "certificate's names and no altSecurityIdentities "
                                              "value maps it"
                                            : "the only mapping is a type this DC does not "
                                              "support");
    }
    if (!mapped && res == SM_RESOLVED_NAMED) {
        vx_deny(o, KDC_ERR_CLIENT_NAME_MISMATCH);
        OUT_REASON(x, o, "name_mismatch",
                   "The certificate maps to %s neither implicitly (UPN or DNS name) nor through "
                   "an altSecurityIdentities value.",
                   vx_who(x, acc));
    }
    const struct sm_sid_carrier *sid;
    const char *sid_method = "sid";
    enum sid_state st = vx_read_sid(x, pe, o, &sid, &sid_method);
    if (!o->allow)
        return; /* denied before the mapping decision: no mapping event */
    if (ntauth_audit) {
        vx_event(o, 45, "warning", EVENT_45_TEXT);
        OUT_REASON(x, o, "ntauth_audit",
                   "The issuing CA (%s) is not in NTAuth. This DC only audits that for "
                   "altSecurityIdentities mappings (event 45); one with KB5057784 enforced, "
                   "the default since July 2025 and the only mode since October 2025, denies it.",
                   c->issuer.rfc4514);
    }

    /* 1. a strong explicit mapping: allow; the SID is not checked on this path */
    if (m.strong) {
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = sm_map_type_name(m.strong->type);
        if (st == SID_MISMATCH)
            OUT_REASON(x, o, "strong_mapping_sid_mismatch",
                       "Allowed through the strong mapping, although the certificate carries "
                       "another SID: the KDC checks the SID only when no strong explicit "
                       "mapping matched (MS-PKCA 3.1.5.2.1.6).");
        return;
    } /* key trust: the account holds the certificate's public key */
    if (m.key_trust) {
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = "key_trust";
        return;
    }
    /* 3. the SID in the certificate */
    if (st == SID_MALFORMED) {
        vx_deny(o, KRB_ERR_GENERIC);
        OUT_REASON(x, o, "sid_malformed",
                   "The certificate's SID (%s) is malformed: %s. The DC fails the request with "
                   "a generic error and logs no event.",
                   sid_method, sid->reason);
        return;
    }
    if (st == SID_MATCH) {
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = sid_method;
        return;
    }
    if (st == SID_MISMATCH) {
        vx_deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
        vx_event(o, 41, "error", EVENT_41_TEXT);
        vx_sid_mismatch_reason(x, o, sid, false);
        return;
    }
    /* 4. a weak mapping only */
    o->mapping_strength = SM_STRENGTH_WEAK;
    o->mapping_method = m.weak  ? sm_map_type_name(m.weak->type)
                        : m.upn ? "upn_san"
                        : m.dns ? "dns_san"
                                : "none";
    bool backdated_ok = !acc->has_created || c->not_before_t + p->backdating_s >= acc->created;
    if (p->mode >= 2) {
        vx_deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
        vx_event(o, 39, "error", EVENT_39_TEXT);
        OUT_REASON(x, o, "weak_mapping",
                   "The certificate maps only weakly (%s) and carries no SID the DC reads; full "
                   "enforcement denies it.",
                   o->mapping_method);
        return;
    }
    if (backdated_ok) {
        vx_event(o, 39, "warning", EVENT_39_TEXT);
        OUT_REASON(x, o, "weak_mapping_allowed",
                   "Compatibility mode allows the weak mapping (%s) because the account "
                   "predates the certificate; full enforcement would deny it.",
                   o->mapping_method);
        return;
    }
    vx_deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
    vx_event(o, 40, "error", EVENT_40_TEXT);
    OUT_REASON(x, o, "certificate_predates_account",
               "The certificate (issued %s) predates the account by more than the %ld s "
               "backdating compensation, so compatibility mode rejects the weak mapping.",
               c->not_before, p->backdating_s);
}

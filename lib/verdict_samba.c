/*
 * lib/verdict_samba.c - a Samba 4.24 DC's decision as its KDC answered real PKINIT logons
 * (docs/mapping-rules.md, section 3; tests/samba-kdc): account (6), disabled (18),
 * pkinit_anchors (62) or key trust, validity (31), the binding check (66), the UPN name check (75).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <strongmap/verdict.h>

#include "verdict_internal.h"

/* ---- Samba
 * ---------------------------------------------------------------------------------------- */

/*
 * Samba 4.24's name check: exactly one UPN SAN, and it names this account (explicitly or as
 * its implicit UPN).
 */
static bool samba_name_ok(struct ctx *x)
{
    return x->n_upn == 1 && (x->upn_form == UPN_EXPLICIT || x->upn_form == UPN_IMPLICIT);
}

void vx_evaluate_samba(struct ctx *x, const struct profile_eval *pe, struct sm_profile_outcome *o)
{
    const struct sm_cert *c = x->cert;
    const struct sm_account *acc = x->v->pub.account;
    const struct sm_profile *p = &pe->p;
    const struct sm_altsec *first_match = NULL;

    if (x->samba_anchored < 0)
        OUT_REASON(x, o, "pkinit_anchors",
                   "Samba does not use the NTAuth store: its KDC accepts certificates from the "
                   "CAs in pkinit_anchors (krb5.conf [kdc]). They were not given to strongmapd, "
                   "so it assumes the issuer is one of them.");
    if (!acc) {
        vx_deny(o, KDC_ERR_C_PRINCIPAL_UNKNOWN);
        OUT_REASON(x, o, "account_not_found", "The DC finds no account for this certificate.");
        return;
    }
    if (acc->has_uac && (acc->uac & SM_UAC_ACCOUNTDISABLE)) {
        vx_deny(o, KDC_ERR_CLIENT_REVOKED);
        OUT_REASON(x, o, "account_disabled", "The account %s is disabled.", vx_who(x, acc));
        return;
    }
    vx_key_trust_paths(x, o, true);
    if (x->samba_anchored == 0) {
        /* not validated by pkinit_anchors: only key trust lets it in, and then Samba checks no
           binding at all; its name check still applies */
        if (!x->keytrust_samba && x->samba_forged) {
            vx_deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
            OUT_REASON(x, o, "issuer_signature_invalid",
                       "The certificate names %s as its issuer, one of Samba's pkinit_anchors, "
                       "but that CA's key did not sign it: it is forged, or was altered after "
                       "signing.",
                       c->issuer.rfc4514);
        } else if (!x->keytrust_samba) {
            vx_deny(o, KDC_ERR_CLIENT_NOT_TRUSTED);
            OUT_REASON(x, o, "issuer_not_anchored",
                       "The issuing CA (%s) is not among Samba's pkinit_anchors, and no "
                       "msDS-KeyCredentialLink value of the account holds the certificate's key.",
                       c->issuer.rfc4514);
            return;
        }
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = "key_trust";
        OUT_REASON(x, o, "key_trust_unanchored",
                   "The issuing CA is not among Samba's pkinit_anchors, but the account's "
                   "msDS-KeyCredentialLink holds the certificate's key: Samba accepts it without "
                   "a binding check.");
    } else {
        if (x->at < c->not_before_t || x->at > c->not_after_t) {
            vx_deny(o, KRB_AP_ERR_BAD_INTEGRITY);
            OUT_REASON(x, o, "certificate_time_invalid",
                       "The certificate is not valid at the evaluation time (%s .. %s); Samba's "
                       "KDC answers KRB_AP_ERR_BAD_INTEGRITY (its certificate check fails).",
                       c->not_before, c->not_after);
            return;
        }
        if (x->keytrust_samba)
            OUT_REASON(x, o, "key_trust_not_used",
                       "The account's msDS-KeyCredentialLink holds the certificate's key, but "
                       "Samba looks at it only for certificates its pkinit_anchors do not "
                       "validate; this one they do.");
    }
    if (sm_findings_has(&c->findings, "eku_not_logon"))
        OUT_REASON(x, o, "eku_not_checked",
                   "Samba checks no client EKU, so the certificate's EKU does not stop it here; "
                   "a Windows DC denies it (KDC_ERR_INCONSISTENT_KEY_PURPOSE).");

    /* explicit mappings in attribute order: in full enforcement Samba considers strong values
       only and stops at the first that matches; in compatibility mode the first that matches
       decides, weak or strong */
    for (size_t i = 0; i < x->n_altsec; i++) {
        const struct sm_altsec *a = x->altsec[i];
        if (a->kind == SM_ALTSEC_NOT_X509)
            continue;
        const char *value = x->redact ? NULL : arena_strdup(x->a, a->value);
        if (!value && !x->redact) {
            x->err = -ENOMEM;
            return;
        }
        const char *method =
            a->kind == SM_ALTSEC_MAPPING ? sm_map_type_name(a->type) : "invalid_value";
        enum sm_strength strength = a->samba_strong ? SM_STRENGTH_STRONG : SM_STRENGTH_WEAK;
        if (first_match || (p->mode == 2 && !a->samba_strong)) {
            vx_path(o, method, strength, SM_PATH_NOT_CHECKED, value);
            continue;
        }
        bool hit = sm_altsec_matches_samba(a, c);
        vx_path(o, method, strength, hit ? SM_PATH_MATCH : SM_PATH_NO_MATCH, value);
        if (hit)
            first_match = a;
    }
    const struct sm_sid_carrier *sid;
    const char *sid_method = "sid_extension";
    enum sid_state st = vx_read_sid(x, pe, o, &sid, &sid_method);

    /* the binding check (skipped in "none", and for key trust without an anchor) */
    if (x->samba_anchored == 0) {
        /* key trust: decided above */
    } else if (p->mode == 0) {
        OUT_REASON(x, o, "binding_not_checked",
                   "strong certificate binding enforcement = none: Samba checks neither "
                   "mappings nor the SID.");
    } else if (first_match && first_match->samba_strong) {
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = sm_map_type_name(first_match->type);
        if (st == SID_MISMATCH)
            OUT_REASON(x, o, "strong_mapping_sid_mismatch",
                       "Allowed through the strong mapping, although the certificate carries "
                       "another SID: Samba checks the SID only when no strong mapping matched.");
    } else if (st == SID_MATCH) {
        o->mapping_strength = SM_STRENGTH_STRONG;
        o->mapping_method = "sid_extension";
    } else if (st == SID_MISMATCH) {
        vx_deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
        vx_sid_mismatch_reason(x, o, sid, true);
        return;
    } else {
        bool backdated_ok = !acc->has_created || c->not_before_t + p->backdating_s >= acc->created;
        if (p->mode == 1 && first_match && backdated_ok) {
            o->mapping_strength = SM_STRENGTH_WEAK;
            o->mapping_method = sm_map_type_name(first_match->type);
        } else {
            vx_deny(o, KDC_ERR_CERTIFICATE_MISMATCH);
            OUT_REASON(x, o, "weak_mapping",
                       p->mode == 2 ? "Samba in full enforcement needs a strong "
                                      "altSecurityIdentities mapping or the SID extension; it "
                                      "does not consider weak values."
                       : first_match
                           ? "Samba in compatibility mode stops at the first value that "
                             "matches; this one is weak, and the certificate was issued before "
                             "the account existed (beyond the backdating compensation)."
                           : "Samba in compatibility mode denies a certificate with neither an "
                             "explicit mapping nor a SID.");
            return;
        }
    }
    /* the name check: one UPN SAN naming this account */
    bool name_ok = samba_name_ok(x);
    vx_path(o, "upn_san", SM_STRENGTH_NONE,
            name_ok  ? SM_PATH_MATCH
            : x->upn ? SM_PATH_NO_MATCH
                     : SM_PATH_ABSENT,
            x->n_upn > 1 ? "more than one UPN SAN" : x->upn);
    if (!name_ok) {
        vx_deny(o, KDC_ERR_CLIENT_NAME_MISMATCH);
        OUT_REASON(x, o, "samba_upn_required",
                   "%s Samba's KDC needs exactly one UPN SAN, naming %s; altSecurityIdentities "
                   "and the SID do not replace it.",
                   x->n_upn > 1 ? "The certificate has more than one UPN SAN."
                   : x->upn     ? "The certificate's UPN SAN names another account."
                                : "The certificate has no UPN SAN.",
                   vx_who(x, acc));
        return;
    }
    if (!o->mapping_method) {
        o->mapping_strength = SM_STRENGTH_WEAK;
        o->mapping_method = "upn_san";
    }
}

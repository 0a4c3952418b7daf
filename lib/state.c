/*
 * lib/state.c - a verdict for people (strongmap/state.h): will work, at risk or will fail, the
 * deciding reason in plain words and what to do.
 *
 * The table below is the one place where a verdict's reason codes get words for people. Its
 * order is the order of precedence: when a denying profile gives several reasons, the first
 * of the table decides (the certificate's validity before its purpose, before the account,
 * before the mapping). Codes the table does not name do not decide (information such as
 * pkinit_anchors or eku_not_checked); a denial without any named code is "refused". A second
 * table gives an account's readiness (sm_account_status()) the same states and words, by its
 * first reason, for the self-service page's caller who proved who they are.
 */
#include <errno.h>
#include <string.h>

#include <strongmap/state.h>

#include "util.h"

struct plain {
    const char *code;
    bool account; /* about the account in the directory */
    const char *why;
    const char *steps[SM_STATE_MAX_STEPS];
};

#define STEP_RENEW                                                                                 \
    "Get a new certificate: re-enrol in Company Portal (or your organisation's enrolment page), "  \
    "or ask the helpdesk for one."
#define STEP_HELPDESK "Send the helpdesk text below to your IT helpdesk."
#define STEP_IT_CA                                                                                 \
    "Your IT department has to fix this for everyone whose certificate comes from this "           \
    "authority; send them the helpdesk text below."

static const struct plain plain[] = {
    { "certificate_time_invalid",
      false,
      "The certificate has expired, or is not valid yet.",
      { STEP_RENEW, STEP_HELPDESK } },
    { "eku_not_logon",
      false,
      "This certificate is not made for signing in: it is meant for something else.",
      { "Use the certificate your organisation issued for VPN or Wi-Fi sign-in, if you have "
        "one.",
        "Otherwise ask the helpdesk for a sign-in certificate; send them the helpdesk text "
        "below." } },
    { "issuer_not_in_ntauth",
      false,
      "Your organisation's domain does not trust the authority that issued this certificate "
      "for signing in.",
      { STEP_IT_CA } },
    { "issuer_not_anchored",
      false,
      "The domain controllers do not trust the authority that issued this certificate.",
      { STEP_IT_CA } },
    { "issuer_signature_invalid",
      false,
      "This certificate was not really issued by the authority it names: it is forged, or was "
      "changed after it was issued. No domain controller accepts it.",
      { "Use the certificate your organisation issued to you (in Company Portal, or on your "
        "smart card).",
        STEP_HELPDESK } },
    { "issuer_not_verified",
      false,
      "This page cannot confirm that the certificate comes from an authority your "
      "organisation's domain controllers trust for signing in, so it cannot check it further.",
      { STEP_HELPDESK } },
    { "sid_malformed",
      false,
      "The certificate carries an account identifier that the domain controllers cannot read.",
      { STEP_RENEW,
        "If a new certificate has the same problem, the authority that issues them writes the "
        "identifier wrongly: send the helpdesk text below to IT." } },
    { "account_not_found", true, NULL, { NULL } },
    { "upn_not_found", true, NULL, { NULL } },
    { "ambiguous_account", true, NULL, { NULL } },
    { "account_disabled", true, NULL, { NULL } },
    { "sid_mismatch", true, NULL, { NULL } },
    { "strong_mapping_sid_mismatch", true, NULL, { NULL } },
    { "name_mismatch", true, NULL, { NULL } },
    { "ambiguous_mapping", true, NULL, { NULL } },
    { "certificate_predates_account", true, NULL, { NULL } },
    { "dns_host_disagrees", true, NULL, { NULL } },
    { "dns_host_elsewhere", true, NULL, { NULL } },
    { "samba_upn_required",
      false,
      "The certificate does not name your account the way the domain controllers need: they "
      "look for exactly one sign-in name in it.",
      { STEP_RENEW, STEP_HELPDESK } },
    { "use_subject_alt_name_off",
      false,
      "Your organisation's domain controllers do not read the names inside certificates, and "
      "nothing else links this certificate to your account.",
      { "Ask IT to link this certificate to your account; send them the helpdesk text "
        "below." } },
    { "weak_mapping",
      false,
      "The certificate does not carry the account identifier that domain controllers now "
      "require, and nothing else links it firmly to your account.",
      { "Get a new certificate: re-enrol in Company Portal (or your organisation's enrolment "
        "page); new certificates carry the identifier.",
        "If that is not possible, ask IT to link this certificate to your account; send them "
        "the helpdesk text below." } },
};

/* The generic answer for a reason about the account, whatever it is. */
static const struct plain account_generic = {
    "account",
    true,
    "The domain controllers cannot match this certificate to an account that can sign in.",
    { "Check that this is your current certificate for VPN or Wi-Fi.", STEP_HELPDESK }
};

/* Account reasons in full, for a caller who proved who they are. */
static const struct plain account_own = {
    "account",
    true,
    "The domain controllers cannot match this certificate to your account, or your account "
    "cannot sign in.",
    { STEP_HELPDESK }
};

static const struct plain refused = {
    "refused", false, "The domain controllers would refuse this certificate.", { STEP_HELPDESK }
};

static const struct plain expiring = {
    "expiring",
    false,
    "The certificate works today, but it expires within 30 days.",
    { "Renew it before it expires: re-enrol in Company Portal (or your organisation's "
      "enrolment page), or ask the helpdesk.",
      NULL }
};

static const struct plain works = {
    "works",
    false,
    "The certificate will work with your organisation's domain controllers.",
    { NULL }
};

/* An account's readiness (sm_account_status()) by its first reason, for the account's holder. */
struct readiness_plain {
    const char *code;
    enum sm_state state;
    const char *why;
    const char *steps[SM_STATE_MAX_STEPS];
};

#define STEP_CHECK_CERT                                                                            \
    "Check the certificate your VPN or Wi-Fi uses: upload it below (or open this page with it)."
#define STEP_RENEW_ID                                                                              \
    "Get a new certificate: re-enrol in Company Portal (or your organisation's enrolment page); "  \
    "new certificates carry your account identifier."

static const struct readiness_plain readiness_plain[] = {
    { "strong_certificate",
      SM_STATE_WORKS,
      "Your account is ready for certificate sign-in: a certificate published for it is firmly "
      "linked to it.",
      { NULL } },
    { "strong_mapping",
      SM_STATE_WORKS,
      "Your account is ready for certificate sign-in: a certificate is firmly linked to it.",
      { STEP_CHECK_CERT } },
    { "key_trust",
      SM_STATE_WORKS,
      "Your account is ready for sign-in with Windows Hello for Business.",
      { NULL } },
    { "no_strong_path",
      SM_STATE_AT_RISK,
      "Nothing links a certificate firmly to your account yet: your certificate works only if "
      "it carries your account identifier.",
      { STEP_CHECK_CERT, STEP_RENEW_ID } },
    { "published_certificate_denied",
      SM_STATE_AT_RISK,
      "At least one certificate published for your account would be refused by the domain "
      "controllers.",
      { STEP_RENEW_ID, STEP_HELPDESK } },
    { "weak_only",
      SM_STATE_AT_RISK,
      "Your certificates are linked to your account only loosely: domain controllers that "
      "enforce the current rules refuse them.",
      { STEP_RENEW_ID, STEP_HELPDESK } },
};

/* An unknown name and a disabled account alike (no enumeration). */
static const struct readiness_plain no_account = {
    "account",
    SM_STATE_FAILS,
    "No account that can sign in with a certificate answers to this name.",
    { "Check the name.", STEP_HELPDESK }
};

/* Blocked or at risk for a reason the table has no words for. */
static const struct readiness_plain readiness_other = {
    "refused",
    SM_STATE_FAILS,
    "Your account cannot sign in with a certificate as it is.",
    { STEP_HELPDESK }
};

const char *sm_state_name(enum sm_state s)
{
    static const char *const names[] = { "will_work", "at_risk", "will_fail" };
    return (unsigned)s < ARRAY_SIZE(names) ? names[s] : "will_fail";
}

/* A fully patched current DC: no update level given (every update released), full
   enforcement, the certificate's names read. */
static bool current_dc(const struct sm_profile_outcome *o)
{
    return !o->profile_update_given && o->profile.mode == 2 && o->profile.use_subject_alt_name;
}

/* The entry of the table that decides the denial of @o, or NULL. */
static const struct plain *deciding(const struct sm_profile_outcome *o)
{
    for (size_t t = 0; t < ARRAY_SIZE(plain); t++)
        for (size_t i = 0; i < o->n_reasons; i++)
            if (o->reasons[i].code && strcmp(o->reasons[i].code, plain[t].code) == 0)
                return &plain[t];
    return NULL;
}

static void answer(struct sm_state_answer *r, enum sm_state state, const struct plain *p,
                   const struct plain *words)
{
    r->state = state;
    r->code = words->code;
    r->why = words->why;
    r->account_reason = p->account;
    r->n_steps = 0;
    for (size_t i = 0; i < SM_STATE_MAX_STEPS && words->steps[i]; i++)
        r->steps[r->n_steps++] = words->steps[i];
}

int sm_verdict_state(const struct sm_verdict *v, time_t at, bool generic,
                     struct sm_state_answer *ret)
{
    struct sm_state_answer r = { 0 };
    const struct sm_profile_outcome *fail = NULL, *risk = NULL;
    size_t n_deny = 0;
    bool any_current = false;

    if (!v || !v->profiles || v->n_profiles == 0)
        return -EINVAL;
    if (at == 0)
        at = time(NULL);
    r.expires = v->cert ? v->cert->not_after_t : 0;
    for (size_t i = 0; i < v->n_profiles; i++) {
        const struct sm_profile_outcome *o = &v->profiles[i];

        any_current |= current_dc(o);
        if (o->allow)
            continue;
        n_deny++;
        if (current_dc(o) && !fail)
            fail = o;
        if (!risk)
            risk = o;
    }
    if (!fail && !any_current && n_deny == v->n_profiles)
        fail = risk;
    if (fail || risk) {
        const struct sm_profile_outcome *o = fail ? fail : risk;
        const struct plain *p = deciding(o);

        if (!p)
            p = &refused;
        answer(&r, fail ? SM_STATE_FAILS : SM_STATE_AT_RISK, p,
               !p->account ? p
               : generic   ? &account_generic
                           : &account_own);
        if (!generic && p->account)
            r.code = p->code;
        r.decided_by = o;
    } else if (v->cert && (at < v->cert->not_before_t || at > v->cert->not_after_t)) {
        answer(&r, SM_STATE_FAILS, &plain[0], &plain[0]); /* the DC checks validity first */
    } else if (v->cert && v->cert->not_after_t - at < SM_STATE_EXPIRY_WARN_S) {
        answer(&r, SM_STATE_AT_RISK, &expiring, &expiring);
    } else {
        answer(&r, SM_STATE_WORKS, &works, &works);
    }
    *ret = r;
    return 0;
}

int sm_account_state(const struct sm_account_status *s, struct sm_state_answer *ret)
{
    const struct readiness_plain *p = &readiness_other;
    struct sm_state_answer r = { 0 };

    if (!s)
        return -EINVAL;
    if (!s->account || (s->account->has_uac && (s->account->uac & SM_UAC_ACCOUNTDISABLE))) {
        p = &no_account;
        r.account_reason = true;
    } else if (s->n_reasons && s->reasons[0].code) {
        for (size_t i = 0; i < ARRAY_SIZE(readiness_plain); i++)
            if (strcmp(s->reasons[0].code, readiness_plain[i].code) == 0)
                p = &readiness_plain[i];
    }
    r.state = p->state;
    r.code = p->code;
    r.why = p->why;
    for (size_t i = 0; i < SM_STATE_MAX_STEPS && p->steps[i]; i++)
        r.steps[r.n_steps++] = p->steps[i];
    *ret = r;
    return 0;
}

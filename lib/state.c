/*
 * lib/state.c - a verdict for people (strongmap/state.h): will work, at risk or will fail, the
 * deciding reason, and which sentences say why and what to do.
 *
 * The sentences themselves are not here: the engine names each by a stable id, and whoever
 * shows the answer words it in its language (the status page: web/messages/LANG.json, keys
 * why.ID and step.ID; docs/self-service.md). sm_state_text_id() lists every id an answer may
 * carry, so that a catalogue can be checked against them.
 *
 * The table below is the one place where a verdict's reason codes get their sentences. Its
 * order is the order of precedence: when a denying profile gives several reasons, the first
 * of the table decides (the certificate's validity before its purpose, before the account,
 * before the mapping). Codes the table does not name do not decide (information such as
 * pkinit_anchors or eku_not_checked); a denial without any named code is "refused". A second
 * table gives an account's readiness (sm_account_status()) the same states and sentences, by
 * its first reason, for the self-service page's caller who proved who they are.
 */
#include <errno.h>
#include <string.h>

#include <strongmap/state.h>

#include "util.h"

struct plain {
    const char *code;    /* the reason code it answers (or, for the answers of their own, the
                            answer's code) */
    bool account;        /* about the account in the directory */
    enum sm_state state; /* readiness only: the state it means */
    const char *why;     /* the id of the sentence of why (NULL: the account's, below) */
    const char *steps[SM_STATE_MAX_STEPS]; /* the ids of what to do, in order */
};

static const struct plain plain[] = {
    { "certificate_time_invalid", false, 0, "certificate_time_invalid", { "renew", "helpdesk" } },
    { "eku_not_logon",
      false,
      0,
      "eku_not_logon",
      { "use_logon_certificate", "ask_logon_certificate" } },
    { "issuer_not_in_ntauth", false, 0, "issuer_not_in_ntauth", { "it_ca" } },
    { "issuer_not_anchored", false, 0, "issuer_not_anchored", { "it_ca" } },
    { "issuer_signature_invalid",
      false,
      0,
      "issuer_signature_invalid",
      { "use_issued_certificate", "helpdesk" } },
    { "issuer_not_verified", false, 0, "issuer_not_verified", { "helpdesk" } },
    { "sid_malformed", false, 0, "sid_malformed", { "renew", "ca_writes_sid_wrongly" } },
    { "account_not_found", true, 0, NULL, { NULL } },
    { "upn_not_found", true, 0, NULL, { NULL } },
    { "ambiguous_account", true, 0, NULL, { NULL } },
    { "account_disabled", true, 0, NULL, { NULL } },
    { "sid_mismatch", true, 0, NULL, { NULL } },
    { "strong_mapping_sid_mismatch", true, 0, NULL, { NULL } },
    { "name_mismatch", true, 0, NULL, { NULL } },
    { "ambiguous_mapping", true, 0, NULL, { NULL } },
    { "certificate_predates_account", true, 0, NULL, { NULL } },
    { "dns_host_disagrees", true, 0, NULL, { NULL } },
    { "dns_host_elsewhere", true, 0, NULL, { NULL } },
    { "samba_upn_required", false, 0, "samba_upn_required", { "renew", "helpdesk" } },
    { "use_subject_alt_name_off", false, 0, "use_subject_alt_name_off", { "ask_link" } },
    { "weak_mapping", false, 0, "weak_mapping", { "renew_for_identifier", "ask_link_otherwise" } },
};

/* The generic answer for a reason about the account, whatever it is. */
static const struct plain account_generic = {
    "account", true, 0, "account", { "check_current_certificate", "helpdesk" }
};

/* Account reasons in full, for a caller who proved who they are. */
static const struct plain account_own = { "account", true, 0, "account_own", { "helpdesk" } };

static const struct plain refused = { "refused", false, 0, "refused", { "helpdesk" } };

static const struct plain expiring = {
    "expiring", false, 0, "expiring", { "renew_before_expiry" }
};

static const struct plain works = { "works", false, 0, "works", { NULL } };

/* An account's readiness (sm_account_status()) by its first reason, for the account's holder. */
static const struct plain readiness_plain[] = {
    { "strong_certificate", false, SM_STATE_WORKS, "readiness_strong_certificate", { NULL } },
    { "strong_mapping",
      false,
      SM_STATE_WORKS,
      "readiness_strong_mapping",
      { "check_certificate_here" } },
    { "key_trust", false, SM_STATE_WORKS, "readiness_key_trust", { NULL } },
    { "no_strong_path",
      false,
      SM_STATE_AT_RISK,
      "readiness_no_strong_path",
      { "check_certificate_here", "renew_for_account_identifier" } },
    { "published_certificate_denied",
      false,
      SM_STATE_AT_RISK,
      "readiness_published_certificate_denied",
      { "renew_for_account_identifier", "helpdesk" } },
    { "weak_only",
      false,
      SM_STATE_AT_RISK,
      "readiness_weak_only",
      { "renew_for_account_identifier", "helpdesk" } },
};

/* An unknown name and a disabled account alike (no enumeration). */
static const struct plain no_account = {
    "account", true, SM_STATE_FAILS, "readiness_no_account", { "check_name", "helpdesk" }
};

/* Blocked or at risk for a reason the table has no words for. */
static const struct plain readiness_other = {
    "refused", false, SM_STATE_FAILS, "readiness_refused", { "helpdesk" }
};

/* The answers of their own, after the tables, for sm_state_text_id(). */
static const struct plain *const own[] = { &account_generic, &account_own, &refused,
                                           &expiring,        &works,       &no_account,
                                           &readiness_other };

/* Entry @i of all the above, or NULL past the last. */
static const struct plain *entry(size_t i)
{
    if (i < ARRAY_SIZE(plain))
        return &plain[i];
    i -= ARRAY_SIZE(plain);
    if (i < ARRAY_SIZE(readiness_plain))
        return &readiness_plain[i];
    i -= ARRAY_SIZE(readiness_plain);
    return i < ARRAY_SIZE(own) ? own[i] : NULL;
}

const char *sm_state_text_id(enum sm_state_text kind, size_t i)
{
    const struct plain *p;
    size_t n = 0;

    for (size_t e = 0; (p = entry(e)); e++) {
        if (kind == SM_STATE_TEXT_WHY && p->why && n++ == i)
            return p->why;
        for (size_t k = 0; kind == SM_STATE_TEXT_STEP && k < SM_STATE_MAX_STEPS && p->steps[k]; k++)
            if (n++ == i)
                return p->steps[k];
    }
    return NULL;
}

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
    r->why_id = words->why;
    r->account_reason = p->account;
    r->n_steps = 0;
    for (size_t i = 0; i < SM_STATE_MAX_STEPS && words->steps[i]; i++)
        r->step_ids[r->n_steps++] = words->steps[i];
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
    const struct plain *p = &readiness_other;
    struct sm_state_answer r = { 0 };

    if (!s)
        return -EINVAL;
    if (!s->account || (s->account->has_uac && (s->account->uac & SM_UAC_ACCOUNTDISABLE))) {
        p = &no_account;
    } else if (s->n_reasons && s->reasons[0].code) {
        for (size_t i = 0; i < ARRAY_SIZE(readiness_plain); i++)
            if (strcmp(s->reasons[0].code, readiness_plain[i].code) == 0)
                p = &readiness_plain[i];
    }
    r.state = p->state;
    r.code = p->code;
    r.why_id = p->why;
    r.account_reason = p->account;
    for (size_t i = 0; i < SM_STATE_MAX_STEPS && p->steps[i]; i++)
        r.step_ids[r.n_steps++] = p->steps[i];
    *ret = r;
    return 0;
}

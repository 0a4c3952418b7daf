/*
 * strongmap/state.h - a verdict for people: will the certificate work, will it fail, or is it
 * at risk; why, in plain words; and what to do. Defined once, for the self-service status page
 * (docs/self-service.md) and the issuance plan alike.
 *
 *   will work  every profile of the verdict allows, and the certificate is valid for more than
 *              SM_STATE_EXPIRY_WARN_S from the evaluation time;
 *   will fail  a fully patched current DC denies: a profile evaluated with its update level
 *              left at "every update released" (none given) and full enforcement (mode 2),
 *              UseSubjectAltName on; or, when the verdict has no such profile, every profile
 *              denies; and a certificate outside its validity period;
 *   at risk    allowed today but denied on some profile of the verdict (an older or
 *              differently configured DC), or expiring within SM_STATE_EXPIRY_WARN_S.
 *
 * Why and what to do are said by sentences the engine names by stable ids and does not word:
 * whoever shows the answer has them in its language (the status page's message catalogues,
 * web/messages/LANG.json: keys "why.ID" and "step.ID"), in plain words without those of the
 * protocol (no attribute names, no event numbers: those are for the verdict's own document).
 */
#ifndef STRONGMAP_STATE_H
#define STRONGMAP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <strongmap/verdict.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A certificate expiring within this many seconds of the evaluation time is at risk. */
#define SM_STATE_EXPIRY_WARN_S (30L * 86400)
/** Steps an answer lists at most. */
#define SM_STATE_MAX_STEPS 3

enum sm_state {
    SM_STATE_WORKS = 0, /**< "will_work" */
    SM_STATE_AT_RISK,   /**< "at_risk" */
    SM_STATE_FAILS,     /**< "will_fail" */
};

/** "will_work", "at_risk", "will_fail". */
const char *sm_state_name(enum sm_state s);

/** The state of a verdict, with its reason and the ids of its sentences. Every string is
    static. */
struct sm_state_answer {
    enum sm_state state;
    /** the deciding reason: a verdict reason code ("weak_mapping"), "expiring", "works",
        "account" (with @generic: a reason about the account in the directory) or "refused"
        (a denial this table has no words for; the verdict's reasons say more) */
    const char *code;
    /** the id of the one sentence that says why ("weak_mapping", "account", "account_own",
        "readiness_no_strong_path"): not always the code, since one code may have several
        sentences (sm_state_text_id()) */
    const char *why_id;
    const char *step_ids[SM_STATE_MAX_STEPS]; /**< the ids of what to do, in order */
    size_t n_steps;
    /** the deciding reason is about the account (whether it exists, is enabled, what maps to
        it): with @generic its text is the generic one and @code "account" */
    bool account_reason;
    const struct sm_profile_outcome *decided_by; /**< the profile whose denial decided, or NULL */
    time_t expires;                              /**< the certificate's notAfter, 0: unknown */
};

/**
 * Classify @v as of @at (0: now) into *@ret. @generic: the caller proved nothing about the
 * account (an uploaded certificate): a reason that would tell about the directory (the account
 * unknown, disabled, its SID another's) gets one generic text, so that such answers cannot be
 * told apart. 0, or -EINVAL for a NULL @v or a verdict without profiles.
 */
int sm_verdict_state(const struct sm_verdict *v, time_t at, bool generic,
                     struct sm_state_answer *ret);

/**
 * An account's readiness (sm_account_status()) in the same words, for the account's holder
 * (who proved who they are): ready as will work, at risk, blocked as will fail, the why and the
 * steps of its first reason (strong_certificate, strong_mapping, key_trust, no_strong_path,
 * published_certificate_denied, weak_only; any other: code "refused"). An account that does not
 * exist and a disabled one get one answer, code "account" with @account_reason, so that the
 * two cannot be told apart. 0, or -EINVAL for a NULL @s.
 */
int sm_account_state(const struct sm_account_status *s, struct sm_state_answer *ret);

/** The kinds of sentence an answer names. */
enum sm_state_text {
    SM_STATE_TEXT_WHY = 0, /**< why_id */
    SM_STATE_TEXT_STEP,    /**< step_ids */
};

/**
 * The @i-th id of kind @kind that sm_verdict_state() and sm_account_state() may answer with
 * (an id may come more than once), or NULL past the last: for whoever words them to check
 * that it has words for every one.
 */
const char *sm_state_text_id(enum sm_state_text kind, size_t i);

#ifdef __cplusplus
}
#endif

#endif

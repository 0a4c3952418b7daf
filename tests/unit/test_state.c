/*
 * tests/unit/test_state.c - sm_verdict_state(): the three states of strongmap/state.h, the
 * reason that decides, and the generic answer for account reasons; sm_account_state(): an
 * account's readiness in the same words, an unknown and a disabled account alike. The verdicts are
 * built by hand, one profile outcome per DC, as sm_verdict_evaluate() fills them; the API and
 * browser tiers classify real verdicts against the demo directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>

#include <strongmap/state.h>

#define AT  1780272000L /* 2026-06-01T00:00:00Z */
#define DAY 86400L

static struct sm_cert cert;
static struct sm_profile_outcome outs[3];
static struct sm_verdict v;

/* A verdict of @n profiles, all current full-enforcement DCs that allow, for a certificate
   valid from a year before AT to a year after. */
static void setup_verdict(size_t n)
{
    memset(&cert, 0, sizeof(cert));
    memset(outs, 0, sizeof(outs));
    memset(&v, 0, sizeof(v));
    cert.not_before_t = AT - 365 * DAY;
    cert.not_after_t = AT + 365 * DAY;
    for (size_t i = 0; i < n; i++) {
        outs[i].profile.kind = SM_PROFILE_WINDOWS_2022;
        outs[i].profile.mode = 2;
        outs[i].profile.use_subject_alt_name = true;
        outs[i].allow = true;
    }
    v.profiles = outs;
    v.n_profiles = n;
    v.cert = &cert;
    v.allow = true;
}

static void deny(size_t i, const char *code1, const char *code2)
{
    outs[i].allow = false;
    outs[i].reasons[0] = (struct sm_reason){ code1, "engine text" };
    outs[i].n_reasons = 1;
    if (code2)
        outs[i].reasons[outs[i].n_reasons++] = (struct sm_reason){ code2, "engine text" };
    v.allow = false;
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(sm_state_name(SM_STATE_WORKS), "will_work");
    assert_string_equal(sm_state_name(SM_STATE_AT_RISK), "at_risk");
    assert_string_equal(sm_state_name(SM_STATE_FAILS), "will_fail");
}

static void test_works(void **state)
{
    struct sm_state_answer a;
    (void)state;
    setup_verdict(2);
    assert_int_equal(sm_verdict_state(&v, AT, true, &a), 0);
    assert_int_equal(a.state, SM_STATE_WORKS);
    assert_string_equal(a.code, "works");
    assert_int_equal(a.n_steps, 0);
    assert_int_equal(a.expires, AT + 365 * DAY);
    assert_null(a.decided_by);
}

static void test_weak_fails_on_current_dc(void **state)
{
    struct sm_state_answer a;
    (void)state;
    setup_verdict(1);
    /* the informational code first: the table's order decides, not the verdict's */
    deny(0, "pkinit_anchors", "weak_mapping");
    assert_int_equal(sm_verdict_state(&v, AT, true, &a), 0);
    assert_int_equal(a.state, SM_STATE_FAILS);
    assert_string_equal(a.code, "weak_mapping");
    assert_string_equal(a.why_id, "weak_mapping");
    assert_true(a.n_steps >= 1);
    assert_ptr_equal(a.decided_by, &outs[0]);
}

static void test_denied_on_older_dc_is_at_risk(void **state)
{
    struct sm_state_answer a;
    (void)state;
    setup_verdict(2);
    outs[1].profile.kind = SM_PROFILE_WINDOWS_2016;
    outs[1].profile_update_given = true; /* a DC that is not fully patched */
    deny(1, "weak_mapping", NULL);
    assert_int_equal(sm_verdict_state(&v, AT, true, &a), 0);
    assert_int_equal(a.state, SM_STATE_AT_RISK);
    assert_string_equal(a.code, "weak_mapping");
    assert_ptr_equal(a.decided_by, &outs[1]);
}

static void test_every_profile_denies_without_a_current_one(void **state)
{
    struct sm_state_answer a;
    (void)state;
    setup_verdict(1);
    outs[0].profile.mode = 1; /* the compatibility what-if only */
    deny(0, "eku_not_logon", NULL);
    assert_int_equal(sm_verdict_state(&v, AT, true, &a), 0);
    assert_int_equal(a.state, SM_STATE_FAILS);
    assert_string_equal(a.code, "eku_not_logon");
}

static void test_expiring(void **state)
{
    struct sm_state_answer a;
    (void)state;
    setup_verdict(1);
    cert.not_after_t = AT + 29 * DAY;
    assert_int_equal(sm_verdict_state(&v, AT, true, &a), 0);
    assert_int_equal(a.state, SM_STATE_AT_RISK);
    assert_string_equal(a.code, "expiring");
    cert.not_after_t = AT + 31 * DAY;
    assert_int_equal(sm_verdict_state(&v, AT, true, &a), 0);
    assert_int_equal(a.state, SM_STATE_WORKS);
}

static void test_account_reasons_generic(void **state)
{
    struct sm_state_answer a, b;
    (void)state;
    setup_verdict(1);
    deny(0, "account_disabled", NULL);
    assert_int_equal(sm_verdict_state(&v, AT, true, &a), 0);
    setup_verdict(1);
    deny(0, "account_not_found", NULL);
    assert_int_equal(sm_verdict_state(&v, AT, true, &b), 0);
    /* an uploaded certificate: a disabled and an unknown account answer alike */
    assert_int_equal(a.state, SM_STATE_FAILS);
    assert_string_equal(a.code, "account");
    assert_string_equal(b.code, "account");
    assert_string_equal(a.why_id, b.why_id);
    assert_string_equal(a.why_id, "account");
    assert_true(a.account_reason);
    /* the caller proved who they are: the code stays */
    assert_int_equal(sm_verdict_state(&v, AT, false, &b), 0);
    assert_string_equal(b.code, "account_not_found");
}

static void test_unnamed_denial_and_bad_input(void **state)
{
    struct sm_state_answer a;
    (void)state;
    setup_verdict(1);
    deny(0, "pkinit_anchors", NULL);
    assert_int_equal(sm_verdict_state(&v, AT, true, &a), 0);
    assert_int_equal(a.state, SM_STATE_FAILS);
    assert_string_equal(a.code, "refused");
    assert_int_equal(sm_verdict_state(NULL, AT, true, &a), -EINVAL);
    v.n_profiles = 0;
    assert_int_equal(sm_verdict_state(&v, AT, true, &a), -EINVAL);
}

/* sm_account_state(): an account's readiness in the same words, by its first reason. */
static void test_account_state(void **state)
{
    struct sm_account acc = { .dn = "cn=alice", .has_uac = true, .uac = 0x200 };
    struct sm_account_status s = { .account = &acc, .n_reasons = 1 };
    struct sm_state_answer a, unknown, off;
    static const struct {
        const char *code;
        enum sm_state state;
    } cases[] = {
        { "strong_certificate", SM_STATE_WORKS },
        { "strong_mapping", SM_STATE_WORKS },
        { "key_trust", SM_STATE_WORKS },
        { "no_strong_path", SM_STATE_AT_RISK },
        { "published_certificate_denied", SM_STATE_AT_RISK },
        { "weak_only", SM_STATE_AT_RISK },
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        s.reasons[0] = (struct sm_reason){ cases[i].code, "technical words" };
        assert_int_equal(sm_account_state(&s, &a), 0);
        assert_int_equal(a.state, cases[i].state);
        assert_string_equal(a.code, cases[i].code);
        assert_non_null(a.why_id);
        assert_false(a.account_reason);
    }
    s.reasons[0] = (struct sm_reason){ "something_new", "?" };
    assert_int_equal(sm_account_state(&s, &a), 0);
    assert_int_equal(a.state, SM_STATE_FAILS);
    assert_string_equal(a.code, "refused");
    /* unknown and disabled: one answer */
    s.account = NULL;
    s.reasons[0] = (struct sm_reason){ "account_not_found", "No account answers to \"x\"." };
    assert_int_equal(sm_account_state(&s, &unknown), 0);
    s.account = &acc;
    acc.uac = 0x202;
    s.reasons[0] = (struct sm_reason){ "account_disabled", "The account is disabled." };
    assert_int_equal(sm_account_state(&s, &off), 0);
    assert_int_equal(unknown.state, SM_STATE_FAILS);
    assert_string_equal(unknown.code, "account");
    assert_true(unknown.account_reason);
    assert_int_equal(off.state, unknown.state);
    assert_ptr_equal(off.code, unknown.code);
    assert_ptr_equal(off.why_id, unknown.why_id);
    assert_int_equal(off.n_steps, unknown.n_steps);
    assert_int_equal(sm_account_state(NULL, &a), -EINVAL);
}

/* Is @id among sm_state_text_id()'s of @kind? */
static bool listed(enum sm_state_text kind, const char *id)
{
    const char *t;

    for (size_t i = 0; (t = sm_state_text_id(kind, i)); i++)
        if (strcmp(t, id) == 0)
            return true;
    return false;
}

static void assert_listed(const struct sm_state_answer *a)
{
    assert_non_null(a->why_id);
    assert_true(listed(SM_STATE_TEXT_WHY, a->why_id));
    for (size_t i = 0; i < a->n_steps; i++)
        assert_true(listed(SM_STATE_TEXT_STEP, a->step_ids[i]));
}

/* sm_state_text_id() lists every sentence an answer may name: those of each reason code, of
   the answers of their own, and of each readiness. */
static void test_text_ids(void **state)
{
    static const char *const codes[] = {
        "certificate_time_invalid",
        "eku_not_logon",
        "issuer_not_in_ntauth",
        "issuer_not_anchored",
        "issuer_signature_invalid",
        "issuer_not_verified",
        "sid_malformed",
        "account_disabled",
        "samba_upn_required",
        "use_subject_alt_name_off",
        "weak_mapping",
        "pkinit_anchors",
    };
    static const char *const readiness[] = {
        "strong_certificate",           "strong_mapping", "key_trust",    "no_strong_path",
        "published_certificate_denied", "weak_only",      "something_new"
    };
    struct sm_account acc = { .dn = "cn=alice", .has_uac = true, .uac = 0x200 };
    struct sm_account_status s = { .account = &acc, .n_reasons = 1 };
    struct sm_state_answer a;
    size_t n = 0;
    (void)state;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        for (int generic = 0; generic < 2; generic++) {
            setup_verdict(1);
            deny(0, codes[i], NULL);
            assert_int_equal(sm_verdict_state(&v, AT, generic, &a), 0);
            assert_listed(&a);
        }
    setup_verdict(1);
    assert_int_equal(sm_verdict_state(&v, AT, true, &a), 0); /* works */
    assert_listed(&a);
    cert.not_after_t = AT + DAY; /* expiring */
    assert_int_equal(sm_verdict_state(&v, AT, true, &a), 0);
    assert_listed(&a);
    for (size_t i = 0; i < sizeof(readiness) / sizeof(readiness[0]); i++) {
        s.reasons[0] = (struct sm_reason){ readiness[i], "?" };
        assert_int_equal(sm_account_state(&s, &a), 0);
        assert_listed(&a);
    }
    s.account = NULL;
    assert_int_equal(sm_account_state(&s, &a), 0);
    assert_listed(&a);
    while (sm_state_text_id(SM_STATE_TEXT_WHY, n))
        n++;
    assert_true(n >= 20);
    assert_null(sm_state_text_id(SM_STATE_TEXT_WHY, n + 1000));
    assert_non_null(sm_state_text_id(SM_STATE_TEXT_STEP, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_works),
        cmocka_unit_test(test_weak_fails_on_current_dc),
        cmocka_unit_test(test_denied_on_older_dc_is_at_risk),
        cmocka_unit_test(test_every_profile_denies_without_a_current_one),
        cmocka_unit_test(test_expiring),
        cmocka_unit_test(test_account_reasons_generic),
        cmocka_unit_test(test_unnamed_denial_and_bad_input),
        cmocka_unit_test(test_account_state),
        cmocka_unit_test(test_text_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

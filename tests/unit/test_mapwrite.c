/*
 * tests/unit/test_mapwrite.c - mapping write-back's plan (lib/mapwrite.c): the value computed
 * from a certificate, the safety checks (duplicate, foreign SID, ambiguous name, lint), the
 * idempotent no-ops, the exact value a removal names, and the documents, against a small LDIF
 * directory written here (the LDAP modify itself runs against slapd: tests/directory).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <strongmap/strongmap.h>

/* sid_ext.pem's SID (alice, RID 1105) is AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA== */
static const char ldif_text[] = "dn: dc=example,dc=com\n"
                                "objectClass: domain\n"
                                "dc: example\n"
                                "\n"
                                "dn: cn=alice,cn=Users,dc=example,dc=com\n"
                                "objectClass: user\n"
                                "sAMAccountName: alice\n"
                                "objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUQQAAA==\n"
                                "altSecurityIdentities: X509:<SKI>0011\n"
                                "\n"
                                "dn: cn=bob,cn=Users,dc=example,dc=com\n"
                                "objectClass: user\n"
                                "sAMAccountName: bob\n"
                                "objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUgQAAA==\n"
                                "altSecurityIdentities: Kerberos:bob@EXAMPLE.COM\n"
                                "altSecurityIdentities: X509:<RFC822>bob@example.com\n"
                                "\n"
                                "dn: cn=carol,cn=Users,dc=example,dc=com\n"
                                "objectClass: user\n"
                                "sAMAccountName: carol\n"
                                "objectSid:: AQUAAAAAAAUVAAAA3PTcO4M9K0aCi6YoUwQAAA==\n"
                                "altSecurityIdentities: @UPN_ONLY_SERIAL@\n"
                                "\n"
                                "dn: cn=twin1,cn=Users,dc=example,dc=com\n"
                                "objectClass: user\n"
                                "sAMAccountName: twin\n"
                                "\n"
                                "dn: cn=twin2,cn=Users,dc=example,dc=com\n"
                                "objectClass: user\n"
                                "sAMAccountName: twin\n";

static char ldif_path[] = "/tmp/sm-test-mapwrite-XXXXXX";
static struct sm_dir *dir;
static struct sm_certs *upn_only, *sid_ext, *no_ski, *both_sids;

static struct sm_certs *load_cert(const char *name)
{
    const char *base = getenv("SM_TEST_DATA");
    char path[1024], *buf;
    struct sm_certs *c = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    long n;

    snprintf(path, sizeof(path), "%s/certs/%s", base ? base : "tests/data", name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    assert_int_equal(sm_certs_parse(buf, (size_t)n, NULL, &c, &e), 0);
    free(buf);
    return c;
}

static int setup(void **state)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    const struct sm_mapping *m;
    const char *at;
    int fd;
    FILE *f;

    (void)state;
    upn_only = load_cert("upn_only.pem");
    sid_ext = load_cert("sid_ext.pem");
    no_ski = load_cert("no_ski.pem");
    both_sids = load_cert("sid_both_conflict.pem"); /* extension 1105, SAN URL 1106 */
    /* carol holds upn_only.pem's X509IssuerSerialNumber value, in lower case */
    m = sm_cert_mapping(&upn_only->certs[0], SM_MAP_ISSUER_SERIAL);
    assert_non_null(m);
    fd = mkstemp(ldif_path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    at = strstr(ldif_text, "@UPN_ONLY_SERIAL@");
    fprintf(f, "%.*s", (int)(at - ldif_text), ldif_text);
    for (const char *p = m->value; *p; p++)
        fputc(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p, f);
    fputs(at + strlen("@UPN_ONLY_SERIAL@"), f);
    fclose(f);
    assert_int_equal(sm_dir_open_ldif(ldif_path, &dir, &e), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sm_dir_close(dir);
    unlink(ldif_path);
    sm_certs_free(upn_only);
    sm_certs_free(sid_ext);
    sm_certs_free(no_ski);
    sm_certs_free(both_sids);
    return 0;
}

static struct sm_mapwrite *plan(enum sm_mapwrite_op op, const char *account,
                                const struct sm_certs *c, enum sm_map_type type, const char *value,
                                bool allow, int want)
{
    struct sm_mapwrite_request req = {
        .op = op,
        .account = account,
        .cert = c ? &c->certs[0] : NULL,
        .type = type,
        .value = value,
        .allow_foreign_sid = allow,
    };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_mapwrite *m = NULL;
    int r = sm_mapwrite_plan(dir, &req, &m, &e);

    if (r != want)
        fail_msg("plan %s %s: %d (%s), expected %d", sm_mapwrite_op_name(op), account, r, e.text,
                 want);
    if (want < 0) {
        assert_null(m);
        assert_true(e.text[0] != '\0');
    }
    return m;
}

static void test_type_names(void **state)
{
    enum sm_map_type t;

    (void)state;
    assert_int_equal(sm_mapwrite_type_parse("X509SKI", &t), 0);
    assert_int_equal(t, SM_MAP_SKI);
    assert_int_equal(sm_mapwrite_type_parse("x509issuerserialnumber", &t), 0);
    assert_int_equal(t, SM_MAP_ISSUER_SERIAL);
    assert_int_equal(sm_mapwrite_type_parse("X509IssuerSID", &t), 0);
    assert_int_equal(t, SM_MAP_ISSUER_SID);
    assert_int_equal(sm_mapwrite_type_parse("X509SHA1PublicKey", &t), 0);
    assert_int_equal(t, SM_MAP_SHA1_PUKEY);
    /* weak types are never written */
    assert_int_equal(sm_mapwrite_type_parse("X509IssuerSubject", &t), -EINVAL);
    assert_int_equal(sm_mapwrite_type_parse("X509RFC822", &t), -EINVAL);
    assert_int_equal(sm_mapwrite_type_parse("", &t), -EINVAL);
    assert_int_equal(sm_mapwrite_type_parse(NULL, &t), -EINVAL);
}

static void test_add_computes_the_strong_value(void **state)
{
    struct sm_mapwrite *m;
    const struct sm_mapping *want;

    (void)state;
    m = plan(SM_MAPWRITE_ADD, "alice", sid_ext, SM_MAP_ISSUER_SERIAL, NULL, false, 0);
    want = sm_cert_mapping(&sid_ext->certs[0], SM_MAP_ISSUER_SERIAL);
    assert_int_equal(m->outcome, SM_MAPWRITE_WOULD_ADD);
    assert_string_equal(m->value, want->value);
    assert_string_equal(m->account->dn, "cn=alice,cn=Users,dc=example,dc=com");
    assert_int_equal(m->n_old, 1);
    assert_string_equal(m->old_values[0], "X509:<SKI>0011");
    assert_string_equal(m->cert_sid, "S-1-5-21-1004336348-1177238915-682003330-1105");
    assert_false(m->foreign_sid_allowed);
    for (size_t i = 0; i < m->findings.n; i++)
        assert_int_not_equal(m->findings.v[i].severity, SM_SEV_ERROR);
    sm_mapwrite_free(m);

    m = plan(SM_MAPWRITE_ADD, "alice", sid_ext, SM_MAP_SKI, NULL, false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_WOULD_ADD);
    assert_string_equal(m->value, sm_cert_mapping(&sid_ext->certs[0], SM_MAP_SKI)->value);
    sm_mapwrite_free(m);

    m = plan(SM_MAPWRITE_ADD, "alice", sid_ext, SM_MAP_SHA1_PUKEY, NULL, false, 0);
    assert_true(strncmp(m->value, "X509:<SHA1-PUKEY>", 17) == 0);
    sm_mapwrite_free(m);

    m = plan(SM_MAPWRITE_ADD, "alice", sid_ext, SM_MAP_ISSUER_SID, NULL, false, 0);
    assert_non_null(strstr(m->value, "<SID>S-1-5-21-1004336348-1177238915-682003330-1105"));
    assert_true(sm_findings_has(&m->findings, "samba_does_not_match"));
    sm_mapwrite_free(m);
}

static void test_bad_input(void **state)
{
    (void)state;
    /* no SKI extension: no X509SKI value */
    plan(SM_MAPWRITE_ADD, "alice", no_ski, SM_MAP_SKI, NULL, false, -EINVAL);
    /* a certificate without a SID has no X509IssuerSID value */
    plan(SM_MAPWRITE_ADD, "alice", upn_only, SM_MAP_ISSUER_SID, NULL, false, -EINVAL);
    /* weak types are refused */
    plan(SM_MAPWRITE_ADD, "alice", upn_only, SM_MAP_ISSUER_SUBJECT, NULL, false, -EINVAL);
    /* an add takes a certificate, not a value */
    plan(SM_MAPWRITE_ADD, "alice", NULL, SM_MAP_ISSUER_SERIAL, NULL, false, -EINVAL);
    plan(SM_MAPWRITE_ADD, "alice", upn_only, SM_MAP_ISSUER_SERIAL, "X509:<SKI>00", false, -EINVAL);
    /* a removal needs one of them; a value must be UTF-8 */
    plan(SM_MAPWRITE_REMOVE, "alice", NULL, SM_MAP_ISSUER_SERIAL, NULL, false, -EINVAL);
    plan(SM_MAPWRITE_REMOVE, "alice", NULL, SM_MAP_ISSUER_SERIAL, "X509:<SKI>\xff", false, -EINVAL);
    plan(SM_MAPWRITE_REMOVE, "alice", NULL, SM_MAP_ISSUER_SERIAL, "", false, -EINVAL);
    /* no such account */
    plan(SM_MAPWRITE_ADD, "nobody", upn_only, SM_MAP_ISSUER_SERIAL, NULL, false, -ENOENT);
    plan(SM_MAPWRITE_ADD, "", upn_only, SM_MAP_ISSUER_SERIAL, NULL, false, -EINVAL);
}

static void test_duplicate_and_present(void **state)
{
    struct sm_mapwrite *m;

    (void)state;
    /* carol holds the value (in lower case: the attribute's matching ignores case) */
    m = plan(SM_MAPWRITE_ADD, "bob", upn_only, SM_MAP_ISSUER_SERIAL, NULL, false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_REFUSED);
    assert_string_equal(m->refusal.code, "duplicate");
    assert_int_equal(m->refusal.n_holders, 1);
    assert_string_equal(m->refusal.holders[0], "cn=carol,cn=Users,dc=example,dc=com");
    sm_mapwrite_free(m);
    /* for carol herself it is present: a no-op */
    m = plan(SM_MAPWRITE_ADD, "carol", upn_only, SM_MAP_ISSUER_SERIAL, NULL, false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_PRESENT);
    sm_mapwrite_free(m);
    /* another form of the same certificate for bob: carol's issuer and serial map it strongly
       already, which the plan says (before, only the value being added was searched, and
       nothing was said) */
    m = plan(SM_MAPWRITE_ADD, "bob", upn_only, SM_MAP_SHA1_PUKEY, NULL, false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_WOULD_ADD);
    assert_true(sm_findings_has(&m->findings, "mapped_elsewhere"));
    sm_mapwrite_free(m);
    /* for carol herself nothing is said */
    m = plan(SM_MAPWRITE_ADD, "carol", upn_only, SM_MAP_SHA1_PUKEY, NULL, false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_WOULD_ADD);
    assert_false(sm_findings_has(&m->findings, "mapped_elsewhere"));
    sm_mapwrite_free(m);
}

static void test_foreign_sid(void **state)
{
    struct sm_mapwrite *m;

    (void)state;
    /* sid_ext.pem carries alice's SID */
    m = plan(SM_MAPWRITE_ADD, "bob", sid_ext, SM_MAP_SKI, NULL, false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_REFUSED);
    assert_string_equal(m->refusal.code, "foreign_sid");
    assert_int_equal(m->refusal.n_holders, 1);
    assert_string_equal(m->refusal.holders[0], "cn=alice,cn=Users,dc=example,dc=com");
    sm_mapwrite_free(m);
    m = plan(SM_MAPWRITE_ADD, "bob", sid_ext, SM_MAP_SKI, NULL, true, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_WOULD_ADD);
    assert_true(m->foreign_sid_allowed);
    assert_true(sm_findings_has(&m->findings, "foreign_sid_allowed"));
    sm_mapwrite_free(m);
    /* two SIDs that disagree: the extension's is alice's, the SAN URL's bob's. For alice the
       URL still ties the certificate to bob (before, only the extension's was looked at, and
       this was "would add") */
    m = plan(SM_MAPWRITE_ADD, "alice", both_sids, SM_MAP_ISSUER_SERIAL, NULL, false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_REFUSED);
    assert_string_equal(m->refusal.code, "foreign_sid");
    assert_string_equal(m->refusal.holders[0], "cn=bob,cn=Users,dc=example,dc=com");
    sm_mapwrite_free(m);
    /* a removal asks no such question */
    m = plan(SM_MAPWRITE_REMOVE, "bob", sid_ext, SM_MAP_SKI, NULL, false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_ABSENT);
    sm_mapwrite_free(m);
}

static void test_ambiguous(void **state)
{
    struct sm_mapwrite *m;

    (void)state;
    m = plan(SM_MAPWRITE_ADD, "twin", upn_only, SM_MAP_SKI, NULL, false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_REFUSED);
    assert_string_equal(m->refusal.code, "ambiguous");
    assert_int_equal(m->refusal.n_holders, 2);
    sm_mapwrite_free(m);
    m = plan(SM_MAPWRITE_ADD, "cn=twin2,cn=Users,dc=example,dc=com", upn_only, SM_MAP_SKI, NULL,
             false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_WOULD_ADD);
    sm_mapwrite_free(m);
}

static void test_remove_names_the_stored_value(void **state)
{
    struct sm_mapwrite *m;

    (void)state;
    m = plan(SM_MAPWRITE_REMOVE, "bob", NULL, 0, "KERBEROS:BOB@example.com", false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_WOULD_REMOVE);
    assert_string_equal(m->value, "Kerberos:bob@EXAMPLE.COM");
    assert_false(m->type_known); /* not a certificate mapping */
    assert_int_equal(m->n_old, 2);
    sm_mapwrite_free(m);
    m = plan(SM_MAPWRITE_REMOVE, "bob", NULL, 0, "X509:<RFC822>bob@example.com", false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_WOULD_REMOVE);
    assert_true(m->type_known);
    assert_int_equal(m->type, SM_MAP_RFC822); /* weak values may be removed */
    sm_mapwrite_free(m);
    m = plan(SM_MAPWRITE_REMOVE, "bob", NULL, 0, "X509:<RFC822>bob@example.org", false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_ABSENT);
    sm_mapwrite_free(m);
    /* computed from a certificate: carol's value */
    m = plan(SM_MAPWRITE_REMOVE, "carol", upn_only, SM_MAP_ISSUER_SERIAL, NULL, false, 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_WOULD_REMOVE);
    sm_mapwrite_free(m);
}

static void test_apply_on_ldif_is_refused(void **state)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_mapwrite *m;

    (void)state;
    m = plan(SM_MAPWRITE_ADD, "alice", sid_ext, SM_MAP_SKI, NULL, false, 0);
    assert_int_equal(sm_mapwrite_apply(dir, m, &e), -EOPNOTSUPP);
    assert_int_equal(m->outcome, SM_MAPWRITE_FAILED);
    assert_string_equal(m->after, "unchanged");
    assert_non_null(strstr(e.text, "read-only"));
    sm_mapwrite_free(m);
    /* nothing to change: nothing is sent, whatever the handle */
    m = plan(SM_MAPWRITE_ADD, "carol", upn_only, SM_MAP_ISSUER_SERIAL, NULL, false, 0);
    assert_int_equal(sm_mapwrite_apply(dir, m, &e), 0);
    assert_int_equal(m->outcome, SM_MAPWRITE_PRESENT);
    assert_false(m->applied);
    sm_mapwrite_free(m);
}

static void test_documents(void **state)
{
    struct sm_mapwrite_actor who = { .kind = "token", .name = "ops", .client = "192.0.2.7" };
    struct sm_mapwrite *m;
    char *json = NULL;

    (void)state;
    m = plan(SM_MAPWRITE_ADD, "bob", upn_only, SM_MAP_ISSUER_SERIAL, NULL, false, 0);
    assert_int_equal(sm_json_mapwrite(m, false, 0, &json), 0);
    assert_non_null(strstr(json, "\"outcome\":\"refused\""));
    assert_non_null(strstr(json, "\"code\":\"duplicate\""));
    assert_non_null(strstr(json, "\"holders\":[\"cn=carol,cn=Users,dc=example,dc=com\"]"));
    assert_non_null(strstr(json, "\"old_values\":[\"Kerberos:bob@EXAMPLE.COM\""));
    free(json);
    assert_int_equal(sm_json_mapwrite_audit(m, "result", "1-2-3", 1780272000, &who, &json), 0);
    assert_non_null(strstr(json, "{\"time\":\"2026-06-01T00:00:00Z\",\"phase\":\"result\","
                                 "\"id\":\"1-2-3\",\"actor\":{\"kind\":\"token\",\"name\":\"ops\","
                                 "\"client\":\"192.0.2.7\"},\"operation\":\"add\","
                                 "\"account\":\"cn=bob,cn=Users,dc=example,dc=com\""));
    assert_non_null(strstr(json, "\"refusal\":\"duplicate\""));
    assert_null(strchr(json, '\n'));
    free(json);
    sm_mapwrite_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_add_computes_the_strong_value),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_duplicate_and_present),
        cmocka_unit_test(test_foreign_sid),
        cmocka_unit_test(test_ambiguous),
        cmocka_unit_test(test_remove_names_the_stored_value),
        cmocka_unit_test(test_apply_on_ldif_is_refused),
        cmocka_unit_test(test_documents),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

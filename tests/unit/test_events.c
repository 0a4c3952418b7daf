/*
 * tests/unit/test_events.c - the KDC event reader and explainer (lib/events*.c): the fixtures
 * of tests/data/events/ in every form Windows exports (wevtutil XML, Get-WinEvent XML in UTF-8
 * and UTF-16, Event Viewer text, the message alone), hostile XML (DOCTYPE, entity expansion,
 * nesting, long values and attributes, truncation, too many events), and the explanation with
 * and without the test directory (tests/data/dir/test.ldif).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <strongmap/strongmap.h>

#define KDC "Microsoft-Windows-Kerberos-Key-Distribution-Center"

static char *slurp(const char *rel, size_t *len)
{
    char path[1024];
    const char *base = getenv("SM_TEST_DATA");
    snprintf(path, sizeof(path), "%s/%s", base ? base : "tests/data", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("%s: cannot open", path);
    char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static struct sm_kdc_events *parse_file(const char *rel)
{
    size_t len;
    char *buf = slurp(rel, &len);
    struct sm_kdc_events *ev = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_kdc_events_parse(buf, len, &ev, &e);
    free(buf);
    if (r != 0)
        fail_msg("%s: %d %s", rel, r, e.text);
    return ev;
}

/* Parse @s; return the code, the error text in @e. */
static int parse_str(const char *s, size_t len, struct sm_errinfo *e)
{
    struct sm_kdc_events *ev = NULL;
    int r = sm_kdc_events_parse(s, len, &ev, e);
    if (r == 0)
        assert_non_null(ev);
    sm_kdc_events_free(ev);
    return r;
}

static void assert_str(const char *got, const char *want)
{
    if (!got)
        fail_msg("NULL, expected \"%s\"", want);
    assert_string_equal(got, want);
}

/* ---- reading ---------------------------------------------------------------------------- */

static void test_wevtutil(void **state)
{
    (void)state;
    struct sm_kdc_events *ev = parse_file("events/wevtutil.xml");
    assert_int_equal(ev->format, SM_EVENTS_XML);
    assert_int_equal(ev->n, 8);
    assert_int_equal(ev->skipped, 2); /* a Service Control Manager event, KDC event 16 */

    const struct sm_kdc_event *e = &ev->v[0];
    assert_int_equal(e->id, 39);
    assert_str(e->level, "error");
    assert_str(e->time, "2026-03-02T08:14:07.5418230Z");
    assert_str(e->computer, "dc01.example.com");
    assert_str(e->user, "alice");
    assert_str(e->subject, "CN=alice@example.com");
    assert_str(e->issuer, "CN=Example Issuing CA, DC=example, DC=com");
    assert_str(e->serial, "1A2B3C4D5E6F0010");
    assert_str(e->thumbprint, "B54F7A4B0A03999FA13E932579F2E18B2DB4909C");
    assert_int_equal(e->line, 1);

    /* 40: the two times by position (their data names are not the manifest's known ones) */
    e = &ev->v[2];
    assert_int_equal(e->id, 40);
    assert_str(e->issued, "2025-01-01T00:00:00.000Z");
    assert_str(e->created, "2030-01-01T00:00:00.000Z");

    e = &ev->v[3];
    assert_int_equal(e->id, 41);
    assert_str(e->user_sid, "S-1-5-21-1004336348-1177238915-682003330-1300");
    assert_str(e->cert_sid, "S-1-5-21-1004336348-1177238915-682003330-1105");

    /* quotes, an entity, non-ASCII, every PowerShell quote in a user name */
    e = &ev->v[4];
    assert_int_equal(e->id, 45);
    assert_str(e->level, "warning");
    assert_str(e->user, "e'$(calc)'\u2018\u2019\u201a\u201b`;x");
    assert_str(e->subject,
               "CN=\"Doe, Jane\" + OU=Sales, O=\"M\u00fcller & S\u00f6hne \"\"GmbH\"\"\", "
               "L=Z\u00fcrich, C=DE");

    e = &ev->v[5];
    assert_int_equal(e->id, 21);
    assert_str(e->domain, "EXAMPLE");
    assert_str(e->user, "gina");
    assert_null(e->subject);
    assert_non_null(e->status);

    /* <Data> without names: the message table's order */
    e = &ev->v[6];
    assert_int_equal(e->id, 39);
    assert_str(e->user, "ws03$");
    assert_str(e->serial, "00 1A 2B 3C 4D 5E 6F 00 40");
    assert_str(e->issuer, "CN=Example Issuing CA, DC=example, DC=com");
    sm_kdc_events_free(ev);
}

static void assert_same_events(const struct sm_kdc_events *a, const struct sm_kdc_events *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->v[i].id, b->v[i].id);
        assert_str(b->v[i].user, a->v[i].user);
        assert_str(b->v[i].issuer, a->v[i].issuer);
        assert_str(b->v[i].serial, a->v[i].serial);
        assert_str(b->v[i].thumbprint, a->v[i].thumbprint);
    }
}

static void test_get_winevent_utf8_utf16(void **state)
{
    (void)state;
    struct sm_kdc_events *a = parse_file("events/get-winevent.xml");
    struct sm_kdc_events *b = parse_file("events/get-winevent-utf16.xml");
    assert_int_equal(a->n, 2);
    assert_str(a->v[0].issuer, "Example Issuing CA"); /* a bare name, as some DCs print it */
    assert_str(a->v[0].user, "alice@example.com");
    assert_int_equal(a->v[1].line, 27);
    assert_same_events(a, b);
    sm_kdc_events_free(a);
    sm_kdc_events_free(b);
}

static void test_eventviewer_text(void **state)
{
    (void)state;
    struct sm_kdc_events *ev = parse_file("events/eventviewer.txt");
    assert_int_equal(ev->format, SM_EVENTS_TEXT);
    assert_int_equal(ev->n, 2);
    assert_int_equal(ev->v[0].id, 39);
    assert_str(ev->v[0].user, "alice"); /* not the header's "User: N/A" */
    assert_str(ev->v[0].level, "error");
    assert_str(ev->v[0].time, "3/2/2026 8:14:07 AM");
    assert_str(ev->v[0].computer, "dc01.example.com");
    assert_str(ev->v[0].thumbprint, "B54F7A4B0A03999FA13E932579F2E18B2DB4909C");
    assert_int_equal(ev->v[1].id, 41);
    assert_str(ev->v[1].cert_sid, "S-1-5-21-1004336348-1177238915-682003330-1105");
    assert_int_equal(ev->v[1].line, 21);
    sm_kdc_events_free(ev);
}

static void test_messages_text(void **state)
{
    (void)state;
    struct sm_kdc_events *ev = parse_file("events/messages.txt");
    assert_int_equal(ev->n, 4);
    assert_int_equal(ev->v[0].id, 39);
    assert_str(ev->v[0].issuer, "CN=Example Issuing CA, DC=example, DC=com"); /* tab-separated */
    /* 40 flattened on one line, as web pages show the message */
    assert_int_equal(ev->v[1].id, 40);
    assert_str(ev->v[1].user, "carol");
    assert_str(ev->v[1].subject, "CN=carol, OU=Users, DC=example, DC=com");
    assert_str(ev->v[1].thumbprint, "0A1B2C3D4E5F60718293A4B5C6D7E8F901234567");
    assert_str(ev->v[1].issued, "1/1/2025 12:00:00 AM");
    assert_str(ev->v[1].created, "1/1/2030 12:00:00 AM");
    /* 21: the user from its sentence */
    assert_int_equal(ev->v[2].id, 21);
    assert_str(ev->v[2].domain, "EXAMPLE");
    assert_str(ev->v[2].user, "gina");
    assert_str(ev->v[2].status, "The revocation function was unable to check revocation "
                                "because the revocation server was offline.");
    assert_int_equal(ev->v[3].id, 45);
    assert_str(ev->v[3].user, "judy");
    sm_kdc_events_free(ev);
}

/* ---- hostile input ------------------------------------------------------------------------ */

#define EVENT_HEAD                                                                                 \
    "<Event><System><Provider Name='" KDC "'/><EventID>39</EventID></System><EventData>"
#define EVENT_TAIL "</EventData></Event>"

static void test_dtd_refused(void **state)
{
    (void)state;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    static const char laughs[] =
        "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [<!ENTITY lol \"lol\">"
        "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
        "<!ENTITY lol2 "
        "\"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">]>\n" EVENT_HEAD
        "<Data Name='AccountName'>&lol2;</Data>" EVENT_TAIL;
    assert_int_equal(parse_str(laughs, strlen(laughs), &e), SM_E_XML_DTD);
    assert_int_equal(e.offset, 22);
    static const char ext[] = "<!DOCTYPE x SYSTEM \"file:///etc/passwd\"><x/>";
    assert_int_equal(parse_str(ext, strlen(ext), &e), SM_E_XML_DTD);
    static const char entity[] = "<Event><!ENTITY a \"b\"></Event>";
    assert_int_equal(parse_str(entity, strlen(entity), &e), SM_E_XML_DTD);
    /* an undeclared entity is an error, not text */
    static const char undeclared[] = EVENT_HEAD "<Data>&xxe;</Data>" EVENT_TAIL;
    assert_int_equal(parse_str(undeclared, strlen(undeclared), &e), SM_E_XML);
    assert_non_null(strstr(e.text, "undefined entity"));
}

static void test_limits(void **state)
{
    (void)state;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    char *buf = malloc(SM_MAX_KDC_INPUT + 2);
    assert_non_null(buf);

    /* nesting: SM_MAX_KDC_DEPTH levels, our root included */
    size_t n = 0;
    for (int i = 0; i < SM_MAX_KDC_DEPTH; i++)
        n += (size_t)sprintf(buf + n, "<a>");
    for (int i = 0; i < SM_MAX_KDC_DEPTH; i++)
        n += (size_t)sprintf(buf + n, "</a>");
    assert_int_equal(parse_str(buf, n, &e), SM_E_XML);
    assert_non_null(strstr(e.text, "nested too deep"));
    n = 0;
    for (int i = 0; i < SM_MAX_KDC_DEPTH - 1; i++)
        n += (size_t)sprintf(buf + n, "<a>");
    for (int i = 0; i < SM_MAX_KDC_DEPTH - 1; i++)
        n += (size_t)sprintf(buf + n, "</a>");
    assert_int_equal(parse_str(buf, n, &e), 0);

    /* a value at the limit is kept, one byte more is refused */
    n = (size_t)sprintf(buf, EVENT_HEAD "<Data Name='Subject'>");
    memset(buf + n, 'x', SM_MAX_KDC_FIELD);
    n += SM_MAX_KDC_FIELD;
    n += (size_t)sprintf(buf + n, "</Data>" EVENT_TAIL);
    struct sm_kdc_events *ev = NULL;
    assert_int_equal(sm_kdc_events_parse(buf, n, &ev, &e), 0);
    assert_int_equal(strlen(ev->v[0].subject), SM_MAX_KDC_FIELD);
    sm_kdc_events_free(ev);
    n = (size_t)sprintf(buf, EVENT_HEAD "<Data Name='Subject'>");
    memset(buf + n, 'x', SM_MAX_KDC_FIELD + 1);
    n += SM_MAX_KDC_FIELD + 1;
    n += (size_t)sprintf(buf + n, "</Data>" EVENT_TAIL);
    assert_int_equal(parse_str(buf, n, &e), SM_E_TOO_BIG);

    /* a huge attribute, on an element whose attributes are not even kept */
    n = (size_t)sprintf(buf, "<Event><Correlation ActivityID='");
    memset(buf + n, 'A', 1000000);
    n += 1000000;
    n += (size_t)sprintf(buf + n, "'/></Event>");
    assert_int_equal(parse_str(buf, n, &e), SM_E_TOO_BIG);

    /* truncated: the place is the end of the input */
    n = (size_t)sprintf(buf, EVENT_HEAD "<Data Name='Subject'>CN=x</Da");
    assert_int_equal(parse_str(buf, n, &e), SM_E_XML);
    assert_int_equal(e.offset, (long)n);

    /* too many events, too large an input, nothing at all */
    n = 0;
    static const char one[] = EVENT_HEAD EVENT_TAIL;
    for (int i = 0; i <= SM_MAX_KDC_EVENTS; i++) {
        memcpy(buf + n, one, sizeof(one) - 1);
        n += sizeof(one) - 1;
    }
    assert_int_equal(parse_str(buf, n, &e), SM_E_TOO_MANY);
    assert_int_equal(parse_str(buf, n - (sizeof(one) - 1), &e), 0);
    memset(buf, ' ', SM_MAX_KDC_INPUT + 1);
    assert_int_equal(parse_str(buf, SM_MAX_KDC_INPUT + 1, &e), SM_E_TOO_BIG);
    assert_int_equal(parse_str(buf, 10, &e), SM_E_EMPTY);
    free(buf);
}

static void test_bad_encoding(void **state)
{
    (void)state;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    assert_int_equal(parse_str("User: \xc3\x28\n", 9, &e), SM_E_UTF8);
    assert_int_equal(parse_str("\xff\xfe<\x00x", 5, &e), SM_E_UTF8); /* odd UTF-16 */
    assert_int_equal(parse_str("\xff\xfe\x00\xd8<\x00", 6, &e), SM_E_UTF8);
    static const char bad_xml[] = EVENT_HEAD "<Data Name='Subject'>\xc3\x28</Data>" EVENT_TAIL;
    assert_int_equal(parse_str(bad_xml, strlen(bad_xml), &e), SM_E_XML);
    static const char nul[] = "User: a\0b\n";
    assert_int_equal(parse_str(nul, sizeof(nul) - 1, &e), SM_E_UTF8);
}

/* ---- explaining --------------------------------------------------------------------------- */

static struct sm_events_explanation *explain(struct sm_dir *dir, const struct sm_kdc_events *ev)
{
    struct sm_events_explanation *x = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int r = sm_events_explain(dir, ev, 0, &x, &e);
    if (r != 0)
        fail_msg("explain: %d %s", r, e.text);
    return x;
}

static const struct sm_event_explanation *explain_text(const char *text, struct sm_kdc_events **evp,
                                                       struct sm_events_explanation **xp,
                                                       struct sm_dir *dir)
{
    struct sm_errinfo e = SM_ERRINFO_INIT;
    if (sm_kdc_events_parse(text, strlen(text), evp, &e) != 0)
        fail_msg("%s", e.text);
    assert_int_equal((*evp)->n, 1);
    *xp = explain(dir, *evp);
    return &(*xp)->v[0];
}

static void test_rebuild_without_directory(void **state)
{
    (void)state;
    struct sm_kdc_events *ev;
    struct sm_events_explanation *x;
    /* quoted commas, a multi-valued RDN, blanks around "=", a serial with its high bit set */
    const struct sm_event_explanation *ex =
        explain_text("The Key Distribution Center (KDC) encountered a user certificate that was "
                     "valid but could not be mapped to a user in a secure way.\n"
                     "User: ws9$\n"
                     "Certificate Issuer: CN = Issuing CA 2 + OU=PKI, O=\"Fabrikam, Inc.\", "
                     "C=US\n"
                     "Certificate Serial Number: 8f1e2d\n"
                     "Certificate Thumbprint: b5 4f 7a 4b 0a 03 99 9f a1 3e 93 25 79 f2 e1 8b 2d "
                     "b4 90 9c\n",
                     &ev, &x, NULL);
    assert_str(ex->code, "weak_mapping");
    assert_int_equal(ex->lookup, SM_EXPLAIN_NO_DIRECTORY);
    assert_str(ex->issuer_ad, "C=US,O=\"Fabrikam, Inc.\",CN=Issuing CA 2 OU=PKI");
    assert_str(ex->serial_reversed, "2D1E8F00");
    assert_true(sm_findings_has(&ex->findings, "serial_sign_byte"));
    assert_str(ex->issuer_serial,
               "X509:<I>C=US,O=\"Fabrikam, Inc.\",CN=Issuing CA 2 OU=PKI<SR>2D1E8F00");
    assert_str(ex->sha1_pukey, "X509:<SHA1-PUKEY>B54F7A4B0A03999FA13E932579F2E18B2DB4909C");
    assert_str(ex->fix_value, ex->issuer_serial);
    assert_str(ex->fix_command,
               "Set-ADComputer -Identity 'ws9$' -Add @{altSecurityIdentities='X509:<I>C=US,"
               "O=\"Fabrikam, Inc.\",CN=Issuing CA 2 OU=PKI<SR>2D1E8F00'}");
    assert_false(ex->from_certificate);
    sm_events_explanation_free(x);
    sm_kdc_events_free(ev);

    /* a redundant leading 00 goes; an issuer known by name only leaves the thumbprint */
    ex = explain_text("The Key Distribution Center (KDC) encountered a user certificate that was "
                      "valid but could not be mapped to a user in a secure way.\n"
                      "User: o'brien\nCertificate Issuer: Example Issuing CA\n"
                      "Certificate Serial Number: 00127F\n"
                      "Certificate Thumbprint: B54F7A4B0A03999FA13E932579F2E18B2DB4909C\n",
                      &ev, &x, NULL);
    assert_str(ex->serial_reversed, "7F12");
    assert_null(ex->issuer_ad);
    assert_null(ex->issuer_serial);
    assert_true(sm_findings_has(&ex->findings, "issuer_name_only"));
    assert_str(ex->fix_value, "X509:<SHA1-PUKEY>B54F7A4B0A03999FA13E932579F2E18B2DB4909C");
    assert_str(ex->fix_command, "Set-ADUser -Identity 'o''brien' -Add "
                                "@{altSecurityIdentities='X509:<SHA1-PUKEY>"
                                "B54F7A4B0A03999FA13E932579F2E18B2DB4909C'}");
    assert_str(ex->ca_key, "Example Issuing CA");
    sm_events_explanation_free(x);
    sm_kdc_events_free(ev);
}

/* An event that names no user: a fix without a command, not a crash (found by fuzz_events) */
static void test_no_user(void **state)
{
    (void)state;
    struct sm_kdc_events *ev;
    struct sm_events_explanation *x;
    const struct sm_event_explanation *ex =
        explain_text("The Key Distribution Center (KDC) encountered a user certificate that was "
                     "valid but could not be mapped to a user in a secure way.\n"
                     "Certificate Issuer: CN=CA, DC=example, DC=com\n"
                     "Certificate Serial Number: 01\n",
                     &ev, &x, NULL);
    assert_str(ex->fix_value, "X509:<I>DC=com,DC=example,CN=CA<SR>01");
    assert_null(ex->fix_command);
    assert_null(strstr(ex->fix, "(null)"));
    assert_str(ex->account_key, "(no account named)");
    sm_events_explanation_free(x);
    sm_kdc_events_free(ev);
}

static void test_groups(void **state)
{
    (void)state;
    struct sm_kdc_events *ev = parse_file("events/wevtutil.xml");
    struct sm_events_explanation *x = explain(NULL, ev);
    assert_int_equal(x->n, 8);
    assert_null(x->directory);
    assert_int_equal(x->n_accounts, 8);
    assert_int_equal(x->n_cas, 3);
    assert_str(x->by_ca[0].key, "DC=com,DC=example,CN=Example Issuing CA");
    assert_int_equal(x->by_ca[0].n, 6);
    assert_str(x->by_ca[1].key, "C=US,O=\"Fabrikam, Inc.\",CN=Fabrikam Issuing CA 01");
    assert_int_equal(x->by_ca[1].events[0], 4);
    assert_str(x->by_ca[2].key, "(no issuer named)"); /* 21 names no certificate */
    assert_str(x->by_account[5].key, "EXAMPLE\\gina");
    char *json = NULL;
    assert_int_equal(sm_json_events(x, 0, &json), 0);
    assert_non_null(strstr(json, "\"by_ca\":[{\"issuer\":\"DC=com,DC=example,CN=Example Issuing "
                                 "CA\",\"events\":[0,1,2,3,6,7]}"));
    free(json);
    sm_events_explanation_free(x);
    sm_kdc_events_free(ev);
}

static struct sm_dir *open_test_ldif(void)
{
    char path[1024];
    const char *base = getenv("SM_TEST_DATA");
    struct sm_dir *d = NULL;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    snprintf(path, sizeof(path), "%s/dir/test.ldif", base ? base : "tests/data");
    if (sm_dir_open_ldif(path, &d, &e) != 0)
        fail_msg("%s: %s", path, e.text);
    return d;
}

static void test_with_directory(void **state)
{
    (void)state;
    struct sm_dir *dir = open_test_ldif();
    size_t len;
    char *der = slurp("certs/sid_ext.der", &len);
    struct sm_certs *certs = NULL;
    assert_int_equal(sm_certs_parse(der, len, NULL, &certs, NULL), 0);
    free(der);
    const struct sm_cert *c = &certs->certs[0];

    /* dave publishes sid_ext: the value comes from the certificate itself */
    char text[2048];
    snprintf(text, sizeof(text),
             "The Key Distribution Center (KDC) encountered a user certificate that was valid "
             "but could not be mapped to a user in a secure way.\nUser: dave\n"
             "Certificate Issuer: CN=Example Issuing CA, DC=example, DC=com\n"
             "Certificate Serial Number: %s\nCertificate Thumbprint: %s\n",
             c->serial, c->sha1);
    struct sm_kdc_events *ev;
    struct sm_events_explanation *x;
    const struct sm_event_explanation *ex = explain_text(text, &ev, &x, dir);
    assert_int_equal(ex->lookup, SM_EXPLAIN_FOUND);
    assert_str(ex->account->sam, "dave");
    assert_true(ex->from_certificate);
    assert_str(ex->issuer_serial, sm_cert_mapping(c, SM_MAP_ISSUER_SERIAL)->value);
    assert_false(sm_findings_has(&ex->findings, "rebuilt_differs"));
    assert_str(ex->fix_value, ex->issuer_serial);
    assert_true(sm_findings_has(&ex->findings, "account_disabled") == false);
    assert_str(x->directory, "ldif");
    sm_events_explanation_free(x);
    sm_kdc_events_free(ev);

    /* an issuer given by name only: the CA of that name in NTAuth completes it */
    snprintf(text, sizeof(text),
             "The Key Distribution Center (KDC) encountered a user certificate that was valid "
             "but could not be mapped to a user in a secure way.\nUser: alice@example.com\n"
             "Certificate Issuer: Example Issuing CA\nCertificate Serial Number: 1A2B3C4D5E6F0010\n"
             "Certificate Thumbprint: 0000000000000000000000000000000000000000\n");
    ex = explain_text(text, &ev, &x, dir);
    assert_int_equal(ex->lookup, SM_EXPLAIN_FOUND);
    assert_str(ex->account->sam, "alice");
    assert_true(sm_findings_has(&ex->findings, "issuer_from_ntauth"));
    assert_str(ex->issuer_serial,
               "X509:<I>DC=com,DC=example,CN=Example Issuing CA<SR>10006F5E4D3C2B1A");
    assert_true(x->ntauth_read);
    sm_events_explanation_free(x);
    sm_kdc_events_free(ev);

    /* 41: whose SID the certificate carries; nobody: not found; the same name looked up once */
    snprintf(text, sizeof(text),
             "The Key Distribution Center (KDC) encountered a user certificate that was valid but "
             "contained a different SID than the user to which it mapped.\nUser: bob\n"
             "Certificate SID: S-1-5-21-1004336348-1177238915-682003330-1105\n\n"
             "The Key Distribution Center (KDC) encountered a user certificate that was valid "
             "but could not be mapped to a user in a secure way.\nUser: nobody\n\n"
             "The Key Distribution Center (KDC) encountered a user certificate that was valid "
             "but could not be mapped to a user in a secure way.\nUser: NOBODY\n");
    struct sm_errinfo e = SM_ERRINFO_INIT;
    assert_int_equal(sm_kdc_events_parse(text, strlen(text), &ev, &e), 0);
    assert_int_equal(ev->n, 3);
    x = explain(dir, ev);
    assert_str(x->v[0].code, "sid_mismatch");
    assert_str(x->v[0].sid_owner, "CN=Alice Example,CN=Users,DC=example,DC=com");
    assert_null(x->v[0].fix_value);
    assert_true(sm_findings_has(&x->v[0].findings, "account_disabled")); /* bob */
    assert_int_equal(x->v[1].lookup, SM_EXPLAIN_NOT_FOUND);
    assert_int_equal(x->n_accounts, 2); /* nobody and NOBODY are one account key */
    sm_events_explanation_free(x);
    sm_kdc_events_free(ev);

    sm_certs_free(certs);
    sm_dir_close(dir);
}

int main(void)
{
    // clang-format off
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wevtutil),
        cmocka_unit_test(test_get_winevent_utf8_utf16),
        cmocka_unit_test(test_eventviewer_text),
        cmocka_unit_test(test_messages_text),
        cmocka_unit_test(test_dtd_refused),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_bad_encoding),
        cmocka_unit_test(test_rebuild_without_directory),
        cmocka_unit_test(test_no_user),
        cmocka_unit_test(test_groups),
        cmocka_unit_test(test_with_directory),
    };
    // clang-format on
    return cmocka_run_group_tests(tests, NULL, NULL);
}

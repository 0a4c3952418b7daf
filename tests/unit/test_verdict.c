/*
 * tests/unit/test_verdict.c - the rules of docs/mapping-rules.md 2 and 3, one table row per rule,
 * evaluated against a real directory (the LDIF backend over tests/data/dir/verdict.ldif.in,
 * whose certificate placeholders are filled from the fixtures at test time).
 */
#include <errno.h>
#include <pthread.h>
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
#include <strongmap/verdict.h>

#include "verdict_internal.h" /* ps_quote(), vx_issuer_signed() */

#define AT_2026         1780272000 /* 2026-06-01T00:00:00Z */
#define NOT_BEFORE_2025 1735689600
#define CAROL_CREATED   1893456000 /* 2030-01-01T00:00:00Z */

static char ldif_path[256];
static struct sm_dir *dir;

static char *slurp(const char *rel, size_t *len)
{
    const char *base = getenv("SM_TEST_DATA");
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", base ? base : "tests/data", rel);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* base64 of the first certificate's DER in a fixture */
static char *cert_b64(const char *fixture)
{
    size_t len;
    char *pem = slurp(fixture, &len);
    struct sm_certs *c;
    struct sm_errinfo e;
    assert_int_equal(sm_certs_parse(pem, len, NULL, &c, &e), 0);
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const uint8_t *p = c->certs[0].der;
    size_t n = c->certs[0].der_len;
    char *out = malloc(n / 3 * 4 + 8), *o = out;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v =
            (uint32_t)p[i] << 16 | (i + 1 < n ? p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
        *o++ = tbl[v >> 18];
        *o++ = tbl[(v >> 12) & 63];
        *o++ = i + 1 < n ? tbl[(v >> 6) & 63] : '=';
        *o++ = i + 2 < n ? tbl[v & 63] : '=';
    }
    *o = '\0';
    sm_certs_free(c);
    free(pem);
    return out;
}

static void replace(char **text, const char *key, const char *value)
{
    char *at = strstr(*text, key);
    assert_non_null(at);
    size_t n = strlen(*text) - strlen(key) + strlen(value) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)(at - *text), *text, value, at + strlen(key));
    free(*text);
    *text = out;
}

/* The test directory with @ntauth_pem as the NTAuth store's certificate, written to @path. */
static struct sm_dir *open_dir(const char *ntauth_pem, char *path, size_t pathsz)
{
    size_t len;
    char *ldif = slurp("dir/verdict.ldif.in", &len);
    char *ca = cert_b64(ntauth_pem), *up = cert_b64("certs/upn_only.pem");
    size_t n1, n2;
    char *k1 = slurp("verdict/whfb_keycred_bcrypt.txt", &n1);
    char *k2 = slurp("verdict/whfb_keycred_spki.txt", &n2);
    k1[strcspn(k1, "\n")] = '\0';
    k2[strcspn(k2, "\n")] = '\0';
    replace(&ldif, "@ISSUING_CA@", ca);
    replace(&ldif, "@USERCERT_UPN_ONLY@", up);
    replace(&ldif, "@KEYCRED_BCRYPT@", k1);
    replace(&ldif, "@KEYCRED_SPKI@", k2);
    free(ca);
    free(up);
    free(k1);
    free(k2);
    snprintf(path, pathsz, "/tmp/sm-verdict-%ld-%s.ldif", (long)getpid(),
             strchr(ntauth_pem, '/') + 1);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(ldif, f);
    fclose(f);
    free(ldif);
    struct sm_errinfo e = { 0 };
    struct sm_dir *d = NULL;
    if (sm_dir_open_ldif(path, &d, &e) != 0)
        fail_msg("ldif: %s", e.text);
    return d;
}

static int setup(void **state)
{
    (void)state;
    dir = open_dir("certs/issuing_ca.pem", ldif_path, sizeof(ldif_path));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sm_dir_close(dir);
    unlink(ldif_path);
    return 0;
}

struct row {
    const char *name;
    const char *cert;    /* fixture, or NULL: the account's published certificate */
    const char *account; /* NULL: resolved from the certificate */
    const char *profile;
    int mode;        /* 0: the profile's default */
    long backdating; /* -1: default */
    const char *outcome;
    int kdc;   /* 0: none */
    int event; /* 0: none */
    const char *event_level;
    const char *method; /* mapping method, NULL: no mapping reached */
    const char *strength;
    const char *reason; /* a reason code that must be present, or NULL */
    const char *resolved_by;
};

static const struct row rows[] = {
    /* step 3: the SID in the certificate */
    { "sid extension matches", "certs/sid_ext.pem", NULL, "windows-2022", 0, -1, "allow", 0, 0,
      NULL, "sid_extension", "strong", NULL, "upn_san" },
    { "sid extension, 2016", "certs/sid_ext.pem", NULL, "windows-2016", 0, -1, "allow", 0, 0, NULL,
      "sid_extension", "strong", NULL, "upn_san" },
    { "sid URI on 2019", "certs/sid_uri.pem", NULL, "windows-2019", 0, -1, "allow", 0, 0, NULL,
      "sid_san_uri", "strong", NULL, "upn_san" },
    { "sid URI ignored by 2016", "certs/sid_uri.pem", NULL, "windows-2016", 0, -1, "deny", 66, 39,
      "error", "upn_san", "weak", "weak_mapping", "upn_san" },
    { "sid URI ignored by samba", "certs/sid_uri.pem", NULL, "samba", 0, -1, "deny", 66, 0, NULL,
      NULL, NULL, "weak_mapping", "upn_san" },
    { "extension wins over conflicting URI", "certs/sid_both_conflict.pem", NULL, "windows-2022", 0,
      -1, "allow", 0, 0, NULL, "sid_extension", "strong", NULL, "upn_san" },
    { "malformed extension: error 60, no event", "certs/sid_bad_oid.pem", NULL, "windows-2022", 0,
      -1, "deny", 60, 0, NULL, NULL, NULL, "sid_malformed", "upn_san" },
    { "two SIDs in the extension", "certs/sid_two.pem", NULL, "windows-2019", 0, -1, "deny", 60, 0,
      NULL, NULL, NULL, "sid_malformed", "upn_san" },
    { "samba ignores a malformed extension", "certs/sid_bad_oid.pem", NULL, "samba", 0, -1, "deny",
      66, 0, NULL, NULL, NULL, "weak_mapping", "upn_san" },
    { "malformed URI on 2019", "certs/sid_uri_bad.pem", NULL, "windows-2019", 0, -1, "deny", 60, 0,
      NULL, NULL, NULL, "sid_malformed", "upn_san" },
    { "malformed URI ignored by 2016", "certs/sid_uri_bad.pem", NULL, "windows-2016", 0, -1, "deny",
      66, 39, "error", "upn_san", "weak", "weak_mapping", "upn_san" },
    { "non-canonical SID text: Windows compares binary", "certs/sid_noncanonical.pem", NULL,
      "windows-2022", 0, -1, "allow", 0, 0, NULL, "sid_extension", "strong", NULL, "upn_san" },
    { "non-canonical SID text: Samba compares text", "certs/sid_noncanonical.pem", NULL, "samba", 0,
      -1, "deny", 66, 0, NULL, NULL, NULL, "sid_mismatch", "upn_san" },
    { "SID of another account: event 41", "certs/sid_ext.pem", "mallory", "windows-2022", 0, -1,
      "deny", 66, 41, "error", NULL, NULL, "sid_mismatch", "named" },
    /* forged: the NTAuth CA's name and key identifier, another key's signature */
    { "forged, alice's SID: no valid chain, 62", "verdict/forged_alice_sid.pem", NULL,
      "windows-2022", 0, -1, "deny", 62, 21, "error", NULL, NULL, "issuer_signature_invalid",
      "upn_san" },
    { "forged with Ed25519, alice's SID: 62", "verdict/forged_alice_ed25519.pem", NULL,
      "windows-2022", 0, -1, "deny", 62, 21, "error", NULL, NULL, "issuer_signature_invalid",
      "upn_san" },
    { "forged, erin's strong serial mapping: 62", "verdict/forged_erin_serial.pem", NULL,
      "windows-2022", 0, -1, "deny", 62, 21, "error", NULL, NULL, "issuer_signature_invalid",
      "explicit_mapping" },
    { "forged: before KB5057784 too (the chain, not NTAuth)", "verdict/forged_erin_serial.pem",
      NULL, "windows-2022,update=2025-03-11", 0, -1, "deny", 62, 21, "error", NULL, NULL,
      "issuer_signature_invalid", "explicit_mapping" },
    /* step 4: weak mappings and the enforcement mode */
    { "no SID, mode 2: event 39 error", "certs/upn_only.pem", NULL, "windows-2022", 0, -1, "deny",
      66, 39, "error", "upn_san", "weak", "weak_mapping", "upn_san" },
    { "no SID, mode 1, account predates: allow + 39 warning", "certs/upn_only.pem", NULL,
      "windows-2022", 1, -1, "allow", 0, 39, "warning", "upn_san", "weak", "weak_mapping_allowed",
      "upn_san" },
    { "mode 1, account after the certificate: event 40", "certs/empty_subject.pem", NULL,
      "windows-2022", 1, -1, "deny", 66, 40, "error", "upn_san", "weak",
      "certificate_predates_account", "upn_san" },
    { "backdating boundary: equality allows", "certs/empty_subject.pem", NULL, "windows-2022", 1,
      CAROL_CREATED - NOT_BEFORE_2025, "allow", 0, 39, "warning", "upn_san", "weak", NULL,
      "upn_san" },
    { "backdating boundary: one second short denies", "certs/empty_subject.pem", NULL,
      "windows-2022", 1, CAROL_CREATED - NOT_BEFORE_2025 - 1, "deny", 66, 40, "error", "upn_san",
      "weak", NULL, "upn_san" },
    { "samba compatibility denies implicit-only", "certs/upn_only.pem", NULL, "samba", 1, -1,
      "deny", 66, 0, NULL, NULL, NULL, "weak_mapping", "upn_san" },
    { "samba none allows", "certs/upn_only.pem", NULL, "samba", 0 + 100, -1, "allow", 0, 0, NULL,
      "upn_san", "weak", NULL, "upn_san" },
    /* step 1: strong explicit mappings */
    { "strong explicit mapping, any case", "certs/upn_only.pem", "henry", "windows-2022", 0, -1,
      "allow", 0, 0, NULL, "X509IssuerSerialNumber", "strong", NULL, "named" },
    { "strong mapping wins over a mismatching SID", "certs/sid_ext.pem", "erin", "windows-2022", 0,
      -1, "allow", 0, 0, NULL, "X509IssuerSerialNumber", "strong", "strong_mapping_sid_mismatch",
      "named" },
    { "X509IssuerSID on 2022", "certs/sid_ext.pem", "frank", "windows-2022", 0, -1, "allow", 0, 0,
      NULL, "X509IssuerSID", "strong", NULL, "named" },
    /* 2019 builds no X509IssuerSID: the certificate does not map to frank at all */
    { "X509IssuerSID unsupported on 2019", "certs/sid_ext.pem", "frank", "windows-2019", 0, -1,
      "deny", 75, 0, NULL, NULL, NULL, "name_mismatch", "named" },
    { "resolved by explicit mapping", "certs/v1_cert.pem", NULL, "windows-2022", 0, -1, "allow", 0,
      0, NULL, "X509IssuerSerialNumber", "strong", NULL, "explicit_mapping" },
    { "computer by DNS name", "certs/computer_dns.pem", NULL, "windows-2022", 0, -1, "allow", 0, 0,
      NULL, "sid_extension", "strong", NULL, "dns_san" },
    /* checks outside KB5014754 */
    { "no such account", "certs/sid_ext.pem", "nobody-here", "windows-2022", 0, -1, "deny", 6, 0,
      NULL, NULL, NULL, "account_not_found", NULL },
    { "certificate maps neither way to the named account", "certs/sid_ext.pem", "gina",
      "windows-2022", 0, -1, "deny", 75, 0, NULL, NULL, NULL, "name_mismatch", "named" },
    { "disabled account", "certs/multivalue_rdn.pem", NULL, "windows-2022", 0, -1, "deny", 18, 0,
      NULL, NULL, NULL, "account_disabled", "upn_san" },
    { "expired", "certs/expired.pem", NULL, "windows-2022", 0, -1, "deny", 71, 0, NULL, NULL, NULL,
      "certificate_time_invalid", "upn_san" },
    { "not yet valid", "certs/not_yet_valid.pem", NULL, "windows-2022", 0, -1, "deny", 71, 0, NULL,
      NULL, NULL, "certificate_time_invalid", "upn_san" },
    { "EKU without logon", "certs/eku_server_only.pem", NULL, "windows-2022", 0, -1, "deny", 77, 0,
      NULL, NULL, NULL, "eku_not_logon", "upn_san" },
    { "issuer not in NTAuth: event 21", "certs/ed25519.pem", NULL, "windows-2022", 0, -1, "deny",
      62, 21, "error", NULL, NULL, "issuer_not_in_ntauth", "upn_san" },
    { "samba: a self-issued certificate is nobody's pkinit anchor", "certs/ed25519.pem", NULL,
      "samba", 0, -1, "deny", 62, 0, NULL, NULL, NULL, "issuer_not_anchored", "upn_san" },
    /* the account comes first: the KDC looks up the name the client gives before the certificate */
    { "unknown account before an expired certificate: 6", "certs/expired.pem", "nobody-here",
      "windows-2022", 0, -1, "deny", 6, 0, NULL, NULL, NULL, "account_not_found", NULL },
    { "disabled account before an expired certificate: 18", "certs/expired.pem", "bob",
      "windows-2022", 0, -1, "deny", 18, 0, NULL, NULL, NULL, "account_disabled", "named" },
    /* the implicit UPN: sAMAccountName@<the account's DNS domain> */
    { "implicit UPN, no SID: weak (39)", "verdict/implicit_upn.pem", NULL, "windows-2022", 0, -1,
      "deny", 66, 39, "error", "upn_san", "weak", "weak_mapping", "implicit_upn" },
    { "implicit UPN with the SID: strong", "verdict/implicit_upn_sid.pem", NULL, "windows-2022", 0,
      -1, "allow", 0, 0, NULL, "sid_extension", "strong", NULL, "implicit_upn" },
    { "named by the implicit UPN", "verdict/implicit_upn_sid.pem", "ivan@example.com",
      "windows-2022", 0, -1, "allow", 0, 0, NULL, "sid_extension", "strong", NULL, "named" },
    { "samba: the implicit UPN passes the name check", "verdict/implicit_upn_sid.pem", NULL,
      "samba", 0, -1, "allow", 0, 0, NULL, "sid_extension", "strong", NULL, "implicit_upn" },
    /* computers: host label + "$" = sAMAccountName, never dNSHostName (MS-PKCA 3.1.5.2.1.1) */
    { "Certifried: a copied dNSHostName maps nothing", "verdict/computer_dc01.pem", NULL,
      "windows-2022", 0, -1, "deny", 6, 0, NULL, NULL, NULL, "account_not_found", NULL },
    { "computer whose dNSHostName another account copies", "certs/computer_dns.pem", NULL,
      "windows-2022", 0, -1, "allow", 0, 0, NULL, "sid_extension", "strong", "dns_host_elsewhere",
      "dns_san" },
    { "dNSHostName disagrees with the host rule", "verdict/computer_two_dns.pem", NULL,
      "windows-2022", 0, -1, "deny", 66, 39, "error", "dns_san", "weak", "dns_host_disagrees",
      "dns_san" },
    { "only the first DNS name counts", "verdict/computer_two_dns.pem", NULL, "windows-2022", 0, -1,
      "deny", 66, 39, "error", "dns_san", "weak", "dns_san_ignored", "dns_san" },
    /* Samba 4.24 as a real KDC answered */
    { "samba: a strong mapping without a UPN SAN: 75", "certs/v1_cert.pem", NULL, "samba", 0, -1,
      "deny", 75, 0, NULL, "X509IssuerSerialNumber", "strong", "samba_upn_required",
      "explicit_mapping" },
    { "samba: another account's SID under the right UPN: 66", "verdict/alice_sid_other.pem", NULL,
      "samba", 0, -1, "deny", 66, 0, NULL, NULL, NULL, "sid_mismatch", "upn_san" },
    { "samba none: a wrong SID passes", "verdict/alice_sid_other.pem", NULL, "samba", 100, -1,
      "allow", 0, 0, NULL, "upn_san", "weak", "binding_not_checked", "upn_san" },
    { "samba: another account's certificate: 66 before 75", "certs/sid_ext.pem", "mallory", "samba",
      0, -1, "deny", 66, 0, NULL, NULL, NULL, "sid_mismatch", "named" },
    { "samba: expired: 31", "certs/expired.pem", NULL, "samba", 0, -1, "deny", 31, 0, NULL, NULL,
      NULL, "certificate_time_invalid", "upn_san" },
    { "samba: disabled before validity", "certs/expired.pem", "bob", "samba", 0, -1, "deny", 18, 0,
      NULL, NULL, NULL, "account_disabled", "named" },
    { "samba: no client EKU check", "certs/eku_server_only.pem", NULL, "samba", 0, -1, "allow", 0,
      0, NULL, "sid_extension", "strong", "eku_not_checked", "upn_san" },
    { "samba full: weak values are not considered", "certs/upn_only.pem", "judy", "samba", 0, -1,
      "deny", 75, 0, NULL, "X509IssuerSerialNumber", "strong", "samba_upn_required", "named" },
    { "samba compatibility: the first match decides (weak)", "certs/upn_only.pem", "judy", "samba",
      1, -1, "deny", 75, 0, NULL, "X509IssuerSubject", "weak", "samba_upn_required", "named" },
    { "windows takes the strong match after a weak one", "certs/upn_only.pem", "judy",
      "windows-2022", 0, -1, "allow", 0, 0, NULL, "X509IssuerSerialNumber", "strong", NULL,
      "named" },
    /* UseSubjectAltName = 0: neither the UPN nor the SID */
    { "UseSubjectAltName=0: the SID does not count", "certs/sid_ext.pem", NULL,
      "windows-2022,UseSubjectAltName=0", 0, -1, "deny", 6, 0, NULL, NULL, NULL,
      "use_subject_alt_name_off", "upn_san" },
    { "UseSubjectAltName=0, named: 75", "certs/sid_ext.pem", "alice",
      "windows-2022,UseSubjectAltName=0", 0, -1, "deny", 75, 0, NULL, NULL, NULL, "name_mismatch",
      "named" },
    { "UseSubjectAltName=0, strong explicit mapping", "certs/v1_cert.pem", NULL,
      "windows-2022,UseSubjectAltName=0", 0, -1, "allow", 0, 0, NULL, "X509IssuerSerialNumber",
      "strong", NULL, "explicit_mapping" },
    /* update levels */
    { "X509IssuerSID before the 2025-09-09 update", "certs/sid_ext.pem", "frank",
      "windows-2022,update=2025-08-12", 0, -1, "deny", 75, 0, NULL, NULL, NULL, "name_mismatch",
      "named" },
    { "mode 1 on a current DC is a what-if", "certs/upn_only.pem", NULL, "windows-2022", 1, -1,
      "allow", 0, 39, "warning", "upn_san", "weak", "compatibility_whatif", "upn_san" },
    { "mode 1 ignored from the 2025-09-09 update", "certs/upn_only.pem", NULL,
      "windows-2022,mode=1,update=2025-10-14", 0, -1, "deny", 66, 39, "error", "upn_san", "weak",
      "compatibility_ignored", "upn_san" },
    { "before February 2025 compatibility was the default", "certs/upn_only.pem", NULL,
      "windows-2019,update=2025-01-14", 0, -1, "allow", 0, 39, "warning", "upn_san", "weak",
      "compatibility_whatif", "upn_san" },
    /* key trust (Windows Hello for Business): msDS-KeyCredentialLink holds the key */
    { "key trust: strong, chain errors ignored", "verdict/whfb.pem", NULL, "windows-2022", 0, -1,
      "allow", 0, 0, NULL, "key_trust", "strong", NULL, "upn_san" },
    { "a self-signed certificate without key trust: 62", "verdict/whfb.pem", "alice",
      "windows-2022", 0, -1, "deny", 62, 21, "error", NULL, NULL, "issuer_not_in_ntauth", "named" },
    { "samba: key trust", "verdict/whfb.pem", NULL, "samba", 0, -1, "allow", 0, 0, NULL,
      "key_trust", "strong", NULL, "upn_san" },
    /* account only: the published certificate */
    { "published certificate", NULL, "henry", "windows-2022", 0, -1, "allow", 0, 0, NULL,
      "X509IssuerSerialNumber", "strong", NULL, "named" },
};

static const char *reason_codes(const struct sm_verdict *v, char *buf, size_t size)
{
    buf[0] = '\0';
    for (size_t i = 0; i < v->primary->n_reasons; i++) {
        strncat(buf, v->primary->reasons[i].code, size - strlen(buf) - 2);
        strncat(buf, " ", size - strlen(buf) - 1);
    }
    return buf;
}

static bool has_reason(const struct sm_verdict *v, const char *code)
{
    for (size_t i = 0; i < v->primary->n_reasons; i++)
        if (strcmp(v->primary->reasons[i].code, code) == 0)
            return true;
    for (size_t i = 0; i < v->n_reasons; i++)
        if (strcmp(v->reasons[i].code, code) == 0)
            return true;
    return false;
}

static void run_row(const struct row *r)
{
    struct sm_certs *certs = NULL;
    struct sm_errinfo e = { 0 };
    if (r->cert) {
        size_t len;
        char *pem = slurp(r->cert, &len);
        struct sm_parse_opts po = { .now = AT_2026 };
        assert_int_equal(sm_certs_parse(pem, len, &po, &certs, &e), 0);
        free(pem);
    }
    struct sm_profile p;
    if (sm_profile_parse(r->profile, &p, &e) != 0)
        fail_msg("%s: profile %s: %s", r->name, r->profile, e.text);
    if (r->mode == 100)
        p.mode = 0;
    else if (r->mode)
        p.mode = r->mode;
    if (r->backdating >= 0)
        p.backdating_s = r->backdating;
    struct sm_verdict_input in = { .cert = certs ? &certs->certs[0] : NULL,
                                   .account = r->account,
                                   .profiles = &p,
                                   .n_profiles = 1,
                                   .at = AT_2026 };
    struct sm_verdict *v = NULL;
    int ret = sm_verdict_evaluate(dir, &in, &v, &e);
    if (ret != 0)
        fail_msg("%s: evaluate %d %s", r->name, ret, e.text);
    const struct sm_profile_outcome *o = v->primary;
    char codes[512];
    if (strcmp(v->allow ? "allow" : "deny", r->outcome) != 0 || o->kdc_error.code != r->kdc ||
        o->event.id != r->event)
        fail_msg("%s: got %s kdc=%d event=%d (reasons: %s)", r->name, v->allow ? "allow" : "deny",
                 o->kdc_error.code, o->event.id, reason_codes(v, codes, sizeof(codes)));
    if (r->event_level && strcmp(o->event.level, r->event_level) != 0)
        fail_msg("%s: event level %s", r->name, o->event.level);
    if ((r->method == NULL) != (o->mapping_method == NULL) ||
        (r->method && strcmp(r->method, o->mapping_method) != 0))
        fail_msg("%s: mapping method %s", r->name, o->mapping_method ? o->mapping_method : "-");
    if (r->strength && strcmp(r->strength, sm_strength_name(o->mapping_strength)) != 0)
        fail_msg("%s: strength %s", r->name, sm_strength_name(o->mapping_strength));
    if (r->reason && !has_reason(v, r->reason))
        fail_msg("%s: no reason %s (have: %s)", r->name, r->reason,
                 reason_codes(v, codes, sizeof(codes)));
    const char *rb = sm_resolution_name(v->resolution);
    if ((r->resolved_by == NULL) != (rb == NULL) || (rb && strcmp(rb, r->resolved_by) != 0))
        fail_msg("%s: resolved by %s", r->name, rb ? rb : "-");
    if (o->kdc_error.code)
        assert_non_null(o->kdc_error.name);
    char *json;
    assert_int_equal(sm_json_verdict(v, 0, &json), 0);
    assert_non_null(strstr(json, v->allow ? "\"outcome\":\"allow\"" : "\"outcome\":\"deny\""));
    free(json);
    sm_verdict_free(v);
    sm_certs_free(certs);
}

static void test_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        run_row(&rows[i]);
}

static void test_fleet_and_remediation(void **state)
{
    (void)state;
    size_t len;
    char *pem = slurp("certs/sid_uri.pem", &len);
    struct sm_certs *c;
    struct sm_errinfo e;
    struct sm_parse_opts po = { .now = AT_2026 };
    assert_int_equal(sm_certs_parse(pem, len, &po, &c, &e), 0);
    free(pem);
    struct sm_profile fleet[3];
    sm_profile_parse("windows-2022", &fleet[0], NULL);
    sm_profile_parse("windows-2016", &fleet[1], NULL);
    sm_profile_parse("samba", &fleet[2], NULL);
    struct sm_verdict_input in = {
        .cert = &c->certs[0], .profiles = fleet, .n_profiles = 3, .at = AT_2026
    };
    struct sm_verdict *v;
    assert_int_equal(sm_verdict_evaluate(dir, &in, &v, &e), 0);
    /* fails on some DCs: overall deny, primary = the first denying profile */
    assert_false(v->allow);
    assert_true(v->profiles[0].allow);
    assert_false(v->profiles[1].allow);
    assert_false(v->profiles[2].allow);
    assert_int_equal(v->primary->profile.kind, SM_PROFILE_WINDOWS_2016);
    /* remediation: the exact strong value and the SID extension for this account */
    const struct sm_mapping *isn = sm_cert_mapping(&c->certs[0], SM_MAP_ISSUER_SERIAL);
    assert_string_equal(v->remediation.altsec_value, isn->value);
    assert_string_equal(
        v->remediation.sid_uri,
        "tag:microsoft.com,2022-09-14:sid:S-1-5-21-1004336348-1177238915-682003330-1105");
    assert_non_null(v->remediation.sid_extension_der_base64);
    assert_string_equal(v->remediation.likely_issuer, "intune_scep");
    assert_null(v->remediation.blocked_by);
    assert_true(v->remediation.n_steps >= 2);
    sm_verdict_free(v);

    /* blocked: disabled account */
    in.account = "bob";
    in.n_profiles = 1;
    assert_int_equal(sm_verdict_evaluate(dir, &in, &v, &e), 0);
    assert_false(v->allow);
    assert_non_null(v->remediation.blocked_by);
    sm_verdict_free(v);
    sm_certs_free(c);
}

static void test_sid_owner(void **state)
{
    (void)state;
    size_t len;
    char *pem = slurp("certs/sid_ext.pem", &len);
    struct sm_certs *c;
    struct sm_errinfo e;
    assert_int_equal(sm_certs_parse(pem, len, NULL, &c, &e), 0);
    free(pem);
    struct sm_verdict_input in = { .cert = &c->certs[0], .account = "mallory", .at = AT_2026 };
    struct sm_verdict *v;
    assert_int_equal(sm_verdict_evaluate(dir, &in, &v, &e), 0);
    assert_non_null(v->sid_owner);
    assert_string_equal(v->sid_owner->sam, "alice");
    sm_verdict_free(v);
    sm_certs_free(c);
}

static void test_account_status(void **state)
{
    (void)state;
    struct sm_account_status *s;
    struct sm_errinfo e;
    assert_int_equal(sm_account_status(dir, "henry", NULL, 0, AT_2026, &s, &e), 0);
    assert_int_equal(s->readiness, SM_READY);
    assert_int_equal(s->n_altsec, 1);
    assert_int_equal(s->n_cert_verdicts, 1);
    assert_true(s->cert_verdicts[0]->allow);
    char *json;
    assert_int_equal(sm_json_account_status(s, 0, &json), 0);
    assert_non_null(strstr(json, "\"status\":\"ready\""));
    free(json);
    sm_account_status_free(s);

    assert_int_equal(sm_account_status(dir, "bob", NULL, 0, AT_2026, &s, &e), 0);
    assert_int_equal(s->readiness, SM_BLOCKED);
    sm_account_status_free(s);

    assert_int_equal(sm_account_status(dir, "alice@example.com", NULL, 0, AT_2026, &s, &e), 0);
    assert_int_equal(s->readiness, SM_AT_RISK);
    sm_account_status_free(s);

    assert_int_equal(sm_account_status(dir, "gina", NULL, 0, AT_2026, &s, &e), 0);
    assert_int_equal(s->readiness, SM_READY); /* strong value, nothing published */
    assert_int_equal(s->n_altsec, 2);
    assert_int_equal(s->altsec[1]->kind, SM_ALTSEC_NOT_X509);
    sm_account_status_free(s);

    /* key trust: kate has Windows Hello for Business credentials and nothing else */
    assert_int_equal(sm_account_status(dir, "kate", NULL, 0, AT_2026, &s, &e), 0);
    assert_int_equal(s->readiness, SM_READY);
    assert_string_equal(s->reasons[0].code, "key_trust");
    sm_account_status_free(s);

    assert_int_equal(sm_account_status(dir, "nobody-here", NULL, 0, AT_2026, &s, &e), 0);
    assert_null(s->account);
    assert_int_equal(s->readiness, SM_BLOCKED);
    sm_account_status_free(s);
}

/*
 * The NTAuth store's analysis is kept for the store's bytes (lib/verdict.c): a store that
 * changes between verdicts, here three directories in turn, must be read anew each time.
 */
static void test_ntauth_store_changes(void **state)
{
    (void)state;
    char other_path[300];
    struct sm_dir *other = open_dir("certs/root_ca.pem", other_path, sizeof(other_path));
    struct sm_certs *certs = NULL;
    struct sm_errinfo e = { 0 };
    size_t len;
    char *pem = slurp("certs/sid_ext.pem", &len);
    struct sm_parse_opts po = { .now = AT_2026 };
    assert_int_equal(sm_certs_parse(pem, len, &po, &certs, &e), 0);
    free(pem);
    struct sm_profile p;
    assert_int_equal(sm_profile_parse("windows-2022", &p, NULL), 0);
    struct sm_verdict_input in = {
        .cert = &certs->certs[0], .profiles = &p, .n_profiles = 1, .at = AT_2026
    };
    const bool want[] = { true, false, true, false };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        struct sm_verdict *v = NULL;
        assert_int_equal(sm_verdict_evaluate(want[i] ? dir : other, &in, &v, &e), 0);
        assert_true(v->ntauth_known);
        assert_int_equal(v->issuer_in_ntauth, want[i]);
        assert_int_equal(v->allow, want[i]);
        sm_verdict_free(v);
    }
    sm_certs_free(certs);
    sm_dir_close(other);
    unlink(other_path);
}

/* One verdict for @cert_fixture (NULL: none) and @account on the profiles in @spec. */
static struct sm_verdict *verdict_on(struct sm_dir *d, const char *cert_fixture,
                                     const char *account, const char *spec, struct sm_certs **certs)
{
    struct sm_errinfo e = { 0 };
    struct sm_profile p[SM_MAX_PROFILES];
    size_t n = 0;
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save))
        if (sm_profile_parse(t, &p[n++], &e) != 0)
            fail_msg("profile %s: %s", t, e.text);
    *certs = NULL;
    if (cert_fixture) {
        size_t len;
        char *pem = slurp(cert_fixture, &len);
        struct sm_parse_opts po = { .now = AT_2026 };
        assert_int_equal(sm_certs_parse(pem, len, &po, certs, &e), 0);
        free(pem);
    }
    struct sm_verdict_input in = { .cert = *certs ? &(*certs)->certs[0] : NULL,
                                   .account = account,
                                   .profiles = p,
                                   .n_profiles = n,
                                   .at = AT_2026 };
    struct sm_verdict *v = NULL;
    if (sm_verdict_evaluate(d, &in, &v, &e) != 0)
        fail_msg("%s / %s: %s", cert_fixture, account ? account : "-", e.text);
    return v;
}

static bool any_step(const struct sm_verdict *v, const char *needle)
{
    for (size_t i = 0; i < v->remediation.n_steps; i++)
        if (strstr(v->remediation.steps[i], needle))
            return true;
    return false;
}

/*
 * KB5057784: a certificate from a CA outside NTAuth, mapped by a strong altSecurityIdentities
 * value, by the DC's update level and AllowNtAuthPolicyBypass; other paths always need NTAuth.
 */
static void test_ntauth_phases(void **state)
{
    (void)state;
    char other_path[300];
    struct sm_dir *other = open_dir("certs/root_ca.pem", other_path, sizeof(other_path));
    static const struct {
        const char *cert, *account, *spec;
        bool allow;
        int kdc, event;
        const char *reason;
    } phases[] = {
        { "certs/upn_only.pem", "henry", "windows-2022", false, 62, 21, "issuer_not_in_ntauth" },
        { "certs/upn_only.pem", "henry", "windows-2022,update=2025-05-13", true, 0, 45,
          "ntauth_audit" },
        { "certs/upn_only.pem", "henry", "windows-2022,update=2025-03-11", true, 0, 0, NULL },
        { "certs/upn_only.pem", "henry", "windows-2022,update=2025-08-12,AllowNtAuthPolicyBypass=1",
          true, 0, 45, "ntauth_audit" },
        { "certs/upn_only.pem", "henry", "windows-2022,update=2025-08-12,AllowNtAuthPolicyBypass=0",
          true, 0, 45, "ntauth_bypass_ignored" },
        { "certs/upn_only.pem", "henry", "windows-2022,update=2025-11-11,AllowNtAuthPolicyBypass=1",
          false, 62, 21, "ntauth_bypass_ignored" },
        /* the SID path: NTAuth was always required */
        { "certs/sid_ext.pem", NULL, "windows-2022,update=2025-03-11", false, 62, 21,
          "issuer_not_in_ntauth" },
        /* Samba has no NTAuth store */
        { "certs/sid_ext.pem", NULL, "samba", true, 0, 0, "pkinit_anchors" },
    };
    for (size_t i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
        struct sm_certs *c;
        struct sm_verdict *v =
            verdict_on(other, phases[i].cert, phases[i].account, phases[i].spec, &c);
        char codes[512];
        if (v->allow != phases[i].allow || v->primary->kdc_error.code != phases[i].kdc ||
            v->primary->event.id != phases[i].event ||
            (phases[i].reason && !has_reason(v, phases[i].reason)))
            fail_msg("%s %s: %s kdc %d event %d (%s)", phases[i].cert, phases[i].spec,
                     v->allow ? "allow" : "deny", v->primary->kdc_error.code, v->primary->event.id,
                     reason_codes(v, codes, sizeof(codes)));
        sm_verdict_free(v);
        sm_certs_free(c);
    }
    sm_dir_close(other);
    unlink(other_path);
}

/* The KDC's event texts, the re-issue advice and the hints are the sources' own. */
static void test_texts(void **state)
{
    (void)state;
    struct sm_certs *c;
    struct sm_verdict *v;
    static const char fwlink[] =
        " See https://go.microsoft.com/fwlink/?linkid=2189925 to learn more.";

    /* event 40: its own text, not event 39's plus a sentence */
    v = verdict_on(dir, "certs/empty_subject.pem", NULL, "windows-2022,mode=1", &c);
    assert_int_equal(v->primary->event.id, 40);
    const char *t = v->primary->event.text;
    assert_null(strstr(t, "Such certificates should"));
    assert_non_null(strstr(t, "The certificate also predated the user it mapped to, so it was "
                              "rejected."));
    assert_string_equal(t + strlen(t) - strlen(fwlink), fwlink);
    sm_verdict_free(v);
    sm_certs_free(c);
    /* event 39 and 41 end with the fwlink sentence too */
    v = verdict_on(dir, "certs/upn_only.pem", NULL, "windows-2022", &c);
    t = v->primary->event.text;
    assert_int_equal(v->primary->event.id, 39);
    assert_string_equal(t + strlen(t) - strlen(fwlink), fwlink);
    /* Intune SCEP: the URI value is the variable alone; the tag: prefix is Intune's */
    const char *scep = v->remediation.reissue_scep;
    assert_non_null(strstr(scep, "{{OnPremisesSecurityIdentifier}} alone"));
    assert_null(strstr(scep, "sid:{{"));
    assert_non_null(strstr(scep, "hybrid-joined"));
    assert_non_null(strstr(scep, "Entra-only"));
    assert_non_null(strstr(v->remediation.reissue_intune_pkcs, "6.2406.0.1001"));
    /* no template extension: not AD CS */
    assert_string_equal(v->remediation.likely_issuer, "other_ca");
    assert_string_equal(v->remediation.powershell,
                        "Set-ADUser -Identity 'alice' -Add @{altSecurityIdentities='X509:<I>DC=com,"
                        "DC=example,CN=Example Issuing CA<SR>10006F5E4D3C2B1A'}");
    sm_verdict_free(v);
    sm_certs_free(c);
    v = verdict_on(dir, "certs/sid_ext.pem", "mallory", "windows-2022", &c);
    t = v->primary->event.text;
    assert_int_equal(v->primary->event.id, 41);
    assert_string_equal(t + strlen(t) - strlen(fwlink), fwlink);
    sm_verdict_free(v);
    sm_certs_free(c);

    /* a strong mapping with another account's SID: allowed, and MS-PKCA agrees */
    v = verdict_on(dir, "certs/sid_ext.pem", "erin", "windows-2022", &c);
    assert_true(v->allow);
    assert_true(has_reason(v, "strong_mapping_sid_mismatch"));
    for (size_t i = 0; i < v->primary->n_reasons; i++)
        if (strcmp(v->primary->reasons[i].code, "strong_mapping_sid_mismatch") == 0) {
            assert_non_null(strstr(v->primary->reasons[i].message, "MS-PKCA 3.1.5.2.1.6"));
            assert_null(strstr(v->primary->reasons[i].message, "must fail"));
        }
    assert_false(has_reason(v, "compatibility_whatif"));
    sm_verdict_free(v);
    sm_certs_free(c);

    /* a computer account: Set-ADComputer */
    v = verdict_on(dir, "verdict/computer_two_dns.pem", NULL, "windows-2022", &c);
    assert_non_null(v->remediation.powershell);
    assert_true(strncmp(v->remediation.powershell, "Set-ADComputer -Identity 'ws03$' ", 33) == 0);
    sm_verdict_free(v);
    sm_certs_free(c);

    /* issuer hints: an online template (subject from AD) vs an offline one */
    v = verdict_on(dir, "certs/template.pem", "gina", "windows-2022", &c);
    assert_string_equal(v->remediation.likely_issuer, "adcs_online");
    sm_verdict_free(v);
    sm_certs_free(c);
    v = verdict_on(dir, "verdict/offline_template.pem", NULL, "windows-2022", &c);
    assert_string_equal(v->remediation.likely_issuer, "adcs_offline");
    assert_non_null(strstr(v->remediation.likely_issuer_why, "cannot be told"));
    sm_verdict_free(v);
    sm_certs_free(c);

    /* a malformed SAN URI fails with 60 only where the URI is read (2019+), not on 2016 */
    v = verdict_on(dir, "certs/sid_uri_bad.pem", NULL, "windows-2016 windows-2022", &c);
    assert_int_equal(v->profiles[0].kdc_error.code, 66);
    assert_int_equal(v->profiles[1].kdc_error.code, 60);
    assert_true(any_step(v, "windows-2022 fail the logon with error 60"));
    assert_false(any_step(v, "windows-2016 fail"));
    assert_false(any_step(v, "every Windows DC"));
    sm_verdict_free(v);
    sm_certs_free(c);

    /* mode 1: every output that uses it says it is a what-if for unpatched DCs */
    v = verdict_on(dir, "certs/upn_only.pem", NULL, "windows-2022,mode=1", &c);
    assert_true(has_reason(v, "compatibility_whatif"));
    char *json;
    assert_int_equal(sm_json_verdict(v, 0, &json), 0);
    assert_non_null(strstr(json, "\"update\":\"2025-08-12\""));
    free(json);
    sm_verdict_free(v);
    sm_certs_free(c);
}

/*
 * PowerShell: every value goes into the command as one single-quoted string, with ' and the
 * typographic quotes U+2018..U+201B doubled: an account named e'$(calc)' must not turn the
 * suggested fix into a command that runs calc.
 */
static void test_powershell_quoting(void **state)
{
    (void)state;
    struct arena *a = arena_new();
    static const struct {
        const char *in, *out;
    } q[] = {
        { "alice", "'alice'" },
        { "e'$(calc)'", "'e''$(calc)'''" },
        { "a\xe2\x80\x98"
          "b\xe2\x80\x99"
          "c\xe2\x80\x9a"
          "d\xe2\x80\x9b",
          "'a\xe2\x80\x98\xe2\x80\x98"
          "b\xe2\x80\x99\xe2\x80\x99"
          "c\xe2\x80\x9a\xe2\x80\x9a"
          "d\xe2\x80\x9b\xe2\x80\x9b'" },
        { "`;$x\n\"", "'`;$x\n\"'" },         /* nothing else is special inside single quotes */
        { "\xe2\x80\x9c", "'\xe2\x80\x9c'" }, /* U+201C is a double quote: left alone */
        { "", "''" },
    };
    for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++)
        assert_string_equal(ps_quote(a, q[i].in), q[i].out);
    arena_free(a);

    /* the account from the directory: sAMAccountName e'$(calc)'‘’‚‛`;x */
    struct sm_certs *c;
    struct sm_verdict *v =
        verdict_on(dir, "certs/upn_only.pem", "eve@example.com", "windows-2022", &c);
    assert_string_equal(v->remediation.powershell,
                        "Set-ADUser -Identity 'e''$(calc)''\xe2\x80\x98\xe2\x80\x98"
                        "\xe2\x80\x99\xe2\x80\x99\xe2\x80\x9a\xe2\x80\x9a\xe2\x80\x9b\xe2\x80\x9b"
                        "`;x' -Add @{altSecurityIdentities='X509:<I>DC=com,DC=example,CN=Example "
                        "Issuing CA<SR>10006F5E4D3C2B1A'}");
    assert_true(any_step(v, v->remediation.powershell));
    sm_verdict_free(v);
    sm_certs_free(c);
}

/* A certificate with 256 DNS names causes a bounded number of directory lookups. */
static void test_lookup_bound(void **state)
{
    (void)state;
    struct sm_dir_cache *cache = sm_dir_cache_new(1000, 60, 60);
    struct sm_dir_cache_stats st;
    struct sm_certs *c;
    sm_dir_set_cache(dir, cache);
    struct sm_verdict *v = verdict_on(dir, "verdict/many_dns.pem", NULL, "windows-2022", &c);
    sm_dir_cache_stats(cache, &st);
    assert_true(st.hits + st.misses <= SM_MAX_VERDICT_LOOKUPS);
    /* the NTAuth check counts as a lookup; the handle keeps its store, not the lookup cache */
    assert_true(v->ntauth_known);
    assert_int_equal(st.hits + st.misses + 1, v->lookups);
    assert_false(v->allow);
    assert_int_equal(v->primary->kdc_error.code, 6);
    sm_verdict_free(v);
    sm_certs_free(c);
    sm_dir_set_cache(dir, NULL);
    sm_dir_cache_free(cache);
}

/* Profile specifications: options, their errors, and the canonical form. */
static void test_profile_specs(void **state)
{
    (void)state;
    struct sm_profile p;
    struct sm_errinfo e;
    char buf[SM_PROFILE_TEXT_MAX];
    assert_int_equal(sm_profile_parse("Windows-2025,update=2025-08-12,usesubjectaltname=0,"
                                      "AllowNtAuthPolicyBypass=1,mode=1,backdating=60",
                                      &p, &e),
                     0);
    assert_int_equal(p.kind, SM_PROFILE_WINDOWS_2022);
    assert_false(p.use_subject_alt_name);
    assert_int_equal(p.ntauth_bypass, 1);
    assert_int_equal(p.mode, 1);
    assert_int_equal(p.backdating_s, 60);
    assert_string_equal(sm_profile_format(&p, buf, sizeof(buf)),
                        "windows-2022,mode=1,backdating=60,update=2025-08-12,UseSubjectAltName=0,"
                        "AllowNtAuthPolicyBypass=1");
    assert_int_equal(sm_profile_parse("samba,mode=none", &p, &e), 0);
    assert_int_equal(p.mode, 0);
    assert_string_equal(sm_profile_format(&p, buf, sizeof(buf)), "samba,mode=0");
    static const char *const bad[] = {
        "windows-2003",
        "windows-2022,",
        "windows-2022,update",
        "windows-2022,update=2025-02-30",
        "windows-2022,update=2021-01-12",
        "windows-2022,mode=0",
        "windows-2022,mode=3",
        "windows-2022,UseSubjectAltName=2",
        "windows-2022,AllowNtAuthPolicyBypass=3",
        "windows-2022,colour=blue",
        "samba,update=2025-08-12",
        "samba,mode=partial",
        "windows-2022,backdating=-1",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        e.text[0] = '\0';
        if (sm_profile_parse(bad[i], &p, &e) != -EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_true(strlen(e.text) > 0);
    }
    /* a DC older than KB5014754 is not modelled: the evaluation time decides the default */
    struct sm_certs *c;
    size_t len;
    char *pem = slurp("certs/sid_ext.pem", &len);
    assert_int_equal(sm_certs_parse(pem, len, NULL, &c, &e), 0);
    free(pem);
    sm_profile_parse("windows-2022", &p, NULL);
    struct sm_verdict_input in = {
        .cert = &c->certs[0], .profiles = &p, .n_profiles = 1, .at = 1609459200 /* 2021 */
    };
    struct sm_verdict *v = NULL;
    assert_int_equal(sm_verdict_evaluate(dir, &in, &v, &e), -EINVAL);
    assert_non_null(strstr(e.text, "KB5014754"));
    assert_null(v);
    sm_certs_free(c);
}

/*
 * A caller that may not see account data (the API's check scope) gets verdicts that name no
 * account attribute anywhere: not in the account object, the reasons, the paths, the events or
 * the remediation. The outcome, error and event stay the DC's.
 */
static void test_redacted(void **state)
{
    (void)state;
    static const struct {
        const char *cert, *account, *spec;
    } cases[] = {
        { "certs/upn_only.pem", NULL, "windows-2022 samba" },
        { "certs/sid_ext.pem", "erin", "windows-2022" },
        { "certs/sid_ext.pem", "mallory", "windows-2022 samba" },
        { "verdict/computer_two_dns.pem", NULL, "windows-2022" },
        { "certs/computer_dns.pem", NULL, "windows-2022" },
        { "verdict/whfb.pem", NULL, "windows-2022 samba" },
        { "certs/upn_only.pem", "eve@example.com", "windows-2022" },
        { "certs/upn_only.pem", "judy", "windows-2022 samba" },
        { "certs/multivalue_rdn.pem", NULL, "windows-2022" },
        { "verdict/alice_sid_other.pem", NULL, "windows-2022 samba" },
    };
    /* account attributes of the test directory that no certificate above carries */
    static const char *const secret[] = {
        "dc=example,dc=com",
        "DC=example,DC=com<",
        "\"sam\"",
        "other.example.com",
        "6d1e6c1a",
        "e''$(calc)",
        "e'$(calc)",
        "682003330-1301", /* erin's SID */
        "682003330-1300", /* mallory's */
        "Set-AD",
        "\"dns_host_name\"",
        "whenCreated",
        "\"key_id\"",
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sm_errinfo e = { 0 };
        struct sm_profile p[4];
        size_t n = 0;
        char buf[128];
        snprintf(buf, sizeof(buf), "%s", cases[i].spec);
        for (char *s = NULL, *t = strtok_r(buf, " ", &s); t; t = strtok_r(NULL, " ", &s))
            assert_int_equal(sm_profile_parse(t, &p[n++], NULL), 0);
        size_t len;
        char *pem = slurp(cases[i].cert, &len);
        struct sm_certs *c;
        struct sm_parse_opts po = { .now = AT_2026 };
        assert_int_equal(sm_certs_parse(pem, len, &po, &c, &e), 0);
        free(pem);
        struct sm_verdict_input in = { .cert = &c->certs[0],
                                       .account = cases[i].account,
                                       .profiles = p,
                                       .n_profiles = n,
                                       .at = AT_2026,
                                       .redact_account = true };
        struct sm_verdict *v = NULL, *full = NULL;
        assert_int_equal(sm_verdict_evaluate(dir, &in, &v, &e), 0);
        in.redact_account = false;
        assert_int_equal(sm_verdict_evaluate(dir, &in, &full, &e), 0);
        /* the same decision for a certificate a trusted CA signed; any other is not judged
           for a caller who may not see accounts (no lookup: it could ask about any SID) */
        if (full->issuer_signature == SM_ISSUER_SIG_VALID) {
            assert_int_equal(v->allow, full->allow);
            assert_int_equal(v->primary->kdc_error.code, full->primary->kdc_error.code);
            assert_int_equal(v->primary->event.id, full->primary->event.id);
        } else {
            assert_false(v->allow);
            assert_int_equal(v->lookups, 0);
            assert_null(v->account);
            if (strcmp(c->certs[0].subject.rfc4514, c->certs[0].issuer.rfc4514) == 0)
                assert_true(has_reason(v, "key_trust_not_evaluated"));
        }
        char *json;
        assert_int_equal(sm_json_verdict(v, 0, &json), 0);
        assert_non_null(strstr(json, "\"account\":null"));
        assert_non_null(strstr(json, "\"account_redacted\":true"));
        for (size_t k = 0; k < sizeof(secret) / sizeof(secret[0]); k++)
            if (strstr(json, secret[k]))
                fail_msg("%s/%s: redacted verdict shows \"%s\": %s", cases[i].cert,
                         cases[i].account ? cases[i].account : "-", secret[k], json);
        free(json);
        sm_verdict_free(v);
        sm_verdict_free(full);
        sm_certs_free(c);
    }
}

/*
 * Samba's KDC validates a certificate against its pkinit_anchors; only a certificate they do
 * not validate is tried against msDS-KeyCredentialLink, and then no binding check follows
 * (observed on Samba 4.24.8 by tests/samba-kdc).
 */
static void test_samba_anchors(void **state)
{
    (void)state;
    struct sm_certs *issuing = NULL, *root = NULL, *self = NULL;
    struct sm_errinfo e = { 0 };
    size_t len;
    char *pem = slurp("certs/issuing_ca.pem", &len);
    assert_int_equal(sm_certs_parse(pem, len, NULL, &issuing, &e), 0);
    free(pem);
    pem = slurp("certs/root_ca.pem", &len);
    assert_int_equal(sm_certs_parse(pem, len, NULL, &root, &e), 0);
    free(pem);
    pem = slurp("verdict/whfb.pem", &len);
    assert_int_equal(sm_certs_parse(pem, len, NULL, &self, &e), 0);
    free(pem);
    static const struct {
        const char *cert, *account, *spec;
        int anchors; /* 0 issuing CA, 1 root only, 2 the self-signed certificate itself */
        int kdc;     /* 0: allow */
        const char *method, *reason;
    } cases[] = {
        { "certs/sid_ext.pem", NULL, "samba", 0, 0, "sid_extension", NULL },
        { "certs/sid_ext.pem", NULL, "samba", 1, 62, NULL, "issuer_not_anchored" },
        { "certs/sid_ext.pem", NULL, "samba,mode=none", 1, 62, NULL, "issuer_not_anchored" },
        /* key trust only for a certificate the anchors do not validate, in every mode */
        { "verdict/whfb.pem", NULL, "samba", 0, 0, "key_trust", "key_trust_unanchored" },
        { "verdict/whfb.pem", NULL, "samba,mode=compatibility", 0, 0, "key_trust", NULL },
        { "verdict/whfb.pem", "alice", "samba", 0, 62, NULL, "issuer_not_anchored" },
        /* validated by the anchors: the link is not looked at, the binding check decides */
        { "verdict/whfb.pem", NULL, "samba", 2, 66, NULL, "key_trust_not_used" },
        { "verdict/whfb.pem", NULL, "samba,mode=none", 2, 0, "upn_san", "key_trust_not_used" },
        /* the anchor's name and key identifier, another key's signature */
        { "verdict/forged_alice_sid.pem", NULL, "samba", 0, 62, NULL, "issuer_signature_invalid" },
        { "verdict/forged_alice_sid.pem", NULL, "samba,mode=none", 0, 62, NULL,
          "issuer_signature_invalid" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sm_profile p;
        struct sm_certs *c = NULL;
        assert_int_equal(sm_profile_parse(cases[i].spec, &p, NULL), 0);
        pem = slurp(cases[i].cert, &len);
        struct sm_parse_opts po = { .now = AT_2026 };
        assert_int_equal(sm_certs_parse(pem, len, &po, &c, &e), 0);
        free(pem);
        struct sm_verdict_input in = { .cert = &c->certs[0],
                                       .account = cases[i].account,
                                       .profiles = &p,
                                       .n_profiles = 1,
                                       .at = AT_2026,
                                       .samba_anchors = cases[i].anchors == 0   ? issuing
                                                        : cases[i].anchors == 1 ? root
                                                                                : self };
        struct sm_verdict *v = NULL;
        assert_int_equal(sm_verdict_evaluate(dir, &in, &v, &e), 0);
        char codes[512];
        const char *m = v->primary->mapping_method;
        if (v->primary->kdc_error.code != cases[i].kdc || v->allow != (cases[i].kdc == 0) ||
            (cases[i].method ? !m || strcmp(m, cases[i].method) != 0 : m && v->allow) ||
            (cases[i].reason && !has_reason(v, cases[i].reason)))
            fail_msg("case %zu (%s %s anchors %d): kdc %d method %s (%s)", i, cases[i].cert,
                     cases[i].spec, cases[i].anchors, v->primary->kdc_error.code, m ? m : "-",
                     reason_codes(v, codes, sizeof(codes)));
        assert_false(has_reason(v, "pkinit_anchors")); /* the anchors were given */
        sm_verdict_free(v);
        sm_certs_free(c);
    }
    sm_certs_free(issuing);
    sm_certs_free(root);
    sm_certs_free(self);
}

static struct sm_certs *load(const char *rel)
{
    struct sm_certs *c = NULL;
    struct sm_parse_opts po = { .now = AT_2026 };
    struct sm_errinfo e = { 0 };
    size_t len;
    char *pem = slurp(rel, &len);
    assert_int_equal(sm_certs_parse(pem, len, &po, &c, &e), 0);
    free(pem);
    return c;
}

/* sm_cert_signed_by(): the issuer's key, nothing else */
static void test_signed_by(void **state)
{
    (void)state;
    static const struct {
        const char *cert, *ca;
        int want;
    } cases[] = {
        { "certs/sid_ext.pem", "certs/issuing_ca.pem", 0 },
        { "certs/ec_p384.pem", "certs/issuing_ca.pem", 0 },
        { "certs/rsa_pss.pem", "certs/issuing_ca.pem", 0 }, /* a key mbedTLS does not read */
        { "certs/issuing_ca.pem", "certs/root_ca.pem", 0 },
        { "certs/sid_ext.pem", "certs/root_ca.pem", -EBADMSG },
        { "certs/issuing_ca.pem", "certs/ec_key.pem", -EBADMSG }, /* RSA signature, EC key */
        { "verdict/forged_alice_sid.pem", "certs/issuing_ca.pem", -EBADMSG },
        { "verdict/forged_erin_serial.pem", "certs/issuing_ca.pem", -EBADMSG },
        /* an EdDSA signature, which mbedTLS cannot read, from the RSA CA: a no, not a "cannot
           tell" (that let a forgery pass as genuine) */
        { "verdict/forged_alice_ed25519.pem", "certs/issuing_ca.pem", -EBADMSG },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sm_certs *c = load(cases[i].cert), *ca = load(cases[i].ca);
        int r = sm_cert_signed_by(&c->certs[0], &ca->certs[0]);
        if (r != cases[i].want)
            fail_msg("%s by %s: %d, want %d", cases[i].cert, cases[i].ca, r, cases[i].want);
        sm_certs_free(c);
        sm_certs_free(ca);
    }
    /* one byte of the signed part changed: the signature no longer verifies */
    struct sm_certs *c = load("certs/sid_ext.pem"), *ca = load("certs/issuing_ca.pem");
    uint8_t *der = malloc(c->certs[0].der_len);
    assert_non_null(der);
    memcpy(der, c->certs[0].der, c->certs[0].der_len);
    der[c->certs[0].der_len / 3] ^= 0x01;
    struct sm_cert altered = c->certs[0];
    altered.der = der;
    assert_int_equal(sm_cert_signed_by(&altered, &ca->certs[0]), -EBADMSG);
    assert_int_equal(sm_cert_signed_by(NULL, &ca->certs[0]), -EINVAL);
    free(der);
    sm_certs_free(c);
    sm_certs_free(ca);
}

/*
 * vx_issuer_signed(), the loop over the trusted CAs both the NTAuth store and Samba's anchors
 * use: only CAs of the issuer's name are tried; one that signed wins; none that signed is
 * INVALID only when each one could be told, UNSUPPORTED when one could not (here a copy of the
 * issuing CA whose DER is cut short: mbedTLS cannot read its key).
 */
static void test_issuer_signed(void **state)
{
    (void)state;
    struct sm_certs *good = load("certs/sid_ext.pem"),
                    *forged = load("verdict/forged_alice_sid.pem");
    struct sm_certs *issuing = load("certs/issuing_ca.pem"), *copy = load("certs/ca_cert.pem");
    struct sm_certs *root = load("certs/root_ca.pem");
    struct sm_cert unread = issuing->certs[0];
    unread.der_len = 16;
    unread.sha256[0] = '\0'; /* not remembered: asked each time */
    const struct sm_cert *g = &good->certs[0], *f = &forged->certs[0];
    const struct sm_cert *I = &issuing->certs[0], *C = &copy->certs[0], *R = &root->certs[0];
    const struct {
        const struct sm_cert *cert;
        struct sm_cert cas[3];
        size_t n;
        enum sm_issuer_sig want;
    } cases[] = {
        { g, { *I }, 1, SM_ISSUER_SIG_VALID },
        { g, { *R, *I }, 2, SM_ISSUER_SIG_VALID }, /* the root is not of its issuer's name */
        { g, { unread, *I }, 2, SM_ISSUER_SIG_VALID },
        { g, { *R }, 1, SM_ISSUER_SIG_NOT_CHECKED },
        { g, { { 0 } }, 0, SM_ISSUER_SIG_NOT_CHECKED },
        { f, { *I }, 1, SM_ISSUER_SIG_INVALID },
        { f, { *I, *C, *R }, 3, SM_ISSUER_SIG_INVALID },
        { f, { unread }, 1, SM_ISSUER_SIG_UNSUPPORTED },
        { f, { *I, unread }, 2, SM_ISSUER_SIG_UNSUPPORTED },
        { g, { unread }, 1, SM_ISSUER_SIG_UNSUPPORTED },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        enum sm_issuer_sig sig = SM_ISSUER_SIG_NOT_CHECKED;
        assert_int_equal(vx_issuer_signed(cases[i].cert, cases[i].cas, cases[i].n, &sig), 0);
        if (sig != cases[i].want)
            fail_msg("case %zu: %s, want %s", i, sm_issuer_sig_name(sig),
                     sm_issuer_sig_name(cases[i].want));
    }
    sm_certs_free(good);
    sm_certs_free(forged);
    sm_certs_free(issuing);
    sm_certs_free(copy);
    sm_certs_free(root);
}

/*
 * require_issuer_signature (an upload, which proves nothing): a certificate no trusted CA's key
 * signed is judged without looking any account up, so that its answer cannot tell whether an
 * account has the SID or the mapping it claims; a genuine one is judged as always.
 */
static void test_require_issuer_signature(void **state)
{
    (void)state;
    static const struct {
        const char *cert, *spec;
        bool samba_anchors;
        const char *reason; /* NULL: judged as always */
        enum sm_issuer_sig sig;
    } cases[] = {
        { "verdict/forged_alice_sid.pem", "windows-2022", false, "issuer_signature_invalid",
          SM_ISSUER_SIG_INVALID },
        { "verdict/forged_erin_serial.pem", "windows-2022", false, "issuer_signature_invalid",
          SM_ISSUER_SIG_INVALID },
        { "verdict/forged_alice_ed25519.pem", "windows-2022", false, "issuer_signature_invalid",
          SM_ISSUER_SIG_INVALID },
        { "verdict/forged_alice_sid.pem", "samba", true, "issuer_signature_invalid",
          SM_ISSUER_SIG_INVALID },
        { "verdict/forged_alice_sid.pem", "samba", false, "issuer_not_verified",
          SM_ISSUER_SIG_NOT_CHECKED },
        { "certs/ed25519.pem", "windows-2022", false, "issuer_not_in_ntauth",
          SM_ISSUER_SIG_NOT_CHECKED },
        { "certs/sid_ext.pem", "windows-2022", false, NULL, SM_ISSUER_SIG_VALID },
        { "certs/sid_ext.pem", "samba", true, NULL, SM_ISSUER_SIG_VALID },
    };
    struct sm_certs *issuing = load("certs/issuing_ca.pem");
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct sm_profile p;
        struct sm_errinfo e = { 0 };
        struct sm_certs *c = load(cases[i].cert);
        assert_int_equal(sm_profile_parse(cases[i].spec, &p, NULL), 0);
        struct sm_verdict_input in = { .cert = &c->certs[0],
                                       .profiles = &p,
                                       .n_profiles = 1,
                                       .at = AT_2026,
                                       .samba_anchors = cases[i].samba_anchors ? issuing : NULL,
                                       .require_issuer_signature = true,
                                       .redact_account = true };
        struct sm_verdict *v = NULL;
        char codes[512];
        assert_int_equal(sm_verdict_evaluate(dir, &in, &v, &e), 0);
        if (v->issuer_signature != cases[i].sig ||
            (cases[i].reason &&
             (v->allow || v->account || v->lookups != 0 || !has_reason(v, cases[i].reason))) ||
            (!cases[i].reason && (!v->allow || !v->account)))
            fail_msg("case %zu (%s %s): %s sig %s lookups %u account %s (%s)", i, cases[i].cert,
                     cases[i].spec, v->allow ? "allow" : "deny",
                     sm_issuer_sig_name(v->issuer_signature), v->lookups, v->account ? "yes" : "no",
                     reason_codes(v, codes, sizeof(codes)));
        char *json = NULL;
        assert_int_equal(sm_json_verdict(v, 0, &json), 0); /* the document holds */
        free(json);
        sm_verdict_free(v);
        /* the same certificate without the requirement: the verdict as always (the same
           signature finding) */
        in.require_issuer_signature = false;
        assert_int_equal(sm_verdict_evaluate(dir, &in, &v, &e), 0);
        if (cases[i].reason && strcmp(cases[i].reason, "issuer_not_verified") != 0)
            assert_false(v->allow);
        sm_verdict_free(v);
        sm_certs_free(c);
    }
    sm_certs_free(issuing);
}

struct ntauth_job {
    struct sm_dir *d;
    const struct sm_cert *cert;
    bool want;
    int bad;
};

static void *ntauth_worker(void *arg)
{
    struct ntauth_job *j = arg;
    struct sm_profile p;
    sm_profile_parse("windows-2022", &p, NULL);
    struct sm_verdict_input in = {
        .cert = j->cert, .profiles = &p, .n_profiles = 1, .at = AT_2026
    };
    for (int i = 0; i < 200; i++) {
        struct sm_verdict *v = NULL;
        struct sm_errinfo e;
        if (sm_verdict_evaluate(j->d, &in, &v, &e) != 0 || v->issuer_in_ntauth != j->want)
            j->bad++;
        sm_verdict_free(v);
    }
    return NULL;
}

/*
 * Each directory remembers the analysis of its own NTAuth store: two directories with different
 * stores, each used from two threads at once (an LDIF handle serves several threads), answer
 * for their own store every time.
 */
static void test_ntauth_threads(void **state)
{
    (void)state;
    char other_path[300];
    struct sm_dir *other = open_dir("certs/root_ca.pem", other_path, sizeof(other_path));
    struct sm_certs *certs = NULL;
    struct sm_errinfo e = { 0 };
    size_t len;
    char *pem = slurp("certs/sid_ext.pem", &len);
    struct sm_parse_opts po = { .now = AT_2026 };
    assert_int_equal(sm_certs_parse(pem, len, &po, &certs, &e), 0);
    free(pem);
    struct ntauth_job jobs[4] = {
        { dir, &certs->certs[0], true, 0 },
        { other, &certs->certs[0], false, 0 },
        { dir, &certs->certs[0], true, 0 },
        { other, &certs->certs[0], false, 0 },
    };
    pthread_t t[4];
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, ntauth_worker, &jobs[i]), 0);
    for (size_t i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(jobs[i].bad, 0);
    }
    sm_certs_free(certs);
    sm_dir_close(other);
    unlink(other_path);
}

static void test_bad_input(void **state)
{
    (void)state;
    struct sm_verdict_input in = { 0 };
    struct sm_verdict *v = NULL;
    struct sm_errinfo e;
    assert_int_equal(sm_verdict_evaluate(dir, &in, &v, &e), -EINVAL);
    in.account = "alice";
    assert_int_equal(sm_verdict_evaluate(NULL, &in, &v, &e), -EINVAL);
    /* alice publishes no certificate */
    assert_int_equal(sm_verdict_evaluate(dir, &in, &v, &e), -ENOENT);
    assert_null(v);
    struct sm_profile p;
    assert_int_equal(sm_profile_parse("windows-2003", &p, NULL), -EINVAL);
    assert_int_equal(sm_profile_parse("windows-2025", &p, NULL), 0);
    assert_int_equal(p.kind, SM_PROFILE_WINDOWS_2022);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rules),
        cmocka_unit_test(test_fleet_and_remediation),
        cmocka_unit_test(test_sid_owner),
        cmocka_unit_test(test_account_status),
        cmocka_unit_test(test_ntauth_store_changes),
        cmocka_unit_test(test_ntauth_phases),
        cmocka_unit_test(test_texts),
        cmocka_unit_test(test_powershell_quoting),
        cmocka_unit_test(test_lookup_bound),
        cmocka_unit_test(test_profile_specs),
        cmocka_unit_test(test_redacted),
        cmocka_unit_test(test_samba_anchors),
        cmocka_unit_test(test_signed_by),
        cmocka_unit_test(test_issuer_signed),
        cmocka_unit_test(test_require_issuer_signature),
        cmocka_unit_test(test_ntauth_threads),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/*
 * lib/dir_ldap_write.c - the LDAP backend's one write: add or delete one value of one attribute
 * of one entry (an LDAP modify with a single "add" or "delete" modification; never "replace",
 * which would drop the values a caller did not name). Mapping write-back (lib/mapwrite.c) is
 * its user; the handle's bind must be allowed to write the attribute.
 *
 * A modify is atomic on the server (RFC 4511 4.6): it is applied whole or not at all, so a
 * failure leaves the entry as it was. What a failure cannot say is whether a modify whose
 * answer was lost (timeout, connection cut) was applied: such a modify is never repeated here,
 * and the caller reads the entry again to find out. The connection is made by the caller's
 * plan (searches on the same handle, which reconnect once when a kept connection is dead), so
 * a modify starts on a connection just used.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "util.h"
#include "dir_ldap_internal.h"

#define MAX_DN_LEN    4096
#define MAX_ATTR_NAME 64

static bool attr_ok(const char *a)
{
    size_t i = 0;

    if (!a || !((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z')))
        return false;
    for (; a[i] && i < MAX_ATTR_NAME; i++)
        if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' && a[i] <= 'Z') ||
              (a[i] >= '0' && a[i] <= '9') || a[i] == '-'))
            return false;
    return a[i] == '\0';
}

static bool dn_parses(const char *dn)
{
    LDAPDN parsed = NULL;

    if (!dn || !dn[0] || strlen(dn) > MAX_DN_LEN)
        return false;
    if (ldap_str2dn(dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
        return false;
    ldap_dnfree(parsed);
    return true;
}

/* What the server's result code @rc means; the connection is dropped when it is suspect. */
static int modify_error(struct ldap_dir *l, int rc, const char *diag, struct sm_errinfo *reterr)
{
    const char *uri = l->uris[l->uri_idx], *sep = diag[0] ? ": " : "";

    switch (rc) {
    case LDAP_TYPE_OR_VALUE_EXISTS: return -EEXIST;
    case LDAP_NO_SUCH_ATTRIBUTE: return -ENOENT;
    case LDAP_NO_SUCH_OBJECT:
    case LDAP_REFERRAL:
        errinfo_set(reterr, -1, "%s: no such entry%s%s", uri, sep, diag);
        return -ESRCH;
    case LDAP_NO_MEMORY: return -ENOMEM;
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
    case LDAP_TIMEOUT:
        errinfo_set(reterr, -1,
                    "%s: %s during the modify; whether the server applied it is not known", uri,
                    rc == LDAP_TIMEOUT ? "no answer" : "connection lost");
        drop_conn(l);
        return SM_E_DIR_DOWN;
    case LDAP_BUSY:
    case LDAP_UNAVAILABLE:
        errinfo_set(reterr, -1, "%s: modify not done: %s%s%s", uri, ldap_err2string(rc), sep, diag);
        return SM_E_DIR_DOWN;
    default:
        /* insufficientAccessRights, unwillingToPerform, constraintViolation (AD: a value
           another object holds where it must be unique), invalidAttributeSyntax, ... */
        errinfo_set(reterr, -1, "%s: modify refused: %s%s%s", uri, ldap_err2string(rc), sep, diag);
        return SM_E_DIR_REFUSED;
    }
}

int ldap_modify_value(struct sm_dir *d, const char *dn, bool add, const char *attr,
                      const char *value, size_t len, struct sm_errinfo *reterr)
{
    struct ldap_dir *l = (struct ldap_dir *)d;
    struct berval bv = { .bv_len = len, .bv_val = (char *)(uintptr_t)value };
    struct berval *vals[2] = { &bv, NULL };
    LDAPMod mod = {
        .mod_op = (add ? LDAP_MOD_ADD : LDAP_MOD_DELETE) | LDAP_MOD_BVALUES,
        .mod_type = (char *)(uintptr_t)attr,
        .mod_vals.modv_bvals = vals,
    };
    LDAPMod *mods[2] = { &mod, NULL };
    LDAPMessage *res = NULL;
    struct timeval tv = ms_to_tv(l->op_ms);
    char diag[160] = "", *msg = NULL;
    bool fresh = false;
    int msgid = -1, code = LDAP_SUCCESS, rc;

    if (!attr_ok(attr) || !value || len == 0 || len > SM_MAX_ALTSEC_VALUE)
        return -EINVAL;
    if (!dn_parses(dn)) {
        errinfo_set(reterr, -1, "not a distinguished name");
        return -EINVAL;
    }
    if ((rc = ensure_conn(l, &fresh, reterr)) < 0)
        return rc;
    rc = ldap_modify_ext(l->ld, dn, mods, NULL, NULL, &msgid);
    if (rc != LDAP_SUCCESS) {
        diag_of(l->ld, diag, sizeof(diag));
        return modify_error(l, rc, diag, reterr);
    }
    rc = ldap_result(l->ld, msgid, LDAP_MSG_ALL, &tv, &res);
    if (rc == 0 || rc == -1) {
        if (rc == 0)
            ldap_abandon_ext(l->ld, msgid, NULL, NULL);
        else
            ldap_get_option(l->ld, LDAP_OPT_RESULT_CODE, &code);
        ldap_msgfree(res);
        return modify_error(l, rc == 0 ? LDAP_TIMEOUT : code, diag, reterr);
    }
    if (ldap_parse_result(l->ld, res, &code, NULL, &msg, NULL, NULL, 1) != LDAP_SUCCESS)
        code = LDAP_DECODING_ERROR;
    copy_line(diag, sizeof(diag), msg);
    ber_memfree(msg);
    if (code == LDAP_SUCCESS)
        return 0;
    if (code == LDAP_DECODING_ERROR) {
        errinfo_set(reterr, -1,
                    "%s: the modify's answer could not be read; whether it was "
                    "applied is not known",
                    l->uris[l->uri_idx]);
        drop_conn(l);
        return SM_E_DIR_DOWN;
    }
    return modify_error(l, code, diag, reterr);
}

/*
 * lib/dir_ldap_enum.c - the LDAP backend's walk of sm_dir_each_account(): one subtree search
 * under the base for every user and computer holding userCertificate or
 * altSecurityIdentities, read with the Simple Paged Results control (RFC 2696, libldap's
 * ldap_create_page_control() and ldap_parse_pageresponse_control()). One page is held at a
 * time, and the next one is asked for as soon as its cookie is known, before the page's
 * entries are handed on: the server reads the next page while the caller audits this one
 * (otherwise each waits for the other, page after page). Stopped early, the page on its way is
 * abandoned. Each page's answer has the operation timeout (op_timeout_ms) of its own, from
 * when it is awaited. The walk
 * needs the one connection for itself: a paged search's cookie belongs to its connection, and
 * OpenLDAP keeps one paged search per connection (a lookup on the same handle would end it),
 * so the caller looks accounts up on another handle (strongmap/dir.h). A connection lost
 * mid-walk ends it (SM_E_DIR_DOWN): a cookie does not move to a new connection. A first pass
 * over the values (values_only) asks for the holders of altSecurityIdentities alone.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "dir_ldap_internal.h"
#include "util.h"

/* objectClass=user covers computers on Active Directory; the second term is for other
   servers' schemas. */
#define WALK_FILTER                                                                                \
    "(&(|(objectClass=user)(objectClass=computer))(|(userCertificate=*)"                           \
    "(altSecurityIdentities=*))%s)"
/* The first pass over the values (sm_dir_each_opts.values_only): only the accounts that hold
   one, which Active Directory answers from its index of altSecurityIdentities (searchFlags
   fATTINDEX, docs/audit.md); userCertificate has none, so the walk's filter makes a DC read
   every user and computer. */
#define VALUES_FILTER  "(&(|(objectClass=user)(objectClass=computer))(altSecurityIdentities=*)%s)"
#define MAX_WALK_PAGES 10000000 /* a server that keeps handing out cookies stops here */

static char *walk_attrs[] = DIR_ATTRS_INIT;
/* a first pass over the values (sm_dir_each_opts.values_only): objectClass tells an account */
static char *value_attrs[] = { "objectClass", "altSecurityIdentities", "whenChanged", NULL };

/* A failed page: what it means, in @reterr. The connection is dropped unless refused. */
static int page_error(struct ldap_dir *l, int code, const char *diag, struct sm_errinfo *reterr)
{
    const char *uri = l->uris[l->uri_idx];
    const char *sep = diag[0] ? ": " : "";

    switch (code) {
    case LDAP_NO_MEMORY: return -ENOMEM;
    case LDAP_NO_SUCH_OBJECT:
    case LDAP_REFERRAL:
        errinfo_set(reterr, -1, "search base %s does not exist on %s", l->hdr.base, uri);
        return SM_E_DIR_REFUSED;
    case LDAP_INSUFFICIENT_ACCESS:
    case LDAP_OPERATIONS_ERROR:
    case LDAP_INAPPROPRIATE_AUTH:
    case LDAP_STRONG_AUTH_REQUIRED:
    case LDAP_CONFIDENTIALITY_REQUIRED:
    case LDAP_UNWILLING_TO_PERFORM: /* also an unknown cookie */
    case LDAP_UNAVAILABLE_CRITICAL_EXTENSION:
    case LDAP_SIZELIMIT_EXCEEDED:
    case LDAP_ADMINLIMIT_EXCEEDED:
        errinfo_set(reterr, -1, "%s: paged search refused: %s%s%s", uri, ldap_err2string(code), sep,
                    diag);
        return SM_E_DIR_REFUSED;
    case LDAP_TIMEOUT:
        errinfo_set(reterr, -1, "%s: no page within %u ms", uri, l->op_ms);
        drop_conn(l);
        return SM_E_DIR_DOWN;
    default:
        errinfo_set(reterr, -1, "%s: paged search failed: %s%s%s", uri, ldap_err2string(code), sep,
                    diag);
        drop_conn(l);
        return SM_E_DIR_DOWN;
    }
}

/* Ask for the page after @cookie (empty: the first), then free @cookie's bytes. 0, or what the
   failure means (page_error()). */
static int ask_page(struct ldap_dir *l, const char *filter, char **attrs, unsigned page_size,
                    struct berval *cookie, int *msgid, struct sm_errinfo *reterr)
{
    LDAPControl *pctrl = NULL, *sctrls[2] = { NULL, NULL };
    struct timeval tv = ms_to_tv(l->op_ms);
    /* critical: a server without paged results must refuse, not send everything at once */
    int rc = ldap_create_page_control(l->ld, (ber_int_t)page_size, cookie, 1, &pctrl);
    if (rc == LDAP_SUCCESS) {
        sctrls[0] = pctrl;
        rc = ldap_search_ext(l->ld, l->hdr.base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, sctrls, NULL,
                             &tv, 0, msgid);
        ldap_control_free(pctrl);
    }
    ber_memfree(cookie->bv_val);
    cookie->bv_val = NULL;
    cookie->bv_len = 0;
    if (rc == LDAP_SUCCESS)
        return 0;
    *msgid = -1;
    char d[120];
    diag_of(l->ld, d, sizeof(d));
    return page_error(l, rc, d, reterr);
}

/* The whole page @msgid into *@res (the caller's to free), its cookie into @cookie (empty after
   the last page). The wait has the operation timeout, from now. */
static int read_page(struct ldap_dir *l, int msgid, LDAPMessage **res, struct berval *cookie,
                     struct sm_errinfo *reterr)
{
    struct timeval tv = ms_to_tv(l->op_ms);
    LDAPControl **rctrls = NULL;
    char *diag = NULL;
    int code = LDAP_OTHER, err = 0;

    int rc = ldap_result(l->ld, msgid, LDAP_MSG_ALL, &tv, res);
    if (rc == 0) {
        ldap_abandon_ext(l->ld, msgid, NULL, NULL);
        rc = LDAP_TIMEOUT;
    } else if (rc < 0) {
        rc = LDAP_OTHER;
        ldap_get_option(l->ld, LDAP_OPT_RESULT_CODE, &rc);
    } else {
        rc = LDAP_SUCCESS;
    }
    if (rc != LDAP_SUCCESS) {
        char d[120];
        diag_of(l->ld, d, sizeof(d));
        return page_error(l, rc, d, reterr);
    }
    for (LDAPMessage *m = ldap_first_message(l->ld, *res); m; m = ldap_next_message(l->ld, m))
        if (ldap_msgtype(m) == LDAP_RES_SEARCH_RESULT &&
            ldap_parse_result(l->ld, m, &code, NULL, &diag, NULL, &rctrls, 0) != LDAP_SUCCESS)
            code = LDAP_DECODING_ERROR;
    if (code != LDAP_SUCCESS) {
        char d[120];
        copy_line(d, sizeof(d), diag);
        err = page_error(l, code, d, reterr);
    } else {
        LDAPControl *c = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
        ber_int_t estimate = 0;
        if (c && ldap_parse_pageresponse_control(l->ld, c, &estimate, cookie) != LDAP_SUCCESS) {
            errinfo_set(reterr, -1, "%s: malformed paged results control", l->uris[l->uri_idx]);
            err = SM_E_DIR_DOWN;
        }
    }
    ldap_controls_free(rctrls);
    ber_memfree(diag);
    return err;
}

/* The entries of a page read, handed on together (the caller sees the page, then each entry);
   an entry that cannot be read stops the walk after the ones before it. */
static int hand_on(struct ldap_dir *l, LDAPMessage *res, struct dir_each *w,
                   struct sm_errinfo *reterr)
{
    struct raw_entries *r = dir_each_raw(w);
    int err = 0;
    for (LDAPMessage *m = ldap_first_entry(l->ld, res); m && err == 0;
         m = ldap_next_entry(l->ld, m)) {
        struct raw_pos before = raw_tell(r);
        err = ldap_add_entry(l->ld, m, r);
        if (err == SM_E_DIR_DOWN)
            errinfo_set(reterr, -1, "%s: malformed entry", l->uris[l->uri_idx]);
        if (err)
            raw_rewind(r, before);
    }
    int rc = dir_each_entry(w);
    return err ? err : rc;
}

int ldap_each(struct sm_dir *d, time_t since, unsigned page_size, struct dir_each *w,
              struct sm_errinfo *reterr)
{
    struct ldap_dir *l = (struct ldap_dir *)d;
    struct berval cookie = { 0, NULL };
    char when[40] = "", filter[sizeof(WALK_FILTER) + sizeof(VALUES_FILTER) + sizeof(when)];
    bool values_only = dir_each_values_only(w);
    char **attrs = values_only ? value_attrs : walk_attrs;
    LDAPMessage *res = NULL;
    bool fresh = false;
    int rc, msgid = -1; /* the page asked for and not read yet */

    if (page_size == 0 || page_size > SM_DIR_PAGE_MAX)
        return -EINVAL;
    if (since > 0) {
        /* whenChanged is a GeneralizedTime with whole seconds: "later than" is ">= since+1".
           The value is ours (digits), escaping is not needed. */
        time_t t = since + 1;
        struct tm tm;
        if (!gmtime_r(&t, &tm) ||
            strftime(when, sizeof(when), "(whenChanged>=%Y%m%d%H%M%S.0Z)", &tm) == 0) {
            errinfo_set(reterr, -1, "--since: a time out of range");
            return -EINVAL;
        }
    }
    if (values_only)
        snprintf(filter, sizeof(filter), VALUES_FILTER, when);
    else
        snprintf(filter, sizeof(filter), WALK_FILTER, when);
    if ((rc = ensure_conn(l, &fresh, reterr)) < 0)
        return rc;
    rc = ask_page(l, filter, attrs, page_size, &cookie, &msgid, reterr);
    for (long page = 0; rc == 0 && msgid >= 0; page++) {
        if (page == MAX_WALK_PAGES) {
            errinfo_set(reterr, -1, "more than %d pages of results", MAX_WALK_PAGES);
            rc = SM_E_DIR_LIMIT;
            break;
        }
        rc = read_page(l, msgid, &res, &cookie, reterr);
        msgid = -1;
        /* the next page asked for before this one's entries are handed on: the server reads
           it while the caller works (one page held here, the next one on its way) */
        if (rc == 0 && cookie.bv_len)
            rc = ask_page(l, filter, attrs, page_size, &cookie, &msgid, reterr);
        if (rc == 0)
            rc = hand_on(l, res, w, reterr);
        ldap_msgfree(res);
        res = NULL;
    }
    /* stopped early with a page on its way: the server drops the search when it is abandoned
       (or when the connection closes) */
    if (msgid >= 0 && l->ld)
        ldap_abandon_ext(l->ld, msgid, NULL, NULL);
    ber_memfree(cookie.bv_val);
    return rc;
}

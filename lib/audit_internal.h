/*
 * lib/audit_internal.h - what the parts of the audit share: lib/audit.c (an account at a time,
 * the set of values) and lib/audit_certs.c (the certificates given to it, matched to their
 * accounts), and what its reports share: lib/audit_report.c (CSV) and lib/html_audit.c (HTML).
 * Not installed.
 */
#ifndef SM_LIB_AUDIT_INTERNAL_H
#define SM_LIB_AUDIT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <strongmap/strongmap.h>

#include "util.h"

/* One certificate given (sm_audit_add_certs()) that maps to an account. */
struct audit_given {
    uint64_t dn_hash; /* audit_hash() of the account's DN */
    time_t not_after;
    const char *dn, *source; /* in the store's arena */
    const uint8_t *der;
    size_t der_len;
    bool visited; /* its account was audited, or left */
};

/* The certificates given: appended, then sorted by account (newest first) once the audit
   starts (audit_given_freeze()), and found by the account's DN. */
struct audit_given_store {
    struct arena *a;
    struct audit_given *v;
    size_t n, cap;
    size_t bytes; /* DER kept */
    bool frozen;
    size_t cursor; /* sm_audit_given_next() */
};

struct sm_audit {
    struct sm_profile profiles[SM_MAX_PROFILES];
    size_t n_profiles;
    time_t at;
    uint64_t *set; /* open addressing, 0 = empty; at most half full; a 63-bit hash | SET_MANY */
    size_t cap, used;
    bool indexed; /* sm_audit_index() saw the walk first: the set knows every holder */
    struct audit_given_store given;
    struct sm_audit_totals totals;
};

/* The hash of @s with ASCII folded (caseIgnoreMatch; AD folds Unicode too): 63 bits, never 0. */
uint64_t audit_hash(const char *s);

/* The value-level reason codes: one for each count of struct sm_audit_record's values. */
#define AUDIT_VALUE_REASONS 4

/*
 * The value-level reason codes @rec has ("duplicate_value", "stale_value", "samba_only_value",
 * "windows_only_value": those whose count is not 0, in that order; static strings) into
 * @codes: how many. The reports list them after the account's own reasons (lib/audit_report.c).
 */
size_t audit_value_reasons(const struct sm_audit_record *rec,
                           const char *codes[AUDIT_VALUE_REASONS]);

/* Sort the store (once): from then on it is read only. */
void audit_given_freeze(struct sm_audit *au);

/*
 * The certificates given for @acc (at most SM_MAX_GIVEN_CERTS, the latest notAfter first; one
 * @acc publishes is left out: its line shows it as published), marked visited: their DER into
 * @der, their sources into @sources, how many into *@n, and how many more there were into
 * *@skipped. The store must be frozen.
 */
void audit_given_for(struct sm_audit *au, const struct sm_account *acc,
                     struct sm_blob der[SM_MAX_GIVEN_CERTS],
                     const char *sources[SM_MAX_GIVEN_CERTS], size_t *n, size_t *skipped);

/* Free the store's memory. */
void audit_given_free(struct audit_given_store *g);

/* Is the value of hash @h (audit_hash()) one the first pass saw on more than one account? */
bool audit_held_elsewhere(const struct sm_audit *au, uint64_t h);

/*
 * The lookups the audit of @page's accounts will make, fetched in advance in a few batched
 * searches on @dir (dir_prefetch(), lib/dir.c): the holders of each duplicate value, the
 * dNSHostName of each computer certificate's DNS name, the owner of each SID a certificate
 * names that is not its account's; the answers of the page before are forgotten. The verdicts'
 * and the duplicates' lookups then find them in this thread, with the same answers as the
 * directory's. Only for an LDAP @dir (an LDIF answers from memory). 0, or SM_E_DIR_DOWN,
 * SM_E_DIR_REFUSED, -ENOMEM (reason in @reterr).
 */
int audit_prefetch(struct sm_audit *au, struct sm_dir *dir, const struct sm_accounts *page,
                   struct sm_errinfo *reterr);
/* Forget the answers fetched in advance (the walk is over). */
void audit_prefetch_done(void);

#endif

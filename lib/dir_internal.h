/*
 * lib/dir_internal.h - the contract between lib/dir.c (the public sm_dir_* functions, result
 * objects) and the backends: lib/dir_ldap.c with lib/dir_ldap_conn.c, lib/dir_ldap_write.c and
 * lib/dir_ldap_enum.c (the only files that include <ldap.h>) and lib/dir_ldif.c (libldap's
 * ldif.h parser); and what lib/dir.c asks of the lookup cache (lib/dir_cache.c).
 *
 * A backend answers two questions, both about raw attribute values:
 *   - which entries have @attr equal to one of @values (equality under the attribute's
 *     matching rule: caseIgnoreMatch for the string attributes, octetStringMatch for
 *     objectSid); only entries whose objectClass is user or computer; at most SM_MAX_ACCOUNTS,
 *     more -> SM_E_DIR_LIMIT;
 *   - what one entry (by DN) holds.
 * and walks one set: every user and computer with a certificate or a mapping (dir_ops.each;
 * the LDAP backend's in lib/dir_ldap_enum.c), one entry at a time.
 * For each entry found it calls raw_entry_begin() then raw_value() for each value of each
 * attribute in DIR_ATTRS (binary-safe); dir.c turns raw entries into struct sm_account.
 */
#ifndef SM_LIB_DIR_INTERNAL_H
#define SM_LIB_DIR_INTERNAL_H

#include <strongmap/dir.h>

#include "util.h"

/* The attributes every account read returns (and the NTAuth store's cACertificate). */
#define DIR_ATTRS_INIT                                                                             \
    {                                                                                              \
        "objectClass", "objectSid", "sAMAccountName", "userPrincipalName", "dNSHostName",          \
            "userAccountControl", "whenCreated", "altSecurityIdentities", "userCertificate",       \
            "cACertificate", "msDS-KeyCredentialLink", "whenChanged", NULL                         \
    }

/* Raw entries collected by a backend for one query. Owned by dir.c. */
struct raw_entries;

/** Start a new entry with distinguished name @dn (@len bytes). 0, -ENOMEM or SM_E_DIR_LIMIT. */
int raw_entry_begin(struct raw_entries *r, const char *dn, size_t len);
/** Add one value of @attr (case-insensitive name) to the current entry. 0 or -ENOMEM. */
int raw_value(struct raw_entries *r, const char *attr, const void *val, size_t len);
/** How many entries @r may hold (raw_entry_begin() refuses more with SM_E_DIR_LIMIT):
    SM_MAX_ACCOUNTS for a lookup, more for a walk's page or a batch (dir_prefetch()). */
size_t raw_limit(const struct raw_entries *r);
/** Where @r ends now, to go back to with raw_rewind() (an entry that could not be read). */
struct raw_pos {
    size_t len, n;
};
struct raw_pos raw_tell(const struct raw_entries *r);
void raw_rewind(struct raw_entries *r, struct raw_pos pos);

/*
 * The NTAuth store read along with a query (dir_ops.find_eq, read_dn): the LDAP backend sends
 * both searches at once and collects both answers, one round trip instead of two; the LDIF
 * backend reads it from memory. The store's entry goes to @out (nothing when the directory has
 * none); @rc is 0 when it was read, else the read's error (the query's own answer stands).
 */
struct dir_store {
    struct raw_entries *out;
    int rc;
};

/* One walk of sm_dir_each_account() (lib/dir.c). */
struct dir_each;
/** Where the backend adds the next entry (raw_entry_begin(), raw_value()). */
struct raw_entries *dir_each_raw(struct dir_each *e);
/** The entry added is complete: convert it, hand it to the caller, empty the raw entries. 0 to
    go on, or the negative code that stops the walk. */
int dir_each_entry(struct dir_each *e);
/** The walk wants only objectClass, altSecurityIdentities and whenChanged (sm_dir_each_opts). */
bool dir_each_values_only(const struct dir_each *e);

struct dir_ops {
    const char *kind; /* "ldap", "ldif" */
    bool never_waits; /* answers from memory (LDIF): sm_dir_set_cache_only() does not apply */
    /* @store: NULL, or the NTAuth store to read on the same round trip (above). */
    int (*find_eq)(struct sm_dir *d, const char *attr, const struct sm_blob *values, size_t n,
                   struct raw_entries *out, struct dir_store *store, struct sm_errinfo *reterr);
    /* Read one entry by DN (any objectClass; used for accounts by DN and the NTAuth store).
       A missing entry is not an error: nothing is added. */
    int (*read_dn)(struct sm_dir *d, const char *dn, struct raw_entries *out,
                   struct dir_store *store, struct sm_errinfo *reterr);
    int (*ping)(struct sm_dir *d, struct sm_errinfo *reterr);
    void (*free)(struct sm_dir *d);
    /* Add (@add) or delete one value of @attr of the entry @dn: one modify, atomic on the
       server (lib/dir_ldap_write.c); NULL for a read-only backend. 0, -EEXIST (add: the value
       is there), -ENOENT (delete: it is not), -ESRCH (no such entry), SM_E_DIR_REFUSED,
       SM_E_DIR_DOWN, -EINVAL. */
    int (*modify_value)(struct sm_dir *d, const char *dn, bool add, const char *attr,
                        const char *value, size_t len, struct sm_errinfo *reterr);
    /* The walk of sm_dir_each_account() (lib/dir_ldap_enum.c, lib/dir_ldif.c): every user and
       computer entry with userCertificate or altSecurityIdentities, whenChanged later than
       @since (0: any; dir.c checks it again), each one added to dir_each_raw(@e) and handed
       on with dir_each_entry(@e), whose negative code stops the walk and is returned. */
    int (*each)(struct sm_dir *d, time_t since, unsigned page_size, struct dir_each *e,
                struct sm_errinfo *reterr);
};

/*
 * Is @dn the DN @base or an entry below it? Both are parsed as LDAPv3 DNs (libldap's
 * ldap_str2dn, in lib/dir_ldap.c); RDNs compare with ASCII case folded, as AD's DNs do.
 * 0 within, -EPERM outside, -EINVAL when @dn is no DN. Defined in lib/dir_ldap.c.
 */
int dir_dn_within(const char *dn, const char *base);

/*
 * What a verdict asks of the queries it makes (lib/ntauth.c sets it up, lib/resolve.c passes it
 * to each lookup): the NTAuth store read along with the first query that reaches the backend,
 * when the store @d keeps is stale or lacks the issuer. A lookup the cache answers reads
 * nothing.
 */
struct dir_along {
    bool want_store;           /* in: read the store along; cleared once it was read */
    bool asked;                /* out: a query reached the backend */
    struct sm_accounts *store; /* out: the store so read (n == 0: none), the caller's to free */
    bool kept;                 /* lib/ntauth.c: a store read along was kept for this verdict */
};

/* sm_dir_lookup() and sm_dir_find_altsec() with @along (may be NULL). */
int dir_lookup(struct sm_dir *d, enum sm_lookup how, const char *name, struct dir_along *along,
               struct sm_accounts **ret, struct sm_errinfo *reterr);
int dir_find_altsec(struct sm_dir *d, const char *const *values, size_t n, struct dir_along *along,
                    struct sm_accounts **ret, struct sm_errinfo *reterr);
/*
 * The account @acc, just read from @d by the caller (a walk's entry), is in hand: until the
 * next call (NULL: none), a lookup by its DN (exactly @acc->dn) on @d in this thread is
 * answered with a copy of it, without asking the directory, as a lookup the cache answers
 * (nothing read along). For the audit, whose verdicts read by DN the account it holds.
 * Per thread: other threads' lookups on @d are not affected. @acc stays the caller's and must
 * outlive its use here.
 */
void dir_known(const struct sm_dir *d, const struct sm_account *acc);

/*
 * Answers fetched in advance (the audit's batched lookups, lib/audit_prefetch.c): one search for
 * up to DIR_PREFETCH_BATCH values of @attr ("dNSHostName", "objectSid" or
 * "altSecurityIdentities"), whose entries are then shared out to each value, so that a lookup of
 * one of those values on @d in this thread (find_eq of that one value: sm_dir_lookup() by
 * dNSHostName or SID, sm_dir_find_altsec() of one value) is answered from them, as a lookup the
 * cache answers, until dir_prefetch_clear(). An answer is kept only where it is exactly the
 * lookup's own: values that caseIgnoreMatch compares as ASCII does (printable ASCII, no
 * leading, trailing or repeated spaces; objectSid as bytes), a batch whose every entry holds
 * such values only and matches one of the values asked, no value of an entry left out
 * (attr_max), at most SM_MAX_ACCOUNTS entries a value (more: the lookup's SM_E_DIR_LIMIT is
 * left to it). Any other value or batch is not answered: its lookups go to the directory as
 * before. 0 (also when nothing could be kept), or what the directory said (SM_E_DIR_DOWN,
 * SM_E_DIR_REFUSED, -ENOMEM).
 */
#define DIR_PREFETCH_BATCH   32   /* values in one search (its filter: at most 32 escaped values) */
#define DIR_PREFETCH_ENTRIES 256  /* entries one batch may return (more: not kept) */
#define DIR_PREFETCH_MAX     4096 /* answers kept until dir_prefetch_clear() */
int dir_prefetch(struct sm_dir *d, const char *attr, const struct sm_blob *values, size_t n,
                 struct sm_errinfo *reterr);
/** Forget this thread's answers fetched in advance. */
void dir_prefetch_clear(void);
/** How many lookups this thread's answers fetched in advance answered (tests). */
size_t dir_prefetch_hits(void);

/*
 * Tests only: make the LDIF directory @d (another kind: nothing happens) answer by scanning its
 * entries, as before its indexes (lib/dir_ldif.c), which are freed. Before @d is shared.
 */
void dir_ldif_drop_index(struct sm_dir *d);

/* The NTAuth store from the backend, never from the lookup cache (lib/ntauth.c keeps it). */
int dir_ntauth_read(struct sm_dir *d, struct sm_accounts **ret, struct sm_errinfo *reterr);

struct ntauth_memo;

/* Free @d's NTAuth memo (lib/ntauth.c); sm_dir_close() calls it before the backend's free. */
void dir_ntauth_memo_free(struct sm_dir *d);

/*
 * The lookup cache (lib/dir_cache.c), keyed by the bytes lib/dir.c builds for a query. Each
 * takes the cache's lock.
 */
/** Does @c (may be NULL) store anything? A cache of 0 entries does not. */
bool dir_cache_stores(const struct sm_dir_cache *c);
/** 1 on a hit, the stored records appended to @data and their entry count in *@n; 0 on a
    miss; -ENOMEM. Counted in the statistics unless @quiet (a cache-only attempt: its hits are
    counted with dir_cache_count_hits() if it answers, its miss never). */
int dir_cache_get(struct sm_dir_cache *c, const struct su_buf *key, struct su_buf *data, size_t *n,
                  bool quiet);
void dir_cache_count_hits(struct sm_dir_cache *c, uint64_t n);

/** Store a copy of the records in @data (@n entries) under @key, with the TTL for answers with
    entries or without. Failing to cache is not an error. */
void dir_cache_put(struct sm_dir_cache *c, const struct su_buf *key, const struct su_buf *data,
                   size_t n);

/* Every backend's struct starts with this (zeroed by the backend). */
struct sm_dir {
    const struct dir_ops *ops;
    _Atomic(struct ntauth_memo *) ntauth_memo; /* lib/ntauth.c, made on first use */
    unsigned ntauth_ttl_s;                     /* how long the memo's store is used */
    char *base;                 /* search base / domain DN (may be NULL for LDIF: derived) */
    char *ntauth_dn;            /* NTAuth store DN */
    struct sm_dir_cache *cache; /* shared, may be NULL */
    bool cache_only;            /* sm_dir_set_cache_only(): the server is not asked */
    bool would_block;           /* ... and the attempt needed it (nothing is counted) */
    uint64_t quiet_hits;        /* the attempt's cache hits, counted if it answered */
};

#endif

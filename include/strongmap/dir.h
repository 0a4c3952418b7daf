/*
 * strongmap/dir.h - the directory: accounts and the forest's NTAuth store, from LDAP (Active
 * Directory, Samba, any server with an AD-like schema) or from an LDIF export.
 *
 * One interface, two backends. An LDAP handle is used by one thread at a time (the daemon gives
 * each worker its own); an LDIF handle is read-only after sm_dir_open_ldif() and may be queried
 * from several threads at once. Results own their memory and are freed with sm_accounts_free().
 */
#ifndef STRONGMAP_DIR_H
#define STRONGMAP_DIR_H

#include <time.h>

#include <strongmap/common.h>
#include <strongmap/sid.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Directory errors: SM_E_DIR_DOWN, SM_E_DIR_REFUSED, SM_E_DIR_LIMIT (enum sm_err in
 * strongmap/common.h), in addition to -ENOMEM, -EINVAL, -EPERM. */

#define SM_MAX_ACCOUNTS  16  /**< entries one lookup may return (more: SM_E_DIR_LIMIT) */
#define SM_MAX_ALTSEC    64  /**< altSecurityIdentities values kept per account */
#define SM_MAX_USERCERTS 16  /**< userCertificate values kept per account */
#define SM_MAX_KEYCREDS  16  /**< msDS-KeyCredentialLink values kept per account */
#define SM_MAX_NAME      512 /**< bytes of an account name given to a lookup */

/** userAccountControl bits that matter here. */
#define SM_UAC_ACCOUNTDISABLE    0x0002u
#define SM_UAC_WORKSTATION_TRUST 0x1000u
#define SM_UAC_SERVER_TRUST      0x2000u
#define SM_UAC_INTERDOMAIN_TRUST 0x0800u

/** A binary attribute value (userCertificate, cACertificate). */
struct sm_blob {
    const uint8_t *data;
    size_t len;
};

/** An account as read from the directory. Strings are UTF-8 and owned by the result. */
struct sm_account {
    const char *dn;
    const char *sam;      /**< sAMAccountName, or NULL */
    const char *upn;      /**< userPrincipalName, or NULL */
    const char *dns_host; /**< dNSHostName, or NULL */
    bool has_sid;
    struct sm_sid sid; /**< objectSid */
    bool has_created;
    time_t created; /**< whenCreated */
    bool has_changed;
    time_t changed; /**< whenChanged */
    bool has_uac;
    uint32_t uac;              /**< userAccountControl */
    bool is_computer;          /**< objectClass computer (or a workstation/server trust UAC) */
    const char *const *altsec; /**< altSecurityIdentities values */
    size_t n_altsec;
    const struct sm_blob *certs; /**< userCertificate values (DER) */
    size_t n_certs;
    const char *const *keycreds; /**< msDS-KeyCredentialLink values as LDAP writes them
                                      (DN-Binary: "B:<hex length>:<hex>:<DN>") */
    size_t n_keycreds;
};

/** Accounts found by one lookup (0..SM_MAX_ACCOUNTS). */
struct sm_accounts {
    const struct sm_account *v;
    size_t n;
};

/** Free a lookup result; NULL is fine. Returns NULL. */
struct sm_accounts *sm_accounts_free(struct sm_accounts *a);

/** How to read an account name. */
enum sm_lookup {
    SM_LOOKUP_AUTO =
        0,         /**< decide from the form: S-1-..., CN=...,  NAME$, user@realm, DOMAIN\\x, x */
    SM_LOOKUP_UPN, /**< userPrincipalName */
    SM_LOOKUP_SAM, /**< sAMAccountName, with or without "DOMAIN\\" */
    SM_LOOKUP_SID, /**< objectSid from SID text */
    SM_LOOKUP_DNS_HOST, /**< dNSHostName */
    SM_LOOKUP_DN,       /**< distinguished name */
};

/** "auto", "upn", "sam", "sid", "dns_host", "dn". */
const char *sm_lookup_name(enum sm_lookup how);

struct sm_dir;

/** LDAP backend settings. Strings are borrowed for the duration of sm_dir_open_ldap(). */
struct sm_ldap_config {
    const char *const *uris; /**< ldap:// or ldaps:// URIs, tried in order (failover) */
    size_t n_uris;
    const char *base;      /**< search base (the domain's DN) */
    const char *bind_dn;   /**< simple bind DN, or NULL for anonymous / SASL */
    const char *password;  /**< simple bind password (read from a file by the caller) */
    const char *sasl_mech; /**< "GSSAPI" for Kerberos with a keytab (KRB5_CLIENT_KTNAME), or NULL */
    const char *ca_file;   /**< CA bundle for ldaps/StartTLS, or NULL for the system default */
    bool starttls;         /**< StartTLS on ldap:// URIs */
    unsigned connect_timeout_ms; /**< TCP connect deadline, default 3000 */
    unsigned op_timeout_ms;      /**< per operation (bind, search), default 5000 */
    unsigned tls_timeout_ms;     /**< TLS handshake watchdog, default 5000 */
    const char *ntauth_dn;       /**< NTAuth store DN; default CN=NTAuthCertificates,CN=Public Key
                                      Services,CN=Services,CN=Configuration,<base> */
};

/** Open an LDAP directory. Connects lazily: succeeds even when no server answers yet. */
int sm_dir_open_ldap(const struct sm_ldap_config *cfg, struct sm_dir **ret,
                     struct sm_errinfo *reterr);

/**
 * Open an LDIF export (libldap's ldif.h parser). Entries are kept in memory; the same queries
 * answer as against a server. Returns 0, -ENOENT, -EINVAL (syntax, with the line in @reterr).
 */
int sm_dir_open_ldif(const char *path, struct sm_dir **ret, struct sm_errinfo *reterr);

/** Close and free; NULL is fine. Returns NULL. */
struct sm_dir *sm_dir_close(struct sm_dir *d);

/**
 * Look an account up by name. 0 with (*ret)->n == 0 when none exists. A distinguished name
 * outside the directory's base (the configured search base; an LDIF's domain) is refused with
 * -EPERM: names come from clients, and the base is what the operator chose to expose.
 */
int sm_dir_lookup(struct sm_dir *d, enum sm_lookup how, const char *name, struct sm_accounts **ret,
                  struct sm_errinfo *reterr);

/**
 * Accounts holding any of @values in altSecurityIdentities (case-insensitive equality, as the
 * attribute's matching rule). @n <= SM_MAX_ALTSEC.
 */
int sm_dir_find_altsec(struct sm_dir *d, const char *const *values, size_t n,
                       struct sm_accounts **ret, struct sm_errinfo *reterr);

/**
 * The forest's NTAuth store (cACertificate values) into *@ret (an sm_accounts with one pseudo
 * account whose certs are the CA certificates; dn = the store's DN). Absent store: n == 0.
 */
int sm_dir_ntauth(struct sm_dir *d, struct sm_accounts **ret, struct sm_errinfo *reterr);

#define SM_NTAUTH_TTL_DEFAULT 60    /**< seconds a handle keeps the NTAuth store for verdicts */
#define SM_NTAUTH_TTL_MAX     86400 /**< longer settings are clamped to a day */

/**
 * How long @d keeps the NTAuth store its verdicts read (default SM_NTAUTH_TTL_DEFAULT; 0: read
 * for every verdict). A verdict whose issuing CA is not in the kept store reads it again along
 * with its first directory search (the same round trip), so a CA added to the store counts at
 * once; a CA removed counts until the kept store is older than @ttl_s. sm_dir_ntauth() is not
 * affected. Set it before the handle is used.
 */
void sm_dir_set_ntauth_ttl(struct sm_dir *d, unsigned ttl_s);

/**
 * Cache-only mode for @d (off by default): while it is on, a lookup that @d's cache (and its
 * kept NTAuth store) cannot answer fails with SM_E_DIR_WOULD_BLOCK instead of asking the server,
 * so that a caller that must not wait (strongmapd's HTTP threads) can try a verdict and hand it
 * to a thread that may wait only when the directory must be asked. Nothing is counted or kept
 * by the attempt. A backend that never waits (the LDIF file) answers as usual. @d must not be
 * in use by another thread while the mode changes.
 */
void sm_dir_set_cache_only(struct sm_dir *d, bool on);

/*
 * Every account of the directory that holds a published certificate (userCertificate), an
 * altSecurityIdentities value, or both: users and computers (objectClass user or computer), in
 * the directory's order, one at a time. The LDAP backend reads them in pages (the Simple Paged
 * Results control, RFC 2696) and holds one page at a time; each page's search has the
 * operation timeout of its own. The LDIF backend scans its entries.
 */
#define SM_DIR_PAGE_DEFAULT 500  /**< entries per page unless told */
#define SM_DIR_PAGE_MAX     1000 /**< Active Directory's MaxPageSize default: no more per page */

/** Called with the accounts of a page (those @fn is about to see, in the same order) before
    @fn sees them one by one; valid during the call only. 0 to go on, or a negative code to stop.
    The LDAP backend gives a page of the walk at a time, an LDIF one account at a time. */
typedef int (*sm_dir_page_fn)(const struct sm_accounts *page, void *ctx);

struct sm_dir_each_opts {
    time_t since;        /**< only entries whose whenChanged is later (0: every entry) */
    unsigned page_size;  /**< LDAP entries per page, 1..SM_DIR_PAGE_MAX (0: the default) */
    bool values_only;    /**< LDAP reads only the accounts holding altSecurityIdentities, and only
                              their objectClass, altSecurityIdentities and whenChanged (a first
                              pass over the values, which AD's index of the attribute answers: no
                              certificate is transferred, no account with certificates only is
                              read); the accounts then lack every other attribute. An LDIF gives
                              every account, whole */
    sm_dir_page_fn page; /**< may be NULL (above) */
};

/** Called once per account; @acc is valid during the call only. 0 to go on, or a negative
    code to stop: sm_dir_each_account() returns it as is. */
typedef int (*sm_dir_each_fn)(const struct sm_account *acc, void *ctx);

/**
 * Call @fn for each such account (above). @d is busy meanwhile: @fn must not use it (an LDAP
 * server may keep one paged search per connection); open a second handle for lookups. @o may
 * be NULL. 0 when every account was seen; @fn's own negative code; SM_E_DIR_DOWN,
 * SM_E_DIR_REFUSED, -ENOMEM, -EINVAL (reason in @reterr) when the walk stopped early: the
 * accounts seen so far were given to @fn.
 */
int sm_dir_each_account(struct sm_dir *d, const struct sm_dir_each_opts *o, sm_dir_each_fn fn,
                        void *ctx, struct sm_errinfo *reterr);

/** Check that the directory answers (bind + base read). 0 or SM_E_DIR_DOWN/REFUSED. */
int sm_dir_ping(struct sm_dir *d, struct sm_errinfo *reterr);

/** "ldap" or "ldif". */
const char *sm_dir_kind(const struct sm_dir *d);

/*
 * A bounded cache of lookup results (positive and negative), shared by the sm_dir handles of
 * several threads (internally locked). Keys are the query (kind + attribute + values, or DN);
 * entries expire after their TTL; the least recently used entry goes when the cache is full.
 * An answer the cache has no memory to store is returned all the same, uncached.
 */
struct sm_dir_cache;

struct sm_dir_cache_stats {
    uint64_t hits, misses, insertions, evictions, expirations;
    size_t entries;
};

/** @max_entries 0 disables caching. TTLs in seconds. NULL on OOM. */
struct sm_dir_cache *sm_dir_cache_new(size_t max_entries, unsigned ttl_s, unsigned negative_ttl_s);
/** Free; NULL is fine; no sm_dir may use it any more. Returns NULL. */
struct sm_dir_cache *sm_dir_cache_free(struct sm_dir_cache *c);
/** Use @c (may be NULL: no cache) for @d's lookups; @c must outlive @d. */
void sm_dir_set_cache(struct sm_dir *d, struct sm_dir_cache *c);
/** Counters (thread-safe snapshot). */
void sm_dir_cache_stats(struct sm_dir_cache *c, struct sm_dir_cache_stats *out);
/** Drop every entry (e.g. after a reload). */
void sm_dir_cache_clear(struct sm_dir_cache *c);

#ifdef __cplusplus
}
#endif

#endif

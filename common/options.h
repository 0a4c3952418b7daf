/*
 * common/options.h - what strongmapd, its HTTP API and the strongmap CLI read alike: the
 * directory flags (--ldif, --ldap-*), DC profiles with their what-if overrides (mode,
 * backdating), RFC 3339 times and the LDAP password file.
 *
 * In common/ (the library strongmap_common) so that the three share one definition and one set
 * of error messages. Functions return 0 or -EINVAL (-errno for files) and, when they fail, fill
 * @e (struct sm_errinfo; may be NULL): its text one line, its field what the text names
 * ("--ldap-uri", "profile", "mode"); the directory flags' origin is SM_ORIGIN_ARGUMENT, the
 * others leave the caller's.
 */
#ifndef SM_COMMON_OPTIONS_H
#define SM_COMMON_OPTIONS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct stat;

#include <strongmap/dir.h>
#include <strongmap/verdict.h>

#define OPT_MAX_LDAP_URIS    16           /* --ldap-uri given at most this often */
#define OPT_PASSWORD_MAX     1024         /* bytes of a bind password file */
#define OPT_BACKDATING_MAX   4294967295LL /* CertificateBackdatingCompensation is a DWORD */
#define OPT_PROBE_TIMEOUT_MS 1000 /* connect / operation / TLS deadline of a readiness probe */

/* getopt_long values of the directory flags (above any short option character). */
enum opt_dir_flag {
    OPT_DIR_LDIF = 0x1000,
    OPT_DIR_LDAP_URI,
    OPT_DIR_LDAP_BASE,
    OPT_DIR_LDAP_BIND_DN,
    OPT_DIR_LDAP_PASSWORD_FILE,
    OPT_DIR_LDAP_CA_FILE,
    OPT_DIR_LDAP_STARTTLS,
    OPT_DIR_LDAP_SASL_MECH,
};

/* The directory flags as struct option initialisers, for a getopt_long table. */
// clang-format off
#define OPT_DIR_LONGOPTS \
    { "ldif", required_argument, NULL, OPT_DIR_LDIF }, \
    { "ldap-uri", required_argument, NULL, OPT_DIR_LDAP_URI }, \
    { "ldap-base", required_argument, NULL, OPT_DIR_LDAP_BASE }, \
    { "ldap-bind-dn", required_argument, NULL, OPT_DIR_LDAP_BIND_DN }, \
    { "ldap-password-file", required_argument, NULL, OPT_DIR_LDAP_PASSWORD_FILE }, \
    { "ldap-ca-file", required_argument, NULL, OPT_DIR_LDAP_CA_FILE }, \
    { "ldap-starttls", no_argument, NULL, OPT_DIR_LDAP_STARTTLS }, \
    { "ldap-sasl-mech", required_argument, NULL, OPT_DIR_LDAP_SASL_MECH }

/* Their usage text, for both programs. */
#define OPT_DIR_USAGE \
    "  --ldif FILE             read the directory from an LDIF export\n" \
    "  --ldap-uri URI          ldap:// or ldaps:// server; repeat for failover, tried in order\n" \
    "  --ldap-base DN          search base: the domain's DN (needed with --ldap-uri)\n" \
    "  --ldap-bind-dn DN       simple bind as DN (with --ldap-password-file)\n" \
    "  --ldap-password-file F  the bind password: F's content, one trailing newline removed\n" \
    "  --ldap-ca-file F        CA bundle for ldaps:// and StartTLS (default: the system's)\n" \
    "  --ldap-starttls         StartTLS on ldap:// URIs (needed for a simple bind there)\n" \
    "  --ldap-sasl-mech GSSAPI SASL bind with Kerberos (keytab in KRB5_CLIENT_KTNAME)\n"
// clang-format on

/** Where the directory is. All strings are borrowed from argv. */
struct opt_dir {
    const char *ldif;
    const char *uris[OPT_MAX_LDAP_URIS];
    size_t n_uris;
    const char *base, *bind_dn, *password_file, *ca_file, *sasl_mech;
    bool starttls;
    /* LDAP deadlines in milliseconds, 0: the backend's default (strongmap/dir.h) */
    unsigned connect_timeout_ms, op_timeout_ms, tls_timeout_ms;
};

/** Take directory flag @flag (enum opt_dir_flag) with @arg (NULL for --ldap-starttls). */
int opt_dir_set(struct opt_dir *d, int flag, const char *arg, struct sm_errinfo *e);

/** After all flags: do they go together? */
int opt_dir_check(const struct opt_dir *d, struct sm_errinfo *e);

/** A directory was configured (--ldif or --ldap-uri). */
bool opt_dir_configured(const struct opt_dir *d);

/** A check of a file's fstat() before it is read: 0, or a negative code with @e filled. */
typedef int opt_file_check(const struct stat *st, const char *path, void *arg,
                           struct sm_errinfo *e);

/**
 * Read a bind password from @path: a regular file of at most OPT_PASSWORD_MAX bytes, one
 * trailing "\n" (or "\r\n") removed, not empty, no NUL. @check (NULL: none) is called with
 * @arg and the open file's status before anything is read; its error refuses the file. *@ret is
 * malloc()ed: release it with opt_password_free(), which wipes it first. Errors: -errno (with
 * the file's name in @e), -EINVAL, or @check's.
 */
int opt_read_password(const char *path, opt_file_check *check, void *arg, char **ret,
                      struct sm_errinfo *e);

/** Wipe and free a password from opt_read_password(); NULL is fine. Returns NULL. */
char *opt_password_free(char *password);

/**
 * Open a handle on the directory of @d (configured, checked). @password: the bind password or
 * NULL. @probe: short deadlines (OPT_PROBE_TIMEOUT_MS, or @d's when shorter), for readiness
 * checks. Returns what
 * sm_dir_open_ldif() / sm_dir_open_ldap() return.
 */
int opt_dir_open(const struct opt_dir *d, const char *password, bool probe, struct sm_dir **ret,
                 struct sm_errinfo *reterr);

/** A list of DC profiles (a fleet). */
struct opt_profiles {
    struct sm_profile v[SM_MAX_PROFILES];
    size_t n;
};

/** Append the profile named @name ("windows-2016" ... "samba"), with its defaults. */
int opt_profile_add(struct opt_profiles *p, const char *name, struct sm_errinfo *e);

/** Mode and backdating overrides; a negative value means "not given". */
struct opt_whatif {
    int mode;
    long long backdating_s;
};

#define OPT_WHATIF_NONE ((struct opt_whatif){ .mode = -1, .backdating_s = -1 })

/**
 * Apply @w to every profile of @p. A mode must suit every profile: 1 or 2 for Windows, 0 to 2
 * for Samba; backdating 0..OPT_BACKDATING_MAX seconds.
 */
int opt_whatif_apply(struct opt_profiles *p, const struct opt_whatif *w, struct sm_errinfo *e);

/** Strict unsigned decimal no larger than @max. */
int opt_parse_ull(const char *s, unsigned long long max, unsigned long long *ret);

/**
 * An RFC 3339 date-time ("2026-06-01T00:00:00Z", "...T02:00:00.5+02:00"; without an offset:
 * UTC), from 1970-01-01T00:00:01Z to the year 9999. Fractions of a second are dropped.
 */
int opt_parse_time(const char *s, time_t *ret);

#endif

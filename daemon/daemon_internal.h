/*
 * daemon/daemon_internal.h - private to the strongmapd program's own files: main.c (start-up,
 * arguments, sockets, privileges, the signal loop), reload.c (the runtime built from a
 * configuration, the reload) and files.c (the files the configuration names, read and checked).
 */
#ifndef SM_DAEMON_INTERNAL_H
#define SM_DAEMON_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <strongmap/cert.h>

#include "api.h"
#include "config.h"

#define MAX_SERVERS 20 /* one per listening socket: listen= (16), [self] listen= (4) */

/* A directive given on the command line, applied over the file at start and at each reload. */
struct flag {
    int id;            /* enum cfg_id, or FLAG_OPTION for -o */
    const char *value; /* borrowed from argv; NULL for a flag without argument */
    char as[48];       /* how messages name it: "--threads", "-t" */
};

#define FLAG_OPTION (-1)

struct args {
    const char *config; /* -c; NULL: CFG_DEFAULT_PATH when it exists */
    bool check, print;
    struct flag *flags;
    size_t n_flags;
};

/* ---- main.c: the process ---- */

/*
 * The main thread's state. The runtime in force was built from @running (api.h: each server
 * holds a reference on it, each request too; this is the main thread's).
 */
extern struct cfg *boot;            /* the configuration started with: restart-only settings */
extern struct cfg *running;         /* the configuration in force: @boot, or a reload's */
extern struct api_runtime *current; /* the runtime built from @running */
extern struct api *servers[MAX_SERVERS];
extern size_t n_servers;
extern bool loopback_only;    /* every listening socket is on a loopback address */
extern uid_t service_uid;     /* user=, resolved: may own the files named */
extern char page_open_addr[]; /* a listener serving the page that is not loopback, "" none */
#define PAGE_OPEN_ADDR_MAX 64

/*
 * [page] lab_mode answers any account name typed into the page with that account's details:
 * refused (-EPERM, the reason in @e) while the page is open (scope.page none) on a listener
 * that is not loopback (@where, NULL or "": none).
 */
int check_lab_mode(const struct cfg *c, const char *where, struct sm_errinfo *e);

/* The file to read: -c, else the default when it exists; NULL: built-in defaults. */
const char *config_path(const struct args *a);

/* Read and check the configuration of @a: the file, then the flags. */
int load_config(const struct args *a, struct cfg **ret, struct sm_errinfo *e);

/* Tell the service manager @state (sd_notify); a failure is logged. */
void notify(const char *state);

/* ---- files.c: the files the configuration names ---- */

struct tls_files {
    char *cert, *key, *client_ca; /* NUL-terminated PEM, or NULL */
    size_t key_size;
};

void tls_files_free(struct tls_files *t);

/*
 * Errors of the functions below: a negative code with @e filled, its text naming the directive
 * ("FILE:LINE: key: why", cfg_fail()).
 */

/* Read the TLS files of @c ([tls] cert, key, client_ca) into @t. */
int tls_files_read(const struct cfg *c, struct tls_files *t, struct sm_errinfo *e);

/* opt_read_password()'s check of the bind password file. */
int password_check(const struct stat *st, const char *path, void *arg, struct sm_errinfo *e);

/*
 * The files @c names that libraries open themselves: the LDIF export, the LDAP CA bundle, the
 * Kerberos keytab (KRB5_CLIENT_KTNAME, with GSSAPI) and the decision log (when it exists).
 */
int check_named_files(const struct cfg *c, struct sm_errinfo *e);

/* The certificates samba_pkinit_anchors names, parsed into *@ret (NULL when not set). */
int load_samba_anchors(const struct cfg *c, struct sm_certs **ret, struct sm_errinfo *e);
/* [step-ca] issuer: one CA certificate into *@ret (NULL when not set). */
int load_stepca_issuer(const struct cfg *c, struct sm_certs **ret, struct sm_errinfo *e);

/*
 * The step-ca webhooks [step-ca] webhooks names (a secret file: owner and mode checked as the
 * bind password's), one "ID SECRET" line each ('#' comments, blank lines), into @rt's webhooks:
 * the secret base64-decoded, as step-ca uses it for the HMAC.
 */
int load_webhooks(const struct cfg *c, struct api_runtime *rt, struct sm_errinfo *e);

/*
 * The status page's message catalogues of [page] messages (every LANG.json of that directory,
 * at most 32, each data owned as the LDIF is), added to the shipped ones into @rt's
 * page_messages. Missing and unknown keys are logged (warning) and the catalogue is used; a
 * file that is not JSON, or not texts with English's placeholders, is an error (@e: the file,
 * its line and column). When @rt has the organisation's help to show (its organisation,
 * helpdesk or links, set before), its catalogues are its own, also without [page] messages,
 * and their page shows that help.
 */
int load_page_messages(const struct cfg *c, struct api_runtime *rt, struct sm_errinfo *e);

/* ---- reload.c: the runtime of a configuration, and the reload ---- */

/*
 * [write] is configured but no token may write (scope write; scope admin wrote mappings before
 * write existed, and no longer does): true with the warning, naming such a token, in @buf.
 */
bool write_scope_warning(const struct cfg *c, char *buf, size_t size);

/* The directory, the lookup cache and the default DC profiles of @c, at info level; the write
 * scope's warning (write_scope_warning()) at warning level. */
void log_directory(const struct cfg *c, unsigned handles);

/*
 * The runtime of @c into *@ret (api_runtime_unref()): its settings, its directory opened with
 * @handles handles, the Samba anchors it names; not its decision log (runtime_open_log()).
 * Errors as open_directory()'s and load_samba_anchors()'s.
 */
int runtime_build(const struct cfg *c, unsigned handles, struct api_runtime **ret,
                  struct sm_errinfo *e);

/* Open the decision log and the write-back's audit log @c names, if any, into @rt (not yet
 * published); @e names the directive. */
int runtime_open_log(const struct cfg *c, struct api_runtime *rt, struct sm_errinfo *e);

/* SIGHUP: read the configuration again and make it the runtime of every server, or keep the
 * running one (logged). */
void reload(const struct args *a);

#endif

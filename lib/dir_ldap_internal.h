/*
 * lib/dir_ldap_internal.h - what the files of the LDAP backend share: lib/dir_ldap.c (the
 * handle: opening, the dir_ops, searches), lib/dir_ldap_conn.c (its connection: URIs, TLS,
 * binds, the TLS watchdog, the backoff), lib/dir_ldap_write.c (the one modify) and
 * lib/dir_ldap_enum.c (the paged walk). They and this header are the only files that include
 * <ldap.h>.
 * Not sm_-prefixed: libstrongmap keeps these local.
 */
#ifndef SM_LIB_DIR_LDAP_INTERNAL_H
#define SM_LIB_DIR_LDAP_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#include <lber.h>
#include <ldap.h>

#include "dir_internal.h"

/* State shared between a connection attempt, libldap's connect callback and the watchdog. */
struct watchdog {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fd;                   /* socket of the current connection, -1 when none */
    bool running;             /* a connection attempt is in progress */
    bool armed;               /* TCP is up: the deadline runs */
    bool fired;               /* the watchdog shut the socket down */
    bool tcp_up;              /* the connect callback ran: TCP was established */
    struct timespec deadline; /* CLOCK_MONOTONIC */
    unsigned ms;              /* tls_timeout_ms */
};

struct ldap_dir {
    struct sm_dir hdr; /* first: dir.c sees a struct sm_dir */
    char **uris;
    size_t n_uris;
    char *bind_dn;
    char *password; /* wiped before it is freed */
    char *sasl_mech;
    char *ca_file;
    bool starttls;
    unsigned connect_ms, op_ms, tls_ms;

    LDAP *ld;       /* the connection (TLS and bind done), or NULL */
    size_t uri_idx; /* which URI ld talks to */
    size_t first;   /* URI a connection pass starts with: the one after a stalled server */
    size_t stalls;  /* operation timeouts in a row, one per URI at most before backing off */

    unsigned backoff_ms; /* 0: no failure since the last successful connect */
    struct timespec retry_at;
    int down_err; /* what calls return while backing off */
    char down_reason[sizeof(((struct sm_errinfo *)0)->text)];

    ldap_conncb conncb; /* must live as long as any LDAP* of this handle */
    struct watchdog wd;
};

static inline struct timeval ms_to_tv(unsigned ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (long)(ms % 1000) * 1000 };
    return tv;
}

/* Copy @src into @dst as one line: control characters become spaces. */
static inline void copy_line(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < size; i++)
        dst[i] = ((unsigned char)src[i] < 0x20 || src[i] == 0x7f) ? ' ' : src[i];
    dst[i] = '\0';
}

/* The server's (or libldap's) diagnostic message for the last operation, as one line. */
static inline void diag_of(LDAP *ld, char *buf, size_t size)
{
    char *msg = NULL;
    buf[0] = '\0';
    if (ld && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &msg) == LDAP_OPT_SUCCESS && msg) {
        copy_line(buf, size, msg);
        ldap_memfree(msg);
    }
}

/* ---- lib/dir_ldap.c ---- */

/** Hand one search entry to dir.c: its DN, then every value (dir.c keeps those of DIR_ATTRS;
    an attribute's options, "userCertificate;binary", are ignored). 0, SM_E_DIR_DOWN or
    -ENOMEM. */
int ldap_add_entry(LDAP *ld, LDAPMessage *e, struct raw_entries *out);

/* ---- lib/dir_ldap_conn.c ---- */

/** Set up @l's watchdog and the connect callback that arms it. 0 or -ENOMEM. */
int watchdog_init(struct ldap_dir *l);
/** Undo watchdog_init(); no connection attempt may be running. */
void watchdog_destroy(struct watchdog *w);
/**
 * Make sure l->ld is a bound connection (trying the URIs in order). *@fresh tells whether this
 * call made it. While backing off after a failed pass, fails at once with the last error.
 */
int ensure_conn(struct ldap_dir *l, bool *fresh, struct sm_errinfo *reterr);
/** Unbind and forget l->ld, if any. */
void drop_conn(struct ldap_dir *l);
/** After a failed pass: calls fail fast with @err and @reason until the (doubling) backoff
    expires. */
void back_off(struct ldap_dir *l, int err, const char *reason);

/* ---- lib/dir_ldap_enum.c ---- */

/** dir_ops.each (lib/dir_internal.h) of the LDAP backend: the paged walk. */
int ldap_each(struct sm_dir *d, time_t since, unsigned page_size, struct dir_each *w,
              struct sm_errinfo *reterr);

/* ---- lib/dir_ldap_write.c ---- */

/** dir_ops.modify_value (lib/dir_internal.h) of the LDAP backend. */
int ldap_modify_value(struct sm_dir *d, const char *dn, bool add, const char *attr,
                      const char *value, size_t len, struct sm_errinfo *reterr);

#endif

/*
 * daemon/fileperm.h - is a file's owner and mode safe for what it holds? strongmapd refuses
 * (or warns about) files that others could rewrite or read, as OpenSSH does for its keys
 * ("UNPROTECTED PRIVATE KEY FILE", ssh(1)) and configuration files ("Bad owner or
 * permissions", ssh_config(5)).
 *
 * The owners accepted are root, the effective user and the user the daemon switches to
 * (user=). A group-writable file is fine when its group is the owner's own private group (the
 * group named after the owner, with no other member: Debian's OpenSSH accepts that too).
 *
 *   kind     writable by all   writable by group   readable by all   readable by group   other
 * owner config   refuse            refuse              fine              fine                refuse
 *   secret   refuse            refuse              refuse            root-owned only     refuse
 *   data     refuse            warn                fine              fine                warn
 *
 * A secret (TLS key, bind password, keytab) readable by its group is what the unit needs
 * (root:strongmapd 0640, as Debian's ssl-cert group does for keys); owned by an ordinary user
 * it must be 0600, as OpenSSH requires for a user's keys. The configuration file holds no
 * secret (token hashes only) and the package installs it root:root 0644.
 *
 * A leaf module: it does not log. Functions return 0, FPERM_WARN or -EPERM.
 */
#ifndef SM_DAEMON_FILEPERM_H
#define SM_DAEMON_FILEPERM_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <strongmap/common.h>

#define FPERM_WARN   1           /* acceptable, but say why */
#define FPERM_NO_UID ((uid_t)-1) /* no service user */

/** What a file holds. */
enum fperm_kind {
    FPERM_CONFIG, /**< the configuration file: it decides everything */
    FPERM_SECRET, /**< a private key, a password, a keytab */
    FPERM_DATA,   /**< trusted, not secret: certificates, CA bundles, the LDIF, the decision log */
};

/**
 * Check @st (from fstat() or stat() of @path) for a file holding @kind. @service_uid: the user
 * the daemon runs as after dropping root (FPERM_NO_UID: none), an owner accepted besides root
 * and the effective user. Returns 0; FPERM_WARN with one line in @e's text; or -EPERM with one
 * line in @e's text saying what is wrong and how to fix it ("chmod 0600 ...").
 */
int fperm_check(const struct stat *st, const char *path, enum fperm_kind kind, uid_t service_uid,
                struct sm_errinfo *e);

#endif

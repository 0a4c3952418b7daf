/*
 * daemon/privdrop.h - leaving root: the user and group to become, and the switch itself.
 *
 * Under systemd the unit starts strongmapd as its own user and none of this runs. Started as
 * root (another init system, a container), the daemon opens what needs root first (listening
 * sockets, TLS key, bind password, LDIF), then calls privdrop_apply(): setgroups, setresgid,
 * setresuid, and a check that root cannot be regained (OpenBSD ntpd's sequence).
 */
#ifndef SM_DAEMON_PRIVDROP_H
#define SM_DAEMON_PRIVDROP_H

#include <stddef.h>
#include <sys/types.h>

#include <strongmap/common.h>

struct privdrop {
    uid_t uid;
    gid_t gid;
    char user[64], group[64]; /* names, for messages */
};

/**
 * Look up @user (a name or a numeric uid) and @group (a name or a numeric gid; NULL: the
 * user's primary group) while the account databases are still readable. Refuses uid 0.
 * Returns 0 or -EINVAL / -ENOENT with the reason in @e.
 */
int privdrop_resolve(const char *user, const char *group, struct privdrop *ret,
                     struct sm_errinfo *e);

/**
 * Become @p: supplementary groups reduced to @p->gid, real/effective/saved gid and uid set, then
 * verified (setuid(0) must fail, the ids must be @p's). The whole process changes (glibc applies
 * it to every thread). Returns 0 or -errno with the reason in @e.
 */
int privdrop_apply(const struct privdrop *p, struct sm_errinfo *e);

#endif

/*
 * daemon/privdrop.c - leaving root (see privdrop.h).
 */
#define _GNU_SOURCE /* setresuid(), getresuid() */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "privdrop.h"
#include "su_dec.h"

/* A numeric id: digits only, below (id_t)-1. */
static int parse_id(const char *s, unsigned long *ret)
{
    uint64_t v;

    if (su_dec_u64(s, strlen(s), (uid_t)-1 - 1, NULL, &v) < 0)
        return -EINVAL;
    *ret = v;
    return 0;
}

int privdrop_resolve(const char *user, const char *group, struct privdrop *ret,
                     struct sm_errinfo *e)
{
    struct privdrop p;
    const struct passwd *pw;
    const struct group *gr;
    unsigned long id;

    memset(&p, 0, sizeof(p));
    errno = 0;
    pw = getpwnam(user);
    if (pw) {
        p.uid = pw->pw_uid;
        p.gid = pw->pw_gid;
    } else if (parse_id(user, &id) == 0) {
        p.uid = (uid_t)id;
        p.gid = (gid_t)id; /* a bare uid without a group: its own number */
    } else {
        snprintf(e->text, sizeof(e->text), "user %.64s: no such user", user);
        return -ENOENT;
    }
    if (p.uid == 0) {
        snprintf(e->text, sizeof(e->text), "user %.64s is root: name an unprivileged user", user);
        return -EINVAL;
    }
    snprintf(p.user, sizeof(p.user), "%s", user);
    if (group) {
        errno = 0;
        gr = getgrnam(group);
        if (gr) {
            p.gid = gr->gr_gid;
        } else if (parse_id(group, &id) == 0) {
            p.gid = (gid_t)id;
        } else {
            snprintf(e->text, sizeof(e->text), "group %.64s: no such group", group);
            return -ENOENT;
        }
        snprintf(p.group, sizeof(p.group), "%s", group);
    } else {
        gr = getgrgid(p.gid);
        if (gr)
            snprintf(p.group, sizeof(p.group), "%s", gr->gr_name);
        else
            snprintf(p.group, sizeof(p.group), "%lu", (unsigned long)p.gid);
    }
    if (p.gid == 0) {
        snprintf(e->text, sizeof(e->text), "group %s is root's: name an unprivileged group",
                 p.group);
        return -EINVAL;
    }
    *ret = p;
    return 0;
}

int privdrop_apply(const struct privdrop *p, struct sm_errinfo *e)
{
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    int r;

    if (setgroups(1, &p->gid) < 0 || setresgid(p->gid, p->gid, p->gid) < 0 ||
        setresuid(p->uid, p->uid, p->uid) < 0) {
        r = -errno;
        snprintf(e->text, sizeof(e->text), "cannot switch to user %s, group %s: %s", p->user,
                 p->group, strerror(-r));
        return r;
    }
    if (getresuid(&ruid, &euid, &suid) < 0 || getresgid(&rgid, &egid, &sgid) < 0 ||
        ruid != p->uid || euid != p->uid || suid != p->uid || rgid != p->gid || egid != p->gid ||
        sgid != p->gid) {
        snprintf(e->text, sizeof(e->text),
                 "switched to user %s, group %s, but the ids do not match", p->user, p->group);
        return -EPERM;
    }
    if (setuid(0) == 0 || seteuid(0) == 0) {
        snprintf(e->text, sizeof(e->text), "switched to user %s, yet root could be regained",
                 p->user);
        return -EPERM;
    }
    return 0;
}

/* daemon/fileperm.c - owner and mode checks of the files strongmapd reads (see fileperm.h). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileperm.h"

#define NSS_BUF_MAX (1024 * 1024) /* bytes for one passwd and one group entry */

/*
 * Is group @gid the private group of user @uid: the user's primary group with no member
 * listed, or a group whose only member is the user? Unknown user or group: no.
 */
static bool private_group(uid_t uid, gid_t gid)
{
    struct passwd pw, *pwr = NULL;
    struct group gr, *grr = NULL;
    size_t half = 8192;
    char *buf = NULL;
    bool r = false;

    for (;;) {
        int e1, e2;

        free(buf);
        buf = malloc(2 * half);
        if (!buf)
            return false;
        e1 = getpwuid_r(uid, &pw, buf, half, &pwr);
        e2 = getgrgid_r(gid, &gr, buf + half, half, &grr);
        if ((e1 != ERANGE && e2 != ERANGE) || 2 * half >= NSS_BUF_MAX)
            break;
        half *= 4;
    }
    if (pwr && grr) {
        if (!gr.gr_mem[0])
            r = pw.pw_gid == gid;
        else
            r = !gr.gr_mem[1] && strcmp(gr.gr_mem[0], pw.pw_name) == 0;
    }
    free(buf);
    return r;
}

static int say(int r, struct sm_errinfo *e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int say(int r, struct sm_errinfo *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
    va_end(ap);
    return r;
}

int fperm_check(const struct stat *st, const char *path, enum fperm_kind kind, uid_t service_uid,
                struct sm_errinfo *e)
{
    unsigned mode = (unsigned)st->st_mode & 07777;
    bool owner_ok = st->st_uid == 0 || st->st_uid == geteuid() ||
                    (service_uid != FPERM_NO_UID && st->st_uid == service_uid);
    bool group_writable = (mode & S_IWGRP) && !private_group(st->st_uid, st->st_gid);
    const char *what = kind == FPERM_SECRET ? "holds a secret and " : "";

    if (mode & S_IWOTH)
        return say(-EPERM, e, "%s %sis writable by everyone (mode %04o): chmod o-w %s", path, what,
                   mode, path);
    if (!owner_ok) {
        int r = kind == FPERM_DATA ? FPERM_WARN : -EPERM;

        return say(r, e,
                   "%s %sbelongs to uid %u, neither root nor the user strongmapd runs as: "
                   "that user can change it%s",
                   path, what, (unsigned)st->st_uid, r < 0 ? " (chown root it)" : "");
    }
    if (group_writable) {
        int r = kind == FPERM_DATA ? FPERM_WARN : -EPERM;

        return say(r, e, "%s %sis writable by group %u (mode %04o), not its owner's own group%s",
                   path, what, (unsigned)st->st_gid, mode, r < 0 ? ": chmod g-w it" : "");
    }
    if (kind != FPERM_SECRET)
        return 0;
    if (mode & S_IROTH)
        return say(-EPERM, e,
                   "%s holds a secret and is readable by everyone (mode %04o): chmod 0600 it, "
                   "or 0640 with owner root and the service's group",
                   path, mode);
    if ((mode & S_IRGRP) && st->st_uid != 0 && !private_group(st->st_uid, st->st_gid))
        return say(-EPERM, e,
                   "%s holds a secret, belongs to uid %u and is readable by group %u (mode "
                   "%04o): chmod 0600 it, or give it to root with mode 0640",
                   path, (unsigned)st->st_uid, (unsigned)st->st_gid, mode);
    return 0;
}

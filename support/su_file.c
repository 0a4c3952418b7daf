/*
 * support/su_file.c - opening a file that is to be read whole (su_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "su_file.h"

int su_open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC), flags, r;

    if (fd < 0)
        return -errno;
    if (fstat(fd, st) < 0 || (flags = fcntl(fd, F_GETFL)) < 0 ||
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    if (!S_ISREG(st->st_mode)) {
        close(fd);
        return -EINVAL;
    }
    return fd;
}

/*
 * daemon/notify.c - sd_notify(3) in a few lines: one datagram to the AF_UNIX socket named by
 * $NOTIFY_SOCKET ("/path" or "@abstract"). Same approach as chrony's notify_system_manager().
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

int notify_send(const char *state)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    const char *path = getenv("NOTIFY_SOCKET");
    size_t path_len, state_len = strlen(state);
    socklen_t sa_len;
    ssize_t n;
    int fd, ret = 0;

    if (!path || !*path)
        return 0;
    if (path[0] != '/' && path[0] != '@')
        return -EAFNOSUPPORT; /* e.g. "vsock:...": not supported */
    path_len = strlen(path);
    if (path_len >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, path_len);
    if (sa.sun_path[0] == '@')
        sa.sun_path[0] = '\0'; /* abstract namespace: the name is not NUL-terminated */
    sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len);

    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    n = sendto(fd, state, state_len, MSG_NOSIGNAL, (const struct sockaddr *)&sa, sa_len);
    if (n < 0)
        ret = -errno;
    else if ((size_t)n != state_len)
        ret = -EMSGSIZE;
    close(fd);
    return ret;
}

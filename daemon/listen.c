/*
 * daemon/listen.c - the listening socket (see listen.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "listen.h"
#include "su_dec.h"

#define LISTEN_BACKLOG 511

/* Port text: 1 to 5 digits, value 0..65535. */
static int parse_port(const char *s, in_port_t *ret)
{
    uint64_t v;
    size_t len = strlen(s);

    if (len > 5 || su_dec_u64(s, len, 65535, NULL, &v) < 0)
        return -EINVAL;
    *ret = htons((in_port_t)v);
    return 0;
}

int listen_parse(const char *spec, struct sockaddr_storage *ret_addr, socklen_t *ret_len)
{
    struct sockaddr_storage ss;
    char host[INET6_ADDRSTRLEN];
    const char *colon, *port;
    size_t host_len;
    in_port_t nport;

    memset(&ss, 0, sizeof(ss));
    if (spec[0] == '[') {
        const char *rbracket = strchr(spec, ']');
        if (!rbracket || rbracket[1] != ':')
            return -EINVAL;
        host_len = (size_t)(rbracket - spec - 1);
        if (host_len == 0 || host_len >= sizeof(host))
            return -EINVAL;
        memcpy(host, spec + 1, host_len);
        host[host_len] = '\0';
        port = rbracket + 2;
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        if (parse_port(port, &nport) < 0 || inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
            return -EINVAL;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = nport;
        *ret_len = sizeof(*s6);
    } else {
        colon = strrchr(spec, ':');
        if (!colon)
            return -EINVAL;
        host_len = (size_t)(colon - spec);
        if (host_len == 0 || host_len >= sizeof(host))
            return -EINVAL;
        memcpy(host, spec, host_len);
        host[host_len] = '\0';
        port = colon + 1;
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        if (parse_port(port, &nport) < 0 || inet_pton(AF_INET, host, &s4->sin_addr) != 1)
            return -EINVAL;
        s4->sin_family = AF_INET;
        s4->sin_port = nport;
        *ret_len = sizeof(*s4);
    }
    *ret_addr = ss;
    return 0;
}

int listen_open(const struct sockaddr_storage *addr, socklen_t len, int *ret_fd)
{
    const int on = 1;
    int fd, ret;

    fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0)
        goto out_errno;
    /* "[::]:port" means IPv6 only; IPv4 needs its own address. */
    if (addr->ss_family == AF_INET6 &&
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) < 0)
        goto out_errno;
    if (bind(fd, (const struct sockaddr *)addr, len) < 0)
        goto out_errno;
    if (listen(fd, LISTEN_BACKLOG) < 0)
        goto out_errno;
    *ret_fd = fd;
    return 0;

out_errno:
    ret = -errno;
    close(fd);
    return ret;
}

#define LISTEN_FDS_START 3 /* SD_LISTEN_FDS_START */

/* Is @fd a listening TCP socket over IPv4 or IPv6? Makes it non-blocking and close-on-exec. */
static int check_inherited(int fd, struct sm_errinfo *e)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int type = 0, listening = 0, flags;
    socklen_t olen = sizeof(int);
    struct stat st;

    if (fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode)) {
        snprintf(e->text, sizeof(e->text), "descriptor %d is not a socket", fd);
        return -EINVAL;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &olen) < 0 || type != SOCK_STREAM ||
        getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
        (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)) {
        snprintf(e->text, sizeof(e->text), "descriptor %d is not a TCP socket (IPv4 or IPv6)", fd);
        return -EINVAL;
    }
    olen = sizeof(int);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &olen) < 0 || !listening) {
        snprintf(e->text, sizeof(e->text),
                 "descriptor %d is not listening (the socket unit needs Accept=no)", fd);
        return -EINVAL;
    }
    flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
        fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        snprintf(e->text, sizeof(e->text), "descriptor %d: %s", fd, strerror(errno));
        return -EINVAL;
    }
    return 0;
}

int listen_inherited(int *ret_fds, size_t max, struct sm_errinfo *e)
{
    const char *pid_text = getenv("LISTEN_PID"), *fds_text = getenv("LISTEN_FDS");
    unsigned long pid, n;
    char *end;
    int r = 0;

    if (!pid_text || !fds_text)
        goto out;
    errno = 0;
    pid = strtoul(pid_text, &end, 10);
    if (errno || *end || pid != (unsigned long)getpid())
        goto out; /* meant for another process */
    errno = 0;
    n = strtoul(fds_text, &end, 10);
    if (errno || *end || !*fds_text) {
        snprintf(e->text, sizeof(e->text), "LISTEN_FDS=%.20s is not a number", fds_text);
        r = -EINVAL;
        goto out;
    }
    if (n > max) {
        snprintf(e->text, sizeof(e->text), "LISTEN_FDS=%lu: at most %zu sockets", n, max);
        r = -EINVAL;
        goto out;
    }
    for (unsigned long i = 0; i < n; i++) {
        int fd = LISTEN_FDS_START + (int)i;
        if ((r = check_inherited(fd, e)) < 0)
            goto out;
        ret_fds[i] = fd;
    }
    r = (int)n;
out:
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    return r;
}

char *listen_format_fd(int fd, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char host[INET6_ADDRSTRLEN];

    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
        snprintf(buf, size, "?");
        return buf;
    }
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
        snprintf(buf, size, "[%s]:%u", host, (unsigned)ntohs(s6->sin6_port));
    } else if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
        snprintf(buf, size, "%s:%u", host, (unsigned)ntohs(s4->sin_port));
    } else {
        snprintf(buf, size, "?");
    }
    return buf;
}

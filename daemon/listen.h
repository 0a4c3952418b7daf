/*
 * daemon/listen.h - the listening socket: parse "ADDR:PORT", bind, listen, print.
 *
 * The daemon binds its sockets itself (before any privilege drop) and hands them to api/, or
 * takes those the service manager passes (socket activation: LISTEN_FDS, LISTEN_PID).
 */
#ifndef SM_DAEMON_LISTEN_H
#define SM_DAEMON_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

#include <strongmap/common.h>

/** Longest text listen_format() writes, NUL included ("[v6 address]:65535"). */
#define LISTEN_ADDR_TEXT_MAX 64

/**
 * Parse "IPV4:PORT" or "[IPV6]:PORT" (numeric only; PORT 0 picks a free port) into @ret_addr,
 * @ret_len. Returns 0 or -EINVAL; @ret_* are written on success only.
 */
int listen_parse(const char *spec, struct sockaddr_storage *ret_addr, socklen_t *ret_len);

/**
 * Create a non-blocking, close-on-exec TCP socket bound to @addr and listening.
 * Returns 0 with the descriptor in *@ret_fd (owned by the caller), or a negative errno.
 */
int listen_open(const struct sockaddr_storage *addr, socklen_t len, int *ret_fd);

/** Most sockets taken from the service manager. */
#define LISTEN_INHERITED_MAX 16

/**
 * Socket activation (sd_listen_fds(3) without libsystemd): when $LISTEN_PID is this process and
 * $LISTEN_FDS is N, descriptors 3 .. 3+N-1 are listening sockets passed by the service manager.
 * Each must be a listening TCP socket (IPv4 or IPv6); it is made non-blocking and close-on-exec.
 * The variables (and $LISTEN_FDNAMES) are removed from the environment either way.
 * Returns N (0: no sockets passed) with the descriptors in @ret_fds (at most @max; owned by the
 * caller), or -EINVAL with the reason in @e.
 */
int listen_inherited(int *ret_fds, size_t max, struct sm_errinfo *e);

/** The address a socket is bound to, as "1.2.3.4:80" or "[::1]:80", into @buf. Returns @buf. */
char *listen_format_fd(int fd, char *buf, size_t size);

#endif

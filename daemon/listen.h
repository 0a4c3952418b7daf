/*
 * daemon/listen.h - the listening socket: parse "ADDR:PORT", bind, listen, print.
 *
 * The daemon binds its socket itself (before any later privilege drop) and hands it to api/;
 * socket activation (LISTEN_FDS) will plug in here.
 */
#ifndef SM_DAEMON_LISTEN_H
#define SM_DAEMON_LISTEN_H

#include <stddef.h>
#include <sys/socket.h>

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

/** The address a socket is bound to, as "1.2.3.4:80" or "[::1]:80", into @buf. Returns @buf. */
char *listen_format_fd(int fd, char *buf, size_t size);

#endif

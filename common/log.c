/*
 * common/log.c - stderr logger with journald priority prefixes (see log.h).
 *
 * Every line is printable ASCII whatever its message holds: any other byte (controls, DEL,
 * and every byte of 0x80 and above, so also U+0085, U+2028, U+2029 and invalid UTF-8, which
 * log readers may take for line ends) is written as \xNN. A message quoting a client's bytes
 * (a request path in one of libmicrohttpd's messages, a directory server's error text) thus
 * stays on its own line and cannot pass for another one.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "su_escape.h"

/* Longest line written; longer messages are cut and end in "...". */
#define LOG_LINE_MAX 2048

/* The least important priority written; changed by a reload while threads log. */
static atomic_int log_level = LOG_PRIO_INFO;

void log_init(bool verbose)
{
    log_set_level(verbose ? LOG_PRIO_DEBUG : LOG_PRIO_INFO);
}

void log_set_level(int prio)
{
    if (prio < LOG_PRIO_ERR)
        prio = LOG_PRIO_ERR;
    if (prio > LOG_PRIO_DEBUG)
        prio = LOG_PRIO_DEBUG;
    atomic_store_explicit(&log_level, prio, memory_order_relaxed);
}

int log_get_level(void)
{
    return atomic_load_explicit(&log_level, memory_order_relaxed);
}

bool log_enabled(enum log_prio prio)
{
    return (int)prio <= atomic_load_explicit(&log_level, memory_order_relaxed);
}

/* Write all of @buf to stderr, retrying short writes; errors are ignored (nowhere to report). */
static void write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* A line being built (before escaping); the last byte of @s is kept for the newline. */
struct line {
    char s[LOG_LINE_MAX];
    size_t len;
    bool cut;
};

static void line_vadd(struct line *l, const char *fmt, va_list ap) LOG_PRINTF(2, 0);
static void line_vadd(struct line *l, const char *fmt, va_list ap)
{
    size_t room = sizeof(l->s) - l->len;
    int n;

    if (l->cut)
        return;
    n = vsnprintf(l->s + l->len, room, fmt, ap);
    if (n < 0)
        return;
    if ((size_t)n >= room) {
        l->len = sizeof(l->s) - 1;
        l->cut = true;
    } else {
        l->len += (size_t)n;
    }
}

static void line_add(struct line *l, const char *fmt, ...) LOG_PRINTF(2, 3);
static void line_add(struct line *l, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    line_vadd(l, fmt, ap);
    va_end(ap);
}

/* Format "<N>message[: suffix]\n" into one buffer and write it at once. */
static void emit(enum log_prio prio, const char *suffix, const char *fmt, va_list ap)
    LOG_PRINTF(3, 0);
static void emit(enum log_prio prio, const char *suffix, const char *fmt, va_list ap)
{
    struct line l = { .len = 0, .cut = false };
    const size_t prefix = 3; /* "<N>" */
    char out[LOG_LINE_MAX];
    size_t n;

    line_add(&l, "<%d>", (int)prio);
    line_vadd(&l, fmt, ap);
    /* Drop trailing newlines (libmicrohttpd ends its messages with one). */
    while (l.len > prefix && (l.s[l.len - 1] == '\n' || l.s[l.len - 1] == '\r'))
        l.len--;
    if (suffix)
        line_add(&l, ": %s", suffix);
    memcpy(out, l.s, prefix);
    /* every byte but printable ASCII as \xNN; cut at a whole escape when it does not fit */
    n = prefix + su_escape(l.s + prefix, l.len - prefix, SIZE_MAX,
                           SU_ESC_SPACE | (l.cut ? SU_ESC_ELLIPSIS : 0), out + prefix,
                           sizeof(out) - prefix);
    out[n++] = '\n'; /* in place of the NUL */
    write_all(out, n);
}

void log_vmsg(enum log_prio prio, const char *fmt, va_list ap)
{
    if (!log_enabled(prio))
        return;
    emit(prio, NULL, fmt, ap);
}

void log_msg(enum log_prio prio, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(prio, fmt, ap);
    va_end(ap);
}

/* Log with strerror(@saved_errno) appended. */
static void vlog_errno(enum log_prio prio, int saved_errno, const char *fmt, va_list ap)
    LOG_PRINTF(3, 0);
static void vlog_errno(enum log_prio prio, int saved_errno, const char *fmt, va_list ap)
{
    char ebuf[128];

    if (strerror_r(saved_errno, ebuf, sizeof(ebuf)) != 0)
        snprintf(ebuf, sizeof(ebuf), "error %d", saved_errno);
    emit(prio, ebuf, fmt, ap);
}

void log_err(const char *fmt, ...)
{
    int saved_errno = errno;
    va_list ap;

    va_start(ap, fmt);
    vlog_errno(LOG_PRIO_ERR, saved_errno, fmt, ap);
    va_end(ap);
    errno = saved_errno;
}

void log_warn(const char *fmt, ...)
{
    int saved_errno = errno;
    va_list ap;

    va_start(ap, fmt);
    vlog_errno(LOG_PRIO_WARNING, saved_errno, fmt, ap);
    va_end(ap);
    errno = saved_errno;
}

void log_errx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(LOG_PRIO_ERR, fmt, ap);
    va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(LOG_PRIO_WARNING, fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(LOG_PRIO_INFO, fmt, ap);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;

    if (!log_enabled(LOG_PRIO_DEBUG))
        return;
    va_start(ap, fmt);
    log_vmsg(LOG_PRIO_DEBUG, fmt, ap);
    va_end(ap);
}

void fatal(const char *fmt, ...)
{
    int saved_errno = errno;
    va_list ap;

    va_start(ap, fmt);
    vlog_errno(LOG_PRIO_ERR, saved_errno, fmt, ap);
    va_end(ap);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_vmsg(LOG_PRIO_ERR, fmt, ap);
    va_end(ap);
    exit(1);
}

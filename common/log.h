/*
 * common/log.h - the daemon's logger: one line per message on stderr, prefixed with the syslog
 * priority ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug) the way journald reads it.
 *
 * Used by daemon/ and api/ only: the engine (lib/) never logs. Each message is written with a
 * single write(2), so lines from different threads do not interleave. Every byte of a message
 * that is not printable ASCII is written as \xNN (controls, and all of UTF-8: U+0085 and U+2028
 * end lines for some readers), so client-supplied text cannot forge log lines; callers still
 * must never pass certificate bodies or Authorization headers.
 */
#ifndef SM_COMMON_LOG_H
#define SM_COMMON_LOG_H

#include <stdarg.h>
#include <stdbool.h>

#if defined(__GNUC__)
#define LOG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define LOG_NORETURN     __attribute__((noreturn))
#else
#define LOG_PRINTF(f, a)
#define LOG_NORETURN
#endif

/* Priorities, numbered as syslog's (RFC 5424 severities). */
enum log_prio {
    LOG_PRIO_ERR = 3,
    LOG_PRIO_WARNING = 4,
    LOG_PRIO_INFO = 6,
    LOG_PRIO_DEBUG = 7,
};

/** Set up logging to stderr; @verbose enables debug messages (else info and above). */
void log_init(bool verbose);

/**
 * Write messages of priority @prio and more important ones only (LOG_PRIO_ERR ..
 * LOG_PRIO_DEBUG; clamped). Safe while other threads log; errors are always written.
 */
void log_set_level(int prio);

/** The current threshold (enum log_prio value). */
int log_get_level(void);

/** True when a message of @prio would be written (check before costly formatting). */
bool log_enabled(enum log_prio prio);

/** Log one line at @prio. */
void log_msg(enum log_prio prio, const char *fmt, ...) LOG_PRINTF(2, 3);
void log_vmsg(enum log_prio prio, const char *fmt, va_list ap) LOG_PRINTF(2, 0);

/** Error / warning with ": strerror(errno)" appended. */
void log_err(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
/** Error / warning / info / debug without errno. */
void log_errx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);

/** Log an error (with / without strerror(errno)) and exit(1). For start-up failures only. */
LOG_NORETURN void fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
LOG_NORETURN void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

#endif

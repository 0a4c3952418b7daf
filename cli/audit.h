/*
 * cli/audit.h - `strongmap audit`: the whole directory's readiness (docs/audit.md).
 * cli/strongmap.c parses the options (AUDIT_LONGOPTS among them) and calls cmd_audit().
 */
#ifndef SM_CLI_AUDIT_H
#define SM_CLI_AUDIT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <strongmap/audit.h>

#include "options.h"

/* getopt_long values of audit's own options (above the directory flags' and map's). */
enum audit_opt {
    AUDIT_OPT_FORMAT = 0x2100,
    AUDIT_OPT_SINCE,
    AUDIT_OPT_FAIL_ON,
    AUDIT_OPT_PAGE_SIZE,
    AUDIT_OPT_PROGRESS,
    AUDIT_OPT_CERTS,
};

// clang-format off
#define AUDIT_LONGOPTS \
    { "format", required_argument, NULL, AUDIT_OPT_FORMAT }, \
    { "since", required_argument, NULL, AUDIT_OPT_SINCE }, \
    { "fail-on", required_argument, NULL, AUDIT_OPT_FAIL_ON }, \
    { "page-size", required_argument, NULL, AUDIT_OPT_PAGE_SIZE }, \
    { "progress", required_argument, NULL, AUDIT_OPT_PROGRESS }, \
    { "certs", required_argument, NULL, AUDIT_OPT_CERTS }
// clang-format on

#define AUDIT_MAX_CERT_PATHS 64 /* --certs given at most */

/** audit's options as given (checked by audit_take_option()). */
struct audit_opts {
    bool given; /* any of them */
    bool csv;   /* --format csv */
    bool html;  /* --format html */
    time_t since;
    int fail_on;        /* --fail-on: SM_AT_RISK or SM_BLOCKED; -1: not given */
    unsigned page_size; /* 0: the engine's default */
    long progress_s;    /* --progress: seconds between plain lines; -1: default */
    const char *certs[AUDIT_MAX_CERT_PATHS]; /* --certs: files and folders (argv's) */
    size_t n_certs;
    const char *bad; /* the option whose value was refused */
};

#define AUDIT_OPTS_INIT ((struct audit_opts){ .fail_on = -1, .progress_s = -1 })

/** Take audit option @id (enum audit_opt) with @arg. 0, or -EINVAL with a message in @e. */
int audit_take_option(struct audit_opts *a, int id, const char *arg, struct sm_errinfo *e);

/** What cmd_audit() needs of the command line besides its options. */
struct audit_cmd {
    const struct audit_opts *audit;
    const struct opt_dir *dir;
    const struct opt_profiles *profiles; /* n 0: the engine's default */
    time_t at;
};

/**
 * strongmap audit DIRECTORY: one line per account on stdout, progress on stderr. Returns the
 * exit status: 0 done (no account at --fail-on or worse), 1 some account could not be audited
 * or bad input, 2 usage, 3 an account at --fail-on or worse, 4 the directory unavailable
 * (partial output), 128 + the signal after SIGINT or SIGTERM (partial output).
 */
int cmd_audit(int argc, char **argv, const struct audit_cmd *c);

/* What audit_read_certs() read (cli/audit_certs.c). */
struct audit_certs_report {
    uint64_t files;         /* files opened */
    uint64_t files_skipped; /* not given to the engine: unreadable, too large, not a file */
    uint64_t files_unread;  /* given to it, and no certificate in them */
    uint64_t ignored;       /* folder entries not named as certificate files */
    uint64_t certificates;  /* read */
};

/**
 * The files and folders @paths (--certs) into @au through @dir (sm_audit_add_certs()). A file
 * that cannot be read or holds no certificate is said on stderr and skipped. 0, or what stops
 * the audit: -E2BIG (the bounds), -ENOMEM, SM_E_DIR_DOWN, SM_E_DIR_REFUSED (reason in @e), or
 * -EINTR when *@stop was set.
 */
int audit_read_certs(struct sm_audit *au, struct sm_dir *dir, const char *const *paths, size_t n,
                     const volatile sig_atomic_t *stop, struct audit_certs_report *rep,
                     struct sm_errinfo *e);

#endif

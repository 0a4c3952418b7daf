/*
 * cli/audit.h - `strongmap audit`: the whole directory's readiness (docs/audit.md).
 * cli/strongmap.c parses the options (AUDIT_LONGOPTS among them) and calls cmd_audit().
 */
#ifndef SM_CLI_AUDIT_H
#define SM_CLI_AUDIT_H

#include <stdbool.h>
#include <time.h>

#include "options.h"

/* getopt_long values of audit's own options (above the directory flags' and map's). */
enum audit_opt {
    AUDIT_OPT_FORMAT = 0x2100,
    AUDIT_OPT_SINCE,
    AUDIT_OPT_FAIL_ON,
    AUDIT_OPT_PAGE_SIZE,
    AUDIT_OPT_PROGRESS,
};

// clang-format off
#define AUDIT_LONGOPTS \
    { "format", required_argument, NULL, AUDIT_OPT_FORMAT }, \
    { "since", required_argument, NULL, AUDIT_OPT_SINCE }, \
    { "fail-on", required_argument, NULL, AUDIT_OPT_FAIL_ON }, \
    { "page-size", required_argument, NULL, AUDIT_OPT_PAGE_SIZE }, \
    { "progress", required_argument, NULL, AUDIT_OPT_PROGRESS }
// clang-format on

/** audit's options as given (checked by audit_take_option()). */
struct audit_opts {
    bool given; /* any of them */
    bool csv;   /* --format csv */
    time_t since;
    int fail_on;        /* --fail-on: SM_AT_RISK or SM_BLOCKED; -1: not given */
    unsigned page_size; /* 0: the engine's default */
    long progress_s;    /* --progress: seconds between plain lines; -1: default */
    const char *bad;    /* the option whose value was refused */
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

#endif

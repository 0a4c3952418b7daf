/*
 * cli/map.h - `strongmap map add|remove`: mapping write-back on the command line
 * (docs/write-back.md). cli/strongmap.c parses the options (MAP_LONGOPTS among them) and calls
 * cmd_map().
 */
#ifndef SM_CLI_MAP_H
#define SM_CLI_MAP_H

#include <stdbool.h>

#include "options.h"

/* getopt_long values of map's own options (above the directory flags'). */
enum map_opt {
    MAP_OPT_APPLY = 0x2000,
    MAP_OPT_TYPE,
    MAP_OPT_VALUE,
    MAP_OPT_ALLOW_FOREIGN_SID,
    MAP_OPT_AUDIT_LOG,
    MAP_OPT_WRITE_BIND_DN,
    MAP_OPT_WRITE_PASSWORD_FILE,
};

// clang-format off
#define MAP_LONGOPTS \
    { "apply", no_argument, NULL, MAP_OPT_APPLY }, \
    { "type", required_argument, NULL, MAP_OPT_TYPE }, \
    { "value", required_argument, NULL, MAP_OPT_VALUE }, \
    { "allow-foreign-sid", no_argument, NULL, MAP_OPT_ALLOW_FOREIGN_SID }, \
    { "audit-log", required_argument, NULL, MAP_OPT_AUDIT_LOG }, \
    { "write-bind-dn", required_argument, NULL, MAP_OPT_WRITE_BIND_DN }, \
    { "write-password-file", required_argument, NULL, MAP_OPT_WRITE_PASSWORD_FILE }
// clang-format on

/** map's options as given; strings borrowed from argv. */
struct map_opts {
    bool given; /* any of them */
    bool apply, allow_foreign_sid;
    const char *type, *value, *audit_log, *write_bind_dn, *write_password_file;
};

/** Take map option @id (enum map_opt) with @arg. Always succeeds (values are checked later). */
void map_take_option(struct map_opts *m, int id, const char *arg);

/** What cmd_map() needs of the command line besides its operands. */
struct map_cmd {
    const struct map_opts *map;
    const struct opt_dir *dir;
    const char *cert_file; /* --cert */
    bool text;
    unsigned json_flags;
    bool other_opts; /* --account, --profile, ... were given: refused */
};

/**
 * strongmap map add|remove NAME ...; @argv: "add" or "remove", then NAME. Returns the exit
 * status: 0 done, would be done or nothing to do; 1 bad input (no such account, an audit log
 * that cannot be written); 2 usage; 3 refused; 4 the directory unavailable or refusing the write.
 */
int cmd_map(int argc, char **argv, const struct map_cmd *c);

#endif

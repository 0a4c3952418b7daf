/*
 * daemon/config_internal.h - what the files of strongmapd's configuration share: the directive
 * table (config.c) and its entry, the value types and flags, and the functions used across
 * config.c (the table, the life of a struct cfg), config_value.c (a value from text),
 * config_file.c (strongmapd.conf, libinih) and config_print.c (values as text, comparison).
 * Not for use outside these four files: config.h is the interface.
 */
#ifndef SM_DAEMON_CONFIG_INTERNAL_H
#define SM_DAEMON_CONFIG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

#define CFG_VALUE_MAX 4096 /* bytes of one value (a path, a DN) */

enum type {
    T_LISTEN,  /* char *[]: "ADDR:PORT" (listen.h) */
    T_UINT,    /* unsigned */
    T_ULL,     /* unsigned long long */
    T_SIZE,    /* unsigned long long, bytes with an optional K or M suffix */
    T_MS,      /* unsigned milliseconds: "3" or "3s" seconds, "500ms" */
    T_OPTNUM,  /* long long, -1 when unset */
    T_DOUBLE,  /* double */
    T_BOOL,    /* bool */
    T_STR,     /* char *: printable text */
    T_PATH,    /* char *: a file; relative to the configuration file's directory */
    T_URI,     /* char *[]: ldap:// or ldaps:// */
    T_LINK,    /* char *[]: "TITLE | URL" (api_page_link_parse()) */
    T_SASL,    /* char *: GSSAPI */
    T_TOKEN,   /* struct api_token[] */
    T_SCOPE,   /* unsigned: enum api_scope */
    T_PROFILE, /* struct sm_profile[] (struct opt_profiles) */
    T_LEVEL,   /* int: syslog priority */
};

struct directive {
    struct cfg_directive_info i; /* first: cfg_directive() returns a pointer to it */
    enum type type;
    bool secret;                 /* masked by cfg_dump() */
    unsigned long long min, max; /* numbers; T_STR / T_PATH: max length */
    const char *def;             /* default as text, NULL: unset */
    size_t off;                  /* the field in struct cfg */
    size_t count_off, max_n;     /* repeatable: the size_t count, the array's size */
    unsigned flags;              /* F_* */
};

#define F_REPEAT  1u
#define F_RESTART 2u
#define F_SECRET  4u
#define F_LIMIT   8u  /* a number whose larger value is looser (cfg_looser()) */
#define F_NOLIMIT 16u /* with F_LIMIT: 0 means no limit at all, the loosest */

/* Where @d's value lies in @c (a repeatable directive: its array), and its count. */
static inline void *field(struct cfg *c, const struct directive *d)
{
    return (char *)c + d->off;
}

static inline const void *cfield(const struct cfg *c, const struct directive *d)
{
    return (const char *)c + d->off;
}

static inline size_t *count_of(struct cfg *c, const struct directive *d)
{
    return (size_t *)(void *)((char *)c + d->count_off);
}

static inline size_t ccount_of(const struct cfg *c, const struct directive *d)
{
    return *(const size_t *)(const void *)((const char *)c + d->count_off);
}

/* ---- config.c ---- */

/* The directives, indexed by enum cfg_id. */
extern const struct directive directives[CFG__COUNT];

/* [log] level: the names and their syslog priorities, in the same order (4 of each). */
extern const char *const level_names[];
extern const int level_prios[];

/* The directive [@section] @key, or NULL. */
const struct directive *find_directive(const char *section, const char *key);

/*
 * Does @c give directive @id a value: a string, at least one value of a repeatable directive, a
 * boolean that is yes, mode or backdating (>= 0)? Every other number always has one.
 */
bool has_value(const struct cfg *c, enum cfg_id id);

/* ---- config_value.c ---- */

/* @s (at most @max bytes of it) with anything but printable ASCII as '?', for a message; "..."
   when cut (su_escape()). Returns @buf. */
const char *printable(const char *s, size_t max, char *buf, size_t size);

/* A number as the type writes it: "256K", "3s", "500ms", "12". */
void fmt_num(enum type t, unsigned long long v, char *buf, size_t size);

/* Unset @d in @c: its strings freed, a repeatable directive's count 0. */
void clear_value(struct cfg *c, const struct directive *d);

/*
 * Set @d to @v (text). @base: directory for relative paths, or NULL. A reason without place
 * goes into @e's text.
 */
int set_value(struct cfg *c, const struct directive *d, const char *v, const char *base,
              struct sm_errinfo *e);

#endif

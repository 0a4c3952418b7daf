/*
 * daemon/config_file.c - strongmapd.conf read with libinih (cfg_load_file(), cfg_load_string()):
 * the file opened and checked (a regular file, its owner and mode), its lines handed to libinih,
 * each key to its directive, the first error placed on its line. The only reader of libinih.
 *
 * libinih (Debian's build: INI_MAX_LINE 200, inline ";" comments, multi-line values) reads the
 * lines through reader() below, which counts them (so every message has its line), strips
 * leading blanks (an indented line is an ordinary line, never a continuation of the previous
 * value), and refuses NUL bytes and lines libinih would cut.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "config_internal.h"
#include "fileperm.h"

/* ---- the file ----------------------------------------------------------------------------- */

static bool known_section(const char *section)
{
    for (size_t i = 0; i < CFG__COUNT; i++)
        if (strcmp(directives[i].i.section, section) == 0)
            return true;
    return false;
}

struct parse {
    struct cfg *c;
    const char *name;      /* for messages */
    const char *base;      /* directory of relative paths, or NULL */
    const char *p, *end;   /* input left */
    int lineno;            /* lines handed to libinih so far */
    int err_line;          /* first error of ours (0: none) */
    const char *err_field; /* its directive's key (static), or NULL */
    char err[CFG_ERR_MAX];
};

/* The first error: on the current line, about @key (NULL: the line), of directive @d (or NULL). */
static void parse_error(struct parse *ps, const char *key, const struct directive *d,
                        const char *why)
{
    char k[80];

    if (ps->err_line)
        return;
    ps->err_line = ps->lineno;
    ps->err_field = d ? d->i.key : NULL;
    if (key)
        snprintf(ps->err, sizeof(ps->err), "%s:%d: %s: %s", ps->name, ps->lineno,
                 printable(key, 64, k, sizeof(k)), why);
    else
        snprintf(ps->err, sizeof(ps->err), "%s:%d: %s", ps->name, ps->lineno, why);
}

/* The next line for libinih (an fgets() look-alike over memory); see the top of the file. */
static char *reader(char *str, int num, void *stream)
{
    struct parse *ps = stream;
    const char *s = ps->p, *nl;
    size_t len;
    char why[64];

    if (ps->p >= ps->end || num < 3)
        return NULL;
    nl = memchr(s, '\n', (size_t)(ps->end - s));
    len = nl ? (size_t)(nl - s) : (size_t)(ps->end - s);
    ps->p = nl ? nl + 1 : ps->end;
    ps->lineno++;
    while (len && (*s == ' ' || *s == '\t')) {
        s++;
        len--;
    }
    if (memchr(s, '\0', len)) {
        parse_error(ps, NULL, NULL, "a NUL byte");
        len = 0;
    } else if (len > (size_t)num - 2) {
        snprintf(why, sizeof(why), "the line is longer than %d bytes", num - 2);
        parse_error(ps, NULL, NULL, why);
        len = 0;
    }
    memcpy(str, s, len);
    str[len] = '\n';
    str[len + 1] = '\0';
    return str;
}

static int on_value(void *user, const char *section, const char *key, const char *value)
{
    struct parse *ps = user;
    struct cfg *c = ps->c;
    const struct directive *d;
    struct sm_errinfo ve = SM_ERRINFO_INIT;
    char why[CFG_ERR_MAX], s[64], k[64];
    size_t id;

    if (ps->err_line)
        return 1; /* the first error is the one reported */
    if (!*section) {
        parse_error(ps, key, NULL, "outside a section ([server], [tls], ...)");
        return 0;
    }
    d = find_directive(section, key);
    if (!d) {
        if (known_section(section))
            snprintf(why, sizeof(why), "unknown key in [%s]", section);
        else
            snprintf(why, sizeof(why), "unknown section [%s]",
                     printable(section, 48, s, sizeof(s)));
        parse_error(ps, key, NULL, why);
        return 0;
    }
    id = (size_t)(d - directives);
    if (c->origin[id] > 0 && !d->i.repeatable) {
        snprintf(why, sizeof(why), "given twice (first on line %d)", c->origin[id]);
        parse_error(ps, key, d, why);
        return 0;
    }
    if (d->i.repeatable && c->origin[id] <= 0)
        clear_value(c, d); /* the file's values replace the default */
    if (set_value(c, d, value, ps->base, &ve) < 0) {
        parse_error(ps, printable(key, 48, k, sizeof(k)), d, ve.text);
        return 0;
    }
    if (c->origin[id] <= 0)
        c->origin[id] = ps->lineno;
    return 1;
}

/* Line @n (1-based) of @text, blanks stripped, for a syntax error message. */
static void line_at(const char *text, size_t len, int n, char *buf, size_t size)
{
    const char *p = text, *end = text + len, *nl;
    size_t l;

    for (int i = 1; i < n && p < end; i++) {
        nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    nl = memchr(p, '\n', (size_t)(end - p));
    l = nl ? (size_t)(nl - p) : (size_t)(end - p);
    while (l && (*p == ' ' || *p == '\t')) {
        p++;
        l--;
    }
    if (l >= size)
        l = size - 1;
    memcpy(buf, p, l);
    buf[l] = '\0';
}

static int load(struct cfg *c, const char *name, const char *base, const char *text, size_t len,
                struct sm_errinfo *e)
{
    struct parse ps = { .c = c, .name = name, .base = base, .p = text, .end = text + len };
    char line[64];
    int r;

    e->origin = SM_ORIGIN_CONFIG;
    e->line = 0;
    e->field = NULL;
    r = ini_parse_stream(reader, &ps, on_value, &ps);
    if (r > 0 && (!ps.err_line || r < ps.err_line)) {
        line_at(text, len, r, line, sizeof(line));
        snprintf(e->text, sizeof(e->text), "%s:%d: %s", name, r,
                 line[0] == '[' ? "a section header without ']'"
                                : "expected \"key = value\", a [section] or a # comment");
        e->line = r;
        return -EINVAL;
    }
    if (r < 0) {
        snprintf(e->text, sizeof(e->text), "%s: cannot parse (libinih error %d)", name, r);
        return -EINVAL;
    }
    if (ps.err_line) {
        memcpy(e->text, ps.err, sizeof(e->text));
        e->line = ps.err_line;
        e->field = ps.err_field;
        return -EINVAL;
    }
    return 0;
}

int cfg_load_string(struct cfg *c, const char *name, const char *text, size_t len,
                    struct sm_errinfo *e)
{
    return load(c, name, NULL, text, len, e);
}

int cfg_load_file(struct cfg *c, const char *path, struct sm_errinfo *e)
{
    struct stat st;
    char *buf = NULL, *base = NULL, *slash;
    size_t len = 0;
    int fd, r;

    e->origin = SM_ORIGIN_CONFIG; /* the file as a whole: no line, no field */
    e->line = 0;
    e->field = NULL;
    /* O_NONBLOCK: a FIFO does not hang the open (it is refused below); a regular file's reads
       ignore it */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        snprintf(e->text, sizeof(e->text), "cannot read %s: %s", path, strerror(-r));
        return r;
    }
    if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && strcmp(path, "/dev/null") == 0) {
        st.st_size = 0; /* -c /dev/null: the built-in defaults, explicitly */
        st.st_mode = S_IFREG;
    } else if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CFG_FILE_MAX) {
        snprintf(e->text, sizeof(e->text), "%s: not a regular file of at most %d bytes", path,
                 CFG_FILE_MAX);
        r = -EINVAL;
        goto out;
    } else if ((r = fperm_check(&st, path, FPERM_CONFIG, FPERM_NO_UID, e)) < 0) {
        goto out; /* writable by others, or theirs */
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        r = -ENOMEM;
        snprintf(e->text, sizeof(e->text), "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            snprintf(e->text, sizeof(e->text), "cannot read %s: %s", path, strerror(-r));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > (size_t)st.st_size) {
            r = -EINVAL;
            snprintf(e->text, sizeof(e->text), "%s: changed while being read", path);
            goto out;
        }
    }
    free(c->path);
    c->path = strdup(path);
    slash = strrchr(path, '/');
    if (slash) {
        base = strndup(path, (size_t)(slash - path));
        if (!base || !c->path) {
            r = -ENOMEM;
            snprintf(e->text, sizeof(e->text), "%s: out of memory", path);
            goto out;
        }
    }
    r = load(c, path, base, buf, len, e);
out:
    free(base);
    free(buf);
    close(fd);
    return r;
}

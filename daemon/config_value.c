/*
 * daemon/config_value.c - a directive's value from text: each type's syntax and bounds (numbers
 * with their units, booleans, tokens, scopes, levels, profiles, addresses, URIs, paths), the
 * reason of a refusal without its place. The defaults, the command line and the file all set
 * values through set_value() (config_internal.h).
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_internal.h"
#include "listen.h"
#include "su_dec.h"
#include "su_escape.h"
#include "su_hex.h"

/* ---- small helpers ------------------------------------------------------------------------ */

/* The reason a value is refused, without its place, into @e's text. Returns -EINVAL. */
static int reason(struct sm_errinfo *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reason(struct sm_errinfo *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->text, sizeof(e->text), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* @s (at most @max bytes of it) with anything but printable ASCII as '?', for a message. */
const char *printable(const char *s, size_t max, char *buf, size_t size)
{
    su_escape(s, strlen(s), max, SU_ESC_SPACE | SU_ESC_QMARK, buf, size);
    return buf;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* A number as the type writes it: "256K", "3s", "500ms", "12". */
void fmt_num(enum type t, unsigned long long v, char *buf, size_t size)
{
    if (t == T_SIZE && v && v % (1024 * 1024) == 0)
        snprintf(buf, size, "%lluM", v / (1024 * 1024));
    else if (t == T_SIZE && v && v % 1024 == 0)
        snprintf(buf, size, "%lluK", v / 1024);
    else if (t == T_MS && v % 1000 == 0)
        snprintf(buf, size, "%llus", v / 1000);
    else if (t == T_MS)
        snprintf(buf, size, "%llums", v);
    else
        snprintf(buf, size, "%llu", v);
}

static int check_bounds(const struct directive *d, unsigned long long v, const char *text,
                        struct sm_errinfo *e)
{
    char lim[32], val[64];

    if (v >= d->min && v <= d->max)
        return 0;
    printable(text, 32, val, sizeof(val));
    fmt_num(d->type, v < d->min ? d->min : d->max, lim, sizeof(lim));
    return reason(e, "%s is %s the %s %s", val, v < d->min ? "below" : "above",
                  v < d->min ? "minimum" : "maximum", lim);
}

/* A number of the directive's type (T_UINT, T_ULL, T_SIZE, T_MS, T_OPTNUM), bounds checked. */
static int parse_number(const struct directive *d, const char *v, unsigned long long *ret,
                        struct sm_errinfo *e)
{
    unsigned long long n, mult = 1;
    const char *end;
    char val[64];
    uint64_t u;
    size_t used;
    int r;

    printable(v, 32, val, sizeof(val));
    r = su_dec_u64(v, strlen(v), UINT64_MAX, &used, &u);
    if (r == -ERANGE)
        return reason(e, "%s is above the maximum", val);
    if (r < 0)
        return reason(e, "\"%s\" is not a number", val);
    n = u;
    end = v + used;
    if (d->type == T_SIZE && *end) {
        if (strcmp(end, "K") == 0 || strcmp(end, "k") == 0 || strcmp(end, "KiB") == 0)
            mult = 1024;
        else if (strcmp(end, "M") == 0 || strcmp(end, "m") == 0 || strcmp(end, "MiB") == 0)
            mult = 1024 * 1024;
        else
            return reason(e, "\"%s\" is not a size (bytes, or with a K or M suffix)", val);
    } else if (d->type == T_MS) {
        if (*end == '\0' || strcmp(end, "s") == 0)
            mult = 1000;
        else if (strcmp(end, "ms") == 0)
            mult = 1;
        else
            return reason(e, "\"%s\" is not a time (seconds, or with an s or ms suffix)", val);
    } else if (*end) {
        return reason(e, "\"%s\" is not a number", val);
    }
    if (n > ULLONG_MAX / mult)
        return reason(e, "%s is above the maximum", val);
    n *= mult;
    if ((r = check_bounds(d, n, v, e)) < 0)
        return r;
    *ret = n;
    return 0;
}

static int parse_bool(const char *v, bool *ret, struct sm_errinfo *e)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };
    char val[64];

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return reason(e, "\"%s\" is not yes or no", printable(v, 32, val, sizeof(val)));
}

static int pick(const char *v, const char *const *names, size_t n, const char *what, size_t *ret,
                struct sm_errinfo *e)
{
    char val[64], list[128] = "";

    for (size_t i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0) {
            *ret = i;
            return 0;
        }
    for (size_t i = 0; i < n; i++) {
        strncat(list, i ? ", " : "", sizeof(list) - strlen(list) - 1);
        strncat(list, names[i], sizeof(list) - strlen(list) - 1);
    }
    return reason(e, "unknown %s \"%s\" (%s)", what, printable(v, 32, val, sizeof(val)), list);
}

/* "NAME:SHA256HEX:SCOPE[,SCOPE...]" */
static int parse_token(const char *v, struct api_token *t, struct sm_errinfo *e)
{
    const char *c1 = strchr(v, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    size_t name_len;

    if (!c2)
        return reason(e, "expected NAME:SHA256:SCOPES, e.g. ops:<64 hex digits>:check,account");
    memset(t, 0, sizeof(*t));
    name_len = (size_t)(c1 - v);
    if (name_len == 0 || name_len >= API_TOKEN_NAME_MAX)
        return reason(e, "the name must be 1 to %d characters", API_TOKEN_NAME_MAX - 1);
    for (size_t i = 0; i < name_len; i++)
        if (!isalnum((unsigned char)v[i]) && !strchr("._-", v[i]))
            return reason(e, "the name may hold letters, digits, '.', '_' and '-' only");
    memcpy(t->name, v, name_len);
    if (c2 - c1 - 1 != 64)
        return reason(e, "the hash must be 64 hexadecimal digits: the SHA-256 of the secret "
                         "(printf %%s SECRET | sha256sum)");
    if (su_hex_decode(c1 + 1, 64, t->sha256, sizeof(t->sha256)) < 0)
        return reason(e, "the hash must be 64 hexadecimal digits");
    if (api_scopes_parse(c2 + 1, &t->scopes) < 0 || t->scopes == API_SCOPE_NONE)
        return reason(e, "expected scopes after the hash: check, account, admin, metrics, "
                         "issue, write, comma-separated");
    return 0;
}

/* ---- setting one value -------------------------------------------------------------------- */

void clear_value(struct cfg *c, const struct directive *d)
{
    if (d->type == T_LISTEN || d->type == T_URI || d->type == T_LINK) {
        char **v = field(c, d);
        for (size_t i = 0; i < *count_of(c, d); i++)
            free(v[i]);
    }
    if (d->i.repeatable)
        *count_of(c, d) = 0;
    else if (d->type == T_STR || d->type == T_PATH || d->type == T_SASL) {
        char **s = field(c, d);
        free(*s);
        *s = NULL;
    }
}

/* A copy of @v, joined to @base when it is a relative path. NULL: out of memory. */
static char *copy_value(const struct directive *d, const char *v, const char *base)
{
    char *s;

    if (d->type != T_PATH || v[0] == '/' || !base)
        return strdup(v);
    s = malloc(strlen(base) + strlen(v) + 2);
    if (s)
        sprintf(s, "%s/%s", base, v);
    return s;
}

/*
 * Set @d to @v (text). @base: directory for relative paths, or NULL. A reason without place
 * goes into @e's text.
 */
int set_value(struct cfg *c, const struct directive *d, const char *v, const char *base,
              struct sm_errinfo *e)
{
    unsigned long long n = 0;
    size_t k = 0, idx = 0;
    char val[64];
    int r;

    if (!*v)
        return reason(e, "empty value");
    if (has_control(v))
        return reason(e, "the value holds control characters");
    if (d->i.repeatable) {
        idx = *count_of(c, d);
        if (idx >= d->max_n)
            return reason(e, "given more than %zu times", d->max_n);
    }
    switch (d->type) {
    case T_UINT:
    case T_ULL:
    case T_SIZE:
    case T_MS:
    case T_OPTNUM:
        if ((r = parse_number(d, v, &n, e)) < 0)
            return r;
        if (d->type == T_ULL || d->type == T_SIZE)
            *(unsigned long long *)field(c, d) = n;
        else if (d->type == T_OPTNUM)
            *(long long *)field(c, d) = (long long)n;
        else
            *(unsigned *)field(c, d) = (unsigned)n;
        return 0;
    case T_DOUBLE: {
        char *end;
        double x;

        errno = 0;
        x = strtod(v, &end);
        if (*v < '0' || *v > '9' || *end || errno || !isfinite(x))
            return reason(e, "\"%s\" is not a number", printable(v, 32, val, sizeof(val)));
        if (x < (double)d->min || x > (double)d->max)
            return reason(e, "%s is %s the %s %llu", printable(v, 32, val, sizeof(val)),
                          x < (double)d->min ? "below" : "above",
                          x < (double)d->min ? "minimum" : "maximum",
                          x < (double)d->min ? d->min : d->max);
        *(double *)field(c, d) = x;
        return 0;
    }
    case T_BOOL: return parse_bool(v, field(c, d), e);
    case T_SCOPE:
        if (api_scopes_parse(v, field(c, d)) < 0)
            return reason(e,
                          "\"%s\" is not none, or a comma-separated list of check, "
                          "account, admin, metrics, issue, write",
                          printable(v, 32, val, sizeof(val)));
        return 0;
    case T_LEVEL:
        if ((r = pick(v, level_names, 4, "level", &k, e)) < 0)
            return r;
        *(int *)field(c, d) = level_prios[k];
        return 0;
    case T_PROFILE:
        if (sm_profile_parse(v, (struct sm_profile *)field(c, d) + idx, e) < 0)
            return -EINVAL; /* its reason in @e */
        break;
    case T_TOKEN: {
        struct api_token *t = field(c, d), tok;

        if ((r = parse_token(v, &tok, e)) < 0)
            return r;
        for (size_t i = 0; i < idx; i++) {
            if (strcmp(t[i].name, tok.name) == 0)
                return reason(e, "the name %s is given twice", tok.name);
            if (memcmp(t[i].sha256, tok.sha256, sizeof(tok.sha256)) == 0)
                return reason(e, "%s and %s have the same hash", t[i].name, tok.name);
        }
        t[idx] = tok;
        break;
    }
    case T_LISTEN:
    case T_URI:
    case T_LINK:
    case T_STR:
    case T_PATH:
    case T_SASL: {
        struct sockaddr_storage ss;
        struct api_page_link link;
        socklen_t len;
        char *s;

        if (d->type == T_LISTEN && listen_parse(v, &ss, &len) < 0)
            return reason(e, "\"%s\" is not IPV4:PORT or [IPV6]:PORT (numeric, port 0..65535)",
                          printable(v, 64, val, sizeof(val)));
        if (d->type == T_URI && (strchr(v, ' ') || (strncasecmp(v, "ldap://", 7) != 0 &&
                                                    strncasecmp(v, "ldaps://", 8) != 0)))
            return reason(e, "\"%s\" is not an ldap:// or ldaps:// URI",
                          printable(v, 64, val, sizeof(val)));
        if (d->type == T_LINK && api_page_link_parse(v, &link, e) < 0)
            return -EINVAL; /* its reason in @e */
        if (d->type == T_SASL && strcasecmp(v, "GSSAPI") != 0)
            return reason(e, "only GSSAPI is supported");
        if ((d->type == T_STR || d->type == T_PATH) && strlen(v) > d->max)
            return reason(e, "longer than %llu bytes", d->max);
        s = copy_value(d, d->type == T_SASL ? "GSSAPI" : v, base);
        if (!s)
            return reason(e, "out of memory");
        if (d->i.repeatable) {
            ((char **)field(c, d))[idx] = s;
        } else {
            char **slot = field(c, d);
            free(*slot);
            *slot = s;
        }
        break;
    }
    }
    if (d->i.repeatable)
        (*count_of(c, d))++;
    return 0;
}

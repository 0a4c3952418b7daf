/*
 * daemon/config_print.c - a configuration read back: its values as text (cfg_dump() for -p,
 * cfg_value() for the reload's messages), and two compared (cfg_same(), and cfg_looser() for the
 * reload's warnings). Token hashes never leave as text (F_SECRET).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_internal.h"
#include "su_cidr.h"
#include "su_hex.h"

/* ---- comparing and printing --------------------------------------------------------------- */

static bool same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

bool cfg_same(const struct cfg *a, const struct cfg *b, enum cfg_id id)
{
    const struct directive *d = &directives[id];
    const void *fa = cfield(a, d), *fb = cfield(b, d);
    size_t n;

    if (d->i.repeatable) {
        n = ccount_of(a, d);
        if (n != ccount_of(b, d))
            return false;
        for (size_t i = 0; i < n; i++) {
            if (d->type == T_LISTEN || d->type == T_URI || d->type == T_LINK) {
                if (!same_str(((char *const *)fa)[i], ((char *const *)fb)[i]))
                    return false;
            } else if (d->type == T_TOKEN) {
                const struct api_token *ta = fa, *tb = fb;
                if (strcmp(ta[i].name, tb[i].name) != 0 || ta[i].scopes != tb[i].scopes ||
                    memcmp(ta[i].sha256, tb[i].sha256, sizeof(ta[i].sha256)) != 0)
                    return false;
            } else {
                const struct sm_profile *pa = fa, *pb = fb;
                if (pa[i].kind != pb[i].kind)
                    return false;
            }
        }
        return true;
    }
    switch (d->type) {
    case T_STR:
    case T_PATH:
    case T_SASL: return same_str(*(char *const *)fa, *(char *const *)fb);
    case T_BOOL: return *(const bool *)fa == *(const bool *)fb;
    case T_UINT:
    case T_MS:
    case T_SCOPE: return *(const unsigned *)fa == *(const unsigned *)fb;
    case T_ULL:
    case T_SIZE: return *(const unsigned long long *)fa == *(const unsigned long long *)fb;
    case T_OPTNUM: return *(const long long *)fa == *(const long long *)fb;
    case T_DOUBLE: return *(const double *)fa == *(const double *)fb;
    case T_LEVEL: return *(const int *)fa == *(const int *)fb;
    default: return false;
    }
}

static const char *scope_text(unsigned bits, char *buf, size_t size)
{
    snprintf(buf, size, "none");
    for (unsigned i = 0, n = 0; i < 32; i++) {
        const char *name = (bits & (1u << i)) ? api_scope_name(1u << i) : NULL;
        if (name) {
            if (n++ == 0)
                buf[0] = '\0';
            strncat(buf, n > 1 ? "," : "", size - strlen(buf) - 1);
            strncat(buf, name, size - strlen(buf) - 1);
        }
    }
    return buf;
}

/* One element of @d as configuration text into @buf; false when it is unset. */
static bool value_text(const struct cfg *c, const struct directive *d, size_t i, char *buf,
                       size_t size)
{
    const void *f = cfield(c, d);
    char sc[64];

    switch (d->type) {
    case T_LISTEN:
    case T_URI:
    case T_LINK: snprintf(buf, size, "%s", ((char *const *)f)[i]); return true;
    case T_TOKEN: {
        const struct api_token *t = (const struct api_token *)f + i;
        char hex[2 * sizeof(t->sha256) + 1];

        su_hex_lower(t->sha256, sizeof(t->sha256), hex);
        snprintf(buf, size, "%s:%s:%s", t->name, d->secret ? "***" : hex,
                 scope_text(t->scopes, sc, sizeof(sc)));
        return true;
    }
    case T_PROFILE: sm_profile_format((const struct sm_profile *)f + i, buf, size); return true;
    case T_STR:
    case T_PATH:
    case T_SASL:
        if (!*(char *const *)f)
            return false;
        snprintf(buf, size, "%s", *(char *const *)f);
        return true;
    case T_BOOL: snprintf(buf, size, "%s", *(const bool *)f ? "yes" : "no"); return true;
    case T_UINT:
    case T_MS: fmt_num(d->type, *(const unsigned *)f, buf, size); return true;
    case T_ULL:
    case T_SIZE: fmt_num(d->type, *(const unsigned long long *)f, buf, size); return true;
    case T_OPTNUM:
        if (*(const long long *)f < 0)
            return false;
        snprintf(buf, size, "%lld", *(const long long *)f);
        return true;
    case T_DOUBLE: snprintf(buf, size, "%g", *(const double *)f); return true;
    case T_SCOPE: scope_text(*(const unsigned *)f, buf, size); return true;
    case T_LEVEL:
        for (size_t k = 0; k < 4; k++)
            if (level_prios[k] == *(const int *)f)
                snprintf(buf, size, "%s", level_names[k]);
        return true;
    }
    return false;
}

void cfg_dump(const struct cfg *c, FILE *f)
{
    const char *section = NULL;
    char buf[CFG_VALUE_MAX + 256];

    fprintf(f, "# strongmapd effective configuration: %s, then the command line\n",
            c->path ? c->path : "built-in defaults");
    fprintf(f, "# token hashes are masked (***); unset directives are commented out\n");
    for (size_t i = 0; i < CFG__COUNT; i++) {
        const struct directive *d = &directives[i];
        size_t n = d->i.repeatable ? ccount_of(c, d) : 1;
        bool any = false;

        if (!section || strcmp(section, d->i.section) != 0) {
            section = d->i.section;
            fprintf(f, "\n[%s]\n", section);
        }
        for (size_t k = 0; k < n; k++) {
            if (value_text(c, d, k, buf, sizeof(buf))) {
                fprintf(f, "%s = %s\n", d->i.key, buf);
                any = true;
            }
        }
        if (!any)
            fprintf(f, "#%s =\n", d->i.key);
    }
}

/* ---- reloads: what a new configuration loosens -------------------------------------------- */

/* The value of a number directive (F_LIMIT) as a double. */
static double number(const struct cfg *c, const struct directive *d)
{
    const void *f = cfield(c, d);

    switch (d->type) {
    case T_UINT:
    case T_MS: return *(const unsigned *)f;
    case T_ULL:
    case T_SIZE: return (double)*(const unsigned long long *)f;
    case T_DOUBLE: return *(const double *)f;
    default: return 0;
    }
}

/* The token-bucket depth in force (api.h). */
static unsigned burst_of(const struct cfg *c)
{
    return api_burst(c->rate, c->burst);
}

static unsigned page_burst_of(const struct cfg *c)
{
    return api_burst(c->page_rate, c->page_burst);
}

/* URIs of @c that are plain ldap:// without StartTLS. */
static size_t plain_ldap(const struct cfg *c)
{
    size_t n = 0;

    for (size_t i = 0; i < c->n_ldap_uri && !c->ldap_starttls; i++)
        n += strncasecmp(c->ldap_uri[i], "ldaps://", 8) != 0;
    return n;
}

/* Does the list of trusted proxies @next (checked; NULL: none) hold a peer @prev does not? */
static bool more_proxies(const char *prev, const char *next)
{
    struct su_cidr_list a = { .n = 0 }, b = { .n = 0 };
    size_t at;

    if (prev)
        su_cidr_list_parse(prev, &a, &at);
    if (next)
        su_cidr_list_parse(next, &b, &at);
    for (size_t i = 0; i < b.n; i++)
        if (!su_cidr_list_covers(&a, &b.v[i]))
            return true;
    return false;
}

bool cfg_looser(const struct cfg *prev, const struct cfg *next, enum cfg_id id)
{
    const struct directive *d = &directives[id];

    if (cfg_same(prev, next, id))
        return false;
    if (d->flags & F_LIMIT) {
        double a = number(prev, d), b = number(next, d);

        if (d->flags & F_NOLIMIT)
            return b == 0 || (a != 0 && b > a);
        return b > a;
    }
    if (d->type == T_SCOPE) {
        /* every scope.* key, those added later too: a route (or the account data) that was
         * open cannot open further; one that needed a token loosens when it opens or when
         * one more scope may call it */
        unsigned a = *(const unsigned *)cfield(prev, d), b = *(const unsigned *)cfield(next, d);

        return a != API_SCOPE_NONE && (b == API_SCOPE_NONE || (b & ~a) != 0);
    }
    switch (id) {
    case CFG_TOKEN: return next->n_tokens == 0;
    case CFG_ALLOW_UNAUTHENTICATED:
    case CFG_ALLOW_ROOT: return *(const bool *)cfield(next, d);
    case CFG_TLS_CERT:
    case CFG_TLS_CLIENT_CA:
    case CFG_LDAP_CA_FILE:
    case CFG_DECISION_LOG: return has_value(prev, id) && !has_value(next, id);
    case CFG_TLS_CLIENT_REQUIRED: return prev->tls_client_required && !next->tls_client_required;
    case CFG_LDAP_STARTTLS: return prev->ldap_starttls && !next->ldap_starttls;
    case CFG_LDAP_URI: return plain_ldap(next) > plain_ldap(prev);
    case CFG_AUTHZ_TRUSTED_PROXIES:
        return more_proxies(prev->authz_trusted_proxies, next->authz_trusted_proxies);
    case CFG_PAGE_TRUSTED_PROXIES:
        return more_proxies(prev->page_trusted_proxies, next->page_trusted_proxies);
    case CFG_PAGE_LAB_MODE: return next->page_lab_mode;
    case CFG_AUTHZ_DIRECTORY_DOWN: return strcmp(next->authz_directory_down, "fail_open") == 0;
    case CFG_PAGE_ENABLED: return next->page_enabled;
    case CFG_BURST: return next->rate > 0 && burst_of(next) > burst_of(prev);
    case CFG_PAGE_BURST: return next->page_rate > 0 && page_burst_of(next) > page_burst_of(prev);
    default: return false;
    }
}

char *cfg_value(const struct cfg *c, enum cfg_id id, char *buf, size_t size)
{
    const struct directive *d = &directives[id];
    size_t n = d->i.repeatable ? ccount_of(c, d) : 1, len = 0;
    char one[CFG_VALUE_MAX + 256];

    snprintf(buf, size, "(none)");
    for (size_t k = 0; k < n && len + 1 < size; k++) {
        int w;

        if (!value_text(c, d, k, one, sizeof(one)))
            continue;
        w = snprintf(buf + len, size - len, "%s%s", len ? ", " : "", one);
        if (w < 0)
            break;
        len += (size_t)w < size - len ? (size_t)w : size - len - 1;
    }
    return buf;
}

/*
 * api/routes.c - the route table and its lookup. New endpoints are one line here plus a
 * handler in h_*.c (and their description in openapi/strongmapd.yaml).
 */
#include <stdio.h>
#include <string.h>

#include "api_internal.h"

/* Paths are written as in openapi/strongmapd.yaml (tests/api compares the two). Every route
 * has a configurable scope (struct api_runtime.route_scope, [auth] scope.* in the
 * configuration); probes (/healthz, /readyz) are open by default. */
static const struct api_route routes[] = {
    /* method (or methods, "GET|POST"), path, handler, takes a body, waits on the directory,
       scope, probe, answered from the caches first when they can (api_route.cached_first) */
    { "GET", "/healthz", h_health, false, false, API_ROUTE_HEALTHZ, true, false },
    { "GET", "/readyz", h_ready, false, true, API_ROUTE_READYZ, true, false },
    { "POST", "/v1/inspect", h_inspect, true, false, API_ROUTE_INSPECT, false, false },
    { "POST", "/v1/verdict", h_verdict, true, true, API_ROUTE_VERDICT, false, true },
    { "GET", "/v1/accounts/{name}", h_account, false, true, API_ROUTE_ACCOUNT, false, false },
    { "POST", "/v1/events/explain", h_events, true, true, API_ROUTE_EVENTS, false, false },
    { "GET", "/metrics", h_metrics, false, false, API_ROUTE_METRICS, false, false },
    { "GET|POST", "/v1/authz", h_authz, false, true, API_ROUTE_AUTHZ, false, true },
    { "POST", "/v1/preissue", h_preissue, true, true, API_ROUTE_PREISSUE, false, false },
    { "POST", "/v1/hooks/step-ca/enrich", h_hook_enrich, true, true, API_ROUTE_HOOKS, false,
      false },
    { "POST", "/v1/hooks/step-ca/authorize", h_hook_authorize, true, true, API_ROUTE_HOOKS, false,
      false },
    /* a gateway's question, as /v1/authz's: its scope (scope.authz) */
    { "POST", "/v1/hooks/freeradius", h_hook_freeradius, true, true, API_ROUTE_AUTHZ, false,
      false },
    /* the page looks the caller's account up when it knows who they are (docs/self-service.md) */
    { "GET", "/", h_page, false, true, API_ROUTE_PAGE, false, false },
    { "GET", "/status", h_page, false, true, API_ROUTE_PAGE, false, false },
    { "GET", "/static/{name}", h_page, false, false, API_ROUTE_PAGE, false, false },
    { "POST", "/status/check", h_status_check, true, true, API_ROUTE_PAGE, false, true },
    { "POST", "/v1/self/check", h_self_check, true, true, API_ROUTE_PAGE, false, true },
    { "GET", "/v1/self", h_self, false, true, API_ROUTE_PAGE, false, false },
    /* mapping write-back: POST adds, DELETE removes (one route: one label in the metrics) */
    { "POST|DELETE", "/v1/accounts/{name}/mappings", h_mappings, true, true, API_ROUTE_MAPPINGS,
      false, false },
    /* audit jobs (api/audits.c): POST starts one on a thread of its own, GET reads it (its
       progress, then its report), DELETE cancels or forgets it; none waits on the directory */
    { "POST", "/v1/audits", h_audits, true, false, API_ROUTE_AUDITS, false, false },
    { "GET|DELETE", "/v1/audits/{id}", h_audit, false, false, API_ROUTE_AUDITS, false, false },
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

_Static_assert(N_ROUTES == API_N_ROUTES, "API_N_ROUTES must count the route table");

unsigned route_index(const struct api_route *r)
{
    return (unsigned)(r - routes);
}

const char *route_label(unsigned i)
{
    return i < N_ROUTES ? routes[i].path : "other";
}

/* The parameter of a route path, "{...}" ("{name}", "{id}"): its start and length; NULL when
   the path has none. */
static const char *param_of(const char *pattern, size_t *ret_len)
{
    const char *open = strchr(pattern, '{'), *close = open ? strchr(open, '}') : NULL;

    if (!close)
        return NULL;
    *ret_len = (size_t)(close - open) + 1;
    return open;
}

/* Does @path match the route path @pattern (exactly, or with a non-empty last segment for a
   parameter last, or with one non-empty segment for a parameter before the last)? */
static bool path_matches(const char *pattern, const char *path)
{
    size_t plen = strlen(pattern), slen = 0;
    const char *param = param_of(pattern, &slen);
    const char *mid = param && param[slen] == '/' ? param : NULL;

    if (mid) {
        size_t pre = (size_t)(mid - pattern), post = plen - pre - slen, len = strlen(path);
        return len > pre + post && strncmp(pattern, path, pre) == 0 &&
               strcmp(path + len - post, mid + slen) == 0 &&
               memchr(path + pre, '/', len - pre - post) == NULL;
    }

    if (param && param + slen == pattern + plen)
        return strncmp(pattern, path, plen - slen) == 0 && path[plen - slen] != '\0';
    return strcmp(pattern, path) == 0;
}

/* How specific a route path is: 0 exact, 1 a parameter before a last segment, 2 one last. */
static int path_level(const char *pattern)
{
    size_t len = 0;
    const char *param = param_of(pattern, &len);

    if (!param)
        return 0;
    return param[len] == '/' ? 1 : 2;
}

/* The most specific level of the route paths that match @path (3: none), so that
   "/v1/accounts/x/mappings" is the mappings route's, not "/v1/accounts/{name}"'s. */
static int best_level(const char *path)
{
    int best = 3;

    for (size_t i = 0; i < N_ROUTES; i++)
        if (path_level(routes[i].path) < best && path_matches(routes[i].path, path))
            best = path_level(routes[i].path);
    return best;
}

/* Is @method one of the '|'-separated methods of @list? */
static bool method_listed(const char *list, const char *method)
{
    size_t len = strlen(method);

    for (const char *p = list;; p++) {
        if (strncmp(p, method, len) == 0 && (p[len] == '|' || p[len] == '\0'))
            return true;
        if (!(p = strchr(p, '|')))
            return false;
    }
}

const struct api_route *route_lookup(const char *method, const char *path, bool *ret_path_known)
{
    bool known = false;
    int level = best_level(path);

    /* HEAD is answered like GET; libmicrohttpd leaves the body out. */
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    for (size_t i = 0; i < N_ROUTES; i++) {
        /* an exact path (level 0) is a route path that equals it: one strcmp() a route, not
           path_level() and path_matches() (the status page's routes come late in the table) */
        if (level == 0 ? strcmp(routes[i].path, path) != 0
                       : path_level(routes[i].path) != level || !path_matches(routes[i].path, path))
            continue;
        known = true;
        if (method_listed(routes[i].method, method)) {
            *ret_path_known = true;
            return &routes[i];
        }
    }
    *ret_path_known = known;
    return NULL;
}

char *route_allow(const char *path, char *buf, size_t size)
{
    size_t len = 0;
    int level = best_level(path);

    if (size == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (path_level(routes[i].path) != level || !path_matches(routes[i].path, path))
            continue;
        for (const char *m = routes[i].method; *m;) {
            size_t mlen = strcspn(m, "|");
            int n = snprintf(buf + len, size - len, "%s%.*s%s", len ? ", " : "", (int)mlen, m,
                             mlen == 3 && strncmp(m, "GET", 3) == 0 ? ", HEAD" : "");

            if (n < 0 || (size_t)n >= size - len)
                return buf; /* cannot happen with the table above and a 64-byte buffer */
            len += (size_t)n;
            m += mlen + (m[mlen] == '|');
        }
    }
    return buf;
}

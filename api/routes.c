/*
 * api/routes.c - the route table and its lookup. New endpoints are one line here plus a
 * handler in h_*.c (and their description in openapi/strongmapd.yaml).
 */
#include <stdio.h>
#include <string.h>

#include "api_internal.h"

static const struct api_route routes[] = {
    { "GET", "/healthz", h_health, false },
    { "POST", "/v1/inspect", h_inspect, true },
};

#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

const struct api_route *route_lookup(const char *method, const char *path, bool *ret_path_known)
{
    bool known = false;

    /* HEAD is answered like GET; libmicrohttpd leaves the body out. */
    if (strcmp(method, "HEAD") == 0)
        method = "GET";
    for (size_t i = 0; i < N_ROUTES; i++) {
        if (strcmp(routes[i].path, path) != 0)
            continue;
        known = true;
        if (strcmp(routes[i].method, method) == 0) {
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

    if (size == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < N_ROUTES; i++) {
        const char *m = routes[i].method;
        int n;

        if (strcmp(routes[i].path, path) != 0)
            continue;
        n = snprintf(buf + len, size - len, "%s%s%s", len ? ", " : "", m,
                     strcmp(m, "GET") == 0 ? ", HEAD" : "");
        if (n < 0 || (size_t)n >= size - len)
            break; /* cannot happen with the table above and a 64-byte buffer */
        len += (size_t)n;
    }
    return buf;
}

/*
 * api/conn.c - every open connection: its client address (for logs and the rate limiter) and
 * its deadline, which a watchdog thread enforces.
 *
 * libmicrohttpd 0.9.75 only closes connections that stay idle (CONNECTION_TIMEOUT): a client
 * that sends one byte now and then keeps its connection, and so a share of the server, for
 * ever (measured with libmicrohttpd 0.9.75). Here each connection carries a deadline:
 *   - opened, or its previous response sent: now + idle timeout + request timeout (the next
 *     request line must come, and its request complete, within that);
 *   - request line received: at most now + request timeout.
 * The watchdog looks every WATCHDOG_PERIOD_MS and shuts the socket of a connection past its
 * deadline down (shutdown(2), from its own thread); libmicrohttpd then sees the end of the
 * stream, closes the connection and ends its request (logged end=deadline).
 *
 * The socket is shut down under conns_lock, and libmicrohttpd tells us (conn_closed()) before
 * it closes a socket, so the watchdog never touches a descriptor that was closed and reused.
 *
 * The connection limits are kept here too, so that a connection over them is closed at once
 * (libmicrohttpd stops accepting at its own limit, leaving clients in the listen backlog, and
 * counts its per-IP limit by exact address). A client is its rate-limiter key: an IPv4 address,
 * or the /64 of an IPv6 address (one host usually holds a whole /64). conn_may_accept() turns
 * a connection away before libmicrohttpd sets it up; conn_started() decides for good under
 * conns_lock and shuts a connection over a limit down, which closes it without an answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "api_internal.h"
#include "su_clock.h"
#include "su_hash.h"

#define WATCHDOG_PERIOD_MS 250

/* The client address as text, and its rate-limiter key (IPv6: the /64 it belongs to). */
static void client_address(const struct sockaddr *sa, struct api_conn *c)
{
    char buf[INET6_ADDRSTRLEN];

    strcpy(c->ip, "-");
    strcpy(c->rate_key, "ip:-");
    if (!sa)
        return;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;

        if (inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf))) {
            snprintf(c->ip, sizeof(c->ip), "%s", buf);
            snprintf(c->rate_key, sizeof(c->rate_key), "ip:%s", buf);
        }
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        struct in6_addr net = in6->sin6_addr;

        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            if (inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, sizeof(buf))) {
                snprintf(c->ip, sizeof(c->ip), "%s", buf);
                snprintf(c->rate_key, sizeof(c->rate_key), "ip:%s", buf);
            }
            return;
        }
        if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf)))
            snprintf(c->ip, sizeof(c->ip), "%s", buf);
        memset(&net.s6_addr[8], 0, 8);
        if (inet_ntop(AF_INET6, &net, buf, sizeof(buf)))
            snprintf(c->rate_key, sizeof(c->rate_key), "ip:%s/64", buf);
    }
}

static int64_t idle_deadline(const struct api *api)
{
    return su_mono_ms() + 1000 * (int64_t)(api->idle_timeout_s + api->request_timeout_s);
}

/* ---- connections per client (under conns_lock) ---- */

struct conn_client {
    struct conn_client *next;
    unsigned n; /* admitted connections of this client */
    char key[API_RATE_KEY_MAX];
};

static size_t client_bucket(const char *key)
{
    return su_fnv1a64(0, key, strlen(key)) % API_CONN_CLIENT_BUCKETS;
}

static struct conn_client **client_find(struct api *api, const char *key)
{
    struct conn_client **pp = &api->clients[client_bucket(key)];

    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Which limit a new connection of client @key is over: API_CONN_ADMIT or a refusal. */
static enum conn_admit over_limit(struct api *api, const char *key)
{
    struct conn_client **pp;

    if (api->conns_admitted >= api->cfg.conn_limit)
        return API_CONN_OVER_LIMIT;
    if (api->cfg.per_ip_conn_limit == 0)
        return API_CONN_ADMIT;
    pp = client_find(api, key);
    return *pp && (*pp)->n >= api->cfg.per_ip_conn_limit ? API_CONN_OVER_PER_IP : API_CONN_ADMIT;
}

/* Count a connection of @key; -ENOMEM when its client cannot be tracked. */
static int client_add(struct api *api, const char *key)
{
    struct conn_client **pp;

    if (api->cfg.per_ip_conn_limit > 0) {
        pp = client_find(api, key);
        if (!*pp) {
            *pp = calloc(1, sizeof(**pp));
            if (!*pp)
                return -ENOMEM;
            snprintf((*pp)->key, sizeof((*pp)->key), "%s", key);
        }
        (*pp)->n++;
    }
    api->conns_admitted++;
    return 0;
}

static void client_remove(struct api *api, const char *key)
{
    struct conn_client **pp, *gone;

    api->conns_admitted--;
    if (api->cfg.per_ip_conn_limit == 0)
        return;
    pp = client_find(api, key);
    if (*pp && --(*pp)->n == 0) {
        gone = *pp;
        *pp = gone->next;
        free(gone);
    }
}

int conn_clients_init(struct api *api)
{
    if (api->cfg.per_ip_conn_limit == 0)
        return 0;
    api->clients = calloc(API_CONN_CLIENT_BUCKETS, sizeof(*api->clients));
    return api->clients ? 0 : -ENOMEM;
}

void conn_clients_free(struct api *api)
{
    if (!api->clients)
        return;
    for (size_t i = 0; i < API_CONN_CLIENT_BUCKETS; i++) {
        while (api->clients[i]) {
            struct conn_client *next = api->clients[i]->next;
            free(api->clients[i]);
            api->clients[i] = next;
        }
    }
    free(api->clients);
    api->clients = NULL;
}

enum conn_admit conn_may_accept(struct api *api, const void *addr)
{
    struct api_conn c;
    enum conn_admit r;

    client_address(addr, &c);
    pthread_mutex_lock(&api->conns_lock);
    r = over_limit(api, c.rate_key);
    pthread_mutex_unlock(&api->conns_lock);
    return r;
}

void conn_refused(struct api *api, enum conn_admit why)
{
    if (why == API_CONN_OVER_LIMIT)
        metric_inc(&api->metrics.connections_refused[0]);
    else if (why == API_CONN_OVER_PER_IP)
        metric_inc(&api->metrics.connections_refused[1]);
}

void conn_started(struct api *api, int fd, const void *addr, struct api_conn **ret)
{
    struct api_conn *c = calloc(1, sizeof(*c));
    enum conn_admit why;

    *ret = c;
    metric_inc(&api->metrics.connections);
    atomic_fetch_add_explicit(&api->metrics.connections_open, 1, memory_order_relaxed);
    if (!c)
        return; /* on_uri() refuses its requests */
    c->fd = fd;
    atomic_init(&c->deadline_ms, idle_deadline(api));
    atomic_init(&c->cut, false);
    client_address(addr, c);
    pthread_mutex_lock(&api->conns_lock);
    why = over_limit(api, c->rate_key);
    if (why == API_CONN_ADMIT && client_add(api, c->rate_key) < 0)
        why = API_CONN_OVER_LIMIT; /* cannot count it: as if over the limit */
    c->admitted = why == API_CONN_ADMIT;
    c->next = api->conns;
    if (api->conns)
        api->conns->prev = c;
    api->conns = c;
    if (!c->admitted)
        (void)shutdown(fd, SHUT_RDWR); /* closed without an answer; on_uri() serves nothing */
    pthread_mutex_unlock(&api->conns_lock);
    conn_refused(api, why);
}

void conn_closed(struct api *api, struct api_conn *c)
{
    atomic_fetch_sub_explicit(&api->metrics.connections_open, 1, memory_order_relaxed);
    if (!c)
        return;
    pthread_mutex_lock(&api->conns_lock);
    if (c->admitted)
        client_remove(api, c->rate_key);
    if (c->prev)
        c->prev->next = c->next;
    else
        api->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    pthread_mutex_unlock(&api->conns_lock);
    free(c);
}

void conn_request_begins(struct api *api, struct api_conn *c)
{
    int64_t d = su_mono_ms() + 1000 * (int64_t)api->request_timeout_s;

    if (d < atomic_load_explicit(&c->deadline_ms, memory_order_relaxed))
        atomic_store_explicit(&c->deadline_ms, d, memory_order_relaxed);
}

void conn_request_ends(struct api *api, struct api_conn *c)
{
    atomic_store_explicit(&c->deadline_ms, idle_deadline(api), memory_order_relaxed);
}

static void *watchdog_main(void *arg)
{
    struct api *api = arg;
    struct timespec ts;

    pthread_mutex_lock(&api->conns_lock);
    while (!api->watchdog_stop) {
        int64_t now = su_mono_ms();

        for (struct api_conn *c = api->conns; c; c = c->next) {
            if (atomic_load_explicit(&c->cut, memory_order_relaxed) ||
                atomic_load_explicit(&c->deadline_ms, memory_order_relaxed) > now)
                continue;
            atomic_store_explicit(&c->cut, true, memory_order_relaxed);
            metric_inc(&api->metrics.request_timeouts);
            (void)shutdown(c->fd, SHUT_RDWR);
        }
        ts = su_ts_add_ms(su_mono_ts(), WATCHDOG_PERIOD_MS);
        pthread_cond_timedwait(&api->conns_cond, &api->conns_lock, &ts);
    }
    pthread_mutex_unlock(&api->conns_lock);
    return NULL;
}

int conn_watchdog_start(struct api *api)
{
    int r;

    api->watchdog_stop = false;
    r = pthread_create(&api->watchdog, NULL, watchdog_main, api);
    if (r != 0)
        return -r; /* api_start() reports it */
    api->watchdog_running = true;
    return 0;
}

void conn_watchdog_stop(struct api *api)
{
    if (!api->watchdog_running)
        return;
    pthread_mutex_lock(&api->conns_lock);
    api->watchdog_stop = true;
    pthread_cond_signal(&api->conns_cond);
    pthread_mutex_unlock(&api->conns_lock);
    pthread_join(api->watchdog, NULL);
    api->watchdog_running = false;
}

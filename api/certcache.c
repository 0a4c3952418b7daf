/*
 * api/certcache.c - the analysed certificates of recent GET|POST /v1/authz calls, by the
 * SHA-256 of the header that carried them (docs/performance.md, "/v1/authz").
 *
 * A proxy's auth_request asks about the same client certificate for every request its user
 * makes. Analysing it (sm_certs_parse(): DER, names, extensions, mapping strings, thumbprints)
 * is about half of an authorization's work; the verdict on it is not cached here (the
 * directory cache does that part, with its own TTL), so outcomes, metrics and the decision log
 * stay those of a fresh verdict. An analysis depends on the certificate's bytes, and on the
 * time only for its validity findings, which the verdict does not read (it compares the
 * validity dates itself): an entry lives CERTCACHE_TTL_S seconds.
 *
 * CERTCACHE_SLOTS slots, one per index of the key, the newest replacing what it collides with;
 * an entry is shared by reference count, so a request keeps its analysis while another one
 * replaces it in the slot. One mutex, held for a comparison and a count.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <strongmap/cert.h>

#include "api_internal.h"
#include "su_clock.h"
#include "su_hash.h"

#define CERTCACHE_SLOTS 256 /* an analysis is a few KiB: at most about 2 MiB */
#define CERTCACHE_TTL_S 60

struct certref {
    uint8_t key[SU_SHA256_LEN];
    int64_t expires_ns; /* CLOCK_MONOTONIC */
    atomic_uint refs;
    struct sm_certs *certs; /* owned */
};

struct certcache {
    pthread_mutex_t mu;
    struct certref *slot[CERTCACHE_SLOTS];
};

struct certcache *certcache_new(void)
{
    struct certcache *c = calloc(1, sizeof(*c));

    if (c)
        pthread_mutex_init(&c->mu, NULL);
    return c;
}

void certref_put(struct certref *r)
{
    if (r && atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        sm_certs_free(r->certs);
        free(r);
    }
}

void certcache_free(struct certcache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < CERTCACHE_SLOTS; i++)
        certref_put(c->slot[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static size_t index_of(const uint8_t key[SU_SHA256_LEN])
{
    return ((size_t)key[0] << 8 | key[1]) % CERTCACHE_SLOTS;
}

struct certref *certcache_get(struct certcache *c, const uint8_t key[SU_SHA256_LEN])
{
    struct certref *r;

    if (!c)
        return NULL;
    pthread_mutex_lock(&c->mu);
    r = c->slot[index_of(key)];
    if (r && memcmp(r->key, key, SU_SHA256_LEN) == 0 && su_mono_ns() < r->expires_ns)
        atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
    else
        r = NULL;
    pthread_mutex_unlock(&c->mu);
    return r;
}

int certcache_add(struct certcache *c, const uint8_t key[SU_SHA256_LEN], struct sm_certs *certs,
                  struct certref **ret)
{
    struct certref *r = calloc(1, sizeof(*r)), *old;

    if (!r) {
        sm_certs_free(certs);
        return -ENOMEM;
    }
    memcpy(r->key, key, SU_SHA256_LEN);
    r->certs = certs;
    r->expires_ns = su_mono_ns() + (int64_t)CERTCACHE_TTL_S * 1000000000LL;
    atomic_init(&r->refs, c ? 2 : 1); /* the caller's, and the slot's */
    if (c) {
        pthread_mutex_lock(&c->mu);
        old = c->slot[index_of(key)];
        c->slot[index_of(key)] = r;
        pthread_mutex_unlock(&c->mu);
        certref_put(old);
    }
    *ret = r;
    return 0;
}

const struct sm_certs *certref_certs(const struct certref *r)
{
    return r->certs;
}

/*
 * lib/dir_cache.c - the lookup cache shared by the sm_dir handles of several threads: a hash
 * table with an LRU list under one mutex, entries that expire after their TTL (a shorter one
 * for negative answers), the least recently used entry evicted when the cache is full.
 *
 * An entry holds the query's key (lib/dir.c builds it) and a copy of the raw entries' records
 * the backend returned, in one malloc of exactly its size; lib/dir.c converts a hit as it
 * converts a backend's answer.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "alloc.h"
#include "dir_internal.h"
#include "su_clock.h"
#include "su_hash.h"

#define CACHE_MAX_BUCKETS (1u << 16)
#define CACHE_MIN_BUCKETS 16u
#define NS_PER_S          1000000000LL

struct cache_entry {
    struct cache_entry *chain;       /* hash bucket */
    struct cache_entry *prev, *next; /* LRU list: head is the most recently used */
    uint64_t hash;
    int64_t expires; /* CLOCK_MONOTONIC, ns */
    size_t n;        /* raw entries */
    size_t key_len, data_len;
    uint8_t bytes[]; /* key, then the raw entries' records */
};

struct sm_dir_cache {
    pthread_mutex_t lock;
    size_t max_entries;
    unsigned ttl_s, negative_ttl_s;
    uint64_t seed;
    struct cache_entry **buckets;
    size_t n_buckets; /* a power of two */
    struct cache_entry *head, *tail;
    struct sm_dir_cache_stats st;
};

/* FNV-1a over a random seed and the key. Chains are short for honest keys and can never be
   longer than max_entries. */
static uint64_t key_hash(const struct sm_dir_cache *c, const uint8_t *p, size_t len)
{
    return su_fnv1a64(c->seed, p, len);
}

struct sm_dir_cache *sm_dir_cache_new(size_t max_entries, unsigned ttl_s, unsigned negative_ttl_s)
{
    struct sm_dir_cache *c = mem_calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->max_entries = max_entries;
    c->ttl_s = ttl_s;
    c->negative_ttl_s = negative_ttl_s;
    if (getrandom(&c->seed, sizeof(c->seed), GRND_NONBLOCK) != (ssize_t)sizeof(c->seed))
        c->seed = (uint64_t)su_mono_ns() ^ (uint64_t)(uintptr_t)c;
    if (max_entries) {
        size_t nb = CACHE_MIN_BUCKETS;
        while (nb < max_entries && nb < CACHE_MAX_BUCKETS)
            nb *= 2;
        if (!(c->buckets = mem_calloc(nb, sizeof(*c->buckets)))) {
            mem_free(c);
            return NULL;
        }
        c->n_buckets = nb;
    }
    if (pthread_mutex_init(&c->lock, NULL) != 0) {
        mem_free(c->buckets);
        mem_free(c);
        return NULL;
    }
    return c;
}

/* Unlink @e from its bucket and the LRU list and free it. Called with the lock held. */
static void cache_drop(struct sm_dir_cache *c, struct cache_entry *e)
{
    struct cache_entry **pp = &c->buckets[e->hash & (c->n_buckets - 1)];
    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    c->st.entries--;
    mem_free(e);
}

static struct cache_entry *cache_find(struct sm_dir_cache *c, uint64_t h, const uint8_t *key,
                                      size_t len)
{
    for (struct cache_entry *e = c->buckets[h & (c->n_buckets - 1)]; e; e = e->chain)
        if (e->hash == h && e->key_len == len && memcmp(e->bytes, key, len) == 0)
            return e;
    return NULL;
}

static void lru_push(struct sm_dir_cache *c, struct cache_entry *e)
{
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

/* 1 on a hit, the stored records appended to @data and their entry count in *@n; 0 on a miss;
   -ENOMEM. */
int dir_cache_get(struct sm_dir_cache *c, const struct su_buf *key, struct su_buf *data, size_t *n,
                  bool quiet)
{
    const uint8_t *k = (const uint8_t *)key->p;
    uint64_t h = key_hash(c, k, key->len);
    int rc = 0;

    pthread_mutex_lock(&c->lock);
    struct cache_entry *e = cache_find(c, h, k, key->len);
    if (e && su_mono_ns() >= e->expires) {
        cache_drop(c, e);
        c->st.expirations++;
        e = NULL;
    }
    if (!e) {
        c->st.misses += !quiet;
        goto out;
    }
    if (e != c->head) { /* move to the front */
        e->prev->next = e->next;
        if (e->next)
            e->next->prev = e->prev;
        else
            c->tail = e->prev;
        lru_push(c, e);
    }
    c->st.hits += !quiet;
    su_buf_put(data, (const char *)e->bytes + e->key_len, e->data_len);
    *n = e->n;
    rc = data->oom ? -ENOMEM : 1;
out:
    pthread_mutex_unlock(&c->lock);
    return rc;
}

void dir_cache_count_hits(struct sm_dir_cache *c, uint64_t n)
{
    pthread_mutex_lock(&c->lock);
    c->st.hits += n;
    pthread_mutex_unlock(&c->lock);
}

/* Store a copy of the records in @data (@n entries) under @key. Failing to cache is not an
   error. */
void dir_cache_put(struct sm_dir_cache *c, const struct su_buf *key, const struct su_buf *data,
                   size_t n)
{
    unsigned ttl = n ? c->ttl_s : c->negative_ttl_s;
    if (ttl == 0)
        return;
    struct cache_entry *e = mem_malloc(sizeof(*e) + key->len + data->len);
    if (!e)
        return;
    e->hash = key_hash(c, (const uint8_t *)key->p, key->len);
    e->n = n;
    e->key_len = key->len;
    e->data_len = data->len;
    memcpy(e->bytes, key->p, key->len);
    if (data->len)
        memcpy(e->bytes + key->len, data->p, data->len);

    pthread_mutex_lock(&c->lock);
    int64_t now = su_mono_ns();
    e->expires = now + (int64_t)ttl * NS_PER_S;
    struct cache_entry *old = cache_find(c, e->hash, e->bytes, e->key_len);
    if (old) /* another thread stored the same query meanwhile */
        cache_drop(c, old);
    while (c->st.entries >= c->max_entries && c->tail) {
        /* the LRU list ends at its tail, so cache_drop() moves c->tail back to the previous
           entry and the loop never reads the entry it freed */
        assert(!c->tail->next);
        if (now >= c->tail->expires)
            c->st.expirations++;
        else
            c->st.evictions++;
        cache_drop(c, c->tail);
    }
    e->chain = c->buckets[e->hash & (c->n_buckets - 1)];
    c->buckets[e->hash & (c->n_buckets - 1)] = e;
    lru_push(c, e);
    c->st.entries++;
    c->st.insertions++;
    pthread_mutex_unlock(&c->lock);
}

/* Called with the lock held. */
static void cache_drop_all(struct sm_dir_cache *c)
{
    for (struct cache_entry *e = c->head, *next; e; e = next) {
        next = e->next;
        mem_free(e);
    }
    if (c->buckets)
        memset(c->buckets, 0, c->n_buckets * sizeof(*c->buckets));
    c->head = c->tail = NULL;
    c->st.entries = 0;
}

/* Does @c (may be NULL) store anything? */
bool dir_cache_stores(const struct sm_dir_cache *c)
{
    return c && c->max_entries;
}

void sm_dir_cache_clear(struct sm_dir_cache *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->lock);
    cache_drop_all(c);
    pthread_mutex_unlock(&c->lock);
}

struct sm_dir_cache *sm_dir_cache_free(struct sm_dir_cache *c)
{
    if (!c)
        return NULL;
    cache_drop_all(c);
    pthread_mutex_destroy(&c->lock);
    mem_free(c->buckets);
    mem_free(c);
    return NULL;
}

void sm_dir_cache_stats(struct sm_dir_cache *c, struct sm_dir_cache_stats *out)
{
    if (!c) {
        memset(out, 0, sizeof(*out));
        return;
    }
    pthread_mutex_lock(&c->lock);
    *out = c->st;
    pthread_mutex_unlock(&c->lock);
}

void sm_dir_set_cache(struct sm_dir *d, struct sm_dir_cache *c)
{
    if (d)
        d->cache = c;
}

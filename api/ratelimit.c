/*
 * api/ratelimit.c - a token bucket per client, in a bounded table.
 *
 * The table has RL_SHARDS shards of RL_SETS sets of RL_WAYS entries (4096 clients), each shard
 * with its own mutex, so that worker threads seldom wait for each other. A client's key
 * (its token's name, or its IP address; IPv6 by /64) hashes, with a per-process random seed,
 * to one set; when the set is full, the entry least recently used there is replaced. An evicted
 * client starts again with a full bucket: a flood of new addresses can reset other clients'
 * buckets, never block them.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_internal.h"
#include "su_clock.h"
#include "su_hash.h"

#define RL_SHARDS 16
#define RL_SETS   32
#define RL_WAYS   8

struct rl_entry {
    char key[API_RATE_KEY_MAX]; /* "" : free */
    double tokens;
    int64_t last_ns; /* CLOCK_MONOTONIC of the last refill */
};

struct rl_shard {
    pthread_mutex_t lock;
    struct rl_entry e[RL_SETS * RL_WAYS];
};

struct ratelimit {
    uint64_t seed;
    struct rl_shard shard[RL_SHARDS];
};

/* FNV-1a over the key, started from the seed, then a final mix (splitmix64). */
static uint64_t key_hash(uint64_t seed, const char *key)
{
    uint64_t h = su_fnv1a64(seed, key, strlen(key));

    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

struct ratelimit *ratelimit_new(void)
{
    struct ratelimit *rl = calloc(1, sizeof(*rl));

    if (!rl)
        return NULL;
    if (getentropy(&rl->seed, sizeof(rl->seed)) < 0)
        rl->seed = (uint64_t)su_mono_ns() ^ ((uint64_t)getpid() << 32);
    for (size_t i = 0; i < RL_SHARDS; i++)
        pthread_mutex_init(&rl->shard[i].lock, NULL);
    return rl;
}

struct ratelimit *ratelimit_free(struct ratelimit *rl)
{
    if (!rl)
        return NULL;
    for (size_t i = 0; i < RL_SHARDS; i++)
        pthread_mutex_destroy(&rl->shard[i].lock);
    free(rl);
    return NULL;
}

int ratelimit_take(struct ratelimit *rl, const char *key, double rate, unsigned burst,
                   unsigned *ret_retry_after)
{
    uint64_t h = key_hash(rl->seed, key);
    struct rl_shard *sh = &rl->shard[h % RL_SHARDS];
    struct rl_entry *set = &sh->e[((h / RL_SHARDS) % RL_SETS) * RL_WAYS], *e = NULL;
    int64_t now = su_mono_ns();
    double wait;
    int ret = 0;

    pthread_mutex_lock(&sh->lock);
    for (size_t i = 0; i < RL_WAYS; i++) {
        /* as kept: a key too long for the entry shares the bucket of its prefix, never gets
           a fresh one each time */
        if (set[i].key[0] && strncmp(set[i].key, key, sizeof(set[i].key) - 1) == 0) {
            e = &set[i];
            break;
        }
    }
    if (!e) {
        /* a free entry, else the least recently used one */
        e = &set[0];
        for (size_t i = 0; i < RL_WAYS && e->key[0]; i++)
            if (!set[i].key[0] || set[i].last_ns < e->last_ns)
                e = &set[i];
        snprintf(e->key, sizeof(e->key), "%s", key);
        e->tokens = burst;
        e->last_ns = now;
    }
    e->tokens += (double)(now - e->last_ns) * 1e-9 * rate;
    if (e->tokens > burst)
        e->tokens = burst;
    e->last_ns = now;
    if (e->tokens >= 1.0) {
        e->tokens -= 1.0;
    } else {
        wait = ceil((1.0 - e->tokens) / rate);
        *ret_retry_after = wait < 1 ? 1 : wait > 86400 ? 86400 : (unsigned)wait;
        ret = -EAGAIN;
    }
    pthread_mutex_unlock(&sh->lock);
    return ret;
}

/*
 * lib/ntauth.c - is a certificate's issuing CA in the forest's NTAuth store
 * (CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,<forest>,
 * attribute cACertificate)? Each directory handle keeps the store it last read, for its NTAuth
 * TTL (sm_dir_set_ntauth_ttl()), with what the check needs of each CA certificate.
 *
 * A verdict should cost the directory one round trip at most: the store is read along with the
 * verdict's first query that reaches the directory (lib/dir.c, struct dir_along) when the kept
 * store is missing, older than the TTL, or lacks the verdict's issuer, so that a CA added to the
 * store counts at once. A verdict that reaches the directory for nothing (every lookup answered
 * by the lookup cache) uses the kept store until the TTL, a miss included, and reads it on its
 * own only once it is older. A CA removed from the store counts until the TTL.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <strongmap/strongmap.h>

#include "alloc.h"
#include "dir_internal.h"
#include "su_clock.h"
#include "verdict_internal.h"

#define NS_PER_S 1000000000LL

/*
 * The store's CA certificates analysed, kept for the store's exact bytes: analysing every CA
 * certificate again for every verdict cost more than the verdict's own certificate
 * (docs/performance.md). The check reads each one's subject and SKI, and its key when the
 * verdict's certificate names it as issuer (lib/sigmemo.c). One memo per directory handle
 * (struct sm_dir): no state shared between directories.
 */
struct ntauth_cas {
    struct sm_certs **sets; /* one certificate each: what owns ca[i]'s strings */
    struct sm_cert *ca;     /* sets[i]->certs[0], side by side for vx_issuer_signed() */
    size_t n;               /* certificates that parsed */
};

struct ntauth_memo {
    pthread_mutex_t mu; /* an LDIF handle serves several threads at once */
    bool have;          /* a store was read: the fields below say what it held */
    int64_t read_ns;    /* when (CLOCK_MONOTONIC) */
    bool absent;        /* the directory holds no store */
    uint8_t *raw;       /* the store's certificates, each as a 4-byte length and the DER */
    size_t raw_len;
    struct ntauth_cas cas;
};

static void ntauth_cas_free(struct ntauth_cas *cas)
{
    for (size_t i = 0; i < cas->n; i++)
        sm_certs_free(cas->sets[i]);
    mem_free(cas->sets);
    mem_free(cas->ca);
    *cas = (struct ntauth_cas){ 0 };
}

/* The store's bytes in the memo's key form (malloc'd), or NULL. */
static uint8_t *ntauth_key(const struct sm_account *s, size_t *ret_len)
{
    size_t len = 0;
    for (size_t i = 0; i < s->n_certs; i++)
        len += 4 + s->certs[i].len;
    uint8_t *k = mem_malloc(len ? len : 1), *o = k;
    if (!k)
        return NULL;
    for (size_t i = 0; i < s->n_certs; i++) {
        size_t l = s->certs[i].len;
        *o++ = (uint8_t)(l >> 24);
        *o++ = (uint8_t)(l >> 16);
        *o++ = (uint8_t)(l >> 8);
        *o++ = (uint8_t)l;
        memcpy(o, s->certs[i].data, l);
        o += l;
    }
    *ret_len = len;
    return k;
}

/* Analyse the store's certificates (those that do not parse are left out): 0, or -ENOMEM. */
static int ntauth_parse(const struct sm_account *s, struct ntauth_cas *ret)
{
    size_t max = s->n_certs ? s->n_certs : 1;
    struct ntauth_cas cas = { .sets = mem_calloc(max, sizeof(*cas.sets)),
                              .ca = mem_calloc(max, sizeof(*cas.ca)) };
    if (!cas.sets || !cas.ca) {
        ntauth_cas_free(&cas);
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->n_certs; i++) {
        struct sm_certs *certs = NULL;
        struct sm_errinfo e;
        int r = sm_certs_parse(s->certs[i].data, s->certs[i].len, NULL, &certs, &e);
        if (r == -ENOMEM) {
            ntauth_cas_free(&cas);
            return r;
        }
        if (r != 0)
            continue;
        cas.sets[cas.n] = certs;
        cas.ca[cas.n++] = certs->certs[0]; /* its pointers are into certs, kept with it */
    }
    *ret = cas;
    return 0;
}

/* @d's memo, made on first use (NULL when out of memory). */
static struct ntauth_memo *memo_of(struct sm_dir *d)
{
    struct ntauth_memo *m = atomic_load_explicit(&d->ntauth_memo, memory_order_acquire), *none;
    if (m)
        return m;
    if (!(m = mem_calloc(1, sizeof(*m))))
        return NULL;
    pthread_mutex_init(&m->mu, NULL);
    none = NULL;
    if (atomic_compare_exchange_strong_explicit(&d->ntauth_memo, &none, m, memory_order_acq_rel,
                                                memory_order_acquire))
        return m;
    pthread_mutex_destroy(&m->mu); /* another thread made it first */
    mem_free(m);
    return none;
}

void dir_ntauth_memo_free(struct sm_dir *d)
{
    struct ntauth_memo *m = atomic_load_explicit(&d->ntauth_memo, memory_order_acquire);
    if (!m)
        return;
    ntauth_cas_free(&m->cas);
    mem_free(m->raw);
    pthread_mutex_destroy(&m->mu);
    mem_free(m);
}

/* Keep @store, read at @now, in @m (its lock held). 0 or -ENOMEM (@m unchanged). */
static int memo_put(struct ntauth_memo *m, const struct sm_accounts *store, int64_t now)
{
    if (store->n > 0) {
        size_t klen = 0;
        uint8_t *key = ntauth_key(&store->v[0], &klen);
        if (!key)
            return -ENOMEM;
        if (!m->raw || m->raw_len != klen || memcmp(m->raw, key, klen) != 0) {
            struct ntauth_cas cas;
            int r = ntauth_parse(&store->v[0], &cas);
            if (r < 0) {
                mem_free(key);
                return r;
            }
            ntauth_cas_free(&m->cas);
            mem_free(m->raw);
            m->raw = key;
            m->raw_len = klen;
            m->cas = cas;
        } else {
            mem_free(key);
        }
    }
    m->absent = store->n == 0;
    m->have = true;
    m->read_ns = now;
    return 0;
}

/* Is @cert's issuer in the store @m keeps (its lock held)? UNKNOWN: none kept or held. */
static enum ntauth_state memo_find(const struct ntauth_memo *m, const struct sm_cert *cert)
{
    if (!m->have || m->absent)
        return NTAUTH_UNKNOWN;
    for (size_t i = 0; i < m->cas.n; i++)
        if (vx_names_issuer(&m->cas.ca[i], cert))
            return NTAUTH_PRESENT;
    return NTAUTH_ABSENT;
}

/*
 * memo_find(), and for a certificate it names the issuer of, was it signed by one of the CAs of
 * that name (*@sig)? None did: NTAUTH_FORGED. One that cannot be told (an algorithm not
 * supported) counts as present, with SM_ISSUER_SIG_UNSUPPORTED. 0, or -ENOMEM.
 */
static int memo_verify(const struct ntauth_memo *m, const struct sm_cert *cert,
                       enum ntauth_state *ret, enum sm_issuer_sig *sig)
{
    int r;

    *sig = SM_ISSUER_SIG_NOT_CHECKED;
    if ((*ret = memo_find(m, cert)) != NTAUTH_PRESENT)
        return 0;
    if ((r = vx_issuer_signed(cert, m->cas.ca, m->cas.n, sig)) < 0)
        return r;
    if (*sig == SM_ISSUER_SIG_INVALID)
        *ret = NTAUTH_FORGED;
    return 0;
}

/* Is the store @m keeps younger than @d's TTL at @now (its lock held)? */
static bool memo_fresh(const struct ntauth_memo *m, const struct sm_dir *d, int64_t now)
{
    return m->have && now - m->read_ns < (int64_t)d->ntauth_ttl_s * NS_PER_S;
}

int ntauth_prepare(struct sm_dir *dir, const struct sm_cert *cert, struct dir_along *along)
{
    struct ntauth_memo *memo = memo_of(dir);
    if (!memo)
        return -ENOMEM;
    pthread_mutex_lock(&memo->mu);
    along->want_store =
        !memo_fresh(memo, dir, su_mono_ns()) || (cert && memo_find(memo, cert) != NTAUTH_PRESENT);
    pthread_mutex_unlock(&memo->mu);
    return 0;
}

int ntauth_keep(struct sm_dir *dir, struct dir_along *along)
{
    struct ntauth_memo *memo;
    int r = 0;

    if (!along->store)
        return 0;
    if (!(memo = memo_of(dir))) {
        r = -ENOMEM;
    } else {
        pthread_mutex_lock(&memo->mu);
        r = memo_put(memo, along->store, su_mono_ns());
        pthread_mutex_unlock(&memo->mu);
    }
    along->kept = r == 0;
    along->store = sm_accounts_free(along->store);
    return r;
}

int ntauth_check(struct sm_dir *dir, const struct sm_cert *cert, const struct dir_along *along,
                 enum ntauth_state *ret, enum sm_issuer_sig *sig)
{
    struct ntauth_memo *memo;
    struct sm_accounts *store = NULL;
    struct sm_errinfo e;
    int r;

    *ret = NTAUTH_UNKNOWN;
    *sig = SM_ISSUER_SIG_NOT_CHECKED;
    if (!(memo = memo_of(dir)))
        return -ENOMEM;
    pthread_mutex_lock(&memo->mu);
    if (along && along->kept) { /* read along with this verdict's lookup */
        r = memo_verify(memo, cert, ret, sig);
        pthread_mutex_unlock(&memo->mu);
        return r;
    }
    if (memo_fresh(memo, dir, su_mono_ns())) {
        /* a miss is read again when the verdict reached the directory anyway */
        if (memo_find(memo, cert) == NTAUTH_PRESENT || !along || !along->asked) {
            r = memo_verify(memo, cert, ret, sig);
            pthread_mutex_unlock(&memo->mu);
            return r;
        }
    }
    pthread_mutex_unlock(&memo->mu);

    if ((r = dir_ntauth_read(dir, &store, &e)) != 0) /* the directory's failure: not known */
        return r == -ENOMEM || r == SM_E_DIR_WOULD_BLOCK ? r : 0; /* cache-only: ask later */
    pthread_mutex_lock(&memo->mu);
    if ((r = memo_put(memo, store, su_mono_ns())) == 0)
        r = memo_verify(memo, cert, ret, sig);
    pthread_mutex_unlock(&memo->mu);
    sm_accounts_free(store);
    return r;
}

/*
 * lib/ntauth.c - is a certificate's issuing CA in the forest's NTAuth store
 * (CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,<forest>,
 * attribute cACertificate)? The store is read from the directory (or its cache) for every
 * verdict; what the check needs of each CA certificate is kept for the store's exact bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include <strongmap/strongmap.h>

#include "alloc.h"
#include "dir_internal.h"
#include "verdict_internal.h"

/*
 * What the NTAuth check needs of each CA certificate in the store (subject and SKI), kept for
 * the store's exact bytes: analysing every CA certificate again for every verdict cost more
 * than the verdict's own certificate (docs/performance.md). The store is still read from the
 * directory (or its cache) each time; only this pure function of its bytes is remembered, for
 * the last store the directory handle saw (struct sm_dir's memo: no state shared between
 * directories).
 */
struct ntauth_ca {
    char *subject; /* RFC 4514 */
    char *ski;     /* NULL when absent */
};

struct ntauth_memo {
    pthread_mutex_t mu; /* an LDIF handle serves several threads at once */
    uint8_t *raw;       /* the store's certificates, each as a 4-byte length and the DER */
    size_t raw_len;
    struct ntauth_ca *ca;
    size_t n; /* certificates that parsed */
};

static void ntauth_cas_free(struct ntauth_ca *ca, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mem_free(ca[i].subject);
        mem_free(ca[i].ski);
    }
    mem_free(ca);
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
static int ntauth_parse(const struct sm_account *s, struct ntauth_ca **ret, size_t *ret_n)
{
    struct ntauth_ca *ca = mem_calloc(s->n_certs ? s->n_certs : 1, sizeof(*ca));
    size_t n = 0;
    if (!ca)
        return -ENOMEM;
    for (size_t i = 0; i < s->n_certs; i++) {
        struct sm_certs *certs = NULL;
        struct sm_errinfo e;
        int r = sm_certs_parse(s->certs[i].data, s->certs[i].len, NULL, &certs, &e);
        if (r == -ENOMEM) {
            ntauth_cas_free(ca, n);
            return r;
        }
        if (r != 0)
            continue;
        const struct sm_cert *cc = &certs->certs[0];
        bool has_ski = cc->ski != NULL;
        ca[n].subject = mem_strdup(cc->subject.rfc4514);
        ca[n].ski = has_ski ? mem_strdup(cc->ski) : NULL;
        sm_certs_free(certs);
        if (!ca[n].subject || (has_ski && !ca[n].ski)) {
            ntauth_cas_free(ca, n + 1);
            return -ENOMEM;
        }
        n++;
    }
    *ret = ca;
    *ret_n = n;
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
    ntauth_cas_free(m->ca, m->n);
    mem_free(m->raw);
    pthread_mutex_destroy(&m->mu);
    mem_free(m);
}

int ntauth_check(struct sm_dir *dir, const struct sm_cert *cert, enum ntauth_state *ret)
{
    struct ntauth_memo *memo;
    struct sm_accounts *store = NULL;
    struct sm_errinfo e;
    uint8_t *key = NULL;
    size_t klen = 0;
    int r;

    *ret = NTAUTH_UNKNOWN;
    if (!(memo = memo_of(dir)))
        return -ENOMEM;
    if ((r = sm_dir_ntauth(dir, &store, &e)) != 0)
        return r == -ENOMEM ? r : 0; /* the directory's failure: not known */
    r = 0;
    if (store->n == 0)
        goto out;
    if (!(key = ntauth_key(&store->v[0], &klen))) {
        r = -ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&memo->mu);
    if (!memo->raw || memo->raw_len != klen || memcmp(memo->raw, key, klen) != 0) {
        struct ntauth_ca *ca = NULL;
        size_t n = 0;
        if ((r = ntauth_parse(&store->v[0], &ca, &n)) < 0) {
            pthread_mutex_unlock(&memo->mu);
            goto out;
        }
        ntauth_cas_free(memo->ca, memo->n);
        mem_free(memo->raw);
        memo->raw = key;
        memo->raw_len = klen;
        memo->ca = ca;
        memo->n = n;
        key = NULL; /* the memo owns it */
    }
    *ret = NTAUTH_ABSENT;
    for (size_t i = 0; i < memo->n && *ret == NTAUTH_ABSENT; i++) {
        const struct ntauth_ca *ca = &memo->ca[i];
        if (strcmp(ca->subject, cert->issuer.rfc4514) == 0 &&
            (!cert->aki || !ca->ski || strcasecmp(cert->aki, ca->ski) == 0))
            *ret = NTAUTH_PRESENT;
    }
    pthread_mutex_unlock(&memo->mu);
out:
    mem_free(key);
    sm_accounts_free(store);
    return r;
}

/*
 * lib/audit_prefetch.c - the lookups of a page's audits, fetched in advance (audit_prefetch(),
 * lib/audit_internal.h). Auditing an account looks up, one after the other: the holders of each
 * value the first pass saw on several accounts (lib/audit.c), and, in each published
 * certificate's verdict, who else has its DNS name as dNSHostName (a computer's) and who owns
 * the SID it carries when that is not its account's (lib/resolve.c, lib/verdict.c). Over LDAP
 * each is a round trip the audit waits for. Here the page's values are gathered and asked for
 * in a few searches (dir_prefetch(): batches of escaped values, bounded), whose answers the
 * lookups then find. The certificates' names are read from their DER without parsing them (the
 * verdict does that): a name found otherwise than the verdict finds it only costs its lookup
 * a round trip, never changes an answer, since each answer is the directory's own.
 */
#include <errno.h>
#include <string.h>

#include <strongmap/strongmap.h>

#include "alloc.h"
#include "audit_internal.h"
#include "dir_internal.h"

#define MAX_HINTS 2048 /* values of one kind gathered for a page (more: looked up one by one) */

struct hints {
    struct sm_blob v[MAX_HINTS];
    size_t n;
};

struct page_hints {
    struct hints dup, dns, sid;
    uint8_t sids[MAX_HINTS][SM_SID_BINARY_MAX]; /* sid.v's bytes */
};

static void hint(struct hints *h, const void *p, size_t len)
{
    if (h->n < MAX_HINTS && len)
        h->v[h->n++] = (struct sm_blob){ p, len };
}

/* The first @n bytes @pat in @der (@len bytes) at or after @from, or NULL. */
static const uint8_t *find(const uint8_t *der, size_t len, const uint8_t *from, const uint8_t *pat,
                           size_t n)
{
    const uint8_t *end = der + len;
    while (from && (size_t)(end - from) >= n) {
        if (memcmp(from, pat, n) == 0)
            return from;
        from = memchr(from + 1, pat[0], (size_t)(end - from) - 1);
    }
    return NULL;
}

/* The tag and length at *@off (within @len bytes); *@off moves to the contents, *@clen their
   length. false when it does not fit. */
static bool der_tl(const uint8_t *p, size_t len, size_t *off, uint8_t *tag, size_t *clen)
{
    size_t o = *off, l;
    if (o + 2 > len)
        return false;
    *tag = p[o++];
    l = p[o++];
    if (l & 0x80) {
        size_t nb = l & 0x7f;
        if (nb == 0 || nb > 3 || o + nb > len)
            return false;
        for (l = 0; nb--;)
            l = l << 8 | p[o++];
    }
    if (l > len - o)
        return false;
    *off = o;
    *clen = l;
    return true;
}

/* The first dNSName of the subjectAltName extension (OID 2.5.29.17) in @der, as the verdict's
   first DNS name; false when none is found. */
static bool first_dns_name(const uint8_t *der, size_t len, const uint8_t **name, size_t *nlen)
{
    static const uint8_t oid[] = { 0x06, 0x03, 0x55, 0x1d, 0x11 };
    for (const uint8_t *hit = der; (hit = find(der, len, hit, oid, sizeof(oid))); hit++) {
        size_t off = (size_t)(hit - der) + sizeof(oid), cl, end;
        uint8_t tag;
        if (!der_tl(der, len, &off, &tag, &cl))
            continue;
        if (tag == 0x01) { /* critical */
            off += cl;
            if (!der_tl(der, len, &off, &tag, &cl))
                continue;
        }
        if (tag != 0x04 || !der_tl(der, len, &off, &tag, &cl) || tag != 0x30)
            continue;
        for (end = off + cl; off < end && der_tl(der, end, &off, &tag, &cl); off += cl)
            if (tag == 0x82) {
                *name = der + off;
                *nlen = cl;
                return true;
            }
    }
    return false;
}

/* The SID text starting at @at in @der, bounded by the element that holds it: the SID
   extension's OCTET STRING (tag, short length, then the text) or a SAN URL's IA5String
   ("tag:microsoft.com,2022-09-14:sid:" then the SID). 0 when it is neither. */
static size_t sid_text_len(const uint8_t *der, size_t len, size_t at)
{
    static const char url[] = "tag:microsoft.com,2022-09-14:sid:";
    const size_t ul = sizeof(url) - 1;
    size_t start = at, l = 0;

    if (at >= 2 && der[at - 2] == 0x04 && der[at - 1] < 0x80) {
        l = der[at - 1];
    } else if (at >= ul + 2 && memcmp(der + at - ul, url, ul) == 0 && der[at - ul - 2] == 0x86 &&
               der[at - ul - 1] < 0x80 && der[at - ul - 1] > ul) {
        l = der[at - ul - 1] - ul;
    }
    return l && start + l <= len ? l : 0;
}

/* Every SID a certificate carries (the SID extension's, a SAN URL's) that is not @acc's. */
static void sids_in(struct page_hints *ph, const uint8_t *der, size_t len,
                    const struct sm_account *acc)
{
    struct hints *h = &ph->sid;
    for (const uint8_t *hit = der;
         h->n < MAX_HINTS && (hit = find(der, len, hit, (const uint8_t *)"S-1-", 4)); hit++) {
        size_t at = (size_t)(hit - der), l;
        struct sm_sid sid;
        if (!(l = sid_text_len(der, len, at)))
            continue;
        if (sm_sid_parse((const char *)der + at, l, &sid, NULL, NULL) == 0 &&
            !(acc->has_sid && sm_sid_equal(&sid, &acc->sid)))
            hint(h, ph->sids[h->n], sm_sid_to_binary(&sid, ph->sids[h->n]));
        hit += l - 1;
    }
}

int audit_prefetch(struct sm_audit *au, struct sm_dir *dir, const struct sm_accounts *page,
                   struct sm_errinfo *reterr)
{
    struct page_hints *h;
    int rc;

    dir_prefetch_clear();
    if (strcmp(sm_dir_kind(dir), "ldap") != 0)
        return 0;
    if (!(h = mem_calloc(1, sizeof(*h)))) {
        errinfo_set(reterr, -1, "out of memory");
        return -ENOMEM;
    }
    for (size_t i = 0; i < page->n; i++) {
        const struct sm_account *acc = &page->v[i];
        for (size_t j = 0; au->indexed && j < acc->n_altsec; j++)
            if (audit_held_elsewhere(au, audit_hash(acc->altsec[j])))
                hint(&h->dup, acc->altsec[j], strlen(acc->altsec[j]));
        for (size_t j = 0; j < acc->n_certs; j++) {
            const uint8_t *name;
            size_t nlen;
            if (acc->is_computer &&
                first_dns_name(acc->certs[j].data, acc->certs[j].len, &name, &nlen))
                hint(&h->dns, name, nlen);
            sids_in(h, acc->certs[j].data, acc->certs[j].len, acc);
        }
    }
    if ((rc = dir_prefetch(dir, "altSecurityIdentities", h->dup.v, h->dup.n, reterr)) == 0 &&
        (rc = dir_prefetch(dir, "dNSHostName", h->dns.v, h->dns.n, reterr)) == 0)
        rc = dir_prefetch(dir, "objectSid", h->sid.v, h->sid.n, reterr);
    mem_free(h);
    return rc;
}

void audit_prefetch_done(void)
{
    dir_prefetch_clear();
}

/*
 * lib/dir.c - the directory's public functions over a backend (lib/dir_internal.h): the raw
 * entries a backend collects, their conversion to struct sm_account, the account-name forms
 * of sm_dir_lookup(), and the queries through the lookup cache (lib/dir_cache.c).
 *
 * Raw entries are one flat byte buffer of records (attribute index or DN marker, length,
 * bytes). The cache stores a copy of that buffer, so a hit costs one memcpy and the
 * conversion, never a backend call, and an entry is one malloc of exactly its size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <strongmap/strongmap.h>

#include "alloc.h"
#include "dir_internal.h"

/* ---- limits ----------------------------------------------------------------------------- */

#define DIR_MAX_VALUE    (64 * 1024) /* bytes of one attribute value or DN; larger: dropped */
#define DIR_MAX_CLASSES  32          /* objectClass values kept per entry */
#define DIR_MAX_CA_CERTS 256         /* cACertificate values kept (the NTAuth store) */
#define NS_PER_S         1000000000LL

/* The attributes, in the order of DIR_ATTRS_INIT. */
enum attr {
    A_OBJECTCLASS,
    A_OBJECTSID,
    A_SAM,
    A_UPN,
    A_DNS_HOST,
    A_UAC,
    A_WHEN_CREATED,
    A_ALTSEC,
    A_USER_CERT,
    A_CA_CERT,
    A_KEYCRED,
    A_WHEN_CHANGED,
    A__COUNT
};

static const char *const dir_attrs[] = DIR_ATTRS_INIT;
_Static_assert(ARRAY_SIZE(dir_attrs) == A__COUNT + 1, "enum attr follows DIR_ATTRS_INIT");

/* Values kept per entry; AD's single-valued attributes keep their first value. */
static const unsigned attr_max[A__COUNT] = {
    [A_OBJECTCLASS] = DIR_MAX_CLASSES,
    [A_OBJECTSID] = 1,
    [A_SAM] = 1,
    [A_UPN] = 1,
    [A_DNS_HOST] = 1,
    [A_UAC] = 1,
    [A_WHEN_CREATED] = 1,
    [A_ALTSEC] = SM_MAX_ALTSEC,
    [A_USER_CERT] = SM_MAX_USERCERTS,
    [A_CA_CERT] = DIR_MAX_CA_CERTS,
    [A_KEYCRED] = SM_MAX_KEYCREDS,
    [A_WHEN_CHANGED] = 1,
};

/* Index of @name (case-insensitive; options such as ";binary" ignored), or -1. */
static int attr_index(const char *name)
{
    size_t len = strcspn(name, ";");
    for (int i = 0; i < A__COUNT; i++)
        if (ascii_caseeq(name, len, dir_attrs[i], strlen(dir_attrs[i])))
            return i;
    return -1;
}

/* ---- raw entries -------------------------------------------------------------------------- */

#define REC_DN  0xffu /* record kind of an entry's DN; other kinds are enum attr values */
#define REC_HDR 5     /* kind (1 byte) + length (uint32_t, host order) */

struct raw_entries {
    struct su_buf buf;         /* records (heap) */
    size_t n;                  /* entries begun */
    size_t max;                /* entries allowed (0: SM_MAX_ACCOUNTS) */
    unsigned counts[A__COUNT]; /* values kept in the current entry, per attribute */
    unsigned dropped;          /* bit (1 << attr): a value left out beyond attr_max */
};

struct rec {
    unsigned kind;
    const uint8_t *p;
    size_t len;
};

static void raw_init(struct raw_entries *r)
{
    memset(r, 0, sizeof(*r));
    arena_buf_init(&r->buf, NULL);
}

static void raw_release(struct raw_entries *r)
{
    su_buf_release(&r->buf);
}

static int raw_put(struct raw_entries *r, unsigned kind, const void *p, size_t len)
{
    char hdr[REC_HDR];
    uint32_t l = (uint32_t)len;
    hdr[0] = (char)kind;
    memcpy(hdr + 1, &l, sizeof(l));
    su_buf_put(&r->buf, hdr, sizeof(hdr));
    su_buf_put(&r->buf, p, len);
    return r->buf.oom ? -ENOMEM : 0;
}

size_t raw_limit(const struct raw_entries *r)
{
    return r->max ? r->max : SM_MAX_ACCOUNTS;
}

struct raw_pos raw_tell(const struct raw_entries *r)
{
    return (struct raw_pos){ r->buf.len, r->n };
}

void raw_rewind(struct raw_entries *r, struct raw_pos pos)
{
    if (pos.len <= r->buf.len && pos.n <= r->n) {
        r->buf.len = pos.len;
        r->n = pos.n;
    }
}

int raw_entry_begin(struct raw_entries *r, const char *dn, size_t len)
{
    if (r->n >= raw_limit(r) || len > DIR_MAX_VALUE)
        return SM_E_DIR_LIMIT;
    r->n++;
    memset(r->counts, 0, sizeof(r->counts));
    return raw_put(r, REC_DN, dn, len);
}

int raw_value(struct raw_entries *r, const char *attr, const void *val, size_t len)
{
    int i = attr_index(attr);
    /* Values of other attributes, beyond the per-attribute count, or absurdly large (no
       certificate exceeds SM_MAX_CERT_DER) are not kept. */
    if (r->n == 0 || i < 0 || len > DIR_MAX_VALUE)
        return 0;
    if (r->counts[i] >= attr_max[i]) {
        r->dropped |= 1u << i;
        return 0;
    }
    r->counts[i]++;
    return raw_put(r, (unsigned)i, val, len);
}

/* Next record at *@off; false at the end. The buffer is always our own (backend or cache). */
static bool rec_next(const struct raw_entries *r, size_t *off, struct rec *out)
{
    if (*off + REC_HDR > r->buf.len)
        return false;
    const uint8_t *b = (const uint8_t *)r->buf.p + *off;
    uint32_t l;
    memcpy(&l, b + 1, sizeof(l));
    out->kind = b[0];
    out->p = b + REC_HDR;
    out->len = l;
    *off += REC_HDR + l;
    return true;
}

/* ---- conversion to struct sm_account ------------------------------------------------------ */

struct result {
    struct sm_accounts pub; /* first: sm_accounts_free() gets this pointer */
    struct arena *arena;
};

enum conv {
    CONV_FOUND,    /* entries of a search (the backend filtered them) */
    CONV_ACCOUNTS, /* entries read by DN: only user and computer objects count */
    CONV_NTAUTH,   /* the NTAuth store: cACertificate values become the pseudo account's certs */
};

/* UTF-8 copy of @p; invalid sequences and NUL bytes become U+FFFD. NULL on OOM. */
static const char *arena_text(struct arena *a, const uint8_t *p, size_t len)
{
    const char *s = (const char *)p;
    if (su_utf8_valid(s, len))
        return arena_strndup(a, s, len);
    struct su_buf b;
    arena_buf_init(&b, a);
    utf8_sanitize(&b, s, len);
    return su_buf_str(&b);
}

/* userAccountControl: AD writes it as a signed 32-bit decimal ("-2147483136"). */
static bool parse_uac(const uint8_t *p, size_t len, uint32_t *out)
{
    size_t i = 0;
    bool neg = len > 0 && p[0] == '-';
    int64_t v = 0;
    if (neg)
        i = 1;
    if (i == len || len > 11)
        return false;
    for (; i < len; i++) {
        if (p[i] < '0' || p[i] > '9')
            return false;
        v = v * 10 + (p[i] - '0');
    }
    if (neg ? v > 2147483648LL : v > 4294967295LL)
        return false;
    *out = (uint32_t)(neg ? -v : v); /* modulo 2^32: -2147483136 -> 0x80000200 */
    return true;
}

/* @n digits at @p[@at], within @len bytes. */
static bool digits(const uint8_t *p, size_t len, size_t at, size_t n, int *out)
{
    return at + n <= len && su_dec_fixed((const char *)p + at, n, out);
}

/*
 * whenCreated, GeneralizedTime (RFC 4517 3.3.13): YYYYMMDDHH[MM[SS]][(.|,)fraction] then Z or
 * +/-HH[MM]. AD writes "20240101120000.0Z". A fraction counts for the last unit given
 * (truncated to whole seconds). A time without a zone is invalid in LDAP: not accepted.
 */
static bool parse_gentime(const uint8_t *p, size_t len, time_t *out)
{
    int year, mon, day, hour, min = 0, sec = 0;
    int64_t unit = 3600, frac = 0, off = 0;
    size_t i = 10;

    if (!digits(p, len, 0, 4, &year) || !digits(p, len, 4, 2, &mon) ||
        !digits(p, len, 6, 2, &day) || !digits(p, len, 8, 2, &hour))
        return false;
    if (digits(p, len, i, 2, &min)) {
        i += 2, unit = 60;
        if (digits(p, len, i, 2, &sec))
            i += 2, unit = 1;
    }
    if (i < len && (p[i] == '.' || p[i] == ',')) {
        int64_t num = 0, den = 1;
        size_t start = ++i;
        for (; i < len && p[i] >= '0' && p[i] <= '9'; i++)
            if (den < NS_PER_S)
                num = num * 10 + (p[i] - '0'), den *= 10;
        if (i == start)
            return false;
        frac = num * unit / den;
    }
    if (i < len && p[i] == 'Z') {
        i++;
    } else if (i < len && (p[i] == '+' || p[i] == '-')) {
        int oh, om = 0;
        int64_t sign = p[i] == '-' ? -1 : 1;
        if (!digits(p, len, i + 1, 2, &oh) || oh > 23)
            return false;
        i += 3;
        if (digits(p, len, i, 2, &om)) {
            if (om > 59)
                return false;
            i += 2;
        }
        off = sign * (oh * 3600 + om * 60);
    } else {
        return false;
    }
    if (i != len || mon < 1 || mon > 12 || hour > 23 || min > 59 || sec > 60)
        return false;
    if (day < 1 || (unsigned)day > su_days_in_month(year, (unsigned)mon))
        return false;
    *out = (time_t)(su_days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + hour * 3600 +
                    min * 60 + sec + frac - off);
    return true;
}

/* Per-entry state while converting. */
struct build {
    struct sm_account *acc;
    const char **altsec;
    const char **keycreds;
    struct sm_blob *certs;
    bool user, computer;
};

static int add_value(struct arena *a, enum conv mode, struct build *b, const struct rec *x)
{
    struct sm_account *acc = b->acc;
    const char **str = NULL;

    switch (x->kind) {
    case A_OBJECTCLASS:
        b->user |= ascii_caseeq((const char *)x->p, x->len, "user", 4);
        b->computer |= ascii_caseeq((const char *)x->p, x->len, "computer", 8);
        return 0;
    case A_OBJECTSID: acc->has_sid = sm_sid_from_binary(x->p, x->len, &acc->sid) == 0; return 0;
    case A_UAC: acc->has_uac = parse_uac(x->p, x->len, &acc->uac); return 0;
    case A_WHEN_CREATED: acc->has_created = parse_gentime(x->p, x->len, &acc->created); return 0;
    case A_WHEN_CHANGED: acc->has_changed = parse_gentime(x->p, x->len, &acc->changed); return 0;
    case A_SAM: str = &acc->sam; break;
    case A_UPN: str = &acc->upn; break;
    case A_DNS_HOST: str = &acc->dns_host; break;
    case A_ALTSEC:
        if (!b->altsec && !(b->altsec = arena_alloc(a, SM_MAX_ALTSEC * sizeof(*b->altsec))))
            return -ENOMEM;
        if (!(b->altsec[acc->n_altsec] = arena_text(a, x->p, x->len)))
            return -ENOMEM;
        acc->n_altsec++;
        return 0;
    case A_KEYCRED:
        if (!b->keycreds && !(b->keycreds = arena_alloc(a, SM_MAX_KEYCREDS * sizeof(*b->keycreds))))
            return -ENOMEM;
        if (!(b->keycreds[acc->n_keycreds] = arena_text(a, x->p, x->len)))
            return -ENOMEM;
        acc->n_keycreds++;
        return 0;
    case A_USER_CERT:
    case A_CA_CERT: {
        if ((x->kind == A_CA_CERT) != (mode == CONV_NTAUTH))
            return 0;
        size_t max = mode == CONV_NTAUTH ? DIR_MAX_CA_CERTS : SM_MAX_USERCERTS;
        if (!b->certs && !(b->certs = arena_alloc(a, max * sizeof(*b->certs))))
            return -ENOMEM;
        uint8_t *copy = arena_alloc(a, x->len);
        if (!copy)
            return -ENOMEM;
        memcpy(copy, x->p, x->len);
        b->certs[acc->n_certs].data = copy;
        b->certs[acc->n_certs].len = x->len;
        acc->n_certs++;
        return 0;
    }
    default: return 0;
    }
    return (*str = arena_text(a, x->p, x->len)) ? 0 : -ENOMEM;
}

/* Close the entry being built: true when it counts (is kept in the result). */
static bool finish_entry(enum conv mode, struct build *b)
{
    struct sm_account *acc = b->acc;
    acc->altsec = b->altsec;
    acc->keycreds = b->keycreds;
    acc->certs = b->certs;
    acc->is_computer =
        b->computer ||
        (acc->has_uac && (acc->uac & (SM_UAC_WORKSTATION_TRUST | SM_UAC_SERVER_TRUST)));
    return mode != CONV_ACCOUNTS || b->user || b->computer;
}

static int convert(const struct raw_entries *r, enum conv mode, struct sm_accounts **ret)
{
    struct arena *a = arena_new();
    struct result *res = NULL;
    struct sm_account *v = NULL;
    struct build b = { 0 };
    struct rec x;
    size_t off = 0, n = 0;
    int rc = -ENOMEM;

    if (!a || !(res = arena_alloc(a, sizeof(*res))) ||
        !(v = arena_alloc(a, (r->n ? r->n : 1) * sizeof(*v))))
        goto out;
    res->arena = a;
    while (rec_next(r, &off, &x)) {
        if (x.kind == REC_DN) {
            if (b.acc && finish_entry(mode, &b))
                n++;
            memset(&v[n], 0, sizeof(v[n]));
            b = (struct build){ .acc = &v[n] };
            if (!(v[n].dn = arena_text(a, x.p, x.len))) {
                rc = -ENOMEM; /* an earlier add_value() may have set it to 0 */
                goto out;
            }
        } else if (b.acc && (rc = add_value(a, mode, &b, &x)) < 0) {
            goto out;
        }
    }
    if (b.acc && finish_entry(mode, &b))
        n++;
    res->pub.v = v;
    res->pub.n = n;
    *ret = &res->pub;
    a = NULL;
    rc = 0;
out:
    arena_free(a);
    return rc;
}

struct sm_accounts *sm_accounts_free(struct sm_accounts *acc)
{
    if (acc)
        arena_free(((struct result *)acc)->arena);
    return NULL;
}

/* ---- the account in hand (dir_known()) ----------------------------------------------------- */

static _Thread_local const struct sm_dir *known_dir;
static _Thread_local const struct sm_account *known_acc;

void dir_known(const struct sm_dir *d, const struct sm_account *acc)
{
    known_dir = d && acc && acc->dn ? d : NULL;
    known_acc = known_dir ? acc : NULL;
}

static const char *arena_strdup_opt(struct arena *a, const char *s, bool *oom)
{
    char *c = s ? arena_strdup(a, s) : NULL;
    *oom |= s && !c;
    return c;
}

/* A copy of the array of @n strings @v in @a (NULL when @n is 0). */
static const char *const *arena_strv(struct arena *a, const char *const *v, size_t n, bool *oom)
{
    const char **c = n ? arena_alloc(a, n * sizeof(*c)) : NULL;
    *oom |= n && !c;
    for (size_t i = 0; c && i < n; i++)
        c[i] = arena_strdup_opt(a, v[i], oom);
    return c;
}

/* A result of one account, a deep copy of @acc. 0 or -ENOMEM. */
static int copy_account(const struct sm_account *acc, struct sm_accounts **ret)
{
    struct arena *a = arena_new();
    struct result *res = NULL;
    struct sm_account *v = NULL;
    struct sm_blob *certs = NULL;
    bool oom = false;

    if (!a || !(res = arena_alloc(a, sizeof(*res))) || !(v = arena_alloc(a, sizeof(*v))) ||
        (acc->n_certs && !(certs = arena_alloc(a, acc->n_certs * sizeof(*certs)))))
        goto fail;
    *v = *acc;
    v->dn = arena_strdup_opt(a, acc->dn, &oom);
    v->sam = arena_strdup_opt(a, acc->sam, &oom);
    v->upn = arena_strdup_opt(a, acc->upn, &oom);
    v->dns_host = arena_strdup_opt(a, acc->dns_host, &oom);
    v->altsec = arena_strv(a, acc->altsec, acc->n_altsec, &oom);
    v->keycreds = arena_strv(a, acc->keycreds, acc->n_keycreds, &oom);
    for (size_t i = 0; certs && i < acc->n_certs; i++) {
        uint8_t *p = acc->certs[i].len ? arena_alloc(a, acc->certs[i].len) : NULL;
        oom |= acc->certs[i].len && !p;
        if (p)
            memcpy(p, acc->certs[i].data, acc->certs[i].len);
        certs[i] = (struct sm_blob){ p, acc->certs[i].len };
    }
    v->certs = certs;
    if (oom)
        goto fail;
    res->arena = a;
    res->pub.v = v;
    res->pub.n = 1;
    *ret = &res->pub;
    return 0;
fail:
    arena_free(a);
    return -ENOMEM;
}

/* ---- answers fetched in advance (dir_prefetch()) ------------------------------------------ */

/* One value's answer: the records of the entries that hold it, in the directory's order. */
struct pf_answer {
    int attr;
    const uint8_t *key; /* the value, ASCII folded unless objectSid */
    size_t key_len;
    const char *recs; /* records (raw_entries' form) */
    size_t recs_len, n;
};

struct prefetch {
    const struct sm_dir *d;
    struct arena *a;
    struct pf_answer *v;
    size_t n, cap;
    size_t hits;
};

static _Thread_local struct prefetch *pf;
static _Thread_local size_t pf_hits; /* dir_prefetch_hits(): kept across clears */

void dir_prefetch_clear(void)
{
    if (pf) {
        arena_free(pf->a);
        mem_free(pf->v);
        mem_free(pf);
        pf = NULL;
    }
}

size_t dir_prefetch_hits(void)
{
    return pf_hits;
}

/* Does caseIgnoreMatch compare @p as ASCII compares it: printable ASCII, spaces single and
   inside? (objectSid: always, bytes compare as bytes.) */
static bool pf_plain(int attr, const uint8_t *p, size_t len)
{
    if (attr == A_OBJECTSID)
        return len > 0;
    if (len == 0 || p[0] == ' ' || p[len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++)
        if (p[i] < 0x20 || p[i] > 0x7e || (p[i] == ' ' && p[i + 1] == ' '))
            return false;
    return true;
}

static bool pf_eq(int attr, const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    if (attr == A_OBJECTSID)
        return alen == blen && memcmp(a, b, alen) == 0;
    return ascii_caseeq((const char *)a, alen, (const char *)b, blen);
}

static const struct pf_answer *pf_find(const struct sm_dir *d, int attr, const uint8_t *p,
                                       size_t len)
{
    if (!pf || pf->d != d)
        return NULL;
    for (size_t i = 0; i < pf->n; i++)
        if (pf->v[i].attr == attr && pf_eq(attr, pf->v[i].key, pf->v[i].key_len, p, len))
            return &pf->v[i];
    return NULL;
}

/* ---- queries ------------------------------------------------------------------------------ */

enum op { OP_FIND = 1, OP_READ = 2 };

static void key_bytes(struct su_buf *key, const void *p, size_t len, bool fold)
{
    uint32_t l = (uint32_t)len;
    su_buf_put(key, (const char *)&l, sizeof(l));
    if (!fold) {
        su_buf_put(key, p, len);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        char ch = ((const char *)p)[i];
        su_buf_putc(key, ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch);
    }
}

/*
 * The cache key: the directory (kind, base), the operation, the attribute and the values. The
 * string attributes and DNs compare case-insensitively, so their case is folded: "ALICE" and
 * "alice" share an entry. objectSid is compared as bytes.
 */
static void make_key(struct su_buf *key, const struct sm_dir *d, enum op op, const char *attr,
                     const struct sm_blob *values, size_t n)
{
    bool fold = op == OP_READ || attr_index(attr) != A_OBJECTSID;
    const char *base = d->base ? d->base : "";
    key_bytes(key, d->ops->kind, strlen(d->ops->kind), false);
    key_bytes(key, base, strlen(base), true);
    su_buf_putc(key, (char)op);
    key_bytes(key, attr, strlen(attr), true);
    for (size_t i = 0; i < n; i++)
        key_bytes(key, values[i].data, values[i].len, fold);
}

/*
 * Run one backend operation (OP_FIND: @attr equal to one of @values; OP_READ: the entry whose
 * DN is values[0], NUL-terminated), through the cache unless @cached is false, and convert.
 * Errors are never cached. With @along (may be NULL), a query that reaches the backend reads
 * the NTAuth store on the same round trip when along->want_store says so.
 */
static int query(struct sm_dir *d, enum op op, const char *attr, const struct sm_blob *values,
                 size_t n, enum conv mode, bool cached, struct dir_along *along,
                 struct sm_accounts **ret, struct sm_errinfo *reterr)
{
    struct raw_entries r, sr;
    struct dir_store store = { &sr, 0 }, *with = NULL;
    struct su_buf key;
    struct sm_dir_cache *c = cached && dir_cache_stores(d->cache) ? d->cache : NULL;
    int rc = 0;

    raw_init(&r);
    raw_init(&sr);
    arena_buf_init(&key, NULL);
    const struct pf_answer *pa = op == OP_FIND && n == 1
                                     ? pf_find(d, attr_index(attr), values[0].data, values[0].len)
                                     : NULL;
    if (pa) { /* fetched in advance: as the cache answers, nothing read along */
        su_buf_put(&r.buf, pa->recs, pa->recs_len);
        r.n = pa->n;
        pf_hits++;
        rc = r.buf.oom ? -ENOMEM : 1;
        if (rc < 0)
            goto out;
    }
    if (c && !pa) {
        make_key(&key, d, op, attr, values, n);
        if (key.oom) {
            rc = -ENOMEM;
            goto out;
        }
        if ((rc = dir_cache_get(c, &key, &r.buf, &r.n, d->cache_only)) < 0)
            goto out;
        d->quiet_hits += d->cache_only && rc == 1;
    }
    if (rc == 0 && d->cache_only && !d->ops->never_waits) {
        rc = SM_E_DIR_WOULD_BLOCK; /* nothing asked, nothing counted: the caller asks again */
        d->would_block = true;
        errinfo_set(reterr, -1, "%s", sm_strerror(rc));
        goto out;
    }
    if (rc == 0) {
        if (along && along->want_store && d->ntauth_dn && !along->store)
            with = &store;
        if (op == OP_FIND)
            rc = d->ops->find_eq(d, attr, values, n, &r, with, reterr);
        else
            rc = d->ops->read_dn(d, (const char *)values[0].data, &r, with, reterr);
        if (rc == 0 && r.buf.oom)
            rc = -ENOMEM;
        if (along)
            along->asked = true;
        if (rc < 0)
            goto out;
        if (c)
            dir_cache_put(c, &key, &r.buf, r.n);
        if (with && (store.rc == 0 || store.rc == -ENOMEM)) {
            if (store.rc < 0 || sr.buf.oom || convert(&sr, CONV_NTAUTH, &along->store) < 0) {
                rc = -ENOMEM;
                errinfo_set(reterr, -1, "out of memory");
                goto out;
            }
            along->want_store = false;
        }
    }
    if ((rc = convert(&r, mode, ret)) < 0)
        errinfo_set(reterr, -1, "out of memory");
out:
    raw_release(&r);
    raw_release(&sr);
    su_buf_release(&key);
    return rc;
}

/* The entries of one batch (@r, for @vals) shared out to each value into pf: only when every
   entry holds plain values of @attr only, none left out, and matches a value asked. */
static int pf_share(int attr, const struct raw_entries *r, const struct sm_blob *vals, size_t k)
{
    size_t start[DIR_PREFETCH_ENTRIES + 1], n = 0, off = 0;
    uint64_t matched[DIR_PREFETCH_ENTRIES]; /* bit j: the entry holds vals[j] (k <= 64) */
    struct rec x;

    _Static_assert(DIR_PREFETCH_BATCH <= 64, "a value's bit in matched[]");
    if (r->dropped & (1u << attr) || r->n > DIR_PREFETCH_ENTRIES)
        return 0;
    for (size_t at = off; rec_next(r, &off, &x); at = off) {
        if (x.kind == REC_DN) {
            if (n && !matched[n - 1])
                return 0; /* an entry the server matched otherwise than ASCII does */
            start[n] = at;
            matched[n++] = 0;
        } else if (n && (int)x.kind == attr) {
            if (!pf_plain(attr, x.p, x.len))
                return 0;
            for (size_t j = 0; j < k; j++)
                if (pf_eq(attr, x.p, x.len, vals[j].data, vals[j].len))
                    matched[n - 1] |= 1ull << j;
        }
    }
    if (n != r->n || (n && !matched[n - 1]))
        return 0;
    start[n] = off;
    for (size_t j = 0; j < k && pf->n < DIR_PREFETCH_MAX; j++) {
        struct su_buf recs;
        size_t cnt = 0;
        arena_buf_init(&recs, pf->a);
        for (size_t e = 0; e < n; e++)
            if (matched[e] & (1ull << j)) {
                su_buf_put(&recs, (const char *)r->buf.p + start[e], start[e + 1] - start[e]);
                cnt++;
            }
        if (cnt > SM_MAX_ACCOUNTS)
            continue; /* the lookup's own SM_E_DIR_LIMIT */
        uint8_t *key = arena_alloc(pf->a, vals[j].len);
        if (recs.oom || !key)
            return -ENOMEM;
        memcpy(key, vals[j].data, vals[j].len);
        if (pf->n == pf->cap) {
            size_t cap = pf->cap ? pf->cap * 2 : 64;
            struct pf_answer *v = mem_realloc(pf->v, cap * sizeof(*v));
            if (!v)
                return -ENOMEM;
            pf->v = v;
            pf->cap = cap;
        }
        pf->v[pf->n++] = (struct pf_answer){ attr, key, vals[j].len, recs.p, recs.len, cnt };
    }
    return 0;
}

int dir_prefetch(struct sm_dir *d, const char *attr, const struct sm_blob *values, size_t n,
                 struct sm_errinfo *reterr)
{
    struct sm_blob batch[DIR_PREFETCH_BATCH];
    int a = attr ? attr_index(attr) : -1;
    size_t k = 0;
    int rc = 0;

    if (!d || (n && !values) || (a != A_DNS_HOST && a != A_OBJECTSID && a != A_ALTSEC))
        return -EINVAL;
    if (pf && pf->d != d)
        dir_prefetch_clear();
    if (!pf) {
        if (!(pf = mem_calloc(1, sizeof(*pf))) || !(pf->a = arena_new())) {
            mem_free(pf);
            pf = NULL;
            return -ENOMEM;
        }
        pf->d = d;
    }
    for (size_t i = 0; i <= n && rc == 0; i++) {
        if (i < n) {
            const struct sm_blob *v = &values[i];
            bool dup = v->len > SM_MAX_ALTSEC_VALUE || !pf_plain(a, v->data, v->len) ||
                       pf_find(d, a, v->data, v->len);
            for (size_t j = 0; j < k && !dup; j++)
                dup = pf_eq(a, batch[j].data, batch[j].len, v->data, v->len);
            if (!dup)
                batch[k++] = *v;
            if (k < DIR_PREFETCH_BATCH)
                continue;
        }
        if (k == 0 || pf->n + k > DIR_PREFETCH_MAX)
            break;
        struct raw_entries r;
        struct sm_errinfo e = SM_ERRINFO_INIT;
        raw_init(&r);
        r.max = DIR_PREFETCH_ENTRIES;
        rc = d->ops->find_eq(d, dir_attrs[a], batch, k, &r, NULL, &e);
        if (rc == 0 && r.buf.oom)
            rc = -ENOMEM;
        if (rc == 0)
            rc = pf_share(a, &r, batch, k);
        else if (rc != SM_E_DIR_DOWN && rc != SM_E_DIR_REFUSED && rc != -ENOMEM)
            rc = 0; /* over the limit, or refused as a query: each lookup asks on its own */
        else if (reterr)
            *reterr = e;
        raw_release(&r);
        k = 0;
    }
    return rc;
}

static int find(struct sm_dir *d, const char *attr, const void *value, size_t len,
                struct dir_along *along, struct sm_accounts **ret, struct sm_errinfo *reterr)
{
    struct sm_blob v = { value, len };
    return query(d, OP_FIND, attr, &v, 1, CONV_FOUND, true, along, ret, reterr);
}

static int read_dn(struct sm_dir *d, const char *dn, enum conv mode, bool cached,
                   struct dir_along *along, struct sm_accounts **ret, struct sm_errinfo *reterr)
{
    struct sm_blob v = { (const uint8_t *)dn, strlen(dn) };
    return query(d, OP_READ, "", &v, 1, mode, cached, along, ret, reterr);
}

static int empty_result(struct sm_accounts **ret)
{
    struct raw_entries r;
    raw_init(&r);
    return convert(&r, CONV_FOUND, ret);
}

static bool starts_with_ci(const char *s, size_t len, const char *prefix)
{
    size_t plen = strlen(prefix);
    return len >= plen && ascii_caseeq(s, plen, prefix, plen);
}

/*
 * SM_LOOKUP_AUTO: the kind a name's form says. *@dns_then_sam is set for a dotted name
 * without '@' ("ws01.example.com"): dNSHostName first, then sAMAccountName.
 */
static enum sm_lookup classify(const char *name, size_t len, bool *dns_then_sam)
{
    *dns_then_sam = false;
    if (starts_with_ci(name, len, "S-1-"))
        return SM_LOOKUP_SID;
    if ((memchr(name, '=', len) && memchr(name, ',', len)) || starts_with_ci(name, len, "CN=") ||
        starts_with_ci(name, len, "OU=") || starts_with_ci(name, len, "DC="))
        return SM_LOOKUP_DN;
    if (memchr(name, '\\', len))
        return SM_LOOKUP_SAM;
    if (memchr(name, '@', len))
        return SM_LOOKUP_UPN;
    if (name[len - 1] == '$')
        return SM_LOOKUP_SAM;
    if (memchr(name, '.', len)) {
        *dns_then_sam = true;
        return SM_LOOKUP_DNS_HOST;
    }
    return SM_LOOKUP_SAM;
}

int dir_lookup(struct sm_dir *d, enum sm_lookup how, const char *name, struct dir_along *along,
               struct sm_accounts **ret, struct sm_errinfo *reterr)
{
    bool dns_then_sam = false;
    size_t len;
    int rc;

    if (!d || !name || !ret) {
        errinfo_set(reterr, -1, "no directory, name or result");
        return -EINVAL;
    }
    len = strnlen(name, SM_MAX_NAME + 1);
    if (len == 0) {
        errinfo_set(reterr, -1, "empty account name");
        return -EINVAL;
    }
    if (len > SM_MAX_NAME) {
        errinfo_set(reterr, -1, "account name longer than %d bytes", SM_MAX_NAME);
        return -EINVAL;
    }
    if (!su_utf8_valid(name, len)) {
        errinfo_set(reterr, -1, "account name is not valid UTF-8");
        return -EINVAL;
    }
    if (how == SM_LOOKUP_AUTO)
        how = classify(name, len, &dns_then_sam);

    switch (how) {
    case SM_LOOKUP_SID: {
        struct sm_sid sid;
        struct sm_errinfo e = { .offset = -1 };
        uint8_t bin[SM_SID_BINARY_MAX];
        if (sm_sid_parse(name, len, &sid, NULL, &e) != 0) {
            errinfo_set(reterr, e.offset, "account name is not a SID: %s", e.text);
            return -EINVAL;
        }
        return find(d, "objectSid", bin, sm_sid_to_binary(&sid, bin), along, ret, reterr);
    }
    case SM_LOOKUP_DN:
        if (d->base && (rc = dir_dn_within(name, d->base)) < 0) {
            errinfo_set(reterr, -1, "%s",
                        rc == -EPERM ? "the distinguished name is not under the directory's base"
                                     : "not a distinguished name");
            return rc;
        }
        if (known_dir == d && strcmp(name, known_acc->dn) == 0)
            return copy_account(known_acc, ret); /* in hand: as a lookup the cache answers */
        return read_dn(d, name, CONV_ACCOUNTS, true, along, ret, reterr);
    case SM_LOOKUP_UPN: return find(d, "userPrincipalName", name, len, along, ret, reterr);
    case SM_LOOKUP_DNS_HOST: {
        struct sm_accounts *a = NULL;
        if ((rc = find(d, "dNSHostName", name, len, along, &a, reterr)) < 0)
            return rc;
        if (a->n > 0 || !dns_then_sam) {
            *ret = a;
            return 0;
        }
        sm_accounts_free(a); /* a dotted name that is no host: a sAMAccountName ("j.smith") */
        return find(d, "sAMAccountName", name, len, along, ret, reterr);
    }
    case SM_LOOKUP_SAM: {
        const char *bs = memchr(name, '\\', len); /* "DOMAIN\sam": the part after the first \ */
        if (bs) {
            len -= (size_t)(bs + 1 - name);
            name = bs + 1;
        }
        if (len == 0) {
            errinfo_set(reterr, -1, "no account name after the domain");
            return -EINVAL;
        }
        return find(d, "sAMAccountName", name, len, along, ret, reterr);
    }
    case SM_LOOKUP_AUTO: break;
    }
    errinfo_set(reterr, -1, "unknown lookup kind %d", (int)how);
    return -EINVAL;
}

int sm_dir_lookup(struct sm_dir *d, enum sm_lookup how, const char *name, struct sm_accounts **ret,
                  struct sm_errinfo *reterr)
{
    return dir_lookup(d, how, name, NULL, ret, reterr);
}

int dir_find_altsec(struct sm_dir *d, const char *const *values, size_t n, struct dir_along *along,
                    struct sm_accounts **ret, struct sm_errinfo *reterr)
{
    struct sm_blob v[SM_MAX_ALTSEC];

    if (!d || (!values && n) || !ret) {
        errinfo_set(reterr, -1, "no directory, values or result");
        return -EINVAL;
    }
    if (n > SM_MAX_ALTSEC) {
        errinfo_set(reterr, -1, "%zu altSecurityIdentities values; at most %d are searched", n,
                    SM_MAX_ALTSEC);
        return -E2BIG;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len = values[i] ? strnlen(values[i], SM_MAX_ALTSEC_VALUE + 1) : 0;
        if (len == 0 || len > SM_MAX_ALTSEC_VALUE || !su_utf8_valid(values[i], len)) {
            errinfo_set(reterr, -1,
                        "altSecurityIdentities value %zu is empty, longer than %d bytes or not "
                        "UTF-8",
                        i, SM_MAX_ALTSEC_VALUE);
            return -EINVAL;
        }
        v[i].data = (const uint8_t *)values[i];
        v[i].len = len;
    }
    if (n == 0)
        return empty_result(ret);
    return query(d, OP_FIND, "altSecurityIdentities", v, n, CONV_FOUND, true, along, ret, reterr);
}

int sm_dir_find_altsec(struct sm_dir *d, const char *const *values, size_t n,
                       struct sm_accounts **ret, struct sm_errinfo *reterr)
{
    return dir_find_altsec(d, values, n, NULL, ret, reterr);
}

int sm_dir_ntauth(struct sm_dir *d, struct sm_accounts **ret, struct sm_errinfo *reterr)
{
    if (!d || !ret) {
        errinfo_set(reterr, -1, "no directory or result");
        return -EINVAL;
    }
    if (!d->ntauth_dn) /* no base known (an LDIF without a domain): no store */
        return empty_result(ret);
    return read_dn(d, d->ntauth_dn, CONV_NTAUTH, true, NULL, ret, reterr);
}

int dir_ntauth_read(struct sm_dir *d, struct sm_accounts **ret, struct sm_errinfo *reterr)
{
    if (!d->ntauth_dn)
        return empty_result(ret);
    return read_dn(d, d->ntauth_dn, CONV_NTAUTH, false, NULL, ret, reterr);
}

void sm_dir_set_ntauth_ttl(struct sm_dir *d, unsigned ttl_s)
{
    if (d)
        d->ntauth_ttl_s = ttl_s > SM_NTAUTH_TTL_MAX ? SM_NTAUTH_TTL_MAX : ttl_s;
}

void sm_dir_set_cache_only(struct sm_dir *d, bool on)
{
    if (!d || d->cache_only == on)
        return;
    /* an attempt that answered counts its cache hits; one that gave up counts nothing, as the
       same lookups are made again */
    if (!on && !d->would_block && d->quiet_hits && d->cache)
        dir_cache_count_hits(d->cache, d->quiet_hits);
    d->cache_only = on;
    d->would_block = false;
    d->quiet_hits = 0;
}

/* ---- the walk ----------------------------------------------------------------------------- */

struct dir_each {
    struct raw_entries r;
    time_t since;
    bool values_only;
    sm_dir_each_fn fn;
    sm_dir_page_fn page;
    void *ctx;
};

struct raw_entries *dir_each_raw(struct dir_each *e)
{
    return &e->r;
}

bool dir_each_values_only(const struct dir_each *e)
{
    return e->values_only;
}

int dir_each_entry(struct dir_each *e)
{
    struct sm_accounts *acc = NULL;
    int rc = e->r.buf.oom ? -ENOMEM : 0;

    if (rc == 0 && e->r.n && (rc = convert(&e->r, CONV_ACCOUNTS, &acc)) == 0) {
        size_t kept = 0;
        for (size_t i = 0; i < acc->n; i++) {
            const struct sm_account *a = &acc->v[i];
            /* the backend's filter, checked again: an LDIF keeps whatever it holds (without
               the certificates, values_only cannot tell: the backend's filter stands) */
            if (!e->values_only && a->n_certs == 0 && a->n_altsec == 0)
                continue;
            if (e->since && (!a->has_changed || a->changed <= e->since))
                continue;
            /* in place (the array is the result's own): the values stay in its arena */
            ((struct sm_account *)(uintptr_t)acc->v)[kept++] = *a;
        }
        acc->n = kept;
        if (kept && e->page)
            rc = e->page(acc, e->ctx);
        for (size_t i = 0; i < acc->n && rc == 0; i++)
            rc = e->fn(&acc->v[i], e->ctx);
    }
    sm_accounts_free(acc);
    raw_release(&e->r);
    raw_init(&e->r);
    e->r.max = SM_DIR_PAGE_MAX;
    return rc;
}

int sm_dir_each_account(struct sm_dir *d, const struct sm_dir_each_opts *o, sm_dir_each_fn fn,
                        void *ctx, struct sm_errinfo *reterr)
{
    struct dir_each e = { .since = o ? o->since : 0,
                          .values_only = o && o->values_only,
                          .fn = fn,
                          .page = o ? o->page : NULL,
                          .ctx = ctx };
    unsigned page = o && o->page_size ? o->page_size : SM_DIR_PAGE_DEFAULT;

    if (!d || !fn || page > SM_DIR_PAGE_MAX || e.since < 0) {
        errinfo_set(reterr, -1, "no directory, no callback, or a page over %d entries",
                    SM_DIR_PAGE_MAX);
        return -EINVAL;
    }
    if (!d->ops->each) {
        errinfo_set(reterr, -1, "the %s directory cannot be walked", d->ops->kind);
        return -EINVAL;
    }
    raw_init(&e.r);
    e.r.max = SM_DIR_PAGE_MAX; /* a page's entries at once (the LDAP backend's) */
    int rc = d->ops->each(d, e.since, page, &e, reterr);
    raw_release(&e.r);
    if (rc == -ENOMEM)
        errinfo_set(reterr, -1, "out of memory");
    return rc;
}

int sm_dir_ping(struct sm_dir *d, struct sm_errinfo *reterr)
{
    if (!d) {
        errinfo_set(reterr, -1, "no directory");
        return -EINVAL;
    }
    return d->ops->ping(d, reterr);
}

struct sm_dir *sm_dir_close(struct sm_dir *d)
{
    if (d) {
        dir_ntauth_memo_free(d);
        d->ops->free(d); /* the backend frees everything, base and ntauth_dn included */
    }
    return NULL;
}

const char *sm_dir_kind(const struct sm_dir *d)
{
    return d && d->ops ? d->ops->kind : "none";
}

const char *sm_lookup_name(enum sm_lookup how)
{
    switch (how) {
    case SM_LOOKUP_AUTO: return "auto";
    case SM_LOOKUP_UPN: return "upn";
    case SM_LOOKUP_SAM: return "sam";
    case SM_LOOKUP_SID: return "sid";
    case SM_LOOKUP_DNS_HOST: return "dns_host";
    case SM_LOOKUP_DN: return "dn";
    }
    return "unknown";
}

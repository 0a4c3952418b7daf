/*
 * lib/dir_ldif.c - the LDIF backend: an export (ldifde, ldapsearch -LLL, slapcat) read into
 * memory once, answering the same two questions as a server (lib/dir_internal.h).
 *
 * Lines are split here (LF or CRLF, "#" comments, continuation lines, blank lines between
 * records, line numbers for errors); each logical line goes to libldap's ldif_parse_line2(),
 * which splits "type: value" and decodes "type:: base64". ldif_read_record() is not used: it
 * follows "include:" lines to other files, and its line counter cannot place an error inside a
 * record. URL values ("type:< file:///...") are refused before libldap would open them.
 *
 * Only the attributes of DIR_ATTRS_INIT are kept. The entries stay in the file's order; the
 * queries are answered from two hash tables built once the file is read (build_index()): one of
 * the values the lookups search (objectSid, sAMAccountName, userPrincipalName, dNSHostName,
 * altSecurityIdentities of the user and computer entries), keyed as value_eq() compares them,
 * and one of the normalised DNs of all entries. Their answers are those of a scan of the
 * entries in order, the same entries in the same order (each chain of a table is in the
 * file's order); the scans are kept for the other attributes, and for the tests
 * (dir_ldif_drop_index()). Memory: 16 bytes per indexed value and 4 to 8 bytes per value for
 * its table's buckets, 4 bytes per entry and 4 to 8 for the DN table's buckets: at most
 * 12 + 24 * (indexed values) bytes per entry, about 130 for an account with a SID, a
 * sAMAccountName, a UPN and two mappings.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h> /* ldif.h needs FILE */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lber.h>
#include <ldif.h>

#include "alloc.h"
#include "dir_internal.h"

#define LDIF_MAX_FILE (64 * 1024 * 1024) /* bytes of an LDIF file */

#define NTAUTH_PREFIX "CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,"

static const char *const dir_attrs[] = DIR_ATTRS_INIT;
/* positions in DIR_ATTRS_INIT */
enum { ATTR_OBJECTCLASS = 0, ATTR_OBJECTSID = 1, ATTR_ALTSEC = 7, ATTR_USERCERT = 8 };
/* The attributes find_eq() is asked about (lib/dir.c): objectSid, sAMAccountName,
   userPrincipalName, dNSHostName, altSecurityIdentities */
#define ATTRS_INDEXED ((1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) | (1u << 7))

struct ldif_value {
    unsigned attr; /* index into dir_attrs */
    const uint8_t *p;
    size_t len;
};

struct ldif_entry {
    const char *dn;
    size_t dn_len;
    const char *ndn; /* normalised (dn_normalize) */
    size_t ndn_len;
    bool account; /* objectClass user or computer */
    bool domain;  /* objectClass domain, domainDNS or dcObject */
    const struct ldif_value *v;
    size_t n;
};

/* One indexed value: d->e[entry].v[value]. Chains link with next, an index into the keys
   plus one (0 ends a chain), as the buckets do. */
struct ldif_key {
    uint32_t hash;
    uint32_t entry;
    uint32_t value;
    uint32_t next;
};

struct ldif_dir {
    struct sm_dir pub; /* first: the dir_ops get this pointer */
    struct arena *arena;
    struct ldif_entry *e; /* heap */
    size_t n, cap;
    /* The indexes (heap; NULL: the queries scan). Bucket counts are powers of two. */
    struct ldif_key *keys; /* the values of ATTRS_INDEXED of the account entries */
    uint32_t *key_head;    /* per bucket: first key + 1, or 0 */
    size_t key_buckets;
    uint32_t *dn_head; /* per bucket: first entry + 1, or 0 */
    uint32_t *dn_next; /* per entry: the next entry of its bucket + 1, or 0 */
    size_t dn_buckets;
};

static int attr_index(const char *name, size_t len)
{
    for (int i = 0; dir_attrs[i]; i++)
        if (ascii_caseeq(name, len, dir_attrs[i], strlen(dir_attrs[i])))
            return i;
    return -1;
}

static bool is(const struct berval *bv, size_t len, const char *word)
{
    return ascii_caseeq(bv->bv_val, len, word, strlen(word));
}

/* ---- distinguished names ---------------------------------------------------------------- */

/*
 * Normal form for comparing DNs: ASCII lower case, no spaces around unescaped ',', '=' and
 * '+', none at either end; escapes kept as written ("\," and "\2C" stay different, quoted
 * RFC 1779 values are not unquoted). @out has room for @len bytes. Returns the length.
 */
static size_t dn_normalize(const char *in, size_t len, char *out)
{
    size_t i = 0, o = 0, keep = 0; /* keep: output that trimming must not cut (escapes) */
    while (i < len && in[i] == ' ')
        i++;
    while (i < len) {
        char c = in[i++];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c + 32);
        if (c == '\\' && i < len) {
            char e = in[i++];
            out[o++] = c;
            out[o++] = e >= 'A' && e <= 'Z' ? (char)(e + 32) : e;
            keep = o;
        } else if (c == ',' || c == '=' || c == '+') {
            while (o > keep && out[o - 1] == ' ')
                o--;
            out[o++] = c;
            while (i < len && in[i] == ' ')
                i++;
            keep = o;
        } else {
            out[o++] = c;
        }
    }
    while (o > keep && out[o - 1] == ' ')
        o--;
    return o;
}

/* Offset in @dn where its trailing run of DC= RDNs begins, or @len when it has none. */
static size_t dc_suffix(const char *dn, size_t len)
{
    size_t start = len; /* of the DC run found so far */
    size_t rdn = 0;     /* start of the current RDN */
    bool run = false;   /* the RDNs since start are all DC= */
    for (size_t i = 0; i <= len; i++) {
        if (i < len && dn[i] == '\\') {
            i++;
            continue;
        }
        if (i < len && dn[i] != ',')
            continue;
        size_t s = rdn;
        while (s < i && dn[s] == ' ')
            s++;
        size_t t = s;
        if (i - s >= 2 && ascii_caseeq(dn + s, 2, "dc", 2)) {
            t += 2;
            while (t < i && dn[t] == ' ')
                t++;
        }
        bool dc = t > s && t < i && dn[t] == '=';
        if (dc && !run)
            start = s;
        run = dc;
        if (!dc)
            start = len;
        rdn = i + 1;
    }
    return run ? start : len;
}

/* ---- parsing ------------------------------------------------------------------------------- */

struct parser {
    struct ldif_dir *d;
    const char *buf;
    struct sm_errinfo *reterr;
    bool seen;     /* a version line or a record was seen */
    bool in_entry; /* a dn: line started the current record */
    struct ldif_entry cur;
    struct ldif_value *v; /* values of the current entry (heap) */
    size_t n, cap;
};

static int syntax(struct parser *ps, const char *line, unsigned long lineno, const char *what)
{
    errinfo_set(ps->reterr, line - ps->buf, "line %lu: %s", lineno, what);
    return -EINVAL;
}

static int add_value(struct parser *ps, unsigned attr, const char *val, size_t len)
{
    struct arena *a = ps->d->arena;
    if (ps->n == ps->cap) {
        size_t cap = ps->cap ? 2 * ps->cap : 16;
        struct ldif_value *v = mem_realloc(ps->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        ps->v = v;
        ps->cap = cap;
    }
    uint8_t *copy = arena_alloc(a, len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, val, len);
    ps->v[ps->n++] = (struct ldif_value){ attr, copy, len };
    if (attr == ATTR_OBJECTCLASS) {
        static const char *const accounts[] = { "user", "computer", NULL };
        static const char *const domains[] = { "domain", "domainDNS", "dcObject", NULL };
        for (size_t i = 0; accounts[i]; i++)
            ps->cur.account |= ascii_caseeq(val, len, accounts[i], strlen(accounts[i]));
        for (size_t i = 0; domains[i]; i++)
            ps->cur.domain |= ascii_caseeq(val, len, domains[i], strlen(domains[i]));
    }
    return 0;
}

static int end_record(struct parser *ps)
{
    struct ldif_dir *d = ps->d;
    if (!ps->in_entry)
        return 0;
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 64;
        struct ldif_entry *e = mem_realloc(d->e, cap * sizeof(*e));
        if (!e)
            return -ENOMEM;
        d->e = e;
        d->cap = cap;
    }
    struct ldif_value *v = arena_alloc(d->arena, (ps->n ? ps->n : 1) * sizeof(*v));
    if (!v)
        return -ENOMEM;
    if (ps->n)
        memcpy(v, ps->v, ps->n * sizeof(*v));
    ps->cur.v = v;
    ps->cur.n = ps->n;
    d->e[d->n++] = ps->cur;
    ps->in_entry = false;
    ps->n = 0;
    return 0;
}

/* Standard base64 with padding, as libldap's decoder needs it: checked here because that
   decoder reports bad input on stderr and reads a short last group up to the terminator. */
static bool base64_ok(const char *s)
{
    while (isspace((unsigned char)*s)) /* as ldif_parse_line2() skips */
        s++;
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) && c < 0x80) && c != '+' && c != '/' &&
            !(c == '=' && i >= n - 2 && s[n - 1] == '='))
            return false;
    }
    return true;
}

/* One logical line (continuations joined) of @len bytes; line[len] may be overwritten. */
static int parse_line(struct parser *ps, char *line, size_t len, unsigned long lineno)
{
    struct berval type, value;
    int freeval = 0;

    line[len] = '\0';
    /* ldif_parse_line2() would silently delete a CR (its continuation marker) from values */
    if (memchr(line, '\r', len))
        return syntax(ps, line, lineno, "carriage return inside a line");
    const char *colon = memchr(line, ':', len);
    if (colon && colon[1] == '<')
        return syntax(ps, line, lineno, "URL values (\":<\") are not read");
    if (colon && colon[1] == ':' && !base64_ok(colon + 2))
        return syntax(ps, line, lineno, "bad base64 after \"::\"");
    if (ldif_parse_line2(line, &type, &value, &freeval) != 0)
        return syntax(ps, line, lineno, "not \"type: value\"");
    if (freeval) { /* only for URL values, refused above */
        ber_memfree(value.bv_val);
        return syntax(ps, line, lineno, "unexpected value form");
    }
    size_t tlen = strcspn(type.bv_val, ";"); /* "userCertificate;binary" */
    if (tlen == 0)
        return syntax(ps, line, lineno, "empty attribute type");

    if (!ps->in_entry) {
        if (is(&type, tlen, "dn")) {
            char *dn = arena_strndup(ps->d->arena, value.bv_val, value.bv_len);
            char *ndn = arena_alloc(ps->d->arena, value.bv_len + 1);
            if (!dn || !ndn)
                return -ENOMEM;
            ps->cur = (struct ldif_entry){ .dn = dn, .dn_len = value.bv_len, .ndn = ndn };
            ps->cur.ndn_len = dn_normalize(dn, value.bv_len, ndn);
            ps->in_entry = ps->seen = true;
            return 0;
        }
        if (is(&type, tlen, "version") && !ps->seen) {
            ps->seen = true;
            if (value.bv_len != 1 || value.bv_val[0] != '1')
                return syntax(ps, line, lineno, "only LDIF version 1 is known");
            return 0;
        }
        return syntax(ps, line, lineno, "a record must begin with \"dn:\"");
    }
    if (is(&type, tlen, "dn"))
        return syntax(ps, line, lineno, "a second \"dn:\" in one record (blank line missing?)");
    if (is(&type, tlen, "changetype")) {
        if (value.bv_len != 3 || !ascii_caseeq(value.bv_val, 3, "add", 3))
            return syntax(ps, line, lineno, "change records other than \"add\" are not read");
        return 0;
    }
    int i = attr_index(type.bv_val, tlen);
    return i < 0 ? 0 : add_value(ps, (unsigned)i, value.bv_val, value.bv_len);
}

/*
 * Split @buf (@len bytes, one spare byte after them) into logical lines and records. A
 * continuation line (leading space) is appended in place to the line it continues, so every
 * logical line starts where its first physical line did.
 */
static int parse(struct parser *ps, char *buf, size_t len)
{
    char *p = buf, *end = buf + len, *cur = NULL;
    size_t cur_len = 0;
    unsigned long lineno = 0, cur_line = 0;
    bool comment = false;
    int rc;

    const char *nul = memchr(buf, '\0', len);
    if (nul) {
        for (const char *q = buf; q < nul; q++)
            lineno += *q == '\n';
        return syntax(ps, nul, lineno + 1, "NUL byte");
    }
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        char *next = nl ? nl + 1 : end;
        size_t n = (size_t)((nl ? nl : end) - p);
        lineno++;
        if (n && p[n - 1] == '\r')
            n--;
        if (n && p[0] == ' ') {
            if (!cur && !comment)
                return syntax(ps, p, lineno, "continuation line without a line to continue");
            if (cur) {
                memmove(cur + cur_len, p + 1, n - 1);
                cur_len += n - 1;
            }
        } else {
            if (cur && (rc = parse_line(ps, cur, cur_len, cur_line)) < 0)
                return rc;
            cur = NULL;
            comment = n && p[0] == '#';
            if (n == 0) {
                if ((rc = end_record(ps)) < 0)
                    return rc;
            } else if (!comment) {
                cur = p;
                cur_len = n;
                cur_line = lineno;
            }
        }
        p = next;
    }
    if (cur && (rc = parse_line(ps, cur, cur_len, cur_line)) < 0)
        return rc;
    return end_record(ps);
}

static int read_file(const char *path, char **ret, size_t *ret_len, struct sm_errinfo *reterr)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0, cap;
    int fd, rc;

    /* open(), fstat() and read() set errno when they fail: rc < 0, and *ret is set on 0 only.
       O_NONBLOCK: a FIFO does not hang the open (it is refused below); a regular file's reads
       ignore it */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
        rc = -errno;
        assert(rc < 0);
        errinfo_set(reterr, -1, "cannot open %s: %s", path, sm_strerror(rc));
        return rc;
    }
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        assert(rc < 0);
        errinfo_set(reterr, -1, "cannot stat %s: %s", path, sm_strerror(rc));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        errinfo_set(reterr, -1, "%s is not a regular file", path);
        goto out;
    }
    if (st.st_size > LDIF_MAX_FILE) {
        rc = SM_E_TOO_BIG;
        errinfo_set(reterr, -1, "%s is larger than %d MiB", path, LDIF_MAX_FILE >> 20);
        goto out;
    }
    cap = st.st_size > 0 ? (size_t)st.st_size + 2 : 4096; /* it may grow while we read */
    for (;;) {
        if (len + 1 >= cap) { /* keep one byte spare for the parser's terminator */
            cap *= 2;
            if (cap > (size_t)LDIF_MAX_FILE + 2)
                cap = (size_t)LDIF_MAX_FILE + 2;
        }
        char *nb = mem_realloc(buf, cap);
        if (!nb) {
            rc = -ENOMEM;
            goto out;
        }
        buf = nb;
        ssize_t r = read(fd, buf + len, cap - 1 - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            assert(rc < 0);
            errinfo_set(reterr, -1, "cannot read %s: %s", path, sm_strerror(rc));
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
        if (len > LDIF_MAX_FILE) {
            rc = SM_E_TOO_BIG;
            errinfo_set(reterr, -1, "%s is larger than %d MiB", path, LDIF_MAX_FILE >> 20);
            goto out;
        }
    }
    buf[len] = '\0';
    *ret = buf;
    *ret_len = len;
    buf = NULL;
    rc = 0;
out:
    mem_free(buf);
    close(fd);
    return rc;
}

/* ---- the backend ------------------------------------------------------------------------- */

static bool value_eq(unsigned attr, const struct ldif_value *v, const struct sm_blob *b)
{
    if (v->len != b->len)
        return false;
    /* objectSid: octetStringMatch. The string attributes: caseIgnoreMatch folded for ASCII
       only (AD folds Unicode too) and without its insignificant-space handling. */
    if (attr == ATTR_OBJECTSID)
        return memcmp(v->p, b->data, b->len) == 0;
    return ascii_caseeq((const char *)v->p, v->len, (const char *)b->data, b->len);
}

static int emit(const struct ldif_entry *e, struct raw_entries *out)
{
    int rc = raw_entry_begin(out, e->dn, e->dn_len);
    for (size_t i = 0; rc == 0 && i < e->n; i++)
        rc = raw_value(out, dir_attrs[e->v[i].attr], e->v[i].p, e->v[i].len);
    return rc;
}

/* ---- the indexes ----------------------------------------------------------------------- */

/* FNV-1a over @len bytes of @p after @seed (the attribute), ASCII upper case folded when @fold
   (as ascii_caseeq() compares), finished with MurmurHash3's fmix32 for the low bits that pick
   the bucket. */
static uint32_t hash_bytes(unsigned seed, bool fold, const void *p, size_t len)
{
    const uint8_t *s = p;
    uint32_t h = (2166136261u ^ seed) * 16777619u;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];
        if (fold && c >= 'A' && c <= 'Z')
            c = (uint8_t)(c + 32);
        h = (h ^ c) * 16777619u;
    }
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

/* The key of a value of attribute @attr: equal for values value_eq() finds equal. */
static uint32_t hash_value(unsigned attr, const void *p, size_t len)
{
    return hash_bytes(attr, attr != ATTR_OBJECTSID, p, len);
}

/* The key of a normalised DN (compared byte for byte). */
static uint32_t hash_dn(const char *ndn, size_t len)
{
    return hash_bytes(0xd1, false, ndn, len);
}

static bool indexed(unsigned attr)
{
    return attr < 32 && (ATTRS_INDEXED >> attr & 1u);
}

static size_t buckets_for(size_t n)
{
    size_t b = 1;
    while (b < n)
        b <<= 1;
    return b;
}

/*
 * Build both indexes (struct ldif_dir) over the entries parsed. Each chain is linked from the
 * last entry to the first, so that it runs in the file's order. 0, -ENOMEM, SM_E_TOO_BIG (more
 * entries or values than 32 bits count: a file within LDIF_MAX_FILE has far fewer). What was
 * allocated on failure is freed with the directory.
 */
static int build_index(struct ldif_dir *d, struct sm_errinfo *reterr)
{
    size_t nkeys = 0;
    for (size_t i = 0; i < d->n; i++)
        for (size_t j = 0; d->e[i].account && j < d->e[i].n; j++)
            nkeys += indexed(d->e[i].v[j].attr);
    if (d->n >= UINT32_MAX || nkeys >= UINT32_MAX) {
        errinfo_set(reterr, -1, "too many entries or values to index");
        return SM_E_TOO_BIG;
    }
    d->key_buckets = buckets_for(nkeys);
    d->dn_buckets = buckets_for(d->n);
    if ((nkeys && !(d->keys = mem_malloc(nkeys * sizeof(*d->keys)))) ||
        !(d->key_head = mem_calloc(d->key_buckets, sizeof(*d->key_head))) ||
        !(d->dn_head = mem_calloc(d->dn_buckets, sizeof(*d->dn_head))) ||
        !(d->dn_next = mem_malloc((d->n ? d->n : 1) * sizeof(*d->dn_next))))
        return -ENOMEM;
    size_t k = nkeys;
    for (size_t i = d->n; i-- > 0;) {
        const struct ldif_entry *e = &d->e[i];
        size_t b = hash_dn(e->ndn, e->ndn_len) & (d->dn_buckets - 1);
        d->dn_next[i] = d->dn_head[b];
        d->dn_head[b] = (uint32_t)(i + 1);
        for (size_t j = e->n; e->account && j-- > 0;) {
            if (!indexed(e->v[j].attr))
                continue;
            uint32_t h = hash_value(e->v[j].attr, e->v[j].p, e->v[j].len);
            b = h & (d->key_buckets - 1);
            d->keys[--k] = (struct ldif_key){ h, (uint32_t)i, (uint32_t)j, d->key_head[b] };
            d->key_head[b] = (uint32_t)(k + 1);
        }
    }
    assert(k == 0);
    return 0;
}

static void free_index(struct ldif_dir *d)
{
    mem_free(d->keys);
    mem_free(d->key_head);
    mem_free(d->dn_head);
    mem_free(d->dn_next);
    d->keys = NULL;
    d->key_head = d->dn_head = d->dn_next = NULL;
}

void dir_ldif_drop_index(struct sm_dir *sd)
{
    if (sd && sd->ops && strcmp(sd->ops->kind, "ldif") == 0)
        free_index((struct ldif_dir *)sd);
}

/* The first key from chain position @k (a key + 1; 0: the end) that holds @b as a value of
   @attr (whose key is @h): its position, or 0. */
static uint32_t next_match(const struct ldif_dir *d, uint32_t k, unsigned attr, uint32_t h,
                           const struct sm_blob *b)
{
    for (; k; k = d->keys[k - 1].next) {
        const struct ldif_key *key = &d->keys[k - 1];
        const struct ldif_value *v = &d->e[key->entry].v[key->value];
        if (key->hash == h && v->attr == attr && value_eq(attr, v, b))
            return k;
    }
    return 0;
}

/*
 * find_eq() from the index: the account entries holding one of @values (n <= SM_MAX_ALTSEC),
 * in the file's order, each once. One cursor per value walks its chain (in the file's order);
 * each round emits the smallest entry the cursors are at and moves every cursor at it past it.
 */
static int find_indexed(const struct ldif_dir *d, unsigned attr, const struct sm_blob *values,
                        size_t n, struct raw_entries *out)
{
    uint32_t pos[SM_MAX_ALTSEC], hash[SM_MAX_ALTSEC];
    assert(n <= SM_MAX_ALTSEC);
    for (size_t i = 0; i < n; i++) {
        hash[i] = hash_value(attr, values[i].data, values[i].len);
        pos[i] =
            next_match(d, d->key_head[hash[i] & (d->key_buckets - 1)], attr, hash[i], &values[i]);
    }
    for (;;) {
        uint32_t min = UINT32_MAX;
        for (size_t i = 0; i < n; i++)
            if (pos[i] && d->keys[pos[i] - 1].entry < min)
                min = d->keys[pos[i] - 1].entry;
        if (min == UINT32_MAX) /* no entry has that index (build_index()) */
            return 0;
        int rc = emit(&d->e[min], out);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < n; i++)
            while (pos[i] && d->keys[pos[i] - 1].entry == min)
                pos[i] = next_match(d, d->keys[pos[i] - 1].next, attr, hash[i], &values[i]);
    }
}

/* find_eq() by a scan of the entries: the same answer. */
static int find_scan(const struct ldif_dir *d, unsigned attr, const struct sm_blob *values,
                     size_t n, struct raw_entries *out)
{
    for (size_t i = 0; i < d->n; i++) {
        const struct ldif_entry *e = &d->e[i];
        bool hit = false;
        if (!e->account)
            continue;
        for (size_t j = 0; j < e->n && !hit; j++) {
            if (e->v[j].attr != attr)
                continue;
            for (size_t k = 0; k < n && !hit; k++)
                hit = value_eq(attr, &e->v[j], &values[k]);
        }
        if (!hit)
            continue;
        int rc = emit(e, out);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- the queries ------------------------------------------------------------------------- */

static int read_entry(const struct ldif_dir *d, const char *dn, struct raw_entries *out,
                      struct sm_errinfo *reterr)
{
    size_t len = strlen(dn);
    char *ndn = mem_malloc(len + 1);
    int rc = 0;
    if (!ndn) {
        errinfo_set(reterr, -1, "out of memory");
        return -ENOMEM;
    }
    size_t nlen = dn_normalize(dn, len, ndn);
    if (d->dn_head) {
        uint32_t i = d->dn_head[hash_dn(ndn, nlen) & (d->dn_buckets - 1)];
        for (; i; i = d->dn_next[i - 1]) {
            const struct ldif_entry *e = &d->e[i - 1];
            if (e->ndn_len == nlen && memcmp(e->ndn, ndn, nlen) == 0) {
                rc = emit(e, out); /* the first entry of that name */
                break;
            }
        }
    } else {
        for (size_t i = 0; i < d->n; i++) {
            const struct ldif_entry *e = &d->e[i];
            if (e->ndn_len == nlen && memcmp(e->ndn, ndn, nlen) == 0) {
                rc = emit(e, out); /* the first entry of that name */
                break;
            }
        }
    }
    mem_free(ndn);
    return rc;
}

/* The NTAuth store asked for along with a query: from memory, there is no round trip to save. */
static void read_store(const struct ldif_dir *d, struct dir_store *store)
{
    struct sm_errinfo e;
    if (store)
        store->rc = read_entry(d, d->pub.ntauth_dn, store->out, &e);
}

static int ldif_find_eq(struct sm_dir *sd, const char *attr, const struct sm_blob *values, size_t n,
                        struct raw_entries *out, struct dir_store *store, struct sm_errinfo *reterr)
{
    const struct ldif_dir *d = (const struct ldif_dir *)sd;
    int a = attr_index(attr, strlen(attr));
    if (a < 0) {
        errinfo_set(reterr, -1, "attribute %s is not searched", attr);
        return -EINVAL;
    }
    int rc = d->key_head && indexed((unsigned)a) && n <= SM_MAX_ALTSEC
                 ? find_indexed(d, (unsigned)a, values, n, out)
                 : find_scan(d, (unsigned)a, values, n, out);
    if (rc == SM_E_DIR_LIMIT)
        errinfo_set(reterr, -1, "more than %d accounts have this %s", SM_MAX_ACCOUNTS, attr);
    if (rc < 0)
        return rc;
    read_store(d, store);
    return 0;
}

static int ldif_read_dn(struct sm_dir *sd, const char *dn, struct raw_entries *out,
                        struct dir_store *store, struct sm_errinfo *reterr)
{
    const struct ldif_dir *d = (const struct ldif_dir *)sd;
    int rc = read_entry(d, dn, out, reterr);
    if (rc == 0)
        read_store(d, store);
    return rc;
}

/* Does @e hold @attr (an index into dir_attrs)? */
static bool has_attr(const struct ldif_entry *e, unsigned attr)
{
    for (size_t j = 0; j < e->n; j++)
        if (e->v[j].attr == attr)
            return true;
    return false;
}

/* The walk of sm_dir_each_account(): whenChanged is left to dir.c, which parses it. */
static int ldif_each(struct sm_dir *sd, time_t since, unsigned page_size, struct dir_each *w,
                     struct sm_errinfo *reterr)
{
    const struct ldif_dir *d = (const struct ldif_dir *)sd;
    (void)since;
    (void)page_size;
    (void)reterr;
    for (size_t i = 0; i < d->n; i++) {
        const struct ldif_entry *e = &d->e[i];
        if (!e->account || !(has_attr(e, ATTR_ALTSEC) || has_attr(e, ATTR_USERCERT)))
            continue;
        int rc = emit(e, dir_each_raw(w));
        if (rc == 0)
            rc = dir_each_entry(w);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int ldif_ping(struct sm_dir *sd, struct sm_errinfo *reterr)
{
    (void)sd;
    (void)reterr;
    return 0;
}

static void ldif_free(struct sm_dir *sd)
{
    struct ldif_dir *d = (struct ldif_dir *)sd;
    arena_free(d->arena); /* base and ntauth_dn live there */
    free_index(d);
    mem_free(d->e);
    mem_free(d);
}

static const struct dir_ops ldif_ops = {
    .kind = "ldif",
    .never_waits = true,
    .find_eq = ldif_find_eq,
    .read_dn = ldif_read_dn,
    .ping = ldif_ping,
    .free = ldif_free,
    .each = ldif_each,
};

/* The domain: the shortest DN of a domain object, else the shortest trailing DC= run. */
static int derive_base(struct ldif_dir *d)
{
    const char *base = NULL;
    size_t blen = 0;
    for (size_t i = 0; i < d->n; i++) {
        const struct ldif_entry *e = &d->e[i];
        if (e->domain && e->dn_len && (!base || e->dn_len < blen))
            base = e->dn, blen = e->dn_len;
    }
    for (size_t i = 0; !base && i < d->n; i++) {
        const struct ldif_entry *e = &d->e[i];
        assert(e->dn); /* every record begins with its "dn:" line (parse_line()) */
        size_t s = dc_suffix(e->dn, e->dn_len);
        if (s < e->dn_len && (!base || e->dn_len - s < blen))
            base = e->dn + s, blen = e->dn_len - s;
    }
    if (!base)
        return 0;
    if (!(d->pub.base = arena_strndup(d->arena, base, blen)) ||
        !(d->pub.ntauth_dn = arena_printf(d->arena, "%s%s", NTAUTH_PREFIX, d->pub.base)))
        return -ENOMEM;
    return 0;
}

int sm_dir_open_ldif(const char *path, struct sm_dir **ret, struct sm_errinfo *reterr)
{
    struct parser ps = { 0 };
    struct ldif_dir *d = NULL;
    char *buf = NULL;
    size_t len = 0;
    int rc;

    if (!path || !ret) {
        errinfo_set(reterr, -1, "no path or result");
        return -EINVAL;
    }
    if ((rc = read_file(path, &buf, &len, reterr)) < 0)
        goto out; /* its -ENOMEM gets its reason there too */
    rc = -ENOMEM;
    if (!(d = mem_calloc(1, sizeof(*d))) || !(d->arena = arena_new()))
        goto out;
    d->pub.ops = &ldif_ops;
    d->pub.ntauth_ttl_s = SM_NTAUTH_TTL_DEFAULT;
    ps.d = d;
    ps.buf = buf;
    ps.reterr = reterr;
    if ((rc = parse(&ps, buf, len)) < 0 || (rc = derive_base(d)) < 0 ||
        (rc = build_index(d, reterr)) < 0)
        goto out;
    *ret = &d->pub;
    d = NULL;
out:
    if (rc == -ENOMEM)
        errinfo_set(reterr, -1, "out of memory");
    if (d)
        ldif_free(&d->pub);
    mem_free(ps.v);
    mem_free(buf);
    return rc;
}

/*
 * lib/cert_input.c - input framing: PEM blocks, DER and base64 DER split into certificates, each
 * analysed by lib/cert_mbedtls.c (sm_certs_parse). A PKCS#7 certs-only bundle (.p7b: DER,
 * base64, or a PEM "PKCS7" block) stands for the certificates it carries (lib/cert_pkcs7.c);
 * bundles are not looked into inside bundles.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "cert_internal.h"

/* ---- input framing ---------------------------------------------------------------------- */

struct block {
    const uint8_t *der;
    size_t len, trailing;
    long offset;
    int err;
    const char *msg;
};

struct certs_impl {
    struct sm_certs pub;
    struct arena *a;
};

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

/* Decode base64 text (white space allowed anywhere) into the arena. */
int b64_decode(struct arena *a, const uint8_t *p, size_t len, uint8_t **ret, size_t *ret_len)
{
    uint8_t *out = arena_alloc(a, len / 4 * 3 + 3);
    if (!out)
        return -ENOMEM;
    long n = su_base64_decode((const char *)p, len, SU_B64_SPACE, out);
    if (n <= 0)
        return SM_E_FORMAT;
    *ret = out;
    *ret_len = (size_t)n;
    return 0;
}

/* Length of the DER element at @p (tag 0x30), or 0 when it does not fit in @len. */
static size_t der_seq_len(const uint8_t *p, size_t len)
{
    struct der in = der_at(p, len), seq;
    if (der_seq(&in, &seq) != 0)
        return 0;
    return (size_t)(in.p - p);
}

const uint8_t *find_str(const uint8_t *p, const uint8_t *end, const char *s)
{
    size_t n = strlen(s);
    for (; p + n <= end; p++)
        if (*p == (uint8_t)s[0] && memcmp(p, s, n) == 0)
            return p;
    return NULL;
}

static int add_block(struct block *blocks, size_t *n, struct block b)
{
    if (*n >= SM_MAX_CERTS)
        return SM_E_TOO_MANY;
    blocks[(*n)++] = b;
    return 0;
}

static int split_der(const uint8_t *p, size_t len, long base, const char *what,
                     struct block *blocks, size_t *n, bool bundles);

/* The certificates of the PKCS#7 bundle @set (its certificates SET, read by
   pkcs7_certificates() with result @r) at @offset; an empty or malformed one is an error
   block. */
static int split_bundle(int r, struct der set, long offset, struct block *blocks, size_t *n)
{
    if (r <= 0)
        return add_block(blocks, n,
                         (struct block){ .offset = offset,
                                         .err = SM_E_CERT,
                                         .msg = "a malformed PKCS#7 bundle (SignedData)" });
    if (set.p == set.end)
        return add_block(blocks, n,
                         (struct block){ .offset = offset,
                                         .err = SM_E_CERT,
                                         .msg = "a PKCS#7 bundle without certificates" });
    return split_der(set.p, (size_t)(set.end - set.p), offset,
                     "a certificate of a PKCS#7 bundle is not a DER SEQUENCE", blocks, n, false);
}

static int split_der(const uint8_t *p, size_t len, long base, const char *what,
                     struct block *blocks, size_t *n, bool bundles)
{
    size_t off = 0;
    while (off < len) {
        size_t l = der_seq_len(p + off, len - off);
        struct der set = { 0 };
        int r;

        if (l && bundles && (r = pkcs7_certificates(p + off, l, &set)) != 0) {
            if ((r = split_bundle(r, set, base + (long)off, blocks, n)) < 0)
                return r;
            off += l;
            continue;
        }
        if (l == 0) {
            if (*n == 0)
                return add_block(
                    blocks, n,
                    (struct block){ .offset = base + (long)off, .err = SM_E_CERT, .msg = what });
            blocks[*n - 1].trailing += len - off;
            return 0;
        }
        if (l > SM_MAX_CERT_DER)
            return SM_E_TOO_BIG;
        r = add_block(blocks, n,
                      (struct block){ .der = p + off, .len = l, .offset = base + (long)off });
        if (r < 0)
            return r;
        off += l;
    }
    return 0;
}

static int split_pem(struct arena *a, const uint8_t *p, size_t len, struct block *blocks, size_t *n,
                     unsigned *other)
{
    const uint8_t *end = p + len, *cur = p;
    static const char *const types[] = { "CERTIFICATE-----", "X509 CERTIFICATE-----",
                                         "TRUSTED CERTIFICATE-----", "PKCS7-----" };
    while ((cur = find_str(cur, end, "-----BEGIN ")) != NULL) {
        const uint8_t *label = cur + 11, *body = NULL;
        const char *type = NULL;
        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
            if ((size_t)(end - label) >= strlen(types[i]) &&
                memcmp(label, types[i], strlen(types[i])) == 0) {
                type = types[i];
                body = label + strlen(types[i]);
            }
        if (!type) {
            (*other)++;
            cur = label;
            continue;
        }
        long off = (long)(cur - p);
        char endmark[64];
        snprintf(endmark, sizeof(endmark), "-----END %s", type);
        const uint8_t *stop = find_str(body, end, endmark);
        if (!stop) {
            return add_block(blocks, n,
                             (struct block){ .offset = off,
                                             .err = SM_E_FORMAT,
                                             .msg = "PEM block has no END line" });
        }
        cur = stop + strlen(endmark);
        uint8_t *der;
        size_t dlen;
        int r = b64_decode(a, body, (size_t)(stop - body), &der, &dlen);
        if (r == -ENOMEM)
            return r;
        if (r < 0) {
            r = add_block(blocks, n,
                          (struct block){ .offset = off,
                                          .err = SM_E_FORMAT,
                                          .msg = "PEM block is not valid base64" });
        } else {
            size_t l = der_seq_len(der, dlen);
            struct der set = { 0 };

            if (strcmp(type, types[3]) == 0) {
                int b = l ? pkcs7_certificates(der, l, &set) : SM_E_CERT;

                r = split_bundle(b, set, off, blocks, n);
            } else if (l == 0)
                r = add_block(blocks, n,
                              (struct block){ .offset = off,
                                              .err = SM_E_CERT,
                                              .msg = "PEM block does not hold a DER SEQUENCE" });
            else if (l > SM_MAX_CERT_DER)
                return SM_E_TOO_BIG;
            else /* TRUSTED CERTIFICATE carries auxiliary data after the certificate */
                r = add_block(
                    blocks, n,
                    (struct block){ .der = der,
                                    .len = l,
                                    .offset = off,
                                    .trailing = strcmp(type, types[2]) == 0 ? 0 : dlen - l });
        }
        if (r < 0)
            return r;
    }
    return 0;
}

int sm_certs_parse(const void *buf, size_t len, const struct sm_parse_opts *opts,
                   struct sm_certs **ret, struct sm_errinfo *reterr)
{
    const uint8_t *p = buf;
    struct certs_impl *impl = NULL;
    struct block blocks[SM_MAX_CERTS];
    size_t n = 0;
    unsigned other = 0;
    const char *format;
    int r;

    if (len == 0) {
        errinfo_set(reterr, 0, "the input is empty");
        return SM_E_EMPTY;
    }
    if (len > SM_MAX_INPUT) {
        errinfo_set(reterr, -1, "the input is larger than %d bytes", SM_MAX_INPUT);
        return SM_E_TOO_BIG;
    }
    impl = mem_calloc(1, sizeof(*impl));
    if (!impl || !(impl->a = arena_new())) {
        r = -ENOMEM;
        goto out_fail;
    }
    size_t skip = 0;
    while (skip < len && is_space(p[skip]))
        skip++;
    if (skip < len && p[skip] == 0x30) {
        /* copied: the set owns its certificates' DER (struct sm_cert), whatever the caller
           does with @buf afterwards */
        uint8_t *der = arena_alloc(impl->a, len - skip);
        format = "der";
        if (!der) {
            r = -ENOMEM;
            goto out_fail;
        }
        memcpy(der, p + skip, len - skip);
        r = split_der(der, len - skip, (long)skip,
                      "not a DER certificate (the outer SEQUENCE is invalid or truncated)", blocks,
                      &n, true);
    } else if (find_str(p, p + len, "-----BEGIN ")) {
        format = "pem";
        r = split_pem(impl->a, p, len, blocks, &n, &other);
        if (r == 0 && n == 0) {
            errinfo_set(reterr, -1,
                        "no certificate in the PEM input (%u PEM block%s of another type)", other,
                        other == 1 ? "" : "s");
            r = SM_E_FORMAT;
            goto out_fail;
        }
    } else {
        uint8_t *der;
        size_t dlen;
        format = "base64";
        r = b64_decode(impl->a, p, len, &der, &dlen);
        if (r == SM_E_FORMAT) {
            errinfo_set(reterr, -1, "the input is not PEM, DER or base64-encoded DER");
            goto out_fail;
        }
        if (r == 0)
            r = split_der(der, dlen, 0,
                          "the input is base64 text but does not decode to a DER certificate",
                          blocks, &n, true);
    }
    if (r == SM_E_TOO_MANY) {
        errinfo_set(reterr, -1, "more than %d certificates in the input", SM_MAX_CERTS);
        goto out_fail;
    }
    if (r == SM_E_TOO_BIG) {
        errinfo_set(reterr, -1, "a certificate is larger than %d bytes", SM_MAX_CERT_DER);
        goto out_fail;
    }
    if (r < 0)
        goto out_fail;
    if (n == 0) { /* never with the splitters above; a guard for errs[0] below */
        errinfo_set(reterr, -1, "the input holds no certificate");
        r = SM_E_FORMAT;
        goto out_fail;
    }

    struct sm_cert *certs = arena_alloc(impl->a, n * sizeof(*certs));
    struct sm_input_error *errs = arena_alloc(impl->a, n * sizeof(*errs));
    if (!certs || !errs) {
        r = -ENOMEM;
        goto out_fail;
    }
    time_t now = opts && opts->now ? opts->now : time(NULL);
    size_t nc = 0, ne = 0;
    struct sm_errinfo e;
    for (size_t i = 0; i < n; i++) {
        struct block *b = &blocks[i];
        int code = b->err;
        const char *msg = b->msg;
        if (!code) {
            memset(&e, 0, sizeof(e));
            struct sm_cert *c = &certs[nc];
            memset(c, 0, sizeof(*c));
            c->index = (unsigned)i;
            code = cert_analyse(impl->a, b->der, b->len, b->trailing, now, c, &e);
            if (code == -ENOMEM) {
                r = code;
                goto out_fail;
            }
            if (code == 0) {
                nc++;
                continue;
            }
            if (!(msg = arena_strdup(impl->a, e.text))) {
                r = -ENOMEM;
                goto out_fail;
            }
        }
        errs[ne].index = (unsigned)i;
        errs[ne].offset = b->offset;
        errs[ne].code = code;
        errs[ne].message = msg;
        ne++;
    }
    if (nc == 0) {
        if (ne == 1)
            errinfo_set(reterr, errs[0].offset, "%s", errs[0].message);
        else
            errinfo_set(reterr, -1, "none of the %zu blocks is a certificate (first: %s)", ne,
                        errs[0].message);
        r = errs[0].code == SM_E_FORMAT ? SM_E_FORMAT : SM_E_CERT;
        goto out_fail;
    }
    impl->pub.certs = certs;
    impl->pub.n_certs = nc;
    impl->pub.errors = errs;
    impl->pub.n_errors = ne;
    impl->pub.format = format;
    *ret = &impl->pub;
    return 0;

out_fail:
    if (r == -ENOMEM)
        errinfo_set(reterr, -1, "out of memory");
    if (impl)
        arena_free(impl->a);
    mem_free(impl);
    return r;
}

struct sm_certs *sm_certs_free(struct sm_certs *certs)
{
    if (!certs)
        return NULL;
    struct certs_impl *impl = (struct certs_impl *)(void *)certs;
    arena_free(impl->a);
    mem_free(impl);
    return NULL;
}

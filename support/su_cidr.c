/*
 * support/su_cidr.c - IP address blocks and lists of them (su_cidr.h). Addresses are read with
 * inet_pton(), so only the numeric forms are accepted: no host names, no zone index, no octal
 * or shortened IPv4 ("10.1").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "su_cidr.h"
#include "su_dec.h"

/* Longest text of one block: an IPv6 address in its longest form, "/128" and a NUL. */
#define BLOCK_TEXT_MAX (INET6_ADDRSTRLEN + 5)

/* Are the bits of @addr (@size bytes) past the first @bits all zero? */
static bool host_bits_clear(const uint8_t *addr, size_t size, unsigned bits)
{
    for (size_t i = 0; i < size; i++) {
        unsigned keep = bits >= 8 * (i + 1) ? 8 : bits > 8 * i ? bits - 8 * (unsigned)i : 0;
        uint8_t mask = (uint8_t)(keep ? 0xff << (8 - keep) : 0);

        if (addr[i] & (uint8_t)~mask)
            return false;
    }
    return true;
}

int su_cidr_parse(const char *s, size_t len, struct su_cidr *ret)
{
    char text[BLOCK_TEXT_MAX];
    const char *slash;
    struct su_cidr c;
    size_t alen;
    uint64_t bits;

    if (len == 0 || len >= sizeof(text))
        return -EINVAL;
    memcpy(text, s, len);
    text[len] = '\0';
    if (strlen(text) != len) /* a NUL inside */
        return -EINVAL;
    memset(&c, 0, sizeof(c));
    slash = strchr(text, '/');
    alen = slash ? (size_t)(slash - text) : len;
    text[alen] = '\0';
    if (inet_pton(AF_INET, text, c.addr) == 1)
        c.family = 4;
    else if (inet_pton(AF_INET6, text, c.addr) == 1)
        c.family = 6;
    else
        return -EINVAL;
    bits = c.family == 4 ? 32 : 128;
    if (slash) {
        const char *b = slash + 1;
        size_t blen = len - alen - 1;

        /* 1 to 3 digits, no sign or blank, no leading zero ("/08" is a typing error too) */
        if (blen == 0 || blen > 3 || (blen > 1 && b[0] == '0') ||
            su_dec_u64(b, blen, c.family == 4 ? 32 : 128, NULL, &bits) < 0)
            return -EINVAL;
    }
    c.bits = (uint8_t)bits;
    if (!host_bits_clear(c.addr, c.family == 4 ? 4 : 16, c.bits))
        return -EINVAL;
    *ret = c;
    return 0;
}

static bool is_sep(char ch)
{
    return ch == ' ' || ch == '\t' || ch == ',';
}

int su_cidr_list_parse(const char *s, struct su_cidr_list *ret, size_t *ret_at)
{
    struct su_cidr_list l = { .n = 0 };
    size_t i = 0;

    for (;;) {
        size_t start, len;

        while (is_sep(s[i]))
            i++;
        if (s[i] == '\0')
            break;
        start = i;
        while (s[i] && !is_sep(s[i]))
            i++;
        len = i - start;
        if (l.n == SU_CIDR_MAX) {
            *ret_at = start;
            return -E2BIG;
        }
        if (su_cidr_parse(s + start, len, &l.v[l.n]) < 0) {
            *ret_at = start;
            return -EINVAL;
        }
        l.n++;
    }
    *ret = l;
    return 0;
}

/* Does the @bits-bit prefix of @c match the address @a (of @c's family)? */
static bool block_match(const struct su_cidr *c, const uint8_t *a)
{
    unsigned full = c->bits / 8, rest = c->bits % 8;

    if (memcmp(c->addr, a, full) != 0)
        return false;
    if (rest == 0)
        return true;
    return ((c->addr[full] ^ a[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

bool su_cidr_list_match(const struct su_cidr_list *l, const void *addr)
{
    const struct sockaddr *sa = addr;
    const uint8_t *a;
    uint8_t family;

    if (!l || !sa)
        return false;
    if (sa->sa_family == AF_INET) {
        a = (const uint8_t *)&((const struct sockaddr_in *)addr)->sin_addr;
        family = 4;
    } else if (sa->sa_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;

        if (IN6_IS_ADDR_V4MAPPED(in6)) {
            a = in6->s6_addr + 12;
            family = 4;
        } else {
            a = in6->s6_addr;
            family = 6;
        }
    } else {
        return false;
    }
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].family == family && block_match(&l->v[i], a))
            return true;
    return false;
}

bool su_cidr_list_covers(const struct su_cidr_list *l, const struct su_cidr *c)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].family == c->family && l->v[i].bits <= c->bits &&
            block_match(&l->v[i], c->addr))
            return true;
    return false;
}

char *su_cidr_format(const struct su_cidr *c, char *buf, size_t size)
{
    char a[INET6_ADDRSTRLEN] = "?";
    unsigned whole = c->family == 4 ? 32 : 128;

    inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a, sizeof(a));
    if (c->bits == whole)
        snprintf(buf, size, "%s", a);
    else
        snprintf(buf, size, "%s/%u", a, c->bits);
    return buf;
}

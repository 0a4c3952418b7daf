/*
 * support/su_cidr.h - IP address blocks (CIDR, RFC 4632; IPv6 prefixes, RFC 4291) and a bounded
 * list of them: read from text ("127.0.0.1 ::1 10.0.0.0/8, fd00::/8"), matched against a peer's
 * address, written back. The one test of "is this peer one of ours" (trusted proxies). Not
 * installed.
 */
#ifndef SM_SUPPORT_CIDR_H
#define SM_SUPPORT_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SU_CIDR_MAX      32 /**< blocks in one list */
#define SU_CIDR_TEXT_MAX 50 /**< bytes of one block as text, NUL included */

/** One block: an IPv4 or IPv6 address and its prefix length. */
struct su_cidr {
    uint8_t addr[16]; /**< IPv4: the first 4 bytes; the bits past the prefix are zero */
    uint8_t bits;     /**< prefix length: 0..32 (IPv4), 0..128 (IPv6) */
    uint8_t family;   /**< 4 or 6 */
};

/** A list of blocks: the first @n of @v. */
struct su_cidr_list {
    struct su_cidr v[SU_CIDR_MAX];
    size_t n;
};

/**
 * One block from the @len bytes at @s: an address ("192.0.2.7", "2001:db8::1", a single host)
 * or an address and a prefix length ("10.0.0.0/8", "fd00::/8"). Bits set past the prefix are
 * refused (a typing error: 10.0.0.1/8). 0, or -EINVAL.
 */
int su_cidr_parse(const char *s, size_t len, struct su_cidr *ret);

/**
 * A list from @s: blocks separated by blanks or commas, at most SU_CIDR_MAX of them (none is
 * an empty list). 0, -EINVAL for a block that is not one (its offset in *@ret_at), or -E2BIG
 * for more than SU_CIDR_MAX (*@ret_at: the first one too many). *@ret is written on success
 * only.
 */
int su_cidr_list_parse(const char *s, struct su_cidr_list *ret, size_t *ret_at);

/**
 * Does the address @addr (a struct sockaddr: AF_INET or AF_INET6; an IPv4-mapped IPv6 address
 * counts as its IPv4 address) fall within a block of @l? NULL or another family: false.
 */
bool su_cidr_list_match(const struct su_cidr_list *l, const void *addr);

/** Does a block of @l hold all of the block @c (the same family, a prefix as long or shorter,
 * matching)? */
bool su_cidr_list_covers(const struct su_cidr_list *l, const struct su_cidr *c);

/** @c as text ("10.0.0.0/8"; a whole address without "/32" or "/128") into @buf (at least
 * SU_CIDR_TEXT_MAX bytes). Returns @buf. */
char *su_cidr_format(const struct su_cidr *c, char *buf, size_t size);

#endif

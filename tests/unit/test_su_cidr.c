/*
 * tests/unit/test_su_cidr.c - support/su_cidr.c: address blocks read, matched and written
 * back (the trusted proxies of /v1/authz)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "su_cidr.h"

static struct sockaddr_in v4(const char *text)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };

    assert_int_equal(inet_pton(AF_INET, text, &sa.sin_addr), 1);
    return sa;
}

static struct sockaddr_in6 v6(const char *text)
{
    struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };

    assert_int_equal(inet_pton(AF_INET6, text, &sa.sin6_addr), 1);
    return sa;
}

static struct su_cidr_list list(const char *text)
{
    struct su_cidr_list l;
    size_t at = 999;

    assert_int_equal(su_cidr_list_parse(text, &l, &at), 0);
    assert_int_equal(at, 999); /* written on failure only */
    return l;
}

static void test_parse(void **state)
{
    static const struct {
        const char *in, *out;
    } good[] = {
        { "127.0.0.1", "127.0.0.1" },
        { "10.0.0.0/8", "10.0.0.0/8" },
        { "0.0.0.0/0", "0.0.0.0/0" },
        { "192.0.2.128/25", "192.0.2.128/25" },
        { "::1", "::1" },
        { "fd00::/8", "fd00::/8" },
        { "2001:db8::/32", "2001:db8::/32" },
        { "::/0", "::/0" },
        { "10.1.2.3/32", "10.1.2.3" },
        { "::ffff:127.0.0.1", "::ffff:127.0.0.1" },
    };
    static const char *const bad[] = {
        "",           "localhost",   "10.1",        "10.0.0.1/8",  "10.0.0.0/33",
        "10.0.0.0/",  "10.0.0.0/-1", "10.0.0.0/08", "10.0.0.0/ 8", "::1/129",
        "fe80::1%lo", "1.2.3.4.5",   "010.0.0.1",   "fd00::1/8",   "10.0.0.0/8/8",
        "0x7f.0.0.1",
    };
    char buf[SU_CIDR_TEXT_MAX];
    struct su_cidr c;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        assert_int_equal(su_cidr_parse(good[i].in, strlen(good[i].in), &c), 0);
        assert_string_equal(su_cidr_format(&c, buf, sizeof(buf)), good[i].out);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c.family = 99;
        assert_int_equal(su_cidr_parse(bad[i], strlen(bad[i]), &c), -EINVAL);
        assert_int_equal(c.family, 99); /* untouched */
    }
    /* a NUL inside the given length is refused, not cut at */
    assert_int_equal(su_cidr_parse("127.0.0.1\0/8", 12, &c), -EINVAL);
    /* the longest IPv6 text */
    assert_int_equal(su_cidr_parse("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255/128", 49, &c), 0);
}

static void test_list(void **state)
{
    struct su_cidr_list l;
    char many[SU_CIDR_MAX * 12 + 16] = "";
    size_t at = 0;

    (void)state;
    l = list("127.0.0.1 ::1");
    assert_int_equal(l.n, 2);
    l = list("  10.0.0.0/8,\t192.168.0.0/16 , fd00::/8 ");
    assert_int_equal(l.n, 3);
    l = list("");
    assert_int_equal(l.n, 0);
    l = list(" , ");
    assert_int_equal(l.n, 0);
    assert_int_equal(su_cidr_list_parse("127.0.0.1 nope ::1", &l, &at), -EINVAL);
    assert_int_equal(at, 10);
    for (int i = 0; i < SU_CIDR_MAX; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "10.0.0.%d ", i);
    l = list(many);
    assert_int_equal(l.n, SU_CIDR_MAX);
    strcat(many, "10.0.1.0");
    assert_int_equal(su_cidr_list_parse(many, &l, &at), -E2BIG);
    assert_int_equal(at, strlen(many) - strlen("10.0.1.0"));
}

static void test_match(void **state)
{
    struct su_cidr_list l = list("127.0.0.1 10.0.0.0/8 192.0.2.128/25 ::1 fd00::/8");
    struct su_cidr_list all4 = list("0.0.0.0/0"), none = list("");
    struct sockaddr_in a;
    struct sockaddr_in6 b;
    struct sockaddr other = { .sa_family = AF_UNIX };

    (void)state;
    a = v4("127.0.0.1");
    assert_true(su_cidr_list_match(&l, &a));
    a = v4("127.0.0.2"); /* another loopback address is not the proxy */
    assert_false(su_cidr_list_match(&l, &a));
    a = v4("10.255.1.2");
    assert_true(su_cidr_list_match(&l, &a));
    a = v4("11.0.0.1");
    assert_false(su_cidr_list_match(&l, &a));
    a = v4("192.0.2.128");
    assert_true(su_cidr_list_match(&l, &a));
    a = v4("192.0.2.255");
    assert_true(su_cidr_list_match(&l, &a));
    a = v4("192.0.2.127");
    assert_false(su_cidr_list_match(&l, &a));
    b = v6("::1");
    assert_true(su_cidr_list_match(&l, &b));
    b = v6("::2");
    assert_false(su_cidr_list_match(&l, &b));
    b = v6("fdff:1::5");
    assert_true(su_cidr_list_match(&l, &b));
    b = v6("fe00::5");
    assert_false(su_cidr_list_match(&l, &b));
    /* an IPv4-mapped address (a dual-stack socket) is its IPv4 address */
    b = v6("::ffff:127.0.0.1");
    assert_true(su_cidr_list_match(&l, &b));
    b = v6("::ffff:127.0.0.2");
    assert_false(su_cidr_list_match(&l, &b));
    /* families do not mix: 0.0.0.0/0 holds no IPv6 address */
    b = v6("::1");
    assert_false(su_cidr_list_match(&all4, &b));
    a = v4("203.0.113.9");
    assert_true(su_cidr_list_match(&all4, &a));
    assert_false(su_cidr_list_match(&none, &a));
    assert_false(su_cidr_list_match(&l, &other));
    assert_false(su_cidr_list_match(NULL, &a));
    assert_false(su_cidr_list_match(&l, NULL));
}

static void test_covers(void **state)
{
    struct su_cidr_list l = list("127.0.0.1 10.0.0.0/8 fd00::/8");
    static const char *const inside[] = { "127.0.0.1", "10.0.0.0/8", "10.1.0.0/16", "10.9.9.9",
                                          "fd00::/8",  "fd12::/16",  "fdff::1" };
    static const char *const outside[] = { "127.0.0.0/8", "127.0.0.2", "10.0.0.0/7", "11.0.0.0/8",
                                           "fc00::/7",    "::1",       "0.0.0.0/0" };
    struct su_cidr c;

    (void)state;
    for (size_t i = 0; i < sizeof(inside) / sizeof(inside[0]); i++) {
        assert_int_equal(su_cidr_parse(inside[i], strlen(inside[i]), &c), 0);
        assert_true(su_cidr_list_covers(&l, &c));
    }
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
        assert_int_equal(su_cidr_parse(outside[i], strlen(outside[i]), &c), 0);
        assert_false(su_cidr_list_covers(&l, &c));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_match),
        cmocka_unit_test(test_covers),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}

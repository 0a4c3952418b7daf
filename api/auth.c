/*
 * api/auth.c - who is asking: bearer tokens (RFC 6750), also as the password of HTTP Basic
 * (RFC 7617: what FreeRADIUS's rlm_rest and other clients without headers of their own can
 * send), and TLS client certificates; and the check of a TLS priority string. The only file of api/
 * that calls GnuTLS (libmicrohttpd's TLS library) directly.
 *
 * Tokens are kept as SHA-256 hashes of their secrets (su_sha256(), Nettle, as the engine's
 * thumbprints). A presented secret is hashed and compared
 * with every configured hash, each comparison in constant time and without stopping at a
 * match, so the time taken says nothing about which bytes or which token matched. The secret
 * and its hash are wiped from the stack afterwards; neither is ever logged.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "api_internal.h"
#include "su_base64.h"
#include "su_hash.h"

/* Longest bearer secret looked at (longer: invalid). */
#define BEARER_MAX 4096

/* 1 when the 32 bytes at @a and @b are equal, else 0, in time independent of the contents. */
static unsigned eq32(const unsigned char *a, const unsigned char *b)
{
    unsigned d = 0;

    for (size_t i = 0; i < 32; i++)
        d |= (unsigned)(a[i] ^ b[i]);
    return 1u & ((d - 1u) >> 8); /* d in 0..255: d - 1 wraps only for 0 */
}

/* The token whose secret is the @len bytes at @secret: its index, or AUTH_INVALID. */
static int match(const struct api_runtime *rt, const void *secret, size_t len)
{
    unsigned char h[32];
    unsigned found = 0, idx = 0;

    su_sha256(secret, len, h);
    for (size_t i = 0; i < rt->n_tokens; i++) {
        unsigned m = eq32(h, rt->tokens[i].sha256);
        unsigned mask = 0u - m; /* all ones on a match */

        idx = (idx & ~mask) | ((unsigned)i & mask);
        found |= m;
    }
    explicit_bzero(h, sizeof(h));
    return found ? (int)idx : AUTH_INVALID;
}

/* "Basic <base64 of user:password>" (@value past the scheme): the password is the secret. */
static int basic(const struct api_runtime *rt, const char *value, size_t len)
{
    uint8_t buf[BEARER_MAX / 4 * 3]; /* @len <= BEARER_MAX */
    const uint8_t *colon;
    long n;
    int r = AUTH_INVALID;

    if ((n = su_base64_decode(value, len, 0, buf)) < 0)
        return AUTH_INVALID;
    colon = memchr(buf, ':', (size_t)n); /* the user-id has no colon (RFC 7617) */
    if (colon && colon + 1 < buf + n)
        r = match(rt, colon + 1, (size_t)(buf + n - colon - 1));
    explicit_bzero(buf, sizeof(buf));
    return r;
}

int auth_bearer(const struct api_runtime *rt, const char *value)
{
    bool is_basic;
    size_t len;

    if (!value)
        return AUTH_MISSING;
    value += strspn(value, " \t");
    is_basic = strncasecmp(value, "Basic", 5) == 0 && (value[5] == ' ' || value[5] == '\t');
    if (!is_basic &&
        (strncasecmp(value, "Bearer", 6) != 0 || (value[6] != ' ' && value[6] != '\t')))
        return AUTH_MISSING; /* another scheme: as good as none */
    value += is_basic ? 5 : 6;
    value += strspn(value, " \t");
    len = strcspn(value, " \t");
    if (len == 0 || len > BEARER_MAX || value[len + strspn(value + len, " \t")] != '\0')
        return AUTH_INVALID;
    return is_basic ? basic(rt, value, len) : match(rt, value, len);
}

int api_tls_priorities_check(const char *prio, struct sm_errinfo *e)
{
    gnutls_priority_t p;
    const char *at = NULL;
    int r = gnutls_priority_init(&p, prio, &at);

    if (r < 0)
        return settings_fail(e, -EINVAL, "GnuTLS refuses the priority string at \"%.48s\": %s",
                             at ? at : prio, gnutls_strerror(r));
    gnutls_priority_deinit(p);
    return 0;
}

int auth_client_cert(void *session)
{
    gnutls_session_t ses = session;
    gnutls_typed_vdata_st purpose = {
        .type = GNUTLS_DT_KEY_PURPOSE_OID,
        .data = (void *)(uintptr_t)GNUTLS_KP_TLS_WWW_CLIENT,
    };
    unsigned int status = 0, n = 0;

    if (!ses)
        return -ENOENT;
    if (!gnutls_certificate_get_peers(ses, &n) || n == 0)
        return -ENOENT;
    /* Chain to a trusted CA, validity dates, signatures, and the TLS client purpose when the
     * certificate lists extended key usages. */
    if (gnutls_certificate_verify_peers(ses, &purpose, 1, &status) < 0 || status != 0)
        return -EACCES;
    return 0;
}

int auth_client_cert_der(void *session, const unsigned char **ret_der, size_t *ret_len)
{
    const gnutls_datum_t *peers;
    unsigned int n = 0;
    int r = auth_client_cert(session);

    if (r < 0)
        return r;
    peers = gnutls_certificate_get_peers(session, &n);
    if (!peers || n == 0 || peers[0].size == 0)
        return -ENOENT;
    *ret_der = peers[0].data; /* the peer's own certificate comes first */
    *ret_len = peers[0].size;
    return 0;
}

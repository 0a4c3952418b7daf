/*
 * lib/sigmemo.c - sm_cert_signed_by() remembered: was this certificate signed by that CA?
 *
 * A verdict checks the certificate's signature with the key of the CA it names, when that CA is
 * in the NTAuth store or among Samba's anchors (lib/ntauth.c, lib/verdict.c). One RSA-2048 check
 * costs more than the rest of a verdict; gateways and portals ask about the same certificates
 * again and again. The answer depends on the two certificates' bytes only, so it is kept by
 * their SHA-256 thumbprints (the whole digests: a shorter key would let a crafted certificate
 * take a verified one's place) in a table of SIGMEMO_SLOTS slots, one per index, the newest
 * answer replacing the one it collides with. Process-wide, behind one mutex held for a
 * comparison or a copy, never during a check.
 *
 * A certificate request's self-signature (lib/cert_csr.c) is remembered the same way, by the
 * request's SHA-256 alone: a portal's check and its CA's hook read the same request.
 *
 * vx_issuer_signed() is the one loop both trust lists use (the NTAuth store, Samba's anchors):
 * try each CA of the issuer's name until one signed the certificate, and tell "none did" from
 * "one could not be told".
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <strongmap/cert.h>

#include "sigmemo.h"
#include "su_hex.h"
#include "verdict_internal.h"

#define SIGMEMO_SLOTS 1024 /* 66 KiB */

struct slot {
    uint8_t cert[32], ca[32];
    int8_t answer; /* 0, or -EBADMSG's sign: 1 = signed, -1 = not signed */
};

static struct slot memo[SIGMEMO_SLOTS];
static pthread_mutex_t memo_mu = PTHREAD_MUTEX_INITIALIZER;
static const uint8_t none[32];

static size_t index_of(const uint8_t a[32], const uint8_t b[32])
{
    return ((size_t)(a[0] ^ b[1]) << 8 | (size_t)(a[1] ^ b[0])) % SIGMEMO_SLOTS;
}

int sigmemo_get(const uint8_t a[32], const uint8_t b[32])
{
    int8_t answer;

    if (!b)
        b = none;
    pthread_mutex_lock(&memo_mu);
    const struct slot *s = &memo[index_of(a, b)];
    answer =
        s->answer != 0 && memcmp(s->cert, a, 32) == 0 && memcmp(s->ca, b, 32) == 0 ? s->answer : 0;
    pthread_mutex_unlock(&memo_mu);
    return answer;
}

void sigmemo_put(const uint8_t a[32], const uint8_t b[32], bool yes)
{
    if (!b)
        b = none;
    pthread_mutex_lock(&memo_mu);
    struct slot *s = &memo[index_of(a, b)];
    memcpy(s->cert, a, 32);
    memcpy(s->ca, b, 32);
    s->answer = yes ? 1 : -1;
    pthread_mutex_unlock(&memo_mu);
}

static int digest(const struct sm_cert *c, uint8_t d[32])
{
    return su_hex_decode(c->sha256, strlen(c->sha256), d, 32) == 32 ? 0 : -1;
}

int vx_signed_by(const struct sm_cert *cert, const struct sm_cert *ca)
{
    uint8_t dc[32], dk[32];
    int r;

    if (digest(cert, dc) < 0 || digest(ca, dk) < 0) /* no thumbprint: not remembered */
        return sm_cert_signed_by(cert, ca);
    if ((r = sigmemo_get(dc, dk)) != 0)
        return r > 0 ? 0 : -EBADMSG;
    r = sm_cert_signed_by(cert, ca);
    if (r == 0 || r == -EBADMSG) /* what cannot be told is asked again next time */
        sigmemo_put(dc, dk, r == 0);
    return r;
}

bool vx_names_issuer(const struct sm_cert *ca, const struct sm_cert *cert)
{
    return strcmp(ca->subject.rfc4514, cert->issuer.rfc4514) == 0 &&
           (!cert->aki || !ca->ski || strcasecmp(cert->aki, ca->ski) == 0);
}

int vx_issuer_signed(const struct sm_cert *cert, const struct sm_cert *cas, size_t n,
                     enum sm_issuer_sig *sig)
{
    bool named = false, untold = false;

    for (size_t i = 0; i < n; i++) {
        if (!vx_names_issuer(&cas[i], cert))
            continue;
        named = true;
        int r = vx_signed_by(cert, &cas[i]);
        if (r == 0) {
            *sig = SM_ISSUER_SIG_VALID;
            return 0;
        }
        if (r == -ENOMEM)
            return r;
        untold |= r != -EBADMSG;
    }
    *sig = !named   ? SM_ISSUER_SIG_NOT_CHECKED
           : untold ? SM_ISSUER_SIG_UNSUPPORTED
                    : SM_ISSUER_SIG_INVALID;
    return 0;
}

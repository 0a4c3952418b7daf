/*
 * lib/altsecid_samba.c - altSecurityIdentities values as a Samba DC reads and matches them
 * (docs/mapping-rules.md 3); lib/altsecid.c has the Windows reading.
 *
 * Samba 4.24 (source4/kdc/db-glue.c parse_certificate_mapping, heimdal kdc/pkinit.c
 * pk_check_certificate_binding). Samba parses the fields: the header "X509:" and the tag names
 * are compared case-sensitively; text between "X509:" and the first '<' is skipped; any '<'
 * starts a tag; a repeated tag replaces the earlier one; an unknown tag (including <SID>), an
 * empty tag or value, or bad hex makes Samba ignore the whole value. <I>/<S> are reversed on
 * every ',' (and CR/LF; empty components dropped) and compared byte for byte with Heimdal's
 * RFC 4514 rendering of the name; <SR> is hex-decoded, byte-reversed and compared with the
 * serial's magnitude (Heimdal drops the 00 sign byte); <SKI> and <SHA1-PUKEY> are hex-decoded
 * (so hex case does not matter) and compared with the SKI extension and the SHA-1 of the whole
 * certificate; <RFC822> is compared byte for byte with each rfc822Name. A value is strong for
 * Samba when it has <SKI>, <SHA1-PUKEY>, or <I> together with <SR>. sm_altsec_matches_samba()
 * re-reads the value this way each time, independent of the Windows classification.
 *
 * Uncertain points (documented, predicted as stated): we take cert->issuer.rfc4514 (OpenSSL's
 * RFC 2253 rendering) as equal to Heimdal's hx509_name_to_string(); they can differ in the
 * escaping of unusual characters. Negative serial numbers are predicted never to match on
 * Samba (Heimdal keeps a negated magnitude; no CA issues them).
 */
#include <string.h>

#include "altsecid_internal.h"

/* ---- Samba reading ---------------------------------------------------------------------- */

static const char *const samba_tags[SB__COUNT] = { "I", "S", "SR", "SKI", "SHA1-PUKEY", "RFC822" };

static bool samba_set(struct samba_map *m, const char *tag, size_t tlen, const char *val,
                      size_t vlen)
{
    if (tlen == 0 || vlen == 0)
        return false;
    for (int k = 0; k < SB__COUNT; k++) {
        if (strlen(samba_tags[k]) != tlen || memcmp(samba_tags[k], tag, tlen) != 0)
            continue;
        if (k == SB_SR || k == SB_SKI || k == SB_SHA1) {
            if (vlen % 2)
                return false;
            for (size_t i = 0; i < vlen; i++)
                if (!is_hex(val[i]))
                    return false;
        }
        m->p[k] = val; /* a repeated tag replaces the earlier value */
        m->len[k] = vlen;
        return true;
    }
    return false;
}

/* parse_certificate_mapping() of Samba 4.24, over a byte string. */
bool samba_parse(const char *s, size_t len, struct samba_map *m)
{
    enum { START, TAG, VALUE } state = START;
    size_t ts = 0, tl = 0, vs = 0;

    memset(m, 0, sizeof(*m));
    if (len <= X509_HEADER_LEN || memcmp(s, X509_HEADER, X509_HEADER_LEN) != 0)
        return false;
    for (size_t i = X509_HEADER_LEN; i < len; i++) {
        char c = s[i];
        switch (state) {
        case START:
            if (c == '<') {
                state = TAG;
                ts = i + 1;
            }
            break;
        case TAG:
            if (c == '>') {
                tl = i - ts;
                state = VALUE;
                vs = i + 1;
            }
            break;
        case VALUE:
            if (c == '<') {
                if (!samba_set(m, s + ts, tl, s + vs, i - vs))
                    return false;
                state = TAG;
                ts = i + 1;
            }
            break;
        }
    }
    if (state != VALUE)
        return false;
    return samba_set(m, s + ts, tl, s + vs, len - vs);
}

bool samba_is_strong(const struct samba_map *m)
{
    return m->p[SB_SKI] || m->p[SB_SHA1] || (m->p[SB_I] && m->p[SB_SR]);
}

/*
 * Samba's reverse_dn(): components delimited by ',', CR or LF, empty ones dropped, joined by
 * ',' in reverse order. Compared with @want byte for byte.
 */
static bool samba_name_matches(const char *p, size_t len, const char *want)
{
    size_t wlen, out = 0, end = len;

    if (!want)
        return false;
    wlen = strlen(want);
    for (size_t i = len + 1; i-- > 0;) {
        if (i > 0 && p[i - 1] != ',' && p[i - 1] != '\r' && p[i - 1] != '\n')
            continue;
        /* component [i, end) */
        if (end > i) {
            size_t clen = end - i;
            if (out && (out >= wlen || want[out++] != ','))
                return false;
            if (clen > wlen - out || memcmp(want + out, p + i, clen) != 0)
                return false;
            out += clen;
        }
        if (i > 0)
            end = i - 1;
    }
    return out == wlen;
}

/* Hex of @hex's bytes in reverse order into @out (len + 1 bytes); @len is even. */
void reverse_hex(const char *hex, size_t len, char *out)
{
    for (size_t i = 0; i < len; i += 2) {
        out[i] = hex[len - 2 - i];
        out[i + 1] = hex[len - 1 - i];
    }
    out[len] = '\0';
}

/* Certificate serial hex without the DER sign byte (what Heimdal keeps), or NULL. */
static const char *serial_magnitude(const struct sm_cert *cert)
{
    const char *s = cert->serial;
    if (!s || cert->serial_negative || strlen(s) % 2)
        return NULL;
    if (cert->serial_sign_byte && strncmp(s, "00", 2) == 0)
        s += 2;
    return s;
}

static bool samba_serial_matches(const char *p, size_t len, const struct sm_cert *cert)
{
    char rev[SERIAL_HEX_MAX + 1];
    const char *mag = serial_magnitude(cert);
    size_t mlen;

    if (!mag)
        return false;
    mlen = strlen(mag);
    if (mlen != len || mlen >= sizeof(rev))
        return false;
    reverse_hex(mag, mlen, rev);
    return ascii_caseeq(p, len, rev, mlen);
}

static bool samba_matches_map(const struct samba_map *m, const struct sm_cert *cert)
{
    if (m->p[SB_I] && !samba_name_matches(m->p[SB_I], m->len[SB_I], cert->issuer.rfc4514))
        return false;
    if (m->p[SB_S] && !samba_name_matches(m->p[SB_S], m->len[SB_S], cert->subject.rfc4514))
        return false;
    if (m->p[SB_RFC822]) {
        bool found = false;
        for (size_t i = 0; i < cert->n_san && !found; i++) {
            const struct sm_san *san = &cert->san[i];
            found = san->type == SM_SAN_EMAIL && san->value &&
                    strlen(san->value) == m->len[SB_RFC822] &&
                    memcmp(san->value, m->p[SB_RFC822], m->len[SB_RFC822]) == 0;
        }
        if (!found)
            return false;
    }
    /* Hex fields are decoded by Samba, so compare them ignoring case. */
    if (m->p[SB_SKI] &&
        (!cert->ski || !ascii_caseeq(m->p[SB_SKI], m->len[SB_SKI], cert->ski, strlen(cert->ski))))
        return false;
    if (m->p[SB_SHA1] &&
        !ascii_caseeq(m->p[SB_SHA1], m->len[SB_SHA1], cert->sha1, strlen(cert->sha1)))
        return false;
    if (m->p[SB_SR] && !samba_serial_matches(m->p[SB_SR], m->len[SB_SR], cert))
        return false;
    return true;
}

bool sm_altsec_matches_samba(const struct sm_altsec *v, const struct sm_cert *cert)
{
    struct samba_map m;

    if (!v || !cert || !v->value)
        return false;
    if (!samba_parse(v->value, strlen(v->value), &m))
        return false;
    return samba_matches_map(&m, cert);
}

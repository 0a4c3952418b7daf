/*
 * lib/names.h - X.509 Name rendering: ASN.1 string decoding to UTF-8, RFC 4514 (as OpenSSL's
 * RFC2253,-esc_msb prints it), the Windows KDC's altSecurityIdentities form, and Samba's form.
 * No mbedTLS types: lib/cert_mbedtls.c hands over tag + content bytes.
 */
#ifndef SM_LIB_NAMES_H
#define SM_LIB_NAMES_H

#include <strongmap/cert.h>

#include "util.h"

/**
 * Fill @attr from one AttributeTypeAndValue: @oid dotted (kept, not copied: static or in @a),
 * @tag and @p/@len the value's tag and content bytes. Other strings are copied into @a.
 * Returns 0 or -ENOMEM.
 */
int name_attr_set(struct arena *a, struct sm_name_attr *attr, const char *oid, int tag,
                  const uint8_t *p, size_t len);

/** Build ->rfc4514, ->ad, ->samba, ->n_rdns, ->multi_valued from ->attrs. Returns 0 or -ENOMEM. */
int name_render(struct arena *a, struct sm_name *name);

/**
 * Decode an ASN.1 character string (UTF8String, BMPString, T61String as Latin-1, ...) into
 * UTF-8 in @b. Returns 1 when decoded, 0 when @tag is not a string type, and sets *@lossy when
 * bytes had to be replaced.
 */
int asn1_string_to_utf8(struct su_buf *b, int tag, const uint8_t *p, size_t len, bool *lossy);

#endif

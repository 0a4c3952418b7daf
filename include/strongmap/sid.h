/*
 * strongmap/sid.h - Windows security identifiers: text <-> binary objectSid, and the two ways a
 * certificate carries one (the 1.3.6.1.4.1.311.25.2 extension and the SAN URI).
 */
#ifndef STRONGMAP_SID_H
#define STRONGMAP_SID_H

#include <strongmap/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SM_SID_MAX_SUBAUTH 15
/** Longest canonical text: "S-255-" + 15 digits (48-bit authority) + 15 * "-4294967295". */
#define SM_SID_TEXT_MAX 192
/** Longest binary objectSid: 8 + 4 * 15 bytes. */
#define SM_SID_BINARY_MAX 68

/** OID of szOID_NTDS_CA_SECURITY_EXT and of the otherName inside it. */
#define SM_OID_SID_EXTENSION "1.3.6.1.4.1.311.25.2"
#define SM_OID_SID_OTHERNAME "1.3.6.1.4.1.311.25.2.1"
/** Prefix of the SAN URI that carries a SID (KB5014754, Sept 2022). */
#define SM_SID_URI_PREFIX "tag:microsoft.com,2022-09-14:sid:"

/** A SID in structured form. */
struct sm_sid {
    uint8_t revision;
    uint8_t n_sub;
    uint64_t authority; /**< 48 bits */
    uint32_t sub[SM_SID_MAX_SUBAUTH];
};

/**
 * Parse SID text ("S-1-5-21-...") of @len bytes into @ret. Accepts what Windows'
 * ConvertStringSidToSid accepts: "S" or "s", decimal components, a hexadecimal "0x" authority.
 * Returns 0, or SM_E_SID with a reason in @reterr (may be NULL). @ret is written on success only.
 * @ret_canonical (may be NULL) tells whether the text is exactly the canonical rendering (what
 * Samba's byte-for-byte comparison needs).
 */
int sm_sid_parse(const char *text, size_t len, struct sm_sid *ret, bool *ret_canonical,
                 struct sm_errinfo *reterr);

/** Canonical text into @buf (at least SM_SID_TEXT_MAX bytes). Returns @buf. */
char *sm_sid_format(const struct sm_sid *sid, char *buf, size_t size);

/** Binary objectSid into @out (at least SM_SID_BINARY_MAX bytes); returns its length. */
size_t sm_sid_to_binary(const struct sm_sid *sid, uint8_t *out);

/** Parse a binary objectSid. Returns 0 or SM_E_SID. */
int sm_sid_from_binary(const uint8_t *buf, size_t len, struct sm_sid *ret);

/** True when both SIDs are the same (binary comparison, as Windows does). */
bool sm_sid_equal(const struct sm_sid *a, const struct sm_sid *b);

/**
 * DER of the extension value (the extnValue contents) that an AD CS CA writes for @sid, into
 * @out of @size bytes. Returns the length, or a negative error when @size is too small.
 */
long sm_sid_extension_der(const struct sm_sid *sid, uint8_t *out, size_t size);

#ifdef __cplusplus
}
#endif

#endif

/*
 * lib/altsecid_internal.h - what the parts of the altSecurityIdentities module share:
 * lib/altsecid.c (the grammar, the Windows reading and sm_altsec_parse, Windows matching),
 * lib/altsecid_samba.c (the Samba reading and matching) and lib/altsecid_lint.c (lint).
 * Plain C, no third-party headers.
 */
#ifndef SM_LIB_ALTSECID_INTERNAL_H
#define SM_LIB_ALTSECID_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <strongmap/altsecid.h>
#include <strongmap/sid.h>

#include "util.h"

#define X509_HEADER     "X509:"
#define X509_HEADER_LEN 5
#define SERIAL_HEX_MAX  128 /* hex digits of the longest serial compared (64 bytes) */

/* ---- lib/altsecid.c ---- */

enum tag { TAG_I, TAG_S, TAG_SR, TAG_SKI, TAG_SHA1, TAG_SID, TAG_RFC822, TAG__COUNT };

#define BIT(t) (1u << (t))

/* The tag names as the KDC writes them ("SHA1-PUKEY" for TAG_SHA1). */
extern const char *const tag_names[TAG__COUNT];

/* The tags of each type, in the order the KDC writes them. */
struct type_tags {
    enum tag tags[2];
    unsigned n;
};
extern const struct type_tags type_tags[SM_MAP__COUNT];

struct altsec_impl {
    struct sm_altsec pub;
    struct arena *arena;
    size_t n_parse_findings; /* findings added by parse; lint truncates back to this */
    int set_type;            /* type by the set of tags ignoring order, or -1 */
    unsigned bad_fields;     /* BIT(tag) of fields with a syntax error */
    bool canonical_case;     /* header "X509:" and every tag name upper case */
    bool sid_canonical;      /* <SID> text is the canonical rendering */
    struct sm_sid sid;       /* parsed <SID> when present and valid */
};

static inline struct altsec_impl *impl_of(struct sm_altsec *v)
{
    return (struct altsec_impl *)((char *)v - offsetof(struct altsec_impl, pub));
}

static inline bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* ASCII case-insensitive equality of two strings; false when either is NULL. */
bool str_caseeq(const char *a, const char *b);

/* The built string the value equals, or NULL. */
const struct sm_mapping *windows_match(const struct sm_altsec *v, const struct sm_cert *cert);

/* ---- lib/altsecid_samba.c ---- */

enum { SB_I, SB_S, SB_SR, SB_SKI, SB_SHA1, SB_RFC822, SB__COUNT };

struct samba_map {
    const char *p[SB__COUNT]; /* NULL when absent */
    size_t len[SB__COUNT];
};

/* parse_certificate_mapping() of Samba 4.24, over a byte string. */
bool samba_parse(const char *s, size_t len, struct samba_map *m);
/* Strong for Samba: <SKI>, <SHA1-PUKEY>, or <I> with <SR>. */
bool samba_is_strong(const struct samba_map *m);
/* Hex of @hex's bytes in reverse order into @out (len + 1 bytes); @len is even. */
void reverse_hex(const char *hex, size_t len, char *out);

#endif

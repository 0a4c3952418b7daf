/*
 * lib/util.h - private helpers of libstrongmap: a bump arena that owns every string of a result,
 * a growable string buffer, UTF-8 and findings helpers. Not installed. Hex, decimal numbers,
 * calendar arithmetic and hashes are support/'s (su_*.h), which every layer shares.
 */
#ifndef SM_LIB_UTIL_H
#define SM_LIB_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <strongmap/common.h>

#include "su_base64.h"
#include "su_buf.h"
#include "su_dec.h"
#include "su_hex.h"
#include "su_time.h"
#include "su_utf8.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define SM_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SM_PRINTF(f, a)
#endif

/*
 * Arena: allocations live until arena_free(). Every result object (certificate set, parsed
 * altSecurityIdentities value) owns one, so freeing a result is one call and building one costs
 * a few mallocs instead of hundreds. On allocation failure the arena functions return NULL.
 */
struct arena;

struct arena *arena_new(void);
/** Frees @a and everything allocated from it; NULL is fine. Returns NULL. */
struct arena *arena_free(struct arena *a);
/** Zeroed memory, aligned for any type. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strndup(struct arena *a, const char *s, size_t len);
char *arena_strdup(struct arena *a, const char *s);
/** The concatenation of the strings given, up to a NULL (a cheaper arena_printf("%s%s")). */
char *arena_cat(struct arena *a, ...) __attribute__((sentinel));
char *arena_printf(struct arena *a, const char *fmt, ...) SM_PRINTF(2, 3);
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap) SM_PRINTF(2, 0);
/** Upper-case hex of the @len bytes at @p (su_hex_upper()), in @a. */
char *arena_hex(struct arena *a, const uint8_t *p, size_t len);

/*
 * A growable buffer (support/su_buf.h) whose storage comes from @a, freed with it, or with @a
 * NULL from the engine's allocator (lib/alloc.h: su_buf_release() frees it), so that the
 * failing-allocation tests reach it either way.
 */
void arena_buf_init(struct su_buf *b, struct arena *a);
/* The engine's allocator (lib/alloc.h) as su_buf's and su_jsonw's (su_buf_alloc_fn). */
void *mem_buf_alloc(void *ctx, void *p, size_t keep, size_t size);

/** Decimal digits of @v into @out (no NUL); returns how many (1 to 20). */
size_t dec_u64(uint64_t v, char out[20]);

/** Append one code point as UTF-8 (U+FFFD for invalid ones). */
void utf8_put(struct su_buf *b, uint32_t cp);
/**
 * Append @p as UTF-8, replacing each invalid sequence and each NUL by U+FFFD. Returns true
 * when something was replaced.
 */
bool utf8_sanitize(struct su_buf *b, const char *p, size_t len);

/** ASCII case-insensitive equality of two byte strings. */
bool ascii_caseeq(const char *a, size_t alen, const char *b, size_t blen);
/* Both set and equal, ASCII letters compared without case (DNS names, UPNs). */
bool name_caseeq(const char *a, const char *b);
/*
 * The DNS domain of the directory entry @dn: its DC= RDNs joined by dots ("CN=x,CN=Users,
 * DC=example,DC=com" -> "example.com") in @a, or NULL when it has none (*@oom tells an
 * allocation failure). Directory DNs are well formed; a DC value with an escaped character is
 * not a DNS label and ends the name.
 */
const char *dn_dns_domain(struct arena *a, const char *dn, bool *oom);

/**
 * Add a finding to @f. @code must have static storage; @message and @fix are copied into @a.
 * Returns 0 or -ENOMEM. When the list is full the finding is dropped and ->truncated set.
 */
int findings_add(struct sm_findings *f, struct arena *a, const char *code, enum sm_severity sev,
                 const char *fix, const char *fmt, ...) SM_PRINTF(6, 7);

/** Copy @text into @e (when non-NULL) with @offset. */
void errinfo_set(struct sm_errinfo *e, long offset, const char *fmt, ...) SM_PRINTF(3, 4);

#endif

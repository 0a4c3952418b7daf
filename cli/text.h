/* cli/text.h - human-readable renderings for `strongmap --text`. */
#ifndef SM_CLI_TEXT_H
#define SM_CLI_TEXT_H

#include <stdio.h>

#include <strongmap/strongmap.h>

/**
 * Write @len bytes of @s to @f, everything a terminal would act on written as \xNN per byte:
 * C0 and C1 controls (ESC, CR, LF, ...), DEL, U+2028 and U+2029, the bidirectional formatting
 * characters, and bytes that are not UTF-8. Printable UTF-8 is kept.
 */
void text_escaped(FILE *f, const char *s, size_t len);

/** printf to @f through text_escaped(); a newline ending @fmt is written as a newline. */
void text_printf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void text_certs(FILE *f, const struct sm_certs *certs);
void text_altsec(FILE *f, struct sm_altsec *const *vals, size_t n, const struct sm_cert *cert);
/**
 * Print the forms of @sid, one per line, labelled with the keys of sm_json_sid()'s document and
 * in its order. Returns 0, or a negative code when the extension cannot be encoded.
 */
int text_sid(FILE *f, const struct sm_sid *sid);
void text_verdict(FILE *f, const struct sm_verdict *v);
void text_account_status(FILE *f, const struct sm_account_status *s);
/** The issuance plan (cli/text_preissue.c). */
void text_preissue(FILE *f, const struct sm_preissue *p);
/**
 * An openssl extension file (`openssl x509 -req -extfile`, `openssl ca -extfile`) that issues
 * the certificate as @p plans it: the SID extension, the SAN as issued, the requested EKU and
 * key usage. Returns 0.
 */
int extfile_preissue(FILE *f, const struct sm_preissue *p);
/** KDC events explained, grouped by account and issuing CA (cli/text_events.c). */
void text_events(FILE *f, const struct sm_events_explanation *x);

#endif

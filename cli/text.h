/* cli/text.h - human-readable renderings for `strongmap --text`. */
#ifndef SM_CLI_TEXT_H
#define SM_CLI_TEXT_H

#include <stdio.h>

#include <strongmap/strongmap.h>

void text_certs(FILE *f, const struct sm_certs *certs);
void text_altsec(FILE *f, struct sm_altsec *const *vals, size_t n, const struct sm_cert *cert);
/** Print the fields of a sm_json_sid() document, one per line. */
void text_sid(FILE *f, const char *json);
void text_verdict(FILE *f, const struct sm_verdict *v);
void text_account_status(FILE *f, const struct sm_account_status *s);

#endif

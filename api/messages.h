/*
 * api/messages.h - the status page's message catalogues (api/messages.c, docs/self-service.md
 * "Languages"): the shipped ones (web/messages/LANG.json, compiled in), to which a builder (the
 * daemon's reload.c, a test) may add an operator's before it finishes them. Once finished they
 * are immutable and may be shared by any number of threads. The handlers' side of them is in
 * api_internal.h (msg_*).
 */
#ifndef SM_API_MESSAGES_H
#define SM_API_MESSAGES_H

#include <stddef.h>

#include <strongmap/common.h>

struct api_messages;

#define API_MESSAGES_FILE_MAX (256 * 1024) /**< bytes of one catalogue */

/** Told each warning about a catalogue (one line, "ORIGIN: ..."): keys missing, or unknown. */
typedef void api_messages_warn_fn(void *arg, const char *text);

/**
 * The shipped catalogues into *@ret (api_messages_free()), not finished. 0, -ENOMEM, or
 * -EINVAL with the reason in @e when a shipped catalogue does not load (a mistake of the
 * build, which unit.test_messages catches).
 */
int api_messages_new(struct api_messages **ret, struct sm_errinfo *e);

/**
 * Add the catalogue of the language @tag ("de", "pt-BR"): @len bytes of JSON at @json, read
 * from @origin (a file name, for the messages). Its texts replace those @m has for that
 * language, which is added when new. Keys English does not have are told to @warn (may be
 * NULL) and ignored. 0, -ENOMEM, or -EINVAL with "ORIGIN: why" in @e: not JSON (the line and
 * column), not an object of texts, a text empty, too long, with a control character, or with
 * other placeholders than English's, a bad tag, too many languages. After an error, @m is only
 * good for api_messages_free().
 */
int api_messages_add(struct api_messages *m, const char *tag, const char *json, size_t len,
                     const char *origin, api_messages_warn_fn *warn, void *arg,
                     struct sm_errinfo *e);

struct api_runtime;

/**
 * Show the organisation's help of @rt ([page] organisation, helpdesk and links: api.h) on the
 * page @m renders, in each language; @rt is read by api_messages_finish() only and must live
 * until it returns. Without this call the page shows none.
 */
void api_messages_set_help(struct api_messages *m, const struct api_runtime *rt);

/**
 * Finish @m: each key a language lacks gets the English text (told to @warn, may be NULL, one
 * line per language), and the page is rendered for each language. 0, -ENOMEM, or -EINVAL
 * with the reason in @e (web/status.html names a key English does not have).
 */
int api_messages_finish(struct api_messages *m, api_messages_warn_fn *warn, void *arg,
                        struct sm_errinfo *e);

/** Free @m (NULL is fine). Returns NULL. */
struct api_messages *api_messages_free(struct api_messages *m);

/**
 * The shipped catalogues, finished, made once for the process on first use (never freed): what
 * the page speaks when the runtime has none of its own. NULL when memory ran out.
 */
const struct api_messages *api_messages_shipped(void);

#endif

/*
 * lib/events_internal.h - what the parts of the KDC event reader share: lib/events.c (the
 * fields of each event, the result, the rendered-text reader), lib/events_xml.c (the XML
 * reader, the one file that includes expat) and lib/events_explain.c. Plain C.
 */
#ifndef SM_LIB_EVENTS_INTERNAL_H
#define SM_LIB_EVENTS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <strongmap/events.h>

#include "util.h"

/* The fields an event prints, in no particular order (struct sm_kdc_event's members). */
enum ev_field {
    EV_USER,
    EV_DOMAIN,
    EV_SUBJECT,
    EV_ISSUER,
    EV_SERIAL,
    EV_THUMBPRINT,
    EV_ISSUED,
    EV_CREATED,
    EV_USER_SID,
    EV_CERT_SID,
    EV_STATUS,
    EV__COUNT,
};

/* An event being read: its fields, until ev_add() copies it into the result. */
struct ev_draft {
    unsigned id;
    const char *level, *time, *computer;
    const char *f[EV__COUNT];
    long offset;
    unsigned line;
};

/* The result under construction. */
struct ev_result {
    struct sm_kdc_events pub;
    struct arena *arena;
    struct sm_kdc_event *v;
    size_t cap;
};

/* True for the IDs the explainer knows: 21, 39, 40, 41, 45. */
bool ev_id_known(unsigned id);

/* The field the event @id prints at position @pos (0-based), or -1. */
int ev_field_at(unsigned id, size_t pos);

/* The field an XML <Data Name="..."> names (the manifest's names), or -1. */
int ev_field_named(const char *name);

/*
 * Keep the draft @d (its strings in the result's arena). Events of other IDs count as
 * skipped. Returns 0, SM_E_TOO_MANY (with @e filled) or -ENOMEM.
 */
int ev_add(struct ev_result *r, const struct ev_draft *d, struct sm_errinfo *e);

/* A copy of @p[0..len) in @a with blanks trimmed at both ends; NULL on allocation failure. */
char *ev_trimdup(struct arena *a, const char *p, size_t len);

/* Read the XML of @p[0..len) (UTF-8) into @r (lib/events_xml.c). */
int ev_parse_xml(struct ev_result *r, const char *p, size_t len, struct sm_errinfo *e);

#endif

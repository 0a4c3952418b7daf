/*
 * cli/text_events.c - `strongmap explain --text`: KDC events explained, grouped by account,
 * then the issuing CAs. Reads the engine's structures (strongmap/events.h), not its JSON.
 */
#include <stdio.h>

#include "text.h"

static void event_line(FILE *f, const struct sm_event_explanation *x, size_t index)
{
    const struct sm_kdc_event *e = x->event;
    text_printf(f, "  [%zu] event %u%s%s%s%s, line %u: %s\n", index, e->id, e->level ? " " : "",
                e->level ? e->level : "", e->time ? " at " : "", e->time ? e->time : "", e->line,
                x->summary ? x->summary : "");
    if (e->computer)
        text_printf(f, "      DC           %s\n", e->computer);
    if (e->subject)
        text_printf(f, "      Subject      %s\n", e->subject);
    if (e->issuer)
        text_printf(f, "      Issuer       %s\n", e->issuer);
    if (e->serial)
        text_printf(f, "      Serial       %s\n", e->serial);
    if (e->thumbprint)
        text_printf(f, "      Thumbprint   %s\n", e->thumbprint);
    if (e->issued)
        text_printf(f, "      Issued       %s\n", e->issued);
    if (e->created)
        text_printf(f, "      Created      %s\n", e->created);
    if (e->user_sid)
        text_printf(f, "      Account SID  %s\n", e->user_sid);
    if (e->cert_sid)
        text_printf(f, "      Cert SID     %s%s%s\n", e->cert_sid, x->sid_owner ? " = " : "",
                    x->sid_owner ? x->sid_owner : "");
    if (e->status)
        text_printf(f, "      Chain status %s\n", e->status);
    if (x->issuer_serial)
        text_printf(f, "      %s X509IssuerSerialNumber %s\n",
                    x->from_certificate ? "published " : "rebuilt   ", x->issuer_serial);
    if (x->sha1_pukey)
        text_printf(f, "      %s X509SHA1PublicKey      %s\n",
                    x->from_certificate ? "published " : "from event", x->sha1_pukey);
    if (x->why)
        text_printf(f, "      Why: %s\n", x->why);
    if (x->fix)
        text_printf(f, "      Fix: %s\n", x->fix);
    if (x->fix_command)
        text_printf(f, "        %s\n", x->fix_command);
    if (x->reissue)
        text_printf(f, "      Lasting: %s\n", x->reissue);
    for (size_t i = 0; i < x->findings.n; i++)
        text_printf(f, "      [%s] %s: %s\n", sm_severity_name(x->findings.v[i].severity),
                    x->findings.v[i].code, x->findings.v[i].message);
}

void text_events(FILE *f, const struct sm_events_explanation *x)
{
    text_printf(f, "%zu KDC event%s, %zu account%s, %zu issuing CA%s", x->n, x->n == 1 ? "" : "s",
                x->n_accounts, x->n_accounts == 1 ? "" : "s", x->n_cas, x->n_cas == 1 ? "" : "s");
    text_printf(f, "; %zu other event%s skipped; directory: %s\n", x->skipped,
                x->skipped == 1 ? "" : "s", x->directory ? x->directory : "none");
    for (size_t g = 0; g < x->n_accounts; g++) {
        const struct sm_event_group *grp = &x->by_account[g];
        const struct sm_event_explanation *first = &x->v[grp->events[0]];
        fputc('\n', f);
        text_printf(f, "Account %s (%s)\n", grp->key, sm_explain_lookup_name(first->lookup));
        for (size_t k = 0; k < grp->n; k++)
            event_line(f, &x->v[grp->events[k]], grp->events[k]);
    }
    if (x->n_cas)
        fputs("\nBy issuing CA\n", f);
    for (size_t g = 0; g < x->n_cas; g++) {
        const struct sm_event_group *grp = &x->by_ca[g];
        text_printf(f, "  %s: %zu event%s (", grp->key, grp->n, grp->n == 1 ? "" : "s");
        for (size_t k = 0; k < grp->n; k++)
            text_printf(f, "%s[%zu]", k ? " " : "", grp->events[k]);
        text_printf(f, ")\n");
    }
}

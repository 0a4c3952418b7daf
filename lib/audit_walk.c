/*
 * lib/audit_walk.c - the whole audit of a directory (sm_audit_walk(), strongmap/audit.h): the
 * first pass over the values, the second over the accounts, then the accounts certificates were
 * given for. `strongmap audit` (cli/audit.c) and strongmapd's audit jobs (api/audits.c) run it;
 * they differ only in where the lines go and what stops the walk.
 */
#include <errno.h>
#include <string.h>

#include <strongmap/strongmap.h>

#include "audit_internal.h"

struct walk {
    struct sm_audit *au;
    struct sm_dir *lookups;
    const struct sm_audit_walk_opts *o;
    struct sm_audit_progress p;
    struct sm_errinfo stop; /* why the lookups stopped the walk */
};

static bool wanted(const struct walk *w, const struct sm_account *acc)
{
    return !w->o->since || (acc->has_changed && acc->changed > w->o->since);
}

static int tick(struct walk *w)
{
    int rc = w->o->tick ? w->o->tick(w->o->ctx, &w->p) : 0;
    return rc < 0 ? rc : 0;
}

/* The first pass: the account's values into the audit's set, and the accounts counted. */
static int index_one(const struct sm_account *acc, void *ctx)
{
    struct walk *w = ctx;
    int rc;

    if ((rc = tick(w)) < 0)
        return rc;
    if ((rc = sm_audit_index(w->au, acc)) < 0)
        return rc;
    w->p.indexed++;
    w->p.total += wanted(w, acc);
    w->p.holders += wanted(w, acc) && acc->n_altsec > 0;
    return 0;
}

/* One account audited and handed over; a failure of the lookups that every account would meet
   stops the walk, any other is the account's line. */
static int audit_one(const struct sm_account *acc, void *ctx)
{
    struct walk *w = ctx;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    struct sm_audit_record *rec = NULL;
    int rc;

    if ((rc = tick(w)) < 0)
        return rc;
    rc = sm_audit_account(w->au, w->lookups, acc, &rec, &e);
    if (rc == SM_E_DIR_DOWN || rc == SM_E_DIR_REFUSED || rc == -ENOMEM) {
        w->stop = e;
        return rc;
    }
    w->p.lines++;
    w->p.holders_seen += w->p.phase == SM_AUDIT_AUDITING && acc->n_altsec > 0;
    if (rc < 0)
        return w->o->line(w->o->ctx, acc, NULL, rc, e.text);
    if ((int)rec->status->readiness > w->p.worst)
        w->p.worst = (int)rec->status->readiness;
    rc = w->o->line(w->o->ctx, acc, rec, 0, "");
    sm_audit_record_free(rec);
    return rc;
}

/* A page of the second pass: its lookups fetched in advance (lib/audit_prefetch.c); a failure
   of the directory stops the walk as a lookup's would. */
static int audit_page(const struct sm_accounts *page, void *ctx)
{
    struct walk *w = ctx;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int rc = audit_prefetch(w->au, w->lookups, page, &e);
    if (rc < 0)
        w->stop = e;
    return rc;
}

/* After the walk: the accounts certificates were given for that it did not give. */
static int given_accounts(struct walk *w, struct sm_errinfo *e)
{
    struct sm_accounts *found = NULL;
    int n, rc = 0;

    while (rc == 0 && (n = sm_audit_given_next(w->au, w->lookups, &found, e)) == 1) {
        const struct sm_account *acc = &found->v[0];
        if (wanted(w, acc))
            rc = audit_one(acc, w);
        found = sm_accounts_free(found);
    }
    return rc < 0 ? rc : n;
}

uint64_t sm_audit_estimated_total(const struct sm_audit_progress *p)
{
    if (!p || !p->total_partial || p->phase != SM_AUDIT_AUDITING || p->holders == 0 ||
        p->holders_seen == 0 || p->holders_seen * 100 < p->holders)
        return 0;
    double est = (double)p->lines * (double)p->holders / (double)p->holders_seen + 0.5;
    if (est >= 0x1p64) /* past UINT64_MAX: not from any directory */
        return UINT64_MAX;
    return (uint64_t)est > p->lines ? (uint64_t)est : p->lines;
}

int sm_audit_walk(struct sm_audit *au, struct sm_dir *walk, struct sm_dir *lookups,
                  const struct sm_audit_walk_opts *o, struct sm_audit_progress *ret,
                  struct sm_errinfo *reterr)
{
    /* the first pass reads every account's values, --since or not: a value an account changed
       lately shares with one that did not is a duplicate all the same */
    struct sm_dir_each_opts io = { .page_size = o ? o->page_size : 0, .values_only = true };
    struct sm_dir_each_opts wo = { .since = o ? o->since : 0,
                                   .page_size = io.page_size,
                                   .page = audit_page };
    struct walk w = { .au = au, .lookups = lookups, .o = o, .p.worst = -1 };
    struct sm_errinfo e = SM_ERRINFO_INIT;
    int rc;

    if (!au || !walk || !lookups || !o || !o->line)
        return -EINVAL;
    if ((rc = tick(&w)) == 0)
        rc = sm_dir_each_account(walk, &io, index_one, &w, &e);
    if (rc == 0) {
        w.p.phase = SM_AUDIT_AUDITING;
        w.p.total_partial = strcmp(sm_dir_kind(walk), "ldap") == 0; /* values' holders alone */
        if ((rc = tick(&w)) == 0)
            rc = sm_dir_each_account(walk, &wo, audit_one, &w, &e);
        audit_prefetch_done();
        if (rc == 0) { /* every account the walk gave: now the total is known */
            w.p.total = w.p.lines;
            w.p.total_partial = false;
        }
    }
    if (rc == 0) {
        w.p.phase = SM_AUDIT_GIVEN;
        if ((rc = tick(&w)) == 0)
            rc = given_accounts(&w, &e);
    }
    if (rc < 0 && !e.text[0])
        e = w.stop; /* the lookups' reason, when the walk gave none */
    if (ret)
        *ret = w.p;
    if (reterr)
        *reterr = e;
    return rc < 0 ? rc : 0;
}

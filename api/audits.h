/*
 * api/audits.h - the audit jobs (api/audits.c) as their handlers (api/h_audits.c) use them.
 * Private to those two files, and to api/metrics.c, which reads audits_metrics().
 *
 * A job is reference-counted: the set of jobs holds one while it lists the job, and a handler
 * takes one for what it answers (audits_find(), audits_start()); a report being sent holds one
 * until libmicrohttpd is done with it. Its report is written by its thread alone while it runs
 * and read only once it has ended (audit_job_report()), when nothing writes it any more.
 */
#ifndef SM_API_AUDITS_H
#define SM_API_AUDITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <strongmap/audit.h>

#include "api.h"
#include "options.h"

#define AUDIT_ID_LEN 32 /* hex digits of a job's id: 128 random bits */

/* What POST /v1/audits asked for (h_audits.c reads it). */
struct audit_settings {
    struct opt_profiles profiles;       /* the what-ifs applied */
    time_t at;                          /* the evaluation time (the request's, when it gave none) */
    time_t since;                       /* 0: every account */
    unsigned page_size;                 /* 0: the default */
    int fail_on;                        /* SM_AT_RISK, SM_BLOCKED; -1: none */
    unsigned formats;                   /* 1 << enum sm_audit_format each, at least one */
    char requester[API_TOKEN_NAME_MAX]; /* the token's name, "": none (no authentication) */
};

struct audit_job;

/*
 * Start an audit with @s over @rt's directory (a reference on @rt is taken for as long as it
 * runs) on a thread of its own, into *@ret (a reference: audit_job_put()). -EBUSY when
 * @rt->audit_jobs audits run already, -ENOSPC when API_AUDIT_KEEP_PER_JOB times as many are held:
 * *@ret_retry_after then says in how many seconds one may end or expire. -ENOMEM, -EAGAIN (no
 * thread to be had).
 */
int audits_start(struct api_audits *a, struct api_runtime *rt, const struct audit_settings *s,
                 struct audit_job **ret, unsigned *ret_retry_after);

/** The job @id (a reference), or NULL: no such job, or it expired. */
struct audit_job *audits_find(struct api_audits *a, const char *id);

/**
 * DELETE: cancel @j when it has not ended (0: its thread stops after the account it audits,
 * and the job stays, "cancelled", with its partial report), or forget it when it has ended (1:
 * its report is gone; the responses still sending it keep it until they are done).
 */
int audits_delete(struct api_audits *a, struct audit_job *j);

/** Take / drop a reference. NULL is fine for the latter. */
struct audit_job *audit_job_get(struct audit_job *j);
void audit_job_put(struct audit_job *j);

/** Its id (AUDIT_ID_LEN hex digits). */
const char *audit_job_id(const struct audit_job *j);

/** Its document (openapi/strongmapd.yaml, AuditJob) into *@ret (free()). 0 or -ENOMEM. */
int audit_job_json(struct audit_job *j, char **ret);

/** The states a report may be asked in. */
enum audit_report_state {
    AUDIT_REPORT_READY = 0, /* ended, with this report */
    AUDIT_REPORT_RUNNING,   /* not ended yet */
    AUDIT_REPORT_NONE,      /* ended without any report (it grew past max_report, ...) */
    AUDIT_REPORT_NOT_BUILT, /* ended, and this format was not asked for */
};

/**
 * The report of @j in format @f: AUDIT_REPORT_READY with its bytes (*@ret, *@ret_len: valid
 * while a reference on @j is held), or why not. With AUDIT_REPORT_RUNNING *@ret_eta is the
 * seconds the audit may still take (at least 1; a guess when nothing is known).
 */
enum audit_report_state audit_job_report(struct audit_job *j, enum sm_audit_format f,
                                         const char **ret, size_t *ret_len, unsigned *ret_eta);

/** The formats @j builds (1 << enum sm_audit_format each). */
unsigned audit_job_formats(const struct audit_job *j);

/** A report of @j was sent in full: once each one has been, @j goes after AUDIT_FETCHED_S. */
void audit_job_fetched(struct api_audits *a, struct audit_job *j, enum sm_audit_format f);

#define AUDIT_FETCHED_S 60 /* seconds a job is kept once every report of it was fetched */

#define AUDITS_ENDS 3 /* how a job ends: done, failed, cancelled (audits_metrics.ended[]) */

/* What GET /metrics says of a set's jobs since it was made (api/metrics.c). */
struct audits_metrics {
    uint64_t started;            /* jobs started */
    uint64_t ended[AUDITS_ENDS]; /* jobs ended: done, failed, cancelled */
    uint64_t expired, deleted;   /* ended jobs forgotten: their time came, or DELETE */
    uint64_t accounts;           /* accounts audited, counted as the audits go */
    uint64_t running, held;      /* jobs now: queued or running; in memory, in any state */
    uint64_t report_bytes;       /* the reports the ended jobs hold */
    double last_seconds;         /* from start to end, of the job that ended last; 0: none */
};

/** A copy of @a's counts into *@m (all 0 for NULL: a server not started). */
void audits_metrics(struct api_audits *a, struct audits_metrics *m);

#endif

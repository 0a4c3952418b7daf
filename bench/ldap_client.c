/*
 * bench/ldap_client.c - the directory ceiling: a minimal synchronous libldap client doing
 * exactly the LDAP searches of one strongmapd verdict for a certificate with a UPN SAN and a
 * SID extension (lib/verdict.c, lib/dir.c, lib/dir_ldap.c), as fast as it can; or, with
 * --latency, one verdict after the other, timed.
 *
 *   ldap_client --uri URI --base DN --upn NAME [--threads N] [--seconds S] [--paged]
 *               [--searches 1|2] [--latency]
 *
 * One verdict is two searches, one after the other (--searches 1: the first alone, what a
 * verdict asks while its directory handle keeps the NTAuth store):
 *   1. subtree from DN, filter (&(|(objectClass=user)(objectClass=computer))(|(userPrincipalName=
 *      <NAME escaped by ldap_bv2escaped_filter_value>))), the attributes of DIR_ATTRS_INIT
 *      (lib/dir_internal.h), every entry read (DN, every value of every attribute); with
 *      --paged under the paged-results control (page size 8, pages followed) as strongmapd does;
 *   2. base read of CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,DN
 *      with (objectClass=*) and the same attributes (noSuchObject counts as an answer).
 * Each of N threads (default 1) opens its own connection (LDAPv3, anonymous simple bind) and
 * runs one untimed verdict, which must find the account; then all of them loop for S seconds
 * (default 3). One JSON line on stdout:
 *   {"tool":"ldap_client","threads":N,"verdicts":V,"seconds":T,"verdicts_per_s":R,
 *    "searches_per_verdict":1 or 2}
 * and with --latency (one thread) the verdicts' times in milliseconds, nearest rank:
 *    ,"latency_ms":{"p50":...,"p90":...,"p99":...,"min":...}
 * Errors: "ldap_client: ..." on stderr and exit 1; usage errors exit 2.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lber.h>
#include <ldap.h>

#define MAX_THREADS    256
#define MAX_SECONDS    3600.0
#define PAGE_SIZE      8  /* lib/dir_ldap.c DIR_PAGE_SIZE */
#define SIZE_LIMIT     17 /* SM_MAX_ACCOUNTS + 1, as strongmapd asks */
#define MAX_PAGES      18 /* SM_MAX_ACCOUNTS + 2 */
#define OP_TIMEOUT_S   10 /* per search */
#define NTAUTH_PREFIX  "CN=NTAuthCertificates,CN=Public Key Services,CN=Services,CN=Configuration,"
#define ACCOUNT_FILTER "(|(objectClass=user)(objectClass=computer))"
#define ERR_LEN        512
#define MAX_TIMED      1000000 /* --latency: verdicts timed at most */

/* DIR_ATTRS_INIT of lib/dir_internal.h */
static char *attrs[] = { "objectClass",
                         "objectSid",
                         "sAMAccountName",
                         "userPrincipalName",
                         "dNSHostName",
                         "userAccountControl",
                         "whenCreated",
                         "altSecurityIdentities",
                         "userCertificate",
                         "cACertificate",
                         NULL };

struct opts {
    const char *uri;
    const char *base;
    const char *upn;
    int threads;
    double seconds;
    bool paged;
    int searches; /* 1: the account search; 2: then the NTAuth store */
    bool latency; /* time each verdict (one thread) */
};

struct shared {
    const struct opts *o;
    char *filter;    /* the account search's filter */
    char *ntauth_dn; /* the NTAuth store's DN */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready; /* threads done with setup() */
    bool go;   /* the start signal; with it abort and deadline are set */
    bool abort;
    struct timespec deadline;
};

struct worker {
    pthread_t tid;
    struct shared *sh;
    LDAP *ld;
    unsigned long long verdicts;
    unsigned long long bytes; /* attribute bytes read, so that reading is not idle */
    struct timespec end;
    double *ms; /* --latency: each verdict's time */
    size_t n_ms;
    int rc;
    char err[ERR_LEN];
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ldap_client --uri URI --base DN --upn NAME [--threads N] [--seconds S] "
               "[--paged]\n"
               "                   [--searches 1|2] [--latency]\n"
               "  the LDAP searches of one strongmapd verdict (UPN search, then the NTAuth read\n"
               "  unless --searches 1) in a loop; one JSON line on stdout. Defaults: --threads 1,\n"
               "  --seconds 3, --searches 2. --latency: one thread, each verdict timed.\n");
}

static void now(struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
}

static bool before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static double diff_s(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Record @what and libldap's message for @rc (and the server's diagnostic) in @w. */
static int fail(struct worker *w, const char *what, int rc)
{
    char *diag = NULL;
    if (w->ld)
        ldap_get_option(w->ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    snprintf(w->err, sizeof(w->err), "%s: %s%s%s", what, ldap_err2string(rc),
             diag && *diag ? ": " : "", diag && *diag ? diag : "");
    ldap_memfree(diag);
    w->rc = -EIO;
    return w->rc;
}

/* Read every entry of @res: its DN and every value of every attribute. The number of entries
   goes to *@entries; the paged-results cookie (with @cookie non-NULL) to *@cookie. */
static int read_result(struct worker *w, LDAPMessage *res, size_t *entries, struct berval *cookie)
{
    LDAP *ld = w->ld;
    LDAPControl **rctrls = NULL;
    int rc;

    for (LDAPMessage *m = ldap_first_message(ld, res); m; m = ldap_next_message(ld, m)) {
        int type = ldap_msgtype(m);
        if (type == LDAP_RES_SEARCH_ENTRY) {
            BerElement *ber = NULL;
            char *dn = ldap_get_dn(ld, m);
            if (!dn)
                return fail(w, "entry without a DN", LDAP_DECODING_ERROR);
            w->bytes += strlen(dn);
            ldap_memfree(dn);
            for (char *a = ldap_first_attribute(ld, m, &ber); a;
                 a = ldap_next_attribute(ld, m, ber)) {
                struct berval **vals = ldap_get_values_len(ld, m, a);
                for (size_t i = 0; vals && vals[i]; i++)
                    w->bytes += vals[i]->bv_len;
                ldap_value_free_len(vals);
                ldap_memfree(a);
            }
            ber_free(ber, 0);
            (*entries)++;
        } else if (type == LDAP_RES_SEARCH_RESULT && cookie) {
            /* the result code is ldap_search_ext_s()'s; here only the controls count */
            int code = LDAP_SUCCESS;
            if ((rc = ldap_parse_result(ld, m, &code, NULL, NULL, NULL, &rctrls, 0)) !=
                LDAP_SUCCESS)
                return fail(w, "cannot parse a search result", rc);
        }
    }
    if (cookie) {
        LDAPControl *c = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL);
        ber_int_t estimate = 0;
        if (c && ldap_parse_pageresponse_control(ld, c, &estimate, cookie) != LDAP_SUCCESS)
            cookie->bv_len = 0;
    }
    ldap_controls_free(rctrls);
    return 0;
}

/* One search, the entries counted in *@entries. noSuchObject is an answer (no entries) when
   @may_lack: the NTAuth store may be missing, as strongmapd allows; the search base may not. */
static int search(struct worker *w, const char *base, int scope, const char *filter, bool paged,
                  bool may_lack, size_t *entries)
{
    struct berval cookie = { 0, NULL };
    int rc = 0;

    *entries = 0;
    for (int page = 0; page < MAX_PAGES; page++) {
        LDAPControl *pctrl = NULL, *sctrls[2] = { NULL, NULL };
        LDAPMessage *res = NULL;
        struct timeval tv = { OP_TIMEOUT_S, 0 };

        if (paged) {
            if ((rc = ldap_create_page_control(w->ld, PAGE_SIZE, &cookie, 0, &pctrl)) !=
                LDAP_SUCCESS) {
                rc = fail(w, "cannot create the paged-results control", rc);
                goto out;
            }
            sctrls[0] = pctrl;
        }
        rc = ldap_search_ext_s(w->ld, base, scope, filter, attrs, 0, paged ? sctrls : NULL, NULL,
                               &tv, SIZE_LIMIT, &res);
        ldap_control_free(pctrl);
        if (rc != LDAP_SUCCESS && !(rc == LDAP_NO_SUCH_OBJECT && may_lack)) {
            ldap_msgfree(res);
            rc = fail(w, rc == LDAP_NO_SUCH_OBJECT ? "search base" : "search failed", rc);
            goto out;
        }
        ber_memfree(cookie.bv_val);
        cookie = (struct berval){ 0, NULL };
        rc = read_result(w, res, entries, paged ? &cookie : NULL);
        ldap_msgfree(res);
        if (rc < 0 || cookie.bv_len == 0)
            goto out;
    }
    snprintf(w->err, sizeof(w->err), "more than %d pages of results", MAX_PAGES);
    rc = w->rc = -E2BIG;
out:
    ber_memfree(cookie.bv_val);
    return rc;
}

/* One verdict's searches; *@accounts: entries the account search found. */
static int verdict(struct worker *w, size_t *accounts)
{
    const struct shared *sh = w->sh;
    size_t n = 0;
    int rc = search(w, sh->o->base, LDAP_SCOPE_SUBTREE, sh->filter, sh->o->paged, false, accounts);
    if (rc < 0 || sh->o->searches == 1)
        return rc;
    return search(w, sh->ntauth_dn, LDAP_SCOPE_BASE, "(objectClass=*)", false, true, &n);
}

/* Connect, bind anonymously and run one verdict, which must find the account. */
static int setup(struct worker *w)
{
    const struct opts *o = w->sh->o;
    int v3 = LDAP_VERSION3, never = LDAP_DEREF_NEVER, rc;
    struct berval empty = { 0, NULL };
    size_t accounts = 0;

    if ((rc = ldap_initialize(&w->ld, o->uri)) != LDAP_SUCCESS) {
        w->ld = NULL;
        return fail(w, o->uri, rc);
    }
    if (ldap_set_option(w->ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
        ldap_set_option(w->ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
        ldap_set_option(w->ld, LDAP_OPT_DEREF, &never) != LDAP_OPT_SUCCESS)
        return fail(w, "cannot set the LDAP options", LDAP_OTHER);
    if ((rc = ldap_sasl_bind_s(w->ld, NULL, LDAP_SASL_SIMPLE, &empty, NULL, NULL, NULL)) !=
        LDAP_SUCCESS)
        return fail(w, "anonymous bind failed", rc);
    if ((rc = verdict(w, &accounts)) < 0)
        return rc;
    if (accounts == 0) {
        snprintf(w->err, sizeof(w->err), "no account has userPrincipalName %s under %s", o->upn,
                 o->base);
        return w->rc = -ENOENT;
    }
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *sh = w->sh;
    size_t accounts;

    setup(w);
    pthread_mutex_lock(&sh->lock);
    sh->ready++;
    pthread_cond_broadcast(&sh->cond);
    while (!sh->go)
        pthread_cond_wait(&sh->cond, &sh->lock);
    bool abort = sh->abort;
    pthread_mutex_unlock(&sh->lock);
    if (abort || w->rc < 0)
        return NULL;
    for (;;) {
        struct timespec t0;
        now(&t0);
        if (verdict(w, &accounts) < 0)
            break;
        w->verdicts++;
        now(&w->end);
        if (w->ms && w->n_ms < MAX_TIMED)
            w->ms[w->n_ms++] = diff_s(&t0, &w->end) * 1e3;
        if (!before(&w->end, &sh->deadline))
            break;
    }
    return NULL;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -EINVAL;
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        { "uri", required_argument, NULL, 'u' },      { "base", required_argument, NULL, 'b' },
        { "upn", required_argument, NULL, 'n' },      { "threads", required_argument, NULL, 't' },
        { "seconds", required_argument, NULL, 's' },  { "paged", no_argument, NULL, 'p' },
        { "searches", required_argument, NULL, 'S' }, { "latency", no_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },           { NULL, 0, NULL, 0 }
    };
    long n;
    char *end;
    int c;

    *o = (struct opts){ .threads = 1, .seconds = 3.0, .searches = 2 };
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'u': o->uri = optarg; break;
        case 'b': o->base = optarg; break;
        case 'n': o->upn = optarg; break;
        case 't':
            if (parse_int(optarg, 1, MAX_THREADS, &n) < 0) {
                fprintf(stderr, "ldap_client: --threads must be 1..%d\n", MAX_THREADS);
                return -EINVAL;
            }
            o->threads = (int)n;
            break;
        case 's':
            errno = 0;
            o->seconds = strtod(optarg, &end);
            if (errno || end == optarg || *end || !(o->seconds > 0 && o->seconds <= MAX_SECONDS)) {
                fprintf(stderr, "ldap_client: --seconds must be a number in (0, %.0f]\n",
                        MAX_SECONDS);
                return -EINVAL;
            }
            break;
        case 'p': o->paged = true; break;
        case 'S':
            if (parse_int(optarg, 1, 2, &n) < 0) {
                fprintf(stderr, "ldap_client: --searches must be 1 or 2\n");
                return -EINVAL;
            }
            o->searches = (int)n;
            break;
        case 'l': o->latency = true; break;
        case 'h': usage(stdout); exit(0);
        default: return -EINVAL;
        }
    }
    if (optind != argc || !o->uri || !o->base || !o->upn) {
        if (optind != argc)
            fprintf(stderr, "ldap_client: unexpected argument %s\n", argv[optind]);
        else
            fprintf(stderr, "ldap_client: --uri, --base and --upn are required\n");
        return -EINVAL;
    }
    if (o->latency && o->threads != 1) {
        fprintf(stderr, "ldap_client: --latency times one thread's verdicts\n");
        return -EINVAL;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The @p-th percentile of the sorted @v (nearest rank). */
static double percentile(const double *v, size_t n, double p)
{
    double rank = p / 100.0 * (double)n;
    size_t k = (size_t)rank;
    if ((double)k < rank)
        k++;
    if (k < 1)
        k = 1;
    return n ? v[(k > n ? n : k) - 1] : 0.0;
}

/* The account search's filter, as lib/dir_ldap.c ldap_find_eq() builds it for one value. */
static int make_filter(const char *upn, char **ret)
{
    struct berval in = { strlen(upn), (char *)(uintptr_t)upn }, esc = { 0, NULL };
    if (ldap_bv2escaped_filter_value(&in, &esc) != 0)
        return -ENOMEM;
    size_t len = strlen("(&" ACCOUNT_FILTER "(|(userPrincipalName=))))") + esc.bv_len + 1;
    char *f = malloc(len);
    if (f)
        snprintf(f, len, "(&" ACCOUNT_FILTER "(|(userPrincipalName=%s)))", esc.bv_val);
    ber_memfree(esc.bv_val);
    if (!f)
        return -ENOMEM;
    *ret = f;
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o;
    struct shared sh = { .o = &o,
                         .lock = PTHREAD_MUTEX_INITIALIZER,
                         .cond = PTHREAD_COND_INITIALIZER };
    struct worker *w = NULL;
    struct timespec start, end;
    unsigned long long verdicts = 0;
    int v3 = LDAP_VERSION3, started = 0, ret = 1;

    if (parse_args(argc, argv, &o) < 0) {
        usage(stderr);
        return 2;
    }
    /* libldap's global options are initialised here, before any thread uses libldap */
    if (ldap_set_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS) {
        fprintf(stderr, "ldap_client: cannot initialise libldap\n");
        return 1;
    }
    size_t dnlen = strlen(NTAUTH_PREFIX) + strlen(o.base) + 1;
    if (make_filter(o.upn, &sh.filter) < 0 || !(sh.ntauth_dn = malloc(dnlen)) ||
        !(w = calloc((size_t)o.threads, sizeof(*w))) ||
        (o.latency && !(w[0].ms = calloc(MAX_TIMED, sizeof(double))))) {
        fprintf(stderr, "ldap_client: out of memory\n");
        goto out;
    }
    snprintf(sh.ntauth_dn, dnlen, "%s%s", NTAUTH_PREFIX, o.base);

    for (; started < o.threads; started++) {
        w[started].sh = &sh;
        if (pthread_create(&w[started].tid, NULL, worker_main, &w[started]) != 0) {
            fprintf(stderr, "ldap_client: cannot start thread %d\n", started + 1);
            sh.abort = true;
            break;
        }
    }
    /* every thread that runs has connected and checked the account: start them together */
    pthread_mutex_lock(&sh.lock);
    while (sh.ready < started)
        pthread_cond_wait(&sh.cond, &sh.lock);
    for (int i = 0; i < started && !sh.abort; i++) {
        if (w[i].rc < 0) {
            fprintf(stderr, "ldap_client: %s\n", w[i].err);
            sh.abort = true;
        }
    }
    now(&start);
    double whole = (double)(time_t)o.seconds;
    sh.deadline.tv_sec = start.tv_sec + (time_t)whole;
    sh.deadline.tv_nsec = start.tv_nsec + (long)((o.seconds - whole) * 1e9);
    if (sh.deadline.tv_nsec >= 1000000000L) {
        sh.deadline.tv_sec++;
        sh.deadline.tv_nsec -= 1000000000L;
    }
    sh.go = true;
    pthread_cond_broadcast(&sh.cond);
    pthread_mutex_unlock(&sh.lock);
    for (int i = 0; i < started; i++)
        pthread_join(w[i].tid, NULL);
    if (sh.abort)
        goto out;

    end = start;
    for (int i = 0; i < o.threads; i++) {
        if (w[i].rc < 0) {
            fprintf(stderr, "ldap_client: %s\n", w[i].err);
            goto out;
        }
        verdicts += w[i].verdicts;
        if (before(&end, &w[i].end))
            end = w[i].end;
    }
    double secs = diff_s(&start, &end);
    printf("{\"tool\":\"ldap_client\",\"threads\":%d,\"verdicts\":%llu,\"seconds\":%.3f,"
           "\"verdicts_per_s\":%llu,\"searches_per_verdict\":%d",
           o.threads, verdicts, secs,
           secs > 0 ? (unsigned long long)((double)verdicts / secs + 0.5) : 0ULL, o.searches);
    if (o.latency) {
        if (w[0].n_ms) /* no sample: ms may be NULL */
            qsort(w[0].ms, w[0].n_ms, sizeof(double), cmp_double);
        printf(",\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"min\":%.3f}",
               percentile(w[0].ms, w[0].n_ms, 50), percentile(w[0].ms, w[0].n_ms, 90),
               percentile(w[0].ms, w[0].n_ms, 99), w[0].n_ms ? w[0].ms[0] : 0.0);
    }
    printf("}\n");
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ldap_client: cannot write the result\n");
        goto out;
    }
    ret = 0;
out:
    for (int i = 0; w && i < o.threads; i++) {
        if (w[i].ld)
            ldap_unbind_ext_s(w[i].ld, NULL, NULL);
        free(w[i].ms);
    }
    free(w);
    free(sh.ntauth_dn);
    free(sh.filter);
    return ret;
}

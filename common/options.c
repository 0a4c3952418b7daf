/*
 * common/options.c - directory flags, profiles, what-if overrides, times and the password file,
 * shared by strongmapd, api/ and the strongmap CLI (see options.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "su_dec.h"
#include "su_time.h"

/* Fill @e (may be NULL; its origin stays the caller's): @field (static) and the text of @fmt.
 * Returns @r. */
static int vfail(struct sm_errinfo *e, int r, const char *field, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static int vfail(struct sm_errinfo *e, int r, const char *field, const char *fmt, va_list ap)
{
    if (e) {
        e->field = field;
        vsnprintf(e->text, sizeof(e->text), fmt, ap);
    }
    return r;
}

static int fail(struct sm_errinfo *e, int r, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct sm_errinfo *e, int r, const char *field, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vfail(e, r, field, fmt, ap);
    va_end(ap);
    return r;
}

/* The same for the command-line flag @flag ("--ldif", static): origin argument, -EINVAL. */
static int fail_flag(struct sm_errinfo *e, const char *flag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail_flag(struct sm_errinfo *e, const char *flag, const char *fmt, ...)
{
    va_list ap;

    if (e)
        e->origin = SM_ORIGIN_ARGUMENT;
    va_start(ap, fmt);
    vfail(e, -EINVAL, flag, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool has_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return true;
    return false;
}

/* ---- directory flags ---------------------------------------------------------------------- */

/* @flag: "--ldif" (static) */
static int set_once(const char **slot, const char *flag, const char *arg, struct sm_errinfo *e)
{
    if (*slot)
        return fail_flag(e, flag, "%s given twice", flag);
    if (!arg || !*arg || has_control(arg))
        return fail_flag(e, flag, "%s: empty or has control characters", flag);
    *slot = arg;
    return 0;
}

int opt_dir_set(struct opt_dir *d, int flag, const char *arg, struct sm_errinfo *e)
{
    switch (flag) {
    case OPT_DIR_LDIF: return set_once(&d->ldif, "--ldif", arg, e);
    case OPT_DIR_LDAP_URI:
        if (d->n_uris >= OPT_MAX_LDAP_URIS)
            return fail_flag(e, "--ldap-uri", "--ldap-uri: at most %d URIs", OPT_MAX_LDAP_URIS);
        if (!arg || has_control(arg) || strchr(arg, ' ') ||
            (strncasecmp(arg, "ldap://", 7) != 0 && strncasecmp(arg, "ldaps://", 8) != 0))
            return fail_flag(e, "--ldap-uri",
                             "--ldap-uri: \"%.100s\" is not an ldap:// or ldaps:// URI",
                             arg ? arg : "");
        d->uris[d->n_uris++] = arg;
        return 0;
    case OPT_DIR_LDAP_BASE: return set_once(&d->base, "--ldap-base", arg, e);
    case OPT_DIR_LDAP_BIND_DN: return set_once(&d->bind_dn, "--ldap-bind-dn", arg, e);
    case OPT_DIR_LDAP_PASSWORD_FILE:
        return set_once(&d->password_file, "--ldap-password-file", arg, e);
    case OPT_DIR_LDAP_CA_FILE: return set_once(&d->ca_file, "--ldap-ca-file", arg, e);
    case OPT_DIR_LDAP_STARTTLS: d->starttls = true; return 0;
    case OPT_DIR_LDAP_SASL_MECH:
        if (!arg || strcasecmp(arg, "GSSAPI") != 0)
            return fail_flag(e, "--ldap-sasl-mech", "--ldap-sasl-mech: only GSSAPI is supported");
        return set_once(&d->sasl_mech, "--ldap-sasl-mech", "GSSAPI", e);
    default: return fail_flag(e, NULL, "not a directory flag");
    }
}

bool opt_dir_configured(const struct opt_dir *d)
{
    return d->ldif || d->n_uris;
}

int opt_dir_check(const struct opt_dir *d, struct sm_errinfo *e)
{
    bool ldap_opts =
        d->base || d->bind_dn || d->password_file || d->ca_file || d->sasl_mech || d->starttls;

    if (d->ldif && d->n_uris)
        return fail_flag(e, "--ldap-uri", "--ldif and --ldap-uri exclude each other");
    if (!d->n_uris && ldap_opts)
        return fail_flag(e, "--ldap-uri", "the --ldap-* options need --ldap-uri");
    if (d->n_uris && !d->base)
        return fail_flag(e, "--ldap-base", "--ldap-uri needs --ldap-base (the domain's DN)");
    if (!d->bind_dn != !d->password_file)
        return fail_flag(e, d->bind_dn ? "--ldap-password-file" : "--ldap-bind-dn",
                         "--ldap-bind-dn and --ldap-password-file go together");
    if (d->bind_dn && d->sasl_mech)
        return fail_flag(e, "--ldap-sasl-mech",
                         "--ldap-bind-dn (simple bind) and --ldap-sasl-mech exclude each other");
    return 0;
}

int opt_read_password(const char *path, opt_file_check *check, void *arg, char **ret,
                      struct sm_errinfo *e)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int fd, r;

    /* O_NONBLOCK: a FIFO does not hang the open (it is refused below); a regular file's reads
       ignore it */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        r = -errno;
        return fail(e, r, NULL, "%s: %s", path, strerror(-r));
    }
    if (fstat(fd, &st) < 0) {
        r = -errno;
        fail(e, r, NULL, "%s: %s", path, strerror(-r));
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > OPT_PASSWORD_MAX) {
        r = fail(e, -EINVAL, NULL, "%s: not a regular file of at most %d bytes", path,
                 OPT_PASSWORD_MAX);
        goto out;
    }
    if (check && (r = check(&st, path, arg, e)) < 0)
        goto out;
    buf = malloc(OPT_PASSWORD_MAX + 2);
    if (!buf) {
        r = fail(e, -ENOMEM, NULL, "out of memory");
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, OPT_PASSWORD_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            fail(e, r, NULL, "%s: %s", path, strerror(-r));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len > OPT_PASSWORD_MAX) {
            r = fail(e, -EINVAL, NULL, "%s: longer than %d bytes", path, OPT_PASSWORD_MAX);
            goto out;
        }
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    buf[len] = '\0';
    if (len == 0 || memchr(buf, '\0', len)) {
        r = fail(e, -EINVAL, NULL, "%s: the password is empty or holds a NUL byte", path);
        goto out;
    }
    *ret = buf;
    buf = NULL;
    r = 0;
out:
    if (buf) {
        explicit_bzero(buf, OPT_PASSWORD_MAX + 2);
        free(buf);
    }
    close(fd);
    return r;
}

char *opt_password_free(char *password)
{
    if (password) {
        explicit_bzero(password, strlen(password));
        free(password);
    }
    return NULL;
}

/* A readiness probe's deadline: OPT_PROBE_TIMEOUT_MS, or the configured one when shorter. */
static unsigned probe_ms(unsigned configured)
{
    return configured && configured < OPT_PROBE_TIMEOUT_MS ? configured : OPT_PROBE_TIMEOUT_MS;
}

int opt_dir_open(const struct opt_dir *d, const char *password, bool probe, struct sm_dir **ret,
                 struct sm_errinfo *reterr)
{
    struct sm_ldap_config cfg;

    if (d->ldif)
        return sm_dir_open_ldif(d->ldif, ret, reterr);
    cfg = (struct sm_ldap_config){
        .uris = d->uris,
        .n_uris = d->n_uris,
        .base = d->base,
        .bind_dn = d->bind_dn,
        .password = password,
        .sasl_mech = d->sasl_mech,
        .ca_file = d->ca_file,
        .starttls = d->starttls,
        .connect_timeout_ms = d->connect_timeout_ms,
        .op_timeout_ms = d->op_timeout_ms,
        .tls_timeout_ms = d->tls_timeout_ms,
    };
    if (probe) {
        cfg.connect_timeout_ms = probe_ms(d->connect_timeout_ms);
        cfg.op_timeout_ms = probe_ms(d->op_timeout_ms);
        cfg.tls_timeout_ms = probe_ms(d->tls_timeout_ms);
    }
    return sm_dir_open_ldap(&cfg, ret, reterr);
}

/* ---- profiles and what-ifs ---------------------------------------------------------------- */

int opt_profile_add(struct opt_profiles *p, const char *name, struct sm_errinfo *e)
{
    struct sm_errinfo pe = SM_ERRINFO_INIT;

    if (p->n >= SM_MAX_PROFILES)
        return fail(e, -EINVAL, "profile", "at most %d profiles", SM_MAX_PROFILES);
    if (sm_profile_parse(name, &p->v[p->n], &pe) < 0)
        return fail(e, -EINVAL, "profile", "%s", pe.text);
    p->n++;
    return 0;
}

int opt_whatif_apply(struct opt_profiles *p, const struct opt_whatif *w, struct sm_errinfo *e)
{
    for (size_t i = 0; i < p->n; i++) {
        bool samba = p->v[i].kind == SM_PROFILE_SAMBA;

        if (w->mode >= 0 && (w->mode > 2 || (!samba && w->mode < 1)))
            return fail(e, -EINVAL, "mode",
                        "mode %d does not suit profile %s (Windows: 1 or 2, Samba: 0 to 2)",
                        w->mode, sm_profile_name(p->v[i].kind));
    }
    if (w->backdating_s > OPT_BACKDATING_MAX)
        return fail(e, -EINVAL, "backdating", "backdating must be 0..%lld seconds",
                    OPT_BACKDATING_MAX);
    for (size_t i = 0; i < p->n; i++) {
        if (w->mode >= 0)
            p->v[i].mode = w->mode;
        if (w->backdating_s >= 0)
            p->v[i].backdating_s = (long)w->backdating_s;
    }
    return 0;
}

/* ---- numbers and times -------------------------------------------------------------------- */

int opt_parse_ull(const char *s, unsigned long long max, unsigned long long *ret)
{
    uint64_t v;

    if (su_dec_u64(s, strlen(s), max, NULL, &v) < 0)
        return -EINVAL;
    *ret = v;
    return 0;
}

int opt_parse_time(const char *s, time_t *ret)
{
    int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
    long long t;

    /* YYYY-MM-DDTHH:MM:SS */
    if (strlen(s) < 19 || !su_dec_fixed(s, 4, &y) || s[4] != '-' || !su_dec_fixed(s + 5, 2, &mo) ||
        s[7] != '-' || !su_dec_fixed(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !su_dec_fixed(s + 11, 2, &h) || s[13] != ':' || !su_dec_fixed(s + 14, 2, &mi) ||
        s[16] != ':' || !su_dec_fixed(s + 17, 2, &sec))
        return -EINVAL;
    s += 19;
    if (*s == '.') {
        if (s[1] < '0' || s[1] > '9')
            return -EINVAL;
        for (s++; *s >= '0' && *s <= '9'; s++)
            ;
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        if (!su_dec_fixed(s + 1, 2, &oh) || s[3] != ':' || !su_dec_fixed(s + 4, 2, &om) ||
            oh > 23 || om > 59)
            return -EINVAL;
        s += 6;
    }
    if (*s || y < 1970 || mo < 1 || mo > 12 || d < 1 ||
        (unsigned)d > su_days_in_month(y, (unsigned)mo) || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    if (sec == 60) /* a leap second: the instant after :59 */
        sec = 59;
    t = su_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
    t -= sign * (oh * 3600 + om * 60);
    if (t <= 0)
        return -EINVAL;
    *ret = (time_t)t;
    return 0;
}

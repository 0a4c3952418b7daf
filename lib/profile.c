/*
 * lib/profile.c - DC profiles: their names, their options, and what a DC of a given update
 * level does by default (docs/mapping-rules.md 2.2 and 5).
 *
 * A profile is a kind (Windows Server 2016, 2019, 2022/2025, Samba 4.24) plus the settings an
 * administrator or Microsoft's monthly updates control. Every option defaults to a fully
 * patched DC with default settings; "fully patched" means every update released by the
 * evaluation time, so the time-dependent defaults follow the request's "at".
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <strongmap/verdict.h>

#include "util.h"
#include "verdict_internal.h"

static const char *const profile_names[] = { "windows-2016", "windows-2019", "windows-2022",
                                             "samba" };

const char *sm_profile_name(enum sm_profile_kind kind)
{
    return (unsigned)kind < ARRAY_SIZE(profile_names) ? profile_names[kind] : "unknown";
}

void sm_profile_default(enum sm_profile_kind kind, struct sm_profile *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->kind = kind;
    ret->mode = SM_MODE_DEFAULT;
    ret->backdating_s = -1;
    ret->use_subject_alt_name = true;
    ret->update = 0;
    ret->ntauth_bypass = SM_NTAUTH_DEFAULT;
}

/* ---- the update timeline (Microsoft's release days, 00:00 UTC) ---------------------------- */

static time_t day(int y, unsigned m, unsigned d)
{
    return (time_t)(su_days_from_civil(y, m, d) * 86400);
}

/* KB5014754: strong mapping checks and the SID extension (compatibility mode by default). */
#define KB5014754_DAY day(2022, 5, 10)
/* KB5014754: full enforcement becomes the default. */
#define FULL_DEFAULT_DAY day(2025, 2, 11)
/* KB5014754: StrongCertificateBindingEnforcement = 1 no longer read; X509IssuerSID added for
 * Windows Server 2022 and later (Microsoft Public Sector blog, 2025-09-15). */
#define ENFORCE_ONLY_DAY day(2025, 9, 9)
/* The last monthly update before ENFORCE_ONLY_DAY: what a compatibility-mode what-if runs. */
#define LAST_COMPAT_DAY day(2025, 8, 12)
/* KB5057784 (CVE-2025-26647): NTAuth for explicit mappings, audit / enforced by default /
 * AllowNtAuthPolicyBypass no longer read. */
#define NTAUTH_AUDIT_DAY    day(2025, 4, 8)
#define NTAUTH_ENFORCE_DAY  day(2025, 7, 8)
#define NTAUTH_REQUIRED_DAY day(2025, 10, 14)

#define WINDOWS_BACKDATING_DEFAULT 600 /* seconds (KB5014754) */
#define SAMBA_BACKDATING_DEFAULT   0   /* minutes in smb.conf; 0 either way */

/* ---- parsing -------------------------------------------------------------------------------- */

static bool key_is(const char *k, size_t klen, const char *a, const char *b)
{
    return ascii_caseeq(k, klen, a, strlen(a)) || (b && ascii_caseeq(k, klen, b, strlen(b)));
}

/* A non-negative decimal integer of at most @max, in 1 to 12 digits. */
static bool parse_num(const char *s, size_t len, long max, long *ret)
{
    uint64_t v;
    if (len > 12 || su_dec_u64(s, len, (uint64_t)max, NULL, &v) < 0)
        return false;
    *ret = (long)v;
    return true;
}

/* YYYY-MM-DD, a real day of years 2000-2099, as its 00:00 UTC. */
static bool parse_day(const char *s, size_t len, time_t *ret)
{
    long y, m, d;
    if (len != 10 || s[4] != '-' || s[7] != '-' || !parse_num(s, 4, 2099, &y) ||
        !parse_num(s + 5, 2, 12, &m) || !parse_num(s + 8, 2, 31, &d) || y < 2000 || m < 1 || d < 1)
        return false;
    if ((unsigned long)d > su_days_in_month(y, (unsigned)m))
        return false;
    *ret = day((int)y, (unsigned)m, (unsigned)d);
    return true;
}

static int opt_fail(struct sm_errinfo *e, const char *spec, const char *at, const char *fmt, ...)
    SM_PRINTF(4, 5);

static int opt_fail(struct sm_errinfo *e, const char *spec, const char *at, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    errinfo_set(e, (long)(at - spec), "profile: %s", msg);
    return -EINVAL;
}

#define CLIP(n) ((int)((n) > 40 ? 40 : (n))) /* bytes of client text quoted in a message */

/* One ",key=value" option of @p. */
static int parse_option(struct sm_profile *p, const char *spec, const char *opt, size_t len,
                        struct sm_errinfo *e)
{
    const char *eq = memchr(opt, '=', len);
    bool samba = p->kind == SM_PROFILE_SAMBA;
    long n;

    if (!eq || eq == opt)
        return opt_fail(e, spec, opt, "option \"%.*s\" is not key=value", CLIP(len), opt);
    size_t klen = (size_t)(eq - opt), vlen = len - klen - 1;
    const char *v = eq + 1;

    if (key_is(opt, klen, "mode", "StrongCertificateBindingEnforcement")) {
        if (samba && (ascii_caseeq(v, vlen, "none", 4) || ascii_caseeq(v, vlen, "0", 1)))
            p->mode = 0;
        else if (samba && ascii_caseeq(v, vlen, "compatibility", 13))
            p->mode = 1;
        else if (samba && ascii_caseeq(v, vlen, "full", 4))
            p->mode = 2;
        else if (parse_num(v, vlen, 2, &n) && n >= 1)
            p->mode = (int)n;
        else
            return opt_fail(e, spec, v,
                            samba ? "mode \"%.*s\": none, compatibility or full (0, 1, 2)"
                                  : "mode \"%.*s\": 1 (compatibility) or 2 (full enforcement)",
                            CLIP(vlen), v);
        return 0;
    }
    if (key_is(opt, klen, "backdating", "CertificateBackdatingCompensation")) {
        if (!parse_num(v, vlen, SM_BACKDATING_MAX, &n))
            return opt_fail(e, spec, v, "backdating \"%.*s\": seconds, 0 or more", CLIP(vlen), v);
        p->backdating_s = n;
        return 0;
    }
    if (samba)
        return opt_fail(e, spec, opt,
                        "option \"%.*s\" does not apply to samba (mode, backdating only)",
                        CLIP(klen), opt);
    if (key_is(opt, klen, "update", NULL)) {
        if (ascii_caseeq(v, vlen, "current", 7))
            p->update = 0;
        else if (!parse_day(v, vlen, &p->update))
            return opt_fail(e, spec, v, "update \"%.*s\": YYYY-MM-DD or current", CLIP(vlen), v);
        else if (p->update < KB5014754_DAY)
            return opt_fail(e, spec, v,
                            "update \"%.*s\": DCs without KB5014754 (2022-05-10) are not "
                            "modelled",
                            CLIP(vlen), v);
        return 0;
    }
    if (key_is(opt, klen, "UseSubjectAltName", "use_subject_alt_name")) {
        if (!parse_num(v, vlen, 1, &n))
            return opt_fail(e, spec, v, "UseSubjectAltName \"%.*s\": 0 or 1", CLIP(vlen), v);
        p->use_subject_alt_name = n == 1;
        return 0;
    }
    if (key_is(opt, klen, "AllowNtAuthPolicyBypass", "ntauth_bypass")) {
        if (!parse_num(v, vlen, 2, &n))
            return opt_fail(e, spec, v, "AllowNtAuthPolicyBypass \"%.*s\": 0, 1 or 2", CLIP(vlen),
                            v);
        p->ntauth_bypass = (int)n;
        return 0;
    }
    return opt_fail(e, spec, opt,
                    "unknown option \"%.*s\" (mode, backdating, update, UseSubjectAltName, "
                    "AllowNtAuthPolicyBypass)",
                    CLIP(klen), opt);
}

int sm_profile_parse(const char *spec, struct sm_profile *ret, struct sm_errinfo *reterr)
{
    struct sm_profile p;
    size_t len, nlen;
    int r;

    if (!spec || !ret) {
        errinfo_set(reterr, -1, "profile: none given");
        return -EINVAL;
    }
    len = strnlen(spec, SM_PROFILE_SPEC_MAX + 1);
    if (len > SM_PROFILE_SPEC_MAX) {
        errinfo_set(reterr, -1, "profile: longer than %d bytes", SM_PROFILE_SPEC_MAX);
        return -EINVAL;
    }
    nlen = strcspn(spec, ",");
    bool found = false;
    for (size_t i = 0; i < ARRAY_SIZE(profile_names) && !found; i++)
        if (ascii_caseeq(spec, nlen, profile_names[i], strlen(profile_names[i]))) {
            sm_profile_default((enum sm_profile_kind)i, &p);
            found = true;
        }
    if (!found && ascii_caseeq(spec, nlen, "windows-2025", 12)) {
        sm_profile_default(SM_PROFILE_WINDOWS_2022, &p);
        found = true;
    }
    if (!found) {
        char msg[80];
        snprintf(msg, sizeof(msg), "%.*s", (int)(nlen > 40 ? 40 : nlen), spec);
        errinfo_set(reterr, 0,
                    "unknown profile \"%s\" (windows-2016, windows-2019, windows-2022, "
                    "windows-2025, samba)",
                    msg);
        return -EINVAL;
    }
    for (const char *o = spec + nlen; *o;) {
        o++; /* the ',' */
        size_t olen = strcspn(o, ",");
        if ((r = parse_option(&p, spec, o, olen, reterr)) < 0)
            return r;
        o += olen;
    }
    *ret = p;
    return 0;
}

static void fmt_day(time_t t, char *buf, size_t size)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d", &tm);
}

char *profile_day(time_t t, char *buf, size_t size)
{
    fmt_day(t, buf, size);
    return buf;
}

/* Append to the text @t (@len bytes of @cap so far); what does not fit is cut. */
static void text_add(char *t, size_t *len, size_t cap, const char *fmt, ...) SM_PRINTF(4, 5);

static void text_add(char *t, size_t *len, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0)
        *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

/* Without an allocation: no failure can cut the options off the text (it used a heap buffer). */
char *sm_profile_format(const struct sm_profile *p, char *buf, size_t size)
{
    char t[2 * SM_PROFILE_TEXT_MAX], d[16];
    size_t len = 0;

    text_add(t, &len, sizeof(t), "%s", sm_profile_name(p->kind));
    if (p->mode != SM_MODE_DEFAULT)
        text_add(t, &len, sizeof(t), ",mode=%d", p->mode);
    if (p->backdating_s >= 0)
        text_add(t, &len, sizeof(t), ",backdating=%ld", p->backdating_s);
    if (p->kind != SM_PROFILE_SAMBA) {
        if (p->update) {
            fmt_day(p->update, d, sizeof(d));
            text_add(t, &len, sizeof(t), ",update=%s", d);
        }
        if (!p->use_subject_alt_name)
            text_add(t, &len, sizeof(t), ",UseSubjectAltName=0");
        if (p->ntauth_bypass != SM_NTAUTH_DEFAULT)
            text_add(t, &len, sizeof(t), ",AllowNtAuthPolicyBypass=%d", p->ntauth_bypass);
    }
    snprintf(buf, size, "%s", t);
    return buf;
}

/* ---- what a DC of an update level does ------------------------------------------------------ */

int profile_resolve(const struct sm_profile *in, time_t at, struct profile_eval *out,
                    struct sm_errinfo *reterr)
{
    struct sm_profile *p = &out->p;

    memset(out, 0, sizeof(*out));
    *p = *in;
    if (in->kind == SM_PROFILE_SAMBA) {
        if (p->mode == SM_MODE_DEFAULT)
            p->mode = 2;
        if (p->backdating_s < 0)
            p->backdating_s = SAMBA_BACKDATING_DEFAULT;
        if (p->mode < 0 || p->mode > 2) {
            errinfo_set(reterr, -1, "profile samba: mode %d (0, 1 or 2)", p->mode);
            return -EINVAL;
        }
        p->update = 0;
        p->use_subject_alt_name = true;
        p->ntauth_bypass = SM_NTAUTH_DEFAULT;
        return 0;
    }

    out->update_given = in->update != 0;
    p->update = in->update ? in->update : at;
    if (p->update < KB5014754_DAY) {
        errinfo_set(reterr, -1,
                    "profile %s: a DC without KB5014754 (released 2022-05-10) is not modelled; "
                    "give an evaluation time or update level from then on",
                    sm_profile_name(in->kind));
        return -EINVAL;
    }
    if (p->mode == SM_MODE_DEFAULT)
        p->mode = p->update >= FULL_DEFAULT_DAY ? 2 : 1;
    if (p->mode < 1 || p->mode > 2) {
        errinfo_set(reterr, -1, "profile %s: mode %d (1 or 2)", sm_profile_name(in->kind), p->mode);
        return -EINVAL;
    }
    if (p->mode == 1 && p->update >= ENFORCE_ONLY_DAY) {
        if (out->update_given) {
            out->compat_ignored = true; /* the DC no longer reads the value */
            p->mode = 2;
        } else {
            p->update = LAST_COMPAT_DAY; /* the what-if: a DC without the 2025-09-09 update */
        }
    }
    out->compat_whatif = p->mode == 1;
    if (p->backdating_s < 0)
        p->backdating_s = WINDOWS_BACKDATING_DEFAULT;

    out->san_uri_sid = in->kind != SM_PROFILE_WINDOWS_2016;
    out->issuer_sid = in->kind == SM_PROFILE_WINDOWS_2022 && p->update >= ENFORCE_ONLY_DAY;

    int v = in->ntauth_bypass, phase;
    if (p->update < NTAUTH_AUDIT_DAY) {
        phase = 0; /* no AllowNtAuthPolicyBypass yet: explicit mappings skip NTAuth */
        out->ntauth_value_ignored = v != SM_NTAUTH_DEFAULT && v != 0;
    } else if (p->update < NTAUTH_ENFORCE_DAY) {
        phase = v == SM_NTAUTH_DEFAULT ? 1 : v;
    } else if (p->update < NTAUTH_REQUIRED_DAY) {
        phase = v == SM_NTAUTH_DEFAULT ? 2 : v == 0 ? 1 : v; /* 0 no longer disables it */
        out->ntauth_value_ignored = v == 0;
    } else {
        phase = 2;
        out->ntauth_value_ignored = v != SM_NTAUTH_DEFAULT && v != 2;
    }
    p->ntauth_bypass = phase;
    return 0;
}

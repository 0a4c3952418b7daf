/*
 * lib/events.c - the KDC events a domain controller logs for certificate logons, read from what
 * Windows exports (docs/explain.md): the fields each event prints, the input's encoding, the
 * reader of the text Event Viewer copies, and the result. The XML reader is lib/events_xml.c.
 *
 * The fields of each event, in the order of the KDC's message table (%1, %2, ...): 39 and 45
 * User, Certificate Subject, Certificate Issuer, Certificate Serial Number, Certificate
 * Thumbprint; 40 adds Certificate Issuance Time and Account Creation Time; 41 adds the
 * account's SID and the certificate's SID; 21 Domain, Username and the chain status.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "events_internal.h"

#define KDC_SOURCE "Microsoft-Windows-Kerberos-Key-Distribution-Center"

/* ---- the fields of each event ------------------------------------------------------------- */

static const signed char order_cert[] = { EV_USER,       EV_SUBJECT, EV_ISSUER, EV_SERIAL,
                                          EV_THUMBPRINT, -1,         -1 };
static const signed char order_40[] = { EV_USER,       EV_SUBJECT, EV_ISSUER, EV_SERIAL,
                                        EV_THUMBPRINT, EV_ISSUED,  EV_CREATED };
static const signed char order_41[] = { EV_USER,       EV_SUBJECT,  EV_ISSUER,  EV_SERIAL,
                                        EV_THUMBPRINT, EV_USER_SID, EV_CERT_SID };
static const signed char order_21[] = { EV_DOMAIN, EV_USER, EV_STATUS, -1, -1, -1, -1 };

bool ev_id_known(unsigned id)
{
    return id == 21 || id == 39 || id == 40 || id == 41 || id == 45;
}

int ev_field_at(unsigned id, size_t pos)
{
    const signed char *order = id == 40   ? order_40
                               : id == 41 ? order_41
                               : id == 21 ? order_21
                                          : order_cert;
    if (pos >= ARRAY_SIZE(order_cert))
        return -1;
    return order[pos];
}

/* The names of the Kdcsvc manifest's data items, and the spellings seen for the others. */
static const struct {
    const char *name;
    int field;
} data_names[] = {
    { "AccountName", EV_USER },        { "UserName", EV_USER },
    { "Username", EV_USER },           { "User", EV_USER },
    { "Domain", EV_DOMAIN },           { "Subject", EV_SUBJECT },
    { "Issuer", EV_ISSUER },           { "SerialNumber", EV_SERIAL },
    { "Thumbprint", EV_THUMBPRINT },   { "Status", EV_STATUS },
    { "UserSid", EV_USER_SID },        { "AccountSid", EV_USER_SID },
    { "CertificateSid", EV_CERT_SID }, { "CertSid", EV_CERT_SID },
};

int ev_field_named(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(data_names); i++)
        if (strcasecmp(name, data_names[i].name) == 0)
            return data_names[i].field;
    return -1;
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

char *ev_trimdup(struct arena *a, const char *p, size_t len)
{
    while (len && is_blank(*p))
        p++, len--;
    while (len && is_blank(p[len - 1]))
        len--;
    return arena_strndup(a, p, len);
}

int ev_add(struct ev_result *r, const struct ev_draft *d, struct sm_errinfo *e)
{
    if (!ev_id_known(d->id)) {
        r->pub.skipped++;
        return 0;
    }
    if (r->pub.n >= SM_MAX_KDC_EVENTS) {
        errinfo_set(e, d->offset, "more than %d KDC events (line %u)", SM_MAX_KDC_EVENTS, d->line);
        return SM_E_TOO_MANY;
    }
    if (r->pub.n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct sm_kdc_event *v = arena_alloc(r->arena, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        if (r->pub.n)
            memcpy(v, r->v, r->pub.n * sizeof(*v));
        r->v = v;
        r->cap = cap;
        r->pub.v = v;
    }
    struct sm_kdc_event *ev = &r->v[r->pub.n++];
    *ev = (struct sm_kdc_event){
        .id = d->id,
        .level = d->level,
        .time = d->time,
        .computer = d->computer,
        .user = d->f[EV_USER],
        .domain = d->f[EV_DOMAIN],
        .subject = d->f[EV_SUBJECT],
        .issuer = d->f[EV_ISSUER],
        .serial = d->f[EV_SERIAL],
        .thumbprint = d->f[EV_THUMBPRINT],
        .issued = d->f[EV_ISSUED],
        .created = d->f[EV_CREATED],
        .user_sid = d->f[EV_USER_SID],
        .cert_sid = d->f[EV_CERT_SID],
        .status = d->f[EV_STATUS],
        .offset = d->offset,
        .line = d->line,
    };
    /* an empty field is an absent one */
    const char **strs[] = { &ev->user,     &ev->domain,     &ev->subject, &ev->issuer,
                            &ev->serial,   &ev->thumbprint, &ev->issued,  &ev->created,
                            &ev->user_sid, &ev->cert_sid,   &ev->status,  &ev->computer,
                            &ev->time,     &ev->level };
    for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
        if (*strs[i] && !**strs[i])
            *strs[i] = NULL;
    return 0;
}

/* ---- the text Event Viewer copies --------------------------------------------------------- */

/* Labels of the message body, matched at the start of a word, case-insensitive. */
static const struct {
    const char *label;
    int field;
} body_labels[] = {
    { "Certificate Serial Number:", EV_SERIAL },
    { "Certificate Thumbprint:", EV_THUMBPRINT },
    { "Certificate Subject:", EV_SUBJECT },
    { "Certificate Issuer:", EV_ISSUER },
    { "Certificate Issuance Time:", EV_ISSUED },
    { "Account Creation Time:", EV_CREATED },
    { "Certificate SID:", EV_CERT_SID },
    { "Account SID:", EV_USER_SID },
    { "User SID:", EV_USER_SID },
    { "User:", EV_USER },
    { "The chain status was :", EV_STATUS },
    { "The chain status was:", EV_STATUS },
};

struct text {
    struct ev_result *r;
    struct sm_errinfo *e;
    struct ev_draft d;
    bool open;        /* a record is being read */
    bool body;        /* after "Description:", or no header at all */
    bool skip;        /* inside "Event Xml:" */
    bool header;      /* the record began with Event Viewer's header */
    bool message;     /* the record's message sentence was seen */
    long line_offset; /* where the current line starts */
};

static int text_flush(struct text *t)
{
    int r = 0;
    if (t->open && (t->d.id || t->message || t->header))
        r = ev_add(t->r, &t->d, t->e);
    t->open = t->body = t->skip = t->header = t->message = false;
    memset(&t->d, 0, sizeof(t->d));
    return r;
}

static int text_open(struct text *t, long offset, unsigned line)
{
    int r = text_flush(t);
    t->open = true;
    t->d.offset = offset;
    t->d.line = line;
    return r;
}

static bool starts_ci(const char *p, size_t len, const char *word)
{
    size_t n = strlen(word);
    return len >= n && strncasecmp(p, word, n) == 0;
}

static const char *find_ci(const char *p, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++)
        if (strncasecmp(p + i, word, n) == 0)
            return p + i;
    return NULL;
}

static int set_field(struct text *t, int field, const char *p, size_t len)
{
    if (t->d.f[field])
        return 0; /* the first one counts */
    if (len > SM_MAX_KDC_FIELD) {
        errinfo_set(t->e, t->line_offset, "a field is longer than %d bytes", SM_MAX_KDC_FIELD);
        return SM_E_TOO_BIG;
    }
    t->d.f[field] = ev_trimdup(t->r->arena, p, len);
    return t->d.f[field] ? 0 : -ENOMEM;
}

/* The message's first sentence: which event it is (the header's Event ID wins). */
static int message_sentence(struct text *t, const char *p, size_t len, long offset, unsigned line)
{
    const char *kdc = find_ci(p, len, "The Key Distribution Center (KDC) encountered");
    const char *c21 = find_ci(p, len, "The client certificate for the user ");
    if (!kdc && !c21)
        return 0;
    int r;
    if ((t->message || (t->open && !t->header && t->d.id)) && (r = text_open(t, offset, line)))
        return r;
    if (!t->open && (r = text_open(t, offset, line)))
        return r;
    t->message = true;
    t->body = true;
    unsigned id = 0;
    if (kdc) {
        size_t rest = len - (size_t)(kdc - p);
        if (find_ci(kdc, rest, "different SID"))
            id = 41;
        else if (find_ci(kdc, rest, "predated"))
            id = 40;
        else if (find_ci(kdc, rest, "NTAuth"))
            id = 45;
        else if (find_ci(kdc, rest, "mapped to a user in a secure way"))
            id = 39;
    } else {
        id = 21;
        const char *u = c21 + strlen("The client certificate for the user ");
        const char *end = find_ci(u, len - (size_t)(u - p), " is not valid");
        if (end) {
            const char *bs = memchr(u, '\\', (size_t)(end - u));
            if (bs && (r = set_field(t, EV_DOMAIN, u, (size_t)(bs - u))) < 0)
                return r;
            const char *name = bs ? bs + 1 : u;
            if ((r = set_field(t, EV_USER, name, (size_t)(end - name))) < 0)
                return r;
        }
    }
    if (!t->d.id)
        t->d.id = id;
    return 0;
}

/* Labelled values on one line of the body: "User: x" or several on one line, as flattened. */
static int body_line(struct text *t, const char *p, size_t len)
{
    struct {
        size_t at, vstart;
        int field;
    } hits[16];
    size_t n = 0;

    for (size_t i = 0; i < len && n < ARRAY_SIZE(hits); i++) {
        if (i && !is_blank(p[i - 1]))
            continue;
        for (size_t k = 0; k < ARRAY_SIZE(body_labels); k++) {
            if (!starts_ci(p + i, len - i, body_labels[k].label))
                continue;
            hits[n].at = i;
            hits[n].vstart = i + strlen(body_labels[k].label);
            hits[n].field = body_labels[k].field;
            n++;
            i += strlen(body_labels[k].label) - 1;
            break;
        }
    }
    for (size_t k = 0; k < n; k++) {
        size_t end = k + 1 < n ? hits[k + 1].at : len;
        int r = set_field(t, hits[k].field, p + hits[k].vstart, end - hits[k].vstart);
        if (r < 0)
            return r;
    }
    return 0;
}

static const char *level_name(struct arena *a, const char *p, size_t len)
{
    char *s = ev_trimdup(a, p, len);
    if (s)
        for (char *c = s; *c; c++)
            if (*c >= 'A' && *c <= 'Z')
                *c = (char)(*c - 'A' + 'a');
    return s;
}

/* A header line of Event Viewer's "Copy details as text". */
static int header_line(struct text *t, const char *p, size_t len)
{
    struct arena *a = t->r->arena;
    const char *colon = memchr(p, ':', len);
    if (!colon)
        return 0;
    const char *v = colon + 1;
    size_t vlen = len - (size_t)(v - p);
    if (starts_ci(p, len, "Description:")) {
        t->body = true;
        return vlen ? body_line(t, v, vlen) : 0;
    }
    if (starts_ci(p, len, "Source:")) {
        char *src = ev_trimdup(a, v, vlen);
        if (!src)
            return -ENOMEM;
        if (strcasecmp(src, KDC_SOURCE) != 0 && strcasecmp(src, "KDC") != 0 &&
            strcasecmp(src, "Kdcsvc") != 0)
            t->d.id = 1; /* another source: skipped whatever its ID */
        return 0;
    }
    if (starts_ci(p, len, "Event ID:")) {
        unsigned id = 0;
        for (size_t i = 0; i < vlen && id < 100000; i++)
            if (v[i] >= '0' && v[i] <= '9')
                id = id * 10 + (unsigned)(v[i] - '0');
        if (t->d.id != 1)
            t->d.id = id;
        return 0;
    }
    const char **slot = starts_ci(p, len, "Date:")       ? &t->d.time
                        : starts_ci(p, len, "Computer:") ? &t->d.computer
                                                         : NULL;
    if (slot) {
        *slot = ev_trimdup(a, v, vlen);
        return *slot ? 0 : -ENOMEM;
    }
    if (starts_ci(p, len, "Level:")) {
        t->d.level = level_name(a, v, vlen);
        return t->d.level ? 0 : -ENOMEM;
    }
    return 0;
}

static int parse_text(struct ev_result *res, const char *p, size_t len, struct sm_errinfo *e)
{
    struct text t = { .r = res, .e = e };
    unsigned line = 0;
    int r = 0;

    for (size_t pos = 0; pos < len && r == 0;) {
        const char *nl = memchr(p + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - p) : len;
        const char *s = p + pos;
        size_t slen = end - pos;
        long offset = (long)pos;
        line++;
        pos = end + 1;
        t.line_offset = offset;
        if (!su_utf8_valid(s, slen)) {
            errinfo_set(e, offset, "line %u is not valid UTF-8 text", line);
            r = SM_E_UTF8;
            break;
        }
        while (slen && is_blank(s[slen - 1]))
            slen--;
        while (slen && is_blank(*s))
            s++, slen--, offset++;
        if (slen > SM_MAX_KDC_FIELD + 256) {
            errinfo_set(e, offset, "line %u is longer than %d bytes", line, SM_MAX_KDC_FIELD + 256);
            r = SM_E_TOO_BIG;
            break;
        }
        if (starts_ci(s, slen, "Log Name:")) {
            if ((r = text_open(&t, offset, line)) == 0)
                t.header = true;
            continue;
        }
        if (starts_ci(s, slen, "Event Xml:")) {
            t.skip = true;
            continue;
        }
        if (t.skip)
            continue;
        if (t.header && !t.body) {
            r = header_line(&t, s, slen);
            continue;
        }
        if ((r = message_sentence(&t, s, slen, offset, line)) < 0)
            break;
        if (!t.open && slen) {
            /* labels without a sentence before them: a record of their own */
            if ((r = text_open(&t, offset, line)) < 0)
                break;
            t.body = true;
        }
        if (t.open && t.body)
            r = body_line(&t, s, slen);
    }
    if (r == 0)
        r = text_flush(&t);
    return r;
}

/* ---- the input ------------------------------------------------------------------------------ */

/* UTF-16 (by its byte order mark, or "<" then NUL) to UTF-8 in @b. */
static int utf16_to_utf8(const uint8_t *p, size_t len, bool le, struct su_buf *b,
                         struct sm_errinfo *e)
{
    if (len % 2) {
        errinfo_set(e, (long)len - 1, "UTF-16 input with an odd number of bytes");
        return SM_E_UTF8;
    }
    for (size_t i = 0; i + 1 < len; i += 2) {
        uint32_t u = le ? (uint32_t)(p[i] | p[i + 1] << 8) : (uint32_t)(p[i] << 8 | p[i + 1]);
        if (u >= 0xD800 && u <= 0xDBFF && i + 3 < len) {
            uint32_t l =
                le ? (uint32_t)(p[i + 2] | p[i + 3] << 8) : (uint32_t)(p[i + 2] << 8 | p[i + 3]);
            if (l >= 0xDC00 && l <= 0xDFFF) {
                u = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
                i += 2;
            }
        }
        if (u >= 0xD800 && u <= 0xDFFF) {
            errinfo_set(e, (long)i, "UTF-16 input with an unpaired surrogate at byte %zu", i);
            return SM_E_UTF8;
        }
        if (u == 0) {
            errinfo_set(e, (long)i, "UTF-16 input with a NUL character at byte %zu", i);
            return SM_E_UTF8;
        }
        utf8_put(b, u);
    }
    return b->oom ? -ENOMEM : 0;
}

const char *sm_events_format_name(enum sm_events_format f)
{
    return f == SM_EVENTS_TEXT ? "text" : "xml";
}

int sm_kdc_events_parse(const char *input, size_t len, struct sm_kdc_events **ret,
                        struct sm_errinfo *reterr)
{
    const uint8_t *u = (const uint8_t *)input;
    struct ev_result *res = NULL;
    struct arena *a = NULL;
    struct su_buf b;
    const char *p = input;
    int r;

    if (len > SM_MAX_KDC_INPUT) {
        errinfo_set(reterr, SM_MAX_KDC_INPUT, "the input is larger than %d bytes",
                    SM_MAX_KDC_INPUT);
        return SM_E_TOO_BIG;
    }
    a = arena_new();
    res = mem_calloc(1, sizeof(*res));
    if (!a || !res) {
        r = -ENOMEM;
        goto out;
    }
    res->arena = a;
    if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
        arena_buf_init(&b, a);
        if ((r = utf16_to_utf8(u + 2, len - 2, u[0] == 0xFF, &b, reterr)) < 0)
            goto out;
        p = su_buf_str(&b);
        len = b.len;
    } else if (len >= 4 && u[1] == 0 && u[3] == 0 && u[0] && u[2]) {
        arena_buf_init(&b, a);
        if ((r = utf16_to_utf8(u, len, true, &b, reterr)) < 0)
            goto out;
        p = su_buf_str(&b);
        len = b.len;
    } else if (len >= 3 && u[0] == 0xEF && u[1] == 0xBB && u[2] == 0xBF) {
        p += 3;
        len -= 3;
    }
    size_t i = 0;
    while (i < len && is_blank(p[i]))
        i++;
    if (i == len) {
        errinfo_set(reterr, 0, "the input is empty");
        r = SM_E_EMPTY;
        goto out;
    }
    if (p[i] == '<') {
        res->pub.format = SM_EVENTS_XML;
        r = ev_parse_xml(res, p, len, reterr);
    } else {
        res->pub.format = SM_EVENTS_TEXT;
        r = parse_text(res, p, len, reterr);
    }
out:
    if (r < 0) {
        if (r == -ENOMEM)
            errinfo_set(reterr, -1, "out of memory");
        arena_free(a);
        mem_free(res);
        return r;
    }
    *ret = &res->pub;
    return 0;
}

struct sm_kdc_events *sm_kdc_events_free(struct sm_kdc_events *ev)
{
    if (!ev)
        return NULL;
    struct ev_result *res = (struct ev_result *)ev;
    arena_free(res->arena);
    mem_free(res);
    return NULL;
}

/*
 * lib/events_xml.c - the KDC events of Windows' event XML, read with expat: the one file of the
 * engine that includes expat.h.
 *
 * wevtutil qe ... /f:xml writes a sequence of <Event> elements without a root, and
 * Get-WinEvent's ToXml() one element per event; the input is parsed inside a root of our own so
 * that both are one document. Nothing is expanded: a DOCTYPE or an entity declaration is
 * refused before expat sees the input (and again by handlers, should one get through), parameter
 * entities are never parsed, and expat's own amplification limit stays on. Nesting, the length
 * of every value kept and the number of events are bounded (strongmap/events.h).
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

/* Debian's libexpat is built with DTD support; the header declares the amplification limit
   only when told so */
#ifndef XML_DTD
#define XML_DTD
#endif
#include <expat.h>

#include "alloc.h"
#include "events_internal.h"

#define ROOT_OPEN  "<strongmap-events>"
#define ROOT_CLOSE "</strongmap-events>"
#define KDC_SOURCE "Microsoft-Windows-Kerberos-Key-Distribution-Center"

/* What the character data being collected is for. */
enum collect { C_NONE, C_ID, C_LEVEL, C_COMPUTER, C_DATA };

struct xctx {
    XML_Parser p;
    struct ev_result *r;
    struct sm_errinfo *e;
    int err;
    unsigned depth;
    /* the event being read */
    bool in_event, in_eventdata, kdc;
    unsigned rendering; /* depth of a <RenderingInfo>, 0 outside */
    struct ev_draft d;
    size_t n_data;         /* <Data> elements seen in <EventData> */
    int data_field;        /* the field a <Data> names, or -1 - its position */
    const char *by_pos[8]; /* <Data> values without a known name, by position */
    size_t skip;           /* bytes of the input before what expat reads */
    enum collect collect;
    struct {
        size_t len;
    } text;
    char buf[SM_MAX_KDC_FIELD + 1];
};

static void *xmalloc(size_t n)
{
    return mem_malloc(n);
}

static void *xrealloc(void *p, size_t n)
{
    return mem_realloc(p, n);
}

static void xfree(void *p)
{
    mem_free(p);
}

static long here(struct xctx *x)
{
    long at = (long)XML_GetCurrentByteIndex(x->p) - (long)strlen(ROOT_OPEN);
    return at < 0 ? 0 : at + (long)x->skip;
}

static void stop(struct xctx *x, int err, const char *what)
{
    if (x->err)
        return;
    x->err = err;
    errinfo_set(x->e, here(x), "%s (line %lu)", what,
                (unsigned long)XML_GetCurrentLineNumber(x->p));
    XML_StopParser(x->p, XML_FALSE);
}

/* The local part of a name: "Event" of "e:Event". */
static const char *local(const char *name)
{
    const char *c = strrchr(name, ':');
    return c ? c + 1 : name;
}

static const char *attr(const char **atts, const char *name)
{
    for (size_t i = 0; atts[i]; i += 2)
        if (strcmp(local(atts[i]), name) == 0)
            return atts[i + 1];
    return NULL;
}

/* A copy of an attribute's value, bounded like a field. */
static const char *keep_attr(struct xctx *x, const char *v)
{
    if (!v)
        return NULL;
    const char *s = ev_trimdup(x->r->arena, v, strlen(v));
    if (!s && !x->err) {
        x->err = -ENOMEM;
        XML_StopParser(x->p, XML_FALSE);
    }
    return s;
}

static void begin_collect(struct xctx *x, enum collect c)
{
    x->collect = c;
    x->text.len = 0;
}

static void XMLCALL on_start(void *ud, const char *name, const char **atts)
{
    struct xctx *x = ud;
    const char *n = local(name);

    if (++x->depth > SM_MAX_KDC_DEPTH) {
        stop(x, SM_E_XML, "elements nested too deep");
        return;
    }
    x->collect = C_NONE;
    for (size_t i = 0; atts[i]; i += 2)
        if (strlen(atts[i + 1]) > SM_MAX_KDC_FIELD) {
            stop(x, SM_E_TOO_BIG, "an attribute value is longer than the limit of a field");
            return;
        }
    if (strcmp(n, "Event") == 0) {
        if (x->in_event) {
            stop(x, SM_E_XML, "an <Event> inside an <Event>");
            return;
        }
        memset(&x->d, 0, sizeof(x->d));
        memset(x->by_pos, 0, sizeof(x->by_pos));
        x->in_event = true;
        x->kdc = false;
        x->n_data = 0;
        x->d.offset = here(x);
        x->d.line = (unsigned)XML_GetCurrentLineNumber(x->p);
        return;
    }
    if (!x->in_event)
        return;
    if (strcmp(n, "RenderingInfo") == 0 && !x->rendering)
        x->rendering = x->depth;
    if (x->rendering)
        return;
    if (strcmp(n, "Provider") == 0) {
        const char *pn = attr(atts, "Name"), *src = attr(atts, "EventSourceName");
        x->kdc = (pn && strcasecmp(pn, KDC_SOURCE) == 0) ||
                 (src && (strcasecmp(src, "Kdc") == 0 || strcasecmp(src, "Kdcsvc") == 0));
    } else if (strcmp(n, "TimeCreated") == 0) {
        x->d.time = keep_attr(x, attr(atts, "SystemTime"));
    } else if (strcmp(n, "EventID") == 0) {
        begin_collect(x, C_ID);
    } else if (strcmp(n, "Level") == 0) {
        begin_collect(x, C_LEVEL);
    } else if (strcmp(n, "Computer") == 0) {
        begin_collect(x, C_COMPUTER);
    } else if (strcmp(n, "EventData") == 0) {
        x->in_eventdata = true;
    } else if (strcmp(n, "Data") == 0 && x->in_eventdata) {
        const char *dn = attr(atts, "Name");
        int f = dn ? ev_field_named(dn) : -1;
        /* without a known name, by position, once the event's ID is known */
        x->data_field = f >= 0 ? f : -1 - (int)x->n_data;
        x->n_data++;
        begin_collect(x, C_DATA);
    }
}

static void XMLCALL on_text(void *ud, const char *s, int len)
{
    struct xctx *x = ud;
    if (x->collect == C_NONE || len <= 0)
        return;
    if (x->text.len + (size_t)len > SM_MAX_KDC_FIELD) {
        stop(x, SM_E_TOO_BIG, "a value is longer than the limit of a field");
        return;
    }
    memcpy(x->buf + x->text.len, s, (size_t)len);
    x->text.len += (size_t)len;
}

static unsigned parse_id(const char *s, size_t len)
{
    unsigned id = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')
            continue;
        if (s[i] < '0' || s[i] > '9' || id > 100000)
            return 0;
        id = id * 10 + (unsigned)(s[i] - '0');
    }
    return id;
}

static const char *level_name(const char *s, size_t len)
{
    switch (parse_id(s, len)) {
    case 1: return "critical";
    case 2: return "error";
    case 3: return "warning";
    case 0:
    case 4: return len ? "information" : NULL;
    default: return NULL;
    }
}

static void XMLCALL on_end(void *ud, const char *name)
{
    struct xctx *x = ud;
    const char *n = local(name);
    enum collect c = x->collect;

    x->collect = C_NONE;
    if (x->rendering && x->depth == x->rendering)
        x->rendering = 0;
    x->depth--;
    if (!x->in_event || x->err)
        return;
    if (c != C_NONE) {
        x->buf[x->text.len] = '\0';
        const char *v = NULL;
        if (c == C_ID) {
            x->d.id = parse_id(x->buf, x->text.len);
        } else if (c == C_LEVEL) {
            x->d.level = level_name(x->buf, x->text.len);
        } else {
            v = ev_trimdup(x->r->arena, x->buf, x->text.len);
            if (!v) {
                x->err = -ENOMEM;
                XML_StopParser(x->p, XML_FALSE);
                return;
            }
            if (c == C_COMPUTER)
                x->d.computer = v;
            else if (x->data_field >= 0)
                x->d.f[x->data_field] = v;
            else if ((size_t)(-1 - x->data_field) < ARRAY_SIZE(x->by_pos))
                x->by_pos[-1 - x->data_field] = v;
        }
        return;
    }
    if (strcmp(n, "EventData") == 0) {
        x->in_eventdata = false;
    } else if (strcmp(n, "Event") == 0) {
        x->in_event = false;
        if (!x->kdc) {
            x->r->pub.skipped++;
            return;
        }
        for (size_t i = 0; i < ARRAY_SIZE(x->by_pos); i++) {
            int f = ev_field_at(x->d.id, i);
            if (x->by_pos[i] && f >= 0 && !x->d.f[f])
                x->d.f[f] = x->by_pos[i];
        }
        int r = ev_add(x->r, &x->d, x->e);
        if (r < 0) {
            x->err = r;
            XML_StopParser(x->p, XML_FALSE);
        }
    }
}

static void XMLCALL on_doctype(void *ud, const char *name, const char *sysid, const char *pubid,
                               int has_internal)
{
    (void)name, (void)sysid, (void)pubid, (void)has_internal;
    stop(ud, SM_E_XML_DTD, "a DOCTYPE is refused");
}

static void XMLCALL on_entity(void *ud, const char *name, int is_param, const char *value,
                              int value_len, const char *base, const char *sysid, const char *pubid,
                              const char *notation)
{
    (void)name, (void)is_param, (void)value, (void)value_len, (void)base, (void)sysid;
    (void)pubid, (void)notation;
    stop(ud, SM_E_XML_DTD, "an entity declaration is refused");
}

static const char *find(const char *p, size_t len, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(p + i, word, n) == 0)
            return p + i;
    return NULL;
}

int ev_parse_xml(struct ev_result *r, const char *p, size_t len, struct sm_errinfo *e)
{
    static const XML_Memory_Handling_Suite mem = { xmalloc, xrealloc, xfree };
    struct xctx *x = NULL;
    const char *bad;
    int ret = 0;

    /* no DTD at all: refused before parsing, with its place */
    if ((bad = find(p, len, "<!DOCTYPE")) || (bad = find(p, len, "<!ENTITY"))) {
        errinfo_set(e, (long)(bad - p), "a DOCTYPE or entity declaration is refused (byte %ld)",
                    (long)(bad - p));
        return SM_E_XML_DTD;
    }
    /* an XML declaration may only open the document: ours is the root, so it goes */
    size_t skip = 0;
    while (skip < len && (p[skip] == ' ' || p[skip] == '\t' || p[skip] == '\r' || p[skip] == '\n'))
        skip++;
    if (len - skip >= 5 && memcmp(p + skip, "<?xml", 5) == 0) {
        const char *end = find(p + skip, len - skip, "?>");
        if (!end) {
            errinfo_set(e, (long)skip, "an XML declaration that does not end");
            return SM_E_XML;
        }
        skip = (size_t)(end + 2 - p);
    }
    x = mem_calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    x->r = r;
    x->e = e;
    x->skip = skip;
    x->p = XML_ParserCreate_MM("UTF-8", &mem, NULL);
    if (!x->p) {
        ret = -ENOMEM;
        goto out;
    }
    XML_SetUserData(x->p, x);
    XML_SetElementHandler(x->p, on_start, on_end);
    XML_SetCharacterDataHandler(x->p, on_text);
    XML_SetStartDoctypeDeclHandler(x->p, on_doctype);
    XML_SetEntityDeclHandler(x->p, on_entity);
    XML_SetParamEntityParsing(x->p, XML_PARAM_ENTITY_PARSING_NEVER);
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 4)
    XML_SetBillionLaughsAttackProtectionMaximumAmplification(x->p, 10.0f);
#endif
    if (XML_Parse(x->p, ROOT_OPEN, (int)strlen(ROOT_OPEN), XML_FALSE) != XML_STATUS_OK ||
        XML_Parse(x->p, p + skip, (int)(len - skip), XML_FALSE) != XML_STATUS_OK ||
        XML_Parse(x->p, ROOT_CLOSE, (int)strlen(ROOT_CLOSE), XML_TRUE) != XML_STATUS_OK) {
        if (x->err) {
            ret = x->err;
        } else if (XML_GetErrorCode(x->p) == XML_ERROR_NO_MEMORY) {
            ret = -ENOMEM;
        } else {
            long at = here(x);
            if (at > (long)len)
                at = (long)len; /* in our closing tag: the input ended too early */
            errinfo_set(e, at, "not well-formed XML: %s (line %lu, byte %ld)",
                        XML_ErrorString(XML_GetErrorCode(x->p)),
                        (unsigned long)XML_GetCurrentLineNumber(x->p), at);
            ret = SM_E_XML;
        }
    } else if (x->err) {
        ret = x->err;
    }
out:
    if (x && x->p)
        XML_ParserFree(x->p);
    mem_free(x);
    return ret;
}

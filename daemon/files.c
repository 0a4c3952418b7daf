/*
 * daemon/files.c - the files the configuration names, read and checked by strongmapd at start-up
 * and at each reload: owner and mode (fileperm.c's rules, as OpenSSH checks them) of the TLS
 * files, the bind password, the LDIF export, the LDAP CA bundle, the keytab, the decision log,
 * the samba_pkinit_anchors, step-ca's webhook secrets and the status page's message catalogues;
 * the TLS PEM files, the Samba anchors, the webhook secrets and the catalogues read. Each is
 * opened by su_open_regular(): a regular file only, so that a FIFO (or a device) in its place is
 * refused at once instead of hanging the start, -n or a reload on the main thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "daemon_internal.h"
#include "fileperm.h"
#include "log.h"
#include "messages.h"
#include "su_base64.h"
#include "su_file.h"

/*
 * Owner and mode of the file at @path (status @st), named by directive @id, for what it holds
 * (fileperm.h): a warning is logged, a refusal returned (-EPERM, "WHERE: why" in @e).
 */
static int perm_check(const struct cfg *c, enum cfg_id id, const struct stat *st, const char *path,
                      enum fperm_kind kind, struct sm_errinfo *e)
{
    struct sm_errinfo pe = SM_ERRINFO_INIT;
    char where[CFG_ERR_MAX / 2];
    int r = fperm_check(st, path, kind, service_uid, &pe);

    if (r == FPERM_WARN)
        log_warnx("%s: %s", cfg_where(c, id, where, sizeof(where)), pe.text);
    else if (r < 0)
        return cfg_fail(c, id, e, r, "%s", pe.text);
    return 0;
}

/* The same by path, for files a library opens itself; a missing file is left to it. One to be
   read (@read) must be a regular file: the library's open would wait for a FIFO's writer. */
static int perm_check_path(const struct cfg *c, enum cfg_id id, const char *path,
                           enum fperm_kind kind, bool read, struct sm_errinfo *e)
{
    struct stat st;

    if (stat(path, &st) < 0)
        return 0;
    if (read && !S_ISREG(st.st_mode))
        return cfg_fail(c, id, e, -EINVAL, "%s is not a regular file", path);
    return perm_check(c, id, &st, path, kind, e);
}

/* The file @path of directive @id opened for reading by su_open_regular() into *@ret, its status
   into *@st; a refusal ("PATH is not a regular file", or why it cannot be opened) in @e. */
static int open_file(const struct cfg *c, enum cfg_id id, const char *path, struct stat *st,
                     FILE **ret, struct sm_errinfo *e)
{
    int fd = su_open_regular(path, st), r;

    if (fd == -EINVAL)
        return cfg_fail(c, id, e, fd, "%s is not a regular file", path);
    if (fd < 0)
        return cfg_fail(c, id, e, fd, "%s: %s", path, strerror(-fd));
    if (!(*ret = fdopen(fd, "rb"))) {
        r = -errno;
        close(fd);
        return cfg_fail(c, id, e, r, "%s: %s", path, strerror(-r));
    }
    return 0;
}

/* opt_read_password()'s check of the bind password file. */
int password_check(const struct stat *st, const char *path, void *arg, struct sm_errinfo *e)
{
    (void)arg;
    return fperm_check(st, path, FPERM_SECRET, service_uid, e) < 0 ? -EPERM : 0;
}

/*
 * The files @c names that libraries open themselves: the LDIF export, the LDAP CA bundle, the
 * Kerberos keytab (KRB5_CLIENT_KTNAME, with GSSAPI) and the decision log (when it exists).
 */
int check_named_files(const struct cfg *c, struct sm_errinfo *e)
{
    const char *kt = getenv("KRB5_CLIENT_KTNAME");
    int r = 0;

    if (c->ldif)
        r = perm_check_path(c, CFG_LDIF, c->ldif, FPERM_DATA, true, e);
    if (r == 0 && c->ldap_ca_file)
        r = perm_check_path(c, CFG_LDAP_CA_FILE, c->ldap_ca_file, FPERM_DATA, true, e);
    if (r == 0 && c->ldap_sasl_mech && kt) {
        if (strncmp(kt, "FILE:", 5) == 0)
            kt += 5;
        if (kt[0] == '/')
            r = perm_check_path(c, CFG_LDAP_SASL_MECH, kt, FPERM_SECRET, true, e);
    }
    if (r == 0 && c->decision_log)
        r = perm_check_path(c, CFG_DECISION_LOG, c->decision_log, FPERM_DATA, false, e);
    return r;
}

void tls_files_free(struct tls_files *t)
{
    if (t->key) {
        explicit_bzero(t->key, t->key_size);
        free(t->key);
    }
    free(t->cert);
    free(t->client_ca);
    memset(t, 0, sizeof(*t));
}

/*
 * Read the PEM file of directive @id into *@ret (NUL-terminated; *@ret_size: bytes allocated).
 * @label: what it must hold ("CERTIFICATE", "PRIVATE KEY").
 */
static int read_pem(const struct cfg *c, enum cfg_id id, const char *path, const char *label,
                    char **ret, size_t *ret_size, struct sm_errinfo *e)
{
    char begin[64], *buf = NULL;
    struct stat st;
    size_t len = 0, cap = 0;
    int fd, r;

    fd = su_open_regular(path, &st);
    if (fd < 0 && fd != -EINVAL)
        return cfg_fail(c, id, e, fd, "cannot read %s: %s", path, strerror(-fd));
    if (fd < 0 || st.st_size > (off_t)API_TLS_PEM_MAX) {
        r = cfg_fail(c, id, e, -EINVAL, "%s is not a regular file of at most %u bytes", path,
                     API_TLS_PEM_MAX);
        goto out;
    }
    if ((r = perm_check(c, id, &st, path, id == CFG_TLS_KEY ? FPERM_SECRET : FPERM_DATA, e)) < 0)
        goto out;
    cap = (size_t)st.st_size + 1;
    buf = calloc(1, cap);
    if (!buf) {
        r = cfg_fail(c, id, e, -ENOMEM, "out of memory");
        goto out;
    }
    while (len < cap - 1) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            cfg_fail(c, id, e, r, "cannot read %s: %s", path, strerror(-r));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
    if (strstr(buf, "-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
        r = cfg_fail(c, id, e, -EINVAL,
                     "%s holds an encrypted key: give it unencrypted (mode 0600)", path);
        goto out;
    }
    if (!strstr(buf, begin) &&
        !(strcmp(label, "PRIVATE KEY") == 0 && strstr(buf, " PRIVATE KEY-----"))) {
        r = cfg_fail(c, id, e, -EINVAL, "%s holds no PEM %s", path, label);
        goto out;
    }
    *ret = buf;
    *ret_size = cap;
    buf = NULL;
    r = 0;
out:
    if (buf) {
        explicit_bzero(buf, cap);
        free(buf);
    }
    if (fd >= 0)
        close(fd);
    return r;
}

int tls_files_read(const struct cfg *c, struct tls_files *t, struct sm_errinfo *e)
{
    size_t ignored;
    int r = 0;

    memset(t, 0, sizeof(*t));
    if (!c->tls_cert)
        return 0;
    r = read_pem(c, CFG_TLS_CERT, c->tls_cert, "CERTIFICATE", &t->cert, &ignored, e);
    if (r == 0)
        r = read_pem(c, CFG_TLS_KEY, c->tls_key, "PRIVATE KEY", &t->key, &t->key_size, e);
    if (r == 0 && c->tls_client_ca)
        r = read_pem(c, CFG_TLS_CLIENT_CA, c->tls_client_ca, "CERTIFICATE", &t->client_ca, &ignored,
                     e);
    if (r < 0)
        tls_files_free(t);
    return r;
}

/* The certificates in the file @path of directive @id, parsed into *@ret (NULL when @path is). */
static int load_certs(const struct cfg *c, enum cfg_id id, const char *path, struct sm_certs **ret,
                      struct sm_errinfo *e)
{
    struct sm_errinfo pe = SM_ERRINFO_INIT;
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int r;

    *ret = NULL;
    if (!path)
        return 0;
    if ((r = open_file(c, id, path, &st, &f, e)) < 0 ||
        (r = perm_check(c, id, &st, path, FPERM_DATA, e)) < 0)
        goto out;
    if (!(buf = malloc(SM_MAX_INPUT + 1))) {
        r = cfg_fail(c, id, e, -ENOMEM, "out of memory");
        goto out;
    }
    len = fread(buf, 1, SM_MAX_INPUT + 1, f);
    if (ferror(f) || len > SM_MAX_INPUT) {
        r = cfg_fail(c, id, e, -EIO, "%s: %s", path,
                     len > SM_MAX_INPUT ? "larger than 1 MiB" : "read error");
        goto out;
    }
    if ((r = sm_certs_parse(buf, len, NULL, ret, &pe)) < 0) {
        r = cfg_fail(c, id, e, -EIO, "%s: %s", path, pe.text);
        goto out;
    }
    if ((*ret)->n_errors) {
        r = cfg_fail(c, id, e, -EIO, "%s: a certificate does not parse: %s", path,
                     (*ret)->errors[0].message);
        *ret = sm_certs_free(*ret);
    }
out:
    free(buf);
    if (f)
        fclose(f);
    return r;
}

int load_samba_anchors(const struct cfg *c, struct sm_certs **ret, struct sm_errinfo *e)
{
    return load_certs(c, CFG_SAMBA_ANCHORS, c->samba_anchors, ret, e);
}

int load_stepca_issuer(const struct cfg *c, struct sm_certs **ret, struct sm_errinfo *e)
{
    int r = load_certs(c, CFG_STEPCA_ISSUER, c->stepca_issuer, ret, e);

    if (r == 0 && *ret && ((*ret)->n_certs != 1 || !(*ret)->certs[0].is_ca)) {
        r = cfg_fail(c, CFG_STEPCA_ISSUER, e, -EINVAL,
                     "%s: one CA certificate (the one step-ca signs with), not %zu certificate%s%s",
                     c->stepca_issuer, (*ret)->n_certs, (*ret)->n_certs == 1 ? "" : "s",
                     (*ret)->n_certs == 1 ? " of an end entity" : "");
        *ret = sm_certs_free(*ret);
    }
    return r;
}

/* ---- step-ca's webhooks ------------------------------------------------------------------- */

#define WEBHOOKS_FILE_MAX (64 * 1024)

/* Decode @len bytes of padded base64, without blanks, into @out (@size bytes): the length (0
   for none), or -1 when it is not base64 or holds more than @size bytes. */
static long b64_decode(const char *s, size_t len, unsigned char *out, size_t size)
{
    uint8_t tmp[API_WEBHOOK_SECRET_MAX + 3];
    long n = -1;

    if (size <= sizeof(tmp) - 3 && len / 4 * 3 <= sizeof(tmp)) {
        n = su_base64_decode(s, len, 0, tmp);
        if (n > (long)size)
            n = -1;
        else if (n > 0)
            memcpy(out, tmp, (size_t)n);
    }
    explicit_bzero(tmp, sizeof(tmp));
    return n;
}

/* An ID as step-ca makes them (a UUID), or any name of [A-Za-z0-9._-]. */
static bool webhook_id_ok(const char *s, size_t len)
{
    if (len == 0 || len >= API_WEBHOOK_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

/* One line "ID SECRET" of the webhooks file into @wh. */
static int webhook_line(const struct cfg *c, unsigned line, char *text, struct api_runtime *rt,
                        struct sm_errinfo *e)
{
    const enum cfg_id id = CFG_STEPCA_WEBHOOKS;
    struct api_webhook *wh;
    size_t idlen = strcspn(text, " \t"), slen;
    char *secret = text + idlen;
    long n;

    secret += strspn(secret, " \t");
    slen = strcspn(secret, " \t");
    if (secret[slen + strspn(secret + slen, " \t")] != '\0' || slen == 0)
        return cfg_fail(c, id, e, -EINVAL, "%s:%u: expected \"ID SECRET\"", c->stepca_webhooks,
                        line);
    if (!webhook_id_ok(text, idlen))
        return cfg_fail(c, id, e, -EINVAL,
                        "%s:%u: the ID must be 1 to %d characters of "
                        "[A-Za-z0-9._-]",
                        c->stepca_webhooks, line, API_WEBHOOK_ID_MAX - 1);
    if (rt->n_webhooks == API_MAX_WEBHOOKS)
        return cfg_fail(c, id, e, -EINVAL, "%s:%u: more than %d webhooks", c->stepca_webhooks, line,
                        API_MAX_WEBHOOKS);
    for (size_t i = 0; i < rt->n_webhooks; i++)
        if (strlen(rt->webhooks[i].id) == idlen && memcmp(rt->webhooks[i].id, text, idlen) == 0)
            return cfg_fail(c, id, e, -EINVAL, "%s:%u: webhook %.*s given twice",
                            c->stepca_webhooks, line, (int)idlen, text);
    wh = &rt->webhooks[rt->n_webhooks];
    n = b64_decode(secret, slen, wh->secret, sizeof(wh->secret));
    if (n <= 0) {
        explicit_bzero(wh, sizeof(*wh));
        return cfg_fail(c, id, e, -EINVAL, "%s:%u: the secret is not base64 of 1 to %d bytes",
                        c->stepca_webhooks, line, API_WEBHOOK_SECRET_MAX);
    }
    memcpy(wh->id, text, idlen);
    wh->id[idlen] = '\0';
    wh->secret_len = (size_t)n;
    rt->n_webhooks++;
    return 0;
}

int load_webhooks(const struct cfg *c, struct api_runtime *rt, struct sm_errinfo *e)
{
    const enum cfg_id id = CFG_STEPCA_WEBHOOKS;
    struct stat st;
    char *buf = NULL, *p;
    size_t len = 0;
    unsigned line = 0;
    FILE *f = NULL;
    int r = 0;

    if (!c->stepca_webhooks)
        return 0;
    if ((r = open_file(c, id, c->stepca_webhooks, &st, &f, e)) < 0 ||
        (r = perm_check(c, id, &st, c->stepca_webhooks, FPERM_SECRET, e)) < 0)
        goto out;
    if (!(buf = malloc(WEBHOOKS_FILE_MAX + 1))) {
        r = cfg_fail(c, id, e, -ENOMEM, "out of memory");
        goto out;
    }
    len = fread(buf, 1, WEBHOOKS_FILE_MAX + 1, f);
    if (ferror(f) || len > WEBHOOKS_FILE_MAX) {
        r = cfg_fail(c, id, e, -EIO, "%s: %s", c->stepca_webhooks,
                     len > WEBHOOKS_FILE_MAX ? "larger than 64 KiB" : "read error");
        goto out;
    }
    if (memchr(buf, '\0', len)) {
        r = cfg_fail(c, id, e, -EINVAL, "%s: a NUL byte", c->stepca_webhooks);
        goto out;
    }
    buf[len] = '\0';
    for (p = buf; *p && r == 0;) {
        size_t n = strcspn(p, "\n");
        char *next = p + n + (p[n] == '\n');

        line++;
        p[n] = '\0';
        if (n > 0 && p[n - 1] == '\r')
            p[n - 1] = '\0';
        p += strspn(p, " \t");
        if (*p && *p != '#')
            r = webhook_line(c, line, p, rt, e);
        p = next;
    }
out:
    if (buf) {
        explicit_bzero(buf, len < WEBHOOKS_FILE_MAX ? len + 1 : WEBHOOKS_FILE_MAX + 1);
        free(buf);
    }
    if (f)
        fclose(f);
    return r;
}

/* ---- the status page's message catalogues -------------------------------------------------- */

#define MESSAGES_MAX_FILES 32

/* A catalogue's name: LANG.json, not hidden. */
static int is_catalogue(const struct dirent *d)
{
    size_t n = strlen(d->d_name);

    return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

/* A catalogue's warning (keys missing or unknown), at warning level: at start, with -n and at
   a reload, which still applies the catalogues. */
static void messages_warn(void *arg, const char *text)
{
    const struct cfg *c = arg;
    char where[CFG_ERR_MAX / 2];

    log_warnx("%s: %s", cfg_where(c, CFG_PAGE_MESSAGES, where, sizeof(where)), text);
}

/* The file @path (at most API_MESSAGES_FILE_MAX bytes, owner and mode of data) into *@ret
   (free()) and *@ret_len. */
static int read_catalogue(const struct cfg *c, const char *path, char **ret, size_t *ret_len,
                          struct sm_errinfo *e)
{
    const enum cfg_id id = CFG_PAGE_MESSAGES;
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = NULL;
    int r = 0;

    if ((r = open_file(c, id, path, &st, &f, e)) < 0)
        goto out;
    if (st.st_size > API_MESSAGES_FILE_MAX) {
        r = cfg_fail(c, id, e, -EINVAL, "%s is larger than %d bytes", path, API_MESSAGES_FILE_MAX);
        goto out;
    }
    if ((r = perm_check(c, id, &st, path, FPERM_DATA, e)) < 0)
        goto out;
    if (!(buf = malloc((size_t)st.st_size + 1))) {
        r = cfg_fail(c, id, e, -ENOMEM, "out of memory");
        goto out;
    }
    len = fread(buf, 1, (size_t)st.st_size + 1, f);
    if (ferror(f) || len > (size_t)st.st_size) {
        r = cfg_fail(c, id, e, -EIO, "%s: read error (or it grew while read)", path);
        goto out;
    }
    *ret = buf;
    *ret_len = len;
    buf = NULL;
out:
    free(buf);
    if (f)
        fclose(f);
    return r;
}

int load_page_messages(const struct cfg *c, struct api_runtime *rt, struct sm_errinfo *e)
{
    const enum cfg_id id = CFG_PAGE_MESSAGES;
    struct sm_errinfo me = SM_ERRINFO_INIT;
    struct api_messages *m = NULL;
    struct dirent **names = NULL;
    int n, r = 0;

    if (!c->page_messages) {
        /* the shipped catalogues, unless the page shows the organisation's help (api/links.c):
           then catalogues of this runtime's own, whose page has it */
        if (!rt->page_organisation[0] && !rt->page_helpdesk[0] && rt->n_page_links == 0)
            return 0;
        n = 0;
    } else if ((n = scandir(c->page_messages, &names, is_catalogue, alphasort)) < 0) {
        r = -errno;
        return cfg_fail(c, id, e, r, "%s: %s", c->page_messages, strerror(-r));
    }
    if (n > MESSAGES_MAX_FILES) {
        r = cfg_fail(c, id, e, -EINVAL, "%s: more than %d catalogues", c->page_messages,
                     MESSAGES_MAX_FILES);
        goto out;
    }
    if ((r = api_messages_new(&m, &me)) < 0) {
        cfg_fail(c, id, e, r, "the shipped catalogues: %s",
                 r == -ENOMEM ? "out of memory" : me.text);
        goto out;
    }
    for (int i = 0; i < n && r == 0; i++) {
        char path[PATH_MAX], tag[64];
        size_t len = strlen(names[i]->d_name) - 5, size = 0;
        char *json = NULL;

        if ((size_t)snprintf(path, sizeof(path), "%s/%s", c->page_messages, names[i]->d_name) >=
                sizeof(path) ||
            len >= sizeof(tag)) {
            r = cfg_fail(c, id, e, -EINVAL, "%s/%s: name too long", c->page_messages,
                         names[i]->d_name);
            break;
        }
        memcpy(tag, names[i]->d_name, len);
        tag[len] = '\0';
        if ((r = read_catalogue(c, path, &json, &size, e)) < 0)
            break;
        r = api_messages_add(m, tag, json, size, path, messages_warn, (void *)(uintptr_t)c, &me);
        free(json);
        if (r < 0)
            cfg_fail(c, id, e, r, "%s", r == -ENOMEM ? "out of memory" : me.text);
    }
    if (r == 0)
        api_messages_set_help(m, rt);
    if (r == 0 && (r = api_messages_finish(m, messages_warn, (void *)(uintptr_t)c, &me)) < 0)
        cfg_fail(c, id, e, r, "%s", r == -ENOMEM ? "out of memory" : me.text);
    if (r == 0) {
        api_messages_free(rt->page_messages);
        rt->page_messages = m;
        m = NULL;
    }
out:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    api_messages_free(m);
    return r;
}

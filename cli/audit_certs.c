/*
 * cli/audit_certs.c - `strongmap audit --certs PATH`: the certificates given to the audit from
 * files and folders (docs/audit.md), each file read whole and handed to sm_audit_add_certs(),
 * which matches its certificates to their accounts. A folder is read one level deep, in name
 * order: its files named *.pem, *.crt, *.cer, *.der, *.p7b or *.p7c (any case); others and
 * subfolders are left alone. Everything is bounded (files, bytes a file, bytes altogether); a
 * file that cannot be read, is too large or holds no certificate is said on stderr and
 * skipped. What stops the whole audit: the bounds, the directory, memory, a signal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <strongmap/strongmap.h>

#include "audit.h"
#include "text.h"

#define CERT_FILES_MAX 100000                /* files read, over every --certs */
#define CERT_FILE_MAX  (32L * 1024 * 1024)   /* bytes of one file */
#define CERT_TOTAL_MAX (1024L * 1024 * 1024) /* bytes of every file together */
#define CERT_NAME_MAX  4096                  /* bytes of a path */

struct certs_run {
    struct sm_audit *au;
    struct sm_dir *dir;
    const volatile sig_atomic_t *stop;
    struct audit_certs_report *rep;
    long total; /* bytes read so far */
    struct sm_errinfo *e;
};

static void skipped(const char *path, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Say why @path is skipped, on stderr (escaped: names are anybody's). */
static void skipped(const char *path, const char *fmt, ...)
{
    char why[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    fputs("strongmap: audit: --certs: ", stderr);
    text_escaped(stderr, path, strlen(path));
    fputs(": ", stderr);
    text_escaped(stderr, why, strlen(why));
    fputc('\n', stderr);
}

/* The whole of the regular file @fd (@size bytes by fstat) into *@ret (free()). */
static int read_all(int fd, size_t size, char **ret, size_t *ret_len)
{
    char *buf = malloc(size ? size : 1);
    size_t n = 0;
    if (!buf)
        return -ENOMEM;
    while (n < size) {
        ssize_t k = read(fd, buf + n, size - n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            int err = -errno;
            free(buf);
            return err;
        }
        if (k == 0)
            break; /* shrank meanwhile: what is there */
        n += (size_t)k;
    }
    *ret = buf;
    *ret_len = n;
    return 0;
}

/* One file. 0 (read, or skipped and said), or what stops the audit. */
static int one_file(struct certs_run *c, const char *path)
{
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    int rc;

    if (c->rep->files >= CERT_FILES_MAX) {
        snprintf(c->e->text, sizeof(c->e->text), "--certs: more than %d files", CERT_FILES_MAX);
        return -E2BIG;
    }
    c->rep->files++;
    /* O_NONBLOCK: a FIFO does not hang the open; only regular files are read */
    int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        skipped(path, "%s (skipped)", strerror(errno));
        c->rep->files_skipped++;
        return 0;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        skipped(path, "not a regular file (skipped)");
        c->rep->files_skipped++;
        close(fd);
        return 0;
    }
    if (st.st_size > CERT_FILE_MAX) {
        skipped(path, "larger than %ld MiB (skipped): split it", CERT_FILE_MAX >> 20);
        c->rep->files_skipped++;
        close(fd);
        return 0;
    }
    if (c->total + st.st_size > CERT_TOTAL_MAX) {
        close(fd);
        snprintf(c->e->text, sizeof(c->e->text),
                 "--certs: more than %ld MiB of files altogether (at %s)", CERT_TOTAL_MAX >> 20,
                 path);
        return -E2BIG;
    }
    rc = read_all(fd, (size_t)st.st_size, &buf, &len);
    close(fd);
    if (rc == -ENOMEM)
        return rc;
    if (rc < 0) {
        skipped(path, "%s (skipped)", strerror(-rc));
        c->rep->files_skipped++;
        return 0;
    }
    c->total += (long)len;

    struct sm_audit_certs_result res;
    struct sm_errinfo e = SM_ERRINFO_INIT;
    rc = sm_audit_add_certs(c->au, c->dir, buf, len, path, &res, &e);
    free(buf);
    c->rep->certificates += res.certificates;
    if (rc == -E2BIG || rc == -ENOMEM || rc == SM_E_DIR_DOWN || rc == SM_E_DIR_REFUSED ||
        rc == -EINVAL) {
        *c->e = e;
        return rc;
    }
    if (rc < 0) { /* the engine counts it unreadable */
        if (e.offset >= 0)
            skipped(path, "at byte %ld: %s (skipped)", e.offset, e.text);
        else
            skipped(path, "%s (skipped)", e.text[0] ? e.text : sm_strerror(rc));
        c->rep->files_unread++;
        return 0;
    }
    if (res.unreadable) { /* said, but the file's certificates count */
        const struct sm_errinfo *u = &res.first_unreadable;
        fputs("strongmap: audit: --certs: ", stderr);
        text_escaped(stderr, path, strlen(path));
        fprintf(stderr, ": %zu block%s held no certificate (the first", res.unreadable,
                res.unreadable == 1 ? "" : "s");
        if (u->offset >= 0)
            fprintf(stderr, " at byte %ld", u->offset);
        fputs(": ", stderr);
        text_escaped(stderr, u->text, strlen(u->text));
        fputs(")\n", stderr);
    }
    return 0;
}

/* A folder's certificate files are named so. */
static bool cert_name(const char *name)
{
    static const char *const ext[] = { ".pem", ".crt", ".cer", ".der", ".p7b", ".p7c" };
    size_t n = strlen(name);
    if (name[0] == '.')
        return false;
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
        if (n > 4 && strcasecmp(name + n - 4, ext[i]) == 0)
            return true;
    return false;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The certificate files of the folder @path, in name order. */
static int one_folder(struct certs_run *c, const char *path)
{
    DIR *d = opendir(path);
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;

    if (!d) {
        skipped(path, "%s (skipped)", strerror(errno));
        c->rep->files_skipped++;
        return 0;
    }
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (!cert_name(de->d_name)) {
            c->rep->ignored++;
            continue;
        }
        if (n >= CERT_FILES_MAX) {
            snprintf(c->e->text, sizeof(c->e->text), "--certs: %s: more than %d files", path,
                     CERT_FILES_MAX);
            rc = -E2BIG;
            goto out;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **v = realloc(names, ncap * sizeof(*v));
            if (!v) {
                rc = -ENOMEM;
                goto out;
            }
            names = v;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name))) {
            rc = -ENOMEM;
            goto out;
        }
        n++;
    }
    if (n) /* names is NULL when the folder holds none */
        qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n && rc == 0; i++) {
        char file[CERT_NAME_MAX];
        if (*c->stop) {
            rc = -EINTR;
        } else if (snprintf(file, sizeof(file), "%s/%s", path, names[i]) >= (int)sizeof(file)) {
            skipped(names[i], "a path longer than %d bytes (skipped)", CERT_NAME_MAX);
            c->rep->files_skipped++;
        } else {
            rc = one_file(c, file);
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

int audit_read_certs(struct sm_audit *au, struct sm_dir *dir, const char *const *paths, size_t n,
                     const volatile sig_atomic_t *stop, struct audit_certs_report *rep,
                     struct sm_errinfo *e)
{
    struct certs_run c = { .au = au, .dir = dir, .stop = stop, .rep = rep, .e = e };
    int rc = 0;

    memset(rep, 0, sizeof(*rep));
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct stat st;
        if (*stop)
            return -EINTR;
        if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
            rc = one_folder(&c, paths[i]);
        else
            rc = one_file(&c, paths[i]);
    }
    return rc;
}

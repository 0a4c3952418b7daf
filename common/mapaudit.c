/*
 * common/mapaudit.c - the write-back's audit log and its sequence (mapaudit.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mapaudit.h"
#include "su_clock.h"

struct mapaudit {
    int fd;
};

/*
 * One write at a time in the whole process: plan, lines and modify (not dry runs). Not a lock of
 * the log's: strongmapd opens its log again in a new struct mapaudit at each reload, while writes
 * begun under the previous runtime go on with the previous one (the same file, another
 * descriptor), and those must wait for each other too. Every line is appended under it, so the
 * lines of two descriptors of one file follow each other whole (the file lock, taken on each
 * descriptor in turn, never finds the other one's). The lock is write_busy, taken and given back
 * under write_mu, which is held only for that: a waiter waits on write_cond (CLOCK_MONOTONIC)
 * with a deadline, and the writes waiting are counted, so that a caller can refuse at once the
 * ones past its bound (mapaudit.h).
 */
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t write_cond; /* write_busy went false; set up by init_cond() */
static pthread_once_t write_once = PTHREAD_ONCE_INIT;
static bool write_busy;         /* a write holds the lock (under write_mu) */
static unsigned write_waiting;  /* writes waiting for it (under write_mu) */
static unsigned long write_seq; /* writes of this process, for their ids (under write_mu) */

static void init_cond(void)
{
    pthread_condattr_t ca;

    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&write_cond, &ca);
    pthread_condattr_destroy(&ca);
}

/*
 * Take the process's write lock, waiting MAPAUDIT_LOCK_WAIT_MS at most, unless @max_waiting
 * writes wait already; its id into @id. 0, or -EBUSY with the reason in @e.
 */
static int lock_writes(unsigned max_waiting, char *id, size_t id_size, struct sm_errinfo *e)
{
    struct timespec until = su_ts_add_ms(su_mono_ts(), MAPAUDIT_LOCK_WAIT_MS);
    int r = 0;

    pthread_once(&write_once, init_cond);
    pthread_mutex_lock(&write_mu);
    if (write_busy && write_waiting >= max_waiting) {
        if (write_waiting)
            snprintf(e->text, sizeof(e->text),
                     "another write is in progress and %u wait%s for it already: nothing was "
                     "done, retry later",
                     write_waiting, write_waiting == 1 ? "s" : "");
        else
            snprintf(e->text, sizeof(e->text),
                     "another write is in progress: nothing was done, retry later");
        r = -EBUSY;
        goto out;
    }
    write_waiting++;
    while (write_busy && pthread_cond_timedwait(&write_cond, &write_mu, &until) != ETIMEDOUT)
        ;
    write_waiting--;
    if (write_busy) {
        snprintf(e->text, sizeof(e->text),
                 "the write in progress did not end within %u s: nothing was done, retry later",
                 MAPAUDIT_LOCK_WAIT_MS / 1000);
        r = -EBUSY;
        goto out;
    }
    write_busy = true;
    snprintf(id, id_size, "%llx-%lx-%lu", (unsigned long long)time(NULL), (unsigned long)getpid(),
             ++write_seq);
out:
    pthread_mutex_unlock(&write_mu);
    return r;
}

static void unlock_writes(void)
{
    pthread_mutex_lock(&write_mu);
    write_busy = false;
    pthread_cond_signal(&write_cond);
    pthread_mutex_unlock(&write_mu);
}

/* fsync() the directory holding @path (best effort: the name of a file just created). */
static void sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int fd;

    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else if ((size_t)(slash - path) < sizeof(dir))
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    else
        return;
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

int mapaudit_open(const char *path, struct mapaudit **ret, struct sm_errinfo *e)
{
    struct mapaudit *log;
    struct stat st;
    int fd, r;

    if (!path || !path[0]) {
        snprintf(e->text, sizeof(e->text), "no audit log named");
        return -EINVAL;
    }
    /* non-blocking, so that a FIFO without a reader fails (ENXIO) instead of hanging the start;
       any FIFO is refused below, and O_NONBLOCK means nothing to a regular file */
    fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK,
              0640);
    if (fd < 0) {
        r = -errno;
        snprintf(e->text, sizeof(e->text), "cannot open the audit log %.300s: %s", path,
                 r == -ENXIO ? "a FIFO nothing reads (the audit log must be a regular file)"
                             : strerror(-r));
        return r;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(e->text, sizeof(e->text), "the audit log %.300s is not a regular file", path);
        close(fd);
        return -EPERM;
    }
    if (st.st_uid != geteuid()) {
        snprintf(e->text, sizeof(e->text),
                 "the audit log %.300s belongs to uid %u, not to the user writing it (%u): "
                 "another user could rewrite the record",
                 path, (unsigned)st.st_uid, (unsigned)geteuid());
        close(fd);
        return -EPERM;
    }
    if (st.st_mode & 0027) {
        snprintf(e->text, sizeof(e->text),
                 "the audit log %.300s has mode %04o: others may read it or the group may "
                 "write it (chmod 0640 or 0600)",
                 path, (unsigned)(st.st_mode & 07777));
        close(fd);
        return -EPERM;
    }
    if (!(log = calloc(1, sizeof(*log)))) {
        close(fd);
        return -ENOMEM;
    }
    log->fd = fd;
    sync_parent(path); /* a file just created: its name survives a crash too */
    *ret = log;
    return 0;
}

struct mapaudit *mapaudit_close(struct mapaudit *log)
{
    if (!log)
        return NULL;
    close(log->fd);
    free(log);
    return NULL;
}

/*
 * Take the file lock of @fd (flock(LOCK_EX), see mapaudit.h) without blocking: tried again after
 * 1 ms, 2 ms, ... up to 64 ms between tries, for MAPAUDIT_FILE_LOCK_WAIT_MS. 0, -EWOULDBLOCK
 * when another holds it still, or flock()'s -errno (a file system without locks).
 */
static int lock_file(int fd)
{
    struct timespec until = su_ts_add_ms(su_mono_ts(), MAPAUDIT_FILE_LOCK_WAIT_MS);
    struct timespec pause = { 0, 1000000 };

    for (;;) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return 0;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK)
            return -errno;
        if (su_ts_diff_ms(until, su_mono_ts()) <= 0)
            return -EWOULDBLOCK;
        (void)nanosleep(&pause, NULL);
        if (pause.tv_nsec < 64000000)
            pause.tv_nsec *= 2;
    }
}

/*
 * Append @line and a newline in one write() under the file lock, then fsync() it. 0, -errno, or
 * -EWOULDBLOCK when the file lock was not had in time (nothing was written).
 */
static int append_line(struct mapaudit *log, const char *line)
{
    size_t len = strlen(line), done = 0;
    off_t before;
    char *buf;
    int r;

    if (len >= MAPAUDIT_LINE_MAX)
        return -E2BIG;
    if (!(buf = malloc(len + 1)))
        return -ENOMEM;
    memcpy(buf, line, len);
    buf[len++] = '\n';
    if ((r = lock_file(log->fd)) < 0)
        goto out;
    /* the end as it is under the lock: what another process appended stays before it */
    if ((before = lseek(log->fd, 0, SEEK_END)) < 0) {
        r = -errno;
        goto out_unlock;
    }
    while (done < len) {
        ssize_t n = write(log->fd, buf + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            r = n < 0 ? -errno : -EIO;
            break;
        }
        done += (size_t)n;
    }
    /* a line cut short (a full disk) is taken back, so that the next one does not join it */
    if (r < 0 && done > 0 && ftruncate(log->fd, before) < 0)
        r = -errno;
out_unlock:
    (void)flock(log->fd, LOCK_UN);
    if (r == 0 && fsync(log->fd) < 0)
        r = -errno;
out:
    free(buf);
    return r;
}

static int log_phase(struct mapaudit *log, const struct sm_mapwrite *m, const char *phase,
                     const char *id, const struct sm_mapwrite_actor *who)
{
    char *line = NULL;
    int r = sm_json_mapwrite_audit(m, phase, id, time(NULL), who, &line);

    if (r == 0)
        r = append_line(log, line);
    free(line);
    return r;
}

/* The reason a line could not be appended (append_line()'s @r). */
static const char *append_error(int r)
{
    return r == -EWOULDBLOCK ? "another process holds the file's lock (flock) for too long"
                             : strerror(-r);
}

/* The audit log's file lock was not had for the first line: nothing written, nothing sent. */
static int refuse_busy(struct sm_mapwrite **m, struct sm_errinfo *e)
{
    *m = sm_mapwrite_free(*m);
    snprintf(e->text, sizeof(e->text),
             "the audit log is locked by another process (flock) for more than %u s: nothing "
             "was written or changed, retry later",
             MAPAUDIT_FILE_LOCK_WAIT_MS / 1000);
    return -EBUSY;
}

int mapaudit_run(struct mapaudit *log, struct sm_dir *dir, struct sm_dir *wdir,
                 const struct sm_mapwrite_request *req, bool apply, unsigned max_waiting,
                 const struct sm_mapwrite_actor *who, struct sm_mapwrite **ret,
                 struct sm_errinfo *e)
{
    struct sm_mapwrite *m = NULL;
    char id[64];
    int r;

    *ret = NULL;
    if (!apply) /* a dry run: no lock, no line (see mapaudit.h) */
        return sm_mapwrite_plan(dir, req, ret, e);
    if (!log || !wdir) {
        snprintf(e->text, sizeof(e->text), "writing needs an audit log and a write bind");
        return -EINVAL;
    }
    if ((r = lock_writes(max_waiting, id, sizeof(id), e)) < 0)
        return r;
    if ((r = sm_mapwrite_plan(dir, req, &m, e)) < 0)
        goto out;
    if (m->outcome != SM_MAPWRITE_WOULD_ADD && m->outcome != SM_MAPWRITE_WOULD_REMOVE) {
        if ((r = log_phase(log, m, "result", id, who)) == -EWOULDBLOCK)
            r = refuse_busy(&m, e);
        else if (r < 0)
            snprintf(e->text, sizeof(e->text), "the audit log's result line: %s", append_error(r));
        goto out;
    }
    if ((r = log_phase(log, m, "intent", id, who)) == -EWOULDBLOCK) {
        r = refuse_busy(&m, e);
        goto out;
    } else if (r < 0) {
        snprintf(e->text, sizeof(e->text),
                 "the audit log's intent line could not be written (%s): nothing was changed",
                 append_error(r));
        r = -EIO;
        goto out;
    }
    int err = sm_mapwrite_apply(wdir, m, e);
    if ((r = log_phase(log, m, "result", id, who)) < 0) {
        size_t len = err < 0 ? strlen(e->text) : 0;
        snprintf(e->text + len, sizeof(e->text) - len,
                 "%sthe outcome (%s) stands, but the audit log's result line could not be "
                 "written (%s)",
                 len ? "; " : "", sm_mapwrite_outcome_name(m->outcome), append_error(r));
        r = err < 0 ? err : -EIO;
        goto out;
    }
    r = err;
out:
    *ret = m;
    unlock_writes();
    return r;
}

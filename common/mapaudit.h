/*
 * common/mapaudit.h - mapping write-back as strongmapd's API and the strongmap CLI run it alike:
 * the append-only audit log, and the one sequence every write follows (docs/write-back.md).
 *
 *   plan (strongmap/mapwrite.h) -> dry run: done, nothing logged
 *   --apply, nothing to change (present, absent, refused) -> one "result" line
 *   --apply, a change -> "intent" line, fsync -> the LDAP modify -> "result" line, fsync
 *
 * No modify is sent unless its intent line is on disk; the answer is given once the result
 * line is. The log is JSON lines (sm_json_mapwrite_audit()), opened O_APPEND, created 0640,
 * refused when others may read it or anyone but its owner may write it.
 *
 * Two locks. The process's write lock, whatever log a write goes to, serialises whole writes
 * (plan, modify, lines), so two requests of one daemon cannot both pass the duplicate check for
 * the same value, not even across a reload, which opens the log again (a new struct mapaudit)
 * while writes begun before it still use the previous one. A write waits for it at most
 * MAPAUDIT_LOCK_WAIT_MS, and only as many writes as the caller allows wait at once; the others
 * are refused at once (-EBUSY, nothing planned, written or sent): a write stuck on a directory
 * that does not answer holds the lock up to the directory's deadlines, and the writes queued
 * behind it must not take every thread of a server. The audit log's file lock, flock(LOCK_EX)
 * on its descriptor, is held around each append (and the truncation of a line cut short), so
 * that another process appending to the same file (the CLI beside the daemon, two CLIs) never
 * interleaves with a line or loses one to that truncation. It is tried without blocking, again
 * and again for MAPAUDIT_FILE_LOCK_WAIT_MS; a holder that keeps it longer refuses the write
 * before its first line (-EBUSY: nothing was sent). flock(), not fcntl() record locks: those
 * belong to the process, so closing the previous runtime's descriptor of the log would drop the
 * lock the new one holds, and two descriptors of one process would not exclude each other.
 *
 * Dry runs take neither lock: a slow or stalled one (a directory that does not answer) never
 * holds up a write, and what it answers is what the directory held when it read it; a write
 * that follows plans again under the lock. Nothing here logs.
 */
#ifndef SM_COMMON_MAPAUDIT_H
#define SM_COMMON_MAPAUDIT_H

#include <stdbool.h>

#include <strongmap/mapwrite.h>

#define MAPAUDIT_LINE_MAX (64 * 1024) /* bytes of one audit line (values are at most 4 KiB) */
/* The longest wait for the process's write lock, and for the audit log's file lock (each line) */
#define MAPAUDIT_LOCK_WAIT_MS      10000
#define MAPAUDIT_FILE_LOCK_WAIT_MS 5000

struct mapaudit;

/**
 * Open (create 0640) the audit log at @path for appending. 0, or -errno / -EPERM (a mode that
 * lets others read or group members write, not a regular file) with the reason in @e.
 */
int mapaudit_open(const char *path, struct mapaudit **ret, struct sm_errinfo *e);

/** Close; NULL is fine. Returns NULL. */
struct mapaudit *mapaudit_close(struct mapaudit *log);

/**
 * Plan @req on @dir and, when @apply, carry it out on @wdir (see above; @wdir may be @dir).
 * @log and @wdir are required when @apply, and the process's write lock is held throughout (a
 * write through another struct mapaudit waits, and so does one on a stalled directory, each for
 * MAPAUDIT_LOCK_WAIT_MS at most; when @max_waiting writes wait for it already, one more is
 * refused at once); a dry run (@apply false) is only the plan, without the lock and without a
 * line, so @dir must be a handle no other thread uses meanwhile (a handle serves one thread at a
 * time). Returns 0 with *@ret; a negative code with *@ret NULL when nothing was planned
 * (sm_mapwrite_plan()'s errors) or nothing was done: -EBUSY when the write lock was not had in
 * time, or the audit log's file lock for the first line (nothing was written or sent, a retry
 * may pass); or a negative code with *@ret set when the plan was made but the write did not end
 * well: -EIO when the intent line could not be written (nothing was sent), the modify's error
 * (outcome FAILED), -EIO when the result line could not be written after the modify (its
 * outcome stands; also when its file lock was not had in time). The reason is in @e.
 */
int mapaudit_run(struct mapaudit *log, struct sm_dir *dir, struct sm_dir *wdir,
                 const struct sm_mapwrite_request *req, bool apply, unsigned max_waiting,
                 const struct sm_mapwrite_actor *who, struct sm_mapwrite **ret,
                 struct sm_errinfo *e);

#endif

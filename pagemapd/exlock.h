/* exlock.h -- exclusive locks that keep a second daemon or tool off a
 * region file, and a second daemon off a socket. */
#ifndef PAGEMAP_EXLOCK_H
#define PAGEMAP_EXLOCK_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The lock is flock(LOCK_EX) on a private open of the file: it belongs to
 * that open file description alone. The fds the daemon passes to clients
 * are other opens of the file, so no client holds the lock, not even after
 * the daemon has crashed. (POSIX record locks would name their holder but
 * drop when the process closes any fd of the file; OFD locks name none.)
 * The holder's pid is therefore recorded in a small file beside the lock,
 * written after the lock is taken: it is read only to name the holder in
 * an error message, never trusted for anything else.
 */
struct exlock {
	int fd; /* the private open holding the lock; -1 when none */
	char pid_path[PATH_MAX]; /* where our pid is recorded; "" if none */
	int pid_in_lock;	 /* the record is the locked file itself */
};

/* exlock_take -- open @path with @flags (O_RDONLY, O_RDWR, O_CREAT ...)
 * and lock it exclusively without waiting; record our pid in @pid_path
 * (NULL: nowhere; it may be @path itself for a pure lock file). Returns 0,
 * -EBUSY when another open holds it (then *ret_holder, if not NULL, gets
 * the recorded pid or 0 when none is known), or -errno of the open. On
 * failure @ret is left with fd -1. */
int exlock_take(const char *path, int flags, const char *pid_path,
		struct exlock *ret, pid_t *ret_holder);

/* exlock_region -- exlock_take() for a region file or device at @path:
 * the pid goes to "@path.lock" for a regular file, nowhere for a device. */
int exlock_region(const char *path, int flags, struct exlock *ret,
		  pid_t *ret_holder);

#define EXLOCK_WHO_MAX 64u /* size of an exlock_who() buffer */

/* exlock_who -- name the holder @holder (a pid from exlock_take(), 0 when
 * unknown) for a message, in @buf (EXLOCK_WHO_MAX bytes): "another
 * pagemapd (pid 1234)", "pagemapctl (pid 1234)" (its command name when it
 * is not a pagemapd), "this process", or "another process" when no pid is
 * known. */
void exlock_who(pid_t holder, char *buf, size_t len);

/* exlock_release -- forget the pid record, then drop the lock. Fine on
 * a released or never taken lock. */
void exlock_release(struct exlock *l);

#endif

/* exlock.c -- exclusive locks on region files and sockets. */
#include "exlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* read_pid -- the pid recorded in @path, or 0. */
static pid_t
read_pid(const char *path)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;
	long v;
	char *end;

	if (fd < 0)
		return 0;
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	return v > 0 && v < (1l << 30) && (*end == '\n' || *end == '\0')
		       ? (pid_t)v
		       : 0;
}

/* write_pid -- record our pid in @path (through @fd when it is the lock
 * file itself). Best effort: the record only names us in messages. */
static void
write_pid(const char *path, int lock_fd, const char *lock_path)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	int fd = lock_fd;

	if (strcmp(path, lock_path) != 0)
		fd = open(path,
			  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
			  0644);
	if (fd < 0)
		return;
	if (fd == lock_fd && ftruncate(fd, 0) < 0) {
		/* nothing to undo: the pwrite below says the rest */
	}
	(void)!pwrite(fd, buf, (size_t)n, 0);
	if (fd != lock_fd)
		close(fd);
}

int
exlock_take(const char *path, int flags, const char *pid_path,
	    struct exlock *ret, pid_t *ret_holder)
{
	int fd, r;

	ret->fd = -1;
	ret->pid_path[0] = '\0';
	ret->pid_in_lock = 0;
	if (pid_path && strlen(pid_path) >= sizeof(ret->pid_path))
		return -ENAMETOOLONG;
	fd = open(path, flags | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EBUSY : -errno;
		close(fd);
		if (ret_holder)
			*ret_holder = r == -EBUSY && pid_path
					      ? read_pid(pid_path)
					      : 0;
		return r;
	}
	ret->fd = fd;
	ret->pid_in_lock = pid_path && strcmp(pid_path, path) == 0;
	if (pid_path) {
		snprintf(ret->pid_path, sizeof(ret->pid_path), "%s", pid_path);
		write_pid(pid_path, fd, path);
	}
	return 0;
}

int
exlock_region(const char *path, int flags, struct exlock *ret,
	      pid_t *ret_holder)
{
	char pid_path[PATH_MAX];
	struct stat st;

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode))
		return exlock_take(path, flags, NULL, ret, ret_holder);
	if ((size_t)snprintf(pid_path, sizeof(pid_path), "%s.lock", path) >=
	    sizeof(pid_path))
		return -ENAMETOOLONG;
	return exlock_take(path, flags, pid_path, ret, ret_holder);
}

void
exlock_who(pid_t holder, char *buf, size_t len)
{
	char path[64], comm[32] = "";
	ssize_t n = -1;
	int fd;

	if (holder <= 0) {
		snprintf(buf, len, "another process");
		return;
	}
	if (holder == getpid()) {
		snprintf(buf, len, "this process");
		return;
	}
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)holder);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
	}
	comm[n > 0 ? n : 0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
	/* The record may name a process that is gone (it is read only for
	 * messages); a pid without a name is still worth showing. */
	if (!comm[0] || strcmp(comm, "pagemapd") == 0)
		snprintf(buf, len, "another %s (pid %d)",
			 comm[0] ? comm : "process", (int)holder);
	else
		snprintf(buf, len, "%s (pid %d)", comm, (int)holder);
}

void
exlock_release(struct exlock *l)
{
	if (l->fd < 0)
		return;
	/* Forget the record while still holding the lock: whoever takes it
	 * next writes its own, and never sees ours as current. A lock file
	 * is emptied, never unlinked: a process that opened it before an
	 * unlink would lock the old inode while a third locks a new one. */
	if (l->pid_in_lock) {
		if (ftruncate(l->fd, 0) < 0) {
			/* the next holder overwrites it anyway */
		}
	} else if (l->pid_path[0]) {
		unlink(l->pid_path);
	}
	close(l->fd);
	l->fd = -1;
	l->pid_path[0] = '\0';
}

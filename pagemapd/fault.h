/* fault.h -- injected allocation and I/O failures for test builds. */
#ifndef PAGEMAP_FAULT_H
#define PAGEMAP_FAULT_H

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * SQLite's way of testing the paths nobody takes: every allocation and
 * every I/O call of the storage layers (journal, allocator, extent maps,
 * file table, region, media, verifier) goes through one of the wrappers
 * below, which ask fault_hit() first. A test counts the sites a workload
 * passes (fault_count()), then arms the k-th to fail once or from there on
 * (fault_arm()) for every k, and checks that each failure is a clean
 * -errno, leaks nothing and leaves whole transactions on the media.
 *
 * An injected allocation failure returns NULL (errno ENOMEM); an injected
 * I/O or sync failure returns -1 with errno EIO, and a persist -EIO.
 * Syncs are a class of their own so that a test can fail a persist
 * without counting the writes before it.
 *
 * Only builds with PAGEMAP_FAULTS have the counters (they follow
 * PAGEMAP_CRASH_POINTS: the test hooks are in or out together); elsewhere
 * fault_hit() is a constant false and the wrappers are the calls they
 * wrap.
 */

enum fault_class {
	FAULT_ALLOC, /* malloc, calloc, realloc, an anonymous mmap */
	FAULT_IO,    /* open, pread, pwrite, ftruncate, lseek */
	FAULT_SYNC,  /* a persist (msync or a pmem2 flush), fdatasync */
	FAULT_NCLASS,
};

#ifdef PAGEMAP_FAULTS

/* fault_hit -- count one call of class @c; true if it must fail. */
bool fault_hit(enum fault_class c);

/* fault_arm -- make the @nth call of class @c from now (1 = the next one)
 * fail, and with @persistent every one after it too; 0 disarms @c. Resets
 * @c's count and its failures. */
void fault_arm(enum fault_class c, uint64_t nth, bool persistent);

/* fault_reset -- disarm every class and zero the counts. */
void fault_reset(void);

/* fault_count -- calls of class @c since it was last armed or reset. */
uint64_t fault_count(enum fault_class c);

/* fault_failed -- calls of class @c made to fail since then. */
uint64_t fault_failed(enum fault_class c);

/* fault_arm_env -- arm from $PAGEMAPD_FAULT ("alloc:N", "io:N" or
 * "sync:N", with a trailing "+" for persistent, e.g. "sync:1+"), counted
 * from this call; the daemon calls it once its regions are attached. Returns 0, or -EINVAL for a bad value
 * (nothing armed). */
int fault_arm_env(void);

#else

static inline bool
fault_hit(enum fault_class c)
{
	(void)c;
	return false;
}

static inline int
fault_arm_env(void)
{
	return 0;
}

#endif

/* ---- the wrappers: the call, unless an injected fault fails it -------- */

static inline void *
fault_malloc(size_t n)
{
	if (fault_hit(FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return malloc(n);
}

static inline void *
fault_calloc(size_t n, size_t size)
{
	if (fault_hit(FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return calloc(n, size);
}

static inline void *
fault_realloc(void *p, size_t n)
{
	if (fault_hit(FAULT_ALLOC)) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(p, n);
}

/* fault_io -- true (errno EIO) if this I/O call must fail. */
static inline bool
fault_io(void)
{
	if (!fault_hit(FAULT_IO))
		return false;
	errno = EIO;
	return true;
}

/* open(2) with two or three arguments. */
#define fault_open(...) (fault_io() ? -1 : open(__VA_ARGS__))

static inline ssize_t
fault_pread(int fd, void *buf, size_t n, off_t off)
{
	return fault_io() ? -1 : pread(fd, buf, n, off);
}

static inline ssize_t
fault_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return fault_io() ? -1 : pwrite(fd, buf, n, off);
}

static inline int
fault_fdatasync(int fd)
{
	if (fault_hit(FAULT_SYNC)) {
		errno = EIO;
		return -1;
	}
	return fdatasync(fd);
}

static inline int
fault_ftruncate(int fd, off_t size)
{
	return fault_io() ? -1 : ftruncate(fd, size);
}

static inline off_t
fault_lseek(int fd, off_t off, int whence)
{
	return fault_io() ? -1 : lseek(fd, off, whence);
}

#endif

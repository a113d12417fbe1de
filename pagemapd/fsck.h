/* fsck.h -- offline consistency check of a region (its metadata file and
 * the pairing with its data file). */
#ifndef PAGEMAP_FSCK_H
#define PAGEMAP_FSCK_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct fsck_report {
	uint64_t region_size;
	uint32_t max_order;
	uint32_t files; /* named, in use */
	uint32_t orphans;
	uint64_t extents;
	uint64_t used_pages; /* data pages allocated */
	uint64_t free_pages;
	uint32_t errors; /* problems found */
	uint32_t repairable; /* of those, fixed by repair_region() */
	int journal_replayed; /* 1 if a committed transaction was pending */
	/* Information, not a fault: the superblock says pins of this boot
	 * may be outstanding (a daemon did not detach it cleanly, or still
	 * has it attached); they are in the pin tables of its runtime
	 * directory. */
	int pins_this_boot;
	char uuid[37];
	/* How the data file is paired with the metadata (pair.h):
	 * "uuid", "size" (no xattrs there), "unmarked" (no uuid on it), or
	 * "" when that could not be checked. */
	const char *pairing;
	uint64_t data_size; /* bytes of the data file now */
	char first_error[256]; /* "" when errors == 0 */
	int stale; /* FSCK_LIVE: another process held the lock (may write) */
	pid_t holder; /* its pid when it held the lock; 0 unknown or none */
};

enum fsck_flags {
	/* Check a region another process (a daemon serving it) holds the
	 * lock of, read-only; the result may be stale or show a write that
	 * was under way. */
	FSCK_LIVE = 1u << 0,
};

/* fsck_region_flags -- check the region file @path without changing it:
 * the superblock, the journal (a pending transaction is applied to a
 * private copy), every inode and extent record, name uniqueness, extent
 * overlap, the bitmap against the extents, the orphan list. The file's
 * exclusive lock (exlock_region()) is held during the check, so no daemon
 * attaches it meanwhile; when another process holds it, the check is
 * refused with -EBUSY (@ret->holder and @ret->first_error name the
 * holder; nothing goes to @log), or with FSCK_LIVE in @flags made anyway,
 * read-only, with @ret->stale set. Each problem is printed as one line
 * on @log (may be NULL) and counted in @ret->errors. Returns 0 when the
 * file could be checked (even with errors), or -errno when it could not
 * be read at all or is not a region (@ret->first_error says why). */
int fsck_region_flags(const char *path, unsigned flags, struct fsck_report *ret,
		      FILE *log);

/* fsck_region_pair -- fsck_region_flags() of the region whose data file
 * is @path and metadata file @meta (NULL or "": "<path>.meta"). The
 * metadata file is the one locked and checked; the data file must carry
 * the metadata's uuid (where xattrs exist) and hold region_size bytes,
 * or that is a problem. A version 1 region is -EPROTONOSUPPORT (its
 * conversion is named in first_error). */
int fsck_region_pair(const char *path, const char *meta, unsigned flags,
		     struct fsck_report *ret, FILE *log);

/* fsck_region -- fsck_region_flags() without flags: a region in use is
 * refused. */
int fsck_region(const char *path, struct fsck_report *ret, FILE *log);

/* fsck_file_size -- the size of the region file or device open as @fd
 * (devices by seeking); *ret_plain (may be NULL) tells a plain file.
 * Returns 0 or -errno. */
int fsck_file_size(int fd, uint64_t *ret, bool *ret_plain);

#endif

/* fsck.h -- offline consistency check of a region file. */
#ifndef PAGEMAP_FSCK_H
#define PAGEMAP_FSCK_H

#include <stdint.h>
#include <stdio.h>

struct fsck_report {
	uint64_t region_size;
	uint32_t max_order;
	uint32_t files; /* named, in use */
	uint32_t orphans;
	uint64_t extents;
	uint64_t used_pages; /* data pages allocated */
	uint64_t free_pages;
	uint32_t errors; /* problems found */
	int journal_replayed; /* 1 if a committed transaction was pending */
	/* Information, not a fault: the superblock says pins of this boot
	 * may be outstanding (a daemon did not detach it cleanly, or still
	 * has it attached); they are in the pin tables of its runtime
	 * directory. */
	int pins_this_boot;
	char uuid[37];
	char first_error[256]; /* "" when errors == 0 */
};

/* fsck_region -- check the region file @path without changing it: the
 * superblock, the journal (a pending transaction is applied to a private
 * copy), every inode and extent record, name uniqueness, extent overlap,
 * the bitmap against the extents, the orphan list. Each problem is printed
 * as one line on @log (may be NULL) and counted in @ret->errors. Returns 0
 * when the file could be checked (even with errors), or -errno when it
 * could not be read at all or is not a region (@ret->first_error says
 * why). */
int fsck_region(const char *path, struct fsck_report *ret, FILE *log);

#endif

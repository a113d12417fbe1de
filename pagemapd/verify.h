/* verify.h -- the checks of a region's tables, shared by attach and fsck. */
#ifndef PAGEMAP_VERIFY_H
#define PAGEMAP_VERIFY_H

#include <stdint.h>

#include "layout.h"

enum verify_mode {
	VERIFY_FIRST, /* stop at the first fault (attach) */
	VERIFY_ALL, /* report every fault (fsck) */
};

/* What the tables hold, counted over the records that passed. */
struct verify_result {
	uint32_t faults; /* faults reported */
	/* Of those, the ones `pagemapctl fsck --repair` fixes (repair.h):
	 * two extents sharing region pages, and the bitmap
	 * disagreeing with the extents. Counted before the fault callback
	 * is called, so it can tell a fixable fault from another. */
	uint32_t repairable;
	uint32_t files; /* named, in use */
	uint32_t orphans;
	uint64_t extents; /* extent records in use */
	uint64_t used_pages; /* data pages the bitmap marks allocated */
};

/* A fault: one line, no trailing newline, valid only during the call. */
typedef void (*verify_fault_fn)(void *ctx, const char *line);

/* verify_tables -- check the tables of the region mapped at @base, whose
 * superblock @sb has passed layout_super_check() (after any journal
 * replay): every inode and extent record (layout_*_check), name
 * uniqueness, the orphan list (exactly the orphans, each once, no
 * cycle), extent owners and bounds, overlap of extents in the region and
 * within a file, and the bitmap against the extents over the data area.
 * Each fault goes to @fault (may be NULL) and is counted in
 * @ret->faults; with VERIFY_FIRST the check ends at the first. Reads
 * only. Returns 0 (faults or not) or -ENOMEM. */
int verify_tables(const struct pm_super *sb, const uint8_t *base,
		  enum verify_mode mode, verify_fault_fn fault, void *ctx,
		  struct verify_result *ret);

#endif

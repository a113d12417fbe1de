/* repair.h -- offline repair of the faults of a region file that can be
 * fixed without losing data (pagemapctl fsck --repair). */
#ifndef PAGEMAP_REPAIR_H
#define PAGEMAP_REPAIR_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct repair_report {
	uint32_t changes; /* planned (dry run) or made */
	uint32_t unfixable; /* faults repair does not fix: nothing changed */
	/* Orphans left alone: pins of this boot may be outstanding. Not a
	 * fault (attach frees them when their leases are gone). */
	uint32_t orphans_kept;
	uint32_t faults_after; /* faults the repaired tables still have */
	int applied; /* the changes were written (REPAIR_APPLY) */
	int journal_replayed; /* a committed transaction was pending */
	char first_error[256]; /* why it could not run; "" otherwise */
	pid_t holder; /* -EBUSY: the lock's holder, 0 when unknown */
};

enum repair_flags {
	/* Write the changes; without it, plan them on a private copy and
	 * change nothing. */
	REPAIR_APPLY = 1u << 0,
};

/* repair_region -- repair the region file @path under its exclusive lock
 * (exlock_region(); a served region is refused with -EBUSY, naming the
 * holder in @ret). Fixed, when the tables have no other fault: the bitmap
 * made the union of the extents; extents sharing region pages (the page
 * stays with the extent of the lower extent-table slot, the other file
 * gets a hole there, its size unchanged, and every file involved is
 * renamed "damaged.<ino>.<name>"); orphans freed, unless the superblock's
 * pin record names this boot. Any other fault: reported, nothing changed.
 * Each change (or fault) is one line on @log (may be NULL). With
 * REPAIR_APPLY every change is one journal transaction (a crash leaves
 * the old or the new state); without it the same changes are made to a
 * private mapping only, and checked. Returns 0 when the file could be
 * examined (see @ret), or -errno (@ret->first_error says why). */
int repair_region(const char *path, unsigned flags, struct repair_report *ret,
		  FILE *log);

/* repair_region_pair -- repair_region() of the region whose data file is
 * @path and metadata file @meta (NULL or "": "<path>.meta"): the
 * metadata file is locked and repaired; besides, a data file a client cut
 * short of region_size is extended back to it (the lost bytes read as
 * zeroes), one change. */
int repair_region_pair(const char *path, const char *meta, unsigned flags,
		       struct repair_report *ret, FILE *log);

#endif

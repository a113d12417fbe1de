/* convert.h -- offline conversion of a version 1 region file (metadata
 * inside the data file) into a version 2 region (pagemapctl region
 * convert). */
#ifndef PAGEMAP_CONVERT_H
#define PAGEMAP_CONVERT_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct convert_report {
	uint64_t meta_size; /* bytes of the metadata file written */
	uint64_t data_off;  /* where the data area begins in the data file */
	uint32_t files;	    /* named files */
	uint32_t orphans;
	int resumed; /* an interrupted conversion was finished */
	int already; /* nothing to do: the region is version 2 */
	char uuid[37];
	char first_error[256]; /* why it could not run; "" otherwise */
	pid_t holder;	       /* -EBUSY: the lock's holder, 0 when unknown */
};

/* convert_region -- convert the version 1 region file @path into a
 * version 2 region whose metadata file is @meta (NULL or "":
 * "<path>.meta"), under both files' locks (a served region is refused
 * with -EBUSY). The pending journal is replayed (in DRAM), the tables
 * are verified (any fault: -EUCLEAN, nothing written), then, in this
 * order, each step durable before the next: the metadata file is written
 * as version 2 (data_off keeps the data where it is) under a temporary
 * name and renamed into place; the data file gets the region's uuid
 * (xattr user.pagemap.region, where xattrs exist); the old metadata area
 * of the data file is zeroed, its superblock page last. A rerun after a
 * crash at any point finishes the job (@ret->resumed). One line per step
 * on @log (may be NULL). Returns 0 (also when there was nothing to do:
 * @ret->already) or -errno with @ret->first_error. */
int convert_region(const char *path, const char *meta,
		   struct convert_report *ret, FILE *log);

#endif

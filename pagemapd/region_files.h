/* region_files.h -- a region's two files: lock, open or create, format. */
#ifndef PAGEMAP_REGION_FILES_H
#define PAGEMAP_REGION_FILES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "exlock.h"
#include "media.h"

/* What the open phase of an attach makes: the region takes them over. */
struct region_files {
	const char *path;      /* the data file (or devdax device) */
	const char *meta_path; /* the metadata file */
	bool meta_given;       /* meta_path was named, not derived */
	struct exlock lock;    /* on the metadata file */
	int fd;		       /* O_RDWR on the data file, -1 */
	int meta_fd;	       /* O_RDWR on the metadata file, -1 */
	uid_t uid;	       /* of the data file */
	gid_t gid;
	mode_t mode;
	struct pm_media media; /* the metadata file, mapped */
};

/* How to format a region the open phase creates. */
struct region_files_opts {
	uint64_t size; /* bytes; required with create for a new file */
	bool create;
	uint32_t max_order;
	uint32_t inode_count; /* 0: derive */
};

/* region_open_files -- the open phase of region_attach(): lock the
 * metadata file r->meta_path (creating it with @o->create), open it and
 * the data file r->path (creating that too), format a new region when
 * asked and the metadata file is empty, and map the metadata file into
 * r->media. *ret_created_meta / *ret_created_data are set for files this
 * call made (the caller removes them if the attach fails). A version 1
 * region file, and a data file whose metadata file is missing, are
 * refused with a message that names what to do. Returns 0 or -errno with
 * a reason in @err; what @r holds is the caller's to release either
 * way. */
int region_open_files(struct region_files *r, const struct region_files_opts *o,
		      bool *ret_created_meta, bool *ret_created_data,
		      char *err);

#endif

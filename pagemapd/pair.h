/* pair.h -- a region's two files: the metadata file's path and the pairing
 * of the metadata with its data file. */
#ifndef PAGEMAP_PAIR_H
#define PAGEMAP_PAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errmsg.h"
#include "layout.h"

/*
 * A region is a data file (or devdax device), which clients get fds of,
 * and a metadata file, which only the daemon and the offline tools open.
 * The metadata file of a plain data file is "<data>.meta" beside it unless
 * one is named; a devdax device needs one named (on a filesystem).
 *
 * They are paired by the region's uuid: the metadata superblock holds it
 * (with the data file's size, region_size), and the data file carries it
 * as the extended attribute PAIR_XATTR (36 characters of text). Setting
 * it takes ownership of the file (or write permission on it), which a
 * client holding an fd of it does not have. Where the filesystem has no
 * user extended attributes (or the data file is a device), the pairing
 * is by size only.
 */

#define PAIR_XATTR "user.pagemap.region"
#define PAIR_META_SUFFIX ".meta"

/* pair_meta_path -- the metadata file of the data file @data: @meta when
 * given (not NULL, not ""), else "<data>.meta", into @out (@len bytes).
 * Returns 0 or -ENAMETOOLONG. */
int pair_meta_path(const char *data, const char *meta, char *out, size_t len);

/* pair_get -- the region uuid the data file open as @fd carries. Returns
 * 0, -ENODATA (none), -EOPNOTSUPP (no user xattrs there), -EINVAL (not a
 * uuid) or -errno. */
int pair_get(int fd, uint8_t ret_uuid[16]);

/* pair_set -- mark the data file open as @fd as region @uuid's. Returns 0,
 * -EOPNOTSUPP (no user xattrs there) or -errno. */
int pair_set(int fd, const uint8_t uuid[16]);

/* What pair_check() found besides a refusal. */
enum pair_how {
	PAIR_UUID,    /* the data file carries the region's uuid */
	PAIR_SIZE,    /* no xattrs there: paired by size only */
	PAIR_MARKED,  /* it carried none; now it does (@may_mark) */
	PAIR_UNMARKED /* it carries none (not @may_mark) */
};

/* pair_check -- whether the data file @data (open as @fd, @data_size
 * bytes) belongs to the metadata @sb read from @meta: its uuid xattr, and
 * that it holds region_size bytes. With @may_mark, a data file without
 * the xattr gets it. Returns 0 (how in *ret_how), or -EINVAL (another
 * region's data file; the message names both paths) or -EIO (the data
 * file is shorter than the region) with the reason in @err. */
int pair_check(int fd, const char *data, uint64_t data_size, const char *meta,
	       const struct pm_super *sb, bool may_mark, enum pair_how *ret_how,
	       char *err);

#endif

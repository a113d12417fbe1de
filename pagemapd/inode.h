/* inode.h -- files of a region: names, sizes, owners, extent maps. */
#ifndef PAGEMAP_INODE_H
#define PAGEMAP_INODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "extent.h"
#include "layout.h"

struct lease;
struct region;

/* The DRAM image of one pm_inode record plus its extent map. It is the
 * arbiter of access: leases (issue 3) hang off it. */
struct inode {
	uint32_t slot; /* index in the inode table */
	uint32_t gen; /* slot generation; ino = gen << 32 | slot */
	uint64_t size; /* bytes */
	uint64_t mtime_ns;
	uid_t uid;
	gid_t gid;
	uint32_t mode; /* 07777 bits */
	bool orphan; /* unlinked, waiting for its final unpin */
	char name[PM_NAME_MAX + 1]; /* "" for an orphan */
	struct extent_map map;
	struct inode *hnext; /* name hash chain */
	uint32_t orphan_next; /* slot + 1, mirrors the record */
	struct lease *leases; /* leases on this file (lease.c) */
	uint32_t nleases;
	uint64_t grants; /* folios granted under those leases */
	uint64_t trunc_pg; /* a truncate is pending: no grants at or past this
			    * page; UINT64_MAX when none */
};

/* What `file stat` shows; filled by inode_info(). */
struct file_info {
	char name[PM_NAME_MAX + 1];
	uint64_t ino;
	uint64_t size;
	uint64_t allocated; /* bytes of region backing */
	uint32_t uid, gid, mode;
	uint32_t extents;
	uint32_t leases; /* issue 3 */
	uint64_t grants; /* issue 3 */
	bool orphan;
	uint64_t mtime_ns;
};

static inline uint64_t
inode_ino(const struct inode *ino)
{
	return (uint64_t)ino->gen << 32 | ino->slot;
}

/* inode_load -- build the DRAM inodes, name index, extent maps and the
 * allocator's used pages of @r from its (recovered, validated) tables.
 * Returns 0, -EUCLEAN with a reason in @err (REGION_ERR_MAX bytes) on an
 * inconsistency (duplicate name, overlapping extents, bitmap mismatch,
 * broken orphan list), -ENOMEM. */
int inode_load(struct region *r, char *err);

/* inode_unload -- free every DRAM inode and the name index of @r. */
void inode_unload(struct region *r);

/* inode_lookup -- the named file, or NULL. */
struct inode *inode_lookup(const struct region *r, const char *name);

/* inode_create -- create file @name of @size bytes (allocated and zeroed),
 * owned by @uid/@gid with @mode, in one
 * journal transaction. Returns 0, -EINVAL (bad name), -ENAMETOOLONG,
 * -EEXIST, -ENOSPC (no inode slot, extent slot or pages), -E2BIG (larger
 * than one transaction can describe), -EIO; *ret untouched on failure. */
int inode_create(struct region *r, const char *name, uint64_t size,
		 uint32_t mode, uid_t uid, gid_t gid, struct inode **ret);

/* inode_resize -- grow (allocating) or shrink (freeing whole pages past the
 * new end) @ino to @size bytes in one transaction. Same errors as
 * inode_create; on error the file is unchanged. */
int inode_resize(struct region *r, struct inode *ino, uint64_t size);

/* inode_unlink -- remove @ino's name and free it and its blocks in one
 * transaction; @ino is freed on success. Returns 0 or -EIO. */
int inode_unlink(struct region *r, struct inode *ino);

/* inode_orphan -- take @ino's name away and put it on the persistent
 * orphan list in one transaction (unlink of a file that still has
 * leases); it is freed with inode_unlink() at the end of its last lease,
 * or by the next attach after a crash. Returns 0 or -EIO. */
int inode_orphan(struct region *r, struct inode *ino);

/* inode_info -- describe @ino. */
void inode_info(const struct inode *ino, struct file_info *ret);

/* inode_at -- the inode in @slot, or NULL (free or out of range). */
struct inode *inode_at(const struct region *r, uint32_t slot);

#endif

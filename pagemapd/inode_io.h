/* inode_io.h -- the journaled operations on files (create, resize, unlink,
 * orphan) and the group commit of a batch of them. */
#ifndef PAGEMAP_INODE_IO_H
#define PAGEMAP_INODE_IO_H

#include <stdint.h>
#include <sys/types.h>

struct inode;
struct inode;
struct inode_table;

/* inode_create -- create file @name of @size bytes (allocated and zeroed),
 * owned by @uid/@gid with @mode, in one journal transaction. Returns 0,
 * -EINVAL (bad name), -ENAMETOOLONG, -EEXIST, -ENOSPC (no inode slot,
 * extent slot or pages), -E2BIG (larger than one transaction can
 * describe), -ENOMEM, -EIO (a write error; a failed commit or persist
 * also fails the table: see below), -EROFS (the table had failed);
 * *ret untouched on failure. */
int inode_create(struct inode_table *t, const char *name, uint64_t size,
		 uint32_t mode, uid_t uid, gid_t gid, struct inode **ret);

/* inode_resize -- grow (allocating) or shrink (freeing whole pages past the
 * new end) @ino to @size bytes in one transaction. Same errors as
 * inode_create; on error the file is unchanged. */
int inode_resize(struct inode_table *t, struct inode *ino, uint64_t size);

/* inode_unlink -- remove @ino's name and free it and its blocks in one
 * transaction (several through the orphan list when its extents do not
 * fit in one); @ino is freed on success. Returns 0, -ENOMEM, -EIO
 * or -EROFS. */
int inode_unlink(struct inode_table *t, struct inode *ino);

/* inode_orphan -- take @ino's name away and put it on the persistent
 * orphan list in one transaction (unlink of a file that still has
 * leases); it is freed with inode_unlink() at the end of its last lease,
 * or by the next attach after a crash. Returns 0, -ENOMEM, -EIO or
 * -EROFS. */
int inode_orphan(struct inode_table *t, struct inode *ino);

/* inode_reclaim_orphans -- free every orphan on the persistent list of a
 * loaded @t (what a crash left between an unlink and its final unpin)
 * that has no lease (one restored from a pin table keeps it).
 * Returns 0, or -EUCLEAN / -errno with a reason in @err. */
int inode_reclaim_orphans(struct inode_table *t, char *err);

/* inode_commit -- make every operation staged on @t since the last commit
 * durable in one journal transaction (group commit); then pages the batch
 * freed become allocatable. Returns 0 (also when nothing was staged) or
 * -EIO, after which @t is failed (t->failed). */
int inode_commit(struct inode_table *t);

/* A failed table (t->failed: a commit or a persist failed; it is never
 * retried) refuses every operation above with -EROFS, whose words these
 * are. Reads, listings and detach still work. */
#define INODE_FAILED_MSG                                                       \
	"the region failed after a write error and is read-only; detach it "   \
	"and run pagemapctl fsck on its file"

/* inode_strerror -- a person's words for an error of the operations
 * above (a negative errno). */
const char *inode_strerror(int err);

#endif

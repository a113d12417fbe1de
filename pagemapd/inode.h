/* inode.h -- the files of a region: DRAM inodes, names, slots, loading. */
#ifndef PAGEMAP_INODE_H
#define PAGEMAP_INODE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "errmsg.h"
#include "extent.h"
#include "journal.h"
#include "layout.h"
#include "media.h"

struct alloc;
struct lease;

/* The DRAM image of one pm_inode record plus its extent map. It is the
 * arbiter of access: leases (lease.c) hang off it. */
struct inode {
	uint32_t slot; /* index in the inode table */
	uint32_t gen;  /* slot generation; ino = gen << 32 | slot */
	uint64_t size; /* bytes */
	uint64_t mtime_ns;
	uid_t uid;
	gid_t gid;
	uint32_t mode;		    /* 07777 bits */
	bool orphan;		    /* unlinked, waiting for its final unpin */
	char name[PM_NAME_MAX + 1]; /* "" for an orphan */
	struct extent_map map;
	struct inode *hnext;  /* name hash chain */
	uint32_t orphan_next; /* slot + 1, mirrors the record */
	struct lease *leases; /* leases on this file (lease.c) */
	uint32_t nleases;
	uint64_t grants;   /* folios granted under those leases */
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
	uint32_t leases; /* leases on the file */
	uint64_t grants; /* folios granted under them */
	bool orphan;
	uint64_t mtime_ns;
};

static inline uint64_t
inode_ino(const struct inode *ino)
{
	return (uint64_t)ino->gen << 32 | ino->slot;
}

/* A run of region pages freed by a staged batch: allocatable only once the
 * batch is durable. */
struct inode_run {
	uint64_t pg;
	uint64_t n;
};

/*
 * The files of one region. The region fills in the first five fields (what
 * the table works on) before inode_load() and owns them; the rest is the
 * table's.
 */
struct inode_table {
	struct pm_media *media;	   /* the region's metadata */
	struct pm_data *data;	   /* its data file (NULL: none, tests) */
	const struct pm_super *sb; /* in the mapping; changed only by journal */
	struct journal *journal; /* every change of a record goes through it */
	struct alloc *alloc;	 /* data pages */
	/* Group commit (see inode_commit()): with group_commit set, file
	 * operations stage their records in one shared journal transaction
	 * and the owner commits it once per batch. */
	bool group_commit;
	bool failed; /* a commit or persist failed: read-only (inode_io.h) */
	bool failed_logged; /* the daemon has said so (server.c) */
	uint32_t batch_ops; /* operations staged and not yet committed */
	struct inode_run *pending_free;	   /* freed by the batch: reusable */
	size_t npending_free, pending_cap; /* only once it is durable */
	struct inode **inodes; /* by slot, NULL = free; sb->inode_count long */
	struct inode **names;  /* name hash buckets */
	uint32_t nbuckets;
	uint32_t nfiles; /* named files */
	uint32_t norphans;
	uint32_t orphan_head;  /* DRAM mirror of sb->orphan_head */
	uint32_t free_extents; /* free extent-table slots */
	uint32_t extent_hint;  /* where to start looking for a free slot */
	uint32_t inode_hint;
	uint32_t *gens;	   /* generation of every inode slot, used or free */
	uint8_t *ext_used; /* bit per extent slot: in use */
};

/* inode_load -- build the DRAM inodes, name index, extent maps and the
 * allocator's used pages of @t from its tables, which verify_tables() has
 * passed. Returns 0, -ENOMEM, or -EUCLEAN with a reason in @err
 * (ERRMSG_MAX bytes) when the allocator refuses an extent's pages. */
int inode_load(struct inode_table *t, char *err);

/* inode_unload -- free every DRAM inode and the name index of @t (a table
 * never loaded, all zeroes, is fine). */
void inode_unload(struct inode_table *t);

/* inode_find -- the file of @t named @name, or NULL. */
struct inode *inode_find(const struct inode_table *t, const char *name);

/* inode_slot -- the inode of @t in @slot, or NULL (free or out of range). */
struct inode *inode_slot(const struct inode_table *t, uint32_t slot);

/* inode_name_add / inode_name_remove -- enter @ino in, or take it out of,
 * the name index of @t. */
void inode_name_add(struct inode_table *t, struct inode *ino);
void inode_name_remove(struct inode_table *t, struct inode *ino);

/* inode_info -- describe @ino. */
void inode_info(const struct inode *ino, struct file_info *ret);

#endif

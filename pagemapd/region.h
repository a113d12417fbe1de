/* region.h -- a pmem region: its data and metadata files, persistent
 * layout, files. */
#ifndef PAGEMAP_REGION_H
#define PAGEMAP_REGION_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "errmsg.h"
#include "exlock.h"
#include "inode.h"
#include "journal.h"
#include "layout.h"
#include "media.h"

struct alloc;

#define REGION_NAME_MAX 63u
#define REGION_ERR_MAX ERRMSG_MAX /* size of an error message buffer */

enum region_kind {
	REGION_FILE, /* plain file, page-granular persist (msync) */
	REGION_FSDAX, /* file on a DAX filesystem */
	REGION_DEVDAX, /* /dev/daxX.Y character device */
};

struct region;

/* What the layer above does inside an attach (storage never calls up into
 * clients itself). */
struct attach_hooks {
	/* restore_pins -- the pins phase: take back the pins that outlived
	 * a daemon of this boot (I6), after load and before reclaim. 0 or
	 * -errno with a reason in @err (REGION_ERR_MAX bytes). */
	int (*restore_pins)(struct region *r, void *ctx, char *err);
	/* forget_pins -- the attach failed after restore_pins: drop what it
	 * made, leaving the tables for the next attach. */
	void (*forget_pins)(struct region *r, void *ctx);
	void *ctx;
};

struct region_opts {
	const char *meta; /* metadata file; NULL or "": "<path>.meta" */
	uint64_t size; /* bytes; required with create for a file */
	bool create; /* create + format only if the file does not exist */
	uint32_t max_order; /* used only when formatting */
	uint32_t inode_count; /* 0: derive; used only when formatting */
	const struct attach_hooks *hooks; /* NULL: no pins phase */
};

/* What `region info` shows; filled by region_info(). */
struct region_info {
	char name[REGION_NAME_MAX + 1];
	char path[PATH_MAX];
	char meta_path[PATH_MAX];
	const char *kind; /* "file", "fsdax", "devdax" */
	char uuid[37];
	const char *state; /* "attached", "detaching", "failed" */
	uint64_t size;
	uint64_t data_size;
	uint64_t used;
	uint64_t free;
	uint32_t files;
	uint32_t max_files;
	uint32_t max_order;
	uint32_t uid, gid, mode; /* of the backing file */
	uint64_t pins;
	uint32_t orphans;
};

struct region {
	char name[REGION_NAME_MAX + 1];
	char path[PATH_MAX]; /* the data file (or devdax device) */
	char meta_path[PATH_MAX]; /* the metadata file */
	bool meta_given; /* meta_path was named, not derived */
	enum region_kind kind;
	struct exlock lock; /* on the metadata file, from before the first
			     * read to detach */
	int fd; /* O_RDWR on the data file, -1 when closed; rw clients' */
	int meta_fd; /* O_RDWR on the metadata file; never a client's */
	uid_t uid; /* data file owner, group, mode: the region's */
	gid_t gid;
	mode_t mode;
	struct pm_media media; /* the metadata file (media_open()) */
	struct pm_data data; /* the data file (media_data_open()) */
	struct pm_super super; /* DRAM copy of the superblock (authoritative
				* while attached; see region_commit()) */
	const struct pm_super *sb; /* &super once loaded */
	char note[ERRMSG_MAX]; /* how the files were paired, for the log */
	char data_error[ERRMSG_MAX]; /* why the data file failed; "" if not */
	uint64_t data_checked; /* the @now of the last region_check_data() */
	struct journal journal;
	struct alloc *alloc;
	uint64_t pins; /* outstanding folio references: the pgmap counter */
	uint64_t nleases; /* leases on files of this region */
	int ro_fd; /* O_RDONLY on the data file, for read-only clients */
	uint64_t serial; /* unique per attach in this daemon (server.c) */
	bool detaching; /* a detach is pending: no new leases or grants */
	bool pins_recorded; /* this attach wrote the superblock's pin record */
	struct inode_table files; /* the files; group commit: see there */
};

/* region_attach -- map the region file at @path with libpmem2 and load it.
 * With @o->create and no file at @path, create it (sparse, @o->size bytes)
 * and format it; an existing file is attached as it is, never reformatted.
 * The file (or device) is locked exclusively (exlock_region()) before
 * anything is read from or written to it, and stays locked until
 * region_detach(): one daemon, and no tool, writes a region at a time.
 * Attach runs in phases (region.c): open, replay the committed journal
 * transactions, verify the superblock, every record and the bitmap
 * against the extents, load the files, restore the pins a crashed daemon
 * left (@o->hooks), reclaim the orphans a crash left (not those whose
 * leases were restored).
 * Returns 0 or -errno with a one-line reason in @err (REGION_ERR_MAX
 * bytes): -ENOENT (no file and no create), -EBUSY (locked by another
 * daemon, a tool, or another attach of the same file; the file is left
 * untouched), -EINVAL/-EUCLEAN (not a region or corrupt), -ENOMEM, -EIO;
 * *ret untouched on failure. */
int region_attach(const char *name, const char *path,
		  const struct region_opts *o, struct region **ret, char *err);

/* region_pins_record -- write the superblock's pin record (@boot_id, or
 * all zeroes to clear it, and @dir_crc) through the journal in one
 * transaction, unless it already says so. Returns 0 or -errno. */
int region_pins_record(struct region *r, const uint8_t boot_id[16],
		       uint32_t dir_crc);

/* region_detach -- checkpoint the journal (unless a commit failed: the next
 * attach replays it), so that the file needs no replay, then unmap, drop
 * the file's lock and free @r (NULL and a half-attached @r are fine). The
 * caller has already waited for every grant. The pin record this attach
 * wrote is cleared when no lease is left. */
void region_detach(struct region *r);

/* region_info -- describe @r. */
void region_info(const struct region *r, struct region_info *ret);

/* region_name_valid -- 0 if @name can name a region (1..REGION_NAME_MAX of
 * [A-Za-z0-9_.-], not starting with '.'), else -EINVAL. */
int region_name_valid(const char *name);

/* region_zero -- make region pages [pg, pg + npages) read as zeroes,
 * durably by the next region_commit() under group commit, at once
 * otherwise (a plain file's holes stay holes, other pages are overwritten
 * with zeroes; DAX: stored and persisted). Pages about to be handed to a
 * file are zeroed before the transaction that hands them over commits, so
 * no file ever sees another file's old bytes. Returns 0 or -errno. */
int region_zero(struct region *r, uint64_t pg, uint64_t npages);

/* region_fill -- write zeroes into whatever of region pages [pg, pg +
 * npages) is still a hole (plain files; a no-op elsewhere): called before
 * pages are granted, since on ext4 a client's fault on a hole costs the
 * whole file its large page-cache folios. A hole reads as zeroes after a
 * crash too, so nothing needs to be synced. Returns 0 or -errno. */
int region_fill(struct region *r, uint64_t pg, uint64_t npages);

/* region_check_data -- before pages of @r's data file are granted: the
 * data file still holds the whole region (a client with a read-write fd
 * of it can ftruncate it). It is looked at (fstat) at most once per
 * value of @now (a clock the caller ticks, milliseconds). The first time
 * it is short, @r is failed (r->files.failed: no more changes) and
 * r->data_error says why ("data file P truncated to N bytes, expected
 * M"); *ret_first (may be NULL) is set that one time, for a single log
 * line. Returns 0 or -EIO. */
int region_check_data(struct region *r, uint64_t now, bool *ret_first);

/* region_commit -- make every operation staged since the last commit
 * durable in one journal transaction (group commit): zeroes stored for
 * the batch are synced first, then the journal is committed, then pages
 * the batch freed become allocatable. Returns 0 (also when nothing was
 * staged) or -EIO, after which the region is failed (r->files.failed) and
 * refuses changes. */
int region_commit(struct region *r);

/* region_read_super -- read and check the superblock of the region file
 * @path without mapping it (for fsck and info). Returns 0 or -errno with a
 * reason in @err. */
int region_read_super(const char *path, struct pm_super *ret, char *err);

#endif

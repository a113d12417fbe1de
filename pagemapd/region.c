/* region.c -- a pmem region: attach, group commit, detach. */
#include "region.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "fault.h"
#include "inode.h"
#include "inode_io.h"
#include "media.h"
#include "pair.h"
#include "region_files.h"
#include "verify.h"

/*
 * A region is two files (region_files.c opens them): the metadata file, a
 * struct pm_media that media.c maps with libpmem2 (test builds simulate
 * power loss behind its persist), and the data file, which clients get
 * fds of and the daemon only zeroes (struct pm_data).
 *
 * Attach takes the metadata file's exclusive lock (exlock.h) before it
 * reads or writes anything, and region_detach() drops it last: a second
 * daemon, or fsck, that finds it held leaves the region alone.
 *
 * What attach loads is authoritative from then on: the superblock is a
 * DRAM copy that the journal updates as it applies (journal.h), the files
 * are DRAM inodes; no request reads metadata back from the media.
 *
 * Attach never writes anything before the superblock's magic says the file
 * is one of ours; the only write it may make before the full superblock
 * check is the replay of a committed journal transaction, because the
 * superblock itself (its orphan list head) is written through the journal
 * and may be torn until the replay.
 */

int
region_fill(struct region *r, uint64_t pg, uint64_t npages)
{
	return media_data_fill(&r->data, pg << PM_PAGE_SHIFT,
			       npages << PM_PAGE_SHIFT);
}

/* region_zero -- make the pages read as zeroes before a file gets them;
 * under group commit one sync before the batch's commit covers every
 * zeroing of the batch. */
int
region_zero(struct region *r, uint64_t pg, uint64_t npages)
{
	return media_data_clear(&r->data, pg << PM_PAGE_SHIFT,
				npages << PM_PAGE_SHIFT, r->files.group_commit);
}

int
region_check_data(struct region *r, uint64_t now, bool *ret_first)
{
	uint64_t size = 0;

	if (r->data_error[0])
		return -EIO;
	if (now == r->data_checked)
		return 0;
	r->data_checked = now;
	if (media_data_check(&r->data, &size) == 0)
		return 0;
	/* Its metadata is intact and stays served; its data may be gone,
	 * so nothing more is granted or changed until an administrator
	 * looks (fsck names the fix). */
	snprintf(r->data_error, sizeof(r->data_error),
		 "data file %s truncated to %llu bytes, expected %llu", r->path,
		 (unsigned long long)size,
		 (unsigned long long)r->sb->region_size);
	r->files.failed = true;
	if (ret_first)
		*ret_first = true;
	return -EIO;
}

/* region_commit -- sync the batch's zeroes, then commit its records. */
int
region_commit(struct region *r)
{
	if (!journal_staged(&r->journal))
		return 0;
	/* Pages a file is given must read as zeroes before the transaction
	 * that gives them commits. */
	if (media_data_sync(&r->data) < 0) {
		r->files.failed = true;
		return -EIO;
	}
	return inode_commit(&r->files);
}

/* recover -- replay the journal of a region whose superblock magic is
 * ours, then check the superblock for real. */
static int
recover(struct region *r, uint64_t file_size, char *err)
{
	const struct pm_super *sb = (const struct pm_super *)r->media.base;
	uint64_t joff = sb->journal_off, jsize = sb->journal_size;
	const char *why = NULL;
	int ret;

	/* The crc may be bad only because a journaled superblock write was
	 * torn; the journal's place in it never changes after format, so a
	 * sane-looking one is trusted just far enough to replay a
	 * transaction whose own crc is good. */
	if (layout_is_v1(sb))
		return errmsg(err, -EPROTONOSUPPORT,
			      "%s is a region of format version 1 (metadata "
			      "inside the data file); convert it offline: "
			      "pagemapctl region convert %s",
			      r->meta_path, r->meta_path);
	if (layout_journal_usable(sb, r->media.size)) {
		ret = journal_init(&r->journal, &r->media, joff, jsize);
		if (ret == -ENOMEM)
			return errmsg(err, ret, "out of memory");
		if (ret == 0) {
			ret = journal_recover(&r->journal);
			if (ret == -EUCLEAN)
				return errmsg(err, ret,
					      "%s: the journal names writes "
					      "outside the metadata",
					      r->meta_path);
			if (ret < 0)
				return errmsg(err, -EIO,
					      "%s: journal replay failed: %s",
					      r->meta_path, strerror(-ret));
		}
	}
	ret = layout_super_check(sb, file_size, &why);
	if (ret)
		return errmsg(err, ret, "%s: %s", r->meta_path,
			      why ? why : "bad superblock");
	if (sb->meta_size > r->media.size)
		return errmsg(err, -EINVAL,
			      "%s: metadata is larger than the mapping",
			      r->meta_path);
	if (!r->journal.buf || r->journal.off != joff ||
	    r->journal.size != jsize)
		return errmsg(err, -EINVAL, "%s: bad journal geometry",
			      r->meta_path);
	return 0;
}

/*
 * Attach runs in phases, called in this order from region_attach() and
 * nowhere else; each either succeeds or leaves a reason in @err, and
 * region_detach() undoes whatever the ones before it did.
 *
 *  1. open    -- lock the metadata file (or create it, then lock it),
 *                open it and the data file, format them if asked and
 *                never formatted, map the metadata (media_open()) and
 *                fill its holes (region_files.c).
 *  2. replay  -- replay the journal's committed transactions, then check
 *                the superblock (a torn journaled superblock write is
 *                repaired only by the replay), and copy it to DRAM.
 *     pair    -- the data file carries this region's uuid (or, without
 *                xattrs, has its size) and holds the whole region.
 *  3. verify  -- check every record and the cross-references between
 *                them: names, extents, bitmap, orphan list.
 *  4. load    -- build the allocator and the file table from the tables.
 *  5. pins    -- the layer above (o->hooks, pins.c) takes back the pins
 *                a crashed daemon of this boot left in its runtime
 *                directory (I6): leases and grants on the loaded files,
 *                orphans included. Storage never calls up by itself.
 *                Crash points (test builds) are armed after it.
 *  6. reclaim -- free the orphans a crash left between an unlink and its
 *                final unpin (I3), except those whose leases phase 5
 *                restored: their holders may still map them, so they stay
 *                orphans until their final unpin.
 */

/* phase_open -- lock, open (or create and format) both files, map the
 * metadata file. */
static int
phase_open(struct region *r, const struct region_opts *o,
	   bool *ret_created_meta, bool *ret_created_data,
	   uint64_t *ret_file_size, char *err)
{
	struct region_files f = {
		.path = r->path,
		.meta_path = r->meta_path,
		.meta_given = r->meta_given,
		.lock = {.fd = -1},
		.fd = -1,
		.meta_fd = -1,
	};
	struct region_files_opts fo = {
		.size = o->size,
		.create = o->create,
		.max_order = o->max_order,
		.inode_count = o->inode_count,
	};
	int rc = region_open_files(&f, &fo, ret_created_meta, ret_created_data,
				   err);

	/* Whatever was opened is the region's to release at detach. */
	r->lock = f.lock;
	r->fd = f.fd;
	r->meta_fd = f.meta_fd;
	r->uid = f.uid;
	r->gid = f.gid;
	r->mode = f.mode;
	r->media = f.media;
	if (!rc)
		rc = media_source_size(r->meta_fd, r->meta_path,
				       ret_file_size, err);
	return rc;
}

/* phase_replay -- replay the journal and check the superblock; from here
 * on its DRAM copy is the one read, and the journal keeps it current. */
static int
phase_replay(struct region *r, uint64_t file_size, char *err)
{
	int rc = recover(r, file_size, err);

	if (rc)
		return rc;
	memcpy(&r->super, r->media.base, sizeof(r->super));
	r->sb = &r->super;
	r->journal.shadow = &r->super;
	r->journal.shadow_len = sizeof(r->super);
	return 0;
}

/* phase_pair -- the data file is this metadata's (pair.h), holds the
 * whole region, and is set up for zeroing (a devdax device mapped). */
static int
phase_pair(struct region *r, char *err)
{
	static const enum region_kind kinds[] = {
		[MEDIA_FILE] = REGION_FILE,
		[MEDIA_FSDAX] = REGION_FSDAX,
		[MEDIA_DEVDAX] = REGION_DEVDAX,
	};
	enum media_kind kind = MEDIA_FILE;
	enum pair_how how = PAIR_UUID;
	uint64_t size = 0;
	int rc;

	rc = media_source_size(r->fd, r->path, &size, err);
	if (!rc)
		rc = pair_check(r->fd, r->path, size, r->meta_path, r->sb, true,
				&how, err);
	if (rc == -EIO) {
		char why[ERRMSG_MAX];

		snprintf(why, sizeof(why), "%s", err);
		return errmsg(err, rc,
			      "region '%s': %s; run: pagemapctl fsck --repair "
			      "%s (what was cut off reads as zeroes)",
			      r->name, why, r->path);
	}
	if (rc)
		return rc;
	if (how == PAIR_SIZE)
		snprintf(r->note, sizeof(r->note),
			 "%s has no user extended attributes: %s and %s "
			 "are paired by size only",
			 r->path, r->path, r->meta_path);
	else if (how == PAIR_MARKED)
		snprintf(r->note, sizeof(r->note),
			 "%s did not carry %s; set to region %s's uuid",
			 r->path, PAIR_XATTR, r->meta_path);
	rc = media_data_open(&r->data, r->fd, r->path, r->sb->region_size,
			     &kind, &size, err);
	if (rc)
		return rc;
	r->kind = kinds[kind];
	return 0;
}

/* first_fault -- verify_tables()'s report, kept for the caller. */
static void
first_fault(void *ctx, const char *line)
{
	snprintf(ctx, ERRMSG_MAX, "%s", line);
}

/* phase_verify -- every record and cross-reference, up to the first
 * fault. */
static int
phase_verify(struct region *r, char *err)
{
	char why[ERRMSG_MAX] = "";
	struct verify_result res;
	int rc;

	rc = verify_tables(r->sb, r->media.base, VERIFY_FIRST, first_fault, why,
			   &res);
	if (rc)
		return errmsg(err, rc, "%s: out of memory", r->path);
	/* A fault fsck --repair fixes names the command that fixes it. */
	if (res.faults && res.repairable == res.faults)
		return errmsg(err, -EUCLEAN,
			      "%s: %s; run: pagemapctl fsck --repair %s",
			      r->path, why, r->path);
	if (res.faults)
		return errmsg(err, -EUCLEAN, "%s: %s; run: pagemapctl fsck %s",
			      r->path, why, r->path);
	return 0;
}

/* phase_load -- the allocator and the file table. */
static int
phase_load(struct region *r, char *err)
{
	char why[ERRMSG_MAX] = "";
	int rc;

	rc = alloc_new(r->sb->region_size >> PM_PAGE_SHIFT, r->sb->data_pg,
		       r->sb->data_pages, r->sb->max_order, &r->alloc);
	if (rc)
		return errmsg(err, rc, "%s: cannot set up the allocator: %s",
			      r->path, strerror(-rc));
	r->files.media = &r->media;
	r->files.data = &r->data;
	r->files.sb = r->sb;
	r->files.journal = &r->journal;
	r->files.alloc = r->alloc;
	rc = inode_load(&r->files, why);
	if (rc)
		return errmsg(err, rc, "%s: %s", r->path, why);
	return 0;
}

/* phase_pins -- the hook's restore of surviving pins. */
static int
phase_pins(struct region *r, const struct region_opts *o, char *err)
{
	if (!o->hooks || !o->hooks->restore_pins)
		return 0;
	return o->hooks->restore_pins(r, o->hooks->ctx, err);
}

/* phase_reclaim -- free the orphans a crash left. */
static int
phase_reclaim(struct region *r, char *err)
{
	char why[ERRMSG_MAX] = "";
	int rc = inode_reclaim_orphans(&r->files, why);

	if (rc)
		return errmsg(err, rc, "%s: %s", r->path, why);
	return 0;
}

/* region_attach -- the phases above, in order. */
int
region_attach(const char *name, const char *path, const struct region_opts *o,
	      struct region **ret, char *err)
{
	static const struct region_opts none;
	struct region *r;
	uint64_t file_size = 0;
	bool created_meta = false, created_data = false, restored = false;
	int rc;

	if (!o)
		o = &none;
	if (region_name_valid(name))
		return errmsg(err, -EINVAL, "invalid region name \"%s\"",
			      name ? name : "");
	if (!path || !*path)
		return errmsg(err, -EINVAL, "no region path");
	if (strlen(path) >= PATH_MAX)
		return errmsg(err, -ENAMETOOLONG, "region path is too long");
	r = fault_calloc(1, sizeof(*r));
	if (!r)
		return errmsg(err, -ENOMEM, "out of memory");
	r->lock.fd = -1;
	r->fd = -1;
	r->meta_fd = -1;
	r->ro_fd = -1;
	r->data.fd = -1;
	r->data_checked = UINT64_MAX;
	strcpy(r->name, name);
	strcpy(r->path, path);
	r->meta_given = o->meta && *o->meta;
	if (pair_meta_path(path, o->meta, r->meta_path, sizeof(r->meta_path))) {
		free(r);
		return errmsg(err, -ENAMETOOLONG,
			      "metadata file path is too long");
	}

	rc = phase_open(r, o, &created_meta, &created_data, &file_size, err);
	if (!rc)
		rc = phase_replay(r, file_size, err);
	if (!rc)
		rc = phase_pair(r, err);
	if (!rc)
		rc = phase_verify(r, err);
	if (!rc)
		rc = phase_load(r, err);
	if (!rc) {
		rc = phase_pins(r, o, err);
		restored = rc == 0 && o->hooks;
	}
	/* Test builds: power loss from here on (after the pin record, which
	 * is written once per boot, so that the persist points of what
	 * follows are the same at every attach). */
	if (!rc)
		rc = media_arm_crash(&r->media, r->meta_path, err);
	if (!rc)
		rc = phase_reclaim(r, err);
	if (rc)
		goto fail;
	/* Read-only clients get this one: a region fd lets its holder map
	 * any of the data file, so its open mode is the whole access check
	 * (the metadata file is never given out). */
	r->ro_fd = fault_open(r->path, O_RDONLY | O_CLOEXEC);
	if (r->ro_fd < 0) {
		rc = errmsg(err, -errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	*ret = r;
	return 0;
fail:
	if (restored && o->hooks->forget_pins)
		o->hooks->forget_pins(r, o->hooks->ctx);
	/* The pins it names are still in their tables. */
	r->pins_recorded = false;
	/* A file this call created holds nothing anyone could want; it goes
	 * while the lock is still held, so nobody attaches it meanwhile. */
	if (created_data)
		unlink(path);
	if (created_meta)
		unlink(r->meta_path);
	region_detach(r);
	return rc;
}

int
region_pins_record(struct region *r, const uint8_t boot_id[16],
		   uint32_t dir_crc)
{
	struct pm_super sb = *r->sb;
	int rc;

	if (memcmp(sb.pins_boot_id, boot_id, sizeof(sb.pins_boot_id)) == 0 &&
	    sb.pins_dir_crc == dir_crc)
		return 0;
	memcpy(sb.pins_boot_id, boot_id, sizeof(sb.pins_boot_id));
	sb.pins_dir_crc = dir_crc;
	layout_super_seal(&sb);
	/* The superblock changes only through the journal (its orphan list
	 * head shares it): one transaction of its own. */
	rc = journal_add(&r->journal, 0, &sb, sizeof(sb));
	if (!rc)
		rc = journal_commit(&r->journal);
	if (rc)
		journal_abort(&r->journal);
	return rc;
}

/* region_detach -- undo region_attach in reverse. The writes are the pin
 * record's clearing and the journal's checkpoint, so that a detached
 * region file needs no replay; the lock goes after them. */
void
region_detach(struct region *r)
{
	static const uint8_t none[16];

	if (!r)
		return;
	/* No lease is left, so no pin of this daemon can be outstanding:
	 * the record goes (a failure keeps it, which only costs a check). */
	if (r->pins_recorded && r->nleases == 0 && r->pins == 0 &&
	    r->journal.buf && !r->files.failed && !journal_staged(&r->journal))
		(void)region_pins_record(r, none, 0);
	/* A failed checkpoint loses nothing: the next attach replays. */
	if (r->journal.buf && !r->files.failed)
		(void)journal_checkpoint(&r->journal);
	inode_unload(&r->files);
	alloc_delete(r->alloc);
	r->alloc = NULL;
	journal_fini(&r->journal);
	media_close(&r->media);
	media_data_close(&r->data);
	if (r->fd >= 0)
		close(r->fd);
	if (r->meta_fd >= 0)
		close(r->meta_fd);
	if (r->ro_fd >= 0)
		close(r->ro_fd);
	/* Last: the file is written no more. */
	exlock_release(&r->lock);
	free(r->files.pending_free);
	free(r);
}

/* region_info -- describe @r for `region info`. */
void
region_info(const struct region *r, struct region_info *ret)
{
	static const char *const kinds[] = {
		[REGION_FILE] = "file",
		[REGION_FSDAX] = "fsdax",
		[REGION_DEVDAX] = "devdax",
	};
	const struct pm_super *sb = r->sb;
	uint64_t free_pages = alloc_free_pages(r->alloc);

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->name, sizeof(ret->name), "%s", r->name);
	snprintf(ret->path, sizeof(ret->path), "%s", r->path);
	snprintf(ret->meta_path, sizeof(ret->meta_path), "%s", r->meta_path);
	ret->kind = kinds[r->kind];
	layout_uuid_str(sb->uuid, ret->uuid);
	ret->state = r->detaching ? "detaching"
		     : r->data_error[0] || r->files.failed ? "failed"
							  : "attached";
	ret->size = sb->region_size;
	ret->data_size = sb->data_pages << PM_PAGE_SHIFT;
	ret->free = free_pages << PM_PAGE_SHIFT;
	ret->used = (sb->data_pages - free_pages) << PM_PAGE_SHIFT;
	ret->files = r->files.nfiles;
	ret->max_files = sb->inode_count;
	ret->max_order = sb->max_order;
	ret->uid = r->uid;
	ret->gid = r->gid;
	ret->mode = r->mode;
	ret->pins = r->pins;
	ret->orphans = r->files.norphans;
}

/* region_name_valid -- [A-Za-z0-9_.-]{1,63}, not starting with a dot. */
int
region_name_valid(const char *name)
{
	size_t len;

	if (!name)
		return -EINVAL;
	len = strnlen(name, REGION_NAME_MAX + 1);
	if (len == 0 || len > REGION_NAME_MAX || name[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return -EINVAL;
	}
	return 0;
}

/* region_read_super -- pread and check the superblock of @path's
 * metadata file ("<path>.meta"). */
int
region_read_super(const char *path, struct pm_super *ret, char *err)
{
	union {
		struct pm_super sb;
		uint8_t page[PM_PAGE_SIZE];
	} buf;
	char meta[PATH_MAX];
	uint64_t size = 0;
	const char *why = NULL;
	ssize_t got;
	int fd, rc;

	if (pair_meta_path(path, NULL, meta, sizeof(meta)))
		return errmsg(err, -ENAMETOOLONG, "path is too long");
	fd = fault_open(meta, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			return errmsg(err, rc, "no such region metadata file %s",
				      meta);
		return errmsg(err, rc, "cannot open %s: %s", meta,
			      strerror(-rc));
	}
	rc = media_source_size(fd, meta, &size, err);
	if (rc)
		goto out;
	got = fault_pread(fd, buf.page, sizeof(buf.page), 0);
	if (got < 0) {
		rc = errmsg(err, -errno, "cannot read %s: %s", meta,
			    strerror(errno));
		goto out;
	}
	if ((size_t)got < sizeof(buf.sb)) {
		rc = errmsg(err, -EINVAL, "%s: too small to be a region", meta);
		goto out;
	}
	rc = layout_super_check(&buf.sb, size, &why);
	if (rc) {
		errmsg(err, rc, "%s: %s", meta, why ? why : "bad superblock");
		goto out;
	}
	*ret = buf.sb;
out:
	close(fd);
	return rc;
}

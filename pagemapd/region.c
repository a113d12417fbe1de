/* region.c -- a pmem region: format, attach, group commit, detach. */
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
#include "verify.h"

/*
 * The region's bytes are a struct pm_media (media.c maps them with
 * libpmem2; test builds simulate power loss behind its persist).
 *
 * Formatting writes the superblock last: until it is durable the first page
 * of the file stays all zero, so a crash during format leaves a file that
 * the next create formats again, never a half-formatted region that passes
 * for a real one.
 *
 * Attach takes the file's exclusive lock (exlock.h) before it reads or
 * writes anything, and region_detach() drops it last: a second daemon, or
 * fsck, that finds it held leaves the file alone.
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
	return media_fill(&r->media, pg << PM_PAGE_SHIFT,
			  npages << PM_PAGE_SHIFT);
}

/* meta_end -- where the metadata of the region file ends (its data area
 * begins), read without touching the mapping; 0 when the first page is
 * not a superblock. */
static uint64_t
meta_end(const struct region *r, uint64_t file_size)
{
	struct pm_super sb;

	if (fault_pread(r->fd, &sb, sizeof(sb), 0) != (ssize_t)sizeof(sb) ||
	    memcmp(sb.magic, PM_MAGIC, sizeof(sb.magic)) != 0 ||
	    sb.data_pg > file_size >> PM_PAGE_SHIFT)
		return 0;
	return sb.data_pg << PM_PAGE_SHIFT;
}

/* region_zero -- make the pages read as zeroes before a file gets them;
 * under group commit one sync before the batch's commit covers every
 * zeroing of the batch. */
int
region_zero(struct region *r, uint64_t pg, uint64_t npages)
{
	return media_clear(&r->media, pg << PM_PAGE_SHIFT,
			   npages << PM_PAGE_SHIFT, r->files.group_commit);
}

/* region_commit -- sync the batch's zeroes, then commit its records. */
int
region_commit(struct region *r)
{
	if (!journal_staged(&r->journal))
		return 0;
	/* Pages a file is given must read as zeroes before the transaction
	 * that gives them commits. */
	if (media_sync(&r->media) < 0) {
		r->files.failed = true;
		return -EIO;
	}
	return inode_commit(&r->files);
}

/* lock_file -- take @r's exclusive lock on its file (exlock.h), before
 * anything reads or writes the file. -ENOENT comes back without a
 * message, so that the caller can create the file. */
static int
lock_file(struct region *r, char *err)
{
	char who[EXLOCK_WHO_MAX];
	pid_t holder = 0;
	int rc = exlock_region(r->path, O_RDONLY, &r->lock, &holder);

	if (rc == -EBUSY && holder == getpid())
		return errmsg(err, rc,
			      "region file %s is already attached by this "
			      "pagemapd",
			      r->path);
	if (rc == -EBUSY) {
		exlock_who(holder, who, sizeof(who));
		return errmsg(err, rc, "region file %s is in use by %s",
			      r->path, who);
	}
	if (rc && rc != -ENOENT)
		return errmsg(err, rc, "cannot open %s: %s", r->path,
			      strerror(-rc));
	return rc;
}

/* plan -- the layout of a @size byte region formatted with @o's
 * settings into @g and @sb, or -EINVAL with a reason. */
static int
plan(const struct region *r, const struct region_opts *o, uint64_t size,
     struct pm_geometry *g, struct pm_super *sb, char *err)
{
	*g = (struct pm_geometry){
		.region_size = size & ~(uint64_t)(PM_PAGE_SIZE - 1),
		.max_order = o->max_order,
		.inode_count = o->inode_count,
	};
	if (layout_plan(g, sb))
		return errmsg(err, -EINVAL,
			      "cannot format %s: size below %u MiB or max "
			      "order above %u",
			      r->path, PM_MIN_REGION_SIZE >> 20,
			      PM_MAX_ORDER_LIMIT);
	return 0;
}

/* create_size -- the size a created file gets, or -EINVAL (with a
 * reason) when @o could not format one. */
static int
create_size(const struct region *r, const struct region_opts *o, off_t *ret,
	    char *err)
{
	struct pm_geometry g;
	struct pm_super sb;
	int rc;

	if (o->size == 0)
		return errmsg(err, -EINVAL, "a size is required to create %s",
			      r->path);
	if ((rc = plan(r, o, o->size, &g, &sb, err)))
		return rc;
	*ret = (off_t)g.region_size;
	return 0;
}

/* create_file -- make the missing file of @r, empty: open_file() sizes
 * it once it holds the lock. *ret_created is set when this call made
 * it. */
static int
create_file(struct region *r, const struct region_opts *o, bool *ret_created,
	    char *err)
{
	off_t size;
	int fd, rc;

	/* Refuse a bad geometry before leaving a file behind. */
	rc = create_size(r, o, &size, err);
	if (rc)
		return rc;
	fd = fault_open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST)
		return errmsg(err, -errno, "cannot create %s: %s", r->path,
			      strerror(errno));
	/* EEXIST: someone made it meanwhile; attach theirs. */
	if (fd >= 0) {
		r->fd = fd;
		*ret_created = true;
	}
	return 0;
}

/* open_file -- lock, then open (or create) the backing file of @r.
 * *ret_created is set when this call made the file, which is then sparse,
 * @o->size bytes. Nothing is read or written before the lock is held; a
 * busy lock leaves the file as it was. */
static int
open_file(struct region *r, const struct region_opts *o, bool *ret_created,
	  char *err)
{
	struct stat locked, st;
	int rc;

	*ret_created = false;
	rc = lock_file(r, err);
	if (rc == -ENOENT && o->create) {
		rc = create_file(r, o, ret_created, err);
		if (rc)
			return rc;
		rc = lock_file(r, err);
		/* Whoever holds the lock now opened the file this call made
		 * (or replaced it): it is theirs to use or remove. */
		if (rc)
			*ret_created = false;
	}
	if (rc == -ENOENT)
		return errmsg(err, rc, "no such region file %s", r->path);
	if (rc)
		return rc;
	if (r->fd < 0)
		r->fd = fault_open(r->path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0)
		return errmsg(err, -errno, "cannot open %s: %s", r->path,
			      strerror(errno));
	/* The lock guards the file the region is read from only if both
	 * opens reached the same one (a rename may come in between). */
	if (fstat(r->lock.fd, &locked) || fstat(r->fd, &st))
		return errmsg(err, -errno, "cannot stat %s: %s", r->path,
			      strerror(errno));
	if (locked.st_dev != st.st_dev || locked.st_ino != st.st_ino)
		return errmsg(err, -EAGAIN, "%s was replaced while opening it",
			      r->path);
	/* An empty file is one this call made, or one a create that crashed
	 * before sizing it left: never a region, so sized under the lock
	 * (and formatted by phase_open()) when asked to create. */
	if (o->create && S_ISREG(st.st_mode) && st.st_size == 0) {
		off_t size = 0;

		rc = create_size(r, o, &size, err);
		if (rc)
			return rc;
		if (fault_ftruncate(r->fd, size))
			return errmsg(err, -errno, "cannot size %s: %s",
				      r->path, strerror(errno));
	}
	return 0;
}

/* map_file -- map the whole of @r->fd and learn its kind and owner.
 * *ret_file_size is what the superblock is checked against. */
static int
map_file(struct region *r, uint64_t *ret_file_size, char *err)
{
	static const enum region_kind kinds[] = {
		[MEDIA_FILE] = REGION_FILE,
		[MEDIA_FSDAX] = REGION_FSDAX,
		[MEDIA_DEVDAX] = REGION_DEVDAX,
	};
	struct stat st;
	int ret;

	if (fstat(r->fd, &st))
		return errmsg(err, -errno, "cannot stat %s: %s", r->path,
			      strerror(errno));
	r->uid = st.st_uid;
	r->gid = st.st_gid;
	r->mode = st.st_mode & 07777;
	ret = media_open(&r->media, r->fd, r->path, ret_file_size, err);
	if (ret)
		return ret;
	r->kind = kinds[media_kind(&r->media)];
	return 0;
}

/* format -- write a new, empty layout over the mapped file. @fresh: the
 * file was just created sparse, so its tables already read as zeroes. */
static int
format(struct region *r, const struct region_opts *o, bool fresh, char *err)
{
	struct pm_geometry g;
	struct pm_super sb;
	size_t got = 0;
	int ret;

	if ((ret = plan(r, o, r->media.size, &g, &sb, err)))
		return ret;
	while (got < sizeof(sb.uuid)) {
		ssize_t n = getrandom(sb.uuid + got, sizeof(sb.uuid) - got, 0);

		if (n < 0 && errno != EINTR)
			return errmsg(err, -errno, "getrandom: %s",
				      strerror(errno));
		if (n > 0)
			got += (size_t)n;
	}
	sb.uuid[6] = (uint8_t)((sb.uuid[6] & 0x0f) | 0x40); /* RFC 4122 v4 */
	sb.uuid[8] = (uint8_t)((sb.uuid[8] & 0x3f) | 0x80);
	sb.format_time_ns = layout_now_ns();
	layout_super_seal(&sb);
	if (r->kind == REGION_FILE) {
		ret = region_fill(r, 0, sb.data_pg);
		if (ret)
			return errmsg(err, ret, "cannot format %s: %s", r->path,
				      strerror(-ret));
	}

	if (!fresh) {
		/* A used device or a pre-made file may hold anything past
		 * its first page: clear every table the loader reads. */
		ret = media_zero(&r->media, sb.inode_off,
				 (uint64_t)sb.inode_count * sb.inode_size);
		if (!ret)
			ret = media_zero(&r->media, sb.extent_off,
					 (uint64_t)sb.extent_count *
						 sb.extent_size);
		if (!ret)
			ret = media_zero(&r->media, sb.bitmap_off,
					 sb.bitmap_size);
		if (ret)
			return errmsg(err, ret, "cannot format %s: %s", r->path,
				      strerror(-ret));
	}
	ret = journal_init(&r->journal, &r->media, sb.journal_off,
			   sb.journal_size);
	if (!ret)
		ret = journal_format(&r->journal);
	journal_fini(&r->journal);
	if (ret)
		return errmsg(err, ret, "cannot format the journal of %s: %s",
			      r->path, strerror(-ret));
	/* Last: only now does the file become a region. */
	ret = media_write(&r->media, 0, &sb, sizeof(sb));
	if (!ret)
		ret = r->media.persist(&r->media, 0, sizeof(sb));
	if (ret)
		return errmsg(err, ret, "cannot write the superblock of %s: %s",
			      r->path, strerror(-ret));
	return 0;
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
	if (layout_journal_usable(sb, r->media.size)) {
		ret = journal_init(&r->journal, &r->media, joff, jsize);
		if (ret == -ENOMEM)
			return errmsg(err, ret, "out of memory");
		if (ret == 0) {
			ret = journal_recover(&r->journal);
			if (ret == -EUCLEAN)
				return errmsg(err, ret,
					      "%s: the journal names writes "
					      "outside the region",
					      r->path);
			if (ret < 0)
				return errmsg(err, -EIO,
					      "%s: journal replay failed: %s",
					      r->path, strerror(-ret));
		}
	}
	ret = layout_super_check(sb, file_size, &why);
	if (ret)
		return errmsg(err, ret, "%s: %s", r->path,
			      why ? why : "bad superblock");
	if (sb->region_size > r->media.size)
		return errmsg(err, -EINVAL,
			      "%s: region is larger than the "
			      "mapping",
			      r->path);
	if (!r->journal.buf || r->journal.off != joff ||
	    r->journal.size != jsize)
		return errmsg(err, -EINVAL, "%s: bad journal geometry",
			      r->path);
	return 0;
}

/*
 * Attach runs in phases, called in this order from region_attach() and
 * nowhere else; each either succeeds or leaves a reason in @err, and
 * region_detach() undoes whatever the ones before it did.
 *
 *  1. open    -- lock the file (or create it, then lock it), open and
 *                map it (media_open()), format it if asked and it was
 *                never formatted, and fill the holes of its metadata.
 *  2. replay  -- replay the journal's committed transactions, then check
 *                the superblock (a torn journaled superblock write is
 *                repaired only by the replay).
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

/* phase_open -- lock, open, map, format if asked, fill the metadata's holes. */
static int
phase_open(struct region *r, const struct region_opts *o, bool *ret_created,
	   uint64_t *ret_file_size, char *err)
{
	int rc;

	rc = open_file(r, o, ret_created, err);
	if (!rc)
		rc = map_file(r, ret_file_size, err);
	if (rc)
		return rc;
	if (*ret_created || (o->create && media_first_page_zero(&r->media))) {
		rc = format(r, o, *ret_created, err);
		if (rc)
			return rc;
	}
	/* Metadata is read through the mapping, and on ext4 any fault on a
	 * hole costs the whole file its large page-cache folios
	 * (docs/performance.md): no metadata page may be one. */
	rc = region_fill(r, 0, meta_end(r, *ret_file_size) >> PM_PAGE_SHIFT);
	if (rc)
		return errmsg(err, rc, "%s: %s", r->path, strerror(-rc));
	return 0;
}

/* phase_replay -- replay the journal and check the superblock. */
static int
phase_replay(struct region *r, uint64_t file_size, char *err)
{
	int rc = recover(r, file_size, err);

	if (rc)
		return rc;
	r->sb = (struct pm_super *)r->media.base;
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
		return errmsg(err, -EUCLEAN, "%s: %s", r->path, why);
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
	bool created = false, restored = false;
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
	r->ro_fd = -1;
	strcpy(r->name, name);
	strcpy(r->path, path);

	rc = phase_open(r, o, &created, &file_size, err);
	if (!rc)
		rc = phase_replay(r, file_size, err);
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
		rc = media_arm_crash(&r->media, r->path, err);
	if (!rc)
		rc = phase_reclaim(r, err);
	if (rc)
		goto fail;
	/* Read-only clients get this one: a region fd lets its holder map
	 * any of the region, so its open mode is the whole access check. */
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
	if (created)
		unlink(path);
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
	if (r->fd >= 0)
		close(r->fd);
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
	ret->kind = kinds[r->kind];
	layout_uuid_str(sb->uuid, ret->uuid);
	ret->state = r->files.failed ? "failed"
		     : r->detaching  ? "detaching"
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

/* region_read_super -- pread and check the first page of @path. */
int
region_read_super(const char *path, struct pm_super *ret, char *err)
{
	union {
		struct pm_super sb;
		uint8_t page[PM_PAGE_SIZE];
	} buf;
	uint64_t size = 0;
	const char *why = NULL;
	ssize_t got;
	int fd, rc;

	fd = fault_open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			return errmsg(err, rc, "no such region file %s", path);
		return errmsg(err, rc, "cannot open %s: %s", path,
			      strerror(-rc));
	}
	rc = media_source_size(fd, path, &size, err);
	if (rc)
		goto out;
	got = fault_pread(fd, buf.page, sizeof(buf.page), 0);
	if (got < 0) {
		rc = errmsg(err, -errno, "cannot read %s: %s", path,
			    strerror(errno));
		goto out;
	}
	if ((size_t)got < sizeof(buf.sb)) {
		rc = errmsg(err, -EINVAL, "%s: too small to be a region", path);
		goto out;
	}
	rc = layout_super_check(&buf.sb, size, &why);
	if (rc) {
		errmsg(err, rc, "%s: %s", path, why ? why : "bad superblock");
		goto out;
	}
	*ret = buf.sb;
out:
	close(fd);
	return rc;
}

/* region_files.c -- a region's two files: lock, open or create, format. */
#include "region_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "journal.h"
#include "layout.h"
#include "media.h"
#include "pair.h"

/*
 * The metadata file is the one locked (exlock.h): no client holds an fd of
 * it, so none can hold its lock either; the data file is found through it
 * and checked to be its pair (pair.h) after the journal's replay.
 *
 * Formatting writes the superblock last: until it is durable the first
 * page of the metadata file stays all zero, so a crash during format
 * leaves a file that the next create formats again, never a
 * half-formatted region that passes for a real one.
 */

/* lock_meta -- take @r's exclusive lock on its metadata file before
 * anything reads or writes either file. -ENOENT comes back without a
 * message, so that the caller can create the file. */
static int
lock_meta(struct region_files *r, char *err)
{
	char who[EXLOCK_WHO_MAX];
	pid_t holder = 0;
	int rc = exlock_region(r->meta_path, O_RDONLY, &r->lock, &holder);

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
		return errmsg(err, rc, "cannot open %s: %s", r->meta_path,
			      strerror(-rc));
	return rc;
}

/* data_state -- what the data file @path says without its metadata: 1
 * a version 1 region, 2 a data file of some region (it carries the
 * pairing xattr), 0 neither or no such file. */
static int
data_state(const char *path)
{
	struct pm_super sb;
	uint8_t uuid[16];
	int fd = fault_open(path, O_RDONLY | O_CLOEXEC), state = 0;

	if (fd < 0)
		return 0;
	if (fault_pread(fd, &sb, sizeof(sb), 0) == (ssize_t)sizeof(sb) &&
	    layout_is_v1(&sb))
		state = 1;
	else if (pair_get(fd, uuid) == 0)
		state = 2;
	close(fd);
	return state;
}

/* no_meta -- the message for a metadata file that is not there. */
static int
no_meta(const struct region_files *r, const struct region_files_opts *o,
	char *err)
{
	struct stat st;

	switch (data_state(r->path)) {
	case 1:
		return errmsg(err, -EPROTONOSUPPORT,
			      "%s is a region of format version 1 (metadata "
			      "inside the data file); convert it offline: "
			      "pagemapctl region convert %s",
			      r->path, r->path);
	case 2:
		return errmsg(err, -ENOENT,
			      "the metadata file %s of region data file %s is "
			      "missing",
			      r->meta_path, r->path);
	}
	if (stat(r->path, &st) && !o->create)
		return errmsg(err, -ENOENT, "no such region file %s", r->path);
	return errmsg(err, -ENOENT, "no metadata file %s for region file %s",
		      r->meta_path, r->path);
}

/* plan -- layout_plan() of @g into @sb, or -EINVAL with a reason. */
static int
plan(const struct region_files *r, const struct pm_geometry *g,
     struct pm_super *sb, char *err)
{
	if (layout_plan(g, sb))
		return errmsg(err, -EINVAL,
			      "cannot format %s: size below %u MiB or max "
			      "order above %u",
			      r->path, PM_MIN_REGION_SIZE >> 20,
			      PM_MAX_ORDER_LIMIT);
	return 0;
}

/* create_size -- the data size a created region gets, or -EINVAL (with a
 * reason) when @o could not format one. */
static int
create_size(const struct region_files *r, const struct region_files_opts *o,
	    uint64_t *ret, char *err)
{
	struct pm_geometry g = {
		.region_size = o->size & ~(uint64_t)(PM_PAGE_SIZE - 1),
		.max_order = o->max_order,
		.inode_count = o->inode_count,
	};
	struct pm_super sb;
	int rv;

	if (o->size == 0)
		return errmsg(err, -EINVAL, "a size is required to create %s",
			      r->path);
	rv = plan(r, &g, &sb, err);
	if (rv)
		return rv;
	*ret = g.region_size;
	return 0;
}

/* create_meta -- make the missing metadata file of @r, empty (format
 * sizes it), then lock it. */
static int
create_meta(struct region_files *r, const struct region_files_opts *o,
	    bool *ret_created, char *err)
{
	uint64_t size;
	int fd, rc;

	/* Refuse a bad geometry, or a data file that is a region of its
	 * own, before leaving a file behind. */
	if (data_state(r->path))
		return no_meta(r, o, err);
	rc = create_size(r, o, &size, err);
	if (rc)
		return rc;
	fd = fault_open(r->meta_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno != EEXIST)
		return errmsg(err, -errno, "cannot create %s: %s", r->meta_path,
			      strerror(errno));
	/* EEXIST: someone made it meanwhile; attach theirs. */
	if (fd >= 0) {
		close(fd);
		*ret_created = true;
	}
	rc = lock_meta(r, err);
	/* Whoever holds the lock now opened the file this call made (or
	 * replaced it): it is theirs to use or remove. */
	if (rc)
		*ret_created = false;
	return rc;
}

/* open_meta -- lock, then open (or create) the metadata file. */
static int
open_meta(struct region_files *r, const struct region_files_opts *o,
	  bool *ret_created, char *err)
{
	struct stat locked, st;
	int rc;

	*ret_created = false;
	rc = lock_meta(r, err);
	if (rc == -ENOENT && o->create)
		rc = create_meta(r, o, ret_created, err);
	else if (rc == -ENOENT)
		return no_meta(r, o, err);
	if (rc)
		return rc;
	r->meta_fd = fault_open(r->meta_path, O_RDWR | O_CLOEXEC);
	if (r->meta_fd < 0)
		return errmsg(err, -errno, "cannot open %s: %s", r->meta_path,
			      strerror(errno));
	/* The lock guards the file the region is read from only if both
	 * opens reached the same one (a rename may come in between). */
	if (fstat(r->lock.fd, &locked) || fstat(r->meta_fd, &st))
		return errmsg(err, -errno, "cannot stat %s: %s", r->meta_path,
			      strerror(errno));
	if (locked.st_dev != st.st_dev || locked.st_ino != st.st_ino)
		return errmsg(err, -EAGAIN, "%s was replaced while opening it",
			      r->meta_path);
	if (!S_ISREG(st.st_mode))
		return errmsg(err, -EINVAL,
			      "metadata file %s is not a regular file",
			      r->meta_path);
	return 0;
}

/* open_data -- open (or create, sparse) the data file, and learn its
 * owner, group and mode: the region's. */
static int
open_data(struct region_files *r, const struct region_files_opts *o,
	  bool *ret_created, char *err)
{
	struct stat st;

	*ret_created = false;
	r->fd = fault_open(r->path, O_RDWR | O_CLOEXEC);
	if (r->fd < 0 && errno == ENOENT && o->create) {
		r->fd = fault_open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			     0600);
		*ret_created = r->fd >= 0;
	}
	if (r->fd < 0 && errno == ENOENT)
		return errmsg(err, -ENOENT, "no such region file %s", r->path);
	if (r->fd < 0)
		return errmsg(err, -errno, "cannot open %s: %s", r->path,
			      strerror(errno));
	if (fstat(r->fd, &st))
		return errmsg(err, -errno, "cannot stat %s: %s", r->path,
			      strerror(errno));
	if (S_ISCHR(st.st_mode) && !r->meta_given)
		return errmsg(err, -EINVAL,
			      "%s is a device: a devdax data device needs its "
			      "metadata file named (meta=FILE, on a "
			      "filesystem)",
			      r->path);
	r->uid = st.st_uid;
	r->gid = st.st_gid;
	r->mode = st.st_mode & 07777;
	return 0;
}

/* data_size -- the bytes a new region gets of the data file: all of an
 * existing one (a device, a pre-made file), @o->size of an empty one
 * (which is sized here). */
static int
data_size(struct region_files *r, const struct region_files_opts *o,
	  uint64_t *ret, char *err)
{
	uint64_t size = 0;
	int rc = media_source_size(r->fd, r->path, &size, err);

	if (rc)
		return rc;
	if (size == 0) {
		rc = create_size(r, o, &size, err);
		if (rc)
			return rc;
		if (fault_ftruncate(r->fd, (off_t)size))
			return errmsg(err, -errno, "cannot size %s: %s",
				      r->path, strerror(errno));
	}
	*ret = size & ~(uint64_t)(PM_PAGE_SIZE - 1);
	return 0;
}

/* new_uuid -- a random RFC 4122 version 4 uuid. */
static int
new_uuid(uint8_t uuid[16], char *err)
{
	size_t got = 0;

	while (got < 16) {
		ssize_t n = getrandom(uuid + got, 16 - got, 0);

		if (n < 0 && errno != EINTR)
			return errmsg(err, -errno, "getrandom: %s",
				      strerror(errno));
		if (n > 0)
			got += (size_t)n;
	}
	uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40);
	uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80);
	return 0;
}

/* map_meta -- map the metadata file into r->media. */
static int
map_meta(struct region_files *r, uint64_t *ret_size, char *err)
{
	return media_open(&r->media, r->meta_fd, r->meta_path, ret_size, err);
}

/* format -- a new, empty region: the metadata file sized and written, the
 * data file marked as its pair, the superblock last. @fresh: the metadata
 * file was empty, so its tables already read as zeroes. */
static int
format(struct region_files *r, const struct region_files_opts *o, bool fresh,
       char *err)
{
	struct pm_geometry g = {
		.max_order = o->max_order,
		.inode_count = o->inode_count,
	};
	struct journal j;
	struct pm_super sb;
	uint64_t msize = 0;
	int ret;

	ret = data_size(r, o, &g.region_size, err);
	if (ret)
		return ret;
	ret = plan(r, &g, &sb, err);
	if (ret)
		return ret;
	ret = new_uuid(sb.uuid, err);
	if (ret)
		return ret;
	sb.format_time_ns = layout_now_ns();
	layout_super_seal(&sb);
	if (fault_ftruncate(r->meta_fd, (off_t)sb.meta_size))
		return errmsg(err, -errno, "cannot size %s: %s", r->meta_path,
			      strerror(errno));
	ret = map_meta(r, &msize, err);
	if (ret)
		return ret;
	/* Metadata is read through the mapping: no page of it a hole. */
	ret = media_fill(&r->media, 0, sb.meta_size);
	if (!ret && !fresh) {
		/* A file left by an interrupted format may hold anything
		 * past its first page: clear every table the loader
		 * reads. */
		ret = media_zero(&r->media, sb.inode_off,
				 (uint64_t)sb.inode_count * sb.inode_size);
		if (!ret)
			ret = media_zero(&r->media, sb.extent_off,
					 (uint64_t)sb.extent_count *
						 sb.extent_size);
		if (!ret)
			ret = media_zero(&r->media, sb.bitmap_off,
					 sb.bitmap_size);
	}
	if (ret)
		return errmsg(err, ret, "cannot format %s: %s", r->meta_path,
			      strerror(-ret));
	ret = journal_init(&j, &r->media, sb.journal_off, sb.journal_size);
	if (!ret)
		ret = journal_format(&j);
	journal_fini(&j);
	if (ret)
		return errmsg(err, ret, "cannot format the journal of %s: %s",
			      r->meta_path, strerror(-ret));
	/* Before the superblock: a region whose superblock is durable has
	 * its data file marked (where xattrs exist). */
	ret = pair_set(r->fd, sb.uuid);
	if (ret && ret != -EOPNOTSUPP)
		return errmsg(err, ret, "cannot set %s of %s: %s", PAIR_XATTR,
			      r->path, strerror(-ret));
	/* Last: only now does the file become a region. */
	ret = media_store_durable(&r->media, 0, &sb, sizeof(sb));
	if (ret)
		return errmsg(err, ret, "cannot write the superblock of %s: %s",
			      r->meta_path, strerror(-ret));
	return 0;
}

int
region_open_files(struct region_files *r, const struct region_files_opts *o,
		  bool *ret_created_meta, bool *ret_created_data, char *err)
{
	uint64_t msize = 0;
	struct stat st;
	int rc;

	rc = open_meta(r, o, ret_created_meta, err);
	if (!rc)
		rc = open_data(r, o, ret_created_data, err);
	if (rc)
		return rc;
	if (fstat(r->meta_fd, &st))
		return errmsg(err, -errno, "cannot stat %s: %s", r->meta_path,
			      strerror(errno));
	if (st.st_size == 0 && !o->create)
		return errmsg(err, -EINVAL,
			      "metadata file %s is empty: not a region",
			      r->meta_path);
	/* A region whose data file is gone is not made anew over it. */
	if (st.st_size != 0 && *ret_created_data)
		return errmsg(err, -ENOENT,
			      "no such region file %s (its metadata file %s "
			      "exists)",
			      r->path, r->meta_path);
	if (st.st_size == 0)
		return format(r, o, true, err);
	rc = map_meta(r, &msize, err);
	if (rc)
		return rc;
	if (o->create && media_first_page_zero(&r->media)) {
		/* A format that crashed before its superblock: again. */
		media_close(&r->media);
		return format(r, o, false, err);
	}
	/* Metadata is read through the mapping, and on ext4 any fault on a
	 * hole costs the whole file its large page-cache folios
	 * (docs/performance.md): no metadata page may be one. */
	rc = media_fill(&r->media, 0, r->media.size & ~(uint64_t)4095);
	if (rc)
		return errmsg(err, rc, "%s: %s", r->meta_path, strerror(-rc));
	return 0;
}

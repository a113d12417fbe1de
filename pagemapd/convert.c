/* convert.c -- offline conversion of a version 1 region file into a
 * version 2 region: its metadata moved into a metadata file of its own. */
#include "convert.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exlock.h"
#include "fsck.h"
#include "journal.h"
#include "layout.h"
#include "pair.h"
#include "verify.h"

/*
 * Version 1 kept the metadata areas at the start of the one region file,
 * before its data area (data_pg). Version 2 has the same areas at the same
 * offsets in a metadata file, and the data where it was: data_off is the
 * old data_pg in bytes, so no extent, grant offset or bitmap bit moves.
 *
 * The order makes every crash point safe, and a rerun finishes the job:
 *
 *  1. the metadata file is written whole under a temporary name, synced,
 *     and renamed into place (then the directory synced): until the
 *     rename the data file is untouched and a rerun starts over;
 *  2. the data file gets the uuid (xattr), which tells a rerun that a
 *     metadata file beside it is its own;
 *  3. the old metadata area of the data file is zeroed (holes punched),
 *     the superblock page last, and synced: while the version 1
 *     superblock is still there, a rerun recognises it by its uuid;
 *     once it is gone, the zeroing is complete.
 *
 * A region in use is never converted: the data file's lock (held by a
 * version 1 daemon) and the metadata file's (a version 2 daemon) are
 * taken first.
 */

struct conv {
	struct convert_report *rep;
	FILE *log;
};

static void set_error(struct conv *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_error(struct conv *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->rep->first_error, sizeof(c->rep->first_error), fmt, ap);
	va_end(ap);
}

static void say(struct conv *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
say(struct conv *c, const char *fmt, ...)
{
	va_list ap;

	if (!c->log)
		return;
	fputs("convert: ", c->log);
	va_start(ap, fmt);
	vfprintf(c->log, fmt, ap);
	va_end(ap);
	fputc('\n', c->log);
}

static int
noop_persist(struct pm_media *m, uint64_t off, uint64_t len)
{
	(void)m, (void)off, (void)len;
	return 0;
}

/* lock -- take @path's lock (-EBUSY names the holder). */
static int
lock(struct conv *c, const char *path, int flags, struct exlock *l)
{
	char who[EXLOCK_WHO_MAX];
	pid_t holder = 0;
	int rc = exlock_region(path, flags, l, &holder);

	if (rc == -EBUSY) {
		exlock_who(holder, who, sizeof(who));
		c->rep->holder = holder;
		set_error(c, "region file %s is in use by %s", path, who);
	} else if (rc) {
		set_error(c, "%s: %s", path, strerror(-rc));
	}
	return rc;
}

/* zero_range -- zeroes over [off, off + len) of the data file @fd: holes
 * punched in a plain file (zeroes written where it cannot punch), stored
 * through a mapping on a device. Durable when it returns 0. */
static int
zero_range(int fd, bool plain, uint64_t off, uint64_t len)
{
	static const uint8_t zero[PM_PAGE_SIZE];
	void *p;

	if (len == 0)
		return 0;
	if (!plain) {
		p = mmap(NULL, off + len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
		if (p == MAP_FAILED)
			return -errno;
		memset((uint8_t *)p + off, 0, len);
		if (msync(p, off + len, MS_SYNC)) {
			int rc = -errno;

			munmap(p, off + len);
			return rc;
		}
		munmap(p, off + len);
		return 0;
	}
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len)) {
		for (uint64_t done = 0; done < len; done += sizeof(zero)) {
			size_t n = len - done < sizeof(zero) ? len - done
							     : sizeof(zero);

			if (pwrite(fd, zero, n, (off_t)(off + done)) !=
			    (ssize_t)n)
				return -EIO;
		}
	}
	return fsync(fd) ? -errno : 0;
}

/* finish -- steps 2 and 3: the data file marked as region @uuid's and its
 * old metadata area [0, @data_off) zeroed, the superblock page last. */
static int
finish(struct conv *c, int fd, bool plain, const char *path,
       const uint8_t uuid[16], uint64_t data_off)
{
	int rc = pair_set(fd, uuid);

	if (rc && rc != -EOPNOTSUPP) {
		set_error(c, "cannot set %s of %s: %s", PAIR_XATTR, path,
			  strerror(-rc));
		return rc;
	}
	if (rc == -EOPNOTSUPP)
		say(c,
		    "%s has no user extended attributes: it is paired with "
		    "its metadata file by size only",
		    path);
	if (data_off > PM_PAGE_SIZE)
		rc = zero_range(fd, plain, PM_PAGE_SIZE,
				data_off - PM_PAGE_SIZE);
	if (!rc)
		rc = zero_range(fd, plain, 0, PM_PAGE_SIZE);
	if (rc) {
		set_error(c, "cannot zero the old metadata of %s: %s", path,
			  strerror(-rc));
		return rc;
	}
	say(c,
	    "%s: the first %llu bytes (the old metadata) zeroed; it holds "
	    "file data only",
	    path, (unsigned long long)data_off);
	return 0;
}

/* write_meta -- step 1: @len bytes of @buf as the metadata file @meta,
 * owned as the data file (@st) is, mode 0600. */
static int
write_meta(struct conv *c, const char *meta, const uint8_t *buf, uint64_t len,
	   const struct stat *st)
{
	char tmp[PATH_MAX + 16], dir[PATH_MAX];
	int fd, dfd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", meta);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		set_error(c, "cannot create %s: %s", tmp, strerror(errno));
		return rc;
	}
	/* Root converting the daemon's region leaves it the daemon's. */
	if (S_ISREG(st->st_mode) && fchown(fd, st->st_uid, st->st_gid) &&
	    errno != EPERM)
		rc = -errno;
	for (uint64_t done = 0; !rc && done < len;) {
		ssize_t n = pwrite(fd, buf + done, len - done, (off_t)done);

		if (n <= 0)
			rc = n < 0 ? -errno : -EIO;
		else
			done += (uint64_t)n;
	}
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, meta))
		rc = -errno;
	if (rc) {
		set_error(c, "cannot write %s: %s", meta, strerror(-rc));
		unlink(tmp);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s", meta);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	say(c, "wrote the metadata file %s (%llu bytes, format version 2)",
	    meta, (unsigned long long)len);
	return 0;
}

/* fault_line -- verify_tables()'s report of one fault. */
static void
fault_line(void *ctx, const char *line)
{
	struct conv *c = ctx;

	if (!c->rep->first_error[0])
		set_error(c, "%s", line);
	say(c, "fault: %s", line);
}

/* load_v1 -- the version 1 metadata of the region file @fd (@size bytes)
 * into *ret_buf (*ret_len bytes), its journal replayed there, as a
 * version 2 image: superblock converted, journal empty. */
static int
load_v1(struct conv *c, int fd, uint64_t size, const struct pm_super *first,
	uint8_t **ret_buf, uint64_t *ret_len)
{
	struct pm_super sb = *first, sealed = sb;
	struct pm_media m = {.persist = noop_persist};
	struct verify_result res;
	const char *why = NULL, *ignored;
	struct journal j;
	uint64_t len;
	uint8_t *buf;
	int rc;

	/* A crc-only fault may be a torn journaled write the replay
	 * repairs, as attach and fsck allow. */
	layout_super_seal_v1(&sealed);
	if (layout_super_check_v1(&sb, size, &why) &&
	    layout_super_check_v1(&sealed, size, &ignored)) {
		set_error(c, "superblock: %s", why);
		return -EINVAL;
	}
	len = sb.bitmap_off + sb.bitmap_size;
	buf = calloc(1, len);
	if (!buf) {
		set_error(c, "out of memory");
		return -ENOMEM;
	}
	if (pread(fd, buf, len, 0) != (ssize_t)len) {
		set_error(c, "cannot read the metadata: %s", strerror(errno));
		free(buf);
		return -EIO;
	}
	m.base = buf;
	m.size = len;
	rc = journal_init(&j, &m, sb.journal_off, sb.journal_size);
	if (!rc) {
		rc = journal_recover(&j);
		journal_fini(&j);
	}
	if (rc < 0) {
		set_error(c, "journal replay: %s", strerror(-rc));
		free(buf);
		return rc == -EUCLEAN ? -EUCLEAN : -EIO;
	}
	memcpy(&sb, buf, sizeof(sb));
	if (layout_super_check_v1(&sb, size, &why)) {
		set_error(c, "superblock after journal replay: %s", why);
		free(buf);
		return -EINVAL;
	}
	/* Version 2: the same areas, the data where it is; the journal
	 * starts empty (what it held is applied). */
	memset((uint8_t *)&sb + PM_SUPER_V1_SIZE, 0,
	       sizeof(sb) - PM_SUPER_V1_SIZE);
	sb.version = PM_LAYOUT_VERSION;
	sb.reserved1 = 0;
	sb.data_off = sb.data_pg << PM_PAGE_SHIFT;
	sb.meta_size = len;
	sb.live_inodes = 0;
	for (uint32_t i = 0; i < sb.inode_count; i++) {
		const struct pm_inode *ino =
			(const struct pm_inode *)(buf + sb.inode_off) + i;

		if (ino->flags & PM_INODE_USED)
			sb.live_inodes++;
	}
	layout_super_seal(&sb);
	memset(buf, 0, PM_PAGE_SIZE);
	memcpy(buf, &sb, sizeof(sb));
	memset(buf + sb.journal_off, 0, sb.journal_size);
	if (layout_super_check(&sb, len, &why)) {
		set_error(c, "converted superblock: %s", why);
		free(buf);
		return -EINVAL;
	}
	rc = verify_tables(&sb, buf, VERIFY_ALL, fault_line, c, &res);
	if (!rc && res.faults)
		rc = -EUCLEAN;
	if (rc) {
		if (rc != -EUCLEAN)
			set_error(c, "out of memory");
		free(buf);
		return rc;
	}
	c->rep->files = res.files;
	c->rep->orphans = res.orphans;
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* resume -- a valid version 2 metadata file @sb is already beside the
 * data file: finish the job if it is this data file's, else refuse. */
static int
resume(struct conv *c, int fd, bool plain, const char *path, const char *meta,
       const struct pm_super *sb, const struct pm_super *first, uint64_t size)
{
	uint8_t uuid[16];
	bool marked = pair_get(fd, uuid) == 0 &&
		      memcmp(uuid, sb->uuid, sizeof(uuid)) == 0;
	bool old = layout_is_v1(first) &&
		   memcmp(first->uuid, sb->uuid, sizeof(uuid)) == 0;

	layout_uuid_str(sb->uuid, c->rep->uuid);
	c->rep->meta_size = sb->meta_size;
	c->rep->data_off = sb->data_off;
	if (size < sb->region_size) {
		set_error(c,
			  "data file %s is %llu bytes, the region needs %llu",
			  path, (unsigned long long)size,
			  (unsigned long long)sb->region_size);
		return -EINVAL;
	}
	if (old) {
		/* The version 1 superblock is zeroed last: it is still
		 * there, so steps 2 and 3 may not have ended. */
		c->rep->resumed = 1;
		say(c, "finishing an interrupted conversion (metadata %s)",
		    meta);
		return finish(c, fd, plain, path, sb->uuid, sb->data_off);
	}
	if (marked || layout_all_zero(first, sizeof(*first))) {
		/* Nothing is left to do; its data is never touched. */
		c->rep->already = 1;
		say(c, "%s is a version 2 region already (metadata %s)", path,
		    meta);
		return 0;
	}
	set_error(c, "%s exists and is region %s's, not %s's", meta,
		  c->rep->uuid, path);
	return -EEXIST;
}

/* read_meta_super -- the superblock of an existing metadata file @meta,
 * 1 if it is a valid version 2 one, 0 if there is no file, -errno if it
 * is not a region's. */
static int
read_meta_super(struct conv *c, const char *meta, struct pm_super *sb)
{
	struct stat st;
	const char *why = NULL;
	int fd = open(meta, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0) {
		set_error(c, "%s: %s", meta, strerror(errno));
		return -errno;
	}
	rc = fstat(fd, &st) ? -errno : 0;
	if (!rc && pread(fd, sb, sizeof(*sb), 0) != (ssize_t)sizeof(*sb))
		rc = -EINVAL;
	if (!rc)
		rc = layout_super_check(sb, (uint64_t)st.st_size, &why);
	close(fd);
	if (rc) {
		set_error(c,
			  "%s exists and is not a region's metadata file (%s)",
			  meta, why ? why : strerror(-rc));
		return -EEXIST;
	}
	return 1;
}

int
convert_region(const char *path, const char *meta_in,
	       struct convert_report *ret, FILE *log)
{
	struct conv c = {.rep = ret, .log = log};
	struct exlock dlock = {.fd = -1}, mlock = {.fd = -1};
	char meta[PATH_MAX];
	struct pm_super first, have;
	struct stat st;
	uint64_t size = 0, len = 0;
	uint8_t *buf = NULL;
	bool plain;
	int rc, fd;

	memset(ret, 0, sizeof(*ret));
	if (pair_meta_path(path, meta_in, meta, sizeof(meta))) {
		set_error(&c, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	rc = lock(&c, path, O_RDWR, &dlock);
	if (rc)
		return rc;
	fd = dlock.fd;
	rc = fstat(fd, &st) ? -errno : fsck_file_size(fd, &size, &plain);
	if (rc) {
		set_error(&c, "%s: %s", path, strerror(-rc));
		goto out;
	}
	if (!plain && !(meta_in && *meta_in)) {
		rc = -EINVAL;
		set_error(&c,
			  "%s is a device: name its metadata file (--meta "
			  "FILE, on a filesystem)",
			  path);
		goto out;
	}
	if (pread(fd, &first, sizeof(first), 0) != (ssize_t)sizeof(first)) {
		rc = -EINVAL;
		set_error(&c, "%s: too small to be a region", path);
		goto out;
	}
	if (access(meta, F_OK) == 0) {
		rc = lock(&c, meta, O_RDONLY, &mlock);
		if (rc)
			goto out;
	}
	rc = read_meta_super(&c, meta, &have);
	if (rc < 0)
		goto out;
	if (rc == 1) {
		rc = resume(&c, fd, plain, path, meta, &have, &first, size);
		goto out;
	}
	if (!layout_is_v1(&first)) {
		rc = -EINVAL;
		set_error(&c,
			  "%s is not a region of format version 1 and has "
			  "no metadata file %s",
			  path, meta);
		goto out;
	}
	rc = load_v1(&c, fd, size, &first, &buf, &len);
	if (rc)
		goto out;
	{
		const struct pm_super *sb = (const struct pm_super *)buf;

		layout_uuid_str(sb->uuid, ret->uuid);
		ret->meta_size = len;
		ret->data_off = sb->data_off;
		rc = write_meta(&c, meta, buf, len, &st);
		if (!rc)
			rc = finish(&c, fd, plain, path, sb->uuid,
				    sb->data_off);
	}
out:
	free(buf);
	exlock_release(&mlock);
	exlock_release(&dlock);
	return rc;
}

/* fsck.c -- offline consistency check of a region: its metadata file and
 * the pairing with its data file. */
#include "fsck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exlock.h"
#include "holder.h"
#include "journal.h"
#include "layout.h"
#include "pair.h"
#include "verify.h"

/*
 * fsck never writes a file: it maps the metadata MAP_PRIVATE, so replaying a pending
 * journal transaction changes only our copy-on-write pages. It holds the
 * file's exclusive lock (exlock.h) while it reads, as a daemon does while
 * it serves the file, so that what it reads is not being written; a live
 * check (FSCK_LIVE) reads a file a daemon holds, whose pages may change
 * under it. Every record is bounded by layout_*_check before its fields are
 * used as indices, so a file full of garbage yields errors, never a wild
 * access. The checks of the tables are attach's own (verify.c), run to the
 * end instead of stopping at the first fault.
 */

#define LOG_LINES_MAX 1000u /* printed problems; all of them are counted */

struct fsck {
	struct fsck_report *rep;
	FILE *log;
	const struct pm_super *sb; /* the mapped (recovered) superblock */
	uint8_t *base; /* private mapping of the region */
};

static void
problem(struct fsck *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
problem(struct fsck *f, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (f->rep->errors == 0)
		snprintf(f->rep->first_error, sizeof(f->rep->first_error), "%s",
			 line);
	if (f->log && f->rep->errors < LOG_LINES_MAX)
		fprintf(f->log, "fsck: %s\n", line);
	else if (f->log && f->rep->errors == LOG_LINES_MAX)
		fprintf(f->log, "fsck: too many problems, only counting\n");
	if (f->rep->errors < UINT32_MAX)
		f->rep->errors++;
}

static int
noop_persist(struct pm_media *m, uint64_t off, uint64_t len)
{
	(void)m, (void)off, (void)len;
	return 0;
}

/* table_fault -- verify_tables()'s report of one fault. */
static void
table_fault(void *ctx, const char *line)
{
	problem(ctx, "%s", line);
}

/* check_mapped -- everything after the superblock, on the mapping. */
static int
check_mapped(struct fsck *f, uint64_t map_len)
{
	struct pm_media media = {
		.base = f->base,
		.size = map_len,
		.persist = noop_persist,
	};
	struct verify_result res;
	struct journal j;
	const char *why;
	int ret;

	ret = journal_init(&j, &media, f->sb->journal_off,
			   f->sb->journal_size);
	if (ret)
		return ret;
	ret = journal_recover(&j);
	journal_fini(&j);
	if (ret == 1)
		f->rep->journal_replayed = 1;
	else if (ret == -EUCLEAN)
		problem(f, "journal: committed transaction writes outside "
			   "the metadata; not replayed");
	else if (ret < 0)
		return ret;
	/* The replayed transaction may have rewritten the superblock. */
	if (layout_super_check(f->sb, map_len, &why)) {
		problem(f, "superblock after journal replay: %s", why);
		return 0;
	}
	if (f->sb->meta_size != map_len) {
		problem(f, "journal replay changed the metadata size");
		return 0;
	}
	f->rep->max_order = f->sb->max_order;
	layout_uuid_str(f->sb->uuid, f->rep->uuid);
	{
		uint8_t boot[16];

		f->rep->pins_this_boot =
			holder_boot_id(boot) == 0 &&
			memcmp(boot, f->sb->pins_boot_id, sizeof(boot)) == 0;
	}
	ret = verify_tables(f->sb, f->base, VERIFY_ALL, table_fault, f, &res);
	if (ret)
		return ret;
	f->rep->repairable = res.repairable;
	f->rep->files = res.files;
	f->rep->orphans = res.orphans;
	f->rep->extents = res.extents;
	f->rep->used_pages = res.used_pages;
	f->rep->free_pages = f->sb->data_pages - res.used_pages;
	return 0;
}

int
fsck_file_size(int fd, uint64_t *ret, bool *ret_plain)
{
	struct stat st;
	off_t end;

	if (fstat(fd, &st))
		return -errno;
	if (ret_plain)
		*ret_plain = S_ISREG(st.st_mode);
	if (S_ISREG(st.st_mode)) {
		*ret = (uint64_t)st.st_size;
		return 0;
	}
	/* Block and devdax devices report their size only by seeking. */
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return -errno;
	*ret = (uint64_t)end;
	return 0;
}

/* open_locked -- take the lock of @path and return the fd to read it
 * through: the lock's own, or with FSCK_LIVE a fresh open of a file
 * another process holds. -EBUSY names the holder in @f's report. */
static int
open_locked(struct fsck *f, const char *path, unsigned flags,
	    struct exlock *lock)
{
	char who[EXLOCK_WHO_MAX];
	pid_t holder = 0;
	int fd, rc;

	rc = exlock_region(path, O_RDONLY, lock, &holder);
	if (rc == 0)
		return lock->fd;
	if (rc != -EBUSY) {
		problem(f, "%s: %s", path, strerror(-rc));
		return rc;
	}
	f->rep->holder = holder;
	exlock_who(holder, who, sizeof(who));
	if (!(flags & FSCK_LIVE)) {
		/* Not a problem of the file: said once, by the caller. */
		snprintf(f->rep->first_error, sizeof(f->rep->first_error),
			 "region file %s is in use by %s", path, who);
		return -EBUSY;
	}
	f->rep->stale = 1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		problem(f, "%s: %s", path, strerror(-rc));
		return rc;
	}
	return fd;
}

/* check_pair -- the data file @path is the pair of @sb (read from @meta)
 * and holds the whole region; a problem otherwise. */
static void
check_pair(struct fsck *f, const char *path, const char *meta,
	   const struct pm_super *sb)
{
	static const char *const hows[] = {
		[PAIR_UUID] = "uuid",
		[PAIR_SIZE] = "size",
		[PAIR_MARKED] = "uuid",
		[PAIR_UNMARKED] = "unmarked",
	};
	char why[ERRMSG_MAX];
	enum pair_how how = PAIR_UUID;
	uint64_t size = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		problem(f, "data file %s: %s", path, strerror(errno));
		return;
	}
	rc = fsck_file_size(fd, &size, NULL);
	if (rc) {
		problem(f, "data file %s: %s", path, strerror(-rc));
		close(fd);
		return;
	}
	f->rep->data_size = size;
	rc = pair_check(fd, path, size, meta, sb, false, &how, why);
	close(fd);
	if (rc) {
		/* A data file cut short: --repair extends it back. */
		if (rc == -EIO)
			f->rep->repairable++;
		problem(f, "%s", why);
		return;
	}
	f->rep->pairing = hows[how];
}

/* no_meta -- the metadata file @meta of @path is missing: a version 1
 * region, or a lost file. */
static int
no_meta(struct fsck *f, const char *path, const char *meta)
{
	struct pm_super sb;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool v1 = false;

	if (fd >= 0) {
		v1 = pread(fd, &sb, sizeof(sb), 0) == (ssize_t)sizeof(sb) &&
		     layout_is_v1(&sb);
		close(fd);
	}
	if (v1) {
		problem(f,
			"%s is a region of format version 1 (metadata inside "
			"the data file); convert it: pagemapctl region "
			"convert %s",
			path, path);
		return -EPROTONOSUPPORT;
	}
	problem(f, "%s: no metadata file %s", path, meta);
	return -ENOENT;
}

int
fsck_region_pair(const char *path, const char *data_meta, unsigned flags,
		 struct fsck_report *ret, FILE *log)
{
	struct fsck f = {.rep = ret, .log = log};
	char meta[PATH_MAX];
	struct exlock lock;
	struct pm_super sb;
	const char *why;
	uint64_t size = 0;
	ssize_t n;
	void *map;
	int fd, err;

	memset(ret, 0, sizeof(*ret));
	ret->pairing = "";
	if (pair_meta_path(path, data_meta, meta, sizeof(meta))) {
		problem(&f, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	if (access(meta, F_OK) && errno == ENOENT)
		return no_meta(&f, path, meta);
	fd = open_locked(&f, meta, flags, &lock);
	if (fd < 0)
		return fd;
	err = fsck_file_size(fd, &size, NULL);
	if (err) {
		problem(&f, "%s: %s", meta, strerror(-err));
		goto out_close;
	}
	n = pread(fd, &sb, sizeof(sb), 0);
	if (n < 0) {
		err = -errno;
		problem(&f, "%s: %s", meta, strerror(-err));
		goto out_close;
	}
	if ((size_t)n < sizeof(sb)) {
		err = -EINVAL;
		problem(&f, "%s: too small to be a region", meta);
		goto out_close;
	}
	if (layout_is_v1(&sb)) {
		err = -EPROTONOSUPPORT;
		problem(&f,
			"%s is a region of format version 1; convert it: "
			"pagemapctl region convert %s",
			meta, meta);
		goto out_close;
	}
	err = layout_super_check(&sb, size, &why);
	if (err) {
		/* A superblock whose only fault is its crc may be a torn
		 * journaled write that replay repairs, as attach does;
		 * check_mapped() checks it again after the replay. */
		struct pm_super sealed = sb;
		const char *ignored;

		layout_super_seal(&sealed);
		if (!layout_journal_usable(&sb, size) ||
		    layout_super_check(&sealed, size, &ignored)) {
			problem(&f, "superblock: %s", why);
			goto out_close;
		}
		err = 0;
	}
	ret->region_size = sb.region_size;
	ret->max_order = sb.max_order;
	layout_uuid_str(sb.uuid, ret->uuid);

	map = mmap(NULL, sb.meta_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		   fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		problem(&f, "%s: mmap: %s", meta, strerror(-err));
		goto out_close;
	}
	f.base = map;
	f.sb = map;
	err = check_mapped(&f, sb.meta_size);
	if (err)
		problem(&f, "check aborted: %s", strerror(-err));
	else
		check_pair(&f, path, meta, f.sb);
	munmap(map, sb.meta_size);
out_close:
	if (fd != lock.fd)
		close(fd);
	exlock_release(&lock);
	return err;
}

int
fsck_region_flags(const char *path, unsigned flags, struct fsck_report *ret,
		  FILE *log)
{
	return fsck_region_pair(path, NULL, flags, ret, log);
}

int
fsck_region(const char *path, struct fsck_report *ret, FILE *log)
{
	return fsck_region_flags(path, 0, ret, log);
}

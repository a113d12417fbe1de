/* fsck.c -- offline consistency check of a region file. */
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
#include "verify.h"

/*
 * fsck never writes the file: it maps it MAP_PRIVATE, so replaying a pending
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
	if (f->sb->region_size != map_len) {
		problem(f, "journal replay changed the region size");
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

int
fsck_region_flags(const char *path, unsigned flags, struct fsck_report *ret,
		  FILE *log)
{
	struct fsck f = {.rep = ret, .log = log};
	struct exlock lock;
	struct pm_super sb;
	const char *why;
	uint64_t size = 0;
	ssize_t n;
	void *map;
	int fd, err;

	memset(ret, 0, sizeof(*ret));
	fd = open_locked(&f, path, flags, &lock);
	if (fd < 0)
		return fd;
	err = fsck_file_size(fd, &size, NULL);
	if (err) {
		problem(&f, "%s: %s", path, strerror(-err));
		goto out_close;
	}
	n = pread(fd, &sb, sizeof(sb), 0);
	if (n < 0) {
		err = -errno;
		problem(&f, "%s: %s", path, strerror(-err));
		goto out_close;
	}
	if ((size_t)n < sizeof(sb)) {
		err = -EINVAL;
		problem(&f, "%s: too small to be a region", path);
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

	map = mmap(NULL, sb.region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		   fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		problem(&f, "%s: mmap: %s", path, strerror(-err));
		goto out_close;
	}
	f.base = map;
	f.sb = map;
	err = check_mapped(&f, sb.region_size);
	if (err)
		problem(&f, "check aborted: %s", strerror(-err));
	munmap(map, sb.region_size);
out_close:
	if (fd != lock.fd)
		close(fd);
	exlock_release(&lock);
	return err;
}

int
fsck_region(const char *path, struct fsck_report *ret, FILE *log)
{
	return fsck_region_flags(path, 0, ret, log);
}

/* region.c -- a pmem region: the libpmem2 mapping, format and attach. */
#include "region.h"

#include <errno.h>
#include <fcntl.h>
#include <libpmem2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "inode.h"

/*
 * This is the only file that talks to libpmem2. Everything above it sees a
 * region as a struct pm_media: a base address and one persist function,
 * which is also where test builds simulate power loss (see the crash-point
 * section below).
 *
 * Formatting writes the superblock last: until it is durable the first page
 * of the file stays all zero, so a crash during format leaves a file that
 * the next create formats again, never a half-formatted region that passes
 * for a real one.
 *
 * Attach never writes anything before the superblock's magic says the file
 * is one of ours; the only write it may make before the full superblock
 * check is the replay of a committed journal transaction, because the
 * superblock itself (its orphan list head) is written through the journal
 * and may be torn until the replay.
 */

static int
fail(char *err, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(char *err, int ret, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, REGION_ERR_MAX, fmt, ap);
		va_end(ap);
	}
	return ret;
}

/* pmem2_fail -- turn a libpmem2 return code into -errno, with libpmem2's
 * own message in @err. Codes above PMEM2_E_UNKNOWN are already -errno. */
static int
pmem2_fail(char *err, int ret, const char *what, const char *path)
{
	int e;

	if (ret < 0 && ret > PMEM2_E_UNKNOWN)
		e = ret;
	else if (ret == PMEM2_E_NOSUPP ||
		 ret == PMEM2_E_GRANULARITY_NOT_SUPPORTED)
		e = -EOPNOTSUPP;
	else if (ret == PMEM2_E_IO_FAIL)
		e = -EIO;
	else
		e = -EINVAL;
	return fail(err, e, "%s %s: %s", what, path, pmem2_errormsg());
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool
all_zero(const uint8_t *p, size_t len)
{
	/* Zero if the first byte is and every byte equals the next. */
	return len == 0 || (p[0] == 0 && memcmp(p, p + 1, len - 1) == 0);
}

/* ------------------------------------------------------------------------
 * Crash points (test builds only).
 *
 * A killed process never loses a store to a shared mapping, so power loss
 * has to be simulated: once a region is attached (after any format and
 * journal replay, whose persists are neither copied nor counted), every
 * persist of it also copies the persisted range into "<path>.durable", a
 * copy of the region taken at that moment, and a hole punched by
 * region_zero() is punched there too. The image therefore holds exactly
 * what real media would hold: what was persisted.
 * With PAGEMAPD_CRASH_AFTER=N, the Nth persist of the process (counted over
 * all attached regions) copies nothing, or with PAGEMAPD_CRASH_TORN=1 only
 * the first half of its range, and the process _exit(86)s: the image is
 * then the media after a power cut at that persist point. With N = 0 the
 * persists are only counted (region_crash_persists()), which lets a test
 * learn how many persist points a workload has.
 * ------------------------------------------------------------------------
 */
#ifdef PAGEMAP_CRASH_POINTS

#define CRASH_EXIT 86

struct crash {
	int fd; /* the durable image, -1 when only counting */
	uint64_t after; /* PAGEMAPD_CRASH_AFTER */
	bool torn; /* PAGEMAPD_CRASH_TORN=1 */
};

static uint64_t crash_count; /* persists seen, process-wide */

uint64_t region_crash_persists(void);

/* region_crash_persists -- persists counted so far (test builds). */
uint64_t
region_crash_persists(void)
{
	return crash_count;
}

static bool
crash_env(uint64_t *ret_after, bool *ret_torn)
{
	const char *s = getenv("PAGEMAPD_CRASH_AFTER");
	const char *t = getenv("PAGEMAPD_CRASH_TORN");
	char *end;
	unsigned long long v;

	if (!s || !*s)
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*ret_after = v;
	*ret_torn = t && strcmp(t, "1") == 0;
	return true;
}

/* copy_image -- write the mapping of @r to @out, skipping what the file
 * system reports as holes (a devdax device reports none) and all-zero
 * blocks, so the image stays as sparse as the region. */
static int
copy_image(struct region *r, int out)
{
	const uint64_t blk = 1 << 16, size = r->media.size;
	uint64_t pos = 0;

	while (pos < size) {
		off_t data = lseek(r->fd, (off_t)pos, SEEK_DATA);
		uint64_t end = size;

		if (data < 0 && errno == ENXIO)
			break; /* only a hole is left */
		if (data >= 0) {
			off_t hole = lseek(r->fd, data, SEEK_HOLE);

			pos = (uint64_t)data;
			if (hole >= 0 && (uint64_t)hole < size)
				end = (uint64_t)hole;
		}
		for (; pos < end; pos += blk) {
			size_t n = end - pos < blk ? end - pos : blk;

			if (all_zero(r->media.base + pos, n))
				continue;
			if (pwrite(out, r->media.base + pos, n, (off_t)pos) !=
			    (ssize_t)n)
				return -EIO;
		}
	}
	return 0;
}

/* crash_arm -- start tracking persists of @r if the environment asks. */
static int
crash_arm(struct region *r, char *err)
{
	struct crash *c;
	char path[PATH_MAX + 16];
	uint64_t after;
	bool torn;
	int ret;

	if (!crash_env(&after, &torn))
		return 0;
	c = malloc(sizeof(*c));
	if (!c)
		return fail(err, -ENOMEM, "out of memory");
	c->fd = -1;
	c->after = after;
	c->torn = torn;
	if (after > 0) {
		snprintf(path, sizeof(path), "%s.durable", r->path);
		c->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0600);
		if (c->fd < 0) {
			ret = -errno;
			free(c);
			return fail(err, ret, "crash image %s: %s", path,
				    strerror(-ret));
		}
		ret = ftruncate(c->fd, (off_t)r->media.size) ? -errno :
			copy_image(r, c->fd);
		if (ret) {
			close(c->fd);
			free(c);
			return fail(err, ret, "crash image %s: %s", path,
				    strerror(-ret));
		}
	}
	r->crash = c;
	return 0;
}

static void
crash_disarm(struct region *r)
{
	struct crash *c = r->crash;

	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
	r->crash = NULL;
}

/* crash_persist -- the persist point of @r's [off, off + len): copy it to
 * the durable image, or die there as if the power had failed. */
static int
crash_persist(struct region *r, uint64_t off, uint64_t len)
{
	struct crash *c = r->crash;

	crash_count++;
	if (c->fd < 0)
		return 0;
	if (crash_count == c->after) {
		len = c->torn ? len / 2 & ~(uint64_t)63 : 0;
		if (len)
			(void)!pwrite(c->fd, r->media.base + off, len,
				      (off_t)off);
		_exit(CRASH_EXIT);
	}
	if (pwrite(c->fd, r->media.base + off, len, (off_t)off) !=
	    (ssize_t)len)
		return -EIO;
	return 0;
}

/* crash_punch -- mirror a hole punched in the region into the image. */
static void
crash_punch(struct region *r, uint64_t off, uint64_t len)
{
	struct crash *c = r->crash;

	if (!c || c->fd < 0)
		return;
	if (fallocate(c->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) == 0)
		return;
	for (uint64_t done = 0; done < len;) {
		static const uint8_t zero[4096];
		size_t n = len - done < sizeof(zero) ? len - done :
			sizeof(zero);

		if (pwrite(c->fd, zero, n, (off_t)(off + done)) < 0)
			return;
		done += n;
	}
}

#else /* !PAGEMAP_CRASH_POINTS */

static int
crash_arm(struct region *r, char *err)
{
	(void)r;
	(void)err;
	return 0;
}

static void
crash_disarm(struct region *r)
{
	(void)r;
}

static void
crash_punch(struct region *r, uint64_t off, uint64_t len)
{
	(void)r;
	(void)off;
	(void)len;
}

#endif /* PAGEMAP_CRASH_POINTS */

/* media_persist -- pm_media's persist: libpmem2's persist of the range. */
static int
media_persist(struct pm_media *m, uint64_t off, uint64_t len)
{
	struct region *r = m->ctx;
	pmem2_persist_fn persist = pmem2_get_persist_fn(r->map);

	persist(m->base + off, len);
#ifdef PAGEMAP_CRASH_POINTS
	if (r->crash)
		return crash_persist(r, off, len);
#endif
	return 0;
}

/* file_write -- the pm_media write of a plain-file region: pwrite(), 2 MiB
 * at a time (the page cache sizes its folios by the write); zeroes come
 * from an untouched anonymous mapping, all of it the zero page. */
static int
file_write(struct pm_media *m, uint64_t off, const void *src, uint64_t len)
{
	static const size_t chunk = 2u << 20;
	static void *zero;
	struct region *r = m->ctx;

	if (src == NULL && zero == NULL) {
		zero = mmap(NULL, chunk, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS,
			    -1, 0);
		if (zero == MAP_FAILED) {
			zero = NULL;
			return -ENOMEM;
		}
	}
	while (len) {
		size_t n = len < chunk ? (size_t)len : chunk;
		ssize_t k = pwrite(r->fd, src ? src : zero, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -EIO;
		off += (uint64_t)k;
		len -= (uint64_t)k;
		if (src)
			src = (const uint8_t *)src + k;
	}
	return 0;
}

/* filled_bits -- walk bits [pg, pg + n) of r->filled: with @set, set
 * them; without, return whether all are set. Whole words at a time. */
static bool
filled_bits(struct region *r, uint64_t pg, uint64_t n, bool set)
{
	while (n) {
		uint64_t bit = pg % 64, k = 64 - bit < n ? 64 - bit : n;
		uint64_t mask = (k == 64 ? ~0ull : ((1ull << k) - 1)) << bit;

		if (set)
			r->filled[pg / 64] |= mask;
		else if ((r->filled[pg / 64] & mask) != mask)
			return false;
		pg += k;
		n -= k;
	}
	return true;
}

int
region_fill(struct region *r, uint64_t pg, uint64_t npages)
{
	uint64_t off = pg << PM_PAGE_SHIFT, end = off + (npages << PM_PAGE_SHIFT);
	uint64_t pages = r->media.size >> PM_PAGE_SHIFT;

	if (r->kind != REGION_FILE)
		return 0;
	if (pg > pages || npages > pages - pg)
		return 0; /* nothing of the region there to fill */
	/* Pages once filled (or found to be data) stay data: nothing ever
	 * punches a hole again. Remembering them saves a SEEK_HOLE per
	 * grant. */
	if (filled_bits(r, pg, npages, false))
		return 0;
	while (off < end) {
		off_t hole = lseek(r->fd, (off_t)off, SEEK_HOLE);
		off_t data;
		uint64_t stop;
		int rv;

		if (hole < 0 && errno == ENXIO)
			break;
		if (hole < 0)
			return -errno;
		if ((uint64_t)hole >= end)
			break;
		data = lseek(r->fd, hole, SEEK_DATA);
		stop = data < 0 || (uint64_t)data > end ? end : (uint64_t)data;
		rv = file_write(&r->media, (uint64_t)hole, NULL,
				stop - (uint64_t)hole);
		if (rv)
			return rv;
		off = stop;
	}
	filled_bits(r, pg, npages, true);
	return 0;
}

/* meta_end -- where the metadata of the region file ends (its data area
 * begins), read without touching the mapping; 0 when the first page is
 * not a superblock. */
static uint64_t
meta_end(const struct region *r, uint64_t file_size)
{
	struct pm_super sb;

	if (pread(r->fd, &sb, sizeof(sb), 0) != (ssize_t)sizeof(sb) ||
	    memcmp(sb.magic, PM_MAGIC, sizeof(sb.magic)) != 0 ||
	    sb.data_pg > file_size >> PM_PAGE_SHIFT)
		return 0;
	return sb.data_pg << PM_PAGE_SHIFT;
}

/* first_page_zero -- the region file's first page is all zeroes (never
 * formatted), read with pread for the reason region_fill() gives. */
static bool
first_page_zero(const struct region *r)
{
	uint8_t page[PM_PAGE_SIZE];

	if (r->kind != REGION_FILE)
		return all_zero(r->media.base, PM_PAGE_SIZE);
	if (pread(r->fd, page, sizeof(page), 0) != (ssize_t)sizeof(page))
		return false;
	return all_zero(page, sizeof(page));
}

/* zero_bytes -- zero [off, off + len) of the region and persist it. */
static int
zero_bytes(struct region *r, uint64_t off, uint64_t len)
{
	int rv;

	if (len == 0)
		return 0;
	if (r->media.write) {
		rv = r->media.write(&r->media, off, NULL, len);
		if (rv)
			return rv;
	} else {
		pmem2_memset_fn set = pmem2_get_memset_fn(r->map);

		set(r->media.base + off, 0, len, PMEM2_F_MEM_NOFLUSH);
	}
	return r->media.persist(&r->media, off, len);
}

/* is_hole -- true if [off, off + len) of the plain file holds no data. */
static bool
is_hole(int fd, uint64_t off, uint64_t len)
{
	off_t data = lseek(fd, (off_t)off, SEEK_DATA);

	return (data < 0 && errno == ENXIO) ||
	       (data >= 0 && (uint64_t)data >= off + len);
}

/* region_zero -- make the pages read as zeroes before a file gets them.
 * On a plain file a hole already does (and after a crash too): it is left
 * for region_fill() at its first grant, so creating a file costs no
 * writes. Other pages are written with zeroes (pwrite: large folios, see
 * file_write()), durably before the handover. DAX: memset + persist. */
int
region_zero(struct region *r, uint64_t pg, uint64_t npages)
{
	uint64_t pages = r->media.size >> PM_PAGE_SHIFT;
	uint64_t off = pg << PM_PAGE_SHIFT, len = npages << PM_PAGE_SHIFT;
	int rv;

	if (npages == 0)
		return 0;
	if (pg > pages || npages > pages - pg)
		return 0; /* nothing of the region there to fill */
	if (r->kind != REGION_FILE)
		return zero_bytes(r, off, len);
	/* A hole stays one until its first grant (region_fill()). */
	if (is_hole(r->fd, off, len))
		return 0;
	rv = file_write(&r->media, off, NULL, len);
	if (rv)
		return rv;
	crash_punch(r, off, len);
	/* Under group commit one fdatasync before the batch's commit covers
	 * every zeroing of the batch. */
	if (r->group_commit)
		r->zero_sync = true;
	else if (fdatasync(r->fd))
		return -errno;
	return 0;
}

int
region_commit(struct region *r)
{
	if (!journal_staged(&r->journal))
		return 0;
	if (r->zero_sync && fdatasync(r->fd) < 0) {
		r->failed = true;
		return -EIO;
	}
	r->zero_sync = false;
	if (journal_commit(&r->journal)) {
		/* The media state is unknown until the next attach replays
		 * the journal; DRAM is ahead of it. */
		journal_abort(&r->journal);
		r->failed = true;
		return -EIO;
	}
	for (size_t i = 0; i < r->npending_free; i++)
		alloc_release(r->alloc, r->pending_free[i].pg,
			      r->pending_free[i].n);
	r->npending_free = 0;
	r->batch_ops = 0;
	return 0;
}

/* open_file -- open (or create) the backing file of @r. *ret_created is
 * set when this call made the file, which is then sparse, @size bytes. */
static int
open_file(struct region *r, const struct region_opts *o, bool *ret_created,
	  char *err)
{
	uint64_t size = o->size & ~(uint64_t)(PM_PAGE_SIZE - 1);
	struct pm_geometry g = {
		.region_size = size,
		.max_order = o->max_order,
		.inode_count = o->inode_count,
	};
	struct pm_super sb;
	int fd, ret;

	*ret_created = false;
	fd = open(r->path, O_RDWR | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && o->create) {
		/* Refuse a bad geometry before leaving a file behind. */
		if (o->size == 0)
			return fail(err, -EINVAL,
				    "a size is required to create %s",
				    r->path);
		if (layout_plan(&g, &sb))
			return fail(err, -EINVAL,
				    "cannot format %s: size below %u MiB or "
				    "max order above %u", r->path,
				    PM_MIN_REGION_SIZE >> 20,
				    PM_MAX_ORDER_LIMIT);
		fd = open(r->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			  0600);
		if (fd >= 0) {
			*ret_created = true;
			if (ftruncate(fd, (off_t)size)) {
				ret = -errno;
				unlink(r->path);
				close(fd);
				*ret_created = false;
				return fail(err, ret, "cannot size %s: %s",
					    r->path, strerror(-ret));
			}
		} else if (errno == EEXIST) {
			/* Someone made it meanwhile: attach theirs. */
			fd = open(r->path, O_RDWR | O_CLOEXEC);
		}
	}
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT && o->create)
			return fail(err, ret, "cannot create %s: %s", r->path,
				    strerror(-ret));
		if (ret == -ENOENT)
			return fail(err, ret, "no such region file %s",
				    r->path);
		return fail(err, ret, "cannot open %s: %s", r->path,
			    strerror(-ret));
	}
	r->fd = fd;
	return 0;
}

/* map_file -- map the whole of @r->fd with libpmem2 and set r->kind,
 * owner and media. *ret_file_size is what the superblock is checked
 * against. */
static int
map_file(struct region *r, uint64_t *ret_file_size, char *err)
{
	struct pmem2_config *cfg = NULL;
	struct pmem2_source *src = NULL;
	struct pmem2_map *map = NULL;
	struct stat st;
	size_t size = 0, align = 0;
	int ret;

	if (fstat(r->fd, &st))
		return fail(err, -errno, "cannot stat %s: %s", r->path,
			    strerror(errno));
	if (S_ISCHR(st.st_mode))
		r->kind = REGION_DEVDAX;
	else if (S_ISREG(st.st_mode))
		r->kind = REGION_FILE;
	else
		return fail(err, -EINVAL,
			    "%s is neither a regular file nor a dax device",
			    r->path);
	r->uid = st.st_uid;
	r->gid = st.st_gid;
	r->mode = st.st_mode & 07777;

	ret = pmem2_config_new(&cfg);
	if (ret)
		return pmem2_fail(err, ret, "pmem2 config for", r->path);
	ret = pmem2_source_from_fd(&src, r->fd);
	if (ret) {
		ret = pmem2_fail(err, ret, "pmem2 source for", r->path);
		goto out_cfg;
	}
	ret = pmem2_source_size(src, &size);
	if (!ret)
		ret = pmem2_source_alignment(src, &align);
	if (ret) {
		ret = pmem2_fail(err, ret, "cannot size", r->path);
		goto out_src;
	}
	/* A plain file only maps page-granular; on DAX libpmem2 still
	 * picks the finer granularity the media offers. */
	ret = pmem2_config_set_required_store_granularity(cfg,
		PMEM2_GRANULARITY_PAGE);
	if (ret) {
		ret = pmem2_fail(err, ret, "pmem2 granularity for", r->path);
		goto out_src;
	}
	if (align < PM_PAGE_SIZE)
		align = PM_PAGE_SIZE;
	if (size / align * align < PM_PAGE_SIZE) {
		ret = fail(err, -EINVAL, "%s is too small to be a region",
			   r->path);
		goto out_src;
	}
	ret = pmem2_config_set_length(cfg, size / align * align);
	if (ret) {
		ret = pmem2_fail(err, ret, "cannot map", r->path);
		goto out_src;
	}
	ret = pmem2_map_new(&map, cfg, src);
	if (ret) {
		ret = pmem2_fail(err, ret, "cannot map", r->path);
		goto out_src;
	}
	if (r->kind == REGION_FILE &&
	    pmem2_map_get_store_granularity(map) != PMEM2_GRANULARITY_PAGE)
		r->kind = REGION_FSDAX;
	r->map = map;
	r->media.base = pmem2_map_get_address(map);
	r->media.size = pmem2_map_get_size(map);
	r->media.persist = media_persist;
	/* Stores into a page-cached file go through pwrite (file_write()). */
	r->media.write = r->kind == REGION_FILE ? file_write : NULL;
	r->media.ctx = r;
	*ret_file_size = size;
out_src:
	pmem2_source_delete(&src);
out_cfg:
	pmem2_config_delete(&cfg);
	return ret;
}

/* format -- write a new, empty layout over the mapped file. @fresh: the
 * file was just created sparse, so its tables already read as zeroes. */
static int
format(struct region *r, const struct region_opts *o, bool fresh, char *err)
{
	struct pm_geometry g = {
		.region_size = r->media.size & ~(uint64_t)(PM_PAGE_SIZE - 1),
		.max_order = o->max_order,
		.inode_count = o->inode_count,
	};
	struct pm_super sb;
	size_t got = 0;
	int ret;

	if (layout_plan(&g, &sb))
		return fail(err, -EINVAL,
			    "cannot format %s: size below %u MiB or max "
			    "order above %u", r->path,
			    PM_MIN_REGION_SIZE >> 20, PM_MAX_ORDER_LIMIT);
	while (got < sizeof(sb.uuid)) {
		ssize_t n = getrandom(sb.uuid + got, sizeof(sb.uuid) - got, 0);

		if (n < 0 && errno != EINTR)
			return fail(err, -errno, "getrandom: %s",
				    strerror(errno));
		if (n > 0)
			got += (size_t)n;
	}
	sb.uuid[6] = (uint8_t)((sb.uuid[6] & 0x0f) | 0x40); /* RFC 4122 v4 */
	sb.uuid[8] = (uint8_t)((sb.uuid[8] & 0x3f) | 0x80);
	sb.format_time_ns = now_ns();
	layout_super_seal(&sb);
	if (r->kind == REGION_FILE) {
		ret = region_fill(r, 0, sb.data_pg);
		if (ret)
			return fail(err, ret, "cannot format %s: %s", r->path,
				    strerror(-ret));
	}

	if (!fresh) {
		/* A used device or a pre-made file may hold anything past
		 * its first page: clear every table the loader reads. */
		ret = zero_bytes(r, sb.inode_off,
				 (uint64_t)sb.inode_count * sb.inode_size);
		if (!ret)
			ret = zero_bytes(r, sb.extent_off,
					 (uint64_t)sb.extent_count *
						 sb.extent_size);
		if (!ret)
			ret = zero_bytes(r, sb.bitmap_off, sb.bitmap_size);
		if (ret)
			return fail(err, ret, "cannot format %s: %s", r->path,
				    strerror(-ret));
	}
	ret = journal_init(&r->journal, &r->media, sb.journal_off,
			   sb.journal_size);
	if (!ret)
		ret = journal_format(&r->journal);
	journal_fini(&r->journal);
	if (ret)
		return fail(err, ret, "cannot format the journal of %s: %s",
			    r->path, strerror(-ret));
	/* Last: only now does the file become a region. */
	ret = media_write(&r->media, 0, &sb, sizeof(sb));
	if (!ret)
		ret = r->media.persist(&r->media, 0, sizeof(sb));
	if (ret)
		return fail(err, ret, "cannot write the superblock of %s: %s",
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
			return fail(err, ret, "out of memory");
		if (ret == 0) {
			ret = journal_recover(&r->journal);
			if (ret == -EUCLEAN)
				return fail(err, ret,
					    "%s: the journal names writes "
					    "outside the region", r->path);
			if (ret < 0)
				return fail(err, -EIO,
					    "%s: journal replay failed: %s",
					    r->path, strerror(-ret));
		}
	}
	ret = layout_super_check(sb, file_size, &why);
	if (ret)
		return fail(err, ret, "%s: %s", r->path,
			    why ? why : "bad superblock");
	if (sb->region_size > r->media.size)
		return fail(err, -EINVAL, "%s: region is larger than the "
			    "mapping", r->path);
	if (!r->journal.buf || r->journal.off != joff ||
	    r->journal.size != jsize)
		return fail(err, -EINVAL, "%s: bad journal geometry", r->path);
	return 0;
}

/* reclaim_orphans -- free every orphan a crash left on the list (I3). */
static int
reclaim_orphans(struct region *r, char *err)
{
	while (r->sb->orphan_head) {
		uint32_t slot = r->sb->orphan_head - 1;
		struct inode *ino = inode_at(r, slot);
		int ret;

		if (!ino || !ino->orphan)
			return fail(err, -EUCLEAN, "%s: orphan list names "
				    "inode %u, which is not an orphan",
				    r->path, slot);
		ret = inode_unlink(r, ino);
		if (ret)
			return fail(err, ret, "%s: cannot reclaim orphan "
				    "inode %u: %s", r->path, slot,
				    strerror(-ret));
	}
	return 0;
}

/* region_attach -- open, map, format if asked and empty, replay, load. */
int
region_attach(const char *name, const char *path, const struct region_opts *o,
	      struct region **ret, char *err)
{
	static const struct region_opts none;
	struct region *r;
	uint64_t file_size = 0;
	bool created = false;
	int rc;

	if (!o)
		o = &none;
	if (region_name_valid(name))
		return fail(err, -EINVAL, "invalid region name \"%s\"",
			    name ? name : "");
	if (!path || !*path)
		return fail(err, -EINVAL, "no region path");
	if (strlen(path) >= PATH_MAX)
		return fail(err, -ENAMETOOLONG, "region path is too long");
	r = calloc(1, sizeof(*r));
	if (!r)
		return fail(err, -ENOMEM, "out of memory");
	r->fd = -1;
	r->ro_fd = -1;
	strcpy(r->name, name);
	strcpy(r->path, path);

	rc = open_file(r, o, &created, err);
	if (rc)
		goto fail;
	rc = map_file(r, &file_size, err);
	if (rc)
		goto fail;
	if (r->kind == REGION_FILE) {
		r->filled = calloc((r->media.size / PM_PAGE_SIZE + 63) / 64,
				   sizeof(uint64_t));
		if (!r->filled) {
			rc = fail(err, -ENOMEM, "out of memory");
			goto fail;
		}
	}
	if (created || (o->create && first_page_zero(r))) {
		rc = format(r, o, created, err);
		if (rc)
			goto fail;
	}
	if (r->kind == REGION_FILE) {
		/* Metadata is read through the mapping, and on ext4 any
		 * fault on a hole costs the whole file its large page-cache
		 * folios (docs/performance.md): no metadata page may be one. */
		rc = region_fill(r, 0, meta_end(r, file_size) >> PM_PAGE_SHIFT);
		if (rc) {
			fail(err, rc, "%s: %s", path, strerror(-rc));
			goto fail;
		}
	}
	rc = recover(r, file_size, err);
	if (rc)
		goto fail;
	r->sb = (struct pm_super *)r->media.base;
	rc = crash_arm(r, err);
	if (rc)
		goto fail;
	rc = alloc_new(r->sb->region_size >> PM_PAGE_SHIFT, r->sb->data_pg,
		       r->sb->data_pages, r->sb->max_order, &r->alloc);
	if (rc) {
		fail(err, rc, "%s: cannot set up the allocator: %s", path,
		     strerror(-rc));
		goto fail;
	}
	rc = inode_load(r, err);
	if (rc)
		goto fail;
	rc = reclaim_orphans(r, err);
	if (rc)
		goto fail;
	/* Read-only clients get this one: a region fd lets its holder map
	 * any of the region, so its open mode is the whole access check. */
	r->ro_fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (r->ro_fd < 0) {
		rc = fail(err, -errno, "%s: %s", path, strerror(errno));
		goto fail;
	}
	*ret = r;
	return 0;
fail:
	region_detach(r);
	/* A file this call created holds nothing anyone could want. */
	if (created)
		unlink(path);
	return rc;
}

/* region_detach -- undo region_attach in reverse. The only write is the
 * journal's checkpoint, so that a detached region file needs no replay. */
void
region_detach(struct region *r)
{
	struct pmem2_map *map;

	if (!r)
		return;
	/* A failed checkpoint loses nothing: the next attach replays. */
	if (r->journal.buf && !r->failed)
		(void)journal_checkpoint(&r->journal);
	inode_unload(r);
	alloc_delete(r->alloc);
	r->alloc = NULL;
	journal_fini(&r->journal);
	free(r->filled);
	r->filled = NULL;
	crash_disarm(r);
	map = r->map;
	if (map)
		pmem2_map_delete(&map);
	r->map = NULL;
	if (r->fd >= 0)
		close(r->fd);
	if (r->ro_fd >= 0)
		close(r->ro_fd);
	free(r->pending_free);
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
	const uint8_t *u = sb->uuid;
	uint64_t free_pages = alloc_free_pages(r->alloc);

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->name, sizeof(ret->name), "%s", r->name);
	snprintf(ret->path, sizeof(ret->path), "%s", r->path);
	ret->kind = kinds[r->kind];
	snprintf(ret->uuid, sizeof(ret->uuid),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
	ret->state = r->detaching ? "detaching" : "attached";
	ret->size = sb->region_size;
	ret->data_size = sb->data_pages << PM_PAGE_SHIFT;
	ret->free = free_pages << PM_PAGE_SHIFT;
	ret->used = (sb->data_pages - free_pages) << PM_PAGE_SHIFT;
	ret->files = r->nfiles;
	ret->max_files = sb->inode_count;
	ret->max_order = sb->max_order;
	ret->uid = r->uid;
	ret->gid = r->gid;
	ret->mode = r->mode;
	ret->pins = r->pins;
	ret->orphans = r->norphans;
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
	struct stat st;
	uint64_t size;
	const char *why = NULL;
	ssize_t got;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			return fail(err, rc, "no such region file %s", path);
		return fail(err, rc, "cannot open %s: %s", path,
			    strerror(-rc));
	}
	if (fstat(fd, &st)) {
		rc = fail(err, -errno, "cannot stat %s: %s", path,
			  strerror(errno));
		goto out;
	}
	if (S_ISREG(st.st_mode)) {
		size = (uint64_t)st.st_size;
	} else if (S_ISCHR(st.st_mode)) {
		struct pmem2_source *src;
		size_t sz = 0;

		rc = pmem2_source_from_fd(&src, fd);
		if (rc) {
			rc = pmem2_fail(err, rc, "pmem2 source for", path);
			goto out;
		}
		rc = pmem2_source_size(src, &sz);
		pmem2_source_delete(&src);
		if (rc) {
			rc = pmem2_fail(err, rc, "cannot size", path);
			goto out;
		}
		size = sz;
	} else {
		rc = fail(err, -EINVAL,
			  "%s is neither a regular file nor a dax device",
			  path);
		goto out;
	}
	got = pread(fd, buf.page, sizeof(buf.page), 0);
	if (got < 0) {
		rc = fail(err, -errno, "cannot read %s: %s", path,
			  strerror(errno));
		goto out;
	}
	if ((size_t)got < sizeof(buf.sb)) {
		rc = fail(err, -EINVAL, "%s: too small to be a region", path);
		goto out;
	}
	rc = layout_super_check(&buf.sb, size, &why);
	if (rc) {
		fail(err, rc, "%s: %s", path, why ? why : "bad superblock");
		goto out;
	}
	*ret = buf.sb;
out:
	close(fd);
	return rc;
}

/* media.c -- a region file mapped with libpmem2, as a struct pm_media. */
#include "media.h"

#include <errno.h>
#include <fcntl.h>
#include <libpmem2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "layout.h"
#include "media_crash.h"

/*
 * The only daemon file that talks to libpmem2. libpmem2 codes become
 * -errno here, with pmem2_errormsg() in the caller's message.
 *
 * A plain file (no DAX) is page-cached: stores go through pwrite() rather
 * than the mapping (media.h says why), and holes are left as holes until a
 * page is first granted (media_fill()), so formatting and creating files
 * cost no writes.
 */

#define ZERO_CHUNK (2u << 20) /* bytes of zeroes per pwrite() */

/* The private state behind a pm_media from media_open(). */
struct pmem_media {
	struct pmem2_map *map;
	int fd; /* the caller's, not closed here */
	enum media_kind kind;
	void *zero;	  /* ZERO_CHUNK of the zero page, mapped at first use */
	uint64_t *filled; /* bit per page known not to be a hole (plain) */
	struct media_crash *crash; /* test builds */
};

static struct pmem_media *
priv(const struct pm_media *m)
{
	return m->ctx;
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
	return errmsg(err, e, "%s %s: %s", what, path, pmem2_errormsg());
}

/* stat_media -- fstat() @fd into *st: a regular file or a dax device. */
static int
stat_media(int fd, const char *path, struct stat *st, char *err)
{
	if (fstat(fd, st))
		return errmsg(err, -errno, "cannot stat %s: %s", path,
			      strerror(errno));
	if (!S_ISCHR(st->st_mode) && !S_ISREG(st->st_mode))
		return errmsg(err, -EINVAL,
			      "%s is neither a regular file nor a dax device",
			      path);
	return 0;
}

/* pmem_persist -- pm_media's persist: libpmem2's persist of the range. */
static int
pmem_persist(struct pm_media *m, uint64_t off, uint64_t len)
{
	struct pmem_media *p = priv(m);
	pmem2_persist_fn persist = pmem2_get_persist_fn(p->map);

	if (fault_hit(FAULT_SYNC))
		return -EIO;
	persist(m->base + off, len);
	return media_crash_persist(p->crash, m->base, off, len);
}

/* pwrite_all -- fault_pwrite() @src, or zeroes if @src is NULL, over
 * [off, off + len) of @fd, ZERO_CHUNK at a time (the page cache sizes its
 * folios by the write). Zeroes come from an untouched anonymous mapping
 * (*zero, made at first use: all of it the zero page). */
static int
pwrite_all(int fd, const void *src, void **zero, uint64_t off, uint64_t len)
{
	if (src == NULL && *zero == NULL) {
		void *z = fault_hit(FAULT_ALLOC)
				  ? MAP_FAILED
				  : mmap(NULL, ZERO_CHUNK, PROT_READ,
					 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (z == MAP_FAILED)
			return -ENOMEM;
		*zero = z;
	}
	while (len) {
		size_t n = len < ZERO_CHUNK ? (size_t)len : ZERO_CHUNK;
		ssize_t k = fault_pwrite(fd, src ? src : *zero, n, (off_t)off);

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

/* zero_write -- pwrite_all() of zeroes. */
static int
zero_write(int fd, void **zero, uint64_t off, uint64_t len)
{
	return pwrite_all(fd, NULL, zero, off, len);
}

/* file_write -- the pm_media write of a plain-file region: pwrite_all(). */
static int
file_write(struct pm_media *m, uint64_t off, const void *src, uint64_t len)
{
	struct pmem_media *p = priv(m);

	return pwrite_all(p->fd, src, &p->zero, off, len);
}

int
media_open(struct pm_media *m, int fd, const char *path,
	   uint64_t *ret_file_size, char *err)
{
	struct pmem2_config *cfg = NULL;
	struct pmem2_source *src = NULL;
	struct pmem2_map *map = NULL;
	struct pmem_media *p;
	struct stat st;
	size_t size = 0, align = 0;
	int ret;

	ret = stat_media(fd, path, &st, err);
	if (ret)
		return ret;
	p = fault_calloc(1, sizeof(*p));
	if (!p)
		return errmsg(err, -ENOMEM, "out of memory");
	p->fd = fd;
	p->kind = S_ISCHR(st.st_mode) ? MEDIA_DEVDAX : MEDIA_FILE;

	ret = pmem2_config_new(&cfg);
	if (ret) {
		ret = pmem2_fail(err, ret, "pmem2 config for", path);
		goto out_priv;
	}
	ret = pmem2_source_from_fd(&src, fd);
	if (ret) {
		ret = pmem2_fail(err, ret, "pmem2 source for", path);
		goto out_cfg;
	}
	ret = pmem2_source_size(src, &size);
	if (!ret)
		ret = pmem2_source_alignment(src, &align);
	if (ret) {
		ret = pmem2_fail(err, ret, "cannot size", path);
		goto out_src;
	}
	/* A plain file only maps page-granular; on DAX libpmem2 still
	 * picks the finer granularity the media offers. */
	ret = pmem2_config_set_required_store_granularity(
		cfg, PMEM2_GRANULARITY_PAGE);
	if (ret) {
		ret = pmem2_fail(err, ret, "pmem2 granularity for", path);
		goto out_src;
	}
	if (align < PM_PAGE_SIZE)
		align = PM_PAGE_SIZE;
	if (size / align * align < PM_PAGE_SIZE) {
		ret = errmsg(err, -EINVAL, "%s is too small to be a region",
			     path);
		goto out_src;
	}
	ret = pmem2_config_set_length(cfg, size / align * align);
	if (ret) {
		ret = pmem2_fail(err, ret, "cannot map", path);
		goto out_src;
	}
	ret = pmem2_map_new(&map, cfg, src);
	if (ret) {
		ret = pmem2_fail(err, ret, "cannot map", path);
		goto out_src;
	}
	if (p->kind == MEDIA_FILE &&
	    pmem2_map_get_store_granularity(map) != PMEM2_GRANULARITY_PAGE)
		p->kind = MEDIA_FSDAX;
	if (p->kind == MEDIA_FILE) {
		/* Here rather than at a page's first grant: the grant path
		 * allocates nothing. */
		p->filled = fault_calloc(
			(pmem2_map_get_size(map) / PM_PAGE_SIZE + 63) / 64,
			sizeof(uint64_t));
		if (!p->filled) {
			pmem2_map_delete(&map);
			ret = errmsg(err, -ENOMEM, "out of memory");
			goto out_src;
		}
	}
	p->map = map;
	*m = (struct pm_media){
		.base = pmem2_map_get_address(map),
		.size = pmem2_map_get_size(map),
		.persist = pmem_persist,
		/* Stores into a page-cached file go through pwrite. */
		.write = p->kind == MEDIA_FILE ? file_write : NULL,
		.ctx = p,
	};
	*ret_file_size = size;
	p = NULL;
out_src:
	pmem2_source_delete(&src);
out_cfg:
	pmem2_config_delete(&cfg);
out_priv:
	free(p);
	return ret;
}

void
media_close(struct pm_media *m)
{
	struct pmem_media *p = priv(m);

	if (!p)
		return;
	media_crash_free(p->crash);
	if (p->zero)
		munmap(p->zero, ZERO_CHUNK);
	free(p->filled);
	pmem2_map_delete(&p->map);
	free(p);
	memset(m, 0, sizeof(*m));
}

enum media_kind
media_kind(const struct pm_media *m)
{
	return priv(m)->kind;
}

int
media_arm_crash(struct pm_media *m, const char *path, char *err)
{
	struct pmem_media *p = priv(m);

	media_crash_free(p->crash);
	p->crash = NULL;
	return media_crash_arm(&p->crash, m->base, m->size, p->fd, path, err);
}

int
media_zero(struct pm_media *m, uint64_t off, uint64_t len)
{
	int rv;

	if (len == 0)
		return 0;
	if (m->write) {
		rv = m->write(m, off, NULL, len);
		if (rv)
			return rv;
	} else {
		pmem2_memset_fn set = pmem2_get_memset_fn(priv(m)->map);

		set(m->base + off, 0, len, PMEM2_F_MEM_NOFLUSH);
	}
	return m->persist(m, off, len);
}

/* is_hole -- true if [off, off + len) of the plain file holds no data. */
static bool
is_hole(int fd, uint64_t off, uint64_t len)
{
	off_t data = fault_lseek(fd, (off_t)off, SEEK_DATA);

	return (data < 0 && errno == ENXIO) ||
	       (data >= 0 && (uint64_t)data >= off + len);
}

/* filled_bits -- walk bits [pg, pg + n) of @filled: with @set, set them;
 * without, return whether all are set. Whole words at a time. */
static bool
filled_bits(uint64_t *filled, uint64_t pg, uint64_t n, bool set)
{
	while (n) {
		uint64_t bit = pg % 64, k = 64 - bit < n ? 64 - bit : n;
		uint64_t mask = (k == 64 ? ~0ull : ((1ull << k) - 1)) << bit;

		if (set)
			filled[pg / 64] |= mask;
		else if ((filled[pg / 64] & mask) != mask)
			return false;
		pg += k;
		n -= k;
	}
	return true;
}

/* fill_holes -- write zeroes over every hole in [off, off + len) of the
 * plain file @fd, then mark its pages in @filled. */
static int
fill_holes(int fd, void **zero, uint64_t *filled, uint64_t off, uint64_t len)
{
	uint64_t pg = off >> PM_PAGE_SHIFT, npages = len >> PM_PAGE_SHIFT;
	uint64_t end = off + len;

	while (off < end) {
		off_t hole = fault_lseek(fd, (off_t)off, SEEK_HOLE);
		off_t data;
		uint64_t stop;
		int rv;

		if (hole < 0 && errno == ENXIO)
			break;
		if (hole < 0)
			return -errno;
		if ((uint64_t)hole >= end)
			break;
		data = fault_lseek(fd, hole, SEEK_DATA);
		stop = data < 0 || (uint64_t)data > end ? end : (uint64_t)data;
		rv = zero_write(fd, zero, (uint64_t)hole,
				stop - (uint64_t)hole);
		if (rv)
			return rv;
		off = stop;
	}
	filled_bits(filled, pg, npages, true);
	return 0;
}

int
media_fill(struct pm_media *m, uint64_t off, uint64_t len)
{
	struct pmem_media *p = priv(m);
	uint64_t pg = off >> PM_PAGE_SHIFT, npages = len >> PM_PAGE_SHIFT;

	if (p->kind != MEDIA_FILE)
		return 0;
	if (off > m->size || len > m->size - off)
		return 0; /* nothing of the region there to fill */
	/* Pages once filled (or found to be data) stay data: nothing ever
	 * punches a hole again. Remembering them saves a SEEK_HOLE per
	 * grant. */
	if (filled_bits(p->filled, pg, npages, false))
		return 0;
	return fill_holes(p->fd, &p->zero, p->filled, off, len);
}

bool
media_first_page_zero(struct pm_media *m)
{
	struct pmem_media *p = priv(m);
	uint8_t page[PM_PAGE_SIZE];

	if (p->kind != MEDIA_FILE)
		return layout_all_zero(m->base, PM_PAGE_SIZE);
	/* pread, not the mapping: media_fill() says why. */
	if (fault_pread(p->fd, page, sizeof(page), 0) != (ssize_t)sizeof(page))
		return false;
	return layout_all_zero(page, sizeof(page));
}

int
media_source_size(int fd, const char *path, uint64_t *ret, char *err)
{
	struct pmem2_source *src;
	struct stat st;
	size_t sz = 0;
	int rc;

	rc = stat_media(fd, path, &st, err);
	if (rc)
		return rc;
	if (S_ISREG(st.st_mode)) {
		*ret = (uint64_t)st.st_size;
		return 0;
	}
	rc = pmem2_source_from_fd(&src, fd);
	if (rc)
		return pmem2_fail(err, rc, "pmem2 source for", path);
	rc = pmem2_source_size(src, &sz);
	pmem2_source_delete(&src);
	if (rc)
		return pmem2_fail(err, rc, "cannot size", path);
	*ret = sz;
	return 0;
}

/* ---- the data file ------------------------------------------------------ */

/* The private state behind a pm_data. */
struct data_priv {
	enum media_kind kind;
	struct pmem2_map *map; /* devdax only */
	uint8_t *base;	       /* its address */
	void *zero;	       /* ZERO_CHUNK of the zero page, at first use */
	uint64_t *filled;      /* bit per page known not to be a hole */
	bool sync_due;	       /* media_data_clear() zeroes not yet synced */
};

static struct data_priv *
dpriv(const struct pm_data *d)
{
	return d->ctx;
}

/* probe_kind -- a regular data file on a DAX filesystem maps with a finer
 * store granularity than a page: probe one page, touching nothing. */
static enum media_kind
probe_kind(int fd)
{
	struct pmem2_config *cfg = NULL;
	struct pmem2_source *src = NULL;
	struct pmem2_map *map = NULL;
	enum media_kind kind = MEDIA_FILE;

	if (pmem2_config_new(&cfg))
		return kind;
	if (pmem2_source_from_fd(&src, fd) == 0 &&
	    pmem2_config_set_required_store_granularity(
		    cfg, PMEM2_GRANULARITY_PAGE) == 0 &&
	    pmem2_config_set_length(cfg, PM_PAGE_SIZE) == 0 &&
	    pmem2_map_new(&map, cfg, src) == 0) {
		if (pmem2_map_get_store_granularity(map) !=
		    PMEM2_GRANULARITY_PAGE)
			kind = MEDIA_FSDAX;
		pmem2_map_delete(&map);
	}
	pmem2_source_delete(&src);
	pmem2_config_delete(&cfg);
	return kind;
}

/* map_device -- map the first @size bytes of the devdax device @fd. */
static int
map_device(struct data_priv *p, int fd, const char *path, uint64_t size,
	   char *err)
{
	struct pmem2_config *cfg = NULL;
	struct pmem2_source *src = NULL;
	size_t align = 0;
	int ret;

	ret = pmem2_config_new(&cfg);
	if (ret)
		return pmem2_fail(err, ret, "pmem2 config for", path);
	ret = pmem2_source_from_fd(&src, fd);
	if (ret) {
		ret = pmem2_fail(err, ret, "pmem2 source for", path);
		goto out_cfg;
	}
	ret = pmem2_source_alignment(src, &align);
	if (!ret)
		ret = pmem2_config_set_required_store_granularity(
			cfg, PMEM2_GRANULARITY_PAGE);
	if (!ret && align > 1)
		size = (size + align - 1) / align * align;
	if (!ret)
		ret = pmem2_config_set_length(cfg, size);
	if (!ret)
		ret = pmem2_map_new(&p->map, cfg, src);
	if (ret)
		ret = pmem2_fail(err, ret, "cannot map", path);
	else
		p->base = pmem2_map_get_address(p->map);
	pmem2_source_delete(&src);
out_cfg:
	pmem2_config_delete(&cfg);
	return ret;
}

int
media_data_open(struct pm_data *d, int fd, const char *path, uint64_t size,
		enum media_kind *ret_kind, uint64_t *ret_file_size, char *err)
{
	struct data_priv *p;
	struct stat st;
	uint64_t fsize = 0;
	int ret;

	ret = stat_media(fd, path, &st, err);
	if (ret)
		return ret;
	ret = media_source_size(fd, path, &fsize, err);
	if (ret)
		return ret;
	p = fault_calloc(1, sizeof(*p));
	if (!p)
		return errmsg(err, -ENOMEM, "out of memory");
	if (S_ISCHR(st.st_mode)) {
		p->kind = MEDIA_DEVDAX;
		if (fsize < size) {
			free(p);
			return errmsg(err, -EINVAL,
				      "data device %s holds %llu bytes, the "
				      "region needs %llu",
				      path, (unsigned long long)fsize,
				      (unsigned long long)size);
		}
		ret = map_device(p, fd, path, size, err);
		if (ret) {
			free(p);
			return ret;
		}
	} else {
		p->kind = probe_kind(fd);
		/* Here rather than at a page's first grant: the grant path
		 * allocates nothing. */
		p->filled = fault_calloc((size / PM_PAGE_SIZE + 63) / 64,
					 sizeof(uint64_t));
		if (!p->filled) {
			free(p);
			return errmsg(err, -ENOMEM, "out of memory");
		}
	}
	*d = (struct pm_data){.fd = fd, .size = size, .ctx = p};
	*ret_kind = p->kind;
	*ret_file_size = fsize;
	return 0;
}

void
media_data_close(struct pm_data *d)
{
	struct data_priv *p = dpriv(d);

	if (!p)
		return;
	if (p->zero)
		munmap(p->zero, ZERO_CHUNK);
	if (p->map)
		pmem2_map_delete(&p->map);
	free(p->filled);
	free(p);
	memset(d, 0, sizeof(*d));
	d->fd = -1;
}

int
media_data_check(struct pm_data *d, uint64_t *ret_size)
{
	struct data_priv *p = dpriv(d);
	struct stat st;

	if (!p || p->kind == MEDIA_DEVDAX)
		return 0;
	if (fstat(d->fd, &st))
		return -EIO;
	if ((uint64_t)st.st_size >= d->size)
		return 0;
	if (ret_size)
		*ret_size = (uint64_t)st.st_size;
	return -EIO;
}

/* in_data -- [off, off + len) lies inside the region's data bytes. */
static bool
in_data(const struct pm_data *d, uint64_t off, uint64_t len)
{
	return len && off <= d->size && len <= d->size - off;
}

int
media_data_zero(struct pm_data *d, uint64_t off, uint64_t len)
{
	struct data_priv *p = dpriv(d);
	int rv;

	if (!p || !in_data(d, off, len))
		return 0;
	if (p->kind == MEDIA_DEVDAX) {
		pmem2_memset_fn set = pmem2_get_memset_fn(p->map);

		set(p->base + off, 0, len, 0);
		return 0;
	}
	/* A pwrite past a truncated end would grow the file back behind
	 * the back of whoever truncated it: refused instead. */
	if (media_data_check(d, NULL))
		return -EIO;
	rv = zero_write(d->fd, &p->zero, off, len);
	if (!rv && fault_fdatasync(d->fd))
		rv = -errno;
	return rv;
}

int
media_data_clear(struct pm_data *d, uint64_t off, uint64_t len, bool defer_sync)
{
	struct data_priv *p = dpriv(d);
	int rv;

	if (!p || !in_data(d, off, len))
		return 0; /* nothing of the region there to clear */
	if (p->kind == MEDIA_DEVDAX)
		return media_data_zero(d, off, len);
	if (media_data_check(d, NULL))
		return -EIO;
	/* A hole stays one until its first grant (media_data_fill()). */
	if (is_hole(d->fd, off, len))
		return 0;
	rv = zero_write(d->fd, &p->zero, off, len);
	if (rv)
		return rv;
	if (defer_sync)
		p->sync_due = true;
	else if (fault_fdatasync(d->fd))
		return -errno;
	return 0;
}

int
media_data_sync(struct pm_data *d)
{
	struct data_priv *p = dpriv(d);

	if (!p || !p->sync_due)
		return 0;
	if (fault_fdatasync(d->fd) < 0)
		return -EIO;
	p->sync_due = false;
	return 0;
}

int
media_data_fill(struct pm_data *d, uint64_t off, uint64_t len)
{
	struct data_priv *p = dpriv(d);
	uint64_t pg = off >> PM_PAGE_SHIFT, npages = len >> PM_PAGE_SHIFT;

	if (!p || p->kind != MEDIA_FILE || !in_data(d, off, len))
		return 0;
	/* Pages once filled (or found to be data) are remembered: that
	 * saves a SEEK_HOLE per grant. A client that punches a hole back
	 * only costs itself large page-cache folios. */
	if (filled_bits(p->filled, pg, npages, false))
		return 0;
	if (media_data_check(d, NULL))
		return -EIO;
	return fill_holes(d->fd, &p->zero, p->filled, off, len);
}

/* media.h -- the bytes under a region: the metadata file's mapping, store
 * and persist; the data file's zeroing. */
#ifndef PAGEMAP_MEDIA_H
#define PAGEMAP_MEDIA_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "errmsg.h"

/*
 * Everything above this layer (journal, file table, attach, fsck) sees a
 * region's bytes as a struct pm_media: a base address, a size, one persist
 * function and an optional store function. fsck and the unit tests build
 * their own (a private mapping, DRAM buffers); a daemon region's comes from
 * media_open(), which maps the file with libpmem2 -- media.c is the only
 * daemon file that includes libpmem2.h.
 */

struct pm_media {
	uint8_t *base; /* mapping of the whole region */
	uint64_t size; /* bytes */
	/* Make [off, off + len) durable. Returns 0 or -errno. The crash-point
	 * hook of test builds lives behind this function. */
	int (*persist)(struct pm_media *m, uint64_t off, uint64_t len);
	/* Store @len bytes of @src (NULL: zeroes) at @off, or NULL to store
	 * through base. A plain-file region writes with pwrite(): on ext4 a
	 * store through a shared mapping into a hole costs the whole file
	 * its large page-cache folios (docs/performance.md). */
	int (*write)(struct pm_media *m, uint64_t off, const void *src,
		     uint64_t len);
	void *ctx; /* private to whoever built the media */
};

/* media_write -- store through @m's write function or its mapping. */
static inline int
media_write(struct pm_media *m, uint64_t off, const void *src, uint64_t len)
{
	if (m->write)
		return m->write(m, off, src, len);
	if (src)
		memcpy(m->base + off, src, len);
	else
		memset(m->base + off, 0, len);
	return 0;
}

/* media_store_durable -- store, then persist. (O_DIRECT | O_DSYNC for a
 * plain file's journal would save a cache flush per commit, but on ext4
 * with kernel 6.18 it cost the whole file its large page-cache folios:
 * see docs/performance.md.) */
static inline int
media_store_durable(struct pm_media *m, uint64_t off, const void *src,
		    uint64_t len)
{
	int ret = media_write(m, off, src, len);

	return ret ? ret : m->persist(m, off, len);
}

/* ---- a region file mapped with libpmem2 (media.c) ----------------------- */

enum media_kind {
	MEDIA_FILE, /* plain file, page-granular persist (msync) */
	MEDIA_FSDAX, /* file on a DAX filesystem */
	MEDIA_DEVDAX, /* /dev/daxX.Y character device */
};

/* media_open -- map the whole of @fd (the region file @path, named in
 * messages) with libpmem2 into @m. *ret_file_size gets the size of the
 * file or device, which a superblock is checked against. Returns 0 or
 * -errno with a one-line reason in @err (ERRMSG_MAX bytes); @m is
 * untouched on failure. @fd stays the caller's and must outlive @m. */
int media_open(struct pm_media *m, int fd, const char *path,
	       uint64_t *ret_file_size, char *err);

/* media_close -- unmap @m and free what media_open() made (a @m that was
 * never opened, all zeroes, is fine). */
void media_close(struct pm_media *m);

/* media_kind -- what kind of storage @m (from media_open()) maps. */
enum media_kind media_kind(const struct pm_media *m);

/* media_zero -- store zeroes over [off, off + len) and persist them. */
int media_zero(struct pm_media *m, uint64_t off, uint64_t len);

/* media_fill -- write zeroes into whatever of [off, off + len) (page
 * aligned) is still a hole of a plain file; a no-op on DAX. Pages once
 * filled are remembered. Returns 0 or -errno. */
int media_fill(struct pm_media *m, uint64_t off, uint64_t len);

/* media_first_page_zero -- the first page of @m reads as zeroes (never
 * formatted), read without faulting a hole into the mapping. */
bool media_first_page_zero(struct pm_media *m);

/* media_arm_crash -- in test builds with PAGEMAPD_CRASH_AFTER set, start
 * mirroring persists of @m into "@path.durable" (media_crash.c); 0
 * otherwise. Returns 0 or -errno with a reason in @err. */
int media_arm_crash(struct pm_media *m, const char *path, char *err);

/* media_source_size -- the size of the file or dax device open as @fd
 * (@path named in messages). Returns 0 or -errno with a reason in @err. */
int media_source_size(int fd, const char *path, uint64_t *ret, char *err);

/* ---- a region's data file (media.c) ------------------------------------ */

/*
 * The data file holds file data only, and clients hold fds of it: a
 * write-lease holder may write anything into it, ftruncate it or punch
 * holes in it. So a plain data file is never mapped by the daemon (a
 * truncation would kill it with SIGBUS at its next access): it is only
 * ever written with pwrite() and read for holes with lseek(), and its
 * size is checked (fstat) before the daemon grants or touches its pages.
 * A devdax device cannot change size, and supports no pwrite: it is
 * mapped with libpmem2.
 */
struct pm_data {
	int fd; /* O_RDWR on the data file, the caller's; -1: none (tests) */
	uint64_t size; /* bytes the region needs (region_size) */
	void *ctx; /* media.c's */
};

/* media_data_open -- set up @d over the data file or device open as @fd
 * (@path named in messages) whose region needs @size bytes; a devdax
 * device is mapped. *ret_kind gets its kind, *ret_file_size its size.
 * Returns 0 or -errno with a reason in @err; @d is untouched on failure.
 * @fd stays the caller's and must outlive @d. */
int media_data_open(struct pm_data *d, int fd, const char *path,
		    uint64_t size, enum media_kind *ret_kind,
		    uint64_t *ret_file_size, char *err);

/* media_data_close -- free what media_data_open() made (all zeroes or a
 * never-opened @d with fd -1 is fine). */
void media_data_close(struct pm_data *d);

/* media_data_check -- the data file still holds all of the region's
 * bytes (fstat; a device always does). Returns 0, or -EIO with its size
 * now in *ret_size when it was truncated below d->size. */
int media_data_check(struct pm_data *d, uint64_t *ret_size);

/* media_data_clear -- clear pages of the data file: zeroes over [off,
 * off + len) before the pages go to a file (a plain file's holes stay
 * holes), synced at once or with @defer_sync at the next
 * media_data_sync(). Returns 0 or -errno (-EIO when the file is shorter
 * than the region). */
int media_data_clear(struct pm_data *d, uint64_t off, uint64_t len,
		     bool defer_sync);

/* media_data_zero -- store zeroes over [off, off + len) at once and make
 * them durable. Returns 0 or -errno. */
int media_data_zero(struct pm_data *d, uint64_t off, uint64_t len);

/* media_data_sync -- make the zeroes of every deferred media_data_clear()
 * durable. Returns 0 or -EIO. */
int media_data_sync(struct pm_data *d);

/* media_data_fill -- media_fill() of the data file: write zeroes into
 * whatever of [off, off + len) is still a hole (plain files). Returns 0
 * or -errno (-EIO when the file is shorter than the region). */
int media_data_fill(struct pm_data *d, uint64_t off, uint64_t len);

#endif

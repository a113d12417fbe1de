/* media.h -- the bytes under a region: a mapping, a store and a persist. */
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

/* media_clear -- make [off, off + len) read as zeroes before its pages go
 * to a file. A hole of a plain file already does, after a crash too, and
 * is left for media_fill(); other bytes are overwritten. DAX: zeroes are
 * stored and persisted. A plain file's zeroes are synced at once, or with
 * @defer_sync at the next media_sync(). Returns 0 or -errno. */
int media_clear(struct pm_media *m, uint64_t off, uint64_t len,
		bool defer_sync);

/* media_sync -- make the zeroes of every deferred media_clear() durable.
 * Returns 0 or -EIO. */
int media_sync(struct pm_media *m);

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

#endif

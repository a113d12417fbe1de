/* media_crash.h -- simulated power loss for test builds (crash points). */
#ifndef PAGEMAP_MEDIA_CRASH_H
#define PAGEMAP_MEDIA_CRASH_H

#include <stdint.h>

/*
 * A killed process never loses a store to a shared mapping, so power loss
 * has to be simulated. Once a region is attached (after any format and
 * journal replay, whose persists are neither copied nor counted), every
 * persist of its media (the region's metadata file) also copies the
 * persisted range into "<path>.durable", a copy of the metadata file
 * taken at that moment. The image therefore holds exactly what real media
 * would hold: what was persisted. The data file needs no image: the
 * zeroes a file is given are synced before the transaction that gives
 * them commits, so after power loss it holds them either way.
 *
 * With PAGEMAPD_CRASH_AFTER=N, the Nth persist of the process (counted over
 * all regions) copies nothing, or with PAGEMAPD_CRASH_TORN=1 only the first
 * half of its range, and the process _exit(86)s: the image is then the
 * media after a power cut at that persist point. With N = 0 the persists
 * are only counted (media_crash_persists()), which lets a test learn how
 * many persist points a workload has.
 *
 * Only builds with PAGEMAP_CRASH_POINTS have them; elsewhere these are
 * no-ops and media_crash.c is not built.
 */

struct media_crash;

#ifdef PAGEMAP_CRASH_POINTS

/* media_crash_arm -- if the environment asks, start tracking persists of
 * the mapping @base (@size bytes) of the region file @path open as @fd: *ret
 * gets the state (NULL when not asked). Returns 0 or -errno with a reason in
 * @err. */
int media_crash_arm(struct media_crash **ret, const uint8_t *base,
		    uint64_t size, int fd, const char *path, char *err);

/* media_crash_free -- stop tracking (NULL is fine). */
void media_crash_free(struct media_crash *c);

/* media_crash_persist -- the persist point of @base's [off, off + len): copy
 * it to the durable image, or die there as if the power had failed.
 * Returns 0 or -EIO. */
int media_crash_persist(struct media_crash *c, const uint8_t *base,
			uint64_t off, uint64_t len);


/* media_crash_persists -- persists counted so far in this process. */
uint64_t media_crash_persists(void);

#else

static inline int
media_crash_arm(struct media_crash **ret, const uint8_t *base, uint64_t size,
		int fd, const char *path, char *err)
{
	(void)base, (void)size, (void)fd, (void)path, (void)err;
	*ret = NULL;
	return 0;
}

static inline void
media_crash_free(struct media_crash *c)
{
	(void)c;
}

static inline int
media_crash_persist(struct media_crash *c, const uint8_t *base, uint64_t off,
		    uint64_t len)
{
	(void)c, (void)base, (void)off, (void)len;
	return 0;
}

#endif /* PAGEMAP_CRASH_POINTS */

#endif

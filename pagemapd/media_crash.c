/* media_crash.c -- simulated power loss for test builds (crash points). */
#include "media_crash.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errmsg.h"
#include "layout.h"

#define CRASH_EXIT 86

struct media_crash {
	int fd;		/* the durable image, -1 when only counting */
	uint64_t after; /* PAGEMAPD_CRASH_AFTER */
	bool torn;	/* PAGEMAPD_CRASH_TORN=1 */
};

/* The one process-wide counter: PAGEMAPD_CRASH_AFTER names the Nth persist
 * of the process, over every region it attaches, and a test reads the
 * count after the regions are gone. Test builds only. */
static uint64_t crash_count;

uint64_t
media_crash_persists(void)
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

/* copy_image -- write the mapping @base (@size bytes) of the file @fd to @out,
 * skipping what the file system reports as holes (a devdax device reports none)
 * and all-zero blocks, so the image stays as sparse as the region. */
static int
copy_image(const uint8_t *base, uint64_t size, int fd, int out)
{
	const uint64_t blk = 1 << 16;
	uint64_t pos = 0;

	while (pos < size) {
		off_t data = lseek(fd, (off_t)pos, SEEK_DATA);
		uint64_t end = size;

		if (data < 0 && errno == ENXIO)
			break; /* only a hole is left */
		if (data >= 0) {
			off_t hole = lseek(fd, data, SEEK_HOLE);

			pos = (uint64_t)data;
			if (hole >= 0 && (uint64_t)hole < size)
				end = (uint64_t)hole;
		}
		for (; pos < end; pos += blk) {
			size_t n = end - pos < blk ? end - pos : blk;

			if (layout_all_zero(base + pos, n))
				continue;
			if (pwrite(out, base + pos, n, (off_t)pos) !=
			    (ssize_t)n)
				return -EIO;
		}
	}
	return 0;
}

int
media_crash_arm(struct media_crash **ret, const uint8_t *base, uint64_t size,
		int fd, const char *path, char *err)
{
	struct media_crash *c;
	char image[PATH_MAX + 16];
	uint64_t after;
	bool torn;
	int rc;

	*ret = NULL;
	if (!crash_env(&after, &torn))
		return 0;
	c = malloc(sizeof(*c));
	if (!c)
		return errmsg(err, -ENOMEM, "out of memory");
	c->fd = -1;
	c->after = after;
	c->torn = torn;
	if (after > 0) {
		snprintf(image, sizeof(image), "%s.durable", path);
		c->fd = open(image, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			     0600);
		if (c->fd < 0) {
			rc = -errno;
			free(c);
			return errmsg(err, rc, "crash image %s: %s", image,
				      strerror(-rc));
		}
		rc = ftruncate(c->fd, (off_t)size)
			     ? -errno
			     : copy_image(base, size, fd, c->fd);
		if (rc) {
			close(c->fd);
			free(c);
			return errmsg(err, rc, "crash image %s: %s", image,
				      strerror(-rc));
		}
	}
	*ret = c;
	return 0;
}

void
media_crash_free(struct media_crash *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	free(c);
}

int
media_crash_persist(struct media_crash *c, const uint8_t *base, uint64_t off,
		    uint64_t len)
{
	if (!c)
		return 0;
	crash_count++;
	if (c->fd < 0)
		return 0;
	if (crash_count == c->after) {
		len = c->torn ? len / 2 & ~(uint64_t)63 : 0;
		if (len)
			(void)!pwrite(c->fd, base + off, len, (off_t)off);
		_exit(CRASH_EXIT);
	}
	if (pwrite(c->fd, base + off, len, (off_t)off) != (ssize_t)len)
		return -EIO;
	return 0;
}

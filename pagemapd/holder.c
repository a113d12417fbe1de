/* holder.c -- process identity (pid + start time) and liveness. */
#include "holder.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* read_small -- up to @len - 1 bytes of @path, NUL-terminated. */
static ssize_t
read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return n;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int
holder_boot_id(uint8_t ret[16])
{
	char buf[64];
	uint8_t id[16];
	size_t k = 0;
	ssize_t n =
		read_small("/proc/sys/kernel/random/boot_id", buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	for (char *p = buf; *p && *p != '\n'; p++) {
		int hi, lo;

		if (*p == '-')
			continue;
		hi = hexval(p[0]);
		lo = p[1] ? hexval(p[1]) : -1;
		if (hi < 0 || lo < 0 || k == sizeof(id))
			return -EINVAL;
		id[k++] = (uint8_t)(hi << 4 | lo);
		p++;
	}
	if (k != sizeof(id))
		return -EINVAL;
	memcpy(ret, id, sizeof(id));
	return 0;
}

int
holder_start_time(pid_t pid, uint64_t *ret)
{
	char path[64], buf[1024];
	char *p, *end;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	n = read_small(path, buf, sizeof(buf));
	if (n == -ENOENT)
		return -ESRCH;
	if (n < 0)
		return (int)n;
	/* The command name may hold spaces and ')': fields start after
	 * the last ')'. Field 3 (state) follows it; we want field 22. */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	p++;
	for (int field = 3; field < 22; field++) {
		p = strchr(p + 1, ' ');
		if (!p)
			return -EINVAL;
	}
	errno = 0;
	*ret = strtoull(p + 1, &end, 10);
	if (errno || end == p + 1)
		return -EINVAL;
	return 0;
}

enum holder_state
holder_check(pid_t pid, uint64_t start_time, int *ret_pidfd)
{
	struct pollfd pf = {.events = POLLIN};
	uint64_t now;
	int fd, r;

	*ret_pidfd = -1;
	if (pid <= 0)
		return HOLDER_GONE;
	fd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (fd < 0 && errno == ESRCH)
		return HOLDER_GONE;
	/* A start time that could not be read when the pins were taken
	 * proves nothing: the process at @pid may be the holder. */
	if (start_time == 0) {
		*ret_pidfd = fd;
		return HOLDER_UNKNOWN;
	}
	r = holder_start_time(pid, &now);
	if (r == -ESRCH || (r == 0 && now != start_time)) {
		if (fd >= 0)
			close(fd);
		return HOLDER_GONE;
	}
	if (r < 0 || fd < 0) {
		*ret_pidfd = fd;
		return HOLDER_UNKNOWN;
	}
	/* The process at @pid is the holder, so the pidfd taken before is
	 * of the holder too; it must not have exited since. */
	pf.fd = fd;
	if (poll(&pf, 1, 0) > 0) {
		close(fd);
		return HOLDER_GONE;
	}
	*ret_pidfd = fd;
	return HOLDER_ALIVE;
}

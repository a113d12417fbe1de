/* fdcheck.c -- every test leaves the fds it found. */
#include "fdcheck.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_FD 4096 /* fds at or above this are not watched */

/* Which fds were open at fdcheck_begin(). */
static bool was_open[MAX_FD];

/* scan -- call @fn for each open fd of this process but the directory
 * stream's own; the count, or -errno. */
static int
scan(pid_t pid, void (*fn)(int fd))
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *dir;

	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/fd");
	dir = opendir(path);
	if (dir == NULL)
		return -errno;
	while ((e = readdir(dir)) != NULL) {
		int fd;

		if (e->d_name[0] == '.')
			continue;
		fd = atoi(e->d_name);
		if (pid == 0 && fd == dirfd(dir))
			continue;
		n++;
		if (fn)
			fn(fd);
	}
	closedir(dir);
	return n;
}

int
fd_count(pid_t pid)
{
	return scan(pid, NULL);
}

static void
mark(int fd)
{
	if (fd >= 0 && fd < MAX_FD)
		was_open[fd] = true;
}

static int leaked;

static void
report(int fd)
{
	char link[64], target[512];
	ssize_t n;

	if (fd < 0 || fd >= MAX_FD || was_open[fd])
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	target[n > 0 ? n : 0] = '\0';
	fprintf(stderr, "fd %d left open: %s\n", fd, target);
	leaked++;
}

void
fdcheck_begin(void)
{
	for (int i = 0; i < MAX_FD; i++)
		was_open[i] = false;
	scan(0, mark);
}

int
fdcheck_end(void)
{
	leaked = 0;
	scan(0, report);
	return leaked ? -1 : 0;
}

int
fdcheck_setup(void **state)
{
	(void)state;
	fdcheck_begin();
	return 0;
}

int
fdcheck_teardown(void **state)
{
	(void)state;
	return fdcheck_end();
}

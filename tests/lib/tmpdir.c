/* tmpdir.c -- temporary folders for tests that remove themselves. */
#include "tmpdir.h"

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DIRS 256

/* The folders made and not yet removed, for the exit handler. */
static char *made[MAX_DIRS];
static pid_t maker;

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
remove_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* remove_left -- the exit handler: remove what a failed test left. A
 * forked child inherits the list and must not remove its parent's
 * folders when it exits. */
static void
remove_left(void)
{
	for (size_t i = 0; i < MAX_DIRS; i++) {
		if (made[i] == NULL)
			continue;
		if (getpid() == maker)
			remove_tree(made[i]);
		free(made[i]);
		made[i] = NULL;
	}
}

int
tmpdir_make(char *dir, size_t len, const char *tag)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	size_t i;
	int n;

	n = snprintf(dir, len, "%s/pagemap-%s.XXXXXX", base, tag);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (mkdtemp(dir) == NULL)
		return -errno;
	if (maker == 0) {
		maker = getpid();
		atexit(remove_left);
	}
	for (i = 0; i < MAX_DIRS && made[i]; i++)
		;
	/* A full list only loses the safety net, not the folder. */
	if (i < MAX_DIRS && getpid() == maker)
		made[i] = strdup(dir);
	return 0;
}

void
tmpdir_remove(const char *dir)
{
	if (dir == NULL || dir[0] == '\0')
		return;
	remove_tree(dir);
	for (size_t i = 0; i < MAX_DIRS; i++) {
		if (made[i] && strcmp(made[i], dir) == 0) {
			free(made[i]);
			made[i] = NULL;
		}
	}
}

/* tmpdir.h -- temporary folders for tests that remove themselves. */
#ifndef PAGEMAP_TEST_TMPDIR_H
#define PAGEMAP_TEST_TMPDIR_H

#include <stddef.h>

/* tmpdir_make -- a fresh folder pagemap-@tag.XXXXXX under /dev/shm (region
 * persists are msync calls there, far cheaper than on a disk), or under
 * /tmp when /dev/shm is not writable; its path in @dir (@len bytes). The
 * folder is removed at exit if tmpdir_remove() has not removed it by
 * then (a failed test), but only by the process that made it, not by a
 * forked child that exits. 0 or -errno. */
int tmpdir_make(char *dir, size_t len, const char *tag);

/* tmpdir_remove -- remove @dir and everything in it; no-op when @dir is
 * empty or already gone. */
void tmpdir_remove(const char *dir);

#endif

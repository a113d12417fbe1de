/* regionfix.h -- the CMocka fixture of the unit tests that make region
 * files: a fresh temporary folder and the paths of a region in it. */
#ifndef PAGEMAP_TEST_REGIONFIX_H
#define PAGEMAP_TEST_REGIONFIX_H

struct regionfix {
	char dir[64];	/* the temporary folder */
	char path[128]; /* DIR/r.pmem, the region's data file */
	char meta[160]; /* PATH.meta, its metadata file */
};

/* regionfix_setup -- a CMocka setup: *state a new struct regionfix whose
 * folder is tmpdir_make()'s pagemap-@tag.XXXXXX; the fd-leak check begins.
 * 0 or -1. */
int regionfix_setup(void **state, const char *tag);

/* regionfix_teardown -- a CMocka teardown: remove the folder, free the
 * fixture; nonzero when fds leaked since regionfix_setup(). */
int regionfix_teardown(void **state);

#endif

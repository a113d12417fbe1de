/* regionfix.c -- the CMocka fixture of the unit tests that make region
 * files. */
#include "regionfix.h"

#include <stdio.h>
#include <stdlib.h>

#include "fdcheck.h"
#include "tmpdir.h"

int
regionfix_setup(void **state, const char *tag)
{
	struct regionfix *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	fdcheck_begin();
	if (tmpdir_make(f->dir, sizeof(f->dir), tag) < 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/r.pmem", f->dir);
	snprintf(f->meta, sizeof(f->meta), "%s.meta", f->path);
	*state = f;
	return 0;
}

int
regionfix_teardown(void **state)
{
	struct regionfix *f = *state;

	tmpdir_remove(f->dir);
	free(f);
	return fdcheck_end();
}

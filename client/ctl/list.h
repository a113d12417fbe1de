/* list.h -- running a listing command: connect, fetch the rows through
 * the listing's adapter, print them as a table or JSON. */
#ifndef PAGEMAPCTL_LIST_H
#define PAGEMAPCTL_LIST_H

#include <stdint.h>

#include "ctx.h"
#include "output.h"

/* What a listing asks the daemon for; each adapter reads its own part
 * (0 and NULL: no filter). */
struct filter {
	const char *region, *name;
	uint64_t lease;
	uint32_t pid;
};

/* An adapter: the rows @f selects, sorted as shown; rows_free() them.
 * Returns 0 or the library's -errno. */
typedef int (*rows_fn)(struct pagemap *pm, const struct filter *f,
		       struct rows *ret);

/* run_listing -- connect, fetch with @fetch, print the rows as @v or, with
 * --json, as an array under @key (after a "region" member when @region is
 * not NULL); a failure names the command and its first argument. */
int run_listing(struct ctx *c, const struct args *a, rows_fn fetch,
		const struct filter *f, const struct view *v, const char *key,
		const char *region);

/* run_scoped -- run_listing() of the R or R/NAME in the first positional
 * (none: everything). */
int run_scoped(struct ctx *c, const struct args *a, rows_fn fetch,
	       const struct view *v, const char *key);

#endif

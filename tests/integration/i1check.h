/* i1check.h -- the I1 checker the stress tests share: read over the raw
 * protocol while the clients are quiet, the daemon's own accounts must
 * agree with each other, nothing past a completed truncate may still be
 * granted, and no region byte may be granted to two files. */
#ifndef PAGEMAP_TEST_I1CHECK_H
#define PAGEMAP_TEST_I1CHECK_H

#include <stdint.h>

/* What the checks saw, so that a test can show it exercised something. */
struct i1_stats {
	uint64_t checks;     /* i1_check() calls */
	uint64_t max_grants; /* the most grants outstanding at one check */
	uint64_t max_leases; /* the most leases at one check */
	uint64_t busy;	     /* checks that found grants outstanding */
};

/* i1_check -- check the daemon on the raw connection @fd (region
 * @region's files) and fail the test (naming @step) on any violation;
 * the clients must not change anything meanwhile. Adds to @st. */
void i1_check(int fd, const char *region, int step, struct i1_stats *st);

/* i1_grants_now -- the daemon's count of outstanding grants (Status). */
uint64_t i1_grants_now(int fd);

#endif

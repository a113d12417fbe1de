/* clock.h -- the monotonic clock tests and the benchmark measure with. */
#ifndef PAGEMAP_TEST_CLOCK_H
#define PAGEMAP_TEST_CLOCK_H

#include <stdint.h>

/* now_ms -- CLOCK_MONOTONIC in milliseconds (signed: deadlines are
 * computed as now_ms() + bound and compared). */
long long now_ms(void);

/* now_ns -- CLOCK_MONOTONIC in nanoseconds. */
uint64_t now_ns(void);

#endif

/* clock.c -- the monotonic clock tests and the benchmark measure with. */
#include "clock.h"

#include <time.h>

long long
now_ms(void)
{
	return (long long)(now_ns() / 1000000);
}

uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

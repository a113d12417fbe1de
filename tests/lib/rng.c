/* rng.c -- a seeded pseudo-random generator (xorshift64*) for tests. */
#include "rng.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SEED UINT64_C(0x9e3779b97f4a7c15)

static struct rng own;
static bool own_seeded;

uint64_t
rng_seed(const char *what, uint64_t dflt)
{
	const char *env = getenv("PAGEMAP_TEST_SEED");
	uint64_t seed = dflt;

	if (env && *env)
		seed = strtoull(env, NULL, 0);
	fprintf(stderr,
		"%s: seed 0x%" PRIx64 " (PAGEMAP_TEST_SEED=0x%" PRIx64
		" repeats it)\n",
		what, seed, seed);
	return seed;
}

void
rng_init(struct rng *r, uint64_t seed)
{
	/* 0 is xorshift's fixed point: it stands for the default seed. */
	r->s = seed ? seed : DEFAULT_SEED;
}

uint64_t
rng_next(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * UINT64_C(0x2545f4914f6cdd1d);
}

uint64_t
rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

uint64_t
rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return lo + rng_next(r) % (hi - lo + 1);
}

void
rnd_seed(const char *what, uint64_t dflt)
{
	rng_init(&own, rng_seed(what, dflt));
	own_seeded = true;
}

uint64_t
rnd(void)
{
	if (!own_seeded)
		rnd_seed("rnd", 0);
	return rng_next(&own);
}

uint64_t
rnd_below(uint64_t n)
{
	return rnd() % n;
}

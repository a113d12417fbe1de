/* rng.h -- a seeded pseudo-random generator (xorshift64*) for tests; the
 * seed is printed so that a failure can be run again with the same
 * numbers (PAGEMAP_TEST_SEED=SEED). */
#ifndef PAGEMAP_TEST_RNG_H
#define PAGEMAP_TEST_RNG_H

#include <stdint.h>

struct rng {
	uint64_t s; /* never 0: xorshift stays at 0 forever */
};

/* rng_seed -- the seed to use: $PAGEMAP_TEST_SEED when set, else @dflt.
 * Prints it on stderr with @what (the generator's purpose). */
uint64_t rng_seed(const char *what, uint64_t dflt);

/* rng_init -- start @r at @seed (any value, 0 included). */
void rng_init(struct rng *r, uint64_t seed);

/* rng_next -- the next 64 random bits of @r. */
uint64_t rng_next(struct rng *r);

/* rng_below -- a value in [0, @n), @n >= 1. */
uint64_t rng_below(struct rng *r, uint64_t n);

/* rng_range -- a value in [@lo, @hi], @lo <= @hi. */
uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi);

/* rnd_seed -- seed the test's own generator, used by rnd() and
 * rnd_below(), with rng_seed(@what, @dflt). Without a call it starts,
 * printed, at a fixed seed at its first use. */
void rnd_seed(const char *what, uint64_t dflt);

/* rnd -- the next 64 bits of the test's own generator. */
uint64_t rnd(void);

/* rnd_below -- a value of the test's own generator in [0, @n), @n >= 1. */
uint64_t rnd_below(uint64_t n);

#endif

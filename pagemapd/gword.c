/* gword.c -- the transitions of a cached grant's state word: one CAS loop
 * per call around a pure next-state function (see the essay in gword.h). */
#include "gword.h"

#include <assert.h>
#include <stddef.h>

_Static_assert(__atomic_always_lock_free(sizeof(uint64_t), 0),
	       "a grant's word must be lock-free: it is shared with another "
	       "process, so no lock (and no libatomic) may stand behind it");

#define COUNT_ONE ((uint64_t)1 << GWORD_COUNT_SHIFT)

/*
 * Test builds (tests/unit/test_gword.c compiles this file with
 * GWORD_TEST_HOOKS) call a hook before every CAS attempt, where a test runs
 * the other side's real functions, or writes what a hostile holder would,
 * between this side's read and its CAS.
 */
#ifdef GWORD_TEST_HOOKS
void (*gword_test_before_cas)(uint64_t *w);
#define BEFORE_CAS(w)                                                          \
	do {                                                                   \
		if (gword_test_before_cas != NULL)                             \
			gword_test_before_cas(w);                              \
	} while (0)
#else
#define BEFORE_CAS(w)                                                          \
	do {                                                                   \
	} while (0)
#endif

static uint64_t
load(const uint64_t *w)
{
	assert(((uintptr_t)w & (sizeof(*w) - 1)) == 0);
	return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

/* On failure *old becomes the word's current value, read atomically. */
static bool
cas(uint64_t *w, uint64_t *old, uint64_t new)
{
	BEFORE_CAS(w);
	return __atomic_compare_exchange_n(w, old, new, false, __ATOMIC_ACQ_REL,
					   __ATOMIC_ACQUIRE);
}

bool
gword_valid(uint64_t v)
{
	uint32_t count = gword_count_of(v);

	if (v & GWORD_RESERVED_MASK)
		return false;
	switch (gword_state_of(v)) {
	case GWORD_FREE:
	case GWORD_CACHED:
	case GWORD_TAKEN:
		return count == 0;
	case GWORD_MAPPED:
	case GWORD_RECALLING:
		return count >= 1;
	default:
		return false;
	}
}

uint64_t
gword_peek(const uint64_t *w)
{
	return load(w);
}

static enum gword_map_result
map_next(uint64_t old, uint32_t gen, uint64_t *ret_new)
{
	if (!gword_valid(old))
		return GWORD_MAP_BAD;
	if (gword_gen_of(old) != gen)
		return GWORD_MAP_STALE;
	switch (gword_state_of(old)) {
	case GWORD_CACHED:
		*ret_new = gword_make(GWORD_MAPPED, 1, gen);
		return GWORD_MAP_OK;
	case GWORD_MAPPED:
		if (gword_count_of(old) >= GWORD_COUNT_MAX)
			return GWORD_MAP_FULL;
		*ret_new = old + COUNT_ONE;
		return GWORD_MAP_OK;
	default:
		/* RECALLING is never mapped again, so a recall ends. */
		return GWORD_MAP_RECALLED;
	}
}

enum gword_map_result
gword_map_begin(uint64_t *w, uint32_t gen)
{
	uint64_t old = load(w);

	for (int i = 0; i < GWORD_RETRIES; i++) {
		uint64_t new;
		enum gword_map_result r = map_next(old, gen, &new);

		if (r != GWORD_MAP_OK)
			return r;
		if (cas(w, &old, new))
			return GWORD_MAP_OK;
	}
	return GWORD_MAP_BUSY;
}

static enum gword_unmap_result
unmap_next(uint64_t old, uint32_t gen, uint64_t *ret_new)
{
	uint32_t count = gword_count_of(old);

	if (!gword_valid(old) || gword_gen_of(old) != gen)
		return GWORD_UNMAP_BAD;
	switch (gword_state_of(old)) {
	case GWORD_MAPPED:
		if (count == 1) {
			*ret_new = gword_make(GWORD_CACHED, 0, gen);
			return GWORD_UNMAP_CACHED;
		}
		*ret_new = old - COUNT_ONE;
		return GWORD_UNMAP_MAPPED;
	case GWORD_RECALLING:
		if (count == 1) {
			*ret_new = gword_make(GWORD_TAKEN, 0, gen);
			return GWORD_UNMAP_TELL;
		}
		*ret_new = old - COUNT_ONE;
		return GWORD_UNMAP_RECALLING;
	default:
		return GWORD_UNMAP_BAD;
	}
}

enum gword_unmap_result
gword_unmap(uint64_t *w, uint32_t gen)
{
	uint64_t old = load(w);

	for (int i = 0; i < GWORD_RETRIES; i++) {
		uint64_t new;
		enum gword_unmap_result r = unmap_next(old, gen, &new);

		if (r == GWORD_UNMAP_BAD)
			return r;
		if (cas(w, &old, new))
			return r;
	}
	return GWORD_UNMAP_BUSY;
}

enum gword_issue_result
gword_issue(uint64_t *w, uint32_t new_gen)
{
	uint64_t old;

	assert(new_gen != 0);
	assert(((uintptr_t)w & (sizeof(*w) - 1)) == 0);
	/* One exchange, not a CAS: whatever the holder left in a freed slot,
	 * the daemon's new grant replaces it. */
	old = __atomic_exchange_n(w, gword_make(GWORD_CACHED, 0, new_gen),
				  __ATOMIC_ACQ_REL);
	if (gword_valid(old) && (gword_state_of(old) == GWORD_FREE ||
				 gword_state_of(old) == GWORD_TAKEN))
		return GWORD_ISSUED;
	return GWORD_ISSUED_OVER;
}

static enum gword_take_result
take_next(uint64_t old, uint32_t gen, uint64_t *ret_new)
{
	if (!gword_valid(old) || gword_gen_of(old) != gen)
		return GWORD_HOSTILE;
	switch (gword_state_of(old)) {
	case GWORD_CACHED:
		*ret_new = gword_make(GWORD_TAKEN, 0, gen);
		return GWORD_TAKEN_NOW;
	case GWORD_MAPPED:
		*ret_new =
			gword_make(GWORD_RECALLING, gword_count_of(old), gen);
		return GWORD_RECALL_NEEDED;
	default:
		/* RECALLING and TAKEN are the daemon's to write, and it has
		 * not recalled this grant; FREE is no grant at all. */
		return GWORD_HOSTILE;
	}
}

enum gword_take_result
gword_take_back(uint64_t *w, uint32_t gen)
{
	uint64_t old = load(w);

	for (int i = 0; i < GWORD_RETRIES; i++) {
		uint64_t new;
		enum gword_take_result r = take_next(old, gen, &new);

		if (r == GWORD_HOSTILE)
			return r;
		if (cas(w, &old, new))
			return r;
	}
	return GWORD_TAKE_BUSY;
}

enum gword_taken_result
gword_taken(const uint64_t *w, uint32_t gen)
{
	uint64_t v = load(w);

	if (v == gword_make(GWORD_TAKEN, 0, gen))
		return GWORD_IS_TAKEN;
	if (gword_valid(v) && gword_gen_of(v) == gen &&
	    gword_state_of(v) == GWORD_RECALLING)
		return GWORD_STILL_MAPPED;
	return GWORD_TAKEN_HOSTILE;
}

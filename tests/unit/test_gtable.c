/* test_gtable.c -- unit tests of a client process's table of grant state
 * words (gtable.c): the sealed memfd, slots and generations, and the
 * daemon's record of a slot that no word written by the holder changes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdcheck.h"
#include "gtable.h"
#include "gword.h"

/* Leases are only compared by address here. */
static char lease_a, lease_b;
#define LA ((struct lease *)&lease_a)
#define LB ((struct lease *)&lease_b)

static void
the_memfd_is_sealed_against_shrinking_growing_and_unsealing(void **state)
{
	struct gtable *t;
	struct stat st;

	(void)state;
	fdcheck_begin();
	assert_int_equal(gtable_new(1000, &t), 0);
	assert_int_equal(fstat(t->fd, &st), 0);
	assert_int_equal(st.st_size, 8000);
	assert_int_equal(fcntl(t->fd, F_GET_SEALS),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	assert_true(ftruncate(t->fd, 0) < 0);
	assert_true(ftruncate(t->fd, 16000) < 0);
	assert_true(fcntl(t->fd, F_ADD_SEALS, F_SEAL_WRITE) < 0);
	assert_true(fcntl(t->fd, F_GETFD) & FD_CLOEXEC);
	assert_true(t->id != 0);
	gtable_free(t);
	gtable_free(NULL);
	fdcheck_end();
}

static void
issue_gives_lowest_free_slots_new_generations_and_cached_words(void **state)
{
	struct gtable *t;
	uint32_t s0, g0, s1, g1, s2, g2;

	(void)state;
	assert_int_equal(gtable_new(2, &t), 0);
	assert_int_equal(gtable_issue(t, LA, 7, &s0, &g0), 0);
	assert_int_equal(gtable_issue(t, LB, 9, &s1, &g1), 0);
	assert_int_equal(s0, 0);
	assert_int_equal(s1, 1);
	assert_int_equal(*gtable_word(t, s0), gword_make(GWORD_CACHED, 0, g0));
	assert_int_equal(gtable_issue(t, LA, 11, &s2, &g2), -ENOSPC);
	assert_int_equal(t->used, 2);
	/* The record is the daemon's: found only at its own generation. */
	assert_ptr_equal(gtable_find(t, s0, g0)->lease, LA);
	assert_int_equal(gtable_find(t, s1, g1)->file_pg, 9);
	assert_null(gtable_find(t, s0, g0 + 1));
	assert_null(gtable_find(t, s0, 0));
	assert_null(gtable_find(t, 2, g0));
	assert_null(gtable_find(t, UINT32_MAX, g0));
	/* A freed slot comes back at the next generation. */
	gtable_release(t, s0);
	assert_null(gtable_find(t, s0, g0));
	assert_int_equal(gtable_issue(t, LB, 13, &s2, &g2), 0);
	assert_int_equal(s2, s0);
	assert_true(g2 != g0 && g2 != 0);
	assert_ptr_equal(gtable_find(t, s2, g2)->lease, LB);
	gtable_free(t);
}

static void
a_holder_s_writes_change_no_record_and_issue_overwrites_them(void **state)
{
	struct gtable *t;
	uint64_t *w;
	uint32_t s, g;

	(void)state;
	assert_int_equal(gtable_new(64, &t), 0);
	assert_int_equal(gtable_issue(t, LA, 1, &s, &g), 0);
	/* The holder maps the same memfd and writes what it likes. */
	w = mmap(NULL, 64 * 8, PROT_READ | PROT_WRITE, MAP_SHARED, t->fd, 0);
	assert_true(w != MAP_FAILED);
	for (int i = 0; i < 64; i++)
		w[i] = ~0ull;
	assert_int_equal(gword_take_back(gtable_word(t, s), g), GWORD_HOSTILE);
	assert_ptr_equal(gtable_find(t, s, g)->lease, LA);
	assert_int_equal(gtable_find(t, s, g)->gen, g);
	gtable_release(t, s);
	assert_int_equal(gtable_issue(t, LA, 1, &s, &g), 0);
	assert_int_equal(w[s], gword_make(GWORD_CACHED, 0, g));
	assert_int_equal(gword_take_back(gtable_word(t, s), g),
			 GWORD_TAKEN_NOW);
	munmap(w, 64 * 8);
	gtable_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			the_memfd_is_sealed_against_shrinking_growing_and_unsealing),
		cmocka_unit_test(
			issue_gives_lowest_free_slots_new_generations_and_cached_words),
		cmocka_unit_test(
			a_holder_s_writes_change_no_record_and_issue_overwrites_them),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

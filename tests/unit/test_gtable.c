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

/* memfd -- a memfd of @len bytes with @seals added (0: none). */
static int
memfd(size_t len, int seals)
{
	int fd = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	if (seals)
		assert_int_equal(fcntl(fd, F_ADD_SEALS, seals), 0);
	return fd;
}

static void
adopt_takes_only_a_sealed_memfd_of_the_exact_size(void **state)
{
	const int all = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	struct gtable *t = NULL;
	char path[] = "/tmp/gtable.XXXXXX";
	int fd;

	(void)state;
	fdcheck_begin();
	/* Each refusal closes the fd it was given (fdcheck_end). */
	assert_int_equal(gtable_adopt(memfd(800, 0), 100, 1, &t), -EINVAL);
	assert_int_equal(gtable_adopt(memfd(800, F_SEAL_SHRINK | F_SEAL_GROW),
				      100, 1, &t),
			 -EINVAL);
	assert_int_equal(gtable_adopt(memfd(808, all), 100, 1, &t), -EINVAL);
	assert_int_equal(gtable_adopt(memfd(792, all), 100, 1, &t), -EINVAL);
	assert_int_equal(gtable_adopt(memfd(800, all), 100, 0, &t), -EINVAL);
	assert_int_equal(
		gtable_adopt(memfd(800, all | F_SEAL_WRITE), 100, 1, &t),
		-EINVAL);
	/* A plain file of the right size is no memfd. */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(ftruncate(fd, 800), 0);
	assert_int_equal(gtable_adopt(fd, 100, 1, &t), -EINVAL);
	assert_int_equal(gtable_adopt(open("/dev/null", O_RDWR), 100, 1, &t),
			 -EINVAL);
	assert_null(t);
	assert_int_equal(gtable_adopt(memfd(800, all), 100, 5, &t), 0);
	assert_int_equal(t->id, 5);
	assert_int_equal(t->used, 0);
	gtable_free(t);
	fdcheck_end();
}

static void
claims_take_only_cached_or_mapped_words_of_their_generation(void **state)
{
	struct gtable *old, *t;
	uint32_t s[4], g[4], ns, ng;
	uint64_t id;
	int fd;

	(void)state;
	fdcheck_begin();
	/* The daemon before the crash issued four words... */
	assert_int_equal(gtable_new(8, &old), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(gtable_issue(old, LA, 100 + i, &s[i], &g[i]),
				 0);
	/* ...the holder mapped one, one was recalled, one scribbled on. */
	assert_int_equal(gword_map_begin(gtable_word(old, s[1]), g[1]),
			 GWORD_MAP_OK);
	assert_int_equal(gword_map_begin(gtable_word(old, s[2]), g[2]),
			 GWORD_MAP_OK);
	assert_int_equal(gword_take_back(gtable_word(old, s[2]), g[2]),
			 GWORD_RECALL_NEEDED);
	*gtable_word(old, s[3]) = gword_make(GWORD_CACHED, 0, g[3] + 7);
	fd = dup(old->fd); /* the holder's copy outlives the daemon */
	id = old->id;
	gtable_free(old);

	assert_int_equal(gtable_adopt(fd, 8, id, &t), 0);
	assert_int_equal(gtable_claim(t, s[0], g[0], LA, 100), 0);
	assert_int_equal(gtable_claim(t, s[0], g[0], LA, 100), -EEXIST);
	assert_int_equal(gtable_claim(t, s[1], g[1] + 1, LB, 101), -ESTALE);
	assert_int_equal(gtable_claim(t, s[1], g[1], LB, 101), 0);
	assert_int_equal(gtable_claim(t, s[2], g[2], LA, 102), -ESTALE);
	assert_int_equal(gtable_claim(t, s[3], g[3], LA, 103), -ESTALE);
	assert_int_equal(gtable_claim(t, 8, 1, LA, 104), -EINVAL);
	assert_int_equal(gtable_claim(t, 5, 0, LA, 104), -EINVAL);
	assert_int_equal(gtable_claim(t, 6, 1, LA, 104), -ESTALE);
	gtable_claimed(t);
	assert_int_equal(t->used, 2);
	assert_ptr_equal(gtable_find(t, s[0], g[0])->lease, LA);
	assert_int_equal(gtable_find(t, s[1], g[1])->file_pg, 101);
	assert_null(gtable_find(t, s[2], g[2]));
	assert_null(gtable_find(t, s[3], g[3]));
	/* The daemon takes the cached one alone, recalls the mapped one. */
	assert_int_equal(gword_take_back(gtable_word(t, s[0]), g[0]),
			 GWORD_TAKEN_NOW);
	assert_int_equal(gword_take_back(gtable_word(t, s[1]), g[1]),
			 GWORD_RECALL_NEEDED);
	/* Unclaimed slots are issued again past the generation their word
	 * holds, never at one the holder may still remember. */
	assert_int_equal(gtable_issue(t, LB, 200, &ns, &ng), 0);
	assert_int_equal(ns, s[2]);
	assert_true(ng > g[2]);
	assert_int_equal(gtable_issue(t, LB, 201, &ns, &ng), 0);
	assert_int_equal(ns, s[3]);
	assert_true(ng > g[3] + 7);
	gtable_free(t);
	fdcheck_end();
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
		cmocka_unit_test(
			adopt_takes_only_a_sealed_memfd_of_the_exact_size),
		cmocka_unit_test(
			claims_take_only_cached_or_mapped_words_of_their_generation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

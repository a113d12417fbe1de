/* test_alloc.c -- unit tests of the region page allocator (alloc.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#include "fdcheck.h"
#include "rng.h"

#define CHUNK 512u /* pages in 2 MiB */
#define MAXEXT 4096u

static struct alloc *
mk(uint64_t region_pages, uint64_t first_pg, uint64_t npages, uint32_t order)
{
	struct alloc *a = NULL;

	assert_int_equal(alloc_new(region_pages, first_pg, npages, order, &a),
			 0);
	assert_non_null(a);
	return a;
}

static bool
bit(const struct alloc *a, uint64_t pg)
{
	return alloc_bitmap(a)[pg / 8] >> (pg % 8) & 1;
}

/* Check the contract of a successful reserve of [file_pg, file_pg + n):
 * extents in file order, covering the range exactly, never two that could
 * have been merged, inside [lo, hi), slot unset, pages now allocated. */
static void
check_reserve(const struct alloc *a, uint64_t lo, uint64_t hi, uint64_t file_pg,
	      uint64_t n, const struct extent *e, int cnt)
{
	uint64_t f = file_pg;

	assert_true(cnt >= 1);
	for (int i = 0; i < cnt; i++) {
		assert_int_equal(e[i].file_pg, f);
		assert_true(e[i].npages >= 1);
		assert_int_equal(e[i].slot, UINT32_MAX);
		assert_true(e[i].region_pg >= lo);
		assert_true(e[i].region_pg + e[i].npages <= hi);
		if (i > 0)
			assert_false(e[i - 1].region_pg + e[i - 1].npages ==
				     e[i].region_pg);
		for (uint64_t p = 0; p < e[i].npages; p++)
			assert_true(bit(a, e[i].region_pg + p));
		f += e[i].npages;
	}
	assert_int_equal(f, file_pg + n);
}

/* Every extent has region_pg == file_pg modulo @m. */
static void
assert_congruent(const struct extent *e, int cnt, uint64_t m)
{
	for (int i = 0; i < cnt; i++)
		assert_int_equal(e[i].region_pg % m, e[i].file_pg % m);
}

/* True if file pages [f, f + m) lie in one extent whose region pages are
 * congruent modulo @m: the folio maps as one huge page. */
static bool
folio_mapped(const struct extent *e, int cnt, uint64_t f, uint64_t m)
{
	for (int i = 0; i < cnt; i++)
		if (e[i].file_pg <= f && f + m <= e[i].file_pg + e[i].npages)
			return e[i].region_pg % m == e[i].file_pg % m;
	return false;
}

/* Pages of @e[0..cnt) that a client can map as naturally aligned folios
 * of @m pages (aligned in the file and in the region). */
static uint64_t
folio_pages(const struct extent *e, int cnt, uint64_t m)
{
	uint64_t sum = 0;

	for (int i = 0; i < cnt; i++) {
		uint64_t s = (e[i].file_pg + m - 1) / m * m;
		uint64_t end = e[i].file_pg + e[i].npages;

		if (e[i].region_pg % m != e[i].file_pg % m)
			continue;
		if (end >= s)
			sum += (end - s) / m * m;
	}
	return sum;
}

static uint64_t
whole_free_chunks(const struct alloc *a, uint64_t lo, uint64_t hi)
{
	uint64_t k = 0;

	for (uint64_t c = (lo + CHUNK - 1) / CHUNK; (c + 1) * CHUNK <= hi; c++)
		k += alloc_is_free(a, c * CHUNK, CHUNK);
	return k;
}

static void
new_allocator_has_the_data_area_free_and_a_clear_bitmap(void **state)
{
	struct alloc *a = mk(4100, 100, 3000, 9);
	const uint8_t *bm = alloc_bitmap(a);

	(void)state;
	assert_int_equal(alloc_total_pages(a), 3000);
	assert_int_equal(alloc_free_pages(a), 3000);
	for (size_t i = 0; i < (4100 + 7) / 8; i++)
		assert_int_equal(bm[i], 0);
	assert_true(alloc_is_free(a, 100, 3000));
	assert_false(alloc_is_free(a, 99, 1)); /* outside: never free */
	assert_false(alloc_is_free(a, 3100, 1));
	alloc_delete(a);
	alloc_delete(NULL);
}

static void
new_rejects_impossible_geometry_and_leaves_ret_untouched(void **state)
{
	struct alloc *a = (struct alloc *)&a;

	(void)state;
	assert_int_equal(alloc_new(4096, 0, 4096, 19, &a), -EINVAL);
	assert_int_equal(alloc_new(4096, 10, 4087, 9, &a), -EINVAL);
	assert_int_equal(alloc_new(4096, 4097, 0, 9, &a), -EINVAL);
	assert_int_equal(alloc_new(4096, 1, UINT64_MAX, 9, &a), -EINVAL);
	assert_ptr_equal(a, (struct alloc *)&a);
}

static void
reserve_aligned_file_range_gets_congruent_region_pages(void **state)
{
	/* The data area starts off a chunk boundary on purpose. */
	struct alloc *a = mk(8 * CHUNK, 3, 8 * CHUNK - 3, 9);
	struct extent e[MAXEXT];
	int n;

	(void)state;
	n = alloc_reserve(a, 0, 2 * CHUNK, e, MAXEXT);
	check_reserve(a, 3, 8 * CHUNK, 0, 2 * CHUNK, e, n);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].region_pg, CHUNK); /* first aligned spot */

	n = alloc_reserve(a, 10 * CHUNK + 7, 1000, e, MAXEXT);
	check_reserve(a, 3, 8 * CHUNK, 10 * CHUNK + 7, 1000, e, n);
	assert_congruent(e, n, CHUNK);
	assert_int_equal(alloc_free_pages(a), 8 * CHUNK - 3 - 2 * CHUNK - 1000);
	alloc_delete(a);
}

static void
reserve_short_range_is_congruent_modulo_its_largest_folio(void **state)
{
	struct alloc *a = mk(8 * CHUNK, 0, 8 * CHUNK, 9);
	struct extent e[MAXEXT];
	int n;

	(void)state;
	assert_int_equal(alloc_mark_used(a, 0, 1), 0);
	/* [6, 26) tiles as 2+8+8+2 pages: congruence modulo 8 keeps every
	 * folio aligned, modulo 512 would add nothing. */
	n = alloc_reserve(a, 6, 20, e, MAXEXT);
	check_reserve(a, 0, 8 * CHUNK, 6, 20, e, n);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].region_pg % 8, 6);
	assert_int_equal(e[0].region_pg, 6); /* first fit in chunk 0 */
	alloc_delete(a);
}

static void
reserve_with_max_order_0_takes_the_first_free_pages(void **state)
{
	struct alloc *a = mk(1000, 5, 995, 0);
	struct extent e[MAXEXT];
	int n;

	(void)state;
	assert_int_equal(alloc_mark_used(a, 5, 2), 0);
	n = alloc_reserve(a, 12345, 300, e, MAXEXT);
	check_reserve(a, 5, 1000, 12345, 300, e, n);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].region_pg, 7);
	n = alloc_reserve(a, 0, 693, e, MAXEXT);
	check_reserve(a, 5, 1000, 0, 693, e, n);
	assert_int_equal(alloc_free_pages(a), 0);
	alloc_delete(a);
}

static void
reserve_with_max_order_18_gets_1gib_congruent_region_pages(void **state)
{
	const uint64_t g = 1u << 18; /* 1 GiB in pages */
	struct alloc *a = mk(3 * g, 16, 3 * g - 16, 18);
	struct extent e[MAXEXT];
	int n;

	(void)state;
	/* Aligned 1 GiB file range plus a tail: the head lands on the
	 * first 1 GiB boundary of the region. */
	n = alloc_reserve(a, g, g + 100, e, MAXEXT);
	check_reserve(a, 16, 3 * g, g, g + 100, e, n);
	assert_int_equal(e[0].region_pg, g);
	assert_true(folio_mapped(e, n, g, g));
	assert_true(folio_mapped(e, n, 2 * g, 64));
	assert_true(folio_mapped(e, n, 2 * g + 96, 4));

	/* Misaligned by 5 pages: its biggest folio (2^17 pages) and the
	 * smaller ones around it still come out aligned. */
	n = alloc_reserve(a, 5, g, e, MAXEXT);
	check_reserve(a, 16, 3 * g, 5, g, e, n);
	assert_true(folio_mapped(e, n, g / 2, g / 2));
	assert_true(folio_mapped(e, n, g / 4, g / 4));
	assert_true(folio_mapped(e, n, 8, 8));
	assert_true(folio_mapped(e, n, g, 4));
	alloc_delete(a);
}

static void
small_reserves_share_a_partly_used_chunk(void **state)
{
	struct alloc *a = mk(8 * CHUNK, 0, 8 * CHUNK, 9);
	struct extent e[MAXEXT];
	int n;

	(void)state;
	for (int i = 0; i < 20; i++) {
		n = alloc_reserve(a, 0, 5, e, MAXEXT);
		check_reserve(a, 0, 8 * CHUNK, 0, 5, e, n);
		assert_int_equal(n, 1);
		assert_int_equal(e[0].region_pg % 4, 0);
		assert_true(e[0].region_pg < CHUNK);
	}
	assert_int_equal(whole_free_chunks(a, 0, 8 * CHUNK), 7);
	alloc_delete(a);
}

static void
tail_of_large_file_goes_into_a_partly_used_chunk(void **state)
{
	struct alloc *a = mk(8 * CHUNK, 0, 8 * CHUNK, 9);
	struct extent e[MAXEXT];
	int n;

	(void)state;
	assert_int_equal(alloc_mark_used(a, 0, 10), 0);
	n = alloc_reserve(a, 0, 2 * CHUNK + 5, e, MAXEXT);
	check_reserve(a, 0, 8 * CHUNK, 0, 2 * CHUNK + 5, e, n);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].region_pg, CHUNK);
	assert_int_equal(e[0].npages, 2 * CHUNK);
	assert_true(e[1].region_pg < CHUNK); /* in chunk 0 */
	assert_congruent(e, n, 4);
	assert_int_equal(whole_free_chunks(a, 0, 8 * CHUNK), 5);
	alloc_delete(a);
}

static void
one_allowed_extent_prefers_a_long_run_over_packing(void **state)
{
	struct alloc *a = mk(8 * CHUNK, 0, 8 * CHUNK, 9);
	struct extent e[MAXEXT];
	int n;

	(void)state;
	assert_int_equal(alloc_mark_used(a, 0, 10), 0);
	n = alloc_reserve(a, 0, 2 * CHUNK + 5, e, 1);
	check_reserve(a, 0, 8 * CHUNK, 0, 2 * CHUNK + 5, e, n);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].region_pg, CHUNK);
	alloc_delete(a);
}

static void
fragmented_region_serves_a_large_reserve_with_distinct_pages(void **state)
{
	const uint64_t lo = CHUNK, hi = 33 * CHUNK;
	struct alloc *a = mk(hi, lo, hi - lo, 9);
	struct extent e[MAXEXT], held[8192];
	uint8_t before[33 * CHUNK / 8];
	int nheld = 0, n;

	(void)state;
	/* Interleave 3-page and 1-page files, then free every 3-page one:
	 * the free space is holes of 3 pages, none congruent for most
	 * file offsets. */
	while (alloc_free_pages(a) >= 4) {
		n = alloc_reserve(a, 0, 3, e, MAXEXT);
		assert_int_equal(n, 1);
		held[nheld++] = e[0];
		assert_true(nheld < 8192);
		n = alloc_reserve(a, 0, 1, e, MAXEXT);
		assert_int_equal(n, 1);
	}
	for (int i = 0; i < nheld; i++)
		alloc_release(a, held[i].region_pg, held[i].npages);
	assert_int_equal(whole_free_chunks(a, lo, hi), 0);

	memcpy(before, alloc_bitmap(a), sizeof(before));
	n = alloc_reserve(a, 1, 2 * CHUNK, e, MAXEXT);
	check_reserve(a, lo, hi, 1, 2 * CHUNK, e, n);
	assert_true(n > 1);
	/* Every page handed out was free before. */
	for (int i = 0; i < n; i++)
		for (uint64_t p = e[i].region_pg;
		     p < e[i].region_pg + e[i].npages; p++)
			assert_false(before[p / 8] >> (p % 8) & 1);
	assert_int_equal(alloc_free_pages(a), (uint64_t)nheld * 3 - 2 * CHUNK);
	alloc_delete(a);
}

static void
exact_fill_succeeds_then_enospc_changes_nothing(void **state)
{
	const uint64_t lo = 7, hi = 4 * CHUNK + 13;
	struct alloc *a = mk(hi + 3, lo, hi - lo, 9);
	struct extent e[MAXEXT];
	uint8_t before[(4 * CHUNK + 16) / 8 + 1];
	struct rng s;
	int n;

	(void)state;
	rng_init(&s, rng_seed("reserve until full", 42));
	while (alloc_free_pages(a) > 0) {
		uint64_t want = rng_range(&s, 1, 700);

		if (want > alloc_free_pages(a))
			want = alloc_free_pages(a);
		n = alloc_reserve(a, rng_range(&s, 0, 5000), want, e, MAXEXT);
		assert_true(n >= 1);
	}
	for (uint64_t p = 0; p < hi + 3; p++)
		assert_int_equal(bit(a, p), p >= lo && p < hi);

	memcpy(before, alloc_bitmap(a), (hi + 3 + 7) / 8);
	assert_int_equal(alloc_reserve(a, 0, 1, e, MAXEXT), -ENOSPC);
	assert_int_equal(alloc_free_pages(a), 0);
	assert_memory_equal(before, alloc_bitmap(a), (hi + 3 + 7) / 8);

	alloc_release(a, lo + 100, 50);
	assert_int_equal(alloc_reserve(a, 0, 51, e, MAXEXT), -ENOSPC);
	assert_int_equal(alloc_free_pages(a), 50);
	/* The only free run is not congruent: it is used anyway, in pieces
	 * that keep what alignment they can. */
	n = alloc_reserve(a, 0, 50, e, MAXEXT);
	check_reserve(a, lo, hi, 0, 50, e, n);
	assert_int_equal(alloc_free_pages(a), 0);
	assert_true(folio_mapped(e, n, 0, 16));
	alloc_delete(a);
}

static void
reserve_needing_too_many_extents_fails_with_e2big_and_changes_nothing(
	void **state)
{
	struct alloc *a = mk(4 * CHUNK, 0, 4 * CHUNK, 9);
	struct extent e[MAXEXT];
	uint8_t before[4 * CHUNK / 8];
	int n;

	(void)state;
	/* Only every other page is free: 10 pages need 10 extents. */
	for (uint64_t p = 0; p < 4 * CHUNK; p += 2)
		assert_int_equal(alloc_mark_used(a, p, 1), 0);
	memcpy(before, alloc_bitmap(a), sizeof(before));
	assert_int_equal(alloc_reserve(a, 0, 10, e, 9), -E2BIG);
	assert_int_equal(alloc_reserve(a, 0, 10, e, 0), -E2BIG);
	assert_memory_equal(before, alloc_bitmap(a), sizeof(before));
	assert_int_equal(alloc_free_pages(a), 2 * CHUNK);
	n = alloc_reserve(a, 0, 10, e, 10);
	check_reserve(a, 0, 4 * CHUNK, 0, 10, e, n);
	assert_int_equal(n, 10);
	alloc_delete(a);
}

static void
reserve_of_zero_pages_is_invalid(void **state)
{
	struct alloc *a = mk(CHUNK, 0, CHUNK, 9);
	struct extent e[1];

	(void)state;
	assert_int_equal(alloc_reserve(a, 0, 0, e, 1), -EINVAL);
	assert_int_equal(alloc_reserve(a, UINT64_MAX, 1, e, 1), -EINVAL);
	assert_int_equal(alloc_free_pages(a), CHUNK);
	alloc_delete(a);
}

static void
mark_used_rejects_overlap_with_eexist_and_outside_with_erange(void **state)
{
	struct alloc *a = mk(1000, 100, 800, 9);
	uint8_t before[125];

	(void)state;
	assert_int_equal(alloc_mark_used(a, 200, 10), 0);
	assert_int_equal(alloc_free_pages(a), 790);
	memcpy(before, alloc_bitmap(a), sizeof(before));

	assert_int_equal(alloc_mark_used(a, 195, 6), -EEXIST);	 /* head */
	assert_int_equal(alloc_mark_used(a, 209, 5), -EEXIST);	 /* tail */
	assert_int_equal(alloc_mark_used(a, 150, 100), -EEXIST); /* covers */
	assert_int_equal(alloc_mark_used(a, 99, 2), -ERANGE);
	assert_int_equal(alloc_mark_used(a, 899, 2), -ERANGE);
	assert_int_equal(alloc_mark_used(a, 950, 1), -ERANGE);
	assert_int_equal(alloc_mark_used(a, 300, UINT64_MAX), -ERANGE);
	assert_memory_equal(before, alloc_bitmap(a), sizeof(before));
	assert_int_equal(alloc_free_pages(a), 790);

	assert_int_equal(alloc_mark_used(a, 100, 100), 0); /* edges */
	assert_int_equal(alloc_mark_used(a, 210, 690), 0);
	assert_int_equal(alloc_free_pages(a), 0);
	assert_false(alloc_is_free(a, 100, 1));
	alloc_delete(a);
}

static void
bitmap_bytes_are_lsb_first_one_bit_per_region_page(void **state)
{
	struct alloc *a = mk(100, 8, 92, 9);
	const uint8_t *bm = alloc_bitmap(a);
	struct extent e[MAXEXT];

	(void)state;
	assert_int_equal(alloc_mark_used(a, 9, 1), 0);
	assert_int_equal(alloc_mark_used(a, 16, 8), 0);
	assert_int_equal(alloc_mark_used(a, 26, 3), 0);
	assert_int_equal(alloc_mark_used(a, 99, 1), 0);
	assert_int_equal(bm[0], 0x00); /* outside the data area: clear */
	assert_int_equal(bm[1], 0x02);
	assert_int_equal(bm[2], 0xff);
	assert_int_equal(bm[3], 0x1c);
	assert_int_equal(bm[12], 0x08); /* page 99 = byte 12, bit 3 */
	for (int i = 4; i < 12; i++)
		assert_int_equal(bm[i], 0);

	alloc_release(a, 16, 8);
	assert_int_equal(bm[2], 0x00);
	assert_true(alloc_reserve(a, 0, alloc_free_pages(a), e, MAXEXT) > 0);
	assert_int_equal(bm[0], 0x00); /* still clear when all is used */
	assert_int_equal(bm[1], 0xff);
	assert_int_equal(bm[12], 0x0f);
	alloc_delete(a);
}

static void
release_makes_pages_free_and_reusable(void **state)
{
	struct alloc *a = mk(4 * CHUNK, 0, 4 * CHUNK, 9);
	struct extent e[MAXEXT];
	int n;

	(void)state;
	n = alloc_reserve(a, 0, CHUNK, e, MAXEXT);
	assert_int_equal(n, 1);
	assert_false(alloc_is_free(a, e[0].region_pg, 1));
	alloc_release(a, e[0].region_pg + 100, 50);
	assert_true(alloc_is_free(a, e[0].region_pg + 100, 50));
	assert_false(alloc_is_free(a, e[0].region_pg + 99, 2));
	assert_int_equal(alloc_free_pages(a), 3 * CHUNK + 50);
	n = alloc_reserve(a, 100, 50, e + 1, MAXEXT - 1);
	assert_int_equal(n, 1);
	assert_int_equal(e[1].region_pg, e[0].region_pg + 100);
	alloc_delete(a);
}

/* The randomized test: the allocator next to a plain bool per page. */
struct oracle {
	struct alloc *a;
	uint64_t lo, hi, region_pages;
	bool *used;	     /* by region page */
	struct extent *live; /* allocated runs: region_pg, npages */
	size_t nlive;
	struct extent *e; /* MAXEXT, for alloc_reserve */
	uint8_t *snap;	  /* bitmap before a call */
	struct rng s;	  /* PRNG state */
};

static void
oracle_check(const struct oracle *o)
{
	uint64_t nfree = 0;

	for (uint64_t p = 0; p < o->region_pages; p++) {
		assert_int_equal(bit(o->a, p), o->used[p]);
		nfree += p >= o->lo && p < o->hi && !o->used[p];
	}
	assert_int_equal(alloc_free_pages(o->a), nfree);
	assert_int_equal(alloc_total_pages(o->a), o->hi - o->lo);
}

static void
oracle_reserve(struct oracle *o)
{
	uint64_t f = rng_range(&o->s, 0, 20000);
	uint64_t n = rng_next(&o->s) % 8 ? rng_range(&o->s, 1, 300)
					 : rng_range(&o->s, 1, 2000);
	size_t max = rng_next(&o->s) % 2 ? MAXEXT : rng_range(&o->s, 1, 8);
	uint64_t nfree = alloc_free_pages(o->a);
	size_t bytes = (o->region_pages + 7) / 8;
	int k;

	memcpy(o->snap, alloc_bitmap(o->a), bytes);
	k = alloc_reserve(o->a, f, n, o->e, max);
	if (n > nfree)
		assert_int_equal(k, -ENOSPC);
	else if (k < 0)
		assert_true(k == -E2BIG && max < n);
	if (k < 0) {
		assert_memory_equal(o->snap, alloc_bitmap(o->a), bytes);
		return;
	}
	assert_true((size_t)k <= max);
	for (int i = 0; i < k; i++) {
		for (uint64_t p = 0; p < o->e[i].npages; p++) {
			assert_false(o->used[o->e[i].region_pg + p]);
			o->used[o->e[i].region_pg + p] = true;
		}
		o->live[o->nlive++] = o->e[i];
	}
	check_reserve(o->a, o->lo, o->hi, f, n, o->e, k);
}

/* Free a random part of a live run, as a truncate or punch would. */
static void
oracle_release(struct oracle *o)
{
	size_t i = rng_next(&o->s) % o->nlive;
	struct extent pc = o->live[i];
	uint64_t off = rng_next(&o->s) % pc.npages;
	uint64_t len = rng_range(&o->s, 1, pc.npages - off);

	alloc_release(o->a, pc.region_pg + off, len);
	for (uint64_t p = 0; p < len; p++)
		o->used[pc.region_pg + off + p] = false;
	o->live[i] = o->live[--o->nlive];
	if (off) {
		o->live[o->nlive] = pc;
		o->live[o->nlive++].npages = off;
	}
	if (off + len < pc.npages) {
		o->live[o->nlive] = pc;
		o->live[o->nlive].region_pg += off + len;
		o->live[o->nlive++].npages -= off + len;
	}
}

static void
random_reserve_release_never_hands_out_a_page_twice(void **state)
{
	static const uint32_t orders[] = {0, 3, 9, 10, 18};

	(void)state;
	for (size_t round = 0; round < 5; round++) {
		struct oracle o = {0};

		rng_init(&o.s, rng_seed("oracle round",
					0x9e3779b97f4a7c15ull + round));

		o.lo = rng_range(&o.s, 0, 600);
		o.hi = o.lo + rng_range(&o.s, 3000, 9000);
		o.region_pages = o.hi + rng_range(&o.s, 0, 100);
		o.a = mk(o.region_pages, o.lo, o.hi - o.lo, orders[round]);
		o.used = calloc(o.region_pages, sizeof(*o.used));
		o.live = calloc(o.region_pages + 1, sizeof(*o.live));
		o.e = calloc(MAXEXT, sizeof(*o.e));
		o.snap = malloc((o.region_pages + 7) / 8);
		assert_true(o.used && o.live && o.e && o.snap);
		for (int op = 0; op < 3000; op++) {
			if (o.nlive == 0 || rng_next(&o.s) % 5 < 3)
				oracle_reserve(&o);
			else
				oracle_release(&o);
			oracle_check(&o);
		}
		free(o.snap);
		free(o.e);
		free(o.live);
		free(o.used);
		alloc_delete(o.a);
	}
}

/* One file in the churn test. */
struct cfile {
	uint64_t pages;
	bool multiple; /* sized in whole 2 MiB */
	int n;
	struct extent *e;
};

static void
cfile_free(struct alloc *a, struct cfile *f)
{
	for (int i = 0; i < f->n; i++)
		alloc_release(a, f->e[i].region_pg, f->e[i].npages);
	free(f->e);
	f->e = NULL;
}

/*
 * Fill a 1 GiB region to @fill_pct percent with files created at file page
 * 0, then keep deleting a random file and creating a new one at that level.
 * @pct_multiple percent of the files are 1..@max_chunks whole 2 MiB chunks,
 * @pct_small percent are under 2 MiB, the rest whole chunks plus a tail.
 * Asserts that the files sized in 2 MiB multiples map >= 95% of their
 * pages as aligned 2 MiB folios, both as created during the churn and as
 * still alive at the end.
 */
static void
churn(uint64_t pct_multiple, uint64_t pct_small, uint64_t max_chunks,
      uint64_t fill_pct, uint64_t seed)
{
	enum { MAXFILES = 2048, OPS = 6000, WARMUP = 1000 };
	const uint64_t lo = CHUNK, npages = 512 * CHUNK;
	const uint64_t full = npages * fill_pct / 100;
	struct alloc *a = mk(lo + npages, lo, npages, 9);
	struct cfile *files = calloc(MAXFILES, sizeof(*files));
	struct extent e[256];
	struct rng s;
	uint64_t used = 0, want = 0, got = 0, lwant = 0, lgot = 0;
	int nfiles = 0;

	assert_non_null(files);
	rng_init(&s, rng_seed("churn", seed));
	for (int op = 0; op < OPS; op++) {
		struct cfile *f;
		uint64_t kind = rng_next(&s) % 100;
		int n;

		while (used >= full && nfiles > 0) {
			int i = (int)(rng_next(&s) % (uint64_t)nfiles);

			used -= files[i].pages;
			cfile_free(a, &files[i]);
			files[i] = files[--nfiles];
		}
		assert_true(nfiles < MAXFILES);
		f = &files[nfiles];
		f->multiple = kind < pct_multiple;
		if (f->multiple)
			f->pages = rng_range(&s, 1, max_chunks) * CHUNK;
		else if (kind < pct_multiple + pct_small)
			f->pages = rng_range(&s, 1, CHUNK - 1);
		else
			f->pages = rng_range(&s, 1, max_chunks) * CHUNK +
				   rng_range(&s, 1, CHUNK - 1);
		n = alloc_reserve(a, 0, f->pages, e, 256);
		assert_true(n >= 1);
		f->n = n;
		f->e = malloc((size_t)n * sizeof(*e));
		assert_non_null(f->e);
		memcpy(f->e, e, (size_t)n * sizeof(*e));
		used += f->pages;
		nfiles++;
		assert_int_equal(alloc_free_pages(a), npages - used);
		if (f->multiple && op >= WARMUP) {
			want += f->pages;
			got += folio_pages(f->e, f->n, CHUNK);
		}
	}
	for (int i = 0; i < nfiles; i++) {
		if (files[i].multiple) {
			lwant += files[i].pages;
			lgot += folio_pages(files[i].e, files[i].n, CHUNK);
		}
	}
	print_message("2 MiB folio share at %u%%: created %.4f, live %.4f\n",
		      (unsigned)fill_pct, (double)got / (double)want,
		      (double)lgot / (double)lwant);
	assert_true(want > 0 && lwant > 0);
	assert_true(got * 100 >= want * 95);
	assert_true(lgot * 100 >= lwant * 95);
	for (int i = 0; i < nfiles; i++)
		cfile_free(a, &files[i]);
	assert_int_equal(alloc_free_pages(a), npages);
	free(files);
	alloc_delete(a);
}

static void
churn_to_70_percent_keeps_2mib_sized_files_in_2mib_folios(void **state)
{
	(void)state;
	churn(50, 30, 32, 70, 7);
}

static void
churn_of_mostly_small_files_to_85_percent_keeps_2mib_folios(void **state)
{
	(void)state;
	/* By volume about half small files: without packing them into
	 * partly used chunks, whole chunks run out. */
	churn(5, 95, 4, 85, 11);
}

static void
terabyte_region_serves_small_and_large_requests(void **state)
{
	const uint64_t region = 1ull << 28; /* 1 TiB of 4 KiB pages */
	struct alloc *a = mk(region, CHUNK, region - CHUNK, 9);
	struct extent e[MAXEXT];
	int n;

	(void)state;
	n = alloc_reserve(a, 0, 1u << 18, e, MAXEXT); /* 1 GiB */
	assert_int_equal(n, 1);
	check_reserve(a, CHUNK, region, 0, 1u << 18, e, n);
	/* A small file breaks one chunk; the next ones share it. */
	for (int i = 0; i < 100; i++) {
		n = alloc_reserve(a, 0, 3, e, MAXEXT);
		assert_int_equal(n, 1);
		assert_int_equal(e[0].region_pg / CHUNK,
				 (1u << 18) / CHUNK + 1);
	}
	/* A file larger than the last free run near the start. */
	n = alloc_reserve(a, 0, 1u << 20, e, MAXEXT);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].region_pg % CHUNK, 0);
	assert_int_equal(alloc_free_pages(a),
			 region - CHUNK - (1u << 18) - 300 - (1u << 20));
	alloc_delete(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(
			new_allocator_has_the_data_area_free_and_a_clear_bitmap),
		fdcheck_test(
			new_rejects_impossible_geometry_and_leaves_ret_untouched),
		fdcheck_test(
			reserve_aligned_file_range_gets_congruent_region_pages),
		fdcheck_test(
			reserve_short_range_is_congruent_modulo_its_largest_folio),
		fdcheck_test(
			reserve_with_max_order_0_takes_the_first_free_pages),
		fdcheck_test(
			reserve_with_max_order_18_gets_1gib_congruent_region_pages),
		fdcheck_test(small_reserves_share_a_partly_used_chunk),
		fdcheck_test(tail_of_large_file_goes_into_a_partly_used_chunk),
		fdcheck_test(
			one_allowed_extent_prefers_a_long_run_over_packing),
		fdcheck_test(
			fragmented_region_serves_a_large_reserve_with_distinct_pages),
		fdcheck_test(exact_fill_succeeds_then_enospc_changes_nothing),
		fdcheck_test(
			reserve_needing_too_many_extents_fails_with_e2big_and_changes_nothing),
		fdcheck_test(reserve_of_zero_pages_is_invalid),
		fdcheck_test(
			mark_used_rejects_overlap_with_eexist_and_outside_with_erange),
		fdcheck_test(
			bitmap_bytes_are_lsb_first_one_bit_per_region_page),
		fdcheck_test(release_makes_pages_free_and_reusable),
		fdcheck_test(
			random_reserve_release_never_hands_out_a_page_twice),
		fdcheck_test(
			churn_to_70_percent_keeps_2mib_sized_files_in_2mib_folios),
		fdcheck_test(
			churn_of_mostly_small_files_to_85_percent_keeps_2mib_folios),
		fdcheck_test(terabyte_region_serves_small_and_large_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_lease.c -- unit tests of leases and their grants (lease.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "extent.h"
#include "folio.h"
#include "inode.h"
#include "layout.h"
#include "lease.h"
#include "gtable.h"
#include "gword.h"
#include "pintab.h"
#include "region.h"

#include "fdcheck.h"
#include "inodes.h"
#include "rng.h"

/*
 * The world is built by hand, no I/O: a superblock that only carries
 * max_order, a region pointing at it, and inodes whose extent maps are
 * filled directly.
 *
 *  - a: a 4 MiB file (1024 pages) in one extent at a region page that is a
 *    multiple of 512, so it tiles into two order 9 folios;
 *  - b: 1100 pages minus 100 bytes in five extents whose region offsets
 *    allow orders 0, 9, 2, 9 and 7, with a hole at [987, 1000);
 *  - orphan: unlinked, takes no lease.
 */

#define A_PAGES 1024u
#define A_REGION_PG (512u * 100u)
#define B_PAGES 1100u
#define B_HOLE_LO 987u
#define B_HOLE_HI 1000u
#define TILE_MAX 2048u /* more folios than any range of a or b holds */

struct world {
	struct pm_super sb;
	struct region r;
	struct inode a;
	struct inode b;
	struct inode orphan;
};

static int
setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));

	fdcheck_begin();
	assert_non_null(w);
	w->sb.max_order = 9;
	w->r.sb = &w->sb;
	w->r.fd = -1;
	w->r.ro_fd = -1;

	test_inode_init(&w->a, 1, (uint64_t)A_PAGES * PM_PAGE_SIZE);
	test_inode_extent(&w->a, 0, A_REGION_PG, A_PAGES);

	test_inode_init(&w->b, 2, (uint64_t)B_PAGES * PM_PAGE_SIZE - 100);
	/* odd offset: order 0 */
	test_inode_extent(&w->b, 0, 4099, 37);
	/* offset 8192: order 9 */
	test_inode_extent(&w->b, 37, 8192 + 37, 700);
	/* offset 4 * odd: order 2 */
	test_inode_extent(&w->b, 737, 20004 + 737, 250);
	/* offset 2^13 * 5 */
	test_inode_extent(&w->b, 1000, 40960 + 1000, 64);
	/* offset 2^7 * 391 */
	test_inode_extent(&w->b, 1064, 50048 + 1064, 36);

	test_inode_init(&w->orphan, 3, 0);
	w->orphan.orphan = true;

	*state = w;
	return 0;
}

static int
teardown(void **state)
{
	struct world *w = *state;

	test_inode_end_leases(&w->a);
	test_inode_end_leases(&w->b);
	assert_int_equal(w->r.pins, 0);
	assert_int_equal(w->r.nleases, 0);
	extent_map_fini(&w->a.map);
	extent_map_fini(&w->b.map);
	extent_map_fini(&w->orphan.map);
	free(w);
	return fdcheck_end();
}

static struct lease *
new_lease(struct world *w, struct inode *ino, enum lease_access access)
{
	static uint64_t next_id = 1;
	struct lease *l = NULL;

	assert_int_equal(lease_new(&w->r, ino, w, access, next_id++, &l), 0);
	assert_non_null(l);
	return l;
}

static int
aligned(uint64_t pg, uint32_t order)
{
	return (pg & ((UINT64_C(1) << order) - 1)) == 0;
}

/* The region page backing file page @pg of @ino, or UINT64_MAX (a hole). */
static uint64_t
backing(const struct inode *ino, uint64_t pg)
{
	for (size_t i = 0; i < ino->map.n; i++) {
		const struct extent *e = &ino->map.v[i];

		if (pg >= e->file_pg && pg - e->file_pg < e->npages)
			return e->region_pg + (pg - e->file_pg);
	}
	return UINT64_MAX;
}

/* check_lease -- a lease's own invariants: grants sorted by file page,
 * each an aligned folio of the file where the extent map says, pages the
 * sum of their sizes. */
static void
check_lease(const struct world *w, const struct lease *l)
{
	uint64_t pages = 0;

	assert_true(l->ngrants <= l->cap);
	for (size_t i = 0; i < l->ngrants; i++) {
		const struct grant *g = &l->grants[i];

		if (i > 0)
			assert_true(l->grants[i - 1].file_pg <= g->file_pg);
		assert_true(g->order <= w->sb.max_order);
		assert_true(aligned(g->file_pg, g->order));
		assert_true(aligned(g->region_pg, g->order));
		assert_int_equal(g->region_pg, backing(l->ino, g->file_pg));
		assert_int_equal(
			g->region_pg + (UINT64_C(1) << g->order) - 1,
			backing(l->ino,
				g->file_pg + (UINT64_C(1) << g->order) - 1));
		assert_true(g->access == LEASE_READ ||
			    g->access == LEASE_WRITE);
		assert_true(g->access <= (uint32_t)l->access);
		pages += UINT64_C(1) << g->order;
	}
	assert_int_equal(l->pages, pages);
}

/* check_counts -- the counters of lease.h: ino->grants sums the inode's
 * leases, region->pins and region->nleases sum the inodes; the inode lists
 * are well linked. */
static void
check_counts(const struct world *w)
{
	const struct inode *inos[] = {&w->a, &w->b};
	uint64_t pins = 0, nleases = 0;

	for (size_t i = 0; i < 2; i++) {
		const struct lease *prev = NULL;
		uint64_t grants = 0;
		uint32_t n = 0;

		for (const struct lease *l = inos[i]->leases; l;
		     l = l->ino_next) {
			assert_ptr_equal(l->ino_prev, prev);
			assert_ptr_equal(l->ino, inos[i]);
			assert_ptr_equal(l->region, &w->r);
			check_lease(w, l);
			grants += l->ngrants;
			n++;
			prev = l;
		}
		assert_int_equal(inos[i]->grants, grants);
		assert_int_equal(inos[i]->nleases, n);
		pins += grants;
		nleases += n;
	}
	assert_null(w->orphan.leases);
	assert_int_equal(w->r.pins, pins);
	assert_int_equal(w->r.nleases, nleases);
}

/* expect_tiling -- the maximal folios of file pages [pg, pg + n) of @ino:
 * folio_tile over each extent piece in turn, nothing cut short. */
static size_t
expect_tiling(const struct inode *ino, uint32_t max_order, uint64_t pg,
	      uint64_t n, struct folio *out)
{
	uint64_t end = pg + n;
	size_t k = 0;

	for (size_t i = 0; i < ino->map.n; i++) {
		const struct extent *e = &ino->map.v[i];
		uint64_t lo = pg > e->file_pg ? pg : e->file_pg;
		uint64_t hi = e->file_pg + e->npages, covered;

		if (hi > end)
			hi = end;
		if (lo >= hi)
			continue;
		k += folio_tile(lo, e->region_pg + (lo - e->file_pg), hi - lo,
				max_order, out + k, TILE_MAX - k, &covered);
		assert_int_equal(covered, hi - lo);
	}
	return k;
}

/* map_ok -- map and check the grants are exactly the first @max folios of
 * the maximal tiling and the resume page is right; returns the count. */
static int
map_ok(struct world *w, struct lease *l, uint64_t pg, uint64_t n,
       enum lease_access access, size_t max)
{
	static struct folio want[TILE_MAX];
	static struct grant out[TILE_MAX];
	size_t nwant = expect_tiling(l->ino, w->sb.max_order, pg, n, want);
	size_t before = l->ngrants, k;
	uint64_t next = 0xdeadbeef;
	int rv = lease_map(l, pg, n, access, out, max, &next);

	assert_true(rv >= 1);
	k = nwant < max ? nwant : max;
	assert_int_equal(rv, k);
	for (size_t i = 0; i < k; i++) {
		assert_int_equal(out[i].file_pg, want[i].file_pg);
		assert_int_equal(out[i].region_pg, want[i].region_pg);
		assert_int_equal(out[i].order, want[i].order);
		assert_int_equal(out[i].access, access);
	}
	assert_int_equal(next, k < nwant ? want[k].file_pg : pg + n);
	assert_int_equal(l->ngrants, before + k);
	check_counts(w);
	return rv;
}

/* map_fails -- map must fail with @err and change nothing. */
static void
map_fails(struct world *w, struct lease *l, uint64_t pg, uint64_t n,
	  enum lease_access access, size_t max, int err)
{
	static struct grant out[TILE_MAX];
	uint64_t pins = w->r.pins, grants = l->ino->grants, pages = l->pages;
	size_t ngrants = l->ngrants;
	uint64_t next = 0xdeadbeef;

	assert_int_equal(lease_map(l, pg, n, access, out, max, &next), err);
	assert_int_equal(next, 0xdeadbeef);
	assert_int_equal(w->r.pins, pins);
	assert_int_equal(l->ino->grants, grants);
	assert_int_equal(l->ngrants, ngrants);
	assert_int_equal(l->pages, pages);
	check_counts(w);
}

/* How many grants of @l contain file page @pg. */
static size_t
grants_at(const struct lease *l, uint64_t pg)
{
	size_t k = 0;

	for (size_t i = 0; i < l->ngrants; i++)
		k += l->grants[i].file_pg <= pg &&
		     pg - l->grants[i].file_pg <
			     (UINT64_C(1) << l->grants[i].order);
	return k;
}

static bool
has_grant(const struct lease *l, uint64_t file_pg, uint32_t order)
{
	for (size_t i = 0; i < l->ngrants; i++)
		if (l->grants[i].file_pg == file_pg &&
		    l->grants[i].order == order)
			return true;
	return false;
}

/* --- leases ------------------------------------------------------------ */

static void
lease_on_an_orphan_is_refused_with_enoent(void **state)
{
	struct world *w = *state;
	struct lease *l = (struct lease *)0x1;

	assert_int_equal(lease_new(&w->r, &w->orphan, w, LEASE_READ, 1, &l),
			 -ENOENT);
	assert_ptr_equal(l, (struct lease *)0x1);
	assert_int_equal(w->orphan.nleases, 0);
	assert_int_equal(w->r.nleases, 0);
	check_counts(w);
}

static void
lease_on_a_detaching_region_is_refused_with_ebusy(void **state)
{
	struct world *w = *state;
	struct lease *l = (struct lease *)0x1;

	w->r.detaching = true;
	assert_int_equal(lease_new(&w->r, &w->a, w, LEASE_WRITE, 1, &l),
			 -EBUSY);
	assert_ptr_equal(l, (struct lease *)0x1);
	assert_null(w->a.leases);
	check_counts(w);
	w->r.detaching = false;
	l = new_lease(w, &w->a, LEASE_WRITE);
	assert_ptr_equal(w->a.leases, l);
	check_counts(w);
}

static void
new_lease_records_its_owner_access_and_id_and_is_counted(void **state)
{
	struct world *w = *state;
	struct lease *l = NULL;

	assert_int_equal(lease_new(&w->r, &w->b, &l, LEASE_READ, 42, &l), 0);
	assert_int_equal(l->id, 42);
	assert_ptr_equal(l->owner, &l);
	assert_ptr_equal(l->ino, &w->b);
	assert_ptr_equal(l->region, &w->r);
	assert_int_equal(l->access, LEASE_READ);
	assert_false(l->revoking);
	assert_int_equal(l->ngrants, 0);
	assert_int_equal(l->pages, 0);
	assert_int_equal(w->b.nleases, 1);
	assert_int_equal(w->r.nleases, 1);
	check_counts(w);
	lease_free(l);
	lease_free(NULL);
	assert_null(w->b.leases);
	check_counts(w);
}

static void
freeing_leases_unlinks_them_from_the_middle_head_and_tail(void **state)
{
	struct world *w = *state;
	struct lease *l[4];
	struct lease *other = new_lease(w, &w->b, LEASE_READ);

	for (int i = 0; i < 4; i++) {
		l[i] = new_lease(w, &w->a, LEASE_READ);
		map_ok(w, l[i], (uint64_t)i, 1, LEASE_READ, 8);
	}
	map_ok(w, other, 0, 1, LEASE_READ, 8);
	/* Each lease can only end once its grants are back. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(lease_unmap_all(l[i]), 1);
	check_counts(w);

	/* Middle: l[1] sits between l[2] and l[0] whatever the list order. */
	lease_free(l[1]);
	check_counts(w);
	assert_int_equal(w->a.nleases, 3);
	for (struct lease *p = w->a.leases; p; p = p->ino_next)
		assert_ptr_not_equal(p, l[1]);
	/* Head. */
	lease_free(w->a.leases);
	check_counts(w);
	assert_int_equal(w->a.nleases, 2);
	assert_null(w->a.leases->ino_prev);
	/* Tail. */
	{
		struct lease *t = w->a.leases;

		while (t->ino_next)
			t = t->ino_next;
		lease_free(t);
	}
	check_counts(w);
	assert_int_equal(w->a.nleases, 1);
	assert_null(w->a.leases->ino_next);
	assert_null(w->a.leases->ino_prev);
	/* The last one. */
	lease_free(w->a.leases);
	assert_null(w->a.leases);
	assert_int_equal(w->a.nleases, 0);
	/* The other inode's lease and grant are untouched. */
	assert_ptr_equal(w->b.leases, other);
	assert_int_equal(other->ngrants, 1);
	assert_int_equal(w->r.pins, 1);
	assert_int_equal(w->r.nleases, 1);
	check_counts(w);
}

/* --- lease_map ----------------------------------------------------------- */

static void
a_4mib_file_aligned_to_512_pages_maps_as_two_2mib_folios(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->a, LEASE_WRITE);

	assert_int_equal(map_ok(w, l, 0, A_PAGES, LEASE_WRITE, 64), 2);
	assert_int_equal(l->grants[0].file_pg, 0);
	assert_int_equal(l->grants[0].region_pg, A_REGION_PG);
	assert_int_equal(l->grants[0].order, 9);
	assert_int_equal(l->grants[1].file_pg, 512);
	assert_int_equal(l->grants[1].region_pg, A_REGION_PG + 512);
	assert_int_equal(l->grants[1].order, 9);
	assert_int_equal(l->pages, A_PAGES);
	assert_int_equal(w->a.grants, 2);
	assert_int_equal(w->r.pins, 2);
}

static void
map_grants_the_maximal_tiling_of_every_range(void **state)
{
	static const uint32_t orders[] = {9, 4, 0};
	struct world *w = *state;

	rnd_seed("maximal tiling", UINT64_C(0x9e3779b97f4a7c15));
	for (size_t o = 0; o < 3; o++) {
		struct lease *la, *lb;

		/* max_order is fixed while grants exist; change it between
		 * rounds only. */
		w->sb.max_order = orders[o];
		la = new_lease(w, &w->a, LEASE_READ);
		lb = new_lease(w, &w->b, LEASE_READ);
		for (int i = 0; i < 300; i++) {
			/* Bounded, so checking every step stays cheap. */
			if (i % 10 == 0) {
				lease_unmap_all(la);
				lease_unmap_all(lb);
			}
			uint64_t pg = rnd_below(A_PAGES);
			uint64_t n = 1 + rnd_below(A_PAGES - pg);

			map_ok(w, la, pg, n, LEASE_READ, TILE_MAX);
			pg = rnd_below(B_HOLE_LO);
			n = 1 + rnd_below(B_HOLE_LO - pg);
			map_ok(w, lb, pg, n, LEASE_READ, TILE_MAX);
			pg = B_HOLE_HI + rnd_below(B_PAGES - B_HOLE_HI);
			n = 1 + rnd_below(B_PAGES - pg);
			map_ok(w, lb, pg, n, LEASE_READ, TILE_MAX);
		}
		lease_unmap_all(la);
		lease_unmap_all(lb);
		lease_free(la);
		lease_free(lb);
		check_counts(w);
	}
}

static void
b_before_its_hole_tiles_extent_by_extent(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->b, LEASE_READ);

	/* 37 single pages; [37, 737) climbs 37, 38 (1), 40 (3), 48 (4),
	 * 64 (6), 128 (7), 256 (8) and descends 512 (7), 640 (6), 704 (5),
	 * 736; [737, 987) has order <= 2: 737, 738 (1), 61 of order 2,
	 * 984 (1), 986. No folio spans two extents. */
	assert_int_equal(map_ok(w, l, 0, B_HOLE_LO, LEASE_READ, TILE_MAX),
			 37 + 11 + 65);
	assert_true(has_grant(l, 36, 0));
	assert_true(has_grant(l, 37, 0));
	assert_true(has_grant(l, 256, 8));
	assert_true(has_grant(l, 512, 7));
	assert_true(has_grant(l, 736, 0));
	assert_true(has_grant(l, 737, 0));
	assert_true(has_grant(l, 740, 2));
	assert_true(has_grant(l, 986, 0));
	/* Past the hole: 1000 (3), 1008 (4), 1024 (5), 1056 (3); then the
	 * offset 2^7 extent: 1064 (3), 1072 (4), 1088 (3), 1096 (2). */
	assert_int_equal(map_ok(w, l, B_HOLE_HI, B_PAGES - B_HOLE_HI,
				LEASE_READ, TILE_MAX),
			 8);
	assert_true(has_grant(l, 1056, 3));
	assert_true(has_grant(l, 1064, 3));
	assert_true(has_grant(l, 1096, 2));
}

static void
map_with_max_order_0_grants_only_single_pages(void **state)
{
	struct world *w = *state;
	struct lease *l;

	w->sb.max_order = 0;
	l = new_lease(w, &w->a, LEASE_READ);
	assert_int_equal(map_ok(w, l, 0, A_PAGES, LEASE_READ, TILE_MAX),
			 A_PAGES);
	for (size_t i = 0; i < l->ngrants; i++) {
		assert_int_equal(l->grants[i].order, 0);
		assert_int_equal(l->grants[i].file_pg, i);
	}
	/* With order 0 only the grant at the page itself reaches it. */
	assert_int_equal(lease_unmap(l, 100, 1), 1);
	assert_int_equal(lease_grants_from(l, 1000), 24);
	assert_int_equal(lease_unmap(l, 0, A_PAGES), A_PAGES - 1);
	check_counts(w);
}

static void
map_with_max_stops_early_and_returns_the_resume_page(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->b, LEASE_READ);
	struct grant out[4];
	uint64_t next = 0;

	/* [0, 37) is order 0: three grants end at page 3. */
	assert_int_equal(lease_map(l, 0, 700, LEASE_READ, out, 3, &next), 3);
	assert_int_equal(next, 3);
	assert_int_equal(l->ngrants, 3);
	assert_int_equal(l->pages, 3);
	check_counts(w);
	/* [512, 737) is 128 + 64 + 32 + 1 pages. Exactly as many folios
	 * as the range holds: done, pg + n. */
	assert_int_equal(lease_map(l, 512, 225, LEASE_READ, out, 4, &next), 4);
	assert_int_equal(next, 737);
	/* One fewer: stops before the last. */
	assert_int_equal(lease_map(l, 512, 225, LEASE_READ, out, 3, &next), 3);
	assert_int_equal(next, 736);
	/* A max that runs out right at an extent boundary resumes there. */
	assert_int_equal(lease_map(l, 30, 20, LEASE_READ, out, 4, &next), 4);
	assert_int_equal(next, 34);
	assert_int_equal(lease_map(l, 34, 20, LEASE_READ, out, 3, &next), 3);
	assert_int_equal(next, 37);
	check_counts(w);
	/* Every call is checked against the tiling by map_ok too. */
	map_ok(w, l, 0, B_HOLE_LO, LEASE_READ, 1);
	map_ok(w, l, 600, 300, LEASE_READ, 5);
	map_ok(w, l, 1001, 99, LEASE_READ, 2);
}

static void
resuming_from_the_returned_page_completes_the_same_tiling(void **state)
{
	static struct folio want[TILE_MAX];
	static struct grant out[TILE_MAX];
	struct world *w = *state;

	for (size_t max = 1; max <= 9; max++) {
		struct lease *l = new_lease(w, &w->b, LEASE_READ);
		size_t nwant = expect_tiling(&w->b, 9, 3, B_HOLE_LO - 3, want);
		uint64_t pg = 3, end = B_HOLE_LO;
		size_t got = 0;

		while (pg < end) {
			uint64_t next = 0;
			int k = lease_map(l, pg, end - pg, LEASE_READ, out, max,
					  &next);

			assert_true(k >= 1 && (size_t)k <= max);
			assert_true(next > pg && next <= end);
			for (int i = 0; i < k; i++) {
				assert_true(got < nwant);
				assert_int_equal(out[i].file_pg,
						 want[got].file_pg);
				assert_int_equal(out[i].order, want[got].order);
				got++;
			}
			pg = next;
			check_counts(w);
		}
		assert_int_equal(got, nwant);
		assert_int_equal(l->ngrants, nwant);
		assert_int_equal(l->pages, B_HOLE_LO - 3);
		lease_unmap_all(l);
		lease_free(l);
	}
}

static void
write_map_on_a_read_lease_is_refused_with_eacces(void **state)
{
	struct world *w = *state;
	struct lease *r = new_lease(w, &w->a, LEASE_READ);
	struct lease *rw = new_lease(w, &w->a, LEASE_WRITE);

	map_fails(w, r, 0, 1, LEASE_WRITE, 8, -EACCES);
	map_ok(w, r, 0, 1, LEASE_READ, 8);
	/* A write lease grants both. */
	map_ok(w, rw, 0, 16, LEASE_WRITE, 8);
	map_ok(w, rw, 0, 16, LEASE_READ, 8);
	assert_int_equal(rw->ngrants, 2);
	assert_int_equal(rw->grants[0].access | rw->grants[1].access,
			 LEASE_READ | LEASE_WRITE);
}

static void
map_past_the_allocated_pages_is_refused_with_enxio(void **state)
{
	struct world *w = *state;
	struct lease *la = new_lease(w, &w->a, LEASE_READ);
	struct lease *lb = new_lease(w, &w->b, LEASE_READ);

	map_fails(w, la, A_PAGES, 1, LEASE_READ, 8, -ENXIO);
	map_fails(w, la, A_PAGES - 1, 2, LEASE_READ, 8, -ENXIO);
	map_fails(w, la, 0, A_PAGES + 1, LEASE_READ, 8, -ENXIO);
	map_fails(w, la, UINT64_MAX, 1, LEASE_READ, 8, -ENXIO);
	/* pg + n wraps around. */
	map_fails(w, la, 5, UINT64_MAX, LEASE_READ, 8, -ENXIO);
	map_ok(w, la, A_PAGES - 1, 1, LEASE_READ, 8);
	/* b's last page is partly used by its size: it maps. */
	map_ok(w, lb, B_PAGES - 1, 1, LEASE_READ, 8);
	map_fails(w, lb, B_PAGES - 1, 2, LEASE_READ, 8, -ENXIO);
}

static void
map_past_the_size_is_refused_even_where_extents_remain(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->a, LEASE_READ);

	/* A shrink in progress: the size is down, the blocks still there. */
	w->a.size = 512 * PM_PAGE_SIZE;
	map_fails(w, l, 511, 2, LEASE_READ, 8, -ENXIO);
	map_ok(w, l, 0, 512, LEASE_READ, 8);
}

static void
map_across_a_hole_is_refused_with_enxio(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->b, LEASE_READ);

	map_fails(w, l, B_HOLE_LO - 1, 2, LEASE_READ, 8, -ENXIO);
	map_fails(w, l, B_HOLE_LO, 1, LEASE_READ, 8, -ENXIO);
	map_fails(w, l, B_HOLE_HI - 1, 1, LEASE_READ, 8, -ENXIO);
	map_fails(w, l, 0, B_PAGES, LEASE_READ, TILE_MAX, -ENXIO);
	map_ok(w, l, B_HOLE_LO - 1, 1, LEASE_READ, 8);
	map_ok(w, l, B_HOLE_HI, 1, LEASE_READ, 8);
}

static void
map_of_zero_pages_is_refused_with_einval(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->a, LEASE_WRITE);

	map_fails(w, l, 0, 0, LEASE_READ, 8, -EINVAL);
	map_fails(w, l, A_PAGES, 0, LEASE_READ, 8, -EINVAL);
}

static void
map_on_a_revoking_lease_is_refused_with_ebusy(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->a, LEASE_WRITE);
	struct lease *other = new_lease(w, &w->a, LEASE_WRITE);

	map_ok(w, l, 0, 8, LEASE_READ, 8);
	l->revoking = true;
	map_fails(w, l, 0, 1, LEASE_READ, 8, -EBUSY);
	map_fails(w, l, 600, 10, LEASE_WRITE, 8, -EBUSY);
	/* Only that lease: another on the same file still maps. */
	map_ok(w, other, 0, 1, LEASE_READ, 8);
	/* Its grants can still come back. */
	assert_int_equal(lease_unmap(l, 0, 8), 1);
	check_counts(w);
}

static void
map_on_a_detaching_region_is_refused_with_ebusy(void **state)
{
	struct world *w = *state;
	struct lease *la = new_lease(w, &w->a, LEASE_WRITE);
	struct lease *lb = new_lease(w, &w->b, LEASE_READ);

	w->r.detaching = true;
	map_fails(w, la, 0, 1, LEASE_READ, 8, -EBUSY);
	map_fails(w, lb, 0, 1, LEASE_READ, 8, -EBUSY);
	w->r.detaching = false;
	map_ok(w, la, 0, 1, LEASE_READ, 8);
}

static void
map_below_a_pending_truncate_works_but_reaching_it_is_ebusy(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->a, LEASE_WRITE);

	w->a.trunc_pg = 512;
	map_fails(w, l, 0, 513, LEASE_READ, 8, -EBUSY);
	map_fails(w, l, 512, 1, LEASE_READ, 8, -EBUSY);
	map_fails(w, l, 511, 2, LEASE_WRITE, 8, -EBUSY);
	map_fails(w, l, 1000, 24, LEASE_READ, 8, -EBUSY);
	/* Wholly below: fine, up to the page before trunc_pg. */
	assert_int_equal(map_ok(w, l, 0, 512, LEASE_WRITE, 8), 1);
	map_ok(w, l, 511, 1, LEASE_READ, 8);
	/* Truncate to zero pages: nothing maps. */
	w->a.trunc_pg = 0;
	map_fails(w, l, 0, 1, LEASE_READ, 8, -EBUSY);
	w->a.trunc_pg = UINT64_MAX;
	map_ok(w, l, 512, 512, LEASE_READ, 8);
}

static void
mapping_a_range_twice_grants_it_twice(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->a, LEASE_READ);
	struct lease *m = new_lease(w, &w->a, LEASE_READ);

	map_ok(w, l, 0, A_PAGES, LEASE_READ, 8);
	map_ok(w, l, 0, A_PAGES, LEASE_READ, 8);
	assert_int_equal(l->ngrants, 4);
	assert_int_equal(l->pages, 2 * A_PAGES);
	assert_int_equal(grants_at(l, 700), 2);
	map_ok(w, m, 512, 512, LEASE_READ, 8);
	assert_int_equal(w->a.grants, 5);
	assert_int_equal(w->r.pins, 5);
	/* Both copies of an overlapped range come back together. */
	assert_int_equal(lease_unmap(l, 700, 1), 2);
	assert_int_equal(grants_at(l, 700), 0);
	assert_int_equal(grants_at(l, 0), 2);
	assert_int_equal(w->r.pins, 3);
	check_counts(w);
}

static void
out_of_order_maps_keep_the_grants_sorted(void **state)
{
	static const uint64_t starts[] = {900, 5,   600, 0,   1050, 37,
					  300, 899, 1,	 980, 512,  36};
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->b, LEASE_READ);
	size_t total = 0;

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		uint64_t n = starts[i] < B_HOLE_LO ? B_HOLE_LO - starts[i]
						   : B_PAGES - starts[i];

		if (n > 7)
			n = 7;
		total += (size_t)map_ok(w, l, starts[i], n, LEASE_READ, 4);
	}
	assert_int_equal(l->ngrants, total);
	/* Sortedness is checked by map_ok for every step; the order-0
	 * prefix of b pins down the exact sequence there. */
	assert_int_equal(l->grants[0].file_pg, 0);
	assert_int_equal(l->grants[1].file_pg, 1);
	assert_int_equal(l->grants[2].file_pg, 1);
	assert_int_equal(l->grants[l->ngrants - 1].file_pg, 1056);
	/* Sorted insertion of many batches in reverse. */
	for (uint64_t pg = 980; pg >= 10; pg -= 10)
		map_ok(w, l, pg, 3, LEASE_READ, 8);
}

/* --- lease_unmap --------------------------------------------------------- */

static void
unmap_returns_grants_meeting_the_range_and_keeps_the_rest(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->a, LEASE_READ);

	/* [0, 512) order 9, then 520, 600 (order 3), 300 (order 2). */
	map_ok(w, l, 0, 512, LEASE_READ, 8);
	map_ok(w, l, 520, 8, LEASE_READ, 8);
	map_ok(w, l, 600, 8, LEASE_READ, 8);
	map_ok(w, l, 300, 4, LEASE_READ, 8);
	assert_int_equal(l->ngrants, 4);

	/* Nothing there. */
	assert_int_equal(lease_unmap(l, 512, 8), 0);
	assert_int_equal(lease_unmap(l, 608, 400), 0);
	assert_int_equal(l->ngrants, 4);
	/* The big folio starts before the range; the order 2 grant at 300
	 * lies between it and the range and stays. */
	assert_int_equal(lease_unmap(l, 400, 1), 1);
	assert_false(has_grant(l, 0, 9));
	assert_true(has_grant(l, 300, 2));
	assert_int_equal(l->pages, 4 + 8 + 8);
	check_counts(w);
	/* A range touching the last page of one and the first of another. */
	assert_int_equal(lease_unmap(l, 527, 74), 2);
	assert_true(has_grant(l, 300, 2));
	assert_int_equal(l->ngrants, 1);
	assert_int_equal(l->pages, 4);
	check_counts(w);
}

static void
unmap_is_idempotent(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->b, LEASE_READ);

	map_ok(w, l, 0, B_HOLE_LO, LEASE_READ, TILE_MAX);
	map_ok(w, l, B_HOLE_HI, B_PAGES - B_HOLE_HI, LEASE_READ, TILE_MAX);
	size_t before = l->ngrants;
	/* [100, 700) meets 64 (6), 128 (7), 256 (8), 512 (7), 640 (6):
	 * whole folios come back, so pages 64..703 are free after. */
	uint64_t k = lease_unmap(l, 100, 600);

	assert_int_equal(k, 5);
	assert_int_equal(l->ngrants, before - k);
	check_counts(w);
	assert_int_equal(lease_unmap(l, 100, 600), 0);
	assert_int_equal(lease_unmap(l, 200, 10), 0);
	assert_int_equal(l->ngrants, before - k);
	check_counts(w);
	for (uint64_t pg = 64; pg < 704; pg++)
		assert_int_equal(grants_at(l, pg), 0);
	assert_int_equal(grants_at(l, 63), 1);
	assert_int_equal(grants_at(l, 704), 1);
}

static void
unmap_of_an_empty_range_returns_nothing(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->a, LEASE_READ);

	map_ok(w, l, 0, A_PAGES, LEASE_READ, 8);
	/* Inside a folio, at its start, at the file end: all empty. */
	assert_int_equal(lease_unmap(l, 100, 0), 0);
	assert_int_equal(lease_unmap(l, 512, 0), 0);
	assert_int_equal(lease_unmap(l, A_PAGES, 0), 0);
	assert_int_equal(l->ngrants, 2);
	check_counts(w);
}

static void
unmap_whose_end_wraps_takes_everything_from_pg(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->a, LEASE_READ);

	map_ok(w, l, 0, A_PAGES, LEASE_READ, 8);
	map_ok(w, l, 0, 256, LEASE_READ, 8);
	/* pg + n wraps: the range runs to the end. */
	assert_int_equal(lease_unmap(l, 600, UINT64_MAX), 1);
	assert_int_equal(lease_unmap(l, 1, UINT64_MAX - 1), 2);
	assert_int_equal(l->ngrants, 0);
	assert_int_equal(l->pages, 0);
	check_counts(w);
}

static void
unmap_all_returns_every_grant_and_zeroes_the_counts(void **state)
{
	struct world *w = *state;
	struct lease *l = new_lease(w, &w->b, LEASE_WRITE);
	struct lease *m = new_lease(w, &w->b, LEASE_READ);
	uint64_t k;

	assert_int_equal(lease_unmap_all(l), 0);
	/* Enough grants to grow the array past its shrink threshold. */
	for (int i = 0; i < 3; i++)
		map_ok(w, l, 0, B_HOLE_LO, LEASE_WRITE, TILE_MAX);
	map_ok(w, m, 0, 37, LEASE_READ, TILE_MAX);
	k = l->ngrants;
	assert_true(l->cap > 64);
	assert_int_equal(lease_unmap_all(l), k);
	assert_int_equal(l->ngrants, 0);
	assert_int_equal(l->pages, 0);
	assert_int_equal(w->b.grants, 37);
	assert_int_equal(w->r.pins, 37);
	check_counts(w);
	assert_int_equal(lease_unmap_all(l), 0);
	/* The lease works after giving memory back. */
	map_ok(w, l, 0, B_HOLE_LO, LEASE_WRITE, TILE_MAX);
	k = l->ngrants;
	assert_int_equal(k, 37 + 11 + 65);
	assert_int_equal(lease_unmap(l, 0, B_HOLE_LO), k);
	check_counts(w);
}

/* --- lease_grants_from / inode_grants_from -------------------------------- */

static uint64_t
brute_from(const struct lease *l, uint64_t pg)
{
	uint64_t k = 0;

	for (size_t i = 0; i < l->ngrants; i++)
		k += l->grants[i].file_pg +
			     (UINT64_C(1) << l->grants[i].order) >
		     pg;
	return k;
}

static void
grants_from_counts_grants_reaching_a_page_across_leases(void **state)
{
	struct world *w = *state;
	struct lease *l1 = new_lease(w, &w->a, LEASE_READ);
	struct lease *l2 = new_lease(w, &w->a, LEASE_WRITE);
	struct lease *l3 = new_lease(w, &w->a, LEASE_READ);
	struct lease *lb = new_lease(w, &w->b, LEASE_READ);

	assert_int_equal(inode_grants_from(&w->a, 0), 0);
	map_ok(w, l1, 0, A_PAGES, LEASE_READ, 8); /* 0 (9), 512 (9) */
	map_ok(w, l2, 100, 10, LEASE_READ, 8);	/* 100 (2), 104 (2), 108 (1) */
	map_ok(w, l2, 1020, 4, LEASE_WRITE, 8); /* 1020 (2) */
	map_ok(w, lb, 0, 37, LEASE_READ, TILE_MAX);

	assert_int_equal(lease_grants_from(l1, 0), 2);
	assert_int_equal(lease_grants_from(l1, 511), 2);
	assert_int_equal(lease_grants_from(l1, 512), 1);
	assert_int_equal(lease_grants_from(l1, 1023), 1);
	assert_int_equal(lease_grants_from(l1, 1024), 0);
	assert_int_equal(lease_grants_from(l2, 103), 4);
	assert_int_equal(lease_grants_from(l2, 104), 3);
	assert_int_equal(lease_grants_from(l2, 110), 1);
	assert_int_equal(lease_grants_from(l3, 0), 0);
	assert_int_equal(inode_grants_from(&w->a, 0), 6);
	assert_int_equal(inode_grants_from(&w->a, 105), 5);
	assert_int_equal(inode_grants_from(&w->a, 600), 2);
	assert_int_equal(inode_grants_from(&w->a, 1023), 2);
	assert_int_equal(inode_grants_from(&w->a, 1024), 0);
	assert_int_equal(inode_grants_from(&w->a, UINT64_MAX), 0);
	/* b's grants do not count for a, nor a's for b. */
	assert_int_equal(inode_grants_from(&w->b, 0), 37);
	assert_int_equal(inode_grants_from(&w->b, 36), 1);
	for (uint64_t pg = 0; pg <= A_PAGES; pg++)
		assert_int_equal(inode_grants_from(&w->a, pg),
				 brute_from(l1, pg) + brute_from(l2, pg) +
					 brute_from(l3, pg));
}

/* --- the model ----------------------------------------------------------- */

#define MODEL_LEASES 5
#define MODEL_STEPS 20000
#define MODEL_MAX_GRANTS 3000

/* What a model run went through, so it cannot pass by doing nothing. */
struct tally {
	uint64_t maps, cut_short, einval, eacces, enxio, ebusy;
	uint64_t unmaps, unmapped, unmap_all, ended;
};

/* The model: per lease slot, the list of grants it should hold, in no
 * particular order. Every operation is applied to both and compared. */
struct slot {
	struct lease *l; /* NULL while ended */
	struct inode *ino;
	enum lease_access access;
	struct grant *v;
	size_t n, cap;
};

static int
grant_cmp(const void *pa, const void *pb)
{
	const struct grant *a = pa, *b = pb;

	if (a->file_pg != b->file_pg)
		return a->file_pg < b->file_pg ? -1 : 1;
	if (a->order != b->order)
		return a->order < b->order ? -1 : 1;
	if (a->region_pg != b->region_pg)
		return a->region_pg < b->region_pg ? -1 : 1;
	if (a->access != b->access)
		return a->access < b->access ? -1 : 1;
	return 0;
}

static void
slot_push(struct slot *s, const struct grant *g)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		assert_non_null(s->v);
	}
	s->v[s->n++] = *g;
}

/* slot_remove -- drop the model grants intersecting [pg, end). */
static uint64_t
slot_remove(struct slot *s, uint64_t pg, uint64_t end)
{
	size_t w = 0, k = 0;

	if (pg >= end)
		return 0; /* an empty range meets nothing */
	for (size_t i = 0; i < s->n; i++) {
		const struct grant *g = &s->v[i];
		uint64_t gend = g->file_pg + (UINT64_C(1) << g->order);

		if (g->file_pg < end && gend > pg)
			k++;
		else
			s->v[w++] = *g;
	}
	s->n = w;
	return k;
}

static void
slot_compare(const struct slot *s)
{
	static struct grant tmp[MODEL_MAX_GRANTS + TILE_MAX];

	if (s->l == NULL) {
		assert_int_equal(s->n, 0);
		return;
	}
	assert_int_equal(s->l->ngrants, s->n);
	assert_int_equal(s->l->access, s->access);
	assert_ptr_equal(s->l->ino, s->ino);
	if (s->n == 0)
		return; /* grants may be NULL: no memcpy or qsort from it */
	memcpy(tmp, s->l->grants, s->n * sizeof(*tmp));
	qsort(tmp, s->n, sizeof(*tmp), grant_cmp);
	qsort(s->v, s->n, sizeof(*s->v), grant_cmp);
	for (size_t i = 0; i < s->n; i++)
		assert_int_equal(grant_cmp(&tmp[i], &s->v[i]), 0);
}

static uint64_t
slot_from(const struct slot *s, uint64_t pg)
{
	uint64_t k = 0;

	for (size_t i = 0; i < s->n; i++)
		k += s->v[i].file_pg + (UINT64_C(1) << s->v[i].order) > pg;
	return k;
}

/* Does every page of [pg, pg + n) lie inside @ino's size and extents? */
static bool
model_mapped(const struct inode *ino, uint64_t pg, uint64_t n)
{
	uint64_t end = pg + n;
	uint64_t pages = (ino->size + PM_PAGE_SIZE - 1) / PM_PAGE_SIZE;

	if (end < pg || end > pages)
		return false;
	while (pg < end) {
		const struct extent *e = NULL;

		for (size_t i = 0; i < ino->map.n; i++)
			if (pg >= ino->map.v[i].file_pg &&
			    pg - ino->map.v[i].file_pg < ino->map.v[i].npages)
				e = &ino->map.v[i];
		if (e == NULL)
			return false;
		pg = e->file_pg + e->npages;
	}
	return true;
}

static void
slot_open(struct world *w, struct slot *s, uint64_t id)
{
	struct lease *l = NULL;
	int rv;

	s->ino = rnd_below(2) ? &w->a : &w->b;
	s->access = rnd_below(2) ? LEASE_READ : LEASE_WRITE;
	rv = lease_new(&w->r, s->ino, s, s->access, id, &l);
	if (w->r.detaching) {
		assert_int_equal(rv, -EBUSY);
		assert_null(l);
		s->l = NULL;
		return;
	}
	assert_int_equal(rv, 0);
	s->l = l;
}

static void
model_map(struct world *w, struct slot *s, struct tally *t)
{
	static struct folio want[TILE_MAX];
	static struct grant out[TILE_MAX];
	uint64_t pages = (s->ino->size + PM_PAGE_SIZE - 1) / PM_PAGE_SIZE;
	uint64_t pg, n, next = 0xdeadbeef;
	enum lease_access access = s->access;
	size_t max, nwant, k;
	bool einval, eacces, enxio, ebusy;
	int rv;

	/* Now and then a write on a read lease, or a read on a write one. */
	if (rnd_below(6) == 0)
		access = access == LEASE_READ ? LEASE_WRITE : LEASE_READ;
	/* Mostly valid ranges, sometimes past the end or over b's hole. */
	pg = rnd_below(8) == 0 ? rnd_below(pages + 16) : rnd_below(pages);
	switch (rnd_below(6)) {
	case 0:
		n = rnd_below(4); /* 0 now and then */
		break;
	case 1:
	case 2:
		n = 1 + rnd_below(64);
		break;
	case 3:
		n = 1 + rnd_below(pages + 8);
		break;
	default:
		n = pg < pages ? 1 + rnd_below(pages - pg) : 1;
		break;
	}
	switch (rnd_below(4)) {
	case 0:
		max = 1 + (size_t)rnd_below(3);
		break;
	case 1:
		max = SIZE_MAX;
		break;
	default:
		max = 1 + (size_t)rnd_below(64);
		break;
	}

	einval = n == 0;
	eacces = access > s->access;
	enxio = !einval && !model_mapped(s->ino, pg, n);
	ebusy = s->l->revoking || w->r.detaching || pg + n > s->ino->trunc_pg;
	rv = lease_map(s->l, pg, n, access, out, max, &next);
	if (einval || eacces || enxio || ebusy) {
		assert_true((rv == -EINVAL && einval) ||
			    (rv == -EACCES && eacces) ||
			    (rv == -ENXIO && enxio) || (rv == -EBUSY && ebusy));
		assert_int_equal(next, 0xdeadbeef);
		t->einval += rv == -EINVAL;
		t->eacces += rv == -EACCES;
		t->enxio += rv == -ENXIO;
		t->ebusy += rv == -EBUSY;
		return;
	}
	nwant = expect_tiling(s->ino, w->sb.max_order, pg, n, want);
	k = nwant < max ? nwant : max;
	assert_int_equal(rv, k);
	assert_int_equal(next, k < nwant ? want[k].file_pg : pg + n);
	t->maps++;
	t->cut_short += k < nwant;
	for (size_t i = 0; i < k; i++) {
		struct grant g = {
			.file_pg = want[i].file_pg,
			.region_pg = want[i].region_pg,
			.order = want[i].order,
			.access = access,
		};

		assert_int_equal(grant_cmp(&out[i], &g), 0);
		slot_push(s, &g);
	}
}

static void
model_unmap(struct slot *s, struct tally *t)
{
	uint64_t pages = (s->ino->size + PM_PAGE_SIZE - 1) / PM_PAGE_SIZE;
	uint64_t pg = rnd_below(pages + 8), n, end, k;

	switch (rnd_below(5)) {
	case 0:
		n = rnd_below(3); /* 0 now and then */
		break;
	case 1:
		n = UINT64_MAX - rnd_below(4); /* wraps: to the end */
		break;
	default:
		n = 1 + rnd_below(128);
		break;
	}
	end = pg + n < pg ? UINT64_MAX : pg + n;
	k = slot_remove(s, pg, end);
	assert_int_equal(lease_unmap(s->l, pg, n), k);
	t->unmaps++;
	t->unmapped += k;
}

static void
run_model(struct world *w, uint32_t max_order, uint64_t seed)
{
	struct slot slots[MODEL_LEASES];
	struct tally t = {0};
	uint64_t id = 1;

	rnd_seed("model", seed);
	w->sb.max_order = max_order;
	memset(slots, 0, sizeof(slots));
	for (size_t i = 0; i < MODEL_LEASES; i++)
		slot_open(w, &slots[i], id++);

	for (int step = 0; step < MODEL_STEPS; step++) {
		struct slot *s = &slots[rnd_below(MODEL_LEASES)];
		uint64_t op = rnd_below(100), total = 0;

		if (w->r.detaching && rnd_below(8) == 0) {
			/* A detach is short-lived here, or every slot would
			 * end up empty with no way to reopen. */
			w->r.detaching = false;
		} else if (s->l == NULL) {
			slot_open(w, s, id++);
		} else if (s->l->revoking && rnd_below(4) == 0) {
			s->l->revoking = false;
		} else if (op < 45) {
			model_map(w, s, &t);
		} else if (op < 80) {
			model_unmap(s, &t);
		} else if (op < 84) {
			assert_int_equal(lease_unmap_all(s->l), s->n);
			s->n = 0;
			t.unmap_all++;
		} else if (op < 87) {
			s->l->revoking = true;
		} else if (op < 94) {
			struct inode *ino = rnd_below(2) ? &w->a : &w->b;

			ino->trunc_pg = rnd_below(3) ? UINT64_MAX
						     : rnd_below(B_PAGES + 1);
		} else if (op < 96) {
			w->r.detaching = true;
		} else {
			/* End the lease (after its grants come back) and
			 * open another in its slot. */
			assert_int_equal(lease_unmap_all(s->l), s->n);
			s->n = 0;
			lease_free(s->l);
			s->l = NULL;
			slot_open(w, s, id++);
			t.ended++;
		}

		check_counts(w);
		for (size_t i = 0; i < MODEL_LEASES; i++) {
			slot_compare(&slots[i]);
			total += slots[i].n;
		}
		/* grants_from at a random page, per lease and per inode. */
		{
			uint64_t pg = rnd_below(B_PAGES + 1), a = 0, b = 0;

			for (size_t i = 0; i < MODEL_LEASES; i++) {
				struct slot *o = &slots[i];
				uint64_t k;

				if (o->l == NULL)
					continue;
				k = slot_from(o, pg);
				assert_int_equal(lease_grants_from(o->l, pg),
						 k);
				if (o->ino == &w->a)
					a += k;
				else
					b += k;
			}
			assert_int_equal(inode_grants_from(&w->a, pg), a);
			assert_int_equal(inode_grants_from(&w->b, pg), b);
		}
		/* Keep the model small enough to compare at every step. */
		if (total > MODEL_MAX_GRANTS) {
			for (size_t i = 0; i < MODEL_LEASES; i++) {
				if (slots[i].l)
					assert_int_equal(
						lease_unmap_all(slots[i].l),
						slots[i].n);
				slots[i].n = 0;
			}
			check_counts(w);
		}
	}

	w->r.detaching = false;
	w->a.trunc_pg = UINT64_MAX;
	w->b.trunc_pg = UINT64_MAX;
	for (size_t i = 0; i < MODEL_LEASES; i++) {
		if (slots[i].l) {
			assert_int_equal(lease_unmap_all(slots[i].l),
					 slots[i].n);
			lease_free(slots[i].l);
		}
		free(slots[i].v);
	}
	check_counts(w);
	assert_int_equal(w->r.pins, 0);
	assert_int_equal(w->r.nleases, 0);

	assert_true(t.maps > MODEL_STEPS / 8);
	assert_true(t.cut_short > 0);
	assert_true(t.einval > 0 && t.eacces > 0);
	assert_true(t.enxio > 0 && t.ebusy > 0);
	assert_true(t.unmaps > MODEL_STEPS / 8);
	assert_true(t.unmapped > t.unmaps / 4);
	assert_true(t.unmap_all > 0 && t.ended > 0);
}

static void
random_operations_match_the_model_with_max_order_9(void **state)
{
	run_model(*state, 9, UINT64_C(0x9e3779b97f4a7c15));
}

static void
random_operations_match_the_model_with_max_order_2(void **state)
{
	run_model(*state, 2, UINT64_C(0x243f6a8885a308d3));
}

static void
random_operations_match_the_model_with_max_order_0(void **state)
{
	run_model(*state, 0, UINT64_C(0x13198a2e03707344));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* ---- pin tables (I6) ------------------------------------------------------ */

/* pin_dir -- a temporary directory for pin tables (tmpfs when @mount and
 * root: 64 KiB); its fd. */
static int
pin_dir(char *dir, size_t len, bool mount_tmpfs, bool *mounted)
{
	int fd;

	snprintf(dir, len, "/dev/shm/pm-lease-pins-XXXXXX");
	assert_non_null(mkdtemp(dir));
	*mounted = mount_tmpfs && geteuid() == 0 &&
		   mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700") == 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	return fd;
}

static void
pin_dir_done(const char *dir, int fd, bool mounted)
{
	close(fd);
	if (mounted)
		umount(dir);
	rmdir(dir);
}

static void
grants_are_pinned_before_they_are_returned_and_unpinned_with_them(void **state)
{
	struct world *w = *state;
	struct pintab_holder h = {.pid = 1, .start_time = 1, .token = 1};
	static struct grant out[TILE_MAX];
	struct lease *l = new_lease(w, &w->b, LEASE_WRITE);
	struct pin_rec rec;
	struct pintab *t;
	char dir[64];
	bool mounted;
	uint64_t next;
	int fd = pin_dir(dir, sizeof(dir), false, &mounted), k;

	assert_int_equal(pintab_create(fd, &h, 4, &t), 0);
	l->pins = t;
	k = lease_map(l, 0, 737, LEASE_WRITE, out, TILE_MAX, &next);
	assert_true(k > 4); /* the table grew */
	assert_int_equal(pintab_count(t), (uint32_t)k);
	for (int i = 0; i < k; i++) {
		assert_true(pintab_get(t, out[i].slot, &rec));
		assert_int_equal(rec.kind, PIN_GRANT);
		assert_int_equal(rec.lease_id, l->id);
		assert_int_equal(rec.file_pg, out[i].file_pg);
		assert_int_equal(rec.region_pg, out[i].region_pg);
		assert_int_equal(rec.order, out[i].order);
	}
	assert_int_equal(lease_unmap(l, 0, 37), 37);
	assert_int_equal(pintab_count(t), (uint32_t)k - 37);
	lease_unmap_all(l);
	assert_int_equal(pintab_count(t), 0);

	/* A restore checks a grant against the extents. */
	{
		struct grant g = {.file_pg = 37, .region_pg = 8192 + 37,
				  .order = 0, .access = LEASE_READ, .slot = 9};
		uint64_t pins = w->r.pins;

		g.region_pg++;
		assert_int_equal(lease_restore_grant(l, &g), -EUCLEAN);
		g.region_pg--;
		g.order = 9; /* not aligned in the file */
		assert_int_equal(lease_restore_grant(l, &g), -EUCLEAN);
		g.order = 0;
		assert_int_equal(lease_restore_grant(l, &g), 0);
		assert_int_equal(w->r.pins, pins + 1);
		assert_int_equal(w->b.grants, 1);
		assert_int_equal(l->grants[0].slot, 9);
		l->pins = NULL; /* slot 9 was never written */
		lease_unmap_all(l);
	}
	pintab_remove(t);
	pin_dir_done(dir, fd, mounted);
}

/* restore_from -- what a restarted daemon does with @l's grants: drop
 * them from memory (the pin table keeps them) and put them back from the
 * table's records, without words. */
static void
restore_from(struct lease *l, struct pintab *t)
{
	struct pin_rec rec;

	l->pins = NULL;
	lease_unmap_all(l);
	l->words = NULL;
	l->pins = t;
	for (uint32_t s = 0; s < pintab_slots(t); s++) {
		struct grant g;

		if (!pintab_get(t, s, &rec) || rec.kind != PIN_GRANT)
			continue;
		g = (struct grant){.file_pg = rec.file_pg,
				   .region_pg = rec.region_pg,
				   .order = (uint8_t)rec.order,
				   .access = (uint8_t)rec.access,
				   .slot = s};
		assert_int_equal(lease_restore_grant(l, &g), 0);
	}
}

static void
restored_grants_take_back_the_words_their_records_name(void **state)
{
	struct world *w = *state;
	struct pintab_holder h = {.pid = 3, .start_time = 3, .token = 3};
	static struct grant out[TILE_MAX];
	struct lease *l = new_lease(w, &w->b, LEASE_WRITE);
	struct gtable *x, *y;
	struct pintab *t;
	struct pin_rec rec;
	uint32_t gen[8];
	char dir[64];
	bool mounted;
	uint64_t next, id;
	int fd = pin_dir(dir, sizeof(dir), false, &mounted), k, keep;

	assert_int_equal(pintab_create(fd, &h, 4, &t), 0);
	assert_int_equal(gtable_new(64, &x), 0);
	l->pins = t;
	l->words = x;
	k = lease_map_words(l, 0, 8, LEASE_WRITE, out, 8, &next);
	assert_true(k > 1 && k <= 8);
	for (int i = 0; i < k; i++) {
		assert_true(out[i].gen != 0);
		assert_true(pintab_get(t, out[i].slot, &rec));
		assert_int_equal(rec.wslot, out[i].wslot);
		assert_int_equal(rec.wgen, out[i].gen);
		assert_int_equal(rec.words_id, x->id);
		gen[i] = out[i].gen;
	}
	/* The holder maps the first; the daemon dies; the holder keeps the
	 * memfd. */
	assert_int_equal(gword_map_begin(gtable_word(x, out[0].wslot), gen[0]),
			 GWORD_MAP_OK);
	keep = dup(x->fd);
	id = x->id;
	restore_from(l, t);
	gtable_free(x);
	for (size_t i = 0; i < l->ngrants; i++)
		assert_int_equal(l->grants[i].gen, 0);

	/* A table under another id is not the one the records name. */
	assert_int_equal(gtable_adopt(dup(keep), 64, id + 1, &y), 0);
	assert_int_equal(lease_adopt_words(l, y), 0);
	gtable_claimed(y);
	lease_drop_words(l);
	gtable_free(y);

	/* The right one: every grant has its word back, the mapped one
	 * too; the daemon takes the cached ones alone. */
	assert_int_equal(gtable_adopt(keep, 64, id, &y), 0);
	assert_int_equal(lease_adopt_words(l, y), k);
	gtable_claimed(y);
	assert_ptr_equal(l->words, y);
	for (size_t i = 0; i < l->ngrants; i++)
		assert_true(l->grants[i].gen != 0);
	assert_int_equal(y->used, (uint32_t)k);
	assert_int_equal(lease_take_back(l, 0, 8, &next), 1);
	assert_int_equal(next, (uint64_t)k - 1);
	lease_unmap_all(l);
	assert_int_equal(pintab_count(t), 0);
	assert_int_equal(y->used, 0);
	gtable_free(y);
	pintab_remove(t);
	pin_dir_done(dir, fd, mounted);
}

static void
a_full_pin_table_refuses_a_map_with_nothing_granted(void **state)
{
	struct world *w = *state;
	struct pintab_holder h = {.pid = 2, .start_time = 2, .token = 2};
	struct pin_rec filler = {.kind = PIN_GRANT, .lease_id = 99};
	static struct grant out[TILE_MAX];
	struct lease *l = new_lease(w, &w->b, LEASE_WRITE);
	struct pintab *t;
	char dir[64];
	bool mounted;
	uint64_t next, pins = w->r.pins;
	uint32_t used;
	int fd = pin_dir(dir, sizeof(dir), true, &mounted);

	if (!mounted) {
		pin_dir_done(dir, fd, mounted);
		skip();
	}
	assert_int_equal(pintab_create(fd, &h, 16, &t), 0);
	while (pintab_add(t, &filler) >= 0)
		;
	/* Room for a few: free 3 slots, then ask for many folios. */
	pintab_del(t, 0);
	pintab_del(t, 1);
	pintab_del(t, 2);
	used = pintab_count(t);
	l->pins = t;
	assert_int_equal(lease_map(l, 0, 737, LEASE_WRITE, out, TILE_MAX,
				   &next),
			 -ENOSPC);
	assert_int_equal(l->ngrants, 0);
	assert_int_equal(w->r.pins, pins);
	assert_int_equal(w->b.grants, 0);
	assert_int_equal(pintab_count(t), used);
	/* A map that fits still works. */
	assert_int_equal(lease_map(l, 0, 1, LEASE_WRITE, out, TILE_MAX, &next),
			 1);
	lease_unmap_all(l);
	l->pins = NULL;
	pintab_remove(t);
	pin_dir_done(dir, fd, mounted);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(lease_on_an_orphan_is_refused_with_enoent),
		T(grants_are_pinned_before_they_are_returned_and_unpinned_with_them),
		T(restored_grants_take_back_the_words_their_records_name),
		T(a_full_pin_table_refuses_a_map_with_nothing_granted),
		T(lease_on_a_detaching_region_is_refused_with_ebusy),
		T(new_lease_records_its_owner_access_and_id_and_is_counted),
		T(freeing_leases_unlinks_them_from_the_middle_head_and_tail),
		T(a_4mib_file_aligned_to_512_pages_maps_as_two_2mib_folios),
		T(map_grants_the_maximal_tiling_of_every_range),
		T(b_before_its_hole_tiles_extent_by_extent),
		T(map_with_max_order_0_grants_only_single_pages),
		T(map_with_max_stops_early_and_returns_the_resume_page),
		T(resuming_from_the_returned_page_completes_the_same_tiling),
		T(write_map_on_a_read_lease_is_refused_with_eacces),
		T(map_past_the_allocated_pages_is_refused_with_enxio),
		T(map_past_the_size_is_refused_even_where_extents_remain),
		T(map_across_a_hole_is_refused_with_enxio),
		T(map_of_zero_pages_is_refused_with_einval),
		T(map_on_a_revoking_lease_is_refused_with_ebusy),
		T(map_on_a_detaching_region_is_refused_with_ebusy),
		T(map_below_a_pending_truncate_works_but_reaching_it_is_ebusy),
		T(mapping_a_range_twice_grants_it_twice),
		T(out_of_order_maps_keep_the_grants_sorted),
		T(unmap_returns_grants_meeting_the_range_and_keeps_the_rest),
		T(unmap_is_idempotent),
		T(unmap_of_an_empty_range_returns_nothing),
		T(unmap_whose_end_wraps_takes_everything_from_pg),
		T(unmap_all_returns_every_grant_and_zeroes_the_counts),
		T(grants_from_counts_grants_reaching_a_page_across_leases),
		T(random_operations_match_the_model_with_max_order_9),
		T(random_operations_match_the_model_with_max_order_2),
		T(random_operations_match_the_model_with_max_order_0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* folio.c -- folio tiling arithmetic: the fewest aligned folios for a range. */
#include "folio.h"

/*
 * Why the greedy tiling is the minimum (I8).
 *
 * Inside one extent the region page is r = f + d for a fixed d, so an order
 * k folio at file page f is aligned in both spaces iff 2^k divides f and d.
 * With M = min(ctz(d), max_order) the question becomes the classic one of
 * cutting [a, b) into naturally aligned blocks of order <= M. A fewest-
 * pieces tiling never holds a block of order j < M whose parent block (the
 * aligned 2^(j+1) block containing it) lies inside [a, b): the parent would
 * replace it and the one or more pieces tiling its buddy. So it consists
 * of the maximal aligned blocks of the range, a unique partition, and the
 * greedy walk (at each step the largest aligned block that still fits)
 * yields exactly those: climbing from a through the set bits of (lo - a),
 * where lo is a rounded up to the largest usable alignment, then whole
 * blocks, then down through the set bits of (b - hi). folio_count()
 * evaluates that closed form without walking the folios.
 *
 * Everything is done on the file page alone, the region alignment coming
 * for free from d: one ctz per folio, with the cap M folded in as an extra
 * set bit so the loop has no branch on alignment.
 */

/* Orders are capped at 63 so that 1 << order is always defined. */
#define ORDER_LIMIT 63u

static inline uint32_t
min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/* floor(log2(x)) for x >= 1. */
static inline uint32_t
log2_floor(uint64_t x)
{
	return 63u - (uint32_t)__builtin_clzll(x);
}

/* min(ctz(x), cap) for cap <= 63; defined for x == 0 too. */
static inline uint32_t
ctz_capped(uint64_t x, uint32_t cap)
{
	return (uint32_t)__builtin_ctzll(x | UINT64_C(1) << cap);
}

/* The largest order usable anywhere in an extent with these offsets. */
static inline uint32_t
extent_cap(uint64_t file_pg, uint64_t region_pg, uint32_t max_order)
{
	return ctz_capped(region_pg - file_pg, min_u32(max_order, ORDER_LIMIT));
}

/* folio_order_at -- largest order aligned at both pages that fits @npages
 * and @max_order; npages == 0 is treated as 1 (order 0). */
uint32_t
folio_order_at(uint64_t file_pg, uint64_t region_pg, uint64_t npages,
	       uint32_t max_order)
{
	uint32_t k = ctz_capped(file_pg | region_pg,
				min_u32(max_order, ORDER_LIMIT));

	return min_u32(k, log2_floor(npages | 1));
}

/* folio_tile -- greedy tiling, at most @max folios; resuming from
 * (file_pg + *ret_pages, region_pg + *ret_pages) continues the same tiling,
 * because each folio depends only on its start and what is left. */
size_t
folio_tile(uint64_t file_pg, uint64_t region_pg, uint64_t npages,
	   uint32_t max_order, struct folio *out, size_t max,
	   uint64_t *ret_pages)
{
	uint64_t cap_bit = UINT64_C(1)
			   << extent_cap(file_pg, region_pg, max_order);
	uint64_t left = npages;
	size_t n = 0;

	for (; n < max && left != 0; n++) {
		uint32_t align = (uint32_t)__builtin_ctzll(file_pg | cap_bit);
		uint32_t k = min_u32(align, log2_floor(left));
		uint64_t len = UINT64_C(1) << k;

		out[n].file_pg = file_pg;
		out[n].region_pg = region_pg;
		out[n].order = k;
		file_pg += len;
		region_pg += len;
		left -= len;
	}
	if (ret_pages)
		*ret_pages = npages - left;
	return n;
}

/* folio_count -- the closed form of the greedy tiling (see top of file);
 * constant time whatever the range. The range must not wrap past 2^64
 * pages, which no region comes near. */
uint64_t
folio_count(uint64_t file_pg, uint64_t region_pg, uint64_t npages,
	    uint32_t max_order)
{
	uint32_t m, k;
	uint64_t a, b, mask, lo, hi;

	if (npages == 0)
		return 0;
	m = extent_cap(file_pg, region_pg, max_order);
	/* Only the position modulo 2^m matters; reducing also keeps b from
	 * wrapping for any npages below 2^63. */
	a = file_pg & ((UINT64_C(1) << m) - 1);
	b = a + npages;
	/* A range inside one 2^m block can use no order above the highest
	 * bit where its ends differ; capping there makes lo <= hi below. */
	k = min_u32(m, log2_floor(a ^ b));
	mask = (UINT64_C(1) << k) - 1;
	lo = (a + mask) & ~mask;
	hi = b & ~mask;
	return (uint64_t)__builtin_popcountll(lo - a) + ((hi - lo) >> k) +
	       (uint64_t)__builtin_popcountll(b - hi);
}

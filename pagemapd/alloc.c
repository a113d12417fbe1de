/* alloc.c -- the region page allocator: a DRAM bitmap plus chunk counts. */
#include "alloc.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "fault.h"

/*
 * Placement strategy (I8).
 *
 * A folio of 2^k pages maps as one huge page only if it is naturally
 * aligned both in the file and in the region. File pages [f, f + n) placed
 * at region page r keep their folio tiling aligned when r == f (mod M),
 * where M is the largest naturally aligned block inside [f, f + n), capped
 * at 2^max_order. A short run therefore needs only a small M, which loses
 * no folio and leaves it far more places to go than M = 2^max_order would.
 *
 * Free space is also counted per chunk of 512 pages (2 MiB, the folio size
 * that matters most) whatever max_order is: the counts let searches skip
 * full chunks, and a run "breaks" a chunk when it takes part, not all, of
 * a wholly free one. Keeping whole chunks whole is what keeps 2 MiB folios
 * available after churn. (With max_order > 9, whole 1 GiB blocks are not
 * guarded the same way; first fit keeps the high ones whole.)
 *
 * A range is served, first fit, by the first of these that works:
 *
 *   1. one congruent run for the whole range that breaks no chunk;
 *   2. if it crosses a 2^max_order boundary with a partial head or tail:
 *      head, whole blocks and tail, each placed by this list;
 *   3. if it is shorter than a chunk and whole chunks have become scarce:
 *      its folios (halved down to PACK_MIN pages) in partly used chunks,
 *      all of them or none;
 *   4. one congruent run that may break a chunk;
 *   5. whole blocks, or a single folio, are filled from the free runs
 *      congruent modulo the block (or half the folio) in address order,
 *      then modulo half that, and so on down to single pages, which always
 *      fit since n pages are free; any other range is split into the
 *      folios of its natural tiling, each placed by this list.
 *
 * Steps 2 and 3 come before 4 so that a file's sub-2 MiB tail and small
 * files fill the holes of partly used chunks instead of breaking whole
 * ones; step 3 costs extents, so it waits until whole chunks run low.
 * Before each search the spot right after the previous piece is tried, so
 * pieces land contiguously when they can and merge into one extent. If the
 * result needs more extents than the caller allows, it is rolled back and
 * redone "eagerly", with step 4 right after step 1: one long run over
 * packing.
 */

#define CHUNK_SHIFT 9u
#define CHUNK (1u << CHUNK_SHIFT)
#define CHUNK_MASK ((uint64_t)CHUNK - 1)
#define MAX_ORDER 18u
#define PG_LIMIT (UINT64_MAX >> 12) /* pages whose byte offset fits */
#define NONE UINT64_MAX
#define PACK_MIN 128u /* packing splits folios no smaller than this */

struct alloc {
	uint64_t lo, hi;     /* the data area: pages [lo, hi) */
	uint64_t nfree;	     /* free pages in the data area */
	uint64_t block;	     /* 2^max_order pages */
	uint64_t nchunks;    /* region_pages / CHUNK rounded up */
	uint64_t nwhole;     /* chunks with every page free */
	uint64_t *bm;	     /* 1 bit per region page, 1 = used; LSB first */
	uint16_t *cfree;     /* free data-area pages per chunk, <= CHUNK */
	uint64_t *has_free;  /* 1 bit per chunk: cfree > 0 */
	uint64_t *partial;   /* 1 bit per chunk: 0 < cfree < CHUNK */
	uint64_t *not_whole; /* 1 bit per chunk: cfree < CHUNK */
};

/* One alloc_reserve call in progress. */
struct ctx {
	struct alloc *a;
	struct extent *ext; /* the caller's array */
	size_t n, max;
	bool eager;   /* one long run over packing: step 4 right after 1 */
	bool packing; /* placing a short range in pieces, breaking nothing */
};

static uint64_t
min64(uint64_t x, uint64_t y)
{
	return x < y ? x : y;
}

static void
put_bit(uint64_t *w, uint64_t i, bool on)
{
	if (on)
		w[i >> 6] |= 1ull << (i & 63);
	else
		w[i >> 6] &= ~(1ull << (i & 63));
}

/* The first set bit at or after @from, or @nbits; bits past @nbits are 0. */
static uint64_t
next_set(const uint64_t *w, uint64_t from, uint64_t nbits)
{
	while (from < nbits) {
		uint64_t x = w[from >> 6] >> (from & 63);

		if (x)
			return min64(from + (uint64_t)__builtin_ctzll(x),
				     nbits);
		from = (from | 63) + 1;
	}
	return nbits;
}

/* Mask of bits [b, b + k) of a word, 0 < k <= 64 - b. */
static uint64_t
word_mask(uint64_t b, uint64_t k)
{
	return (k == 64 ? ~0ull : (1ull << k) - 1) << b;
}

/* True if every bit of [pg, pg + n) equals @used. */
static bool
bits_all(const uint64_t *bm, uint64_t pg, uint64_t n, bool used)
{
	while (n) {
		uint64_t b = pg & 63, k = min64(n, 64 - b);
		uint64_t m = word_mask(b, k), x = bm[pg >> 6] & m;

		if (x != (used ? m : 0))
			return false;
		pg += k;
		n -= k;
	}
	return true;
}

/* Round @x up to the next page congruent to @off modulo @m (a power of 2,
 * off < m). */
static uint64_t
congruent_up(uint64_t x, uint64_t off, uint64_t m)
{
	uint64_t r = (x & ~(m - 1)) + off;

	return r < x ? r + m : r;
}

/* The largest naturally aligned power-of-two block inside [f, f + n),
 * capped at @cap: the biggest folio of the range's tiling. */
static uint64_t
folio_max(uint64_t f, uint64_t n, uint64_t cap)
{
	for (uint64_t s = cap; s > 1; s >>= 1)
		if (congruent_up(f, 0, s) + s <= f + n)
			return s;
	return 1;
}

static void
chunk_update(struct alloc *a, uint64_t c)
{
	put_bit(a->has_free, c, a->cfree[c] > 0);
	put_bit(a->partial, c, a->cfree[c] > 0 && a->cfree[c] < CHUNK);
	put_bit(a->not_whole, c, a->cfree[c] < CHUNK);
}

/* Mark [pg, pg + n) of the data area used or free; the caller has checked
 * that every page is in the other state. */
static void
set_range(struct alloc *a, uint64_t pg, uint64_t n, bool used)
{
	uint64_t p = pg, left = n;

	while (left) {
		uint64_t b = p & 63, k = min64(left, 64 - b);

		if (used)
			a->bm[p >> 6] |= word_mask(b, k);
		else
			a->bm[p >> 6] &= ~word_mask(b, k);
		p += k;
		left -= k;
	}
	for (p = pg; p < pg + n;) {
		uint64_t c = p >> CHUNK_SHIFT;
		uint64_t k = min64(pg + n, (c + 1) << CHUNK_SHIFT) - p;

		a->nwhole -= a->cfree[c] == CHUNK;
		if (used)
			a->cfree[c] -= k;
		else
			a->cfree[c] += k;
		a->nwhole += a->cfree[c] == CHUNK;
		chunk_update(a, c);
		p += k;
	}
	if (used)
		a->nfree -= n;
	else
		a->nfree += n;
}

/* The first used page of [p, end) (inside the data area), or @end. */
static uint64_t
first_used(const struct alloc *a, uint64_t p, uint64_t end)
{
	while (p < end) {
		uint64_t c = p >> CHUNK_SHIFT;
		uint64_t b = p & 63, k;
		uint64_t x;

		if (a->cfree[c] == 0)
			return p;
		if (a->cfree[c] == CHUNK) {
			/* Skip a stretch of wholly free chunks at once. */
			c = next_set(a->not_whole, c + 1, a->nchunks);
			p = min64(end, c << CHUNK_SHIFT);
			continue;
		}
		k = min64(end - p, 64 - b);
		x = a->bm[p >> 6] & word_mask(b, k);
		if (x)
			return (p & ~63ull) + (uint64_t)__builtin_ctzll(x);
		p += k;
	}
	return end;
}

/*
 * fits -- can [r, r + n) (inside the data area) be taken? With @nobreak it
 * must also not take part of a wholly free chunk. On false, *next is a page
 * below which no later candidate (congruent modulo @m) fits either.
 */
static bool
fits(const struct alloc *a, uint64_t r, uint64_t n, uint64_t m, bool nobreak,
     uint64_t *next)
{
	uint64_t c = r >> CHUNK_SHIFT, cend = (c + 1) << CHUNK_SHIFT;
	uint64_t end = r + n, t = (end - 1) >> CHUNK_SHIFT;
	/* With m >= CHUNK every candidate sits at the same spot in its
	 * chunk, so one that breaks a chunk breaks every chunk like it. */
	bool same = m >= CHUNK;
	uint64_t q;

	if (a->cfree[c] == 0) {
		*next = next_set(a->has_free, c + 1, a->nchunks) << CHUNK_SHIFT;
		return false;
	}
	if (nobreak && a->cfree[c] == CHUNK &&
	    ((r & CHUNK_MASK) || end < cend)) {
		/* Skip to where the run's head is not in a whole chunk. */
		if (n < CHUNK)
			q = next_set(a->partial, c + 1, a->nchunks);
		else if (same)
			q = next_set(a->not_whole, c + 1, a->nchunks);
		else
			q = c + 1;
		*next = q << CHUNK_SHIFT;
		return false;
	}
	if (nobreak && t != c && (end & CHUNK_MASK) && a->cfree[t] == CHUNK) {
		/* Skip to where the run's tail is not in a whole chunk (or,
		 * for small m, ends on the boundary after chunk t). */
		q = same ? next_set(a->not_whole, t + 1, a->nchunks) : t + 1;
		*next = (q << CHUNK_SHIFT) + (same ? 1 : 0) - n;
		return false;
	}
	q = first_used(a, r, end);
	if (q < end) {
		*next = q + 1;
		return false;
	}
	return true;
}

/* The first free run [r, r + n) with r >= from and r == off (mod m), or
 * NONE. */
static uint64_t
find_run(const struct alloc *a, uint64_t from, uint64_t off, uint64_t m,
	 uint64_t n, bool nobreak)
{
	uint64_t r = congruent_up(from > a->lo ? from : a->lo, off, m), next;

	while (r <= a->hi && a->hi - r >= n) {
		if (fits(a, r, n, m, nobreak, &next))
			return r;
		r = congruent_up(next > r ? next : r + 1, off, m);
	}
	return NONE;
}

/* Append file pages [f, f + n) at region page r to the output, merging
 * with the last extent when contiguous in both spaces. */
static int
emit(struct ctx *x, uint64_t f, uint64_t r, uint64_t n)
{
	struct extent *last = x->n ? &x->ext[x->n - 1] : NULL;

	if (last && last->file_pg + last->npages == f &&
	    last->region_pg + last->npages == r) {
		last->npages += n;
		return 0;
	}
	if (x->n == x->max)
		return -E2BIG;
	x->ext[x->n++] = (struct extent){
		.file_pg = f, .region_pg = r, .npages = n, .slot = UINT32_MAX};
	return 0;
}

/* Place [f, f + n) as one run congruent modulo @m. Returns 0, -ENOENT (no
 * such run), -E2BIG. */
static int
take_run(struct ctx *x, uint64_t f, uint64_t n, uint64_t m, bool nobreak)
{
	struct alloc *a = x->a;
	uint64_t off = f & (m - 1), r = NONE, next;
	int ret;

	if (x->n) {
		const struct extent *last = &x->ext[x->n - 1];
		uint64_t e = last->region_pg + last->npages;

		if (last->file_pg + last->npages == f && (e & (m - 1)) == off &&
		    e < a->hi && a->hi - e >= n &&
		    fits(a, e, n, m, nobreak, &next))
			r = e;
	}
	if (r == NONE)
		r = find_run(a, a->lo, off, m, n, nobreak);
	if (r == NONE)
		return -ENOENT;
	ret = emit(x, f, r, n);
	if (ret == 0)
		set_range(a, r, n, true);
	return ret;
}

static int place(struct ctx *x, uint64_t f, uint64_t n);

/* True when wholly free chunks hold less than half of the free pages: from
 * then on a short range is packed into partly used chunks, even in pieces,
 * rather than break one of the few whole chunks left. */
static bool
whole_scarce(const struct alloc *a)
{
	return a->nwhole * CHUNK < a->nfree / 2;
}

/* Undo what @x placed since it had @n0 extents, the last @last0 long. */
static void
rollback(struct ctx *x, size_t n0, uint64_t last0)
{
	for (size_t i = n0; i < x->n; i++)
		set_range(x->a, x->ext[i].region_pg, x->ext[i].npages, false);
	x->n = n0;
	if (n0 && x->ext[n0 - 1].npages > last0) {
		struct extent *e = &x->ext[n0 - 1];

		set_range(x->a, e->region_pg + last0, e->npages - last0, false);
		e->npages = last0;
	}
}

/*
 * fill -- place [f, f + n), whole blocks of @m pages with f aligned to m,
 * from free runs congruent modulo m in address order, each taken as far as
 * it goes; what no run of m pages can take is filled with m / 2, and so on.
 * Pages only get used while it runs, so a spot found bad stays bad and one
 * pass over the region per size suffices (step 5 for many pieces).
 */
static int
fill(struct ctx *x, uint64_t f, uint64_t n, uint64_t m)
{
	struct alloc *a = x->a;
	uint64_t from = a->lo, end = f + n;
	int ret;

	for (; m >= 1; m >>= 1, from = a->lo) {
		while (f < end) {
			uint64_t r = find_run(a, from, 0, m, m, false), len;

			if (r == NONE)
				break;
			len = first_used(a, r, r + min64(end - f, a->hi - r));
			len = (len - r) & ~(m - 1);
			ret = emit(x, f, r, len);
			if (ret)
				return ret;
			set_range(a, r, len, true);
			f += len;
			from = r + len;
		}
		if (f == end)
			return 0;
	}
	return -ENOSPC; /* cannot happen: n pages were free */
}

/* Place [f, f + n), which crosses block boundaries, as head, whole blocks
 * and tail (step 2), or fill it when it is whole blocks (step 5). */
static int
place_blocks(struct ctx *x, uint64_t f, uint64_t n)
{
	uint64_t bs = x->a->block, end = f + n;
	uint64_t mid = congruent_up(f, 0, bs), tail = end & ~(bs - 1);
	int ret = 0;

	if (mid == f && tail == end)
		return fill(x, f, n, bs);
	if (mid > f)
		ret = place(x, f, mid - f);
	if (ret == 0 && tail > mid)
		ret = place(x, mid, tail - mid);
	if (ret == 0 && end > tail)
		ret = place(x, tail, end - tail);
	return ret;
}

/* Place [f, f + n), which lies inside one block, folio by folio; a single
 * folio by its halves (steps 3 and 5). */
static int
place_folios(struct ctx *x, uint64_t f, uint64_t n)
{
	uint64_t end = f + n;
	int ret = 0;

	if ((n & (n - 1)) == 0 && (f & (n - 1)) == 0) {
		if (!x->packing)
			return fill(x, f, n, n / 2);
		ret = place(x, f, n / 2);
		return ret ? ret : place(x, f + n / 2, n / 2);
	}
	for (uint64_t p = f, s; p < end && ret == 0; p += s) {
		s = p ? p & -p : x->a->block;
		while (s > end - p)
			s >>= 1;
		ret = place(x, p, s);
	}
	return ret;
}

/* place -- the list in the comment at the top, for [f, f + n). */
static int
place(struct ctx *x, uint64_t f, uint64_t n)
{
	uint64_t bs = x->a->block, m = folio_max(f, n, bs);
	bool spans = (f & ~(bs - 1)) != ((f + n - 1) & ~(bs - 1));
	bool ragged = (f & (bs - 1)) || ((f + n) & (bs - 1));
	int ret;

	ret = take_run(x, f, n, m, true);
	if (ret != -ENOENT)
		return ret;
	if (spans && ragged && !x->eager)
		return place_blocks(x, f, n);
	if (x->packing) /* inside step 3: never break a chunk */
		return n > PACK_MIN ? place_folios(x, f, n) : -ENOENT;
	if (!spans && !x->eager && n < CHUNK && whole_scarce(x->a)) {
		size_t n0 = x->n;
		uint64_t last0 = n0 ? x->ext[n0 - 1].npages : 0;

		x->packing = true;
		ret = place_folios(x, f, n);
		x->packing = false;
		if (ret != -ENOENT)
			return ret;
		rollback(x, n0, last0);
	}
	ret = take_run(x, f, n, m, false);
	if (ret != -ENOENT)
		return ret;
	return spans ? place_blocks(x, f, n) : place_folios(x, f, n);
}

/* alloc_new -- see alloc.h; every data-area page starts free. */
int
alloc_new(uint64_t region_pages, uint64_t first_pg, uint64_t npages,
	  uint32_t max_order, struct alloc **ret)
{
	struct alloc *a;
	uint64_t words, cwords;

	if (max_order > MAX_ORDER || region_pages > PG_LIMIT ||
	    first_pg > region_pages || npages > region_pages - first_pg)
		return -EINVAL;
	a = fault_calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->lo = first_pg;
	a->hi = first_pg + npages;
	a->block = 1ull << max_order;
	a->nchunks = (region_pages + CHUNK - 1) >> CHUNK_SHIFT;
	words = (region_pages + 63) / 64;
	cwords = (a->nchunks + 63) / 64;
	/* At least one word each, so alloc_bitmap() is never NULL. */
	a->bm = fault_calloc(words ? words : 1, sizeof(*a->bm));
	a->cfree = fault_calloc(a->nchunks ? a->nchunks : 1, sizeof(*a->cfree));
	a->has_free = fault_calloc(cwords ? cwords : 1, sizeof(*a->has_free));
	a->partial = fault_calloc(cwords ? cwords : 1, sizeof(*a->partial));
	a->not_whole = fault_calloc(cwords ? cwords : 1, sizeof(*a->not_whole));
	if (!a->bm || !a->cfree || !a->has_free || !a->partial ||
	    !a->not_whole) {
		alloc_delete(a);
		return -ENOMEM;
	}
	/* Everything starts counted as used; freeing the data area fills
	 * the chunk counts through the one path that maintains them. */
	set_range(a, a->lo, npages, false);
	for (uint64_t c = 0; c < a->nchunks; c++)
		chunk_update(a, c);
	*ret = a;
	return 0;
}

/* alloc_delete -- free @a and its bitmaps (NULL is fine). */
void
alloc_delete(struct alloc *a)
{
	if (!a)
		return;
	free(a->bm);
	free(a->cfree);
	free(a->has_free);
	free(a->partial);
	free(a->not_whole);
	free(a);
}

static bool
in_data(const struct alloc *a, uint64_t pg, uint64_t n)
{
	return pg >= a->lo && pg <= a->hi && n <= a->hi - pg;
}

/* alloc_mark_used -- used when loading: -ERANGE, -EEXIST, nothing changed. */
int
alloc_mark_used(struct alloc *a, uint64_t pg, uint64_t n)
{
	if (!in_data(a, pg, n))
		return -ERANGE;
	if (!bits_all(a->bm, pg, n, false))
		return -EEXIST;
	set_range(a, pg, n, true);
	return 0;
}

/* alloc_reserve -- the placement above. Also -EINVAL for n == 0 or a range
 * past 2^52 pages. On failure the allocator is as before, but
 * @ret_ext[0..max_ext) may have been used as scratch. */
int
alloc_reserve(struct alloc *a, uint64_t file_pg, uint64_t n,
	      struct extent *ret_ext, size_t max_ext)
{
	/* The count is returned as an int. */
	struct ctx x = {.a = a, .ext = ret_ext, .max = min64(max_ext, INT_MAX)};
	int ret;

	if (n == 0 || file_pg > PG_LIMIT || n > PG_LIMIT - file_pg)
		return -EINVAL;
	if (n > a->nfree)
		return -ENOSPC;
	ret = place(&x, file_pg, n);
	if (ret == -E2BIG) {
		rollback(&x, 0, 0);
		x.eager = true;
		ret = place(&x, file_pg, n);
	}
	if (ret < 0) {
		rollback(&x, 0, 0);
		return ret;
	}
	return (int)x.n;
}

/* alloc_release -- free [pg, pg + n); every page must be allocated. */
void
alloc_release(struct alloc *a, uint64_t pg, uint64_t n)
{
	assert(in_data(a, pg, n));
	assert(bits_all(a->bm, pg, n, true));
	set_range(a, pg, n, false);
}

/* alloc_is_free -- pages outside the data area are never free. */
bool
alloc_is_free(const struct alloc *a, uint64_t pg, uint64_t n)
{
	return in_data(a, pg, n) && bits_all(a->bm, pg, n, false);
}

/* alloc_free_pages -- free pages of the data area. */
uint64_t
alloc_free_pages(const struct alloc *a)
{
	return a->nfree;
}

/* alloc_total_pages -- pages of the data area. */
uint64_t
alloc_total_pages(const struct alloc *a)
{
	return a->hi - a->lo;
}

/* alloc_bitmap -- the bitmap, in the persistent byte layout. */
const uint8_t *
alloc_bitmap(const struct alloc *a)
{
	/* uint64_t words read as bytes are the persistent layout on a
	 * little-endian machine, the only kind layout.h builds for. */
	return (const uint8_t *)a->bm;
}

/* lease.c -- leases on inodes and the folio grants under them (pure).
 *
 * See lease.h for the invariants. Nothing here does I/O: ops.c asks,
 * recall.c waits, and this file keeps the counts that make I1 checkable —
 * ngrants per lease, grants per inode, pins per region.
 */
#include "lease.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "extent.h"
#include "folio.h"
#include "gtable.h"
#include "gword.h"
#include "inode.h"
#include "pintab.h"
#include "region.h"

#define TILE_BATCH 256 /* folios tiled per folio_tile() call */

static uint64_t
grant_end(const struct grant *g)
{
	return g->file_pg + (1ull << g->order);
}

/* lower_bound -- index of the first grant of @l with file_pg >= @pg. */
static size_t
lower_bound(const struct lease *l, uint64_t pg)
{
	size_t lo = 0, hi = l->ngrants;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (l->grants[mid].file_pg < pg)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* first_reaching -- index from which grants may reach @pg: a grant that
 * starts up to one largest folio before @pg can still cover it. */
static size_t
first_reaching(const struct lease *l, uint64_t pg)
{
	uint64_t span = 1ull << l->region->sb->max_order;

	return lower_bound(l, pg >= span ? pg - span + 1 : 0);
}

/* hang -- a new lease on @ino, no checks. */
static int
hang(struct region *r, struct inode *ino, void *owner,
     enum lease_access access, uint64_t id, struct lease **ret)
{
	struct lease *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return -ENOMEM;
	l->id = id;
	l->region = r;
	l->ino = ino;
	l->owner = owner;
	l->access = access;
	list_init(&l->own);
	l->ino_next = ino->leases;
	if (ino->leases)
		ino->leases->ino_prev = l;
	ino->leases = l;
	ino->nleases++;
	r->nleases++;
	*ret = l;
	return 0;
}

int
lease_new(struct region *r, struct inode *ino, void *owner,
	  enum lease_access access, uint64_t id, struct lease **ret)
{
	if (ino->orphan)
		return -ENOENT;
	if (r->detaching)
		return -EBUSY;
	return hang(r, ino, owner, access, id, ret);
}

int
lease_restore(struct region *r, struct inode *ino, void *owner,
	      enum lease_access access, uint64_t id, struct lease **ret)
{
	/* An orphan's lease is restored too: it is what keeps the orphan
	 * (and its holder's mapping of it) from being reclaimed. */
	return hang(r, ino, owner, access, id, ret);
}

void
lease_free(struct lease *l)
{
	if (l == NULL)
		return;
	/* I2: a lease with grants cannot end. */
	assert(l->ngrants == 0);
	if (l->ino_prev)
		l->ino_prev->ino_next = l->ino_next;
	else
		l->ino->leases = l->ino_next;
	if (l->ino_next)
		l->ino_next->ino_prev = l->ino_prev;
	l->ino->nleases--;
	l->region->nleases--;
	free(l->grants);
	free(l);
}

/* reserve -- room for @k more grants. */
static int
reserve(struct lease *l, size_t k)
{
	size_t need = l->ngrants + k, cap = l->cap ? l->cap : 16;
	struct grant *v;

	if (need <= l->cap)
		return 0;
	while (cap < need)
		cap *= 2;
	v = realloc(l->grants, cap * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	l->grants = v;
	l->cap = cap;
	return 0;
}

/* insert -- merge the sorted @v[0..k) into the lease's sorted grants; room
 * is reserved. A map that extends a range appends, the common case. */
static void
insert(struct lease *l, const struct grant *v, size_t k)
{
	size_t i = l->ngrants, j = k, w = l->ngrants + k;

	if (i == 0 || l->grants[i - 1].file_pg <= v[0].file_pg) {
		memcpy(l->grants + i, v, k * sizeof(*v));
		l->ngrants += k;
		return;
	}
	while (j > 0) {
		if (i > 0 && l->grants[i - 1].file_pg > v[j - 1].file_pg)
			l->grants[--w] = l->grants[--i];
		else
			l->grants[--w] = v[--j];
	}
	l->ngrants += k;
}

/* tile -- the folios of [pg, end) of @ino, at most @max, into @out; the
 * range is known to be inside the file's extents. */
static size_t
tile(const struct inode *ino, uint32_t max_order, uint64_t pg, uint64_t end,
     uint32_t access, struct grant *out, size_t max, uint64_t *ret_next)
{
	size_t i = extent_map_find(&ino->map, pg), k = 0;
	struct folio f[TILE_BATCH];

	while (pg < end && k < max && i < ino->map.n) {
		const struct extent *e = &ino->map.v[i];
		uint64_t off = pg - e->file_pg, covered;
		uint64_t len = e->npages - off;
		size_t want = max - k, got;

		if (len > end - pg)
			len = end - pg;
		if (want > TILE_BATCH)
			want = TILE_BATCH;
		got = folio_tile(pg, e->region_pg + off, len, max_order, f, want,
				 &covered);
		for (size_t n = 0; n < got; n++) {
			out[k].file_pg = f[n].file_pg;
			out[k].region_pg = f[n].region_pg;
			out[k].order = f[n].order;
			out[k].access = access;
			k++;
		}
		pg += covered;
		if (covered == len)
			i++;
	}
	*ret_next = pg;
	return k;
}

/* mapped -- true if every page of [pg, end) is backed by an extent. Files
 * are fully allocated below their size, so this is a bound check plus a
 * guard against a hole. */
static bool
mapped(const struct inode *ino, uint64_t pg, uint64_t end)
{
	size_t i;

	if (end > layout_pages(ino->size))
		return false;
	for (i = extent_map_find(&ino->map, pg); pg < end; i++) {
		if (i >= ino->map.n || ino->map.v[i].file_pg > pg)
			return false;
		pg = ino->map.v[i].file_pg + ino->map.v[i].npages;
	}
	return true;
}

/* pin -- write the PIN_GRANT records of @v[0..k) into the lease's pin
 * table, so they outlive this process (I6), with their words' slots and
 * generations (a restarted daemon adopts the words by them); all or
 * none. */
static int
pin(struct lease *l, struct grant *v, size_t k)
{
	if (l->pins == NULL)
		return 0;
	for (size_t i = 0; i < k; i++) {
		struct pin_rec rec = {
			.kind = PIN_GRANT,
			.access = v[i].access,
			.order = v[i].order,
			.lease_id = l->id,
			.file_pg = v[i].file_pg,
			.region_pg = v[i].region_pg,
			.wslot = v[i].wslot,
			.wgen = v[i].gen,
			.words_id = v[i].gen ? l->words->id : 0,
		};
		int64_t s = pintab_add(l->pins, &rec);

		if (s < 0) {
			while (i > 0)
				pintab_del(l->pins, v[--i].slot);
			return (int)s;
		}
		v[i].slot = (uint32_t)s;
	}
	return 0;
}

/* unpin -- delete the PIN_GRANT records of @v[0..k) and free their
 * words' slots. */
static void
unpin(struct lease *l, const struct grant *v, size_t k)
{
	if (l->words)
		for (size_t i = 0; i < k; i++)
			if (v[i].gen)
				gtable_release(l->words, v[i].wslot);
	if (l->pins == NULL)
		return;
	for (size_t i = 0; i < k; i++)
		pintab_del(l->pins, v[i].slot);
}

/* issue -- a state word for each of @v[0..k) while the table has room. */
static void
issue(struct lease *l, struct grant *v, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		v[i].gen = 0;
		v[i].wslot = 0;
		v[i].recalled = 0;
		if (l->words == NULL ||
		    gtable_issue(l->words, l, v[i].file_pg, &v[i].wslot,
				 &v[i].gen) < 0)
			v[i].gen = 0;
	}
}

static int
map(struct lease *l, uint64_t pg, uint64_t n, enum lease_access access,
    bool words, struct grant *out, size_t max, uint64_t *ret_next_pg)
{
	struct inode *ino = l->ino;
	uint64_t end = pg + n, next, pages = 0;
	size_t k;
	int rv;

	if (n == 0 || max == 0)
		return -EINVAL;
	if (access != LEASE_READ && access != LEASE_WRITE)
		return -EINVAL;
	if (access > l->access)
		return -EACCES;
	if (end < pg || !mapped(ino, pg, end))
		return -ENXIO;
	if (l->revoking || l->region->detaching || end > ino->trunc_pg)
		return -EBUSY;
	if (max > n)
		max = (size_t)n; /* never more folios than pages */
	rv = reserve(l, max);
	if (rv < 0)
		return rv;
	k = tile(ino, l->region->sb->max_order, pg, end, access, out, max,
		 &next);
	assert(k > 0);
	/* Words first: the pin records name them. */
	if (words)
		issue(l, out, k);
	else
		for (size_t i = 0; i < k; i++)
			out[i].gen = out[i].wslot = out[i].recalled = 0;
	rv = pin(l, out, k);
	if (rv < 0) {
		for (size_t i = 0; i < k; i++)
			if (out[i].gen)
				gtable_release(l->words, out[i].wslot);
		return rv;
	}
	insert(l, out, k);
	for (size_t i = 0; i < k; i++)
		pages += 1ull << out[i].order;
	l->pages += pages;
	ino->grants += k;
	l->region->pins += k;
	*ret_next_pg = next;
	return (int)k;
}

int
lease_map(struct lease *l, uint64_t pg, uint64_t n, enum lease_access access,
	  struct grant *out, size_t max, uint64_t *ret_next_pg)
{
	return map(l, pg, n, access, false, out, max, ret_next_pg);
}

int
lease_map_words(struct lease *l, uint64_t pg, uint64_t n,
		enum lease_access access, struct grant *out, size_t max,
		uint64_t *ret_next_pg)
{
	return map(l, pg, n, access, true, out, max, ret_next_pg);
}

int
lease_restore_grant(struct lease *l, const struct grant *g)
{
	const struct inode *ino = l->ino;
	uint64_t n, pg, end;
	size_t i;
	int rv;

	if (g->order > l->region->sb->max_order || g->order >= 32)
		return -EUCLEAN;
	n = 1ull << g->order;
	end = g->file_pg + n;
	/* I8: a folio is naturally aligned in the file and in the region;
	 * anything else was never granted. */
	if ((g->file_pg & (n - 1)) || (g->region_pg & (n - 1)) ||
	    end < g->file_pg || (g->access != LEASE_READ &&
				 g->access != LEASE_WRITE) ||
	    g->access > l->access)
		return -EUCLEAN;
	if (!mapped(ino, g->file_pg, end))
		return -EUCLEAN;
	/* Every page of it must be where the file's extents put it now:
	 * the region page a holder maps is the one this file owns. */
	for (pg = g->file_pg, i = extent_map_find(&ino->map, pg); pg < end;
	     i++) {
		const struct extent *e = &ino->map.v[i];
		uint64_t e_end = e->file_pg + e->npages;

		if (e->region_pg + (pg - e->file_pg) !=
		    g->region_pg + (pg - g->file_pg))
			return -EUCLEAN;
		pg = e_end < end ? e_end : end;
	}
	rv = reserve(l, 1);
	if (rv < 0)
		return rv;
	/* @g comes without a word (gen 0): the table died with the daemon;
	 * lease_adopt_words() gives it back if the holder hands it back. */
	insert(l, g, 1);
	l->pages += n;
	l->ino->grants++;
	l->region->pins++;
	return 0;
}

/* drop -- account for @k grants of @pages pages leaving @l. */
static void
drop(struct lease *l, uint64_t k, uint64_t pages)
{
	l->pages -= pages;
	l->ino->grants -= k;
	l->region->pins -= k;
	/* Give memory back when a big lease shrinks a lot. */
	if (l->cap > 64 && l->ngrants < l->cap / 4) {
		struct grant *v = realloc(l->grants,
					  (l->cap / 2) * sizeof(*v));
		if (v) {
			l->grants = v;
			l->cap /= 2;
		}
	}
}

/* give_back -- whether @g, which someone wants back, may be freed now:
 * one without a word always; one with a word only as the daemon's own CAS
 * or its check of a recalled word says (gword.h). A mapped one is marked
 * recalled on the way. */
static bool
give_back(struct lease *l, struct grant *g)
{
	uint64_t *w;

	if (g->gen == 0)
		return true;
	w = gtable_word(l->words, g->wslot);
	if (g->recalled)
		return gword_taken(w, g->gen) == GWORD_IS_TAKEN;
	switch (gword_take_back(w, g->gen)) {
	case GWORD_TAKEN_NOW:
		return true;
	case GWORD_RECALL_NEEDED:
		g->recalled = 1;
		return false;
	default:
		/* Scribbled on, or kept changing: treat as mapped. */
		return false;
	}
}

/* sweep -- free the grants of @l intersecting [pg, pg + n) that @pred
 * lets go (worded ones only when @worded_only); returns how many. */
static uint64_t
sweep(struct lease *l, uint64_t pg, uint64_t n, bool worded_only)
{
	uint64_t end = pg + n < pg ? UINT64_MAX : pg + n, pages = 0;
	size_t lo = first_reaching(l, pg), hi = lower_bound(l, end), w = lo;
	size_t removed;

	/* An empty range meets nothing, not even a folio around @pg. */
	if (n == 0)
		return 0;
	for (size_t i = lo; i < hi; i++) {
		struct grant *g = &l->grants[i];

		if (grant_end(g) > pg && (!worded_only || g->gen) &&
		    give_back(l, g)) {
			pages += 1ull << g->order;
			unpin(l, g, 1);
			continue;
		}
		l->grants[w++] = *g;
	}
	removed = hi - w;
	if (removed == 0)
		return 0;
	memmove(l->grants + w, l->grants + hi,
		(l->ngrants - hi) * sizeof(*l->grants));
	l->ngrants -= removed;
	drop(l, removed, pages);
	return removed;
}

uint64_t
lease_unmap(struct lease *l, uint64_t pg, uint64_t n)
{
	return sweep(l, pg, n, false);
}

uint64_t
lease_take_back(struct lease *l, uint64_t pg, uint64_t n, uint64_t *ret_freed)
{
	uint64_t end = pg + n < pg ? UINT64_MAX : pg + n, left = 0;
	size_t lo, hi;

	*ret_freed = l->words ? sweep(l, pg, n, true) : 0;
	if (n == 0)
		return 0;
	lo = first_reaching(l, pg);
	hi = lower_bound(l, end);
	for (size_t i = lo; i < hi; i++)
		left += grant_end(&l->grants[i]) > pg;
	return left;
}

int
lease_taken(struct lease *l, uint64_t file_pg, uint32_t wslot, uint32_t gen)
{
	size_t i = lower_bound(l, file_pg);
	struct grant *g;
	uint64_t pages;

	for (; i < l->ngrants && l->grants[i].file_pg == file_pg; i++)
		if (l->grants[i].gen == gen && l->grants[i].wslot == wslot)
			break;
	if (i == l->ngrants || l->grants[i].file_pg != file_pg ||
	    l->words == NULL)
		return 0;
	g = &l->grants[i];
	if (!give_back(l, g))
		return 0;
	unpin(l, g, 1);
	pages = 1ull << g->order;
	memmove(g, g + 1, (l->ngrants - i - 1) * sizeof(*g));
	l->ngrants--;
	drop(l, 1, pages); /* may move l->grants */
	return 1;
}

uint64_t
lease_ungranted_to(const struct lease *l, uint64_t pg, uint64_t limit)
{
	size_t lo = first_reaching(l, pg), hi = lower_bound(l, pg);

	for (size_t i = lo; i < hi; i++)
		if (grant_end(&l->grants[i]) > pg)
			return pg;
	if (hi < l->ngrants && l->grants[hi].file_pg < limit)
		return l->grants[hi].file_pg;
	return limit;
}

void
lease_drop_words(struct lease *l)
{
	for (size_t i = 0; i < l->ngrants; i++) {
		struct grant *g = &l->grants[i];

		if (g->gen && l->words)
			gtable_release(l->words, g->wslot);
		g->gen = 0;
		g->recalled = 0;
	}
	l->words = NULL;
}

int
lease_adopt_words(struct lease *l, struct gtable *t)
{
	int n = 0;

	for (size_t i = 0; i < l->ngrants; i++) {
		struct grant *g = &l->grants[i];
		struct pin_rec rec;

		/* From the daemon's own pin record, never from a word; and
		 * only a word of this very table (a grant restored once
		 * before may name one of a table that was refused since). */
		if (g->gen || l->pins == NULL ||
		    !pintab_get(l->pins, g->slot, &rec) ||
		    rec.kind != PIN_GRANT || rec.wgen == 0 ||
		    rec.words_id != t->id || rec.file_pg != g->file_pg ||
		    gtable_claim(t, rec.wslot, rec.wgen, l, g->file_pg) < 0)
			continue;
		g->wslot = rec.wslot;
		g->gen = rec.wgen;
		g->recalled = 0;
		n++;
	}
	l->words = t;
	return n;
}

unsigned
lease_grant_state(const struct lease *l, const struct grant *g)
{
	if (g->gen == 0 || l->words == NULL)
		return 0;
	if (g->recalled)
		return 2;
	return gword_peek(gtable_word(l->words, g->wslot)) ==
			       gword_make(GWORD_CACHED, 0, g->gen)
		       ? 1
		       : 0;
}

uint64_t
lease_unmap_all(struct lease *l)
{
	uint64_t k = l->ngrants;

	if (k == 0)
		return 0;
	unpin(l, l->grants, l->ngrants);
	l->ngrants = 0;
	drop(l, k, l->pages);
	return k;
}

uint64_t
lease_grants_from(const struct lease *l, uint64_t pg)
{
	size_t lo = first_reaching(l, pg), hi = lower_bound(l, pg);
	uint64_t k = l->ngrants - hi;

	for (size_t i = lo; i < hi; i++)
		k += grant_end(&l->grants[i]) > pg;
	return k;
}

uint64_t
inode_grants_from(const struct inode *ino, uint64_t pg)
{
	uint64_t k = 0;

	for (const struct lease *l = ino->leases; l; l = l->ino_next)
		k += lease_grants_from(l, pg);
	return k;
}

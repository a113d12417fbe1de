/* extent.c -- a file's extent map: a sorted array searched by bisection. */
#include "extent.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

/* Files have few extents (the allocator keeps them long), so a sorted array
 * beats a tree: lookups touch one cache line per probe, and inserts in the
 * middle are rare (growth appends at the end). */

/* extent_map_init -- an empty map; nothing allocated until the first insert. */
void
extent_map_init(struct extent_map *m)
{
	m->v = NULL;
	m->n = 0;
	m->cap = 0;
}

/* extent_map_fini -- free the array; the map is empty and reusable. */
void
extent_map_fini(struct extent_map *m)
{
	free(m->v);
	extent_map_init(m);
}

static uint64_t
end_of(const struct extent *e)
{
	return e->file_pg + e->npages;
}

/* extent_map_find -- lower bound on the extent ends, by bisection. */
size_t
extent_map_find(const struct extent_map *m, uint64_t file_pg)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (end_of(&m->v[mid]) <= file_pg)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* extent_map_lookup -- the extent containing @file_pg, or NULL. */
const struct extent *
extent_map_lookup(const struct extent_map *m, uint64_t file_pg)
{
	size_t i = extent_map_find(m, file_pg);

	if (i < m->n && m->v[i].file_pg <= file_pg)
		return &m->v[i];
	return NULL;
}

/* extent_map_insert -- 0, -EEXIST (overlap) or -ENOMEM; unchanged on error. */
int
extent_map_insert(struct extent_map *m, const struct extent *e)
{
	size_t i;

	assert(e->npages > 0 && e->file_pg + e->npages > e->file_pg);
	i = extent_map_find(m, e->file_pg);
	/* v[i] is the first extent ending after e starts: it overlaps e
	 * exactly when it also starts before e ends. */
	if (i < m->n && m->v[i].file_pg < end_of(e))
		return -EEXIST;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 4;
		struct extent *v;

		if (cap > SIZE_MAX / sizeof(*v))
			return -ENOMEM;
		v = fault_realloc(m->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	memmove(&m->v[i + 1], &m->v[i], (m->n - i) * sizeof(*m->v));
	m->v[i] = *e;
	m->n++;
	return 0;
}

/* extent_map_remove_at -- drop extent @i, keeping the order. */
void
extent_map_remove_at(struct extent_map *m, size_t i)
{
	assert(i < m->n);
	memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
	m->n--;
}

/* extent_map_pages -- file pages mapped (holes not counted). */
uint64_t
extent_map_pages(const struct extent_map *m)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < m->n; i++)
		sum += m->v[i].npages;
	return sum;
}

/* extent_map_end -- one past the last mapped file page, 0 when empty. */
uint64_t
extent_map_end(const struct extent_map *m)
{
	return m->n ? end_of(&m->v[m->n - 1]) : 0;
}

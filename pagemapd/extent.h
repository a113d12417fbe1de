/* extent.h -- a file's extent map: file pages -> region pages (pure). */
#ifndef PAGEMAP_EXTENT_H
#define PAGEMAP_EXTENT_H

#include <stddef.h>
#include <stdint.h>

/* One run of npages file pages starting at file_pg, stored at region pages
 * starting at region_pg. slot is the index of its persistent record in the
 * extent table (UINT32_MAX while it has none). */
struct extent {
	uint64_t file_pg;
	uint64_t region_pg;
	uint64_t npages;
	uint32_t slot;
};

/* Extents sorted by file_pg, never overlapping in file space. */
struct extent_map {
	struct extent *v;
	size_t n;
	size_t cap;
};

/* extent_map_init -- an empty map; no allocation. */
void extent_map_init(struct extent_map *m);

/* extent_map_fini -- free the map's storage; the map is empty after. */
void extent_map_fini(struct extent_map *m);

/* extent_map_insert -- add @e (npages > 0) in file order. Returns 0,
 * -EEXIST if it overlaps an extent in file space, -ENOMEM; on error the
 * map is unchanged. Adjacent extents are not merged (each keeps its slot). */
int extent_map_insert(struct extent_map *m, const struct extent *e);

/* extent_map_find -- index of the first extent that ends after @file_pg
 * (the one containing it, or the next one); m->n if none. */
size_t extent_map_find(const struct extent_map *m, uint64_t file_pg);

/* extent_map_lookup -- the extent containing @file_pg, or NULL (a hole). */
const struct extent *extent_map_lookup(const struct extent_map *m,
				       uint64_t file_pg);

/* extent_map_remove_at -- drop the extent at index @i (< m->n). */
void extent_map_remove_at(struct extent_map *m, size_t i);

/* extent_map_pages -- total file pages mapped. */
uint64_t extent_map_pages(const struct extent_map *m);

/* extent_map_end -- one past the last mapped file page, 0 when empty. */
uint64_t extent_map_end(const struct extent_map *m);

#endif

/* alloc.h -- the region page allocator (pure: a DRAM bitmap, no I/O). */
#ifndef PAGEMAP_ALLOC_H
#define PAGEMAP_ALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "extent.h"

/*
 * The allocator owns a bitmap with one bit per region page (page 0 is the
 * first page of the region file), 1 = allocated, laid out exactly like the
 * persistent bitmap (bit i of byte i/8, LSB first), so the caller journals
 * the bytes it changed by copying them from alloc_bitmap(). Only pages in
 * [first_pg, first_pg + npages) are ever handed out.
 *
 * Placement (I8): for file pages [file_pg, file_pg + n) it prefers region
 * pages with region_pg == file_pg (mod 2^max_order), so that the tiling of
 * the file range into naturally aligned folios is also naturally aligned in
 * the region and 2 MiB (or larger) folios come out. When no such run is
 * free it splits the range at folio boundaries and places each piece with
 * the largest alignment it can still honour, down to single pages.
 */
struct alloc;

/* alloc_new -- an allocator for region pages [first_pg, first_pg + npages)
 * of a region of @region_pages pages, all free. Returns 0 or -ENOMEM /
 * -EINVAL; *ret untouched on failure. */
int alloc_new(uint64_t region_pages, uint64_t first_pg, uint64_t npages,
	      uint32_t max_order, struct alloc **ret);

/* alloc_delete -- free @a (NULL is fine). */
void alloc_delete(struct alloc *a);

/* alloc_mark_used -- mark [pg, pg + n) allocated (used when loading a
 * region). Returns 0, -ERANGE if outside the data area, -EEXIST if any page
 * is already allocated (nothing changed then). */
int alloc_mark_used(struct alloc *a, uint64_t pg, uint64_t n);

/* alloc_reserve -- allocate backing for file pages [file_pg, file_pg + n):
 * fills @ret_ext[0..count) with extents (file_pg, region_pg, npages, slot =
 * UINT32_MAX) in file order, adjacent ones merged, and marks them used.
 * Returns the count (>= 1), -ENOSPC if fewer than n pages are free, -E2BIG
 * if more than @max_ext extents would be needed; on error nothing changed. */
int alloc_reserve(struct alloc *a, uint64_t file_pg, uint64_t n,
		  struct extent *ret_ext, size_t max_ext);

/* alloc_release -- mark [pg, pg + n) free; every page must be allocated
 * (asserted). */
void alloc_release(struct alloc *a, uint64_t pg, uint64_t n);

/* alloc_is_free -- true if every page of [pg, pg + n) is free. */
bool alloc_is_free(const struct alloc *a, uint64_t pg, uint64_t n);

/* alloc_free_pages / alloc_total_pages -- counts over the data area. */
uint64_t alloc_free_pages(const struct alloc *a);
uint64_t alloc_total_pages(const struct alloc *a);

/* alloc_bitmap -- the bitmap bytes (region_pages / 8 rounded up). */
const uint8_t *alloc_bitmap(const struct alloc *a);

#endif

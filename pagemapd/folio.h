/* folio.h -- folio tiling arithmetic (pure, no I/O). */
#ifndef PAGEMAP_FOLIO_H
#define PAGEMAP_FOLIO_H

#include <stddef.h>
#include <stdint.h>

/*
 * A folio is a naturally aligned power-of-two run of 4 KiB pages: order k
 * spans 2^k pages and starts at a multiple of 2^k. A grant hands out a
 * folio that is naturally aligned both in the file and in the region (I8),
 * so a client can map it with huge pages. Within one extent the region page
 * is file page + d for a fixed d, so the largest usable order anywhere in
 * it is min(ctz(d), max_order); tiling greedily with the largest aligned
 * folio that fits gives the fewest folios.
 */

struct folio {
	uint64_t file_pg; /* first file page */
	uint64_t region_pg; /* first region page */
	uint32_t order; /* 2^order pages */
};

/* folio_order_at -- order of the largest folio that starts at file page
 * @file_pg / region page @region_pg, is aligned in both, spans at most
 * @npages (>= 1) pages and has order <= @max_order. */
uint32_t folio_order_at(uint64_t file_pg, uint64_t region_pg, uint64_t npages,
			uint32_t max_order);

/* folio_tile -- tile file pages [file_pg, file_pg + npages), stored at
 * region pages from @region_pg on (one extent), into maximal folios: write
 * at most @max of them to @out, in file order. Returns the number written
 * and sets *ret_pages to the pages they cover (< npages when @max ran
 * out). */
size_t folio_tile(uint64_t file_pg, uint64_t region_pg, uint64_t npages,
		  uint32_t max_order, struct folio *out, size_t max,
		  uint64_t *ret_pages);

/* folio_count -- how many folios folio_tile() would produce for the whole
 * range (no output). */
uint64_t folio_count(uint64_t file_pg, uint64_t region_pg, uint64_t npages,
		     uint32_t max_order);

#endif

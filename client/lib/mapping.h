/* mapping.h -- region fds and mappings: VM reservations, libpmem2, the
 * kept reservation. */
#ifndef PAGEMAP_MAPPING_H
#define PAGEMAP_MAPPING_H

#include "internal.h"

/* rfd_current -- the fd new mappings of @region use, or NULL. */
struct rfd *rfd_current(struct pagemap *pm, const char *region);

/* rfd_install -- make @r (filled in by the caller) the current fd of its
 * region, retiring the one it replaces. */
void rfd_install(struct pagemap *pm, struct rfd *r);

/* mapping_destroy -- pagemap_unmap() @m for pagemap_close(); if it cannot
 * even be unmapped it is forgotten (its memory stays reserved). */
void mapping_destroy(struct pagemap_mapping *m);

/* rsv_release -- unmap the reservation @r and whatever was mapped in it;
 * a reservation whose base is NULL is none. */
void rsv_release(struct rsv *r);

/* add_folio -- append a folio to @m's runs. 0 or -ENOMEM. */
int add_folio(struct pagemap_mapping *m, uint64_t file_off,
	      uint64_t region_off, uint64_t size);

/* mapping_cleanup -- close every region fd and release the kept
 * reservation of @pm, whose leases are gone. */
void mapping_cleanup(struct pagemap *pm);

#endif

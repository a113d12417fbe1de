/* client.h -- libpagemap helpers the figures share. */
#ifndef PAGEMAP_BENCH_CLIENT_H
#define PAGEMAP_BENCH_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "pagemap.h"

#define ORDERS 19 /* folio orders 0 .. 18 */

/* client_grant_range -- grant [@offset, @offset + @length) as raw grants,
 * one Map request per @max folios (the size of @buf); *ret_folios gets
 * how many, and @order_bytes (NULL: not wanted, else ORDERS entries) adds
 * the bytes granted per folio order. 0 or -errno after saying why. */
int client_grant_range(struct pagemap_lease *l, uint64_t offset,
		       uint64_t length, struct pagemap_folio *buf, size_t max,
		       uint64_t *ret_folios, uint64_t *order_bytes);

/* client_create -- create @region/@name of @size bytes (mode 0644),
 * saying why on failure. 0 or -errno. */
int client_create(struct pagemap *pm, const char *region, const char *name,
		  uint64_t size);

/* client_create_n -- create @n files of @size bytes in @region, the i-th
 * named by @fmt (one %u) with i, saying why on failure. 0 or -errno. */
int client_create_n(struct pagemap *pm, const char *region, const char *fmt,
		    unsigned n, uint64_t size)
	__attribute__((format(printf, 3, 0)));

/* client_lease -- a lease on @region/@name, saying why on failure. */
int client_lease(struct pagemap *pm, const char *region, const char *name,
		 enum pagemap_access access, struct pagemap_lease **ret);

/* client_lease_grants -- how many grants lease @id holds, per the
 * daemon's lease listing of @region/@name (0 when it is not listed),
 * saying why on failure. 0 or -errno. */
int client_lease_grants(struct pagemap *pm, const char *region,
			const char *name, uint64_t id, uint64_t *ret);

/* region_size_for -- bytes of a region (max order 9 or less) with @data
 * bytes of file data and @inodes inode slots, metadata included. */
uint64_t region_size_for(uint64_t data, uint64_t inodes);

#endif

/* requests.h -- one call per request: the daemon's requests that are not
 * listings, and the lease and grant requests mappings build on. */
#ifndef PAGEMAP_REQUESTS_H
#define PAGEMAP_REQUESTS_H

#include "internal.h"
#include "wire.h"

/* lease_find -- this handle's lease with @id, or NULL. */
struct pagemap_lease *lease_find(struct pagemap *pm, uint64_t id);

/* lease_free -- unlink and free @l, which has no mappings. */
void lease_free(struct pagemap_lease *l);

/* req_release -- LeaseRelease for @l; a lease the daemon no longer knows
 * (revoked, detached) counts as released. */
int req_release(struct pagemap_lease *l);

/* page_range -- [offset, offset + length) rounded out to pages; -EINVAL
 * when it is empty or does not fit in 64 bits. */
int page_range(uint64_t offset, uint64_t length, uint64_t *ret_start,
	       uint64_t *ret_end);

/* req_map -- one Map request for the page range [start, end) of @l,
 * running @overlap(@arg) (if any) while it is in flight; the reply is
 * checked against the protocol (folios tile the range from @start on,
 * each naturally aligned in file and region, inside the region and the
 * lease's max order) and returned in *ret_msg and *ret_map; *ret_next is
 * where the grants end and the next request starts. With @words (the
 * daemon granted CAP_CACHED_GRANTS) the folios come with state words, and
 * the word table that comes with the first such reply is installed. */
int req_map(struct pagemap_lease *l, uint64_t start, uint64_t end,
	    enum pagemap_access access, bool words, struct wire_msg *ret_msg,
	    struct wire_map *ret_map, uint64_t *ret_next,
	    void (*overlap)(void *), void *arg);

/* req_unmap -- one Unmap request; adds the count to *@returned (may be
 * NULL). With @nowait, only send it: its reply is read by a later call. */
int req_unmap(struct pagemap_lease *l, uint64_t offset, uint64_t length,
	      uint64_t *returned, bool nowait);

/* req_return_range -- return the grants of @l over the page range [a, b)
 * except where another of @l's mappings still lies (those come back with
 * the last mapping over them). The first error is returned. */
int req_return_range(struct pagemap_lease *l, uint64_t a, uint64_t b,
		     bool nowait);

#endif

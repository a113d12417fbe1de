/* query.h -- read-only listings of the daemon's state (`lease ls`, `grant
 * ls`, `client ls`, `file ls`), in the order their cursors page them. */
#ifndef PAGEMAP_QUERY_H
#define PAGEMAP_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "wire.h"

struct client;
struct ipc_peer;
struct region;
struct server;

/* query_files -- the named files of @r from inode slot @cursor on: at most
 * @max into @out. *ret_next is the slot to go on from (inode_count: the
 * end). Returns how many. */
size_t query_files(const struct region *r, uint64_t cursor,
		   struct file_info *out, size_t max, uint64_t *ret_next);

/* query_leases -- leases @viewer may see (NULL: all; see query.c) with id
 * > @after on @region/@name ("": any), sorted by id: at most @max rows
 * into @out (their strings point into the state). Returns how many there
 * are (may exceed @max) or -ENOMEM; *ret_hidden gets how many @viewer may
 * not see up to the last row in @out (to the end when all fit). */
ssize_t query_leases(const struct server *srv, const struct ipc_peer *viewer,
		     const char *region, const char *name, uint64_t after,
		     struct lease_info *out, size_t max, uint64_t *ret_hidden);

/* query_grants -- grants of the leases @viewer may see (as query_leases()),
 * of lease @lease_id / process @pid (0: any) in
 * (lease id, file offset) order after the row (@after_lease,
 * @after_offset): @max rows into @out, and up to @slack more so that rows
 * equal in both keys are never split across pages. Returns the count or
 * -ENOMEM; *ret_more tells whether rows are left, *ret_hidden how many
 * grants of leases @viewer may not see lie within the page's span. */
ssize_t query_grants(const struct server *srv, const struct ipc_peer *viewer,
		     uint64_t lease_id, uint32_t pid, uint64_t after_lease,
		     uint64_t after_offset, struct grant_row *out, size_t max,
		     size_t slack, bool *ret_more, uint64_t *ret_hidden);

/* query_clients -- clients with id > @after, sorted by id, into *ret
 * (malloc'd); @pending gives each one's queued replies. Unless @viewer is
 * NULL, an administrator or of the client's uid, pid, comm and name are
 * left empty. Returns how many or -ENOMEM. */
ssize_t query_clients(const struct server *srv, const struct ipc_peer *viewer,
		      uint64_t after,
		      uint32_t (*pending)(const struct client *c),
		      struct client_info **ret);

/* query_lease_page, query_grant_page, query_client_page,
 * query_blocker_page -- one reply page of the listing @rq asks for, as
 * @viewer may see it (see query.c), packed into @out (@cap bytes): its
 * length, -ENOMEM, or a negative length when it does not fit (see
 * wire.h). @pending as for query_clients(); @fields as for
 * wire_blockers(); with @hidden (the client announced
 * WIRE_CAP_LISTING_HIDDEN) the page counts the rows it left out. */
ssize_t query_lease_page(const struct server *srv,
			 const struct ipc_peer *viewer,
			 const struct wire_request *rq, bool hidden,
			 uint8_t *out, size_t cap);
ssize_t query_grant_page(const struct server *srv,
			 const struct ipc_peer *viewer,
			 const struct wire_request *rq, bool hidden,
			 uint8_t *out, size_t cap);
ssize_t query_client_page(const struct server *srv,
			  const struct ipc_peer *viewer,
			  const struct wire_request *rq,
			  uint32_t (*pending)(const struct client *c),
			  uint8_t *out, size_t cap);
ssize_t query_blocker_page(const struct server *srv,
			   const struct ipc_peer *viewer,
			   const struct wire_request *rq, bool fields,
			   bool hidden, uint8_t *out, size_t cap);

#endif

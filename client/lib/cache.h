/* cache.h -- libpagemap's cached grants: the process's table of state
 * words, the grants kept under each lease after unmap, maps from them
 * without a message, and the Taken messages that hand grants back. */
#ifndef PAGEMAP_CACHE_H
#define PAGEMAP_CACHE_H

#include "internal.h"
#include "wire.h"

/* cache_install -- @fd (always consumed), the word table named @id that
 * came on a map reply, becomes the handle's, unless it already has it.
 * 0 or -EPROTO (not a table the daemon could have made). */
int cache_install(struct pagemap *pm, int fd, uint64_t id);

/* cache_hello -- a HelloReply named @id as the process's table: a handle
 * whose table has another id lost it (the daemon restarted), and forgets
 * it and every cached grant; mappings made with it are returned by Unmap
 * when they end. */
void cache_hello(struct pagemap *pm, uint64_t id);

/* cache_map -- map nothing yet, but take @m's folios for [start, end)
 * from @l's cached grants (each one's word moved to mapped): 0 with m's
 * runs and words filled, or -ENOENT when the cache does not tile the
 * range (nothing changed, every word begun is ended again). */
int cache_map(struct pagemap_lease *l, struct pagemap_mapping *m,
	      uint64_t start, uint64_t end);

/* cache_note -- folio @i of a map reply @r, at file offset @off, goes
 * into @m: its word, if it has one, is recorded (not yet begun). */
int cache_note(struct pagemap_mapping *m, const struct wire_map *r, size_t i,
	       uint64_t off);

/* cache_ahead -- folio @i of a map reply @r, at file offset @off, was
 * granted ahead with @access: it is kept under @l, cached. */
int cache_ahead(struct pagemap_lease *l, const struct wire_map *r, size_t i,
		uint64_t off, enum pagemap_access access);

/* cache_begin -- every word noted in @m is moved to mapped and its grant
 * kept under the lease. 0, or -EBUSY when the daemon already took one back
 * (a recall came in between; everything is undone), -EPROTO (a slot past
 * the table), -ENOMEM. */
int cache_begin(struct pagemap_mapping *m);

/* cache_end -- after @m's memory is unmapped: each of its words goes back
 * to cached, or, under a recall, to taken, which one Taken message (not
 * waited for) tells the daemon; then the bounds are kept. */
int cache_end(struct pagemap_mapping *m);

/* cache_holds -- whether @l keeps a grant reaching into [a, b). */
bool cache_holds(const struct pagemap_lease *l, uint64_t a, uint64_t b);

/* cache_lease_free -- forget @l's cached grants (the daemon ends them
 * with the lease). */
void cache_lease_free(struct pagemap_lease *l);

/* cache_cleanup -- forget the table (close, unmap) and the clock. */
void cache_cleanup(struct pagemap *pm);

#endif

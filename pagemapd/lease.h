/* lease.h -- leases on inodes and the folio grants under them (pure). */
#ifndef PAGEMAP_LEASE_H
#define PAGEMAP_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"

struct inode;
struct gtable;
struct pintab;
struct region;

/*
 * Invariants (DESIGN I1, I2, I8):
 *  - a grant is one folio handed to one lease; it belongs to exactly one
 *    lease, and a lease to one owner (client) and one inode;
 *  - ino->grants is the sum of ngrants over the inode's leases, and
 *    region->pins the sum over the region's inodes (the pgmap counter);
 *  - a lease with grants is never freed (lease_free asserts it), and an
 *    inode with leases is never freed, so no granted byte can be freed,
 *    reallocated or zeroed: truncate, unlink, revoke and detach wait
 *    (ops.c through recall.c) until the grants in their scope are back;
 *  - no grant is handed out inside the scope of a pending recall: a
 *    revoking lease, a truncate's range past the new end (ino->trunc_pg),
 *    a detaching region.
 * Grants are records: mapping a range twice grants it twice. A lease keeps
 * its grants in an array sorted by file page, so a map that extends a range
 * appends and an unmap finds its range by binary search.
 *
 * Pins outlive the daemon (I6): a lease with a pin table (l->pins, set by
 * its owner; NULL in unit tests) has every grant written there as a
 * PIN_GRANT record before lease_map() returns it, so before any reply can
 * tell of it, and deleted when it is returned. A table that cannot grow
 * (a full tmpfs) makes the map fail with nothing granted.
 *
 * Cached grants (I1b): a map that asks for words (lease_map's @words) gives
 * each grant a state word in the owner's table (l->words, gtable.h), which
 * the holder moves between cached and mapped without asking (gword.h). A
 * grant with a word is freed only when the daemon's own compare-and-swap
 * took it from CACHED, or when the daemon recalled it and then read it
 * TAKEN at its generation; a word the holder scribbled on counts as
 * mapped. Whoever wants such a grant back (a recall, an Unmap, a release,
 * the holder's Taken) goes through lease_take_back() or lease_taken().
 * The end of the owner's process (lease_unmap_all()) frees them all.
 */

enum lease_access {
	LEASE_READ = 1,
	LEASE_WRITE = 2,
};

struct grant {
	uint64_t file_pg;
	uint64_t region_pg;
	uint8_t order; /* 2^order pages */
	uint8_t access; /* enum lease_access */
	uint8_t recalled; /* its word was moved to RECALLING by the daemon */
	uint8_t pad_;
	uint32_t slot; /* its PIN_GRANT record in the lease's pin table */
	uint32_t wslot; /* its state word in the owner's gtable (gen != 0) */
	uint32_t gen; /* the word's generation; 0: no word (not cached) */
};

struct lease {
	uint64_t id;
	struct region *region;
	struct inode *ino;
	void *owner; /* the client (client.c); opaque here */
	enum lease_access access;
	bool revoking; /* a revoke is pending: no new grants */
	struct grant *grants; /* sorted by file_pg; ngrants used */
	size_t ngrants;
	size_t cap;
	uint64_t pages; /* pages under the grants (overlaps counted twice) */
	struct lease *ino_prev; /* the inode's leases */
	struct lease *ino_next;
	struct list_node own; /* the owner's leases (kept by client.c) */
	struct lease *hnext; /* lease id hash chain (kept by client.c) */
	struct pintab *pins; /* the owner's pin table here, or NULL */
	struct gtable *words; /* the owner's state words, or NULL */
	uint32_t pin_slot; /* its PIN_LEASE record there (client.c) */
};

_Static_assert(sizeof(struct grant) == 32, "a grant is 32 bytes");

/* lease_new -- a lease of @access on @ino of @r for @owner, with id @id.
 * Returns 0, -ENOENT (@ino is an orphan: its name is gone), -EBUSY (the
 * region is detaching) or -ENOMEM; *ret untouched on failure. */
int lease_new(struct region *r, struct inode *ino, void *owner,
	      enum lease_access access, uint64_t id, struct lease **ret);

/* lease_restore -- the lease @id of @access on @ino of @r for @owner, as
 * a pin table kept it across a daemon restart (I6): an orphan's too.
 * Returns 0 or -ENOMEM; *ret untouched on failure. */
int lease_restore(struct region *r, struct inode *ino, void *owner,
		  enum lease_access access, uint64_t id, struct lease **ret);

/* lease_restore_grant -- put back grant @g (its slot included) under @l,
 * counted as if granted now. Returns 0, -EUCLEAN when @g is not a folio of
 * @l's file as its extents map it now (not naturally aligned, past the
 * file, another region page, above the lease's access), or -ENOMEM. */
int lease_restore_grant(struct lease *l, const struct grant *g);

/* lease_free -- end a lease that has no grants (asserted). The caller frees
 * an orphan inode whose last lease this was. NULL is fine. */
void lease_free(struct lease *l);

/* lease_map -- grant the maximal folios tiling file pages [pg, pg + n):
 * at most @max of them, written to @out and recorded under @l, without
 * state words. Sets
 * *ret_next_pg to the first page not granted (pg + n when done). Returns
 * the count (>= 1), or -EINVAL (n == 0), -EACCES (@access above the
 * lease's), -ENXIO (a page past the file's allocated pages), -EBUSY (a
 * recall covers the range), -ENOSPC (the pin table cannot grow), -ENOMEM;
 * nothing is granted (nor left in the pin table) on failure. */
int lease_map(struct lease *l, uint64_t pg, uint64_t n,
	      enum lease_access access, struct grant *out, size_t max,
	      uint64_t *ret_next_pg);

/* lease_map_words -- lease_map(), each grant with a state word in l->words
 * (CACHED) while the table has room, gen 0 past that (and without a
 * table). */
int lease_map_words(struct lease *l, uint64_t pg, uint64_t n,
		    enum lease_access access, struct grant *out, size_t max,
		    uint64_t *ret_next_pg);

/* lease_unmap -- return every grant of @l intersecting [pg, pg + n):
 * those without a word at once, those with one as lease_take_back() takes
 * them (never one the holder maps). Returns how many were freed. */
uint64_t lease_unmap(struct lease *l, uint64_t pg, uint64_t n);

/* lease_take_back -- take back the grants with a word of @l intersecting
 * [pg, pg + n): each cached one is freed now (its word TAKEN by the
 * daemon's CAS); each mapped one is moved to RECALLING and marked
 * recalled. Sets *ret_freed to how many were freed; returns how many
 * grants of @l in the range are left (mapped, recalled, scribbled on, or
 * without a word), which a recall must ask for. */
uint64_t lease_take_back(struct lease *l, uint64_t pg, uint64_t n,
			 uint64_t *ret_freed);

/* lease_taken -- the holder hands back the grant of @l at @file_pg whose
 * word is @wslot at @gen: a recalled one is freed if its word reads TAKEN
 * at @gen, any other is taken back as lease_take_back() does. Returns 1
 * when it was freed, 0 when not (no such grant, or its word says mapped). */
int lease_taken(struct lease *l, uint64_t file_pg, uint32_t wslot,
		uint32_t gen);

/* lease_grant_state -- 0 mapped (or no word), 1 cached, 2 recalled: what
 * `grant ls` shows of @g under @l (a peek at its word; decides nothing). */
unsigned lease_grant_state(const struct lease *l, const struct grant *g);

/* lease_ungranted_to -- the end of the run of file pages from @pg on
 * (at most to @limit) that no grant of @l covers. */
uint64_t lease_ungranted_to(const struct lease *l, uint64_t pg,
			    uint64_t limit);

/* lease_adopt_words -- after a daemon restart, @l (restored from a pin
 * table, its grants without words) takes the word table @t its holder
 * handed back: each grant whose pin record names a word claims it
 * (gtable_claim()); the others stay without one. Returns how many claimed.
 * The caller ends the claims with gtable_claimed(). */
int lease_adopt_words(struct lease *l, struct gtable *t);

/* lease_drop_words -- @l's grants lose their words (their slots freed):
 * from now on they are grants without a word, recalled by event. */
void lease_drop_words(struct lease *l);

/* lease_unmap_all -- return every grant of @l. Returns how many. */
uint64_t lease_unmap_all(struct lease *l);

/* lease_grants_from -- grants of @l that reach file page @pg or past. */
uint64_t lease_grants_from(const struct lease *l, uint64_t pg);

/* inode_grants_from -- the same over every lease of @ino. */
uint64_t inode_grants_from(const struct inode *ino, uint64_t pg);

#endif

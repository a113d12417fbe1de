/* journal.h -- the redo journal that makes metadata updates atomic (I7). */
#ifndef PAGEMAP_JOURNAL_H
#define PAGEMAP_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "media.h"

/*
 * Protocol (a redo log of whole transactions, checkpointed):
 *
 *  1. journal_add() stages (offset, bytes) writes in DRAM; the region is not
 *     touched, so a failed operation is abandoned with journal_abort().
 *  2. journal_commit() appends header + records to the log in the journal
 *     area and persists them in one persist call: the commit point. The
 *     header's CRC covers header and payload, so a torn append fails its
 *     CRC and is ignored: the transaction did not happen.
 *  3. It then copies every record to its home location, without a
 *     persist: the homes become durable at the next checkpoint, which
 *     happens when the log is full (before it starts over at offset 0),
 *     at journal_checkpoint() (detach) and after recovery.
 *     journal_recover() replays the chain of transactions that starts at
 *     offset 0 -- everything since the last checkpoint. Replay is
 *     idempotent (whole byte images), so the log is never cleared.
 *
 * All metadata writes go through here, so the on-media state is always the
 * state after some whole number of transactions.
 */

struct journal {
	struct pm_media *media;
	uint64_t off; /* journal area, bytes */
	uint64_t size;
	uint64_t seq; /* of the last committed transaction */
	uint64_t pos; /* where the next transaction goes, area-relative */
	uint64_t dirty_lo, dirty_hi; /* home writes since the checkpoint */
	uint8_t *buf; /* header slot + staged payload, up to size */
	uint64_t used; /* bytes staged */
	uint32_t nrecs;
	/* A DRAM copy of [0, shadow_len) of the media that every applied
	 * record updates too (the region's superblock: DRAM stays
	 * authoritative, nothing is read back from the media). */
	void *shadow;
	uint32_t shadow_len;
};

/* journal_init -- bind @j to the area [off, off + size) of @m; allocates
 * the staging buffer. Returns 0 or -ENOMEM / -EINVAL. */
int journal_init(struct journal *j, struct pm_media *m, uint64_t off,
		 uint64_t size);

/* journal_fini -- free the staging buffer (a half-built @j is fine). */
void journal_fini(struct journal *j);

/* journal_format -- write an empty journal (no valid transaction) and
 * persist it. Returns 0 or -errno from persist. */
int journal_format(struct journal *j);

/* journal_recover -- apply (again) the chain of committed transactions
 * at the start of the log, checkpoint, and continue numbering after the
 * largest seq found in the area. Returns 1 if any was applied, 0 if none,
 * -EUCLEAN if a valid header names writes outside the region, -errno
 * from persist. */
int journal_recover(struct journal *j);

/* journal_add -- stage writing @len bytes of @data at region offset @off.
 * Returns 0, -EINVAL (outside the region or inside the journal), or
 * -E2BIG when the transaction would not fit in the journal (the caller
 * must journal_abort()). */
int journal_add(struct journal *j, uint64_t off, const void *data,
		uint32_t len);

/* journal_commit -- make the staged transaction durable, then apply it.
 * Returns 0 (the transaction happened), or -errno from persist, in which
 * case the caller must treat the region as failed (the in-place state
 * is unknown until the next recovery). An empty transaction is a no-op. */
int journal_commit(struct journal *j);

/* journal_checkpoint -- make every home write since the last checkpoint
 * durable (one persist of their span); the log may then start over.
 * Returns 0 or -errno from persist. */
int journal_checkpoint(struct journal *j);

/* journal_abort -- drop the staged transaction. */
void journal_abort(struct journal *j);

/* A point in the staged transaction to roll back to: several operations
 * can share one transaction (group commit), and one that fails takes back
 * only its own records. */
struct journal_mark {
	uint64_t used;
	uint32_t nrecs;
};

/* journal_mark -- the staging position now. */
struct journal_mark journal_mark(const struct journal *j);

/* journal_rollback -- drop what was staged after @mark. */
void journal_rollback(struct journal *j, struct journal_mark mark);

/* journal_staged -- true if a transaction is being staged. */
static inline bool
journal_staged(const struct journal *j)
{
	return j->nrecs != 0;
}

/* journal_room -- bytes still free for staging (for callers that split
 * their work or fail early). */
uint64_t journal_room(const struct journal *j);

#endif

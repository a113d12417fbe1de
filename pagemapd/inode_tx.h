/* inode_tx.h -- one journal transaction of a file operation under
 * construction (private to inode_io.c and inode_tx.c): the records it
 * stages, the pages it reserves or frees, and how it ends (commit, or
 * abort giving back what it reserved). */
#ifndef PAGEMAP_INODE_TX_H
#define PAGEMAP_INODE_TX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "extent.h"
#include "inode.h"
#include "journal.h"
#include "layout.h"

struct ext_img {
	uint32_t slot; /* extent table index */
	struct pm_extent rec;
};

struct run {
	uint64_t pg, n; /* region pages */
	bool clear;	/* freed by the transaction, else newly reserved */
};

/* One transaction under construction. Inode and superblock records go to
 * the journal at once; extent records and bitmap runs are collected and
 * staged in offset order by tx_stage(), which merges neighbours into one
 * journal record (and neighbouring bitmap runs into one byte image, which
 * is also the only correct way when two runs share a byte). */
struct tx {
	struct inode_table *tab;
	struct ext_img *ext;
	size_t next, ext_cap;
	struct run *run;
	size_t nrun, run_cap;
	uint32_t new_slots;   /* extent slots taken */
	uint32_t freed_slots; /* extent slots released */
	uint32_t hint;	      /* extent_hint after the commit */
	/* reserve() appends to an inode's map in place (so that growing a
	 * file costs nothing per extent it already has); this is how
	 * tx_abort() takes the appends back. */
	struct extent_map *map; /* NULL: untouched */
	size_t map_n;		/* its length before */
	uint64_t last_npages;	/* its last extent's length before */
	/* Under group commit several operations share the journal's staged
	 * transaction: an abort rolls back to where this one began. */
	struct journal_mark mark;
	uint32_t *picked; /* extent slots taken by this operation */
	size_t npicked, picked_cap;
};

/* ext_used / set_ext_used -- whether extent slot @e is in use (DRAM). */
bool ext_used(const struct inode_table *tab, uint32_t e);
void set_ext_used(struct inode_table *tab, uint32_t e, bool used);

/* tx_init -- begin a transaction of @tab at the journal's current mark. */
void tx_init(struct tx *t, struct inode_table *tab);

/* grow_array -- make room for @need elements of @size bytes in *@v
 * (capacity *@cap, doubled). Returns 0 or -ENOMEM. */
int grow_array(void **v, size_t *cap, size_t need, size_t size);

/* tx_extent -- set extent slot @eslot to @e owned by inode @owner, or free
 * it when @e is NULL. */
int tx_extent(struct tx *t, uint32_t eslot, uint32_t owner,
	      const struct extent *e);

/* tx_run -- mark region pages [pg, pg + n) used, or free (@clear). */
int tx_run(struct tx *t, uint64_t pg, uint64_t n, bool clear);

/* tx_inode -- stage inode slot @slot's record @rec. */
int tx_inode(struct tx *t, uint32_t slot, const struct pm_inode *rec);

/* tx_super -- the superblock with a new orphan list head and a new count
 * of slots in use (files and orphans). */
int tx_super(struct tx *t, uint32_t orphan_head, uint32_t live);

/* tx_stage -- stage the collected extent records and bitmap runs. */
int tx_stage(struct tx *t);

/* tx_abort -- drop the transaction and hand back what it reserved. */
void tx_abort(struct tx *t);

/* inode_fail -- the table failed after a write error: it takes no more
 * changes. Returns -EIO. */
int inode_fail(struct inode_table *tab);

/* tx_commit -- end the operation: commit at once, or, under group commit,
 * leave its records in the shared transaction for inode_commit(). */
int tx_commit(struct tx *t);

/* tx_end -- end @t: abort it if building it failed (@rc, returned), else
 * commit it (tx_commit's result); frees it either way. */
int tx_end(struct tx *t, int rc);

#endif

/* inode_tx.c -- one journal transaction of a file operation: records
 * staged in offset order (neighbouring extents and bitmap runs merged),
 * pages reserved or freed in the allocator, commit or abort (inode_io.c's
 * essay gives the rules). */
#include "inode_tx.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fault.h"
#include "media.h"

bool
ext_used(const struct inode_table *tab, uint32_t e)
{
	return tab->ext_used[e / 8] & (1u << (e % 8));
}

void
set_ext_used(struct inode_table *tab, uint32_t e, bool used)
{
	if (used)
		tab->ext_used[e / 8] |= (uint8_t)(1u << (e % 8));
	else
		tab->ext_used[e / 8] &= (uint8_t) ~(1u << (e % 8));
}

void
tx_init(struct tx *t, struct inode_table *tab)
{
	memset(t, 0, sizeof(*t));
	t->tab = tab;
	t->hint = tab->extent_hint;
	t->mark = journal_mark(tab->journal);
}

int
grow_array(void **v, size_t *cap, size_t need, size_t size)
{
	size_t c = *cap ? *cap : 8;
	void *p;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	p = fault_realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/* tx_extent -- set extent slot @eslot to @e owned by inode @owner, or free
 * it when @e is NULL. */
int
tx_extent(struct tx *t, uint32_t eslot, uint32_t owner, const struct extent *e)
{
	struct ext_img *img;

	if (grow_array((void **)&t->ext, &t->ext_cap, t->next + 1,
		       sizeof(*t->ext)))
		return -ENOMEM;
	img = &t->ext[t->next++];
	memset(img, 0, sizeof(*img));
	img->slot = eslot;
	if (e) {
		img->rec.slot = owner + 1;
		img->rec.file_pg = e->file_pg;
		img->rec.region_pg = e->region_pg;
		img->rec.npages = e->npages;
		layout_extent_seal(&img->rec);
	}
	return 0;
}

int
tx_run(struct tx *t, uint64_t pg, uint64_t n, bool clear)
{
	if (grow_array((void **)&t->run, &t->run_cap, t->nrun + 1,
		       sizeof(*t->run)))
		return -ENOMEM;
	t->run[t->nrun++] = (struct run){.pg = pg, .n = n, .clear = clear};
	return 0;
}

int
tx_inode(struct tx *t, uint32_t slot, const struct pm_inode *rec)
{
	return journal_add(t->tab->journal,
			   t->tab->sb->inode_off +
				   (uint64_t)slot * sizeof(*rec),
			   rec, sizeof(*rec));
}

/* tx_super -- the superblock with a new orphan list head and a new count
 * of slots in use (files and orphans): with the count, a torn write that
 * makes a live inode read as free is found at attach (verify.c). */
int
tx_super(struct tx *t, uint32_t orphan_head, uint32_t live)
{
	struct pm_super sb = *t->tab->sb;

	sb.orphan_head = orphan_head;
	sb.live_inodes = live;
	layout_super_seal(&sb);
	return journal_add(t->tab->journal, 0, &sb, sizeof(sb));
}

static int
cmp_ext(const void *a, const void *b)
{
	const struct ext_img *x = a, *y = b;

	return (x->slot > y->slot) - (x->slot < y->slot);
}

static int
cmp_run(const void *a, const void *b)
{
	const struct run *x = a, *y = b;

	return (x->pg > y->pg) - (x->pg < y->pg);
}

static int
stage_extents(struct tx *t)
{
	struct inode_table *tab = t->tab;
	struct pm_extent *buf;
	size_t i, k;
	int ret = 0;

	if (t->next == 0)
		return 0;
	qsort(t->ext, t->next, sizeof(*t->ext), cmp_ext);
	buf = fault_malloc(t->next * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < t->next && !ret; i = k) {
		buf[0] = t->ext[i].rec;
		for (k = i + 1;
		     k < t->next && t->ext[k].slot == t->ext[k - 1].slot + 1;
		     k++)
			buf[k - i] = t->ext[k].rec;
		if ((k - i) * sizeof(*buf) > UINT32_MAX) {
			ret = -E2BIG;
			break;
		}
		ret = journal_add(tab->journal,
				  tab->sb->extent_off +
					  (uint64_t)t->ext[i].slot *
						  sizeof(*buf),
				  buf, (uint32_t)((k - i) * sizeof(*buf)));
	}
	free(buf);
	return ret;
}

/* bits_clear -- clear bits for pages [pg, pg + n) in @buf, whose bit 0 is
 * page @base. */
static void
bits_clear(uint8_t *buf, uint64_t base, uint64_t pg, uint64_t n)
{
	uint64_t i = pg - base, end = i + n;

	for (; i < end && i % 8; i++)
		buf[i / 8] &= (uint8_t) ~(1u << (i % 8));
	if (end - i >= 8) {
		memset(buf + i / 8, 0, (end - i) / 8);
		i += (end - i) / 8 * 8;
	}
	for (; i < end; i++)
		buf[i / 8] &= (uint8_t) ~(1u << (i % 8));
}

/* stage_bitmap -- journal the bitmap bytes of every run. Reserved pages are
 * already set in the allocator's bitmap; freed ones are still set there
 * (they go back only after the commit) and are cleared in the image. */
static int
stage_bitmap(struct tx *t)
{
	struct inode_table *tab = t->tab;
	const uint8_t *bm = alloc_bitmap(tab->alloc);
	size_t i, k;
	int ret = 0;

	if (t->nrun == 0)
		return 0;
	qsort(t->run, t->nrun, sizeof(*t->run), cmp_run);
	for (i = 0; i < t->nrun && !ret; i = k) {
		uint64_t b0 = t->run[i].pg / 8;
		uint64_t b1 = (t->run[i].pg + t->run[i].n - 1) / 8;
		uint8_t *buf;

		for (k = i + 1; k < t->nrun && t->run[k].pg / 8 <= b1 + 1;
		     k++) {
			uint64_t e = (t->run[k].pg + t->run[k].n - 1) / 8;

			if (e > b1)
				b1 = e;
		}
		if (b1 - b0 + 1 > UINT32_MAX)
			return -E2BIG;
		buf = fault_malloc(b1 - b0 + 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, bm + b0, b1 - b0 + 1);
		for (size_t j = i; j < k; j++)
			if (t->run[j].clear)
				bits_clear(buf, b0 * 8, t->run[j].pg,
					   t->run[j].n);
		ret = journal_add(tab->journal, tab->sb->bitmap_off + b0, buf,
				  (uint32_t)(b1 - b0 + 1));
		free(buf);
	}
	return ret;
}

int
tx_stage(struct tx *t)
{
	int ret = stage_extents(t);

	return ret ? ret : stage_bitmap(t);
}

/* tx_abort -- drop the transaction and hand back what it reserved. */
void
tx_abort(struct tx *t)
{
	journal_rollback(t->tab->journal, t->mark);
	for (size_t i = 0; i < t->npicked; i++)
		set_ext_used(t->tab, t->picked[i], false);
	t->npicked = 0;
	for (size_t i = 0; i < t->nrun; i++)
		if (!t->run[i].clear)
			alloc_release(t->tab->alloc, t->run[i].pg, t->run[i].n);
	if (t->map) {
		t->map->n = t->map_n;
		if (t->map_n)
			t->map->v[t->map_n - 1].npages = t->last_npages;
		t->map = NULL;
	}
}

static void
tx_fini(struct tx *t)
{
	free(t->ext);
	free(t->run);
	free(t->picked);
}

/* inode_fail -- the table failed after a write error: it takes no more changes
 * (server.c logs it once). Returns -EIO for the operation that met
 * the error. */
int
inode_fail(struct inode_table *tab)
{
	tab->failed = true;
	return -EIO;
}

/* tx_commit -- end the operation: commit at once, or, under group commit,
 * leave its records in the shared transaction for inode_commit(). Freed
 * pages become allocatable only once the free is durable: reused earlier,
 * their zeroing could reach the media before a crash undid the free. */
int
tx_commit(struct tx *t)
{
	struct inode_table *tab = t->tab;

	if (tab->failed) {
		tx_abort(t);
		return -EROFS;
	}
	/* Room to remember the pages this operation frees, made while it
	 * can still be taken back. Forgotten, they would not merely stay
	 * used until the next attach: the allocator's bitmap bytes, still
	 * marking them used, would go to the media with the next operation
	 * whose runs share a byte with them. */
	if (tab->group_commit) {
		size_t nclear = 0;

		for (size_t i = 0; i < t->nrun; i++)
			nclear += t->run[i].clear;
		if (grow_array((void **)&tab->pending_free, &tab->pending_cap,
			       tab->npending_free + nclear,
			       sizeof(*tab->pending_free))) {
			tx_abort(t);
			return -ENOMEM;
		}
	}
	if (!tab->group_commit && journal_commit(tab->journal)) {
		/* The media state is unknown until the next attach replays
		 * the journal; DRAM keeps describing the old state. */
		journal_abort(tab->journal);
		tx_abort(t);
		return inode_fail(tab);
	}
	for (size_t i = 0; i < t->nrun; i++) {
		struct inode_run *p;

		if (!t->run[i].clear)
			continue;
		if (!tab->group_commit) {
			alloc_release(tab->alloc, t->run[i].pg, t->run[i].n);
			continue;
		}
		p = &tab->pending_free[tab->npending_free++];
		p->pg = t->run[i].pg;
		p->n = t->run[i].n;
	}
	for (size_t i = 0; i < t->next; i++)
		if (t->ext[i].rec.slot == 0)
			set_ext_used(tab, t->ext[i].slot, false);
	if (tab->group_commit)
		tab->batch_ops++;
	tab->free_extents = tab->free_extents - t->new_slots + t->freed_slots;
	tab->extent_hint = t->hint;
	return 0;
}

/* tx_end -- end @t: abort it if building it failed (@rc, returned), else
 * commit it (tx_commit's result); frees it either way. */
int
tx_end(struct tx *t, int rc)
{
	if (rc)
		tx_abort(t);
	else
		rc = tx_commit(t);
	tx_fini(t);
	return rc;
}

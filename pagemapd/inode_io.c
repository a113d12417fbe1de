/* inode_io.c -- the journaled operations on files: create, resize,
 * unlink, orphan, and the group commit of a batch of them. */
#include "inode_io.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fault.h"
#include "inode.h"
#include "journal.h"
#include "media.h"

/*
 * Every operation is one journal transaction (an unlink too large for one
 * is several, through the orphan list) built in three steps: work out the
 * new records (reserving pages in the allocator, which is DRAM only),
 * stage their images in the journal, end the operation (tx_commit()).
 *
 * Without group commit the transaction commits at once, and DRAM changes
 * only after it is durable. Under group commit (the daemon) several
 * operations share the journal's staged transaction and DRAM changes when
 * an operation is staged; the owner commits the batch before it tells
 * anyone of the result (inode_commit()), and pages the batch freed become
 * allocatable only once it is durable. Either way a failure before the
 * end of an operation takes back only what that operation staged and
 * reserved, so DRAM and the staged transaction stay in step. The media
 * state after a crash is that of a whole number of transactions, never
 * in between.
 *
 * A failed commit, or any failed persist, fails the table (t->failed): it
 * is never retried as if nothing had happened. After a failed msync or
 * fdatasync the kernel may have dropped the dirty pages and reports the
 * error once, so a second try can succeed over lost bytes; and after a
 * failed commit DRAM may be ahead of the media. A failed table refuses
 * every change with -EROFS from then on; what the next attach replays
 * from the journal is the truth.
 */

#define MAX_EXT_PER_TX 8192u
#define SIZE_LIMIT ((uint64_t)INT64_MAX) /* a file size fits off_t */

/* ---- record images ------------------------------------------------------ */

/* inode_image -- the sealed record of @ino as it stands. */
static void
inode_image(const struct inode *ino, struct pm_inode *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->flags = PM_INODE_USED | (ino->orphan ? PM_INODE_ORPHAN : 0);
	rec->gen = ino->gen;
	rec->orphan_next = ino->orphan_next;
	rec->size = ino->size;
	rec->mtime_ns = ino->mtime_ns;
	rec->uid = (uint32_t)ino->uid;
	rec->gid = (uint32_t)ino->gid;
	rec->mode = ino->mode;
	if (!ino->orphan) {
		rec->name_len = (uint32_t)strlen(ino->name);
		memcpy(rec->name, ino->name, rec->name_len);
	}
	layout_inode_seal(rec);
}

/* ---- transactions ------------------------------------------------------- */

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

static bool
ext_used(const struct inode_table *tab, uint32_t e)
{
	return tab->ext_used[e / 8] & (1u << (e % 8));
}

static void
set_ext_used(struct inode_table *tab, uint32_t e, bool used)
{
	if (used)
		tab->ext_used[e / 8] |= (uint8_t)(1u << (e % 8));
	else
		tab->ext_used[e / 8] &= (uint8_t) ~(1u << (e % 8));
}

static void
tx_init(struct tx *t, struct inode_table *tab)
{
	memset(t, 0, sizeof(*t));
	t->tab = tab;
	t->hint = tab->extent_hint;
	t->mark = journal_mark(tab->journal);
}

static int
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
static int
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

static int
tx_run(struct tx *t, uint64_t pg, uint64_t n, bool clear)
{
	if (grow_array((void **)&t->run, &t->run_cap, t->nrun + 1,
		       sizeof(*t->run)))
		return -ENOMEM;
	t->run[t->nrun++] = (struct run){.pg = pg, .n = n, .clear = clear};
	return 0;
}

static int
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
static int
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

static int
tx_stage(struct tx *t)
{
	int ret = stage_extents(t);

	return ret ? ret : stage_bitmap(t);
}

/* tx_abort -- drop the transaction and hand back what it reserved. */
static void
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

/* fail -- the table failed after a write error: it takes no more changes
 * (server.c logs it once). Returns -EIO for the operation that met
 * the error. */
static int
fail(struct inode_table *tab)
{
	tab->failed = true;
	return -EIO;
}

/* tx_commit -- end the operation: commit at once, or, under group commit,
 * leave its records in the shared transaction for inode_commit(). Freed
 * pages become allocatable only once the free is durable: reused earlier,
 * their zeroing could reach the media before a crash undid the free. */
static int
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
		return fail(tab);
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
static int
tx_end(struct tx *t, int rc)
{
	if (rc)
		tx_abort(t);
	else
		rc = tx_commit(t);
	tx_fini(t);
	return rc;
}

/* ---- slots -------------------------------------------------------------- */

static int
pick_inode_slot(struct inode_table *tab, uint32_t *ret)
{
	uint32_t count = tab->sb->inode_count;
	uint32_t s = tab->inode_hint < count ? tab->inode_hint : 0;

	for (uint32_t i = 0; i < count; i++) {
		if (!tab->inodes[s]) {
			*ret = s;
			return 0;
		}
		if (++s == count)
			s = 0;
	}
	return -ENOSPC;
}

/* pick_extent_slot -- the next free extent slot at or after t->hint; the
 * caller has checked that one exists. Slots freed by this operation stay
 * taken until it ends, so it never reuses its own. Returns UINT32_MAX
 * when out of memory. */
static uint32_t
pick_extent_slot(struct tx *t)
{
	uint32_t count = t->tab->sb->extent_count;
	uint32_t s = t->hint < count ? t->hint : 0;

	if (grow_array((void **)&t->picked, &t->picked_cap, t->npicked + 1,
		       sizeof(*t->picked)))
		return UINT32_MAX;
	while (ext_used(t->tab, s))
		if (++s == count)
			s = 0;
	set_ext_used(t->tab, s, true);
	t->picked[t->npicked++] = s;
	t->hint = s + 1 < count ? s + 1 : 0;
	return s;
}

/* ---- building blocks of the mutations ----------------------------------- */

/* reserve -- back file pages [file_pg, file_pg + n) of inode @owner, all
 * past the end of @map, with freshly zeroed region pages: the extents are
 * appended to @map, their records and bitmap runs go into @t. A first new
 * extent that continues the map's last one in both file and region is
 * merged into it rather than spending an extent slot. On error the pages
 * and the appends are still listed in @t, for tx_abort(). */
static int
reserve(struct tx *t, uint32_t owner, struct extent_map *map, uint64_t file_pg,
	uint64_t n)
{
	struct inode_table *tab = t->tab;
	struct extent *ext, *last = map->n ? &map->v[map->n - 1] : NULL;
	size_t max = tab->free_extents < MAX_EXT_PER_TX ? tab->free_extents
							: MAX_EXT_PER_TX;
	int cnt, ret = 0, i = 0;

	assert(extent_map_end(map) <= file_pg && !t->map);
	t->map = map;
	t->map_n = map->n;
	t->last_npages = last ? last->npages : 0;

	/* With no slot left a merge may still do. */
	if (max == 0 && last && last->file_pg + last->npages == file_pg)
		max = 1;
	if (max == 0)
		return -ENOSPC;
	ext = fault_malloc(max * sizeof(*ext));
	if (!ext)
		return -ENOMEM;
	cnt = alloc_reserve(tab->alloc, file_pg, n, ext, max);
	/* Cut short by the extent slots left, not by the transaction. */
	if (cnt == -E2BIG && max < MAX_EXT_PER_TX)
		cnt = -ENOSPC;
	if (cnt < 0) {
		free(ext);
		return cnt;
	}
	for (int k = 0; k < cnt; k++) {
		ret = tx_run(t, ext[k].region_pg, ext[k].npages, false);
		if (ret) {
			/* Not listed in @t: give back here. */
			for (int m = k; m < cnt; m++)
				alloc_release(tab->alloc, ext[m].region_pg,
					      ext[m].npages);
			goto out;
		}
	}
	/* No file may see another file's old bytes: zero before the
	 * transaction that hands the pages over. */
	for (int k = 0; k < cnt && !ret; k++)
		ret = tab->data ? media_data_clear(
					  tab->data,
					  ext[k].region_pg << PM_PAGE_SHIFT,
					  ext[k].npages << PM_PAGE_SHIFT,
					  tab->group_commit)
				: 0;
	if (ret)
		goto out;
	if (last && last->file_pg + last->npages == ext[0].file_pg &&
	    last->region_pg + last->npages == ext[0].region_pg) {
		last->npages += ext[0].npages;
		ret = tx_extent(t, last->slot, owner, last);
		i = 1;
	}
	if (!ret && (uint64_t)(cnt - i) > tab->free_extents)
		ret = -ENOSPC;
	for (; i < cnt && !ret; i++) {
		ext[i].slot = pick_extent_slot(t);
		if (ext[i].slot == UINT32_MAX) {
			ret = -ENOMEM;
			break;
		}
		t->new_slots++;
		ret = extent_map_insert(map, &ext[i]);
		if (!ret)
			ret = tx_extent(t, ext[i].slot, owner, &ext[i]);
	}
out:
	free(ext);
	return ret;
}

/* trim -- stage freeing every page of @map at or past file page
 * @new_pages: whole extents lose their record, the one straddling the end
 * is shortened. The map itself changes once the operation has ended
 * (tx_commit()), in trim_map(). */
static int
trim(struct tx *t, uint32_t owner, const struct extent_map *map,
     uint64_t new_pages)
{
	for (size_t i = map->n; i > 0; i--) {
		struct extent e = map->v[i - 1];
		uint64_t keep;
		int ret;

		if (e.file_pg + e.npages <= new_pages)
			break;
		if (e.file_pg >= new_pages) {
			ret = tx_run(t, e.region_pg, e.npages, true);
			if (!ret)
				ret = tx_extent(t, e.slot, owner, NULL);
			if (ret)
				return ret;
			t->freed_slots++;
			continue;
		}
		keep = new_pages - e.file_pg;
		ret = tx_run(t, e.region_pg + keep, e.npages - keep, true);
		if (ret)
			return ret;
		e.npages = keep;
		return tx_extent(t, e.slot, owner, &e);
	}
	return 0;
}

/* trim_map -- what trim() staged, done to @map; cannot fail. */
static void
trim_map(struct extent_map *map, uint64_t new_pages)
{
	while (map->n) {
		struct extent *e = &map->v[map->n - 1];

		if (e->file_pg + e->npages <= new_pages)
			break;
		if (e->file_pg < new_pages) {
			e->npages = new_pages - e->file_pg;
			break;
		}
		extent_map_remove_at(map, map->n - 1);
	}
}

/* zero_tail -- zero the bytes of @ino's last page past its size, so that
 * growing the file exposes zeroes, and make them durable. */
static int
zero_tail(struct inode_table *tab, const struct inode *ino)
{
	uint64_t in_page = ino->size & (PM_PAGE_SIZE - 1), fp, off;
	const struct extent *e;
	int rv;

	if (in_page == 0)
		return 0;
	fp = ino->size >> PM_PAGE_SHIFT;
	e = extent_map_lookup(&ino->map, fp);
	if (!e)
		return 0; /* a hole reads as zeroes */
	off = ((e->region_pg + (fp - e->file_pg)) << PM_PAGE_SHIFT) + in_page;
	rv = tab->data ? media_data_zero(tab->data, off, PM_PAGE_SIZE - in_page)
		       : 0;
	/* A failed persist is not retried: inode_io.c's essay says why. */
	return rv == -EIO ? fail(tab) : rv;
}

/* ---- mutations ---------------------------------------------------------- */

/* create -- one transaction: inode record, extents, bitmap. */
static int
create(struct inode_table *tab, const char *name, uint64_t size, uint32_t mode,
       uid_t uid, gid_t gid, struct inode **ret)
{
	struct inode *ino;
	struct pm_inode rec;
	struct tx t;
	uint32_t slot;
	int rc;

	rc = layout_name_valid(name);
	if (rc)
		return rc;
	if (size > SIZE_LIMIT)
		return -EINVAL;
	if (inode_find(tab, name))
		return -EEXIST;
	rc = pick_inode_slot(tab, &slot);
	if (rc)
		return rc;
	ino = fault_calloc(1, sizeof(*ino));
	if (!ino)
		return -ENOMEM;
	ino->trunc_pg = UINT64_MAX;
	ino->slot = slot;
	/* The free record keeps the slot's generation; a never-used slot
	 * is all zeroes. Bumping it makes a reused slot a new ino. */
	ino->gen = tab->gens[slot] + 1;
	ino->size = size;
	ino->mtime_ns = layout_now_ns();
	ino->uid = uid;
	ino->gid = gid;
	ino->mode = mode & 07777;
	strcpy(ino->name, name);
	extent_map_init(&ino->map);

	tx_init(&t, tab);
	rc = 0;
	if (size)
		rc = reserve(&t, slot, &ino->map, 0, layout_pages(size));
	if (!rc) {
		inode_image(ino, &rec);
		rc = tx_inode(&t, slot, &rec);
	}
	if (!rc)
		rc = tx_super(&t, tab->orphan_head,
			      tab->nfiles + tab->norphans + 1);
	if (!rc)
		rc = tx_stage(&t);
	rc = tx_end(&t, rc);
	if (rc)
		goto fail;
	tab->inodes[slot] = ino;
	tab->gens[slot] = ino->gen;
	inode_name_add(tab, ino);
	tab->nfiles++;
	tab->inode_hint = slot + 1;
	*ret = ino;
	return 0;
fail:
	extent_map_fini(&ino->map);
	free(ino);
	return rc;
}

/* resize -- inode_resize for named files and orphans alike. */
static int
resize(struct inode_table *tab, struct inode *ino, uint64_t size)
{
	uint64_t old_pages = layout_pages(ino->size);
	uint64_t new_pages = layout_pages(size);
	struct inode tmp = *ino;
	struct pm_inode rec;
	struct tx t;
	int rc = 0;

	if (size > SIZE_LIMIT)
		return -EINVAL;
	if (size == ino->size)
		return 0;
	tx_init(&t, tab);
	if (new_pages > old_pages)
		rc = reserve(&t, ino->slot, &ino->map, old_pages,
			     new_pages - old_pages);
	else if (new_pages < old_pages)
		rc = trim(&t, ino->slot, &ino->map, new_pages);
	if (!rc) {
		tmp.size = size;
		tmp.mtime_ns = layout_now_ns();
		inode_image(&tmp, &rec);
		rc = tx_inode(&t, ino->slot, &rec);
	}
	if (!rc)
		rc = tx_stage(&t);
	/* Last before the commit, as nothing after it can fail but the
	 * commit itself, and zeroes past the old end harm nobody then. */
	if (!rc && size > ino->size)
		rc = zero_tail(tab, ino);
	rc = tx_end(&t, rc);
	if (rc)
		return rc;
	trim_map(&ino->map, new_pages);
	ino->size = size;
	ino->mtime_ns = tmp.mtime_ns;
	return 0;
}

/* orphan_pred -- the orphan whose orphan_next is @ino, or NULL when @ino
 * heads the list. */
static struct inode *
orphan_pred(const struct inode_table *tab, const struct inode *ino)
{
	uint32_t next = tab->orphan_head;

	for (uint32_t n = 0; next && n < tab->sb->inode_count; n++) {
		struct inode *o = inode_slot(tab, next - 1);

		if (!o)
			break;
		if (o->orphan_next == ino->slot + 1)
			return o;
		next = o->orphan_next;
	}
	return NULL;
}

/* free_tx -- free @ino, its extents and pages, and take it off the orphan
 * list if it is on it, in one transaction. */
static int
free_tx(struct inode_table *tab, struct inode *ino)
{
	struct inode *pred = NULL;
	struct pm_inode rec;
	struct tx t;
	int rc = 0;

	tx_init(&t, tab);
	for (size_t i = 0; i < ino->map.n && !rc; i++) {
		const struct extent *e = &ino->map.v[i];

		rc = tx_run(&t, e->region_pg, e->npages, true);
		if (!rc)
			rc = tx_extent(&t, e->slot, ino->slot, NULL);
		t.freed_slots++;
	}
	if (!rc) {
		/* A free slot keeps only its generation. */
		memset(&rec, 0, sizeof(rec));
		rec.gen = ino->gen;
		layout_inode_seal(&rec);
		rc = tx_inode(&t, ino->slot, &rec);
	}
	if (!rc && ino->orphan && tab->orphan_head == ino->slot + 1)
		rc = tx_super(&t, ino->orphan_next,
			      tab->nfiles + tab->norphans - 1);
	else if (!rc)
		rc = tx_super(&t, tab->orphan_head,
			      tab->nfiles + tab->norphans - 1);
	if (!rc && ino->orphan) {
		if (tab->orphan_head != ino->slot + 1) {
			struct inode tmp;

			pred = orphan_pred(tab, ino);
			if (!pred) {
				rc = -EUCLEAN;
			} else {
				tmp = *pred;
				tmp.orphan_next = ino->orphan_next;
				inode_image(&tmp, &rec);
				rc = tx_inode(&t, pred->slot, &rec);
			}
		}
	}
	if (!rc)
		rc = tx_stage(&t);
	rc = tx_end(&t, rc);
	if (rc)
		return rc;
	if (ino->orphan) {
		if (pred)
			pred->orphan_next = ino->orphan_next;
		else
			tab->orphan_head = ino->orphan_next;
		tab->norphans--;
	} else {
		inode_name_remove(tab, ino);
		tab->nfiles--;
	}
	tab->inodes[ino->slot] = NULL;
	extent_map_fini(&ino->map);
	free(ino);
	return 0;
}

/* orphan_tx -- take @ino's name away and put it on the orphan list, in one
 * transaction. */
static int
orphan_tx(struct inode_table *tab, struct inode *ino)
{
	struct inode tmp = *ino;
	struct pm_inode rec;
	struct tx t;
	int rc;

	tmp.orphan = true;
	tmp.orphan_next = tab->orphan_head;
	inode_image(&tmp, &rec);
	tx_init(&t, tab);
	rc = tx_inode(&t, ino->slot, &rec);
	if (!rc)
		rc = tx_super(&t, ino->slot + 1, tab->nfiles + tab->norphans);
	rc = tx_end(&t, rc);
	if (rc)
		return rc;
	inode_name_remove(tab, ino);
	tab->nfiles--;
	tab->norphans++;
	tab->orphan_head = ino->slot + 1;
	ino->orphan = true;
	ino->orphan_next = tmp.orphan_next;
	memset(ino->name, 0, sizeof(ino->name));
	return 0;
}

/* unlink_cut -- the page count to shrink @ino to so that the extents past
 * it fit, with room to spare, in one transaction (at least one extent). */
static uint64_t
unlink_cut(const struct inode_table *tab, const struct inode *ino)
{
	uint64_t room = journal_room(tab->journal), budget, cost = 0;
	size_t i = ino->map.n;

	budget = room > 8192 ? room - 8192 : 0;
	while (i > 0) {
		const struct extent *e = &ino->map.v[i - 1];
		/* A record header and image for the extent, and one for its
		 * bitmap bytes, padded. */
		uint64_t c = 2 * sizeof(struct pm_journal_rec) +
			     sizeof(struct pm_extent) + (e->npages + 7) / 8 +
			     16;

		if (cost + c > budget && i < ino->map.n)
			break;
		cost += c;
		i--;
	}
	return ino->map.v[i].file_pg;
}

/* unlink_ino -- free @ino in one transaction, or via the orphan list in
 * several when its extents do not fit in one. */
static int
unlink_ino(struct inode_table *tab, struct inode *ino)
{
	int rc = free_tx(tab, ino);

	if (rc != -E2BIG)
		return rc;
	/* Too much for one transaction. Make it an orphan first, so that a
	 * crash in the middle leaves a nameless file that the next attach
	 * finishes freeing, then free it from the end in pieces. */
	if (!ino->orphan) {
		rc = orphan_tx(tab, ino);
		if (rc)
			return rc;
	}
	for (;;) {
		rc = free_tx(tab, ino);
		if (rc != -E2BIG)
			return rc;
		rc = resize(tab, ino, unlink_cut(tab, ino) << PM_PAGE_SHIFT);
		if (rc)
			return rc;
	}
}

/* inode_reclaim_orphans -- free every orphan on the persistent list. */
int
inode_reclaim_orphans(struct inode_table *tab, char *err)
{
	uint32_t next = tab->orphan_head;

	while (next) {
		uint32_t slot = next - 1;
		struct inode *ino = inode_slot(tab, slot);
		int ret;

		if (!ino || !ino->orphan)
			return errmsg(err, -EUCLEAN,
				      "orphan list names inode "
				      "%u, which is not an orphan",
				      slot);
		next = ino->orphan_next;
		/* Leases restored from pin tables (I6): a holder may still
		 * map it; it is freed at its final unpin instead. */
		if (ino->nleases)
			continue;
		ret = unlink_ino(tab, ino);
		if (ret)
			return errmsg(err, ret,
				      "cannot reclaim orphan inode "
				      "%u: %s",
				      slot, strerror(-ret));
	}
	return 0;
}

/* inode_commit -- commit the batch, then release what it freed. */
int
inode_commit(struct inode_table *tab)
{
	if (!journal_staged(tab->journal))
		return 0;
	if (journal_commit(tab->journal)) {
		/* The media state is unknown until the next attach replays
		 * the journal; DRAM is ahead of it. */
		journal_abort(tab->journal);
		return fail(tab);
	}
	for (size_t i = 0; i < tab->npending_free; i++)
		alloc_release(tab->alloc, tab->pending_free[i].pg,
			      tab->pending_free[i].n);
	tab->npending_free = 0;
	tab->batch_ops = 0;
	return 0;
}

/* ---- the table's journaled operations ----------------------------------- */

/* A failed table is refused before anything is reserved or zeroed. */

int
inode_create(struct inode_table *t, const char *name, uint64_t size,
	     uint32_t mode, uid_t uid, gid_t gid, struct inode **ret)
{
	return t->failed ? -EROFS : create(t, name, size, mode, uid, gid, ret);
}

int
inode_resize(struct inode_table *t, struct inode *ino, uint64_t size)
{
	return t->failed ? -EROFS : resize(t, ino, size);
}

int
inode_unlink(struct inode_table *t, struct inode *ino)
{
	return t->failed ? -EROFS : unlink_ino(t, ino);
}

int
inode_orphan(struct inode_table *t, struct inode *ino)
{
	if (t->failed)
		return -EROFS;
	return ino->orphan ? 0 : orphan_tx(t, ino);
}

const char *
inode_strerror(int err)
{
	switch (err) {
	case -EINVAL:
		return "invalid file name";
	case -ENAMETOOLONG:
		return "file name too long";
	case -EEXIST:
		return "file exists";
	case -ENOSPC:
		return "no space left in region";
	case -E2BIG:
		return "operation too large for one transaction";
	case -EIO:
		return "region I/O failure";
	case -EROFS:
		return INODE_FAILED_MSG;
	default:
		return strerror(-err);
	}
}

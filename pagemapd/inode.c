/* inode.c -- files of a region: DRAM inodes, the name index, and the
 * journaled transactions that create, resize and remove them. */
#include "inode.h"

#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "journal.h"
#include "region.h"

/*
 * Invariants between the DRAM state and the media (checked by inode_load,
 * kept by every mutation):
 *
 *  - r->inodes[slot] is non-NULL exactly when the slot's record has
 *    PM_INODE_USED; named inodes are in the name hash, orphans are not and
 *    are chained from sb->orphan_head through orphan_next instead.
 *  - Every extent in an inode's map has a record at extent.slot with the
 *    same fields, and its region pages are set in both the allocator and
 *    the persistent bitmap; every other data page is clear in both. A free
 *    extent slot is an all-zero record.
 *  - A file's extents lie inside [0, pages(size)).
 *
 * Every mutation is one journal transaction built in three steps: work out
 * the new records (reserving pages in the allocator, which is DRAM only),
 * stage their images, commit. Only after the commit does the DRAM state
 * change and are freed pages handed back to the allocator, so a failure at
 * any point before the commit leaves both DRAM and media as they were. The
 * media state after a crash is "before" or "after", never in between.
 */

#define MAX_EXT_PER_TX 8192u
#define SIZE_LIMIT ((uint64_t)INT64_MAX) /* a file size fits off_t */

static struct pm_inode *
irec(const struct region *r, uint32_t slot)
{
	return (struct pm_inode *)(r->media.base + r->sb->inode_off) + slot;
}

static struct pm_extent *
erec(const struct region *r, uint32_t slot)
{
	return (struct pm_extent *)(r->media.base + r->sb->extent_off) + slot;
}

/* ---- name index --------------------------------------------------------- */

/* FNV-1a: names are short, and the bucket count is a power of two. */
static uint32_t
name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

static struct inode **
bucket(const struct region *r, const char *name)
{
	return &r->names[name_hash(name) & (r->nbuckets - 1)];
}

static void
hash_add(struct region *r, struct inode *ino)
{
	struct inode **b = bucket(r, ino->name);

	ino->hnext = *b;
	*b = ino;
}

static void
hash_remove(struct region *r, struct inode *ino)
{
	for (struct inode **p = bucket(r, ino->name); *p; p = &(*p)->hnext) {
		if (*p == ino) {
			*p = ino->hnext;
			ino->hnext = NULL;
			return;
		}
	}
}

/* inode_lookup -- walk the name's hash chain. */
struct inode *
inode_lookup(const struct region *r, const char *name)
{
	if (!r->names || !name)
		return NULL;
	for (struct inode *ino = *bucket(r, name); ino; ino = ino->hnext)
		if (strcmp(ino->name, name) == 0)
			return ino;
	return NULL;
}

/* inode_at -- the DRAM inode of @slot, NULL when free. */
struct inode *
inode_at(const struct region *r, uint32_t slot)
{
	if (!r->inodes || slot >= r->sb->inode_count)
		return NULL;
	return r->inodes[slot];
}

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
	bool clear; /* freed by the transaction, else newly reserved */
};

/* One transaction under construction. Inode and superblock records go to
 * the journal at once; extent records and bitmap runs are collected and
 * staged in offset order by tx_stage(), which merges neighbours into one
 * journal record (and neighbouring bitmap runs into one byte image, which
 * is also the only correct way when two runs share a byte). */
struct tx {
	struct region *r;
	struct ext_img *ext;
	size_t next, ext_cap;
	struct run *run;
	size_t nrun, run_cap;
	uint32_t new_slots; /* extent slots taken */
	uint32_t freed_slots; /* extent slots released */
	uint32_t hint; /* extent_hint after the commit */
	/* reserve() appends to an inode's map in place (so that growing a
	 * file costs nothing per extent it already has); this is how
	 * tx_abort() takes the appends back. */
	struct extent_map *map; /* NULL: untouched */
	size_t map_n; /* its length before */
	uint64_t last_npages; /* its last extent's length before */
	/* Under group commit several operations share the journal's staged
	 * transaction: an abort rolls back to where this one began. */
	struct journal_mark mark;
	uint32_t *picked; /* extent slots taken by this operation */
	size_t npicked, picked_cap;
};

static bool
ext_used(const struct region *r, uint32_t e)
{
	return r->ext_used[e / 8] & (1u << (e % 8));
}

static void
set_ext_used(struct region *r, uint32_t e, bool used)
{
	if (used)
		r->ext_used[e / 8] |= (uint8_t)(1u << (e % 8));
	else
		r->ext_used[e / 8] &= (uint8_t)~(1u << (e % 8));
}

static void
tx_init(struct tx *t, struct region *r)
{
	memset(t, 0, sizeof(*t));
	t->r = r;
	t->hint = r->extent_hint;
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
	p = realloc(*v, c * size);
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
	return journal_add(&t->r->journal,
			   t->r->sb->inode_off + (uint64_t)slot * sizeof(*rec),
			   rec, sizeof(*rec));
}

/* tx_super -- the superblock with a new orphan list head. */
static int
tx_super(struct tx *t, uint32_t orphan_head)
{
	struct pm_super sb = *t->r->sb;

	sb.orphan_head = orphan_head;
	layout_super_seal(&sb);
	return journal_add(&t->r->journal, 0, &sb, sizeof(sb));
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
	struct region *r = t->r;
	struct pm_extent *buf;
	size_t i, k;
	int ret = 0;

	if (t->next == 0)
		return 0;
	qsort(t->ext, t->next, sizeof(*t->ext), cmp_ext);
	buf = malloc(t->next * sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	for (i = 0; i < t->next && !ret; i = k) {
		buf[0] = t->ext[i].rec;
		for (k = i + 1; k < t->next &&
		     t->ext[k].slot == t->ext[k - 1].slot + 1; k++)
			buf[k - i] = t->ext[k].rec;
		if ((k - i) * sizeof(*buf) > UINT32_MAX) {
			ret = -E2BIG;
			break;
		}
		ret = journal_add(&r->journal,
				  r->sb->extent_off +
					  (uint64_t)t->ext[i].slot * sizeof(*buf),
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
		buf[i / 8] &= (uint8_t)~(1u << (i % 8));
	if (end - i >= 8) {
		memset(buf + i / 8, 0, (end - i) / 8);
		i += (end - i) / 8 * 8;
	}
	for (; i < end; i++)
		buf[i / 8] &= (uint8_t)~(1u << (i % 8));
}

/* stage_bitmap -- journal the bitmap bytes of every run. Reserved pages are
 * already set in the allocator's bitmap; freed ones are still set there
 * (they go back only after the commit) and are cleared in the image. */
static int
stage_bitmap(struct tx *t)
{
	struct region *r = t->r;
	const uint8_t *bm = alloc_bitmap(r->alloc);
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
		buf = malloc(b1 - b0 + 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, bm + b0, b1 - b0 + 1);
		for (size_t j = i; j < k; j++)
			if (t->run[j].clear)
				bits_clear(buf, b0 * 8, t->run[j].pg,
					   t->run[j].n);
		ret = journal_add(&r->journal, r->sb->bitmap_off + b0, buf,
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
	journal_rollback(&t->r->journal, t->mark);
	for (size_t i = 0; i < t->npicked; i++)
		set_ext_used(t->r, t->picked[i], false);
	t->npicked = 0;
	for (size_t i = 0; i < t->nrun; i++)
		if (!t->run[i].clear)
			alloc_release(t->r->alloc, t->run[i].pg, t->run[i].n);
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

/* tx_commit -- end the operation: commit at once, or, under group commit,
 * leave its records in the shared transaction for region_commit(). Freed
 * pages become allocatable only once the free is durable: reused earlier,
 * their zeroing could reach the media before a crash undid the free. */
static int
tx_commit(struct tx *t)
{
	struct region *r = t->r;

	if (r->failed) {
		tx_abort(t);
		return -EIO;
	}
	if (!r->group_commit && journal_commit(&r->journal)) {
		/* The media state is unknown until the next attach replays
		 * the journal; DRAM keeps describing the old state. */
		journal_abort(&r->journal);
		tx_abort(t);
		return -EIO;
	}
	for (size_t i = 0; i < t->nrun; i++) {
		struct region_run *p;

		if (!t->run[i].clear)
			continue;
		if (!r->group_commit) {
			alloc_release(r->alloc, t->run[i].pg, t->run[i].n);
			continue;
		}
		if (grow_array((void **)&r->pending_free, &r->pending_cap,
			       r->npending_free + 1, sizeof(*p))) {
			/* Cannot remember it: leak the pages until the next
			 * attach rebuilds the allocator from the media. */
			continue;
		}
		p = &r->pending_free[r->npending_free++];
		p->pg = t->run[i].pg;
		p->n = t->run[i].n;
	}
	for (size_t i = 0; i < t->next; i++)
		if (t->ext[i].rec.slot == 0)
			set_ext_used(r, t->ext[i].slot, false);
	if (r->group_commit)
		r->batch_ops++;
	r->free_extents = r->free_extents - t->new_slots + t->freed_slots;
	r->extent_hint = t->hint;
	return 0;
}

/* ---- slots -------------------------------------------------------------- */

static int
pick_inode_slot(struct region *r, uint32_t *ret)
{
	uint32_t count = r->sb->inode_count;
	uint32_t s = r->inode_hint < count ? r->inode_hint : 0;

	for (uint32_t i = 0; i < count; i++) {
		if (!r->inodes[s]) {
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
	uint32_t count = t->r->sb->extent_count;
	uint32_t s = t->hint < count ? t->hint : 0;

	if (grow_array((void **)&t->picked, &t->picked_cap, t->npicked + 1,
		       sizeof(*t->picked)))
		return UINT32_MAX;
	while (ext_used(t->r, s))
		if (++s == count)
			s = 0;
	set_ext_used(t->r, s, true);
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
reserve(struct tx *t, uint32_t owner, struct extent_map *map,
	uint64_t file_pg, uint64_t n)
{
	struct region *r = t->r;
	struct extent *ext, *last = map->n ? &map->v[map->n - 1] : NULL;
	size_t max = r->free_extents < MAX_EXT_PER_TX ? r->free_extents :
		MAX_EXT_PER_TX;
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
	ext = malloc(max * sizeof(*ext));
	if (!ext)
		return -ENOMEM;
	cnt = alloc_reserve(r->alloc, file_pg, n, ext, max);
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
				alloc_release(r->alloc, ext[m].region_pg,
					      ext[m].npages);
			goto out;
		}
	}
	/* No file may see another file's old bytes: zero before the
	 * transaction that hands the pages over. */
	for (int k = 0; k < cnt && !ret; k++)
		ret = region_zero(r, ext[k].region_pg, ext[k].npages);
	if (ret)
		goto out;
	if (last && last->file_pg + last->npages == ext[0].file_pg &&
	    last->region_pg + last->npages == ext[0].region_pg) {
		last->npages += ext[0].npages;
		ret = tx_extent(t, last->slot, owner, last);
		i = 1;
	}
	if (!ret && (uint64_t)(cnt - i) > r->free_extents)
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
 * is shortened. The map itself changes after the commit, in trim_map(). */
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
zero_tail(struct region *r, const struct inode *ino)
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
	rv = media_write(&r->media, off, NULL, PM_PAGE_SIZE - in_page);
	return rv ? rv : r->media.persist(&r->media, off,
					  PM_PAGE_SIZE - in_page);
}

/* ---- mutations ---------------------------------------------------------- */

/* inode_create -- one transaction: inode record, extents, bitmap. */
int
inode_create(struct region *r, const char *name, uint64_t size,
	     uint32_t mode, uid_t uid, gid_t gid, struct inode **ret)
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
	if (inode_lookup(r, name))
		return -EEXIST;
	rc = pick_inode_slot(r, &slot);
	if (rc)
		return rc;
	ino = calloc(1, sizeof(*ino));
	if (!ino)
		return -ENOMEM;
	ino->trunc_pg = UINT64_MAX;
	ino->slot = slot;
	/* The free record keeps the slot's generation; a never-used slot
	 * is all zeroes. Bumping it makes a reused slot a new ino. */
	ino->gen = r->gens[slot] + 1;
	ino->size = size;
	ino->mtime_ns = layout_now_ns();
	ino->uid = uid;
	ino->gid = gid;
	ino->mode = mode & 07777;
	strcpy(ino->name, name);
	extent_map_init(&ino->map);

	tx_init(&t, r);
	rc = 0;
	if (size)
		rc = reserve(&t, slot, &ino->map, 0, layout_pages(size));
	if (!rc) {
		inode_image(ino, &rec);
		rc = tx_inode(&t, slot, &rec);
	}
	if (!rc)
		rc = tx_stage(&t);
	if (rc) {
		tx_abort(&t);
		goto fail;
	}
	rc = tx_commit(&t);
	if (rc)
		goto fail;
	tx_fini(&t);
	r->inodes[slot] = ino;
	r->gens[slot] = ino->gen;
	hash_add(r, ino);
	r->nfiles++;
	r->inode_hint = slot + 1;
	*ret = ino;
	return 0;
fail:
	tx_fini(&t);
	extent_map_fini(&ino->map);
	free(ino);
	return rc;
}

/* resize -- inode_resize for named files and orphans alike. */
static int
resize(struct region *r, struct inode *ino, uint64_t size)
{
	uint64_t old_pages = layout_pages(ino->size), new_pages = layout_pages(size);
	struct inode tmp = *ino;
	struct pm_inode rec;
	struct tx t;
	int rc = 0;

	if (size > SIZE_LIMIT)
		return -EINVAL;
	if (size == ino->size)
		return 0;
	tx_init(&t, r);
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
		rc = zero_tail(r, ino);
	if (rc) {
		tx_abort(&t);
		goto out;
	}
	rc = tx_commit(&t);
	if (rc)
		goto out;
	trim_map(&ino->map, new_pages);
	ino->size = size;
	ino->mtime_ns = tmp.mtime_ns;
out:
	tx_fini(&t);
	return rc;
}

/* inode_resize -- grow or shrink @ino in one transaction. */
int
inode_resize(struct region *r, struct inode *ino, uint64_t size)
{
	return resize(r, ino, size);
}

/* orphan_pred -- the orphan whose orphan_next is @ino, or NULL when @ino
 * heads the list. */
static struct inode *
orphan_pred(const struct region *r, const struct inode *ino)
{
	uint32_t next = r->orphan_head;

	for (uint32_t n = 0; next && n < r->sb->inode_count; n++) {
		struct inode *o = inode_at(r, next - 1);

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
free_tx(struct region *r, struct inode *ino)
{
	struct inode *pred = NULL;
	struct pm_inode rec;
	struct tx t;
	int rc = 0;

	tx_init(&t, r);
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
	if (!rc && ino->orphan) {
		if (r->orphan_head == ino->slot + 1) {
			rc = tx_super(&t, ino->orphan_next);
		} else {
			struct inode tmp;

			pred = orphan_pred(r, ino);
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
	if (rc) {
		tx_abort(&t);
		tx_fini(&t);
		return rc;
	}
	rc = tx_commit(&t);
	tx_fini(&t);
	if (rc)
		return rc;
	if (ino->orphan) {
		if (pred)
			pred->orphan_next = ino->orphan_next;
		else
			r->orphan_head = ino->orphan_next;
		r->norphans--;
	} else {
		hash_remove(r, ino);
		r->nfiles--;
	}
	r->inodes[ino->slot] = NULL;
	extent_map_fini(&ino->map);
	free(ino);
	return 0;
}

/* orphan_tx -- take @ino's name away and put it on the orphan list, in one
 * transaction. */
static int
orphan_tx(struct region *r, struct inode *ino)
{
	struct inode tmp = *ino;
	struct pm_inode rec;
	struct tx t;
	int rc;

	tmp.orphan = true;
	tmp.orphan_next = r->orphan_head;
	inode_image(&tmp, &rec);
	tx_init(&t, r);
	rc = tx_inode(&t, ino->slot, &rec);
	if (!rc)
		rc = tx_super(&t, ino->slot + 1);
	if (rc) {
		tx_abort(&t);
		tx_fini(&t);
		return rc;
	}
	rc = tx_commit(&t);
	tx_fini(&t);
	if (rc)
		return rc;
	hash_remove(r, ino);
	r->nfiles--;
	r->norphans++;
	r->orphan_head = ino->slot + 1;
	ino->orphan = true;
	ino->orphan_next = tmp.orphan_next;
	memset(ino->name, 0, sizeof(ino->name));
	return 0;
}

/* unlink_cut -- the page count to shrink @ino to so that the extents past
 * it fit, with room to spare, in one transaction (at least one extent). */
static uint64_t
unlink_cut(const struct region *r, const struct inode *ino)
{
	uint64_t room = journal_room(&r->journal), budget, cost = 0;
	size_t i = ino->map.n;

	budget = room > 8192 ? room - 8192 : 0;
	while (i > 0) {
		const struct extent *e = &ino->map.v[i - 1];
		/* A record header and image for the extent, and one for its
		 * bitmap bytes, padded. */
		uint64_t c = 2 * sizeof(struct pm_journal_rec) +
			sizeof(struct pm_extent) + (e->npages + 7) / 8 + 16;

		if (cost + c > budget && i < ino->map.n)
			break;
		cost += c;
		i--;
	}
	return ino->map.v[i].file_pg;
}

/* inode_unlink -- free @ino in one transaction, or via the orphan
 * list in several when its extents do not fit in one. */
int
inode_unlink(struct region *r, struct inode *ino)
{
	int rc = free_tx(r, ino);

	if (rc != -E2BIG)
		return rc;
	/* Too much for one transaction. Make it an orphan first, so that a
	 * crash in the middle leaves a nameless file that the next attach
	 * finishes freeing, then free it from the end in pieces. */
	if (!ino->orphan) {
		rc = orphan_tx(r, ino);
		if (rc)
			return rc;
	}
	for (;;) {
		rc = free_tx(r, ino);
		if (rc != -E2BIG)
			return rc;
		rc = resize(r, ino, unlink_cut(r, ino) << PM_PAGE_SHIFT);
		if (rc)
			return rc;
	}
}

/* inode_orphan -- unlink the name of a file that still has leases. */
int
inode_orphan(struct region *r, struct inode *ino)
{
	return ino->orphan ? 0 : orphan_tx(r, ino);
}

/* inode_info -- describe @ino for `file stat`. */
void
inode_info(const struct inode *ino, struct file_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->name, ino->name, sizeof(ret->name));
	ret->ino = inode_ino(ino);
	ret->size = ino->size;
	ret->allocated = extent_map_pages(&ino->map) << PM_PAGE_SHIFT;
	ret->uid = (uint32_t)ino->uid;
	ret->gid = (uint32_t)ino->gid;
	ret->mode = ino->mode;
	ret->extents = (uint32_t)ino->map.n;
	ret->orphan = ino->orphan;
	ret->mtime_ns = ino->mtime_ns;
	ret->leases = ino->nleases;
	ret->grants = ino->grants;
}

/* ---- loading ------------------------------------------------------------ */

static int
corrupt(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
corrupt(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, REGION_ERR_MAX, fmt, ap);
		va_end(ap);
	}
	return -EUCLEAN;
}

/* One used extent record while loading. */
struct lext {
	uint32_t owner; /* inode slot */
	uint32_t slot; /* extent slot */
	uint64_t file_pg, region_pg, npages;
};

static int
cmp_lext(const void *a, const void *b)
{
	const struct lext *x = a, *y = b;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	return (x->file_pg > y->file_pg) - (x->file_pg < y->file_pg);
}

static bool
crc_ok(const void *rec, size_t len, uint32_t crc)
{
	uint8_t tmp[sizeof(struct pm_inode)];

	memcpy(tmp, rec, len);
	memset(tmp, 0, sizeof(uint32_t)); /* crc is the first field */
	return crc32c(0, tmp, len) == crc;
}

static int
load_inodes(struct region *r, char *err)
{
	const struct pm_super *sb = r->sb;

	for (uint32_t slot = 0; slot < sb->inode_count; slot++) {
		const struct pm_inode *rec = irec(r, slot);
		struct inode *ino, *dup;

		/* Never used since format. */
		if (layout_all_zero(rec, sizeof(*rec)))
			continue;
		if (layout_inode_check(sb, rec))
			return corrupt(err, "inode %u: %s", slot,
				       crc_ok(rec, sizeof(*rec), rec->crc) ?
					       "field out of range" :
					       "bad checksum");
		if (!(rec->flags & PM_INODE_USED))
			continue;
		ino = calloc(1, sizeof(*ino));
		if (!ino)
			return -ENOMEM;
		ino->trunc_pg = UINT64_MAX;
		ino->slot = slot;
		ino->gen = rec->gen;
		ino->size = rec->size;
		ino->mtime_ns = rec->mtime_ns;
		ino->uid = rec->uid;
		ino->gid = rec->gid;
		ino->mode = rec->mode & 07777;
		ino->orphan = rec->flags & PM_INODE_ORPHAN;
		ino->orphan_next = rec->orphan_next;
		memcpy(ino->name, rec->name, rec->name_len);
		extent_map_init(&ino->map);
		r->inodes[slot] = ino;
		if (ino->orphan) {
			r->norphans++;
			continue;
		}
		dup = inode_lookup(r, ino->name);
		if (dup)
			return corrupt(err, "inodes %u and %u are both named "
				       "\"%s\"", dup->slot, slot, ino->name);
		hash_add(r, ino);
		r->nfiles++;
	}
	return 0;
}

/* region_overlap -- the extent of @v[0..n) whose region pages overlap @e. */
static const struct lext *
region_overlap(const struct lext *v, size_t n, const struct lext *e)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].region_pg < e->region_pg + e->npages &&
		    e->region_pg < v[i].region_pg + v[i].npages)
			return &v[i];
	return NULL;
}

static int
load_extents(struct region *r, char *err)
{
	const struct pm_super *sb = r->sb;
	struct lext *v;
	size_t n = 0;
	int ret = 0;

	r->free_extents = 0;
	for (uint32_t s = 0; s < sb->extent_count; s++)
		if (erec(r, s)->slot != 0)
			n++;
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (uint32_t s = 0; s < sb->extent_count && !ret; s++) {
		const struct pm_extent *rec = erec(r, s);
		struct lext *e = &v[n];
		const struct inode *ino;

		if (rec->slot == 0 && layout_all_zero(rec, sizeof(*rec))) {
			r->free_extents++;
			continue;
		}
		if (layout_extent_check(sb, rec)) {
			ret = corrupt(err, "extent %u: %s", s,
				      rec->slot == 0 ?
					      "free slot is not all zeroes" :
				      crc_ok(rec, sizeof(*rec), rec->crc) ?
					      "field out of range" :
					      "bad checksum");
			break;
		}
		*e = (struct lext){
			.owner = rec->slot - 1,
			.slot = s,
			.file_pg = rec->file_pg,
			.region_pg = rec->region_pg,
			.npages = rec->npages,
		};
		ino = r->inodes[e->owner];
		if (!ino) {
			ret = corrupt(err, "extent %u belongs to inode %u, "
				      "which is free", s, e->owner);
			break;
		}
		if (e->file_pg + e->npages > layout_pages(ino->size)) {
			ret = corrupt(err, "extent %u maps file pages past "
				      "the size of inode %u", s, e->owner);
			break;
		}
		ret = alloc_mark_used(r->alloc, e->region_pg, e->npages);
		if (ret == -EEXIST) {
			const struct lext *o = region_overlap(v, n, e);

			ret = corrupt(err, "extent %u overlaps extent %u in "
				      "region pages", s, o ? o->slot : s);
		} else if (ret) {
			ret = corrupt(err, "extent %u lies outside the data "
				      "area", s);
		}
		n++;
	}
	if (ret)
		goto out;
	/* In file order per inode, each insert is an append: no quadratic
	 * work however many extents a file has. */
	qsort(v, n, sizeof(*v), cmp_lext);
	for (size_t i = 0; i < n; i++) {
		struct extent e = {
			.file_pg = v[i].file_pg,
			.region_pg = v[i].region_pg,
			.npages = v[i].npages,
			.slot = v[i].slot,
		};

		if (i > 0 && v[i - 1].owner == v[i].owner &&
		    v[i - 1].file_pg + v[i - 1].npages > v[i].file_pg) {
			ret = corrupt(err, "extent %u overlaps extent %u in "
				      "file pages of inode %u", v[i].slot,
				      v[i - 1].slot, v[i].owner);
			break;
		}
		ret = extent_map_insert(&r->inodes[v[i].owner]->map, &e);
		if (ret)
			break;
	}
out:
	free(v);
	return ret;
}

static bool
bit(const uint8_t *bm, uint64_t pg)
{
	return bm[pg / 8] >> (pg % 8) & 1;
}

/* check_bitmap -- the persistent bitmap must say exactly what the extents
 * say over the data area. */
static int
check_bitmap(struct region *r, char *err)
{
	const uint8_t *mem = alloc_bitmap(r->alloc);
	const uint8_t *disk = r->media.base + r->sb->bitmap_off;
	uint64_t pg = r->sb->data_pg, end = pg + r->sb->data_pages;

	while (pg < end) {
		if (pg % 8 == 0 && end - pg >= 8) {
			uint64_t b = pg / 8, nb = (end - pg) / 8, k = 0;

			if (memcmp(mem + b, disk + b, nb) == 0) {
				pg += nb * 8;
				continue;
			}
			while (mem[b + k] == disk[b + k])
				k++;
			pg += k * 8;
		}
		if (bit(mem, pg) != bit(disk, pg))
			return corrupt(err, "bitmap: region page %llu is %s",
				       (unsigned long long)pg,
				       bit(disk, pg) ?
					       "marked used but no extent "
					       "maps it" :
					       "marked free but an extent "
					       "maps it");
		pg++;
	}
	return 0;
}

/* check_orphans -- sb->orphan_head must chain every orphan exactly once. */
static int
check_orphans(struct region *r, char *err)
{
	uint32_t next = r->sb->orphan_head, n = 0;
	uint8_t *seen;
	int ret = 0;

	seen = calloc(r->sb->inode_count / 8 + 1, 1);
	if (!seen)
		return -ENOMEM;
	for (; next; n++) {
		uint32_t slot = next - 1;
		const struct inode *ino = r->inodes[slot];

		if (!ino || !ino->orphan) {
			ret = corrupt(err, "orphan list: inode %u is not an "
				      "orphan", slot);
			goto out;
		}
		if (seen[slot / 8] >> (slot % 8) & 1) {
			ret = corrupt(err, "orphan list: loops at inode %u",
				      slot);
			goto out;
		}
		seen[slot / 8] |= (uint8_t)(1u << (slot % 8));
		next = ino->orphan_next;
	}
	if (n != r->norphans) {
		for (uint32_t s = 0; s < r->sb->inode_count; s++) {
			const struct inode *ino = r->inodes[s];

			if (ino && ino->orphan && !(seen[s / 8] >> (s % 8) & 1))
				ret = corrupt(err, "inode %u is an orphan but "
					      "not on the orphan list", s);
		}
	}
out:
	free(seen);
	return ret;
}

/* inode_load -- rebuild and cross-check the DRAM state of @r. */
int
inode_load(struct region *r, char *err)
{
	uint32_t count = r->sb->inode_count, nb = 16;
	int ret;

	if (!r->alloc)
		return -EINVAL;
	inode_unload(r);
	while (nb < count / 2 && nb < (1u << 30))
		nb <<= 1;
	r->inodes = calloc(count, sizeof(*r->inodes));
	r->names = calloc(nb, sizeof(*r->names));
	if (!r->inodes || !r->names) {
		inode_unload(r);
		return -ENOMEM;
	}
	r->nbuckets = nb;
	r->gens = calloc(count, sizeof(*r->gens));
	r->ext_used = calloc(r->sb->extent_count / 8 + 1, 1);
	if (!r->gens || !r->ext_used) {
		inode_unload(r);
		return -ENOMEM;
	}
	for (uint32_t slot = 0; slot < count; slot++)
		r->gens[slot] = irec(r, slot)->gen;
	for (uint32_t e = 0; e < r->sb->extent_count; e++)
		if (erec(r, e)->slot != 0)
			r->ext_used[e / 8] |= (uint8_t)(1u << (e % 8));
	r->orphan_head = r->sb->orphan_head;
	ret = load_inodes(r, err);
	if (!ret)
		ret = load_extents(r, err);
	if (!ret)
		ret = check_bitmap(r, err);
	if (!ret)
		ret = check_orphans(r, err);
	if (ret) {
		if (ret == -ENOMEM && err)
			snprintf(err, REGION_ERR_MAX, "out of memory");
		inode_unload(r);
		return ret;
	}
	r->inode_hint = 0;
	r->extent_hint = 0;
	return 0;
}

/* inode_unload -- free the DRAM inodes and the name index of @r. */
void
inode_unload(struct region *r)
{
	free(r->gens);
	r->gens = NULL;
	free(r->ext_used);
	r->ext_used = NULL;
	if (r->inodes) {
		for (uint32_t s = 0; s < r->sb->inode_count; s++) {
			struct inode *ino = r->inodes[s];

			if (ino) {
				extent_map_fini(&ino->map);
				free(ino);
			}
		}
	}
	free(r->inodes);
	free(r->names);
	r->inodes = NULL;
	r->names = NULL;
	r->nbuckets = 0;
	r->nfiles = 0;
	r->norphans = 0;
}

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
#include "inode_tx.h"
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
	return rv == -EIO ? inode_fail(tab) : rv;
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
		return inode_fail(tab);
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

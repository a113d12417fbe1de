/* inode.c -- the files of a region: DRAM inodes, the name index, slots,
 * and loading them from the media at attach. */
#include "inode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fault.h"
#include "journal.h"
#include "media.h"

/*
 * Invariants between the DRAM state and the media (checked at attach,
 * kept by every operation of inode_io.c):
 *
 *  - t->inodes[slot] is non-NULL exactly when the slot's record has
 *    PM_INODE_USED; named inodes are in the name hash, orphans are not and
 *    are chained from sb->orphan_head through orphan_next instead.
 *  - Every extent in an inode's map has a record at extent.slot with the
 *    same fields, and its region pages are set in the allocator and, once
 *    the staged batch is committed, in the persistent bitmap; every other
 *    data page is clear in both (pages freed by a batch not yet durable
 *    stay set in the allocator). A free extent slot is an all-zero record.
 *  - A file's extents lie inside [0, pages(size)).
 */

static struct pm_inode *
irec(const struct inode_table *tab, uint32_t slot)
{
	const uint8_t *base = tab->media->base + tab->sb->inode_off;

	return (struct pm_inode *)base + slot;
}

static struct pm_extent *
erec(const struct inode_table *tab, uint32_t slot)
{
	const uint8_t *base = tab->media->base + tab->sb->extent_off;

	return (struct pm_extent *)base + slot;
}

/* ---- name index --------------------------------------------------------- */

/* bucket -- @name's chain; the bucket count is a power of two. */
static struct inode **
bucket(const struct inode_table *tab, const char *name)
{
	return &tab->names[layout_name_hash(name) & (tab->nbuckets - 1)];
}

void
inode_name_add(struct inode_table *tab, struct inode *ino)
{
	struct inode **b = bucket(tab, ino->name);

	ino->hnext = *b;
	*b = ino;
}

void
inode_name_remove(struct inode_table *tab, struct inode *ino)
{
	for (struct inode **p = bucket(tab, ino->name); *p; p = &(*p)->hnext) {
		if (*p == ino) {
			*p = ino->hnext;
			ino->hnext = NULL;
			return;
		}
	}
}

/* inode_find -- walk the name's hash chain. */
struct inode *
inode_find(const struct inode_table *tab, const char *name)
{
	if (!tab->names || !name)
		return NULL;
	for (struct inode *ino = *bucket(tab, name); ino; ino = ino->hnext)
		if (strcmp(ino->name, name) == 0)
			return ino;
	return NULL;
}

/* inode_slot -- the DRAM inode of @slot, NULL when free. */
struct inode *
inode_slot(const struct inode_table *tab, uint32_t slot)
{
	if (!tab->inodes || slot >= tab->sb->inode_count)
		return NULL;
	return tab->inodes[slot];
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

/*
 * Loading trusts the tables only as far as verify_tables() has checked
 * them (attach runs it first, stopping at the first fault); what it must
 * still refuse is what only the building shows (the allocator's view).
 */

/* One used extent record while loading. */
struct lext {
	uint32_t owner; /* inode slot */
	struct extent e;
};

static int
cmp_lext(const void *a, const void *b)
{
	const struct lext *x = a, *y = b;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	return (x->e.file_pg > y->e.file_pg) - (x->e.file_pg < y->e.file_pg);
}

static int
load_inodes(struct inode_table *tab)
{
	for (uint32_t slot = 0; slot < tab->sb->inode_count; slot++) {
		const struct pm_inode *rec = irec(tab, slot);
		struct inode *ino;

		tab->gens[slot] = rec->gen;
		if (!(rec->flags & PM_INODE_USED))
			continue;
		ino = fault_calloc(1, sizeof(*ino));
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
		tab->inodes[slot] = ino;
		if (ino->orphan) {
			tab->norphans++;
			continue;
		}
		inode_name_add(tab, ino);
		tab->nfiles++;
	}
	return 0;
}

static int
load_extents(struct inode_table *tab, char *err)
{
	const struct pm_super *sb = tab->sb;
	struct lext *v;
	size_t n = 0;
	int ret = 0;

	tab->free_extents = 0;
	for (uint32_t s = 0; s < sb->extent_count; s++)
		if (erec(tab, s)->slot != 0)
			n++;
	v = fault_malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (uint32_t s = 0; s < sb->extent_count; s++) {
		const struct pm_extent *rec = erec(tab, s);

		if (rec->slot == 0) {
			tab->free_extents++;
			continue;
		}
		tab->ext_used[s / 8] |= (uint8_t)(1u << (s % 8));
		v[n++] = (struct lext){
			.owner = rec->slot - 1,
			.e =
				{
					.file_pg = rec->file_pg,
					.region_pg = rec->region_pg,
					.npages = rec->npages,
					.slot = s,
				},
		};
		ret = alloc_mark_used(tab->alloc, rec->region_pg, rec->npages);
		if (ret) {
			ret = errmsg(err, -EUCLEAN,
				     "extent %u: the "
				     "allocator refuses its pages: %s",
				     s, strerror(-ret));
			goto out;
		}
	}
	/* In file order per inode, each insert is an append: no quadratic
	 * work however many extents a file has. */
	qsort(v, n, sizeof(*v), cmp_lext);
	for (size_t i = 0; i < n && !ret; i++)
		ret = extent_map_insert(&tab->inodes[v[i].owner]->map, &v[i].e);
out:
	free(v);
	return ret;
}

/* inode_load -- build the DRAM state of @tab from verified tables. */
int
inode_load(struct inode_table *tab, char *err)
{
	uint32_t count = tab->sb->inode_count, nb = 16;
	int ret;

	if (!tab->alloc)
		return -EINVAL;
	inode_unload(tab);
	while (nb < count / 2 && nb < (1u << 30))
		nb <<= 1;
	tab->inodes = fault_calloc(count, sizeof(*tab->inodes));
	tab->names = fault_calloc(nb, sizeof(*tab->names));
	tab->gens = fault_calloc(count, sizeof(*tab->gens));
	tab->ext_used = fault_calloc(tab->sb->extent_count / 8 + 1, 1);
	tab->nbuckets = nb;
	ret = -ENOMEM;
	if (tab->inodes && tab->names && tab->gens && tab->ext_used)
		ret = load_inodes(tab);
	if (!ret)
		ret = load_extents(tab, err);
	if (ret) {
		if (ret == -ENOMEM)
			errmsg(err, ret, "out of memory");
		inode_unload(tab);
		return ret;
	}
	tab->orphan_head = tab->sb->orphan_head;
	tab->inode_hint = 0;
	tab->extent_hint = 0;
	return 0;
}

/* inode_unload -- free the DRAM inodes and the name index of @tab. */
void
inode_unload(struct inode_table *tab)
{
	free(tab->gens);
	tab->gens = NULL;
	free(tab->ext_used);
	tab->ext_used = NULL;
	if (tab->inodes) {
		for (uint32_t s = 0; s < tab->sb->inode_count; s++) {
			struct inode *ino = tab->inodes[s];

			if (ino) {
				extent_map_fini(&ino->map);
				free(ino);
			}
		}
	}
	free(tab->inodes);
	free(tab->names);
	tab->inodes = NULL;
	tab->names = NULL;
	tab->nbuckets = 0;
	tab->nfiles = 0;
	tab->norphans = 0;
}

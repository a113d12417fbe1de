/* inode.c -- the files of a region: DRAM inodes, the name index, slots,
 * and loading them from the media at attach. */
#include "inode.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "journal.h"
#include "media.h"
#include "region.h"

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
	return (struct pm_inode *)(tab->media->base + tab->sb->inode_off) + slot;
}

static struct pm_extent *
erec(const struct inode_table *tab, uint32_t slot)
{
	return (struct pm_extent *)(tab->media->base + tab->sb->extent_off) + slot;
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
bucket(const struct inode_table *tab, const char *name)
{
	return &tab->names[name_hash(name) & (tab->nbuckets - 1)];
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

static int
corrupt(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
corrupt(char *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err, ERRMSG_MAX, fmt, ap);
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
load_inodes(struct inode_table *tab, char *err)
{
	const struct pm_super *sb = tab->sb;

	for (uint32_t slot = 0; slot < sb->inode_count; slot++) {
		const struct pm_inode *rec = irec(tab, slot);
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
		tab->inodes[slot] = ino;
		if (ino->orphan) {
			tab->norphans++;
			continue;
		}
		dup = inode_find(tab, ino->name);
		if (dup)
			return corrupt(err, "inodes %u and %u are both named "
				       "\"%s\"", dup->slot, slot, ino->name);
		inode_name_add(tab, ino);
		tab->nfiles++;
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
	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	n = 0;
	for (uint32_t s = 0; s < sb->extent_count && !ret; s++) {
		const struct pm_extent *rec = erec(tab, s);
		struct lext *e = &v[n];
		const struct inode *ino;

		if (rec->slot == 0 && layout_all_zero(rec, sizeof(*rec))) {
			tab->free_extents++;
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
		ino = tab->inodes[e->owner];
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
		ret = alloc_mark_used(tab->alloc, e->region_pg, e->npages);
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
		ret = extent_map_insert(&tab->inodes[v[i].owner]->map, &e);
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
check_bitmap(struct inode_table *tab, char *err)
{
	const uint8_t *mem = alloc_bitmap(tab->alloc);
	const uint8_t *disk = tab->media->base + tab->sb->bitmap_off;
	uint64_t pg = tab->sb->data_pg, end = pg + tab->sb->data_pages;

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
check_orphans(struct inode_table *tab, char *err)
{
	uint32_t next = tab->sb->orphan_head, n = 0;
	uint8_t *seen;
	int ret = 0;

	seen = calloc(tab->sb->inode_count / 8 + 1, 1);
	if (!seen)
		return -ENOMEM;
	for (; next; n++) {
		uint32_t slot = next - 1;
		const struct inode *ino = tab->inodes[slot];

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
	if (n != tab->norphans) {
		for (uint32_t s = 0; s < tab->sb->inode_count; s++) {
			const struct inode *ino = tab->inodes[s];

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
inode_load(struct inode_table *tab, char *err)
{
	uint32_t count = tab->sb->inode_count, nb = 16;
	int ret;

	if (!tab->alloc)
		return -EINVAL;
	inode_unload(tab);
	while (nb < count / 2 && nb < (1u << 30))
		nb <<= 1;
	tab->inodes = calloc(count, sizeof(*tab->inodes));
	tab->names = calloc(nb, sizeof(*tab->names));
	if (!tab->inodes || !tab->names) {
		inode_unload(tab);
		return -ENOMEM;
	}
	tab->nbuckets = nb;
	tab->gens = calloc(count, sizeof(*tab->gens));
	tab->ext_used = calloc(tab->sb->extent_count / 8 + 1, 1);
	if (!tab->gens || !tab->ext_used) {
		inode_unload(tab);
		return -ENOMEM;
	}
	for (uint32_t slot = 0; slot < count; slot++)
		tab->gens[slot] = irec(tab, slot)->gen;
	for (uint32_t e = 0; e < tab->sb->extent_count; e++)
		if (erec(tab, e)->slot != 0)
			tab->ext_used[e / 8] |= (uint8_t)(1u << (e % 8));
	tab->orphan_head = tab->sb->orphan_head;
	ret = load_inodes(tab, err);
	if (!ret)
		ret = load_extents(tab, err);
	if (!ret)
		ret = check_bitmap(tab, err);
	if (!ret)
		ret = check_orphans(tab, err);
	if (ret) {
		if (ret == -ENOMEM && err)
			snprintf(err, ERRMSG_MAX, "out of memory");
		inode_unload(tab);
		return ret;
	}
	tab->inode_hint = 0;
	tab->extent_hint = 0;
	return 0;
}

/* inode_unload -- free the DRAM inodes and the name index of @r. */
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

/* ---- the region's files ------------------------------------------------- */

struct inode *
inode_lookup(const struct region *r, const char *name)
{
	return inode_find(&r->files, name);
}

struct inode *
inode_at(const struct region *r, uint32_t slot)
{
	return inode_slot(&r->files, slot);
}

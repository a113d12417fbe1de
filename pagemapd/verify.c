/* verify.c -- the checks of a region's tables, shared by attach and fsck. */
#include "verify.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

/*
 * One pass over the tables, in an order where each check may rely on the
 * ones before it: records first (so every field used as an index below is
 * bounded), then names and the orphan list over the valid inodes, then
 * extents against their owners, overlap, and the bitmap. Attach stops at
 * the first fault (the region is refused, one reason is enough); fsck
 * goes on and reports them all, so a later check must cope with records
 * an earlier one found bad (they are marked and skipped).
 */

enum slot_state { SLOT_FREE, SLOT_FILE, SLOT_ORPHAN, SLOT_BAD };

struct used_ext {
	uint32_t idx; /* extent table index */
	uint32_t owner; /* inode slot */
	uint64_t file_pg;
	uint64_t region_pg;
	uint64_t npages;
};

struct verify {
	const struct pm_super *sb;
	const uint8_t *base;
	const struct pm_inode *inodes;
	const struct pm_extent *extents;
	enum verify_mode mode;
	verify_fault_fn fault;
	void *ctx;
	struct verify_result *res;
	bool stop; /* VERIFY_FIRST and a fault was found */
	uint8_t *state; /* enum slot_state per inode slot */
	struct used_ext *ext; /* valid, in-use extent records */
	size_t next;
};

/* report -- one fault; @fixable: one that repair.c fixes. The counts are
 * bumped before @v->fault sees the line, so it can tell which it was. */
static void
report(struct verify *v, bool fixable, const char *fmt, va_list ap)
{
	char line[256];

	vsnprintf(line, sizeof(line), fmt, ap);
	if (v->res->faults < UINT32_MAX) {
		v->res->faults++;
		v->res->repairable += fixable;
	}
	if (v->fault)
		v->fault(v->ctx, line);
	if (v->mode == VERIFY_FIRST)
		v->stop = true;
}

static void
fault(struct verify *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
fault(struct verify *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(v, false, fmt, ap);
	va_end(ap);
}

/* fixable -- fault() for a fault `pagemapctl fsck --repair` fixes. */
static void
fixable(struct verify *v, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
fixable(struct verify *v, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(v, true, fmt, ap);
	va_end(ap);
}

static bool
crc_ok(const void *rec, size_t len, uint32_t crc)
{
	uint8_t tmp[sizeof(struct pm_inode)];

	memcpy(tmp, rec, len);
	memset(tmp, 0, sizeof(uint32_t)); /* crc is the first field */
	return crc32c(0, tmp, len) == crc;
}

/* check_live -- the slots in use are as many as the superblock counts
 * (journaled with every create and final free): a torn sector write that
 * zeroes a live record makes it read as a never-used slot, which no
 * record check can tell from one. */
static void
check_live(struct verify *v, uint32_t bad)
{
	uint32_t used = v->res->files + v->res->orphans;

	if (bad || used == v->sb->live_inodes)
		return;
	fault(v,
	      "inode table: %u slots in use, the superblock counts %u (%s)",
	      used, v->sb->live_inodes,
	      used < v->sb->live_inodes
		      ? "a live inode reads as free: a torn write?"
		      : "a free slot reads as live");
}

static void
check_inodes(struct verify *v)
{
	uint32_t bad = 0;

	for (uint32_t i = 0; i < v->sb->inode_count && !v->stop; i++) {
		const struct pm_inode *r = &v->inodes[i];

		if (layout_inode_check(v->sb, r)) {
			bad++;
			v->state[i] = SLOT_BAD;
			if (!crc_ok(r, sizeof(*r), r->crc))
				fault(v, "inode %u: crc mismatch", i);
			else
				fault(v, "inode %u: invalid record (flags "
					 "%#x, name_len %u, orphan_next %u, "
					 "mode %#o)",
				      i, r->flags, r->name_len,
				      r->orphan_next, r->mode);
		} else if (!(r->flags & PM_INODE_USED)) {
			v->state[i] = SLOT_FREE;
		} else if (r->flags & PM_INODE_ORPHAN) {
			v->state[i] = SLOT_ORPHAN;
			v->res->orphans++;
		} else {
			v->state[i] = SLOT_FILE;
			v->res->files++;
		}
	}
	if (!v->stop)
		check_live(v, bad);
}

/* check_names -- every named file's name is unique. */
static int
check_names(struct verify *v)
{
	uint64_t cap = 16, mask;
	uint32_t *tab;

	while (cap < 2ull * v->res->files)
		cap <<= 1;
	tab = fault_calloc(cap, sizeof(*tab)); /* slot + 1, 0 = empty */
	if (!tab)
		return -ENOMEM;
	mask = cap - 1;
	for (uint32_t i = 0; i < v->sb->inode_count && !v->stop; i++) {
		const char *name = v->inodes[i].name;
		uint64_t h;

		if (v->state[i] != SLOT_FILE)
			continue;
		for (h = layout_name_hash(name) & mask; tab[h]; h = (h + 1) & mask) {
			if (strcmp(v->inodes[tab[h] - 1].name, name) == 0) {
				fault(v, "inode %u: name \"%s\" is also used "
					 "by inode %u",
				      i, name, tab[h] - 1);
				break;
			}
		}
		if (!tab[h])
			tab[h] = i + 1;
	}
	free(tab);
	return 0;
}

/* check_orphans -- the list from sb->orphan_head visits exactly the
 * orphan inodes, each once. */
static int
check_orphans(struct verify *v)
{
	uint32_t cur = v->sb->orphan_head, prev = 0;
	uint8_t *seen;

	seen = fault_calloc(v->sb->inode_count, 1);
	if (!seen)
		return -ENOMEM;
	/* Slot numbers were bounded by the super and inode checks. */
	while (cur) {
		uint32_t i = cur - 1;

		if (seen[i]) {
			fault(v, "orphan list: cycle at inode %u", i);
			break;
		}
		if (v->state[i] != SLOT_ORPHAN) {
			if (prev)
				fault(v, "orphan list: inode %u links to "
					 "inode %u, which is not an orphan",
				      prev - 1, i);
			else
				fault(v, "orphan list: head inode %u is not "
					 "an orphan", i);
			break;
		}
		seen[i] = 1;
		prev = cur;
		cur = v->inodes[i].orphan_next;
	}
	for (uint32_t i = 0; i < v->sb->inode_count && !v->stop; i++)
		if (v->state[i] == SLOT_ORPHAN && !seen[i])
			fault(v, "inode %u: orphan not on the orphan list", i);
	free(seen);
	return 0;
}

static void
check_extents(struct verify *v)
{
	const struct pm_super *sb = v->sb;

	for (uint32_t i = 0; i < sb->extent_count && !v->stop; i++) {
		const struct pm_extent *e = &v->extents[i];
		uint64_t size_pg;
		uint32_t owner;

		if (layout_extent_check(sb, e)) {
			if (e->slot && !crc_ok(e, sizeof(*e), e->crc))
				fault(v, "extent %u: crc mismatch", i);
			else
				fault(v, "extent %u: invalid record (slot "
					 "%u, file_pg %llu, region_pg %llu, "
					 "npages %llu)",
				      i, e->slot,
				      (unsigned long long)e->file_pg,
				      (unsigned long long)e->region_pg,
				      (unsigned long long)e->npages);
			continue;
		}
		if (e->slot == 0)
			continue;
		owner = e->slot - 1;
		v->ext[v->next++] = (struct used_ext){
			.idx = i,
			.owner = owner,
			.file_pg = e->file_pg,
			.region_pg = e->region_pg,
			.npages = e->npages,
		};
		v->res->extents++;
		if (v->state[owner] == SLOT_FREE) {
			fault(v, "extent %u: owner inode %u is not in use", i,
			      owner);
			continue;
		}
		if (v->state[owner] == SLOT_BAD)
			continue;
		size_pg = layout_pages(v->inodes[owner].size);
		if (e->file_pg >= size_pg || e->npages > size_pg - e->file_pg)
			fault(v, "extent %u: file pages %llu+%llu reach past "
				 "the size of inode %u (%llu bytes)",
			      i, (unsigned long long)e->file_pg,
			      (unsigned long long)e->npages, owner,
			      (unsigned long long)v->inodes[owner].size);
	}
}

static int
by_region(const void *a, const void *b)
{
	const struct used_ext *x = a, *y = b;

	if (x->region_pg != y->region_pg)
		return x->region_pg < y->region_pg ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
by_file(const void *a, const void *b)
{
	const struct used_ext *x = a, *y = b;

	if (x->owner != y->owner)
		return x->owner < y->owner ? -1 : 1;
	if (x->file_pg != y->file_pg)
		return x->file_pg < y->file_pg ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* check_overlap -- no two extents share a region page, and no two extents
 * of one file share a file page. Extents were bounded by the checks, so
 * the sums below do not overflow. */
static void
check_overlap(struct verify *v)
{
	size_t last = 0;

	qsort(v->ext, v->next, sizeof(*v->ext), by_region);
	for (size_t k = 1; k < v->next && !v->stop; k++) {
		const struct used_ext *p = &v->ext[last], *e = &v->ext[k];

		if (e->region_pg < p->region_pg + p->npages)
			fixable(v, "extents %u and %u overlap in the region "
				 "(page %llu)",
			      p->idx, e->idx, (unsigned long long)e->region_pg);
		if (e->region_pg + e->npages > p->region_pg + p->npages)
			last = k;
	}
	last = 0;
	qsort(v->ext, v->next, sizeof(*v->ext), by_file);
	for (size_t k = 1; k < v->next && !v->stop; k++) {
		const struct used_ext *p = &v->ext[last], *e = &v->ext[k];

		if (e->owner != p->owner) {
			last = k;
			continue;
		}
		if (e->file_pg < p->file_pg + p->npages)
			fault(v, "inode %u: extents %u and %u overlap in the "
				 "file (page %llu)",
			      e->owner, p->idx, e->idx,
			      (unsigned long long)e->file_pg);
		if (e->file_pg + e->npages > p->file_pg + p->npages)
			last = k;
	}
}

static bool
bit(const uint8_t *map, uint64_t pg)
{
	return map[pg >> 3] >> (pg & 7) & 1;
}

/* set_bits -- set bits [pg, pg + n) of @map, whole bytes at a time. */
static void
set_bits(uint8_t *map, uint64_t pg, uint64_t n)
{
	uint64_t end = pg + n;

	for (; pg < end && pg & 7; pg++)
		map[pg >> 3] |= (uint8_t)(1u << (pg & 7));
	if (end - pg >= 8) {
		memset(map + (pg >> 3), 0xff, (end - pg) >> 3);
		pg += (end - pg) & ~(uint64_t)7;
	}
	for (; pg < end; pg++)
		map[pg >> 3] |= (uint8_t)(1u << (pg & 7));
}

/* check_bitmap -- over the data area, the persistent bitmap is exactly the
 * union of the extents. Bits outside the data area are not interpreted. */
static int
check_bitmap(struct verify *v)
{
	const struct pm_super *sb = v->sb;
	const uint8_t *act = v->base + sb->bitmap_off;
	uint64_t pg = sb->data_pg, end = sb->data_pg + sb->data_pages;
	uint8_t *exp;

	exp = fault_calloc(sb->bitmap_size, 1);
	if (!exp)
		return -ENOMEM;
	for (size_t k = 0; k < v->next; k++)
		set_bits(exp, v->ext[k].region_pg, v->ext[k].npages);
	while (pg < end && !v->stop) {
		uint64_t run;
		bool a, x;

		if ((pg & 7) == 0 && end - pg >= 8 &&
		    act[pg >> 3] == exp[pg >> 3]) {
			v->res->used_pages +=
				(uint64_t)__builtin_popcount(act[pg >> 3]);
			pg += 8;
			continue;
		}
		a = bit(act, pg);
		x = bit(exp, pg);
		v->res->used_pages += a;
		if (a == x) {
			pg++;
			continue;
		}
		run = pg++;
		while (pg < end && bit(act, pg) == a && bit(exp, pg) == x) {
			v->res->used_pages += a;
			pg++;
		}
		fixable(v, "bitmap: pages %llu..%llu are %s",
		      (unsigned long long)run, (unsigned long long)(pg - 1),
		      a ? "marked used but in no extent"
			: "in an extent but marked free");
	}
	free(exp);
	return 0;
}

int
verify_tables(const struct pm_super *sb, const uint8_t *base,
	      enum verify_mode mode, verify_fault_fn fault_fn, void *ctx,
	      struct verify_result *ret)
{
	struct verify v = {
		.sb = sb,
		.base = base,
		.inodes = (const struct pm_inode *)(base + sb->inode_off),
		.extents = (const struct pm_extent *)(base + sb->extent_off),
		.mode = mode,
		.fault = fault_fn,
		.ctx = ctx,
		.res = ret,
	};
	int rc = -ENOMEM;

	memset(ret, 0, sizeof(*ret));
	v.state = fault_calloc(sb->inode_count ? sb->inode_count : 1, 1);
	v.ext = fault_calloc(sb->extent_count ? sb->extent_count : 1,
		       sizeof(*v.ext));
	if (!v.state || !v.ext)
		goto out;
	check_inodes(&v);
	rc = v.stop ? 0 : check_names(&v);
	if (!rc && !v.stop)
		rc = check_orphans(&v);
	if (!rc && !v.stop)
		check_extents(&v);
	if (!rc && !v.stop)
		check_overlap(&v);
	if (!rc && !v.stop)
		rc = check_bitmap(&v);
out:
	free(v.state);
	free(v.ext);
	return rc;
}

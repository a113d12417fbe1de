/* repair.c -- offline repair of the faults of a region file that can be
 * fixed without losing data (pagemapctl fsck --repair). */
#include "repair.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "exlock.h"
#include "fsck.h"
#include "holder.h"
#include "journal.h"
#include "layout.h"
#include "pair.h"
#include "verify.h"

/*
 * The repair is planned in DRAM from the tables as they are (after the
 * journal's replay, as attach would see them) and staged as ONE journal
 * transaction: the new extent records, the renamed and freed inode
 * records, the superblock (orphan list) and the changed bitmap bytes. A
 * crash before its commit persist leaves the old state, after it the new
 * one, which the next attach or fsck replays (journal.h); nothing is
 * written home before the commit point.
 *
 * It repairs only tables whose every other part is sound: verify_tables()
 * says which faults are fixable (extents sharing region pages, the bitmap
 * against the extents), and any other fault stops it before anything is
 * staged, since freeing "unowned" pages next to a corrupt extent record
 * could free a file's data.
 *
 * The rules, all of which keep every byte that some file owned:
 *  - a region page claimed by several extents stays with the extent in
 *    the lowest extent-table slot; the others unmap it (their file gets a
 *    hole there, its size unchanged) -- the journal's order of the
 *    claims is not consulted: a checkpoint discards it anyway;
 *  - every named file that took part in such an overlap is renamed
 *    "damaged.<ino>.<name>" (truncated to PM_NAME_MAX bytes on a UTF-8
 *    boundary), so that it is not used as if it were whole;
 *  - orphans are freed (attach would free them too) unless the
 *    superblock's pin record names this boot: a client may still have
 *    their pages mapped, from a daemon that did not detach cleanly;
 *  - the bitmap becomes the union of the extents that remain.
 *
 * A dry run does all of this on a MAP_PRIVATE mapping with a persist that
 * does nothing, then runs the verifier over the result: the plan it
 * prints is the one that was checked, and the file is never written.
 */

#define LOG_LINES_MAX 1000u /* printed lines; all changes are counted */

struct ext {
	uint32_t idx; /* extent table slot */
	uint32_t owner; /* inode slot */
	uint64_t file_pg;
	uint64_t region_pg;
	uint64_t npages; /* 0: the record is to be freed */
};

struct repair {
	struct repair_report *rep;
	FILE *log;
	uint32_t lines;
	struct pm_super *sb;
	uint8_t *base;
	const struct pm_inode *inodes;
	const struct pm_extent *extents;
	struct ext *ext; /* the extents in use, as they will be */
	size_t n, cap;
	uint8_t *rename; /* per inode slot: 1 = to be renamed */
	uint32_t next_free; /* where to look for a free extent slot */
	struct journal *j;
	uint32_t seen_fixable; /* verify callback: fixable faults so far */
	const struct verify_result *vres;
	bool after; /* the verify callback runs on the repaired tables */
};

static void
say(struct repair *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
say(struct repair *r, const char *fmt, ...)
{
	va_list ap;

	if (!r->log)
		return;
	if (r->lines < LOG_LINES_MAX) {
		fputs("repair: ", r->log);
		va_start(ap, fmt);
		vfprintf(r->log, fmt, ap);
		va_end(ap);
		fputc('\n', r->log);
	} else if (r->lines == LOG_LINES_MAX) {
		fputs("repair: too many lines, only counting\n", r->log);
	}
	r->lines++;
}

/* change -- one planned change: said and counted. */
static void
change(struct repair *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
change(struct repair *r, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	say(r, "%s", line);
	r->rep->changes++;
}

static void
set_error(struct repair *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_error(struct repair *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->rep->first_error, sizeof(r->rep->first_error), fmt, ap);
	va_end(ap);
}

/* on_fault -- verify_tables()'s report: before the repair each fault is
 * found or unfixable, after it every fault is one the repair left. */
static void
on_fault(void *ctx, const char *line)
{
	struct repair *r = ctx;

	if (r->after) {
		say(r, "after repair: %s", line);
		return;
	}
	if (r->vres->repairable > r->seen_fixable) {
		r->seen_fixable = r->vres->repairable;
		say(r, "found: %s", line);
		return;
	}
	say(r, "cannot repair: %s", line);
}

/* ---- a media for the file --------------------------------------------- */

struct file_media {
	int fd;
	bool plain; /* a regular file: pwrite + fdatasync */
};

static int
noop_persist(struct pm_media *m, uint64_t off, uint64_t len)
{
	(void)m, (void)off, (void)len;
	return 0;
}

static int
file_persist(struct pm_media *m, uint64_t off, uint64_t len)
{
	struct file_media *f = m->ctx;
	uint64_t lo = off & ~(uint64_t)(PM_PAGE_SIZE - 1);

	if (f->plain)
		return fdatasync(f->fd) ? -errno : 0;
	if (msync(m->base + lo, len + (off - lo), MS_SYNC))
		return -errno;
	return 0;
}

/* file_write -- a plain file is written with pwrite(), so that a store
 * into a hole of a sparse file fails with an error, not SIGBUS. */
static int
file_write(struct pm_media *m, uint64_t off, const void *src, uint64_t len)
{
	static const uint8_t zero[4096];
	struct file_media *f = m->ctx;

	while (len) {
		uint64_t n = len;
		ssize_t w;

		if (!src && n > sizeof(zero))
			n = sizeof(zero);
		w = pwrite(f->fd, src ? src : zero, n, (off_t)off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (w == 0)
			return -EIO;
		off += (uint64_t)w;
		len -= (uint64_t)w;
		if (src)
			src = (const uint8_t *)src + w;
	}
	return 0;
}

/* ---- planning ---------------------------------------------------------- */

static int
push_ext(struct repair *r, struct ext e)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct ext *v = realloc(r->ext, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->ext = v;
		r->cap = cap;
	}
	r->ext[r->n++] = e;
	return 0;
}

static const char *
name_of(const struct repair *r, uint32_t slot)
{
	const struct pm_inode *ino = &r->inodes[slot];

	return ino->flags & PM_INODE_ORPHAN ? "(orphan)" : ino->name;
}

static uint64_t
ino_of(const struct repair *r, uint32_t slot)
{
	return (uint64_t)r->inodes[slot].gen << 32 | slot;
}

/* free_ext_slot -- a free extent-table slot for a split piece, or -1. */
static int64_t
free_ext_slot(struct repair *r)
{
	for (; r->next_free < r->sb->extent_count; r->next_free++)
		if (r->extents[r->next_free].slot == 0)
			return r->next_free++;
	return -1;
}

static int
by_region(const void *a, const void *b)
{
	const struct ext *x = a, *y = b;

	if (x->region_pg != y->region_pg)
		return x->region_pg < y->region_pg ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* keeper -- of @m extents @c, the one in the lowest table slot below
 * @idx that holds region page @pg; -1 when none. */
static int
keeper(const struct ext *c, size_t m, uint32_t idx, uint64_t pg)
{
	int best = -1;

	for (size_t k = 0; k < m; k++) {
		if (c[k].idx >= idx || pg < c[k].region_pg ||
		    pg >= c[k].region_pg + c[k].npages)
			continue;
		if (best < 0 || c[k].idx < c[best].idx)
			best = (int)k;
	}
	return best;
}

/* find_pos -- where the extent in table slot @idx is in r->ext. */
static size_t
find_pos(const struct repair *r, uint32_t idx)
{
	for (size_t k = 0; k < r->n; k++)
		if (r->ext[k].idx == idx)
			return k;
	return r->n;
}

/* split_cluster -- @m extents @c (copies, as they were) share region
 * pages: each gives up the pages a lower slot also claims. */
static int
split_cluster(struct repair *r, const struct ext *c, size_t m)
{
	for (size_t k = 0; k < m; k++) {
		const struct ext *e = &c[k];
		size_t pos = find_pos(r, e->idx);
		uint64_t end = e->region_pg + e->npages, pg = e->region_pg;
		bool first = true;

		if (!(r->inodes[e->owner].flags & PM_INODE_ORPHAN))
			r->rename[e->owner] = 1;
		while (pg < end) {
			int who = keeper(c, m, e->idx, pg);
			uint64_t run = pg;

			while (pg < end && keeper(c, m, e->idx, pg) == who)
				pg++;
			if (who >= 0) {
				change(r,
				       "inode %" PRIu32 " \"%s\" (ino %" PRIu64
				       "): file pages %" PRIu64 "..%" PRIu64
				       " (region pages %" PRIu64 "..%" PRIu64
				       ") unmapped, a hole now; they stay "
				       "with inode %" PRIu32 " \"%s\" "
				       "(extent %" PRIu32 ")",
				       e->owner, name_of(r, e->owner),
				       ino_of(r, e->owner),
				       e->file_pg + (run - e->region_pg),
				       e->file_pg + (pg - 1 - e->region_pg),
				       run, pg - 1, c[who].owner,
				       name_of(r, c[who].owner), c[who].idx);
				continue;
			}
			/* A run this extent keeps: the first reuses its
			 * slot, the others take free ones. */
			struct ext piece = {
				.idx = e->idx,
				.owner = e->owner,
				.file_pg = e->file_pg + (run - e->region_pg),
				.region_pg = run,
				.npages = pg - run,
			};
			if (first) {
				r->ext[pos] = piece;
				first = false;
				continue;
			}
			int64_t slot = free_ext_slot(r);

			if (slot < 0) {
				set_error(r, "no free extent slot to split "
					     "extent %" PRIu32 " into",
					  e->idx);
				return -ENOSPC;
			}
			piece.idx = (uint32_t)slot;
			if (push_ext(r, piece))
				return -ENOMEM;
		}
		if (first)
			r->ext[pos].npages = 0; /* gave up every page */
	}
	return 0;
}

/* plan_overlaps -- find the clusters of extents that share region pages
 * and split each. */
static int
plan_overlaps(struct repair *r)
{
	size_t n = r->n, k0 = 0;
	struct ext *s = malloc((n ? n : 1) * sizeof(*s));
	uint64_t end = 0;
	int rc = 0;

	if (!s)
		return -ENOMEM;
	memcpy(s, r->ext, n * sizeof(*s));
	qsort(s, n, sizeof(*s), by_region);
	for (size_t k = 0; k <= n && !rc; k++) {
		if (k < n && k > k0 && s[k].region_pg < end) {
			if (s[k].region_pg + s[k].npages > end)
				end = s[k].region_pg + s[k].npages;
			continue;
		}
		if (k - k0 > 1)
			rc = split_cluster(r, s + k0, k - k0);
		if (k < n) {
			k0 = k;
			end = s[k].region_pg + s[k].npages;
		}
	}
	free(s);
	return rc;
}

/* damaged_name -- "damaged.<ino>.<name>", the name cut on a UTF-8
 * boundary to fit PM_NAME_MAX bytes. */
static void
damaged_name(const struct repair *r, uint32_t slot, char *out, size_t len)
{
	const char *old = r->inodes[slot].name;
	int pre = snprintf(out, len, "damaged.%" PRIu64 ".", ino_of(r, slot));
	size_t room = PM_NAME_MAX - (size_t)pre, n = strlen(old);

	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)old[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(out + pre, old, n);
	out[pre + n] = '\0';
}

/* name_taken -- a named file other than those being renamed has @name. */
static bool
name_taken(const struct repair *r, const char *name)
{
	for (uint32_t i = 0; i < r->sb->inode_count; i++) {
		const struct pm_inode *ino = &r->inodes[i];

		if ((ino->flags & (PM_INODE_USED | PM_INODE_ORPHAN)) !=
			    PM_INODE_USED ||
		    r->rename[i])
			continue;
		if (strcmp(ino->name, name) == 0)
			return true;
	}
	return false;
}

static int
stage(struct repair *r, uint64_t off, const void *data, uint32_t len)
{
	int rc = journal_add(r->j, off, data, len);

	if (rc == -E2BIG)
		set_error(r, "the repair does not fit in one journal "
			     "transaction");
	else if (rc)
		set_error(r, "cannot stage a write at %" PRIu64 ": %s", off,
			  strerror(-rc));
	return rc;
}

static int
stage_renames(struct repair *r)
{
	for (uint32_t i = 0; i < r->sb->inode_count; i++) {
		struct pm_inode rec;
		char name[PM_NAME_MAX + 1];
		int rc;

		if (!r->rename[i])
			continue;
		damaged_name(r, i, name, sizeof(name));
		if (layout_name_valid(name) || name_taken(r, name)) {
			set_error(r, "cannot rename inode %" PRIu32 " to "
				     "\"%s\": the name is taken or invalid",
				  i, name);
			return -EEXIST;
		}
		change(r, "rename inode %" PRIu32 " \"%s\" to \"%s\"", i,
		       r->inodes[i].name, name);
		rec = r->inodes[i];
		memset(rec.name, 0, sizeof(rec.name));
		rec.name_len = (uint32_t)strlen(name);
		memcpy(rec.name, name, rec.name_len);
		layout_inode_seal(&rec);
		rc = stage(r, r->sb->inode_off + (uint64_t)i * sizeof(rec),
			   &rec, sizeof(rec));
		if (rc)
			return rc;
	}
	return 0;
}

/* pins_this_boot -- the superblock says pins of this boot may be
 * outstanding; so does a boot id that cannot be read. */
static bool
pins_this_boot(const struct pm_super *sb)
{
	static const uint8_t none[16];
	uint8_t boot[16];

	if (memcmp(sb->pins_boot_id, none, sizeof(none)) == 0)
		return false;
	return holder_boot_id(boot) != 0 ||
	       memcmp(boot, sb->pins_boot_id, sizeof(boot)) == 0;
}

/* stage_orphans -- free every orphan on the list, or say why not. */
static int
stage_orphans(struct repair *r)
{
	struct pm_super sb;
	uint32_t cur = r->sb->orphan_head, count = 0;
	int rc;

	if (!cur)
		return 0;
	for (uint32_t c = cur; c; c = r->inodes[c - 1].orphan_next)
		count++;
	if (pins_this_boot(r->sb)) {
		r->rep->orphans_kept = count;
		say(r, "%" PRIu32 " orphan%s not freed: pins of this boot may "
		       "be outstanding (the superblock's pin record names "
		       "this boot); a daemon started with the runtime "
		       "directory of the one that served the region frees "
		       "them when their leases end",
		    count, count == 1 ? "" : "s");
		return 0;
	}
	for (; cur; cur = r->inodes[cur - 1].orphan_next) {
		uint32_t slot = cur - 1;
		struct pm_inode rec;
		uint64_t pages = 0;

		for (size_t k = 0; k < r->n; k++) {
			if (r->ext[k].owner != slot)
				continue;
			pages += r->ext[k].npages;
			r->ext[k].npages = 0;
		}
		change(r, "free orphan inode %" PRIu32 " (ino %" PRIu64
			  ", %" PRIu64 " bytes, %" PRIu64 " pages)",
		       slot, ino_of(r, slot), r->inodes[slot].size, pages);
		/* A free slot keeps only its generation (inode_io.c). */
		memset(&rec, 0, sizeof(rec));
		rec.gen = r->inodes[slot].gen;
		layout_inode_seal(&rec);
		rc = stage(r, r->sb->inode_off + (uint64_t)slot * sizeof(rec),
			   &rec, sizeof(rec));
		if (rc)
			return rc;
	}
	sb = *r->sb;
	sb.orphan_head = 0;
	/* The freed slots leave the superblock's count of slots in use. */
	sb.live_inodes = sb.live_inodes >= count ? sb.live_inodes - count : 0;
	layout_super_seal(&sb);
	return stage(r, 0, &sb, sizeof(sb));
}

static int
stage_extents(struct repair *r)
{
	for (size_t k = 0; k < r->n; k++) {
		const struct ext *e = &r->ext[k];
		uint64_t off = r->sb->extent_off +
			       (uint64_t)e->idx * sizeof(struct pm_extent);
		struct pm_extent rec = {0};
		int rc;

		if (e->npages) {
			rec = (struct pm_extent){
				.slot = e->owner + 1,
				.file_pg = e->file_pg,
				.region_pg = e->region_pg,
				.npages = e->npages,
			};
			layout_extent_seal(&rec);
		}
		if (memcmp(&rec, &r->extents[e->idx], sizeof(rec)) == 0)
			continue;
		rc = stage(r, off, &rec, sizeof(rec));
		if (rc)
			return rc;
	}
	return 0;
}

static bool
bit(const uint8_t *map, uint64_t pg)
{
	return map[pg >> 3] >> (pg & 7) & 1;
}

static void
put_bits(uint8_t *map, uint64_t pg, uint64_t n, bool on)
{
	for (uint64_t end = pg + n; pg < end; pg++) {
		if ((pg & 7) == 0 && end - pg >= 8) {
			map[pg >> 3] = on ? 0xff : 0;
			pg += 7;
			continue;
		}
		if (on)
			map[pg >> 3] |= (uint8_t)(1u << (pg & 7));
		else
			map[pg >> 3] &= (uint8_t)~(1u << (pg & 7));
	}
}

/* union_of -- the bitmap @act with the data area replaced by the union of
 * the extents @v (those with pages). */
static void
union_of(const struct repair *r, const uint8_t *act, const struct ext *v,
	 size_t n, uint8_t *out)
{
	memcpy(out, act, r->sb->bitmap_size);
	put_bits(out, r->sb->data_pg, r->sb->data_pages, false);
	for (size_t k = 0; k < n; k++)
		put_bits(out, v[k].region_pg, v[k].npages, true);
}

/* report_bitmap -- the disagreements of the bitmap with the extents as
 * they were, as page runs. */
static void
report_bitmap(struct repair *r, const uint8_t *act, const uint8_t *want)
{
	uint64_t pg = r->sb->data_pg, end = pg + r->sb->data_pages;

	while (pg < end) {
		bool a = bit(act, pg), w = bit(want, pg);
		uint64_t run = pg;

		if (a == w) {
			pg++;
			continue;
		}
		while (pg < end && bit(act, pg) == a && bit(want, pg) == w)
			pg++;
		change(r, "bitmap: mark pages %" PRIu64 "..%" PRIu64 " %s",
		       run, pg - 1,
		       a ? "free (marked used but in no extent)"
			 : "used (in an extent but marked free)");
	}
}

/* stage_bitmap -- the bytes of the bitmap that change, as runs. */
static int
stage_bitmap(struct repair *r, const uint8_t *act, const uint8_t *want)
{
	uint64_t i = 0, size = r->sb->bitmap_size;

	while (i < size) {
		uint64_t lo, last;
		int rc;

		if (act[i] == want[i]) {
			i++;
			continue;
		}
		/* Runs closer than a record header are merged. */
		lo = last = i;
		for (i++; i < size && i - last <= 16; i++)
			if (act[i] != want[i])
				last = i;
		rc = stage(r, r->sb->bitmap_off + lo, want + lo,
			   (uint32_t)(last + 1 - lo));
		if (rc)
			return rc;
		i = last + 1;
	}
	return 0;
}

/* plan -- stage the whole repair in r->j. */
static int
plan(struct repair *r)
{
	const uint8_t *act = r->base + r->sb->bitmap_off;
	uint8_t *want = NULL;
	struct ext *orig = NULL;
	size_t norig;
	int rc = -ENOMEM;

	for (uint32_t i = 0; i < r->sb->extent_count; i++) {
		const struct pm_extent *e = &r->extents[i];

		if (e->slot == 0)
			continue;
		if (push_ext(r, (struct ext){i, e->slot - 1, e->file_pg,
					     e->region_pg, e->npages}))
			goto out;
	}
	norig = r->n;
	orig = malloc((norig ? norig : 1) * sizeof(*orig));
	want = malloc(r->sb->bitmap_size);
	r->rename = calloc(r->sb->inode_count, 1);
	if (!orig || !want || !r->rename)
		goto out;
	memcpy(orig, r->ext, norig * sizeof(*orig));
	union_of(r, act, orig, norig, want);
	report_bitmap(r, act, want);
	rc = plan_overlaps(r);
	if (!rc)
		rc = stage_renames(r);
	if (!rc)
		rc = stage_orphans(r);
	if (!rc)
		rc = stage_extents(r);
	if (!rc) {
		union_of(r, act, r->ext, r->n, want);
		rc = stage_bitmap(r, act, want);
	}
out:
	if (rc == -ENOMEM && !r->rep->first_error[0])
		set_error(r, "out of memory");
	free(want);
	free(orig);
	return rc;
}

/* ---- the file ---------------------------------------------------------- */

/* read_super -- the superblock, accepted as fsck does: a torn journaled
 * write (only its crc wrong) is left for the replay to repair. */
static int
read_super(struct repair *r, int fd, uint64_t size, struct pm_super *sb)
{
	const char *why;
	ssize_t n = pread(fd, sb, sizeof(*sb), 0);

	if (n < 0) {
		set_error(r, "cannot read: %s", strerror(errno));
		return -EIO;
	}
	if ((size_t)n < sizeof(*sb)) {
		set_error(r, "too small to be a region");
		return -EINVAL;
	}
	if (layout_super_check(sb, size, &why)) {
		struct pm_super sealed = *sb;
		const char *ignored;

		layout_super_seal(&sealed);
		if (!layout_journal_usable(sb, size) ||
		    layout_super_check(&sealed, size, &ignored)) {
			set_error(r, "superblock: %s", why);
			return -EINVAL;
		}
	}
	return 0;
}

/* repair_mapped -- replay, verify, plan, commit, verify again. */
static int
repair_mapped(struct repair *r, struct pm_media *m, bool apply)
{
	struct verify_result res;
	struct journal j;
	const char *why;
	int rc;

	rc = journal_init(&j, m, r->sb->journal_off, r->sb->journal_size);
	if (rc) {
		set_error(r, "journal: %s", strerror(-rc));
		return rc;
	}
	r->j = &j;
	rc = journal_recover(&j);
	if (rc == -EUCLEAN) {
		set_error(r, "journal: a committed transaction writes outside "
			     "the metadata; run pagemapctl fsck");
		goto out;
	}
	if (rc < 0) {
		set_error(r, "journal replay: %s", strerror(-rc));
		goto out;
	}
	r->rep->journal_replayed = rc == 1;
	if (layout_super_check(r->sb, m->size, &why)) {
		set_error(r, "superblock after journal replay: %s", why);
		rc = -EINVAL;
		goto out;
	}
	r->inodes = (const struct pm_inode *)(r->base + r->sb->inode_off);
	r->extents = (const struct pm_extent *)(r->base + r->sb->extent_off);
	r->vres = &res;
	rc = verify_tables(r->sb, r->base, VERIFY_ALL, on_fault, r, &res);
	if (rc)
		goto out;
	if (res.faults > res.repairable) {
		r->rep->unfixable = res.faults - res.repairable;
		goto out;
	}
	rc = plan(r);
	if (rc) {
		journal_abort(&j);
		goto out;
	}
	rc = journal_commit(&j);
	if (!rc)
		rc = journal_checkpoint(&j);
	if (rc) {
		set_error(r, "cannot write the repair: %s; the next attach "
			     "or fsck replays what was committed",
			  strerror(-rc));
		goto out;
	}
	r->rep->applied = apply && r->rep->changes > 0;
	r->after = true;
	rc = verify_tables(r->sb, r->base, VERIFY_ALL, on_fault, r, &res);
	r->rep->faults_after = res.faults;
out:
	journal_fini(&j);
	r->j = NULL;
	return rc;
}

/* extend_data -- a data file cut short by a client gets its length back
 * (the lost bytes read as zeroes), so that the region attaches again. */
static int
extend_data(struct repair *r, const char *path, const char *meta,
	    bool apply)
{
	struct pm_super sb = *r->sb;
	uint64_t size = 0;
	struct stat st;
	int fd = open(path, (apply ? O_RDWR : O_RDONLY) | O_CLOEXEC), rc = 0;

	if (fd < 0) {
		set_error(r, "data file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		size = (uint64_t)st.st_size;
	if (S_ISREG(st.st_mode) && size < sb.region_size) {
		if (r->log)
			fprintf(r->log,
				"repair: data file %s: extend from %" PRIu64
				" to %" PRIu64 " bytes (what was cut off reads "
				"as zeroes; metadata %s)\n",
				path, size, sb.region_size, meta);
		r->rep->changes++;
		if (apply && (ftruncate(fd, (off_t)sb.region_size) ||
			      fsync(fd))) {
			rc = -errno;
			set_error(r, "cannot extend %s: %s", path,
				  strerror(-rc));
		}
	}
	close(fd);
	return rc;
}

int
repair_region(const char *path, unsigned flags, struct repair_report *ret,
	      FILE *log)
{
	return repair_region_pair(path, NULL, flags, ret, log);
}

int
repair_region_pair(const char *path, const char *data_meta, unsigned flags,
		   struct repair_report *ret, FILE *log)
{
	bool apply = flags & REPAIR_APPLY;
	struct repair r = {.rep = ret, .log = log};
	struct file_media fm = {.fd = -1};
	struct pm_media m = {0};
	char meta[PATH_MAX];
	struct exlock lock;
	struct pm_super sb;
	uint64_t size = 0;
	pid_t holder = 0;
	void *map;
	int rc;

	memset(ret, 0, sizeof(*ret));
	if (pair_meta_path(path, data_meta, meta, sizeof(meta))) {
		set_error(&r, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	rc = exlock_region(meta, apply ? O_RDWR : O_RDONLY, &lock, &holder);
	if (rc == -EBUSY) {
		char who[EXLOCK_WHO_MAX];

		exlock_who(holder, who, sizeof(who));
		ret->holder = holder;
		set_error(&r, "region file %s is in use by %s", path, who);
		return rc;
	}
	if (rc) {
		set_error(&r, "%s: %s", meta, strerror(-rc));
		return rc;
	}
	fm.fd = lock.fd;
	rc = fsck_file_size(fm.fd, &size, &fm.plain);
	if (rc) {
		set_error(&r, "%s: %s", meta, strerror(-rc));
		goto out;
	}
	rc = read_super(&r, fm.fd, size, &sb);
	if (rc)
		goto out;
	map = mmap(NULL, sb.meta_size, PROT_READ | PROT_WRITE,
		   apply ? MAP_SHARED : MAP_PRIVATE, fm.fd, 0);
	if (map == MAP_FAILED) {
		rc = -errno;
		set_error(&r, "mmap: %s", strerror(-rc));
		goto out;
	}
	m.base = map;
	m.size = sb.meta_size;
	m.persist = apply ? file_persist : noop_persist;
	m.write = apply && fm.plain ? file_write : NULL;
	m.ctx = &fm;
	r.base = map;
	r.sb = map;
	rc = repair_mapped(&r, &m, apply);
	if (!rc && !ret->unfixable)
		rc = extend_data(&r, path, meta, apply);
	munmap(map, sb.meta_size);
out:
	free(r.ext);
	free(r.rename);
	exlock_release(&lock);
	return rc;
}

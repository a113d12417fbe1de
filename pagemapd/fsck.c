/* fsck.c -- offline consistency check of a region file. */
#include "fsck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "layout.h"

/*
 * fsck never writes the file: it maps it MAP_PRIVATE, so replaying a pending
 * journal transaction changes only our copy-on-write pages. Every record is
 * bounded by layout_*_check before its fields are used as indices, so a file
 * full of garbage yields errors, never a wild access. The checks mirror what
 * region attach relies on (region.h): the superblock, each record, name
 * uniqueness, the orphan list, extent overlap and the bitmap against the
 * extents over the data area.
 */

#define LOG_LINES_MAX 1000u /* printed problems; all of them are counted */

enum slot_state { SLOT_FREE, SLOT_FILE, SLOT_ORPHAN, SLOT_BAD };

struct used_ext {
	uint32_t idx; /* extent table index */
	uint32_t owner; /* inode slot */
	uint64_t file_pg;
	uint64_t region_pg;
	uint64_t npages;
};

struct fsck {
	struct fsck_report *rep;
	FILE *log;
	const struct pm_super *sb; /* the mapped (recovered) superblock */
	uint8_t *base; /* private mapping of the region */
	const struct pm_inode *inodes;
	const struct pm_extent *extents;
	uint8_t *state; /* enum slot_state per inode slot */
	struct used_ext *ext; /* valid, in-use extent records */
	size_t next;
};

static void
problem(struct fsck *f, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (f->rep->errors == 0)
		snprintf(f->rep->first_error, sizeof(f->rep->first_error), "%s",
			 line);
	if (f->log && f->rep->errors < LOG_LINES_MAX)
		fprintf(f->log, "fsck: %s\n", line);
	else if (f->log && f->rep->errors == LOG_LINES_MAX)
		fprintf(f->log, "fsck: too many problems, only counting\n");
	if (f->rep->errors < UINT32_MAX)
		f->rep->errors++;
}

static int
noop_persist(struct pm_media *m, uint64_t off, uint64_t len)
{
	(void)m, (void)off, (void)len;
	return 0;
}

static void
format_uuid(const uint8_t *u, char *out)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[u[i] >> 4];
		out[o++] = hex[u[i] & 15];
	}
	out[o] = '\0';
}

static bool
crc_ok_inode(const struct pm_inode *r)
{
	struct pm_inode tmp = *r;

	tmp.crc = 0;
	return crc32c(0, &tmp, sizeof(tmp)) == r->crc;
}

static bool
crc_ok_extent(const struct pm_extent *r)
{
	struct pm_extent tmp = *r;

	tmp.crc = 0;
	return crc32c(0, &tmp, sizeof(tmp)) == r->crc;
}

static uint64_t
name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 0x100000001b3ull;
	return h;
}

/* check_names -- every named file's name is unique. */
static int
check_names(struct fsck *f)
{
	uint32_t count = f->sb->inode_count, nfiles = f->rep->files;
	uint64_t cap = 16, mask;
	uint32_t *tab;

	while (cap < 2ull * nfiles)
		cap <<= 1;
	tab = calloc(cap, sizeof(*tab)); /* slot + 1, 0 = empty */
	if (!tab)
		return -ENOMEM;
	mask = cap - 1;
	for (uint32_t i = 0; i < count; i++) {
		const char *name = f->inodes[i].name;
		uint64_t h;

		if (f->state[i] != SLOT_FILE)
			continue;
		for (h = name_hash(name) & mask; tab[h]; h = (h + 1) & mask) {
			if (strcmp(f->inodes[tab[h] - 1].name, name) == 0) {
				problem(f, "inode %u: name \"%s\" is also used "
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

static void
check_inodes(struct fsck *f)
{
	const struct pm_super *sb = f->sb;

	for (uint32_t i = 0; i < sb->inode_count; i++) {
		const struct pm_inode *r = &f->inodes[i];

		if (layout_inode_check(sb, r)) {
			if (!crc_ok_inode(r))
				problem(f, "inode %u: crc mismatch", i);
			else
				problem(f, "inode %u: invalid record (flags "
					   "%#x, name_len %u, orphan_next %u, "
					   "mode %#o)",
					i, r->flags, r->name_len,
					r->orphan_next, r->mode);
			f->state[i] = SLOT_BAD;
		} else if (!(r->flags & PM_INODE_USED)) {
			f->state[i] = SLOT_FREE;
		} else if (r->flags & PM_INODE_ORPHAN) {
			f->state[i] = SLOT_ORPHAN;
			f->rep->orphans++;
		} else {
			f->state[i] = SLOT_FILE;
			f->rep->files++;
		}
	}
}

/* check_orphans -- the list from sb->orphan_head visits exactly the
 * orphan inodes, each once. */
static int
check_orphans(struct fsck *f)
{
	const struct pm_super *sb = f->sb;
	uint32_t cur = sb->orphan_head, prev = 0;
	uint8_t *seen;

	seen = calloc(sb->inode_count, 1);
	if (!seen)
		return -ENOMEM;
	/* Slot numbers were bounded by the super and inode checks. */
	while (cur) {
		uint32_t i = cur - 1;

		if (seen[i]) {
			problem(f, "orphan list: cycle at inode %u", i);
			break;
		}
		if (f->state[i] != SLOT_ORPHAN) {
			if (prev)
				problem(f, "orphan list: inode %u links to "
					   "inode %u, which is not an orphan",
					prev - 1, i);
			else
				problem(f, "orphan list: head inode %u is not "
					   "an orphan", i);
			break;
		}
		seen[i] = 1;
		prev = cur;
		cur = f->inodes[i].orphan_next;
	}
	for (uint32_t i = 0; i < sb->inode_count; i++)
		if (f->state[i] == SLOT_ORPHAN && !seen[i])
			problem(f, "inode %u: orphan not on the orphan list",
				i);
	free(seen);
	return 0;
}

static void
check_extents(struct fsck *f)
{
	const struct pm_super *sb = f->sb;

	for (uint32_t i = 0; i < sb->extent_count; i++) {
		const struct pm_extent *e = &f->extents[i];
		const struct pm_inode *ino;
		uint64_t size_pg;
		uint32_t owner;

		if (layout_extent_check(sb, e)) {
			if (e->slot && !crc_ok_extent(e))
				problem(f, "extent %u: crc mismatch", i);
			else
				problem(f, "extent %u: invalid record (slot "
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
		f->ext[f->next++] = (struct used_ext){
			.idx = i,
			.owner = owner,
			.file_pg = e->file_pg,
			.region_pg = e->region_pg,
			.npages = e->npages,
		};
		f->rep->extents++;
		if (f->state[owner] == SLOT_FREE) {
			problem(f, "extent %u: owner inode %u is not in use", i,
				owner);
			continue;
		}
		if (f->state[owner] == SLOT_BAD)
			continue;
		ino = &f->inodes[owner];
		size_pg = layout_pages(ino->size);
		if (e->file_pg >= size_pg || e->npages > size_pg - e->file_pg)
			problem(f, "extent %u: file pages %llu+%llu reach past "
				   "the size of inode %u (%llu bytes)",
				i, (unsigned long long)e->file_pg,
				(unsigned long long)e->npages, owner,
				(unsigned long long)ino->size);
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
check_overlap(struct fsck *f)
{
	size_t last = 0;

	qsort(f->ext, f->next, sizeof(*f->ext), by_region);
	for (size_t k = 1; k < f->next; k++) {
		const struct used_ext *p = &f->ext[last], *e = &f->ext[k];

		if (e->region_pg < p->region_pg + p->npages)
			problem(f, "extents %u and %u overlap in the region "
				   "(page %llu)",
				p->idx, e->idx,
				(unsigned long long)e->region_pg);
		if (e->region_pg + e->npages > p->region_pg + p->npages)
			last = k;
	}
	last = 0;
	qsort(f->ext, f->next, sizeof(*f->ext), by_file);
	for (size_t k = 1; k < f->next; k++) {
		const struct used_ext *p = &f->ext[last], *e = &f->ext[k];

		if (e->owner != p->owner) {
			last = k;
			continue;
		}
		if (e->file_pg < p->file_pg + p->npages)
			problem(f, "inode %u: extents %u and %u overlap in the "
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

/* check_bitmap -- over the data area, the persistent bitmap is exactly the
 * union of the extents. Bits outside the data area are not interpreted. */
static int
check_bitmap(struct fsck *f)
{
	const struct pm_super *sb = f->sb;
	const uint8_t *act = f->base + sb->bitmap_off;
	uint64_t start = sb->data_pg, end = sb->data_pg + sb->data_pages;
	uint64_t pg = start;
	uint8_t *exp;

	exp = calloc(sb->bitmap_size, 1);
	if (!exp)
		return -ENOMEM;
	for (size_t k = 0; k < f->next; k++) {
		const struct used_ext *e = &f->ext[k];

		for (uint64_t p = e->region_pg; p < e->region_pg + e->npages;
		     p++)
			exp[p >> 3] |= (uint8_t)(1u << (p & 7));
	}
	while (pg < end) {
		uint64_t run;
		bool a, x;

		if ((pg & 7) == 0 && end - pg >= 8 &&
		    act[pg >> 3] == exp[pg >> 3]) {
			f->rep->used_pages +=
				(uint64_t)__builtin_popcount(act[pg >> 3]);
			pg += 8;
			continue;
		}
		a = bit(act, pg);
		x = bit(exp, pg);
		f->rep->used_pages += a;
		if (a == x) {
			pg++;
			continue;
		}
		run = pg++;
		while (pg < end && bit(act, pg) == a && bit(exp, pg) == x) {
			f->rep->used_pages += a;
			pg++;
		}
		problem(f, "bitmap: pages %llu..%llu are %s",
			(unsigned long long)run, (unsigned long long)(pg - 1),
			a ? "marked used but in no extent"
			  : "in an extent but marked free");
	}
	f->rep->free_pages = sb->data_pages - f->rep->used_pages;
	free(exp);
	return 0;
}

/* check_mapped -- everything after the superblock, on the mapping. */
static int
check_mapped(struct fsck *f, uint64_t map_len)
{
	struct pm_media media = {
		.base = f->base,
		.size = map_len,
		.persist = noop_persist,
	};
	struct journal j;
	const char *why;
	int ret;

	ret = journal_init(&j, &media, f->sb->journal_off,
			   f->sb->journal_size);
	if (ret)
		return ret;
	ret = journal_recover(&j);
	journal_fini(&j);
	if (ret == 1)
		f->rep->journal_replayed = 1;
	else if (ret == -EUCLEAN)
		problem(f, "journal: committed transaction writes outside "
			   "the metadata; not replayed");
	else if (ret < 0)
		return ret;
	/* The replayed transaction may have rewritten the superblock. */
	if (layout_super_check(f->sb, map_len, &why)) {
		problem(f, "superblock after journal replay: %s", why);
		return 0;
	}
	if (f->sb->region_size != map_len) {
		problem(f, "journal replay changed the region size");
		return 0;
	}
	f->rep->max_order = f->sb->max_order;
	format_uuid(f->sb->uuid, f->rep->uuid);
	f->inodes = (const struct pm_inode *)(f->base + f->sb->inode_off);
	f->extents = (const struct pm_extent *)(f->base + f->sb->extent_off);

	f->state = calloc(f->sb->inode_count, 1);
	f->ext = calloc(f->sb->extent_count, sizeof(*f->ext));
	if (!f->state || !f->ext)
		return -ENOMEM;
	check_inodes(f);
	ret = check_names(f);
	if (ret == 0)
		ret = check_orphans(f);
	if (ret)
		return ret;
	check_extents(f);
	check_overlap(f);
	return check_bitmap(f);
}

static int
file_size(int fd, uint64_t *ret)
{
	struct stat st;
	off_t end;

	if (fstat(fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*ret = (uint64_t)st.st_size;
		return 0;
	}
	/* Block and devdax devices report their size only by seeking. */
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return -errno;
	*ret = (uint64_t)end;
	return 0;
}

int
fsck_region(const char *path, struct fsck_report *ret, FILE *log)
{
	struct fsck f = {.rep = ret, .log = log};
	struct pm_super sb;
	const char *why;
	uint64_t size = 0;
	ssize_t n;
	void *map;
	int fd, err;

	memset(ret, 0, sizeof(*ret));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		problem(&f, "%s: %s", path, strerror(-err));
		return err;
	}
	err = file_size(fd, &size);
	if (err) {
		problem(&f, "%s: %s", path, strerror(-err));
		goto out_close;
	}
	n = pread(fd, &sb, sizeof(sb), 0);
	if (n < 0) {
		err = -errno;
		problem(&f, "%s: %s", path, strerror(-err));
		goto out_close;
	}
	if ((size_t)n < sizeof(sb)) {
		err = -EINVAL;
		problem(&f, "%s: too small to be a region", path);
		goto out_close;
	}
	err = layout_super_check(&sb, size, &why);
	if (err) {
		/* A superblock whose only fault is its crc may be a torn
		 * journaled write that replay repairs, as attach does;
		 * check_mapped() checks it again after the replay. */
		struct pm_super sealed = sb;
		const char *ignored;

		layout_super_seal(&sealed);
		if (!layout_journal_usable(&sb, size) ||
		    layout_super_check(&sealed, size, &ignored)) {
			problem(&f, "superblock: %s", why);
			goto out_close;
		}
		err = 0;
	}
	ret->region_size = sb.region_size;
	ret->max_order = sb.max_order;
	format_uuid(sb.uuid, ret->uuid);

	map = mmap(NULL, sb.region_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		   fd, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		problem(&f, "%s: mmap: %s", path, strerror(-err));
		goto out_close;
	}
	f.base = map;
	f.sb = map;
	err = check_mapped(&f, sb.region_size);
	if (err)
		problem(&f, "check aborted: %s", strerror(-err));
	free(f.state);
	free(f.ext);
	munmap(map, sb.region_size);
out_close:
	close(fd);
	return err;
}

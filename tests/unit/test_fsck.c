/* test_fsck.c -- the offline checker on hand-built, corrupted and random
 * region files. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "exlock.h"
#include "fsck.h"
#include "holder.h"
#include "journal.h"
#include "layout.h"
#include "region.h"
#include "repair.h"
#include "verify.h"

#include "fdcheck.h"
#include "rng.h"
#include "tmpdir.h"

#define RSIZE (8u << 20)

/* The hand-built image: the metadata in a DRAM buffer, written to a temp
 * file before each check. Slots: 0 "alpha" (4 pages), 1 "beta" (2 MiB in
 * two extents), 2 "gamma" (empty), 5 and 7 orphans (list 7 -> 5), 9 free
 * with a bumped generation. */
struct img {
	uint8_t *buf;
	struct pm_super *sb;
	struct pm_inode *ino;
	struct pm_extent *ext;
	uint8_t *bm;
	uint64_t meta_end; /* bytes of metadata to write */
	char meta[192]; /* the metadata file: "<path>.meta" */
	uint32_t ninodes, nextents; /* as built, whatever sb says later */
	char dir[64];
	char path[80];
};

static int
noop_persist(struct pm_media *m, uint64_t off, uint64_t len)
{
	(void)m, (void)off, (void)len;
	return 0;
}

/* count_live -- a slot that was free and is now used counts in the
 * superblock (resealed) as the daemon's journal would count it. */
static void
count_live(struct img *im, const struct pm_inode *r)
{
	if (r->flags & PM_INODE_USED)
		return;
	im->sb->live_inodes++;
	layout_super_seal(im->sb);
}

static void
set_file(struct img *im, uint32_t slot, const char *name, uint64_t size)
{
	struct pm_inode *r = &im->ino[slot];

	count_live(im, r);
	memset(r, 0, sizeof(*r));
	r->flags = PM_INODE_USED;
	r->gen = slot + 1;
	r->size = size;
	r->mtime_ns = 1700000000000000000ull;
	r->uid = 1000;
	r->gid = 1000;
	r->mode = 0644;
	r->name_len = (uint32_t)strlen(name);
	memcpy(r->name, name, r->name_len);
	layout_inode_seal(r);
}

static void
set_orphan(struct img *im, uint32_t slot, uint64_t size, uint32_t next)
{
	struct pm_inode *r = &im->ino[slot];

	count_live(im, r);
	memset(r, 0, sizeof(*r));
	r->flags = PM_INODE_USED | PM_INODE_ORPHAN;
	r->gen = 1;
	r->size = size;
	r->orphan_next = next;
	layout_inode_seal(r);
}

static void
set_extent(struct img *im, uint32_t i, uint32_t slot, uint64_t file_pg,
	   uint64_t rel_pg, uint64_t npages)
{
	struct pm_extent *e = &im->ext[i];

	*e = (struct pm_extent){.slot = slot + 1,
				.file_pg = file_pg,
				.region_pg = im->sb->data_pg + rel_pg,
				.npages = npages};
	layout_extent_seal(e);
}

static void
set_bits(struct img *im, uint64_t pg, uint64_t n, bool on)
{
	for (uint64_t p = pg; p < pg + n; p++) {
		if (on)
			im->bm[p / 8] |= (uint8_t)(1u << p % 8);
		else
			im->bm[p / 8] &= (uint8_t)~(1u << p % 8);
	}
}

/* sync_bitmap -- make the bitmap the union of the in-use extents. */
static void
sync_bitmap(struct img *im)
{
	memset(im->bm, 0, im->sb->bitmap_size);
	for (uint32_t i = 0; i < im->sb->extent_count; i++)
		if (im->ext[i].slot)
			set_bits(im, im->ext[i].region_pg, im->ext[i].npages,
				 true);
}

static void
build(struct img *im)
{
	struct pm_geometry g = {.region_size = RSIZE, .max_order = 9};
	struct pm_media m = {.size = RSIZE, .persist = noop_persist};
	struct journal j;

	im->buf = calloc(1, RSIZE);
	assert_non_null(im->buf);
	im->sb = (struct pm_super *)im->buf;
	assert_int_equal(layout_plan(&g, im->sb), 0);
	for (int i = 0; i < 16; i++)
		im->sb->uuid[i] = (uint8_t)(0x10 * i + i);
	im->sb->format_time_ns = 1700000000000000000ull;
	im->ino = (struct pm_inode *)(im->buf + im->sb->inode_off);
	im->ext = (struct pm_extent *)(im->buf + im->sb->extent_off);
	im->bm = im->buf + im->sb->bitmap_off;
	im->meta_end = im->sb->bitmap_off + im->sb->bitmap_size;
	im->ninodes = im->sb->inode_count;
	im->nextents = im->sb->extent_count;
	for (uint32_t i = 0; i < im->sb->inode_count; i++)
		layout_inode_seal(&im->ino[i]);
	m.base = im->buf;
	assert_int_equal(journal_init(&j, &m, im->sb->journal_off,
				      im->sb->journal_size),
			 0);
	assert_int_equal(journal_format(&j), 0);
	journal_fini(&j);

	set_file(im, 0, "alpha", 3 * 4096 + 100);
	set_extent(im, 0, 0, 0, 0, 4);
	set_file(im, 1, "beta", 2u << 20);
	set_extent(im, 3, 1, 256, 1024, 256);
	set_extent(im, 1, 1, 0, 512, 256);
	set_file(im, 2, "gamma", 0);
	set_orphan(im, 5, 4096, 0);
	set_extent(im, 7, 5, 0, 10, 1);
	set_orphan(im, 7, 8192, 6);
	set_extent(im, 8, 7, 1, 11, 1);
	im->ino[9].gen = 3;
	layout_inode_seal(&im->ino[9]);
	im->sb->orphan_head = 8;
	sync_bitmap(im); /* live_inodes: alpha, beta, gamma, orphans 5, 7 */
	layout_super_seal(im->sb);
}

static void
write_image(const struct img *im)
{
	int fd = open(im->path, O_WRONLY | O_TRUNC | O_CLOEXEC);

	/* The data file: as large as the region, all hole. */
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, RSIZE), 0);
	close(fd);
	fd = open(im->meta, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, im->buf, im->meta_end, 0),
			 (ssize_t)im->meta_end);
	close(fd);
}

static int
setup(void **state)
{
	struct img *im = calloc(1, sizeof(*im));
	int fd;

	if (!im)
		return -1;
	fdcheck_begin();
	if (tmpdir_make(im->dir, sizeof(im->dir), "fsck") < 0) {
		free(im);
		return -1;
	}
	snprintf(im->path, sizeof(im->path), "%s/r.pmem", im->dir);
	snprintf(im->meta, sizeof(im->meta), "%s/r.pmem.meta", im->dir);
	fd = open(im->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		tmpdir_remove(im->dir);
		free(im);
		return -1;
	}
	close(fd);
	build(im);
	*state = im;
	return 0;
}

static int
teardown(void **state)
{
	struct img *im = *state;

	tmpdir_remove(im->dir);
	free(im->buf);
	free(im);
	return fdcheck_end();
}

/* check -- write @im and fsck it; returns the fsck result. */
static int
check(struct img *im, struct fsck_report *rep)
{
	write_image(im);
	return fsck_region(im->path, rep, NULL);
}

static void
a_valid_image_has_no_errors(void **state)
{
	struct img *im = *state;
	struct fsck_report rep;
	char *out = NULL;
	size_t outlen = 0;
	FILE *log = open_memstream(&out, &outlen);

	assert_non_null(log);
	write_image(im);
	assert_int_equal(fsck_region(im->path, &rep, log), 0);
	fclose(log);
	assert_int_equal(outlen, 0);
	free(out);
	assert_int_equal(rep.errors, 0);
	assert_string_equal(rep.first_error, "");
	assert_int_equal(rep.region_size, RSIZE);
	assert_int_equal(rep.max_order, 9);
	assert_int_equal(rep.files, 3);
	assert_int_equal(rep.orphans, 2);
	assert_int_equal(rep.extents, 5);
	assert_int_equal(rep.used_pages, 4 + 256 + 256 + 1 + 1);
	assert_int_equal(rep.free_pages, im->sb->data_pages - rep.used_pages);
	assert_int_equal(rep.journal_replayed, 0);
	assert_string_equal(rep.uuid, "00112233-4455-6677-8899-aabbccddeeff");
}

static void
bits_outside_the_data_area_are_not_interpreted(void **state)
{
	struct img *im = *state;
	struct fsck_report rep;

	/* The allocator may mark the metadata pages used; fsck only judges
	 * the data area. */
	set_bits(im, 0, im->sb->data_pg, true);
	assert_int_equal(check(im, &rep), 0);
	assert_int_equal(rep.errors, 0);
}

static void
never_used_inode_slots_may_be_all_zero(void **state)
{
	struct img *im = *state;
	struct fsck_report rep;

	/* What a format over a sparse file leaves behind. */
	memset(&im->ino[10], 0, (im->ninodes - 10) * sizeof(*im->ino));
	assert_int_equal(check(im, &rep), 0);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(rep.files, 3);
}

/* A transaction that creates "delta" (slot 3, one extent, its bitmap
 * bits) is committed in the journal; only its extent record made it home
 * before the crash. Without the replay the bitmap would not match. */
static void
a_pending_transaction_is_replayed_privately(void **state)
{
	struct img *im = *state;
	struct pm_media m = {.size = RSIZE, .persist = noop_persist};
	struct fsck_report rep;
	struct journal j;
	struct pm_inode ino;
	struct pm_extent e;
	uint8_t *scratch = malloc(RSIZE), *disk = malloc(im->meta_end);
	uint64_t pg = im->sb->data_pg + 100, boff;
	int fd;

	assert_non_null(scratch);
	assert_non_null(disk);
	memcpy(scratch, im->buf, RSIZE);
	m.base = scratch;
	assert_int_equal(journal_init(&j, &m, im->sb->journal_off,
				      im->sb->journal_size),
			 0);
	memset(&ino, 0, sizeof(ino));
	ino.flags = PM_INODE_USED;
	ino.size = 8 * 4096;
	ino.mode = 0600;
	ino.name_len = 5;
	memcpy(ino.name, "delta", 5);
	layout_inode_seal(&ino);
	e = (struct pm_extent){.slot = 4, .region_pg = pg, .npages = 8};
	layout_extent_seal(&e);
	boff = im->sb->bitmap_off + pg / 8;
	assert_int_equal(pg % 8, 4); /* spans two bitmap bytes */
	scratch[boff] |= 0xf0;
	scratch[boff + 1] |= 0x0f;
	assert_int_equal(journal_add(&j, im->sb->inode_off + 3 * sizeof(ino),
				     &ino, sizeof(ino)),
			 0);
	assert_int_equal(journal_add(&j, im->sb->extent_off + 2 * sizeof(e),
				     &e, sizeof(e)),
			 0);
	assert_int_equal(journal_add(&j, boff, scratch + boff, 2), 0);
	memcpy(scratch + boff, im->buf + boff, 2);
	{
		/* A create counts its slot in the superblock. */
		struct pm_super sb = *im->sb;

		sb.live_inodes++;
		layout_super_seal(&sb);
		assert_int_equal(journal_add(&j, 0, &sb, sizeof(sb)), 0);
	}
	assert_int_equal(journal_commit(&j), 0);
	journal_fini(&j);

	memcpy(im->buf + im->sb->journal_off, scratch + im->sb->journal_off,
	       im->sb->journal_size);
	memcpy(&im->ext[2], &e, sizeof(e));
	write_image(im);
	assert_int_equal(fsck_region(im->path, &rep, NULL), 0);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(rep.journal_replayed, 1);
	assert_int_equal(rep.files, 4);
	assert_int_equal(rep.extents, 6);
	assert_int_equal(rep.used_pages, 4 + 256 + 256 + 1 + 1 + 8);

	/* The file itself was not changed. */
	fd = open(im->meta, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, disk, im->meta_end, 0),
			 (ssize_t)im->meta_end);
	close(fd);
	assert_memory_equal(disk, im->buf, im->meta_end);

	/* Without the journal, the half-applied state is caught. */
	memset(im->buf + im->sb->journal_off, 0, 32);
	assert_int_equal(check(im, &rep), 0);
	assert_int_equal(rep.journal_replayed, 0);
	assert_true(rep.errors > 0);
	free(disk);
	free(scratch);
}

/* One corruption of the image and what fsck must say about it. */
struct corruption {
	const char *what;
	void (*apply)(struct img *im);
	const char *needle; /* in first_error */
	uint32_t errors; /* exact count, 0 = at least one */
};

static void
dup_name(struct img *im)
{
	set_file(im, 2, "alpha", 0);
}

static void
region_overlap(struct img *im)
{
	set_extent(im, 3, 1, 256, 512 + 100, 256);
	sync_bitmap(im);
}

static void
file_overlap(struct img *im)
{
	set_extent(im, 3, 1, 200, 1024, 256);
}

static void
bit_without_extent(struct img *im)
{
	set_bits(im, im->sb->data_pg + 1400, 3, true);
}

static void
extent_bit_clear(struct img *im)
{
	set_bits(im, im->sb->data_pg + 1, 1, false);
}

static void
inode_bad_crc(struct img *im)
{
	im->ino[0].mtime_ns ^= 1;
}

static void
extent_bad_crc(struct img *im)
{
	im->ext[0].npages = 3;
}

static void
free_extent_not_zero(struct img *im)
{
	im->ext[20].region_pg = 1;
}

static void
orphan_cycle(struct img *im)
{
	set_orphan(im, 5, 4096, 8);
}

static void
orphan_off_list(struct img *im)
{
	im->sb->orphan_head = 6;
	layout_super_seal(im->sb);
}

static void
orphan_list_to_file(struct img *im)
{
	set_orphan(im, 5, 4096, 1);
}

static void
orphan_head_free(struct img *im)
{
	im->sb->orphan_head = 10;
	layout_super_seal(im->sb);
}

static void
extent_owner_free(struct img *im)
{
	set_extent(im, 7, 9, 0, 10, 1);
}

static void
extent_past_size(struct img *im)
{
	set_file(im, 0, "alpha", 3 * 4096);
}

static void
invalid_name(struct img *im)
{
	set_file(im, 2, "a/b", 0);
}

static void
orphan_with_name(struct img *im)
{
	im->ino[5].name_len = 1;
	im->ino[5].name[0] = 'x';
	layout_inode_seal(&im->ino[5]);
}

static void
bad_journal_target(struct img *im)
{
	struct pm_journal_hdr h = {.magic = PM_JOURNAL_MAGIC, .seq = 1};
	struct pm_journal_rec r = {.off = RSIZE - 4, .len = 8};
	uint8_t *p = im->buf + im->sb->journal_off + sizeof(h);

	memcpy(p, &r, sizeof(r));
	memset(p + sizeof(r), 0xee, 8);
	h.payload_len = sizeof(r) + 8;
	h.nrecs = 1;
	h.crc = crc32c(crc32c(0, &h, sizeof(h)), p, h.payload_len);
	memcpy(im->buf + im->sb->journal_off, &h, sizeof(h));
}

static const struct corruption corruptions[] = {
	{"duplicate name", dup_name, "also used", 1},
	{"region overlap", region_overlap, "overlap in the region", 1},
	{"file overlap", file_overlap, "overlap in the file", 1},
	{"bit without extent", bit_without_extent, "in no extent", 1},
	{"extent bit clear", extent_bit_clear, "marked free", 1},
	{"inode crc", inode_bad_crc, "inode 0: crc", 1},
	/* Its pages are then marked used but in no extent. */
	{"extent crc", extent_bad_crc, "extent 0: crc", 2},
	{"free extent not zero", free_extent_not_zero, "extent 20", 1},
	{"orphan cycle", orphan_cycle, "cycle", 1},
	{"orphan off the list", orphan_off_list, "not on the orphan list", 1},
	{"orphan list to a file", orphan_list_to_file, "not an orphan", 1},
	{"orphan head free", orphan_head_free, "not an orphan", 3},
	{"extent owner free", extent_owner_free, "not in use", 1},
	{"extent past size", extent_past_size, "past the size", 1},
	{"invalid name", invalid_name, "inode 2: invalid", 1},
	{"orphan with name", orphan_with_name, "inode 5: invalid", 2},
	{"journal target", bad_journal_target, "journal", 1},
};

static void
each_corruption_is_reported(void **state)
{
	struct img *im = *state;
	uint8_t *orig = malloc(RSIZE);

	assert_non_null(orig);
	memcpy(orig, im->buf, RSIZE);
	for (size_t i = 0; i < sizeof(corruptions) / sizeof(corruptions[0]);
	     i++) {
		const struct corruption *c = &corruptions[i];
		struct fsck_report rep;
		char *out = NULL;
		size_t outlen = 0;
		FILE *log;
		int ret;

		memcpy(im->buf, orig, RSIZE);
		c->apply(im);
		write_image(im);
		log = open_memstream(&out, &outlen);
		assert_non_null(log);
		ret = fsck_region(im->path, &rep, log);
		fclose(log);
		if (ret != 0 || rep.errors == 0 ||
		    !strstr(rep.first_error, c->needle) ||
		    (c->errors && rep.errors != c->errors))
			fail_msg("%s: ret %d, %u errors, first \"%s\"; "
				 "log:\n%s",
				 c->what, ret, rep.errors, rep.first_error,
				 out);
		/* One line per problem. */
		size_t lines = 0;
		for (size_t k = 0; k < outlen; k++)
			lines += out[k] == '\n';
		assert_int_equal(lines, rep.errors);
		free(out);
	}
	memcpy(im->buf, orig, RSIZE);
	free(orig);
}

static void
a_file_that_is_not_a_region_is_refused(void **state)
{
	struct img *im = *state;
	struct fsck_report rep;
	int fd;

	im->sb->magic[0] = 'Q';
	assert_int_equal(check(im, &rep), -EINVAL);
	assert_int_equal(rep.errors, 1);
	assert_non_null(strstr(rep.first_error, "magic"));

	im->sb->magic[0] = 'P';
	im->sb->version = 7;
	layout_super_seal(im->sb);
	assert_int_equal(check(im, &rep), -EPROTONOSUPPORT);
	im->sb->version = PM_LAYOUT_VERSION;
	layout_super_seal(im->sb);

	/* A metadata file shorter than the metadata it describes. */
	write_image(im);
	assert_int_equal(truncate(im->meta, im->meta_end / 2), 0);
	assert_int_equal(fsck_region(im->path, &rep, NULL), -EINVAL);
	assert_true(strlen(rep.first_error) > 0);

	/* A data file shorter than the region: checked, a problem. */
	write_image(im);
	assert_int_equal(truncate(im->path, RSIZE / 2), 0);
	assert_int_equal(fsck_region(im->path, &rep, NULL), 0);
	assert_int_equal(rep.errors, 1);
	assert_non_null(strstr(rep.first_error, "truncated to 4194304 bytes"));

	/* Shorter than a superblock. */
	fd = open(im->meta, O_WRONLY | O_TRUNC | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "PMAPRGN1", 8), 8);
	close(fd);
	assert_int_equal(fsck_region(im->path, &rep, NULL), -EINVAL);
	assert_true(strlen(rep.first_error) > 0);

	assert_int_equal(fsck_region("/nonexistent/region", &rep, NULL),
			 -ENOENT);
	assert_true(strlen(rep.first_error) > 0);
}

static void
fsck_result_is_consistent(int ret, const struct fsck_report *rep)
{
	assert_true(ret == 0 || ret == -EINVAL || ret == -EPROTONOSUPPORT);
	assert_int_equal(rep->errors == 0, rep->first_error[0] == '\0');
	if (ret)
		assert_true(rep->errors > 0);
}

static void
random_bytes_never_crash(void **state)
{
	struct img *im = *state;
	struct fsck_report rep;
	char *out = NULL;
	size_t outlen = 0, lines = 0;
	FILE *log;
	int ret;

	/* Pure noise: not a region. */
	for (uint64_t i = 0; i < im->meta_end; i += 8) {
		uint64_t r = rnd();
		memcpy(im->buf + i, &r, 8);
	}
	ret = check(im, &rep);
	fsck_result_is_consistent(ret, &rep);
	assert_int_equal(ret, -EINVAL);

	/* A valid superblock over noise: every record is bad, and the log
	 * stays bounded. */
	free(im->buf);
	build(im);
	for (uint64_t i = im->sb->journal_off; i < im->meta_end; i += 8) {
		uint64_t r = rnd();
		memcpy(im->buf + i, &r, 8);
	}
	write_image(im);
	log = open_memstream(&out, &outlen);
	assert_non_null(log);
	ret = fsck_region(im->path, &rep, log);
	fclose(log);
	fsck_result_is_consistent(ret, &rep);
	assert_int_equal(ret, 0);
	assert_true(rep.errors >= im->sb->inode_count);
	for (size_t k = 0; k < outlen; k++)
		lines += out[k] == '\n';
	assert_true(lines <= 1001);
	free(out);
}

static void
reseal_all(struct img *im)
{
	for (uint32_t i = 0; i < im->ninodes; i++)
		layout_inode_seal(&im->ino[i]);
	for (uint32_t i = 0; i < im->nextents; i++)
		if (im->ext[i].slot)
			layout_extent_seal(&im->ext[i]);
	layout_super_seal(im->sb);
}

static void
random_flips_of_a_valid_image_never_crash(void **state)
{
	struct img *im = *state;
	uint8_t *orig = malloc(RSIZE);
	/* Where flips land: the records fsck interprets. */
	const uint64_t zones[][2] = {
		{0, sizeof(struct pm_super)},
		{im->sb->journal_off, im->sb->journal_off + 512},
		{im->sb->inode_off, im->sb->inode_off + 12 * 256},
		{im->sb->extent_off, im->sb->extent_off + 24 * 32},
		{im->sb->bitmap_off, im->sb->bitmap_off + 256},
	};
	unsigned clean = 0;

	assert_non_null(orig);
	memcpy(orig, im->buf, RSIZE);
	for (int it = 0; it < 600; it++) {
		struct fsck_report rep;
		int flips = 1 + (int)(rnd() % 8), ret;

		memcpy(im->buf, orig, RSIZE);
		for (int f = 0; f < flips; f++) {
			const uint64_t *z = zones[rnd() % 5];
			uint64_t at = z[0] + rnd() % (z[1] - z[0]);

			im->buf[at] ^= (uint8_t)(1u << rnd() % 8);
		}
		/* Resealing gets the flips past the crc checks, into the
		 * field, name, list, overlap and bitmap logic. */
		if (it % 4 != 0)
			reseal_all(im);
		ret = check(im, &rep);
		fsck_result_is_consistent(ret, &rep);
		clean += ret == 0 && rep.errors == 0;
	}
	/* Some flips are harmless (a bit of mtime, say). */
	assert_true(clean > 0);
	memcpy(im->buf, orig, RSIZE);
	free(orig);
}

/* A crc-valid journal transaction of random writes: whatever it does to
 * the private copy, fsck must survive it. */
static void
random_committed_transactions_never_crash(void **state)
{
	struct img *im = *state;
	uint8_t *orig = malloc(RSIZE);
	struct pm_media m = {.size = RSIZE, .persist = noop_persist};
	/* The transactions may rewrite the superblock itself. */
	const uint64_t jo = im->sb->journal_off, js = im->sb->journal_size;
	const uint64_t io = im->sb->inode_off;

	assert_non_null(orig);
	memcpy(orig, im->buf, RSIZE);
	for (int it = 0; it < 200; it++) {
		struct fsck_report rep;
		struct journal j;
		uint8_t data[64];
		int n = 1 + (int)(rnd() % 4), ret;

		memcpy(im->buf, orig, RSIZE);
		m.base = im->buf;
		assert_int_equal(journal_init(&j, &m, jo, js), 0);
		for (int k = 0; k < n; k++) {
			uint64_t span = im->meta_end - io - 64;
			uint64_t off = rnd() % 4 == 0
					       ? rnd() % sizeof(struct pm_super)
					       : io + rnd() % span;
			uint32_t len = 1 + (uint32_t)(rnd() % sizeof(data));

			for (size_t b = 0; b < sizeof(data); b++)
				data[b] = (uint8_t)rnd();
			assert_int_equal(journal_add(&j, off, data, len), 0);
		}
		/* Commit on a copy, so the file gets the journal only. */
		{
			uint8_t *home = malloc(RSIZE);

			assert_non_null(home);
			memcpy(home, im->buf, RSIZE);
			assert_int_equal(journal_commit(&j), 0);
			memcpy(home + jo, im->buf + jo, js);
			memcpy(im->buf, home, RSIZE);
			free(home);
		}
		journal_fini(&j);
		ret = check(im, &rep);
		fsck_result_is_consistent(ret, &rep);
		assert_int_equal(rep.journal_replayed, 1);
	}
	memcpy(im->buf, orig, RSIZE);
	free(orig);
}

/* ---- the verifier, as attach and fsck use it ---------------------------- */

/* Faults as verify_tables() reports them. */
struct faults {
	unsigned n;
	char line[8][256];
};

static void
note_fault(void *ctx, const char *line)
{
	struct faults *f = ctx;

	if (f->n < 8)
		snprintf(f->line[f->n], sizeof(f->line[0]), "%s", line);
	f->n++;
}

/* three_faults -- a duplicate name, a page marked used in no extent and
 * an extent of a free inode, each in a different check. */
static void
three_faults(struct img *im)
{
	dup_name(im);
	bit_without_extent(im);
	extent_owner_free(im);
}

static void
verifier_finds_nothing_on_a_valid_image(void **state)
{
	struct img *im = *state;
	struct verify_result res;
	struct faults f = {0};

	for (int mode = VERIFY_FIRST; mode <= VERIFY_ALL; mode++) {
		assert_int_equal(verify_tables(im->sb, im->buf, mode,
					       note_fault, &f, &res),
				 0);
		assert_int_equal(res.faults, 0);
		assert_int_equal(f.n, 0);
		assert_int_equal(res.files, 3);
		assert_int_equal(res.orphans, 2);
	}
}

static void
verifier_stops_at_the_first_fault_for_attach(void **state)
{
	struct img *im = *state;
	struct verify_result res;
	struct faults f = {0};

	three_faults(im);
	assert_int_equal(verify_tables(im->sb, im->buf, VERIFY_FIRST,
				       note_fault, &f, &res),
			 0);
	assert_int_equal(res.faults, 1);
	assert_int_equal(f.n, 1);
	/* Names are checked before extents and the bitmap. */
	assert_non_null(strstr(f.line[0], "also used"));
}

static void
verifier_collects_every_fault_for_fsck(void **state)
{
	struct img *im = *state;
	struct verify_result res;
	struct faults f = {0};

	three_faults(im);
	assert_int_equal(verify_tables(im->sb, im->buf, VERIFY_ALL,
				       note_fault, &f, &res),
			 0);
	assert_int_equal(res.faults, 3);
	assert_int_equal(f.n, 3);
	assert_non_null(strstr(f.line[0], "also used"));
	assert_non_null(strstr(f.line[1], "not in use"));
	assert_non_null(strstr(f.line[2], "in no extent"));
	/* Without a callback the faults are still counted. */
	assert_int_equal(verify_tables(im->sb, im->buf, VERIFY_ALL, NULL,
				       NULL, &res),
			 0);
	assert_int_equal(res.faults, 3);
}

/* A region whose lock another open holds (a daemon serving it) is not
 * checked, unless live; then it is, and the report says so. */
static void
a_locked_region_is_refused_unless_live(void **state)
{
	struct img *im = *state;
	struct fsck_report rep;
	struct exlock held;
	char *out = NULL;
	size_t outlen = 0;
	FILE *log;

	write_image(im);
	assert_int_equal(exlock_region(im->meta, O_RDWR, &held, NULL), 0);
	log = open_memstream(&out, &outlen);
	assert_non_null(log);
	assert_int_equal(fsck_region(im->path, &rep, log), -EBUSY);
	fclose(log);
	assert_int_equal(outlen, 0);
	free(out);
	assert_int_equal(rep.holder, getpid());
	assert_non_null(strstr(rep.first_error, "in use by this process"));
	assert_int_equal(rep.files, 0);

	assert_int_equal(fsck_region_flags(im->path, FSCK_LIVE, &rep, NULL), 0);
	assert_true(rep.stale);
	assert_int_equal(rep.holder, getpid());
	assert_int_equal(rep.errors, 0);
	assert_int_equal(rep.files, 3);
	exlock_release(&held);

	/* Free again: checked, nothing stale, and the check held the lock
	 * only while it ran. */
	assert_int_equal(fsck_region_flags(im->path, FSCK_LIVE, &rep, NULL), 0);
	assert_false(rep.stale);
	assert_int_equal(rep.holder, 0);
	assert_int_equal(exlock_region(im->meta, O_RDWR, &held, NULL), 0);
	exlock_release(&held);
}


/* ---- repair ------------------------------------------------------------ */

/* repair -- repair @im's file (written before) with @flags; returns the
 * lines it printed (to free). */
static char *
repair(struct img *im, unsigned flags, struct repair_report *rep)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *log = open_memstream(&out, &outlen);

	assert_non_null(log);
	assert_int_equal(repair_region(im->path, flags, rep, log), 0);
	fclose(log);
	return out;
}

/* read_all -- the whole metadata file, in RSIZE bytes. */
static uint8_t *
read_all(const struct img *im)
{
	uint8_t *buf = calloc(1, RSIZE);
	int fd = open(im->meta, O_RDONLY | O_CLOEXEC);

	assert_non_null(buf);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, RSIZE, 0), (ssize_t)im->meta_end);
	close(fd);
	return buf;
}

/* clean_and_attaches -- a plain fsck finds nothing and the region
 * attaches. */
static void
clean_and_attaches(struct img *im, uint32_t files)
{
	struct region_opts o = {0};
	struct fsck_report rep;
	char err[REGION_ERR_MAX] = "";
	struct region *r = NULL;
	int rc;

	assert_int_equal(fsck_region(im->path, &rep, NULL), 0);
	if (rep.errors)
		print_error("fsck after repair: %s\n", rep.first_error);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(rep.files, files);
	rc = region_attach("t", im->path, &o, &r, err);
	if (rc)
		print_error("attach after repair: %s\n", err);
	assert_int_equal(rc, 0);
	region_detach(r);
}

static void
repair_fixes_a_bitmap_disagreement(void **state)
{
	struct img *im = *state;
	struct repair_report rep;
	struct fsck_report frep;
	uint64_t d = im->sb->data_pg;
	uint8_t *disk;
	char *log, want[128];

	set_bits(im, d + 1000, 3, true); /* used, in no extent */
	set_bits(im, d + 1, 1, false); /* alpha's, marked free */
	write_image(im);
	assert_int_equal(fsck_region(im->path, &frep, NULL), 0);
	assert_int_equal(frep.errors, 2);
	assert_int_equal(frep.repairable, 2);

	log = repair(im, REPAIR_APPLY, &rep);
	snprintf(want, sizeof(want),
		 "bitmap: mark pages %llu..%llu free (marked used but in no "
		 "extent)",
		 (unsigned long long)d + 1000, (unsigned long long)d + 1002);
	assert_non_null(strstr(log, want));
	snprintf(want, sizeof(want),
		 "bitmap: mark pages %llu..%llu used (in an extent but marked "
		 "free)",
		 (unsigned long long)d + 1, (unsigned long long)d + 1);
	assert_non_null(strstr(log, want));
	free(log);
	/* Two bitmap runs and the two orphans (no pin is recorded). */
	assert_int_equal(rep.changes, 4);
	assert_true(rep.applied);
	assert_int_equal(rep.unfixable, 0);
	assert_int_equal(rep.faults_after, 0);

	disk = read_all(im);
	assert_true(disk[im->sb->bitmap_off + (d + 1) / 8] >> ((d + 1) % 8) &
		    1);
	assert_false(disk[im->sb->bitmap_off + (d + 1000) / 8] >>
		     ((d + 1000) % 8) & 1);
	free(disk);
	clean_and_attaches(im, 3);
}

static void
a_dry_run_changes_nothing(void **state)
{
	struct img *im = *state;
	struct repair_report rep;
	struct fsck_report frep;
	uint8_t *before, *after;
	char *log;

	set_bits(im, im->sb->data_pg + 1000, 3, true);
	write_image(im);
	before = read_all(im);
	log = repair(im, 0, &rep);
	assert_non_null(strstr(log, "mark pages"));
	assert_non_null(strstr(log, "free orphan inode 7"));
	free(log);
	assert_int_equal(rep.changes, 3);
	assert_false(rep.applied);
	assert_int_equal(rep.faults_after, 0); /* the plan was checked */
	after = read_all(im);
	assert_memory_equal(before, after, RSIZE);
	free(before);
	free(after);
	assert_int_equal(fsck_region(im->path, &frep, NULL), 0);
	assert_int_equal(frep.errors, 1);
	assert_int_equal(frep.orphans, 2);
}

static void
orphans_are_freed_when_no_pin_is_recorded(void **state)
{
	struct img *im = *state;
	struct repair_report rep;
	struct fsck_report frep;
	struct pm_extent zero = {0};
	uint8_t *disk;
	char *log;

	write_image(im);
	log = repair(im, REPAIR_APPLY, &rep);
	assert_non_null(strstr(log, "free orphan inode 7 (ino 4294967303, "
				    "8192 bytes, 1 pages)"));
	assert_non_null(strstr(log, "free orphan inode 5"));
	free(log);
	assert_int_equal(rep.changes, 2);
	assert_int_equal(rep.orphans_kept, 0);
	disk = read_all(im);
	assert_memory_equal(disk + im->sb->extent_off + 7 * sizeof(zero),
			    &zero, sizeof(zero));
	assert_memory_equal(disk + im->sb->extent_off + 8 * sizeof(zero),
			    &zero, sizeof(zero));
	assert_int_equal(((struct pm_super *)disk)->orphan_head, 0);
	free(disk);
	assert_int_equal(fsck_region(im->path, &frep, NULL), 0);
	assert_int_equal(frep.orphans, 0);
	assert_int_equal(frep.used_pages, 4 + 256 + 256);
	clean_and_attaches(im, 3);

	/* Nothing left to do: a second repair plans nothing. */
	log = repair(im, 0, &rep);
	free(log);
	assert_int_equal(rep.changes, 0);
}

static void
orphans_are_kept_while_pins_of_this_boot_may_be_outstanding(void **state)
{
	struct img *im = *state;
	struct repair_report rep;
	struct fsck_report frep;
	char *log;

	assert_int_equal(holder_boot_id(im->sb->pins_boot_id), 0);
	im->sb->pins_dir_crc = 1234;
	layout_super_seal(im->sb);
	set_bits(im, im->sb->data_pg + 1000, 1, true);
	write_image(im);
	log = repair(im, REPAIR_APPLY, &rep);
	assert_non_null(strstr(log, "2 orphans not freed: pins of this boot "
				    "may be outstanding"));
	assert_null(strstr(log, "free orphan"));
	free(log);
	/* The bitmap is repaired all the same. */
	assert_int_equal(rep.changes, 1);
	assert_int_equal(rep.orphans_kept, 2);
	assert_int_equal(rep.faults_after, 0);
	assert_int_equal(fsck_region(im->path, &frep, NULL), 0);
	assert_int_equal(frep.errors, 0);
	assert_int_equal(frep.orphans, 2);
	assert_true(frep.pins_this_boot);
}

/* "delta" (slot 3) maps file pages 0..9 to data pages 100..109 in extent
 * slot 9; "eps" (slot 4) maps its pages 0..1 to data pages 104..105 in
 * extent slot 2, which is lower: eps keeps them, delta loses file pages
 * 4..5 and its extent is split around the hole. */
static void
overlapping_extents_keep_both_files_renamed(void **state)
{
	struct img *im = *state;
	struct region_opts o = {0};
	struct repair_report rep;
	struct region *r = NULL;
	char err[REGION_ERR_MAX] = "", want[256], *log;
	uint64_t d = im->sb->data_pg;
	const struct pm_inode *ino;
	const struct pm_extent *ext;
	uint8_t *disk;

	set_file(im, 3, "delta", 10 * 4096);
	set_extent(im, 9, 3, 0, 100, 10);
	set_file(im, 4, "eps", 2 * 4096);
	set_extent(im, 2, 4, 0, 104, 2);
	sync_bitmap(im);
	write_image(im);

	/* Attach refuses it and names the command that repairs it. */
	assert_int_equal(region_attach("t", im->path, &o, &r, err), -EUCLEAN);
	assert_non_null(strstr(err, "overlap in the region"));
	snprintf(want, sizeof(want), "; run: pagemapctl fsck --repair %s",
		 im->path);
	assert_non_null(strstr(err, want));

	log = repair(im, REPAIR_APPLY, &rep);
	snprintf(want, sizeof(want),
		 "inode 3 \"delta\" (ino 17179869187): file pages 4..5 "
		 "(region pages %llu..%llu) unmapped, a hole now; they stay "
		 "with inode 4 \"eps\" (extent 2)",
		 (unsigned long long)d + 104, (unsigned long long)d + 105);
	if (!strstr(log, want))
		print_error("%s", log);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, "rename inode 3 \"delta\" to "
				    "\"damaged.17179869187.delta\""));
	assert_non_null(strstr(log, "rename inode 4 \"eps\" to "
				    "\"damaged.21474836484.eps\""));
	free(log);
	assert_int_equal(rep.unfixable, 0);
	assert_int_equal(rep.faults_after, 0);
	/* One lost range, two renames, two orphans. */
	assert_int_equal(rep.changes, 5);

	disk = read_all(im);
	ino = (const struct pm_inode *)(disk + im->sb->inode_off);
	ext = (const struct pm_extent *)(disk + im->sb->extent_off);
	assert_string_equal(ino[3].name, "damaged.17179869187.delta");
	assert_int_equal(ino[3].size, 10 * 4096); /* size unchanged */
	assert_string_equal(ino[4].name, "damaged.21474836484.eps");
	/* eps keeps its pages; delta keeps 0..3 and 6..9, the second piece
	 * in the first free extent slot (4). */
	assert_int_equal(ext[2].slot, 5);
	assert_int_equal(ext[2].region_pg, d + 104);
	assert_int_equal(ext[2].npages, 2);
	assert_int_equal(ext[9].slot, 4);
	assert_int_equal(ext[9].file_pg, 0);
	assert_int_equal(ext[9].region_pg, d + 100);
	assert_int_equal(ext[9].npages, 4);
	assert_int_equal(ext[4].slot, 4);
	assert_int_equal(ext[4].file_pg, 6);
	assert_int_equal(ext[4].region_pg, d + 106);
	assert_int_equal(ext[4].npages, 4);
	free(disk);
	clean_and_attaches(im, 5);
}

/* A long name is cut on a character boundary to fit. */
static void
a_damaged_name_fits_the_name_limit(void **state)
{
	struct img *im = *state;
	struct repair_report rep;
	char name[PM_NAME_MAX + 1], *log;
	const struct pm_inode *ino;
	uint8_t *disk;

	/* 63 two-byte characters and one more byte: 127 bytes. */
	for (int i = 0; i < 63; i++)
		memcpy(name + 2 * i, "\xc3\xa9", 2);
	name[126] = 'x';
	name[127] = '\0';
	set_file(im, 3, name, 4096);
	set_extent(im, 9, 3, 0, 2, 1); /* alpha's page 2 */
	write_image(im);
	log = repair(im, REPAIR_APPLY, &rep);
	free(log);
	assert_int_equal(rep.faults_after, 0);
	disk = read_all(im);
	ino = (const struct pm_inode *)(disk + im->sb->inode_off);
	assert_true(ino[3].name_len <= PM_NAME_MAX);
	assert_int_equal(layout_name_valid(ino[3].name), 0);
	assert_memory_equal(ino[3].name, "damaged.17179869187.\xc3\xa9", 22);
	free(disk);
	clean_and_attaches(im, 4);
}

/* Another fault (here a name used twice): nothing is changed. */
static void
other_faults_stop_the_repair(void **state)
{
	struct img *im = *state;
	struct repair_report rep;
	uint8_t *before, *after;
	char *log;

	set_file(im, 3, "alpha", 0);
	set_bits(im, im->sb->data_pg + 1000, 1, true);
	write_image(im);
	before = read_all(im);
	log = repair(im, REPAIR_APPLY, &rep);
	assert_non_null(strstr(log, "cannot repair: inode 3: name \"alpha\""));
	assert_non_null(strstr(log, "found: bitmap"));
	free(log);
	assert_int_equal(rep.unfixable, 1);
	assert_int_equal(rep.changes, 0);
	assert_false(rep.applied);
	after = read_all(im);
	assert_memory_equal(before, after, RSIZE);
	free(before);
	free(after);
}

static void
a_locked_region_is_not_repaired(void **state)
{
	struct img *im = *state;
	struct repair_report rep;
	struct exlock held;

	write_image(im);
	assert_int_equal(exlock_region(im->meta, O_RDWR, &held, NULL), 0);
	assert_int_equal(repair_region(im->path, REPAIR_APPLY, &rep, NULL),
			 -EBUSY);
	assert_non_null(strstr(rep.first_error, "in use by this process"));
	exlock_release(&held);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_valid_image_has_no_errors),
		T(bits_outside_the_data_area_are_not_interpreted),
		T(never_used_inode_slots_may_be_all_zero),
		T(a_pending_transaction_is_replayed_privately),
		T(each_corruption_is_reported),
		T(a_file_that_is_not_a_region_is_refused),
		T(random_bytes_never_crash),
		T(random_flips_of_a_valid_image_never_crash),
		T(random_committed_transactions_never_crash),
		T(verifier_finds_nothing_on_a_valid_image),
		T(verifier_stops_at_the_first_fault_for_attach),
		T(verifier_collects_every_fault_for_fsck),
		T(a_locked_region_is_refused_unless_live),
		T(repair_fixes_a_bitmap_disagreement),
		T(a_dry_run_changes_nothing),
		T(orphans_are_freed_when_no_pin_is_recorded),
		T(orphans_are_kept_while_pins_of_this_boot_may_be_outstanding),
		T(overlapping_extents_keep_both_files_renamed),
		T(a_damaged_name_fits_the_name_limit),
		T(other_faults_stop_the_repair),
		T(a_locked_region_is_not_repaired),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_region.c -- regions and files on a real region file in /dev/shm. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "alloc.h"
#include "fsck.h"
#include "inode.h"
#include "inode_io.h"
#include "layout.h"
#include "media_crash.h"
#include "region.h"

#include "rng.h"
#include "regionfix.h"

#define MiB (1ull << 20)
#define PG PM_PAGE_SIZE
#define REGION_SIZE (64 * MiB)

static int
setup(void **state)
{
	return regionfix_setup(state, "region");
}

static int
teardown(void **state)
{
	return regionfix_teardown(state);
}

static int
try_attach(const char *path, bool create, uint64_t size, uint32_t max_order,
	   struct region **r, char *err)
{
	struct region_opts o = {
		.size = size,
		.create = create,
		.max_order = max_order,
	};

	err[0] = 0;
	return region_attach("test", path, &o, r, err);
}

static struct region *
attach(const char *path, bool create)
{
	struct region *r = NULL;
	char err[REGION_ERR_MAX];
	int rc = try_attach(path, create, REGION_SIZE, PM_DEFAULT_MAX_ORDER, &r,
			    err);

	if (rc)
		print_error("attach %s: %d %s\n", path, rc, err);
	assert_int_equal(rc, 0);
	assert_non_null(r);
	return r;
}

/* create_slots -- a new region of @size bytes (max order 9) with
 * @inode_count inode slots, attached. */
static struct region *
create_slots(const char *path, uint64_t size, uint32_t inode_count)
{
	struct region_opts o = {
		.size = size,
		.create = true,
		.max_order = 9,
		.inode_count = inode_count,
	};
	struct region *r = NULL;
	char err[REGION_ERR_MAX];

	assert_int_equal(region_attach("t", path, &o, &r, err), 0);
	return r;
}

static uint64_t
free_pages(const struct region *r)
{
	struct region_info ri;

	region_info(r, &ri);
	return ri.free / PG;
}

static uint64_t
pages_of(uint64_t size)
{
	return (size + PG - 1) / PG;
}

static struct inode *
create(struct region *r, const char *name, uint64_t size)
{
	struct inode *ino = NULL;
	int rc = inode_create(&r->files, name, size, 0640, 1000, 1001, &ino);

	assert_int_equal(rc, 0);
	assert_non_null(ino);
	return ino;
}

/* The file's extents cover [0, pages(size)) exactly, in order. */
static void
assert_backed(const struct inode *ino)
{
	uint64_t fp = 0;

	for (size_t i = 0; i < ino->map.n; i++) {
		assert_int_equal(ino->map.v[i].file_pg, fp);
		fp += ino->map.v[i].npages;
	}
	assert_int_equal(fp, pages_of(ino->size));
}

/* data_off -- where byte @off of @ino lies in the data file. */
static off_t
data_off(const struct inode *ino, uint64_t off)
{
	const struct extent *e = extent_map_lookup(&ino->map, off / PG);

	assert_non_null(e);
	return (off_t)(((e->region_pg + off / PG - e->file_pg)
			<< PM_PAGE_SHIFT) +
		       off % PG);
}

/* get_byte / set_byte -- byte @off of @ino, through the data file (the
 * daemon never maps it). */
static uint8_t
get_byte(struct region *r, const struct inode *ino, uint64_t off)
{
	uint8_t b = 0xee;

	assert_int_equal(pread(r->fd, &b, 1, data_off(ino, off)), 1);
	return b;
}

static void
set_byte(struct region *r, const struct inode *ino, uint64_t off, uint8_t b)
{
	assert_int_equal(pwrite(r->fd, &b, 1, data_off(ino, off)), 1);
}

/* meta_of -- the metadata file of the region file @path. */
static const char *
meta_of(const char *path)
{
	static char meta[256];

	snprintf(meta, sizeof(meta), "%s.meta", path);
	return meta;
}

static void
poke(const char *path, uint64_t off, const void *buf, size_t len)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void
peek(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* The offline checker agrees with attach about what we wrote. */
static void
assert_fsck_clean(const char *path)
{
	struct fsck_report rep;

	assert_int_equal(fsck_region(path, &rep, stderr), 0);
	assert_int_equal(rep.errors, 0);
}

static struct pm_super
super_of(const char *path)
{
	struct pm_super sb;
	char err[REGION_ERR_MAX];

	assert_int_equal(region_read_super(path, &sb, err), 0);
	return sb;
}

/* ---- format and attach -------------------------------------------------- */

static void
create_formats_a_sparse_region_file(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	struct region_info ri;
	struct stat st;

	region_info(r, &ri);
	assert_string_equal(ri.kind, "file");
	assert_string_equal(ri.state, "attached");
	assert_string_equal(ri.name, "test");
	assert_int_equal(ri.size, REGION_SIZE);
	assert_int_equal(ri.files, 0);
	assert_int_equal(ri.free, ri.data_size);
	assert_int_equal(ri.used, 0);
	assert_int_equal(ri.max_order, PM_DEFAULT_MAX_ORDER);
	assert_int_equal(ri.mode, 0600);
	assert_int_equal(ri.uid, getuid());
	assert_int_equal(strlen(ri.uuid), 36);
	assert_string_not_equal(ri.uuid,
				"00000000-0000-0000-0000-000000000000");
	assert_true(ri.max_files > 0);
	region_detach(r);

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_size, REGION_SIZE);
	/* Sparse: far less than the region is backed. */
	assert_true((uint64_t)st.st_blocks * 512 < REGION_SIZE / 4);
}

/* all_data -- [off, off + len) of @fd holds no hole. */
static bool
all_data(int fd, off_t off, off_t len)
{
	off_t hole = lseek(fd, off, SEEK_HOLE);

	return hole >= off + len;
}

/* no_data -- [off, off + len) of @fd is all hole. */
static bool
no_data(int fd, off_t off, off_t len)
{
	off_t data = lseek(fd, off, SEEK_DATA);

	return (data < 0 && errno == ENXIO) || data >= off + len;
}

static void
fill_writes_only_the_holes_asked_for(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	uint64_t d = r->sb->data_pg + 64;
	off_t at = (off_t)(d * PG);

	/* The data area of a new region is a hole. */
	assert_true(no_data(r->fd, at, 8 * PG));
	assert_int_equal(region_fill(r, d + 2, 2), 0);
	assert_true(no_data(r->fd, at, 2 * PG));
	assert_true(all_data(r->fd, at + 2 * PG, 2 * PG));
	assert_true(no_data(r->fd, at + 4 * PG, 4 * PG));
	/* Again, cached: nothing changes. */
	assert_int_equal(region_fill(r, d + 2, 2), 0);
	assert_true(no_data(r->fd, at, 2 * PG));
	/* A range that is partly known still fills the rest. */
	assert_int_equal(region_fill(r, d, 8), 0);
	assert_true(all_data(r->fd, at, 8 * PG));
	/* And what it wrote reads as zeroes. */
	for (uint64_t i = 0; i < 8 * PG; i++) {
		uint8_t b = 0xee;

		assert_int_equal(pread(r->fd, &b, 1, at + (off_t)i), 1);
		assert_int_equal(b, 0);
	}
	/* Out of range is refused by no one and filled by no one. */
	assert_int_equal(region_fill(r, r->sb->region_size / PG, 1), 0);
	region_detach(r);
}

static void
attach_without_create_needs_the_file(void **state)
{
	struct regionfix *f = *state;
	struct region *r = NULL;
	char err[REGION_ERR_MAX];

	assert_int_equal(try_attach(f->path, false, REGION_SIZE, 9, &r, err),
			 -ENOENT);
	assert_null(r);
	assert_non_null(strstr(err, "no such region file"));
	assert_int_equal(access(f->path, F_OK), -1);
}

static void
create_with_an_impossible_geometry_leaves_no_file(void **state)
{
	struct regionfix *f = *state;
	struct region *r = NULL;
	char err[REGION_ERR_MAX];

	assert_int_equal(try_attach(f->path, true, 1 * MiB, 9, &r, err),
			 -EINVAL);
	assert_true(err[0]);
	assert_int_equal(try_attach(f->path, true, REGION_SIZE, 19, &r, err),
			 -EINVAL);
	assert_int_equal(try_attach(f->path, true, 0, 9, &r, err), -EINVAL);
	assert_null(r);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void
max_order_zero_is_a_valid_order(void **state)
{
	struct regionfix *f = *state;
	struct region *r = NULL;
	struct inode *ino;
	char err[REGION_ERR_MAX];

	assert_int_equal(try_attach(f->path, true, REGION_SIZE, 0, &r, err), 0);
	assert_int_equal(r->sb->max_order, 0);
	ino = create(r, "x", 3 * PG);
	assert_backed(ino);
	region_detach(r);
	r = attach(f->path, false);
	assert_int_equal(r->sb->max_order, 0);
	assert_non_null(inode_find(&r->files, "x"));
	region_detach(r);
}

static void
create_on_an_existing_region_does_not_reformat(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	struct region_info a, b;

	create(r, "keep", 10000);
	region_info(r, &a);
	region_detach(r);

	r = attach(f->path, true);
	region_info(r, &b);
	assert_string_equal(a.uuid, b.uuid);
	assert_int_equal(b.files, 1);
	assert_non_null(inode_find(&r->files, "keep"));
	assert_int_equal(inode_find(&r->files, "keep")->size, 10000);
	region_detach(r);
}

/* A second attach of an attached file (the same file under another name
 * too) is refused before it reads or writes it: the lock belongs to the
 * open, so even this process cannot take it twice. */
static void
an_attached_file_is_locked_against_a_second_attach(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true), *r2 = NULL;
	char err[REGION_ERR_MAX], alias[160], want[200];
	struct stat before, after;

	create(r, "mine", 10000);
	assert_int_equal(stat(f->path, &before), 0);
	snprintf(alias, sizeof(alias), "%s/./r.pmem", f->dir);
	assert_int_equal(try_attach(alias, true, REGION_SIZE,
				    PM_DEFAULT_MAX_ORDER, &r2, err),
			 -EBUSY);
	assert_null(r2);
	snprintf(want, sizeof(want),
		 "region file %s is already attached by this pagemapd", alias);
	assert_string_equal(err, want);
	assert_int_equal(stat(f->path, &after), 0);
	assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
	assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
	region_detach(r);

	/* Detach let it go. */
	r = attach(alias, false);
	assert_non_null(inode_find(&r->files, "mine"));
	region_detach(r);
}

/* An empty file (a create that crashed before sizing its file) is sized
 * and formatted by the next create, not refused for ever. */
static void
create_sizes_and_formats_an_empty_file(void **state)
{
	struct regionfix *f = *state;
	struct region *r;
	struct region_info ri;
	int fd = open(f->path, O_RDWR | O_CREAT | O_EXCL, 0600);

	assert_true(fd >= 0);
	close(fd);
	r = attach(f->path, true);
	region_info(r, &ri);
	assert_int_equal(ri.size, REGION_SIZE);
	assert_int_equal(ri.files, 0);
	region_detach(r);
	assert_fsck_clean(f->path);
}

static void
create_formats_an_all_zero_file_but_never_a_used_one(void **state)
{
	struct regionfix *f = *state;
	struct region *r = NULL;
	char err[REGION_ERR_MAX];
	uint8_t junk[16] = "not a region", back[16];
	int fd;

	/* A pre-made empty file of the right size is formatted... */
	fd = open(f->path, O_RDWR | O_CREAT | O_EXCL, 0640);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, REGION_SIZE), 0);
	close(fd);
	r = attach(f->path, true);
	assert_int_equal(r->sb->region_size, REGION_SIZE);
	assert_int_equal(r->mode, 0640);
	create(r, "a", PG);
	region_detach(r);
	r = attach(f->path, false);
	assert_non_null(inode_find(&r->files, "a"));
	region_detach(r);

	/* ...one with anything in its first page is not. */
	poke(meta_of(f->path), 0, junk, sizeof(junk));
	r = NULL;
	assert_int_equal(try_attach(f->path, true, REGION_SIZE, 9, &r, err),
			 -EINVAL);
	assert_null(r);
	assert_non_null(strstr(err, "magic"));
	peek(meta_of(f->path), 0, back, sizeof(back));
	assert_memory_equal(junk, back, sizeof(junk));
}

static void
region_names_are_checked(void **state)
{
	struct regionfix *f = *state;
	struct region *r = NULL;
	char err[REGION_ERR_MAX], longname[REGION_NAME_MAX + 2];
	struct region_opts o = {.size = REGION_SIZE, .create = true};

	assert_int_equal(region_name_valid("default"), 0);
	assert_int_equal(region_name_valid("a-b_c.1"), 0);
	assert_int_equal(region_name_valid(""), -EINVAL);
	assert_int_equal(region_name_valid(".hidden"), -EINVAL);
	assert_int_equal(region_name_valid("a/b"), -EINVAL);
	assert_int_equal(region_name_valid("a b"), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[REGION_NAME_MAX] = 0;
	assert_int_equal(region_name_valid(longname), 0);
	longname[REGION_NAME_MAX] = 'a';
	longname[REGION_NAME_MAX + 1] = 0;
	assert_int_equal(region_name_valid(longname), -EINVAL);
	assert_int_equal(region_attach("no/slash", f->path, &o, &r, err),
			 -EINVAL);
	assert_null(r);
	assert_int_equal(access(f->path, F_OK), -1);
}

static void
read_super_checks_without_attaching(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	struct pm_super sb;
	char err[REGION_ERR_MAX];
	uint8_t flip = 0x5a;

	region_detach(r);
	assert_int_equal(region_read_super(f->path, &sb, err), 0);
	assert_memory_equal(sb.magic, PM_MAGIC, 8);
	assert_int_equal(sb.region_size, REGION_SIZE);
	poke(meta_of(f->path), offsetof(struct pm_super, data_pages), &flip, 1);
	assert_int_equal(region_read_super(f->path, &sb, err), -EINVAL);
	assert_non_null(strstr(err, "crc"));
}

/* ---- files -------------------------------------------------------------- */

static void
files_of_any_size_are_backed_and_zeroed(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	uint64_t free0 = free_pages(r);
	struct file_info fi;
	struct inode *a, *b, *c;

	a = create(r, "empty", 0);
	b = create(r, "odd", 5000);
	c = create(r, "big", 4 * MiB);
	assert_int_equal(r->files.nfiles, 3);

	inode_info(a, &fi);
	assert_string_equal(fi.name, "empty");
	assert_int_equal(fi.size, 0);
	assert_int_equal(fi.allocated, 0);
	assert_int_equal(fi.extents, 0);
	assert_int_equal(fi.uid, 1000);
	assert_int_equal(fi.gid, 1001);
	assert_int_equal(fi.mode, 0640);
	assert_false(fi.orphan);
	assert_true(fi.mtime_ns > 0);
	assert_int_equal(fi.ino & 0xffffffffu, a->slot);
	assert_int_equal(fi.ino >> 32, 1);

	inode_info(b, &fi);
	assert_int_equal(fi.size, 5000);
	assert_int_equal(fi.allocated, 2 * PG);
	assert_backed(b);

	inode_info(c, &fi);
	assert_int_equal(fi.allocated, 4 * MiB);
	assert_backed(c);
	/* Sized in 2 MiB multiples: every extent is 2 MiB congruent. */
	for (size_t i = 0; i < c->map.n; i++)
		assert_int_equal(c->map.v[i].region_pg % 512,
				 c->map.v[i].file_pg % 512);

	assert_int_equal(free_pages(r), free0 - 2 - 1024);
	for (uint64_t off = 0; off < 4 * MiB; off += 997)
		assert_int_equal(get_byte(r, c, off), 0);
	assert_ptr_equal(inode_find(&r->files, "odd"), b);
	assert_null(inode_find(&r->files, "nope"));
	assert_ptr_equal(inode_slot(&r->files, b->slot), b);
	region_detach(r);
}

static void
names_are_unique_and_checked(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	uint64_t free0;
	struct inode *ino = NULL;
	char longname[PM_NAME_MAX + 2];

	create(r, "a", PG);
	free0 = free_pages(r);
	assert_int_equal(inode_create(&r->files, "a", PG, 0600, 0, 0, &ino),
			 -EEXIST);
	assert_int_equal(inode_create(&r->files, "", PG, 0600, 0, 0, &ino),
			 -EINVAL);
	assert_int_equal(inode_create(&r->files, ".", PG, 0600, 0, 0, &ino),
			 -EINVAL);
	assert_int_equal(inode_create(&r->files, "..", PG, 0600, 0, 0, &ino),
			 -EINVAL);
	assert_int_equal(inode_create(&r->files, "a/b", PG, 0600, 0, 0, &ino),
			 -EINVAL);
	assert_int_equal(
		inode_create(&r->files, "tab\there", PG, 0600, 0, 0, &ino),
		-EINVAL);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(
		inode_create(&r->files, longname, PG, 0600, 0, 0, &ino),
		-ENAMETOOLONG);
	longname[PM_NAME_MAX] = 0;
	assert_int_equal(
		inode_create(&r->files, longname, PG, 0600, 0, 0, &ino), 0);
	assert_non_null(ino);
	assert_int_equal(free_pages(r), free0 - 1);
	assert_int_equal(r->files.nfiles, 2);
	region_detach(r);
}

static void
no_space_changes_nothing(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	struct inode *a = create(r, "a", 3 * PG), *ino = NULL;
	uint64_t free0 = free_pages(r);
	uint32_t nfiles = r->files.nfiles, fext = r->files.free_extents;

	assert_int_equal(inode_create(&r->files, "huge", (free0 + 1) * PG, 0600,
				      0, 0, &ino),
			 -ENOSPC);
	assert_null(ino);
	assert_null(inode_find(&r->files, "huge"));
	assert_int_equal(free_pages(r), free0);
	assert_int_equal(r->files.nfiles, nfiles);
	assert_int_equal(r->files.free_extents, fext);

	assert_int_equal(inode_resize(&r->files, a, (3 + free0 + 1) * PG),
			 -ENOSPC);
	assert_int_equal(a->size, 3 * PG);
	assert_backed(a);
	assert_int_equal(free_pages(r), free0);

	/* Exactly all of it fits. */
	assert_int_equal(inode_resize(&r->files, a, (3 + free0) * PG), 0);
	assert_int_equal(free_pages(r), 0);
	assert_backed(a);
	region_detach(r);

	r = attach(f->path, false);
	assert_int_equal(free_pages(r), 0);
	assert_int_equal(inode_find(&r->files, "a")->size, (3 + free0) * PG);
	region_detach(r);
}

static void
no_inode_slot_is_enospc(void **state)
{
	struct regionfix *f = *state;
	struct region *r;
	struct inode *ino = NULL;
	uint64_t free0;

	r = create_slots(f->path, REGION_SIZE, 3);
	create(r, "1", PG);
	create(r, "2", 0);
	create(r, "3", PG);
	free0 = free_pages(r);
	assert_int_equal(inode_create(&r->files, "4", PG, 0600, 0, 0, &ino),
			 -ENOSPC);
	assert_null(ino);
	assert_int_equal(free_pages(r), free0);
	assert_int_equal(inode_unlink(&r->files, inode_find(&r->files, "2")),
			 0);
	create(r, "4", PG);
	region_detach(r);
}

static void
resize_grows_and_shrinks_in_place(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	uint64_t free0 = free_pages(r);
	struct inode *c = create(r, "c", 2 * MiB);
	struct file_info fi;

	assert_int_equal(inode_resize(&r->files, c, 6 * MiB), 0);
	assert_int_equal(c->size, 6 * MiB);
	assert_backed(c);
	for (size_t i = 0; i < c->map.n; i++)
		assert_int_equal(c->map.v[i].region_pg % 512,
				 c->map.v[i].file_pg % 512);
	assert_int_equal(free_pages(r), free0 - 1536);

	assert_int_equal(inode_resize(&r->files, c, 1 * MiB + 100), 0);
	assert_int_equal(c->size, 1 * MiB + 100);
	assert_backed(c);
	inode_info(c, &fi);
	assert_int_equal(fi.allocated, 257 * PG);
	assert_int_equal(free_pages(r), free0 - 257);

	/* Same page count: only the size changes. */
	assert_int_equal(inode_resize(&r->files, c, 1 * MiB + 4000), 0);
	assert_int_equal(free_pages(r), free0 - 257);
	assert_backed(c);

	assert_int_equal(inode_resize(&r->files, c, 0), 0);
	inode_info(c, &fi);
	assert_int_equal(fi.allocated, 0);
	assert_int_equal(fi.extents, 0);
	assert_int_equal(free_pages(r), free0);

	assert_int_equal(inode_resize(&r->files, c, 3 * PG + 1), 0);
	assert_backed(c);
	assert_int_equal(free_pages(r), free0 - 4);
	region_detach(r);

	r = attach(f->path, false);
	c = inode_find(&r->files, "c");
	assert_non_null(c);
	assert_int_equal(c->size, 3 * PG + 1);
	assert_backed(c);
	assert_int_equal(free_pages(r), free0 - 4);
	region_detach(r);
}

static void
growth_appends_merge_into_one_extent(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	struct inode *a = create(r, "log", PG);
	uint32_t fext = r->files.free_extents;

	for (int i = 2; i <= 64; i++)
		assert_int_equal(inode_resize(&r->files, a, (uint64_t)i * PG),
				 0);
	assert_backed(a);
	assert_int_equal(a->map.n, 1);
	assert_int_equal(r->files.free_extents, fext);
	region_detach(r);
}

static void
grow_exposes_zeroes_not_old_data(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	struct inode *z = create(r, "z", 2 * PG + 100);

	/* Fill all three pages, past the end of file too. */
	for (uint64_t off = 0; off < 3 * PG; off++)
		set_byte(r, z, off, 0xab);
	assert_int_equal(inode_resize(&r->files, z, 100), 0);
	assert_int_equal(inode_resize(&r->files, z, 200), 0);
	for (uint64_t off = 0; off < 100; off++)
		assert_int_equal(get_byte(r, z, off), 0xab);
	for (uint64_t off = 100; off < PG; off++)
		assert_int_equal(get_byte(r, z, off), 0);

	for (uint64_t off = 0; off < PG; off++)
		set_byte(r, z, off, 0xcd);
	assert_int_equal(inode_resize(&r->files, z, 3 * PG), 0);
	for (uint64_t off = 200; off < 3 * PG; off++)
		assert_int_equal(get_byte(r, z, off), 0);

	/* Freed pages handed to another file read zero as well. */
	for (uint64_t off = 0; off < 3 * PG; off++)
		set_byte(r, z, off, 0xef);
	assert_int_equal(inode_unlink(&r->files, z), 0);
	z = create(r, "y", 3 * PG);
	for (uint64_t off = 0; off < 3 * PG; off++)
		assert_int_equal(get_byte(r, z, off), 0);
	region_detach(r);
}

static void
unlink_frees_everything(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	uint64_t free0 = free_pages(r), ino1;
	uint32_t fext = r->files.free_extents, slot;
	struct inode *a = create(r, "a", 3 * MiB + 5);
	struct pm_inode rec;

	ino1 = inode_ino(a);
	slot = a->slot;
	assert_int_equal(inode_unlink(&r->files, a), 0);
	assert_null(inode_find(&r->files, "a"));
	assert_null(inode_slot(&r->files, slot));
	assert_int_equal(free_pages(r), free0);
	assert_int_equal(r->files.free_extents, fext);
	assert_int_equal(r->files.nfiles, 0);

	/* Slots are handed out round robin; a reused one comes back with a
	 * new generation, so its ino is new. */
	for (uint32_t i = 0; i < r->sb->inode_count; i++) {
		a = create(r, "a", 0);
		if (a->slot == slot)
			break;
		assert_int_equal(a->gen, 1);
		assert_int_equal(inode_unlink(&r->files, a), 0);
	}
	assert_int_equal(a->slot, slot);
	assert_int_not_equal(inode_ino(a), ino1);
	assert_int_equal(a->gen, 2);
	assert_int_equal(inode_unlink(&r->files, a), 0);
	region_detach(r);

	peek(meta_of(f->path), super_of(f->path).inode_off + slot * sizeof(rec), &rec,
	     sizeof(rec));
	assert_int_equal(rec.flags, 0);
	assert_int_equal(rec.gen, 2);
	r = attach(f->path, false);
	assert_int_equal(r->files.nfiles, 0);
	assert_int_equal(free_pages(r), free0);
	a = create(r, "b", 0);
	assert_int_equal(a->gen, 3);
	region_detach(r);
}

static void
reattach_shows_the_same_state(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	const char *names[] = {"zero", "one", "odd", "two-meg", "more"};
	const uint64_t sizes[] = {0, PG, 12345, 2 * MiB, 5 * MiB + 7};
	struct file_info before[5], after[5];
	struct region_info a, b;

	for (int i = 0; i < 5; i++)
		create(r, names[i], sizes[i]);
	assert_int_equal(
		inode_resize(&r->files, inode_find(&r->files, "more"), 3 * MiB),
		0);
	assert_int_equal(inode_unlink(&r->files, inode_find(&r->files, "one")),
			 0);
	create(r, "one", 3 * PG);
	for (int i = 0; i < 5; i++)
		inode_info(inode_find(&r->files, names[i]), &before[i]);
	region_info(r, &a);
	region_detach(r);
	assert_fsck_clean(f->path);

	r = attach(f->path, false);
	region_info(r, &b);
	assert_string_equal(a.uuid, b.uuid);
	assert_int_equal(a.files, b.files);
	assert_int_equal(a.free, b.free);
	assert_int_equal(a.used, b.used);
	assert_int_equal(b.orphans, 0);
	for (int i = 0; i < 5; i++) {
		struct inode *ino = inode_find(&r->files, names[i]);

		assert_non_null(ino);
		inode_info(ino, &after[i]);
		assert_memory_equal(&before[i], &after[i], sizeof(after[i]));
		assert_backed(ino);
	}
	region_detach(r);
}

static void
many_files_reattach(void **state)
{
	struct regionfix *f = *state;
	struct region *r;
	char name[32];

	r = create_slots(f->path, REGION_SIZE, 4000);
	for (int i = 0; i < 4000; i++) {
		snprintf(name, sizeof(name), "file-%d", i);
		create(r, name, i % 3 ? 0 : PG);
	}
	region_detach(r);
	r = attach(f->path, false);
	assert_int_equal(r->files.nfiles, 4000);
	for (int i = 0; i < 4000; i += 7) {
		snprintf(name, sizeof(name), "file-%d", i);
		assert_non_null(inode_find(&r->files, name));
	}
	region_detach(r);
}

static void
unlink_too_big_for_one_transaction_goes_through_the_orphan_list(void **state)
{
	struct regionfix *f = *state;
	struct region *r;
	struct inode *x, *y;
	uint64_t free0, room, ysize;

	r = create_slots(f->path, 192 * MiB, 13000);
	free0 = free_pages(r);
	x = create(r, "x", 0);
	y = create(r, "y", 0);
	/* Grown a page at a time in turns, x and y interleave: every page
	 * of x is an extent of its own, in extent slots that are not
	 * adjacent either, more than one transaction can free. */
	for (uint64_t i = 1; free_pages(r) >= 2; i++) {
		assert_int_equal(inode_resize(&r->files, x, i * PG), 0);
		assert_int_equal(inode_resize(&r->files, y, i * PG), 0);
	}
	room = journal_room(&r->journal);
	assert_true(x->map.n * (sizeof(struct pm_journal_rec) +
				sizeof(struct pm_extent)) >
		    room);

	assert_int_equal(inode_unlink(&r->files, x), 0);
	assert_null(inode_find(&r->files, "x"));
	assert_int_equal(r->files.norphans, 0);
	assert_int_equal(r->files.nfiles, 1);
	assert_int_equal(r->sb->orphan_head, 0);
	ysize = y->size;
	assert_int_equal(free_pages(r), free0 - pages_of(ysize));
	region_detach(r);
	r = attach(f->path, false);
	assert_int_equal(free_pages(r), free0 - pages_of(ysize));
	assert_int_equal(r->files.nfiles, 1);
	region_detach(r);
	assert_fsck_clean(f->path);
}

/* Under group commit an operation that fails takes back only what it
 * staged: the batch's earlier operations still commit. */
static void
a_failed_operation_keeps_the_rest_of_its_batch(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	struct inode *grow;
	uint64_t size = 0;
	int rc = 0;

	r->files.group_commit = true;
	create(r, "keep", PG);
	grow = create(r, "grow", 0);
	/* Grow a page at a time, all in one batch, until the journal
	 * cannot stage more. */
	while (rc == 0) {
		rc = inode_resize(&r->files, grow, size + PG);
		if (rc == 0)
			size += PG;
	}
	assert_int_equal(rc, -E2BIG);
	assert_true(size > 0);
	assert_int_equal(grow->size, size);
	assert_int_equal(region_commit(r), 0);
	region_detach(r);

	r = attach(f->path, false);
	assert_non_null(inode_find(&r->files, "keep"));
	assert_non_null(inode_find(&r->files, "grow"));
	assert_int_equal(inode_find(&r->files, "grow")->size, size);
	assert_backed(inode_find(&r->files, "grow"));
	region_detach(r);
	assert_fsck_clean(f->path);
}

/* ---- corruption --------------------------------------------------------- */

static void
expect_refused(const char *path, int code, const char *words)
{
	struct region *r = NULL;
	char err[REGION_ERR_MAX];
	int rc = try_attach(path, false, 0, 9, &r, err);

	if (rc != code || !strstr(err, words))
		print_error("got %d \"%s\"\n", rc, err);
	assert_int_equal(rc, code);
	assert_null(r);
	assert_non_null(strstr(err, words));
}

static void
a_torn_sector_over_a_live_inode_is_refused_and_reported(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	static const uint8_t zero[512];
	struct fsck_report rep;
	struct pm_super sb;
	struct inode *gone;

	/* Slots 0..3: a file of no pages, whose record is all a torn
	 * sector can take, then three more. */
	create(r, "empty", 0);
	gone = create(r, "also-empty", 0);
	create(r, "c", PG);
	create(r, "d", 0);
	assert_int_equal(gone->slot, 1);
	region_detach(r);
	sb = super_of(f->path);
	assert_int_equal(sb.live_inodes, 4);
	assert_fsck_clean(f->path);

	/* A 512-byte sector of zeroes over slots 0 and 1: both read as
	 * never used, which no record check can tell. */
	poke(meta_of(f->path), sb.inode_off, zero, sizeof(zero));
	expect_refused(f->path, -EUCLEAN, "a live inode reads as free");
	expect_refused(f->path, -EUCLEAN, "pagemapctl fsck");
	assert_int_equal(fsck_region(f->path, &rep, NULL), 0);
	assert_true(rep.errors >= 1);
	assert_non_null(strstr(rep.first_error,
			       "2 slots in use, the superblock counts 4"));
}

static void
corrupt_superblock_is_refused(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	uint8_t b;

	create(r, "a", PG);
	region_detach(r);

	peek(meta_of(f->path), offsetof(struct pm_super, inode_count), &b, 1);
	b ^= 0x10;
	poke(meta_of(f->path), offsetof(struct pm_super, inode_count), &b, 1);
	expect_refused(f->path, -EINVAL, "crc");
	b ^= 0x10;
	poke(meta_of(f->path), offsetof(struct pm_super, inode_count), &b, 1);
	r = attach(f->path, false);
	region_detach(r);

	poke(meta_of(f->path), 0, "X", 1);
	expect_refused(f->path, -EINVAL, "magic");
	/* Not ours: create must not touch it either. */
	{
		struct region *r2 = NULL;
		char err[REGION_ERR_MAX];

		assert_int_equal(
			try_attach(f->path, true, REGION_SIZE, 9, &r2, err),
			-EINVAL);
	}
}

static void
corrupt_inode_record_is_refused(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	struct pm_super sb;
	uint32_t slot = create(r, "victim", 3 * PG)->slot;
	uint64_t off;
	uint8_t b;

	/* The journal keeps (and replays) the last transaction: make it one
	 * that does not write the victim's record. */
	create(r, "tail", 0);
	region_detach(r);
	sb = super_of(f->path);
	off = sb.inode_off + slot * sizeof(struct pm_inode) +
	      offsetof(struct pm_inode, size);
	peek(meta_of(f->path), off, &b, 1);
	b ^= 1;
	poke(meta_of(f->path), off, &b, 1);
	expect_refused(f->path, -EUCLEAN, "crc mismatch");
}

static void
the_last_transaction_is_replayed_at_attach(void **state)
{
	struct regionfix *f = *state;
	struct region *r;
	uint32_t slot;
	struct pm_super sb;
	uint8_t junk[sizeof(struct pm_inode)];
	int fds[2], status;
	pid_t pid;

	/* A process that commits and dies without detaching (no
	 * checkpoint): the transaction is in the log only. */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		r = attach(f->path, true);
		slot = create(r, "last", 3 * PG)->slot;
		_exit(write(fds[1], &slot, sizeof(slot)) == sizeof(slot) ? 0
									 : 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &slot, sizeof(slot)), sizeof(slot));
	close(fds[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* As if the home write of the last commit had been torn. */
	sb = super_of(f->path);
	memset(junk, 0x77, sizeof(junk));
	poke(meta_of(f->path), sb.inode_off + slot * sizeof(junk), junk, sizeof(junk));
	r = attach(f->path, false);
	assert_non_null(inode_find(&r->files, "last"));
	assert_int_equal(inode_find(&r->files, "last")->size, 3 * PG);
	region_detach(r);
}

static void
corrupt_bitmap_is_refused(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	struct pm_super sb;
	uint64_t pg;
	uint8_t b;

	create(r, "a", 3 * PG);
	region_detach(r);
	sb = super_of(f->path);
	pg = sb.data_pg + sb.data_pages - 1;
	peek(meta_of(f->path), sb.bitmap_off + pg / 8, &b, 1);
	b |= (uint8_t)(1u << pg % 8);
	poke(meta_of(f->path), sb.bitmap_off + pg / 8, &b, 1);
	expect_refused(f->path, -EUCLEAN, "marked used but in no extent");
}

static void
overlapping_extents_are_refused(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	struct inode *a = create(r, "a", 4 * PG);
	struct inode *b = create(r, "b", 4 * PG);
	struct pm_extent e;
	struct pm_super sb;
	uint32_t aslot = a->map.v[0].slot, bslot = b->slot;

	region_detach(r);
	sb = super_of(f->path);
	peek(meta_of(f->path), sb.extent_off + aslot * sizeof(e), &e, sizeof(e));
	e.slot = bslot + 1;
	layout_extent_seal(&e);
	poke(meta_of(f->path), sb.extent_off + (sb.extent_count - 1) * sizeof(e), &e,
	     sizeof(e));
	expect_refused(f->path, -EUCLEAN, "overlap in the region");
}

static void
duplicate_names_are_refused(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	uint32_t s1 = create(r, "same", 0)->slot;
	uint32_t s2 = create(r, "diff", 0)->slot;
	struct pm_super sb;
	struct pm_inode rec;

	create(r, "tail", 0);
	region_detach(r);
	sb = super_of(f->path);
	peek(meta_of(f->path), sb.inode_off + s2 * sizeof(rec), &rec, sizeof(rec));
	memcpy(rec.name, "same", 4);
	layout_inode_seal(&rec);
	poke(meta_of(f->path), sb.inode_off + s2 * sizeof(rec), &rec, sizeof(rec));
	(void)s1;
	expect_refused(f->path, -EUCLEAN, "is also used by");
}

static void
garbage_everywhere_never_crashes(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	struct pm_super sb;
	uint8_t junk[4096];

	for (int i = 0; i < 20; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%d", i);
		create(r, name, (uint64_t)i * 3000);
	}
	region_detach(r);
	sb = super_of(f->path);
	rnd_seed("junk", 7);
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (uint8_t)rnd();
	/* Every table in turn: refused with a reason, never a crash. */
	poke(meta_of(f->path), sb.extent_off, junk, 512);
	expect_refused(f->path, -EUCLEAN, "extent");
	poke(meta_of(f->path), sb.inode_off, junk, sizeof(junk));
	expect_refused(f->path, -EUCLEAN, "inode 0");
}

/* ---- orphans ------------------------------------------------------------ */

static void
orphans_found_at_attach_are_reclaimed(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	uint64_t free0 = free_pages(r);
	uint32_t fext = r->files.free_extents;
	struct inode *o1 = create(r, "o1", 3 * PG);
	struct inode *o2 = create(r, "o2", 2 * MiB + 1);
	uint32_t s1 = o1->slot, s2 = o2->slot;
	struct pm_super sb;
	struct pm_inode rec;
	struct region_info ri;

	create(r, "keep", PG);
	region_detach(r);

	/* Craft the list head -> o2 -> o1, as a crash after the unlink of
	 * two files with leases would leave it. */
	sb = super_of(f->path);
	peek(meta_of(f->path), sb.inode_off + s1 * sizeof(rec), &rec, sizeof(rec));
	rec.flags |= PM_INODE_ORPHAN;
	rec.name_len = 0;
	memset(rec.name, 0, sizeof(rec.name));
	rec.orphan_next = 0;
	layout_inode_seal(&rec);
	poke(meta_of(f->path), sb.inode_off + s1 * sizeof(rec), &rec, sizeof(rec));
	peek(meta_of(f->path), sb.inode_off + s2 * sizeof(rec), &rec, sizeof(rec));
	rec.flags |= PM_INODE_ORPHAN;
	rec.name_len = 0;
	memset(rec.name, 0, sizeof(rec.name));
	rec.orphan_next = s1 + 1;
	layout_inode_seal(&rec);
	poke(meta_of(f->path), sb.inode_off + s2 * sizeof(rec), &rec, sizeof(rec));
	sb.orphan_head = s2 + 1;
	layout_super_seal(&sb);
	poke(meta_of(f->path), 0, &sb, sizeof(sb));

	r = attach(f->path, false);
	region_info(r, &ri);
	assert_int_equal(ri.orphans, 0);
	assert_int_equal(ri.files, 1);
	assert_int_equal(r->sb->orphan_head, 0);
	assert_null(inode_slot(&r->files, s1));
	assert_null(inode_slot(&r->files, s2));
	assert_null(inode_find(&r->files, "o1"));
	assert_non_null(inode_find(&r->files, "keep"));
	assert_int_equal(free_pages(r), free0 - 1);
	assert_int_equal(r->files.free_extents, fext - 1);
	region_detach(r);
	r = attach(f->path, false);
	assert_int_equal(free_pages(r), free0 - 1);
	region_detach(r);
}

static void
an_orphan_off_the_list_is_refused(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	uint32_t s = create(r, "o", PG)->slot;
	struct pm_super sb;
	struct pm_inode rec;

	create(r, "tail", 0);
	region_detach(r);
	sb = super_of(f->path);
	peek(meta_of(f->path), sb.inode_off + s * sizeof(rec), &rec, sizeof(rec));
	rec.flags |= PM_INODE_ORPHAN;
	rec.name_len = 0;
	memset(rec.name, 0, sizeof(rec.name));
	layout_inode_seal(&rec);
	poke(meta_of(f->path), sb.inode_off + s * sizeof(rec), &rec, sizeof(rec));
	expect_refused(f->path, -EUCLEAN, "not on the orphan list");

	/* A list that loops back on itself. */
	rec.orphan_next = s + 1;
	layout_inode_seal(&rec);
	poke(meta_of(f->path), sb.inode_off + s * sizeof(rec), &rec, sizeof(rec));
	sb.orphan_head = s + 1;
	layout_super_seal(&sb);
	poke(meta_of(f->path), 0, &sb, sizeof(sb));
	expect_refused(f->path, -EUCLEAN, "cycle");
}

/* ---- crash points ------------------------------------------------------- */

struct op {
	enum { CREATE, RESIZE, UNLINK } kind;
	const char *name;
	uint64_t size;
};

static const struct op ops[] = {
	{CREATE, "f1", 10000},
	{CREATE, "f2", 2 * MiB},
	{RESIZE, "f1", 5 * MiB + 123},
	{UNLINK, "f2", 0},
	{CREATE, "f3", 0},
	{RESIZE, "f3", 3 * MiB},
	{RESIZE, "f1", 4096},
	{CREATE, "f2", 12345},
};
#define NOPS (sizeof(ops) / sizeof(ops[0]))

static int
run_op(struct region *r, const struct op *op)
{
	struct inode *ino = inode_find(&r->files, op->name);

	switch (op->kind) {
	case CREATE:
		return inode_create(&r->files, op->name, op->size, 0600, 0, 0,
				    &ino);
	case RESIZE:
		return ino ? inode_resize(&r->files, ino, op->size) : -ENOENT;
	case UNLINK:
		return ino ? inode_unlink(&r->files, ino) : -ENOENT;
	}
	return -EINVAL;
}

/* expected_size -- size of @name after the first @k ops, or -1. */
static int64_t
expected_size(size_t k, const char *name)
{
	int64_t size = -1;

	for (size_t i = 0; i < k; i++) {
		if (strcmp(ops[i].name, name))
			continue;
		size = ops[i].kind == UNLINK ? -1 : (int64_t)ops[i].size;
	}
	return size;
}

/* matches -- whether @r holds exactly the files of the first @k ops. */
static bool
matches(struct region *r, size_t k)
{
	static const char *const names[] = {"f1", "f2", "f3"};
	uint64_t used = 0;
	uint32_t files = 0;

	for (size_t i = 0; i < 3; i++) {
		int64_t want = expected_size(k, names[i]);
		struct inode *ino = inode_find(&r->files, names[i]);

		if (want < 0) {
			if (ino)
				return false;
			continue;
		}
		if (!ino || ino->size != (uint64_t)want ||
		    extent_map_pages(&ino->map) != pages_of(ino->size))
			return false;
		used += pages_of(ino->size);
		files++;
	}
	return r->files.nfiles == files && r->files.norphans == 0 &&
	       free_pages(r) == r->sb->data_pages - used;
}

static void
copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	static uint8_t buf[1 << 16], zero[1 << 16];
	ssize_t n;
	off_t off = 0;
	struct stat st;

	assert_true(in >= 0 && out >= 0);
	assert_int_equal(fstat(in, &st), 0);
	assert_int_equal(ftruncate(out, st.st_size), 0);
	while ((n = pread(in, buf, sizeof(buf), off)) > 0) {
		if (memcmp(buf, zero, (size_t)n))
			assert_int_equal(pwrite(out, buf, (size_t)n, off), n);
		off += n;
	}
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/* child -- attach @path with crash points armed at @after, run the ops,
 * reporting each completed one with a byte on @fd. Never returns. */
static void
child(const char *path, uint64_t after, bool torn, int fd)
{
	struct region *r = NULL;
	struct region_opts o = {.max_order = 9};
	char err[REGION_ERR_MAX], num[32];

	snprintf(num, sizeof(num), "%llu", (unsigned long long)after);
	setenv("PAGEMAPD_CRASH_AFTER", num, 1);
	setenv("PAGEMAPD_CRASH_TORN", torn ? "1" : "0", 1);
	if (region_attach("c", path, &o, &r, err))
		_exit(2);
	for (size_t i = 0; i < NOPS; i++) {
		if (run_op(r, &ops[i]))
			_exit(3);
		if (write(fd, "x", 1) != 1)
			_exit(4);
	}
	/* Detach checkpoints the journal: its persists count too. */
	region_detach(r);
	if (after == 0) {
		uint64_t n = media_crash_persists();

		if (write(fd, &n, sizeof(n)) != sizeof(n))
			_exit(4);
	}
	_exit(0);
}

/* run_child -- fork child(); returns its exit status and the number of
 * ops it completed; *ret_count gets the persist count when after == 0. */
static int
run_child(const char *path, uint64_t after, bool torn, size_t *ret_done,
	  uint64_t *ret_count)
{
	int p[2], status;
	pid_t pid;
	uint8_t buf[64];
	size_t got = 0;
	ssize_t n;

	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child(path, after, torn, p[1]);
	}
	close(p[1]);
	while ((n = read(p[0], buf + got, sizeof(buf) - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	*ret_done = got < NOPS ? got : NOPS;
	if (ret_count && got == NOPS + sizeof(uint64_t))
		memcpy(ret_count, buf + NOPS, sizeof(uint64_t));
	return WEXITSTATUS(status);
}

static void
every_crash_point_leaves_a_whole_state(void **state)
{
	struct regionfix *f = *state;
	struct region *r = attach(f->path, true);
	char base[192], mbase[192], meta[192], durable[192];
	struct region_opts od = {.max_order = 9, .meta = durable};
	char err[REGION_ERR_MAX];
	struct fsck_report rep;
	uint64_t count = 0;
	size_t done;

	region_detach(r);
	/* Both files are restored before each run; power loss leaves the
	 * metadata's durable image ("<meta>.durable") beside the data
	 * file, whose zeroes are synced before each commit. */
	snprintf(base, sizeof(base), "%s.base", f->path);
	snprintf(meta, sizeof(meta), "%s.meta", f->path);
	snprintf(mbase, sizeof(mbase), "%s.meta.base", f->path);
	snprintf(durable, sizeof(durable), "%s.meta.durable", f->path);
	copy_file(f->path, base);
	copy_file(meta, mbase);

	/* Count the persist points of the workload first. */
	assert_int_equal(run_child(f->path, 0, false, &done, &count), 0);
	assert_int_equal(done, NOPS);
	assert_true(count >= NOPS); /* a commit is one persist */
	r = attach(f->path, false);
	assert_true(matches(r, NOPS));
	region_detach(r);

	for (int torn = 0; torn <= 1; torn++) {
		for (uint64_t n = 1; n <= count; n++) {
			int status;

			copy_file(base, f->path);
			copy_file(mbase, meta);
			status = run_child(f->path, n, torn, &done, NULL);
			if (status != 86)
				print_error("crash point %llu torn %d: exit "
					    "%d\n",
					    (unsigned long long)n, torn,
					    status);
			assert_int_equal(status, 86);
			assert_int_equal(fsck_region_pair(f->path, durable, 0,
							  &rep, stderr),
					 0);
			assert_int_equal(rep.errors, 0);
			r = NULL;
			assert_int_equal(region_attach("d", f->path, &od, &r,
						       err),
					 0);
			if (!matches(r, done) && !matches(r, done + 1))
				print_error("crash point %llu torn %d: %zu "
					    "ops done, state matches "
					    "neither\n",
					    (unsigned long long)n, torn, done);
			assert_true(matches(r, done) || matches(r, done + 1));
			/* And it keeps working. */
			assert_int_equal(inode_create(&r->files, "after", PG,
						      0600, 0, 0,
						      &(struct inode *){0}),
					 0);
			region_detach(r);
			unlink(durable);
		}
	}
	/* One past the last point: the workload just completes. */
	copy_file(base, f->path);
	copy_file(mbase, meta);
	assert_int_equal(run_child(f->path, count + 1, false, &done, NULL), 0);
	assert_int_equal(done, NOPS);
	unlink(base);
	unlink(mbase);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(create_formats_a_sparse_region_file),
		T(attach_without_create_needs_the_file),
		T(fill_writes_only_the_holes_asked_for),
		T(create_with_an_impossible_geometry_leaves_no_file),
		T(max_order_zero_is_a_valid_order),
		T(create_on_an_existing_region_does_not_reformat),
		T(create_formats_an_all_zero_file_but_never_a_used_one),
		T(an_attached_file_is_locked_against_a_second_attach),
		T(create_sizes_and_formats_an_empty_file),
		T(region_names_are_checked),
		T(a_torn_sector_over_a_live_inode_is_refused_and_reported),
		T(read_super_checks_without_attaching),
		T(files_of_any_size_are_backed_and_zeroed),
		T(names_are_unique_and_checked),
		T(no_space_changes_nothing),
		T(no_inode_slot_is_enospc),
		T(resize_grows_and_shrinks_in_place),
		T(growth_appends_merge_into_one_extent),
		T(grow_exposes_zeroes_not_old_data),
		T(unlink_frees_everything),
		T(reattach_shows_the_same_state),
		T(many_files_reattach),
		T(unlink_too_big_for_one_transaction_goes_through_the_orphan_list),
		T(a_failed_operation_keeps_the_rest_of_its_batch),
		T(corrupt_superblock_is_refused),
		T(corrupt_inode_record_is_refused),
		T(the_last_transaction_is_replayed_at_attach),
		T(corrupt_bitmap_is_refused),
		T(overlapping_extents_are_refused),
		T(duplicate_names_are_refused),
		T(garbage_everywhere_never_crashes),
		T(orphans_found_at_attach_are_reclaimed),
		T(an_orphan_off_the_list_is_refused),
		T(every_crash_point_leaves_a_whole_state),
#undef T
	};

	/* Crash points must be armed only in the forked children. */
	unsetenv("PAGEMAPD_CRASH_AFTER");
	unsetenv("PAGEMAPD_CRASH_TORN");
	return cmocka_run_group_tests(tests, NULL, NULL);
}

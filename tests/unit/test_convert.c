/* test_convert.c -- a version 1 region file is refused by attach and fsck
 * with the command that converts it, converted (its journal replayed, its
 * data where it was, its old metadata zeroed), attached and checked clean;
 * an interrupted conversion is finished by a rerun. */
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
#include <sys/xattr.h>
#include <unistd.h>

#include <cmocka.h>

#include "convert.h"
#include "fsck.h"
#include "inode.h"
#include "layout.h"
#include "pair.h"
#include "region.h"

#include "regionfix.h"
#include "v1image.h"

#define RSIZE (16u << 20)
static const char text[] = "the data of a version 1 file";

static int
setup(void **state)
{
	return regionfix_setup(state, "convert");
}

static int
teardown(void **state)
{
	return regionfix_teardown(state);
}

/* read_at -- @len bytes of @path at @off. */
static void
read_at(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* assert_converted -- fsck clean (@orphans left: an attach frees them),
 * attach, the file and its bytes there, the old superblock page zero. */
static void
assert_converted(struct regionfix *f, uint32_t orphans)
{
	struct region_opts o = {0};
	struct fsck_report rep;
	char err[REGION_ERR_MAX] = "", buf[sizeof(text)];
	uint8_t page[PM_PAGE_SIZE];
	struct region *r = NULL;
	struct inode *ino;
	const struct extent *e;
	int rc;

	assert_int_equal(fsck_region(f->path, &rep, stderr), 0);
	assert_int_equal(rep.errors, 0);
	assert_int_equal(rep.files, 2);
	assert_int_equal(rep.orphans, orphans);
	rc = region_attach("c", f->path, &o, &r, err);
	if (rc)
		print_error("attach: %s\n", err);
	assert_int_equal(rc, 0);
	/* The orphan is reclaimed at attach, as ever. */
	assert_int_equal(r->files.nfiles, 2);
	assert_int_equal(r->files.norphans, 0);
	ino = inode_find(&r->files, "v1file");
	assert_non_null(ino);
	assert_int_equal(ino->size, sizeof(text));
	e = extent_map_lookup(&ino->map, 0);
	assert_non_null(e);
	/* Grants name data file offsets: the data stayed where it was. */
	assert_int_equal(e->region_pg, r->sb->data_pg);
	assert_int_equal(r->sb->data_off, r->sb->data_pg << PM_PAGE_SHIFT);
	assert_int_equal(pread(r->fd, buf, sizeof(buf),
			       (off_t)(e->region_pg << PM_PAGE_SHIFT)),
			 (ssize_t)sizeof(buf));
	assert_memory_equal(buf, text, sizeof(text));
	assert_int_equal(r->sb->live_inodes, 2);
	region_detach(r);
	read_at(f->path, 0, page, sizeof(page));
	assert_true(layout_all_zero(page, sizeof(page)));
}

static void
a_version_1_region_is_refused_then_converted(void **state)
{
	struct regionfix *f = *state;
	struct region_opts o = {0};
	struct convert_report rep;
	struct fsck_report frep;
	char err[REGION_ERR_MAX] = "";
	struct region *r = NULL;
	uint8_t uuid[16];
	int fd;

	assert_int_equal(
		v1image_write(f->path, RSIZE, "v1file", text, sizeof(text), 1),
		0);
	/* Refused, naming the conversion; nothing written. */
	assert_int_equal(region_attach("c", f->path, &o, &r, err),
			 -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "pagemapctl region convert"));
	assert_int_equal(access(f->meta, F_OK), -1);
	assert_int_equal(fsck_region(f->path, &frep, NULL), -EPROTONOSUPPORT);
	assert_non_null(strstr(frep.first_error, "region convert"));
	/* With create too: an existing region is never reformatted. */
	o.create = true;
	o.size = RSIZE;
	assert_int_equal(region_attach("c", f->path, &o, &r, err),
			 -EPROTONOSUPPORT);
	assert_int_equal(access(f->meta, F_OK), -1);

	assert_int_equal(convert_region(f->path, NULL, &rep, NULL), 0);
	assert_false(rep.already);
	assert_false(rep.resumed);
	assert_int_equal(rep.files, 2);
	assert_int_equal(rep.orphans, 1);
	assert_true(rep.data_off > 0);
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pair_get(fd, uuid), 0);
	close(fd);
	assert_converted(f, 1);

	/* Again: nothing to do. */
	assert_int_equal(convert_region(f->path, NULL, &rep, NULL), 0);
	assert_true(rep.already);
	assert_converted(f, 0);
}

static void
an_interrupted_conversion_is_finished_by_a_rerun(void **state)
{
	struct regionfix *f = *state;
	char saved[PATH_MAX];
	struct convert_report rep;
	uint8_t *orig = malloc(RSIZE);
	int fd;

	assert_non_null(orig);
	assert_int_equal(
		v1image_write(f->path, RSIZE, "v1file", text, sizeof(text), 0),
		0);
	read_at(f->path, 0, orig, RSIZE);
	assert_int_equal(convert_region(f->path, NULL, &rep, NULL), 0);

	/* Power lost after the metadata file was in place, before the data
	 * file was marked or zeroed: its old bytes and no xattr. */
	fd = open(f->path, O_WRONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, orig, RSIZE, 0), (ssize_t)RSIZE);
	assert_int_equal(fremovexattr(fd, PAIR_XATTR), 0);
	close(fd);
	free(orig);
	assert_int_equal(convert_region(f->path, NULL, &rep, NULL), 0);
	assert_true(rep.resumed);
	assert_converted(f, 1);

	/* Power lost before the rename: only the temporary file is there,
	 * and the rerun starts over. */
	assert_int_equal(
		v1image_write(f->path, RSIZE, "v1file", text, sizeof(text), 0),
		0);
	snprintf(saved, sizeof(saved), "%s.tmp", f->meta);
	assert_int_equal(rename(f->meta, saved), 0);
	assert_int_equal(convert_region(f->path, NULL, &rep, NULL), 0);
	assert_false(rep.resumed);
	assert_converted(f, 1);
	assert_int_equal(access(saved, F_OK), -1);
}

static void
a_metadata_file_of_another_region_is_left_alone(void **state)
{
	struct regionfix *f = *state;
	struct convert_report rep;
	struct region_opts o = {.size = RSIZE, .create = true};
	char other[192], err[REGION_ERR_MAX];
	struct region *r = NULL;

	/* A version 2 region elsewhere; its metadata file put beside a
	 * version 1 file. */
	snprintf(other, sizeof(other), "%s/o.pmem", f->dir);
	assert_int_equal(region_attach("o", other, &o, &r, err), 0);
	region_detach(r);
	snprintf(other, sizeof(other), "%s/o.pmem.meta", f->dir);
	assert_int_equal(
		v1image_write(f->path, RSIZE, "v1file", text, sizeof(text), 0),
		0);
	assert_int_equal(convert_region(f->path, other, &rep, NULL), -EEXIST);
	assert_non_null(strstr(rep.first_error, "exists and is region"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(a_version_1_region_is_refused_then_converted),
		T(an_interrupted_conversion_is_finished_by_a_rerun),
		T(a_metadata_file_of_another_region_is_left_alone),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

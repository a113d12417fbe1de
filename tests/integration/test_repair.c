/* test_repair.c -- pagemapctl fsck --repair on a region a real daemon made:
 * two files made to claim the same pages, attach refused with the command
 * to run, the dry run, the repair, and the daemon attaching it again with
 * the first file's data intact. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "layout.h"

struct fixture {
	struct daemon d; /* first: daemon_teardown() frees through it */
};

static char out[16384], err[4096];

static int
setup(void **state)
{
	struct fixture *f = daemon_setup(state, sizeof(*f), NULL);

	return f ? 0 : -1;
}

/* slot_of -- the inode slot of the file named @name. */
static uint32_t
slot_of(int fd, const struct pm_super *sb, const char *name)
{
	struct pm_inode ino;

	for (uint32_t i = 0; i < sb->inode_count; i++) {
		off_t off = (off_t)(sb->inode_off + i * sizeof(ino));

		assert_int_equal(pread(fd, &ino, sizeof(ino), off),
				 (ssize_t)sizeof(ino));
		if ((ino.flags & PM_INODE_USED) && strcmp(ino.name, name) == 0)
			return i;
	}
	fail_msg("no file %s", name);
	return 0;
}

/* ext_of -- the table slot and record of the one extent of inode @slot. */
static uint32_t
ext_of(int fd, const struct pm_super *sb, uint32_t slot, struct pm_extent *e)
{
	for (uint32_t i = 0; i < sb->extent_count; i++) {
		off_t off = (off_t)(sb->extent_off + i * sizeof(*e));

		assert_int_equal(pread(fd, e, sizeof(*e), off),
				 (ssize_t)sizeof(*e));
		if (e->slot == slot + 1)
			return i;
	}
	fail_msg("no extent of inode %u", slot);
	return 0;
}

static void
overlapping_files_are_repaired_and_the_region_attaches(void **state)
{
	struct fixture *f = *state;
	const char *dry[] = {PAGEMAPCTL_BIN, "fsck", "--repair", f->d.region,
			     NULL};
	const char *yes[] = {PAGEMAPCTL_BIN, "fsck",	  "--repair",
			     "--yes",	     f->d.region, NULL};
	const char *check[] = {PAGEMAPCTL_BIN, "fsck", f->d.region, NULL};
	struct pm_extent ea, eb;
	struct pm_super sb;
	uint32_t a, b, ia, ib;
	char want[PATH_MAX + 64], name[PATH_MAX + 8];
	int fd;

	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create", "r/a",
			     "--size", "8K", NULL),
			 0);
	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create", "r/b",
			     "--size", "8K", NULL),
			 0);
	ctl_write(&f->d, "r/a", "the data of a");
	ctl_write(&f->d, "r/b", "the data of b");
	assert_int_equal(daemon_stop(&f->d), 0);

	/* b's extent is pointed at a's pages (in the metadata file). */
	snprintf(name, sizeof(name), "%s.meta", f->d.region);
	fd = open(name, O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &sb, sizeof(sb), 0), (ssize_t)sizeof(sb));
	a = slot_of(fd, &sb, "a");
	b = slot_of(fd, &sb, "b");
	ia = ext_of(fd, &sb, a, &ea);
	ib = ext_of(fd, &sb, b, &eb);
	eb.region_pg = ea.region_pg;
	eb.npages = ea.npages;
	layout_extent_seal(&eb);
	assert_int_equal(pwrite(fd, &eb, sizeof(eb),
				(off_t)(sb.extent_off + ib * sizeof(eb))),
			 (ssize_t)sizeof(eb));
	close(fd);

	/* Attach refuses it and names the next step. */
	assert_int_equal(daemon_restart(&f->d), -1);
	snprintf(want, sizeof(want), "run: pagemapctl fsck --repair %s",
		 f->d.region);
	assert_true(daemon_log_contains(&f->d, want));

	/* The dry run: exit 1, the plan, nothing changed. */
	assert_int_equal(run(dry, NULL, out, sizeof(out), err, sizeof(err)), 1);
	assert_non_null(strstr(out, "unmapped, a hole now"));
	assert_non_null(strstr(out, "run again with --yes"));
	assert_int_equal(run(check, NULL, out, sizeof(out), err, sizeof(err)),
			 1);
	assert_non_null(strstr(out, "fsck --repair"));

	/* The repair: the later extent slot gives its pages up. */
	assert_int_equal(run(yes, NULL, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(out, "clean now"));
	snprintf(want, sizeof(want), "they stay with inode %u \"%s\"",
		 ia < ib ? a : b, ia < ib ? "a" : "b");
	assert_non_null(strstr(out, want));
	assert_int_equal(run(check, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_int_equal(run(dry, NULL, out, sizeof(out), err, sizeof(err)), 0);
	assert_non_null(strstr(out, "nothing to repair"));

	/* The daemon attaches it; the keeper's data is there under its new
	 * name, the other file reads as a hole. */
	assert_int_equal(daemon_restart(&f->d), 0);
	assert_int_equal(
		ctl(&f->d, out, sizeof(out), NULL, 0, "file", "ls", "r", NULL),
		0);
	assert_non_null(strstr(out, "damaged."));
	assert_null(strstr(out, " a\n"));
	{
		const char *keeper = ia < ib ? "a" : "b";
		char *p = strstr(out, "damaged.");

		/* The keeper's damaged name is the one ending in its name. */
		while (p) {
			size_t n = strcspn(p, " \n");

			if (n < sizeof(name) - 3 && p[n - 1] == keeper[0] &&
			    p[n - 2] == '.') {
				snprintf(name, sizeof(name), "r/%.*s", (int)n,
					 p);
				break;
			}
			p = strstr(p + n, "damaged.");
		}
		assert_non_null(p);
		assert_int_equal(ctl(&f->d, out, sizeof(out), NULL, 0, "read",
				     name, "--length", "13", NULL),
				 0);
		snprintf(want, sizeof(want), "the data of %s", keeper);
		assert_memory_equal(out, want, 13);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			overlapping_files_are_repaired_and_the_region_attaches,
			setup, daemon_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

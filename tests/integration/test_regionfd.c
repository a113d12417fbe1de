/* test_regionfd.c -- what the region fd a client receives reaches: the
 * data file only, read-only for read leases; a write-lease holder that
 * writes junk over everything its fd reaches, or another process that
 * truncates the data file, changes no file list and takes down no other
 * region; the truncated region fails alone, says why, and attaches again
 * after fsck --repair. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "harness.h"
#include "pagemap.h"
#include "v1image.h"

#define MiB (1ull << 20)

struct fixture {
	struct daemon d; /* first: daemon_teardown() frees through it */
	char meta[PATH_MAX + 8];
	char spec_r[PATH_MAX + 64], spec_s[PATH_MAX + 64];
};

static char out[16384], err[4096];

static int
setup(void **state)
{
	static const char *const regions[] = {"r=r.pmem,size=64M,create",
					      "s=s.pmem,size=16M,create", NULL};
	struct fixture *f = daemon_setup(state, sizeof(*f), regions);

	if (!f)
		return -1;
	snprintf(f->meta, sizeof(f->meta), "%s.meta", f->d.region);
	snprintf(f->spec_r, sizeof(f->spec_r), "r=%s", f->d.region);
	snprintf(f->spec_s, sizeof(f->spec_s), "s=%s/s.pmem", f->d.dir);
	return 0;
}

/* restart -- start the daemon again over both regions. */
static int
restart(struct fixture *f)
{
	const char *args[] = {"--region", f->spec_r, "--region", f->spec_s,
			      NULL};

	return daemon_start(&f->d, args, NULL);
}

/* make_files -- r/mine (a write lease's), r/other, s/bystander. */
static void
make_files(struct fixture *f)
{
	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create",
			     "r/mine", "--size", "8K", NULL),
			 0);
	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create",
			     "r/other", "--size", "64K", "--mode", "0644",
			     NULL),
			 0);
	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create",
			     "s/bystander", "--size", "4K", NULL),
			 0);
	ctl_write(&f->d, "r/other", "the data of other");
	ctl_write(&f->d, "s/bystander", "the data of bystander");
}

/* assert_listing -- file ls of @region has @name of @size bytes. */
static void
assert_listing(struct fixture *f, const char *region, const char *name,
	       const char *size)
{
	char *line;

	assert_int_equal(ctl(&f->d, out, sizeof(out), err, sizeof(err),
			     "--bytes", "file", "ls", region, NULL),
			 0);
	line = strstr(out, name);
	if (!line)
		fail_msg("file ls %s has no %s:\n%s", region, name, out);
	assert_non_null(strstr(out, size));
}

/* lease_fd -- a lease of @access on @region/@name, one grant taken, and
 * the region fd that came with it. */
static int
lease_fd(struct pagemap *pm, const char *region, const char *name,
	 enum pagemap_access access, struct pagemap_lease **ret)
{
	struct pagemap_folio fo[4];
	size_t n = 0;
	uint64_t next = 0;

	assert_int_equal(pagemap_lease_acquire(pm, region, name, access, ret),
			 0);
	assert_int_equal(pagemap_grant(*ret, 0, 4096, access, fo, 4, &n, &next),
			 0);
	assert_int_equal(n, 1);
	return pagemap_region_fd(*ret);
}

/* same_file -- @fd is the file at @path. */
static bool
same_file(int fd, const char *path)
{
	struct stat a, b;

	return fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void
region_fds_reach_the_data_file_only(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *w, *rd;
	struct pagemap *pm;
	int wfd, rfd;

	make_files(f);
	/* The metadata has a file of its own, beside the data file. */
	{
		struct stat st;

		assert_int_equal(stat(f->meta, &st), 0);
		assert_true(S_ISREG(st.st_mode));
	}
	assert_int_equal(pagemap_connect(f->d.socket, "fd", &pm), 0);
	wfd = lease_fd(pm, "r", "mine", PAGEMAP_WRITE, &w);
	assert_true(wfd >= 0);
	assert_true(same_file(wfd, f->d.region));
	assert_false(same_file(wfd, f->meta));
	assert_int_equal(fcntl(wfd, F_GETFL) & O_ACCMODE, O_RDWR);

	/* A read lease of another connection gets a read-only fd of the
	 * data file, never of the metadata. */
	{
		struct pagemap *pm2;

		assert_int_equal(pagemap_connect(f->d.socket, "rd", &pm2), 0);
		rfd = lease_fd(pm2, "r", "other", PAGEMAP_READ, &rd);
		assert_true(rfd >= 0);
		assert_true(same_file(rfd, f->d.region));
		assert_false(same_file(rfd, f->meta));
		assert_int_equal(fcntl(rfd, F_GETFL) & O_ACCMODE, O_RDONLY);
		assert_int_equal(pagemap_return(rd, 0, 4096, NULL), 0);
		assert_int_equal(pagemap_lease_release(rd), 0);
		pagemap_close(pm2);
	}
	assert_int_equal(pagemap_return(w, 0, 4096, NULL), 0);
	assert_int_equal(pagemap_lease_release(w), 0);
	pagemap_close(pm);
}

static void
junk_over_the_whole_fd_leaves_the_file_list_intact(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *w;
	struct pagemap *pm;
	size_t len = 4 * MiB;
	char *junk = malloc(len);
	int fd;

	assert_non_null(junk);
	memset(junk, 0xa5, len);
	make_files(f);
	assert_int_equal(pagemap_connect(f->d.socket, "junk", &pm), 0);
	fd = lease_fd(pm, "r", "mine", PAGEMAP_WRITE, &w);
	assert_true(fd >= 0);
	/* The first megabytes the fd reaches: where a region's metadata
	 * once began. */
	assert_int_equal(pwrite(fd, junk, len, 0), (ssize_t)len);
	assert_int_equal(fsync(fd), 0);
	free(junk);

	/* Every request still works, from DRAM: the file list, sizes,
	 * stat, status, the other region. */
	assert_listing(f, "r", "mine", "8192");
	assert_listing(f, "r", "other", "65536");
	assert_listing(f, "s", "bystander", "4096");
	assert_int_equal(ctl(&f->d, out, sizeof(out), err, sizeof(err), "file",
			     "stat", "r/other", NULL),
			 0);
	assert_int_equal(
		ctl(&f->d, out, sizeof(out), err, sizeof(err), "status", NULL),
		0);
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file", "create",
			     "r/new", "--size", "4K", NULL),
			 0);
	assert_int_equal(pagemap_return(w, 0, 4096, NULL), 0);
	assert_int_equal(pagemap_lease_release(w), 0);
	pagemap_close(pm);

	/* And after a restart: the region attaches, fsck is clean. */
	assert_int_equal(daemon_stop(&f->d), 0);
	{
		const char *fsck[] = {PAGEMAPCTL_BIN, "fsck", f->d.region,
				      NULL};

		assert_int_equal(
			run(fsck, NULL, out, sizeof(out), err, sizeof(err)), 0);
	}
	assert_int_equal(restart(f), 0);
	assert_listing(f, "r", "other", "65536");
	assert_listing(f, "r", "new", "4096");
}

static void
a_truncated_data_file_fails_its_region_alone(void **state)
{
	struct fixture *f = *state;
	const char *fsck[] = {PAGEMAPCTL_BIN, "fsck", f->d.region, NULL};
	const char *repair[] = {PAGEMAPCTL_BIN, "fsck",	     "--repair",
				"--yes",	f->d.region, NULL};
	struct pagemap_lease *w, *w2;
	struct pagemap *pm;
	struct pagemap_folio fo[4];
	size_t n = 0;
	uint64_t next = 0;
	pid_t pid;
	int fd, cut, status, rc;

	make_files(f);
	assert_int_equal(pagemap_connect(f->d.socket, "cut", &pm), 0);
	fd = lease_fd(pm, "r", "mine", PAGEMAP_WRITE, &w);
	assert_true(fd >= 0);
	/* Another process, holding the fd (a dup: the library keeps its
	 * own fds from a forked child), cuts the data file short. */
	cut = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	assert_true(cut >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(ftruncate(cut, (off_t)MiB) == 0 ? 0 : 100 + errno);
	close(cut);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* New grants are refused, and say why. */
	assert_int_equal(
		pagemap_lease_acquire(pm, "r", "other", PAGEMAP_READ, &w2), 0);
	/* The daemon looks at the data file's size once per millisecond of
	 * its clock: a grant in the same millisecond as the last look may
	 * still be served (and is given back); ask until refused, for at
	 * most 5 s. */
	for (long long end = now_ms() + 5000; now_ms() < end;) {
		rc = pagemap_grant(w2, 0, 4096, PAGEMAP_READ, fo, 4, &n, &next);
		if (rc != 0)
			break;
		assert_int_equal(pagemap_return(w2, 0, 4096, NULL), 0);
	}
	assert_int_equal(rc, -EIO);
	assert_non_null(
		strstr(pagemap_last_message(pm),
		       "truncated to 1048576 bytes, expected 67108864"));
	assert_int_equal(pagemap_lease_release(w2), 0);

	/* Everything else is served: status, listings, the other region. */
	assert_int_equal(
		ctl(&f->d, out, sizeof(out), err, sizeof(err), "status", NULL),
		0);
	assert_listing(f, "r", "mine", "8192");
	assert_listing(f, "r", "other", "65536");
	assert_listing(f, "s", "bystander", "4096");
	assert_int_equal(ctl(&f->d, out, sizeof(out), err, sizeof(err),
			     "region", "info", "r", NULL),
			 0);
	assert_non_null(strstr(out, "failed"));
	/* Changes to it are refused; the other region takes them. */
	assert_int_not_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file",
				 "create", "r/new", "--size", "4K", NULL),
			     0);
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file", "create",
			     "s/new", "--size", "4K", NULL),
			 0);
	assert_true(daemon_log_contains(&f->d, "truncated to 1048576 bytes"));
	assert_int_equal(pagemap_return(w, 0, 4096, NULL), 0);
	assert_int_equal(pagemap_lease_release(w), 0);
	pagemap_close(pm);

	/* A restart refuses the region clearly, naming the repair. */
	assert_int_equal(daemon_stop(&f->d), 0);
	assert_int_equal(restart(f), -1);
	assert_true(daemon_log_contains(&f->d, "truncated to 1048576 bytes"));
	assert_true(daemon_log_contains(&f->d, "pagemapctl fsck --repair"));
	assert_int_equal(run(fsck, NULL, out, sizeof(out), err, sizeof(err)),
			 1);
	assert_non_null(strstr(out, "truncated"));
	/* The repair gives the data file its length back (what was cut
	 * off reads as zeroes); the file list never changed. */
	assert_int_equal(run(repair, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_int_equal(run(fsck, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_int_equal(restart(f), 0);
	assert_listing(f, "r", "mine", "8192");
	assert_listing(f, "r", "other", "65536");
	assert_listing(f, "s", "new", "4096");
}

static void
a_version_1_region_is_refused_then_converted_by_the_cli(void **state)
{
	struct fixture *f = *state;
	static const char text[] = "kept across the conversion";
	char v1[PATH_MAX + 16];
	const char *conv[] = {PAGEMAPCTL_BIN, "region", "convert", v1, NULL};
	const char *fsck[] = {PAGEMAPCTL_BIN, "fsck", v1, NULL};

	snprintf(v1, sizeof(v1), "%s/v1.pmem", f->d.dir);
	assert_int_equal(
		v1image_write(v1, 16 * MiB, "old", text, sizeof(text) - 1, 1),
		0);
	/* Attach refuses it and names the command. */
	assert_int_not_equal(ctl(&f->d, out, sizeof(out), err, sizeof(err),
				 "region", "attach", "v1", v1, NULL),
			     0);
	assert_non_null(strstr(err, "pagemapctl region convert"));
	assert_int_equal(run(fsck, NULL, out, sizeof(out), err, sizeof(err)),
			 1);
	assert_true(strstr(out, "region convert") ||
		    strstr(err, "region convert"));

	assert_int_equal(run(conv, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_non_null(strstr(out, "converted to format version 2"));
	assert_int_equal(run(fsck, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	/* Run again: nothing to do. */
	assert_int_equal(run(conv, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_non_null(strstr(out, "nothing to convert"));

	assert_int_equal(ctl(&f->d, out, sizeof(out), err, sizeof(err),
			     "region", "attach", "v1", v1, NULL),
			 0);
	assert_int_equal(ctl(&f->d, out, sizeof(out), err, sizeof(err), "read",
			     "v1/old", NULL),
			 0);
	assert_memory_equal(out, text, sizeof(text) - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, daemon_teardown)
		T(region_fds_reach_the_data_file_only),
		T(junk_over_the_whole_fd_leaves_the_file_list_intact),
		T(a_truncated_data_file_fails_its_region_alone),
		T(a_version_1_region_is_refused_then_converted_by_the_cli),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

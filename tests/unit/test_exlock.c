/* test_exlock.c -- unit tests of exclusive region and socket locks
 * (exlock.c), with real files and a real second process. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exlock.h"

struct fixture {
	char dir[64];
	char region[128];
	char pidrec[140];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int fd;

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/exlock.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->region, sizeof(f->region), "%s/r.pmem", f->dir);
	snprintf(f->pidrec, sizeof(f->pidrec), "%s.lock", f->region);
	fd = open(f->region, O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "region", 6), 6);
	close(fd);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char p[160];

	unlink(f->region);
	unlink(f->pidrec);
	snprintf(p, sizeof(p), "%s/sock.lock", f->dir);
	unlink(p);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
a_second_open_is_refused_and_told_the_holder(void **state)
{
	struct fixture *f = *state;
	struct exlock a, b;
	pid_t holder = -1;
	struct stat st;

	assert_int_equal(exlock_region(f->region, O_RDWR, &a, NULL), 0);
	assert_int_equal(stat(f->pidrec, &st), 0);
	/* The lock belongs to the open, not the process: even this process
	 * cannot take it twice (a second daemon in the same process, or a
	 * tool linked into it, is refused too). */
	assert_int_equal(exlock_region(f->region, O_RDONLY, &b, &holder),
			 -EBUSY);
	assert_int_equal(holder, getpid());
	assert_int_equal(b.fd, -1);
	exlock_release(&a);
	assert_int_equal(a.fd, -1);
	assert_int_equal(stat(f->pidrec, &st), -1);
	assert_int_equal(exlock_region(f->region, O_RDONLY, &b, &holder), 0);
	exlock_release(&b);
	exlock_release(&b); /* twice is harmless */
}

static void
another_process_holding_the_lock_is_named_until_it_exits(void **state)
{
	struct fixture *f = *state;
	struct exlock l;
	int ready[2], done[2];
	pid_t pid, holder = 0;
	char c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(done), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct exlock cl;

		close(ready[0]);
		close(done[1]);
		if (exlock_region(f->region, O_RDWR, &cl, NULL) != 0)
			_exit(1);
		(void)!write(ready[1], "x", 1);
		(void)!read(done[0], &c, 1);
		_exit(0); /* the lock goes with the process, unreleased */
	}
	close(ready[1]);
	close(done[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	assert_int_equal(exlock_region(f->region, O_RDWR, &l, &holder), -EBUSY);
	assert_int_equal(holder, pid);
	close(done[1]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	close(ready[0]);
	/* Its record is stale now; the lock is free and the record ours. */
	assert_int_equal(exlock_region(f->region, O_RDWR, &l, &holder), 0);
	exlock_release(&l);
}

static void
a_lock_file_records_its_holder_in_itself_and_survives_release(void **state)
{
	struct fixture *f = *state;
	char p[160], buf[32] = {0};
	struct exlock a, b;
	pid_t holder = 0;
	struct stat st;
	int fd;

	snprintf(p, sizeof(p), "%s/sock.lock", f->dir);
	assert_int_equal(exlock_take(p, O_RDWR | O_CREAT, p, &a, NULL), 0);
	assert_int_equal(exlock_take(p, O_RDWR | O_CREAT, p, &b, &holder),
			 -EBUSY);
	assert_int_equal(holder, getpid());
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, buf, sizeof(buf) - 1) > 0);
	assert_int_equal(atoi(buf), getpid());
	close(fd);
	exlock_release(&a);
	/* Emptied, not unlinked (see exlock_release). */
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void
a_missing_file_is_an_error_not_a_lock(void **state)
{
	struct fixture *f = *state;
	struct exlock l;
	char p[160];

	snprintf(p, sizeof(p), "%s/absent.pmem", f->dir);
	assert_int_equal(exlock_region(p, O_RDWR, &l, NULL), -ENOENT);
	assert_int_equal(l.fd, -1);
}

static void
a_device_gets_no_pid_record(void **state)
{
	struct exlock l;

	(void)state;
	assert_int_equal(exlock_region("/dev/null", O_RDONLY, &l, NULL), 0);
	assert_string_equal(l.pid_path, "");
	exlock_release(&l);
}

static void
a_holder_is_named_by_its_command_and_pid(void **state)
{
	char who[EXLOCK_WHO_MAX], want[EXLOCK_WHO_MAX], comm[32] = "";
	char path[64];
	pid_t parent = getppid();
	ssize_t n;
	int fd;

	(void)state;
	exlock_who(0, who, sizeof(who));
	assert_string_equal(who, "another process");
	exlock_who(getpid(), who, sizeof(who));
	assert_string_equal(who, "this process");
	/* Our parent (ctest, a shell ...) stands for another holder. */
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)parent);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, comm, sizeof(comm) - 1);
	close(fd);
	assert_true(n > 1);
	comm[n - 1] = '\0';
	snprintf(want, sizeof(want), "%s (pid %d)", comm, (int)parent);
	exlock_who(parent, who, sizeof(who));
	assert_string_equal(who, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			a_second_open_is_refused_and_told_the_holder, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			another_process_holding_the_lock_is_named_until_it_exits,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_lock_file_records_its_holder_in_itself_and_survives_release,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_missing_file_is_an_error_not_a_lock, setup, teardown),
		cmocka_unit_test(a_device_gets_no_pid_record),
		cmocka_unit_test(a_holder_is_named_by_its_command_and_pid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_pintab.c -- unit tests of pin tables (pintab.c) and of holder
 * identity and liveness (holder.c), on real files and real processes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "holder.h"
#include "pintab.h"

struct fixture {
	char dir[64];
	int dirfd;
	bool mounted;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pintab.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dirfd >= 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	DIR *d;
	struct dirent *e;

	if (f->mounted)
		umount2(f->dir, MNT_DETACH);
	d = fdopendir(dup(f->dirfd));
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			unlinkat(f->dirfd, e->d_name, 0);
	if (d)
		closedir(d);
	close(f->dirfd);
	rmdir(f->dir);
	free(f);
	return 0;
}

static struct pintab_holder
holder(uint32_t pid, uint64_t start)
{
	struct pintab_holder h = {
		.pid = pid, .uid = 1000, .start_time = start, .token = 42};

	for (int i = 0; i < 16; i++) {
		h.boot_id[i] = (uint8_t)i;
		h.region_uuid[i] = (uint8_t)(0xa0 + i);
	}
	return h;
}

static struct pin_rec
grant(uint64_t lease, uint64_t fpg, uint64_t rpg, uint32_t order)
{
	return (struct pin_rec){.kind = PIN_GRANT,
				.lease_id = lease,
				.file_pg = fpg,
				.region_pg = rpg,
				.order = order,
				.access = 2};
}

static void
records_written_are_read_back_after_reopen(void **state)
{
	struct fixture *f = *state;
	struct pintab_holder h = holder(1234, 99);
	struct pintab *t;
	struct pin_rec l = {
		.kind = PIN_LEASE, .lease_id = 7, .ino = 3, .access = 1};
	struct pin_rec g = grant(7, 512, 4096, 9), got;
	char name[96];
	int64_t sl, sg;

	assert_int_equal(pintab_create(f->dirfd, &h, 4, &t), 0);
	sl = pintab_add(t, &l);
	sg = pintab_add(t, &g);
	assert_true(sl >= 0 && sg >= 0 && sl != sg);
	snprintf(name, sizeof(name), "%s", pintab_name(t));
	pintab_close(t);

	assert_int_equal(pintab_open(f->dirfd, name, &t), 0);
	assert_int_equal(pintab_count(t), 2);
	assert_memory_equal(pintab_holder(t), &h, sizeof(h));
	assert_true(pintab_get(t, (uint32_t)sl, &got));
	assert_int_equal(got.kind, PIN_LEASE);
	assert_int_equal(got.lease_id, 7);
	assert_int_equal(got.ino, 3);
	assert_int_equal(got.access, 1);
	assert_true(pintab_get(t, (uint32_t)sg, &got));
	assert_int_equal(got.kind, PIN_GRANT);
	assert_int_equal(got.file_pg, 512);
	assert_int_equal(got.region_pg, 4096);
	assert_int_equal(got.order, 9);
	pintab_remove(t);
	assert_int_equal(faccessat(f->dirfd, name, F_OK, 0), -1);
}

static void
a_table_is_named_after_region_pid_start_time_and_token(void **state)
{
	struct fixture *f = *state;
	struct pintab_holder h = holder(77, 123456);
	struct pintab *t, *t2;
	char name[96];
	struct stat st;

	pintab_file_name(&h, name, sizeof(name));
	assert_string_equal(name, "a0a1a2a3-a4a5-a6a7-a8a9-aaabacadaeaf-77-"
				  "123456-000000000000002a.pins");
	assert_int_equal(pintab_create(f->dirfd, &h, 1, &t), 0);
	assert_string_equal(pintab_name(t), name);
	assert_int_equal(fstatat(f->dirfd, name, &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* A second table for the same holder is refused, not merged. */
	assert_int_equal(pintab_create(f->dirfd, &h, 1, &t2), -EEXIST);
	pintab_remove(t);
}

static void
freed_slots_are_reused_and_the_table_grows(void **state)
{
	struct fixture *f = *state;
	struct pintab_holder h = holder(5, 5);
	struct pintab *t;
	struct pin_rec g = grant(1, 0, 0, 0), got;

	assert_int_equal(pintab_create(f->dirfd, &h, 2, &t), 0);
	for (int i = 0; i < 5; i++) {
		g.file_pg = (uint64_t)i;
		assert_int_equal(pintab_add(t, &g), i);
	}
	assert_true(pintab_slots(t) >= 5);
	assert_int_equal(pintab_count(t), 5);
	pintab_del(t, 1);
	pintab_del(t, 3);
	pintab_del(t, 3); /* twice is harmless */
	assert_int_equal(pintab_count(t), 3);
	assert_false(pintab_get(t, 1, &got));
	/* The last freed first: its line is still in the cache. */
	assert_int_equal(pintab_add(t, &g), 3);
	assert_int_equal(pintab_add(t, &g), 1);
	assert_true(pintab_get(t, 4, &got));
	assert_int_equal(got.file_pg, 4);
	pintab_remove(t);
}

static void
a_slot_whose_word_was_not_written_reads_as_free(void **state)
{
	struct fixture *f = *state;
	struct pintab_holder h = holder(6, 6);
	struct pintab *t;
	uint64_t payload[3] = {9, 9, 9};
	char name[96];

	assert_int_equal(pintab_create(f->dirfd, &h, 4, &t), 0);
	assert_int_equal(pintab_add(t, &(struct pin_rec){.kind = PIN_LEASE,
							 .lease_id = 1}),
			 0);
	snprintf(name, sizeof(name), "%s", pintab_name(t));
	pintab_close(t);
	/* A kill between the payload stores and the word: slot 1 holds a
	 * payload with a zero word. */
	{
		int fd = openat(f->dirfd, name, O_RDWR);

		assert_true(fd >= 0);
		assert_int_equal(
			pwrite(fd, payload, sizeof(payload),
			       PINTAB_HEADER_SIZE + PINTAB_SLOT_SIZE + 8),
			sizeof(payload));
		close(fd);
	}
	assert_int_equal(pintab_open(f->dirfd, name, &t), 0);
	assert_int_equal(pintab_count(t), 1);
	assert_int_equal(pintab_add(t, &(struct pin_rec){.kind = PIN_LEASE,
							 .lease_id = 2}),
			 1);
	pintab_remove(t);
}

static void
a_damaged_table_is_refused_not_guessed(void **state)
{
	struct fixture *f = *state;
	struct pintab_holder h = holder(8, 8);
	struct pintab *t;
	uint64_t junk = 0x1122334455667788ull;
	char name[96];
	int fd;

	assert_int_equal(pintab_create(f->dirfd, &h, 4, &t), 0);
	snprintf(name, sizeof(name), "%s", pintab_name(t));
	pintab_close(t);
	fd = openat(f->dirfd, name, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(
		pwrite(fd, &junk, 8, PINTAB_HEADER_SIZE + 2 * PINTAB_SLOT_SIZE),
		8);
	assert_int_equal(pintab_open(f->dirfd, name, &t), -EUCLEAN);
	/* A bad header is refused too. */
	assert_int_equal(pwrite(fd, "XXXXXXXX", 8, 0), 8);
	assert_int_equal(pintab_open(f->dirfd, name, &t), -EINVAL);
	assert_int_equal(ftruncate(fd, 100), 0);
	assert_int_equal(pintab_open(f->dirfd, name, &t), -EINVAL);
	close(fd);
	assert_int_equal(pintab_open(f->dirfd, "absent.pins", &t), -ENOENT);
}

static void
a_full_tmpfs_refuses_growth_cleanly(void **state)
{
	struct fixture *f = *state;
	struct pintab_holder h = holder(9, 9);
	struct pintab *t;
	struct pin_rec g = grant(1, 0, 0, 0);
	int64_t r = 0;
	int n = 0;

	if (geteuid() != 0 ||
	    mount("tmpfs", f->dir, "tmpfs", 0, "size=64k,mode=0700") < 0)
		skip();
	f->mounted = true;
	close(f->dirfd);
	f->dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(f->dirfd >= 0);
	assert_int_equal(pintab_create(f->dirfd, &h, 16, &t), 0);
	/* 64 KiB hold the header and fewer than 2048 slots: adding must
	 * stop with -ENOSPC, and every slot given before stays readable
	 * (a store into an unreserved tmpfs page would raise SIGBUS). */
	while ((r = pintab_add(t, &g)) >= 0)
		n++;
	assert_int_equal(r, -ENOSPC);
	assert_true(n >= 16 && n < 2048);
	assert_int_equal(pintab_count(t), (uint32_t)n);
	for (uint32_t s = 0; s < (uint32_t)n; s++) {
		struct pin_rec got;

		assert_true(pintab_get(t, s, &got));
	}
	pintab_del(t, 0);
	assert_int_equal(pintab_add(t, &g), 0);
	pintab_remove(t);
}

static void
boot_id_is_sixteen_bytes_and_stable(void **state)
{
	uint8_t a[16], b[16], zero[16] = {0};

	(void)state;
	assert_int_equal(holder_boot_id(a), 0);
	assert_int_equal(holder_boot_id(b), 0);
	assert_memory_equal(a, b, 16);
	assert_memory_not_equal(a, zero, 16);
}

static void
a_live_process_is_alive_only_with_its_own_start_time(void **state)
{
	int p[2];
	pid_t pid;
	uint64_t st;
	int pidfd;
	char c;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[1]);
		(void)!read(p[0], &c, 1); /* until the parent closes */
		_exit(0);
	}
	close(p[0]);
	assert_int_equal(holder_start_time(pid, &st), 0);
	assert_int_equal(holder_check(pid, st, &pidfd), HOLDER_ALIVE);
	assert_true(pidfd >= 0);
	close(pidfd);
	/* A holder whose start time could not be read when it connected
	 * (recorded as 0) cannot be told from a recycled pid: its pins are
	 * kept, and its exit is still watched. */
	assert_int_equal(holder_check(pid, 0, &pidfd), HOLDER_UNKNOWN);
	assert_true(pidfd >= 0);
	close(pidfd);
	/* The same pid with another start time is another process: the
	 * pins of a holder whose pid was recycled are not kept. */
	assert_int_equal(holder_check(pid, st + 1, &pidfd), HOLDER_GONE);
	assert_int_equal(pidfd, -1);

	close(p[1]);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	assert_int_equal(holder_check(pid, st, &pidfd), HOLDER_GONE);
	assert_int_equal(holder_start_time(pid, &st), -ESRCH);
}

static void
an_exited_unreaped_process_is_gone(void **state)
{
	pid_t pid;
	uint64_t st;
	int pidfd;
	struct pollfd pf;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	/* A zombie still has its /proc entry and start time; its pidfd is
	 * readable: gone. Wait for the exit through a pidfd, no sleep. */
	assert_int_equal(holder_start_time(pid, &st), 0);
	pf.fd = (int)syscall(SYS_pidfd_open, pid, 0);
	pf.events = POLLIN;
	assert_true(pf.fd >= 0);
	assert_int_equal(poll(&pf, 1, 10000), 1);
	close(pf.fd);
	assert_int_equal(holder_check(pid, st, &pidfd), HOLDER_GONE);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void
a_grant_keeps_its_word_slot_and_generation(void **state)
{
	struct fixture *f = *state;
	struct pintab_holder h = holder(1235, 99);
	struct pintab *t;
	struct pin_rec g = grant(7, 512, 4096, 9), got;
	char name[96];
	int64_t sg;

	g.wslot = 77;
	g.wgen = 0xfffffffeu;
	g.words_id = 0x1122334455667788ull;
	assert_int_equal(pintab_create(f->dirfd, &h, 4, &t), 0);
	sg = pintab_add(t, &g);
	assert_true(sg >= 0);
	snprintf(name, sizeof(name), "%s", pintab_name(t));
	pintab_close(t);
	assert_int_equal(pintab_open(f->dirfd, name, &t), 0);
	assert_true(pintab_get(t, (uint32_t)sg, &got));
	assert_int_equal(got.wslot, 77);
	assert_int_equal(got.wgen, 0xfffffffeu);
	assert_int_equal(got.words_id, 0x1122334455667788ull);
	assert_int_equal(got.file_pg, 512);
	pintab_remove(t);
}

/* v1_slot -- a version 1 slot (32 bytes, no word) at @i of @fd. */
static void
v1_slot(int fd, uint32_t i, uint64_t word, uint64_t lease, uint64_t x,
	uint64_t y)
{
	uint64_t s[4] = {word, lease, x, y};

	assert_int_equal(pwrite(fd, s, sizeof(s), PINTAB_HEADER_SIZE + i * 32),
			 sizeof(s));
}

static void
a_version_1_table_is_read_and_its_grants_have_no_word(void **state)
{
	struct fixture *f = *state;
	struct pintab_holder h = holder(1236, 99);
	const uint64_t magic = (uint64_t)0x50494e31u << 32;
	struct pintab *t;
	struct pin_rec got, g = grant(7, 1024, 8192, 0);
	uint32_t v1[2] = {1, 32}; /* version, slot_size */
	char name[96];
	int64_t s;
	int fd;

	assert_int_equal(pintab_create(f->dirfd, &h, 4, &t), 0);
	snprintf(name, sizeof(name), "%s", pintab_name(t));
	pintab_close(t);
	fd = openat(f->dirfd, name, O_RDWR);
	assert_true(fd >= 0);
	/* What a daemon of the first format left: 4 slots of 32 bytes. */
	assert_int_equal(ftruncate(fd, PINTAB_HEADER_SIZE + 4 * 32), 0);
	assert_int_equal(pwrite(fd, &v1[0], 4, 8), 4);
	assert_int_equal(pwrite(fd, &v1[1], 4, 16), 4);
	v1_slot(fd, 0, magic | (uint64_t)PIN_LEASE << 24 | 2, 7, 3, 0);
	v1_slot(fd, 1, magic | (uint64_t)PIN_GRANT << 24 | 9 << 16 | 2, 7, 512,
		4096);
	assert_int_equal(pintab_open(f->dirfd, name, &t), 0);
	assert_int_equal(pintab_count(t), 2);
	assert_true(pintab_get(t, 1, &got));
	assert_int_equal(got.kind, PIN_GRANT);
	assert_int_equal(got.file_pg, 512);
	assert_int_equal(got.region_pg, 4096);
	assert_int_equal(got.order, 9);
	assert_int_equal(got.wgen, 0);
	/* A grant added to it has no room for its word: restored without. */
	g.wslot = 3;
	g.wgen = 5;
	s = pintab_add(t, &g);
	assert_true(s >= 2);
	assert_true(pintab_get(t, (uint32_t)s, &got));
	assert_int_equal(got.file_pg, 1024);
	assert_int_equal(got.wgen, 0);
	pintab_close(t);
	/* The record lies whole at its 32-byte place. */
	assert_int_equal(pintab_open(f->dirfd, name, &t), 0);
	assert_int_equal(pintab_count(t), 3);
	assert_true(pintab_get(t, (uint32_t)s, &got));
	assert_int_equal(got.region_pg, 8192);
	pintab_remove(t);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			records_written_are_read_back_after_reopen, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_table_is_named_after_region_pid_start_time_and_token, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			freed_slots_are_reused_and_the_table_grows, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_slot_whose_word_was_not_written_reads_as_free, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_damaged_table_is_refused_not_guessed, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_full_tmpfs_refuses_growth_cleanly, setup, teardown),
		cmocka_unit_test_setup_teardown(
			a_grant_keeps_its_word_slot_and_generation, setup,
			teardown),
		cmocka_unit_test_setup_teardown(
			a_version_1_table_is_read_and_its_grants_have_no_word,
			setup, teardown),
		cmocka_unit_test(boot_id_is_sixteen_bytes_and_stable),
		cmocka_unit_test(
			a_live_process_is_alive_only_with_its_own_start_time),
		cmocka_unit_test(an_exited_unreaped_process_is_gone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

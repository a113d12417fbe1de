/* test_api.c -- libpagemap's public conventions against a real daemon:
 * versions, records that carry their size and strings in one allocation,
 * the timeout convention of the administrative calls, recall reasons as
 * an enum, mapping addresses by file offset, and connect failures that
 * say the path and the reason. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"
#include "pagemap.h"

#define MiB (1ull << 20)
#define WAIT_MS 30000

#define STR_(x) #x
#define STR(x) STR_(x)

struct fixture {
	struct daemon d;
	char spec[PATH_MAX + 64];
	struct pagemap *pm;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *args[] = {"--region", f->spec, NULL};

	daemon_init(&f->d);
	snprintf(f->spec, sizeof(f->spec), "r=%s/r.pmem,size=16M,create",
		 f->d.dir);
	*state = f;
	if (daemon_start(&f->d, args, NULL))
		return -1;
	return pagemap_connect(f->d.socket, "apitest", &f->pm) ? -1 : 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int st;

	pagemap_close(f->pm);
	st = daemon_cleanup(&f->d);
	free(f);
	return st == 0 ? 0 : -1;
}

static void
header_version_is_the_project_version_and_the_library_s(void **state)
{
	(void)state;
	/* PAGEMAP_PROJECT_VERSION is CMake's project(VERSION). */
	assert_string_equal(
		STR(PAGEMAP_VERSION_MAJOR) "." STR(
			PAGEMAP_VERSION_MINOR) "." STR(PAGEMAP_VERSION_PATCH),
		PAGEMAP_PROJECT_VERSION);
	assert_string_equal(pagemap_version(), PAGEMAP_PROJECT_VERSION);
}

static void
connect_failure_names_the_path_and_the_reason(void **state)
{
	struct pagemap *pm = NULL;
	struct fixture *f = *state;

	assert_int_equal(pagemap_connect("/nonexistent/pm.sock", NULL, &pm),
			 -ENOENT);
	assert_null(pm);
	assert_string_equal(pagemap_last_message(NULL),
			    "connect /nonexistent/pm.sock: No such file or "
			    "directory (is pagemapd running?)");
	/* a successful connect clears it */
	assert_int_equal(pagemap_connect(f->d.socket, NULL, &pm), 0);
	assert_string_equal(pagemap_last_message(NULL), "");
	pagemap_close(pm);
}

static void
records_carry_their_size_and_free_in_one_call(void **state)
{
	struct fixture *f = *state;
	struct pagemap_status *st;
	struct pagemap_file_info *fi, **files;
	struct pagemap_region_info **regions;
	size_t n;

	assert_int_equal(pagemap_get_limits(f->pm)->struct_size,
			 sizeof(struct pagemap_limits));
	assert_int_equal(pagemap_status(f->pm, &st), 0);
	assert_int_equal(st->struct_size, sizeof(*st));
	assert_non_null(strstr(st->server, "pagemapd"));
	pagemap_free(st);
	assert_int_equal(pagemap_file_create(f->pm, "r", "a", MiB, -1, &fi), 0);
	assert_int_equal(fi->struct_size, sizeof(*fi));
	assert_string_equal(fi->region, "r");
	assert_string_equal(fi->name, "a");
	pagemap_free(fi);
	assert_int_equal(pagemap_file_create(f->pm, "r", "b", MiB, -1, NULL),
			 0);
	assert_int_equal(pagemap_file_list(f->pm, "r", &files, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(files[i]->struct_size, sizeof(*files[i]));
		assert_true(!strcmp(files[i]->name, "a") ||
			    !strcmp(files[i]->name, "b"));
	}
	pagemap_free(files);
	assert_int_equal(pagemap_region_list(f->pm, &regions, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(regions[0]->name, "r");
	assert_string_equal(regions[0]->state, "attached");
	pagemap_free(regions);
	pagemap_free(NULL);
}

static void
mapping_addresses_follow_file_offsets(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	char *base;

	assert_int_equal(pagemap_file_create(f->pm, "r", "m", MiB, -1, NULL),
			 0);
	assert_int_equal(
		pagemap_lease_acquire(f->pm, "r", "m", PAGEMAP_WRITE, &l), 0);
	assert_int_equal(pagemap_map(l, 4096 + 100, 8192, PAGEMAP_WRITE, &m),
			 0);
	base = pagemap_mapping_addr(m);
	/* [4196, 12388) rounds out to [4096, 16384) */
	assert_int_equal(pagemap_mapping_offset(m), 4096);
	assert_int_equal(pagemap_mapping_length(m), 3 * 4096);
	assert_ptr_equal(pagemap_mapping_data(m), base + 100);
	assert_ptr_equal(pagemap_mapping_at(m, 4096), base);
	assert_ptr_equal(pagemap_mapping_at(m, 4 * 4096 - 1),
			 base + 3 * 4096 - 1);
	assert_null(pagemap_mapping_at(m, 4095));
	assert_null(pagemap_mapping_at(m, 4 * 4096));
	assert_null(pagemap_mapping_at(NULL, 0));
	assert_int_equal(pagemap_unmap(m), 0);
	assert_int_equal(pagemap_lease_release(l), 0);
}

struct seen {
	int calls;
	enum pagemap_recall_reason reason;
};

static void
note_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t lease_id,
	    uint64_t offset, uint64_t length, enum pagemap_recall_reason reason,
	    void *arg)
{
	struct seen *s = arg;

	(void)pm;
	(void)l;
	(void)lease_id;
	(void)offset;
	(void)length;
	s->calls++;
	s->reason = reason;
}

static void
timeout_0_starts_the_operation_and_does_not_wait(void **state)
{
	struct fixture *f = *state;
	struct pagemap *admin;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	struct pagemap_file_info *fi;
	struct seen s = {0};

	assert_int_equal(pagemap_file_create(f->pm, "r", "t", MiB, -1, NULL),
			 0);
	assert_int_equal(
		pagemap_lease_acquire(f->pm, "r", "t", PAGEMAP_READ, &l), 0);
	assert_int_equal(pagemap_map(l, 0, MiB, PAGEMAP_READ, &m), 0);
	pagemap_set_recall_handler(f->pm, note_recall, &s);
	assert_int_equal(pagemap_connect(f->d.socket, "admin", &admin), 0);
	assert_int_equal(pagemap_file_truncate(admin, "r", "t", 0, 0, NULL),
			 -ETIMEDOUT);
	assert_int_equal(pagemap_lease_revoke(admin, pagemap_lease_id(l), 0),
			 -ETIMEDOUT);
	/* the recalls stay in force: the holder is asked */
	while (s.calls == 0)
		assert_true(pagemap_wait(f->pm, WAIT_MS) > 0);
	assert_true(s.reason == PAGEMAP_RECALL_TRUNCATE ||
		    s.reason == PAGEMAP_RECALL_REVOKE);
	assert_int_equal(pagemap_unmap(m), 0);
	/* and the truncate completed at the final return: a one-way Taken,
	 * which the daemon handles before the holder's next request (asked
	 * on the holder's own connection, so it comes after it) */
	assert_int_equal(pagemap_file_stat(f->pm, "r", "t", &fi), 0);
	assert_int_equal(fi->size, 0);
	pagemap_free(fi);
	/* < 0 waits for ever: nothing to wait for here */
	assert_int_equal(pagemap_file_truncate(admin, "r", "t", 8192, -1, NULL),
			 0);
	pagemap_close(admin);
	assert_int_equal(pagemap_lease_release(l), 0);
}

static void
recall_reasons_have_names(void **state)
{
	(void)state;
	assert_string_equal(pagemap_recall_reason_name(PAGEMAP_RECALL_REVOKE),
			    "revoke");
	assert_string_equal(pagemap_recall_reason_name(PAGEMAP_RECALL_TRUNCATE),
			    "truncate");
	assert_string_equal(pagemap_recall_reason_name(PAGEMAP_RECALL_UNLINK),
			    "unlink");
	assert_string_equal(pagemap_recall_reason_name(PAGEMAP_RECALL_DETACH),
			    "detach");
	assert_string_equal(pagemap_recall_reason_name(PAGEMAP_RECALL_SHUTDOWN),
			    "shutdown");
	assert_string_equal(pagemap_recall_reason_name(PAGEMAP_RECALL_OTHER),
			    "other");
	assert_string_equal(
		pagemap_recall_reason_name((enum pagemap_recall_reason)99),
		"other");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
			header_version_is_the_project_version_and_the_library_s),
		cmocka_unit_test(recall_reasons_have_names),
		T(connect_failure_names_the_path_and_the_reason),
		T(records_carry_their_size_and_free_in_one_call),
		T(mapping_addresses_follow_file_offsets),
		T(timeout_0_starts_the_operation_and_does_not_wait),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_failed.c -- a region whose persist failed goes read-only, loudly,
 * and the daemon keeps serving: a real daemon with an injected fault. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fdcheck.h"
#include "harness.h"

#define BIG 65536

static char out[BIG], err[BIG];

static int
setup(void **state)
{
	struct daemon *d = daemon_setup(state, sizeof(*d), NULL);

	return d ? 0 : -1;
}

/* count -- occurrences of @needle in the daemon's log. */
static int
count(const struct daemon *d, const char *needle)
{
	FILE *f = fopen(d->log, "r");
	char line[4096];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

/* restart_with_fault -- stop @d and start it again over the same region
 * with $PAGEMAPD_FAULT=@fault (armed once the region is attached). */
static void
restart_with_fault(struct daemon *d, const char *fault)
{
	char spec[PATH_MAX + 64], env[64];
	const char *args[] = {"--region", spec, NULL};
	const char *envv[] = {env, NULL};

	assert_int_equal(daemon_stop(d), 0);
	snprintf(spec, sizeof(spec), "r=%s,size=64M,create", d->region);
	snprintf(env, sizeof(env), "PAGEMAPD_FAULT=%s", fault);
	assert_int_equal(daemon_start(d, args, envv), 0);
}

/* The first persist after start fails inside `file create`: the client
 * gets EIO, the region is failed (read-only) and said so once at error
 * level, reads and listings work, writes are refused with a message that
 * says what to do; the daemon serves on, detaches the region, and fsck
 * finds it clean. */
static void
failed_persist_makes_the_region_read_only_and_the_daemon_serves_on(
	void **state)
{
	struct daemon *d = *state;
	char path[PATH_MAX + 8];

	assert_int_equal(ctl(d, out, BIG, err, BIG, "file", "create", "r/a",
			     "--size", "1M", NULL),
			 0);
	restart_with_fault(d, "sync:1");

	assert_int_not_equal(ctl(d, out, BIG, err, BIG, "file", "create",
				 "r/b", "--size", "1M", NULL),
			     0);
	assert_non_null(strstr(err, "Input/output error"));
	assert_non_null(strstr(err, "fsck"));
	assert_int_equal(ctl(d, out, BIG, err, BIG, "--json", "region", "ls",
			     NULL),
			 0);
	assert_non_null(strstr(out, "\"state\": \"failed\""));
	assert_int_equal(ctl(d, out, BIG, err, BIG, "region", "ls", NULL), 0);
	assert_non_null(strstr(out, " failed "));
	assert_int_equal(ctl(d, out, BIG, err, BIG, "status", NULL), 0);
	assert_int_equal(ctl(d, out, BIG, err, BIG, "file", "ls", "r", NULL),
			 0);
	assert_non_null(strstr(out, "a"));
	assert_int_equal(ctl(d, out, BIG, err, BIG, "read", "r/a", "--length",
			     "4096", NULL),
			 0);

	/* Changes are refused, saying why and what to do. */
	assert_int_not_equal(ctl(d, out, BIG, err, BIG, "file", "create",
				 "r/c", "--size", "4K", NULL),
			     0);
	assert_non_null(strstr(err, "failed after a write error"));
	assert_non_null(strstr(err, "fsck"));
	assert_int_not_equal(ctl(d, out, BIG, err, BIG, "file", "truncate",
				 "r/a", "0", NULL),
			     0);
	assert_non_null(strstr(err, "failed after a write error"));
	assert_int_not_equal(ctl(d, out, BIG, err, BIG, "file", "rm", "r/a",
				 NULL),
			     0);
	assert_non_null(strstr(err, "failed after a write error"));
	assert_int_not_equal(ctl(d, out, BIG, err, BIG, "hold", "r/a", "--rw",
				 NULL),
			     0);
	assert_non_null(strstr(err, "failed after a write error"));

	/* Loudly, once. */
	assert_int_equal(count(d, "failed after a write error"), 1);
	assert_true(daemon_log_contains(d, "error"));

	assert_int_equal(ctl(d, out, BIG, err, BIG, "region", "detach", "r",
			     NULL),
			 0);
	assert_int_equal(ctl(d, out, BIG, err, BIG, "status", NULL), 0);
	snprintf(path, sizeof(path), "%s", d->region);
	assert_int_equal(ctl(d, out, BIG, err, BIG, "fsck", path, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			failed_persist_makes_the_region_read_only_and_the_daemon_serves_on,
			setup, daemon_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

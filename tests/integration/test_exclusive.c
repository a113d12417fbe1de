/* test_exclusive.c -- one daemon per region file and per socket, and no
 * tool writing to a served region: real daemons started twice over the
 * same file or socket, fsck on a served region. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "fdcheck.h"
#include "harness.h"

#define BIG 65536

static char out[BIG], err[BIG];

struct fixture {
	struct daemon d;      /* first: daemon_teardown() frees through it */
	struct daemon second; /* a second daemon some tests start */
};

static int
setup(void **state)
{
	struct fixture *f = daemon_setup(state, sizeof(*f), NULL);

	return f ? 0 : -1;
}

/* teardown -- the second daemon, if any, then the fixture's. */
static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f->second.dir[0])
		daemon_cleanup(&f->second);
	return daemon_teardown(state);
}

/* slurp -- the whole file at @path (malloc'ed, *ret_len bytes and a
 * NUL). */
static char *
slurp(const char *path, size_t *ret_len)
{
	struct stat st;
	char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got,
				  (off_t)got);

		assert_true(n > 0);
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*ret_len = got;
	return buf;
}

/* assert_same_bytes -- @path still holds exactly @before (@len bytes). */
static void
assert_same_bytes(const char *path, const char *before, size_t len)
{
	size_t now_len;
	char *now = slurp(path, &now_len);

	assert_int_equal(now_len, len);
	if (memcmp(now, before, len) != 0)
		fail_msg("%s changed while another daemon served it", path);
	free(now);
}

/* assert_serves -- daemon @d still creates and stats a file named @name. */
static void
assert_serves(const struct daemon *d, const char *name)
{
	assert_int_equal(ctl(d, NULL, 0, err, sizeof(err), "file", "create",
			     name, "--size", "64K", NULL),
			 0);
	assert_int_equal(ctl(d, out, sizeof(out), err, sizeof(err), "--bytes",
			     "file", "stat", name, NULL),
			 0);
	assert_non_null(strstr(out, "65536"));
}

/* expect_log -- the daemon's stderr has a line with @fmt, formatted. */
static void expect_log(const struct daemon *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
expect_log(const struct daemon *d, const char *fmt, ...)
{
	char needle[PATH_MAX + 128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(needle, sizeof(needle), fmt, ap);
	va_end(ap);
	if (!daemon_log_contains(d, needle))
		fail_msg("the log of %s does not say \"%s\"", d->log, needle);
}

static void
second_daemon_on_a_served_region_file_refuses_and_writes_nothing(void **state)
{
	struct fixture *f = *state;
	char spec[PATH_MAX + 64], lockfile[PATH_MAX + 16], meta[PATH_MAX + 8];
	const char *args[] = {"--region", spec, NULL};
	size_t len, mlen;
	char *before, *mbefore;

	assert_serves(&f->d, "r/first");
	snprintf(meta, sizeof(meta), "%s.meta", f->d.region);
	before = slurp(f->d.region, &len);
	mbefore = slurp(meta, &mlen);

	/* Another socket, the same region file; `create` must not make it
	 * format or fill anything either. */
	daemon_init(&f->second);
	snprintf(spec, sizeof(spec), "other=%s,size=64M,create", f->d.region);
	assert_int_equal(daemon_start(&f->second, args, NULL), -1);
	assert_int_not_equal(f->second.exit_status, 0);
	expect_log(&f->second,
		   "region file %s is in use by another pagemapd (pid %d)",
		   f->d.region, (int)f->d.pid);
	assert_same_bytes(f->d.region, before, len);
	assert_same_bytes(meta, mbefore, mlen);
	free(before);
	free(mbefore);

	/* The pid record beside the metadata file names the first
	 * daemon. */
	snprintf(lockfile, sizeof(lockfile), "%s.meta.lock", f->d.region);
	{
		size_t n;
		char *pid = slurp(lockfile, &n);

		assert_int_equal(atoi(pid), f->d.pid);
		free(pid);
	}
	assert_serves(&f->d, "r/second");
	assert_int_equal(ctl(&f->d, out, sizeof(out), err, sizeof(err), "file",
			     "stat", "r/first", NULL),
			 0);
}

static void
second_daemon_on_a_served_socket_refuses_before_any_region(void **state)
{
	struct fixture *f = *state;
	char spec[PATH_MAX + 64], mine[PATH_MAX + 64];
	const char *args[] = {"--region", spec, "--region", mine, NULL};
	size_t len;
	char *before;

	before = slurp(f->d.region, &len);
	daemon_init(&f->second);
	/* The same socket; its own new region first, then the served one. */
	snprintf(f->second.socket, sizeof(f->second.socket), "%s", f->d.socket);
	snprintf(mine, sizeof(mine), "mine=%s/mine.pmem,size=64M,create",
		 f->second.dir);
	snprintf(spec, sizeof(spec), "r=%s", f->d.region);
	assert_int_equal(daemon_start(&f->second, args, NULL), -1);
	assert_int_not_equal(f->second.exit_status, 0);
	expect_log(&f->second,
		   "socket %s is in use by another pagemapd (pid %d)",
		   f->d.socket, (int)f->d.pid);
	/* Refused before it touched any region: its own was not made. */
	snprintf(mine, sizeof(mine), "%s/mine.pmem", f->second.dir);
	assert_int_equal(access(mine, F_OK), -1);
	assert_same_bytes(f->d.region, before, len);
	free(before);
	/* The socket file is still the first daemon's, and it serves. */
	assert_int_equal(access(f->d.socket, F_OK), 0);
	assert_serves(&f->d, "r/still");
}

static void
region_attach_of_a_file_another_daemon_serves_is_refused(void **state)
{
	struct fixture *f = *state;
	const char *regions[] = {"s=s.pmem,size=64M,create", NULL};
	char alias[PATH_MAX + 8];
	size_t len;
	char *before;

	before = slurp(f->d.region, &len);
	assert_int_equal(daemon_start_regions(&f->second, regions), 0);
	assert_int_not_equal(ctl(&f->second, out, sizeof(out), err, sizeof(err),
				 "region", "attach", "r2", f->d.region, NULL),
			     0);
	if (!strstr(err, "in use by another pagemapd"))
		fail_msg("unexpected error: %s", err);
	assert_same_bytes(f->d.region, before, len);
	free(before);
	assert_serves(&f->second, "s/fine");
	assert_serves(&f->d, "r/fine");

	/* Its own file under another name is no second owner either. */
	snprintf(alias, sizeof(alias), "%s/./r.pmem", f->d.dir);
	assert_int_not_equal(ctl(&f->d, out, sizeof(out), err, sizeof(err),
				 "region", "attach", "r3", alias, NULL),
			     0);
	if (!strstr(err, "already attached by this pagemapd"))
		fail_msg("unexpected error: %s", err);
	assert_serves(&f->d, "r/again");
}

/* json_field -- the value of @key in the JSON document @doc (parsed). */
static json_object *
json_field(json_object *doc, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(doc, key, &v))
		fail_msg("no field %s in %s", key,
			 json_object_to_json_string(doc));
	return v;
}

static void
fsck_refuses_a_served_region_unless_live(void **state)
{
	struct fixture *f = *state;
	const char *plain[] = {PAGEMAPCTL_BIN, "fsck", f->d.region, NULL};
	const char *live[] = {PAGEMAPCTL_BIN, "fsck", "--live", f->d.region,
			      NULL};
	const char *json[] = {PAGEMAPCTL_BIN, "--json",	   "fsck",
			      "--live",	      f->d.region, NULL};
	char pid[32];
	json_object *j;

	assert_serves(&f->d, "r/checked");
	snprintf(pid, sizeof(pid), "pid %d", (int)f->d.pid);

	assert_int_not_equal(
		run(plain, NULL, out, sizeof(out), err, sizeof(err)), 0);
	if (!strstr(err, "in use by another pagemapd") || !strstr(err, pid) ||
	    !strstr(err, "--live"))
		fail_msg("unexpected refusal: %s", err);
	assert_null(strstr(out, "clean"));

	assert_int_equal(run(live, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_non_null(strstr(out, "clean"));
	if (!strstr(out, "stale") || !strstr(out, pid))
		fail_msg("--live does not say the result may be stale: %s",
			 out);

	assert_int_equal(run(json, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	j = json_tokener_parse(out);
	assert_non_null(j);
	assert_true(json_object_get_boolean(json_field(j, "stale")));
	assert_int_equal(json_object_get_int(json_field(j, "holder_pid")),
			 f->d.pid);
	assert_true(json_object_get_boolean(json_field(j, "clean")));
	assert_int_equal(json_object_get_int(json_field(j, "files")), 1);
	json_object_put(j);

	/* Nobody serves it: a plain fsck checks, nothing is stale. */
	assert_int_equal(daemon_stop(&f->d), 0);
	assert_int_equal(run(plain, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_null(strstr(out, "stale"));
	json[3] = f->d.region;
	json[4] = NULL;
	assert_int_equal(run(json, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	j = json_tokener_parse(out);
	assert_non_null(j);
	assert_false(json_object_get_boolean(json_field(j, "stale")));
	json_object_put(j);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(second_daemon_on_a_served_region_file_refuses_and_writes_nothing),
		T(second_daemon_on_a_served_socket_refuses_before_any_region),
		T(region_attach_of_a_file_another_daemon_serves_is_refused),
		T(fsck_refuses_a_served_region_unless_live),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

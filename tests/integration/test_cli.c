/* test_cli.c -- a real daemon driven by the real pagemapctl: regions and
 * files, JSON output, permissions, restarts, kill -9, corruption. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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
#include <json-c/json.h>

#include "clock.h"
#include "ctljson.h"
#include "fdcheck.h"
#include "harness.h"
#include "layout.h"
#include "pagemap.h"

#define BIG 65536

static char out[BIG], err[BIG];

struct fixture {
	struct daemon d; /* first: daemon_teardown() frees through it */
};

static int
setup(void **state)
{
	struct fixture *f = daemon_setup(state, sizeof(*f), NULL);

	return f ? 0 : -1;
}

/* json_ctl -- run pagemapctl --json ARGS, expect success, parse stdout. */
static json_object *
json_ctl(struct fixture *f, ...)
{
	const char *argv[32] = {"--json"};
	va_list ap;
	int n = 1, rv;

	va_start(ap, f);
	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	assert_true(n < 13);
	rv = ctl(&f->d, out, sizeof(out), err, sizeof(err), argv[0], argv[1],
		 argv[2], argv[3], argv[4], argv[5], argv[6], argv[7], argv[8],
		 argv[9], argv[10], argv[11], argv[12], NULL);
	return jparse(rv, out, err);
}

static void
status_reports_the_daemon_and_its_limits(void **state)
{
	struct fixture *f = *state;
	json_object *j = json_ctl(f, "status", NULL);

	assert_int_equal(jint(j, "regions"), 1);
	assert_int_equal(jint(j, "pid"), f->d.pid);
	assert_true(jint(jget(j, "limits"), "max_packet") >= 4096);
	json_object_put(j);
	assert_int_equal(ctl(&f->d, out, sizeof(out), NULL, 0, "status", NULL),
			 0);
	assert_non_null(strstr(out, "regions: 1"));
}

static void
region_ls_and_info_describe_the_region(void **state)
{
	struct fixture *f = *state;
	json_object *j = json_ctl(f, "region", "ls", NULL);
	json_object *r = json_object_array_get_idx(jget(j, "regions"), 0);

	assert_int_equal(json_object_array_length(jget(j, "regions")), 1);
	assert_string_equal(jstr(r, "name"), "r");
	assert_string_equal(jstr(r, "kind"), "file");
	assert_string_equal(jstr(r, "path"), f->d.region);
	assert_int_equal(jint(r, "size"), 64 << 20);
	assert_int_equal(jint(r, "max_order"), 9);
	assert_int_equal(jint(r, "used") + jint(r, "free"),
			 jint(r, "data_size"));
	json_object_put(j);
	assert_int_equal(ctl(&f->d, out, sizeof(out), NULL, 0, "region", "info",
			     "r", NULL),
			 0);
	assert_non_null(strstr(out, "name: r"));
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "region", "info",
			     "nope", NULL),
			 1);
	assert_non_null(strstr(err, "nope"));
}

static void
list_and_show_are_aliases_of_ls_info_and_stat(void **state)
{
	struct fixture *f = *state;
	static char a[BIG], b[BIG];

	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create", "r/a",
			     "--size", "1M", NULL),
			 0);
	assert_int_equal(
		ctl(&f->d, a, sizeof(a), NULL, 0, "file", "ls", "r", NULL), 0);
	assert_int_equal(
		ctl(&f->d, b, sizeof(b), NULL, 0, "file", "list", "r", NULL),
		0);
	assert_string_equal(a, b);
	assert_int_equal(ctl(&f->d, a, sizeof(a), NULL, 0, "--json", "file",
			     "stat", "r/a", NULL),
			 0);
	assert_int_equal(ctl(&f->d, b, sizeof(b), NULL, 0, "--json", "file",
			     "show", "r/a", NULL),
			 0);
	assert_string_equal(a, b);
	assert_int_equal(
		ctl(&f->d, b, sizeof(b), NULL, 0, "region", "show", "r", NULL),
		0);
	assert_non_null(strstr(b, "max_order"));
	assert_int_equal(
		ctl(&f->d, b, sizeof(b), NULL, 0, "lease", "list", NULL), 0);
	/* An alias of another group is no alias here. */
	assert_int_equal(
		ctl(&f->d, NULL, 0, err, sizeof(err), "lease", "show", NULL),
		2);
}

static void
sizes_share_one_grammar_and_say_what_they_accept(void **state)
{
	struct fixture *f = *state;
	const char *ok[][2] = {{"r/s1", "2MiB"},
			       {"r/s2", "0x200000"},
			       {"r/s3", "2097152"},
			       {"r/s4", "2m"}};
	json_object *j;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		j = json_ctl(f, "file", "create", ok[i][0], "--size", ok[i][1],
			     NULL);
		assert_int_equal(jint(j, "size"), 2 << 20);
		json_object_put(j);
	}
	/* "MB" keeps its old meaning, and says so on stderr. */
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file", "create",
			     "r/s5", "--size", "2MB", NULL),
			 0);
	assert_non_null(strstr(err, "powers of 1024"));
	j = json_ctl(f, "file", "stat", "r/s5", NULL);
	assert_int_equal(jint(j, "size"), 2 << 20);
	json_object_put(j);
	/* A refusal lists what is accepted. */
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file", "create",
			     "r/s6", "--size", "2X", NULL),
			 2);
	assert_non_null(strstr(err, "invalid size '2X': expected"));
	assert_non_null(strstr(err, "KiB"));
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "read", "r/s1",
			     "--offset", "1.5K", NULL),
			 2);
	assert_non_null(strstr(err, "invalid offset '1.5K': expected"));

	/* The daemon reads the same grammar, and says the same. */
	{
		char spec[PATH_MAX + 64];
		const char *args[] = {"--region", spec, NULL};

		assert_int_equal(daemon_stop(&f->d), 0);
		snprintf(spec, sizeof(spec), "r=%s,size=64MB,create",
			 f->d.region);
		assert_int_equal(daemon_start(&f->d, args, NULL), 0);
		assert_true(daemon_log_contains(&f->d, "powers of 1024"));
	}
}

static void
file_lifecycle_create_ls_stat_truncate_rm(void **state)
{
	struct fixture *f = *state;
	json_object *j, *files;
	int64_t free0, free1;

	j = json_ctl(f, "region", "info", "r", NULL);
	free0 = jint(j, "free");
	json_object_put(j);

	j = json_ctl(f, "file", "create", "r/a", "--size", "1M", "--mode",
		     "0640", NULL);
	assert_string_equal(jstr(j, "name"), "a");
	assert_int_equal(jint(j, "size"), 1 << 20);
	assert_int_equal(jint(j, "allocated"), 1 << 20);
	assert_int_equal(jint(j, "mode"), 0640);
	assert_int_equal(jint(j, "uid"), getuid());
	json_object_put(j);

	/* exists */
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file", "create",
			     "r/a", "--size", "4K", NULL),
			 1);
	assert_non_null(strstr(err, "File exists"));

	j = json_ctl(f, "file", "create", "r/b", "--size", "10", NULL);
	json_object_put(j);
	j = json_ctl(f, "file", "ls", "r", NULL);
	files = jget(j, "files");
	assert_int_equal(json_object_array_length(files), 2);
	assert_string_equal(jstr(json_object_array_get_idx(files, 0), "name"),
			    "a");
	assert_int_equal(jint(json_object_array_get_idx(files, 1), "size"), 10);
	json_object_put(j);

	/* grow, then shrink to a partial page */
	j = json_ctl(f, "file", "truncate", "r/a", "3M", NULL);
	assert_int_equal(jint(j, "size"), 3 << 20);
	assert_int_equal(jint(j, "allocated"), 3 << 20);
	json_object_put(j);
	j = json_ctl(f, "file", "truncate", "r/a", "100", NULL);
	assert_int_equal(jint(j, "size"), 100);
	assert_int_equal(jint(j, "allocated"), 4096);
	json_object_put(j);

	j = json_ctl(f, "region", "info", "r", NULL);
	free1 = jint(j, "free");
	assert_int_equal(jint(j, "files"), 2);
	json_object_put(j);
	assert_int_equal(free0 - free1, 2 * 4096);

	assert_int_equal(
		ctl(&f->d, NULL, 0, NULL, 0, "file", "rm", "r/a", NULL), 0);
	assert_int_equal(
		ctl(&f->d, NULL, 0, NULL, 0, "file", "rm", "r/b", NULL), 0);
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file", "stat",
			     "r/a", NULL),
			 1);
	assert_non_null(strstr(err, "No such file"));
	j = json_ctl(f, "region", "info", "r", NULL);
	assert_int_equal(jint(j, "free"), free0);
	assert_int_equal(jint(j, "files"), 0);
	json_object_put(j);
}

static void
human_file_ls_is_a_sorted_table(void **state)
{
	struct fixture *f = *state;
	char *a, *z;

	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create", "r/zz",
			     "--size", "8K", NULL),
			 0);
	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create", "r/aa",
			     "--size", "4K", NULL),
			 0);
	assert_int_equal(ctl(&f->d, out, sizeof(out), NULL, 0, "--bytes",
			     "file", "ls", "r", NULL),
			 0);
	assert_non_null(strstr(out, "NAME"));
	a = strstr(out, "aa");
	z = strstr(out, "zz");
	assert_non_null(a);
	assert_non_null(z);
	assert_true(a < z);
	assert_non_null(strstr(z, "8192"));
	ctl(&f->d, NULL, 0, NULL, 0, "file", "rm", "r/zz", NULL);
	ctl(&f->d, NULL, 0, NULL, 0, "file", "rm", "r/aa", NULL);
}

/* run_ctl -- pagemapctl ARGS (NULL ended, at most 12) into out and err;
 * its exit status. */
static int
run_ctl(struct fixture *f, ...)
{
	const char *argv[16] = {NULL};
	va_list ap;
	int n = 0;

	va_start(ap, f);
	while ((argv[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	assert_true(n <= 12);
	return ctl(&f->d, out, sizeof(out), err, sizeof(err), argv[0], argv[1],
		   argv[2], argv[3], argv[4], argv[5], argv[6], argv[7],
		   argv[8], argv[9], argv[10], argv[11], NULL);
}

static void
tables_are_human_unless_bytes(void **state)
{
	struct fixture *f = *state;
	json_object *j;

	assert_int_equal(
		run_ctl(f, "file", "create", "r/a", "--size", "1536K", NULL),
		0);
	/* key: value lines: human, exact with --bytes */
	assert_non_null(strstr(out, "size: 1.5M\n"));
	assert_int_equal(run_ctl(f, "file", "ls", "r", NULL), 0);
	assert_non_null(strstr(out, "1.5M"));
	assert_null(strstr(out, "1572864"));
	assert_int_equal(run_ctl(f, "--bytes", "file", "ls", "r", NULL), 0);
	assert_non_null(strstr(out, "1572864"));
	assert_null(strstr(out, "1.5M"));
	assert_int_equal(run_ctl(f, "file", "stat", "r/a", "--bytes", NULL), 0);
	assert_non_null(strstr(out, "size: 1572864\n"));
	assert_int_equal(run_ctl(f, "region", "ls", NULL), 0);
	assert_non_null(strstr(out, "  64M  "));
	assert_int_equal(run_ctl(f, "region", "ls", "--bytes", NULL), 0);
	assert_non_null(strstr(out, "  67108864  "));
	/* status: the uptime as a duration, in milliseconds with --bytes */
	assert_int_equal(run_ctl(f, "status", NULL), 0);
	assert_non_null(strstr(out, "\nuptime: "));
	assert_null(strstr(out, "uptime_ms"));
	assert_int_equal(run_ctl(f, "--bytes", "status", NULL), 0);
	assert_non_null(strstr(out, "\nuptime_ms: "));
	assert_null(strstr(out, "uptime:"));
	/* JSON is exact, with or without --bytes */
	j = json_ctl(f, "file", "ls", "r", NULL);
	assert_int_equal(
		jint(json_object_array_get_idx(jrows(j, "files"), 0), "size"),
		1572864);
	json_object_put(j);
	j = json_ctl(f, "status", NULL);
	assert_true(json_object_object_get_ex(j, "uptime_ms", NULL));
	assert_false(json_object_object_get_ex(j, "uptime", NULL));
	json_object_put(j);
}

static void
no_legend_and_output_choose_what_a_table_shows(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(run_ctl(f, "file", "create", "r/a", "--size", "3M",
				 "--mode", "0640", NULL),
			 0);
	assert_int_equal(run_ctl(f, "--no-legend", "-o", "size,name,mode_octal",
				 "file", "ls", "r", NULL),
			 0);
	assert_string_equal(out, "3M  a  0640\n");
	assert_int_equal(run_ctl(f, "file", "ls", "r", "--output", "name,ino",
				 "--bytes", NULL),
			 0);
	/* INO is right-aligned to its numbers: "NAME   INO" */
	assert_int_equal(strncmp(out, "NAME  ", 6), 0);
	assert_int_equal(strcspn(out, "\n"), strstr(out, "INO\n") + 3 - out);
	assert_null(strstr(out, "SIZE"));
	assert_int_equal(run_ctl(f, "file", "ls", "r", "-o", "name",
				 "--no-legend", NULL),
			 0);
	assert_string_equal(out, "a\n");
	/* an unknown column is a usage error that lists the valid ones */
	assert_int_equal(
		run_ctl(f, "-o", "name,bogus", "file", "ls", "r", NULL), 2);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "'bogus'"));
	assert_non_null(strstr(err, "region,name,ino,size"));
	assert_int_equal(run_ctl(f, "-o", "", "region", "ls", NULL), 2);
	assert_int_equal(run_ctl(f, "-o", "name,", "region", "ls", NULL), 2);
	assert_int_equal(run_ctl(f, "region", "ls", "-o", NULL), 2);
	assert_non_null(strstr(err, "needs a value"));
}

/* header_words -- the words of the first line of out, upper-case. */
static int
header_words(char words[][32], int max)
{
	int n = 0;
	const char *p = out;

	while (*p && *p != '\n') {
		size_t len;

		while (*p == ' ')
			p++;
		len = strcspn(p, " \n");
		if (!len)
			break;
		assert_true(n < max && len < 32);
		memcpy(words[n], p, len);
		words[n++][len] = '\0';
		p += len;
	}
	return n;
}

/* check_listing -- the table of @cmd (@arg may be NULL) is titled with
 * JSON keys, upper-cased: every one is a column -o accepts and, when the
 * JSON has a row, a member of it. */
static void
check_listing(struct fixture *f, const char *group, const char *cmd,
	      const char *arg, const char *key, int min_rows)
{
	char words[32][32], lower[32];
	json_object *j, *row = NULL;
	char valid[BIG];
	int n;

	j = json_ctl(f, group, cmd, arg, NULL);
	if (json_object_array_length(jrows(j, key)) > 0)
		row = json_object_array_get_idx(jrows(j, key), 0);
	assert_true((int)json_object_array_length(jrows(j, key)) >= min_rows);
	assert_int_equal(run_ctl(f, "-o", "?", group, cmd, arg, NULL), 2);
	snprintf(valid, sizeof(valid), ",%s", strstr(err, "(valid: ") + 8);
	*strchr(valid, ')') = ',';
	assert_int_equal(run_ctl(f, group, cmd, arg, NULL), 0);
	n = header_words(words, 32);
	assert_true(n >= 3);
	for (int i = 0; i < n; i++) {
		char needle[40];
		size_t k;

		for (k = 0; words[i][k]; k++) {
			assert_false(words[i][k] >= 'a' && words[i][k] <= 'z');
			lower[k] =
				(char)(words[i][k] >= 'A' && words[i][k] <= 'Z'
					       ? words[i][k] - 'A' + 'a'
					       : words[i][k]);
		}
		lower[k] = '\0';
		snprintf(needle, sizeof(needle), ",%s,", lower);
		if (!strstr(valid, needle))
			fail_msg("%s %s: header %s is not a JSON key (%s)",
				 group, cmd, words[i], valid);
		if (row && !json_object_object_get_ex(row, lower, NULL))
			fail_msg("%s %s: header %s is not in the JSON row",
				 group, cmd, words[i]);
	}
	json_object_put(j);
}

static void
headers_are_the_json_keys_upper_cased(void **state)
{
	struct fixture *f = *state;
	struct pagemap *pm;
	struct pagemap_lease *l;
	struct pagemap_folio fo[4];
	size_t nf;
	uint64_t next;

	assert_int_equal(pagemap_connect(f->d.socket, "cols", &pm), 0);
	assert_int_equal(
		run_ctl(f, "file", "create", "r/a", "--size", "2M", NULL), 0);
	assert_int_equal(pagemap_lease_acquire(pm, "r", "a", PAGEMAP_WRITE, &l),
			 0);
	assert_int_equal(
		pagemap_grant(l, 0, 4096, PAGEMAP_WRITE, fo, 4, &nf, &next), 0);
	assert_true(nf > 0);
	check_listing(f, "region", "ls", NULL, "regions", 1);
	check_listing(f, "file", "ls", "r", "files", 1);
	check_listing(f, "lease", "ls", NULL, "leases", 1);
	check_listing(f, "client", "ls", NULL, "clients", 1);
	check_listing(f, "grant", "ls", NULL, "grants", 1);
	check_listing(f, "blockers", "r", NULL, "blockers", 0);
	assert_int_equal(pagemap_return(l, 0, next, NULL), 0);
	assert_int_equal(pagemap_lease_release(l), 0);
	pagemap_close(pm);
}

static void
bad_names_sizes_and_no_space_are_clear_errors(void **state)
{
	struct fixture *f = *state;
	char longname[200];
	char target[256];
	json_object *j;
	int64_t free0;

	j = json_ctl(f, "region", "info", "r", NULL);
	free0 = jint(j, "free");
	json_object_put(j);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	snprintf(target, sizeof(target), "r/%s", longname);
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file", "create",
			     target, "--size", "4K", NULL),
			 1);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file", "create",
			     "r/..", "--size", "4K", NULL),
			 1);
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file", "create",
			     "r/x", "--size", "12Q", NULL),
			 2);
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file", "create",
			     "r/big", "--size", "1G", NULL),
			 1);
	assert_non_null(strstr(err, "space"));
	j = json_ctl(f, "region", "info", "r", NULL);
	assert_int_equal(jint(j, "free"), free0); /* nothing half-done */
	assert_int_equal(jint(j, "files"), 0);
	json_object_put(j);
}

static void
permissions_follow_the_peer_credentials(void **state)
{
	struct fixture *f = *state;
	const uid_t nobody = 65534;
	char path2[PATH_MAX];

	/* Region file mode 0644, owned by root: others may read only. The
	 * socket's folder must let them reach the socket. */
	assert_int_equal(chmod(f->d.dir, 0711), 0);
	assert_int_equal(chmod(f->d.region, 0644), 0);
	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create",
			     "r/mine", "--size", "4K", "--mode", "0600", NULL),
			 0);
	/* The daemon caches the region's owner/mode at attach: re-attach so
	 * it sees 0644. */
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "region",
			     "detach", "r", NULL),
			 0);
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "region",
			     "attach", "r", f->d.region, NULL),
			 0);
	assert_int_equal(ctl_as(nobody, nobody, &f->d, out, sizeof(out), err,
				sizeof(err), "file", "ls", "r", NULL),
			 0);
	assert_non_null(strstr(out, "mine"));
	assert_int_equal(ctl_as(nobody, nobody, &f->d, NULL, 0, err,
				sizeof(err), "file", "create", "r/theirs",
				"--size", "4K", NULL),
			 1);
	assert_non_null(strstr(err, "Permission denied"));
	assert_int_equal(ctl_as(nobody, nobody, &f->d, NULL, 0, err,
				sizeof(err), "file", "truncate", "r/mine", "0",
				NULL),
			 1);
	assert_non_null(strstr(err, "Permission denied"));
	assert_int_equal(ctl_as(nobody, nobody, &f->d, NULL, 0, err,
				sizeof(err), "file", "rm", "r/mine", NULL),
			 1);
	snprintf(path2, sizeof(path2), "%s/other.pmem", f->d.dir);
	assert_int_equal(ctl_as(nobody, nobody, &f->d, NULL, 0, err,
				sizeof(err), "region", "attach", "o", path2,
				"--size", "16M", "--create", NULL),
			 1);
	assert_non_null(strstr(err, "Operation not permitted"));
	assert_int_equal(
		ctl(&f->d, NULL, 0, NULL, 0, "file", "rm", "r/mine", NULL), 0);
}

static void
region_attach_create_never_reformats(void **state)
{
	struct fixture *f = *state;
	char path2[PATH_MAX];
	json_object *j;
	char uuid[64];

	snprintf(path2, sizeof(path2), "%s/second.pmem", f->d.dir);
	j = json_ctl(f, "region", "attach", "s", path2, "--size", "16M",
		     "--create", "--max-order", "4", NULL);
	assert_int_equal(jint(j, "max_order"), 4);
	snprintf(uuid, sizeof(uuid), "%s", jstr(j, "uuid"));
	json_object_put(j);
	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create",
			     "s/kept", "--size", "64K", NULL),
			 0);
	assert_int_equal(
		ctl(&f->d, NULL, 0, NULL, 0, "region", "detach", "s", NULL), 0);
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "region", "info",
			     "s", NULL),
			 1);
	j = json_ctl(f, "region", "attach", "s", path2, "--size", "32M",
		     "--create", NULL);
	assert_string_equal(jstr(j, "uuid"), uuid);
	assert_int_equal(jint(j, "files"), 1);
	assert_int_equal(jint(j, "size"), 16 << 20);
	json_object_put(j);
	/* attaching the same file twice, or a second region named s */
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "region",
			     "attach", "t", path2, NULL),
			 1);
	assert_int_equal(
		ctl(&f->d, NULL, 0, NULL, 0, "region", "detach", "s", NULL), 0);
}

static void
kill9_keeps_every_completed_operation(void **state)
{
	struct fixture *f = *state;
	char name[32];
	json_object *j;

	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "r/k%02d", i);
		assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create",
				     name, "--size", i % 3 ? "12K" : "2M",
				     NULL),
				 0);
	}
	for (int i = 0; i < 40; i += 4) {
		snprintf(name, sizeof(name), "r/k%02d", i);
		assert_int_equal(
			ctl(&f->d, NULL, 0, NULL, 0, "file", "rm", name, NULL),
			0);
	}
	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "truncate",
			     "r/k01", "5M", NULL),
			 0);
	daemon_kill(&f->d);

	/* offline check of what the dead daemon left */
	{
		const char *argv[] = {PAGEMAPCTL_BIN, "fsck", f->d.region,
				      NULL};
		assert_int_equal(
			run(argv, NULL, out, sizeof(out), err, sizeof(err)), 0);
		assert_non_null(strstr(out, "clean"));
	}
	assert_int_equal(daemon_restart(&f->d), 0);
	j = json_ctl(f, "file", "ls", "r", NULL);
	assert_int_equal(json_object_array_length(jget(j, "files")), 30);
	json_object_put(j);
	j = json_ctl(f, "file", "stat", "r/k01", NULL);
	assert_int_equal(jint(j, "size"), 5 << 20);
	json_object_put(j);
	for (int i = 0; i < 40; i++) {
		if (i % 4 == 0)
			continue;
		snprintf(name, sizeof(name), "r/k%02d", i);
		assert_int_equal(
			ctl(&f->d, NULL, 0, NULL, 0, "file", "rm", name, NULL),
			0);
	}
}

/* kill9_mid_workload_loses_no_acknowledged_operation -- a client process
 * creates, grows and removes files in a loop and reports each operation
 * the daemon acknowledged; the daemon is killed while the client is in the
 * middle of its stream. Every acknowledged operation must be there after
 * restart, and fsck must be clean. */
static void
kill9_mid_workload_loses_no_acknowledged_operation(void **state)
{
	struct fixture *f = *state;
	int acks[2];
	pid_t child;
	int done = 0;
	char name[32];
	json_object *j;

	assert_int_equal(pipe(acks), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct pagemap *pm;

		close(acks[0]);
		if (pagemap_connect(f->d.socket, "kill9", &pm) < 0)
			_exit(1);
		for (int i = 0;; i++) {
			char nm[32];
			int rv;

			snprintf(nm, sizeof(nm), "w%04d", i);
			rv = pagemap_file_create(pm, "r", nm, 8192, -1, NULL);
			if (rv == 0)
				rv = pagemap_file_truncate(
					pm, "r", nm,
					(uint64_t)(i % 7 + 1) << 14, -1, NULL);
			if (rv == 0 && i % 3 == 0)
				rv = pagemap_file_remove(pm, "r", nm);
			if (rv < 0)
				_exit(0); /* the daemon is gone */
			if (write(acks[1], &i, sizeof(i)) != sizeof(i))
				_exit(1);
		}
	}
	close(acks[1]);
	/* Let a few hundred operations complete, then pull the plug while
	 * the client is busy. */
	for (int i; done < 150 && read(acks[0], &i, sizeof(i)) == sizeof(i);)
		done = i + 1;
	daemon_kill(&f->d);
	for (int i; read(acks[0], &i, sizeof(i)) == sizeof(i);)
		done = i + 1; /* acknowledged just before the kill */
	close(acks[0]);
	assert_int_equal(waitpid(child, NULL, 0), child);
	assert_true(done >= 150);

	{
		const char *argv[] = {PAGEMAPCTL_BIN, "fsck", f->d.region,
				      NULL};
		assert_int_equal(
			run(argv, NULL, out, sizeof(out), err, sizeof(err)), 0);
	}
	assert_int_equal(daemon_restart(&f->d), 0);
	for (int i = 0; i < done; i++) {
		snprintf(name, sizeof(name), "r/w%04d", i);
		if (i % 3 == 0) {
			assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file",
					     "stat", name, NULL),
					 1);
			continue;
		}
		j = json_ctl(f, "file", "stat", name, NULL);
		assert_int_equal(jint(j, "size"), (i % 7 + 1) << 14);
		json_object_put(j);
	}
}

static void
sigterm_stops_cleanly_with_exit_zero(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(daemon_stop(&f->d), 0);
	assert_true(daemon_log_contains(&f->d, "stopped"));
	/* the socket file is gone */
	assert_int_equal(access(f->d.socket, F_OK), -1);
	assert_int_equal(daemon_restart(&f->d), 0);
}

/* corrupt -- flip one byte at @off of the region file. */
static void
corrupt(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char b;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void
corrupt_superblock_or_inode_is_refused_by_attach_and_fsck(void **state)
{
	struct fixture *f = *state;
	const char *fsck_argv[] = {PAGEMAPCTL_BIN, "fsck", f->d.region, NULL};
	struct pm_super sb;
	char meta[PATH_MAX + 8];
	int fd;

	/* The metadata lives in its own file beside the data file. */
	snprintf(meta, sizeof(meta), "%s.meta", f->d.region);
	assert_int_equal(ctl(&f->d, NULL, 0, NULL, 0, "file", "create",
			     "r/victim", "--size", "8K", NULL),
			 0);
	assert_int_equal(daemon_stop(&f->d), 0);
	fd = open(meta, O_RDONLY);
	assert_int_equal(pread(fd, &sb, sizeof(sb), 0), (ssize_t)sizeof(sb));
	close(fd);

	/* inode table: the file's record is somewhere in the first slots */
	for (uint32_t slot = 0; slot < 4; slot++)
		corrupt(meta, (off_t)(sb.inode_off + slot * 256 + 40));
	assert_int_equal(
		run(fsck_argv, NULL, out, sizeof(out), err, sizeof(err)), 1);
	assert_int_equal(daemon_restart(&f->d), -1);
	assert_int_not_equal(f->d.exit_status, 0);
	assert_true(daemon_log_contains(&f->d, "inode"));
	for (uint32_t slot = 0; slot < 4; slot++)
		corrupt(meta, (off_t)(sb.inode_off + slot * 256 + 40));
	assert_int_equal(
		run(fsck_argv, NULL, out, sizeof(out), err, sizeof(err)), 0);

	/* superblock */
	corrupt(meta, 20);
	assert_int_equal(
		run(fsck_argv, NULL, out, sizeof(out), err, sizeof(err)), 1);
	assert_true(strstr(err, "superblock") || strstr(out, "superblock"));
	assert_int_equal(daemon_restart(&f->d), -1);
	assert_true(daemon_log_contains(&f->d, "superblock"));
	corrupt(meta, 20);
	assert_int_equal(daemon_restart(&f->d), 0);
	assert_int_equal(
		ctl(&f->d, NULL, 0, NULL, 0, "file", "rm", "r/victim", NULL),
		0);
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
config_file_serves_its_regions_and_bad_keys_name_file_and_line(void **state)
{
	struct daemon d;
	char conf[PATH_MAX], text[PATH_MAX * 2];
	const char *args[] = {"--config", conf, NULL};

	(void)state;
	daemon_init(&d);
	snprintf(conf, sizeof(conf), "%s/pagemapd.conf", d.dir);
	snprintf(text, sizeof(text),
		 "; comment\n[daemon]\nlog_level = debug\n\n"
		 "[region conf1]\npath = %s/c1.pmem\nsize = 16M\n"
		 "create = yes\nmax_order = 3\n",
		 d.dir);
	write_file(conf, text);
	assert_int_equal(daemon_start(&d, args, NULL), 0);
	assert_int_equal(ctl(&d, out, sizeof(out), NULL, 0, "region", "info",
			     "conf1", NULL),
			 0);
	assert_non_null(strstr(out, "max_order: 3"));
	assert_int_equal(daemon_stop(&d), 0);

	write_file(conf, "[daemon]\nlog_level = debug\n[region z]\n"
			 "path = /tmp/z.pmem\nsize = 12Q\n");
	assert_int_equal(daemon_start(&d, args, NULL), -1);
	assert_int_equal(d.exit_status, 2);
	snprintf(text, sizeof(text), "%s:5: key 'size' in [region z]", conf);
	assert_true(daemon_log_contains(&d, text));

	write_file(conf, "[daemon]\nlog_levl = debug\n");
	assert_int_equal(daemon_start(&d, args, NULL), -1);
	snprintf(text, sizeof(text),
		 "%s:2: key 'log_levl' in [daemon]: "
		 "unknown key",
		 conf);
	assert_true(daemon_log_contains(&d, text));

	/* --check-config: the same checks, what it would serve, nothing
	 * started or created. */
	{
		const char *argv[] = {PAGEMAPD_BIN, "--check-config",
				      "--config", conf, NULL};
		char c1[PATH_MAX + 16];

		assert_int_equal(
			run(argv, NULL, out, sizeof(out), err, sizeof(err)), 2);
		assert_non_null(strstr(err, "unknown key"));
		snprintf(text, sizeof(text),
			 "[region c2]\npath = %s/c2.pmem\nsize = 16MB\n"
			 "create = yes\n",
			 d.dir);
		write_file(conf, text);
		assert_int_equal(
			run(argv, NULL, out, sizeof(out), err, sizeof(err)), 0);
		snprintf(c1, sizeof(c1), "region c2 %s/c2.pmem", d.dir);
		assert_non_null(strstr(out, c1));
		assert_non_null(strstr(out, "powers of 1024"));
		assert_non_null(strstr(out, "configuration OK"));
		snprintf(c1, sizeof(c1), "%s/c2.pmem", d.dir);
		assert_int_equal(access(c1, F_OK), -1);
	}
	daemon_cleanup(&d);
}

/* log_has -- wait (bounded) until @d's log holds @needle. */
static bool
log_has(const struct daemon *d, const char *needle)
{
	long long end = now_ms() + 20000;

	while (!daemon_log_contains(d, needle))
		if (now_ms() > end || poll(NULL, 0, 10) < 0)
			return false;
	return true;
}

/* status_max_leases -- the max_leases a new connection is told. */
static int64_t
status_max_leases(struct daemon *d)
{
	const char *argv[] = {"--json", "status", NULL};
	json_object *j;
	int64_t v;

	if (ctl(d, out, sizeof(out), err, sizeof(err), argv[0], argv[1],
		NULL) != 0)
		fail_msg("status: %s", err);
	j = jparse(0, out, err);
	v = jint(jget(j, "limits"), "max_leases");
	json_object_put(j);
	return v;
}

static void
sighup_rereads_the_log_level_and_limits(void **state)
{
	struct daemon d;
	char conf[PATH_MAX], text[PATH_MAX * 2];
	const char *args[] = {"--config", conf, NULL};

	(void)state;
	daemon_init(&d);
	snprintf(conf, sizeof(conf), "%s/pagemapd.conf", d.dir);
	snprintf(text, sizeof(text),
		 "[daemon]\nmax_leases = 100\n[region r]\npath = %s/r.pmem\n"
		 "size = 16M\ncreate = yes\n",
		 d.dir);
	write_file(conf, text);
	assert_int_equal(daemon_start(&d, args, NULL), 0);
	assert_int_equal(status_max_leases(&d), 100);

	snprintf(text, sizeof(text),
		 "[daemon]\nmax_leases = 3\nlog_level = debug\n[region r]\n"
		 "path = %s/r.pmem\nsize = 16M\ncreate = yes\n",
		 d.dir);
	write_file(conf, text);
	assert_int_equal(kill(d.pid, SIGHUP), 0);
	assert_true(log_has(&d, "reloaded the configuration"));
	assert_int_equal(status_max_leases(&d), 3);

	/* A broken file changes nothing. */
	write_file(conf, "[daemon]\nmax_leases = lots\n");
	assert_int_equal(kill(d.pid, SIGHUP), 0);
	assert_true(log_has(&d, "nothing changed"));
	assert_int_equal(status_max_leases(&d), 3);
	assert_int_equal(daemon_finish(&d), 0);
}

static void
library_reports_daemon_messages(void **state)
{
	struct fixture *f = *state;
	struct pagemap *pm;
	struct pagemap_file_info *fi = NULL;

	assert_int_equal(pagemap_connect(f->d.socket, "lib", &pm), 0);
	assert_int_equal(pagemap_file_stat(pm, "r", "missing", &fi), -ENOENT);
	assert_non_null(strstr(pagemap_last_message(pm), "missing"));
	assert_non_null(strstr(pagemap_strerror(-ENOENT), "No such file"));
	assert_int_equal(
		pagemap_file_create(pm, "r", "libfile", 4096, 0600, &fi), 0);
	assert_int_equal(fi->mode, 0600);
	pagemap_free(fi);
	assert_int_equal(pagemap_file_remove(pm, "r", "libfile"), 0);
	pagemap_close(pm);
	assert_int_equal(pagemap_connect("/nonexistent/sock", NULL, &pm),
			 -ENOENT);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, daemon_teardown)
	const struct CMUnitTest tests[] = {
		T(status_reports_the_daemon_and_its_limits),
		T(region_ls_and_info_describe_the_region),
		T(sizes_share_one_grammar_and_say_what_they_accept),
		T(list_and_show_are_aliases_of_ls_info_and_stat),
		T(file_lifecycle_create_ls_stat_truncate_rm),
		T(human_file_ls_is_a_sorted_table),
		T(tables_are_human_unless_bytes),
		T(no_legend_and_output_choose_what_a_table_shows),
		T(headers_are_the_json_keys_upper_cased),
		T(bad_names_sizes_and_no_space_are_clear_errors),
		T(permissions_follow_the_peer_credentials),
		T(region_attach_create_never_reformats),
		T(kill9_keeps_every_completed_operation),
		T(kill9_mid_workload_loses_no_acknowledged_operation),
		T(sigterm_stops_cleanly_with_exit_zero),
		T(corrupt_superblock_or_inode_is_refused_by_attach_and_fsck),
		T(library_reports_daemon_messages),
		fdcheck_test(
			config_file_serves_its_regions_and_bad_keys_name_file_and_line),
		fdcheck_test(sighup_rereads_the_log_level_and_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

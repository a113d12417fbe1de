/* test_crash.c -- I7: power loss at every persist point of a scripted
 * workload leaves every completed operation and nothing partial.
 *
 * The daemon (a test build) counts persist calls; with
 * PAGEMAPD_CRASH_AFTER=N it mirrors every persisted range into
 * "<region>.durable" and dies at the Nth persist, as if the power had gone:
 * the durable image holds exactly what was made durable (optionally half of
 * the last range with PAGEMAPD_CRASH_TORN=1). For every N until the
 * workload runs to the end, the durable image must pass fsck, attach, and
 * hold the state after the acknowledged operations, plus or minus the one
 * that was in flight, whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "fsck.h"
#include "fdcheck.h"
#include "harness.h"
#include "tmpdir.h"
#include "pagemap.h"

#define MAX_FILES 48
#define CRASH_EXIT 86

enum op_kind { OP_CREATE, OP_RESIZE, OP_REMOVE };

struct op {
	enum op_kind kind;
	const char *name;
	uint64_t size;
};

/* Creates, grows, shrinks, removes, and slot/extent reuse after frees. */
static const struct op workload[] = {
	{OP_CREATE, "a", 4096},
	{OP_CREATE, "b", 2u << 20},
	{OP_CREATE, "c", 0},
	{OP_CREATE, "d", (3u << 20) + 4096},
	{OP_CREATE, "e", 100},
	{OP_RESIZE, "a", 5u << 20},
	{OP_RESIZE, "d", 8192},
	{OP_REMOVE, "b", 0},
	{OP_CREATE, "f", 1u << 20},
	{OP_RESIZE, "c", 12345},
	{OP_RESIZE, "e", 0},
	{OP_REMOVE, "a", 0},
	{OP_CREATE, "g", 4u << 20},
	{OP_CREATE, "h", 4096},
	{OP_RESIZE, "g", 6u << 20},
	{OP_REMOVE, "d", 0},
	{OP_CREATE, "b", 512 * 1024},
	{OP_RESIZE, "f", 3u << 20},
	{OP_REMOVE, "h", 0},
	{OP_CREATE, "i", 2u << 20},
	/* many small files: inode-slot and extent-slot churn */
	{OP_CREATE, "s00", 4096}, {OP_CREATE, "s01", 8192},
	{OP_CREATE, "s02", 12288}, {OP_CREATE, "s03", 1},
	{OP_CREATE, "s04", 65536}, {OP_CREATE, "s05", 4096},
	{OP_REMOVE, "s01", 0}, {OP_REMOVE, "s03", 0},
	{OP_CREATE, "s06", 20000}, {OP_CREATE, "s07", 4096},
	{OP_RESIZE, "s00", 300000}, {OP_RESIZE, "s04", 4096},
	{OP_CREATE, "s08", 40960}, {OP_REMOVE, "s05", 0},
	{OP_CREATE, "s09", 4096}, {OP_RESIZE, "i", 0},
	{OP_REMOVE, "s06", 0}, {OP_CREATE, "s10", 2u << 20},
};
#define NOPS (sizeof(workload) / sizeof(workload[0]))

struct model {
	char name[MAX_FILES][16];
	uint64_t size[MAX_FILES];
	bool live[MAX_FILES];
};

static int
model_find(const struct model *m, const char *name)
{
	for (int i = 0; i < MAX_FILES; i++)
		if (m->live[i] && strcmp(m->name[i], name) == 0)
			return i;
	return -1;
}

static void
model_apply(struct model *m, const struct op *op)
{
	int i = model_find(m, op->name);

	switch (op->kind) {
	case OP_CREATE:
		assert_int_equal(i, -1);
		for (i = 0; m->live[i]; i++)
			;
		snprintf(m->name[i], sizeof(m->name[i]), "%s", op->name);
		m->size[i] = op->size;
		m->live[i] = true;
		break;
	case OP_RESIZE:
		assert_true(i >= 0);
		m->size[i] = op->size;
		break;
	case OP_REMOVE:
		assert_true(i >= 0);
		m->live[i] = false;
		break;
	}
}

static int
do_op(struct pagemap *pm, const struct op *op)
{
	switch (op->kind) {
	case OP_CREATE:
		return pagemap_file_create(pm, "r", op->name, op->size, 0600,
					   NULL);
	case OP_RESIZE:
		return pagemap_file_truncate(pm, "r", op->name, op->size, -1,
					     NULL);
	case OP_REMOVE:
		return pagemap_file_remove(pm, "r", op->name);
	}
	return -EINVAL;
}

/* matches -- the region's files are exactly the model's. */
static bool
matches(const struct model *m, struct pagemap_file_info *const *v, size_t n)
{
	size_t live = 0;

	for (int i = 0; i < MAX_FILES; i++)
		live += m->live[i];
	if (live != n)
		return false;
	for (size_t k = 0; k < n; k++) {
		int i = model_find(m, v[k]->name);
		uint64_t pages = (m->size[i < 0 ? 0 : i] + 4095) / 4096;

		if (i < 0 || v[k]->size != m->size[i] ||
		    v[k]->allocated != pages * 4096)
			return false;
	}
	return true;
}

static void
copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct stat st;
	off_t off = 0;

	assert_true(in >= 0 && out >= 0);
	assert_int_equal(fstat(in, &st), 0);
	assert_int_equal(ftruncate(out, st.st_size), 0);
	while (off < st.st_size) {
		/* Copy only data, leaving holes: the regions are sparse. */
		off_t data = lseek(in, off, SEEK_DATA);
		if (data < 0)
			break;
		off_t hole = lseek(in, data, SEEK_HOLE);
		off_t pos = data;
		while (pos < hole) {
			ssize_t k = sendfile(out, in, &pos, (size_t)(hole - pos));
			assert_true(k > 0);
		}
		off = hole;
	}
	close(in);
	close(out);
}

static char base[PATH_MAX];
static char basedir[PATH_MAX];

static int
setup(void **state)
{
	struct daemon d;
	char spec[PATH_MAX + 64];
	const char *args[] = {"--region", spec, NULL};

	(void)state;
	if (tmpdir_make(basedir, sizeof(basedir), "crash") < 0)
		return -1;
	snprintf(base, sizeof(base), "%s/base.pmem", basedir);
	daemon_init(&d);
	snprintf(spec, sizeof(spec), "r=%s,size=32M,create", base);
	if (daemon_start(&d, args, NULL) < 0 || daemon_stop(&d) != 0)
		return -1;
	daemon_cleanup(&d);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tmpdir_remove(basedir);
	return 0;
}

/* crash_run -- run the workload against a daemon that loses power at
 * persist @n; returns true if the workload finished before that point. */
static bool
crash_run(unsigned n, bool torn)
{
	struct daemon d;
	char region[PATH_MAX], durable[PATH_MAX], spec[2 * PATH_MAX + 64];
	char meta[PATH_MAX + 8], base_meta[PATH_MAX + 8];
	char env_after[64], env_torn[64];
	const char *args[] = {"--region", spec, NULL};
	const char *env[] = {env_after, env_torn, NULL};
	struct model before = {0}, after;
	struct pagemap *pm;
	struct pagemap_file_info **files;
	struct fsck_report rep;
	size_t nfiles;
	size_t done = 0;
	bool finished = false;
	int rv = 0;

	daemon_init(&d);
	snprintf(region, sizeof(region), "%s/r.pmem", d.dir);
	/* Power loss leaves the metadata's durable image beside it; the
	 * data file's zeroes are synced before every commit. */
	snprintf(meta, sizeof(meta), "%s.meta", region);
	snprintf(base_meta, sizeof(base_meta), "%s.meta", base);
	snprintf(durable, sizeof(durable), "%s.durable", meta);
	copy_file(base, region);
	copy_file(base_meta, meta);
	snprintf(spec, sizeof(spec), "r=%s", region);
	snprintf(env_after, sizeof(env_after), "PAGEMAPD_CRASH_AFTER=%u", n);
	snprintf(env_torn, sizeof(env_torn), "PAGEMAPD_CRASH_TORN=%d", torn);
	assert_int_equal(daemon_start(&d, args, env), 0);
	assert_int_equal(pagemap_connect(d.socket, "crash", &pm), 0);
	for (done = 0; done < NOPS; done++) {
		rv = do_op(pm, &workload[done]);
		if (rv < 0)
			break;
		model_apply(&before, &workload[done]);
	}
	pagemap_close(pm);
	if (done == NOPS) {
		finished = true;
		daemon_stop(&d);
	} else {
		/* The only way an op of this workload fails is the crash. */
		assert_int_equal(daemon_wait_exit(&d, 30000), CRASH_EXIT);
	}
	after = before;
	if (!finished)
		model_apply(&after, &workload[done]);

	/* What survived: fsck first, then a real attach (journal replay). */
	if (!finished) {
		assert_int_equal(
			fsck_region_pair(region, durable, 0, &rep, stderr), 0);
		if (rep.errors)
			fail_msg("crash at persist %u%s: fsck: %s", n,
				 torn ? " (torn)" : "", rep.first_error);
		snprintf(spec, sizeof(spec), "r=%s,meta=%s", region, durable);
		assert_int_equal(daemon_start(&d, args, NULL), 0);
		assert_int_equal(pagemap_connect(d.socket, "verify", &pm), 0);
		assert_int_equal(pagemap_file_list(pm, "r", &files, &nfiles), 0);
		if (!matches(&before, files, nfiles) &&
		    !matches(&after, files, nfiles))
			fail_msg("crash at persist %u%s during op %zu (%s): "
				 "state is neither before nor after it",
				 n, torn ? " (torn)" : "", done,
				 workload[done].name);
		pagemap_free(files);
		pagemap_close(pm);
		assert_int_equal(daemon_stop(&d), 0);
		/* And the re-attached image is still clean. */
		assert_int_equal(
			fsck_region_pair(region, durable, 0, &rep, stderr), 0);
		assert_int_equal(rep.errors, 0);
	}
	daemon_cleanup(&d);
	return finished;
}

static void
every_persist_point_keeps_completed_ops_and_nothing_partial(void **state)
{
	unsigned n;

	(void)state;
	for (n = 1; n < 10000 && !crash_run(n, false); n++)
		;
	assert_true(n > NOPS); /* the workload has many persist points */
	print_message("%u persist points checked\n", n - 1);
}

static void
torn_final_persist_is_never_half_applied(void **state)
{
	unsigned n;

	(void)state;
	for (n = 1; n < 10000 && !crash_run(n, true); n++)
		;
	assert_true(n > NOPS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(
			every_persist_point_keeps_completed_ops_and_nothing_partial),
		fdcheck_test(torn_final_persist_is_never_half_applied),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_faults.c -- every allocation and I/O call of the storage paths
 * fails once, then persistently: clean errors, whole transactions. */
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

#include "fault.h"
#include "fsck.h"
#include "inode.h"
#include "inode_io.h"
#include "journal.h"
#include "layout.h"
#include "region.h"

#include "regionfix.h"

/*
 * SQLite's approach (test_malloc.c, the "ioerr" tests): a scripted
 * workload runs once with no fault to count the fault sites it passes (N
 * allocations, M I/O calls, S syncs); then, for each k, the k-th site of a
 * class
 * fails -- once, then from there on -- and the workload runs again. Every
 * call must come back with a clean -errno (a crash or an abort ends the
 * test binary; LeakSanitizer, in the ASan pass, reports any leak at exit;
 * the fixture checks fds). Afterwards, with faults off, fsck must find the
 * region file clean and a reattach must show each file as it was before
 * or after each operation: after it when the operation succeeded, before
 * it when it failed before its commit, either when its commit failed
 * (the region then refuses every later change).
 *
 * The workloads cover attach (create and format; replay, verify, load,
 * orphan reclaim), file create, grow, shrink, unlink, orphan and the free
 * of an orphan, hole filling before a grant, group commit, a commit that
 * finds the journal full, the journal's checkpoint and detach. A failed
 * sync (persist, fdatasync) must fail the region.
 *
 * k is sampled (every k up to SAMPLE_ALL and in a workload's focus, then
 * evenly spread) to keep the ASan pass short; PAGEMAP_FAULTS_ALL=1 runs
 * every k, PAGEMAP_FAULTS_VERBOSE=1 prints each.
 */

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define REGION_SIZE (16 * MiB)
#define SAMPLE_ALL 80u	  /* every k up to this one */
#define SAMPLE_SPREAD 40u /* then this many more, evenly spread */

enum { FA, FB, FC, NFILES };
static const char *const names[NFILES] = {"a", "b", "c"};

/* What a file may look like after the run: exists/size, and a second
 * allowed state while its last operation is uncertain. */
struct fstate {
	bool exists;
	uint64_t size;
};

struct model {
	struct fstate now[NFILES];
	struct fstate alt[NFILES];
	bool uncertain[NFILES];
	bool failed; /* a commit failed: later changes must be refused */
};

/* A workload may name the sites it is about, by class: the counting run
 * (faults off) sets [lo, hi) to the counts around its point of interest,
 * whose every site is tried. */
static struct {
	uint64_t lo, hi;
} focus[FAULT_NCLASS];

static int
setup(void **state)
{
	return regionfix_setup(state, "faults");
}

static int
teardown(void **state)
{
	fault_reset();
	return regionfix_teardown(state);
}

static int
do_attach(const char *path, bool create, struct region **r, char *err)
{
	struct region_opts o = {
		.size = REGION_SIZE,
		.create = create,
		.max_order = PM_DEFAULT_MAX_ORDER,
	};

	err[0] = 0;
	return region_attach("t", path, &o, r, err);
}

/* clean_error -- @rc is one of the errors a fault may cause. */
static void
clean_error(int rc, const char *what)
{
	if (rc == -ENOMEM || rc == -EIO || rc == -EROFS)
		return;
	print_error("%s: unexpected %d (%s)\n", what, rc, strerror(-rc));
	fail();
}

/* ---- the model ---------------------------------------------------------- */

/* model_op -- file @i goes to @to if the operation's stage (@rs) and
 * commit (@rc) succeeded, stays if the stage failed, may be either if
 * the commit failed. */
static void
model_op(struct model *m, const struct region *r, int i, struct fstate to,
	 int rs, int rc)
{
	if (m->failed) {
		/* Nothing may change once the region failed. */
		if (rs != -EROFS) {
			print_error("a change on a failed region: %d\n", rs);
			fail();
		}
		return;
	}
	/* A failed commit or persist is never retried: the region fails. */
	if (fault_failed(FAULT_SYNC))
		assert_true(r->files.failed);
	m->failed = r->files.failed;
	if (rs < 0)
		return;
	if (rc < 0) {
		assert_true(m->failed);
		m->alt[i] = to;
		m->uncertain[i] = true;
		return;
	}
	m->now[i] = to;
}

static const char *
state_of(const struct region *r)
{
	struct region_info ri;

	region_info(r, &ri);
	return ri.state;
}

/* commit_of -- the result of a staged operation's group commit. */
static int
commit_of(struct region *r, int rs, const char *what)
{
	int rc = 0;

	if (rs < 0) {
		clean_error(rs, what);
		return 0;
	}
	rc = region_commit(r);
	if (rc < 0) {
		clean_error(rc, "commit");
		assert_true(r->files.failed);
		assert_string_equal(state_of(r), "failed");
	}
	return rc;
}

static bool
same(struct fstate a, struct fstate b)
{
	return a.exists == b.exists && (!a.exists || a.size == b.size);
}

/* check_after -- with faults off: fsck is clean and a reattach shows each
 * file as @m allows. */
static void
check_after(const char *path, const struct model *m)
{
	struct fsck_report rep;
	struct region *r = NULL;
	char err[REGION_ERR_MAX];

	fault_reset();
	memset(&rep, 0, sizeof(rep));
	assert_int_equal(fsck_region(path, &rep, NULL), 0);
	if (rep.errors)
		print_error("fsck: %s\n", rep.first_error);
	assert_int_equal(rep.errors, 0);
	if (do_attach(path, false, &r, err))
		print_error("reattach: %s\n", err);
	assert_non_null(r);
	for (int i = 0; i < NFILES; i++) {
		struct inode *ino = inode_find(&r->files, names[i]);
		struct fstate got = {ino != NULL, ino ? ino->size : 0};

		if (same(got, m->now[i]) ||
		    (m->uncertain[i] && same(got, m->alt[i])))
			continue;
		print_error("file %s: exists %d size %llu, expected %d %llu\n",
			    names[i], got.exists, (unsigned long long)got.size,
			    m->now[i].exists,
			    (unsigned long long)m->now[i].size);
		fail();
	}
	/* The orphans a crash or a failure left are reclaimed. */
	assert_int_equal(r->files.norphans, 0);
	region_detach(r);
}

/* ---- the workloads ------------------------------------------------------ */

/* remove_region -- unlink a region's data file and its metadata file
 * (PATH.meta). */
static void
remove_region(const char *path)
{
	char meta[256];

	snprintf(meta, sizeof(meta), "%s.meta", path);
	unlink(path);
	unlink(meta);
}

/* make_base -- with faults off, a region with files a (3 MiB + 100, a
 * partial last page) and b (64 KiB), an orphan left for the next attach to
 * reclaim, and a committed transaction not checkpointed, for its replay. */
static void
make_base(const char *path, struct model *m)
{
	struct region *r = NULL;
	struct inode *a, *b, *o;
	char err[REGION_ERR_MAX];

	fault_reset();
	remove_region(path);
	assert_int_equal(do_attach(path, true, &r, err), 0);
	assert_int_equal(
		inode_create(&r->files, "a", 3 * MiB + 100, 0644, 0, 0, &a), 0);
	assert_int_equal(
		inode_create(&r->files, "o", 256 * KiB, 0644, 0, 0, &o), 0);
	assert_int_equal(inode_orphan(&r->files, o), 0);
	assert_int_equal(inode_create(&r->files, "b", 64 * KiB, 0644, 0, 0, &b),
			 0);
	/* Detach skips the checkpoint of a failed region, which leaves the
	 * last transaction for the next attach to replay. */
	r->files.failed = true;
	region_detach(r);
	memset(m, 0, sizeof(*m));
	m->now[FA] = (struct fstate){true, 3 * MiB + 100};
	m->now[FB] = (struct fstate){true, 64 * KiB};
}

/* run_ops -- attach the base region with group commit and change it:
 * create, grow (with a tail to zero), fill holes as a grant does, shrink,
 * orphan and free an orphan, unlink; then detach (a checkpoint). */
static void
run_ops(const char *path, struct model *m)
{
	struct region *r = NULL;
	struct inode *a, *b, *c = NULL;
	char err[REGION_ERR_MAX];
	int rs, rc;

	rc = do_attach(path, false, &r, err);
	if (rc) {
		clean_error(rc, "attach");
		assert_true(err[0] != 0);
		assert_null(r);
		return;
	}
	r->files.group_commit = true;
	a = inode_find(&r->files, "a");
	b = inode_find(&r->files, "b");
	assert_non_null(a);
	assert_non_null(b);

	rs = inode_create(&r->files, "c", 200 * KiB, 0600, 0, 0, &c);
	rc = commit_of(r, rs, "create");
	model_op(m, r, FC, (struct fstate){true, 200 * KiB}, rs, rc);
	if (rs < 0)
		c = NULL;

	rs = inode_resize(&r->files, a, 5 * MiB + 10 * KiB);
	rc = commit_of(r, rs, "grow");
	model_op(m, r, FA, (struct fstate){true, 5 * MiB + 10 * KiB}, rs, rc);

	/* A grant's hole filling: data only, never a change of the
	 * metadata; a failure costs the client its large pages. */
	for (size_t i = 0; i < a->map.n; i++) {
		rs = region_fill(r, a->map.v[i].region_pg, a->map.v[i].npages);
		if (rs < 0)
			clean_error(rs, "fill");
	}

	rs = inode_resize(&r->files, a, 1 * MiB);
	rc = commit_of(r, rs, "shrink");
	model_op(m, r, FA, (struct fstate){true, 1 * MiB}, rs, rc);

	/* Unlink of a leased file: an orphan, freed at its final unpin. */
	rs = inode_orphan(&r->files, b);
	rc = commit_of(r, rs, "orphan");
	model_op(m, r, FB, (struct fstate){false, 0}, rs, rc);
	if (rs == 0 && b->orphan) {
		rs = inode_unlink(&r->files, b);
		(void)commit_of(r, rs, "orphan free");
	}

	if (c) {
		rs = inode_unlink(&r->files, c);
		rc = commit_of(r, rs, "unlink");
		model_op(m, r, FC, (struct fstate){false, 0}, rs, rc);
	}
	region_detach(r);
}

/* The number of commits that fills the journal of the base region (the
 * counting run learns it): the faulty runs make as many, and two more. */
static unsigned wrap_ops;

/* run_wrap -- commit small changes until the journal is full, so that a
 * commit checkpoints and the log starts over, then two more. The counting
 * run (faults off) sets the focus on the commit that starts over. */
static void
run_wrap(const char *path, struct model *m)
{
	bool counting = wrap_ops == 0;
	struct region *r = NULL;
	char err[REGION_ERR_MAX];
	uint64_t before[FAULT_NCLASS];
	struct inode *a;
	int rs, rc;

	rc = do_attach(path, false, &r, err);
	if (rc) {
		clean_error(rc, "attach");
		return;
	}
	r->files.group_commit = true;
	a = inode_find(&r->files, "a");
	assert_non_null(a);
	for (unsigned i = 0; counting || i < wrap_ops + 2; i++) {
		uint64_t size = 3 * MiB + 100 + (i % 2) * 8 * KiB;
		uint64_t pos = r->journal.pos;

		for (int c = 0; c < FAULT_NCLASS; c++)
			before[c] = fault_count(c);
		rs = inode_resize(&r->files, a, size);
		rc = commit_of(r, rs, "resize");
		model_op(m, r, FA, (struct fstate){true, size}, rs, rc);
		if (counting && r->journal.pos < pos) {
			for (int c = 0; c < FAULT_NCLASS; c++) {
				focus[c].lo = before[c] + 1;
				focus[c].hi = fault_count(c) + 1;
			}
			wrap_ops = i + 1;
			counting = false;
		}
		assert_true(i < 4096);
	}
	region_detach(r);
}

/* run_format -- create and format a region, create a file in it. */
static void
run_format(const char *path, struct model *m)
{
	struct region *r = NULL;
	struct inode *x = NULL;
	char err[REGION_ERR_MAX];
	int rs, rc;

	rc = do_attach(path, true, &r, err);
	if (rc) {
		clean_error(rc, "attach --create");
		assert_true(err[0] != 0);
		return;
	}
	r->files.group_commit = true;
	rs = inode_create(&r->files, "c", 300 * KiB, 0600, 0, 0, &x);
	rc = commit_of(r, rs, "create");
	model_op(m, r, FC, (struct fstate){true, 300 * KiB}, rs, rc);
	region_detach(r);
}

/* ---- the drivers -------------------------------------------------------- */

typedef void prepare_fn(const char *path, struct model *m);
typedef void run_fn(const char *path, struct model *m);

static void
prepare_none(const char *path, struct model *m)
{
	remove_region(path);
	memset(m, 0, sizeof(*m));
}

/* check_format -- a failed create leaves no region (no metadata file),
 * or a whole one. */
static void
check_format(const char *path, const struct model *m)
{
	char meta[256];
	struct stat st;

	snprintf(meta, sizeof(meta), "%s.meta", path);
	if (stat(meta, &st) < 0 && errno == ENOENT) {
		assert_false(m->now[FC].exists);
		return;
	}
	check_after(path, m);
}

/* next_k -- the k after @k to try of @n sites of class @c: all of them
 * with PAGEMAP_FAULTS_ALL=1, else every one up to SAMPLE_ALL and in the
 * focus, and SAMPLE_SPREAD more spread evenly over the rest. */
static uint64_t
next_k(enum fault_class c, uint64_t k, uint64_t n)
{
	const char *all = getenv("PAGEMAP_FAULTS_ALL");
	uint64_t step;

	if ((all && strcmp(all, "1") == 0) || k < SAMPLE_ALL ||
	    n <= SAMPLE_ALL || (k >= focus[c].lo && k < focus[c].hi))
		return k + 1;
	step = (n - SAMPLE_ALL) / SAMPLE_SPREAD;
	if (k < focus[c].lo && k + step > focus[c].lo)
		return focus[c].lo;
	return k + (step ? step : 1);
}

static const char *
class_name(enum fault_class c)
{
	return c == FAULT_ALLOC ? "allocation" : c == FAULT_IO ? "I/O" : "sync";
}

/* sweep -- count the sites of class @c in @run, then fail each k-th
 * (sampled), once and persistently, checking every outcome. */
static void
sweep(const char *path, enum fault_class c, prepare_fn *prepare, run_fn *run,
      bool format)
{
	struct model m;
	uint64_t n, tried = 0;

	memset(focus, 0, sizeof(focus));
	prepare(path, &m);
	fault_reset();
	run(path, &m);
	n = fault_count(c);
	fault_reset();
	assert_true(n > 0);
	for (int persistent = 0; persistent < 2; persistent++) {
		for (uint64_t k = 1; k <= n; k = next_k(c, k, n)) {
			prepare(path, &m);
			if (getenv("PAGEMAP_FAULTS_VERBOSE"))
				print_message("%s k=%llu%s\n", class_name(c),
					      (unsigned long long)k,
					      persistent ? "+" : "");
			fault_arm(c, k, persistent);
			run(path, &m);
			assert_true(fault_failed(c) > 0);
			if (format)
				check_format(path, &m);
			else
				check_after(path, &m);
			tried++;
		}
	}
	print_message("%s faults: %llu sites, %llu runs", class_name(c),
		      (unsigned long long)n, (unsigned long long)tried);
	if (focus[c].hi)
		print_message(" (every one of sites %llu..%llu)",
			      (unsigned long long)focus[c].lo,
			      (unsigned long long)focus[c].hi - 1);
	print_message("\n");
}

static void
allocation_faults_in_file_operations_are_clean(void **state)
{
	struct regionfix *f = *state;

	sweep(f->path, FAULT_ALLOC, make_base, run_ops, false);
}

static void
allocation_faults_in_create_and_format_are_clean(void **state)
{
	struct regionfix *f = *state;

	sweep(f->path, FAULT_ALLOC, prepare_none, run_format, true);
}

static void
io_faults_in_file_operations_are_clean(void **state)
{
	struct regionfix *f = *state;

	sweep(f->path, FAULT_IO, make_base, run_ops, false);
}

static void
io_faults_in_create_and_format_are_clean(void **state)
{
	struct regionfix *f = *state;

	sweep(f->path, FAULT_IO, prepare_none, run_format, true);
}

/* A commit that finds the journal full checkpoints first. */
static void
faults_where_the_journal_starts_over_are_clean(void **state)
{
	struct regionfix *f = *state;

	for (int c = 0; c < FAULT_NCLASS; c++) {
		wrap_ops = 0;
		sweep(f->path, c, make_base, run_wrap, false);
	}
}

static void
sync_faults_in_file_operations_fail_the_region(void **state)
{
	struct regionfix *f = *state;

	sweep(f->path, FAULT_SYNC, make_base, run_ops, false);
}

static void
sync_faults_in_create_and_format_are_clean(void **state)
{
	struct regionfix *f = *state;

	sweep(f->path, FAULT_SYNC, prepare_none, run_format, true);
}

/* A failed persist is not retried: the region is read-only from then on,
 * with faults off too; reads still work, and the next attach finds the
 * file as before or after the change. */
static void
failed_persist_makes_the_region_read_only(void **state)
{
	struct regionfix *f = *state;
	struct region *r = NULL;
	struct inode *a, *c = NULL;
	char err[REGION_ERR_MAX];
	struct model m;

	for (int group = 0; group < 2; group++) {
		int rc;

		make_base(f->path, &m);
		assert_int_equal(do_attach(f->path, false, &r, err), 0);
		r->files.group_commit = group;
		fault_arm(FAULT_SYNC, 1, false);
		rc = inode_create(&r->files, "c", 64 * KiB, 0600, 0, 0, &c);
		if (group) {
			assert_int_equal(rc, 0);
			rc = region_commit(r);
		}
		assert_int_equal(rc, -EIO);
		assert_int_equal(fault_failed(FAULT_SYNC), 1);
		fault_reset();
		assert_true(r->files.failed);
		assert_string_equal(state_of(r), "failed");
		a = inode_find(&r->files, "a");
		assert_non_null(a);
		assert_int_equal(
			inode_create(&r->files, "d", 4096, 0600, 0, 0, &c),
			-EROFS);
		assert_int_equal(inode_resize(&r->files, a, 0), -EROFS);
		assert_int_equal(inode_orphan(&r->files, a), -EROFS);
		assert_int_equal(inode_unlink(&r->files, a), -EROFS);
		assert_int_equal(region_commit(r), 0); /* nothing staged */
		assert_non_null(strstr(inode_strerror(-EROFS), "fsck"));
		region_detach(r);
		m.alt[FC] = (struct fstate){true, 64 * KiB};
		m.uncertain[FC] = true;
		check_after(f->path, &m);
	}
}

/* The counters see the calls, and arming fails exactly the k-th. */
static void
armed_fault_fails_the_kth_call_once_or_from_then_on(void **state)
{
	(void)state;
	fault_arm(FAULT_ALLOC, 3, false);
	assert_false(fault_hit(FAULT_ALLOC));
	assert_false(fault_hit(FAULT_ALLOC));
	assert_true(fault_hit(FAULT_ALLOC));
	assert_false(fault_hit(FAULT_ALLOC));
	assert_int_equal(fault_count(FAULT_ALLOC), 4);
	assert_int_equal(fault_failed(FAULT_ALLOC), 1);
	assert_false(fault_hit(FAULT_IO));
	fault_arm(FAULT_IO, 2, true);
	assert_false(fault_hit(FAULT_IO));
	assert_true(fault_hit(FAULT_IO));
	assert_true(fault_hit(FAULT_IO));
	assert_int_equal(fault_failed(FAULT_IO), 2);
	fault_reset();
	assert_false(fault_hit(FAULT_IO));
	assert_int_equal(fault_count(FAULT_IO), 1);
	fault_reset();
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(armed_fault_fails_the_kth_call_once_or_from_then_on),
		T(allocation_faults_in_file_operations_are_clean),
		T(allocation_faults_in_create_and_format_are_clean),
		T(io_faults_in_file_operations_are_clean),
		T(io_faults_in_create_and_format_are_clean),
		T(sync_faults_in_file_operations_fail_the_region),
		T(sync_faults_in_create_and_format_are_clean),
		T(failed_persist_makes_the_region_read_only),
		T(faults_where_the_journal_starts_over_are_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_threads.c -- a threaded stress run through the real paths: several
 * threads of one client process map, stamp, verify and unmap random
 * ranges of two files through libpagemap under held write leases, while
 * other processes revoke those leases and truncate the files (and grow
 * them back); the run stops at regular points for the I1 checker
 * (i1check.c).
 *
 * Each thread owns a slice of one of the files. It stamps every page it
 * maps (at the page's start and end) with its thread, its mapping and the
 * page, and checks every stamp before it unmaps — also when the unmap
 * answers a recall. A page that the daemon freed, zeroed or handed to
 * the other file (a truncate frees blocks, a regrow takes blocks) while
 * it was granted would lose a stamp (I1). The two files share the region,
 * so a freed block reused too early is written by a thread of the other
 * file.
 *
 * Threading follows include/pagemap.h: every call on a handle may come
 * from several threads at once, so the threads share the driver's handle
 * (each with its own lease); see SHARED-HANDLE MODE below.
 *
 * PAGEMAP_STRESS_SECONDS sets how long it runs (default 8);
 * PAGEMAP_TEST_SEED the seed (printed).
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fdcheck.h"
#include "fsck.h"
#include "harness.h"
#include "i1check.h"
#include "pagemap.h"
#include "rawclient.h"
#include "rng.h"

#define THREADS 4
#define FILES 2
#define FILE_SIZE (32ull << 20)
#define SLICE (FILE_SIZE / (THREADS / FILES)) /* a thread's part of a file */
#define PAGE 4096ull
#define MAX_PAGES 512  /* the longest range a thread maps: 2 MiB */
#define STAMP 32       /* bytes stamped at a page's start and at its end */
#define WAIT_OP_MS 100 /* timeout of revokes and truncates */
#define ROUND_MS 500   /* run time between two checks */
#define PAUSE_MS 60000 /* bound on reaching or leaving a pause */

/*
 * SHARED-HANDLE MODE -- the default. include/pagemap.h lets several
 * threads call pagemap_map(), pagemap_unmap() and pagemap_dispatch() on
 * one handle at once; the threads share the handle the driver connects
 * (each still with its own lease), and the recall handler finds the
 * thread a recall is for by lease id, whichever thread dispatched it.
 * PAGEMAP_STRESS_SHARED_HANDLE=0 gives each thread a handle of its own
 * (thread_handle()) instead.
 */
static bool shared_handle;

enum phase { RUN, PAUSE, STOP };

/* What the threads, the other processes and the driver share (a
 * MAP_SHARED page, so that forked processes count into it too). */
struct shared {
	atomic_int phase;
	atomic_int paused; /* participants waiting in the current pause */
	/* threads */
	atomic_ulong cycles;	   /* map + stamp + verify + unmap */
	atomic_ulong pages;	   /* pages stamped and verified */
	atomic_ulong nowait;	   /* unmaps through pagemap_unmap_nowait */
	atomic_ulong recalled;	   /* recalls of a range mapped at the time */
	atomic_ulong map_busy;	   /* map refused: a recall covers it */
	atomic_ulong map_past_end; /* map refused: truncated below it */
	atomic_ulong lease_gone;   /* map on a lease the daemon ended */
	atomic_ulong leases;	   /* leases taken */
	atomic_ulong broken;	   /* stamps lost: I1 violated */
	atomic_ulong errors;	   /* unexpected errors */
	/* the other processes */
	atomic_ulong revoked, revoke_timeout, revoke_gone;
	atomic_ulong shrunk, shrink_timeout, grown, grow_busy;
};

static struct daemon d;
static char region_path[PATH_MAX];
static struct shared *sh;
static pid_t procs[2]; /* killed by teardown if a check fails */

/* complain -- an unexpected error: count it and say what it was. */
static void complain(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void
complain(const char *fmt, ...)
{
	va_list ap;

	/* The first few say what went wrong; a flood says nothing more. */
	if (atomic_fetch_add(&sh->errors, 1) >= 20)
		return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* pause_point -- wait here while the driver checks; false when the run
 * is over. Bounded: a driver gone for a minute ends the participant. */
static bool
pause_point(void)
{
	int ph = atomic_load(&sh->phase);

	if (ph == PAUSE) {
		atomic_fetch_add(&sh->paused, 1);
		for (int i = 0;
		     i < PAUSE_MS && (ph = atomic_load(&sh->phase)) == PAUSE;
		     i++)
			poll(NULL, 0, 1);
		if (ph == PAUSE) {
			complain("a pause lasted a minute");
			return false;
		}
	}
	return ph != STOP;
}

static void
file_name(int file, char *buf, size_t len)
{
	snprintf(buf, len, "t%d", file);
}

/* ---- the mapping threads ----------------------------------------------- */

struct thread {
	int idx;
	int file;      /* the file whose slice it maps */
	uint64_t base; /* the slice's first byte */
	struct rng rng;
	struct pagemap *pm;
	struct pagemap_lease *l;
	atomic_ulong lease_id; /* 0: none (read by the recall handler) */
	atomic_bool recalled;  /* a recall for lease_id came */
	atomic_bool revoked;   /* ... and it ends the lease */
	unsigned seq;	       /* mappings made */
	pthread_t tid;
};

static struct thread threads[THREADS];
static struct pagemap *shared_pm; /* SHARED-HANDLE MODE only */

/* on_recall -- note the recall on the thread whose lease it names; the
 * thread checks its stamps and unmaps (which answers) right after its
 * dispatch. */
static void
on_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t lease_id,
	  uint64_t offset, uint64_t length, enum pagemap_recall_reason reason,
	  void *arg)
{
	(void)pm;
	(void)l;
	(void)offset;
	(void)length;
	(void)arg;
	for (int i = 0; i < THREADS; i++) {
		struct thread *t = &threads[i];

		if (atomic_load(&t->lease_id) != lease_id)
			continue;
		if (reason == PAGEMAP_RECALL_REVOKE)
			atomic_store(&t->revoked, true);
		atomic_store(&t->recalled, true);
	}
}

/* thread_handle -- the handle a thread maps through: its own, or in
 * SHARED-HANDLE MODE the driver's. 0 or -errno. */
static int
thread_handle(struct thread *t)
{
	int err;

	if (shared_handle) {
		t->pm = shared_pm;
		return 0;
	}
	err = pagemap_connect(d.socket, "thread", &t->pm);
	if (err == 0)
		pagemap_set_recall_handler(t->pm, on_recall, NULL);
	return err;
}

static void
stamp_of(const struct thread *t, uint64_t page, bool end, char *buf)
{
	memset(buf, 0, STAMP);
	snprintf(buf, STAMP, "t%d m%u p%" PRIu64 "%s", t->idx, t->seq, page,
		 end ? " end" : "");
}

static void
stamp(const struct thread *t, char *p, uint64_t npages, uint64_t first)
{
	for (uint64_t i = 0; i < npages; i++) {
		char *pg = p + i * PAGE;

		stamp_of(t, first + i, false, pg);
		stamp_of(t, first + i, true, pg + PAGE - STAMP);
	}
}

/* verify -- every stamp is still there; counts and reports lost ones. */
static void
verify(const struct thread *t, const char *p, uint64_t npages, uint64_t first)
{
	for (uint64_t i = 0; i < npages; i++) {
		const char *pg = p + i * PAGE;
		char a[STAMP], b[STAMP];

		stamp_of(t, first + i, false, a);
		stamp_of(t, first + i, true, b);
		if (memcmp(pg, a, STAMP) == 0 &&
		    memcmp(pg + PAGE - STAMP, b, STAMP) == 0)
			continue;
		atomic_fetch_add(&sh->broken, 1);
		fprintf(stderr,
			"thread %d: I1 violated: file t%d page %" PRIu64
			" (lease %lu) lost its stamp while granted\n",
			t->idx, t->file, first + i, atomic_load(&t->lease_id));
	}
	atomic_fetch_add(&sh->pages, npages);
}

/* drop_lease -- release the thread's lease (one the daemon ended is
 * freed with 0); returns its cached grants. */
static void
drop_lease(struct thread *t)
{
	int err;

	if (t->l == NULL)
		return;
	err = pagemap_lease_release(t->l);
	if (err)
		complain("thread %d: release: %s", t->idx,
			 pagemap_strerror(err));
	t->l = NULL;
	atomic_store(&t->lease_id, 0);
	atomic_store(&t->revoked, false);
}

/* take_lease -- a write lease on the thread's file; false when there is
 * none to be had now (a recall or the daemon refused: try again). */
static bool
take_lease(struct thread *t)
{
	char name[16];
	int err;

	file_name(t->file, name, sizeof(name));
	err = pagemap_lease_acquire(t->pm, "r", name, PAGEMAP_WRITE, &t->l);
	if (err) {
		if (err != -EBUSY)
			complain("thread %d: lease: %s", t->idx,
				 pagemap_strerror(err));
		t->l = NULL;
		return false;
	}
	atomic_store(&t->revoked, false);
	atomic_store(&t->recalled, false);
	atomic_store(&t->lease_id, pagemap_lease_id(t->l));
	atomic_fetch_add(&sh->leases, 1);
	return true;
}

/* cycle -- map a random range of the slice, stamp it, let a check
 * happen, answer recalls, verify, unmap. */
static void
cycle(struct thread *t)
{
	uint64_t pg = rng_below(&t->rng, SLICE / PAGE), n, off;
	struct pagemap_mapping *m;
	bool nowait;
	char *p;
	int err;

	if (t->l == NULL && !take_lease(t))
		return;
	/* Whole 2 MiB folios one time in four, else any page run. */
	if (rng_below(&t->rng, 4) == 0) {
		pg &= ~(uint64_t)(MAX_PAGES - 1);
		n = MAX_PAGES;
	} else {
		n = 1 + rng_below(&t->rng, MAX_PAGES);
		if (pg + n > SLICE / PAGE)
			n = SLICE / PAGE - pg;
	}
	off = t->base + pg * PAGE;
	err = pagemap_map(t->l, off, n * PAGE, PAGEMAP_WRITE, &m);
	switch (err) {
	case 0:
		break;
	case -EBUSY:
		atomic_fetch_add(&sh->map_busy, 1);
		return;
	case -ENXIO:
		atomic_fetch_add(&sh->map_past_end, 1);
		return;
	case -ENOENT:
	case -ENOLINK:
		/* Revoked while nothing of it was mapped. */
		atomic_fetch_add(&sh->lease_gone, 1);
		drop_lease(t);
		return;
	default:
		complain("thread %d: map %#" PRIx64 "+%" PRIu64 " pages: %s",
			 t->idx, off, n, pagemap_strerror(err));
		return;
	}
	t->seq++;
	p = pagemap_mapping_addr(m);
	if (pagemap_mapping_offset(m) != off ||
	    pagemap_mapping_length(m) != n * PAGE)
		complain("thread %d: mapping of %#" PRIx64 " is %#" PRIx64
			 "+%" PRIu64,
			 t->idx, off, pagemap_mapping_offset(m),
			 pagemap_mapping_length(m));
	stamp(t, p, n, off / PAGE);
	(void)pause_point(); /* the checker sees this mapping's grants */
	atomic_store(&t->recalled, false);
	err = pagemap_dispatch(t->pm);
	if (err < 0)
		complain("thread %d: dispatch: %s", t->idx,
			 pagemap_strerror(err));
	if (atomic_load(&t->recalled))
		atomic_fetch_add(&sh->recalled, 1);
	verify(t, p, n, off / PAGE);
	nowait = rng_below(&t->rng, 4) == 0;
	err = nowait ? pagemap_unmap_nowait(m) : pagemap_unmap(m);
	if (err && err != -ENOENT)
		complain("thread %d: unmap: %s", t->idx, pagemap_strerror(err));
	atomic_fetch_add(&sh->cycles, 1);
	atomic_fetch_add(&sh->nowait, nowait);
	/* A revoke ends the lease once its grants are back; now and then
	 * a thread lets its lease go and takes a new one itself. */
	if (atomic_load(&t->revoked) || rng_below(&t->rng, 64) == 0) {
		if (nowait && (err = pagemap_flush(t->pm)) && err != -ENOENT)
			complain("thread %d: flush: %s", t->idx,
				 pagemap_strerror(err));
		drop_lease(t);
	}
}

static void *
thread_main(void *arg)
{
	struct thread *t = arg;

	while (pause_point())
		cycle(t);
	drop_lease(t);
	if (!shared_handle)
		pagemap_close(t->pm);
	return NULL;
}

/* ---- the revoking and truncating processes ---------------------------- */

/* revoker -- revoke a random lease of the region, again and again. */
static void
revoker(struct pagemap *pm, struct rng *r)
{
	while (pause_point()) {
		struct pagemap_lease_info **v;
		size_t n;
		int err = pagemap_lease_list(pm, "r", NULL, &v, &n);

		if (err) {
			complain("revoker: lease ls: %s",
				 pagemap_strerror(err));
			return;
		}
		if (n) {
			uint64_t id = v[rng_below(r, n)]->id;

			err = pagemap_lease_revoke(pm, id, WAIT_OP_MS);
			if (err == 0)
				atomic_fetch_add(&sh->revoked, 1);
			else if (err == -ETIMEDOUT)
				atomic_fetch_add(&sh->revoke_timeout, 1);
			else if (err == -ENOENT || err == -EBUSY)
				/* ended, or a revoke that timed out is still
				 * in force */
				atomic_fetch_add(&sh->revoke_gone, 1);
			else
				complain("revoker: revoke %" PRIu64 ": %s", id,
					 pagemap_strerror(err));
		}
		pagemap_free(v);
		/* Pace: the threads get some cycles between revokes. */
		poll(NULL, 0, (int)rng_range(r, 2, 20));
	}
}

/* grow -- grow every file that @small marks back to its full size. */
static void
grow(struct pagemap *pm, bool *small)
{
	for (int k = 0; k < FILES; k++) {
		char name[16];
		int err;

		if (!small[k])
			continue;
		file_name(k, name, sizeof(name));
		err = pagemap_file_truncate(pm, "r", name, FILE_SIZE,
					    WAIT_OP_MS, NULL);
		if (err == 0) {
			atomic_fetch_add(&sh->grown, 1);
			small[k] = false;
		} else if (err == -EBUSY || err == -ETIMEDOUT) {
			atomic_fetch_add(&sh->grow_busy, 1);
		} else {
			complain("truncater: grow %s: %s", name,
				 pagemap_strerror(err));
		}
	}
}

/* truncater -- shrink a file to a random size, then grow it back (a
 * shrink that timed out completes at its final unpin; until then a grow
 * is refused, so it is tried again the next time round). */
static void
truncater(struct pagemap *pm, struct rng *r)
{
	bool small[FILES] = {false};

	while (pause_point()) {
		int f = (int)rng_below(r, FILES), err;
		char name[16];

		grow(pm, small);
		file_name(f, name, sizeof(name));
		err = pagemap_file_truncate(
			pm, "r", name, rng_below(r, FILE_SIZE / PAGE) * PAGE,
			WAIT_OP_MS, NULL);
		if (err == 0)
			atomic_fetch_add(&sh->shrunk, 1);
		else if (err == -ETIMEDOUT || err == -EBUSY)
			atomic_fetch_add(&sh->shrink_timeout, 1);
		else
			complain("truncater: shrink %s: %s", name,
				 pagemap_strerror(err));
		small[f] = true;
		/* Pace: the file stays short for a moment (grown back at
		 * the top of the loop), then the threads get some cycles
		 * at its full size. */
		poll(NULL, 0, (int)rng_range(r, 0, 3));
		grow(pm, small);
		poll(NULL, 0, (int)rng_range(r, 5, 30));
	}
	/* Leave the files whole for the final check. */
	for (int k = 0; k < FILES; k++) {
		char name[16];
		int err = -EBUSY;

		file_name(k, name, sizeof(name));
		for (int i = 0; i < 100 && small[k] && err; i++)
			err = pagemap_file_truncate(pm, "r", name, FILE_SIZE,
						    WAIT_OP_MS, NULL);
	}
}

static pid_t
spawn(void (*fn)(struct pagemap *, struct rng *), uint64_t seed, int checker)
{
	pid_t pid = fork();
	struct pagemap *pm;
	struct rng r;

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close(checker);
	rng_init(&r, seed);
	if (pagemap_connect(d.socket, "stresser", &pm)) {
		complain("cannot connect");
		_exit(2);
	}
	fn(pm, &r);
	pagemap_close(pm);
	_exit(0);
}

/* ---- the driver ------------------------------------------------------- */

/* vm_areas -- the mappings of this process (lines of /proc/self/maps). */
static unsigned
vm_areas(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned n = 0;
	int c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* pause_all -- stop everyone at a pause point (bounded). */
static void
pause_all(int participants)
{
	atomic_store(&sh->paused, 0);
	atomic_store(&sh->phase, PAUSE);
	for (int i = 0; i < PAUSE_MS && atomic_load(&sh->paused) < participants;
	     i++)
		poll(NULL, 0, 1);
	assert_int_equal(atomic_load(&sh->paused), participants);
}

static unsigned
run_seconds(void)
{
	const char *s = getenv("PAGEMAP_STRESS_SECONDS");
	unsigned v = s ? (unsigned)strtoul(s, NULL, 10) : 0;

	return v ? v : 8;
}

static void
threads_race_revoke_and_truncate_without_breaking_i1(void **state)
{
	uint64_t seed = rng_seed("threads", 12);
	unsigned rounds = run_seconds() * 1000 / ROUND_MS;
	int checker, participants = THREADS + 2;
	unsigned vmas_before, vmas_after;
	struct i1_stats i1 = {0};
	struct fsck_report rep;
	struct pagemap *pm;

	(void)state;
	shared_handle = getenv("PAGEMAP_STRESS_SHARED_HANDLE") == NULL ||
			strcmp(getenv("PAGEMAP_STRESS_SHARED_HANDLE"), "0") != 0;
	assert_int_equal(pagemap_connect(d.socket, "driver", &pm), 0);
	for (int f = 0; f < FILES; f++) {
		char name[16];

		file_name(f, name, sizeof(name));
		assert_int_equal(
			pagemap_file_create(pm, "r", name, FILE_SIZE, -1, NULL),
			0);
	}
	/* Fork before any thread exists, and without our connection. */
	pagemap_close(pm);
	checker = raw_connect(d.socket, 1);
	procs[0] = spawn(revoker, seed ^ 0x5245564f4b45ull, checker);
	procs[1] = spawn(truncater, seed ^ 0x5452554e43ull, checker);
	assert_true(procs[0] > 0 && procs[1] > 0);
	vmas_before = vm_areas();
	if (shared_handle) {
		assert_int_equal(
			pagemap_connect(d.socket, "threads", &shared_pm), 0);
		pagemap_set_recall_handler(shared_pm, on_recall, NULL);
	}
	for (int i = 0; i < THREADS; i++) {
		struct thread *t = &threads[i];

		t->idx = i;
		t->file = i % FILES;
		t->base = (uint64_t)(i / FILES) * SLICE;
		rng_init(&t->rng, seed + (uint64_t)i);
		assert_int_equal(thread_handle(t), 0);
		assert_int_equal(pthread_create(&t->tid, NULL, thread_main, t),
				 0);
	}
	for (unsigned k = 0; k < rounds; k++) {
		poll(NULL, 0, ROUND_MS); /* run time, not a synchronization */
		pause_all(participants);
		i1_check(checker, "r", (int)k, &i1);
		atomic_store(&sh->phase, RUN);
	}
	atomic_store(&sh->phase, STOP);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(threads[i].tid, NULL), 0);
	if (shared_handle)
		pagemap_close(shared_pm);
	/* Every handle is closed: what the mappings left of the address
	 * space is shown and checked. */
	vmas_after = vm_areas();
	/* Every reservation went with its mapping: what is left is the
	 * threads' stacks and the allocator's arenas (about 20 areas, 100
	 * under ASan), not one area per map (thousands). */
	assert_true(vmas_after < vmas_before + 256);
	for (int i = 0; i < 2; i++) {
		int st;

		assert_int_equal(waitpid(procs[i], &st, 0), procs[i]);
		procs[i] = 0;
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	print_message(
		"seed %" PRIu64 ", %u s, %d threads (%s): %lu cycles, "
		"%lu pages stamped and verified, %lu unmaps without waiting, "
		"%lu leases\n"
		"races: %lu recalls of mapped ranges, %lu maps refused by a "
		"recall, %lu past a truncated end, %lu on a revoked lease\n"
		"revokes: %lu done, %lu timed out, %lu of ended or revoking "
		"leases; "
		"shrinks: %lu done, %lu timed out or refused; grows: %lu done, "
		"%lu refused\n"
		"I1 checks: %" PRIu64 " (%" PRIu64 " with grants out, at most "
		"%" PRIu64 " grants and %" PRIu64 " leases)\n"
		"address space: %u mappings before the threads, %u after "
		"every handle closed\n",
		seed, run_seconds(), THREADS,
		shared_handle ? "one shared handle" : "a handle each",
		atomic_load(&sh->cycles), atomic_load(&sh->pages),
		atomic_load(&sh->nowait), atomic_load(&sh->leases),
		atomic_load(&sh->recalled), atomic_load(&sh->map_busy),
		atomic_load(&sh->map_past_end), atomic_load(&sh->lease_gone),
		atomic_load(&sh->revoked), atomic_load(&sh->revoke_timeout),
		atomic_load(&sh->revoke_gone), atomic_load(&sh->shrunk),
		atomic_load(&sh->shrink_timeout), atomic_load(&sh->grown),
		atomic_load(&sh->grow_busy), i1.checks, i1.busy, i1.max_grants,
		i1.max_leases, vmas_before, vmas_after);
	if (atomic_load(&sh->broken))
		fail_msg("%lu stamps lost while granted: I1 violated",
			 atomic_load(&sh->broken));
	if (atomic_load(&sh->errors))
		fail_msg("%lu unexpected errors (above)",
			 atomic_load(&sh->errors));
	/* The run did what it claims: it mapped, recalls reached mapped
	 * ranges, and revokes and shrinks completed under it. */
	assert_true(atomic_load(&sh->cycles) > 100);
	assert_true(atomic_load(&sh->recalled) > 0);
	assert_true(atomic_load(&sh->revoked) > 0);
	assert_true(atomic_load(&sh->shrunk) > 0);
	assert_true(i1.checks == rounds);
	/* Every lease is released: nothing may stay pinned. */
	for (int i = 0; i < 2000 && i1_grants_now(checker); i++)
		poll(NULL, 0, 5);
	assert_int_equal(i1_grants_now(checker), 0);
	i1_check(checker, "r", (int)rounds, &i1);
	close(checker);
	assert_int_equal(daemon_stop(&d), 0);
	assert_int_equal(fsck_region(region_path, &rep, stderr), 0);
	assert_int_equal(rep.errors, 0);
}

static int
setup(void **state)
{
	const char *regions[] = {"r=r.pmem,size=256M,create", NULL};
	int rc;

	(void)state;
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	memset(sh, 0, sizeof(*sh));
	rc = daemon_start_regions(&d, regions);
	snprintf(region_path, sizeof(region_path), "%s/r.pmem", d.dir);
	return rc;
}

static int
teardown(void **state)
{
	(void)state;
	atomic_store(&sh->phase, STOP);
	for (int i = 0; i < 2; i++) {
		if (procs[i] > 0) {
			kill(procs[i], SIGKILL);
			waitpid(procs[i], NULL, 0);
		}
	}
	munmap(sh, sizeof(*sh));
	return daemon_cleanup(&d) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(
			threads_race_revoke_and_truncate_without_breaking_i1),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

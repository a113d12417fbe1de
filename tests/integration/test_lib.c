/* test_lib.c -- libpagemap against a real daemon: contiguous, huge-page
 * aligned mappings of the file's bytes, MADV_DONTFORK, grants coming back
 * on unmap and close, recalls delivered from pagemap_dispatch(), error
 * codes, listings, the region fd, and 1 GiB of 4 KiB folios paged through
 * pagemap_grant(). Other processes are forked children with their own
 * connection; they report through their exit status, never through cmocka
 * (an assertion in a child would run the rest of the suite there). */
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
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "fdcheck.h"
#include "harness.h"
#include "pagemap.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define WAIT_MS 30000 /* bound on anything that should happen promptly */

struct fixture {
	struct daemon d;
	char region[PATH_MAX]; /* backing file of region "r" */
	struct pagemap *pm;    /* this process's connection */
};

static int
start(void **state, bool gig)
{
	const char *regions[] = {
		"r=r.pmem,size=64M,create",
		gig ? "z=z.pmem,size=1100M,create,max_order=0" : NULL, NULL};
	struct fixture *f = daemon_setup(state, sizeof(*f), regions);
	int err;

	if (f == NULL)
		return -1;
	snprintf(f->region, sizeof(f->region), "%s/r.pmem", f->d.dir);
	err = pagemap_connect(f->d.socket, "libtest", &f->pm);
	if (err)
		fprintf(stderr, "connect: %s\n", pagemap_strerror(err));
	return err ? -1 : 0;
}

static int
setup(void **state)
{
	return start(state, false);
}

static int
setup_gig(void **state)
{
	return start(state, true);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int st;

	pagemap_close(f->pm);
	st = daemon_finish(&f->d);
	free(f);
	if (fdcheck_end() < 0)
		return -1;
	return st;
}

/* ---- helpers -------------------------------------------------------- */

#define OK(call)                                                               \
	do {                                                                   \
		int rv_ = (call);                                              \
		if (rv_ != 0)                                                  \
			fail_msg("%s: %s (%s)", #call, pagemap_strerror(rv_),  \
				 pagemap_last_message(f->pm));                 \
	} while (0)

static void
create(struct fixture *f, const char *region, const char *name, uint64_t size)
{
	OK(pagemap_file_create(f->pm, region, name, size, -1, NULL));
}

/* status_of -- @pm's status, numbers only (the strings are freed). */
static struct pagemap_status
status_of(struct fixture *f, struct pagemap *pm)
{
	struct pagemap_status *sp, st;

	OK(pagemap_status(pm, &sp));
	st = *sp;
	st.server = NULL;
	pagemap_free(sp);
	return st;
}

static struct pagemap_status
status(struct fixture *f)
{
	return status_of(f, f->pm);
}

/* counts_become -- poll the daemon's status, bounded, until it counts
 * @grants grants and @leases leases. */
static void
counts_become(struct fixture *f, uint64_t grants, uint64_t leases)
{
	long long end = now_ms() + WAIT_MS;
	struct pagemap_status st = status(f);

	while ((st.grants != grants || st.leases != leases) && now_ms() < end) {
		poll(NULL, 0, 1);
		st = status(f);
	}
	assert_int_equal(st.grants, grants);
	assert_int_equal(st.leases, leases);
}

static void
my_comm(char *buf, size_t len)
{
	FILE *fp = fopen("/proc/self/comm", "r");

	assert_non_null(fp);
	assert_non_null(fgets(buf, (int)len, fp));
	fclose(fp);
	buf[strcspn(buf, "\n")] = '\0';
}

static void
fill(unsigned char *p, size_t len, unsigned seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (unsigned char)x;
	}
}

/* ---- child processes -------------------------------------------------- */

struct child {
	pid_t pid;
	int pidfd; /* polls readable when the child exits */
};

typedef int (*child_fn)(struct pagemap *pm, void *arg);

/* child_start -- fork a process that connects on its own and runs @fn;
 * its exit status is @fn's result (a -errno as errno), 100 when it could
 * not connect. */
static struct child
child_start(struct fixture *f, child_fn fn, void *arg)
{
	struct child c;

	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		struct pagemap *pm;
		int rv;

		if (pagemap_connect(f->d.socket, "child", &pm))
			_exit(100);
		rv = fn(pm, arg);
		pagemap_close(pm);
		_exit(rv < 0 ? (-rv) & 0xff : rv & 0xff);
	}
	c.pidfd = (int)syscall(SYS_pidfd_open, c.pid, 0);
	assert_true(c.pidfd >= 0);
	return c;
}

/* child_done -- whether @c has exited (without reaping it). */
static bool
child_done(const struct child *c, int ms)
{
	struct pollfd p = {.fd = c->pidfd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

/* child_wait -- reap @c within WAIT_MS (or kill it and fail); returns the
 * raw wait status. */
static int
child_wait(struct child *c)
{
	int st;

	if (!child_done(c, WAIT_MS)) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		close(c->pidfd);
		fail_msg("child %d did not exit in time", (int)c->pid);
	}
	assert_int_equal(waitpid(c->pid, &st, 0), c->pid);
	close(c->pidfd);
	return st;
}

static void
child_exits_with(struct child *c, int code)
{
	int st = child_wait(c);

	if (!WIFEXITED(st))
		fail_msg("child killed by signal %d", WTERMSIG(st));
	assert_int_equal(WEXITSTATUS(st), code);
}

/* ---- recall handler ------------------------------------------------- */

struct recall_log {
	int calls;
	struct pagemap_lease *lease; /* the handler's @l */
	uint64_t lease_id, offset, length;
	char reason[32];
	struct pagemap_mapping *m; /* unmapped by the handler, then NULL */
	int unmap_rv;
};

static void
on_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t lease_id,
	  uint64_t offset, uint64_t length, enum pagemap_recall_reason reason,
	  void *arg)
{
	struct recall_log *r = arg;

	(void)pm;
	r->calls++;
	r->lease = l;
	r->lease_id = lease_id;
	r->offset = offset;
	r->length = length;
	snprintf(r->reason, sizeof(r->reason), "%s",
		 pagemap_recall_reason_name(reason));
	if (r->m) {
		r->unmap_rv = pagemap_unmap(r->m);
		r->m = NULL;
	}
}

/* ---- tests ---------------------------------------------------------- */

struct expect {
	const char *name;
	const unsigned char *data;
	uint64_t len;
};

/* read_back -- in a child: map the file through its own connection and
 * compare with what the parent wrote, in one piece and at an odd offset. */
static int
read_back(struct pagemap *pm, void *arg)
{
	const struct expect *e = arg;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	uint64_t off = 3 * MiB + 5;

	if (pagemap_lease_acquire(pm, "r", e->name, PAGEMAP_READ, &l))
		return 1;
	if (pagemap_map(l, 0, e->len, PAGEMAP_READ, &m))
		return 2;
	if (memcmp(pagemap_mapping_addr(m), e->data, e->len))
		return 3;
	if (pagemap_unmap(m))
		return 4;
	if (pagemap_map(l, off, MiB, PAGEMAP_READ, &m))
		return 5;
	if (pagemap_mapping_offset(m) != 3 * MiB ||
	    memcmp((char *)pagemap_mapping_addr(m) + 5, e->data + off, MiB))
		return 6;
	if (pagemap_unmap(m) || pagemap_lease_release(l))
		return 7;
	return 0;
}

static void
large_map_is_one_contiguous_mapping_of_the_files_bytes(void **state)
{
	struct fixture *f = *state;
	const uint64_t len = 10 * MiB;
	unsigned char *want = malloc(len), *chunk = malloc(2 * MiB);
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	struct pagemap_grant_info **g;
	struct expect e = {"big", want, len};
	struct child c;
	size_t n;
	char *a;
	int rfd;

	assert_non_null(want);
	assert_non_null(chunk);
	fill(want, len, 1);
	create(f, "r", "big", len);
	OK(pagemap_lease_acquire(f->pm, "r", "big", PAGEMAP_WRITE, &l));
	OK(pagemap_map(l, 0, len, PAGEMAP_WRITE, &m));
	assert_int_equal(pagemap_mapping_offset(m), 0);
	assert_int_equal(pagemap_mapping_length(m), len);
	/* maximal folios: five of 2 MiB (I8) */
	assert_int_equal(pagemap_mapping_folios(m), 5);
	a = pagemap_mapping_addr(m);
	memcpy(a, want, len); /* one range: faults if not all mapped */
	OK(pagemap_persist(m, a, len));
	OK(pagemap_persist(m, a + 4095, 2));
	assert_int_equal(pagemap_persist(m, a + len - 1, 2), -EINVAL);
	/* Every folio maps the region bytes the daemon granted: the region
	 * file at region_offset holds what the mapping shows. */
	OK(pagemap_grant_list(f->pm, pagemap_lease_id(l), 0, &g, &n));
	assert_int_equal(n, 5);
	rfd = open(f->region, O_RDONLY | O_CLOEXEC);
	assert_true(rfd >= 0);
	for (size_t i = 0; i < n; i++) {
		uint64_t sz = 4096ull << g[i]->order;

		assert_int_equal(g[i]->file_offset, i * 2 * MiB);
		assert_int_equal(sz, 2 * MiB);
		assert_int_equal(
			pread(rfd, chunk, sz, (off_t)g[i]->region_offset),
			(ssize_t)sz);
		assert_memory_equal(chunk, want + g[i]->file_offset, sz);
	}
	close(rfd);
	pagemap_free(g);
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(l));
	/* another process with its own connection reads the same bytes */
	c = child_start(f, read_back, &e);
	child_exits_with(&c, 0);
	counts_become(f, 0, 0);
	free(chunk);
	free(want);
}

static void
mapping_is_huge_page_aligned_where_the_folio_is(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	struct pagemap_grant_info **g;
	uintptr_t a;
	size_t n, big = 0;

	create(f, "r", "h", 16 * MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "h", PAGEMAP_READ, &l));
	OK(pagemap_map(l, 2 * MiB, 6 * MiB, PAGEMAP_READ, &m));
	a = (uintptr_t)pagemap_mapping_addr(m);
	assert_int_equal((a - 2 * MiB) % (2 * MiB), 0);
	assert_int_equal(pagemap_mapping_folios(m), 3);
	OK(pagemap_unmap(m));
	/* a range starting mid-folio: the 2 MiB folios inside it still
	 * land on 2 MiB-aligned addresses */
	OK(pagemap_map(l, 12288 + 7, 6 * MiB, PAGEMAP_READ, &m));
	assert_int_equal(pagemap_mapping_offset(m), 12288);
	assert_int_equal(pagemap_mapping_length(m), 6 * MiB + 4096);
	a = (uintptr_t)pagemap_mapping_addr(m);
	assert_int_equal((a - 12288) % (2 * MiB), 0);
	OK(pagemap_grant_list(f->pm, pagemap_lease_id(l), 0, &g, &n));
	/* The first mapping's grants stay cached under the lease. */
	for (size_t i = 0, k = 0; i < n; i++)
		if (g[i]->state == PAGEMAP_GRANT_MAPPED)
			g[k++] = g[i];
	assert_int_equal(n, pagemap_mapping_folios(m) + 3);
	n = pagemap_mapping_folios(m);
	for (size_t i = 0; i < n; i++) {
		uint64_t sz = 4096ull << g[i]->order;

		assert_int_equal((a + (g[i]->file_offset - 12288)) % sz, 0);
		big += sz == 2 * MiB;
	}
	assert_int_equal(big, 2);
	pagemap_free(g);
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(l));
}

static void
forked_child_does_not_inherit_the_mapping(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	volatile char *a;
	struct child c;
	int st;

	create(f, "r", "nofork", 4 * MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "nofork", PAGEMAP_WRITE, &l));
	OK(pagemap_map(l, 0, 4 * MiB, PAGEMAP_WRITE, &m));
	a = pagemap_mapping_addr(m);
	a[0] = 'p';
	a[4 * MiB - 1] = 'q';
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (c.pid == 0) {
		struct sigaction sa = {.sa_handler = SIG_DFL};

		/* the default action, not a sanitizer's report */
		sigaction(SIGSEGV, &sa, NULL);
		sigaction(SIGBUS, &sa, NULL);
		_exit(a[0] == 'p' ? 0 : 1);
	}
	c.pidfd = (int)syscall(SYS_pidfd_open, c.pid, 0);
	assert_true(c.pidfd >= 0);
	st = child_wait(&c);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSEGV);
	/* the parent still has it */
	assert_int_equal(a[0], 'p');
	assert_int_equal(a[4 * MiB - 1], 'q');
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(l));
}

static void
unmap_keeps_the_grants_cached_until_release(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *l;
	struct pagemap_mapping *m1, *m2, *m3;

	create(f, "r", "u", 8 * MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "u", PAGEMAP_READ, &l));
	OK(pagemap_map(l, 0, 4 * MiB, PAGEMAP_READ, &m1));
	OK(pagemap_map(l, 6 * MiB, 2 * MiB, PAGEMAP_READ, &m2));
	OK(pagemap_map(l, 2 * MiB, 4096, PAGEMAP_READ, &m3));
	counts_become(f, 2 + 1 + 1, 1);
	/* An unmap keeps its grants cached under the lease: still pins,
	 * and the next map of the range needs no message. */
	OK(pagemap_unmap(m2));
	counts_become(f, 2 + 1 + 1, 1);
	OK(pagemap_unmap(m3));
	counts_become(f, 2 + 1 + 1, 1);
	assert_int_equal(((volatile char *)pagemap_mapping_addr(m1))[2 * MiB],
			 0);
	OK(pagemap_unmap(m1));
	counts_become(f, 2 + 1 + 1, 1);
	/* Releasing the lease returns them all. */
	OK(pagemap_lease_release(l));
	counts_become(f, 0, 0);
}

static void
unmap_nowait_returns_in_order_without_waiting(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *l;
	struct pagemap_mapping *m[40];
	struct pagemap *other;
	struct pagemap_status st;

	create(f, "r", "nw", 40 * 4096);
	OK(pagemap_lease_acquire(f->pm, "r", "nw", PAGEMAP_WRITE, &l));
	for (int i = 0; i < 40; i++) {
		OK(pagemap_map(l, (uint64_t)i * 4096, 4096, PAGEMAP_WRITE,
			       &m[i]));
		*(volatile char *)pagemap_mapping_addr(m[i]) = (char)i;
	}
	assert_int_equal(status(f).grants, 40);
	/* More than the 32 left unread: the 33rd waits for the oldest. */
	for (int i = 0; i < 40; i++)
		OK(pagemap_unmap_nowait(m[i]));
	/* Their grants stay cached (no message at all), so a flush has
	 * nothing to wait for. */
	assert_int_equal(status(f).grants, 40);
	OK(pagemap_flush(f->pm));
	OK(pagemap_flush(f->pm)); /* nothing outstanding: at once */
	OK(pagemap_connect(f->d.socket, "libtest-other", &other));
	st = status_of(f, other);
	assert_int_equal(st.grants, 40);
	pagemap_close(other);
	/* And the data went through. */
	OK(pagemap_map(l, 0, 40 * 4096, PAGEMAP_READ, &m[0]));
	for (int i = 0; i < 40; i++)
		assert_int_equal(((volatile char *)pagemap_mapping_addr(
					 m[0]))[(size_t)i * 4096],
				 i);
	/* The 40 cached folios tiled it: mapped with no new grant. */
	assert_int_equal(status(f).grants, 40);
	OK(pagemap_unmap_nowait(m[0]));
	/* A release right behind a nowait unmap takes the cached grants
	 * with the lease. */
	OK(pagemap_lease_release(l));
	counts_become(f, 0, 0);
	OK(pagemap_flush(f->pm));
}

static int
truncate_t(struct pagemap *pm, void *arg)
{
	(void)arg;
	return pagemap_file_truncate(pm, "r", "t", 2 * MiB, -1, NULL);
}

static void
truncate_by_another_process_recalls_through_dispatch(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *l;
	struct pagemap_file_info *fi;
	struct recall_log rec = {0};
	struct pagemap_mapping *m;
	struct pollfd p;
	struct child c;

	create(f, "r", "t", 8 * MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "t", PAGEMAP_WRITE, &l));
	OK(pagemap_map(l, 0, 8 * MiB, PAGEMAP_WRITE, &rec.m));
	pagemap_set_recall_handler(f->pm, on_recall, &rec);
	c = child_start(f, truncate_t, NULL);
	/* the recall arrives on the connection */
	p = (struct pollfd){.fd = pagemap_get_fd(f->pm), .events = POLLIN};
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	/* another call reads it, but only queues it */
	(void)status(f);
	assert_int_equal(rec.calls, 0);
	assert_false(child_done(&c, 0));
	OK(pagemap_file_stat(f->pm, "r", "t", &fi));
	assert_int_equal(fi->size, 8 * MiB);
	pagemap_free(fi);
	/* no new grants past the new end meanwhile; before it, fine */
	assert_int_equal(pagemap_map(l, 4 * MiB, 4096, PAGEMAP_READ, &m),
			 -EBUSY);
	OK(pagemap_map(l, 0, 4096, PAGEMAP_READ, &m));
	OK(pagemap_unmap(m));
	/* dispatch runs the handler, which unmaps */
	assert_int_equal(pagemap_dispatch(f->pm), 1);
	assert_int_equal(rec.calls, 1);
	assert_ptr_equal(rec.lease, l);
	assert_int_equal(rec.lease_id, pagemap_lease_id(l));
	assert_string_equal(rec.reason, "truncate");
	assert_int_equal(rec.offset, 2 * MiB);
	assert_int_equal(rec.length, 6 * MiB);
	assert_int_equal(rec.unmap_rv, 0);
	/* and the truncate completes */
	child_exits_with(&c, 0);
	OK(pagemap_file_stat(f->pm, "r", "t", &fi));
	assert_int_equal(fi->size, 2 * MiB);
	assert_int_equal(fi->allocated, 2 * MiB);
	pagemap_free(fi);
	assert_int_equal(pagemap_dispatch(f->pm), 0);
	assert_int_equal(rec.calls, 1);
	OK(pagemap_lease_release(l));
	counts_become(f, 0, 0);
}

static int
revoke_id(struct pagemap *pm, void *arg)
{
	return pagemap_lease_revoke(pm, *(uint64_t *)arg, -1);
}

static void
revoke_recall_is_handled_from_a_poll_loop(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *l;
	struct pagemap_lease_info **li;
	struct recall_log rec = {0};
	struct child c;
	uint64_t id;
	long long end;
	int dispatched = 0, st;
	size_t n;

	create(f, "r", "v", 4 * MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "v", PAGEMAP_READ, &l));
	OK(pagemap_map(l, 4096, 3 * MiB, PAGEMAP_READ, &rec.m));
	pagemap_set_recall_handler(f->pm, on_recall, &rec);
	id = pagemap_lease_id(l);
	c = child_start(f, revoke_id, &id);
	/* an application's event loop: the connection and something else
	 * (here the revoking child's pidfd) */
	end = now_ms() + WAIT_MS;
	for (;;) {
		struct pollfd p[2] = {
			{.fd = pagemap_get_fd(f->pm), .events = POLLIN},
			{.fd = c.pidfd, .events = POLLIN},
		};
		int left = (int)(end - now_ms());

		assert_true(left > 0);
		assert_true(poll(p, 2, left) > 0);
		if (p[0].revents & POLLIN) {
			int r = pagemap_dispatch(f->pm);

			assert_true(r >= 0);
			dispatched += r;
		}
		if (p[1].revents & POLLIN)
			break;
	}
	st = child_wait(&c);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(dispatched, 1);
	assert_int_equal(rec.calls, 1);
	assert_string_equal(rec.reason, "revoke");
	assert_int_equal(rec.lease_id, id);
	assert_ptr_equal(rec.lease, l);
	assert_int_equal(rec.unmap_rv, 0);
	/* the lease is over; releasing the handle is still fine */
	OK(pagemap_lease_list(f->pm, NULL, NULL, &li, &n));
	assert_int_equal(n, 0);
	pagemap_free(li);
	OK(pagemap_lease_release(l));
	counts_become(f, 0, 0);
}

struct closer {
	struct pagemap *pm;
	int calls;
};

static void
close_on_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t lease_id,
		uint64_t offset, uint64_t length,
		enum pagemap_recall_reason reason, void *arg)
{
	struct closer *c = arg;

	(void)l;
	(void)lease_id;
	(void)offset;
	(void)length;
	(void)reason;
	c->calls++;
	if (pm == c->pm)
		pagemap_close(pm); /* deferred until dispatch returns */
}

static void
close_from_a_recall_handler_gives_everything_back(void **state)
{
	struct fixture *f = *state;
	struct closer cl = {0};
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	struct child c;
	uint64_t id;

	create(f, "r", "cl", 4 * MiB);
	assert_int_equal(pagemap_connect(f->d.socket, "closer", &cl.pm), 0);
	assert_int_equal(
		pagemap_lease_acquire(cl.pm, "r", "cl", PAGEMAP_WRITE, &l), 0);
	assert_int_equal(pagemap_map(l, 0, 4 * MiB, PAGEMAP_WRITE, &m), 0);
	pagemap_set_recall_handler(cl.pm, close_on_recall, &cl);
	id = pagemap_lease_id(l);
	c = child_start(f, revoke_id, &id);
	/* the handle is gone when this returns */
	assert_int_equal(pagemap_wait(cl.pm, WAIT_MS), 1);
	assert_int_equal(cl.calls, 1);
	child_exits_with(&c, 0);
	counts_become(f, 0, 0);
}

static void
wait_with_timeout_returns_0_when_nothing_happens(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	struct recall_log rec = {0};
	long long t0, dt;

	create(f, "r", "w", MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "w", PAGEMAP_READ, &l));
	OK(pagemap_map(l, 0, MiB, PAGEMAP_READ, &m));
	pagemap_set_recall_handler(f->pm, on_recall, &rec);
	t0 = now_ms();
	assert_int_equal(pagemap_wait(f->pm, 100), 0);
	dt = now_ms() - t0;
	assert_true(dt >= 99);
	assert_true(dt < WAIT_MS);
	assert_int_equal(pagemap_wait(f->pm, 0), 0);
	assert_int_equal(pagemap_dispatch(f->pm), 0);
	assert_int_equal(rec.calls, 0);
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(l));
}

static void
release_with_mappings_is_busy(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	struct pagemap_lease_info **li;
	size_t n;

	create(f, "r", "b", 2 * MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "b", PAGEMAP_READ, &l));
	OK(pagemap_map(l, 0, 4096, PAGEMAP_READ, &m));
	assert_int_equal(pagemap_lease_release(l), -EBUSY);
	/* the lease and its grant are still there */
	OK(pagemap_lease_list(f->pm, "r", "b", &li, &n));
	assert_int_equal(n, 1);
	assert_int_equal(li[0]->id, pagemap_lease_id(l));
	assert_int_equal(li[0]->grants, 1);
	pagemap_free(li);
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(l));
	counts_become(f, 0, 0);
}

static void
map_past_end_of_file_is_enxio_and_leaves_nothing(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *l;
	struct pagemap_mapping *m = NULL;

	create(f, "r", "e", MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "e", PAGEMAP_READ, &l));
	assert_int_equal(pagemap_lease_size(l), MiB);
	assert_int_equal(pagemap_map(l, MiB, 4096, PAGEMAP_READ, &m), -ENXIO);
	assert_int_equal(pagemap_map(l, MiB - 4096, 8192, PAGEMAP_READ, &m),
			 -ENXIO);
	assert_null(m);
	assert_true(strlen(pagemap_last_message(f->pm)) > 0);
	counts_become(f, 0, 1);
	/* the last page itself is fine */
	OK(pagemap_map(l, MiB - 1, 1, PAGEMAP_READ, &m));
	assert_int_equal(pagemap_mapping_offset(m), MiB - 4096);
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(l));
}

static void
write_map_on_a_read_lease_is_eacces(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *l;
	struct pagemap_mapping *m = NULL;
	struct pagemap_folio fo[4];
	size_t n = 99;
	uint64_t next = 99;

	create(f, "r", "ro", MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "ro", PAGEMAP_READ, &l));
	assert_int_equal(pagemap_lease_access(l), PAGEMAP_READ);
	assert_int_equal(pagemap_map(l, 0, 4096, PAGEMAP_WRITE, &m), -EACCES);
	assert_null(m);
	assert_int_equal(
		pagemap_grant(l, 0, 4096, PAGEMAP_WRITE, fo, 4, &n, &next),
		-EACCES);
	assert_int_equal(n, 99);
	assert_int_equal(next, 99);
	counts_become(f, 0, 1);
	/* a read map is fine, and cannot persist */
	OK(pagemap_map(l, 0, 4096, PAGEMAP_READ, &m));
	assert_int_equal(pagemap_persist(m, pagemap_mapping_addr(m), 1),
			 -EBADF);
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(l));
}

static void
close_with_mappings_and_leases_releases_everything(void **state)
{
	struct fixture *f = *state;
	struct pagemap *pm;
	struct pagemap_lease *a, *b;
	struct pagemap_mapping *m;
	struct pagemap_folio fo[8];
	struct pagemap_client_info **ci;
	uint64_t next;
	size_t n;
	int fds = fd_count(0);

	create(f, "r", "c1", 4 * MiB);
	create(f, "r", "c2", 4 * MiB);
	assert_int_equal(pagemap_connect(f->d.socket, "closer", &pm), 0);
	assert_int_equal(
		pagemap_lease_acquire(pm, "r", "c1", PAGEMAP_WRITE, &a), 0);
	assert_int_equal(pagemap_lease_acquire(pm, "r", "c2", PAGEMAP_READ, &b),
			 0);
	assert_int_equal(pagemap_map(a, 0, 4 * MiB, PAGEMAP_WRITE, &m), 0);
	assert_int_equal(pagemap_map(a, 4096, 4096, PAGEMAP_READ, &m), 0);
	assert_int_equal(pagemap_map(b, 0, 2 * MiB, PAGEMAP_READ, &m), 0);
	/* raw grants without a mapping too */
	assert_int_equal(pagemap_grant(b, 2 * MiB + 4096, 8192, PAGEMAP_READ,
				       fo, 8, &n, &next),
			 0);
	assert_int_equal(n, 2);
	counts_become(f, 2 + 1 + 1 + 2, 2);
	pagemap_close(pm);
	counts_become(f, 0, 0);
	/* The daemon notices the closed connection on its own loop, a
	 * moment after the returns: wait for it, bounded. */
	for (long long end = now_ms() + WAIT_MS;;) {
		bool gone = true;

		OK(pagemap_client_list(f->pm, &ci, &n));
		for (size_t i = 0; i < n; i++)
			gone &= strcmp(ci[i]->name, "closer") != 0;
		pagemap_free(ci);
		if (gone)
			break;
		if (now_ms() > end)
			fail_msg("the closed client is still listed");
		poll(NULL, 0, 1);
	}
	/* the socket and the region fds are closed */
	assert_int_equal(fd_count(0), fds);
}

static int
truncate_b(struct pagemap *pm, void *arg)
{
	(void)arg;
	return pagemap_file_truncate(pm, "r", "b", 0, -1, NULL);
}

static void
listings_tell_what_is_true(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *la, *lb;
	struct pagemap_mapping *ma, *mb;
	struct pagemap_lease_info **li;
	struct pagemap_grant_info **g;
	struct pagemap_client_info **ci, *me = NULL;
	struct pagemap_blocker **bl;
	struct child c;
	char comm[32];
	long long end;
	size_t n;

	my_comm(comm, sizeof(comm));
	create(f, "r", "a", 4 * MiB);
	create(f, "r", "b", MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "a", PAGEMAP_WRITE, &la));
	OK(pagemap_lease_acquire(f->pm, "r", "b", PAGEMAP_READ, &lb));
	OK(pagemap_map(la, 0, 4 * MiB, PAGEMAP_WRITE, &ma));
	OK(pagemap_map(lb, 0, MiB, PAGEMAP_READ, &mb));

	OK(pagemap_client_list(f->pm, &ci, &n));
	for (size_t i = 0; i < n; i++)
		if (ci[i]->pid == (uint32_t)getpid())
			me = ci[i];
	assert_non_null(me);
	assert_string_equal(me->name, "libtest");
	assert_string_equal(me->comm, comm);
	assert_int_equal(me->uid, getuid());
	assert_int_equal(me->gid, getgid());
	assert_true(me->connected);
	assert_int_equal(me->leases, 2);
	assert_int_equal(me->grants, 3);

	OK(pagemap_lease_list(f->pm, NULL, NULL, &li, &n));
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		bool isa = li[i]->id == pagemap_lease_id(la);

		assert_true(isa || li[i]->id == pagemap_lease_id(lb));
		assert_string_equal(li[i]->region, "r");
		assert_string_equal(li[i]->name, isa ? "a" : "b");
		assert_int_equal(li[i]->access,
				 isa ? PAGEMAP_WRITE : PAGEMAP_READ);
		assert_int_equal(li[i]->client_id, me->id);
		assert_int_equal(li[i]->pid, getpid());
		assert_int_equal(li[i]->uid, getuid());
		assert_string_equal(li[i]->comm, comm);
		assert_int_equal(li[i]->grants, isa ? 2 : 1);
		assert_int_equal(li[i]->bytes, isa ? 4 * MiB : MiB);
		assert_false(li[i]->recalled);
	}
	assert_true(li[0]->id < li[1]->id);
	pagemap_free(li);
	OK(pagemap_lease_list(f->pm, "r", "b", &li, &n));
	assert_int_equal(n, 1);
	assert_int_equal(li[0]->id, pagemap_lease_id(lb));
	pagemap_free(li);
	OK(pagemap_lease_list(f->pm, "r", "nosuch", &li, &n));
	assert_int_equal(n, 0);
	pagemap_free(li);

	OK(pagemap_grant_list(f->pm, pagemap_lease_id(la), 0, &g, &n));
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(g[i]->lease_id, pagemap_lease_id(la));
		assert_int_equal(g[i]->file_offset, i * 2 * MiB);
		assert_int_equal(g[i]->order, 9);
		assert_int_equal(g[i]->region_offset % (2 * MiB), 0);
		assert_int_equal(g[i]->access, PAGEMAP_WRITE);
	}
	pagemap_free(g);
	OK(pagemap_grant_list(f->pm, 0, (uint32_t)getpid(), &g, &n));
	assert_int_equal(n, 3);
	assert_int_equal(g[2]->lease_id, pagemap_lease_id(lb));
	assert_int_equal(g[2]->order, 8);
	assert_int_equal(g[2]->access, PAGEMAP_READ);
	pagemap_free(g);
	OK(pagemap_grant_list(f->pm, 0, 1, &g, &n));
	assert_int_equal(n, 0);
	pagemap_free(g);

	/* nothing pending, nothing blocks */
	OK(pagemap_blockers(f->pm, "r", NULL, &bl, &n));
	assert_int_equal(n, 0);
	pagemap_free(bl);
	/* a truncate of b from another process waits for our grant */
	c = child_start(f, truncate_b, NULL);
	end = now_ms() + WAIT_MS;
	for (;;) {
		OK(pagemap_blockers(f->pm, "r", "b", &bl, &n));
		if (n || now_ms() > end)
			break;
		pagemap_free(bl);
		poll(NULL, 0, 1);
	}
	assert_int_equal(n, 1);
	assert_string_equal(bl[0]->op, "truncate");
	assert_non_null(strstr(bl[0]->target, "r/b"));
	assert_int_equal(bl[0]->lease_id, pagemap_lease_id(lb));
	assert_int_equal(bl[0]->client_id, me->id);
	assert_int_equal(bl[0]->pid, getpid());
	assert_string_equal(bl[0]->comm, comm);
	assert_int_equal(bl[0]->grants, 1);
	pagemap_free(bl);
	/* a's grants hold up nothing */
	OK(pagemap_blockers(f->pm, "r", "a", &bl, &n));
	assert_int_equal(n, 0);
	pagemap_free(bl);
	assert_false(child_done(&c, 0));
	OK(pagemap_unmap(mb));
	child_exits_with(&c, 0);
	OK(pagemap_blockers(f->pm, "r", NULL, &bl, &n));
	assert_int_equal(n, 0);
	pagemap_free(bl);
	pagemap_free(ci);
	OK(pagemap_unmap(ma));
	OK(pagemap_lease_release(la));
	OK(pagemap_lease_release(lb));
	counts_become(f, 0, 0);
}

static void
region_fd_is_read_only_for_a_read_lease(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *r, *w;
	void *p;
	int fd;

	create(f, "r", "fd", MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "fd", PAGEMAP_READ, &r));
	fd = pagemap_region_fd(r);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	/* read-only for real: no writable shared mapping from it */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_ptr_equal(p, MAP_FAILED);
	assert_int_equal(errno, EACCES);
	/* a write lease brings a read-write fd */
	OK(pagemap_lease_acquire(f->pm, "r", "fd", PAGEMAP_WRITE, &w));
	fd = pagemap_region_fd(w);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_RDWR);
	OK(pagemap_lease_release(r));
	OK(pagemap_lease_release(w));
}

static void
gigabyte_of_4k_folios_through_grant_paging(void **state)
{
	struct fixture *f = *state;
	const uint64_t len = GiB;
	uint32_t maxf = pagemap_get_limits(f->pm)->max_folios_per_reply;
	size_t cap = maxf ? maxf : 4096;
	struct pagemap_folio *fo = calloc(cap, sizeof(*fo));
	struct pagemap_lease *l;
	uint64_t off = 0, folios = 0, replies = 0, returned = 0;

	assert_non_null(fo);
	create(f, "z", "gig", len);
	OK(pagemap_lease_acquire(f->pm, "z", "gig", PAGEMAP_READ, &l));
	while (off < len) {
		size_t n = 0;
		uint64_t next = 0;

		OK(pagemap_grant(l, off, len - off, PAGEMAP_READ, fo, cap, &n,
				 &next));
		assert_true(n > 0 && n <= cap);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(fo[i].order, 0);
			assert_int_equal(fo[i].file_offset, off + i * 4096);
		}
		assert_int_equal(next, off + n * 4096);
		folios += n;
		off = next;
		replies++;
	}
	assert_int_equal(folios, 262144);
	assert_true(replies > 1);
	counts_become(f, 262144, 1);
	OK(pagemap_return(l, 0, len, &returned));
	assert_int_equal(returned, 262144);
	counts_become(f, 0, 1);
	OK(pagemap_lease_release(l));
	free(fo);
}

/* seek_from -- lseek(@whence) from @off in the file at @path; ENXIO (no
 * more data, or no hole before the end) reads as "past everything". */
static uint64_t
seek_from(const char *path, uint64_t off, int whence)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	off_t at;

	assert_true(fd >= 0);
	at = lseek(fd, (off_t)off, whence);
	close(fd);
	if (at < 0 && errno == ENXIO)
		return UINT64_MAX;
	assert_true(at >= 0);
	return (uint64_t)at;
}

/* hole_at -- whether [off, off + len) of the file at @path is all hole. */
static bool
hole_at(const char *path, uint64_t off, uint64_t len)
{
	return seek_from(path, off, SEEK_DATA) >= off + len;
}

/* no_hole_at -- whether [off, off + len) of the file at @path has no hole. */
static bool
no_hole_at(const char *path, uint64_t off, uint64_t len)
{
	return seek_from(path, off, SEEK_HOLE) >= off + len;
}

/* A client's first store must never land on a hole of a region with large
 * folios (ext4 would give the whole region file 4 KiB page-cache folios
 * from then on), so granted pages are filled first; a region of 4 KiB
 * folios only gains nothing from that, and its holes stay. */
static void
granted_pages_are_never_holes_where_folios_are_large(void **state)
{
	struct fixture *f = *state;
	struct pagemap_lease *lr, *lz;
	static struct pagemap_folio fo[512];
	size_t n;
	uint64_t next;
	char zpath[PATH_MAX];
	struct pagemap_mapping *m;
	void *addr;

	snprintf(zpath, sizeof(zpath), "%s/z.pmem", f->d.dir);
	create(f, "r", "big", 4 * MiB);
	create(f, "z", "small", 4 * MiB);
	OK(pagemap_lease_acquire(f->pm, "r", "big", PAGEMAP_WRITE, &lr));
	OK(pagemap_lease_acquire(f->pm, "z", "small", PAGEMAP_WRITE, &lz));
	/* The pages of a new file are holes until granted. */
	OK(pagemap_grant(lr, 0, 2 * MiB, PAGEMAP_WRITE, fo, 512, &n, &next));
	assert_int_equal(n, 1);
	assert_int_equal(fo[0].order, 9);
	assert_true(no_hole_at(f->region, fo[0].region_offset, 2 * MiB));
	OK(pagemap_return(lr, 0, 2 * MiB, NULL));
	OK(pagemap_grant(lz, 0, 4096, PAGEMAP_WRITE, fo, 512, &n, &next));
	assert_int_equal(n, 1);
	assert_true(hole_at(zpath, fo[0].region_offset, 4096));
	OK(pagemap_return(lz, 0, 4096, NULL));
	/* A mapping of the same size as the last one unmapped goes into its
	 * kept address space: it is the granted bytes all the same. */
	OK(pagemap_map(lr, 0, 2 * MiB, PAGEMAP_WRITE, &m));
	((volatile char *)pagemap_mapping_addr(m))[4096] = 7;
	OK(pagemap_unmap(m));
	OK(pagemap_map(lr, 4096, 2 * MiB, PAGEMAP_READ, &m));
	addr = pagemap_mapping_addr(m);
	assert_int_equal(((volatile char *)addr)[0], 7);
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(lr));
	OK(pagemap_lease_release(lz));
}

static void
map_of_many_replies_of_4k_folios_is_one_mapping(void **state)
{
	struct fixture *f = *state;
	const uint64_t off = 100 * MiB + 4096, len = 80 * MiB;
	unsigned char *want = malloc(len), page[4096];
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	struct pagemap_grant_info **g;
	char path[PATH_MAX];
	size_t n;
	int rfd;

	assert_non_null(want);
	fill(want, len, 7);
	create(f, "z", "many", 256 * MiB);
	OK(pagemap_lease_acquire(f->pm, "z", "many", PAGEMAP_WRITE, &l));
	OK(pagemap_map(l, off, len, PAGEMAP_WRITE, &m));
	/* more folios than one reply carries, stitched into one range */
	assert_true(len / 4096 >
		    pagemap_get_limits(f->pm)->max_folios_per_reply);
	assert_int_equal(pagemap_mapping_folios(m), len / 4096);
	memcpy(pagemap_mapping_addr(m), want, len);
	OK(pagemap_persist(m, pagemap_mapping_addr(m), len));
	/* each page sits where the daemon granted it */
	OK(pagemap_grant_list(f->pm, pagemap_lease_id(l), 0, &g, &n));
	assert_int_equal(n, len / 4096);
	snprintf(path, sizeof(path), "%s/z.pmem", f->d.dir);
	rfd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(rfd >= 0);
	for (size_t i = 0; i < n; i += 997) {
		assert_int_equal(g[i]->file_offset, off + i * 4096);
		assert_int_equal(
			pread(rfd, page, 4096, (off_t)g[i]->region_offset),
			4096);
		assert_memory_equal(page, want + i * 4096, 4096);
	}
	close(rfd);
	pagemap_free(g);
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(l));
	counts_become(f, 0, 0);
	free(want);
}

/* first_folio -- where the first folio of @l's range @off.. sits in the
 * region now (granted and given back at once). */
static struct pagemap_folio
first_folio(struct fixture *f, struct pagemap_lease *l, uint64_t off,
	    uint64_t len)
{
	struct pagemap_folio fo;
	uint64_t next;
	size_t n;

	OK(pagemap_grant(l, off, len, PAGEMAP_READ, &fo, 1, &n, &next));
	assert_int_equal(n, 1);
	OK(pagemap_return(l, off, len, NULL));
	return fo;
}

/* byte_count -- how many of @len bytes at @p are @c. */
static size_t
byte_count(const volatile unsigned char *p, size_t len, unsigned char c)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += p[i] == c;
	return n;
}

/* region_mapped -- whether this process maps any of @path. */
static bool
region_mapped(const char *path)
{
	FILE *fp = fopen("/proc/self/maps", "r");
	char line[PATH_MAX + 256];
	bool found = false;

	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp))
		found |= strstr(line, path) != NULL;
	fclose(fp);
	return found;
}

/* A map of a range unmapped before is mapped, while its request is in
 * flight, from the layout it had then; when the file's folios have moved
 * in between, the mapping must show where they are now -- and when they
 * have not, the bytes written land in the file. A map that fails leaves
 * nothing mapped. */
static void
remap_after_the_file_moved_shows_where_it_is_now(void **state)
{
	struct fixture *f = *state;
	const uint64_t len = 2 * MiB;
	struct pagemap *pm2;
	struct pagemap_lease *la, *lb;
	struct pagemap_mapping *m;
	struct pagemap_folio before, b, after;
	volatile unsigned char *p;
	unsigned char page[4096];
	int rfd;

	create(f, "r", "a", len);
	OK(pagemap_lease_acquire(f->pm, "r", "a", PAGEMAP_WRITE, &la));
	before = first_folio(f, la, 0, len);
	OK(pagemap_map(la, 0, len, PAGEMAP_WRITE, &m));
	memset(pagemap_mapping_addr(m), 'a', len);
	OK(pagemap_unmap(m));

	/* Another client moves "a": its folio goes to a new file "b", and
	 * "a" grows again somewhere else. */
	OK(pagemap_connect(f->d.socket, "mover", &pm2));
	OK(pagemap_file_truncate(pm2, "r", "a", 0, WAIT_MS, NULL));
	/* A map that fails leaves nothing of its guess mapped. */
	assert_int_equal(pagemap_map(la, 0, len, PAGEMAP_WRITE, &m), -ENXIO);
	assert_false(region_mapped(f->region));
	OK(pagemap_file_create(pm2, "r", "b", len, -1, NULL));
	OK(pagemap_lease_acquire(pm2, "r", "b", PAGEMAP_WRITE, &lb));
	b = first_folio(f, lb, 0, len);
	assert_int_equal(b.region_offset, before.region_offset);
	OK(pagemap_map(lb, 0, len, PAGEMAP_WRITE, &m));
	memset(pagemap_mapping_addr(m), 'b', len);
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(lb));
	OK(pagemap_file_truncate(pm2, "r", "a", len, WAIT_MS, NULL));
	pagemap_close(pm2);
	after = first_folio(f, la, 0, len);
	assert_int_not_equal(after.region_offset, before.region_offset);

	/* The guess (b's bytes now) is wrong: "a" reads as zeroes. */
	OK(pagemap_map(la, 0, len, PAGEMAP_WRITE, &m));
	p = pagemap_mapping_addr(m);
	assert_int_equal(byte_count(p, len, 0), len);
	p[4096] = 'c';
	OK(pagemap_unmap(m));
	/* The guess is right this time: the same bytes, and a write through
	 * the mapping reaches the file's folio. */
	OK(pagemap_map(la, 0, len, PAGEMAP_WRITE, &m));
	p = pagemap_mapping_addr(m);
	assert_int_equal(p[4096], 'c');
	assert_int_equal(byte_count(p, len, 0), len - 1);
	p[8192] = 'd';
	OK(pagemap_persist(m, (const void *)(p + 8192), 1));
	OK(pagemap_unmap(m));
	rfd = open(f->region, O_RDONLY | O_CLOEXEC);
	assert_true(rfd >= 0);
	assert_int_equal(pread(rfd, page, sizeof(page),
			       (off_t)(after.region_offset + 8192)),
			 (ssize_t)sizeof(page));
	close(rfd);
	assert_int_equal(page[0], 'd');
	OK(pagemap_lease_release(la));
	counts_become(f, 0, 0);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(large_map_is_one_contiguous_mapping_of_the_files_bytes),
		T(mapping_is_huge_page_aligned_where_the_folio_is),
		T(forked_child_does_not_inherit_the_mapping),
		T(unmap_keeps_the_grants_cached_until_release),
		T(unmap_nowait_returns_in_order_without_waiting),
		T(truncate_by_another_process_recalls_through_dispatch),
		T(revoke_recall_is_handled_from_a_poll_loop),
		T(close_from_a_recall_handler_gives_everything_back),
		T(wait_with_timeout_returns_0_when_nothing_happens),
		T(release_with_mappings_is_busy),
		T(map_past_end_of_file_is_enxio_and_leaves_nothing),
		T(write_map_on_a_read_lease_is_eacces),
		T(close_with_mappings_and_leases_releases_everything),
		T(listings_tell_what_is_true),
		T(region_fd_is_read_only_for_a_read_lease),
		T(remap_after_the_file_moved_shows_where_it_is_now),
		cmocka_unit_test_setup_teardown(
			gigabyte_of_4k_folios_through_grant_paging, setup_gig,
			teardown),
		cmocka_unit_test_setup_teardown(
			map_of_many_replies_of_4k_folios_is_one_mapping,
			setup_gig, teardown),
		cmocka_unit_test_setup_teardown(
			granted_pages_are_never_holes_where_folios_are_large,
			setup_gig, teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

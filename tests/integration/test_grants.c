/* test_grants.c -- leases, folio grants and recall against a real daemon,
 * over the raw protocol: fds, tiling, returns, and every operation that
 * waits for the final unpin (I1-I5, I8). */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "fdcheck.h"
#include "harness.h"
#include "rawclient.h"

#define MiB (1ull << 20)

struct fixture {
	struct daemon d; /* first: daemon_teardown() frees through it */
};

static int
setup(void **state)
{
	const char *regions[] = {"r=r.pmem,size=64M,create",
				 "z=z.pmem,size=1100M,create,max_order=0",
				 NULL};

	return daemon_setup(state, sizeof(struct fixture), regions) ? 0 : -1;
}

/* ---- request helpers ---------------------------------------------- */

static void
create(struct fixture *f, const char *region, const char *name, uint64_t size)
{
	int fd = raw_connect(f->d.socket, 1);
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__FileCreateRequest m = PAGEMAP__FILE_CREATE_REQUEST__INIT;
	Pagemap__Response *r;

	m.region = (char *)region;
	m.name = (char *)name;
	m.size = size;
	rq.body_case = PAGEMAP__REQUEST__BODY_FILE_CREATE;
	rq.file_create = &m;
	r = raw_call(fd, &rq, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	raw_free(r);
	close(fd);
}

/* lease -- take a lease; returns its id, *ret_fd gets a passed fd. */
static uint64_t
lease(int fd, const char *region, const char *name, Pagemap__Access access,
      int *ret_fd)
{
	Pagemap__Request rq;
	Pagemap__LeaseAcquireRequest m;
	Pagemap__Response *r;
	uint64_t id;

	raw_req_lease(&rq, &m, region, name, access);
	r = raw_call(fd, &rq, ret_fd, NULL);
	assert_non_null(r);
	if (r->error)
		fail_msg("lease: %s", r->message);
	assert_int_equal(r->lease_acquire->fd_attached,
			 ret_fd ? *ret_fd >= 0 : 0);
	id = r->lease_acquire->lease_id;
	raw_free(r);
	return id;
}

static Pagemap__Response *
map(int fd, uint64_t lease_id, uint64_t off, uint64_t len,
    Pagemap__Access access)
{
	Pagemap__Request rq;
	Pagemap__MapRequest m;

	raw_req_map(&rq, &m, lease_id, off, len, access);
	return raw_call(fd, &rq, NULL, NULL);
}

/* map_ok -- map and expect the whole range in one reply. */
static Pagemap__Response *
map_ok(int fd, uint64_t lease_id, uint64_t off, uint64_t len,
       Pagemap__Access access)
{
	Pagemap__Response *r = map(fd, lease_id, off, len, access);

	assert_non_null(r);
	if (r->error)
		fail_msg("map: %s", r->message);
	/* done in one reply: the next offset is the rounded end */
	assert_true(r->map->next_offset >= off + len);
	assert_true(r->map->next_offset < off + len + 4096);
	return r;
}

static uint64_t
unmap(int fd, uint64_t lease_id, uint64_t off, uint64_t len)
{
	Pagemap__Request rq;
	Pagemap__UnmapRequest m;
	Pagemap__Response *r;
	uint64_t n;

	raw_req_unmap(&rq, &m, lease_id, off, len);
	r = raw_call(fd, &rq, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	n = r->unmap->returned;
	raw_free(r);
	return n;
}

static uint64_t
send_truncate(int fd, const char *name, uint64_t size, uint32_t timeout_ms)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__FileTruncateRequest m = PAGEMAP__FILE_TRUNCATE_REQUEST__INIT;

	m.region = (char *)"r";
	m.name = (char *)name;
	m.size = size;
	m.timeout_ms = timeout_ms;
	rq.body_case = PAGEMAP__REQUEST__BODY_FILE_TRUNCATE;
	rq.file_truncate = &m;
	return raw_send(fd, &rq);
}

static Pagemap__StatusReply *
status(int fd, Pagemap__Response **keep)
{
	Pagemap__Request rq;
	Pagemap__StatusRequest m;

	raw_req_status(&rq, &m);
	*keep = raw_call(fd, &rq, NULL, NULL);
	assert_non_null(*keep);
	return (*keep)->status;
}

static uint64_t
grants_now(struct fixture *f)
{
	int fd = raw_connect(f->d.socket, 1);
	Pagemap__Response *keep;
	uint64_t g = status(fd, &keep)->grants;

	raw_free(keep);
	close(fd);
	return g;
}

/* grants_become -- poll the daemon, bounded, until it counts @want. */
static void
grants_become(struct fixture *f, uint64_t want)
{
	long long end = now_ms() + 10000;

	while (grants_now(f) != want && now_ms() < end)
		poll(NULL, 0, 5);
	assert_int_equal(grants_now(f), want);
}

static Pagemap__Response *
file_stat(int fd, const char *name)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__FileStatRequest m = PAGEMAP__FILE_STAT_REQUEST__INIT;

	m.region = (char *)"r";
	m.name = (char *)name;
	rq.body_case = PAGEMAP__REQUEST__BODY_FILE_STAT;
	rq.file_stat = &m;
	return raw_call(fd, &rq, NULL, NULL);
}

/* ---- tests --------------------------------------------------------------- */

static void
region_fd_is_passed_once_and_readonly_for_readers(void **state)
{
	struct fixture *f = *state;
	int c = raw_connect(f->d.socket, 1), rfd, wfd, none;

	create(f, "r", "a", 4 * MiB);
	create(f, "r", "b", 4 * MiB);
	lease(c, "r", "a", PAGEMAP__ACCESS__ACCESS_READ, &rfd);
	assert_true(rfd >= 0);
	assert_int_equal(fcntl(rfd, F_GETFL) & O_ACCMODE, O_RDONLY);
	lease(c, "r", "b", PAGEMAP__ACCESS__ACCESS_READ, &none);
	assert_int_equal(none, -1); /* once per connection */
	lease(c, "r", "b", PAGEMAP__ACCESS__ACCESS_WRITE, &wfd);
	assert_true(wfd >= 0);
	assert_int_equal(fcntl(wfd, F_GETFL) & O_ACCMODE, O_RDWR);
	close(rfd);
	close(wfd);
	close(c);
}

static void
map_returns_maximal_folios_aligned_in_file_and_region(void **state)
{
	struct fixture *f = *state;
	int c = raw_connect(f->d.socket, 1), rfd;
	Pagemap__Response *r;
	uint64_t id, off;

	create(f, "r", "big", 4 * MiB + 8192);
	id = lease(c, "r", "big", PAGEMAP__ACCESS__ACCESS_READ, &rfd);
	r = map_ok(c, id, 0, 4 * MiB + 8192, PAGEMAP__ACCESS__ACCESS_READ);
	/* two 2 MiB folios and one 8 KiB folio: the fewest that tile it */
	assert_int_equal(r->map->n_order, 3);
	assert_int_equal(r->map->order[0], 9);
	assert_int_equal(r->map->order[1], 9);
	assert_int_equal(r->map->order[2], 1);
	off = r->map->offset;
	for (size_t i = 0; i < r->map->n_order; i++) {
		uint64_t size = 4096ull << r->map->order[i];

		assert_int_equal(off % size, 0);
		assert_int_equal(r->map->region_offset[i] % size, 0);
		off += size;
	}
	raw_free(r);
	/* an unaligned sub-range rounds out to pages and tiles greedily */
	r = map_ok(c, id, 4096 + 100, 3 * 4096, PAGEMAP__ACCESS__ACCESS_READ);
	assert_int_equal(r->map->offset, 4096);
	assert_int_equal(r->map->n_order, 3); /* 4K@4K, 8K@8K, 4K@16K */
	raw_free(r);
	assert_int_equal(unmap(c, id, 0, 0), 6);
	close(rfd);
	close(c);
}

static void
data_written_through_one_grant_is_read_through_another(void **state)
{
	struct fixture *f = *state;
	int w = raw_connect(f->d.socket, 1), rd = raw_connect(f->d.socket, 1);
	int wfd, rfd;
	Pagemap__Response *r;
	uint64_t wl, rl, roff;
	char *p;

	create(f, "r", "shared", 2 * MiB);
	wl = lease(w, "r", "shared", PAGEMAP__ACCESS__ACCESS_WRITE, &wfd);
	r = map_ok(w, wl, 0, 2 * MiB, PAGEMAP__ACCESS__ACCESS_WRITE);
	roff = r->map->region_offset[0];
	raw_free(r);
	p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, wfd,
		 (off_t)roff);
	assert_true(p != MAP_FAILED);
	memcpy(p + 12345, "hello, pmem", 12);
	munmap(p, 2 * MiB);

	rl = lease(rd, "r", "shared", PAGEMAP__ACCESS__ACCESS_READ, &rfd);
	r = map_ok(rd, rl, 12345, 12, PAGEMAP__ACCESS__ACCESS_READ);
	assert_int_equal(r->map->offset, 12288);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, rfd,
		 (off_t)r->map->region_offset[0]);
	assert_true(p != MAP_FAILED);
	assert_string_equal(p + 12345 - 12288, "hello, pmem");
	munmap(p, 4096);
	raw_free(r);
	/* a write mapping through the read-only fd is refused by the kernel */
	assert_true(mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, rfd, 0) ==
		    MAP_FAILED);
	assert_int_equal(unmap(w, wl, 0, 0), 1);
	assert_int_equal(unmap(rd, rl, 0, 0), 1);
	close(wfd);
	close(rfd);
	close(w);
	close(rd);
}

static void
bad_map_requests_get_clear_errors(void **state)
{
	struct fixture *f = *state;
	int c = raw_connect(f->d.socket, 1), other = raw_connect(f->d.socket, 1);
	int rfd;
	Pagemap__Response *r;
	uint64_t id;

	create(f, "r", "small", 8192);
	id = lease(c, "r", "small", PAGEMAP__ACCESS__ACCESS_READ, &rfd);
	r = map(c, id, 0, 3 * 4096, PAGEMAP__ACCESS__ACCESS_READ);
	assert_int_equal(r->error, ENXIO);
	raw_free(r);
	r = map(c, id, 0, 4096, PAGEMAP__ACCESS__ACCESS_WRITE);
	assert_int_equal(r->error, EACCES);
	raw_free(r);
	r = map(c, id, 0, 0, PAGEMAP__ACCESS__ACCESS_READ);
	assert_int_equal(r->error, EINVAL);
	raw_free(r);
	r = map(c, 999999, 0, 4096, PAGEMAP__ACCESS__ACCESS_READ);
	assert_int_equal(r->error, ENOENT);
	raw_free(r);
	r = map(other, id, 0, 4096, PAGEMAP__ACCESS__ACCESS_READ);
	assert_int_equal(r->error, EPERM); /* not this client's lease */
	raw_free(r);
	/* a lease with grants cannot end */
	r = map_ok(c, id, 0, 4096, PAGEMAP__ACCESS__ACCESS_READ);
	raw_free(r);
	{
		Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
		Pagemap__LeaseReleaseRequest m =
			PAGEMAP__LEASE_RELEASE_REQUEST__INIT;

		m.lease_id = id;
		rq.body_case = PAGEMAP__REQUEST__BODY_LEASE_RELEASE;
		rq.lease_release = &m;
		r = raw_call(c, &rq, NULL, NULL);
		assert_int_equal(r->error, EBUSY);
		raw_free(r);
		assert_int_equal(unmap(c, id, 0, 4096), 1);
		r = raw_call(c, &rq, NULL, NULL);
		assert_int_equal(r->error, 0);
		raw_free(r);
	}
	close(rfd);
	close(c);
	close(other);
}

static void
gigabyte_of_4k_folios_comes_in_pages_of_replies(void **state)
{
	struct fixture *f = *state;
	int c = raw_connect(f->d.socket, 1), rfd;
	uint64_t id, off = 0, folios = 0, replies = 0, len = 1ull << 30;

	create(f, "z", "gig", len);
	id = lease(c, "z", "gig", PAGEMAP__ACCESS__ACCESS_READ, &rfd);
	while (off < len) {
		Pagemap__Response *r = map(c, id, off, len - off,
					   PAGEMAP__ACCESS__ACCESS_READ);

		assert_non_null(r);
		assert_int_equal(r->error, 0);
		assert_int_equal(r->map->offset, off);
		for (size_t i = 0; i < r->map->n_order; i++)
			assert_int_equal(r->map->order[i], 0);
		folios += r->map->n_order;
		assert_true(r->map->next_offset > off);
		off = r->map->next_offset;
		replies++;
		raw_free(r);
	}
	assert_int_equal(folios, 262144);
	assert_true(replies > 1);
	assert_int_equal(grants_now(f), 262144);
	assert_int_equal(unmap(c, id, 0, len), 262144);
	assert_int_equal(grants_now(f), 0);
	close(rfd);
	close(c);
}

static void
truncate_waits_for_the_holder_and_completes_at_the_final_unpin(void **state)
{
	struct fixture *f = *state;
	int h = raw_connect(f->d.socket, 1), t = raw_connect(f->d.socket, 1);
	int rfd;
	Pagemap__RecallEvent *e;
	Pagemap__Response *r;
	uint64_t id, tid;

	create(f, "r", "t", 4 * MiB);
	id = lease(h, "r", "t", PAGEMAP__ACCESS__ACCESS_READ, &rfd);
	raw_free(map_ok(h, id, 0, 4 * MiB, PAGEMAP__ACCESS__ACCESS_READ));
	tid = send_truncate(t, "t", 1 * MiB, 0);
	/* the holder is asked to return what lies past the new end */
	e = raw_event(h, 10000);
	assert_non_null(e);
	assert_int_equal(e->lease_id, id);
	assert_int_equal(e->offset, 1 * MiB);
	assert_int_equal(e->length, 3 * MiB);
	assert_string_equal(e->reason, "truncate");
	raw_free_event(e);
	/* meanwhile: new grants past the new end are refused, others
	 * are served, and the truncate has not completed */
	r = map(h, id, 2 * MiB, 4096, PAGEMAP__ACCESS__ACCESS_READ);
	assert_int_equal(r->error, EBUSY);
	raw_free(r);
	raw_free(map_ok(h, id, 0, 4096, PAGEMAP__ACCESS__ACCESS_READ));
	r = file_stat(h, "t");
	assert_int_equal(r->file_stat->file->size, 4 * MiB);
	raw_free(r);
	/* the final unpin */
	unmap(h, id, 0, 0);
	r = raw_wait(t, tid, 10000);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	assert_int_equal(r->file_truncate->file->size, 1 * MiB);
	assert_int_equal(r->file_truncate->file->allocated, 1 * MiB);
	raw_free(r);
	close(rfd);
	close(h);
	close(t);
}

static void
truncate_timeout_names_the_blocker_and_stays_pending(void **state)
{
	struct fixture *f = *state;
	int h = raw_connect(f->d.socket, 1), t = raw_connect(f->d.socket, 1);
	int rfd;
	Pagemap__Response *r;
	uint64_t id, tid;
	char pid[32];

	create(f, "r", "slow", 2 * MiB);
	id = lease(h, "r", "slow", PAGEMAP__ACCESS__ACCESS_READ, &rfd);
	raw_free(map_ok(h, id, 0, 2 * MiB, PAGEMAP__ACCESS__ACCESS_READ));
	tid = send_truncate(t, "slow", 0, 100);
	r = raw_wait(t, tid, 10000);
	assert_non_null(r);
	assert_int_equal(r->error, ETIMEDOUT);
	snprintf(pid, sizeof(pid), "pid %d", (int)getpid());
	assert_non_null(strstr(r->message, pid));
	assert_non_null(strstr(r->message, "lease"));
	raw_free(r);
	/* a second truncate is refused while the first stays pending */
	tid = send_truncate(t, "slow", 4096, 0);
	r = raw_wait(t, tid, 10000);
	assert_int_equal(r->error, EBUSY);
	raw_free(r);
	/* it still completes at the final unpin */
	unmap(h, id, 0, 0);
	r = file_stat(t, "slow");
	assert_int_equal(r->file_stat->file->size, 0);
	raw_free(r);
	close(rfd);
	close(h);
	close(t);
}

static void
revoke_recalls_and_ends_the_lease(void **state)
{
	struct fixture *f = *state;
	int h = raw_connect(f->d.socket, 1), a = raw_connect(f->d.socket, 1);
	int rfd;
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__LeaseRevokeRequest m = PAGEMAP__LEASE_REVOKE_REQUEST__INIT;
	Pagemap__RecallEvent *e;
	Pagemap__Response *r;
	uint64_t id, rid;

	create(f, "r", "rev", 2 * MiB);
	id = lease(h, "r", "rev", PAGEMAP__ACCESS__ACCESS_READ, &rfd);
	raw_free(map_ok(h, id, 0, 2 * MiB, PAGEMAP__ACCESS__ACCESS_READ));
	m.lease_id = id;
	rq.body_case = PAGEMAP__REQUEST__BODY_LEASE_REVOKE;
	rq.lease_revoke = &m;
	rid = raw_send(a, &rq);
	e = raw_event(h, 10000);
	assert_non_null(e);
	assert_string_equal(e->reason, "revoke");
	assert_int_equal(e->length, 0);
	raw_free_event(e);
	r = map(h, id, 0, 4096, PAGEMAP__ACCESS__ACCESS_READ);
	assert_int_equal(r->error, EBUSY);
	raw_free(r);
	unmap(h, id, 0, 0);
	r = raw_wait(a, rid, 10000);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	raw_free(r);
	r = map(h, id, 0, 4096, PAGEMAP__ACCESS__ACCESS_READ);
	assert_int_equal(r->error, ENOENT); /* the lease has ended */
	raw_free(r);
	close(rfd);
	close(h);
	close(a);
}

static Pagemap__RegionInfo *
region_info(int fd, Pagemap__Response **keep)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__RegionInfoRequest m = PAGEMAP__REGION_INFO_REQUEST__INIT;

	m.region = (char *)"r";
	rq.body_case = PAGEMAP__REQUEST__BODY_REGION_INFO;
	rq.region_info = &m;
	*keep = raw_call(fd, &rq, NULL, NULL);
	assert_non_null(*keep);
	assert_int_equal((*keep)->error, 0);
	return (*keep)->region_info->region;
}

static void
rm_while_held_keeps_the_data_until_the_final_unpin(void **state)
{
	struct fixture *f = *state;
	int h = raw_connect(f->d.socket, 1), a = raw_connect(f->d.socket, 1);
	int wfd;
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__FileRemoveRequest m = PAGEMAP__FILE_REMOVE_REQUEST__INIT;
	Pagemap__Response *r, *keep;
	uint64_t id, free0, free1;
	char *p;

	create(f, "r", "doomed", 2 * MiB);
	free0 = region_info(a, &keep)->free;
	raw_free(keep);
	id = lease(h, "r", "doomed", PAGEMAP__ACCESS__ACCESS_WRITE, &wfd);
	r = map_ok(h, id, 0, 2 * MiB, PAGEMAP__ACCESS__ACCESS_WRITE);
	p = mmap(NULL, 2 * MiB, PROT_READ | PROT_WRITE, MAP_SHARED, wfd,
		 (off_t)r->map->region_offset[0]);
	raw_free(r);
	assert_true(p != MAP_FAILED);
	strcpy(p, "still here");

	m.region = (char *)"r";
	m.name = (char *)"doomed";
	rq.body_case = PAGEMAP__REQUEST__BODY_FILE_REMOVE;
	rq.file_remove = &m;
	r = raw_call(a, &rq, NULL, NULL);
	assert_int_equal(r->error, 0); /* the name goes at once */
	raw_free(r);
	r = file_stat(a, "doomed");
	assert_int_equal(r->error, ENOENT);
	raw_free(r);
	assert_int_equal(region_info(a, &keep)->orphans, 1);
	assert_int_equal(keep->region_info->region->free, free0);
	raw_free(keep);
	/* a new file cannot take the held blocks (I1) */
	create(f, "r", "newcomer", 2 * MiB);
	assert_string_equal(p, "still here");
	assert_int_equal(region_info(a, &keep)->free, free0 - 2 * MiB);
	raw_free(keep);
	munmap(p, 2 * MiB);

	unmap(h, id, 0, 0);
	{
		Pagemap__Request rl = PAGEMAP__REQUEST__INIT;
		Pagemap__LeaseReleaseRequest ml =
			PAGEMAP__LEASE_RELEASE_REQUEST__INIT;

		ml.lease_id = id;
		rl.body_case = PAGEMAP__REQUEST__BODY_LEASE_RELEASE;
		rl.lease_release = &ml;
		r = raw_call(h, &rl, NULL, NULL);
		assert_int_equal(r->error, 0);
		raw_free(r);
	}
	/* the orphan is freed at the end of its last lease */
	free1 = region_info(a, &keep)->free;
	assert_int_equal(keep->region_info->region->orphans, 0);
	raw_free(keep);
	assert_int_equal(free1, free0); /* doomed's back, newcomer's taken */
	close(wfd);
	close(h);
	close(a);
}

static void
detach_waits_for_the_holder(void **state)
{
	struct fixture *f = *state;
	int h = raw_connect(f->d.socket, 1), a = raw_connect(f->d.socket, 1);
	int rfd;
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__RegionDetachRequest m = PAGEMAP__REGION_DETACH_REQUEST__INIT;
	Pagemap__RecallEvent *e;
	Pagemap__Response *r;
	uint64_t id, did;
	int other;

	create(f, "r", "d", 2 * MiB);
	id = lease(h, "r", "d", PAGEMAP__ACCESS__ACCESS_READ, &rfd);
	raw_free(map_ok(h, id, 0, 2 * MiB, PAGEMAP__ACCESS__ACCESS_READ));
	m.region = (char *)"r";
	rq.body_case = PAGEMAP__REQUEST__BODY_REGION_DETACH;
	rq.region_detach = &m;
	did = raw_send(a, &rq);
	e = raw_event(h, 10000);
	assert_non_null(e);
	assert_string_equal(e->reason, "detach");
	raw_free_event(e);
	/* new leases in the region are refused meanwhile */
	other = raw_connect(f->d.socket, 1);
	{
		Pagemap__Request lr = PAGEMAP__REQUEST__INIT;
		Pagemap__LeaseAcquireRequest lm =
			PAGEMAP__LEASE_ACQUIRE_REQUEST__INIT;

		lm.region = (char *)"r";
		lm.name = (char *)"d";
		lm.access = PAGEMAP__ACCESS__ACCESS_READ;
		lr.body_case = PAGEMAP__REQUEST__BODY_LEASE_ACQUIRE;
		lr.lease_acquire = &lm;
		r = raw_call(other, &lr, NULL, NULL);
		assert_int_equal(r->error, EBUSY);
		raw_free(r);
	}
	unmap(h, id, 0, 0);
	r = raw_wait(a, did, 10000);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	raw_free(r);
	r = file_stat(a, "d");
	assert_int_equal(r->error, ENOENT); /* the region is gone */
	raw_free(r);
	close(rfd);
	close(h);
	close(a);
	close(other);
}

static void
sigterm_waits_for_the_final_unpin_then_exits_zero(void **state)
{
	struct fixture *f = *state;
	int h = raw_connect(f->d.socket, 1), rfd;
	Pagemap__RecallEvent *e;
	Pagemap__Response *keep;
	uint64_t id;

	create(f, "r", "s", 2 * MiB);
	id = lease(h, "r", "s", PAGEMAP__ACCESS__ACCESS_READ, &rfd);
	raw_free(map_ok(h, id, 0, 2 * MiB, PAGEMAP__ACCESS__ACCESS_READ));
	kill(f->d.pid, SIGTERM);
	e = raw_event(h, 10000);
	assert_non_null(e);
	assert_string_equal(e->reason, "shutdown");
	raw_free_event(e);
	/* still serving the holder while it waits */
	assert_int_equal(status(h, &keep)->grants, 1);
	raw_free(keep);
	assert_true(daemon_log_contains(&f->d, "waiting for 1 grant"));
	unmap(h, id, 0, 0);
	assert_int_equal(daemon_wait_exit(&f->d, 10000), 0);
	close(rfd);
	close(h);
}

/* holder -- a child process that maps a file and then waits for a byte
 * on @cmd: 'c' closes its socket and keeps living, 'x' exits. It reports
 * each step with a byte on @ack. */
static pid_t
holder(struct fixture *f, const char *name, int cmd[2], int ack[2])
{
	pid_t pid;

	assert_int_equal(pipe(cmd), 0);
	assert_int_equal(pipe(ack), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int c = raw_connect(f->d.socket, 1), rfd;
		uint64_t id = lease(c, "r", name,
				    PAGEMAP__ACCESS__ACCESS_READ, &rfd);
		char b;

		raw_free(map_ok(c, id, 0, 2 * MiB,
				PAGEMAP__ACCESS__ACCESS_READ));
		if (write(ack[1], "m", 1) != 1)
			_exit(1);
		while (read(cmd[0], &b, 1) == 1) {
			if (b == 'c') {
				close(c);
				if (write(ack[1], "c", 1) != 1)
					_exit(1);
			} else {
				_exit(0);
			}
		}
		_exit(0);
	}
	close(cmd[0]);
	close(ack[1]);
	return pid;
}

static void
expect_ack(int fd, char want)
{
	char b = 0;

	assert_int_equal(read(fd, &b, 1), 1);
	assert_int_equal(b, want);
}

static void
kill9_of_a_holder_releases_its_pins(void **state)
{
	struct fixture *f = *state;
	int cmd[2], ack[2];
	pid_t pid;

	create(f, "r", "k", 2 * MiB);
	pid = holder(f, "k", cmd, ack);
	expect_ack(ack[0], 'm');
	assert_int_equal(grants_now(f), 1);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	grants_become(f, 0);
	close(cmd[1]);
	close(ack[0]);
}

static void
holder_that_closes_its_socket_keeps_its_pins_until_it_exits(void **state)
{
	struct fixture *f = *state;
	int cmd[2], ack[2], t = raw_connect(f->d.socket, 1);
	Pagemap__Response *r;
	pid_t pid;
	uint64_t tid;

	create(f, "r", "c", 2 * MiB);
	pid = holder(f, "c", cmd, ack);
	expect_ack(ack[0], 'm');
	assert_int_equal(write(cmd[1], "c", 1), 1);
	expect_ack(ack[0], 'c');
	/* its connection is gone, its process and pins are not (I5) */
	tid = send_truncate(t, "c", 0, 200);
	r = raw_wait(t, tid, 10000);
	assert_int_equal(r->error, ETIMEDOUT);
	raw_free(r);
	assert_int_equal(grants_now(f), 1);
	/* when the process exits, the pins go and the truncate completes */
	assert_int_equal(write(cmd[1], "x", 1), 1);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	grants_become(f, 0);
	r = file_stat(t, "c");
	assert_int_equal(r->file_stat->file->size, 0);
	raw_free(r);
	close(cmd[1]);
	close(ack[0]);
	close(t);
}

static void
a_process_that_reconnects_takes_its_leases_back(void **state)
{
	struct fixture *f = *state;
	int c = raw_connect(f->d.socket, 1), rfd;
	uint64_t id;

	create(f, "r", "again", 2 * MiB);
	id = lease(c, "r", "again", PAGEMAP__ACCESS__ACCESS_READ, &rfd);
	raw_free(map_ok(c, id, 0, 2 * MiB, PAGEMAP__ACCESS__ACCESS_READ));
	close(c);
	/* the disconnect is processed by the daemon's loop: the new
	 * connection's Hello comes after it on the same loop */
	grants_become(f, 1);
	c = raw_connect(f->d.socket, 1);
	assert_int_equal(unmap(c, id, 0, 0), 1);
	assert_int_equal(grants_now(f), 0);
	close(rfd);
	close(c);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, daemon_teardown)
	const struct CMUnitTest tests[] = {
		T(region_fd_is_passed_once_and_readonly_for_readers),
		T(map_returns_maximal_folios_aligned_in_file_and_region),
		T(data_written_through_one_grant_is_read_through_another),
		T(bad_map_requests_get_clear_errors),
		T(gigabyte_of_4k_folios_comes_in_pages_of_replies),
		T(truncate_waits_for_the_holder_and_completes_at_the_final_unpin),
		T(truncate_timeout_names_the_blocker_and_stays_pending),
		T(revoke_recalls_and_ends_the_lease),
		T(rm_while_held_keeps_the_data_until_the_final_unpin),
		T(detach_waits_for_the_holder),
		T(sigterm_waits_for_the_final_unpin_then_exits_zero),
		T(kill9_of_a_holder_releases_its_pins),
		T(holder_that_closes_its_socket_keeps_its_pins_until_it_exits),
		T(a_process_that_reconnects_takes_its_leases_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

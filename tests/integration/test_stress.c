/* test_stress.c -- a randomized run of several client processes doing
 * mixed map/unmap/revoke/truncate/rm, with a checker asserting I1 after
 * every step.
 *
 * Each worker is a real process with its own connection. Only a file's
 * owner (the worker that created it) writes to it, and it stamps every
 * page it maps for writing with a pattern naming the worker, the mapping
 * and the page; before it unmaps — by choice or because of a recall — it
 * checks every stamp. A granted page that the daemon freed, zeroed or
 * handed to another file would lose its stamp (I1). Between steps the
 * workers are quiet and the checker compares the daemon's own accounts:
 * the grant total equals the grants listed, and no two grants of
 * different files overlap in the region. At the end every worker checks
 * and returns everything, the daemon stops cleanly and fsck is clean.
 */
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

#include "fsck.h"
#include "fdcheck.h"
#include "harness.h"
#include "i1check.h"
#include "rng.h"
#include "rawclient.h"

#define WORKERS 4
#define STEPS 600
#define FILES_PER_WORKER 4
#define MAX_LEASES 16
#define MAX_MAPS 32
#define STAMP 24 /* bytes stamped at the start of each page */
#define WAIT_OP_MS 50 /* timeout of truncates and revokes */

static struct daemon d;
static char region_path[PATH_MAX];
static pid_t workers[WORKERS]; /* killed by teardown if a check fails */

/* ---- worker ------------------------------------------------------------ */

struct wfolio {
	char *p;
	size_t size;
};

struct wmap {
	bool used;
	int lease; /* index in leases[] */
	uint64_t pg, npages;
	bool write;
	struct wfolio *f;
	size_t nf;
	unsigned seq;
};

struct wlease {
	bool used;
	uint64_t id;
	int file; /* global file index: owner * FILES_PER_WORKER + k */
	bool write;
	uint64_t pages; /* file size in pages at acquire */
};

static int me, conn, ro_fd = -1, rw_fd = -1, failures;
static struct wlease leases[MAX_LEASES];
static struct wmap maps[MAX_MAPS];
static unsigned map_seq;

static void
file_name(int file, char *buf, size_t len)
{
	snprintf(buf, len, "w%df%d", file / FILES_PER_WORKER,
		 file % FILES_PER_WORKER);
}

/* own_file_name -- the name of one of this worker's files, at random. */
static void
own_file_name(char *buf, size_t len)
{
	file_name(me * FILES_PER_WORKER + (int)rnd_below(FILES_PER_WORKER), buf,
		  len);
}

static void
stamp_of(const struct wmap *m, uint64_t page, char *buf)
{
	memset(buf, 0, STAMP);
	snprintf(buf, STAMP, "w%d m%u p%llu", me, m->seq,
		 (unsigned long long)page);
}

/* check_and_drop -- verify @m's stamps, munmap it, forget it. */
static void
check_and_drop(struct wmap *m)
{
	uint64_t page = 0;

	for (size_t i = 0; i < m->nf; i++) {
		for (size_t off = 0; off < m->f[i].size; off += 4096, page++) {
			char want[STAMP];

			if (!m->write)
				continue;
			stamp_of(m, page, want);
			if (memcmp(m->f[i].p + off, want, STAMP) != 0) {
				fprintf(stderr,
					"worker %d: I1 violated: page %llu of "
					"lease %llu lost its stamp\n",
					me, (unsigned long long)(m->pg + page),
					(unsigned long long)leases[m->lease].id);
				failures++;
			}
		}
		munmap(m->f[i].p, m->f[i].size);
	}
	free(m->f);
	memset(m, 0, sizeof(*m));
}

static Pagemap__Response *
call(Pagemap__Request *rq, int *ret_fd)
{
	Pagemap__Response *r = raw_call(conn, rq, ret_fd, NULL);

	if (r == NULL) {
		fprintf(stderr, "worker %d: no reply\n", me);
		_exit(3);
	}
	return r;
}

static uint64_t
unmap_range(uint64_t lease_id, uint64_t pg, uint64_t n)
{
	Pagemap__Request rq;
	Pagemap__UnmapRequest m;
	Pagemap__Response *r;
	uint64_t k = 0;

	raw_req_unmap(&rq, &m, lease_id, pg << 12, n << 12);
	r = call(&rq, NULL);
	if (r->error == 0)
		k = r->unmap->returned;
	raw_free(r);
	return k;
}

/* handle_recalls -- honour every queued recall: check, unmap, return. */
static void
handle_recalls(void)
{
	Pagemap__RecallEvent *e;

	while ((e = raw_event(conn, 0)) != NULL) {
		uint64_t pg = e->offset >> 12;
		uint64_t end = e->length ? (e->offset + e->length + 4095) >> 12
					 : UINT64_MAX;

		for (int i = 0; i < MAX_MAPS; i++) {
			struct wmap *m = &maps[i];
			struct wlease *l = &leases[m->lease];

			if (!m->used || l->id != e->lease_id ||
			    m->pg + m->npages <= pg || m->pg >= end)
				continue;
			unmap_range(l->id, m->pg, m->npages);
			check_and_drop(m);
		}
		raw_free_event(e);
	}
}

static void
op_create(void)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__FileCreateRequest m = PAGEMAP__FILE_CREATE_REQUEST__INIT;
	char name[32];

	own_file_name(name, sizeof(name));
	m.region = (char *)"r";
	m.name = name;
	m.size = (1 + rnd_below(2048)) << 12;
	rq.body_case = PAGEMAP__REQUEST__BODY_FILE_CREATE;
	rq.file_create = &m;
	raw_free(call(&rq, NULL)); /* EEXIST is fine */
}

static void
op_lease(void)
{
	Pagemap__Request rq;
	Pagemap__LeaseAcquireRequest m;
	int file = (int)rnd_below(WORKERS * FILES_PER_WORKER), slot = -1, fd;
	bool write = file / FILES_PER_WORKER == me; /* owners write */
	Pagemap__Response *r;
	char name[32];

	for (int i = 0; i < MAX_LEASES; i++) {
		if (leases[i].used && leases[i].file == file)
			return; /* one lease per file and worker */
		if (!leases[i].used && slot < 0)
			slot = i;
	}
	if (slot < 0)
		return;
	file_name(file, name, sizeof(name));
	raw_req_lease(&rq, &m, "r", name,
		      write ? PAGEMAP__ACCESS__ACCESS_WRITE
			    : PAGEMAP__ACCESS__ACCESS_READ);
	r = call(&rq, &fd);
	if (fd >= 0) {
		int *keep = write ? &rw_fd : &ro_fd;
		if (*keep >= 0)
			close(*keep);
		*keep = fd;
	}
	if (r->error == 0) {
		leases[slot].used = true;
		leases[slot].id = r->lease_acquire->lease_id;
		leases[slot].file = file;
		leases[slot].write = write;
		leases[slot].pages = (r->lease_acquire->size + 4095) >> 12;
	}
	raw_free(r);
}

/* pick -- one of the @n slots that are @used, each with the same chance
 * (reservoir sampling); -1 if none is. */
static int
pick(int n, bool (*used)(int))
{
	int seen = 0, ret = -1;

	for (int i = 0; i < n; i++)
		if (used(i) && rnd_below((uint64_t)++seen) == 0)
			ret = i;
	return ret;
}

static bool
lease_used(int i)
{
	return leases[i].used;
}

static bool
map_used(int i)
{
	return maps[i].used;
}

static int
pick_lease(void)
{
	return pick(MAX_LEASES, lease_used);
}

static void
op_map(void)
{
	Pagemap__Request rq;
	Pagemap__MapRequest mr;
	int li = pick_lease(), slot = -1;
	struct wlease *l;
	struct wmap *m;
	Pagemap__Response *r;
	uint64_t pg, n, page = 0;
	int fd;

	if (li < 0)
		return;
	l = &leases[li];
	if (l->pages == 0)
		return;
	pg = rnd_below(l->pages);
	n = 1 + rnd_below(l->pages - pg < 1024 ? l->pages - pg : 1024);
	for (int i = 0; i < MAX_MAPS; i++) {
		if (maps[i].used && maps[i].lease == li &&
		    maps[i].pg < pg + n && pg < maps[i].pg + maps[i].npages)
			return; /* keep a lease's mappings disjoint */
		if (!maps[i].used && slot < 0)
			slot = i;
	}
	if (slot < 0)
		return;
	raw_req_map(&rq, &mr, l->id, pg << 12, n << 12,
		    l->write ? PAGEMAP__ACCESS__ACCESS_WRITE
			     : PAGEMAP__ACCESS__ACCESS_READ);
	r = call(&rq, NULL);
	if (r->error || r->map->next_offset != (pg + n) << 12) {
		/* ENXIO (shrunk), EBUSY (recall), ENOENT (revoked): give
		 * back anything granted and move on. */
		if (r->error == 0)
			unmap_range(l->id, pg, n);
		if (r->error == ENOENT)
			memset(l, 0, sizeof(*l));
		raw_free(r);
		return;
	}
	m = &maps[slot];
	m->used = true;
	m->lease = li;
	m->pg = pg;
	m->npages = n;
	m->write = l->write;
	m->seq = ++map_seq;
	m->nf = r->map->n_order;
	m->f = calloc(m->nf, sizeof(*m->f));
	/* A read-write fd serves read mappings too: the daemon sends a
	 * read-only one only if none was sent before. */
	fd = l->write || ro_fd < 0 ? rw_fd : ro_fd;
	for (size_t i = 0; i < m->nf; i++) {
		size_t size = (size_t)4096 << r->map->order[i];
		char *p = mmap(NULL, size,
			       PROT_READ | (l->write ? PROT_WRITE : 0),
			       MAP_SHARED, fd, (off_t)r->map->region_offset[i]);

		if (p == MAP_FAILED) {
			fprintf(stderr, "worker %d: mmap: %s\n", me,
				strerror(errno));
			_exit(4);
		}
		m->f[i].p = p;
		m->f[i].size = size;
		for (size_t off = 0; off < size && l->write; off += 4096) {
			char s[STAMP];
			stamp_of(m, page++, s);
			memcpy(p + off, s, STAMP);
		}
	}
	raw_free(r);
}

static void
op_unmap(void)
{
	int i = pick(MAX_MAPS, map_used);

	if (i < 0)
		return;
	unmap_range(leases[maps[i].lease].id, maps[i].pg, maps[i].npages);
	check_and_drop(&maps[i]);
}

static void
op_release(void)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__LeaseReleaseRequest m = PAGEMAP__LEASE_RELEASE_REQUEST__INIT;
	int li = pick_lease();
	Pagemap__Response *r;

	if (li < 0)
		return;
	for (int i = 0; i < MAX_MAPS; i++)
		if (maps[i].used && maps[i].lease == li)
			return;
	m.lease_id = leases[li].id;
	rq.body_case = PAGEMAP__REQUEST__BODY_LEASE_RELEASE;
	rq.lease_release = &m;
	r = call(&rq, NULL);
	if (r->error == 0 || r->error == ENOENT)
		memset(&leases[li], 0, sizeof(leases[li]));
	raw_free(r);
}

static void
op_truncate(void)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__FileTruncateRequest m = PAGEMAP__FILE_TRUNCATE_REQUEST__INIT;
	char name[32];

	file_name((int)rnd_below(WORKERS * FILES_PER_WORKER), name,
		  sizeof(name));
	m.region = (char *)"r";
	m.name = name;
	m.size = rnd_below(2048) << 12;
	m.timeout_ms = WAIT_OP_MS;
	rq.body_case = PAGEMAP__REQUEST__BODY_FILE_TRUNCATE;
	rq.file_truncate = &m;
	raw_free(call(&rq, NULL)); /* ETIMEDOUT, EBUSY, ENOENT are fine */
}

static void
op_remove(void)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__FileRemoveRequest m = PAGEMAP__FILE_REMOVE_REQUEST__INIT;
	char name[32];

	own_file_name(name, sizeof(name));
	m.region = (char *)"r";
	m.name = name;
	rq.body_case = PAGEMAP__REQUEST__BODY_FILE_REMOVE;
	rq.file_remove = &m;
	raw_free(call(&rq, NULL));
}

static void
op_revoke(uint64_t max_id)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__LeaseRevokeRequest m = PAGEMAP__LEASE_REVOKE_REQUEST__INIT;

	m.lease_id = 1 + rnd_below(max_id ? max_id : 1);
	m.timeout_ms = WAIT_OP_MS;
	rq.body_case = PAGEMAP__REQUEST__BODY_LEASE_REVOKE;
	rq.lease_revoke = &m;
	raw_free(call(&rq, NULL));
}

/* forget_ended -- leases the daemon ended (revoked) answer ENOENT to an
 * empty unmap; drop them and their (already returned) mappings. */
static void
forget_ended(void)
{
	for (int i = 0; i < MAX_LEASES; i++) {
		Pagemap__Request rq;
		Pagemap__UnmapRequest m;
		Pagemap__Response *r;

		if (!leases[i].used)
			continue;
		/* touches no grant */
		raw_req_unmap(&rq, &m, leases[i].id, UINT64_MAX - 4095, 1);
		r = call(&rq, NULL);
		if (r->error == ENOENT) {
			for (int k = 0; k < MAX_MAPS; k++)
				if (maps[k].used && maps[k].lease == i)
					check_and_drop(&maps[k]);
			memset(&leases[i], 0, sizeof(leases[i]));
		}
		raw_free(r);
	}
}

static void
worker_step(void)
{
	int dice = (int)rnd_below(100);

	handle_recalls();
	if (dice < 12)
		op_create();
	else if (dice < 30)
		op_lease();
	else if (dice < 62)
		op_map();
	else if (dice < 80)
		op_unmap();
	else if (dice < 85)
		op_release();
	else if (dice < 91)
		op_truncate();
	else if (dice < 95)
		op_remove();
	else
		op_revoke(200);
	handle_recalls();
	forget_ended();
}

static void
worker_quit(void)
{
	handle_recalls();
	for (int i = 0; i < MAX_MAPS; i++) {
		if (!maps[i].used)
			continue;
		unmap_range(leases[maps[i].lease].id, maps[i].pg,
			    maps[i].npages);
		check_and_drop(&maps[i]);
	}
}

static void
worker(int id, int cmd, int ack)
{
	char c;

	me = id;
	rnd_seed("worker", 1000 + (uint64_t)id);
	conn = raw_connect(d.socket, 1);
	while (read(cmd, &c, 1) == 1) {
		if (c == 'q') {
			worker_quit();
			break;
		}
		worker_step();
		c = failures ? 'F' : 'k';
		if (write(ack, &c, 1) != 1)
			_exit(5);
	}
	_exit(failures ? 1 : 0);
}

/* ---- coordinator and checker ------------------------------------------- */

static void
random_clients_never_break_i1(void **state)
{
	int cmd[WORKERS][2], ack[WORKERS][2];
	pid_t pid[WORKERS];
	bool alive[WORKERS];
	int checker = raw_connect(d.socket, 1);
	struct i1_stats i1 = {0};
	struct fsck_report rep;

	(void)state;
	rnd_seed("driver", 7);
	for (int w = 0; w < WORKERS; w++) {
		assert_int_equal(pipe(cmd[w]), 0);
		assert_int_equal(pipe(ack[w]), 0);
		pid[w] = workers[w] = fork();
		assert_true(pid[w] >= 0);
		if (pid[w] == 0) {
			close(checker);
			worker(w, cmd[w][0], ack[w][1]);
		}
		close(cmd[w][0]);
		close(ack[w][1]);
		alive[w] = true;
	}
	for (int step = 0; step < STEPS; step++) {
		int w = (int)rnd_below(WORKERS);
		char c;

		if (!alive[w])
			continue;
		if (step == STEPS / 2) {
			/* a holder dies mid-run: its pins must go */
			kill(pid[w], SIGKILL);
			assert_int_equal(waitpid(pid[w], NULL, 0), pid[w]);
			alive[w] = false;
			workers[w] = 0;
			continue;
		}
		assert_int_equal(write(cmd[w][1], "s", 1), 1);
		assert_int_equal(read(ack[w][0], &c, 1), 1);
		if (c != 'k')
			fail_msg("step %d: worker %d found a broken stamp",
				 step, w);
		i1_check(checker, "r", step, &i1);
	}
	for (int w = 0; w < WORKERS; w++) {
		int st;

		if (!alive[w])
			continue;
		assert_int_equal(write(cmd[w][1], "q", 1), 1);
		assert_int_equal(waitpid(pid[w], &st, 0), pid[w]);
		workers[w] = 0;
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	print_message("%d steps; at most %llu grants and %llu leases; grants "
		      "outstanding after %llu steps\n",
		      STEPS, (unsigned long long)i1.max_grants,
		      (unsigned long long)i1.max_leases,
		      (unsigned long long)i1.busy);
	/* the run exercised what it claims to */
	assert_true(i1.max_grants > 20);
	assert_true(i1.busy > STEPS / 2);
	/* every worker has exited: nothing may stay pinned */
	for (int i = 0; i < 2000 && i1_grants_now(checker); i++)
		poll(NULL, 0, 5);
	assert_int_equal(i1_grants_now(checker), 0);
	i1_check(checker, "r", STEPS, &i1);
	close(checker);
	/* recalls happened and completed: revokes and truncates waited */
	assert_true(daemon_log_contains(&d, "revoked"));
	assert_true(daemon_log_contains(&d, "completed after its recall"));
	assert_int_equal(daemon_stop(&d), 0);
	assert_int_equal(fsck_region(region_path, &rep, stderr), 0);
	assert_int_equal(rep.errors, 0);
	for (int w = 0; w < WORKERS; w++) {
		close(cmd[w][1]);
		close(ack[w][0]);
	}
}

static int
setup(void **state)
{
	const char *regions[] = {"r=r.pmem,size=256M,create", NULL};
	int rc;

	(void)state;
	rc = daemon_start_regions(&d, regions);
	snprintf(region_path, sizeof(region_path), "%s/r.pmem", d.dir);
	return rc;
}

static int
teardown(void **state)
{
	(void)state;
	for (int w = 0; w < WORKERS; w++) {
		if (workers[w] > 0) {
			kill(workers[w], SIGKILL);
			waitpid(workers[w], NULL, 0);
		}
	}
	return daemon_cleanup(&d) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(random_clients_never_break_i1),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

/* test_cached.c -- cached grants through a real daemon and real holder
 * processes: a map of cached grants sends no message, the daemon takes
 * cached grants back from a stopped holder alone, a holder that maps
 * during a take-back gets a recall and hands the grants back with Taken,
 * kill -9 of a holder and of the daemon (whose successor adopts the word
 * table the holder hands back, or refuses a bad one), and a holder that
 * scribbles on its state words keeps only its own grants. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include "pagemap.h"

#include "clock.h"
#include "fdcheck.h"
#include "harness.h"

#define MiB (1024ull * 1024)
#define WAIT_MS 10000
#define CANARY 0x5a

struct fixture {
	struct daemon d;
	struct pagemap *pm;
};

#define OK(x) assert_int_equal((x), 0)

static int
setup(void **state)
{
	struct fixture *f = daemon_setup(state, sizeof(*f), NULL);

	if (!f)
		return -1;
	return pagemap_connect(f->d.socket, "cached-test", &f->pm);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	if (f)
		pagemap_close(f->pm);
	return daemon_teardown(state);
}

/* status_count -- the daemon's status: its count of grants held, or
 * without @want_grants of requests decoded. */
static uint64_t
status_count(struct pagemap *pm, bool want_grants)
{
	struct pagemap_status *st;
	uint64_t n;

	OK(pagemap_status(pm, &st));
	n = want_grants ? st->grants : st->requests;
	pagemap_free(st);
	return n;
}

/* requests -- the daemon's count of requests decoded (one more for the
 * status request that asks). */
static uint64_t
requests(struct pagemap *pm)
{
	return status_count(pm, false);
}

static uint64_t
grants(struct pagemap *pm)
{
	return status_count(pm, true);
}

/* grants_become -- poll, bounded, until the daemon counts @n grants. */
static void
grants_become(struct pagemap *pm, uint64_t n)
{
	long long end = now_ms() + WAIT_MS;

	while (grants(pm) != n && now_ms() < end)
		poll(NULL, 0, 2);
	assert_int_equal(grants(pm), n);
}

/* states -- how many grants of lease @id are in each state. */
static void
states(struct pagemap *pm, uint64_t id, size_t ret[3])
{
	struct pagemap_grant_info **g;
	size_t n;

	ret[0] = ret[1] = ret[2] = 0;
	OK(pagemap_grant_list(pm, id, 0, &g, &n));
	for (size_t i = 0; i < n; i++) {
		assert_true(g[i]->state <= PAGEMAP_GRANT_RECALLED);
		ret[g[i]->state]++;
	}
	pagemap_free(g);
}

static bool
all(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* ---- a holder in a child process --------------------------------------- */

struct holder_args {
	const char *socket;
	const char *file;
};

/* scribble -- what a hostile holder can do: write junk into every word of
 * its own table (found as its memfd among its fds). Returns the words
 * written, or -1. */
static long
scribble(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		char path[64], link[128];
		ssize_t n;
		struct stat st;
		uint64_t *w;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (!strstr(link, "pagemap-words") || fstat(fd, &st))
			continue;
		/* The daemon sealed it against shrinking: that must fail. */
		if (ftruncate(fd, 0) == 0)
			return -1;
		w = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, fd, 0);
		if (w == MAP_FAILED)
			return -1;
		for (size_t i = 0; i < 4096; i++)
			w[i] = i % 3 == 0   ? ~0ull
			       : i % 3 == 1 ? 0x0000000500000101ull
					    : (uint64_t)i << 32 | 2;
		munmap(w, (size_t)st.st_size);
		return 4096;
	}
	return -1;
}

/* holder -- map [0, 4M) of its file (filled with the canary) and [4M,
 * 8M), unmap the second (cached), say "ready LEASE", then serve:
 * 'c' canary still there?, 'u' unmap the first, 'm' map [4M, 8M) again
 * and unmap it, 'k' the same, saying whether the canary is there, 'h'
 * scribble on the words, 'x' swap its word table's memfd for a bad one,
 * 'd' dispatch events. */
static void
holder(void *arg, int cmd, int ans)
{
	const struct holder_args *a = arg;
	struct pagemap *pm;
	struct pagemap_lease *l;
	struct pagemap_mapping *m, *m2;
	int err;

	if (pagemap_connect(a->socket, "holder", &pm) ||
	    pagemap_lease_acquire(pm, "r", a->file, PAGEMAP_WRITE, &l) ||
	    pagemap_map(l, 0, 4 * MiB, PAGEMAP_WRITE, &m) ||
	    pagemap_map(l, 4 * MiB, 4 * MiB, PAGEMAP_WRITE, &m2))
		_exit(3);
	memset(pagemap_mapping_data(m), CANARY, 4 * MiB);
	memset(pagemap_mapping_data(m2), CANARY, 4 * MiB);
	if (pagemap_unmap(m2))
		_exit(3);
	piped_say(ans, "ready %" PRIu64 "\n", pagemap_lease_id(l));
	for (;;) {
		char c;

		if (read(cmd, &c, 1) != 1 || c == 'q')
			break;
		switch (c) {
		case 'c':
			piped_say(ans, "%d\n",
				  m && all(pagemap_mapping_data(m), 4 * MiB,
					   CANARY));
			break;
		case 'u':
			err = pagemap_unmap(m);
			m = NULL;
			piped_say(ans, "%d\n", err);
			break;
		case 'm':
			err = pagemap_map(l, 4 * MiB, 4 * MiB, PAGEMAP_WRITE,
					  &m2);
			if (!err)
				pagemap_unmap(m2);
			piped_say(ans, "%d\n", err);
			break;
		case 'h':
			piped_say(ans, "%ld\n", scribble());
			break;
		case 'k':
			err = pagemap_map(l, 4 * MiB, 4 * MiB, PAGEMAP_WRITE,
					  &m2);
			if (!err) {
				err = all(pagemap_mapping_data(m2), 4 * MiB,
					  CANARY);
				pagemap_unmap(m2);
			}
			piped_say(ans, "%d\n", err);
			break;
		case 'x':
			piped_say(ans, "%d\n", bad_word_table());
			break;
		case 'd':
			piped_say(ans, "%d\n", pagemap_dispatch(pm));
			break;
		}
	}
	pagemap_close(pm);
}

/* holder_start -- a holder of r/@file (created, 8 MiB); its lease id. */
static uint64_t
holder_start(struct fixture *f, struct piped *p, struct holder_args *a,
	     const char *file)
{
	char line[64];
	uint64_t id;

	OK(pagemap_file_create(f->pm, "r", file, 8 * MiB, -1, NULL));
	a->socket = f->d.socket;
	a->file = file;
	piped_start(p, holder, a);
	piped_ask(p, 0, line, sizeof(line));
	assert_int_equal(sscanf(line, "ready %" SCNu64, &id), 1);
	return id;
}

static int
ask_int(struct piped *p, char c)
{
	char line[64];

	piped_ask(p, c, line, sizeof(line));
	return atoi(line);
}

/* reap -- kill -9 the holder and reap it. */
static void
reap(struct piped *p)
{
	int st;

	kill(p->pid, SIGKILL);
	assert_int_equal(waitpid(p->pid, &st, 0), p->pid);
	close(p->cmd);
	close(p->ans);
}

/* ---- tests ------------------------------------------------------------ */

static void
a_map_of_cached_grants_sends_no_message(void **state)
{
	struct fixture *f = *state;
	struct pagemap *other;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	size_t s[3];
	uint64_t r;

	OK(pagemap_connect(f->d.socket, "watcher", &other));
	OK(pagemap_file_create(f->pm, "r", "a", 8 * MiB, -1, NULL));
	OK(pagemap_lease_acquire(f->pm, "r", "a", PAGEMAP_WRITE, &l));
	OK(pagemap_map(l, 0, 8 * MiB, PAGEMAP_WRITE, &m));
	memset(pagemap_mapping_data(m), 0x33, 8 * MiB);
	OK(pagemap_unmap(m));
	states(other, pagemap_lease_id(l), s);
	assert_int_equal(s[PAGEMAP_GRANT_CACHED], 4);
	assert_int_equal(s[PAGEMAP_GRANT_MAPPED], 0);

	/* The daemon counts every request it decodes: between two of the
	 * watcher's, the holder's map and unmap add nothing. */
	r = requests(other);
	OK(pagemap_map(l, 0, 8 * MiB, PAGEMAP_WRITE, &m));
	assert_true(all(pagemap_mapping_data(m), 8 * MiB, 0x33));
	states(other, pagemap_lease_id(l), s); /* one request */
	assert_int_equal(s[PAGEMAP_GRANT_MAPPED], 4);
	OK(pagemap_unmap(m));
	OK(pagemap_map(l, 2 * MiB, 2 * MiB, PAGEMAP_READ, &m));
	assert_int_equal(pagemap_mapping_folios(m), 1);
	OK(pagemap_unmap(m));
	assert_int_equal(requests(other), r + 2);

	/* A range the cache does not tile asks, as always. */
	OK(pagemap_map(l, 4096, 4096, PAGEMAP_READ, &m));
	OK(pagemap_unmap(m));
	assert_int_equal(requests(other), r + 4);
	assert_int_equal(grants(other), 5);

	/* Releasing the lease returns the cached grants with it. */
	OK(pagemap_lease_release(l));
	assert_int_equal(grants(other), 0);
	pagemap_close(other);
}

/* truncate_under_stopped_holder -- with the holder of lease @id (two
 * grants mapped, two cached, in the second half of @name) stopped by
 * SIGSTOP, truncate @name to 4 MiB: the daemon takes the cached grants
 * back alone and leaves the mapped ones; continued, the holder's map of
 * the cut range is refused by the daemon (its cache knows no better) and
 * its canary is intact. */
static void
truncate_under_stopped_holder(struct fixture *f, struct piped *p, uint64_t id,
			      const char *name)
{
	struct pagemap_file_info *fi;
	size_t s[3];

	assert_int_equal(kill(p->pid, SIGSTOP), 0);
	OK(pagemap_file_truncate(f->pm, "r", name, 4 * MiB, 5000, &fi));
	assert_int_equal(fi->size, 4 * MiB);
	pagemap_free(fi);
	states(f->pm, id, s);
	assert_int_equal(s[PAGEMAP_GRANT_MAPPED], 2);
	assert_int_equal(s[PAGEMAP_GRANT_CACHED], 0);
	assert_int_equal(kill(p->pid, SIGCONT), 0);
	assert_int_equal(ask_int(p, 'm'), -ENXIO);
	assert_int_equal(ask_int(p, 'c'), 1);
}

static void
truncate_takes_cached_grants_from_a_stopped_holder(void **state)
{
	struct fixture *f = *state;
	struct holder_args a;
	struct piped p;
	size_t s[3];
	uint64_t id = holder_start(f, &p, &a, "t");

	states(f->pm, id, s);
	assert_int_equal(s[PAGEMAP_GRANT_MAPPED], 2);
	assert_int_equal(s[PAGEMAP_GRANT_CACHED], 2);
	/* A holder that never reads its socket does not block a truncate
	 * of what it only has cached. */
	truncate_under_stopped_holder(f, &p, id, "t");
	piped_quit(&p);
	grants_become(f->pm, 0);
}

static void
a_holder_mapping_during_take_back_gets_a_recall_then_taken(void **state)
{
	struct fixture *f = *state;
	struct holder_args a;
	struct piped p;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	struct pagemap_file_info *fi;
	size_t s[3];
	uint64_t id = holder_start(f, &p, &a, "t");
	long long end;
	int err;

	/* The mapped half holds the truncate; the cached half is gone at
	 * once, and the mapped grants show as recalled. */
	err = pagemap_file_truncate(f->pm, "r", "t", 0, 200, NULL);
	assert_int_equal(err, -ETIMEDOUT);
	states(f->pm, id, s);
	assert_int_equal(s[PAGEMAP_GRANT_RECALLED], 2);
	assert_int_equal(s[PAGEMAP_GRANT_CACHED] + s[PAGEMAP_GRANT_MAPPED], 0);
	/* I1: the freed half goes to a new file, and whatever is written
	 * there, the holder's mapped half keeps its canary. */
	OK(pagemap_file_create(f->pm, "r", "n", 48 * MiB, -1, NULL));
	OK(pagemap_lease_acquire(f->pm, "r", "n", PAGEMAP_WRITE, &l));
	OK(pagemap_map(l, 0, 48 * MiB, PAGEMAP_WRITE, &m));
	assert_true(all(pagemap_mapping_data(m), 48 * MiB, 0));
	memset(pagemap_mapping_data(m), 0xee, 48 * MiB);
	assert_int_equal(ask_int(&p, 'c'), 1);
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(l));
	OK(pagemap_file_remove(f->pm, "r", "n"));

	/* Its last unmap says Taken; the truncate completes. */
	assert_true(ask_int(&p, 'd') >= 0);
	assert_int_equal(ask_int(&p, 'u'), 0);
	end = now_ms() + WAIT_MS;
	for (;;) {
		OK(pagemap_file_stat(f->pm, "r", "t", &fi));
		if (fi->size == 0 || now_ms() > end)
			break;
		pagemap_free(fi);
		poll(NULL, 0, 2);
	}
	assert_int_equal(fi->size, 0);
	pagemap_free(fi);
	grants_become(f->pm, 0);
	piped_quit(&p);
}

static void
kill9_of_a_holder_frees_its_cached_grants(void **state)
{
	struct fixture *f = *state;
	struct holder_args a;
	struct piped p;

	holder_start(f, &p, &a, "k");
	assert_int_equal(grants(f->pm), 4);
	reap(&p);
	grants_become(f->pm, 0);
	OK(pagemap_file_remove(f->pm, "r", "k"));
}

static void
revoke_takes_cached_grants_alone(void **state)
{
	struct fixture *f = *state;
	struct holder_args a;
	struct piped p;
	uint64_t id = holder_start(f, &p, &a, "v");

	/* Unmapped everything: nothing is mapped, so the revoke completes
	 * with the holder stopped. */
	assert_int_equal(ask_int(&p, 'u'), 0);
	assert_int_equal(kill(p.pid, SIGSTOP), 0);
	OK(pagemap_lease_revoke(f->pm, id, 5000));
	assert_int_equal(grants(f->pm), 0);
	assert_int_equal(kill(p.pid, SIGCONT), 0);
	assert_int_equal(ask_int(&p, 'm'), -ENOENT);
	piped_quit(&p);
}

static void
scribbled_words_keep_only_the_scribbler_s_grants(void **state)
{
	struct fixture *f = *state;
	struct holder_args a;
	struct piped p;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	struct pagemap_blocker **b;
	size_t n;
	uint64_t id = holder_start(f, &p, &a, "h");

	assert_int_equal(ask_int(&p, 'h'), 4096);
	/* Its words say nothing the daemon issued: every grant is treated
	 * as mapped, so the revoke waits, and blockers names it. */
	assert_int_equal(pagemap_lease_revoke(f->pm, id, 200), -ETIMEDOUT);
	OK(pagemap_blockers(f->pm, "r", NULL, &b, &n));
	assert_int_equal(n, 1);
	assert_int_equal(b[0]->lease_id, id);
	assert_int_equal(b[0]->grants, 4);
	pagemap_free(b);
	/* Nobody else is touched: the daemon serves, and another file
	 * maps and holds what is written. */
	OK(pagemap_file_create(f->pm, "r", "o", 8 * MiB, -1, NULL));
	OK(pagemap_lease_acquire(f->pm, "r", "o", PAGEMAP_WRITE, &l));
	OK(pagemap_map(l, 0, 8 * MiB, PAGEMAP_WRITE, &m));
	assert_true(all(pagemap_mapping_data(m), 8 * MiB, 0));
	memset(pagemap_mapping_data(m), 0x77, 8 * MiB);
	assert_int_equal(ask_int(&p, 'c'), 1);
	OK(pagemap_unmap(m));
	OK(pagemap_map(l, 0, 8 * MiB, PAGEMAP_READ, &m));
	assert_true(all(pagemap_mapping_data(m), 8 * MiB, 0x77));
	OK(pagemap_unmap(m));
	OK(pagemap_lease_release(l));
	/* A truncate and a detach wait for it as they would for a holder
	 * that maps everything; ours went at once. */
	assert_int_equal(pagemap_file_truncate(f->pm, "r", "h", 0, 200, NULL),
			 -ETIMEDOUT);
	assert_int_equal(pagemap_region_detach(f->pm, "r", 200), -ETIMEDOUT);
	assert_int_equal(ask_int(&p, 'c'), 1);
	assert_int_equal(grants(f->pm), 4);
	/* Its own grants come back when it goes; then the detach ends. */
	reap(&p);
	grants_become(f->pm, 0);
	{
		struct pagemap_region_info **r;
		long long end = now_ms() + WAIT_MS;
		size_t nr = 1;

		while (nr && now_ms() < end) {
			OK(pagemap_region_list(f->pm, &r, &nr));
			pagemap_free(r);
			if (nr)
				poll(NULL, 0, 2);
		}
		assert_int_equal(nr, 0);
	}
}

/* crash -- kill -9 the fixture's daemon with the holder of lease @id
 * inside, start it again, and let the holder reconnect (its next call
 * that reads its socket) until lease @id's grants are @mapped mapped. */
static void
crash(struct fixture *f, struct piped *p, uint64_t id, size_t mapped)
{
	size_t s[3];
	long long end;

	pagemap_close(f->pm);
	f->pm = NULL;
	daemon_kill(&f->d);
	assert_int_equal(daemon_restart(&f->d), 0);
	OK(pagemap_connect(f->d.socket, "cached-test", &f->pm));
	/* Restored pins have no word until their holder hands the table
	 * back: all four count as mapped. */
	states(f->pm, id, s);
	assert_int_equal(s[PAGEMAP_GRANT_MAPPED], 4);
	end = now_ms() + WAIT_MS;
	do {
		ask_int(p, 'd');
		states(f->pm, id, s);
	} while (s[PAGEMAP_GRANT_MAPPED] != mapped && now_ms() < end);
	assert_int_equal(s[PAGEMAP_GRANT_MAPPED], mapped);
}

static void
kill9_of_the_daemon_keeps_mapped_and_cached_grants(void **state)
{
	struct fixture *f = *state;
	struct holder_args a;
	struct piped p;
	uint64_t id = holder_start(f, &p, &a, "d"), r;
	size_t s[3];

	/* The holder's reconnect hands its word table back; the new daemon
	 * adopts it, and the cached half is cached again. */
	crash(f, &p, id, 2);
	states(f->pm, id, s);
	assert_int_equal(s[PAGEMAP_GRANT_CACHED], 2);
	/* A map of the cached half sends no message, and finds its data. */
	r = requests(f->pm);
	assert_int_equal(ask_int(&p, 'k'), 1);
	assert_int_equal(requests(f->pm), r + 1);
	assert_int_equal(ask_int(&p, 'c'), 1);
	states(f->pm, id, s);
	assert_int_equal(s[PAGEMAP_GRANT_MAPPED], 2);
	assert_int_equal(s[PAGEMAP_GRANT_CACHED], 2);
	/* The daemon takes the adopted cached grants back alone. */
	truncate_under_stopped_holder(f, &p, id, "d");
	assert_int_equal(ask_int(&p, 'u'), 0);
	piped_quit(&p);
	grants_become(f->pm, 0);
}

static void
a_bad_word_table_handed_back_is_refused_cleanly(void **state)
{
	struct fixture *f = *state;
	struct holder_args a;
	struct piped p;
	uint64_t id = holder_start(f, &p, &a, "b");
	size_t s[3];

	/* Not the daemon's sealed memfd: refused, and the holder's cached
	 * grants go as they did before tables were handed back -- its
	 * reconcile returns them, its map of that half asks afresh. */
	assert_int_equal(ask_int(&p, 'x'), 0);
	crash(f, &p, id, 2);
	states(f->pm, id, s);
	assert_int_equal(s[PAGEMAP_GRANT_CACHED], 0);
	assert_int_equal(ask_int(&p, 'k'), 1);
	assert_int_equal(ask_int(&p, 'c'), 1);
	states(f->pm, id, s);
	assert_int_equal(s[PAGEMAP_GRANT_MAPPED], 2);
	assert_int_equal(s[PAGEMAP_GRANT_CACHED], 2);
	/* The daemon serves on: another client's work goes through. */
	OK(pagemap_file_create(f->pm, "r", "other", 2 * MiB, -1, NULL));
	assert_int_equal(ask_int(&p, 'u'), 0);
	piped_quit(&p);
	grants_become(f->pm, 0);
}

/* restart_with -- stop the fixture's daemon and start it again on the
 * same region with the [daemon] settings @conf; reconnect f->pm. */
static void
restart_with(struct fixture *f, const char *conf)
{
	char path[PATH_MAX + 16], spec[PATH_MAX + 64];
	const char *args[] = {"--config", path, "--region", spec, NULL};
	FILE *fp;

	pagemap_close(f->pm);
	f->pm = NULL;
	assert_int_equal(daemon_stop(&f->d), 0);
	snprintf(path, sizeof(path), "%s/test.conf", f->d.dir);
	snprintf(spec, sizeof(spec), "r=%s,size=64M,create", f->d.region);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "[daemon]\n%s", conf);
	fclose(fp);
	OK(daemon_start(&f->d, args, NULL));
	OK(pagemap_connect(f->d.socket, "cached-test", &f->pm));
}

/* cached_offsets -- the file offsets (in MiB) of lease @id's cached
 * grants, in order, as one number per grant into @out; how many. */
static size_t
cached_offsets(struct pagemap *pm, uint64_t id, unsigned *out, size_t max)
{
	struct pagemap_grant_info **g;
	size_t n, k = 0;

	OK(pagemap_grant_list(pm, id, 0, &g, &n));
	for (size_t i = 0; i < n && k < max; i++)
		if (g[i]->state == PAGEMAP_GRANT_CACHED)
			out[k++] = (unsigned)(g[i]->file_offset / MiB);
	pagemap_free(g);
	return k;
}

static void
bounds_hand_back_the_least_recently_used(void **state)
{
	struct fixture *f = *state;
	struct pagemap *other;
	struct pagemap_lease *a, *b;
	struct pagemap_mapping *m;
	const struct pagemap_limits *lim;
	unsigned off[16];
	uint64_t r;

	restart_with(f, "max_cached_grants_per_lease = 3\n"
			"max_cached_grants_per_process = 5\n");
	lim = pagemap_get_limits(f->pm);
	assert_int_equal(lim->max_cached_grants_per_lease, 3);
	assert_int_equal(lim->max_cached_grants_per_process, 5);
	OK(pagemap_connect(f->d.socket, "watcher", &other));
	OK(pagemap_file_create(f->pm, "r", "a", 16 * MiB, -1, NULL));
	OK(pagemap_file_create(f->pm, "r", "b", 16 * MiB, -1, NULL));
	OK(pagemap_lease_acquire(f->pm, "r", "a", PAGEMAP_WRITE, &a));
	OK(pagemap_lease_acquire(f->pm, "r", "b", PAGEMAP_WRITE, &b));
	for (uint64_t i = 0; i < 8; i++) {
		OK(pagemap_map(a, i * 2 * MiB, 2 * MiB, PAGEMAP_WRITE, &m));
		OK(pagemap_unmap(m));
		/* A Taken is not answered: a request behind it on the same
		 * connection is handled after it. */
		requests(f->pm);
		assert_true(grants(other) <= 3);
	}
	/* The three unmapped last stay; the others went back. */
	assert_int_equal(cached_offsets(other, pagemap_lease_id(a), off, 16),
			 3);
	assert_int_equal(off[0], 10);
	assert_int_equal(off[1], 12);
	assert_int_equal(off[2], 14);
	/* Used again, [10M, 12M) is the most recent: mapping [0, 2M)
	 * again sends [12M, 14M) back, the least recent. */
	r = requests(other);
	OK(pagemap_map(a, 10 * MiB, 2 * MiB, PAGEMAP_WRITE, &m));
	OK(pagemap_unmap(m));
	assert_int_equal(requests(other), r + 1);
	OK(pagemap_map(a, 0, 2 * MiB, PAGEMAP_WRITE, &m));
	OK(pagemap_unmap(m));
	requests(f->pm);
	assert_int_equal(cached_offsets(other, pagemap_lease_id(a), off, 16),
			 3);
	assert_int_equal(off[0], 0);
	assert_int_equal(off[1], 10);
	assert_int_equal(off[2], 14);
	/* Over both leases, five at most. */
	for (uint64_t i = 0; i < 4; i++) {
		OK(pagemap_map(b, i * 2 * MiB, 2 * MiB, PAGEMAP_WRITE, &m));
		OK(pagemap_unmap(m));
	}
	requests(f->pm);
	assert_int_equal(grants(other), 5);
	assert_int_equal(cached_offsets(other, pagemap_lease_id(b), off, 16),
			 3);
	OK(pagemap_lease_release(a));
	OK(pagemap_lease_release(b));
	assert_int_equal(grants(other), 0);
	pagemap_close(other);
}

static void
a_map_that_asks_is_granted_ahead_over_what_the_lease_lacks(void **state)
{
	struct fixture *f = *state;
	struct pagemap *other;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	size_t s[3];
	uint64_t r;

	restart_with(f, "grant_ahead_folios = 3\n");
	OK(pagemap_connect(f->d.socket, "watcher", &other));
	OK(pagemap_file_create(f->pm, "r", "a", 16 * MiB, -1, NULL));
	OK(pagemap_lease_acquire(f->pm, "r", "a", PAGEMAP_WRITE, &l));
	OK(pagemap_map(l, 0, 2 * MiB, PAGEMAP_WRITE, &m));
	states(other, pagemap_lease_id(l), s);
	assert_int_equal(s[PAGEMAP_GRANT_MAPPED], 1);
	assert_int_equal(s[PAGEMAP_GRANT_CACHED], 3);
	OK(pagemap_unmap(m));
	/* What came ahead maps with no message. */
	r = requests(other);
	OK(pagemap_map(l, 2 * MiB, 6 * MiB, PAGEMAP_WRITE, &m));
	OK(pagemap_unmap(m));
	assert_int_equal(requests(other), r + 1);
	/* Ahead covers only pages the lease holds no grant on, up to the
	 * file's end. */
	OK(pagemap_map(l, 8 * MiB, 2 * MiB, PAGEMAP_WRITE, &m));
	OK(pagemap_unmap(m));
	assert_int_equal(grants(other), 8);
	r = requests(other);
	OK(pagemap_map(l, 0, 16 * MiB, PAGEMAP_WRITE, &m));
	assert_int_equal(pagemap_mapping_folios(m), 8);
	OK(pagemap_unmap(m));
	assert_int_equal(requests(other), r + 1);
	assert_int_equal(grants(other), 8);
	OK(pagemap_lease_release(l));
	assert_int_equal(grants(other), 0);
	pagemap_close(other);
}

/* What the mapping threads share. */
struct race {
	struct pagemap_lease *l;
	int stop;
	int err; /* the first unexpected failure */
	unsigned long maps;
};

/* mapper -- map and unmap 2 MiB ranges of the lease from several threads
 * at once; a range a truncate took back is busy, then past the end. */
static void *
mapper(void *arg)
{
	struct race *r = arg;
	unsigned seed = (unsigned)(uintptr_t)&seed;

	while (!__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE)) {
		struct pagemap_mapping *m;
		uint64_t off = (uint64_t)(rand_r(&seed) % 4) * 2 * MiB;
		int err = pagemap_map(r->l, off, 2 * MiB, PAGEMAP_WRITE, &m);

		if (err == -EBUSY || err == -ENXIO)
			continue;
		if (!err) {
			((volatile char *)pagemap_mapping_data(m))[0] = 1;
			err = pagemap_unmap(m);
			__atomic_add_fetch(&r->maps, 1, __ATOMIC_RELAXED);
		}
		if (err) {
			__atomic_store_n(&r->err, err, __ATOMIC_RELEASE);
			break;
		}
	}
	return NULL;
}

static void
threads_map_and_unmap_cached_ranges_while_a_truncate_takes_them(void **state)
{
	struct fixture *f = *state;
	struct pagemap *other;
	struct race r = {0};
	pthread_t t[4];
	struct pagemap_file_info *fi;
	long long end;
	int err;

	OK(pagemap_connect(f->d.socket, "truncater", &other));
	OK(pagemap_file_create(f->pm, "r", "race", 8 * MiB, -1, NULL));
	OK(pagemap_lease_acquire(f->pm, "r", "race", PAGEMAP_WRITE, &r.l));
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, mapper, &r), 0);
	end = now_ms() + WAIT_MS;
	while (__atomic_load_n(&r.maps, __ATOMIC_RELAXED) < 200 &&
	       now_ms() < end)
		poll(NULL, 0, 1);
	/* The threads never dispatch: each mapped grant comes back at its
	 * last unmap (Taken), each cached one at once. */
	err = pagemap_file_truncate(other, "r", "race", 4 * MiB, WAIT_MS, &fi);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	OK(err);
	assert_int_equal(fi->size, 4 * MiB);
	pagemap_free(fi);
	assert_int_equal(r.err, 0);
	assert_true(r.maps >= 200);
	/* What is left is cached under the lease, and goes with it. */
	OK(pagemap_lease_release(r.l));
	assert_int_equal(grants(other), 0);
	pagemap_close(other);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_map_of_cached_grants_sends_no_message),
		T(truncate_takes_cached_grants_from_a_stopped_holder),
		T(a_holder_mapping_during_take_back_gets_a_recall_then_taken),
		T(kill9_of_a_holder_frees_its_cached_grants),
		T(revoke_takes_cached_grants_alone),
		T(scribbled_words_keep_only_the_scribbler_s_grants),
		T(kill9_of_the_daemon_keeps_mapped_and_cached_grants),
		T(a_bad_word_table_handed_back_is_refused_cleanly),
		T(bounds_hand_back_the_least_recently_used),
		T(a_map_that_asks_is_granted_ahead_over_what_the_lease_lacks),
		T(threads_map_and_unmap_cached_ranges_while_a_truncate_takes_them),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

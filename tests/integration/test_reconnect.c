/* test_reconnect.c -- libpagemap comes back by itself after the daemon is
 * killed with SIGKILL and started again on the same region and runtime
 * directory: the same lease ids, the same fd number, mappings that still
 * reach their own file, unmaps and recalls that work; the reconcile
 * returns a grant the daemon holds that the library does not; leases a
 * restart lost (its pin tables wiped) are dead (-ENOLINK); a stress
 * run of several clients while the daemon is killed at random points
 * (PAGEMAP_STRESS_CYCLES, default 20); and a Hello without capabilities
 * sees none of CAP_RECONNECT's or CAP_BLOCKER_FIELDS's fields. Nothing
 * sleeps as synchronisation: every wait is a blocking read on a pipe or a
 * bounded poll of a condition. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
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
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <pagemap.h>

#include "clock.h"
#include "ctljson.h"
#include "fdcheck.h"
#include "harness.h"
#include "pintab.h"
#include "rawclient.h"
#include "rng.h"

#define MiB (1ull << 20)
#define FILE_SIZE (4 * MiB)
#define CANARY 0xc5
#define PATTERN 'P'
#define NEWFILE 0xee /* files made after a crash */
#define OUT_MAX CTL_OUT_MAX
#define WAIT_MS 30000

#define fixture ctl_fixture

#define CTL(f, ...)                                                            \
	ctl(&(f)->d, (f)->out, OUT_MAX, (f)->err, OUT_MAX, __VA_ARGS__, NULL)

static void
restart(struct fixture *f)
{
	daemon_kill(&f->d);
	assert_int_equal(daemon_restart(&f->d), 0);
}

/* stop_and_fsck -- stop cleanly, check the region file offline, start
 * again (the teardown stops it). */
static void
stop_and_fsck(struct fixture *f)
{
	const char *argv[] = {PAGEMAPCTL_BIN, "fsck", f->d.region, NULL};

	assert_int_equal(daemon_stop(&f->d), 0);
	if (run(argv, NULL, f->out, OUT_MAX, f->err, OUT_MAX) != 0)
		fail_msg("fsck: %s%s", f->out, f->err);
	assert_int_equal(daemon_restart(&f->d), 0);
}

/* ---- a client process driven through pipes ------------------------------ */

struct child {
	struct piped p;
	uint64_t lease;
	int fd; /* its pagemap_get_fd() */
};

struct cstate {
	struct pagemap *pm;
	struct pagemap_lease *l;
	struct pagemap_mapping *m, *m2;
	unsigned char expect;
	int recalled;
};

static void
on_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t id,
	  uint64_t off, uint64_t len, enum pagemap_recall_reason why, void *arg)
{
	struct cstate *s = arg;

	(void)pm, (void)l, (void)id, (void)off, (void)len, (void)why;
	if (s->m && pagemap_unmap(s->m) == 0)
		s->m = NULL;
	s->recalled++;
}

static bool
all(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* child_main -- map r/a (with @split: [0, 2M) and [2M, 4M) as two
 * mappings), fill it with the canary, say "ready LEASE FD", then serve
 * commands while driving the library from a poll loop. */
static void
child_main(const char *socket, bool split, int cmd, int ans)
{
	struct cstate s = {.expect = CANARY};
	bool active = true;
	int err;

	if (pagemap_connect(socket, "reconnect-child", &s.pm) ||
	    pagemap_lease_acquire(s.pm, "r", "a", PAGEMAP_WRITE, &s.l))
		_exit(3);
	pagemap_set_recall_handler(s.pm, on_recall, &s);
	if (pagemap_map(s.l, 0, split ? FILE_SIZE / 2 : FILE_SIZE,
			PAGEMAP_WRITE, &s.m) ||
	    (split && pagemap_map(s.l, FILE_SIZE / 2, FILE_SIZE / 2,
				  PAGEMAP_WRITE, &s.m2)))
		_exit(3);
	memset(pagemap_mapping_data(s.m), CANARY, pagemap_mapping_length(s.m));
	piped_say(ans, "ready %" PRIu64 " %d\n", pagemap_lease_id(s.l),
		  pagemap_get_fd(s.pm));
	for (;;) {
		struct pollfd p[2] = {
			{.fd = cmd, .events = POLLIN},
			{.fd = pagemap_get_fd(s.pm), .events = POLLIN},
		};
		char c;

		if (poll(p, active ? 2 : 1, -1) < 0)
			continue;
		if (active && p[1].revents && pagemap_dispatch(s.pm) < 0)
			_exit(5);
		if (!p[0].revents)
			continue;
		if (read(cmd, &c, 1) != 1 || c == 'q')
			break;
		switch (c) {
		case 's':
			piped_say(ans, "%d %" PRIu64 " %d %d\n",
				  pagemap_connected(s.pm),
				  pagemap_reconnects(s.pm),
				  pagemap_get_fd(s.pm), s.recalled);
			break;
		case 'c':
			piped_say(ans, s.m && all(pagemap_mapping_data(s.m),
						  pagemap_mapping_length(s.m),
						  s.expect)
					       ? "ok\n"
					       : "bad\n");
			break;
		case 'w':
			memset(pagemap_mapping_data(s.m), PATTERN,
			       pagemap_mapping_length(s.m));
			err = pagemap_persist(s.m, pagemap_mapping_data(s.m),
					      pagemap_mapping_length(s.m));
			s.expect = PATTERN;
			piped_say(ans, "%d\n", err);
			break;
		case 'u':
			err = pagemap_unmap(s.m);
			if (!err)
				s.m = NULL;
			piped_say(ans, "%d\n", err);
			break;
		case 'U':
			err = pagemap_unmap(s.m2);
			if (!err)
				s.m2 = NULL;
			piped_say(ans, "%d\n", err);
			break;
		case 'm':
			piped_say(ans, "%d\n",
				  pagemap_map(s.l, 0, FILE_SIZE, PAGEMAP_WRITE,
					      &s.m));
			break;
		case 'x':
			piped_say(ans, "%d\n", bad_word_table());
			break;
		case 'Q':
		case 'A':
			active = c == 'A';
			piped_say(ans, "0\n");
			break;
		}
	}
	_exit(0); /* the pins go with the process */
}

/* ask -- send command @c, return the answer in @buf. */
static void
ask(struct child *h, char c, char *buf, size_t len)
{
	piped_ask(&h->p, c, buf, len);
}

static int
ask_int(struct child *h, char c)
{
	char line[64];

	ask(h, c, line, sizeof(line));
	return atoi(line);
}

/* How to start a child: child_main() of @socket, @split. */
struct child_args {
	const char *socket;
	bool split;
};

static void
child_run(void *arg, int cmd, int ans)
{
	const struct child_args *c = arg;

	child_main(c->socket, c->split, cmd, ans);
}

static void
child_start(struct fixture *f, struct child *h, bool split)
{
	struct child_args args = {f->d.socket, split};
	char line[64];

	piped_start(&h->p, child_run, &args);
	piped_ask(&h->p, 0, line, sizeof(line));
	assert_int_equal(
		sscanf(line, "ready %" SCNu64 " %d", &h->lease, &h->fd), 2);
}

static void
child_quit(struct child *h)
{
	piped_quit(&h->p);
}

/* wait_reconnected -- until the child says it is connected and has
 * reconnected @n times; returns its fd number. */
static int
wait_reconnected(struct child *h, uint64_t n)
{
	long long end = now_ms() + WAIT_MS;
	char line[64];
	int conn, fd, rec;
	uint64_t r;

	for (;;) {
		ask(h, 's', line, sizeof(line));
		assert_int_equal(sscanf(line, "%d %" SCNu64 " %d %d", &conn, &r,
					&fd, &rec),
				 4);
		if (conn == 1 && r >= n)
			return fd;
		if (now_ms() > end)
			fail_msg("the child did not reconnect: %s", line);
		poll(NULL, 0, 10);
	}
}

/* grants_of -- grants the daemon lists for process @pid. */
static size_t
grants_of(struct fixture *f, pid_t pid, uint64_t min_offset)
{
	char p[16];
	json_object *j;
	size_t n = 0, all_n;

	snprintf(p, sizeof(p), "%d", (int)pid);
	j = ctl_json(f, "grant", "ls", "--pid", p);
	all_n = json_object_array_length(jrows(j, "grants"));
	for (size_t i = 0; i < all_n; i++)
		if ((uint64_t)jint(
			    json_object_array_get_idx(jrows(j, "grants"), i),
			    "file_offset") >= min_offset)
			n++;
	json_object_put(j);
	return n;
}

/* uncached_of -- grants_of() less the ones kept cached (the library holds
 * them; the daemon takes them back alone). */
static size_t
uncached_of(struct fixture *f, pid_t pid, uint64_t min_offset)
{
	char p[16];
	json_object *j;
	size_t n = 0;

	snprintf(p, sizeof(p), "%d", (int)pid);
	j = ctl_json(f, "grant", "ls", "--pid", p);
	for (size_t i = 0; i < json_object_array_length(jrows(j, "grants"));
	     i++) {
		json_object *g =
			json_object_array_get_idx(jrows(j, "grants"), i);
		json_object *s;

		if ((uint64_t)jint(g, "file_offset") >= min_offset &&
		    !(json_object_object_get_ex(g, "state", &s) &&
		      !strcmp(json_object_get_string(s), "cached")))
			n++;
	}
	json_object_put(j);
	return n;
}

/* file_is -- r/a read through the CLI holds @v in every byte. */
static bool
file_is(struct fixture *f, unsigned char v)
{
	if (CTL(f, "read", "r/a") != 0)
		fail_msg("read r/a: %s", f->err);
	return all((unsigned char *)f->out, FILE_SIZE, v);
}

/* ---- the tests ----------------------------------------------------------- */

static void
the_library_reconnects_by_itself_after_a_kill9(void **state)
{
	struct fixture *f = *state;
	struct child h;
	char pid[16], id[32];
	json_object *j, *c;
	bool found = false;

	assert_int_equal(CTL(f, "file", "create", "r/a", "--size", "4M"), 0);
	child_start(f, &h, false);
	restart(f);

	/* Back by itself: the same fd number, the same lease id, connected
	 * again. */
	assert_int_equal(wait_reconnected(&h, 1), h.fd);
	snprintf(pid, sizeof(pid), "%d", (int)h.p.pid);
	snprintf(id, sizeof(id), "%" PRIu64, h.lease);
	j = ctl_json(f, "lease", "ls", "r/a", NULL);
	assert_int_equal(json_object_array_length(jrows(j, "leases")), 1);
	c = json_object_array_get_idx(jrows(j, "leases"), 0);
	assert_int_equal((uint64_t)jint(c, "id"), h.lease);
	assert_int_equal((uint64_t)jint(c, "pid"), h.p.pid);
	json_object_put(j);
	j = ctl_json(f, "client", "ls", NULL, NULL);
	for (size_t i = 0; i < json_object_array_length(jrows(j, "clients"));
	     i++) {
		c = json_object_array_get_idx(jrows(j, "clients"), i);
		if ((uint64_t)jint(c, "pid") == (uint64_t)h.p.pid) {
			assert_false(found);
			found = true;
			assert_int_equal((uint64_t)jint(c, "connected"), 1);
			assert_int_equal((uint64_t)jint(c, "leases"), 1);
		}
	}
	json_object_put(j);
	assert_true(found);

	/* The mapping still reaches its own file. */
	ask(&h, 'c', f->out, 16);
	assert_string_equal(f->out, "ok");
	assert_true(file_is(f, CANARY));
	assert_int_equal(ask_int(&h, 'w'), 0);
	assert_true(file_is(f, PATTERN));

	/* Unmap keeps the grants cached: the new daemon adopted the word
	 * table the library handed back. */
	assert_true(grants_of(f, h.p.pid, 0) > 0);
	assert_int_equal(ask_int(&h, 'u'), 0);
	assert_int_equal(uncached_of(f, h.p.pid, 0), 0);

	/* A recall reaches the handler: the revoke completes. */
	assert_int_equal(ask_int(&h, 'm'), 0);
	assert_true(grants_of(f, h.p.pid, 0) > 0);
	if (CTL(f, "lease", "revoke", id, "--timeout", "20") != 0)
		fail_msg("revoke: %s", f->err);
	assert_int_equal(grants_of(f, h.p.pid, 0), 0);
	ask(&h, 's', f->out, 64);
	assert_true(strstr(f->out, " 1") != NULL);
	child_quit(&h);
	stop_and_fsck(f);
}

/* clear_pins -- remove every pin table of @f's daemon (as an administrator
 * who wiped its runtime directory would). Returns how many. */
static int
clear_pins(struct fixture *f)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "%s/run/pins", f->d.dir);
	d = opendir(dir);
	assert_non_null(d);
	while ((e = readdir(d)))
		if (strstr(e->d_name, ".pins") &&
		    unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	closedir(d);
	return n;
}

static void
leases_a_restart_lost_are_dead_and_say_so(void **state)
{
	struct fixture *f = *state;
	struct child h;
	json_object *j;

	assert_int_equal(CTL(f, "file", "create", "r/a", "--size", "4M"), 0);
	child_start(f, &h, false);
	daemon_kill(&f->d);
	assert_int_equal(clear_pins(f), 1);
	assert_int_equal(daemon_restart(&f->d), 0);

	/* The library comes back, but the daemon knows no lease of it: the
	 * lease is dead, its mapping stays until unmapped, and a new map
	 * says why it cannot be. */
	wait_reconnected(&h, 1);
	j = ctl_json(f, "lease", "ls", "r/a", NULL);
	assert_int_equal(json_object_array_length(jrows(j, "leases")), 0);
	json_object_put(j);
	ask(&h, 'c', f->out, 16);
	assert_string_equal(f->out, "ok");
	assert_int_equal(ask_int(&h, 'u'), 0);
	assert_int_equal(ask_int(&h, 'm'), -ENOLINK);
	assert_int_equal(grants_of(f, h.p.pid, 0), 0);
	child_quit(&h);
	stop_and_fsck(f);
}

/* plant -- add the grants @g (rows of grant ls) to the pin table of @pid,
 * as a Map whose reply the crash lost would have left them. */
static void
plant(struct fixture *f, pid_t pid, json_object *g)
{
	char dir[PATH_MAX], key[32];
	struct dirent *e;
	struct pintab *t = NULL;
	DIR *dp;
	int dfd;

	snprintf(dir, sizeof(dir), "%s/run/pins", f->d.dir);
	snprintf(key, sizeof(key), "-%d-", (int)pid);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	dp = fdopendir(dup(dfd));
	assert_non_null(dp);
	while ((e = readdir(dp)))
		if (strstr(e->d_name, key) && !t)
			assert_int_equal(pintab_open(dfd, e->d_name, &t), 0);
	closedir(dp);
	assert_non_null(t);
	for (size_t i = 0; i < json_object_array_length(g); i++) {
		json_object *o = json_object_array_get_idx(g, i);
		struct pin_rec r = {
			.kind = PIN_GRANT,
			.access = 2,
			.order = (uint32_t)(uint64_t)jint(o, "order"),
			.lease_id = (uint64_t)jint(o, "lease_id"),
			.file_pg = (uint64_t)jint(o, "file_offset") / 4096,
			.region_pg = (uint64_t)jint(o, "region_offset") / 4096,
		};

		assert_true(pintab_add(t, &r) >= 0);
	}
	pintab_close(t);
	close(dfd);
}

static void
the_reconcile_returns_a_grant_the_library_does_not_hold(void **state)
{
	struct fixture *f = *state;
	struct child h;
	char id[32];
	json_object *j, *lost;
	size_t kept;

	assert_int_equal(CTL(f, "file", "create", "r/a", "--size", "4M"), 0);
	child_start(f, &h, true);
	kept = grants_of(f, h.p.pid, 0) - grants_of(f, h.p.pid, FILE_SIZE / 2);
	assert_true(kept > 0);
	/* The second half's grants, as the daemon lists them; then the
	 * child returns them. */
	snprintf(id, sizeof(id), "%" PRIu64, h.lease);
	j = ctl_json(f, "grant", "ls", "--lease", id);
	lost = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(jrows(j, "grants"));
	     i++) {
		json_object *g =
			json_object_array_get_idx(jrows(j, "grants"), i);

		if ((uint64_t)jint(g, "file_offset") >= FILE_SIZE / 2)
			json_object_array_add(lost, json_object_get(g));
	}
	json_object_put(j);
	assert_true(json_object_array_length(lost) > 0);
	assert_int_equal(ask_int(&h, 'U'), 0);
	assert_int_equal(uncached_of(f, h.p.pid, FILE_SIZE / 2), 0);
	/* Its cached half would stay cached across the restart (the new
	 * daemon adopts the word table the library hands back); a table
	 * the daemon refuses makes the library forget it, so the half is
	 * held by nothing here. */
	assert_int_equal(ask_int(&h, 'x'), 0);

	/* The child makes no call meanwhile, so it cannot reconnect before
	 * the daemon is seen holding the grant it lost. */
	assert_int_equal(ask_int(&h, 'Q'), 0);
	daemon_kill(&f->d);
	plant(f, h.p.pid, lost);
	json_object_put(lost);
	assert_int_equal(daemon_restart(&f->d), 0);
	assert_true(grants_of(f, h.p.pid, FILE_SIZE / 2) > 0);

	assert_int_equal(ask_int(&h, 'A'), 0);
	wait_reconnected(&h, 1);
	assert_int_equal(grants_of(f, h.p.pid, FILE_SIZE / 2), 0);
	assert_int_equal(grants_of(f, h.p.pid, 0), kept);
	ask(&h, 'c', f->out, 16);
	assert_string_equal(f->out, "ok");
	child_quit(&h);
	stop_and_fsck(f);
}

/* ---- stress -------------------------------------------------------------- */

#define NCLIENTS 3
#define SFILE (2 * MiB) /* [0, 1M): the long mapping, [1M, 2M): cycles */
#define HALF (SFILE / 2)

struct shared {
	uint64_t progress[NCLIENTS]; /* map-write-unmap rounds */
	uint64_t reconnects[NCLIENTS];
	uint64_t checks[NCLIENTS]; /* canary checks after a reconnect */
	int stop;
	char why[NCLIENTS][160]; /* the first failure */
};

static int
sfail(struct shared *sh, int i, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sh->why[i], sizeof(sh->why[i]), fmt, ap);
	va_end(ap);
	return 1;
}

static bool
away(int err)
{
	return err == -ENOTCONN || err == -ECONNRESET;
}

/* covered -- every byte of [a, b) lies under a grant of @l the daemon
 * lists, and every grant of @l it lists lies inside @held (the long
 * mapping). 1 yes, 0 no, -1 the daemon went away meanwhile. */
static int
covered(struct pagemap *pm, struct pagemap_lease *l, uint64_t a, uint64_t b)
{
	struct pagemap_grant_info **g;
	size_t n;
	uint64_t pos = a;
	int err = pagemap_grant_list(pm, pagemap_lease_id(l), 0, &g, &n);

	if (err)
		return away(err) ? -1 : 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t s = g[i]->file_offset;
		uint64_t e = s + (4096ull << g[i]->order);

		/* A cached grant is the library's: not mapped, and the
		 * daemon takes it back alone. */
		if (g[i]->state == PAGEMAP_GRANT_CACHED)
			continue;
		if (s < a || e > b) {
			pagemap_free(g);
			return 0; /* a grant nobody holds */
		}
		if (s <= pos && e > pos)
			pos = e;
	}
	pagemap_free(g);
	return pos >= b;
}

static int
stress_client(const char *socket, int i, struct shared *sh)
{
	char name[16];
	struct pagemap *pm;
	struct pagemap_lease *l;
	struct pagemap_mapping *keep, *m;
	unsigned char canary = (unsigned char)(0x10 + i), last = 0;
	uint64_t seen = 0;
	bool cut = false; /* the file was truncated to the long mapping */
	long long end;
	int err;

	snprintf(name, sizeof(name), "c%d", i);
	if (pagemap_connect(socket, "stress", &pm) ||
	    pagemap_lease_acquire(pm, "r", name, PAGEMAP_WRITE, &l) ||
	    pagemap_map(l, 0, HALF, PAGEMAP_WRITE, &keep))
		return sfail(sh, i, "setup failed");
	memset(pagemap_mapping_data(keep), canary, HALF);
	while (!__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE)) {
		uint64_t r = pagemap_reconnects(pm);
		unsigned char *p;

		if (pagemap_connected(pm) != 1) {
			if ((err = pagemap_wait(pm, 100)) < 0)
				return sfail(sh, i, "wait: %d", err);
			continue;
		}
		if (r != seen) {
			/* After every reconnect: the long mapping still holds
			 * the canary, and the daemon pins exactly it. */
			if (!all(pagemap_mapping_data(keep), HALF, canary))
				return sfail(sh, i, "canary lost");
			err = covered(pm, l, 0, HALF);
			if (err == 0)
				return sfail(sh, i,
					     "pins differ after "
					     "reconnect %" PRIu64,
					     r);
			if (err < 0)
				continue;
			seen = r;
			sh->checks[i]++;
		}
		if (cut) {
			/* The cycle half was truncated away: only the long
			 * mapping is left to keep checking. */
			if ((err = pagemap_wait(pm, 1)) < 0)
				return sfail(sh, i, "wait: %d", err);
			__atomic_add_fetch(&sh->progress[i], 1,
					   __ATOMIC_RELEASE);
			continue;
		}
		err = pagemap_map(l, HALF, HALF, PAGEMAP_WRITE, &m);
		if (away(err))
			continue;
		if (err == -EBUSY) {
			/* A truncate's recall covers the half: it completes
			 * once no round holds it, then maps say -ENXIO. */
			if ((err = pagemap_dispatch(pm)) < 0)
				return sfail(sh, i, "dispatch: %d", err);
			continue;
		}
		if (err == -ENXIO) {
			cut = true;
			continue;
		}
		if (err)
			return sfail(sh, i, "map: %d", err);
		p = pagemap_mapping_data(m);
		/* Only this client's bytes: the last pattern it wrote. */
		if (!all(p, HALF, last))
			return sfail(sh, i, "foreign bytes at %u: %#x",
				     (unsigned)i, p[0]);
		last = (unsigned char)(0x40 + 0x10 * i + (sh->progress[i] & 7));
		memset(p, last, HALF);
		if ((err = pagemap_unmap(m)))
			return sfail(sh, i, "unmap: %d", err);
		__atomic_add_fetch(&sh->progress[i], 1, __ATOMIC_RELEASE);
		if ((err = pagemap_dispatch(pm)) < 0)
			return sfail(sh, i, "dispatch: %d", err);
	}
	/* The end: connected, the pins exactly the long mapping's. */
	end = now_ms() + WAIT_MS;
	while (pagemap_connected(pm) != 1 || covered(pm, l, 0, HALF) != 1) {
		if (now_ms() > end)
			return sfail(sh, i, "not reconciled at the end");
		pagemap_wait(pm, 100);
	}
	if (!all(pagemap_mapping_data(keep), HALF, canary))
		return sfail(sh, i, "canary lost at the end");
	sh->checks[i]++;
	sh->reconnects[i] = pagemap_reconnects(pm);
	if (pagemap_unmap(keep) || pagemap_lease_release(l))
		return sfail(sh, i, "cleanup failed");
	pagemap_close(pm);
	return 0;
}

static uint64_t
total_progress(struct shared *sh)
{
	uint64_t n = 0;

	for (int i = 0; i < NCLIENTS; i++)
		n += __atomic_load_n(&sh->progress[i], __ATOMIC_ACQUIRE);
	return n;
}

/* cut_or_remove -- one time in four remove a client's file, one in four
 * truncate one to its long mapping (waiting at most 50 ms: the truncate
 * stays in force and completes at the end of the client's round). */
static void
cut_or_remove(struct fixture *f, struct rng *rng, bool *removed,
	      bool *truncated)
{
	unsigned k = (unsigned)rng_range(rng, 0, 3);
	int i = (int)rng_range(rng, 0, NCLIENTS - 1);
	char name[16], size[16];

	snprintf(name, sizeof(name), "r/c%d", i);
	if (k == 0 && !removed[i]) {
		assert_int_equal(CTL(f, "file", "rm", name), 0);
		removed[i] = true;
	} else if (k == 1 && !removed[i] && !truncated[i]) {
		snprintf(size, sizeof(size), "%llu", (unsigned long long)HALF);
		/* 0, or a time-out that leaves the truncate in force. */
		(void)CTL(f, "file", "truncate", name, size, "--timeout",
			  "0.05");
		truncated[i] = true;
	}
}

static void
clients_survive_random_kill9s(void **state)
{
	struct fixture *f = *state;
	const char *env = getenv("PAGEMAP_STRESS_CYCLES");
	unsigned cycles = env && *env ? (unsigned)atoi(env) : 20;
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	pid_t pid[NCLIENTS];
	struct rng rng;
	long long t0 = now_ms();
	uint64_t rec = 0, checks = 0;
	char *buf = malloc(64 * 1024 + 1);
	bool removed[NCLIENTS] = {false}, truncated[NCLIENTS] = {false};
	unsigned nrm = 0, ncut = 0;

	assert_true(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	rng_init(&rng, rng_seed("reconnect stress", 0x5eed));
	for (int i = 0; i < NCLIENTS; i++) {
		char name[16];

		snprintf(name, sizeof(name), "r/c%d", i);
		assert_int_equal(CTL(f, "file", "create", name, "--size", "2M"),
				 0);
	}
	for (int i = 0; i < NCLIENTS; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			_exit(stress_client(f->d.socket, i, sh));
		}
	}
	memset(buf, NEWFILE, 64 * 1024);
	buf[64 * 1024] = '\0';
	/* The kills test what clients survive, not their setup: the first
	 * one comes once every client has mapped and done a round. */
	for (long long end = now_ms() + WAIT_MS;;) {
		bool ready = true;

		for (int i = 0; i < NCLIENTS; i++)
			ready &= __atomic_load_n(&sh->progress[i],
						 __ATOMIC_ACQUIRE) > 0;
		if (ready)
			break;
		if (now_ms() > end)
			fail_msg("the clients did not start (%s|%s|%s)",
				 sh->why[0], sh->why[1], sh->why[2]);
		poll(NULL, 0, 1);
	}
	for (unsigned c = 0; c < cycles; c++) {
		uint64_t target = total_progress(sh) + rng_range(&rng, 0, 12);
		long long end = now_ms() + WAIT_MS;
		char name[32];
		const char *argv[] = {PAGEMAPCTL_BIN, "--socket", f->d.socket,
				      "write",	      name,	  NULL};

		/* Kill at a random point of the clients' work. */
		while (total_progress(sh) < target) {
			if (now_ms() > end)
				fail_msg("cycle %u: the clients made no "
					 "progress (%s|%s|%s)",
					 c, sh->why[0], sh->why[1], sh->why[2]);
			poll(NULL, 0, 1);
		}
		restart(f);
		/* Now and then the file a client maps loses its name (an
		 * orphan it keeps mapping) or its cycle half (a truncate that
		 * waits for the round to end, or is lost with the next kill):
		 * blocks that may be freed while the daemon dies and comes
		 * back, which the next files must never get while mapped. */
		cut_or_remove(f, &rng, removed, truncated);
		/* A file made after the crash, with its own pattern. */
		snprintf(name, sizeof(name), "r/x%u", c);
		assert_int_equal(
			CTL(f, "file", "create", name, "--size", "64K"), 0);
		if (run(argv, buf, f->out, OUT_MAX, f->err, OUT_MAX) != 0)
			fail_msg("write %s: %s", name, f->err);
	}
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < NCLIENTS; i++) {
		int st;

		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail_msg("client %d: %s (status %#x)", i, sh->why[i],
				 st);
		rec += sh->reconnects[i];
		checks += sh->checks[i];
	}
	for (int i = 0; i < NCLIENTS; i++)
		nrm += removed[i], ncut += truncated[i];
	fprintf(stderr,
		"reconnect stress: %u cycles, %lld ms, %" PRIu64
		" reconnects, %" PRIu64 " canary checks, %" PRIu64
		" rounds, %u file(s) removed and %u truncated while mapped\n",
		cycles, now_ms() - t0, rec, checks, total_progress(sh), nrm,
		ncut);
	assert_true(rec >= cycles); /* at least one client saw each */
	munmap(sh, sizeof(*sh));
	free(buf);
	stop_and_fsck(f);
}

/* ---- the protocol stays negotiated --------------------------------------- */

static void
a_hello_without_capabilities_gets_none_of_their_fields(void **state)
{
	struct fixture *f = *state;
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__Hello mh;
	Pagemap__LeaseAcquireRequest ml;
	Pagemap__Response *r;
	json_object *j;
	uint64_t client;
	int c, rfd = -1;

	assert_int_equal(CTL(f, "file", "create", "r/a", "--size", "4M"), 0);
	/* A client of this version leaves a lease behind... */
	c = raw_connect(f->d.socket, 0);
	raw_req_hello(&rq, &mh, 1, "new");
	mh.capabilities = PAGEMAP__CAPABILITY__CAP_RECONNECT;
	r = raw_call(c, &rq, NULL, NULL);
	assert_non_null(r);
	assert_int_not_equal(r->hello->token, 0);
	raw_free(r);
	raw_req_lease(&rq, &ml, "r", "a", PAGEMAP__ACCESS__ACCESS_READ);
	r = raw_call(c, &rq, &rfd, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	raw_free(r);
	if (rfd >= 0)
		close(rfd);
	close(c);
	/* ...which a Hello of the previous protocol (no capabilities) of
	 * the same process takes back, told nothing of tokens. */
	c = raw_connect(f->d.socket, 0);
	raw_req_hello(&rq, &mh, 1, "old");
	r = raw_call(c, &rq, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	assert_int_equal(r->hello->capabilities, 0);
	assert_int_equal(r->hello->token, 0);
	assert_int_equal(r->hello->leases_adopted, 0);
	assert_int_equal(r->hello->base.n_unknown_fields, 0);
	client = r->hello->client_id;
	raw_free(r);
	j = ctl_json(f, "lease", "ls", "r/a", NULL);
	assert_int_equal(json_object_array_length(jrows(j, "leases")), 1);
	assert_int_equal(
		(uint64_t)jint(json_object_array_get_idx(jrows(j, "leases"), 0),
			       "client_id"),
		client);
	json_object_put(j);
	close(c);
}

/* raw_blockers -- BlockersRequest for @region on @c; the reply. */
static Pagemap__Response *
raw_blockers(int c, const char *region)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__BlockersRequest mb = PAGEMAP__BLOCKERS_REQUEST__INIT;

	mb.region = (char *)region;
	rq.body_case = PAGEMAP__REQUEST__BODY_BLOCKERS;
	rq.blockers = &mb;
	return raw_call(c, &rq, NULL, NULL);
}

static void
an_old_hello_gets_blockers_without_their_fields(void **state)
{
	struct fixture *f = *state;
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__Hello mh;
	Pagemap__LeaseAcquireRequest ml;
	Pagemap__MapRequest mm;
	Pagemap__UnmapRequest mu;
	Pagemap__Response *r;
	Pagemap__Blocker *b;
	json_object *j, *jb;
	uint64_t lease;
	long long end;
	int c, rfd = -1;

	assert_int_equal(CTL(f, "file", "create", "r/a", "--size", "4M"), 0);
	/* A client of the previous protocol holds grants past 4K and never
	 * answers the recall, so a truncate to 4K stays pending. */
	c = raw_connect(f->d.socket, 0);
	raw_req_hello(&rq, &mh, 1, "old");
	r = raw_call(c, &rq, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	assert_int_equal(r->hello->capabilities, 0);
	raw_free(r);
	raw_req_lease(&rq, &ml, "r", "a", PAGEMAP__ACCESS__ACCESS_READ);
	r = raw_call(c, &rq, &rfd, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	lease = r->lease_acquire->lease_id;
	raw_free(r);
	raw_req_map(&rq, &mm, lease, 2 * MiB, 2 * MiB,
		    PAGEMAP__ACCESS__ACCESS_READ);
	r = raw_call(c, &rq, rfd < 0 ? &rfd : NULL, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	raw_free(r);
	assert_int_equal(
		CTL(f, "file", "truncate", "r/a", "4096", "--timeout", "0.2"),
		1);

	/* It sees its blocker as that protocol knows it: no field it would
	 * reject as unknown. */
	r = raw_blockers(c, "r");
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	assert_int_equal(r->blockers->n_blockers, 1);
	b = r->blockers->blockers[0];
	assert_string_equal(b->op, "truncate");
	assert_string_equal(b->target, "r/a to 4096");
	assert_int_equal(b->lease_id, lease);
	assert_string_equal(b->region, "");
	assert_string_equal(b->file, "");
	assert_int_equal(b->ino, 0);
	assert_int_equal(b->new_size, 0);
	assert_int_equal(b->base.n_unknown_fields, 0);
	raw_free(r);
	/* The library announces CAP_BLOCKER_FIELDS and gets them. */
	j = ctl_json(f, "blockers", "r", NULL, NULL);
	jb = json_object_array_get_idx(jrows(j, "blockers"), 0);
	assert_non_null(jb);
	assert_string_equal(jstr(jb, "region"), "r");
	assert_string_equal(jstr(jb, "file"), "a");
	assert_true(jint(jb, "ino") != 0);
	assert_int_equal(jint(jb, "new_size"), 4096);
	json_object_put(j);

	/* The grants come back: the truncate completes. */
	raw_req_unmap(&rq, &mu, lease, 2 * MiB, 2 * MiB);
	r = raw_call(c, &rq, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	raw_free(r);
	end = now_ms() + WAIT_MS;
	for (;;) {
		r = raw_blockers(c, "r");
		assert_non_null(r);
		if (r->blockers->n_blockers == 0 || now_ms() > end)
			break;
		raw_free(r);
	}
	assert_int_equal(r->blockers->n_blockers, 0);
	raw_free(r);
	if (rfd >= 0)
		close(rfd);
	close(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			leases_a_restart_lost_are_dead_and_say_so,
			ctl_fixture_setup, ctl_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			the_library_reconnects_by_itself_after_a_kill9,
			ctl_fixture_setup, ctl_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			the_reconcile_returns_a_grant_the_library_does_not_hold,
			ctl_fixture_setup, ctl_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			a_hello_without_capabilities_gets_none_of_their_fields,
			ctl_fixture_setup, ctl_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			an_old_hello_gets_blockers_without_their_fields,
			ctl_fixture_setup, ctl_fixture_teardown),
		cmocka_unit_test_setup_teardown(clients_survive_random_kill9s,
						ctl_fixture_setup,
						ctl_fixture_teardown),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_pins.c -- I6: a daemon crash frees nothing. A real client process
 * maps 4 MiB of a file and fills it with a canary; the daemon is killed
 * with SIGKILL and started again on the same region and runtime directory;
 * the pins are known again, so truncate and rm wait for the holder, a file
 * made after the crash never gets its blocks, and only the holder's exit
 * frees them. Also: tables of a dead or recycled pid are discarded, and a
 * daemon with another runtime directory refuses the region. Nothing sleeps:
 * every wait is a blocking read on a pipe or a bounded poll. */
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include <pagemap.h>

#include "clock.h"
#include "ctljson.h"
#include "fdcheck.h"
#include "harness.h"
#include "holder.h"
#include "pintab.h"
#include "rawclient.h"

#define MiB (1ull << 20)
#define FILE_SIZE (4 * MiB)
#define CANARY 0xc5
#define OTHER 'B'
#define OUT_MAX CTL_OUT_MAX
#define WAIT_MS 30000

#define fixture ctl_fixture

/* A client process holding a mapping: commands on @cmd, answers on @ans. */
struct holder_proc {
	struct piped p;
	uint64_t lease;
};

#define CTL(f, ...)                                                            \
	ctl(&(f)->d, (f)->out, OUT_MAX, (f)->err, OUT_MAX, __VA_ARGS__, NULL)

/* ---- the holder process -------------------------------------------------- */

/* holder_main -- map 4 MiB of r/a, fill it with the canary, say "ready
 * ID", then answer 'c' (check: "ok" or "bad") until 'q' or EOF. */
static void
holder_main(const char *socket, int cmd, int ans)
{
	struct pagemap *pm;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	unsigned char *p;
	char c, line[64];

	if (pagemap_connect(socket, "pins-holder", &pm) ||
	    pagemap_lease_acquire(pm, "r", "a", PAGEMAP_WRITE, &l) ||
	    pagemap_map(l, 0, FILE_SIZE, PAGEMAP_WRITE, &m))
		_exit(3);
	p = pagemap_mapping_data(m);
	memset(p, CANARY, FILE_SIZE);
	snprintf(line, sizeof(line), "ready %" PRIu64 "\n",
		 pagemap_lease_id(l));
	if (write(ans, line, strlen(line)) < 0)
		_exit(4);
	while (read(cmd, &c, 1) == 1 && c != 'q') {
		bool good = true;

		for (size_t i = 0; i < FILE_SIZE; i++)
			good &= p[i] == CANARY;
		if (write(ans, good ? "ok\n" : "bad\n", good ? 3 : 4) < 0)
			_exit(4);
	}
	/* Exit without a word: the pins go with the process (pidfd). */
	_exit(0);
}

/* holder_run -- holder_main() as a piped child of the socket @arg. */
static void
holder_run(void *arg, int cmd, int ans)
{
	holder_main(arg, cmd, ans);
}

static void
holder_start(struct fixture *f, struct holder_proc *h)
{
	char line[64];

	piped_start(&h->p, holder_run, f->d.socket);
	piped_ask(&h->p, 0, line, sizeof(line));
	assert_int_equal(sscanf(line, "ready %" SCNu64, &h->lease), 1);
}

/* holder_canary_ok -- the holder still sees only its canary. */
static bool
holder_canary_ok(struct holder_proc *h)
{
	char line[16];

	piped_ask(&h->p, 'c', line, sizeof(line));
	return strcmp(line, "ok") == 0;
}

static void
holder_quit(struct holder_proc *h)
{
	piped_quit(&h->p);
}

/* ---- helpers ------------------------------------------------------------- */

static uint64_t
region_pins(struct fixture *f)
{
	json_object *j = ctl_json(f, "region", "info", "r", NULL);
	uint64_t pins = (uint64_t)jint(j, "pins");

	json_object_put(j);
	return pins;
}

/* orphans -- files of r that are orphans. */
static int
orphans(struct fixture *f)
{
	json_object *j = ctl_json(f, "region", "info", "r", NULL);
	int n = (int)(uint64_t)jint(j, "orphans");

	json_object_put(j);
	return n;
}

/* restart -- kill -9 the daemon and start it again, same region and
 * runtime directory. */
static void
restart(struct fixture *f)
{
	daemon_kill(&f->d);
	assert_int_equal(daemon_restart(&f->d), 0);
}

/* write_other -- r/b, 4 MiB of the other pattern, through the CLI. */
static void
write_other(struct fixture *f)
{
	const char *argv[] = {PAGEMAPCTL_BIN, "--socket", f->d.socket,
			      "write",	      "r/b",	  NULL};
	char *buf = malloc(FILE_SIZE + 1);

	assert_int_equal(CTL(f, "file", "create", "r/b", "--size", "4M"), 0);
	memset(buf, OTHER, FILE_SIZE);
	buf[FILE_SIZE] = '\0';
	if (run(argv, buf, f->out, OUT_MAX, f->err, OUT_MAX) != 0)
		fail_msg("write r/b: %s", f->err);
	free(buf);
}

/* grants_hold_canary -- the region file's bytes at every grant of @lease
 * (as the restarted daemon lists them) hold the canary. Returns how many
 * grants. */
static size_t
grants_hold_canary(struct fixture *f, uint64_t lease)
{
	char id[32];
	json_object *j;
	unsigned char *buf = malloc(2 * MiB);
	int fd = open(f->d.region, O_RDONLY | O_CLOEXEC);
	size_t n;

	assert_true(fd >= 0);
	snprintf(id, sizeof(id), "%" PRIu64, lease);
	j = ctl_json(f, "grant", "ls", "--lease", id);
	n = json_object_array_length(jrows(j, "grants"));
	for (size_t i = 0; i < n; i++) {
		json_object *g =
			json_object_array_get_idx(jrows(j, "grants"), i);
		uint64_t off = (uint64_t)jint(g, "region_offset");
		uint64_t size = 4096ull << (uint64_t)jint(g, "order");

		assert_int_equal((uint64_t)jint(g, "lease_id"), lease);
		for (uint64_t o = 0; o < size; o += 2 * MiB) {
			size_t len = size - o < 2 * MiB ? size - o : 2 * MiB;

			assert_int_equal(pread(fd, buf, len, (off_t)(off + o)),
					 (ssize_t)len);
			for (size_t k = 0; k < len; k++)
				if (buf[k] != CANARY)
					fail_msg("region byte %" PRIu64
						 " is not the canary",
						 off + o + k);
		}
	}
	json_object_put(j);
	free(buf);
	close(fd);
	return n;
}

/* wait_until -- poll @cond, bounded. */
static void
wait_until(struct fixture *f, bool (*cond)(struct fixture *f), const char *what)
{
	long long end = now_ms() + WAIT_MS;

	while (!cond(f)) {
		if (now_ms() > end)
			fail_msg("timed out waiting for %s", what);
		poll(NULL, 0, 10);
	}
}

static bool
no_pins_no_orphans(struct fixture *f)
{
	return region_pins(f) == 0 && orphans(f) == 0;
}

/* stop_and_fsck -- stop cleanly, then check the region file offline. */
static void
stop_and_fsck(struct fixture *f)
{
	const char *argv[] = {PAGEMAPCTL_BIN, "fsck", f->d.region, NULL};

	assert_int_equal(daemon_stop(&f->d), 0);
	if (run(argv, NULL, f->out, OUT_MAX, f->err, OUT_MAX) != 0)
		fail_msg("fsck: %s%s", f->out, f->err);
	assert_int_equal(daemon_restart(&f->d), 0);
}

/* ---- the tests ----------------------------------------------------------- */

/* no_reuse_then_release -- a file written after the crash shares no byte
 * with @h's mapping (its canary holds, in the mapping and in the region
 * file at its grants), and @h's exit frees the orphan and every pin. */
static void
no_reuse_then_release(struct fixture *f, struct holder_proc *h)
{
	write_other(f);
	assert_true(holder_canary_ok(h));
	assert_true(grants_hold_canary(f, h->lease) > 0);
	holder_quit(h);
	wait_until(f, no_pins_no_orphans, "the orphan to be freed");
	stop_and_fsck(f);
}

static void
pins_survive_a_daemon_crash_until_the_holder_exits(void **state)
{
	struct fixture *f = *state;
	struct holder_proc h;
	char pid[16], id[32];
	json_object *j;

	assert_int_equal(CTL(f, "file", "create", "r/a", "--size", "4M"), 0);
	holder_start(f, &h);
	assert_true(region_pins(f) > 0);
	restart(f);

	/* The restarted daemon knows the pins, under the old lease id. */
	assert_true(region_pins(f) > 0);
	snprintf(pid, sizeof(pid), "%d", (int)h.p.pid);
	snprintf(id, sizeof(id), "%" PRIu64, h.lease);
	j = ctl_json(f, "lease", "ls", "r/a", NULL);
	assert_int_equal(json_object_array_length(jrows(j, "leases")), 1);
	assert_int_equal(
		(uint64_t)jint(json_object_array_get_idx(jrows(j, "leases"), 0),
			       "id"),
		h.lease);
	assert_int_equal(
		(uint64_t)jint(json_object_array_get_idx(jrows(j, "leases"), 0),
			       "pid"),
		h.p.pid);
	json_object_put(j);
	assert_true(grants_hold_canary(f, h.lease) > 0);

	/* Truncate waits for the holder; blockers names it. */
	assert_int_not_equal(
		CTL(f, "file", "truncate", "r/a", "0", "--timeout", "1"), 0);
	assert_int_equal(CTL(f, "blockers", "r/a"), 0);
	if (!strstr(f->out, pid))
		fail_msg("blockers does not name pid %s:\n%s", pid, f->out);
	/* Remove leaves an orphan; a new file never gets its blocks. */
	assert_int_equal(CTL(f, "file", "rm", "r/a"), 0);
	assert_int_equal(orphans(f), 1);
	no_reuse_then_release(f, &h);
}

static void
an_orphan_held_across_a_crash_survives_until_the_holder_exits(void **state)
{
	struct fixture *f = *state;
	struct holder_proc h;

	assert_int_equal(CTL(f, "file", "create", "r/a", "--size", "4M"), 0);
	holder_start(f, &h);
	assert_int_equal(CTL(f, "file", "rm", "r/a"), 0);
	assert_int_equal(orphans(f), 1);
	restart(f);

	/* Attach did not reclaim it: its holder still maps it. */
	assert_int_equal(orphans(f), 1);
	assert_true(region_pins(f) > 0);
	no_reuse_then_release(f, &h);
}

/* plant -- a table in the runtime directory naming @pid and @start as the
 * holder of a lease with one grant of r/a's first page. */
static void
plant(struct fixture *f, uint32_t pid, uint64_t start)
{
	struct pintab_holder hd = {
		.pid = pid, .uid = getuid(), .start_time = start, .token = 7};
	json_object *j = ctl_json(f, "region", "info", "r", NULL), *v, *fl;
	struct pin_rec lease = {.kind = PIN_LEASE, .access = 2, .lease_id = 1};
	struct pin_rec grant = {.kind = PIN_GRANT, .access = 2, .lease_id = 1};
	char dir[PATH_MAX];
	const char *u;
	struct pintab *t;
	int fd, k = 0;

	assert_true(json_object_object_get_ex(j, "uuid", &v));
	u = json_object_get_string(v);
	for (int i = 0; u[i] && k < 16; i++) {
		if (u[i] == '-')
			continue;
		sscanf(u + i, "%2hhx", &hd.region_uuid[k++]);
		i++;
	}
	json_object_put(j);
	assert_int_equal(holder_boot_id(hd.boot_id), 0);
	fl = ctl_json(f, "file", "stat", "r/a", NULL);
	lease.ino = (uint64_t)jint(fl, "ino");
	json_object_put(fl);
	snprintf(dir, sizeof(dir), "%s/run/pins", f->d.dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(pintab_create(fd, &hd, 4, &t), 0);
	assert_true(pintab_add(t, &lease) >= 0);
	grant.file_pg = 0;
	grant.region_pg = 0; /* never checked: the holder is gone */
	assert_true(pintab_add(t, &grant) >= 0);
	pintab_close(t);
	close(fd);
}

static int
tables(struct fixture *f)
{
	char cmd[PATH_MAX + 64], out[64] = "";
	const char *argv[] = {"/bin/sh", "-c", cmd, NULL};

	snprintf(cmd, sizeof(cmd), "ls %s/run/pins | grep -c pins$", f->d.dir);
	run(argv, NULL, out, sizeof(out), NULL, 0);
	return atoi(out);
}

static void
tables_of_a_dead_or_recycled_pid_are_discarded(void **state)
{
	struct fixture *f = *state;
	uint64_t start;
	pid_t dead;
	int st;

	assert_int_equal(CTL(f, "file", "create", "r/a", "--size", "4M"), 0);
	/* A live pid with another start time: a recycled pid. */
	assert_int_equal(holder_start_time(getpid(), &start), 0);
	plant(f, (uint32_t)getpid(), start + 1);
	/* A pid that is gone. */
	dead = fork();
	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, &st, 0), dead);
	plant(f, (uint32_t)dead, 1);
	assert_int_equal(tables(f), 2);

	restart(f);
	assert_int_equal(region_pins(f), 0);
	assert_int_equal(tables(f), 0);
	assert_int_equal(
		CTL(f, "file", "truncate", "r/a", "0", "--timeout", "5"), 0);
}

static void
another_runtime_dir_is_refused_while_pins_may_be_outstanding(void **state)
{
	struct fixture *f = *state;
	char other[PATH_MAX + 32], spec[PATH_MAX + 64];
	const char *args[] = {"--runtime-dir", other, "--region", spec, NULL};

	snprintf(other, sizeof(other), "%s/other", f->d.dir);
	snprintf(spec, sizeof(spec), "r=%s,size=64M,create", f->d.region);
	assert_int_equal(CTL(f, "file", "create", "r/a", "--size", "4M"), 0);
	daemon_kill(&f->d);
	assert_int_equal(daemon_start(&f->d, args, NULL), -1);
	assert_true(daemon_log_contains(&f->d, "another runtime directory"));
	/* With its own directory it attaches; a clean stop clears the
	 * record, and then any directory will do. */
	assert_int_equal(daemon_restart(&f->d), 0);
	assert_int_equal(daemon_stop(&f->d), 0);
	assert_int_equal(daemon_start(&f->d, args, NULL), 0);
	assert_int_equal(daemon_stop(&f->d), 0);
	assert_int_equal(daemon_restart(&f->d), 0);
}

/* raw_hello -- Hello announcing CAP_RECONNECT with @token; returns the
 * reply's token, the leases adopted in *adopted. */
static uint64_t
raw_hello(int c, uint64_t token, uint32_t *adopted)
{
	Pagemap__Request rq;
	Pagemap__Hello m;
	Pagemap__Response *r;
	uint64_t t;

	raw_req_hello(&rq, &m, 1, "pins-raw");
	m.capabilities = PAGEMAP__CAPABILITY__CAP_RECONNECT;
	m.token = token;
	r = raw_call(c, &rq, NULL, NULL);
	assert_non_null(r);
	if (r->error)
		fail_msg("hello: %s", r->message);
	assert_int_equal(r->hello->capabilities,
			 PAGEMAP__CAPABILITY__CAP_RECONNECT);
	t = r->hello->token;
	*adopted = r->hello->leases_adopted;
	raw_free(r);
	return t;
}

static void
a_reconnect_by_token_takes_back_restored_leases_under_their_ids(void **state)
{
	struct fixture *f = *state;
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__LeaseAcquireRequest ml;
	Pagemap__MapRequest mm;
	Pagemap__UnmapRequest mu;
	Pagemap__LeaseReleaseRequest mr = PAGEMAP__LEASE_RELEASE_REQUEST__INIT;
	Pagemap__Response *r;
	uint64_t token, id;
	uint32_t n;
	int c, c2, rfd = -1;

	assert_int_equal(CTL(f, "file", "create", "r/a", "--size", "4M"), 0);
	c = raw_connect(f->d.socket, 0);
	token = raw_hello(c, 0, &n);
	assert_true(token != 0);
	assert_int_equal(n, 0);
	raw_req_lease(&rq, &ml, "r", "a", PAGEMAP__ACCESS__ACCESS_WRITE);
	r = raw_call(c, &rq, &rfd, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	id = r->lease_acquire->lease_id;
	raw_free(r);
	if (rfd >= 0)
		close(rfd);
	raw_req_map(&rq, &mm, id, 0, FILE_SIZE, PAGEMAP__ACCESS__ACCESS_WRITE);
	r = raw_call(c, &rq, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	raw_free(r);

	restart(f);
	close(c);
	assert_true(region_pins(f) > 0);
	/* Another token takes nothing; the right one takes the lease back
	 * under its id, and keeps naming the client. */
	c2 = raw_connect(f->d.socket, 0);
	assert_true(raw_hello(c2, token + 1, &n) != token);
	assert_int_equal(n, 0);
	close(c2);
	c2 = raw_connect(f->d.socket, 0);
	assert_int_equal(raw_hello(c2, token, &n), token);
	assert_int_equal(n, 1);
	raw_req_unmap(&rq, &mu, id, 0, FILE_SIZE);
	r = raw_call(c2, &rq, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	raw_free(r);
	mr.lease_id = id;
	rq = (Pagemap__Request)PAGEMAP__REQUEST__INIT;
	rq.body_case = PAGEMAP__REQUEST__BODY_LEASE_RELEASE;
	rq.lease_release = &mr;
	r = raw_call(c2, &rq, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	raw_free(r);
	close(c2);
	assert_int_equal(region_pins(f), 0);
}

static bool
stopping(struct fixture *f)
{
	return daemon_log_contains(&f->d, "stopping: waiting for");
}

static void
a_second_sigterm_stops_at_once_and_the_next_start_keeps_the_pins(void **state)
{
	struct fixture *f = *state;
	struct holder_proc h;
	char want[96];
	int st;

	assert_int_equal(CTL(f, "file", "create", "r/a", "--size", "4M"), 0);
	holder_start(f, &h);
	/* The holder never answers a recall: the first SIGTERM waits. */
	assert_int_equal(kill(f->d.pid, SIGTERM), 0);
	wait_until(f, stopping, "the daemon to wait for the holder");
	/* The log names the holder and the way out. */
	snprintf(want, sizeof(want), "stopping: lease %" PRIu64 " of pid %d",
		 h.lease, (int)h.p.pid);
	assert_true(daemon_log_contains(&f->d, want));
	assert_true(daemon_log_contains(&f->d, "a second SIGTERM or SIGINT"));
	assert_int_equal(daemon_wait_exit(&f->d, 200), -1);
	assert_int_equal(kill(f->d.pid, SIGTERM), 0);
	st = daemon_wait_exit(&f->d, 10000);
	assert_int_equal(st, 3);
	assert_true(
		daemon_log_contains(&f->d, "stay pinned in the pin tables"));

	/* Nothing was freed: the next start shows the pins and still waits
	 * for the holder. */
	assert_int_equal(daemon_restart(&f->d), 0);
	assert_true(region_pins(f) > 0);
	no_reuse_then_release(f, &h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			pins_survive_a_daemon_crash_until_the_holder_exits,
			ctl_fixture_setup, ctl_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			an_orphan_held_across_a_crash_survives_until_the_holder_exits,
			ctl_fixture_setup, ctl_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			tables_of_a_dead_or_recycled_pid_are_discarded,
			ctl_fixture_setup, ctl_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			a_reconnect_by_token_takes_back_restored_leases_under_their_ids,
			ctl_fixture_setup, ctl_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			another_runtime_dir_is_refused_while_pins_may_be_outstanding,
			ctl_fixture_setup, ctl_fixture_teardown),
		cmocka_unit_test_setup_teardown(
			a_second_sigterm_stops_at_once_and_the_next_start_keeps_the_pins,
			ctl_fixture_setup, ctl_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

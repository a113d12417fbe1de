/* test_limits.c -- no user can lock the administrator out: floods of
 * connections from other uids (with and without a Hello) against the
 * per-uid cap and the administrators' reserve, the handshake timeout, and
 * a daemon out of file descriptors that pauses accepting instead of
 * spinning. A real daemon, real processes. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "fdcheck.h"
#include "harness.h"
#include "rawclient.h"

#define BIG 65536
#define WAIT_MS 10000 /* the bound of every wait for the daemon */

static char out[BIG], err[BIG];

/* start -- a daemon with region "r" and the [daemon] keys @keys (a config
 * file written into its folder). */
static void
start(struct daemon *d, unsigned nofile, const char *keys)
{
	char conf[PATH_MAX];
	FILE *f;

	daemon_init(d);
	d->nofile = nofile;
	snprintf(conf, sizeof(conf), "%s/pagemapd.conf", d->dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[daemon]\n%s", keys);
	fclose(f);
	/* Other uids must reach the socket in the test's folder. */
	assert_int_equal(chmod(d->dir, 0711), 0);
	{
		char region[PATH_MAX + 32];
		const char *args[] = {"--config", conf, "--region", region,
				      NULL};

		snprintf(region, sizeof(region), "r=%s/r.pmem,size=16M,create",
			 d->dir);
		assert_int_equal(daemon_start(d, args, NULL), 0);
	}
}

/* refusal -- the packet the daemon answers a refused connection with:
 * an error about the whole connection (id 0); its errno, or -errno when
 * none came within WAIT_MS. */
static int
refusal(int fd, char *why, size_t whylen)
{
	Pagemap__ServerMessage *sm;
	int rc = raw_recv(fd, WAIT_MS, NULL, &sm);

	if (rc < 0)
		return rc;
	rc = -EPROTO;
	if (sm->msg_case == PAGEMAP__SERVER_MESSAGE__MSG_RESPONSE &&
	    sm->response->id == 0) {
		rc = (int)sm->response->error;
		snprintf(why, whylen, "%s", sm->response->message);
	}
	pagemap__server_message__free_unpacked(sm, NULL);
	return rc;
}

/* status_ok -- `pagemapctl status` as @uid ((uid_t)-1: the test's own)
 * succeeds, within WAIT_MS: the slots
 * of the connections the test just closed are free only once the daemon
 * has seen them hang up, so a refusal (EUSERS) meanwhile is retried. */
static void
status_ok(const struct daemon *d, uid_t uid)
{
	long long end = now_ms() + WAIT_MS;
	int rc;

	while ((rc = ctl_as(uid, (gid_t)uid, d, out, sizeof(out), err,
			    sizeof(err), "status", NULL)) != 0 &&
	       strstr(err, "Too many users") && now_ms() < end)
		poll(NULL, 0, 20); /* a bounded poll of the condition */
	if (rc != 0)
		fprintf(stderr, "status: %s\n", err);
	assert_int_equal(rc, 0);
}

/* ---- a flood from another uid ------------------------------------------ */

struct flood {
	unsigned silent_first; /* connections held without a Hello */
	unsigned hello;	       /* then connections that try a Hello */
	unsigned silent_after; /* then silent ones expected to be refused */
};

struct flood_result {
	unsigned held;		/* connections the daemon kept */
	unsigned hello_refused; /* Hellos that failed */
	unsigned refused;	/* silent ones refused with EUSERS */
	char why[160];		/* the message of the last refusal */
};

/* flood_run -- the child: become @uid, open what @fl says, report on
 * @report_fd, hold everything until @release_fd reads EOF. */
static void __attribute__((noreturn))
flood_run(const char *socket, uid_t uid, const struct flood *fl, int report_fd,
	  int release_fd)
{
	struct flood_result r = {0};
	int fds[1024];
	unsigned n = 0;
	char c;

	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		_exit(10);
	for (unsigned i = 0; i < fl->silent_first; i++) {
		int fd = raw_open(socket, NULL);
		if (fd < 0)
			_exit(11);
		fds[n++] = fd;
	}
	for (unsigned i = 0; i < fl->hello; i++) {
		int fd = raw_open(socket, "flood");
		if (fd >= 0)
			fds[n++] = fd;
		else
			r.hello_refused++;
	}
	for (unsigned i = 0; i < fl->silent_after; i++) {
		int fd = raw_open(socket, NULL);
		if (fd < 0)
			_exit(12);
		if (refusal(fd, r.why, sizeof(r.why)) == EUSERS)
			r.refused++;
		close(fd);
	}
	r.held = n;
	if (write(report_fd, &r, sizeof(r)) != sizeof(r))
		_exit(13);
	(void)read(release_fd, &c, 1); /* EOF: the test is done */
	for (unsigned i = 0; i < n; i++)
		close(fds[i]);
	_exit(0);
}

struct flooder {
	pid_t pid;
	int release; /* closed to end the child */
	struct flood_result r;
};

/* flood_start -- fork a child flooding as @uid and wait, bounded, for
 * its report. */
static void
flood_start(struct flooder *f, const struct daemon *d, uid_t uid,
	    const struct flood *fl)
{
	int report[2], release[2];
	struct pollfd p;

	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(release), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (f->pid == 0) {
		/* Nothing of the test's but its two pipe ends: an earlier
		 * flooder's release pipe held open here would never end. */
		for (int fd = 3; fd < 1024; fd++)
			if (fd != report[1] && fd != release[0])
				close(fd);
		flood_run(d->socket, uid, fl, report[1], release[0]);
	}
	close(report[1]);
	close(release[0]);
	f->release = release[1];
	p = (struct pollfd){.fd = report[0], .events = POLLIN};
	assert_int_equal(poll(&p, 1, 60000), 1);
	assert_int_equal(read(report[0], &f->r, sizeof(f->r)),
			 (ssize_t)sizeof(f->r));
	close(report[0]);
}

/* flood_end -- let the child go and check that it exited cleanly. */
static void
flood_end(struct flooder *f)
{
	long long end = now_ms() + WAIT_MS;
	pid_t r;
	int st;

	close(f->release);
	while ((r = waitpid(f->pid, &st, WNOHANG)) == 0 && now_ms() < end)
		poll(NULL, 0, 10); /* a bounded poll of its exit */
	if (r == 0)
		kill(f->pid, SIGKILL);
	assert_int_equal(r, f->pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* flood_of_other_uids_does_not_lock_root_out -- uid 65534 holds its
 * max_connections_per_uid (with and without a Hello), uid 65533 takes
 * what is left of max_clients less reserved_connections: root's status
 * still answers every time, the extra connections are refused with a
 * clear error, and the daemon serves on once the flood leaves. */
static void
flood_of_other_uids_does_not_lock_root_out(void **state)
{
	const struct flood nobody = {
		.silent_first = 8, .hello = 20, .silent_after = 5};
	const struct flood other = {.hello = 10, .silent_after = 3};
	struct flooder a, b;
	struct daemon d;
	int fd;

	(void)state;
	if (geteuid() != 0) {
		fprintf(stderr, "skipped: a flood from other uids needs root "
				"(setuid in the flooding child)\n");
		skip();
	}
	start(&d, 0,
	      "max_clients = 32\nreserved_connections = 8\n"
	      "max_connections_per_uid = 20\nhandshake_timeout_ms = 600000\n");

	flood_start(&a, &d, 65534, &nobody);
	/* 8 silent + 12 Hellos reach the cap of 20; the rest is refused. */
	assert_int_equal(a.r.held, 20);
	assert_int_equal(a.r.hello_refused, 8);
	assert_int_equal(a.r.refused, 5);
	assert_non_null(strstr(a.r.why, "max_connections_per_uid 20"));

	flood_start(&b, &d, 65533, &other);
	/* Other users together hold 32 - 8 = 24: 4 left for this one. */
	assert_int_equal(b.r.held, 4);
	assert_int_equal(b.r.hello_refused, 6);
	assert_int_equal(b.r.refused, 3);
	assert_non_null(strstr(b.r.why, "reserved_connections 24"));

	/* The administrator gets in, every time. */
	for (int i = 0; i < 5; i++) {
		int rc = ctl(&d, out, sizeof(out), err, sizeof(err), "status",
			     NULL);
		if (rc != 0)
			fprintf(stderr, "status %d: %s\n", i, err);
		assert_int_equal(rc, 0);
	}
	fd = raw_open(d.socket, "root");
	assert_true(fd >= 0);
	close(fd);
	/* The flooding user itself is refused, with a reason. */
	assert_int_not_equal(ctl_as(65534, 65534, &d, out, sizeof(out), err,
				    sizeof(err), "status", NULL),
			     0);
	assert_true(daemon_log_contains(
		&d, "refused a connection from uid 65534: "
		    "max_connections_per_uid (20) reached"));
	assert_true(daemon_log_contains(
		&d, "refused a connection from uid 65533: max_clients less "
		    "reserved_connections (24) reached"));

	flood_end(&a);
	/* Its slots come back: the same user connects again. */
	status_ok(&d, 65534);
	/* A stop with other users still connected stops cleanly. */
	assert_int_equal(daemon_finish(&d), 0);
	flood_end(&b);
}

/* ---- the handshake deadline -------------------------------------------- */

/* silent_connection_is_closed_at_the_handshake_timeout -- a connection
 * that never sends Hello is told so and closed, bounded; one that did
 * stays served. */
static void
silent_connection_is_closed_at_the_handshake_timeout(void **state)
{
	Pagemap__StatusRequest sr;
	Pagemap__Request rq;
	Pagemap__Response *resp;
	struct daemon d;
	char why[160] = "";
	long long t0;
	int silent, greeted;

	(void)state;
	start(&d, 0, "handshake_timeout_ms = 200\n");
	t0 = now_ms();
	silent = raw_open(d.socket, NULL);
	greeted = raw_open(d.socket, "greeted");
	assert_true(silent >= 0);
	assert_true(greeted >= 0);
	assert_int_equal(refusal(silent, why, sizeof(why)), ETIMEDOUT);
	assert_non_null(strstr(why, "Hello"));
	{
		Pagemap__ServerMessage *sm = NULL;
		/* Then the end of the connection. */
		assert_int_equal(raw_recv(silent, WAIT_MS, NULL, &sm),
				 -ECONNRESET);
	}
	assert_true(now_ms() - t0 < WAIT_MS);
	close(silent);

	raw_req_status(&rq, &sr);
	resp = raw_call(greeted, &rq, NULL, NULL);
	assert_non_null(resp);
	assert_int_equal(resp->error, 0);
	raw_free(resp);
	close(greeted);
	assert_int_equal(daemon_finish(&d), 0);
}

/* ---- out of file descriptors ------------------------------------------- */

/* cpu_ms -- user + system CPU time of process @pid so far. */
static long long
cpu_ms(pid_t pid)
{
	char path[64], buf[1024];
	unsigned long long ut, st;
	FILE *f;
	char *p;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	assert_non_null(p);
	/* After the name: state (3) ... utime (14), stime (15). */
	assert_int_equal(sscanf(p + 2,
				"%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
				"%llu %llu",
				&ut, &st),
			 2);
	return (long long)((ut + st) * 1000 /
			   (unsigned long long)sysconf(_SC_CLK_TCK));
}

#define FLOOD_FDS 150
/* Connections left waiting in the backlog (the daemon listens with 128):
 * a connect to a full backlog would block. */
#define BACKLOG_FDS 100
#define WINDOW_MS 1000

/* flood_cpu -- open @n connections to @d, keep them open for WINDOW_MS
 * (the measuring window, not a wait for anything) and return the share
 * (percent) of that time the daemon spent on a CPU. */
static int
flood_cpu(const struct daemon *d, int *fds, int n)
{
	long long c0 = cpu_ms(d->pid), t0 = now_ms(), c1, t1;

	for (int i = 0; i < n; i++) {
		fds[i] = raw_open(d->socket, NULL);
		assert_true(fds[i] >= 0);
	}
	poll(NULL, 0, WINDOW_MS);
	c1 = cpu_ms(d->pid);
	t1 = now_ms();
	fprintf(stderr, "daemon CPU %lld ms over %lld ms of flood\n", c1 - c0,
		t1 - t0);
	return (int)((c1 - c0) * 100 / (t1 - t0));
}

/* out_of_fds_pauses_accepting_instead_of_spinning -- a daemon started
 * with 64 descriptors lowers max_clients to fit them, so a flood is
 * refused, not failed at accept; with its limit then cut below what it
 * holds (EMFILE at every accept) it rests between attempts: neither flood
 * keeps it on a CPU for half the time, and status answers after both. */
static void
out_of_fds_pauses_accepting_instead_of_spinning(void **state)
{
	struct rlimit cut = {.rlim_cur = 3, .rlim_max = 64};
	struct rlimit back = {.rlim_cur = 64, .rlim_max = 64};
	int fds[FLOOD_FDS];
	struct daemon d;
	int share;

	(void)state;
	start(&d, 64, "");
	assert_true(daemon_log_contains(&d, "max_clients lowered from 1024"));

	share = flood_cpu(&d, fds, FLOOD_FDS);
	for (int i = 0; i < FLOOD_FDS; i++)
		close(fds[i]);
	assert_true(share < 50);
	status_ok(&d, (uid_t)-1);

	/* Every new descriptor fails now (0, 1 and 2 are taken). */
	assert_int_equal(prlimit(d.pid, RLIMIT_NOFILE, &cut, NULL), 0);
	share = flood_cpu(&d, fds, BACKLOG_FDS);
	assert_int_equal(prlimit(d.pid, RLIMIT_NOFILE, &back, NULL), 0);
	assert_true(daemon_log_contains(&d, "cannot accept connections: "
					    "Too many open files; pausing"));
	for (int i = 0; i < BACKLOG_FDS; i++)
		close(fds[i]);
	assert_true(share < 50);
	status_ok(&d, (uid_t)-1);
	assert_int_equal(daemon_finish(&d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(flood_of_other_uids_does_not_lock_root_out),
		fdcheck_test(
			silent_connection_is_closed_at_the_handshake_timeout),
		fdcheck_test(out_of_fds_pauses_accepting_instead_of_spinning),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

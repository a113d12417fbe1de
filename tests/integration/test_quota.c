/* test_quota.c -- what one client process and one uid may make the daemon
 * hold: a process with several connections is held to its own limits
 * (not one share per connection), a second process of the uid to what the
 * uid has left, and a uid that takes everything it can — many processes,
 * every connection it may open, every lease and grant, connections that
 * never read their replies — grows the daemon's resident set (VmRSS,
 * measured) by less than max_memory_per_uid, while root's status still
 * answers. A real daemon; the clients are children of another uid (the
 * test needs root to become it, and skips otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "ctljson.h"
#include "fdcheck.h"
#include "harness.h"
#include "rawclient.h"

#define UID 65534u
#define WAIT_MS 180000	      /* the bound of every wait for a child */
#define FILE_SIZE (32u << 20) /* 8192 folios of 4 KiB: one full Map reply */
#define MAX_CONNS 16

static char out[65536], err[65536];

/* ---- the daemon ---------------------------------------------------------- */

/* start -- a daemon with the [daemon] keys @keys and region "r" of 4 KiB
 * folios (every mapped page one grant) holding "f" (FILE_SIZE, readable
 * by everyone). */
static void
start(struct daemon *d, const char *keys)
{
	char conf[PATH_MAX], region[PATH_MAX + 64], path[PATH_MAX + 8];
	char asan[512];
	const char *env[] = {asan, NULL};
	const char *args[] = {"--config", conf, "--region", region, NULL};
	const char *prev = getenv("ASAN_OPTIONS");
	FILE *f;

	daemon_init(d);
	snprintf(conf, sizeof(conf), "%s/pagemapd.conf", d->dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[daemon]\nhandshake_timeout_ms = 600000\n%s", keys);
	fclose(f);
	/* Other uids must reach the socket and read the region's file. */
	assert_int_equal(chmod(d->dir, 0711), 0);
	snprintf(region, sizeof(region),
		 "r=%s/r.pmem,size=64M,create,max_order=0", d->dir);
	/* The sanitizer's quarantine of freed blocks is not the daemon's
	 * memory: without it, VmRSS measures what the daemon holds. */
	snprintf(asan, sizeof(asan), "ASAN_OPTIONS=%s%squarantine_size_mb=0",
		 prev ? prev : "", prev && *prev ? ":" : "");
	assert_int_equal(daemon_start(d, args, env), 0);
	snprintf(path, sizeof(path), "%s/r.pmem", d->dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(ctl(d, out, sizeof(out), err, sizeof(err), "region",
			     "detach", "r", NULL),
			 0);
	assert_int_equal(ctl(d, out, sizeof(out), err, sizeof(err), "region",
			     "attach", "r", path, NULL),
			 0);
	assert_int_equal(ctl(d, out, sizeof(out), err, sizeof(err), "file",
			     "create", "r/f", "--size", "32M", "--mode", "0644",
			     NULL),
			 0);
}

/* rss_kib -- VmRSS of process @pid, in KiB. */
static long
rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	assert_true(kib > 0);
	return kib;
}

/* ---- a client process of another uid ------------------------------------- */

/* What a child is to do. */
struct plan {
	unsigned conns;	       /* connections to open (with a Hello) */
	unsigned leases;       /* lease attempts, spread over them */
	unsigned maps;	       /* Map attempts of the whole file */
	unsigned unread_conns; /* of conns, the last ones never read */
	unsigned statuses;     /* then status requests on the others */
	bool words;	       /* maps with state words, as libpagemap's */
};

/* What it did. */
struct report {
	int failed;	/* the step that went wrong, 0: none */
	unsigned conns; /* connections open */
	unsigned conns_refused;
	unsigned leases;     /* leases held */
	uint64_t grants;     /* grants held */
	unsigned unread;     /* requests sent and never read */
	unsigned statuses;   /* status requests answered */
	char lease_why[192]; /* the last lease refusal */
	char grant_why[192]; /* the last map refusal */
};

/* error_of -- 0 for a successful @r, else its errno with its message in
 * @why. */
static int
error_of(Pagemap__Response *r, char *why, size_t len)
{
	if (r == NULL) {
		snprintf(why, len, "no reply");
		return -1;
	}
	if (r->error)
		snprintf(why, len, "%s", r->message);
	return (int)r->error;
}

/* take_leases -- @n lease attempts on r/f round robin over @fds; the
 * first lease of each connection in @first. */
static void
take_leases(struct report *rep, const int *fds, unsigned nfds, unsigned n,
	    uint64_t *first)
{
	for (unsigned i = 0; i < n; i++) {
		Pagemap__LeaseAcquireRequest m;
		Pagemap__Request rq;
		Pagemap__Response *r;
		unsigned k = i % nfds;
		int rfd = -1, e;

		raw_req_lease(&rq, &m, "r", "f", PAGEMAP__ACCESS__ACCESS_READ);
		r = raw_call(fds[k], &rq, &rfd, NULL);
		if (rfd >= 0)
			close(rfd);
		e = error_of(r, rep->lease_why, sizeof(rep->lease_why));
		if (e == 0) {
			rep->leases++;
			if (first[k] == 0)
				first[k] = r->lease_acquire->lease_id;
		} else if (e != EDQUOT) {
			rep->failed = 3;
		}
		raw_free(r);
	}
}

/* map_all -- @n maps of the whole file, round robin over the connections
 * with a lease, counting the grants. */
static void
map_all(struct report *rep, const int *fds, unsigned nfds, unsigned n,
	const uint64_t *first, bool words)
{
	for (unsigned i = 0; i < n; i++) {
		Pagemap__MapRequest m;
		Pagemap__Request rq;
		Pagemap__Response *r;
		unsigned k = i % nfds;
		int e;

		if (first[k] == 0)
			continue;
		raw_req_map(&rq, &m, first[k], 0, FILE_SIZE,
			    PAGEMAP__ACCESS__ACCESS_READ);
		m.words = words; /* the word table's memfd, once, is closed */
		r = raw_call(fds[k], &rq, NULL, NULL);
		e = error_of(r, rep->grant_why, sizeof(rep->grant_why));
		if (e == 0)
			rep->grants += r->map->n_order;
		else if (e != EDQUOT)
			rep->failed = 4;
		raw_free(r);
	}
}

/* flood_unread -- ask for a page of the grants of lease @lease (0: of
 * this process) on @fd again and again without reading a reply, until the
 * daemon stops reading (the socket fills). A page of one lease is
 * cheap for the daemon to make: the test measures memory, not a CPU. */
static unsigned
flood_unread(int fd, uint64_t lease)
{
	Pagemap__GrantListRequest m = PAGEMAP__GRANT_LIST_REQUEST__INIT;
	Pagemap__Request rq;
	unsigned n = 0;

	m.lease_id = lease;
	m.pid = lease ? 0 : (uint32_t)getpid();
	pagemap__request__init(&rq);
	rq.body_case = PAGEMAP__REQUEST__BODY_GRANT_LIST;
	rq.grant_list = &m;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (n < 100000) {
		rq.id = 1000 + n;
		if (raw_send_request(fd, &rq) < 0)
			break; /* EAGAIN: the daemon reads no more */
		n++;
	}
	return n;
}

/* child -- become UID, carry out @p, report on @report_fd, hold it all
 * until @release_fd reads EOF. */
static void __attribute__((noreturn))
child(const char *socket, const struct plan *p, int report_fd, int release_fd)
{
	struct report rep = {0};
	uint64_t first[MAX_CONNS] = {0};
	int fds[MAX_CONNS];
	unsigned read_conns;
	char c;

	if (setgroups(0, NULL) || setgid(UID) || setuid(UID))
		_exit(10);
	for (unsigned i = 0; i < p->conns && i < MAX_CONNS; i++) {
		/* With words, as libpagemap does: each grant with a state
		 * word, the most a grant can make the daemon hold. */
		int fd = raw_open_caps(
			socket, "quota",
			p->words ? PAGEMAP__CAPABILITY__CAP_CACHED_GRANTS : 0);

		if (fd >= 0)
			fds[rep.conns++] = fd;
		else
			rep.conns_refused++;
	}
	read_conns = rep.conns > p->unread_conns ? rep.conns - p->unread_conns
						 : rep.conns;
	if (read_conns) {
		take_leases(&rep, fds, read_conns, p->leases, first);
		map_all(&rep, fds, read_conns, p->maps, first, p->words);
	}
	for (unsigned i = read_conns; i < rep.conns; i++)
		rep.unread += flood_unread(fds[i], first[0]);
	for (unsigned i = 0; i < p->statuses && read_conns; i++) {
		Pagemap__StatusRequest m;
		Pagemap__Request rq;
		Pagemap__Response *r;

		raw_req_status(&rq, &m);
		r = raw_call(fds[i % read_conns], &rq, NULL, NULL);
		if (r && r->error == 0)
			rep.statuses++;
		raw_free(r);
	}
	if (write(report_fd, &rep, sizeof(rep)) != sizeof(rep))
		_exit(13);
	(void)read(release_fd, &c, 1); /* EOF: the test is done */
	_exit(0);
}

struct kid {
	pid_t pid;
	int release; /* closed to end the child */
	struct report r;
};

/* spawn -- fork a child carrying out @p; its report comes with
 * kid_report(). */
static void
spawn(struct kid *k, int *report_fd, const struct daemon *d,
      const struct plan *p)
{
	int report[2], release[2];

	assert_int_equal(pipe(report), 0);
	assert_int_equal(pipe(release), 0);
	k->pid = fork();
	assert_true(k->pid >= 0);
	if (k->pid == 0) {
		for (int fd = 3; fd < 1024; fd++)
			if (fd != report[1] && fd != release[0])
				close(fd);
		child(d->socket, p, report[1], release[0]);
	}
	close(report[1]);
	close(release[0]);
	k->release = release[1];
	*report_fd = report[0];
}

/* kid_report -- wait, bounded, for the report on @fd. */
static void
kid_report(struct kid *k, int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(fd, &k->r, sizeof(k->r)), (ssize_t)sizeof(k->r));
	close(fd);
	assert_int_equal(k->r.failed, 0);
}

/* kid_end -- let the child go and check that it exited cleanly. */
static void
kid_end(struct kid *k)
{
	long long end = now_ms() + WAIT_MS;
	pid_t r;
	int st;

	close(k->release);
	while ((r = waitpid(k->pid, &st, WNOHANG)) == 0 && now_ms() < end)
		poll(NULL, 0, 10); /* a bounded poll of its exit */
	if (r == 0)
		kill(k->pid, SIGKILL);
	assert_int_equal(r, k->pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/* log_has -- wait (bounded) until @d's log holds @needle. */
static bool
log_has(const struct daemon *d, const char *needle)
{
	long long end = now_ms() + WAIT_MS;

	while (!daemon_log_contains(d, needle))
		if (now_ms() > end || poll(NULL, 0, 10) < 0)
			return false;
	return true;
}

static bool
need_root(void)
{
	if (geteuid() == 0)
		return true;
	fprintf(stderr, "skipped: clients of another uid need root (setuid "
			"in the child)\n");
	return false;
}

/* ---- tests ------------------------------------------------------------- */

/* one_process_with_many_connections_is_held_to_its_limits -- a process
 * with three connections gets max_leases and max_grants once, not once per
 * connection; a second process of the same uid gets only what
 * max_leases_per_uid leaves; the refusals name the limit and its key; a
 * SIGHUP that raises the uid's limit lets a third process have more. */
static void
one_process_with_many_connections_is_held_to_its_limits(void **state)
{
	const struct plan p = {.conns = 3, .leases = 9, .maps = 3};
	struct kid a, b, c;
	char conf[PATH_MAX];
	FILE *f;
	struct daemon d;
	int fd;

	(void)state;
	if (!need_root())
		skip();
	start(&d, "max_leases = 5\nmax_leases_per_uid = 8\n"
		  "max_grants = 10000\n");
	spawn(&a, &fd, &d, &p);
	kid_report(&a, fd);
	assert_int_equal(a.r.conns, 3);
	assert_int_equal(a.r.leases, 5);
	assert_non_null(strstr(a.r.lease_why, "lease limit reached: 5 leases "
					      "per process (max_leases)"));
	/* 8192 + 1808: the second map gets what is left, the third none. */
	assert_int_equal(a.r.grants, 10000);
	assert_non_null(strstr(a.r.grant_why,
			       "grant limit reached: 10000 grants per process "
			       "(max_grants)"));

	spawn(&b, &fd, &d, &p);
	kid_report(&b, fd);
	assert_int_equal(b.r.leases, 3);
	assert_non_null(strstr(b.r.lease_why, "lease limit reached: 8 leases "
					      "per uid (max_leases_per_uid)"));
	assert_true(daemon_log_contains(&d, "refused a lease from uid 65534: "
					    "lease limit reached"));
	/* Root is charged but not refused. */
	assert_int_equal(
		ctl(&d, out, sizeof(out), err, sizeof(err), "status", NULL), 0);
	/* A reload raises the uid's share; what is held stays held. */
	snprintf(conf, sizeof(conf), "%s/pagemapd.conf", d.dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[daemon]\nmax_leases = 5\nmax_leases_per_uid = 11\n"
		   "max_grants = 10000\n");
	fclose(f);
	assert_int_equal(kill(d.pid, SIGHUP), 0);
	assert_true(log_has(&d, "reloaded limits per uid: "
				"max_leases_per_uid 11"));
	spawn(&c, &fd, &d, &p);
	kid_report(&c, fd);
	assert_int_equal(c.r.leases, 3);
	assert_non_null(strstr(c.r.lease_why, "11 leases per uid"));
	kid_end(&a);
	kid_end(&b);
	kid_end(&c);
	assert_int_equal(daemon_finish(&d), 0);
}

/* a_client_that_never_reads_holds_back_only_itself -- a connection that
 * never reads its replies is read no further than its process's
 * max_queued_bytes allows (well before max_pending), while the same
 * process's other connection, which reads, is still served. */
static void
a_client_that_never_reads_holds_back_only_itself(void **state)
{
	const struct plan p = {.conns = 2,
			       .leases = 1,
			       .maps = 1,
			       .unread_conns = 1,
			       .statuses = 20};
	json_object *j, *rows;
	int64_t pending = -1;
	struct kid a;
	struct daemon d;
	int fd;

	(void)state;
	if (!need_root())
		skip();
	start(&d, "max_queued_bytes = 1M\nmax_pending = 4096\n");
	spawn(&a, &fd, &d, &p);
	kid_report(&a, fd);
	assert_int_equal(a.r.grants, 8192);
	assert_true(a.r.unread > 0);
	assert_int_equal(a.r.statuses, 20);
	j = jparse(ctl(&d, out, sizeof(out), err, sizeof(err), "--json",
		       "client", "ls", NULL),
		   out, err);
	rows = jrows(j, "clients");
	for (size_t i = 0; i < json_object_array_length(rows); i++) {
		json_object *c = json_object_array_get_idx(rows, i);

		if (jint(c, "uid") == UID && jint(c, "pending") > pending)
			pending = jint(c, "pending");
	}
	json_object_put(j);
	fprintf(stderr,
		"replies queued to the client that never reads: "
		"%lld (max_pending 4096)\n",
		(long long)pending);
	/* Pages of 1500 grants (about 18 KiB): 1 MiB holds some 57, where
	 * nothing but max_pending would let 4096 queue. */
	assert_true(pending > 0);
	assert_true(pending <= 128);
	kid_end(&a);
	assert_int_equal(daemon_finish(&d), 0);
}

#define KIDS 8	     /* processes of the uid */
#define KID_CONNS 9  /* each: 8 fit max_connections_per_uid 64 */
#define KID_UNREAD 4 /* of them never read */
#define KID_LEASES 3000
#define KID_MAPS 40 /* 8192 grants each: 2.6 M tried, 1 M may be held */
#define MIB 1024.0

/* one_uid_cannot_grow_the_daemon_past_its_memory_limit -- with the
 * default limits, one uid takes all it can; the daemon's VmRSS grows by
 * less than max_memory_per_uid (256 MiB), and root's status answers. */
static void
one_uid_cannot_grow_the_daemon_past_its_memory_limit(void **state)
{
	const struct plan p = {.conns = KID_CONNS,
			       .leases = KID_LEASES,
			       .maps = KID_MAPS,
			       .unread_conns = KID_UNREAD,
			       .words = true};
	struct kid k[KIDS];
	int fds[KIDS];
	struct daemon d;
	unsigned conns = 0, refused = 0, leases = 0, unread = 0;
	uint64_t grants = 0;
	long before, after = 0;
	long long end;

	(void)state;
	if (!need_root())
		skip();
	start(&d, "");
	before = rss_kib(d.pid);
	for (int i = 0; i < KIDS; i++)
		spawn(&k[i], &fds[i], &d, &p);
	for (int i = 0; i < KIDS; i++) {
		kid_report(&k[i], fds[i]);
		conns += k[i].r.conns;
		refused += k[i].r.conns_refused;
		leases += k[i].r.leases;
		grants += k[i].r.grants;
		unread += k[i].r.unread;
	}
	/* Everything the uid may hold, it holds. */
	assert_int_equal(conns, 64);
	assert_int_equal(refused, KIDS * KID_CONNS - 64);
	assert_int_equal(leases, 16384);
	assert_int_equal(grants, 1u << 20);
	assert_true(unread > 0);
	/* The replies of the last requests read may still be on their way
	 * into the queues: the peak over a short window is the figure. */
	end = now_ms() + 1000;
	while (now_ms() < end) {
		long v = rss_kib(d.pid);

		if (v > after)
			after = v;
		poll(NULL, 0, 50); /* a sampling interval, not a wait */
	}
	fprintf(stderr,
		"daemon VmRSS %.1f MiB -> %.1f MiB (+%.1f MiB) with %u "
		"connections, %u leases, %llu grants, %u requests never "
		"read, all of uid %u\n",
		before / MIB, after / MIB, (after - before) / MIB, conns,
		leases, (unsigned long long)grants, unread, UID);
	assert_true(after - before < 256 * 1024);
	/* The administrator still gets in. */
	assert_int_equal(
		ctl(&d, out, sizeof(out), err, sizeof(err), "status", NULL), 0);
	for (int i = 0; i < KIDS; i++)
		kid_end(&k[i]);
	assert_int_equal(daemon_finish(&d), 0);
}

/* check_config_shows_the_limits_and_refuses_a_queue_cap_over_memory --
 * --check-config prints the limits per process and per uid; a
 * max_queued_bytes_per_uid that would leave no memory for anything else
 * is an error naming both keys. */
static void
check_config_shows_the_limits_and_refuses_a_queue_cap_over_memory(void **state)
{
	struct daemon d;
	char conf[PATH_MAX];
	const char *argv[] = {PAGEMAPD_BIN, "--check-config", "--config", conf,
			      NULL};
	FILE *f;

	(void)state;
	daemon_init(&d);
	snprintf(conf, sizeof(conf), "%s/pagemapd.conf", d.dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[daemon]\nmax_grants_per_uid = 5000\n"
		   "max_memory_per_uid = 64M\n");
	fclose(f);
	assert_int_equal(run(argv, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	assert_non_null(strstr(out, "limits per uid: "));
	assert_non_null(strstr(out, "max_grants_per_uid 5000"));
	assert_non_null(strstr(out, "max_memory_per_uid 67108864"));
	f = fopen(conf, "w");
	assert_non_null(f);
	fprintf(f, "[daemon]\nmax_memory_per_uid = 32M\n");
	fclose(f);
	assert_int_equal(run(argv, NULL, out, sizeof(out), err, sizeof(err)),
			 2);
	assert_non_null(strstr(err, "max_queued_bytes_per_uid (33554432) "
				    "must be below max_memory_per_uid"));
	assert_int_equal(daemon_cleanup(&d), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(
			one_process_with_many_connections_is_held_to_its_limits),
		fdcheck_test(a_client_that_never_reads_holds_back_only_itself),
		fdcheck_test(
			one_uid_cannot_grow_the_daemon_past_its_memory_limit),
		fdcheck_test(
			check_config_shows_the_limits_and_refuses_a_queue_cap_over_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

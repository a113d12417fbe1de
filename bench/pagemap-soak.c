/* pagemap-soak.c -- a bounded soak run: N client processes doing a random
 * mix of real work against one daemon for T minutes, some of them killed
 * with SIGKILL and started again, while the daemon's open fds and resident
 * memory are sampled every second; then, once every client is gone and the
 * daemon is quiet, a verdict: the fds back to where they started, the
 * memory's drift under a bound, no unexpected error, no canary mismatch. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "client.h"
#include "daemon.h"
#include "fdcheck.h"
#include "proc.h"
#include "rng.h"
#include "soak.h"
#include "soak_report.h"
#include "tmpdir.h"

#ifndef PAGEMAPD_BIN
#define PAGEMAPD_BIN "pagemapd"
#endif

#define REGION "soak"
#define STOP_MS 60000	/* clients finishing after the stop */
#define QUIET_MS 30000	/* the daemon back to its starting counts */
#define MAX_FAILURES 10 /* clients that fail before the run stops */

struct run {
	struct soak_opts opt;
	struct bench_opts bo;
	struct rig rig;	    /* our own daemon (unless --socket) */
	struct pagemap *pm; /* our connection: the rig's, or our own */
	pid_t daemon;
	struct soak_shared *sh;
	struct soak_client cl[SOAK_MAX_CLIENTS];
	pid_t pid[SOAK_MAX_CLIENTS];
	struct pagemap_status start; /* the daemon's counts before */
	struct soak_result res;
	struct rng rng;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: pagemap-soak [--clients N] [--minutes T | --seconds S] "
		"[--json]\n"
		"                    [--socket PATH --region NAME] "
		"[--daemon PATH] [--seed N]\n"
		"                    [--kill-every SECS] [--rss-slack KIB] "
		"[--rss-per-minute KIB]\n"
		"\n"
		"Runs N client processes (default 4) doing a random mix of "
		"work through\nlibpagemap for T minutes, SIGKILLs one now and "
		"then, samples the daemon's\nopen fds and RSS every second "
		"and reports their drift with a verdict.\n"
		"\n"
		"  --clients N         client processes (1..%d)\n"
		"  --minutes T         how long (default 1)\n"
		"  --seconds S         the same in seconds, for short runs\n"
		"  --json              one JSON object on stdout\n"
		"  --socket PATH       a running daemon (default: start our "
		"own on a\n"
		"                      temporary region); it must be ours or "
		"we root, to\n"
		"                      read its /proc\n"
		"  --region NAME       the region to work in with --socket "
		"(default: %s)\n"
		"  --daemon PATH       the pagemapd to start (default %s)\n"
		"  --seed N            the clients' random seed (default: "
		"from the time)\n"
		"  --kill-every SECS   one client SIGKILLed about every SECS "
		"(default 2;\n"
		"                      0: never)\n"
		"  --rss-slack KIB     RSS growth allowed after warm-up "
		"(default %u)\n"
		"  --rss-per-minute KIB  and per minute of the run after it "
		"(default %u)\n",
		SOAK_MAX_CLIENTS, "default", PAGEMAPD_BIN, SOAK_RSS_SLACK_KIB,
		SOAK_RSS_PER_MIN_KIB);
}

/* ---- the daemon ------------------------------------------------------ */

static int
status_of(struct run *r, struct pagemap_status *ret)
{
	struct pagemap_status *st;
	int err = pagemap_status(r->pm, &st);

	if (err) {
		say("status: %s (%s)", pagemap_strerror(err),
		    pagemap_last_message(r->pm));
		return -1;
	}
	*ret = *st;
	ret->server = NULL;
	pagemap_free(st);
	return 0;
}

/* sample -- the daemon's fds and RSS now into @fds and @rss. 0, or -1
 * when it is gone or its /proc is not ours to read. */
static int
sample(const struct run *r, int *fds, long long *rss)
{
	*fds = fd_count(r->daemon);
	*rss = proc_rss(r->daemon);
	if (*fds < 0 || *rss < 0) {
		say("cannot read /proc/%d (fds: %s)", (int)r->daemon,
		    *fds < 0 ? strerror(-*fds) : "ok");
		return -1;
	}
	return 0;
}

/* setup -- a daemon to soak (our own, or the one at --socket), our
 * connection to it and the shared memory. 0 or -1. */
static int
setup(struct run *r)
{
	struct pagemap_status st;

	r->sh = proc_shared(sizeof(*r->sh));
	if (r->sh == NULL)
		return -1;
	if (r->opt.socket) {
		int err =
			pagemap_connect(r->opt.socket, "pagemap-soak", &r->pm);

		if (err) {
			say("connect to %s: %s", r->opt.socket,
			    pagemap_strerror(err));
			r->pm = NULL;
			return -1;
		}
	} else {
		/* Region files on /dev/shm: persists are cheap there, so
		 * the run measures the daemon, not the disk. */
		uint64_t size = region_size_for(
			(uint64_t)r->opt.clients * SOAK_FILES * 2 *
					SOAK_MAX_PAGES * PAGE +
				32 * MIB,
			4096);

		r->bo.daemon = r->opt.daemon;
		r->bo.client_cpu = r->bo.server_cpu = -1;
		if (tmpdir_make(r->bo.dir, sizeof(r->bo.dir), "soak") ||
		    tmpdir_make(r->bo.tmp, sizeof(r->bo.tmp), "soak-run")) {
			say("cannot make a temporary folder");
			return -1;
		}
		if (rig_start(&r->rig, &r->bo, r->bo.dir, REGION, size, -1,
			      4096))
			return -1;
		r->pm = r->rig.pm;
		r->opt.socket = r->rig.d.socket;
		r->opt.region = REGION;
	}
	if (status_of(r, &st))
		return -1;
	r->daemon = (pid_t)st.pid;
	return 0;
}

/* ---- clients --------------------------------------------------------- */

static int
spawn(struct run *r, unsigned i)
{
	r->pid[i] = proc_spawn(soak_client_run, &r->cl[i]);
	return r->pid[i] > 0 ? 0 : -1;
}

/* reap -- collect clients that exited by themselves (a failure: they
 * only exit when told to) and start them again while the run goes on. */
static void
reap(struct run *r, bool restart)
{
	for (unsigned i = 0; i < r->opt.clients; i++) {
		int st;

		if (r->pid[i] <= 0 ||
		    waitpid(r->pid[i], &st, WNOHANG) != r->pid[i])
			continue;
		r->pid[i] = 0;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			r->res.failures++;
			say("client %u failed (status %#x): %s", i, st,
			    r->sh->slot[i].why);
		}
		if (restart && r->res.failures < MAX_FAILURES)
			spawn(r, i);
	}
}

/* kill_one -- SIGKILL a random client at whatever it was doing, and
 * start it again. */
static void
kill_one(struct run *r)
{
	unsigned i = (unsigned)rng_below(&r->rng, r->opt.clients);
	int st;

	if (r->pid[i] <= 0)
		return;
	kill(r->pid[i], SIGKILL);
	while (waitpid(r->pid[i], &st, 0) < 0 && errno == EINTR)
		;
	r->res.kills++;
	if (!(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) &&
	    (!WIFEXITED(st) || WEXITSTATUS(st) != 0)) {
		r->res.failures++;
		say("client %u failed (status %#x): %s", i, st,
		    r->sh->slot[i].why);
	}
	spawn(r, i);
}

/* stop_clients -- tell every client to finish and wait for it. */
static void
stop_clients(struct run *r)
{
	long long end = now_ms() + STOP_MS;

	__atomic_store_n(&r->sh->stop, 1, __ATOMIC_RELEASE);
	for (;;) {
		bool left = false;

		reap(r, false);
		for (unsigned i = 0; i < r->opt.clients; i++)
			left |= r->pid[i] > 0;
		if (!left)
			return;
		if (now_ms() > end)
			break;
		poll(NULL, 0, 10);
	}
	for (unsigned i = 0; i < r->opt.clients; i++) {
		if (r->pid[i] <= 0)
			continue;
		say("client %u did not stop in %d s: killed", i,
		    STOP_MS / 1000);
		kill(r->pid[i], SIGKILL);
		waitpid(r->pid[i], NULL, 0);
		r->pid[i] = 0;
		r->res.failures++;
	}
}

/* remove_files -- every file of this run that is left. 0 or -1. */
static int
remove_files(struct run *r)
{
	struct pagemap_file_info **fl;
	size_t n, plen = strlen(r->cl[0].prefix);
	int err = pagemap_file_list(r->pm, r->opt.region, &fl, &n);

	if (err) {
		say("file ls: %s", pagemap_strerror(err));
		return -1;
	}
	for (size_t i = 0; i < n && err == 0; i++)
		if (strncmp(fl[i]->name, r->cl[0].prefix, plen) == 0)
			err = pagemap_file_remove(r->pm, r->opt.region,
						  fl[i]->name);
	pagemap_free(fl);
	if (err)
		say("file rm: %s", pagemap_strerror(err));
	return err ? -1 : 0;
}

/* quiet -- wait until the daemon holds what it held before the run:
 * clients, leases, grants, pending operations, then fds. 0 or -1. */
static int
quiet(struct run *r)
{
	long long end = now_ms() + QUIET_MS;
	struct pagemap_status st;
	int fds;
	long long rss;

	for (;;) {
		if (status_of(r, &st))
			return -1;
		if (st.clients == r->start.clients &&
		    st.leases == r->start.leases &&
		    st.grants == r->start.grants &&
		    st.pending_ops == r->start.pending_ops)
			break;
		if (now_ms() > end) {
			say("the daemon is not quiet after %d s: %u clients, "
			    "%" PRIu64 " leases, %" PRIu64 " grants, %u "
			    "pending",
			    QUIET_MS / 1000, st.clients, st.leases, st.grants,
			    st.pending_ops);
			r->res.not_quiet = true;
			break;
		}
		poll(NULL, 0, 20);
	}
	/* The daemon closes a gone client's pidfd when its loop sees it:
	 * give it a moment, bounded, to come back to the baseline. */
	end = now_ms() + 5000;
	while (sample(r, &fds, &rss) == 0 && fds != r->res.fd_start &&
	       now_ms() < end)
		poll(NULL, 0, 20);
	return 0;
}

/* region_files -- the files and orphans of our region now, or -1. */
static long long
region_files(struct run *r)
{
	struct pagemap_region_info *ri;
	long long n;

	if (pagemap_region_info(r->pm, r->opt.region, &ri))
		return -1;
	n = (long long)ri->files + ri->orphans;
	pagemap_free(ri);
	return n;
}

/* ---- the run --------------------------------------------------------- */

static void
note_sample(struct run *r, int fds, long long rss)
{
	if (rss > r->res.rss_max)
		r->res.rss_max = rss;
	if (fds > r->res.fd_max)
		r->res.fd_max = fds;
	r->res.samples++;
}

/* soak -- the clients' run with a sample a second. 0 or -1. */
static int
soak(struct run *r)
{
	long long t0 = now_ms(), end = t0 + r->opt.seconds * 1000LL;
	long long warm = t0 + r->res.warmup_s * 1000LL, next = t0 + 1000;
	long long kill_at = LLONG_MAX;
	bool warmed = false;

	if (r->opt.kill_every > 0)
		kill_at = t0 + (long long)rng_range(
				       &r->rng, 0, 2000ull * r->opt.kill_every);
	for (unsigned i = 0; i < r->opt.clients; i++)
		if (spawn(r, i))
			return -1;
	while (now_ms() < end && r->res.failures < MAX_FAILURES) {
		long long now = now_ms(),
			  wake = next < kill_at ? next : kill_at;
		int fds;
		long long rss;

		if (wake > now)
			poll(NULL, 0, (int)(wake - now));
		reap(r, true);
		now = now_ms();
		if (now >= kill_at) {
			kill_one(r);
			kill_at = now + (long long)rng_range(
						&r->rng, 1,
						2000ull * r->opt.kill_every);
		}
		if (now < next)
			continue;
		next += 1000;
		if (sample(r, &fds, &rss))
			return -1;
		note_sample(r, fds, rss);
		if (!warmed && now >= warm) {
			r->res.fd_warm = fds;
			r->res.rss_warm = rss;
			r->res.t_warm_ms = now - t0;
			warmed = true;
		}
	}
	if (!warmed) { /* stopped early: the last sample stands in */
		sample(r, &r->res.fd_warm, &r->res.rss_warm);
		r->res.t_warm_ms = now_ms() - t0;
	}
	r->res.t_run_ms = now_ms() - t0;
	return 0;
}

static int
parse(struct run *r, int argc, char **argv)
{
	static const struct option opts[] = {
		{"clients", required_argument, NULL, 'n'},
		{"minutes", required_argument, NULL, 'm'},
		{"seconds", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"socket", required_argument, NULL, 'S'},
		{"region", required_argument, NULL, 'r'},
		{"daemon", required_argument, NULL, 'd'},
		{"seed", required_argument, NULL, 'e'},
		{"kill-every", required_argument, NULL, 'k'},
		{"rss-slack", required_argument, NULL, 'R'},
		{"rss-per-minute", required_argument, NULL, 'P'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct soak_opts *o = &r->opt;
	int opt;

	*o = (struct soak_opts){.clients = 4,
				.seconds = 60,
				.daemon = PAGEMAPD_BIN,
				.seed = (uint64_t)time(NULL),
				.kill_every = 2,
				.rss_slack_kib = SOAK_RSS_SLACK_KIB,
				.rss_per_min_kib = SOAK_RSS_PER_MIN_KIB};
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			o->clients = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'm':
			o->seconds = (unsigned)(strtod(optarg, NULL) * 60);
			break;
		case 's':
			o->seconds = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'j':
			o->json = true;
			break;
		case 'S':
			o->socket = optarg;
			break;
		case 'r':
			o->region = optarg;
			break;
		case 'd':
			o->daemon = optarg;
			break;
		case 'e':
			o->seed = strtoull(optarg, NULL, 0);
			break;
		case 'k':
			o->kill_every = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'R':
			o->rss_slack_kib = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'P':
			o->rss_per_min_kib = (unsigned)strtoul(optarg, NULL, 0);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc || o->clients < 1 || o->clients > SOAK_MAX_CLIENTS ||
	    o->seconds < 1) {
		usage(stderr);
		return -1;
	}
	if (o->region == NULL)
		o->region = o->socket ? "default" : REGION;
	return 0;
}

int
main(int argc, char **argv)
{
	struct run r = {0};
	long long files0;
	int rc = 1;

	if (parse(&r, argc, argv))
		return 2;
	r.res.warmup_s = r.opt.seconds / 10;
	if (r.res.warmup_s < 2)
		r.res.warmup_s = r.opt.seconds < 4 ? 1 : 2;
	if (r.res.warmup_s > 60)
		r.res.warmup_s = 60;
	rng_init(&r.rng, r.opt.seed);
	say("%u clients, %u s (warm-up %u s), seed %#" PRIx64, r.opt.clients,
	    r.opt.seconds, r.res.warmup_s, r.opt.seed);
	if (setup(&r) || status_of(&r, &r.start) ||
	    sample(&r, &r.res.fd_start, &r.res.rss_start) ||
	    (files0 = region_files(&r)) < 0)
		goto out;
	r.res.fd_max = r.res.fd_start;
	r.res.rss_max = r.res.rss_start;
	for (unsigned i = 0; i < r.opt.clients; i++) {
		struct soak_client *c = &r.cl[i];

		c->socket = r.opt.socket;
		c->region = r.opt.region;
		snprintf(c->prefix, sizeof(c->prefix), "soak.%d.",
			 (int)getpid());
		c->index = i;
		c->seed = r.opt.seed;
		c->sh = r.sh;
	}
	if (soak(&r))
		r.res.failures++;
	stop_clients(&r);
	if (remove_files(&r) || quiet(&r) ||
	    sample(&r, &r.res.fd_end, &r.res.rss_end))
		goto out;
	note_sample(&r, r.res.fd_end, r.res.rss_end);
	r.res.files_left = region_files(&r) - files0;
	soak_result_tally(&r.res, r.sh, r.opt.clients);
	rc = soak_report(&r.opt, &r.res) ? 1 : 0;
out:
	if (r.rig.d.pid) {
		if (rig_stop(&r.rig, false)) {
			say("the daemon did not stop cleanly");
			rc = 1;
		}
		tmpdir_remove(r.bo.dir);
		tmpdir_remove(r.bo.tmp);
	} else {
		pagemap_close(r.pm);
	}
	proc_unshare(r.sh, sizeof(*r.sh));
	return rc;
}

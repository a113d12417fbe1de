/* fig_cache_revoke.c -- cached_revoke_rtt_ratio: an administrator revokes
 * a lease holding 1 GiB of cached 2 MiB grants (mapped once and unmapped
 * by their holder) while the holder's process is stopped with SIGSTOP;
 * the time to the revoke's reply against a raw ping-pong. A stopped
 * holder cannot answer a recall, so a revoke that completes proves the
 * daemon took the grants back alone; the holder also counts every recall
 * it is sent, which must stay 0. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "baseline.h"
#include "bench.h"
#include "client.h"
#include "daemon.h"
#include "holder.h"
#include "proc.h"

#define GRANT_LEN (2 * MIB)
#define WAIT_MS 120000	    /* a holder's maps of 1 GiB, the first filling */
#define REVOKE_MS 10000	    /* a revoke that waits for the stopped holder */
#define PINGS_PER_BLOCK 200 /* ping-pongs per block of the baseline */

struct holder {
	const char *socket;
	unsigned grants;       /* 2 MiB grants per lease */
	struct holder_pipes p; /* cmd: 'n', take the next lease */
	uint64_t *recalls;     /* shared: recalls the holder was sent */
};

/* on_recall -- count: a cached grant is taken back without one. */
static void
on_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t lease_id,
	  uint64_t offset, uint64_t length, enum pagemap_recall_reason reason,
	  void *arg)
{
	struct holder *h = arg;

	(void)pm;
	(void)l;
	(void)lease_id;
	(void)offset;
	(void)length;
	(void)reason;
	__atomic_add_fetch(h->recalls, 1, __ATOMIC_RELAXED);
}

/* fill -- take a lease and map then unmap each 2 MiB of the file, which
 * leaves (with cached grants) every grant cached under the lease; tell
 * the parent the lease id. 0, 1 when the parent is done (it closed the
 * pipe), or -1. */
static int
fill(struct holder *h, struct pagemap *pm, struct pagemap_lease **ret)
{
	struct pagemap_lease *l;

	if (client_lease(pm, "crevoke", "h", PAGEMAP_READ, &l))
		return -1;
	for (unsigned i = 0; i < h->grants; i++) {
		struct pagemap_mapping *m;
		int err = pagemap_map(l, (uint64_t)i * GRANT_LEN, GRANT_LEN,
				      PAGEMAP_READ, &m);

		if (!err)
			err = pagemap_unmap(m);
		if (err) {
			say("holder: map/unmap 2 MiB at %u: %s", i,
			    pagemap_strerror(err));
			pagemap_lease_release(l);
			return -1;
		}
	}
	*ret = l;
	return holder_send_id(&h->p, l);
}

static int
holder_main(void *arg)
{
	struct holder *h = arg;
	struct pagemap_lease *l = NULL;
	struct pagemap *pm;
	int rc = 1;

	if (holder_connect(&h->p, h->socket, "cached-revoke-holder", on_recall,
			   h, &pm))
		return 1;
	for (;;) {
		char c = 0;
		ssize_t n = 0;
		int filled = fill(h, pm, &l);

		if (filled) {
			rc = filled > 0 ? 0 : 1;
			goto out;
		}
		/* Stopped and continued by the parent around the revoke;
		 * any recall it was sent is read (and counted) here. */
		while (n == 0) {
			struct pollfd p[2] = {
				{.fd = pagemap_get_fd(pm), .events = POLLIN},
				{.fd = h->p.cmd[0], .events = POLLIN},
			};

			if (poll(p, 2, -1) < 0 && errno != EINTR)
				goto out;
			if (p[0].revents && pagemap_dispatch(pm) < 0) {
				say("holder: dispatch failed");
				goto out;
			}
			if (p[1].revents) {
				n = read(h->p.cmd[0], &c, 1);
				if (n < 0 && errno == EINTR)
					n = 0;
				else if (n <= 0)
					n = -1;
			}
		}
		if (n < 0) {
			rc = 0; /* done: clean up what is held */
			goto out;
		}
		/* The daemon ended the lease. */
		if (holder_release(&l))
			goto out;
	}
out:
	if (l)
		pagemap_lease_release(l);
	pagemap_dispatch(pm);
	pagemap_close(pm);
	return rc;
}

/* stop_holder -- SIGSTOP @pid and wait until it is stopped. 0 or -1. */
static int
stop_holder(pid_t pid)
{
	int st;

	if (kill(pid, SIGSTOP)) {
		say("SIGSTOP holder: %s", strerror(errno));
		return -1;
	}
	while (waitpid(pid, &st, WUNTRACED) < 0)
		if (errno != EINTR) {
			say("waitpid holder: %s", strerror(errno));
			return -1;
		}
	if (!WIFSTOPPED(st)) {
		say("the cached-revoke holder exited");
		return -1;
	}
	return 0;
}

struct run {
	struct pagemap *pm;
	pid_t holder;
	int ids, cmd;
	uint64_t min_cached; /* the fewest grants a revoked lease held */
};

/* revoke_run -- @n times: take the holder's next lease id, stop the
 * holder, revoke the lease (timed into @s, NULL: untimed), continue the
 * holder and let it take its next lease. 0 or -1. */
static int
revoke_run(struct run *r, size_t n, struct samples *s)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t id, t0, t1, cached;
		int err;

		if (holder_next_id(r->ids, WAIT_MS, "cached-revoke", &id))
			return -1;
		if (stop_holder(r->holder) ||
		    client_lease_grants(r->pm, "crevoke", "h", id, &cached))
			return -1;
		if (cached < r->min_cached)
			r->min_cached = cached;
		t0 = now_ns();
		err = pagemap_lease_revoke(r->pm, id, REVOKE_MS);
		t1 = now_ns();
		kill(r->holder, SIGCONT);
		if (err) {
			say("revoke lease %" PRIu64
			    " (holder stopped): %s (%s)",
			    id, pagemap_strerror(err),
			    pagemap_last_message(r->pm));
			return -1;
		}
		if (write(r->cmd, "n", 1) != 1)
			return -1;
		if (s && samples_add(s, (double)(t1 - t0)))
			return -1;
	}
	return 0;
}

int
fig_cached_revoke(const struct bench_opts *o, struct figure *tab)
{
	struct figure *f = &tab[FIG_CACHED_REVOKE];
	size_t iters = o->quick ? 20 : 100, warm = o->quick ? 2 : 5;
	unsigned grants = o->quick ? 32 : 512; /* 1 GiB of 2 MiB */
	uint64_t size = (uint64_t)grants * GRANT_LEN;
	struct holder h = {.p = HOLDER_PIPES_INIT, .grants = grants};
	struct pingpong pp = {.pid = 0, .fd = -1};
	struct run run = {.holder = -1, .min_cached = UINT64_MAX};
	struct samples rv = {0}, p = {0};
	struct rig r;
	int rc = -1;

	h.recalls = proc_shared(sizeof(*h.recalls));
	if (h.recalls == NULL)
		return -1;
	/* A sparse region file: only what is granted is ever written. */
	if (rig_start(&r, o, o->dir, "crevoke",
		      region_size_for(size, 1024) + 64 * MIB, -1, 0)) {
		proc_unshare(h.recalls, sizeof(*h.recalls));
		return -1;
	}
	if (client_create(r.pm, "crevoke", "h", size) ||
	    samples_init(&rv, iters) ||
	    samples_init(&p, PINGS_PER_BLOCK * BLOCKS))
		goto out;
	/* Children must not inherit our connection. */
	pagemap_close(r.pm);
	r.pm = NULL;
	if (pingpong_open(&pp, o->server_cpu))
		goto out;
	h.socket = r.d.socket;
	run.holder = holder_spawn(&h.p, holder_main, &h);
	if (run.holder < 0)
		goto out;
	run.ids = h.p.ids[0];
	run.cmd = h.p.cmd[1];
	if (daemon_connect(&r.d, "pagemap-bench", &r.pm))
		goto out;
	run.pm = r.pm;
	if (revoke_run(&run, warm, NULL) || pingpong_run(&pp, 20, NULL))
		goto out;
	for (int b = 0; b < BLOCKS; b++)
		if (revoke_run(&run, iters / BLOCKS, &rv) ||
		    pingpong_run(&pp, PINGS_PER_BLOCK, &p))
			goto out;
	note(o,
	     "cached_revoke: each revoked lease held at least %" PRIu64
	     " of %u grants; the holder was sent %" PRIu64 " recalls",
	     run.min_cached, grants, *h.recalls);
	if (run.min_cached < grants)
		snprintf(f->invalid, sizeof(f->invalid),
			 "a revoked lease held only %" PRIu64 " of %u grants: "
			 "its holder's unmaps returned them (nothing cached)",
			 run.min_cached, grants);
	f->value = samples_median(&rv) / samples_median(&p);
	figure_times(f, &rv, &p);
	f->done = true;
	rc = 0;
out:
	holder_pipes_close(&h.p);
	if (run.holder > 0) {
		kill(run.holder, SIGCONT);
		if (proc_wait(run.holder, "cached-revoke holder"))
			rc = -1;
	}
	/* Read after the holder exited: it counts until then. */
	if (rc == 0 && *h.recalls)
		snprintf(f->invalid, sizeof(f->invalid),
			 "the stopped holder was sent %" PRIu64 " recalls",
			 *h.recalls);
	proc_unshare(h.recalls, sizeof(*h.recalls));
	pingpong_close(&pp);
	samples_fini(&rv);
	samples_fini(&p);
	if (rig_stop(&r, false))
		rc = -1;
	return rc;
}

/* fig_revoke.c -- revoke_rtt_ratio: an administrator revokes a lease
 * whose holder returns its grant at once, from the recall handler of its
 * dispatch loop; the time to the revoke's reply against a raw ping-pong.
 * The holder then takes a new lease and maps again, untimed. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "baseline.h"
#include "bench.h"
#include "client.h"
#include "daemon.h"
#include "holder.h"
#include "proc.h"

#define WAIT_MS 30000

struct holder {
	const char *socket;
	struct holder_pipes p;	   /* cmd: only its end-of-file, stop */
	struct pagemap_mapping *m; /* the mapping the next recall ends */
	int err;
};

/* on_recall -- return at once: unmap, which hands the grant back. */
static void
on_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t lease_id,
	  uint64_t offset, uint64_t length, enum pagemap_recall_reason reason,
	  void *arg)
{
	struct holder *h = arg;
	int err;

	(void)pm;
	(void)l;
	(void)lease_id;
	(void)offset;
	(void)length;
	(void)reason;
	if (h->m == NULL)
		return;
	/* A recall handler has no use for the daemon's answer: the next
	 * call on the connection reads it. */
	err = pagemap_unmap_nowait(h->m);
	h->m = NULL;
	if (err && !h->err)
		h->err = err;
}

/* hold -- take a lease on revoke/h, map its first page and tell the
 * parent the lease id. */
static int
hold(struct holder *h, struct pagemap *pm, struct pagemap_lease **ret)
{
	struct pagemap_lease *l;
	int err;

	if (client_lease(pm, "revoke", "h", PAGEMAP_READ, &l))
		return -1;
	err = pagemap_map(l, 0, PAGE, PAGEMAP_READ, &h->m);
	if (err) {
		say("holder: map: %s", pagemap_strerror(err));
		pagemap_lease_release(l);
		return -1;
	}
	*ret = l;
	/* 1: the parent is done and closed its end (EPIPE): stop. */
	return holder_send_id(&h->p, l);
}

static int
holder_main(void *arg)
{
	struct holder *h = arg;
	struct pagemap *pm;
	struct pagemap_lease *l = NULL;
	int rc = 1;

	if (holder_connect(&h->p, h->socket, "revoke-holder", on_recall, h,
			   &pm))
		return 1;
	for (;;) {
		int err;

		err = hold(h, pm, &l);
		if (err) {
			rc = err > 0 ? 0 : 1;
			goto out;
		}
		while (h->m) {
			struct pollfd p[2] = {
				{.fd = pagemap_get_fd(pm), .events = POLLIN},
				{.fd = h->p.cmd[0], .events = POLLIN},
			};

			if (poll(p, 2, -1) < 0 && errno != EINTR)
				goto out;
			if (p[1].revents) {
				rc = 0; /* done: clean up what is held */
				goto out;
			}
			if (p[0].revents && pagemap_dispatch(pm) < 0) {
				say("holder: dispatch failed");
				goto out;
			}
		}
		if (h->err) {
			say("holder: unmap: %s", pagemap_strerror(h->err));
			goto out;
		}
		/* The daemon ended the lease at our return. */
		if (holder_release(&l))
			goto out;
	}
out:
	if (h->m)
		pagemap_unmap(h->m);
	if (l)
		pagemap_lease_release(l);
	pagemap_close(pm);
	return rc;
}

/* revoke_run -- @n times: take the holder's next lease id and revoke it,
 * timed into @s (NULL: untimed). */
static int
revoke_run(struct pagemap *pm, int ids, size_t n, struct samples *s)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t id, t0, t1;
		int err;

		if (holder_next_id(ids, WAIT_MS, "revoke", &id))
			return -1;
		t0 = now_ns();
		err = pagemap_lease_revoke(pm, id, -1);
		t1 = now_ns();
		if (err) {
			say("revoke lease %llu: %s (%s)",
			    (unsigned long long)id, pagemap_strerror(err),
			    pagemap_last_message(pm));
			return -1;
		}
		if (s && samples_add(s, (double)(t1 - t0)))
			return -1;
	}
	return 0;
}

int
fig_revoke_rtt(const struct bench_opts *o, struct figure *tab)
{
	struct figure *f = &tab[FIG_REVOKE_RTT];
	size_t iters = o->quick ? 200 : 5000, warm = o->quick ? 20 : 300;
	struct holder h = {.p = HOLDER_PIPES_INIT};
	struct pingpong pp = {.pid = 0, .fd = -1};
	struct samples rv = {0}, p = {0};
	pid_t holder = -1;
	struct rig r;
	int rc = -1;

	if (rig_start(&r, o, o->dir, "revoke", 64 * MIB, -1, 0))
		return -1;
	if (client_create(r.pm, "revoke", "h", 2 * MIB) ||
	    samples_init(&rv, iters) || samples_init(&p, iters))
		goto out;
	/* Children must not inherit our connection. */
	pagemap_close(r.pm);
	r.pm = NULL;
	/* The echo process first: whatever forks later inherits its end,
	 * but it must not inherit the holder's stop pipe. */
	if (pingpong_open(&pp, o->server_cpu))
		goto out;
	h.socket = r.d.socket;
	holder = holder_spawn(&h.p, holder_main, &h);
	if (holder < 0)
		goto out;
	if (daemon_connect(&r.d, "pagemap-bench", &r.pm))
		goto out;
	if (revoke_run(r.pm, h.p.ids[0], warm, NULL) ||
	    pingpong_run(&pp, warm, NULL))
		goto out;
	for (int b = 0; b < BLOCKS; b++)
		if (revoke_run(r.pm, h.p.ids[0], iters / BLOCKS, &rv) ||
		    pingpong_run(&pp, iters / BLOCKS, &p))
			goto out;
	f->value = samples_median(&rv) / samples_median(&p);
	figure_times(f, &rv, &p);
	f->done = true;
	rc = 0;
out:
	holder_pipes_close(&h.p);
	if (holder > 0 && proc_wait(holder, "revoke holder"))
		rc = -1;
	pingpong_close(&pp);
	samples_fini(&rv);
	samples_fini(&p);
	if (rig_stop(&r, false))
		rc = -1;
	return rc;
}

/* fig_scale.c -- scale_latency_ratio and bytes_per_grant: 100 client
 * processes hold grants, 1,000 in all and then 1,000,000 in all; one more
 * client's single-folio map latency at each, and the daemon's RSS growth
 * per grant from none to 1,000,000.
 *
 * The region has max_order 0, so every 4 KiB page is one grant. Each
 * holder has its own file and lease and grants its first N pages raw
 * (pagemap_grant, no mmap: mapping a million pages would measure the
 * kernel). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "client.h"
#include "daemon.h"
#include "proc.h"

#define WAIT_MS 600000 /* a million grants on a slow daemon */

struct holder {
	const char *socket;
	unsigned me;
	int cmd;	 /* read end: target grant counts, EOF to stop */
	int *parent_fds; /* write ends of the command pipes made so far */
	unsigned nparent;
	struct gate *gate;
};

static int
holder_main(void *arg)
{
	struct holder *h = arg;
	struct pagemap *pm = NULL;
	struct pagemap_lease *l = NULL;
	struct pagemap_folio *buf = NULL;
	uint64_t held = 0;
	size_t max;
	char name[16];
	int rc = 1;

	/* Command pipes of other holders: a copy here would hide the EOF
	 * that stops them. */
	for (unsigned i = 0; i < h->nparent; i++)
		close(h->parent_fds[i]);
	snprintf(name, sizeof(name), "s%03u", h->me);
	if (pagemap_connect(h->socket, name, &pm))
		goto out;
	max = pagemap_get_limits(pm)->max_folios_per_reply;
	if (max == 0)
		max = 8192;
	buf = calloc(max, sizeof(*buf));
	if (buf == NULL || client_lease(pm, "scale", name, PAGEMAP_READ, &l))
		goto out;
	if (gate_child_ack(h->gate))
		goto out;
	for (;;) {
		uint64_t target, n;
		ssize_t got = read(h->cmd, &target, sizeof(target));

		if (got == 0)
			break; /* our grants go with the process */
		if (got != (ssize_t)sizeof(target))
			goto out;
		if (target > held &&
		    client_grant_range(l, held * PAGE, (target - held) * PAGE,
				       buf, max, &n, NULL))
			goto out;
		held = target;
		if (gate_child_ack(h->gate))
			goto out;
	}
	rc = 0;
out:
	free(buf);
	/* Exit without returning: the daemon drops a dead process's
	 * grants, and a million Unmap replies are not what we measure. */
	(void)l;
	pagemap_close(pm);
	return rc;
}

/* hold_all -- every holder to @target grants; wait until they are. */
static int
hold_all(int *cmd, unsigned n, struct gate *g, uint64_t target)
{
	for (unsigned i = 0; i < n; i++)
		if (write(cmd[i], &target, sizeof(target)) !=
		    (ssize_t)sizeof(target)) {
			say("holder %u: %s", i, strerror(errno));
			return -1;
		}
	return gate_wait_ready(g, n, WAIT_MS);
}

/* latency -- @warm untimed, then @n timed single-folio grants of @l, each
 * returned untimed. */
static int
latency(struct pagemap_lease *l, size_t warm, size_t n, struct samples *s)
{
	for (size_t i = 0; i < warm + n; i++) {
		struct pagemap_folio f;
		uint64_t t0 = now_ns(), t1, next;
		size_t got;
		int err = pagemap_grant(l, 0, PAGE, PAGEMAP_READ, &f, 1, &got,
					&next);

		t1 = now_ns();
		if (err) {
			say("grant: %s", pagemap_strerror(err));
			return -1;
		}
		if (i >= warm && samples_add(s, (double)(t1 - t0)))
			return -1;
		if ((err = pagemap_return(l, 0, PAGE, NULL))) {
			say("return: %s", pagemap_strerror(err));
			return -1;
		}
	}
	return 0;
}

int
fig_scale(const struct bench_opts *o, struct figure *tab)
{
	struct figure *lat = &tab[FIG_SCALE_LATENCY];
	struct figure *mem = &tab[FIG_BYTES_PER_GRANT];
	unsigned nh = o->quick ? 10 : 100;
	uint64_t few = 10, many = o->quick ? 1000 : 10000;
	size_t iters = o->quick ? 300 : 10000, warm = o->quick ? 50 : 1000;
	struct samples a = {0}, b = {0};
	struct pagemap_lease *l = NULL;
	int *cmd = calloc(nh, sizeof(int));
	pid_t *pid = calloc(nh, sizeof(pid_t));
	unsigned spawned = 0;
	long long rss0, rss1;
	struct gate g;
	struct rig r;
	int rc = -1;

	if (cmd == NULL || pid == NULL || gate_init(&g)) {
		free(cmd);
		free(pid);
		return -1;
	}
	if (rig_start(&r, o, o->dir, "scale",
		      region_size_for(nh * many * PAGE + MIB, nh + 16), 0,
		      nh + 16)) {
		gate_fini(&g);
		free(cmd);
		free(pid);
		return -1;
	}
	if (client_create_n(r.pm, "scale", "s%03u", nh, many * PAGE) ||
	    client_create(r.pm, "scale", "x", MIB) || samples_init(&a, iters) ||
	    samples_init(&b, iters))
		goto out;
	/* Holders must not inherit our connection. */
	pagemap_close(r.pm);
	r.pm = NULL;
	for (; spawned < nh; spawned++) {
		int p[2];
		struct holder h = {r.d.socket, spawned,	    -1,
				   cmd,	       spawned + 1, &g};

		if (pipe2(p, O_CLOEXEC)) {
			say("pipe: %s", strerror(errno));
			goto out;
		}
		cmd[spawned] = p[1];
		h.cmd = p[0];
		pid[spawned] = proc_spawn(holder_main, &h);
		close(p[0]);
		if (pid[spawned] < 0) {
			close(p[1]);
			goto out;
		}
	}
	if (gate_wait_ready(&g, nh, WAIT_MS) ||
	    daemon_connect(&r.d, "pagemap-bench", &r.pm) ||
	    client_lease(r.pm, "scale", "x", PAGEMAP_READ, &l))
		goto out;
	rss0 = daemon_rss(&r.d);
	if (hold_all(cmd, nh, &g, few) || latency(l, warm, iters, &a))
		goto out;
	note(o, "scale: %llu grants held, map median %.0f ns",
	     (unsigned long long)(nh * few), samples_median(&a));
	if (hold_all(cmd, nh, &g, many))
		goto out;
	rss1 = daemon_rss(&r.d);
	if (latency(l, warm, iters, &b))
		goto out;
	note(o,
	     "scale: %llu grants held, map median %.0f ns; daemon RSS "
	     "%lld -> %lld bytes",
	     (unsigned long long)(nh * many), samples_median(&b), rss0, rss1);
	lat->value = samples_median(&b) / samples_median(&a);
	fmt_time(lat->median, sizeof(lat->median), samples_median(&b));
	fmt_time(lat->p99, sizeof(lat->p99), samples_quantile(&b, 0.99));
	fmt_time(lat->baseline, sizeof(lat->baseline), samples_median(&a));
	lat->done = true;
	if (rss0 > 0 && rss1 > 0) {
		mem->value = (double)(rss1 - rss0) / (double)(nh * many);
		fmt_bytes(mem->median, sizeof(mem->median),
			  (double)(rss1 - rss0));
		fmt_bytes(mem->baseline, sizeof(mem->baseline), (double)rss0);
		mem->done = true;
		rc = 0;
	} else {
		say("cannot read the daemon's VmRSS");
	}
out:
	if (l)
		pagemap_lease_release(l);
	for (unsigned i = 0; i < spawned; i++)
		close(cmd[i]);
	for (unsigned i = 0; i < spawned; i++)
		if (pid[i] > 0 && proc_wait(pid[i], "scale holder"))
			rc = -1;
	samples_fini(&a);
	samples_fini(&b);
	gate_fini(&g);
	free(cmd);
	free(pid);
	if (rig_stop(&r, false))
		rc = -1;
	return rc;
}

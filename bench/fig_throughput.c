/* fig_throughput.c -- throughput_ratio: 8 client processes, each with its
 * own connection and lease, pipelining Map and Unmap requests, against 8
 * processes pipelining 64-byte packets to a raw echo server.
 *
 * libpagemap is synchronous (one request in flight per connection), so
 * these clients speak the protocol directly (tests/lib/rawclient.c, the
 * raw client the tests use too) through the same
 * pipelined loop as the echo clients (pipeline_run): PIPELINE_WINDOW
 * requests in flight, alternating Map of one 4 KiB page and Unmap of that
 * page. An op is one request answered, in both. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "baseline.h"
#include "bench.h"
#include "client.h"
#include "daemon.h"
#include "proc.h"
#include "rawclient.h"

#define FILE_PAGES 512 /* each client cycles over a 2 MiB file */
#define LEASE_ID 2     /* after Hello (1) */
#define FIRST_ID 3     /* of the pipelined requests */

struct tclient {
	const char *socket;
	unsigned me;
	struct gate *gate;
	uint64_t warm_ns, run_ns;
	uint64_t *ops; /* shared: this client's count */
	uint64_t lease;
};

static ssize_t
tmake(void *ctx, uint64_t k, uint8_t *buf, size_t cap)
{
	struct tclient *c = ctx;
	uint64_t off = (k / 2 % FILE_PAGES) * PAGE;
	Pagemap__Request rq;
	Pagemap__MapRequest m;
	Pagemap__UnmapRequest u;

	if (k % 2 == 0)
		raw_req_map(&rq, &m, c->lease, off, PAGE,
			    PAGEMAP__ACCESS__ACCESS_READ);
	else
		raw_req_unmap(&rq, &u, c->lease, off, PAGE);
	rq.id = FIRST_ID + k;
	return raw_pack(&rq, buf, cap);
}

static int
tcheck(void *ctx, uint64_t k, const uint8_t *buf, size_t len)
{
	char why[256];

	(void)ctx;
	if (raw_check_reply(buf, len, FIRST_ID + k, why, sizeof(why)) == 0)
		return 0;
	say("%s", why);
	return -1;
}

/* tconnect -- connect, handshake and take a read lease on tput/@name (the
 * region fd that comes with it is closed: this client maps nothing); the
 * connection in *ret_fd. 0 or -1 after saying why. */
static int
tconnect(struct tclient *c, const char *name, int *ret_fd)
{
	Pagemap__Request rq;
	Pagemap__LeaseAcquireRequest la;
	Pagemap__ServerMessage *sm;
	char why[256];
	int fd = raw_open(c->socket, "pagemap-bench"), rc;

	if (fd < 0) {
		say("connect %s: %s", c->socket, strerror(-fd));
		return -1;
	}
	raw_req_lease(&rq, &la, "tput", name, PAGEMAP__ACCESS__ACCESS_READ);
	rq.id = LEASE_ID;
	rc = raw_send_request(fd, &rq);
	if (rc == 0)
		rc = raw_recv(fd, -1, NULL, &sm);
	if (rc < 0) {
		say("lease: %s", strerror(-rc));
		close(fd);
		return -1;
	}
	why[0] = '\0';
	if (raw_reply_error(sm, LEASE_ID, why, sizeof(why)) == 0) {
		if (sm->response->body_case !=
		    PAGEMAP__RESPONSE__BODY_LEASE_ACQUIRE)
			snprintf(why, sizeof(why),
				 "lease: a reply of the wrong kind");
		else
			c->lease = sm->response->lease_acquire->lease_id;
	}
	pagemap__server_message__free_unpacked(sm, NULL);
	if (why[0]) {
		say("%s", why);
		close(fd);
		return -1;
	}
	*ret_fd = fd;
	return 0;
}

static int
tclient_main(void *arg)
{
	struct tclient *c = arg;
	struct pipeline p = {.window = PIPELINE_WINDOW,
			     .make = tmake,
			     .check = tcheck,
			     .ctx = c};
	char name[16];
	int rc;

	snprintf(name, sizeof(name), "t%u", c->me);
	if (tconnect(c, name, &p.fd))
		return 1;
	rc = gate_child_ready(c->gate) ||
	     pipeline_run(&p, c->warm_ns, c->run_ns, c->ops);
	close(p.fd);
	return rc;
}

/* daemon_round -- one round of the daemon's clients; ops/s in *ret. */
static int
daemon_round(struct rig *r, uint64_t warm_ns, uint64_t run_ns, double *ret)
{
	pid_t pid[PIPELINE_CLIENTS];
	uint64_t *ops, total = 0;
	unsigned spawned = 0;
	struct gate g;
	int rc = -1;

	ops = proc_shared(PIPELINE_CLIENTS * sizeof(*ops));
	if (ops == NULL)
		return -1;
	if (gate_init(&g)) {
		proc_unshare(ops, PIPELINE_CLIENTS * sizeof(*ops));
		return -1;
	}
	for (; spawned < PIPELINE_CLIENTS; spawned++) {
		struct tclient c = {r->d.socket, spawned,	&g, warm_ns,
				    run_ns,	 &ops[spawned], 0};

		pid[spawned] = proc_spawn(tclient_main, &c);
		if (pid[spawned] < 0)
			break;
	}
	if (spawned == PIPELINE_CLIENTS &&
	    gate_wait_ready(&g, PIPELINE_CLIENTS, 30000) == 0)
		rc = 0;
	gate_open(&g);
	for (unsigned i = 0; i < spawned; i++)
		if (proc_wait(pid[i], "throughput client"))
			rc = -1;
	for (unsigned i = 0; i < PIPELINE_CLIENTS; i++)
		total += ops[i];
	if (rc == 0)
		*ret = (double)total / ((double)run_ns / 1e9);
	gate_fini(&g);
	proc_unshare(ops, PIPELINE_CLIENTS * sizeof(*ops));
	return rc;
}

int
fig_throughput(const struct bench_opts *o, struct figure *tab)
{
	struct figure *f = &tab[FIG_THROUGHPUT];
	uint64_t warm = o->quick ? 50000000ull : 500000000ull;
	uint64_t run = o->quick ? 200000000ull : 2000000000ull;
	int rounds = o->quick ? 1 : 2;
	double pm_sum = 0, raw_sum = 0;
	struct rig r;
	int rc = -1;

	if (rig_start(&r, o, o->dir, "tput", 64 * MIB, -1, 0))
		return -1;
	if (client_create_n(r.pm, "tput", "t%u", PIPELINE_CLIENTS,
			    FILE_PAGES * PAGE))
		goto out;
	/* The children must not inherit our connection. */
	pagemap_close(r.pm);
	r.pm = NULL;
	for (int i = 0; i < rounds; i++) {
		double pm_ops, raw_ops;

		if (echo_throughput(PIPELINE_CLIENTS, warm, run, o->server_cpu,
				    &raw_ops) ||
		    daemon_round(&r, warm, run, &pm_ops))
			goto out;
		note(o,
		     "throughput round %d: pagemapd %.0f ops/s, raw echo "
		     "%.0f ops/s",
		     i, pm_ops, raw_ops);
		pm_sum += pm_ops;
		raw_sum += raw_ops;
	}
	f->value = pm_sum / raw_sum;
	fmt_rate(f->median, sizeof(f->median), pm_sum / rounds);
	fmt_rate(f->baseline, sizeof(f->baseline), raw_sum / rounds);
	f->done = true;
	rc = 0;
out:
	if (rig_stop(&r, false))
		rc = -1;
	return rc;
}

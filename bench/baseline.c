/* baseline.c -- what the kernel does without pagemapd, measured in the
 * same run: a SEQPACKET ping-pong, pipelined SEQPACKET echo, and
 * open + mmap + write + munmap + close of a plain file. Also the pipelined
 * client loop that both the echo baseline and the daemon's throughput
 * figure run, so the two differ only in what is on the wire; and the
 * start of the map figures' runs (baseline file, echo process, rig). */
#include "baseline.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon.h"
#include "proc.h"

#define PING_SIZE 64
#define MAP_LEN (2 * MIB)
#define RECV_CAP 65537 /* a max_packet reply and one byte to see overrun */

/* echo_loop -- in the ping-pong child: send every packet back until the
 * other end hangs up. */
struct echo_peer {
	int sv[2];
	int cpu;
};

static int
echo_loop(void *arg)
{
	const struct echo_peer *e = arg;
	const int *sv = e->sv;
	int fd = sv[1];
	char buf[PING_SIZE * 2];

	pin_cpu(e->cpu);
	close(sv[0]); /* else our copy hides the parent's hang-up */
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
			return 0;
	}
}

int
pingpong_open(struct pingpong *p, int cpu)
{
	struct echo_peer e = {.cpu = cpu};
	int *sv = e.sv;

	p->pid = 0;
	p->fd = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		say("socketpair: %s", strerror(errno));
		return -1;
	}
	p->pid = proc_spawn(echo_loop, &e);
	close(sv[1]);
	if (p->pid < 0) {
		close(sv[0]);
		p->pid = 0;
		return -1;
	}
	p->fd = sv[0];
	return 0;
}

int
pingpong_run(struct pingpong *p, size_t n, struct samples *s)
{
	char buf[PING_SIZE];

	memset(buf, 'p', sizeof(buf));
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();

		if (send(p->fd, buf, sizeof(buf), MSG_NOSIGNAL) !=
			    (ssize_t)sizeof(buf) ||
		    recv(p->fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
			say("ping-pong: %s", strerror(errno));
			return -1;
		}
		if (s && samples_add(s, (double)(now_ns() - t0)))
			return -1;
	}
	return 0;
}

void
pingpong_close(struct pingpong *p)
{
	if (p->fd >= 0)
		close(p->fd); /* the echo process sees the hang-up */
	p->fd = -1;
	if (p->pid > 0)
		proc_wait(p->pid, "ping-pong echo process");
	p->pid = 0;
}

/* ---- pipelining --------------------------------------------------------- */

int
pipeline_run(struct pipeline *p, uint64_t warm_ns, uint64_t run_ns,
	     uint64_t *ret_ops)
{
	uint8_t *rbuf = malloc(RECV_CAP), sbuf[512];
	uint64_t sent = 0, done = 0, ops = 0, t0 = now_ns();
	uint64_t warm = t0 + warm_ns, end = warm + run_ns;
	bool stop = false;
	int rc = -1;

	if (rbuf == NULL)
		return -1;
	for (;;) {
		uint64_t batch = 0, t;
		int flags = 0;

		while (!stop && sent - done < p->window) {
			ssize_t len = p->make(p->ctx, sent, sbuf, sizeof(sbuf));

			if (len < 0)
				goto out;
			if (send(p->fd, sbuf, (size_t)len, MSG_NOSIGNAL) !=
			    len) {
				say("pipeline send: %s", strerror(errno));
				goto out;
			}
			sent++;
		}
		if (done == sent)
			break;
		/* Block for one reply, then take what else is there. */
		while (done < sent) {
			ssize_t n = recv(p->fd, rbuf, RECV_CAP, flags);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			if (n <= 0) {
				say("pipeline recv: %s",
				    n ? strerror(errno) : "connection closed");
				goto out;
			}
			if (p->check(p->ctx, done, rbuf, (size_t)n))
				goto out;
			done++;
			batch++;
			flags = MSG_DONTWAIT;
		}
		t = now_ns();
		if (t >= warm && t < end)
			ops += batch;
		if (t >= end)
			stop = true;
	}
	*ret_ops = ops;
	rc = 0;
out:
	free(rbuf);
	return rc;
}

static ssize_t
echo_make(void *ctx, uint64_t k, uint8_t *buf, size_t cap)
{
	(void)ctx;
	if (cap < PING_SIZE)
		return -1;
	memset(buf, (int)(k & 0xff), PING_SIZE);
	return PING_SIZE;
}

static int
echo_check(void *ctx, uint64_t k, const uint8_t *buf, size_t len)
{
	(void)ctx;
	if (len != PING_SIZE || buf[0] != (uint8_t)(k & 0xff)) {
		say("echo: reply %llu out of order", (unsigned long long)k);
		return -1;
	}
	return 0;
}

struct echo_server {
	int *fds;  /* the server's ends */
	int *peer; /* the clients' ends: not ours to hold */
	unsigned n;
	int cpu;
};

/* echo_serve -- the single-threaded echo server: on each wakeup drain a
 * socket until EAGAIN, sending every packet straight back; done when
 * every client has hung up. */
static int
echo_serve(void *arg)
{
	struct echo_server *es = arg;
	unsigned live = es->n;
	char buf[PING_SIZE * 2];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	pin_cpu(es->cpu);
	/* A client end held here would hide that client's hang-up. */
	for (unsigned i = 0; i < es->n; i++)
		close(es->peer[i]);
	if (ep < 0)
		return 1;
	for (unsigned i = 0; i < es->n; i++) {
		struct epoll_event ev = {.events = EPOLLIN,
					 .data.fd = es->fds[i]};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, es->fds[i], &ev))
			return 1;
	}
	while (live) {
		struct epoll_event ev[16];
		int k = epoll_wait(ep, ev, 16, -1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return 1;
		for (int i = 0; i < k; i++) {
			int fd = ev[i].data.fd;

			for (;;) {
				ssize_t n = recv(fd, buf, sizeof(buf),
						 MSG_DONTWAIT);

				if (n < 0 && errno == EINTR)
					continue;
				if (n < 0 && errno == EAGAIN)
					break;
				if (n <= 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
					close(fd);
					live--;
					break;
				}
				if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
					return 1;
			}
		}
	}
	close(ep);
	return 0;
}

struct echo_client {
	int *fds; /* every client's end */
	unsigned n, me;
	struct gate *gate;
	uint64_t warm_ns, run_ns;
	uint64_t *ops; /* shared: this client's count */
};

static int
echo_client_main(void *arg)
{
	struct echo_client *c = arg;
	struct pipeline p = {.fd = c->fds[c->me],
			     .window = PIPELINE_WINDOW,
			     .make = echo_make,
			     .check = echo_check};

	for (unsigned i = 0; i < c->n; i++)
		if (i != c->me)
			close(c->fds[i]);
	if (gate_child_ready(c->gate))
		return 1;
	return pipeline_run(&p, c->warm_ns, c->run_ns, c->ops) ? 1 : 0;
}

int
echo_throughput(unsigned clients, uint64_t warm_ns, uint64_t run_ns, int cpu,
		double *ret)
{
	int cfd[PIPELINE_CLIENTS], sfd[PIPELINE_CLIENTS];
	pid_t cpid[PIPELINE_CLIENTS], spid = -1;
	uint64_t *ops, total = 0;
	struct echo_server es = {
		.fds = sfd, .peer = cfd, .n = clients, .cpu = cpu};
	struct gate g;
	unsigned made = 0, spawned = 0;
	int rc = -1;

	if (clients > PIPELINE_CLIENTS)
		return -1;
	ops = proc_shared(clients * sizeof(*ops));
	if (ops == NULL)
		return -1;
	g.go[0] = g.go[1] = g.ready[0] = g.ready[1] = -1;
	for (; made < clients; made++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
			say("socketpair: %s", strerror(errno));
			goto out;
		}
		cfd[made] = sv[0];
		sfd[made] = sv[1];
	}
	spid = proc_spawn(echo_serve, &es);
	if (spid < 0)
		goto out;
	for (unsigned i = 0; i < clients; i++)
		close(sfd[i]);
	/* Only now: a server holding the gate's write end would keep it
	 * shut. */
	for (int ok = !gate_init(&g); ok && spawned < clients; spawned++) {
		struct echo_client c = {cfd,	 clients, spawned,	&g,
					warm_ns, run_ns,  &ops[spawned]};

		cpid[spawned] = proc_spawn(echo_client_main, &c);
		if (cpid[spawned] < 0)
			break;
	}
	/* The clients hold their own ends now: the server sees a hang-up
	 * when each client exits. */
	for (unsigned i = 0; i < clients; i++)
		close(cfd[i]);
	made = 0;
	if (spawned == clients && gate_wait_ready(&g, clients, 30000) == 0)
		rc = 0;
	gate_open(&g);
	for (unsigned i = 0; i < spawned; i++)
		if (proc_wait(cpid[i], "echo client"))
			rc = -1;
	if (proc_wait(spid, "echo server"))
		rc = -1;
	for (unsigned i = 0; i < clients; i++)
		total += ops[i];
	if (rc == 0)
		*ret = (double)total / ((double)run_ns / 1e9);
out:
	for (unsigned i = 0; i < made; i++) {
		close(cfd[i]);
		if (spid < 0)
			close(sfd[i]);
	}
	gate_fini(&g);
	proc_unshare(ops, clients * sizeof(*ops));
	return rc;
}

/* ---- the kernel's own mapping ------------------------------------------ */

int
kernel_file_make(const char *path)
{
	char *buf = calloc(1, MAP_LEN);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rc = -1;

	if (fd < 0 || buf == NULL) {
		say("create %s: %s", path, strerror(errno));
		goto out;
	}
	memset(buf, 1, MAP_LEN);
	if (pwrite(fd, buf, MAP_LEN, 0) != (ssize_t)MAP_LEN || fsync(fd)) {
		say("write %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

int
kernel_map_run(const char *path, size_t n, struct samples *s)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		volatile char *p;
		int fd = open(path, O_RDWR | O_CLOEXEC);

		if (fd < 0) {
			say("open %s: %s", path, strerror(errno));
			return -1;
		}
		p = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 0);
		if (p == MAP_FAILED) {
			say("mmap %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		for (size_t off = 0; off < MAP_LEN; off += PAGE)
			p[off] = (char)(i + off / PAGE);
		munmap((void *)p, MAP_LEN);
		close(fd);
		if (s && samples_add(s, (double)(now_ns() - t0)))
			return -1;
	}
	return 0;
}

int
kernel_mmap_run(int fd, size_t n, struct samples *s)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		volatile char *p = mmap(NULL, MAP_LEN, PROT_READ | PROT_WRITE,
					MAP_SHARED, fd, 0);

		if (p == MAP_FAILED) {
			say("mmap: %s", strerror(errno));
			return -1;
		}
		for (size_t off = 0; off < MAP_LEN; off += PAGE)
			p[off] = (char)(i + off / PAGE);
		munmap((void *)p, MAP_LEN);
		if (s && samples_add(s, (double)(now_ns() - t0)))
			return -1;
	}
	return 0;
}

/* floor_map_run -- pagemapd's map cycle with a daemon that does no work:
 * the raw echo process answers the "Map" and (with @send_unmap) the
 * "Unmap", and the client makes the same calls libpagemap makes (a
 * 64-byte round trip, mmap of the file over a kept placeholder,
 * MADV_DONTFORK, the writes, the placeholder back, with @send_unmap a
 * 64-byte send whose answer the next cycle reads). What one blocking
 * round trip per map costs at best; timed into @s. */
int
floor_map_run(struct pingpong *pp, const char *path, size_t n, bool send_unmap,
	      struct samples *s)
{
	char buf[PING_SIZE] = {0};
	int fd = open(path, O_RDWR | O_CLOEXEC), rc = -1;
	size_t unread = 0;
	char *rsv, *at;

	if (fd < 0) {
		say("open %s: %s", path, strerror(errno));
		return -1;
	}
	rsv = mmap(NULL, 2 * MAP_LEN, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (rsv == MAP_FAILED) {
		say("reserve: %s", strerror(errno));
		close(fd);
		return -1;
	}
	/* A 2 MiB-aligned spot, so that the file's folio maps with a PMD. */
	at = (char *)(((uintptr_t)rsv + MAP_LEN - 1) &
		      ~(uintptr_t)(MAP_LEN - 1));
	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns();
		volatile char *p;
		bool ok = send(pp->fd, buf, sizeof(buf), MSG_NOSIGNAL) ==
			  (ssize_t)sizeof(buf);

		/* The last Unmap's answer, then the Map's. */
		for (size_t k = 0; ok && k <= unread; k++)
			ok = recv(pp->fd, buf, sizeof(buf), 0) ==
			     (ssize_t)sizeof(buf);
		unread = 0;
		ok = ok && mmap(at, MAP_LEN, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED, fd, 0) != MAP_FAILED &&
		     madvise(at, MAP_LEN, MADV_DONTFORK) == 0;
		if (!ok) {
			say("floor model: %s", strerror(errno));
			goto out;
		}
		p = at;
		for (size_t off = 0; off < MAP_LEN; off += PAGE)
			p[off] = (char)(i + off / PAGE);
		if (mmap(at, MAP_LEN, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
				 MAP_FIXED,
			 -1, 0) == MAP_FAILED ||
		    (send_unmap && send(pp->fd, buf, sizeof(buf),
					MSG_NOSIGNAL) != (ssize_t)sizeof(buf))) {
			say("floor model: %s", strerror(errno));
			goto out;
		}
		unread = send_unmap ? 1 : 0;
		if (s && samples_add(s, (double)(now_ns() - t0)))
			goto out;
	}
	rc = 0;
out:
	while (unread-- > 0)
		(void)recv(pp->fd, buf, sizeof(buf), 0);
	munmap(rsv, 2 * MAP_LEN);
	close(fd);
	return rc;
}

int
baseline_rig_start(const struct bench_opts *o, const char *region, char *path,
		   struct pingpong *pp, struct rig *r)
{
	snprintf(path, PATH_MAX, "%s/kernel-baseline.dat", o->dir);
	if (kernel_file_make(path))
		return -1;
	if (pingpong_open(pp, o->server_cpu)) {
		unlink(path);
		return -1;
	}
	if (rig_start(r, o, o->dir, region, 64 * MIB, -1, 0)) {
		pingpong_close(pp);
		unlink(path);
		return -1;
	}
	return 0;
}

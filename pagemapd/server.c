/* server.c -- the daemon's state: attached regions, sessions, shutdown. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"
#include "recall.h"
#include "wire.h"

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void
server_limits(const struct server *srv, struct wire_limits *ret)
{
	*ret = (struct wire_limits){
		.max_packet = SERVER_MAX_PACKET,
		.max_leases = srv->cfg->max_leases,
		.max_grants = srv->cfg->max_grants,
		.max_pending = srv->cfg->max_pending,
		.max_folios_per_reply = SERVER_MAX_FOLIOS_PER_REPLY,
		.max_name = PM_NAME_MAX,
	};
}

uint64_t
server_uptime_ms(const struct server *srv)
{
	return now_ms() - srv->start_ms;
}

struct region *
server_region(const struct server *srv, const char *name)
{
	for (size_t i = 0; i < srv->nregions; i++)
		if (strcmp(srv->regions[i]->name, name) == 0)
			return srv->regions[i];
	return NULL;
}

/* restore_pins / forget_pins -- the attach's pins phase, done by the
 * layer above (pins.c) through the server's upcalls. */
static int
restore_pins(struct region *r, void *ctx, char *err)
{
	struct server *srv = ctx;

	return srv->up.restore_pins(srv, r, err);
}

static void
forget_pins(struct region *r, void *ctx)
{
	struct server *srv = ctx;

	srv->up.forget_pins(srv, r);
}

int
server_attach(struct server *srv, const char *name, const char *path,
	      const struct region_opts *o, char *err)
{
	struct attach_hooks hooks = {
		.restore_pins = srv->up.restore_pins ? restore_pins : NULL,
		.forget_pins = srv->up.forget_pins ? forget_pins : NULL,
	};
	struct region_opts oo;
	struct region *r;
	int rv;

	if (server_region(srv, name)) {
		snprintf(err, REGION_ERR_MAX, "region '%s' is already attached",
			 name);
		return -EEXIST;
	}
	for (size_t i = 0; i < srv->nregions; i++) {
		if (strcmp(srv->regions[i]->path, path) == 0) {
			snprintf(err, REGION_ERR_MAX,
				 "%s is already attached as region '%s'", path,
				 srv->regions[i]->name);
			return -EEXIST;
		}
	}
	if (srv->nregions == CONFIG_MAX_REGIONS) {
		snprintf(err, REGION_ERR_MAX,
			 "at most %u regions can be attached",
			 CONFIG_MAX_REGIONS);
		return -E2BIG;
	}
	hooks.ctx = srv;
	oo = *o;
	oo.hooks = &hooks;
	rv = region_attach(name, path, &oo, &r, err);
	if (rv < 0)
		return rv;
	r->serial = ++srv->next_region_serial;
	r->files.group_commit = true;
	srv->regions[srv->nregions++] = r;
	log_info("region '%s' attached: %s (%s, %llu bytes, %u files)", name,
		 r->path,
		 r->kind == REGION_FILE	   ? "file"
		 : r->kind == REGION_FSDAX ? "fsdax"
					   : "devdax",
		 (unsigned long long)r->media.size, r->files.nfiles);
	return 0;
}

int
server_detach(struct server *srv, const char *name)
{
	for (size_t i = 0; i < srv->nregions; i++) {
		struct region *r = srv->regions[i];

		if (strcmp(r->name, name) != 0)
			continue;
		srv->regions[i] = srv->regions[--srv->nregions];
		recall_region_gone(&srv->recall, r);
		/* Whatever the batch staged for it is made durable first. */
		if (region_commit(r) < 0)
			log_error("region '%s': the last commit failed", name);
		log_info("region '%s' detached", name);
		region_detach(r);
		return 0;
	}
	return -ENOENT;
}

/* ---- group commit ------------------------------------------------------- */

struct deferred {
	struct list_node node; /* server's deferred list, in send order */
	struct ipc_conn *conn;
	uint64_t id;
	struct region *mutated;
	int fd;
	size_t len;
	uint8_t data[];
};

static struct deferred *
deferred_of(struct list_node *n)
{
	return list_entry(n, struct deferred, node);
}

static void
deferred_free(struct deferred *d)
{
	list_del(&d->node);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

bool
server_deferring(const struct server *srv)
{
	if (!list_empty(&srv->deferred))
		return true;
	for (size_t i = 0; i < srv->nregions; i++)
		if (journal_staged(&srv->regions[i]->journal))
			return true;
	return false;
}

int
server_defer(struct server *srv, struct ipc_conn *c, uint64_t id,
	     const void *buf, size_t len, int fd, struct region *mutated)
{
	struct deferred *d = malloc(sizeof(*d) + len);

	if (d == NULL)
		return -ENOMEM;
	d->conn = c;
	d->id = id;
	d->mutated = mutated;
	/* The region (and its fd) may be detached before the commit. */
	d->fd = fd >= 0 ? fcntl(fd, F_DUPFD_CLOEXEC, 0) : -1;
	d->len = len;
	memcpy(d->data, buf, len);
	list_add_tail(&srv->deferred, &d->node);
	return 0;
}

void
server_forget(struct server *srv, struct ipc_conn *c)
{
	struct list_node *pos, *n;

	list_for_each(pos, n, &srv->deferred) if (deferred_of(pos)->conn == c)
		deferred_free(deferred_of(pos));
}

/* on_commit -- after the loop has handled this iteration's packets:
 * commit every region's batch with one journal transaction each, then send
 * the replies that waited for it. */
static void
on_commit(uv_check_t *h)
{
	struct server *srv = h->data;
	struct region *failed[CONFIG_MAX_REGIONS];
	size_t nfailed = 0;

	for (size_t i = 0; i < srv->nregions; i++) {
		struct region *r = srv->regions[i];

		if (journal_staged(&r->journal) && region_commit(r) < 0) {
			log_error("region '%s': commit failed; the region "
				  "refuses changes until it is attached again",
				  r->name);
			failed[nfailed++] = r;
		}
	}
	while (!list_empty(&srv->deferred)) {
		struct deferred *d = deferred_of(srv->deferred.next);
		bool lost = false;

		for (size_t i = 0; i < nfailed; i++)
			lost |= d->mutated == failed[i];
		if (lost) {
			uint8_t buf[256];
			ssize_t n = wire_error(buf, sizeof(buf), d->id, EIO,
					       "the region failed to commit "
					       "this change");
			if (n > 0)
				(void)ipc_send(d->conn, buf, (size_t)n, -1);
		} else if (ipc_send(d->conn, d->data, d->len, d->fd) ==
			   -ENOMEM) {
			ipc_close(d->conn);
		}
		deferred_free(d);
	}
}

void
server_conn_add(struct server *srv, struct ipc_conn *c)
{
	list_add_head(&srv->conns, &c->node);
	srv->nsessions++;
}

void
server_conn_gone(struct server *srv, struct ipc_conn *c)
{
	list_del(&c->node);
	srv->nsessions--;
}

static void
on_connection(struct ipc_listener *l, int fd)
{
	struct server *srv = l->data;

	if (srv->finished || srv->nsessions >= srv->cfg->max_clients) {
		/* Refuse before reading anything: a flood of connections
		 * must not grow the daemon. */
		log_warn("refusing a connection: %s",
			 srv->finished ? "shutting down" : "too many clients");
		close(fd);
		return;
	}
	if (srv->up.accept(srv, fd) < 0)
		log_warn("cannot serve a new connection: out of resources");
}

/* activated -- systemd passed us the listening socket (sd_listen_fds(3)'s
 * test; ipc_listen() takes the socket itself). */
static bool
activated(void)
{
	const char *pid = getenv("LISTEN_PID");
	const char *fds = getenv("LISTEN_FDS");

	return pid && fds && atoi(pid) == getpid() && atoi(fds) >= 1;
}

/* lock_socket -- make sure no other daemon serves our socket, before any
 * region is touched: a second daemon started on the same socket would
 * otherwise attach (and write) its regions before bind() told it the
 * socket is taken. The lock is "<socket>.lock", a file emptied, never
 * removed, holding the pid of its holder; it is dropped when the process
 * ends. Under socket activation there is no path of ours to lock, and
 * systemd starts one instance of the service per socket. */
static int
lock_socket(struct server *srv, const char *path)
{
	char lock[sizeof(srv->cfg->socket_path) + 8], who[EXLOCK_WHO_MAX];
	pid_t holder = 0;
	int rv;

	if (activated())
		return 0;
	snprintf(lock, sizeof(lock), "%s.lock", path);
	rv = ipc_mkdir_parents(path);
	if (rv < 0) {
		log_error("cannot create the directory of %s: %s", path,
			  strerror(-rv));
		return rv;
	}
	rv = exlock_take(lock, O_RDWR | O_CREAT, lock, &srv->socket_lock,
			 &holder);
	if (rv == -EBUSY) {
		exlock_who(holder, who, sizeof(who));
		log_error("socket %s is in use by %s", path, who);
	} else if (rv < 0) {
		log_error("cannot lock %s: %s", lock, strerror(-rv));
	}
	return rv;
}

/* on_signal -- the first SIGTERM/SIGINT stops cleanly: recall everything
 * and wait for the final unpin. A second one stops at once: what is staged
 * is committed and the replies waiting for it are sent, then the process
 * exits with SERVER_EXIT_PINS_KEPT. Nothing is freed: the grants still out
 * stay in the pin tables (I6), and the next start takes them back. */
static void
on_signal(uv_signal_t *h, int signum)
{
	struct server *srv = h->data;

	if (!srv->stopping) {
		log_info("%s received, shutting down (send it again to stop "
			 "at once, keeping the pins)",
			 strsignal(signum));
		srv->up.stop(srv);
		return;
	}
	on_commit(&srv->commit_check);
	log_warn("%s received again: stopping now; %llu grant(s) stay "
		 "pinned in the pin tables for the next start",
		 strsignal(signum), (unsigned long long)server_pins(srv));
	/* No unwinding: leases and regions refer to each other, and freeing
	 * them one by one could only lose the state the tables keep. */
	_exit(SERVER_EXIT_PINS_KEPT);
}

int
server_start(struct server *srv, uv_loop_t *loop, const struct config *c,
	     const struct server_upcalls *up)
{
	char err[REGION_ERR_MAX > 256 ? REGION_ERR_MAX : 256];
	int rv;

	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->cfg = c;
	srv->up = *up;
	if (up->pins)
		srv->pins = *up->pins;
	else
		srv->pins.dirfd = -1;
	srv->start_ms = now_ms();
	srv->listener.fd = -1;
	srv->socket_lock.fd = -1;
	srv->reported_pins = UINT64_MAX;
	list_init(&srv->conns);
	list_init(&srv->clients);
	list_init(&srv->deferred);
	recall_set_init(&srv->recall, NULL);
	if (wire_ctx_new(&srv->wire) < 0 || ipc_rx_new(&srv->rx) < 0) {
		log_error("out of memory");
		rv = -ENOMEM;
		goto err_detach;
	}
	rv = lock_socket(srv, c->socket_path);
	if (rv < 0)
		goto err_detach;
	for (size_t i = 0; i < c->nregions; i++) {
		const struct region_conf *rc = &c->regions[i];
		struct region_opts o = {
			.size = rc->size,
			.create = rc->create,
			.max_order = rc->max_order,
			.inode_count = rc->inodes,
		};

		rv = server_attach(srv, rc->name, rc->path, &o, err);
		if (rv < 0) {
			log_error("cannot attach region '%s' (%s): %s",
				  rc->name, rc->path, err);
			goto err_detach;
		}
	}
	srv->listener.on_connection = on_connection;
	srv->listener.data = srv;
	rv = ipc_listen(loop, &srv->listener, c->socket_path, c->socket_mode,
			err);
	if (rv < 0) {
		log_error("%s", err);
		goto err_detach;
	}
	uv_timer_init(loop, &srv->recall_timer);
	uv_check_init(loop, &srv->commit_check);
	srv->commit_check.data = srv;
	uv_check_start(&srv->commit_check, on_commit);
	uv_signal_init(loop, &srv->sigterm);
	uv_signal_init(loop, &srv->sigint);
	srv->sigterm.data = srv->sigint.data = srv;
	uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
	uv_signal_start(&srv->sigint, on_signal, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	log_info("listening on %s with %zu region(s)", srv->listener.path,
		 srv->nregions);
	return 0;

err_detach:
	while (srv->nregions)
		region_detach(srv->regions[--srv->nregions]);
	exlock_release(&srv->socket_lock);
	wire_ctx_free(&srv->wire);
	ipc_rx_free(&srv->rx);
	return rv;
}

uint64_t
server_pins(const struct server *srv)
{
	uint64_t pins = 0;

	for (size_t i = 0; i < srv->nregions; i++)
		pins += srv->regions[i]->pins;
	return pins;
}

/* finish -- every region is detached: close everything so the loop
 * ends. Run from a timer, after the request that made the last grant
 * come back has been answered. */
static void
finish(uv_timer_t *t)
{
	struct server *srv = t->data;
	struct list_node *pos, *n;

	uv_close((uv_handle_t *)t, NULL);
	ipc_listener_close(&srv->listener);
	/* After the socket file is gone: the next daemon to get the lock
	 * finds no socket of ours to mistake for a live one. */
	exlock_release(&srv->socket_lock);
	list_for_each(pos, n, &srv->conns)
		ipc_close(list_entry(pos, struct ipc_conn, node));
	uv_close((uv_handle_t *)&srv->recall_timer, NULL);
	recall_set_fini(&srv->recall);
	uv_close((uv_handle_t *)&srv->sigterm, NULL);
	uv_close((uv_handle_t *)&srv->sigint, NULL);
	uv_close((uv_handle_t *)&srv->commit_check, NULL);
	free(srv->scratch);
	srv->scratch = NULL;
	wire_ctx_free(&srv->wire);
	ipc_rx_free(&srv->rx);
	free(srv->lease_buckets);
	srv->lease_buckets = NULL;
	srv->lease_nbuckets = 0;
}

/* log_holders -- who holds up the stop, one line each (the first few),
 * as `pagemapctl blockers` would show them. */
static void
log_holders(struct server *srv)
{
	enum { SHOWN = 8 };
	struct blocker b[SHOWN + 1];
	size_t n = recall_blockers(&srv->recall, NULL, NULL, b, SHOWN + 1);

	for (size_t i = 0; i < n && i < SHOWN; i++)
		log_info("stopping: lease %llu of pid %u (%s) holds %llu "
			 "grant(s) of %s",
			 (unsigned long long)b[i].lease_id, b[i].pid, b[i].comm,
			 (unsigned long long)b[i].grants, b[i].target);
	if (n > SHOWN)
		log_info("stopping: more holders: pagemapctl blockers lists "
			 "them all");
}

void
server_progress(struct server *srv)
{
	char status[128];
	uint64_t pins;

	if (!srv->stopping || srv->finished)
		return;
	if (srv->nregions == 0) {
		srv->finished = true;
		uv_timer_init(srv->loop, &srv->finish_timer);
		srv->finish_timer.data = srv;
		uv_timer_start(&srv->finish_timer, finish, 0, 0);
		return;
	}
	pins = server_pins(srv);
	if (pins != srv->reported_pins) {
		srv->reported_pins = pins;
		snprintf(status, sizeof(status),
			 "STATUS=stopping: waiting for %llu grant(s) to come "
			 "back",
			 (unsigned long long)pins);
		notify_send(status);
		log_info("stopping: waiting for %llu grant(s) in %zu "
			 "region(s)%s",
			 (unsigned long long)pins, srv->nregions,
			 pins ? "; a second SIGTERM or SIGINT stops at once, "
				"keeping them"
			      : "");
		log_holders(srv);
	}
}

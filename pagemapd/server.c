/* server.c -- the daemon's state: attached regions, sessions, shutdown. */
#include "server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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
		.max_cached_grants_per_lease =
			srv->cfg->max_cached_grants_per_lease,
		.max_cached_grants_per_process =
			srv->cfg->max_cached_grants_per_process,
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
	log_info("region '%s' attached: %s, metadata %s (%s, %llu bytes, %u "
		 "files)",
		 name, r->path, r->meta_path,
		 r->kind == REGION_FILE	   ? "file"
		 : r->kind == REGION_FSDAX ? "fsdax"
					   : "devdax",
		 (unsigned long long)r->sb->region_size, r->files.nfiles);
	if (r->note[0])
		log_info("region '%s': %s", name, r->note);
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

/* deferred_free -- @d is sent or dropped: its bytes leave its process's
 * queued replies. */
static void
deferred_free(struct server *srv, struct deferred *d)
{
	if (d->conn->proc)
		account_uncharge(&srv->acct, d->conn->proc, ACCT_QUEUED,
				 sizeof(*d) + d->len);
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
	/* Held replies count as queued ones: ipc.c reads a client no further
	 * than its room for replies allows, held or queued. */
	if (c->proc)
		account_charge(&srv->acct, c->proc, ACCT_QUEUED,
			       sizeof(*d) + len);
	return 0;
}

void
server_forget(struct server *srv, struct ipc_conn *c)
{
	struct list_node *pos, *n;

	list_for_each(pos, n, &srv->deferred) if (deferred_of(pos)->conn == c)
		deferred_free(srv, deferred_of(pos));
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
	bool sent = !list_empty(&srv->deferred);

	for (size_t i = 0; i < srv->nregions; i++) {
		struct region *r = srv->regions[i];

		if (journal_staged(&r->journal) && region_commit(r) < 0)
			failed[nfailed++] = r;
		/* Whatever failed it (this commit, or a persist inside an
		 * operation), it is said once, loudly. */
		if (r->files.failed && !r->files.failed_logged) {
			log_error("region '%s' failed after a write error: it "
				  "is read-only now (reads and listings "
				  "work); detach it and run pagemapctl fsck "
				  "%s",
				  r->name, r->path);
			r->files.failed_logged = true;
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
					       "this change, and is "
					       "read-only now; detach it "
					       "and run pagemapctl fsck on "
					       "its file");
			if (n > 0)
				(void)ipc_send(d->conn, buf, (size_t)n, -1);
		} else if (ipc_send(d->conn, d->data, d->len, d->fd) ==
			   -ENOMEM) {
			ipc_close(d->conn);
		}
		deferred_free(srv, d);
	}
	/* Their room is back: clients held for it may be read again. */
	if (sent)
		ipc_rx_resume(srv->rx);
}

/* ---- connections: limits per uid, the handshake deadline ---------------
 *
 * No user may lock the administrator out (DESIGN §6): max_clients holds
 * every connection, but uids other than 0 and the daemon's own together get
 * at most max_unprivileged of them (the rest is kept for the
 * administrators), each of them at most max_connections_per_uid. A
 * connection that has not completed its Hello within handshake_timeout_ms
 * is closed, so idle sockets cannot hold slots either. */

/* greet_check -- close the connections whose Hello is overdue, then wait
 * for the next deadline (the list is in deadline order: one timeout). */
static void
greet_check(uv_timer_t *t)
{
	struct server *srv = t->data;
	uint64_t now = now_ms();

	while (!list_empty(&srv->greeting)) {
		struct ipc_conn *c = list_entry(srv->greeting.next,
						struct ipc_conn, greet_node);
		uint8_t buf[256];
		ssize_t n;

		if (c->greet_deadline_ms > now) {
			uv_timer_start(t, greet_check,
				       c->greet_deadline_ms - now, 0);
			return;
		}
		list_del(&c->greet_node);
		log_debug("closing the connection of pid %d (uid %u): no "
			  "Hello within handshake_timeout_ms %u",
			  (int)c->peer.pid, (unsigned)c->peer.uid,
			  srv->cfg->handshake_timeout_ms);
		n = wire_error(buf, sizeof(buf), 0, ETIMEDOUT,
			       "no Hello within the handshake timeout");
		if (n > 0)
			(void)ipc_send(c, buf, (size_t)n, -1);
		ipc_close(c);
	}
}

void
server_conn_add(struct server *srv, struct ipc_conn *c)
{
	list_add_head(&srv->conns, &c->node);
	srv->nsessions++;
	if (c->proc)
		account_charge(&srv->acct, c->proc, ACCT_CONNS, 1);
	c->greet_deadline_ms = now_ms() + srv->cfg->handshake_timeout_ms;
	list_add_tail(&srv->greeting, &c->greet_node);
	if (!uv_is_active((uv_handle_t *)&srv->greet_timer))
		uv_timer_start(&srv->greet_timer, greet_check,
			       srv->cfg->handshake_timeout_ms, 0);
}

void
server_conn_greeted(struct server *srv, struct ipc_conn *c)
{
	(void)srv;
	list_del(&c->greet_node);
}

void
server_conn_gone(struct server *srv, struct ipc_conn *c)
{
	list_del(&c->node);
	list_del(&c->greet_node);
	srv->nsessions--;
	if (c->proc) {
		account_uncharge(&srv->acct, c->proc, ACCT_CONNS, 1);
		account_proc_put(&srv->acct, c->proc);
		c->proc = NULL;
	}
}

void
server_refused(struct server *srv, uint32_t uid, const char *what,
	       const char *why)
{
	struct refusal_log *r = NULL, *oldest = &srv->refusals[0];
	uint64_t now = now_ms();

	/* A flood must not flood the journal too. */
	for (size_t i = 0; i < SERVER_REFUSAL_UIDS && r == NULL; i++) {
		struct refusal_log *e = &srv->refusals[i];

		if (e->last_ms && e->uid == uid)
			r = e;
		else if (e->last_ms < oldest->last_ms)
			oldest = e;
	}
	if (r && now - r->last_ms < 1000) {
		r->suppressed++;
		return;
	}
	if (r == NULL) {
		r = oldest;
		*r = (struct refusal_log){.uid = uid};
	}
	if (r->suppressed)
		log_warn("refused %s from uid %u: %s; %u more refused since "
			 "the last such line",
			 what, (unsigned)uid, why, r->suppressed);
	else
		log_warn("refused %s from uid %u: %s", what, (unsigned)uid,
			 why);
	r->last_ms = now ? now : 1;
	r->suppressed = 0;
}

/* refuse -- answer @fd with one error packet (the reply to the Hello the
 * client sends first: libpagemap shows its message) and close it. */
static void
refuse(struct server *srv, int fd, uint32_t uid, const struct acct_refusal *w)
{
	const char *what;
	char msg[256], why[160];
	uint8_t buf[384];
	ssize_t n;

	if (w->scope == ACCT_ALL)
		what = "the daemon serves as many connections as it may";
	else if (w->scope == ACCT_OTHERS)
		what = "the connections other users may hold are all taken";
	else if (w->res == ACCT_CONNS)
		what = "too many connections from this user";
	else
		what = "this user holds as much of the daemon's memory as it "
		       "may";
	snprintf(msg, sizeof(msg), "%s (%s %llu): try again later", what,
		 w->key, (unsigned long long)w->limit);
	n = wire_error(buf, sizeof(buf), 0, EUSERS, msg);
	if (n > 0)
		ipc_refuse(fd, buf, (size_t)n);
	else
		close(fd);
	snprintf(why, sizeof(why), "%s (%llu) reached", w->key,
		 (unsigned long long)w->limit);
	server_refused(srv, uid, "a connection", why);
}

static void
on_connection(struct ipc_listener *l, int fd)
{
	struct server *srv = l->data;
	struct acct_refusal w;
	uid_t uid;

	if (srv->finished) {
		close(fd);
		return;
	}
	if (ipc_peer_uid(fd, &uid) < 0) {
		close(fd);
		return;
	}
	/* Refuse before reading anything: a flood of connections must not
	 * grow the daemon. Administrators meet only max_clients. */
	if (account_check_uid(&srv->acct, uid, ACCT_CONNS, 1, &w) < 0) {
		refuse(srv, fd, uid, &w);
		return;
	}
	if (srv->up.accept(srv, fd) < 0)
		log_warn("cannot serve a new connection: out of resources");
}

/* on_accept_paused -- the listener rests for a moment: the daemon is out
 * of file descriptors (or memory). Logged once a second at most. */
static void
on_accept_paused(struct ipc_listener *l, int err)
{
	struct server *srv = l->data;
	uint64_t now = now_ms();

	if (srv->paused_log_ms && now - srv->paused_log_ms < 1000)
		return;
	srv->paused_log_ms = now ? now : 1;
	log_warn("cannot accept connections: %s; pausing %d ms (%u "
		 "connections open, max_clients %u)",
		 strerror(err), IPC_ACCEPT_BACKOFF_MS, srv->nsessions,
		 srv->max_clients);
}

/* open_fds -- descriptors open now, or -1 if /proc cannot say. */
static int
open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = -1; /* the directory's own fd */

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* size_clients -- raise the soft RLIMIT_NOFILE to the hard one (a daemon
 * started by hand gets a soft 1024), then lower max_clients to what the
 * limit allows beyond the descriptors open now: running out of them is
 * refusing connections at accept at best. */
static void
size_clients(struct server *srv)
{
	struct rlimit rl;
	uint64_t avail, fit;
	int used;

	srv->max_clients = srv->cfg->max_clients;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = {.rlim_cur = rl.rlim_max,
				    .rlim_max = rl.rlim_max};

		/* Not fatal: the limit we have is sized for below. */
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl.rlim_cur = rl.rlim_max;
		else
			log_debug("cannot raise the soft RLIMIT_NOFILE to "
				  "%llu: %s",
				  (unsigned long long)rl.rlim_max,
				  strerror(errno));
	}
	if (rl.rlim_cur == RLIM_INFINITY)
		return;
	used = open_fds();
	if (used < 0)
		used = 64;
	avail = rl.rlim_cur > (rlim_t)used + SERVER_FDS_SPARE
			? rl.rlim_cur - (rlim_t)used - SERVER_FDS_SPARE
			: 0;
	fit = avail / SERVER_FDS_PER_CLIENT;
	if (fit == 0)
		fit = 1;
	if (fit < srv->max_clients) {
		log_warn("max_clients lowered from %u to %llu: the file "
			 "descriptor limit is %llu (%u per client; raise "
			 "LimitNOFILE= or ulimit -n)",
			 srv->max_clients, (unsigned long long)fit,
			 (unsigned long long)rl.rlim_cur,
			 SERVER_FDS_PER_CLIENT);
		srv->max_clients = (uint32_t)fit;
	}
}

/* server_apply_limits: max_clients as size_clients() left it, the
 * administrators' reserve in it (at most half, so other users keep some),
 * and the limits per process and per uid. */
void
server_apply_limits(struct server *srv)
{
	const struct config *c = srv->cfg;
	uint32_t reserve = c->reserved_connections;
	struct acct_limits l = {{{0}}};

	if (reserve > srv->max_clients / 2)
		reserve = srv->max_clients / 2;
	srv->max_unprivileged = srv->max_clients - reserve;
	l.max[ACCT_PROC][ACCT_LEASES] = c->max_leases;
	l.max[ACCT_PROC][ACCT_GRANTS] = c->max_grants;
	l.max[ACCT_PROC][ACCT_QUEUED] = c->max_queued_bytes;
	l.max[ACCT_UID][ACCT_CONNS] = c->max_connections_per_uid;
	l.max[ACCT_UID][ACCT_LEASES] = c->max_leases_per_uid;
	l.max[ACCT_UID][ACCT_GRANTS] = c->max_grants_per_uid;
	/* A pin table per client and region: a uid's connected clients
	 * and as many disconnected holders, in a few regions each. */
	l.max[ACCT_UID][ACCT_TABLES] = 4ull * c->max_connections_per_uid;
	l.max[ACCT_UID][ACCT_QUEUED] = c->max_queued_bytes_per_uid;
	l.max[ACCT_UID][ACCT_MEMORY] = c->max_memory_per_uid;
	l.max[ACCT_OTHERS][ACCT_CONNS] = srv->max_unprivileged;
	l.max[ACCT_ALL][ACCT_CONNS] = srv->max_clients;
	account_set_limits(&srv->acct, &l);
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

/* on_hup -- SIGHUP: the layer above reads the configuration again (the
 * log level and the limits change; the rest waits for a restart). */
static void
on_hup(uv_signal_t *h, int signum)
{
	struct server *srv = h->data;

	(void)signum;
	if (srv->up.reload) {
		srv->up.reload(srv, srv->up.reload_ctx);
		server_apply_limits(srv);
	}
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
	list_init(&srv->greeting);
	recall_set_init(&srv->recall, NULL);
	/* Before the regions: restored pins are charged to their holders. */
	if (wire_ctx_new(&srv->wire) < 0 || ipc_rx_new(&srv->rx) < 0 ||
	    account_init(&srv->acct, geteuid()) < 0) {
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
			.meta = rc->meta,
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
	/* After the regions: their descriptors count as used. */
	size_clients(srv);
	server_apply_limits(srv);
	srv->listener.on_connection = on_connection;
	srv->listener.on_pause = on_accept_paused;
	srv->listener.data = srv;
	rv = ipc_listen(loop, &srv->listener, c->socket_path, c->socket_mode,
			err);
	if (rv < 0) {
		log_error("%s", err);
		goto err_detach;
	}
	uv_timer_init(loop, &srv->recall_timer);
	uv_timer_init(loop, &srv->greet_timer);
	srv->greet_timer.data = srv;
	uv_check_init(loop, &srv->commit_check);
	srv->commit_check.data = srv;
	uv_check_start(&srv->commit_check, on_commit);
	uv_signal_init(loop, &srv->sigterm);
	uv_signal_init(loop, &srv->sigint);
	uv_signal_init(loop, &srv->sighup);
	srv->sigterm.data = srv->sigint.data = srv->sighup.data = srv;
	uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
	uv_signal_start(&srv->sigint, on_signal, SIGINT);
	uv_signal_start(&srv->sighup, on_hup, SIGHUP);
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
	account_fini(&srv->acct);
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
	uv_close((uv_handle_t *)&srv->greet_timer, NULL);
	recall_set_fini(&srv->recall);
	uv_close((uv_handle_t *)&srv->sigterm, NULL);
	uv_close((uv_handle_t *)&srv->sigint, NULL);
	uv_close((uv_handle_t *)&srv->sighup, NULL);
	uv_close((uv_handle_t *)&srv->commit_check, NULL);
	free(srv->scratch);
	srv->scratch = NULL;
	wire_ctx_free(&srv->wire);
	ipc_rx_free(&srv->rx);
	/* Freed once the last connection and client are gone. */
	account_close(&srv->acct);
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

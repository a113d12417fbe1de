/* session.c -- one client connection: handshake, requests, replies.
 *
 * A request is decoded (wire.c), checked against the peer's credentials
 * (SO_PEERCRED at connect; access.c decides, as a filesystem does for
 * open()), carried out by one domain operation (ops.c) or listing
 * (query.c), and its answer encoded here. A failed request is logged once
 * here and answered with the same errno and a message a person can act
 * on.
 */
#include "session.h"
#include "session_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "access.h"
#include "account.h"
#include "client.h"
#include "holder.h"
#include "gtable.h"
#include "inode.h"
#include "inode_io.h"
#include "lease.h"
#include "log.h"
#include "ops.h"
#include "query.h"
#include "recall.h"
#include "region.h"
#include "server.h"
#include "wire.h"

#define FILES_PER_PAGE 200u /* FileInfo <= ~300 bytes: fits 64 KiB */

/* send_packet -- send (or, while a group commit is open, hold back) one
 * reply, carrying @fd if it is not -1. */
void
send_packet(struct session *s, uint64_t id, ssize_t n, int fd)
{
	struct region *mutated = s->mutated;
	int rv;

	s->mutated = NULL;
	if (n < 0)
		n = wire_error(s->obuf, SERVER_MAX_PACKET, id, EMSGSIZE,
			       "reply does not fit in one packet");
	/* No reply may tell of a change before it is durable, nor overtake
	 * one that waits for that: while a batch is staged, replies queue
	 * until server_commit() has committed it. */
	if (server_deferring(s->srv))
		rv = server_defer(s->srv, &s->conn, id, s->obuf, (size_t)n, fd,
				  mutated);
	else
		rv = ipc_send(&s->conn, s->obuf, (size_t)n, fd);
	if (rv == -ENOMEM || rv == -EMSGSIZE) {
		log_error("client %llu: cannot queue a reply: %s",
			  (unsigned long long)s->id, strerror(-rv));
		session_close(s);
	}
}

void
send_reply(struct session *s, uint64_t id, ssize_t n)
{
	send_packet(s, id, n, -1);
}

void
reply_error_id(struct session *s, uint64_t id, int err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (err < 0)
		err = -err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	send_reply(s, id, wire_error(s->obuf, SERVER_MAX_PACKET, id, err, msg));
	/* The client gets the error; the log has it at debug only, so that
	 * a client cannot flood it (and the reply does not wait for it). */
	log_debug("client %llu (pid %d %s): request %llu: %s (%s)",
		  (unsigned long long)s->id, (int)s->conn.peer.pid,
		  s->conn.peer.comm, (unsigned long long)id, msg,
		  strerror(err));
}

void
reply_empty(struct session *s, uint64_t id, enum wire_kind k)
{
	send_reply(s, id, wire_empty(s->obuf, SERVER_MAX_PACKET, id, k));
}

/* send_page -- send a listing page of @n bytes, or say why there is none
 * (-ENOMEM; a page too large for a packet becomes EMSGSIZE in
 * send_packet()). */
static void
send_page(struct session *s, const struct wire_request *rq, ssize_t n)
{
	if (n == -ENOMEM)
		reply_error(s, rq, ENOMEM, "out of memory");
	else
		send_reply(s, rq->id, n);
}

/* on_op_done -- an operation that waited (ops.c) is done for this
 * session's request, or its timeout passed. */
static void
on_op_done(struct recall_op *op, int err, const char *msg)
{
	struct session *s = op->w.arg;
	uint64_t id = op->w.id;
	struct file_info fi;

	if (err) {
		reply_error_id(s, id, err, "%s", msg);
		return;
	}
	switch (op->kind) {
	case RECALL_REVOKE:
		reply_empty(s, id, WIRE_LEASE_REVOKE);
		return;
	case RECALL_DETACH:
		reply_empty(s, id, WIRE_REGION_DETACH);
		return;
	case RECALL_TRUNCATE:
		inode_info(op->ino, &fi);
		s->mutated = op->region;
		send_reply(s, id,
			   wire_file(s->obuf, SERVER_MAX_PACKET, id,
				     WIRE_FILE_TRUNCATE, op->region->name,
				     &fi));
		return;
	}
}

struct ops_waiter
waiter(struct session *s, const struct wire_request *rq)
{
	struct ops_waiter w = {
		.cb = on_op_done,
		.arg = s,
		.id = rq->id,
		.timeout_ms = rq->timeout_ms,
	};

	return w;
}

void
session_send_recall(void *ctx, struct lease *l, uint64_t off, uint64_t len,
		    const char *reason)
{
	struct session *s = client_owner(l)->session;
	ssize_t n;

	(void)ctx;
	if (s == NULL)
		return;
	n = wire_recall(s->obuf, SERVER_MAX_PACKET, l->id, off, len, reason);
	if (n > 0 && ipc_send(&s->conn, s->obuf, (size_t)n, -1) == -ENOMEM)
		session_close(s);
}

/* fatal -- a protocol violation: say why, then close. */
static void
fatal(struct session *s, int err, const char *why)
{
	ssize_t n;

	log_info("client %llu (pid %d %s): closing: %s",
		 (unsigned long long)s->id, (int)s->conn.peer.pid,
		 s->conn.peer.comm, why);
	n = wire_error(s->obuf, SERVER_MAX_PACKET, 0, err, why);
	if (n > 0)
		(void)ipc_send(&s->conn, s->obuf, (size_t)n, -1);
	session_close(s);
}

/* find_region -- the region named by @rq, checked for @want access; NULL
 * after replying with the error. */
struct region *
find_region(struct session *s, const struct wire_request *rq, unsigned want)
{
	struct region *r = server_region(s->srv, rq->region);

	if (r == NULL) {
		reply_error(s, rq, ENOENT, "no region '%s' is attached",
			    rq->region);
		return NULL;
	}
	if (want && !access_may(&s->conn.peer, r->uid, r->gid, r->mode, want)) {
		reply_error(s, rq, EACCES, "region '%s' does not allow %s",
			    rq->region,
			    want & MAY_WRITE ? "writing" : "reading");
		return NULL;
	}
	return r;
}

struct inode *
find_file(struct session *s, const struct wire_request *rq, struct region *r)
{
	struct inode *ino = inode_find(&r->files, rq->name);

	if (ino == NULL)
		reply_error(s, rq, ENOENT, "no file '%s' in region '%s'",
			    rq->name, rq->region);
	return ino;
}

/* ---- handlers ---------------------------------------------------------- */

static void
do_hello(struct session *s, const struct wire_request *rq)
{
	struct wire_limits l;
	uint64_t caps;
	uint32_t n;

	if (s->hello) {
		reply_error(s, rq, EINVAL, "handshake already done");
		return;
	}
	if (rq->version != 1) {
		char why[128];
		snprintf(why, sizeof(why),
			 "protocol version %u is not supported (this daemon "
			 "speaks 1)",
			 rq->version);
		fatal(s, EPROTONOSUPPORT, why);
		return;
	}
	s->hello = true;
	server_conn_greeted(s->srv, &s->conn);
	server_limits(s->srv, &l);
	snprintf(s->name, sizeof(s->name), "%s", rq->client_name);
	client_set_name(s->client, rq->client_name);
	caps = rq->capabilities & (WIRE_CAP_RECONNECT |
				   WIRE_CAP_BLOCKER_FIELDS |
				   WIRE_CAP_CACHED_GRANTS |
				   WIRE_CAP_LISTING_HIDDEN);
	s->caps = caps;
	/* A process that connects again takes its leases back (I5); with a
	 * token, exactly those of the client it names, also when they were
	 * restored after a daemon restart (I6). */
	n = ops_adopt(s->srv, s->client,
		      (caps & WIRE_CAP_RECONNECT) ? rq->token : 0);
	if (n)
		log_info("client %llu (pid %d %s) reconnected and took back "
			 "%u lease(s)",
			 (unsigned long long)s->client->id,
			 (int)s->conn.peer.pid, s->conn.peer.comm, n);
	/* After a daemon restart the process hands back its word table:
	 * adopted, its restored grants are cached grants again. */
	if (s->words_fd >= 0 && (caps & WIRE_CAP_CACHED_GRANTS)) {
		int k = client_adopt_words(s->client, s->words_fd,
					   rq->words_id,
					   session_words_per_process(s->srv));

		s->words_fd = -1;
		if (k >= 0)
			log_info("client %llu (pid %d %s) handed back its word "
				 "table: %d cached grant(s) kept",
				 (unsigned long long)s->client->id,
				 (int)s->conn.peer.pid, s->conn.peer.comm, k);
		else if (k != -EALREADY)
			log_info("client %llu (pid %d %s) handed back a word "
				 "table that is not one (%s): a new one "
				 "instead",
				 (unsigned long long)s->client->id,
				 (int)s->conn.peer.pid, s->conn.peer.comm,
				 strerror(-k));
	}
	send_reply(s, rq->id,
		   wire_hello(s->obuf, SERVER_MAX_PACKET, rq->id, &l,
			      s->client->id, caps, s->client->token, n,
			      s->client->words ? s->client->words->id : 0));
}

static void
do_status(struct session *s, const struct wire_request *rq)
{
	struct server *srv = s->srv;
	struct wire_status st = {
		.pid = (uint32_t)getpid(),
		.uptime_ms = server_uptime_ms(srv),
		.regions = (uint32_t)srv->nregions,
		.clients = srv->nclients,
		.leases = srv->nleases,
		.grants = server_pins(srv),
		.pending_ops = recall_pending(&srv->recall),
		.requests = srv->requests,
	};

	send_reply(s, rq->id,
		   wire_status(s->obuf, SERVER_MAX_PACKET, rq->id, &st));
}

static void
do_region_list(struct session *s, const struct wire_request *rq)
{
	const struct ipc_peer *p = &s->conn.peer;
	struct region_info v[CONFIG_MAX_REGIONS];
	size_t n = 0;

	/* Only regions the caller may read, as `region info` checks. */
	for (size_t i = 0; i < s->srv->nregions; i++) {
		const struct region *r = s->srv->regions[i];

		if (access_may(p, r->uid, r->gid, r->mode, MAY_READ))
			region_info(r, &v[n++]);
	}
	send_reply(s, rq->id,
		   wire_region_list(s->obuf, SERVER_MAX_PACKET, rq->id, v, n,
				    (s->caps & WIRE_CAP_LISTING_HIDDEN)
					    ? s->srv->nregions - n
					    : 0));
}

static void
do_region_info(struct session *s, const struct wire_request *rq)
{
	struct region *r = find_region(s, rq, MAY_READ);
	struct region_info ri;

	if (r == NULL)
		return;
	region_info(r, &ri);
	send_reply(s, rq->id,
		   wire_region(s->obuf, SERVER_MAX_PACKET, rq->id,
			       WIRE_REGION_INFO, &ri));
}

static void
do_region_attach(struct session *s, const struct wire_request *rq)
{
	struct region_opts o = {
		.size = rq->size,
		.create = rq->create,
		.max_order = rq->max_order_set ? rq->max_order
					       : PM_DEFAULT_MAX_ORDER,
	};
	char err[REGION_ERR_MAX];
	struct region_info ri;
	int rv;

	if (!access_admin(&s->conn.peer)) {
		reply_error(s, rq, EPERM, "only root may attach regions");
		return;
	}
	if (s->srv->stopping) {
		reply_error(s, rq, ESHUTDOWN, "pagemapd is shutting down");
		return;
	}
	if (region_name_valid(rq->region) < 0) {
		reply_error(s, rq, EINVAL,
			    "invalid region name '%s' (1-63 of A-Z a-z 0-9 _ . "
			    "-, not starting with '.')",
			    rq->region);
		return;
	}
	if (rq->path[0] != '/') {
		reply_error(s, rq, EINVAL, "region path must be absolute");
		return;
	}
	if (o.max_order > PM_MAX_ORDER_LIMIT) {
		reply_error(s, rq, EINVAL, "max order %u is above %u",
			    o.max_order, PM_MAX_ORDER_LIMIT);
		return;
	}
	if (rq->create &&
	    (rq->size < PM_MIN_REGION_SIZE || rq->size % PM_PAGE_SIZE)) {
		reply_error(s, rq, EINVAL,
			    "create needs a size of at least 8M, a multiple "
			    "of 4K");
		return;
	}
	rv = server_attach(s->srv, rq->region, rq->path, &o, err);
	if (rv < 0) {
		reply_error(s, rq, -rv, "%s", err);
		return;
	}
	region_info(server_region(s->srv, rq->region), &ri);
	send_reply(s, rq->id,
		   wire_region(s->obuf, SERVER_MAX_PACKET, rq->id,
			       WIRE_REGION_ATTACH, &ri));
}

static void
do_region_detach(struct session *s, const struct wire_request *rq)
{
	struct ops_waiter w;
	struct region *r;
	int rv;

	if (!access_admin(&s->conn.peer)) {
		reply_error(s, rq, EPERM, "only root may detach regions");
		return;
	}
	r = server_region(s->srv, rq->region);
	if (r == NULL) {
		reply_error(s, rq, ENOENT, "no region '%s' is attached",
			    rq->region);
		return;
	}
	/* Answered by on_op_done() at the final unpin (at once without
	 * pins). */
	w = waiter(s, rq);
	rv = ops_detach(s->srv, r, &w);
	if (rv == -EBUSY)
		reply_error(s, rq, EBUSY, "region '%s' is already detaching",
			    rq->region);
	else if (rv < 0)
		reply_error(s, rq, -rv, "cannot detach '%s'", rq->region);
}

static void
do_file_create(struct session *s, const struct wire_request *rq)
{
	struct region *r = find_region(s, rq, MAY_WRITE);
	struct inode *ino;
	struct file_info fi;
	int rv;

	if (r == NULL)
		return;
	if (rq->mode_set && rq->mode > 07777) {
		reply_error(s, rq, EINVAL, "mode %o is not a permission mode",
			    rq->mode);
		return;
	}
	rv = inode_create(&r->files, rq->name, rq->size,
			  rq->mode_set ? rq->mode : 0644, s->conn.peer.uid,
			  s->conn.peer.gid, &ino);
	s->mutated = r;
	if (rv < 0) {
		reply_error(s, rq, -rv, "cannot create '%s' in region '%s': %s",
			    rq->name, rq->region, inode_strerror(rv));
		return;
	}
	inode_info(ino, &fi);
	send_reply(s, rq->id,
		   wire_file(s->obuf, SERVER_MAX_PACKET, rq->id,
			     WIRE_FILE_CREATE, r->name, &fi));
}

static void
do_file_list(struct session *s, const struct wire_request *rq)
{
	struct region *r = find_region(s, rq, MAY_READ);
	struct file_info v[FILES_PER_PAGE];
	uint64_t next;
	size_t n;

	if (r == NULL)
		return;
	n = query_files(r, rq->cursor, v, FILES_PER_PAGE, &next);
	send_reply(s, rq->id,
		   wire_file_list(s->obuf, SERVER_MAX_PACKET, rq->id, r->name,
				  v, n, next < r->sb->inode_count, next));
}

static void
do_file_stat(struct session *s, const struct wire_request *rq)
{
	struct region *r = find_region(s, rq, MAY_READ);
	struct inode *ino;
	struct file_info fi;

	if (r == NULL || (ino = find_file(s, rq, r)) == NULL)
		return;
	inode_info(ino, &fi);
	send_reply(s, rq->id,
		   wire_file(s->obuf, SERVER_MAX_PACKET, rq->id, WIRE_FILE_STAT,
			     r->name, &fi));
}

static void
do_file_truncate(struct session *s, const struct wire_request *rq)
{
	struct region *r = find_region(s, rq, 0);
	struct ops_waiter w;
	struct inode *ino;
	struct file_info fi;
	int rv;

	if (r == NULL || (ino = find_file(s, rq, r)) == NULL)
		return;
	if (!access_may(&s->conn.peer, ino->uid, ino->gid, ino->mode,
			MAY_WRITE)) {
		reply_error(s, rq, EACCES, "file '%s' is not writable by you",
			    rq->name);
		return;
	}
	w = waiter(s, rq);
	rv = ops_truncate(s->srv, r, ino, rq->size, &w);
	if (rv == OPS_WAITING)
		return; /* on_op_done() answers at the final unpin */
	s->mutated = r;
	if (rv == -EBUSY) {
		reply_error(s, rq, EBUSY,
			    "a truncate of '%s' is already "
			    "pending",
			    rq->name);
		return;
	}
	if (rv < 0) {
		reply_error(s, rq, -rv, "cannot resize '%s' to %llu bytes: %s",
			    rq->name, (unsigned long long)rq->size,
			    inode_strerror(rv));
		return;
	}
	inode_info(ino, &fi);
	send_reply(s, rq->id,
		   wire_file(s->obuf, SERVER_MAX_PACKET, rq->id,
			     WIRE_FILE_TRUNCATE, r->name, &fi));
}

static void
do_file_remove(struct session *s, const struct wire_request *rq)
{
	struct region *r = find_region(s, rq, MAY_WRITE);
	struct inode *ino;
	int rv;

	if (r == NULL || (ino = find_file(s, rq, r)) == NULL)
		return;
	/* The sticky bit works as on /tmp: only the file's owner (or an
	 * administrator) may remove it from a shared region. */
	if ((r->mode & 01000) && !access_admin(&s->conn.peer) &&
	    s->conn.peer.uid != ino->uid && s->conn.peer.uid != r->uid) {
		reply_error(s, rq, EPERM,
			    "region '%s' is sticky and '%s' is not yours",
			    rq->region, rq->name);
		return;
	}
	rv = ops_remove(s->srv, r, ino);
	s->mutated = r;
	if (rv < 0) {
		reply_error(s, rq, -rv, "cannot remove '%s': %s", rq->name,
			    inode_strerror(rv));
		return;
	}
	send_reply(s, rq->id,
		   wire_empty(s->obuf, SERVER_MAX_PACKET, rq->id,
			      WIRE_FILE_REMOVE));
}

static void
do_lease_list(struct session *s, const struct wire_request *rq)
{
	send_page(s, rq,
		  query_lease_page(s->srv, &s->conn.peer, rq,
				   s->caps & WIRE_CAP_LISTING_HIDDEN, s->obuf,
				   SERVER_MAX_PACKET));
}

static void
do_grant_list(struct session *s, const struct wire_request *rq)
{
	send_page(s, rq,
		  query_grant_page(s->srv, &s->conn.peer, rq,
				   s->caps & WIRE_CAP_LISTING_HIDDEN, s->obuf,
				   SERVER_MAX_PACKET));
}

static uint32_t
pending_of(const struct client *c)
{
	return c->session ? (uint32_t)c->session->conn.out_count : 0;
}

static void
do_client_list(struct session *s, const struct wire_request *rq)
{
	send_page(s, rq,
		  query_client_page(s->srv, &s->conn.peer, rq, pending_of,
				    s->obuf, SERVER_MAX_PACKET));
}

static void
do_blockers(struct session *s, const struct wire_request *rq)
{
	send_page(s, rq,
		  query_blocker_page(s->srv, &s->conn.peer, rq,
				     s->caps & WIRE_CAP_BLOCKER_FIELDS,
				     s->caps & WIRE_CAP_LISTING_HIDDEN, s->obuf,
				     SERVER_MAX_PACKET));
}

typedef void (*handler_fn)(struct session *s, const struct wire_request *rq);

static const handler_fn handlers[WIRE_KIND_END] = {
	[WIRE_HELLO] = do_hello,
	[WIRE_STATUS] = do_status,
	[WIRE_REGION_LIST] = do_region_list,
	[WIRE_REGION_INFO] = do_region_info,
	[WIRE_REGION_ATTACH] = do_region_attach,
	[WIRE_REGION_DETACH] = do_region_detach,
	[WIRE_FILE_CREATE] = do_file_create,
	[WIRE_FILE_LIST] = do_file_list,
	[WIRE_FILE_STAT] = do_file_stat,
	[WIRE_FILE_TRUNCATE] = do_file_truncate,
	[WIRE_FILE_REMOVE] = do_file_remove,
	[WIRE_LEASE_ACQUIRE] = session_lease_acquire,
	[WIRE_LEASE_RELEASE] = session_lease_release,
	[WIRE_MAP] = session_map,
	[WIRE_UNMAP] = session_unmap,
	[WIRE_LEASE_LIST] = do_lease_list,
	[WIRE_LEASE_REVOKE] = session_lease_revoke,
	[WIRE_GRANT_LIST] = do_grant_list,
	[WIRE_CLIENT_LIST] = do_client_list,
	[WIRE_BLOCKERS] = do_blockers,
	[WIRE_TAKEN] = session_taken,
};

void
session_dispatch(struct session *s, const struct wire_request *rq)
{
	handler_fn h = NULL;

	/* wire.c refuses kinds it cannot fill; a kind it knows that has no
	 * handler here still gets an answer, never a jump through NULL. */
	if ((unsigned)rq->kind < WIRE_KIND_END)
		h = handlers[rq->kind];
	if (h == NULL) {
		reply_error(s, rq, EPROTO,
			    "request kind %u is not served by "
			    "this daemon",
			    (unsigned)rq->kind);
		return;
	}
	h(s, rq);
}

/* ---- connection -------------------------------------------------------- */

/* foreign -- a connection serves only the process that opened it (I6b):
 * its leases end when that process exits, so a forked child served on it
 * would map grants that end with its parent. Once the opener has exited,
 * no sender can be it, even one that has come to have its pid. */
static bool
foreign(const struct session *s, pid_t sender)
{
	return sender != s->conn.peer.pid || (s->client && s->client->exited);
}

/* refuse_foreign -- answer @sender's packet with EPERM, nothing else: no
 * state changes, no framing fault closing the owner's connection. */
static void
refuse_foreign(struct session *s, const uint8_t *buf, size_t len, pid_t sender)
{
	struct wire_request rq;
	const char *why = "";
	uint64_t id;
	int rv;

	/* Decoded only for the id; an id-less error would end the owner's
	 * connection, so what does not decode gets no answer. */
	rv = wire_request_decode(s->srv->wire, buf, len, &rq, &why);
	id = rv == -EPROTO ? 0 : rq.id;
	wire_request_free(&rq);
	if (id == 0)
		return;
	reply_error_id(s, id, EPERM,
		       "this connection belongs to pid %d; request sent by "
		       "pid %d: a forked child must connect anew",
		       (int)s->conn.peer.pid, (int)sender);
}

static void
on_packet(struct ipc_conn *c, const uint8_t *buf, size_t len, pid_t sender,
	  int fd)
{
	struct session *s = (struct session *)c;
	struct wire_request rq;
	const char *why = "";
	int rv;

	if (foreign(s, sender)) {
		if (fd >= 0)
			close(fd);
		refuse_foreign(s, buf, len, sender);
		return;
	}
	rv = wire_request_decode(s->srv->wire, buf, len, &rq, &why);
	s->srv->requests++;
	/* An fd only with a Hello that says a word table rides along. */
	if (fd >= 0 && (rv < 0 || rq.kind != WIRE_HELLO || !rq.words)) {
		close(fd);
		fatal(s, EBADMSG,
		      "unexpected file descriptor or control message from "
		      "client");
	} else if (rv == -EPROTO) {
		fatal(s, EPROTO, why);
	} else if (rv < 0) {
		reply_error(s, &rq, -rv, "%s", why);
	} else if (!s->hello && rq.kind != WIRE_HELLO) {
		fatal(s, EPROTO, "the first request must be Hello");
	} else {
		s->words_fd = fd;
		session_dispatch(s, &rq);
		if (s->words_fd >= 0)
			close(s->words_fd);
		s->words_fd = -1;
	}
	wire_request_free(&rq);
}

static void
on_error(struct ipc_conn *c, int err, const char *why)
{
	fatal((struct session *)c, err, why);
}

static void
on_close(struct ipc_conn *c)
{
	struct session *s = (struct session *)c;

	log_debug("client %llu (pid %d %s) disconnected",
		  (unsigned long long)s->id, (int)c->peer.pid, c->peer.comm);
	recall_forget(&s->srv->recall, s);
	server_forget(s->srv, &s->conn);
	if (s->client)
		ops_client_disconnected(s->client);
	server_conn_gone(s->srv, &s->conn);
	free(s->obuf);
	free(s);
}

int
session_open(struct server *srv, int fd)
{
	struct acct_proc *proc;
	struct session *s;
	uint64_t start;
	int rv;

	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->obuf = malloc(SERVER_MAX_PACKET)) == NULL) {
		free(s);
		close(fd);
		return -ENOMEM;
	}
	s->srv = srv;
	s->words_fd = -1;
	s->conn.on_packet = on_packet;
	s->conn.on_error = on_error;
	s->conn.on_close = on_close;
	rv = ipc_conn_open(srv->loop, &s->conn, srv->rx, fd, SERVER_MAX_PACKET,
			   srv->cfg->max_pending);
	if (rv < 0) {
		free(s->obuf);
		free(s);
		return rv;
	}
	/* Everything the connection makes the daemon hold is charged to its
	 * process (pid and start time name it for good) and its uid. */
	if (holder_start_time(s->conn.peer.pid, &start) < 0)
		start = 0;
	proc = account_proc_get(&srv->acct, (uint32_t)s->conn.peer.uid,
				(uint32_t)s->conn.peer.pid, start);
	s->conn.acct = &srv->acct;
	s->conn.proc = proc;
	server_conn_add(srv, &s->conn);
	rv = proc ? client_new(srv, &s->conn.peer, s, proc, ops_client_exited,
			       &s->client)
		  : -ENOMEM;
	if (rv < 0) {
		ipc_close(&s->conn); /* on_close unlinks and frees s */
		return rv;
	}
	s->id = s->client->id;
	log_debug("client %llu connected: pid %d uid %u gid %u (%s)",
		  (unsigned long long)s->id, (int)s->conn.peer.pid,
		  (unsigned)s->conn.peer.uid, (unsigned)s->conn.peer.gid,
		  s->conn.peer.comm);
	return 0;
}

void
session_close(struct session *s)
{
	ipc_close(&s->conn);
}

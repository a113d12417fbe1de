/* session.c -- one client connection: handshake, requests, replies.
 *
 * Every request is checked against the peer's credentials (SO_PEERCRED at
 * connect) the way a filesystem checks open(): a region is like a
 * directory whose owner, group and mode are its backing file's, a file
 * inside it has its own. Root, and the daemon's own user, administer.
 * A failed request is logged once here and answered with the same errno
 * and a message a person can act on.
 */
#include "session.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inode.h"
#include "log.h"
#include "region.h"
#include "server.h"
#include "wire.h"

#define FILES_PER_PAGE 200u /* FileInfo <= ~300 bytes: fits 64 KiB */
#define MAX_FOLIOS_PER_REPLY 8192u

enum { MAY_READ = 4, MAY_WRITE = 2 };

static bool
is_admin(const struct ipc_peer *p)
{
	return p->uid == 0 || p->uid == geteuid();
}

static bool
in_group(const struct ipc_peer *p, gid_t g)
{
	if (p->gid == g)
		return true;
	for (int i = 0; i < p->ngroups; i++)
		if (p->groups[i] == g)
			return true;
	return false;
}

/* may -- the owner/group/other check of a filesystem. */
static bool
may(const struct ipc_peer *p, uid_t owner, gid_t group, uint32_t mode,
    unsigned want)
{
	unsigned bits;

	if (is_admin(p))
		return true;
	if (p->uid == owner)
		bits = mode >> 6;
	else if (in_group(p, group))
		bits = mode >> 3;
	else
		bits = mode;
	return (bits & want) == want;
}

static void
send_reply(struct session *s, uint64_t id, ssize_t n)
{
	int rv;

	if (n < 0)
		n = wire_error(s->obuf, SERVER_MAX_PACKET, id, EMSGSIZE,
			       "reply does not fit in one packet");
	rv = ipc_send(&s->conn, s->obuf, (size_t)n, -1);
	if (rv == -ENOMEM || rv == -EMSGSIZE) {
		log_error("client %llu: cannot queue a reply: %s",
			  (unsigned long long)s->id, strerror(-rv));
		session_close(s);
	}
}

static void __attribute__((format(printf, 4, 5)))
reply_error(struct session *s, const struct wire_request *rq, int err,
	    const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (err < 0)
		err = -err;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("client %llu (pid %d %s): request %llu: %s (%s)",
		 (unsigned long long)s->id, (int)s->conn.peer.pid,
		 s->conn.peer.comm, (unsigned long long)rq->id, msg,
		 strerror(err));
	send_reply(s, rq->id,
		   wire_error(s->obuf, SERVER_MAX_PACKET, rq->id, err, msg));
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
static struct region *
find_region(struct session *s, const struct wire_request *rq, unsigned want)
{
	struct region *r = server_region(s->srv, rq->region);

	if (r == NULL) {
		reply_error(s, rq, ENOENT, "no region '%s' is attached",
			    rq->region);
		return NULL;
	}
	if (want && !may(&s->conn.peer, r->uid, r->gid, r->mode, want)) {
		reply_error(s, rq, EACCES, "region '%s' does not allow %s",
			    rq->region, want & MAY_WRITE ? "writing" : "reading");
		return NULL;
	}
	return r;
}

static struct inode *
find_file(struct session *s, const struct wire_request *rq, struct region *r)
{
	struct inode *ino = inode_lookup(r, rq->name);

	if (ino == NULL)
		reply_error(s, rq, ENOENT, "no file '%s' in region '%s'",
			    rq->name, rq->region);
	return ino;
}

static const char *
file_error(int err)
{
	switch (err) {
	case -EINVAL: return "invalid file name";
	case -ENAMETOOLONG: return "file name too long";
	case -EEXIST: return "file exists";
	case -ENOSPC: return "no space left in region";
	case -E2BIG: return "operation too large for one transaction";
	case -EIO: return "region I/O failure";
	default: return strerror(-err);
	}
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- handlers ---------------------------------------------------------- */

static void
do_hello(struct session *s, const struct wire_request *rq)
{
	const struct config *c = s->srv->cfg;
	struct wire_limits l = {
		.max_packet = SERVER_MAX_PACKET,
		.max_leases = c->max_leases,
		.max_grants = c->max_grants,
		.max_pending = c->max_pending,
		.max_folios_per_reply = MAX_FOLIOS_PER_REPLY,
		.max_name = PM_NAME_MAX,
	};

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
	snprintf(s->name, sizeof(s->name), "%s", rq->client_name);
	send_reply(s, rq->id,
		   wire_hello(s->obuf, SERVER_MAX_PACKET, rq->id, &l, s->id));
}

static void
do_status(struct session *s, const struct wire_request *rq)
{
	struct server *srv = s->srv;
	struct wire_status st = {
		.pid = (uint32_t)getpid(),
		.uptime_ms = now_ms() - srv->start_ms,
		.regions = (uint32_t)srv->nregions,
		.clients = srv->nsessions,
	};

	send_reply(s, rq->id,
		   wire_status(s->obuf, SERVER_MAX_PACKET, rq->id, &st));
}

static void
do_region_list(struct session *s, const struct wire_request *rq)
{
	struct region_info v[CONFIG_MAX_REGIONS];
	size_t n = s->srv->nregions;

	for (size_t i = 0; i < n; i++)
		region_info(s->srv->regions[i], &v[i]);
	send_reply(s, rq->id,
		   wire_region_list(s->obuf, SERVER_MAX_PACKET, rq->id, v, n));
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

	if (!is_admin(&s->conn.peer)) {
		reply_error(s, rq, EPERM, "only root may attach regions");
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
	if (rq->create && (rq->size < PM_MIN_REGION_SIZE ||
			   rq->size % PM_PAGE_SIZE)) {
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
	if (!is_admin(&s->conn.peer)) {
		reply_error(s, rq, EPERM, "only root may detach regions");
		return;
	}
	if (server_detach(s->srv, rq->region) < 0) {
		reply_error(s, rq, ENOENT, "no region '%s' is attached",
			    rq->region);
		return;
	}
	send_reply(s, rq->id,
		   wire_empty(s->obuf, SERVER_MAX_PACKET, rq->id,
			      WIRE_REGION_DETACH));
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
	rv = inode_create(r, rq->name, rq->size,
			  rq->mode_set ? rq->mode : 0644, s->conn.peer.uid,
			  s->conn.peer.gid, &ino);
	if (rv < 0) {
		reply_error(s, rq, -rv, "cannot create '%s' in region '%s': %s",
			    rq->name, rq->region, file_error(rv));
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
	uint64_t slot;
	size_t n = 0;

	if (r == NULL)
		return;
	for (slot = rq->cursor; slot < r->sb->inode_count; slot++) {
		struct inode *ino = inode_at(r, (uint32_t)slot);

		if (ino == NULL || ino->orphan)
			continue;
		if (n == FILES_PER_PAGE)
			break;
		inode_info(ino, &v[n++]);
	}
	send_reply(s, rq->id,
		   wire_file_list(s->obuf, SERVER_MAX_PACKET, rq->id, r->name,
				  v, n, slot < r->sb->inode_count, slot));
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
		   wire_file(s->obuf, SERVER_MAX_PACKET, rq->id,
			     WIRE_FILE_STAT, r->name, &fi));
}

static void
do_file_truncate(struct session *s, const struct wire_request *rq)
{
	struct region *r = find_region(s, rq, 0);
	struct inode *ino;
	struct file_info fi;
	int rv;

	if (r == NULL || (ino = find_file(s, rq, r)) == NULL)
		return;
	if (!may(&s->conn.peer, ino->uid, ino->gid, ino->mode, MAY_WRITE)) {
		reply_error(s, rq, EACCES, "file '%s' is not writable by you",
			    rq->name);
		return;
	}
	rv = inode_resize(r, ino, rq->size);
	if (rv < 0) {
		reply_error(s, rq, -rv, "cannot resize '%s' to %llu bytes: %s",
			    rq->name, (unsigned long long)rq->size,
			    file_error(rv));
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
	if ((r->mode & 01000) && !is_admin(&s->conn.peer) &&
	    s->conn.peer.uid != ino->uid && s->conn.peer.uid != r->uid) {
		reply_error(s, rq, EPERM,
			    "region '%s' is sticky and '%s' is not yours",
			    rq->region, rq->name);
		return;
	}
	rv = inode_unlink(r, ino);
	if (rv < 0) {
		reply_error(s, rq, -rv, "cannot remove '%s': %s", rq->name,
			    file_error(rv));
		return;
	}
	send_reply(s, rq->id,
		   wire_empty(s->obuf, SERVER_MAX_PACKET, rq->id,
			      WIRE_FILE_REMOVE));
}

static void
do_not_implemented(struct session *s, const struct wire_request *rq)
{
	reply_error(s, rq, ENOSYS,
		    "leases, grants and recall are not implemented in this "
		    "version of pagemapd");
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
	[WIRE_LEASE_ACQUIRE] = do_not_implemented,
	[WIRE_LEASE_RELEASE] = do_not_implemented,
	[WIRE_MAP] = do_not_implemented,
	[WIRE_UNMAP] = do_not_implemented,
	[WIRE_LEASE_LIST] = do_not_implemented,
	[WIRE_LEASE_REVOKE] = do_not_implemented,
	[WIRE_GRANT_LIST] = do_not_implemented,
	[WIRE_CLIENT_LIST] = do_not_implemented,
	[WIRE_BLOCKERS] = do_not_implemented,
};

/* ---- connection -------------------------------------------------------- */

static void
on_packet(struct ipc_conn *c, const uint8_t *buf, size_t len)
{
	struct session *s = (struct session *)c;
	struct wire_request rq;
	const char *why = "";
	int rv;

	rv = wire_request_decode(buf, len, &rq, &why);
	if (rv == -EPROTO) {
		fatal(s, EPROTO, why);
	} else if (rv < 0) {
		reply_error(s, &rq, -rv, "%s", why);
	} else if (!s->hello && rq.kind != WIRE_HELLO) {
		fatal(s, EPROTO, "the first request must be Hello");
	} else {
		handlers[rq.kind](s, &rq);
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
	server_session_gone(s->srv, s);
	free(s->obuf);
	free(s);
}

int
session_open(struct server *srv, int fd)
{
	struct session *s;
	int rv;

	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->obuf = malloc(SERVER_MAX_PACKET)) == NULL) {
		free(s);
		close(fd);
		return -ENOMEM;
	}
	s->srv = srv;
	s->conn.on_packet = on_packet;
	s->conn.on_error = on_error;
	s->conn.on_close = on_close;
	rv = ipc_conn_open(srv->loop, &s->conn, fd, SERVER_MAX_PACKET,
			   srv->cfg->max_pending);
	if (rv < 0) {
		free(s->obuf);
		free(s);
		return rv;
	}
	s->id = ++srv->next_client_id;
	s->conn.poll.data = &s->conn;
	s->next = srv->sessions;
	if (s->next)
		s->next->prev = s;
	srv->sessions = s;
	srv->nsessions++;
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

/* session_lease.c -- a session's lease and grant requests: take and
 * release a lease (with the region fd it needs), map and unmap (grants),
 * revoke. session.c decodes and dispatches; these decide the reply.
 */
#include "session_int.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "access.h"
#include "account.h"
#include "client.h"
#include "gtable.h"
#include "inode.h"
#include "inode_io.h"
#include "lease.h"
#include "ops.h"
#include "region.h"
#include "server.h"
#include "session.h"
#include "wire.h"

/* own_lease -- the lease @rq names, if it is this client's; NULL after
 * replying otherwise. */
static struct lease *
own_lease(struct session *s, const struct wire_request *rq)
{
	struct lease *l = client_lease_find(s->srv, rq->lease_id);

	if (l == NULL) {
		reply_error(s, rq, ENOENT,
			    "no lease %llu (ended, revoked or "
			    "never taken)",
			    (unsigned long long)rq->lease_id);
		return NULL;
	}
	if (client_owner(l) != s->client) {
		reply_error(s, rq, EPERM,
			    "lease %llu belongs to another "
			    "client",
			    (unsigned long long)rq->lease_id);
		return NULL;
	}
	return l;
}

/* refuse_quota -- answer @rq with EDQUOT and the limit @why names, and
 * log it (at most once a second per uid). */
static void
refuse_quota(struct session *s, const struct wire_request *rq, const char *what,
	     const struct acct_refusal *why)
{
	char msg[192];

	account_refusal_str(why, msg, sizeof(msg));
	server_refused(s->srv, (uint32_t)s->conn.peer.uid, what, msg);
	reply_error(s, rq, EDQUOT, "%s", msg);
}

/* fd_to_send -- the region fd this lease reply must carry, or -1: each
 * region's fd goes to a connection once, read-only for read-only
 * access, and again read-write when a write lease first needs it. */
static int
fd_to_send(struct session *s, const struct region *r, bool rw)
{
	uint32_t i;

	for (i = 0; i < s->nfds; i++)
		if (s->fds[i].serial == r->serial)
			break;
	if (i < s->nfds && (s->fds[i].rw || !rw))
		return -1;
	if (i == s->nfds) {
		if (s->nfds == sizeof(s->fds) / sizeof(s->fds[0]))
			i = 0; /* forget the oldest: the client may get it twice
				*/
		else
			s->nfds++;
	}
	s->fds[i].serial = r->serial;
	s->fds[i].rw = rw;
	return rw ? r->fd : r->ro_fd;
}

void
session_lease_acquire(struct session *s, const struct wire_request *rq)
{
	bool rw = rq->access == LEASE_WRITE;
	unsigned want = rw ? MAY_WRITE : MAY_READ;
	struct wire_lease_acquired a = {0};
	struct acct_refusal why = {0};
	struct region *r;
	struct inode *ino;
	struct lease *l;
	ssize_t n;
	int rv, fd;

	if (rq->access != LEASE_READ && rq->access != LEASE_WRITE) {
		reply_error(s, rq, EINVAL, "access must be read or write");
		return;
	}
	if (s->srv->stopping) {
		reply_error(s, rq, ESHUTDOWN, "pagemapd is shutting down");
		return;
	}
	r = find_region(s, rq, want);
	if (r == NULL || (ino = find_file(s, rq, r)) == NULL)
		return;
	if (!access_may(&s->conn.peer, ino->uid, ino->gid, ino->mode, want)) {
		reply_error(s, rq, EACCES, "file '%s' is not %s by you",
			    rq->name, rw ? "writable" : "readable");
		return;
	}
	rv = client_lease_acquire(s->client, r, ino,
				  (enum lease_access)rq->access, &l, &why);
	if (rv < 0) {
		if (rv == -EDQUOT)
			refuse_quota(s, rq, "a lease", &why);
		else if (rv == -EBUSY)
			reply_error(s, rq, EBUSY, "region '%s' is detaching",
				    r->name);
		else
			reply_error(s, rq, -rv, "cannot take a lease on '%s'",
				    rq->name);
		return;
	}
	fd = fd_to_send(s, r, rw);
	a.lease_id = l->id;
	a.ino = inode_ino(ino);
	a.size = ino->size;
	a.max_order = r->sb->max_order;
	a.region_size = r->sb->region_size;
	a.fd_attached = fd >= 0;
	n = wire_lease_acquire(s->obuf, SERVER_MAX_PACKET, rq->id, &a);
	send_packet(s, rq->id, n, fd);
}

void
session_lease_release(struct session *s, const struct wire_request *rq)
{
	struct lease *l = own_lease(s, rq);

	if (l == NULL)
		return;
	if (ops_lease_release(s->srv, l) == -EBUSY) {
		reply_error(s, rq, EBUSY,
			    "lease %llu still has %zu grant(s); "
			    "return them first",
			    (unsigned long long)l->id, l->ngrants);
		return;
	}
	reply_empty(s, rq->id, WIRE_LEASE_RELEASE);
}

/* folios_per_reply -- what fits in a packet: an order byte and a region
 * offset varint per folio, and with @words a slot and a generation varint
 * (5 bytes each at most). */
static size_t
folios_per_reply(const struct region *r, bool words)
{
	uint64_t v = r->sb->region_size;
	size_t bytes = 1, n;

	while (v >>= 7)
		bytes++;
	if (words)
		bytes += 10;
	n = (SERVER_MAX_PACKET - 512) / (bytes + 1);
	return n < SERVER_MAX_FOLIOS_PER_REPLY ? n
					       : SERVER_MAX_FOLIOS_PER_REPLY;
}

uint32_t
session_words_per_process(const struct server *srv)
{
	uint64_t n = srv->cfg->max_grants;

	return n > SERVER_MAX_WORDS ? SERVER_MAX_WORDS : n ? (uint32_t)n : 1;
}

void
session_map(struct session *s, const struct wire_request *rq)
{
	struct server *srv = s->srv;
	struct acct_refusal why = {0};
	const struct grant *v;
	uint64_t next_pg, pg, words_id = 0;
	size_t ahead;
	struct gtable *t = NULL;
	struct lease *l;
	bool words;
	int k, fd = -1;

	if (srv->stopping) {
		reply_error(s, rq, ESHUTDOWN, "pagemapd is shutting down");
		return;
	}
	l = own_lease(s, rq);
	if (l == NULL)
		return;
	if (rq->length == 0 || rq->offset + rq->length < rq->offset) {
		reply_error(s, rq, EINVAL, "empty or overflowing range");
		return;
	}
	/* Words only for a client that keeps grants cached, and only for
	 * the maps it asks them for (its raw grants are returned by Unmap). */
	words = rq->words && (s->caps & WIRE_CAP_CACHED_GRANTS);
	if (words)
		t = client_words(s->client, session_words_per_process(srv));
	pg = rq->offset >> PM_PAGE_SHIFT;
	k = ops_map(srv, l, pg, layout_pages(rq->offset + rq->length) - pg,
		    (enum lease_access)rq->access, t != NULL,
		    folios_per_reply(l->region, words), &v, &next_pg, &ahead);
	switch (k) {
	case -EDQUOT:
		(void)client_grant_room(s->client, &why);
		refuse_quota(s, rq, "grants", &why);
		return;
	case -ENOMEM:
		reply_error(s, rq, ENOMEM, "out of memory");
		return;
	case -EIO:
		if (l->region->data_error[0] != '\0') {
			reply_error(s, rq, EIO, "region '%s': %s",
				    l->region->name, l->region->data_error);
			return;
		}
		reply_error(s, rq, EIO, "cannot map: %s", inode_strerror(k));
		return;
	case -EBUSY:
		reply_error(s, rq, EBUSY,
			    "a recall is pending over this range "
			    "of '%s' (%s)",
			    l->ino->name,
			    l->revoking ? "the lease is being revoked"
			    : l->region->detaching ? "the region is detaching"
						   : "a truncate waits");
		return;
	case -ENXIO:
		reply_error(s, rq, ENXIO,
			    "range past the end of '%s' (%llu "
			    "bytes allocated)",
			    l->ino->name,
			    (unsigned long long)(layout_pages(l->ino->size)
						 << PM_PAGE_SHIFT));
		return;
	case -EACCES:
		reply_error(s, rq, EACCES, "lease %llu is read-only",
			    (unsigned long long)l->id);
		return;
	default:
		if (k < 0) {
			reply_error(s, rq, -k, "cannot map: %s",
				    inode_strerror(k));
			return;
		}
	}
	/* The table goes to each connection once, on its first map reply
	 * that has words. */
	if (t && !s->words_sent) {
		fd = t->fd;
		words_id = t->id;
		s->words_sent = true;
	}
	send_packet(s, rq->id,
		    wire_map(s->srv->wire, s->obuf, SERVER_MAX_PACKET, rq->id,
			     v, (size_t)k, next_pg << PM_PAGE_SHIFT, words,
			     words_id, ahead),
		    fd);
}

void
session_taken(struct session *s, const struct wire_request *rq)
{
	/* One-way: a holder's claim is checked word by word, and a claim
	 * that does not hold is ignored, so there is nothing to answer. */
	if (s->caps & WIRE_CAP_CACHED_GRANTS)
		ops_taken(s->srv, s->client, rq->slots, rq->gens,
			  rq->n_slots);
}

void
session_unmap(struct session *s, const struct wire_request *rq)
{
	struct lease *l = own_lease(s, rq);
	uint64_t returned, pg, n;

	if (l == NULL)
		return;
	/* Length 0 returns everything; the range is rounded out to pages. */
	pg = rq->offset >> PM_PAGE_SHIFT;
	n = rq->length == 0 ? UINT64_MAX - pg
			    : layout_pages(rq->offset + rq->length) - pg;
	returned = ops_unmap(s->srv, l, pg, n);
	send_reply(s, rq->id,
		   wire_unmap(s->obuf, SERVER_MAX_PACKET, rq->id, returned));
}

void
session_lease_revoke(struct session *s, const struct wire_request *rq)
{
	struct lease *l = client_lease_find(s->srv, rq->lease_id);
	const struct ipc_peer *p = &s->conn.peer;
	struct ops_waiter w;
	int rv;

	if (l == NULL) {
		reply_error(s, rq, ENOENT, "no lease %llu",
			    (unsigned long long)rq->lease_id);
		return;
	}
	/* The holder, the file's owner and administrators may revoke. */
	if (!access_admin(p) && p->uid != client_owner(l)->uid &&
	    p->uid != l->ino->uid) {
		reply_error(s, rq, EPERM,
			    "lease %llu is neither yours nor on "
			    "a file you own",
			    (unsigned long long)l->id);
		return;
	}
	/* Answered by on_op_done() when the lease has ended. */
	w = waiter(s, rq);
	rv = ops_revoke(s->srv, l, &w);
	if (rv == -EBUSY)
		reply_error(s, rq, EBUSY,
			    "a revoke of lease %llu is already "
			    "pending",
			    (unsigned long long)rq->lease_id);
	else if (rv < 0)
		reply_error(s, rq, -rv, "cannot revoke");
}

/* recall.c -- operations that wait for the final unpin.
 *
 * Nothing is freed while a grant on it is outstanding (I1, I4): truncate,
 * revoke and detach become pending operations that recall the grants in
 * their scope and complete at the final return, while the loop keeps
 * serving everyone else. recall_check() is cheap when nothing is pending,
 * so every return, lease end and process exit may call it.
 */
#include "recall.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "inode.h"
#include "lease.h"
#include "log.h"
#include "notify.h"
#include "region.h"
#include "server.h"
#include "session.h"

static uint64_t
pages_of(uint64_t size)
{
	return (size + PM_PAGE_SIZE - 1) >> PM_PAGE_SHIFT;
}

static const char *
op_name(const struct pending *p)
{
	switch (p->kind) {
	case PENDING_REVOKE: return "revoke";
	case PENDING_TRUNCATE: return "truncate";
	case PENDING_DETACH: return p->shutdown ? "shutdown" : "detach";
	}
	return "?";
}

static void
send_recall(struct lease *l, uint64_t off, uint64_t len, const char *reason)
{
	struct client *c = client_owner(l);

	if (c->session)
		session_send_recall(c->session, l->id, off, len, reason);
}

/* in_scope -- grants of @l that @p waits for. */
static uint64_t
in_scope(const struct pending *p, const struct lease *l)
{
	switch (p->kind) {
	case PENDING_REVOKE:
		return l == p->lease ? l->ngrants : 0;
	case PENDING_TRUNCATE:
		return l->ino == p->ino ? lease_grants_from(l, p->from_pg) : 0;
	case PENDING_DETACH:
		return l->region == p->region ? l->ngrants : 0;
	}
	return 0;
}

/* recall_scope -- send the recall event of @p to every holder in scope
 * (only @only's leases when it is not NULL). */
static void
recall_scope(struct pending *p, const struct client *only)
{
	struct region *r = p->region;
	uint64_t len = 0, off = 0;

	if (p->kind == PENDING_TRUNCATE) {
		off = p->from_pg << PM_PAGE_SHIFT;
		len = (pages_of(p->ino->size) - p->from_pg) << PM_PAGE_SHIFT;
	}
	for (uint32_t slot = 0; slot < r->sb->inode_count; slot++) {
		struct inode *ino = inode_at(r, slot);

		if (ino == NULL || (p->ino && ino != p->ino))
			continue;
		for (struct lease *l = ino->leases; l; l = l->ino_next) {
			if ((only && client_owner(l) != only) ||
			    in_scope(p, l) == 0)
				continue;
			send_recall(l, off, len, op_name(p));
		}
	}
}

static void
on_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

/* finish -- unlink @p, answer its requester with @err (0: success, the
 * reply built by @p's kind) and free it. */
static void
finish(struct pending *p, int err, const char *msg)
{
	struct server *srv = p->srv;
	struct session *s = p->waiter;

	if (p->prev)
		p->prev->next = p->next;
	else
		srv->pendings = p->next;
	if (p->next)
		p->next->prev = p->prev;
	srv->npending--;
	if (s && err)
		session_reply_error(s, p->req_id, err, "%s", msg);
	else if (s && p->kind == PENDING_REVOKE)
		session_reply_empty(s, p->req_id, WIRE_LEASE_REVOKE);
	else if (s && p->kind == PENDING_DETACH)
		session_reply_empty(s, p->req_id, WIRE_REGION_DETACH);
	else if (s)
		session_reply_file(s, p->req_id, p->region->name, p->ino);
	uv_timer_stop(&p->timer);
	uv_close((uv_handle_t *)&p->timer, on_timer_closed);
}

static bool
satisfied(const struct pending *p)
{
	switch (p->kind) {
	case PENDING_REVOKE:
		return p->lease->ngrants == 0;
	case PENDING_TRUNCATE:
		return inode_grants_from(p->ino, p->from_pg) == 0;
	case PENDING_DETACH:
		return p->region->pins == 0;
	}
	return false;
}

/* complete -- the final unpin has happened: do the operation. */
static void
complete(struct pending *p)
{
	struct server *srv = p->srv;
	char name[REGION_NAME_MAX + 1];
	uint64_t id;
	int rv;

	switch (p->kind) {
	case PENDING_REVOKE:
		/* Ending the lease calls recall_lease_gone(), which finishes
		 * this pending operation with success (and replies, so the
		 * log line comes after). */
		id = p->lease->id;
		client_lease_end(p->lease);
		log_info("lease %llu revoked", (unsigned long long)id);
		return;
	case PENDING_TRUNCATE:
		p->ino->trunc_pg = UINT64_MAX;
		rv = inode_resize(p->region, p->ino, p->size);
		if (rv < 0) {
			finish(p, rv, "the resize failed after the recall");
			return;
		}
		log_info("truncate of '%s/%s' to %llu completed after its "
			 "recall",
			 p->region->name, p->ino->orphan ? "(orphan)"
							 : p->ino->name,
			 (unsigned long long)p->size);
		finish(p, 0, NULL);
		return;
	case PENDING_DETACH:
		/* No pins are left; leases without grants end with it. */
		for (uint32_t slot = 0; slot < p->region->sb->inode_count;
		     slot++) {
			struct inode *ino = inode_at(p->region, slot);

			while (ino && ino->leases) {
				bool last = ino->orphan && ino->nleases == 1;

				client_lease_end(ino->leases);
				if (last)
					break; /* the orphan is freed */
			}
		}
		snprintf(name, sizeof(name), "%s", p->region->name);
		finish(p, 0, NULL);
		server_detach(srv, name);
		return;
	}
}

void
recall_check(struct server *srv)
{
	static bool running, again;

	if (srv->pendings == NULL)
		return;
	/* Completing one operation ends leases, which checks again:
	 * flatten that recursion into this loop. */
	if (running) {
		again = true;
		return;
	}
	running = true;
	do {
		again = false;
		for (struct pending *p = srv->pendings; p; p = p->next) {
			if (satisfied(p)) {
				complete(p);
				again = true;
				break;
			}
		}
	} while (again);
	running = false;
	server_progress(srv);
}

/* describe -- "what still blocks" for a timeout message. */
static void
describe(const struct pending *p, char *buf, size_t len)
{
	struct blocker b[8];
	size_t n, off;

	n = recall_blockers(p->srv, p->region->name, p->ino ? p->ino->name
							    : NULL,
			    b, 8);
	off = (size_t)snprintf(buf, len, "timed out; the %s stays pending "
					 "until these grants are returned:",
			       op_name(p));
	for (size_t i = 0, k = 0; i < n && i < 8 && off < len; i++) {
		if (strcmp(b[i].op, op_name(p)) != 0)
			continue;
		off += (size_t)snprintf(buf + off, len - off,
					"%s lease %llu (pid %u %s, %llu "
					"grants)",
					k++ ? "," : "",
					(unsigned long long)b[i].lease_id,
					b[i].pid, b[i].comm,
					(unsigned long long)b[i].grants);
	}
}

static void
on_timeout(uv_timer_t *t)
{
	struct pending *p = t->data;
	char msg[1024];

	if (p->waiter == NULL)
		return;
	describe(p, msg, sizeof(msg));
	session_reply_error(p->waiter, p->req_id, ETIMEDOUT, "%s", msg);
	p->waiter = NULL;
}

static struct pending *
pending_new(struct server *srv, enum pending_kind kind, struct region *r,
	    struct session *waiter, uint64_t req_id, uint32_t timeout_ms)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->kind = kind;
	p->srv = srv;
	p->region = r;
	p->waiter = waiter;
	p->req_id = req_id;
	uv_timer_init(srv->loop, &p->timer);
	p->timer.data = p;
	if (timeout_ms)
		uv_timer_start(&p->timer, on_timeout, timeout_ms, 0);
	p->next = srv->pendings;
	if (p->next)
		p->next->prev = p;
	srv->pendings = p;
	srv->npending++;
	return p;
}

int
recall_revoke(struct server *srv, struct lease *l, struct session *waiter,
	      uint64_t req_id, uint32_t timeout_ms)
{
	struct pending *p;

	if (l->revoking)
		return -EBUSY;
	p = pending_new(srv, PENDING_REVOKE, l->region, waiter, req_id,
			timeout_ms);
	if (p == NULL)
		return -ENOMEM;
	p->lease = l;
	p->ino = l->ino;
	l->revoking = true;
	if (l->ngrants)
		send_recall(l, 0, 0, "revoke");
	recall_check(srv);
	return 0;
}

int
recall_truncate(struct server *srv, struct region *r, struct inode *ino,
		uint64_t size, struct session *waiter, uint64_t req_id,
		uint32_t timeout_ms)
{
	struct pending *p;

	if (ino->trunc_pg != UINT64_MAX)
		return -EBUSY;
	p = pending_new(srv, PENDING_TRUNCATE, r, waiter, req_id, timeout_ms);
	if (p == NULL)
		return -ENOMEM;
	p->ino = ino;
	p->size = size;
	p->from_pg = pages_of(size);
	ino->trunc_pg = p->from_pg;
	recall_scope(p, NULL);
	recall_check(srv);
	return 0;
}

int
recall_detach(struct server *srv, struct region *r, struct session *waiter,
	      uint64_t req_id, uint32_t timeout_ms, bool shutdown)
{
	struct pending *p;

	if (r->detaching)
		return -EBUSY;
	p = pending_new(srv, PENDING_DETACH, r, waiter, req_id, timeout_ms);
	if (p == NULL)
		return -ENOMEM;
	p->shutdown = shutdown;
	r->detaching = true;
	if (r->pins)
		log_info("region '%s': %s waits for %llu grant(s)", r->name,
			 op_name(p), (unsigned long long)r->pins);
	recall_scope(p, NULL);
	recall_check(srv);
	return 0;
}

void
recall_lease_gone(struct server *srv, struct lease *l)
{
	for (struct pending *p = srv->pendings, *next; p; p = next) {
		next = p->next;
		if (p->kind == PENDING_REVOKE && p->lease == l)
			finish(p, 0, NULL);
	}
}

void
recall_inode_gone(struct server *srv, struct inode *ino)
{
	for (struct pending *p = srv->pendings, *next; p; p = next) {
		next = p->next;
		if (p->kind == PENDING_TRUNCATE && p->ino == ino)
			finish(p, ENOENT,
			       "the file was removed and freed while the "
			       "truncate waited");
	}
}

void
recall_region_gone(struct server *srv, struct region *r)
{
	for (struct pending *p = srv->pendings, *next; p; p = next) {
		next = p->next;
		if (p->region == r)
			finish(p, ENOENT, "the region was detached");
	}
}

void
recall_session_gone(struct server *srv, struct session *s)
{
	for (struct pending *p = srv->pendings; p; p = p->next)
		if (p->waiter == s)
			p->waiter = NULL;
}

void
recall_resend(struct server *srv, struct client *c)
{
	for (struct pending *p = srv->pendings; p; p = p->next)
		recall_scope(p, c);
}

static bool
matches(const struct pending *p, const char *region, const char *name)
{
	if (region && strcmp(p->region->name, region) != 0)
		return false;
	if (name && p->ino && strcmp(p->ino->name, name) != 0)
		return false;
	return true;
}

size_t
recall_blockers(const struct server *srv, const char *region,
		const char *name, struct blocker *out, size_t max)
{
	size_t n = 0;

	for (const struct pending *p = srv->pendings; p; p = p->next) {
		struct region *r = p->region;

		if (!matches(p, region, name))
			continue;
		for (uint32_t slot = 0; slot < r->sb->inode_count; slot++) {
			const struct inode *ino = inode_at(r, slot);

			if (ino == NULL || (p->ino && ino != p->ino) ||
			    (name && strcmp(ino->name, name) != 0))
				continue;
			for (const struct lease *l = ino->leases; l;
			     l = l->ino_next) {
				const struct client *c = client_owner(l);
				uint64_t k = in_scope(p, l);
				struct blocker *b = &out[n];

				if (k == 0)
					continue;
				if (n++ >= max)
					continue;
				b->op = op_name(p);
				if (p->kind == PENDING_DETACH)
					snprintf(b->target, sizeof(b->target),
						 "%s", r->name);
				else if (p->kind == PENDING_TRUNCATE)
					snprintf(b->target, sizeof(b->target),
						 "%s/%s to %llu", r->name,
						 ino->name,
						 (unsigned long long)p->size);
				else
					snprintf(b->target, sizeof(b->target),
						 "lease %llu on %s/%s",
						 (unsigned long long)l->id,
						 r->name, ino->name);
				b->lease_id = l->id;
				b->client_id = c->id;
				b->pid = (uint32_t)c->pid;
				memcpy(b->comm, c->comm, sizeof(b->comm));
				b->grants = k;
			}
		}
	}
	return n;
}

uint32_t
recall_pending(const struct server *srv)
{
	return srv->npending;
}

/* ops.c -- the daemon's domain operations.
 *
 * The invariants of DESIGN §3 are decided here and nowhere else: whether a
 * truncate resizes now or recalls first (I4), whether a remove frees now or
 * leaves an orphan for the final unpin (I3), that granted pages are no
 * holes, that the end of a lease frees the orphan it was the last lease of,
 * that a process which lives on keeps its grants (I5). The recall state
 * machine (recall.c) is driven from here: every return, lease end and
 * process exit checks it, its ready hook does the operation that waited,
 * and one timer of the server drives the callers' deadlines.
 */
#include "ops.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "client.h"
#include "inode.h"
#include "inode_io.h"
#include "log.h"
#include "notify.h"
#include "region.h"
#include "server.h"

#define MAP_FOLIOS_MAX 8192u /* folios in one map reply, at most */

/* check -- let every operation whose grants are back complete, and let a
 * stop see its progress. */
static void
check(struct server *srv)
{
	bool any = recall_pending(&srv->recall) != 0;

	recall_check(&srv->recall);
	if (any)
		server_progress(srv);
}

static void arm(struct server *srv);

static void
on_deadline(uv_timer_t *t)
{
	struct server *srv = t->data;

	recall_expire(&srv->recall, uv_now(srv->loop));
	arm(srv);
}

/* arm -- run the deadline timer for the earliest caller still waiting. */
static void
arm(struct server *srv)
{
	uint64_t next = recall_next_deadline(&srv->recall);
	uint64_t now = uv_now(srv->loop);

	if (next == 0) {
		uv_timer_stop(&srv->recall_timer);
		return;
	}
	srv->recall_timer.data = srv;
	uv_timer_start(&srv->recall_timer, on_deadline,
		       next > now ? next - now : 0, 0);
}

static struct recall_waiter
waiter_of(const struct server *srv, const struct ops_waiter *w)
{
	struct recall_waiter rw = {0};

	if (w) {
		rw.cb = w->cb;
		rw.arg = w->arg;
		rw.id = w->id;
		if (w->timeout_ms)
			rw.deadline = uv_now(srv->loop) + w->timeout_ms;
	}
	return rw;
}

/* ---- leases ----------------------------------------------------------- */

/* lease_end -- end @l, whose grants are all back; a disconnected client
 * whose last lease it was goes with it (unless its leases are being ended
 * one by one), and so does an orphan whose last lease it was (I3). */
static void
lease_end(struct server *srv, struct lease *l)
{
	struct client *c = client_owner(l);
	struct region *r = l->region;
	struct inode *ino = l->ino;

	recall_lease_gone(&srv->recall, l);
	client_lease_drop(l);
	if (client_idle(c))
		client_free(c);
	if (ino->orphan && ino->nleases == 0) {
		int rv;

		recall_inode_gone(&srv->recall, ino);
		rv = inode_unlink(&r->files, ino);
		if (rv < 0)
			log_error("region '%s': cannot free an orphan: %s; the "
				  "next attach will",
				  r->name, strerror(-rv));
	}
	check(srv);
}

/* drop_all -- every grant and lease of @c ends (I5: only once its process
 * is gone or it cannot be told alive). */
static void
drop_all(struct server *srv, struct client *c)
{
	struct lease *l;

	client_keep(c, true);
	while ((l = client_first_lease(c)) != NULL) {
		client_unmap_all(l);
		lease_end(srv, l);
	}
	client_keep(c, false);
}

int
ops_lease_release(struct server *srv, struct lease *l)
{
	/* Cached grants go with the lease; mapped ones keep it. */
	if (l->ngrants && l->words)
		client_take_back(l, 0, UINT64_MAX);
	if (l->ngrants) {
		check(srv);
		return -EBUSY;
	}
	lease_end(srv, l);
	return 0;
}

/* ahead -- grant ahead from file page @pg: at most grant_ahead_folios
 * (and @max) folios over the file's pages up to its end that no grant of
 * @l covers, into @out; nothing is allocated or filled (they are granted
 * cached, for maps to come). Returns how many; none on any refusal. */
static size_t
ahead(struct server *srv, struct lease *l, uint64_t pg,
      enum lease_access access, struct grant *out, size_t max)
{
	uint64_t end = layout_pages(l->ino->size), next;
	size_t budget = srv->cfg->grant_ahead_folios;
	int k;

	if (budget > max)
		budget = max;
	if (budget == 0 || pg >= end)
		return 0;
	end = lease_ungranted_to(l, pg, end);
	if (end <= pg)
		return 0;
	k = lease_map_words(l, pg, end - pg, access, out, budget, &next);
	if (k <= 0)
		return 0;
	client_note_grants(l, (uint64_t)k);
	return (size_t)k;
}

int
ops_map(struct server *srv, struct lease *l, uint64_t pg, uint64_t n,
	enum lease_access access, bool words, size_t max,
	const struct grant **ret_v, uint64_t *ret_next_pg, size_t *ret_ahead)
{
	struct client *c = client_owner(l);
	uint64_t room;
	bool first = false;
	int k, nfill;

	*ret_ahead = 0;
	room = client_grant_room(c, NULL);
	if (room == 0)
		return -EDQUOT;
	/* Nothing is granted of a data file a client cut short (checked
	 * once per millisecond of the loop's clock: a pipelined burst of
	 * maps shares one fstat). */
	if (region_check_data(l->region, uv_now(srv->loop), &first) < 0) {
		if (first)
			log_error("region '%s': %s; it is failed: no more "
				  "grants or changes",
				  l->region->name, l->region->data_error);
		return -EIO;
	}
	/* A failed region is read-only (inode_io.h): read grants only. */
	if (access == LEASE_WRITE && l->region->files.failed)
		return -EROFS;
	if (srv->scratch == NULL) {
		srv->scratch = malloc(MAP_FOLIOS_MAX * sizeof(*srv->scratch));
		if (srv->scratch == NULL)
			return -ENOMEM;
	}
	if (max > MAP_FOLIOS_MAX)
		max = MAP_FOLIOS_MAX;
	if (max > room)
		max = (size_t)room;
	k = words ? lease_map_words(l, pg, n, access, srv->scratch, max,
				    ret_next_pg)
		  : lease_map(l, pg, n, access, srv->scratch, max,
			      ret_next_pg);
	if (k < 0)
		return k;
	client_note_grants(l, (uint64_t)k);
	/* Granted pages must not be holes under the client's first store
	 * (region_fill()); runs contiguous in the region take one call. A
	 * region of 4 KiB folios only has nothing to gain from large
	 * page-cache folios: its holes stay holes (no zeroes written). */
	nfill = l->region->sb->max_order > 0 ? k : 0;
	if (l->region->files.failed)
		nfill = 0; /* nothing is written to a failed region */
	for (int i = 0, j; i < nfill; i = j) {
		const struct grant *g = &srv->scratch[i];
		uint64_t np = 1ull << g->order;

		for (j = i + 1; j < nfill &&
				srv->scratch[j].region_pg == g->region_pg + np;
		     j++)
			np += 1ull << srv->scratch[j].order;
		if (region_fill(l->region, g->region_pg, np) < 0)
			log_warn("region '%s': cannot fill a hole before a "
				 "grant; the client maps it with small pages",
				 l->region->name);
	}
	if (words && l->words && *ret_next_pg == pg + n)
		*ret_ahead = ahead(srv, l, *ret_next_pg, access,
				   srv->scratch + k,
				   max - (size_t)k < room - (uint64_t)k
					   ? max - (size_t)k
					   : (size_t)(room - (uint64_t)k));
	*ret_v = srv->scratch;
	return k + (int)*ret_ahead;
}

uint64_t
ops_unmap(struct server *srv, struct lease *l, uint64_t pg, uint64_t n)
{
	uint64_t k = client_unmap(l, pg, n);

	if (k)
		check(srv);
	return k;
}

uint64_t
ops_taken(struct server *srv, struct client *c, const uint32_t *slots,
	  const uint32_t *gens, size_t n)
{
	uint64_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += (uint64_t)client_taken(c, slots[i], gens[i]);
	if (k)
		check(srv);
	return k;
}

/* ---- files ------------------------------------------------------------ */

int
ops_truncate(struct server *srv, struct region *r, struct inode *ino,
	     uint64_t size, const struct ops_waiter *w)
{
	struct recall_waiter rw;
	int rv;

	if (ino->trunc_pg != UINT64_MAX)
		return -EBUSY;
	if (r->files.failed)
		return -EROFS; /* before any recall */
	/* Shrinking over grants recalls them and resizes at the final
	 * unpin (I4). */
	if (size < ino->size && inode_grants_from(ino, layout_pages(size))) {
		rw = waiter_of(srv, w);
		rv = recall_truncate(&srv->recall, r, ino, size, &rw);
		if (rv < 0)
			return rv;
		arm(srv);
		return OPS_WAITING;
	}
	return inode_resize(&r->files, ino, size);
}

int
ops_remove(struct server *srv, struct region *r, struct inode *ino)
{
	(void)srv;
	/* I3: the name goes at once; a file still leased becomes an orphan,
	 * freed at the end of its last lease. */
	return ino->nleases ? inode_orphan(&r->files, ino)
			    : inode_unlink(&r->files, ino);
}

/* ---- operations that wait --------------------------------------------- */

int
ops_revoke(struct server *srv, struct lease *l, const struct ops_waiter *w)
{
	struct recall_waiter rw = waiter_of(srv, w);
	int rv = recall_revoke(&srv->recall, l, &rw);

	if (rv == 0)
		arm(srv);
	return rv;
}

static int
detach(struct server *srv, struct region *r, bool shutdown,
       const struct ops_waiter *w)
{
	struct recall_waiter rw = waiter_of(srv, w);
	int rv;

	if (r->detaching)
		return -EBUSY;
	if (r->pins)
		log_info("region '%s': %s waits for %llu grant(s)", r->name,
			 shutdown ? "shutdown" : "detach",
			 (unsigned long long)r->pins);
	rv = recall_detach(&srv->recall, r, shutdown, &rw);
	if (rv == 0) {
		arm(srv);
		server_progress(srv);
	}
	return rv;
}

int
ops_detach(struct server *srv, struct region *r, const struct ops_waiter *w)
{
	return detach(srv, r, false, w);
}

void
ops_shutdown(struct server *srv)
{
	struct region *v[CONFIG_MAX_REGIONS];
	size_t n = srv->nregions;

	if (srv->stopping)
		return;
	srv->stopping = true;
	notify_send("STOPPING=1");
	/* Recall everything and wait for the final unpin (I4). Sessions
	 * stay open meanwhile: holders return their grants through them, and
	 * a holder that had disconnected may connect again to do so. A copy,
	 * because a region without pins detaches at once. */
	memcpy(v, srv->regions, n * sizeof(*v));
	for (size_t i = 0; i < n; i++)
		if (!v[i]->detaching)
			detach(srv, v[i], true, NULL);
	server_progress(srv);
}

/* on_ready -- the recall hook: every grant in @op's scope is back. */
static void
on_ready(void *ctx, struct recall_op *op)
{
	struct server *srv = ctx;
	struct region *r = op->region;
	char name[REGION_NAME_MAX + 1];
	uint64_t id;
	int rv;

	switch (op->kind) {
	case RECALL_REVOKE:
		/* Ending the lease finishes the revoke (recall_lease_gone()),
		 * which answers its caller; the log line follows. */
		id = op->lease->id;
		lease_end(srv, op->lease);
		log_info("lease %llu revoked", (unsigned long long)id);
		return;
	case RECALL_TRUNCATE:
		/* recall_finish() lets grants past the end in again. */
		rv = inode_resize(&r->files, op->ino, op->size);
		if (rv < 0) {
			recall_finish(&srv->recall, op, -rv,
				      rv == -EROFS
					      ? INODE_FAILED_MSG
					      : "the resize failed after the "
						"recall");
			return;
		}
		log_info("truncate of '%s/%s' to %llu completed after its "
			 "recall",
			 r->name, op->ino->orphan ? "(orphan)" : op->ino->name,
			 (unsigned long long)op->size);
		recall_finish(&srv->recall, op, 0, NULL);
		return;
	case RECALL_DETACH:
		/* No pins are left; leases without grants end with it. */
		for (uint32_t slot = 0; slot < r->sb->inode_count; slot++) {
			struct inode *ino = r->files.inodes[slot];

			while (ino && ino->leases) {
				bool last = ino->orphan && ino->nleases == 1;

				lease_end(srv, ino->leases);
				if (last)
					break; /* the orphan is freed */
			}
		}
		snprintf(name, sizeof(name), "%s", r->name);
		recall_finish(&srv->recall, op, 0, NULL);
		server_detach(srv, name);
		return;
	}
}

/* on_take -- the recall hook taking back @l's cached grants in [pg, pg +
 * n) before a recall is sent: they are freed without waking the holder
 * (I1b); what is left needs the event. */
static uint64_t
on_take(void *ctx, struct lease *l, uint64_t pg, uint64_t n)
{
	(void)ctx;
	return l->words ? client_take_back(l, pg, n) : l->ngrants;
}

/* on_owner -- the recall hook naming a lease's holder in `blockers`. */
static void
on_owner(void *ctx, const struct lease *l, struct blocker *b)
{
	const struct client *c = client_owner(l);

	(void)ctx;
	b->client_id = c->id;
	b->pid = (uint32_t)c->pid;
	memcpy(b->comm, c->comm, sizeof(b->comm));
}

void
ops_init(struct server *srv,
	 void (*send)(void *ctx, struct lease *l, uint64_t off, uint64_t len,
		      const char *reason))
{
	struct recall_hooks h = {
		.send = send,
		.ready = on_ready,
		.take = on_take,
		.owner = on_owner,
		.ctx = srv,
	};

	srv->recall.hooks = h;
}

/* ---- clients ---------------------------------------------------------- */

uint32_t
ops_adopt(struct server *srv, struct client *c, uint64_t token)
{
	uint32_t n = client_adopt(c, token);

	if (n)
		recall_resend(&srv->recall, c);
	return n;
}

void
ops_client_disconnected(struct client *c)
{
	client_detach_session(c);
	if (c->nleases && client_alive(c)) {
		log_info("client %llu (pid %d %s) disconnected holding %u "
			 "lease(s), %llu grant(s): kept until the process "
			 "exits",
			 (unsigned long long)c->id, (int)c->pid, c->comm,
			 c->nleases, (unsigned long long)c->grants);
		return;
	}
	drop_all(c->srv, c);
	client_free(c);
}

void
ops_client_exited(struct client *c)
{
	if (c->nleases)
		log_info("client %llu (pid %d %s) exited: releasing %u "
			 "lease(s), %llu grant(s)",
			 (unsigned long long)c->id, (int)c->pid, c->comm,
			 c->nleases, (unsigned long long)c->grants);
	drop_all(c->srv, c);
	if (c->session == NULL)
		client_free(c);
}

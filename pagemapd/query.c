/* query.c -- read-only listings of the daemon's state, and their reply pages.
 *
 * Each listing is sorted by the key its cursor pages (inode slots, lease
 * ids, (lease, offset), client ids), so a page boundary never depends on the
 * order of the lists the state keeps.
 *
 * Listings show a viewer only what it may read (DESIGN §6). A lease, its
 * grants and the blockers it makes are described to an administrator, to
 * the lease's own user, and to a user who may read both the region and the
 * file (access_may_read_file(), the check of `lease acquire` for reading);
 * to anyone else they are not described: left out before paging, so a
 * cursor never lands on a row the viewer cannot see, and counted (the
 * `hidden` of a reply page: those in the span of cursors the page covers,
 * so that the pages' counts add up to the listing's). Every client is
 * listed, but another user's pid, comm and name are blanked. A NULL viewer
 * sees everything.
 */
#include "query.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "access.h"
#include "client.h"
#include "inode.h"
#include "ipc.h"
#include "lease.h"
#include "recall.h"
#include "region.h"
#include "server.h"

/* Rows per reply page, so that a page fits in one packet. */
#define LEASES_PER_PAGE 200u  /* LeaseInfo <= ~250 bytes */
#define CLIENTS_PER_PAGE 300u /* ClientInfo <= ~120 bytes */
#define GRANTS_PER_PAGE 1500u /* seven packed varints, <= 41 bytes a row */
#define GRANTS_SLACK 64u      /* rows of one (lease, offset) kept together */
#define BLOCKERS_MAX 200u     /* Blocker <= ~275 bytes */
#define BLOCKERS_FIELDS_MAX 120u /* ... and <= ~500 bytes with its fields */

size_t
query_files(const struct region *r, uint64_t cursor, struct file_info *out,
	    size_t max, uint64_t *ret_next)
{
	uint64_t slot;
	size_t n = 0;

	for (slot = cursor; slot < r->sb->inode_count; slot++) {
		struct inode *ino = inode_slot(&r->files, (uint32_t)slot);

		/* Orphans too: unlinked, still held, still using space. */
		if (ino == NULL)
			continue;
		if (n == max)
			break;
		inode_info(ino, &out[n++]);
	}
	*ret_next = slot;
	return n;
}

/* admin -- @viewer (NULL: the daemon itself) sees everything. */
static bool
admin(const struct ipc_peer *viewer)
{
	return viewer == NULL || access_admin(viewer);
}

/* sees -- @viewer may see lease @l described: its own (by uid), or on a
 * file it may read in a region it may read. */
static bool
sees(const struct ipc_peer *viewer, const struct lease *l)
{
	return admin(viewer) || client_owner(l)->uid == viewer->uid ||
	       access_may_read_file(viewer, l->region, l->ino);
}

static int
by_id(const void *a, const void *b)
{
	const struct lease *x = *(struct lease *const *)a;
	const struct lease *y = *(struct lease *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* collect -- leases matching the filters with id > @after, sorted by id,
 * whether @viewer sees them or not (the callers count those it does not);
 * *ret is malloc'd (NULL when none). Returns the count or -ENOMEM. */
static ssize_t
collect(const struct server *srv, const char *region, const char *name,
	uint64_t lease_id, uint32_t pid, uint64_t after, struct lease ***ret)
{
	const struct list_node *cp, *lp;
	struct lease **v = NULL;
	size_t n = 0, cap = 0;

	for (cp = srv->clients.next; cp != &srv->clients; cp = cp->next) {
		const struct client *c =
			list_entry(cp, const struct client, node);

		if (pid && (uint32_t)c->pid != pid)
			continue;
		for (lp = c->leases.next; lp != &c->leases; lp = lp->next) {
			struct lease *l = list_entry(lp, struct lease, own);

			if (l->id <= after || (lease_id && l->id != lease_id) ||
			    (region[0] && strcmp(l->region->name, region)) ||
			    (name[0] && strcmp(l->ino->name, name)))
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct lease **nv = realloc(v, nc * sizeof(*v));
				if (nv == NULL) {
					free(v);
					return -ENOMEM;
				}
				v = nv;
				cap = nc;
			}
			v[n++] = l;
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), by_id);
	*ret = v;
	return (ssize_t)n;
}

ssize_t
query_leases(const struct server *srv, const struct ipc_peer *viewer,
	     const char *region, const char *name, uint64_t after,
	     struct lease_info *out, size_t max, uint64_t *ret_hidden)
{
	struct lease **v;
	ssize_t n = collect(srv, region, name, 0, 0, after, &v);
	uint64_t hidden = 0, hidden_past = 0;
	size_t k = 0;

	if (n < 0)
		return n;
	for (size_t i = 0; i < (size_t)n; i++) {
		const struct lease *l = v[i];
		const struct client *c = client_owner(l);
		struct lease_info *li;

		/* A hidden lease past the page's last row belongs to the
		 * next page's span, unless this is the last page. */
		if (!sees(viewer, l)) {
			*(k < max ? &hidden : &hidden_past) += 1;
			continue;
		}
		if (k++ >= max)
			continue;
		li = &out[k - 1];
		memset(li, 0, sizeof(*li));
		li->id = l->id;
		li->region = l->region->name;
		li->name = l->ino->name;
		li->ino = inode_ino(l->ino);
		li->access = l->access;
		li->client_id = c->id;
		li->pid = (uint32_t)c->pid;
		li->uid = (uint32_t)c->uid;
		memcpy(li->comm, c->comm, sizeof(li->comm));
		li->grants = l->ngrants;
		li->bytes = l->pages << PM_PAGE_SHIFT;
		li->recalled = l->revoking;
	}
	free(v);
	*ret_hidden = k > max ? hidden : hidden + hidden_past;
	return (ssize_t)k;
}

/* after_cursor -- the grants of @l past the row (@after_lease,
 * @after_offset). */
static uint64_t
after_cursor(const struct lease *l, uint64_t after_lease,
	     uint64_t after_offset)
{
	uint64_t n = 0;

	if (l->id != after_lease)
		return l->ngrants;
	for (size_t j = 0; j < l->ngrants; j++)
		n += (l->grants[j].file_pg << PM_PAGE_SHIFT) > after_offset;
	return n;
}

ssize_t
query_grants(const struct server *srv, const struct ipc_peer *viewer,
	     uint64_t lease_id, uint32_t pid, uint64_t after_lease,
	     uint64_t after_offset, struct grant_row *out, size_t max,
	     size_t slack, bool *ret_more, uint64_t *ret_hidden)
{
	struct lease **v;
	ssize_t n = collect(srv, "", "", lease_id, pid,
			    after_lease ? after_lease - 1 : 0, &v);
	size_t k = 0;
	uint64_t hidden = 0;
	bool more = false;

	if (n < 0)
		return n;
	for (ssize_t i = 0; i < n && !more; i++) {
		const struct lease *l = v[i];

		/* Leases are in id order: one the viewer may not see lies
		 * inside this page's span until a row past the page. */
		if (!sees(viewer, l)) {
			hidden += after_cursor(l, after_lease, after_offset);
			continue;
		}
		for (size_t j = 0; j < l->ngrants; j++) {
			const struct grant *g = &l->grants[j];
			uint64_t off = g->file_pg << PM_PAGE_SHIFT;

			if (l->id == after_lease && off <= after_offset)
				continue;
			if (k >= max && (out[k - 1].lease_id != l->id ||
					 out[k - 1].g.file_pg != g->file_pg ||
					 k == max + slack)) {
				more = true;
				break;
			}
			out[k].lease_id = l->id;
			out[k].g = *g;
			out[k].state = lease_grant_state(l, g);
			k++;
		}
	}
	free(v);
	*ret_more = more;
	*ret_hidden = hidden;
	return (ssize_t)k;
}

static int
client_by_id(const void *a, const void *b)
{
	const struct client_info *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

ssize_t
query_clients(const struct server *srv, const struct ipc_peer *viewer,
	      uint64_t after, uint32_t (*pending)(const struct client *c),
	      struct client_info **ret)
{
	struct client_info *v = calloc(srv->nclients + 1, sizeof(*v));
	const struct list_node *pos;
	size_t n = 0;

	if (v == NULL)
		return -ENOMEM;
	for (pos = srv->clients.next; pos != &srv->clients; pos = pos->next) {
		const struct client *c =
			list_entry(pos, const struct client, node);

		if (c->id <= after)
			continue;
		client_info(c, &v[n]);
		v[n].pending = pending(c);
		if (!admin(viewer) && c->uid != viewer->uid) {
			/* Another user's process: that it exists and what it
			 * holds, not who it is. */
			v[n].pid = 0;
			memset(v[n].comm, 0, sizeof(v[n].comm));
			memset(v[n].name, 0, sizeof(v[n].name));
		}
		n++;
	}
	qsort(v, n, sizeof(*v), client_by_id);
	*ret = v;
	return (ssize_t)n;
}

/* ---- reply pages -------------------------------------------------------- */

ssize_t
query_lease_page(const struct server *srv, const struct ipc_peer *viewer,
		 const struct wire_request *rq, bool hidden, uint8_t *out,
		 size_t cap)
{
	struct lease_info info[LEASES_PER_PAGE];
	uint64_t left_out;
	ssize_t n = query_leases(srv, viewer, rq->region, rq->name, rq->cursor,
				 info, LEASES_PER_PAGE, &left_out);
	size_t k = n < LEASES_PER_PAGE ? (size_t)n : LEASES_PER_PAGE;

	if (n < 0)
		return n;
	return wire_lease_list(out, cap, rq->id, info, k, (size_t)n > k,
			       hidden ? left_out : 0);
}

ssize_t
query_grant_page(const struct server *srv, const struct ipc_peer *viewer,
		 const struct wire_request *rq, bool hidden, uint8_t *out,
		 size_t cap)
{
	struct grant_row *rows =
		malloc((GRANTS_PER_PAGE + GRANTS_SLACK) * sizeof(*rows));
	ssize_t k = -ENOMEM;
	uint64_t left_out = 0;
	bool more = false;

	if (rows)
		k = query_grants(srv, viewer, rq->lease_id, rq->pid, rq->cursor,
				 rq->offset, rows, GRANTS_PER_PAGE,
				 GRANTS_SLACK, &more, &left_out);
	if (k >= 0)
		k = wire_grant_list(out, cap, rq->id, rows, (size_t)k, more,
				    hidden ? left_out : 0);
	free(rows);
	return k;
}

ssize_t
query_client_page(const struct server *srv, const struct ipc_peer *viewer,
		  const struct wire_request *rq,
		  uint32_t (*pending)(const struct client *c), uint8_t *out,
		  size_t cap)
{
	struct client_info *v;
	ssize_t n = query_clients(srv, viewer, rq->cursor, pending, &v);
	size_t k;

	if (n < 0)
		return n;
	k = n < CLIENTS_PER_PAGE ? (size_t)n : CLIENTS_PER_PAGE;
	n = wire_client_list(out, cap, rq->id, v, k, (size_t)n > k);
	free(v);
	return n;
}

ssize_t
query_blocker_page(const struct server *srv, const struct ipc_peer *viewer,
		   const struct wire_request *rq, bool fields, bool hidden,
		   uint8_t *out, size_t cap)
{
	size_t max = fields ? BLOCKERS_FIELDS_MAX : BLOCKERS_MAX;
	struct blocker *v = malloc(max * sizeof(*v));
	ssize_t r;
	size_t n, k = 0;
	uint64_t left_out = 0;

	if (v == NULL)
		return -ENOMEM;
	n = recall_blockers(&srv->recall, rq->region[0] ? rq->region : NULL,
			    rq->name[0] ? rq->name : NULL, v, max);
	/* Rows of leases the viewer may not see are dropped after the
	 * fact: blockers is one page, and a blocker's lease is alive while
	 * the recall that it holds up is in force. */
	for (size_t i = 0; i < n && i < max; i++) {
		const struct lease *l = client_lease_find(srv, v[i].lease_id);

		if (l != NULL && sees(viewer, l))
			v[k++] = v[i];
		else if (l != NULL)
			left_out++;
	}
	r = wire_blockers(out, cap, rq->id, v, k, n > max, fields,
			  hidden ? left_out : 0);
	free(v);
	return r;
}

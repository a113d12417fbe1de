/* client.c -- a client process: its leases, its liveness, its connection. */
#include "client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"
#include "server.h"
#include "wire.h"

/* ---- the lease id index (chained hash, grows by doubling) ------------- */

static uint32_t
bucket_of(uint64_t id, uint32_t nbuckets)
{
	return (uint32_t)((id * 0x9e3779b97f4a7c15ull) >> 32) & (nbuckets - 1);
}

static void
index_grow(struct server *srv)
{
	uint32_t n = srv->lease_nbuckets ? srv->lease_nbuckets * 2 : 1024;
	struct lease **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return; /* keep the old table: longer chains, still correct */
	for (uint32_t i = 0; i < srv->lease_nbuckets; i++) {
		struct lease *l = srv->lease_buckets[i], *next;

		for (; l; l = next) {
			uint32_t k = bucket_of(l->id, n);

			next = l->hnext;
			l->hnext = b[k];
			b[k] = l;
		}
	}
	free(srv->lease_buckets);
	srv->lease_buckets = b;
	srv->lease_nbuckets = n;
}

static void
index_add(struct server *srv, struct lease *l)
{
	uint32_t k;

	if (srv->nleases >= (uint64_t)srv->lease_nbuckets * 2 ||
	    srv->lease_nbuckets == 0)
		index_grow(srv);
	k = bucket_of(l->id, srv->lease_nbuckets);
	l->hnext = srv->lease_buckets[k];
	srv->lease_buckets[k] = l;
	srv->nleases++;
}

static void
index_remove(struct server *srv, struct lease *l)
{
	struct lease **p = &srv->lease_buckets[bucket_of(l->id,
							 srv->lease_nbuckets)];

	while (*p != l)
		p = &(*p)->hnext;
	*p = l->hnext;
	srv->nleases--;
}

struct lease *
client_lease_find(const struct server *srv, uint64_t id)
{
	struct lease *l;

	if (srv->lease_nbuckets == 0)
		return NULL;
	for (l = srv->lease_buckets[bucket_of(id, srv->lease_nbuckets)]; l;
	     l = l->hnext)
		if (l->id == id)
			return l;
	return NULL;
}

/* ---- leases ----------------------------------------------------------- */

static void
own_link(struct client *c, struct lease *l)
{
	l->owner = c;
	list_add_head(&c->leases, &l->own);
	c->nleases++;
	c->grants += l->ngrants;
}

static void
own_unlink(struct client *c, struct lease *l)
{
	list_del(&l->own);
	c->nleases--;
	c->grants -= l->ngrants;
}

int
client_lease_acquire(struct client *c, struct region *r, struct inode *ino,
		     enum lease_access access, struct lease **ret)
{
	struct server *srv = c->srv;
	struct lease *l;
	int rv;

	if (c->nleases >= srv->cfg->max_leases)
		return -EDQUOT;
	rv = lease_new(r, ino, c, access, ++srv->next_lease_id, &l);
	if (rv < 0)
		return rv;
	own_link(c, l);
	index_add(srv, l);
	*ret = l;
	return 0;
}

void
client_note_grants(struct lease *l, uint64_t k)
{
	client_owner(l)->grants += k;
}

uint64_t
client_unmap(struct lease *l, uint64_t pg, uint64_t n)
{
	uint64_t k = lease_unmap(l, pg, n);

	client_owner(l)->grants -= k;
	return k;
}

uint64_t
client_unmap_all(struct lease *l)
{
	uint64_t k = lease_unmap_all(l);

	client_owner(l)->grants -= k;
	return k;
}

struct lease *
client_first_lease(const struct client *c)
{
	return list_empty(&c->leases) ? NULL : lease_of_owner(c->leases.next);
}

void
client_lease_drop(struct lease *l)
{
	struct client *c = client_owner(l);

	own_unlink(c, l);
	index_remove(c->srv, l);
	lease_free(l);
}

bool
client_idle(const struct client *c)
{
	return c->session == NULL && c->nleases == 0 && !c->dropping;
}

/* ---- lifetime --------------------------------------------------------- */

static void
on_closed(uv_handle_t *h)
{
	struct client *c = h->data;

	close(c->pidfd);
	free(c);
}

void
client_free(struct client *c)
{
	struct server *srv = c->srv;

	list_del(&c->node);
	srv->nclients--;
	if (c->pidfd >= 0) {
		uv_poll_stop(&c->exit_poll);
		/* The handle closes from the loop; the pidfd with it. */
		uv_close((uv_handle_t *)&c->exit_poll, on_closed);
	} else {
		free(c);
	}
}

static void
on_process_exit(uv_poll_t *h, int status, int events)
{
	struct client *c = h->data;

	(void)status;
	(void)events;
	if (c->exited)
		return;
	c->exited = true;
	uv_poll_stop(&c->exit_poll);
	c->on_exit(c);
}

int
client_new(struct server *srv, struct ipc_peer *p, struct session *s,
	   void (*on_exit)(struct client *c), struct client **ret)
{
	struct client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return -ENOMEM;
	c->id = ++srv->next_client_id;
	c->srv = srv;
	c->session = s;
	c->on_exit = on_exit;
	c->pid = p->pid;
	c->uid = p->uid;
	c->gid = p->gid;
	memcpy(c->comm, p->comm, sizeof(c->comm));
	c->pidfd = -1;
	if (p->pidfd >= 0 &&
	    uv_poll_init(srv->loop, &c->exit_poll, p->pidfd) == 0) {
		/* The pidfd now belongs to the client: it outlives the
		 * connection, and on_closed() closes it with the client. */
		c->pidfd = p->pidfd;
		p->pidfd = -1;
		c->exit_poll.data = c;
		uv_poll_start(&c->exit_poll, UV_READABLE, on_process_exit);
	}
	list_init(&c->leases);
	list_add_head(&srv->clients, &c->node);
	srv->nclients++;
	*ret = c;
	return 0;
}

bool
client_alive(const struct client *c)
{
	struct pollfd p = {.fd = c->pidfd, .events = POLLIN};

	if (c->exited)
		return false;
	if (c->pidfd < 0)
		return true; /* cannot tell: keep the pins (I1 first) */
	return poll(&p, 1, 0) == 0;
}

uint32_t
client_adopt(struct client *c)
{
	struct list_node *pos, *n2;
	struct client *d;
	uint32_t n = 0;

	list_for_each(pos, n2, &c->srv->clients) {
		d = client_of(pos);
		if (d == c || d->session || d->pid != c->pid ||
		    !client_alive(d))
			continue;
		while (!list_empty(&d->leases)) {
			struct lease *l = lease_of_owner(d->leases.next);

			own_unlink(d, l);
			own_link(c, l);
			n++;
		}
		client_free(d);
	}
	return n;
}

void
client_detach_session(struct client *c)
{
	c->session = NULL;
}

void
client_set_name(struct client *c, const char *name)
{
	snprintf(c->name, sizeof(c->name), "%s", name);
}

void
client_keep(struct client *c, bool on)
{
	c->dropping = on;
}

void
client_info(const struct client *c, struct client_info *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->id = c->id;
	ret->pid = (uint32_t)c->pid;
	ret->uid = (uint32_t)c->uid;
	ret->gid = (uint32_t)c->gid;
	memcpy(ret->comm, c->comm, sizeof(ret->comm));
	memcpy(ret->name, c->name, sizeof(ret->name));
	ret->connected = c->session != NULL;
	ret->leases = c->nleases;
	ret->grants = c->grants;
}

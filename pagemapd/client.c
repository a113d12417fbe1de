/* client.c -- a client process: its leases, its liveness, its connection. */
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "account.h"
#include "gtable.h"
#include "holder.h"
#include "inode.h"
#include "ipc.h"
#include "pintab.h"
#include "server.h"
#include "wire.h"

#define PINTAB_FIRST_SLOTS 126u /* a new table: 8 KiB, header included */

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

/* Every lease, grant and pin table a client holds is charged to its
 * process's entry in the account (account.h) here, and nowhere else. */

static struct account *
acct_of(const struct client *c)
{
	return &c->srv->acct;
}

static void
grants_add(struct client *c, uint64_t k)
{
	c->grants += k;
	account_charge(acct_of(c), c->acct, ACCT_GRANTS, k);
}

static void
grants_sub(struct client *c, uint64_t k)
{
	c->grants -= k;
	account_uncharge(acct_of(c), c->acct, ACCT_GRANTS, k);
}

static void
own_link(struct client *c, struct lease *l)
{
	l->owner = c;
	list_add_head(&c->leases, &l->own);
	c->nleases++;
	account_charge(acct_of(c), c->acct, ACCT_LEASES, 1);
	grants_add(c, l->ngrants);
}

static void
own_unlink(struct client *c, struct lease *l)
{
	list_del(&l->own);
	c->nleases--;
	account_uncharge(acct_of(c), c->acct, ACCT_LEASES, 1);
	grants_sub(c, l->ngrants);
}

uint64_t
client_grant_room(const struct client *c, struct acct_refusal *why)
{
	return account_room(acct_of(c), c->acct, ACCT_GRANTS, why);
}

/* ---- pin tables --------------------------------------------------------- */

static struct client_pins *
pins_of(const struct client *c, const struct region *r)
{
	struct list_node *pos, *n;

	list_for_each(pos, n, &c->pins) {
		struct client_pins *p = list_entry(pos, struct client_pins,
						   node);
		if (p->region == r)
			return p;
	}
	return NULL;
}

static struct client_pins *
pins_of_tab(const struct client *c, const struct pintab *t)
{
	struct list_node *pos, *n;

	list_for_each(pos, n, &c->pins) {
		struct client_pins *p = list_entry(pos, struct client_pins,
						   node);
		if (p->tab == t)
			return p;
	}
	return NULL;
}

struct client_pins *
client_add_pins(struct client *c, struct region *r, struct pintab *tab)
{
	struct client_pins *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->region = r;
	p->tab = tab;
	list_add_head(&c->pins, &p->node);
	account_charge(acct_of(c), c->acct, ACCT_TABLES, 1);
	return p;
}

/* pins_unlink -- @p leaves @c (its table closed or removed already). */
static void
pins_unlink(struct client *c, struct client_pins *p)
{
	list_del(&p->node);
	account_uncharge(acct_of(c), c->acct, ACCT_TABLES, 1);
	free(p);
}

/* pins_get -- @c's table in @r, made now (its header naming the holder)
 * if it has none. */
static int
pins_get(struct client *c, struct region *r, struct client_pins **ret)
{
	const struct pin_dir *d = &c->srv->pins;
	struct pintab_holder h = {
		.pid = (uint32_t)c->pid,
		.uid = (uint32_t)c->uid,
		.start_time = c->start_time,
		.token = c->token,
	};
	struct client_pins *p = pins_of(c, r);
	struct pintab *t;
	int rv;

	if (p) {
		*ret = p;
		return 0;
	}
	memcpy(h.boot_id, d->boot_id, sizeof(h.boot_id));
	memcpy(h.region_uuid, r->sb->uuid, sizeof(h.region_uuid));
	rv = pintab_create(d->dirfd, &h, PINTAB_FIRST_SLOTS, &t);
	if (rv < 0)
		return rv;
	p = client_add_pins(c, r, t);
	if (p == NULL) {
		pintab_remove(t);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

/* pins_put -- one lease less in @p; the table goes with its last. */
static void
pins_put(struct client *c, struct client_pins *p, bool remove)
{
	if (--p->nleases)
		return;
	if (remove)
		pintab_remove(p->tab);
	else
		pintab_close(p->tab);
	pins_unlink(c, p);
}

/* pin_lease -- record @l in @p's table (before any reply tells of it). */
static int
pin_lease(struct client_pins *p, struct lease *l)
{
	struct pin_rec rec = {
		.kind = PIN_LEASE,
		.access = l->access,
		.lease_id = l->id,
		.ino = inode_ino(l->ino),
	};
	int64_t s = pintab_add(p->tab, &rec);

	if (s < 0)
		return (int)s;
	l->pins = p->tab;
	l->pin_slot = (uint32_t)s;
	p->nleases++;
	return 0;
}

int
client_lease_acquire(struct client *c, struct region *r, struct inode *ino,
		     enum lease_access access, struct lease **ret,
		     struct acct_refusal *why)
{
	struct server *srv = c->srv;
	struct client_pins *p = NULL;
	struct lease *l;
	int rv;

	rv = account_check(acct_of(c), c->acct, ACCT_LEASES, 1, why);
	if (rv == 0 && srv->pins.dirfd >= 0 && pins_of(c, r) == NULL)
		rv = account_check(acct_of(c), c->acct, ACCT_TABLES, 1, why);
	if (rv < 0)
		return rv;
	rv = lease_new(r, ino, c, access, srv->next_lease_id + 1, &l);
	if (rv < 0)
		return rv;
	if (srv->pins.dirfd >= 0) {
		rv = pins_get(c, r, &p);
		if (rv == 0) {
			rv = pin_lease(p, l);
			if (rv < 0 && p->nleases == 0) {
				p->nleases = 1;
				pins_put(c, p, true);
			}
		}
		if (rv < 0) {
			lease_free(l);
			return rv;
		}
	}
	srv->next_lease_id++;
	l->words = c->words;
	own_link(c, l);
	index_add(srv, l);
	*ret = l;
	return 0;
}

int
client_lease_restore(struct client *c, struct client_pins *p,
		     struct inode *ino, enum lease_access access, uint64_t id,
		     uint32_t slot, struct lease **ret)
{
	struct server *srv = c->srv;
	struct lease *l;
	int rv;

	if (client_lease_find(srv, id))
		return -EEXIST;
	rv = lease_restore(p->region, ino, c, access, id, &l);
	if (rv < 0)
		return rv;
	l->pins = p->tab;
	l->pin_slot = slot;
	p->nleases++;
	/* Ids after a restart continue after the largest one restored. */
	if (srv->next_lease_id < id)
		srv->next_lease_id = id;
	own_link(c, l);
	index_add(srv, l);
	*ret = l;
	return 0;
}

void
client_note_grants(struct lease *l, uint64_t k)
{
	grants_add(client_owner(l), k);
}

uint64_t
client_unmap(struct lease *l, uint64_t pg, uint64_t n)
{
	uint64_t k = lease_unmap(l, pg, n);

	grants_sub(client_owner(l), k);
	return k;
}

uint64_t
client_take_back(struct lease *l, uint64_t pg, uint64_t n)
{
	uint64_t freed, left = lease_take_back(l, pg, n, &freed);

	grants_sub(client_owner(l), freed);
	return left;
}

int
client_taken(struct client *c, uint32_t slot, uint32_t gen)
{
	struct gslot *s;
	struct lease *l;

	if (c->words == NULL || (s = gtable_find(c->words, slot, gen)) == NULL)
		return 0;
	l = s->lease;
	if (client_owner(l) != c || !lease_taken(l, s->file_pg, slot, gen))
		return 0;
	grants_sub(c, 1);
	return 1;
}

struct gtable *
client_words(struct client *c, uint32_t n)
{
	struct list_node *pos, *nx;

	if (c->words || gtable_new(n, &c->words) < 0)
		return c->words;
	list_for_each(pos, nx, &c->leases)
		lease_of_owner(pos)->words = c->words;
	return c->words;
}

int
client_adopt_words(struct client *c, int fd, uint64_t id, uint32_t n)
{
	struct list_node *pos, *nx;
	struct gtable *t;
	int k = 0, rv;

	/* Only for leases restored from pin tables, whose grants lost
	 * their words with the daemon that issued them. */
	if (c->words || !c->took_restored) {
		close(fd);
		return -EALREADY;
	}
	rv = gtable_adopt(fd, n, id, &t);
	if (rv < 0)
		return rv;
	list_for_each(pos, nx, &c->leases)
		k += lease_adopt_words(lease_of_owner(pos), t);
	gtable_claimed(t);
	c->words = t;
	return k;
}

uint64_t
client_unmap_all(struct lease *l)
{
	uint64_t k = lease_unmap_all(l);

	grants_sub(client_owner(l), k);
	return k;
}

struct lease *
client_first_lease(const struct client *c)
{
	return list_empty(&c->leases) ? NULL : lease_of_owner(c->leases.next);
}

/* unpin_lease -- @l's record leaves its table, and the table with its
 * last lease (@remove: the file too). */
static void
unpin_lease(struct client *c, struct lease *l, bool remove)
{
	struct client_pins *p;

	if (l->pins == NULL)
		return;
	p = pins_of_tab(c, l->pins);
	if (remove)
		pintab_del(l->pins, l->pin_slot);
	l->pins = NULL;
	if (p)
		pins_put(c, p, remove);
}

void
client_lease_drop(struct lease *l)
{
	struct client *c = client_owner(l);

	own_unlink(c, l);
	index_remove(c->srv, l);
	unpin_lease(c, l, true);
	lease_free(l);
}

void
client_forget_region(struct server *srv, struct region *r)
{
	struct list_node *pos, *n, *lp, *ln;

	list_for_each(pos, n, &srv->clients) {
		struct client *c = client_of(pos);

		list_for_each(lp, ln, &c->leases) {
			struct lease *l = lease_of_owner(lp);

			if (l->region != r)
				continue;
			/* Not returned: only forgotten by this daemon, so
			 * the table keeps them for the next attach. */
			lease_drop_words(l);
			l->pins = NULL;
			grants_sub(c, l->ngrants);
			l->ino->grants -= l->ngrants;
			r->pins -= l->ngrants;
			l->ngrants = 0;
			own_unlink(c, l);
			index_remove(srv, l);
			lease_free(l);
		}
		while (pins_of(c, r)) {
			struct client_pins *p = pins_of(c, r);

			pintab_close(p->tab);
			pins_unlink(c, p);
		}
		if (client_idle(c))
			client_free(c);
	}
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
	gtable_free(c->words);
	/* Tables left here hold pins of a process the daemon lets go of
	 * without ending them (a stop): the files stay for the next start. */
	while (!list_empty(&c->pins)) {
		struct client_pins *p = list_entry(c->pins.next,
						   struct client_pins, node);

		pintab_close(p->tab);
		pins_unlink(c, p);
	}
	account_proc_put(acct_of(c), c->acct);
	c->acct = NULL;
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

/* new_token -- a random 64-bit name for a client's reconnect, never 0. */
static uint64_t
new_token(void)
{
	uint64_t t = 0;

	while (t == 0)
		if (getrandom(&t, sizeof(t), 0) != (ssize_t)sizeof(t))
			t = 0;
	return t;
}

/* alloc_client -- a client of @pid/@uid on @srv's list, charged to
 * @proc (a reference the client now holds). */
static struct client *
alloc_client(struct server *srv, pid_t pid, uid_t uid, struct acct_proc *proc,
	     void (*on_exit)(struct client *c))
{
	struct client *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		account_proc_put(&srv->acct, proc);
		return NULL;
	}
	c->acct = proc;
	c->id = ++srv->next_client_id;
	c->srv = srv;
	c->on_exit = on_exit;
	c->pid = pid;
	c->uid = uid;
	c->pidfd = -1;
	list_init(&c->leases);
	list_init(&c->pins);
	list_add_head(&srv->clients, &c->node);
	srv->nclients++;
	return c;
}

/* watch -- @pidfd (owned by @c from now on) tells of the process's exit;
 * false if it cannot be watched (then it is closed). */
static bool
watch(struct client *c, int pidfd)
{
	if (pidfd < 0)
		return false;
	if (uv_poll_init(c->srv->loop, &c->exit_poll, pidfd) != 0) {
		close(pidfd);
		return false;
	}
	/* The pidfd now belongs to the client: it outlives the connection,
	 * and on_closed() closes it with the client. */
	c->pidfd = pidfd;
	c->exit_poll.data = c;
	uv_poll_start(&c->exit_poll, UV_READABLE, on_process_exit);
	return true;
}

int
client_new(struct server *srv, struct ipc_peer *p, struct session *s,
	   struct acct_proc *proc, void (*on_exit)(struct client *c),
	   struct client **ret)
{
	struct client *c;

	account_proc_hold(proc);
	c = alloc_client(srv, p->pid, p->uid, proc, on_exit);
	if (c == NULL)
		return -ENOMEM;
	c->session = s;
	c->gid = p->gid;
	memcpy(c->comm, p->comm, sizeof(c->comm));
	c->token = new_token();
	/* Names the holder of its pins for good; unreadable (0), its pins
	 * are kept conservatively after a restart (holder_check()
	 * UNKNOWN). */
	c->start_time = proc->start_time;
	watch(c, p->pidfd); /* takes it, or closes it */
	p->pidfd = -1;
	*ret = c;
	return 0;
}

int
client_restore(struct server *srv, pid_t pid, uid_t uid, uint64_t start_time,
	       uint64_t token, int pidfd, void (*on_exit)(struct client *c),
	       struct client **ret)
{
	struct acct_proc *proc = account_proc_get(&srv->acct, (uint32_t)uid,
						  (uint32_t)pid, start_time);
	struct client *c = proc ? alloc_client(srv, pid, uid, proc, on_exit)
				: NULL;
	char path[64], comm[sizeof(c->comm) + 1];
	ssize_t n = -1;
	int fd;

	if (c == NULL) {
		if (pidfd >= 0)
			close(pidfd);
		return -ENOMEM;
	}
	c->gid = (gid_t)-1;
	c->start_time = start_time;
	c->token = token;
	c->restored = true;
	snprintf(c->name, sizeof(c->name), "(restored)");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
	}
	if (n > 0) {
		comm[n] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		snprintf(c->comm, sizeof(c->comm), "%s", comm);
	}
	watch(c, pidfd);
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

/* same_process -- @d (disconnected) is @c's process: same pid and uid,
 * the same start time where both are known, and still alive. */
static bool
same_process(const struct client *c, const struct client *d)
{
	if (d == c || d->session || d->pid != c->pid || d->uid != c->uid)
		return false;
	if (d->start_time && c->start_time && d->start_time != c->start_time)
		return false;
	return client_alive(d);
}

uint32_t
client_adopt(struct client *c, uint64_t token)
{
	struct list_node *pos, *n2;
	struct client *d;
	uint32_t n = 0;

	list_for_each(pos, n2, &c->srv->clients) {
		d = client_of(pos);
		if (!same_process(c, d) || (token && d->token != token))
			continue;
		/* The process's words come along with its leases; a
		 * second table (two old connections) is let go, its grants
		 * recalled by event from now on. */
		if (c->words == NULL) {
			c->words = d->words;
			d->words = NULL;
		}
		while (!list_empty(&d->leases)) {
			struct lease *l = lease_of_owner(d->leases.next);

			if (l->words != c->words)
				lease_drop_words(l);
			l->words = c->words;
			own_unlink(d, l);
			own_link(c, l);
			n++;
		}
		/* Its tables (named after it) come along: they hold the
		 * leases just taken. */
		while (!list_empty(&d->pins)) {
			struct list_node *p = d->pins.next;

			list_del(p);
			list_add_head(&c->pins, p);
			account_uncharge(acct_of(d), d->acct, ACCT_TABLES, 1);
			account_charge(acct_of(c), c->acct, ACCT_TABLES, 1);
		}
		/* The token stays the same across reconnects. */
		if (token || n)
			c->token = d->token;
		if (d->restored && n)
			c->took_restored = true;
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

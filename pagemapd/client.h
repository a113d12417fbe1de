/* client.h -- a client process: its leases, its liveness, its connection. */
#ifndef PAGEMAP_CLIENT_H
#define PAGEMAP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "lease.h"

struct client_info;
struct inode;
struct ipc_peer;
struct region;
struct server;
struct session;

/*
 * Leases belong to the client process, not to its connection (I5): a
 * process that closes its socket still has its mappings, so its grants
 * stay pinned until the process exits — seen as its pidfd turning
 * readable — or it connects again and returns them. A client object
 * therefore outlives its session; it ends when it has neither a session
 * nor leases, or when its process exits.
 */
struct client {
	uint64_t id;
	struct server *srv;
	struct session *session; /* NULL while disconnected */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	char comm[16];
	char name[64]; /* from Hello */
	int pidfd; /* -1 if the kernel gave none */
	uv_poll_t exit_poll; /* on pidfd: readable at process exit */
	bool exited;
	bool dropping; /* client_keep(): its leases are being ended */
	void (*on_exit)(struct client *c); /* the process exited */
	struct list_node leases; /* struct lease, by lease->own */
	uint32_t nleases;
	uint64_t grants; /* folios under its leases */
	struct list_node node; /* server's list of clients */
};

/* client_new -- the client behind the connection @s of @peer; the pidfd
 * moves from @peer to the client, whose @on_exit runs when the process
 * exits. Returns 0 or -ENOMEM. */
int client_new(struct server *srv, struct ipc_peer *peer, struct session *s,
	       void (*on_exit)(struct client *c), struct client **ret);

/* client_free -- unlink and free @c (its pidfd closes from the loop). Its
 * leases must have ended or moved. */
void client_free(struct client *c);

/* client_adopt -- take over the leases of disconnected clients of the
 * same, still living, process (a reconnect). Returns how many leases. */
uint32_t client_adopt(struct client *c);

/* client_detach_session -- @c's connection has closed. */
void client_detach_session(struct client *c);

/* client_alive -- the process behind @c has not exited (its pidfd does not
 * poll readable), judged now; true when it cannot be told (I1 first). */
bool client_alive(const struct client *c);

/* client_idle -- @c has neither a connection nor leases (and is not having
 * its leases ended): nothing keeps it. */
bool client_idle(const struct client *c);

/* client_lease_acquire -- a new lease for @c. Returns 0, -EDQUOT (lease
 * limit), or lease_new()'s errors. */
int client_lease_acquire(struct client *c, struct region *r,
			 struct inode *ino, enum lease_access access,
			 struct lease **ret);

/* client_lease_find -- the lease with @id, or NULL. */
struct lease *client_lease_find(const struct server *srv, uint64_t id);

/* client_first_lease -- one of @c's leases, or NULL. */
struct lease *client_first_lease(const struct client *c);

/* client_unmap -- return @l's grants in [pg, pg + n); returns how many. */
uint64_t client_unmap(struct lease *l, uint64_t pg, uint64_t n);

/* client_unmap_all -- return every grant of @l; returns how many. */
uint64_t client_unmap_all(struct lease *l);

/* client_note_grants -- @k grants were added under @l. */
void client_note_grants(struct lease *l, uint64_t k);

/* client_lease_drop -- unlink and free @l, whose grants are all back. What
 * that ends besides (an orphan, the client) is the caller's (ops.c). */
void client_lease_drop(struct lease *l);

/* client_set_name -- the name @c gave in its Hello. */
void client_set_name(struct client *c, const char *name);

/* client_keep -- while @on, @c is not freed when its last lease ends (its
 * leases are being ended one by one). */
void client_keep(struct client *c, bool on);

/* client_info -- describe @c. */
void client_info(const struct client *c, struct client_info *ret);

/* client_of -- the client on the server's list at @n. */
static inline struct client *
client_of(struct list_node *n)
{
	return list_entry(n, struct client, node);
}

/* lease_of_owner -- the lease on a client's list at @n. */
static inline struct lease *
lease_of_owner(struct list_node *n)
{
	return list_entry(n, struct lease, own);
}

/* client_owner -- the client owning @l. */
static inline struct client *
client_owner(const struct lease *l)
{
	return (struct client *)l->owner;
}

#endif

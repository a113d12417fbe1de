/* client.h -- a client process: its leases, its liveness, its connection. */
#ifndef PAGEMAP_CLIENT_H
#define PAGEMAP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "lease.h"

struct inode;
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
	bool dropping; /* drop_all() is ending every lease */
	struct lease *leases; /* own_next chain */
	uint32_t nleases;
	uint64_t grants; /* folios under its leases */
	struct client *next; /* server's list */
	struct client *prev;
};

/* What `client ls` shows. */
struct client_info {
	uint64_t id;
	uint32_t pid, uid, gid;
	char comm[16];
	char name[64];
	bool connected;
	uint32_t leases;
	uint64_t grants;
	uint32_t pending;
};

/* client_new -- the client behind @s (its peer identity; the pidfd moves
 * from the connection to the client). Returns 0 or -ENOMEM. */
int client_new(struct server *srv, struct session *s, struct client **ret);

/* client_adopt -- take over the leases of disconnected clients of the
 * same, still living, process (a reconnect). Returns how many leases. */
uint32_t client_adopt(struct client *c);

/* client_disconnected -- @c's session has closed. The client stays while
 * its process lives and it holds leases; otherwise it is freed. */
void client_disconnected(struct client *c);

/* client_lease_acquire -- a new lease for @c. Returns 0, -EDQUOT (lease
 * limit), or lease_new()'s errors. */
int client_lease_acquire(struct client *c, struct region *r,
			 struct inode *ino, enum lease_access access,
			 struct lease **ret);

/* client_lease_find -- the lease with @id, or NULL. */
struct lease *client_lease_find(const struct server *srv, uint64_t id);

/* client_unmap -- return @l's grants in [pg, pg + n); returns how many
 * and lets waiting operations progress. */
uint64_t client_unmap(struct lease *l, uint64_t pg, uint64_t n);

/* client_note_grants -- @k grants were added under @l. */
void client_note_grants(struct lease *l, uint64_t k);

/* client_lease_end -- end a lease whose grants are all back: free it and,
 * if it was the last lease of an orphan, free the orphan (I3). */
void client_lease_end(struct lease *l);

/* client_info -- describe @c. */
void client_info(const struct client *c, struct client_info *ret);

/* client_owner -- the client owning @l. */
static inline struct client *
client_owner(const struct lease *l)
{
	return (struct client *)l->owner;
}

#endif

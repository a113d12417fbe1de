/* ops.h -- the daemon's domain operations: what truncate, remove, map,
 * unmap, revoke, detach and the end of a lease or a process do to the
 * state, decided in one place. */
#ifndef PAGEMAP_OPS_H
#define PAGEMAP_OPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lease.h"
#include "recall.h"

struct client;
struct inode;
struct region;
struct server;

/*
 * The session decodes a request, checks who may do it, calls one of these
 * and encodes the answer. Operations that may wait for the final unpin
 * (truncate over grants, revoke, detach) take a caller's callback: it is
 * called once, with 0 or an errno and a message, when the operation
 * completes or the caller's timeout passes (the recall then stays in force
 * and the operation still completes, answering nobody).
 */

/* ops_truncate returns this when the callback will answer. */
#define OPS_WAITING 1

/* Who waits for an operation, and for how long (0: for ever). */
struct ops_waiter {
	recall_cb cb;
	void *arg;
	uint64_t id; /* the caller's request id, handed back in the op */
	uint32_t timeout_ms;
};

/* ops_init -- make @srv's recall set answer through these hooks: @send
 * delivers a recall event to the holder of a lease (NULL: none). */
void ops_init(struct server *srv,
	      void (*send)(void *ctx, struct lease *l, uint64_t off,
			   uint64_t len, const char *reason));

/* ops_truncate -- resize @ino of @r to @size. A shrink past grants recalls
 * them and resizes at the final unpin (I4): OPS_WAITING, @w answers.
 * Otherwise the resize is done now: 0 or inode_resize()'s errors. -EBUSY
 * when a truncate of @ino is already in force, -ENOMEM. */
int ops_truncate(struct server *srv, struct region *r, struct inode *ino,
		 uint64_t size, const struct ops_waiter *w);

/* ops_remove -- remove @ino's name (I3): a file without leases is freed
 * at once, a leased one becomes an orphan freed at the end of its last
 * lease. Returns 0 or -EIO. */
int ops_remove(struct server *srv, struct region *r, struct inode *ino);

/* ops_revoke -- recall every grant of @l and end it at the final return;
 * @w is answered then (at once when it holds none). Returns 0, -EBUSY (a
 * revoke of @l is in force) or -ENOMEM; @w is not called on failure. */
int ops_revoke(struct server *srv, struct lease *l,
	       const struct ops_waiter *w);

/* ops_detach -- detach @r at its final unpin; as ops_revoke, -EBUSY when
 * it is already detaching. */
int ops_detach(struct server *srv, struct region *r,
	       const struct ops_waiter *w);

/* ops_shutdown -- stop: recall every region and detach each at its final
 * unpin; the server finishes once none is left. Idempotent. */
void ops_shutdown(struct server *srv);

/* ops_map -- grant the folios tiling file pages [pg, pg + n) under @l, at
 * most what one reply and its process's and uid's limits allow (the
 * account's room, memory included; with @words each with a state word in
 * the owner's table, when it has one), and fill the holes under them.
 * With words, once the range is granted whole, grant ahead: up to
 * grant_ahead_folios more folios of the file past it, over pages the lease
 * holds no grant on, without filling anything; they come last in *ret_v,
 * *ret_ahead of them. *ret_v points at them (valid until the next map),
 * *ret_next_pg is the first page not granted. Returns the count, -EDQUOT
 * (a grant or memory limit: client_grant_room() names it), -EROFS (a
 * write grant on a failed region), -EIO (a truncated data file), or
 * lease_map()'s errors. */
int ops_map(struct server *srv, struct lease *l, uint64_t pg, uint64_t n,
	    enum lease_access access, bool words, size_t max,
	    const struct grant **ret_v, uint64_t *ret_next_pg,
	    size_t *ret_ahead);

/* ops_unmap -- return @l's grants that meet [pg, pg + n); operations that
 * waited for them may complete. Returns how many. */
uint64_t ops_unmap(struct server *srv, struct lease *l, uint64_t pg,
		   uint64_t n);

/* ops_taken -- @c hands back the grants of the words (@slots[i],
 * @gens[i]), i < @n (a Taken message); operations that waited for them
 * may complete. Returns how many were freed. */
uint64_t ops_taken(struct server *srv, struct client *c,
		   const uint32_t *slots, const uint32_t *gens, size_t n);

/* ops_lease_release -- end @l on its holder's request: its cached grants
 * are taken back first. Returns 0 or -EBUSY (grants are still mapped). */
int ops_lease_release(struct server *srv, struct lease *l);

/* ops_adopt -- @c (a new connection) takes back the leases of its
 * process's disconnected clients (with @token nonzero: of the one it
 * names; client_adopt()) and is sent the recalls in force for them (I5,
 * I6). Returns how many leases. */
uint32_t ops_adopt(struct server *srv, struct client *c, uint64_t token);

/* ops_client_disconnected -- @c's connection closed: a living process
 * keeps its leases and grants (I5); otherwise they end and @c is freed. */
void ops_client_disconnected(struct client *c);

/* ops_client_exited -- @c's process exited: its grants and leases end,
 * and @c is freed unless a connection still refers to it. */
void ops_client_exited(struct client *c);

#endif

/* recall.h -- operations that wait for the final unpin: revoke, truncate,
 * detach (and so shutdown). */
#ifndef PAGEMAP_RECALL_H
#define PAGEMAP_RECALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct client;
struct inode;
struct lease;
struct region;
struct server;
struct session;

/*
 * A pending operation recalls the grants in its scope (a RecallEvent to
 * each holder), refuses new grants there, and completes when the last of
 * them comes back (I4): recall_check() runs after every return, lease end
 * and process exit. Its requester, if any, is answered then. A timeout
 * answers the requester early with ETIMEDOUT and what still blocks, but
 * the operation stays pending: the recall stays in force and the
 * operation still completes at the final unpin.
 */

enum pending_kind {
	PENDING_REVOKE,
	PENDING_TRUNCATE,
	PENDING_DETACH,
};

struct pending {
	enum pending_kind kind;
	struct server *srv;
	struct region *region;
	struct inode *ino; /* truncate */
	struct lease *lease; /* revoke */
	uint64_t size; /* truncate: the new size */
	uint64_t from_pg; /* truncate: the first page to free */
	struct session *waiter; /* answered at completion; NULL: nobody */
	uint64_t req_id;
	uv_timer_t timer;
	bool timing;
	bool shutdown; /* a detach started by SIGTERM */
	struct pending *next; /* server's list */
	struct pending *prev;
};

/* One line of `blockers`. */
struct blocker {
	const char *op; /* "revoke", "truncate", "detach", "shutdown" */
	char target[200];
	uint64_t lease_id;
	uint64_t client_id;
	uint32_t pid;
	char comm[16];
	uint64_t grants; /* in the operation's scope */
};

/* recall_revoke -- recall every grant of @l and end it at the final
 * return. @waiter (may be NULL) is answered with request @req_id; a
 * @timeout_ms of 0 waits for ever. Returns 0 (pending or already done),
 * -EBUSY (a revoke is already pending) or -ENOMEM. */
int recall_revoke(struct server *srv, struct lease *l,
		  struct session *waiter, uint64_t req_id, uint32_t timeout_ms);

/* recall_truncate -- resize @ino to @size once no grant reaches past the
 * new end; as recall_revoke. -EBUSY if a truncate is already pending. */
int recall_truncate(struct server *srv, struct region *r, struct inode *ino,
		    uint64_t size, struct session *waiter, uint64_t req_id,
		    uint32_t timeout_ms);

/* recall_detach -- detach @r once it has no pins; new leases and grants
 * in it are refused meanwhile. -EBUSY if it is already detaching. */
int recall_detach(struct server *srv, struct region *r,
		  struct session *waiter, uint64_t req_id, uint32_t timeout_ms,
		  bool shutdown);

/* recall_check -- complete every pending operation whose grants are all
 * back. */
void recall_check(struct server *srv);

/* recall_lease_gone / recall_inode_gone -- @l or @ino is about to be
 * freed: complete or cancel what waits on it. */
void recall_lease_gone(struct server *srv, struct lease *l);
void recall_inode_gone(struct server *srv, struct inode *ino);

/* recall_region_gone -- @r is about to be detached: cancel what still
 * waits on it. */
void recall_region_gone(struct server *srv, struct region *r);

/* recall_session_gone -- @s closed: nobody is to be answered there. */
void recall_session_gone(struct server *srv, struct session *s);

/* recall_resend -- send @c the recalls pending for its leases (after a
 * reconnect). */
void recall_resend(struct server *srv, struct client *c);

/* recall_blockers -- what holds up pending operations on @region (NULL:
 * all) / @name (NULL: the whole region): at most @max lines into @out.
 * Returns the number there are (may exceed @max). */
size_t recall_blockers(const struct server *srv, const char *region,
		       const char *name, struct blocker *out, size_t max);

/* recall_pending -- how many operations are pending. */
uint32_t recall_pending(const struct server *srv);

#endif

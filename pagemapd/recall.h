/* recall.h -- the recall state machine (pure): operations that wait for
 * the final unpin of the grants in their scope. */
#ifndef PAGEMAP_RECALL_H
#define PAGEMAP_RECALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "list.h"

struct inode;
struct lease;
struct region;

/*
 * A recall covers a scope: one lease (revoke), the pages of one file past
 * a new end (truncate), or every lease of a region (detach). While it is
 * in force no grant is handed out in its scope (lease->revoking,
 * ino->trunc_pg, region->detaching are set here and read by lease_map),
 * its holders are asked to return what they hold, and once the last grant
 * in the scope is back the operation is ready: the owner's ready hook does
 * it and calls recall_finish(), which answers the caller (I4).
 *
 * Time is the caller's: a deadline is a number of milliseconds on the
 * caller's clock. recall_expire() answers callers whose deadline passed
 * with ETIMEDOUT and what still blocks, but the recall stays in force and
 * the operation still completes at the final unpin.
 *
 * Nothing here does I/O, logs or knows about connections: events to send
 * and completions leave through the hooks and each operation's callback.
 */

enum recall_kind {
	RECALL_REVOKE,
	RECALL_TRUNCATE,
	RECALL_DETACH,
};

struct recall_op;

/* recall_cb -- @op ended for its caller with @err (0, or a positive errno
 * and a message a person can act on). On a timeout the operation stays in
 * force and is still readable from @op until it finishes; otherwise @op is
 * freed when this returns. */
typedef void (*recall_cb)(struct recall_op *op, int err, const char *msg);

/* Who to answer: @cb (NULL: nobody) with @arg and the request @id. */
struct recall_waiter {
	recall_cb cb;
	void *arg;
	uint64_t id;
	uint64_t deadline; /* caller's clock, ms; 0: none */
};

struct recall_op {
	enum recall_kind kind;
	struct region *region;
	struct inode *ino; /* truncate, revoke */
	struct lease *lease; /* revoke */
	uint64_t size; /* truncate: the new size */
	uint64_t from_pg; /* truncate: the first page to free */
	bool shutdown; /* a detach started by a stop */
	struct recall_waiter w;
	struct list_node node; /* recall_set's list */
};

/* Bytes of a blocker's file: a file name (layout.h's PM_NAME_MAX) or an
 * orphan's label, and the NUL. */
#define BLOCKER_FILE_MAX 160

/* One line of `blockers`. */
struct blocker {
	const char *op; /* "revoke", "truncate", "detach", "shutdown" */
	char target[200]; /* for people: "r/f to 4096", "lease 3 on r/f" */
	const char *region; /* the operation's region's name */
	/* The file's name or "<orphan:INO>"; "" for a detach or shutdown. */
	char file[BLOCKER_FILE_MAX];
	uint64_t ino; /* 0 for a detach or shutdown */
	uint64_t new_size; /* truncate: the size it truncates to; else 0 */
	uint64_t lease_id;
	uint64_t client_id; /* filled by the owner hook */
	uint32_t pid; /* filled by the owner hook */
	char comm[16]; /* filled by the owner hook */
	uint64_t grants; /* in the operation's scope */
};

struct recall_hooks {
	/* send -- ask the holder of @l to return its grants in [off, off +
	 * len) (len 0: all of them). */
	void (*send)(void *ctx, struct lease *l, uint64_t off, uint64_t len,
		     const char *reason);
	/* ready -- every grant in @op's scope is back: do the operation,
	 * then recall_finish() it (possibly through recall_lease_gone()). */
	void (*ready)(void *ctx, struct recall_op *op);
	/* take -- before @l's holder is asked (NULL: nothing to take), take
	 * back alone what it has cached of file pages [pg, pg + n); the
	 * return value is unused (in_scope() counts what is left). */
	uint64_t (*take)(void *ctx, struct lease *l, uint64_t pg, uint64_t n);
	/* owner -- fill client_id, pid and comm of @b for @l's owner. */
	void (*owner)(void *ctx, const struct lease *l, struct blocker *b);
	void *ctx;
};

/* Every operation in force, and the state of recall_check(). */
struct recall_set {
	struct list_node ops; /* struct recall_op, newest first */
	uint32_t n;
	bool running; /* recall_check() is on the stack */
	bool again; /* ... and was asked to look once more */
	struct recall_hooks hooks;
};

/* recall_set_init -- an empty set answering through @hooks. */
void recall_set_init(struct recall_set *rs, const struct recall_hooks *hooks);

/* recall_set_fini -- free what is left (every operation dropped without
 * an answer). */
void recall_set_fini(struct recall_set *rs);

/* recall_revoke -- recall every grant of @l and end it at the final
 * return. Returns 0 (in force, or already done), -EBUSY (a revoke of @l
 * is in force) or -ENOMEM. */
int recall_revoke(struct recall_set *rs, struct lease *l,
		  const struct recall_waiter *w);

/* recall_truncate -- resize @ino of @r to @size once no grant reaches past
 * the new end; as recall_revoke. -EBUSY if a truncate of @ino is in
 * force. */
int recall_truncate(struct recall_set *rs, struct region *r,
		    struct inode *ino, uint64_t size,
		    const struct recall_waiter *w);

/* recall_detach -- detach @r once it has no pins; new leases and grants in
 * it are refused meanwhile. -EBUSY if it is already detaching. */
int recall_detach(struct recall_set *rs, struct region *r, bool shutdown,
		  const struct recall_waiter *w);

/* recall_check -- hand every operation whose grants are all back to the
 * ready hook. Cheap when nothing is in force; safe to call from the hook
 * (the inner call only asks the outer one to look again). */
void recall_check(struct recall_set *rs);

/* recall_finish -- @op is done: unlink it, answer its caller with @err
 * (0: success) and free it. */
void recall_finish(struct recall_set *rs, struct recall_op *op, int err,
		   const char *msg);

/* recall_lease_gone -- @l is about to be freed: a revoke of it is done. */
void recall_lease_gone(struct recall_set *rs, const struct lease *l);

/* recall_inode_gone -- @ino is about to be freed: its truncate fails. */
void recall_inode_gone(struct recall_set *rs, const struct inode *ino);

/* recall_region_gone -- @r is about to be detached: everything waiting on
 * it fails with ENOENT. */
void recall_region_gone(struct recall_set *rs, const struct region *r);

/* recall_forget -- nobody waiting with @arg is to be answered any more. */
void recall_forget(struct recall_set *rs, const void *arg);

/* recall_resend -- send again the events in force for the leases owned by
 * @owner (after a reconnect). */
void recall_resend(struct recall_set *rs, const void *owner);

/* recall_next_deadline -- the earliest deadline of a caller still
 * waiting, or 0 when there is none. */
uint64_t recall_next_deadline(const struct recall_set *rs);

/* recall_expire -- answer every caller whose deadline is <= @now with
 * ETIMEDOUT and what blocks; the operations stay in force. Returns how
 * many callers were answered. */
unsigned recall_expire(struct recall_set *rs, uint64_t now);

/* recall_blockers -- what holds up operations on @region (NULL: all) /
 * @name (NULL: the whole region): at most @max lines into @out. Returns
 * the number there are (may exceed @max). */
size_t recall_blockers(const struct recall_set *rs, const char *region,
		       const char *name, struct blocker *out, size_t max);

/* recall_pending -- how many operations are in force. */
uint32_t recall_pending(const struct recall_set *rs);

/* recall_op_name -- "revoke", "truncate", "detach" or "shutdown". */
const char *recall_op_name(const struct recall_op *op);

#endif

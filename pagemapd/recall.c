/* recall.c -- the recall state machine (pure).
 *
 * Nothing is freed while a grant on it is outstanding (I1, I4): truncate,
 * revoke and detach become recalls that ask the holders in their scope to
 * return their grants, keep new grants out of that scope, and hand the
 * operation to the owner's ready hook once the last grant is back. The
 * owner calls recall_check() after every return, lease end and process
 * exit; it costs nothing when no recall is in force.
 *
 * Invariant: an operation is on rs->ops from its start to recall_finish();
 * while it is there, the flag that keeps grants out of its scope is set.
 */
#include "recall.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"
#include "layout.h"
#include "lease.h"
#include "region.h"

#define DESCRIBE_MAX 8 /* blockers named in a timeout message */

/* label_of -- how @ino is named in blockers: its name, or "<orphan:INO>"
 * once unlinked (as file ls shows it), so an orphan's holders can still
 * be asked for by name. */
#define LABEL_MAX (PM_NAME_MAX + 32)
_Static_assert(LABEL_MAX <= BLOCKER_FILE_MAX, "a label fits a blocker's file");
static const char *
label_of(const struct inode *ino, char *buf, size_t len)
{
	if (!ino->orphan)
		return ino->name;
	snprintf(buf, len, "<orphan:%llu>",
		 (unsigned long long)inode_ino(ino));
	return buf;
}

static struct recall_op *
op_of(struct list_node *n)
{
	return list_entry(n, struct recall_op, node);
}

const char *
recall_op_name(const struct recall_op *op)
{
	switch (op->kind) {
	case RECALL_REVOKE:
		return "revoke";
	case RECALL_TRUNCATE:
		return "truncate";
	case RECALL_DETACH:
		return op->shutdown ? "shutdown" : "detach";
	}
	return "?";
}

/* in_scope -- grants of @l that @op waits for. */
static uint64_t
in_scope(const struct recall_op *op, const struct lease *l)
{
	switch (op->kind) {
	case RECALL_REVOKE:
		return l == op->lease ? l->ngrants : 0;
	case RECALL_TRUNCATE:
		return l->ino == op->ino ? lease_grants_from(l, op->from_pg)
					 : 0;
	case RECALL_DETACH:
		return l->region == op->region ? l->ngrants : 0;
	}
	return 0;
}

/* send_scope -- send @op's event to every holder in scope (only to leases
 * of @owner when it is not NULL). */
static void
send_scope(struct recall_set *rs, const struct recall_op *op, const void *owner)
{
	struct region *r = op->region;
	uint64_t len = 0, off = 0, from = 0;

	if (rs->hooks.send == NULL)
		return;
	if (op->kind == RECALL_TRUNCATE) {
		from = op->from_pg;
		off = op->from_pg << PM_PAGE_SHIFT;
		len = (layout_pages(op->ino->size) - op->from_pg) << PM_PAGE_SHIFT;
	}
	for (uint32_t slot = 0; slot < r->sb->inode_count; slot++) {
		struct inode *ino = r->files.inodes[slot];

		if (ino == NULL || (op->ino && ino != op->ino))
			continue;
		for (struct lease *l = ino->leases; l; l = l->ino_next) {
			if ((owner && l->owner != owner) ||
			    in_scope(op, l) == 0)
				continue;
			/* Cached grants come back alone; only what is still
			 * mapped wakes the holder. */
			if (rs->hooks.take)
				rs->hooks.take(rs->hooks.ctx, l, from,
					       UINT64_MAX - from);
			if (in_scope(op, l) == 0)
				continue;
			rs->hooks.send(rs->hooks.ctx, l, off, len,
				       recall_op_name(op));
		}
	}
}

/* lift -- the recall no longer keeps grants out of its scope. */
static void
lift(struct recall_op *op)
{
	switch (op->kind) {
	case RECALL_REVOKE:
		op->lease->revoking = false;
		break;
	case RECALL_TRUNCATE:
		op->ino->trunc_pg = UINT64_MAX;
		break;
	case RECALL_DETACH:
		/* A region stays detaching until it is gone. */
		break;
	}
}

void
recall_finish(struct recall_set *rs, struct recall_op *op, int err,
	      const char *msg)
{
	list_del(&op->node);
	rs->n--;
	lift(op);
	if (op->w.cb)
		op->w.cb(op, err < 0 ? -err : err, msg);
	free(op);
}

static bool
satisfied(const struct recall_op *op)
{
	switch (op->kind) {
	case RECALL_REVOKE:
		return op->lease->ngrants == 0;
	case RECALL_TRUNCATE:
		return inode_grants_from(op->ino, op->from_pg) == 0;
	case RECALL_DETACH:
		return op->region->pins == 0;
	}
	return false;
}

void
recall_check(struct recall_set *rs)
{
	struct list_node *pos, *n;

	if (list_empty(&rs->ops))
		return;
	/* Doing one operation ends leases, which checks again: flatten that
	 * recursion into this loop. */
	if (rs->running) {
		rs->again = true;
		return;
	}
	rs->running = true;
	do {
		rs->again = false;
		list_for_each(pos, n, &rs->ops)
		{
			struct recall_op *op = op_of(pos);

			if (satisfied(op)) {
				rs->hooks.ready(rs->hooks.ctx, op);
				rs->again = true;
				break;
			}
		}
	} while (rs->again);
	rs->running = false;
}

static struct recall_op *
op_new(struct recall_set *rs, enum recall_kind kind, struct region *r,
       const struct recall_waiter *w)
{
	struct recall_op *op = calloc(1, sizeof(*op));

	if (op == NULL)
		return NULL;
	op->kind = kind;
	op->region = r;
	if (w)
		op->w = *w;
	list_add_head(&rs->ops, &op->node);
	rs->n++;
	return op;
}

int
recall_revoke(struct recall_set *rs, struct lease *l,
	      const struct recall_waiter *w)
{
	struct recall_op *op;

	if (l->revoking)
		return -EBUSY;
	op = op_new(rs, RECALL_REVOKE, l->region, w);
	if (op == NULL)
		return -ENOMEM;
	op->lease = l;
	op->ino = l->ino;
	l->revoking = true;
	if (l->ngrants && rs->hooks.take)
		rs->hooks.take(rs->hooks.ctx, l, 0, UINT64_MAX);
	if (l->ngrants && rs->hooks.send)
		rs->hooks.send(rs->hooks.ctx, l, 0, 0, "revoke");
	recall_check(rs);
	return 0;
}

int
recall_truncate(struct recall_set *rs, struct region *r, struct inode *ino,
		uint64_t size, const struct recall_waiter *w)
{
	struct recall_op *op;

	if (ino->trunc_pg != UINT64_MAX)
		return -EBUSY;
	op = op_new(rs, RECALL_TRUNCATE, r, w);
	if (op == NULL)
		return -ENOMEM;
	op->ino = ino;
	op->size = size;
	op->from_pg = layout_pages(size);
	ino->trunc_pg = op->from_pg;
	send_scope(rs, op, NULL);
	recall_check(rs);
	return 0;
}

int
recall_detach(struct recall_set *rs, struct region *r, bool shutdown,
	      const struct recall_waiter *w)
{
	struct recall_op *op;

	if (r->detaching)
		return -EBUSY;
	op = op_new(rs, RECALL_DETACH, r, w);
	if (op == NULL)
		return -ENOMEM;
	op->shutdown = shutdown;
	r->detaching = true;
	send_scope(rs, op, NULL);
	recall_check(rs);
	return 0;
}

void
recall_lease_gone(struct recall_set *rs, const struct lease *l)
{
	struct list_node *pos, *n;

	list_for_each(pos, n, &rs->ops)
	{
		struct recall_op *op = op_of(pos);

		if (op->kind == RECALL_REVOKE && op->lease == l)
			recall_finish(rs, op, 0, NULL);
	}
}

void
recall_inode_gone(struct recall_set *rs, const struct inode *ino)
{
	struct list_node *pos, *n;

	list_for_each(pos, n, &rs->ops)
	{
		struct recall_op *op = op_of(pos);

		if (op->kind == RECALL_TRUNCATE && op->ino == ino)
			recall_finish(rs, op, ENOENT,
				      "the file was removed and freed while "
				      "the truncate waited");
	}
}

void
recall_region_gone(struct recall_set *rs, const struct region *r)
{
	struct list_node *pos, *n;

	list_for_each(pos, n, &rs->ops)
	{
		struct recall_op *op = op_of(pos);

		if (op->region == r)
			recall_finish(rs, op, ENOENT,
				      "the region was detached");
	}
}

void
recall_forget(struct recall_set *rs, const void *arg)
{
	struct list_node *pos, *n;

	list_for_each(pos, n, &rs->ops) if (op_of(pos)->w.arg == arg) op_of(pos)
		->w.cb = NULL;
}

void
recall_resend(struct recall_set *rs, const void *owner)
{
	struct list_node *pos, *n;

	list_for_each(pos, n, &rs->ops) send_scope(rs, op_of(pos), owner);
}

uint64_t
recall_next_deadline(const struct recall_set *rs)
{
	const struct list_node *pos;
	uint64_t next = 0;

	for (pos = rs->ops.next; pos != &rs->ops; pos = pos->next) {
		const struct recall_op *op =
			list_entry(pos, const struct recall_op, node);

		if (op->w.cb && op->w.deadline &&
		    (next == 0 || op->w.deadline < next))
			next = op->w.deadline;
	}
	return next;
}

/* describe -- "what still blocks" for a timeout message. */
static void
describe(const struct recall_set *rs, const struct recall_op *op, char *buf,
	 size_t len)
{
	struct blocker b[DESCRIBE_MAX];
	const char *name = recall_op_name(op);
	size_t n, off;

	n = recall_blockers(rs, op->region->name,
			    op->ino ? op->ino->name : NULL, b, DESCRIBE_MAX);
	off = (size_t)snprintf(buf, len,
			       "timed out; the %s stays pending "
			       "until these grants are returned:",
			       name);
	for (size_t i = 0, k = 0; i < n && i < DESCRIBE_MAX && off < len; i++) {
		if (strcmp(b[i].op, name) != 0)
			continue;
		off += (size_t)snprintf(
			buf + off, len - off,
			"%s lease %llu (pid %u %s, %llu "
			"grants)",
			k++ ? "," : "", (unsigned long long)b[i].lease_id,
			b[i].pid, b[i].comm, (unsigned long long)b[i].grants);
	}
}

unsigned
recall_expire(struct recall_set *rs, uint64_t now)
{
	struct list_node *pos, *n;
	unsigned k = 0;
	char msg[1024];

	list_for_each(pos, n, &rs->ops)
	{
		struct recall_op *op = op_of(pos);
		recall_cb cb = op->w.cb;

		if (cb == NULL || op->w.deadline == 0 || op->w.deadline > now)
			continue;
		describe(rs, op, msg, sizeof(msg));
		/* The caller is answered once; the recall stays. */
		op->w.cb = NULL;
		cb(op, ETIMEDOUT, msg);
		k++;
	}
	return k;
}

static bool
matches(const struct recall_op *op, const char *region, const char *name)
{
	char label[LABEL_MAX];

	if (region && strcmp(op->region->name, region) != 0)
		return false;
	if (name && op->ino &&
	    strcmp(label_of(op->ino, label, sizeof(label)), name) != 0)
		return false;
	return true;
}

static void
target_of(const struct recall_op *op, const struct lease *l, char *buf,
	  size_t len)
{
	const struct region *r = op->region;
	char label[LABEL_MAX];
	const char *name = label_of(l->ino, label, sizeof(label));

	if (op->kind == RECALL_DETACH)
		snprintf(buf, len, "%s", r->name);
	else if (op->kind == RECALL_TRUNCATE)
		snprintf(buf, len, "%s/%s to %llu", r->name, name,
			 (unsigned long long)op->size);
	else
		snprintf(buf, len, "lease %llu on %s/%s",
			 (unsigned long long)l->id, r->name, name);
}

size_t
recall_blockers(const struct recall_set *rs, const char *region,
		const char *name, struct blocker *out, size_t max)
{
	const struct list_node *pos;
	size_t n = 0;

	for (pos = rs->ops.next; pos != &rs->ops; pos = pos->next) {
		const struct recall_op *op =
			list_entry(pos, const struct recall_op, node);
		const struct region *r = op->region;

		if (!matches(op, region, name))
			continue;
		for (uint32_t slot = 0; slot < r->sb->inode_count; slot++) {
			const struct inode *ino = r->files.inodes[slot];

			char label[LABEL_MAX];

			if (ino == NULL || (op->ino && ino != op->ino) ||
			    (name && strcmp(label_of(ino, label, sizeof(label)),
					    name) != 0))
				continue;
			for (const struct lease *l = ino->leases; l;
			     l = l->ino_next) {
				uint64_t k = in_scope(op, l);
				struct blocker *b = &out[n];

				if (k == 0 || n++ >= max)
					continue;
				memset(b, 0, sizeof(*b));
				b->op = recall_op_name(op);
				target_of(op, l, b->target, sizeof(b->target));
				b->region = r->name;
				if (op->kind != RECALL_DETACH) {
					snprintf(b->file, sizeof(b->file), "%s",
						 label_of(ino, label,
							  sizeof(label)));
					b->ino = inode_ino(ino);
				}
				if (op->kind == RECALL_TRUNCATE)
					b->new_size = op->size;
				b->lease_id = l->id;
				b->grants = k;
				if (rs->hooks.owner)
					rs->hooks.owner(rs->hooks.ctx, l, b);
			}
		}
	}
	return n;
}

uint32_t
recall_pending(const struct recall_set *rs)
{
	return rs->n;
}

void
recall_set_init(struct recall_set *rs, const struct recall_hooks *hooks)
{
	memset(rs, 0, sizeof(*rs));
	list_init(&rs->ops);
	if (hooks)
		rs->hooks = *hooks;
}

void
recall_set_fini(struct recall_set *rs)
{
	while (!list_empty(&rs->ops)) {
		struct recall_op *op = op_of(rs->ops.next);

		list_del(&op->node);
		rs->n--;
		free(op);
	}
}

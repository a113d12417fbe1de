/* events.c -- libpagemap's events: the recall queue, pagemap_dispatch()
 * and pagemap_wait().
 *
 * The recall queue is bounded: past EVQ_SOFT entries a recall for a lease
 * already queued is merged into that entry (its range widened), so the
 * fact that a lease was recalled is never lost; past EVQ_SOFT only
 * distinct leases add entries, bounded by the daemon's per-client lease
 * limit, and a daemon that recalls more leases than that is broken
 * (-EPROTO). */
#include "events.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conn.h"
#include "owner.h"
#include "requests.h"

#define EVQ_SOFT 64u	/* queued recalls before merging starts */
#define EVQ_HARD 65536u /* lease limit assumed when none is given */

/* queue_hard_cap -- how many entries the queue may hold: past EVQ_SOFT
 * each entry is a distinct lease, and a client holds at most max_leases
 * (the daemon's limit, bounded here in case it announces none). */
static size_t
queue_hard_cap(const struct pagemap *pm)
{
	size_t leases = pm->limits.max_leases;

	if (leases == 0 || leases > EVQ_HARD)
		leases = EVQ_HARD;
	return EVQ_SOFT + leases;
}

/* merge_recall -- widen @q to also cover @r (the union's hull). */
static void
merge_recall(struct recall *q, const struct recall *r)
{
	if (q->length == 0 || r->length == 0) {
		q->offset = q->length = 0;
	} else {
		uint64_t lo = q->offset < r->offset ? q->offset : r->offset;
		uint64_t qe = q->offset + q->length;
		uint64_t re = r->offset + r->length;

		q->offset = lo;
		q->length = (qe > re ? qe : re) - lo;
	}
	/* The latest reason is the one that still stands. */
	q->reason = r->reason;
}

/* The wire's reason strings (the protocol keeps strings), by enum. */
static const char *const reason_names[] = {
	[PAGEMAP_RECALL_OTHER] = "other",
	[PAGEMAP_RECALL_REVOKE] = "revoke",
	[PAGEMAP_RECALL_TRUNCATE] = "truncate",
	[PAGEMAP_RECALL_UNLINK] = "unlink",
	[PAGEMAP_RECALL_DETACH] = "detach",
	[PAGEMAP_RECALL_SHUTDOWN] = "shutdown",
};

#define NREASONS (sizeof(reason_names) / sizeof(reason_names[0]))

/* pagemap_recall_reason_name -- static text; "other" for unknown values. */
const char *
pagemap_recall_reason_name(enum pagemap_recall_reason reason)
{
	if ((unsigned)reason >= NREASONS)
		reason = PAGEMAP_RECALL_OTHER;
	return reason_names[reason];
}

/* reason_from_wire -- the enum of a wire reason; a reason a newer daemon
 * may send is PAGEMAP_RECALL_OTHER, still a recall to answer. */
static enum pagemap_recall_reason
reason_from_wire(const char *s)
{
	for (size_t i = 1; i < NREASONS; i++)
		if (!strcmp(s, reason_names[i]))
			return (enum pagemap_recall_reason)i;
	return PAGEMAP_RECALL_OTHER;
}

/* events_queue_recall -- validate a recall and queue it. */
int
events_queue_recall(struct pagemap *pm, uint64_t lease_id, uint64_t offset,
		    uint64_t length, const char *reason)
{
	struct recall r = {0};

	if (lease_id == 0)
		return proto_error(pm, "recall without a lease id");
	if (length && offset > UINT64_MAX - length)
		return proto_error(pm, "recall range overflows");
	r.reason = reason_from_wire(reason);
	r.lease_id = lease_id;
	r.offset = length ? offset : 0;
	r.length = length;
	if (pm->qn - pm->qhead >= EVQ_SOFT) {
		pm->recall_overflow = true;
		for (size_t i = pm->qhead; i < pm->qn; i++) {
			if (pm->q[i].lease_id == r.lease_id) {
				merge_recall(&pm->q[i], &r);
				return 0;
			}
		}
		if (pm->qn - pm->qhead >= queue_hard_cap(pm))
			return proto_error(pm, "recalls for more leases than "
					       "the lease limit");
	}
	if (pm->qn == pm->qcap && pm->qhead) {
		memmove(pm->q, pm->q + pm->qhead,
			(pm->qn - pm->qhead) * sizeof(*pm->q));
		pm->qn -= pm->qhead;
		pm->qhead = 0;
	}
	if (pm->qn == pm->qcap) {
		size_t cap = pm->qcap ? pm->qcap * 2 : 16;
		struct recall *q = realloc(pm->q, cap * sizeof(*q));

		if (!q) /* we cannot keep it: the stream is no use now */
			return fail(pm, -ENOMEM);
		pm->q = q;
		pm->qcap = cap;
	}
	pm->q[pm->qn++] = r;
	return 0;
}

/* pagemap_set_recall_handler -- set or clear the recall handler. */
void
pagemap_set_recall_handler(struct pagemap *pm, pagemap_recall_fn fn, void *arg)
{
	if (!pm)
		return;
	pm->recall_fn = fn;
	pm->recall_arg = arg;
}

/* pagemap_dispatch -- drain the socket, then hand every queued recall to
 * the handler, until both are empty (a handler's own requests may queue
 * more). Without a handler the recalls stay queued. */
/* dispatch -- pagemap_dispatch() under the handle's lock; *ret_close
 * says the handle is to be closed once the lock is let go. */
static int
dispatch(struct pagemap *pm, bool *ret_close)
{
	int handled = 0, err = 0;

	if (!pm)
		return -EINVAL;
	if ((err = owner_check(pm)))
		return err;
	if (pm->dispatching)
		return -EDEADLK;
	pm->dispatching = true;
	/* A recall is handled as soon as it is read: its holder's answer
	 * should not wait for the rest of the socket to be read first. */
	while (!pm->close_pending) {
		struct recall r;

		if (!pm->recall_fn || pm->qhead == pm->qn) {
			if (pm->dead)
				break;
			err = conn_read_one(pm);
			/* Nothing there, or the daemon is away and the
			 * library reconnects (the fd polls readable when
			 * the next attempt is due). */
			if (err == -EAGAIN || err == -ENOTCONN ||
			    (err == -ECONNRESET && !pm->dead)) {
				err = 0;
				break;
			}
			if (err < 0) {
				err = pm->dead ? pm->dead : err;
				break;
			}
			continue;
		}
		r = pm->q[pm->qhead++];
		if (pm->qhead == pm->qn)
			pm->qhead = pm->qn = 0;
		pm->recall_fn(pm, lease_find(pm, r.lease_id), r.lease_id,
			      r.offset, r.length, r.reason, pm->recall_arg);
		handled++;
	}
	pm->dispatching = false;
	if (pm->close_pending) {
		*ret_close = true;
		return handled;
	}
	if (handled)
		return handled;
	return err ? err : (pm->dead ? pm->dead : 0);
}

int
pagemap_dispatch(struct pagemap *pm)
{
	bool close = false;
	int rv;

	if (!pm)
		return -EINVAL;
	if ((rv = owner_check(pm)))
		return rv;
	/* One dispatcher at a time; a handler's own calls take the lock
	 * again (it is recursive). */
	pthread_mutex_lock(&pm->lock);
	rv = dispatch(pm, &close);
	pthread_mutex_unlock(&pm->lock);
	if (close)
		conn_destroy(pm);
	return rv;
}

/* monotonic_ms -- a clock for timeouts. */
static int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* pagemap_wait -- poll the socket until something arrives or @timeout_ms
 * passes, then dispatch. Queued recalls are dispatched without waiting. */
int
pagemap_wait(struct pagemap *pm, int timeout_ms)
{
	int64_t deadline;
	int err;

	if (!pm)
		return -EINVAL;
	if ((err = owner_check(pm)))
		return err;
	if (pm->dispatching)
		return -EDEADLK;
	if (pm->dead || (pm->recall_fn && pm->qhead != pm->qn))
		return pagemap_dispatch(pm);
	deadline = timeout_ms < 0 ? 0 : monotonic_ms() + timeout_ms;
	for (;;) {
		struct pollfd p = {.fd = pm->fd, .events = POLLIN};
		int left = -1, r;

		if (timeout_ms >= 0) {
			int64_t d = deadline - monotonic_ms();

			left = d < 0 ? 0 : (int)d;
		}
		r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return 0;
		return pagemap_dispatch(pm);
	}
}

/* test_recall.c -- unit tests of the recall state machine (recall.c): no
 * socket, no loop, time is a number the test chooses. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "extent.h"
#include "inode.h"
#include "layout.h"
#include "lease.h"
#include "recall.h"
#include "region.h"

#include "inodes.h"

/*
 * Two regions built by hand, as in test_lease.c: r holds files a and b,
 * each 1024 pages in one extent aligned to 2 MiB (so a map of a whole file
 * is two order 9 folios); other holds file c. Owners are two fake
 * processes. The hooks record what the state machine sends and do what
 * the daemon's ops.c does when an operation is ready: end the lease,
 * resize the file, or let the region go.
 */

#define FILE_PAGES 1024u
#define NSLOTS 4u
#define MAX_EVENTS 32
#define MAX_DONE 16

struct owner {
	uint32_t pid;
	const char *comm;
};

struct event {
	uint64_t lease_id;
	uint64_t off, len;
	char reason[16];
};

struct done {
	uint64_t id;
	int err;
	char msg[1024];
};

struct world {
	struct pm_super sb, other_sb;
	struct region r, other;
	struct inode *slots[NSLOTS], *other_slots[NSLOTS];
	struct inode a, b, c;
	struct owner p1, p2;
	struct recall_set rs;
	struct event ev[MAX_EVENTS];
	size_t nev;
	struct done done[MAX_DONE];
	size_t ndone;
	uint64_t next_id;
};

static void
on_send(void *ctx, struct lease *l, uint64_t off, uint64_t len,
	const char *reason)
{
	struct world *w = ctx;
	struct event *e = &w->ev[w->nev++];

	assert_true(w->nev <= MAX_EVENTS);
	e->lease_id = l->id;
	e->off = off;
	e->len = len;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

static void
on_ready(void *ctx, struct recall_op *op)
{
	struct world *w = ctx;
	struct lease *l = op->lease;

	switch (op->kind) {
	case RECALL_REVOKE:
		/* Finishes (and frees) @op, as the daemon's lease end does. */
		recall_lease_gone(&w->rs, l);
		lease_free(l);
		return;
	case RECALL_TRUNCATE:
		op->ino->size = op->size;
		recall_finish(&w->rs, op, 0, NULL);
		return;
	case RECALL_DETACH:
		recall_finish(&w->rs, op, 0, NULL);
		return;
	}
}

static void
on_owner(void *ctx, const struct lease *l, struct blocker *b)
{
	const struct owner *o = l->owner;

	(void)ctx;
	b->pid = o->pid;
	b->client_id = o->pid;
	snprintf(b->comm, sizeof(b->comm), "%s", o->comm);
}

static void
on_done(struct recall_op *op, int err, const char *msg)
{
	struct world *w = op->w.arg;
	struct done *d = &w->done[w->ndone++];

	assert_true(w->ndone <= MAX_DONE);
	d->id = op->w.id;
	d->err = err;
	snprintf(d->msg, sizeof(d->msg), "%s", msg ? msg : "");
}

static void
file_init(struct inode *ino, uint32_t slot, const char *name,
	  uint64_t region_pg)
{
	test_inode_init(ino, slot, (uint64_t)FILE_PAGES * PM_PAGE_SIZE);
	snprintf(ino->name, sizeof(ino->name), "%s", name);
	test_inode_extent(ino, 0, region_pg, FILE_PAGES);
}

static void
region_init(struct region *r, struct pm_super *sb, struct inode **slots,
	    const char *name)
{
	sb->max_order = 9;
	sb->inode_count = NSLOTS;
	r->sb = sb;
	r->files.inodes = slots;
	r->fd = -1;
	r->ro_fd = -1;
	snprintf(r->name, sizeof(r->name), "%s", name);
}

static int
setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	struct recall_hooks h = {
		.send = on_send,
		.ready = on_ready,
		.owner = on_owner,
	};

	assert_non_null(w);
	region_init(&w->r, &w->sb, w->slots, "r");
	region_init(&w->other, &w->other_sb, w->other_slots, "other");
	file_init(&w->a, 1, "a", 512u * 10);
	file_init(&w->b, 2, "b", 512u * 20);
	file_init(&w->c, 1, "c", 512u * 30);
	w->slots[1] = &w->a;
	w->slots[2] = &w->b;
	w->other_slots[1] = &w->c;
	w->p1 = (struct owner){.pid = 101, .comm = "holder-one"};
	w->p2 = (struct owner){.pid = 202, .comm = "holder-two"};
	w->next_id = 1;
	h.ctx = w;
	recall_set_init(&w->rs, &h);
	*state = w;
	return 0;
}

static void
end_all(struct inode *ino)
{
	test_inode_end_leases(ino);
	extent_map_fini(&ino->map);
}

static int
teardown(void **state)
{
	struct world *w = *state;

	recall_set_fini(&w->rs);
	end_all(&w->a);
	end_all(&w->b);
	end_all(&w->c);
	free(w);
	return 0;
}

/* hold -- a write lease of @o on @ino of @r with grants over file pages
 * [pg, pg + n). */
static struct lease *
hold(struct world *w, struct region *r, struct inode *ino, struct owner *o,
     uint64_t pg, uint64_t n)
{
	struct grant v[16];
	struct lease *l = NULL;
	uint64_t next;

	assert_int_equal(lease_new(r, ino, o, LEASE_WRITE, w->next_id++, &l),
			 0);
	if (n)
		assert_true(lease_map(l, pg, n, LEASE_WRITE, v, 16, &next) > 0);
	return l;
}

static struct recall_waiter
waiter(struct world *w, uint64_t id, uint64_t deadline)
{
	struct recall_waiter rw = {
		.cb = on_done,
		.arg = w,
		.id = id,
		.deadline = deadline,
	};

	return rw;
}

/* give_back -- the holder returns @l's grants in [pg, pg + n); the daemon
 * then checks. */
static void
give_back(struct world *w, struct lease *l, uint64_t pg, uint64_t n)
{
	assert_true(lease_unmap(l, pg, n) > 0);
	recall_check(&w->rs);
}

/* truncate_between -- a lease of p1 on pages [0, 512) of a and one of p2
 * on [512, 1024), then a truncate of a to 512 pages for @rw. */
static void
truncate_between(struct world *w, struct recall_waiter *rw,
		 struct lease **ret_low, struct lease **ret_high)
{
	*ret_low = hold(w, &w->r, &w->a, &w->p1, 0, 512);
	*ret_high = hold(w, &w->r, &w->a, &w->p2, 512, 512);
	assert_int_equal(recall_truncate(&w->rs, &w->r, &w->a,
					 512ull * PM_PAGE_SIZE, rw),
			 0);
}

/* ---- scope ------------------------------------------------------------ */

static void
a_revoke_recalls_only_the_revoked_lease(void **state)
{
	struct world *w = *state;
	struct lease *l1 = hold(w, &w->r, &w->a, &w->p1, 0, FILE_PAGES);
	struct lease *l2 = hold(w, &w->r, &w->a, &w->p2, 0, FILE_PAGES);
	struct recall_waiter rw = waiter(w, 7, 0);

	assert_int_equal(recall_revoke(&w->rs, l1, &rw), 0);
	assert_int_equal(w->nev, 1);
	assert_int_equal(w->ev[0].lease_id, l1->id);
	assert_int_equal(w->ev[0].off, 0);
	assert_int_equal(w->ev[0].len, 0);
	assert_string_equal(w->ev[0].reason, "revoke");
	assert_true(l1->revoking);
	assert_false(l2->revoking);
	assert_int_equal(w->ndone, 0);
}

static void
a_truncate_recalls_only_grants_past_the_new_end(void **state)
{
	struct world *w = *state;
	struct recall_waiter rw = waiter(w, 7, 0);
	struct lease *low, *high;

	truncate_between(w, &rw, &low, &high);
	assert_int_equal(w->nev, 1);
	assert_int_equal(w->ev[0].lease_id, high->id);
	assert_int_equal(w->ev[0].off, 512ull * PM_PAGE_SIZE);
	assert_int_equal(w->ev[0].len, 512ull * PM_PAGE_SIZE);
	assert_string_equal(w->ev[0].reason, "truncate");
	assert_int_equal(w->a.trunc_pg, 512);
	(void)low;
}

static void
a_truncate_keeps_new_grants_out_of_its_range_only(void **state)
{
	struct world *w = *state;
	struct lease *l = hold(w, &w->r, &w->a, &w->p1, 0, FILE_PAGES);
	struct recall_waiter rw = waiter(w, 7, 0);
	struct grant v[4];
	uint64_t next;

	assert_int_equal(recall_truncate(&w->rs, &w->r, &w->a,
					 512ull * PM_PAGE_SIZE, &rw),
			 0);
	assert_int_equal(lease_map(l, 512, 512, LEASE_WRITE, v, 4, &next),
			 -EBUSY);
	assert_int_equal(lease_map(l, 0, 512, LEASE_WRITE, v, 4, &next), 1);
}

static void
a_detach_recalls_every_lease_of_its_region_and_no_other(void **state)
{
	struct world *w = *state;
	struct lease *la = hold(w, &w->r, &w->a, &w->p1, 0, 512);
	struct lease *lb = hold(w, &w->r, &w->b, &w->p2, 0, 512);
	struct lease *lc = hold(w, &w->other, &w->c, &w->p1, 0, 512);
	struct recall_waiter rw = waiter(w, 7, 0);

	assert_int_equal(recall_detach(&w->rs, &w->r, false, &rw), 0);
	assert_int_equal(w->nev, 2);
	for (size_t i = 0; i < w->nev; i++) {
		assert_true(w->ev[i].lease_id == la->id ||
			    w->ev[i].lease_id == lb->id);
		assert_int_not_equal(w->ev[i].lease_id, lc->id);
		assert_string_equal(w->ev[i].reason, "detach");
	}
	assert_true(w->r.detaching);
	assert_false(w->other.detaching);
}

static void
a_lease_without_grants_in_scope_gets_no_event(void **state)
{
	struct world *w = *state;
	struct lease *idle = hold(w, &w->r, &w->a, &w->p1, 0, 0);
	struct recall_waiter rw = waiter(w, 7, 0);

	(void)idle;
	hold(w, &w->r, &w->b, &w->p2, 0, 512);
	assert_int_equal(recall_detach(&w->rs, &w->r, true, &rw), 0);
	assert_int_equal(w->nev, 1);
	assert_string_equal(w->ev[0].reason, "shutdown");
}

/* ---- counting down ---------------------------------------------------- */

static void
a_revoke_completes_only_when_its_last_grant_is_returned(void **state)
{
	struct world *w = *state;
	struct lease *l = hold(w, &w->r, &w->a, &w->p1, 0, FILE_PAGES);
	struct recall_waiter rw = waiter(w, 7, 0);

	assert_int_equal(l->ngrants, 2);
	assert_int_equal(recall_revoke(&w->rs, l, &rw), 0);
	assert_int_equal(recall_pending(&w->rs), 1);
	give_back(w, l, 0, 512);
	assert_int_equal(w->ndone, 0);
	assert_int_equal(recall_pending(&w->rs), 1);
	give_back(w, l, 512, 512);
	assert_int_equal(w->ndone, 1);
	assert_int_equal(w->done[0].id, 7);
	assert_int_equal(w->done[0].err, 0);
	assert_int_equal(recall_pending(&w->rs), 0);
	assert_null(w->a.leases);
}

static void
a_truncate_waits_for_grants_past_the_end_but_not_for_those_before(
	void **state)
{
	struct world *w = *state;
	struct recall_waiter rw = waiter(w, 7, 0);
	struct lease *low, *high;

	truncate_between(w, &rw, &low, &high);
	recall_check(&w->rs);
	assert_int_equal(w->ndone, 0);
	give_back(w, high, 512, 512);
	assert_int_equal(w->ndone, 1);
	assert_int_equal(w->done[0].err, 0);
	assert_int_equal(w->a.size, 512ull * PM_PAGE_SIZE);
	assert_int_equal(w->a.trunc_pg, UINT64_MAX);
	assert_int_equal(low->ngrants, 1);
}

static void
an_operation_with_nothing_to_wait_for_completes_at_once(void **state)
{
	struct world *w = *state;
	struct lease *l = hold(w, &w->r, &w->a, &w->p1, 0, 0);
	struct recall_waiter rw = waiter(w, 9, 0);

	assert_int_equal(recall_revoke(&w->rs, l, &rw), 0);
	assert_int_equal(w->nev, 0);
	assert_int_equal(w->ndone, 1);
	assert_int_equal(w->done[0].id, 9);
	assert_int_equal(recall_pending(&w->rs), 0);
}

static void
a_second_revoke_or_truncate_of_the_same_target_is_busy(void **state)
{
	struct world *w = *state;
	struct lease *l = hold(w, &w->r, &w->a, &w->p1, 0, FILE_PAGES);
	struct recall_waiter rw = waiter(w, 7, 0);

	assert_int_equal(recall_revoke(&w->rs, l, &rw), 0);
	assert_int_equal(recall_revoke(&w->rs, l, &rw), -EBUSY);
	assert_int_equal(recall_truncate(&w->rs, &w->r, &w->a, 0, &rw), 0);
	assert_int_equal(recall_truncate(&w->rs, &w->r, &w->a, 0, &rw),
			 -EBUSY);
	assert_int_equal(recall_detach(&w->rs, &w->r, false, &rw), 0);
	assert_int_equal(recall_detach(&w->rs, &w->r, false, &rw), -EBUSY);
	assert_int_equal(recall_pending(&w->rs), 3);
}

/* ---- timeouts --------------------------------------------------------- */

static void
a_timeout_fails_only_the_caller_and_the_recall_stays_in_force(void **state)
{
	struct world *w = *state;
	struct lease *l = hold(w, &w->r, &w->a, &w->p1, 0, FILE_PAGES);
	struct recall_waiter rw = waiter(w, 7, 1000);
	struct grant v[4];
	uint64_t next;

	assert_int_equal(recall_truncate(&w->rs, &w->r, &w->a, 0, &rw), 0);
	assert_int_equal(recall_next_deadline(&w->rs), 1000);
	assert_int_equal(recall_expire(&w->rs, 999), 0);
	assert_int_equal(w->ndone, 0);
	assert_int_equal(recall_expire(&w->rs, 1000), 1);
	assert_int_equal(w->ndone, 1);
	assert_int_equal(w->done[0].err, ETIMEDOUT);
	assert_non_null(strstr(w->done[0].msg, "the truncate stays pending"));
	assert_non_null(strstr(w->done[0].msg, "pid 101 holder-one"));
	/* The caller is answered once; the recall is still in force. */
	assert_int_equal(recall_next_deadline(&w->rs), 0);
	assert_int_equal(recall_expire(&w->rs, 5000), 0);
	assert_int_equal(recall_pending(&w->rs), 1);
	assert_int_equal(lease_map(l, 0, 1, LEASE_WRITE, v, 4, &next),
			 -EBUSY);
	/* ... and completes at the final unpin, answering nobody. */
	give_back(w, l, 0, FILE_PAGES);
	assert_int_equal(recall_pending(&w->rs), 0);
	assert_int_equal(w->ndone, 1);
	assert_int_equal(w->a.size, 0);
}

static void
the_next_deadline_is_the_earliest_of_callers_still_waiting(void **state)
{
	struct world *w = *state;
	struct lease *la = hold(w, &w->r, &w->a, &w->p1, 0, 512);
	struct lease *lb = hold(w, &w->r, &w->b, &w->p1, 0, 512);
	struct recall_waiter late = waiter(w, 1, 3000);
	struct recall_waiter early = waiter(w, 2, 2000);
	struct recall_waiter never = waiter(w, 3, 0);

	assert_int_equal(recall_next_deadline(&w->rs), 0);
	assert_int_equal(recall_revoke(&w->rs, la, &late), 0);
	assert_int_equal(recall_revoke(&w->rs, lb, &early), 0);
	assert_int_equal(recall_truncate(&w->rs, &w->r, &w->b, 0, &never), 0);
	assert_int_equal(recall_next_deadline(&w->rs), 2000);
	assert_int_equal(recall_expire(&w->rs, 2500), 1);
	assert_int_equal(w->done[0].id, 2);
	assert_int_equal(recall_next_deadline(&w->rs), 3000);
}

static void
a_forgotten_caller_is_never_answered(void **state)
{
	struct world *w = *state;
	struct lease *l = hold(w, &w->r, &w->a, &w->p1, 0, 512);
	struct recall_waiter rw = waiter(w, 7, 100);

	assert_int_equal(recall_revoke(&w->rs, l, &rw), 0);
	recall_forget(&w->rs, w);
	assert_int_equal(recall_expire(&w->rs, 200), 0);
	give_back(w, l, 0, 512);
	assert_int_equal(recall_pending(&w->rs), 0);
	assert_int_equal(w->ndone, 0);
}

/* ---- order ------------------------------------------------------------ */

static void
operations_complete_in_the_order_their_grants_come_back(void **state)
{
	struct world *w = *state;
	struct lease *la = hold(w, &w->r, &w->a, &w->p1, 0, 512);
	struct lease *lb = hold(w, &w->r, &w->b, &w->p2, 0, 512);
	struct recall_waiter revoke = waiter(w, 1, 0);
	struct recall_waiter trunc = waiter(w, 2, 0);
	struct recall_waiter det = waiter(w, 3, 0);

	assert_int_equal(recall_revoke(&w->rs, la, &revoke), 0);
	assert_int_equal(recall_truncate(&w->rs, &w->r, &w->b, 0, &trunc), 0);
	assert_int_equal(recall_detach(&w->rs, &w->r, false, &det), 0);
	give_back(w, lb, 0, 512);
	assert_int_equal(w->ndone, 1);
	assert_int_equal(w->done[0].id, 2);
	give_back(w, la, 0, 512);
	/* Both the revoke and the detach are ready now; of operations that
	 * become ready together the newest goes first (the daemon's detach
	 * ends the revoked lease itself). */
	assert_int_equal(w->ndone, 3);
	assert_int_equal(w->done[1].id, 3);
	assert_int_equal(w->done[2].id, 1);
	assert_int_equal(recall_pending(&w->rs), 0);
}

static void
a_region_that_goes_fails_everything_waiting_on_it(void **state)
{
	struct world *w = *state;
	struct lease *la = hold(w, &w->r, &w->a, &w->p1, 0, 512);
	struct lease *lc = hold(w, &w->other, &w->c, &w->p1, 0, 512);
	struct recall_waiter r1 = waiter(w, 1, 0);
	struct recall_waiter r2 = waiter(w, 2, 0);

	assert_int_equal(recall_revoke(&w->rs, la, &r1), 0);
	assert_int_equal(recall_revoke(&w->rs, lc, &r2), 0);
	recall_region_gone(&w->rs, &w->r);
	assert_int_equal(w->ndone, 1);
	assert_int_equal(w->done[0].id, 1);
	assert_int_equal(w->done[0].err, ENOENT);
	assert_int_equal(recall_pending(&w->rs), 1);
}

static void
a_reconnected_owner_is_sent_only_its_own_recalls(void **state)
{
	struct world *w = *state;

	hold(w, &w->r, &w->a, &w->p1, 0, 512);
	hold(w, &w->r, &w->a, &w->p2, 0, 512);
	assert_int_equal(recall_detach(&w->rs, &w->r, false, NULL), 0);
	assert_int_equal(w->nev, 2);
	recall_resend(&w->rs, &w->p2);
	assert_int_equal(w->nev, 3);
	assert_int_equal(((struct owner *)w->a.leases->owner)->pid == 202
				 ? w->a.leases->id
				 : w->a.leases->ino_next->id,
			 w->ev[2].lease_id);
}

/* ---- blockers --------------------------------------------------------- */

static void
blockers_name_each_holder_in_scope_with_its_grants(void **state)
{
	struct world *w = *state;
	struct lease *low = hold(w, &w->r, &w->a, &w->p1, 0, 512);
	struct lease *high = hold(w, &w->r, &w->a, &w->p2, 0, FILE_PAGES);
	struct recall_waiter rw = waiter(w, 7, 0);
	struct blocker b[4];

	(void)low;
	assert_int_equal(recall_truncate(&w->rs, &w->r, &w->a,
					 512ull * PM_PAGE_SIZE, &rw),
			 0);
	assert_int_equal(recall_blockers(&w->rs, NULL, NULL, b, 4), 1);
	assert_string_equal(b[0].op, "truncate");
	assert_string_equal(b[0].target, "r/a to 2097152");
	assert_int_equal(b[0].lease_id, high->id);
	assert_int_equal(b[0].pid, 202);
	assert_string_equal(b[0].comm, "holder-two");
	assert_int_equal(b[0].grants, 1);
	/* the target as fields */
	assert_string_equal(b[0].region, "r");
	assert_string_equal(b[0].file, "a");
	assert_int_equal(b[0].ino, inode_ino(&w->a));
	assert_int_equal(b[0].new_size, 512ull * PM_PAGE_SIZE);
	assert_int_equal(recall_blockers(&w->rs, "other", NULL, b, 4), 0);
	assert_int_equal(recall_blockers(&w->rs, "r", "b", b, 4), 0);
	assert_int_equal(recall_blockers(&w->rs, "r", "a", b, 4), 1);
}

static void
blockers_count_every_line_even_past_the_room_given(void **state)
{
	struct world *w = *state;
	struct blocker b[1];

	hold(w, &w->r, &w->a, &w->p1, 0, 512);
	hold(w, &w->r, &w->b, &w->p2, 0, 512);
	hold(w, &w->r, &w->b, &w->p1, 512, 512);
	assert_int_equal(recall_detach(&w->rs, &w->r, false, NULL), 0);
	assert_int_equal(recall_blockers(&w->rs, "r", NULL, b, 1), 3);
	assert_string_equal(b[0].op, "detach");
	assert_string_equal(b[0].target, "r");
	/* a detach acts on the whole region: no file */
	assert_string_equal(b[0].region, "r");
	assert_string_equal(b[0].file, "");
	assert_int_equal(b[0].ino, 0);
	assert_int_equal(b[0].new_size, 0);
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_revoke_recalls_only_the_revoked_lease),
		T(a_truncate_recalls_only_grants_past_the_new_end),
		T(a_truncate_keeps_new_grants_out_of_its_range_only),
		T(a_detach_recalls_every_lease_of_its_region_and_no_other),
		T(a_lease_without_grants_in_scope_gets_no_event),
		T(a_revoke_completes_only_when_its_last_grant_is_returned),
		T(a_truncate_waits_for_grants_past_the_end_but_not_for_those_before),
		T(an_operation_with_nothing_to_wait_for_completes_at_once),
		T(a_second_revoke_or_truncate_of_the_same_target_is_busy),
		T(a_timeout_fails_only_the_caller_and_the_recall_stays_in_force),
		T(the_next_deadline_is_the_earliest_of_callers_still_waiting),
		T(a_forgotten_caller_is_never_answered),
		T(operations_complete_in_the_order_their_grants_come_back),
		T(a_region_that_goes_fails_everything_waiting_on_it),
		T(a_reconnected_owner_is_sent_only_its_own_recalls),
		T(blockers_name_each_holder_in_scope_with_its_grants),
		T(blockers_count_every_line_even_past_the_room_given),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}

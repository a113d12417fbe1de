/* test_account.c -- unit tests of the one accounting point (account.c):
 * charges reach the process, its uid and the totals; each limit refuses
 * by name; administrators pass every limit but the daemon-wide ones; a
 * random run of charges matches a model. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "account.h"

#include "fdcheck.h"
#include "rng.h"

#define SELF 999u /* the daemon's uid in these tests */

static void
limits(struct account *a, enum acct_scope s, enum acct_res r, uint64_t v)
{
	struct acct_limits l = a->lim;

	l.max[s][r] = v;
	account_set_limits(a, &l);
}

static void
charges_reach_the_process_its_uid_and_the_totals(void **state)
{
	struct acct_usage u;
	struct account a;
	struct acct_proc *p, *q, *p2;

	(void)state;
	assert_int_equal(account_init(&a, SELF), 0);
	p = account_proc_get(&a, 1000, 10, 77);
	q = account_proc_get(&a, 1000, 11, 78);
	p2 = account_proc_get(&a, 1000, 10, 77);
	assert_non_null(p);
	assert_non_null(q);
	assert_ptr_equal(p, p2); /* one entry per process */
	account_charge(&a, p, ACCT_GRANTS, 5);
	account_charge(&a, q, ACCT_GRANTS, 7);
	account_charge(&a, q, ACCT_LEASES, 1);
	assert_int_equal(p->use.n[ACCT_GRANTS], 5);
	account_uid_use(&a, 1000, &u);
	assert_int_equal(u.n[ACCT_GRANTS], 12);
	assert_int_equal(u.n[ACCT_LEASES], 1);
	assert_int_equal(a.all.n[ACCT_GRANTS], 12);
	assert_int_equal(a.others.n[ACCT_GRANTS], 12);
	assert_int_equal(account_memory(&u),
			 12 * ACCT_COST_GRANT + ACCT_COST_LEASE);
	account_uncharge(&a, p, ACCT_GRANTS, 5);
	account_uncharge(&a, q, ACCT_GRANTS, 7);
	account_uncharge(&a, q, ACCT_LEASES, 1);
	account_proc_put(&a, p2);
	account_proc_put(&a, p);
	account_proc_put(&a, q);
	assert_int_equal(a.nprocs, 0);
	assert_int_equal(a.nuids, 0);
	account_uid_use(&a, 1000, &u);
	assert_int_equal(u.n[ACCT_GRANTS], 0);
	account_proc_put(&a, NULL);
	account_fini(&a);
	account_fini(&a); /* twice is fine */
}

static void
process_limit_refuses_one_process_and_names_its_key(void **state)
{
	struct acct_refusal why;
	struct account a;
	struct acct_proc *p, *q;
	char msg[160];

	(void)state;
	assert_int_equal(account_init(&a, SELF), 0);
	limits(&a, ACCT_PROC, ACCT_LEASES, 2);
	p = account_proc_get(&a, 1000, 10, 0);
	q = account_proc_get(&a, 1000, 11, 0);
	assert_int_equal(account_check(&a, p, ACCT_LEASES, 2, &why), 0);
	account_charge(&a, p, ACCT_LEASES, 2);
	assert_int_equal(account_check(&a, p, ACCT_LEASES, 1, &why), -EDQUOT);
	assert_int_equal(why.scope, ACCT_PROC);
	assert_int_equal(why.res, ACCT_LEASES);
	assert_int_equal(why.limit, 2);
	assert_string_equal(why.key, "max_leases");
	assert_string_equal(account_refusal_str(&why, msg, sizeof(msg)),
			    "lease limit reached: 2 leases per process "
			    "(max_leases)");
	/* Another process of the same uid has its own share. */
	assert_int_equal(account_check(&a, q, ACCT_LEASES, 2, &why), 0);
	assert_int_equal(account_room(&a, p, ACCT_LEASES, &why), 0);
	assert_int_equal(account_room(&a, q, ACCT_LEASES, NULL), 2);
	account_uncharge(&a, p, ACCT_LEASES, 2);
	account_proc_put(&a, p);
	account_proc_put(&a, q);
	account_fini(&a);
}

static void
uid_limit_holds_over_all_processes_of_the_uid(void **state)
{
	struct acct_refusal why;
	struct account a;
	struct acct_proc *p[4], *other;
	char msg[160];

	(void)state;
	assert_int_equal(account_init(&a, SELF), 0);
	limits(&a, ACCT_PROC, ACCT_GRANTS, 1000);
	limits(&a, ACCT_UID, ACCT_GRANTS, 2500);
	for (uint32_t i = 0; i < 4; i++)
		p[i] = account_proc_get(&a, 1000, 100 + i, 5);
	other = account_proc_get(&a, 1001, 200, 5);
	account_charge(&a, p[0], ACCT_GRANTS, 1000);
	account_charge(&a, p[1], ACCT_GRANTS, 1000);
	/* 500 left for the uid, though p[2]'s own share is 1000. */
	assert_int_equal(account_room(&a, p[2], ACCT_GRANTS, NULL), 500);
	assert_int_equal(account_check(&a, p[2], ACCT_GRANTS, 501, &why),
			 -EDQUOT);
	assert_int_equal(why.scope, ACCT_UID);
	assert_string_equal(account_refusal_str(&why, msg, sizeof(msg)),
			    "grant limit reached: 2500 grants per uid "
			    "(max_grants_per_uid)");
	/* The process limit is named when it binds first. */
	assert_int_equal(account_check(&a, p[0], ACCT_GRANTS, 1, &why),
			 -EDQUOT);
	assert_int_equal(why.scope, ACCT_PROC);
	/* Another uid is not held back by this one. */
	assert_int_equal(account_check(&a, other, ACCT_GRANTS, 1000, &why), 0);
	account_uncharge(&a, p[0], ACCT_GRANTS, 1000);
	account_uncharge(&a, p[1], ACCT_GRANTS, 1000);
	for (int i = 0; i < 4; i++)
		account_proc_put(&a, p[i]);
	account_proc_put(&a, other);
	account_fini(&a);
}

static void
memory_limit_counts_every_resource_of_the_uid(void **state)
{
	struct acct_refusal why;
	struct account a;
	struct acct_proc *p;

	(void)state;
	assert_int_equal(account_init(&a, SELF), 0);
	limits(&a, ACCT_UID, ACCT_MEMORY, 1u << 20);
	p = account_proc_get(&a, 1000, 10, 0);
	/* Queued bytes and connections use up the memory grants need. */
	account_charge(&a, p, ACCT_QUEUED, 512u << 10);
	account_charge(&a, p, ACCT_CONNS, 1);
	assert_int_equal(account_room(&a, p, ACCT_GRANTS, NULL),
			 ((1u << 20) - (512u << 10) - ACCT_COST_CONN) /
				 ACCT_COST_GRANT);
	account_charge(&a, p, ACCT_QUEUED, 512u << 10);
	assert_int_equal(account_check(&a, p, ACCT_GRANTS, 1, &why), -EDQUOT);
	assert_int_equal(why.res, ACCT_MEMORY);
	assert_string_equal(why.key, "max_memory_per_uid");
	assert_int_equal(account_check(&a, p, ACCT_MEMORY, 1, &why), -EDQUOT);
	/* Reading (room for replies) is never held by the memory limit. */
	assert_int_equal(account_room(&a, p, ACCT_QUEUED, NULL), UINT64_MAX);
	account_uncharge(&a, p, ACCT_QUEUED, 1u << 20);
	account_uncharge(&a, p, ACCT_CONNS, 1);
	assert_int_equal(account_check(&a, p, ACCT_MEMORY, 1u << 20, &why), 0);
	/* With a cap on queued bytes, the rest gets what is left beside it,
	 * however little is queued now. */
	limits(&a, ACCT_UID, ACCT_QUEUED, 256u << 10);
	assert_int_equal(account_room(&a, p, ACCT_GRANTS, NULL),
			 (768u << 10) / ACCT_COST_GRANT);
	account_charge(&a, p, ACCT_QUEUED, 100);
	assert_int_equal(account_room(&a, p, ACCT_GRANTS, NULL),
			 (768u << 10) / ACCT_COST_GRANT);
	assert_int_equal(account_room(&a, p, ACCT_QUEUED, NULL),
			 (256u << 10) - 100);
	account_uncharge(&a, p, ACCT_QUEUED, 100);
	account_proc_put(&a, p);
	account_fini(&a);
}

static void
administrators_pass_all_but_the_daemon_wide_caps(void **state)
{
	struct acct_refusal why;
	struct account a;
	struct acct_proc *root, *self, *user;

	(void)state;
	assert_int_equal(account_init(&a, SELF), 0);
	limits(&a, ACCT_PROC, ACCT_LEASES, 1);
	limits(&a, ACCT_UID, ACCT_CONNS, 1);
	limits(&a, ACCT_UID, ACCT_MEMORY, 1);
	limits(&a, ACCT_OTHERS, ACCT_CONNS, 2);
	limits(&a, ACCT_ALL, ACCT_CONNS, 3);
	root = account_proc_get(&a, 0, 1, 0);
	self = account_proc_get(&a, SELF, 2, 0);
	user = account_proc_get(&a, 1000, 3, 0);
	assert_true(account_admin(&a, 0));
	assert_true(account_admin(&a, SELF));
	assert_false(account_admin(&a, 1000));
	account_charge(&a, root, ACCT_LEASES, 10);
	assert_int_equal(account_check(&a, root, ACCT_LEASES, 10, &why), 0);
	assert_int_equal(account_check(&a, self, ACCT_GRANTS, 1000, &why), 0);
	assert_int_equal(account_check(&a, user, ACCT_LEASES, 2, &why),
			 -EDQUOT);
	assert_int_equal(account_check(&a, user, ACCT_GRANTS, 1, &why),
			 -EDQUOT);
	assert_int_equal(why.res, ACCT_MEMORY);
	limits(&a, ACCT_UID, ACCT_MEMORY, 0);
	/* Connections: the user's uid cap, then the daemon's. */
	assert_int_equal(account_check_uid(&a, 1000, ACCT_CONNS, 1, &why), 0);
	account_charge(&a, user, ACCT_CONNS, 1);
	assert_int_equal(account_check_uid(&a, 1000, ACCT_CONNS, 1, &why),
			 -EUSERS);
	assert_string_equal(why.key, "max_connections_per_uid");
	assert_int_equal(account_check_uid(&a, 1001, ACCT_CONNS, 1, &why), 0);
	account_charge(&a, root, ACCT_CONNS, 1);
	account_charge(&a, self, ACCT_CONNS, 1);
	/* Admins count in the daemon's total, not in the others'. */
	assert_int_equal(a.others.n[ACCT_CONNS], 1);
	assert_int_equal(account_check_uid(&a, 0, ACCT_CONNS, 1, &why),
			 -EUSERS);
	assert_int_equal(why.scope, ACCT_ALL);
	assert_string_equal(why.key, "max_clients");
	account_uncharge(&a, root, ACCT_LEASES, 10);
	account_uncharge(&a, root, ACCT_CONNS, 1);
	account_uncharge(&a, self, ACCT_CONNS, 1);
	account_uncharge(&a, user, ACCT_CONNS, 1);
	account_proc_put(&a, root);
	account_proc_put(&a, self);
	account_proc_put(&a, user);
	account_fini(&a);
}

static void
others_cap_keeps_room_for_the_administrators(void **state)
{
	struct acct_refusal why;
	struct account a;
	struct acct_proc *u1, *u2;
	char msg[160];

	(void)state;
	assert_int_equal(account_init(&a, SELF), 0);
	limits(&a, ACCT_OTHERS, ACCT_CONNS, 2);
	limits(&a, ACCT_ALL, ACCT_CONNS, 4);
	u1 = account_proc_get(&a, 1000, 3, 0);
	u2 = account_proc_get(&a, 1001, 4, 0);
	account_charge(&a, u1, ACCT_CONNS, 1);
	account_charge(&a, u2, ACCT_CONNS, 1);
	assert_int_equal(account_check_uid(&a, 1002, ACCT_CONNS, 1, &why),
			 -EUSERS);
	assert_string_equal(account_refusal_str(&why, msg, sizeof(msg)),
			    "connection limit reached: 2 connections for all "
			    "other users together (max_clients less "
			    "reserved_connections)");
	assert_int_equal(account_check_uid(&a, 0, ACCT_CONNS, 2, &why), 0);
	account_uncharge(&a, u1, ACCT_CONNS, 1);
	account_uncharge(&a, u2, ACCT_CONNS, 1);
	account_proc_put(&a, u1);
	account_proc_put(&a, u2);
	account_fini(&a);
}

#define NPROCS 64
#define STEPS 100000

/* random_charges_match_a_model -- many processes of a few uids come and
 * go (the tables grow and chains move); every uid's figures stay the sum
 * of its processes', the totals the sum of all. */
static void
random_charges_match_a_model(void **state)
{
	struct acct_proc *p[NPROCS] = {0};
	uint64_t held[NPROCS][ACCT_MEMORY] = {{0}};
	uint32_t uid_of[NPROCS];
	struct account a;
	struct rng r;

	(void)state;
	rng_init(&r, rng_seed("account", 0xacc7));
	assert_int_equal(account_init(&a, SELF), 0);
	for (int step = 0; step < STEPS; step++) {
		int i = (int)rng_below(&r, NPROCS);
		enum acct_res res = (enum acct_res)rng_below(&r, ACCT_MEMORY);
		uint64_t n = rng_below(&r, 100);

		if (p[i] == NULL) {
			uid_of[i] = (uint32_t)rng_below(&r, 6); /* 0: admin */
			p[i] = account_proc_get(&a, uid_of[i], (uint32_t)i,
						rng_below(&r, 3));
			assert_non_null(p[i]);
			continue;
		}
		if (rng_below(&r, 2)) {
			account_charge(&a, p[i], res, n);
			held[i][res] += n;
		} else if (rng_below(&r, 8)) {
			n = n < held[i][res] ? n : held[i][res];
			account_uncharge(&a, p[i], res, n);
			held[i][res] -= n;
		} else {
			for (int k = 0; k < ACCT_MEMORY; k++) {
				account_uncharge(&a, p[i], (enum acct_res)k,
						 held[i][k]);
				held[i][k] = 0;
			}
			account_proc_put(&a, p[i]);
			p[i] = NULL;
		}
		if (step % 997 == 0) {
			for (uint32_t uid = 0; uid < 6; uid++) {
				struct acct_usage u, m = {{0}};

				for (int k = 0; k < NPROCS; k++)
					for (int x = 0;
					     p[k] && uid_of[k] == uid &&
					     x < ACCT_MEMORY;
					     x++)
						m.n[x] += held[k][x];
				account_uid_use(&a, uid, &u);
				assert_memory_equal(&u, &m, sizeof(u));
			}
		}
	}
	for (int i = 0; i < NPROCS; i++) {
		if (p[i] == NULL)
			continue;
		for (int k = 0; k < ACCT_MEMORY; k++)
			account_uncharge(&a, p[i], (enum acct_res)k,
					 held[i][k]);
		account_proc_put(&a, p[i]);
	}
	assert_int_equal(a.nprocs, 0);
	assert_int_equal(a.nuids, 0);
	for (int k = 0; k < ACCT_NRES; k++) {
		assert_int_equal(a.all.n[k], 0);
		assert_int_equal(a.others.n[k], 0);
	}
	account_fini(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(charges_reach_the_process_its_uid_and_the_totals),
		fdcheck_test(
			process_limit_refuses_one_process_and_names_its_key),
		fdcheck_test(uid_limit_holds_over_all_processes_of_the_uid),
		fdcheck_test(memory_limit_counts_every_resource_of_the_uid),
		fdcheck_test(administrators_pass_all_but_the_daemon_wide_caps),
		fdcheck_test(others_cap_keeps_room_for_the_administrators),
		fdcheck_test(random_charges_match_a_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

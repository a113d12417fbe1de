/* account.c -- what each client process and each uid makes the daemon
 * hold, and the limits on it: the one accounting point (pure).
 *
 * A process's entry lives while something refers to it (its connections,
 * its clients); a uid's while one of its processes has an entry. Charges
 * go to the process, its uid, the daemon's total and, for uids other than
 * the administrators', the total of the others; so a uid's figures are the
 * sum of its processes' at every moment, and nothing needs summing at a
 * check. Both tables are chained hashes that double as they fill: an entry
 * never moves, so a handle stays valid for the entry's life.
 */
#include "account.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_BUCKETS 64u

static const uint64_t cost[ACCT_NRES] = {
	[ACCT_CONNS] = ACCT_COST_CONN,
	[ACCT_LEASES] = ACCT_COST_LEASE,
	[ACCT_GRANTS] = ACCT_COST_GRANT,
	[ACCT_TABLES] = ACCT_COST_TABLE,
	[ACCT_QUEUED] = 1,
};

/* The keys of pagemapd.conf(5) that set each limit. */
/* clang-format off */
static const char *const keys[ACCT_NSCOPES][ACCT_NRES] = {
	[ACCT_PROC] = {
		[ACCT_LEASES] = "max_leases",
		[ACCT_GRANTS] = "max_grants",
		[ACCT_QUEUED] = "max_queued_bytes",
	},
	[ACCT_UID] = {
		[ACCT_CONNS] = "max_connections_per_uid",
		[ACCT_LEASES] = "max_leases_per_uid",
		[ACCT_GRANTS] = "max_grants_per_uid",
		[ACCT_TABLES] = "4 x max_connections_per_uid",
		[ACCT_QUEUED] = "max_queued_bytes_per_uid",
		[ACCT_MEMORY] = "max_memory_per_uid",
	},
	[ACCT_OTHERS] = {
		[ACCT_CONNS] = "max_clients less reserved_connections",
	},
	[ACCT_ALL] = {
		[ACCT_CONNS] = "max_clients",
	},
};
static const char *const nouns[ACCT_NRES] = {
	[ACCT_CONNS] = "connection",
	[ACCT_LEASES] = "lease",
	[ACCT_GRANTS] = "grant",
	[ACCT_TABLES] = "pin table",
	[ACCT_PENDING] = "queued reply",
	[ACCT_QUEUED] = "queued reply",
	[ACCT_MEMORY] = "memory",
};

static const char *const units[ACCT_NRES] = {
	[ACCT_CONNS] = "connections",
	[ACCT_LEASES] = "leases",
	[ACCT_GRANTS] = "grants",
	[ACCT_TABLES] = "pin tables",
	[ACCT_PENDING] = "replies",
	[ACCT_QUEUED] = "bytes",
	[ACCT_MEMORY] = "bytes",
};
/* clang-format on */

static const char *const scopes[ACCT_NSCOPES] = {
	[ACCT_PROC] = "per process",
	[ACCT_UID] = "per uid",
	[ACCT_OTHERS] = "for all other users together",
	[ACCT_ALL] = "in all",
};

static uint32_t
hash_uid(uint32_t uid, uint32_t nbuckets)
{
	return (uint32_t)((uid * 0x9e3779b97f4a7c15ull) >> 32) & (nbuckets - 1);
}

static uint32_t
hash_proc(uint32_t uid, uint32_t pid, uint64_t start, uint32_t nbuckets)
{
	uint64_t k =
		((uint64_t)uid << 32 | pid) ^ (start * 0xff51afd7ed558ccdull);

	return (uint32_t)((k * 0x9e3779b97f4a7c15ull) >> 32) & (nbuckets - 1);
}

int
account_init(struct account *a, uint32_t self_uid)
{
	memset(a, 0, sizeof(*a));
	a->self_uid = self_uid;
	a->uids = calloc(FIRST_BUCKETS, sizeof(*a->uids));
	a->procs = calloc(FIRST_BUCKETS, sizeof(*a->procs));
	if (a->uids == NULL || a->procs == NULL) {
		account_fini(a);
		return -ENOMEM;
	}
	a->nuid_buckets = a->nproc_buckets = FIRST_BUCKETS;
	return 0;
}

void
account_fini(struct account *a)
{
	for (uint32_t i = 0; i < a->nproc_buckets; i++) {
		struct acct_proc *p = a->procs[i], *next;

		for (; p; p = next) {
			next = p->next;
			free(p);
		}
	}
	for (uint32_t i = 0; i < a->nuid_buckets; i++) {
		struct acct_uid *u = a->uids[i], *next;

		for (; u; u = next) {
			next = u->next;
			free(u);
		}
	}
	free(a->procs);
	free(a->uids);
	a->procs = NULL;
	a->uids = NULL;
	a->nproc_buckets = a->nuid_buckets = 0;
	a->nprocs = a->nuids = 0;
	a->closing = false;
}

void
account_close(struct account *a)
{
	if (a->nprocs == 0)
		account_fini(a);
	else
		a->closing = true;
}

void
account_proc_hold(struct acct_proc *p)
{
	p->refs++;
}

void
account_set_limits(struct account *a, const struct acct_limits *lim)
{
	a->lim = *lim;
}

bool
account_admin(const struct account *a, uint32_t uid)
{
	return uid == 0 || uid == a->self_uid;
}

static struct acct_uid *
uid_find(const struct account *a, uint32_t uid)
{
	struct acct_uid *u;

	if (a->nuid_buckets == 0)
		return NULL;
	for (u = a->uids[hash_uid(uid, a->nuid_buckets)]; u; u = u->next)
		if (u->uid == uid)
			return u;
	return NULL;
}

/* grow_uids / grow_procs -- double the buckets; on -ENOMEM the chains
 * just grow longer. */
static void
grow_uids(struct account *a)
{
	uint32_t n = a->nuid_buckets * 2;
	struct acct_uid **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;
	for (uint32_t i = 0; i < a->nuid_buckets; i++) {
		struct acct_uid *u = a->uids[i], *next;

		for (; u; u = next) {
			uint32_t k = hash_uid(u->uid, n);

			next = u->next;
			u->next = b[k];
			b[k] = u;
		}
	}
	free(a->uids);
	a->uids = b;
	a->nuid_buckets = n;
}

static void
grow_procs(struct account *a)
{
	uint32_t n = a->nproc_buckets * 2;
	struct acct_proc **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;
	for (uint32_t i = 0; i < a->nproc_buckets; i++) {
		struct acct_proc *p = a->procs[i], *next;

		for (; p; p = next) {
			uint32_t k = hash_proc(p->owner->uid, p->pid,
					       p->start_time, n);

			next = p->next;
			p->next = b[k];
			b[k] = p;
		}
	}
	free(a->procs);
	a->procs = b;
	a->nproc_buckets = n;
}

static struct acct_uid *
uid_get(struct account *a, uint32_t uid)
{
	struct acct_uid *u = uid_find(a, uid);
	uint32_t k;

	if (u)
		return u;
	u = calloc(1, sizeof(*u));
	if (u == NULL)
		return NULL;
	if (a->nuids >= a->nuid_buckets)
		grow_uids(a);
	u->uid = uid;
	k = hash_uid(uid, a->nuid_buckets);
	u->next = a->uids[k];
	a->uids[k] = u;
	a->nuids++;
	return u;
}

static void
uid_unlink(struct account *a, struct acct_uid *u)
{
	struct acct_uid **pp = &a->uids[hash_uid(u->uid, a->nuid_buckets)];

	while (*pp != u)
		pp = &(*pp)->next;
	*pp = u->next;
	a->nuids--;
	free(u);
}

struct acct_proc *
account_proc_get(struct account *a, uint32_t uid, uint32_t pid,
		 uint64_t start_time)
{
	struct acct_proc *p;
	struct acct_uid *u;
	uint32_t k;

	if (a->nproc_buckets == 0)
		return NULL;
	k = hash_proc(uid, pid, start_time, a->nproc_buckets);
	for (p = a->procs[k]; p; p = p->next) {
		if (p->pid == pid && p->start_time == start_time &&
		    p->owner->uid == uid) {
			p->refs++;
			return p;
		}
	}
	u = uid_get(a, uid);
	if (u == NULL)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		if (u->refs == 0)
			uid_unlink(a, u);
		return NULL;
	}
	if (a->nprocs >= a->nproc_buckets)
		grow_procs(a);
	p->owner = u;
	p->pid = pid;
	p->start_time = start_time;
	p->refs = 1;
	u->refs++;
	k = hash_proc(uid, pid, start_time, a->nproc_buckets);
	p->next = a->procs[k];
	a->procs[k] = p;
	a->nprocs++;
	return p;
}

void
account_proc_put(struct account *a, struct acct_proc *p)
{
	struct acct_proc **pp;
	struct acct_uid *u;

	if (p == NULL || --p->refs)
		return;
	for (int r = 0; r < ACCT_NRES; r++)
		assert(p->use.n[r] == 0);
	u = p->owner;
	pp = &a->procs[hash_proc(u->uid, p->pid, p->start_time,
				 a->nproc_buckets)];
	while (*pp != p)
		pp = &(*pp)->next;
	*pp = p->next;
	a->nprocs--;
	free(p);
	if (--u->refs == 0)
		uid_unlink(a, u);
	if (a->closing && a->nprocs == 0)
		account_fini(a);
}

uint64_t
account_memory(const struct acct_usage *u)
{
	uint64_t m = 0;

	for (int r = 0; r < ACCT_MEMORY; r++)
		m += u->n[r] * cost[r];
	return m;
}

/* room_in -- how many more of @r the usage @u allows under the limits of
 * @scope (UINT64_MAX: none); *@why names the limit that binds. */
static uint64_t
room_in(const struct account *a, enum acct_scope scope,
	const struct acct_usage *u, enum acct_res r, struct acct_refusal *why)
{
	const uint64_t *lim = a->lim.max[scope];
	uint64_t room = UINT64_MAX, per = r == ACCT_MEMORY ? 1 : cost[r];
	enum acct_res by = r;

	if (r != ACCT_MEMORY && lim[r])
		room = lim[r] > u->n[r] ? lim[r] - u->n[r] : 0;
	/* Queued replies have caps of their own, inside the memory limit:
	 * the memory that is left is reckoned with them at their cap, and a
	 * client at its memory limit is still read (it must be able to
	 * return what it holds). */
	if (lim[ACCT_MEMORY] && per && r != ACCT_QUEUED && r != ACCT_PENDING) {
		uint64_t m = account_memory(u) - u->n[ACCT_QUEUED];
		uint64_t q = u->n[ACCT_QUEUED];

		if (lim[ACCT_QUEUED] > q)
			q = lim[ACCT_QUEUED];
		m += q;
		uint64_t left = lim[ACCT_MEMORY] > m ? lim[ACCT_MEMORY] - m : 0;

		if (left / per < room) {
			room = left / per;
			by = ACCT_MEMORY;
		}
	}
	*why = (struct acct_refusal){
		.res = by,
		.scope = scope,
		.limit = lim[by],
		.key = keys[scope][by],
	};
	return room;
}

/* room -- the least room for @n more of @r over every scope that applies
 * to @uid (and to @p, if not NULL), narrowest first; *@why names the
 * first limit that allows fewer than @n. */
static uint64_t
room(const struct account *a, uint32_t uid, const struct acct_proc *p,
     enum acct_res r, uint64_t n, struct acct_refusal *why)
{
	static const struct acct_usage none;
	const struct acct_uid *u = p ? p->owner : uid_find(a, uid);
	bool admin = account_admin(a, uid);
	const struct acct_usage *use[ACCT_NSCOPES] = {
		[ACCT_PROC] = p ? &p->use : NULL,
		[ACCT_UID] = u ? &u->use : &none,
		[ACCT_OTHERS] = &a->others,
		[ACCT_ALL] = &a->all,
	};
	uint64_t best = UINT64_MAX;
	bool told = false;

	for (int s = 0; s < ACCT_NSCOPES; s++) {
		struct acct_refusal w;
		uint64_t k;

		if (use[s] == NULL || (admin && s != ACCT_ALL))
			continue;
		k = room_in(a, (enum acct_scope)s, use[s], r, &w);
		if (k < best)
			best = k;
		if (k < n && !told) {
			*why = w;
			told = true;
		}
	}
	return best;
}

static int
check(const struct account *a, uint32_t uid, const struct acct_proc *p,
      enum acct_res r, uint64_t n, struct acct_refusal *why)
{
	struct acct_refusal w;

	if (room(a, uid, p, r, n, &w) >= n)
		return 0;
	*why = w;
	return r == ACCT_CONNS ? -EUSERS : -EDQUOT;
}

int
account_check(const struct account *a, const struct acct_proc *p,
	      enum acct_res r, uint64_t n, struct acct_refusal *why)
{
	return check(a, p->owner->uid, p, r, n, why);
}

int
account_check_uid(const struct account *a, uint32_t uid, enum acct_res r,
		  uint64_t n, struct acct_refusal *why)
{
	return check(a, uid, NULL, r, n, why);
}

uint64_t
account_room(const struct account *a, const struct acct_proc *p,
	     enum acct_res r, struct acct_refusal *why)
{
	struct acct_refusal w;
	uint64_t k = room(a, p->owner->uid, p, r, 1, &w);

	if (k == 0 && why)
		*why = w;
	return k;
}

void
account_charge(struct account *a, struct acct_proc *p, enum acct_res r,
	       uint64_t n)
{
	assert(r < ACCT_MEMORY);
	p->use.n[r] += n;
	p->owner->use.n[r] += n;
	a->all.n[r] += n;
	if (!account_admin(a, p->owner->uid))
		a->others.n[r] += n;
}

void
account_uncharge(struct account *a, struct acct_proc *p, enum acct_res r,
		 uint64_t n)
{
	assert(r < ACCT_MEMORY);
	assert(p->use.n[r] >= n);
	p->use.n[r] -= n;
	p->owner->use.n[r] -= n;
	a->all.n[r] -= n;
	if (!account_admin(a, p->owner->uid))
		a->others.n[r] -= n;
}

void
account_uid_use(const struct account *a, uint32_t uid, struct acct_usage *ret)
{
	const struct acct_uid *u = uid_find(a, uid);

	if (u)
		*ret = u->use;
	else
		memset(ret, 0, sizeof(*ret));
}

const char *
account_key(enum acct_scope scope, enum acct_res r)
{
	return keys[scope][r];
}

char *
account_refusal_str(const struct acct_refusal *why, char *buf, size_t len)
{
	snprintf(buf, len, "%s limit reached: %llu %s %s (%s)", nouns[why->res],
		 (unsigned long long)why->limit, units[why->res],
		 scopes[why->scope], why->key ? why->key : "?");
	return buf;
}

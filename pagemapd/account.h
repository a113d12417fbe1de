/* account.h -- what each client process and each uid makes the daemon
 * hold, and the limits on it: the one accounting point (pure). */
#ifndef PAGEMAP_ACCOUNT_H
#define PAGEMAP_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every resource a client can make the daemon hold is charged here when it
 * is made and uncharged when it goes, to the process that holds it and so
 * to its uid and to the daemon's totals. A check asks, before anything is
 * made, "may this process (or uid) take N more of R?" and answers with the
 * limit that would be exceeded. Administrators (uid 0 and the daemon's own
 * uid) are charged like anyone but refused only by the daemon-wide caps,
 * so that no user can lock them out.
 *
 * The memory estimate is derived, never charged: the sum of each counted
 * resource times what one of it costs the daemon (ACCT_COST_*; queued
 * bytes count as themselves), so a limit on it bounds what a uid can make
 * the daemon's resident set grow by, whatever mix of resources it
 * chooses. Queued replies are reckoned at their own cap when the memory
 * left for anything else is judged, and are never refused by the memory
 * limit: the estimate stays within the limit while a client that has
 * reached it is still read, so that it can give back what it holds.
 */

enum acct_res {
	ACCT_CONNS,   /* connections */
	ACCT_LEASES,  /* leases */
	ACCT_GRANTS,  /* grants (folios under leases) */
	ACCT_TABLES,  /* pin tables (one per client and region) */
	ACCT_PENDING, /* reply packets queued to a client not reading */
	ACCT_QUEUED,  /* their bytes, headers included (the memory) */
	ACCT_MEMORY,  /* the estimate; derived, not charged */
	ACCT_NRES
};

/* Where a limit applies. */
enum acct_scope {
	ACCT_PROC,   /* one process */
	ACCT_UID,    /* one uid, all its processes */
	ACCT_OTHERS, /* every uid but the administrators', together */
	ACCT_ALL,    /* the daemon, administrators included */
	ACCT_NSCOPES
};

/* What one of each resource costs the daemon's memory, in bytes, as the
 * estimate counts it (measured: docs/performance.md). A connection holds
 * a 64 KiB reply buffer besides its session and client, and may queue one
 * reply of up to 64 KiB past its process's room (ipc.c); a grant is a
 * 32-byte record in its lease's array and a 48-byte pin-table slot, each
 * in an array that grows by doubling, and with a state word its 8-byte
 * word and the daemon's record of the slot; a pin table is a 4 KiB
 * header, its first slots and two descriptors. */
#define ACCT_COST_CONN (136u << 10)
#define ACCT_COST_LEASE 1024u
#define ACCT_COST_GRANT 192u
#define ACCT_COST_TABLE (16u << 10)

/* Usage, by resource (ACCT_MEMORY unused). */
struct acct_usage {
	uint64_t n[ACCT_NRES];
};

/* Limits by scope and resource; 0 means none. ACCT_PROC and ACCT_UID
 * limits do not apply to administrators. */
struct acct_limits {
	uint64_t max[ACCT_NSCOPES][ACCT_NRES];
};

/* Why a check said no. */
struct acct_refusal {
	enum acct_res res;
	enum acct_scope scope;
	uint64_t limit;
	const char *key; /* the config key that sets it */
};

struct acct_uid;

/* One process's charges (a handle shared by its connections and
 * clients). */
struct acct_proc {
	struct acct_proc *next; /* hash chain */
	struct acct_uid *owner;
	uint32_t pid;
	uint64_t start_time; /* 0: unknown */
	uint32_t refs;
	struct acct_usage use;
};

struct acct_uid {
	struct acct_uid *next; /* hash chain */
	uint32_t uid;
	uint32_t refs; /* its processes */
	struct acct_usage use;
};

struct account {
	struct acct_limits lim;
	uint32_t self_uid;	  /* the daemon's: administers, as uid 0 does */
	struct acct_usage all;	  /* everyone */
	struct acct_usage others; /* everyone but the administrators */
	struct acct_uid **uids;
	uint32_t nuid_buckets; /* a power of two */
	uint32_t nuids;
	struct acct_proc **procs;
	uint32_t nproc_buckets; /* a power of two */
	uint32_t nprocs;
	bool closing; /* account_close(): free at the last put */
};

/* account_init -- an empty account for a daemon running as @self_uid, no
 * limits. Returns 0 or -ENOMEM. */
int account_init(struct account *a, uint32_t self_uid);

/* account_fini -- free @a's tables (a zeroed @a is fine); handles still
 * held must not be used afterwards. */
void account_fini(struct account *a);

/* account_close -- account_fini() now if no process has an entry, else
 * at the last account_proc_put(): connections still close after the
 * daemon has let go of its state. */
void account_close(struct account *a);

/* account_proc_hold -- one more reference on @p. */
void account_proc_hold(struct acct_proc *p);

/* account_set_limits -- @lim from now on; what is held beyond a lowered
 * limit stays, and only new charges are refused. */
void account_set_limits(struct account *a, const struct acct_limits *lim);

/* account_admin -- @uid administers (uid 0 or the daemon's own). */
bool account_admin(const struct account *a, uint32_t uid);

/* account_proc_get -- a reference on the entry of process @pid of @uid
 * started at @start_time (made on first use). Returns NULL on -ENOMEM. */
struct acct_proc *account_proc_get(struct account *a, uint32_t uid,
				   uint32_t pid, uint64_t start_time);

/* account_proc_put -- drop a reference from account_proc_get(); the last
 * one frees the entry, whose charges must all be back (asserted). NULL is
 * fine. */
void account_proc_put(struct account *a, struct acct_proc *p);

/* account_check -- may process @p take @n more of @r? 0, or -EDQUOT
 * (-EUSERS for connections) with the first limit that would be exceeded in
 * *@why (untouched on success). @r may be ACCT_MEMORY (@n bytes). */
int account_check(const struct account *a, const struct acct_proc *p,
		  enum acct_res r, uint64_t n, struct acct_refusal *why);

/* account_check_uid -- the same for @uid before any process of it is
 * known (a connection being accepted): ACCT_PROC limits are not asked. */
int account_check_uid(const struct account *a, uint32_t uid, enum acct_res r,
		      uint64_t n, struct acct_refusal *why);

/* account_room -- how many more of @r @p may take (UINT64_MAX: no limit),
 * memory included; when 0, *@why (may be NULL) says which limit. */
uint64_t account_room(const struct account *a, const struct acct_proc *p,
		      enum acct_res r, struct acct_refusal *why);

/* account_charge -- @p holds @n more of @r (never refused: check
 * first). */
void account_charge(struct account *a, struct acct_proc *p, enum acct_res r,
		    uint64_t n);

/* account_uncharge -- @p holds @n fewer of @r (at most what it holds). */
void account_uncharge(struct account *a, struct acct_proc *p, enum acct_res r,
		      uint64_t n);

/* account_uid_use -- what @uid holds now (zeros for a uid holding
 * nothing). */
void account_uid_use(const struct account *a, uint32_t uid,
		     struct acct_usage *ret);

/* account_memory -- the memory estimate of @u, in bytes. */
uint64_t account_memory(const struct acct_usage *u);

/* account_refusal_str -- "grant limit reached: 1048576 grants per uid
 * (max_grants_per_uid)" into @buf of @len bytes. Returns @buf. */
char *account_refusal_str(const struct acct_refusal *why, char *buf,
			  size_t len);

/* account_key -- the config key of the limit of @r in @scope, or NULL when
 * there is none. */
const char *account_key(enum acct_scope scope, enum acct_res r);

#endif

/* client.h -- a client process: its leases, its liveness, its connection. */
#ifndef PAGEMAP_CLIENT_H
#define PAGEMAP_CLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "lease.h"

struct acct_proc;
struct acct_refusal;
struct client_info;
struct inode;
struct pintab;
struct ipc_peer;
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
 *
 * Pins outlive the daemon too (I6): a client has one pin table (pintab.h)
 * per region it holds leases in, in the runtime directory, created at its
 * first lease there and removed when its last lease there ends. Every lease
 * is a PIN_LEASE record in it and every grant a PIN_GRANT (lease.c). After
 * a crash, pins.c restores from them a disconnected client ("restored")
 * that is kept exactly like one whose connection closed.
 */

/* One pin table of a client: its leases in one region. */
struct client_pins {
	struct list_node node; /* the client's tables */
	struct region *region;
	struct pintab *tab;
	uint32_t nleases; /* its leases here; the table goes with the last */
};
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
	bool dropping; /* client_keep(): its leases are being ended */
	void (*on_exit)(struct client *c); /* the process exited */
	struct list_node leases; /* struct lease, by lease->own */
	uint32_t nleases;
	uint64_t grants; /* folios under its leases */
	struct acct_proc *acct; /* its process's charges (account.h): its
				 * leases, grants and pin tables */
	uint64_t token; /* names it for a reconnect (HelloReply.token) */
	uint64_t start_time; /* of its process (holder.h); 0: unreadable */
	bool restored; /* rebuilt from pin tables after a restart */
	bool took_restored; /* adopted leases of a restored client */
	struct list_node pins; /* struct client_pins */
	struct gtable *words; /* its grants' state words (gtable.h), or NULL */
	struct list_node node; /* server's list of clients */
};

/* client_new -- the client behind the connection @s of @peer, charging
 * what it holds to @proc (the process's entry, started at
 * @proc->start_time; the client takes a reference of its own); the pidfd
 * moves from @peer to the client, whose @on_exit runs when the process
 * exits. Returns 0 or -ENOMEM. */
int client_new(struct server *srv, struct ipc_peer *peer, struct session *s,
	       struct acct_proc *proc, void (*on_exit)(struct client *c),
	       struct client **ret);

/* client_restore -- a disconnected client for the holder of a pin table
 * found at attach: process @pid of @uid started at @start_time, with
 * @token; @pidfd (-1: none, then it is kept until a restart proves it
 * gone) is watched for its exit like a connected client's and owned by the
 * client from now on, even on failure. Returns 0 or -ENOMEM. */
int client_restore(struct server *srv, pid_t pid, uid_t uid,
		   uint64_t start_time, uint64_t token, int pidfd,
		   void (*on_exit)(struct client *c), struct client **ret);

/* client_add_pins -- @c takes @tab, a table of its leases in @r found at
 * attach. Returns the client's record of it, or NULL (-ENOMEM). */
struct client_pins *client_add_pins(struct client *c, struct region *r,
				    struct pintab *tab);

/* client_lease_restore -- the lease @id (its record in @p's table at
 * @slot) put back under @c as it was before a restart. Returns 0, -EEXIST
 * (a lease of that id exists) or -ENOMEM. */
int client_lease_restore(struct client *c, struct client_pins *p,
			 struct inode *ino, enum lease_access access,
			 uint64_t id, uint32_t slot, struct lease **ret);

/* client_forget_region -- drop every lease and pin table of @r without
 * touching the table files (an attach that failed after its pins were
 * restored); clients left idle are freed. */
void client_forget_region(struct server *srv, struct region *r);

/* client_free -- unlink and free @c (its pidfd closes from the loop). Its
 * leases must have ended or moved. */
void client_free(struct client *c);

/* client_adopt -- take over the leases (and pin tables) of disconnected
 * clients of the same, still living, process (a reconnect): with @token
 * nonzero only of the one with that token (its pid, uid and start time
 * matching @c's), which @c then is named by; with 0, of every one of the
 * same pid, uid and start time. Returns how many leases. */
uint32_t client_adopt(struct client *c, uint64_t token);

/* client_adopt_words -- @c, which took back leases restored after a
 * daemon restart (client_adopt()) and has no word table, adopts the one
 * its process handed back in @fd (a memfd of @n words, named @id): the
 * restored grants whose pin records name a word the table still holds
 * are cached grants again (gtable_adopt(), lease_adopt_words()). Takes
 * @fd. Returns how many grants got their words back, -EALREADY (nothing
 * to adopt for), -EINVAL (not such a memfd) or -ENOMEM. */
int client_adopt_words(struct client *c, int fd, uint64_t id, uint32_t n);

/* client_detach_session -- @c's connection has closed. */
void client_detach_session(struct client *c);

/* client_alive -- the process behind @c has not exited (its pidfd does not
 * poll readable), judged now; true when it cannot be told (I1 first). */
bool client_alive(const struct client *c);

/* client_idle -- @c has neither a connection nor leases (and is not having
 * its leases ended): nothing keeps it. */
bool client_idle(const struct client *c);

/* client_lease_acquire -- a new lease for @c, recorded in its pin table of
 * @r (made now if it is its first lease there). Returns 0, -EDQUOT (a
 * limit of its process or uid, named in *@why), -ENOSPC (no room for the
 * pin table), lease_new()'s errors. */
int client_lease_acquire(struct client *c, struct region *r,
			 struct inode *ino, enum lease_access access,
			 struct lease **ret, struct acct_refusal *why);

/* client_grant_room -- how many more grants @c may take now (its
 * process's and uid's limits, memory included); at 0, *@why (may be NULL)
 * names the limit. */
uint64_t client_grant_room(const struct client *c, struct acct_refusal *why);

/* client_lease_find -- the lease with @id, or NULL. */
struct lease *client_lease_find(const struct server *srv, uint64_t id);

/* client_first_lease -- one of @c's leases, or NULL. */
struct lease *client_first_lease(const struct client *c);

/* client_unmap -- return @l's grants in [pg, pg + n); returns how many. */
uint64_t client_unmap(struct lease *l, uint64_t pg, uint64_t n);

/* client_unmap_all -- return every grant of @l; returns how many. */
uint64_t client_unmap_all(struct lease *l);

/* client_note_grants -- @k grants were added under @l. */
void client_note_grants(struct lease *l, uint64_t k);

/* client_lease_drop -- unlink and free @l, whose grants are all back. What
 * that ends besides (an orphan, the client) is the caller's (ops.c). */
void client_lease_drop(struct lease *l);

/* client_words -- @c's table of state words, made now with @n words if
 * it has none (every lease of @c then uses it). Returns it, or NULL
 * (memfd or memory refused: its grants then come without words). */
struct gtable *client_words(struct client *c, uint32_t n);

/* client_take_back -- lease_take_back() with @c's count of grants kept:
 * returns how many grants of @l in [pg, pg + n) are left to recall. */
uint64_t client_take_back(struct lease *l, uint64_t pg, uint64_t n);

/* client_taken -- the holder @c hands back the grant of word (@slot,
 * @gen); returns 1 when it was freed (lease_taken()). */
int client_taken(struct client *c, uint32_t slot, uint32_t gen);

/* client_set_name -- the name @c gave in its Hello. */
void client_set_name(struct client *c, const char *name);

/* client_keep -- while @on, @c is not freed when its last lease ends (its
 * leases are being ended one by one). */
void client_keep(struct client *c, bool on);

/* client_info -- describe @c. */
void client_info(const struct client *c, struct client_info *ret);

/* client_of -- the client on the server's list at @n. */
static inline struct client *
client_of(struct list_node *n)
{
	return list_entry(n, struct client, node);
}

/* lease_of_owner -- the lease on a client's list at @n. */
static inline struct lease *
lease_of_owner(struct list_node *n)
{
	return list_entry(n, struct lease, own);
}

/* client_owner -- the client owning @l. */
static inline struct client *
client_owner(const struct lease *l)
{
	return (struct client *)l->owner;
}

#endif

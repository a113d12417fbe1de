/* server.h -- the daemon's state: attached regions, sessions, shutdown. */
#ifndef PAGEMAP_SERVER_H
#define PAGEMAP_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "account.h"
#include "config.h"
#include "exlock.h"
#include "ipc.h"
#include "list.h"
#include "recall.h"
#include "region.h"
#include "wire.h"

#define SERVER_MAX_PACKET WIRE_MAX_PACKET
/* The exit status of a stop by a second signal, grants still out. */
#define SERVER_EXIT_PINS_KEPT 3
#define SERVER_MAX_FOLIOS_PER_REPLY 8192u /* a Map reply fits one packet */
#define SERVER_MAX_WORDS (1u << 22) /* words in a process's table, at most */

/* Descriptors a connection may cost: its socket, its client's pidfd, and
 * one for what it opens meanwhile (a pin table). */
#define SERVER_FDS_PER_CLIENT 3u
/* Descriptors kept beyond those open at start: regions attached later,
 * files opened for a moment (/proc, region fds duplicated for replies). */
#define SERVER_FDS_SPARE 16u
/* Uids whose refusals are remembered, to log each at most once a second. */
#define SERVER_REFUSAL_UIDS 16u

struct client;
struct grant;
struct lease;
struct server;

/* The runtime directory's pin tables (pins.c opens it before the server
 * starts). */
struct pin_dir {
	int dirfd;	     /* <runtime_dir>/pins; -1: pins are not kept */
	uint8_t boot_id[16]; /* this boot's, read once at start */
	uint32_t path_crc;   /* CRC32C of the runtime dir's absolute path */
	char path[PATH_MAX]; /* the runtime dir */
};

/* The last refusal logged for a uid: one line a second at most. */
struct refusal_log {
	uint32_t uid;
	uint64_t last_ms;    /* 0: unused */
	uint32_t suppressed; /* refusals not logged since */
};

/* What the layers above the server do for it (set by main.c): the server
 * calls down only, and up through these. */
struct server_upcalls {
	/* accept -- serve the accepted socket @fd (closed on failure). */
	int (*accept)(struct server *srv, int fd);
	/* stop -- a stop signal arrived. */
	void (*stop)(struct server *srv);
	/* restore_pins -- attach's pins phase for @r (NULL: none); 0 or
	 * -errno with a reason in @err (REGION_ERR_MAX bytes). */
	int (*restore_pins)(struct server *srv, struct region *r, char *err);
	/* forget_pins -- undo restore_pins for an attach that failed. */
	void (*forget_pins)(struct server *srv, struct region *r);
	/* pins -- the runtime directory (NULL: pins are not kept). */
	const struct pin_dir *pins;
	/* reload -- SIGHUP: read the configuration again (NULL: ignore). */
	void (*reload)(struct server *srv, void *ctx);
	void *reload_ctx;
};

struct server {
	uv_loop_t *loop;
	const struct config *cfg;
	struct region *regions[CONFIG_MAX_REGIONS];
	size_t nregions;
	struct server_upcalls up;
	struct pin_dir pins; /* a copy of up.pins; dirfd -1 without */
	struct ipc_listener listener;
	struct exlock socket_lock; /* "<socket>.lock", held for life */
	struct list_node conns;	   /* struct ipc_conn of every session */
	uint32_t nsessions;
	uint32_t max_clients;	   /* the config's, lowered to the fd limit */
	uint32_t max_unprivileged; /* max_clients less the admins' reserve */
	struct account acct; /* what each process and uid holds (account.h) */
	struct refusal_log refusals[SERVER_REFUSAL_UIDS];
	uint64_t paused_log_ms;	   /* the last "out of fds" line */
	struct list_node greeting; /* ipc_conn.greet_node, by deadline */
	uv_timer_t greet_timer;	   /* the first deadline of greeting */
	struct list_node clients;  /* struct client; outlive sessions (I5) */
	uint32_t nclients;
	uint64_t next_client_id;
	struct lease **lease_buckets; /* lease id index (client.c) */
	uint32_t lease_nbuckets;
	uint64_t nleases;
	uint64_t next_lease_id;
	struct recall_set recall; /* operations waiting for grants */
	uv_timer_t recall_timer;  /* the earliest caller's deadline (ops.c) */
	uint64_t next_region_serial;
	struct grant *scratch; /* one map reply's folios (ops.c) */
	uint64_t requests;     /* requests decoded, for `status` */
	struct wire_ctx *wire; /* the decode arena, encoder arrays */
	struct ipc_rx *rx;     /* every connection's receive buffers */
	uint64_t start_ms;
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_signal_t sighup;
	uv_timer_t finish_timer;   /* closes everything once stopped */
	uv_check_t commit_check;   /* group commit, once per loop iteration */
	struct list_node deferred; /* replies held until the commit */
	uint64_t reported_pins;	   /* the last stop progress logged */
	bool stopping;		   /* SIGTERM: detaching everything */
	bool finished;		   /* every region detached, handles closing */
};

/* server_start -- lock the socket's path, attach every configured region,
 * listen, handle signals (through @up). Returns 0 or -errno after logging
 * why (-EBUSY: another daemon holds the socket or a region file); on
 * failure everything started is undone. */
int server_start(struct server *srv, uv_loop_t *loop, const struct config *c,
		 const struct server_upcalls *up);

/* server_region -- the attached region @name, or NULL. */
struct region *server_region(const struct server *srv, const char *name);

/* server_attach -- attach (or create) a region and add it. Returns 0, or
 * -EEXIST (name or path already attached), -E2BIG (too many regions), or
 * region_attach's errors; a reason is in @err (REGION_ERR_MAX bytes). */
int server_attach(struct server *srv, const char *name, const char *path,
		  const struct region_opts *o, char *err);

/* server_detach -- detach region @name. Returns 0 or -ENOENT. */
int server_detach(struct server *srv, const char *name);

/* server_conn_add / server_conn_gone -- a session's connection opened /
 * has closed (the server closes every one when it finishes). @c->proc
 * is charged the connection; gone drops the reference on it that add
 * took over from the caller. */
void server_conn_add(struct server *srv, struct ipc_conn *c);
void server_conn_gone(struct server *srv, struct ipc_conn *c);

/* server_apply_limits -- the limits of the configuration (as a reload
 * left it) take effect in the account. */
void server_apply_limits(struct server *srv);

/* server_refused -- log that @uid was refused @what (e.g. "a lease")
 * because of @why, at most once a second per uid, with how many refusals
 * went unsaid meanwhile. */
void server_refused(struct server *srv, uint32_t uid, const char *what,
		    const char *why);

/* server_conn_greeted -- @c completed its Hello: it is no longer closed
 * at handshake_timeout_ms. */
void server_conn_greeted(struct server *srv, struct ipc_conn *c);

/* server_progress -- pending operations moved: while stopping, report
 * what the stop still waits for and finish once every region is gone. */
void server_progress(struct server *srv);

/* server_deferring -- true while replies must wait for a group commit:
 * a region has staged changes, or replies already wait. */
bool server_deferring(const struct server *srv);

/* server_defer -- hold a reply on @c (request @id) until the commit; a
 * reply about a change to @mutated (may be NULL) becomes an EIO error if
 * that region's commit fails. @fd (-1: none) is duplicated. Returns 0 or
 * -ENOMEM. */
int server_defer(struct server *srv, struct ipc_conn *c, uint64_t id,
		 const void *buf, size_t len, int fd, struct region *mutated);

/* server_forget -- drop the replies held for a closed connection. */
void server_forget(struct server *srv, struct ipc_conn *c);

/* server_pins -- outstanding grants over every region. */
uint64_t server_pins(const struct server *srv);

/* server_uptime_ms -- milliseconds since @srv started. */
uint64_t server_uptime_ms(const struct server *srv);

/* server_limits -- the limits @srv announces at the handshake. */
void server_limits(const struct server *srv, struct wire_limits *ret);

#endif

/* server.h -- the daemon's state: attached regions, sessions, shutdown. */
#ifndef PAGEMAP_SERVER_H
#define PAGEMAP_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "ipc.h"
#include "region.h"
#include "wire.h"

#define SERVER_MAX_PACKET WIRE_MAX_PACKET

struct client;
struct deferred;
struct grant;
struct lease;
struct pending;
struct session;

struct server {
	uv_loop_t *loop;
	const struct config *cfg;
	struct region *regions[CONFIG_MAX_REGIONS];
	size_t nregions;
	struct ipc_listener listener;
	struct session *sessions; /* doubly linked, newest first */
	uint32_t nsessions;
	struct client *clients; /* doubly linked; outlive sessions (I5) */
	uint32_t nclients;
	uint64_t next_client_id;
	struct lease **lease_buckets; /* lease id index (client.c) */
	uint32_t lease_nbuckets;
	uint64_t nleases;
	uint64_t next_lease_id;
	struct pending *pendings; /* operations waiting for grants */
	uint32_t npending;
	uint64_t next_region_serial;
	struct grant *scratch; /* one map reply's folios */
	uint64_t start_ms;
	uv_signal_t sigterm;
	uv_signal_t sigint;
	uv_timer_t finish_timer; /* closes everything once stopped */
	uv_check_t commit_check; /* group commit, once per loop iteration */
	struct deferred *deferred; /* replies held until the commit */
	struct deferred *deferred_tail;
	bool stopping; /* SIGTERM: detaching everything */
	bool finished; /* every region detached, handles closing */
};

/* server_start -- attach every configured region, listen, handle signals.
 * Returns 0 or -errno after logging why; on failure everything started
 * is undone. */
int server_start(struct server *srv, uv_loop_t *loop, const struct config *c);

/* server_stop -- begin shutdown: stop accepting, close every session,
 * detach every region. The loop ends once every handle is closed. */
void server_stop(struct server *srv);

/* server_region -- the attached region @name, or NULL. */
struct region *server_region(const struct server *srv, const char *name);

/* server_attach -- attach (or create) a region and add it. Returns 0, or
 * -EEXIST (name or path already attached), -E2BIG (too many regions), or
 * region_attach's errors; a reason is in @err (REGION_ERR_MAX bytes). */
int server_attach(struct server *srv, const char *name, const char *path,
		  const struct region_opts *o, char *err);

/* server_detach -- detach region @name. Returns 0 or -ENOENT. */
int server_detach(struct server *srv, const char *name);

/* server_session_gone -- a session's connection has closed; unlink it. */
void server_session_gone(struct server *srv, struct session *s);

/* server_progress -- pending operations moved: while stopping, report
 * what the stop still waits for and finish once every region is gone. */
void server_progress(struct server *srv);

/* server_deferring -- true while replies must wait for a group commit:
 * a region has staged changes, or replies already wait. */
bool server_deferring(const struct server *srv);

/* server_defer -- hold a reply to @s (request @id) until the commit; a
 * reply about a change to @mutated (may be NULL) becomes an EIO error if
 * that region's commit fails. @fd (-1: none) is duplicated. Returns 0 or
 * -ENOMEM. */
int server_defer(struct server *srv, struct session *s, uint64_t id,
		 const void *buf, size_t len, int fd, struct region *mutated);

/* server_forget -- drop the replies held for a closed session. */
void server_forget(struct server *srv, struct session *s);

/* server_pins -- outstanding grants over every region. */
uint64_t server_pins(const struct server *srv);

#endif

/* pagemap.h -- libpagemap, the client library of pagemapd. */
#ifndef PAGEMAP_H
#define PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every call returns 0 (or a count) on success and a negative errno value
 * on failure: the daemon's error code, or a local one (-ECONNREFUSED,
 * -EPROTO, ...). pagemap_strerror() turns a code into text and
 * pagemap_last_message() returns the daemon's own one-line explanation of
 * the last failed request on that connection ("" when there is none).
 *
 * Threading: every call on a handle, its leases and its mappings may be
 * made from several threads at once, except pagemap_close(),
 * pagemap_set_recall_handler() and the accessors of an object another
 * thread may free (a mapping being unmapped, a lease being released): the
 * handle has one lock, and every call that touches its state or talks to
 * the daemon holds it (one request in flight per handle). A map of a
 * range the lease has cached holds it only to look up its grants and map
 * them, never across a round trip of its own; a map or unmap that asks
 * the daemon holds it for the round trip. One thread at a time runs
 * pagemap_dispatch() (a second one waits), and a recall handler may call
 * anything but pagemap_dispatch()/pagemap_wait(). pagemap_last_message()
 * of a handle is the last failure on it from any thread;
 * pagemap_last_message(NULL) is per thread. Calls block until their reply
 * arrives.
 *
 * Processes: a handle serves the process that made it. In any other
 * process (a child made by fork() or clone()) every int-returning call on
 * the handle, its leases or its mappings fails with -ECHILD, meaning "this
 * handle was made by another process; connect anew", without sending,
 * reading or unmapping anything: the daemon keys leases to the process
 * that connected and ends them when it exits. A fork() closes the
 * handles' socket and region fds in the child (a raw clone() does not).
 * The library's fds are close-on-exec.
 *
 * Timeouts: every call that waits takes `int timeout_ms`: < 0 waits for
 * ever, 0 does not wait, > 0 waits at most that long.
 *
 * Records: every info struct starts with `uint32_t struct_size`, the size
 * of the struct the library filled in; a field at or past it is absent
 * (an older library). Strings point into the same allocation. The library
 * allocates results: a single record (struct pagemap_file_info **ret) or
 * a listing (an array of *ret_n pointers, struct pagemap_file_info ***ret)
 * is one allocation, released with pagemap_free().
 */

#define PAGEMAP_PROTOCOL_VERSION 1u
#define PAGEMAP_DEFAULT_SOCKET_ENV "PAGEMAP_SOCKET"

/* The version of this header; pagemap_version() is the library's. */
#define PAGEMAP_VERSION_MAJOR 0
#define PAGEMAP_VERSION_MINOR 1
#define PAGEMAP_VERSION_PATCH 0

struct pagemap;

/* pagemap_version -- the library's version, "MAJOR.MINOR.PATCH". */
const char *pagemap_version(void);

struct pagemap_limits {
	uint32_t struct_size;
	uint32_t max_packet;
	uint32_t max_leases;
	uint64_t max_grants;
	uint32_t max_pending;
	uint32_t max_folios_per_reply;
	uint32_t max_name;
	/* grants kept cached after unmap (0: no bound); past them the
	 * least recently used go back to the daemon */
	uint32_t max_cached_grants_per_lease;
	uint64_t max_cached_grants_per_process;
};

struct pagemap_status {
	uint32_t struct_size;
	uint32_t pid;
	const char *server; /* "pagemapd X.Y.Z" */
	uint64_t uptime_ms;
	uint32_t regions;
	uint32_t clients;
	uint64_t leases;
	uint64_t grants;
	uint32_t pending_ops;
	uint64_t requests; /* requests the daemon decoded since it started */
};

struct pagemap_region_info {
	uint32_t struct_size;
	const char *name;
	const char *path;
	const char *kind; /* "file", "fsdax", "devdax" */
	const char *uuid;
	const char *state; /* "attached", "detaching" */
	uint64_t size;
	uint64_t data_size;
	uint64_t used;
	uint64_t free;
	uint32_t files;
	uint32_t max_files;
	uint32_t max_order;
	uint32_t uid, gid, mode;
	uint64_t pins;
	uint32_t orphans;
};

struct pagemap_file_info {
	uint32_t struct_size;
	const char *region;
	const char *name; /* "" for an orphan */
	uint64_t ino;
	uint64_t size;
	uint64_t allocated;
	uint32_t uid, gid, mode;
	uint32_t extents;
	uint32_t leases;
	uint64_t grants;
	bool orphan;
	uint64_t mtime_ns;
};

/* pagemap_default_socket -- the socket path used when none is given:
 * $PAGEMAP_SOCKET if set, else the build's default. */
const char *pagemap_default_socket(void);

/* pagemap_connect -- connect to the daemon at @socket_path (NULL: the
 * default) and do the version handshake, naming the client @client_name
 * (NULL: the program name). Returns 0 and *ret, or -errno; on failure
 * pagemap_last_message(NULL) says which path failed and why. */
int pagemap_connect(const char *socket_path, const char *client_name,
		    struct pagemap **ret);

/* pagemap_close -- close the connection and free @pm (NULL is fine). In
 * a process that did not make @pm (a forked child) it frees the memory
 * only: nothing is sent, unmapped or closed. */
void pagemap_close(struct pagemap *pm);

/*
 * When the daemon goes away (a crash, kill -9, a restart) the handle stays
 * usable: every lease, mapping and region fd is kept (the daemon keeps
 * their pins), and the library connects again by itself, with no thread,
 * inside the application's own calls: at the start of any request and in
 * pagemap_dispatch()/pagemap_wait(); first at once, then after 10 ms,
 * doubling up to 1 s between attempts. pagemap_get_fd() keeps its number:
 * while the daemon is away it is a timerfd that polls readable when the
 * next attempt is due (so a poll loop sleeps instead of spinning), then
 * the new socket. The daemon hands this client's leases back under the
 * same ids, so lease handles, mappings and recall handlers go on working.
 * Cached grants stay cached across a reconnect, also after a daemon
 * restart (the library hands its word table back and the daemon adopts
 * it); if the daemon cannot, they are forgotten and returned.
 * On each reconnect the library returns every grant the daemon holds that
 * no mapping or raw grant of it holds any more (a map whose reply was lost,
 * an unmap that did not reach the daemon), and releases a lease the daemon
 * holds for it that it does not know. A lease the daemon no longer knows
 * (it lost its runtime directory) becomes dead: pagemap_map() and
 * pagemap_grant() on it fail with -ENOLINK, its mappings stay until
 * unmapped (their bytes are no longer pinned: unmap them), and unmapping,
 * returning and releasing succeed without a request.
 *
 * What a request returns when the daemon goes away:
 *  -ENOTCONN     the daemon is away and the next attempt is not due: the
 *                request was not sent, nothing happened;
 *  -ECONNRESET   it went away while the request was in flight. For
 *                pagemap_map(), pagemap_grant() and pagemap_lease_acquire()
 *                nothing was granted or acquired (the reconcile returns or
 *                releases whatever the daemon made); for
 *                pagemap_file_create(), _truncate(), _remove(),
 *                pagemap_lease_revoke(), pagemap_region_attach() and
 *                _detach() the request may or may not have taken effect
 *                (look, e.g. with pagemap_file_stat(), once connected);
 *                listings and pagemap_status() took no effect.
 * pagemap_unmap(), pagemap_unmap_nowait(), pagemap_flush() and
 * pagemap_return() return 0 in both cases: the mapping is gone (the raw
 * grants are no longer the caller's) and the reconcile returns the grants.
 * pagemap_lease_release() of a lease without raw grants returns 0 and
 * frees the handle; the reconcile releases the daemon's lease. Only a
 * broken protocol (-EPROTO and the like) makes the handle unusable for
 * good.
 *
 * A recall that was pending when the daemon died is not pending in the
 * new one: whoever started the operation (a revoke, truncate or detach)
 * got -ECONNRESET and starts it again, which sends the recall again.
 */

/* pagemap_connected -- 1 while connected to the daemon, 0 while the
 * daemon is away and the library waits to reconnect, or the -errno that
 * made the handle unusable for good (-EINVAL for NULL). */
int pagemap_connected(const struct pagemap *pm);

/* pagemap_reconnects -- how many times @pm connected again (0 for NULL). */
uint64_t pagemap_reconnects(const struct pagemap *pm);

/* pagemap_get_limits -- the limits the daemon announced at the
 * handshake; owned by @pm (not freed by the caller). */
const struct pagemap_limits *pagemap_get_limits(const struct pagemap *pm);

/* pagemap_strerror -- text for a (negative or positive) error code. */
const char *pagemap_strerror(int err);

/* pagemap_last_message -- the daemon's message for the last failure on
 * @pm, or "". Valid until the next call on @pm. With @pm NULL: the
 * calling thread's last pagemap_connect() failure (thread-local), e.g.
 * "connect /run/pagemapd/pagemapd.sock: No such file or directory (is
 * pagemapd running?)", or "" when its last connect succeeded. */
const char *pagemap_last_message(const struct pagemap *pm);

/* pagemap_status -- the daemon's status; *ret freed with pagemap_free(). */
int pagemap_status(struct pagemap *pm, struct pagemap_status **ret);

/* pagemap_region_list -- all attached regions: *ret is an array of *ret_n
 * pointers, one allocation released with pagemap_free(). */
int pagemap_region_list(struct pagemap *pm,
			struct pagemap_region_info ***ret, size_t *ret_n);

/* pagemap_region_info -- one region; *ret freed with pagemap_free(). */
int pagemap_region_info(struct pagemap *pm, const char *region,
			struct pagemap_region_info **ret);

#define PAGEMAP_ATTACH_CREATE 0x1u /* create + format if absent */

/* pagemap_region_attach -- attach the region file @path as @region.
 * @size is needed with PAGEMAP_ATTACH_CREATE; @max_order < 0 means the
 * default. @ret may be NULL; else *ret is freed with pagemap_free(). */
int pagemap_region_attach(struct pagemap *pm, const char *region,
			  const char *path, uint64_t size, int max_order,
			  unsigned flags, struct pagemap_region_info **ret);

/*
 * The administrative calls that wait for grants to come back (detach,
 * truncate, revoke) start the operation and wait at most @timeout_ms for
 * its final unpin: < 0 for ever; 0 returns -ETIMEDOUT at once if it
 * cannot complete (the daemon is asked to wait 1 ms, the least it
 * accepts); > 0 at most that long. On -ETIMEDOUT the recall stays in
 * force and the operation completes at the final unpin.
 */

/* pagemap_region_detach -- detach @region, waiting as @timeout_ms says
 * for outstanding grants. */
int pagemap_region_detach(struct pagemap *pm, const char *region,
			  int timeout_ms);

/* pagemap_file_create -- create @region/@name of @size bytes with @mode
 * (< 0: 0644). @ret may be NULL; else *ret is freed with pagemap_free(). */
int pagemap_file_create(struct pagemap *pm, const char *region,
			const char *name, uint64_t size, int mode,
			struct pagemap_file_info **ret);

/* pagemap_file_list -- every file of @region (all pages fetched): *ret
 * is an array of *ret_n pointers, one allocation freed with
 * pagemap_free(). */
int pagemap_file_list(struct pagemap *pm, const char *region,
		      struct pagemap_file_info ***ret, size_t *ret_n);

/* pagemap_file_stat -- one file; *ret freed with pagemap_free(). */
int pagemap_file_stat(struct pagemap *pm, const char *region,
		      const char *name, struct pagemap_file_info **ret);

/* pagemap_file_truncate -- set the size of @region/@name, waiting as
 * @timeout_ms says for grants past the new end. @ret may be NULL; else
 * *ret is freed with pagemap_free(). */
int pagemap_file_truncate(struct pagemap *pm, const char *region,
			  const char *name, uint64_t size, int timeout_ms,
			  struct pagemap_file_info **ret);

/* pagemap_file_remove -- remove the name @region/@name; a leased file
 * lives on as an orphan until its last lease ends. */
int pagemap_file_remove(struct pagemap *pm, const char *region,
			const char *name);

/* pagemap_free -- release a record or listing the library returned
 * (NULL is fine). */
void pagemap_free(void *p);

/* ---- leases, grants and mappings ------------------------------------ */

/*
 * A lease is a hold on one file; grants (folios) are taken under it and
 * mapped zero-copy from the region fd the daemon passed with the first
 * lease on that region. The daemon may recall grants (revoke, truncate,
 * detach, shutdown): the library queues the recall event and calls the
 * recall handler from pagemap_dispatch() or pagemap_wait() only, never from
 * inside another call; the handler answers by unmapping (pagemap_unmap()).
 *
 * Cached grants: with a daemon that offers it (every pagemapd of this
 * version), an unmap keeps its grants cached under the lease: still pins,
 * shown as cached by `pagemapctl grant ls`, mapped again by a later
 * pagemap_map() of a range they tile with no message to the daemon. The
 * daemon takes cached grants back by itself (revoke, truncate, detach)
 * without waking the holder; only grants mapped at that moment get a
 * recall. Releasing the lease returns its cached grants; past the
 * daemon's bounds (pagemap_limits) the least recently used go back.
 *
 * Threading: see the top of this file. Mappings are marked MADV_DONTFORK: a
 * forked child does not inherit them (nor may it use the handle: -ECHILD).
 *
 * Driving it from an event loop: poll pagemap_get_fd() for readability
 * and call pagemap_dispatch() when it is readable (or at any time).
 */

enum pagemap_access {
	PAGEMAP_READ = 1,
	PAGEMAP_WRITE = 2,
};

struct pagemap_lease;
struct pagemap_mapping;

/* pagemap_lease_acquire -- take a read or write lease on @region/@name.
 * Returns 0 and *ret, or -errno (-ENOENT, -EACCES, -EBUSY while the region
 * detaches, -EDQUOT at the lease limit). */
int pagemap_lease_acquire(struct pagemap *pm, const char *region,
			  const char *name, enum pagemap_access access,
			  struct pagemap_lease **ret);

/* pagemap_lease_release -- end @l and free the handle. Fails with -EBUSY
 * (and keeps it) while mappings or grants remain under it. A lease the
 * daemon already ended (revoked, region detached) is freed with 0. */
int pagemap_lease_release(struct pagemap_lease *l);

/* pagemap_lease_id -- the daemon's id of @l (as in the listings). */
uint64_t pagemap_lease_id(const struct pagemap_lease *l);
/* pagemap_lease_size -- the file size when the lease was taken. */
uint64_t pagemap_lease_size(const struct pagemap_lease *l);
/* pagemap_lease_access -- PAGEMAP_READ or PAGEMAP_WRITE. */
enum pagemap_access pagemap_lease_access(const struct pagemap_lease *l);

/* pagemap_map -- grant [offset, offset + length) (rounded out to 4 KiB
 * pages) and map it as one contiguous range, every folio at its own
 * offset, in a VM reservation aligned for huge pages. A range the lease's
 * cached grants tile is mapped from them with no message. @access may not
 * exceed the lease's. Returns 0 and *ret, or -errno (-EBUSY while a recall
 * covers the range, -ENXIO past the allocated end of the file, -EDQUOT at
 * the grant limit); on failure nothing stays granted or mapped. */
int pagemap_map(struct pagemap_lease *l, uint64_t offset, uint64_t length,
		enum pagemap_access access, struct pagemap_mapping **ret);

/* pagemap_mapping_addr -- the address of the first byte of the rounded
 * range; pagemap_mapping_offset/length describe that range. */
void *pagemap_mapping_addr(const struct pagemap_mapping *m);
/* pagemap_mapping_data -- the address of the offset that was passed to
 * pagemap_map() (the rounded range may start before it). */
void *pagemap_mapping_data(const struct pagemap_mapping *m);
/* pagemap_mapping_at -- the address of @file_offset in @m, or NULL when
 * the mapping does not cover it. */
void *pagemap_mapping_at(const struct pagemap_mapping *m,
			 uint64_t file_offset);
/* pagemap_mapping_offset -- the file offset of the rounded range. */
uint64_t pagemap_mapping_offset(const struct pagemap_mapping *m);
/* pagemap_mapping_length -- its bytes (whole pages). */
uint64_t pagemap_mapping_length(const struct pagemap_mapping *m);
/* pagemap_mapping_folios -- grants (folios) behind the mapping. */
size_t pagemap_mapping_folios(const struct pagemap_mapping *m);

/* pagemap_persist -- make [addr, addr + len) of a write mapping durable
 * (libpmem2's persist function for the region). */
int pagemap_persist(struct pagemap_mapping *m, const void *addr, size_t len);

/* pagemap_unmap -- unmap @m and free it; its grants stay cached under the
 * lease (no message) or, from a daemon that keeps no words for them, go
 * back to it. A grant recalled while mapped is handed back with one
 * message that is not waited for. The memory is unmapped even when the
 * daemon cannot be told (the connection is gone); that error is
 * returned. */
int pagemap_unmap(struct pagemap_mapping *m);

/* pagemap_unmap_nowait -- pagemap_unmap() without waiting for the daemon:
 * the mapping is gone and the return is sent when it returns 0, and the
 * daemon handles it before any later request of this connection. Its
 * reply is read by whichever call reads the connection next (at most 32
 * are left unread: the 33rd waits for the oldest). The daemon's answer,
 * if it was an error, is kept for pagemap_flush(). Another process may
 * see the grants for a moment after this returns. */
int pagemap_unmap_nowait(struct pagemap_mapping *m);

/* pagemap_flush -- wait until the daemon has answered every
 * pagemap_unmap_nowait() of @pm. Returns 0, or the first error among
 * those answers (then forgotten), or -errno of the connection. */
int pagemap_flush(struct pagemap *pm);

/* Raw grants, without mapping (tools, benchmarks). */
struct pagemap_folio {
	uint64_t file_offset;
	uint64_t region_offset;
	uint32_t order; /* 4096 << order bytes */
};

/* pagemap_grant -- one Map request: up to @max folios of the range from
 * @offset into @out; *ret_n gets their number and *ret_next the offset to
 * continue from (offset + length, rounded, when done). */
int pagemap_grant(struct pagemap_lease *l, uint64_t offset, uint64_t length,
		  enum pagemap_access access, struct pagemap_folio *out,
		  size_t max, size_t *ret_n, uint64_t *ret_next);

/* pagemap_return -- return every grant of @l intersecting the range;
 * *ret_returned (may be NULL) gets how many. */
int pagemap_return(struct pagemap_lease *l, uint64_t offset, uint64_t length,
		   uint64_t *ret_returned);

/* pagemap_region_fd -- the region fd passed with @l's region (-1 if
 * none); owned by the library. */
int pagemap_region_fd(const struct pagemap_lease *l);

/* ---- events ----------------------------------------------------------- */

/* Why the daemon recalls grants. */
enum pagemap_recall_reason {
	PAGEMAP_RECALL_OTHER = 0, /* a reason this library does not know */
	PAGEMAP_RECALL_REVOKE,	  /* pagemap_lease_revoke() */
	PAGEMAP_RECALL_TRUNCATE,  /* pagemap_file_truncate() past grants */
	PAGEMAP_RECALL_UNLINK,	  /* the file was removed */
	PAGEMAP_RECALL_DETACH,	  /* pagemap_region_detach() */
	PAGEMAP_RECALL_SHUTDOWN,  /* the daemon is stopping */
};

/* pagemap_recall_reason_name -- "revoke", "truncate", "unlink",
 * "detach", "shutdown" or "other", for display. */
const char *pagemap_recall_reason_name(enum pagemap_recall_reason reason);

/* A recall: return the grants of @l in [offset, offset + length)
 * (length 0: all of them). @l is NULL if the lease is unknown to this
 * handle (taken over from an earlier connection); @lease_id names it. */
typedef void (*pagemap_recall_fn)(struct pagemap *pm, struct pagemap_lease *l,
				  uint64_t lease_id, uint64_t offset,
				  uint64_t length,
				  enum pagemap_recall_reason reason, void *arg);

/* pagemap_set_recall_handler -- set (or with NULL clear) the handler. */
void pagemap_set_recall_handler(struct pagemap *pm, pagemap_recall_fn fn,
				void *arg);

/* pagemap_get_fd -- the connection's fd, to poll for readability (-1 in
 * a process that did not make @pm). Its
 * number stays the same for the handle's life, also across reconnects
 * (while the daemon is away it is a timerfd, readable when an attempt is
 * due). The file behind it changes at a loss and at a reconnect: poll()
 * and select() need nothing, an epoll set must add it again
 * (EPOLL_CTL_MOD failing with ENOENT says so) after pagemap_dispatch(). */
int pagemap_get_fd(const struct pagemap *pm);

/* pagemap_dispatch -- without blocking, read what the daemon sent and call
 * the handler for every queued event; while the daemon is away, attempt
 * to reconnect when an attempt is due. Returns the number of events
 * handled, 0 (also while the daemon is away), or -errno once the handle
 * is unusable for good (-EPROTO). */
int pagemap_dispatch(struct pagemap *pm);

/* pagemap_wait -- wait up to @timeout_ms (< 0: for ever, 0: poll) for
 * an event (or the next reconnect attempt), then dispatch. Returns as
 * pagemap_dispatch(), 0 on timeout. */
int pagemap_wait(struct pagemap *pm, int timeout_ms);

/* ---- inspection --------------------------------------------------- */

struct pagemap_lease_info {
	uint32_t struct_size;
	uint64_t id;
	const char *region;
	const char *name;
	uint64_t ino;
	enum pagemap_access access;
	uint64_t client_id;
	uint32_t pid;
	uint32_t uid;
	const char *comm;
	uint64_t grants;
	uint64_t bytes;
	bool recalled;
};

/* What the holder does with a grant, as the daemon sees its state word. */
enum pagemap_grant_state {
	PAGEMAP_GRANT_MAPPED = 0,   /* mapped (or a grant without a word) */
	PAGEMAP_GRANT_CACHED = 1,   /* kept after unmap; maps with no message */
	PAGEMAP_GRANT_RECALLED = 2, /* mapped, being taken back */
};

struct pagemap_grant_info {
	uint32_t struct_size;
	uint64_t lease_id;
	uint64_t file_offset;
	uint64_t region_offset;
	uint32_t order;
	enum pagemap_access access;
	enum pagemap_grant_state state;
};

struct pagemap_client_info {
	uint32_t struct_size;
	uint64_t id;
	uint32_t pid;
	uint32_t uid;
	uint32_t gid;
	const char *comm;
	const char *name; /* the name it gave pagemap_connect() */
	bool connected;
	uint32_t leases;
	uint64_t grants;
	uint32_t pending;
};

struct pagemap_blocker {
	uint32_t struct_size;
	const char *op;	    /* "truncate", "revoke", "detach", ... */
	const char *target; /* for people: "r/f to 4096", "lease 3 on r/f" */
	uint64_t lease_id;
	uint64_t client_id;
	uint32_t pid;
	const char *comm;
	uint64_t grants;
	/* The target as fields; "" and 0 from a daemon without them. */
	const char *region;
	const char *file; /* its name or "<orphan:INO>"; "" for a detach */
	uint64_t ino;	  /* 0 for a detach */
	uint64_t new_size; /* truncate: the size it truncates to; else 0 */
};

/* Listings: *ret is an array of *ret_n pointers, one allocation freed
 * with pagemap_free(). NULL/0 filters mean "all". */

/* pagemap_lease_list -- leases, of @region (and @name) when given. */
int pagemap_lease_list(struct pagemap *pm, const char *region,
		       const char *name, struct pagemap_lease_info ***ret,
		       size_t *ret_n);
/* pagemap_grant_list -- grants, of lease @lease_id and process @pid when
 * not 0, in (lease, file offset) order. */
int pagemap_grant_list(struct pagemap *pm, uint64_t lease_id, uint32_t pid,
		       struct pagemap_grant_info ***ret, size_t *ret_n);
/* pagemap_client_list -- client processes, connected or not. */
int pagemap_client_list(struct pagemap *pm,
			struct pagemap_client_info ***ret, size_t *ret_n);
/* pagemap_blockers -- who holds up pending operations on @region (and
 * @name); at most one reply's worth. */
int pagemap_blockers(struct pagemap *pm, const char *region, const char *name,
		     struct pagemap_blocker ***ret, size_t *ret_n);

/* pagemap_listing_hidden -- how many rows the daemon left out of the last
 * successful listing call on @pm because the caller may not read them:
 * regions (pagemap_region_list()), leases (pagemap_lease_list()), grants
 * (pagemap_grant_list()) or blockers (pagemap_blockers()) of files and
 * regions it may not read. 0 after any other listing, after a failed one,
 * from a daemon that does not count them, and for NULL. Valid until the
 * next listing on @pm. */
uint64_t pagemap_listing_hidden(const struct pagemap *pm);

/* pagemap_lease_revoke -- recall every grant of lease @id and end it,
 * waiting as @timeout_ms says (see the administrative calls above). */
int pagemap_lease_revoke(struct pagemap *pm, uint64_t id, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif

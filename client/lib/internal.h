/* internal.h -- libpagemap's private types: the connection, leases,
 * mappings and region fds, shared by the library's files. */
#ifndef PAGEMAP_INTERNAL_H
#define PAGEMAP_INTERNAL_H

/* The library is built with hidden visibility; exactly what the public
 * header declares is exported (the version script then names the set). */
#pragma GCC visibility push(default)
#include "pagemap.h"
#pragma GCC visibility pop

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The connection. One request is in flight at a time: a call packs a
 * Request with the next id, sends it as one packet and reads packets until
 * the Response with that id arrives. Recall events that arrive meanwhile
 * are queued, never handled there: handlers run only from
 * pagemap_dispatch() and pagemap_wait(), so a handler never runs inside
 * another call of the application's. A Response with no request in flight,
 * an unpackable packet, unknown fields, a connection-level Response (id 0)
 * or a lost connection make the connection unusable: the error is kept in
 * @dead and every later request returns it without touching the socket,
 * because the packet stream can no longer be trusted to line up with our
 * ids. Local cleanup (unmapping, freeing) still works on a dead connection.
 *
 * Region fds. The daemon passes a region's fd once per connection, with
 * SCM_RIGHTS on the LeaseAcquireReply that says fd_attached, and again
 * (read-write this time) when a write lease follows read-only ones. The
 * library keeps one current fd per region name; a newer fd replaces it,
 * and the old one is closed when no mapping uses it any more (struct rfd
 * counts them). Any fd on any other packet is closed at once, so none
 * leaks into the application. Every fd is received with MSG_CMSG_CLOEXEC.
 *
 * Leases and mappings. A struct pagemap_lease lives until it is released
 * (or the handle is closed); a struct pagemap_mapping belongs to one lease
 * and is one libpmem2 VM reservation holding one mmap of the region fd per
 * run of folios contiguous in both file and region (mapping.c).
 *
 * Events. The recall queue is bounded (events.c).
 *
 * Reconnection (reconnect.c). A connection that the daemon closed (EOF,
 * ECONNRESET, POLLHUP) is not dead: @down is set, every mapping, lease and
 * region fd stays, and the fd number the application polls (@fd) holds a
 * timerfd armed for the next attempt until a new socket is dup3()'d onto
 * it. Attempts run inside the application's own calls (at the start of any
 * request, and in pagemap_dispatch()/pagemap_wait()), never in a thread.
 * Only a broken protocol (@dead) is for good.
 */

/*
 * The owner. A handle serves the process that made it (owner.c): in any
 * other process every call fails with -ECHILD before it sends, reads or
 * unmaps anything, and pagemap_close() frees memory only.
 */

#define HANDSHAKE_MAX_PACKET 65536u /* assumed until HelloReply says */
#define MIN_MAX_PACKET 4096u	    /* a daemon announcing less is broken */
#define MAX_MAX_PACKET (16u << 20)  /* bound what a daemon can make us alloc */
#define MAX_ERRNO 4095u /* largest code we accept as an errno value */
#define PG_SIZE 4096u	/* the protocol's page */
#define PG_MASK ((uint64_t)PG_SIZE - 1)
#define MAX_ORDER 18u	       /* 1 GiB folios, the largest there are */
#define MAX_ALIGN (1ull << 30) /* PUD size: never align more than this */
#define NOWAIT_MAX 32	       /* returns in flight before one is waited for */
#define REGION_MAX 64	       /* bytes of a region name, with the NUL */

struct pmem2_vm_reservation;

/* Folios contiguous in file and region: one extent, one mmap. */
struct run {
	uint64_t file_off;
	uint64_t region_off;
	uint64_t len;
};

/* A recall waiting for pagemap_dispatch(). */
struct recall {
	uint64_t lease_id;
	uint64_t offset;
	uint64_t length; /* 0: the whole lease */
	enum pagemap_recall_reason reason;
};

/* A region fd the daemon passed. */
/* An address-space reservation: an inaccessible anonymous mapping that
 * mappings are placed into with MAP_FIXED (mapping.c). Plain mmap, not
 * libpmem2's reservations: those (1.12) leave part of their address space
 * mapped after the delete. */
struct rsv {
	char *base; /* NULL: none */
	size_t len;
};

struct rfd {
	struct rfd *next;
	char region[REGION_MAX];
	int fd;
	bool writable; /* opened O_RDWR */
	bool current;  /* the fd new mappings of this region use */
	size_t maps;   /* mappings that use it; freed at 0 unless current */
	/* Learnt from libpmem2 at the first mapping (rfd_probe()). */
	bool probed;
	int mmap_flags; /* MAP_SHARED, or with MAP_SYNC */
	/* libpmem2's persist function for any mapping of this fd */
	void (*persist)(const void *addr, size_t len);
};

/* A grant with a state word, kept under its lease while it is mapped and
 * after (cache.c): sorted by file offset. */
struct cgrant {
	uint64_t file_off;
	uint64_t region_off;
	uint64_t used; /* pm->clock at its last unmap: least recent goes */
	uint32_t slot, gen; /* its word */
	uint8_t order;
	uint8_t access; /* enum pagemap_access */
};

/* A folio of a mapping that has a word. */
struct mword {
	uint64_t file_off;
	uint64_t region_off;
	uint32_t slot, gen;
	uint32_t order;
};

/* A range of file bytes [a, b). */
struct range {
	uint64_t a, b;
};

struct pagemap {
	pid_t pid; /* getpid() at connect: the process served */
	struct pagemap *owner_next; /* this process's handles (owner.c) */
	int fd;		    /* SOCK_SEQPACKET connection (a timerfd while
			     * @down), or -1; its number never changes */
	int dead;	    /* 0, or the -errno that broke the connection */
	uint64_t next_id;   /* id of the next Request, starts at 1 */
	uint64_t client_id; /* assigned by the daemon at the handshake */
	struct pagemap_limits limits;
	uint8_t *rbuf; /* receive buffer, limits.max_packet + 1 bytes */
	char server[64];
	char message[512];	      /* text for the last failure, or "" */
	uint64_t hidden; /* rows the last listing left out (listings.c) */
	struct pagemap_lease *leases; /* doubly linked */
	struct rfd *rfds;	      /* current and retired region fds */
	struct recall *q;	      /* queued recalls: q[qhead .. qn) */
	size_t qhead, qn, qcap;
	bool recall_overflow; /* the queue once had to merge recalls */
	pagemap_recall_fn recall_fn;
	void *recall_arg;
	bool dispatching;   /* inside pagemap_dispatch(): handlers may run */
	bool close_pending; /* pagemap_close() was called from a handler */
	/* Unmap requests sent by pagemap_unmap_nowait() whose replies have
	 * not been read yet; whichever call reads next consumes them. */
	uint64_t nowait_ids[NOWAIT_MAX];
	size_t nnowait;
	int nowait_err; /* the first failure among them, for pagemap_flush() */
	/* The address space of the last mapping unmapped, kept for the next
	 * one of the same size and alignment (a reservation costs two
	 * syscalls, unmapping into a kept one the same as releasing it). */
	struct rsv spare;
	char *spare_addr;
	uint64_t spare_len;
	/* The layout last mapped there, when the spare comes from a mapping
	 * unmapped by the application: the next map of the same lease range
	 * maps it while its Map request is in flight (mapping.c). */
	struct {
		uint64_t lease_id;
		uint64_t offset;
		struct run *runs; /* NULL: no guess */
		size_t nruns;
	} guess;
	/* Reconnection (reconnect.c). */
	char *path;	     /* the socket, for connecting again */
	char *name;	     /* the client name of every Hello */
	uint64_t token;	     /* CAP_RECONNECT: names us to the daemon */
	bool down;	     /* the daemon went away; @fd is a timerfd */
	bool reconnecting;   /* inside an attempt: requests go out */
	bool no_reconnect;   /* closing: never connect again */
	int64_t retry_at_ms; /* CLOCK_MONOTONIC time of the next attempt */
	uint32_t backoff_ms; /* wait after the next failed attempt */
	uint64_t reconnects; /* successful reconnects */
	/* Cached grants (cache.c). Every call that touches the handle's
	 * state holds @lock (recursive: a map calls requests); see the
	 * thread rules in pagemap.h. */
	pthread_mutex_t lock;
	bool cached_caps;   /* the daemon granted CAP_CACHED_GRANTS */
	uint64_t *words;    /* the process's word table, shared, or NULL */
	uint32_t nwords;
	int words_fd;	    /* its memfd, or -1 */
	uint64_t words_id;  /* the daemon's name of it */
	uint64_t hello_words_id; /* what the last HelloReply named */
	uint64_t clock;	    /* ticks at every unmap, for least recent use */
	size_t ncached;	    /* entries over every lease */
};

struct pagemap_lease {
	struct pagemap *pm;
	struct pagemap_lease *prev, *next;
	uint64_t id;
	uint64_t ino;
	uint64_t size;	      /* file size when the lease was taken */
	uint64_t region_size; /* bytes of the region fd a folio may reach */
	uint32_t max_order;
	enum pagemap_access access;
	char region[REGION_MAX];
	struct pagemap_mapping *maps; /* doubly linked */
	bool dead; /* the daemon no longer knows it (-ENOLINK) */
	/* Bytes under raw grants (pagemap_grant()) not yet returned: sorted,
	 * merged; a reconnect keeps every grant they touch (I1). */
	struct range *raw;
	size_t nraw, rawcap;
	struct cgrant *cg; /* grants with a word, sorted (cache.c) */
	size_t ncg, cgcap;
};

struct pagemap_mapping {
	struct pagemap_lease *lease;
	struct pagemap_mapping *prev, *next;
	struct rfd *rfd;
	struct rsv rsv;	 /* the address space of the range; base NULL: none */
	char *addr;	 /* first byte of the rounded range */
	uint64_t offset; /* rounded range, file offsets */
	uint64_t length;
	uint64_t data; /* the offset pagemap_map() was given */
	size_t folios;
	uint64_t max_folio; /* bytes of the largest folio */
	enum pagemap_access access;
	struct run *runs; /* sorted by file offset, not overlapping */
	size_t nruns, cap;
	/* Each folio with a word, in file order, and whether the range
	 * must still be returned by Unmap at the end (a folio without a
	 * word, or a table that is gone). */
	struct mword *w;
	size_t nw, wcap;
	uint64_t words_id; /* the table its words are in */
	bool returns;
};

/* set_message -- remember the explanation of a failure on @pm. */
void set_message(struct pagemap *pm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* fail -- make the connection unusable with @err and return it. */
int fail(struct pagemap *pm, int err);

/* proto_error -- the daemon broke the protocol: say how (@what), give up
 * on the connection and return -EPROTO. */
int proto_error(struct pagemap *pm, const char *what);

/* grow -- make room for @add more elements of @size in the array *@v of
 * @n used and *@cap allocated ones; 0 or -ENOMEM. */
int grow(void **v, size_t size, size_t n, size_t *cap, size_t add);

#endif

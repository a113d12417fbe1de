/* pagemap.c -- libpagemap: the client side of the pagemapd protocol. */
/* The library is built with hidden visibility; exactly what the public
 * header declares is exported (the version script then names the set). */
#pragma GCC visibility push(default)
#include "pagemap.h"
#pragma GCC visibility pop

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libpmem2.h>

#include "pagemap.pb-c.h"

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
 * run of folios contiguous in both file and region. libpmem2 maps one page
 * of each region fd once (struct rfd): that tells the store granularity
 * (so whether mappings need MAP_SYNC) and gives the persist function; a
 * pmem2_map per mapping would probe the platform again every time (a
 * MAP_SYNC attempt and a walk of /sys/bus/nd, about fifteen syscalls).
 * The address space of the last mapping unmapped is kept, with its
 * layout: the next map of the same lease range maps that layout while its
 * Map request is in flight (the daemon grants the same folios unless the
 * file changed) and maps again only when the reply differs; nothing is
 * read or written there before the reply.
 * The grants behind a mapping are returned only after its memory is
 * unmapped (I1 holds on the client's side too). Unmap returns every grant
 * of the lease that intersects the range, so the library never sends it
 * for bytes another live mapping of the same lease still covers: those
 * grants are returned with the last mapping over them.
 *
 * Events. The recall queue is bounded: past EVQ_SOFT entries a recall for
 * a lease already queued is merged into that entry (its range widened), so
 * the fact that a lease was recalled is never lost; past EVQ_SOFT only
 * distinct leases add entries, bounded by the daemon's per-client lease
 * limit, and a daemon that recalls more leases than that is broken
 * (-EPROTO).
 */

#define HANDSHAKE_MAX_PACKET 65536u /* assumed until HelloReply says */
#define MIN_MAX_PACKET 4096u	    /* a daemon announcing less is broken */
#define MAX_MAX_PACKET (16u << 20)  /* bound what a daemon can make us alloc */
#define MAX_ERRNO 4095u /* largest code we accept as an errno value */
#define CMSG_FDS 8	/* room for stray fds; the kernel drops more */
#define PG_SIZE 4096u	/* the protocol's page */
#define PG_MASK ((uint64_t)PG_SIZE - 1)
#define MAX_ORDER 18u		 /* 1 GiB folios, the largest there are */
#define HUGE_ALIGN (2ull << 20)	 /* PMD size: align ranges at least this big */
#define MAX_ALIGN (1ull << 30)	 /* PUD size: never align more than this */
#define SPARE_MAX (64ull << 20) /* largest reservation kept for reuse */
#define NOWAIT_MAX 32 /* returns in flight before one is waited for */
#define EVQ_SOFT 64u		 /* queued recalls before merging starts */
#define EVQ_HARD 65536u		 /* lease limit assumed when none is given */
#define REASON_MAX 32		 /* bytes of a recall reason, with the NUL */
#define REGION_MAX 64		 /* bytes of a region name, with the NUL */

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
	char reason[REASON_MAX];
};

/* A region fd the daemon passed. */
struct rfd {
	struct rfd *next;
	char region[REGION_MAX];
	int fd;
	bool writable; /* opened O_RDWR */
	bool current;  /* the fd new mappings of this region use */
	size_t maps;   /* mappings that use it; freed at 0 unless current */
	/* Learnt from libpmem2 at the first mapping (rfd_probe()). */
	bool probed;
	int mmap_flags;		 /* MAP_SHARED, or with MAP_SYNC */
	pmem2_persist_fn persist; /* for any mapping of this fd */
};

struct pagemap {
	int fd;		    /* SOCK_SEQPACKET connection, or -1 */
	int dead;	    /* 0, or the -errno that broke the connection */
	uint64_t next_id;   /* id of the next Request, starts at 1 */
	uint64_t client_id; /* assigned by the daemon at the handshake */
	struct pagemap_limits limits;
	uint8_t *rbuf; /* receive buffer, limits.max_packet + 1 bytes */
	char server[64];
	char message[512]; /* text for the last failure, or "" */
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
	struct pmem2_vm_reservation *spare;
	char *spare_addr;
	uint64_t spare_len;
	/* The layout last mapped there, when the spare comes from a mapping
	 * unmapped by the application: the next map of the same lease range
	 * maps it while its Map request is in flight (speculate()). */
	struct {
		uint64_t lease_id;
		uint64_t offset;
		struct run *runs; /* NULL: no guess */
		size_t nruns;
	} guess;
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
};

struct pagemap_mapping {
	struct pagemap_lease *lease;
	struct pagemap_mapping *prev, *next;
	struct rfd *rfd;
	struct pmem2_vm_reservation *rsv;
	char *addr;	 /* first byte of the rounded range */
	uint64_t offset; /* rounded range, file offsets */
	uint64_t length;
	size_t folios;
	uint64_t max_folio; /* bytes of the largest folio */
	enum pagemap_access access;
	struct run *runs; /* sorted by file offset, not overlapping */
	size_t nruns, cap;
};

/* pagemap_default_socket -- $PAGEMAP_SOCKET when set and non-empty, else the
 * compile-time default. */
const char *
pagemap_default_socket(void)
{
	const char *env = getenv(PAGEMAP_DEFAULT_SOCKET_ENV);

	if (env && *env)
		return env;
	return PAGEMAP_DEFAULT_SOCKET;
}

/* pagemap_strerror -- static text for an errno value of either sign. */
const char *
pagemap_strerror(int err)
{
	const char *s;

	if (err == INT_MIN)
		return "Unknown error";
	if (err < 0)
		err = -err;
	if (err == 0)
		return "Success";
	/* strerrordesc_np() returns static text: thread-safe, no buffer. */
	s = strerrordesc_np(err);
	return s ? s : "Unknown error";
}

/* pagemap_last_message -- the daemon's text for the last failure on @pm. */
const char *
pagemap_last_message(const struct pagemap *pm)
{
	return pm ? pm->message : "";
}

/* pagemap_get_limits -- the limits of the handshake (or the pre-handshake
 * assumption while it runs). */
const struct pagemap_limits *
pagemap_get_limits(const struct pagemap *pm)
{
	return &pm->limits;
}

/* pagemap_free -- release an array returned by a list call. */
void
pagemap_free(void *p)
{
	free(p);
}

/* set_message -- remember the explanation of a failure. */
static void
set_message(struct pagemap *pm, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_message(struct pagemap *pm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pm->message, sizeof(pm->message), fmt, ap);
	va_end(ap);
}

/* fail -- make the connection unusable with @err and return it. */
static int
fail(struct pagemap *pm, int err)
{
	if (!pm->dead)
		pm->dead = err;
	return err;
}

/* proto_error -- the daemon broke the protocol: say how, and give up on
 * the connection. */
static int
proto_error(struct pagemap *pm, const char *what)
{
	set_message(pm, "protocol error: %s", what);
	return fail(pm, -EPROTO);
}

/* copy_str -- copy a daemon string into a fixed field; a string that does
 * not fit is a protocol error, not something to truncate silently. */
static int
copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= size)
		return -EPROTO;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return 0;
}

/* has_unknown -- whether @m or any message inside it carries fields this
 * build does not know (protobuf-c keeps them instead of failing). */
static bool
has_unknown(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	if (m->n_unknown_fields)
		return true;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n =
				*(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *v =
				*(ProtobufCMessage *const *const *)(base +
								    f->offset);

			for (size_t j = 0; j < n; j++)
				if (has_unknown(v[j]))
					return true;
			continue;
		}
		/* Only the oneof member that is set may be read. */
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(base + f->quantifier_offset) != f->id)
			continue;
		const ProtobufCMessage *sub =
			*(ProtobufCMessage *const *)(base + f->offset);
		if (sub && has_unknown(sub))
			return true;
	}
	return false;
}

/* ---- packets ---------------------------------------------------------- */

/* One received packet: its length in pm->rbuf and the fds that came with
 * it (owned until passed on or closed). */
struct rx {
	size_t len;
	int fds[CMSG_FDS];
	int nfds;
};

/* close_fds -- close every fd that came with @rx. */
static void
close_fds(struct rx *rx)
{
	for (int i = 0; i < rx->nfds; i++)
		close(rx->fds[i]);
	rx->nfds = 0;
}

/* send_request -- pack @req into one packet and send it. */
static int
send_request(struct pagemap *pm, const Pagemap__Request *req)
{
	size_t len = pagemap__request__get_packed_size(req);
	uint8_t *buf;
	ssize_t n;

	if (len > pm->limits.max_packet)
		return -EMSGSIZE; /* nothing was sent: the connection is fine */
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	pagemap__request__pack(req, buf);
	do
		n = send(pm->fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	free(buf);
	if (n < 0) {
		if (errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN)
			return fail(pm, -ECONNRESET);
		/* EMSGSIZE/ENOBUFS/ENOMEM: SEQPACKET sends are atomic, so
		 * nothing went out and the stream is still in step. */
		return -errno;
	}
	return 0;
}

/* take_fds -- move the SCM_RIGHTS fds of @msg into @rx (the control
 * buffer has room for CMSG_FDS, so they all fit). */
static void
take_fds(struct msghdr *msg, struct rx *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
	     c = CMSG_NXTHDR(msg, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
			if (rx->nfds < CMSG_FDS)
				rx->fds[rx->nfds++] = fd;
			else
				close(fd);
		}
	}
}

/* peer_hung_up -- on SEQPACKET a 0-byte read is either EOF or an empty
 * packet; the socket's hangup state tells which. */
static bool
peer_hung_up(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
	int r;

	do
		r = poll(&p, 1, 0);
	while (r < 0 && errno == EINTR);
	return r > 0 && (p.revents & (POLLHUP | POLLRDHUP | POLLERR));
}

/* recv_packet -- read one packet into pm->rbuf and @rx. With
 * MSG_DONTWAIT in @flags, -EAGAIN means nothing is there; every other
 * failure breaks the connection. */
static int
recv_packet(struct pagemap *pm, int flags, struct rx *rx)
{
	union {
		char buf[CMSG_SPACE(CMSG_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {pm->rbuf, (size_t)pm->limits.max_packet + 1};
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	ssize_t n;

	rx->nfds = 0;
	do
		n = recvmsg(pm->fd, &msg, MSG_CMSG_CLOEXEC | flags);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -EAGAIN;
		if (errno == ECONNRESET || errno == EPIPE || errno == ENOTCONN)
			return fail(pm, -ECONNRESET);
		return fail(pm, -errno);
	}
	take_fds(&msg, rx);
	if (msg.msg_flags & MSG_CTRUNC) {
		/* Fds were lost (no room, or RLIMIT_NOFILE): a region fd
		 * may be among them, and nothing can ask for it again. */
		close_fds(rx);
		set_message(pm, "file descriptors from the daemon were "
				"dropped (too many open files?)");
		return fail(pm, -EPROTO);
	}
	if (n == 0) {
		close_fds(rx);
		return fail(pm, peer_hung_up(pm->fd) ? -ECONNRESET : -EPROTO);
	}
	if ((msg.msg_flags & MSG_TRUNC) || (size_t)n > pm->limits.max_packet) {
		close_fds(rx);
		return proto_error(pm, "packet larger than max_packet");
	}
	rx->len = (size_t)n;
	return 0;
}

/* ---- recall queue ----------------------------------------------------- */

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
	memcpy(q->reason, r->reason, sizeof(q->reason));
}

/* queue_recall -- validate a RecallEvent and queue it. */
static int
queue_recall(struct pagemap *pm, const Pagemap__RecallEvent *e)
{
	struct recall r = {0};

	if (!e || e->lease_id == 0)
		return proto_error(pm, "recall without a lease id");
	if (e->length && e->offset > UINT64_MAX - e->length)
		return proto_error(pm, "recall range overflows");
	if (copy_str(r.reason, sizeof(r.reason), e->reason))
		return proto_error(pm, "recall reason too long");
	r.lease_id = e->lease_id;
	r.offset = e->length ? e->offset : 0;
	r.length = e->length;
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

/* ---- the request/response engine -------------------------------------- */

/* nowait_take -- if @id is an unanswered pagemap_unmap_nowait() request,
 * forget it and return true. */
static bool
nowait_take(struct pagemap *pm, uint64_t id)
{
	for (size_t i = 0; i < pm->nnowait; i++) {
		if (pm->nowait_ids[i] == id) {
			pm->nowait_ids[i] = pm->nowait_ids[--pm->nnowait];
			return true;
		}
	}
	return false;
}

/* handle_packet -- unpack the packet in pm->rbuf. An Event is queued and
 * 1 returned. A Response must answer @id (0: nothing is in flight, so a
 * Response is a protocol error) with @body; then 0 is returned with the
 * message in *ret_sm and, when @ret_fd is not NULL, the one fd that came
 * with it (or -1) in *ret_fd. Every other fd is closed. */
static int
handle_packet(struct pagemap *pm, struct rx *rx, uint64_t id,
	      Pagemap__Response__BodyCase body, Pagemap__ServerMessage **ret_sm,
	      int *ret_fd)
{
	Pagemap__ServerMessage *sm;
	const Pagemap__Response *r;
	int err;

	/* The packet is bounded by max_packet, which bounds what unpack can
	 * allocate. */
	sm = pagemap__server_message__unpack(NULL, rx->len, pm->rbuf);
	if (!sm) {
		close_fds(rx);
		return proto_error(pm, "unpackable packet");
	}
	if (has_unknown(&sm->base)) {
		err = proto_error(pm, "unknown fields");
		goto out;
	}
	if (sm->msg_case == PAGEMAP__SERVER_MESSAGE__MSG_EVENT) {
		if (sm->event->body_case != PAGEMAP__EVENT__BODY_RECALL)
			err = proto_error(pm, "unknown event");
		else if (!(err = queue_recall(pm, sm->event->recall)))
			err = 1;
		goto out;
	}
	if (sm->msg_case != PAGEMAP__SERVER_MESSAGE__MSG_RESPONSE) {
		err = proto_error(pm, "message is neither response nor event");
		goto out;
	}
	r = sm->response;
	if (r->error > MAX_ERRNO) {
		err = proto_error(pm, "error code out of range");
	} else if (r->id == 0) {
		/* About the whole connection, e.g. the daemon is closing it. */
		set_message(pm, "%s", r->message ? r->message : "");
		err = fail(pm, r->error ? -(int)r->error : -EPROTO);
	} else if (nowait_take(pm, r->id)) {
		/* A lease the daemon no longer knows has no grants (I2):
		 * -ENOENT means there was nothing left to return. */
		if (r->error && r->error != ENOENT && !pm->nowait_err)
			pm->nowait_err = -(int)r->error;
		err = 1;
	} else if (id == 0) {
		err = proto_error(pm, "response with no request in flight");
	} else if (r->id != id) {
		err = proto_error(pm, "response to another request");
	} else if (r->error) {
		set_message(pm, "%s", r->message ? r->message : "");
		err = -(int)r->error;
	} else if (r->body_case != body) {
		err = proto_error(pm, "response of the wrong kind");
	} else {
		if (ret_fd) {
			if (rx->nfds > 1) {
				err = proto_error(pm, "several fds on a reply");
				goto out;
			}
			*ret_fd = rx->nfds ? rx->fds[0] : -1;
			rx->nfds = 0;
		}
		close_fds(rx);
		*ret_sm = sm;
		return 0;
	}
out:
	close_fds(rx);
	pagemap__server_message__free_unpacked(sm, NULL);
	return err;
}

/* exchange -- send @req (its id is filled in here), run @overlap(@arg)
 * (if any) while the daemon works, and wait for the reply, queueing the
 * events that come first. On success *ret is the unpacked ServerMessage
 * whose response carries the body matching the request (free it with
 * free_reply()), and *ret_fd (if not NULL) the fd that came with it, or
 * -1. */
static int
exchange(struct pagemap *pm, Pagemap__Request *req,
	 Pagemap__ServerMessage **ret, int *ret_fd, void (*overlap)(void *),
	 void *arg)
{
	/* Response body cases use the same numbers as the request's. */
	Pagemap__Response__BodyCase body =
		(Pagemap__Response__BodyCase)req->body_case;
	int err;

	if (pm->dead)
		return pm->dead;
	set_message(pm, "%s", "");
	req->id = pm->next_id++;
	err = send_request(pm, req);
	if (err)
		return err;
	if (overlap)
		overlap(arg);
	for (;;) {
		struct rx rx;

		err = recv_packet(pm, 0, &rx);
		if (err)
			return err;
		err = handle_packet(pm, &rx, req->id, body, ret, ret_fd);
		if (err != 1)
			return err;
	}
}

/* transact_fd -- exchange() with nothing to overlap. */
static int
transact_fd(struct pagemap *pm, Pagemap__Request *req,
	    Pagemap__ServerMessage **ret, int *ret_fd)
{
	return exchange(pm, req, ret, ret_fd, NULL, NULL);
}

/* transact -- transact_fd() for replies that carry no fd. */
static int
transact(struct pagemap *pm, Pagemap__Request *req,
	 Pagemap__ServerMessage **ret)
{
	return transact_fd(pm, req, ret, NULL);
}

/* free_reply -- release a ServerMessage returned by transact(). */
static void
free_reply(Pagemap__ServerMessage *sm)
{
	pagemap__server_message__free_unpacked(sm, NULL);
}

/* read_one -- read one packet if one is there now (no request is in
 * flight, so it is an event or a pagemap_unmap_nowait() answer): 0 when
 * one was read, -EAGAIN when none was there, else the error. */
static int
read_one(struct pagemap *pm)
{
	struct rx rx;
	int err;

	if (pm->dead)
		return pm->dead;
	err = recv_packet(pm, MSG_DONTWAIT, &rx);
	if (err)
		return err;
	err = handle_packet(pm, &rx, 0, 0, NULL, NULL);
	return err < 0 ? err : 0;
}

/* ---- conversions ------------------------------------------------------ */

/* region_from_wire -- copy a RegionInfo into the public struct; -EPROTO
 * when it is missing or a string does not fit. */
static int
region_from_wire(struct pagemap_region_info *dst, const Pagemap__RegionInfo *r)
{
	struct pagemap_region_info v = {0};
	int err;

	if (!r)
		return -EPROTO;
	if ((err = copy_str(v.name, sizeof(v.name), r->name)) ||
	    (err = copy_str(v.path, sizeof(v.path), r->path)) ||
	    (err = copy_str(v.kind, sizeof(v.kind), r->kind)) ||
	    (err = copy_str(v.uuid, sizeof(v.uuid), r->uuid)) ||
	    (err = copy_str(v.state, sizeof(v.state), r->state)))
		return err;
	v.size = r->size;
	v.data_size = r->data_size;
	v.used = r->used;
	v.free = r->free;
	v.files = r->files;
	v.max_files = r->max_files;
	v.max_order = r->max_order;
	v.uid = r->uid;
	v.gid = r->gid;
	v.mode = r->mode;
	v.pins = r->pins;
	v.orphans = r->orphans;
	*dst = v;
	return 0;
}

/* file_from_wire -- copy a FileInfo into the public struct; -EPROTO
 * when it is missing or a string does not fit. */
static int
file_from_wire(struct pagemap_file_info *dst, const Pagemap__FileInfo *f)
{
	struct pagemap_file_info v = {0};
	int err;

	if (!f)
		return -EPROTO;
	if ((err = copy_str(v.region, sizeof(v.region), f->region)) ||
	    (err = copy_str(v.name, sizeof(v.name), f->name)))
		return err;
	v.ino = f->ino;
	v.size = f->size;
	v.allocated = f->allocated;
	v.uid = f->uid;
	v.gid = f->gid;
	v.mode = f->mode;
	v.extents = f->extents;
	v.leases = f->leases;
	v.grants = f->grants;
	v.orphan = f->orphan;
	v.mtime_ns = f->mtime_ns;
	*dst = v;
	return 0;
}

/* access_from_wire -- a wire Access that names a real access, or 0. */
static enum pagemap_access
access_from_wire(uint32_t a)
{
	if (a == PAGEMAP__ACCESS__ACCESS_READ)
		return PAGEMAP_READ;
	if (a == PAGEMAP__ACCESS__ACCESS_WRITE)
		return PAGEMAP_WRITE;
	return 0;
}

/* access_to_wire -- the wire Access of a valid pagemap_access. */
static Pagemap__Access
access_to_wire(enum pagemap_access a)
{
	return a == PAGEMAP_WRITE ? PAGEMAP__ACCESS__ACCESS_WRITE
				  : PAGEMAP__ACCESS__ACCESS_READ;
}

/* lease_from_wire -- copy a LeaseInfo into the public struct. */
static int
lease_from_wire(struct pagemap_lease_info *dst, const Pagemap__LeaseInfo *l)
{
	struct pagemap_lease_info v = {0};
	int err;

	if (!l)
		return -EPROTO;
	if ((err = copy_str(v.region, sizeof(v.region), l->region)) ||
	    (err = copy_str(v.name, sizeof(v.name), l->name)) ||
	    (err = copy_str(v.comm, sizeof(v.comm), l->comm)))
		return err;
	v.access = access_from_wire(l->access);
	if (!v.access)
		return -EPROTO;
	v.id = l->id;
	v.ino = l->ino;
	v.client_id = l->client_id;
	v.pid = l->pid;
	v.uid = l->uid;
	v.grants = l->grants;
	v.bytes = l->bytes;
	v.recalled = l->recalled;
	*dst = v;
	return 0;
}

/* client_from_wire -- copy a ClientInfo into the public struct. */
static int
client_from_wire(struct pagemap_client_info *dst, const Pagemap__ClientInfo *c)
{
	struct pagemap_client_info v = {0};
	int err;

	if (!c)
		return -EPROTO;
	if ((err = copy_str(v.comm, sizeof(v.comm), c->comm)) ||
	    (err = copy_str(v.name, sizeof(v.name), c->name)))
		return err;
	v.id = c->id;
	v.pid = c->pid;
	v.uid = c->uid;
	v.gid = c->gid;
	v.connected = c->connected;
	v.leases = c->leases;
	v.grants = c->grants;
	v.pending = c->pending;
	*dst = v;
	return 0;
}

/* blocker_from_wire -- copy a Blocker into the public struct. */
static int
blocker_from_wire(struct pagemap_blocker *dst, const Pagemap__Blocker *b)
{
	struct pagemap_blocker v = {0};
	int err;

	if (!b)
		return -EPROTO;
	if ((err = copy_str(v.op, sizeof(v.op), b->op)) ||
	    (err = copy_str(v.target, sizeof(v.target), b->target)) ||
	    (err = copy_str(v.comm, sizeof(v.comm), b->comm)))
		return err;
	v.lease_id = b->lease_id;
	v.client_id = b->client_id;
	v.pid = b->pid;
	v.grants = b->grants;
	*dst = v;
	return 0;
}

/* reply_file -- deliver the FileInfo of a reply to an optional @ret. */
static int
reply_file(struct pagemap *pm, const Pagemap__FileInfo *f,
	   struct pagemap_file_info *ret)
{
	struct pagemap_file_info v;
	int err = file_from_wire(&v, f);

	if (err)
		return proto_error(pm, "bad file record");
	if (ret)
		*ret = v;
	return 0;
}

/* reply_region -- deliver the RegionInfo of a reply to an optional @ret. */
static int
reply_region(struct pagemap *pm, const Pagemap__RegionInfo *r,
	     struct pagemap_region_info *ret)
{
	struct pagemap_region_info v;
	int err = region_from_wire(&v, r);

	if (err)
		return proto_error(pm, "bad region record");
	if (ret)
		*ret = v;
	return 0;
}

/* str -- proto strings must not be NULL when packed. */
static char *
str(const char *s)
{
	return (char *)(s ? s : "");
}

/* grow -- make room for @add more elements of @size in the array *@v of
 * *@n used and *@cap allocated ones. */
static int
grow(void **v, size_t size, size_t n, size_t *cap, size_t add)
{
	size_t c = *cap ? *cap : 16;
	void *p;

	if (add > SIZE_MAX / size - n)
		return -ENOMEM;
	if (n + add <= *cap)
		return 0;
	while (c < n + add)
		c = c > SIZE_MAX / 2 / size ? n + add : c * 2;
	p = realloc(*v, c * size);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = c;
	return 0;
}

/* ---- connection ------------------------------------------------------- */

/* handshake -- Hello, then adopt the daemon's limits and grow the
 * receive buffer to its max_packet. */
static int
handshake(struct pagemap *pm, const char *client_name)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__Hello hello = PAGEMAP__HELLO__INIT;
	Pagemap__ServerMessage *sm;
	const Pagemap__HelloReply *h;
	const Pagemap__Limits *l;
	uint8_t *buf;
	int err;

	hello.version = PAGEMAP_PROTOCOL_VERSION;
	hello.client_name = str(client_name);
	req.body_case = PAGEMAP__REQUEST__BODY_HELLO;
	req.hello = &hello;
	err = transact(pm, &req, &sm);
	if (err)
		return err;
	h = sm->response->hello;
	l = h->limits;
	if (h->version != PAGEMAP_PROTOCOL_VERSION)
		err = -EPROTONOSUPPORT;
	else if (!l || l->max_packet < MIN_MAX_PACKET ||
		 l->max_packet > MAX_MAX_PACKET)
		err = -EPROTO;
	else
		err = copy_str(pm->server, sizeof(pm->server), h->server);
	if (err) {
		free_reply(sm);
		return err;
	}
	pm->client_id = h->client_id;
	pm->limits = (struct pagemap_limits){
		.max_packet = l->max_packet,
		.max_leases = l->max_leases,
		.max_grants = l->max_grants,
		.max_pending = l->max_pending,
		.max_folios_per_reply = l->max_folios_per_reply,
		.max_name = l->max_name,
	};
	free_reply(sm);
	buf = realloc(pm->rbuf, (size_t)pm->limits.max_packet + 1);
	if (!buf)
		return -ENOMEM;
	pm->rbuf = buf;
	return 0;
}

/* connect_socket -- a connected SOCK_SEQPACKET socket to @path. */
static int
connect_socket(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	int fd, r;

	if (len == 0)
		return -EINVAL;
	if (len >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, len + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	/* An interrupted connect goes on in the background; waiting for
	 * writability would be the general answer, but an AF_UNIX connect
	 * completes at once, so a retry sees EISCONN. */
	while (r < 0 && errno == EINTR) {
		r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		if (r < 0 && errno == EISCONN)
			r = 0;
	}
	if (r < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

/* pagemap_connect -- connect and handshake; *ret untouched on failure. */
int
pagemap_connect(const char *socket_path, const char *client_name,
		struct pagemap **ret)
{
	struct pagemap *pm;
	int err;

	if (!ret)
		return -EINVAL;
	pm = calloc(1, sizeof(*pm));
	if (!pm)
		return -ENOMEM;
	pm->fd = -1;
	pm->next_id = 1;
	pm->limits.max_packet = HANDSHAKE_MAX_PACKET;
	pm->rbuf = malloc(HANDSHAKE_MAX_PACKET + 1);
	if (!pm->rbuf) {
		err = -ENOMEM;
		goto fail;
	}
	err = connect_socket(
		socket_path ? socket_path : pagemap_default_socket(), &pm->fd);
	if (err)
		goto fail;
	err = handshake(pm, client_name ? client_name
					: program_invocation_short_name);
	if (err)
		goto fail;
	*ret = pm;
	return 0;
fail:
	pagemap_close(pm);
	return err;
}

/* pagemap_get_fd -- the socket, for the application's poll loop. Events
 * may also be queued by any other call (they arrive while it waits for
 * its reply), so an event loop calls pagemap_dispatch() after its own
 * calls too, not only when the socket polls readable. */
int
pagemap_get_fd(const struct pagemap *pm)
{
	return pm ? pm->fd : -1;
}

/* ---- requests --------------------------------------------------------- */

/* pagemap_status -- the daemon's StatusReply. */
int
pagemap_status(struct pagemap *pm, struct pagemap_status *ret)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__StatusRequest body = PAGEMAP__STATUS_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	const Pagemap__StatusReply *s;
	struct pagemap_status v = {0};
	int err;

	if (!pm || !ret)
		return -EINVAL;
	req.body_case = PAGEMAP__REQUEST__BODY_STATUS;
	req.status = &body;
	err = transact(pm, &req, &sm);
	if (err)
		return err;
	s = sm->response->status;
	err = copy_str(v.server, sizeof(v.server), s->server);
	v.pid = s->pid;
	v.uptime_ms = s->uptime_ms;
	v.regions = s->regions;
	v.clients = s->clients;
	v.leases = s->leases;
	v.grants = s->grants;
	v.pending_ops = s->pending_ops;
	free_reply(sm);
	if (err)
		return proto_error(pm, "server name too long");
	*ret = v;
	return 0;
}

/* pagemap_region_list -- every attached region in one malloc'd array. */
int
pagemap_region_list(struct pagemap *pm, struct pagemap_region_info **ret,
		    size_t *ret_n)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__RegionListRequest body = PAGEMAP__REGION_LIST_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	const Pagemap__RegionListReply *r;
	struct pagemap_region_info *v;
	int err = 0;

	if (!pm || !ret || !ret_n)
		return -EINVAL;
	req.body_case = PAGEMAP__REQUEST__BODY_REGION_LIST;
	req.region_list = &body;
	err = transact(pm, &req, &sm);
	if (err)
		return err;
	r = sm->response->region_list;
	v = calloc(r->n_regions ? r->n_regions : 1, sizeof(*v));
	if (!v) {
		free_reply(sm);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->n_regions && !err; i++)
		err = region_from_wire(&v[i], r->regions[i]);
	if (err) {
		free(v);
		free_reply(sm);
		return proto_error(pm, "bad region record");
	}
	*ret_n = r->n_regions;
	*ret = v;
	free_reply(sm);
	return 0;
}

/* pagemap_region_info -- one region by name. */
int
pagemap_region_info(struct pagemap *pm, const char *region,
		    struct pagemap_region_info *ret)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__RegionInfoRequest body = PAGEMAP__REGION_INFO_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	int err;

	if (!pm || !region || !ret)
		return -EINVAL;
	body.region = str(region);
	req.body_case = PAGEMAP__REQUEST__BODY_REGION_INFO;
	req.region_info = &body;
	err = transact(pm, &req, &sm);
	if (err)
		return err;
	err = reply_region(pm, sm->response->region_info->region, ret);
	free_reply(sm);
	return err;
}

/* pagemap_region_attach -- attach (and with PAGEMAP_ATTACH_CREATE create)
 * a region; @max_order < 0 leaves the default to the daemon. */
int
pagemap_region_attach(struct pagemap *pm, const char *region, const char *path,
		      uint64_t size, int max_order, unsigned flags,
		      struct pagemap_region_info *ret)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__RegionAttachRequest body =
		PAGEMAP__REGION_ATTACH_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	int err;

	if (!pm || !region || !path || (flags & ~PAGEMAP_ATTACH_CREATE))
		return -EINVAL;
	body.region = str(region);
	body.path = str(path);
	body.size = size;
	body.create = !!(flags & PAGEMAP_ATTACH_CREATE);
	if (max_order >= 0) {
		body.max_order = (uint32_t)max_order;
		body.max_order_set = true;
	}
	req.body_case = PAGEMAP__REQUEST__BODY_REGION_ATTACH;
	req.region_attach = &body;
	err = transact(pm, &req, &sm);
	if (err)
		return err;
	err = reply_region(pm, sm->response->region_attach->region, ret);
	free_reply(sm);
	return err;
}

/* pagemap_region_detach -- detach, waiting up to @timeout_ms (0: for ever). */
int
pagemap_region_detach(struct pagemap *pm, const char *region,
		      uint32_t timeout_ms)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__RegionDetachRequest body =
		PAGEMAP__REGION_DETACH_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	int err;

	if (!pm || !region)
		return -EINVAL;
	body.region = str(region);
	body.timeout_ms = timeout_ms;
	req.body_case = PAGEMAP__REQUEST__BODY_REGION_DETACH;
	req.region_detach = &body;
	err = transact(pm, &req, &sm);
	if (err)
		return err;
	free_reply(sm);
	return 0;
}

/* pagemap_file_create -- create a file; @mode < 0 means the daemon's 0644. */
int
pagemap_file_create(struct pagemap *pm, const char *region, const char *name,
		    uint64_t size, int mode, struct pagemap_file_info *ret)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__FileCreateRequest body = PAGEMAP__FILE_CREATE_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	int err;

	if (!pm || !region || !name || mode > 07777)
		return -EINVAL;
	body.region = str(region);
	body.name = str(name);
	body.size = size;
	if (mode >= 0) {
		body.mode = (uint32_t)mode;
		body.mode_set = true;
	}
	req.body_case = PAGEMAP__REQUEST__BODY_FILE_CREATE;
	req.file_create = &body;
	err = transact(pm, &req, &sm);
	if (err)
		return err;
	err = reply_file(pm, sm->response->file_create->file, ret);
	free_reply(sm);
	return err;
}

/* append_files -- add one page of a file listing to the array @v. */
static int
append_files(struct pagemap_file_info **v, size_t *n, size_t *cap,
	     const Pagemap__FileListReply *r)
{
	if (grow((void **)v, sizeof(**v), *n, cap, r->n_files))
		return -ENOMEM;
	for (size_t i = 0; i < r->n_files; i++) {
		int err = file_from_wire(&(*v)[*n], r->files[i]);

		if (err)
			return err;
		(*n)++;
	}
	return 0;
}

/* pagemap_file_list -- page through FileList until more is clear, gathering
 * every file into one malloc'd array. */
int
pagemap_file_list(struct pagemap *pm, const char *region,
		  struct pagemap_file_info **ret, size_t *ret_n)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__FileListRequest body = PAGEMAP__FILE_LIST_REQUEST__INIT;
	struct pagemap_file_info *v = NULL;
	size_t n = 0, cap = 0;
	bool more;
	int err;

	if (!pm || !region || !ret || !ret_n)
		return -EINVAL;
	body.region = str(region);
	req.body_case = PAGEMAP__REQUEST__BODY_FILE_LIST;
	req.file_list = &body;
	do {
		Pagemap__ServerMessage *sm;
		const Pagemap__FileListReply *r;

		err = transact(pm, &req, &sm);
		if (err)
			goto fail;
		r = sm->response->file_list;
		err = append_files(&v, &n, &cap, r);
		more = r->more;
		/* A cursor that does not advance would page for ever. */
		if (!err && more && r->next_cursor <= body.cursor)
			err = -EPROTO;
		body.cursor = r->next_cursor;
		free_reply(sm);
		if (err) {
			if (err == -EPROTO)
				proto_error(pm, "bad file listing");
			goto fail;
		}
	} while (more);
	if (!v && !(v = malloc(sizeof(*v)))) {
		err = -ENOMEM;
		goto fail;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	free(v);
	return err;
}

/* pagemap_file_stat -- one file by name. */
int
pagemap_file_stat(struct pagemap *pm, const char *region, const char *name,
		  struct pagemap_file_info *ret)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__FileStatRequest body = PAGEMAP__FILE_STAT_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	int err;

	if (!pm || !region || !name || !ret)
		return -EINVAL;
	body.region = str(region);
	body.name = str(name);
	req.body_case = PAGEMAP__REQUEST__BODY_FILE_STAT;
	req.file_stat = &body;
	err = transact(pm, &req, &sm);
	if (err)
		return err;
	err = reply_file(pm, sm->response->file_stat->file, ret);
	free_reply(sm);
	return err;
}

/* pagemap_file_truncate -- resize a file, waiting up to @timeout_ms for
 * grants past the new end. */
int
pagemap_file_truncate(struct pagemap *pm, const char *region, const char *name,
		      uint64_t size, uint32_t timeout_ms,
		      struct pagemap_file_info *ret)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__FileTruncateRequest body =
		PAGEMAP__FILE_TRUNCATE_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	int err;

	if (!pm || !region || !name)
		return -EINVAL;
	body.region = str(region);
	body.name = str(name);
	body.size = size;
	body.timeout_ms = timeout_ms;
	req.body_case = PAGEMAP__REQUEST__BODY_FILE_TRUNCATE;
	req.file_truncate = &body;
	err = transact(pm, &req, &sm);
	if (err)
		return err;
	err = reply_file(pm, sm->response->file_truncate->file, ret);
	free_reply(sm);
	return err;
}

/* pagemap_file_remove -- unlink a file name. */
int
pagemap_file_remove(struct pagemap *pm, const char *region, const char *name)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__FileRemoveRequest body = PAGEMAP__FILE_REMOVE_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	int err;

	if (!pm || !region || !name)
		return -EINVAL;
	body.region = str(region);
	body.name = str(name);
	req.body_case = PAGEMAP__REQUEST__BODY_FILE_REMOVE;
	req.file_remove = &body;
	err = transact(pm, &req, &sm);
	if (err)
		return err;
	free_reply(sm);
	return 0;
}

/* ---- region fds ------------------------------------------------------- */

/* rfd_current -- the fd new mappings of @region use, or NULL. */
static struct rfd *
rfd_current(struct pagemap *pm, const char *region)
{
	for (struct rfd *r = pm->rfds; r; r = r->next)
		if (r->current && !strcmp(r->region, region))
			return r;
	return NULL;
}

/* rfd_free -- close and free @r. */
static void
rfd_free(struct rfd *r)
{
	close(r->fd);
	free(r);
}

/* rfd_put -- close and free @r once it is neither current nor used. */
static void
rfd_put(struct pagemap *pm, struct rfd *r)
{
	if (r->current || r->maps)
		return;
	for (struct rfd **p = &pm->rfds; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	rfd_free(r);
}

/* rfd_install -- make @r (filled in by the caller) the current fd of its
 * region, retiring the one it replaces. */
static void
rfd_install(struct pagemap *pm, struct rfd *r)
{
	struct rfd *old = rfd_current(pm, r->region);

	r->current = true;
	r->next = pm->rfds;
	pm->rfds = r;
	if (old) {
		old->current = false;
		rfd_put(pm, old);
	}
}

/* same_file -- whether two fds open the same file. */
static bool
same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* check_region_fd -- what a region fd from the daemon must be: open for
 * reading (read-write when @want_write) on a file or a device. Sets
 * *ret_writable. */
static int
check_region_fd(int fd, bool want_write, bool *ret_writable)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fstat(fd, &st))
		return -EPROTO;
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return -EPROTO;
	if ((fl & O_ACCMODE) != O_RDONLY && (fl & O_ACCMODE) != O_RDWR)
		return -EPROTO;
	if (want_write && (fl & O_ACCMODE) != O_RDWR)
		return -EPROTO;
	*ret_writable = (fl & O_ACCMODE) == O_RDWR;
	return 0;
}

/* ---- leases ----------------------------------------------------------- */

/* lease_find -- this handle's lease with @id, or NULL. */
static struct pagemap_lease *
lease_find(struct pagemap *pm, uint64_t id)
{
	for (struct pagemap_lease *l = pm->leases; l; l = l->next)
		if (l->id == id)
			return l;
	return NULL;
}

/* lease_free -- unlink and free @l, which has no mappings. */
static void
lease_free(struct pagemap_lease *l)
{
	struct pagemap *pm = l->pm;

	if (l->prev)
		l->prev->next = l->next;
	else
		pm->leases = l->next;
	if (l->next)
		l->next->prev = l->prev;
	free(l);
}

/* adopt_lease -- check a LeaseAcquireReply and the fd that came with it
 * (@fd, -1 for none; always consumed) and fill in @l and @r. Returns 1
 * when @r was installed, 0 when it is not needed, or -errno. */
static int
adopt_lease(struct pagemap *pm, const Pagemap__LeaseAcquireReply *a, int fd,
	    struct pagemap_lease *l, struct rfd *r)
{
	bool write = l->access == PAGEMAP_WRITE, writable;
	struct rfd *cur;

	if (a->lease_id == 0 || lease_find(pm, a->lease_id)) {
		proto_error(pm, "lease id 0 or already in use");
		goto fail;
	}
	if (a->max_order > MAX_ORDER) {
		proto_error(pm, "max_order out of range");
		goto fail;
	}
	l->id = a->lease_id;
	l->ino = a->ino;
	l->size = a->size;
	l->max_order = a->max_order;
	l->region_size = a->region_size;
	if (!a->fd_attached) {
		if (fd >= 0)
			close(fd); /* not announced: not ours to keep */
		cur = rfd_current(pm, l->region);
		if (!cur || (write && !cur->writable)) {
			proto_error(pm, "lease reply without the region fd");
			return -EPROTO;
		}
		return 0;
	}
	if (fd < 0) {
		proto_error(pm, "fd_attached but no fd came");
		return -EPROTO;
	}
	if (check_region_fd(fd, write, &writable)) {
		proto_error(pm, "region fd of the wrong kind");
		goto fail;
	}
	/* The daemon may send a region's fd again (it keeps a bounded
	 * record per connection); a read-only copy of the file we already
	 * hold read-write adds nothing. A different file (the region was
	 * detached and attached again) always replaces the old one. */
	cur = rfd_current(pm, l->region);
	if (cur && cur->writable && !writable && same_file(cur->fd, fd)) {
		close(fd);
		return 0;
	}
	memcpy(r->region, l->region, sizeof(r->region));
	r->fd = fd;
	r->writable = writable;
	r->maps = 0;
	rfd_install(pm, r);
	return 1;
fail:
	if (fd >= 0)
		close(fd);
	return -EPROTO;
}

/* pagemap_lease_acquire -- LeaseAcquire; keeps the region fd that comes
 * with the first lease on a region (or a read-write one later). */
int
pagemap_lease_acquire(struct pagemap *pm, const char *region,
		      const char *name, enum pagemap_access access,
		      struct pagemap_lease **ret)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__LeaseAcquireRequest body =
		PAGEMAP__LEASE_ACQUIRE_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	struct pagemap_lease *l;
	struct rfd *r;
	int err, fd = -1;

	if (!pm || !region || !name || !ret ||
	    (access != PAGEMAP_READ && access != PAGEMAP_WRITE))
		return -EINVAL;
	if (strlen(region) >= REGION_MAX)
		return -ENAMETOOLONG;
	/* Allocate before asking: once the daemon grants the lease, running
	 * out of memory would strand it. */
	l = calloc(1, sizeof(*l));
	r = calloc(1, sizeof(*r));
	if (!l || !r) {
		free(l);
		free(r);
		return -ENOMEM;
	}
	l->pm = pm;
	l->access = access;
	memcpy(l->region, region, strlen(region) + 1);
	body.region = str(region);
	body.name = str(name);
	body.access = access_to_wire(access);
	req.body_case = PAGEMAP__REQUEST__BODY_LEASE_ACQUIRE;
	req.lease_acquire = &body;
	err = transact_fd(pm, &req, &sm, &fd);
	if (!err) {
		err = adopt_lease(pm, sm->response->lease_acquire, fd, l, r);
		free_reply(sm);
	}
	if (err <= 0)
		free(r);
	if (err < 0) {
		free(l);
		return err;
	}
	l->next = pm->leases;
	if (pm->leases)
		pm->leases->prev = l;
	pm->leases = l;
	*ret = l;
	return 0;
}

/* release_request -- LeaseRelease for @l; a lease the daemon no longer
 * knows (revoked, detached) counts as released. */
static int
release_request(struct pagemap_lease *l)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__LeaseReleaseRequest body =
		PAGEMAP__LEASE_RELEASE_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	int err;

	body.lease_id = l->id;
	req.body_case = PAGEMAP__REQUEST__BODY_LEASE_RELEASE;
	req.lease_release = &body;
	err = transact(l->pm, &req, &sm);
	if (!err)
		free_reply(sm);
	return err == -ENOENT ? 0 : err;
}

/* pagemap_lease_release -- LeaseRelease, then free @l. With the
 * connection gone the daemon ends the lease with the process, so the
 * handle is freed then too (and the error returned). */
int
pagemap_lease_release(struct pagemap_lease *l)
{
	int err;

	if (!l)
		return -EINVAL;
	if (l->maps)
		return -EBUSY;
	err = release_request(l);
	if (!err || l->pm->dead)
		lease_free(l);
	return err;
}

/* pagemap_lease_id -- the daemon's id of @l. */
uint64_t
pagemap_lease_id(const struct pagemap_lease *l)
{
	return l ? l->id : 0;
}

/* pagemap_lease_size -- the file size when @l was taken. */
uint64_t
pagemap_lease_size(const struct pagemap_lease *l)
{
	return l ? l->size : 0;
}

/* pagemap_lease_access -- read or write. */
enum pagemap_access
pagemap_lease_access(const struct pagemap_lease *l)
{
	return l ? l->access : 0;
}

/* pagemap_region_fd -- the current fd of @l's region, or -1. */
int
pagemap_region_fd(const struct pagemap_lease *l)
{
	struct rfd *r;

	if (!l)
		return -1;
	r = rfd_current(l->pm, l->region);
	return r ? r->fd : -1;
}

/* ---- grants ----------------------------------------------------------- */

/* page_range -- [offset, offset + length) rounded out to pages; -EINVAL
 * when it is empty or does not fit in 64 bits. */
static int
page_range(uint64_t offset, uint64_t length, uint64_t *ret_start,
	   uint64_t *ret_end)
{
	if (length == 0 || offset > UINT64_MAX - length ||
	    offset + length > UINT64_MAX - PG_MASK)
		return -EINVAL;
	*ret_start = offset & ~PG_MASK;
	*ret_end = (offset + length + PG_MASK) & ~PG_MASK;
	return 0;
}

/* map_request -- one Map request for the page range [start, end) of @l,
 * running @overlap(@arg) (if any) while it is in flight; the reply is
 * checked against the protocol (folios tile the range from @start on, each
 * naturally aligned in file and region, inside the region and the lease's
 * max order) and returned in *ret_sm; *ret_next is where the grants end
 * and the next request starts. */
static int
map_request(struct pagemap_lease *l, uint64_t start, uint64_t end,
	    enum pagemap_access access, Pagemap__ServerMessage **ret_sm,
	    uint64_t *ret_next, void (*overlap)(void *), void *arg)
{
	struct pagemap *pm = l->pm;
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__MapRequest body = PAGEMAP__MAP_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	const Pagemap__MapReply *r;
	uint64_t pos = start;
	const char *why = NULL;
	uint32_t maxf = pm->limits.max_folios_per_reply;
	int err;

	body.lease_id = l->id;
	body.offset = start;
	body.length = end - start;
	body.access = access_to_wire(access);
	req.body_case = PAGEMAP__REQUEST__BODY_MAP;
	req.map = &body;
	err = exchange(pm, &req, &sm, NULL, overlap, arg);
	if (err)
		return err;
	r = sm->response->map;
	if (r->offset != start)
		why = "map reply starts elsewhere";
	else if (r->n_region_offset != r->n_order)
		why = "map reply arrays differ in length";
	else if (r->n_order == 0)
		why = "map reply without folios";
	else if (maxf && r->n_order > maxf)
		why = "more folios than max_folios_per_reply";
	for (size_t i = 0; !why && i < r->n_order; i++) {
		uint32_t order = r->order[i];
		uint64_t size, roff = r->region_offset[i];

		if (order > l->max_order) {
			why = "folio order above the region's max_order";
			break;
		}
		size = (uint64_t)PG_SIZE << order;
		if ((pos & (size - 1)) || (roff & (size - 1)))
			why = "folio not naturally aligned";
		else if (size > end - pos)
			why = "folio past the requested range";
		else if (roff > l->region_size || size > l->region_size - roff)
			why = "folio past the end of the region";
		pos += size;
	}
	if (!why && r->next_offset != pos)
		why = "next_offset is not where the folios end";
	if (why) {
		free_reply(sm);
		return proto_error(pm, why);
	}
	*ret_sm = sm;
	*ret_next = pos;
	return 0;
}

/* pagemap_grant -- one Map request without mapping. When @max is below
 * what one reply may carry, the request is cut to @max pages, which no
 * tiling can split into more than @max folios. */
int
pagemap_grant(struct pagemap_lease *l, uint64_t offset, uint64_t length,
	      enum pagemap_access access, struct pagemap_folio *out,
	      size_t max, size_t *ret_n, uint64_t *ret_next)
{
	Pagemap__ServerMessage *sm;
	const Pagemap__MapReply *r;
	uint64_t start, end, pos, next;
	uint32_t maxf;
	int err;

	if (!l || !out || !max || !ret_n || !ret_next ||
	    (access != PAGEMAP_READ && access != PAGEMAP_WRITE))
		return -EINVAL;
	if (access > l->access)
		return -EACCES;
	if ((err = page_range(offset, length, &start, &end)))
		return err;
	maxf = l->pm->limits.max_folios_per_reply;
	if ((!maxf || max < maxf) && (end - start) / PG_SIZE > max)
		end = start + (uint64_t)max * PG_SIZE;
	err = map_request(l, start, end, access, &sm, &next, NULL, NULL);
	if (err)
		return err;
	r = sm->response->map;
	if (r->n_order > max) {
		free_reply(sm);
		return proto_error(l->pm, "more folios than pages");
	}
	pos = start;
	for (size_t i = 0; i < r->n_order; i++) {
		out[i].file_offset = pos;
		out[i].region_offset = r->region_offset[i];
		out[i].order = r->order[i];
		pos += (uint64_t)PG_SIZE << r->order[i];
	}
	*ret_n = r->n_order;
	*ret_next = next;
	free_reply(sm);
	return 0;
}

/* await_nowait -- read until at most @n pagemap_unmap_nowait() replies
 * are outstanding (events that come meanwhile are queued). */
static int
await_nowait(struct pagemap *pm, size_t n)
{
	while (pm->nnowait > n) {
		struct rx rx;
		int err;

		if (pm->dead)
			return pm->dead;
		if ((err = recv_packet(pm, 0, &rx)))
			return err;
		if ((err = handle_packet(pm, &rx, 0, 0, NULL, NULL)) < 0)
			return err;
	}
	return 0;
}

/* unmap_request -- one Unmap request; adds the count to *@returned. With
 * @nowait, only send it: its reply is read by a later call. */
static int
unmap_request(struct pagemap_lease *l, uint64_t offset, uint64_t length,
	      uint64_t *returned, bool nowait)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__UnmapRequest body = PAGEMAP__UNMAP_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	struct pagemap *pm = l->pm;
	int err;

	body.lease_id = l->id;
	body.offset = offset;
	body.length = length;
	req.body_case = PAGEMAP__REQUEST__BODY_UNMAP;
	req.unmap = &body;
	if (nowait) {
		/* Bounded, so that replies never pile up unread in the
		 * socket (the daemon stops reading a client whose replies
		 * it cannot send). */
		if ((err = await_nowait(pm, NOWAIT_MAX - 1)))
			return err;
		if (pm->dead)
			return pm->dead;
		req.id = pm->next_id++;
		if ((err = send_request(pm, &req)))
			return err;
		pm->nowait_ids[pm->nnowait++] = req.id;
		return 0;
	}
	err = transact(pm, &req, &sm);
	if (err)
		return err;
	if (returned)
		*returned += sm->response->unmap->returned;
	free_reply(sm);
	return 0;
}

/* pagemap_return -- Unmap for a raw range. */
int
pagemap_return(struct pagemap_lease *l, uint64_t offset, uint64_t length,
	       uint64_t *ret_returned)
{
	uint64_t n = 0;
	int err;

	if (!l)
		return -EINVAL;
	err = unmap_request(l, offset, length, &n, false);
	if (!err && ret_returned)
		*ret_returned = n;
	return err;
}

/* return_range -- return the grants of @l over the page range [a, b)
 * except where another of @l's mappings still lies: Unmap returns every
 * grant intersecting its range, and the grants under a live mapping must
 * stay (I1). Those come back with the last mapping over them. The first
 * error is returned; the daemon's message of it is kept. */
static int
return_range(struct pagemap_lease *l, uint64_t a, uint64_t b, bool nowait)
{
	uint64_t cur = a;
	int err = 0;

	while (cur < b) {
		uint64_t next = b;
		bool moved = true;

		/* Skip what other mappings cover at cur. */
		while (moved) {
			moved = false;
			for (struct pagemap_mapping *m = l->maps; m;
			     m = m->next) {
				if (m->offset <= cur &&
				    cur < m->offset + m->length) {
					cur = m->offset + m->length;
					moved = true;
				}
			}
		}
		if (cur >= b)
			break;
		for (struct pagemap_mapping *m = l->maps; m; m = m->next)
			if (m->offset > cur && m->offset < next)
				next = m->offset;
		/* A lease the daemon no longer knows has no grants (I2):
		 * nothing is left to return. */
		if (!err && (err = unmap_request(l, cur, next - cur, NULL,
						 nowait)) == -ENOENT)
			err = 0;
		cur = next;
	}
	return err;
}

/* ---- mappings --------------------------------------------------------- */

/* pmem2_to_errno -- a libpmem2 return value as -errno. */
static int
pmem2_to_errno(int ret)
{
	if (ret >= -(int)MAX_ERRNO)
		return ret; /* 0, or already -errno */
	switch (ret) {
	case PMEM2_E_NO_ACCESS:
		return -EACCES;
	case PMEM2_E_MAP_RANGE:
	case PMEM2_E_OFFSET_OUT_OF_RANGE:
	case PMEM2_E_LENGTH_OUT_OF_RANGE:
	case PMEM2_E_SOURCE_EMPTY:
		return -ENXIO;
	case PMEM2_E_NOSUPP:
	case PMEM2_E_GRANULARITY_NOT_SUPPORTED:
	case PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED:
	case PMEM2_E_INVALID_FILE_TYPE:
		return -EOPNOTSUPP;
	case PMEM2_E_MAPPING_EXISTS:
	case PMEM2_E_MAP_EXISTS:
		return -EEXIST;
	case PMEM2_E_VM_RESERVATION_NOT_EMPTY:
		return -EBUSY;
	default:
		return -EINVAL;
	}
}

/* pmem2_fail -- turn a libpmem2 failure into -errno, keeping its text. */
static int
pmem2_fail(struct pagemap *pm, const char *what, int ret)
{
	set_message(pm, "libpmem2: %s: %s", what, pmem2_errormsg());
	return pmem2_to_errno(ret);
}

/* add_folio -- append a folio to @m's runs, extending the last run when it
 * continues it in both file and region (one extent, one mapping). */
static int
add_folio(struct pagemap_mapping *m, uint64_t file_off, uint64_t region_off,
	  uint64_t size)
{
	struct run *last = m->nruns ? &m->runs[m->nruns - 1] : NULL;

	m->folios++;
	if (size > m->max_folio)
		m->max_folio = size;
	if (last && last->file_off + last->len == file_off &&
	    last->region_off + last->len == region_off) {
		last->len += size;
		return 0;
	}
	if (grow((void **)&m->runs, sizeof(*m->runs), m->nruns, &m->cap, 1))
		return -ENOMEM;
	m->runs[m->nruns++] = (struct run){file_off, region_off, size};
	return 0;
}

/* map_alignment -- the address alignment that lets huge pages back the
 * folios: the largest folio, at least 2 MiB for a range that big, at
 * most 1 GiB; 0 when nothing needs more than a page. */
static uint64_t
map_alignment(const struct pagemap_mapping *m)
{
	uint64_t a = m->length >= HUGE_ALIGN ? HUGE_ALIGN : 0;

	if (m->max_folio > a)
		a = m->max_folio;
	if (a > MAX_ALIGN)
		a = MAX_ALIGN;
	return a > PG_SIZE ? a : 0;
}

/* guess_drop -- forget the layout kept with the spare reservation. */
static void
guess_drop(struct pagemap *pm)
{
	free(pm->guess.runs);
	pm->guess.runs = NULL;
	pm->guess.nruns = 0;
}

/* take_spare -- give @m the spare reservation. */
static void
take_spare(struct pagemap *pm, struct pagemap_mapping *m)
{
	m->rsv = pm->spare;
	m->addr = pm->spare_addr;
	pm->spare = NULL;
}

/* reserve -- a VM reservation for @m's range whose first byte sits at an
 * address congruent to the range's file offset modulo the alignment, so
 * every naturally aligned folio lands on an address aligned as well:
 * reserve the alignment extra, then shrink the reservation to the spot.
 * Sets m->rsv and m->addr. */
static int
reserve(struct pagemap *pm, struct pagemap_mapping *m)
{
	uint64_t align = map_alignment(m), head = 0, tail;
	uintptr_t base;
	int ret;

	if (m->length > SIZE_MAX - align)
		return -ENOMEM;
	if (pm->spare && pm->spare_len == m->length &&
	    (!align || (((uintptr_t)pm->spare_addr ^ m->offset) &
			(align - 1)) == 0)) {
		guess_drop(pm);
		take_spare(pm, m);
		return 0;
	}
	ret = pmem2_vm_reservation_new(&m->rsv, NULL,
				       (size_t)(m->length + align));
	if (ret)
		return pmem2_fail(pm, "reserve address space", ret);
	base = (uintptr_t)pmem2_vm_reservation_get_address(m->rsv);
	if (align) {
		head = ((m->offset & (align - 1)) - (base & (align - 1))) &
		       (align - 1);
		tail = align - head;
		/* Shrinking fails only on arguments it does not like; the
		 * spare address space is then simply kept. */
		if (head && !pmem2_vm_reservation_shrink(m->rsv, 0,
							 (size_t)head)) {
			base += head;
			head = 0;
		}
		if (tail)
			(void)pmem2_vm_reservation_shrink(
				m->rsv, (size_t)(head + m->length),
				(size_t)tail);
	}
	m->addr = (char *)base + head;
	return 0;
}

/* unmap_runs -- unmap @m. Its address range becomes a placeholder again
 * (one mmap over the runs) and is kept for the next mapping of the same
 * size, with @m's runs as the guess for it when @keep_layout (they move
 * there); or the reservation is released, which unmaps the runs with one
 * munmap. On failure (which neither does for a valid range) the
 * reservation stays recorded, so a retry can finish. */
static int
unmap_runs(struct pagemap *pm, struct pagemap_mapping *m, bool keep_layout)
{
	int ret;

	if (!m->rsv)
		return 0;
	if (!pm->spare && m->length <= SPARE_MAX &&
	    mmap(m->addr, (size_t)m->length, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
		 0) != MAP_FAILED) {
		pm->spare = m->rsv;
		pm->spare_addr = m->addr;
		pm->spare_len = m->length;
		m->rsv = NULL;
		guess_drop(pm);
		if (keep_layout) {
			pm->guess.lease_id = m->lease->id;
			pm->guess.offset = m->offset;
			pm->guess.runs = m->runs;
			pm->guess.nruns = m->nruns;
			m->runs = NULL;
			m->nruns = m->cap = 0;
		}
		return 0;
	}
	ret = pmem2_vm_reservation_delete(&m->rsv);
	return ret ? pmem2_fail(pm, "release address space", ret) : 0;
}

/* rfd_probe -- map one page of @rfd with libpmem2 to learn how to map
 * and persist this region: the store granularity (anything finer than a
 * page means MAP_SYNC worked, or a device needs none) and the persist
 * function, which takes any address of a mapping of the same fd. */
static int
rfd_probe(struct pagemap *pm, struct rfd *rfd)
{
	struct pmem2_source *src = NULL;
	struct pmem2_config *cfg = NULL;
	struct pmem2_map *map = NULL;
	size_t align = 0;
	int ret;

	if (rfd->probed)
		return 0;
	if ((ret = pmem2_source_from_fd(&src, rfd->fd)) ||
	    (ret = pmem2_source_alignment(src, &align)) ||
	    (ret = pmem2_config_new(&cfg)) ||
	    (ret = pmem2_config_set_required_store_granularity(
		     cfg, PMEM2_GRANULARITY_PAGE)) ||
	    (ret = pmem2_config_set_sharing(cfg, PMEM2_SHARED)) ||
	    (ret = pmem2_config_set_protection(cfg, PMEM2_PROT_READ)) ||
	    (ret = pmem2_config_set_length(cfg, align)) ||
	    (ret = pmem2_map_new(&map, cfg, src))) {
		ret = pmem2_fail(pm, "region fd", ret);
		goto out;
	}
	rfd->mmap_flags = MAP_SHARED;
	if (pmem2_map_get_store_granularity(map) != PMEM2_GRANULARITY_PAGE)
		rfd->mmap_flags = MAP_SHARED_VALIDATE | MAP_SYNC;
	rfd->persist = pmem2_get_persist_fn(map);
	rfd->probed = true;
	ret = 0;
out:
	if (map)
		pmem2_map_delete(&map);
	if (cfg)
		pmem2_config_delete(&cfg);
	if (src)
		pmem2_source_delete(&src);
	return ret;
}

/* mmap_runs -- map @n @runs of @m from @rfd over @m's reservation, then
 * mark the range MADV_DONTFORK. 0 or -errno. */
static int
mmap_runs(struct pagemap_mapping *m, struct rfd *rfd, const struct run *runs,
	  size_t n)
{
	int prot = PROT_READ;

	if (m->access == PAGEMAP_WRITE)
		prot |= PROT_WRITE;
	for (size_t i = 0; i < n; i++) {
		char *at = m->addr + (runs[i].file_off - m->offset);

		/* MAP_FIXED replaces the reservation's placeholder, which
		 * is ours: nothing else can be there. */
		if (mmap(at, (size_t)runs[i].len, prot,
			 rfd->mmap_flags | MAP_FIXED, rfd->fd,
			 (off_t)runs[i].region_off) == MAP_FAILED)
			return -errno;
	}
	/* A forked child must not keep the region's pages mapped: the
	 * daemon counts pins per process and could not see the child's. */
	return madvise(m->addr, (size_t)m->length, MADV_DONTFORK) ? -errno : 0;
}

/* map_runs -- reserve the address range for @m and map each run of it
 * from the region fd @rfd over the reservation; on failure nothing stays
 * mapped. */
static int
map_runs(struct pagemap *pm, struct pagemap_mapping *m, struct rfd *rfd)
{
	int err;

	if ((err = rfd_probe(pm, rfd)) || (err = reserve(pm, m)))
		return err;
	if ((err = mmap_runs(m, rfd, m->runs, m->nruns))) {
		set_message(pm, "mapping the region: %s",
			    pagemap_strerror(err));
		unmap_runs(pm, m, false);
	}
	return err;
}

/* A map that guessed its layout (struct pagemap's guess). */
struct spec {
	struct pagemap *pm;
	struct pagemap_mapping *m;
	struct rfd *rfd;
	struct run *runs; /* the guess, taken from pm */
	size_t nruns;
	bool mapped; /* every guessed run mapped, and MADV_DONTFORK set */
};

/* speculate -- while the first Map request is in flight, map the layout
 * the same lease range had when it was last unmapped: the daemon grants
 * the same folios unless the file changed, and the reply decides. No byte
 * is touched before it comes (a holder of the region fd may map any of
 * the region anyway; see the security model). */
static void
speculate(void *arg)
{
	struct spec *sp = arg;
	struct pagemap *pm = sp->pm;

	sp->runs = pm->guess.runs;
	sp->nruns = pm->guess.nruns;
	pm->guess.runs = NULL;
	pm->guess.nruns = 0;
	take_spare(pm, sp->m);
	sp->mapped = mmap_runs(sp->m, sp->rfd, sp->runs, sp->nruns) == 0;
}

/* can_speculate -- whether the spare reservation and its guess fit the
 * map of @m from @rfd. */
static bool
can_speculate(const struct pagemap *pm, const struct pagemap_mapping *m,
	      const struct rfd *rfd)
{
	return pm->spare && pm->guess.runs && rfd->probed &&
	       pm->guess.lease_id == m->lease->id &&
	       pm->guess.offset == m->offset && pm->spare_len == m->length;
}

/* guessed_right -- the runs granted are the ones @sp mapped. */
static bool
guessed_right(const struct spec *sp)
{
	const struct pagemap_mapping *m = sp->m;

	return sp->mapped && sp->nruns == m->nruns &&
	       memcmp(sp->runs, m->runs, m->nruns * sizeof(*m->runs)) == 0;
}

/* pagemap_map -- grant the range page by page, then map the folios. */
int
pagemap_map(struct pagemap_lease *l, uint64_t offset, uint64_t length,
	    enum pagemap_access access, struct pagemap_mapping **ret)
{
	struct pagemap *pm;
	struct pagemap_mapping *m;
	struct rfd *rfd;
	struct spec sp;
	bool spec;
	uint64_t start, end, pos;
	char saved[sizeof(pm->message)];
	int err;

	if (!l || !ret || (access != PAGEMAP_READ && access != PAGEMAP_WRITE))
		return -EINVAL;
	pm = l->pm;
	if (access > l->access)
		return -EACCES;
	if ((err = page_range(offset, length, &start, &end)))
		return err;
	if (end - start > SIZE_MAX - MAX_ALIGN)
		return -ENOMEM;
	if (pm->dead)
		return pm->dead;
	rfd = rfd_current(pm, l->region);
	if (!rfd || (access == PAGEMAP_WRITE && !rfd->writable))
		return -EBADF;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->lease = l;
	m->rfd = rfd;
	m->offset = start;
	m->length = end - start;
	m->access = access;
	sp = (struct spec){.pm = pm, .m = m, .rfd = rfd};
	spec = can_speculate(pm, m, rfd);
	for (pos = start; pos < end; spec = false) {
		Pagemap__ServerMessage *sm;
		const Pagemap__MapReply *r;
		uint64_t next, fpos = pos;

		if ((err = map_request(l, pos, end, access, &sm, &next,
				       spec ? speculate : NULL, &sp)))
			goto fail;
		r = sm->response->map;
		for (size_t i = 0; i < r->n_order && !err; i++) {
			uint64_t size = (uint64_t)PG_SIZE << r->order[i];

			err = add_folio(m, fpos, r->region_offset[i], size);
			fpos += size;
		}
		free_reply(sm);
		pos = next; /* granted up to here, mapped or not */
		if (err)
			goto fail;
	}
	/* Guessed wrong: map afresh. */
	if (m->rsv && !guessed_right(&sp) && (err = unmap_runs(pm, m, false)))
		goto fail;
	if (!m->rsv && (err = map_runs(pm, m, rfd)))
		goto fail;
	free(sp.runs);
	rfd->maps++;
	m->next = l->maps;
	if (l->maps)
		l->maps->prev = m;
	l->maps = m;
	*ret = m;
	return 0;
fail:
	/* The explanation of the failure outlives the cleanup requests. */
	memcpy(saved, pm->message, sizeof(saved));
	unmap_runs(pm, m, false); /* what speculate() mapped, if anything */
	if (pos > start)
		return_range(l, start, pos, false);
	memcpy(pm->message, saved, sizeof(saved));
	free(sp.runs);
	free(m->runs);
	free(m);
	return err;
}

/* pagemap_mapping_addr -- first byte of the mapped (rounded) range. */
void *
pagemap_mapping_addr(const struct pagemap_mapping *m)
{
	return m ? m->addr : NULL;
}

/* pagemap_mapping_offset -- file offset of the first mapped byte. */
uint64_t
pagemap_mapping_offset(const struct pagemap_mapping *m)
{
	return m ? m->offset : 0;
}

/* pagemap_mapping_length -- bytes mapped (whole pages). */
uint64_t
pagemap_mapping_length(const struct pagemap_mapping *m)
{
	return m ? m->length : 0;
}

/* pagemap_mapping_folios -- grants behind the mapping. */
size_t
pagemap_mapping_folios(const struct pagemap_mapping *m)
{
	return m ? m->folios : 0;
}

/* pagemap_persist -- persist each run's part of the range with its own
 * map's persist function (msync for page granularity). */
int
pagemap_persist(struct pagemap_mapping *m, const void *addr, size_t len)
{
	if (!m || (!addr && len))
		return -EINVAL;
	if (m->access != PAGEMAP_WRITE)
		return -EBADF;
	if (!len)
		return 0;
	if ((const char *)addr < m->addr ||
	    (uint64_t)((const char *)addr - m->addr) > m->length ||
	    len > m->length - (uint64_t)((const char *)addr - m->addr))
		return -EINVAL;
	/* The runs tile the range without a gap, and the function takes
	 * any address of a mapping of the region fd. */
	m->rfd->persist(addr, len);
	return 0;
}

/* unmap_local -- unmap @m and unlink it from its lease, without telling
 * the daemon; the caller returns the grants and frees @m. */
static int
unmap_local(struct pagemap_mapping *m)
{
	struct pagemap_lease *l = m->lease;
	int err = unmap_runs(l->pm, m, true);

	if (err)
		return err;
	if (m->prev)
		m->prev->next = m->next;
	else
		l->maps = m->next;
	if (m->next)
		m->next->prev = m->prev;
	m->rfd->maps--;
	rfd_put(l->pm, m->rfd);
	return 0;
}

/* unmap -- unmap first, then return the grants: the daemon may reuse the
 * bytes as soon as they are back. */
static int
unmap(struct pagemap_mapping *m, bool nowait)
{
	struct pagemap_lease *l;
	int err;

	if (!m)
		return -EINVAL;
	l = m->lease;
	if ((err = unmap_local(m)))
		return err; /* still mapped: the grants must stay */
	err = return_range(l, m->offset, m->offset + m->length, nowait);
	free(m->runs);
	free(m);
	return err;
}

int
pagemap_unmap(struct pagemap_mapping *m)
{
	return unmap(m, false);
}

int
pagemap_unmap_nowait(struct pagemap_mapping *m)
{
	return unmap(m, true);
}

/* pagemap_flush -- wait for every pagemap_unmap_nowait() reply. */
int
pagemap_flush(struct pagemap *pm)
{
	int err;

	if (!pm)
		return -EINVAL;
	err = await_nowait(pm, 0);
	if (!err) {
		err = pm->nowait_err;
		pm->nowait_err = 0;
	}
	return err;
}

/* ---- events ----------------------------------------------------------- */

/* pagemap_set_recall_handler -- set or clear the recall handler. */
void
pagemap_set_recall_handler(struct pagemap *pm, pagemap_recall_fn fn,
			   void *arg)
{
	if (!pm)
		return;
	pm->recall_fn = fn;
	pm->recall_arg = arg;
}

static void destroy(struct pagemap *pm);

/* pagemap_dispatch -- drain the socket, then hand every queued recall to
 * the handler, until both are empty (a handler's own requests may queue
 * more). Without a handler the recalls stay queued. */
int
pagemap_dispatch(struct pagemap *pm)
{
	int handled = 0, err = 0;

	if (!pm)
		return -EINVAL;
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
			if ((err = read_one(pm)) == -EAGAIN) {
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
		destroy(pm);
		return handled;
	}
	if (handled)
		return handled;
	return err ? err : (pm->dead ? pm->dead : 0);
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

	if (!pm)
		return -EINVAL;
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

/* ---- inspection ------------------------------------------------------- */

/* pagemap_lease_list -- LeaseList, paged by lease id while the daemon
 * says there is more, into one malloc'd array. */
int
pagemap_lease_list(struct pagemap *pm, const char *region, const char *name,
		   struct pagemap_lease_info **ret, size_t *ret_n)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__LeaseListRequest body = PAGEMAP__LEASE_LIST_REQUEST__INIT;
	struct pagemap_lease_info *v = NULL;
	size_t n = 0, cap = 0;
	bool more;
	int err;

	if (!pm || !ret || !ret_n || (name && *name && !(region && *region)))
		return -EINVAL;
	body.region = str(region);
	body.name = str(name);
	req.body_case = PAGEMAP__REQUEST__BODY_LEASE_LIST;
	req.lease_list = &body;
	do {
		Pagemap__ServerMessage *sm;
		const Pagemap__LeaseListReply *r;

		if ((err = transact(pm, &req, &sm)))
			goto fail;
		r = sm->response->lease_list;
		more = r->more;
		err = more && !r->n_leases ? -EPROTO : 0;
		if (!err && grow((void **)&v, sizeof(*v), n, &cap, r->n_leases))
			err = -ENOMEM;
		for (size_t i = 0; i < r->n_leases && !err; i++) {
			err = lease_from_wire(&v[n], r->leases[i]);
			/* Ids ascend past the cursor: paging advances. */
			if (!err && v[n].id <= body.after_id)
				err = -EPROTO;
			if (!err)
				body.after_id = v[n++].id;
		}
		free_reply(sm);
		if (err == -EPROTO)
			proto_error(pm, "bad lease listing");
		if (err)
			goto fail;
	} while (more);
	if (!v && !(v = malloc(sizeof(*v)))) {
		err = -ENOMEM;
		goto fail;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	free(v);
	return err;
}

/* append_grants -- check one page of a grant listing and add it to @v:
 * parallel arrays of one length, in (lease, offset) order after the
 * cursor, so paging always advances. */
static int
append_grants(struct pagemap_grant_info **v, size_t *n, size_t *cap,
	      const Pagemap__GrantListReply *r, uint64_t *after_lease,
	      uint64_t *after_offset, bool first)
{
	size_t k = r->n_lease_id;
	uint64_t pl = *after_lease, po = *after_offset;

	if (r->n_file_offset != k || r->n_region_offset != k ||
	    r->n_order != k || r->n_access != k ||
	    (r->n_pins != k && r->n_pins != 0))
		return -EPROTO;
	if (r->more && k == 0)
		return -EPROTO;
	if (grow((void **)v, sizeof(**v), *n, cap, k))
		return -ENOMEM;
	for (size_t i = 0; i < k; i++) {
		uint64_t l = r->lease_id[i], o = r->file_offset[i];
		enum pagemap_access a = access_from_wire(r->access[i]);

		/* Strictly after the cursor; duplicates (a range granted
		 * twice) may follow each other within a page. */
		if (i == 0 && !first && (l < pl || (l == pl && o <= po)))
			return -EPROTO;
		if (i > 0 && (l < pl || (l == pl && o < po)))
			return -EPROTO;
		if (!a || r->order[i] > MAX_ORDER || l == 0)
			return -EPROTO;
		(*v)[(*n)++] = (struct pagemap_grant_info){
			.lease_id = l,
			.file_offset = o,
			.region_offset = r->region_offset[i],
			.order = r->order[i],
			.access = a,
		};
		pl = l;
		po = o;
	}
	*after_lease = pl;
	*after_offset = po;
	return 0;
}

/* pagemap_grant_list -- GrantList, paged with the (lease, offset) cursor
 * while the daemon says there is more. */
int
pagemap_grant_list(struct pagemap *pm, uint64_t lease_id, uint32_t pid,
		   struct pagemap_grant_info **ret, size_t *ret_n)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__GrantListRequest body = PAGEMAP__GRANT_LIST_REQUEST__INIT;
	struct pagemap_grant_info *v = NULL;
	size_t n = 0, cap = 0;
	bool more, first = true;
	int err;

	if (!pm || !ret || !ret_n)
		return -EINVAL;
	body.lease_id = lease_id;
	body.pid = pid;
	req.body_case = PAGEMAP__REQUEST__BODY_GRANT_LIST;
	req.grant_list = &body;
	do {
		Pagemap__ServerMessage *sm;
		const Pagemap__GrantListReply *r;

		if ((err = transact(pm, &req, &sm)))
			goto fail;
		r = sm->response->grant_list;
		more = r->more;
		err = append_grants(&v, &n, &cap, r, &body.after_lease,
				    &body.after_offset, first);
		free_reply(sm);
		first = false;
		if (err == -EPROTO)
			proto_error(pm, "bad grant listing");
		if (err)
			goto fail;
	} while (more);
	if (!v && !(v = malloc(sizeof(*v)))) {
		err = -ENOMEM;
		goto fail;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	free(v);
	return err;
}

/* pagemap_client_list -- ClientList, paged by client id, into one
 * malloc'd array. */
int
pagemap_client_list(struct pagemap *pm, struct pagemap_client_info **ret,
		    size_t *ret_n)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__ClientListRequest body = PAGEMAP__CLIENT_LIST_REQUEST__INIT;
	struct pagemap_client_info *v = NULL;
	size_t n = 0, cap = 0;
	bool more;
	int err;

	if (!pm || !ret || !ret_n)
		return -EINVAL;
	req.body_case = PAGEMAP__REQUEST__BODY_CLIENT_LIST;
	req.client_list = &body;
	do {
		Pagemap__ServerMessage *sm;
		const Pagemap__ClientListReply *r;

		if ((err = transact(pm, &req, &sm)))
			goto fail;
		r = sm->response->client_list;
		more = r->more;
		err = more && !r->n_clients ? -EPROTO : 0;
		if (!err &&
		    grow((void **)&v, sizeof(*v), n, &cap, r->n_clients))
			err = -ENOMEM;
		for (size_t i = 0; i < r->n_clients && !err; i++) {
			err = client_from_wire(&v[n], r->clients[i]);
			if (!err && v[n].id <= body.after_id)
				err = -EPROTO;
			if (!err)
				body.after_id = v[n++].id;
		}
		free_reply(sm);
		if (err == -EPROTO)
			proto_error(pm, "bad client listing");
		if (err)
			goto fail;
	} while (more);
	if (!v && !(v = malloc(sizeof(*v)))) {
		err = -ENOMEM;
		goto fail;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	free(v);
	return err;
}

/* pagemap_blockers -- Blockers into one malloc'd array. The reply's
 * `truncated` mark (more blockers than one packet holds) has no place in
 * the public API: the first packet's worth is returned. */
int
pagemap_blockers(struct pagemap *pm, const char *region, const char *name,
		 struct pagemap_blocker **ret, size_t *ret_n)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__BlockersRequest body = PAGEMAP__BLOCKERS_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	const Pagemap__BlockersReply *r;
	struct pagemap_blocker *v;
	int err = 0;

	if (!pm || !ret || !ret_n || (name && *name && !(region && *region)))
		return -EINVAL;
	body.region = str(region);
	body.name = str(name);
	req.body_case = PAGEMAP__REQUEST__BODY_BLOCKERS;
	req.blockers = &body;
	if ((err = transact(pm, &req, &sm)))
		return err;
	r = sm->response->blockers;
	v = calloc(r->n_blockers ? r->n_blockers : 1, sizeof(*v));
	if (!v) {
		free_reply(sm);
		return -ENOMEM;
	}
	for (size_t i = 0; i < r->n_blockers && !err; i++)
		err = blocker_from_wire(&v[i], r->blockers[i]);
	if (err) {
		free(v);
		free_reply(sm);
		return proto_error(pm, "bad blocker record");
	}
	*ret = v;
	*ret_n = r->n_blockers;
	free_reply(sm);
	return 0;
}

/* pagemap_lease_revoke -- LeaseRevoke; answered at the final return of the
 * lease's grants or when @timeout_ms (0: never) expires. */
int
pagemap_lease_revoke(struct pagemap *pm, uint64_t id, uint32_t timeout_ms)
{
	Pagemap__Request req = PAGEMAP__REQUEST__INIT;
	Pagemap__LeaseRevokeRequest body = PAGEMAP__LEASE_REVOKE_REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	int err;

	if (!pm)
		return -EINVAL;
	body.lease_id = id;
	body.timeout_ms = timeout_ms;
	req.body_case = PAGEMAP__REQUEST__BODY_LEASE_REVOKE;
	req.lease_revoke = &body;
	if ((err = transact(pm, &req, &sm)))
		return err;
	free_reply(sm);
	return 0;
}

/* ---- closing ---------------------------------------------------------- */

/* destroy -- unmap and free everything @pm holds. While the connection
 * works the grants and leases are handed back (a lease belongs to the
 * process and would otherwise outlive the connection); once it is broken
 * only local state is undone. */
static void
destroy(struct pagemap *pm)
{
	while (pm->leases) {
		struct pagemap_lease *l = pm->leases;

		while (l->maps) {
			struct pagemap_mapping *m = l->maps;

			if (pagemap_unmap(m) && l->maps == m) {
				/* Could not even unmap: forget it rather
				 * than loop; the memory stays reserved. */
				l->maps = m->next;
				if (m->next)
					m->next->prev = NULL;
				m->rfd->maps--;
				rfd_put(pm, m->rfd);
				free(m->runs);
				free(m);
			}
		}
		/* Raw grants (pagemap_grant()) would keep the lease: give
		 * them back too. */
		if (release_request(l) == -EBUSY &&
		    !unmap_request(l, 0, UINT64_MAX & ~PG_MASK, NULL, false))
			release_request(l);
		lease_free(l);
	}
	while (pm->rfds) {
		struct rfd *r = pm->rfds;

		pm->rfds = r->next;
		rfd_free(r);
	}
	if (pm->spare)
		pmem2_vm_reservation_delete(&pm->spare);
	guess_drop(pm);
	if (pm->fd >= 0)
		close(pm->fd);
	free(pm->q);
	free(pm->rbuf);
	free(pm);
}

/* pagemap_close -- give back and free everything; from inside a handler
 * the work is deferred until pagemap_dispatch() returns. */
void
pagemap_close(struct pagemap *pm)
{
	if (!pm)
		return;
	if (pm->dispatching) {
		pm->close_pending = true;
		return;
	}
	destroy(pm);
}

/* conn.c -- libpagemap's connection: the socket, SEQPACKET packets with
 * SCM_RIGHTS, the request/response engine, connect and close. */
#include "conn.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cache.h"
#include "events.h"
#include "mapping.h"
#include "owner.h"
#include "reconnect.h"
#include "requests.h"

#define CMSG_FDS 8 /* room for stray fds; the kernel drops more */

/* Why this thread's last pagemap_connect() failed, or "": there is no
 * handle to keep it in. */
static _Thread_local char connect_message[512];

/* pagemap_version -- the version the library was built as. */
const char *
pagemap_version(void)
{
	return PAGEMAPD_VERSION_STRING;
}

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

/* pagemap_last_message -- the daemon's text for the last failure on @pm,
 * or this thread's last connect failure. */
const char *
pagemap_last_message(const struct pagemap *pm)
{
	return pm ? pm->message : connect_message;
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

/* set_message -- format the explanation of a failure into pm->message. */
void
set_message(struct pagemap *pm, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(pm->message, sizeof(pm->message), fmt, ap);
	va_end(ap);
}

/* fail -- keep the first error that broke the connection; a daemon that
 * went away is not that (reconnect.c). */
int
fail(struct pagemap *pm, int err)
{
	if (err == -ECONNRESET && !pm->dead) {
		recon_lost(pm);
		return err;
	}
	if (!pm->dead)
		pm->dead = err;
	return err;
}

/* proto_error -- say how the daemon broke the protocol, and give up. */
int
proto_error(struct pagemap *pm, const char *what)
{
	set_message(pm, "protocol error: %s", what);
	return fail(pm, -EPROTO);
}

/* grow -- double the capacity until @add more fit. */
int
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

/* send_request -- pack @req with @id into one packet and send it; a Hello
 * with words_attached carries the word table's memfd. */
static int
send_request(struct pagemap *pm, const struct wire_request *req, uint64_t id)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	uint8_t *buf;
	size_t len;
	ssize_t n;
	int err;

	/* -EMSGSIZE: nothing was sent, the connection is fine. */
	err = wire_request_pack(req, id, pm->limits.max_packet, &buf, &len);
	if (err)
		return err;
	iov = (struct iovec){.iov_base = buf, .iov_len = len};
	if (req->op == WIRE_HELLO && req->words_attached) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		msg.msg_control = ctl.buf;
		msg.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pm->words_fd, sizeof(int));
	}
	do
		n = sendmsg(pm->fd, &msg, MSG_NOSIGNAL);
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
 * Response is a protocol error) with @op; then 0 is returned with the
 * message in *ret and, when @ret_fd is not NULL, the one fd that came
 * with it (or -1) in *ret_fd. Every other fd is closed. */
static int
handle_packet(struct pagemap *pm, struct rx *rx, uint64_t id, enum wire_op op,
	      struct wire_msg *ret, int *ret_fd)
{
	struct wire_msg m;
	const char *why;
	int err;

	if (wire_msg_unpack(pm->rbuf, rx->len, &m, &why)) {
		close_fds(rx);
		return proto_error(pm, why);
	}
	if (m.kind == WIRE_MSG_RECALL) {
		err = events_queue_recall(pm, m.lease_id, m.offset, m.length,
					  m.reason);
		if (!err)
			err = 1;
	} else if (m.error > MAX_ERRNO) {
		err = proto_error(pm, "error code out of range");
	} else if (m.id == 0) {
		/* About the whole connection, e.g. the daemon is closing it. */
		set_message(pm, "%s", m.message);
		err = fail(pm, m.error ? -(int)m.error : -EPROTO);
	} else if (nowait_take(pm, m.id)) {
		/* A lease the daemon no longer knows has no grants (I2):
		 * -ENOENT means there was nothing left to return. */
		if (m.error && m.error != ENOENT && !pm->nowait_err)
			pm->nowait_err = -(int)m.error;
		err = 1;
	} else if (id == 0) {
		err = proto_error(pm, "response with no request in flight");
	} else if (m.id != id) {
		err = proto_error(pm, "response to another request");
	} else if (m.error) {
		set_message(pm, "%s", m.message);
		err = -(int)m.error;
	} else if (m.op != op) {
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
		*ret = m;
		return 0;
	}
out:
	close_fds(rx);
	wire_msg_free(&m);
	return err;
}

static int exchange(struct pagemap *pm, const struct wire_request *req,
		    struct wire_msg *ret, int *ret_fd,
		    void (*overlap)(void *), void *arg);

/* conn_exchange -- one request in flight, events queued meanwhile; the
 * handle's lock makes it one over every thread. */
int
conn_exchange(struct pagemap *pm, const struct wire_request *req,
	      struct wire_msg *ret, int *ret_fd, void (*overlap)(void *),
	      void *arg)
{
	int err;

	pthread_mutex_lock(&pm->lock);
	err = exchange(pm, req, ret, ret_fd, overlap, arg);
	pthread_mutex_unlock(&pm->lock);
	return err;
}

static int
exchange(struct pagemap *pm, const struct wire_request *req,
	 struct wire_msg *ret, int *ret_fd, void (*overlap)(void *), void *arg)
{
	uint64_t id;
	int err;

	if ((err = owner_check(pm)))
		return err;
	if ((err = recon_ready(pm)))
		return err;
	set_message(pm, "%s", "");
	id = pm->next_id++;
	err = send_request(pm, req, id);
	if (err)
		return err;
	if (overlap)
		overlap(arg);
	for (;;) {
		struct rx rx;

		err = recv_packet(pm, 0, &rx);
		if (err)
			return err;
		err = handle_packet(pm, &rx, id, req->op, ret, ret_fd);
		if (err != 1)
			return err;
	}
}

/* conn_transact -- conn_exchange() without an fd or overlap. */
int
conn_transact(struct pagemap *pm, const struct wire_request *req,
	      struct wire_msg *ret)
{
	return conn_exchange(pm, req, ret, NULL, NULL, NULL);
}

/* conn_read_one -- one packet if there is one, without blocking. */
static int
conn_read_one_unlocked(struct pagemap *pm)
{
	struct rx rx;
	int err;

	if ((err = owner_check(pm)))
		return err;
	if ((err = recon_ready(pm)))
		return err;
	err = recv_packet(pm, MSG_DONTWAIT, &rx);
	if (err)
		return err;
	err = handle_packet(pm, &rx, 0, WIRE_NONE, NULL, NULL);
	return err < 0 ? err : 0;
}

int
conn_read_one(struct pagemap *pm)
{
	int err;

	pthread_mutex_lock(&pm->lock);
	err = conn_read_one_unlocked(pm);
	pthread_mutex_unlock(&pm->lock);
	return err;
}

/* conn_await_nowait -- read until at most @n nowait replies are due. */
static int
conn_await_nowait_unlocked(struct pagemap *pm, size_t n)
{
	int err;

	if ((err = owner_check(pm)))
		return err;
	while (pm->nnowait > n) {
		struct rx rx;

		if ((err = recon_ready(pm)))
			return err;
		if ((err = recv_packet(pm, 0, &rx)))
			return err;
		err = handle_packet(pm, &rx, 0, WIRE_NONE, NULL, NULL);
		if (err < 0)
			return err;
	}
	return 0;
}

int
conn_await_nowait(struct pagemap *pm, size_t n)
{
	int err;

	pthread_mutex_lock(&pm->lock);
	err = conn_await_nowait_unlocked(pm, n);
	pthread_mutex_unlock(&pm->lock);
	return err;
}

/* conn_send_nowait -- send and remember the id whose reply is due. */
static int
conn_send_nowait_unlocked(struct pagemap *pm, const struct wire_request *req)
{
	uint64_t id;
	int err;

	/* Bounded, so that replies never pile up unread in the socket (the
	 * daemon stops reading a client whose replies it cannot send). */
	if ((err = conn_await_nowait(pm, NOWAIT_MAX - 1)))
		return err;
	if ((err = recon_ready(pm)))
		return err;
	id = pm->next_id++;
	if ((err = send_request(pm, req, id)))
		return err;
	pm->nowait_ids[pm->nnowait++] = id;
	return 0;
}

int
conn_send_nowait(struct pagemap *pm, const struct wire_request *req)
{
	int err;

	pthread_mutex_lock(&pm->lock);
	err = conn_send_nowait_unlocked(pm, req);
	pthread_mutex_unlock(&pm->lock);
	return err;
}

/* conn_send_oneway -- send without waiting and without a reply due. */
static int
conn_send_oneway_unlocked(struct pagemap *pm, const struct wire_request *req)
{
	int err;

	if ((err = recon_ready(pm)))
		return err;
	return send_request(pm, req, pm->next_id++);
}

int
conn_send_oneway(struct pagemap *pm, const struct wire_request *req)
{
	int err;

	pthread_mutex_lock(&pm->lock);
	err = conn_send_oneway_unlocked(pm, req);
	pthread_mutex_unlock(&pm->lock);
	return err;
}

/* pagemap_flush -- wait for every pagemap_unmap_nowait() reply. */
int
pagemap_flush(struct pagemap *pm)
{
	int err;

	if (!pm)
		return -EINVAL;
	err = conn_await_nowait(pm, 0);
	/* Away: the reconcile returns what their replies would have told. */
	if (err == -ENOTCONN || (err == -ECONNRESET && !pm->dead))
		err = 0;
	if (!err) {
		err = pm->nowait_err;
		pm->nowait_err = 0;
	}
	return err;
}

/* ---- connection ------------------------------------------------------- */

/* conn_handshake -- Hello with CAP_RECONNECT, CAP_BLOCKER_FIELDS,
 * CAP_CACHED_GRANTS, CAP_LISTING_HIDDEN and our token (and our word table,
 * if we have one), then adopt the daemon's limits and token and grow the
 * receive buffer to its max_packet. */
int
conn_handshake(struct pagemap *pm, uint32_t *ret_adopted)
{
	struct wire_request req = {
		.op = WIRE_HELLO,
		.version = PAGEMAP_PROTOCOL_VERSION,
		.client_name = pm->name,
		.capabilities = WIRE_CAP_RECONNECT | WIRE_CAP_BLOCKER_FIELDS |
				WIRE_CAP_CACHED_GRANTS |
				WIRE_CAP_LISTING_HIDDEN,
		.token = pm->token,
	};
	struct wire_msg m;
	struct wire_hello h;
	uint8_t *buf;
	int err;

	/* A daemon that restarted adopts the table it finds here (its pin
	 * tables name our grants' words), and our cached grants stay so. */
	if (pm->words && pm->words_fd >= 0 && pm->words_id) {
		req.words_attached = true;
		req.words_id = pm->words_id;
	}

	err = conn_transact(pm, &req, &m);
	if (err)
		return err;
	wire_hello(&m, &h);
	if (h.version != PAGEMAP_PROTOCOL_VERSION)
		err = -EPROTONOSUPPORT;
	else if (!h.has_limits || h.limits.max_packet < MIN_MAX_PACKET ||
		 h.limits.max_packet > MAX_MAX_PACKET)
		err = -EPROTO;
	else
		err = copy_str(pm->server, sizeof(pm->server), h.server);
	if (err) {
		wire_msg_free(&m);
		return err;
	}
	pm->client_id = h.client_id;
	/* A daemon without CAP_RECONNECT sends no token: a later Hello
	 * without one still takes back the leases of this process. */
	pm->token = (h.capabilities & WIRE_CAP_RECONNECT) ? h.token : 0;
	*ret_adopted = h.leases_adopted;
	pm->limits = h.limits;
	pm->limits.struct_size = sizeof(pm->limits);
	pm->cached_caps = (h.capabilities & WIRE_CAP_CACHED_GRANTS) != 0;
	cache_hello(pm, pm->cached_caps ? h.words_id : 0);
	wire_msg_free(&m);
	buf = realloc(pm->rbuf, (size_t)pm->limits.max_packet + 1);
	if (!buf)
		return -ENOMEM;
	pm->rbuf = buf;
	return 0;
}

/* conn_socket -- a connected SOCK_SEQPACKET socket to @path. */
int
conn_socket(const char *path, int *ret_fd)
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

/* connect_failed -- keep "@what @path: reason@hint" for
 * pagemap_last_message(NULL); a daemon's message (@hint) is quoted. */
static void
connect_failed(const char *path, const char *what, int err, const char *hint)
{
	bool quote = *hint && hint[0] != ' ';

	snprintf(connect_message, sizeof(connect_message), "%s %s: %s%s%s",
		 what, path, pagemap_strerror(err), quote ? ": " : "", hint);
}

/* pagemap_connect -- connect and handshake; *ret untouched on failure. */
int
pagemap_connect(const char *socket_path, const char *client_name,
		struct pagemap **ret)
{

	const char *path = socket_path ? socket_path : pagemap_default_socket();
	struct pagemap *pm;
	uint32_t adopted;
	int err;

	connect_message[0] = '\0';
	if (!ret) {
		connect_failed(path, "connect", -EINVAL, "");
		return -EINVAL;
	}
	pm = calloc(1, sizeof(*pm));
	if (!pm) {
		connect_failed(path, "connect", -ENOMEM, "");
		return -ENOMEM;
	}
	pm->pid = getpid();
	pm->fd = -1;
	pm->words_fd = -1;
	pm->next_id = 1;
	{
		pthread_mutexattr_t a;

		pthread_mutexattr_init(&a);
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
		pthread_mutex_init(&pm->lock, &a);
		pthread_mutexattr_destroy(&a);
	}
	err = owner_register(pm);
	if (err) {
		connect_failed(path, "connect", err, "");
		free(pm);
		return err;
	}
	pm->limits.max_packet = HANDSHAKE_MAX_PACKET;
	pm->limits.struct_size = sizeof(pm->limits);
	pm->rbuf = malloc(HANDSHAKE_MAX_PACKET + 1);
	if (!pm->rbuf) {
		err = -ENOMEM;
		connect_failed(path, "connect", err, "");
		goto fail;
	}
	err = recon_init(pm, path,
			 client_name ? client_name
				     : program_invocation_short_name);
	if (err) {
		connect_failed(path, "connect", err, "");
		goto fail;
	}
	err = conn_socket(path, &pm->fd);
	if (err) {
		connect_failed(path, "connect", err,
			       err == -ENOENT || err == -ECONNREFUSED
				       ? " (is pagemapd running?)"
				       : "");
		goto fail;
	}
	err = conn_handshake(pm, &adopted);
	if (!err && pm->down)
		err = -ECONNRESET; /* gone during the handshake */
	if (err) {
		connect_failed(path, "handshake with", err, pm->message);
		goto fail;
	}
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
	return pm && !owner_inherited(pm) ? pm->fd : -1;
}

/* ---- closing ---------------------------------------------------------- */

/* conn_destroy -- unmap and free everything @pm holds. While the
 * connection works the grants and leases are handed back (a lease belongs
 * to the process and would otherwise outlive the connection); once it is
 * broken only local state is undone. */
void
conn_destroy(struct pagemap *pm)
{
	/* Closing never waits for a daemon that is away: its pins go with
	 * the process, or with a reconnect of it that never comes. */
	owner_unregister(pm);
	pm->no_reconnect = true;
	while (pm->leases) {
		struct pagemap_lease *l = pm->leases;

		while (l->maps)
			mapping_destroy(l->maps);
		/* Raw grants (pagemap_grant()) would keep the lease: give
		 * them back too. */
		if (req_release(l) == -EBUSY &&
		    !req_unmap(l, 0, UINT64_MAX & ~PG_MASK, NULL, false))
			req_release(l);
		lease_free(l);
	}
	mapping_cleanup(pm);
	cache_cleanup(pm);
	if (pm->fd >= 0)
		close(pm->fd);
	recon_free(pm);
	free(pm->q);
	free(pm->rbuf);
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

/* pagemap_close -- give back and free everything; from inside a handler
 * the work is deferred until pagemap_dispatch() returns. In a process
 * that did not make @pm, only its memory is freed. */
void
pagemap_close(struct pagemap *pm)
{
	if (!pm)
		return;
	if (owner_inherited(pm)) {
		owner_forget(pm);
		return;
	}
	if (pm->dispatching) {
		pm->close_pending = true;
		return;
	}
	conn_destroy(pm);
}

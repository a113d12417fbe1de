/* ipc.c -- the socket: listening, SEQPACKET framing, fds, peer identity.
 *
 * libuv has no SOCK_SEQPACKET support and uv_write2 cannot pass a regular
 * fd, so the socket is driven by a uv_poll_t and our own recvmsg/sendmsg
 * (wayland's connection.c is the model). Each wakeup drains the socket up
 * to a batch bound: one packet per wakeup costs a third of the throughput.
 * Any fd a client sends is closed at once, but one alone on a connection's
 * first packet, which goes to the owner with it (a Hello handing back the
 * process's word table after a daemon restart; session.c closes it unless
 * the Hello announced it), and a truncated packet or control message is a
 * framing error, never a crash.
 *
 * Every packet carries its sender's credentials (SO_PASSCRED, set on the
 * listening socket so that an accepted one has it from its first packet):
 * a connection is inherited across fork(), and only the sender's pid says
 * which process a request came from. ipc.c reports it; session.c decides.
 * SO_PASSPIDFD (Linux 6.5) is not used: it installs a pidfd in the daemon
 * with every packet, a close per request on the hot path, while a pid
 * reused after the opener's exit is covered by refusing everything once
 * the opener's pidfd has fired (session.c).
 */
#include "ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "account.h"

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5; missing from Debian 12's headers */
#endif

#define RECV_BATCH 64 /* packets per wakeup before yielding to others */
#define MAX_RECV_FDS 8 /* room for fds we will only close */

static int
pidfd_for(int fd, pid_t pid)
{
	int pidfd;
	socklen_t len = sizeof(pidfd);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) == 0)
		return pidfd;
	/* Older kernels: pidfd_open can race with pid reuse, but the peer
	 * is still connected here, so its pid cannot have been reused. */
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return pidfd >= 0 ? pidfd : -1;
}

static void
read_comm(pid_t pid, char *comm, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(comm, len, "?");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = read(fd, comm, len - 1);
	close(fd);
	if (n <= 0) {
		snprintf(comm, len, "?");
		return;
	}
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

static int
read_peer(int fd, struct ipc_peer *p)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	p->pid = cred.pid;
	p->uid = cred.uid;
	p->gid = cred.gid;
	len = sizeof(p->groups);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, p->groups, &len) == 0)
		p->ngroups = (int)(len / sizeof(gid_t));
	else
		p->ngroups = 0; /* too many groups: judge by primary only */
	p->pidfd = pidfd_for(fd, cred.pid);
	read_comm(cred.pid, p->comm, sizeof(p->comm));
	return 0;
}

/* pass_creds -- have the kernel attach the sender's credentials
 * (SCM_CREDENTIALS) to every packet @fd receives. An accepted socket
 * inherits the option from its listener at accept, before any packet can
 * be read from it. */
static int
pass_creds(int fd)
{
	int on = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) < 0)
		return -errno;
	return 0;
}

static void on_poll(uv_poll_t *h, int status, int events);
static void throttle(struct ipc_conn *c);

/* room -- how many more requests @c may be read: one per reply its
 * queue, and its process's and uid's room for queued bytes, can take at
 * the largest (a reply is at most max_packet bytes). */
static size_t
room(const struct ipc_conn *c)
{
	size_t n =
		c->out_count < c->out_limit ? c->out_limit - c->out_count : 0;
	uint64_t bytes, k;

	if (n == 0 || c->proc == NULL)
		return n;
	bytes = account_room(c->acct, c->proc, ACCT_QUEUED, NULL);
	k = bytes / ((uint64_t)c->max_packet + sizeof(struct ipc_out));
	/* Past that room, a connection whose replies have all been read
	 * still gets one request at a time: a process (or a sibling) that
	 * never reads holds back itself, not the clients that do. The one
	 * reply it may queue beyond the room is priced in a connection's
	 * cost (ACCT_COST_CONN). */
	if (k == 0 && c->out_count == 0)
		k = 1;
	return k < n ? (size_t)k : n;
}

static void
update_events(struct ipc_conn *c)
{
	int events = UV_DISCONNECT;

	if (c->closing)
		return;
	if (!c->broken) {
		if (room(c))
			events |= UV_READABLE;
		else if (c->out_count < c->out_limit)
			throttle(c); /* held by its process's or uid's room */
	}
	if (c->out_head)
		events |= UV_WRITABLE;
	uv_poll_start(&c->poll, events, on_poll);
}

/* charge -- @c queues (@sign 1) or lets go of (-1) packet @o. */
static void
charge(struct ipc_conn *c, const struct ipc_out *o, int sign)
{
	uint64_t bytes = sizeof(*o) + o->len;

	if (c->proc == NULL)
		return;
	if (sign > 0) {
		account_charge(c->acct, c->proc, ACCT_PENDING, 1);
		account_charge(c->acct, c->proc, ACCT_QUEUED, bytes);
	} else {
		account_uncharge(c->acct, c->proc, ACCT_PENDING, 1);
		account_uncharge(c->acct, c->proc, ACCT_QUEUED, bytes);
	}
}

/* send_one -- 0 sent, -EAGAIN full, other -errno fatal. */
static int
send_one(int fd, const void *buf, size_t len, int pass_fd)
{
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	do
		n = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

/* flush -- send queued packets until the socket is full. */
static int
flush(struct ipc_conn *c)
{
	size_t sent = 0;
	int rv = 0;

	while (c->out_head) {
		struct ipc_out *o = c->out_head;

		rv = send_one(c->fd, o->data, o->len, o->fd);
		if (rv == -EAGAIN) {
			rv = 0;
			break;
		}
		if (rv < 0)
			break;
		c->out_head = o->next;
		if (c->out_head == NULL)
			c->out_tail = NULL;
		c->out_count--;
		charge(c, o, -1);
		free(o);
		sent++;
	}
	/* Room came back for this process and uid: its other connections
	 * held for it may be read again. */
	if (sent && c->proc)
		ipc_rx_resume(c->rx);
	return rv;
}

int
ipc_send(struct ipc_conn *c, const void *buf, size_t len, int pass_fd)
{
	struct ipc_out *o;
	int rv;

	if (c->closing)
		return -EPIPE;
	if (len > c->max_packet)
		return -EMSGSIZE;
	if (c->out_head == NULL) {
		rv = send_one(c->fd, buf, len, pass_fd);
		if (rv == 0)
			return 0;
		if (rv != -EAGAIN)
			return rv == -EMSGSIZE ? rv : -EPIPE;
	}
	o = malloc(sizeof(*o) + len);
	if (o == NULL)
		return -ENOMEM;
	o->next = NULL;
	o->len = len;
	o->fd = pass_fd;
	memcpy(o->data, buf, len);
	charge(c, o, 1);
	if (c->out_tail)
		c->out_tail->next = o;
	else
		c->out_head = o;
	c->out_tail = o;
	c->out_count++;
	update_events(c);
	return 0;
}

static void
close_fds(struct msghdr *msg)
{
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm;
	     cm = CMSG_NXTHDR(msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(fd));
			close(fd);
		}
	}
}

/* sender_of -- the pid of @msg's sender (0 when the kernel gave none, or
 * the sender's pid is not visible in our pid namespace); false when the
 * packet came with anything but credentials (its fds are then closed),
 * except one fd alone when @ret_fd is not NULL: that one is the caller's
 * in *ret_fd (-1: none). */
static bool
sender_of(struct msghdr *msg, pid_t *ret_pid, int *ret_fd)
{
	bool ok = !(msg->msg_flags & MSG_CTRUNC);
	int nfds = 0, fd = -1;

	*ret_pid = 0;
	if (ret_fd)
		*ret_fd = -1;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm;
	     cm = CMSG_NXTHDR(msg, cm)) {
		struct ucred cred;

		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(cred))) {
			memcpy(&cred, CMSG_DATA(cm), sizeof(cred));
			*ret_pid = cred.pid;
			continue;
		}
		if (ret_fd && cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)) && nfds++ == 0) {
			memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
			continue;
		}
		ok = false;
	}
	if (!ok) {
		close_fds(msg);
		return false;
	}
	if (ret_fd)
		*ret_fd = fd;
	return true;
}

static bool
peer_hung_up(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLRDHUP};

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP));
}

static void
framing_error(struct ipc_conn *c, int err, const char *why)
{
	c->broken = true;
	update_events(c);
	c->on_error(c, err, why);
}

/* The receive buffers of a loop: its one thread reads, and every packet
 * is handled (and forgotten) before the next read, so all its connections
 * share RECV_BATCH slots of max_packet + 1 bytes (an oversized packet
 * shows). Only the pages that packets reach are ever touched. Each slot's
 * control buffer holds the expected credentials and room for fds we will
 * only close. */
union ctl {
	char buf[CMSG_SPACE(sizeof(struct ucred)) +
		 CMSG_SPACE(MAX_RECV_FDS * sizeof(int))];
	struct cmsghdr align;
};

struct ipc_rx {
	struct list_node throttled; /* ipc_conn.throttle_node */
	uint32_t nconns;	    /* connections using it */
	/* ipc_rx_free() was called: freed with the last connection. */
	bool dropped;
	uint8_t *buf;
	size_t slot; /* bytes per slot */
	union ctl ctl[RECV_BATCH];
	struct iovec iov[RECV_BATCH];
	struct mmsghdr mm[RECV_BATCH];
};

int
ipc_rx_new(struct ipc_rx **ret)
{
	struct ipc_rx *rx = calloc(1, sizeof(*rx));

	if (rx == NULL)
		return -ENOMEM;
	list_init(&rx->throttled);
	*ret = rx;
	return 0;
}

static void
rx_free(struct ipc_rx *rx)
{
	free(rx->buf);
	free(rx);
}

void
ipc_rx_free(struct ipc_rx **prx)
{
	struct ipc_rx *rx = *prx;

	if (rx == NULL)
		return;
	*prx = NULL;
	if (rx->nconns) {
		rx->dropped = true;
		return;
	}
	rx_free(rx);
}

static void
throttle(struct ipc_conn *c)
{
	if (list_empty(&c->throttle_node))
		list_add_tail(&c->rx->throttled, &c->throttle_node);
}

void
ipc_rx_resume(struct ipc_rx *rx)
{
	struct list_node *pos, *n;

	list_for_each(pos, n, &rx->throttled) {
		struct ipc_conn *c = list_entry(pos, struct ipc_conn,
						throttle_node);

		if (c->closing || room(c)) {
			list_del(&c->throttle_node);
			update_events(c);
		}
	}
}

static int
rx_reserve(struct ipc_rx *rx, uint32_t max_packet)
{
	size_t slot = (size_t)max_packet + 1;
	uint8_t *buf;

	if (rx->buf && rx->slot >= slot)
		return 0;
	buf = malloc(slot * RECV_BATCH);
	if (buf == NULL)
		return -ENOMEM;
	free(rx->buf);
	rx->buf = buf;
	rx->slot = slot;
	return 0;
}

/* drain -- read up to RECV_BATCH packets with one recvmmsg(): for a
 * request/reply client that is one syscall per wakeup where recvmsg
 * until EAGAIN takes two. */
static void
drain(struct ipc_conn *c)
{
	struct ipc_rx *rx = c->rx;
	union ctl *ctl = rx->ctl;
	struct iovec *iov = rx->iov;
	struct mmsghdr *mm = rx->mm;
	unsigned want = RECV_BATCH;
	int n;

	if (c->closing || c->broken)
		return;
	/* A client that does not read its replies is read no further than
	 * its queue, and its process's and uid's room for replies, allow. */
	if (room(c) < want)
		want = (unsigned)room(c);
	if (want == 0) {
		update_events(c);
		return;
	}
	for (unsigned i = 0; i < want; i++) {
		iov[i] = (struct iovec){.iov_base = rx->buf + i * rx->slot,
					.iov_len = (size_t)c->max_packet + 1};
		mm[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i],
						.msg_iovlen = 1,
						.msg_control = ctl[i].buf,
						.msg_controllen =
							sizeof(ctl[i].buf)};
	}
	do
		n = recvmmsg(c->fd, mm, want, MSG_DONTWAIT | MSG_CMSG_CLOEXEC,
			     NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			ipc_close(c);
		return;
	}
	for (int i = 0; i < n; i++) {
		struct msghdr *msg = &mm[i].msg_hdr;
		size_t len = mm[i].msg_len;
		pid_t sender;
		int fd = -1;

		if (c->closing || c->broken) {
			close_fds(msg); /* what was read after the end */
			continue;
		}
		/* One fd, on the first packet only (a Hello handing back
		 * a word table); the owner judges whether it was asked for. */
		if (!sender_of(msg, &sender, c->first_seen ? NULL : &fd)) {
			framing_error(c, EBADMSG,
				      "unexpected file descriptor or control "
				      "message from client");
			continue;
		}
		if ((msg->msg_flags & MSG_TRUNC) || len > c->max_packet) {
			if (fd >= 0)
				close(fd);
			framing_error(c, EMSGSIZE, "packet exceeds max_packet");
			continue;
		}
		/* On SEQPACKET a zero-length packet and EOF both read as 0
		 * bytes; only the hang-up state tells them apart. */
		if (len == 0 && peer_hung_up(c->fd)) {
			if (fd >= 0)
				close(fd);
			ipc_close(c);
			continue;
		}
		c->first_seen = true;
		c->on_packet(c, iov[i].iov_base, len, sender, fd);
		fd = -1;
	}
}

static void
on_poll(uv_poll_t *h, int status, int events)
{
	struct ipc_conn *c = h->data;

	if (status < 0) {
		ipc_close(c);
		return;
	}
	if (events & UV_WRITABLE) {
		if (flush(c) < 0) {
			ipc_close(c);
			return;
		}
		update_events(c);
	}
	if (events & (UV_READABLE | UV_DISCONNECT))
		drain(c);
	/* A hang-up with nothing left to read ends the connection. */
	if (!c->closing && (events & UV_DISCONNECT) && c->broken)
		ipc_close(c);
}

int
ipc_conn_open(uv_loop_t *loop, struct ipc_conn *c, struct ipc_rx *rx,
	      int fd, uint32_t max_packet, size_t out_limit)
{
	int rv;

	c->fd = fd;
	c->rx = rx;
	list_init(&c->node);
	list_init(&c->greet_node);
	list_init(&c->throttle_node);
	c->peer.pidfd = -1;
	c->max_packet = max_packet;
	c->out_limit = out_limit;
	rv = read_peer(fd, &c->peer);
	if (rv < 0)
		goto err_close;
	/* Inherited from the listener already; set again for a listener we
	 * did not make (an fd from systemd whose unit lacks
	 * PassCredentials=yes, set by ipc_listen() too). */
	rv = pass_creds(fd);
	if (rv < 0)
		goto err_pidfd;
	rv = rx_reserve(rx, max_packet);
	if (rv < 0)
		goto err_pidfd;
	rv = uv_poll_init(loop, &c->poll, fd);
	if (rv < 0)
		goto err_pidfd;
	c->poll.data = c;
	uv_poll_start(&c->poll, UV_READABLE | UV_DISCONNECT, on_poll);
	rx->nconns++;
	return 0;

err_pidfd:
	if (c->peer.pidfd >= 0)
		close(c->peer.pidfd);
	c->peer.pidfd = -1;
err_close:
	close(fd);
	c->fd = -1;
	return rv;
}

static void
on_closed(uv_handle_t *h)
{
	struct ipc_conn *c = h->data;
	struct ipc_rx *rx = c->rx;
	bool freed = c->out_head != NULL;

	while (c->out_head) {
		struct ipc_out *o = c->out_head;
		c->out_head = o->next;
		charge(c, o, -1);
		free(o);
	}
	c->out_tail = NULL;
	c->out_count = 0;
	if (freed && c->proc)
		ipc_rx_resume(rx);
	if (--rx->nconns == 0 && rx->dropped)
		rx_free(rx);
	/* Unlink before close is not a concern here; close the socket only
	 * after libuv has stopped polling it. */
	close(c->fd);
	c->fd = -1;
	if (c->peer.pidfd >= 0)
		close(c->peer.pidfd);
	c->peer.pidfd = -1;
	c->on_close(c);
}

void
ipc_close(struct ipc_conn *c)
{
	if (c->closing)
		return;
	(void)flush(c);
	c->closing = true;
	list_del(&c->throttle_node);
	uv_poll_stop(&c->poll);
	uv_close((uv_handle_t *)&c->poll, on_closed);
}

/* ---- listening --------------------------------------------------------- */

static void on_accept(uv_poll_t *h, int status, int events);

static void
resume_accepting(uv_timer_t *t)
{
	struct ipc_listener *l = t->data;

	uv_poll_start(&l->poll, UV_READABLE, on_accept);
}

/* pause_accepting -- out of descriptors or memory: the connection waiting
 * in the backlog keeps the listener readable, so polling it now would
 * wake the loop again at once and pin a core. Stop polling it for a while
 * instead; clients wait in the backlog meanwhile. */
static void
pause_accepting(struct ipc_listener *l, int err)
{
	uv_poll_stop(&l->poll);
	uv_timer_start(&l->backoff, resume_accepting, IPC_ACCEPT_BACKOFF_MS, 0);
	if (l->on_pause)
		l->on_pause(l, err);
}

static void
on_accept(uv_poll_t *h, int status, int events)
{
	struct ipc_listener *l = h->data;

	(void)events;
	if (status < 0)
		return;
	for (int i = 0; i < RECV_BATCH; i++) {
		int fd = accept4(l->fd, NULL, NULL,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			l->on_connection(l, fd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			pause_accepting(l, errno);
		return; /* EAGAIN: the backlog is empty */
	}
}

int
ipc_peer_uid(int fd, uid_t *ret_uid)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	*ret_uid = cred.uid;
	return 0;
}

void
ipc_refuse(int fd, const void *buf, size_t len)
{
	union ctl ctl;
	uint8_t scrap[256];

	(void)send_one(fd, buf, len, -1);
	/* Closing a Unix socket with unread packets makes the peer's next
	 * read fail with ECONNRESET before it reads our reply: drop what
	 * it sent so far (its Hello), closing any fd that came with it. */
	for (int i = 0; i < 4; i++) {
		struct iovec iov = {.iov_base = scrap,
				    .iov_len = sizeof(scrap)};
		struct msghdr msg = {.msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctl.buf,
				     .msg_controllen = sizeof(ctl.buf)};

		if (recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) < 0)
			break;
		close_fds(&msg);
	}
	close(fd);
}

int
ipc_mkdir_parents(const char *path)
{
	char buf[108];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	p = strrchr(buf, '/');
	if (p == NULL || p == buf)
		return 0;
	*p = '\0';
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* systemd_fd -- the listening socket passed by socket activation, or -1. */
static int
systemd_fd(void)
{
	const char *pid = getenv("LISTEN_PID");
	const char *fds = getenv("LISTEN_FDS");
	int type;
	socklen_t len = sizeof(type);

	if (pid == NULL || fds == NULL || atoi(pid) != getpid() ||
	    atoi(fds) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (getsockopt(3, SOL_SOCKET, SO_TYPE, &type, &len) < 0 ||
	    type != SOCK_SEQPACKET)
		return -1;
	fcntl(3, F_SETFD, FD_CLOEXEC);
	fcntl(3, F_SETFL, fcntl(3, F_GETFL) | O_NONBLOCK);
	return 3;
}

static int
bind_path(int fd, const char *path, char *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int probe;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	if (errno != EADDRINUSE) {
		snprintf(err, 256, "bind %s: %s", path, strerror(errno));
		return -errno;
	}
	/* A socket file exists: if a daemon answers on it, it is not ours to
	 * take; if nobody does, it is stale and can go. */
	probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (probe >= 0 &&
	    connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(probe);
		snprintf(err, 256, "%s: another pagemapd is listening there",
			 path);
		return -EADDRINUSE;
	}
	if (probe >= 0)
		close(probe);
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		snprintf(err, 256, "bind %s: %s", path, strerror(errno));
		return -errno;
	}
	return 0;
}

int
ipc_listen(uv_loop_t *loop, struct ipc_listener *l, const char *path,
	   unsigned mode, char *err)
{
	int fd, rv;

	l->fd = -1;
	l->owns_path = false;
	snprintf(l->path, sizeof(l->path), "%s", path);
	fd = systemd_fd();
	if (fd >= 0)
		snprintf(l->path, sizeof(l->path), "the socket from systemd "
			 "(fd %d)", fd);
	if (fd < 0) {
		if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
			snprintf(err, 256, "socket path too long: %s", path);
			return -ENAMETOOLONG;
		}
		rv = ipc_mkdir_parents(path);
		if (rv < 0) {
			snprintf(err, 256, "cannot create the directory of %s: %s",
				 path, strerror(-rv));
			return rv;
		}
		fd = socket(AF_UNIX,
			    SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, 256, "socket: %s", strerror(errno));
			return -errno;
		}
		rv = bind_path(fd, path, err);
		if (rv < 0)
			goto err_close;
		l->owns_path = true;
		if (chmod(path, mode) < 0 || listen(fd, 128) < 0) {
			rv = -errno;
			snprintf(err, 256, "listen %s: %s", path, strerror(-rv));
			goto err_unlink;
		}
	}
	/* Before the first accept: every accepted socket then has it. */
	rv = pass_creds(fd);
	if (rv < 0) {
		snprintf(err, 256, "SO_PASSCRED: %s", strerror(-rv));
		goto err_unlink;
	}
	l->fd = fd;
	rv = uv_poll_init(loop, &l->poll, fd);
	if (rv < 0) {
		snprintf(err, 256, "uv_poll_init: %s", uv_strerror(rv));
		goto err_unlink;
	}
	l->poll.data = l;
	uv_timer_init(loop, &l->backoff);
	l->backoff.data = l;
	uv_poll_start(&l->poll, UV_READABLE, on_accept);
	return 0;

err_unlink:
	if (l->owns_path)
		unlink(path);
	l->owns_path = false;
err_close:
	close(fd);
	l->fd = -1;
	return rv;
}

static void
on_listener_closed(uv_handle_t *h)
{
	struct ipc_listener *l = h->data;

	close(l->fd);
	l->fd = -1;
}

void
ipc_listener_close(struct ipc_listener *l)
{
	if (l->fd < 0 || uv_is_closing((uv_handle_t *)&l->poll))
		return;
	/* Unlink first: a client connecting from now on gets ECONNREFUSED
	 * instead of a socket nobody will accept on. */
	if (l->owns_path)
		unlink(l->path);
	l->owns_path = false;
	uv_poll_stop(&l->poll);
	uv_close((uv_handle_t *)&l->backoff, NULL);
	uv_close((uv_handle_t *)&l->poll, on_listener_closed);
}

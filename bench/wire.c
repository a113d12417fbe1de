/* wire.c -- the pagemapd protocol spoken directly, for pipelining. */
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "bench.h"
#include "pagemap.pb-c.h"

#define MAX_PACKET 65536

/* send_req -- pack and send @rq. 0 or -1. */
static int
send_req(int fd, const Pagemap__Request *rq)
{
	uint8_t buf[1024];
	size_t n = pagemap__request__get_packed_size(rq);

	if (n > sizeof(buf))
		return -1;
	pagemap__request__pack(rq, buf);
	if (send(fd, buf, n, MSG_NOSIGNAL) != (ssize_t)n) {
		say("send: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* recv_reply -- the next packet, unpacked, must be a successful Response
 * to @id; an fd that comes with it is closed. NULL after saying why. */
static Pagemap__ServerMessage *
recv_reply(int fd, uint64_t id)
{
	static uint8_t buf[MAX_PACKET + 1];
	union {
		char b[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.b,
			     .msg_controllen = sizeof(u.b)};
	Pagemap__ServerMessage *sm;
	ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);

	if (n <= 0) {
		say("recv: %s", n ? strerror(errno) : "connection closed");
		return NULL;
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
	     c = CMSG_NXTHDR(&msg, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; c->cmsg_type == SCM_RIGHTS && i < k; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int),
			       sizeof(got));
			close(got);
		}
	}
	if (wire_check(buf, (size_t)n, id))
		return NULL;
	sm = pagemap__server_message__unpack(NULL, (size_t)n, buf);
	return sm;
}

int
wire_connect(const char *path, int *ret_fd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__Hello h = PAGEMAP__HELLO__INIT;
	Pagemap__ServerMessage *sm;
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path)) {
		say("socket: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		say("connect %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	h.version = 1;
	h.client_name = (char *)"pagemap-bench";
	rq.id = 1;
	rq.body_case = PAGEMAP__REQUEST__BODY_HELLO;
	rq.hello = &h;
	if (send_req(fd, &rq) || (sm = recv_reply(fd, 1)) == NULL) {
		close(fd);
		return -1;
	}
	pagemap__server_message__free_unpacked(sm, NULL);
	*ret_fd = fd;
	return 0;
}

int
wire_lease(int fd, uint64_t id, const char *region, const char *name,
	   uint64_t *ret_lease)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__LeaseAcquireRequest la = PAGEMAP__LEASE_ACQUIRE_REQUEST__INIT;
	Pagemap__ServerMessage *sm;

	la.region = (char *)region;
	la.name = (char *)name;
	la.access = PAGEMAP__ACCESS__ACCESS_READ;
	rq.id = id;
	rq.body_case = PAGEMAP__REQUEST__BODY_LEASE_ACQUIRE;
	rq.lease_acquire = &la;
	if (send_req(fd, &rq) || (sm = recv_reply(fd, id)) == NULL)
		return -1;
	if (sm->response->body_case != PAGEMAP__RESPONSE__BODY_LEASE_ACQUIRE) {
		say("lease: reply of the wrong kind");
		pagemap__server_message__free_unpacked(sm, NULL);
		return -1;
	}
	*ret_lease = sm->response->lease_acquire->lease_id;
	pagemap__server_message__free_unpacked(sm, NULL);
	return 0;
}

static ssize_t
pack(uint8_t *buf, size_t cap, const Pagemap__Request *rq)
{
	size_t n = pagemap__request__get_packed_size(rq);

	if (n > cap)
		return -1;
	return (ssize_t)pagemap__request__pack(rq, buf);
}

ssize_t
wire_pack_map(uint8_t *buf, size_t cap, uint64_t id, uint64_t lease,
	      uint64_t offset, uint64_t length)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__MapRequest m = PAGEMAP__MAP_REQUEST__INIT;

	m.lease_id = lease;
	m.offset = offset;
	m.length = length;
	m.access = PAGEMAP__ACCESS__ACCESS_READ;
	rq.id = id;
	rq.body_case = PAGEMAP__REQUEST__BODY_MAP;
	rq.map = &m;
	return pack(buf, cap, &rq);
}

ssize_t
wire_pack_unmap(uint8_t *buf, size_t cap, uint64_t id, uint64_t lease,
		uint64_t offset, uint64_t length)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__UnmapRequest u = PAGEMAP__UNMAP_REQUEST__INIT;

	u.lease_id = lease;
	u.offset = offset;
	u.length = length;
	rq.id = id;
	rq.body_case = PAGEMAP__REQUEST__BODY_UNMAP;
	rq.unmap = &u;
	return pack(buf, cap, &rq);
}

int
wire_check(const uint8_t *buf, size_t len, uint64_t id)
{
	Pagemap__ServerMessage *sm =
		pagemap__server_message__unpack(NULL, len, buf);
	int rc = -1;

	if (sm == NULL) {
		say("unpackable reply");
		return -1;
	}
	if (sm->msg_case != PAGEMAP__SERVER_MESSAGE__MSG_RESPONSE)
		say("an event where reply %llu was due",
		    (unsigned long long)id);
	else if (sm->response->id != id)
		say("reply %llu where %llu was due",
		    (unsigned long long)sm->response->id,
		    (unsigned long long)id);
	else if (sm->response->error)
		say("request %llu failed: %s (%s)", (unsigned long long)id,
		    strerror((int)sm->response->error),
		    sm->response->message ? sm->response->message : "");
	else
		rc = 0;
	pagemap__server_message__free_unpacked(sm, NULL);
	return rc;
}

/* rawclient.c -- the pagemapd protocol spoken by hand, without libpagemap. */
#include "rawclient.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define WAIT_MS 10000
#define MAX_FDS 4 /* fds taken from one packet; the daemon sends one */

int
raw_open(const char *path, const char *hello_name)
{
	return raw_open_caps(path, hello_name, 0);
}

int
raw_open_caps(const char *path, const char *hello_name, uint64_t caps)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	Pagemap__ServerMessage *sm;
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto close_fd;
	}
	if (hello_name) {
		Pagemap__Request rq;
		Pagemap__Hello h;

		raw_req_hello(&rq, &h, 1, hello_name);
		h.capabilities = caps;
		rq.id = 1;
		rc = raw_send_request(fd, &rq);
		if (rc == 0)
			rc = raw_recv(fd, WAIT_MS, NULL, &sm);
		if (rc < 0)
			goto close_fd;
		if (sm->msg_case != PAGEMAP__SERVER_MESSAGE__MSG_RESPONSE ||
		    sm->response->error)
			rc = -EPROTO;
		pagemap__server_message__free_unpacked(sm, NULL);
		if (rc < 0)
			goto close_fd;
	}
	return fd;
close_fd:
	close(fd);
	return rc;
}

ssize_t
raw_pack(const Pagemap__Request *rq, uint8_t *buf, size_t cap)
{
	size_t n = pagemap__request__get_packed_size(rq);

	if (n > cap)
		return -EMSGSIZE;
	return (ssize_t)pagemap__request__pack(rq, buf);
}

int
raw_send_request(int fd, const Pagemap__Request *rq)
{
	static uint8_t buf[RAW_MAX_PACKET];
	ssize_t n = raw_pack(rq, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	/* SEQPACKET sends whole packets or nothing. */
	if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
		return -errno;
	return 0;
}

/* take_fds -- keep the first fd of @msg in *ret_fd when asked, close the
 * others. */
static void
take_fds(struct msghdr *msg, int *ret_fd)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c;
	     c = CMSG_NXTHDR(msg, c)) {
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		for (size_t i = 0; c->cmsg_type == SCM_RIGHTS && i < k; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int),
			       sizeof(got));
			if (ret_fd && *ret_fd < 0)
				*ret_fd = got;
			else
				close(got);
		}
	}
}

int
raw_recv(int fd, int ms, int *ret_fd, Pagemap__ServerMessage **ret_sm)
{
	/* One byte over the bound, so that an oversized packet shows. */
	static uint8_t buf[RAW_MAX_PACKET + 1];
	union {
		char b[CMSG_SPACE(MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.b,
			     .msg_controllen = sizeof(u.b)};
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;
	int rc;

	rc = poll(&p, 1, ms);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	take_fds(&msg, ret_fd);
	if (n == 0)
		return -ECONNRESET;
	*ret_sm = pagemap__server_message__unpack(NULL, (size_t)n, buf);
	return *ret_sm ? 0 : -EPROTO;
}

int
raw_reply_error(const Pagemap__ServerMessage *sm, uint64_t id, char *why,
		size_t whylen)
{
	const Pagemap__Response *r = sm->response;
	int rc = -1;

	if (sm->msg_case != PAGEMAP__SERVER_MESSAGE__MSG_RESPONSE)
		snprintf(why, whylen, "an event where reply %llu was due",
			 (unsigned long long)id);
	else if (r->id != id)
		snprintf(why, whylen, "reply %llu where %llu was due",
			 (unsigned long long)r->id, (unsigned long long)id);
	else if (r->error)
		snprintf(why, whylen, "request %llu failed: %s (%s)",
			 (unsigned long long)id, strerror((int)r->error),
			 r->message ? r->message : "");
	else
		rc = 0;
	return rc;
}

int
raw_check_reply(const uint8_t *buf, size_t len, uint64_t id, char *why,
		size_t whylen)
{
	Pagemap__ServerMessage *sm =
		pagemap__server_message__unpack(NULL, len, buf);
	int rc;

	if (sm == NULL) {
		snprintf(why, whylen, "unpackable reply");
		return -1;
	}
	rc = raw_reply_error(sm, id, why, whylen);
	pagemap__server_message__free_unpacked(sm, NULL);
	return rc;
}

void
raw_req_hello(Pagemap__Request *rq, Pagemap__Hello *m, uint32_t version,
	      const char *name)
{
	pagemap__request__init(rq);
	pagemap__hello__init(m);
	m->version = version;
	m->client_name = (char *)name;
	rq->body_case = PAGEMAP__REQUEST__BODY_HELLO;
	rq->hello = m;
}

void
raw_req_status(Pagemap__Request *rq, Pagemap__StatusRequest *m)
{
	pagemap__request__init(rq);
	pagemap__status_request__init(m);
	rq->body_case = PAGEMAP__REQUEST__BODY_STATUS;
	rq->status = m;
}

void
raw_req_lease(Pagemap__Request *rq, Pagemap__LeaseAcquireRequest *m,
	      const char *region, const char *name, Pagemap__Access access)
{
	pagemap__request__init(rq);
	pagemap__lease_acquire_request__init(m);
	m->region = (char *)region;
	m->name = (char *)name;
	m->access = access;
	rq->body_case = PAGEMAP__REQUEST__BODY_LEASE_ACQUIRE;
	rq->lease_acquire = m;
}

void
raw_req_map(Pagemap__Request *rq, Pagemap__MapRequest *m, uint64_t lease,
	    uint64_t off, uint64_t len, Pagemap__Access access)
{
	pagemap__request__init(rq);
	pagemap__map_request__init(m);
	m->lease_id = lease;
	m->offset = off;
	m->length = len;
	m->access = access;
	rq->body_case = PAGEMAP__REQUEST__BODY_MAP;
	rq->map = m;
}

void
raw_req_unmap(Pagemap__Request *rq, Pagemap__UnmapRequest *m, uint64_t lease,
	      uint64_t off, uint64_t len)
{
	pagemap__request__init(rq);
	pagemap__unmap_request__init(m);
	m->lease_id = lease;
	m->offset = off;
	m->length = len;
	rq->body_case = PAGEMAP__REQUEST__BODY_UNMAP;
	rq->unmap = m;
}

/* ---- tests --------------------------------------------------------- */

static uint64_t next_id = 2; /* 1 is raw_open()'s Hello */

/* Recall events that arrived while waiting for a response, in order;
 * raw_event() hands them out first. */
#define QUEUE_MAX 4096
static struct {
	int fd; /* the connection it came on */
	Pagemap__RecallEvent *e;
} queue[QUEUE_MAX];
static size_t qlen;

/* take_recall -- detach @sm's RecallEvent (NULL if it has none) and free
 * the rest. */
static Pagemap__RecallEvent *
take_recall(Pagemap__ServerMessage *sm)
{
	Pagemap__RecallEvent *e = NULL;

	if (sm->msg_case == PAGEMAP__SERVER_MESSAGE__MSG_EVENT &&
	    sm->event->body_case == PAGEMAP__EVENT__BODY_RECALL) {
		e = sm->event->recall;
		sm->event->body_case = PAGEMAP__EVENT__BODY__NOT_SET;
		sm->event->recall = NULL;
	}
	pagemap__server_message__free_unpacked(sm, NULL);
	return e;
}

static void
enqueue(int fd, Pagemap__ServerMessage *sm)
{
	Pagemap__RecallEvent *e = take_recall(sm);

	if (e && qlen < QUEUE_MAX) {
		queue[qlen].fd = fd;
		queue[qlen++].e = e;
	} else {
		raw_free_event(e);
	}
}

/* dequeue -- the oldest queued event of @fd, or NULL. */
static Pagemap__RecallEvent *
dequeue(int fd)
{
	for (size_t i = 0; i < qlen; i++) {
		Pagemap__RecallEvent *e = queue[i].e;

		if (queue[i].fd != fd)
			continue;
		memmove(&queue[i], &queue[i + 1],
			(qlen - i - 1) * sizeof(queue[0]));
		qlen--;
		return e;
	}
	return NULL;
}

/* forget -- drop what was queued for a closed fd whose number is being
 * reused. */
static void
forget(int fd)
{
	Pagemap__RecallEvent *e;

	while ((e = dequeue(fd)) != NULL)
		raw_free_event(e);
}

int
raw_connect(const char *socket_path, int hello)
{
	int fd = raw_open(socket_path, hello ? "raw" : NULL);

	if (fd < 0) {
		fprintf(stderr, "raw: connect %s: %s\n", socket_path,
			strerror(-fd));
		abort();
	}
	forget(fd);
	return fd;
}

uint64_t
raw_send(int fd, Pagemap__Request *rq)
{
	rq->id = next_id++;
	return raw_send_request(fd, rq) == 0 ? rq->id : 0;
}

static Pagemap__Response *
wait_for(int fd, uint64_t id, int ms, int *ret_fd, int *events)
{
	for (;;) {
		Pagemap__ServerMessage *sm;
		Pagemap__Response *r;

		if (raw_recv(fd, ms, ret_fd, &sm) < 0)
			return NULL;
		if (sm->msg_case == PAGEMAP__SERVER_MESSAGE__MSG_EVENT) {
			if (events)
				(*events)++;
			enqueue(fd, sm);
			continue;
		}
		if (sm->response->id != id && sm->response->id != 0) {
			pagemap__server_message__free_unpacked(sm, NULL);
			continue; /* an answer to an earlier request */
		}
		/* Detach the response so raw_free() can free it alone. */
		r = sm->response;
		sm->msg_case = PAGEMAP__SERVER_MESSAGE__MSG__NOT_SET;
		sm->response = NULL;
		pagemap__server_message__free_unpacked(sm, NULL);
		return r;
	}
}

Pagemap__Response *
raw_wait(int fd, uint64_t id, int ms)
{
	return wait_for(fd, id, ms, NULL, NULL);
}

Pagemap__Response *
raw_call(int fd, Pagemap__Request *rq, int *ret_fd, int *events)
{
	uint64_t id;

	if (ret_fd)
		*ret_fd = -1;
	id = raw_send(fd, rq);
	if (id == 0)
		return NULL;
	return wait_for(fd, id, WAIT_MS, ret_fd, events);
}

Pagemap__RecallEvent *
raw_event(int fd, int ms)
{
	Pagemap__RecallEvent *e = dequeue(fd);

	while (e == NULL) {
		Pagemap__ServerMessage *sm;

		if (raw_recv(fd, ms, NULL, &sm) < 0)
			return NULL;
		e = take_recall(sm);
	}
	return e;
}

void
raw_free(Pagemap__Response *r)
{
	if (r)
		pagemap__response__free_unpacked(r, NULL);
}

void
raw_free_event(Pagemap__RecallEvent *e)
{
	if (e)
		pagemap__recall_event__free_unpacked(e, NULL);
}

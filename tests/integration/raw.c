/* raw.c -- speak the wire protocol by hand in tests (no libpagemap). */
#include "raw.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define WAIT_MS 10000
#define MAX_PACKET 65536

/* Responses are wrapped in a ServerMessage; keep both to free them. */
struct held {
	Pagemap__ServerMessage *sm;
};

static uint64_t next_id = 1;

/* Recall events that arrived while waiting for a response, in order;
 * raw_event() hands them out first. */
#define QUEUE_MAX 4096
static struct {
	int fd; /* the connection it came on */
	Pagemap__RecallEvent *e;
} queue[QUEUE_MAX];
static size_t qlen;

static void
enqueue(int fd, Pagemap__ServerMessage *sm)
{
	if (sm->event->body_case == PAGEMAP__EVENT__BODY_RECALL &&
	    qlen < QUEUE_MAX) {
		queue[qlen].fd = fd;
		queue[qlen++].e = sm->event->recall;
		sm->event->body_case = PAGEMAP__EVENT__BODY__NOT_SET;
		sm->event->recall = NULL;
	}
	pagemap__server_message__free_unpacked(sm, NULL);
}

/* dequeue -- the oldest queued event of @fd, or NULL. */
static Pagemap__RecallEvent *
dequeue(int fd)
{
	for (size_t i = 0; i < qlen; i++) {
		Pagemap__RecallEvent *e = queue[i].e;

		if (queue[i].fd != fd)
			continue;
		memmove(&queue[i], &queue[i + 1], (qlen - i - 1) *
							  sizeof(queue[0]));
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
		pagemap__recall_event__free_unpacked(e, NULL);
}

static void
die(const char *what)
{
	fprintf(stderr, "raw: %s: %s\n", what, strerror(errno));
	abort();
}

/* recv_msg -- one ServerMessage within @ms, with an optional fd. */
static Pagemap__ServerMessage *
recv_msg(int fd, int ms, int *ret_fd)
{
	static uint8_t buf[MAX_PACKET + 1];
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.b,
			     .msg_controllen = sizeof(u.b)};
	struct pollfd p = {.fd = fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, ms) != 1)
		return NULL;
	n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return NULL;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm;
	     cm = CMSG_NXTHDR(&msg, cm)) {
		int got;

		if (cm->cmsg_type != SCM_RIGHTS)
			continue;
		memcpy(&got, CMSG_DATA(cm), sizeof(got));
		if (ret_fd && *ret_fd < 0)
			*ret_fd = got;
		else
			close(got);
	}
	return pagemap__server_message__unpack(NULL, (size_t)n, buf);
}

int
raw_connect(const char *socket_path, int hello)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die("socket");
	forget(fd);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", socket_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	if (hello) {
		Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
		Pagemap__Hello h = PAGEMAP__HELLO__INIT;
		Pagemap__Response *r;

		h.version = 1;
		h.client_name = (char *)"raw";
		rq.body_case = PAGEMAP__REQUEST__BODY_HELLO;
		rq.hello = &h;
		r = raw_call(fd, &rq, NULL, NULL);
		if (r == NULL || r->error)
			die("hello");
		raw_free(r);
	}
	return fd;
}

uint64_t
raw_send(int fd, Pagemap__Request *rq)
{
	static uint8_t buf[MAX_PACKET];
	size_t n;

	rq->id = next_id++;
	n = pagemap__request__get_packed_size(rq);
	if (n > sizeof(buf) || send(fd, buf, pagemap__request__pack(rq, buf),
				    0) != (ssize_t)n)
		return 0;
	return rq->id;
}

static Pagemap__Response *
wait_for(int fd, uint64_t id, int ms, int *ret_fd, int *events)
{
	for (;;) {
		Pagemap__ServerMessage *sm = recv_msg(fd, ms, ret_fd);
		Pagemap__Response *r;

		if (sm == NULL)
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
	Pagemap__RecallEvent *queued = dequeue(fd);

	if (queued)
		return queued;
	for (;;) {
		Pagemap__ServerMessage *sm = recv_msg(fd, ms, NULL);
		Pagemap__RecallEvent *e;

		if (sm == NULL)
			return NULL;
		if (sm->msg_case != PAGEMAP__SERVER_MESSAGE__MSG_EVENT ||
		    sm->event->body_case != PAGEMAP__EVENT__BODY_RECALL) {
			pagemap__server_message__free_unpacked(sm, NULL);
			continue;
		}
		e = sm->event->recall;
		sm->event->body_case = PAGEMAP__EVENT__BODY__NOT_SET;
		sm->event->recall = NULL;
		pagemap__server_message__free_unpacked(sm, NULL);
		return e;
	}
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

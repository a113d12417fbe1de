/* pagemap.c -- libpagemap: the client side of the pagemapd protocol. */
/* The library is built with hidden visibility; exactly what the public
 * header declares is exported (the version script then names the set). */
#pragma GCC visibility push(default)
#include "pagemap.h"
#pragma GCC visibility pop

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "pagemap.pb-c.h"

/*
 * One request is in flight at a time: a call packs a Request with the next
 * id, sends it as one packet and reads packets until the Response with that
 * id arrives. Anything else that arrives meanwhile is an Event (counted and
 * dropped for now) or a protocol violation. A violation, a lost connection
 * or a connection-level Response (id 0) makes the connection unusable: the
 * error is kept in @dead and every later call returns it without touching
 * the socket, because the packet stream can no longer be trusted to line up
 * with our ids.
 */

#define HANDSHAKE_MAX_PACKET 65536u /* assumed until HelloReply says */
#define MIN_MAX_PACKET 4096u	    /* a daemon announcing less is broken */
#define MAX_MAX_PACKET (16u << 20)  /* bound what a daemon can make us alloc */
#define MAX_ERRNO 4095u /* largest code we accept as an errno value */
#define CMSG_FDS 8	/* room for stray fds; the kernel drops more */

struct pagemap {
	int fd;		    /* SOCK_SEQPACKET connection, or -1 */
	int dead;	    /* 0, or the -errno that broke the connection */
	uint64_t next_id;   /* id of the next Request, starts at 1 */
	uint64_t client_id; /* assigned by the daemon at the handshake */
	uint64_t recalls_dropped; /* recall events nobody handles yet */
	struct pagemap_limits limits;
	uint8_t *rbuf; /* receive buffer, limits.max_packet + 1 bytes */
	char server[64];
	char message[512]; /* daemon's text for the last failure, or "" */
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

/* set_message -- remember the daemon's explanation of a failure. */
static void
set_message(struct pagemap *pm, const char *msg)
{
	snprintf(pm->message, sizeof(pm->message), "%s", msg ? msg : "");
}

/* fail -- make the connection unusable with @err and return it. */
static int
fail(struct pagemap *pm, int err)
{
	if (!pm->dead)
		pm->dead = err;
	return err;
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

/* close_fds -- close every SCM_RIGHTS fd in @msg: no call expects one yet,
 * and a stray fd must never leak into the application. */
static void
close_fds(struct msghdr *msg)
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

/* recv_packet -- read one packet into pm->rbuf; returns its length. */
static int
recv_packet(struct pagemap *pm, size_t *ret_len)
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

	do
		n = recvmsg(pm->fd, &msg, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == ECONNRESET || errno == EPIPE || errno == ENOTCONN)
			return fail(pm, -ECONNRESET);
		return fail(pm, -errno);
	}
	close_fds(&msg);
	if (n == 0)
		return fail(pm, peer_hung_up(pm->fd) ? -ECONNRESET : -EPROTO);
	if ((msg.msg_flags & MSG_TRUNC) || (size_t)n > pm->limits.max_packet)
		return fail(pm, -EPROTO);
	*ret_len = (size_t)n;
	return 0;
}

/* handle_event -- an event that arrived while waiting for a reply. */
static int
handle_event(struct pagemap *pm, const Pagemap__Event *ev)
{
	switch (ev->body_case) {
	case PAGEMAP__EVENT__BODY_RECALL:
		/* Nothing can hold grants yet, so nothing can be recalled:
		 * count it for debugging and move on. */
		pm->recalls_dropped++;
		return 0;
	default:
		return fail(pm, -EPROTO);
	}
}

/* check_response -- the Response @r to the request @id of kind @body:
 * 0 when it is the successful reply, or the -errno it carries. */
static int
check_response(struct pagemap *pm, const Pagemap__Response *r, uint64_t id,
	       Pagemap__Response__BodyCase body)
{
	if (r->error > MAX_ERRNO)
		return fail(pm, -EPROTO);
	if (r->id == 0) {
		/* About the whole connection, e.g. the daemon is closing it. */
		set_message(pm, r->message);
		return fail(pm, r->error ? -(int)r->error : -EPROTO);
	}
	if (r->id != id)
		return fail(pm, -EPROTO);
	if (r->error) {
		set_message(pm, r->message);
		return -(int)r->error;
	}
	if (r->body_case != body)
		return fail(pm, -EPROTO);
	return 0;
}

/* transact -- send @req (its id is filled in here) and wait for its reply.
 * On success *ret is the unpacked ServerMessage whose response carries the
 * body matching the request; free it with free_reply(). */
static int
transact(struct pagemap *pm, Pagemap__Request *req,
	 Pagemap__ServerMessage **ret)
{
	/* Response body cases use the same numbers as the request's. */
	Pagemap__Response__BodyCase body =
		(Pagemap__Response__BodyCase)req->body_case;
	int err;

	if (pm->dead)
		return pm->dead;
	set_message(pm, "");
	req->id = pm->next_id++;
	err = send_request(pm, req);
	if (err)
		return err;
	for (;;) {
		Pagemap__ServerMessage *sm;
		size_t len = 0;

		err = recv_packet(pm, &len);
		if (err)
			return err;
		/* The packet is bounded by max_packet, which bounds what
		 * unpack can allocate. */
		sm = pagemap__server_message__unpack(NULL, len, pm->rbuf);
		if (!sm)
			return fail(pm, -EPROTO);
		if (has_unknown(&sm->base)) {
			err = fail(pm, -EPROTO);
		} else if (sm->msg_case == PAGEMAP__SERVER_MESSAGE__MSG_EVENT) {
			err = handle_event(pm, sm->event);
			if (!err) {
				pagemap__server_message__free_unpacked(sm,
								       NULL);
				continue;
			}
		} else if (sm->msg_case ==
			   PAGEMAP__SERVER_MESSAGE__MSG_RESPONSE) {
			err = check_response(pm, sm->response, req->id, body);
		} else {
			err = fail(pm, -EPROTO);
		}
		if (err) {
			pagemap__server_message__free_unpacked(sm, NULL);
			return err;
		}
		*ret = sm;
		return 0;
	}
}

/* free_reply -- release a ServerMessage returned by transact(). */
static void
free_reply(Pagemap__ServerMessage *sm)
{
	pagemap__server_message__free_unpacked(sm, NULL);
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

/* reply_file -- deliver the FileInfo of a reply to an optional @ret. */
static int
reply_file(struct pagemap *pm, const Pagemap__FileInfo *f,
	   struct pagemap_file_info *ret)
{
	struct pagemap_file_info v;
	int err = file_from_wire(&v, f);

	if (err)
		return fail(pm, err);
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
		return fail(pm, err);
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

/* pagemap_close -- close the socket and free @pm (NULL is fine). */
void
pagemap_close(struct pagemap *pm)
{
	if (!pm)
		return;
	if (pm->fd >= 0)
		close(pm->fd);
	free(pm->rbuf);
	free(pm);
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

	if (!ret)
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
		return fail(pm, err);
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

	if (!ret || !ret_n)
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
		return fail(pm, err);
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

	if (!region || !ret)
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

	if (!region || !path || (flags & ~PAGEMAP_ATTACH_CREATE))
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

	if (!region)
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

	if (!region || !name || mode > 07777)
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
	if (r->n_files > SIZE_MAX / sizeof(**v) - *n)
		return -ENOMEM;
	if (*n + r->n_files > *cap) {
		size_t c = *cap ? *cap : 64;
		struct pagemap_file_info *p;

		while (c < *n + r->n_files)
			c = c > SIZE_MAX / 2 / sizeof(**v) ? *n + r->n_files
							   : c * 2;
		p = realloc(*v, c * sizeof(**v));
		if (!p)
			return -ENOMEM;
		*v = p;
		*cap = c;
	}
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

	if (!region || !ret || !ret_n)
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
				fail(pm, err);
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

	if (!region || !name || !ret)
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

	if (!region || !name)
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

	if (!region || !name)
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

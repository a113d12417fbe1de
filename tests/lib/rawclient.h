/* rawclient.h -- the pagemapd protocol spoken by hand, without libpagemap:
 * for tests that need to send what the library never would, and for the
 * benchmark's pipelined clients (the library has one request in flight).
 * The one place outside the daemon and the library that packs and
 * unpacks protobuf-c messages. */
#ifndef PAGEMAP_TEST_RAWCLIENT_H
#define PAGEMAP_TEST_RAWCLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pagemap.pb-c.h"

#define RAW_MAX_PACKET 65536 /* the daemon's bound on one packet */

/* ---- building blocks: -errno returns, never abort ------------------ */

/* raw_open -- a SEQPACKET connection to @path; with @hello_name set, the
 * Hello handshake (request id 1) is done under that client name. The fd,
 * or -errno (-EPROTO: the daemon refused the handshake). */
int raw_open(const char *path, const char *hello_name);

/* raw_open_caps -- raw_open() whose Hello announces the capability bits
 * @caps (PAGEMAP__CAPABILITY__CAP_*). */
int raw_open_caps(const char *path, const char *hello_name, uint64_t caps);

/* raw_pack -- @rq, as it is, packed into @buf; its length, or -EMSGSIZE
 * when it does not fit in @cap bytes. */
ssize_t raw_pack(const Pagemap__Request *rq, uint8_t *buf, size_t cap);

/* raw_send_request -- pack and send @rq as one packet (its id as set).
 * 0 or -errno. */
int raw_send_request(int fd, const Pagemap__Request *rq);

/* raw_recv -- the next ServerMessage within @ms into *ret_sm (free with
 * pagemap__server_message__free_unpacked). When @ret_fd is set and
 * *ret_fd < 0, the first fd that comes with it is stored there; every
 * other fd is closed. 0, -ETIMEDOUT, -ECONNRESET at end of file (or a
 * zero-length packet), -EPROTO when it does not unpack, or -errno. */
int raw_recv(int fd, int ms, int *ret_fd, Pagemap__ServerMessage **ret_sm);

/* raw_reply_error -- 0 when @sm is a successful Response to request @id;
 * else -1 with the reason in @why (@whylen bytes). */
int raw_reply_error(const Pagemap__ServerMessage *sm, uint64_t id, char *why,
		    size_t whylen);

/* raw_check_reply -- raw_reply_error() of the packet @buf/@len, which may
 * not even unpack. */
int raw_check_reply(const uint8_t *buf, size_t len, uint64_t id, char *why,
		    size_t whylen);

/* ---- requests: fill @rq (id 0) whose body is the caller's @m ------- */

/* raw_req_hello -- Hello, protocol @version, client name @name. */
void raw_req_hello(Pagemap__Request *rq, Pagemap__Hello *m, uint32_t version,
		   const char *name);

/* raw_req_status -- StatusRequest. */
void raw_req_status(Pagemap__Request *rq, Pagemap__StatusRequest *m);

/* raw_req_lease -- a lease on @region/@name with @access. */
void raw_req_lease(Pagemap__Request *rq, Pagemap__LeaseAcquireRequest *m,
		   const char *region, const char *name,
		   Pagemap__Access access);

/* raw_req_map -- Map [@off, @off + @len) of lease @lease with @access. */
void raw_req_map(Pagemap__Request *rq, Pagemap__MapRequest *m, uint64_t lease,
		 uint64_t off, uint64_t len, Pagemap__Access access);

/* raw_req_unmap -- Unmap [@off, @off + @len) of lease @lease. */
void raw_req_unmap(Pagemap__Request *rq, Pagemap__UnmapRequest *m,
		   uint64_t lease, uint64_t off, uint64_t len);

/* ---- tests: request ids numbered here, events queued -------------- */

/* raw_connect -- raw_open(@socket, "raw" when @hello is set); aborts the
 * test program on failure. */
int raw_connect(const char *socket, int hello);

/* raw_call -- send @rq (its id is set here) and return the matching
 * Response; events received meanwhile are counted in *events (may be
 * NULL) and queued for raw_event(); a received fd is stored in *ret_fd
 * (may be NULL; -1 when none). The caller frees the reply with
 * raw_free(). NULL on EOF or after 10 s. */
Pagemap__Response *raw_call(int fd, Pagemap__Request *rq, int *ret_fd,
			    int *events);

/* raw_send -- send @rq (its id is set here) without waiting; returns its
 * id, 0 on failure. */
uint64_t raw_send(int fd, Pagemap__Request *rq);

/* raw_wait -- the Response to request @id within @ms, or NULL. */
Pagemap__Response *raw_wait(int fd, uint64_t id, int ms);

/* raw_event -- the next RecallEvent of @fd (queued ones first) within @ms,
 * or NULL. Free with raw_free_event(). */
Pagemap__RecallEvent *raw_event(int fd, int ms);

/* raw_free -- free a Response of raw_call() or raw_wait(); NULL is fine. */
void raw_free(Pagemap__Response *r);

/* raw_free_event -- free a RecallEvent of raw_event(); NULL is fine. */
void raw_free_event(Pagemap__RecallEvent *e);

#endif

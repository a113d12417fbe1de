/* conn.h -- the connection: socket, SEQPACKET packets with SCM_RIGHTS,
 * and the request/response engine. */
#ifndef PAGEMAP_CONN_H
#define PAGEMAP_CONN_H

#include "internal.h"
#include "wire.h"

/* conn_exchange -- send @req, run @overlap(@arg) (if any) while the
 * daemon works, and wait for its reply, queueing the events that come
 * first. On success *ret is the reply, of @req's kind (free it with
 * wire_msg_free()), and *ret_fd (if not NULL) the fd that came with it,
 * or -1. A daemon error returns its -errno with its message kept. */
int conn_exchange(struct pagemap *pm, const struct wire_request *req,
		  struct wire_msg *ret, int *ret_fd, void (*overlap)(void *),
		  void *arg);

/* conn_transact -- conn_exchange() for replies that carry no fd and
 * with nothing to overlap. */
int conn_transact(struct pagemap *pm, const struct wire_request *req,
		  struct wire_msg *ret);

/* conn_send_nowait -- send @req without waiting: its reply is read by
 * whichever call reads the connection next (pagemap_unmap_nowait()). At
 * most NOWAIT_MAX are outstanding; past that the oldest is waited for. */
int conn_send_nowait(struct pagemap *pm, const struct wire_request *req);

/* conn_send_oneway -- send @req, a kind the daemon never answers
 * (Taken). */
int conn_send_oneway(struct pagemap *pm, const struct wire_request *req);

/* conn_await_nowait -- read until at most @n conn_send_nowait() replies
 * are outstanding (events that come meanwhile are queued). */
int conn_await_nowait(struct pagemap *pm, size_t n);

/* conn_read_one -- read one packet if one is there now (no request is in
 * flight, so it is an event or a nowait answer): 0 when one was read,
 * -EAGAIN when none was there, else the error. */
int conn_read_one(struct pagemap *pm);

/* conn_socket -- a connected SOCK_SEQPACKET socket to @path (close on
 * exec) in *ret_fd, or -errno. */
int conn_socket(const char *path, int *ret_fd);

/* conn_handshake -- Hello on pm->fd with CAP_RECONNECT, CAP_BLOCKER_FIELDS,
 * CAP_CACHED_GRANTS, CAP_LISTING_HIDDEN and pm->token (0 on the first
 * connection); keeps the reply's limits, client id and token, and the
 * number of leases the token took back in *ret_adopted. */
int conn_handshake(struct pagemap *pm, uint32_t *ret_adopted);

/* conn_destroy -- unmap and free everything @pm holds. */
void conn_destroy(struct pagemap *pm);

#endif

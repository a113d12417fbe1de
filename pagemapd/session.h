/* session.h -- one client connection: handshake, requests, replies. */
#ifndef PAGEMAP_SESSION_H
#define PAGEMAP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc.h"
#include "wire.h"

struct client;
struct inode;
struct lease;
struct region;
struct server;

/* A region fd this connection has been sent. */
struct session_fd {
	uint64_t serial; /* region->serial */
	bool rw;
};

struct session {
	struct ipc_conn conn; /* first: the close callback recovers us */
	struct server *srv;
	uint64_t id; /* client id, shown by `client ls` */
	bool hello; /* handshake done */
	uint64_t caps; /* WIRE_CAP_* granted in the handshake */
	char name[64]; /* from Hello */
	uint8_t *obuf; /* one reply, SERVER_MAX_PACKET bytes */
	struct client *client; /* the process behind the connection */
	struct session_fd fds[32]; /* region fds sent, by serial */
	uint32_t nfds;
	struct region *mutated; /* the request being answered changed it */
	bool words_sent; /* the client's word table went on a map reply */
	int words_fd; /* during a Hello: the word table it handed back, or -1 */
};

/* session_open -- serve the accepted socket @fd. Returns 0 or -errno (fd
 * closed either way on failure). */
int session_open(struct server *srv, int fd);

/* session_close -- close the connection; the session is freed once it is
 * closed. */
void session_close(struct session *s);

/* session_dispatch -- run the handler of @rq->kind, which has passed the
 * handshake check; a kind without a handler (or out of range) is answered
 * with EPROTO. */
void session_dispatch(struct session *s, const struct wire_request *rq);

/* session_send_recall -- the recall hook (ops_init()): ask the holder of
 * @l, if it is connected, to return its grants in [off, off + len). */
void session_send_recall(void *ctx, struct lease *l, uint64_t off,
			 uint64_t len, const char *reason);

#endif

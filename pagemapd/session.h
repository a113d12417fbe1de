/* session.h -- one client connection: handshake, requests, replies. */
#ifndef PAGEMAP_SESSION_H
#define PAGEMAP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc.h"

struct server;

struct session {
	struct ipc_conn conn; /* first: the close callback recovers us */
	struct server *srv;
	struct session *next; /* server's list */
	struct session *prev;
	uint64_t id; /* client id, shown by `client ls` */
	bool hello; /* handshake done */
	char name[64]; /* from Hello */
	uint8_t *obuf; /* one reply, SERVER_MAX_PACKET bytes */
};

/* session_open -- serve the accepted socket @fd. Returns 0 or -errno (fd
 * closed either way on failure). */
int session_open(struct server *srv, int fd);

/* session_close -- close the connection; the session is freed once it is
 * closed. */
void session_close(struct session *s);

#endif

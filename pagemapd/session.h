/* session.h -- one client connection: handshake, requests, replies. */
#ifndef PAGEMAP_SESSION_H
#define PAGEMAP_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "ipc.h"
#include "wire.h"

struct client;
struct inode;
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
	struct session *next; /* server's list */
	struct session *prev;
	uint64_t id; /* client id, shown by `client ls` */
	bool hello; /* handshake done */
	char name[64]; /* from Hello */
	uint8_t *obuf; /* one reply, SERVER_MAX_PACKET bytes */
	struct client *client; /* the process behind the connection */
	struct session_fd fds[32]; /* region fds sent, by serial */
	uint32_t nfds;
	struct region *mutated; /* the request being answered changed it */
};

/* session_open -- serve the accepted socket @fd. Returns 0 or -errno (fd
 * closed either way on failure). */
int session_open(struct server *srv, int fd);

/* session_close -- close the connection; the session is freed once it is
 * closed. */
void session_close(struct session *s);

/* Answers to requests that waited (recall.c) and events. */
void session_reply_error(struct session *s, uint64_t id, int err,
			 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void session_reply_empty(struct session *s, uint64_t id, enum wire_kind k);
/* session_reply_file -- a FileTruncate reply describing @ino. */
void session_reply_file(struct session *s, uint64_t id, const char *region,
			const struct inode *ino);
void session_send_recall(struct session *s, uint64_t lease_id, uint64_t off,
			 uint64_t len, const char *reason);

#endif

/* ipc.h -- the socket: listening, SEQPACKET framing, fds, peer identity. */
#ifndef PAGEMAP_IPC_H
#define PAGEMAP_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "list.h"

#define IPC_MAX_GROUPS 64

/* Who is at the other end, read once at accept. */
struct ipc_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[IPC_MAX_GROUPS]; /* supplementary groups */
	int ngroups;
	int pidfd; /* -1 if none could be had; polls readable at exit */
	char comm[16]; /* /proc/PID/comm at connect */
};

struct account;
struct acct_proc;
struct ipc_conn;

/* The receive buffers one loop's connections share, and the connections
 * held back because their process or uid has no room for replies. */
struct ipc_rx;

/* ipc_rx_new -- receive buffers (sized by the first connection). Returns 0
 * or -ENOMEM. */
int ipc_rx_new(struct ipc_rx **ret);

/* ipc_rx_free -- let go of *@rx and set it to NULL (NULL is fine): it is
 * freed now, or when the last connection using it has closed. */
void ipc_rx_free(struct ipc_rx **rx);

/* ipc_rx_resume -- replies went away elsewhere (held ones were sent):
 * read again from the connections of @rx that have room now. */
void ipc_rx_resume(struct ipc_rx *rx);

/* Called with each packet; @len may be 0 (a zero-length packet). @sender
 * is the pid of the process that sent it (SCM_CREDENTIALS), which is not
 * peer.pid when a process that inherited the socket sent it; 0 when the
 * kernel could not say. @fd is the one fd that came with the
 * connection's first packet (-1: none; fds on any other packet are
 * refused), the callee's to close. */
typedef void (*ipc_packet_fn)(struct ipc_conn *c, const uint8_t *buf,
			      size_t len, pid_t sender, int fd);
/* Called once when the peer broke the framing rules (oversized packet,
 * unexpected fds); @err is an errno value. The connection stops reading;
 * the owner normally sends an error and calls ipc_close(). */
typedef void (*ipc_error_fn)(struct ipc_conn *c, int err, const char *why);
/* Called once, when the connection is fully closed; the owner may free
 * the memory holding @c from here. */
typedef void (*ipc_close_fn)(struct ipc_conn *c);

struct ipc_out {
	struct ipc_out *next;
	size_t len;
	int fd; /* passed with SCM_RIGHTS, -1 for none; not owned */
	uint8_t data[];
};

struct ipc_conn {
	uv_poll_t poll; /* embedded: the owner is freed in on_close */
	struct list_node node; /* the owner's list of connections */
	struct list_node greet_node; /* the owner's list awaiting Hello */
	uint64_t greet_deadline_ms; /* when the owner gives up waiting */
	int fd;
	struct ipc_rx *rx; /* the loop's, shared */
	struct ipc_peer peer;
	uint32_t max_packet;
	struct ipc_out *out_head;
	struct ipc_out *out_tail;
	size_t out_count; /* packets queued */
	size_t out_limit; /* stop reading requests while out_count >= this */
	/* Queued replies are charged to @proc in @acct (set by the owner
	 * after ipc_conn_open(); NULL: not counted), and requests are read
	 * only while it has room for their replies. */
	struct account *acct;
	struct acct_proc *proc;
	struct list_node throttle_node; /* rx's list while held back */
	bool closing;
	bool broken; /* framing error reported; read nothing more */
	bool first_seen; /* a packet went to on_packet: no fd from now on */
	ipc_packet_fn on_packet;
	ipc_error_fn on_error;
	ipc_close_fn on_close;
};

/* ipc_conn_open -- take over the connected socket @fd, read into @rx:
 * read peer credentials and a pidfd, start polling. Returns 0 or -errno;
 * on failure @fd is closed and nothing else needs undoing. */
int ipc_conn_open(uv_loop_t *loop, struct ipc_conn *c, struct ipc_rx *rx,
		  int fd, uint32_t max_packet, size_t out_limit);

/* ipc_send -- send one packet (with @pass_fd unless -1), queueing it if the
 * socket is full. Returns 0, -EMSGSIZE (larger than max_packet), -ENOMEM,
 * or -EPIPE when the connection is gone or closing. */
int ipc_send(struct ipc_conn *c, const void *buf, size_t len, int pass_fd);

/* ipc_close -- stop reading, try once to flush what is queued, close the
 * socket and, from the loop, call on_close. Idempotent. */
void ipc_close(struct ipc_conn *c);

/* How long the listener stops accepting when the daemon is out of file
 * descriptors: the pending connection stays readable, so a
 * level-triggered poll would wake again at once and spin. */
#define IPC_ACCEPT_BACKOFF_MS 100

struct ipc_listener {
	uv_poll_t poll;
	uv_timer_t backoff; /* re-arms the poll after an EMFILE pause */
	int fd;
	char path[108];
	bool owns_path; /* we created the socket file: unlink it at close */
	void (*on_connection)(struct ipc_listener *l, int fd);
	/* on_pause -- accept failed with @err (EMFILE, ENFILE, ENOBUFS,
	 * ENOMEM): nothing is accepted for IPC_ACCEPT_BACKOFF_MS. May be
	 * NULL. */
	void (*on_pause)(struct ipc_listener *l, int err);
	void *data;
};

/* ipc_listen -- listen on @path (creating its directory; replacing a stale
 * socket file, refusing one a live daemon answers on), or on the socket
 * passed by systemd (LISTEN_FDS) if there is one. Returns 0 or -errno with
 * a reason in @err (256 bytes). */
int ipc_listen(uv_loop_t *loop, struct ipc_listener *l, const char *path,
	       unsigned mode, char *err);

/* ipc_mkdir_parents -- create the folders above the socket @path (0755),
 * as ipc_listen() does. Returns 0 or -errno. */
int ipc_mkdir_parents(const char *path);

/* ipc_peer_uid -- the uid of the peer of the connected socket @fd
 * (SO_PEERCRED). Returns 0 or -errno. */
int ipc_peer_uid(int fd, uid_t *ret_uid);

/* ipc_refuse -- send @len bytes of @buf as one packet on the accepted
 * socket @fd if it goes at once, discard what the peer already sent, and
 * close @fd. Never blocks. */
void ipc_refuse(int fd, const void *buf, size_t len);

/* ipc_listener_close -- stop accepting and unlink the socket we made. */
void ipc_listener_close(struct ipc_listener *l);

#endif

/* session_int.h -- what the request handlers of a session share: replies
 * (held back while a group commit is open), error replies, the region and
 * file a request names, the waiter of an operation that waits. Private to
 * session.c and session_lease.c.
 */
#ifndef PAGEMAP_SESSION_INT_H
#define PAGEMAP_SESSION_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "ops.h"
#include "wire.h"

struct inode;
struct region;
struct session;

/* send_packet -- send (or, while a group commit is open, hold back) one
 * reply of @n bytes in s->obuf, carrying @fd if it is not -1. */
void send_packet(struct session *s, uint64_t id, ssize_t n, int fd);

/* send_reply -- send_packet() without an fd. */
void send_reply(struct session *s, uint64_t id, ssize_t n);

/* reply_error_id -- answer request @id with @err and a message for a
 * person (logged at debug level only). */
void reply_error_id(struct session *s, uint64_t id, int err, const char *fmt,
		    ...) __attribute__((format(printf, 4, 5)));

#define reply_error(s, rq, err, ...)                                           \
	reply_error_id((s), (rq)->id, (err), __VA_ARGS__)

/* reply_empty -- answer request @id with the empty reply of kind @k. */
void reply_empty(struct session *s, uint64_t id, enum wire_kind k);

/* find_region -- the region named by @rq, checked for @want access; NULL
 * after replying with the error. */
struct region *find_region(struct session *s, const struct wire_request *rq,
			   unsigned want);

/* find_file -- the file named by @rq in @r; NULL after replying ENOENT. */
struct inode *find_file(struct session *s, const struct wire_request *rq,
			struct region *r);

/* waiter -- the completion of an operation that may wait, answering @rq
 * on @s when it is done or its timeout passes. */
struct ops_waiter waiter(struct session *s, const struct wire_request *rq);

/* The lease and grant requests (session_lease.c). */
void session_lease_acquire(struct session *s, const struct wire_request *rq);
void session_lease_release(struct session *s, const struct wire_request *rq);
void session_map(struct session *s, const struct wire_request *rq);

/* session_words_per_process -- the size of a process's word table: a word
 * for every grant it may hold, so that every grant can be cached; the
 * memfd is sparse, so only words issued cost memory. */
uint32_t session_words_per_process(const struct server *srv);
void session_unmap(struct session *s, const struct wire_request *rq);
void session_lease_revoke(struct session *s, const struct wire_request *rq);
void session_taken(struct session *s, const struct wire_request *rq);

#endif

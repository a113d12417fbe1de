/* raw.h -- speak the wire protocol by hand in tests (no libpagemap). */
#ifndef PAGEMAP_TEST_RAW_H
#define PAGEMAP_TEST_RAW_H

#include <stddef.h>
#include <stdint.h>

#include "pagemap.pb-c.h"

/* raw_connect -- a SEQPACKET connection to @socket, handshake done when
 * @hello is set. Aborts the test on failure. */
int raw_connect(const char *socket, int hello);

/* raw_call -- send @rq (its id is set here) and return the matching
 * Response; events received meanwhile are counted in *events (may be
 * NULL) and queued for raw_event(); a received fd is stored in *ret_fd (may be NULL; -1
 * when none). The caller frees the reply with raw_free(). NULL on EOF or
 * after 10 s. */
Pagemap__Response *raw_call(int fd, Pagemap__Request *rq, int *ret_fd,
			    int *events);

/* raw_send -- send @rq without waiting; returns its id. */
uint64_t raw_send(int fd, Pagemap__Request *rq);

/* raw_wait -- the Response to request @id within @ms, or NULL. */
Pagemap__Response *raw_wait(int fd, uint64_t id, int ms);

/* raw_event -- the next RecallEvent (queued ones first) within @ms, or
 * NULL. Free with
 * raw_free_event(). */
Pagemap__RecallEvent *raw_event(int fd, int ms);

void raw_free(Pagemap__Response *r);
void raw_free_event(Pagemap__RecallEvent *e);

#endif

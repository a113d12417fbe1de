/* events.h -- recalls from the daemon: the queue, dispatch, wait. */
#ifndef PAGEMAP_EVENTS_H
#define PAGEMAP_EVENTS_H

#include "internal.h"

/* events_queue_recall -- check a recall the daemon sent and queue it for
 * pagemap_dispatch(); a bad one is a protocol error (-EPROTO). */
int events_queue_recall(struct pagemap *pm, uint64_t lease_id, uint64_t offset,
			uint64_t length, const char *reason);

#endif

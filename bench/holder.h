/* holder.h -- a lease holder process for the revoke figures: its pipes to
 * the parent, its connection, the lease ids it reports. */
#ifndef PAGEMAP_BENCH_HOLDER_H
#define PAGEMAP_BENCH_HOLDER_H

#include <stdint.h>
#include <sys/types.h>

#include "pagemap.h"

/* The holder's two pipes; a closed end is -1. */
struct holder_pipes {
	int ids[2]; /* lease ids, holder to parent */
	int cmd[2]; /* parent to holder; end-of-file: the holder stops */
};

#define HOLDER_PIPES_INIT                                                      \
	{                                                                      \
		.ids = {-1, -1}, .cmd = { -1, -1 }                             \
	}

/* holder_spawn -- make @hp's pipes, fork a holder running @fn(@arg) and
 * close its ends of them here; the holder's pid, or -1 (with a reason
 * said). */
pid_t holder_spawn(struct holder_pipes *hp, int (*fn)(void *), void *arg);

/* holder_pipes_close -- close what is left open of @hp. */
void holder_pipes_close(struct holder_pipes *hp);

/* holder_connect -- in the holder: close the parent's pipe ends, ignore
 * SIGPIPE (the parent may be done while we take the next lease: a write
 * to its closed pipe then fails with EPIPE instead of killing us), connect
 * to @socket as @name and set @fn(@arg) as the recall handler. 0 or -1. */
int holder_connect(struct holder_pipes *hp, const char *socket,
		   const char *name, pagemap_recall_fn fn, void *arg,
		   struct pagemap **ret_pm);

/* holder_send_id -- in the holder: tell the parent the id of @l. 0, 1 when
 * the parent is done and closed its end (EPIPE), or -1. */
int holder_send_id(struct holder_pipes *hp, struct pagemap_lease *l);

/* holder_release -- in the holder: release *@l, which the daemon ended
 * (this frees the handle), and set it NULL. 0 or -1 (said). */
int holder_release(struct pagemap_lease **l);

/* holder_next_id -- in the parent: the holder's next lease id from @fd,
 * waiting @ms at most; 0, or -1 (said, naming @who) when it went quiet. */
int holder_next_id(int fd, int ms, const char *who, uint64_t *ret_id);

#endif

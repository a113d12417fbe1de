/* wait.h -- waits that talk: who holds up a truncate, revoke or detach, and
 * what would clear it. */
#ifndef PAGEMAPCTL_WAIT_H
#define PAGEMAPCTL_WAIT_H

#include <stdint.h>

#include "ctx.h"

/* What a waiting command waits for. */
struct wait_for {
	const char *op;	     /* the blockers' op: truncate, revoke, detach */
	const char *region;  /* the blockers' scope (NULL: every region) */
	const char *name;    /* ... and file (NULL: every file) */
	uint64_t lease_id;   /* revoke: only this lease's rows (else 0) */
	const char *command; /* "file truncate r/f", for messages */
};

struct waiter;

/* wait_talk_start -- from one second from now until wait_talk_stop(), a
 * thread of its own, on a connection of its own, says on stderr who
 * @w waits for and how to stop waiting, each time that changes. Returns
 * NULL if it cannot start (the wait then goes on silently). */
struct waiter *wait_talk_start(const struct ctx *c, const struct wait_for *w);

/* wait_talk_stop -- end the talking (NULL is fine). */
void wait_talk_stop(struct waiter *t);

/* wait_timed_out -- the one-line error of a wait that timed out after
 * @ms: who still holds it up (as far as the caller may see) and the
 * command that would clear it. Returns EXIT_FAIL. */
int wait_timed_out(struct ctx *c, const struct wait_for *w, uint32_t ms);

#endif

/* reconnect.h -- the library comes back by itself: reconnecting with
 * bounded backoff after the daemon went away, the reconcile of what the
 * daemon holds with what the library holds, and the library's record of
 * the bytes under raw grants. */
#ifndef PAGEMAP_RECONNECT_H
#define PAGEMAP_RECONNECT_H

#include "internal.h"

/* recon_init -- remember @path and @name for later connections; 0 or
 * -ENOMEM. */
int recon_init(struct pagemap *pm, const char *path, const char *name);

/* recon_free -- release what recon_init() kept; the handle never
 * connects again. */
void recon_free(struct pagemap *pm);

/* recon_lost -- the daemon went away (EOF, ECONNRESET, POLLHUP): keep
 * everything, put a timerfd armed for the next attempt on pm->fd's number
 * and forget the replies that will never come. */
void recon_lost(struct pagemap *pm);

/* recon_ready -- at the start of a request: 0 when connected (after an
 * attempt, if one is due), -ENOTCONN while the daemon is away (nothing was
 * sent), or the error that broke the connection for good. */
int recon_ready(struct pagemap *pm);

/* held_reserve -- room for held_add() to succeed once; 0 or -ENOMEM. */
int held_reserve(struct pagemap_lease *l);

/* held_add -- the file bytes [@a, @b) of @l are under raw grants now
 * (room reserved with held_reserve()). */
void held_add(struct pagemap_lease *l, uint64_t a, uint64_t b);

/* held_sub -- the raw grants over [@a, @b) of @l went back. When memory
 * runs out the set keeps more than it should, never less (I1). */
void held_sub(struct pagemap_lease *l, uint64_t a, uint64_t b);

#endif

/* owner.h -- the process a handle serves: the check every call makes, and
 * the close of a handle a forked child inherited. */
#ifndef PAGEMAP_OWNER_H
#define PAGEMAP_OWNER_H

#include <stdbool.h>

#include "internal.h"

/* owner_inherited -- @pm was made by another process (this one is a
 * forked child, or a clone(), of it). */
bool owner_inherited(const struct pagemap *pm);

/* owner_check -- 0 when this process made @pm; else -ECHILD, with the
 * reason kept as @pm's message. Nothing is sent or unmapped either way. */
int owner_check(struct pagemap *pm);

/* owner_register -- @pm is a handle of this process: a fork closes its
 * socket and region fds in the child (owner_unregister() before @pm is
 * freed). Returns 0 or -errno (pthread_atfork failed). */
int owner_register(struct pagemap *pm);
void owner_unregister(struct pagemap *pm);

/* owner_forget -- pagemap_close() in a process that did not make @pm:
 * free the handle's memory and nothing else (no request, no munmap, no
 * close). */
void owner_forget(struct pagemap *pm);

#endif

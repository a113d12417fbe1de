/* top.h -- `top`: a live view of regions, waiting operations, leases and
 * grants. */
#ifndef PAGEMAPCTL_TOP_H
#define PAGEMAPCTL_TOP_H

#include "ctx.h"

/* cmd_top -- `top [--interval SECS]`: a live view on a terminal, one
 * view otherwise. */
int cmd_top(struct ctx *c, const struct args *a);

#endif

/* cmd_fsck.h -- `fsck PATH [--live | --repair [--yes]]`: the offline check
 * of a region file and its repair. */
#ifndef PAGEMAPCTL_CMD_FSCK_H
#define PAGEMAPCTL_CMD_FSCK_H

#include "ctx.h"

/* cmd_fsck -- `fsck PATH [--live | --repair [--yes]]`; exit 1 when problems
 * are found (or, with --repair, repairs are needed or impossible) or the
 * file cannot be checked (a region a daemon serves, without --live). */
int cmd_fsck(struct ctx *c, const struct args *a);

#endif

/* cmd_fsck.h -- `fsck PATH`: the offline check of a region file. */
#ifndef PAGEMAPCTL_CMD_FSCK_H
#define PAGEMAPCTL_CMD_FSCK_H

#include "ctx.h"

/* cmd_fsck -- `fsck PATH`; exit 1 when problems are found or the file
 * cannot be checked. */
int cmd_fsck(struct ctx *c, const struct args *a);

#endif

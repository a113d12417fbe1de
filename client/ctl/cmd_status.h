/* cmd_status.h -- `status`: the daemon's status and handshake limits. */
#ifndef PAGEMAPCTL_CMD_STATUS_H
#define PAGEMAPCTL_CMD_STATUS_H

#include "ctx.h"

/* cmd_status -- `status`. */
int cmd_status(struct ctx *c, const struct args *a);

#endif

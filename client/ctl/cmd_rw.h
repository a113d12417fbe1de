/* cmd_rw.h -- `read`, `write` and `hold`: a file's bytes through the real
 * lease and grant path. */
#ifndef PAGEMAPCTL_CMD_RW_H
#define PAGEMAPCTL_CMD_RW_H

#include "ctx.h"

/* cmd_write -- `write R/NAME [--offset N]`: stdin into the file through a
 * write lease; the file is never grown. */
int cmd_write(struct ctx *c, const struct args *a);

/* cmd_read -- `read R/NAME [--offset N] [--length N]`: the bytes to stdout
 * through a read lease, clamped at the end of the file; --json does not
 * apply to raw bytes. */
int cmd_read(struct ctx *c, const struct args *a);

/* cmd_hold -- `hold R/NAME [--offset N] [--length N] [--rw]
 * [--ignore-recall]`: take a lease, map, print one line, keep it until
 * stdin ends, a signal or a recall. */
int cmd_hold(struct ctx *c, const struct args *a);

#endif

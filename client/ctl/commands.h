/* commands.h -- the table of pagemapctl's commands. */
#ifndef PAGEMAPCTL_COMMANDS_H
#define PAGEMAPCTL_COMMANDS_H

#include "ctx.h"

/* Every command with its usage, options and help, in --help order; ends
 * with an entry whose name is NULL. */
extern const struct command commands[];

#endif

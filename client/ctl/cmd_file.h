/* cmd_file.h -- `file create|ls|stat|truncate|rm`. */
#ifndef PAGEMAPCTL_CMD_FILE_H
#define PAGEMAPCTL_CMD_FILE_H

#include "ctx.h"

/* cmd_file_create -- `file create R/NAME --size S [--mode OCTAL]`. */
int cmd_file_create(struct ctx *c, const struct args *a);

/* cmd_file_ls -- `file ls R`: every file, sorted by name. */
int cmd_file_ls(struct ctx *c, const struct args *a);

/* cmd_file_stat -- `file stat R/NAME`. */
int cmd_file_stat(struct ctx *c, const struct args *a);

/* cmd_file_truncate -- `file truncate R/NAME S [--timeout SECS]`. */
int cmd_file_truncate(struct ctx *c, const struct args *a);

/* cmd_file_rm -- `file rm R/NAME`. */
int cmd_file_rm(struct ctx *c, const struct args *a);

#endif

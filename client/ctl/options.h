/* options.h -- the command line: global options, the command words, each
 * command's options and arguments, usage and help texts. */
#ifndef PAGEMAPCTL_OPTIONS_H
#define PAGEMAPCTL_OPTIONS_H

#include <stdio.h>

#include "ctx.h"

enum opt_id {
	OPT_SIZE = 256,
	OPT_CREATE,
	OPT_MAX_ORDER,
	OPT_TIMEOUT,
	OPT_MODE,
	OPT_OFFSET,
	OPT_LENGTH,
	OPT_RW,
	OPT_IGNORE_RECALL,
	OPT_LEASE,
	OPT_PID,
	OPT_INTERVAL,
	OPT_LIVE,
	OPT_REPAIR,
	OPT_YES,
	OPT_META,
	OPT_JSON, /* global options are accepted after the command too */
	OPT_SOCKET,
	OPT_BYTES,
	OPT_NO_LEGEND,
	OPT_OUTPUT,
	OPT_VERSION,
};

/* The bit of struct command's opts that accepts option @id. */
#define O(id) (1u << ((id)-OPT_SIZE))
#define O_GLOBAL                                                               \
	(O(OPT_JSON) | O(OPT_SOCKET) | O(OPT_BYTES) | O(OPT_NO_LEGEND) |       \
	 O(OPT_OUTPUT))

/* parse_global -- the options before COMMAND; returns the index of the
 * command word, or -(exit status) when there is nothing to run (--help,
 * --version, a usage error: all printed). */
int parse_global(struct ctx *c, int argc, char **argv);

/* find_command -- the table entry named by the first words of @argv;
 * *ret_words says how many words named it. NULL when there is none, after
 * printing usage: *ret_words is then 0 for "GROUP --help" (success), -1
 * for a usage error. */
const struct command *find_command(int argc, char **argv, int *ret_words);

/* parse_command_args -- getopt_long over one command's words; argv[0] is
 * the command's last word. Returns 0, EXIT_USAGE (reported), or -1 for
 * --help. */
int parse_command_args(struct ctx *c, const struct command *cmd, int argc,
		       char **argv, struct args *a);

/* print_command_help -- `COMMAND --help`: usage, what it does, its
 * options, the global ones and the exit status. */
void print_command_help(FILE *out, const struct command *c);

#endif

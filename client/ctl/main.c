/* main.c -- pagemapctl, the pagemapd command-line tool (DESIGN §7,
 * docs/cli.md): find the command, parse its words, run it. */
#include <errno.h>
#include <stdio.h>

#include "ctx.h"
#include "options.h"
#include "output.h"

/* finish_stdout -- a full disk or closed pipe must not exit 0. */
static int
finish_stdout(int status)
{
	if (fflush(stdout) || ferror(stdout)) {
		fprintf(stderr, PROG ": write error: %s\n",
			pagemap_strerror(errno));
		return EXIT_FAIL;
	}
	return status;
}

int
main(int argc, char **argv)
{
	struct ctx c = {0};
	struct args a = {0};
	int first, words, status;

	first = parse_global(&c, argc, argv);
	if (first <= 0)
		return finish_stdout(-first);
	c.cmd = find_command(argc - first, argv + first, &words);
	if (!c.cmd)
		return words == 0 ? finish_stdout(EXIT_OK) : EXIT_USAGE;
	/* The command's argv[0] is its last word, as getopt expects. */
	status = parse_command_args(&c, c.cmd, argc - first - words + 1,
				    argv + first + words - 1, &a);
	if (status < 0) {
		print_command_help(stdout, c.cmd);
		return finish_stdout(EXIT_OK);
	}
	output_style(&(struct out_style){c.bytes, c.no_legend, c.columns});
	if (status == 0)
		status = c.cmd->run(&c, &a);
	pagemap_close(c.pm);
	return finish_stdout(status);
}

/* options.c -- the command line: global options, the command words, each
 * command's options and arguments, usage and help texts (from the table
 * in commands.c). */
#include "options.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const struct option all_options[] = {
	{"size", required_argument, NULL, OPT_SIZE},
	{"create", no_argument, NULL, OPT_CREATE},
	{"max-order", required_argument, NULL, OPT_MAX_ORDER},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"mode", required_argument, NULL, OPT_MODE},
	{"offset", required_argument, NULL, OPT_OFFSET},
	{"length", required_argument, NULL, OPT_LENGTH},
	{"rw", no_argument, NULL, OPT_RW},
	{"ignore-recall", no_argument, NULL, OPT_IGNORE_RECALL},
	{"lease", required_argument, NULL, OPT_LEASE},
	{"pid", required_argument, NULL, OPT_PID},
	{"interval", required_argument, NULL, OPT_INTERVAL},
	{"live", no_argument, NULL, OPT_LIVE},
	{"repair", no_argument, NULL, OPT_REPAIR},
	{"yes", no_argument, NULL, OPT_YES},
	{"meta", required_argument, NULL, OPT_META},
	{"json", no_argument, NULL, OPT_JSON},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"bytes", no_argument, NULL, OPT_BYTES},
	{"no-legend", no_argument, NULL, OPT_NO_LEGEND},
	{"output", required_argument, NULL, OPT_OUTPUT},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* The part of every help text that no command table entry carries. */
#define HELP_GLOBAL_SOCKET                                                     \
	"global options (before or after the command):\n"                      \
	"  --socket PATH  the daemon's socket (default: "                      \
	"$" PAGEMAP_DEFAULT_SOCKET_ENV ",\n"                                   \
	"                 else " PAGEMAP_DEFAULT_SOCKET ")\n"
#define HELP_GLOBAL_JSON                                                       \
	"  --json         print one JSON document on stdout instead of "       \
	"the\n                 human output (fields: pagemapctl(8))\n"
#define HELP_GLOBAL_TABLE                                                      \
	"  --bytes        exact numbers instead of 4K, 1.5G, 1min 5s\n"        \
	"  --no-legend    tables without header and footer lines\n"            \
	"  -o, --output COLUMNS\n"                                             \
	"                 a table's columns: JSON keys, comma-separated\n"
#define HELP_GLOBAL_HELP "  -h, --help     print help and exit\n"
#define HELP_GLOBAL                                                            \
	HELP_GLOBAL_SOCKET HELP_GLOBAL_JSON HELP_GLOBAL_TABLE HELP_GLOBAL_HELP
#define HELP_VALUES                                                            \
	"SIZE, S and N are bytes, hex (0x1000), or take K, M, G, T or KiB, "   \
	"MiB, GiB,\nTiB (powers of 1024). SECS may have up to three "          \
	"decimals (0: wait for\never). OCTAL is a mode such as 0640. R is a "  \
	"region, R/NAME a file in it.\n"
#define HELP_EXIT                                                              \
	"exit status: 0 success, 1 the operation failed (the error is one "    \
	"line on\nstderr), 2 usage error.\n"

/* Subcommand aliases, as ip(8) and ndctl users type them: "list" for
 * "ls"; "show" for "info" (regions) and "stat" (files). */
static const struct {
	const char *group, *alias, *name;
} aliases[] = {
	{NULL, "list", "ls"},
	{"region", "show", "info"},
	{"file", "show", "stat"},
};

/* alias_of -- the subcommand @word of @group names. */
static const char *
alias_of(const char *group, const char *word)
{
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if ((!aliases[i].group || !strcmp(aliases[i].group, group)) &&
		    !strcmp(aliases[i].alias, word))
			return aliases[i].name;
	return word;
}

/* print_usage_line -- "  NAME USAGE" and the summary under it. */
static void
print_usage_line(FILE *out, const struct command *c, const char *name)
{
	fprintf(out, "  %s%s%s\n      %s\n", name, *c->usage ? " " : "",
		c->usage, c->summary);
}

/* print_usage -- the usage of the whole CLI, from the command table. */
static void
print_usage(FILE *out)
{
	fprintf(out, "usage: " PROG
		     " [--socket PATH] [--json] [--bytes] [--no-legend]\n"
		     "                  [-o COLUMNS] COMMAND ...\n"
		     "       " PROG " COMMAND --help | --help | --version\n"
		     "\nInspect and administer a running pagemapd; check "
		     "region files offline.\n\ncommands:\n");
	for (const struct command *c = commands; c->name; c++)
		print_usage_line(out, c, c->name);
	fprintf(out, "\n" HELP_GLOBAL "  --version      print the version "
		     "and exit\n\n" HELP_VALUES "\n" HELP_EXIT
		     "See pagemapctl(8).\n");
}

/* in_group -- whether @c is a two-word command whose first word is @group. */
static bool
in_group(const struct command *c, const char *group)
{
	size_t n = strlen(group);

	return !strncmp(c->name, group, n) && c->name[n] == ' ';
}

/* print_group_usage -- the usage lines of every command of @group. */
static void
print_group_usage(FILE *out, const char *group)
{
	const char *lead = "usage:";

	for (const struct command *c = commands; c->name; c++) {
		if (!in_group(c, group))
			continue;
		fprintf(out, "%s " PROG " %s%s%s\n", lead, c->name,
			*c->usage ? " " : "", c->usage);
		lead = "      ";
	}
}

/* print_group_help -- `GROUP --help`: each command of @group with its
 * summary. */
static void
print_group_help(FILE *out, const char *group)
{
	fprintf(out, "usage: " PROG " %s COMMAND ...\n\ncommands:\n", group);
	for (const struct command *c = commands; c->name; c++)
		if (in_group(c, group))
			print_usage_line(out, c, c->name + strlen(group) + 1);
	fprintf(out,
		"\nRun '" PROG
		" %s COMMAND --help' for one of them.\n\n" HELP_EXIT,
		group);
}

/* print_command_help -- `COMMAND --help`: usage, what it does, its
 * options, the global ones and the exit status. */
void
print_command_help(FILE *out, const struct command *c)
{
	fprintf(out, "usage: " PROG " %s%s%s\n\n%s\n", c->name,
		*c->usage ? " " : "", c->usage, c->summary);
	if (c->help)
		fprintf(out, "\n%s", c->help);
	fprintf(out, "\n%s\n" HELP_EXIT,
		c->opts & CMD_NO_JSON
			? HELP_GLOBAL_SOCKET HELP_GLOBAL_TABLE HELP_GLOBAL_HELP
			: HELP_GLOBAL);
}

/* store_option -- record option @id into @a, or apply a global one. */
static void
store_option(struct ctx *c, struct args *a, int id, const char *val)
{
	switch (id) {
	case OPT_SIZE:
		a->size = val;
		break;
	case OPT_CREATE:
		a->create = true;
		break;
	case OPT_MAX_ORDER:
		a->max_order = val;
		break;
	case OPT_TIMEOUT:
		a->timeout = val;
		break;
	case OPT_MODE:
		a->mode = val;
		break;
	case OPT_OFFSET:
		a->offset = val;
		break;
	case OPT_LENGTH:
		a->length = val;
		break;
	case OPT_RW:
		a->rw = true;
		break;
	case OPT_IGNORE_RECALL:
		a->ignore_recall = true;
		break;
	case OPT_LEASE:
		a->lease = val;
		break;
	case OPT_PID:
		a->pid = val;
		break;
	case OPT_INTERVAL:
		a->interval = val;
		break;
	case OPT_LIVE:
		a->live = true;
		break;
	case OPT_REPAIR:
		a->repair = true;
		break;
	case OPT_YES:
		a->yes = true;
		break;
	case OPT_META:
		a->meta = val;
		break;
	case OPT_JSON:
		c->json = true;
		break;
	case OPT_SOCKET:
		c->socket = val;
		break;
	case OPT_BYTES:
		c->bytes = true;
		break;
	case OPT_NO_LEGEND:
		c->no_legend = true;
		break;
	case OPT_OUTPUT:
		c->columns = val;
		break;
	}
}

/* add_positional -- count one positional argument for @cmd. */
static int
add_positional(const struct command *cmd, struct args *a, const char *s)
{
	if (a->npos == cmd->max_pos)
		return usage_error(cmd, "unexpected argument '%s'", s);
	a->pos[a->npos++] = s;
	return 0;
}

/* parse_command_args -- getopt_long over one command's words; argv[0] is
 * the command's last word. Options may come after positional arguments,
 * even with POSIXLY_CORRECT set, because "-" hands them back in order.
 * Returns 0, EXIT_USAGE, or -1 for --help. */
int
parse_command_args(struct ctx *c, const struct command *cmd, int argc,
		   char **argv, struct args *a)
{
	unsigned allowed = cmd->opts | O_GLOBAL;
	struct option opts[ARRAY_SIZE(all_options)];
	size_t n = 0;
	int ch, err;

	for (const struct option *o = all_options; o->name; o++)
		if (o->val == 'h' || (allowed & O(o->val)))
			opts[n++] = *o;
	opts[n] = (struct option){0};
	optind = 0; /* glibc: start a fresh scan */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "-ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			store_option(c, a, OPT_OUTPUT, optarg);
			break;
		case 1:
			if ((err = add_positional(cmd, a, optarg)))
				return err;
			break;
		case 'h':
			return -1;
		case '?':
			if (optopt >= OPT_SIZE || optopt == 'o')
				return usage_error(cmd,
						   "option '%s' needs a value",
						   argv[optind - 1]);
			return usage_error(cmd, "unknown option '%s'",
					   argv[optind - 1]);
		default:
			store_option(c, a, ch, optarg);
		}
	}
	for (; optind < argc; optind++) /* after "--" */
		if ((err = add_positional(cmd, a, argv[optind])))
			return err;
	if (a->npos < cmd->min_pos)
		return usage_error(cmd, "missing argument");
	return 0;
}

/* find_command -- the table entry named by the first words of @argv;
 * *ret_words says how many words named it. NULL when there is none, after
 * printing usage: *ret_words is then 0 for "GROUP --help" (success), -1
 * for a usage error. */
const struct command *
find_command(int argc, char **argv, int *ret_words)
{
	bool group_known = false;
	size_t n = strlen(argv[0]);
	const char *sub = argc > 1 ? alias_of(argv[0], argv[1]) : NULL;

	for (const struct command *c = commands; c->name; c++) {
		if (!strcmp(c->name, argv[0])) {
			*ret_words = 1;
			return c;
		}
		if (!in_group(c, argv[0]))
			continue;
		group_known = true;
		if (sub && !strcmp(c->name + n + 1, sub)) {
			*ret_words = 2;
			return c;
		}
	}
	if (!group_known) {
		usage_error(NULL, "unknown command '%s'", argv[0]);
		*ret_words = -1;
		return NULL;
	}
	if (argc > 1 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		print_group_help(stdout, argv[0]);
		*ret_words = 0;
		return NULL;
	}
	if (argc > 1)
		fprintf(stderr, PROG ": %s: unknown subcommand '%s'\n", argv[0],
			argv[1]);
	else
		fprintf(stderr, PROG ": %s: missing subcommand\n", argv[0]);
	print_group_usage(stderr, argv[0]);
	*ret_words = -1;
	return NULL;
}

/* parse_global -- the options before COMMAND; returns the index of the
 * command word, or -(exit status) when there is nothing to run. */
int
parse_global(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"json", no_argument, NULL, OPT_JSON},
		{"bytes", no_argument, NULL, OPT_BYTES},
		{"no-legend", no_argument, NULL, OPT_NO_LEGEND},
		{"output", required_argument, NULL, OPT_OUTPUT},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	int ch;

	opterr = 0;
	/* "+": stop at the command word; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'h':
			print_usage(stdout);
			return -EXIT_OK;
		case OPT_VERSION:
			printf(PROG " %s\n", PAGEMAPD_VERSION_STRING);
			return -EXIT_OK;
		case OPT_SOCKET:
			c->socket = optarg;
			break;
		case OPT_JSON:
		case OPT_BYTES:
		case OPT_NO_LEGEND:
		case OPT_OUTPUT:
			store_option(c, NULL, ch, optarg);
			break;
		case 'o':
			store_option(c, NULL, OPT_OUTPUT, optarg);
			break;
		default:
			if (optopt >= OPT_SIZE || optopt == 'o')
				return -usage_error(NULL,
						    "option '%s' needs a value",
						    argv[optind - 1]);
			return -usage_error(NULL, "unknown option '%s'",
					    argv[optind - 1]);
		}
	}
	if (optind == argc)
		return -usage_error(NULL, "missing command");
	return optind;
}

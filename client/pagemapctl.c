/* pagemapctl.c -- the pagemapd command-line tool (DESIGN §7, docs/cli.md). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fsck.h"
#include "pagemap.h"

/*
 * Exit status (documented in --help, pagemapctl(8) and docs/cli.md): 0
 * success, 1 the operation failed (daemon error, no daemon, fsck found
 * problems), 2 the command line was wrong. Every failure prints exactly one
 * line on stderr; with --json, stdout carries exactly one JSON document
 * when the command produced a result and nothing otherwise.
 */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define PROG "pagemapctl"
#define MAX_POS 2 /* positional arguments any command takes */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- small utilities -------------------------------------------------- */

/* die_oom -- a CLI has no better answer to malloc failure than to stop. */
static void
die_oom(void)
{
	fprintf(stderr, PROG ": out of memory\n");
	exit(EXIT_FAIL);
}

/* xstrndup -- strndup() that cannot fail. */
static char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		die_oom();
	return p;
}

/* ---- argument parsing helpers (pure) ---------------------------------- */

/* parse_u64 -- a plain decimal number: digits only, no sign, no spaces;
 * the digits consumed end at *ret_end. */
static int
parse_u64(const char *s, uint64_t *ret, const char **ret_end)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	*ret_end = p;
	return 0;
}

/* parse_size -- "4096", "64K", "2M", "1G", "1T" (powers of 1024, either
 * case) into bytes; anything else, a sign or an overflow is an error. */
static int
parse_size(const char *s, uint64_t *ret)
{
	static const char suffixes[] = "KMGT";
	const char *end, *suf;
	uint64_t v;
	unsigned shift = 0;
	int err = parse_u64(s, &v, &end);

	if (err)
		return err;
	if (*end) {
		char c = (char)(*end >= 'a' && *end <= 'z' ? *end - 32 : *end);

		suf = strchr(suffixes, c);
		if (!suf || end[1])
			return -EINVAL;
		shift = 10 * (unsigned)(suf - suffixes + 1);
	}
	if (shift && v > UINT64_MAX >> shift)
		return -ERANGE;
	*ret = v << shift;
	return 0;
}

/* parse_uint -- a plain decimal number no larger than @max. */
static int
parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	const char *end;
	uint64_t v;
	int err = parse_u64(s, &v, &end);

	if (err)
		return err;
	if (*end)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* parse_mode -- permission bits in octal, 0 .. 07777. */
static int
parse_mode(const char *s, unsigned *ret)
{
	unsigned v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -EINVAL;
		v = v * 8 + (unsigned)(*s - '0');
		if (v > 07777)
			return -ERANGE;
	}
	*ret = v;
	return 0;
}

/* api_timeout -- a --timeout (0: for ever) as libpagemap's timeout_ms
 * (< 0: for ever). */
static int
api_timeout(uint32_t ms)
{
	if (ms == 0)
		return -1;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}

/* parse_timeout -- seconds, optionally with up to three decimals ("2",
 * "0.5"), into milliseconds that fit the protocol's uint32. */
static int
parse_timeout(const char *s, uint32_t *ret_ms)
{
	const char *end;
	uint64_t sec, ms = 0;
	int err = parse_u64(s, &sec, &end);

	if (err)
		return err;
	if (*end == '.') {
		unsigned digits = 0;

		for (end++; *end >= '0' && *end <= '9'; end++) {
			if (++digits > 3)
				return -EINVAL;
			ms = ms * 10 + (uint64_t)(*end - '0');
		}
		if (!digits)
			return -EINVAL;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*end)
		return -EINVAL;
	if (sec > UINT32_MAX / 1000 || sec * 1000 + ms > UINT32_MAX)
		return -ERANGE;
	*ret_ms = (uint32_t)(sec * 1000 + ms);
	return 0;
}

/* split_target -- "REGION/NAME" into two strings to free; the name is
 * everything after the first slash. */
static int
split_target(const char *s, char **ret_region, char **ret_name)
{
	const char *slash = strchr(s, '/');

	if (!slash || slash == s || !slash[1])
		return -EINVAL;
	*ret_region = xstrndup(s, (size_t)(slash - s));
	*ret_name = xstrndup(slash + 1, strlen(slash + 1));
	return 0;
}

/* absolute_path -- @path made absolute against the current directory (to
 * free), because the daemon resolves it in its own. Not canonicalised: with
 * --create the file need not exist yet. */
static char *
absolute_path(const char *path)
{
	char *cwd, *p;

	if (path[0] == '/')
		return xstrndup(path, strlen(path));
	cwd = getcwd(NULL, 0);
	if (!cwd)
		return NULL;
	if (asprintf(&p, "%s/%s", strcmp(cwd, "/") ? cwd : "", path) < 0)
		die_oom();
	free(cwd);
	return p;
}

/* ---- the command table and option parsing ----------------------------- */

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
	OPT_JSON, /* global options are accepted after the command too */
	OPT_SOCKET,
	OPT_VERSION,
};

#define O(id) (1u << ((id)-OPT_SIZE))
#define O_GLOBAL (O(OPT_JSON) | O(OPT_SOCKET))

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
	{"json", no_argument, NULL, OPT_JSON},
	{"socket", required_argument, NULL, OPT_SOCKET},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* What one command invocation said; values are parsed by the command. */
struct args {
	const char *pos[MAX_POS];
	int npos;
	const char *size, *max_order, *timeout, *mode;
	const char *offset, *length, *lease, *pid, *interval;
	bool create, rw, ignore_recall;
};

struct ctx {
	const char *socket; /* --socket, else NULL: the library's default */
	bool json;
	struct pagemap *pm; /* connected on first use */
	const struct command *cmd;
};

struct command {
	const char *name;  /* one or two words: "status", "file ls" */
	const char *usage; /* arguments, for the usage line */
	unsigned opts;	   /* O(...) bits accepted, besides globals */
	int min_pos, max_pos;
	int (*run)(struct ctx *c, const struct args *a);
	const char *summary; /* one line for the command lists */
	const char *help;    /* more paragraphs and "  --option  text" lines
				for `COMMAND --help`, or NULL */
};

static const struct command commands[];

/* The part of every help text that no command table entry carries. */
#define HELP_GLOBAL                                                          \
	"global options (before or after the command):\n"                   \
	"  --socket PATH  the daemon's socket (default: "                    \
	"$" PAGEMAP_DEFAULT_SOCKET_ENV ",\n"                                 \
	"                 else " PAGEMAP_DEFAULT_SOCKET ")\n"                \
	"  --json         print one JSON document on stdout instead of "     \
	"the\n                 human output (fields: pagemapctl(8))\n"       \
	"  -h, --help     print help and exit\n"
#define HELP_VALUES                                                          \
	"SIZE, S and N take a K, M, G or T suffix (powers of 1024); SECS "   \
	"may have\nup to three decimals (0: wait for ever); OCTAL is a "     \
	"mode such as 0640;\nR is a region, R/NAME a file in it.\n"
#define HELP_EXIT                                                            \
	"exit status: 0 success, 1 the operation failed (the error is one "  \
	"line on\nstderr), 2 usage error.\n"

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
	fprintf(out, "usage: " PROG " [--socket PATH] [--json] COMMAND ...\n"
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
	fprintf(out, "\nRun '" PROG " %s COMMAND --help' for one of them.\n\n"
		     HELP_EXIT, group);
}

/* print_command_help -- `COMMAND --help`: usage, what it does, its
 * options, the global ones and the exit status. */
static void
print_command_help(FILE *out, const struct command *c)
{
	fprintf(out, "usage: " PROG " %s%s%s\n\n%s\n", c->name,
		*c->usage ? " " : "", c->usage, c->summary);
	if (c->help)
		fprintf(out, "\n%s", c->help);
	fprintf(out, "\n" HELP_GLOBAL "\n" HELP_EXIT);
}

/* usage_error -- report a bad command line for @cmd (NULL: in general). */
static int
usage_error(const struct command *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	if (cmd)
		fprintf(stderr, "%s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cmd)
		fprintf(stderr, "usage: " PROG " %s%s%s\n", cmd->name,
			*cmd->usage ? " " : "", cmd->usage);
	else
		fprintf(stderr, "usage: " PROG " [--socket PATH] [--json] "
				"COMMAND ... (see " PROG " --help)\n");
	return EXIT_USAGE;
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
	case OPT_JSON:
		c->json = true;
		break;
	case OPT_SOCKET:
		c->socket = val;
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
static int
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
	while ((ch = getopt_long(argc, argv, "-h", opts, NULL)) != -1) {
		switch (ch) {
		case 1:
			if ((err = add_positional(cmd, a, optarg)))
				return err;
			break;
		case 'h':
			return -1;
		case '?':
			if (optopt >= OPT_SIZE)
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
static const struct command *
find_command(int argc, char **argv, int *ret_words)
{
	bool group_known = false;
	size_t n = strlen(argv[0]);

	for (const struct command *c = commands; c->name; c++) {
		if (!strcmp(c->name, argv[0])) {
			*ret_words = 1;
			return c;
		}
		if (!in_group(c, argv[0]))
			continue;
		group_known = true;
		if (argc > 1 && !strcmp(c->name + n + 1, argv[1])) {
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

/* ---- reporting -------------------------------------------------------- */

/* fail_with -- the one stderr line for a failed operation. */
static int
fail_with(struct ctx *c, int err, const char *fmt, ...)
{
	const char *msg = c->pm ? pagemap_last_message(c->pm) : "";
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s", pagemap_strerror(err));
	if (*msg)
		fprintf(stderr, " (%s)", msg);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

/* bad_value -- a usage error for an option or argument value. */
static int
bad_value(struct ctx *c, const char *what, const char *val, int err)
{
	return usage_error(c->cmd, "invalid %s '%s'%s", what, val,
			   err == -ERANGE ? " (out of range)" : "");
}

/* connect_daemon -- connect @c to the daemon; EXIT_OK or EXIT_FAIL
 * (reported). */
static int
connect_daemon(struct ctx *c)
{
	const char *path = c->socket ? c->socket : pagemap_default_socket();
	int err = pagemap_connect(path, PROG, &c->pm);

	if (err)
		return fail_with(c, err, "connect %s", path);
	return 0;
}

/* print_json -- emit @o as the command's one JSON document and drop it. */
static int
print_json(json_object *o)
{
	if (!o)
		die_oom();
	puts(json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return EXIT_OK;
}

/* jstr -- add a string member to @o. */
static void
jstr(json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

/* ju64 -- add an integer member to @o (exact for all 64 bits). */
static void
ju64(json_object *o, const char *key, uint64_t v)
{
	json_object_object_add(o, key, json_object_new_uint64(v));
}

/* jbool -- add a boolean member to @o. */
static void
jbool(json_object *o, const char *key, bool v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}

/* jmode -- add "mode" (number) and "mode_octal" ("0644"). */
static void
jmode(json_object *o, unsigned mode)
{
	char buf[16];

	ju64(o, "mode", mode);
	snprintf(buf, sizeof(buf), "%04o", mode);
	jstr(o, "mode_octal", buf);
}

/* region_json -- the region object of docs/cli.md. */
static json_object *
region_json(const struct pagemap_region_info *r)
{
	json_object *o = json_object_new_object();

	if (!o)
		die_oom();
	jstr(o, "name", r->name);
	jstr(o, "path", r->path);
	jstr(o, "kind", r->kind);
	jstr(o, "uuid", r->uuid);
	jstr(o, "state", r->state);
	ju64(o, "size", r->size);
	ju64(o, "data_size", r->data_size);
	ju64(o, "used", r->used);
	ju64(o, "free", r->free);
	ju64(o, "files", r->files);
	ju64(o, "max_files", r->max_files);
	ju64(o, "max_order", r->max_order);
	ju64(o, "uid", r->uid);
	ju64(o, "gid", r->gid);
	jmode(o, r->mode);
	ju64(o, "pins", r->pins);
	ju64(o, "orphans", r->orphans);
	return o;
}

/* file_json -- the file object of docs/cli.md. */
static json_object *
file_json(const struct pagemap_file_info *f)
{
	json_object *o = json_object_new_object();

	if (!o)
		die_oom();
	jstr(o, "region", f->region);
	jstr(o, "name", f->name);
	ju64(o, "ino", f->ino);
	ju64(o, "size", f->size);
	ju64(o, "allocated", f->allocated);
	ju64(o, "uid", f->uid);
	ju64(o, "gid", f->gid);
	jmode(o, f->mode);
	ju64(o, "extents", f->extents);
	ju64(o, "leases", f->leases);
	ju64(o, "grants", f->grants);
	jbool(o, "orphan", f->orphan);
	ju64(o, "mtime_ns", f->mtime_ns);
	return o;
}

/* print_region -- a region as "key: value" lines. */
static void
print_region(const struct pagemap_region_info *r)
{
	printf("name: %s\npath: %s\nkind: %s\nuuid: %s\nstate: %s\n"
	       "size: %" PRIu64 "\ndata_size: %" PRIu64 "\nused: %" PRIu64
	       "\nfree: %" PRIu64 "\nfiles: %" PRIu32 "\nmax_files: %" PRIu32
	       "\nmax_order: %" PRIu32 "\nuid: %" PRIu32 "\ngid: %" PRIu32
	       "\nmode: %04o\npins: %" PRIu64 "\norphans: %" PRIu32 "\n",
	       r->name, r->path, r->kind, r->uuid, r->state, r->size,
	       r->data_size, r->used, r->free, r->files, r->max_files,
	       r->max_order, r->uid, r->gid, r->mode, r->pins, r->orphans);
}

/* format_time -- nanoseconds since the epoch as ISO 8601 UTC. */
static void
format_time(uint64_t ns, char *buf, size_t size)
{
	time_t t = (time_t)(ns / 1000000000u);
	struct tm tm;
	size_t n;

	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, size, "-");
		return;
	}
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%09" PRIu64 "Z", ns % 1000000000u);
}

/* print_file -- a file as "key: value" lines. */
static void
print_file(const struct pagemap_file_info *f)
{
	char mtime[64];

	format_time(f->mtime_ns, mtime, sizeof(mtime));
	printf("region: %s\nname: %s\nino: %" PRIu64 "\nsize: %" PRIu64
	       "\nallocated: %" PRIu64 "\nuid: %" PRIu32 "\ngid: %" PRIu32
	       "\nmode: %04o\nextents: %" PRIu32 "\nleases: %" PRIu32
	       "\ngrants: %" PRIu64 "\norphan: %s\nmtime_ns: %" PRIu64
	       "\nmtime: %s\n",
	       f->region, f->name, f->ino, f->size, f->allocated, f->uid,
	       f->gid, f->mode, f->extents, f->leases, f->grants,
	       f->orphan ? "true" : "false", f->mtime_ns, mtime);
}

/* A table of cells printed with aligned columns under a header line. */
struct table {
	const char *const *head; /* column titles */
	const char *align;	 /* 'l' or 'r' per column */
	size_t ncols, ncells, cap;
	char **cells; /* row-major, ncells a multiple of ncols when printed */
};

/* table_add -- append one cell (printf format) to the current row. */
static void
table_add(struct table *t, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		die_oom();
	va_end(ap);
	if (t->ncells == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		char **p = realloc(t->cells, cap * sizeof(*p));

		if (!p)
			die_oom();
		t->cells = p;
		t->cap = cap;
	}
	t->cells[t->ncells++] = s;
}

/* print_cell -- one cell padded to @width; the last column ends the
 * line without trailing blanks. */
static void
print_cell(FILE *out, const struct table *t, size_t col, const char *s,
	   int width)
{
	bool last = col + 1 == t->ncols;

	if (t->align[col] == 'r')
		fprintf(out, "%*s", width, s);
	else
		fprintf(out, "%-*s", last ? 0 : width, s);
	fputs(last ? "\n" : "  ", out);
}

/* table_fprint -- header and rows with aligned columns on @out; frees the
 * cells. */
static void
table_fprint(FILE *out, struct table *t)
{
	int width[16] = {0};

	assert(t->ncols <= ARRAY_SIZE(width) && strlen(t->align) == t->ncols);
	for (size_t i = 0; i < t->ncols; i++)
		width[i] = (int)strlen(t->head[i]);
	for (size_t i = 0; i < t->ncells; i++) {
		int w = (int)strlen(t->cells[i]);

		if (w > width[i % t->ncols])
			width[i % t->ncols] = w;
	}
	for (size_t i = 0; i < t->ncols; i++)
		print_cell(out, t, i, t->head[i], width[i]);
	for (size_t i = 0; i < t->ncells; i++)
		print_cell(out, t, i % t->ncols, t->cells[i],
			   width[i % t->ncols]);
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->ncells = t->cap = 0;
}

/* table_print -- table_fprint() on stdout. */
static void
table_print(struct table *t)
{
	table_fprint(stdout, t);
}

/* ---- commands --------------------------------------------------------- */

/* cmd_status -- `status`: daemon status and handshake limits. */
static int
cmd_status(struct ctx *c, const struct args *a)
{
	const struct pagemap_limits *l;
	struct pagemap_status *sp;
	const char *sock = c->socket ? c->socket : pagemap_default_socket();
	int err;

	(void)a;
	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_status(c->pm, &sp)))
		return fail_with(c, err, "status");
	struct pagemap_status s = *sp; /* the strings stay in *sp */
	l = pagemap_get_limits(c->pm);
	if (c->json) {
		json_object *o = json_object_new_object(), *lo;

		lo = json_object_new_object();
		if (!o || !lo)
			die_oom();
		jstr(o, "server", s.server);
		jstr(o, "socket", sock);
		ju64(o, "pid", s.pid);
		ju64(o, "uptime_ms", s.uptime_ms);
		ju64(o, "regions", s.regions);
		ju64(o, "clients", s.clients);
		ju64(o, "leases", s.leases);
		ju64(o, "grants", s.grants);
		ju64(o, "pending_ops", s.pending_ops);
		ju64(lo, "max_packet", l->max_packet);
		ju64(lo, "max_leases", l->max_leases);
		ju64(lo, "max_grants", l->max_grants);
		ju64(lo, "max_pending", l->max_pending);
		ju64(lo, "max_folios_per_reply", l->max_folios_per_reply);
		ju64(lo, "max_name", l->max_name);
		json_object_object_add(o, "limits", lo);
		pagemap_free(sp);
		return print_json(o);
	}
	printf("server: %s\nsocket: %s\npid: %" PRIu32 "\nuptime_ms: %" PRIu64
	       "\nregions: %" PRIu32 "\nclients: %" PRIu32 "\nleases: %" PRIu64
	       "\ngrants: %" PRIu64 "\npending_ops: %" PRIu32
	       "\nmax_packet: %" PRIu32 "\nmax_leases: %" PRIu32
	       "\nmax_grants: %" PRIu64 "\nmax_pending: %" PRIu32
	       "\nmax_folios_per_reply: %" PRIu32 "\nmax_name: %" PRIu32 "\n",
	       s.server, sock, s.pid, s.uptime_ms, s.regions, s.clients,
	       s.leases, s.grants, s.pending_ops, l->max_packet, l->max_leases,
	       l->max_grants, l->max_pending, l->max_folios_per_reply,
	       l->max_name);
	pagemap_free(sp);
	return EXIT_OK;
}

/* cmp_region -- order regions by name. */
static int
cmp_region(const void *x, const void *y)
{
	const struct pagemap_region_info *a =
		*(const struct pagemap_region_info *const *)x;
	const struct pagemap_region_info *b =
		*(const struct pagemap_region_info *const *)y;

	return strcmp(a->name, b->name);
}

/* cmd_region_ls -- `region ls`: every region, sorted by name. */
static int
cmd_region_ls(struct ctx *c, const struct args *a)
{
	static const char *const head[] = {"NAME", "KIND",  "SIZE", "USED",
					   "FREE", "FILES", "PATH"};
	struct table t = {head, "llrrrrl", ARRAY_SIZE(head), 0, 0, NULL};
	struct pagemap_region_info **r;
	size_t n;
	int err;

	(void)a;
	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_region_list(c->pm, &r, &n)))
		return fail_with(c, err, "region ls");
	qsort(r, n, sizeof(*r), cmp_region);
	if (c->json) {
		json_object *o = json_object_new_object();
		json_object *arr = json_object_new_array();

		if (!o || !arr)
			die_oom();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, region_json(r[i]));
		json_object_object_add(o, "regions", arr);
		pagemap_free(r);
		return print_json(o);
	}
	for (size_t i = 0; i < n; i++) {
		table_add(&t, "%s", r[i]->name);
		table_add(&t, "%s", r[i]->kind);
		table_add(&t, "%" PRIu64, r[i]->size);
		table_add(&t, "%" PRIu64, r[i]->used);
		table_add(&t, "%" PRIu64, r[i]->free);
		table_add(&t, "%" PRIu32, r[i]->files);
		table_add(&t, "%s", r[i]->path);
	}
	pagemap_free(r);
	table_print(&t);
	return EXIT_OK;
}

/* show_region -- the result of a command that yields one region. */
static int
show_region(struct ctx *c, const struct pagemap_region_info *r)
{
	if (c->json)
		return print_json(region_json(r));
	print_region(r);
	return EXIT_OK;
}

/* cmd_region_info -- `region info R`. */
static int
cmd_region_info(struct ctx *c, const struct args *a)
{
	struct pagemap_region_info *r;
	int err;

	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_region_info(c->pm, a->pos[0], &r)))
		return fail_with(c, err, "region info %s", a->pos[0]);
	err = show_region(c, r);
	pagemap_free(r);
	return err;
}

/* cmd_region_attach -- `region attach R PATH [--size S] [--create]
 * [--max-order N]`. */
static int
cmd_region_attach(struct ctx *c, const struct args *a)
{
	struct pagemap_region_info *r = NULL;
	uint64_t size = 0, order;
	int max_order = -1, err, status;
	char *path;

	if (a->size && (err = parse_size(a->size, &size)))
		return bad_value(c, "size", a->size, err);
	if (a->max_order) {
		if ((err = parse_uint(a->max_order, 63, &order)))
			return bad_value(c, "max order", a->max_order, err);
		max_order = (int)order;
	}
	if (!(path = absolute_path(a->pos[1])))
		return fail_with(c, -errno,
				 "region attach %s: current directory",
				 a->pos[0]);
	status = connect_daemon(c);
	if (status == EXIT_OK) {
		err = pagemap_region_attach(
			c->pm, a->pos[0], path, size, max_order,
			a->create ? PAGEMAP_ATTACH_CREATE : 0, &r);
		status = err ? fail_with(c, err, "region attach %s %s",
					 a->pos[0], path)
			     : show_region(c, r);
	}
	pagemap_free(r);
	free(path);
	return status;
}

/* cmd_region_detach -- `region detach R [--timeout SECS]`. */
static int
cmd_region_detach(struct ctx *c, const struct args *a)
{
	uint32_t timeout_ms = 0;
	int err;

	if (a->timeout && (err = parse_timeout(a->timeout, &timeout_ms)))
		return bad_value(c, "timeout", a->timeout, err);
	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_region_detach(c->pm, a->pos[0],
					 api_timeout(timeout_ms))))
		return fail_with(c, err, "region detach %s", a->pos[0]);
	if (c->json) {
		json_object *o = json_object_new_object();

		if (!o)
			die_oom();
		jstr(o, "region", a->pos[0]);
		return print_json(o);
	}
	return EXIT_OK;
}

/* show_file -- the result of a command that yields one file. */
static int
show_file(struct ctx *c, const struct pagemap_file_info *f)
{
	if (c->json)
		return print_json(file_json(f));
	print_file(f);
	return EXIT_OK;
}

/* with_target -- run @fn on the REGION/NAME in the first positional. */
static int
with_target(struct ctx *c, const struct args *a,
	    int (*fn)(struct ctx *, const struct args *, const char *,
		      const char *))
{
	char *region, *name;
	int ret;

	if (split_target(a->pos[0], &region, &name))
		return usage_error(c->cmd, "expected REGION/NAME, got '%s'",
				   a->pos[0]);
	ret = fn(c, a, region, name);
	free(region);
	free(name);
	return ret;
}

/* file_create -- `file create R/NAME --size S [--mode OCTAL]`. */
static int
file_create(struct ctx *c, const struct args *a, const char *region,
	    const char *name)
{
	struct pagemap_file_info *f;
	uint64_t size;
	unsigned mode = 0644;
	int err;

	if (!a->size)
		return usage_error(c->cmd, "--size is required");
	if ((err = parse_size(a->size, &size)))
		return bad_value(c, "size", a->size, err);
	if (a->mode && (err = parse_mode(a->mode, &mode)))
		return bad_value(c, "mode", a->mode, err);
	if ((err = connect_daemon(c)))
		return err;
	err = pagemap_file_create(c->pm, region, name, size, (int)mode, &f);
	if (err)
		return fail_with(c, err, "file create %s", a->pos[0]);
	err = show_file(c, f);
	pagemap_free(f);
	return err;
}

/* cmd_file_create -- see file_create(). */
static int
cmd_file_create(struct ctx *c, const struct args *a)
{
	return with_target(c, a, file_create);
}

/* cmp_file -- order files by name (orphans, unnamed, first), then ino. */
static int
cmp_file(const void *x, const void *y)
{
	const struct pagemap_file_info *a =
		*(const struct pagemap_file_info *const *)x;
	const struct pagemap_file_info *b =
		*(const struct pagemap_file_info *const *)y;
	int r = strcmp(a->name, b->name);

	if (r)
		return r;
	return a->ino < b->ino ? -1 : a->ino > b->ino;
}

/* cmd_file_ls -- `file ls R`: every file, sorted by name. */
static int
cmd_file_ls(struct ctx *c, const struct args *a)
{
	static const char *const head[] = {"NAME", "SIZE", "ALLOCATED", "MODE",
					   "UID",  "GID",  "EXTENTS"};
	struct table t = {head, "lrrrrrr", ARRAY_SIZE(head), 0, 0, NULL};
	struct pagemap_file_info **f;
	size_t n;
	int err;

	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_file_list(c->pm, a->pos[0], &f, &n)))
		return fail_with(c, err, "file ls %s", a->pos[0]);
	qsort(f, n, sizeof(*f), cmp_file);
	if (c->json) {
		json_object *o = json_object_new_object();
		json_object *arr = json_object_new_array();

		if (!o || !arr)
			die_oom();
		jstr(o, "region", a->pos[0]);
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, file_json(f[i]));
		json_object_object_add(o, "files", arr);
		pagemap_free(f);
		return print_json(o);
	}
	for (size_t i = 0; i < n; i++) {
		/* An orphan has no name; show it by inode number. */
		if (f[i]->orphan && !f[i]->name[0])
			table_add(&t, "<orphan:%" PRIu64 ">", f[i]->ino);
		else
			table_add(&t, "%s", f[i]->name);
		table_add(&t, "%" PRIu64, f[i]->size);
		table_add(&t, "%" PRIu64, f[i]->allocated);
		table_add(&t, "%04o", f[i]->mode);
		table_add(&t, "%" PRIu32, f[i]->uid);
		table_add(&t, "%" PRIu32, f[i]->gid);
		table_add(&t, "%" PRIu32, f[i]->extents);
	}
	pagemap_free(f);
	table_print(&t);
	return EXIT_OK;
}

/* file_stat -- `file stat R/NAME`. */
static int
file_stat(struct ctx *c, const struct args *a, const char *region,
	  const char *name)
{
	struct pagemap_file_info *f;
	int err;

	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_file_stat(c->pm, region, name, &f)))
		return fail_with(c, err, "file stat %s", a->pos[0]);
	err = show_file(c, f);
	pagemap_free(f);
	return err;
}

/* cmd_file_stat -- see file_stat(). */
static int
cmd_file_stat(struct ctx *c, const struct args *a)
{
	return with_target(c, a, file_stat);
}

/* file_truncate -- `file truncate R/NAME S [--timeout SECS]`. */
static int
file_truncate(struct ctx *c, const struct args *a, const char *region,
	      const char *name)
{
	struct pagemap_file_info *f;
	uint32_t timeout_ms = 0;
	uint64_t size;
	int err;

	if ((err = parse_size(a->pos[1], &size)))
		return bad_value(c, "size", a->pos[1], err);
	if (a->timeout && (err = parse_timeout(a->timeout, &timeout_ms)))
		return bad_value(c, "timeout", a->timeout, err);
	if ((err = connect_daemon(c)))
		return err;
	err = pagemap_file_truncate(c->pm, region, name, size,
				    api_timeout(timeout_ms), &f);
	if (err)
		return fail_with(c, err, "file truncate %s", a->pos[0]);
	err = show_file(c, f);
	pagemap_free(f);
	return err;
}

/* cmd_file_truncate -- see file_truncate(). */
static int
cmd_file_truncate(struct ctx *c, const struct args *a)
{
	return with_target(c, a, file_truncate);
}

/* file_rm -- `file rm R/NAME`. */
static int
file_rm(struct ctx *c, const struct args *a, const char *region,
	const char *name)
{
	int err;

	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_file_remove(c->pm, region, name)))
		return fail_with(c, err, "file rm %s", a->pos[0]);
	if (c->json) {
		json_object *o = json_object_new_object();

		if (!o)
			die_oom();
		jstr(o, "region", region);
		jstr(o, "name", name);
		return print_json(o);
	}
	return EXIT_OK;
}

/* cmd_file_rm -- see file_rm(). */
static int
cmd_file_rm(struct ctx *c, const struct args *a)
{
	return with_target(c, a, file_rm);
}

/* fsck_json -- the report and the problem lines @log (one per line). */
static json_object *
fsck_json(const char *path, const struct fsck_report *r, char *log)
{
	json_object *o = json_object_new_object();
	json_object *problems = json_object_new_array();

	if (!o || !problems)
		die_oom();
	jstr(o, "path", path);
	jbool(o, "clean", r->errors == 0);
	jstr(o, "uuid", r->uuid);
	ju64(o, "region_size", r->region_size);
	ju64(o, "max_order", r->max_order);
	ju64(o, "files", r->files);
	ju64(o, "orphans", r->orphans);
	ju64(o, "extents", r->extents);
	ju64(o, "used_pages", r->used_pages);
	ju64(o, "free_pages", r->free_pages);
	jbool(o, "journal_replayed", r->journal_replayed);
	ju64(o, "errors", r->errors);
	jstr(o, "first_error", r->first_error);
	for (char *save, *line = strtok_r(log, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		json_object_array_add(problems, json_object_new_string(line));
	json_object_object_add(o, "problems", problems);
	return o;
}

/* cmd_fsck -- `fsck PATH`: offline check; exit 1 when problems are
 * found or the file cannot be checked. */
static int
cmd_fsck(struct ctx *c, const struct args *a)
{
	const char *path = a->pos[0];
	struct fsck_report r = {0};
	char *log = NULL;
	size_t log_len = 0;
	FILE *out = stdout;
	int err;

	/* With --json the problem lines go into the document instead. */
	if (c->json && !(out = open_memstream(&log, &log_len)))
		die_oom();
	err = fsck_region(path, &r, out);
	if (c->json && fclose(out))
		die_oom();
	if (err) {
		free(log);
		fprintf(stderr, PROG ": fsck %s: %s%s%s%s\n", path,
			pagemap_strerror(err), r.first_error[0] ? " (" : "",
			r.first_error, r.first_error[0] ? ")" : "");
		return EXIT_FAIL;
	}
	if (c->json) {
		print_json(fsck_json(path, &r, log));
		free(log);
		return r.errors ? EXIT_FAIL : EXIT_OK;
	}
	if (r.errors)
		printf("%s: %" PRIu32 " error%s", path, r.errors,
		       r.errors == 1 ? "" : "s");
	else
		printf("%s: clean", path);
	printf(", %" PRIu32 " files, %" PRIu32 " orphans, %" PRIu64
	       " extents, %" PRIu64 " of %" PRIu64 " data pages used%s\n",
	       r.files, r.orphans, r.extents, r.used_pages,
	       r.used_pages + r.free_pages,
	       r.journal_replayed ? ", journal replayed" : "");
	return r.errors ? EXIT_FAIL : EXIT_OK;
}

/* ---- leases, grants and data ------------------------------------------ */

#define WINDOW (64ull << 20) /* bytes mapped at a time by read and write */

/* fail_local -- the one stderr line for a failure the CLI itself
 * explains with @detail (instead of a daemon message). */
static int
fail_local(int err, const char *detail, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, PROG ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s (%s)\n", pagemap_strerror(err), detail);
	return EXIT_FAIL;
}

/* access_name -- "read" or "write". */
static const char *
access_name(enum pagemap_access a)
{
	return a == PAGEMAP_WRITE ? "write" : "read";
}

/* parse_offset_length -- --offset and --length; *ret_has_length says
 * whether a length was given. */
static int
parse_offset_length(struct ctx *c, const struct args *a, uint64_t *ret_off,
		    uint64_t *ret_len, bool *ret_has_length)
{
	int err;

	*ret_off = 0;
	*ret_len = 0;
	*ret_has_length = a->length != NULL;
	if (a->offset && (err = parse_size(a->offset, ret_off)))
		return bad_value(c, "offset", a->offset, err);
	if (a->length && (err = parse_size(a->length, ret_len)))
		return bad_value(c, "length", a->length, err);
	return 0;
}

/* take_lease -- connect and take a lease on @region/@name. */
static int
take_lease(struct ctx *c, const char *what, const char *region,
	   const char *name, enum pagemap_access access,
	   struct pagemap_lease **ret)
{
	int err;

	if ((err = connect_daemon(c)))
		return err;
	err = pagemap_lease_acquire(c->pm, region, name, access, ret);
	if (err)
		return fail_with(c, err, "%s %s/%s", what, region, name);
	return 0;
}

/* let_go -- unmap @m (may be NULL) and release @l; the first failure is
 * reported. Returns @status, or EXIT_FAIL when letting go failed. */
static int
let_go(struct ctx *c, const char *what, const char *target,
       struct pagemap_mapping *m, struct pagemap_lease *l, int status)
{
	int err = m ? pagemap_unmap(m) : 0;

	if (err) {
		if (status == EXIT_OK)
			status = fail_with(c, err, "%s %s: unmap", what,
					   target);
		/* The lease keeps whatever could not be returned; the
		 * daemon ends it when this process exits. */
		return status;
	}
	err = pagemap_lease_release(l);
	if (err && status == EXIT_OK)
		status = fail_with(c, err, "%s %s: release", what, target);
	return status;
}

/* read_full -- read up to @n bytes, stopping early only at end of file. */
static int
read_full(int fd, char *buf, size_t n, size_t *ret_got)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*ret_got = got;
	return 0;
}

/* What `write` sends: all of stdin is read (or, for a regular file,
 * measured) before the first byte is written, so data that would run past
 * the end of the file is refused without writing any of it. */
struct input {
	bool buffered;	/* else stdin is a regular file, read per window */
	uint64_t len;	/* bytes in all */
	char **win;	/* buffered: WINDOW bytes each, the last shorter */
	size_t nwin;
};

/* input_free -- release the buffered windows. */
static void
input_free(struct input *in)
{
	for (size_t i = 0; i < in->nwin; i++)
		free(in->win[i]);
	free(in->win);
}

/* input_read -- measure or buffer stdin, reading at most @limit + 1
 * bytes: one more than fits shows that the data is too long. */
static int
input_read(struct input *in, uint64_t limit)
{
	struct stat st;
	off_t pos;

	memset(in, 0, sizeof(*in));
	if (!fstat(STDIN_FILENO, &st) && S_ISREG(st.st_mode) &&
	    (pos = lseek(STDIN_FILENO, 0, SEEK_CUR)) >= 0) {
		in->len = st.st_size > pos ? (uint64_t)(st.st_size - pos) : 0;
		return 0;
	}
	in->buffered = true;
	while (in->len <= limit) {
		uint64_t want = limit - in->len + 1;
		size_t n = (size_t)(want < WINDOW ? want : WINDOW), got;
		char **w;
		char *buf;
		int err;

		/* A window is allocated at the size it may need: a write
		 * of a few bytes into a small file stays small. */
		if (!(buf = malloc(n)))
			die_oom();
		if ((err = read_full(STDIN_FILENO, buf, n, &got))) {
			free(buf);
			return err;
		}
		if (got == 0) {
			free(buf);
			break;
		}
		if (!(w = realloc(in->win, (in->nwin + 1) * sizeof(*w))))
			die_oom();
		in->win = w;
		in->win[in->nwin++] = buf;
		in->len += got;
		if (got < n)
			break;
	}
	return 0;
}

/* write_windows -- copy the input into the file from @offset on, one
 * mapped, persisted and unmapped window at a time. */
static int
write_windows(struct ctx *c, const char *target, struct pagemap_lease *l,
	      uint64_t offset, struct input *in)
{
	for (uint64_t pos = 0; pos < in->len;) {
		uint64_t n = in->len - pos < WINDOW ? in->len - pos : WINDOW;
		struct pagemap_mapping *m;
		char *dst;
		size_t got;
		int err;

		err = pagemap_map(l, offset + pos, n, PAGEMAP_WRITE, &m);
		if (err)
			return fail_with(c, err, "write %s: map %" PRIu64
					 " bytes at offset %" PRIu64,
					 target, n, offset + pos);
		dst = (char *)pagemap_mapping_addr(m) +
		      (offset + pos - pagemap_mapping_offset(m));
		if (in->buffered) {
			memcpy(dst, in->win[pos / WINDOW], (size_t)n);
		} else if ((err = read_full(STDIN_FILENO, dst, (size_t)n,
					    &got)) ||
			   got != n) {
			pagemap_unmap(m);
			return fail_local(err ? err : -EIO,
					  err ? "reading stdin"
					      : "stdin became shorter while "
						"being read",
					  "write %s", target);
		}
		err = pagemap_persist(m, dst, (size_t)n);
		if (err) {
			pagemap_unmap(m);
			return fail_with(c, err, "write %s: persist", target);
		}
		if ((err = pagemap_unmap(m)))
			return fail_with(c, err, "write %s: unmap", target);
		pos += n;
	}
	return EXIT_OK;
}

/* write_file -- `write R/NAME [--offset N]`: stdin into the file through
 * a write lease; the file is never grown. */
static int
write_file(struct ctx *c, const struct args *a, const char *region,
	   const char *name)
{
	struct pagemap_lease *l;
	struct input in;
	uint64_t offset, len, size;
	bool has_len;
	char detail[160];
	int err, status;

	if ((status = parse_offset_length(c, a, &offset, &len, &has_len)))
		return status;
	if ((status = take_lease(c, "write", region, name, PAGEMAP_WRITE,
				 &l)))
		return status;
	size = pagemap_lease_size(l);
	if (offset > size) {
		snprintf(detail, sizeof(detail),
			 "offset %" PRIu64 " is past end of file (size %" PRIu64
			 ")", offset, size);
		status = fail_local(-ENXIO, detail, "write %s", a->pos[0]);
		return let_go(c, "write", a->pos[0], NULL, l, status);
	}
	if ((err = input_read(&in, size - offset))) {
		status = fail_local(err, "reading stdin", "write %s",
				    a->pos[0]);
		return let_go(c, "write", a->pos[0], NULL, l, status);
	}
	if (in.len > size - offset) {
		snprintf(detail, sizeof(detail),
			 "%s%" PRIu64 " bytes at offset %" PRIu64
			 " run past end of file (size %" PRIu64 ")",
			 in.buffered ? "more than " : "",
			 in.buffered ? size - offset : in.len, offset, size);
		status = fail_local(-ENXIO, detail, "write %s", a->pos[0]);
	} else {
		status = write_windows(c, a->pos[0], l, offset, &in);
	}
	input_free(&in);
	status = let_go(c, "write", a->pos[0], NULL, l, status);
	if (status == EXIT_OK && c->json) {
		json_object *o = json_object_new_object();

		if (!o)
			die_oom();
		jstr(o, "region", region);
		jstr(o, "name", name);
		ju64(o, "offset", offset);
		ju64(o, "length", in.len);
		return print_json(o);
	}
	return status;
}

/* cmd_write -- see write_file(). */
static int
cmd_write(struct ctx *c, const struct args *a)
{
	return with_target(c, a, write_file);
}

/* read_file -- `read R/NAME [--offset N] [--length N]`: the bytes to
 * stdout through a read lease, clamped at the end of the file. */
static int
read_file(struct ctx *c, const struct args *a, const char *region,
	  const char *name)
{
	struct pagemap_lease *l;
	uint64_t offset, len, size;
	bool has_len;
	char detail[160];
	int err, status;

	if ((status = parse_offset_length(c, a, &offset, &len, &has_len)))
		return status;
	if ((status = take_lease(c, "read", region, name, PAGEMAP_READ, &l)))
		return status;
	size = pagemap_lease_size(l);
	if (offset > size) {
		snprintf(detail, sizeof(detail),
			 "offset %" PRIu64 " is past end of file (size %" PRIu64
			 ")", offset, size);
		status = fail_local(-ENXIO, detail, "read %s", a->pos[0]);
		return let_go(c, "read", a->pos[0], NULL, l, status);
	}
	if (!has_len || len > size - offset)
		len = size - offset;
	for (uint64_t pos = 0; pos < len && status == EXIT_OK;) {
		uint64_t n = len - pos < WINDOW ? len - pos : WINDOW;
		struct pagemap_mapping *m;
		const char *src;

		err = pagemap_map(l, offset + pos, n, PAGEMAP_READ, &m);
		if (err) {
			status = fail_with(c, err,
					   "read %s: map %" PRIu64
					   " bytes at offset %" PRIu64,
					   a->pos[0], n, offset + pos);
			break;
		}
		src = (const char *)pagemap_mapping_addr(m) +
		      (offset + pos - pagemap_mapping_offset(m));
		if (fwrite(src, 1, (size_t)n, stdout) != n)
			status = fail_local(errno ? -errno : -EIO, "stdout",
					    "read %s", a->pos[0]);
		if ((err = pagemap_unmap(m)) && status == EXIT_OK)
			status = fail_with(c, err, "read %s: unmap",
					   a->pos[0]);
		pos += n;
	}
	return let_go(c, "read", a->pos[0], NULL, l, status);
}

/* cmd_read -- see read_file(); --json does not apply to raw bytes. */
static int
cmd_read(struct ctx *c, const struct args *a)
{
	if (c->json)
		return usage_error(c->cmd, "--json does not apply: read "
					   "prints the file's bytes");
	return with_target(c, a, read_file);
}

/* What `hold` waits for besides stdin and signals. */
struct hold {
	const char *target;
	uint64_t lease_id;
	bool ignore_recall;
	bool recalled;
	bool shutdown; /* the recall was the daemon's shutdown */
};

/* hold_recall -- the recall handler of `hold`: let go, or say that the
 * recall is ignored. Recalls of other leases are not ours. */
static void
hold_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t lease_id,
	    uint64_t offset, uint64_t length, enum pagemap_recall_reason why,
	    void *arg)
{
	const char *reason = pagemap_recall_reason_name(why);
	struct hold *h = arg;

	(void)pm;
	(void)l;
	if (lease_id != h->lease_id)
		return;
	if (!h->ignore_recall) {
		h->recalled = true;
		if (!strcmp(reason, "shutdown"))
			h->shutdown = true;
		return;
	}
	if (length)
		fprintf(stderr,
			PROG ": hold %s: recall of lease %" PRIu64
			     " (%s, offset %" PRIu64 " length %" PRIu64
			     ") ignored\n",
			h->target, lease_id, reason, offset, length);
	else
		fprintf(stderr,
			PROG ": hold %s: recall of lease %" PRIu64
			     " (%s) ignored\n",
			h->target, lease_id, reason);
}

/* held_line -- the one line `hold` prints once the range is mapped. */
static int
held_line(struct ctx *c, const char *region, const char *name,
	  const struct pagemap_lease *l, const struct pagemap_mapping *m)
{
	if (c->json) {
		json_object *o = json_object_new_object();

		if (!o)
			die_oom();
		jstr(o, "region", region);
		jstr(o, "name", name);
		ju64(o, "lease_id", pagemap_lease_id(l));
		ju64(o, "offset", pagemap_mapping_offset(m));
		ju64(o, "length", pagemap_mapping_length(m));
		ju64(o, "folios", pagemap_mapping_folios(m));
		/* One line: a reader waits for it before going on. */
		puts(json_object_to_json_string_ext(
			o, JSON_C_TO_STRING_PLAIN |
				   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		printf("held %s/%s lease %" PRIu64 " offset %" PRIu64
		       " length %" PRIu64 " folios %zu\n",
		       region, name, pagemap_lease_id(l),
		       pagemap_mapping_offset(m), pagemap_mapping_length(m),
		       pagemap_mapping_folios(m));
	}
	if (fflush(stdout) || ferror(stdout))
		return fail_local(errno ? -errno : -EIO, "stdout", "hold %s/%s",
				  region, name);
	return EXIT_OK;
}

/* hold_wait -- wait until stdin ends, SIGINT/SIGTERM arrives through
 * @sfd, or @h is recalled. EXIT_OK, or EXIT_FAIL when the daemon went
 * away. */
static int
hold_wait(struct ctx *c, struct hold *h, int sfd)
{
	char buf[4096];

	for (;;) {
		struct pollfd p[3] = {
			{.fd = STDIN_FILENO, .events = POLLIN},
			{.fd = pagemap_get_fd(c->pm), .events = POLLIN},
			{.fd = sfd, .events = POLLIN},
		};
		int r;

		/* Recalls may have been queued by the calls before. */
		r = pagemap_dispatch(c->pm);
		if (r == -ECONNRESET)
			return fail_local(r, "the daemon closed the connection",
					  "hold %s", h->target);
		if (r < 0)
			return fail_with(c, r, "hold %s", h->target);
		if (h->recalled)
			return EXIT_OK;
		r = poll(p, 3, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail_local(-errno, "poll", "hold %s",
					  h->target);
		if (p[2].revents)
			return EXIT_OK; /* SIGINT or SIGTERM */
		if (p[0].revents & POLLNVAL)
			return EXIT_OK; /* no stdin: nothing to wait for */
		if (p[0].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n == 0 || (n < 0 && errno != EINTR &&
				       errno != EAGAIN))
				return EXIT_OK;
		}
	}
}

/* let_go_at_shutdown -- let_go() after the daemon's shutdown recall. The
 * shutdown ends every lease once its grants are back, and the daemon exits
 * right after answering the final return: a release it can no longer
 * answer finds the lease already over, as after a completed revoke. */
static int
let_go_at_shutdown(struct ctx *c, const char *target,
		   struct pagemap_mapping *m, struct pagemap_lease *l,
		   int status)
{
	int err = pagemap_unmap(m);

	if (err)
		return status == EXIT_OK
			       ? fail_with(c, err, "hold %s: unmap", target)
			       : status;
	/* The handle is freed either way once the connection is gone. */
	err = pagemap_lease_release(l);
	if (err && err != -ECONNRESET && status == EXIT_OK)
		status = fail_with(c, err, "hold %s: release", target);
	return status;
}

/* hold_file -- `hold R/NAME [--offset N] [--length N] [--rw]
 * [--ignore-recall]`. */
static int
hold_file(struct ctx *c, const struct args *a, const char *region,
	  const char *name)
{
	struct hold h = {.target = a->pos[0],
			 .ignore_recall = a->ignore_recall};
	enum pagemap_access access = a->rw ? PAGEMAP_WRITE : PAGEMAP_READ;
	struct pagemap_mapping *m;
	struct pagemap_lease *l;
	uint64_t offset, len, size;
	bool has_len;
	char detail[160];
	sigset_t sigs;
	int sfd, err, status;

	if ((status = parse_offset_length(c, a, &offset, &len, &has_len)))
		return status;
	/* Blocked from the start: a signal during the setup is read from
	 * the signalfd afterwards, and the mapping is still let go. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) ||
	    (sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return fail_local(-errno, "signalfd", "hold %s", a->pos[0]);
	if ((status = take_lease(c, "hold", region, name, access, &l)))
		goto out;
	size = pagemap_lease_size(l);
	if (offset > size || (!has_len && offset == size)) {
		snprintf(detail, sizeof(detail),
			 "offset %" PRIu64 " is %s end of file (size %" PRIu64
			 ")", offset, offset > size ? "past" : "at", size);
		status = fail_local(-ENXIO, detail, "hold %s", a->pos[0]);
		status = let_go(c, "hold", a->pos[0], NULL, l, status);
		goto out;
	}
	if (!has_len)
		len = size - offset;
	if (len == 0) {
		status = fail_local(-EINVAL, "empty range", "hold %s",
				    a->pos[0]);
		status = let_go(c, "hold", a->pos[0], NULL, l, status);
		goto out;
	}
	if ((err = pagemap_map(l, offset, len, access, &m))) {
		status = fail_with(c, err, "hold %s", a->pos[0]);
		status = let_go(c, "hold", a->pos[0], NULL, l, status);
		goto out;
	}
	h.lease_id = pagemap_lease_id(l);
	pagemap_set_recall_handler(c->pm, hold_recall, &h);
	status = held_line(c, region, name, l, m);
	if (status == EXIT_OK)
		status = hold_wait(c, &h, sfd);
	if (h.shutdown)
		status = let_go_at_shutdown(c, a->pos[0], m, l, status);
	else
		status = let_go(c, "hold", a->pos[0], m, l, status);
out:
	close(sfd);
	return status;
}

/* cmd_hold -- see hold_file(). */
static int
cmd_hold(struct ctx *c, const struct args *a)
{
	return with_target(c, a, hold_file);
}

/* parse_scope -- "R" or "R/NAME" (either part may not be empty); *ret_name
 * is NULL for a whole region. Both are freed by the caller. */
static int
parse_scope(struct ctx *c, const char *s, char **ret_region, char **ret_name)
{
	*ret_name = NULL;
	if (!strchr(s, '/')) {
		if (!*s)
			return usage_error(c->cmd, "expected R or R/NAME, got "
						   "''");
		*ret_region = xstrndup(s, strlen(s));
		return 0;
	}
	if (split_target(s, ret_region, ret_name))
		return usage_error(c->cmd, "expected R or R/NAME, got '%s'",
				   s);
	return 0;
}

/* cmp_lease -- order leases by id. */
static int
cmp_lease(const void *x, const void *y)
{
	const struct pagemap_lease_info *a =
		*(const struct pagemap_lease_info *const *)x;
	const struct pagemap_lease_info *b =
		*(const struct pagemap_lease_info *const *)y;

	return a->id < b->id ? -1 : a->id > b->id;
}

/* lease_json -- the lease object of docs/cli.md. */
static json_object *
lease_json(const struct pagemap_lease_info *l)
{
	json_object *o = json_object_new_object();

	if (!o)
		die_oom();
	ju64(o, "id", l->id);
	jstr(o, "region", l->region);
	jstr(o, "name", l->name);
	ju64(o, "ino", l->ino);
	jstr(o, "access", access_name(l->access));
	ju64(o, "client_id", l->client_id);
	ju64(o, "pid", l->pid);
	ju64(o, "uid", l->uid);
	jstr(o, "comm", l->comm);
	ju64(o, "grants", l->grants);
	ju64(o, "bytes", l->bytes);
	jbool(o, "recalled", l->recalled);
	return o;
}

/* cmd_lease_ls -- `lease ls [R[/NAME]]`: leases sorted by id. */
static int
cmd_lease_ls(struct ctx *c, const struct args *a)
{
	static const char *const head[] = {"ID",   "REGION", "NAME",
					   "ACCESS", "PID", "COMM",
					   "GRANTS", "BYTES", "RECALLED"};
	struct table t = {head, "rlllrlrrl", ARRAY_SIZE(head), 0, 0, NULL};
	struct pagemap_lease_info **v;
	char *region = NULL, *name = NULL;
	size_t n;
	int err, status;

	if (a->npos && (status = parse_scope(c, a->pos[0], &region, &name)))
		return status;
	if ((status = connect_daemon(c)))
		goto out;
	if ((err = pagemap_lease_list(c->pm, region, name, &v, &n))) {
		status = fail_with(c, err, "lease ls%s%s", a->npos ? " " : "",
				   a->npos ? a->pos[0] : "");
		goto out;
	}
	qsort(v, n, sizeof(*v), cmp_lease);
	if (c->json) {
		json_object *o = json_object_new_object();
		json_object *arr = json_object_new_array();

		if (!o || !arr)
			die_oom();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, lease_json(v[i]));
		json_object_object_add(o, "leases", arr);
		status = print_json(o);
	} else {
		for (size_t i = 0; i < n; i++) {
			table_add(&t, "%" PRIu64, v[i]->id);
			table_add(&t, "%s", v[i]->region);
			if (v[i]->name[0])
				table_add(&t, "%s", v[i]->name);
			else
				table_add(&t, "<orphan:%" PRIu64 ">",
					  v[i]->ino);
			table_add(&t, "%s", access_name(v[i]->access));
			table_add(&t, "%" PRIu32, v[i]->pid);
			table_add(&t, "%s", v[i]->comm);
			table_add(&t, "%" PRIu64, v[i]->grants);
			table_add(&t, "%" PRIu64, v[i]->bytes);
			table_add(&t, "%s", v[i]->recalled ? "yes" : "no");
		}
		table_print(&t);
		status = EXIT_OK;
	}
	pagemap_free(v);
out:
	free(region);
	free(name);
	return status;
}

/* cmd_lease_revoke -- `lease revoke ID [--timeout SECS]`. */
static int
cmd_lease_revoke(struct ctx *c, const struct args *a)
{
	uint32_t timeout_ms = 0;
	uint64_t id;
	int err;

	if ((err = parse_uint(a->pos[0], UINT64_MAX, &id)))
		return bad_value(c, "lease id", a->pos[0], err);
	if (a->timeout && (err = parse_timeout(a->timeout, &timeout_ms)))
		return bad_value(c, "timeout", a->timeout, err);
	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_lease_revoke(c->pm, id, api_timeout(timeout_ms))))
		return fail_with(c, err, "lease revoke %" PRIu64, id);
	if (c->json) {
		json_object *o = json_object_new_object();

		if (!o)
			die_oom();
		ju64(o, "lease_id", id);
		return print_json(o);
	}
	return EXIT_OK;
}

/* cmp_grant -- order grants by lease, file offset, region offset. */
static int
cmp_grant(const void *x, const void *y)
{
	const struct pagemap_grant_info *a =
		*(const struct pagemap_grant_info *const *)x;
	const struct pagemap_grant_info *b =
		*(const struct pagemap_grant_info *const *)y;

	if (a->lease_id != b->lease_id)
		return a->lease_id < b->lease_id ? -1 : 1;
	if (a->file_offset != b->file_offset)
		return a->file_offset < b->file_offset ? -1 : 1;
	return a->region_offset < b->region_offset ? -1
						    : a->region_offset >
							      b->region_offset;
}

/* cmd_grant_ls -- `grant ls [--lease ID] [--pid PID]`. */
static int
cmd_grant_ls(struct ctx *c, const struct args *a)
{
	static const char *const head[] = {"LEASE", "OFFSET", "REGION_OFFSET",
					   "ORDER", "SIZE",   "ACCESS"};
	struct table t = {head, "rrrrrl", ARRAY_SIZE(head), 0, 0, NULL};
	struct pagemap_grant_info **v;
	uint64_t lease = 0, pid = 0;
	size_t n;
	int err;

	if (a->lease && (err = parse_uint(a->lease, UINT64_MAX, &lease)))
		return bad_value(c, "lease id", a->lease, err);
	if (a->pid && (err = parse_uint(a->pid, UINT32_MAX, &pid)))
		return bad_value(c, "pid", a->pid, err);
	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_grant_list(c->pm, lease, (uint32_t)pid, &v, &n)))
		return fail_with(c, err, "grant ls");
	qsort(v, n, sizeof(*v), cmp_grant);
	if (c->json) {
		json_object *o = json_object_new_object();
		json_object *arr = json_object_new_array();

		if (!o || !arr)
			die_oom();
		for (size_t i = 0; i < n; i++) {
			json_object *g = json_object_new_object();

			if (!g)
				die_oom();
			ju64(g, "lease_id", v[i]->lease_id);
			ju64(g, "file_offset", v[i]->file_offset);
			ju64(g, "region_offset", v[i]->region_offset);
			ju64(g, "order", v[i]->order);
			ju64(g, "size", 4096ull << v[i]->order);
			jstr(g, "access", access_name(v[i]->access));
			json_object_array_add(arr, g);
		}
		json_object_object_add(o, "grants", arr);
		pagemap_free(v);
		return print_json(o);
	}
	for (size_t i = 0; i < n; i++) {
		table_add(&t, "%" PRIu64, v[i]->lease_id);
		table_add(&t, "%" PRIu64, v[i]->file_offset);
		table_add(&t, "%" PRIu64, v[i]->region_offset);
		table_add(&t, "%" PRIu32, v[i]->order);
		table_add(&t, "%llu", 4096ull << v[i]->order);
		table_add(&t, "%s", access_name(v[i]->access));
	}
	pagemap_free(v);
	table_print(&t);
	return EXIT_OK;
}

/* cmp_client -- order clients by id. */
static int
cmp_client(const void *x, const void *y)
{
	const struct pagemap_client_info *a =
		*(const struct pagemap_client_info *const *)x;
	const struct pagemap_client_info *b =
		*(const struct pagemap_client_info *const *)y;

	return a->id < b->id ? -1 : a->id > b->id;
}

/* cmd_client_ls -- `client ls`: clients sorted by id. */
static int
cmd_client_ls(struct ctx *c, const struct args *a)
{
	static const char *const head[] = {"ID",   "PID",	"UID",
					   "COMM", "NAME",	"CONNECTED",
					   "LEASES", "GRANTS"};
	struct table t = {head, "rrrlllrr", ARRAY_SIZE(head), 0, 0, NULL};
	struct pagemap_client_info **v;
	size_t n;
	int err;

	(void)a;
	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_client_list(c->pm, &v, &n)))
		return fail_with(c, err, "client ls");
	qsort(v, n, sizeof(*v), cmp_client);
	if (c->json) {
		json_object *o = json_object_new_object();
		json_object *arr = json_object_new_array();

		if (!o || !arr)
			die_oom();
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_new_object();

			if (!e)
				die_oom();
			ju64(e, "id", v[i]->id);
			ju64(e, "pid", v[i]->pid);
			ju64(e, "uid", v[i]->uid);
			ju64(e, "gid", v[i]->gid);
			jstr(e, "comm", v[i]->comm);
			jstr(e, "name", v[i]->name);
			jbool(e, "connected", v[i]->connected);
			ju64(e, "leases", v[i]->leases);
			ju64(e, "grants", v[i]->grants);
			ju64(e, "pending", v[i]->pending);
			json_object_array_add(arr, e);
		}
		json_object_object_add(o, "clients", arr);
		pagemap_free(v);
		return print_json(o);
	}
	for (size_t i = 0; i < n; i++) {
		table_add(&t, "%" PRIu64, v[i]->id);
		table_add(&t, "%" PRIu32, v[i]->pid);
		table_add(&t, "%" PRIu32, v[i]->uid);
		table_add(&t, "%s", v[i]->comm[0] ? v[i]->comm : "-");
		table_add(&t, "%s", v[i]->name[0] ? v[i]->name : "-");
		table_add(&t, "%s", v[i]->connected ? "yes" : "no");
		table_add(&t, "%" PRIu32, v[i]->leases);
		table_add(&t, "%" PRIu64, v[i]->grants);
	}
	pagemap_free(v);
	table_print(&t);
	return EXIT_OK;
}

/* cmd_blockers -- `blockers R[/NAME]`: who holds up each pending
 * operation, in the daemon's order. */
static int
cmd_blockers(struct ctx *c, const struct args *a)
{
	static const char *const head[] = {"OP",  "TARGET", "LEASE",
					   "PID", "COMM",   "GRANTS"};
	struct table t = {head, "llrrlr", ARRAY_SIZE(head), 0, 0, NULL};
	struct pagemap_blocker **v;
	char *region, *name;
	size_t n;
	int err, status;

	if ((status = parse_scope(c, a->pos[0], &region, &name)))
		return status;
	if ((status = connect_daemon(c)))
		goto out;
	if ((err = pagemap_blockers(c->pm, region, name, &v, &n))) {
		status = fail_with(c, err, "blockers %s", a->pos[0]);
		goto out;
	}
	if (c->json) {
		json_object *o = json_object_new_object();
		json_object *arr = json_object_new_array();

		if (!o || !arr)
			die_oom();
		for (size_t i = 0; i < n; i++) {
			json_object *e = json_object_new_object();

			if (!e)
				die_oom();
			jstr(e, "op", v[i]->op);
			jstr(e, "target", v[i]->target);
			ju64(e, "lease_id", v[i]->lease_id);
			ju64(e, "client_id", v[i]->client_id);
			ju64(e, "pid", v[i]->pid);
			jstr(e, "comm", v[i]->comm);
			ju64(e, "grants", v[i]->grants);
			json_object_array_add(arr, e);
		}
		json_object_object_add(o, "blockers", arr);
		status = print_json(o);
	} else {
		for (size_t i = 0; i < n; i++) {
			table_add(&t, "%s", v[i]->op);
			table_add(&t, "%s", v[i]->target);
			table_add(&t, "%" PRIu64, v[i]->lease_id);
			table_add(&t, "%" PRIu32, v[i]->pid);
			table_add(&t, "%s", v[i]->comm[0] ? v[i]->comm : "-");
			table_add(&t, "%" PRIu64, v[i]->grants);
		}
		table_print(&t);
		status = EXIT_OK;
	}
	pagemap_free(v);
out:
	free(region);
	free(name);
	return status;
}

/* ---- top: a live view ------------------------------------------------- */

/*
 * `top` keeps one connection and redraws a frame every interval: the whole
 * frame is built in memory and written with one write() after "clear and
 * home", so a terminal never shows half a frame. The terminal is put in
 * the alternate screen with no echo and no line buffering (so a single q
 * is read), and is restored on every way out: q, SIGINT/SIGTERM (through a
 * self-pipe the poll loop watches) and a signal during a daemon request
 * (the handler restores it itself and exits, since that request may never
 * be answered).
 */

#define TOP_MAX_GRANTS 10000u /* above this, grants are only counted */
#define TOP_ENTER "\033[?1049h\033[?25l" /* alternate screen, no cursor */
#define TOP_LEAVE "\033[?25h\033[?1049l"
#define TOP_CLEAR "\033[H\033[2J" /* home, clear the screen */

/* One snapshot of the daemon. */
struct top_view {
	struct pagemap_status *st;
	struct pagemap_region_info **regions;
	size_t nregions;
	struct pagemap_lease_info **leases;
	size_t nleases;
	struct pagemap_grant_info **grants; /* NULL when too many to list */
	size_t ngrants;
	struct pagemap_blocker **blockers;
	size_t nblockers;
};

static volatile sig_atomic_t top_quit;	 /* SIGINT or SIGTERM seen */
static volatile sig_atomic_t top_busy;	 /* inside a daemon request */
static volatile sig_atomic_t top_raw;	 /* top_saved must be restored */
static int top_pipe[2] = {-1, -1};	 /* the handler wakes poll() */
static struct termios top_saved;	 /* the terminal as we found it */

/* top_restore -- leave the alternate screen and restore the terminal;
 * only async-signal-safe calls, the signal handler uses it. */
static void
top_restore(void)
{
	if (write(STDOUT_FILENO, TOP_LEAVE, sizeof(TOP_LEAVE) - 1) < 0) {
		/* Nothing better to do: the terminal may be gone. */
	}
	if (top_raw)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &top_saved);
	top_raw = 0;
}

/* on_top_signal -- SIGINT/SIGTERM quit, SIGWINCH redraws. */
static void
on_top_signal(int sig)
{
	int saved = errno;

	if (sig != SIGWINCH) {
		if (top_busy) {
			/* A request in flight may never be answered. */
			top_restore();
			_exit(EXIT_OK);
		}
		top_quit = 1;
	}
	if (write(top_pipe[1], "", 1) < 0) {
		/* Full pipe: a wake-up is already pending. */
	}
	errno = saved;
}

/* top_view_free -- release the arrays of @v. */
static void
top_view_free(struct top_view *v)
{
	pagemap_free(v->st);
	pagemap_free(v->regions);
	pagemap_free(v->leases);
	pagemap_free(v->grants);
	pagemap_free(v->blockers);
	memset(v, 0, sizeof(*v));
}

/* top_fetch -- one snapshot into @v (freed by the caller either way);
 * *ret_what names the request that failed. */
static int
top_fetch(struct pagemap *pm, struct top_view *v, const char **ret_what)
{
	int err;

	top_busy = 1;
	if ((err = pagemap_status(pm, &v->st))) {
		*ret_what = "status";
	} else if ((err = pagemap_region_list(pm, &v->regions,
					      &v->nregions))) {
		*ret_what = "region ls";
	} else if ((err = pagemap_blockers(pm, NULL, NULL, &v->blockers,
					   &v->nblockers))) {
		*ret_what = "blockers";
	} else if ((err = pagemap_lease_list(pm, NULL, NULL, &v->leases,
					     &v->nleases))) {
		*ret_what = "lease ls";
	} else if (v->st->grants <= TOP_MAX_GRANTS &&
		   (err = pagemap_grant_list(pm, 0, 0, &v->grants,
					     &v->ngrants))) {
		*ret_what = "grant ls";
	}
	top_busy = 0;
	if (!err) {
		qsort(v->regions, v->nregions, sizeof(*v->regions),
		      cmp_region);
		qsort(v->leases, v->nleases, sizeof(*v->leases), cmp_lease);
		if (v->grants)
			qsort(v->grants, v->ngrants, sizeof(*v->grants),
			      cmp_grant);
	}
	return err;
}

/* human_size -- bytes as "512", "4K", "1.5M", "12G" (powers of 1024). */
static void
human_size(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	double d = (double)v;
	int u = -1;

	if (v < 1024) {
		snprintf(buf, size, "%" PRIu64, v);
		return;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (d < 10 && d != (double)(uint64_t)d)
		snprintf(buf, size, "%.1f%c", d, units[u]);
	else
		snprintf(buf, size, "%.0f%c", d, units[u]);
}

/* table_size -- a human_size() cell. */
static void
table_size(struct table *t, uint64_t v)
{
	char buf[32];

	human_size(v, buf, sizeof(buf));
	table_add(t, "%s", buf);
}

/* top_render -- one frame of @v into @out; @err (with @what) is the reason
 * there is no snapshot, or 0. */
static void
top_render(FILE *out, const char *sock, uint32_t interval_ms,
	   const struct top_view *v, int err, const char *what, bool live)
{
	static const char *const rhead[] = {"REGION", "STATE", "KIND", "SIZE",
					    "USED",   "FREE",  "FILES", "PINS",
					    "ORPHANS"};
	static const char *const bhead[] = {"OP",  "TARGET", "LEASE",
					    "PID", "COMM",   "GRANTS"};
	static const char *const lhead[] = {"LEASE",  "FILE",  "ACCESS",
					    "PID",    "COMM",  "GRANTS",
					    "BYTES",  "RECALLED"};
	static const char *const ghead[] = {"LEASE", "OFFSET", "REGION_OFFSET",
					    "SIZE",  "ACCESS"};
	struct table rt = {rhead, "lllrrrrrr", ARRAY_SIZE(rhead), 0, 0, NULL};
	struct table bt = {bhead, "llrrlr", ARRAY_SIZE(bhead), 0, 0, NULL};
	struct table lt = {lhead, "rllrlrrl", ARRAY_SIZE(lhead), 0, 0, NULL};
	struct table gt = {ghead, "rrrrl", ARRAY_SIZE(ghead), 0, 0, NULL};
	uint64_t up;

	if (err) {
		fprintf(out, "pagemapctl top: %s: %s: %s%s\n", sock, what,
			pagemap_strerror(err),
			live ? " (retrying; q quits)" : "");
		return;
	}
	up = v->st->uptime_ms / 1000;
	fprintf(out, "%s  pid %" PRIu32 "  up %" PRIu64 "d %02" PRIu64
		     ":%02" PRIu64 ":%02" PRIu64 "  %s",
		v->st->server, v->st->pid, up / 86400, up / 3600 % 24,
		up / 60 % 60, up % 60, sock);
	if (live)
		fprintf(out, "  every %" PRIu32 ".%01" PRIu32 "s, q quits",
			interval_ms / 1000, interval_ms % 1000 / 100);
	fprintf(out, "\nregions %" PRIu32 "  clients %" PRIu32
		     "  leases %" PRIu64 "  grants %" PRIu64
		     "  waiting %" PRIu32 "\n\n",
		v->st->regions, v->st->clients, v->st->leases, v->st->grants,
		v->st->pending_ops);

	for (size_t i = 0; i < v->nregions; i++) {
		const struct pagemap_region_info *r = v->regions[i];

		table_add(&rt, "%s", r->name);
		table_add(&rt, "%s", r->state);
		table_add(&rt, "%s", r->kind);
		table_size(&rt, r->size);
		table_size(&rt, r->used);
		table_size(&rt, r->free);
		table_add(&rt, "%" PRIu32, r->files);
		table_add(&rt, "%" PRIu64, r->pins);
		table_add(&rt, "%" PRIu32, r->orphans);
	}
	table_fprint(out, &rt);

	fprintf(out, "\nWAITING (%zu blocker%s)\n", v->nblockers,
		v->nblockers == 1 ? "" : "s");
	if (v->nblockers) {
		for (size_t i = 0; i < v->nblockers; i++) {
			const struct pagemap_blocker *b = v->blockers[i];

			table_add(&bt, "%s", b->op);
			table_add(&bt, "%s", b->target);
			table_add(&bt, "%" PRIu64, b->lease_id);
			table_add(&bt, "%" PRIu32, b->pid);
			table_add(&bt, "%s", b->comm[0] ? b->comm : "-");
			table_add(&bt, "%" PRIu64, b->grants);
		}
		table_fprint(out, &bt);
	}

	fprintf(out, "\nLEASES (%zu)\n", v->nleases);
	if (v->nleases) {
		for (size_t i = 0; i < v->nleases; i++) {
			const struct pagemap_lease_info *l = v->leases[i];

			table_add(&lt, "%" PRIu64, l->id);
			if (l->name[0])
				table_add(&lt, "%s/%s", l->region, l->name);
			else
				table_add(&lt, "%s/<orphan:%" PRIu64 ">",
					  l->region, l->ino);
			table_add(&lt, "%s", access_name(l->access));
			table_add(&lt, "%" PRIu32, l->pid);
			table_add(&lt, "%s", l->comm[0] ? l->comm : "-");
			table_add(&lt, "%" PRIu64, l->grants);
			table_size(&lt, l->bytes);
			table_add(&lt, "%s", l->recalled ? "yes" : "no");
		}
		table_fprint(out, &lt);
	}

	if (!v->grants) {
		fprintf(out, "\nGRANTS (%" PRIu64 ", more than %u: not listed; "
			     "see grant ls --lease ID)\n",
			v->st->grants, TOP_MAX_GRANTS);
		return;
	}
	fprintf(out, "\nGRANTS (%zu)\n", v->ngrants);
	if (!v->ngrants)
		return;
	for (size_t i = 0; i < v->ngrants; i++) {
		const struct pagemap_grant_info *g = v->grants[i];

		table_add(&gt, "%" PRIu64, g->lease_id);
		table_add(&gt, "%" PRIu64, g->file_offset);
		table_add(&gt, "%" PRIu64, g->region_offset);
		table_size(&gt, 4096ull << g->order);
		table_add(&gt, "%s", access_name(g->access));
	}
	table_fprint(out, &gt);
}

/* top_screen -- @frame clipped to the terminal's size, after TOP_CLEAR;
 * what does not fit ends in one "... N more lines" line. To free. */
static char *
top_screen(const char *frame, size_t *ret_len)
{
	struct winsize ws = {0};
	size_t rows = 24, cols = 80, lines = 0, total = 0, len;
	const char *p;
	char *buf;
	FILE *out;

	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		rows = ws.ws_row < 3 ? 3 : ws.ws_row;
		cols = ws.ws_col < 2 ? 2 : ws.ws_col;
	}
	for (p = frame; *p; p++)
		total += *p == '\n';
	if (!(out = open_memstream(&buf, &len)))
		die_oom();
	fputs(TOP_CLEAR, out);
	for (p = frame; *p && lines < rows - 1; lines++) {
		size_t n = strcspn(p, "\n");

		if (lines == rows - 2 && total > rows - 1) {
			fprintf(out, "... %zu more lines", total - lines);
			break;
		}
		/* No line may wrap: a wrapped line scrolls the screen. */
		fwrite(p, 1, n < cols ? n : cols - 1, out);
		fputc('\n', out);
		p += n + (p[n] == '\n');
	}
	if (fclose(out))
		die_oom();
	*ret_len = len;
	return buf;
}

/* write_all -- the whole buffer, or -errno. */
static int
write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* top_once -- `top` on a pipe or file: one frame, no escapes. */
static int
top_once(struct ctx *c, const char *sock)
{
	struct top_view v = {0};
	const char *what = "";
	int err;

	if ((err = connect_daemon(c)))
		return err;
	if ((err = top_fetch(c->pm, &v, &what))) {
		top_view_free(&v);
		return fail_with(c, err, "top: %s", what);
	}
	top_render(stdout, sock, 0, &v, 0, "", false);
	top_view_free(&v);
	return EXIT_OK;
}

/* top_setup -- signal handlers, the self-pipe and the terminal mode. */
static int
top_setup(void)
{
	struct sigaction sa = {.sa_handler = on_top_signal};
	struct termios raw;

	if (pipe2(top_pipe, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: poll() must return for a signal. */
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL) ||
	    sigaction(SIGWINCH, &sa, NULL))
		return -errno;
	if (isatty(STDIN_FILENO) && !tcgetattr(STDIN_FILENO, &top_saved)) {
		raw = top_saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw))
			return -errno;
		top_raw = 1;
	}
	return write_all(STDOUT_FILENO, TOP_ENTER, sizeof(TOP_ENTER) - 1);
}

/* top_wait -- sleep until @deadline (CLOCK_MONOTONIC ms), a key or a
 * signal; true when it is time to quit. */
static bool
top_wait(uint64_t deadline)
{
	for (;;) {
		struct pollfd p[2] = {
			{.fd = top_pipe[0], .events = POLLIN},
			{.fd = top_raw ? STDIN_FILENO : -1, .events = POLLIN},
		};
		struct timespec now;
		uint64_t ms;
		char buf[64];
		ssize_t n;

		if (top_quit)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
		if (ms >= deadline)
			return false;
		if (deadline - ms > INT32_MAX)
			ms = deadline - INT32_MAX; /* poll() takes an int */
		if (poll(p, 2, (int)(deadline - ms)) < 0 && errno != EINTR)
			return true;
		if (p[0].revents) {
			while (read(top_pipe[0], buf, sizeof(buf)) > 0)
				;
			if (!top_quit)
				return false; /* SIGWINCH: redraw now */
		}
		if (p[1].revents) {
			n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n <= 0 && !(n < 0 && errno == EINTR))
				return true; /* the terminal went away */
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] == 'q' || buf[i] == 'Q')
					return true;
			if (n > 0 && memchr(buf, ' ', (size_t)n))
				return false; /* space: redraw now */
		}
	}
}

/* top_live -- `top` on a terminal: redraw every @interval_ms until q or
 * a signal; the connection is remade when it breaks. */
static int
top_live(struct ctx *c, const char *sock, uint32_t interval_ms)
{
	int err, status = EXIT_OK;
	bool quit = false;

	if ((err = top_setup())) {
		top_restore();
		status = fail_local(err, "terminal setup", "top");
		goto out;
	}
	while (!quit) {
		struct top_view v = {0};
		const char *what = "connect";
		struct timespec now;
		char *frame, *screen;
		size_t frame_len, screen_len;
		FILE *out;

		err = 0;
		if (!c->pm) {
			top_busy = 1;
			err = pagemap_connect(sock, PROG, &c->pm);
			top_busy = 0;
		}
		if (!err && (err = top_fetch(c->pm, &v, &what))) {
			/* Drop a broken connection; the next frame retries. */
			pagemap_close(c->pm);
			c->pm = NULL;
		}
		if (top_quit) {
			top_view_free(&v);
			break;
		}
		if (!(out = open_memstream(&frame, &frame_len)))
			die_oom();
		top_render(out, sock, interval_ms, &v, err, what, true);
		if (fclose(out))
			die_oom();
		top_view_free(&v);
		screen = top_screen(frame, &screen_len);
		free(frame);
		err = write_all(STDOUT_FILENO, screen, screen_len);
		free(screen);
		if (err) {
			top_restore();
			status = fail_local(err, "stdout", "top");
			goto out;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		quit = top_wait((uint64_t)now.tv_sec * 1000 +
				(uint64_t)now.tv_nsec / 1000000 + interval_ms);
	}
	top_restore();
out:
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGWINCH, SIG_DFL);
	close(top_pipe[0]);
	close(top_pipe[1]);
	top_pipe[0] = top_pipe[1] = -1;
	return status;
}

/* cmd_top -- `top [--interval SECS]`: a live view on a terminal, one
 * view otherwise. */
static int
cmd_top(struct ctx *c, const struct args *a)
{
	const char *sock = c->socket ? c->socket : pagemap_default_socket();
	uint32_t interval_ms = 1000;
	int err;

	if (c->json)
		return usage_error(c->cmd, "--json does not apply: top is a "
					   "view for people (see status, "
					   "lease ls, grant ls, blockers)");
	if (a->interval && (err = parse_timeout(a->interval, &interval_ms)))
		return bad_value(c, "interval", a->interval, err);
	if (interval_ms < 100)
		return bad_value(c, "interval", a->interval, -ERANGE);
	if (!isatty(STDOUT_FILENO))
		return top_once(c, sock);
	return top_live(c, sock, interval_ms);
}

#define H_TIMEOUT                                                            \
	"  --timeout SECS  fail with ETIMEDOUT after SECS, naming what still " \
	"blocks;\n                  the operation itself stays pending (0, "  \
	"the default:\n                  wait for ever)\n"

static const struct command commands[] = {
	{"status", "", 0, 0, 0, cmd_status,
	 "Show the daemon's version, pid, uptime, counts and handshake limits.",
	 NULL},
	{"region ls", "", 0, 0, 0, cmd_region_ls,
	 "List the attached regions, sorted by name.", NULL},
	{"region info", "R", 0, 1, 1, cmd_region_info,
	 "Show region R: path, kind, uuid, sizes, owner, mode, pins.", NULL},
	{"region attach", "R PATH [--size S] [--create] [--max-order N]",
	 O(OPT_SIZE) | O(OPT_CREATE) | O(OPT_MAX_ORDER), 2, 2,
	 cmd_region_attach,
	 "Attach the region file or devdax device PATH as R (root only).",
	 "A relative PATH is made absolute first. An existing region is "
	 "attached as it\nis, never reformatted. Prints the region.\n\n"
	 "options:\n"
	 "  --size S        size of the file --create makes\n"
	 "  --create        create and format PATH when it does not exist\n"
	 "  --max-order N   largest folio order of a new region (0-18, "
	 "default 9)\n"},
	{"region detach", "R [--timeout SECS]", O(OPT_TIMEOUT), 1, 1,
	 cmd_region_detach,
	 "Detach R (root only), after every grant on it has come back.",
	 "Recalls every grant of the region and waits for the final unpin.\n\n"
	 "options:\n" H_TIMEOUT},
	{"file create", "R/NAME --size S [--mode OCTAL]",
	 O(OPT_SIZE) | O(OPT_MODE), 1, 1, cmd_file_create,
	 "Create the file NAME in region R and print it.",
	 "options:\n"
	 "  --size S       size in bytes (required)\n"
	 "  --mode OCTAL   permission bits (default 0644)\n"},
	{"file ls", "R", 0, 1, 1, cmd_file_ls,
	 "List the files of R by name; removed-but-held files show as "
	 "<orphan:INO>.",
	 NULL},
	{"file stat", "R/NAME", 0, 1, 1, cmd_file_stat,
	 "Show a file: size, allocation, owner, mode, extents, leases, "
	 "grants.",
	 NULL},
	{"file truncate", "R/NAME S [--timeout SECS]", O(OPT_TIMEOUT), 2, 2,
	 cmd_file_truncate, "Set the size of R/NAME to S bytes and print it.",
	 "Shrinking past granted folios recalls them and frees the blocks at "
	 "the final\nunpin.\n\noptions:\n" H_TIMEOUT},
	{"file rm", "R/NAME", 0, 1, 1, cmd_file_rm,
	 "Remove R/NAME; its blocks are freed when the last lease ends.",
	 NULL},
	{"write", "R/NAME [--offset N]", O(OPT_OFFSET), 1, 1, cmd_write,
	 "Copy stdin into R/NAME through a write lease and persist it.",
	 "Maps, copies, persists and unmaps at most 64 MiB at a time. The "
	 "file never\ngrows: data that would run past its end is refused "
	 "before anything is written.\n\noptions:\n"
	 "  --offset N   first byte to write (default 0)\n"},
	{"read", "R/NAME [--offset N] [--length N]",
	 O(OPT_OFFSET) | O(OPT_LENGTH), 1, 1, cmd_read,
	 "Copy the bytes of R/NAME to stdout through a read lease.",
	 "--json does not apply (the output is the raw bytes).\n\noptions:\n"
	 "  --offset N   first byte to read (default 0)\n"
	 "  --length N   bytes to read (default: to the end; clamped at "
	 "it)\n"},
	{"hold", "R/NAME [--offset N] [--length N] [--rw] [--ignore-recall]",
	 O(OPT_OFFSET) | O(OPT_LENGTH) | O(OPT_RW) | O(OPT_IGNORE_RECALL), 1, 1,
	 cmd_hold, "Take a lease, map a range and keep it until told to let go.",
	 "Prints one line once the range is mapped:\n"
	 "  held R/NAME lease ID offset O length L folios F\n"
	 "then holds until stdin ends, SIGINT or SIGTERM arrives, or the "
	 "lease is\nrecalled (revoke, truncate, detach, shutdown).\n\n"
	 "options:\n"
	 "  --offset N        start of the range (default 0)\n"
	 "  --length N        bytes (default: to the end of the file)\n"
	 "  --rw              take a write lease (default: read)\n"
	 "  --ignore-recall   report a recall on stderr and keep holding\n"},
	{"lease ls", "[R[/NAME]]", 0, 0, 1, cmd_lease_ls,
	 "List live leases (all, of region R or of file R/NAME) by id.", NULL},
	{"lease revoke", "ID [--timeout SECS]", O(OPT_TIMEOUT), 1, 1,
	 cmd_lease_revoke,
	 "Recall every grant of lease ID and end it at the last return.",
	 "The holder, the file's owner and root may revoke.\n\noptions:\n"
	 H_TIMEOUT},
	{"grant ls", "[--lease ID] [--pid PID]", O(OPT_LEASE) | O(OPT_PID), 0,
	 0, cmd_grant_ls,
	 "List outstanding grants (folios) by lease and file offset.",
	 "options:\n"
	 "  --lease ID   only the grants of lease ID\n"
	 "  --pid PID    only the grants of the leases of process PID\n"},
	{"client ls", "", 0, 0, 0, cmd_client_ls,
	 "List clients, including gone connections whose process holds "
	 "leases.",
	 NULL},
	{"blockers", "R[/NAME]", 0, 1, 1, cmd_blockers,
	 "Show which leases hold up pending truncate/revoke/detach/shutdown.",
	 "One row per lease that still holds grants an operation in R (or "
	 "on R/NAME)\nwaits for; only the header when nothing blocks.\n"},
	{"top", "[--interval SECS]", O(OPT_INTERVAL), 0, 0, cmd_top,
	 "Live view of regions, waiting operations, leases and grants.",
	 "Redraws in place every SECS; q or Ctrl-C quits. Reconnects when the "
	 "daemon\nrestarts. When stdout is not a terminal it prints one view "
	 "and exits.\n--json does not apply.\n\noptions:\n"
	 "  --interval SECS   time between redraws (default 1, at least "
	 "0.1)\n"},
	{"fsck", "PATH", 0, 1, 1, cmd_fsck,
	 "Check the region file PATH offline; exit 1 if it has problems.",
	 "Needs no daemon and changes nothing; run it on a detached region.\n"},
	{NULL, NULL, 0, 0, 0, NULL, NULL, NULL},
};

/* ---- main ------------------------------------------------------------- */

/* parse_global -- the options before COMMAND; returns the index of the
 * command word, or -(exit status) when there is nothing to run. */
static int
parse_global(struct ctx *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, OPT_VERSION},
		{NULL, 0, NULL, 0},
	};
	int ch;

	opterr = 0;
	/* "+": stop at the command word; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
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
			c->json = true;
			break;
		default:
			if (optopt >= OPT_SIZE)
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

#ifndef PAGEMAPCTL_NO_MAIN /* a unit test may include this file */
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
	if (status == 0)
		status = c.cmd->run(&c, &a);
	pagemap_close(c.pm);
	return finish_stdout(status);
}
#endif

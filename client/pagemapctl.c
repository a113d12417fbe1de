/* pagemapctl.c -- the pagemapd command-line tool (DESIGN §7, docs/cli.md). */
#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "fsck.h"
#include "pagemap.h"

/*
 * Exit status: 0 success, 1 the operation failed (daemon error, no daemon,
 * fsck found problems), 2 the command line was wrong. Every failure prints
 * exactly one line on stderr; with --json, stdout carries exactly one JSON
 * document when the command produced a result and nothing otherwise.
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
	const char *offset, *length, *lease, *pid;
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
};

static const struct command commands[];

/* print_usage -- the usage of the whole CLI, from the command table. */
static void
print_usage(FILE *out)
{
	fprintf(out, "usage: " PROG " [--socket PATH] [--json] COMMAND ...\n"
		     "       " PROG " --help | --version\n"
		     "commands:\n");
	for (const struct command *c = commands; c->name; c++)
		fprintf(out, "  %s%s%s\n", c->name, *c->usage ? " " : "",
			c->usage);
	fprintf(out,
		"SIZE takes a K, M, G or T suffix (powers of 1024); SECS may "
		"have decimals\n(0: wait for ever); OCTAL is a mode such as "
		"0640. The socket is --socket,\nelse "
		"$" PAGEMAP_DEFAULT_SOCKET_ENV ", else %s.\n",
		PAGEMAP_DEFAULT_SOCKET);
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
		print_group_usage(stdout, argv[0]);
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
print_cell(const struct table *t, size_t col, const char *s, int width)
{
	bool last = col + 1 == t->ncols;

	if (t->align[col] == 'r')
		printf("%*s", width, s);
	else
		printf("%-*s", last ? 0 : width, s);
	printf(last ? "\n" : "  ");
}

/* table_print -- header and rows with aligned columns; frees the cells. */
static void
table_print(struct table *t)
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
		print_cell(t, i, t->head[i], width[i]);
	for (size_t i = 0; i < t->ncells; i++)
		print_cell(t, i % t->ncols, t->cells[i], width[i % t->ncols]);
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->ncells = t->cap = 0;
}

/* ---- commands --------------------------------------------------------- */

/* cmd_status -- `status`: daemon status and handshake limits. */
static int
cmd_status(struct ctx *c, const struct args *a)
{
	const struct pagemap_limits *l;
	struct pagemap_status s;
	const char *sock = c->socket ? c->socket : pagemap_default_socket();
	int err;

	(void)a;
	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_status(c->pm, &s)))
		return fail_with(c, err, "status");
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
	return EXIT_OK;
}

/* cmp_region -- order regions by name. */
static int
cmp_region(const void *x, const void *y)
{
	const struct pagemap_region_info *a = x, *b = y;

	return strcmp(a->name, b->name);
}

/* cmd_region_ls -- `region ls`: every region, sorted by name. */
static int
cmd_region_ls(struct ctx *c, const struct args *a)
{
	static const char *const head[] = {"NAME", "KIND",  "SIZE", "USED",
					   "FREE", "FILES", "PATH"};
	struct table t = {head, "llrrrrl", ARRAY_SIZE(head), 0, 0, NULL};
	struct pagemap_region_info *r;
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
			json_object_array_add(arr, region_json(&r[i]));
		json_object_object_add(o, "regions", arr);
		pagemap_free(r);
		return print_json(o);
	}
	for (size_t i = 0; i < n; i++) {
		table_add(&t, "%s", r[i].name);
		table_add(&t, "%s", r[i].kind);
		table_add(&t, "%" PRIu64, r[i].size);
		table_add(&t, "%" PRIu64, r[i].used);
		table_add(&t, "%" PRIu64, r[i].free);
		table_add(&t, "%" PRIu32, r[i].files);
		table_add(&t, "%s", r[i].path);
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
	struct pagemap_region_info r;
	int err;

	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_region_info(c->pm, a->pos[0], &r)))
		return fail_with(c, err, "region info %s", a->pos[0]);
	return show_region(c, &r);
}

/* cmd_region_attach -- `region attach R PATH [--size S] [--create]
 * [--max-order N]`. */
static int
cmd_region_attach(struct ctx *c, const struct args *a)
{
	struct pagemap_region_info r;
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
			     : show_region(c, &r);
	}
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
	if ((err = pagemap_region_detach(c->pm, a->pos[0], timeout_ms)))
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
	struct pagemap_file_info f;
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
	return show_file(c, &f);
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
	const struct pagemap_file_info *a = x, *b = y;
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
	struct pagemap_file_info *f;
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
			json_object_array_add(arr, file_json(&f[i]));
		json_object_object_add(o, "files", arr);
		pagemap_free(f);
		return print_json(o);
	}
	for (size_t i = 0; i < n; i++) {
		/* An orphan has no name; show it by inode number. */
		if (f[i].orphan && !f[i].name[0])
			table_add(&t, "<orphan:%" PRIu64 ">", f[i].ino);
		else
			table_add(&t, "%s", f[i].name);
		table_add(&t, "%" PRIu64, f[i].size);
		table_add(&t, "%" PRIu64, f[i].allocated);
		table_add(&t, "%04o", f[i].mode);
		table_add(&t, "%" PRIu32, f[i].uid);
		table_add(&t, "%" PRIu32, f[i].gid);
		table_add(&t, "%" PRIu32, f[i].extents);
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
	struct pagemap_file_info f;
	int err;

	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_file_stat(c->pm, region, name, &f)))
		return fail_with(c, err, "file stat %s", a->pos[0]);
	return show_file(c, &f);
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
	struct pagemap_file_info f;
	uint32_t timeout_ms = 0;
	uint64_t size;
	int err;

	if ((err = parse_size(a->pos[1], &size)))
		return bad_value(c, "size", a->pos[1], err);
	if (a->timeout && (err = parse_timeout(a->timeout, &timeout_ms)))
		return bad_value(c, "timeout", a->timeout, err);
	if ((err = connect_daemon(c)))
		return err;
	err = pagemap_file_truncate(c->pm, region, name, size, timeout_ms, &f);
	if (err)
		return fail_with(c, err, "file truncate %s", a->pos[0]);
	return show_file(c, &f);
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
};

/* hold_recall -- the recall handler of `hold`: let go, or say that the
 * recall is ignored. Recalls of other leases are not ours. */
static void
hold_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t lease_id,
	    uint64_t offset, uint64_t length, const char *reason, void *arg)
{
	struct hold *h = arg;

	(void)pm;
	(void)l;
	if (lease_id != h->lease_id)
		return;
	if (!h->ignore_recall) {
		h->recalled = true;
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
	const struct pagemap_lease_info *a = x, *b = y;

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
	struct pagemap_lease_info *v;
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
			json_object_array_add(arr, lease_json(&v[i]));
		json_object_object_add(o, "leases", arr);
		status = print_json(o);
	} else {
		for (size_t i = 0; i < n; i++) {
			table_add(&t, "%" PRIu64, v[i].id);
			table_add(&t, "%s", v[i].region);
			if (v[i].name[0])
				table_add(&t, "%s", v[i].name);
			else
				table_add(&t, "<orphan:%" PRIu64 ">",
					  v[i].ino);
			table_add(&t, "%s", access_name(v[i].access));
			table_add(&t, "%" PRIu32, v[i].pid);
			table_add(&t, "%s", v[i].comm);
			table_add(&t, "%" PRIu64, v[i].grants);
			table_add(&t, "%" PRIu64, v[i].bytes);
			table_add(&t, "%s", v[i].recalled ? "yes" : "no");
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
	if ((err = pagemap_lease_revoke(c->pm, id, timeout_ms)))
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
	const struct pagemap_grant_info *a = x, *b = y;

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
	struct pagemap_grant_info *v;
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
			ju64(g, "lease_id", v[i].lease_id);
			ju64(g, "file_offset", v[i].file_offset);
			ju64(g, "region_offset", v[i].region_offset);
			ju64(g, "order", v[i].order);
			ju64(g, "size", 4096ull << v[i].order);
			jstr(g, "access", access_name(v[i].access));
			json_object_array_add(arr, g);
		}
		json_object_object_add(o, "grants", arr);
		pagemap_free(v);
		return print_json(o);
	}
	for (size_t i = 0; i < n; i++) {
		table_add(&t, "%" PRIu64, v[i].lease_id);
		table_add(&t, "%" PRIu64, v[i].file_offset);
		table_add(&t, "%" PRIu64, v[i].region_offset);
		table_add(&t, "%" PRIu32, v[i].order);
		table_add(&t, "%llu", 4096ull << v[i].order);
		table_add(&t, "%s", access_name(v[i].access));
	}
	pagemap_free(v);
	table_print(&t);
	return EXIT_OK;
}

/* cmp_client -- order clients by id. */
static int
cmp_client(const void *x, const void *y)
{
	const struct pagemap_client_info *a = x, *b = y;

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
	struct pagemap_client_info *v;
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
			ju64(e, "id", v[i].id);
			ju64(e, "pid", v[i].pid);
			ju64(e, "uid", v[i].uid);
			ju64(e, "gid", v[i].gid);
			jstr(e, "comm", v[i].comm);
			jstr(e, "name", v[i].name);
			jbool(e, "connected", v[i].connected);
			ju64(e, "leases", v[i].leases);
			ju64(e, "grants", v[i].grants);
			ju64(e, "pending", v[i].pending);
			json_object_array_add(arr, e);
		}
		json_object_object_add(o, "clients", arr);
		pagemap_free(v);
		return print_json(o);
	}
	for (size_t i = 0; i < n; i++) {
		table_add(&t, "%" PRIu64, v[i].id);
		table_add(&t, "%" PRIu32, v[i].pid);
		table_add(&t, "%" PRIu32, v[i].uid);
		table_add(&t, "%s", v[i].comm[0] ? v[i].comm : "-");
		table_add(&t, "%s", v[i].name[0] ? v[i].name : "-");
		table_add(&t, "%s", v[i].connected ? "yes" : "no");
		table_add(&t, "%" PRIu32, v[i].leases);
		table_add(&t, "%" PRIu64, v[i].grants);
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
	struct pagemap_blocker *v;
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
			jstr(e, "op", v[i].op);
			jstr(e, "target", v[i].target);
			ju64(e, "lease_id", v[i].lease_id);
			ju64(e, "client_id", v[i].client_id);
			ju64(e, "pid", v[i].pid);
			jstr(e, "comm", v[i].comm);
			ju64(e, "grants", v[i].grants);
			json_object_array_add(arr, e);
		}
		json_object_object_add(o, "blockers", arr);
		status = print_json(o);
	} else {
		for (size_t i = 0; i < n; i++) {
			table_add(&t, "%s", v[i].op);
			table_add(&t, "%s", v[i].target);
			table_add(&t, "%" PRIu64, v[i].lease_id);
			table_add(&t, "%" PRIu32, v[i].pid);
			table_add(&t, "%s", v[i].comm[0] ? v[i].comm : "-");
			table_add(&t, "%" PRIu64, v[i].grants);
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

static const struct command commands[] = {
	{"status", "", 0, 0, 0, cmd_status},
	{"region ls", "", 0, 0, 0, cmd_region_ls},
	{"region info", "R", 0, 1, 1, cmd_region_info},
	{"region attach", "R PATH [--size S] [--create] [--max-order N]",
	 O(OPT_SIZE) | O(OPT_CREATE) | O(OPT_MAX_ORDER), 2, 2,
	 cmd_region_attach},
	{"region detach", "R [--timeout SECS]", O(OPT_TIMEOUT), 1, 1,
	 cmd_region_detach},
	{"file create", "R/NAME --size S [--mode OCTAL]",
	 O(OPT_SIZE) | O(OPT_MODE), 1, 1, cmd_file_create},
	{"file ls", "R", 0, 1, 1, cmd_file_ls},
	{"file stat", "R/NAME", 0, 1, 1, cmd_file_stat},
	{"file truncate", "R/NAME S [--timeout SECS]", O(OPT_TIMEOUT), 2, 2,
	 cmd_file_truncate},
	{"file rm", "R/NAME", 0, 1, 1, cmd_file_rm},
	{"write", "R/NAME [--offset N]", O(OPT_OFFSET), 1, 1, cmd_write},
	{"read", "R/NAME [--offset N] [--length N]",
	 O(OPT_OFFSET) | O(OPT_LENGTH), 1, 1, cmd_read},
	{"hold", "R/NAME [--offset N] [--length N] [--rw] [--ignore-recall]",
	 O(OPT_OFFSET) | O(OPT_LENGTH) | O(OPT_RW) | O(OPT_IGNORE_RECALL), 1, 1,
	 cmd_hold},
	{"lease ls", "[R[/NAME]]", 0, 0, 1, cmd_lease_ls},
	{"lease revoke", "ID [--timeout SECS]", O(OPT_TIMEOUT), 1, 1,
	 cmd_lease_revoke},
	{"grant ls", "[--lease ID] [--pid PID]", O(OPT_LEASE) | O(OPT_PID), 0,
	 0, cmd_grant_ls},
	{"client ls", "", 0, 0, 0, cmd_client_ls},
	{"blockers", "R[/NAME]", 0, 1, 1, cmd_blockers},
	{"fsck", "PATH", 0, 1, 1, cmd_fsck},
	{NULL, NULL, 0, 0, 0, NULL},
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
			printf(PROG " %s\n", PAGEMAP_VERSION);
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
		print_usage(stdout);
		return finish_stdout(EXIT_OK);
	}
	if (status == 0)
		status = c.cmd->run(&c, &a);
	pagemap_close(c.pm);
	return finish_stdout(status);
}
#endif

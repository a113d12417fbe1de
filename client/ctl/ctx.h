/* ctx.h -- what every command shares: the run's context and arguments,
 * its connection to the daemon, and its one-line errors. */
#ifndef PAGEMAPCTL_CTX_H
#define PAGEMAPCTL_CTX_H

#include <stdbool.h>

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

/* What one command invocation said; values are parsed by the command. */
struct args {
	const char *pos[MAX_POS];
	int npos;
	const char *size, *max_order, *timeout, *mode;
	const char *offset, *length, *lease, *pid, *interval;
	bool create, rw, ignore_recall, live;
	bool repair, yes; /* fsck --repair [--yes] */
	const char *meta; /* fsck, region convert: the metadata file */
};

struct ctx {
	const char *socket; /* --socket, else NULL: the library's default */
	bool json;
	bool bytes;	     /* --bytes: exact numbers in tables */
	bool no_legend;	     /* --no-legend: tables without a header */
	const char *columns; /* -o COLUMNS, else NULL */
	struct pagemap *pm;  /* connected on first use */
	const struct command *cmd;
};

/* One command of the table in commands.c. */
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

/* In a command's opts: it refuses --json, and its help leaves it out. */
#define CMD_NO_JSON (1u << 31)

/* A command that works on the REGION and NAME of "REGION/NAME". */
typedef int (*target_fn)(struct ctx *c, const struct args *a,
			 const char *region, const char *name);

/* die_oom -- a CLI has no better answer to malloc failure than to stop. */
_Noreturn void die_oom(void);

/* ctx_socket -- the socket path the run uses. */
const char *ctx_socket(const struct ctx *c);

/* connect_daemon -- connect @c to the daemon; EXIT_OK or EXIT_FAIL
 * (reported). */
int connect_daemon(struct ctx *c);

/* usage_error -- report a bad command line for @cmd (NULL: in general);
 * returns EXIT_USAGE. */
int usage_error(const struct command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* bad_size -- a usage error for a size that size_parse() refused, saying
 * what it accepts. */
int bad_size(struct ctx *c, const char *what, const char *val, int err);

/* bad_value -- a usage error for an option or argument value. */
int bad_value(struct ctx *c, const char *what, const char *val, int err);

/* fail_with -- the one stderr line for a failed operation, with the
 * daemon's message; returns EXIT_FAIL. */
int fail_with(struct ctx *c, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* fail_local -- the one stderr line for a failure the CLI itself
 * explains with @detail (instead of a daemon message); EXIT_FAIL. */
int fail_local(int err, const char *detail, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* with_target -- run @fn on the REGION/NAME in the first positional. */
int with_target(struct ctx *c, const struct args *a, target_fn fn);

/* parse_scope -- "R" or "R/NAME" (either part may not be empty); *ret_name
 * is NULL for a whole region. Both are freed by the caller. Returns 0 or
 * EXIT_USAGE (reported). */
int parse_scope(struct ctx *c, const char *s, char **ret_region,
		char **ret_name);

/* absolute_path -- @path made absolute against the current directory (to
 * free), because the daemon resolves it in its own; NULL with errno set
 * when the current directory is unknown. */
char *absolute_path(const char *path);

#endif

/* ctx.c -- the run's connection and its one-line errors; targets named
 * on the command line. */
#include "ctx.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "escape.h"
#include "size.h"

void
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

const char *
ctx_socket(const struct ctx *c)
{
	return c->socket ? c->socket : pagemap_default_socket();
}

int
connect_daemon(struct ctx *c)
{
	const char *path = ctx_socket(c);
	int err = pagemap_connect(path, PROG, &c->pm);
	const char *why;
	char *safe;

	if (!err)
		return 0;
	/* The library's account names the socket, the reason, and what the
	 * daemon said when it refused us ("too many connections ..."). */
	why = pagemap_last_message(NULL);
	if (!*why)
		return fail_with(c, err, "connect %s", path);
	if (!(safe = escape_text(why)))
		die_oom();
	fprintf(stderr, PROG ": %s\n", safe);
	free(safe);
	return EXIT_FAIL;
}

int
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

int
bad_size(struct ctx *c, const char *what, const char *val, int err)
{
	if (err == -ERANGE)
		return bad_value(c, what, val, err);
	return usage_error(c->cmd, "invalid %s '%s': expected " SIZE_ACCEPTED,
			   what, val);
}

int
bad_value(struct ctx *c, const char *what, const char *val, int err)
{
	return usage_error(c->cmd, "invalid %s '%s'%s", what, val,
			   err == -ERANGE ? " (out of range)" : "");
}

/* vfail -- "pagemapctl: WHAT: ERROR (DETAIL)" on stderr, without the
 * parentheses when @detail is empty; returns EXIT_FAIL. */
static int
vfail(int err, const char *detail, const char *fmt, va_list ap)
{
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, ": %s", pagemap_strerror(err));
	if (*detail) {
		/* The daemon's message: escaped like all it sends. */
		char *safe = escape_text(detail);

		if (!safe)
			die_oom();
		fprintf(stderr, " (%s)", safe);
		free(safe);
	}
	fputc('\n', stderr);
	return EXIT_FAIL;
}

int
fail_with(struct ctx *c, int err, const char *fmt, ...)
{
	const char *msg = c->pm ? pagemap_last_message(c->pm) : "";
	va_list ap;

	va_start(ap, fmt);
	vfail(err, msg, fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
}

int
fail_local(int err, const char *detail, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(err, detail, fmt, ap);
	va_end(ap);
	return EXIT_FAIL;
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

int
with_target(struct ctx *c, const struct args *a, target_fn fn)
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

int
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
		return usage_error(c->cmd, "expected R or R/NAME, got '%s'", s);
	return 0;
}

/* Not canonicalised: with --create the file need not exist yet. */
char *
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

/* check-json.c -- run pagemap-bench (argv[1..]) and check what it printed:
 * exit status 0 and, on stdout, exactly one JSON object whose keys are
 * exactly the figure names of docs/performance.md, each {"value": number,
 * "goal": number, "ok": bool} ("goal": null and "ok": true for a figure
 * reported without a goal). No timing is judged: this keeps the benchmark from
 * rotting, it does not grade the daemon. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

static const char *const figures[] = {
	"grant_rtt_ratio",	"map_vs_kernel_ratio",
	"warm_map_vs_kernel_ratio", "cold_map_floor_ratio",
	"per_folio_ns",		"throughput_ratio",
	"scale_latency_ratio",	"bytes_per_grant",
	"revoke_rtt_ratio",	"cached_revoke_rtt_ratio",
	"creates_per_s",	"attach_s",
	"huge_folio_share",
};

/* Figures reported without a goal: their goal is null and they are ok. */
static const char *const reported[] = {
	"map_vs_kernel_ratio",
};
#define NFIGURES (sizeof(figures) / sizeof(figures[0]))

static int
fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "check-json: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 1;
}

/* run -- @argv's stdout, NUL-terminated, in *ret; its exit status. */
static int
run(char **argv, char **ret)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	int p[2], st;
	pid_t pid;

	if (buf == NULL || pipe(p))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		ssize_t n;

		if (len + 1 == cap) {
			char *nb = realloc(buf, cap * 2);

			if (nb == NULL)
				return -1;
			buf = nb;
			cap *= 2;
		}
		n = read(p[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	*ret = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static bool
is_number(struct json_object *o)
{
	return json_object_is_type(o, json_type_double) ||
	       json_object_is_type(o, json_type_int);
}

static bool
is_reported(const char *name)
{
	for (size_t i = 0; i < sizeof(reported) / sizeof(reported[0]); i++)
		if (strcmp(name, reported[i]) == 0)
			return true;
	return false;
}

/* check_figure -- @v is {"value": number, "goal": number, "ok": bool}, or
 * for a figure without a goal {"value": number, "goal": null, "ok":
 * true}. */
static int
check_figure(const char *name, struct json_object *v)
{
	struct json_object *x;
	bool no_goal = is_reported(name);

	if (!json_object_is_type(v, json_type_object) ||
	    json_object_object_length(v) != 3)
		return fail("%s: not an object of value, goal and ok", name);
	if (!json_object_object_get_ex(v, "value", &x) || !is_number(x))
		return fail("%s: value is not a number", name);
	if (!json_object_object_get_ex(v, "goal", &x))
		return fail("%s: no goal", name);
	if (no_goal && x != NULL)
		return fail("%s: a figure without a goal has goal null", name);
	if (!no_goal && !is_number(x))
		return fail("%s: goal is not a number", name);
	if (!json_object_object_get_ex(v, "ok", &x) ||
	    !json_object_is_type(x, json_type_boolean))
		return fail("%s: ok is not a boolean", name);
	if (no_goal && !json_object_get_boolean(x))
		return fail("%s: a figure without a goal is ok", name);
	return 0;
}

int
main(int argc, char **argv)
{
	struct json_tokener *tok;
	struct json_object *root, *v;
	char *out = NULL;
	size_t len;
	int st, rc = 0;

	if (argc < 2)
		return fail("usage: %s PAGEMAP-BENCH [ARGS...]", argv[0]);
	st = run(argv + 1, &out);
	if (st != 0) {
		free(out);
		return fail("%s did not exit with 0", argv[1]);
	}
	len = strlen(out);
	tok = json_tokener_new();
	root = json_tokener_parse_ex(tok, out, (int)len);
	if (root == NULL ||
	    json_tokener_get_error(tok) != json_tokener_success) {
		rc = fail("stdout is not one JSON document:\n%s", out);
		goto out;
	}
	/* Nothing but white space may follow the object. */
	for (size_t i = json_tokener_get_parse_end(tok); i < len; i++)
		if (!strchr(" \t\r\n", out[i])) {
			rc = fail("more than one JSON document:\n%s", out);
			goto out;
		}
	if (!json_object_is_type(root, json_type_object)) {
		rc = fail("%s", "the document is not an object");
		goto out;
	}
	if (json_object_object_length(root) != (int)NFIGURES)
		rc = fail("%s", "the object does not have exactly the figures");
	for (size_t i = 0; i < NFIGURES; i++) {
		if (!json_object_object_get_ex(root, figures[i], &v))
			rc |= fail("figure %s is missing", figures[i]);
		else
			rc |= check_figure(figures[i], v);
	}
	if (rc == 0)
		printf("check-json: %zu figures, all well formed\n", NFIGURES);
out:
	json_object_put(root);
	json_tokener_free(tok);
	free(out);
	return rc;
}

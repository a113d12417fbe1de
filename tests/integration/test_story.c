/* test_story.c -- the hold/recall story with real processes: `pagemapctl hold`
 * runs as a process of its own with pipes on its stdin and stdout, and
 * other pagemapctl processes truncate, revoke, detach, remove, list and
 * look for blockers while it holds; bytes written by one process are read
 * by another; kill -9 of a holder releases its pins. Nothing sleeps: every
 * wait is a poll() on a pipe or a pidfd, or a bounded loop. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "clock.h"
#include "ctljson.h"
#include "fdcheck.h"
#include "harness.h"

#define MiB (1ull << 20)
#define WAIT_MS 30000	  /* bound on what should happen promptly */
#define OUT_MAX (5 * MiB) /* stdout captured from one command */
#define ERR_MAX 65536	  /* stderr captured from one command */
#define MAX_PROCS 8	  /* background processes per test */
#define MAX_ARGV 24

/* A pagemapctl process running in the background. */
struct proc {
	pid_t pid; /* 0 once reaped */
	int pidfd; /* readable when it exits */
	int in;	   /* write end of its stdin, or -1 */
	int out;   /* read ends of its stdout and stderr, or -1 */
	int err;
	char text[ERR_MAX]; /* what was read from stdout so far */
	size_t ntext;
	char etext[ERR_MAX]; /* and from stderr */
	size_t netext;
};

/* A running `pagemapctl hold`. */
struct hold {
	struct proc *p;
	char line[256]; /* the "held ..." line */
	uint64_t lease;
	uint64_t offset, length, folios;
};

struct fixture {
	struct daemon d;
	struct proc *procs[MAX_PROCS]; /* killed at teardown if running */
	int nprocs;
};

/* Output of the last foreground command. */
static char out[OUT_MAX + 1], err[ERR_MAX + 1];
static size_t nout;

static int
setup(void **state)
{
	return daemon_setup(state, sizeof(struct fixture), NULL) ? 0 : -1;
}

static void proc_close(struct proc *p);

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int st;

	/* A failed test may leave a holder behind; it must not hold up the
	 * daemon's shutdown. */
	for (int i = 0; i < f->nprocs; i++) {
		struct proc *p = f->procs[i];

		if (p->pid) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, NULL, 0);
			p->pid = 0;
		}
		proc_close(p);
		free(p);
	}
	st = daemon_finish(&f->d);
	free(f);
	if (fdcheck_end() < 0)
		return -1;
	return st;
}

/* ---- processes ------------------------------------------------------ */

static int
left_ms(long long end)
{
	long long l = end - now_ms();

	return l < 0 ? 0 : (int)l;
}

static int
decode(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* build_argv -- PAGEMAPCTL_BIN --socket SOCK then the NULL-ended @ap. */
static void
build_argv(struct fixture *f, const char **argv, va_list ap)
{
	const char *a;
	int n = 0;

	argv[n++] = PAGEMAPCTL_BIN;
	argv[n++] = "--socket";
	argv[n++] = f->d.socket;
	while ((a = va_arg(ap, const char *)) != NULL) {
		assert_true(n < MAX_ARGV - 1);
		argv[n++] = a;
	}
	argv[n] = NULL;
}

/* spawn -- start @argv with pipes on stdout and stderr, and on stdin
 * when @pipe_in (else /dev/null). */
static void
spawn(struct proc *p, const char **argv, bool pipe_in)
{
	int in[2] = {-1, -1}, o[2], e[2];

	if (pipe_in)
		assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(o, O_CLOEXEC), 0);
	assert_int_equal(pipe2(e, O_CLOEXEC), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		/* a test that dies must not leave holders behind */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pipe_in ? in[0] : null, 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	if (pipe_in)
		close(in[0]);
	close(o[1]);
	close(e[1]);
	p->in = in[1];
	p->out = o[0];
	p->err = e[0];
	p->pidfd = (int)syscall(SYS_pidfd_open, p->pid, 0);
	assert_true(p->pidfd >= 0);
	p->ntext = p->netext = 0;
	p->text[0] = p->etext[0] = '\0';
}

static void
proc_close(struct proc *p)
{
	int *fds[] = {&p->in, &p->out, &p->err, &p->pidfd};

	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* bg -- start pagemapctl ARGS... in the background. */
static struct proc *
bg(struct fixture *f, bool pipe_in, ...)
{
	const char *argv[MAX_ARGV];
	struct proc *p = calloc(1, sizeof(*p));
	va_list ap;

	assert_non_null(p);
	assert_true(f->nprocs < MAX_PROCS);
	p->in = p->out = p->err = p->pidfd = -1;
	f->procs[f->nprocs++] = p;
	va_start(ap, pipe_in);
	build_argv(f, argv, ap);
	va_end(ap);
	spawn(p, argv, pipe_in);
	return p;
}

/* pump -- read what @p wrote to stdout and stderr, waiting at most @ms
 * for something to come. */
static void
pump(struct proc *p, int ms)
{
	struct pollfd pf[2] = {{.fd = p->out, .events = POLLIN},
			       {.fd = p->err, .events = POLLIN}};
	char sink[4096];

	if (poll(pf, 2, ms) <= 0)
		return;
	for (int i = 0; i < 2; i++) {
		int *fd = i ? &p->err : &p->out;
		char *buf = i ? p->etext : p->text;
		size_t *n = i ? &p->netext : &p->ntext;
		ssize_t r;

		if (!pf[i].revents)
			continue;
		if (*n < ERR_MAX - 1)
			r = read(*fd, buf + *n, ERR_MAX - 1 - *n);
		else /* full: keep the start, drop the rest */
			r = read(*fd, sink, sizeof(sink));
		if (r > 0 && *n < ERR_MAX - 1) {
			*n += (size_t)r;
			buf[*n] = '\0';
		} else if (r <= 0) {
			close(*fd);
			*fd = -1;
		}
	}
}

/* running -- whether @p has not exited yet. */
static bool
running(const struct proc *p)
{
	struct pollfd pf = {.fd = p->pidfd, .events = POLLIN};

	return p->pid && poll(&pf, 1, 0) == 0;
}

/* finish -- wait (bounded) for @p to exit, collect the rest of its output
 * and return its status (exit code, 128 + signal). */
static int
finish(struct proc *p)
{
	long long end = now_ms() + WAIT_MS;
	struct pollfd pf = {.fd = p->pidfd, .events = POLLIN};
	int st;

	/* its output must not back up while we wait */
	while ((p->out >= 0 || p->err >= 0) && left_ms(end))
		pump(p, left_ms(end));
	if (poll(&pf, 1, left_ms(end)) != 1)
		fail_msg("pid %d did not exit in time", (int)p->pid);
	assert_int_equal(waitpid(p->pid, &st, 0), p->pid);
	p->pid = 0;
	proc_close(p);
	return decode(st);
}

/* xctl -- run pagemapctl ARGS... with @in (@inlen bytes) on stdin; its
 * stdout lands in out/nout, its stderr in err. Returns its status. */
static int
vxctl(struct fixture *f, const void *in, size_t inlen, va_list ap)
{
	const char *argv[MAX_ARGV];
	struct proc p = {.in = -1, .out = -1, .err = -1, .pidfd = -1};
	size_t sent = 0, nerr = 0;
	long long end = now_ms() + 4 * WAIT_MS;
	int st;

	build_argv(f, argv, ap);
	spawn(&p, argv, true);
	fcntl(p.in, F_SETFL, O_NONBLOCK);
	nout = 0;
	if (inlen == 0) {
		close(p.in);
		p.in = -1;
	}
	while (p.out >= 0 || p.err >= 0) {
		struct pollfd pf[3] = {{.fd = p.out, .events = POLLIN},
				       {.fd = p.err, .events = POLLIN},
				       {.fd = p.in, .events = POLLOUT}};

		if (!left_ms(end))
			fail_msg("%s %s did not finish in time", argv[3],
				 argv[4] ? argv[4] : "");
		if (poll(pf, 3, left_ms(end)) <= 0)
			continue;
		if (pf[2].revents) {
			ssize_t w = write(p.in, (const char *)in + sent,
					  inlen - sent);

			if (w > 0)
				sent += (size_t)w;
			if (w < 0 || sent == inlen) {
				close(p.in);
				p.in = -1;
			}
		}
		for (int i = 0; i < 2; i++) {
			int *fd = i ? &p.err : &p.out;
			char *buf = i ? err : out;
			size_t *n = i ? &nerr : &nout;
			size_t cap = i ? ERR_MAX : OUT_MAX;
			ssize_t r;

			if (!pf[i].revents)
				continue;
			assert_true(*n < cap);
			r = read(*fd, buf + *n, cap - *n);
			if (r > 0) {
				*n += (size_t)r;
			} else {
				close(*fd);
				*fd = -1;
			}
		}
	}
	out[nout] = '\0';
	err[nerr] = '\0';
	if (p.in >= 0)
		close(p.in);
	/* stdout and stderr closed: it is exiting */
	if (poll(&(struct pollfd){.fd = p.pidfd, .events = POLLIN}, 1,
		 left_ms(end)) != 1)
		fail_msg("%s did not exit", argv[3]);
	assert_int_equal(waitpid(p.pid, &st, 0), p.pid);
	close(p.pidfd);
	return decode(st);
}

static int
xctl_in(struct fixture *f, const void *in, size_t inlen, ...)
{
	va_list ap;
	int rv;

	va_start(ap, inlen);
	rv = vxctl(f, in, inlen, ap);
	va_end(ap);
	return rv;
}

#define xctl(f, ...) xctl_in(f, NULL, 0, __VA_ARGS__)

/* ok -- run a command that must succeed. */
#define ok(f, ...)                                                             \
	do {                                                                   \
		int rv_ = xctl(f, __VA_ARGS__);                                \
		if (rv_ != 0)                                                  \
			fail_msg("pagemapctl exited %d: %s", rv_, err);        \
	} while (0)

/* jctl -- run pagemapctl --json ARGS..., expect success, parse stdout
 * (release with json_object_put). */
#define jctl(f, ...) jparse(xctl(f, "--json", __VA_ARGS__), out, err)

static bool
jbool(json_object *j, const char *key)
{
	json_object *v = jget(j, key);

	assert_true(json_object_is_type(v, json_type_boolean));
	return json_object_get_boolean(v);
}

/* jarr -- the array @key of @j, which must have @n elements. */
static json_object *
jarr(json_object *j, const char *key, size_t n)
{
	json_object *a = jget(j, key);

	assert_true(json_object_is_type(a, json_type_array));
	if (json_object_array_length(a) != n)
		fail_msg("%s: %zu elements, not %zu: %s", key,
			 json_object_array_length(a), n,
			 json_object_to_json_string(j));
	return a;
}

/* ---- tables ----------------------------------------------------------- */

#define MAX_TOK 16

/* row -- the line number @nr (0: the header) of out, split at blanks
 * into @tok; returns the number of fields, -1 if there is no such line. */
static int
row(int nr, char *copy, size_t len, char **tok)
{
	const char *s = out;
	int n = 0;
	char *save, *t;

	for (int i = 0; i < nr && s; i++) {
		s = strchr(s, '\n');
		s = s ? s + 1 : NULL;
	}
	if (!s || !*s)
		return -1;
	snprintf(copy, len, "%.*s", (int)strcspn(s, "\n"), s);
	for (t = strtok_r(copy, " ", &save); t && n < MAX_TOK;
	     t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	return n;
}

static int
lines(void)
{
	int n = 0;

	for (const char *s = out; *s; s++)
		n += *s == '\n';
	return n;
}

static void
expect_header(const char *want)
{
	char got[256], *tok[MAX_TOK], wcopy[256], *w[MAX_TOK], *save, *t;
	int k = 0, nt = row(0, got, sizeof(got), tok);

	snprintf(wcopy, sizeof(wcopy), "%s", want);
	for (t = strtok_r(wcopy, " ", &save); t; t = strtok_r(NULL, " ", &save))
		w[k++] = t;
	if (nt != k)
		fail_msg("header: %s", out);
	for (int i = 0; i < k; i++)
		assert_string_equal(tok[i], w[i]);
}

static void
expect_tok(const char *tok, uint64_t v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	assert_string_equal(tok, buf);
}

/* ---- the holder ------------------------------------------------------- */

/* hold_start -- `pagemapctl hold R/NAME ARGS...` with a pipe on stdin;
 * waits (bounded) for its one "held" line. */
#define hold_start(f, h, ...)                                                  \
	hold_start_(f, h, bg(f, true, "hold", __VA_ARGS__))

static void
hold_start_(struct fixture *f, struct hold *h, struct proc *p)
{
	long long end = now_ms() + WAIT_MS;
	char target[128];
	int n;

	(void)f;
	h->p = p;
	while (!strchr(p->text, '\n') && p->out >= 0 && left_ms(end))
		pump(p, left_ms(end));
	if (!strchr(p->text, '\n'))
		fail_msg("hold printed no line: %s / %s", p->text, p->etext);
	snprintf(h->line, sizeof(h->line), "%.*s", (int)strcspn(p->text, "\n"),
		 p->text);
	n = sscanf(h->line,
		   "held %127s lease %" SCNu64 " offset %" SCNu64
		   " length %" SCNu64 " folios %" SCNu64,
		   target, &h->lease, &h->offset, &h->length, &h->folios);
	if (n != 5)
		fail_msg("not a held line: %s", h->line);
	/* exactly one line */
	assert_int_equal(strlen(p->text), strlen(h->line) + 1);
	assert_true(running(p));
}

/* hold_stop -- close the holder's stdin: it lets go and exits 0. */
static void
hold_stop(struct hold *h)
{
	int st;

	close(h->p->in);
	h->p->in = -1;
	st = finish(h->p);
	if (st != 0)
		fail_msg("hold exited %d: %s", st, h->p->etext);
}

/* stderr_has -- wait (bounded) until @p's stderr contains @needle. */
static void
stderr_has(struct proc *p, const char *needle)
{
	long long end = now_ms() + WAIT_MS;

	while (!strstr(p->etext, needle) && p->err >= 0 && left_ms(end))
		pump(p, left_ms(end));
	if (!strstr(p->etext, needle))
		fail_msg("stderr lacks \"%s\": %s", needle, p->etext);
}

static void
create(struct fixture *f, const char *target, const char *size)
{
	ok(f, "file", "create", target, "--size", size, NULL);
}

static int64_t
file_size(struct fixture *f, const char *target)
{
	json_object *j = jctl(f, "file", "stat", target, NULL);
	int64_t s = jint(j, "size");

	json_object_put(j);
	return s;
}

/* status_is -- poll `status --json`, bounded, until the daemon counts
 * @grants grants and @leases leases. */
static void
status_is(struct fixture *f, int64_t grants, int64_t leases)
{
	long long end = now_ms() + WAIT_MS;
	int64_t g, l;

	for (;;) {
		json_object *j = jctl(f, "status", NULL);

		g = jint(j, "grants");
		l = jint(j, "leases");
		json_object_put(j);
		if ((g == grants && l == leases) || !left_ms(end))
			break;
	}
	assert_int_equal(g, grants);
	assert_int_equal(l, leases);
}

/* blockers_of -- poll `--json blockers SCOPE`, bounded, until it lists
 * something; returns the document. */
static json_object *
blockers_of(struct fixture *f, const char *scope)
{
	long long end = now_ms() + WAIT_MS;

	for (;;) {
		json_object *j = jctl(f, "blockers", scope, NULL);
		json_object *a = jget(j, "blockers");

		if (json_object_array_length(a) > 0 || !left_ms(end))
			return j;
		json_object_put(j);
	}
}

/* ino_of -- the inode number `file ls REGION` gives @name. */
static int64_t
ino_of(struct fixture *f, const char *region, const char *name)
{
	json_object *j = jctl(f, "file", "ls", region, NULL);
	json_object *a = jget(j, "files");
	int64_t ino = -1;

	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *fi = json_object_array_get_idx(a, i);

		if (strcmp(jstr(fi, "name"), name) == 0)
			ino = jint(fi, "ino");
	}
	json_object_put(j);
	if (ino < 0)
		fail_msg("file ls %s has no %s", region, name);
	return ino;
}

static void
expect_no_blockers(struct fixture *f, const char *scope)
{
	ok(f, "blockers", scope, NULL);
	expect_header("OP TARGET LEASE_ID PID COMM GRANTS");
	assert_int_equal(lines(), 1);
}

/* ---- tests ---------------------------------------------------------- */

static void
truncate_timeout_names_the_holder_and_blockers_show_it(void **state)
{
	struct fixture *f = *state;
	struct hold h;
	json_object *j, *b;
	char pid[32], lease[32], line[256], *tok[MAX_TOK], want[400];
	struct proc *rv;
	int n;

	create(f, "r/f", "1M");
	hold_start(f, &h, "r/f", "--ignore-recall", NULL);
	assert_int_equal(h.offset, 0);
	assert_int_equal(h.length, MiB);
	assert_int_equal(h.folios, 1);
	snprintf(pid, sizeof(pid), "pid %d", (int)h.p->pid);
	snprintf(lease, sizeof(lease), "lease %" PRIu64, h.lease);

	assert_int_equal(xctl(f, "file", "truncate", "r/f", "0", "--timeout",
			      "0.3", NULL),
			 1);
	/* Timed out: says after how long, that the truncate stays, who
	 * holds it up and what would clear it. */
	snprintf(want, sizeof(want),
		 "pagemapctl: file truncate r/f: timed out after 0.3 s; the "
		 "truncate stays in force until these grants are returned: "
		 "lease %" PRIu64 " (%s pagemapctl, 1 grant); `pagemapctl "
		 "lease revoke %" PRIu64 "` ends that lease",
		 h.lease, pid, h.lease);
	if (!strstr(err, want))
		fail_msg("want \"%s\" in: %s", want, err);
	assert_non_null(strstr(err, lease));
	assert_int_equal(nout, 0);
	/* the holder was asked and said so */
	snprintf(want, sizeof(want),
		 "pagemapctl: hold r/f: recall of lease %" PRIu64
		 " (truncate, offset 0 length 1048576) ignored",
		 h.lease);
	stderr_has(h.p, want);
	assert_true(running(h.p));

	/* the truncate stays pending: blockers name the holder */
	ok(f, "blockers", "r/f", NULL);
	expect_header("OP TARGET LEASE_ID PID COMM GRANTS");
	assert_int_equal(lines(), 2);
	n = row(1, line, sizeof(line), tok);
	assert_true(n >= 6);
	assert_string_equal(tok[0], "truncate");
	expect_tok(tok[n - 4], h.lease);
	expect_tok(tok[n - 3], (uint64_t)h.p->pid);
	assert_string_equal(tok[n - 2], "pagemapctl");
	assert_string_equal(tok[n - 1], "1");
	j = jctl(f, "blockers", "r/f", NULL);
	b = json_object_array_get_idx(jarr(j, "blockers", 1), 0);
	assert_string_equal(jstr(b, "op"), "truncate");
	assert_non_null(strstr(jstr(b, "target"), "r/f"));
	assert_int_equal(jint(b, "lease_id"), h.lease);
	assert_int_equal(jint(b, "pid"), h.p->pid);
	assert_string_equal(jstr(b, "comm"), "pagemapctl");
	assert_int_equal(jint(b, "grants"), 1);
	assert_true(jint(b, "client_id") > 0);
	/* the target as fields too */
	assert_string_equal(jstr(b, "region"), "r");
	assert_string_equal(jstr(b, "file"), "f");
	assert_int_equal(jint(b, "ino"), ino_of(f, "r", "f"));
	assert_int_equal(jint(b, "new_size"), 0);
	json_object_put(j);
	/* the same through the region scope */
	j = jctl(f, "blockers", "r", NULL);
	jarr(j, "blockers", 1);
	json_object_put(j);
	assert_int_equal(file_size(f, "r/f"), MiB);

	/* A wait without --timeout talks: after a second it names who it
	 * waits for and how to stop waiting. */
	snprintf(want, sizeof(want), "%" PRIu64, h.lease);
	rv = bg(f, false, "lease", "revoke", want, NULL);
	snprintf(want, sizeof(want),
		 "pagemapctl: lease revoke %" PRIu64 ": waiting for lease "
		 "%" PRIu64 " (%s pagemapctl, 1 grant); Ctrl-C stops waiting "
		 "(the revoke stays in force); the holder's unmap or exit "
		 "ends it",
		 h.lease, h.lease, pid);
	stderr_has(rv, want);

	/* the holder lets go: the pending truncate and revoke complete */
	hold_stop(&h);
	assert_int_equal(finish(rv), 0);
	assert_int_equal(file_size(f, "r/f"), 0);
	expect_no_blockers(f, "r/f");
	status_is(f, 0, 0);
}

/* An unlinked file still held is listed as <orphan:INO>, and blockers
 * find its holders under that name. */
static void
an_orphan_is_listed_and_its_holders_found_by_its_label(void **state)
{
	struct fixture *f = *state;
	struct hold h;
	json_object *j, *fi, *b;
	char label[64], target[128], id[32];
	int64_t ino;

	create(f, "r/f", "1M");
	hold_start(f, &h, "r/f", "--ignore-recall", NULL);
	ok(f, "file", "rm", "r/f", NULL);

	j = jctl(f, "file", "ls", "r", NULL);
	fi = json_object_array_get_idx(jarr(j, "files", 1), 0);
	assert_string_equal(jstr(fi, "name"), "");
	assert_true(jbool(fi, "orphan"));
	ino = jint(fi, "ino");
	json_object_put(j);
	snprintf(label, sizeof(label), "<orphan:%lld>", (long long)ino);
	ok(f, "file", "ls", "r", NULL);
	if (!strstr(out, label))
		fail_msg("file ls lacks %s: %s", label, out);

	/* A revoke that waits: its holder shows under the orphan's label. */
	snprintf(id, sizeof(id), "%" PRIu64, h.lease);
	assert_int_equal(
		xctl(f, "lease", "revoke", id, "--timeout", "0.2", NULL), 1);
	snprintf(target, sizeof(target), "r/%s", label);
	j = jctl(f, "blockers", target, NULL);
	b = json_object_array_get_idx(jarr(j, "blockers", 1), 0);
	assert_string_equal(jstr(b, "op"), "revoke");
	assert_int_equal(jint(b, "lease_id"), h.lease);
	assert_non_null(strstr(jstr(b, "target"), label));
	assert_string_equal(jstr(b, "region"), "r");
	assert_string_equal(jstr(b, "file"), label);
	assert_int_equal(jint(b, "ino"), ino);
	assert_int_equal(jint(b, "new_size"), 0);
	json_object_put(j);

	/* The holder lets go: the revoke completes, the orphan is freed. */
	hold_stop(&h);
	expect_no_blockers(f, "r");
	j = jctl(f, "file", "ls", "r", NULL);
	jarr(j, "files", 0);
	json_object_put(j);
}

static void
a_hold_lets_go_at_a_recall_so_the_truncate_completes(void **state)
{
	struct fixture *f = *state;
	struct hold h;
	struct proc *t;

	create(f, "r/f", "3M");
	hold_start(f, &h, "r/f", NULL);
	assert_int_equal(h.folios, 2);
	t = bg(f, false, "file", "truncate", "r/f", "0", NULL);
	/* its stdin stays open: only the recall makes it leave */
	assert_int_equal(finish(t), 0);
	assert_non_null(strstr(t->text, "\nsize: 0\n"));
	assert_int_equal(finish(h.p), 0);
	assert_string_equal(h.p->etext, "");
	assert_int_equal(file_size(f, "r/f"), 0);
	status_is(f, 0, 0);
}

static void
with_ignore_recall_the_truncate_waits_for_the_hold(void **state)
{
	struct fixture *f = *state;
	struct hold h;
	struct proc *t;
	json_object *j, *b;

	create(f, "r/f", "2M");
	hold_start(f, &h, "r/f", "--offset", "1M", "--ignore-recall", NULL);
	assert_int_equal(h.offset, MiB);
	assert_int_equal(h.length, MiB);
	t = bg(f, false, "file", "truncate", "r/f", "4K", NULL);
	j = blockers_of(f, "r/f");
	b = json_object_array_get_idx(jarr(j, "blockers", 1), 0);
	assert_string_equal(jstr(b, "op"), "truncate");
	assert_int_equal(jint(b, "lease_id"), h.lease);
	assert_int_equal(jint(b, "pid"), h.p->pid);
	assert_string_equal(jstr(b, "target"), "r/f to 4096");
	assert_string_equal(jstr(b, "region"), "r");
	assert_string_equal(jstr(b, "file"), "f");
	assert_int_equal(jint(b, "new_size"), 4096);
	json_object_put(j);
	/* the recall names the range past the new end */
	stderr_has(h.p, "(truncate, offset 4096 length 2093056) ignored");
	/* both wait, the file keeps its size */
	assert_true(running(t));
	assert_true(running(h.p));
	assert_int_equal(file_size(f, "r/f"), 2 * MiB);
	hold_stop(&h);
	assert_int_equal(finish(t), 0);
	assert_int_equal(file_size(f, "r/f"), 4096);
	status_is(f, 0, 0);
}

static void
bytes_written_by_one_process_are_read_by_another(void **state)
{
	struct fixture *f = *state;
	const size_t len = 3 * MiB, len2 = 100000, off2 = 1234567;
	const size_t size = 4 * MiB;
	unsigned char *model = calloc(1, size), *p2 = malloc(len2);
	json_object *j;

	assert_non_null(model);
	assert_non_null(p2);
	assert_int_equal(getrandom(model, len, 0), (ssize_t)len);
	assert_int_equal(getrandom(p2, len2, 0), (ssize_t)len2);
	create(f, "r/d", "4M");
	assert_int_equal(xctl_in(f, model, len, "write", "r/d", NULL), 0);
	assert_int_equal(nout, 0);
	ok(f, "read", "r/d", "--length", "3M", NULL);
	assert_int_equal(nout, len);
	assert_memory_equal(out, model, len);
	/* the rest of a new file reads as zeros */
	ok(f, "read", "r/d", NULL);
	assert_int_equal(nout, size);
	assert_memory_equal(out, model, size);

	/* a write at an odd offset, across folios */
	j = jparse(xctl_in(f, p2, len2, "--json", "write", "r/d", "--offset",
			   "1234567", NULL),
		   out, err);
	assert_int_equal(jint(j, "offset"), off2);
	assert_int_equal(jint(j, "length"), len2);
	assert_string_equal(jstr(j, "name"), "d");
	json_object_put(j);
	memcpy(model + off2, p2, len2);
	ok(f, "read", "r/d", "--offset", "1234567", "--length", "100000", NULL);
	assert_int_equal(nout, len2);
	assert_memory_equal(out, p2, len2);
	ok(f, "read", "r/d", NULL);
	assert_int_equal(nout, size);
	assert_memory_equal(out, model, size);

	/* data running past the end is refused whole */
	assert_int_equal(xctl_in(f, p2, 5000, "write", "r/d", "--offset",
				 "4194000", NULL),
			 1);
	assert_non_null(strstr(err, "No such device or address"));
	ok(f, "read", "r/d", NULL);
	assert_memory_equal(out, model, size);
	status_is(f, 0, 0);
	free(p2);
	free(model);
}

static void
rm_while_held_keeps_the_space_until_the_hold_exits(void **state)
{
	struct fixture *f = *state;
	struct hold h;
	json_object *j, *l;
	int64_t free0, free1;
	long long end;

	j = jctl(f, "region", "info", "r", NULL);
	free0 = jint(j, "free");
	assert_int_equal(jint(j, "orphans"), 0);
	json_object_put(j);
	create(f, "r/g", "4M");
	j = jctl(f, "region", "info", "r", NULL);
	free1 = jint(j, "free");
	assert_int_equal(free1, free0 - (int64_t)(4 * MiB));
	json_object_put(j);
	hold_start(f, &h, "r/g", NULL);

	ok(f, "file", "rm", "r/g", NULL);
	/* the name is gone at once */
	assert_int_equal(xctl(f, "file", "stat", "r/g", NULL), 1);
	assert_non_null(strstr(err, "pagemapctl: file stat r/g: No such file "
				    "or directory"));
	j = jctl(f, "region", "info", "r", NULL);
	assert_int_equal(jint(j, "orphans"), 1);
	assert_int_equal(jint(j, "files"), 0);
	assert_int_equal(jint(j, "free"), free1);
	json_object_put(j);
	/* the holder still holds the orphan */
	j = jctl(f, "lease", "ls", NULL);
	l = json_object_array_get_idx(jarr(j, "leases", 1), 0);
	assert_int_equal(jint(l, "id"), h.lease);
	assert_string_equal(jstr(l, "name"), "");
	assert_int_equal(jint(l, "grants"), 2);
	json_object_put(j);
	assert_true(running(h.p));

	/* the space comes back when it exits */
	hold_stop(&h);
	end = now_ms() + WAIT_MS;
	for (;;) {
		j = jctl(f, "region", "info", "r", NULL);
		if (jint(j, "orphans") == 0 || !left_ms(end))
			break;
		json_object_put(j);
	}
	assert_int_equal(jint(j, "orphans"), 0);
	assert_int_equal(jint(j, "free"), free0);
	json_object_put(j);
	status_is(f, 0, 0);
}

/* lease_listing -- `lease ls` and its JSON show @h; returns the holder's
 * client id. */
static int64_t
lease_listing(struct fixture *f, const struct hold *h)
{
	char line[256], *tok[MAX_TOK];
	json_object *j, *e;
	int64_t client;

	ok(f, "--bytes", "lease", "ls", NULL);
	expect_header("ID REGION NAME ACCESS PID COMM GRANTS BYTES RECALLED");
	assert_int_equal(lines(), 2);
	assert_int_equal(row(1, line, sizeof(line), tok), 9);
	expect_tok(tok[0], h->lease);
	assert_string_equal(tok[1], "r");
	assert_string_equal(tok[2], "f");
	assert_string_equal(tok[3], "write");
	expect_tok(tok[4], (uint64_t)h->p->pid);
	assert_string_equal(tok[5], "pagemapctl");
	assert_string_equal(tok[6], "2");
	assert_string_equal(tok[7], "4194304");
	assert_string_equal(tok[8], "no");
	j = jctl(f, "lease", "ls", "r/f", NULL);
	e = json_object_array_get_idx(jarr(j, "leases", 1), 0);
	assert_int_equal(jint(e, "id"), h->lease);
	assert_string_equal(jstr(e, "region"), "r");
	assert_string_equal(jstr(e, "name"), "f");
	assert_string_equal(jstr(e, "access"), "write");
	assert_int_equal(jint(e, "pid"), h->p->pid);
	assert_int_equal(jint(e, "uid"), getuid());
	assert_string_equal(jstr(e, "comm"), "pagemapctl");
	assert_int_equal(jint(e, "grants"), 2);
	assert_int_equal(jint(e, "bytes"), 4 * MiB);
	assert_false(jbool(e, "recalled"));
	client = jint(e, "client_id");
	json_object_put(j);
	return client;
}

/* grant_listing -- `grant ls` by lease and by pid shows @h's two 2 MiB
 * folios. */
static void
grant_listing(struct fixture *f, const struct hold *h)
{
	char line[256], *tok[MAX_TOK], id[32], pid[32];
	json_object *j, *e;

	snprintf(id, sizeof(id), "%" PRIu64, h->lease);
	snprintf(pid, sizeof(pid), "%d", (int)h->p->pid);
	ok(f, "--bytes", "grant", "ls", "--lease", id, NULL);
	expect_header(
		"LEASE_ID FILE_OFFSET REGION_OFFSET ORDER SIZE ACCESS STATE");
	assert_int_equal(lines(), 3);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(row(1 + i, line, sizeof(line), tok), 7);
		expect_tok(tok[0], h->lease);
		expect_tok(tok[1], i * 2 * MiB);
		assert_int_equal(strtoull(tok[2], NULL, 10) % (2 * MiB), 0);
		assert_string_equal(tok[3], "9");
		assert_string_equal(tok[4], "2097152");
		assert_string_equal(tok[5], "write");
		assert_string_equal(tok[6], "mapped"); /* the hold maps it */
	}
	j = jctl(f, "grant", "ls", "--pid", pid, NULL);
	for (int i = 0; i < 2; i++) {
		e = json_object_array_get_idx(jarr(j, "grants", 2), i);
		assert_int_equal(jint(e, "lease_id"), h->lease);
		assert_int_equal(jint(e, "file_offset"), i * 2 * MiB);
		assert_int_equal(jint(e, "order"), 9);
		assert_int_equal(jint(e, "size"), 2 * MiB);
		assert_string_equal(jstr(e, "access"), "write");
	}
	json_object_put(j);
	j = jctl(f, "grant", "ls", NULL);
	jarr(j, "grants", 2);
	json_object_put(j);
	ok(f, "grant", "ls", "--pid", "1", NULL);
	assert_int_equal(lines(), 1);
}

/* client_listing -- `client ls` and its JSON show @h's process once, as
 * client @client. */
static void
client_listing(struct fixture *f, const struct hold *h, int64_t client)
{
	char line[256], *tok[MAX_TOK], pid[32];
	json_object *j, *a, *e;
	int found = 0;

	snprintf(pid, sizeof(pid), "%d", (int)h->p->pid);
	ok(f, "client", "ls", NULL);
	expect_header("ID PID UID COMM NAME CONNECTED LEASES GRANTS");
	for (int i = 1; row(i, line, sizeof(line), tok) > 0; i++) {
		if (strcmp(tok[1], pid))
			continue;
		found++;
		expect_tok(tok[0], (uint64_t)client);
		assert_string_equal(tok[3], "pagemapctl");
		assert_string_equal(tok[4], "pagemapctl");
		assert_string_equal(tok[5], "yes");
		assert_string_equal(tok[6], "1");
		assert_string_equal(tok[7], "2");
	}
	assert_int_equal(found, 1);
	j = jctl(f, "client", "ls", NULL);
	a = jget(j, "clients");
	found = 0;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		if (jint(e, "pid") != h->p->pid)
			continue;
		found++;
		assert_int_equal(jint(e, "id"), client);
		assert_string_equal(jstr(e, "comm"), "pagemapctl");
		assert_string_equal(jstr(e, "name"), "pagemapctl");
		assert_true(jbool(e, "connected"));
		assert_int_equal(jint(e, "leases"), 1);
		assert_int_equal(jint(e, "grants"), 2);
	}
	assert_int_equal(found, 1);
	json_object_put(j);
}

static void
listings_show_an_active_hold(void **state)
{
	struct fixture *f = *state;
	struct hold h;
	json_object *j, *a;

	create(f, "r/f", "4M");
	hold_start(f, &h, "r/f", "--rw", NULL);
	assert_int_equal(h.folios, 2);
	client_listing(f, &h, lease_listing(f, &h));
	grant_listing(f, &h);
	status_is(f, 2, 1);

	/* once it is gone, nothing shows it */
	hold_stop(&h);
	ok(f, "lease", "ls", NULL);
	assert_int_equal(lines(), 1);
	ok(f, "grant", "ls", NULL);
	assert_int_equal(lines(), 1);
	j = jctl(f, "client", "ls", NULL);
	a = jget(j, "clients");
	for (size_t i = 0; i < json_object_array_length(a); i++)
		assert_int_not_equal(
			jint(json_object_array_get_idx(a, i), "pid"), h.p->pid);
	json_object_put(j);
}

static void
lease_revoke_makes_the_hold_exit(void **state)
{
	struct fixture *f = *state;
	struct hold h;
	char id[32];

	create(f, "r/f", "1M");
	hold_start(f, &h, "r/f", "--length", "8K", NULL);
	assert_int_equal(h.length, 8192);
	snprintf(id, sizeof(id), "%" PRIu64, h.lease);
	ok(f, "lease", "revoke", id, NULL);
	assert_int_equal(nout, 0);
	/* stdin still open: the recall alone ends it */
	assert_int_equal(finish(h.p), 0);
	assert_string_equal(h.p->etext, "");
	ok(f, "lease", "ls", NULL);
	assert_int_equal(lines(), 1);
	assert_int_equal(xctl(f, "lease", "revoke", id, NULL), 1);
	assert_non_null(strstr(err, "No such file or directory"));
	status_is(f, 0, 0);
}

static void
region_detach_waits_for_a_hold(void **state)
{
	struct fixture *f = *state;
	struct hold h;
	json_object *j, *b;
	char pid[32], want[160];
	long long end;

	create(f, "r/f", "2M");
	hold_start(f, &h, "r/f", "--ignore-recall", NULL);
	snprintf(pid, sizeof(pid), "pid %d", (int)h.p->pid);
	assert_int_equal(
		xctl(f, "region", "detach", "r", "--timeout", "0.3", NULL), 1);
	assert_non_null(strstr(err, "pagemapctl: region detach r: timed out "
				    "after 0.3 s; the detach stays in force "
				    "until these grants are returned: lease "));
	assert_non_null(strstr(err, pid));
	snprintf(want, sizeof(want),
		 "recall of lease %" PRIu64 " (detach) ignored", h.lease);
	stderr_has(h.p, want);
	j = blockers_of(f, "r");
	b = json_object_array_get_idx(jarr(j, "blockers", 1), 0);
	assert_string_equal(jstr(b, "op"), "detach");
	assert_int_equal(jint(b, "lease_id"), h.lease);
	assert_int_equal(jint(b, "pid"), h.p->pid);
	/* a detach's target is the whole region: no file */
	assert_string_equal(jstr(b, "region"), "r");
	assert_string_equal(jstr(b, "file"), "");
	assert_int_equal(jint(b, "ino"), 0);
	assert_int_equal(jint(b, "new_size"), 0);
	json_object_put(j);
	/* still attached while the hold lasts */
	j = jctl(f, "region", "info", "r", NULL);
	assert_string_equal(jstr(j, "state"), "detaching");
	json_object_put(j);
	assert_true(running(h.p));

	hold_stop(&h);
	end = now_ms() + WAIT_MS;
	while (xctl(f, "region", "info", "r", NULL) == 0 && left_ms(end))
		;
	assert_int_equal(xctl(f, "region", "info", "r", NULL), 1);
	assert_non_null(strstr(err, "No such file or directory"));
	status_is(f, 0, 0);
}

static void
region_detach_recalls_a_hold_which_lets_go(void **state)
{
	struct fixture *f = *state;
	struct hold h;
	struct proc *d;

	create(f, "r/f", "2M");
	hold_start(f, &h, "r/f", "--rw", NULL);
	d = bg(f, false, "region", "detach", "r", NULL);
	assert_int_equal(finish(d), 0);
	assert_int_equal(finish(h.p), 0);
	assert_string_equal(h.p->etext, "");
	assert_int_equal(xctl(f, "region", "info", "r", NULL), 1);
	status_is(f, 0, 0);
}

static void
kill9_of_a_hold_releases_its_pins(void **state)
{
	struct fixture *f = *state;
	struct hold h;
	struct proc *t;
	json_object *j;

	create(f, "r/f", "4M");
	hold_start(f, &h, "r/f", "--rw", "--ignore-recall", NULL);
	status_is(f, 2, 1);
	/* a truncate waits for it */
	t = bg(f, false, "file", "truncate", "r/f", "0", NULL);
	j = blockers_of(f, "r/f");
	jarr(j, "blockers", 1);
	json_object_put(j);
	assert_true(running(t));
	kill(h.p->pid, SIGKILL);
	assert_int_equal(finish(h.p), 128 + SIGKILL);
	/* its pins go with the process, and the truncate completes */
	assert_int_equal(finish(t), 0);
	status_is(f, 0, 0);
	ok(f, "lease", "ls", NULL);
	assert_int_equal(lines(), 1);
	assert_int_equal(file_size(f, "r/f"), 0);
	expect_no_blockers(f, "r");
}

static void
hold_json_line_and_sigterm(void **state)
{
	struct fixture *f = *state;
	struct proc *p;
	json_object *j;
	long long end = now_ms() + WAIT_MS;

	create(f, "r/f", "1M");
	p = bg(f, true, "--json", "hold", "r/f", "--offset", "5000", "--length",
	       "5000", NULL);
	while (!strchr(p->text, '\n') && p->out >= 0 && left_ms(end))
		pump(p, left_ms(end));
	assert_non_null(strchr(p->text, '\n'));
	/* exactly one line, one JSON object */
	assert_int_equal(strchr(p->text, '\n') - p->text + 1, p->ntext);
	j = json_tokener_parse(p->text);
	assert_non_null(j);
	assert_string_equal(jstr(j, "region"), "r");
	assert_string_equal(jstr(j, "name"), "f");
	assert_int_equal(jint(j, "offset"), 4096);
	assert_int_equal(jint(j, "length"), 8192);
	assert_int_equal(jint(j, "folios"), 2);
	assert_true(jint(j, "lease_id") > 0);
	json_object_put(j);
	status_is(f, 2, 1);
	/* SIGTERM: it lets go and exits 0, its stdin still open */
	kill(p->pid, SIGTERM);
	assert_int_equal(finish(p), 0);
	assert_string_equal(p->etext, "");
	status_is(f, 0, 0);
}

static void
hold_exits_1_when_the_daemon_goes_away(void **state)
{
	struct fixture *f = *state;
	struct hold h;

	create(f, "r/f", "1M");
	hold_start(f, &h, "r/f", "--ignore-recall", NULL);
	daemon_kill(&f->d);
	assert_int_equal(finish(h.p), 1);
	assert_string_equal(h.p->etext,
			    "pagemapctl: hold r/f: Connection reset by peer "
			    "(the daemon closed the connection)\n");
}

static void
daemon_shutdown_recalls_a_hold_and_waits_for_it(void **state)
{
	struct fixture *f = *state;
	struct hold h;
	int st;

	create(f, "r/f", "2M");
	hold_start(f, &h, "r/f", "--rw", NULL);
	/* SIGTERM: the daemon recalls, the hold lets go, both exit 0 */
	assert_int_equal(daemon_stop(&f->d), 0);
	st = finish(h.p);
	if (st != 0)
		fail_msg("hold exited %d: %s", st, h.p->etext);
	assert_string_equal(h.p->etext, "");
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(truncate_timeout_names_the_holder_and_blockers_show_it),
		T(an_orphan_is_listed_and_its_holders_found_by_its_label),
		T(a_hold_lets_go_at_a_recall_so_the_truncate_completes),
		T(with_ignore_recall_the_truncate_waits_for_the_hold),
		T(bytes_written_by_one_process_are_read_by_another),
		T(rm_while_held_keeps_the_space_until_the_hold_exits),
		T(listings_show_an_active_hold),
		T(lease_revoke_makes_the_hold_exit),
		T(region_detach_waits_for_a_hold),
		T(region_detach_recalls_a_hold_which_lets_go),
		T(kill9_of_a_hold_releases_its_pins),
		T(hold_json_line_and_sigterm),
		T(hold_exits_1_when_the_daemon_goes_away),
		T(daemon_shutdown_recalls_a_hold_and_waits_for_it),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}

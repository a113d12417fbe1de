/* test_top.c -- `pagemapctl top` in a pseudo-terminal against a real
 * daemon: it redraws in place, shows regions, leases, grants and a waiting
 * truncate as they come and go, quits on q and on SIGINT with the terminal
 * restored, and prints one plain view when stdout is not a terminal. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "fdcheck.h"
#include "harness.h"

#define BIG 65536
#define WAIT_MS 20000 /* a bound for failures, never a synchronisation */
#define CLEAR "\033[H\033[2J"

static char out[BIG], err[BIG];

struct fixture {
	struct daemon d; /* first: daemon_teardown() frees through it */
};

/* A `top` running on the master side of a pty. */
struct term {
	int master;
	pid_t pid;
	char *buf; /* everything it printed, NUL-terminated */
	size_t len, cap;
};

static int
setup(void **state)
{
	struct fixture *f = daemon_setup(state, sizeof(*f), NULL);

	if (f == NULL)
		return -1;
	return ctl(&f->d, out, BIG, err, BIG, "file", "create", "r/topfile",
		   "--size", "4M", NULL);
}

/* term_start -- pagemapctl --socket S top --interval 0.1 in a 50x160 pty. */
static void
term_start(struct term *t, const struct daemon *d)
{
	struct winsize ws = {.ws_row = 50, .ws_col = 160};

	memset(t, 0, sizeof(*t));
	t->pid = forkpty(&t->master, NULL, NULL, &ws);
	assert_true(t->pid >= 0);
	if (t->pid == 0) {
		execl(PAGEMAPCTL_BIN, "pagemapctl", "--socket", d->socket,
		      "top", "--interval", "0.1", (char *)NULL);
		_exit(127);
	}
	t->cap = BIG;
	t->buf = calloc(1, t->cap);
	assert_non_null(t->buf);
}

/* term_read -- read what is there (waiting at most @ms); false at EOF. */
static bool
term_read(struct term *t, int ms)
{
	struct pollfd p = {.fd = t->master, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, ms) <= 0)
		return true;
	if (t->len + 4096 + 1 > t->cap) {
		t->cap *= 2;
		t->buf = realloc(t->buf, t->cap);
		assert_non_null(t->buf);
	}
	n = read(t->master, t->buf + t->len, 4096);
	if (n <= 0) /* EIO once the child side is closed */
		return false;
	t->len += (size_t)n;
	t->buf[t->len] = '\0';
	return true;
}

/* term_expect -- wait until @needle appears after offset @from, in a
 * frame drawn after @from; returns the offset just past it. */
static size_t
term_expect(struct term *t, size_t from, const char *needle)
{
	long long end = now_ms() + WAIT_MS;

	for (;;) {
		char *hit = strstr(t->buf + from, needle);

		if (hit)
			return (size_t)(hit - t->buf) + strlen(needle);
		if (now_ms() > end || !term_read(t, (int)(end - now_ms()))) {
			fprintf(stderr, "--- top printed:\n%s\n---\n", t->buf);
			fail_msg("top never showed '%s'", needle);
		}
	}
}

/* term_frame -- the offset of the next frame start after @from. */
static size_t
term_frame(struct term *t, size_t from)
{
	return term_expect(t, from, CLEAR);
}

/* term_finish -- wait for the exit; read the rest. Returns the status. */
static int
term_finish(struct term *t)
{
	long long end = now_ms() + WAIT_MS;
	struct termios tio;
	int st;

	while (term_read(t, 100) && now_ms() < end)
		if (waitpid(t->pid, &st, WNOHANG) == t->pid)
			goto exited;
	assert_int_equal(waitpid(t->pid, &st, 0), t->pid);
exited:
	/* The terminal is left as top found it: canonical, echoing. */
	assert_int_equal(tcgetattr(t->master, &tio), 0);
	assert_true(tio.c_lflag & ICANON);
	assert_true(tio.c_lflag & ECHO);
	close(t->master);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* spawn -- pagemapctl --socket S ARGS... with pipes; *ret_in and *ret_out
 * are the parent's ends. */
static pid_t
spawn(const struct daemon *d, int *ret_in, FILE **ret_out, ...)
{
	const char *argv[16] = {PAGEMAPCTL_BIN, "--socket", d->socket};
	int in[2], o[2], n = 3;
	va_list ap;
	pid_t pid;

	va_start(ap, ret_out);
	while (n < 15 && (argv[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(o, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(o[1], 1);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	*ret_in = in[1];
	*ret_out = fdopen(o[0], "r");
	assert_non_null(*ret_out);
	return pid;
}

static int
wait_status(pid_t pid)
{
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void
top_shows_leases_grants_and_waiting_operations_live(void **state)
{
	struct fixture *f = *state;
	struct term t;
	char line[512];
	int hold_in, trunc_in;
	FILE *hold_out, *trunc_out;
	pid_t hold, trunc;
	size_t at;

	term_start(&t, &f->d);
	at = term_expect(&t, 0, "\033[?1049h"); /* alternate screen */
	at = term_frame(&t, at);
	at = term_expect(&t, at, "REGION");
	term_expect(&t, at, "attached");
	at = term_expect(&t, at, "LEASES (0)");

	/* A holder appears with its lease and its two 2 MiB grants. */
	hold = spawn(&f->d, &hold_in, &hold_out, "hold", "r/topfile", "--rw",
		     "--ignore-recall", NULL);
	assert_non_null(fgets(line, sizeof(line), hold_out));
	assert_non_null(strstr(line, "held r/topfile"));
	at = term_frame(&t, t.len);
	at = term_expect(&t, at, "LEASES (1)");
	at = term_expect(&t, at, "r/topfile");
	at = term_expect(&t, at, "write");
	at = term_expect(&t, at, "GRANTS (2)");

	/* A truncate waits for the holder, who ignores the recall. */
	trunc = spawn(&f->d, &trunc_in, &trunc_out, "file", "truncate",
		      "r/topfile", "0", NULL);
	at = term_expect(&t, at, "WAITING (1 blocker)");
	at = term_expect(&t, at, "truncate");
	term_expect(&t, at, "r/topfile to 0");

	/* The holder lets go: the truncate completes, the view empties. */
	close(hold_in);
	assert_int_equal(wait_status(hold), 0);
	assert_int_equal(wait_status(trunc), 0);
	fclose(hold_out);
	close(trunc_in);
	fclose(trunc_out);
	at = term_frame(&t, t.len);
	at = term_expect(&t, at, "WAITING (0 blockers)");
	at = term_expect(&t, at, "LEASES (0)");
	term_expect(&t, at, "GRANTS (0)");

	assert_int_equal(write(t.master, "q", 1), 1);
	assert_int_equal(term_finish(&t), 0);
	assert_non_null(strstr(t.buf, "\033[?1049l")); /* screen restored */
	free(t.buf);
}

static void
top_quits_on_sigint_and_restores_the_terminal(void **state)
{
	struct fixture *f = *state;
	struct term t;
	size_t at;

	term_start(&t, &f->d);
	at = term_frame(&t, 0);
	term_expect(&t, at, "REGION");
	assert_int_equal(kill(t.pid, SIGINT), 0);
	assert_int_equal(term_finish(&t), 0);
	at = term_expect(&t, 0, "\033[?1049l");
	free(t.buf);
}

static void
top_keeps_retrying_while_the_daemon_is_away(void **state)
{
	struct fixture *f = *state;
	struct term t;
	size_t at;

	assert_int_equal(daemon_stop(&f->d), 0);
	term_start(&t, &f->d);
	at = term_frame(&t, 0);
	term_expect(&t, at, "retrying; q quits");
	assert_int_equal(write(t.master, "q", 1), 1);
	assert_int_equal(term_finish(&t), 0);
	free(t.buf);
}

static void
top_prints_one_plain_view_without_a_terminal(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ctl(&f->d, out, BIG, err, BIG, "top", NULL), 0);
	assert_non_null(strstr(out, "REGION"));
	assert_non_null(strstr(out, "LEASES (0)"));
	assert_null(strchr(out, '\033'));
	assert_int_equal(
		ctl(&f->d, out, BIG, err, BIG, "top", "--interval", "0", NULL),
		2);
	assert_int_equal(ctl(&f->d, out, BIG, err, BIG, "--json", "top", NULL),
			 2);
	assert_int_equal(daemon_stop(&f->d), 0);
	assert_int_equal(ctl(&f->d, out, BIG, err, BIG, "top", NULL), 1);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "pagemapctl: connect "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			top_shows_leases_grants_and_waiting_operations_live,
			setup, daemon_teardown),
		cmocka_unit_test_setup_teardown(
			top_quits_on_sigint_and_restores_the_terminal, setup,
			daemon_teardown),
		cmocka_unit_test_setup_teardown(
			top_keeps_retrying_while_the_daemon_is_away, setup,
			daemon_teardown),
		cmocka_unit_test_setup_teardown(
			top_prints_one_plain_view_without_a_terminal, setup,
			daemon_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

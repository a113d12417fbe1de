/* top.c -- `top`: a live view of regions, waiting operations, leases and
 * grants, drawn with the tables of their listings. */
#include "top.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cmd_lease.h"
#include "cmd_region.h"
#include "escape.h"
#include "output.h"
#include "parse.h"

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
	struct pagemap_status *st; /* NULL until fetched */
	struct rows regions;
	struct rows blockers;
	struct rows leases;
	struct rows grants;
	bool grants_listed; /* else there were too many to list */
};

static volatile sig_atomic_t top_quit; /* SIGINT or SIGTERM seen */
static volatile sig_atomic_t top_busy; /* inside a daemon request */
static volatile sig_atomic_t top_raw;  /* top_saved must be restored */
static int top_pipe[2] = {-1, -1};     /* the handler wakes poll() */
static struct termios top_saved;       /* the terminal as we found it */

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

/* top_view_free -- release the status and rows of @v. */
static void
top_view_free(struct top_view *v)
{
	pagemap_free(v->st);
	v->st = NULL;
	rows_free(&v->regions);
	rows_free(&v->blockers);
	rows_free(&v->leases);
	rows_free(&v->grants);
}

/* top_fetch -- one snapshot into @v (freed by the caller either way);
 * *ret_what names the request that failed. */
static int
top_fetch(struct pagemap *pm, struct top_view *v, const char **ret_what)
{
	static const struct filter all = {0};
	int err;

	top_busy = 1;
	if ((err = pagemap_status(pm, &v->st)))
		*ret_what = "status";
	else if ((err = region_rows(pm, &all, &v->regions)))
		*ret_what = "region ls";
	else if ((err = blocker_rows(pm, &all, &v->blockers)))
		*ret_what = "blockers";
	else if ((err = lease_rows(pm, &all, &v->leases)))
		*ret_what = "lease ls";
	else if (v->st->grants <= TOP_MAX_GRANTS &&
		 !(err = grant_rows(pm, &all, &v->grants)))
		v->grants_listed = true;
	else if (err)
		*ret_what = "grant ls";
	top_busy = 0;
	return err;
}

/* The tables of a frame: views of the listings' own columns. */
static const struct show region_show[] = {
	{REGION_NAME, 0, "REGION"},	 {REGION_STATE, 0, NULL},
	{REGION_KIND, 0, NULL},		 {REGION_SIZE, SHOW_HUMAN, NULL},
	{REGION_USED, SHOW_HUMAN, NULL}, {REGION_FREE, SHOW_HUMAN, NULL},
	{REGION_FILES, 0, NULL},	 {REGION_PINS, 0, NULL},
	{REGION_ORPHANS, 0, NULL},
};
static const struct view region_view = VIEW(&region_listing, region_show);

static const struct show lease_show[] = {
	{LEASE_ID, 0, "LEASE"},		 {LEASE_FILE, 0, NULL},
	{LEASE_ACCESS, 0, NULL},	 {LEASE_PID, 0, NULL},
	{LEASE_COMM, SHOW_DASH, NULL},	 {LEASE_GRANTS, 0, NULL},
	{LEASE_BYTES, SHOW_HUMAN, NULL}, {LEASE_RECALLED, 0, NULL},
};
static const struct view lease_view = VIEW(&lease_listing, lease_show);

static const struct show grant_show[] = {
	{GRANT_LEASE_ID, 0, NULL},	{GRANT_FILE_OFFSET, 0, NULL},
	{GRANT_REGION_OFFSET, 0, NULL}, {GRANT_SIZE, SHOW_HUMAN, NULL},
	{GRANT_ACCESS, 0, NULL},	{GRANT_STATE, 0, NULL},
};
static const struct view grant_view = VIEW(&grant_listing, grant_show);

/* top_table -- a section's table, or nothing when it has no rows. */
static void
top_table(FILE *out, const struct view *v, const struct rows *r)
{
	if (r->n)
		table_fprint(out, v, r);
}

/* top_render -- one frame of @v into @out; @err (with @what) is the reason
 * there is no snapshot, or 0. */
static void
top_render(FILE *out, const char *sock, uint32_t interval_ms,
	   const struct top_view *v, int err, const char *what, bool live)
{
	uint64_t up;
	char *server;

	if (err) {
		fprintf(out, "pagemapctl top: %s: %s: %s%s\n", sock, what,
			pagemap_strerror(err),
			live ? " (retrying; q quits)" : "");
		return;
	}
	up = v->st->uptime_ms / 1000;
	server = escape_text(v->st->server); /* the daemon's word */
	if (!server)
		die_oom();
	fprintf(out,
		"%s  pid %" PRIu32 "  up %" PRIu64 "d %02" PRIu64 ":%02" PRIu64
		":%02" PRIu64 "  %s",
		server, v->st->pid, up / 86400, up / 3600 % 24,
		up / 60 % 60, up % 60, sock);
	free(server);
	if (live)
		fprintf(out, "  every %" PRIu32 ".%01" PRIu32 "s, q quits",
			interval_ms / 1000, interval_ms % 1000 / 100);
	fprintf(out,
		"\nregions %" PRIu32 "  clients %" PRIu32 "  leases %" PRIu64
		"  grants %" PRIu64 "  waiting %" PRIu32 "\n\n",
		v->st->regions, v->st->clients, v->st->leases, v->st->grants,
		v->st->pending_ops);
	table_fprint(out, &region_view, &v->regions);
	fprintf(out, "\nWAITING (%zu blocker%s)\n", v->blockers.n,
		v->blockers.n == 1 ? "" : "s");
	top_table(out, &blocker_view, &v->blockers);
	fprintf(out, "\nLEASES (%zu)\n", v->leases.n);
	top_table(out, &lease_view, &v->leases);
	if (!v->grants_listed) {
		fprintf(out,
			"\nGRANTS (%" PRIu64 ", more than %u: not listed; "
			"see grant ls --lease ID)\n",
			v->st->grants, TOP_MAX_GRANTS);
		return;
	}
	fprintf(out, "\nGRANTS (%zu)\n", v->grants.n);
	top_table(out, &grant_view, &v->grants);
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
		ms = (uint64_t)now.tv_sec * 1000 +
		     (uint64_t)now.tv_nsec / 1000000;
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

int
cmd_top(struct ctx *c, const struct args *a)
{
	const char *sock = ctx_socket(c);
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

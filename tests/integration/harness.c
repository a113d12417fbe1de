/* harness.c -- run a real pagemapd and real client processes in tests. */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include "clock.h"
#include "ctljson.h"
#include "fdcheck.h"
#include "tmpdir.h"

#define READY_TIMEOUT_MS 30000
#define RUN_TIMEOUT_MS 120000
#define MAX_ARGS 64

static void
die(const char *what)
{
	fprintf(stderr, "harness: %s: %s\n", what, strerror(errno));
	abort();
}

void
daemon_init(struct daemon *d)
{
	memset(d, 0, sizeof(*d));
	errno = -tmpdir_make(d->dir, sizeof(d->dir), "test");
	if (errno)
		die("tmpdir");
	snprintf(d->socket, sizeof(d->socket), "%s/sock", d->dir);
	snprintf(d->log, sizeof(d->log), "%s/daemon.log", d->dir);
}

static int
decode_status(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}

/* wait_child -- waitpid with a bound; -1 on timeout. The wait is a poll
 * of the child's pidfd, which turns readable when it exits. */
static int
wait_child(pid_t pid, int ms, int *status)
{
	long long end = now_ms() + ms;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int st;

	if (pidfd < 0)
		die("pidfd_open");
	for (;;) {
		struct pollfd p = {.fd = pidfd, .events = POLLIN};
		long long left = end - now_ms();
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid) {
			close(pidfd);
			*status = decode_status(st);
			return 0;
		}
		if (r < 0 && errno != EINTR)
			die("waitpid");
		if (left <= 0) {
			close(pidfd);
			return -1;
		}
		poll(&p, 1, (int)left);
	}
}

int
daemon_start(struct daemon *d, const char *const *args, const char *const *env)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char notify[PATH_MAX];
	long long end;
	int nfd;

	snprintf(notify, sizeof(notify), "%s/notify", d->dir);
	unlink(notify);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", notify);
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (nfd < 0 || bind(nfd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("notify socket");
	d->pid = fork();
	if (d->pid < 0)
		die("fork");
	if (d->pid == 0) {
		const char *argv[MAX_ARGS] = {PAGEMAPD_BIN, "--socket",
					      d->socket};
		int n = 3, fd;

		for (; args && *args && n < MAX_ARGS - 1; args++)
			argv[n++] = *args;
		argv[n] = NULL;
		/* A test that dies mid-way must not leave daemons behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (d->nofile) {
			struct rlimit rl = {d->nofile, d->nofile};

			if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
				_exit(126);
		}
		setenv("NOTIFY_SOCKET", notify, 1);
		/* Pin tables in the test's folder (an --runtime-dir or
		 * @env given overrides it). */
		snprintf(notify, sizeof(notify), "%s/run", d->dir);
		setenv("RUNTIME_DIRECTORY", notify, 1);
		for (; env && *env; env++)
			putenv((char *)*env);
		fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			close(fd);
		}
		fd = open("/dev/null", O_RDWR);
		dup2(fd, 0);
		dup2(fd, 1);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	end = now_ms() + READY_TIMEOUT_MS;
	for (;;) {
		struct pollfd p = {.fd = nfd, .events = POLLIN};
		char buf[256];
		int st;

		if (poll(&p, 1, 20) > 0) {
			ssize_t n = recv(nfd, buf, sizeof(buf) - 1, 0);
			if (n > 0) {
				buf[n] = '\0';
				if (strstr(buf, "READY=1")) {
					close(nfd);
					return 0;
				}
			}
		}
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->exit_status = decode_status(st);
			d->pid = 0;
			close(nfd);
			return -1;
		}
		if (now_ms() > end) {
			close(nfd);
			daemon_kill(d);
			return -1;
		}
	}
}

int
daemon_start_regions(struct daemon *d, const char *const *regions)
{
	enum { MAX_REGIONS = 8 };
	char spec[MAX_REGIONS][PATH_MAX + 64];
	const char *args[2 * MAX_REGIONS + 1];
	int n = 0;

	daemon_init(d);
	for (int i = 0; regions[i] && i < MAX_REGIONS; i++) {
		const char *eq = strchr(regions[i], '=');

		if (eq == NULL)
			return -1;
		snprintf(spec[i], sizeof(spec[i]), "%.*s%s/%s",
			 (int)(eq - regions[i] + 1), regions[i], d->dir,
			 eq + 1);
		args[n++] = "--region";
		args[n++] = spec[i];
	}
	args[n] = NULL;
	return daemon_start(d, args, NULL);
}

int
daemon_wait_exit(struct daemon *d, int ms)
{
	int st;

	if (d->pid == 0)
		return d->exit_status;
	if (wait_child(d->pid, ms, &st) < 0)
		return -1;
	d->pid = 0;
	d->exit_status = st;
	return st;
}

int
daemon_stop(struct daemon *d)
{
	if (d->pid == 0)
		return d->exit_status;
	kill(d->pid, SIGTERM);
	if (daemon_wait_exit(d, RUN_TIMEOUT_MS) < 0) {
		daemon_kill(d);
		return -1;
	}
	return d->exit_status;
}

void
daemon_kill(struct daemon *d)
{
	int st;

	if (d->pid == 0)
		return;
	kill(d->pid, SIGKILL);
	if (waitpid(d->pid, &st, 0) == d->pid)
		d->exit_status = decode_status(st);
	d->pid = 0;
}

/* dump_log -- copy the daemon's stderr to ours (sanitizer reports). */
static void
dump_log(const struct daemon *d)
{
	char buf[4096];
	ssize_t n;
	int fd = open(d->log, O_RDONLY);

	if (fd < 0)
		return;
	fprintf(stderr, "---- %s ----\n", d->log);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stderr);
	fprintf(stderr, "---- end of daemon log ----\n");
	close(fd);
}

int
daemon_cleanup(struct daemon *d)
{
	int st = 0;

	if (d->pid)
		st = daemon_stop(d);
	if (st != 0)
		dump_log(d);
	tmpdir_remove(d->dir);
	d->dir[0] = '\0';
	return st;
}

int
daemon_finish(struct daemon *d)
{
	return daemon_cleanup(d) == 0 ? 0 : -1;
}

void *
daemon_setup(void **state, size_t size, const char *const *regions)
{
	static const char *const r[] = {"r=r.pmem,size=64M,create", NULL};
	/* The daemon is the fixture's first member: same address. */
	struct daemon *d = calloc(1, size);

	fdcheck_begin();
	*state = d;
	if (d == NULL || daemon_start_regions(d, regions ? regions : r))
		return NULL;
	snprintf(d->region, sizeof(d->region), "%s/r.pmem", d->dir);
	return d;
}

int
daemon_restart(struct daemon *d)
{
	char spec[PATH_MAX + 64];
	const char *args[] = {"--region", spec, NULL};

	snprintf(spec, sizeof(spec), "r=%s,size=64M,create", d->region);
	return daemon_start(d, args, NULL);
}

int
daemon_teardown(void **state)
{
	/* The daemon is the fixture's first member: same address. */
	struct daemon *d = *state;
	int st = daemon_finish(d);

	free(d);
	if (fdcheck_end() < 0)
		return -1;
	return st;
}

bool
daemon_log_contains(const struct daemon *d, const char *needle)
{
	FILE *f = fopen(d->log, "r");
	char *line = NULL;
	size_t cap = 0;
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && getline(&line, &cap, f) > 0)
		found = strstr(line, needle) != NULL;
	free(line);
	fclose(f);
	return found;
}

/* collect -- read both pipes until EOF, bounded. */
static void
collect(int ofd, int efd, char *out, size_t outlen, char *err, size_t errlen)
{
	size_t on = 0, en = 0;
	long long end = now_ms() + RUN_TIMEOUT_MS;
	char sink[4096];

	while ((ofd >= 0 || efd >= 0) && now_ms() < end) {
		struct pollfd p[2] = {{.fd = ofd, .events = POLLIN},
				      {.fd = efd, .events = POLLIN}};
		if (poll(p, 2, 100) <= 0)
			continue;
		for (int i = 0; i < 2; i++) {
			char *buf = i ? err : out;
			size_t len = i ? errlen : outlen;
			size_t *used = i ? &en : &on;
			ssize_t n;

			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			if (buf && *used + 1 < len)
				n = read(p[i].fd, buf + *used, len - 1 - *used);
			else
				n = read(p[i].fd, sink, sizeof(sink));
			if (n > 0 && buf && *used + 1 < len)
				*used += (size_t)n;
			if (n <= 0) {
				close(p[i].fd);
				if (i)
					efd = -1;
				else
					ofd = -1;
			}
		}
	}
	if (ofd >= 0)
		close(ofd);
	if (efd >= 0)
		close(efd);
	if (out && outlen)
		out[on] = '\0';
	if (err && errlen)
		err[en] = '\0';
}

static int
run_as(uid_t uid, gid_t gid, const char *const *argv, const char *input,
       char *out, size_t outlen, char *err, size_t errlen)
{
	int in[2], o[2], e[2], st;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) || pipe2(o, O_CLOEXEC) || pipe2(e, O_CLOEXEC))
		die("pipe");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(o[1], 1);
		dup2(e[1], 2);
		if (gid != (gid_t)-1 && (setgroups(0, NULL) || setgid(gid)))
			_exit(126);
		if (uid != (uid_t)-1 && setuid(uid))
			_exit(126);
		execv(argv[0], (char **)argv);
		_exit(127);
	}
	close(in[0]);
	close(o[1]);
	close(e[1]);
	if (input) {
		size_t len = strlen(input), off = 0;
		signal(SIGPIPE, SIG_IGN);
		while (off < len) {
			ssize_t n = write(in[1], input + off, len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	close(in[1]);
	collect(o[0], e[0], out, outlen, err, errlen);
	if (wait_child(pid, RUN_TIMEOUT_MS, &st) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return st;
}

int
run(const char *const *argv, const char *input, char *out, size_t outlen,
    char *err, size_t errlen)
{
	return run_as((uid_t)-1, (gid_t)-1, argv, input, out, outlen, err,
		      errlen);
}

static int
vctl(uid_t uid, gid_t gid, const struct daemon *d, char *out, size_t outlen,
     char *err, size_t errlen, va_list ap)
{
	const char *argv[MAX_ARGS] = {PAGEMAPCTL_BIN, "--socket", d->socket};
	int n = 3;
	const char *a;

	while ((a = va_arg(ap, const char *)) != NULL && n < MAX_ARGS - 1)
		argv[n++] = a;
	argv[n] = NULL;
	return run_as(uid, gid, argv, NULL, out, outlen, err, errlen);
}

int
ctl(const struct daemon *d, char *out, size_t outlen, char *err, size_t errlen,
    ...)
{
	va_list ap;
	int rv;

	va_start(ap, errlen);
	rv = vctl((uid_t)-1, (gid_t)-1, d, out, outlen, err, errlen, ap);
	va_end(ap);
	return rv;
}

void
ctl_write(const struct daemon *d, const char *name, const char *text)
{
	static char out[16384], err[4096];
	const char *argv[] = {PAGEMAPCTL_BIN, "--socket", d->socket,
			      "write",	      name,	  NULL};

	assert_int_equal(run(argv, text, out, sizeof(out), err, sizeof(err)),
			 0);
}

int
ctl_as(uid_t uid, gid_t gid, const struct daemon *d, char *out, size_t outlen,
       char *err, size_t errlen, ...)
{
	va_list ap;
	int rv;

	va_start(ap, errlen);
	rv = vctl(uid, gid, d, out, outlen, err, errlen, ap);
	va_end(ap);
	return rv;
}

int
ctl_fixture_setup(void **state)
{
	struct ctl_fixture *f = daemon_setup(state, sizeof(*f), NULL);

	if (!f)
		return -1;
	f->out = malloc(CTL_OUT_MAX);
	f->err = malloc(CTL_OUT_MAX);
	return f->out && f->err ? 0 : -1;
}

int
ctl_fixture_teardown(void **state)
{
	struct ctl_fixture *f = *state;

	free(f->out);
	free(f->err);
	f->out = f->err = NULL;
	return daemon_teardown(state);
}

struct json_object *
ctl_json(struct ctl_fixture *f, const char *a, const char *b, const char *c,
	 const char *d)
{
	return jparse(ctl(&f->d, f->out, CTL_OUT_MAX, f->err, CTL_OUT_MAX,
			  "--json", a, b, c, d, NULL),
		      f->out, f->err);
}

void
piped_start(struct piped *p, void (*child)(void *arg, int cmd, int ans),
	    void *arg)
{
	int cmd[2], ans[2];

	assert_int_equal(pipe2(cmd, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ans, O_CLOEXEC), 0);
	p->pid = fork();
	assert_true(p->pid >= 0);
	if (p->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(cmd[1]);
		close(ans[0]);
		child(arg, cmd[0], ans[1]);
		_exit(0);
	}
	close(cmd[0]);
	close(ans[1]);
	p->cmd = cmd[1];
	p->ans = ans[0];
}

void
piped_ask(struct piped *p, char c, char *buf, size_t len)
{
	long long end = now_ms() + 30000;
	size_t n = 0;

	if (c)
		assert_int_equal(write(p->cmd, &c, 1), 1);
	while (n + 1 < len) {
		struct pollfd pf = {.fd = p->ans, .events = POLLIN};

		if (now_ms() > end)
			fail_msg("child %d did not answer", (int)p->pid);
		if (poll(&pf, 1, 100) <= 0)
			continue;
		if (read(p->ans, buf + n, 1) <= 0)
			fail_msg("child %d went away", (int)p->pid);
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = '\0';
}

void
piped_say(int ans, const char *fmt, ...)
{
	char line[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (write(ans, line, strlen(line)) < 0)
		_exit(4);
}

void
piped_quit(struct piped *p)
{
	int st;

	assert_int_equal(write(p->cmd, "q", 1), 1);
	assert_int_equal(waitpid(p->pid, &st, 0), p->pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(p->cmd);
	close(p->ans);
}

int
bad_word_table(void)
{
	for (int fd = 3; fd < 1024; fd++) {
		char path[64], link[128];
		ssize_t n;
		int bad;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (!strstr(link, "pagemap-words"))
			continue;
		bad = memfd_create("not-words", MFD_CLOEXEC);
		if (bad < 0 || ftruncate(bad, 4096) < 0 ||
		    dup3(bad, fd, O_CLOEXEC) < 0)
			return -1;
		close(bad);
		return 0;
	}
	return -1;
}

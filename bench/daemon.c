/* daemon.c -- a pagemapd of our own: start it, wait for READY=1, stop it,
 * read its memory. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pagemap.h"
#include "proc.h"

#define READY_TIMEOUT_MS 300000 /* attach of a big region on a slow daemon */
#define STOP_TIMEOUT_MS 120000

void
daemon_init(struct daemon *d, const struct bench_opts *o, const char *tag,
	    const char *const *args)
{
	size_t n = 0;

	memset(d, 0, sizeof(*d));
	snprintf(d->socket, sizeof(d->socket), "%s/%s.sock", o->tmp, tag);
	snprintf(d->log, sizeof(d->log), "%s/%s.log", o->tmp, tag);
	for (; args && args[n] && n < DAEMON_MAX_ARGS; n++)
		d->args[n] = args[n];
	d->args[n] = NULL;
}

/* show_log -- the end of the daemon's stderr, to explain a failure. */
static void
show_log(const struct daemon *d)
{
	char buf[4096];
	ssize_t n;
	off_t end;
	int fd = open(d->log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	lseek(fd, end > (off_t)sizeof(buf) ? end - (off_t)sizeof(buf) : 0,
	      SEEK_SET);
	fprintf(stderr, "---- %s ----\n", d->log);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, stderr);
	fprintf(stderr, "---- end of daemon log ----\n");
	close(fd);
}

/* exec_daemon -- in the forked child: become pagemapd. */
static void
exec_daemon(const struct daemon *d, const struct bench_opts *o,
	    const char *notify)
{
	const char *argv[DAEMON_MAX_ARGS + 4] = {o->daemon, "--socket",
						 d->socket};
	int n = 3, fd;

	for (size_t i = 0; d->args[i]; i++)
		argv[n++] = d->args[i];
	argv[n] = NULL;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	pin_cpu(o->server_cpu);
	setenv("NOTIFY_SOCKET", notify, 1);
	fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd >= 0)
		dup2(fd, 2);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
	}
	execv(argv[0], (char **)argv);
	_exit(127);
}

int
daemon_start(struct daemon *d, const struct bench_opts *o, uint64_t *ret_ns)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char notify[PATH_MAX];
	uint64_t t0, deadline;
	int nfd, st;

	snprintf(notify, sizeof(notify), "%s/notify", o->tmp);
	if (strlen(notify) >= sizeof(sa.sun_path) ||
	    strlen(d->socket) >= sizeof(sa.sun_path)) {
		say("socket path too long: %s", d->socket);
		return -1;
	}
	unlink(notify);
	unlink(d->socket);
	memcpy(sa.sun_path, notify, strlen(notify) + 1);
	nfd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (nfd < 0 || bind(nfd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		say("readiness socket %s: %s", notify, strerror(errno));
		if (nfd >= 0)
			close(nfd);
		return -1;
	}
	fflush(NULL);
	t0 = now_ns();
	d->pid = fork();
	if (d->pid < 0) {
		say("fork: %s", strerror(errno));
		d->pid = 0;
		close(nfd);
		return -1;
	}
	if (d->pid == 0)
		exec_daemon(d, o, notify);
	deadline = t0 + (uint64_t)READY_TIMEOUT_MS * 1000000ull;
	for (;;) {
		struct pollfd p = {.fd = nfd, .events = POLLIN};
		char buf[256];

		if (poll(&p, 1, 50) > 0) {
			ssize_t n = recv(nfd, buf, sizeof(buf) - 1, 0);

			if (n > 0) {
				uint64_t t1 = now_ns();

				buf[n] = '\0';
				if (strstr(buf, "READY=1")) {
					close(nfd);
					if (ret_ns)
						*ret_ns = t1 - t0;
					return 0;
				}
			}
		}
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			d->pid = 0;
			say("pagemapd exited before it was ready (status "
			    "%d)",
			    st);
			break;
		}
		if (now_ns() > deadline) {
			say("pagemapd not ready after %d s",
			    READY_TIMEOUT_MS / 1000);
			kill(d->pid, SIGKILL);
			waitpid(d->pid, &st, 0);
			d->pid = 0;
			break;
		}
	}
	close(nfd);
	show_log(d);
	return -1;
}

/* wait_exit -- wait for @pid up to @ms; its status, or -1 on timeout. */
static int
wait_exit(pid_t pid, int ms)
{
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int st;

	if (pfd >= 0) {
		struct pollfd p = {.fd = pfd, .events = POLLIN};
		int r;

		do
			r = poll(&p, 1, ms);
		while (r < 0 && errno == EINTR);
		close(pfd);
		if (r == 0)
			return -1;
	}
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

int
daemon_stop(struct daemon *d)
{
	int st;

	if (d->pid == 0)
		return 0;
	kill(d->pid, SIGTERM);
	st = wait_exit(d->pid, STOP_TIMEOUT_MS);
	if (st < 0) {
		say("pagemapd did not stop in %d s: killed",
		    STOP_TIMEOUT_MS / 1000);
		kill(d->pid, SIGKILL);
		waitpid(d->pid, &st, 0);
		st = -1;
	}
	d->pid = 0;
	if (st == 0)
		return 0;
	if (st > 0)
		say("pagemapd stopped with status %d", st);
	show_log(d);
	return -1;
}

long long
daemon_rss(const struct daemon *d)
{
	return proc_rss(d->pid);
}

int
daemon_connect(const struct daemon *d, const char *name, struct pagemap **ret)
{
	int err = pagemap_connect(d->socket, name, ret);

	if (err)
		say("connect to %s: %s", d->socket, pagemap_strerror(err));
	return err;
}

void
region_spec(char *buf, size_t len, const char *dir, const char *name,
	    uint64_t size, int max_order, unsigned inodes)
{
	int n = snprintf(buf, len, "%s=%s/%s.pmem,size=%llu,create", name, dir,
			 name, (unsigned long long)size);

	if (n > 0 && (size_t)n < len && max_order >= 0)
		n += snprintf(buf + n, len - (size_t)n, ",max_order=%d",
			      max_order);
	if (n > 0 && (size_t)n < len && inodes)
		snprintf(buf + n, len - (size_t)n, ",inodes=%u", inodes);
}

/* quiesce -- write back everything dirty on @dir's filesystem. */
static void
quiesce(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		(void)syncfs(fd);
		close(fd);
	}
}

void
region_unlink(const char *path)
{
	char meta[PATH_MAX + 8];

	unlink(path);
	snprintf(meta, sizeof(meta), "%s.meta", path);
	unlink(meta);
}

int
rig_start(struct rig *r, const struct bench_opts *o, const char *dir,
	  const char *region, uint64_t size, int max_order, unsigned inodes)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->region, sizeof(r->region), "%s", region);
	snprintf(r->path, sizeof(r->path), "%s/%s.pmem", dir, region);
	region_spec(r->spec, sizeof(r->spec), dir, region, size, max_order,
		    inodes);
	region_unlink(r->path);
	/* Start from a quiet disk: what an earlier figure left to write
	 * back (gigabytes, after the scale figure) would otherwise share
	 * the device with this one's flushes. */
	quiesce(dir);
	r->args[0] = "--region";
	r->args[1] = r->spec;
	r->args[2] = NULL;
	daemon_init(&r->d, o, region, r->args);
	if (daemon_start(&r->d, o, NULL)) {
		region_unlink(r->path);
		return -1;
	}
	if (daemon_connect(&r->d, "pagemap-bench", &r->pm)) {
		rig_stop(r, false);
		return -1;
	}
	return 0;
}

int
rig_stop(struct rig *r, bool keep)
{
	int rc;

	pagemap_close(r->pm);
	r->pm = NULL;
	rc = daemon_stop(&r->d);
	if (!keep)
		region_unlink(r->path);
	return rc;
}

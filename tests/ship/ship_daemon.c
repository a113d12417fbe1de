/* ship_daemon.c -- run a daemon for the shell tests of tests/ship and say
 * when it is ready, without sleeping.
 *
 *   ship_daemon [--activate SOCKET] LOG CMD [ARG...]
 *
 * Runs CMD with NOTIFY_SOCKET set (stderr appended to LOG, stdin and stdout
 * /dev/null) and waits, bounded, for READY=1. With --activate, CMD is a
 * socket activator (systemd-socket-activate) that starts the daemon only
 * at the first connection: once SOCKET appears, one connection is made and
 * held. When ready it prints "ready PID" on stdout and closes it; every
 * notification is appended to LOG.notify, one per line; when CMD exits
 * ship_daemon exits with its status (128 + signal if killed). Not ready in
 * time, or CMD exited first: exit 125.
 *
 * With --activate the connection is made once LOG has the activator's
 * "Listening on SOCKET" line, which systemd-socket-activate prints after
 * listen(): the socket file alone appears at bind(), when a connection
 * would still be refused.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "tmpdir.h"

#define READY_TIMEOUT_MS 60000
#define NOT_READY 125

/* The notify socket's folder; tmpdir.c removes it at exit. */
static char dir[64];
static char notify[80];

static void
die(const char *what)
{
	fprintf(stderr, "ship_daemon: %s: %s\n", what, strerror(errno));
	exit(NOT_READY);
}

/* unix_socket -- a socket of @type bound (or, with @do_connect, connected)
 * to @path. */
static int
unix_socket(int type, const char *path, int do_connect)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		die("socket");
	strcpy(sa.sun_path, path);
	if ((do_connect ? connect : bind)(fd, (struct sockaddr *)&sa,
					  sizeof(sa)) < 0)
		die(path);
	return fd;
}

/* listening -- whether @log says the activator listens on @sock. */
static int
listening(const char *log, const char *sock)
{
	char buf[65536], needle[4200];
	ssize_t n;
	int fd = open(log, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	snprintf(needle, sizeof(needle), "Listening on %s ", sock);
	return strstr(buf, needle) != NULL;
}

/* drain -- append every queued notification to @out. */
static int
drain(int nfd, FILE *out)
{
	char buf[4096];
	ssize_t n;
	int ready = 0;

	while ((n = recv(nfd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		buf[n] = '\0';
		fprintf(out, "%s\n", buf);
		if (strstr(buf, "READY=1"))
			ready = 1;
	}
	fflush(out);
	return ready;
}

int
main(int argc, char **argv)
{
	const char *activate = NULL, *log;
	char path[4096];
	int nfd, pidfd, ifd = -1, conn = -1, ready = 0, st;
	long long end;
	FILE *nlog;
	pid_t pid;

	if (argc > 2 && !strcmp(argv[1], "--activate")) {
		activate = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: ship_daemon [--activate SOCKET] LOG "
				"CMD [ARG...]\n");
		return 2;
	}
	log = argv[1];
	errno = -tmpdir_make(dir, sizeof(dir), "ship");
	if (errno)
		die("tmpdir");
	snprintf(notify, sizeof(notify), "%s/notify", dir);
	nfd = unix_socket(SOCK_DGRAM, notify, 0);
	snprintf(path, sizeof(path), "%s.notify", log);
	if (!(nlog = fopen(path, "a")))
		die(path);
	if (activate) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			      0644);

		/* Watch before starting, so no line can be missed. */
		ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (fd < 0 || ifd < 0 ||
		    inotify_add_watch(ifd, log, IN_MODIFY) < 0)
			die("inotify");
		close(fd);
	}
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int null = open("/dev/null", O_RDWR);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		setenv("NOTIFY_SOCKET", notify, 1);
		dup2(null, 0);
		dup2(null, 1);
		dup2(fd, 2);
		execvp(argv[2], argv + 2);
		fprintf(stderr, "ship_daemon: %s: %s\n", argv[2],
			strerror(errno));
		_exit(127);
	}
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		die("pidfd_open");
	end = now_ms() + READY_TIMEOUT_MS;
	while (!ready) {
		struct pollfd p[3] = {{.fd = nfd, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN},
				      {.fd = ifd, .events = POLLIN}};
		long long left = end - now_ms();

		if (ifd >= 0 && listening(log, activate)) {
			/* The activator listens: this connection starts the
			 * daemon. Held open until ship_daemon exits. */
			conn = unix_socket(SOCK_SEQPACKET, activate, 1);
			close(ifd);
			ifd = -1;
			continue;
		}
		if (left <= 0 || poll(p, 3, (int)left) < 0) {
			fprintf(stderr, "ship_daemon: %s not ready in time\n",
				argv[2]);
			kill(pid, SIGKILL);
			return NOT_READY;
		}
		if (p[2].revents) {
			char ev[4096];

			while (read(ifd, ev, sizeof(ev)) > 0)
				;
		}
		ready = drain(nfd, nlog);
		if (!ready && p[1].revents) {
			waitpid(pid, &st, 0);
			fprintf(stderr,
				"ship_daemon: %s exited before it was "
				"ready (see %s)\n",
				argv[2], log);
			return NOT_READY;
		}
	}
	printf("ready %d\n", (int)pid);
	fclose(stdout);
	for (;;) {
		struct pollfd p[2] = {{.fd = nfd, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN}};

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			die("poll");
		drain(nfd, nlog);
		if (p[1].revents)
			break;
	}
	waitpid(pid, &st, 0);
	drain(nfd, nlog);
	fclose(nlog);
	if (conn >= 0)
		close(conn);
	close(nfd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

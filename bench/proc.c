/* proc.c -- child processes of pagemap-bench and the gate that starts them
 * together. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

pid_t
proc_spawn(int (*fn)(void *), void *arg)
{
	pid_t pid;

	fflush(NULL); /* nothing buffered is written twice */
	pid = fork();
	if (pid < 0) {
		say("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* A benchmark that dies must not leave clients behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* _exit: the parent's atexit work is not ours to do. */
		_exit(fn(arg) ? 1 : 0);
	}
	return pid;
}

int
proc_wait(pid_t pid, const char *what)
{
	int st;

	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR) {
			say("waitpid (%s): %s", what, strerror(errno));
			return -1;
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		say("%s exited with %d", what, WEXITSTATUS(st));
	else
		say("%s killed by signal %d", what, WTERMSIG(st));
	return -1;
}

long long
proc_rss(pid_t pid)
{
	char path[64], line[256];
	long long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %lld kB", &kib) == 1)
			break;
	fclose(f);
	return kib < 0 ? -1 : kib * 1024;
}

void *
proc_shared(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		say("mmap %zu shared bytes: %s", len, strerror(errno));
		return NULL;
	}
	return p;
}

void
proc_unshare(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

int
gate_init(struct gate *g)
{
	g->go[0] = g->go[1] = g->ready[0] = g->ready[1] = -1;
	if (pipe2(g->go, O_CLOEXEC) || pipe2(g->ready, O_CLOEXEC)) {
		say("pipe: %s", strerror(errno));
		gate_fini(g);
		return -1;
	}
	return 0;
}

int
gate_child_ack(struct gate *g)
{
	char c = 'r';

	return write(g->ready[1], &c, 1) == 1 ? 0 : -1;
}

int
gate_child_ready(struct gate *g)
{
	char c;
	ssize_t n;

	/* Our copy of the write end would keep the gate shut for ever. */
	if (g->go[1] >= 0) {
		close(g->go[1]);
		g->go[1] = -1;
	}
	if (gate_child_ack(g))
		return -1;
	do
		n = read(g->go[0], &c, 1);
	while (n < 0 && errno == EINTR);
	return n == 0 ? 0 : -1;
}

int
gate_wait_ready(struct gate *g, unsigned n, int timeout_ms)
{
	while (n) {
		struct pollfd p = {.fd = g->ready[0], .events = POLLIN};
		char buf[256];
		ssize_t got;
		int r = poll(&p, 1, timeout_ms);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			say("children not ready after %d ms (%u missing)",
			    timeout_ms, n);
			return -1;
		}
		got = read(g->ready[0], buf, n < sizeof(buf) ? n : sizeof(buf));
		if (got <= 0) {
			say("children went away before they were ready");
			return -1;
		}
		n -= (unsigned)got;
	}
	return 0;
}

void
gate_open(struct gate *g)
{
	if (g->go[1] >= 0) {
		close(g->go[1]);
		g->go[1] = -1;
	}
}

void
gate_fini(struct gate *g)
{
	for (int i = 0; i < 2; i++) {
		if (g->go[i] >= 0)
			close(g->go[i]);
		if (g->ready[i] >= 0)
			close(g->ready[i]);
		g->go[i] = g->ready[i] = -1;
	}
}

/* test_fork.c -- a pin belongs to whoever can still map (I6b): a forked
 * child that uses its parent's connection is refused by the daemon (raw
 * protocol) and by the library (-ECHILD, nothing sent, nothing unmapped);
 * the parent's grants keep holding off a truncate; the library's fds do
 * not survive exec. Children report through their exit status or a pipe,
 * never through cmocka (an assertion in a child would run the rest of the
 * suite there); they are awaited through pidfds and pipes, never sleeps. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "fdcheck.h"
#include "harness.h"
#include "pagemap.h"
#include "rawclient.h"

#define MiB (1ull << 20)
#define WAIT_MS 30000 /* bound on anything that should happen promptly */
#define CANARY "fork canary: the parent's bytes"

struct fixture {
	struct daemon d; /* first: daemon_teardown() frees through it */
};

static char out[1 << 16], err[4096];

static int
setup(void **state)
{
	struct fixture *f = daemon_setup(state, sizeof(*f), NULL);

	if (f == NULL)
		return -1;
	return ctl(&f->d, NULL, 0, NULL, 0, "file", "create", "r/a", "--size",
		   "4M", NULL);
}

/* ---- helpers ------------------------------------------------------ */

/* reap -- wait, bounded, for child @pid (through a pidfd) and return its
 * exit code; a child killed by a signal or late fails the test. */
static int
reap(pid_t pid)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct pollfd p = {.fd = pidfd, .events = POLLIN};
	int st;

	assert_true(pidfd >= 0);
	if (poll(&p, 1, WAIT_MS) != 1) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(pidfd);
		fail_msg("child %d did not exit in time", (int)pid);
	}
	close(pidfd);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st))
		fail_msg("child %d killed by signal %d", (int)pid,
			 WTERMSIG(st));
	return WEXITSTATUS(st);
}

/* count -- how many rows `pagemapctl --json @what ls [@a1 @a2]` lists. */
static size_t
count(struct fixture *f, const char *what, const char *a1, const char *a2)
{
	json_object *j, *arr;
	const char *key;
	size_t n;
	int rv;

	rv = ctl(&f->d, out, sizeof(out), err, sizeof(err), "--json", what,
		 "ls", a1, a2, NULL);
	if (rv != 0)
		fail_msg("%s ls exited %d: %s", what, rv, err);
	j = json_tokener_parse(out);
	key = strcmp(what, "lease") == 0 ? "leases" : "grants";
	if (j == NULL || !json_object_object_get_ex(j, key, &arr))
		fail_msg("%s ls: not the JSON expected: %s", what, out);
	n = json_object_array_length(arr);
	json_object_put(j);
	return n;
}

/* refused -- send @rq over @fd and check the daemon refused it as sent by
 * a process that does not own the connection: 0, or a code saying what
 * went wrong (a child's exit status). */
static int
refused(int fd, Pagemap__Request *rq, int code)
{
	Pagemap__Response *r;
	int rfd = -1, rv = 0;

	r = raw_call(fd, rq, &rfd, NULL);
	if (r == NULL)
		return code; /* no answer, or the connection was closed */
	if (r->error != EPERM)
		rv = code + 1;
	else if (strstr(r->message, "connect anew") == NULL)
		rv = code + 2;
	else if (rfd >= 0)
		rv = code + 3; /* a region fd came with the refusal */
	if (rfd >= 0)
		close(rfd);
	raw_free(r);
	return rv;
}

/* foreign_requests -- what a process that does not own @fd might send:
 * a lease, a map under a lease id the owner could have, a handshake.
 * 0 when each is refused, else which one was not. */
static int
foreign_requests(int fd)
{
	Pagemap__Request rq;
	Pagemap__LeaseAcquireRequest lm;
	Pagemap__MapRequest mm;
	Pagemap__Hello hm;
	int rv;

	raw_req_lease(&rq, &lm, "r", "a", PAGEMAP__ACCESS__ACCESS_WRITE);
	if ((rv = refused(fd, &rq, 10)))
		return rv;
	raw_req_map(&rq, &mm, 1, 0, 2 * MiB, PAGEMAP__ACCESS__ACCESS_WRITE);
	if ((rv = refused(fd, &rq, 20)))
		return rv;
	raw_req_hello(&rq, &hm, 1, "child");
	return refused(fd, &rq, 30);
}

/* owner_still_served -- the connection's owner gets its answers, in
 * step: nothing the child sent left a reply behind for it. */
static void
owner_still_served(int fd)
{
	Pagemap__Request rq;
	Pagemap__StatusRequest sm;
	Pagemap__Response *r;

	raw_req_status(&rq, &sm);
	r = raw_call(fd, &rq, NULL, NULL);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	raw_free(r);
}

/* ---- raw protocol -------------------------------------------------- */

/* The daemon keyed the connection to the parent (its pidfd): were the
 * child served, its grants would end when the parent exits while the
 * child still maps them. So the child is refused, and nothing changes. */
static void
raw_forked_child_is_refused_and_nothing_changes(void **state)
{
	struct fixture *f = *state;
	int fd = raw_connect(f->d.socket, 1);
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(foreign_requests(fd));
	assert_int_equal(reap(pid), 0);
	assert_int_equal(count(f, "lease", NULL, NULL), 0);
	assert_int_equal(count(f, "grant", NULL, NULL), 0);
	owner_still_served(fd);
	close(fd);
}

/* The scenario the rule is for: the parent exits while its child keeps
 * the inherited connection. Nothing the child sends afterwards may take a
 * lease under the parent's (gone) client. */
static void
raw_child_of_an_exited_parent_is_refused(void **state)
{
	struct fixture *f = *state;
	int res[2], ready[2];
	pid_t parent, child;
	char code = -1;
	struct pollfd p;

	assert_int_equal(pipe2(res, O_CLOEXEC), 0);
	/* the grandchild is reparented here, so it can be reaped here */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	parent = fork();
	assert_true(parent >= 0);
	if (parent == 0) {
		int fd = raw_open(f->d.socket, "parent");
		char b;

		if (fd < 0 || pipe2(ready, O_CLOEXEC) < 0)
			_exit(1);
		child = fork();
		if (child < 0)
			_exit(2);
		if (child == 0) {
			int pidfd = (int)syscall(SYS_pidfd_open, getppid(), 0);
			struct pollfd q = {.fd = pidfd, .events = POLLIN};
			char c;

			close(ready[0]);
			if (pidfd < 0 || write(ready[1], "r", 1) != 1)
				_exit(3);
			/* the parent is gone: its connection is ours alone */
			if (poll(&q, 1, WAIT_MS) != 1)
				c = 4;
			else
				c = (char)foreign_requests(fd);
			if (write(res[1], &c, 1) != 1)
				_exit(5);
			_exit(0);
		}
		close(ready[1]);
		if (read(ready[0], &b, 1) != 1)
			_exit(6);
		/* write the pid of the child for the reaper, then exit */
		if (write(res[1], &child, sizeof(child)) != sizeof(child))
			_exit(7);
		_exit(0);
	}
	close(res[1]);
	assert_int_equal(reap(parent), 0);
	p = (struct pollfd){.fd = res[0], .events = POLLIN};
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(res[0], &child, sizeof(child)), sizeof(child));
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(read(res[0], &code, 1), 1);
	close(res[0]);
	assert_int_equal(reap(child), 0);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
	assert_int_equal(code, 0);
	assert_int_equal(count(f, "lease", NULL, NULL), 0);
	assert_int_equal(count(f, "grant", NULL, NULL), 0);
}

/* ---- libpagemap --------------------------------------------------- */

/* child_calls -- in a forked child: the inherited handle's socket @sock
 * and region fd @rfd were closed at the fork, and every call on the handle
 * fails with -ECHILD without touching the address space. Returns 0, or
 * the number of the check that failed. */
static int
child_calls(struct pagemap *pm, struct pagemap_lease *l,
	    struct pagemap_mapping *m, void *addr, size_t len, int sock,
	    int rfd)
{
	struct pagemap_lease *l2 = NULL;
	struct pagemap_mapping *m2 = NULL;
	struct pagemap_status *st = NULL;
	struct pagemap_lease_info **li = NULL;
	struct pagemap_folio fo;
	size_t n = 0;
	uint64_t next = 0;
	char *mine;

	if (fcntl(sock, F_GETFD) != -1 || errno != EBADF)
		return 19;
	if (fcntl(rfd, F_GETFD) != -1 || errno != EBADF)
		return 20;
	/* The parent's mapping was not inherited (MADV_DONTFORK): the range
	 * is free here, and this child puts memory of its own there. */
	mine = mmap(addr, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (mine != addr)
		return 1;
	memset(mine, 0x5a, len);
	if (pagemap_status(pm, &st) != -ECHILD)
		return 2;
	if (pagemap_lease_acquire(pm, "r", "a", PAGEMAP_WRITE, &l2) != -ECHILD)
		return 3;
	if (pagemap_map(l, 0, 4096, PAGEMAP_WRITE, &m2) != -ECHILD)
		return 4;
	if (pagemap_grant(l, 0, 4096, PAGEMAP_READ, &fo, 1, &n, &next) !=
	    -ECHILD)
		return 5;
	if (pagemap_return(l, 0, 4096, NULL) != -ECHILD)
		return 6;
	if (pagemap_persist(m, addr, 4096) != -ECHILD)
		return 7;
	if (pagemap_unmap(m) != -ECHILD || pagemap_unmap_nowait(m) != -ECHILD)
		return 8;
	if (pagemap_lease_release(l) != -ECHILD)
		return 9;
	if (pagemap_lease_list(pm, NULL, NULL, &li, &n) != -ECHILD)
		return 10;
	if (pagemap_dispatch(pm) != -ECHILD || pagemap_wait(pm, 0) != -ECHILD)
		return 11;
	if (pagemap_flush(pm) != -ECHILD)
		return 12;
	if (pagemap_file_truncate(pm, "r", "a", 0, 0, NULL) != -ECHILD)
		return 13;
	if (pagemap_region_fd(l) != -ECHILD || pagemap_get_fd(pm) != -1)
		return 14;
	if (strstr(pagemap_last_message(pm), "connect anew") == NULL)
		return 15;
	/* Frees the handle's memory only: the child's own memory where the
	 * parent's mapping was stays mapped and untouched. */
	pagemap_close(pm);
	for (size_t i = 0; i < len; i += 4096)
		if (mine[i] != 0x5a)
			return 16;
	/* A connection of its own works. */
	if (pagemap_connect(NULL, "child", &pm) != 0)
		return 17;
	if (pagemap_status(pm, &st) != 0)
		return 18;
	pagemap_free(st);
	pagemap_close(pm);
	return 0;
}

/* The parent maps a file and writes a canary; its forked child's calls
 * on the inherited handle fail with -ECHILD; the parent's grants stay
 * and keep holding off a truncate until the parent unmaps. */
static void
lib_child_gets_echild_and_parent_grants_hold(void **state)
{
	struct fixture *f = *state;
	struct pagemap *pm;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;
	struct pagemap_status *st;
	char pidstr[16];
	size_t grants;
	int sock, rfd;
	pid_t pid;
	char *p;

	setenv(PAGEMAP_DEFAULT_SOCKET_ENV, f->d.socket, 1);
	assert_int_equal(pagemap_connect(f->d.socket, "parent", &pm), 0);
	assert_int_equal(pagemap_lease_acquire(pm, "r", "a", PAGEMAP_WRITE, &l),
			 0);
	assert_int_equal(pagemap_map(l, 0, 2 * MiB, PAGEMAP_WRITE, &m), 0);
	p = pagemap_mapping_data(m);
	memcpy(p, CANARY, sizeof(CANARY));
	assert_int_equal(pagemap_persist(m, p, sizeof(CANARY)), 0);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)getpid());
	grants = count(f, "grant", "--pid", pidstr);
	assert_true(grants > 0);

	sock = pagemap_get_fd(pm);
	rfd = pagemap_region_fd(l);
	assert_true(sock >= 0 && rfd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_calls(pm, l, m, pagemap_mapping_addr(m),
				  (size_t)pagemap_mapping_length(m), sock, rfd));
	assert_int_equal(reap(pid), 0);

	/* Nothing of the child's reached the daemon or the parent. */
	assert_int_equal(count(f, "grant", "--pid", pidstr), grants);
	assert_int_equal(pagemap_status(pm, &st), 0);
	pagemap_free(st);
	assert_memory_equal(p, CANARY, sizeof(CANARY));
	/* The parent still maps the file: a truncate waits for it. */
	assert_int_not_equal(ctl(&f->d, out, sizeof(out), err, sizeof(err),
				 "file", "truncate", "r/a", "0", "--timeout",
				 "1", NULL),
			     0);
	assert_memory_equal(p, CANARY, sizeof(CANARY));
	assert_int_equal(count(f, "grant", "--pid", pidstr), grants);
	/* Once the parent unmaps, the truncate completes. */
	assert_int_equal(pagemap_unmap(m), 0);
	assert_int_equal(ctl(&f->d, out, sizeof(out), err, sizeof(err), "file",
			     "truncate", "r/a", "0", "--timeout", "30", NULL),
			 0);
	assert_int_equal(pagemap_lease_release(l), 0);
	pagemap_close(pm);
	unsetenv(PAGEMAP_DEFAULT_SOCKET_ENV);
	assert_int_equal(count(f, "lease", NULL, NULL), 0);
}

/* ---- close-on-exec ------------------------------------------------ */

/* fd_name -- what /proc/self/fd/@fd links to ("socket:[…]", a path). */
static void
fd_name(int fd, char *buf, size_t len)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, buf, len - 1);
	assert_true(n > 0);
	buf[n] = '\0';
}

/* A program the application execs inherits neither the connection nor
 * a region fd. */
static void
exec_inherits_no_library_fd(void **state)
{
	struct fixture *f = *state;
	const char *argv[] = {"/bin/ls", "-l", "/proc/self/fd/", NULL};
	char sock[256], region[PATH_MAX];
	struct pagemap *pm;
	struct pagemap_lease *l;
	struct pagemap_mapping *m;

	assert_int_equal(pagemap_connect(f->d.socket, "exec", &pm), 0);
	assert_int_equal(pagemap_lease_acquire(pm, "r", "a", PAGEMAP_READ, &l),
			 0);
	assert_int_equal(pagemap_map(l, 0, 4096, PAGEMAP_READ, &m), 0);
	fd_name(pagemap_get_fd(pm), sock, sizeof(sock));
	assert_non_null(strstr(sock, "socket:"));
	fd_name(pagemap_region_fd(l), region, sizeof(region));
	assert_non_null(strstr(region, "r.pmem"));

	assert_int_equal(run(argv, NULL, out, sizeof(out), err, sizeof(err)),
			 0);
	/* the listing is real: it shows the fds ls itself has */
	assert_non_null(strstr(out, "/proc/"));
	if (strstr(out, sock) || strstr(out, region))
		fail_msg("an exec'd program inherited a library fd:\n%s", out);

	assert_int_equal(pagemap_unmap(m), 0);
	assert_int_equal(pagemap_lease_release(l), 0);
	pagemap_close(pm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, daemon_teardown)
		T(raw_forked_child_is_refused_and_nothing_changes),
		T(raw_child_of_an_exited_parent_is_refused),
		T(lib_child_gets_echild_and_parent_grants_hold),
		T(exec_inherits_no_library_fd),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

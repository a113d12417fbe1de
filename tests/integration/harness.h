/* harness.h -- run a real pagemapd and real client processes in tests. */
#ifndef PAGEMAP_TEST_HARNESS_H
#define PAGEMAP_TEST_HARNESS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A daemon running in its own temporary folder (tmpdir.h: on /dev/shm,
 * where region persists are msync calls, far cheaper than on a disk). */
struct daemon {
	pid_t pid;	    /* 0 when not running */
	char dir[PATH_MAX]; /* temp folder, removed by daemon_cleanup() */
	char socket[108];
	char log[PATH_MAX]; /* the daemon's stderr */
	int exit_status;    /* of the last stop: exit code, or 128 + signal */
	char region[PATH_MAX]; /* the file of region "r" of daemon_setup() */
	unsigned nofile;       /* RLIMIT_NOFILE (soft and hard) the daemon gets;
				  0: the test's own */
};

/* daemon_init -- a fresh folder and socket path; starts nothing. */
void daemon_init(struct daemon *d);

/* daemon_start -- exec pagemapd --socket d->socket @args (NULL ended)
 * with @env (NULL ended "K=V" additions, may be NULL) and wait, bounded,
 * until it is ready (sd_notify READY=1). Returns 0, or -1 if it exited
 * first (exit_status set) or did not become ready in time. */
int daemon_start(struct daemon *d, const char *const *args,
		 const char *const *env);

/* daemon_start_regions -- daemon_init() @d, then daemon_start() it with
 * one --region per entry of @regions (NULL ended, at most 8), each
 * "NAME=FILE,OPTIONS" with FILE a name inside d->dir. 0 or -1. */
int daemon_start_regions(struct daemon *d, const char *const *regions);

/* daemon_finish -- daemon_cleanup(); 0 if the daemon stopped cleanly (exit
 * 0: sanitizers make it exit non-zero on any error or leak), else -1. A
 * fixture's teardown returns it: the daemon must survive every test. */
int daemon_finish(struct daemon *d);

/* daemon_setup -- a CMocka setup's start, daemon_teardown()'s other half:
 * a zeroed fixture of @size bytes whose first member is its struct daemon
 * in *state, fdcheck_begin(), and the daemon started with @regions as
 * daemon_start_regions() takes them (NULL: the one region most tests use,
 * "r=r.pmem,size=64M,create"). Returns the fixture, or NULL on failure
 * (*state is set either way, for the teardown). */
void *daemon_setup(void **state, size_t size, const char *const *regions);

/* A fixture whose CLI runs keep large outputs: the daemon first, then
 * buffers of CTL_OUT_MAX bytes each for stdout and stderr. */
#define CTL_OUT_MAX (8u << 20)
struct ctl_fixture {
	struct daemon d;
	char *out, *err;
};

/* ctl_fixture_setup, ctl_fixture_teardown -- CMocka setup and teardown
 * of a struct ctl_fixture (daemon_setup()'s region "r"). */
int ctl_fixture_setup(void **state);
int ctl_fixture_teardown(void **state);

/* ctl_json -- pagemapctl --json A [B [C [D]]] (NULL ends) against @f's
 * daemon, its output parsed (a failure fails the test). */
struct json_object *ctl_json(struct ctl_fixture *f, const char *a,
			     const char *b, const char *c, const char *d);

/* A child process driven through pipes: commands to it on @cmd, its
 * answers, one line each, on @ans. */
struct piped {
	pid_t pid;
	int cmd, ans;
};

/* piped_start -- fork a child that dies with the test (PR_SET_PDEATHSIG)
 * and runs @child(@arg, its command fd, its answer fd), then _exit(0)s. */
void piped_start(struct piped *p, void (*child)(void *arg, int cmd, int ans),
		 void *arg);

/* piped_ask -- send the command byte @c (0: none) and read one answer line
 * into @buf (without its newline), bounded: a child that stays silent or
 * goes away fails the test. */
void piped_ask(struct piped *p, char c, char *buf, size_t len);

/* bad_word_table -- in a libpagemap client: put, in place of its word
 * table (the memfd of cached grants' state words, found among its fds), a
 * memfd of another size without seals, which a restarted daemon refuses
 * when it is handed back (what a hostile or broken holder can do; the
 * library then forgets its cached grants). Returns 0 or -1. */
int bad_word_table(void);

/* piped_say -- in the child: write one formatted answer (128 bytes at
 * most) on @ans; _exit(4) if it cannot. */
void piped_say(int ans, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* piped_quit -- send 'q' and reap the child, which must exit 0; close the
 * pipes. */
void piped_quit(struct piped *p);

/* daemon_restart -- start @d again, stopped, with daemon_setup()'s one
 * region "r" (its file d->region, created if absent). As daemon_start(). */
int daemon_restart(struct daemon *d);

/* daemon_teardown -- a CMocka teardown for a fixture that is a calloc'ed
 * struct whose first member is its struct daemon: daemon_finish(), free
 * the fixture, and fdcheck_end() (its setup called fdcheck_begin()). */
int daemon_teardown(void **state);

/* daemon_stop -- SIGTERM and wait; returns the exit status (128+sig if
 * killed). */
int daemon_stop(struct daemon *d);

/* daemon_kill -- SIGKILL and wait. */
void daemon_kill(struct daemon *d);

/* daemon_wait_exit -- wait, bounded (@ms), for the daemon to exit on its
 * own; returns its status or -1 on timeout. */
int daemon_wait_exit(struct daemon *d, int ms);

/* daemon_cleanup -- stop it if running (returning its exit status, 0 if
 * it was not running; its log is copied to stderr when non-zero), remove
 * its folder. */
int daemon_cleanup(struct daemon *d);

/* daemon_log_contains -- true if the daemon's stderr has @needle. */
bool daemon_log_contains(const struct daemon *d, const char *needle);

/* run -- run @argv (NULL ended) with @input on stdin (may be NULL),
 * capture stdout into @out and stderr into @err (each NUL-terminated,
 * may be NULL), bounded in time. Returns the exit code, 128+signal. */
int run(const char *const *argv, const char *input, char *out, size_t outlen,
	char *err, size_t errlen);

/* ctl -- run pagemapctl --socket d->socket ARGS... (NULL ended). */
int ctl(const struct daemon *d, char *out, size_t outlen, char *err,
	size_t errlen, ...) __attribute__((sentinel));

/* ctl_write -- pagemapctl write @name with @text on its stdin, which
 * must succeed. */
void ctl_write(const struct daemon *d, const char *name, const char *text);

/* ctl_as -- the same, as user @uid/@gid (for permission tests). */
int ctl_as(uid_t uid, gid_t gid, const struct daemon *d, char *out,
	   size_t outlen, char *err, size_t errlen, ...)
	__attribute__((sentinel));

#endif

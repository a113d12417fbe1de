/* wait.c -- waits that talk: who holds up a truncate, revoke or detach. */
#include "wait.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <pagemap.h>

#include "escape.h"

#define FIRST_MS 1000 /* a wait shorter than this says nothing */
#define EVERY_MS 500  /* then it looks again this often */
#define SAY_MAX 1024

struct waiter {
	struct wait_for w;
	const char *socket;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC */
	bool stop;	     /* under lock */
	bool said;	     /* a line was printed: end it at the stop */
};

/* describe -- who holds up @w, as "lease 3 (pid 12 cmd, 1 grant), ..."
 * into @who, and what would clear it into @hint. Returns how many
 * holders, or -errno of the listing. */
static int
describe(struct pagemap *pm, const struct wait_for *w, char *who,
	 size_t who_len, char *hint, size_t hint_len)
{
	struct pagemap_blocker **b;
	size_t n, k = 0, off = 0, hoff = 0;
	uint64_t first = 0;
	int err = pagemap_blockers(pm, w->region, w->name, &b, &n);

	who[0] = hint[0] = '\0';
	if (err)
		return err;
	for (size_t i = 0; i < n; i++) {
		char *comm;

		if (strcmp(b[i]->op, w->op) != 0 ||
		    (w->lease_id && b[i]->lease_id != w->lease_id))
			continue;
		/* A process names itself: its comm is escaped for the
		 * terminal like everything else from the daemon. */
		comm = escape_text(b[i]->comm);
		if (!comm)
			die_oom();
		if (off < who_len)
			off += (size_t)snprintf(
				who + off, who_len - off,
				"%slease %" PRIu64 " (pid %" PRIu32
				" %s, %" PRIu64 " grant%s)",
				k ? ", " : "", b[i]->lease_id, b[i]->pid, comm,
				b[i]->grants, b[i]->grants == 1 ? "" : "s");
		free(comm);
		if (k == 0)
			first = b[i]->lease_id;
		else if (hoff < hint_len)
			hoff += (size_t)snprintf(
				hint + hoff, hint_len - hoff, "%s%" PRIu64,
				k == 1 ? " (also " : ", ", b[i]->lease_id);
		k++;
	}
	pagemap_free(b);
	if (k == 0 || w->lease_id) {
		/* A revoke waits for its own holder: nothing but the holder's
		 * unmap or exit ends it. */
		snprintf(hint, hint_len, "%s",
			 k ? "the holder's unmap or exit ends it" : "");
	} else {
		char more[160];

		snprintf(more, sizeof(more), "%s%s", hint, k > 1 ? ")" : "");
		snprintf(hint, hint_len,
			 "`" PROG " lease revoke %" PRIu64 "` ends %s%s", first,
			 k > 1 ? "a lease" : "that lease", more);
	}
	return (int)k;
}

static void
deadline_in(struct timespec *ts, int ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

/* talk -- the thread: look, say it if it changed, wait, until stopped. */
static void *
talk(void *arg)
{
	struct waiter *t = arg;
	struct pagemap *pm = NULL;
	char last[SAY_MAX] = "", who[SAY_MAX], hint[SAY_MAX / 2];
	struct timespec ts;
	int ms = FIRST_MS;

	pthread_mutex_lock(&t->lock);
	for (;;) {
		int k;

		deadline_in(&ts, ms);
		while (!t->stop &&
		       pthread_cond_timedwait(&t->cond, &t->lock, &ts) == 0)
			;
		if (t->stop)
			break;
		pthread_mutex_unlock(&t->lock);
		ms = EVERY_MS;
		if (!pm && pagemap_connect(t->socket, PROG, &pm) != 0)
			pm = NULL;
		k = pm ? describe(pm, &t->w, who, sizeof(who), hint,
				  sizeof(hint))
		       : -ENOTCONN;
		if (k >= 0 && strcmp(who, last) != 0) {
			snprintf(last, sizeof(last), "%s", who);
			fprintf(stderr,
				PROG ": %s: waiting for %s; Ctrl-C stops "
				     "waiting (the %s stays in force)%s%s\n",
				t->w.command,
				k ? who : "grants you may not see", t->w.op,
				hint[0] ? "; " : "", hint);
			t->said = true;
		}
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	pagemap_close(pm);
	return NULL;
}

struct waiter *
wait_talk_start(const struct ctx *c, const struct wait_for *w)
{
	struct waiter *t = calloc(1, sizeof(*t));
	pthread_condattr_t ca;

	if (!t)
		return NULL;
	t->w = *w;
	t->socket = c->socket;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&t->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&t->thread, NULL, talk, t) != 0) {
		pthread_cond_destroy(&t->cond);
		pthread_mutex_destroy(&t->lock);
		free(t);
		return NULL;
	}
	return t;
}

void
wait_talk_stop(struct waiter *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stop = true;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_cond_destroy(&t->cond);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int
wait_timed_out(struct ctx *c, const struct wait_for *w, uint32_t ms)
{
	char who[SAY_MAX], hint[SAY_MAX / 2], secs[32];
	int k = describe(c->pm, w, who, sizeof(who), hint, sizeof(hint));
	size_t n;

	/* "2", "0.3", "1.25": the --timeout as the user wrote it, near
	 * enough. */
	n = (size_t)snprintf(secs, sizeof(secs), "%" PRIu32 ".%03" PRIu32,
			     ms / 1000, ms % 1000);
	while (secs[n - 1] == '0')
		secs[--n] = '\0';
	if (secs[n - 1] == '.')
		secs[--n] = '\0';
	fprintf(stderr,
		PROG ": %s: timed out after %s s; the %s stays in force "
		     "until %s%s%s%s\n",
		w->command, secs, w->op,
		k > 0 ? "these grants are returned: " : "its grants are back",
		k > 0 ? who : "", hint[0] ? "; " : "", hint);
	return EXIT_FAIL;
}

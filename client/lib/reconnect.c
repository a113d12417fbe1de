/* reconnect.c -- libpagemap comes back by itself after the daemon went
 * away (a crash, kill -9, a restart).
 *
 * Nothing is let go: leases, mappings and region fds stay as they are, and
 * the daemon keeps their pins in its tables on tmpfs (I6). The library
 * connects again inside the application's own calls -- at the start of any
 * request and in pagemap_dispatch()/pagemap_wait() -- never in a thread of
 * its own: first at once, then after 10 ms, doubling to 1 s. Meanwhile the
 * fd number the application polls holds a timerfd armed for the next
 * attempt (dup3()), so a poll loop sleeps until it is time instead of
 * spinning on a dead socket's POLLHUP; the new socket is dup3()'d onto the
 * same number. The Hello presents the token of the first HelloReply
 * (CAP_RECONNECT), and the daemon hands back this client's leases under
 * their old ids.
 *
 * Then the reconcile, because a crash loses replies: a grant the daemon
 * holds that lies under no mapping and no raw grant of ours (a map whose
 * reply was lost, an unmap that never reached the daemon) is returned, a
 * lease the daemon holds for us that we do not know (an acquire whose
 * reply was lost, a release that never arrived) is emptied and released,
 * and a lease we hold that the daemon no longer knows (the token was not
 * honoured: it lost its runtime directory) becomes dead: its mappings stay
 * until unmapped, new grants on it fail with -ENOLINK.
 *
 * Returning a grant while a mapping still reaches it would break I1, so
 * what the library holds is known exactly or over-estimated, never under:
 * a mapping holds every grant inside its range (its folios tile it), and
 * the bytes under raw grants are kept as a set of ranges (a return of a
 * range takes back every grant that intersects it, so removing exactly the
 * returned range never removes bytes still granted). A grant that touches
 * a held range is kept; it goes with the mapping or return over it.
 *
 * Cached grants (cache.c): the daemon that made the process's word table
 * keeps it across a reconnect (HelloReply.words_id names it), and the
 * library keeps its cached grants. After a daemon restart the Hello hands
 * the table's memfd back (conn_handshake()); a daemon that adopts it
 * names it by its old id, and the cached grants stay cached (the daemon
 * took back their words from its pin tables). One that does not names
 * another table (or none): the library forgets its cached grants, and the
 * reconcile returns them like any grant it does not hold. */
#include "reconnect.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "conn.h"
#include "requests.h"

#define BACKOFF_MIN_MS 10u   /* the wait after the first failed attempt */
#define BACKOFF_MAX_MS 1000u /* doubling stops here */

/* now_ms -- CLOCK_MONOTONIC in milliseconds. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* recon_init -- keep copies: the caller's strings need not outlive the
 * call. */
int
recon_init(struct pagemap *pm, const char *path, const char *name)
{
	pm->path = strdup(path);
	pm->name = strdup(name);
	pm->backoff_ms = BACKOFF_MIN_MS;
	return pm->path && pm->name ? 0 : -ENOMEM;
}

/* recon_free -- forget the path and name; no attempt after this. */
void
recon_free(struct pagemap *pm)
{
	pm->no_reconnect = true;
	free(pm->path);
	free(pm->name);
	pm->path = pm->name = NULL;
}

/* arm -- make pm->fd a timerfd that polls readable at pm->retry_at_ms.
 * Without a timerfd (out of fds) the dead socket stays: its POLLHUP
 * wakes the loop at once, and attempts still wait for their time. */
static void
arm(struct pagemap *pm, bool fresh)
{
	struct itimerspec its = {
		.it_value = {.tv_sec = pm->retry_at_ms / 1000,
			     .tv_nsec = pm->retry_at_ms % 1000 * 1000000},
	};
	int t;

	if (!fresh) {
		/* pm->fd is our timerfd already: arming it again also
		 * clears its expirations, so it stops polling readable. */
		timerfd_settime(pm->fd, TFD_TIMER_ABSTIME, &its, NULL);
		return;
	}
	t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t < 0)
		return;
	/* A time in the past fires at once, as the first attempt should. */
	if (timerfd_settime(t, TFD_TIMER_ABSTIME, &its, NULL) == 0 &&
	    pm->fd >= 0 && dup3(t, pm->fd, O_CLOEXEC) >= 0) {
		close(t);
		return;
	}
	close(t);
}

/* later -- schedule the next attempt after the current backoff, which
 * doubles up to its bound. */
static void
later(struct pagemap *pm)
{
	pm->retry_at_ms = now_ms() + pm->backoff_ms;
	pm->backoff_ms = pm->backoff_ms * 2 > BACKOFF_MAX_MS
				 ? BACKOFF_MAX_MS
				 : pm->backoff_ms * 2;
}

/* recon_lost -- the first loss retries at once (a socket-activated or
 * quickly restarted daemon is back already); a loss during an attempt
 * waits for the backoff. */
void
recon_lost(struct pagemap *pm)
{
	if (pm->down)
		return;
	pm->down = true;
	/* Sent, never answered: the reconcile returns what they were to. */
	pm->nnowait = 0;
	if (pm->reconnecting) {
		later(pm);
	} else {
		pm->backoff_ms = BACKOFF_MIN_MS;
		pm->retry_at_ms = now_ms();
	}
	arm(pm, true);
}

/* ---- what the library holds -------------------------------------------- */

/* held_reserve -- one more slot, so that held_add() cannot fail. */
int
held_reserve(struct pagemap_lease *l)
{
	return grow((void **)&l->raw, sizeof(*l->raw), l->nraw, &l->rawcap, 1);
}

/* held_add -- merge [a, b) into the sorted set: it replaces every range
 * it touches, so it needs at most one new slot. */
void
held_add(struct pagemap_lease *l, uint64_t a, uint64_t b)
{
	size_t i = 0, j;

	while (i < l->nraw && l->raw[i].b < a)
		i++;
	for (j = i; j < l->nraw && l->raw[j].a <= b; j++) {
		if (l->raw[j].a < a)
			a = l->raw[j].a;
		if (l->raw[j].b > b)
			b = l->raw[j].b;
	}
	if (j == i) {
		memmove(l->raw + i + 1, l->raw + i,
			(l->nraw - i) * sizeof(*l->raw));
		l->nraw++;
	} else {
		memmove(l->raw + i + 1, l->raw + j,
			(l->nraw - j) * sizeof(*l->raw));
		l->nraw -= j - i - 1;
	}
	l->raw[i] = (struct range){a, b};
}

/* held_sub -- cut [a, b) out of the set. */
void
held_sub(struct pagemap_lease *l, uint64_t a, uint64_t b)
{
	for (size_t i = 0; i < l->nraw;) {
		struct range *r = &l->raw[i];

		if (r->b <= a || r->a >= b) {
			i++;
		} else if (r->a < a && r->b > b) {
			/* Split: without the memory, keep it whole. */
			if (held_reserve(l))
				return;
			memmove(l->raw + i + 2, l->raw + i + 1,
				(l->nraw - i - 1) * sizeof(*l->raw));
			l->nraw++;
			l->raw[i + 1] = (struct range){b, l->raw[i].b};
			l->raw[i].b = a;
			return;
		} else if (r->a < a) {
			r->b = a;
			i++;
		} else if (r->b > b) {
			r->a = b;
			i++;
		} else {
			memmove(l->raw + i, l->raw + i + 1,
				(l->nraw - i - 1) * sizeof(*l->raw));
			l->nraw--;
		}
	}
}

/* holds -- whether a mapping, raw grant or cached grant of @l touches
 * [a, b). Cached grants are known only while the daemon keeps the word
 * table they are in (the same daemon, or one that adopted it): otherwise
 * cache_hello() has forgotten them, so they are returned here. */
static bool
holds(const struct pagemap_lease *l, uint64_t a, uint64_t b)
{
	if (cache_holds(l, a, b))
		return true;
	for (const struct pagemap_mapping *m = l->maps; m; m = m->next)
		if (m->offset < b && a < m->offset + m->length)
			return true;
	for (size_t i = 0; i < l->nraw; i++)
		if (l->raw[i].a < b && a < l->raw[i].b)
			return true;
	return false;
}

/* ---- the reconcile ------------------------------------------------------- */

/* ours -- whether the daemon lists lease @id as this client's. */
static bool
ours(struct pagemap *pm, struct pagemap_lease_info **ls, size_t n, uint64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ls[i]->id == id && ls[i]->client_id == pm->client_id)
			return true;
	return false;
}

/* reconcile -- make the daemon hold what we hold (see the top). Stops
 * at the first failure: a lost connection is reconciled at the next
 * attempt, and a listing refused leaves things as the daemon has them,
 * which is never less than we hold. */
static void
reconcile(struct pagemap *pm)
{
	struct pagemap_lease_info **ls = NULL;
	struct pagemap_grant_info **gs = NULL;
	size_t nl = 0, ng = 0;

	if (pagemap_lease_list(pm, NULL, NULL, &ls, &nl))
		return;
	for (struct pagemap_lease *l = pm->leases; l; l = l->next)
		if (!l->dead && !ours(pm, ls, nl, l->id))
			l->dead = true;
	for (size_t i = 0; i < nl; i++) {
		struct pagemap_lease tmp = {.pm = pm, .id = ls[i]->id};

		if (ls[i]->client_id != pm->client_id ||
		    lease_find(pm, ls[i]->id))
			continue;
		if (req_unmap(&tmp, 0, 0, NULL, false) || req_release(&tmp))
			goto out;
	}
	if (pagemap_grant_list(pm, 0, (uint32_t)getpid(), &gs, &ng))
		goto out;
	for (size_t i = 0; i < ng; i++) {
		struct pagemap_lease *l = lease_find(pm, gs[i]->lease_id);
		uint64_t a = gs[i]->file_offset;
		uint64_t b = a + ((uint64_t)PG_SIZE << gs[i]->order);

		/* Leases of other handles of this process are not ours to
		 * judge; ours that we do not know went whole above. */
		if (!l || l->dead || !ours(pm, ls, nl, l->id) || holds(l, a, b))
			continue;
		if (req_unmap(l, a, b - a, NULL, false))
			break;
	}
out:
	pagemap_free(gs);
	pagemap_free(ls);
}

/* attempt -- connect, hand the socket over to pm->fd's number, Hello with
 * the token, reconcile. Any failure leaves pm->down set and the timer
 * armed for the next attempt. */
static void
attempt(struct pagemap *pm)
{
	uint32_t adopted;
	int s, err;

	pm->reconnecting = true;
	if (conn_socket(pm->path, &s)) {
		later(pm);
		arm(pm, false);
		goto out;
	}
	if (dup3(s, pm->fd, O_CLOEXEC) < 0) {
		close(s);
		later(pm);
		arm(pm, false);
		goto out;
	}
	close(s);
	pm->down = false; /* a loss from here on calls recon_lost() */
	err = conn_handshake(pm, &adopted);
	if (pm->down || pm->dead)
		goto out;
	if (err) {
		/* Refused for now (a limit, no memory): try again later. */
		recon_lost(pm);
		goto out;
	}
	reconcile(pm);
	if (!pm->down && !pm->dead) {
		pm->reconnects++;
		pm->backoff_ms = BACKOFF_MIN_MS;
	}
out:
	pm->reconnecting = false;
}

/* recon_ready -- attempts only when due: a caller that calls in a loop
 * does not turn the backoff into a busy loop. */
int
recon_ready(struct pagemap *pm)
{
	if (pm->dead)
		return pm->dead;
	if (!pm->down || pm->reconnecting)
		return 0;
	if (!pm->no_reconnect && pm->path && now_ms() >= pm->retry_at_ms)
		attempt(pm);
	if (pm->dead)
		return pm->dead;
	return pm->down ? -ENOTCONN : 0;
}

/* pagemap_connected -- the state of the connection. */
int
pagemap_connected(const struct pagemap *pm)
{
	if (!pm)
		return -EINVAL;
	if (pm->dead)
		return pm->dead;
	return pm->down ? 0 : 1;
}

/* pagemap_reconnects -- successful reconnects of @pm so far. */
uint64_t
pagemap_reconnects(const struct pagemap *pm)
{
	return pm ? pm->reconnects : 0;
}

/* owner.c -- the process a handle serves.
 *
 * The daemon serves a connection only for the process that opened it: it
 * keys leases to that process (its pidfd) and ends them when it exits, so
 * a forked child that shared the connection would map grants that end
 * with its parent (and the daemon now refuses such requests with EPERM).
 * The library says so first, without sending anything: the handle records
 * its maker's pid at connect and every call that could send, read the
 * socket or touch a mapping compares it with getpid(). pthread_atfork()
 * alone would miss a raw clone(), and getpid() costs a syscall of well
 * under a microsecond against a round trip to the daemon.
 *
 * A fork closes, in the child, the socket and region fds of every handle
 * of the process (a pthread_atfork() child handler: at that moment the
 * child's fd table is exactly the parent's, so each number is still ours),
 * so a child never holds a region fd nor keeps its parent's connection
 * open. A raw clone() runs no handler: there the fds stay, and only the
 * getpid() check refuses the calls.
 *
 * In the child the handle is then only memory to free. Its mappings were
 * not inherited (MADV_DONTFORK), so their address ranges are free in the
 * child and may since hold the child's own mappings: unmapping there would
 * destroy them; and after a clone() its fd numbers may have been closed and
 * reused. So nothing is unmapped, closed or sent; see owner_forget() for
 * the one exception.
 */
#include "owner.h"
#include "mapping.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>


/* Every live handle of this process, for the fork handler: process-wide
 * by nature, as fork is. */
static pthread_mutex_t handles_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pagemap *handles;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static int atfork_err;

static void
before_fork(void)
{
	pthread_mutex_lock(&handles_lock);
}

static void
after_fork_parent(void)
{
	pthread_mutex_unlock(&handles_lock);
}

/* after_fork_child -- close the copies of every handle's socket and
 * region fds; the handles themselves stay, for owner_check() to refuse. */
static void
after_fork_child(void)
{
	for (struct pagemap *pm = handles; pm; pm = pm->owner_next) {
		if (pm->fd >= 0)
			close(pm->fd);
		pm->fd = -1;
		/* The word table's mapping is not inherited (MADV_DONTFORK);
		 * its memfd is the parent's to hand back, never the child's. */
		if (pm->words_fd >= 0)
			close(pm->words_fd);
		pm->words_fd = -1;
		for (struct rfd *r = pm->rfds; r; r = r->next) {
			if (r->fd >= 0)
				close(r->fd);
			r->fd = -1;
		}
	}
	pthread_mutex_unlock(&handles_lock);
}

static void
install_atfork(void)
{
	atfork_err = -pthread_atfork(before_fork, after_fork_parent,
				     after_fork_child);
}

int
owner_register(struct pagemap *pm)
{
	pthread_once(&atfork_once, install_atfork);
	if (atfork_err)
		return atfork_err;
	pthread_mutex_lock(&handles_lock);
	pm->owner_next = handles;
	handles = pm;
	pthread_mutex_unlock(&handles_lock);
	return 0;
}

void
owner_unregister(struct pagemap *pm)
{
	pthread_mutex_lock(&handles_lock);
	for (struct pagemap **p = &handles; *p; p = &(*p)->owner_next) {
		if (*p == pm) {
			*p = pm->owner_next;
			break;
		}
	}
	pthread_mutex_unlock(&handles_lock);
}

/* owner_inherited -- @pm was made by another process. */
bool
owner_inherited(const struct pagemap *pm)
{
	return pm->pid != getpid();
}

/* owner_check -- 0 in @pm's maker, else -ECHILD with the reason kept. */
int
owner_check(struct pagemap *pm)
{
	if (!owner_inherited(pm))
		return 0;
	set_message(pm,
		    "this handle was made by pid %d, not by this process "
		    "(%d): a forked child must connect anew",
		    (int)pm->pid, (int)getpid());
	return -ECHILD;
}

/* forget_reservation -- release @m's VM reservation record if its range
 * can be had without touching the child's memory: the mapped part was not
 * inherited, so it is claimed back with MAP_FIXED_NOREPLACE (which fails
 * if the child has put anything there); the rest of the reservation, a
 * placeholder, was inherited and is ours. Otherwise the record (a few
 * dozen bytes) is left: freeing it would unmap the child's memory. */
static void
forget_reservation(struct pagemap_mapping *m)
{
	void *p;

	if (!m->rsv.base)
		return;
	p = mmap(m->addr, (size_t)m->length, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			 MAP_FIXED_NOREPLACE,
		 -1, 0);
	if (p == MAP_FAILED)
		return;
	if (p != m->addr) {
		/* a kernel without MAP_FIXED_NOREPLACE took it as a hint */
		munmap(p, (size_t)m->length);
		return;
	}
	rsv_release(&m->rsv);
}

/* owner_forget -- free @pm's memory and nothing else (another process's
 * handle). */
void
owner_forget(struct pagemap *pm)
{
	owner_unregister(pm);
	while (pm->leases) {
		struct pagemap_lease *l = pm->leases;

		while (l->maps) {
			struct pagemap_mapping *m = l->maps;

			l->maps = m->next;
			forget_reservation(m);
			free(m->runs);
			free(m->w);
			free(m);
		}
		pm->leases = l->next;
		free(l->cg);
		free(l->raw);
		free(l);
	}
	while (pm->rfds) {
		struct rfd *r = pm->rfds;

		pm->rfds = r->next;
		free(r); /* its fd: closed at the fork, or the clone's own */
	}
	/* The kept reservation is an inherited placeholder (not marked
	 * MADV_DONTFORK): it is the child's own, and releasing it unmaps
	 * only that. */
	rsv_release(&pm->spare);
	free(pm->guess.runs);
	free(pm->q);
	free(pm->rbuf);
	free(pm);
}

/* proc.h -- child processes of pagemap-bench and the gate that starts them
 * together. */
#ifndef PAGEMAP_BENCH_PROC_H
#define PAGEMAP_BENCH_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* proc_spawn -- fork a child that runs @fn(@arg) and _exits with what it
 * returns; it is killed if we die. Returns its pid, or -1. */
pid_t proc_spawn(int (*fn)(void *), void *arg);

/* proc_wait -- wait for @pid; 0 when it exited with 0, -1 otherwise (and
 * say so, naming @what). */
int proc_wait(pid_t pid, const char *what);

/* proc_rss -- the resident set (VmRSS) of process @pid in bytes, or -1. */
long long proc_rss(pid_t pid);

/* proc_shared -- @len zeroed bytes shared with children forked later;
 * NULL on failure. Release with proc_unshare(). */
void *proc_shared(size_t len);
void proc_unshare(void *p, size_t len);

/*
 * A gate holds children until the parent opens it: every child waits for
 * end-of-file on a pipe whose only writer left, after spawning, is the
 * parent. Children report readiness on a second pipe.
 */
struct gate {
	int go[2];    /* closed by the parent: everyone starts */
	int ready[2]; /* a byte per child that is ready */
};

/* gate_init -- make the two pipes. 0 or -1. */
int gate_init(struct gate *g);

/* gate_child_ready -- in a child: say "ready", then block until the gate
 * opens. 0, or -1 when the parent went away without opening it. */
int gate_child_ready(struct gate *g);

/* gate_child_ack -- in a child: one byte on the ready pipe (for
 * command/answer loops that reuse it). */
int gate_child_ack(struct gate *g);

/* gate_wait_ready -- in the parent (after spawning every child): wait for
 * @n bytes on the ready pipe within @timeout_ms. 0 or -1. */
int gate_wait_ready(struct gate *g, unsigned n, int timeout_ms);

/* gate_open -- in the parent: let every waiting child go. */
void gate_open(struct gate *g);

/* gate_fini -- close what is still open. */
void gate_fini(struct gate *g);

#endif

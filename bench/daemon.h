/* daemon.h -- a pagemapd of our own: start it, wait for READY=1, stop it,
 * read its memory. */
#ifndef PAGEMAP_BENCH_DAEMON_H
#define PAGEMAP_BENCH_DAEMON_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench.h"

struct pagemap;

#define DAEMON_MAX_ARGS 16

struct daemon {
	pid_t pid; /* 0 when not running */
	char socket[PATH_MAX];
	char log[PATH_MAX];
	const char *args[DAEMON_MAX_ARGS + 1]; /* extra arguments, NULL ended */
};

/* daemon_init -- name the daemon's socket and log after @tag in o->tmp and
 * take the extra arguments @args (NULL ended, copied by pointer). */
void daemon_init(struct daemon *d, const struct bench_opts *o, const char *tag,
		 const char *const *args);

/* daemon_start -- start pagemapd and wait for READY=1 on $NOTIFY_SOCKET;
 * *ret_ns (may be NULL) gets the time from fork to READY. 0 or -1 (the log
 * is shown). */
int daemon_start(struct daemon *d, const struct bench_opts *o,
		 uint64_t *ret_ns);

/* daemon_stop -- SIGTERM and wait; 0 when it exited 0 (else the log is
 * shown and -1). Does nothing when it is not running. */
int daemon_stop(struct daemon *d);

/* daemon_rss -- the daemon's resident set (VmRSS) in bytes, or -1. */
long long daemon_rss(const struct daemon *d);

/* daemon_connect -- pagemap_connect() to @d, saying why on failure. */
int daemon_connect(const struct daemon *d, const char *name,
		   struct pagemap **ret);

/* region_spec -- "--region" argument text: NAME=DIR/NAME.pmem,size=..,
 * create[,max_order=N][,inodes=N] (@max_order < 0 or @inodes 0: the
 * default). */
void region_spec(char *buf, size_t len, const char *dir, const char *name,
		 uint64_t size, int max_order, unsigned inodes);

/*
 * A rig: a daemon serving one fresh region (created in @dir) and our own
 * administrative connection to it.
 */
struct rig {
	struct daemon d;
	struct pagemap *pm; /* NULL while closed (e.g. around fork) */
	char region[64];
	char path[PATH_MAX]; /* the region file */
	char spec[PATH_MAX + 128];
	const char *args[3];
};

/* region_unlink -- remove the region whose data file is @path: it and
 * its metadata file "<path>.meta". */
void region_unlink(const char *path);

/* rig_start -- create region @region of @size bytes in @dir (@max_order
 * < 0, @inodes 0: defaults), start a daemon serving it, connect. 0 or -1;
 * on failure nothing is left running. */
int rig_start(struct rig *r, const struct bench_opts *o, const char *dir,
	      const char *region, uint64_t size, int max_order,
	      unsigned inodes);

/* rig_stop -- close our connection, stop the daemon and, unless @keep,
 * remove the region file. 0 when the daemon stopped cleanly. */
int rig_stop(struct rig *r, bool keep);

#endif

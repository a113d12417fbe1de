/* soak_report.h -- pagemap-soak's figures, its verdict and how it prints
 * them (text or JSON). */
#ifndef PAGEMAP_SOAK_REPORT_H
#define PAGEMAP_SOAK_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "soak.h"

/* The memory bound of the verdict: the daemon's RSS at the end may exceed
 * its RSS after warm-up by the slack plus this much per minute of the run
 * after warm-up. The slack absorbs malloc's arenas and the high-water
 * marks of tables that grow to the load and are kept for reuse; a leak
 * grows with the operations and crosses the per-minute part. */
#define SOAK_RSS_SLACK_KIB 4096u
#define SOAK_RSS_PER_MIN_KIB 256u

struct soak_opts {
	unsigned clients;
	unsigned seconds;
	bool json;
	const char *socket; /* NULL: our own daemon */
	const char *region;
	const char *daemon;
	uint64_t seed;
	unsigned kill_every; /* seconds between SIGKILLs on average; 0 never */
	unsigned rss_slack_kib;
	unsigned rss_per_min_kib;
};

struct soak_result {
	unsigned warmup_s;
	long long t_warm_ms, t_run_ms;
	unsigned samples;
	int fd_start, fd_warm, fd_max, fd_end;
	long long rss_start, rss_warm, rss_max, rss_end;
	unsigned kills;	      /* clients SIGKILLed and started again */
	unsigned failures;    /* clients that failed (see their why) */
	bool not_quiet;	      /* the daemon kept clients or pins */
	long long files_left; /* files and orphans left in the region */
	/* Summed over the clients: */
	uint64_t ok[OP_COUNT];
	uint64_t err[OP_COUNT][SOAK_ERRNOS];
	uint64_t bad[OP_COUNT][SOAK_ERRNOS];
	uint64_t canary_checks, canary_bad;
	char why[200]; /* the first client's first unexpected error */
};

/* soak_result_tally -- add up the counters of @n client slots of @sh. */
void soak_result_tally(struct soak_result *res, const struct soak_shared *sh,
		       unsigned n);

/* soak_report -- print @res as text on stdout (or JSON with o->json, the
 * text then on stderr) with its verdict. 0 when the verdict is good, -1
 * when it found a leak, an unexpected error or a canary mismatch. */
int soak_report(const struct soak_opts *o, const struct soak_result *res);

#endif

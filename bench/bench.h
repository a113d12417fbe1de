/* bench.h -- what the parts of pagemap-bench share: options, the clock,
 * samples, child processes, a daemon of our own and the figure table. */
#ifndef PAGEMAP_BENCH_H
#define PAGEMAP_BENCH_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h" /* now_ns(), shared with the tests */

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define PAGE 4096ull

/* A figure and its baseline are measured in turns, in this many blocks,
 * so that whatever else the machine does meanwhile is shared out. */
#define BLOCKS 10

struct bench_opts {
	const char *daemon; /* the pagemapd binary */
	char dir[PATH_MAX]; /* region files and the kernel baseline file */
	char tmp[PATH_MAX]; /* sockets, readiness socket, daemon logs */
	int client_cpu;	    /* every client process runs here (-1: anywhere) */
	int server_cpu;	    /* the daemon and the echo servers (-1: anywhere) */
	bool quick;	    /* tiny sizes: seconds in all */
	bool verbose;	    /* progress and details on stderr */
};

/* ---- the figures ------------------------------------------------------ */

enum fig_id {
	FIG_GRANT_RTT,
	FIG_MAP_VS_KERNEL,
	FIG_WARM_MAP,
	FIG_COLD_MAP,
	FIG_PER_FOLIO,
	FIG_THROUGHPUT,
	FIG_SCALE_LATENCY,
	FIG_BYTES_PER_GRANT,
	FIG_REVOKE_RTT,
	FIG_CACHED_REVOKE,
	FIG_CREATES,
	FIG_ATTACH,
	FIG_HUGE_SHARE,
	FIG_COUNT
};

/* One row of the table. The text columns are filled by the figure; what
 * they mean for each figure is in docs/performance.md. */
struct figure {
	const char *name;
	double goal;
	bool at_least; /* ok when value >= goal (else value <= goal) */
	bool reported; /* no goal: shown for comparison, always ok */
	bool done;     /* measured in this run */
	double value;
	/* Set when the run did not measure what the figure claims (say,
	 * nothing was cached): the figure is not ok, whatever its value. */
	char invalid[160];
	char median[24];
	char p99[24];
	char baseline[24];
};

/* Each runs one figure (scale fills two) into @tab; 0 or -1 after saying
 * why on stderr. */
int fig_grant_rtt(const struct bench_opts *o, struct figure *tab);
int fig_per_folio(const struct bench_opts *o, struct figure *tab);
int fig_map_vs_kernel(const struct bench_opts *o, struct figure *tab);
int fig_warm_map(const struct bench_opts *o, struct figure *tab);
int fig_cold_map(const struct bench_opts *o, struct figure *tab);
int fig_cached_revoke(const struct bench_opts *o, struct figure *tab);
int fig_throughput(const struct bench_opts *o, struct figure *tab);
int fig_scale(const struct bench_opts *o, struct figure *tab);
int fig_revoke_rtt(const struct bench_opts *o, struct figure *tab);
int fig_creates(const struct bench_opts *o, struct figure *tab);
int fig_attach(const struct bench_opts *o, struct figure *tab);
int fig_huge_share(const struct bench_opts *o, struct figure *tab);

/* fmt_time -- @ns as text with a unit that keeps 3 significant digits. */
void fmt_time(char *buf, size_t len, double ns);

/* fmt_rate -- @per_s as text: "123k/s". */
void fmt_rate(char *buf, size_t len, double per_s);

/* fmt_bytes -- @bytes as text with a binary unit: "12.3MiB". */
void fmt_bytes(char *buf, size_t len, double bytes);

/* pin_cpu -- run the calling process on @cpu only (-1: leave it). */
void pin_cpu(int cpu);

/* say -- a line on stderr, prefixed with the program name. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* note -- like say(), but only with --verbose. */
void note(const struct bench_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- samples --------------------------------------------------------- */

struct samples {
	double *v;
	size_t n, cap;
	bool sorted;
};

/* samples_init -- room for @cap samples up front, so adding one inside a
 * timed loop never allocates. 0 or -ENOMEM. */
int samples_init(struct samples *s, size_t cap);

/* samples_add -- append @v (grows past the initial room if needed). */
int samples_add(struct samples *s, double v);

/* samples_quantile -- the nearest-rank @q quantile (0..1); NAN when
 * empty. Sorts the samples. */
double samples_quantile(struct samples *s, double q);

/* samples_median -- samples_quantile(s, 0.5). */
double samples_median(struct samples *s);

/* figure_times -- @f's median and p99 from @s, its baseline the median of
 * @base (NULL: none). */
void figure_times(struct figure *f, struct samples *s, struct samples *base);

/* samples_fini -- free the samples; the struct may be reused after
 * samples_init(). */
void samples_fini(struct samples *s);

#endif

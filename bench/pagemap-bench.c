/* pagemap-bench.c -- the performance figures of docs/performance.md, each a
 * ratio against a baseline measured in the same run. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "tmpdir.h"

#ifndef PAGEMAPD_BIN
#define PAGEMAPD_BIN "pagemapd"
#endif
#ifndef PAGEMAP_BENCH_DIR
#define PAGEMAP_BENCH_DIR ".run/bench"
#endif

/* The figures in the order of docs/performance.md, with their goals. */
static struct figure table[FIG_COUNT] = {
	[FIG_GRANT_RTT] = {.name = "grant_rtt_ratio", .goal = 1.2},
	[FIG_MAP_VS_KERNEL] = {.name = "map_vs_kernel_ratio", .reported = true},
	[FIG_WARM_MAP] = {.name = "warm_map_vs_kernel_ratio", .goal = 1.1},
	[FIG_COLD_MAP] = {.name = "cold_map_floor_ratio", .goal = 1.1},
	[FIG_PER_FOLIO] = {.name = "per_folio_ns", .goal = 100},
	[FIG_THROUGHPUT] = {.name = "throughput_ratio",
			    .goal = 0.7,
			    .at_least = true},
	[FIG_SCALE_LATENCY] = {.name = "scale_latency_ratio", .goal = 1.2},
	[FIG_BYTES_PER_GRANT] = {.name = "bytes_per_grant", .goal = 100},
	[FIG_REVOKE_RTT] = {.name = "revoke_rtt_ratio", .goal = 3},
	[FIG_CACHED_REVOKE] = {.name = "cached_revoke_rtt_ratio", .goal = 1.5},
	[FIG_CREATES] = {.name = "creates_per_s",
			 .goal = 10000,
			 .at_least = true},
	[FIG_ATTACH] = {.name = "attach_s", .goal = 1},
	[FIG_HUGE_SHARE] = {.name = "huge_folio_share",
			    .goal = 0.95,
			    .at_least = true},
};

/* The runs, cheapest first; scale fills two figures. */
static const struct {
	int (*run)(const struct bench_opts *, struct figure *);
	enum fig_id ids[2];
	int nids;
} runs[] = {
	{fig_grant_rtt, {FIG_GRANT_RTT}, 1},
	{fig_per_folio, {FIG_PER_FOLIO}, 1},
	{fig_map_vs_kernel, {FIG_MAP_VS_KERNEL}, 1},
	{fig_warm_map, {FIG_WARM_MAP}, 1},
	{fig_cold_map, {FIG_COLD_MAP}, 1},
	{fig_throughput, {FIG_THROUGHPUT}, 1},
	{fig_revoke_rtt, {FIG_REVOKE_RTT}, 1},
	{fig_cached_revoke, {FIG_CACHED_REVOKE}, 1},
	{fig_scale, {FIG_SCALE_LATENCY, FIG_BYTES_PER_GRANT}, 2},
	{fig_creates, {FIG_CREATES}, 1},
	{fig_huge_share, {FIG_HUGE_SHARE}, 1},
	{fig_attach, {FIG_ATTACH}, 1},
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: pagemap-bench [--quick] [--json] [--daemon PATH] "
		"[--dir DIR]\n"
		"                     [--cpus split|same|any] "
		"[--only FIGURE[,FIGURE...]]\n"
		"                     [--keep] [--verbose]\n"
		"\n"
		"Measures pagemapd against raw kernel baselines taken in the "
		"same run and\nprints a table (figure, median, p99, baseline, "
		"value, goal, ok).\n"
		"\n"
		"  --quick        every figure at tiny sizes (seconds in all)\n"
		"  --json         print one JSON object on stdout (the table "
		"goes to stderr)\n"
		"  --daemon PATH  the pagemapd to start (default %s)\n"
		"  --dir DIR      where region files go; a fresh folder is "
		"made in it\n"
		"                 (default %s)\n"
		"  --cpus MODE    split (default): clients on one cpu, the "
		"daemon and the\n"
		"                 echo servers on another; same: all on one "
		"cpu; any: no\n"
		"                 pinning (the scheduler decides, results "
		"vary)\n"
		"  --only LIST    run only these figures (debugging)\n"
		"  --keep         keep region files, sockets and daemon logs\n"
		"  --verbose      details on stderr\n",
		PAGEMAPD_BIN, PAGEMAP_BENCH_DIR);
}

static int
mkdir_p(const char *path)
{
	char buf[PATH_MAX];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -1;
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0755) && errno != EEXIST ? -1 : 0;
}

/* selected -- is @name in the comma-separated @list (NULL: all)? */
static bool
selected(const char *list, const char *name)
{
	size_t len = strlen(name);

	if (list == NULL)
		return true;
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == len && strncmp(p, name, n) == 0)
			return true;
		p += n + (e ? 1 : 0);
	}
	return false;
}

/* place -- the cpus of @mode among those we may run on. 0 or -1. */
static int
place(const char *mode, struct bench_opts *o)
{
	cpu_set_t set;
	int cpus[2], n = 0;

	o->client_cpu = o->server_cpu = -1;
	if (strcmp(mode, "any") == 0)
		return 0;
	if (strcmp(mode, "split") && strcmp(mode, "same")) {
		say("--cpus: split, same or any, not '%s'", mode);
		return -1;
	}
	if (sched_getaffinity(0, sizeof(set), &set)) {
		say("sched_getaffinity: %s", strerror(errno));
		return -1;
	}
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	if (n == 0)
		return -1;
	o->client_cpu = cpus[0];
	o->server_cpu = strcmp(mode, "same") == 0 || n < 2 ? cpus[0] : cpus[1];
	if (strcmp(mode, "split") == 0 && n < 2)
		say("--cpus split: only one cpu, so all run on cpu %d",
		    cpus[0]);
	return 0;
}

/* check_only -- every name in @list is a figure's. 0 or -1. */
static int
check_only(const char *list)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *save, *t = strtok_r(buf, ",", &save); t;
	     t = strtok_r(NULL, ",", &save)) {
		bool known = false;

		for (int i = 0; i < FIG_COUNT; i++)
			known |= strcmp(t, table[i].name) == 0;
		if (!known) {
			say("--only: no figure named '%s'", t);
			return -1;
		}
	}
	return 0;
}

static bool
figure_ok(const struct figure *f)
{
	if (!f->done || !isfinite(f->value) || f->invalid[0])
		return false;
	if (f->reported)
		return true;
	return f->at_least ? f->value >= f->goal : f->value <= f->goal;
}

static void
print_table(FILE *out)
{
	fprintf(out, "%-24s %10s %10s %10s %10s %8s  %s\n", "figure", "median",
		"p99", "baseline", "value", "goal", "ok");
	for (int i = 0; i < FIG_COUNT; i++) {
		const struct figure *f = &table[i];
		char goal[24], value[24];

		if (!f->done)
			continue;
		if (f->reported)
			snprintf(goal, sizeof(goal), "-");
		else
			snprintf(goal, sizeof(goal), "%s%g",
				 f->at_least ? ">=" : "<=", f->goal);
		snprintf(value, sizeof(value), "%.3g", f->value);
		fprintf(out, "%-24s %10s %10s %10s %10s %8s  %s\n", f->name,
			f->median[0] ? f->median : "-",
			f->p99[0] ? f->p99 : "-",
			f->baseline[0] ? f->baseline : "-", value, goal,
			figure_ok(f) ? "yes" : "NO");
	}
	for (int i = 0; i < FIG_COUNT; i++)
		if (table[i].done && table[i].invalid[0])
			fprintf(out, "%s: NO because %s\n", table[i].name,
				table[i].invalid);
}

/* print_json -- one object whose keys are exactly the figure names run
 * (all of them unless --only); a figure that could not be measured has
 * value -1 and ok false; a figure without a goal has "goal": null. */
static void
print_json(const char *only)
{
	bool first = true;

	printf("{");
	for (int i = 0; i < FIG_COUNT; i++) {
		const struct figure *f = &table[i];
		double v = f->done && isfinite(f->value) ? f->value : -1;

		if (!selected(only, f->name))
			continue;
		char goal[32];

		if (f->reported)
			snprintf(goal, sizeof(goal), "null");
		else
			snprintf(goal, sizeof(goal), "%g", f->goal);
		printf("%s\n  \"%s\": {\"value\": %.6g, \"goal\": %s, "
		       "\"ok\": %s}",
		       first ? "" : ",", f->name, v, goal,
		       figure_ok(f) ? "true" : "false");
		first = false;
	}
	printf("\n}\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"quick", no_argument, NULL, 'q'},
		{"json", no_argument, NULL, 'j'},
		{"daemon", required_argument, NULL, 'd'},
		{"dir", required_argument, NULL, 'D'},
		{"only", required_argument, NULL, 'o'},
		{"cpus", required_argument, NULL, 'c'},
		{"keep", no_argument, NULL, 'k'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bench_opts o = {.daemon = PAGEMAPD_BIN};
	const char *base = PAGEMAP_BENCH_DIR, *only = NULL, *cpus = "split";
	bool json = false, keep = false;
	uint64_t t_all = now_ns();
	int opt, failed = 0;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'q':
			o.quick = true;
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			o.daemon = optarg;
			break;
		case 'D':
			base = optarg;
			break;
		case 'o':
			only = optarg;
			break;
		case 'c':
			cpus = optarg;
			break;
		case 'k':
			keep = true;
			break;
		case 'v':
			o.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((only && check_only(only)) || place(cpus, &o))
		return 2;
	/* Every client process forked from here runs where we do. */
	pin_cpu(o.client_cpu);
	if (access(o.daemon, X_OK)) {
		say("%s: %s (use --daemon)", o.daemon, strerror(errno));
		return 2;
	}
	if (mkdir_p(base) ||
	    snprintf(o.dir, sizeof(o.dir), "%s/run.XXXXXX", base) >=
		    (int)sizeof(o.dir) ||
	    mkdtemp(o.dir) == NULL) {
		say("cannot make a folder in %s: %s", base, strerror(errno));
		return 2;
	}
	snprintf(o.tmp, sizeof(o.tmp), "/tmp/pagemap-bench.XXXXXX");
	if (mkdtemp(o.tmp) == NULL) {
		say("mkdtemp /tmp: %s", strerror(errno));
		rmdir(o.dir);
		return 2;
	}
	note(&o, "region files in %s, sockets and logs in %s", o.dir, o.tmp);
	note(&o, "cpus: clients on %d, servers on %d (-1: anywhere)",
	     o.client_cpu, o.server_cpu);
	for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
		bool want = false;
		uint64_t t0 = now_ns();

		for (int k = 0; k < runs[i].nids; k++)
			want |= selected(only, table[runs[i].ids[k]].name);
		if (!want)
			continue;
		if (runs[i].run(&o, table)) {
			say("%s: not measured", table[runs[i].ids[0]].name);
			failed++;
			continue;
		}
		for (int k = 0; k < runs[i].nids; k++) {
			const struct figure *f = &table[runs[i].ids[k]];

			if (f->reported)
				say("%-24s %.4g (no goal) in %.1f s", f->name,
				    f->value, (double)(now_ns() - t0) / 1e9);
			else
				say("%-24s %.4g (goal %s%g) in %.1f s",
				    f->name, f->value,
				    f->at_least ? ">=" : "<=", f->goal,
				    (double)(now_ns() - t0) / 1e9);
			if (f->invalid[0])
				say("%s: not ok: %s", f->name, f->invalid);
		}
	}
	print_table(json ? stderr : stdout);
	if (json)
		print_json(only);
	fflush(stdout);
	say("total %.1f s", (double)(now_ns() - t_all) / 1e9);
	if (keep) {
		say("kept %s and %s", o.dir, o.tmp);
	} else {
		tmpdir_remove(o.dir);
		tmpdir_remove(o.tmp);
	}
	return failed ? 1 : 0;
}

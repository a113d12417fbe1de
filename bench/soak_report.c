/* soak_report.c -- pagemap-soak's figures, its verdict and how it prints
 * them (text or JSON). */
#include "soak_report.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "bench.h"

#ifdef PAGEMAP_SOAK_SANITIZED
#define SOAK_SANITIZED true
#else
#define SOAK_SANITIZED false
#endif

void
soak_result_tally(struct soak_result *res, const struct soak_shared *sh,
		  unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const struct soak_slot *s = &sh->slot[i];

		for (int op = 0; op < OP_COUNT; op++) {
			res->ok[op] += s->ok[op];
			for (int e = 0; e < SOAK_ERRNOS; e++) {
				res->err[op][e] += s->err[op][e];
				res->bad[op][e] += s->bad[op][e];
			}
		}
		res->canary_checks += s->canary_checks;
		res->canary_bad += s->canary_bad;
		if (res->why[0] == '\0' && s->why[0])
			snprintf(res->why, sizeof(res->why), "client %u: %s", i,
				 s->why);
	}
}

static uint64_t
sum(const uint64_t (*v)[SOAK_ERRNOS])
{
	uint64_t n = 0;

	for (int op = 0; op < OP_COUNT; op++)
		for (int e = 0; e < SOAK_ERRNOS; e++)
			n += v[op][e];
	return n;
}

struct verdict {
	uint64_t ops, expected, unexpected;
	double minutes_after_warm;
	long long rss_growth, rss_bound;
	double drift_per_min; /* bytes per minute after warm-up */
	bool fds_ok, rss_ok, ok;
};

static void
judge(const struct soak_opts *o, const struct soak_result *res,
      struct verdict *v)
{
	memset(v, 0, sizeof(*v));
	for (int op = 0; op < OP_COUNT; op++)
		v->ops += res->ok[op];
	v->expected = sum(res->err);
	v->unexpected = sum(res->bad);
	v->ops += v->expected + v->unexpected;
	v->minutes_after_warm =
		(double)(res->t_run_ms - res->t_warm_ms) / 60000.0;
	if (v->minutes_after_warm < 1.0 / 60)
		v->minutes_after_warm = 1.0 / 60;
	v->rss_growth = res->rss_end - res->rss_warm;
	v->drift_per_min = (double)v->rss_growth / v->minutes_after_warm;
	v->rss_bound = (long long)o->rss_slack_kib * 1024 +
		       (long long)(o->rss_per_min_kib * 1024.0 *
				   v->minutes_after_warm);
	v->fds_ok = res->fd_end == res->fd_start;
	/* A sanitized daemon's RSS is ASan's quarantine of freed memory,
	 * not its own: LSan judges its leaks at its exit instead. */
	v->rss_ok = SOAK_SANITIZED || v->rss_growth <= v->rss_bound;
	v->ok = v->fds_ok && v->rss_ok && v->unexpected == 0 &&
		res->canary_bad == 0 && res->failures == 0 && !res->not_quiet &&
		res->files_left == 0;
}

/* errors -- "op ERRNO count" of @v, each with @sep before it. */
static void
errors(FILE *f, const uint64_t (*v)[SOAK_ERRNOS], bool json)
{
	bool first = true;

	for (int op = 0; op < OP_COUNT; op++) {
		for (int e = 0; e < SOAK_ERRNOS; e++) {
			if (v[op][e] == 0)
				continue;
			if (json)
				fprintf(f, "%s\"%s:%s\": %" PRIu64,
					first ? "" : ", ", soak_op_name(op),
					soak_errno_name(e), v[op][e]);
			else
				fprintf(f, "  %-10s %-10s %" PRIu64 "\n",
					soak_op_name(op), soak_errno_name(e),
					v[op][e]);
			first = false;
		}
	}
	if (first && !json)
		fprintf(f, "  none\n");
}

static void
text(FILE *f, const struct soak_opts *o, const struct soak_result *res,
     const struct verdict *v)
{
	char a[24], b[24], c[24], d[24];

	fprintf(f,
		"soak: %u clients, %.1f s, warm-up %.1f s, seed %#" PRIx64 "\n",
		o->clients, (double)res->t_run_ms / 1000,
		(double)res->t_warm_ms / 1000, o->seed);
	fprintf(f, "operations   %" PRIu64 " (%.0f/s)\n", v->ops,
		(double)v->ops * 1000 /
			(double)(res->t_run_ms ? res->t_run_ms : 1));
	for (int op = 0; op < OP_COUNT; op++)
		fprintf(f, "  %-10s %" PRIu64 "\n", soak_op_name(op),
			res->ok[op]);
	fprintf(f, "expected errors %" PRIu64 "\n", v->expected);
	errors(f, res->err, false);
	fprintf(f, "unexpected errors %" PRIu64 "\n", v->unexpected);
	errors(f, res->bad, false);
	fprintf(f,
		"canary       %" PRIu64 " pages checked, %" PRIu64
		" mismatches\n",
		res->canary_checks, res->canary_bad);
	fprintf(f, "clients      %u SIGKILLed and restarted, %u failed\n",
		res->kills, res->failures);
	fprintf(f, "daemon fds   start %d, after warm-up %d, max %d, end %d\n",
		res->fd_start, res->fd_warm, res->fd_max, res->fd_end);
	fmt_bytes(a, sizeof(a), (double)res->rss_start);
	fmt_bytes(b, sizeof(b), (double)res->rss_warm);
	fmt_bytes(c, sizeof(c), (double)res->rss_max);
	fmt_bytes(d, sizeof(d), (double)res->rss_end);
	fprintf(f, "daemon RSS   start %s, after warm-up %s, max %s, end %s\n",
		a, b, c, d);
	fmt_bytes(a, sizeof(a), v->drift_per_min);
	fmt_bytes(b, sizeof(b), (double)v->rss_growth);
	fmt_bytes(c, sizeof(c), (double)v->rss_bound);
	fprintf(f,
		"RSS drift    %s/min after warm-up (%s in %.2f min; bound "
		"%s%s)\n",
		a, b, v->minutes_after_warm, c,
		SOAK_SANITIZED ? ", not judged: a sanitized daemon" : "");
	fprintf(f, "files left   %lld\n", res->files_left);
	if (res->why[0])
		fprintf(f, "first error  %s\n", res->why);
	fprintf(f, "verdict      %s", v->ok ? "ok" : "FAILED:");
	if (!v->fds_ok)
		fprintf(f, " fd leak (%+d)", res->fd_end - res->fd_start);
	if (!v->rss_ok)
		fprintf(f, " RSS drift over the bound");
	if (v->unexpected)
		fprintf(f, " unexpected errors");
	if (res->canary_bad)
		fprintf(f, " canary mismatch");
	if (res->failures)
		fprintf(f, " client failures");
	if (res->not_quiet)
		fprintf(f, " daemon not quiet");
	if (res->files_left)
		fprintf(f, " files left");
	fprintf(f, "\n");
}

static void
json(FILE *f, const struct soak_opts *o, const struct soak_result *res,
     const struct verdict *v)
{
	fprintf(f,
		"{\n  \"clients\": %u, \"seconds\": %.1f, "
		"\"warmup_seconds\": %.1f, \"seed\": %" PRIu64 ",\n",
		o->clients, (double)res->t_run_ms / 1000,
		(double)res->t_warm_ms / 1000, o->seed);
	fprintf(f, "  \"operations\": %" PRIu64 ", \"done\": {", v->ops);
	for (int op = 0; op < OP_COUNT; op++)
		fprintf(f, "%s\"%s\": %" PRIu64, op ? ", " : "",
			soak_op_name(op), res->ok[op]);
	fprintf(f, "},\n  \"expected_errors\": {");
	errors(f, res->err, true);
	fprintf(f, "},\n  \"unexpected_errors\": {");
	errors(f, res->bad, true);
	fprintf(f,
		"},\n  \"canary_checks\": %" PRIu64
		", \"canary_mismatches\": %" PRIu64 ",\n",
		res->canary_checks, res->canary_bad);
	fprintf(f,
		"  \"kills\": %u, \"client_failures\": %u, "
		"\"files_left\": %lld, \"daemon_quiet\": %s,\n",
		res->kills, res->failures, res->files_left,
		res->not_quiet ? "false" : "true");
	fprintf(f,
		"  \"fds\": {\"start\": %d, \"warm\": %d, \"max\": %d, "
		"\"end\": %d},\n",
		res->fd_start, res->fd_warm, res->fd_max, res->fd_end);
	fprintf(f,
		"  \"rss\": {\"start\": %lld, \"warm\": %lld, \"max\": "
		"%lld, \"end\": %lld},\n",
		res->rss_start, res->rss_warm, res->rss_max, res->rss_end);
	fprintf(f, "  \"rss_drift_per_minute\": %.0f, \"rss_bound\": %lld,\n",
		v->drift_per_min, v->rss_bound);
	fprintf(f,
		"  \"rss_judged\": %s, \"fds_ok\": %s, \"rss_ok\": %s, "
		"\"ok\": %s\n}\n",
		SOAK_SANITIZED ? "false" : "true", v->fds_ok ? "true" : "false",
		v->rss_ok ? "true" : "false", v->ok ? "true" : "false");
}

int
soak_report(const struct soak_opts *o, const struct soak_result *res)
{
	struct verdict v;

	judge(o, res, &v);
	text(o->json ? stderr : stdout, o, res, &v);
	if (o->json)
		json(stdout, o, res, &v);
	fflush(stdout);
	return v.ok ? 0 : -1;
}

/* util.c -- samples and messages of pagemap-bench. */
#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		say("cannot run on cpu %d: %s", cpu, strerror(errno));
}

/* vsay -- one line on stderr, named as the program's (pagemap-bench or
 * pagemap-soak). */
static void __attribute__((format(printf, 1, 0)))
vsay(const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: ", program_invocation_short_name);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void
note(const struct bench_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (!o->verbose)
		return;
	va_start(ap, fmt);
	vsay(fmt, ap);
	va_end(ap);
}

void
fmt_time(char *buf, size_t len, double ns)
{
	static const struct {
		double scale;
		const char *unit;
	} u[] = {{1e9, "s"}, {1e6, "ms"}, {1e3, "us"}, {1, "ns"}};

	if (isnan(ns)) {
		snprintf(buf, len, "-");
		return;
	}
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		if (ns >= u[i].scale || i + 1 == sizeof(u) / sizeof(u[0])) {
			snprintf(buf, len, "%.3g%s", ns / u[i].scale,
				 u[i].unit);
			return;
		}
	}
}

void
fmt_rate(char *buf, size_t len, double per_s)
{
	if (isnan(per_s))
		snprintf(buf, len, "-");
	else if (per_s >= 1e6)
		snprintf(buf, len, "%.3gM/s", per_s / 1e6);
	else if (per_s >= 1e3)
		snprintf(buf, len, "%.3gk/s", per_s / 1e3);
	else
		snprintf(buf, len, "%.3g/s", per_s);
}

void
fmt_bytes(char *buf, size_t len, double bytes)
{
	static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	size_t i = 0;
	double v = bytes < 0 ? -bytes : bytes;

	while (v >= 1024 && i + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, "%s%.3g%s", bytes < 0 ? "-" : "", v, unit[i]);
}

int
samples_init(struct samples *s, size_t cap)
{
	s->n = 0;
	s->sorted = false;
	s->cap = cap ? cap : 16;
	s->v = malloc(s->cap * sizeof(*s->v));
	return s->v ? 0 : -ENOMEM;
}

int
samples_add(struct samples *s, double v)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		double *nv = realloc(s->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] = v;
	s->sorted = false;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double
samples_quantile(struct samples *s, double q)
{
	size_t rank;

	if (s->n == 0)
		return NAN;
	if (!s->sorted) {
		qsort(s->v, s->n, sizeof(*s->v), cmp_double);
		s->sorted = true;
	}
	/* Nearest rank: the smallest sample with at least q of them at or
	 * below it. */
	rank = (size_t)ceil(q * (double)s->n);
	if (rank == 0)
		rank = 1;
	return s->v[rank - 1];
}

double
samples_median(struct samples *s)
{
	return samples_quantile(s, 0.5);
}

void
samples_fini(struct samples *s)
{
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

void
figure_times(struct figure *f, struct samples *s, struct samples *base)
{
	fmt_time(f->median, sizeof(f->median), samples_median(s));
	fmt_time(f->p99, sizeof(f->p99), samples_quantile(s, 0.99));
	if (base)
		fmt_time(f->baseline, sizeof(f->baseline),
			 samples_median(base));
}

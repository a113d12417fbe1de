/* fig_grant.c -- grant_rtt_ratio and per_folio_ns: what one Map request
 * costs against a raw round trip, and what each further folio in it
 * costs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "baseline.h"
#include "bench.h"
#include "client.h"
#include "daemon.h"

/* grant_one -- @n times: grant the folio at 0 of @l (timed into @s, NULL:
 * untimed) and return it (untimed). */
static int
grant_one(struct pagemap_lease *l, size_t n, struct samples *s)
{
	struct pagemap_folio f;

	for (size_t i = 0; i < n; i++) {
		uint64_t t0 = now_ns(), t1, next;
		size_t got;
		int err = pagemap_grant(l, 0, PAGE, PAGEMAP_READ, &f, 1, &got,
					&next);

		t1 = now_ns();
		if (err || got != 1) {
			say("grant one folio: %s", pagemap_strerror(err));
			return -1;
		}
		if (s && samples_add(s, (double)(t1 - t0)))
			return -1;
		err = pagemap_return(l, 0, PAGE, NULL);
		if (err) {
			say("return one folio: %s", pagemap_strerror(err));
			return -1;
		}
	}
	return 0;
}

int
fig_grant_rtt(const struct bench_opts *o, struct figure *tab)
{
	struct figure *f = &tab[FIG_GRANT_RTT];
	size_t iters = o->quick ? 400 : 30000, warm = o->quick ? 50 : 3000;
	struct samples g = {0}, p = {0};
	struct pingpong pp = {.pid = 0, .fd = -1};
	struct pagemap_lease *l = NULL;
	struct rig r;
	int rc = -1;

	if (rig_start(&r, o, o->dir, "grant", 64 * MIB, -1, 0))
		return -1;
	if (client_create(r.pm, "grant", "f", 2 * MIB) ||
	    client_lease(r.pm, "grant", "f", PAGEMAP_READ, &l) ||
	    samples_init(&g, iters) || samples_init(&p, iters) ||
	    pingpong_open(&pp, o->server_cpu))
		goto out;
	if (grant_one(l, warm, NULL) || pingpong_run(&pp, warm, NULL))
		goto out;
	/* Alternating blocks share out whatever the machine does
	 * meanwhile between the two. */
	for (int b = 0; b < BLOCKS; b++)
		if (grant_one(l, iters / BLOCKS, &g) ||
		    pingpong_run(&pp, iters / BLOCKS, &p))
			goto out;
	f->value = samples_median(&g) / samples_median(&p);
	figure_times(f, &g, &p);
	note(o, "grant_rtt: ping-pong p99 %.0f ns", samples_quantile(&p, 0.99));
	f->done = true;
	rc = 0;
out:
	pingpong_close(&pp);
	if (l)
		pagemap_lease_release(l);
	samples_fini(&g);
	samples_fini(&p);
	if (rig_stop(&r, false))
		rc = -1;
	return rc;
}

int
fig_per_folio(const struct bench_opts *o, struct figure *tab)
{
	struct figure *f = &tab[FIG_PER_FOLIO];
	uint64_t size = o->quick ? 32 * MIB : GIB, folios = 0;
	size_t reps = o->quick ? 3 : 9, ones = o->quick ? 300 : 5000;
	struct samples big = {0}, one = {0};
	struct pagemap_lease *l = NULL;
	struct pagemap_folio *buf = NULL;
	size_t max;
	struct rig r;
	int rc = -1;

	if (rig_start(&r, o, o->dir, "folio", region_size_for(size, 64), 0, 64))
		return -1;
	max = pagemap_get_limits(r.pm)->max_folios_per_reply;
	if (max == 0)
		max = 8192;
	buf = calloc(max, sizeof(*buf));
	if (buf == NULL || client_create(r.pm, "folio", "big", size) ||
	    client_lease(r.pm, "folio", "big", PAGEMAP_READ, &l) ||
	    samples_init(&big, reps) || samples_init(&one, ones))
		goto out;
	if (grant_one(l, ones / 10, NULL) || grant_one(l, ones, &one))
		goto out;
	/* One untimed pass first: warm caches and allocator pools. */
	for (size_t i = 0; i <= reps; i++) {
		uint64_t t0 = now_ns(), t1, returned = 0;
		int err;

		if (client_grant_range(l, 0, size, buf, max, &folios, NULL))
			goto out;
		t1 = now_ns();
		if (i && samples_add(&big, (double)(t1 - t0)))
			goto out;
		err = pagemap_return(l, 0, size, &returned);
		if (err || returned != folios) {
			say("return %llu folios: %s (%llu returned)",
			    (unsigned long long)folios, pagemap_strerror(err),
			    (unsigned long long)returned);
			goto out;
		}
	}
	if (folios != size / PAGE) {
		say("%llu bytes at order 0 came as %llu folios",
		    (unsigned long long)size, (unsigned long long)folios);
		goto out;
	}
	f->value =
		(samples_median(&big) - samples_median(&one)) / (double)folios;
	figure_times(f, &big, &one);
	note(o, "per_folio: %llu folios in %zu-folio replies",
	     (unsigned long long)folios, max);
	f->done = true;
	rc = 0;
out:
	if (l)
		pagemap_lease_release(l);
	free(buf);
	samples_fini(&big);
	samples_fini(&one);
	if (rig_stop(&r, false))
		rc = -1;
	return rc;
}

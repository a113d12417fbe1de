/* fig_map.c -- map_vs_kernel_ratio: map 2 MiB through pagemapd, touch
 * every page, unmap and return, against open + mmap + the same writes +
 * munmap + close of a plain file on the same filesystem. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "baseline.h"
#include "bench.h"
#include "client.h"
#include "daemon.h"

#define MAP_LEN (2 * MIB)

/* The three parts of a timed map_run iteration, for --verbose. */
struct split {
	struct samples map, touch, unmap;
};

/* map_run -- @n times: map 2 MiB of @l for writing, write a byte a page,
 * unmap (which returns the grants, without waiting for the answer); each
 * timed into @s and its parts into @sp (NULL, NULL: untimed). */
static int
map_run(struct pagemap *conn, struct pagemap_lease *l, size_t n,
	struct samples *s, struct split *sp)
{
	for (size_t i = 0; i < n; i++) {
		struct pagemap_mapping *m;
		volatile char *p;
		uint64_t t0 = now_ns(), t1, t2, t3;
		int err = pagemap_map(l, 0, MAP_LEN, PAGEMAP_WRITE, &m);

		if (err) {
			say("map 2 MiB: %s", pagemap_strerror(err));
			return -1;
		}
		t1 = now_ns();
		p = pagemap_mapping_addr(m);
		for (size_t off = 0; off < MAP_LEN; off += PAGE)
			p[off] = (char)(i + off / PAGE);
		t2 = now_ns();
		/* The return is pipelined: its answer is read by the next
		 * map (or the flush below), as an application that does not
		 * need it would do. */
		err = pagemap_unmap_nowait(m);
		if (err) {
			say("unmap 2 MiB: %s", pagemap_strerror(err));
			return -1;
		}
		t3 = now_ns();
		if (s && samples_add(s, (double)(t3 - t0)))
			return -1;
		if (sp && (samples_add(&sp->map, (double)(t1 - t0)) ||
			   samples_add(&sp->touch, (double)(t2 - t1)) ||
			   samples_add(&sp->unmap, (double)(t3 - t2))))
			return -1;
	}
	int err = pagemap_flush(conn);

	if (err) {
		say("returns: %s", pagemap_strerror(err));
		return -1;
	}
	return 0;
}

/* minflt -- minor page faults of this process so far. */
static long
minflt(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

int
fig_map_vs_kernel(const struct bench_opts *o, struct figure *tab)
{
	struct figure *f = &tab[FIG_MAP_VS_KERNEL];
	size_t iters = o->quick ? 100 : 5000, warm = o->quick ? 10 : 200;
	struct samples pm = {0}, k = {0}, fl = {0};
	struct pingpong pp = {.pid = 0, .fd = -1};
	struct split sp = {{0}, {0}, {0}};
	struct pagemap_lease *l = NULL;
	long pm_flt = 0, k_flt = 0, f0;
	char path[PATH_MAX];
	struct rig r;
	int rc = -1;

	if (baseline_rig_start(o, "map", path, &pp, &r))
		return -1;
	if (client_create(r.pm, "map", "f", MAP_LEN) ||
	    client_lease(r.pm, "map", "f", PAGEMAP_WRITE, &l) ||
	    samples_init(&pm, iters) || samples_init(&k, iters) ||
	    samples_init(&fl, iters) ||
	    samples_init(&sp.map, iters) || samples_init(&sp.touch, iters) ||
	    samples_init(&sp.unmap, iters))
		goto out;
	if (map_run(r.pm, l, warm, NULL, NULL) ||
	    kernel_map_run(path, warm, NULL) ||
	    floor_map_run(&pp, path, warm, true, NULL))
		goto out;
	for (int b = 0; b < BLOCKS; b++) {
		f0 = minflt();
		if (map_run(r.pm, l, iters / BLOCKS, &pm, &sp))
			goto out;
		pm_flt += minflt() - f0;
		f0 = minflt();
		if (kernel_map_run(path, iters / BLOCKS, &k))
			goto out;
		k_flt += minflt() - f0;
		if (floor_map_run(&pp, path, iters / BLOCKS, true, &fl))
			goto out;
	}
	f->value = samples_median(&pm) / samples_median(&k);
	figure_times(f, &pm, &k);
	note(o,
	     "map_vs_kernel: kernel p99 %.0f ns; page faults per 2 MiB: "
	     "pagemap %.1f, kernel %.1f",
	     samples_quantile(&k, 0.99), (double)pm_flt / (double)pm.n,
	     (double)k_flt / (double)k.n);
	note(o,
	     "map_vs_kernel: pagemap medians: map %.0f ns, writes %.0f ns, "
	     "unmap %.0f ns",
	     samples_median(&sp.map), samples_median(&sp.touch),
	     samples_median(&sp.unmap));
	note(o,
	     "map_vs_kernel: the same calls with a raw echo in the daemon's "
	     "place: %.0f ns, ratio %.2f (one blocking round trip per map "
	     "costs at least this)",
	     samples_median(&fl), samples_median(&fl) / samples_median(&k));
	f->done = true;
	rc = 0;
out:
	if (l)
		pagemap_lease_release(l);
	samples_fini(&pm);
	samples_fini(&k);
	samples_fini(&fl);
	pingpong_close(&pp);
	samples_fini(&sp.map);
	samples_fini(&sp.touch);
	samples_fini(&sp.unmap);
	unlink(path);
	if (rig_stop(&r, false))
		rc = -1;
	return rc;
}

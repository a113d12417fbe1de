/* fig_cache_map.c -- warm_map_vs_kernel_ratio and cold_map_floor_ratio:
 * the map + write 2 MiB + unmap cycle of a range whose grants are cached
 * under a held lease, against the kernel's mmap + writes + munmap of an
 * open file; and the same cycle when nothing is cached (a fresh lease),
 * against the raw-echo floor of one round trip and the same calls. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "baseline.h"
#include "bench.h"
#include "client.h"
#include "daemon.h"

#define MAP_LEN (2 * MIB)
/* Every this many timed cycles (and the first of each block), the next
 * one is followed, untimed, by a look at /proc/self/maps. */
#define CHECK_EVERY 64

/* The gone-check's counts, for --verbose and the figure's verdict. */
struct gone {
	const char *region; /* the region file's path */
	size_t checked, failed;
	char first[160]; /* what the first failure found */
};

/* range_gone -- is nothing of [@addr, @addr + @len) still mapped with
 * access, or mapped from the region file? An unmapped range may keep an
 * inaccessible anonymous placeholder (libpagemap's kept reservation).
 * 1 when gone, 0 when not (the line in @g->first), -1 on error. */
static int
range_gone(struct gone *g, uintptr_t addr, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[PATH_MAX + 128];
	int gone = 1;

	if (f == NULL) {
		say("/proc/self/maps: %s", strerror(errno));
		return -1;
	}
	while (gone == 1 && fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		char perms[8];
		int path_at = 0;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %*s %*s %*s %n",
			   &lo, &hi, perms, &path_at) < 3)
			continue;
		if (hi <= addr || lo >= addr + len)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(perms, "---", 3) != 0 ||
		    (path_at > 0 && strstr(line + path_at, g->region))) {
			snprintf(g->first, sizeof(g->first), "%s", line);
			gone = 0;
		}
	}
	fclose(f);
	return gone;
}

/* cycle -- map 2 MiB of @l for writing, write a byte a page, unmap; the
 * whole timed into @s (NULL: untimed). With @g, the range is then looked
 * up in /proc/self/maps, untimed. 0 or -1. */
static int
cycle(struct pagemap_lease *l, size_t i, struct samples *s, struct gone *g)
{
	struct pagemap_mapping *m;
	volatile char *p;
	uintptr_t addr;
	size_t len;
	uint64_t t0 = now_ns();
	int err = pagemap_map(l, 0, MAP_LEN, PAGEMAP_WRITE, &m);

	if (err) {
		say("map 2 MiB: %s", pagemap_strerror(err));
		return -1;
	}
	p = pagemap_mapping_addr(m);
	len = pagemap_mapping_length(m);
	addr = (uintptr_t)p;
	for (size_t off = 0; off < MAP_LEN; off += PAGE)
		p[off] = (char)(i + off / PAGE);
	/* The plain unmap, not the pipelined one: a cached unmap must not
	 * need the daemon, and a round trip left in it shows here. */
	err = pagemap_unmap(m);
	if (err) {
		say("unmap 2 MiB: %s", pagemap_strerror(err));
		return -1;
	}
	if (s && samples_add(s, (double)(now_ns() - t0)))
		return -1;
	if (g) {
		int gone = range_gone(g, addr, len);

		if (gone < 0)
			return -1;
		g->checked++;
		g->failed += gone == 0;
	}
	return 0;
}

/* gone_verdict -- mark @f not ok when an unmap left its range mapped. */
static void
gone_verdict(const struct bench_opts *o, struct figure *f, const struct gone *g)
{
	note(o,
	     "%s: /proc/self/maps checked after %zu unmaps, %zu still "
	     "mapped",
	     f->name, g->checked, g->failed);
	if (g->failed)
		snprintf(f->invalid, sizeof(f->invalid),
			 "%zu of %zu unmapped ranges were still mapped: %s",
			 g->failed, g->checked, g->first);
}

int
fig_warm_map(const struct bench_opts *o, struct figure *tab)
{
	struct figure *f = &tab[FIG_WARM_MAP];
	size_t iters = o->quick ? 100 : 5000, warm = o->quick ? 10 : 200;
	struct samples pm = {0}, k = {0};
	struct pagemap_lease *l = NULL;
	struct gone g = {0};
	char path[PATH_MAX];
	uint64_t cached = 0;
	size_t it = 0;
	int fd = -1, rc = -1;
	struct rig r;

	snprintf(path, sizeof(path), "%s/kernel-baseline.dat", o->dir);
	if (kernel_file_make(path))
		return -1;
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		say("open %s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	if (rig_start(&r, o, o->dir, "warm", 64 * MIB, -1, 0)) {
		close(fd);
		unlink(path);
		return -1;
	}
	g.region = r.path;
	if (client_create(r.pm, "warm", "f", MAP_LEN) ||
	    client_lease(r.pm, "warm", "f", PAGEMAP_WRITE, &l) ||
	    samples_init(&pm, iters) || samples_init(&k, iters))
		goto out;
	/* The first map takes the grants; after its unmap they stay cached
	 * under the lease, which is what the figure is about. */
	for (size_t i = 0; i < warm; i++)
		if (cycle(l, it++, NULL, &g))
			goto out;
	if (kernel_mmap_run(fd, warm, NULL) ||
	    client_lease_grants(r.pm, "warm", "f", pagemap_lease_id(l),
				&cached))
		goto out;
	note(o,
	     "warm_map: the lease holds %" PRIu64 " grants after its "
	     "unmaps (cached)",
	     cached);
	if (cached == 0)
		snprintf(f->invalid, sizeof(f->invalid),
			 "the lease held no grant after unmap: nothing was "
			 "cached, every map asked the daemon");
	for (int b = 0; b < BLOCKS; b++) {
		for (size_t i = 0; i < iters / BLOCKS; i++, it++)
			if (cycle(l, it, &pm, i % CHECK_EVERY == 0 ? &g : NULL))
				goto out;
		if (kernel_mmap_run(fd, iters / BLOCKS, &k))
			goto out;
	}
	gone_verdict(o, f, &g);
	f->value = samples_median(&pm) / samples_median(&k);
	figure_times(f, &pm, &k);
	note(o, "warm_map: kernel p99 %.0f ns", samples_quantile(&k, 0.99));
	f->done = true;
	rc = 0;
out:
	if (l)
		pagemap_lease_release(l);
	samples_fini(&pm);
	samples_fini(&k);
	close(fd);
	unlink(path);
	if (rig_stop(&r, false))
		rc = -1;
	return rc;
}

int
fig_cold_map(const struct bench_opts *o, struct figure *tab)
{
	struct figure *f = &tab[FIG_COLD_MAP];
	size_t iters = o->quick ? 100 : 3000, warm = o->quick ? 10 : 100;
	struct pingpong pp = {.pid = 0, .fd = -1};
	struct samples pm = {0}, fl = {0};
	struct gone g = {0};
	char path[PATH_MAX];
	size_t it = 0;
	int rc = -1;
	struct rig r;

	if (baseline_rig_start(o, "cold", path, &pp, &r))
		return -1;
	g.region = r.path;
	if (client_create(r.pm, "cold", "f", MAP_LEN) ||
	    samples_init(&pm, iters) || samples_init(&fl, iters))
		goto out;
	for (int b = -1; b < BLOCKS; b++) {
		size_t n = b < 0 ? warm : iters / BLOCKS;

		for (size_t i = 0; i < n; i++, it++) {
			struct pagemap_lease *l;
			int err, rel;

			/* A fresh lease has nothing cached: its map asks
			 * the daemon. Releasing it returns what the last
			 * cycle left cached. Both untimed. */
			if (client_lease(r.pm, "cold", "f", PAGEMAP_WRITE, &l))
				goto out;
			err = cycle(l, it, b < 0 ? NULL : &pm,
				    i % CHECK_EVERY == 0 ? &g : NULL);
			rel = pagemap_lease_release(l);
			if (rel)
				say("release: %s", pagemap_strerror(rel));
			if (err || rel)
				goto out;
		}
		if (floor_map_run(&pp, path, n, false, b < 0 ? NULL : &fl))
			goto out;
	}
	gone_verdict(o, f, &g);
	f->value = samples_median(&pm) / samples_median(&fl);
	figure_times(f, &pm, &fl);
	note(o, "cold_map: floor p99 %.0f ns", samples_quantile(&fl, 0.99));
	f->done = true;
	rc = 0;
out:
	samples_fini(&pm);
	samples_fini(&fl);
	pingpong_close(&pp);
	unlink(path);
	if (rig_stop(&r, false))
		rc = -1;
	return rc;
}

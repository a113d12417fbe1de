/* fig_files.c -- the figures about files: creates_per_s (8 concurrent
 * creators on a plain-file region), attach_s (start of a daemon over a
 * region of 100,000 files) and huge_folio_share (how much of the 2 MiB
 * multiples survives create/delete churn as 2 MiB folios). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "client.h"
#include "daemon.h"
#include "proc.h"

#define CREATORS 8u
#define HUGE_ORDER 9 /* 2 MiB folios */

/* ---- concurrent creators ---------------------------------------------- */

struct creator_result {
	uint64_t t0, t1; /* when this creator started and stopped */
	uint32_t made;
	int32_t err;
};

struct creators {
	const char *socket, *region, *prefix;
	unsigned count;	    /* files per creator */
	uint64_t size;	    /* bytes per file */
	uint64_t budget_ns; /* a creator stops after this long */
	struct gate gate;
	struct creator_result *res; /* shared: CREATORS entries */
	double *lat;		    /* shared: CREATORS * count */
	unsigned me;
};

static int
creator_main(void *arg)
{
	struct creators *c = arg;
	struct creator_result *res = &c->res[c->me];
	struct pagemap *pm;
	uint64_t deadline;

	if (pagemap_connect(c->socket, "creator", &pm)) {
		res->err = ECONNREFUSED;
		return 1;
	}
	if (gate_child_ready(&c->gate)) {
		pagemap_close(pm);
		return 1;
	}
	res->t0 = now_ns();
	deadline = res->t0 + c->budget_ns;
	for (unsigned k = 0; k < c->count; k++) {
		char name[64];
		uint64_t t = now_ns();
		int err;

		if (t > deadline)
			break;
		snprintf(name, sizeof(name), "%s%u-%u", c->prefix, c->me, k);
		err = client_create(pm, c->region, name, c->size);
		if (err) {
			res->err = -err;
			break;
		}
		c->lat[(size_t)c->me * c->count + k] = (double)(now_ns() - t);
		res->made++;
	}
	res->t1 = now_ns();
	pagemap_close(pm);
	return res->err ? 1 : 0;
}

/* run_creators -- CREATORS processes create @c->count files each at once;
 * *ret_made files were made in *ret_wall_ns (first start to last stop),
 * their latencies go to @lat (may be NULL). The caller must hold no
 * connection of its own (children would inherit it). 0 or -1. */
static int
run_creators(struct creators *c, struct samples *lat, uint64_t *ret_made,
	     uint64_t *ret_wall_ns)
{
	size_t rlen = CREATORS * sizeof(*c->res);
	size_t llen = (size_t)CREATORS * c->count * sizeof(*c->lat);
	pid_t pid[CREATORS];
	uint64_t t0 = UINT64_MAX, t1 = 0, made = 0;
	unsigned spawned = 0;
	int rc = -1;

	c->res = proc_shared(rlen);
	c->lat = proc_shared(llen);
	if (c->res == NULL || c->lat == NULL || gate_init(&c->gate))
		goto out_shared;
	for (; spawned < CREATORS; spawned++) {
		c->me = spawned;
		pid[spawned] = proc_spawn(creator_main, c);
		if (pid[spawned] < 0)
			break;
	}
	if (spawned == CREATORS &&
	    gate_wait_ready(&c->gate, CREATORS, 60000) == 0)
		rc = 0;
	gate_open(&c->gate);
	for (unsigned i = 0; i < spawned; i++)
		if (proc_wait(pid[i], "creator"))
			rc = -1;
	for (unsigned i = 0; rc == 0 && i < CREATORS; i++) {
		const struct creator_result *r = &c->res[i];

		t0 = r->t0 < t0 ? r->t0 : t0;
		t1 = r->t1 > t1 ? r->t1 : t1;
		made += r->made;
		for (unsigned k = 0; lat && k < r->made; k++)
			if (samples_add(lat, c->lat[(size_t)i * c->count + k]))
				rc = -1;
	}
	if (rc == 0) {
		*ret_made = made;
		*ret_wall_ns = t1 - t0;
	}
	gate_fini(&c->gate);
out_shared:
	proc_unshare(c->res, rlen);
	proc_unshare(c->lat, llen);
	return rc;
}

/* ---- creates_per_s ---------------------------------------------------- */

int
fig_creates(const struct bench_opts *o, struct figure *tab)
{
	struct figure *f = &tab[FIG_CREATES];
	unsigned count = o->quick ? 25 : 2000, warm = o->quick ? 5 : 50;
	uint64_t files = (uint64_t)CREATORS * count + warm, made, wall;
	struct creators c = {
		.region = "create",
		.prefix = "c",
		.count = count,
		.size = PAGE,
		.budget_ns = (o->quick ? 60 : 120) * 1000000000ull,
	};
	struct samples lat = {0};
	struct rig r;
	int rc = -1;

	if (rig_start(&r, o, o->dir, "create",
		      region_size_for(files * PAGE, files + 64), -1,
		      (unsigned)files + 64))
		return -1;
	if (client_create_n(r.pm, "create", "w%u", warm, PAGE))
		goto out;
	pagemap_close(r.pm);
	r.pm = NULL;
	c.socket = r.d.socket;
	if (samples_init(&lat, (size_t)CREATORS * count) ||
	    run_creators(&c, &lat, &made, &wall))
		goto out;
	if (made < (uint64_t)CREATORS * count)
		say("creates: time budget spent after %llu of %llu files",
		    (unsigned long long)made,
		    (unsigned long long)CREATORS * count);
	f->value = (double)made / ((double)wall / 1e9);
	figure_times(f, &lat, NULL);
	note(o, "creates: %llu files in %.3f s", (unsigned long long)made,
	     (double)wall / 1e9);
	f->done = true;
	rc = 0;
out:
	samples_fini(&lat);
	if (rig_stop(&r, false))
		rc = -1;
	return rc;
}

/* ---- attach_s --------------------------------------------------------- */

/* copy_sparse -- copy @from to @to, holes kept as holes, and make it
 * durable. 0 or -1. */
static int
copy_sparse(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char *buf = malloc(MIB);
	struct stat st;
	off_t off = 0;
	int rc = -1;

	if (in < 0 || out < 0 || buf == NULL || fstat(in, &st) ||
	    ftruncate(out, st.st_size))
		goto out;
	while (off < st.st_size) {
		off_t data = lseek(in, off, SEEK_DATA), hole;

		if (data < 0)
			break; /* ENXIO: only a hole is left */
		hole = lseek(in, data, SEEK_HOLE);
		if (hole < 0)
			goto out;
		for (off = data; off < hole;) {
			size_t n = hole - off < (off_t)MIB
					   ? (size_t)(hole - off)
					   : MIB;
			ssize_t got = pread(in, buf, n, off);

			if (got <= 0 ||
			    pwrite(out, buf, (size_t)got, off) != got)
				goto out;
			off += got;
		}
	}
	if (fsync(out))
		goto out;
	rc = 0;
out:
	if (rc)
		say("copy %s to %s: %s", from, to, strerror(errno));
	free(buf);
	if (in >= 0)
		close(in);
	if (out >= 0)
		close(out);
	return rc;
}

/* drop_cache -- push @path out of the page cache (it is clean after the
 * fsync), so that the next attach reads it from the disk. */
static void
drop_cache(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	close(fd);
}

/* build_region -- @path: a region of @files 4 KiB files made by
 * CREATORS concurrent clients, built in @dir. 0 or -1. */
static int
build_region(const struct bench_opts *o, const char *dir, unsigned files,
	     unsigned inodes, uint64_t *ret_wall)
{
	struct creators c = {
		.region = "attach",
		.prefix = "a",
		.count = files / CREATORS,
		.size = PAGE,
		.budget_ns = 600 * 1000000000ull,
	};
	uint64_t made = 0;
	struct rig r;
	int rc;

	if (rig_start(&r, o, dir, "attach",
		      region_size_for((uint64_t)files * PAGE, inodes), -1,
		      inodes))
		return -1;
	pagemap_close(r.pm);
	r.pm = NULL;
	c.socket = r.d.socket;
	rc = run_creators(&c, NULL, &made, ret_wall);
	if (rc == 0 && made != (uint64_t)c.count * CREATORS) {
		say("attach: made %llu of %u files", (unsigned long long)made,
		    files);
		rc = -1;
	}
	if (rig_stop(&r, rc == 0) || rc) {
		region_unlink(r.path);
		return -1;
	}
	return 0;
}

/* attach_once -- start a daemon over @spec (timed into @s) and, when
 * @files is not 0, check that the region holds that many. */
/* region_info -- pagemap_region_info() into @ret (numbers only: the
 * strings are freed). */
static int
region_info(struct pagemap *pm, const char *region,
	    struct pagemap_region_info *ret)
{
	struct pagemap_region_info *r;
	int err = pagemap_region_info(pm, region, &r);

	if (!err) {
		*ret = *r;
		pagemap_free(r);
	}
	return err;
}

static int
attach_once(const struct bench_opts *o, const char *spec, unsigned files,
	    struct samples *s)
{
	const char *args[] = {"--region", spec, NULL};
	struct pagemap_region_info info;
	struct pagemap *pm = NULL;
	struct daemon d;
	uint64_t ns;
	int rc = -1, err;

	daemon_init(&d, o, "attach", args);
	if (daemon_start(&d, o, &ns))
		return -1;
	if (samples_add(s, (double)ns))
		goto out;
	if (files) {
		if (daemon_connect(&d, "pagemap-bench", &pm))
			goto out;
		err = region_info(pm, "attach", &info);
		if (err || info.files != files) {
			say("attach: region holds %u files, not %u (%s)",
			    err ? 0 : info.files, files, pagemap_strerror(err));
			goto out;
		}
	}
	rc = 0;
out:
	pagemap_close(pm);
	if (daemon_stop(&d))
		rc = -1;
	return rc;
}

int
fig_attach(const struct bench_opts *o, struct figure *tab)
{
	struct figure *f = &tab[FIG_ATTACH];
	unsigned files = o->quick ? 1000 : 100000;
	unsigned inodes = files + files / 5, reps = o->quick ? 2 : 5;
	char shm[] = "/dev/shm/pagemap-bench.XXXXXX";
	char path[PATH_MAX], spec[PATH_MAX + 16];
	const char *build = o->dir;
	struct samples cold = {0}, warm = {0};
	uint64_t wall;
	int rc = -1;

	/* Building costs a persist per create: on tmpfs that is cheap, and
	 * what is measured is the attach, from the file on o->dir. */
	if (mkdtemp(shm))
		build = shm;
	snprintf(path, sizeof(path), "%s/attach.pmem", o->dir);
	snprintf(spec, sizeof(spec), "attach=%s", path);
	if (build_region(o, build, files, inodes, &wall))
		goto out;
	note(o, "attach: %u files made in %.1f s in %s", files,
	     (double)wall / 1e9, build);
	if (build != o->dir) {
		char from[PATH_MAX], mfrom[PATH_MAX + 8], mpath[PATH_MAX + 8];

		snprintf(from, sizeof(from), "%s/attach.pmem", build);
		snprintf(mfrom, sizeof(mfrom), "%s.meta", from);
		snprintf(mpath, sizeof(mpath), "%s.meta", path);
		/* The data file loses its pairing xattr in the copy: the
		 * first attach sets it again. */
		rc = copy_sparse(from, path);
		if (!rc)
			rc = copy_sparse(mfrom, mpath);
		region_unlink(from);
		if (rc)
			goto out;
		rc = -1;
	}
	if (samples_init(&cold, reps) || samples_init(&warm, reps))
		goto out;
	for (unsigned i = 0; i < reps; i++) {
		char mpath[PATH_MAX + 8];

		snprintf(mpath, sizeof(mpath), "%s.meta", path);
		drop_cache(path);
		drop_cache(mpath);
		if (attach_once(o, spec, i == 0 ? files : 0, &cold) ||
		    attach_once(o, spec, 0, &warm))
			goto out;
	}
	/* The figure is a restart: the daemon stopped, the file still in
	 * the page cache. The cold attach is shown with --verbose. */
	f->value = samples_median(&warm) / 1e9;
	figure_times(f, &warm, NULL);
	note(o, "attach: cold median %.3f s, warm median %.3f s",
	     samples_median(&cold) / 1e9, samples_median(&warm) / 1e9);
	f->done = true;
	rc = 0;
out:
	samples_fini(&cold);
	samples_fini(&warm);
	region_unlink(path);
	if (build != o->dir)
		rmdir(shm);
	return rc;
}

/* ---- huge_folio_share ------------------------------------------------- */

struct hfile {
	char name[16];
	uint64_t size;
	uint64_t alloc;
	bool big;
};

struct churn {
	struct pagemap *pm;
	struct hfile *v;
	size_t n, cap;
	uint64_t used;	/* bytes allocated to live files */
	uint64_t rng;	/* xorshift64 state */
	unsigned next;	/* name counter */
	unsigned nospc; /* creates that found no room */
};

static uint64_t
rnd(struct churn *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

static int
churn_remove(struct churn *c)
{
	size_t i;
	int err;

	if (c->n == 0)
		return 0;
	i = rnd(c) % c->n;
	err = pagemap_file_remove(c->pm, "huge", c->v[i].name);
	if (err) {
		say("remove huge/%s: %s", c->v[i].name, pagemap_strerror(err));
		return -1;
	}
	c->used -= c->v[i].alloc;
	c->v[i] = c->v[--c->n];
	return 0;
}

/* churn_create -- a file of 1-8 x 2 MiB or, as often, a small one of 1-64
 * pages. Running out of room is not an error: a file is removed. */
static int
churn_create(struct churn *c)
{
	struct pagemap_file_info *fi = NULL;
	struct hfile h = {.big = rnd(c) % 2 == 0};
	int err;

	h.size = h.big ? (1 + rnd(c) % 8) * 2 * MIB : (1 + rnd(c) % 64) * PAGE;
	snprintf(h.name, sizeof(h.name), "%c%u", h.big ? 'b' : 's', c->next++);
	err = pagemap_file_create(c->pm, "huge", h.name, h.size, 0644, &fi);
	if (err == -ENOSPC) {
		c->nospc++;
		return churn_remove(c);
	}
	if (err) {
		say("create huge/%s: %s (%s)", h.name, pagemap_strerror(err),
		    pagemap_last_message(c->pm));
		return -1;
	}
	h.alloc = fi->allocated;
	pagemap_free(fi);
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct hfile *v = realloc(c->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n++] = h;
	c->used += h.alloc;
	return 0;
}

/* grant_big -- grant every 2 MiB-multiple file whole; add the bytes per
 * folio order into @order_bytes. */
static int
grant_big(struct churn *c, uint64_t *order_bytes)
{
	size_t max = pagemap_get_limits(c->pm)->max_folios_per_reply;
	struct pagemap_folio *buf;
	int rc = 0;

	if (max == 0)
		max = 8192;
	buf = calloc(max, sizeof(*buf));
	if (buf == NULL)
		return -1;
	for (size_t i = 0; rc == 0 && i < c->n; i++) {
		struct pagemap_lease *l;
		uint64_t folios, returned;

		if (!c->v[i].big)
			continue;
		if (client_lease(c->pm, "huge", c->v[i].name, PAGEMAP_READ,
				 &l)) {
			rc = -1;
			break;
		}
		rc = client_grant_range(l, 0, c->v[i].size, buf, max, &folios,
					order_bytes);
		if (rc == 0 && (pagemap_return(l, 0, c->v[i].size, &returned) ||
				returned != folios)) {
			say("return of huge/%s failed", c->v[i].name);
			rc = -1;
		}
		if (pagemap_lease_release(l))
			rc = -1;
	}
	free(buf);
	return rc;
}

int
fig_huge_share(const struct bench_opts *o, struct figure *tab)
{
	struct figure *f = &tab[FIG_HUGE_SHARE];
	uint64_t size = o->quick ? 128 * MIB : 2 * GIB, target, total = 0;
	unsigned rounds = o->quick ? 40 : 400, steps = 0;
	uint64_t order_bytes[ORDERS] = {0};
	struct pagemap_region_info info;
	struct churn c = {.rng = 0x9e3779b97f4a7c15ull};
	struct rig r;
	int rc = -1, err;

	if (rig_start(&r, o, o->dir, "huge", size, -1, 0))
		return -1;
	c.pm = r.pm;
	err = region_info(r.pm, "huge", &info);
	if (err) {
		say("region info: %s", pagemap_strerror(err));
		goto out;
	}
	target = info.data_size / 10 * 7;
	/* Fill to 70% with a removal for every two or three creates... */
	while (c.used < target && steps++ < 100000 && c.nospc < 1000)
		if (rnd(&c) % 100 < 30 ? churn_remove(&c) : churn_create(&c))
			goto out;
	/* ...then churn there: remove one, create back up to 70%. */
	for (unsigned i = 0; i < rounds && c.nospc < 1000; i++) {
		if (churn_remove(&c))
			goto out;
		while (c.used < target && steps++ < 200000 && c.nospc < 1000)
			if (churn_create(&c))
				goto out;
	}
	err = region_info(r.pm, "huge", &info);
	if (err || info.used != c.used) {
		say("region says %llu bytes used, we count %llu",
		    (unsigned long long)info.used, (unsigned long long)c.used);
		goto out;
	}
	if (grant_big(&c, order_bytes))
		goto out;
	for (int i = 0; i < ORDERS; i++)
		total += order_bytes[i];
	if (total == 0) {
		say("huge: no 2 MiB-multiple file survived the churn");
		goto out;
	}
	f->value = (double)order_bytes[HUGE_ORDER] / (double)total;
	note(o,
	     "huge: %zu files, %.0f%% full, %u creates found no room; "
	     "big files hold %llu bytes, %llu of them in 2 MiB folios",
	     c.n, 100.0 * (double)info.used / (double)info.data_size, c.nospc,
	     (unsigned long long)total,
	     (unsigned long long)order_bytes[HUGE_ORDER]);
	f->done = true;
	rc = 0;
out:
	free(c.v);
	if (rig_stop(&r, false))
		rc = -1;
	return rc;
}

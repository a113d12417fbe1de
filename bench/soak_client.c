/* soak_client.c -- one pagemap-soak client process: a random mix of real
 * work through libpagemap, every outcome counted, every page it maps
 * checked against the canary tables of soak.h. */
#include "soak.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagemap.h"
#include "rng.h"

#define PAGE 4096ull
#define LEASES 4	 /* leases a client holds at most */
#define MAPS 2		 /* mappings kept per lease */
#define MAX_MAP_PAGES 64 /* pages per map */
#define REVOKE_MS 300	 /* a revoke's wait: holders may be busy */
#define TRUNCATE_MS 200	 /* a truncate's, for the same reason */

struct held {
	struct pagemap_lease *l; /* NULL: a free entry */
	uint32_t key;		 /* of the file it is on */
	bool write;
	bool recalled; /* revoked or its file removed: release it */
	struct pagemap_mapping *map[MAPS];
};

struct state {
	const struct soak_client *c;
	struct soak_slot *me;
	struct pagemap *pm;
	struct rng rng;
	struct held h[LEASES];
	uint32_t stamp; /* the low half of the next stamp */
	bool failed;
};

/* Errors each operation may meet in a healthy run: files and leases of
 * other clients come and go, recalls fence ranges, waits time out while
 * a holder is busy in a wait of its own. */
static const int e_none[] = {0};
static const int e_create[] = {ENOSPC, 0};
static const int e_remove[] = {ENOENT, 0};
static const int e_truncate[] = {ETIMEDOUT, EBUSY, ENOENT, ENOSPC, 0};
static const int e_lease[] = {ENOENT, EBUSY, 0};
static const int e_release[] = {ENOENT, EBUSY, 0};
static const int e_map[] = {EBUSY, ENXIO, ENOENT, 0};
static const int e_revoke[] = {ENOENT, ETIMEDOUT, EBUSY, 0};
static const int e_listing[] = {ENOENT, 0};

const char *
soak_op_name(enum soak_op op)
{
	static const char *const names[OP_COUNT] = {
		[OP_CREATE] = "create",	      [OP_REMOVE] = "remove",
		[OP_TRUNCATE] = "truncate",   [OP_LEASE] = "lease",
		[OP_RELEASE] = "release",     [OP_MAP_WRITE] = "map_write",
		[OP_MAP_READ] = "map_read",   [OP_UNMAP] = "unmap",
		[OP_REVOKE] = "revoke",	      [OP_LISTING] = "listing",
		[OP_RECONNECT] = "reconnect", [OP_RECALL] = "recall",
	};

	return op < OP_COUNT ? names[op] : "?";
}

const char *
soak_errno_name(int err)
{
	static char buf[16];
	const char *n = strerrorname_np(err < 0 ? -err : err);

	if (n)
		return n;
	snprintf(buf, sizeof(buf), "E%d", err < 0 ? -err : err);
	return buf;
}

/* fail -- the first unexpected thing, kept in the slot for the report. */
static void __attribute__((format(printf, 2, 3)))
fail(struct state *s, const char *fmt, ...)
{
	va_list ap;

	s->failed = true;
	if (s->me->why[0])
		return;
	va_start(ap, fmt);
	vsnprintf(s->me->why, sizeof(s->me->why), fmt, ap);
	va_end(ap);
}

/* tally -- count the outcome @err of @op; 0 when it was a success or an
 * error @expected lists (0-ended), else -1 after fail(). */
static int
tally(struct state *s, enum soak_op op, int err, const int *expected)
{
	int e = err < 0 ? -err : err;
	unsigned i = e < SOAK_ERRNOS ? (unsigned)e : 0;

	if (err == 0) {
		s->me->ok[op]++;
		return 0;
	}
	for (const int *x = expected; *x; x++) {
		if (*x == e) {
			s->me->err[op][i]++;
			return 0;
		}
	}
	s->me->bad[op][i]++;
	fail(s, "%s: %s (%s)", soak_op_name(op), soak_errno_name(err),
	     s->pm ? pagemap_last_message(s->pm) : "");
	return -1;
}

static void
file_name(const struct state *s, uint32_t key, char *buf, size_t len)
{
	snprintf(buf, len, "%s%08x", s->c->prefix, key);
}

/* own_file -- the slot's file with @key, or NULL (removed, or not ours). */
static struct soak_file *
own_file(struct state *s, uint32_t key)
{
	for (unsigned i = 0; key && i < SOAK_FILES; i++)
		if (s->me->file[i].key == key)
			return &s->me->file[i];
	return NULL;
}

static struct soak_file *
random_own_file(struct state *s)
{
	unsigned k = (unsigned)rng_below(&s->rng, SOAK_FILES);

	for (unsigned i = 0; i < SOAK_FILES; i++) {
		struct soak_file *f = &s->me->file[(k + i) % SOAK_FILES];

		if (f->key && f->pages)
			return f;
	}
	return NULL;
}

/* ---- canaries ------------------------------------------------------- */

/* stamp_ok -- @v may stand in a page of the file @key whose stamp should
 * be @want. */
static bool
stamp_ok(uint64_t v, uint32_t key, uint64_t want)
{
	if (want != SOAK_UNKNOWN)
		return v == want;
	return v == 0 || (uint32_t)(v >> 32) == key;
}

/* check_pages -- every page of [@first, @first + @n) of the file @key,
 * mapped at @base, holds the stamps it should (@f: its table, NULL for
 * another client's file or an orphan). 0 or -1 after fail(). */
static int
check_pages(struct state *s, const unsigned char *base, uint64_t first,
	    uint64_t n, uint32_t key, const struct soak_file *f)
{
	for (uint64_t p = 0; p < n; p++) {
		const volatile uint64_t *w =
			(const volatile uint64_t *)(base + p * PAGE);
		uint64_t pg = first + p;
		uint64_t want =
			f && pg < SOAK_MAX_PAGES ? f->want[pg] : SOAK_UNKNOWN;
		uint64_t a = w[0], b = w[PAGE / 8 - 1];

		s->me->canary_checks++;
		if (!stamp_ok(a, key, want) || !stamp_ok(b, key, want)) {
			s->me->canary_bad++;
			fail(s,
			     "canary mismatch in file %08x page %llu: "
			     "%016llx/%016llx, want %016llx",
			     key, (unsigned long long)pg, (unsigned long long)a,
			     (unsigned long long)b, (unsigned long long)want);
			return -1;
		}
	}
	return 0;
}

/* ---- leases and mappings -------------------------------------------- */

static void
unmap_one(struct state *s, struct held *h, unsigned k)
{
	int err = pagemap_unmap(h->map[k]);

	h->map[k] = NULL;
	tally(s, OP_UNMAP, err, e_none);
}

/* on_recall -- give back every mapping of the recalled range; a revoked
 * lease, or one on a removed file, is released by the next release. */
static void
on_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t lease_id,
	  uint64_t offset, uint64_t length, enum pagemap_recall_reason reason,
	  void *arg)
{
	struct state *s = arg;

	(void)pm;
	(void)lease_id;
	s->me->ok[OP_RECALL]++;
	for (unsigned i = 0; l && i < LEASES; i++) {
		struct held *h = &s->h[i];

		if (h->l != l)
			continue;
		if (reason == PAGEMAP_RECALL_REVOKE ||
		    reason == PAGEMAP_RECALL_UNLINK)
			h->recalled = true;
		for (unsigned k = 0; k < MAPS; k++) {
			struct pagemap_mapping *m = h->map[k];
			uint64_t mo, ml;

			if (m == NULL)
				continue;
			mo = pagemap_mapping_offset(m);
			ml = pagemap_mapping_length(m);
			if (length == 0 ||
			    (mo < offset + length && offset < mo + ml))
				unmap_one(s, h, k);
		}
	}
}

static void
drop_mappings(struct state *s, struct held *h)
{
	for (unsigned k = 0; k < MAPS; k++)
		if (h->map[k])
			unmap_one(s, h, k);
}

/* release -- unmap what @h maps and end its lease. */
static int
release(struct state *s, struct held *h)
{
	int err;

	drop_mappings(s, h);
	err = pagemap_lease_release(h->l);
	if (err == 0 || err == -ENOENT)
		memset(h, 0, sizeof(*h));
	return tally(s, OP_RELEASE, err, e_release);
}

static struct held *
free_held(struct state *s)
{
	for (unsigned i = 0; i < LEASES; i++)
		if (s->h[i].l == NULL)
			return &s->h[i];
	return NULL;
}

static struct held *
random_held(struct state *s, bool want_write)
{
	unsigned k = (unsigned)rng_below(&s->rng, LEASES);

	for (unsigned i = 0; i < LEASES; i++) {
		struct held *h = &s->h[(k + i) % LEASES];

		if (h->l && !h->recalled && h->write == want_write)
			return h;
	}
	return NULL;
}

/* keep_or_unmap -- keep @m under @h now and then (a recall or a later
 * unmap gives it back), else unmap it at once. */
static void
keep_or_unmap(struct state *s, struct held *h, struct pagemap_mapping *m)
{
	for (unsigned k = 0; k < MAPS && rng_below(&s->rng, 2); k++) {
		if (h->map[k] == NULL) {
			h->map[k] = m;
			return;
		}
	}
	tally(s, OP_UNMAP, pagemap_unmap(m), e_none);
}

/* mapped_not -- count a map's error @err; a lease the daemon ended (a
 * revoke of a lease without mappings sends no recall) is released next. */
static int
mapped_not(struct state *s, struct held *h, enum soak_op op, int err)
{
	if (err == -ENOENT)
		h->recalled = true;
	return tally(s, op, err, e_map);
}

/* map_range -- a random page range of @pages pages: *first, *n. */
static void
map_range(struct state *s, uint64_t pages, uint64_t *first, uint64_t *n)
{
	uint64_t max;

	*first = rng_below(&s->rng, pages);
	max = pages - *first < MAX_MAP_PAGES ? pages - *first : MAX_MAP_PAGES;
	*n = rng_range(&s->rng, 1, max);
}

/* do_map_write -- map a range of one of our write leases, check its
 * stamps, write new ones, persist. */
static int
do_map_write(struct state *s)
{
	struct held *h = random_held(s, true);
	struct soak_file *f;
	struct pagemap_mapping *m;
	uint64_t first, n;
	unsigned char *base;
	int err;

	if (h == NULL || (f = own_file(s, h->key)) == NULL || f->pages == 0)
		return 0;
	map_range(s, f->pages, &first, &n);
	err = pagemap_map(h->l, first * PAGE, n * PAGE, PAGEMAP_WRITE, &m);
	if (err)
		return mapped_not(s, h, OP_MAP_WRITE, err);
	base = pagemap_mapping_data(m);
	if (check_pages(s, base, first, n, h->key, f)) {
		pagemap_unmap(m);
		return -1;
	}
	for (uint64_t p = 0; p < n; p++) {
		volatile uint64_t *w = (volatile uint64_t *)(base + p * PAGE);
		uint64_t v = (uint64_t)h->key << 32 | ++s->stamp;

		if (s->stamp == 0)
			s->stamp = 1;
		/* Unknown while it is written: a SIGKILL may stop us
		 * between the two words. */
		f->want[first + p] = SOAK_UNKNOWN;
		w[0] = v;
		w[PAGE / 8 - 1] = v;
		f->want[first + p] = v;
	}
	err = pagemap_persist(m, base, n * PAGE);
	if (tally(s, OP_MAP_WRITE, err, e_none)) {
		pagemap_unmap(m);
		return -1;
	}
	keep_or_unmap(s, h, m);
	return 0;
}

/* do_map_read -- map a range of one of our read leases and check that
 * it holds stamps of its own file only. */
static int
do_map_read(struct state *s)
{
	struct held *h = random_held(s, false);
	struct pagemap_mapping *m;
	uint64_t pages, first, n;
	int err;

	if (h == NULL)
		return 0;
	pages = pagemap_lease_size(h->l) / PAGE;
	if (pages == 0)
		return 0;
	map_range(s, pages, &first, &n);
	err = pagemap_map(h->l, first * PAGE, n * PAGE, PAGEMAP_READ, &m);
	if (err)
		return mapped_not(s, h, OP_MAP_READ, err);
	if (check_pages(s, pagemap_mapping_data(m), first, n, h->key, NULL)) {
		pagemap_unmap(m);
		return -1;
	}
	s->me->ok[OP_MAP_READ]++;
	keep_or_unmap(s, h, m);
	return 0;
}

/* pick_file -- a file of this run from the region's listing (another
 * client's or ours): its key in *ret_key, 0 when there is none. */
static int
pick_file(struct state *s, uint32_t *ret_key)
{
	struct pagemap_file_info **fl;
	size_t n, plen = strlen(s->c->prefix), seen = 0;
	int err = pagemap_file_list(s->pm, s->c->region, &fl, &n);

	*ret_key = 0;
	if (tally(s, OP_LISTING, err, e_none))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *name = fl[i]->name;

		if (strncmp(name, s->c->prefix, plen) == 0 &&
		    rng_below(&s->rng, ++seen) == 0)
			*ret_key = (uint32_t)strtoul(name + plen, NULL, 16);
	}
	pagemap_free(fl);
	return 0;
}

/* do_lease -- a write lease on a file of ours, or a read lease on any
 * file of the run. */
static int
do_lease(struct state *s)
{
	struct held *h = free_held(s);
	struct soak_file *f;
	char name[64];
	bool write = rng_below(&s->rng, 2);
	uint32_t key = 0;
	int err;

	if (h == NULL)
		return 0;
	if (write) {
		f = random_own_file(s);
		for (unsigned i = 0; f && i < LEASES; i++)
			if (s->h[i].l && s->h[i].write && s->h[i].key == f->key)
				f = NULL; /* one writer per file */
		key = f ? f->key : 0;
	} else if (pick_file(s, &key)) {
		return -1;
	}
	if (key == 0)
		return 0;
	file_name(s, key, name, sizeof(name));
	err = pagemap_lease_acquire(s->pm, s->c->region, name,
				    write ? PAGEMAP_WRITE : PAGEMAP_READ,
				    &h->l);
	if (err) {
		h->l = NULL;
		return tally(s, OP_LEASE, err, e_lease);
	}
	h->key = key;
	h->write = write;
	return tally(s, OP_LEASE, 0, e_none);
}

static int
do_release(struct state *s)
{
	unsigned k = (unsigned)rng_below(&s->rng, LEASES);

	for (unsigned i = 0; i < LEASES; i++) {
		struct held *h = &s->h[(k + i) % LEASES];

		if (h->l)
			return release(s, h);
	}
	return 0;
}

static int
do_unmap(struct state *s)
{
	unsigned k = (unsigned)rng_below(&s->rng, LEASES * MAPS);

	for (unsigned i = 0; i < LEASES * MAPS; i++) {
		unsigned j = (k + i) % (LEASES * MAPS);
		struct held *h = &s->h[j / MAPS];

		if (h->map[j % MAPS]) {
			unmap_one(s, h, j % MAPS);
			return s->failed ? -1 : 0;
		}
	}
	return 0;
}

/* ---- files ---------------------------------------------------------- */

static int
do_create(struct state *s)
{
	struct soak_file *f = NULL;
	char name[64];
	uint32_t pages = (uint32_t)rng_range(&s->rng, 1, SOAK_MAX_PAGES);
	int err;

	for (unsigned i = 0; i < SOAK_FILES && f == NULL; i++)
		if (s->me->file[i].key == 0)
			f = &s->me->file[i];
	if (f == NULL)
		return 0;
	/* The key is taken before the request: a SIGKILL after it leaves a
	 * name the next incarnation finds by its stat. */
	f->pages = 0;
	memset(f->want, 0, sizeof(f->want));
	f->key = (s->c->index + 1) << 24 | (++s->me->next_key & 0xffffff);
	file_name(s, f->key, name, sizeof(name));
	err = pagemap_file_create(s->pm, s->c->region, name, pages * PAGE, 0644,
				  NULL);
	if (err)
		f->key = 0;
	else
		f->pages = pages;
	return tally(s, OP_CREATE, err, e_create);
}

static int
do_remove(struct state *s)
{
	struct soak_file *f = random_own_file(s);
	char name[64];
	int err;

	if (f == NULL)
		return 0;
	file_name(s, f->key, name, sizeof(name));
	err = pagemap_file_remove(s->pm, s->c->region, name);
	if (err == 0 || err == -ENOENT)
		f->key = 0;
	return tally(s, OP_REMOVE, err, e_remove);
}

/* do_truncate -- a new size for a file of ours. Our own mappings past it
 * (or a reader's) hold it up: it times out, the recall stays in force and
 * completes when they are given back. */
static int
do_truncate(struct state *s)
{
	struct soak_file *f = random_own_file(s);
	uint32_t pages = (uint32_t)rng_range(&s->rng, 1, SOAK_MAX_PAGES);
	char name[64];
	int err;

	if (f == NULL)
		return 0;
	for (uint32_t p = pages < f->pages ? pages : f->pages;
	     p < SOAK_MAX_PAGES; p++)
		f->want[p] = SOAK_UNKNOWN;
	file_name(s, f->key, name, sizeof(name));
	err = pagemap_file_truncate(s->pm, s->c->region, name, pages * PAGE,
				    TRUNCATE_MS, NULL);
	if (err == 0 || err == -ETIMEDOUT)
		f->pages = pages;
	return tally(s, OP_TRUNCATE, err, e_truncate);
}

/* ---- the daemon's other requests ------------------------------------ */

/* do_revoke -- revoke a lease another process of this run holds. */
static int
do_revoke(struct state *s)
{
	struct pagemap_lease_info **ll;
	size_t n, plen = strlen(s->c->prefix), seen = 0;
	uint64_t id = 0;
	int err = pagemap_lease_list(s->pm, s->c->region, NULL, &ll, &n);

	if (tally(s, OP_LISTING, err, e_none))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (ll[i]->pid != (uint32_t)getpid() &&
		    strncmp(ll[i]->name, s->c->prefix, plen) == 0 &&
		    rng_below(&s->rng, ++seen) == 0)
			id = ll[i]->id;
	pagemap_free(ll);
	if (id == 0)
		return 0;
	err = pagemap_lease_revoke(s->pm, id, REVOKE_MS);
	return tally(s, OP_REVOKE, err, e_revoke);
}

static int
do_listing(struct state *s)
{
	void *p = NULL;
	size_t n;
	char name[64];
	uint32_t key;
	int err;

	switch (rng_below(&s->rng, 8)) {
	case 0:
		err = pagemap_status(s->pm, (struct pagemap_status **)&p);
		break;
	case 1:
		err = pagemap_region_list(
			s->pm, (struct pagemap_region_info ***)&p, &n);
		break;
	case 2:
		err = pagemap_lease_list(s->pm, s->c->region, NULL,
					 (struct pagemap_lease_info ***)&p, &n);
		break;
	case 3:
		err = pagemap_grant_list(
			s->pm, 0,
			rng_below(&s->rng, 2) ? 0 : (uint32_t)getpid(),
			(struct pagemap_grant_info ***)&p, &n);
		break;
	case 4:
		err = pagemap_client_list(
			s->pm, (struct pagemap_client_info ***)&p, &n);
		break;
	case 5:
		err = pagemap_blockers(s->pm, s->c->region, NULL,
				       (struct pagemap_blocker ***)&p, &n);
		break;
	case 6:
		if (pick_file(s, &key))
			return -1;
		if (key == 0)
			return 0;
		file_name(s, key, name, sizeof(name));
		err = pagemap_file_stat(s->pm, s->c->region, name,
					(struct pagemap_file_info **)&p);
		break;
	default:
		err = pagemap_region_info(s->pm, s->c->region,
					  (struct pagemap_region_info **)&p);
		break;
	}
	if (err == 0)
		pagemap_free(p);
	return tally(s, OP_LISTING, err, e_listing);
}

static int
connect_daemon(struct state *s)
{
	int err = pagemap_connect(s->c->socket, "pagemap-soak", &s->pm);

	if (err) {
		s->pm = NULL;
		return tally(s, OP_RECONNECT, err, e_none);
	}
	pagemap_set_recall_handler(s->pm, on_recall, s);
	return 0;
}

/* do_reconnect -- close the handle (everything given back) and connect
 * again. */
static int
do_reconnect(struct state *s)
{
	pagemap_close(s->pm);
	s->pm = NULL;
	memset(s->h, 0, sizeof(s->h));
	if (connect_daemon(s))
		return -1;
	return tally(s, OP_RECONNECT, 0, e_none);
}

/* recover -- after a predecessor's SIGKILL: forget files it did not make
 * after all, take the sizes of those it did. */
static int
recover(struct state *s)
{
	for (unsigned i = 0; i < SOAK_FILES; i++) {
		struct soak_file *f = &s->me->file[i];
		struct pagemap_file_info *fi;
		char name[64];
		int err;

		if (f->key == 0)
			continue;
		file_name(s, f->key, name, sizeof(name));
		err = pagemap_file_stat(s->pm, s->c->region, name, &fi);
		if (tally(s, OP_LISTING, err, e_listing))
			return -1;
		if (err) {
			f->key = 0;
			continue;
		}
		f->pages = (uint32_t)(fi->size / PAGE);
		if (f->pages > SOAK_MAX_PAGES)
			f->pages = SOAK_MAX_PAGES;
		pagemap_free(fi);
	}
	return 0;
}

/* The mix: weights out of 100, mostly mapping, some of everything. */
static const struct {
	unsigned weight;
	int (*run)(struct state *s);
} mix[] = {
	{6, do_create},	 {3, do_remove},     {4, do_truncate},	{12, do_lease},
	{6, do_release}, {22, do_map_write}, {14, do_map_read}, {10, do_unmap},
	{4, do_revoke},	 {18, do_listing},   {1, do_reconnect},
};

/* step -- answer queued recalls, then one operation of the mix. */
static int
step(struct state *s)
{
	unsigned r = (unsigned)rng_below(&s->rng, 100);
	int err = pagemap_dispatch(s->pm);
	size_t i = 0;

	if (err < 0)
		return tally(s, OP_RECALL, err, e_none);
	while (i + 1 < sizeof(mix) / sizeof(mix[0]) && r >= mix[i].weight)
		r -= mix[i++].weight;
	return mix[i].run(s);
}

int
soak_client_run(void *arg)
{
	const struct soak_client *c = arg;
	struct state s = {.c = c, .me = &c->sh->slot[c->index]};

	rng_init(&s.rng,
		 c->seed ^ ((uint64_t)c->index << 32) ^ ++s.me->incarnation);
	if (connect_daemon(&s) || recover(&s))
		return 1;
	while (!__atomic_load_n(&c->sh->stop, __ATOMIC_ACQUIRE))
		if (step(&s))
			break;
	for (unsigned i = 0; s.pm && i < LEASES; i++)
		if (s.h[i].l)
			release(&s, &s.h[i]);
	pagemap_close(s.pm);
	return s.failed ? 1 : 0;
}

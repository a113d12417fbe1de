/* cache.c -- libpagemap's cached grants (maps without a round trip).
 *
 * A handle whose daemon granted CAP_CACHED_GRANTS asks for a state word
 * with every folio pagemap_map() maps. The words live in one memfd per
 * process that the daemon made and sealed, sent once per connection with
 * the first map reply; the library maps it read-write and changes a word
 * only through gword.h's transitions, whose essay gives the protocol.
 *
 * Unmapping a mapping unmaps its memory first, then moves each word back:
 * MAPPED -> CACHED needs no message, and the grant stays under the lease
 * (struct cgrant, sorted by file offset), still a pin. A later map of a
 * range the lease's cached grants tile moves their words to MAPPED and
 * maps them with no message at all. If any of them is being taken back
 * (the daemon got there first) the map backs out and asks the daemon, as
 * it always did. The daemon takes cached grants back alone; a grant it
 * recalled while mapped goes RECALLING -> TAKEN at its last unmap here,
 * and one Taken message (never answered) tells it.
 *
 * I1 on this side: a word is moved to MAPPED before its folio is mapped
 * and back only after the folio is unmapped, so the daemon never sees a
 * mapped folio as cached. What the lease keeps here is only a guess of
 * what is cached: the word decides, and an entry the daemon took back is
 * dropped when a map finds it so.
 *
 * Bounds: past the daemon's max_cached_grants_per_lease or _per_process
 * (HelloReply's limits), the least recently unmapped cached grants are
 * handed back with a Taken message.
 */
#include "cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conn.h"
#include "gword.h"
#include "mapping.h"

#define TAKEN_BATCH 1024u /* words per Taken message: < 12 KiB packed */
#define BUSY_TRIES 16	  /* calls of a transition that keeps racing */

/* ---- the table -------------------------------------------------------- */

/* drop_all -- forget every cached grant of every lease. */
static void
drop_all(struct pagemap *pm)
{
	for (struct pagemap_lease *l = pm->leases; l; l = l->next)
		l->ncg = 0;
	pm->ncached = 0;
}

void
cache_cleanup(struct pagemap *pm)
{
	if (pm->words)
		munmap(pm->words, (size_t)pm->nwords * sizeof(uint64_t));
	if (pm->words_fd >= 0)
		close(pm->words_fd);
	pm->words = NULL;
	pm->nwords = 0;
	pm->words_fd = -1;
	pm->words_id = 0;
}

void
cache_hello(struct pagemap *pm, uint64_t id)
{
	pm->hello_words_id = id;
	if (pm->words && pm->words_id != id) {
		/* Another daemon that did not adopt the table our Hello
		 * handed back: its pins of ours have no words; the
		 * reconcile returns the cached ones (no longer held). A
		 * daemon that adopted it names it by its old id. */
		drop_all(pm);
		cache_cleanup(pm);
	}
}

int
cache_install(struct pagemap *pm, int fd, uint64_t id)
{
	struct stat st;
	void *p;

	if (pm->words && pm->words_id == id) {
		close(fd);
		return 0;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size % 8 || (uint64_t)st.st_size / 8 > UINT32_MAX || !id) {
		close(fd);
		return proto_error(pm, "a word table that is no table");
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 fd, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return proto_error(pm, "the word table does not map");
	}
	/* A forked child must not see (nor scribble on) the parent's
	 * words: its handle refuses every call anyway. */
	(void)madvise(p, (size_t)st.st_size, MADV_DONTFORK);
	drop_all(pm);
	cache_cleanup(pm);
	pm->words = p;
	pm->nwords = (uint32_t)(st.st_size / 8);
	pm->words_fd = fd;
	pm->words_id = id;
	return 0;
}

/* ---- a lease's grants ------------------------------------------------- */

/* lower -- the first entry of @l at file offset @off or past it. */
static size_t
lower(const struct pagemap_lease *l, uint64_t off)
{
	size_t lo = 0, hi = l->ncg;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->cg[mid].file_off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* remove_at -- drop entry @i of @l. */
static void
remove_at(struct pagemap_lease *l, size_t i)
{
	memmove(&l->cg[i], &l->cg[i + 1], (l->ncg - i - 1) * sizeof(*l->cg));
	l->ncg--;
	l->pm->ncached--;
}

/* find -- the entry of @l for word (@slot, @gen) at @off, or SIZE_MAX. */
static size_t
find(const struct pagemap_lease *l, uint64_t off, uint32_t slot, uint32_t gen)
{
	for (size_t i = lower(l, off); i < l->ncg && l->cg[i].file_off == off;
	     i++)
		if (l->cg[i].slot == slot && l->cg[i].gen == gen)
			return i;
	return SIZE_MAX;
}

bool
cache_holds(const struct pagemap_lease *l, uint64_t a, uint64_t b)
{
	uint64_t span = (uint64_t)PG_SIZE << MAX_ORDER;
	size_t i = lower(l, a > span ? a - span : 0);

	for (; i < l->ncg && l->cg[i].file_off < b; i++)
		if (l->cg[i].file_off + ((uint64_t)PG_SIZE << l->cg[i].order) >
		    a)
			return true;
	return false;
}

void
cache_lease_free(struct pagemap_lease *l)
{
	l->pm->ncached -= l->ncg;
	free(l->cg);
	l->cg = NULL;
	l->ncg = l->cgcap = 0;
}

/* ---- Taken ------------------------------------------------------------ */

/* A batch of words to hand back. */
struct taken {
	uint32_t slot[TAKEN_BATCH];
	uint32_t gen[TAKEN_BATCH];
	size_t n;
};

/* send_taken -- one Taken message for @t, never answered. */
static int
send_taken(struct pagemap *pm, struct taken *t)
{
	struct wire_request req = {
		.op = WIRE_TAKEN,
		.slots = t->slot,
		.gens = t->gen,
		.n_slots = t->n,
	};
	int err;

	if (t->n == 0)
		return 0;
	err = conn_send_oneway(pm, &req);
	t->n = 0;
	/* Away: the reconcile returns them (we no longer hold them). */
	if (err == -ENOTCONN || (err == -ECONNRESET && !pm->dead))
		err = 0;
	return err;
}

/* add_taken -- put (@slot, @gen) in @t, sending it when full. */
static int
add_taken(struct pagemap *pm, struct taken *t, uint32_t slot, uint32_t gen)
{
	t->slot[t->n] = slot;
	t->gen[t->n] = gen;
	if (++t->n < TAKEN_BATCH)
		return 0;
	return send_taken(pm, t);
}

/* unmap_word -- one gword_unmap of (@slot, @gen), retried while it races
 * (only the daemon's CAS can make it: a bounded number of times). */
static enum gword_unmap_result
unmap_word(struct pagemap *pm, uint32_t slot, uint32_t gen)
{
	enum gword_unmap_result r = GWORD_UNMAP_BUSY;

	for (int i = 0; i < BUSY_TRIES && r == GWORD_UNMAP_BUSY; i++)
		r = gword_unmap(&pm->words[slot], gen);
	return r;
}

/* end_word -- the holder's side of one unmapped folio of @l at @off: back
 * to cached (kept), or taken under a recall (told in @t), or a word that
 * says something else (forgotten: the daemon decides on its own). */
static int
end_word(struct pagemap_lease *l, struct taken *t, uint64_t off, uint32_t slot,
	 uint32_t gen)
{
	struct pagemap *pm = l->pm;
	size_t i = find(l, off, slot, gen);

	switch (unmap_word(pm, slot, gen)) {
	case GWORD_UNMAP_CACHED:
		if (i != SIZE_MAX)
			l->cg[i].used = pm->clock;
		return 0;
	case GWORD_UNMAP_MAPPED:
	case GWORD_UNMAP_RECALLING:
		return 0;
	case GWORD_UNMAP_TELL:
		if (i != SIZE_MAX)
			remove_at(l, i);
		return add_taken(pm, t, slot, gen);
	default:
		if (i != SIZE_MAX)
			remove_at(l, i);
		return 0;
	}
}

/* ---- bounds ----------------------------------------------------------- */

/* oldest -- the least recently used entry of @l whose word reads cached
 * (the only ones a return takes); SIZE_MAX if none. */
static size_t
oldest(const struct pagemap_lease *l)
{
	size_t best = SIZE_MAX;

	for (size_t i = 0; i < l->ncg; i++) {
		const struct cgrant *g = &l->cg[i];

		if (gword_peek(&l->pm->words[g->slot]) !=
		    gword_make(GWORD_CACHED, 0, g->gen))
			continue;
		if (best == SIZE_MAX || g->used < l->cg[best].used)
			best = i;
	}
	return best;
}

/* evict -- hand back entry @i of @l. Under the handle's lock no map of
 * ours can begin on it, so once it leaves the list the word stays CACHED
 * (or the daemon's TAKEN) and the daemon's take back frees it. */
static int
evict(struct pagemap_lease *l, size_t i, struct taken *t)
{
	uint32_t slot = l->cg[i].slot, gen = l->cg[i].gen;

	remove_at(l, i);
	return add_taken(l->pm, t, slot, gen);
}

/* trim -- keep @l and the handle within the daemon's bounds, handing
 * back the least recently used cached grants. */
static int
trim(struct pagemap_lease *l, struct taken *t)
{
	struct pagemap *pm = l->pm;
	uint64_t per_lease = pm->limits.max_cached_grants_per_lease;
	uint64_t per_process = pm->limits.max_cached_grants_per_process;
	size_t i;
	int err = 0;

	while (!err && per_lease && l->ncg > per_lease &&
	       (i = oldest(l)) != SIZE_MAX)
		err = evict(l, i, t);
	while (!err && per_process && pm->ncached > per_process) {
		struct pagemap_lease *best = NULL;
		size_t bi = 0;

		for (struct pagemap_lease *k = pm->leases; k; k = k->next) {
			i = oldest(k);
			if (i != SIZE_MAX &&
			    (!best || k->cg[i].used < best->cg[bi].used)) {
				best = k;
				bi = i;
			}
		}
		if (!best)
			break;
		err = evict(best, bi, t);
	}
	return err;
}

/* ---- mapping ---------------------------------------------------------- */

/* note_word -- record folio @w in @m. */
static int
note_word(struct pagemap_mapping *m, const struct mword *w)
{
	if (grow((void **)&m->w, sizeof(*m->w), m->nw, &m->wcap, 1))
		return -ENOMEM;
	m->w[m->nw++] = *w;
	return 0;
}

int
cache_note(struct pagemap_mapping *m, const struct wire_map *r, size_t i,
	   uint64_t off)
{
	struct mword w = {
		.file_off = off,
		.region_off = r->region_offset[i],
		.order = r->order[i],
	};

	if (!r->n_gen || !r->gen[i]) {
		m->returns = true;
		return 0;
	}
	w.slot = r->slot[i];
	w.gen = r->gen[i];
	return note_word(m, &w);
}

/* undo -- end the first @k words of @m again, as an unmap would (nothing
 * was mapped): a word the daemon recalled meanwhile is handed back. */
static void
undo(struct pagemap_mapping *m, size_t k)
{
	struct pagemap *pm = m->lease->pm;
	struct taken t;

	t.n = 0;
	for (size_t j = 0; j < k; j++)
		if (unmap_word(pm, m->w[j].slot, m->w[j].gen) ==
		    GWORD_UNMAP_TELL)
			add_taken(pm, &t, m->w[j].slot, m->w[j].gen);
	send_taken(pm, &t);
}

/* insert -- keep the grant of @w under @l. */
static int
insert(struct pagemap_lease *l, const struct mword *w,
       enum pagemap_access access)
{
	size_t i;

	if (grow((void **)&l->cg, sizeof(*l->cg), l->ncg, &l->cgcap, 1))
		return -ENOMEM;
	i = lower(l, w->file_off + 1);
	memmove(&l->cg[i + 1], &l->cg[i], (l->ncg - i) * sizeof(*l->cg));
	l->cg[i] = (struct cgrant){
		.file_off = w->file_off,
		.region_off = w->region_off,
		.used = l->pm->clock,
		.slot = w->slot,
		.gen = w->gen,
		.order = (uint8_t)w->order,
		.access = (uint8_t)access,
	};
	l->ncg++;
	l->pm->ncached++;
	return 0;
}

int
cache_ahead(struct pagemap_lease *l, const struct wire_map *r, size_t i,
	    uint64_t off, enum pagemap_access access)
{
	struct mword w = {
		.file_off = off,
		.region_off = r->region_offset[i],
		.order = r->order[i],
		.slot = r->slot[i],
		.gen = r->gen[i],
	};

	/* Without a word it could not be cached: hand it back by range
	 * when the lease ends (the daemon counts it until then). */
	if (!w.gen || !l->pm->words || w.slot >= l->pm->nwords)
		return 0;
	return insert(l, &w, access);
}

int
cache_begin(struct pagemap_mapping *m)
{
	struct pagemap_lease *l = m->lease;
	struct pagemap *pm = l->pm;
	size_t k;
	int err = 0;

	m->words_id = pm->words_id;
	for (k = 0; k < m->nw; k++) {
		if (!pm->words || m->w[k].slot >= pm->nwords) {
			err = proto_error(pm, "a folio's word past the table");
			break;
		}
		if (gword_map_begin(&pm->words[m->w[k].slot], m->w[k].gen) !=
		    GWORD_MAP_OK) {
			set_message(pm, "a recall took the range back while "
					"it was being granted");
			err = -EBUSY;
			break;
		}
	}
	/* The grants are kept under the lease only once all are begun; a
	 * grant that is not kept is one the daemon takes back alone. */
	for (size_t j = 0; !err && j < m->nw; j++)
		err = insert(l, &m->w[j], m->access);
	if (err)
		undo(m, k);
	return err;
}

/* reset -- forget what a failed cache_map() put in @m. */
static void
reset(struct pagemap_mapping *m)
{
	m->nruns = 0;
	m->nw = 0;
	m->folios = 0;
	m->max_folio = 0;
}

int
cache_map(struct pagemap_lease *l, struct pagemap_mapping *m, uint64_t start,
	  uint64_t end)
{
	struct pagemap *pm = l->pm;
	uint64_t pos = start;
	int err = 0;

	if (!pm->words || !l->ncg)
		return -ENOENT;
	while (pos < end && !err) {
		size_t i = lower(l, pos);
		bool got = false;

		while (i < l->ncg && l->cg[i].file_off == pos) {
			struct cgrant *g = &l->cg[i];
			uint64_t size = (uint64_t)PG_SIZE << g->order;
			struct mword w = {
				.file_off = pos,
				.region_off = g->region_off,
				.slot = g->slot,
				.gen = g->gen,
				.order = g->order,
			};
			enum gword_map_result r;

			if (size > end - pos || g->access < m->access) {
				i++;
				continue;
			}
			r = gword_map_begin(&pm->words[g->slot], g->gen);
			if (r == GWORD_MAP_OK) {
				if ((err = note_word(m, &w)) == 0)
					err = add_folio(m, pos, g->region_off,
							size);
				else
					unmap_word(pm, w.slot, w.gen);
				pos += size;
				got = true;
				break;
			}
			if (r == GWORD_MAP_FULL || r == GWORD_MAP_BUSY) {
				i++;
				continue;
			}
			/* Taken back, another generation, or garbage: not
			 * ours to map any more. */
			remove_at(l, i);
		}
		if (!got)
			break;
	}
	if (pos < end || err) {
		undo(m, m->nw);
		reset(m);
		return err ? err : -ENOENT;
	}
	m->words_id = pm->words_id;
	return 0;
}

int
cache_end(struct pagemap_mapping *m)
{
	struct pagemap_lease *l = m->lease;
	struct pagemap *pm = l->pm;
	struct taken t;
	int err = 0, e;

	t.n = 0;
	if (!m->nw)
		return 0;
	/* Words of a table that is gone tell nobody anything: the daemon
	 * that made them is not the one we talk to. */
	if (!pm->words || m->words_id != pm->words_id) {
		m->returns = true;
		return 0;
	}
	pm->clock++;
	for (size_t i = 0; i < m->nw; i++) {
		e = end_word(l, &t, m->w[i].file_off, m->w[i].slot,
			     m->w[i].gen);
		if (e && !err)
			err = e;
	}
	e = trim(l, &t);
	if (e && !err)
		err = e;
	e = send_taken(pm, &t);
	return err ? err : e;
}

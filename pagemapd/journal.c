/* journal.c -- the redo journal: atomic multi-range metadata updates. */
#include "journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "layout.h"

/*
 * Invariants (see journal.h for the protocol and docs/layout.md for why it
 * is crash-safe):
 *
 *  - The journal area is a log of committed transactions from its start,
 *    each at the first 4 KiB boundary after the one before it:
 *    [hdr][payload] pad [hdr][payload] pad ..., seq numbers consecutive.
 *    A header's crc covers the header (crc = 0) and its payload, so a
 *    torn append is garbage that ends the chain. The chain that starts
 *    at offset 0 holds every transaction since the last checkpoint; a
 *    checkpoint ends the old chain (zeroes the header at 0) before the
 *    log starts over.
 *  - No home location is written before the transaction that writes it is
 *    durable in the log. Home writes are made durable only at a
 *    checkpoint, and the log restarts at offset 0 only after one: so at
 *    any crash the media is a checkpointed state plus, in the log, every
 *    transaction after it; replaying the chain yields the last committed
 *    state.
 *  - Every seq ever appended is greater than that of any crc-valid header
 *    anywhere in the area (journal_recover() scans for the largest), so a
 *    stale transaction left beyond the end of the chain can never continue
 *    it.
 *  - Records are whole byte images, never deltas, so replaying an already
 *    applied transaction changes nothing.
 *  - j->buf holds a header slot followed by the staged payload, in the
 *    format of the media; j->used is the payload length, a multiple of 8.
 */

#define HDR_SIZE sizeof(struct pm_journal_hdr)
#define LOG_ALIGN 4096u
#define REC_SIZE sizeof(struct pm_journal_rec)

static uint64_t
pad8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

/* next_pos -- where the transaction after one of @len bytes at @pos
 * starts: on the next 4 KiB boundary. Each commit then writes pages no
 * earlier transaction is on (one page for most batches, where an
 * unaligned append would often touch two and rewrite committed bytes). */
static uint64_t
next_pos(uint64_t pos, uint64_t len)
{
	return (pos + len + LOG_ALIGN - 1) & ~(uint64_t)(LOG_ALIGN - 1);
}

static uint64_t
capacity(const struct journal *j)
{
	return j->size - HDR_SIZE;
}

/* payload -- the staged payload, after the header slot. */
static uint8_t *
payload(const struct journal *j)
{
	return j->buf + HDR_SIZE;
}

int
journal_init(struct journal *j, struct pm_media *m, uint64_t off,
	     uint64_t size)
{
	memset(j, 0, sizeof(*j));
	/* 8-byte alignment keeps every record header naturally aligned. */
	if (off % 8 || size % 8 || size <= HDR_SIZE + REC_SIZE)
		return -EINVAL;
	if (off > m->size || size > m->size - off)
		return -EINVAL;
	j->buf = fault_malloc(size);
	if (!j->buf)
		return -ENOMEM;
	j->media = m;
	j->off = off;
	j->size = size;
	return 0;
}

void
journal_fini(struct journal *j)
{
	if (!j)
		return;
	free(j->buf);
	j->buf = NULL;
	j->used = 0;
	j->nrecs = 0;
}

/* note_home -- widen the span of home writes not yet checkpointed. */
static void
note_home(struct journal *j, uint64_t off, uint64_t len)
{
	if (j->dirty_hi <= j->dirty_lo) {
		j->dirty_lo = off;
		j->dirty_hi = off + len;
		return;
	}
	if (off < j->dirty_lo)
		j->dirty_lo = off;
	if (off + len > j->dirty_hi)
		j->dirty_hi = off + len;
}

int
journal_checkpoint(struct journal *j)
{
	struct pm_media *m = j->media;
	int ret = 0;

	if (j->dirty_hi > j->dirty_lo)
		ret = m->persist(m, j->dirty_lo, j->dirty_hi - j->dirty_lo);
	if (ret)
		return ret;
	j->dirty_lo = j->dirty_hi = 0;
	if (j->pos == 0)
		return 0;
	/* End the chain at offset 0 before the log starts over there: a torn
	 * append at 0 could otherwise leave the old first header whole and
	 * its successors half overwritten, and replaying a prefix of an old
	 * chain over newer homes would undo them. */
	ret = media_store_durable(m, j->off, NULL, HDR_SIZE);
	if (ret == 0)
		j->pos = 0;
	return ret;
}

int
journal_format(struct journal *j)
{
	struct pm_media *m = j->media;

	journal_abort(j);
	/* The whole area: a stale log left by an earlier format of the same
	 * file must not be mistaken for this one's. */
	j->seq = 0;
	j->pos = 0;
	j->dirty_lo = j->dirty_hi = 0;
	return media_store_durable(m, j->off, NULL, j->size);
}

/* hits_journal -- whether [off, off + len) touches the journal area. */
static int
hits_journal(const struct journal *j, uint64_t off, uint64_t len)
{
	return off < j->off + j->size && j->off < off + len;
}

/* target_ok -- whether a record may write [off, off + len): inside the
 * region and outside the journal, which must never overwrite itself. */
static int
target_ok(const struct journal *j, uint64_t off, uint64_t len)
{
	uint64_t size = j->media->size;

	return off <= size && len <= size - off && !hits_journal(j, off, len);
}

/* walk -- check that @payload (@len bytes) is exactly @nrecs well formed
 * records with valid targets. Returns 0 or -EUCLEAN. */
static int
walk(const struct journal *j, const uint8_t *payload, uint64_t len,
     uint32_t nrecs)
{
	uint64_t pos = 0;
	uint32_t n = 0;

	while (pos < len) {
		struct pm_journal_rec r;

		if (len - pos < REC_SIZE)
			return -EUCLEAN;
		memcpy(&r, payload + pos, REC_SIZE);
		pos += REC_SIZE;
		if (r.reserved || pad8(r.len) > len - pos)
			return -EUCLEAN;
		if (!target_ok(j, r.off, r.len))
			return -EUCLEAN;
		pos += pad8(r.len);
		n++;
	}
	return n == nrecs ? 0 : -EUCLEAN;
}

/* A record located in a walked payload, for coalescing. */
struct span {
	uint64_t off;
	uint32_t len;
	uint32_t idx; /* order in the transaction: later ones win */
	const uint8_t *data;
};

#define RUN_MAX (64u << 10) /* bytes written by one coalesced store */
#define RUN_GAP 512u	    /* unchanged bytes worth rewriting to join two */

static int
by_off(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
by_idx(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* A growable buffer for building runs. */
struct scratch {
	uint8_t *buf;
	size_t cap;
};

/* store_runs -- write @n spans (sorted by offset) home as few runs of
 * nearby bytes: the gaps between records are filled with the bytes
 * already there, and records land in transaction order within a run.
 * For media whose every store is a syscall (pwrite) this turns a batch's
 * dozens of small records into a handful of writes. A run ends past
 * RUN_MAX bytes only where no later record overlaps it: records that
 * overlap must land in one run, in order, or an earlier one could be
 * written last. */
static int
store_runs(struct journal *j, struct span *v, size_t n, struct scratch *sc)
{
	struct pm_media *m = j->media;

	for (size_t i = 0, k; i < n; i = k) {
		uint64_t lo = v[i].off, hi = lo + v[i].len;
		int ret;

		for (k = i + 1; k < n && v[k].off <= hi + RUN_GAP; k++) {
			uint64_t end = v[k].off + v[k].len;

			if (v[k].off >= hi && end - lo > RUN_MAX)
				break;
			if (end > hi)
				hi = end;
		}
		if (k == i + 1) {
			ret = media_write(m, lo, v[i].data, v[i].len);
		} else {
			if (hi - lo > sc->cap) {
				uint8_t *b = fault_realloc(sc->buf, hi - lo);

				if (!b)
					return -ENOMEM;
				sc->buf = b;
				sc->cap = hi - lo;
			}
			memcpy(sc->buf, m->base + lo, hi - lo);
			qsort(v + i, k - i, sizeof(*v), by_idx);
			for (size_t t = i; t < k; t++)
				memcpy(sc->buf + (v[t].off - lo), v[t].data,
				       v[t].len);
			ret = media_write(m, lo, sc->buf, hi - lo);
		}
		if (ret)
			return ret;
		note_home(j, lo, hi - lo);
	}
	return 0;
}

/* flush_runs -- store the *@n spans collected so far; empties them. */
static int
flush_runs(struct journal *j, struct span *v, size_t *n, struct scratch *sc)
{
	int ret;

	qsort(v, *n, sizeof(*v), by_off);
	ret = store_runs(j, v, *n, sc);
	*n = 0;
	return ret;
}

/* apply -- copy every record of a walked payload to its home. Nothing is
 * persisted here: the log holds the transaction until the next
 * checkpoint makes the homes durable (one persist per commit instead of
 * two; on a plain file each persist is an msync and a device flush). */
static int
apply(struct journal *j, const uint8_t *payload, uint64_t len)
{
	struct pm_media *m = j->media;
	struct span *v = NULL;
	struct scratch sc = {NULL, 0};
	size_t n = 0, cap = 0;
	uint64_t pos = 0;
	int ret = 0;

	while (pos < len) {
		struct pm_journal_rec r;

		memcpy(&r, payload + pos, REC_SIZE);
		pos += REC_SIZE;
		if (j->shadow && r.off < j->shadow_len) {
			uint64_t k = j->shadow_len - r.off;

			memcpy((uint8_t *)j->shadow + r.off, payload + pos,
			       k < r.len ? k : r.len);
		}
		if (m->write && r.len < RUN_MAX) {
			if (n == cap) {
				size_t c = cap ? 2 * cap : 64;
				struct span *nv =
					fault_realloc(v, c * sizeof(*v));

				if (!nv) {
					ret = -ENOMEM;
					goto out;
				}
				v = nv;
				cap = c;
			}
			v[n] = (struct span){r.off, r.len, (uint32_t)n,
					     payload + pos};
			n++;
		} else {
			/* Stores through the mapping cost nothing to
			 * split; a big record is a run of its own, after
			 * the records before it. */
			if (n && (ret = flush_runs(j, v, &n, &sc)))
				goto out;
			ret = media_write(m, r.off, payload + pos, r.len);
			if (ret)
				goto out;
			note_home(j, r.off, r.len);
		}
		pos += pad8(r.len);
	}
	if (n)
		ret = flush_runs(j, v, &n, &sc);
out:
	free(sc.buf);
	free(v);
	return ret;
}

static uint32_t
hdr_crc(const struct pm_journal_hdr *h, const uint8_t *payload)
{
	struct pm_journal_hdr tmp = *h;

	tmp.crc = 0;
	return crc32c(crc32c(0, &tmp, HDR_SIZE), payload, h->payload_len);
}

/* valid_at -- the crc-valid transaction header at area offset @pos, or
 * false. A header whose payload would run past the area is invalid. */
static bool
valid_at(const struct journal *j, uint64_t pos, struct pm_journal_hdr *h)
{
	const uint8_t *area = j->media->base + j->off;

	if (pos > j->size || j->size - pos < HDR_SIZE)
		return false;
	memcpy(h, area + pos, HDR_SIZE);
	if (h->magic != PM_JOURNAL_MAGIC || h->payload_len % 8 ||
	    h->payload_len > j->size - pos - HDR_SIZE)
		return false;
	return hdr_crc(h, area + pos + HDR_SIZE) == h->crc;
}

/* max_seq -- the largest seq of any crc-valid header in the area (they
 * only ever start on a LOG_ALIGN boundary). */
static uint64_t
max_seq(const struct journal *j)
{
	uint64_t best = 0;

	for (uint64_t pos = 0; pos < j->size; pos += LOG_ALIGN) {
		struct pm_journal_hdr h;

		if (valid_at(j, pos, &h) && h.seq > best)
			best = h.seq;
	}
	return best;
}

int
journal_recover(struct journal *j)
{
	const uint8_t *area = j->media->base + j->off;
	struct pm_journal_hdr h;
	uint64_t pos = 0, seq = 0;
	int ret, applied = 0;

	j->dirty_lo = j->dirty_hi = 0;
	/* Anything that is not a whole committed transaction is a torn or
	 * never-made commit: the chain, and the state, end before it. */
	while (valid_at(j, pos, &h) && (pos == 0 || h.seq == seq + 1)) {
		/* A crc-valid transaction was written by us; if it names
		 * bad targets the region is corrupt, not merely
		 * interrupted. */
		if (walk(j, area + pos + HDR_SIZE, h.payload_len, h.nrecs))
			return -EUCLEAN;
		ret = apply(j, area + pos + HDR_SIZE, h.payload_len);
		if (ret)
			return ret;
		applied = applied || h.nrecs != 0;
		seq = h.seq;
		pos = next_pos(pos, HDR_SIZE + h.payload_len);
	}
	j->seq = max_seq(j);
	if (seq > j->seq)
		j->seq = seq;
	/* The replayed homes become durable before anything overwrites the
	 * log they came from. */
	j->pos = pos;
	ret = journal_checkpoint(j);
	if (ret)
		return ret;
	return applied;
}

int
journal_add(struct journal *j, uint64_t off, const void *data, uint32_t len)
{
	struct pm_journal_rec r = {.off = off, .len = len};

	if (!target_ok(j, off, len))
		return -EINVAL;
	if (len == 0)
		return 0;
	if (REC_SIZE + pad8(len) > journal_room(j))
		return -E2BIG;
	memcpy(payload(j) + j->used, &r, REC_SIZE);
	memcpy(payload(j) + j->used + REC_SIZE, data, len);
	/* Zero the padding so the crc (and the media image) is the same for
	 * the same transaction. */
	memset(payload(j) + j->used + REC_SIZE + len, 0, pad8(len) - len);
	j->used += REC_SIZE + pad8(len);
	j->nrecs++;
	return 0;
}

int
journal_commit(struct journal *j)
{
	struct pm_media *m = j->media;
	struct pm_journal_hdr h = {
		.magic = PM_JOURNAL_MAGIC,
		.seq = j->seq + 1,
		.payload_len = j->used,
		.nrecs = j->nrecs,
	};
	uint64_t len = HDR_SIZE + j->used;
	int ret = 0;

	if (j->nrecs == 0)
		return 0;
	/* Full: make the homes durable, then the log may start over. */
	if (j->pos > j->size || len > j->size - j->pos)
		ret = journal_checkpoint(j);
	h.crc = hdr_crc(&h, payload(j));
	memcpy(j->buf, &h, HDR_SIZE);
	/* The commit point: once this store is durable, the transaction
	 * happened, whatever follows. */
	if (ret == 0)
		ret = media_store_durable(m, j->off + j->pos, j->buf, len);
	if (ret == 0)
		ret = apply(j, payload(j), j->used);
	if (ret == 0) {
		j->seq = h.seq;
		j->pos = next_pos(j->pos, len);
	}
	journal_abort(j);
	return ret;
}

void
journal_abort(struct journal *j)
{
	j->used = 0;
	j->nrecs = 0;
}

struct journal_mark
journal_mark(const struct journal *j)
{
	return (struct journal_mark){.used = j->used, .nrecs = j->nrecs};
}

void
journal_rollback(struct journal *j, struct journal_mark mark)
{
	j->used = mark.used;
	j->nrecs = mark.nrecs;
}

uint64_t
journal_room(const struct journal *j)
{
	if (!j->buf)
		return 0;
	return capacity(j) - j->used;
}

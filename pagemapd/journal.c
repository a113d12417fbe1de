/* journal.c -- the redo journal: atomic multi-range metadata updates. */
#include "journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"

/*
 * Invariants (see journal.h for the protocol and docs/layout.md for why it
 * is crash-safe):
 *
 *  - The journal area holds at most one transaction: a pm_journal_hdr and
 *    payload_len bytes of records, each a pm_journal_rec followed by its
 *    data padded to 8 bytes. The header's crc covers header (crc = 0) and
 *    payload, so the area is either one whole committed transaction or
 *    garbage that recovery ignores.
 *  - No home location is written before the transaction that writes it is
 *    durable in the journal, and the next commit starts only after every
 *    home write of the previous one is durable. So at any crash the media
 *    is "after k transactions" plus, maybe, a partly applied k+1 whose
 *    journal copy is whole: replaying it yields "after k+1".
 *  - Records are whole byte images, never deltas, so replaying an already
 *    applied transaction changes nothing.
 *  - j->buf has the same format as the payload on media; j->used is its
 *    length, always a multiple of 8.
 */

#define HDR_SIZE sizeof(struct pm_journal_hdr)
#define REC_SIZE sizeof(struct pm_journal_rec)

static uint64_t
pad8(uint64_t n)
{
	return (n + 7) & ~(uint64_t)7;
}

static uint64_t
capacity(const struct journal *j)
{
	return j->size - HDR_SIZE;
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
	j->buf = malloc(size - HDR_SIZE);
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

int
journal_format(struct journal *j)
{
	struct pm_media *m = j->media;
	int ret;

	journal_abort(j);
	ret = media_write(m, j->off, NULL, HDR_SIZE);
	if (ret)
		return ret;
	j->seq = 0;
	return m->persist(m, j->off, HDR_SIZE);
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

/* apply -- copy every record of a walked payload to its home, then
 * persist the span they cover with one call. Order within a transaction
 * does not matter (recovery replays it whole), and on a plain file every
 * persist is an msync that also commits the filesystem's own journal, so
 * one span costs far less than one call per record; the bytes between the
 * records are already durable, so including them changes nothing. */
static int
apply(struct journal *j, const uint8_t *payload, uint64_t len)
{
	struct pm_media *m = j->media;
	uint64_t pos = 0, lo = UINT64_MAX, hi = 0;
	int ret;

	while (pos < len) {
		struct pm_journal_rec r;

		memcpy(&r, payload + pos, REC_SIZE);
		pos += REC_SIZE;
		ret = media_write(m, r.off, payload + pos, r.len);
		if (ret)
			return ret;
		pos += pad8(r.len);
		if (r.off < lo)
			lo = r.off;
		if (r.off + r.len > hi)
			hi = r.off + r.len;
	}
	return hi > lo ? m->persist(m, lo, hi - lo) : 0;
}

static uint32_t
hdr_crc(const struct pm_journal_hdr *h, const uint8_t *payload)
{
	struct pm_journal_hdr tmp = *h;

	tmp.crc = 0;
	return crc32c(crc32c(0, &tmp, HDR_SIZE), payload, h->payload_len);
}

int
journal_recover(struct journal *j)
{
	struct pm_media *m = j->media;
	const uint8_t *area = m->base + j->off;
	struct pm_journal_hdr h;
	int ret;

	memcpy(&h, area, HDR_SIZE);
	/* Anything that is not a whole committed transaction is a torn or
	 * never-made commit: the transaction did not happen. */
	if (h.magic != PM_JOURNAL_MAGIC || h.payload_len > capacity(j) ||
	    h.payload_len % 8)
		return 0;
	if (hdr_crc(&h, area + HDR_SIZE) != h.crc)
		return 0;
	/* A crc-valid transaction was written by us; if it names bad
	 * targets the region is corrupt, not merely interrupted. */
	if (walk(j, area + HDR_SIZE, h.payload_len, h.nrecs))
		return -EUCLEAN;
	j->seq = h.seq;
	if (h.nrecs == 0)
		return 0;
	ret = apply(j, area + HDR_SIZE, h.payload_len);
	return ret ? ret : 1;
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
	memcpy(j->buf + j->used, &r, REC_SIZE);
	memcpy(j->buf + j->used + REC_SIZE, data, len);
	/* Zero the padding so the crc (and the media image) is the same for
	 * the same transaction. */
	memset(j->buf + j->used + REC_SIZE + len, 0, pad8(len) - len);
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
	int ret;

	if (j->nrecs == 0)
		return 0;
	h.crc = hdr_crc(&h, j->buf);
	ret = media_write(m, j->off + HDR_SIZE, j->buf, j->used);
	if (ret == 0)
		ret = media_write(m, j->off, &h, HDR_SIZE);
	if (ret) {
		journal_abort(j);
		return ret;
	}
	/* The commit point: once this persist returns, the transaction
	 * happened, whatever follows. */
	ret = m->persist(m, j->off, HDR_SIZE + j->used);
	if (ret == 0)
		ret = apply(j, j->buf, j->used);
	if (ret == 0)
		j->seq = h.seq;
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

/* test_journal.c -- the redo journal, including power loss at every persist. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "journal.h"
#include "layout.h"

#include "fdcheck.h"

/*
 * The media is two buffers: "live" is what the CPU sees (the mapping) and
 * "durable" what survives power loss. persist copies a range from live to
 * durable, and can stop at the Nth call -- losing it, or copying only its
 * first or second half (a torn write) -- after which nothing more becomes
 * durable. Recovery then runs on a copy of the durable image only.
 */

#define REGION (256u * 1024)
#define JOFF 8192u
#define JSIZE (16u * 1024)
#define LOG_MAX 64

enum tear { TEAR_LOST, TEAR_FIRST_HALF, TEAR_SECOND_HALF, TEAR_KINDS };

struct mem {
	struct pm_media m;
	uint8_t *durable;
	unsigned persists; /* calls so far */
	unsigned crash_at; /* the call that loses power; 0 = never */
	enum tear tear;
	bool crashed;
	unsigned writes; /* calls of mem_write */
	struct {
		uint64_t off, len;
	} log[LOG_MAX];
};

static int
mem_persist(struct pm_media *m, uint64_t off, uint64_t len)
{
	struct mem *x = m->ctx;
	uint64_t half = len / 2;

	assert_true(off <= m->size && len <= m->size - off);
	if (x->crashed)
		return -EIO;
	if (x->persists < LOG_MAX) {
		x->log[x->persists].off = off;
		x->log[x->persists].len = len;
	}
	x->persists++;
	if (x->crash_at && x->persists == x->crash_at) {
		x->crashed = true;
		if (x->tear == TEAR_FIRST_HALF)
			memcpy(x->durable + off, m->base + off, half);
		else if (x->tear == TEAR_SECOND_HALF)
			memcpy(x->durable + off + half, m->base + off + half,
			       len - half);
		return -EIO;
	}
	memcpy(x->durable + off, m->base + off, len);
	return 0;
}

/* With write_calls set, the media stores through a write function (as a
 * plain-file region does with pwrite), which makes the journal coalesce
 * nearby records into one call; otherwise stores go through base. */
static bool write_calls;

static int
mem_write(struct pm_media *m, uint64_t off, const void *src, uint64_t len)
{
	struct mem *x = m->ctx;

	assert_true(off <= m->size && len <= m->size - off);
	x->writes++;
	if (src)
		memcpy(m->base + off, src, len);
	else
		memset(m->base + off, 0, len);
	return 0;
}

/* mem_new -- a media whose live and durable images are both @image. */
static struct mem *
mem_new(const uint8_t *image)
{
	struct mem *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->m.base = malloc(REGION);
	x->durable = malloc(REGION);
	assert_non_null(x->m.base);
	assert_non_null(x->durable);
	memcpy(x->m.base, image, REGION);
	memcpy(x->durable, image, REGION);
	x->m.size = REGION;
	x->m.persist = mem_persist;
	x->m.write = write_calls ? mem_write : NULL;
	x->m.ctx = x;
	return x;
}

static void
mem_free(struct mem *x)
{
	free(x->m.base);
	free(x->durable);
	free(x);
}

/* same_metadata -- equal outside the journal area. */
static bool
same_metadata(const uint8_t *a, const uint8_t *b)
{
	return memcmp(a, b, JOFF) == 0 &&
	       memcmp(a + JOFF + JSIZE, b + JOFF + JSIZE,
		      REGION - JOFF - JSIZE) == 0;
}

/* A scripted workload. Writes overlap within and across transactions,
 * have odd lengths, and hit both sides of the journal area. */
struct wr {
	uint32_t off;
	uint32_t len;
};

struct txn {
	unsigned n;
	struct wr w[6];
};

#define META (JOFF + JSIZE)
static const struct txn script[] = {
	{2, {{0, 64}, {META, 256}}},
	{1, {{META + 100, 1}}},
	{5,
	 {{META + 4096, 4096 + 3},
	  {META + 4100, 17},
	  {JOFF - 7, 7},
	  {META + 50000, 999},
	  {REGION - 5, 5}}},
	{3, {{META + 200, 300}, {META + 250, 100}, {16, 8}}},
	{1, {{META + 10000, 2048}}},
	{6,
	 {{META, 1},
	  {META + 1, 2},
	  {META + 3, 3},
	  {META + 6, 4},
	  {META + 10, 5},
	  {META + 90000, 4000}}},
};
#define NTXN (sizeof(script) / sizeof(script[0]))

static uint8_t
pattern(unsigned t, unsigned r, uint32_t i)
{
	return (uint8_t)(t * 31 + r * 7 + i * 13 + (i >> 8));
}

static void
fill(uint8_t *buf, unsigned t, unsigned r, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = pattern(t, r, i);
}

static uint8_t *
initial_image(void)
{
	uint8_t *img = malloc(REGION);

	assert_non_null(img);
	for (uint32_t i = 0; i < REGION; i++)
		img[i] = (uint8_t)(i * 2654435761u >> 24);
	return img;
}

/* expected_states -- states[k] = the image after k whole transactions. */
static uint8_t **
expected_states(const uint8_t *init)
{
	uint8_t **s = calloc(NTXN + 1, sizeof(*s));
	uint8_t data[8192];

	assert_non_null(s);
	for (unsigned k = 0; k <= NTXN; k++) {
		s[k] = malloc(REGION);
		assert_non_null(s[k]);
		memcpy(s[k], k ? s[k - 1] : init, REGION);
		if (k == 0)
			continue;
		for (unsigned r = 0; r < script[k - 1].n; r++) {
			const struct wr *w = &script[k - 1].w[r];

			fill(data, k - 1, r, w->len);
			memcpy(s[k] + w->off, data, w->len);
		}
	}
	return s;
}

static void
free_states(uint8_t **s)
{
	for (unsigned k = 0; k <= NTXN; k++)
		free(s[k]);
	free(s);
}

/* run_txn -- stage and commit script[t]. */
static int
run_txn(struct journal *j, unsigned t)
{
	uint8_t data[8192];

	for (unsigned r = 0; r < script[t].n; r++) {
		const struct wr *w = &script[t].w[r];

		fill(data, t, r, w->len);
		assert_int_equal(journal_add(j, w->off, data, w->len), 0);
	}
	return journal_commit(j);
}

/* formatted -- an initial image whose journal area is formatted. */
static uint8_t *
formatted(void)
{
	uint8_t *img = initial_image();
	struct mem *x = mem_new(img);
	struct journal j;

	assert_int_equal(journal_init(&j, &x->m, JOFF, JSIZE), 0);
	assert_int_equal(journal_format(&j), 0);
	journal_fini(&j);
	memcpy(img, x->durable, REGION);
	mem_free(x);
	return img;
}

/* crash_everywhere -- run the script with the journal @jsize bytes long,
 * losing power at every persist in turn (and tearing it both ways), and
 * check that recovery always finds the state after exactly the
 * transactions whose commit persist returned. */
static void
crash_everywhere(uint64_t jsize, unsigned min_checkpoints)
{
	uint8_t *init = formatted();
	uint8_t **want = expected_states(init);
	unsigned commit_at[NTXN], total, checkpoints = 0;
	struct mem *x = mem_new(init);
	struct journal j;

	assert_true(same_metadata(init, want[0]));
	/* A clean run numbers the persists: each commit's last persist is
	 * its commit point; one that starts over at offset 0 first makes
	 * the homes durable and ends the old chain (two more). */
	assert_int_equal(journal_init(&j, &x->m, JOFF, jsize), 0);
	for (unsigned t = 0; t < NTXN; t++) {
		unsigned before = x->persists;

		assert_int_equal(run_txn(&j, t), 0);
		commit_at[t] = x->persists;
		assert_true(commit_at[t] - before == 1 ||
			    commit_at[t] - before == 3);
		checkpoints += commit_at[t] - before == 3;
	}
	assert_true(checkpoints >= min_checkpoints);
	assert_int_equal(journal_checkpoint(&j), 0);
	assert_true(same_metadata(x->durable, want[NTXN]));
	total = x->persists;
	journal_fini(&j);
	mem_free(x);

	/* N = total + 1 never crashes: the clean run. */
	for (unsigned n = 1; n <= total + 1; n++) {
		for (int tear = 0; tear < TEAR_KINDS; tear++) {
			struct mem *y;
			struct journal r;
			unsigned k = 0, at = 0;
			int ret = 0, ret2;

			x = mem_new(init);
			x->crash_at = n;
			x->tear = (enum tear)tear;
			assert_int_equal(journal_init(&j, &x->m, JOFF, jsize),
					 0);
			assert_int_equal(journal_recover(&j), 0);
			while (k < NTXN && (ret = run_txn(&j, k)) == 0)
				k++;
			if (k == NTXN)
				ret = journal_checkpoint(&j);
			journal_fini(&j);
			if (n > total) {
				assert_int_equal(ret, 0);
				assert_false(x->crashed);
			} else {
				assert_true(x->crashed);
				assert_int_equal(ret, -EIO);
			}
			/* Once the commit persist returned, the transaction
			 * happened; before that, it did not. */
			while (at < NTXN && commit_at[at] < n)
				at++;

			/* Power comes back: only the durable image is left. */
			y = mem_new(x->durable);
			assert_int_equal(journal_init(&r, &y->m, JOFF, jsize),
					 0);
			ret = journal_recover(&r);
			assert_true(ret == 0 || ret == 1);
			if (!same_metadata(y->m.base, want[at]))
				fail_msg("crash at persist %u (tear %d): not "
					 "the state after %u transactions",
					 n, tear, at);
			/* Recovery checkpoints: the state is durable. */
			assert_true(same_metadata(y->durable, want[at]));

			/* Replay is idempotent. */
			ret2 = journal_recover(&r);
			assert_true(ret2 == 0 || ret2 == 1);
			assert_true(same_metadata(y->m.base, want[at]));

			/* And the region keeps working from there, through
			 * another power loss without a checkpoint. */
			for (unsigned t = at; t < NTXN; t++)
				assert_int_equal(run_txn(&r, t), 0);
			journal_fini(&r);
			memcpy(y->m.base, y->durable, REGION);
			assert_int_equal(journal_init(&r, &y->m, JOFF, jsize),
					 0);
			assert_true(journal_recover(&r) >= 0);
			assert_true(same_metadata(y->m.base, want[NTXN]));
			assert_true(same_metadata(y->durable, want[NTXN]));
			journal_fini(&r);
			mem_free(y);
			mem_free(x);
		}
	}
	free_states(want);
	free(init);
}

static void
crash_at_every_persist_leaves_whole_transactions(void **state)
{
	(void)state;
	crash_everywhere(JSIZE, 0);
}

/* The same with a journal so small that the log starts over (checkpoints)
 * during the script. */
static void
crash_at_every_persist_across_checkpoints(void **state)
{
	(void)state;
	crash_everywhere(6144, 2);
}

/* The same through a write function: records are coalesced into runs,
 * and overlapping records within a transaction must still land in order. */
static void
crash_at_every_persist_through_writes(void **state)
{
	(void)state;
	write_calls = true;
	crash_everywhere(JSIZE, 0);
	crash_everywhere(6144, 2);
	write_calls = false;
}

/* commit_overlapping -- commit one transaction: @n1 bytes of 0xaa at
 * @off1, then @n2 bytes of 0xbb at @off2 over part of them; the later
 * record must win wherever they overlap. */
static void
commit_overlapping(struct journal *j, struct mem *x, uint64_t off1,
		   uint32_t n1, uint64_t off2, uint32_t n2)
{
	static uint8_t a[65536], b[65536];
	uint64_t lo = off1 < off2 ? off1 : off2;
	uint64_t hi = off1 + n1 > off2 + n2 ? off1 + n1 : off2 + n2;

	assert_true(n1 <= sizeof(a) && n2 <= sizeof(b));
	memset(a, 0xaa, n1);
	memset(b, 0xbb, n2);
	assert_int_equal(journal_add(j, off1, a, n1), 0);
	assert_int_equal(journal_add(j, off2, b, n2), 0);
	assert_int_equal(journal_commit(j), 0);
	for (uint64_t i = lo; i < hi; i++) {
		uint8_t want = i >= off2 && i < off2 + n2 ? 0xbb : 0xaa;

		if (x->m.base[i] != want)
			fail_msg("byte %llu is %#x, not %#x",
				 (unsigned long long)i, x->m.base[i], want);
	}
}

/* write_media_open -- a formatted media that stores through its write
 * function, and a journal of @jsize bytes on it; *ret_init is the image
 * to free after write_media_close(). */
static struct mem *
write_media_open(struct journal *j, uint64_t jsize, uint8_t **ret_init)
{
	struct mem *x;

	write_calls = true;
	*ret_init = formatted();
	x = mem_new(*ret_init);
	assert_int_equal(journal_init(j, &x->m, JOFF, jsize), 0);
	return x;
}

static void
write_media_close(struct journal *j, struct mem *x, uint8_t *init)
{
	journal_fini(j);
	mem_free(x);
	free(init);
	write_calls = false;
}

/* Nearby records of a transaction are stored with one call. */
static void
nearby_records_are_stored_with_one_write(void **state)
{
	uint8_t *init;
	struct journal j;
	struct mem *x = write_media_open(&j, JSIZE, &init);

	(void)state;
	/* script[5]: five adjacent records and one far away: the log
	 * append, then two runs. */
	x->writes = 0;
	assert_int_equal(run_txn(&j, 5), 0);
	assert_int_equal(x->writes, 1 + 2);
	/* script[3]: two overlapping records 250 bytes from a third...
	 * which is far (offset 16): the log, then two runs. */
	x->writes = 0;
	assert_int_equal(run_txn(&j, 3), 0);
	assert_int_equal(x->writes, 1 + 2);
	/* A later record that starts before an earlier one and overlaps it
	 * wins where they overlap, though it sorts first. */
	x->writes = 0;
	commit_overlapping(&j, x, META + 300, 100, META + 280, 50);
	assert_int_equal(x->writes, 1 + 1);
	write_media_close(&j, x, init);
}

/* Records that overlap land in one run even past its size bound: a later
 * record that sorts first must not be overwritten by an earlier one that
 * would otherwise start the next run. */
static void
overlapping_records_in_a_long_run_keep_their_order(void **state)
{
	const uint64_t jsize = 128 * 1024, base = JOFF + jsize;
	uint8_t *init;
	struct journal j;
	struct mem *x = write_media_open(&j, jsize, &init);

	(void)state;
	/* 20000 bytes first, then 60000 (later) over their first 10000. */
	commit_overlapping(&j, x, base + 50000, 20000, base, 60000);
	write_media_close(&j, x, init);
}

/* A stale transaction left beyond the end of the chain, with exactly the
 * seq that would continue it, is never replayed: recovery numbers new
 * transactions after the largest seq in the area. */
static void
stale_transactions_never_continue_a_chain(void **state)
{
	uint8_t *init = formatted();
	uint8_t **want = expected_states(init);
	struct mem *x = mem_new(init), *y;
	struct journal j;

	(void)state;
	assert_int_equal(journal_init(&j, &x->m, JOFF, JSIZE), 0);
	/* Transactions 0 and 1 at the start of the log, then a checkpoint:
	 * the log starts over, and script[0] again lands at offset 0 with
	 * the same length as before, so the old transaction 1 (seq 2) sits
	 * right after it. */
	assert_int_equal(run_txn(&j, 0), 0);
	assert_int_equal(run_txn(&j, 1), 0);
	assert_int_equal(journal_checkpoint(&j), 0);
	assert_int_equal(j.pos, 0);
	journal_fini(&j);
	/* A restart finds seq 2 in the area and goes on from 3. */
	y = mem_new(x->durable);
	assert_int_equal(journal_init(&j, &y->m, JOFF, JSIZE), 0);
	assert_int_equal(journal_recover(&j), 0);
	assert_int_equal(j.seq, 2);
	/* Transaction 0 again: whatever it writes, a replay of the stale
	 * transaction 1 after it would be visible in script[1]'s bytes. */
	assert_int_equal(run_txn(&j, 0), 0);
	journal_fini(&j);
	mem_free(x);
	x = mem_new(y->durable);
	assert_int_equal(journal_init(&j, &x->m, JOFF, JSIZE), 0);
	assert_int_equal(journal_recover(&j), 1);
	assert_int_equal(j.seq, 3);
	/* The state is want[2] with script[0] written again, which takes
	 * back the byte script[1] wrote inside script[0]'s first range; a
	 * replay of the stale seq 2 would have put it back. */
	memcpy(want[1], want[2], REGION);
	for (unsigned r = 0; r < script[0].n; r++) {
		uint8_t data[8192];

		fill(data, 0, r, script[0].w[r].len);
		memcpy(want[1] + script[0].w[r].off, data, script[0].w[r].len);
	}
	assert_false(same_metadata(want[1], want[2]));
	assert_true(same_metadata(x->m.base, want[1]));
	journal_fini(&j);
	mem_free(x);
	mem_free(y);
	free_states(want);
	free(init);
}

static void
commit_persists_only_the_appended_transaction(void **state)
{
	uint8_t *init = formatted();
	struct mem *x = mem_new(init);
	struct journal j;
	uint64_t payload = 0, lo = UINT64_MAX, hi = 0, len0;

	(void)state;
	assert_int_equal(journal_init(&j, &x->m, JOFF, JSIZE), 0);
	assert_int_equal(run_txn(&j, 2), 0);
	assert_int_equal(x->persists, 1);
	for (unsigned r = 0; r < script[2].n; r++) {
		const struct wr *w = &script[2].w[r];

		payload += sizeof(struct pm_journal_rec) + ((w->len + 7) & ~7u);
		if (w->off < lo)
			lo = w->off;
		if (w->off + w->len > hi)
			hi = w->off + w->len;
	}
	len0 = sizeof(struct pm_journal_hdr) + payload;
	assert_int_equal(x->log[0].off, JOFF);
	assert_int_equal(x->log[0].len, len0);
	assert_int_equal(j.seq, 1);
	/* The next one starts on the next 4 KiB boundary. */
	assert_int_equal(run_txn(&j, 0), 0);
	assert_int_equal(x->persists, 2);
	assert_int_equal(x->log[1].off, JOFF + ((len0 + 4095) & ~4095ull));
	assert_int_equal(j.seq, 2);
	if (script[0].w[0].off < lo)
		lo = script[0].w[0].off;
	for (unsigned r = 0; r < script[0].n; r++) {
		const struct wr *w = &script[0].w[r];

		if (w->off < lo)
			lo = w->off;
		if (w->off + w->len > hi)
			hi = w->off + w->len;
	}
	/* A checkpoint persists the span of every home written since, then
	 * ends the chain at offset 0. */
	assert_int_equal(journal_checkpoint(&j), 0);
	assert_int_equal(x->persists, 4);
	assert_int_equal(x->log[2].off, lo);
	assert_int_equal(x->log[2].len, hi - lo);
	assert_int_equal(x->log[3].off, JOFF);
	assert_int_equal(x->log[3].len, sizeof(struct pm_journal_hdr));
	/* Nothing new: nothing to do. */
	assert_int_equal(journal_checkpoint(&j), 0);
	assert_int_equal(x->persists, 4);
	journal_fini(&j);
	mem_free(x);
	free(init);
}

static void
abort_leaves_the_region_untouched(void **state)
{
	uint8_t *init = formatted();
	struct mem *x = mem_new(init);
	struct journal j;
	uint8_t data[512];
	uint64_t room;

	(void)state;
	memset(data, 0xab, sizeof(data));
	assert_int_equal(journal_init(&j, &x->m, JOFF, JSIZE), 0);
	room = journal_room(&j);
	assert_int_equal(room, JSIZE - sizeof(struct pm_journal_hdr));
	assert_int_equal(journal_add(&j, META, data, sizeof(data)), 0);
	assert_int_equal(journal_add(&j, 0, data, 5), 0);
	assert_int_equal(journal_room(&j), room - 16 - 512 - 16 - 8);
	/* Staging touches nothing, not even the journal area. */
	assert_memory_equal(x->m.base, init, REGION);
	journal_abort(&j);
	assert_int_equal(journal_room(&j), room);
	/* Nothing is left to commit. */
	assert_int_equal(journal_commit(&j), 0);
	assert_int_equal(x->persists, 0);
	assert_memory_equal(x->m.base, init, REGION);
	assert_memory_equal(x->durable, init, REGION);
	assert_int_equal(j.seq, 0);
	journal_fini(&j);
	mem_free(x);
	free(init);
}

static void
add_returns_e2big_when_the_journal_is_full(void **state)
{
	uint8_t *init = formatted();
	struct mem *x = mem_new(init), *y;
	struct journal j;
	static uint8_t data[JSIZE];
	uint8_t *want;
	uint64_t room, off = META;
	unsigned n = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(journal_init(&j, &x->m, JOFF, JSIZE), 0);
	assert_int_equal(journal_add(&j, META, data, JSIZE), -E2BIG);
	assert_int_equal(journal_add(&j, META, data,
				     JSIZE - sizeof(struct pm_journal_hdr)),
			 -E2BIG);
	for (;;) {
		int ret;

		room = journal_room(&j);
		ret = journal_add(&j, off, data, 1000);
		if (ret == -E2BIG)
			break;
		assert_int_equal(ret, 0);
		off += 1000;
		n++;
	}
	assert_int_equal(n, (JSIZE - 32) / (16 + 1000));
	/* A refused add leaves the transaction as it was. */
	assert_int_equal(journal_room(&j), room);
	assert_true(room < 16 + 1000);
	/* Fill to the last byte: the exact fit still commits. */
	assert_int_equal(journal_add(&j, off, data + 3, (uint32_t)room - 16),
			 0);
	assert_int_equal(journal_room(&j), 0);
	assert_int_equal(journal_add(&j, off, data, 1), -E2BIG);
	assert_int_equal(journal_commit(&j), 0);
	/* The log is committed, the homes not yet durable. */
	y = mem_new(x->durable);

	want = malloc(REGION);
	assert_non_null(want);
	memcpy(want, init, REGION);
	for (unsigned i = 0; i < n; i++)
		memcpy(want + META + i * 1000, data, 1000);
	memcpy(want + off, data + 3, room - 16);
	assert_true(same_metadata(x->m.base, want));
	assert_true(same_metadata(y->m.base, init));
	assert_int_equal(journal_checkpoint(&j), 0);
	assert_true(same_metadata(x->durable, want));

	/* Abort empties a full journal. */
	assert_int_equal(journal_add(&j, off, data, 1000), 0);
	journal_abort(&j);
	assert_int_equal(journal_room(&j), JSIZE - 32);
	/* The log is full: the next commit starts it over at offset 0. */
	assert_int_equal(journal_add(&j, META, data + 5, 1000), 0);
	assert_int_equal(journal_commit(&j), 0);
	assert_int_equal(j.pos, 4096);
	journal_fini(&j);

	/* The full transaction replays whole. */
	assert_int_equal(journal_init(&j, &y->m, JOFF, JSIZE), 0);
	assert_int_equal(journal_recover(&j), 1);
	assert_true(same_metadata(y->m.base, want));
	journal_fini(&j);
	mem_free(y);
	free(want);
	mem_free(x);
	free(init);
}

static void
add_rejects_targets_outside_the_region_or_journal(void **state)
{
	uint8_t *init = formatted();
	struct mem *x = mem_new(init);
	struct journal j;
	uint8_t data[16] = {1, 2, 3};
	static const struct {
		uint64_t off;
		uint32_t len;
		int err;
	} cases[] = {
		{REGION - 1, 2, -EINVAL},
		{REGION, 1, -EINVAL},
		{UINT64_MAX, 1, -EINVAL},
		{UINT64_MAX - 3, 8, -EINVAL},
		{JOFF, 1, -EINVAL},
		{JOFF - 1, 2, -EINVAL},
		{JOFF + JSIZE - 1, 1, -EINVAL},
		{JOFF + 100, 8, -EINVAL},
		{0, UINT32_MAX, -EINVAL},
		{JOFF - 1, 1, 0},
		{JOFF + JSIZE, 1, 0},
		{REGION - 16, 16, 0},
		{0, 1, 0},
	};

	(void)state;
	assert_int_equal(journal_init(&j, &x->m, JOFF, JSIZE), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t room = journal_room(&j);
		int ret = journal_add(&j, cases[i].off, data, cases[i].len);

		if (ret != cases[i].err)
			fail_msg("case %zu: got %d, want %d", i, ret,
				 cases[i].err);
		if (ret)
			assert_int_equal(journal_room(&j), room);
	}
	assert_int_equal(j.nrecs, 4);
	journal_fini(&j);
	mem_free(x);
	free(init);
}

static void
init_rejects_an_area_outside_the_media(void **state)
{
	uint8_t *init = formatted();
	struct mem *x = mem_new(init);
	struct journal j;

	(void)state;
	assert_int_equal(journal_init(&j, &x->m, REGION - 4096, 8192),
			 -EINVAL);
	journal_fini(&j);
	assert_int_equal(journal_init(&j, &x->m, UINT64_MAX - 4095, 8192),
			 -EINVAL);
	journal_fini(&j);
	assert_int_equal(journal_init(&j, &x->m, JOFF, 32), -EINVAL);
	journal_fini(&j);
	assert_int_equal(journal_init(&j, &x->m, JOFF + 3, JSIZE), -EINVAL);
	journal_fini(&j);
	assert_int_equal(journal_init(&j, &x->m, JOFF, JSIZE), 0);
	journal_fini(&j);
	journal_fini(&j); /* twice is fine */
	mem_free(x);
	free(init);
}

/* committed_not_applied -- a durable image holding script[2] committed in
 * the journal but not yet durable at home (power lost before a
 * checkpoint). */
static uint8_t *
committed_not_applied(const uint8_t *init)
{
	struct mem *x = mem_new(init);
	struct journal j;
	uint8_t *img = malloc(REGION);

	assert_non_null(img);
	assert_int_equal(journal_init(&j, &x->m, JOFF, JSIZE), 0);
	assert_int_equal(run_txn(&j, 2), 0);
	journal_fini(&j);
	memcpy(img, x->durable, REGION);
	mem_free(x);
	assert_true(same_metadata(img, init));
	return img;
}

/* recover_image -- recover a copy of @img into @out (REGION bytes); no
 * allocation per call, as the corruption loops call it often. */
static int
recover_image(const uint8_t *img, uint8_t *out)
{
	static uint8_t durable[REGION];
	struct mem y = {.m = {.base = out,
			      .size = REGION,
			      .persist = mem_persist},
			.durable = durable};
	struct journal j;
	int ret;

	y.m.ctx = &y;
	memcpy(out, img, REGION);
	assert_int_equal(journal_init(&j, &y.m, JOFF, JSIZE), 0);
	ret = journal_recover(&j);
	journal_fini(&j);
	return ret;
}

static void
recover_ignores_a_corrupt_header_or_payload(void **state)
{
	uint8_t *init = formatted();
	uint8_t *img = committed_not_applied(init);
	uint8_t *bad = malloc(REGION), *out = malloc(REGION);
	uint8_t **want = expected_states(init);
	struct pm_journal_hdr h;
	uint64_t len;

	(void)state;
	assert_non_null(bad);
	assert_non_null(out);
	/* Intact, it replays. */
	assert_int_equal(recover_image(img, out), 1);
	assert_true(same_metadata(out, want[0]) == false);

	memcpy(&h, img + JOFF, sizeof(h));
	len = sizeof(h) + h.payload_len;
	/* Every bit of the header, and a bit of each of ~1000 payload bytes
	 * spread over records and data. */
	for (uint64_t bit = 0; bit < len * 8;
	     bit += bit < sizeof(h) * 8 ? 1 : 8 * (len / 1000) + 1) {
		memcpy(bad, img, REGION);
		bad[JOFF + bit / 8] ^= (uint8_t)(1u << bit % 8);
		assert_int_equal(recover_image(bad, out), 0);
		assert_memory_equal(out, bad, REGION);
	}
	/* Absurd lengths are bounded before the crc is taken. */
	static const uint64_t lens[] = {UINT64_MAX, JSIZE, JSIZE - 31,
					(1ull << 63) + 64};
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		memcpy(bad, img, REGION);
		memcpy(bad + JOFF + offsetof(struct pm_journal_hdr,
					     payload_len),
		       &lens[i], 8);
		assert_int_equal(recover_image(bad, out), 0);
		assert_memory_equal(out, bad, REGION);
	}
	free_states(want);
	free(out);
	free(bad);
	free(img);
	free(init);
}

/* forge -- write a crc-valid transaction of one record by hand. */
static void
forge(uint8_t *img, uint64_t off, uint32_t len, uint32_t nrecs,
      uint32_t reserved)
{
	struct pm_journal_hdr h = {.magic = PM_JOURNAL_MAGIC, .seq = 9};
	struct pm_journal_rec r = {.off = off, .len = len,
				   .reserved = reserved};
	uint8_t *p = img + JOFF + sizeof(h);
	uint64_t plen = sizeof(r) + ((len + 7) & ~7u);

	memcpy(p, &r, sizeof(r));
	memset(p + sizeof(r), 0x5a, plen - sizeof(r));
	h.payload_len = plen;
	h.nrecs = nrecs;
	h.crc = crc32c(crc32c(0, &h, sizeof(h)), p, plen);
	memcpy(img + JOFF, &h, sizeof(h));
}

static void
recover_refuses_a_valid_transaction_with_bad_targets(void **state)
{
	uint8_t *init = formatted();
	uint8_t *img = malloc(REGION), *out = malloc(REGION);
	static const struct {
		uint64_t off;
		uint32_t len, nrecs, reserved;
		int want;
	} cases[] = {
		{META, 8, 1, 0, 1}, /* the control: it is well formed */
		{JOFF, 8, 1, 0, -EUCLEAN},
		{JOFF - 4, 8, 1, 0, -EUCLEAN},
		{REGION - 4, 8, 1, 0, -EUCLEAN},
		{UINT64_MAX - 3, 8, 1, 0, -EUCLEAN},
		{META, 8, 2, 0, -EUCLEAN},
		{META, 8, 0, 0, -EUCLEAN},
		{META, 8, 1, 1, -EUCLEAN},
	};

	(void)state;
	assert_non_null(img);
	assert_non_null(out);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret;

		memcpy(img, init, REGION);
		forge(img, cases[i].off, cases[i].len, cases[i].nrecs,
		      cases[i].reserved);
		ret = recover_image(img, out);
		if (ret != cases[i].want)
			fail_msg("case %zu: got %d, want %d", i, ret,
				 cases[i].want);
		if (ret < 0)
			assert_memory_equal(out, img, REGION);
	}
	/* A record running past the payload. */
	memcpy(img, init, REGION);
	forge(img, META, 8, 1, 0);
	{
		struct pm_journal_hdr h;
		struct pm_journal_rec r;

		memcpy(&h, img + JOFF, sizeof(h));
		memcpy(&r, img + JOFF + sizeof(h), sizeof(r));
		r.len = 64;
		memcpy(img + JOFF + sizeof(h), &r, sizeof(r));
		h.crc = 0;
		h.crc = crc32c(crc32c(0, &h, sizeof(h)),
			       img + JOFF + sizeof(h), h.payload_len);
		memcpy(img + JOFF, &h, sizeof(h));
	}
	assert_int_equal(recover_image(img, out), -EUCLEAN);
	assert_memory_equal(out, img, REGION);
	free(out);
	free(img);
	free(init);
}

static void
format_leaves_no_transaction_to_recover(void **state)
{
	uint8_t *init = formatted();
	struct mem *x = mem_new(init), *y;
	struct journal j;

	(void)state;
	assert_int_equal(journal_init(&j, &x->m, JOFF, JSIZE), 0);
	assert_int_equal(journal_recover(&j), 0);
	assert_int_equal(run_txn(&j, 0), 0);
	assert_int_equal(journal_recover(&j), 1);
	x->persists = 0;
	assert_int_equal(journal_format(&j), 0);
	assert_int_equal(x->persists, 1);
	assert_int_equal(x->log[0].off, JOFF);
	assert_int_equal(x->log[0].len, JSIZE);
	journal_fini(&j);
	y = mem_new(x->durable);
	assert_int_equal(journal_init(&j, &y->m, JOFF, JSIZE), 0);
	assert_int_equal(journal_recover(&j), 0);
	journal_fini(&j);
	mem_free(y);
	mem_free(x);
	free(init);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(crash_at_every_persist_leaves_whole_transactions),
		fdcheck_test(commit_persists_only_the_appended_transaction),
		fdcheck_test(crash_at_every_persist_across_checkpoints),
		fdcheck_test(stale_transactions_never_continue_a_chain),
		fdcheck_test(crash_at_every_persist_through_writes),
		fdcheck_test(nearby_records_are_stored_with_one_write),
		fdcheck_test(
			overlapping_records_in_a_long_run_keep_their_order),
		fdcheck_test(abort_leaves_the_region_untouched),
		fdcheck_test(add_returns_e2big_when_the_journal_is_full),
		fdcheck_test(add_rejects_targets_outside_the_region_or_journal),
		fdcheck_test(init_rejects_an_area_outside_the_media),
		fdcheck_test(recover_ignores_a_corrupt_header_or_payload),
		fdcheck_test(
			recover_refuses_a_valid_transaction_with_bad_targets),
		fdcheck_test(format_leaves_no_transaction_to_recover),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_gword.c -- unit tests of a cached grant's state word (gword.c):
 * each transition alone, every interleaving of a holder's and the daemon's
 * real calls over three grants, threads hammering the words against a
 * daemon thread, and words a hostile holder wrote. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The test compiles gword.c itself, with the hook gword.c calls before
 * every CAS attempt: there the tests run the other side's real calls (or a
 * hostile holder's writes) between a call's read and its CAS. Its copy in
 * pagemap_core then is not linked: every symbol of it is defined here.
 */
#define GWORD_TEST_HOOKS 1
#include "gword.c"

#include "clock.h"
#include "fdcheck.h"
#include "rng.h"

static uint64_t
W_(enum gword_state s, uint32_t count, uint32_t gen)
{
	return gword_make(s, count, gen);
}

/* ---- each transition alone ------------------------------------------- */

static void
layout_puts_state_count_and_generation_in_their_bits(void **state)
{
	uint64_t v = W_(GWORD_RECALLING, 0x123456, 0xdeadbeef);

	(void)state;
	assert_int_equal(v, UINT64_C(0xdeadbeef12345603));
	assert_int_equal(gword_state_of(v), GWORD_RECALLING);
	assert_int_equal(gword_count_of(v), 0x123456);
	assert_int_equal(gword_gen_of(v), 0xdeadbeef);
	assert_true(gword_valid(v));
	assert_false(gword_valid(v | 0x10)); /* reserved bit */
	assert_false(gword_valid(W_(GWORD_MAPPED, 0, 1)));
	assert_false(gword_valid(W_(GWORD_CACHED, 1, 1)));
	assert_false(gword_valid(W_(GWORD_TAKEN, 2, 1)));
	assert_false(gword_valid((uint64_t)5 | (uint64_t)1 << 32));
	assert_true(gword_valid(0)); /* a zeroed memfd: FREE, gen 0 */
}

static void
holder_maps_cached_and_mapped_and_backs_out_of_everything_else(void **state)
{
	uint64_t w;

	(void)state;
	w = W_(GWORD_CACHED, 0, 7);
	assert_int_equal(gword_map_begin(&w, 7), GWORD_MAP_OK);
	assert_int_equal(w, W_(GWORD_MAPPED, 1, 7));
	assert_int_equal(gword_map_begin(&w, 7), GWORD_MAP_OK);
	assert_int_equal(w, W_(GWORD_MAPPED, 2, 7));
	assert_int_equal(gword_map_begin(&w, 6), GWORD_MAP_STALE);
	assert_int_equal(w, W_(GWORD_MAPPED, 2, 7));

	w = W_(GWORD_RECALLING, 3, 7);
	assert_int_equal(gword_map_begin(&w, 7), GWORD_MAP_RECALLED);
	assert_int_equal(w, W_(GWORD_RECALLING, 3, 7));
	w = W_(GWORD_TAKEN, 0, 7);
	assert_int_equal(gword_map_begin(&w, 7), GWORD_MAP_RECALLED);
	w = 0;
	assert_int_equal(gword_map_begin(&w, 0), GWORD_MAP_RECALLED);
	assert_int_equal(gword_map_begin(&w, 1), GWORD_MAP_STALE);
	w = W_(GWORD_MAPPED, GWORD_COUNT_MAX, 7);
	assert_int_equal(gword_map_begin(&w, 7), GWORD_MAP_FULL);
	assert_int_equal(w, W_(GWORD_MAPPED, GWORD_COUNT_MAX, 7));
	w = W_(GWORD_MAPPED, 0, 7);
	assert_int_equal(gword_map_begin(&w, 7), GWORD_MAP_BAD);
	assert_int_equal(w, W_(GWORD_MAPPED, 0, 7));
}

static void
holder_unmap_counts_down_and_tells_only_the_last_under_a_recall(void **state)
{
	uint64_t w;

	(void)state;
	w = W_(GWORD_MAPPED, 2, 9);
	assert_int_equal(gword_unmap(&w, 9), GWORD_UNMAP_MAPPED);
	assert_int_equal(w, W_(GWORD_MAPPED, 1, 9));
	assert_int_equal(gword_unmap(&w, 9), GWORD_UNMAP_CACHED);
	assert_int_equal(w, W_(GWORD_CACHED, 0, 9));
	assert_int_equal(gword_unmap(&w, 9), GWORD_UNMAP_BAD);
	assert_int_equal(w, W_(GWORD_CACHED, 0, 9));

	w = W_(GWORD_RECALLING, 2, 9);
	assert_int_equal(gword_unmap(&w, 9), GWORD_UNMAP_RECALLING);
	assert_int_equal(w, W_(GWORD_RECALLING, 1, 9));
	assert_int_equal(gword_unmap(&w, 8), GWORD_UNMAP_BAD);
	assert_int_equal(gword_unmap(&w, 9), GWORD_UNMAP_TELL);
	assert_int_equal(w, W_(GWORD_TAKEN, 0, 9));
	assert_int_equal(gword_unmap(&w, 9), GWORD_UNMAP_BAD);
	assert_int_equal(w, W_(GWORD_TAKEN, 0, 9));
}

static void
daemon_takes_cached_now_and_recalls_mapped(void **state)
{
	uint64_t w;

	(void)state;
	w = W_(GWORD_CACHED, 0, 3);
	assert_int_equal(gword_take_back(&w, 3), GWORD_TAKEN_NOW);
	assert_int_equal(w, W_(GWORD_TAKEN, 0, 3));

	w = W_(GWORD_MAPPED, 5, 3);
	assert_int_equal(gword_take_back(&w, 3), GWORD_RECALL_NEEDED);
	assert_int_equal(w, W_(GWORD_RECALLING, 5, 3));
	assert_int_equal(gword_taken(&w, 3), GWORD_STILL_MAPPED);
	/* It had not recalled it before: a RECALLING word is no word of a
	 * grant it has not recalled. */
	assert_int_equal(gword_take_back(&w, 3), GWORD_HOSTILE);
	assert_int_equal(w, W_(GWORD_RECALLING, 5, 3));
	w = W_(GWORD_TAKEN, 0, 3);
	assert_int_equal(gword_taken(&w, 3), GWORD_IS_TAKEN);
	assert_int_equal(gword_taken(&w, 4), GWORD_TAKEN_HOSTILE);
	assert_int_equal(gword_take_back(&w, 3), GWORD_HOSTILE);

	w = W_(GWORD_CACHED, 0, 4);
	assert_int_equal(gword_take_back(&w, 3), GWORD_HOSTILE);
	assert_int_equal(w, W_(GWORD_CACHED, 0, 4));
	w = W_(GWORD_MAPPED, 1, 3);
	assert_int_equal(gword_taken(&w, 3), GWORD_TAKEN_HOSTILE);
}

static void
issue_makes_a_cached_word_of_the_new_generation_over_anything(void **state)
{
	uint64_t w = 0;

	(void)state;
	assert_int_equal(gword_issue(&w, 1), GWORD_ISSUED);
	assert_int_equal(w, W_(GWORD_CACHED, 0, 1));
	w = W_(GWORD_TAKEN, 0, 1);
	assert_int_equal(gword_issue(&w, 2), GWORD_ISSUED);
	assert_int_equal(w, W_(GWORD_CACHED, 0, 2));
	w = UINT64_MAX;
	assert_int_equal(gword_issue(&w, 3), GWORD_ISSUED_OVER);
	assert_int_equal(w, W_(GWORD_CACHED, 0, 3));
	w = W_(GWORD_MAPPED, 1, 3);
	assert_int_equal(gword_issue(&w, 4), GWORD_ISSUED_OVER);
	assert_int_equal(w, W_(GWORD_CACHED, 0, 4));
}

/* ---- every interleaving ----------------------------------------------- */

/*
 * A holder runs a program of maps of runs of grants and unmaps of its last
 * mapping, then unmaps everything it still maps; the daemon takes back some
 * grants, frees what it may, reads the holder's messages and issues each
 * freed slot again at a new generation (which the holder never learns of,
 * so its old generation must find nothing there). Each side advances one
 * REAL call of gword.c at a time. Before each CAS attempt of a call made at
 * the top level, the hook lets the other side run any number of its whole
 * calls on the same word first. A call writes at most once (its successful
 * CAS) and reads commute with reads, so this reaches every interleaving of
 * the two sides' atomic steps, up to the order of reads; calls on different
 * words commute, so only calls on the word under the CAS (and the daemon's
 * reading of messages, which may touch any) are offered there. (Offering
 * every call instead gives 9.4 million schedules of the default programs,
 * all as good.)
 * Every choice is enumerated depth-first (a schedule is the list of choices;
 * the next one bumps the last choice that has an alternative left).
 * After every step: the words are valid, the word's count equals the
 * holder's live mappings at its generation (so it never goes below 0),
 * nothing mapped is freed, nothing is freed twice, no map succeeds on a
 * grant under recall or of a past generation; at the end every grant the
 * daemon took back was freed exactly once (the holder unmapped everything,
 * so every recall completed) and every other one is still held, cached.
 */

#define NG 3
#define MAXRUN 3
#define MAXOPS 6
#define MAXMSG 16
#define MAXCHOICE 256
#define OP_UNMAP (-1)

struct run {
	int n;
	int g[MAXRUN];
};

static const struct run runs[] = {
	{1, {0}}, {1, {1}}, {1, {2}}, {2, {0, 1}}, {2, {1, 2}}, {3, {0, 1, 2}},
};
#define NRUNS ((int)(sizeof(runs) / sizeof(runs[0])))

enum cphase { C_IDLE, C_MAPPING, C_BACKOUT, C_UNMAPPING };
enum dstate { D_HELD, D_RECALLING, D_FREED };

struct xclient {
	const int *prog;
	int len, pc;
	enum cphase phase;
	int cur; /* run being mapped or backed out of */
	int i;	 /* C_MAPPING: folios begun; else folios left to unmap */
	int stack[MAXOPS + 1], nstack; /* runs mapped, in order */
	uint32_t gen[NG];	       /* the generation it holds */
	uint32_t mapcount[NG];	       /* its live mappings */
};

struct xdaemon {
	const int *prog; /* grants to take back, in order */
	int len, pc;
	uint32_t gen[NG];
	enum dstate st[NG];
	int freed[NG];	  /* frees of the first generation */
	bool reissue[NG]; /* freed; issue the slot again */
	int msg[MAXMSG], nmsg;
	uint32_t msg_gen[MAXMSG];
};

struct choice {
	uint8_t taken, n;
};

static struct {
	uint64_t word[NG];
	struct xclient c;
	struct xdaemon d;
	int running; /* 0 holder, 1 daemon */
	int depth;
	struct choice ch[MAXCHOICE];
	int nch, pos;
	/* what was seen, over all schedules */
	unsigned long long schedules, recalls, taken_now, told, stale, recalled;
} X;

static int
choose(int n)
{
	if (X.pos < X.nch) {
		assert_int_equal(X.ch[X.pos].n, n);
		return X.ch[X.pos++].taken;
	}
	assert_true(X.nch < MAXCHOICE);
	X.ch[X.nch].taken = 0;
	X.ch[X.nch].n = (uint8_t)n;
	X.nch++;
	X.pos++;
	return 0;
}

static bool
next_schedule(void)
{
	while (X.nch > 0 && X.ch[X.nch - 1].taken + 1 >= X.ch[X.nch - 1].n)
		X.nch--;
	if (X.nch == 0)
		return false;
	X.ch[X.nch - 1].taken++;
	return true;
}

static void
check_world(void)
{
	const struct xclient *c = &X.c;
	const struct xdaemon *d = &X.d;

	for (int g = 0; g < NG; g++) {
		uint64_t v = X.word[g];
		unsigned s = gword_state_of(v);

		assert_true(gword_valid(v));
		assert_true(d->freed[g] <= 1);
		if (gword_gen_of(v) == c->gen[g])
			assert_int_equal(gword_count_of(v), c->mapcount[g]);
		else
			assert_int_equal(c->mapcount[g], 0);
		if (c->mapcount[g] > 0) {
			/* Mapped: never freed, never issued again. */
			assert_int_equal(d->gen[g], c->gen[g]);
			assert_int_not_equal(d->st[g], D_FREED);
		}
		if (d->st[g] == D_RECALLING) {
			assert_int_equal(gword_gen_of(v), d->gen[g]);
			assert_true(s == GWORD_RECALLING || s == GWORD_TAKEN);
		} else if (d->st[g] == D_HELD) {
			assert_int_equal(gword_gen_of(v), d->gen[g]);
			assert_true(s == GWORD_CACHED || s == GWORD_MAPPED);
		}
	}
}

/* The word the side's next call works on; -1 for the daemon's drain,
 * which may touch any. Moves the holder past ops that make no call. */
static int
client_next(void)
{
	struct xclient *c = &X.c;

	for (;;) {
		const struct run *r = &runs[c->cur];

		switch (c->phase) {
		case C_MAPPING:
			return r->g[c->i];
		case C_BACKOUT:
		case C_UNMAPPING:
			return r->g[c->i - 1];
		case C_IDLE:
			break;
		}
		if (c->pc < c->len && c->prog[c->pc] != OP_UNMAP) {
			c->phase = C_MAPPING;
			c->cur = c->prog[c->pc];
			c->i = 0;
			continue;
		}
		if (c->nstack == 0) {
			if (c->pc >= c->len)
				return -2; /* done */
			c->pc++;	   /* an unmap with nothing mapped */
			continue;
		}
		c->phase = C_UNMAPPING;
		c->cur = c->stack[c->nstack - 1];
		c->i = runs[c->cur].n;
	}
}

static void
daemon_free(int g)
{
	struct xdaemon *d = &X.d;

	assert_int_not_equal(d->st[g], D_FREED);
	if (X.c.gen[g] == d->gen[g])
		assert_int_equal(X.c.mapcount[g], 0);
	d->st[g] = D_FREED;
	d->freed[g]++;
	d->reissue[g] = true;
}

static bool
daemon_pending(void)
{
	for (int g = 0; g < NG; g++)
		if (X.d.reissue[g])
			return true;
	return X.d.nmsg > 0;
}

static int
daemon_next(void)
{
	if (daemon_pending())
		return -1;
	if (X.d.pc < X.d.len)
		return X.d.prog[X.d.pc];
	return -2;
}

static int
side_next(int side)
{
	return side == 0 ? client_next() : daemon_next();
}

static void
client_unmap(int g)
{
	struct xclient *c = &X.c;
	enum gword_unmap_result r;

	/* The count never goes below zero: only what was mapped is
	 * unmapped, and the word agrees (check_world). */
	assert_true(c->mapcount[g] > 0);
	r = gword_unmap(&X.word[g], c->gen[g]);
	c->mapcount[g]--;
	switch (r) {
	case GWORD_UNMAP_MAPPED:
	case GWORD_UNMAP_CACHED:
	case GWORD_UNMAP_RECALLING:
		break;
	case GWORD_UNMAP_TELL:
		assert_true(X.d.nmsg < MAXMSG);
		X.d.msg[X.d.nmsg] = g;
		X.d.msg_gen[X.d.nmsg++] = c->gen[g];
		X.told++;
		break;
	default:
		fail_msg("unmap of grant %d: result %d", g, r);
	}
}

static void
client_step(void)
{
	struct xclient *c = &X.c;
	const struct run *r;
	enum gword_map_result m;
	int g = client_next();

	assert_true(g >= 0);
	r = &runs[c->cur];
	switch (c->phase) {
	case C_MAPPING:
		m = gword_map_begin(&X.word[g], c->gen[g]);
		if (m == GWORD_MAP_OK) {
			/* Only a live grant at its own generation maps,
			 * and none under a recall (which then ends). */
			assert_int_equal(X.d.gen[g], c->gen[g]);
			assert_int_equal(X.d.st[g], D_HELD);
			c->mapcount[g]++;
			if (++c->i == r->n) {
				c->stack[c->nstack++] = c->cur;
				c->phase = C_IDLE;
				c->pc++;
			}
			return;
		}
		if (m == GWORD_MAP_STALE)
			X.stale++;
		else if (m == GWORD_MAP_RECALLED)
			X.recalled++;
		else
			fail_msg("map of grant %d: result %d", g, m);
		/* Back out of what the run began; then ask the daemon (not
		 * modelled: the map just fails). */
		if (c->i == 0) {
			c->phase = C_IDLE;
			c->pc++;
		} else {
			c->phase = C_BACKOUT;
		}
		return;
	case C_BACKOUT:
		client_unmap(g);
		if (--c->i == 0) {
			c->phase = C_IDLE;
			c->pc++;
		}
		return;
	case C_UNMAPPING:
		client_unmap(g);
		if (--c->i == 0) {
			c->nstack--;
			c->phase = C_IDLE;
			if (c->pc < c->len)
				c->pc++;
		}
		return;
	case C_IDLE:
		break;
	}
	fail_msg("holder step from idle");
}

static void
daemon_step(void)
{
	struct xdaemon *d = &X.d;
	int g;

	if (daemon_pending()) {
		for (int k = 0; k < d->nmsg; k++) {
			g = d->msg[k];
			assert_int_equal(d->msg_gen[k], d->gen[g]);
			assert_int_equal(d->st[g], D_RECALLING);
			assert_int_equal(gword_taken(&X.word[g], d->gen[g]),
					 GWORD_IS_TAKEN);
			daemon_free(g);
		}
		d->nmsg = 0;
		for (g = 0; g < NG; g++) {
			if (!d->reissue[g])
				continue;
			d->reissue[g] = false;
			d->gen[g]++;
			d->st[g] = D_HELD;
			assert_int_equal(gword_issue(&X.word[g], d->gen[g]),
					 GWORD_ISSUED);
		}
		return;
	}
	assert_true(d->pc < d->len);
	g = d->prog[d->pc++];
	assert_int_equal(d->st[g], D_HELD);
	switch (gword_take_back(&X.word[g], d->gen[g])) {
	case GWORD_TAKEN_NOW:
		X.taken_now++;
		daemon_free(g);
		break;
	case GWORD_RECALL_NEEDED:
		X.recalls++;
		d->st[g] = D_RECALLING;
		break;
	default:
		fail_msg("take back of grant %d: not a result of an honest "
			 "holder",
			 g);
	}
}

static void
side_step(int side)
{
	int was = X.running;

	X.running = side;
	if (side == 0)
		client_step();
	else
		daemon_step();
	X.running = was;
	check_world();
}

static void
interleave_hook(uint64_t *w)
{
	int other = !X.running;
	int g = (int)(w - X.word);

	check_world();
	if (X.depth > 0)
		return; /* a nested call: the other side is inside a call */
	X.depth++;
	for (;;) {
		int n = side_next(other);

		if (n == -2 || (n >= 0 && n != g))
			break;
		if (!choose(2))
			break;
		side_step(other);
	}
	X.depth--;
}

static void
run_once(const int *cprog, int clen, const int *dprog, int dlen)
{
	memset(&X.c, 0, sizeof(X.c));
	memset(&X.d, 0, sizeof(X.d));
	X.c.prog = cprog;
	X.c.len = clen;
	X.d.prog = dprog;
	X.d.len = dlen;
	for (int g = 0; g < NG; g++) {
		X.c.gen[g] = X.d.gen[g] = 100 + (uint32_t)g;
		X.word[g] = 0;
		assert_int_equal(gword_issue(&X.word[g], X.d.gen[g]),
				 GWORD_ISSUED);
	}
	X.pos = 0;
	X.depth = 0;
	check_world();
	for (;;) {
		bool c = client_next() != -2, d = daemon_next() != -2;

		if (!c && !d)
			break;
		side_step(c && d ? choose(2) : d);
	}
	/* The end: the holder maps nothing, so every recall completed. */
	for (int g = 0; g < NG; g++) {
		bool taken = false;

		for (int k = 0; k < dlen; k++)
			taken |= dprog[k] == g;
		assert_int_equal(X.c.mapcount[g], 0);
		assert_int_equal(X.d.freed[g], taken ? 1 : 0);
		assert_int_equal(X.d.st[g], D_HELD);
		assert_int_equal(X.word[g], W_(GWORD_CACHED, 0, X.d.gen[g]));
		assert_int_equal(X.d.gen[g], X.c.gen[g] + (taken ? 1 : 0));
	}
	X.schedules++;
}

static unsigned long long
explore(const int *cprog, int clen, const int *dprog, int dlen)
{
	unsigned long long before = X.schedules;

	X.nch = 0;
	do
		run_once(cprog, clen, dprog, dlen);
	while (next_schedule());
	return X.schedules - before;
}

/* Every holder program of up to maxlen[p] ops over all runs and the unmap,
 * against each daemon program p: about half a million schedules, which
 * take a second (a fifth of them under the sanitizers);
 * PAGEMAP_GWORD_LONG=N runs programs of up to N ops against
 * every daemon program (3: two million, 4: many more). */
static void
every_interleaving_of_holder_and_daemon_keeps_every_grant(void **state)
{
	static const int dprogs[][NG] = {{0, 1, 2}, {2, 0, 1}, {1, 0, 2}};
	static const int dlens[] = {3, 2, 1};
	const char *env = getenv("PAGEMAP_GWORD_LONG");
#ifdef __SANITIZE_ADDRESS__
	/* Four times slower: the sanitizers look for memory errors, which
	 * a fifth of the schedules reach as well as all of them. */
	int maxlen[] = {2, 2, 3}, longest = 3;
#else
	int maxlen[] = {2, 3, 3}, longest = 3;
#endif
	int prog[MAXOPS];
	unsigned long long programs = 0;

	(void)state;
	if (env != NULL) {
		longest = atoi(env);
		assert_true(longest >= 1 && longest <= MAXOPS);
		maxlen[0] = maxlen[1] = maxlen[2] = longest;
	}
	memset(&X, 0, sizeof(X));
	gword_test_before_cas = interleave_hook;
	for (int len = 1; len <= longest; len++) {
		int nsym = NRUNS + 1, total = 1;

		for (int k = 0; k < len; k++)
			total *= nsym;
		for (int code = 0; code < total; code++) {
			int rest = code, mapped = 0;
			bool useful = true;

			for (int k = 0; k < len; k++) {
				int sym = rest % nsym;

				rest /= nsym;
				prog[k] = sym == NRUNS ? OP_UNMAP : sym;
				/* An unmap with nothing mapped (even if
				 * every map succeeded) adds nothing. */
				if (prog[k] == OP_UNMAP && mapped-- == 0)
					useful = false;
				else if (prog[k] != OP_UNMAP)
					mapped++;
			}
			if (!useful)
				continue;
			for (size_t p = 0; p < sizeof(dlens) / sizeof(*dlens);
			     p++) {
				if (len > maxlen[p])
					continue;
				explore(prog, len, dprogs[p], dlens[p]);
				programs++;
			}
		}
	}
	gword_test_before_cas = NULL;
	fprintf(stderr,
		"gword: %llu interleavings of %llu program pairs (holder "
		"programs of up to %d/%d/%d ops against %d daemon programs, "
		"%d grants): %llu taken at once, "
		"%llu recalls, %llu told, %llu maps backed out of a recall, "
		"%llu of a stale generation\n",
		X.schedules, programs, maxlen[0], maxlen[1], maxlen[2],
		(int)(sizeof(dlens) / sizeof(*dlens)), NG, X.taken_now,
		X.recalls, X.told, X.recalled, X.stale);
	/* Every path was taken somewhere. */
	assert_true(X.taken_now > 0 && X.recalls > 0 && X.told > 0);
	assert_true(X.recalled > 0 && X.stale > 0);
}

/* ---- threads ---------------------------------------------------------- */

/*
 * Holder threads map runs of the same few words and unmap them, learning
 * each slot's current generation as if they had asked the daemon; a daemon
 * thread takes grants back, reads the holders' messages (one mailbox per
 * slot: a generation is told at most once) and issues freed slots again.
 * Shadows: mapped[] counts live mappings (up after map_begin, down before
 * unmap), freed_gen[] the last generation freed. The daemon checks that it
 * frees nothing counted in mapped[]; holders check, while they map, that
 * their generation was not freed.
 */

#define SG 4
#define HOLDERS 2

static struct {
	uint64_t word[SG];
	uint32_t gen[SG];
	int mapped[SG];
	uint32_t freed_gen[SG];
	uint32_t tell[SG];
	int holders_left;
	long long deadline;
	unsigned long long max_ops;
	/* daemon side, its thread only */
	bool recalling[SG];
	unsigned long long frees, recalls, take_busy;
	/* counted by holders */
	unsigned long long ops, map_ok, map_failed, unmap_busy;
	int violations;
} S;

static uint32_t
ld32(uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void
violation(const char *what, int g)
{
	fprintf(stderr, "gword stress: %s (slot %d)\n", what, g);
	__atomic_add_fetch(&S.violations, 1, __ATOMIC_RELAXED);
}

static void
stress_unmap(int g, uint32_t gen, unsigned long long *busy)
{
	enum gword_unmap_result r;

	__atomic_sub_fetch(&S.mapped[g], 1, __ATOMIC_ACQ_REL);
	while ((r = gword_unmap(&S.word[g], gen)) == GWORD_UNMAP_BUSY)
		(*busy)++;
	if (r == GWORD_UNMAP_TELL)
		__atomic_store_n(&S.tell[g], gen, __ATOMIC_RELEASE);
	else if (r == GWORD_UNMAP_BAD)
		violation("unmap of a mapped grant found a bad word", g);
}

static void *
stress_holder(void *arg)
{
	struct rng rng;
	unsigned long long ops = 0, ok = 0, failed = 0, busy = 0;

	rng_init(&rng, (uint64_t)(uintptr_t)arg);
	for (unsigned long long iter = 0;; iter++) {
		int g0 = (int)rng_below(&rng, SG);
		int n = 1 + (int)rng_below(&rng, (uint64_t)(SG - g0));
		uint32_t gen[SG];
		int begun = 0;

		if ((iter & 255) == 0 &&
		    (ops >= S.max_ops || now_ms() >= S.deadline))
			break;
		for (; begun < n; begun++) {
			int g = g0 + begun;

			gen[begun] = ld32(&S.gen[g]);
			ops++;
			if (gword_map_begin(&S.word[g], gen[begun]) !=
			    GWORD_MAP_OK)
				break;
			__atomic_add_fetch(&S.mapped[g], 1, __ATOMIC_ACQ_REL);
		}
		if (begun == n)
			ok++;
		else
			failed++;
		/* "Use" the folios a while: none may have been freed. */
		for (int spin = (int)rng_below(&rng, 32); spin >= 0; spin--)
			for (int k = 0; k < begun; k++)
				if (ld32(&S.freed_gen[g0 + k]) >= gen[k])
					violation("a mapped grant was freed",
						  g0 + k);
		while (begun > 0) {
			begun--;
			ops++;
			stress_unmap(g0 + begun, gen[begun], &busy);
		}
	}
	__atomic_add_fetch(&S.ops, ops, __ATOMIC_RELAXED);
	__atomic_add_fetch(&S.map_ok, ok, __ATOMIC_RELAXED);
	__atomic_add_fetch(&S.map_failed, failed, __ATOMIC_RELAXED);
	__atomic_add_fetch(&S.unmap_busy, busy, __ATOMIC_RELAXED);
	__atomic_sub_fetch(&S.holders_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void
stress_free(int g)
{
	uint32_t gen = S.gen[g];

	if (__atomic_load_n(&S.mapped[g], __ATOMIC_ACQUIRE) != 0)
		violation("the daemon freed a mapped grant", g);
	if (S.freed_gen[g] >= gen)
		violation("the daemon freed a grant twice", g);
	__atomic_store_n(&S.freed_gen[g], gen, __ATOMIC_RELEASE);
	S.frees++;
	S.recalling[g] = false;
	if (gword_issue(&S.word[g], gen + 1) != GWORD_ISSUED)
		violation("a freed slot held a live word", g);
	__atomic_store_n(&S.gen[g], gen + 1, __ATOMIC_RELEASE);
}

/* One step of the daemon on slot @g; with @final, only messages. */
static void
stress_daemon_step(int g, bool final)
{
	uint32_t gen = S.gen[g];

	if (S.recalling[g]) {
		if (ld32(&S.tell[g]) != gen)
			return;
		if (gword_taken(&S.word[g], gen) != GWORD_IS_TAKEN)
			violation("told, but the word is not taken", g);
		else
			stress_free(g);
		return;
	}
	if (final)
		return;
	switch (gword_take_back(&S.word[g], gen)) {
	case GWORD_TAKEN_NOW:
		stress_free(g);
		break;
	case GWORD_RECALL_NEEDED:
		S.recalls++;
		S.recalling[g] = true;
		break;
	case GWORD_TAKE_BUSY:
		S.take_busy++;
		break;
	default:
		violation("take back found a hostile word", g);
	}
}

static void
threads_hammering_words_against_take_back_lose_and_misfree_nothing(void **state)
{
	const char *env = getenv("PAGEMAP_GWORD_STRESS_MS");
	long long ms = env ? atoll(env) : 300;
	pthread_t th[HOLDERS];
	struct rng rng;

	(void)state;
	memset(&S, 0, sizeof(S));
	S.deadline = now_ms() + ms;
	S.max_ops = env ? UINT64_MAX : 3000000 / HOLDERS;
	S.holders_left = HOLDERS;
	for (int g = 0; g < SG; g++) {
		S.gen[g] = 1;
		assert_int_equal(gword_issue(&S.word[g], 1), GWORD_ISSUED);
	}
	rng_init(&rng, rng_seed("gword stress", 0x5eed));
	for (int t = 0; t < HOLDERS; t++)
		assert_int_equal(
			pthread_create(&th[t], NULL, stress_holder,
				       (void *)(uintptr_t)rng_next(&rng)),
			0);
	/* This thread is the daemon until the holders are done. */
	while (__atomic_load_n(&S.holders_left, __ATOMIC_ACQUIRE) > 0) {
		/* Not a synchronisation: it only leaves the holders time to
		 * map between take backs, so that some find them mapped. */
		for (int k = (int)rng_below(&rng, 64); k > 0; k--)
			(void)ld32(&S.gen[k % SG]);
		stress_daemon_step((int)rng_below(&rng, SG), false);
	}
	for (int t = 0; t < HOLDERS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	/* The holders map nothing now: every recall must complete. */
	for (int g = 0; g < SG; g++) {
		stress_daemon_step(g, true);
		assert_false(S.recalling[g]);
		assert_int_equal(S.mapped[g], 0);
		assert_int_equal(S.word[g], W_(GWORD_CACHED, 0, S.gen[g]));
		assert_int_equal(S.freed_gen[g], S.gen[g] - 1);
	}
	fprintf(stderr,
		"gword stress: %llu holder calls (%llu runs mapped, %llu "
		"backed out), %llu frees, %llu recalls, %llu busy take backs, "
		"%llu busy unmaps\n",
		S.ops, S.map_ok, S.map_failed, S.frees, S.recalls, S.take_busy,
		S.unmap_busy);
	assert_int_equal(S.violations, 0);
	assert_true(S.frees > 0 && S.recalls > 0 && S.map_ok > 0);
}

/* ---- hostile words ---------------------------------------------------- */

/* Near-valid words hit every branch; plain random ones are mostly junk. */
static uint64_t
hostile_value(struct rng *r, uint32_t gen)
{
	uint64_t v;

	switch (rng_below(r, 4)) {
	case 0:
		return rng_next(r);
	case 1:
		v = gword_make((enum gword_state)rng_below(r, 16),
			       (uint32_t)rng_below(r, 3), gen);
		return v |
		       (rng_below(r, 8) == 0 ? 0x10u << rng_below(r, 4) : 0);
	case 2:
		return gword_make((enum gword_state)rng_below(r, 6),
				  (uint32_t)rng_next(r),
				  gen + (uint32_t)rng_below(r, 3) - 1);
	default:
		v = rng_next(r) & ~GWORD_RESERVED_MASK &
		    ~(UINT64_C(0xffffffff) << GWORD_GEN_SHIFT);
		return v | (uint64_t)gen << GWORD_GEN_SHIFT;
	}
}

static void
daemon_frees_only_what_it_saw_cached_at_its_generation(void **state)
{
	struct rng r;
	unsigned long long seen[4] = {0};

	(void)state;
	rng_init(&r, rng_seed("gword hostile words", 0xbad));
	for (int i = 0; i < 400000; i++) {
		uint32_t gen = (uint32_t)rng_range(&r, 1, 5);
		uint64_t v = hostile_value(&r, gen), w = v;
		enum gword_take_result t = gword_take_back(&w, gen);

		seen[t]++;
		switch (t) {
		case GWORD_TAKEN_NOW:
			assert_int_equal(v, W_(GWORD_CACHED, 0, gen));
			assert_int_equal(w, W_(GWORD_TAKEN, 0, gen));
			break;
		case GWORD_RECALL_NEEDED:
			assert_true(gword_valid(v));
			assert_int_equal(gword_state_of(v), GWORD_MAPPED);
			assert_int_equal(gword_gen_of(v), gen);
			assert_int_equal(
				w, W_(GWORD_RECALLING, gword_count_of(v), gen));
			break;
		case GWORD_HOSTILE:
			assert_int_equal(w, v);
			break;
		default:
			fail_msg("busy with nobody else writing");
		}
		w = v;
		assert_int_equal(gword_taken(&w, gen) == GWORD_IS_TAKEN,
				 v == W_(GWORD_TAKEN, 0, gen));
		/* The holder's side never writes from a word that is no
		 * live state of its generation. */
		if (gword_map_begin(&w, gen) != GWORD_MAP_OK)
			assert_int_equal(w, v);
		w = v;
		if (gword_unmap(&w, gen) == GWORD_UNMAP_BAD)
			assert_int_equal(w, v);
	}
	fprintf(stderr,
		"gword hostile: %llu taken now, %llu recalls, %llu hostile\n",
		seen[GWORD_TAKEN_NOW], seen[GWORD_RECALL_NEEDED],
		seen[GWORD_HOSTILE]);
	assert_true(seen[GWORD_TAKEN_NOW] > 0 && seen[GWORD_RECALL_NEEDED] > 0);
	assert_true(seen[GWORD_HOSTILE] > 0);
}

/* A hostile holder that writes between the daemon's read and its CAS. */
static struct {
	struct rng r;
	uint32_t gen;
	uint64_t last; /* the value the word held just before the CAS */
	int calls, limit;
	bool flip; /* alternate MAPPED(1) and MAPPED(2) forever */
} H;

static void
hostile_hook(uint64_t *w)
{
	H.calls++;
	if (H.flip)
		*w = W_(GWORD_MAPPED, 1 + (uint32_t)(H.calls & 1), H.gen);
	else if (rng_below(&H.r, 2))
		*w = hostile_value(&H.r, H.gen);
	H.last = *w;
}

static void
daemon_ignores_words_changed_under_its_cas_by_a_hostile_holder(void **state)
{
	unsigned long long now = 0;

	(void)state;
	rng_init(&H.r, rng_seed("gword hostile writer", 0xbad2));
	gword_test_before_cas = hostile_hook;
	for (int i = 0; i < 100000; i++) {
		uint64_t w;
		enum gword_take_result t;

		H.gen = (uint32_t)rng_range(&H.r, 1, 5);
		H.flip = false;
		w = rng_below(&H.r, 2) ? W_(GWORD_CACHED, 0, H.gen)
				       : hostile_value(&H.r, H.gen);
		H.last = w;
		t = gword_take_back(&w, H.gen);
		if (t == GWORD_TAKEN_NOW) {
			/* Its own CAS moved exactly CACHED(gen). */
			assert_int_equal(H.last, W_(GWORD_CACHED, 0, H.gen));
			assert_int_equal(w, W_(GWORD_TAKEN, 0, H.gen));
			now++;
		} else if (t == GWORD_RECALL_NEEDED) {
			assert_int_equal(gword_state_of(H.last), GWORD_MAPPED);
			assert_int_equal(w, W_(GWORD_RECALLING,
					       gword_count_of(H.last), H.gen));
		} else {
			assert_int_equal(w, H.last);
		}
	}
	assert_true(now > 0);

	/* A holder that changes its word before every CAS cannot hold the
	 * daemon: it gives up after GWORD_RETRIES attempts. */
	H.flip = true;
	H.calls = 0;
	H.gen = 3;
	{
		uint64_t w = W_(GWORD_MAPPED, 1, 3);

		assert_int_equal(gword_take_back(&w, 3), GWORD_TAKE_BUSY);
		assert_int_equal(H.calls, GWORD_RETRIES);
		assert_int_equal(gword_state_of(w), GWORD_MAPPED);
	}
	gword_test_before_cas = NULL;
}

/* A failed test leaves through a longjmp: take its hook away with it. */
static int
unhook_teardown(void **state)
{
	gword_test_before_cas = NULL;
	return fdcheck_teardown(state);
}

#define gword_test(f)                                                          \
	cmocka_unit_test_setup_teardown(f, fdcheck_setup, unhook_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		gword_test(
			layout_puts_state_count_and_generation_in_their_bits),
		gword_test(
			holder_maps_cached_and_mapped_and_backs_out_of_everything_else),
		gword_test(
			holder_unmap_counts_down_and_tells_only_the_last_under_a_recall),
		gword_test(daemon_takes_cached_now_and_recalls_mapped),
		gword_test(
			issue_makes_a_cached_word_of_the_new_generation_over_anything),
		gword_test(
			every_interleaving_of_holder_and_daemon_keeps_every_grant),
		gword_test(
			threads_hammering_words_against_take_back_lose_and_misfree_nothing),
		gword_test(
			daemon_frees_only_what_it_saw_cached_at_its_generation),
		gword_test(
			daemon_ignores_words_changed_under_its_cas_by_a_hostile_holder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

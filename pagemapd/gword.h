/* gword.h -- the state word of a cached grant, and the transitions of both
 * sides on it (pure, lock-free; no loop, no socket, no allocation). */
#ifndef PAGEMAP_GWORD_H
#define PAGEMAP_GWORD_H

#include <stdbool.h>
#include <stdint.h>

/*
 * This is the core of the cached-grant protocol ("maps without a round
 * trip"): the daemon's lease.c and libpagemap's cache.c call it.
 *
 * A client's grants stay cached under its lease after it unmaps them, so it
 * can map them again without asking the daemon. Each grant has one 64-bit
 * word in a memfd that the daemon creates (sealed F_SEAL_SHRINK |
 * F_SEAL_GROW) and shares with that one client process. Both sides change a
 * word only by compare-and-swap; each function below is one CAS loop with at
 * most GWORD_RETRIES attempts and a result that says what happened.
 *
 * THE WORD (bit 0 is the least significant):
 *
 *   bits  0..3   state: GWORD_FREE, _CACHED, _MAPPED, _RECALLING, _TAKEN
 *                (values 5..15 are never written by an honest side)
 *   bits  4..7   reserved, always 0
 *   bits  8..31  count: the holder's mappings of the folio; 1 or more in
 *                MAPPED and RECALLING, 0 in every other state
 *   bits 32..63  generation of the grant in this slot; the daemon gives
 *                each new grant in a slot a new one (0 is never issued,
 *                so a zeroed memfd is all FREE words no grant matches)
 *
 *   FREE       no grant here (only a word never issued is FREE)
 *   CACHED     granted, not mapped: the daemon may take it back alone
 *   MAPPED     granted and mapped count times by the holder
 *   RECALLING  the daemon wants it back; the holder still maps it count
 *              times and maps it no more
 *   TAKEN      back with the daemon (by its own CAS from CACHED, or by the
 *              holder's last unmap under a recall); stays so until the
 *              slot is issued again
 *
 * TRANSITIONS. Holder: gword_map_begin CACHED -> MAPPED(1), MAPPED(c) ->
 * MAPPED(c+1); gword_unmap MAPPED(1) -> CACHED, MAPPED(c) -> MAPPED(c-1),
 * RECALLING(c) -> RECALLING(c-1), RECALLING(1) -> TAKEN (and one message to
 * the daemon that needs no answer). Daemon: gword_issue anything -> CACHED at
 * a new generation (only into a slot whose grant it has freed);
 * gword_take_back CACHED -> TAKEN (free it now, wake nobody), MAPPED(c) ->
 * RECALLING(c) (send a recall); gword_taken reads, writes nothing. Every
 * transition keeps the generation it found, except issue.
 *
 * THE INVARIANT. The daemon frees a grant only if its word went
 *   (a) CACHED -> TAKEN at the grant's generation by the daemon's own CAS
 *       (gword_take_back returned GWORD_TAKEN_NOW), or
 *   (b) RECALLING -> TAKEN by the holder's last unmap, after the daemon
 *       itself had moved it MAPPED -> RECALLING (GWORD_RECALL_NEEDED) and
 *       then read TAKEN at the grant's generation (gword_taken returned
 *       GWORD_IS_TAKEN).
 * The daemon's own record of the grant (its generation, whether it sent a
 * recall), not the word, says which grants exist and which were recalled;
 * it drops the record when it frees, so a grant is freed once however many
 * messages arrive. An honest holder counts up before it maps the folio
 * and down after it has unmapped it, so the count is never below its live
 * mappings, and neither (a) nor (b) happens while it maps the folio: under
 * (a) the count was 0 and the CAS made the word one no map accepts; under
 * (b) the count reached 0 in a state no map accepts.
 *
 * WHY EACH RACE IS SAFE. A CAS succeeds only against the exact value its
 * side read, and each side decides from that one value, so each call takes
 * effect at its successful CAS (or at its last read, when it writes
 * nothing), as if alone. The pairs that can meet on one word:
 *  - map_begin vs take_back on CACHED: both CAS from CACHED. If the daemon
 *    wins, the word is TAKEN, the holder's CAS fails, it reads TAKEN and
 *    backs out (GWORD_MAP_RECALLED: ask the daemon). If the holder wins,
 *    the daemon's CAS fails, it reads MAPPED(1) and recalls.
 *  - map_begin vs take_back on MAPPED(c): the holder's c+1 lands before the
 *    recall (which then carries c+1) or fails against RECALLING, and a
 *    RECALLING word is never mapped again: the recall cannot be starved.
 *  - unmap vs take_back on MAPPED(c): if the last unmap wins the word is
 *    CACHED and the daemon takes it alone (nothing is mapped); if the
 *    daemon wins, the unmap counts RECALLING down and its last one tells.
 *  - unmap vs anything on RECALLING: the daemon never writes a RECALLING
 *    word, so only the holder's own threads meet there, each CAS exact.
 *  - issue vs a stale holder thread: issue writes only a slot whose grant
 *    is freed, so the word is TAKEN (or FREE) at an old generation; every
 *    holder CAS expects a live state at the generation it holds, so a
 *    thread late with the old generation fails against TAKEN or against
 *    the new generation. (After 2^32 issues of one slot during one stale
 *    read a holder could confuse itself; the daemon decides nothing on it.)
 *  - the holder's threads among themselves: the same exact-value argument;
 *    a map and an unmap of the same count commute.
 * A value may repeat (map then unmap between the daemon's read and its
 * CAS): that is harmless, because the word holds the whole state; the
 * CAS then takes a grant that is, at that instant, cached.
 * Memory order: a successful CAS is acquire-release, reads are acquire;
 * the holder maps after map_begin and unmaps before gword_unmap, so its
 * stores to the folio happen before the word says TAKEN or CACHED, and the
 * daemon reuses the folio only after it read or wrote TAKEN.
 *
 * A HOSTILE HOLDER can write any value into its words at any time. It can:
 * make its grants look mapped forever (the recall times out for its caller,
 * blockers names the holder, and the grants come back when it returns them
 * by message or exits); make a grant look unmapped or taken while it still
 * maps it, which gives it nothing the region fd did not already give (a
 * region is the unit of isolation: the fd maps all of it); and make the
 * daemon's CAS loops run out (GWORD_TAKE_BUSY, bounded). It cannot make the
 * daemon free a grant the daemon did not issue, did not see CACHED at its
 * own generation with its own CAS, or did not recall itself; free one twice;
 * read outside its memfd (the daemon indexes words by its own slot
 * numbers); shrink the memfd under the daemon's mapping of it (sealed, so
 * no SIGBUS); or crash it: every value of a word is a defined input to
 * every function here, and a value that is no state of the grant the
 * daemon issued (another generation, unknown state bits, reserved bits, a
 * count that contradicts the state) is GWORD_HOSTILE, which the daemon
 * treats as mapped.
 *
 * Words are naturally aligned uint64_t, changed only through gcc's
 * __atomic builtins, which are lock-free for 8 bytes on every target we
 * build (checked at compile time), so no libatomic and no lock is shared
 * with the other process.
 */

#define GWORD_RETRIES 128 /* CAS attempts per call before *_BUSY */

#define GWORD_STATE_MASK UINT64_C(0xf)
#define GWORD_RESERVED_MASK UINT64_C(0xf0)
#define GWORD_COUNT_SHIFT 8
#define GWORD_COUNT_MAX UINT32_C(0xffffff) /* 24 bits */
#define GWORD_GEN_SHIFT 32

enum gword_state {
	GWORD_FREE = 0,
	GWORD_CACHED = 1,
	GWORD_MAPPED = 2,
	GWORD_RECALLING = 3,
	GWORD_TAKEN = 4,
};

/* gword_make -- the word for @state, @count and @gen (no checks). */
static inline uint64_t
gword_make(enum gword_state state, uint32_t count, uint32_t gen)
{
	return (uint64_t)state |
	       (uint64_t)(count & GWORD_COUNT_MAX) << GWORD_COUNT_SHIFT |
	       (uint64_t)gen << GWORD_GEN_SHIFT;
}

/* gword_state_of -- the state bits of @v (may be no enum gword_state). */
static inline unsigned
gword_state_of(uint64_t v)
{
	return (unsigned)(v & GWORD_STATE_MASK);
}

/* gword_count_of -- the count field of @v. */
static inline uint32_t
gword_count_of(uint64_t v)
{
	return (uint32_t)(v >> GWORD_COUNT_SHIFT) & GWORD_COUNT_MAX;
}

/* gword_gen_of -- the generation field of @v. */
static inline uint32_t
gword_gen_of(uint64_t v)
{
	return (uint32_t)(v >> GWORD_GEN_SHIFT);
}

/* gword_valid -- whether @v is a word an honest side can write: a known
 * state, reserved bits 0, a count of 1 or more exactly in MAPPED and
 * RECALLING. Says nothing of the generation. */
bool gword_valid(uint64_t v);

/* gword_peek -- the word at @w now (one atomic read), for listings and
 * tests; decide nothing on it that a transition below should decide. */
uint64_t gword_peek(const uint64_t *w);

/* ---- the holder's side ------------------------------------------------ */

enum gword_map_result {
	GWORD_MAP_OK,	    /* count + 1: map the folio now */
	GWORD_MAP_RECALLED, /* being taken back or taken: back out, ask */
	GWORD_MAP_STALE,    /* the slot holds another generation: ask */
	GWORD_MAP_FULL,	    /* the count is at GWORD_COUNT_MAX: ask */
	GWORD_MAP_BAD,	    /* not a valid word: ask (someone wrote garbage) */
	GWORD_MAP_BUSY,	    /* the word kept changing: ask, or try again */
};

/* gword_map_begin -- a holder's map of the grant of generation @gen whose
 * word is @w: CACHED -> MAPPED(1) or MAPPED(c) -> MAPPED(c + 1). Only
 * GWORD_MAP_OK changed the word; the caller then maps the folio, and must
 * gword_unmap() it once for each GWORD_MAP_OK (a run that fails part way
 * backs out by unmapping the folios it began). */
enum gword_map_result gword_map_begin(uint64_t *w, uint32_t gen);

enum gword_unmap_result {
	GWORD_UNMAP_MAPPED,    /* count - 1, still mapped: nothing to tell */
	GWORD_UNMAP_CACHED,    /* last mapping gone: cached, nothing to tell */
	GWORD_UNMAP_RECALLING, /* count - 1 under a recall: nothing to tell */
	GWORD_UNMAP_TELL,      /* last mapping under a recall: now TAKEN; tell
				  the daemon (one message, no answer) */
	GWORD_UNMAP_BAD,       /* not mapped at @gen: nothing changed (a bug
				  of this process, or garbage in the word) */
	GWORD_UNMAP_BUSY,      /* the word kept changing: nothing changed,
				  call again */
};

/* gword_unmap -- a holder's unmap of one mapping of the grant of
 * generation @gen, after the folio is unmapped: count - 1; the last one
 * goes MAPPED -> CACHED, or RECALLING -> TAKEN, which the daemon must be
 * told of (GWORD_UNMAP_TELL). */
enum gword_unmap_result gword_unmap(uint64_t *w, uint32_t gen);

/* ---- the daemon's side ------------------------------------------------ */

enum gword_issue_result {
	GWORD_ISSUED,	   /* the slot was FREE or TAKEN, as expected */
	GWORD_ISSUED_OVER, /* it held something else (the holder wrote into a
			      freed slot); the new grant is in place all the
			      same */
};

/* gword_issue -- the daemon puts a new grant of generation @new_gen
 * (never 0, never the slot's last one) in a slot whose previous grant it
 * has freed: the word becomes CACHED(@new_gen), whatever it held. */
enum gword_issue_result gword_issue(uint64_t *w, uint32_t new_gen);

enum gword_take_result {
	GWORD_TAKEN_NOW,     /* CACHED -> TAKEN by this call's CAS: free the
				grant now, tell nobody */
	GWORD_RECALL_NEEDED, /* MAPPED(c) -> RECALLING(c) by this call's CAS:
				send a recall; free when gword_taken() says
				GWORD_IS_TAKEN */
	GWORD_HOSTILE,	     /* no state this grant can be in before the
				daemon takes it back; nothing written: treat
				as mapped, never free on this word */
	GWORD_TAKE_BUSY,     /* the word kept changing; nothing written:
				treat as mapped, call again later */
};

/* gword_take_back -- the daemon takes back its grant of generation @gen,
 * which it has not recalled yet. Only GWORD_TAKEN_NOW lets it free the
 * grant, and only a word this call read as CACHED(@gen) gives it. */
enum gword_take_result gword_take_back(uint64_t *w, uint32_t gen);

enum gword_taken_result {
	GWORD_IS_TAKEN,	     /* TAKEN(@gen): the holder's last unmap came;
				free the grant */
	GWORD_STILL_MAPPED,  /* RECALLING(@gen), mapped: wait */
	GWORD_TAKEN_HOSTILE, /* anything else: treat as mapped */
};

/* gword_taken -- the daemon's check that its grant of generation @gen,
 * which it moved to RECALLING itself (GWORD_RECALL_NEEDED), is back: after
 * the holder's message, or when its recall's deadline comes. Reads only. */
enum gword_taken_result gword_taken(const uint64_t *w, uint32_t gen);

#endif

/* gtable.h -- a client process's table of grant state words: the sealed
 * memfd it shares with the daemon, and the daemon's own record of each
 * slot. */
#ifndef PAGEMAP_GTABLE_H
#define PAGEMAP_GTABLE_H

#include <stdbool.h>
#include <stdint.h>

struct lease;

/*
 * One table per client process that announced cached grants, made at its
 * first map that asks for words. The words live in a memfd the daemon
 * creates (close-on-exec, sealed against shrinking, growing and further
 * seals, so the holder can neither make the daemon's mapping fault nor
 * unseal it) and maps shared; the holder maps the same memfd read-write
 * and changes only its words, with gword.h's transitions.
 *
 * Everything the daemon decides on stays in its own memory: which slots
 * hold a grant, each slot's generation, the lease and file page of its
 * grant. A word is read only as the state of the grant the daemon put in
 * that slot at that generation (gword.h), so garbage in the memfd can
 * keep the holder's own grants pinned longer, never free anything.
 *
 * A daemon restarted after a crash adopts the table the holder's library
 * hands back at its reconnect (gtable_adopt()): only a memfd sealed as
 * above, of exactly the expected size. Its records are rebuilt from the
 * grants the pin tables restored, never from the words: each restored
 * grant that had a word claims its slot at the generation its pin record
 * names (gtable_claim()), and only if the word still says cached or mapped
 * at that generation; any other grant stays without a word.
 *
 * Slots are handed out lowest first from a free list, so the daemon's
 * records grow with the holder's grants (not with the table's size), and
 * the memfd's pages are touched only where words were issued.
 */

/* The daemon's record of one slot. */
struct gslot {
	struct lease *lease; /* the grant's lease, NULL: free */
	uint64_t file_pg;    /* the grant's first file page */
	uint32_t gen;	     /* the generation last issued here (0: never) */
	uint32_t next_free;  /* free list link */
};

struct gtable {
	int fd;		 /* the memfd */
	uint64_t *words; /* its shared mapping, @n words */
	uint32_t n;
	uint64_t id; /* random, never 0: names the table in HelloReply */
	struct gslot *slots; /* [0, @hw) */
	uint32_t hw, cap;
	uint32_t free_head; /* GTABLE_NONE: none below @hw */
	uint32_t used;	    /* slots holding a grant */
};

#define GTABLE_NONE UINT32_MAX

/* gtable_new -- a table of @n words (1 or more) in a fresh sealed memfd.
 * Returns 0 or -errno; *ret untouched on failure. */
int gtable_new(uint32_t n, struct gtable **ret);

/* gtable_free -- unmap, close and free (NULL is fine). */
void gtable_free(struct gtable *t);

/* gtable_issue -- a slot for the grant at @file_pg of @l, its word made
 * CACHED at a new generation. Returns 0 with *ret_slot and *ret_gen, or
 * -ENOSPC (every word holds a grant) or -ENOMEM. */
int gtable_issue(struct gtable *t, struct lease *l, uint64_t file_pg,
		 uint32_t *ret_slot, uint32_t *ret_gen);

/* gtable_adopt -- the table in @fd, a memfd a reconnecting holder handed
 * back, named @id (its name before the daemon restarted): it must be
 * sealed F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL and hold exactly @n words.
 * The table holds no grant until gtable_claim(); gtable_claimed() ends the
 * claims. Takes @fd, also on failure. Returns 0, -EINVAL (no such memfd)
 * or -ENOMEM; *ret untouched on failure. */
int gtable_adopt(int fd, uint32_t n, uint64_t id, struct gtable **ret);

/* gtable_claim -- a grant restored from a pin table takes back its word:
 * @slot at @gen for the grant at @file_pg of @l. Returns 0, -EINVAL (a slot
 * out of range, gen 0), -EEXIST (claimed already), -ESTALE (the word is
 * not CACHED or MAPPED at @gen: the grant stays without a word) or
 * -ENOMEM. Only before gtable_claimed() and any gtable_issue(). */
int gtable_claim(struct gtable *t, uint32_t slot, uint32_t gen, struct lease *l,
		 uint64_t file_pg);

/* gtable_claimed -- the claims are over: every unclaimed slot below the
 * highest claimed one is free for gtable_issue(). */
void gtable_claimed(struct gtable *t);

/* gtable_release -- the grant in @slot is gone: the slot is free for
 * another (its word is left as it is; the next issue overwrites it). */
void gtable_release(struct gtable *t, uint32_t slot);

/* gtable_find -- the record of the live grant in @slot at @gen, or NULL
 * (any other pair, whatever the holder claims). */
struct gslot *gtable_find(struct gtable *t, uint32_t slot, uint32_t gen);

/* gtable_word -- the word of @slot (< t->n). */
static inline uint64_t *
gtable_word(const struct gtable *t, uint32_t slot)
{
	return &t->words[slot];
}

#endif

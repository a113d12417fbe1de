/* uidcount.h -- how many connections each uid holds (pure). */
#ifndef PAGEMAP_UIDCOUNT_H
#define PAGEMAP_UIDCOUNT_H

#include <stdint.h>

/* One uid's count; n 0 marks a free slot. */
struct uid_conns {
	uint32_t uid;
	uint32_t n;
};

/* An open-addressed table (linear probing) of at least twice as many
 * slots as uids it may hold, so a probe always ends at a free slot. */
struct uidcount {
	struct uid_conns *slots;
	uint32_t mask; /* slots - 1, a power of two less one */
};

/* uidcount_init -- a table for up to @max_uids uids with a count. Returns
 * 0 or -ENOMEM (@t then holds nothing to free). */
int uidcount_init(struct uidcount *t, uint32_t max_uids);

/* uidcount_fini -- free @t's slots (a zeroed @t is fine). Afterwards
 * @t counts 0 for every uid and drops do nothing: connections still close
 * after the daemon has freed its state. */
void uidcount_fini(struct uidcount *t);

/* uidcount_get -- the count of @uid (0 for a uid not in @t). */
uint32_t uidcount_get(const struct uidcount *t, uint32_t uid);

/* uidcount_add -- one more for @uid; the caller keeps the number of uids
 * with a count within uidcount_init()'s @max_uids. */
void uidcount_add(struct uidcount *t, uint32_t uid);

/* uidcount_drop -- one less for @uid (nothing for a uid at 0); its last
 * frees its slot. */
void uidcount_drop(struct uidcount *t, uint32_t uid);

#endif

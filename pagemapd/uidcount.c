/* uidcount.c -- how many connections each uid holds (pure).
 *
 * Linear probing keeps every uid in the run of occupied slots that starts
 * at its home slot; a lookup stops at the first free slot. Freeing a slot
 * would cut such runs, so a uid's last drop moves back the entries after
 * it that probed past it (deletion by backward shift, no tombstones): the
 * table never fills with dead entries, however many uids come and go.
 */
#include "uidcount.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

static uint32_t
home(const struct uidcount *t, uint32_t uid)
{
	return (uid * 2654435761u) & t->mask; /* Knuth's multiplicative hash */
}

/* slot -- the slot of @uid, or the free slot where it would go. */
static struct uid_conns *
slot(const struct uidcount *t, uint32_t uid)
{
	uint32_t i = home(t, uid);

	while (t->slots[i].n && t->slots[i].uid != uid)
		i = (i + 1) & t->mask;
	return &t->slots[i];
}

int
uidcount_init(struct uidcount *t, uint32_t max_uids)
{
	uint64_t n = 16;

	while (n < 2 * (uint64_t)max_uids)
		n *= 2;
	t->slots = calloc(n, sizeof(*t->slots));
	if (t->slots == NULL)
		return -ENOMEM;
	t->mask = (uint32_t)(n - 1);
	return 0;
}

void
uidcount_fini(struct uidcount *t)
{
	free(t->slots);
	t->slots = NULL;
	t->mask = 0;
}

uint32_t
uidcount_get(const struct uidcount *t, uint32_t uid)
{
	return t->slots ? slot(t, uid)->n : 0;
}

void
uidcount_add(struct uidcount *t, uint32_t uid)
{
	struct uid_conns *e = slot(t, uid);

	e->uid = uid;
	e->n++;
}

void
uidcount_drop(struct uidcount *t, uint32_t uid)
{
	struct uid_conns *e;
	uint32_t i, j;

	if (t->slots == NULL)
		return;
	e = slot(t, uid);
	if (e->n == 0 || --e->n)
		return;
	i = (uint32_t)(e - t->slots);
	for (j = (i + 1) & t->mask; t->slots[j].n; j = (j + 1) & t->mask) {
		uint32_t k = home(t, t->slots[j].uid);
		/* The entry at j stays if its home k lies cyclically in
		 * (i, j]: its probe never crossed the hole at i. */
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);

		if (stays)
			continue;
		t->slots[i] = t->slots[j];
		t->slots[j].n = 0;
		i = j;
	}
}

/* gtable.c -- a client process's table of grant state words (see
 * gtable.h): the sealed memfd and the daemon's record of each slot. */
#include "gtable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gword.h"

int
gtable_new(uint32_t n, struct gtable **ret)
{
	struct gtable *t;
	size_t len = (size_t)n * sizeof(uint64_t);
	int fd, err;

	if (n == 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return -ENOMEM;
	fd = memfd_create("pagemap-words", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		err = -errno;
		free(t);
		return err;
	}
	/* Sized once, then sealed: a holder that could shrink it would make
	 * the daemon's next look at a word a SIGBUS. */
	if (ftruncate(fd, (off_t)len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) <
		    0) {
		err = -errno;
		goto fail;
	}
	t->words = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t->words == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	while (t->id == 0)
		if (getrandom(&t->id, sizeof(t->id), 0) != sizeof(t->id))
			t->id = 0;
	t->fd = fd;
	t->n = n;
	t->free_head = GTABLE_NONE;
	*ret = t;
	return 0;
fail:
	close(fd);
	free(t);
	return err;
}

void
gtable_free(struct gtable *t)
{
	if (t == NULL)
		return;
	munmap(t->words, (size_t)t->n * sizeof(uint64_t));
	close(t->fd);
	free(t->slots);
	free(t);
}

/* room -- the daemon's records cover slots [0, @want) (want <= t->n). */
static int
room(struct gtable *t, uint32_t want)
{
	uint32_t cap = t->cap ? t->cap : 64;
	struct gslot *v;

	if (want <= t->cap)
		return 0;
	while (cap < want)
		cap = cap > t->n / 2 ? t->n : cap * 2;
	if (cap > t->n)
		cap = t->n;
	v = realloc(t->slots, (size_t)cap * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	t->slots = v;
	t->cap = cap;
	return 0;
}

int
gtable_issue(struct gtable *t, struct lease *l, uint64_t file_pg,
	     uint32_t *ret_slot, uint32_t *ret_gen)
{
	struct gslot *s;
	uint32_t i;

	if (t->free_head != GTABLE_NONE) {
		i = t->free_head;
		t->free_head = t->slots[i].next_free;
	} else {
		if (t->hw == t->n)
			return -ENOSPC;
		if (room(t, t->hw + 1) < 0)
			return -ENOMEM;
		i = t->hw++;
		t->slots[i].gen = 0;
	}
	s = &t->slots[i];
	s->lease = l;
	s->file_pg = file_pg;
	s->next_free = GTABLE_NONE;
	/* A slot this daemon never issued may hold a word of an adopted
	 * table's past: go on from its generation, so that a grant the
	 * holder still remembers there is not mistaken for the new one. */
	if (s->gen == 0)
		s->gen = gword_gen_of(gword_peek(gtable_word(t, i)));
	if (++s->gen == 0)
		s->gen = 1; /* 0 is never issued */
	gword_issue(gtable_word(t, i), s->gen);
	t->used++;
	*ret_slot = i;
	*ret_gen = s->gen;
	return 0;
}

int
gtable_adopt(int fd, uint32_t n, uint64_t id, struct gtable **ret)
{
	size_t len = (size_t)n * sizeof(uint64_t);
	const int need = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
	struct gtable *t = NULL;
	struct stat st;
	int seals, err = -EINVAL;

	/* Only a memfd answers F_GET_SEALS; sealed so, the holder can
	 * neither make our mapping fault nor unseal it afterwards. */
	seals = fcntl(fd, F_GET_SEALS);
	if (n == 0 || id == 0 || seals < 0 || (seals & need) != need ||
	    fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != len)
		goto fail;
	t = calloc(1, sizeof(*t));
	if (t == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	t->words = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (t->words == MAP_FAILED) {
		err = -EINVAL;
		goto fail;
	}
	t->fd = fd;
	t->n = n;
	t->id = id;
	t->free_head = GTABLE_NONE;
	*ret = t;
	return 0;
fail:
	free(t);
	close(fd);
	return err;
}

int
gtable_claim(struct gtable *t, uint32_t slot, uint32_t gen, struct lease *l,
	     uint64_t file_pg)
{
	uint64_t v;
	unsigned st;

	if (slot >= t->n || gen == 0 || l == NULL)
		return -EINVAL;
	if (slot < t->hw && t->slots[slot].lease != NULL)
		return -EEXIST;
	/* The word must say what an honest holder's word of that grant
	 * can say at a crash: cached, or mapped. Anything else (another
	 * generation, recalling, taken, garbage) leaves the grant without
	 * a word, as if there were no table. */
	v = gword_peek(gtable_word(t, slot));
	st = gword_state_of(v);
	if (!gword_valid(v) || gword_gen_of(v) != gen ||
	    (st != GWORD_CACHED && st != GWORD_MAPPED))
		return -ESTALE;
	if (room(t, slot + 1) < 0)
		return -ENOMEM;
	for (; t->hw <= slot; t->hw++)
		t->slots[t->hw] = (struct gslot){.next_free = GTABLE_NONE};
	t->slots[slot] = (struct gslot){
		.lease = l,
		.file_pg = file_pg,
		.gen = gen,
		.next_free = GTABLE_NONE,
	};
	t->used++;
	return 0;
}

void
gtable_claimed(struct gtable *t)
{
	t->free_head = GTABLE_NONE;
	for (uint32_t i = t->hw; i > 0; i--) {
		if (t->slots[i - 1].lease != NULL)
			continue;
		t->slots[i - 1].next_free = t->free_head;
		t->free_head = i - 1;
	}
}

void
gtable_release(struct gtable *t, uint32_t slot)
{
	struct gslot *s = &t->slots[slot];

	s->lease = NULL;
	s->next_free = t->free_head;
	t->free_head = slot;
	t->used--;
}

struct gslot *
gtable_find(struct gtable *t, uint32_t slot, uint32_t gen)
{
	struct gslot *s;

	if (slot >= t->hw || gen == 0)
		return NULL;
	s = &t->slots[slot];
	return s->lease != NULL && s->gen == gen ? s : NULL;
}

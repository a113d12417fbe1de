/* pintab.c -- pin tables: a holder's leases and grants in a tmpfs file. */
#include "pintab.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SLOT_MAGIC 0x50494e31u /* "PIN1": a slot word's top 32 bits */
#define MAX_SLOTS (1u << 30)

/* The file header, at offset 0; the rest of its 4 KiB is zero. */
struct hdr {
	char magic[8];
	uint32_t version;
	uint32_t header_size;
	uint32_t slot_size;
	uint32_t reserved;
	struct pintab_holder holder;
};

/* A slot: @word is written last and cleared first (see pintab.h). A
 * version 1 table's slots end before @w. */
struct slot {
	uint64_t
		word; /* SLOT_MAGIC << 32 | kind << 24 | order << 16 | access */
	uint64_t lease_id;
	uint64_t x;   /* lease: ino; grant: file_pg */
	uint64_t y;   /* grant: region_pg */
	uint64_t w;   /* grant: wslot << 32 | wgen (version 2) */
	uint64_t wid; /* grant: its word table's id (version 2) */
};

#define SLOT_SIZE_V1 32u

_Static_assert(sizeof(struct slot) == PINTAB_SLOT_SIZE, "slots are 48 bytes");
_Static_assert(sizeof(struct hdr) <= PINTAB_HEADER_SIZE, "header fits");

struct pintab {
	int dirfd; /* not owned */
	int fd;
	char name[96];
	void *map; /* header + slots, shared */
	size_t map_len;
	uint32_t nslots;
	uint32_t slot_size; /* sizeof(struct slot), or SLOT_SIZE_V1 */
	uint32_t used;
	uint32_t *free; /* stack of free slot numbers, lowest on top */
	uint32_t nfree;
};

static struct hdr *
header(const struct pintab *t)
{
	return t->map;
}

/* slot_at -- slot @i of @t (of a version 1 table: only its first 32
 * bytes are there). */
static struct slot *
slot_at(const struct pintab *t, uint32_t i)
{
	return (struct slot *)((char *)t->map + PINTAB_HEADER_SIZE +
			       (size_t)i * t->slot_size);
}

static size_t
file_size(const struct pintab *t, uint32_t n)
{
	return PINTAB_HEADER_SIZE + (size_t)n * t->slot_size;
}

void
pintab_file_name(const struct pintab_holder *h, char *buf, size_t len)
{
	const uint8_t *u = h->region_uuid;

	snprintf(buf, len,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x-%" PRIu32 "-%" PRIu64 "-%016" PRIx64
		 ".pins",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15], h->pid,
		 h->start_time, h->token);
}

/* reserve_free -- room in the free stack for every one of @n slots, so a
 * free never needs memory. */
static int
reserve_free(struct pintab *t, uint32_t n)
{
	uint32_t *f = realloc(t->free, (size_t)n * sizeof(*f));

	if (!f)
		return -ENOMEM;
	t->free = f;
	return 0;
}

/* free_push_range -- slots [from, to) become free, lowest on top (a new
 * table fills from its start; afterwards the last freed is reused first). */
static void
free_push_range(struct pintab *t, uint32_t from, uint32_t to)
{
	for (uint32_t s = to; s > from; s--)
		t->free[t->nfree++] = s - 1;
}

static struct pintab *
tab_new(int dirfd)
{
	struct pintab *t = calloc(1, sizeof(*t));

	if (t) {
		t->dirfd = dirfd;
		t->fd = -1;
		t->map = MAP_FAILED;
		t->slot_size = sizeof(struct slot);
	}
	return t;
}

static void
tab_free(struct pintab *t)
{
	if (t->map != MAP_FAILED)
		munmap(t->map, t->map_len);
	if (t->fd >= 0)
		close(t->fd);
	free(t->free);
	free(t);
}

int
pintab_create(int dirfd, const struct pintab_holder *h, uint32_t n,
	      struct pintab **ret)
{
	struct pintab *t;
	struct hdr *hd;
	char path[64];
	int r;

	if (n == 0 || n > MAX_SLOTS)
		return -EINVAL;
	t = tab_new(dirfd);
	if (!t)
		return -ENOMEM;
	pintab_file_name(h, t->name, sizeof(t->name));
	/* The file gets its name only once its header is whole, so a
	 * table found by name is never a half-made one. */
	t->fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (t->fd < 0) {
		r = -errno;
		goto err;
	}
	if (fallocate(t->fd, 0, 0, (off_t)file_size(t, n)) < 0) {
		r = -errno;
		goto err;
	}
	t->map_len = file_size(t, n);
	t->map = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      t->fd, 0);
	if (t->map == MAP_FAILED) {
		r = -errno;
		goto err;
	}
	t->nslots = n;
	r = reserve_free(t, n);
	if (r < 0)
		goto err;
	free_push_range(t, 0, n);
	hd = header(t);
	memcpy(hd->magic, PINTAB_MAGIC, sizeof(hd->magic));
	hd->version = PINTAB_VERSION;
	hd->header_size = PINTAB_HEADER_SIZE;
	hd->slot_size = sizeof(struct slot);
	hd->holder = *h;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", t->fd);
	if (linkat(AT_FDCWD, path, dirfd, t->name, AT_SYMLINK_FOLLOW) < 0) {
		r = -errno;
		goto err;
	}
	*ret = t;
	return 0;
err:
	tab_free(t);
	return r;
}

/* slot_rec -- decode a valid slot of @t; false if @s is free. */
static bool
slot_rec(const struct pintab *t, const struct slot *s, struct pin_rec *ret)
{
	uint64_t w = __atomic_load_n(&s->word, __ATOMIC_ACQUIRE);

	if (w >> 32 != SLOT_MAGIC)
		return false;
	memset(ret, 0, sizeof(*ret));
	ret->kind = (enum pin_kind)((w >> 24) & 0xff);
	ret->order = (w >> 16) & 0xff;
	ret->access = w & 0xff;
	ret->lease_id = s->lease_id;
	if (ret->kind == PIN_LEASE) {
		ret->ino = s->x;
	} else {
		ret->file_pg = s->x;
		ret->region_pg = s->y;
		/* A version 1 record has no word: restored as mapped. */
		if (t->slot_size >= sizeof(struct slot)) {
			ret->wslot = (uint32_t)(s->w >> 32);
			ret->wgen = (uint32_t)s->w;
			ret->words_id = s->wid;
		}
	}
	return true;
}

int
pintab_open(int dirfd, const char *name, struct pintab **ret)
{
	struct pintab *t;
	struct stat st;
	struct hdr hd;
	uint64_t n;
	int r;

	if (strlen(name) >= sizeof(t->name))
		return -ENAMETOOLONG;
	t = tab_new(dirfd);
	if (!t)
		return -ENOMEM;
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->fd = openat(dirfd, name, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (t->fd < 0 || fstat(t->fd, &st) < 0) {
		r = -errno;
		goto err;
	}
	r = -EINVAL;
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size < PINTAB_HEADER_SIZE ||
	    pread(t->fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd))
		goto err;
	/* Version 1 (32-byte slots, no words) is read as well: a daemon
	 * upgraded within a boot finds its predecessor's tables. */
	if (memcmp(hd.magic, PINTAB_MAGIC, sizeof(hd.magic)) != 0 ||
	    !((hd.version == PINTAB_VERSION &&
	       hd.slot_size == sizeof(struct slot)) ||
	      (hd.version == 1 && hd.slot_size == SLOT_SIZE_V1)) ||
	    hd.header_size != PINTAB_HEADER_SIZE)
		goto err;
	t->slot_size = hd.slot_size;
	n = ((uint64_t)st.st_size - PINTAB_HEADER_SIZE) / t->slot_size;
	if (n == 0 || n > MAX_SLOTS)
		goto err;
	t->nslots = (uint32_t)n;
	t->map_len = file_size(t, t->nslots);
	t->map = mmap(NULL, t->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		      t->fd, 0);
	if (t->map == MAP_FAILED) {
		r = -errno;
		goto err;
	}
	r = reserve_free(t, t->nslots);
	if (r < 0)
		goto err;
	for (uint32_t s = t->nslots; s > 0; s--) {
		struct slot *sl = slot_at(t, s - 1);
		struct pin_rec rec;

		if (slot_rec(t, sl, &rec)) {
			if (rec.kind != PIN_LEASE && rec.kind != PIN_GRANT) {
				r = -EUCLEAN;
				goto err;
			}
			t->used++;
		} else if (sl->word != 0) {
			/* Only this daemon writes here, one aligned word
			 * at a time: anything else is damage. */
			r = -EUCLEAN;
			goto err;
		} else {
			free_push_range(t, s - 1, s);
		}
	}
	*ret = t;
	return 0;
err:
	tab_free(t);
	return r;
}

void
pintab_close(struct pintab *t)
{
	if (t)
		tab_free(t);
}

void
pintab_remove(struct pintab *t)
{
	if (!t)
		return;
	unlinkat(t->dirfd, t->name, 0);
	tab_free(t);
}

const struct pintab_holder *
pintab_holder(const struct pintab *t)
{
	return &header(t)->holder;
}

const char *
pintab_name(const struct pintab *t)
{
	return t->name;
}

/* grow -- double the slots. fallocate first: the new pages exist before
 * any store reaches them, or the growth fails with -ENOSPC. */
static int
grow(struct pintab *t)
{
	uint32_t n = t->nslots;
	uint32_t m = n >= MAX_SLOTS / 2 ? MAX_SLOTS : n * 2;
	void *p;
	int r;

	if (m == n)
		return -ENOSPC;
	r = reserve_free(t, m);
	if (r < 0)
		return r;
	if (fallocate(t->fd, 0, 0, (off_t)file_size(t, m)) < 0)
		return -errno;
	p = mremap(t->map, t->map_len, file_size(t, m), MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -errno;
	t->map = p;
	t->map_len = file_size(t, m);
	free_push_range(t, n, m);
	t->nslots = m;
	return 0;
}

int64_t
pintab_add(struct pintab *t, const struct pin_rec *rec)
{
	struct slot *s;
	uint32_t n;
	int r;

	if ((rec->kind != PIN_LEASE && rec->kind != PIN_GRANT) ||
	    rec->order > 0xff || rec->access > 0xff)
		return -EINVAL;
	if (t->nfree == 0 && (r = grow(t)) < 0)
		return r;
	n = t->free[--t->nfree];
	s = slot_at(t, n);
	s->lease_id = rec->lease_id;
	s->x = rec->kind == PIN_LEASE ? rec->ino : rec->file_pg;
	s->y = rec->kind == PIN_LEASE ? 0 : rec->region_pg;
	/* A version 1 table has no room for the word: the grant restores
	 * without one. */
	if (t->slot_size >= sizeof(struct slot)) {
		s->w = rec->kind == PIN_LEASE
			       ? 0
			       : (uint64_t)rec->wslot << 32 | rec->wgen;
		s->wid = rec->kind == PIN_LEASE ? 0 : rec->words_id;
	}
	/* The word last: before it, the slot reads as free. */
	__atomic_store_n(&s->word,
			 (uint64_t)SLOT_MAGIC << 32 |
				 (uint64_t)rec->kind << 24 |
				 (uint64_t)rec->order << 16 | rec->access,
			 __ATOMIC_RELEASE);
	t->used++;
	return n;
}

void
pintab_del(struct pintab *t, uint32_t slot)
{
	struct slot *s;

	if (slot >= t->nslots)
		return;
	s = slot_at(t, slot);
	if (s->word == 0)
		return;
	__atomic_store_n(&s->word, 0, __ATOMIC_RELEASE);
	/* The stack has room for every slot (reserve_free). */
	t->free[t->nfree++] = slot;
	t->used--;
}

uint32_t
pintab_count(const struct pintab *t)
{
	return t->used;
}

uint32_t
pintab_slots(const struct pintab *t)
{
	return t->nslots;
}

bool
pintab_get(const struct pintab *t, uint32_t slot, struct pin_rec *ret)
{
	if (slot >= t->nslots)
		return false;
	return slot_rec(t, slot_at(t, slot), ret);
}

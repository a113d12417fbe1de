/* pintab.h -- pin tables: one holder's leases and grants of one region, kept
 * in a file on tmpfs so they outlive the daemon's process (I6). */
#ifndef PAGEMAP_PINTAB_H
#define PAGEMAP_PINTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * A pin table is a file in the daemon's runtime directory (tmpfs): a 4 KiB
 * header naming the boot, the region and the holder process, then an array
 * of 48-byte slots (version 2; a version 1 table, of 32-byte slots without
 * a grant's state word, is still read and written: its grants have no
 * word). The daemon writes it with plain stores through its own
 * shared mapping; no msync and no fsync, because what it protects (client
 * mappings) dies with the boot too, and a killed process never loses stores
 * to a shared mapping.
 *
 * Torn-write safety: a slot is valid iff its first word holds the slot
 * magic. Adding a record writes the payload, then that word last (a release
 * store); freeing one clears the word with one store; a record is never
 * changed in place. So a kill between any two stores leaves each slot
 * either free or whole, never half-written.
 *
 * Space is reserved ahead with fallocate: growing the table (doubling)
 * either gets its pages from tmpfs or fails with -ENOSPC, so a full tmpfs
 * refuses a grant cleanly instead of raising SIGBUS on a store.
 */

#define PINTAB_MAGIC "PMAPPIN1" /* 8 bytes, no NUL stored */
#define PINTAB_VERSION 2u
#define PINTAB_HEADER_SIZE 4096u
#define PINTAB_SLOT_SIZE 48u /* version 2; version 1: 32 */

enum pin_kind {
	PIN_LEASE = 1,
	PIN_GRANT = 2,
};

/* Who a table belongs to. pid + start_time name a process for good: a
 * recycled pid has another start time. */
struct pintab_holder {
	uint8_t boot_id[16];
	uint8_t region_uuid[16];
	uint32_t pid;
	uint32_t uid;
	uint64_t start_time; /* clock ticks after boot, /proc/PID/stat #22 */
	uint64_t token;	     /* names the client for its reconnect */
};

/* One record. A lease: lease_id, ino, access. A grant: lease_id, file_pg,
 * region_pg, order, access, and its state word: the id of the holder's
 * word table, the slot and generation there (wgen 0: no word), so that a
 * daemon restarted after a crash can adopt the table the holder hands
 * back (gtable.h) and tell its words from those of a table it lost. */
struct pin_rec {
	enum pin_kind kind;
	uint32_t access;
	uint32_t order; /* grants */
	uint64_t lease_id;
	uint64_t ino;	    /* leases */
	uint64_t file_pg;   /* grants */
	uint64_t region_pg; /* grants */
	uint32_t wslot;	    /* grants with a word */
	uint32_t wgen;	    /* grants: the word's generation, 0: none */
	uint64_t words_id;  /* grants with a word: the table's id */
};

struct pintab;

/* pintab_create -- a new table for @h in directory @dirfd, named after the
 * holder, with room for @slots records reserved. Fails with -EEXIST if the
 * file exists, -ENOSPC, or another -errno; *ret untouched on failure and no
 * file left behind. */
int pintab_create(int dirfd, const struct pintab_holder *h, uint32_t slots,
		  struct pintab **ret);

/* pintab_open -- an existing table file @name of @dirfd: its header is
 * checked (magic, version, sizes; -EINVAL if wrong) and the records are
 * read. *ret untouched on failure. */
int pintab_open(int dirfd, const char *name, struct pintab **ret);

/* pintab_close -- unmap and close @t; the file stays. NULL is fine. */
void pintab_close(struct pintab *t);

/* pintab_remove -- unlink @t's file, then close it. NULL is fine. */
void pintab_remove(struct pintab *t);

/* pintab_holder -- the holder named in @t's header. */
const struct pintab_holder *pintab_holder(const struct pintab *t);

/* pintab_name -- the file name @t lives under (in its directory). */
const char *pintab_name(const struct pintab *t);

/* pintab_add -- record @rec; returns its slot (>= 0), or -ENOSPC when the
 * table cannot grow, -EINVAL for a bad kind, -ENOMEM. */
int64_t pintab_add(struct pintab *t, const struct pin_rec *rec);

/* pintab_del -- free slot @slot (a slot pintab_add returned). */
void pintab_del(struct pintab *t, uint32_t slot);

/* pintab_count -- records in use. */
uint32_t pintab_count(const struct pintab *t);

/* pintab_get -- the record in @slot; false if the slot is free or past
 * the end. */
bool pintab_get(const struct pintab *t, uint32_t slot, struct pin_rec *ret);

/* pintab_slots -- how many slots the table has (valid or free). */
uint32_t pintab_slots(const struct pintab *t);

/* pintab_file_name -- the file name of a table for @h into @buf (at least
 * 96 bytes): "<region uuid>-<pid>-<start_time>-<token, 16 hex>.pins". The
 * token tells apart the tables of two connections of one process. */
void pintab_file_name(const struct pintab_holder *h, char *buf, size_t len);

#endif

/* soak.h -- what pagemap-soak's parent and its client processes share: the
 * operations, the counters and canary tables in shared memory. */
#ifndef PAGEMAP_SOAK_H
#define PAGEMAP_SOAK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define SOAK_MAX_CLIENTS 64
#define SOAK_FILES 4		/* files a client owns at most */
#define SOAK_MAX_PAGES 256	/* 1 MiB: the largest file */
#define SOAK_ERRNOS 134		/* errno values counted (EHWPOISON + 1) */
#define SOAK_UNKNOWN UINT64_MAX /* a page whose stamp is not known */

/* What a client does; each counts successes and errors by errno. */
enum soak_op {
	OP_CREATE,
	OP_REMOVE,
	OP_TRUNCATE,
	OP_LEASE,
	OP_RELEASE,
	OP_MAP_WRITE,
	OP_MAP_READ,
	OP_UNMAP,
	OP_REVOKE,
	OP_LISTING,
	OP_RECONNECT,
	OP_RECALL, /* recall events handled */
	OP_COUNT
};

/*
 * A file a client owns, in shared memory so that the client started after
 * a SIGKILL knows what its predecessor wrote. Every page of the file holds
 * a stamp in its first and last 8 bytes: the file's key in the high 32
 * bits, a write counter in the low 32. want[p] is the stamp page p must
 * hold, 0 for a page never written (zeroes), or SOAK_UNKNOWN while a write
 * is under way or after a truncate (then any stamp of this file, or 0).
 * A stamp of another file's key is always a canary mismatch (I1).
 */
struct soak_file {
	uint32_t key;	/* 0: the slot is free; else in the file's name */
	uint32_t pages; /* the size the owner last set, in pages */
	uint64_t want[SOAK_MAX_PAGES];
};

/* One client slot: its counters survive its SIGKILLs. */
struct soak_slot {
	uint64_t ok[OP_COUNT];
	uint64_t err[OP_COUNT][SOAK_ERRNOS]; /* expected errors */
	uint64_t bad[OP_COUNT][SOAK_ERRNOS]; /* unexpected ones */
	uint64_t canary_checks;		     /* pages checked */
	uint64_t canary_bad;
	uint32_t next_key; /* the low 24 bits of the next file's key */
	uint32_t incarnation;
	struct soak_file file[SOAK_FILES];
	char why[200]; /* the first unexpected error or mismatch */
};

struct soak_shared {
	int stop; /* set by the parent: finish, give back, exit 0 */
	struct soak_slot slot[SOAK_MAX_CLIENTS];
};

/* What a client needs to know. */
struct soak_client {
	const char *socket;
	const char *region;
	char prefix[32]; /* of every file name of this run: "soak.PID." */
	unsigned index;	 /* its slot */
	uint64_t seed;
	struct soak_shared *sh;
};

/* soak_client_run -- a client's life: random operations until the
 * parent's stop, then everything given back. 0, or 1 after an unexpected
 * error or canary mismatch (described in its slot's why). */
int soak_client_run(void *arg);

/* soak_op_name -- "create", "map_write", ... */
const char *soak_op_name(enum soak_op op);

/* soak_errno_name -- "ENOENT", ... (or "E123"), in a static buffer for
 * unknown values. */
const char *soak_errno_name(int err);

#endif

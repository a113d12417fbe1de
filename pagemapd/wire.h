/* wire.h -- protobuf <-> internal structs, daemon side. The only daemon
 * file that sees protobuf-c types. */
#ifndef PAGEMAP_WIRE_H
#define PAGEMAP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "inode.h"
#include "lease.h"
#include "recall.h"
#include "region.h"

/* Request kinds; the values are the Request.body field numbers. */
enum wire_kind {
	WIRE_NONE = 0,
	WIRE_HELLO = 10,
	WIRE_STATUS,
	WIRE_REGION_LIST,
	WIRE_REGION_INFO,
	WIRE_REGION_ATTACH,
	WIRE_REGION_DETACH,
	WIRE_FILE_CREATE,
	WIRE_FILE_LIST,
	WIRE_FILE_STAT,
	WIRE_FILE_TRUNCATE,
	WIRE_FILE_REMOVE,
	WIRE_LEASE_ACQUIRE,
	WIRE_LEASE_RELEASE,
	WIRE_MAP,
	WIRE_UNMAP,
	WIRE_LEASE_LIST,
	WIRE_LEASE_REVOKE,
	WIRE_GRANT_LIST,
	WIRE_CLIENT_LIST,
	WIRE_BLOCKERS,
	WIRE_TAKEN, /* one-way: never answered */
	WIRE_KIND_END,
};

#define WIRE_STRING_MAX 4096u /* longest string accepted in any field */
#define WIRE_MAX_PACKET 65536u /* bytes in one packet, either way */

/* A decoded request: one flat struct for every kind, only the fields of
 * @kind are meaningful. Strings are never NULL ("" when absent) and live
 * until wire_request_free(). */
struct wire_request {
	uint64_t id;
	enum wire_kind kind;
	uint32_t version;
	const char *client_name;
	uint64_t capabilities; /* Hello: WIRE_CAP_* bits announced */
	uint64_t token; /* Hello with WIRE_CAP_RECONNECT: 0 or a reconnect's */
	const char *region;
	const char *name;
	const char *path;
	uint64_t size;
	uint64_t cursor;
	uint64_t lease_id;
	uint64_t offset;
	uint64_t length;
	uint32_t mode;
	bool mode_set;
	bool create;
	uint32_t max_order;
	bool max_order_set;
	uint32_t timeout_ms;
	uint32_t access; /* 0 none, 1 read, 2 write */
	uint32_t pid;
	bool words; /* Map: give each folio a state word; Hello: the
		       process's word table rides along (words_id) */
	uint64_t words_id; /* Hello with words: the table's old id */
	const uint32_t *slots; /* Taken: (slots[i], gens[i]), n_slots of them */
	const uint32_t *gens;
	size_t n_slots;
	void *msg; /* the unpacked message */
};

/* A loop's decoding and encoding state (the bounded decode arena, the
 * map encoder's arrays); one request is decoded at a time in it. */
struct wire_ctx;

/* wire_ctx_new -- a wire context. Returns 0 or -ENOMEM. */
int wire_ctx_new(struct wire_ctx **ret);

/* wire_ctx_free -- free *@w and set it to NULL (NULL is fine). */
void wire_ctx_free(struct wire_ctx **w);

/* wire_request_decode -- unpack and validate a packet (at most @len bytes,
 * already bounded by the transport) in @ctx. Rejects unpack failures,
 * unknown fields anywhere, id 0, oversized strings, unset bodies and kinds
 * outside enum wire_kind, and (-EINVAL, the field named in @why, its bytes
 * never quoted) any string that is not strict UTF-8 or holds a control
 * character or a NUL: every string of a decoded request is clean text.
 * Returns 0, or
 * -EPROTO with a reason in @why (the connection should be closed), or
 * -EINVAL with a reason when only this request is bad (@ret->id is set so
 * the caller can answer it); @why lives until the next decode in @ctx. */
int wire_request_decode(struct wire_ctx *ctx, const uint8_t *buf,
			size_t len, struct wire_request *ret,
			const char **why);

/* wire_request_free -- release the unpacked message (NULL msg is fine);
 * the next request may be decoded then. */
void wire_request_free(struct wire_request *r);

struct wire_limits {
	uint32_t max_packet;
	uint32_t max_leases;
	uint64_t max_grants;
	uint32_t max_pending;
	uint32_t max_folios_per_reply;
	uint32_t max_name;
	uint32_t max_cached_grants_per_lease;
	uint64_t max_cached_grants_per_process;
};

/* Capability bits (proto's Capability). */
#define WIRE_CAP_RECONNECT 1ull /* reconnect by token after a restart */
#define WIRE_CAP_BLOCKER_FIELDS 2ull /* Blocker's target as fields */
#define WIRE_CAP_CACHED_GRANTS 4ull /* state words, Taken */
#define WIRE_CAP_LISTING_HIDDEN 8ull /* listings count the rows left out */

struct wire_status {
	uint32_t pid;
	uint64_t uptime_ms;
	uint32_t regions;
	uint32_t clients;
	uint64_t leases;
	uint64_t grants;
	uint32_t pending_ops;
	uint64_t requests;
};

/* Encoders: pack a ServerMessage into @out (@cap bytes). Each returns the
 * packed length, or -EMSGSIZE if it does not fit. Every string sent is
 * made valid UTF-8 without control characters first (each fault becomes
 * U+FFFD), whatever the caller passed. */
ssize_t wire_error(uint8_t *out, size_t cap, uint64_t id, int err,
		   const char *message);
ssize_t wire_empty(uint8_t *out, size_t cap, uint64_t id, enum wire_kind k);
/* wire_hello -- the HelloReply; @caps are the capabilities granted, and
 * with WIRE_CAP_RECONNECT among them @token and @adopted are sent. */
ssize_t wire_hello(uint8_t *out, size_t cap, uint64_t id,
		   const struct wire_limits *l, uint64_t client_id,
		   uint64_t caps, uint64_t token, uint32_t adopted,
		   uint64_t words_id);
ssize_t wire_status(uint8_t *out, size_t cap, uint64_t id,
		    const struct wire_status *s);
/* The listings' @hidden: the rows left out because the client may not
 * see them, 0 for a client without WIRE_CAP_LISTING_HIDDEN (proto3 sends
 * no zero, so such a client never meets the field). */
ssize_t wire_region_list(uint8_t *out, size_t cap, uint64_t id,
			 const struct region_info *v, size_t n,
			 uint64_t hidden);
/* @k is WIRE_REGION_INFO or WIRE_REGION_ATTACH */
ssize_t wire_region(uint8_t *out, size_t cap, uint64_t id, enum wire_kind k,
		    const struct region_info *ri);
/* @k is WIRE_FILE_CREATE, WIRE_FILE_STAT or WIRE_FILE_TRUNCATE */
ssize_t wire_file(uint8_t *out, size_t cap, uint64_t id, enum wire_kind k,
		  const char *region, const struct file_info *fi);
ssize_t wire_file_list(uint8_t *out, size_t cap, uint64_t id,
		       const char *region, const struct file_info *v,
		       size_t n, bool more, uint64_t next_cursor);

struct wire_lease_acquired {
	uint64_t lease_id;
	uint64_t ino;
	uint64_t size;
	uint32_t max_order;
	uint64_t region_size;
	bool fd_attached;
};
ssize_t wire_lease_acquire(uint8_t *out, size_t cap, uint64_t id,
			   const struct wire_lease_acquired *a);

/* wire_map -- the folios @v[0..n), contiguous in the file from
 * v[0].file_pg; with @words each one's slot and generation, and, when
 * @words_id is not 0, words_attached (the table's memfd rides along); the
 * last @ahead of them are granted ahead, past next_offset. */
ssize_t wire_map(struct wire_ctx *ctx, uint8_t *out, size_t cap, uint64_t id,
		 const struct grant *v, size_t n, uint64_t next_offset,
		 bool words, uint64_t words_id, size_t ahead);
ssize_t wire_unmap(uint8_t *out, size_t cap, uint64_t id, uint64_t returned);

/* What `lease ls` shows. */
struct lease_info {
	uint64_t id;
	const char *region;
	const char *name;
	uint64_t ino;
	uint32_t access;
	uint64_t client_id;
	uint32_t pid, uid;
	char comm[16];
	uint64_t grants;
	uint64_t bytes;
	bool recalled;
};
ssize_t wire_lease_list(uint8_t *out, size_t cap, uint64_t id,
			const struct lease_info *v, size_t n, bool more,
			uint64_t hidden);

/* One line of `grant ls`. */
struct grant_row {
	uint64_t lease_id;
	struct grant g;
	unsigned state; /* lease_grant_state() */
};
ssize_t wire_grant_list(uint8_t *out, size_t cap, uint64_t id,
			const struct grant_row *v, size_t n, bool more,
			uint64_t hidden);
/* What `client ls` shows. */
struct client_info {
	uint64_t id;
	uint32_t pid, uid, gid;
	char comm[16];
	char name[64];
	bool connected;
	uint32_t leases;
	uint64_t grants;
	uint32_t pending;
};
ssize_t wire_client_list(uint8_t *out, size_t cap, uint64_t id,
			 const struct client_info *v, size_t n, bool more);
/* wire_blockers -- a BlockersReply; with @fields (the client announced
 * WIRE_CAP_BLOCKER_FIELDS) each row carries region, file, ino and
 * new_size too. */
ssize_t wire_blockers(uint8_t *out, size_t cap, uint64_t id,
		      const struct blocker *v, size_t n, bool truncated,
		      bool fields, uint64_t hidden);

/* wire_recall -- an Event asking the holder of @lease_id to return the
 * grants in [off, off + len) (len 0: all). */
ssize_t wire_recall(uint8_t *out, size_t cap, uint64_t lease_id, uint64_t off,
		    uint64_t len, const char *reason);

#endif

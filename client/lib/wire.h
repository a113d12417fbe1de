/* wire.h -- the protocol's messages as flat structs. wire.c is the only
 * library file that sees protobuf-c types. */
#ifndef PAGEMAP_WIRE_H
#define PAGEMAP_WIRE_H

#include "internal.h"

/* Request kinds; a Response answers with the same kind. */
enum wire_op {
	WIRE_NONE = 0,
	WIRE_HELLO,
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
};

/* Capability bits of Hello/HelloReply (the proto's enum Capability). */
#define WIRE_CAP_RECONNECT 1u
#define WIRE_CAP_BLOCKER_FIELDS 2u /* Blocker's target as fields */
#define WIRE_CAP_CACHED_GRANTS 4u  /* state words, Taken */
#define WIRE_CAP_LISTING_HIDDEN 8u /* listings count the rows left out */

/* A request: @op and the fields that kind of request has (NULL strings
 * are sent empty). */
struct wire_request {
	enum wire_op op;
	const char *region;
	const char *name;
	const char *path;	 /* REGION_ATTACH */
	const char *client_name; /* HELLO */
	uint32_t version;	 /* HELLO */
	uint64_t capabilities;	 /* HELLO: WIRE_CAP_* bits */
	uint64_t token;		 /* HELLO: the token of an earlier reply */
	uint64_t size;
	uint64_t lease_id;
	uint64_t offset, length; /* MAP, UNMAP */
	enum pagemap_access access;
	uint64_t cursor;       /* FILE_LIST cursor, LEASE/CLIENT_LIST after_id,
				* GRANT_LIST after_lease */
	uint64_t after_offset; /* GRANT_LIST */
	uint32_t pid;	       /* GRANT_LIST */
	uint32_t timeout_ms;
	uint32_t max_order;
	bool max_order_set;
	bool create;
	uint32_t mode;
	bool mode_set;
	bool words; /* MAP: give each folio a state word */
	/* HELLO: the process's word table rides along (its memfd, sent by
	 * conn.c) under the id the daemon named it by */
	bool words_attached;
	uint64_t words_id;
	const uint32_t *slots; /* TAKEN: (slots[i], gens[i]), n_slots */
	const uint32_t *gens;
	size_t n_slots;
};

/* A packet from the daemon, unpacked. */
enum wire_msg_kind {
	WIRE_MSG_RECALL,
	WIRE_MSG_RESPONSE,
};

struct wire_msg {
	void *sm; /* the unpacked message; wire_msg_free() */
	enum wire_msg_kind kind;
	/* WIRE_MSG_RECALL */
	uint64_t lease_id;
	uint64_t offset, length;
	const char *reason; /* never NULL */
	/* WIRE_MSG_RESPONSE */
	uint64_t id;
	uint32_t error;
	const char *message; /* never NULL */
	enum wire_op op;     /* the body's kind, WIRE_NONE for none */
};

/* wire_request_pack -- pack @r with @id into a malloc'd buffer of at
 * most @max bytes (-EMSGSIZE past it); the caller frees *ret_buf. */
int wire_request_pack(const struct wire_request *r, uint64_t id, size_t max,
		      uint8_t **ret_buf, size_t *ret_len);

/* wire_msg_unpack -- unpack and check one packet: -EPROTO (and *ret_why)
 * when it does not unpack, has unknown fields, or is neither a Response
 * nor a recall Event. */
int wire_msg_unpack(const uint8_t *buf, size_t len, struct wire_msg *ret,
		    const char **ret_why);

/* wire_msg_free -- release what wire_msg_unpack() made (NULL sm fine). */
void wire_msg_free(struct wire_msg *m);

/* The bodies of responses; each takes a message whose op says it is
 * that kind of reply. */
struct wire_hello {
	uint32_t version;
	const char *server;
	uint64_t client_id;
	bool has_limits;
	struct pagemap_limits limits;
	uint64_t capabilities; /* granted: a subset of the Hello's */
	uint64_t token;	       /* CAP_RECONNECT: present it when reconnecting */
	uint32_t leases_adopted; /* CAP_RECONNECT: leases the token took back */
	uint64_t words_id; /* CAP_CACHED_GRANTS: the process's table, or 0 */
};
void wire_hello(const struct wire_msg *m, struct wire_hello *ret);

struct wire_lease {
	uint64_t lease_id;
	uint64_t ino;
	uint64_t size;
	uint32_t max_order;
	uint64_t region_size;
	bool fd_attached;
};
void wire_lease(const struct wire_msg *m, struct wire_lease *ret);

/* A MapReply's arrays point into the message. */
struct wire_map {
	uint64_t offset;
	uint64_t next_offset;
	size_t n_region_offset, n_order;
	const uint64_t *region_offset;
	const uint32_t *order;
	size_t n_slot, n_gen; /* MapRequest.words: each folio's word */
	const uint32_t *slot;
	const uint32_t *gen;
	bool words_attached; /* the table's memfd came with the reply */
	uint64_t words_id;
	uint32_t ahead; /* the last ones lie past the range: granted ahead */
};
void wire_map(const struct wire_msg *m, struct wire_map *ret);

/* wire_unmap_returned -- grants an UnmapReply says were returned. */
uint64_t wire_unmap_returned(const struct wire_msg *m);

/* One page of a listing. */
struct wire_page {
	size_t n;
	bool more;
	uint64_t next_cursor; /* FILE_LIST */
	uint64_t hidden; /* rows the daemon left out of the page's span */
};
/* wire_page -- the page of a listing; -EPROTO when a grant listing's
 * parallel arrays differ in length. */
int wire_page(const struct wire_msg *m, struct wire_page *ret);

/* Records are built as the public structs, each followed by its
 * strings, at offsets that keep the next one aligned. */
#define WIRE_ALIGN 16u

/* wire_record -- build record @i of the reply @m (the public struct its
 * kind carries, e.g. struct pagemap_file_info for a FileList) at @dst, or
 * with @dst NULL only measure it. Returns its bytes (a multiple of
 * WIRE_ALIGN), or 0 when the record is missing or invalid. */
size_t wire_record(const struct wire_msg *m, size_t i, void *dst);

/* wire_record_key -- the paging key of record @i: a lease's or client's
 * id in *ret_a, a grant's (lease id, file offset) in both. */
void wire_record_key(const struct wire_msg *m, size_t i, uint64_t *ret_a,
		     uint64_t *ret_b);

/* copy_str -- copy @src (NULL: "") into a field of @size bytes; -EPROTO
 * when it does not fit (never truncated silently). */
int copy_str(char *dst, size_t size, const char *src);

#endif

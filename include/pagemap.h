/* pagemap.h -- libpagemap, the client library of pagemapd. */
#ifndef PAGEMAP_H
#define PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Every call returns 0 (or a count) on success and a negative errno value
 * on failure: the daemon's error code, or a local one (-ECONNREFUSED,
 * -EPROTO, ...). pagemap_strerror() turns a code into text and
 * pagemap_last_message() returns the daemon's own one-line explanation of
 * the last failed request on that connection ("" when there is none).
 *
 * Threading: a struct pagemap is not thread-safe; use one per thread or
 * serialize calls on it. Calls block until their reply arrives.
 */

#define PAGEMAP_PROTOCOL_VERSION 1u
#define PAGEMAP_DEFAULT_SOCKET_ENV "PAGEMAP_SOCKET"

struct pagemap;

struct pagemap_limits {
	uint32_t max_packet;
	uint32_t max_leases;
	uint64_t max_grants;
	uint32_t max_pending;
	uint32_t max_folios_per_reply;
	uint32_t max_name;
};

struct pagemap_status {
	char server[64];
	uint32_t pid;
	uint64_t uptime_ms;
	uint32_t regions;
	uint32_t clients;
	uint64_t leases;
	uint64_t grants;
	uint32_t pending_ops;
};

struct pagemap_region_info {
	char name[64];
	char path[4096];
	char kind[16]; /* "file", "fsdax", "devdax" */
	char uuid[40];
	char state[16]; /* "attached", "detaching" */
	uint64_t size;
	uint64_t data_size;
	uint64_t used;
	uint64_t free;
	uint32_t files;
	uint32_t max_files;
	uint32_t max_order;
	uint32_t uid, gid, mode;
	uint64_t pins;
	uint32_t orphans;
};

struct pagemap_file_info {
	char region[64];
	char name[128];
	uint64_t ino;
	uint64_t size;
	uint64_t allocated;
	uint32_t uid, gid, mode;
	uint32_t extents;
	uint32_t leases;
	uint64_t grants;
	bool orphan;
	uint64_t mtime_ns;
};

/* pagemap_default_socket -- the socket path used when none is given:
 * $PAGEMAP_SOCKET if set, else the build's default. */
const char *pagemap_default_socket(void);

/* pagemap_connect -- connect to the daemon at @socket_path (NULL: the
 * default) and do the version handshake, naming the client @client_name
 * (NULL: the program name). Returns 0 and *ret, or -errno. */
int pagemap_connect(const char *socket_path, const char *client_name,
		    struct pagemap **ret);

/* pagemap_close -- close the connection and free @pm (NULL is fine). */
void pagemap_close(struct pagemap *pm);

/* pagemap_limits -- the limits the daemon announced at the handshake. */
const struct pagemap_limits *pagemap_get_limits(const struct pagemap *pm);

/* pagemap_strerror -- text for a (negative or positive) error code. */
const char *pagemap_strerror(int err);

/* pagemap_last_message -- the daemon's message for the last failure on
 * @pm, or "". Valid until the next call on @pm. */
const char *pagemap_last_message(const struct pagemap *pm);

int pagemap_status(struct pagemap *pm, struct pagemap_status *ret);

/* pagemap_region_list -- all attached regions; *ret is an array of *ret_n
 * entries to release with pagemap_free(). */
int pagemap_region_list(struct pagemap *pm, struct pagemap_region_info **ret,
			size_t *ret_n);
int pagemap_region_info(struct pagemap *pm, const char *region,
			struct pagemap_region_info *ret);

#define PAGEMAP_ATTACH_CREATE 0x1u /* create + format if absent */

/* pagemap_region_attach -- attach the region file @path as @region.
 * @size is needed with PAGEMAP_ATTACH_CREATE; @max_order < 0 means the
 * default. @ret may be NULL. */
int pagemap_region_attach(struct pagemap *pm, const char *region,
			  const char *path, uint64_t size, int max_order,
			  unsigned flags, struct pagemap_region_info *ret);

/* pagemap_region_detach -- detach @region, waiting at most @timeout_ms
 * (0: for ever) for outstanding grants. */
int pagemap_region_detach(struct pagemap *pm, const char *region,
			  uint32_t timeout_ms);

/* pagemap_file_create -- create @region/@name of @size bytes with @mode
 * (< 0: 0644). @ret may be NULL. */
int pagemap_file_create(struct pagemap *pm, const char *region,
			const char *name, uint64_t size, int mode,
			struct pagemap_file_info *ret);

/* pagemap_file_list -- every file of @region (all pages fetched);
 * release *ret with pagemap_free(). */
int pagemap_file_list(struct pagemap *pm, const char *region,
		      struct pagemap_file_info **ret, size_t *ret_n);
int pagemap_file_stat(struct pagemap *pm, const char *region,
		      const char *name, struct pagemap_file_info *ret);

/* pagemap_file_truncate -- set the size of @region/@name, waiting at most
 * @timeout_ms (0: for ever) for grants past the new end. @ret may be
 * NULL. */
int pagemap_file_truncate(struct pagemap *pm, const char *region,
			  const char *name, uint64_t size, uint32_t timeout_ms,
			  struct pagemap_file_info *ret);
int pagemap_file_remove(struct pagemap *pm, const char *region,
			const char *name);

/* pagemap_free -- release an array returned by a list call. */
void pagemap_free(void *p);

#ifdef __cplusplus
}
#endif

#endif

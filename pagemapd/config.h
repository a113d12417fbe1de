/* config.h -- daemon configuration: defaults, config file, --region specs. */
#ifndef PAGEMAP_CONFIG_H
#define PAGEMAP_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define CONFIG_ERR_MAX 512u
#define CONFIG_MAX_REGIONS 32u

struct region_conf {
	char name[64];
	char path[PATH_MAX]; /* the data file or devdax device */
	char meta[PATH_MAX]; /* its metadata file; "": "<path>.meta" */
	uint64_t size; /* bytes, for create */
	const char *size_note; /* how an unusual size was read, or NULL */
	bool create;
	uint32_t max_order;
	uint32_t inodes; /* 0: derive from size */
};

struct config {
	char socket_path[108]; /* sizeof(sun_path) */
	char runtime_dir[PATH_MAX]; /* pin tables in its pins/ (pins.c) */
	enum log_level log_level;
	uint32_t socket_mode; /* permission bits of the socket file */
	uint32_t max_clients; /* connections at once, lowered to the fds */
	uint32_t max_connections_per_uid; /* for every uid but the admins' */
	uint32_t reserved_connections; /* of max_clients, for the admins */
	uint32_t handshake_timeout_ms; /* from accept to a completed Hello */
	uint32_t max_leases; /* per process */
	uint32_t max_leases_per_uid;
	uint64_t max_grants; /* per process */
	uint64_t max_grants_per_uid;
	uint64_t max_queued_bytes; /* replies queued to a process, bytes */
	uint64_t max_queued_bytes_per_uid;
	uint64_t max_memory_per_uid; /* the estimate (account.h), bytes */
	uint32_t max_cached_grants_per_lease; /* kept after unmap */
	uint64_t max_cached_grants_per_process;
	uint32_t grant_ahead_folios; /* extra folios a map may grant */
	uint32_t max_pending; /* queued replies per connection before we stop
			       * reading */
	struct region_conf regions[CONFIG_MAX_REGIONS];
	size_t nregions;
};

/* config_defaults -- the built-in settings, no regions; the runtime
 * directory is $RUNTIME_DIRECTORY (systemd's) when set. */
void config_defaults(struct config *c);

/* config_load -- read the INI file @path into @c (keys override what is
 * there; [region NAME] sections add regions). Returns 0, or -errno with
 * "FILE:LINE: key 'K': what is wrong" in @err (CONFIG_ERR_MAX bytes). */
int config_load(struct config *c, const char *path, char *err);

/* config_add_region_spec -- add a region from a --region argument
 * "NAME=PATH[,meta=PATH][,size=SIZE][,create][,max_order=N][,inodes=N]".
 * Returns 0 or
 * -EINVAL / -E2BIG (too many regions, duplicate name) with a reason in
 * @err. */
int config_add_region_spec(struct config *c, const char *spec, char *err);

/* config_add_embedded_default -- the region "default" of the embedded
 * default (a sparse 1 GiB file under the checkout, created on first
 * start). */
void config_add_embedded_default(struct config *c);

/* config_set_runtime_dir -- @dir (absolute, below PATH_MAX) as the runtime
 * directory. Returns 0 or -EINVAL with a reason in *why. */
int config_set_runtime_dir(struct config *c, const char *dir,
			   const char **why);

/* parse_size -- "4096", "64K", "2M", "1G", "1T" (powers of 1024) into
 * bytes. Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *ret);

#endif

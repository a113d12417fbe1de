/* mkseeds_request.c -- writes the seed corpus of fuzz_request: sequences
 * of packed requests (each a little-endian u16 length and the bytes), one
 * seed per request kind after a Hello and a few stories that cross the
 * handlers (a lease mapped, truncated and revoked under its grants, a
 * leased file removed). Usage: mkseeds_request DIR. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pagemap.pb-c.h"

#define SEED_MAX 65536

struct seed {
	uint8_t buf[SEED_MAX];
	size_t len;
	uint64_t next_id;
};

static void
add(struct seed *sd, Pagemap__Request *rq)
{
	size_t n;

	rq->id = ++sd->next_id;
	n = pagemap__request__get_packed_size(rq);
	if (sd->len + 2 + n > SEED_MAX)
		abort();
	sd->buf[sd->len++] = (uint8_t)n;
	sd->buf[sd->len++] = (uint8_t)(n >> 8);
	pagemap__request__pack(rq, sd->buf + sd->len);
	sd->len += n;
}

static void
save(const struct seed *sd, const char *dir, const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(sd->buf, 1, sd->len, f) != sd->len ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

/* One request of each kind; the body setters below fill rq's oneof. */
#define BODY(rq, member, CASE, msg)                                            \
	do {                                                                   \
		pagemap__request__init(rq);                                    \
		(rq)->body_case = PAGEMAP__REQUEST__BODY_##CASE;               \
		(rq)->member = (msg);                                          \
	} while (0)

static void
hello(struct seed *sd, uint64_t caps)
{
	Pagemap__Request rq;
	Pagemap__Hello m = PAGEMAP__HELLO__INIT;

	m.version = 1;
	m.client_name = "seed";
	m.capabilities = caps;
	BODY(&rq, hello, HELLO, &m);
	add(sd, &rq);
}

static void
status(struct seed *sd)
{
	Pagemap__Request rq;
	Pagemap__StatusRequest m = PAGEMAP__STATUS_REQUEST__INIT;

	BODY(&rq, status, STATUS, &m);
	add(sd, &rq);
}

static void
region_list(struct seed *sd)
{
	Pagemap__Request rq;
	Pagemap__RegionListRequest m = PAGEMAP__REGION_LIST_REQUEST__INIT;

	BODY(&rq, region_list, REGION_LIST, &m);
	add(sd, &rq);
}

static void
region_info(struct seed *sd, char *region)
{
	Pagemap__Request rq;
	Pagemap__RegionInfoRequest m = PAGEMAP__REGION_INFO_REQUEST__INIT;

	m.region = region;
	BODY(&rq, region_info, REGION_INFO, &m);
	add(sd, &rq);
}

static void
region_attach(struct seed *sd, char *region, uint64_t size)
{
	Pagemap__Request rq;
	Pagemap__RegionAttachRequest m = PAGEMAP__REGION_ATTACH_REQUEST__INIT;

	m.region = region;
	m.path = "/fuzz/a.pmem"; /* the target puts it in its temp folder */
	m.size = size;
	m.create = size != 0;
	m.max_order = 2;
	m.max_order_set = true;
	BODY(&rq, region_attach, REGION_ATTACH, &m);
	add(sd, &rq);
}

static void
region_detach(struct seed *sd, char *region, uint32_t timeout_ms)
{
	Pagemap__Request rq;
	Pagemap__RegionDetachRequest m = PAGEMAP__REGION_DETACH_REQUEST__INIT;

	m.region = region;
	m.timeout_ms = timeout_ms;
	BODY(&rq, region_detach, REGION_DETACH, &m);
	add(sd, &rq);
}

static void
file_create(struct seed *sd, char *name, uint64_t size)
{
	Pagemap__Request rq;
	Pagemap__FileCreateRequest m = PAGEMAP__FILE_CREATE_REQUEST__INIT;

	m.region = "r";
	m.name = name;
	m.size = size;
	m.mode = 0600;
	m.mode_set = true;
	BODY(&rq, file_create, FILE_CREATE, &m);
	add(sd, &rq);
}

static void
file_list(struct seed *sd)
{
	Pagemap__Request rq;
	Pagemap__FileListRequest m = PAGEMAP__FILE_LIST_REQUEST__INIT;

	m.region = "r";
	BODY(&rq, file_list, FILE_LIST, &m);
	add(sd, &rq);
}

static void
file_stat(struct seed *sd, char *name)
{
	Pagemap__Request rq;
	Pagemap__FileStatRequest m = PAGEMAP__FILE_STAT_REQUEST__INIT;

	m.region = "r";
	m.name = name;
	BODY(&rq, file_stat, FILE_STAT, &m);
	add(sd, &rq);
}

static void
file_truncate(struct seed *sd, char *name, uint64_t size, uint32_t timeout)
{
	Pagemap__Request rq;
	Pagemap__FileTruncateRequest m = PAGEMAP__FILE_TRUNCATE_REQUEST__INIT;

	m.region = "r";
	m.name = name;
	m.size = size;
	m.timeout_ms = timeout;
	BODY(&rq, file_truncate, FILE_TRUNCATE, &m);
	add(sd, &rq);
}

static void
file_remove(struct seed *sd, char *name)
{
	Pagemap__Request rq;
	Pagemap__FileRemoveRequest m = PAGEMAP__FILE_REMOVE_REQUEST__INIT;

	m.region = "r";
	m.name = name;
	BODY(&rq, file_remove, FILE_REMOVE, &m);
	add(sd, &rq);
}

static void
lease_acquire(struct seed *sd, char *name, Pagemap__Access access)
{
	Pagemap__Request rq;
	Pagemap__LeaseAcquireRequest m = PAGEMAP__LEASE_ACQUIRE_REQUEST__INIT;

	m.region = "r";
	m.name = name;
	m.access = access;
	BODY(&rq, lease_acquire, LEASE_ACQUIRE, &m);
	add(sd, &rq);
}

static void
lease_release(struct seed *sd, uint64_t lease)
{
	Pagemap__Request rq;
	Pagemap__LeaseReleaseRequest m = PAGEMAP__LEASE_RELEASE_REQUEST__INIT;

	m.lease_id = lease;
	BODY(&rq, lease_release, LEASE_RELEASE, &m);
	add(sd, &rq);
}

static void
map_words(struct seed *sd, uint64_t lease, uint64_t off, uint64_t len,
	  Pagemap__Access access, bool words)
{
	Pagemap__Request rq;
	Pagemap__MapRequest m = PAGEMAP__MAP_REQUEST__INIT;

	m.lease_id = lease;
	m.offset = off;
	m.length = len;
	m.access = access;
	m.words = words;
	BODY(&rq, map, MAP, &m);
	add(sd, &rq);
}

static void
map(struct seed *sd, uint64_t lease, uint64_t off, uint64_t len,
    Pagemap__Access access)
{
	map_words(sd, lease, off, len, access, false);
}

/* taken -- hand back the grants in word slots [0, n) at generation @gen
 * (one-way: no reply). */
static void
taken(struct seed *sd, uint32_t n, uint32_t gen)
{
	Pagemap__Request rq;
	Pagemap__TakenRequest m = PAGEMAP__TAKEN_REQUEST__INIT;
	uint32_t slot[8], gens[8];

	for (uint32_t i = 0; i < n && i < 8; i++) {
		slot[i] = i;
		gens[i] = gen;
	}
	m.n_slot = m.n_gen = n < 8 ? n : 8;
	m.slot = slot;
	m.gen = gens;
	BODY(&rq, taken, TAKEN, &m);
	add(sd, &rq);
}

static void
unmap(struct seed *sd, uint64_t lease, uint64_t off, uint64_t len)
{
	Pagemap__Request rq;
	Pagemap__UnmapRequest m = PAGEMAP__UNMAP_REQUEST__INIT;

	m.lease_id = lease;
	m.offset = off;
	m.length = len;
	BODY(&rq, unmap, UNMAP, &m);
	add(sd, &rq);
}

static void
lease_list(struct seed *sd)
{
	Pagemap__Request rq;
	Pagemap__LeaseListRequest m = PAGEMAP__LEASE_LIST_REQUEST__INIT;

	m.region = "r";
	BODY(&rq, lease_list, LEASE_LIST, &m);
	add(sd, &rq);
}

static void
lease_revoke(struct seed *sd, uint64_t lease, uint32_t timeout)
{
	Pagemap__Request rq;
	Pagemap__LeaseRevokeRequest m = PAGEMAP__LEASE_REVOKE_REQUEST__INIT;

	m.lease_id = lease;
	m.timeout_ms = timeout;
	BODY(&rq, lease_revoke, LEASE_REVOKE, &m);
	add(sd, &rq);
}

static void
grant_list(struct seed *sd, uint64_t lease)
{
	Pagemap__Request rq;
	Pagemap__GrantListRequest m = PAGEMAP__GRANT_LIST_REQUEST__INIT;

	m.lease_id = lease;
	BODY(&rq, grant_list, GRANT_LIST, &m);
	add(sd, &rq);
}

static void
client_list(struct seed *sd)
{
	Pagemap__Request rq;
	Pagemap__ClientListRequest m = PAGEMAP__CLIENT_LIST_REQUEST__INIT;

	BODY(&rq, client_list, CLIENT_LIST, &m);
	add(sd, &rq);
}

static void
blockers(struct seed *sd, char *name)
{
	Pagemap__Request rq;
	Pagemap__BlockersRequest m = PAGEMAP__BLOCKERS_REQUEST__INIT;

	m.region = "r";
	m.name = name;
	BODY(&rq, blockers, BLOCKERS, &m);
	add(sd, &rq);
}

/* Every capability a client of today announces: reconnect, blocker
 * fields, cached grants, hidden counts. */
#define ALL_CAPS 15u

static struct seed *
fresh_caps(uint64_t caps)
{
	struct seed *sd = calloc(1, sizeof(*sd));

	if (sd == NULL)
		abort();
	hello(sd, caps);
	return sd;
}

static struct seed *
fresh(void)
{
	return fresh_caps(1);
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : ".";
	struct seed *sd;

	if (argc != 2) {
		fprintf(stderr, "usage: mkseeds_request DIR\n");
		return 2;
	}
#define ONE(name, ...)                                                         \
	do {                                                                   \
		sd = fresh();                                                  \
		__VA_ARGS__;                                                   \
		save(sd, dir, name);                                           \
		free(sd);                                                      \
	} while (0)
	ONE("hello", (void)0);
	ONE("status", status(sd));
	ONE("region_list", region_list(sd));
	ONE("region_info", region_info(sd, "r"));
	ONE("region_attach", region_attach(sd, "a", 8u << 20));
	ONE("region_detach", region_detach(sd, "r", 0));
	ONE("file_create", file_create(sd, "f", 65536));
	ONE("file_list", file_create(sd, "f", 4096); file_list(sd));
	ONE("file_stat", file_create(sd, "f", 4096); file_stat(sd, "f"));
	ONE("file_truncate", file_create(sd, "f", 4096);
	    file_truncate(sd, "f", 1 << 20, 0));
	ONE("file_remove", file_create(sd, "f", 4096); file_remove(sd, "f"));
	ONE("lease_acquire", file_create(sd, "f", 4096);
	    lease_acquire(sd, "f", PAGEMAP__ACCESS__ACCESS_READ));
	ONE("lease_release", file_create(sd, "f", 4096);
	    lease_acquire(sd, "f", PAGEMAP__ACCESS__ACCESS_WRITE);
	    lease_release(sd, 1));
	ONE("map", file_create(sd, "f", 1 << 20);
	    lease_acquire(sd, "f", PAGEMAP__ACCESS__ACCESS_WRITE);
	    map(sd, 1, 0, 1 << 20, PAGEMAP__ACCESS__ACCESS_WRITE));
	ONE("unmap", file_create(sd, "f", 1 << 20);
	    lease_acquire(sd, "f", PAGEMAP__ACCESS__ACCESS_WRITE);
	    map(sd, 1, 0, 1 << 20, PAGEMAP__ACCESS__ACCESS_WRITE);
	    unmap(sd, 1, 4096, 65536));
	ONE("lease_list", file_create(sd, "f", 4096);
	    lease_acquire(sd, "f", PAGEMAP__ACCESS__ACCESS_READ);
	    lease_list(sd));
	ONE("lease_revoke", file_create(sd, "f", 65536);
	    lease_acquire(sd, "f", PAGEMAP__ACCESS__ACCESS_READ);
	    map(sd, 1, 0, 65536, PAGEMAP__ACCESS__ACCESS_READ);
	    lease_revoke(sd, 1, 1); blockers(sd, "f"));
	ONE("grant_list", file_create(sd, "f", 65536);
	    lease_acquire(sd, "f", PAGEMAP__ACCESS__ACCESS_READ);
	    map(sd, 1, 0, 65536, PAGEMAP__ACCESS__ACCESS_READ);
	    grant_list(sd, 0));
	ONE("client_list", client_list(sd));
	ONE("blockers", blockers(sd, ""));
	/* A truncate under grants waits for them (a recall); a leased file
	 * removed becomes an orphan its lease's end frees. */
	ONE("story_recall", file_create(sd, "f", 1 << 20);
	    lease_acquire(sd, "f", PAGEMAP__ACCESS__ACCESS_WRITE);
	    map(sd, 1, 0, 1 << 20, PAGEMAP__ACCESS__ACCESS_WRITE);
	    file_truncate(sd, "f", 8192, 0); blockers(sd, "f");
	    unmap(sd, 1, 0, 1 << 20); file_stat(sd, "f"); file_remove(sd, "f");
	    file_list(sd); lease_release(sd, 1); file_list(sd));
	ONE("story_detach", file_create(sd, "f", 65536);
	    file_create(sd, "g", 8192);
	    lease_acquire(sd, "g", PAGEMAP__ACCESS__ACCESS_READ);
	    map(sd, 1, 0, 8192, PAGEMAP__ACCESS__ACCESS_READ);
	    region_detach(sd, "r", 0); blockers(sd, ""); status(sd);
	    unmap(sd, 1, 0, 0); region_list(sd));
	ONE("story_attach", region_attach(sd, "a", 8u << 20);
	    region_info(sd, "a"); region_detach(sd, "a", 0);
	    region_attach(sd, "a", 0); region_list(sd));
	/* Cached grants: maps with state words, grants handed back by
	 * Taken (right and wrong generations), a truncate that takes the
	 * rest back, the listings with every capability. */
#define CACHED(name, ...)                                                      \
	do {                                                                   \
		sd = fresh_caps(ALL_CAPS);                                     \
		__VA_ARGS__;                                                   \
		save(sd, dir, name);                                           \
		free(sd);                                                      \
	} while (0)
	CACHED("story_cached", file_create(sd, "f", 1 << 20);
	       lease_acquire(sd, "f", PAGEMAP__ACCESS__ACCESS_WRITE); map_words(
		       sd, 1, 0, 1 << 20, PAGEMAP__ACCESS__ACCESS_WRITE, true);
	       grant_list(sd, 1); taken(sd, 4, 1); taken(sd, 4, 7);
	       file_truncate(sd, "f", 4096, 0); blockers(sd, "f");
	       lease_list(sd); region_list(sd); lease_release(sd, 1));
	CACHED("taken_alone", taken(sd, 8, 1); status(sd));
	return 0;
}

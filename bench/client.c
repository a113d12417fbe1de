/* client.c -- libpagemap helpers the figures share. */
#include "client.h"

#include <errno.h>
#include <stdio.h>

#include "bench.h"

int
client_grant_range(struct pagemap_lease *l, uint64_t offset, uint64_t length,
		   struct pagemap_folio *buf, size_t max, uint64_t *ret_folios,
		   uint64_t *order_bytes)
{
	uint64_t pos = offset, end = offset + length, folios = 0;

	while (pos < end) {
		uint64_t next;
		size_t n;
		int err = pagemap_grant(l, pos, end - pos, PAGEMAP_READ, buf,
					max, &n, &next);

		if (err) {
			say("grant at %llu: %s", (unsigned long long)pos,
			    pagemap_strerror(err));
			return err;
		}
		if (next <= pos) {
			say("grant at %llu made no progress",
			    (unsigned long long)pos);
			return -EPROTO;
		}
		folios += n;
		for (size_t i = 0; order_bytes && i < n; i++)
			if (buf[i].order < ORDERS)
				order_bytes[buf[i].order] += PAGE
							     << buf[i].order;
		pos = next;
	}
	*ret_folios = folios;
	return 0;
}

int
client_create(struct pagemap *pm, const char *region, const char *name,
	      uint64_t size)
{
	int err = pagemap_file_create(pm, region, name, size, 0644, NULL);

	if (err)
		say("create %s/%s (%llu bytes): %s (%s)", region, name,
		    (unsigned long long)size, pagemap_strerror(err),
		    pagemap_last_message(pm));
	return err;
}

int
client_create_n(struct pagemap *pm, const char *region, const char *fmt,
		unsigned n, uint64_t size)
{
	for (unsigned i = 0; i < n; i++) {
		char name[64];
		int err;

		snprintf(name, sizeof(name), fmt, i);
		err = client_create(pm, region, name, size);
		if (err)
			return err;
	}
	return 0;
}

int
client_lease(struct pagemap *pm, const char *region, const char *name,
	     enum pagemap_access access, struct pagemap_lease **ret)
{
	int err = pagemap_lease_acquire(pm, region, name, access, ret);

	if (err)
		say("lease on %s/%s: %s (%s)", region, name,
		    pagemap_strerror(err), pagemap_last_message(pm));
	return err;
}

int
client_lease_grants(struct pagemap *pm, const char *region, const char *name,
		    uint64_t id, uint64_t *ret)
{
	struct pagemap_lease_info **v;
	size_t n;
	int err = pagemap_lease_list(pm, region, name, &v, &n);

	if (err) {
		say("lease ls %s/%s: %s", region, name, pagemap_strerror(err));
		return err;
	}
	*ret = 0;
	for (size_t k = 0; k < n; k++)
		if (v[k]->id == id)
			*ret = v[k]->grants;
	pagemap_free(v);
	return 0;
}

uint64_t
region_size_for(uint64_t data, uint64_t inodes)
{
	/* An inode record is 256 bytes and comes with 4 extent records of
	 * 32; the bitmap is a bit a page, kept three times (itself and
	 * twice in the journal); 1 MiB of journal; alignment of the data
	 * area to 2 MiB; and some room for fragmentation. */
	uint64_t size = data + inodes * 384 + 3 * (data / PAGE / 8) +
			(8 * MIB) + data / 64;

	return (size + 2 * MIB - 1) & ~(2 * MIB - 1);
}

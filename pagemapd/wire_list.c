/* wire_list.c -- the listing replies, daemon side: leases, grants,
 * clients, blockers (rows of one page each, as query.c chose them). With
 * wire.c, the only daemon files that see protobuf-c types. */
#include "wire.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagemap.pb-c.h"
#include "wire_int.h"

static void
to_lease_info(Pagemap__LeaseInfo *li, const struct lease_info *v)
{
	pagemap__lease_info__init(li);
	li->id = v->id;
	li->region = (char *)v->region;
	li->name = (char *)v->name;
	li->ino = v->ino;
	li->access = (Pagemap__Access)v->access;
	li->client_id = v->client_id;
	li->pid = v->pid;
	li->uid = v->uid;
	li->comm = (char *)v->comm;
	li->grants = v->grants;
	li->bytes = v->bytes;
	li->recalled = v->recalled;
}

ssize_t
wire_lease_list(uint8_t *out, size_t cap, uint64_t id,
		const struct lease_info *v, size_t n, bool more,
		uint64_t hidden)
{
	Pagemap__LeaseListReply m = PAGEMAP__LEASE_LIST_REPLY__INIT;
	void **rows = rows_new(n, sizeof(Pagemap__LeaseInfo));
	ssize_t rv;

	if (rows == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		to_lease_info(rows[i], &v[i]);
	m.n_leases = n;
	m.leases = (Pagemap__LeaseInfo **)rows;
	m.more = more;
	m.hidden = hidden;
	rv = reply(out, cap, id, WIRE_LEASE_LIST, &m);
	free(rows);
	return rv;
}

ssize_t
wire_grant_list(uint8_t *out, size_t cap, uint64_t id,
		const struct grant_row *v, size_t n, bool more,
		uint64_t hidden)
{
	Pagemap__GrantListReply m = PAGEMAP__GRANT_LIST_REPLY__INIT;
	uint64_t *u64 = calloc(3 * (n ? n : 1), sizeof(*u64));
	uint32_t *u32 = calloc(4 * (n ? n : 1), sizeof(*u32));
	ssize_t rv = -ENOMEM;

	if (u64 == NULL || u32 == NULL)
		goto out;
	m.lease_id = u64;
	m.file_offset = u64 + n;
	m.region_offset = u64 + 2 * n;
	m.order = u32;
	m.access = u32 + n;
	m.pins = u32 + 2 * n;
	m.n_lease_id = m.n_file_offset = m.n_region_offset = n;
	m.n_order = m.n_access = m.n_pins = n;
	m.state = u32 + 3 * n;
	for (size_t i = 0; i < n; i++)
		m.state[i] = v[i].state;
	/* Only cached grants make the array worth sending. */
	m.n_state = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].state)
			m.n_state = n;
	for (size_t i = 0; i < n; i++) {
		m.lease_id[i] = v[i].lease_id;
		m.file_offset[i] = v[i].g.file_pg << PM_PAGE_SHIFT;
		m.region_offset[i] = v[i].g.region_pg << PM_PAGE_SHIFT;
		m.order[i] = v[i].g.order;
		m.access[i] = v[i].g.access;
		m.pins[i] = 1;
	}
	m.more = more;
	m.hidden = hidden;
	rv = reply(out, cap, id, WIRE_GRANT_LIST, &m);
out:
	free(u64);
	free(u32);
	return rv;
}

static void
to_client_info(Pagemap__ClientInfo *ci, const struct client_info *v)
{
	pagemap__client_info__init(ci);
	ci->id = v->id;
	ci->pid = v->pid;
	ci->uid = v->uid;
	ci->gid = v->gid;
	ci->comm = (char *)v->comm;
	ci->name = (char *)v->name;
	ci->connected = v->connected;
	ci->leases = v->leases;
	ci->grants = v->grants;
	ci->pending = v->pending;
}

ssize_t
wire_client_list(uint8_t *out, size_t cap, uint64_t id,
		 const struct client_info *v, size_t n, bool more)
{
	Pagemap__ClientListReply m = PAGEMAP__CLIENT_LIST_REPLY__INIT;
	void **rows = rows_new(n, sizeof(Pagemap__ClientInfo));
	ssize_t rv;

	if (rows == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		to_client_info(rows[i], &v[i]);
	m.n_clients = n;
	m.clients = (Pagemap__ClientInfo **)rows;
	m.more = more;
	rv = reply(out, cap, id, WIRE_CLIENT_LIST, &m);
	free(rows);
	return rv;
}

static void
to_blocker(Pagemap__Blocker *b, const struct blocker *v, bool fields)
{
	pagemap__blocker__init(b);
	b->op = (char *)v->op;
	b->target = (char *)v->target;
	b->lease_id = v->lease_id;
	b->client_id = v->client_id;
	b->pid = v->pid;
	b->comm = (char *)v->comm;
	b->grants = v->grants;
	/* Only for a client that announced them: an earlier library rejects
	 * a field it does not know. */
	if (fields) {
		b->region = (char *)v->region;
		b->file = (char *)v->file;
		b->ino = v->ino;
		b->new_size = v->new_size;
	}
}

ssize_t
wire_blockers(uint8_t *out, size_t cap, uint64_t id, const struct blocker *v,
	      size_t n, bool truncated, bool fields, uint64_t hidden)
{
	Pagemap__BlockersReply m = PAGEMAP__BLOCKERS_REPLY__INIT;
	void **rows = rows_new(n, sizeof(Pagemap__Blocker));
	ssize_t rv;

	if (rows == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		to_blocker(rows[i], &v[i], fields);
	m.n_blockers = n;
	m.blockers = (Pagemap__Blocker **)rows;
	m.truncated = truncated;
	m.hidden = hidden;
	rv = reply(out, cap, id, WIRE_BLOCKERS, &m);
	free(rows);
	return rv;
}

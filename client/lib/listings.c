/* listings.c -- libpagemap's listings: each pages through its request
 * while the daemon says there is more and returns one malloc'd array;
 * every page must advance its cursor, or it would page for ever. */
#include "listings.h"

#include <errno.h>
#include <stdlib.h>

#include "conn.h"
#include "wire.h"

/* pagemap_region_list -- every attached region in one malloc'd array. */
int
pagemap_region_list(struct pagemap *pm, struct pagemap_region_info **ret,
		    size_t *ret_n)
{
	struct wire_request req = {.op = WIRE_REGION_LIST};
	struct pagemap_region_info *v;
	struct wire_page pg;
	struct wire_msg m;
	int err = 0;

	if (!pm || !ret || !ret_n)
		return -EINVAL;
	err = conn_transact(pm, &req, &m);
	if (err)
		return err;
	wire_page(&m, &pg);
	v = calloc(pg.n ? pg.n : 1, sizeof(*v));
	if (!v) {
		wire_msg_free(&m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < pg.n && !err; i++)
		err = wire_region(&m, i, &v[i]);
	wire_msg_free(&m);
	if (err) {
		free(v);
		return proto_error(pm, "bad region record");
	}
	*ret_n = pg.n;
	*ret = v;
	return 0;
}

/* pagemap_file_list -- page through FileList until more is clear,
 * gathering every file into one malloc'd array. */
int
pagemap_file_list(struct pagemap *pm, const char *region,
		  struct pagemap_file_info **ret, size_t *ret_n)
{
	struct wire_request req = {.op = WIRE_FILE_LIST, .region = region};
	struct pagemap_file_info *v = NULL;
	size_t n = 0, cap = 0;
	bool more;
	int err;

	if (!pm || !region || !ret || !ret_n)
		return -EINVAL;
	do {
		struct wire_msg m;
		struct wire_page pg;

		err = conn_transact(pm, &req, &m);
		if (err)
			goto fail;
		wire_page(&m, &pg);
		more = pg.more;
		if (grow((void **)&v, sizeof(*v), n, &cap, pg.n))
			err = -ENOMEM;
		for (size_t i = 0; i < pg.n && !err; i++)
			if (!(err = wire_file(&m, i, &v[n])))
				n++;
		/* A cursor that does not advance would page for ever. */
		if (!err && more && pg.next_cursor <= req.cursor)
			err = -EPROTO;
		req.cursor = pg.next_cursor;
		wire_msg_free(&m);
		if (err) {
			if (err == -EPROTO)
				proto_error(pm, "bad file listing");
			goto fail;
		}
	} while (more);
	if (!v && !(v = malloc(sizeof(*v)))) {
		err = -ENOMEM;
		goto fail;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	free(v);
	return err;
}

/* pagemap_lease_list -- LeaseList, paged by lease id while the daemon
 * says there is more, into one malloc'd array. */
int
pagemap_lease_list(struct pagemap *pm, const char *region, const char *name,
		   struct pagemap_lease_info **ret, size_t *ret_n)
{
	struct wire_request req = {
		.op = WIRE_LEASE_LIST,
		.region = region,
		.name = name,
	};
	struct pagemap_lease_info *v = NULL;
	size_t n = 0, cap = 0;
	bool more;
	int err;

	if (!pm || !ret || !ret_n || (name && *name && !(region && *region)))
		return -EINVAL;
	do {
		struct wire_msg m;
		struct wire_page pg;

		if ((err = conn_transact(pm, &req, &m)))
			goto fail;
		wire_page(&m, &pg);
		more = pg.more;
		err = more && !pg.n ? -EPROTO : 0;
		if (!err && grow((void **)&v, sizeof(*v), n, &cap, pg.n))
			err = -ENOMEM;
		for (size_t i = 0; i < pg.n && !err; i++) {
			err = wire_lease_info(&m, i, &v[n]);
			/* Ids ascend past the cursor: paging advances. */
			if (!err && v[n].id <= req.cursor)
				err = -EPROTO;
			if (!err)
				req.cursor = v[n++].id;
		}
		wire_msg_free(&m);
		if (err == -EPROTO)
			proto_error(pm, "bad lease listing");
		if (err)
			goto fail;
	} while (more);
	if (!v && !(v = malloc(sizeof(*v)))) {
		err = -ENOMEM;
		goto fail;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	free(v);
	return err;
}

/* append_grants -- check one page of a grant listing and add it to @v:
 * in (lease, offset) order after the cursor, so paging always advances. */
static int
append_grants(struct pagemap_grant_info **v, size_t *n, size_t *cap,
	      const struct wire_msg *m, uint64_t *after_lease,
	      uint64_t *after_offset, bool first)
{
	uint64_t pl = *after_lease, po = *after_offset;
	struct wire_page pg;

	if (wire_page(m, &pg))
		return -EPROTO;
	if (pg.more && pg.n == 0)
		return -EPROTO;
	if (grow((void **)v, sizeof(**v), *n, cap, pg.n))
		return -ENOMEM;
	for (size_t i = 0; i < pg.n; i++) {
		struct pagemap_grant_info *g = &(*v)[*n];
		uint64_t l, o;

		if (wire_grant(m, i, g))
			return -EPROTO;
		l = g->lease_id;
		o = g->file_offset;
		/* Strictly after the cursor; duplicates (a range granted
		 * twice) may follow each other within a page. */
		if (i == 0 && !first && (l < pl || (l == pl && o <= po)))
			return -EPROTO;
		if (i > 0 && (l < pl || (l == pl && o < po)))
			return -EPROTO;
		(*n)++;
		pl = l;
		po = o;
	}
	*after_lease = pl;
	*after_offset = po;
	return 0;
}

/* pagemap_grant_list -- GrantList, paged with the (lease, offset) cursor
 * while the daemon says there is more. */
int
pagemap_grant_list(struct pagemap *pm, uint64_t lease_id, uint32_t pid,
		   struct pagemap_grant_info **ret, size_t *ret_n)
{
	struct wire_request req = {
		.op = WIRE_GRANT_LIST,
		.lease_id = lease_id,
		.pid = pid,
	};
	struct pagemap_grant_info *v = NULL;
	size_t n = 0, cap = 0;
	bool more, first = true;
	int err;

	if (!pm || !ret || !ret_n)
		return -EINVAL;
	do {
		struct wire_msg m;
		struct wire_page pg;

		if ((err = conn_transact(pm, &req, &m)))
			goto fail;
		more = !wire_page(&m, &pg) && pg.more;
		err = append_grants(&v, &n, &cap, &m, &req.cursor,
				    &req.after_offset, first);
		wire_msg_free(&m);
		first = false;
		if (err == -EPROTO)
			proto_error(pm, "bad grant listing");
		if (err)
			goto fail;
	} while (more);
	if (!v && !(v = malloc(sizeof(*v)))) {
		err = -ENOMEM;
		goto fail;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	free(v);
	return err;
}

/* pagemap_client_list -- ClientList, paged by client id, into one
 * malloc'd array. */
int
pagemap_client_list(struct pagemap *pm, struct pagemap_client_info **ret,
		    size_t *ret_n)
{
	struct wire_request req = {.op = WIRE_CLIENT_LIST};
	struct pagemap_client_info *v = NULL;
	size_t n = 0, cap = 0;
	bool more;
	int err;

	if (!pm || !ret || !ret_n)
		return -EINVAL;
	do {
		struct wire_msg m;
		struct wire_page pg;

		if ((err = conn_transact(pm, &req, &m)))
			goto fail;
		wire_page(&m, &pg);
		more = pg.more;
		err = more && !pg.n ? -EPROTO : 0;
		if (!err && grow((void **)&v, sizeof(*v), n, &cap, pg.n))
			err = -ENOMEM;
		for (size_t i = 0; i < pg.n && !err; i++) {
			err = wire_client(&m, i, &v[n]);
			if (!err && v[n].id <= req.cursor)
				err = -EPROTO;
			if (!err)
				req.cursor = v[n++].id;
		}
		wire_msg_free(&m);
		if (err == -EPROTO)
			proto_error(pm, "bad client listing");
		if (err)
			goto fail;
	} while (more);
	if (!v && !(v = malloc(sizeof(*v)))) {
		err = -ENOMEM;
		goto fail;
	}
	*ret = v;
	*ret_n = n;
	return 0;
fail:
	free(v);
	return err;
}

/* pagemap_blockers -- Blockers into one malloc'd array. The reply's
 * `truncated` mark (more blockers than one packet holds) has no place in
 * the public API: the first packet's worth is returned. */
int
pagemap_blockers(struct pagemap *pm, const char *region, const char *name,
		 struct pagemap_blocker **ret, size_t *ret_n)
{
	struct wire_request req = {
		.op = WIRE_BLOCKERS,
		.region = region,
		.name = name,
	};
	struct pagemap_blocker *v;
	struct wire_page pg;
	struct wire_msg m;
	int err = 0;

	if (!pm || !ret || !ret_n || (name && *name && !(region && *region)))
		return -EINVAL;
	if ((err = conn_transact(pm, &req, &m)))
		return err;
	wire_page(&m, &pg);
	v = calloc(pg.n ? pg.n : 1, sizeof(*v));
	if (!v) {
		wire_msg_free(&m);
		return -ENOMEM;
	}
	for (size_t i = 0; i < pg.n && !err; i++)
		err = wire_blocker(&m, i, &v[i]);
	wire_msg_free(&m);
	if (err) {
		free(v);
		return proto_error(pm, "bad blocker record");
	}
	*ret = v;
	*ret_n = pg.n;
	return 0;
}

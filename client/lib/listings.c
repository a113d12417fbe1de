/* listings.c -- libpagemap's listings: each pages through its request
 * while the daemon says there is more and returns an array of pointers
 * and the records they point to in one allocation; every page must
 * advance its cursor, or it would page for ever. */
#include "listings.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "conn.h"
#include "wire.h"

/* The pages of a listing, kept until every record is measured and the
 * result can be built in one allocation. */
struct page {
	struct wire_msg m;
	size_t n; /* records in it */
};

struct pages {
	struct page *v;
	size_t n, cap;
	size_t records; /* in all pages */
	size_t bytes;	/* of all records, strings included */
};

/* pages_add -- measure every record of @m and keep it (always consumed);
 * -EPROTO when a record is invalid. */
static int
pages_add(struct pages *p, struct wire_msg *m, size_t n)
{
	size_t bytes = 0;

	for (size_t i = 0; i < n; i++) {
		size_t b = wire_record(m, i, NULL);

		if (!b) {
			wire_msg_free(m);
			return -EPROTO;
		}
		bytes += b; /* bounded by the packet's size */
	}
	if (p->bytes > SIZE_MAX / 2 - bytes ||
	    grow((void **)&p->v, sizeof(*p->v), p->n, &p->cap, 1)) {
		wire_msg_free(m);
		return -ENOMEM;
	}
	p->v[p->n++] = (struct page){*m, n};
	p->records += n;
	p->bytes += bytes;
	return 0;
}

/* pages_build -- one allocation: the array of pointers, then the records
 * they point to. */
static int
pages_build(struct pages *p, void ***ret, size_t *ret_n)
{
	size_t head, k = 0;
	char *buf, *at;

	if (p->records > (SIZE_MAX / 2 - p->bytes) / sizeof(void *))
		return -ENOMEM;
	head = (p->records * sizeof(void *) + WIRE_ALIGN - 1) &
	       ~(size_t)(WIRE_ALIGN - 1);
	/* malloc aligns for any standard type, WIRE_ALIGN included. */
	buf = malloc(head + p->bytes ? head + p->bytes : 1);
	if (!buf)
		return -ENOMEM;
	at = buf + head;
	for (size_t j = 0; j < p->n; j++) {
		for (size_t i = 0; i < p->v[j].n; i++) {
			((void **)buf)[k++] = at;
			at += wire_record(&p->v[j].m, i, at);
		}
	}
	*ret = (void **)buf;
	*ret_n = p->records;
	return 0;
}

/* pages_free -- release the kept pages. */
static void
pages_free(struct pages *p)
{
	for (size_t j = 0; j < p->n; j++)
		wire_msg_free(&p->v[j].m);
	free(p->v);
}

/* advance -- check that a page moves the listing on, and move @req's
 * cursor past it: a cursor that does not advance would page for ever. */
static int
advance(struct wire_request *req, const struct wire_msg *m,
	const struct wire_page *pg, bool first)
{
	uint64_t a, b;

	switch (req->op) {
	case WIRE_FILE_LIST:
		if (pg->more && pg->next_cursor <= req->cursor)
			return -EPROTO;
		req->cursor = pg->next_cursor;
		return 0;
	case WIRE_LEASE_LIST:
	case WIRE_CLIENT_LIST:
		if (pg->more && !pg->n)
			return -EPROTO;
		for (size_t i = 0; i < pg->n; i++) {
			/* Ids ascend past the cursor. */
			wire_record_key(m, i, &a, &b);
			if (a <= req->cursor)
				return -EPROTO;
			req->cursor = a;
		}
		return 0;
	case WIRE_GRANT_LIST:
		if (pg->more && !pg->n)
			return -EPROTO;
		for (size_t i = 0; i < pg->n; i++) {
			uint64_t pl = req->cursor, po = req->after_offset;

			/* Strictly after the cursor; duplicates (a range
			 * granted twice) may follow each other within a
			 * page. */
			wire_record_key(m, i, &a, &b);
			if (i == 0 && !first &&
			    (a < pl || (a == pl && b <= po)))
				return -EPROTO;
			if (i > 0 && (a < pl || (a == pl && b < po)))
				return -EPROTO;
			req->cursor = a;
			req->after_offset = b;
		}
		return 0;
	default:
		return 0;
	}
}

/* list -- page through @req while the daemon says there is more, then
 * build the result; @what names a bad listing in the message. The pages'
 * hidden counts add up (each counts the span of cursors it covers). */
static int
list(struct pagemap *pm, struct wire_request *req, const char *what,
     void ***ret, size_t *ret_n)
{
	struct pages p = {0};
	bool more, first = true;
	uint64_t hidden = 0;
	int err;

	pm->hidden = 0;
	do {
		struct wire_msg m;
		struct wire_page pg;

		if ((err = conn_transact(pm, req, &m)))
			goto out;
		if (wire_page(&m, &pg) || advance(req, &m, &pg, first)) {
			wire_msg_free(&m);
			err = -EPROTO;
			goto out;
		}
		more = pg.more;
		first = false;
		hidden += pg.hidden;
		if ((err = pages_add(&p, &m, pg.n)))
			goto out;
	} while (more);
	err = pages_build(&p, ret, ret_n);
	if (err == 0)
		pm->hidden = hidden;
out:
	if (err == -EPROTO)
		proto_error(pm, what);
	pages_free(&p);
	return err;
}

/* pagemap_region_list -- every attached region. */
int
pagemap_region_list(struct pagemap *pm, struct pagemap_region_info ***ret,
		    size_t *ret_n)
{
	struct wire_request req = {.op = WIRE_REGION_LIST};

	if (!pm || !ret || !ret_n)
		return -EINVAL;
	return list(pm, &req, "bad region record", (void ***)ret, ret_n);
}

/* pagemap_file_list -- FileList, paged by inode-slot cursor. */
int
pagemap_file_list(struct pagemap *pm, const char *region,
		  struct pagemap_file_info ***ret, size_t *ret_n)
{
	struct wire_request req = {.op = WIRE_FILE_LIST, .region = region};

	if (!pm || !region || !ret || !ret_n)
		return -EINVAL;
	return list(pm, &req, "bad file listing", (void ***)ret, ret_n);
}

/* pagemap_lease_list -- LeaseList, paged by lease id. */
int
pagemap_lease_list(struct pagemap *pm, const char *region, const char *name,
		   struct pagemap_lease_info ***ret, size_t *ret_n)
{
	struct wire_request req = {
		.op = WIRE_LEASE_LIST,
		.region = region,
		.name = name,
	};

	if (!pm || !ret || !ret_n || (name && *name && !(region && *region)))
		return -EINVAL;
	return list(pm, &req, "bad lease listing", (void ***)ret, ret_n);
}

/* pagemap_grant_list -- GrantList, paged with the (lease, offset)
 * cursor. */
int
pagemap_grant_list(struct pagemap *pm, uint64_t lease_id, uint32_t pid,
		   struct pagemap_grant_info ***ret, size_t *ret_n)
{
	struct wire_request req = {
		.op = WIRE_GRANT_LIST,
		.lease_id = lease_id,
		.pid = pid,
	};

	if (!pm || !ret || !ret_n)
		return -EINVAL;
	return list(pm, &req, "bad grant listing", (void ***)ret, ret_n);
}

/* pagemap_client_list -- ClientList, paged by client id. */
int
pagemap_client_list(struct pagemap *pm, struct pagemap_client_info ***ret,
		    size_t *ret_n)
{
	struct wire_request req = {.op = WIRE_CLIENT_LIST};

	if (!pm || !ret || !ret_n)
		return -EINVAL;
	return list(pm, &req, "bad client listing", (void ***)ret, ret_n);
}

/* pagemap_blockers -- Blockers. The reply's `truncated` mark (more
 * blockers than one packet holds) has no place in the public API: the
 * first packet's worth is returned. */
int
pagemap_blockers(struct pagemap *pm, const char *region, const char *name,
		 struct pagemap_blocker ***ret, size_t *ret_n)
{
	struct wire_request req = {
		.op = WIRE_BLOCKERS,
		.region = region,
		.name = name,
	};

	if (!pm || !ret || !ret_n || (name && *name && !(region && *region)))
		return -EINVAL;
	return list(pm, &req, "bad blocker record", (void ***)ret, ret_n);
}

/* pagemap_listing_hidden -- the rows the last listing on @pm left out. */
uint64_t
pagemap_listing_hidden(const struct pagemap *pm)
{
	return pm ? pm->hidden : 0;
}

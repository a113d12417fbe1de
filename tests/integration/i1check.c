/* i1check.c -- the stress tests' I1 checker: the daemon's status, lease,
 * file and grant listings, read while the clients are quiet, must agree,
 * and no region byte may be granted to two files at once. */
#include "i1check.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "rawclient.h"

struct span {
	uint64_t start, end;
	uint64_t ino;
};

/* allocated_of -- bytes backing file @ino per the daemon's file list, or
 * UINT64_MAX for an orphan (no longer listed: its blocks stay whole until
 * its last lease ends). */
static uint64_t
allocated_of(const Pagemap__FileListReply *fl, uint64_t ino)
{
	for (size_t i = 0; i < fl->n_files; i++)
		if (fl->files[i]->ino == ino)
			return fl->files[i]->allocated;
	return UINT64_MAX;
}

static int
by_start(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

void
i1_check(int fd, const char *region, int step, struct i1_stats *stats)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__StatusRequest sm = PAGEMAP__STATUS_REQUEST__INIT;
	Pagemap__LeaseListRequest lm = PAGEMAP__LEASE_LIST_REQUEST__INIT;
	Pagemap__GrantListRequest gm = PAGEMAP__GRANT_LIST_REQUEST__INIT;
	Pagemap__FileListRequest fm = PAGEMAP__FILE_LIST_REQUEST__INIT;
	Pagemap__Response *st, *ll, *gl, *fl;
	struct span *spans = NULL;
	size_t nspans = 0;
	uint64_t listed = 0;

	rq.body_case = PAGEMAP__REQUEST__BODY_STATUS;
	rq.status = &sm;
	st = raw_call(fd, &rq, NULL, NULL);
	rq.body_case = PAGEMAP__REQUEST__BODY_LEASE_LIST;
	rq.lease_list = &lm;
	ll = raw_call(fd, &rq, NULL, NULL);
	fm.region = (char *)region;
	rq.body_case = PAGEMAP__REQUEST__BODY_FILE_LIST;
	rq.file_list = &fm;
	fl = raw_call(fd, &rq, NULL, NULL);
	assert_non_null(st);
	assert_non_null(ll);
	assert_non_null(fl);
	assert_false(ll->lease_list->more);
	assert_false(fl->file_list->more);
	for (;;) {
		rq.body_case = PAGEMAP__REQUEST__BODY_GRANT_LIST;
		rq.grant_list = &gm;
		gl = raw_call(fd, &rq, NULL, NULL);
		assert_non_null(gl);
		assert_int_equal(gl->error, 0);
		Pagemap__GrantListReply *g = gl->grant_list;
		spans = realloc(spans,
				(nspans + g->n_lease_id) * sizeof(*spans));
		for (size_t i = 0; i < g->n_lease_id; i++) {
			uint64_t ino = 0;

			for (size_t k = 0; k < ll->lease_list->n_leases; k++)
				if (ll->lease_list->leases[k]->id ==
				    g->lease_id[i])
					ino = ll->lease_list->leases[k]->ino;
			if (ino == 0)
				fail_msg("step %d: grant of unknown lease "
					 "%llu",
					 step,
					 (unsigned long long)g->lease_id[i]);
			/* a granted byte still belongs to its file: nothing
			 * past a completed truncate is still granted (I4) */
			if (g->file_offset[i] + (4096ull << g->order[i]) >
			    allocated_of(fl->file_list, ino))
				fail_msg("step %d: lease %llu holds file bytes "
					 "%#llx.. past the file's end",
					 step,
					 (unsigned long long)g->lease_id[i],
					 (unsigned long long)g->file_offset[i]);
			spans[nspans].start = g->region_offset[i];
			spans[nspans].end =
				g->region_offset[i] + (4096ull << g->order[i]);
			spans[nspans].ino = ino;
			nspans++;
			listed += g->pins[i];
		}
		if (!g->more) {
			raw_free(gl);
			break;
		}
		gm.after_lease = g->lease_id[g->n_lease_id - 1];
		gm.after_offset = g->file_offset[g->n_file_offset - 1];
		raw_free(gl);
	}
	stats->checks++;
	if (listed > stats->max_grants)
		stats->max_grants = listed;
	if (ll->lease_list->n_leases > stats->max_leases)
		stats->max_leases = ll->lease_list->n_leases;
	stats->busy += listed > 0;
	if (listed != st->status->grants)
		fail_msg("step %d: status counts %llu grants, grant ls %llu",
			 step, (unsigned long long)st->status->grants,
			 (unsigned long long)listed);
	qsort(spans, nspans, sizeof(*spans), by_start);
	for (size_t i = 1; i < nspans; i++)
		if (spans[i].start < spans[i - 1].end &&
		    spans[i].ino != spans[i - 1].ino)
			fail_msg("step %d: region bytes %#llx granted to two "
				 "files",
				 step, (unsigned long long)spans[i].start);
	free(spans);
	raw_free(st);
	raw_free(ll);
	raw_free(fl);
}

uint64_t
i1_grants_now(int fd)
{
	Pagemap__Request rq;
	Pagemap__StatusRequest sm;
	Pagemap__Response *r;
	uint64_t g;

	raw_req_status(&rq, &sm);
	r = raw_call(fd, &rq, NULL, NULL);
	assert_non_null(r);
	g = r->status->grants;
	raw_free(r);
	return g;
}

/* requests.c -- libpagemap's requests, one call per request: status,
 * regions, files, leases, raw grants and returns, revoke. Listings are
 * in listings.c, mappings in mapping.c. */
#include "requests.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache.h"
#include "conn.h"
#include "mapping.h"
#include "owner.h"
#include "reconnect.h"

/* transact_record -- send @req and deliver the record of its reply as one
 * allocation to an optional @ret; a missing or invalid one is a protocol
 * error named by @what. */
static int
transact_record(struct pagemap *pm, const struct wire_request *req, void **ret,
		const char *what)
{
	struct wire_msg m;
	void *v = NULL;
	size_t n;
	int err;

	err = conn_transact(pm, req, &m);
	if (err)
		return err;
	n = wire_record(&m, 0, NULL);
	if (!n) {
		wire_msg_free(&m);
		return proto_error(pm, what);
	}
	if (ret && !(v = malloc(n))) {
		wire_msg_free(&m);
		return -ENOMEM;
	}
	if (ret) {
		wire_record(&m, 0, v);
		*ret = v;
	}
	wire_msg_free(&m);
	return 0;
}

/* wire_timeout -- the API's timeout as the wire's: < 0 (for ever) is 0
 * there; 0 (do not wait) is 1 ms, the least the daemon waits, since 0
 * would mean for ever. */
static uint32_t
wire_timeout(int timeout_ms)
{
	if (timeout_ms < 0)
		return 0;
	return timeout_ms == 0 ? 1 : (uint32_t)timeout_ms;
}

/* simple -- a request whose reply has no body worth reading. */
static int
simple(struct pagemap *pm, const struct wire_request *req)
{
	struct wire_msg m;
	int err = conn_transact(pm, req, &m);

	if (!err)
		wire_msg_free(&m);
	return err;
}

/* pagemap_status -- the daemon's StatusReply. */
int
pagemap_status(struct pagemap *pm, struct pagemap_status **ret)
{
	struct wire_request req = {.op = WIRE_STATUS};

	if (!pm || !ret)
		return -EINVAL;
	return transact_record(pm, &req, (void **)ret, "bad status");
}

/* pagemap_region_info -- one region by name. */
int
pagemap_region_info(struct pagemap *pm, const char *region,
		    struct pagemap_region_info **ret)
{
	struct wire_request req = {.op = WIRE_REGION_INFO, .region = region};

	if (!pm || !region || !ret)
		return -EINVAL;
	return transact_record(pm, &req, (void **)ret, "bad region record");
}

/* pagemap_region_attach -- attach (and with PAGEMAP_ATTACH_CREATE create)
 * a region; @max_order < 0 leaves the default to the daemon. */
int
pagemap_region_attach(struct pagemap *pm, const char *region, const char *path,
		      uint64_t size, int max_order, unsigned flags,
		      struct pagemap_region_info **ret)
{
	struct wire_request req = {
		.op = WIRE_REGION_ATTACH,
		.region = region,
		.path = path,
		.size = size,
		.create = !!(flags & PAGEMAP_ATTACH_CREATE),
	};

	if (!pm || !region || !path || (flags & ~PAGEMAP_ATTACH_CREATE))
		return -EINVAL;
	if (max_order >= 0) {
		req.max_order = (uint32_t)max_order;
		req.max_order_set = true;
	}
	return transact_record(pm, &req, (void **)ret, "bad region record");
}

/* pagemap_region_detach -- detach, waiting as @timeout_ms says. */
int
pagemap_region_detach(struct pagemap *pm, const char *region, int timeout_ms)
{
	struct wire_request req = {
		.op = WIRE_REGION_DETACH,
		.region = region,
		.timeout_ms = wire_timeout(timeout_ms),
	};

	if (!pm || !region)
		return -EINVAL;
	return simple(pm, &req);
}

/* pagemap_file_create -- create a file; @mode < 0 means the daemon's 0644. */
int
pagemap_file_create(struct pagemap *pm, const char *region, const char *name,
		    uint64_t size, int mode, struct pagemap_file_info **ret)
{
	struct wire_request req = {
		.op = WIRE_FILE_CREATE,
		.region = region,
		.name = name,
		.size = size,
	};

	if (!pm || !region || !name || mode > 07777)
		return -EINVAL;
	if (mode >= 0) {
		req.mode = (uint32_t)mode;
		req.mode_set = true;
	}
	return transact_record(pm, &req, (void **)ret, "bad file record");
}

/* pagemap_file_stat -- one file by name. */
int
pagemap_file_stat(struct pagemap *pm, const char *region, const char *name,
		  struct pagemap_file_info **ret)
{
	struct wire_request req = {
		.op = WIRE_FILE_STAT,
		.region = region,
		.name = name,
	};

	if (!pm || !region || !name || !ret)
		return -EINVAL;
	return transact_record(pm, &req, (void **)ret, "bad file record");
}

/* pagemap_file_truncate -- resize a file, waiting as @timeout_ms says for
 * grants past the new end. */
int
pagemap_file_truncate(struct pagemap *pm, const char *region, const char *name,
		      uint64_t size, int timeout_ms,
		      struct pagemap_file_info **ret)
{
	struct wire_request req = {
		.op = WIRE_FILE_TRUNCATE,
		.region = region,
		.name = name,
		.size = size,
		.timeout_ms = wire_timeout(timeout_ms),
	};

	if (!pm || !region || !name)
		return -EINVAL;
	return transact_record(pm, &req, (void **)ret, "bad file record");
}

/* pagemap_file_remove -- unlink a file name. */
int
pagemap_file_remove(struct pagemap *pm, const char *region, const char *name)
{
	struct wire_request req = {
		.op = WIRE_FILE_REMOVE,
		.region = region,
		.name = name,
	};

	if (!pm || !region || !name)
		return -EINVAL;
	return simple(pm, &req);
}

/* pagemap_lease_revoke -- LeaseRevoke; answered at the final return of the
 * lease's grants or when @timeout_ms runs out. */
int
pagemap_lease_revoke(struct pagemap *pm, uint64_t id, int timeout_ms)
{
	struct wire_request req = {
		.op = WIRE_LEASE_REVOKE,
		.lease_id = id,
		.timeout_ms = wire_timeout(timeout_ms),
	};

	if (!pm)
		return -EINVAL;
	return simple(pm, &req);
}

/* ---- leases ----------------------------------------------------------- */

/* same_file -- whether two fds open the same file. */
static bool
same_file(int a, int b)
{
	struct stat sa, sb;

	return !fstat(a, &sa) && !fstat(b, &sb) && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* check_region_fd -- what a region fd from the daemon must be: open for
 * reading (read-write when @want_write) on a file or a device. Sets
 * *ret_writable. */
static int
check_region_fd(int fd, bool want_write, bool *ret_writable)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fstat(fd, &st))
		return -EPROTO;
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return -EPROTO;
	if ((fl & O_ACCMODE) != O_RDONLY && (fl & O_ACCMODE) != O_RDWR)
		return -EPROTO;
	if (want_write && (fl & O_ACCMODE) != O_RDWR)
		return -EPROTO;
	*ret_writable = (fl & O_ACCMODE) == O_RDWR;
	return 0;
}

/* lease_find -- linear: a handle holds few leases. */
struct pagemap_lease *
lease_find(struct pagemap *pm, uint64_t id)
{
	for (struct pagemap_lease *l = pm->leases; l; l = l->next)
		if (l->id == id)
			return l;
	return NULL;
}

/* lease_free -- unlink @l from its handle and free it. */
void
lease_free(struct pagemap_lease *l)
{
	struct pagemap *pm = l->pm;

	if (l->prev)
		l->prev->next = l->next;
	else
		pm->leases = l->next;
	if (l->next)
		l->next->prev = l->prev;
	cache_lease_free(l);
	free(l->raw);
	free(l);
}

/* adopt_lease -- check a LeaseAcquireReply and the fd that came with it
 * (@fd, -1 for none; always consumed) and fill in @l and @r. Returns 1
 * when @r was installed, 0 when it is not needed, or -errno. */
static int
adopt_lease(struct pagemap *pm, const struct wire_lease *a, int fd,
	    struct pagemap_lease *l, struct rfd *r)
{
	bool write = l->access == PAGEMAP_WRITE, writable;
	struct rfd *cur;

	if (a->lease_id == 0 || lease_find(pm, a->lease_id)) {
		proto_error(pm, "lease id 0 or already in use");
		goto fail;
	}
	if (a->max_order > MAX_ORDER) {
		proto_error(pm, "max_order out of range");
		goto fail;
	}
	l->id = a->lease_id;
	l->ino = a->ino;
	l->size = a->size;
	l->max_order = a->max_order;
	l->region_size = a->region_size;
	if (!a->fd_attached) {
		if (fd >= 0)
			close(fd); /* not announced: not ours to keep */
		cur = rfd_current(pm, l->region);
		if (!cur || (write && !cur->writable)) {
			proto_error(pm, "lease reply without the region fd");
			return -EPROTO;
		}
		return 0;
	}
	if (fd < 0) {
		proto_error(pm, "fd_attached but no fd came");
		return -EPROTO;
	}
	if (check_region_fd(fd, write, &writable)) {
		proto_error(pm, "region fd of the wrong kind");
		goto fail;
	}
	/* The daemon may send a region's fd again (it keeps a bounded
	 * record per connection); a read-only copy of the file we already
	 * hold read-write adds nothing. A different file (the region was
	 * detached and attached again) always replaces the old one. */
	cur = rfd_current(pm, l->region);
	if (cur && cur->writable && !writable && same_file(cur->fd, fd)) {
		close(fd);
		return 0;
	}
	memcpy(r->region, l->region, sizeof(r->region));
	r->fd = fd;
	r->writable = writable;
	r->maps = 0;
	rfd_install(pm, r);
	return 1;
fail:
	if (fd >= 0)
		close(fd);
	return -EPROTO;
}

static int acquire(struct pagemap *pm, const char *region, const char *name,
		   enum pagemap_access access, struct pagemap_lease **ret);

/* pagemap_lease_acquire -- LeaseAcquire; keeps the region fd that comes
 * with the first lease on a region (or a read-write one later). */
int
pagemap_lease_acquire(struct pagemap *pm, const char *region, const char *name,
		      enum pagemap_access access, struct pagemap_lease **ret)
{
	int err;

	if (!pm)
		return -EINVAL;
	pthread_mutex_lock(&pm->lock);
	err = acquire(pm, region, name, access, ret);
	pthread_mutex_unlock(&pm->lock);
	return err;
}

static int
acquire(struct pagemap *pm, const char *region, const char *name,
	enum pagemap_access access, struct pagemap_lease **ret)
{
	struct wire_request req = {
		.op = WIRE_LEASE_ACQUIRE,
		.region = region,
		.name = name,
		.access = access,
	};
	struct wire_msg m;
	struct wire_lease a;
	struct pagemap_lease *l;
	struct rfd *r;
	int err, fd = -1;

	if (!pm || !region || !name || !ret ||
	    (access != PAGEMAP_READ && access != PAGEMAP_WRITE))
		return -EINVAL;
	if (strlen(region) >= REGION_MAX)
		return -ENAMETOOLONG;
	/* Allocate before asking: once the daemon grants the lease, running
	 * out of memory would strand it. */
	l = calloc(1, sizeof(*l));
	r = calloc(1, sizeof(*r));
	if (!l || !r) {
		free(l);
		free(r);
		return -ENOMEM;
	}
	l->pm = pm;
	l->access = access;
	memcpy(l->region, region, strlen(region) + 1);
	err = conn_exchange(pm, &req, &m, &fd, NULL, NULL);
	if (!err) {
		wire_lease(&m, &a);
		wire_msg_free(&m);
		err = adopt_lease(pm, &a, fd, l, r);
	}
	if (err <= 0)
		free(r);
	if (err < 0) {
		free(l);
		return err;
	}
	l->next = pm->leases;
	if (pm->leases)
		pm->leases->prev = l;
	pm->leases = l;
	*ret = l;
	return 0;
}

static int release_locked(struct pagemap_lease *l);

/* req_release -- LeaseRelease, with -ENOENT meaning already ended. */
int
req_release(struct pagemap_lease *l)
{
	struct wire_request req = {
		.op = WIRE_LEASE_RELEASE,
		.lease_id = l->id,
	};
	int err;

	if (l->dead) /* the daemon ended it already */
		return 0;
	err = simple(l->pm, &req);
	return err == -ENOENT ? 0 : err;
}

/* pagemap_lease_release -- LeaseRelease, then free @l: the daemon takes
 * its cached grants back with it. With the
 * connection broken for good the daemon ends the lease with the process,
 * so the handle is freed then too (and the error returned). With the
 * daemon away, a lease without raw grants is freed and 0 returned: the
 * reconcile releases a lease the daemon holds and we do not. */
int
pagemap_lease_release(struct pagemap_lease *l)
{
	struct pagemap *pm;
	int err;

	if (!l)
		return -EINVAL;
	if ((err = owner_check(l->pm)))
		return err;
	pm = l->pm;
	pthread_mutex_lock(&pm->lock);
	err = release_locked(l);
	pthread_mutex_unlock(&pm->lock);
	return err;
}

static int
release_locked(struct pagemap_lease *l)
{
	int err;

	if (l->maps)
		return -EBUSY;
	err = req_release(l);
	if (!l->pm->dead && !l->nraw &&
	    (err == -ENOTCONN || err == -ECONNRESET))
		err = 0;
	if (!err || l->pm->dead)
		lease_free(l);
	return err;
}

/* pagemap_lease_id -- the daemon's id of @l. */
uint64_t
pagemap_lease_id(const struct pagemap_lease *l)
{
	return l ? l->id : 0;
}

/* pagemap_lease_size -- the file size when @l was taken. */
uint64_t
pagemap_lease_size(const struct pagemap_lease *l)
{
	return l ? l->size : 0;
}

/* pagemap_lease_access -- read or write. */
enum pagemap_access
pagemap_lease_access(const struct pagemap_lease *l)
{
	return l ? l->access : 0;
}

/* pagemap_region_fd -- the current fd of @l's region, or -1. */
int
pagemap_region_fd(const struct pagemap_lease *l)
{
	struct rfd *r;

	if (!l)
		return -1;
	if (owner_inherited(l->pm))
		return -ECHILD;
	r = rfd_current(l->pm, l->region);
	return r ? r->fd : -1;
}

/* ---- grants ----------------------------------------------------------- */

/* page_range -- round out to whole pages. */
int
page_range(uint64_t offset, uint64_t length, uint64_t *ret_start,
	   uint64_t *ret_end)
{
	if (length == 0 || offset > UINT64_MAX - length ||
	    offset + length > UINT64_MAX - PG_MASK)
		return -EINVAL;
	*ret_start = offset & ~PG_MASK;
	*ret_end = (offset + length + PG_MASK) & ~PG_MASK;
	return 0;
}

/* req_map -- one checked Map request. */
int
req_map(struct pagemap_lease *l, uint64_t start, uint64_t end,
	enum pagemap_access access, bool words, struct wire_msg *ret_msg,
	struct wire_map *ret_map, uint64_t *ret_next, void (*overlap)(void *),
	void *arg)
{
	struct pagemap *pm = l->pm;
	struct wire_request req = {
		.op = WIRE_MAP,
		.lease_id = l->id,
		.offset = start,
		.length = end - start,
		.access = access,
		.words = words,
	};
	struct wire_msg m;
	struct wire_map r;
	uint64_t pos = start, ahead_at = 0;
	const char *why = NULL;
	uint32_t maxf = pm->limits.max_folios_per_reply;
	int err, fd = -1;

	if (l->dead)
		return -ENOLINK;
	err = conn_exchange(pm, &req, &m, &fd, overlap, arg);
	if (err)
		return err;
	wire_map(&m, &r);
	if (r.words_attached && fd >= 0) {
		err = cache_install(pm, fd, r.words_id);
		fd = -1;
		if (err) {
			wire_msg_free(&m);
			return err;
		}
	}
	if (fd >= 0)
		close(fd); /* not announced: not ours to keep */
	if (r.words_attached && !pm->words)
		why = "words_attached but no table came";
	else if ((r.n_slot || r.n_gen) &&
	    (!words || r.n_slot != r.n_order || r.n_gen != r.n_order))
		why = "map reply's words do not match its folios";
	else if (r.words_attached && !words)
		why = "a word table nobody asked for";
	else if (r.offset != start)
		why = "map reply starts elsewhere";
	else if (r.n_region_offset != r.n_order)
		why = "map reply arrays differ in length";
	else if (r.n_order == 0)
		why = "map reply without folios";
	else if (maxf && r.n_order > maxf)
		why = "more folios than max_folios_per_reply";
	if (!why && (r.ahead > r.n_order || (r.ahead && !words)))
		why = "more folios granted ahead than granted";
	for (size_t i = 0; !why && i < r.n_order; i++) {
		uint32_t order = r.order[i];
		uint64_t size, roff = r.region_offset[i];
		bool past = i >= r.n_order - r.ahead;

		if (past && i == r.n_order - r.ahead) {
			/* Granted ahead only once the range is whole. */
			if (pos != end || r.next_offset != pos) {
				why = "folios granted ahead of a partial reply";
				break;
			}
			ahead_at = pos;
		}
		if (order > l->max_order) {
			why = "folio order above the region's max_order";
			break;
		}
		size = (uint64_t)PG_SIZE << order;
		if ((pos & (size - 1)) || (roff & (size - 1)))
			why = "folio not naturally aligned";
		else if (!past && size > end - pos)
			why = "folio past the requested range";
		else if (past && size > UINT64_MAX - pos)
			why = "folio past the end of files";
		else if (roff > l->region_size || size > l->region_size - roff)
			why = "folio past the end of the region";
		pos += size;
	}
	if (!why && r.ahead)
		pos = ahead_at;
	if (!why && r.next_offset != pos)
		why = "next_offset is not where the folios end";
	if (why) {
		wire_msg_free(&m);
		return proto_error(pm, why);
	}
	*ret_msg = m;
	*ret_map = r;
	*ret_next = pos;
	return 0;
}

static int grant(struct pagemap_lease *l, uint64_t offset, uint64_t length,
		 enum pagemap_access access, struct pagemap_folio *out,
		 size_t max, size_t *ret_n, uint64_t *ret_next);

/* pagemap_grant -- one Map request without mapping (under the handle's
 * lock: the record of raw grants is shared). */
int
pagemap_grant(struct pagemap_lease *l, uint64_t offset, uint64_t length,
	      enum pagemap_access access, struct pagemap_folio *out, size_t max,
	      size_t *ret_n, uint64_t *ret_next)
{
	int err;

	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&l->pm->lock);
	err = grant(l, offset, length, access, out, max, ret_n, ret_next);
	pthread_mutex_unlock(&l->pm->lock);
	return err;
}

/* grant -- When @max is below what one reply may carry, the request is cut
 * to @max pages, which no tiling can split into more than @max folios. */
static int
grant(struct pagemap_lease *l, uint64_t offset, uint64_t length,
      enum pagemap_access access, struct pagemap_folio *out, size_t max,
      size_t *ret_n, uint64_t *ret_next)
{
	struct wire_msg m;
	struct wire_map r;
	uint64_t start, end, pos, next;
	uint32_t maxf;
	int err;

	if (!l || !out || !max || !ret_n || !ret_next ||
	    (access != PAGEMAP_READ && access != PAGEMAP_WRITE))
		return -EINVAL;
	if (access > l->access)
		return -EACCES;
	if ((err = page_range(offset, length, &start, &end)))
		return err;
	maxf = l->pm->limits.max_folios_per_reply;
	if ((!maxf || max < maxf) && (end - start) / PG_SIZE > max)
		end = start + (uint64_t)max * PG_SIZE;
	/* Room to record the grants first: a grant we could not record
	 * might be returned by a reconcile while the caller maps it. */
	if ((err = held_reserve(l)))
		return err;
	err = req_map(l, start, end, access, false, &m, &r, &next, NULL, NULL);
	if (err)
		return err;
	if (r.n_order > max) {
		wire_msg_free(&m);
		return proto_error(l->pm, "more folios than pages");
	}
	pos = start;
	for (size_t i = 0; i < r.n_order; i++) {
		out[i].file_offset = pos;
		out[i].region_offset = r.region_offset[i];
		out[i].order = r.order[i];
		pos += (uint64_t)PG_SIZE << r.order[i];
	}
	held_add(l, start, next);
	*ret_n = r.n_order;
	*ret_next = next;
	wire_msg_free(&m);
	return 0;
}

/* req_unmap -- Unmap, waited for or not. */
int
req_unmap(struct pagemap_lease *l, uint64_t offset, uint64_t length,
	  uint64_t *returned, bool nowait)
{
	struct wire_request req = {
		.op = WIRE_UNMAP,
		.lease_id = l->id,
		.offset = offset,
		.length = length,
	};
	struct wire_msg m;
	int err;

	if (l->dead) /* its grants went with it */
		return 0;
	if (nowait)
		return conn_send_nowait(l->pm, &req);
	err = conn_transact(l->pm, &req, &m);
	if (err)
		return err;
	if (returned)
		*returned += wire_unmap_returned(&m);
	wire_msg_free(&m);
	return 0;
}

static int ret_raw(struct pagemap_lease *l, uint64_t offset, uint64_t length,
		   uint64_t *ret_returned);

/* pagemap_return -- Unmap for a raw range (under the handle's lock). */
int
pagemap_return(struct pagemap_lease *l, uint64_t offset, uint64_t length,
	       uint64_t *ret_returned)
{
	int err;

	if (!l)
		return -EINVAL;
	pthread_mutex_lock(&l->pm->lock);
	err = ret_raw(l, offset, length, ret_returned);
	pthread_mutex_unlock(&l->pm->lock);
	return err;
}

static int
ret_raw(struct pagemap_lease *l, uint64_t offset, uint64_t length,
	uint64_t *ret_returned)
{
	uint64_t n = 0;
	int err;

	if (!l)
		return -EINVAL;
	err = req_unmap(l, offset, length, &n, false);
	/* The daemon is away: the reconcile returns them, since they are
	 * no longer ours once taken out of the record below. */
	if (err == -ENOTCONN || (err == -ECONNRESET && !l->pm->dead))
		err = 0;
	if (err)
		return err;
	if (length == 0)
		held_sub(l, 0, UINT64_MAX);
	else if (offset <= UINT64_MAX - length)
		held_sub(l, offset & ~PG_MASK, offset + length);
	else
		held_sub(l, offset & ~PG_MASK, UINT64_MAX);
	if (ret_returned)
		*ret_returned = n;
	return 0;
}

/* req_return_range -- Unmap returns every grant intersecting its range,
 * and the grants under a live mapping must stay (I1): return only the
 * gaps between @l's other mappings. */
int
req_return_range(struct pagemap_lease *l, uint64_t a, uint64_t b, bool nowait)
{
	uint64_t cur = a;
	int err = 0;

	while (cur < b) {
		uint64_t next = b;
		bool moved = true;

		/* Skip what other mappings cover at cur. */
		while (moved) {
			moved = false;
			for (struct pagemap_mapping *m = l->maps; m;
			     m = m->next) {
				if (m->offset <= cur &&
				    cur < m->offset + m->length) {
					cur = m->offset + m->length;
					moved = true;
				}
			}
		}
		if (cur >= b)
			break;
		for (struct pagemap_mapping *m = l->maps; m; m = m->next)
			if (m->offset > cur && m->offset < next)
				next = m->offset;
		/* A lease the daemon no longer knows has no grants (I2):
		 * nothing is left to return. */
		if (!err && (err = req_unmap(l, cur, next - cur, NULL,
					     nowait)) == -ENOENT)
			err = 0;
		cur = next;
	}
	return err;
}

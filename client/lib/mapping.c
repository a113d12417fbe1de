/* mapping.c -- libpagemap's mappings: region fds, the VM reservation of
 * each mapping, libpmem2, and the reservation kept for the next map.
 *
 * A struct pagemap_mapping belongs to one lease and is one libpmem2 VM
 * reservation holding one mmap of the region fd per run of folios
 * contiguous in both file and region. libpmem2 maps one page of each
 * region fd once (struct rfd): that tells the store granularity (so
 * whether mappings need MAP_SYNC) and gives the persist function; a
 * pmem2_map per mapping would probe the platform again every time (a
 * MAP_SYNC attempt and a walk of /sys/bus/nd, about fifteen syscalls).
 * The address space of the last mapping unmapped is kept, with its
 * layout: the next map of the same lease range maps that layout while its
 * Map request is in flight (the daemon grants the same folios unless the
 * file changed) and maps again only when the reply differs; nothing is
 * read or written there before the reply.
 * The grants behind a mapping are returned only after its memory is
 * unmapped (I1 holds on the client's side too). Unmap returns every grant
 * of the lease that intersects the range, so the library never sends it
 * for bytes another live mapping of the same lease still covers: those
 * grants are returned with the last mapping over them. */
#include "mapping.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libpmem2.h>

#include "cache.h"
#include "conn.h"
#include "owner.h"
#include "requests.h"
#include "wire.h"

#define HUGE_ALIGN (2ull << 20) /* PMD size: align ranges at least this big */
#define SPARE_MAX (64ull << 20) /* largest reservation kept for reuse */

/* ---- region fds ------------------------------------------------------- */

/* rfd_current -- linear: a handle holds few region fds. */
struct rfd *
rfd_current(struct pagemap *pm, const char *region)
{
	for (struct rfd *r = pm->rfds; r; r = r->next)
		if (r->current && !strcmp(r->region, region))
			return r;
	return NULL;
}

/* rfd_free -- close and free @r. */
static void
rfd_free(struct rfd *r)
{
	close(r->fd);
	free(r);
}

/* rfd_put -- close and free @r once it is neither current nor used. */
static void
rfd_put(struct pagemap *pm, struct rfd *r)
{
	if (r->current || r->maps)
		return;
	for (struct rfd **p = &pm->rfds; *p; p = &(*p)->next) {
		if (*p == r) {
			*p = r->next;
			break;
		}
	}
	rfd_free(r);
}

/* rfd_install -- push @r as current; the old one goes when unused. */
void
rfd_install(struct pagemap *pm, struct rfd *r)
{
	struct rfd *old = rfd_current(pm, r->region);

	r->current = true;
	r->next = pm->rfds;
	pm->rfds = r;
	if (old) {
		old->current = false;
		rfd_put(pm, old);
	}
}

/* ---- mappings --------------------------------------------------------- */

/* pmem2_to_errno -- a libpmem2 return value as -errno. */
static int
pmem2_to_errno(int ret)
{
	if (ret >= -(int)MAX_ERRNO)
		return ret; /* 0, or already -errno */
	switch (ret) {
	case PMEM2_E_NO_ACCESS:
		return -EACCES;
	case PMEM2_E_MAP_RANGE:
	case PMEM2_E_OFFSET_OUT_OF_RANGE:
	case PMEM2_E_LENGTH_OUT_OF_RANGE:
	case PMEM2_E_SOURCE_EMPTY:
		return -ENXIO;
	case PMEM2_E_NOSUPP:
	case PMEM2_E_GRANULARITY_NOT_SUPPORTED:
	case PMEM2_E_SOURCE_TYPE_NOT_SUPPORTED:
	case PMEM2_E_INVALID_FILE_TYPE:
		return -EOPNOTSUPP;
	case PMEM2_E_MAPPING_EXISTS:
	case PMEM2_E_MAP_EXISTS:
		return -EEXIST;
	case PMEM2_E_VM_RESERVATION_NOT_EMPTY:
		return -EBUSY;
	default:
		return -EINVAL;
	}
}

/* pmem2_fail -- turn a libpmem2 failure into -errno, keeping its text. */
static int
pmem2_fail(struct pagemap *pm, const char *what, int ret)
{
	set_message(pm, "libpmem2: %s: %s", what, pmem2_errormsg());
	return pmem2_to_errno(ret);
}

/* add_folio -- append a folio to @m's runs, extending the last run when it
 * continues it in both file and region (one extent, one mapping). */
int
add_folio(struct pagemap_mapping *m, uint64_t file_off, uint64_t region_off,
	  uint64_t size)
{
	struct run *last = m->nruns ? &m->runs[m->nruns - 1] : NULL;

	m->folios++;
	if (size > m->max_folio)
		m->max_folio = size;
	if (last && last->file_off + last->len == file_off &&
	    last->region_off + last->len == region_off) {
		last->len += size;
		return 0;
	}
	if (grow((void **)&m->runs, sizeof(*m->runs), m->nruns, &m->cap, 1))
		return -ENOMEM;
	m->runs[m->nruns++] = (struct run){file_off, region_off, size};
	return 0;
}

/* map_alignment -- the address alignment that lets huge pages back the
 * folios: the largest folio, at least 2 MiB for a range that big, at
 * most 1 GiB; 0 when nothing needs more than a page. */
static uint64_t
map_alignment(const struct pagemap_mapping *m)
{
	uint64_t a = m->length >= HUGE_ALIGN ? HUGE_ALIGN : 0;

	if (m->max_folio > a)
		a = m->max_folio;
	if (a > MAX_ALIGN)
		a = MAX_ALIGN;
	return a > PG_SIZE ? a : 0;
}

/* guess_drop -- forget the layout kept with the spare reservation. */
static void
guess_drop(struct pagemap *pm)
{
	free(pm->guess.runs);
	pm->guess.runs = NULL;
	pm->guess.nruns = 0;
}

/* take_spare -- give @m the spare reservation. */
static void
take_spare(struct pagemap *pm, struct pagemap_mapping *m)
{
	m->rsv = pm->spare;
	m->addr = pm->spare_addr;
	pm->spare.base = NULL;
}

/* rsv_new -- reserve @len bytes of address space (never touched, so no
 * memory is committed). */
static int
rsv_new(struct pagemap *pm, struct rsv *r, size_t len)
{
	void *p = mmap(NULL, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		int err = -errno;

		set_message(pm, "reserve %zu bytes of address space: %s", len,
			    strerror(-err));
		return err;
	}
	r->base = p;
	r->len = len;
	return 0;
}

/* rsv_release -- unmap the reservation @r and whatever was mapped in it. */
void
rsv_release(struct rsv *r)
{
	if (r->base)
		(void)munmap(r->base, r->len);
	r->base = NULL;
	r->len = 0;
}

/* reserve -- a VM reservation for @m's range whose first byte sits at an
 * address congruent to the range's file offset modulo the alignment, so
 * every naturally aligned folio lands on an address aligned as well: the
 * reservation is the length plus the alignment, and @m starts at the
 * right spot inside it (the rest stays reserved until the release: one
 * munmap then, and nothing to trim now). Sets m->rsv and m->addr. */
static int
reserve(struct pagemap *pm, struct pagemap_mapping *m)
{
	uint64_t align = map_alignment(m);
	uintptr_t base;
	int ret;

	if (m->length > SIZE_MAX - align)
		return -ENOMEM;
	if (pm->spare.base && pm->spare_len == m->length &&
	    (!align ||
	     (((uintptr_t)pm->spare_addr ^ m->offset) & (align - 1)) == 0)) {
		guess_drop(pm);
		take_spare(pm, m);
		return 0;
	}
	if ((ret = rsv_new(pm, &m->rsv, (size_t)(m->length + align))))
		return ret;
	base = (uintptr_t)m->rsv.base;
	if (align)
		base += ((m->offset & (align - 1)) - (base & (align - 1))) &
			(align - 1);
	m->addr = (char *)base;
	return 0;
}

/* unmap_runs -- unmap @m. Its address range becomes a placeholder again
 * (one mmap over the runs) and is kept for the next mapping of the same
 * size, with @m's runs as the guess for it when @keep_layout (they move
 * there); or the reservation is released, which unmaps the runs with one
 * munmap. On failure (which neither does for a valid range) the
 * reservation stays recorded, so a retry can finish. */
static int
unmap_runs(struct pagemap *pm, struct pagemap_mapping *m, bool keep_layout)
{
	if (!m->rsv.base)
		return 0;
	if (!pm->spare.base && m->length <= SPARE_MAX &&
	    mmap(m->addr, (size_t)m->length, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1,
		 0) != MAP_FAILED) {
		pm->spare = m->rsv;
		pm->spare_addr = m->addr;
		pm->spare_len = m->length;
		m->rsv.base = NULL;
		guess_drop(pm);
		if (keep_layout) {
			pm->guess.lease_id = m->lease->id;
			pm->guess.offset = m->offset;
			pm->guess.runs = m->runs;
			pm->guess.nruns = m->nruns;
			m->runs = NULL;
			m->nruns = m->cap = 0;
		}
		return 0;
	}
	rsv_release(&m->rsv);
	return 0;
}

/* rfd_probe -- map one page of @rfd with libpmem2 to learn how to map
 * and persist this region: the store granularity (anything finer than a
 * page means MAP_SYNC worked, or a device needs none) and the persist
 * function, which takes any address of a mapping of the same fd. */
static int
rfd_probe(struct pagemap *pm, struct rfd *rfd)
{
	struct pmem2_source *src = NULL;
	struct pmem2_config *cfg = NULL;
	struct pmem2_map *map = NULL;
	size_t align = 0;
	int ret;

	if (rfd->probed)
		return 0;
	if ((ret = pmem2_source_from_fd(&src, rfd->fd)) ||
	    (ret = pmem2_source_alignment(src, &align)) ||
	    (ret = pmem2_config_new(&cfg)) ||
	    (ret = pmem2_config_set_required_store_granularity(
		     cfg, PMEM2_GRANULARITY_PAGE)) ||
	    (ret = pmem2_config_set_sharing(cfg, PMEM2_SHARED)) ||
	    (ret = pmem2_config_set_protection(cfg, PMEM2_PROT_READ)) ||
	    (ret = pmem2_config_set_length(cfg, align)) ||
	    (ret = pmem2_map_new(&map, cfg, src))) {
		ret = pmem2_fail(pm, "region fd", ret);
		goto out;
	}
	rfd->mmap_flags = MAP_SHARED;
	if (pmem2_map_get_store_granularity(map) != PMEM2_GRANULARITY_PAGE)
		rfd->mmap_flags = MAP_SHARED_VALIDATE | MAP_SYNC;
	rfd->persist = pmem2_get_persist_fn(map);
	rfd->probed = true;
	ret = 0;
out:
	if (map)
		pmem2_map_delete(&map);
	if (cfg)
		pmem2_config_delete(&cfg);
	if (src)
		pmem2_source_delete(&src);
	return ret;
}

/* mmap_runs -- map @n @runs of @m from @rfd over @m's reservation, then
 * mark the range MADV_DONTFORK. 0 or -errno. */
static int
mmap_runs(struct pagemap_mapping *m, struct rfd *rfd, const struct run *runs,
	  size_t n)
{
	int prot = PROT_READ;

	if (m->access == PAGEMAP_WRITE)
		prot |= PROT_WRITE;
	for (size_t i = 0; i < n; i++) {
		char *at = m->addr + (runs[i].file_off - m->offset);

		/* MAP_FIXED replaces the reservation's placeholder, which
		 * is ours: nothing else can be there. */
		if (mmap(at, (size_t)runs[i].len, prot,
			 rfd->mmap_flags | MAP_FIXED, rfd->fd,
			 (off_t)runs[i].region_off) == MAP_FAILED)
			return -errno;
	}
	/* A forked child must not keep the region's pages mapped: the
	 * daemon counts pins per process and could not see the child's. */
	return madvise(m->addr, (size_t)m->length, MADV_DONTFORK) ? -errno : 0;
}

/* map_runs -- reserve the address range for @m and map each run of it
 * from the region fd @rfd over the reservation; on failure nothing stays
 * mapped. */
static int
map_runs(struct pagemap *pm, struct pagemap_mapping *m, struct rfd *rfd)
{
	int err;

	if ((err = rfd_probe(pm, rfd)) || (err = reserve(pm, m)))
		return err;
	if ((err = mmap_runs(m, rfd, m->runs, m->nruns))) {
		set_message(pm, "mapping the region: %s",
			    pagemap_strerror(err));
		unmap_runs(pm, m, false);
	}
	return err;
}

/* A map that guessed its layout (struct pagemap's guess). */
struct spec {
	struct pagemap *pm;
	struct pagemap_mapping *m;
	struct rfd *rfd;
	struct run *runs; /* the guess, taken from pm */
	size_t nruns;
	bool mapped; /* every guessed run mapped, and MADV_DONTFORK set */
};

/* speculate -- while the first Map request is in flight, map the layout
 * the same lease range had when it was last unmapped: the daemon grants
 * the same folios unless the file changed, and the reply decides. No byte
 * is touched before it comes (a holder of the region fd may map any of
 * the region anyway; see the security model). */
static void
speculate(void *arg)
{
	struct spec *sp = arg;
	struct pagemap *pm = sp->pm;

	sp->runs = pm->guess.runs;
	sp->nruns = pm->guess.nruns;
	pm->guess.runs = NULL;
	pm->guess.nruns = 0;
	take_spare(pm, sp->m);
	sp->mapped = mmap_runs(sp->m, sp->rfd, sp->runs, sp->nruns) == 0;
}

/* can_speculate -- whether the spare reservation and its guess fit the
 * map of @m from @rfd. */
static bool
can_speculate(const struct pagemap *pm, const struct pagemap_mapping *m,
	      const struct rfd *rfd)
{
	return pm->spare.base && pm->guess.runs && rfd->probed &&
	       pm->guess.lease_id == m->lease->id &&
	       pm->guess.offset == m->offset && pm->spare_len == m->length;
}

/* guessed_right -- the runs granted are the ones @sp mapped. */
static bool
guessed_right(const struct spec *sp)
{
	const struct pagemap_mapping *m = sp->m;

	return sp->mapped && sp->nruns == m->nruns &&
	       memcmp(sp->runs, m->runs, m->nruns * sizeof(*m->runs)) == 0;
}

/* link -- @m, mapped, joins its lease. */
static void
link_mapping(struct pagemap_mapping *m)
{
	struct pagemap_lease *l = m->lease;

	m->rfd->maps++;
	m->next = l->maps;
	if (l->maps)
		l->maps->prev = m;
	l->maps = m;
}

/* free_mapping -- the memory of @m. */
static void
free_mapping(struct pagemap_mapping *m)
{
	free(m->runs);
	free(m->w);
	free(m);
}

/* from_cache -- map @m from its lease's cached grants, with no message.
 * 0, or -ENOENT when they do not tile it (then ask the daemon). */
static int
from_cache(struct pagemap *pm, struct pagemap_mapping *m, struct rfd *rfd)
{
	int err;

	if (!pm->cached_caps || pm->down ||
	    cache_map(m->lease, m, m->offset, m->offset + m->length))
		return -ENOENT;
	if ((err = map_runs(pm, m, rfd))) {
		cache_end(m); /* nothing is mapped: the words go back */
		return err;
	}
	return 0;
}

static int map_locked(struct pagemap_lease *l, uint64_t offset,
		      uint64_t length, enum pagemap_access access,
		      struct pagemap_mapping **ret);

/* pagemap_map -- from the lease's cached grants when they tile the range,
 * else grant it page by page; then map the folios. */
int
pagemap_map(struct pagemap_lease *l, uint64_t offset, uint64_t length,
	    enum pagemap_access access, struct pagemap_mapping **ret)
{
	struct pagemap *pm;
	int err;

	if (!l)
		return -EINVAL;
	pm = l->pm;
	pthread_mutex_lock(&pm->lock);
	err = map_locked(l, offset, length, access, ret);
	pthread_mutex_unlock(&pm->lock);
	return err;
}

static int
map_locked(struct pagemap_lease *l, uint64_t offset, uint64_t length,
	   enum pagemap_access access, struct pagemap_mapping **ret)
{
	struct pagemap *pm;
	struct pagemap_mapping *m;
	struct rfd *rfd;
	struct spec sp;
	bool spec, begun = false;
	uint64_t start, end, pos = 0;
	char saved[sizeof(pm->message)];
	int err;

	if (!l || !ret || (access != PAGEMAP_READ && access != PAGEMAP_WRITE))
		return -EINVAL;
	pm = l->pm;
	if ((err = owner_check(pm)))
		return err;
	if (access > l->access)
		return -EACCES;
	if ((err = page_range(offset, length, &start, &end)))
		return err;
	if (end - start > SIZE_MAX - MAX_ALIGN)
		return -ENOMEM;
	if (pm->dead)
		return pm->dead;
	if (l->dead)
		return -ENOLINK;
	rfd = rfd_current(pm, l->region);
	if (!rfd || (access == PAGEMAP_WRITE && !rfd->writable))
		return -EBADF;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->lease = l;
	m->rfd = rfd;
	m->offset = start;
	m->length = end - start;
	m->data = offset;
	m->access = access;
	m->rfd = rfd;
	if ((err = from_cache(pm, m, rfd)) != -ENOENT) {
		if (err) {
			free_mapping(m);
			return err;
		}
		link_mapping(m);
		*ret = m;
		return 0;
	}
	sp = (struct spec){.pm = pm, .m = m, .rfd = rfd};
	spec = can_speculate(pm, m, rfd);
	for (pos = start; pos < end; spec = false) {
		struct wire_msg msg;
		struct wire_map r;
		uint64_t next, fpos = pos;

		if ((err = req_map(l, pos, end, access, pm->cached_caps, &msg,
				   &r, &next, spec ? speculate : NULL, &sp)))
			goto fail;
		for (size_t i = 0; i < r.n_order && !err; i++) {
			uint64_t size = (uint64_t)PG_SIZE << r.order[i];

			/* Granted ahead: cached for maps to come. */
			if (i >= r.n_order - r.ahead)
				err = cache_ahead(l, &r, i, fpos, access);
			else if (!(err = add_folio(m, fpos, r.region_offset[i],
						   size)))
				err = cache_note(m, &r, i, fpos);
			fpos += size;
		}
		wire_msg_free(&msg);
		pos = next; /* granted up to here, mapped or not */
		if (err)
			goto fail;
	}
	/* The words go to mapped before anything is mapped for good (a
	 * speculative mapping is touched by nobody until the reply). */
	if (m->nw && (err = cache_begin(m)))
		goto fail;
	begun = m->nw > 0;
	/* Guessed wrong: map afresh. */
	if (m->rsv.base && !guessed_right(&sp) &&
	    (err = unmap_runs(pm, m, false)))
		goto fail;
	if (!m->rsv.base && (err = map_runs(pm, m, rfd)))
		goto fail;
	free(sp.runs);
	link_mapping(m);
	*ret = m;
	return 0;
fail:
	/* The explanation of the failure outlives the cleanup requests. */
	memcpy(saved, pm->message, sizeof(saved));
	unmap_runs(pm, m, false); /* what speculate() mapped, if anything */
	if (begun)
		cache_end(m); /* they stay cached under the lease */
	else if (pos > start)
		req_return_range(l, start, pos, false);
	memcpy(pm->message, saved, sizeof(saved));
	free(sp.runs);
	free_mapping(m);
	return err;
}

/* pagemap_mapping_addr -- first byte of the mapped (rounded) range. */
void *
pagemap_mapping_addr(const struct pagemap_mapping *m)
{
	return m ? m->addr : NULL;
}

/* pagemap_mapping_data -- the offset passed to pagemap_map(), mapped. */
void *
pagemap_mapping_data(const struct pagemap_mapping *m)
{
	return m ? m->addr + (m->data - m->offset) : NULL;
}

/* pagemap_mapping_at -- @file_offset's address inside the rounded range. */
void *
pagemap_mapping_at(const struct pagemap_mapping *m, uint64_t file_offset)
{
	if (!m || file_offset < m->offset ||
	    file_offset - m->offset >= m->length)
		return NULL;
	return m->addr + (file_offset - m->offset);
}

/* pagemap_mapping_offset -- file offset of the first mapped byte. */
uint64_t
pagemap_mapping_offset(const struct pagemap_mapping *m)
{
	return m ? m->offset : 0;
}

/* pagemap_mapping_length -- bytes mapped (whole pages). */
uint64_t
pagemap_mapping_length(const struct pagemap_mapping *m)
{
	return m ? m->length : 0;
}

/* pagemap_mapping_folios -- grants behind the mapping. */
size_t
pagemap_mapping_folios(const struct pagemap_mapping *m)
{
	return m ? m->folios : 0;
}

/* pagemap_persist -- persist each run's part of the range with its own
 * map's persist function (msync for page granularity). */
int
pagemap_persist(struct pagemap_mapping *m, const void *addr, size_t len)
{
	if (!m || (!addr && len))
		return -EINVAL;
	/* in a forked child the range is not mapped (MADV_DONTFORK) */
	if (owner_inherited(m->lease->pm))
		return owner_check(m->lease->pm);
	if (m->access != PAGEMAP_WRITE)
		return -EBADF;
	if (!len)
		return 0;
	if ((const char *)addr < m->addr ||
	    (uint64_t)((const char *)addr - m->addr) > m->length ||
	    len > m->length - (uint64_t)((const char *)addr - m->addr))
		return -EINVAL;
	/* The runs tile the range without a gap, and the function takes
	 * any address of a mapping of the region fd. */
	m->rfd->persist(addr, len);
	return 0;
}

/* unmap_local -- unmap @m and unlink it from its lease, without telling
 * the daemon; the caller returns the grants and frees @m. */
static int
unmap_local(struct pagemap_mapping *m)
{
	struct pagemap_lease *l = m->lease;
	int err = unmap_runs(l->pm, m, true);

	if (err)
		return err;
	if (m->prev)
		m->prev->next = m->next;
	else
		l->maps = m->next;
	if (m->next)
		m->next->prev = m->prev;
	m->rfd->maps--;
	rfd_put(l->pm, m->rfd);
	return 0;
}

/* unmap -- unmap first, then return the grants: the daemon may reuse the
 * bytes as soon as they are back. */
static int
unmap(struct pagemap_mapping *m, bool nowait)
{
	struct pagemap_lease *l;
	int err;

	if (!m)
		return -EINVAL;
	l = m->lease;
	/* in a forked child the range may hold the child's own memory */
	if ((err = owner_check(l->pm)))
		return err;
	pthread_mutex_lock(&l->pm->lock);
	if ((err = unmap_local(m))) {
		pthread_mutex_unlock(&l->pm->lock);
		return err; /* still mapped: the grants must stay */
	}
	/* Grants with words stay cached under the lease (no message unless
	 * a recall took one); the others go back as they always did. */
	err = cache_end(m);
	if (m->returns) {
		int e = req_return_range(l, m->offset, m->offset + m->length,
					 nowait);
		if (!err)
			err = e;
	}
	/* The daemon is away: the mapping is gone all the same, and the
	 * reconcile at the reconnect returns its grants (reconnect.c). */
	if (err == -ENOTCONN || (err == -ECONNRESET && !l->pm->dead))
		err = 0;
	pthread_mutex_unlock(&l->pm->lock);
	free_mapping(m);
	return err;
}

int
pagemap_unmap(struct pagemap_mapping *m)
{
	return unmap(m, false);
}

int
pagemap_unmap_nowait(struct pagemap_mapping *m)
{
	return unmap(m, true);
}

/* mapping_destroy -- unmap for close, forgetting what cannot be unmapped
 * rather than looping on it. */
void
mapping_destroy(struct pagemap_mapping *m)
{
	struct pagemap_lease *l = m->lease;
	struct pagemap *pm = l->pm;

	if (pagemap_unmap(m) && l->maps == m) {
		l->maps = m->next;
		if (m->next)
			m->next->prev = NULL;
		m->rfd->maps--;
		rfd_put(pm, m->rfd);
		free_mapping(m);
	}
}

/* mapping_cleanup -- the handle's region fds and kept reservation. */
void
mapping_cleanup(struct pagemap *pm)
{
	while (pm->rfds) {
		struct rfd *r = pm->rfds;

		pm->rfds = r->next;
		rfd_free(r);
	}
	rsv_release(&pm->spare);
	guess_drop(pm);
}

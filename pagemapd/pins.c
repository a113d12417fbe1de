/* pins.c -- pins that outlive the daemon (I6): the runtime directory and
 * the restore of a crashed daemon's pin tables at attach.
 *
 * A client's grants are mapped by its process, not by the daemon, so a
 * daemon that dies (kill -9, a crash, SIGKILL after TimeoutStopSec) must
 * not let the next one free what is still mapped. Every lease and grant is
 * therefore a record in a pin table on tmpfs (pintab.h; written by
 * client.c and lease.c before any reply tells of it), which outlives the
 * daemon's process but not the boot — exactly as the mappings it protects
 * do.
 *
 * Attach restores them between load and reclaim (region.c's pins phase):
 * a table of another boot names nothing mapped any more and goes; so does
 * one whose holder is proven gone (holder_check(): a pid recycled by
 * another process has another start time). Any other table is taken back
 * whole: its holder becomes a disconnected client whose leases keep their
 * ids and whose grants count as if granted now, so truncate, rm, revoke
 * and detach wait for them as they did before the crash, and the orphans
 * they hold are not reclaimed. The grants come back without state words
 * (the word table was the dead daemon's): they count as mapped until the
 * holder reconnects and hands its table back, and then those whose pin
 * records name a word the table still holds are cached grants again
 * (client_adopt_words()). A table that cannot be read, or names a
 * folio the file does not map there, refuses the attach: freeing what may
 * be pinned is the one thing never done.
 *
 * The superblock records the boot and runtime directory whose tables may
 * hold pins of the region (docs/layout.md), so that a daemon started with
 * another runtime directory in the same boot cannot miss them.
 */
#include "pins.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "errmsg.h"
#include "holder.h"
#include "inode.h"
#include "log.h"
#include "ops.h"
#include "pintab.h"
#include "region.h"

#define SUFFIX ".pins"

/* ---- the runtime directory -------------------------------------------- */

/* safe_dir -- @fd is a directory of ours that nobody else can write. */
static int
safe_dir(int fd, const char *path, char *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return errmsg(err, -errno, "cannot stat %s: %s", path,
			      strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errmsg(err, -ENOTDIR, "%s is not a directory", path);
	if (st.st_uid != geteuid() || (st.st_mode & 022))
		return errmsg(err, -EPERM,
			      "%s must be owned by uid %u and not writable "
			      "by group or other: pin tables must be the "
			      "daemon's alone",
			      path, (unsigned)geteuid());
	return 0;
}

/* make_dirs -- mkdir -p @path; the last component 0700. */
static int
make_dirs(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int
pins_dir_open(const char *dir, struct pin_dir *ret, char *err)
{
	char real[PATH_MAX], pins[PATH_MAX + 8];
	int fd = -1, pfd = -1, rc;

	rc = make_dirs(dir);
	if (rc < 0)
		return errmsg(err, rc,
			      "cannot create the runtime directory "
			      "%s: %s",
			      dir, strerror(-rc));
	if (realpath(dir, real) == NULL)
		return errmsg(err, -errno, "%s: %s", dir, strerror(errno));
	fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errmsg(err, -errno, "cannot open %s: %s", real,
			      strerror(errno));
	rc = safe_dir(fd, real, err);
	if (rc)
		goto out;
	if (mkdirat(fd, "pins", 0700) < 0 && errno != EEXIST) {
		rc = errmsg(err, -errno, "cannot create %s/pins: %s", real,
			    strerror(errno));
		goto out;
	}
	snprintf(pins, sizeof(pins), "%s/pins", real);
	pfd = openat(fd, "pins",
		     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (pfd < 0) {
		rc = errmsg(err, -errno, "cannot open %s: %s", pins,
			    strerror(errno));
		goto out;
	}
	rc = safe_dir(pfd, pins, err);
	if (rc)
		goto out;
	rc = holder_boot_id(ret->boot_id);
	if (rc) {
		rc = errmsg(err, rc, "cannot read this boot's id: %s",
			    strerror(-rc));
		goto out;
	}
	snprintf(ret->path, sizeof(ret->path), "%s", real);
	ret->path_crc = crc32c(0, real, strlen(real));
	ret->dirfd = pfd;
	pfd = -1;
out:
	if (pfd >= 0)
		close(pfd);
	close(fd);
	return rc;
}

void
pins_dir_close(struct pin_dir *d)
{
	if (d->dirfd >= 0)
		close(d->dirfd);
	d->dirfd = -1;
}

/* ---- restore ------------------------------------------------------------ */

/* holder_client -- the restored client of @h (one per holder, over every
 * region), made now if there is none; takes @pidfd. */
static int
holder_client(struct server *srv, const struct pintab_holder *h, int pidfd,
	      struct client **ret)
{
	struct list_node *pos, *n;

	list_for_each(pos, n, &srv->clients)
	{
		struct client *c = client_of(pos);

		if (c->restored && c->session == NULL &&
		    c->pid == (pid_t)h->pid && c->uid == (uid_t)h->uid &&
		    c->start_time == h->start_time && c->token == h->token) {
			if (pidfd >= 0)
				close(pidfd);
			*ret = c;
			return 0;
		}
	}
	return client_restore(srv, (pid_t)h->pid, (uid_t)h->uid, h->start_time,
			      h->token, pidfd, ops_client_exited, ret);
}

/* restore_records -- the leases of @p's table, then the grants under
 * them. -EUCLEAN names what is wrong in @err. */
static int
restore_records(struct server *srv, struct client *c, struct client_pins *p,
		struct region *r, char *err)
{
	const char *name = pintab_name(p->tab);
	uint32_t n = pintab_slots(p->tab);
	struct pin_rec rec;
	struct lease *l;
	int rc;

	for (uint32_t s = 0; s < n; s++) {
		struct inode *ino;

		if (!pintab_get(p->tab, s, &rec) || rec.kind != PIN_LEASE)
			continue;
		ino = inode_slot(&r->files, (uint32_t)rec.ino);
		if (!ino || inode_ino(ino) != rec.ino)
			return errmsg(err, -EUCLEAN,
				      "pin table %s: lease %llu names file "
				      "%llu, which region '%s' does not have",
				      name, (unsigned long long)rec.lease_id,
				      (unsigned long long)rec.ino, r->name);
		if (rec.access != LEASE_READ && rec.access != LEASE_WRITE)
			return errmsg(err, -EUCLEAN,
				      "pin table %s: lease %llu has a bad "
				      "access",
				      name, (unsigned long long)rec.lease_id);
		rc = client_lease_restore(c, p, ino, rec.access, rec.lease_id,
					  s, &l);
		if (rc == -EEXIST)
			return errmsg(err, -EUCLEAN,
				      "pin table %s: lease %llu is named "
				      "twice",
				      name, (unsigned long long)rec.lease_id);
		if (rc)
			return errmsg(err, rc, "out of memory");
	}
	for (uint32_t s = 0; s < n; s++) {
		struct grant g;

		if (!pintab_get(p->tab, s, &rec) || rec.kind != PIN_GRANT)
			continue;
		l = client_lease_find(srv, rec.lease_id);
		if (!l || l->pins != p->tab)
			return errmsg(err, -EUCLEAN,
				      "pin table %s: a grant names lease "
				      "%llu, which the table does not hold",
				      name, (unsigned long long)rec.lease_id);
		/* A grant keeps order and access in a byte each. */
		if (rec.order > UINT8_MAX || rec.access > UINT8_MAX)
			return errmsg(err, -EUCLEAN,
				      "pin table %s: a grant of lease %llu "
				      "has order %u and access %u",
				      name, (unsigned long long)rec.lease_id,
				      rec.order, rec.access);
		g = (struct grant){
			.file_pg = rec.file_pg,
			.region_pg = rec.region_pg,
			.order = rec.order,
			.access = rec.access,
			.slot = s,
		};
		rc = lease_restore_grant(l, &g);
		if (rc == -EUCLEAN)
			return errmsg(err, rc,
				      "pin table %s: lease %llu's grant of "
				      "file page %llu (order %u) at region "
				      "page %llu is not what file %llu maps",
				      name, (unsigned long long)l->id,
				      (unsigned long long)g.file_pg, g.order,
				      (unsigned long long)g.region_pg,
				      (unsigned long long)inode_ino(l->ino));
		if (rc)
			return errmsg(err, rc, "out of memory");
		client_note_grants(l, 1);
	}
	return 0;
}

/* restore_one -- the table @name of @r. */
static int
restore_one(struct server *srv, struct region *r, const char *name, char *err)
{
	const struct pin_dir *d = &srv->pins;
	const struct pintab_holder *h;
	struct client_pins *p;
	struct client *c;
	struct pintab *t;
	enum holder_state st;
	int rc, pidfd;

	rc = pintab_open(d->dirfd, name, &t);
	if (rc == -ENOENT)
		return 0;
	if (rc == -ENOMEM)
		return errmsg(err, rc, "out of memory");
	if (rc)
		return errmsg(err, -EUCLEAN,
			      "pin table %s/pins/%s cannot be read (%s): it is "
			      "kept and region '%s' is not attached, since "
			      "what it pins may still be mapped",
			      d->path, name, strerror(-rc), r->name);
	h = pintab_holder(t);
	if (memcmp(h->region_uuid, r->sb->uuid, sizeof(h->region_uuid))) {
		pintab_close(t);
		return errmsg(err, -EUCLEAN,
			      "pin table %s/pins/%s is named after region "
			      "'%s' but its header names another",
			      d->path, name, r->name);
	}
	/* The mappings it protected died with their boot. */
	if (memcmp(h->boot_id, d->boot_id, sizeof(h->boot_id))) {
		pintab_remove(t);
		return 0;
	}
	st = holder_check((pid_t)h->pid, h->start_time, &pidfd);
	if (st == HOLDER_GONE || pintab_count(t) == 0) {
		if (pidfd >= 0)
			close(pidfd);
		if (pintab_count(t))
			log_info("region '%s': the holder of %u pin "
				 "record(s) (pid %u) is gone: released",
				 r->name, pintab_count(t), h->pid);
		pintab_remove(t);
		return 0;
	}
	rc = holder_client(srv, h, pidfd, &c);
	if (rc) {
		pintab_close(t);
		return errmsg(err, rc, "out of memory");
	}
	p = client_add_pins(c, r, t);
	if (!p) {
		pintab_close(t);
		if (client_idle(c))
			client_free(c);
		return errmsg(err, -ENOMEM, "out of memory");
	}
	rc = restore_records(srv, c, p, r, err);
	if (rc)
		return rc; /* pins_forget() undoes it all */
	log_info("region '%s': restored %u lease(s), %llu grant(s) of pid %u "
		 "%s%s",
		 r->name, p->nleases, (unsigned long long)c->grants, h->pid,
		 c->comm[0] ? c->comm : "?",
		 st == HOLDER_UNKNOWN
			 ? " (cannot tell whether it lives: kept until a "
			   "restart proves it gone)"
			 : "");
	return 0;
}

/* table_names -- the names of @r's tables in the directory. */
static int
table_names(const struct pin_dir *d, const char *prefix, char ***ret,
	    size_t *ret_n)
{
	size_t n = 0, cap = 0, plen = strlen(prefix);
	char **v = NULL;
	struct dirent *e;
	DIR *dp;
	int fd = openat(d->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	dp = fdopendir(fd);
	if (!dp) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(dp)) != NULL) {
		size_t len = strlen(e->d_name);

		if (len <= plen + strlen(SUFFIX) ||
		    strncmp(e->d_name, prefix, plen) != 0 ||
		    strcmp(e->d_name + len - strlen(SUFFIX), SUFFIX) != 0)
			continue;
		if (n == cap) {
			char **nv;

			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto nomem;
			v = nv;
		}
		v[n] = strdup(e->d_name);
		if (!v[n])
			goto nomem;
		n++;
	}
	closedir(dp);
	*ret = v;
	*ret_n = n;
	return 0;
nomem:
	closedir(dp);
	while (n)
		free(v[--n]);
	free(v);
	return -ENOMEM;
}

/* other_dir -- @r's record says pins of this boot may be in the tables of
 * another runtime directory. Not if no file could be pinned at all. */
static bool
other_dir(const struct pin_dir *d, const struct region *r)
{
	return memcmp(r->sb->pins_boot_id, d->boot_id, sizeof(d->boot_id)) ==
		       0 &&
	       r->sb->pins_dir_crc != d->path_crc &&
	       (r->files.nfiles || r->files.norphans);
}

int
pins_restore(struct server *srv, struct region *r, char *err)
{
	const struct pin_dir *d = &srv->pins;
	char prefix[40], **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (d->dirfd < 0)
		return 0;
	if (other_dir(d, r))
		return errmsg(err, -EBUSY,
			      "region '%s' may have pins of this boot in "
			      "another runtime directory; start pagemapd with "
			      "the runtime_dir it used (this one is %s)",
			      r->name, d->path);
	layout_uuid_str(r->sb->uuid, prefix);
	strcat(prefix, "-");
	rc = table_names(d, prefix, &names, &n);
	if (rc)
		return errmsg(err, rc, "cannot read %s/pins: %s", d->path,
			      strerror(-rc));
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = restore_one(srv, r, names[i], err);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == 0) {
		rc = region_pins_record(r, d->boot_id, d->path_crc);
		if (rc)
			errmsg(err, rc,
			       "region '%s': cannot record its pins' runtime "
			       "directory: %s",
			       r->name, strerror(-rc));
	}
	if (rc) {
		pins_forget(srv, r);
		return rc;
	}
	r->pins_recorded = true;
	return 0;
}

void
pins_forget(struct server *srv, struct region *r)
{
	client_forget_region(srv, r);
}

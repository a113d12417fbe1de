/* cmd_rw.c -- `read`, `write` and `hold`: a file's bytes through the real
 * lease and grant path. */
#include "cmd_rw.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"
#include "parse.h"

#define WINDOW (64ull << 20) /* bytes mapped at a time by read and write */

/* parse_offset_length -- --offset and --length; *ret_has_length says
 * whether a length was given. */
static int
parse_offset_length(struct ctx *c, const struct args *a, uint64_t *ret_off,
		    uint64_t *ret_len, bool *ret_has_length)
{
	int err;

	*ret_off = 0;
	*ret_len = 0;
	*ret_has_length = a->length != NULL;
	if (a->offset && (err = parse_size(a->offset, ret_off)))
		return bad_size(c, "offset", a->offset, err);
	if (a->length && (err = parse_size(a->length, ret_len)))
		return bad_size(c, "length", a->length, err);
	return 0;
}

/* take_lease -- connect and take a lease on @region/@name. */
static int
take_lease(struct ctx *c, const char *what, const char *region,
	   const char *name, enum pagemap_access access,
	   struct pagemap_lease **ret)
{
	int err;

	if ((err = connect_daemon(c)))
		return err;
	err = pagemap_lease_acquire(c->pm, region, name, access, ret);
	if (err)
		return fail_with(c, err, "%s %s/%s", what, region, name);
	return 0;
}

/* let_go -- unmap @m (may be NULL) and release @l; the first failure is
 * reported. Returns @status, or EXIT_FAIL when letting go failed. */
static int
let_go(struct ctx *c, const char *what, const char *target,
       struct pagemap_mapping *m, struct pagemap_lease *l, int status)
{
	int err = m ? pagemap_unmap(m) : 0;

	if (err) {
		if (status == EXIT_OK)
			status =
				fail_with(c, err, "%s %s: unmap", what, target);
		/* The lease keeps whatever could not be returned; the
		 * daemon ends it when this process exits. */
		return status;
	}
	err = pagemap_lease_release(l);
	if (err && status == EXIT_OK)
		status = fail_with(c, err, "%s %s: release", what, target);
	return status;
}

/* refuse_offset -- when @offset is past the end of @l's file (or, with
 * @at_end, at it), say so and let the lease go; EXIT_OK otherwise. */
static int
refuse_offset(struct ctx *c, const char *what, const char *target,
	      struct pagemap_lease *l, uint64_t offset, bool at_end)
{
	uint64_t size = pagemap_lease_size(l);
	char detail[160];
	int status;

	if (offset < size || (offset == size && !at_end))
		return EXIT_OK;
	snprintf(detail, sizeof(detail),
		 "offset %" PRIu64 " is %s end of file (size %" PRIu64 ")",
		 offset, offset > size ? "past" : "at", size);
	status = fail_local(-ENXIO, detail, "%s %s", what, target);
	return let_go(c, what, target, NULL, l, status);
}

/* read_full -- read up to @n bytes, stopping early only at end of file. */
static int
read_full(int fd, char *buf, size_t n, size_t *ret_got)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	*ret_got = got;
	return 0;
}

/* What `write` sends: all of stdin is read (or, for a regular file,
 * measured) before the first byte is written, so data that would run past
 * the end of the file is refused without writing any of it. */
struct input {
	bool buffered; /* else stdin is a regular file, read per window */
	uint64_t len;  /* bytes in all */
	char **win;    /* buffered: WINDOW bytes each, the last shorter */
	size_t nwin;
};

/* input_free -- release the buffered windows. */
static void
input_free(struct input *in)
{
	for (size_t i = 0; i < in->nwin; i++)
		free(in->win[i]);
	free(in->win);
}

/* input_read -- measure or buffer stdin, reading at most @limit + 1
 * bytes: one more than fits shows that the data is too long. */
static int
input_read(struct input *in, uint64_t limit)
{
	struct stat st;
	off_t pos;

	memset(in, 0, sizeof(*in));
	if (!fstat(STDIN_FILENO, &st) && S_ISREG(st.st_mode) &&
	    (pos = lseek(STDIN_FILENO, 0, SEEK_CUR)) >= 0) {
		in->len = st.st_size > pos ? (uint64_t)(st.st_size - pos) : 0;
		return 0;
	}
	in->buffered = true;
	while (in->len <= limit) {
		uint64_t want = limit - in->len + 1;
		size_t n = (size_t)(want < WINDOW ? want : WINDOW), got = 0;
		char **w;
		char *buf;
		int err;

		/* A window is allocated at the size it may need: a write
		 * of a few bytes into a small file stays small. */
		if (!(buf = malloc(n)))
			die_oom();
		if ((err = read_full(STDIN_FILENO, buf, n, &got))) {
			free(buf);
			return err;
		}
		if (got == 0) {
			free(buf);
			break;
		}
		if (!(w = realloc(in->win, (in->nwin + 1) * sizeof(*w))))
			die_oom();
		in->win = w;
		in->win[in->nwin++] = buf;
		in->len += got;
		if (got < n)
			break;
	}
	return 0;
}

/* write_windows -- copy the input into the file from @offset on, one
 * mapped, persisted and unmapped window at a time. */
static int
write_windows(struct ctx *c, const char *target, struct pagemap_lease *l,
	      uint64_t offset, struct input *in)
{
	for (uint64_t pos = 0; pos < in->len;) {
		uint64_t n = in->len - pos < WINDOW ? in->len - pos : WINDOW;
		struct pagemap_mapping *m;
		char *dst;
		size_t got = 0;
		int err;

		err = pagemap_map(l, offset + pos, n, PAGEMAP_WRITE, &m);
		if (err)
			return fail_with(c, err,
					 "write %s: map %" PRIu64
					 " bytes at offset %" PRIu64,
					 target, n, offset + pos);
		dst = (char *)pagemap_mapping_addr(m) +
		      (offset + pos - pagemap_mapping_offset(m));
		if (in->buffered) {
			memcpy(dst, in->win[pos / WINDOW], (size_t)n);
		} else if ((err = read_full(STDIN_FILENO, dst, (size_t)n,
					    &got)) ||
			   got != n) {
			pagemap_unmap(m);
			return fail_local(err ? err : -EIO,
					  err ? "reading stdin"
					      : "stdin became shorter while "
						"being read",
					  "write %s", target);
		}
		err = pagemap_persist(m, dst, (size_t)n);
		if (err) {
			pagemap_unmap(m);
			return fail_with(c, err, "write %s: persist", target);
		}
		if ((err = pagemap_unmap(m)))
			return fail_with(c, err, "write %s: unmap", target);
		pos += n;
	}
	return EXIT_OK;
}

/* write_file -- `write R/NAME [--offset N]`: stdin into the file through
 * a write lease; the file is never grown. */
static int
write_file(struct ctx *c, const struct args *a, const char *region,
	   const char *name)
{
	struct pagemap_lease *l;
	struct input in;
	uint64_t offset, len, size;
	bool has_len;
	char detail[160];
	int err, status;

	if ((status = parse_offset_length(c, a, &offset, &len, &has_len)))
		return status;
	if ((status = take_lease(c, "write", region, name, PAGEMAP_WRITE, &l)))
		return status;
	if ((status = refuse_offset(c, "write", a->pos[0], l, offset, false)))
		return status;
	size = pagemap_lease_size(l);
	if ((err = input_read(&in, size - offset))) {
		status =
			fail_local(err, "reading stdin", "write %s", a->pos[0]);
		return let_go(c, "write", a->pos[0], NULL, l, status);
	}
	if (in.len > size - offset) {
		snprintf(detail, sizeof(detail),
			 "%s%" PRIu64 " bytes at offset %" PRIu64
			 " run past end of file (size %" PRIu64 ")",
			 in.buffered ? "more than " : "",
			 in.buffered ? size - offset : in.len, offset, size);
		status = fail_local(-ENXIO, detail, "write %s", a->pos[0]);
	} else {
		status = write_windows(c, a->pos[0], l, offset, &in);
	}
	input_free(&in);
	status = let_go(c, "write", a->pos[0], NULL, l, status);
	if (status == EXIT_OK && c->json) {
		json_object *o = json_doc();

		json_add_str(o, "region", region);
		json_add_str(o, "name", name);
		json_add_u64(o, "offset", offset);
		json_add_u64(o, "length", in.len);
		return print_json(o);
	}
	return status;
}

int
cmd_write(struct ctx *c, const struct args *a)
{
	return with_target(c, a, write_file);
}

/* read_file -- `read R/NAME [--offset N] [--length N]`: the bytes to
 * stdout through a read lease, clamped at the end of the file. */
static int
read_file(struct ctx *c, const struct args *a, const char *region,
	  const char *name)
{
	struct pagemap_lease *l;
	uint64_t offset, len, size;
	bool has_len;
	int err, status;

	if ((status = parse_offset_length(c, a, &offset, &len, &has_len)))
		return status;
	if ((status = take_lease(c, "read", region, name, PAGEMAP_READ, &l)))
		return status;
	if ((status = refuse_offset(c, "read", a->pos[0], l, offset, false)))
		return status;
	size = pagemap_lease_size(l);
	if (!has_len || len > size - offset)
		len = size - offset;
	for (uint64_t pos = 0; pos < len && status == EXIT_OK;) {
		uint64_t n = len - pos < WINDOW ? len - pos : WINDOW;
		struct pagemap_mapping *m;
		const char *src;

		err = pagemap_map(l, offset + pos, n, PAGEMAP_READ, &m);
		if (err) {
			status = fail_with(c, err,
					   "read %s: map %" PRIu64
					   " bytes at offset %" PRIu64,
					   a->pos[0], n, offset + pos);
			break;
		}
		src = (const char *)pagemap_mapping_addr(m) +
		      (offset + pos - pagemap_mapping_offset(m));
		if (fwrite(src, 1, (size_t)n, stdout) != n)
			status = fail_local(errno ? -errno : -EIO, "stdout",
					    "read %s", a->pos[0]);
		if ((err = pagemap_unmap(m)) && status == EXIT_OK)
			status = fail_with(c, err, "read %s: unmap", a->pos[0]);
		pos += n;
	}
	return let_go(c, "read", a->pos[0], NULL, l, status);
}

int
cmd_read(struct ctx *c, const struct args *a)
{
	if (c->json)
		return usage_error(c->cmd, "--json does not apply: read "
					   "prints the file's bytes");
	return with_target(c, a, read_file);
}

/* What `hold` waits for besides stdin and signals. */
struct hold {
	const char *target;
	uint64_t lease_id;
	bool ignore_recall;
	bool recalled;
	bool shutdown; /* the recall was the daemon's shutdown */
};

/* hold_recall -- the recall handler of `hold`: let go, or say that the
 * recall is ignored. Recalls of other leases are not ours. */
static void
hold_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t lease_id,
	    uint64_t offset, uint64_t length, enum pagemap_recall_reason why,
	    void *arg)
{
	struct hold *h = arg;

	(void)pm;
	(void)l;
	if (lease_id != h->lease_id)
		return;
	if (!h->ignore_recall) {
		h->recalled = true;
		if (why == PAGEMAP_RECALL_SHUTDOWN)
			h->shutdown = true;
		return;
	}
	if (length)
		fprintf(stderr,
			PROG ": hold %s: recall of lease %" PRIu64
			     " (%s, offset %" PRIu64 " length %" PRIu64
			     ") ignored\n",
			h->target, lease_id, pagemap_recall_reason_name(why),
			offset, length);
	else
		fprintf(stderr,
			PROG ": hold %s: recall of lease %" PRIu64
			     " (%s) ignored\n",
			h->target, lease_id, pagemap_recall_reason_name(why));
}

/* held_line -- the one line `hold` prints once the range is mapped. */
static int
held_line(struct ctx *c, const char *region, const char *name,
	  const struct pagemap_lease *l, const struct pagemap_mapping *m)
{
	if (c->json) {
		json_object *o = json_doc();

		json_add_str(o, "region", region);
		json_add_str(o, "name", name);
		json_add_u64(o, "lease_id", pagemap_lease_id(l));
		json_add_u64(o, "offset", pagemap_mapping_offset(m));
		json_add_u64(o, "length", pagemap_mapping_length(m));
		json_add_u64(o, "folios", pagemap_mapping_folios(m));
		/* One line: a reader waits for it before going on. */
		puts(json_object_to_json_string_ext(
			o, JSON_C_TO_STRING_PLAIN |
				   JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		printf("held %s/%s lease %" PRIu64 " offset %" PRIu64
		       " length %" PRIu64 " folios %zu\n",
		       region, name, pagemap_lease_id(l),
		       pagemap_mapping_offset(m), pagemap_mapping_length(m),
		       pagemap_mapping_folios(m));
	}
	if (fflush(stdout) || ferror(stdout))
		return fail_local(errno ? -errno : -EIO, "stdout", "hold %s/%s",
				  region, name);
	return EXIT_OK;
}

/* hold_wait -- wait until stdin ends, SIGINT/SIGTERM arrives through
 * @sfd, or @h is recalled. EXIT_OK, or EXIT_FAIL when the daemon went
 * away. */
static int
hold_wait(struct ctx *c, struct hold *h, int sfd)
{
	char buf[4096];

	for (;;) {
		struct pollfd p[3] = {
			{.fd = STDIN_FILENO, .events = POLLIN},
			{.fd = pagemap_get_fd(c->pm), .events = POLLIN},
			{.fd = sfd, .events = POLLIN},
		};
		int r;

		/* Recalls may have been queued by the calls before. */
		r = pagemap_dispatch(c->pm);
		/* The library would reconnect; a hold ends with the daemon
		 * that gave it (its pins go with this process). */
		if (r == -ECONNRESET || (r >= 0 && !pagemap_connected(c->pm)))
			return fail_local(-ECONNRESET,
					  "the daemon closed the connection",
					  "hold %s", h->target);
		if (r < 0)
			return fail_with(c, r, "hold %s", h->target);
		if (h->recalled)
			return EXIT_OK;
		r = poll(p, 3, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return fail_local(-errno, "poll", "hold %s", h->target);
		if (p[2].revents)
			return EXIT_OK; /* SIGINT or SIGTERM */
		if (p[0].revents & POLLNVAL)
			return EXIT_OK; /* no stdin: nothing to wait for */
		if (p[0].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));

			if (n == 0 ||
			    (n < 0 && errno != EINTR && errno != EAGAIN))
				return EXIT_OK;
		}
	}
}

/* let_go_at_shutdown -- let_go() after the daemon's shutdown recall. The
 * shutdown ends every lease once its grants are back, and the daemon exits
 * right after answering the final return: a release it can no longer
 * answer finds the lease already over, as after a completed revoke. */
static int
let_go_at_shutdown(struct ctx *c, const char *target, struct pagemap_mapping *m,
		   struct pagemap_lease *l, int status)
{
	int err = pagemap_unmap(m);

	if (err)
		return status == EXIT_OK
			       ? fail_with(c, err, "hold %s: unmap", target)
			       : status;
	/* The handle is freed either way once the connection is gone. */
	err = pagemap_lease_release(l);
	if (err && err != -ECONNRESET && status == EXIT_OK)
		status = fail_with(c, err, "hold %s: release", target);
	return status;
}

/* hold_file -- `hold R/NAME [--offset N] [--length N] [--rw]
 * [--ignore-recall]`. */
static int
hold_file(struct ctx *c, const struct args *a, const char *region,
	  const char *name)
{
	struct hold h = {.target = a->pos[0],
			 .ignore_recall = a->ignore_recall};
	enum pagemap_access access = a->rw ? PAGEMAP_WRITE : PAGEMAP_READ;
	struct pagemap_mapping *m;
	struct pagemap_lease *l;
	uint64_t offset, len, size;
	bool has_len;
	sigset_t sigs;
	int sfd, err, status;

	if ((status = parse_offset_length(c, a, &offset, &len, &has_len)))
		return status;
	/* Blocked from the start: a signal during the setup is read from
	 * the signalfd afterwards, and the mapping is still let go. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) ||
	    (sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return fail_local(-errno, "signalfd", "hold %s", a->pos[0]);
	if ((status = take_lease(c, "hold", region, name, access, &l)))
		goto out;
	if ((status = refuse_offset(c, "hold", a->pos[0], l, offset, !has_len)))
		goto out;
	size = pagemap_lease_size(l);
	if (!has_len)
		len = size - offset;
	if (len == 0) {
		status = fail_local(-EINVAL, "empty range", "hold %s",
				    a->pos[0]);
		status = let_go(c, "hold", a->pos[0], NULL, l, status);
		goto out;
	}
	if ((err = pagemap_map(l, offset, len, access, &m))) {
		status = fail_with(c, err, "hold %s", a->pos[0]);
		status = let_go(c, "hold", a->pos[0], NULL, l, status);
		goto out;
	}
	h.lease_id = pagemap_lease_id(l);
	pagemap_set_recall_handler(c->pm, hold_recall, &h);
	status = held_line(c, region, name, l, m);
	if (status == EXIT_OK)
		status = hold_wait(c, &h, sfd);
	if (h.shutdown)
		status = let_go_at_shutdown(c, a->pos[0], m, l, status);
	else
		status = let_go(c, "hold", a->pos[0], m, l, status);
out:
	close(sfd);
	return status;
}

int
cmd_hold(struct ctx *c, const struct args *a)
{
	return with_target(c, a, hold_file);
}

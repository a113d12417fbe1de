/* poll_recall.c -- libpagemap from a poll() loop: map a file, answer the
 * daemon's recall, exit.
 *
 *   poll_recall [--socket PATH] REGION/NAME [MESSAGE]
 *
 * Takes a write lease on REGION/NAME, maps the whole file zero-copy,
 * writes MESSAGE (default "hello from poll_recall") at its start and makes
 * it durable, prints one "mapped ..." line, then waits in poll() until the
 * daemon recalls the grants (`pagemapctl lease revoke ID`, a truncate, a
 * detach or the daemon's shutdown). It answers by unmapping, releases the
 * lease and exits 0.
 *
 * Build: cc poll_recall.c $(pkg-config --cflags --libs libpagemap), or
 * find_package(pagemap) and link pagemap::pagemap.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagemap.h>

/* What the recall handler shares with the loop. */
struct app {
	struct pagemap_mapping *map; /* NULL once returned */
	bool recalled;
	int err; /* of the unmap that answered the recall */
};

/* on_recall -- called from pagemap_dispatch() only, never from inside
 * another libpagemap call, so it may call back into the library. A recall
 * names a range (length 0: everything); returning more than asked is
 * always a valid answer, so this program simply unmaps all of it. A
 * program that wants to keep working would remap what is still its own. */
static void
on_recall(struct pagemap *pm, struct pagemap_lease *l, uint64_t lease_id,
	  uint64_t offset, uint64_t length, enum pagemap_recall_reason reason,
	  void *arg)
{
	struct app *app = arg;

	(void)pm;
	(void)l;
	printf("recall of lease %" PRIu64 " (%s, offset %" PRIu64
	       " length %" PRIu64 ")\n",
	       lease_id, pagemap_recall_reason_name(reason), offset, length);
	if (app->map) {
		/* Stores already persisted; unmapping returns the grants and
		 * lets the daemon's truncate/revoke/detach complete. */
		app->err = pagemap_unmap(app->map);
		app->map = NULL;
	}
	app->recalled = true;
}

/* fail -- one line on stderr for a libpagemap error; exit status 1. */
static int
fail(struct pagemap *pm, const char *what, int err)
{
	const char *msg = pagemap_last_message(pm);

	fprintf(stderr, "poll_recall: %s: %s%s%s%s\n", what,
		pagemap_strerror(err), *msg ? " (" : "", msg, *msg ? ")" : "");
	return 1;
}

int
main(int argc, char **argv)
{
	const char *socket = NULL, *target, *message = "hello from poll_recall";
	struct app app = {0};
	struct pagemap *pm;
	struct pagemap_lease *lease;
	char region[64];
	const char *slash;
	uint64_t size;
	int err, status = 0;

	if (argc > 2 && !strcmp(argv[1], "--socket")) {
		socket = argv[2];
		argv += 2;
		argc -= 2;
	}
	if (argc < 2 || argc > 3 || !(slash = strchr(argv[1], '/')) ||
	    slash == argv[1] || (size_t)(slash - argv[1]) >= sizeof(region)) {
		fprintf(stderr, "usage: poll_recall [--socket PATH] "
				"REGION/NAME [MESSAGE]\n");
		return 2;
	}
	target = argv[1];
	if (argc == 3)
		message = argv[2];
	snprintf(region, sizeof(region), "%.*s", (int)(slash - target), target);

	/* NULL socket: $PAGEMAP_SOCKET, else the installed default. */
	if ((err = pagemap_connect(socket, "poll_recall", &pm))) {
		/* Says which socket failed, and why. */
		fprintf(stderr, "poll_recall: %s\n",
			pagemap_last_message(NULL));
		return 1;
	}
	pagemap_set_recall_handler(pm, on_recall, &app);

	if ((err = pagemap_lease_acquire(pm, region, slash + 1, PAGEMAP_WRITE,
					 &lease))) {
		status = fail(pm, target, err);
		goto out_close;
	}
	size = pagemap_lease_size(lease);
	if (size < strlen(message)) {
		fprintf(stderr,
			"poll_recall: %s: file smaller than the "
			"message\n",
			target);
		status = 1;
		goto out_release;
	}
	/* One contiguous mapping of the whole file, huge-page aligned where
	 * the region's folios allow it. */
	if ((err = pagemap_map(lease, 0, size, PAGEMAP_WRITE, &app.map))) {
		status = fail(pm, "map", err);
		goto out_release;
	}
	memcpy(pagemap_mapping_data(app.map), message, strlen(message));
	if ((err = pagemap_persist(app.map, pagemap_mapping_data(app.map),
				   strlen(message)))) {
		status = fail(pm, "persist", err);
		goto out_release;
	}
	printf("mapped %s lease %" PRIu64 " bytes %" PRIu64 " folios %zu\n",
	       target, pagemap_lease_id(lease), pagemap_mapping_length(app.map),
	       pagemap_mapping_folios(app.map));
	fflush(stdout);

	/* The event loop: the connection fd becomes readable when the
	 * daemon sends something; pagemap_dispatch() reads it without
	 * blocking and calls on_recall() for each recall. A real program
	 * polls its own fds in the same array. */
	while (!app.recalled) {
		struct pollfd p = {.fd = pagemap_get_fd(pm), .events = POLLIN};

		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			status = fail(pm, "poll", -errno);
			goto out_release;
		}
		err = pagemap_dispatch(pm);
		if (err < 0) {
			status = fail(pm, "dispatch", err);
			goto out_release;
		}
	}
	if (app.err) {
		status = fail(pm, "unmap", app.err);
		goto out_release;
	}
	printf("returned\n");

out_release:
	if (app.map)
		pagemap_unmap(app.map);
	/* After a revoke the daemon has ended the lease: release still
	 * frees the handle and returns 0. After a shutdown recall the
	 * daemon may be gone already, which is no failure either. */
	err = pagemap_lease_release(lease);
	if (err && !status &&
	    !(app.recalled && (err == -ECONNRESET || err == -EPIPE)))
		status = fail(pm, "release", err);
out_close:
	pagemap_close(pm);
	return status;
}

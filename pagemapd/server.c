/* server.c -- the daemon's state: attached regions, sessions, shutdown. */
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "session.h"

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct region *
server_region(const struct server *srv, const char *name)
{
	for (size_t i = 0; i < srv->nregions; i++)
		if (strcmp(srv->regions[i]->name, name) == 0)
			return srv->regions[i];
	return NULL;
}

int
server_attach(struct server *srv, const char *name, const char *path,
	      const struct region_opts *o, char *err)
{
	struct region *r;
	int rv;

	if (server_region(srv, name)) {
		snprintf(err, REGION_ERR_MAX, "region '%s' is already attached",
			 name);
		return -EEXIST;
	}
	for (size_t i = 0; i < srv->nregions; i++) {
		if (strcmp(srv->regions[i]->path, path) == 0) {
			snprintf(err, REGION_ERR_MAX,
				 "%s is already attached as region '%s'", path,
				 srv->regions[i]->name);
			return -EEXIST;
		}
	}
	if (srv->nregions == CONFIG_MAX_REGIONS) {
		snprintf(err, REGION_ERR_MAX, "at most %u regions can be attached",
			 CONFIG_MAX_REGIONS);
		return -E2BIG;
	}
	rv = region_attach(name, path, o, &r, err);
	if (rv < 0)
		return rv;
	srv->regions[srv->nregions++] = r;
	log_info("region '%s' attached: %s (%s, %llu bytes, %u files)", name,
		 r->path, r->kind == REGION_FILE ? "file"
			  : r->kind == REGION_FSDAX ? "fsdax" : "devdax",
		 (unsigned long long)r->media.size, r->nfiles);
	return 0;
}

int
server_detach(struct server *srv, const char *name)
{
	for (size_t i = 0; i < srv->nregions; i++) {
		struct region *r = srv->regions[i];

		if (strcmp(r->name, name) != 0)
			continue;
		srv->regions[i] = srv->regions[--srv->nregions];
		log_info("region '%s' detached", name);
		region_detach(r);
		return 0;
	}
	return -ENOENT;
}

void
server_session_gone(struct server *srv, struct session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->nsessions--;
}

static void
on_connection(struct ipc_listener *l, int fd)
{
	struct server *srv = l->data;

	if (srv->stopping || srv->nsessions >= srv->cfg->max_clients) {
		/* Refuse before reading anything: a flood of connections
		 * must not grow the daemon. */
		log_warn("refusing a connection: %s",
			 srv->stopping ? "shutting down" : "too many clients");
		close(fd);
		return;
	}
	if (session_open(srv, fd) < 0)
		log_warn("cannot serve a new connection: out of resources");
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct server *srv = h->data;

	log_info("%s received, shutting down", strsignal(signum));
	server_stop(srv);
}

int
server_start(struct server *srv, uv_loop_t *loop, const struct config *c)
{
	char err[REGION_ERR_MAX > 256 ? REGION_ERR_MAX : 256];
	int rv;

	memset(srv, 0, sizeof(*srv));
	srv->loop = loop;
	srv->cfg = c;
	srv->start_ms = now_ms();
	srv->listener.fd = -1;
	for (size_t i = 0; i < c->nregions; i++) {
		const struct region_conf *rc = &c->regions[i];
		struct region_opts o = {
			.size = rc->size,
			.create = rc->create,
			.max_order = rc->max_order,
			.inode_count = rc->inodes,
		};

		rv = server_attach(srv, rc->name, rc->path, &o, err);
		if (rv < 0) {
			log_error("cannot attach region '%s' (%s): %s",
				  rc->name, rc->path, err);
			goto err_detach;
		}
	}
	srv->listener.on_connection = on_connection;
	srv->listener.data = srv;
	rv = ipc_listen(loop, &srv->listener, c->socket_path, c->socket_mode,
			err);
	if (rv < 0) {
		log_error("%s", err);
		goto err_detach;
	}
	uv_signal_init(loop, &srv->sigterm);
	uv_signal_init(loop, &srv->sigint);
	srv->sigterm.data = srv->sigint.data = srv;
	uv_signal_start(&srv->sigterm, on_signal, SIGTERM);
	uv_signal_start(&srv->sigint, on_signal, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	log_info("listening on %s with %zu region(s)", srv->listener.path,
		 srv->nregions);
	return 0;

err_detach:
	while (srv->nregions)
		region_detach(srv->regions[--srv->nregions]);
	return rv;
}

void
server_stop(struct server *srv)
{
	if (srv->stopping)
		return;
	srv->stopping = true;
	ipc_listener_close(&srv->listener);
	for (struct session *s = srv->sessions; s; s = s->next)
		session_close(s);
	/* Leases and grants come with the next issue; until then nothing can
	 * pin a region, so detaching needs no wait. */
	while (srv->nregions) {
		struct region *r = srv->regions[--srv->nregions];
		log_info("region '%s' detached", r->name);
		region_detach(r);
	}
	uv_close((uv_handle_t *)&srv->sigterm, NULL);
	uv_close((uv_handle_t *)&srv->sigint, NULL);
}

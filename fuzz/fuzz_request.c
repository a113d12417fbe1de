/* fuzz_request.c -- libFuzzer target: packets -> wire_request_decode() ->
 * session_dispatch(), against a real server (no listening client, no
 * daemon process) with one small region on a temp file and pin tables
 * kept in a runtime directory, so both the decoder and the handlers run. Each
 * input is a sequence of packets, each a little-endian u16 length and that many
 * bytes; a fresh server, region and connection serve every input, so runs are
 * independent.
 *
 * Like on_packet() in session.c: a packet that decodes with -EPROTO ends
 * the input (the daemon would close the connection), one with -EINVAL is
 * skipped (it would get an error reply). A request before Hello has the
 * handshake marked done instead of closing, so inputs need not start with
 * a Hello to reach the handlers. RegionAttach is confined to the temp
 * folder: its path is replaced and its size bounded, because the fuzzer
 * runs with the daemon's powers over the whole file system. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "client.h"
#include "config.h"
#include "log.h"
#include "ops.h"
#include "pins.h"
#include "server.h"
#include "session.h"
#include "wire.h"

#define FUZZ_MAX_PACKETS 32
#define FUZZ_REGION_SIZE (8u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char attach_path[128];
static char run_dir[128];
static struct pin_dir pins = {.dirfd = -1};
static uint8_t drain_buf[WIRE_MAX_PACKET];

/* cleanup -- remove what a run left in the temp folder: sockets, region
 * files and pin tables (a table left behind would be restored by the next
 * input's attach). */
static void
cleanup(void)
{
	static const char *const names[] = {
		"sock",	       "sock.lock",	   "r.pmem",
		"r.pmem.meta", "r.pmem.meta.lock", "a.pmem",
		"a.pmem.meta", "a.pmem.meta.lock"};
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/pins", run_dir);
	if ((d = opendir(path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

static void
remove_dir(void)
{
	char path[PATH_MAX];

	cleanup();
	pins_dir_close(&pins);
	snprintf(path, sizeof(path), "%s/pins", run_dir);
	rmdir(path);
	rmdir(run_dir);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[REGION_ERR_MAX];

	(void)argc;
	(void)argv;
	/* Region files on tmpfs: a persist is an msync, cheap there. */
	snprintf(dir, sizeof(dir), "%s/pm-fuzz-XXXXXX",
		 access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		abort();
	}
	snprintf(attach_path, sizeof(attach_path), "%s/a.pmem", dir);
	snprintf(run_dir, sizeof(run_dir), "%s/run", dir);
	atexit(remove_dir);
	log_set_level(LOG_LEVEL_ERROR);
	/* Pins are kept as by the daemon: every lease and grant goes to a
	 * pin table, and attach runs its pins phase. */
	if (pins_dir_open(run_dir, &pins, err) < 0) {
		fprintf(stderr, "fuzz_request: %s\n", err);
		abort();
	}
	return 0;
}

/* drain -- read and drop every reply waiting on the client's end. */
static void
drain(int fd)
{
	/* 0 is the end of file: the session closed its end. */
	while (recv(fd, drain_buf, sizeof(drain_buf), MSG_DONTWAIT) > 0)
		;
}

/* find_session -- the one session, or NULL once it has closed. */
static struct session *
find_session(struct server *srv)
{
	if (list_empty(&srv->conns))
		return NULL;
	return list_entry(srv->conns.next, struct session, conn.node);
}

/* serve -- one packet, as on_packet() would. Returns false when the
 * connection would be closed. */
static bool
serve(struct server *srv, struct session *s, const uint8_t *buf, size_t len)
{
	struct wire_request rq;
	struct wire_request copy;
	const char *why = "";
	bool open = true;
	int rv;

	rv = wire_request_decode(srv->wire, buf, len, &rq, &why);
	if (rv == -EPROTO) {
		open = false;
	} else if (rv == 0) {
		copy = rq;
		if (!s->hello && rq.kind != WIRE_HELLO)
			s->hello = true;
		if (rq.kind == WIRE_REGION_ATTACH) {
			copy.path = attach_path;
			if (copy.size > 2 * FUZZ_REGION_SIZE)
				copy.size = FUZZ_REGION_SIZE;
		}
		session_dispatch(s, &copy);
	}
	wire_request_free(&rq);
	return open;
}

/* finish -- end every client as if its process exited (their grants come
 * back, so the stop does not wait for them), close the connection, stop
 * the server and run the loop until everything is closed. */
static void
finish(struct server *srv, uv_loop_t *loop, int peer)
{
	struct session *s = find_session(srv);
	struct list_node *n, *next;

	for (n = srv->clients.next; n != &srv->clients; n = next) {
		struct client *c = list_entry(n, struct client, node);

		next = n->next;
		c->exited = true;
		ops_client_exited(c);
	}
	if (s)
		session_close(s);
	close(peer);
	ops_shutdown(srv);
	uv_run(loop, UV_RUN_DEFAULT);
}

/* LLVMFuzzerTestOneInput -- serve the packets of one input on a fresh
 * server, region and connection; everything is closed again after. */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct server_upcalls up = {
		.accept = session_open,
		.stop = ops_shutdown,
		.restore_pins = pins_restore,
		.forget_pins = pins_forget,
		.pins = &pins,
	};
	struct config cfg;
	uv_loop_t loop;
	struct server srv;
	int sv[2];
	unsigned npackets = 0;

	config_defaults(&cfg);
	cfg.log_level = LOG_LEVEL_ERROR;
	snprintf(cfg.socket_path, sizeof(cfg.socket_path), "%s/sock", dir);
	snprintf(cfg.runtime_dir, sizeof(cfg.runtime_dir), "%s", run_dir);
	cfg.nregions = 1;
	snprintf(cfg.regions[0].name, sizeof(cfg.regions[0].name), "r");
	snprintf(cfg.regions[0].path, sizeof(cfg.regions[0].path), "%s/r.pmem",
		 dir);
	cfg.regions[0].size = FUZZ_REGION_SIZE;
	cfg.regions[0].create = true;
	cfg.regions[0].max_order = 4;
	cleanup();
	if (uv_loop_init(&loop) != 0)
		abort();
	memset(&srv, 0, sizeof(srv));
	if (server_start(&srv, &loop, &cfg, &up) != 0)
		abort();
	ops_init(&srv, session_send_recall);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, sv) != 0 ||
	    session_open(&srv, sv[0]) != 0)
		abort();

	while (size >= 2 && npackets++ < FUZZ_MAX_PACKETS) {
		size_t len = (size_t)data[0] | (size_t)data[1] << 8;
		struct session *s = find_session(&srv);

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		if (s == NULL || s->conn.closing)
			break;
		if (!serve(&srv, s, data, len))
			break;
		data += len;
		size -= len;
		/* The group commit and the replies held for it. */
		uv_run(&loop, UV_RUN_NOWAIT);
		drain(sv[1]);
	}
	finish(&srv, &loop, sv[1]);
	if (uv_loop_close(&loop) != 0)
		abort();
	cleanup();
	return 0;
}

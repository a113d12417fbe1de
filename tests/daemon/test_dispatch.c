/* test_dispatch.c -- the session's dispatcher called directly with every
 * request kind, in range or not: each gets exactly one answer with its
 * id, and a kind without a handler gets EPROTO (never a jump through the
 * table). Decode rejects unknown kinds first, so a client could not reach
 * this through the socket; the test links the daemon's objects instead. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "config.h"
#include "ops.h"
#include "pagemap.pb-c.h"
#include "server.h"
#include "session.h"
#include "wire.h"

struct fixture {
	char dir[64];
	struct config cfg;
	uv_loop_t loop;
	struct server srv;
	int peer; /* the client's end of the socket pair */
	struct session *s;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct server_upcalls up = {
		.accept = session_open,
		.stop = ops_shutdown,
	};
	int sv[2];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/pm-dispatch-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	config_defaults(&f->cfg);
	f->cfg.nregions = 0;
	snprintf(f->cfg.socket_path, sizeof(f->cfg.socket_path), "%s/sock",
		 f->dir);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(server_start(&f->srv, &f->loop, &f->cfg, &up), 0);
	ops_init(&f->srv, session_send_recall);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK |
						     SOCK_CLOEXEC,
				    0, sv),
			 0);
	assert_int_equal(session_open(&f->srv, sv[0]), 0);
	f->peer = sv[1];
	assert_false(list_empty(&f->srv.conns));
	f->s = list_entry(f->srv.conns.next, struct session, conn.node);
	f->s->hello = true;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];

	close(f->peer);
	ops_shutdown(&f->srv);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	snprintf(path, sizeof(path), "%s/sock", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* answer -- the one reply waiting on the client's end: its id and error. */
static void
answer(int fd, uint64_t *ret_id, uint32_t *ret_err)
{
	uint8_t buf[WIRE_MAX_PACKET];
	Pagemap__ServerMessage *m;
	ssize_t n = recv(fd, buf, sizeof(buf), 0);

	assert_true(n > 0);
	m = pagemap__server_message__unpack(NULL, (size_t)n, buf);
	assert_non_null(m);
	assert_int_equal(m->msg_case, PAGEMAP__SERVER_MESSAGE__MSG_RESPONSE);
	*ret_id = m->response->id;
	*ret_err = m->response->error;
	pagemap__server_message__free_unpacked(m, NULL);
	/* Exactly one answer per request. */
	assert_true(recv(fd, buf, sizeof(buf), 0) < 0 && errno == EAGAIN);
}

static void
every_kind_but_taken_gets_one_answer_and_no_handler_means_eproto(
	void **state)
{
	struct fixture *f = *state;

	for (unsigned k = 0; k <= WIRE_KIND_END + 2; k++) {
		struct wire_request rq = {
			.id = 1000 + k,
			.kind = (enum wire_kind)k,
			.client_name = "",
			.region = "",
			.name = "",
			.path = "",
		};
		bool served = k >= WIRE_HELLO && k < WIRE_KIND_END;
		uint64_t id;
		uint32_t err;
		uint8_t buf[64];

		session_dispatch(f->s, &rq);
		if (k == WIRE_TAKEN) {
			/* One-way: a Taken is never answered. */
			assert_true(recv(f->peer, buf, sizeof(buf),
					 MSG_DONTWAIT) < 0 &&
				    errno == EAGAIN);
			continue;
		}
		answer(f->peer, &id, &err);
		assert_int_equal(id, rq.id);
		if (!served)
			assert_int_equal(err, EPROTO);
		else
			assert_int_not_equal(err, EPROTO);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			every_kind_but_taken_gets_one_answer_and_no_handler_means_eproto,
			setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

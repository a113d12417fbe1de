/* test_badinput.c -- malformed traffic gets an error or a closed connection,
 * never a crash or a leak, and everyone else keeps being served. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "fdcheck.h"
#include "harness.h"
#include "rng.h"
#include "rawclient.h"

#define WAIT_MS 10000

static struct daemon d;
static int good = -1; /* a well-behaved client connected all along */
static uint64_t good_id = 100;

/* connect_raw -- a connection with no handshake yet. */
static int
connect_raw(void)
{
	return raw_connect(d.socket, 0);
}

/* pack_request -- @rq packed into @buf, where a test can mangle it. */
static size_t
pack_request(Pagemap__Request *rq, uint8_t *buf, size_t cap)
{
	ssize_t n = raw_pack(rq, buf, cap);

	assert_true(n >= 0);
	return (size_t)n;
}

static size_t
pack_hello(uint64_t id, uint32_t version, uint8_t *buf, size_t cap)
{
	Pagemap__Request rq;
	Pagemap__Hello h;

	raw_req_hello(&rq, &h, version, "badinput");
	rq.id = id;
	return pack_request(&rq, buf, cap);
}

static size_t
pack_status(uint64_t id, uint8_t *buf, size_t cap)
{
	Pagemap__Request rq;
	Pagemap__StatusRequest s;

	raw_req_status(&rq, &s);
	rq.id = id;
	return pack_request(&rq, buf, cap);
}

/* recv_response -- the next Response, or NULL at EOF / timeout. */
static Pagemap__Response *
recv_response(int fd, Pagemap__ServerMessage **ret_sm)
{
	Pagemap__ServerMessage *sm;
	int rc = raw_recv(fd, WAIT_MS, NULL, &sm);

	*ret_sm = NULL;
	if (rc == -ETIMEDOUT || rc == -ECONNRESET)
		return NULL;
	assert_int_equal(rc, 0);
	assert_int_equal(sm->msg_case, PAGEMAP__SERVER_MESSAGE__MSG_RESPONSE);
	*ret_sm = sm;
	return sm->response;
}

/* expect_closed -- the daemon closes @fd, optionally after one error
 * response; returns that error (0 if none came). */
static uint32_t
expect_closed(int fd)
{
	Pagemap__ServerMessage *sm;
	Pagemap__Response *r;
	uint32_t err = 0;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	r = recv_response(fd, &sm);
	if (r) {
		assert_int_equal(r->id, 0);
		assert_int_not_equal(r->error, 0);
		assert_true(strlen(r->message) > 0);
		err = r->error;
		pagemap__server_message__free_unpacked(sm, NULL);
	}
	assert_int_equal(poll(&p, 1, WAIT_MS), 1);
	assert_int_equal(recv(fd, &c, 1, 0), 0); /* EOF */
	close(fd);
	return err;
}

static void
handshake(int fd, uint64_t id)
{
	uint8_t buf[256];
	Pagemap__ServerMessage *sm;
	Pagemap__Response *r;
	size_t n = pack_hello(id, 1, buf, sizeof(buf));

	assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
	r = recv_response(fd, &sm);
	assert_non_null(r);
	assert_int_equal(r->id, id);
	assert_int_equal(r->error, 0);
	assert_int_equal(r->body_case, PAGEMAP__RESPONSE__BODY_HELLO);
	pagemap__server_message__free_unpacked(sm, NULL);
}

/* status_ok -- @fd gets a status reply: the daemon still serves it. */
static void
status_ok(int fd, uint64_t id)
{
	uint8_t buf[64];
	Pagemap__ServerMessage *sm;
	Pagemap__Response *r;
	size_t n = pack_status(id, buf, sizeof(buf));

	assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
	r = recv_response(fd, &sm);
	assert_non_null(r);
	assert_int_equal(r->id, id);
	assert_int_equal(r->error, 0);
	assert_int_equal(r->body_case, PAGEMAP__RESPONSE__BODY_STATUS);
	pagemap__server_message__free_unpacked(sm, NULL);
}

/* others_still_served -- the long-lived client and a brand new one both
 * get answers, and a real CLI process works end to end. */
static void
others_still_served(void)
{
	int fd = connect_raw();
	char out[4096];

	status_ok(good, ++good_id);
	handshake(fd, 1);
	status_ok(fd, 2);
	close(fd);
	assert_int_equal(ctl(&d, out, sizeof(out), NULL, 0, "--bytes", "file",
			     "stat", "r/keep", NULL),
			 0);
	assert_non_null(strstr(out, "4096"));
}

/* fds_back_to -- the daemon's fd count returns to @n within the bound
 * (closing happens on the daemon's loop, a moment after our close). */
static void
fds_back_to(int n)
{
	long long end = now_ms() + WAIT_MS;

	while (fd_count(d.pid) != n && now_ms() < end)
		poll(NULL, 0, 5);
	assert_int_equal(fd_count(d.pid), n);
}

static int baseline_fds;

static int
setup(void **state)
{
	char spec[PATH_MAX + 64];
	const char *args[] = {"--region", spec, NULL};
	char out[256];

	(void)state;
	daemon_init(&d);
	snprintf(spec, sizeof(spec), "r=%s/r.pmem,size=16M,create", d.dir);
	if (daemon_start(&d, args, NULL) < 0)
		return -1;
	/* The baseline is taken before any CLI runs: a CLI that has just
	 * exited may still hold a connection and a pidfd in the daemon for a
	 * moment, and fds_back_to() waits those out, but a baseline taken
	 * while they are open would never be reached again. */
	good = connect_raw();
	handshake(good, ++good_id);
	baseline_fds = fd_count(d.pid);
	if (ctl(&d, out, sizeof(out), NULL, 0, "file", "create", "r/keep",
		"--size", "4096", NULL) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (good >= 0)
		close(good);
	/* The daemon must have survived everything and stop cleanly. */
	assert_int_equal(daemon_stop(&d), 0);
	daemon_cleanup(&d);
	return 0;
}

static void
random_bytes_close_the_connection(void **state)
{
	(void)state;
	rnd_seed("random bytes", 42);
	for (int round = 0; round < 50; round++) {
		uint8_t buf[512];
		size_t n = 1 + rnd_below(sizeof(buf));
		int fd = connect_raw();

		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)rnd();
		if (round % 2)
			handshake(fd, 1); /* after the handshake too */
		assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
		/* Random bytes may by chance decode as a valid request;
		 * then the daemon answers it. Either way it must stay up. */
		Pagemap__ServerMessage *sm;
		Pagemap__Response *r = recv_response(fd, &sm);
		if (r)
			pagemap__server_message__free_unpacked(sm, NULL);
		close(fd);
	}
	others_still_served();
	fds_back_to(baseline_fds);
}

static void
truncated_packet_closes_the_connection(void **state)
{
	uint8_t buf[256];
	size_t n = pack_hello(1, 1, buf, sizeof(buf));
	int fd = connect_raw();

	(void)state;
	assert_int_equal(send(fd, buf, n - 3, 0), (ssize_t)(n - 3));
	assert_int_equal(expect_closed(fd), EPROTO);
	others_still_served();
}

static void
oversized_packet_is_refused_with_emsgsize(void **state)
{
	static uint8_t buf[70000];
	int fd = connect_raw();
	int sz = 1 << 20;

	(void)state;
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	handshake(fd, 1);
	memset(buf, 0x0a, sizeof(buf));
	assert_int_equal(send(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
	assert_int_equal(expect_closed(fd), EMSGSIZE);
	others_still_served();
}

static void
unexpected_fds_are_closed_and_refused(void **state)
{
	uint8_t buf[256];
	size_t n = pack_hello(1, 1, buf, sizeof(buf));
	int fd = connect_raw();
	int passed[3];
	union {
		char b[CMSG_SPACE(sizeof(passed))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = buf, .iov_len = n};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.b,
			     .msg_controllen = sizeof(u.b)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	(void)state;
	for (int i = 0; i < 3; i++)
		passed[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(passed));
	memcpy(CMSG_DATA(cm), passed, sizeof(passed));
	assert_int_equal(sendmsg(fd, &msg, 0), (ssize_t)n);
	for (int i = 0; i < 3; i++)
		close(passed[i]);
	assert_int_equal(expect_closed(fd), EBADMSG);
	others_still_served();
	/* The three fds did not stay open in the daemon. */
	fds_back_to(baseline_fds);
}

/* send_with_fd -- @buf[0..n) as one packet with @pass as its one fd. */
static void
send_with_fd(int fd, const uint8_t *buf, size_t n, int pass)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = u.b,
			     .msg_controllen = sizeof(u.b)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &pass, sizeof(int));
	assert_int_equal(sendmsg(fd, &msg, 0), (ssize_t)n);
}

/* A Hello may hand back a word table (one fd, announced): from a process
 * with no restored leases it is closed and the connection served; an fd
 * it did not announce, or on any later packet, is refused as ever. */
static void
one_fd_only_on_a_hello_that_announces_a_word_table(void **state)
{
	uint8_t buf[256];
	Pagemap__Request rq;
	Pagemap__Hello h;
	Pagemap__ServerMessage *sm;
	Pagemap__Response *r;
	int fd, pass = open("/dev/null", O_RDONLY | O_CLOEXEC);
	size_t n;

	(void)state;
	assert_true(pass >= 0);
	/* Not announced. */
	fd = connect_raw();
	n = pack_hello(1, 1, buf, sizeof(buf));
	send_with_fd(fd, buf, n, pass);
	assert_int_equal(expect_closed(fd), EBADMSG);
	/* Announced: the Hello is answered, the fd closed. */
	fd = connect_raw();
	raw_req_hello(&rq, &h, 1, "badinput");
	h.capabilities = 4; /* CAP_CACHED_GRANTS */
	h.words_attached = true;
	h.words_id = 12345;
	rq.id = 1;
	n = pack_request(&rq, buf, sizeof(buf));
	send_with_fd(fd, buf, n, pass);
	r = recv_response(fd, &sm);
	assert_non_null(r);
	assert_int_equal(r->error, 0);
	assert_int_equal(r->body_case, PAGEMAP__RESPONSE__BODY_HELLO);
	assert_int_equal(r->hello->words_id, 0);
	pagemap__server_message__free_unpacked(sm, NULL);
	status_ok(fd, 2);
	/* On a later packet. */
	n = pack_status(3, buf, sizeof(buf));
	send_with_fd(fd, buf, n, pass);
	assert_int_equal(expect_closed(fd), EBADMSG);
	close(pass);
	others_still_served();
	fds_back_to(baseline_fds);
}

static void
zero_length_packet_closes_the_connection(void **state)
{
	int fd = connect_raw();

	(void)state;
	handshake(fd, 1);
	assert_int_equal(send(fd, "", 0, 0), 0);
	assert_int_not_equal(expect_closed(fd), 0);
	others_still_served();
}

static void
request_before_hello_is_refused(void **state)
{
	uint8_t buf[64];
	size_t n = pack_status(7, buf, sizeof(buf));
	int fd = connect_raw();

	(void)state;
	assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
	assert_int_equal(expect_closed(fd), EPROTO);
	others_still_served();
}

static void
unknown_protocol_version_is_refused(void **state)
{
	uint8_t buf[256];
	size_t n = pack_hello(1, 99, buf, sizeof(buf));
	int fd = connect_raw();

	(void)state;
	assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
	assert_int_equal(expect_closed(fd), EPROTONOSUPPORT);
	others_still_served();
}

static void
unknown_fields_are_refused(void **state)
{
	uint8_t buf[256];
	size_t n;
	int fd = connect_raw();

	(void)state;
	handshake(fd, 1);
	n = pack_status(2, buf, sizeof(buf));
	/* field 1000, varint 1: tag = (1000 << 3) | 0 as a varint */
	buf[n++] = 0xc0;
	buf[n++] = 0x3e;
	buf[n++] = 0x01;
	assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
	assert_int_equal(expect_closed(fd), EPROTO);
	others_still_served();
}

static void
overlong_string_is_refused(void **state)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__FileStatRequest fs = PAGEMAP__FILE_STAT_REQUEST__INIT;
	static char name[8000];
	static uint8_t buf[10000];
	size_t n;
	int fd = connect_raw();

	(void)state;
	handshake(fd, 1);
	memset(name, 'a', sizeof(name) - 1);
	fs.region = (char *)"r";
	fs.name = name;
	rq.id = 2;
	rq.body_case = PAGEMAP__REQUEST__BODY_FILE_STAT;
	rq.file_stat = &fs;
	n = pack_request(&rq, buf, sizeof(buf));
	assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
	assert_int_equal(expect_closed(fd), EPROTO);
	others_still_served();
}

static void
request_id_zero_is_refused(void **state)
{
	uint8_t buf[64];
	size_t n = pack_status(0, buf, sizeof(buf));
	int fd = connect_raw();

	(void)state;
	handshake(fd, 1);
	assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
	assert_int_equal(expect_closed(fd), EPROTO);
	others_still_served();
}

static void
empty_request_gets_einval_and_the_connection_stays(void **state)
{
	Pagemap__Request rq = PAGEMAP__REQUEST__INIT;
	Pagemap__ServerMessage *sm;
	Pagemap__Response *r;
	uint8_t buf[64];
	size_t n;
	int fd = connect_raw();

	(void)state;
	handshake(fd, 1);
	rq.id = 5;
	n = pack_request(&rq, buf, sizeof(buf));
	assert_int_equal(send(fd, buf, n, 0), (ssize_t)n);
	r = recv_response(fd, &sm);
	assert_non_null(r);
	assert_int_equal(r->id, 5);
	assert_int_equal(r->error, EINVAL);
	pagemap__server_message__free_unpacked(sm, NULL);
	status_ok(fd, 6);
	close(fd);
	others_still_served();
}

static void
bad_values_get_clear_errors(void **state)
{
	char err[4096];

	(void)state;
	assert_int_equal(ctl(&d, NULL, 0, err, sizeof(err), "file", "create",
			     "r/a/b", "--size", "4096", NULL),
			 1);
	assert_non_null(strstr(err, "name"));
	assert_int_equal(ctl(&d, NULL, 0, err, sizeof(err), "file", "create",
			     "nosuch/a", "--size", "4096", NULL),
			 1);
	assert_non_null(strstr(err, "nosuch"));
	assert_int_equal(ctl(&d, NULL, 0, err, sizeof(err), "file", "create",
			     "r/huge", "--size", "1T", NULL),
			 1);
	assert_non_null(strstr(err, "space"));
	others_still_served();
}

static void
client_that_never_reads_does_not_stall_others(void **state)
{
	uint8_t buf[64];
	int fd = connect_raw();
	int small = 4096;
	int sent = 0;

	(void)state;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	handshake(fd, 1);
	/* Pipeline requests and never read: the daemon must stop reading
	 * from us (bounded queue) and keep serving others. */
	for (uint64_t id = 2; id < 20000; id++) {
		size_t n = pack_status(id, buf, sizeof(buf));
		if (send(fd, buf, n, MSG_DONTWAIT) < 0) {
			assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
			break;
		}
		sent++;
	}
	assert_true(sent > 0);
	others_still_served();
	close(fd);
	fds_back_to(baseline_fds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		fdcheck_test(random_bytes_close_the_connection),
		fdcheck_test(truncated_packet_closes_the_connection),
		fdcheck_test(oversized_packet_is_refused_with_emsgsize),
		fdcheck_test(unexpected_fds_are_closed_and_refused),
		fdcheck_test(
			one_fd_only_on_a_hello_that_announces_a_word_table),
		fdcheck_test(zero_length_packet_closes_the_connection),
		fdcheck_test(request_before_hello_is_refused),
		fdcheck_test(unknown_protocol_version_is_refused),
		fdcheck_test(unknown_fields_are_refused),
		fdcheck_test(overlong_string_is_refused),
		fdcheck_test(request_id_zero_is_refused),
		fdcheck_test(
			empty_request_gets_einval_and_the_connection_stays),
		fdcheck_test(bad_values_get_clear_errors),
		fdcheck_test(client_that_never_reads_does_not_stall_others),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

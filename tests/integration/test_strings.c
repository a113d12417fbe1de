/* test_strings.c -- strings a client chose never reach anyone raw: the
 * daemon refuses malformed ones at decode (EINVAL naming the field, never
 * quoting the bytes), every reply it sends is valid UTF-8 free of control
 * characters, and the CLI prints no control character and valid JSON. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "ctljson.h"
#include "harness.h"
#include "rawclient.h"
#include "utf8.h"

#define WAIT_MS 10000
#define PATCH '#' /* a byte in a packed string, patched after packing */

struct fixture {
	struct daemon d; /* first: daemon_teardown() */
};

/* A name with PATCH where a NUL goes once packed: protobuf-c packs a
 * string by strlen(), so a NUL inside one is made in the packet. */
static const char *const hostile[] = {
	"\x1b]0;owned\x07\x1b[2J\x1b[31mred", /* terminal escapes */
	"ab\xff\xfe",			      /* not UTF-8 at all */
	"\xc0\xaf",			      /* overlong '/' */
	"x\xed\xa0\x80",		      /* a surrogate */
	"\xf4\x90\x80\x80",		      /* above U+10FFFF */
	"csi\xc2\x9b"
	"2J",		     /* C1 control */
	"del\x7f",	     /* DEL */
	"tab\tnl\n",	     /* C0 controls */
	"short#\x1b[2Jtail", /* NUL inside the length */
};

static int
setup(void **state)
{
	struct fixture *f = daemon_setup(state, sizeof(*f), NULL);

	return f ? 0 : -1;
}

/* strings_clean -- every string of @m at any depth is valid UTF-8 with
 * no control character: what a conforming proto3 parser and a terminal
 * need. Returns the first bad field's name, or NULL. */
static const char *
strings_clean(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;

	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *at = (const char *)m + f->offset;
		void *const *v = (void *const *)at;
		size_t n = 1;
		const char *bad;

		if (f->type != PROTOBUF_C_TYPE_STRING &&
		    f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)m +
					f->quantifier_offset) != f->id)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			memcpy(&n, (const char *)m + f->quantifier_offset,
			       sizeof(n));
			memcpy(&v, at, sizeof(v));
		}
		for (size_t k = 0; k < n && v != NULL; k++) {
			if (v[k] == NULL)
				continue;
			if (f->type == PROTOBUF_C_TYPE_STRING) {
				if (utf8_check(v[k], strlen(v[k]), NULL) !=
				    UTF8_OK)
					return f->name;
			} else if ((bad = strings_clean(v[k])) != NULL) {
				return bad;
			}
		}
	}
	return NULL;
}

/* send_patched -- @rq packed with id @id, each PATCH byte made a NUL. */
static void
send_patched(int fd, Pagemap__Request *rq, uint64_t id)
{
	uint8_t buf[RAW_MAX_PACKET];
	ssize_t n;

	rq->id = id;
	n = raw_pack(rq, buf, sizeof(buf));
	assert_true(n > 0);
	for (ssize_t i = 0; i < n; i++)
		if (buf[i] == PATCH)
			buf[i] = 0;
	assert_int_equal(send(fd, buf, (size_t)n, 0), n);
}

/* reply -- the Response to @id: it unpacked (raw_recv), and every string
 * of it is clean. Free with pagemap__server_message__free_unpacked. */
static Pagemap__ServerMessage *
reply(int fd, uint64_t id)
{
	Pagemap__ServerMessage *sm = NULL;
	const char *bad;

	assert_int_equal(raw_recv(fd, WAIT_MS, NULL, &sm), 0);
	bad = strings_clean(&sm->base);
	if (bad)
		fail_msg("reply to %llu: field %s is not clean text",
			 (unsigned long long)id, bad);
	assert_int_equal(sm->msg_case, PAGEMAP__SERVER_MESSAGE__MSG_RESPONSE);
	assert_int_equal(sm->response->id, id);
	return sm;
}

/* expect_einval -- the reply to @id is EINVAL, naming @field. */
static void
expect_einval(int fd, uint64_t id, const char *field)
{
	Pagemap__ServerMessage *sm = reply(fd, id);
	char want[64];

	assert_int_equal(sm->response->error, EINVAL);
	snprintf(want, sizeof(want), "%s: ", field);
	if (strncmp(sm->response->message, want, strlen(want)) != 0)
		fail_msg("message '%s' does not start with '%s'",
			 sm->response->message, want);
	pagemap__server_message__free_unpacked(sm, NULL);
}

/* expect_ok -- the reply to @id is a success. */
static void
expect_ok(int fd, uint64_t id)
{
	Pagemap__ServerMessage *sm = reply(fd, id);

	if (sm->response->error)
		fail_msg("request %llu: %s", (unsigned long long)id,
			 sm->response->message);
	pagemap__server_message__free_unpacked(sm, NULL);
}

/* text_clean -- @s (pagemapctl's output) is valid UTF-8 with no control
 * character but the newlines that end its lines. */
static void
text_clean(const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "\n"), at = 0;

		if (utf8_check(s, n, &at) != UTF8_OK)
			fail_msg("byte 0x%02x of a line is not clean text:\n%s",
				 (unsigned char)s[at], s);
		s += n + (s[n] == '\n');
	}
}

/* client_ls_clean -- `client ls` as a table and as JSON: no control
 * byte, valid UTF-8, and JSON that parses. Returns the JSON text's
 * number of clients. */
static size_t
client_ls_clean(const struct daemon *d, const char *expect_name)
{
	static char out[65536], err[4096];
	json_object *j, *arr;
	size_t n;

	assert_int_equal(ctl(d, out, sizeof(out), err, sizeof(err), "client",
			     "ls", NULL),
			 0);
	text_clean(out);
	if (expect_name)
		assert_non_null(strstr(out, expect_name));
	j = jparse(ctl(d, out, sizeof(out), err, sizeof(err), "--json",
		       "client", "ls", NULL),
		   out, err);
	text_clean(out);
	arr = jget(j, "clients");
	n = json_object_array_length(arr);
	for (size_t i = 0; i < n; i++) {
		const char *name =
			jstr(json_object_array_get_idx(arr, i), "name");

		assert_int_equal(utf8_check(name, strlen(name), NULL), UTF8_OK);
	}
	json_object_put(j);
	return n;
}

static void
hostile_client_names_are_refused_and_the_daemon_keeps_serving(void **state)
{
	struct fixture *f = *state;
	static const char fine[] = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
	uint64_t id = 1;
	int fd = raw_connect(f->d.socket, 0);

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		Pagemap__Request rq;
		Pagemap__Hello h;

		raw_req_hello(&rq, &h, 1, hostile[i]);
		send_patched(fd, &rq, id);
		expect_einval(fd, id++, "client_name");
	}
	/* The same connection is still served, and a name in any script
	 * is welcome. */
	{
		Pagemap__Request rq;
		Pagemap__Hello h;

		raw_req_hello(&rq, &h, 1, fine);
		send_patched(fd, &rq, id);
		expect_ok(fd, id++);
	}
	client_ls_clean(&f->d, fine);
	close(fd);
}

/* The comm of a process is its own choice too (prctl), up to 15 bytes
 * of anything: the daemon passes it on as clean text. */
static void
a_hostile_comm_reaches_nobody_raw(void **state)
{
	struct fixture *f = *state;
	char old[17] = "", *evil = "\x1b[2J\xff\xfe\x1b]0;x\x07";
	Pagemap__ClientListRequest m;
	Pagemap__Request rq;
	Pagemap__ServerMessage *sm;
	int fd;

	assert_int_equal(prctl(PR_GET_NAME, old), 0);
	assert_int_equal(prctl(PR_SET_NAME, evil), 0);
	fd = raw_open(f->d.socket, "comm");
	assert_int_equal(prctl(PR_SET_NAME, old), 0);
	assert_true(fd >= 0);
	pagemap__request__init(&rq);
	pagemap__client_list_request__init(&m);
	rq.body_case = PAGEMAP__REQUEST__BODY_CLIENT_LIST;
	rq.client_list = &m;
	send_patched(fd, &rq, 2);
	sm = reply(fd, 2); /* its comm is clean text */
	assert_int_equal(sm->response->error, 0);
	assert_true(sm->response->client_list->n_clients >= 1);
	pagemap__server_message__free_unpacked(sm, NULL);
	client_ls_clean(&f->d, NULL);
	close(fd);
}

static void
hostile_file_names_are_refused_and_never_created(void **state)
{
	struct fixture *f = *state;
	static char out[65536], err[4096];
	uint64_t id = 2;
	int fd = raw_connect(f->d.socket, 1);
	json_object *j;

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		Pagemap__Request rq;
		Pagemap__FileCreateRequest m;

		pagemap__request__init(&rq);
		pagemap__file_create_request__init(&m);
		rq.body_case = PAGEMAP__REQUEST__BODY_FILE_CREATE;
		rq.file_create = &m;
		m.region = "r";
		m.name = (char *)hostile[i];
		m.size = 4096;
		send_patched(fd, &rq, id);
		expect_einval(fd, id++, "name");
		/* the same bytes as the region name */
		m.region = (char *)hostile[i];
		m.name = "fine";
		send_patched(fd, &rq, id);
		expect_einval(fd, id++, "region");
	}
	{
		Pagemap__Request rq;
		Pagemap__RegionAttachRequest m;

		pagemap__request__init(&rq);
		pagemap__region_attach_request__init(&m);
		rq.body_case = PAGEMAP__REQUEST__BODY_REGION_ATTACH;
		rq.region_attach = &m;
		m.region = "s";
		m.path = "/tmp/x#\x1b[2J";
		send_patched(fd, &rq, id);
		expect_einval(fd, id++, "path");
	}
	/* Nothing was made: not even "short", which a NUL cut short. */
	j = jparse(ctl(&f->d, out, sizeof(out), err, sizeof(err), "--json",
		       "file", "ls", "r", NULL),
		   out, err);
	assert_int_equal(json_object_array_length(jget(j, "files")), 0);
	json_object_put(j);
	close(fd);
}

/* Error messages quote request fields that passed the checks, cut to fit
 * a buffer: the cut never leaves half a character in the reply. */
static void
replies_quoting_long_multibyte_names_stay_utf8(void **state)
{
	struct fixture *f = *state;
	char name[4000];
	uint64_t id = 2;
	int fd = raw_connect(f->d.socket, 1);

	for (size_t shift = 0; shift < 3; shift++) {
		Pagemap__Request rq;
		Pagemap__RegionInfoRequest ri;
		Pagemap__FileStatRequest fs;
		Pagemap__ServerMessage *sm;
		size_t n = shift;

		memset(name, 'a', shift);
		while (n + 3 < sizeof(name)) {
			memcpy(name + n, "\xe2\x82\xac", 3);
			n += 3;
		}
		name[n] = '\0';
		pagemap__request__init(&rq);
		pagemap__region_info_request__init(&ri);
		rq.body_case = PAGEMAP__REQUEST__BODY_REGION_INFO;
		rq.region_info = &ri;
		ri.region = name;
		send_patched(fd, &rq, id);
		sm = reply(fd, id++);
		assert_int_not_equal(sm->response->error, 0);
		pagemap__server_message__free_unpacked(sm, NULL);

		pagemap__request__init(&rq);
		pagemap__file_stat_request__init(&fs);
		rq.body_case = PAGEMAP__REQUEST__BODY_FILE_STAT;
		rq.file_stat = &fs;
		fs.region = "r";
		fs.name = name;
		send_patched(fd, &rq, id);
		sm = reply(fd, id++);
		assert_int_not_equal(sm->response->error, 0);
		pagemap__server_message__free_unpacked(sm, NULL);
	}
	close(fd);
}

/* read_log -- the daemon's stderr so far, NUL-terminated, into @buf. */
static size_t
read_log(const struct daemon *d, char *buf, size_t cap)
{
	FILE *f = fopen(d->log, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

/* The daemon's own log quotes comms too (at debug level): escaped, so the
 * administrator's terminal or journal never gets a hostile comm raw. */
static void
a_hostile_comm_reaches_the_log_escaped(void **state)
{
	static char log[1 << 20];
	char old[17] = "", region[PATH_MAX + 64];
	const char *args[] = {"--log-level", "debug", "--region", region, NULL};
	struct daemon d;
	long long deadline;
	int fd;

	(void)state;
	daemon_init(&d);
	snprintf(region, sizeof(region), "r=%s/r.pmem,size=8M,create", d.dir);
	assert_int_equal(daemon_start(&d, args, NULL), 0);
	assert_int_equal(prctl(PR_GET_NAME, old), 0);
	assert_int_equal(prctl(PR_SET_NAME, "ev\x1b[2Jil\xff"), 0);
	fd = raw_open(d.socket, "comm");
	assert_int_equal(prctl(PR_SET_NAME, old), 0);
	assert_true(fd >= 0);
	close(fd);
	/* Its disconnection is logged with its comm. */
	deadline = now_ms() + WAIT_MS;
	while (!strstr(log, "disconnected") && now_ms() < deadline) {
		struct pollfd none;

		read_log(&d, log, sizeof(log));
		poll(&none, 0, 10); /* re-read the file every 10 ms */
	}
	read_log(&d, log, sizeof(log));
	assert_non_null(strstr(log, "disconnected"));
	assert_null(strchr(log, '\x1b'));
	assert_null(strchr(log, '\xff'));
	assert_non_null(strstr(log, "ev\\x1b[2Jil\\xff"));
	assert_int_equal(daemon_finish(&d), 0);
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, daemon_teardown)
	const struct CMUnitTest tests[] = {
		T(hostile_client_names_are_refused_and_the_daemon_keeps_serving),
		T(a_hostile_comm_reaches_nobody_raw),
		T(hostile_file_names_are_refused_and_never_created),
		T(replies_quoting_long_multibyte_names_stay_utf8),
		cmocka_unit_test(a_hostile_comm_reaches_the_log_escaped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

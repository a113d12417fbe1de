/* test_listings.c -- the listings show a user only what it may read: a real
 * daemon, leases held by root and by uid 65534, and pagemapctl run as each
 * (DESIGN §6; docs/cli.md "What the listings show to whom"). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "ctljson.h"
#include "harness.h"
#include "pagemap.h"

#define BIG (1 << 20) /* a grant listing of more than a page */
#define NOBODY ((uid_t)65534)

static char out[BIG], err[BIG];

struct fixture {
	struct daemon d; /* first: daemon_teardown() frees through it */
};

/* Region "r" (backing file 0644: others may read it) holds "secret"
 * (0600) and "open" (0644); region "vault" (backing file 0600) holds
 * "private" (0644). */
static int
setup(void **state)
{
	static const char *const regions[] = {
		"r=r.pmem,size=64M,create",
		"vault=vault.pmem,size=16M,create",
		NULL,
	};

	return daemon_setup(state, sizeof(struct fixture), regions) ? 0 : -1;
}

/* json_as -- run pagemapctl --json ARGS as @uid (-1: as the test), expect
 * success, parse stdout. */
static json_object *
json_as(struct fixture *f, uid_t uid, ...)
{
	const char *a[16] = {"--json"};
	int n = 1, rv;
	va_list ap;

	va_start(ap, uid);
	while (n < 15 && (a[n] = va_arg(ap, const char *)) != NULL)
		n++;
	va_end(ap);
	a[n] = NULL;
	rv = ctl_as(uid, uid, &f->d, out, sizeof(out), err, sizeof(err), a[0],
		    a[1], a[2], a[3], a[4], NULL);
	return jparse(rv, out, err);
}

/* table_as -- run pagemapctl ARGS (human output) as @uid into out. */
#define table_as(f, uid, ...)                                                  \
	assert_int_equal(ctl_as(uid, uid, &(f)->d, out, sizeof(out), err,      \
				sizeof(err), __VA_ARGS__, NULL),               \
			 0)

static json_object *
array(json_object *j, const char *key)
{
	json_object *a = jget(j, key);

	assert_true(json_object_is_type(a, json_type_array));
	return a;
}

/* reattach -- detach region @name and attach it again from @file so that
 * the daemon reads the backing file's owner and mode anew. */
static void
reattach(struct fixture *f, const char *name, const char *file, mode_t mode)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", f->d.dir, file);
	assert_int_equal(chmod(path, mode), 0);
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "region",
			     "detach", name, NULL),
			 0);
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "region",
			     "attach", name, path, NULL),
			 0);
}

static void
create(struct fixture *f, const char *target, const char *mode)
{
	assert_int_equal(ctl(&f->d, NULL, 0, err, sizeof(err), "file", "create",
			     target, "--size", "1M", "--mode", mode, NULL),
			 0);
}

/* A process of uid 65534 holding a lease on r/open with one grant, and
 * when asked more raw grants under it and more leases there without
 * grants. */
#define NOBODY_MANY 205	   /* more than one page of `lease ls` (200) */
#define NOBODY_GRANTS 1700 /* more than one page of `grant ls` (1500) */
struct nobody {
	pid_t pid;
	int ready; /* reads the lease id once it holds */
	int go;	   /* closing it lets the child go */
};

/* raw_grants -- @n one-page grants under @l, over the first 1 MiB of its
 * file again and again (a page granted twice is two rows). 0 or -errno. */
static int
raw_grants(struct pagemap_lease *l, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct pagemap_folio fo;
		size_t got;
		uint64_t next;
		int rv = pagemap_grant(l, (i % 256) * 4096ull, 4096,
				       PAGEMAP_READ, &fo, 1, &got, &next);

		if (rv)
			return rv;
	}
	return 0;
}

static void
nobody_child(const char *socket, int ready, int go, unsigned leases,
	     unsigned grants)
{
	struct pagemap *pm;
	struct pagemap_lease *l, *more[NOBODY_MANY];
	struct pagemap_mapping *m;
	uint64_t id;
	char c;

	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		_exit(10);
	/* Its own command name, so that the test's can be looked for. */
	prctl(PR_SET_NAME, "mineholder", 0, 0, 0);
	if (pagemap_connect(socket, "nobody-holder", &pm))
		_exit(11);
	if (pagemap_lease_acquire(pm, "r", "open", PAGEMAP_READ, &l))
		_exit(12);
	if (pagemap_map(l, 0, 4096, PAGEMAP_READ, &m))
		_exit(13);
	if (raw_grants(l, grants))
		_exit(16);
	for (unsigned i = 1; i < leases && i < NOBODY_MANY; i++)
		if (pagemap_lease_acquire(pm, "r", "open", PAGEMAP_READ,
					  &more[i]))
			_exit(15);
	id = pagemap_lease_id(l);
	if (write(ready, &id, sizeof(id)) != sizeof(id))
		_exit(14);
	while (read(go, &c, 1) > 0)
		;
	pagemap_unmap(m);
	pagemap_lease_release(l);
	pagemap_close(pm);
	_exit(0);
}

static uint64_t
nobody_start(struct fixture *f, struct nobody *n, unsigned leases,
	     unsigned grants)
{
	int r[2], g[2];
	uint64_t id = 0;

	assert_int_equal(pipe2(r, O_CLOEXEC), 0);
	assert_int_equal(pipe2(g, O_CLOEXEC), 0);
	n->pid = fork();
	assert_true(n->pid >= 0);
	if (n->pid == 0) {
		close(r[0]);
		close(g[1]);
		nobody_child(f->d.socket, r[1], g[0], leases, grants);
	}
	close(r[1]);
	close(g[0]);
	n->ready = r[0];
	n->go = g[1];
	if (read(n->ready, &id, sizeof(id)) != sizeof(id)) {
		int st = 0;

		waitpid(n->pid, &st, 0);
		fail_msg("the uid 65534 holder failed: status %d", st);
	}
	return id;
}

static void
nobody_stop(struct nobody *n)
{
	int st;

	close(n->go);
	close(n->ready);
	assert_int_equal(waitpid(n->pid, &st, 0), n->pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static bool
has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

/* prepare -- the regions' modes and files of setup(), the socket open to
 * others. */
static void
prepare(struct fixture *f)
{
	/* Others must reach the socket. */
	assert_int_equal(chmod(f->d.dir, 0711), 0);
	reattach(f, "r", "r.pmem", 0644);
	reattach(f, "vault", "vault.pmem", 0600);
	create(f, "r/secret", "0600");
	create(f, "r/open", "0644");
	create(f, "vault/private", "0644");
}

/* hidden -- the "hidden" member of pagemapctl's JSON @j (the rows left
 * out), then @j dropped. */
static int64_t
hidden(json_object *j)
{
	int64_t n = jint(j, "hidden");

	json_object_put(j);
	return n;
}

/* footer -- the table's footer line for @n rows left out is in out. */
static bool
footer(int64_t n)
{
	char want[80];

	snprintf(want, sizeof(want), "(%" PRId64 " row%s hidden: not readable "
		 "by you)\n", n, n == 1 ? "" : "s");
	return strstr(out, want) != NULL;
}

static void
listings_show_a_user_only_what_it_may_read(void **state)
{
	struct fixture *f = *state;
	struct pagemap *pm, *pm2;
	struct pagemap_lease *ls, *lv;
	struct pagemap_mapping *ms, *mv;
	struct nobody nb;
	uint64_t mine;
	char pid[32];
	json_object *j, *a;
	size_t n, root_grants;

	if (geteuid() != 0)
		skip();
	prepare(f);
	mine = nobody_start(f, &nb, 1, 0);
	/* Root holds r/secret and vault/private, with grants. */
	assert_int_equal(pagemap_connect(f->d.socket, "secret-holder", &pm), 0);
	assert_int_equal(
		pagemap_lease_acquire(pm, "r", "secret", PAGEMAP_READ, &ls), 0);
	assert_int_equal(pagemap_map(ls, 0, 65536, PAGEMAP_READ, &ms), 0);
	assert_int_equal(pagemap_lease_acquire(pm, "vault", "private",
					       PAGEMAP_READ, &lv),
			 0);
	assert_int_equal(pagemap_map(lv, 0, 65536, PAGEMAP_READ, &mv), 0);
	/* A truncate of r/secret that waits for root's grants: a blocker.
	 * Root does not dispatch the recall, so it stays pending. */
	assert_int_equal(pagemap_connect(f->d.socket, NULL, &pm2), 0);
	assert_int_equal(pagemap_file_truncate(pm2, "r", "secret", 0, 50, NULL),
			 -ETIMEDOUT);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	j = json_as(f, (uid_t)-1, "grant", "ls", "--pid", pid, NULL);
	root_grants = json_object_array_length(array(j, "grants"));
	assert_int_equal(hidden(j), 0);

	/* lease ls: only its own lease on r/open. */
	j = json_as(f, NOBODY, "lease", "ls", NULL);
	a = array(j, "leases");
	assert_int_equal(json_object_array_length(a), 1);
	assert_int_equal(jint(json_object_array_get_idx(a, 0), "id"),
			 (int64_t)mine);
	assert_int_equal(jint(json_object_array_get_idx(a, 0), "pid"), nb.pid);
	assert_string_equal(jstr(json_object_array_get_idx(a, 0), "name"),
			    "open");
	json_object_put(j);
	j = json_as(f, NOBODY, "lease", "ls", "r/secret", NULL);
	assert_int_equal(json_object_array_length(array(j, "leases")), 0);
	json_object_put(j);
	table_as(f, NOBODY, "lease", "ls");
	assert_true(has(out, "open") && has(out, "mineholder"));
	assert_false(has(out, "secret") || has(out, "private") ||
		     has(out, "vault") || has(out, "test_listings"));
	/* ...and counts root's two, not describing them. */
	assert_true(footer(2));
	assert_int_equal(hidden(json_as(f, NOBODY, "lease", "ls", NULL)), 2);
	assert_int_equal(
		hidden(json_as(f, NOBODY, "lease", "ls", "r/secret", NULL)), 1);
	assert_int_equal(
		hidden(json_as(f, NOBODY, "lease", "ls", "r/open", NULL)), 0);
	table_as(f, NOBODY, "--no-legend", "lease", "ls");
	assert_true(has(out, "open") && !has(out, "hidden"));

	/* grant ls: only the grants of its own lease. */
	j = json_as(f, NOBODY, "grant", "ls", NULL);
	a = array(j, "grants");
	n = json_object_array_length(a);
	assert_true(n >= 1);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(
			jint(json_object_array_get_idx(a, i), "lease_id"),
			(int64_t)mine);
	json_object_put(j);
	j = json_as(f, NOBODY, "grant", "ls", "--pid", pid, NULL);
	assert_int_equal(json_object_array_length(array(j, "grants")), 0);
	json_object_put(j);
	table_as(f, NOBODY, "grant", "ls");
	{
		const char *s = strchr(out, '\n');
		char want[32];
		size_t rows = 0;

		snprintf(want, sizeof(want), "%" PRIu64 " ", mine);
		for (; s && s[1] && s[1] != '('; s = strchr(s + 1, '\n')) {
			assert_memory_equal(s + 1 + strspn(s + 1, " "), want,
					    strlen(want));
			rows++;
		}
		assert_int_equal(rows, n);
		assert_true(footer((int64_t)root_grants)); /* last */
	}
	assert_int_equal(hidden(json_as(f, NOBODY, "grant", "ls", NULL)),
			 (int64_t)root_grants);
	assert_int_equal(
		hidden(json_as(f, NOBODY, "grant", "ls", "--pid", pid, NULL)),
		(int64_t)root_grants);

	/* client ls: every client, others' without pid, comm or name. */
	j = json_as(f, NOBODY, "client", "ls", NULL);
	a = array(j, "clients");
	n = json_object_array_length(a);
	assert_true(n >= 3); /* the holder, root's two, this pagemapctl */
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(a, i);

		if (jint(c, "uid") == NOBODY)
			continue;
		assert_int_equal(jint(c, "pid"), 0);
		assert_string_equal(jstr(c, "comm"), "");
		assert_string_equal(jstr(c, "name"), "");
	}
	json_object_put(j);
	table_as(f, NOBODY, "client", "ls");
	assert_true(has(out, "nobody-holder") && has(out, "mineholder"));
	assert_false(has(out, "secret-holder") || has(out, "test_listings"));
	/* It leaves no row out, so it counts none. */
	assert_false(has(out, "hidden"));
	j = json_as(f, NOBODY, "client", "ls", NULL);
	assert_false(json_object_object_get_ex(j, "hidden", NULL));
	json_object_put(j);

	/* blockers: root's lease holds up the truncate; nobody sees none. */
	j = json_as(f, NOBODY, "blockers", "r", NULL);
	assert_int_equal(json_object_array_length(array(j, "blockers")), 0);
	json_object_put(j);
	j = json_as(f, NOBODY, "blockers", "r/secret", NULL);
	assert_int_equal(json_object_array_length(array(j, "blockers")), 0);
	json_object_put(j);
	table_as(f, NOBODY, "blockers", "r");
	assert_false(has(out, "secret") || has(out, "test_listings"));
	assert_true(footer(1));
	assert_int_equal(hidden(json_as(f, NOBODY, "blockers", "r", NULL)), 1);
	assert_int_equal(
		hidden(json_as(f, NOBODY, "blockers", "r/secret", NULL)), 1);
	assert_int_equal(
		hidden(json_as(f, NOBODY, "blockers", "r/open", NULL)), 0);

	/* region ls: r only; vault is not readable. */
	j = json_as(f, NOBODY, "region", "ls", NULL);
	a = array(j, "regions");
	assert_int_equal(json_object_array_length(a), 1);
	assert_string_equal(jstr(json_object_array_get_idx(a, 0), "name"), "r");
	json_object_put(j);
	table_as(f, NOBODY, "region", "ls");
	assert_false(has(out, "vault"));
	assert_true(footer(1));
	assert_int_equal(hidden(json_as(f, NOBODY, "region", "ls", NULL)), 1);

	/* Root sees everything. */
	j = json_as(f, (uid_t)-1, "lease", "ls", NULL);
	assert_int_equal(json_object_array_length(array(j, "leases")), 3);
	json_object_put(j);
	table_as(f, (uid_t)-1, "lease", "ls");
	assert_true(has(out, "secret") && has(out, "private") &&
		    has(out, "open") && has(out, "test_listings"));
	assert_false(has(out, "hidden"));
	assert_int_equal(hidden(json_as(f, (uid_t)-1, "lease", "ls", NULL)), 0);
	assert_int_equal(hidden(json_as(f, (uid_t)-1, "blockers", "r", NULL)),
			 0);
	j = json_as(f, (uid_t)-1, "grant", "ls", "--pid", pid, NULL);
	assert_true(json_object_array_length(array(j, "grants")) >= 2);
	json_object_put(j);
	table_as(f, (uid_t)-1, "client", "ls");
	assert_true(has(out, "secret-holder") && has(out, "nobody-holder") &&
		    has(out, pid));
	j = json_as(f, (uid_t)-1, "blockers", "r/secret", NULL);
	a = array(j, "blockers");
	assert_int_equal(json_object_array_length(a), 1);
	assert_int_equal(jint(json_object_array_get_idx(a, 0), "pid"),
			 getpid());
	json_object_put(j);
	j = json_as(f, (uid_t)-1, "region", "ls", NULL);
	assert_int_equal(json_object_array_length(array(j, "regions")), 2);
	assert_int_equal(hidden(j), 0);

	/* Root lets go: the truncate completes, and the holder exits. */
	pagemap_close(pm);
	pagemap_close(pm2);
	nobody_stop(&nb);
	(void)ms;
	(void)mv;
	(void)lv;
}

/* The count of a listing of many pages is the sum of its pages', each of
 * which counts the hidden rows between its cursor and its last row: root's
 * leases (with grants) before and after a uid's more than a page of its
 * own leases and grants. */
static void
hidden_rows_add_up_over_the_pages(void **state)
{
	struct fixture *f = *state;
	struct pagemap *pm;
	struct pagemap_lease *l[5];
	struct nobody nb;
	json_object *j;

	if (geteuid() != 0)
		skip();
	prepare(f);
	assert_int_equal(pagemap_connect(f->d.socket, NULL, &pm), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pagemap_lease_acquire(pm, "r", "secret",
						       PAGEMAP_READ, &l[i]),
				 0);
	assert_int_equal(raw_grants(l[0], 3), 0);
	nobody_start(f, &nb, NOBODY_MANY, NOBODY_GRANTS);
	for (int i = 3; i < 5; i++)
		assert_int_equal(pagemap_lease_acquire(pm, "r", "secret",
						       PAGEMAP_READ, &l[i]),
				 0);
	assert_int_equal(raw_grants(l[4], 2), 0);
	j = json_as(f, NOBODY, "lease", "ls", NULL);
	assert_int_equal(json_object_array_length(array(j, "leases")),
			 NOBODY_MANY);
	assert_int_equal(hidden(j), 5);
	j = json_as(f, NOBODY, "grant", "ls", NULL);
	assert_int_equal(json_object_array_length(array(j, "grants")),
			 NOBODY_GRANTS + 1);
	assert_int_equal(hidden(j), 5);
	/* The library's own count, for root: none left out. */
	assert_int_equal(pagemap_listing_hidden(pm), 0);
	{
		struct pagemap_lease_info **v;
		size_t n;

		assert_int_equal(pagemap_lease_list(pm, NULL, NULL, &v, &n), 0);
		assert_int_equal(n, NOBODY_MANY + 5);
		assert_int_equal(pagemap_listing_hidden(pm), 0);
		pagemap_free(v);
		/* A failed listing counts nothing either. */
		assert_int_equal(pagemap_file_list(pm, "nowhere", (void *)&v,
						   &n),
				 -ENOENT);
		assert_int_equal(pagemap_listing_hidden(pm), 0);
	}
	pagemap_close(pm);
	nobody_stop(&nb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			listings_show_a_user_only_what_it_may_read, setup,
			daemon_teardown),
		cmocka_unit_test_setup_teardown(
			hidden_rows_add_up_over_the_pages, setup,
			daemon_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_access.c -- unit tests of who may do what (access.c): the
 * owner/group/other check against a peer's credentials, administrators,
 * and reading a file of a region, which decides what the listings
 * describe. Peers use uids other than the test's own, which administers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "access.h"
#include "inode.h"
#include "ipc.h"
#include "region.h"

/* A uid that is neither root nor the test's (the daemon's) own. */
static uid_t
stranger(unsigned k)
{
	uid_t u = 50000 + k;

	return u == geteuid() ? u + 100 : u;
}

static struct ipc_peer
peer(uid_t uid, gid_t gid)
{
	struct ipc_peer p;

	memset(&p, 0, sizeof(p));
	p.uid = uid;
	p.gid = gid;
	p.pidfd = -1;
	return p;
}

static void
root_and_the_daemons_own_user_administer(void **state)
{
	struct ipc_peer root = peer(0, 0), self = peer(geteuid(), 7);
	struct ipc_peer other = peer(stranger(1), 7);

	(void)state;
	assert_true(access_admin(&root));
	assert_true(access_admin(&self));
	assert_false(access_admin(&other));
	assert_true(access_may(&root, stranger(2), 9, 0, MAY_READ | MAY_WRITE));
	assert_false(access_may(&other, stranger(2), 9, 0, MAY_READ));
}

static void
owner_group_and_other_bits_apply_in_that_order(void **state)
{
	uid_t u = stranger(1), o = stranger(2);
	struct ipc_peer owner = peer(u, 100), member = peer(o, 200);
	struct ipc_peer extra = peer(o, 300), other = peer(o, 400);

	(void)state;
	extra.groups[0] = 100;
	extra.ngroups = 1;
	/* 0260: the owner may write only, the group read and write, others
	 * nothing; the owner's bits apply even where the group's allow. */
	assert_false(access_may(&owner, u, 100, 0260, MAY_READ));
	assert_true(access_may(&owner, u, 100, 0260, MAY_WRITE));
	assert_false(access_may(&member, u, 200, 0640, MAY_WRITE));
	assert_true(access_may(&member, u, 200, 0640, MAY_READ));
	assert_true(access_may(&extra, u, 100, 0640, MAY_READ));
	assert_false(access_may(&other, u, 100, 0640, MAY_READ));
	assert_true(access_may(&other, u, 100, 0644, MAY_READ));
	assert_false(access_may(&other, u, 100, 0644, MAY_READ | MAY_WRITE));
}

static void
reading_a_file_needs_read_on_both_region_and_file(void **state)
{
	uid_t u = stranger(1);
	struct ipc_peer nobody = peer(stranger(2), 400), root = peer(0, 0);
	struct region r;
	struct inode ino;

	(void)state;
	memset(&r, 0, sizeof(r));
	memset(&ino, 0, sizeof(ino));
	r.uid = ino.uid = u;
	r.gid = ino.gid = 100;
	r.mode = 0644;
	ino.mode = 0644;
	assert_true(access_may_read_file(&nobody, &r, &ino));
	ino.mode = 0600; /* a private file in a readable region */
	assert_false(access_may_read_file(&nobody, &r, &ino));
	ino.mode = 0644;
	r.mode = 0600; /* a readable file in a private region */
	assert_false(access_may_read_file(&nobody, &r, &ino));
	ino.mode = 0;
	assert_true(access_may_read_file(&root, &r, &ino));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(root_and_the_daemons_own_user_administer),
		cmocka_unit_test(
			owner_group_and_other_bits_apply_in_that_order),
		cmocka_unit_test(
			reading_a_file_needs_read_on_both_region_and_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* fdcheck.h -- every test leaves the fds it found: count /proc/self/fd
 * before and after each test and fail the test that leaked. */
#ifndef PAGEMAP_TEST_FDCHECK_H
#define PAGEMAP_TEST_FDCHECK_H

#include <sys/types.h>

/* fd_count -- the number of open fds of process @pid (0: this process),
 * or -errno. */
int fd_count(pid_t pid);

/* fdcheck_begin -- remember the fds open now. */
void fdcheck_begin(void);

/* fdcheck_end -- 0 when the fds open now are those fdcheck_begin() saw;
 * else -1, after naming each fd left open on stderr. */
int fdcheck_end(void);

/* fdcheck_setup, fdcheck_teardown -- fdcheck_begin() and fdcheck_end()
 * as a CMocka per-test setup/teardown pair. A test with a fixture of its
 * own calls fdcheck_begin() first in its setup and returns
 * fdcheck_end() last in its teardown instead. */
int fdcheck_setup(void **state);
int fdcheck_teardown(void **state);

/* fdcheck_test -- a CMocka test checked for leaked fds. */
#define fdcheck_test(f)                                                        \
	cmocka_unit_test_setup_teardown(f, fdcheck_setup, fdcheck_teardown)

#endif

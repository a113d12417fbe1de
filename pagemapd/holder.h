/* holder.h -- naming a process for good (pid + start time) and telling
 * whether it still lives, for pins that outlive the daemon (I6). */
#ifndef PAGEMAP_HOLDER_H
#define PAGEMAP_HOLDER_H

#include <stdint.h>
#include <sys/types.h>

enum holder_state {
	HOLDER_ALIVE,	/* proven alive: the very process, not a recycled pid */
	HOLDER_GONE,	/* proven gone: exited, or its pid now names another */
	HOLDER_UNKNOWN, /* cannot be told (e.g. /proc hidden): keep its pins */
};

/* holder_boot_id -- this boot's id (/proc/sys/kernel/random/boot_id) as
 * 16 bytes. Returns 0 or -errno (-EINVAL if it does not parse). */
int holder_boot_id(uint8_t ret[16]);

/* holder_start_time -- when @pid started, in clock ticks after boot
 * (/proc/PID/stat field 22). Returns 0, -ESRCH if no such process, or
 * another -errno when it cannot be read. */
int holder_start_time(pid_t pid, uint64_t *ret);

/* holder_check -- is the process @pid that started at @start_time alive?
 * On HOLDER_ALIVE (and on HOLDER_UNKNOWN when one could be had) *ret_pidfd
 * gets a pidfd of it to watch for its exit, else -1. Order: pidfd first,
 * then the start time, then the pidfd is polled, so a pid recycled at any
 * point between is never taken for the holder. A @start_time of 0 (it was
 * unreadable) gives HOLDER_UNKNOWN while any process has @pid. */
enum holder_state holder_check(pid_t pid, uint64_t start_time, int *ret_pidfd);

#endif

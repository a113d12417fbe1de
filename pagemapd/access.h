/* access.h -- who may do what (pure): the owner/group/other check of a
 * filesystem, applied to a connection's peer credentials. */
#ifndef PAGEMAP_ACCESS_H
#define PAGEMAP_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct ipc_peer;

enum { MAY_READ = 4, MAY_WRITE = 2 };

/* access_admin -- @p administers: root, or the daemon's own user. */
bool access_admin(const struct ipc_peer *p);

/* access_may -- @p may @want (MAY_READ | MAY_WRITE) on an object of
 * @owner, @group and @mode (an administrator always may). */
bool access_may(const struct ipc_peer *p, uid_t owner, gid_t group,
		uint32_t mode, unsigned want);

#endif

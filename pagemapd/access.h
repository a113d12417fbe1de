/* access.h -- who may do what (pure): the owner/group/other check of a
 * filesystem, applied to a connection's peer credentials. */
#ifndef PAGEMAP_ACCESS_H
#define PAGEMAP_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct inode;
struct ipc_peer;
struct region;

enum { MAY_READ = 4, MAY_WRITE = 2 };

/* access_admin -- @p administers: root, or the daemon's own user. */
bool access_admin(const struct ipc_peer *p);

/* access_may -- @p may @want (MAY_READ | MAY_WRITE) on an object of
 * @owner, @group and @mode (an administrator always may). */
bool access_may(const struct ipc_peer *p, uid_t owner, gid_t group,
		uint32_t mode, unsigned want);

/* access_may_read_file -- @p may read file @ino of region @r: read access
 * to the region (its backing file's owner, group, mode) and to the file.
 * Listings describe a lease, grant or blocker only when this holds, or
 * when it is @p's own. */
bool access_may_read_file(const struct ipc_peer *p, const struct region *r,
			  const struct inode *ino);

#endif

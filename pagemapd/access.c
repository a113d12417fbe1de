/* access.c -- who may do what (pure).
 *
 * A region is like a directory whose owner, group and mode are its backing
 * file's; a file inside it has its own. Root, and the daemon's own user,
 * administer.
 */
#include "access.h"

#include <unistd.h>

#include "inode.h"
#include "ipc.h"
#include "region.h"

bool
access_admin(const struct ipc_peer *p)
{
	return p->uid == 0 || p->uid == geteuid();
}

static bool
in_group(const struct ipc_peer *p, gid_t g)
{
	if (p->gid == g)
		return true;
	for (int i = 0; i < p->ngroups; i++)
		if (p->groups[i] == g)
			return true;
	return false;
}

bool
access_may(const struct ipc_peer *p, uid_t owner, gid_t group, uint32_t mode,
	   unsigned want)
{
	unsigned bits;

	if (access_admin(p))
		return true;
	if (p->uid == owner)
		bits = mode >> 6;
	else if (in_group(p, group))
		bits = mode >> 3;
	else
		bits = mode;
	return (bits & want) == want;
}

bool
access_may_read_file(const struct ipc_peer *p, const struct region *r,
		     const struct inode *ino)
{
	return access_may(p, r->uid, r->gid, r->mode, MAY_READ) &&
	       access_may(p, ino->uid, ino->gid, ino->mode, MAY_READ);
}

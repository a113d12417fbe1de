/* inodes.c -- inodes built by hand for the pure tests. */
#include "inodes.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "extent.h"
#include "lease.h"

void
test_inode_init(struct inode *ino, uint32_t slot, uint64_t size)
{
	ino->slot = slot;
	ino->size = size;
	ino->trunc_pg = UINT64_MAX;
	extent_map_init(&ino->map);
}

void
test_inode_extent(struct inode *ino, uint64_t file_pg, uint64_t region_pg,
		  uint64_t npages)
{
	struct extent e = {
		.file_pg = file_pg,
		.region_pg = region_pg,
		.npages = npages,
		.slot = UINT32_MAX,
	};

	assert_int_equal(extent_map_insert(&ino->map, &e), 0);
}

void
test_inode_end_leases(struct inode *ino)
{
	while (ino->leases) {
		lease_unmap_all(ino->leases);
		lease_free(ino->leases);
	}
}

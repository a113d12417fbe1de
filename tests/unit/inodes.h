/* inodes.h -- inodes built by hand, no I/O, for the pure tests of leases
 * and recalls. */
#ifndef PAGEMAP_TEST_INODES_H
#define PAGEMAP_TEST_INODES_H

#include <stdint.h>

#include "inode.h"

/* test_inode_init -- @ino as file slot @slot of @size bytes, no extents. */
void test_inode_init(struct inode *ino, uint32_t slot, uint64_t size);

/* test_inode_extent -- map @npages file pages from @file_pg to region
 * pages from @region_pg; fails the test if the map refuses. */
void test_inode_extent(struct inode *ino, uint64_t file_pg, uint64_t region_pg,
		       uint64_t npages);

/* test_inode_end_leases -- return every grant of every lease on @ino and
 * free the leases. */
void test_inode_end_leases(struct inode *ino);

#endif

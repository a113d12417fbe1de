/* v1image.h -- region files of format version 1 (metadata inside the one
 * file), for the tests of the conversion. */
#ifndef PAGEMAP_TEST_V1IMAGE_H
#define PAGEMAP_TEST_V1IMAGE_H

#include <stddef.h>
#include <stdint.h>

/* v1image_write -- write a version 1 region file of @size bytes at @path
 * (max order 9, format time and uuid fixed) holding the file @name with
 * the @len bytes of @data, the empty file "empty", and an orphan of one
 * page; with @pending, the file @name's record is committed in the
 * journal but not yet written home (a replay is needed). Returns 0 or
 * -1. */
int v1image_write(const char *path, uint64_t size, const char *name,
		  const void *data, size_t len, int pending);

#endif

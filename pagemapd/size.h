/* size.h -- the one grammar of sizes, for the daemon's options and config
 * file and for pagemapctl (pure). */
#ifndef PAGEMAP_SIZE_H
#define PAGEMAP_SIZE_H

#include <stddef.h>
#include <stdint.h>

/* What size_parse() accepts, for error messages. */
#define SIZE_ACCEPTED                                                          \
	"a number of bytes (4096, or hex 0x1000), or a number with K, M, G "   \
	"or T (also KiB, MiB, GiB, TiB: powers of 1024)"

/*
 * size_parse -- read @s as a size into *ret:
 *   plain bytes            4096
 *   hex bytes              0x1000
 *   binary suffixes        64K 2M 1G 1T, 64KiB 2MiB ..., any letter case
 * "KB", "MB", "GB", "TB" are read as the same powers of 1024, as they
 * always were here; then *ret_warn (if not NULL) gets a note saying so,
 * which the caller should show (else it is set to NULL).
 * Returns 0, -EINVAL (not a size: say SIZE_ACCEPTED) or -ERANGE (over
 * 2^64 - 1); *ret is untouched on failure.
 */
int size_parse(const char *s, uint64_t *ret, const char **ret_warn);

#endif

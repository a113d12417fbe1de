/* wire.h -- the pagemapd protocol spoken directly, without libpagemap, for
 * the one figure that needs many requests in flight (the library is
 * synchronous: one request at a time). */
#ifndef PAGEMAP_BENCH_WIRE_H
#define PAGEMAP_BENCH_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* wire_connect -- connect to @path and do the Hello handshake; the
 * connection (blocking) in *ret_fd. 0 or -1 after saying why. */
int wire_connect(const char *path, int *ret_fd);

/* wire_lease -- a read lease on @region/@name with request id @id; the
 * region fd that comes with it is closed (this client maps nothing). The
 * lease id in *ret_lease. 0 or -1. */
int wire_lease(int fd, uint64_t id, const char *region, const char *name,
	       uint64_t *ret_lease);

/* wire_pack_map -- a Map request (read access) into @buf; its length, or
 * -1 when it does not fit. */
ssize_t wire_pack_map(uint8_t *buf, size_t cap, uint64_t id, uint64_t lease,
		      uint64_t offset, uint64_t length);

/* wire_pack_unmap -- an Unmap request into @buf; length or -1. */
ssize_t wire_pack_unmap(uint8_t *buf, size_t cap, uint64_t id, uint64_t lease,
			uint64_t offset, uint64_t length);

/* wire_check -- the packet is a successful Response to request @id. 0 or
 * -1 after saying why. */
int wire_check(const uint8_t *buf, size_t len, uint64_t id);

#endif

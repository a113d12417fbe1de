/* baseline.h -- the raw kernel baselines, and the pipelined client loop
 * the echo baseline shares with the daemon's throughput figure. */
#ifndef PAGEMAP_BENCH_BASELINE_H
#define PAGEMAP_BENCH_BASELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "bench.h"

/* A SEQPACKET socketpair with an echo process on the far end. */
struct pingpong {
	pid_t pid;
	int fd;
};

/* pingpong_open -- fork the echo process, on @cpu (-1: anywhere). 0 or
 * -1. */
int pingpong_open(struct pingpong *p, int cpu);

/* pingpong_run -- @n round trips of a 64-byte packet, each timed into @s
 * (NULL: untimed warm-up). 0 or -1. */
int pingpong_run(struct pingpong *p, size_t n, struct samples *s);

/* pingpong_close -- stop the echo process. */
void pingpong_close(struct pingpong *p);

/* A pipelined request stream on one connection: @window requests in
 * flight; replies come back in order. */
struct pipeline {
	int fd;
	unsigned window;
	/* make -- packet for request @k into @buf; its length or -1 */
	ssize_t (*make)(void *ctx, uint64_t k, uint8_t *buf, size_t cap);
	/* check -- the reply to request @k; 0 or -1 */
	int (*check)(void *ctx, uint64_t k, const uint8_t *buf, size_t len);
	void *ctx;
};

#define PIPELINE_WINDOW 64u /* requests in flight per client */
#define PIPELINE_CLIENTS 8u

/* pipeline_run -- run @p for @warm_ns, then count replies for @run_ns,
 * then let what is in flight come back. *ret_ops gets the count. */
int pipeline_run(struct pipeline *p, uint64_t warm_ns, uint64_t run_ns,
		 uint64_t *ret_ops);

/* echo_throughput -- @clients processes pipelining 64-byte packets to one
 * single-threaded echo process that drains each socket until EAGAIN;
 * replies per second in *ret. The server runs on @cpu (-1: anywhere), the
 * clients where we do. 0 or -1. */
int echo_throughput(unsigned clients, uint64_t warm_ns, uint64_t run_ns,
		    int cpu, double *ret);

/* kernel_file_make -- the kernel baselines' 2 MiB file at @path, written
 * once so that its blocks exist (the region's pages exist after a
 * figure's warm-up too). 0 or -1 after saying why. */
int kernel_file_make(const char *path);

/* kernel_map_run -- @n times: open @path, mmap 2 MiB shared, write a byte
 * per 4 KiB page, munmap, close; each timed into @s (NULL: untimed). */
int kernel_map_run(const char *path, size_t n, struct samples *s);

/* kernel_mmap_run -- @n times: mmap 2 MiB shared of the open file @fd,
 * write a byte per 4 KiB page, munmap; each timed into @s (NULL:
 * untimed). The file stays open, as a held lease stays held. */
int kernel_mmap_run(int fd, size_t n, struct samples *s);

/* floor_map_run -- @n cycles of pagemapd's map path against a daemon that
 * does no work (the echo process of @pp answers): a round trip, mmap of
 * @path over a kept placeholder, MADV_DONTFORK, the writes, the
 * placeholder back and, with @send_unmap, a send answered later. Each
 * timed into @s. 0 or -1. */
int floor_map_run(struct pingpong *pp, const char *path, size_t n,
		  bool send_unmap, struct samples *s);

struct rig;

/* baseline_rig_start -- the kernel baselines' file at @path (PATH_MAX
 * bytes: o->dir/kernel-baseline.dat), then the echo process @pp (first,
 * so that it does not inherit our connection to the daemon), then
 * rig_start() of a 64 MiB region @region. 0 or -1; on failure nothing is
 * left behind. */
int baseline_rig_start(const struct bench_opts *o, const char *region,
		       char *path, struct pingpong *pp, struct rig *r);

#endif

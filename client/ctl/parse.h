/* parse.h -- values on the command line: sizes, numbers, modes, seconds
 * (pure). */
#ifndef PAGEMAPCTL_PARSE_H
#define PAGEMAPCTL_PARSE_H

#include <limits.h>
#include <stdint.h>

/* parse_size -- "4096", "64K", "2M", "1G", "1T" (powers of 1024, either
 * case) into bytes; -EINVAL for anything else or a sign, -ERANGE on
 * overflow. */
int parse_size(const char *s, uint64_t *ret);

/* parse_uint -- a plain decimal number no larger than @max; -EINVAL or
 * -ERANGE. */
int parse_uint(const char *s, uint64_t max, uint64_t *ret);

/* parse_mode -- permission bits in octal, 0 .. 07777; -EINVAL or
 * -ERANGE. */
int parse_mode(const char *s, unsigned *ret);

/* parse_timeout -- seconds, optionally with up to three decimals ("2",
 * "0.5"), into milliseconds that fit the protocol's uint32; -EINVAL or
 * -ERANGE. */
int parse_timeout(const char *s, uint32_t *ret_ms);

/* api_timeout -- a parsed --timeout as the library's timeout: 0 (absent,
 * or "0") waits for ever (-1); anything else at most that long. */
static inline int
api_timeout(uint32_t ms)
{
	return ms == 0 ? -1 : ms > INT_MAX ? INT_MAX : (int)ms;
}

#endif

/* parse.c -- values on the command line: sizes, numbers, modes, seconds
 * (pure: no output, no allocation). */
#include "parse.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "size.h"

/* parse_u64 -- a plain decimal number: digits only, no sign, no spaces;
 * the digits consumed end at *ret_end. */
static int
parse_u64(const char *s, uint64_t *ret, const char **ret_end)
{
	uint64_t v = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	*ret_end = p;
	return 0;
}

/* parse_size -- a size in the grammar of size.h (bytes, hex, K/M/G/T or
 * KiB..TiB, powers of 1024); a note on stderr when "MB"-style units were
 * read as powers of 1024. */
int
parse_size(const char *s, uint64_t *ret)
{
	const char *note;
	int err = size_parse(s, ret, &note);

	if (!err && note)
		fprintf(stderr, PROG ": note: '%s': %s\n", s, note);
	return err;
}

/* parse_uint -- a plain decimal number no larger than @max. */
int
parse_uint(const char *s, uint64_t max, uint64_t *ret)
{
	const char *end;
	uint64_t v;
	int err = parse_u64(s, &v, &end);

	if (err)
		return err;
	if (*end)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

/* parse_mode -- permission bits in octal, 0 .. 07777. */
int
parse_mode(const char *s, unsigned *ret)
{
	unsigned v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '7')
			return -EINVAL;
		v = v * 8 + (unsigned)(*s - '0');
		if (v > 07777)
			return -ERANGE;
	}
	*ret = v;
	return 0;
}

/* parse_timeout -- seconds, optionally with up to three decimals ("2",
 * "0.5"), into milliseconds that fit the protocol's uint32. */
int
parse_timeout(const char *s, uint32_t *ret_ms)
{
	const char *end;
	uint64_t sec, ms = 0;
	int err = parse_u64(s, &sec, &end);

	if (err)
		return err;
	if (*end == '.') {
		unsigned digits = 0;

		for (end++; *end >= '0' && *end <= '9'; end++) {
			if (++digits > 3)
				return -EINVAL;
			ms = ms * 10 + (uint64_t)(*end - '0');
		}
		if (!digits)
			return -EINVAL;
		for (; digits < 3; digits++)
			ms *= 10;
	}
	if (*end)
		return -EINVAL;
	if (sec > UINT32_MAX / 1000 || sec * 1000 + ms > UINT32_MAX)
		return -ERANGE;
	*ret_ms = (uint32_t)(sec * 1000 + ms);
	return 0;
}

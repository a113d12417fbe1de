/* size.c -- the one grammar of sizes (see size.h). */
#include "size.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* digits -- the value of the digits at *@p in @base, advancing *@p.
 * Returns 0, -EINVAL (no digit) or -ERANGE. */
static int
digits(const char **p, unsigned base, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = *p;

	for (;; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (s == *p)
		return -EINVAL;
	*p = s;
	*ret = v;
	return 0;
}

int
size_parse(const char *s, uint64_t *ret, const char **ret_warn)
{
	static const char units[] = "KMGT";
	const char *p = s, *u;
	bool decimal_name = false;
	unsigned shift = 0;
	uint64_t v;
	int err;

	if (ret_warn)
		*ret_warn = NULL;
	if (s == NULL)
		return -EINVAL;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		p += 2;
		if ((err = digits(&p, 16, &v)))
			return err;
		if (*p)
			return -EINVAL; /* no suffix on hex: "0x1B" is a number
					 */
		*ret = v;
		return 0;
	}
	if ((err = digits(&p, 10, &v)))
		return err;
	if (*p) {
		char c = *p >= 'a' && *p <= 'z' ? (char)(*p - 32) : *p;

		if (!(u = strchr(units, c)) || c == '\0')
			return -EINVAL;
		shift = 10 * (unsigned)(u - units + 1);
		p++;
		if (p[0] == 'i' && p[1] == 'B')
			p += 2;
		else if (p[0] == 'B' || p[0] == 'b')
			p++, decimal_name = true;
		if (*p)
			return -EINVAL;
	}
	if (shift && v > UINT64_MAX >> shift)
		return -ERANGE;
	*ret = v << shift;
	if (decimal_name && ret_warn)
		*ret_warn = "KB, MB, GB and TB are read as powers of 1024 "
			    "(KiB, MiB, GiB, TiB)";
	return 0;
}

/* utf8.c -- strict UTF-8 checks (RFC 3629): the shortest form only, no
 * surrogates, nothing above U+10FFFF. Controls are well-formed UTF-8 but
 * are told apart, since a string shown on someone's terminal must not
 * carry them. */
#include "utf8.h"

#include <string.h>

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */
#define REPLACEMENT_LEN 3u

size_t
utf8_next(const uint8_t *s, size_t len, uint32_t *ret_cp)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80) {
		*ret_cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		cp = s[0] & 0x1F;
		min = 0x80;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		cp = s[0] & 0x0F;
		min = 0x800;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0; /* continuation byte, C0/C1 overlong lead, F5..FF */
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	*ret_cp = cp;
	return n;
}

int
utf8_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F);
}

enum utf8_fault
utf8_check(const char *s, size_t len, size_t *ret_at)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;

	while (i < len) {
		enum utf8_fault f = UTF8_OK;
		uint32_t cp;
		size_t n;

		/* The common case, printable ASCII, without a decode. */
		if (p[i] >= 0x20 && p[i] < 0x7F) {
			i++;
			continue;
		}
		n = utf8_next(p + i, len - i, &cp);
		if (n == 0)
			f = UTF8_INVALID;
		else if (cp == 0)
			f = UTF8_NUL;
		else if (utf8_is_control(cp))
			f = UTF8_CONTROL;
		if (f != UTF8_OK) {
			if (ret_at)
				*ret_at = i;
			return f;
		}
		i += n;
	}
	return UTF8_OK;
}

const char *
utf8_fault_str(enum utf8_fault f)
{
	switch (f) {
	case UTF8_OK:
		return "valid";
	case UTF8_INVALID:
		return "invalid UTF-8";
	case UTF8_CONTROL:
		return "control character";
	case UTF8_NUL:
		return "NUL byte";
	}
	return "unknown fault";
}

/* walk -- utf8_sanitize() and utf8_sanitized_len() in one: with @dst NULL
 * only counts. */
static size_t
walk(char *dst, size_t cap, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, out = 0;

	while (i < len) {
		const char *piece = s + i;
		size_t n, plen;
		uint32_t cp;

		n = utf8_next(p + i, len - i, &cp);
		if (n == 0 || utf8_is_control(cp)) {
			piece = REPLACEMENT;
			plen = REPLACEMENT_LEN;
			i += n ? n : 1;
		} else {
			plen = n;
			i += n;
		}
		if (dst != NULL) {
			if (plen > cap - 1 - out)
				break;
			memcpy(dst + out, piece, plen);
		}
		out += plen;
	}
	if (dst != NULL)
		dst[out] = '\0';
	return out;
}

size_t
utf8_sanitize(char *dst, size_t cap, const char *s, size_t len)
{
	return walk(dst, cap, s, len);
}

size_t
utf8_sanitized_len(const char *s, size_t len)
{
	return walk(NULL, 0, s, len);
}

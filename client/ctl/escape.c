/* escape.c -- strings from the daemon made safe to print. Names and
 * comms are chosen by other users (or an older daemon passes them on
 * unchecked), so the CLI never trusts them to be printable text. */
#include "escape.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

/* transform -- @s rewritten: each malformed byte, each control character
 * with @controls (else DEL and C1 only), as \xNN (@as_hex) or U+FFFD. Every
 * input byte grows to at most 4 output bytes. */
static char *
transform(const char *s, int controls, int as_hex)
{
	const uint8_t *p = (const uint8_t *)(s ? s : "");
	size_t len = strlen((const char *)p), i = 0, o = 0;
	char *out = malloc(len * 4 + 1);

	if (out == NULL)
		return NULL;
	while (i < len) {
		uint32_t cp;
		size_t n = utf8_next(p + i, len - i, &cp);
		/* For JSON, C0 controls are left to the writer's \u escapes;
		 * it writes DEL and C1 as they are, which some terminals obey,
		 * so they go too. */
		int bad = n == 0 || (controls ? utf8_is_control(cp)
					      : (cp >= 0x7F && cp <= 0x9F));

		if (n == 0)
			n = 1; /* one malformed byte at a time */
		if (!bad) {
			memcpy(out + o, p + i, n);
			o += n;
		} else if (as_hex) {
			for (size_t k = 0; k < n; k++)
				o += (size_t)snprintf(out + o, 5, "\\x%02x",
						      p[i + k]);
		} else {
			memcpy(out + o, REPLACEMENT, 3);
			o += 3;
		}
		i += n;
	}
	out[o] = '\0';
	return out;
}

char *
escape_text(const char *s)
{
	return transform(s, 1, 1);
}

char *
escape_json(const char *s)
{
	return transform(s, 0, 0);
}

/* log.c -- leveled logging to stderr. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static enum log_level max_level = LOG_LEVEL_INFO;
static int journal_prefix = -1; /* -1: not decided yet */

static const char *const names[] = {"error", "warn", "info", "debug"};
static const int syslog_prio[] = {3, 4, 6, 7};

void
log_set_level(enum log_level level)
{
	max_level = level;
}

int
log_parse_level(const char *s, enum log_level *ret)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* escape -- @in as text safe for a terminal or the journal into @out:
 * a line can quote a process's comm, which any process chooses, so each
 * control character and malformed byte is written as \xNN. Cut short at
 * a whole character or escape when @cap is reached. */
static void
escape(char *out, size_t cap, const char *in)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t len = strlen(in), i = 0, o = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_next(p + i, len - i, &cp);

		if (n != 0 && !utf8_is_control(cp)) {
			if (n > cap - 1 - o)
				break;
			memcpy(out + o, p + i, n);
			o += n;
			i += n;
			continue;
		}
		for (size_t k = 0; k < (n ? n : 1); k++) {
			if (4 > cap - 1 - o)
				goto out;
			o += (size_t)snprintf(out + o, 5, "\\x%02x", p[i + k]);
		}
		i += n ? n : 1;
	}
out:
	out[o] = '\0';
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char raw[1024], line[1024];
	va_list ap;

	if (level > max_level)
		return;
	/* systemd sets JOURNAL_STREAM when stderr goes to the journal; the
	 * "<N>" prefix then carries the priority. */
	if (journal_prefix < 0)
		journal_prefix = getenv("JOURNAL_STREAM") != NULL;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	escape(line, sizeof(line), raw);
	if (journal_prefix)
		fprintf(stderr, "<%d>%s\n", syslog_prio[level], line);
	else
		fprintf(stderr, "pagemapd: %s: %s\n", names[level], line);
}

/* human.c -- sizes as lsblk prints them, durations as systemctl does. */
#include "human.h"

#include <inttypes.h>
#include <stdio.h>

void
human_size(uint64_t v, char *buf, size_t size)
{
	static const char units[] = "KMGTPE";
	uint64_t scale = 1024;
	int u = 0;
	uint64_t tenths;

	if (v < 1024) {
		snprintf(buf, size, "%" PRIu64, v);
		return;
	}
	while (u < 5 && v / scale >= 1024) {
		scale *= 1024;
		u++;
	}
	/* Integer arithmetic, rounded to the nearest tenth: a double loses
	 * the low bits of sizes near 2^64. */
	tenths = v / scale * 10 + ((v % scale) * 10 + scale / 2) / scale;
	if (tenths >= 10235 && u < 5) { /* rounds to 1024: the next unit */
		scale *= 1024;
		u++;
		tenths = 10;
	}
	if (tenths < 100 && tenths % 10)
		snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "%c", tenths / 10,
			 tenths % 10, units[u]);
	else
		snprintf(buf, size, "%" PRIu64 "%c", (tenths + 5) / 10,
			 units[u]);
}

void
human_duration_ms(uint64_t ms, char *buf, size_t size)
{
	static const struct {
		const char *name;
		uint64_t ms;
	} units[] = {
		{"d", 86400000},
		{"h", 3600000},
		{"min", 60000},
		{"s", 1000},
	};
	size_t off = 0;

	if (ms < 1000) {
		snprintf(buf, size, ms ? "%" PRIu64 "ms" : "%" PRIu64, ms);
		return;
	}
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		uint64_t n = ms / units[i].ms;
		int w;

		if (!n || off >= size)
			continue;
		ms %= units[i].ms;
		w = snprintf(buf + off, size - off, "%s%" PRIu64 "%s",
			     off ? " " : "", n, units[i].name);
		if (w > 0)
			off += (size_t)w;
	}
}

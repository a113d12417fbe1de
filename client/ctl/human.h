/* human.h -- numbers as people read them in a table: sizes as lsblk
 * prints them, durations as systemctl does. Pure. */
#ifndef PAGEMAPCTL_HUMAN_H
#define PAGEMAPCTL_HUMAN_H

#include <stddef.h>
#include <stdint.h>

/* human_size -- bytes as "512", "4K", "1.5M", "64M", "12G": powers of
 * 1024, at most one decimal (below 10 of a unit), no "B". */
void human_size(uint64_t v, char *buf, size_t size);

/* human_duration_ms -- milliseconds as "0", "450ms", "5s", "1min 5s",
 * "2h 3min", "1d 2h": every non-zero unit from days down to seconds, and
 * milliseconds only below one second. */
void human_duration_ms(uint64_t ms, char *buf, size_t size);

#endif

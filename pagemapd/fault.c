/* fault.c -- injected allocation and I/O failures (test builds only). */
#include "fault.h"

#include <string.h>

/*
 * One counter per class for the whole process, like SQLite's
 * sqlite3FaultSim(): the daemon has one thread, and a test arms one class
 * at a time. Plain (not atomic) counters: nothing else runs the storage
 * paths concurrently.
 */

struct fault_state {
	uint64_t count;	 /* calls since armed */
	uint64_t nth;	 /* the call that fails first; 0 = never */
	uint64_t failed; /* calls made to fail */
	bool persistent; /* every call from nth on fails */
};

static struct fault_state faults[FAULT_NCLASS];

bool
fault_hit(enum fault_class c)
{
	struct fault_state *f = &faults[c];

	f->count++;
	if (f->nth == 0 || f->count < f->nth)
		return false;
	if (f->count > f->nth && !f->persistent)
		return false;
	f->failed++;
	return true;
}

void
fault_arm(enum fault_class c, uint64_t nth, bool persistent)
{
	faults[c] = (struct fault_state){.nth = nth, .persistent = persistent};
}

void
fault_reset(void)
{
	memset(faults, 0, sizeof(faults));
}

uint64_t
fault_count(enum fault_class c)
{
	return faults[c].count;
}

uint64_t
fault_failed(enum fault_class c)
{
	return faults[c].failed;
}

int
fault_arm_env(void)
{
	const char *s = getenv("PAGEMAPD_FAULT");
	enum fault_class c;
	unsigned long long nth;
	char *end;

	if (!s || !*s)
		return 0;
	if (strncmp(s, "io:", 3) == 0)
		c = FAULT_IO;
	else if (strncmp(s, "alloc:", 6) == 0)
		c = FAULT_ALLOC;
	else if (strncmp(s, "sync:", 5) == 0)
		c = FAULT_SYNC;
	else
		return -EINVAL;
	s = strchr(s, ':') + 1;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	nth = strtoull(s, &end, 10);
	if (errno || nth == 0 || (*end && strcmp(end, "+") != 0))
		return -EINVAL;
	fault_arm(c, nth, *end == '+');
	return 0;
}

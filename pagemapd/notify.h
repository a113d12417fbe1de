/* notify.h -- sd_notify(3) without libsystemd: readiness and status. */
#ifndef PAGEMAP_NOTIFY_H
#define PAGEMAP_NOTIFY_H

/* notify_send -- send @state ("READY=1", "STATUS=...", "STOPPING=1") to
 * $NOTIFY_SOCKET if it is set. Returns 0 (also when unset) or -errno. */
int notify_send(const char *state);

#endif

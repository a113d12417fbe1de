/* pins.h -- pins that outlive the daemon (I6): the runtime directory, and
 * restoring a crashed daemon's pin tables at attach. */
#ifndef PAGEMAP_PINS_H
#define PAGEMAP_PINS_H

#include "server.h"

struct region;

/* pins_dir_open -- set up the runtime directory @dir (made 0700 with its
 * parents if missing) and its pins/ (0700), read this boot's id, into
 * @ret. Refuses (-EPERM) a directory not owned by this process's uid or
 * writable by group or other. Returns 0 or -errno with a reason in @err
 * (REGION_ERR_MAX bytes). */
int pins_dir_open(const char *dir, struct pin_dir *ret, char *err);

/* pins_dir_close -- close what pins_dir_open() opened; the tables stay. */
void pins_dir_close(struct pin_dir *d);

/* pins_restore -- attach's pins phase for @r (struct server_upcalls'
 * restore_pins): refuse a region whose pins of this boot may be in another
 * runtime directory; for every table of @r: remove it if it is of another
 * boot or its holder is gone, else restore its leases (same ids) and
 * grants under a disconnected client of the holder; then record this boot
 * and directory in the superblock. Returns 0 or -errno with a reason in
 * @err: -EUCLEAN for a damaged table or one naming what the region does
 * not map (kept, never freed), -EBUSY for another runtime directory. On
 * failure nothing restored is left. */
int pins_restore(struct server *srv, struct region *r, char *err);

/* pins_forget -- drop what pins_restore() made for @r (its attach failed
 * later); the tables stay for the next attach. */
void pins_forget(struct server *srv, struct region *r);

#endif

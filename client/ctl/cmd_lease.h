/* cmd_lease.h -- `lease ls|revoke`, `grant ls`, `client ls`, `blockers`,
 * and the descriptions of their rows, which `top` shows too. */
#ifndef PAGEMAPCTL_CMD_LEASE_H
#define PAGEMAPCTL_CMD_LEASE_H

#include "ctx.h"
#include "list.h"
#include "output.h"

/* The columns of lease_listing. */
enum lease_col {
	LEASE_ID,
	LEASE_REGION,
	LEASE_NAME,
	LEASE_INO,
	LEASE_ACCESS,
	LEASE_CLIENT_ID,
	LEASE_PID,
	LEASE_UID,
	LEASE_COMM,
	LEASE_GRANTS,
	LEASE_BYTES,
	LEASE_RECALLED,
	LEASE_FILE, /* tables only: REGION/NAME */
};

/* The columns of grant_listing. */
enum grant_col {
	GRANT_LEASE_ID,
	GRANT_FILE_OFFSET,
	GRANT_REGION_OFFSET,
	GRANT_ORDER,
	GRANT_SIZE,
	GRANT_ACCESS,
	GRANT_STATE,
};

extern const struct listing lease_listing;
extern const struct listing grant_listing;

/* The table of `blockers`, which `top` shows as it is. */
extern const struct view blocker_view;

/* lease_rows -- live leases (all, of @f's region or of its file), sorted
 * by id; rows_free() them. */
int lease_rows(struct pagemap *pm, const struct filter *f, struct rows *ret);

/* grant_rows -- outstanding grants (all, or of @f's lease or pid), sorted
 * by lease, file offset and region offset; rows_free() them. */
int grant_rows(struct pagemap *pm, const struct filter *f, struct rows *ret);

/* blocker_rows -- the leases pending operations in @f's region (or on its
 * file; NULL region: anywhere) wait for, in the daemon's order. */
int blocker_rows(struct pagemap *pm, const struct filter *f, struct rows *ret);

/* cmd_lease_ls -- `lease ls [R[/NAME]]`: leases sorted by id. */
int cmd_lease_ls(struct ctx *c, const struct args *a);

/* cmd_lease_revoke -- `lease revoke ID [--timeout SECS]`. */
int cmd_lease_revoke(struct ctx *c, const struct args *a);

/* cmd_grant_ls -- `grant ls [--lease ID] [--pid PID]`. */
int cmd_grant_ls(struct ctx *c, const struct args *a);

/* cmd_client_ls -- `client ls`: clients sorted by id. */
int cmd_client_ls(struct ctx *c, const struct args *a);

/* cmd_blockers -- `blockers R[/NAME]`: who holds up each pending
 * operation, in the daemon's order. */
int cmd_blockers(struct ctx *c, const struct args *a);

#endif

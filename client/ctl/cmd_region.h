/* cmd_region.h -- `region ls|info|attach|detach` and the description of a
 * region row (struct pagemap_region_info), which `top` shows too. */
#ifndef PAGEMAPCTL_CMD_REGION_H
#define PAGEMAPCTL_CMD_REGION_H

#include "ctx.h"
#include "list.h"
#include "output.h"

/* The columns of region_listing. */
enum region_col {
	REGION_NAME,
	REGION_PATH,
	REGION_KIND,
	REGION_UUID,
	REGION_STATE,
	REGION_SIZE,
	REGION_DATA_SIZE,
	REGION_USED,
	REGION_FREE,
	REGION_FILES,
	REGION_MAX_FILES,
	REGION_MAX_ORDER,
	REGION_UID,
	REGION_GID,
	REGION_MODE,
	REGION_MODE_OCTAL,
	REGION_PINS,
	REGION_ORPHANS,
};

extern const struct listing region_listing;

/* region_rows -- every attached region (@f is not read), sorted by
 * name; rows_free() it. */
int region_rows(struct pagemap *pm, const struct filter *f, struct rows *ret);

/* cmd_region_ls -- `region ls`. */
int cmd_region_ls(struct ctx *c, const struct args *a);

/* cmd_region_info -- `region info R`. */
int cmd_region_info(struct ctx *c, const struct args *a);

/* cmd_region_attach -- `region attach R PATH [--size S] [--create]
 * [--max-order N]`. */
int cmd_region_attach(struct ctx *c, const struct args *a);

/* cmd_region_convert -- `region convert PATH [--meta FILE]`: a version 1
 * region file converted offline (needs no daemon). */
int cmd_region_convert(struct ctx *c, const struct args *a);

/* cmd_region_detach -- `region detach R [--timeout SECS]`. */
int cmd_region_detach(struct ctx *c, const struct args *a);

#endif

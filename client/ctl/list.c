/* list.c -- running a listing command: connect, fetch the rows through
 * the listing's adapter, print them as a table or JSON. */
#include "list.h"

#include <stdlib.h>

int
run_listing(struct ctx *c, const struct args *a, rows_fn fetch,
	    const struct filter *f, const struct view *v, const char *key,
	    const char *region)
{
	json_object *doc = NULL;
	struct rows r;
	int err;

	if ((err = connect_daemon(c)))
		return err;
	if ((err = fetch(c->pm, f, &r)))
		return fail_with(c, err, "%s%s%s", c->cmd->name,
				 a->npos ? " " : "", a->npos ? a->pos[0] : "");
	if (c->json && region) {
		doc = json_doc();
		json_add_str(doc, "region", region);
	}
	err = print_rows(c->json, v, &r, doc, key);
	rows_free(&r);
	return err;
}

int
run_scoped(struct ctx *c, const struct args *a, rows_fn fetch,
	   const struct view *v, const char *key)
{
	char *region = NULL, *name = NULL;
	int status;

	if (a->npos && (status = parse_scope(c, a->pos[0], &region, &name)))
		return status;
	status = run_listing(c, a, fetch,
			     &(struct filter){.region = region, .name = name},
			     v, key, NULL);
	free(region);
	free(name);
	return status;
}

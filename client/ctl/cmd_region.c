/* cmd_region.c -- `region ls|info|attach|detach`; a region row described
 * once, as columns. */
#include "cmd_region.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "convert.h"
#include "list.h"
#include "parse.h"
#include "wait.h"

#define R struct pagemap_region_info
CELL_FIELD(region_name, R, name, str)
CELL_FIELD(region_path, R, path, str)
CELL_FIELD(region_kind, R, kind, str)
CELL_FIELD(region_uuid, R, uuid, str)
CELL_FIELD(region_state, R, state, str)
CELL_FIELD(region_size, R, size, u64)
CELL_FIELD(region_data_size, R, data_size, u64)
CELL_FIELD(region_used, R, used, u64)
CELL_FIELD(region_free, R, free, u64)
CELL_FIELD(region_files, R, files, u64)
CELL_FIELD(region_max_files, R, max_files, u64)
CELL_FIELD(region_max_order, R, max_order, u64)
CELL_FIELD(region_uid, R, uid, u64)
CELL_FIELD(region_gid, R, gid, u64)
CELL_FIELD(region_mode, R, mode, mode)
CELL_FIELD(region_mode_octal, R, mode, octal)
CELL_FIELD(region_pins, R, pins, u64)
CELL_FIELD(region_orphans, R, orphans, u64)
#undef R

static const struct column region_cols[] = {
	[REGION_NAME] = {"NAME", "name", 0, region_name},
	[REGION_PATH] = {"PATH", "path", 0, region_path},
	[REGION_KIND] = {"KIND", "kind", 0, region_kind},
	[REGION_UUID] = {"UUID", "uuid", 0, region_uuid},
	[REGION_STATE] = {"STATE", "state", 0, region_state},
	[REGION_SIZE] = {"SIZE", "size", COL_SIZE, region_size},
	[REGION_DATA_SIZE] = {"DATA_SIZE", "data_size", COL_SIZE,
			      region_data_size},
	[REGION_USED] = {"USED", "used", COL_SIZE, region_used},
	[REGION_FREE] = {"FREE", "free", COL_SIZE, region_free},
	[REGION_FILES] = {"FILES", "files", 0, region_files},
	[REGION_MAX_FILES] = {"MAX_FILES", "max_files", 0, region_max_files},
	[REGION_MAX_ORDER] = {"MAX_ORDER", "max_order", 0, region_max_order},
	[REGION_UID] = {"UID", "uid", 0, region_uid},
	[REGION_GID] = {"GID", "gid", 0, region_gid},
	[REGION_MODE] = {"MODE", "mode", 0, region_mode},
	[REGION_MODE_OCTAL] = {NULL, "mode_octal", COL_NO_DETAIL,
			       region_mode_octal},
	[REGION_PINS] = {"PINS", "pins", 0, region_pins},
	[REGION_ORPHANS] = {"ORPHANS", "orphans", 0, region_orphans},
};
const struct listing region_listing = LISTING(region_cols);

static const struct show region_ls_show[] = {
	{REGION_NAME, 0, NULL},	 {REGION_KIND, 0, NULL},
	{REGION_STATE, 0, NULL}, {REGION_SIZE, 0, NULL},
	{REGION_USED, 0, NULL},	 {REGION_FREE, 0, NULL},
	{REGION_FILES, 0, NULL}, {REGION_PATH, 0, NULL},
};
static const struct view region_ls_view = VIEW(&region_listing, region_ls_show);

/* cmp_region -- order regions by name. */
static int
cmp_region(const void *x, const void *y)
{
	return strcmp(ROW(struct pagemap_region_info, x)->name,
		      ROW(struct pagemap_region_info, y)->name);
}

int
region_rows(struct pagemap *pm, const struct filter *f, struct rows *ret)
{
	struct pagemap_region_info **v = NULL;
	size_t n = 0;
	int err = pagemap_region_list(pm, &v, &n);

	(void)f;
	return rows_hidden(ret, rows_adopt(ret, err, v, n, cmp_region), pm);
}

int
cmd_region_ls(struct ctx *c, const struct args *a)
{
	return run_listing(c, a, region_rows, NULL, &region_ls_view, "regions",
			   NULL);
}

int
cmd_region_info(struct ctx *c, const struct args *a)
{
	struct pagemap_region_info *r;
	int err;

	if ((err = connect_daemon(c)))
		return err;
	if ((err = pagemap_region_info(c->pm, a->pos[0], &r)))
		return fail_with(c, err, "region info %s", a->pos[0]);
	err = print_record(c->json, &region_listing, r);
	pagemap_free(r);
	return err;
}

int
cmd_region_attach(struct ctx *c, const struct args *a)
{
	struct pagemap_region_info *r = NULL;
	uint64_t size = 0, order;
	int max_order = -1, err, status;
	char *path;

	if (a->size && (err = parse_size(a->size, &size)))
		return bad_size(c, "size", a->size, err);
	if (a->max_order) {
		if ((err = parse_uint(a->max_order, 63, &order)))
			return bad_value(c, "max order", a->max_order, err);
		max_order = (int)order;
	}
	if (!(path = absolute_path(a->pos[1])))
		return fail_with(c, -errno,
				 "region attach %s: current directory",
				 a->pos[0]);
	status = connect_daemon(c);
	if (status == EXIT_OK) {
		err = pagemap_region_attach(
			c->pm, a->pos[0], path, size, max_order,
			a->create ? PAGEMAP_ATTACH_CREATE : 0, &r);
		status = err ? fail_with(c, err, "region attach %s %s",
					 a->pos[0], path)
			     : print_record(c->json, &region_listing, r);
	}
	pagemap_free(r);
	free(path);
	return status;
}

int
cmd_region_detach(struct ctx *c, const struct args *a)
{
	uint32_t timeout_ms = 0;
	struct waiter *talker;
	struct wait_for w;
	char what[128];
	int err;

	if (a->timeout && (err = parse_timeout(a->timeout, &timeout_ms)))
		return bad_value(c, "timeout", a->timeout, err);
	if ((err = connect_daemon(c)))
		return err;
	snprintf(what, sizeof(what), "region detach %s", a->pos[0]);
	w = (struct wait_for){
		.op = "detach", .region = a->pos[0], .command = what};
	talker = wait_talk_start(c, &w);
	err = pagemap_region_detach(c->pm, a->pos[0], api_timeout(timeout_ms));
	wait_talk_stop(talker);
	if (err == -ETIMEDOUT)
		return wait_timed_out(c, &w, timeout_ms);
	if (err)
		return fail_with(c, err, "%s", what);
	if (c->json) {
		json_object *o = json_doc();

		json_add_str(o, "region", a->pos[0]);
		return print_json(o);
	}
	return EXIT_OK;
}

int
cmd_region_convert(struct ctx *c, const struct args *a)
{
	const char *path = a->pos[0];
	struct convert_report r;
	char *log = NULL;
	size_t log_len = 0;
	FILE *out = stdout;
	int err;

	/* With --json the step lines go into the document instead. */
	if (c->json && !(out = open_memstream(&log, &log_len)))
		die_oom();
	err = convert_region(path, a->meta, &r, out);
	if (c->json && fclose(out))
		die_oom();
	if (err == -EBUSY) {
		free(log);
		fprintf(stderr,
			PROG ": region convert: %s; not converted (stop the "
			     "daemon that serves it first)\n",
			r.first_error);
		return EXIT_FAIL;
	}
	if (err) {
		free(log);
		fprintf(stderr, PROG ": region convert %s: %s%s%s%s\n", path,
			pagemap_strerror(err), r.first_error[0] ? " (" : "",
			r.first_error, r.first_error[0] ? ")" : "");
		return EXIT_FAIL;
	}
	if (c->json) {
		json_object *o = json_doc();
		json_object *lines = json_object_new_array();

		if (!lines)
			die_oom();
		json_add_str(o, "path", path);
		json_add_str(o, "uuid", r.uuid);
		json_add_bool(o, "already", r.already);
		json_add_bool(o, "resumed", r.resumed);
		json_add_u64(o, "meta_size", r.meta_size);
		json_add_u64(o, "data_off", r.data_off);
		json_add_u64(o, "files", r.files);
		json_add_u64(o, "orphans", r.orphans);
		for (char *save, *line = strtok_r(log, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			json_object_array_add(lines,
					      json_object_new_string(line));
		json_object_object_add(o, "lines", lines);
		free(log);
		return print_json(o);
	}
	if (r.already)
		printf("%s: nothing to convert\n", path);
	else
		printf("%s: converted to format version 2 (region %s)%s\n",
		       path, r.uuid,
		       r.resumed ? ", an interrupted conversion finished" : "");
	return EXIT_OK;
}
